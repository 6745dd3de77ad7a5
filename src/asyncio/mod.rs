//! The native core of `asyncio` (module `_asyncio`): the event loop, futures, tasks,
//! `sleep` and `run`. The rest of `asyncio` (combinators, synchronisation) is written in aio
//! in `stdlib/asyncio.aio` on top of this core.
//!
//! **Invariant:** the loop lives outside the VM: the VM only sees native objects and calls.

pub mod event_loop;
pub mod future;

use crate::builtins::{bound_native, check_args, take_kw};
use crate::vm::gen::{GenKind, GenResult};
use crate::vm::other::NativeObject;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use event_loop::{Callback, EventLoop, Handle};
use future::{future_of, future_value, FutureObj, TaskPart};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static RUNNING: RefCell<Option<Rc<EventLoop>>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Option<Rc<EventLoop>>> = const { RefCell::new(None) };
    static HOST: RefCell<Option<Rc<EventLoop>>> = const { RefCell::new(None) };
}

/// The loop running on this thread, if any: the one inside `run_forever`, else the host loop
/// of an interactive session (see [`set_host_loop`]).
pub fn running_loop() -> Option<Rc<EventLoop>> {
    RUNNING.with(|r| r.borrow().clone()).or_else(|| HOST.with(|h| h.borrow().clone()))
}

/// The loop inside `run_forever` on this thread, if any (never the host loop).
fn loop_in_run_forever() -> Option<Rc<EventLoop>> {
    RUNNING.with(|r| r.borrow().clone())
}

/// Makes `lp` the *host loop* of an interactive session: the REPL keeps it between inputs
/// and runs it for inputs that `await` and between inputs. Code typed at the prompt sees it as
/// the running loop (`get_running_loop()`, `create_task()` work as in `python3 -m asyncio`),
/// yet `asyncio.run()` and `loop.run_until_complete()` may still be called from a plain
/// input, since no `run_forever` is active then.
pub fn set_host_loop(lp: Option<Rc<EventLoop>>) {
    HOST.with(|h| *h.borrow_mut() = lp);
}

/// The host loop set with [`set_host_loop`], if any (an engine restores it after a call,
/// so engines on one thread do not see each other's loops).
pub fn host_loop() -> Option<Rc<EventLoop>> {
    HOST.with(|h| h.borrow().clone())
}

fn set_running_loop(lp: Option<Rc<EventLoop>>) {
    RUNNING.with(|r| *r.borrow_mut() = lp);
}

/// The script value of a loop.
pub fn loop_value(lp: &Rc<EventLoop>) -> Value {
    if let Some(v) = lp.script_value.borrow().upgrade() {
        return Value::Other(v);
    }
    let v = Rc::new(LoopRef(lp.clone()));
    *lp.script_value.borrow_mut() = Rc::downgrade(&v);
    Value::Other(v)
}

/// `asyncio.AbstractEventLoop` as scripts see it.
pub struct LoopRef(pub Rc<EventLoop>);

fn this_loop(a: &Args) -> Res<Rc<EventLoop>> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(l) = o.as_any().downcast_ref::<LoopRef>() {
            return Ok(l.0.clone());
        }
    }
    Err(Exc::type_error("an event loop is required"))
}

fn handle_value(h: Rc<Handle>) -> Value {
    Value::Other(Rc::new(HandleRef(h)))
}

/// `asyncio.Handle` / `asyncio.TimerHandle`.
pub struct HandleRef(pub Rc<Handle>);

fn handle_cancel(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(h) = o.as_any().downcast_ref::<HandleRef>() {
            h.0.cancelled.set(true);
            h.0.callback.borrow_mut().take();
        }
    }
    Ok(Value::None)
}
fn handle_cancelled(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(h) = o.as_any().downcast_ref::<HandleRef>() {
            return Ok(Value::Bool(h.0.cancelled.get()));
        }
    }
    Ok(Value::Bool(false))
}
fn handle_when(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(h) = o.as_any().downcast_ref::<HandleRef>() {
            return Ok(h.0.when.map(Value::Float).unwrap_or(Value::None));
        }
    }
    Ok(Value::None)
}

