//! A program generator for the VM target: the fuzzer's bytes choose, production by
//! production, a program from a small Python grammar. The output almost always compiles
//! (so the fuzzer spends its time in the VM, not in the parser), runs under CPython too,
//! and cannot outlive the watchdog:
//!
//! - every loop is bounded (`for` over small ranges and displays, `while` with a counter);
//! - nothing catches `BaseException`, `KeyboardInterrupt` or a bare `except:`, and every
//!   `__exit__` swallows at most `Exception`s, so the watchdog's `KeyboardInterrupt` ends
//!   any run (even exponential recursion);
//! - waits on events and queues are wrapped in `asyncio.wait_for(..., 0.001)`;
//! - `**` and `<<` take small literal right operands, so no number outgrows memory.
//!
//! Each top-level statement is wrapped in `try`/`except Exception` so that one error does
//! not end the run: later statements still execute.

use arbitrary::Unstructured;

/// The whole program's size budget, in productions.
const BUDGET: u32 = 600;
/// The deepest expression nesting.
const MAX_EXPR_DEPTH: u32 = 5;
/// The deepest statement nesting.
const MAX_STMT_DEPTH: u32 = 4;

/// Variables the prelude binds (so most reads succeed).
const VARS: &[&str] = &["a", "b", "c", "d", "s", "t", "g", "o"];
/// Names the generated functions and classes get.
const FUNCS: &[&str] = &["f0", "f1", "f2", "f3"];
const AFUNCS: &[&str] = &["af0", "af1", "af2"];
const CLASSES: &[&str] = &["C0", "C1", "C2"];

const PRELUDE: &str = "\
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
";

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "7",
    "10",
    "100",
    "255",
    "256",
    "1000",
    "0x7f",
    "0o17",
    "0b101",
    "1_000",
    "2**30",
    "2**63 - 1",
    "2**63",
    "-2**63",
    "2**64",
    "10**20",
    "-10**20",
];
const FLOATS: &[&str] =
    &["0.0", "-0.0", "1.5", "-2.25", "1e300", "1e-300", "0.1", "3.0", "math.inf", "-math.inf", "math.nan"];
