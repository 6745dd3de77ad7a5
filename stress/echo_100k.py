#!/usr/bin/env python3
"""Long runs stay flat: 100,000 connections against one echo server (stress/echo_100k.aio).

Starts the server as its own process, then makes the connections from client threads in
this process (CLIENTS at a time, each one: connect, send a line, read its echo, close; one
in ten instead resets the connection right after sending), so the figures are the server's
alone. The server's resident memory (VmRSS) and its number of
open file descriptors (/proc/PID/fd) are read after the first 1,000 connections and again
after all of them, each time once the clients have stopped and the server has settled; in
between they are sampled every 10,000 connections to show the trend. The run passes when
the last figures are within 10% (memory) and equal (descriptors) to the first ones.

    python3 stress/echo_100k.py                    # server: target/release/aio
    AIO=python3 python3 stress/echo_100k.py        # server under CPython, for comparison
    python3 stress/echo_100k.py --total 20000      # a shorter run

Needs only python3 and Linux (/proc). Exits 0 when flat, 1 otherwise, 2 on setup errors.
The last line is a one-line summary (stress/run.sh shows it).
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def server_command(aio):
    script = os.path.join(HERE, "echo_100k.aio")
    if os.path.basename(aio).startswith("aio"):
        return [aio, "run", script]
    return [aio, script]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def settle(pid):
    """Waits until the server's descriptor count stops changing (its last handlers have
    seen their clients go), then returns (rss_kb, fds)."""
    last = None
    for _ in range(50):
        time.sleep(0.2)
        now = fd_count(pid)
        if now == last:
            break
        last = now
    return rss_kb(pid), fd_count(pid)


def run_clients(port, count, clients, errors):
    """Makes `count` connections, `clients` at a time; each must get its line back."""
    lock = threading.Lock()
    next_id = [0]

    def worker():
        while True:
            with lock:
                i = next_id[0]
                if i >= count:
                    return
                next_id[0] += 1
            line = b"hello %d\n" % i
            try:
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.sendall(line)
                    if i % 10 == 9:
                        # Close with a reset (linger 0) without waiting for the echo.
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        continue
                    got = b""
                    while not got.endswith(b"\n"):
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                if got != line:
                    raise RuntimeError(f"echo mismatch: sent {line!r}, got {got!r}")
            except Exception as e:
                with lock:
                    errors.append(f"connection {i}: {e!r}")
                    if len(errors) > 10:
                        return

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aio", default=os.environ.get("AIO", os.path.join(HERE, "..", "target", "release", "aio")))
    ap.add_argument("--total", type=int, default=100_000)
    ap.add_argument("--first", type=int, default=1_000)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()

    cmd = server_command(args.aio)
    try:
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    except OSError as e:
        print(f"echo_100k: cannot start {cmd[0]}: {e}", file=sys.stderr)
        return 2
    header = server.stdout.readline().split()
    if len(header) != 2 or header[0] != "listening":
        print(f"echo_100k: server did not start: {header}", file=sys.stderr)
        server.kill()
        return 2
    port = int(header[1])
    pid = server.pid

    errors = []
    done = 0
    samples = []
    start = time.monotonic()
    marks = [args.first] + list(range(args.every, args.total, args.every)) + [args.total]
    for mark in marks:
        if mark <= done:
            continue
        run_clients(port, mark - done, args.clients, errors)
        if errors:
            break
        done = mark
        rss, fds = settle(pid)
        samples.append((done, rss, fds))
        print(f"{done:>8} connections  VmRSS {rss:>7} kB  fds {fds:>3}  ({time.monotonic() - start:.1f} s)", flush=True)
    elapsed = time.monotonic() - start

    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"quit\n")
        s.recv(100)
    try:
        out, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
        errors.append("server did not exit after quit")
    print(out.strip())
    if server.returncode != 0:
        errors.append(f"server exit status {server.returncode}")
    if errors:
        for e in errors[:10]:
            print(e, file=sys.stderr)
        print(f"echo_100k: FAILED after {done} connections")
        return 1

    _, rss0, fds0 = samples[0]
    n1, rss1, fds1 = samples[-1]
    growth = (rss1 - rss0) / rss0 * 100
    flat = abs(growth) <= 10 and fds1 == fds0
    verdict = "flat" if flat else "NOT FLAT"
    print(
        f"echo_100k: {n1} connections in {elapsed:.1f} s; VmRSS {rss0} kB after {samples[0][0]}, "
        f"{rss1} kB after {n1} ({growth:+.1f}%); fds {fds0} -> {fds1}: {verdict}"
    )
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