impl NativeObject for HandleRef {
    fn type_name(&self) -> &'static str {
        if self.0.when.is_some() {
            "TimerHandle"
        } else {
            "Handle"
        }
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: (&'static str, NativeFn) = match name.to_string_owned().as_str() {
            "cancel" => ("cancel", handle_cancel),
            "cancelled" => ("cancelled", handle_cancelled),
            "when" => ("when", handle_when),
            _ => return Ok(None),
        };
        Ok(Some(bound_native(this.clone(), f.0, f.1)))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn is_coroutine(v: &Value) -> bool {
    match v {
        Value::Gen(g) => g.kind == GenKind::Coroutine,
        Value::Other(o) => o.as_any().is::<Sleep>(),
        _ => false,
    }
}

/// Creates a task for a coroutine on `lp` and schedules its first step.
pub fn create_task(vm: &mut Vm, lp: &Rc<EventLoop>, coro: Value, name: Option<Value>) -> Res<Rc<FutureObj>> {
    if !is_coroutine(&coro) {
        let r = vm.repr(&coro)?;
        return Err(Exc::type_error(format!("a coroutine was expected, got {r}")));
    }
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    vm.check_task_cap(lp)?;
    thread_local! {
        static COUNTER: Cell<u64> = const { Cell::new(1) };
    }
    let name = match name {
        Some(n) if !n.is_none() => Value::string(vm.str_of(&n)?),
        _ => {
            let n = COUNTER.with(|c| {
                let v = c.get();
                c.set(v + 1);
                v
            });
            Value::string(format!("Task-{n}"))
        }
    };
    let task = FutureObj::new(
        lp,
        Some(TaskPart {
            coro,
            name: RefCell::new(name),
            waiter: RefCell::new(None),
            must_cancel: Cell::new(false),
            cancels: Cell::new(0),
        }),
    );
    {
        // Prune dead entries when the list doubles, keeping `create_task` amortised O(1).
        let mut tasks = lp.tasks.borrow_mut();
        if tasks.len() >= 64 && tasks.len().is_power_of_two() {
            tasks.retain(|t| t.strong_count() > 0);
        }
        tasks.push(Rc::downgrade(&task));
    }
    lp.call_soon(Callback::Step(task.clone(), None));
    Ok(task)
}

/// `loop.run_until_complete(aw)`.
pub fn run_until_complete(vm: &mut Vm, lp: &Rc<EventLoop>, aw: Value) -> Res<Value> {
    let fut = match future_of(&aw) {
        Some(f) => f,
        None => create_task(vm, lp, aw, None)?,
    };
    let stopper = bound_native(loop_value(lp), "_stop", loop_stop);
    if fut.done() {
        return fut.get_result(vm);
    }
    fut.callbacks.borrow_mut().push(stopper);
    lp.run_forever(vm)?;
    if !fut.done() {
        return Err(Exc::runtime_error("Event loop stopped before Future completed."));
    }
    fut.get_result(vm)
}

fn loop_stop(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    this_loop(a)?.stop();
    Ok(Value::None)
}
fn loop_time(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Float(this_loop(a)?.time()))
}
fn loop_is_running(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_loop(a)?.running.get()))
}
fn loop_is_closed(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_loop(a)?.closed.get()))
}
fn loop_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    if lp.running.get() {
        return Err(Exc::runtime_error("Cannot close a running event loop"));
    }
    lp.closed.set(true);
    Ok(Value::None)
}
fn loop_call_soon(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    take_kw(a, "context");
    let f = a.pos.get(1).cloned().ok_or_else(|| Exc::type_error("call_soon() missing callback"))?;
    let args = a.pos[2..].to_vec();
    Ok(handle_value(lp.call_soon(Callback::Call(f, args))))
}
fn loop_call_later(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    take_kw(a, "context");
    let delay = vm.to_float(&a.pos.get(1).cloned().unwrap_or(Value::Int(0)))?;
    let f = a.pos.get(2).cloned().ok_or_else(|| Exc::type_error("call_later() missing callback"))?;
    let args = a.pos[3..].to_vec();
    let when = lp.time() + delay;
    Ok(handle_value(lp.call_at(when, Callback::Call(f, args))))
}
fn loop_call_at(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    take_kw(a, "context");
    let when = vm.to_float(&a.pos.get(1).cloned().unwrap_or(Value::Int(0)))?;
    let f = a.pos.get(2).cloned().ok_or_else(|| Exc::type_error("call_at() missing callback"))?;
    let args = a.pos[3..].to_vec();
    Ok(handle_value(lp.call_at(when, Callback::Call(f, args))))
}
fn loop_create_future(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    Ok(future_value(&FutureObj::new(&lp, None)))
}
fn loop_create_task(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    let name = take_kw(a, "name");
    take_kw(a, "context");
    let coro = a.pos.get(1).cloned().unwrap_or(Value::None);
    create_task(vm, &lp, coro, name).map(|t| future_value(&t))
}
fn loop_run_until_complete(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    let aw = a.pos.get(1).cloned().unwrap_or(Value::None);
    run_until_complete(vm, &lp, aw)
}
fn loop_run_forever(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    lp.run_forever(vm)?;
    Ok(Value::None)
}
fn loop_set_debug(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    let d = vm.truthy(&a.pos.get(1).cloned().unwrap_or(Value::Bool(true)))?;
    lp.debug.set(d);
    Ok(Value::None)
}
fn loop_get_debug(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_loop(a)?.debug.get()))
}
fn loop_noop_async(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    // `shutdown_asyncgens()` / `shutdown_default_executor()`: an already-finished awaitable.
    let lp = this_loop(a)?;
    let f = FutureObj::new(&lp, None);
    f.set_result(Value::None)?;
    Ok(future_value(&f))
}