const STRS: &[&str] = &[
    "",
    "abc",
    "a b  c",
    "x,y,,z",
    "é",
    "日本語",
    "🐍",
    "\\n",
    "\\t\\x00",
    "\\u00e9",
    "%s-%d",
    "{}",
    "{0}{1}",
    "  pad  ",
    "ABC",
    "123",
    "-4.5",
    "True",
    "k",
    "[1, 2]",
    "{\\\"k\\\": [1, 2.5, null]}",
    "\\\\",
];
const BYTES: &[&str] = &["b''", "b'abc'", "b'\\x00\\xff'", "bytearray(b'xy')", "bytes(3)"];
const BUILTINS: &[(&str, u32)] = &[
    ("print", 2),
    ("len", 1),
    ("str", 1),
    ("repr", 1),
    ("int", 1),
    ("float", 1),
    ("bool", 1),
    ("list", 1),
    ("tuple", 1),
    ("dict", 0),
    ("set", 1),
    ("frozenset", 1),
    ("bytes", 1),
    ("bytearray", 1),
    ("sorted", 1),
    ("reversed", 1),
    ("min", 2),
    ("max", 2),
    ("sum", 1),
    ("abs", 1),
    ("round", 2),
    ("divmod", 2),
    ("pow", 2),
    ("chr", 1),
    ("ord", 1),
    ("hex", 1),
    ("oct", 1),
    ("bin", 1),
    ("format", 2),
    ("isinstance", 2),
    ("issubclass", 2),
    ("hasattr", 2),
    ("getattr", 3),
    ("setattr", 3),
    ("callable", 1),
    ("hash", 1),
    ("iter", 1),
    ("next", 2),
    ("enumerate", 1),
    ("zip", 2),
    ("map", 2),
    ("filter", 2),
    ("any", 1),
    ("all", 1),
    ("range", 3),
    ("slice", 3),
    ("type", 1),
    ("ascii", 1),
    ("dir", 1),
    ("vars", 1),
    ("id", 1),
    ("object", 0),
    ("Exception", 1),
    ("ValueError", 2),
    ("ExceptionGroup", 2),
    ("StopIteration", 1),
    ("aiter", 1),
    ("anext", 1),
    ("property", 1),
    ("staticmethod", 1),
    ("classmethod", 1),
    ("json.dumps", 1),
    ("json.loads", 1),
    ("math.sqrt", 1),
    ("math.floor", 1),
    ("math.gcd", 2),
    ("math.isclose", 2),
    ("math.log", 1),
    ("random.random", 0),
    ("random.choice", 1),
    ("random.shuffle", 1),
    ("random.randint", 2),
    ("gc.collect", 0),
    ("sys.getrecursionlimit", 0),
    ("asyncio.sleep", 1),
    ("asyncio.create_task", 1),
    ("asyncio.gather", 2),
    ("asyncio.ensure_future", 1),
    ("asyncio.current_task", 0),
    ("asyncio.all_tasks", 0),
    ("asyncio.get_running_loop", 0),
    ("asyncio.Queue", 0),
    ("asyncio.Event", 0),
    ("asyncio.Lock", 0),
    ("asyncio.Semaphore", 1),
    ("asyncio.Future", 0),
    ("asyncio.shield", 1),
    ("asyncio.run", 1),
    ("asyncio.iscoroutine", 1),
    ("gen0", 1),
    ("agen0", 1),
];
const METHODS: &[&str] = &[
    "append",
    "extend",
    "pop",
    "insert",
    "remove",
    "index",
    "count",
    "sort",
    "reverse",
    "copy",
    "clear",
    "keys",
    "values",
    "items",
    "get",
    "setdefault",
    "update",
    "popitem",
    "add",
    "discard",
    "union",
    "intersection",
    "split",
    "join",
    "strip",
    "replace",
    "find",
    "upper",
    "lower",
    "startswith",
    "endswith",
    "format",
    "encode",
    "decode",
    "title",
    "zfill",
    "center",
    "partition",
    "rsplit",
    "ljust",
    "isdigit",
    "send",
    "throw",
    "close",
    "cancel",
    "result",
    "exception",
    "done",
    "cancelled",
    "add_done_callback",
    "set_result",
    "set_exception",
    "__next__",
    "__iter__",
    "__len__",
    "__repr__",
    "__eq__",
    "__hash__",
    "__getitem__",
    "__add__",
    "__init__",
    "bit_length",
    "to_bytes",
    "hex",
    "is_integer",
    "fromkeys",
    "put_nowait",
    "get_nowait",
    "qsize",
    "set",
    "is_set",
    "locked",
    "release",
    "with_traceback",
    "add_note",
    "split",
    "subgroup",
    "derive",
    "asend",
    "athrow",
    "aclose",
    "__anext__",
];
const ATTRS: &[&str] = &[
    "x",
    "y",
    "val",
    "args",
    "__class__",
    "__name__",
    "__cause__",
    "__context__",
    "__traceback__",
    "__dict__",
    "__qualname__",
    "__mro__",
    "__bases__",
    "real",
    "imag",
    "start",
    "stop",
    "step",
    "exceptions",
    "message",
    "value",
    "gi_running",
    "cr_await",
    "__suppress_context__",
    "__notes__",
    "tb_lineno",
    "tb_next",
];
const BINOPS: &[&str] = &["+", "-", "*", "/", "//", "%", "&", "|", "^", "@", "and", "or"];
const AUGOPS: &[&str] = &["+=", "-=", "*=", "//=", "%=", "|=", "&=", "^=", "/="];
const CMPOPS: &[&str] = &["==", "!=", "<", "<=", ">", ">=", "is", "is not", "in", "not in"];
const EXCS: &[&str] = &[
    "Exception",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "ZeroDivisionError",
    "RuntimeError",
    "StopIteration",
    "AttributeError",
    "NameError",
    "RecursionError",
    "OverflowError",
    "ArithmeticError",
    "LookupError",
    "AssertionError",
    "NotImplementedError",
    "StopAsyncIteration",
    "UnboundLocalError",
    "asyncio.CancelledError",
    "asyncio.TimeoutError",
    "TimeoutError",
    "ExceptionGroup",
    "C0",
    "C1",
    "C2",
];
const DUNDERS: &[(&str, &str)] = &[
    ("__init__", "self, *args, **kw"),
    ("__repr__", "self"),
    ("__str__", "self"),
    ("__eq__", "self, other"),
    ("__lt__", "self, other"),
    ("__hash__", "self"),
    ("__bool__", "self"),
    ("__len__", "self"),
    ("__iter__", "self"),
    ("__next__", "self"),
    ("__getitem__", "self, key"),
    ("__setitem__", "self, key, value"),
    ("__delitem__", "self, key"),
    ("__contains__", "self, item"),
    ("__call__", "self, *args"),
    ("__add__", "self, other"),
    ("__radd__", "self, other"),
    ("__mul__", "self, other"),
    ("__neg__", "self"),
    ("__index__", "self"),
    ("__int__", "self"),
    ("__float__", "self"),
    ("__format__", "self, spec"),
    ("__getattr__", "self, name"),
    ("__enter__", "self"),
    ("__exit__", "self, *exc"),
    ("__await__", "self"),
    ("__aiter__", "self"),
    ("__anext__", "self"),
    ("__aenter__", "self"),
    ("__aexit__", "self, *exc"),
    ("__new__", "cls, *args"),
    ("__init_subclass__", "cls, **kw"),
    ("__class_getitem__", "cls, item"),
];

/// What kind of function body the generator is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Module,
    Sync,
    Gen,
    Async,
    AsyncGen,
}

/// Where a production happens: what the grammar allows there.
#[derive(Clone, Copy)]
struct Ctx {
    kind: Kind,
    in_loop: bool,
    /// Inside a nested function whose enclosing function binds `acc` (so `nonlocal acc` is valid).
    nested: bool,
    /// Inside an `except*` block (where `break`, `continue` and `return` are errors) or a
    /// `finally` block (where they would swallow the watchdog's `KeyboardInterrupt`).
    no_jump: bool,
    /// Inside a class body (directly).
    class_body: bool,
    /// Inside a lambda or a comprehension: no `yield`, no walrus into the comprehension.
    expr_scope: bool,
    /// Inside an f-string replacement field delimited by this quote: no backslashes, no
    /// string using that quote, no nested f-string (CPython 3.11's rules).
    fquote: Option<char>,
}

impl Ctx {
    fn module() -> Ctx {
        Ctx {
            kind: Kind::Module,
            in_loop: false,
            nested: false,
            no_jump: false,
            class_body: false,
            expr_scope: false,
            fquote: None,
        }
    }
    fn can_await(&self) -> bool {
        matches!(self.kind, Kind::Async | Kind::AsyncGen) && !self.expr_scope && !self.class_body
    }
    fn can_yield(&self) -> bool {
        matches!(self.kind, Kind::Gen | Kind::AsyncGen) && !self.expr_scope && !self.class_body
    }
    fn in_function(&self) -> bool {
        self.kind != Kind::Module && !self.class_body
    }
}

