#!/usr/bin/env python3
"""Differential testing of aio against CPython, run by hand (not part of `cargo test`).

Runs each program under CPython (the oracle) and under `aio run`, and compares stdout
and exit status. Programs come from files/folders given on the command line, or from
the fuzz crate's generator (`--gen SEED COUNT`, which runs the `gen_sample` example).

    python3 fuzz/diff.py --gen 1 500                  # generate 500 programs with seed 1
    python3 fuzz/diff.py DIR_OR_FILE... [-j 2] [--timeout 10] [--show 20]

Nondeterminism is handled without hiding differences:

- addresses (`<... at 0x7f...>`) are replaced by `0xADDR` in both outputs;
- CPython runs with PYTHONHASHSEED=0. When aio's output differs, CPython runs again
  with PYTHONHASHSEED=1; if CPython disagrees with itself (string hashes, set order of
  strings, `id()`, timing), the program is reported as *nondeterministic*, not as a
  difference. aio's own string hashes are deterministic but are not CPython's (a
  documented deviation), so such programs cannot be compared.

Exit status is 0 when no program differed, 1 otherwise. Differences are listed with
their exit statuses, the first differing stdout line, and the last stderr line of each.
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python3"
ADDRESS = re.compile(rb"0x[0-9a-fA-F]{6,}")


def run(cmd, path, timeout, env):
    """Runs `cmd path` in the program's folder; returns (status, stdout, stderr)."""
    try:
        p = subprocess.run(
            cmd + [os.path.basename(path)],
            cwd=os.path.dirname(path) or ".",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
        )
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return "timeout", e.stdout or b"", e.stderr or b""


def normalize(out):
    return ADDRESS.sub(b"0xADDR", out)


def last_line(err):
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def compare(path, args):
    base = dict(os.environ)
    py_env = dict(base, PYTHONHASHSEED="0")
    py = run([args.python], path, args.timeout, py_env)
    aio = run([args.aio, "run"], path, args.timeout, base)
    if py[0] == "timeout":
        return "py-timeout", path, py, aio
    if (py[0], normalize(py[1])) == (aio[0], normalize(aio[1])):
        return "same", path, py, aio
    py2 = run([args.python], path, args.timeout, dict(base, PYTHONHASHSEED="1"))
    if (py2[0], normalize(py2[1])) != (py[0], normalize(py[1])):
        return "nondeterministic", path, py, aio
    return "differ", path, py, aio


def report(path, py, aio):
    print(f"=== {path}")
    print(f"  exit: python {py[0]}, aio {aio[0]}")
    a = normalize(py[1]).decode("utf-8", "replace").splitlines()
    b = normalize(aio[1]).decode("utf-8", "replace").splitlines()
    diff = list(difflib.unified_diff(a, b, "python", "aio", n=0, lineterm=""))
    for line in diff[2:8]:
        print("  " + line[:300])
    print(f"  python stderr: {last_line(py[2])[:300]}")
    print(f"  aio stderr:    {last_line(aio[2])[:300]}")


def generate(seed, count, out_dir):
    subprocess.run(
        [
            "cargo", "run", "--quiet", "--release",
            "--manifest-path", os.path.join(ROOT, "fuzz", "Cargo.toml"),
            "--example", "gen_sample", "--", out_dir, str(count), str(seed),
        ],
        check=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", help="programs, or folders of *.py programs")
    ap.add_argument("--gen", nargs=2, type=int, metavar=("SEED", "COUNT"))
    ap.add_argument("--keep", help="folder for generated programs (default: a temp dir)")
    ap.add_argument("--python", default=DEFAULT_PYTHON if os.path.exists(DEFAULT_PYTHON) else "python3")
    ap.add_argument("--aio", default=os.path.join(ROOT, "target", "release", "aio"))
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--show", type=int, default=50, help="at most this many differences in full")
    args = ap.parse_args()

    paths = []
    if args.gen:
        out_dir = args.keep or tempfile.mkdtemp(prefix="aio-diff-")
        generate(args.gen[0], args.gen[1], out_dir)
        args.paths.append(out_dir)
    for p in args.paths:
        if os.path.isdir(p):
            paths += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith((".py", ".aio")))
        else:
            paths.append(p)

    counts = {}
    shown = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for kind, path, py, aio in pool.map(lambda p: compare(p, args), paths):
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "differ":
                if shown < args.show:
                    report(path, py, aio)
                shown += 1
            elif kind in ("nondeterministic", "py-timeout"):
                print(f"--- {kind}: {path}")
    print("summary:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), f"(of {len(paths)})")
    sys.exit(1 if counts.get("differ") else 0)


if __name__ == "__main__":
    main()