impl NativeObject for LoopRef {
    fn type_name(&self) -> &'static str {
        "_UnixSelectorEventLoop"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: (&'static str, NativeFn) = match name.to_string_owned().as_str() {
            "stop" => ("stop", loop_stop),
            "time" => ("time", loop_time),
            "is_running" => ("is_running", loop_is_running),
            "is_closed" => ("is_closed", loop_is_closed),
            "close" => ("close", loop_close),
            "call_soon" => ("call_soon", loop_call_soon),
            "call_later" => ("call_later", loop_call_later),
            "call_at" => ("call_at", loop_call_at),
            "create_future" => ("create_future", loop_create_future),
            "create_task" => ("create_task", loop_create_task),
            "run_until_complete" => ("run_until_complete", loop_run_until_complete),
            "run_forever" => ("run_forever", loop_run_forever),
            "set_debug" => ("set_debug", loop_set_debug),
            "get_debug" => ("get_debug", loop_get_debug),
            "shutdown_asyncgens" => ("shutdown_asyncgens", loop_noop_async),
            "shutdown_default_executor" => ("shutdown_default_executor", loop_noop_async),
            _ => return Ok(None),
        };
        Ok(Some(bound_native(this.clone(), f.0, f.1)))
    }
    fn repr(&self) -> String {
        format!(
            "<_UnixSelectorEventLoop running={} closed={} debug={}>",
            if self.0.running.get() { "True" } else { "False" },
            if self.0.closed.get() { "True" } else { "False" },
            if self.0.debug.get() { "True" } else { "False" }
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The awaitable `asyncio.sleep(delay, result)` returns: yields once for a zero delay, else
/// waits on a future completed by a timer.
pub struct Sleep {
    delay: f64,
    result: Value,
    state: Cell<u8>,
    fut: RefCell<Option<Rc<FutureObj>>>,
    handle: RefCell<Option<Rc<Handle>>>,
}

impl NativeObject for Sleep {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn send(&self, vm: &mut Vm, _v: Value) -> Option<Res<GenResult>> {
        Some(match self.state.get() {
            0 => {
                if self.delay <= 0.0 {
                    self.state.set(2);
                    Ok(GenResult::Yield(Value::None))
                } else {
                    let Some(lp) = running_loop() else {
                        return Some(Err(Exc::runtime_error("no running event loop")));
                    };
                    let fut = FutureObj::new(&lp, None);
                    let setter =
                        bound_native(future_value(&fut), "_set_result_unless_cancelled", set_result_unless_cancelled);
                    let h = lp.call_at(lp.time() + self.delay, Callback::Call(setter, vec![self.result.clone()]));
                    *self.handle.borrow_mut() = Some(h);
                    *self.fut.borrow_mut() = Some(fut.clone());
                    self.state.set(1);
                    Ok(GenResult::Yield(future_value(&fut)))
                }
            }
            1 => {
                self.state.set(3);
                let fut = self.fut.borrow().clone();
                match fut {
                    Some(f) => f.get_result(vm).map(GenResult::Return),
                    None => Ok(GenResult::Return(self.result.clone())),
                }
            }
            2 => {
                self.state.set(3);
                Ok(GenResult::Return(self.result.clone()))
            }
            _ => Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
        })
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        self.state.set(3);
        if let Some(h) = self.handle.borrow_mut().take() {
            h.cancelled.set(true);
        }
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        match name.to_string_owned().as_str() {
            "__await__" | "__iter__" => {
                Ok(Some(bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone()))))
            }
            "close" => Ok(Some(bound_native(this.clone(), "close", |_vm, _a| Ok(Value::None)))),
            _ => Ok(None),
        }
    }
    fn repr(&self) -> String {
        "<coroutine object sleep>".into()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn set_result_unless_cancelled(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if let Some(f) = a.pos.first().and_then(future_of) {
        if !f.done() {
            f.set_result(a.pos.get(1).cloned().unwrap_or(Value::None))?;
        }
    }
    Ok(Value::None)
}

fn sleep(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let result = take_kw(a, "result").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    check_args("sleep", a, 1, 2)?;
    let delay = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Other(Rc::new(Sleep {
        delay,
        result,
        state: Cell::new(0),
        fut: RefCell::new(None),
        handle: RefCell::new(None),
    })))
}

fn get_running_loop(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    match running_loop() {
        Some(l) => Ok(loop_value(&l)),
        None => Err(Exc::runtime_error("no running event loop")),
    }
}

fn get_event_loop(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    if let Some(l) = running_loop() {
        return Ok(loop_value(&l));
    }
    let l = CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        match &*c {
            Some(l) if !l.closed.get() => l.clone(),
            _ => {
                let l = EventLoop::new();
                *c = Some(l.clone());
                l
            }
        }
    });
    Ok(loop_value(&l))
}

