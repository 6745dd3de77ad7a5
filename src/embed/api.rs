//! The embedding API's methods on [`Engine`]: run code, exchange values, register host
//! functions, classes and modules, drive the event loop.

use super::async_host::Completer;
use super::class::ClassBuilder;
use super::convert::{FromValue, IntoArgs, ToValue};
use super::error::{Error, ScriptError};
use super::function::{raw_fn, HostFn, HostFunction};
use super::limits::{Limit, Limits};
use super::module::ModuleBuilder;
use super::StopHandle;
use crate::asyncio::event_loop::EventLoop;
use crate::asyncio::future::{future_of, future_value, FutureObj};
use crate::vm::gen::GenKind;
use crate::vm::value::{Module, Value};
use crate::vm::{Exc, ExcKind, Res, Sym, Vm};
use crate::Engine;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A task running on the engine's event loop (see [`Engine::spawn`]).
#[derive(Clone)]
pub struct Task {
    fut: Rc<FutureObj>,
}

impl Task {
    /// True once the task finished (returned, raised or was cancelled).
    pub fn is_done(&self) -> bool {
        self.fut.done()
    }
    /// Asks the task to stop: `CancelledError` is raised in it at its next step.
    pub fn cancel(&self) -> bool {
        self.fut.cancel(Value::None)
    }
    /// The task as a script value (an `asyncio.Task`).
    pub fn value(&self) -> Value {
        future_value(&self.fut)
    }
}

/// What is left on the engine's event loop (see [`Engine::step`] and [`Engine::run_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopStatus {
    /// Callbacks are ready to run now.
    pub ready: bool,
    /// When the nearest timer falls due, if any is pending.
    pub next_timer: Option<Duration>,
    /// Host futures (async host functions, [`Engine::new_future`]) not yet complete.
    pub host_futures: usize,
    /// Tasks not yet finished.
    pub tasks: usize,
}

impl LoopStatus {
    /// True when nothing is scheduled: no ready callback, no timer, no host future.
    pub fn is_idle(&self) -> bool {
        !self.ready && self.next_timer.is_none() && self.host_futures == 0
    }
}

/// The state saved across one call into the engine.
struct Call {
    prev_host: Option<Rc<EventLoop>>,
    prev_stack_base: usize,
}

impl Engine {
    // ---- calls into the engine ----

    /// Prepares a call: fresh limits, this engine's loop as the thread's host loop.
    fn begin(&mut self) -> Call {
        let prev_host = crate::asyncio::host_loop();
        let lp = self.host_loop();
        if let Ok(w) = lp.waker() {
            *self.vm.host.gov.stop.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
        }
        self.vm.host.gov.start_call();
        let prev_stack_base = self.vm.host.stack_base.get();
        if prev_stack_base == 0 {
            self.vm.host.stack_base.set(super::limits::stack_position());
        }
        Call { prev_host, prev_stack_base }
    }

