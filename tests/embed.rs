//! The embedding API, point by point (issue 7): running code, values both ways, host
//! functions, modules and classes, async host functions, driving the loop, output capture,
//! the sandbox, the limits, several engines, errors.

use aio::embed::{
    Bytes, Capabilities, ClassBuilder, Error, FromValue, Limit, Limits, ModuleBuilder, New, Object, ToValue,
};
use aio::vm::{Exc, ExcKind, Res, Value, Vm};
use aio::Engine;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

fn engine() -> Engine {
    Engine::builder().capture_output().build()
}

/// Script source written indented in a raw string: drops the first newline and the common
/// indentation (like Python's `textwrap.dedent`).
fn py(s: &str) -> String {
    let s = s.strip_prefix('\n').unwrap_or(s);
    let indent = s.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    s.lines().map(|l| if l.len() >= indent { &l[indent..] } else { l.trim_start() }).collect::<Vec<_>>().join("\n")
}

// ---- 1. running code, globals, calls ----

#[test]
fn exec_eval_and_globals() {
    let mut e = engine();
    e.exec("x = 20\ndef double(n):\n    return 2 * n").unwrap();
    assert_eq!(e.eval::<i64>("double(x) + 2").unwrap(), 42);
    e.set("name", "ada").unwrap();
    assert_eq!(e.eval::<String>("name.upper()").unwrap(), "ADA");
    assert_eq!(e.get::<i64>("x").unwrap(), 20);
    let err = e.get::<i64>("missing").unwrap_err();
    assert_eq!(err.exception_type(), Some("NameError"));
    // Globals persist across calls.
    e.exec("x += 1").unwrap();
    assert_eq!(e.get::<i64>("x").unwrap(), 21);
}

#[test]
fn call_script_functions_with_rust_values() {
    let mut e = engine();
    e.exec(
        "def f(a, b, *rest):\n    return [a + b, len(rest)]\nclass P:\n    def __init__(self, v):\n        self.v = v",
    )
    .unwrap();
    let r: (i64, usize) = e.call("f", (1, 2, "x", 3.5)).unwrap();
    assert_eq!(r, (3, 2));
    let r: Vec<String> = e.call("sorted", (vec!["b", "a"],)).unwrap();
    assert_eq!(r, ["a", "b"]);
    let p: Value = e.call("P", (7,)).unwrap();
    e.set("p", p).unwrap();
    assert_eq!(e.eval::<i64>("p.v").unwrap(), 7);
    let f: Value = e.get("f").unwrap();
    let r: Vec<i64> = e.call_value(&f, (10, 20)).unwrap();
    assert_eq!(r, [30, 0]);
}

