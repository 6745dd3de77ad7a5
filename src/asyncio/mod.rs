//! The native core of `asyncio` (module `_asyncio`): the event loop, futures, tasks,
//! `sleep` and `run`. The rest of `asyncio` (combinators, synchronisation) is written in aio
//! in `stdlib/asyncio.aio` on top of this core.
//!
//! **Invariant:** the loop lives outside the VM: the VM only sees native objects and calls.

pub mod event_loop;
pub mod exception_handler;
pub mod future;
pub mod gather;
pub mod native_coro;
pub mod net;
pub mod queues;
pub mod signals;
pub mod sync;
pub mod threads;
pub mod timer_heap;
pub mod wait_for;

use crate::builtins::{bound_native, check_args, take_kw};
use crate::vm::gen::{GenKind, GenResult};
use crate::vm::other::NativeObject;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use event_loop::{Callback, EventLoop, Handle};
use future::{future_of, future_value, FutureObj, NewTask};
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
    Value::Other(h)
}

fn this_handle(a: &Args) -> Option<&Handle> {
    match a.pos.first() {
        Some(Value::Other(o)) => o.as_any().downcast_ref::<Handle>(),
        _ => None,
    }
}

fn handle_cancel(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if let Some(h) = this_handle(a) {
        h.cancel();
    }
    Ok(Value::None)
}
fn handle_cancelled(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_handle(a).is_some_and(|h| h.cancelled.get())))
}
fn handle_when(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(this_handle(a).and_then(|h| h.when).map(Value::Float).unwrap_or(Value::None))
}

thread_local! {
    static HANDLE_METHODS: Methods =
        Methods::new(&[
            ("cancel", handle_cancel),
            ("cancelled", handle_cancelled),
            ("when", handle_when),
            ("__repr__", handle_repr),
        ]);
}

/// `repr(handle)`, as CPython's `Handle._repr_info`: the callback with its arguments and
/// where it was defined (`<Handle f(1, 'a') at x.py:3>`).
fn handle_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(h) = this_handle(a) else { return Err(Exc::type_error("a Handle is required")) };
    let shown = match &*h.callback.borrow() {
        Some(Callback::Call(f, args)) => Some((f.clone(), args.clone())),
        Some(Callback::Done(f, fut)) => Some((f.clone(), vec![future_value(fut)])),
        _ => None,
    };
    let mut info = vec![h.type_name().to_string()];
    if h.cancelled.get() {
        info.push("cancelled".into());
    }
    if let Some(when) = h.when {
        info.push(format!("when={}", crate::text::float_repr::float_repr(when)));
    }
    if let Some((f, args)) = shown {
        info.push(exception_handler::callback_source(vm, &f, &args));
    }
    Ok(Value::string(format!("<{}>", info.join(" "))))
}

/// `asyncio.Handle` / `asyncio.TimerHandle`: the loop's handle itself is the script object.
impl NativeObject for Handle {
    fn type_name(&self) -> &'static str {
        if self.when.is_some() {
            "TimerHandle"
        } else {
            "Handle"
        }
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f = HANDLE_METHODS.with(|m| m.get(name)).filter(|(n, _)| self.has_method(n));
        Ok(f.map(|(n, f)| bound_native(this.clone(), n, f)))
    }
    fn method(&self, name: Sym) -> Option<Value> {
        HANDLE_METHODS.with(|m| m.unbound(name)).filter(|f| matches!(f, Value::Native(n) if self.has_method(n.name)))
    }
    fn repr(&self) -> String {
        let mut info = vec![self.type_name().to_string()];
        if self.cancelled.get() {
            info.push("cancelled".into());
        }
        if let Some(when) = self.when {
            info.push(format!("when={}", crate::text::float_repr::float_repr(when)));
        }
        if let Ok(cb) = self.callback.try_borrow() {
            if let Some(Callback::Call(f, _) | Callback::Done(f, _)) = &*cb {
                info.push(future::callback_text(f));
            }
        }
        format!("<{}>", info.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// True for coroutine objects: script coroutines and native ones (`sleep`, stream reads).
pub(crate) fn is_coroutine(v: &Value) -> bool {
    match v {
        Value::Gen(g) => g.kind == GenKind::Coroutine,
        Value::Other(o) => o.is_coroutine() || o.type_name() == "coroutine",
        _ => false,
    }
}

/// The first-iteration hook of async generators (CPython's `sys.set_asyncgen_hooks`
/// `firstiter`): a generator first iterated while a loop runs is remembered by that loop,
/// which closes it in `shutdown_asyncgens` if it is still open then.
pub fn asyncgen_firstiter(g: &Rc<crate::vm::gen::GenObj>) {
    if let Some(lp) = running_loop() {
        let mut gens = lp.asyncgens.borrow_mut();
        gens.retain(|w| w.strong_count() > 0);
        gens.push(Rc::downgrade(g));
    }
}

/// The finalizer hook of async generators: an unfinished one that is dropped while a loop
/// runs is closed by `aclose()` in a task of its own, scheduled with `call_soon` as CPython
/// does. Returns false when no loop runs (the caller closes it at once).
pub fn asyncgen_finalize(vm: &mut Vm, g: Rc<crate::vm::gen::GenObj>) -> bool {
    let Some(lp) = running_loop() else { return false };
    if lp.closed.get() {
        return false;
    }
    let aclose = crate::vm::asyncgen::aclose_awaitable(g);
    let start = crate::builtins::bound_native(aclose, "create_task", |vm, a| {
        let lp = running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))?;
        create_task(vm, &lp, a.pos[0].clone(), None)?;
        Ok(Value::None)
    });
    let _ = vm;
    lp.call_soon(Callback::Call(start, Vec::new()));
    true
}

