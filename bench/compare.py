#!/usr/bin/env python3
"""Run each benchmark under aio and python3 in the same session and print time ratios.

Usage: python3 bench/compare.py [--runs N] [--aio PATH] [NAME ...]

For every script the two interpreters alternate (aio, python3, aio, ...), N runs each
(default 5) after one warm-up each. The table shows median wall seconds, the ratio
aio/python3 (below 1.0 means aio is faster) and the peak resident memory of each.
Every run's stdout is checked against bench/expected/NAME.out.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ALL = ["fib", "loops", "objects", "spawn", "switch", "queues", "timers", "locks", "echo", "generators", "callbacks"]


def run(cmd, script, expected):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd + [script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    ok = os.waitstatus_to_exitcode(status) == 0 and out.decode().strip() == expected
    if not ok:
        sys.stderr.write(f"  {' '.join(cmd)} {os.path.basename(script)}: wrong output or exit\n")
        sys.stderr.write("  " + err.decode(errors="replace")[-400:] + "\n")
    return wall, usage.ru_maxrss / 1024.0, ok


def main():
    args = sys.argv[1:]
    runs = 5
    aio = os.path.join(HERE, "..", "target", "release", "aio")
    names = []
    while args:
        a = args.pop(0)
        if a == "--runs":
            runs = int(args.pop(0))
        elif a == "--aio":
            aio = args.pop(0)
        else:
            names.append(a)
    names = names or ALL
    print(f"{'script':<12} {'aio s':>8} {'python3 s':>10} {'ratio':>7} {'aio MiB':>8} {'py MiB':>8}  ok")
    for name in names:
        script = os.path.join(HERE, name + ".py")
        with open(os.path.join(HERE, "expected", name + ".out")) as f:
            expected = f.read().strip()
        res = {"aio": [], "py": []}
        mem = {"aio": 0.0, "py": 0.0}
        ok = True
        for i in range(runs + 1):
            for key, cmd in (("aio", [aio, "run"]), ("py", ["python3"])):
                wall, rss, good = run(cmd, script, expected)
                ok = ok and good
                if i > 0:
                    res[key].append(wall)
                mem[key] = max(mem[key], rss)
        a, p = statistics.median(res["aio"]), statistics.median(res["py"])
        print(f"{name:<12} {a:>8.3f} {p:>10.3f} {a / p:>7.2f} {mem['aio']:>8.1f} {mem['py']:>8.1f}  {'yes' if ok else 'NO'}",
              flush=True)


if __name__ == "__main__":
    main()