fn new_event_loop(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(loop_value(&EventLoop::new()))
}

fn set_event_loop(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = match a.pos.first() {
        Some(Value::None) | None => None,
        Some(_) => Some(this_loop(a)?),
    };
    CURRENT.with(|c| *c.borrow_mut() = lp);
    Ok(Value::None)
}

fn current_loop_or_running() -> Res<Rc<EventLoop>> {
    running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))
}

fn create_task_fn(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let name = take_kw(a, "name");
    take_kw(a, "context");
    check_args("create_task", a, 1, 1)?;
    let coro = a.pos[0].clone();
    let lp = match current_loop_or_running() {
        Ok(l) => l,
        Err(e) => {
            if let Value::Gen(g) = &coro {
                // Like CPython, the coroutine is closed so no "never awaited" warning follows.
                g.awaited.set(true);
            }
            return Err(e);
        }
    };
    create_task(vm, &lp, coro, name).map(|t| future_value(&t))
}

fn ensure_future(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp_arg = take_kw(a, "loop");
    check_args("ensure_future", a, 1, 1)?;
    let v = a.pos[0].clone();
    if future_of(&v).is_some() {
        return Ok(v);
    }
    let lp = match lp_arg {
        Some(l) if !l.is_none() => {
            let mut args = Args::default();
            args.pos.push(l);
            this_loop(&args)?
        }
        _ => match running_loop() {
            Some(l) => l,
            None => {
                let mut empty = Args::default();
                let lv = get_event_loop(vm, &mut empty)?;
                let mut args = Args::default();
                args.pos.push(lv);
                this_loop(&args)?
            }
        },
    };
    if is_coroutine(&v) {
        return create_task(vm, &lp, v, None).map(|t| future_value(&t));
    }
    // An awaitable with `__await__`: wrap it in a coroutine-driving task.
    let aw = vm.get_attr_opt(&v, vm.syms.await_)?;
    match aw {
        Some(_) => {
            let await_method = vm.get_attr(&v, vm.syms.await_)?;
            let it = vm.call(&await_method, vec![])?;
            let task = FutureObj::new(
                &lp,
                Some(TaskPart {
                    coro: it,
                    name: RefCell::new(Value::str("Task")),
                    waiter: RefCell::new(None),
                    must_cancel: Cell::new(false),
                    cancels: Cell::new(0),
                }),
            );
            lp.call_soon(Callback::Step(task.clone(), None));
            Ok(future_value(&task))
        }
        None => Err(Exc::type_error("An asyncio.Future, a coroutine or an awaitable is required")),
    }
}

