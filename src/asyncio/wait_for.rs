//! `asyncio.wait_for`, natively: a [`Machine`] that does what CPython 3.11's
//! `tasks.wait_for` (and its `_cancel_and_wait`) do, await by await: the waiter future, the
//! timer releasing it, the done callback on the awaited future, cancelling that future on
//! timeout and waiting until it has finished, `TimeoutError` from its `CancelledError`.
//! A timeout that is not an `int` or a `float` goes to the same code written in aio
//! (`_wait_for_general`), which compares it with 0 as CPython does.

use super::event_loop::{Callback, Handle};
use super::future::{DoneCallback, FutureObj};
use super::native_coro::{is_cancelled_error, reraise, yield_future, Coro, Machine, Resume, SubAwait};
use super::{ensure_future_on, running_loop};
use crate::vm::gen::GenResult;
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Value, Vm};
use std::rc::Rc;

/// What follows `_cancel_and_wait` once the cancelled future has finished.
enum Then {
    /// `try: return fut.result() except CancelledError as exc: raise TimeoutError() from exc`.
    Result,
    /// `raise`: the `CancelledError` that interrupted the wait goes on.
    Reraise(Value),
}

enum Phase {
    /// Not started: the awaitable and the timeout in seconds (`None`: no timeout).
    Start(Value, Option<f64>),
    /// No timeout: `return await fut`.
    Delegate(SubAwait),
    /// `await waiter`, released by the timer or by `fut` finishing.
    Waiting {
        fut: Rc<FutureObj>,
        waiter: Rc<FutureObj>,
        handle: Rc<Handle>,
    },
    /// `await _cancel_and_wait(fut)`: `fut` was cancelled; `waiter` is released when it
    /// has finished. `handle` is the timer `finally` cancels (none for a timeout <= 0).
    Cancelling {
        fut: Rc<FutureObj>,
        waiter: Rc<FutureObj>,
        handle: Option<Rc<Handle>>,
        then: Then,
    },
    Done,
}

/// The state machine of one `wait_for(fut, timeout)` call.
pub struct WaitFor {
    phase: Phase,
}

/// `fut.add_done_callback(functools.partial(_release_waiter, waiter))`.
fn add_release(fut: &Rc<FutureObj>, waiter: &Rc<FutureObj>) {
    if fut.done() {
        fut.lp.schedule(Callback::Release(waiter.clone()));
    } else {
        fut.push_callback(DoneCallback::Release(waiter.clone()));
    }
}

/// `fut.remove_done_callback(cb)` for the callback [`add_release`] added.
fn remove_release(fut: &FutureObj, waiter: &Rc<FutureObj>) {
    fut.with_callbacks(|c| c.retain(|cb| !matches!(cb, DoneCallback::Release(w) if Rc::ptr_eq(w, waiter))));
}

/// `TimeoutError()` raised `from` the exception `e` (inside the `except` that caught it).
fn timeout_from(vm: &mut Vm, e: Exc) -> Exc {
    let cause = Value::Instance(vm.materialize(e));
    let te = match vm.exception_with_args(ExcKind::TimeoutError, Vec::new()) {
        Exc::Obj(i) => i,
        other => vm.materialize(other),
    };
    te.set_attr(vm.syms.cause, cause.clone());
    te.set_attr(vm.syms.context, cause);
    te.set_attr(vm.syms.suppress_context, Value::Bool(true));
    Exc::Obj(te)
}

impl WaitFor {
    /// `await _cancel_and_wait(fut)`: cancels `fut` and waits on a fresh waiter released
    /// when it has finished.
    fn cancel_and_wait(&mut self, fut: Rc<FutureObj>, handle: Option<Rc<Handle>>, then: Then) -> Res<GenResult> {
        let waiter = FutureObj::new(&fut.lp, None);
        add_release(&fut, &waiter);
        fut.cancel(Value::None);
        let r = yield_future(&waiter);
        self.phase = Phase::Cancelling { fut, waiter, handle, then };
        r
    }

    fn start(&mut self, vm: &mut Vm, aw: Value, timeout: Option<f64>) -> Res<GenResult> {
        let lp = running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))?;
        let Some(timeout) = timeout else {
            let sub = SubAwait::new(vm, aw)?;
            let r = sub.resume(vm, Resume::Send(Value::None));
            if let Ok(GenResult::Yield(_)) = &r {
                self.phase = Phase::Delegate(sub);
            }
            return r;
        };
        if timeout <= 0.0 {
            let fut = ensure_future_on(vm, aw, Some(&lp))?;
            if fut.done() {
                return fut.get_result(vm).map(GenResult::Return);
            }
            return self.cancel_and_wait(fut, None, Then::Result);
        }
        let waiter = FutureObj::new(&lp, None);
        let handle = lp.call_at(lp.time() + timeout, Callback::Release(waiter.clone()));
        let fut = ensure_future_on(vm, aw, Some(&lp))?;
        add_release(&fut, &waiter);
        let r = yield_future(&waiter);
        self.phase = Phase::Waiting { fut, waiter, handle };
        r
    }
}