#[test]
fn call_async_runs_the_loop_until_done() {
    let mut e = engine();
    e.exec(&py(r#"
        import asyncio
        async def work(n):
            await asyncio.sleep(0.01)
            return n * 2
        async def main(n):
            return sum(await asyncio.gather(*(work(i) for i in range(n))))
    "#))
        .unwrap();
    let r: i64 = e.call_async("main", (5,)).unwrap();
    assert_eq!(r, 20);
}

#[test]
fn exec_file_runs_a_script() {
    let dir = std::env::temp_dir().join(format!("aio-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("helper.aio"), "def twice(x):\n    return x * 2\n").unwrap();
    std::fs::write(
        dir.join("main.aio"),
        "import helper\nresult = helper.twice(21)\nprint(__file__.endswith('main.aio'))",
    )
    .unwrap();
    let mut e = engine();
    e.exec_file(dir.join("main.aio")).unwrap();
    assert_eq!(e.get::<i64>("result").unwrap(), 42);
    assert_eq!(e.take_stdout(), "True\n");
    assert!(matches!(e.exec_file(dir.join("nope.aio")), Err(Error::Host(_))));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- 2. conversions ----

#[test]
fn conversions_round_trip() {
    let mut e = engine();
    fn rt<T: ToValue + FromValue + Clone + PartialEq + std::fmt::Debug>(e: &mut Engine, v: T) {
        e.set("v", v.clone()).unwrap();
        assert_eq!(e.get::<T>("v").unwrap(), v);
    }
    rt(&mut e, 42i64);
    rt(&mut e, -7i8);
    rt(&mut e, u64::MAX);
    rt(&mut e, i128::MIN);
    rt(&mut e, 2.5f64);
    rt(&mut e, true);
    rt(&mut e, "héllo".to_string());
    rt(&mut e, 'x');
    rt(&mut e, vec![1i64, 2, 3]);
    rt(&mut e, vec![vec!["a".to_string()], vec![]]);
    rt(&mut e, Some(3i64));
    rt(&mut e, None::<i64>);
    rt(&mut e, (1i64, "two".to_string(), 3.0f64));
    rt(&mut e, ());
    rt(&mut e, Bytes(vec![0, 1, 255]));
    rt(&mut e, BTreeMap::from([("a".to_string(), 1i64), ("b".to_string(), 2)]));
    let m: HashMap<String, Vec<i64>> = HashMap::from([("k".into(), vec![1, 2])]);
    rt(&mut e, m);
    rt(&mut e, HashSet::from([1i64, 5, 9]));
    // Script-side types.
    assert_eq!(e.eval::<String>("type(v).__name__").unwrap(), "set");
    e.set("b", Bytes(b"ab".to_vec())).unwrap();
    assert_eq!(e.eval::<String>("repr(b)").unwrap(), "b'ab'");
    e.set("t", (1i64, 2i64)).unwrap();
    assert_eq!(e.eval::<String>("repr(t)").unwrap(), "(1, 2)");
    e.set("n", u128::MAX).unwrap();
    assert_eq!(e.eval::<String>("str(n)").unwrap(), u128::MAX.to_string());
    // Lenient inputs: int for float, any iterable for Vec, list for a tuple.
    assert_eq!(e.eval::<f64>("3").unwrap(), 3.0);
    assert_eq!(e.eval::<Vec<i64>>("range(3)").unwrap(), [0, 1, 2]);
    assert_eq!(e.eval::<Vec<u8>>("b'AB'").unwrap(), [65, 66]);
    assert_eq!(e.eval::<(i64, i64)>("[1, 2]").unwrap(), (1, 2));
}

#[test]
fn conversion_failures_are_clear_errors() {
    let mut e = engine();
    let err = e.eval::<i64>("'x'").unwrap_err();
    assert_eq!(err.exception_type(), Some("TypeError"));
    assert_eq!(err.message(), Some("expected int, not str"));
    let err = e.eval::<u8>("300").unwrap_err();
    assert_eq!(err.exception_type(), Some("OverflowError"));
    let err = e.eval::<Vec<i64>>("'abc'").unwrap_err();
    assert_eq!(err.message(), Some("expected list[int], not str"));
    let err = e.eval::<(i64, i64)>("(1, 2, 3)").unwrap_err();
    assert_eq!(err.message(), Some("expected a tuple of 2 items, not 3"));
}

/// A host type with its own conversions.
#[derive(Debug, PartialEq, Clone)]
struct Rgb(u8, u8, u8);

impl ToValue for Rgb {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2).to_value(vm)
    }
}
impl FromValue for Rgb {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let s = String::from_value(v, vm)?;
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6).ok_or_else(|| Exc::value_error("bad colour"))?;
        let p = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| Exc::value_error("bad colour"));
        Ok(Rgb(p(0)?, p(2)?, p(4)?))
    }
    fn type_desc() -> String {
        "colour".into()
    }
}

#[test]
fn host_types_implement_the_traits() {
    let mut e = engine();
    e.register_fn("brighten", |c: Rgb| Rgb(c.0.saturating_add(16), c.1, c.2));
    assert_eq!(e.eval::<Rgb>("brighten('#102030')").unwrap(), Rgb(0x20, 0x20, 0x30));
    let err = e.eval::<Rgb>("brighten('red')").unwrap_err();
    assert_eq!(err.exception_type(), Some("ValueError"));
    assert_eq!(err.message(), Some("brighten() argument 1: bad colour"));
    let err = e.eval::<Rgb>("brighten(3)").unwrap_err();
    assert_eq!(err.message(), Some("brighten() argument 1 must be colour, not int"));
}

// ---- 3. host functions ----

