import asyncio
import math
import json
import sys
import gc
import random
random.seed(1)
a = 1
b = [1, 2, 3]
c = 'abc'
d = {'k': 1, 2: 'v'}
s = {1, 2, 3}
t = (1, 'x', None)
g = 0
o = None
class Ctx:
    def __init__(self, swallow=False):
        self.swallow = swallow
    def __enter__(self):
        return self
    def __exit__(self, et, ev, tb):
        return bool(self.swallow) and et is not None and issubclass(et, Exception)
class ACtx:
    def __init__(self, swallow=False):
        self.swallow = swallow
    async def __aenter__(self):
        await asyncio.sleep(0)
        return self
    async def __aexit__(self, et, ev, tb):
        await asyncio.sleep(0)
        return bool(self.swallow) and et is not None and issubclass(et, Exception)
def gen0(n=3):
    for i in range(n):
        x = yield i
        if x is not None:
            yield x
async def agen0(n=3):
    for i in range(n):
        await asyncio.sleep(0)
        yield i
async def af0(*args, **kw):
    acc = ([{j: 1.5 for j in d.items()} async for j in agen0()] << 0.5)
    async with asyncio.TaskGroup() as d:
        async with asyncio.timeout(0.001) as a:
            try:
                raise (await (await d))
                print(o)
                ["\u00e9" async for i in agen0() if hasattr(('%d%%' % ([0x7f for i in list(s) if a] % (1.5)[2])))]
            except OverflowError as d:
                object()
                print([x async for x in agen0()], await af0())
            else:
                raise ExceptionGroup('eg', [ValueError(1), TypeError(f"{{{(o)!s:>8}")]) from [{b[0b101]: len(3)} async for j in agen0()]
    try:
        async for j in agen0():
            acc = (-((0b101 % b'\x00\xff'))[float((-2**63))])
            try:
                [(b for j in range(3)) for i in d.items() if r'-4.5']
            except (ZeroDivisionError, TimeoutError) as t:
                s.cancel()
            finally:
                b.cancel()
                1_000
                1.5
            async def f0(a, b=2):
                acc = ((StopIteration() and True.get(b, True)) if json.dumps(bin(None)) else (None[:1_000])[1_000::2])
                class C1(C0):
                    x = 'a b  c'
                raise C1
                {{(+d): next([repr() for i in range(4)], ('日本語' & bytes(3)))} for j in (b >= g > ('%d%%' % t)) if (not a)}
                w1 = 0
                while w1 < 6:
                    w1 += 1
                    f"{(gen0((lambda *x: s)))!r:x}"
                    g[2**64:] = format()
                    if acc:
                        ('%d%%' % (a := 'x,y,,z'))
                        w2 = 0
                        while w2 < 2:
                            w2 += 1
                            ((lambda *x: {}) ** 64)
                            print(d)
                            return acc
                        with C1() as o:
                            (o for i in b if (-2.25))
                            f"{{{((lambda *x: (-2**63)))!r}x{(bytes(2)):.2}x{(staticmethod(asyncio.Semaphore(acc)))!a:08.3f}"
                    else:
                        try:
                            o[((await 1e-300) ** 64)] = (lambda x: a)
                        except NotImplementedError as o:
                            print(await a)
                            ((f1()).discard())[:]
                            print(await asyncio.shield(af2()))
                        b = asyncio.create_task(af1())
                        print(f1())
                return ({} for i in d.items())
            acc = f0()
        0.0
    finally:
        async def f1(*args):
            acc = acc
            def f0(*args):
                global g
                acc = 3
                g = sorted(map(((acc != a))[(lambda *x: {["日本語" for i in ('%d%%' % (int() or (-a))) if t]: (3)[3.0]})], None), key=(lambda : s))
                {(w := {(-1): 0.1})}
                yield (({(bytes(3) != (-2)) for j in range(3)}).extend(a, {[1e300 for j in c] for i in gen0() if ("ABC" if g else (-0.0))}) if a else ({i: s.copy() for i in d.items() if True.get()} ** 1))
                yield ('%s %r' % random.choice())
            acc = f0(math.floor(f2(*(max()).__context__, *(C1(((o ** 7) if (d - (-math.inf)) else acc[acc]), *(('%s %r' % 100) if gen0() else (2**30))) <= acc), map((c not in b'\x00\xff'), a))), (lambda *x: {('123').__mro__ for j in c}))
            with C0() as c:
                g -= json.dumps()
        acc = f1((s > random.shuffle()))
        raise "{0}{1}"
    t[-2:] *= [(0x7f & hasattr((b'%s' % '{\"k\": [1, 2.5, null]}'), a)) for i in d.items()]