    /// Ends a call: runs pending finalisers, turns the outcome into the API's result, and
    /// restores the thread's host loop.
    fn end<T>(&mut self, call: Call, r: Res<T>) -> Result<T, Error> {
        self.vm.run_finalizers();
        let tripped = self.vm.host.gov.tripped.get();
        let out = match r {
            Ok(v) => match tripped {
                // The script caught the limit's exception and finished anyway.
                Some(limit) => {
                    let e = self.vm.trip(limit);
                    Err(self.error_from(e))
                }
                None => Ok(v),
            },
            Err(e) => Err(self.error_from(e)),
        };
        if tripped == Some(Limit::Stopped) {
            self.vm.host.gov.stop.requested.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        self.vm.host.gov.tripped.set(None);
        self.vm.host.gov.end_call();
        crate::asyncio::set_host_loop(call.prev_host);
        self.vm.host.stack_base.set(call.prev_stack_base);
        self.vm.flush_stdout();
        out
    }

    /// Runs `f` as one call into the engine.
    fn with_call<T>(&mut self, f: impl FnOnce(&mut Engine) -> Res<T>) -> Result<T, Error> {
        let call = self.begin();
        let r = f(self);
        self.end(call, r)
    }

    /// The API error for an exception that ended a call.
    fn error_from(&mut self, e: Exc) -> Error {
        let vm = &mut self.vm;
        let inst = vm.materialize(e);
        if inst.class.is_subclass(vm.exc_class(ExcKind::SystemExit)) {
            let code = inst.get_attr(vm.syms.code).unwrap_or(Value::None);
            return Error::Exit(match code {
                Value::None => 0,
                Value::Int(n) => n as i32,
                Value::Bool(b) => b as i32,
                other => {
                    let s = vm.str_of(&other).unwrap_or_default();
                    vm.write_stderr(&format!("{s}\n"));
                    1
                }
            });
        }
        let line = crate::traceback::exception_line(vm, &inst);
        let message = vm.str_of(&Value::Instance(inst.clone())).unwrap_or_default();
        let type_name = match line.strip_suffix(&format!(": {message}")) {
            Some(t) if !message.is_empty() => t.to_string(),
            _ => line.clone(),
        };
        let traceback = crate::traceback::format_exception(vm, &inst);
        let se = ScriptError { type_name, message, traceback };
        if let Some(limit) = vm.host.gov.tripped.get() {
            return Error::Limit { limit, error: se };
        }
        if inst.class.is_subclass(vm.exc_class(ExcKind::RecursionError))
            && se.message.starts_with("maximum recursion depth exceeded")
        {
            return Error::Limit { limit: Limit::Recursion, error: se };
        }
        // The VM's own size guards (a product or a power too large to compute) also mean
        // the script ran out of memory.
        if inst.class.is_subclass(vm.exc_class(ExcKind::MemoryError)) {
            return Error::Limit { limit: Limit::Memory, error: se };
        }
        if inst.class.is_subclass(vm.exc_class(ExcKind::SyntaxError)) {
            return Error::Syntax(se);
        }
        Error::Exception(se)
    }

    /// The `__main__` module the API runs code in.
    fn main(&mut self) -> Rc<Module> {
        self.main_module("<string>")
    }

    // ---- running code ----

    /// Runs source text in the `__main__` module (its globals persist across calls).
    /// Tracebacks name the source `<string>`; see [`Engine::exec_named`].
    ///
    /// ```
    /// let mut engine = aio::Engine::new();
    /// engine.exec("total = 0\nfor i in range(5):\n    total += i").unwrap();
    /// engine.exec("total *= 10").unwrap();
    /// assert_eq!(engine.get::<i64>("total").unwrap(), 100);
    /// ```
    pub fn exec(&mut self, source: &str) -> Result<(), Error> {
        self.exec_named(source, "<string>")
    }

    /// Runs source text in `__main__`, naming it `filename` in tracebacks.
    pub fn exec_named(&mut self, source: &str, filename: &str) -> Result<(), Error> {
        let main = self.main();
        self.with_call(|e| e.vm.exec_source(source, filename, main).map(|_| ()))
    }

    /// Runs a script file in `__main__` (with `__file__` set; its directory joins the
    /// module path when the engine has file system access).
    pub fn exec_file(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let source =
            std::fs::read_to_string(path).map_err(|e| Error::Host(format!("cannot read {}: {e}", path.display())))?;
        let name = path.to_string_lossy().to_string();
        if self.vm.host.caps.get().fs {
            if let Some(dir) = path.parent() {
                let d = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
                if !self.vm.search_path.iter().any(|p| p == d) {
                    self.vm.search_path.insert(0, d.to_path_buf());
                }
            }
        }
        let main = self.main();
        main.set(Sym::new("__file__"), Value::str(&name));
        self.with_call(|e| e.vm.exec_source(&source, &name, main).map(|_| ()))
    }

    /// Evaluates one expression in `__main__` and converts its value.
    ///
    /// ```
    /// let mut engine = aio::Engine::new();
    /// engine.exec("xs = [3, 1, 2]").unwrap();
    /// let v: Vec<i64> = engine.eval("sorted(xs)").unwrap();
    /// assert_eq!(v, [1, 2, 3]);
    /// ```
    pub fn eval<T: FromValue>(&mut self, expr: &str) -> Result<T, Error> {
        let main = self.main();
        self.with_call(|e| {
            let v = e.vm.eval_source(expr, "<string>", main)?;
            T::from_value(v, &mut e.vm)
        })
    }

    // ---- globals ----

    /// Reads a global of `__main__` (a `NameError` if it is not set).
    pub fn get<T: FromValue>(&mut self, name: &str) -> Result<T, Error> {
        let main = self.main();
        self.with_call(|e| {
            let v = main
                .get(Sym::new(name))
                .ok_or_else(|| Exc::new(ExcKind::NameError, format!("name '{name}' is not defined")))?;
            T::from_value(v, &mut e.vm)
        })
    }

    /// Sets a global of `__main__`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let mut engine = aio::Engine::new();
    /// engine.set("config", HashMap::from([("retries", 3), ("timeout", 30)])).unwrap();
    /// assert_eq!(engine.eval::<i64>("config['retries'] * config['timeout']").unwrap(), 90);
    /// ```
    pub fn set<T: ToValue>(&mut self, name: &str, value: T) -> Result<(), Error> {
        let main = self.main();
        self.with_call(|e| {
            let v = value.to_value(&mut e.vm)?;
            main.set(Sym::new(name), v);
            Ok(())
        })
    }

    // ---- calling script functions ----

    /// Calls the function `name` of `__main__` with Rust arguments (a tuple, `()` for
    /// none) and converts its result. For an `async def`, use [`Engine::call_async`].
    ///
    /// ```
    /// let mut engine = aio::Engine::new();
    /// engine.exec("def scale(xs, k=2):\n    return [x * k for x in xs]").unwrap();
    /// let v: Vec<f64> = engine.call("scale", (vec![1.0, 2.5], 4)).unwrap();
    /// assert_eq!(v, [4.0, 10.0]);
    /// ```
    pub fn call<T: FromValue>(&mut self, name: &str, args: impl IntoArgs) -> Result<T, Error> {
        let f = self.global_value(name)?;
        self.call_value(&f, args)
    }

    /// Calls a script value (a function, a bound method, a class, a host function).
    pub fn call_value<T: FromValue>(&mut self, f: &Value, args: impl IntoArgs) -> Result<T, Error> {
        self.with_call(|e| {
            let args = args.into_args(&mut e.vm)?;
            let v = e.vm.call(f, args)?;
            T::from_value(v, &mut e.vm)
        })
    }

    /// Calls an `async def` function of `__main__` and runs the engine's event loop until
    /// the coroutine finishes (other tasks on the loop run meanwhile), then converts its
    /// result. A plain function's result is returned as is.
    ///
    /// ```
    /// let mut engine = aio::Engine::new();
    /// engine
    ///     .exec("import asyncio\nasync def pair(a, b):\n    await asyncio.sleep(0.001)\n    return (b, a)")
    ///     .unwrap();
    /// let r: (String, i64) = engine.call_async("pair", (1, "x")).unwrap();
    /// assert_eq!(r, ("x".to_string(), 1));
    /// ```
    pub fn call_async<T: FromValue>(&mut self, name: &str, args: impl IntoArgs) -> Result<T, Error> {
        let f = self.global_value(name)?;
        self.with_call(|e| {
            let args = args.into_args(&mut e.vm)?;
            let v = e.vm.call(&f, args)?;
            let v = e.await_value(v)?;
            T::from_value(v, &mut e.vm)
        })
    }

    /// Runs a coroutine or a future on the engine's loop until it is done.
    fn await_value(&mut self, v: Value) -> Res<Value> {
        let lp = self.host_loop();
        match &v {
            Value::Gen(g) if g.kind == GenKind::Coroutine => self.run_on_host(&lp, v),
            Value::Other(_) if future_of(&v).is_some() => crate::asyncio::run_until_complete(&mut self.vm, &lp, v),
            _ => Ok(v),
        }
    }

    fn global_value(&mut self, name: &str) -> Result<Value, Error> {
        let main = self.main();
        match main.get(Sym::new(name)).or_else(|| self.vm.builtins.get(Sym::new(name))) {
            Some(v) => Ok(v),
            None => self.with_call(|_| Err(Exc::new(ExcKind::NameError, format!("name '{name}' is not defined")))),
        }
    }

    // ---- host functions, classes, modules ----

    /// Makes a Rust closure a built-in function, visible in every module (see
    /// [`super::function`]).
    pub fn register_fn<M, F>(&mut self, name: &str, f: F)
    where
        F: HostFn<M>,
        F::Output: ToValue,
    {
        let body = raw_fn(name, f);
        self.vm.builtins.set(Sym::new(name), HostFunction::value(name, body));
    }

    /// Makes a closure over the raw arguments (positional and keyword values) a built-in
    /// function, for variadic signatures.
    pub fn register_raw_fn<F>(&mut self, name: &str, f: F)
    where
        F: Fn(&mut Vm, Vec<Value>, Vec<(Sym, Value)>) -> Res<Value> + 'static,
    {
        self.vm.builtins.set(Sym::new(name), HostFunction::value(name, Box::new(f)));
    }

    /// Makes a closure returning a Rust `Future` a built-in async function: scripts
    /// `await` its calls (see [`super::async_host`]).
    pub fn register_async_fn<M, F>(&mut self, name: &str, f: F)
    where
        F: HostFn<M>,
        F::Output: std::future::Future + 'static,
        <F::Output as std::future::Future>::Output: ToValue + 'static,
    {
        let body = super::async_host::raw_async_fn(name, f);
        self.vm.builtins.set(Sym::new(name), HostFunction::value(name, body));
    }

    /// Makes a host class a built-in name (see [`ClassBuilder`]).
    pub fn register_class<T: 'static>(&mut self, class: ClassBuilder<T>) -> Result<(), Error> {
        let builtins = self.vm.builtins.clone();
        self.with_call(|e| {
            let c = class.build(&mut e.vm, "builtins")?;
            if let Value::Class(cls) = &c {
                builtins.set(Sym::new(&cls.name), c.clone());
            }
            Ok(())
        })
    }

