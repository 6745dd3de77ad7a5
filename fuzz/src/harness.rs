//! The entry points the fuzz targets drive, shared (through `#[path]`) with
//! `tests/fuzz_regressions.rs`, which replays every saved input through the same code.
//!
//! Only `aio` and `std` are used here, so the file compiles in both crates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The interpreter thread's stack, as in `src/main.rs`: deeply nested programs recurse in the
/// parser and compiler, and the binary gives them this much room, so the fuzzers do too (a
/// smaller stack would report overflows no user can hit).
pub const STACK_SIZE: usize = 512 * 1024 * 1024;

/// How long a fuzzed program may run before the watchdog interrupts it.
pub const RUN_LIMIT: Duration = Duration::from_millis(1000);

/// The resident memory past which the watchdog interrupts a fuzzed program (a list doubled
/// in a loop would otherwise reach libFuzzer's RSS limit, which is no bug of aio's).
const RSS_LIMIT: u64 = 1 << 30;

/// The file name fuzzed sources are given in tracebacks and syntax errors.
const FILENAME: &str = "<fuzz>";

/// Runs `f` on a thread with the binary's stack size and returns its result; a panic in `f`
/// is resumed on the caller's thread (so libFuzzer and the test harness both see it).
pub fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new().stack_size(STACK_SIZE).spawn_scoped(s, f).expect("spawn fuzz thread");
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// The front end on any text: every parser entry point, and the rendering of each syntax
/// error as the CLI prints it (spans must land on character boundaries).
pub fn front_end(src: &str) {
    match aio::parser::parse_module(src) {
        Ok(m) => drop(m),
        Err(e) => drop(aio::diagnostics::render(&e, FILENAME, src, false)),
    }
    if let Err(errs) = aio::parser::parse_module_all(src) {
        for e in errs {
            drop(aio::diagnostics::render(&e, FILENAME, src, true));
        }
    }
    if let Err((e, _)) = aio::parser::parse_input(src) {
        drop(aio::diagnostics::render(&e, FILENAME, src, false));
    }
    if let Err(e) = aio::parser::parse_expression(src) {
        drop(aio::diagnostics::render(&e, FILENAME, src, false));
    }
}

/// The compiler on any text that parses, in the three modes (module, REPL input, REPL input
/// with top-level `await`), with the disassembler over every code object produced.
pub fn compile(src: &str) {
    let Ok(m) = aio::parser::parse_module(src) else { return };
    let compilers: [fn(&aio::ast::Module, &str, &str) -> _; 3] =
        [aio::compiler::compile_module, aio::compiler::compile_interactive, aio::compiler::compile_interactive_async];
    for compile in compilers {
        match compile(&m, FILENAME, src) {
            Ok(code) => drop(aio::bytecode::disassemble(&code)),
            Err(e) => drop(aio::diagnostics::render(&e, FILENAME, src, false)),
        }
    }
}

/// Milliseconds since [`epoch`] at which the watchdog interrupts the running program; 0 when
/// nothing runs.
static DEADLINE: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64 + 1
}

/// The process's resident memory in bytes (0 where `/proc` is missing).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// Starts (once) the watchdog thread: past the deadline, or past [`RSS_LIMIT`], it sets
/// `aio::vm::INTERRUPT` — the Ctrl-C flag the VM polls at backward jumps, calls,
/// `time.sleep` and event-loop waits — and keeps setting it every few milliseconds until
/// the run ends, so that a `finally` block that loops again is interrupted too. The
/// program sees `KeyboardInterrupt`, which the generated programs never catch.
fn watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        epoch();
        std::thread::Builder::new()
            .name("aio-fuzz-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_millis(5));
                let d = DEADLINE.load(Ordering::Relaxed);
                if d != 0 && (now_ms() >= d || rss() > RSS_LIMIT) {
                    aio::vm::INTERRUPT.store(true, Ordering::Relaxed);
                }
            })
            .expect("spawn watchdog");
    });
}

/// How a sandboxed run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The source did not parse or compile (the error was rendered).
    SyntaxError,
    /// The program ran; the outcome the CLI would turn into an exit status.
    Ran(aio::Outcome),
}

/// Runs `src` as `__main__` in a fresh, sandboxed engine, interrupted after `limit`: no
/// file system (`open`, `os`, imports of script files), no stdin (`input`), output
/// discarded. Must be called on a big stack (see [`on_big_stack`]).
pub fn run(src: &str, limit: Duration) -> RunEnd {
    watchdog();
    let mut engine = aio::Engine::new();
    engine.vm.native_modules.remove("os");
    engine.vm.native_modules.remove("os.path");
    engine.vm.search_path.clear();
    for name in ["open", "input"] {
        engine.vm.builtins.remove(aio::vm::Sym::new(name));
    }
    let sink: std::rc::Rc<dyn Fn(&str)> = std::rc::Rc::new(|_: &str| {});
    engine.vm.stdout = aio::vm::Output::Callback(sink.clone());
    engine.vm.stderr = aio::vm::Output::Callback(sink);
    if let Err(e) = aio::parser::parse_module(src) {
        drop(aio::diagnostics::render(&e, FILENAME, src, false));
        return RunEnd::SyntaxError;
    }
    aio::vm::INTERRUPT.store(false, Ordering::Relaxed);
    DEADLINE.store(now_ms() + limit.as_millis() as u64, Ordering::Relaxed);
    let outcome = engine.run_main(src, FILENAME);
    DEADLINE.store(0, Ordering::Relaxed);
    break_cycles(&engine);
    drop(engine);
    aio::vm::INTERRUPT.store(false, Ordering::Relaxed);
    RunEnd::Ran(outcome)
}

/// Empties every module's namespace and the dicts of the classes found there. aio does
/// not collect reference cycles yet (a function and its module's globals, a class and its
/// methods), so without this each run would leak its whole engine and the fuzzer would
/// soon stop at its RSS limit.
fn break_cycles(engine: &aio::Engine) {
    let modules: Vec<aio::vm::Value> = engine.vm.modules.d.borrow().values();
    for m in modules {
        let aio::vm::Value::Module(m) = m else { continue };
        let globals: Vec<aio::vm::Value> = m.dict.borrow_mut().drain().map(|(_, v)| v).collect();
        for v in &globals {
            if let aio::vm::Value::Class(c) = v {
                let attrs: Vec<aio::vm::Value> = c.dict.borrow_mut().drain().map(|(_, v)| v).collect();
                drop(attrs);
            }
        }
        drop(globals);
    }
}

/// Whether a mutated program could keep running past the watchdog: it may catch
/// `KeyboardInterrupt` (a bare `except:`, `BaseException`, `KeyboardInterrupt` itself) or
/// swallow it in an `__exit__`. The raw-text target skips such inputs; the generator never
/// produces them.
pub fn may_swallow_interrupt(src: &str) -> bool {
    if src.contains("BaseException") || src.contains("KeyboardInterrupt") || src.contains("__exit__") {
        return true;
    }
    let mut rest = src;
    while let Some(i) = rest.find("except") {
        rest = &rest[i + "except".len()..];
        let after = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\\' || c == '*');
        if after.starts_with(':') {
            return true;
        }
    }
    false
}