fn current_task(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let lp = current_loop_or_running()?;
    let t = lp.current_task.borrow().clone();
    Ok(t.map(|t| future_value(&t)).unwrap_or(Value::None))
}

fn all_tasks(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let lp = current_loop_or_running()?;
    let tasks: Vec<Value> =
        lp.tasks.borrow().iter().filter_map(|w| w.upgrade()).filter(|t| !t.done()).map(|t| future_value(&t)).collect();
    Ok(Value::list(tasks))
}

fn iscoroutine(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(a.pos.first().is_some_and(is_coroutine)))
}

fn iscoroutinefunction(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(match a.pos.first() {
        Some(Value::Function(f)) => f.code.flags.coroutine,
        Some(Value::BoundMethod(m)) => matches!(&m.func, Value::Function(f) if f.code.flags.coroutine),
        _ => false,
    }))
}

fn future_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    take_kw(a, "loop");
    let lp = match running_loop() {
        Some(l) => l,
        None => CURRENT.with(|c| c.borrow().clone()).unwrap_or_else(EventLoop::new),
    };
    Ok(future_value(&FutureObj::new(&lp, None)))
}

fn task_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let name = take_kw(a, "name");
    take_kw(a, "loop");
    // Called as a static `__new__(cls, coro)`.
    let coro = a.pos.get(1).cloned().unwrap_or(Value::None);
    let lp = current_loop_or_running()?;
    create_task(vm, &lp, coro, name).map(|t| future_value(&t))
}

/// `asyncio.run(main, *, debug=None)`.
fn run(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let debug = take_kw(a, "debug");
    check_args("run", a, 1, 1)?;
    let main = a.pos[0].clone();
    if loop_in_run_forever().is_some() {
        if let Value::Gen(g) = &main {
            g.awaited.set(true);
        }
        return Err(Exc::runtime_error("asyncio.run() cannot be called from a running event loop"));
    }
    if !is_coroutine(&main) {
        let r = vm.repr(&main)?;
        return Err(Exc::value_error(format!("a coroutine was expected, got {r}")));
    }
    let lp = EventLoop::new();
    if let Some(d) = debug {
        lp.debug.set(vm.truthy(&d)?);
    }
    CURRENT.with(|c| *c.borrow_mut() = Some(lp.clone()));
    let r = run_until_complete(vm, &lp, main);
    // Cancel what is left, let it finish, then close.
    let left: Vec<Rc<FutureObj>> = lp.tasks.borrow().iter().filter_map(|w| w.upgrade()).filter(|t| !t.done()).collect();
    if !left.is_empty() {
        for t in &left {
            t.cancel(Value::None);
        }
        for _ in 0..100 {
            if left.iter().all(|t| t.done()) {
                break;
            }
            let pending = left.iter().find(|t| !t.done()).cloned();
            if let Some(t) = pending {
                let _ = run_until_complete(vm, &lp, future_value(&t));
            }
        }
        for t in &left {
            if t.state.get() == future::State::Finished && !t.exception.borrow().is_none() && !t.retrieved.get() {
                let e = t.exception.borrow().clone();
                if let Value::Instance(i) = e {
                    let text = crate::traceback::format_exception(vm, &i);
                    vm.write_stderr(&format!(
                        "unhandled exception during asyncio.run() shutdown\ntask: {}\n{text}",
                        t.repr()
                    ));
                }
            }
        }
    }
    lp.closed.set(true);
    CURRENT.with(|c| *c.borrow_mut() = None);
    r
}

