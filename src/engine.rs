//! The embedding facade: a VM plus the conveniences a host or the CLI needs. The CLI and
//! the REPL use the methods here; the embedding API (`exec`, `eval`, `call`, host
//! functions and classes, loop driving, limits) is in [`crate::embed`].

use crate::asyncio::event_loop::EventLoop;
use crate::vm::value::{ns_get, ns_set, Module, Value};
use crate::vm::INTERRUPT;
use crate::vm::{Exc, ExcKind, Sym, Vm};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How a script run ended, for the CLI's exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Finished normally.
    Ok,
    /// Ended with an uncaught exception (already printed) or `SystemExit(n)`: the exit status.
    Exit(i32),
}

/// An interpreter instance: a VM with the standard modules, its own event loop, and the
/// embedding API of [`crate::embed`].
///
/// ```
/// let mut engine = aio::Engine::new();
/// engine.exec("def greet(name):\n    return f'hello, {name}'").unwrap();
/// let s: String = engine.call("greet", ("ada",)).unwrap();
/// assert_eq!(s, "hello, ada");
/// ```
pub struct Engine {
    /// The VM.
    pub vm: Vm,
    /// The engine's event loop (created on first use): inputs that `await` at the REPL run
    /// on it, and so do the embedding API's tasks; tasks created on it live between calls.
    host_loop: Option<Rc<EventLoop>>,
    /// Set when a run ended with an uncaught `KeyboardInterrupt`: CPython then ends by
    /// SIGINT (a shell shows status 130), which the CLI does too.
    pub uncaught_interrupt: bool,
    /// The stdout and stderr buffers of [`crate::embed::Builder::capture_output`].
    pub(crate) captured: Option<(Rc<std::cell::RefCell<Vec<u8>>>, Rc<std::cell::RefCell<Vec<u8>>>)>,
}