    /// Makes a native module importable (see [`ModuleBuilder`]).
    pub fn register_module(&mut self, module: ModuleBuilder) -> Result<(), Error> {
        self.with_call(|e| module.build(&mut e.vm).map(|_| ()))
    }

    /// Makes aio source importable as module `name` (no file needed).
    pub fn register_source_module(&mut self, name: &str, source: &str) -> Result<(), Error> {
        self.register_module(ModuleBuilder::new(name).source(source))
    }

    // ---- the event loop ----

    /// Calls the `async def` function `name` of `__main__` and schedules the coroutine as
    /// a task on the engine's loop, without running it: drive the loop with
    /// [`Engine::step`], [`Engine::run_for`], [`Engine::run_until_idle`] or
    /// [`Engine::run_until_complete`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut engine = aio::Engine::new();
    /// engine
    ///     .exec("import asyncio\nframes = 0\nasync def anim():\n    global frames\n    for _ in range(3):\n        frames += 1\n        await asyncio.sleep(0.005)\n    return 'done'")
    ///     .unwrap();
    /// let task = engine.spawn("anim", ()).unwrap();
    /// engine.step().unwrap(); // runs the task up to its first sleep
    /// assert_eq!(engine.get::<i64>("frames").unwrap(), 1);
    /// while !task.is_done() {
    ///     engine.run_for(Duration::from_millis(2)).unwrap(); // one frame of a game loop
    /// }
    /// assert_eq!(engine.run_until_complete::<String>(&task).unwrap(), "done");
    /// ```
    pub fn spawn(&mut self, name: &str, args: impl IntoArgs) -> Result<Task, Error> {
        let f = self.global_value(name)?;
        self.with_call(|e| {
            let args = args.into_args(&mut e.vm)?;
            let coro = e.vm.call(&f, args)?;
            let lp = e.host_loop();
            let fut = crate::asyncio::create_task(&mut e.vm, &lp, coro, None)?;
            Ok(Task { fut })
        })
    }

