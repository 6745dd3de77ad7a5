#!/usr/bin/env python3
"""Shrinks a program that crashes aio to a small one that still crashes the same way.

    python3 fuzz/reduce.py CRASHER.py [OUT.py] [--aio PATH] [--match TEXT]
    python3 fuzz/reduce.py PROGRAM.py [OUT.py] --differs [--python PATH] [--match TEXT]

"Crashes" means: `aio run` dies by a signal, exits with a status other than 0, 1 or 2,
prints `panicked` on stderr, or does not end within 10 s. With `--match TEXT`, the
reduced program must also print TEXT on stderr (e.g. the panic's `file:line`), so the
reduction keeps the same bug rather than drifting to another.

With `--differs` (for `fuzz/diff.py`'s findings), a program "crashes" when CPython
compiles it and aio's stdout or exit status differs from CPython's (run with
PYTHONHASHSEED=0); `--match TEXT` then looks in aio's stdout and stderr.

The reduction is line-based (delta debugging over lines, then over indented blocks), then
tries to simplify each line by cutting bracketed sub-expressions. Generated programs
shrink to a handful of lines in a minute or two.
"""

import os
import subprocess
import sys
import tempfile

AIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "aio")
PYTHON = "/root/.pyenv/versions/3.11.7/bin/python3"
if not os.path.exists(PYTHON):
    PYTHON = "python3"


def differs(src, aio, python, match):
    """Whether CPython runs `src` (no syntax error) and aio's stdout or status differs."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
        path = f.name
    env = dict(os.environ, PYTHONHASHSEED="0")
    try:
        py = subprocess.run([python, path], capture_output=True, timeout=10, stdin=subprocess.DEVNULL, env=env)
        if b"SyntaxError" in py.stderr or b"IndentationError" in py.stderr:
            return False
        p = subprocess.run([aio, "run", path], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    finally:
        os.unlink(path)
    if (py.returncode, py.stdout) == (p.returncode, p.stdout):
        return False
    return match is None or match.encode() in p.stdout + p.stderr


def crashes(src, aio, match):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
        path = f.name
    try:
        p = subprocess.run([aio, "run", path], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return match is None or match == "timeout"
    finally:
        os.unlink(path)
    err = p.stderr.decode("utf-8", "replace")
    bad = p.returncode < 0 or p.returncode not in (0, 1, 2) or "panicked" in err
    return bad and (match is None or match in err)


def ddmin(items, test):
    """Classic delta debugging: the smallest sublist (1-minimal) for which test holds."""
    n = 2
    while len(items) >= 2:
        chunk = max(1, len(items) // n)
        reduced = False
        for i in range(0, len(items), chunk):
            rest = items[:i] + items[i + chunk:]
            if rest and test(rest):
                items = rest
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(items), n * 2)
    return items


def simplify_line(line, test_line):
    """Tries replacing each bracketed group in the line by a simpler atom."""
    changed = True
    while changed:
        changed = False
        for open_, close in ("()", "[]", "{}"):
            start = 0
            while True:
                i = line.find(open_, start)
                if i < 0:
                    break
                depth, j = 0, i
                while j < len(line):
                    if line[j] == open_:
                        depth += 1
                    elif line[j] == close:
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                for repl in (open_ + close, "(1)", "(a)"):
                    cand = line[:i] + repl + line[j + 1:]
                    if cand != line and test_line(cand):
                        line = cand
                        changed = True
                        break
                start = i + 1
    return line


def main():
    args = sys.argv[1:]
    aio, match, python, diff_mode = AIO, None, PYTHON, False
    if "--differs" in args:
        args.remove("--differs")
        diff_mode = True
    if "--python" in args:
        k = args.index("--python")
        python = args[k + 1]
        del args[k:k + 2]
    if "--aio" in args:
        k = args.index("--aio")
        aio = args[k + 1]
        del args[k:k + 2]
    if "--match" in args:
        k = args.index("--match")
        match = args[k + 1]
        del args[k:k + 2]
    src_path = args[0]
    out_path = args[1] if len(args) > 1 else src_path.rsplit(".", 1)[0] + ".min.py"
    lines = open(src_path, encoding="utf-8").read().splitlines()
    if diff_mode:
        test = lambda ls: differs("\n".join(ls) + "\n", aio, python, match)
    else:
        test = lambda ls: crashes("\n".join(ls) + "\n", aio, match)
    if not test(lines):
        sys.exit("the input does not crash aio (--differs: differ; --match: not that way)")
    lines = ddmin(lines, test)
    for i in range(len(lines)):
        def test_line(cand, i=i):
            return test(lines[:i] + [cand] + lines[i + 1:])
        lines[i] = simplify_line(lines[i], test_line)
    lines = ddmin(lines, test)
    open(out_path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    print(f"{len(lines)} lines -> {out_path}")


if __name__ == "__main__":
    main()
