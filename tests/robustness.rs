//! Bad or pathological input never crashes the interpreter: every case runs the built `aio`
//! binary and requires a clean exit (status 0, or 1 with a Python-style error on stderr) —
//! never a signal, never Rust's panic status 101, never an abort (134) or a segfault (139),
//! never `panicked` on stderr. Where CPython raises a specific exception, the class matches.
//!
//! Timeouts are hang guards only (generous, never a measurement).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const HANG_GUARD: Duration = Duration::from_secs(300);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("aio-robust-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write script");
    path
}

/// Runs `aio ARGS` with a hang guard; panics if the process dies by a signal or times out.
fn aio(args: &[&std::ffi::OsStr]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aio"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aio starts");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aio {args:?} did not finish (hang guard)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().expect("stdout thread")).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().expect("stderr thread")).into_owned();
    let code = match status.code() {
        Some(c) => c,
        None => panic!("aio {args:?} was killed by a signal ({status:?})\nstderr tail: {}", tail(&stderr)),
    };
    assert!(
        ![70, 101, 134, 139].contains(&code),
        "aio {args:?} crashed with status {code}\nstderr tail: {}",
        tail(&stderr)
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error") && !stderr.contains("overflowed its stack"),
        "aio {args:?} panicked:\n{}",
        tail(&stderr)
    );
    Run { code, stdout, stderr }
}

fn tail(s: &str) -> String {
    let start = s.len().saturating_sub(2000);
    let start = (start..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    s[start..].to_string()
}

fn run_script(name: &str, contents: impl AsRef<[u8]>) -> Run {
    let path = scratch(name, contents.as_ref());
    let r = aio(&[path.as_os_str()]);
    let _ = std::fs::remove_dir_all(path.parent().expect("scratch dir"));
    r
}

fn check_script(name: &str, contents: impl AsRef<[u8]>) -> Run {
    let path = scratch(name, contents.as_ref());
    let r = aio(&["check".as_ref(), path.as_os_str()]);
    let _ = std::fs::remove_dir_all(path.parent().expect("scratch dir"));
    r
}

/// The last non-empty line of stderr (the `Type: message` of a traceback).
fn last_line(r: &Run) -> &str {
    r.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// Exit 1 and the error line starts with `class` (e.g. `"RecursionError"`).
fn assert_error(r: &Run, class: &str) {
    assert_eq!(r.code, 1, "expected exit 1 with {class}; stdout: {}\nstderr: {}", r.stdout, tail(&r.stderr));
    // A traceback ends with `Type: message`; a syntax-error report starts with it.
    let last = last_line(r);
    let first = r.stderr.lines().next().unwrap_or("");
    let is = |l: &str| l.starts_with(&format!("{class}:")) || l == class;
    assert!(is(last) || is(first), "expected a {class}, got {last:?}\nstderr: {}", tail(&r.stderr));
}

fn assert_ok(r: &Run, stdout: &str) {
    assert_eq!(r.code, 0, "expected success; stderr: {}", tail(&r.stderr));
    assert_eq!(r.stdout, stdout);
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------- source-level input

#[test]
fn random_bytes_are_rejected_cleanly() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..20 {
        let len = 1 + rng.below(4000);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let r = run_script(&format!("random{round}.aio"), &bytes);
        assert!(r.code == 1 || r.code == 0, "round {round}: status {}", r.code);
        if std::str::from_utf8(&bytes).is_err() {
            assert!(r.stderr.contains("SyntaxError"), "round {round}: {}", r.stderr);
        }
    }
}

#[test]
fn random_utf8_text_is_rejected_cleanly() {
    // Printable soup of Python's punctuation, keywords, digits and some non-ASCII text.
    let pieces = [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ":",
        ",",
        ".",
        "=",
        "+",
        "-",
        "*",
        "**",
        "/",
        "//",
        "%",
        "@",
        "<",
        ">",
        "!=",
        "==",
        "'",
        "\"",
        "\"\"\"",
        "f'",
        "{x}",
        "\\",
        "#",
        "\n",
        "\n    ",
        "\t",
        " ",
        "0x",
        "1e",
        "1_0",
        "0b2",
        "def ",
        "class ",
        "lambda ",
        "if ",
        "else",
        "for ",
        "in ",
        "async ",
        "await ",
        "yield ",
        "return ",
        "try:",
        "except*",
        "finally",
        "with ",
        "as ",
        "import ",
        "from ",
        "global ",
        "nonlocal ",
        "x",
        "é",
        "\u{1F600}",
        "\u{200B}",
        "\u{FEFF}",
        "\r",
        "\r\n",
        ";",
        "...",
        "->",
        ":=",
        "*args",
        "**kw",
        "b'\\xff'",
        "r'\\'",
        "0o",
        "not ",
        "is ",
    ];
    let mut rng = Rng(12345);
    for round in 0..60 {
        let n = 1 + rng.below(200);
        let src: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        let r = check_script(&format!("soup{round}.aio"), src.as_bytes());
        assert!(r.code == 0 || r.code == 1, "round {round}: status {}\n{src:?}", r.code);
    }
}

const SEED_PROGRAM: &str = r#"
import sys
class Vec:
    def __init__(self, x, y=2, *, z=3):
        self.x, self.y = x, y
    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)
    def __repr__(self):
        return f"Vec({self.x!r}, {self.y:>4})"
async def main(items):
    async with lock as l:
        total = [i ** 2 for i in items if i % 2]
    return {k: v for k, v in zip("abc", total)}
def gen(n):
    try:
        yield from range(n)
    except* ValueError as eg:
        raise RuntimeError("x") from eg
    finally:
        print((lambda a, /, b: a + b)(1, b=2))
while (n := len(sys.argv)) > 10:
    del sys.argv[0]
print(Vec(1, 2) + Vec(3, 4), [*gen(3)], {**{"a": 1}}, b"\x00", 0x_ff, 1_000.5e-3)
"#;

#[test]
fn mutated_programs_never_crash_the_front_end() {
    let mut rng = Rng(0xDEAD_BEEF);
    let inserts = ["(", ")", ":", "\n", "    ", "\t", "'", "\"", "{", "}", "*", "=", "async ", "lambda", "\\", "é"];
    let base: Vec<char> = SEED_PROGRAM.chars().collect();
    for round in 0..150 {
        let mut src = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(src.len() + 1);
            match rng.below(3) {
                0 if at < src.len() => {
                    src.remove(at);
                }
                1 => {
                    let s = inserts[rng.below(inserts.len())];
                    for (k, c) in s.chars().enumerate() {
                        src.insert(at + k, c);
                    }
                }
                _ if at < src.len() => {
                    let j = rng.below(src.len());
                    src.swap(at, j);
                }
                _ => {}
            }
        }
        let text: String = src.into_iter().collect();
        let r = check_script(&format!("mutant{round}.aio"), text.as_bytes());
        assert!(r.code == 0 || r.code == 1, "round {round}: status {}\n{text}", r.code);
    }
}