async def main(a=(None >> 0), *rest):
    global g
    acc = ((lambda : ("-4.5" >> 2)) & (lambda x: g))
    try:
        '{}'
    finally:
        print(await b)
try:
    print(asyncio.run(main()))
except Exception as e:
    print('!', type(e).__name__, str(e)[:100])
try:
    class C2:
        x = {}
        def __call__(self, *args):
            acc = 0
            if 'abc':
                g.imag %= '  pad  '
            elif (1e-300 ** 64):
                'a b  c'
                (((((bytearray(b'xy'))[10::2])[math.nan]).send(('%5.2f|%-4s' % (d >= "x,y,,z" >= 1e-300)))).reverse(bool([])) in {([id(g) for j in b]).remove(acc), int()} not in (+("{0}{1}")[:0:0]))
            else:
                float(a)
            acc = (("").pop(True) or math.sqrt(acc))
            return {anext(): ((b | "ABC") >> 64)}
    t = (lambda x, y=1: {f' - {(((not math.inf) if asyncio.create_task() else {}))!a:%} - {(1e300)=:x}', *('\\' is not t), [bytearray(b'xy') for i in gen0()]})
except Exception as e:
    print('!', type(e).__name__, str(e)[:100])
try:
    w3 = 0
    while w3 < 4 and (({j: bytes(3) for j in list(s) if o} in (1_000 in t) >= {}))[{i: 0o17 for i in list(s)}]:
        w3 += 1
        "True"
except Exception as e:
    print('!', repr(e)[:100], e.__context__ is not None)
async def main(a, /, b, *, k=1):
    acc = (await af2())
    if {asyncio.Lock(): ('%s %r' % C0(bytearray({"\u00e9": s, '123': None}))), (lambda *x: '[1, 2]'): (lambda x, y=1: t.__hash__())}:
        async for i in agen0():
            {[c for i in list(s)] for i in c if ((~(('\\')["\u00e9"]).index(True, None))).get_nowait()}
        else:
            try:
                {}
                b *= ((await bytearray(b'xy')) * g)
            finally:
                (d / (lambda x: (("\u00e9" is '123') and (-2))))
                (((o + "x,y,,z") % acc))[:3]
                del b
            raise ExceptionGroup('eg', [ValueError(1), TypeError(((lambda : ((b'\x00\xff')[::0])[C0()]) // (all(None) ** 7)))])
        assert slice(), b'\x00\xff'
    else:
        ([g for i in list(s) if '-4.5']).center(((hex(c[1:]) - ((0.0 // math.nan)).__class__) & (w := "abc")))
        print(bytearray(b'xy'))
        b = asyncio.Queue(); b.put_nowait(('%d%%' % (2**64))); print(await asyncio.wait_for(b.get(), 0.001))
    gn4 = f0()
    print(gn4.send(acc))
    d[2**30:] -= (+('%5.2f|%-4s' % ((acc // (-2.25)) @ ("abc" >= 1000))))
try:
    print(asyncio.run(main()))
except Exception as e:
    print('!', repr(e)[:100], e.__context__ is not None)
for v in (a, b, c, d, s, t, g, o):
    try:
        print(repr(v)[:200])
    except Exception as e:
        print('!', type(e).__name__)