struct Gen<'a> {
    u: Unstructured<'a>,
    out: String,
    budget: u32,
    counter: u32,
}

/// Writes the program the fuzzer's bytes choose.
pub fn program(data: &[u8]) -> String {
    let mut g = Gen { u: Unstructured::new(data), out: String::from(PRELUDE), budget: BUDGET, counter: 0 };
    let units = 1 + g.pick(8);
    for _ in 0..units {
        g.unit();
    }
    g.line(0, "for v in (a, b, c, d, s, t, g, o):");
    g.line(1, "try:");
    g.line(2, "print(repr(v)[:200])");
    g.line(1, "except Exception as e:");
    g.line(2, "print('!', type(e).__name__)");
    g.out
}

impl Gen<'_> {
    /// A number in `0..n` (0 once the data runs out, so generation always ends).
    fn pick(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.u.int_in_range(0..=n - 1).unwrap_or(0)
    }

    fn one<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.pick(items.len())]
    }

    fn coin(&mut self, one_in: usize) -> bool {
        self.pick(one_in) == 0 && !self.u.is_empty()
    }

    fn spend(&mut self) -> bool {
        if self.budget == 0 || self.u.is_empty() {
            return false;
        }
        self.budget -= 1;
        true
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn line(&mut self, indent: u32, text: &str) {
        for _ in 0..indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    // ---- top level -------------------------------------------------------------------

    fn unit(&mut self) {
        if !self.spend() {
            return;
        }
        // Definitions are guarded too: default values and class bodies run code.
        match self.pick(7) {
            0 => {
                let name = self.one(FUNCS).to_string();
                let kind = if self.coin(3) { Kind::Gen } else { Kind::Sync };
                self.guarded(0, |g| g.funcdef(1, &name, kind, Ctx::module(), false));
            }
            1 => {
                let name = self.one(AFUNCS).to_string();
                let kind = if self.coin(4) { Kind::AsyncGen } else { Kind::Async };
                self.guarded(0, |g| g.funcdef(1, &name, kind, Ctx::module(), false));
            }
            2 => self.guarded(0, |g| g.classdef(1, Ctx::module())),
            3 => {
                // An async entry point, run at once.
                self.funcdef(0, "main", Kind::Async, Ctx::module(), false);
                self.guarded(0, |g| g.line(1, "print(asyncio.run(main()))"));
            }
            _ => {
                let n = 1 + self.pick(3);
                self.guarded(0, |g| {
                    for _ in 0..n {
                        g.stmt(1, Ctx::module(), 1);
                    }
                });
            }
        }
    }

    /// `try: BODY except Exception as e: print(...)` at `indent`.
    fn guarded(&mut self, indent: u32, body: impl FnOnce(&mut Self)) {
        self.line(indent, "try:");
        let len = self.out.len();
        body(self);
        if self.out.len() == len {
            self.line(indent + 1, "pass");
        }
        self.line(indent, "except Exception as e:");
        let report = match self.pick(3) {
            0 => "print('!', type(e).__name__)",
            1 => "print('!', type(e).__name__, str(e)[:100])",
            _ => "print('!', repr(e)[:100], e.__context__ is not None)",
        };
        self.line(indent + 1, report);
    }

    fn params(&mut self) -> String {
        match self.pick(8) {
            0 => String::new(),
            1 => "a".into(),
            2 => "a, b=2".into(),
            3 => "*args".into(),
            4 => "a, /, b, *, k=1".into(),
            5 => "*args, **kw".into(),
            6 => {
                let e = self.expr(Ctx::module(), 2);
                format!("a={e}, *rest")
            }
            _ => "a, b, c=None, **kw".into(),
        }
    }

    fn funcdef(&mut self, indent: u32, name: &str, kind: Kind, outer: Ctx, method: bool) {
        let params = if method {
            let p = self.params();
            if p.is_empty() {
                "self".to_string()
            } else {
                format!("self, {p}")
            }
        } else {
            self.params()
        };
        if self.coin(6) {
            let dec = self.one(&["staticmethod", "property", "classmethod", "deco"]);
            if dec == "deco" {
                self.line(indent, "def deco(fn):");
                self.line(indent + 1, "return fn");
            }
            if method || dec == "deco" {
                self.line(indent, &format!("@{dec}"));
            }
        }
        let prefix = if matches!(kind, Kind::Async | Kind::AsyncGen) { "async def" } else { "def" };
        self.line(indent, &format!("{prefix} {name}({params}):"));
        let ctx = Ctx {
            kind,
            in_loop: false,
            nested: outer.in_function(),
            no_jump: false,
            class_body: false,
            expr_scope: false,
            fquote: None,
        };
        // Declarations come first: a name used before its `global`/`nonlocal` is an error.
        if ctx.nested && self.coin(3) {
            self.line(indent + 1, "nonlocal acc");
        }
        if self.coin(3) {
            self.line(indent + 1, "global g");
        }
        let init = self.expr(ctx, 2);
        self.line(indent + 1, &format!("acc = {init}"));
        let n = 1 + self.pick(4);
        for _ in 0..n {
            self.stmt(indent + 1, ctx, 1);
        }
        match kind {
            Kind::Gen => {
                let e = self.expr(ctx, 2);
                self.line(indent + 1, &format!("yield {e}"));
            }
            Kind::AsyncGen => {
                self.line(indent + 1, "await asyncio.sleep(0)");
                let e = self.expr(ctx, 2);
                self.line(indent + 1, &format!("yield {e}"));
            }
            _ => {}
        }
        if kind != Kind::AsyncGen && self.coin(2) {
            let e = self.expr(ctx, 1);
            self.line(indent + 1, &format!("return {e}"));
        }
    }

    fn classdef(&mut self, indent: u32, outer: Ctx) {
        let name = self.one(CLASSES).to_string();
        let bases = match self.pick(7) {
            0 => "(Exception)",
            1 => "(C0)",
            2 => "(ValueError)",
            3 => "(C0, C1)",
            4 => "(dict)",
            5 => "(list)",
            _ => "",
        };
        self.line(indent, &format!("class {name}{bases}:"));
        let ctx = Ctx { class_body: true, in_loop: false, no_jump: false, ..outer };
        let e = self.expr(ctx, 2);
        self.line(indent + 1, &format!("x = {e}"));
        let n = self.pick(6);
        for _ in 0..n {
            if !self.spend() {
                break;
            }
            match self.pick(5) {
                0 => {
                    let e = self.expr(ctx, 2);
                    let a = self.one(ATTRS);
                    self.line(indent + 1, &format!("{a} = {e}"));
                }
                _ => {
                    let (m, params) = DUNDERS[self.pick(DUNDERS.len())];
                    let kind = match m {
                        "__iter__" if self.coin(2) => Kind::Gen,
                        "__aiter__" | "__anext__" | "__aenter__" | "__aexit__" => Kind::Async,
                        "__await__" => Kind::Gen,
                        _ => Kind::Sync,
                    };
                    let prefix = if kind == Kind::Async { "async def" } else { "def" };
                    if m == "__init_subclass__" || m == "__class_getitem__" {
                        self.line(indent + 1, "@classmethod");
                    }
                    self.line(indent + 1, &format!("{prefix} {m}({params}):"));
                    let fctx = Ctx {
                        kind,
                        in_loop: false,
                        nested: false,
                        no_jump: false,
                        class_body: false,
                        expr_scope: false,
                        fquote: None,
                    };
                    self.line(indent + 2, "acc = 0");
                    self.dunder_body(indent + 2, m, fctx);
                }
            }
        }
    }

    fn dunder_body(&mut self, indent: u32, m: &str, ctx: Ctx) {
        let n = self.pick(3);
        for _ in 0..n {
            self.stmt(indent, ctx, 2);
        }
        match m {
            "__init__" => {
                let e = self.expr(ctx, 2);
                self.line(indent, &format!("self.val = {e}"));
                if self.coin(2) {
                    self.line(indent, "super().__init__(*args)");
                }
            }
            "__new__" => self.line(indent, "return super().__new__(cls)"),
            "__exit__" | "__aexit__" => {
                let r = self.one(&["False", "None", "bool(exc[0]) and issubclass(exc[0], Exception)"]);
                self.line(indent, &format!("return {r}"));
            }
            "__enter__" | "__aenter__" | "__iter__" | "__aiter__" if ctx.kind != Kind::Gen => {
                self.line(indent, "return self")
            }
            "__await__" => {
                self.line(indent, "yield");
                let e = self.expr(ctx, 1);
                self.line(indent, &format!("return {e}"));
            }
            "__iter__" => {
                let e = self.expr(ctx, 2);
                self.line(indent, &format!("yield from {e}"));
            }
            "__next__" => {
                self.line(indent, "self.n = getattr(self, 'n', 0) + 1");
                self.line(indent, "if self.n > 3:");
                self.line(indent + 1, "raise StopIteration");
                self.line(indent, "return self.n");
            }
            "__anext__" => {
                self.line(indent, "self.n = getattr(self, 'n', 0) + 1");
                self.line(indent, "if self.n > 3:");
                self.line(indent + 1, "raise StopAsyncIteration");
                self.line(indent, "return self.n");
            }
            "__init_subclass__" => self.line(indent, "super().__init_subclass__(**kw)"),
            _ => {
                let e = match m {
                    "__repr__" | "__str__" | "__format__" if self.coin(2) => {
                        let e = self.expr(ctx, 1);
                        format!("str({e})")
                    }
                    "__hash__" | "__len__" | "__index__" | "__int__" if self.coin(2) => self.one(INTS).to_string(),
                    _ => self.expr(ctx, 2),
                };
                self.line(indent, &format!("return {e}"));
            }
        }
    }

    // ---- statements ------------------------------------------------------------------

    fn block(&mut self, indent: u32, ctx: Ctx, depth: u32) {
        let n = 1 + self.pick(3);
        let len = self.out.len();
        for _ in 0..n {
            self.stmt(indent, ctx, depth);
        }
        if self.out.len() == len {
            self.line(indent, "pass");
        }
    }

    fn target(&mut self, ctx: Ctx) -> String {
        match self.pick(8) {
            0 => {
                let v = self.one(VARS);
                let i = self.expr(ctx, 3);
                format!("{v}[{i}]")
            }
            1 => {
                let v = self.one(VARS);
                let a = self.one(ATTRS);
                format!("{v}.{a}")
            }
            2 => {
                let (x, y) = (self.one(VARS), self.one(VARS));
                format!("{x}, {y}")
            }
            3 => {
                let (x, y) = (self.one(VARS), self.one(VARS));
                format!("[{x}, *{y}]")
            }
            4 => {
                let v = self.one(VARS);
                let lo = self.one(INTS);
                format!("{v}[{lo}:]")
            }
            _ => self.one(VARS).to_string(),
        }
    }

    fn stmt(&mut self, indent: u32, ctx: Ctx, depth: u32) {
        if !self.spend() {
            return;
        }
        let nested_ok = depth < MAX_STMT_DEPTH;
        let choice = self.pick(30);
        match choice {
            0 | 1 => {
                let e = self.expr(ctx, 0);
                self.line(indent, &format!("print({e})"));
            }
            2 | 3 => {
                let t = self.target(ctx);
                let e = self.expr(ctx, 0);
                self.line(indent, &format!("{t} = {e}"));
            }
            4 => {
                let t = self.target(ctx);
                let op = self.one(AUGOPS);
                let e = self.expr(ctx, 1);
                if t.contains(',') || t.contains('[') && t.starts_with('[') {
                    let v = self.one(VARS);
                    self.line(indent, &format!("{v} {op} {e}"));
                } else {
                    self.line(indent, &format!("{t} {op} {e}"));
                }
            }
            5 | 6 if nested_ok => {
                let e = self.expr(ctx, 1);
                self.line(indent, &format!("if {e}:"));
                self.block(indent + 1, ctx, depth + 1);
                if self.coin(2) {
                    let e = self.expr(ctx, 1);
                    self.line(indent, &format!("elif {e}:"));
                    self.block(indent + 1, ctx, depth + 1);
                }
                if self.coin(2) {
                    self.line(indent, "else:");
                    self.block(indent + 1, ctx, depth + 1);
                }
            }
            7 | 8 if nested_ok => {
                let var = self.one(&["i", "j", "a", "b"]);
                let it = self.iterable(ctx);
                let kw = if ctx.can_await() && self.coin(4) { "async for" } else { "for" };
                let it = if kw == "async for" { "agen0()".to_string() } else { it };
                self.line(indent, &format!("{kw} {var} in {it}:"));
                self.block(indent + 1, Ctx { in_loop: true, ..ctx }, depth + 1);
                if self.coin(3) {
                    self.line(indent, "else:");
                    self.block(indent + 1, ctx, depth + 1);
                }
            }
            9 if nested_ok => {
                let w = self.fresh("w");
                let k = 1 + self.pick(6);
                self.line(indent, &format!("{w} = 0"));
                let cond = if self.coin(2) { format!(" and {}", self.expr(ctx, 2)) } else { String::new() };
                self.line(indent, &format!("while {w} < {k}{cond}:"));
                self.line(indent + 1, &format!("{w} += 1"));
                self.block(indent + 1, Ctx { in_loop: true, ..ctx }, depth + 1);
            }
            10 | 11 if nested_ok => self.try_stmt(indent, ctx, depth),
            12 if nested_ok => {
                let cm = if ctx.can_await() && self.coin(2) {
                    let c = self.one(&[
                        "ACtx()",
                        "ACtx(True)",
                        "asyncio.timeout(0.001)",
                        "asyncio.timeout(None)",
                        "asyncio.Lock()",
                        "asyncio.Semaphore(1)",
                        "asyncio.TaskGroup()",
                    ]);
                    format!("async with {c}")
                } else {
                    let c = self.one(&["Ctx()", "Ctx(True)", "C0()", "C1()", "Ctx(), Ctx(True)"]);
                    format!("with {c}")
                };
                let v = self.one(VARS);
                self.line(indent, &format!("{cm} as {v}:"));
                self.block(indent + 1, ctx, depth + 1);
            }
            13 => {
                let e = match self.pick(5) {
                    0 => format!("{}({})", self.one(EXCS), self.expr(ctx, 2)),
                    1 => self.one(EXCS).to_string(),
                    2 => format!("ExceptionGroup('eg', [ValueError(1), TypeError({})])", self.expr(ctx, 2)),
                    3 => self.expr(ctx, 1),
                    _ => String::new(),
                };
                let cause =
                    if !e.is_empty() && self.coin(3) { format!(" from {}", self.expr(ctx, 2)) } else { String::new() };
                self.line(indent, format!("raise {e}{cause}").trim_end());
            }
            14 if ctx.in_function() && self.coin(4) => self.line(indent, "del acc"),
            14 => {
                let t = self.target(ctx);
                if t.contains('*') {
                    self.line(indent, "pass");
                } else {
                    self.line(indent, &format!("del {t}"));
                }
            }
            15 if ctx.in_function() && !ctx.no_jump => {
                if ctx.kind == Kind::AsyncGen {
                    self.line(indent, "return");
                } else {
                    let e = self.expr(ctx, 1);
                    self.line(indent, &format!("return {e}"));
                }
            }
            16 | 17 if ctx.can_yield() => {
                let e = self.expr(ctx, 1);
                match self.pick(3) {
                    0 if ctx.kind == Kind::Gen => self.line(indent, &format!("yield from {e}")),
                    1 => {
                        let v = self.one(VARS);
                        self.line(indent, &format!("{v} = yield {e}"));
                    }
                    _ => self.line(indent, &format!("yield {e}")),
                }
            }
            16..=19 if ctx.can_await() => self.await_stmt(indent, ctx),
            18 | 19 if ctx.in_loop && !ctx.no_jump => {
                let kw = self.one(&["break", "continue"]);
                self.line(indent, kw);
            }
            20 if nested_ok && !ctx.class_body => {
                let name = self.one(&["inner", "f0", "f1"]).to_string();
                let kind = match self.pick(4) {
                    0 => Kind::Gen,
                    1 => Kind::Async,
                    _ => Kind::Sync,
                };
                self.funcdef(indent, &name, kind, ctx, false);
                if ctx.in_function() {
                    let e = self.call_args(ctx);
                    self.line(indent, &format!("acc = {name}({e})"));
                }
            }
            21 if nested_ok && depth < 2 => self.classdef(indent, ctx),
            22 => {
                let v = if ctx.in_function() { "acc" } else { "g" };
                let e = self.expr(ctx, 2);
                self.line(indent, &format!("{v} = {e}"));
            }
            23 if self.coin(4) => {
                let n = self.one(&["50", "100", "1000", "3000"]);
                self.line(indent, &format!("sys.setrecursionlimit({n})"));
            }
            23 => {
                let e = self.expr(ctx, 1);
                let m = self.expr(ctx, 2);
                self.line(indent, &format!("assert {e}, {m}"));
            }
            24 => {
                let v = self.one(VARS);
                let e = self.expr(ctx, 2);
                let l = self.lambda(ctx);
                self.line(indent, &format!("{v} = sorted({e}, key={l})"));
            }
            25 => {
                // A generator driven by hand: send, throw, close.
                let v = self.fresh("gn");
                let src = self.one(&["gen0()", "gen0(5)", "f0()", "f1(1)", "C0()", "iter(b)"]);
                self.line(indent, &format!("{v} = {src}"));
                let op = match self.pick(5) {
                    0 => "next({v})".to_string(),
                    1 => format!("{{v}}.send({})", self.expr(ctx, 2)),
                    2 => format!("{{v}}.throw({}({}))", self.one(EXCS), self.expr(ctx, 2)),
                    3 => "{v}.close()".to_string(),
                    _ => "list({v})".to_string(),
                };
                let op = op.replace("{v}", &v);
                self.line(indent, &format!("print({op})"));
            }
            _ => {
                let e = self.expr(ctx, 0);
                self.line(indent, &e);
            }
        }
    }

    fn try_stmt(&mut self, indent: u32, ctx: Ctx, depth: u32) {
        self.line(indent, "try:");
        self.block(indent + 1, ctx, depth + 1);
        let star = self.coin(5);
        let handlers = if star { 1 + self.pick(2) } else { self.pick(3) };
        for _ in 0..handlers {
            let kw = if star { "except*" } else { "except" };
            let exc = match self.pick(3) {
                0 => format!("({}, {})", self.one(EXCS), self.one(EXCS)),
                _ => self.one(EXCS).to_string(),
            };
            // `except*` cannot name ExceptionGroup; never catch BaseException (see module docs).
            let exc = if star && exc.contains("ExceptionGroup") { "ValueError".to_string() } else { exc };
            let v = self.one(VARS);
            self.line(indent, &format!("{kw} {exc} as {v}:"));
            self.block(indent + 1, Ctx { no_jump: star || ctx.no_jump, ..ctx }, depth + 1);
        }
        if handlers > 0 && self.coin(3) {
            self.line(indent, "else:");
            self.block(indent + 1, ctx, depth + 1);
        }
        if handlers == 0 || self.coin(2) {
            self.line(indent, "finally:");
            self.block(indent + 1, Ctx { no_jump: true, ..ctx }, depth + 1);
        }
    }

    fn await_stmt(&mut self, indent: u32, ctx: Ctx) {
        let line = match self.pick(16) {
            0 => "await asyncio.sleep(0)".to_string(),
            1 => "await asyncio.sleep(0.001)".to_string(),
            2 => {
                let f = self.one(AFUNCS);
                let v = self.one(VARS);
                format!("{v} = asyncio.create_task({f}({}))", self.call_args(ctx))
            }
            3 => {
                let v = self.one(VARS);
                format!("{v}.cancel()")
            }
            4 => {
                let (x, y) = (self.one(AFUNCS), self.one(AFUNCS));
                let r = self.one(&["True", "False"]);
                format!("print(await asyncio.gather({x}(), {y}(), return_exceptions={r}))")
            }
            5 => {
                let f = self.one(AFUNCS);
                let to = self.one(&["0", "0.001", "None", "-1"]);
                format!("print(await asyncio.wait_for({f}(), timeout={to}))")
            }
            6 => {
                let f = self.one(AFUNCS);
                format!("print(await asyncio.shield({f}()))")
            }
            7 => {
                let (x, y) = (self.one(AFUNCS), self.one(AFUNCS));
                let w = self.one(&["asyncio.FIRST_COMPLETED", "asyncio.ALL_COMPLETED", "asyncio.FIRST_EXCEPTION"]);
                format!("print(len((await asyncio.wait([asyncio.create_task({x}()), asyncio.create_task({y}())], timeout=0.001, return_when={w}))[0]))")
            }
            8 => {
                let (x, y) = (self.one(AFUNCS), self.one(AFUNCS));
                format!("print([await f for f in asyncio.as_completed([{x}(), {y}()])])")
            }
            9 => {
                let v = self.one(VARS);
                format!("print(await asyncio.wait_for({v}, 0.001))")
            }
            10 => {
                let v = self.one(VARS);
                format!("print(await {v})")
            }
            11 => {
                let v = self.one(VARS);
                let e = self.expr(ctx, 2);
                format!("{v} = asyncio.Queue(); {v}.put_nowait({e}); print(await asyncio.wait_for({v}.get(), 0.001))")
            }
            12 => {
                let v = self.one(VARS);
                format!("{v} = asyncio.Event(); print(await asyncio.wait_for({v}.wait(), 0.001))")
            }
            13 => {
                let v = self.one(VARS);
                format!("{v} = asyncio.current_task(); {v}.cancel()")
            }
            14 => {
                let f = self.one(AFUNCS);
                format!("print([x async for x in agen0()], await {f}())")
            }
            _ => {
                let f = self.one(AFUNCS);
                let v = self.one(VARS);
                format!("{v} = asyncio.ensure_future({f}()); await asyncio.sleep(0); {v}.cancel(); print(await asyncio.gather({v}, return_exceptions=True))")
            }
        };
        self.line(indent, &line);
    }

    // ---- expressions -----------------------------------------------------------------

    fn iterable(&mut self, ctx: Ctx) -> String {
        match self.pick(8) {
            0 => format!("range({})", self.pick(6)),
            1 => "b".into(),
            2 => "gen0()".into(),
            3 => "c".into(),
            4 => "d.items()".into(),
            5 => "list(s)".into(),
            _ => self.expr(ctx, 2),
        }
    }

    fn call_args(&mut self, ctx: Ctx) -> String {
        let n = self.pick(4);
        let mut args = Vec::new();
        for i in 0..n {
            let e = self.expr(ctx, 3);
            args.push(match self.pick(8) {
                0 => format!("*{e}"),
                1 if i == n - 1 => format!("**dict(k={e})"),
                2 => format!("k{i}={e}"),
                _ => e,
            });
        }
        // Keyword arguments must follow positional ones.
        args.sort_by_key(|a| a.starts_with('k') || a.starts_with("**"));
        args.join(", ")
    }

    fn lambda(&mut self, ctx: Ctx) -> String {
        let p = self.one(&["x", "x, y=1", "*x", ""]);
        let e = self.expr(Ctx { expr_scope: true, ..ctx }, 3);
        format!("(lambda {p}: {e})")
    }

    fn str_lit(&mut self, ctx: Ctx) -> String {
        let body = self.one(STRS);
        match ctx.fquote {
            Some(q) => {
                let other = if q == '"' { '\'' } else { '"' };
                let body = if body.contains('\\') { "xyz" } else { body };
                format!("{other}{body}{other}")
            }
            None => {
                let q = if self.coin(2) { '"' } else { '\'' };
                let body = if q == '"' { body.replace("\\\"", "'") } else { body.to_string() };
                let prefix = if self.coin(8) && !body.contains('\\') { "r" } else { "" };
                format!("{prefix}{q}{body}{q}")
            }
        }
    }

    fn fstring(&mut self, ctx: Ctx) -> String {
        let q = if self.coin(2) { '"' } else { '\'' };
        let inner = Ctx { fquote: Some(q), ..ctx };
        let mut s = format!("f{q}");
        let parts = 1 + self.pick(3);
        for _ in 0..parts {
            s.push_str(self.one(&["", "x", " - ", "{{", "}}", "é"]));
            let e = self.expr(inner, 3);
            let conv = self.one(&["", "", "!r", "!s", "!a", "="]);
            let spec = match self.pick(10) {
                0 => ":>8".to_string(),
                1 => ":^10".into(),
                2 => ":08.3f".into(),
                3 => ":x".into(),
                4 => ":,".into(),
                5 => ":.2".into(),
                6 => format!(":>{{{}}}", self.expr(inner, 4)),
                7 => ":%".into(),
                _ => String::new(),
            };
            if conv == "=" {
                s.push_str(&format!("{{({e})={spec}}}"));
            } else {
                s.push_str(&format!("{{({e}){conv}{spec}}}"));
            }
        }
        s.push(q);
        s
    }

    /// An expression, always safe to use as an operand (composites are parenthesised).
    fn expr(&mut self, ctx: Ctx, depth: u32) -> String {
        if depth >= MAX_EXPR_DEPTH || !self.spend() {
            return self.atom(ctx);
        }
        let d = depth + 1;
        match self.pick(34) {
            0..=5 => self.atom(ctx),
            6 | 7 => {
                let (l, r) = (self.expr(ctx, d), self.expr(ctx, d));
                let op = self.one(BINOPS);
                format!("({l} {op} {r})")
            }
            8 => {
                let l = self.expr(ctx, d);
                let op = self.one(&["**", "<<", ">>"]);
                let n = self.one(&["0", "1", "2", "3", "7", "64", "-1", "0.5"]);
                format!("({l} {op} {n})")
            }
            9 => {
                let e = self.expr(ctx, d);
                let op = self.one(&["-", "+", "~", "not "]);
                format!("({op}{e})")
            }
            10 | 11 => {
                let l = self.expr(ctx, d);
                let op = self.one(CMPOPS);
                let r = self.expr(ctx, d);
                if self.coin(3) {
                    let op2 = self.one(CMPOPS);
                    let r2 = self.expr(ctx, d);
                    format!("({l} {op} {r} {op2} {r2})")
                } else {
                    format!("({l} {op} {r})")
                }
            }
            12 => {
                let (x, y, z) = (self.expr(ctx, d), self.expr(ctx, d), self.expr(ctx, d));
                format!("({x} if {y} else {z})")
            }
            13..=15 => {
                let (f, arity) = BUILTINS[self.pick(BUILTINS.len())];
                let n = self.pick(arity as usize + 1);
                let args: Vec<String> = (0..n).map(|_| self.expr(ctx, d)).collect();
                format!("{f}({})", args.join(", "))
            }
            16 => {
                let f = self.one(&["f0", "f1", "f2", "f3", "C0", "C1", "C2", "gen0", "Ctx"]);
                let args = self.call_args(ctx);
                format!("{f}({args})")
            }
            17 | 18 => {
                let v = self.primary(ctx, d);
                let m = self.one(METHODS);
                let n = self.pick(3);
                let args: Vec<String> = (0..n).map(|_| self.expr(ctx, d)).collect();
                format!("{v}.{m}({})", args.join(", "))
            }
            19 => {
                let v = self.primary(ctx, d);
                let a = self.one(ATTRS);
                format!("{v}.{a}")
            }
            20 => {
                let v = self.primary(ctx, d);
                let i = self.expr(ctx, d);
                format!("{v}[{i}]")
            }
            21 => {
                let v = self.primary(ctx, d);
                let lo = if self.coin(2) { self.one(INTS) } else { "" };
                let hi = if self.coin(2) { self.one(INTS) } else { "" };
                let st = self.one(&["", ":2", ":-1", ":-3", ":0"]);
                format!("{v}[{lo}:{hi}{st}]")
            }
            22 => {
                let n = self.pick(4);
                let items: Vec<String> = (0..n)
                    .map(|_| {
                        let e = self.expr(ctx, d);
                        if self.coin(6) {
                            format!("*{e}")
                        } else {
                            e
                        }
                    })
                    .collect();
                match self.pick(3) {
                    0 => format!("[{}]", items.join(", ")),
                    1 if n > 0 => format!("{{{}}}", items.join(", ")),
                    _ => format!("({}{})", items.join(", "), if n == 1 { "," } else { "" }),
                }
            }
            23 => {
                let n = self.pick(3);
                let items: Vec<String> = (0..n)
                    .map(|_| {
                        if self.coin(6) {
                            format!("**{}", self.expr(ctx, d))
                        } else {
                            format!("{}: {}", self.expr(ctx, d), self.expr(ctx, d))
                        }
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            24 | 25 => {
                let inner = Ctx { expr_scope: true, ..ctx };
                let var = self.one(&["i", "j"]);
                let it = self.iterable(inner);
                let e = self.expr(inner, d);
                let cond = if self.coin(2) { format!(" if {}", self.expr(inner, d)) } else { String::new() };
                match self.pick(5) {
                    0 => format!("{{{e} for {var} in {it}{cond}}}"),
                    1 => format!("{{{var}: {e} for {var} in {it}{cond}}}"),
                    2 => format!("({e} for {var} in {it}{cond})"),
                    3 if ctx.can_await() => format!("[{e} async for {var} in agen0(){cond}]"),
                    _ => format!("[{e} for {var} in {it}{cond}]"),
                }
            }
            26 => self.lambda(ctx),
            27 if ctx.fquote.is_none() => self.fstring(ctx),
            28 if !ctx.expr_scope && !ctx.class_body => {
                let v = self.one(&["w", "a", "c"]);
                let e = self.expr(ctx, d);
                format!("({v} := {e})")
            }
            29 if ctx.can_await() => {
                let e = match self.pick(4) {
                    0 => format!("{}()", self.one(AFUNCS)),
                    1 => "asyncio.sleep(0, 5)".to_string(),
                    2 => self.one(VARS).to_string(),
                    _ => self.expr(ctx, d),
                };
                format!("(await {e})")
            }
            30 if ctx.can_yield() => {
                let e = self.expr(ctx, d);
                format!("(yield {e})")
            }
            31 if ctx.fquote.is_none() => {
                let v = self.one(&["'%s %r'", "'%d%%'", "'%5.2f|%-4s'", "b'%s'"]);
                let e = self.expr(ctx, d);
                format!("({v} % {e})")
            }
            32 if ctx.in_function() && !ctx.expr_scope => {
                let e = self.one(&["super()", "self", "acc"]);
                if e == "self" || e == "super()" {
                    "acc".into()
                } else {
                    e.into()
                }
            }
            _ => self.atom(ctx),
        }
    }

    /// An expression to put before `.name`, `[...]` or `(...)`: literals and operators are
    /// parenthesised (`(1).real`, not `1.real`).
    fn primary(&mut self, ctx: Ctx, depth: u32) -> String {
        let e = self.expr(ctx, depth);
        let plain = e.chars().all(|c| c.is_alphanumeric() || c == '_') && !e.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            e
        } else {
            format!("({e})")
        }
    }

    fn atom(&mut self, ctx: Ctx) -> String {
        match self.pick(12) {
            0 | 1 => {
                let n = self.one(INTS);
                if n.contains(['*', ' ']) || n.starts_with('-') {
                    format!("({n})")
                } else {
                    n.to_string()
                }
            }
            2 => {
                let f = self.one(FLOATS);
                if f.starts_with('-') {
                    format!("({f})")
                } else {
                    f.to_string()
                }
            }
            3 | 4 => self.str_lit(ctx),
            5 => {
                let b = self.one(BYTES);
                if ctx.fquote.is_some() {
                    "bytes(2)".into()
                } else {
                    b.to_string()
                }
            }
            6 => self.one(&["None", "True", "False"]).to_string(),
            // Also from lambdas, comprehensions and class bodies inside a function: closures.
            7 if ctx.kind != Kind::Module => "acc".into(),
            _ => self.one(VARS).to_string(),
        }
    }
}