#[test]
fn ten_thousand_nested_brackets() {
    let src = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
    let r = run_script("brackets.aio", src);
    assert_error(&r, "SyntaxError");
    assert!(r.stderr.contains("too many nested parentheses"), "{}", tail(&r.stderr));
    let src = format!("x = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert_error(&run_script("lists.aio", src), "SyntaxError");
    let src = format!("x = {}\n", "{".repeat(10_000));
    assert_error(&run_script("braces.aio", src), "SyntaxError");
}

#[test]
fn one_megabyte_line() {
    let src = format!("x = \"{}\"\nprint(len(x))\n", "a".repeat(1 << 20));
    assert_ok(&run_script("long_line.aio", src), "1048576\n");
    // A megabyte of tokens on one line.
    let src = format!("x = [{}]\nprint(len(x))\n", "1, ".repeat(350_000));
    assert_ok(&run_script("long_list.aio", src), "350000\n");
}

#[test]
fn hundred_thousand_lines() {
    let mut src: String = (0..100_000).map(|i| format!("x{i} = {i}\n")).collect();
    src.push_str("print(x99999 + x0)\n");
    assert_ok(&run_script("many_lines.aio", src), "99999\n");
}

#[test]
fn two_hundred_thousand_terms() {
    // CPython: RecursionError: maximum recursion depth exceeded during compilation.
    let src = format!("x = {}\nprint(x)\n", vec!["1"; 200_000].join(" + "));
    let r = run_script("terms.aio", src);
    assert_error(&r, "RecursionError");
    assert!(r.stdout.is_empty(), "nothing runs: {}", r.stdout);
}

#[test]
fn hundred_thousand_unary_minus() {
    // CPython 3.11 reports MemoryError (its parser stack) here and RecursionError for a few
    // thousand; aio reports RecursionError for both.
    let src = format!("x = {}1\nprint(x)\n", "-".repeat(100_000));
    let r = run_script("unary.aio", src);
    assert_eq!(r.code, 1);
    let last = last_line(&r);
    assert!(last.starts_with("RecursionError") || last.starts_with("MemoryError"), "{last}");
    // Within the limits, it runs.
    let src = format!("x = {}1\nprint(x)\n", "-".repeat(501));
    assert_ok(&run_script("unary_ok.aio", src), "-1\n");
}

// ---------------------------------------------------------------- run-time recursion

#[test]
fn repr_of_deeply_nested_containers() {
    for (name, wrap) in [("list", "[a]"), ("dict", "{'k': a}"), ("tuple", "(a,)"), ("mixed", "[{1: (a,)}]")] {
        let src = format!(
            "a = 1\nfor i in range(100000):\n    a = {wrap}\ntry:\n    print(a)\nexcept RecursionError as e:\n    print('caught', type(e).__name__)\nprint(a)\n"
        );
        let r = run_script(&format!("deep_{name}.aio"), src);
        assert_error(&r, "RecursionError");
        assert_eq!(r.stdout, "caught RecursionError\n", "{name}");
    }
}

#[test]
fn comparison_of_deeply_nested_containers() {
    let src = r#"
def build(f):
    a = 1
    for i in range(100000):
        a = f(a)
    return a
for f in [lambda a: [a], lambda a: (a,), lambda a: {1: a}]:
    try:
        print(build(f) == build(f))
    except RecursionError as e:
        print(e)
a = 1
b = 1
for i in range(300):
    a = (a,)
    b = [b]
print(a == a[0:], b == [b[0]], [b] <= [b])
"#;
    let expect = "maximum recursion depth exceeded in comparison\n".repeat(3) + "True True True\n";
    assert_ok(&run_script("deep_cmp.aio", src), &expect);
}

/// CPython's depth for `def f(n): return f(n + 1)` caught at top level, or 999 without python3.
fn cpython_depth(src: &str) -> Option<i64> {
    let out = Command::new("python3").arg("-c").arg(src).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn deep_recursion_raises_catchable_recursion_error() {
    let src = r#"import sys
depth = 0
def f(n):
    global depth
    depth = n
    return f(n + 1)
try:
    f(1)
except RecursionError as e:
    assert str(e) == "maximum recursion depth exceeded", str(e)
    assert sys.getrecursionlimit() == 1000
    print(depth)
"#;
    let r = run_script("recursion.aio", src);
    assert_eq!(r.code, 0, "{}", tail(&r.stderr));
    let depth: i64 = r.stdout.trim().parse().expect("a depth");
    let expected = cpython_depth(src).unwrap_or(999);
    assert!((depth - expected).abs() <= 5, "aio reached depth {depth}, CPython {expected}");
}

#[test]
fn uncaught_deep_recursion_traceback_is_collapsed() {
    let src = "def f(n):\n    return f(n + 1)\nf(0)\n";
    let r = run_script("uncaught.aio", src);
    assert_error(&r, "RecursionError");
    assert!(r.stderr.contains("  [Previous line repeated 99"), "{}", tail(&r.stderr));
    assert!(r.stderr.lines().count() < 20, "collapsed: {}", r.stderr.lines().count());
}

#[test]
fn raised_recursion_limit_does_not_crash() {
    // Script frames live on the heap: a limit of 100000 is reached, not a SIGSEGV.
    let src = r#"import sys
sys.setrecursionlimit(100000)
depth = 0
def f(n):
    global depth
    depth = n
    return f(n + 1)
try:
    f(1)
except RecursionError:
    print(depth > 99000)
def g(n):
    return g(n + 1)
g(0)
"#;
    let r = run_script("high_limit.aio", src);
    assert_error(&r, "RecursionError");
    assert_eq!(r.stdout, "True\n");
    // Traceback printing shows at most 1000 entries, as CPython.
    assert!(r.stderr.lines().count() < 20, "{}", r.stderr.lines().count());
    // Native re-entry (repr, sorted) nests on the Rust stack: still fine at 100000.
    let r = run_script("native_limit.aio", native_reentry(100_000));
    assert_eq!(r.code, 0, "{}", tail(&r.stderr));
    assert_eq!(r.stdout, "repr\nsorted\n");
}

#[test]
fn huge_recursion_limit_with_native_reentry_does_not_crash() {
    let r = run_script("huge_limit.aio", native_reentry(1_000_000));
    assert_eq!(r.code, 0, "{}", tail(&r.stderr));
    assert_eq!(r.stdout, "repr\nsorted\n");
}

fn native_reentry(limit: u32) -> String {
    let src = r#"import sys
sys.setrecursionlimit(LIMIT)
class A:
    def __repr__(self):
        return repr(A())
try:
    repr(A())
except RecursionError:
    print("repr")
def key(x):
    return sorted([1, 2], key=key)
try:
    sorted([1, 2], key=key)
except RecursionError:
    print("sorted")
"#;
    src.replace("LIMIT", &limit.to_string())
}

#[test]
fn mutual_recursion_through_natives() {
    let src = r#"
class R:
    def __repr__(self):
        return repr(R())
class K:
    def __hash__(self):
        return 1
    def __eq__(self, other):
        return K() in {K(): 1}
def key(x):
    return sorted([1, 2], key=key)
class G:
    def __getattr__(self, name):
        return getattr(self, name + "x")
class S:
    def __str__(self):
        return f"{self}"
class L:
    def __len__(self):
        return len(L())
cases = [lambda: repr(R()), lambda: K() in {K(): 1}, lambda: sorted([1, 2], key=key),
         lambda: G().foo, lambda: str(S()), lambda: len(L()), lambda: print(R())]
for c in cases:
    try:
        c()
        print("no error")
    except RecursionError:
        print("RecursionError")
"#;
    assert_ok(&run_script("mutual.aio", src), &"RecursionError\n".repeat(7));
}

#[test]
fn yield_from_chain_five_thousand_deep() {
    let src = r#"import sys
def g(n):
    if n == 0:
        yield "bottom"
        return 7
    r = yield from g(n - 1)
    return r
sys.setrecursionlimit(20000)
it = g(5000)
print(next(it))
try:
    next(it)
except StopIteration as e:
    print(e.value)
sys.setrecursionlimit(1000)
try:
    print(list(g(5000)))
except RecursionError:
    print("RecursionError")
"#;
    assert_ok(&run_script("yield_from.aio", src), "bottom\n7\nRecursionError\n");
}

#[test]
fn ten_thousand_long_context_chain() {
    let src = r#"e = None
for i in range(10000):
    try:
        raise ValueError(i)
    except ValueError as x:
        x.__context__ = e
        e = x
raise e
"#;
    let r = run_script("chain.aio", src);
    assert_error(&r, "ValueError");
    assert_eq!(r.stderr.matches("During handling of the above exception").count(), 9999);
    assert_eq!(last_line(&r), "ValueError: 9999");
    // Raised from nested handlers: each frame shows up once, recursion collapsed.
    let src = r#"import sys
sys.setrecursionlimit(30000)
def f(n):
    try:
        raise KeyError(n)
    except KeyError:
        if n < 10000:
            f(n + 1)
        else:
            raise
f(0)
"#;
    let r = run_script("chain2.aio", src);
    assert_error(&r, "KeyError");
    assert_eq!(r.stderr.matches("Traceback (most recent call last):").count(), 10001);
}

#[test]
fn cyclic_context_chain_terminates() {
    let src = r#"a = ValueError("a")
b = TypeError("b")
a.__context__ = b
b.__context__ = a
raise a
"#;
    let r = run_script("cycle.aio", src);
    assert_error(&r, "ValueError");
    assert_eq!(r.stderr.matches("During handling").count(), 1);
    assert!(r.stderr.starts_with("TypeError: b\n"), "{}", r.stderr);
}

#[test]
fn million_deep_iterator_chains_raise_recursion_error() {
    // `map` over `map` over ... a million deep steps each level inside the previous one
    // (CPython crashes here): a RecursionError, after which a shallow chain still works.
    let src = r#"
for kind in ["map", "filter", "zip", "enumerate"]:
    it = iter([1, 2])
    for i in range(10**6):
        if kind == "map":
            it = map(abs, it)
        elif kind == "filter":
            it = filter(None, it)
        elif kind == "zip":
            it = zip(it)
        else:
            it = enumerate(it)
    try:
        next(it)
        print(kind, "stepped")
    except RecursionError as e:
        print(kind, "RecursionError", e)
    del it
it = iter([-5])
for i in range(10000):
    it = map(abs, it)
print(next(it))
"#;
    let expect = ["map", "filter", "zip", "enumerate"]
        .iter()
        .map(|k| format!("{k} RecursionError maximum recursion depth exceeded while calling a Python object\n"))
        .collect::<String>()
        + "5\n";
    assert_ok(&run_script("iter_chains.aio", src), &expect);
}

/// Runs `script` under an 800 MB address-space limit and checks that it exits 0 printing
/// exactly `expected`.
fn assert_runs_under_memory_limit(script: &std::path::Path, expected: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 800000 && exec \"$0\" run \"$1\"")
        .arg(env!("CARGO_BIN_EXE_aio"))
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout, expected, "{stderr}");
}