/// Builds `_asyncio`.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = crate::modules::native_module(
        "_asyncio",
        &[
            ("sleep", sleep),
            ("run", run),
            ("get_running_loop", get_running_loop),
            ("get_event_loop", get_event_loop),
            ("new_event_loop", new_event_loop),
            ("set_event_loop", set_event_loop),
            ("create_task", create_task_fn),
            ("ensure_future", ensure_future),
            ("current_task", current_task),
            ("all_tasks", all_tasks),
            ("iscoroutine", iscoroutine),
            ("iscoroutinefunction", iscoroutinefunction),
        ],
    );
    // Classes for isinstance() and construction.
    let future_class = native_class(vm, "Future", None, future_new);
    let task_class = native_class(vm, "Task", Some(future_class.clone()), task_new);
    m.set(Sym::new("Future"), Value::Class(future_class));
    m.set(Sym::new("Task"), Value::Class(task_class));
    for (name, kind) in [
        ("CancelledError", ExcKind::CancelledError),
        ("InvalidStateError", ExcKind::InvalidStateError),
        ("IncompleteReadError", ExcKind::IncompleteReadError),
        ("LimitOverrunError", ExcKind::LimitOverrunError),
        ("QueueEmpty", ExcKind::QueueEmpty),
        ("QueueFull", ExcKind::QueueFull),
        ("BrokenBarrierError", ExcKind::BrokenBarrierError),
    ] {
        let c = vm.exc_class(kind).clone();
        c.dict.borrow_mut().insert(vm.syms.module, Value::str("asyncio.exceptions"));
        m.set(Sym::new(name), Value::Class(c));
    }
    m.set(Sym::new("TimeoutError"), Value::Class(vm.exc_class(ExcKind::TimeoutError).clone()));
    crate::vm::value::bump_class_epoch();
    Ok(m)
}

/// A class for native objects of a given type name, with a native `__new__`.
fn native_class(
    vm: &mut Vm,
    name: &'static str,
    base: Option<Rc<crate::vm::Class>>,
    new: NativeFn,
) -> Rc<crate::vm::Class> {
    let object = vm.type_class(crate::vm::TypeId::Object).clone();
    let mut mro = Vec::new();
    let mut bases = Vec::new();
    if let Some(b) = &base {
        bases.push(b.clone());
        mro.push(b.clone());
        mro.extend(b.mro.iter().cloned());
    } else {
        bases.push(object.clone());
        mro.push(object);
    }
    let class = Rc::new(crate::vm::Class {
        name: Rc::from(name),
        qualname: RefCell::new(Rc::from(name)),
        bases,
        mro,
        dict: RefCell::default(),
        layout: crate::vm::value::Layout::Builtin,
        builtin: None,
        version: Cell::new(0),
        cache: Default::default(),
    });
    class.dict.borrow_mut().insert(vm.syms.module, Value::str("asyncio"));
    let newf = crate::builtins::native("__new__", new);
    class
        .dict
        .borrow_mut()
        .insert(vm.syms.new, Value::Descriptor(Rc::new(crate::vm::value::Descriptor::StaticMethod(newf))));
    vm.other_classes.borrow_mut().insert(name, class.clone());
    class
}