#[test]
fn host_functions_check_count_and_types() {
    let mut e = engine();
    e.register_fn("add", |a: i64, b: i64| a + b);
    e.register_fn("nothing", || ());
    e.register_fn("opt", |a: i64, b: Option<i64>| a + b.unwrap_or(100));
    e.register_fn("fails", |x: i64| -> Result<i64, Exc> { Err(Exc::value_error(format!("no {x}"))) });
    e.register_fn("with_vm", |vm: &mut Vm, f: Value, x: i64| -> Res<Value> { vm.call(&f, vec![Value::Int(x)]) });
    assert_eq!(e.eval::<i64>("add(2, 3)").unwrap(), 5);
    assert_eq!(e.eval::<i64>("opt(1)").unwrap(), 101);
    assert_eq!(e.eval::<i64>("opt(1, 2)").unwrap(), 3);
    assert_eq!(e.eval::<i64>("with_vm(lambda n: n * 3, 5)").unwrap(), 15);
    assert!(e.eval::<bool>("callable(add) and nothing() is None").unwrap());
    assert_eq!(e.eval::<String>("repr(add)").unwrap(), "<built-in function add>");
    let cases = [
        ("add(1)", "TypeError", "add() takes exactly 2 arguments (1 given)"),
        ("add(1, 2, 3)", "TypeError", "add() takes exactly 2 arguments (3 given)"),
        ("add(1, 'x')", "TypeError", "add() argument 2 must be int, not str"),
        ("add(1, b=2)", "TypeError", "add() takes no keyword arguments"),
        ("nothing(1)", "TypeError", "nothing() takes no arguments (1 given)"),
        ("opt()", "TypeError", "opt() takes at least 1 argument (0 given)"),
        ("opt(1, 2, 3)", "TypeError", "opt() takes at most 2 arguments (3 given)"),
        ("fails(4)", "ValueError", "no 4"),
    ];
    for (src, ty, msg) in cases {
        let err = e.eval::<Value>(src).err().expect("an error");
        assert_eq!((err.exception_type(), err.message()), (Some(ty), Some(msg)), "{src}");
    }
    // The script can catch them like any exception.
    e.exec("try:\n    add('a', 'b')\nexcept TypeError as ex:\n    caught = str(ex)").unwrap();
    assert_eq!(e.get::<String>("caught").unwrap(), "add() argument 1 must be int, not str");
}

#[test]
fn a_panicking_host_function_is_a_runtime_error() {
    let mut e = engine();
    e.register_fn("boom", |x: i64| -> i64 {
        if x > 0 {
            panic!("host bug {x}");
        }
        x
    });
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let err = e.eval::<i64>("boom(1)").unwrap_err();
    std::panic::set_hook(prev);
    assert_eq!(err.exception_type(), Some("RuntimeError"));
    assert_eq!(err.message(), Some("host function boom() panicked: host bug 1"));
    assert_eq!(e.eval::<i64>("boom(0)").unwrap(), 0);
}

// ---- 4. modules and classes ----

struct Account {
    owner: String,
    balance: i64,
}

fn account_class() -> ClassBuilder<Account> {
    ClassBuilder::<Account>::new("Account")
        .try_constructor(|owner: String, balance: Option<i64>| {
            let balance = balance.unwrap_or(0);
            if balance < 0 {
                return Err(Exc::value_error("negative opening balance"));
            }
            Ok(Account { owner, balance })
        })
        .method("deposit", |a: &mut Account, n: i64| {
            a.balance += n;
            a.balance
        })
        .method("__repr__", |a: &mut Account| format!("Account({:?}, {})", a.owner, a.balance))
        .method("__len__", |a: &mut Account| a.owner.len())
        .method("__eq__", |_a: &mut Account, other: Value| match &other {
            Value::Other(_) => Value::Bool(false),
            _ => Value::NotImplemented,
        })
        .getter("owner", |a: &Account| a.owner.clone())
        .getter("balance", |a: &Account| a.balance)
        .setter("balance", |a: &mut Account, v: i64| a.balance = v)
        .static_fn("empty", |owner: String| New(Account { owner, balance: 0 }))
        .constant("CURRENCY", "EUR")
}

