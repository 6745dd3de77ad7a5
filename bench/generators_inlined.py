# generators_inlined.py - generators.py with every generator written out by hand: the same
# three phases and checksum line, with no generator or async generator. aio running this
# is a floor for aio running generators.py (the generator switches cost nothing here), so
# aio(generators_inlined) / python3(generators) bounds the generators ratio from below.
import asyncio

PIPE_N = 1000000
TREE_DEPTH = 17
ASYNC_N = 600000
MOD = 1000000007


def build_tree(depth, label):
    if depth == 0:
        return [label]
    return [build_tree(depth - 1, label * 2), label, build_tree(depth - 1, label * 2 + 1)]


def walk(node, out):
    if len(node) == 1:
        out.append(node[0])
    else:
        walk(node[0], out)
        out.append(node[1])
        walk(node[2], out)


async def main():
    s1 = 0
    n1 = 0
    i = 0
    while i < PIPE_N:
        x = i * i
        if x % 2 == 1:
            s1 = (s1 + x) % MOD
            n1 += 1
        i += 1

    tree = build_tree(TREE_DEPTH, 1)
    s2 = 0
    n2 = 0
    pos = 0
    out = []
    walk(tree, out)
    for v in out:
        s2 = (s2 + v * (pos % 7 + 1)) % MOD
        pos += 1
        n2 += 1

    s3 = 0
    n3 = 0
    for i in range(ASYNC_N):
        if i % 64 == 0:
            await asyncio.sleep(0)
        x = (i * 37) % 1000
        s3 = (s3 + x) % MOD
        n3 += 1

    print(f"generators pipe={n1}/{s1} tree={n2}/{s2} async={n3}/{s3}")


asyncio.run(main())