/// The async generators `lp` still has open, for `shutdown_asyncgens`.
fn open_asyncgens(lp: &EventLoop) -> Vec<Value> {
    let gens = std::mem::take(&mut *lp.asyncgens.borrow_mut());
    gens.iter()
        .filter_map(|w| w.upgrade())
        .filter(|g| g.state.get() != crate::vm::gen::GenState::Closed)
        .map(Value::Gen)
        .collect()
}

/// `loop.shutdown_asyncgens()`: a coroutine that closes every async generator still open
/// (`_shutdown_asyncgens` in the aio part of `asyncio`).
fn loop_shutdown_asyncgens(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    let gens = open_asyncgens(&lp);
    let module = vm.import_module(Sym::new("asyncio"))?;
    let f = vm.get_attr(&module, Sym::new("_shutdown_asyncgens"))?;
    vm.call(&f, vec![Value::list(gens)])
}

/// Creates a task for a coroutine on `lp` and schedules its first step (`loop.create_task`:
/// the loop must be open; only an unnamed task takes a number from the name counter).
pub fn create_task(vm: &mut Vm, lp: &Rc<EventLoop>, coro: Value, name: Option<Value>) -> Res<Rc<FutureObj>> {
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    if !is_coroutine(&coro) {
        let r = vm.repr(&coro)?;
        return Err(Exc::type_error(format!("a coroutine was expected, got {r}")));
    }
    spawn_task(vm, lp, coro, name)
}

/// Makes a task driving `coro` (not checked) and schedules its first step.
fn spawn_task(vm: &mut Vm, lp: &Rc<EventLoop>, coro: Value, name: Option<Value>) -> Res<Rc<FutureObj>> {
    vm.check_task_cap(lp)?;
    let name = match name {
        Some(n) if !n.is_none() => Some(Value::string(vm.str_of(&n)?)),
        _ => None,
    };
    // The default name `Task-N` is spelled out only when asked for (see `task_name`).
    let number = if name.is_none() { next_task_number() } else { 0 };
    let small = u32::try_from(number).unwrap_or(0);
    let task = FutureObj::new(lp, Some(NewTask { coro, number: small }));
    if let Some(name) = name {
        task.set_task_name(name);
    } else if small == 0 {
        task.set_task_name(Value::string(format!("Task-{number}")));
    }
    {
        // Prune dead entries when the list doubles, keeping `create_task` amortised O(1).
        let mut tasks = lp.tasks.borrow_mut();
        if tasks.len() >= 64 && tasks.len().is_power_of_two() {
            tasks.retain(|t| t.strong_count() > 0);
        }
        tasks.push(Rc::downgrade(&task));
    }
    lp.schedule(Callback::Step(task.clone(), None));
    Ok(task)
}

thread_local! {
    static TASK_COUNTER: Cell<u64> = const { Cell::new(1) };
}

/// The next default task name (`Task-N`, one counter for the process as CPython's
/// `_task_name_counter`); also used where CPython creates a task that aio
/// does not need (an address lookup), so later task names stay the same as CPython's.
pub(crate) fn next_task_name() -> Value {
    Value::string(format!("Task-{}", next_task_number()))
}

fn next_task_number() -> u64 {
    TASK_COUNTER.with(|c| {
        let v = c.get();
        c.set(v + 1);
        v
    })
}

