//! aio inside a Rust program: every part of the embedding API in one tour.
//!
//! Run with `cargo run --example embed`; `docs/embedding.md` walks through the same steps.

use aio::embed::{ClassBuilder, Completer, ModuleBuilder, New, Object};
use aio::vm::{Exc, Res, Value, Vm};
use aio::{Engine, Error};
use std::time::{Duration, Instant};

fn main() -> Result<(), Error> {
    basics()?;
    values()?;
    host_functions()?;
    modules_and_classes()?;
    async_host()?;
    host_keeps_control()?;
    sandbox_and_limits()?;
    engines_on_threads();
    errors();
    Ok(())
}

fn section(title: &str) {
    println!("\n== {title}");
}

/// An engine, code in it, globals both ways, script functions called from Rust.
fn basics() -> Result<(), Error> {
    section("exec, eval, globals, calls");
    let mut engine = Engine::new();
    engine.exec(
        r#"
import asyncio

def area(w, h):
    return w * h

async def fetch(n):
    await asyncio.sleep(0.01)
    return [i * i for i in range(n)]
"#,
    )?;
    engine.set("width", 7)?;
    let a: i64 = engine.eval("area(width, 6)")?;
    let b: f64 = engine.call("area", (2.5, 4))?;
    let squares: Vec<u32> = engine.call_async("fetch", (5,))?;
    println!("area = {a}, {b}; squares = {squares:?}");
    Ok(())
}

/// A host type converted both ways through the two traits.
#[derive(Debug)]
struct Point {
    x: f64,
    y: f64,
}

impl aio::embed::ToValue for Point {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        (self.x, self.y).to_value(vm)
    }
}

impl aio::embed::FromValue for Point {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let (x, y) = <(f64, f64)>::from_value(v, vm)?;
        Ok(Point { x, y })
    }
    fn type_desc() -> String {
        "point (x, y)".into()
    }
}

fn values() -> Result<(), Error> {
    use std::collections::HashMap;
    section("conversions");
    let mut engine = Engine::new();
    let scores: HashMap<String, Vec<i64>> = HashMap::from([("ada".into(), vec![3, 5]), ("bob".into(), vec![4])]);
    engine.set("scores", scores)?;
    engine.set("origin", Point { x: 3.0, y: 4.0 })?;
    let best: (String, i64) = engine.eval("max(((k, sum(v)) for k, v in scores.items()), key=lambda kv: kv[1])")?;
    let moved: Point = engine.eval("(origin[0] + 1, origin[1] * 2)")?;
    let maybe: Option<String> = engine.eval("None")?;
    let raw: aio::embed::Bytes = engine.eval("'héllo'.encode()")?;
    println!("best = {best:?}, moved = {moved:?}, maybe = {maybe:?}, bytes = {:?}", raw.0);
    Ok(())
}

/// Rust closures as script functions; wrong calls are TypeErrors in the script.
fn host_functions() -> Result<(), Error> {
    section("host functions");
    let mut engine = Engine::builder().capture_output().build();
    engine.register_fn("hypot", |x: f64, y: f64| x.hypot(y));
    engine.register_fn("parse_port", |s: String| -> Result<u16, Exc> {
        s.parse().map_err(|_| Exc::value_error(format!("not a port: {s:?}")))
    });
    // A closure that calls back into the script gets the VM as its first argument.
    engine.register_fn("apply_twice", |vm: &mut Vm, f: Value, x: i64| -> Res<Value> {
        let once = vm.call(&f, vec![Value::Int(x)])?;
        vm.call(&f, vec![once])
    });
    engine.exec(
        r#"
print(hypot(3, 4), parse_port('8080'), apply_twice(lambda n: n * 10, 2))
for call in (lambda: hypot(1), lambda: hypot(1, 'x'), lambda: parse_port('http')):
    try:
        call()
    except (TypeError, ValueError) as e:
        print(type(e).__name__ + ':', e)
"#,
    )?;
    print!("{}", engine.take_stdout());
    Ok(())
}

/// A native module with a class wrapping Rust data.
struct Inventory {
    items: Vec<(String, u32)>,
}

fn modules_and_classes() -> Result<(), Error> {
    section("native modules and classes");
    let inventory = ClassBuilder::<Inventory>::new("Inventory")
        .constructor(|| Inventory { items: Vec::new() })
        .method("add", |inv: &mut Inventory, name: String, qty: Option<u32>| {
            inv.items.push((name, qty.unwrap_or(1)));
        })
        .method("__len__", |inv: &mut Inventory| inv.items.len())
        .method("__repr__", |inv: &mut Inventory| format!("<Inventory of {} kinds>", inv.items.len()))
        .getter("total", |inv: &Inventory| inv.items.iter().map(|(_, q)| q).sum::<u32>())
        .static_fn("starter", || New(Inventory { items: vec![("sword".into(), 1), ("potion".into(), 3)] }));
    let game = ModuleBuilder::new("game")
        .class(inventory)
        .function("roll", |sides: u32| 1 + (Instant::now().elapsed().subsec_nanos() % sides.max(1)))
        .value("VERSION", "1.0")
        .source("def describe(inv):\n    return f'{inv!r}: {inv.total} things'\n");
    let mut engine = Engine::new();
    engine.register_module(game)?;
    engine.exec("import game\ninv = game.Inventory.starter()\ninv.add('arrow', 20)\ntext = game.describe(inv)")?;
    let text: String = engine.get("text")?;
    let inv: Object<Inventory> = engine.get("inv")?;
    println!("{text}; Rust sees {} kinds, first {:?}", inv.borrow().items.len(), inv.borrow().items[0]);
    Ok(())
}