    /// Runs the loop until `task` is done and converts its result (a cancelled task is a
    /// `CancelledError`).
    pub fn run_until_complete<T: FromValue>(&mut self, task: &Task) -> Result<T, Error> {
        self.with_call(|e| {
            let lp = e.host_loop();
            let v = crate::asyncio::run_until_complete(&mut e.vm, &lp, future_value(&task.fut))?;
            T::from_value(v, &mut e.vm)
        })
    }

    /// One step of the loop, without waiting: collects finished host futures, then runs
    /// the callbacks that are ready and the timers that are due.
    pub fn step(&mut self) -> Result<LoopStatus, Error> {
        self.with_call(|e| {
            let lp = e.host_loop();
            lp.collect_external(&mut e.vm)?;
            lp.run_ready(&mut e.vm, 1)?;
            Ok(())
        })?;
        Ok(self.loop_status())
    }

    /// Runs the loop for up to `slice` of wall-clock time — ready callbacks, timers as they
    /// fall due, host futures as they finish, waiting in between — then returns, for a
    /// game loop or a GUI's idle handler. A callback that runs long overruns the slice
    /// (script code is not pre-empted; bound it with the limits).
    pub fn run_for(&mut self, slice: Duration) -> Result<LoopStatus, Error> {
        self.with_call(|e| {
            let lp = e.host_loop();
            lp.run_until(&mut e.vm, Instant::now() + slice)
        })?;
        Ok(self.loop_status())
    }