/// How one piece of interactive input ended (see [`Engine::run_interactive`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Interactive {
    /// It ran to the end (echoed values are already written).
    Ok,
    /// It did not parse or compile; the report, rendered against the input, is already written
    /// to stderr.
    SyntaxError,
    /// It raised; the traceback is already written to stderr. The session goes on.
    Raised,
    /// It raised `SystemExit`: the session should end with this status.
    Exit(i32),
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// A fresh interpreter with the standard modules available, no sandbox and no limits
    /// (`Engine::builder().build()`).
    pub fn new() -> Engine {
        crate::embed::Builder::new().build()
    }

    /// A builder for an engine with options (sandbox, limits, output capture).
    pub fn builder() -> crate::embed::Builder {
        crate::embed::Builder::new()
    }

    /// The VM with the standard modules, before any option is applied.
    pub(crate) fn bare() -> Engine {
        let mut vm = Vm::new();
        crate::modules::install(&mut vm);
        crate::vm::value::bump_class_epoch();
        Engine { vm, host_loop: None, uncaught_interrupt: false, captured: None }
    }

    /// Runs a source string as the `__main__` module, printing any uncaught exception.
    pub fn run_main(&mut self, source: &str, filename: &str) -> Outcome {
        let module = Rc::new(Module::new("__main__", filename));
        module.set(crate::vm::Sym::new("__file__"), Value::str(filename));
        ns_set(&self.vm.modules, Sym::new("__main__"), Value::Module(module.clone()));
        self.vm.register_source(filename, source);
        let r = self.vm.exec_source(source, filename, module);
        self.vm.run_finalizers();
        let out = match r {
            Ok(_) => Outcome::Ok,
            Err(e) => self.report(e),
        };
        self.vm.flush_stdout();
        if let Some(e) = self.vm.take_stdout_error() {
            // As CPython's final flush of a closed pipe: reported, status 120.
            let exc = crate::modules::os::os_error(&mut self.vm, &e, None, None);
            let inst = self.vm.materialize(exc);
            let msg = self.vm.str_of(&Value::Instance(inst.clone())).unwrap_or_default();
            let last = format!("{}: {msg}", inst.class.name);
            self.vm.write_stderr(&format!(
                "Exception ignored in: <_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>\n{last}\n"
            ));
            if out == Outcome::Ok {
                return Outcome::Exit(120);
            }
        }
        out
    }

    /// Runs a file as `__main__`.
    pub fn run_file(&mut self, path: &Path, source: &str) -> Outcome {
        let name = path.to_string_lossy().to_string();
        if let Some(dir) = path.parent() {
            let d = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            self.vm.search_path.insert(0, d.to_path_buf());
        }
        self.run_main(source, &name)
    }

    /// Prints an uncaught exception as Python does and returns the exit status.
    pub fn report(&mut self, e: Exc) -> Outcome {
        let inst = self.vm.materialize(e);
        if inst.class.is_subclass(self.vm.exc_class(ExcKind::SystemExit)) {
            let code = inst.get_attr(self.vm.syms.code).unwrap_or(Value::None);
            return match code {
                Value::None => Outcome::Exit(0),
                Value::Int(n) => Outcome::Exit(n as i32),
                Value::Bool(b) => Outcome::Exit(b as i32),
                other => {
                    let s = self.vm.str_of(&other).unwrap_or_default();
                    self.vm.write_stderr(&format!("{s}\n"));
                    Outcome::Exit(1)
                }
            };
        }
        let text = crate::traceback::format_exception(&mut self.vm, &inst);
        self.vm.write_stderr(&text);
        if inst.class.is_subclass(self.vm.exc_class(ExcKind::KeyboardInterrupt)) {
            self.uncaught_interrupt = true;
            return Outcome::Exit(130);
        }
        Outcome::Exit(1)
    }

    /// The `__main__` module, created empty (with `__name__` and `__file__`) if no script
    /// has run yet. Its globals are the REPL's namespace.
    pub fn main_module(&mut self, filename: &str) -> Rc<Module> {
        if let Some(Value::Module(m)) = ns_get(&self.vm.modules, Sym::new("__main__")) {
            return m;
        }
        let module = Rc::new(Module::new("__main__", filename));
        ns_set(&self.vm.modules, Sym::new("__main__"), Value::Module(module.clone()));
        module
    }

    /// Parses, compiles (in interactive mode: expression statements echo their `repr` and
    /// bind `_`) and runs one piece of REPL input in `globals`. Errors are written to stderr:
    /// syntax errors rendered against `source` (named `filename`), exceptions as tracebacks.
    ///
    /// Input that uses `await`, `async for` or `async with` at top level (an error in a
    /// module) is recompiled as a coroutine body with module scope
    /// ([`crate::compiler::compile_interactive_async`], CPython's
    /// `PyCF_ALLOW_TOP_LEVEL_AWAIT`) and run to completion as a task on the session's host
    /// loop, which also runs the tasks created by earlier inputs.
    pub fn run_interactive(&mut self, source: &str, filename: &str, globals: &Rc<Module>, color: bool) -> Interactive {
        let host = self.host_loop();
        let ast = match crate::parser::parse_module(source) {
            Ok(ast) => ast,
            Err(e) => return self.syntax_error(&e, filename, source, color),
        };
        let (code, awaits) = match crate::compiler::compile_interactive(&ast, filename, source) {
            Ok(code) => (code, false),
            // Only `await` and friends compile differently in the async mode, so its error
            // (if any) is the input's first real error.
            Err(_) => match crate::compiler::compile_interactive_async(&ast, filename, source) {
                Ok(code) => (code, true),
                Err(e) => return self.syntax_error(&e, filename, source, color),
            },
        };
        INTERRUPT.store(false, Ordering::Relaxed);
        let r = if awaits {
            let coro = self.vm.module_coroutine(code, globals.clone());
            self.run_on_host(&host, coro)
        } else {
            self.vm.run_module_code(code, globals.clone())
        };
        self.vm.run_finalizers();
        let out = self.interactive_outcome(r);
        INTERRUPT.store(false, Ordering::Relaxed);
        out
    }

    /// Runs, without waiting, the host loop's ready callbacks and due timers (the tasks
    /// started at the prompt), as the REPL does before each prompt. An exception that escapes
    /// the loop (`KeyboardInterrupt`, `SystemExit`) is reported as for an input.
    pub fn run_background(&mut self) -> Interactive {
        let Some(host) = self.host_loop.clone() else { return Interactive::Ok };
        INTERRUPT.store(false, Ordering::Relaxed);
        let r = host.run_ready(&mut self.vm, 10_000);
        self.vm.run_finalizers();
        let out = self.interactive_outcome(r.map(|_| Value::None));
        INTERRUPT.store(false, Ordering::Relaxed);
        out
    }

    /// How long the REPL may wait for input before the host loop has work to run (see
    /// [`EventLoop::next_wakeup`]), at most `cap`; `None` when there is no host loop, so
    /// nothing runs in the background.
    pub fn background_wakeup(&self, cap: std::time::Duration) -> Option<std::time::Duration> {
        let lp = self.host_loop.as_ref().filter(|lp| !lp.closed.get())?;
        Some(lp.next_wakeup().map_or(cap, |d| d.min(cap)))
    }

    /// The session's host loop, created on first use (and again if a script closed it).
    pub(crate) fn host_loop(&mut self) -> Rc<EventLoop> {
        let lp = self.own_loop();
        crate::asyncio::set_host_loop(Some(lp.clone()));
        lp
    }

    /// The engine's loop, created on first use, without making it the thread's host loop.
    pub(crate) fn own_loop(&mut self) -> Rc<EventLoop> {
        match &self.host_loop {
            Some(lp) if !lp.closed.get() => lp.clone(),
            _ => {
                let lp = EventLoop::new();
                self.host_loop = Some(lp.clone());
                lp
            }
        }
    }

    /// Runs a coroutine as a task on the host loop until it finishes. If it is interrupted
    /// (Ctrl-C while the loop waits), the task is cancelled so that it does not go on in
    /// the background.
    pub(crate) fn run_on_host(&mut self, host: &Rc<EventLoop>, coro: Value) -> crate::vm::Res<Value> {
        let task = crate::asyncio::create_task(&mut self.vm, host, coro, None)?;
        let r = crate::asyncio::run_until_complete(&mut self.vm, host, crate::asyncio::future::future_value(&task));
        if r.is_err() && !task.done() {
            task.cancel(Value::None);
            let _ = host.run_ready(&mut self.vm, 100);
        }
        r
    }

    fn syntax_error(
        &mut self,
        e: &crate::diagnostics::SyntaxError,
        filename: &str,
        source: &str,
        color: bool,
    ) -> Interactive {
        let text = crate::diagnostics::render(e, filename, source, color);
        self.vm.write_stderr(&text);
        Interactive::SyntaxError
    }

    /// Reports how an input ended (traceback on stderr) and flushes stdout.
    fn interactive_outcome(&mut self, r: crate::vm::Res<Value>) -> Interactive {
        let out = match r {
            Ok(_) => Interactive::Ok,
            Err(e) => {
                let inst = self.vm.materialize(e);
                let exit = inst.class.is_subclass(self.vm.exc_class(ExcKind::SystemExit));
                match self.report(Exc::Obj(inst)) {
                    Outcome::Exit(n) if exit => Interactive::Exit(n),
                    _ => Interactive::Raised,
                }
            }
        };
        self.vm.flush_stdout();
        out
    }

    /// Makes SIGINT (Ctrl-C) ask the running code to stop with `KeyboardInterrupt` (it sets
    /// [`Engine::interrupt_flag`], which the VM polls at backward jumps and calls, and which
    /// `time.sleep` and the event loop's waits poll too) instead of ending the process. A
    /// second SIGINT while the first is still pending — the code is stuck in a blocking
    /// native call such as reading stdin — ends the process at once with status 130. The
    /// handler is process-wide; install it once, in a program's main interpreter.
    pub fn install_sigint_handler(&self) -> std::io::Result<()> {
        use signal_hook::consts::SIGINT;
        // Like CPython, leave SIGINT alone when it was ignored when we started (a background
        // job of a non-interactive shell).
        if crate::asyncio::signals::initially_ignored(SIGINT) {
            return Ok(());
        }
        // Registered first, so it sees the flag as it was before this signal sets it.
        signal_hook::flag::register_conditional_shutdown(SIGINT, 130, &INTERRUPT)?;
        signal_hook::flag::register(SIGINT, &INTERRUPT)?;
        // Also through the signals self-pipe, so that a waiting event loop wakes at once.
        crate::asyncio::signals::install(SIGINT)?;
        Ok(())
    }

    /// The flag that asks running code to stop with `KeyboardInterrupt`, for a host's
    /// SIGINT handler or watchdog thread to set (see [`Engine::install_sigint_handler`]).
    /// Raising `KeyboardInterrupt` clears it. It is one flag for the process (signals are
    /// per process): every engine running when it is set sees it.
    pub fn interrupt_flag(&self) -> &'static AtomicBool {
        &INTERRUPT
    }

    /// The names bound in a module's globals, sorted (for completion).
    pub fn global_names(&self, globals: &Module) -> Vec<String> {
        let mut names: Vec<String> = globals.dict.borrow().keys().map(|k| k.to_string_owned()).collect();
        names.sort();
        names
    }

    /// The names of the built-in functions, types and constants, sorted.
    pub fn builtin_names(&self) -> Vec<String> {
        self.global_names(&self.vm.builtins)
    }

    /// Looks a plain name up in `globals`, then in the builtins, without running any code.
    pub fn lookup_name(&self, globals: &Module, name: &str) -> Option<Value> {
        let sym = crate::vm::Sym::new(name);
        globals.get(sym).or_else(|| self.vm.builtins.get(sym))
    }

    /// The attribute names `dir(value)` lists, sorted, found without running any code
    /// (module members, instance attributes, and the names in the class and its MRO).
    pub fn attribute_names(&self, value: &Value) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        match value {
            Value::Module(m) => names.extend(m.dict.borrow().keys().map(|k| k.to_string_owned())),
            v => {
                let class = match v {
                    Value::Class(c) => c.clone(),
                    other => self.vm.class_of(other),
                };
                if let Value::Instance(i) = v {
                    names.extend(i.attr_keys().iter().filter_map(|k| match k {
                        Value::Str(s) => Some(s.as_str().to_string()),
                        _ => None,
                    }));
                }
                names.extend(class.dict.borrow().keys().map(|k| k.to_string_owned()));
                for c in &class.mro {
                    names.extend(c.dict.borrow().keys().map(|k| k.to_string_owned()));
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// The names `import` can find without running code: native and embedded modules,
    /// modules already imported, and `.aio` files in the search path, sorted.
    pub fn module_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.vm.native_modules.keys().map(|k| k.to_string()).collect();
        names.extend(crate::stdlib::names().map(str::to_string));
        let cached: Vec<Value> = self.vm.modules.d.borrow().keys();
        names.extend(cached.iter().filter_map(|k| match k {
            Value::Str(k) if !k.s.starts_with('_') => Some(k.s.to_string()),
            _ => None,
        }));
        for dir in &self.vm.search_path {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if let Some(stem) = name.strip_suffix(".aio") {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }
}