#[test]
fn lists_growing_one_item_at_a_time_raise_memory_error() {
    // Under an address-space limit, a list that grows until memory runs out (append, a
    // comprehension, list() of a generator) raises MemoryError, as in CPython, instead of
    // aborting the process.
    let script = scratch(
        "grow.aio",
        br#"
def count():
    i = 0
    while True:
        yield i
        i += 1

def attempt(name, f):
    try:
        f()
    except MemoryError:
        print(name, "MemoryError")

def append():
    l = []
    while True:
        l.append(None)

def comprehension():
    x = [None for _ in count()]

def from_gen():
    x = list(None for _ in count())

attempt("append", append)
attempt("comprehension", comprehension)
attempt("list(gen)", from_gen)
print("done")
"#,
    );
    assert_runs_under_memory_limit(
        &script,
        "append MemoryError\ncomprehension MemoryError\nlist(gen) MemoryError\ndone\n",
    );
}

#[test]
fn dicts_and_sets_growing_until_memory_runs_out_raise_memory_error() {
    // Under an address-space limit, a dict or set that grows until memory runs out raises
    // MemoryError, as in CPython, instead of aborting the process.
    let script = scratch(
        "grow_tables.aio",
        br#"
def attempt(name, f):
    try:
        f()
    except MemoryError:
        print(name, "MemoryError")

def dict_grow():
    d = {}
    i = 0
    while True:
        d[i] = None
        i += 1

def set_grow():
    s = set()
    i = 0
    while True:
        s.add(i)
        i += 1

def dict_comp():
    d = {k: k for k in range(10**12)}

attempt("dict", dict_grow)
attempt("set", set_grow)
attempt("dict comprehension", dict_comp)
print("done")
"#,
    );
    assert_runs_under_memory_limit(
        &script,
        "dict MemoryError\nset MemoryError\ndict comprehension MemoryError\ndone\n",
    );
}

#[test]
fn sequences_doubling_until_memory_runs_out_raise_memory_error() {
    // `l += l`, slice assignment, `extend`, `l + l` and `s + s` under an address-space limit.
    let script = scratch(
        "grow_doubling.aio",
        br#"
def attempt(name, f):
    try:
        f()
    except MemoryError:
        print(name, "MemoryError")

def iadd():
    l = [0] * 1000
    while True:
        l += l

def slice_assign():
    l = [0] * 1000
    while True:
        l[len(l):] = l

def extend():
    l = [0] * 1000
    while True:
        l.extend(l)

def concat():
    l = [0] * 1000
    while True:
        l = l + l

def str_concat():
    s = "x" * 1000
    while True:
        s = s + s

attempt("+=", iadd)
attempt("slice", slice_assign)
attempt("extend", extend)
attempt("concat", concat)
attempt("str concat", str_concat)
print("done")
"#,
    );
    assert_runs_under_memory_limit(
        &script,
        "+= MemoryError\nslice MemoryError\nextend MemoryError\nconcat MemoryError\nstr concat MemoryError\ndone\n",
    );
}