impl Machine for WaitFor {
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Start(aw, timeout) => match how {
                Resume::Send(_) => self.start(vm, aw, timeout),
                Resume::Throw(e) => reraise(e),
            },
            Phase::Delegate(sub) => {
                let r = sub.resume(vm, how);
                if let Ok(GenResult::Yield(_)) = &r {
                    self.phase = Phase::Delegate(sub);
                }
                r
            }
            Phase::Waiting { fut, waiter, handle } => match how {
                Resume::Send(_) => {
                    if fut.done() {
                        handle.cancel();
                        return fut.get_result(vm).map(GenResult::Return);
                    }
                    remove_release(&fut, &waiter);
                    self.cancel_and_wait(fut, Some(handle), Then::Result)
                }
                Resume::Throw(e) if is_cancelled_error(vm, &e) => {
                    if fut.done() {
                        handle.cancel();
                        return fut.get_result(vm).map(GenResult::Return);
                    }
                    remove_release(&fut, &waiter);
                    self.cancel_and_wait(fut, Some(handle), Then::Reraise(e))
                }
                Resume::Throw(e) => {
                    handle.cancel();
                    reraise(e)
                }
            },
            Phase::Cancelling { fut, waiter, handle, then } => {
                remove_release(&fut, &waiter);
                let r = match (how, then) {
                    (Resume::Send(_), Then::Result) => match fut.get_result(vm) {
                        Ok(v) => Ok(GenResult::Return(v)),
                        Err(e) => {
                            let inst = vm.materialize(e);
                            if inst.class.is_subclass(vm.exc_class(ExcKind::CancelledError)) {
                                Err(timeout_from(vm, Exc::Obj(inst)))
                            } else {
                                Err(Exc::Obj(inst))
                            }
                        }
                    },
                    (Resume::Send(_), Then::Reraise(e)) | (Resume::Throw(e), _) => reraise(e),
                };
                if let Some(h) = handle {
                    h.cancel();
                }
                r
            }
            Phase::Done => Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
        }
    }
    fn finish(&mut self) {
        self.phase = Phase::Done;
    }
}

/// `wait_for(fut, timeout)`: the coroutine (arguments are bound now, as for an `async def`).
pub fn wait_for(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = a.pos.len();
    if n > 2 {
        return Err(Exc::type_error(format!("wait_for() takes 2 positional arguments but {n} were given")));
    }
    const NAMES: [&str; 2] = ["fut", "timeout"];
    let mut slots: [Option<Value>; 2] = [a.pos.first().cloned(), a.pos.get(1).cloned()];
    for (k, v) in std::mem::take(&mut a.kw) {
        let Some(i) = k.with_str(|s| NAMES.iter().position(|n| *n == s)) else {
            return Err(Exc::type_error(format!("wait_for() got an unexpected keyword argument '{k}'")));
        };
        if slots[i].is_some() {
            return Err(Exc::type_error(format!("wait_for() got multiple values for argument '{}'", NAMES[i])));
        }
        slots[i] = Some(v);
    }
    let [Some(aw), Some(timeout)] = slots else {
        let missing: Vec<String> =
            slots.iter().zip(NAMES).filter(|(s, _)| s.is_none()).map(|(_, n)| format!("'{n}'")).collect();
        return Err(Exc::type_error(match missing.len() {
            1 => format!("wait_for() missing 1 required positional argument: {}", missing[0]),
            _ => format!("wait_for() missing 2 required positional arguments: {} and {}", missing[0], missing[1]),
        }));
    };
    let seconds = match timeout {
        Value::None => None,
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        Value::Bool(b) => Some(b as i64 as f64),
        other => {
            // Compared with 0 and added to the clock by the script version, as CPython does.
            let module = vm.import_module(Sym::new("asyncio"))?;
            let general = vm.get_attr(&module, Sym::new("_wait_for_general"))?;
            return vm.call(&general, vec![aw, other]);
        }
    };
    Ok(Coro::value("wait_for", WaitFor { phase: Phase::Start(aw, seconds) }))
}