#[test]
fn native_modules_and_classes() {
    let mut e = engine();
    let m = ModuleBuilder::new("bank")
        .class(account_class())
        .function("total", |accounts: Vec<Object<Account>>| accounts.iter().map(|a| a.borrow().balance).sum::<i64>())
        .value("LIMIT", 1000)
        .source("def open_two(name):\n    return [Account(name, 10), Account.empty(name)]\n");
    e.register_module(m).unwrap();
    e.exec(&py(r#"
        import bank
        from bank import Account
        a = Account('ada', 5)
        a.deposit(10)
        a.balance += 1
        accounts = bank.open_two('bob') + [a]
    "#))
        .unwrap();
    assert_eq!(e.eval::<i64>("bank.total(accounts)").unwrap(), 26);
    assert_eq!(e.eval::<String>("repr(a)").unwrap(), "Account(\"ada\", 16)");
    assert_eq!(e.eval::<i64>("len(a)").unwrap(), 3);
    assert!(e.eval::<bool>("isinstance(a, Account) and type(a) is bank.Account").unwrap());
    assert_eq!(e.eval::<String>("Account.CURRENCY + str(bank.LIMIT)").unwrap(), "EUR1000");
    assert_eq!(e.eval::<String>("repr(Account)").unwrap(), "<class 'bank.Account'>");
    assert!(!e.eval::<bool>("a == 3").unwrap());
    let cases = [
        ("Account('x', -1)", "ValueError", "negative opening balance"),
        ("Account()", "TypeError", "Account() takes at least 1 argument (0 given)"),
        ("a.owner = 'eve'", "AttributeError", "property 'owner' of 'Account' object has no setter"),
        ("a.nope", "AttributeError", "'Account' object has no attribute 'nope'"),
        ("a.deposit('x')", "TypeError", "deposit() argument 1 must be int, not str"),
        ("bank.total([1])", "TypeError", "total() argument 1 (list[Account]): expected Account, not int"),
        ("Account.deposit(3, 4)", "TypeError", "descriptor 'deposit' needs a Account object, got int"),
    ];
    for (src, ty, msg) in cases {
        let err = e.exec(src).unwrap_err();
        assert_eq!((err.exception_type(), err.message()), (Some(ty), Some(msg)), "{src}");
    }
    // Rust sees the same object.
    let a: Object<Account> = e.get("a").unwrap();
    a.borrow_mut().balance = 99;
    assert_eq!(e.eval::<i64>("a.balance").unwrap(), 99);
    // A class without a constructor cannot be instantiated by scripts.
    e.register_class(ClassBuilder::<u32>::new("Token")).unwrap();
    let err = e.exec("Token()").unwrap_err();
    assert_eq!(err.message(), Some("cannot create 'Token' instances"));
    // Subclassing is refused, not mishandled.
    let err = e.exec("class Mine(Account):\n    pass\nMine('x')").unwrap_err();
    assert_eq!(err.message(), Some("host class 'Account' cannot be subclassed"));
    // Registering the same Rust type twice is an error.
    assert!(e.register_class(account_class()).is_err());
}

// ---- 5. async host functions ----

#[test]
fn async_host_functions_are_awaited() {
    let mut e = engine();
    e.register_async_fn("later", |x: i64, ms: u64| {
        aio::embed::thread_future(move || {
            std::thread::sleep(Duration::from_millis(ms));
            x * 10
        })
    });
    e.register_async_fn("ready", |x: i64| async move { x + 1 });
    e.register_async_fn("broken", |_x: i64| async move { Err::<i64, _>(Exc::new(ExcKind::KeyError, "gone")) });
    e.exec(&py(r#"
        import asyncio
        async def main():
            a, b = await asyncio.gather(later(1, 30), later(2, 10))
            try:
                await broken(0)
            except KeyError as k:
                err = repr(k)
            return [a, b, await ready(41), err]
    "#))
        .unwrap();
    let t0 = Instant::now();
    let r: (i64, i64, i64, String) = e.call_async("main", ()).unwrap();
    assert_eq!(r, (10, 20, 42, "KeyError('gone')".to_string()));
    // Concurrent: both waits overlap.
    assert!(t0.elapsed() < Duration::from_millis(1000));
}

#[test]
fn cancelled_host_futures_are_dropped() {
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = dropped.clone();
    let mut e = engine();
    e.register_async_fn("never", move || {
        let flag = Flag(d.clone());
        std::future::poll_fn(move |_cx| {
            let _keep = &flag;
            std::task::Poll::<i64>::Pending
        })
    });
    e.exec(&py(r#"
        import asyncio
        async def main():
            try:
                await asyncio.wait_for(never(), 0.02)
            except asyncio.TimeoutError:
                return 'timeout'
    "#))
        .unwrap();
    assert_eq!(e.call_async::<String>("main", ()).unwrap(), "timeout");
    e.run_until_idle().unwrap();
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    assert!(e.loop_status().is_idle());
}

#[test]
fn a_future_completed_from_another_thread() {
    let mut e = engine();
    let (fut, done) = e.new_future().unwrap();
    e.set("fut", fut).unwrap();
    e.exec("async def main():\n    return (await fut) + ['!']").unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        done.complete(vec!["from", "thread"]);
    });
    let r: Vec<String> = e.call_async("main", ()).unwrap();
    t.join().unwrap();
    assert_eq!(r, ["from", "thread", "!"]);
    // A failing completer, and a dropped one.
    let (f1, c1) = e.new_future().unwrap();
    let (f2, c2) = e.new_future().unwrap();
    e.set("f1", f1).unwrap();
    e.set("f2", f2).unwrap();
    std::thread::spawn(move || c1.fail(ExcKind::ValueError, "bad input")).join().unwrap();
    drop(c2);
    e.exec(&py(r#"
        async def both():
            out = []
            for f in (f1, f2):
                try:
                    await f
                except Exception as ex:
                    out.append(f'{type(ex).__name__}: {ex}')
            return out
    "#))
        .unwrap();
    let r: Vec<String> = e.call_async("both", ()).unwrap();
    assert_eq!(r, ["ValueError: bad input", "RuntimeError: the host dropped the future without completing it"]);
}

// ---- 6. the host keeps control ----

#[test]
fn drive_the_loop_a_step_or_a_slice_at_a_time() {
    let mut e = engine();
    e.exec(&py(r#"
        import asyncio
        ticks = []
        async def ticker(n):
            for i in range(n):
                ticks.append(i)
                await asyncio.sleep(0.01)
            return 'done'
    "#))
        .unwrap();
    let task = e.spawn("ticker", (5,)).unwrap();
    assert_eq!(e.get::<Vec<i64>>("ticks").unwrap(), Vec::<i64>::new());
    let st = e.step().unwrap();
    assert_eq!(e.get::<Vec<i64>>("ticks").unwrap(), [0]);
    assert!(!st.is_idle() && st.next_timer.is_some() && st.tasks == 1);
    // Frames of a game loop: a 5 ms slice each until the task is done.
    let mut frames = 0;
    while !task.is_done() {
        e.run_for(Duration::from_millis(5)).unwrap();
        frames += 1;
        assert!(frames < 1000);
    }
    assert!(frames >= 2);
    assert_eq!(e.run_until_complete::<String>(&task).unwrap(), "done");
    assert_eq!(e.get::<Vec<i64>>("ticks").unwrap(), [0, 1, 2, 3, 4]);
    assert!(e.loop_status().is_idle());
    // run_until_idle finishes everything left.
    let t2 = e.spawn("ticker", (3,)).unwrap();
    e.run_until_idle().unwrap();
    assert!(t2.is_done());
}

#[test]
fn stop_from_another_thread() {
    let mut e = engine();
    let stop = e.stop_handle();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        stop.stop();
    });
    let err = e.exec("n = 0\nwhile True:\n    n += 1").unwrap_err();
    h.join().unwrap();
    assert_eq!(err.limit(), Some(Limit::Stopped));
    assert_eq!(err.exception_type(), Some("aio.LimitExceeded"));
    assert!(e.get::<i64>("n").unwrap() > 0);
    // A stop also ends a wait in the loop promptly.
    e.exec("import asyncio\nasync def sleepy():\n    await asyncio.sleep(30)").unwrap();
    let stop = e.stop_handle();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        stop.stop();
    });
    let t0 = Instant::now();
    let err = e.call_async::<()>("sleepy", ()).unwrap_err();
    h.join().unwrap();
    assert_eq!(err.limit(), Some(Limit::Stopped));
    assert!(t0.elapsed() < Duration::from_secs(5));
    // The engine carries on.
    assert_eq!(e.eval::<i64>("1 + 1").unwrap(), 2);
}

#[test]
fn output_goes_to_buffers_or_callbacks() {
    let mut e = engine();
    e.exec("import sys\nprint('out', 1)\nprint('err', file=sys.stderr)\nsys.stdout.write('w')").unwrap();
    assert_eq!(e.take_stdout(), "out 1\nw");
    assert_eq!(e.take_stderr(), "err\n");
    let err = e.exec("1/0").unwrap_err();
    assert!(err.to_string().ends_with("ZeroDivisionError: division by zero"));
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let g = got.clone();
    let mut e = Engine::builder().on_stdout(move |s| g.borrow_mut().push(s.to_string())).build();
    e.exec("for i in range(3):\n    print(i)").unwrap();
    assert_eq!(got.borrow().concat(), "0\n1\n2\n");
}

// ---- 7. sandbox and limits ----

#[test]
fn sandbox_switches() {
    let mut e = Engine::builder().sandboxed().capture_output().build();
    let denied = [
        ("open('x.txt', 'w')", "PermissionError"),
        ("import os\nos.listdir('.')", "PermissionError"),
        ("import os\nos.remove('x')", "PermissionError"),
        ("import os\nos.path.exists('/')", "PermissionError"),
        ("import os\nos.environ['HOME']", "PermissionError"),
        ("import os\nos.environ.get('HOME')", "PermissionError"),
        ("import os\nos.getenv('HOME')", "PermissionError"),
        ("import time\ntime.sleep(0.01)", "PermissionError"),
        ("import subprocess", "ModuleNotFoundError"),
        ("import socket", "ModuleNotFoundError"),
    ];
    for (src, ty) in denied {
        let err = e.exec(src).unwrap_err();
        assert_eq!(err.exception_type(), Some(ty), "{src}: {err}");
    }
    let err = e.exec("open('x')").unwrap_err();
    assert_eq!(err.message(), Some("open() is not allowed here (this sandbox has no file system access)"));
    // What needs no outside access still works.
    e.exec("import os, time, asyncio, math, json\nj = json.dumps({'a': os.path.join('x', 'y')})").unwrap();
    e.exec(
        "async def main():\n    await asyncio.sleep(0.001)\n    return time.monotonic() > 0\nok = asyncio.run(main())",
    )
    .unwrap();
    assert!(e.get::<bool>("ok").unwrap());
    // Each switch alone.
    let mut e = Engine::builder().allow_env(false).build();
    assert!(e.exec("open").is_ok());
    assert_eq!(e.exec("import os\nos.getenv('X')").unwrap_err().exception_type(), Some("PermissionError"));
    let mut e = Engine::builder().allow_sleep(false).build();
    assert_eq!(e.exec("import time\ntime.sleep(0)").unwrap_err().exception_type(), Some("PermissionError"));
    assert!(!Capabilities::none().allows(aio::embed::Capability::Sleep));
}

#[test]
fn instruction_budget() {
    let mut e = Engine::builder().instruction_budget(10_000).capture_output().build();
    let err = e.exec("while True:\n    pass").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Instructions));
    assert_eq!(err.message(), Some("instruction budget of 10000 exhausted"));
    assert!(err.to_string().contains("aio.LimitExceeded: instruction budget of 10000 exhausted"));
    // The budget is per call, and the VM is usable afterwards.
    e.exec("total = sum(range(1000))").unwrap();
    assert_eq!(e.get::<i64>("total").unwrap(), 499500);
    // Natives draining iterators count too.
    assert_eq!(e.exec("sum(range(10**12))").unwrap_err().limit(), Some(Limit::Instructions));
    // Recursion without loops counts.
    let err = e.exec("def f(n):\n    return 0 if n == 0 else f(n - 1) + f(n - 1)\nf(30)").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Instructions));
    // Catching the exception does not help: the limit is sticky.
    let err = e
        .exec(&py(r#"
            caught = 0
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    caught += 1
        "#))
        .unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Instructions));
    // Caught once at the trip, once more when the cleanup ticks ran out; then no more.
    assert_eq!(e.get::<i64>("caught").unwrap(), 2);
    // A script that swallows it and ends still reports the limit.
    let err = e.exec("try:\n    while True:\n        pass\nexcept BaseException:\n    pass").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Instructions));
}