/// Async host functions and a future completed by another thread, on aio's own loop.
fn async_host() -> Result<(), Error> {
    section("async host functions");
    let mut engine = Engine::new();
    engine.register_async_fn("download", |url: String, ms: u64| {
        aio::embed::thread_future(move || {
            std::thread::sleep(Duration::from_millis(ms)); // blocking work on its own thread
            format!("<{} bytes from {url}>", url.len() * 100)
        })
    });
    let (answer, completer): (Value, Completer) = engine.new_future()?;
    engine.set("answer", answer)?;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        completer.complete(42);
    });
    engine.exec(
        r#"
import asyncio

async def main():
    pages = await asyncio.gather(download('a.example', 20), download('bb.example', 10))
    return pages + [await answer]
"#,
    )?;
    let t0 = Instant::now();
    let out: (String, String, i64) = engine.call_async("main", ())?;
    println!("{out:?} in {} ms (concurrently)", t0.elapsed().as_millis() / 10 * 10);
    Ok(())
}

/// A game loop drives the script a time slice per frame; a watchdog stops a runaway.
fn host_keeps_control() -> Result<(), Error> {
    section("the host keeps control");
    let mut engine = Engine::builder().on_stdout(|s| print!("  script says: {s}")).build();
    engine.exec(
        r#"
import asyncio

async def npc(name, steps):
    for i in range(steps):
        print(f'{name} step {i}')
        await asyncio.sleep(0.01)
    return name
"#,
    )?;
    let guard = engine.spawn("npc", ("guard", 3))?;
    let mut frames = 0;
    while !guard.is_done() {
        engine.run_for(Duration::from_millis(4))?; // one frame's budget for scripts
        frames += 1;
    }
    let who: String = engine.run_until_complete(&guard)?;
    println!("{who} finished after {frames} frames");

    let stop = engine.stop_handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        stop.stop();
    });
    let err = engine.exec("while True:\n    pass").unwrap_err();
    println!("runaway script: {:?} -> {}", err.limit(), err.message().unwrap_or(""));
    Ok(())
}

/// Sandbox switches and limits: each ends the script with an error the host can tell apart.
fn sandbox_and_limits() -> Result<(), Error> {
    section("sandbox and limits");
    let mut engine = Engine::builder()
        .sandboxed()
        .instruction_budget(2_000_000)
        .deadline(Duration::from_millis(500))
        .memory_limit(32 << 20)
        .recursion_limit(100)
        .max_tasks(50)
        .capture_output()
        .build();
    let attempts = [
        ("open a file", "open('/etc/passwd')"),
        ("read the environment", "import os\nos.environ['HOME']"),
        ("start a process", "import subprocess"),
        ("block the thread", "import time\ntime.sleep(1)"),
        ("loop forever", "while True:\n    pass"),
        ("allocate without end", "xs = []\nwhile True:\n    xs.append('x' * 1000)"),
        ("recurse without end", "def f():\n    return f()\nf()"),
        (
            "spawn without end",
            "import asyncio\nasync def w():\n    await asyncio.sleep(9)\nasync def m():\n    while True:\n        asyncio.create_task(w())\nasyncio.run(m())",
        ),
        ("wait too long", "import asyncio\nasyncio.run(asyncio.sleep(60))"),
    ];
    for (what, src) in attempts {
        let t0 = Instant::now();
        let outcome = match engine.exec(src) {
            Ok(()) => "allowed".to_string(),
            Err(Error::Limit { limit, error }) => format!("{limit:?} limit: {}", error.message),
            Err(e) => format!("{}: {}", e.exception_type().unwrap_or("?"), e.message().unwrap_or("")),
        };
        let ms = t0.elapsed().as_millis();
        println!("{what:22} -> {outcome} ({})", if ms < 1000 { "under a second" } else { "slow!" });
        engine.exec("xs = None")?;
    }
    // The engine is still usable.
    let ok: i64 = engine.eval("sum(range(100))")?;
    println!("and afterwards: sum(range(100)) = {ok}");
    Ok(())
}

/// One engine per thread.
fn engines_on_threads() {
    section("several engines, one per thread");
    let handles: Vec<_> = (1..=3)
        .map(|id| {
            std::thread::spawn(move || {
                let mut engine = Engine::new();
                engine.set("id", id).unwrap();
                engine.eval::<String>("f'engine {id}: {sum(range(id * 1000))}'").unwrap()
            })
        })
        .collect();
    for h in handles {
        println!("{}", h.join().unwrap());
    }
}

/// Errors print as the `aio` command prints them.
fn errors() {
    section("errors");
    let mut engine = Engine::new();
    let err = engine.exec_named("def ratio(a, b):\n    return a / b\n\nratio(1, 0)\n", "calc.aio").unwrap_err();
    println!("{err}");
    let err = engine.exec_named("if True\n    pass\n", "typo.aio").unwrap_err();
    println!("{err}");
    let err = engine.exec("raise SystemExit(3)").unwrap_err();
    println!("{err} (Error::Exit(3): {})", err == Error::Exit(3));
}