    /// Runs the loop until nothing is scheduled on it.
    pub fn run_until_idle(&mut self) -> Result<(), Error> {
        loop {
            let status = self.loop_status();
            if status.is_idle() {
                return Ok(());
            }
            let slice = status.next_timer.unwrap_or(Duration::from_millis(100)).max(Duration::from_millis(1));
            self.run_for(slice)?;
        }
    }

    /// What is scheduled on the engine's loop.
    pub fn loop_status(&mut self) -> LoopStatus {
        let lp = self.own_loop();
        let tasks = lp.tasks.borrow().iter().filter_map(|t| t.upgrade()).filter(|t| !t.done()).count();
        LoopStatus {
            ready: lp.has_ready_work(),
            next_timer: lp.next_timer_in(),
            host_futures: lp.external.pending.get(),
            tasks,
        }
    }

    /// A pending `asyncio.Future` on the engine's loop, and the [`Completer`] that finishes
    /// it from any thread. Hand the future to a script (a global, an argument); the script
    /// awaits it.
    ///
    /// ```
    /// let mut engine = aio::Engine::new();
    /// let (fut, completer) = engine.new_future().unwrap();
    /// engine.set("reply", fut).unwrap();
    /// engine.exec("async def main():\n    return 'got ' + await reply").unwrap();
    /// std::thread::spawn(move || completer.complete("pong"));
    /// assert_eq!(engine.call_async::<String>("main", ()).unwrap(), "got pong");
    /// ```
    pub fn new_future(&mut self) -> Result<(Value, Completer), Error> {
        self.with_call(|e| super::async_host::new_future(&mut e.vm))
    }

    /// A handle that stops this engine's runs from any thread (see [`StopHandle`]).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle { shared: self.vm.host.gov.stop.clone() }
    }

    // ---- output and limits ----

    /// The stdout text written since the last call (with
    /// [`super::Builder::capture_output`]; empty otherwise).
    pub fn take_stdout(&mut self) -> String {
        match &self.captured {
            Some((out, _)) => String::from_utf8_lossy(&std::mem::take(&mut *out.borrow_mut())).into_owned(),
            None => String::new(),
        }
    }

    /// The stderr text (tracebacks, warnings) written since the last call (with
    /// [`super::Builder::capture_output`]).
    pub fn take_stderr(&mut self) -> String {
        match &self.captured {
            Some((_, err)) => String::from_utf8_lossy(&std::mem::take(&mut *err.borrow_mut())).into_owned(),
            None => String::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.vm.host.gov.limits.get()
    }

    /// Changes the limits (they apply from the next call).
    pub fn set_limits(&mut self, limits: Limits) {
        let g = &self.vm.host.gov;
        g.limits.set(limits);
        g.mem.cap.set(limits.memory.unwrap_or(0));
        g.mem.reset();
        // Without a host limit, the default (as `sys.getrecursionlimit()` starts).
        self.vm.depth.set_limit(limits.recursion.unwrap_or(1000));
    }

    /// Measures the approximate bytes the VM's live objects take (the measure the memory
    /// limit uses; see [`super::memory`]).
    pub fn memory_in_use(&self) -> usize {
        self.vm.mem_measure()
    }
}

impl Vm {
    /// Evaluates an expression in a module's namespace.
    pub fn eval_source(&mut self, source: &str, filename: &str, module: Rc<Module>) -> Res<Value> {
        use crate::ast::{Expr, ExprKind, Stmt, StmtKind};
        self.register_source(filename, source);
        let expr = crate::parser::parse_expression(source).map_err(|e| self.syntax_error_exc(&e, filename, source))?;
        // `__aio_eval__ = <expr>`: compiled as a module, spans kept for tracebacks.
        let span = expr.span;
        let target = Expr { kind: ExprKind::Name("__aio_eval__".into()), span };
        let ast = crate::ast::Module {
            body: vec![Stmt { kind: StmtKind::Assign { targets: vec![target], value: expr }, span }],
        };
        let code = crate::compiler::compile_module(&ast, filename, source)
            .map_err(|e| self.syntax_error_exc(&e, filename, source))?;
        let key = Sym::new("__aio_eval__");
        let r = self.run_module_code(code, module.clone());
        let v = module.remove(key);
        r?;
        Ok(v.unwrap_or(Value::None))
    }
}