#[test]
fn wall_clock_deadline() {
    let mut e = Engine::builder().deadline(Duration::from_millis(50)).build();
    let t0 = Instant::now();
    let err = e.exec("while True:\n    pass").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Deadline));
    assert!(t0.elapsed() < Duration::from_secs(2));
    // Waits are bounded too: the event loop and blocking sleeps.
    let t0 = Instant::now();
    let err = e.exec("import asyncio\nasyncio.run(asyncio.sleep(60))").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Deadline));
    let err = e.exec("import time\ntime.sleep(60)").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Deadline));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(e.eval::<i64>("6 * 7").unwrap(), 42);
}

/// The memory cases run in a child process under a 2 GiB address-space limit, so that a
/// regression fails the test instead of exhausting the machine.
#[test]
fn memory_limit() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" --ignored --exact memory_limit_cases --test-threads=1")
        .arg(&exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
#[ignore = "run by memory_limit in a child process"]
fn memory_limit_cases() {
    let mut e = Engine::builder().memory_limit(32 << 20).capture_output().build();
    let big = [
        "xs = []\nwhile True:\n    xs.append([0] * 100)",
        "s = 'x'\nwhile True:\n    s = s + s",
        "s = 'x' * 10**12",
        "xs = [0] * 10**11",
        "d = {}\ni = 0\nwhile True:\n    d[i] = str(i)\n    i += 1",
        "class Node:\n    def __init__(self, nxt):\n        self.nxt = nxt\nn = None\nwhile True:\n    n = Node(n)",
        "xs = list(range(10**10))",
        "b = bytearray(10**12)",
        "x = 7 ** (10**10)",
        "xs = []\ni = 0\nwhile True:\n    xs.append(i)\n    i += 1",
        "xs = [i for i in range(10**10)]",
        "xs = {i: None for i in range(10**10)}",
    ];
    for src in big {
        let t0 = Instant::now();
        let err = e.exec(src).unwrap_err();
        assert_eq!(err.limit(), Some(Limit::Memory), "{src}: {err}");
        assert!(t0.elapsed() < Duration::from_secs(20), "{src}");
        e.exec("xs = s = d = n = b = x = None").unwrap();
    }
    // Ordinary work below the cap runs, and memory is freed between runs.
    for _ in 0..5 {
        e.exec("xs = [str(i) for i in range(100000)]\nxs = None").unwrap();
    }
    assert!(e.memory_in_use() < 8 << 20);
}

#[test]
fn recursion_limit() {
    let mut e = Engine::builder().recursion_limit(50).capture_output().build();
    let err = e.exec("def f(n):\n    return f(n + 1)\nf(0)").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Recursion));
    assert_eq!(err.exception_type(), Some("RecursionError"));
    assert!(err.to_string().contains("[Previous line repeated"));
    // Scripts may catch it, lower the limit, not raise it.
    e.exec("import sys\ndef g(n):\n    return g(n + 1)\ntry:\n    g(0)\nexcept RecursionError:\n    ok = True")
        .unwrap();
    assert!(e.get::<bool>("ok").unwrap());
    e.exec("sys.setrecursionlimit(40)").unwrap();
    assert_eq!(e.exec("sys.setrecursionlimit(100000)").unwrap_err().exception_type(), Some("PermissionError"));
}