/// `loop.run_until_complete(aw)`.
pub fn run_until_complete(vm: &mut Vm, lp: &Rc<EventLoop>, aw: Value) -> Res<Value> {
    // CPython checks before it wraps the awaitable.
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    if lp.running.get() {
        return Err(Exc::runtime_error("This event loop is already running"));
    }
    if loop_in_run_forever().is_some() {
        return Err(Exc::runtime_error("Cannot run the event loop while another loop is running"));
    }
    let new_task = future_of(&aw).is_none();
    let fut = ensure_future_on(vm, aw, Some(lp))?;
    if new_task {
        // As CPython: the loop stopping first is reported as an error, not by the task.
        fut.log_destroy_pending().set(false);
    }
    let stopper = bound_native(loop_value(lp), "_stop", loop_stop);
    if fut.done() {
        return fut.get_result(vm);
    }
    fut.add_callback(stopper);
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
    signals::loop_closed(&lp);
    lp.closed.set(true);
    lp.clear_scheduled();
    Ok(Value::None)
}
/// The arguments of `loop.call_soon(callback, *args, context=None)` and its timed
/// variants, checked as CPython's signatures do: `fixed` positional parameters before
/// `*args` (named in `params` for the "missing" message), only `context` as a keyword.
fn call_args(a: &mut Args, method: &str, params: &[&str]) -> Res<()> {
    if !a.kw.is_empty() {
        take_kw(a, "context");
        crate::builtins::no_more_kw(&format!("BaseEventLoop.{method}"), a)?;
    }
    let given = a.pos.len().saturating_sub(1);
    if given < params.len() {
        let missing = &params[given..];
        let names: Vec<String> = missing.iter().map(|p| format!("'{p}'")).collect();
        let list = match names.len() {
            1 => names[0].clone(),
            _ => format!("{} and {}", names[..names.len() - 1].join(", "), names[names.len() - 1]),
        };
        return Err(Exc::type_error(format!(
            "BaseEventLoop.{method}() missing {} required positional argument{}: {list}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Debug mode's check of a callback (CPython's `_check_callback`).
fn check_callback(vm: &mut Vm, lp: &EventLoop, f: &Value, method: &str) -> Res<()> {
    if !lp.debug.get() {
        return Ok(());
    }
    let coro_fn = match f {
        Value::Function(func) => func.code.flags.coroutine,
        Value::BoundMethod(m) => matches!(&m.func, Value::Function(func) if func.code.flags.coroutine),
        _ => false,
    };
    if is_coroutine(f) || coro_fn {
        return Err(Exc::type_error(format!("coroutines cannot be used with {method}()")));
    }
    let callable = match f {
        Value::Function(_) | Value::BoundMethod(_) | Value::Native(_) | Value::Class(_) => true,
        Value::Instance(i) => i.class.lookup(vm.syms.call).is_some(),
        _ => false,
    };
    if !callable {
        let r = vm.repr(f)?;
        return Err(Exc::type_error(format!("a callable object was expected by {method}(), got {r}")));
    }
    Ok(())
}

fn loop_call_soon(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    call_args(a, "call_soon", &["callback"])?;
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    check_callback(vm, &lp, &a.pos[1], "call_soon")?;
    let (f, args) = callback_and_args(a, 1, true);
    Ok(handle_value(lp.call_soon(Callback::Call(f, args))))
}
/// `loop.call_soon(callback, *args)` called positionally from the dispatch loop (see
/// [`crate::vm::value::FastNativeFn`]): the callback and its arguments move off the value
/// stack into the handle (the caller only pops what is left), with no argument vector in
/// between. Anything unusual (no callback, a closed loop, debug mode's checks) goes to
/// [`loop_call_soon`].
fn loop_call_soon_fast(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    let lp = match &vm.stack[at] {
        Value::Other(o) if n >= 2 => o.as_any().downcast_ref::<LoopRef>().map(|l| l.0.clone()),
        _ => None,
    };
    if let Some(lp) = lp.filter(|lp| !lp.closed.get() && !lp.debug.get()) {
        let f = std::mem::take(&mut vm.stack[at + 1]);
        let args = vm.stack[at + 2..at + n].iter_mut().map(std::mem::take);
        return Ok(handle_value(lp.call_soon_call(f, args)));
    }
    let mut a = Args { pos: vm.stack[at..at + n].iter().cloned().collect(), kw: Vec::new() };
    loop_call_soon(vm, &mut a)
}
/// Moves the callback at `a.pos[at]` and the arguments after it out of `a`. With `reuse`
/// (a callback that runs soon), the arguments keep the buffer the call spilled them to, if
/// it did, instead of a copy; a timer, which may wait long, gets an exact-size vector.
fn callback_and_args(a: &mut Args, at: usize, reuse: bool) -> (Value, Vec<Value>) {
    if !reuse || !a.pos.spilled() {
        let args: Vec<Value> = a.pos.drain(at + 1..).collect();
        return (a.pos.pop().unwrap_or_default(), args);
    }
    let mut args = std::mem::take(&mut a.pos).into_vec();
    let mut head = args.drain(..=at);
    let f = head.next_back().unwrap_or_default();
    drop(head);
    (f, args)
}
fn loop_call_later(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    call_args(a, "call_later", &["delay", "callback"])?;
    let delay = a.pos[1].clone();
    if delay.is_none() {
        return Err(Exc::type_error("delay must not be None"));
    }
    let now = lp.time();
    let when = match delay {
        Value::Float(d) => Value::Float(now + d),
        Value::Int(d) => Value::Float(now + d as f64),
        _ => vm.binary_op(crate::ast::BinOp::Add, Value::Float(now), delay)?,
    };
    schedule_at(vm, &lp, when, a)
}
fn loop_call_at(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    call_args(a, "call_at", &["when", "callback"])?;
    let when = a.pos[1].clone();
    if when.is_none() {
        return Err(Exc::type_error("when cannot be None"));
    }
    schedule_at(vm, &lp, when, a)
}
/// The common part of `call_at` and `call_later`: `a.pos[2]` is the callback.
fn schedule_at(vm: &mut Vm, lp: &EventLoop, when: Value, a: &mut Args) -> Res<Value> {
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    check_callback(vm, lp, &a.pos[2], "call_at")?;
    let when = match when {
        Value::Float(w) => w,
        _ => vm.to_float(&when)?,
    };
    let (f, args) = callback_and_args(a, 2, false);
    Ok(handle_value(lp.call_at(when, Callback::Call(f, args))))
}
fn loop_create_future(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!("BaseEventLoop.create_future() got an unexpected keyword argument '{k}'")));
    }
    if a.pos.len() > 1 {
        return Err(Exc::type_error(format!(
            "BaseEventLoop.create_future() takes 1 positional argument but {} were given",
            a.pos.len()
        )));
    }
    Ok(future_value(&FutureObj::new(&lp, None)))
}
/// `loop.create_future()` called positionally from the dispatch loop (see
/// [`crate::vm::value::FastNativeFn`]).
fn loop_create_future_fast(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    if let (1, Value::Other(o)) = (n, &vm.stack[at]) {
        if let Some(l) = o.as_any().downcast_ref::<LoopRef>() {
            return Ok(future_value(&FutureObj::new(&l.0, None)));
        }
    }
    let mut a = Args { pos: vm.stack[at..at + n].iter().cloned().collect(), kw: Vec::new() };
    loop_create_future(vm, &mut a)
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
fn loop_shutdown_default_executor(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    this_loop(a)?;
    Ok(Value::Other(Rc::new(LoopShutdown { name: "shutdown_default_executor", state: Cell::new(0) })))
}

/// The coroutine `loop.shutdown_asyncgens()` / `loop.shutdown_default_executor()` returns.
/// aio finalises async generators as they die and has no default executor, so it returns
/// at its first step, as CPython's coroutines do when there is nothing to shut down; like
/// them it is a coroutine, so `run_until_complete` wraps it in a task (which takes a
/// number from the task-name counter).
pub struct LoopShutdown {
    name: &'static str,
    /// 0: not started, 1: finished.
    state: Cell<u8>,
}

impl NativeObject for LoopShutdown {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn send(&self, _vm: &mut Vm, _v: Value) -> Option<Res<GenResult>> {
        Some(if self.state.replace(1) == 0 {
            Ok(GenResult::Return(Value::None))
        } else {
            Err(Exc::runtime_error("cannot reuse already awaited coroutine"))
        })
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        self.state.set(1);
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        match name.to_string_owned().as_str() {
            "__await__" | "__iter__" => {
                Ok(Some(bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone()))))
            }
            "close" => Ok(Some(bound_native(this.clone(), "close", |_vm, a| {
                if let Some(Value::Other(o)) = a.pos.first() {
                    if let Some(s) = o.as_any().downcast_ref::<LoopShutdown>() {
                        s.state.set(1);
                    }
                }
                Ok(Value::None)
            }))),
            _ => Ok(None),
        }
    }
    fn repr(&self) -> String {
        format!("<coroutine object BaseEventLoop.{} at 0x{:x}>", self.name, self as *const Self as *const u8 as usize)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Drop for LoopShutdown {
    /// Dropped before it started: CPython's coroutine warns.
    fn drop(&mut self) {
        if self.state.get() == 0 {
            crate::vm::gen::warn_never_awaited(match self.name {
                "shutdown_asyncgens" => "BaseEventLoop.shutdown_asyncgens",
                _ => "BaseEventLoop.shutdown_default_executor",
            });
        }
    }
}

/// The native methods of a native object, by interned name: `get_attr` finds one with a
/// hash lookup on the symbol instead of comparing its text with every name.
/// Each also has an unbound native made once, for `LoadMethod` (see
/// `NativeObject::method`).
pub(crate) struct Methods(rustc_hash::FxHashMap<Sym, (&'static str, NativeFn, Value)>);

impl Methods {
    /// The table of `list`.
    pub(crate) fn new(list: &[(&'static str, NativeFn)]) -> Methods {
        Methods(list.iter().map(|&(n, f)| (Sym::new(n), (n, f, unbound_native(n, f)))).collect())
    }
    /// The method called `name`.
    #[inline]
    pub(crate) fn get(&self, name: Sym) -> Option<(&'static str, NativeFn)> {
        self.0.get(&name).map(|e| (e.0, e.1))
    }
    /// The method called `name` as an unbound native (the receiver is its first argument).
    #[inline]
    pub(crate) fn unbound(&self, name: Sym) -> Option<Value> {
        self.0.get(&name).map(|e| e.2.clone())
    }
    /// Gives the method called `name` a fast entry for positional calls (see
    /// [`crate::vm::value::FastNativeFn`]).
    pub(crate) fn with_fast(mut self, name: &str, fast: crate::vm::value::FastNativeFn) -> Methods {
        if let Some(e) = self.0.get_mut(&Sym::new(name)) {
            e.2 = Value::Native(Rc::new(crate::vm::value::NativeFunction {
                fast: Some(fast),
                name: e.0,
                func: e.1,
                receiver: None,
                owner: None,
            }));
        }
        self
    }
}

/// A native method without a receiver: called with the object as its first argument.
fn unbound_native(name: &'static str, func: NativeFn) -> Value {
    Value::Native(Rc::new(crate::vm::value::NativeFunction { fast: None, name, func, receiver: None, owner: None }))
}

thread_local! {
    static LOOP_METHODS: Methods = Methods::new(&[
        ("stop", loop_stop),
        ("time", loop_time),
        ("is_running", loop_is_running),
        ("is_closed", loop_is_closed),
        ("close", loop_close),
        ("call_soon", loop_call_soon),
        ("call_later", loop_call_later),
        ("call_at", loop_call_at),
        ("create_future", loop_create_future),
        ("create_task", loop_create_task),
        ("run_until_complete", loop_run_until_complete),
        ("run_forever", loop_run_forever),
        ("set_debug", loop_set_debug),
        ("get_debug", loop_get_debug),
        ("shutdown_asyncgens", loop_shutdown_asyncgens),
        ("shutdown_default_executor", loop_shutdown_default_executor),
        ("set_exception_handler", exception_handler::loop_set_exception_handler),
        ("get_exception_handler", exception_handler::loop_get_exception_handler),
        ("call_exception_handler", exception_handler::loop_call_exception_handler),
        ("default_exception_handler", exception_handler::loop_default_exception_handler),
    ])
    .with_fast("call_soon", loop_call_soon_fast)
    .with_fast("create_future", loop_create_future_fast);
}

impl NativeObject for LoopRef {
    fn type_name(&self) -> &'static str {
        "_UnixSelectorEventLoop"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f = LOOP_METHODS.with(|m| m.get(name));
        let Some(f) = f else {
            if let Some(m) = net::loop_method(this, name) {
                return Ok(Some(m));
            }
            return Ok(worker_and_signal_method(name).map(|(n, f)| bound_native(this.clone(), n, f)));
        };
        Ok(Some(bound_native(this.clone(), f.0, f.1)))
    }
    fn method(&self, name: Sym) -> Option<Value> {
        self.0.cached_method(name, event_loop::MethodOwner::Loop, || LOOP_METHODS.with(|m| m.unbound(name)))
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

/// The loop methods of worker threads, name resolution and signals (`threads.rs`,
/// `signals.rs`, `modules/socket.rs`).
fn worker_and_signal_method(name: Sym) -> Option<(&'static str, NativeFn)> {
    name.with_str(|s| -> Option<(&'static str, NativeFn)> {
        Some(match s {
            "run_in_executor" => ("run_in_executor", threads::loop_run_in_executor as NativeFn),
            "getaddrinfo" => ("getaddrinfo", crate::modules::socket::loop_getaddrinfo),
            "getnameinfo" => ("getnameinfo", crate::modules::socket::loop_getnameinfo),
            "add_signal_handler" => ("add_signal_handler", signals::loop_add_signal_handler),
            "remove_signal_handler" => ("remove_signal_handler", signals::loop_remove_signal_handler),
            "call_soon_threadsafe" => ("call_soon_threadsafe", loop_call_soon),
            _ => return None,
        })
    })
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
    fn is_coroutine(&self) -> bool {
        true
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
                    let h = lp.call_at(lp.time() + self.delay, Callback::SetResult(fut.clone(), self.result.clone()));
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
        self.finish();
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        sleep_attr(vm, this, name)
    }
    fn repr(&self) -> String {
        format!("<coroutine object sleep at 0x{:x}>", self as *const Self as *const u8 as usize)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Sleep {
    /// Ends the coroutine where it stands (a `throw` or `close`): its timer is cancelled.
    fn finish(&self) {
        self.state.set(3);
        if let Some(h) = self.handle.borrow_mut().take() {
            h.cancel();
        }
    }
}

impl Drop for Sleep {
    /// A `sleep()` dropped before it started warns, as CPython's coroutine does.
    fn drop(&mut self) {
        if self.state.get() == 0 {
            crate::vm::gen::warn_never_awaited("sleep");
        }
    }
}

/// What `asyncio.sleep(0)` returns (CPython's `__sleep0()`: a coroutine that yields once):
/// [`Sleep`] without a delay, a result or a timer, so the many tasks that pass control this
/// way each hold only its state while suspended. The states are `Sleep`'s: 0 not started,
/// 2 yielded, 3 finished.
pub struct Yield0 {
    state: Cell<u8>,
}

impl NativeObject for Yield0 {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn is_coroutine(&self) -> bool {
        true
    }
    fn send(&self, _vm: &mut Vm, _v: Value) -> Option<Res<GenResult>> {
        Some(match self.state.get() {
            0 => {
                self.state.set(2);
                Ok(GenResult::Yield(Value::None))
            }
            2 => {
                self.state.set(3);
                Ok(GenResult::Return(Value::None))
            }
            _ => Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
        })
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        self.state.set(3);
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        sleep_attr(vm, this, name)
    }
    fn repr(&self) -> String {
        format!("<coroutine object sleep at 0x{:x}>", self as *const Self as *const u8 as usize)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The stand-in for a `sleep(0)` coroutine that has yielded, which the yield-once eager
/// form of `sleep` leaves under `await asyncio.sleep(0)` (see `vm::eager_await`): resumed,
/// it returns `None`; a `throw` is raised again, as by the coroutine at its `yield`. It has
/// no state, so one serves every such await.
pub struct Resumed0;

impl NativeObject for Resumed0 {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn is_coroutine(&self) -> bool {
        true
    }
    fn send(&self, _vm: &mut Vm, _v: Value) -> Option<Res<GenResult>> {
        Some(Ok(GenResult::Return(Value::None)))
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        sleep_attr(vm, this, name)
    }
    fn repr(&self) -> String {
        format!("<coroutine object sleep at 0x{:x}>", self as *const Self as *const u8 as usize)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The yield-once eager form of `sleep` (see `vm::eager_await`): `sleep(delay)` with one
/// number `<= 0` is CPython's `__sleep0()`.
fn eager_sleep0(vm: &Vm, at: usize, n: usize) -> bool {
    match vm.stack[at..at + n] {
        [Value::Int(i)] => i <= 0,
        [Value::Float(f)] => f <= 0.0,
        _ => false,
    }
}

impl Drop for Yield0 {
    /// A `sleep(0)` dropped before it started warns, as CPython's coroutine does.
    fn drop(&mut self) {
        if self.state.get() == 0 {
            crate::vm::gen::warn_never_awaited("sleep");
        }
    }
}

/// The attributes of a `sleep()` coroutine.
fn sleep_attr(_vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
    match name.to_string_owned().as_str() {
        "__await__" | "__iter__" => Ok(Some(bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone())))),
        "close" => Ok(Some(bound_native(this.clone(), "close", sleep_close))),
        _ => Ok(None),
    }
}

fn sleep_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(s) = o.as_any().downcast_ref::<Sleep>() {
            s.finish();
        } else if let Some(s) = o.as_any().downcast_ref::<Yield0>() {
            s.state.set(3);
        } else if let Some(s) = o.as_any().downcast_ref::<SleepOdd>() {
            s.state.set(3);
        }
    }
    Ok(Value::None)
}

/// `asyncio.sleep(delay)` called positionally from the dispatch loop with a number (see
/// [`crate::vm::value::FastNativeFn`]); anything else goes to [`sleep`].
fn sleep_fast(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    let delay = match vm.stack[at..at + n] {
        [Value::Int(i)] => i as f64,
        [Value::Float(f)] => f,
        _ => {
            let mut a = Args { pos: vm.stack[at..at + n].iter().cloned().collect(), kw: Vec::new() };
            return sleep(vm, &mut a);
        }
    };
    Ok(sleep_value(delay, Value::None))
}

/// The coroutine `sleep(delay, result)` returns.
fn sleep_value(delay: f64, result: Value) -> Value {
    if delay <= 0.0 && result.is_none() {
        return Value::Other(Rc::new(Yield0 { state: Cell::new(0) }));
    }
    Value::Other(Rc::new(Sleep {
        delay,
        result,
        state: Cell::new(0),
        fut: RefCell::new(None),
        handle: RefCell::new(None),
    }))
}

/// Binds `sleep(delay, result=None)`'s arguments as CPython binds a Python function's.
fn sleep_args(a: &mut Args) -> Res<(Value, Value)> {
    let mut params: [Option<Value>; 2] = [a.pos.first().cloned(), a.pos.get(1).cloned()];
    for (k, v) in std::mem::take(&mut a.kw) {
        let name = k.to_string_owned();
        let i = match name.as_str() {
            "delay" => 0,
            "result" => 1,
            _ => return Err(Exc::type_error(format!("sleep() got an unexpected keyword argument '{name}'"))),
        };
        if params[i].is_some() {
            return Err(Exc::type_error(format!("sleep() got multiple values for argument '{name}'")));
        }
        params[i] = Some(v);
    }
    if a.pos.len() > 2 {
        let n = a.pos.len();
        return Err(Exc::type_error(format!("sleep() takes from 1 to 2 positional arguments but {n} were given")));
    }
    let [delay, result] = params;
    let delay = delay.ok_or_else(|| Exc::type_error("sleep() missing 1 required positional argument: 'delay'"))?;
    Ok((delay, result.unwrap_or(Value::None)))
}

fn sleep(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (delay, result) = sleep_args(a)?;
    let delay = match &delay {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        other => {
            let other = other.clone();
            match vm.to_float(&other) {
                Ok(f) => f,
                // CPython's `sleep` is a coroutine function: a bad delay fails when the
                // coroutine runs, not when `sleep()` is called.
                Err(_) => {
                    return Ok(Value::Other(Rc::new(SleepOdd { delay: other, result, state: Cell::new(0) })));
                }
            }
        }
    };
    Ok(sleep_value(delay, result))
}

/// `sleep(delay)` with a delay that is not a number: run, it does what CPython's `sleep`
/// does with it, `delay <= 0` first (a `TypeError` for most values); when that holds, it
/// yields once and returns the result, else its timer fails to add the delay to a time.
/// States: 0 not started, 2 yielded, 3 finished.
struct SleepOdd {
    delay: Value,
    result: Value,
    state: Cell<u8>,
}

impl NativeObject for SleepOdd {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn is_coroutine(&self) -> bool {
        true
    }
    fn send(&self, vm: &mut Vm, _v: Value) -> Option<Res<GenResult>> {
        Some(match self.state.get() {
            0 => {
                self.state.set(3);
                let le = vm.compare(crate::bytecode::CmpKind::Le, &self.delay, &Value::Int(0));
                match le.and_then(|r| vm.truthy(&r)) {
                    Ok(true) => {
                        self.state.set(2);
                        Ok(GenResult::Yield(Value::None))
                    }
                    Ok(false) => Err(Exc::type_error(format!(
                        "unsupported operand type(s) for +: 'float' and '{}'",
                        vm.type_name(&self.delay)
                    ))),
                    Err(e) => Err(e),
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
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        sleep_attr(vm, this, name)
    }
    fn repr(&self) -> String {
        format!("<coroutine object sleep at 0x{:x}>", self as *const Self as *const u8 as usize)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn get_running_loop(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    match running_loop() {
        Some(l) => Ok(loop_value(&l)),
        None => Err(Exc::runtime_error("no running event loop")),
    }
}

fn get_event_loop(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(loop_value(&running_or_current_loop()))
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
    one_py_arg("create_task", "coro", a)?;
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
    // CPython's `asyncio.create_task` makes an unnamed task (taking a number from the name
    // counter) and then renames it.
    let task = create_task(vm, &lp, coro, None)?;
    if let Some(n) = name.filter(|n| !n.is_none()) {
        task.set_task_name(Value::string(vm.str_of(&n)?));
    }
    Ok(future_value(&task))
}

/// The loop a script value stands for.
fn loop_of(v: &Value) -> Res<Rc<EventLoop>> {
    if let Value::Other(o) = v {
        if let Some(l) = o.as_any().downcast_ref::<LoopRef>() {
            return Ok(l.0.clone());
        }
    }
    Err(Exc::type_error("an event loop is required"))
}

/// The running loop, else the current loop of this thread (made when there is none), as
/// CPython's `events._get_event_loop()`.
fn running_or_current_loop() -> Rc<EventLoop> {
    if let Some(l) = running_loop() {
        return l;
    }
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        match &*c {
            Some(l) if !l.closed.get() => l.clone(),
            _ => {
                let l = EventLoop::new();
                *c = Some(l.clone());
                l
            }
        }
    })
}

/// CPython's `tasks._ensure_future(aw, loop=lp)`: a future is returned as it is, a
/// coroutine or an awaitable (an object with `__await__`) is wrapped in a new task on `lp`
/// (else on the running or current loop).
fn ensure_future_on(vm: &mut Vm, v: Value, lp: Option<&Rc<EventLoop>>) -> Res<Rc<FutureObj>> {
    if let Some(f) = future_of(&v) {
        if lp.is_some_and(|l| !Rc::ptr_eq(l, &f.lp)) {
            return Err(Exc::value_error(
                "The future belongs to a different loop than the one specified as the loop argument",
            ));
        }
        return Ok(f);
    }
    let coro = is_coroutine(&v);
    if !coro && vm.get_attr_opt(&v, vm.syms.await_)?.is_none() {
        return Err(Exc::type_error("An asyncio.Future, a coroutine or an awaitable is required"));
    }
    let lp = lp.cloned().unwrap_or_else(running_or_current_loop);
    if lp.closed.get() {
        if let Value::Gen(g) = &v {
            // CPython closes the coroutine, so no "never awaited" warning follows.
            g.awaited.set(true);
        }
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    if coro {
        return spawn_task(vm, &lp, v, None);
    }
    // An awaitable: the task drives the iterator its `__await__` returns.
    let await_method = vm.get_attr(&v, vm.syms.await_)?;
    let it = vm.call(&await_method, vec![])?;
    spawn_task(vm, &lp, it, None)
}

fn ensure_future(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp_arg = take_kw(a, "loop");
    one_py_arg("ensure_future", "coro_or_future", a)?;
    let v = a.pos[0].clone();
    let lp = match lp_arg {
        Some(l) if !l.is_none() => Some(loop_of(&l)?),
        _ => None,
    };
    let f = ensure_future_on(vm, v.clone(), lp.as_ref())?;
    if future_of(&v).is_some() {
        return Ok(v);
    }
    Ok(future_value(&f))
}

/// `asyncio.isfuture(obj)`: an asyncio future, or an object whose class declares the
/// future protocol (`_asyncio_future_blocking` not `None`).
fn isfuture(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("isfuture", a, 1, 1)?;
    let v = a.pos[0].clone();
    if future_of(&v).is_some() {
        return Ok(Value::Bool(true));
    }
    let Value::Instance(i) = &v else { return Ok(Value::Bool(false)) };
    if i.class.lookup(Sym::new("_asyncio_future_blocking")).is_none() {
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(!vm.get_attr(&v, Sym::new("_asyncio_future_blocking"))?.is_none()))
}

/// The `loop=None` argument of `current_task` and `all_tasks`: that loop, else the
/// running one.
fn loop_arg(a: &mut Args, fname: &str) -> Res<Rc<EventLoop>> {
    let kw = take_kw(a, "loop");
    crate::builtins::no_more_kw(fname, a)?;
    check_args(fname, a, 0, 1)?;
    match kw.or_else(|| a.pos.first().cloned()) {
        Some(l) if !l.is_none() => loop_of(&l),
        _ => current_loop_or_running(),
    }
}

fn current_task(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = loop_arg(a, "current_task")?;
    let t = lp.current_task.borrow().clone();
    Ok(t.map(|t| future_value(&t)).unwrap_or(Value::None))
}

/// `asyncio.all_tasks(loop=None)`: the set of the loop's pending tasks.
fn all_tasks(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = loop_arg(a, "all_tasks")?;
    let tasks: Vec<Value> =
        lp.tasks.borrow().iter().filter_map(|w| w.upgrade()).filter(|t| !t.done()).map(|t| future_value(&t)).collect();
    vm.new_set(tasks)
}

/// Checks the arguments of an asyncio function written in Python in CPython, with one
/// parameter `param` (its other keyword parameters already taken), with that function's
/// messages; `param` given by keyword moves to the positional arguments.
fn one_py_arg(name: &str, param: &str, a: &mut Args) -> Res<()> {
    if let Some(i) = a.kw.iter().position(|(k, _)| k.to_string_owned() == param) {
        if !a.pos.is_empty() {
            return Err(Exc::type_error(format!("{name}() got multiple values for argument '{param}'")));
        }
        let (_, v) = a.kw.remove(i);
        a.pos.push(v);
    }
    if let Some((k, _)) = a.kw.first() {
        let k = k.to_string_owned();
        return Err(Exc::type_error(format!("{name}() got an unexpected keyword argument '{k}'")));
    }
    match a.pos.len() {
        0 => Err(Exc::type_error(format!("{name}() missing 1 required positional argument: '{param}'"))),
        1 => Ok(()),
        n => Err(Exc::type_error(format!("{name}() takes 1 positional argument but {n} were given"))),
    }
}

fn iscoroutine(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    one_py_arg("iscoroutine", "obj", a)?;
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
    one_py_arg("run", "main", a)?;
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
    let r = signals::run_main(vm, &lp, main);
    // CPython's `Runner.close()`: cancel what is left, then run the loop's two shutdown
    // coroutines (each as a task); an error there wins over the result.
    cancel_all_tasks(vm, &lp);
    let shutdown = bound_native(loop_value(&lp), "shutdown_asyncgens", loop_shutdown_asyncgens);
    let mut shut = vm.call(&shutdown, Vec::new()).and_then(|coro| run_until_complete(vm, &lp, coro));
    // `shutdown_default_executor()`: wait for work handed to worker threads.
    let drained = lp.drain_jobs(vm);
    if shut.is_ok() {
        let coro = Value::Other(Rc::new(LoopShutdown { name: "shutdown_default_executor", state: Cell::new(0) }));
        shut = run_until_complete(vm, &lp, coro);
    }
    // What is still ready (e.g. `aclose()` tasks of async generators dropped at the end).
    let _ = lp.run_ready(vm, 100);
    signals::loop_closed(&lp);
    lp.closed.set(true);
    lp.clear_scheduled();
    CURRENT.with(|c| *c.borrow_mut() = None);
    shut?;
    drained?;
    r
}

/// Cancels the tasks left on `lp` and runs the loop until they finish, reporting those that
/// end with an exception nobody retrieved (CPython's `asyncio.runners._cancel_all_tasks`).
fn cancel_all_tasks(vm: &mut Vm, lp: &Rc<EventLoop>) {
    let left: Vec<Rc<FutureObj>> = lp.tasks.borrow().iter().filter_map(|w| w.upgrade()).filter(|t| !t.done()).collect();
    if left.is_empty() {
        return;
    }
    for t in &left {
        t.cancel(Value::None);
    }
    for _ in 0..100 {
        let pending = left.iter().find(|t| !t.done()).cloned();
        match pending {
            Some(t) => {
                let _ = run_until_complete(vm, lp, future_value(&t));
            }
            None => break,
        }
    }
    for t in &left {
        if t.state.get() == future::State::Finished && !t.exception().is_none() {
            let e = t.exception();
            t.retrieved().set(true);
            exception_handler::call_handler_quietly(
                vm,
                lp,
                vec![
                    ("message", Value::str("unhandled exception during asyncio.run() shutdown")),
                    ("exception", e),
                    ("task", future_value(t)),
                ],
            );
        }
    }
}

/// `_cancel_all_tasks(loop)`, for `Runner.close()`.
fn cancel_all_tasks_fn(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    cancel_all_tasks(vm, &lp);
    Ok(Value::None)
}

/// `_get_running_loop()`: the running loop or `None`.
fn get_running_loop_or_none(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(running_loop().map_or(Value::None, |l| loop_value(&l)))
}

/// Builds `_asyncio`.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = crate::modules::native_module(
        "_asyncio",
        &[
            ("sleep", sleep),
            ("gather", gather::gather),
            ("wait_for", wait_for::wait_for),
            ("run", run),
            ("get_running_loop", get_running_loop),
            ("get_event_loop", get_event_loop),
            ("new_event_loop", new_event_loop),
            ("set_event_loop", set_event_loop),
            ("create_task", create_task_fn),
            ("ensure_future", ensure_future),
            ("current_task", current_task),
            ("all_tasks", all_tasks),
            ("isfuture", isfuture),
            ("iscoroutine", iscoroutine),
            ("iscoroutinefunction", iscoroutinefunction),
            ("_gathering_future", gathering_future),
            ("_gather_cancel_requested", gather_cancel_requested),
            ("_cancel_all_tasks", cancel_all_tasks_fn),
            ("_get_running_loop", get_running_loop_or_none),
            ("_run_in_thread", threads::run_in_thread_fn),
        ],
    );
    vm.register_eager_yield_once(sleep, eager_sleep0, Value::Other(Rc::new(Resumed0)));
    let sleep_sym = Sym::new("sleep");
    m.set(
        sleep_sym,
        Value::Native(Rc::new(crate::vm::value::NativeFunction {
            fast: Some(sleep_fast),
            name: "sleep",
            func: sleep,
            receiver: None,
            owner: None,
        })),
    );
    // Classes for isinstance() and construction.
    let future_class = native_class(vm, "Future", None, future_new);
    let task_class = native_class(vm, "Task", Some(future_class.clone()), task_new);
    // C types of `_asyncio` in CPython: `<class '_asyncio.Future'>`.
    for (c, tp_name) in [(&future_class, "_asyncio.Future"), (&task_class, "_asyncio.Task")] {
        c.dict.borrow_mut().insert(vm.syms.module, Value::str("_asyncio"));
        let _ = c.tp_name.set(Rc::from(tp_name));
    }
    crate::builtins::generic_alias::make_generic(&future_class);
    crate::builtins::generic_alias::make_generic(&task_class);
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
    // Native coroutines (`sleep()`, `lock.acquire()`, ...) are of type `coroutine`.
    let coroutine = vm.type_class(crate::vm::TypeId::Coroutine).clone();
    vm.other_classes.borrow_mut().insert("coroutine", coroutine);
    net::install(vm, &m);
    sync::register(vm, &m);
    queues::register(vm, &m);
    crate::vm::value::bump_class_epoch();
    Ok(m)
}

/// `_gathering_future(loop, children)`: the future `gather()` returns, whose `cancel()`
/// cancels the children.
fn gathering_future(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    let mut children = Vec::new();
    let list = a.pos.get(1).cloned().unwrap_or(Value::None);
    if let Value::List(items) = &list {
        for item in items.items.borrow().iter() {
            children.push(future::future_of(item).ok_or_else(|| Exc::type_error("gather children must be futures"))?);
        }
    }
    let outer = FutureObj::new(&lp, None);
    outer.set_gather_children(future::Gathered::List(children));
    Ok(future::future_value(&outer))
}

/// `_gather_cancel_requested(fut)`: whether `cancel()` was called on a gathering future.
fn gather_cancel_requested(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = a.pos.first().and_then(future::future_of).ok_or_else(|| Exc::type_error("a Future is required"))?;
    Ok(Value::Bool(f.cancel_requested().get()))
}

/// A class for native objects of a given type name, with a native `__new__`.
pub(crate) fn native_class(
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
        tp_name: Default::default(),
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