#[test]
fn task_limit() {
    let mut e = Engine::builder().max_tasks(20).capture_output().build();
    let err = e
        .exec(&py(r#"
            import asyncio
            async def forever():
                await asyncio.sleep(100)
            async def main():
                ts = []
                while True:
                    ts.append(asyncio.create_task(forever()))
            asyncio.run(main())
        "#))
        .unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Tasks), "{err}");
    // Finished tasks do not count.
    e.exec(&py(r#"
        async def quick(i):
            return i
        async def many():
            s = 0
            for i in range(200):
                s += await asyncio.create_task(quick(i))
            return s
        r = asyncio.run(many())
    "#))
        .unwrap();
    assert_eq!(e.get::<i64>("r").unwrap(), 19900);
}

#[test]
fn limits_can_change_between_calls() {
    let mut e = engine();
    e.exec("for i in range(100000):\n    pass").unwrap();
    e.set_limits(Limits { instructions: Some(1000), ..Limits::default() });
    assert_eq!(e.exec("for i in range(100000):\n    pass").unwrap_err().limit(), Some(Limit::Instructions));
    e.set_limits(Limits::default());
    e.exec("for i in range(100000):\n    pass").unwrap();
}

// ---- 8. several engines, errors ----

#[test]
fn several_engines_one_per_thread() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let mut e = Engine::builder().capture_output().build();
                e.register_fn("ident", move || i);
                e.exec("import asyncio\nasync def main():\n    await asyncio.sleep(0.01)\n    return ident() * 100")
                    .unwrap();
                let r: i64 = e.call_async("main", ()).unwrap();
                e.exec("print(sum(range(ident() * 1000)))").unwrap();
                (r, e.take_stdout())
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (r, out) = h.join().unwrap();
        assert_eq!(r, i as i64 * 100);
        assert_eq!(out, format!("{}\n", (0..i as i64 * 1000).sum::<i64>()));
    }
}

#[test]
fn several_engines_on_one_thread_are_independent() {
    let mut a = engine();
    let mut b = Engine::builder().instruction_budget(1000).build();
    a.exec("x = 'a'").unwrap();
    b.exec("x = 'b'").unwrap();
    assert_eq!(a.get::<String>("x").unwrap(), "a");
    assert_eq!(b.get::<String>("x").unwrap(), "b");
    assert!(b.exec("while True: pass").is_err());
    a.exec("for i in range(100000): pass").unwrap();
    a.exec("import asyncio\nasync def f():\n    await asyncio.sleep(0)\n    return 1").unwrap();
    b.exec("import asyncio\nasync def f():\n    return 2").unwrap();
    assert_eq!(a.call_async::<i64>("f", ()).unwrap(), 1);
    assert_eq!(b.call_async::<i64>("f", ()).unwrap(), 2);
}

#[test]
fn errors_render_like_the_cli() {
    let mut e = engine();
    let err = e.exec_named("def f(x):\n    return x[3]\n\nf([1])\n", "calc.aio").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Traceback (most recent call last):\n  File \"calc.aio\", line 4, in <module>\n    f([1])\n  \
         File \"calc.aio\", line 2, in f\n    return x[3]\n           ~^^^\nIndexError: list index out of range"
            .replace("\n           ~^^^", "")
    );
    let err = e.exec_named("x = (1,\n", "bad.aio").unwrap_err();
    assert!(matches!(err, Error::Syntax(_)));
    assert!(err.to_string().contains("bad.aio"), "{err}");
    let err = e.exec("raise SystemExit(3)").unwrap_err();
    assert_eq!(err, Error::Exit(3));
    let err = e.exec("class MyError(Exception):\n    pass\nraise MyError('mine')").unwrap_err();
    assert_eq!((err.exception_type(), err.message()), (Some("MyError"), Some("mine")));
    // Errors are Send + Sync + 'static, for anyhow-style use.
    fn assert_send<T: Send + Sync + 'static + std::error::Error>(_: &T) {}
    assert_send(&err);
}

#[test]
fn imports_under_the_file_system_switch() {
    let dir = std::env::temp_dir().join(format!("aio-embed-imports-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::write(dir.join("sibling.aio"), "X = 1\n").unwrap();
    std::fs::write(dir.join("plugins").join("util.aio"), "def twice(x):\n    return 2 * x\n").unwrap();
    std::fs::write(dir.join("main.aio"), "import util\nr = util.twice(21)\n").unwrap();
    // Without file system access the script's own directory is not searched, the host's
    // module path is.
    let mut e = Engine::builder().allow_fs(false).module_path(dir.join("plugins")).capture_output().build();
    e.exec_file(dir.join("main.aio")).unwrap();
    assert_eq!(e.get::<i64>("r").unwrap(), 42);
    let err = e.exec_named("import sibling", &dir.join("x.aio").to_string_lossy()).unwrap_err();
    assert_eq!(err.exception_type(), Some("ModuleNotFoundError"));
    // With it, the importing file's directory is searched, as by the aio command.
    let mut e = Engine::builder().capture_output().build();
    e.exec_named("import sibling\ny = sibling.X", &dir.join("x.aio").to_string_lossy()).unwrap();
    assert_eq!(e.get::<i64>("y").unwrap(), 1);
    // Source modules need no file at all.
    let mut e = Engine::builder().sandboxed().build();
    e.register_source_module("helpers", "def inc(x):\n    return x + 1\n").unwrap();
    e.exec("from helpers import inc").unwrap();
    assert_eq!(e.eval::<i64>("inc(41)").unwrap(), 42);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn host_futures_outlive_the_call_that_started_them() {
    let mut e = engine();
    e.register_async_fn("later", |x: i64| aio::embed::thread_future(move || x * 2));
    // Started by one call, awaited by another: the future lives on the engine's loop.
    e.exec("pending = later(21)").unwrap();
    e.exec("async def main():\n    return await pending").unwrap();
    assert_eq!(e.call_async::<i64>("main", ()).unwrap(), 42);
    assert!(e.loop_status().is_idle());
    // A host future that panics fails the awaiting script, not the host.
    e.register_async_fn("bad", || aio::embed::thread_future(|| -> i64 { panic!("worker died") }));
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    e.exec("async def fails():\n    return await bad()").unwrap();
    let err = e.call_async::<i64>("fails", ()).unwrap_err();
    std::panic::set_hook(prev);
    assert_eq!(err.exception_type(), Some("RuntimeError"));
    assert_eq!(err.message(), Some("host thread panicked: worker died"));
}

#[test]
fn a_limit_report_shows_where_the_script_was() {
    let mut e = Engine::builder().instruction_budget(5_000).capture_output().build();
    let err = e.exec_named("def spin():\n    while True:\n        pass\n\nspin()\n", "spin.aio").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Traceback (most recent call last):\n  File \"spin.aio\", line 5, in <module>\n    spin()\n  \
         File \"spin.aio\", line 2, in spin\n    while True:\naio.LimitExceeded: instruction budget of 5000 exhausted"
    );
    // Nothing leaks to stderr, and `finally` blocks ran.
    e.exec("log = []").unwrap();
    let err = e.exec("try:\n    while True:\n        pass\nfinally:\n    log.append('cleanup')").unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Instructions));
    assert_eq!(e.get::<Vec<String>>("log").unwrap(), ["cleanup"]);
    assert_eq!(e.take_stderr(), "");
}

// ---- dropping an engine ----

#[test]
fn dropping_an_engine_frees_its_module_cycles() {
    // A module's functions refer to the module and the module to its functions: CPython
    // clears module namespaces at finalisation, and a dropped engine must free them too.
    let mut e = engine();
    e.exec(&py(r#"
        def f():
            return 1
        class C:
            def m(self):
                return f()
        objs = [C() for _ in range(3)]
        objs.append(objs)
        def g():
            try:
                yield 1
            finally:
                objs.clear()
        it = g()
        next(it)
    "#))
        .unwrap();
    let f: Value = e.get("f").unwrap();
    let objs: Value = e.get("objs").unwrap();
    let (Value::Function(f), Value::List(objs)) = (f, objs) else { panic!("unexpected values") };
    let (wf, wobjs) = (std::rc::Rc::downgrade(&f), std::rc::Rc::downgrade(&objs));
    drop((f, objs));
    assert!(wf.upgrade().is_some());
    drop(e);
    assert!(wf.upgrade().is_none(), "the engine's function outlived it");
    assert!(wobjs.upgrade().is_none(), "the engine's list outlived it");
}
