//! The awaitables returned by an async generator's `__anext__`/`asend`/`athrow`/`aclose`.
//!
//! Each drives the generator one step: a value the generator `yield`s (wrapped by
//! `AsyncGenWrap`) ends the await with that value; anything else it yields comes from an
//! `await` inside it and passes up to the event loop unchanged.

use super::gen::{AsyncGenValue, GenKind, GenObj, GenResult, GenState};
use super::intern::Sym;
use super::other::NativeObject;
use super::value::Value;
use super::{Exc, ExcKind, Res, Vm};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    /// The addresses of the async generators `aclose()` was started on (CPython's
    /// `ag_closed`): their `athrow`/`aclose` raise `StopAsyncIteration` at once, and when
    /// one dies suspended it is closed on the spot instead of through the loop's finalizer
    /// hook. Kept beside `GenObj` (which is built by the call machinery) and emptied as
    /// each of them dies, so an address is never stale.
    static ACLOSED: RefCell<rustc_hash::FxHashSet<usize>> = RefCell::default();
    /// Mirrors `!ACLOSED.is_empty()`, so dropping a generator costs one load.
    static ANY_ACLOSED: Cell<bool> = const { Cell::new(false) };
}

fn gen_addr(g: &GenObj) -> usize {
    g as *const GenObj as usize
}

fn mark_aclosed(g: &GenObj) {
    ACLOSED.with(|s| s.borrow_mut().insert(gen_addr(g)));
    ANY_ACLOSED.with(|a| a.set(true));
}

fn is_aclosed(g: &GenObj) -> bool {
    ANY_ACLOSED.with(|a| a.get()) && ACLOSED.with(|s| s.borrow().contains(&gen_addr(g)))
}

/// For a dying async generator: whether `aclose()` was started on it (forgetting it).
pub(crate) fn take_aclosed(g: &GenObj) -> bool {
    if !ANY_ACLOSED.try_with(|a| a.get()).unwrap_or(false) {
        return false;
    }
    ACLOSED
        .try_with(|s| {
            let mut s = s.borrow_mut();
            let was = s.remove(&gen_addr(g));
            if s.is_empty() {
                ANY_ACLOSED.with(|a| a.set(false));
            }
            was
        })
        .unwrap_or(false)
}

/// Which method made the awaitable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `asend(v)` / `__anext__()`.
    Send,
    /// `athrow(exc)`.
    Throw,
    /// `aclose()`.
    Close,
}

/// An awaitable that drives one step of an async generator.
pub struct AStep {
    gen: Rc<GenObj>,
    mode: Mode,
    /// The value to send or the exception to throw on the first step.
    first: RefCell<Option<Value>>,
    /// True once the step finished (the awaitable cannot be reused).
    done: Cell<bool>,
}

/// The awaitable for `agen.asend(v)` (and `__anext__`, which sends `None`).
pub fn asend_awaitable(gen: Rc<GenObj>, v: Value) -> Value {
    step_value(gen, Mode::Send, v)
}

/// The awaitable for `agen.athrow(exc)`.
pub fn athrow_awaitable(gen: Rc<GenObj>, exc: Value) -> Value {
    step_value(gen, Mode::Throw, exc)
}

/// The awaitable for `agen.aclose()`.
pub fn aclose_awaitable(gen: Rc<GenObj>) -> Value {
    step_value(gen, Mode::Close, Value::None)
}

fn step_value(gen: Rc<GenObj>, mode: Mode, v: Value) -> Value {
    Value::Other(Rc::new(AStep { gen, mode, first: RefCell::new(Some(v)), done: Cell::new(false) }))
}

impl AStep {
    /// One step, with `input` the value sent in (`Ok`) or the exception thrown in (`Err`):
    /// `Yield` passes an inner `await`'s value up; `Return` ends the await.
    fn advance(&self, vm: &mut Vm, input: Result<Value, Value>) -> Res<GenResult> {
        if self.done.get() {
            return Err(Exc::runtime_error(match self.mode {
                Mode::Send => "cannot reuse already awaited __anext__()/asend()",
                _ => "cannot reuse already awaited aclose()/athrow()",
            }));
        }
        let first = self.first.borrow_mut().take();
        if first.is_some() && self.gen.ag_running.get() {
            // Another `asend`/`athrow` awaitable of this generator has not finished.
            self.done.set(true);
            return Err(Exc::runtime_error(match self.mode {
                Mode::Send => "anext(): asynchronous generator is already running",
                Mode::Throw => "athrow(): asynchronous generator is already running",
                Mode::Close => "aclose(): asynchronous generator is already running",
            }));
        }
        if first.is_some()
            && self.mode != Mode::Send
            && self.gen.state.get() != GenState::Closed
            && is_aclosed(&self.gen)
        {
            // After `aclose()` was started on a generator that did not finish, `athrow` and
            // `aclose` end at once (CPython 3.11).
            self.done.set(true);
            return Err(Exc::new(ExcKind::StopAsyncIteration, ""));
        }
        if first.is_some() {
            // Running until this awaitable finishes (cleared by `finish` or an early end).
            self.gen.ag_running.set(true);
        }
        let r = match (first, input) {
            (Some(v), Ok(_)) => match self.mode {
                Mode::Send => {
                    if self.gen.state.get() == GenState::Closed {
                        self.done.set(true);
                        self.gen.ag_running.set(false);
                        return Err(Exc::new(ExcKind::StopAsyncIteration, ""));
                    }
                    vm.gen_send(&self.gen, v)
                }
                Mode::Throw => {
                    if self.gen.state.get() == GenState::Closed {
                        self.done.set(true);
                        self.gen.ag_running.set(false);
                        return Ok(GenResult::Return(Value::None));
                    }
                    match vm.exc_from_value(v) {
                        Ok(e) => vm.gen_throw(&self.gen, e),
                        Err(e) => Err(e),
                    }
                }
                Mode::Close => {
                    mark_aclosed(&self.gen);
                    if matches!(self.gen.state.get(), GenState::Created | GenState::Closed) {
                        self.gen.state.set(GenState::Closed);
                        drop(self.gen.take_frame());
                        self.done.set(true);
                        self.gen.ag_running.set(false);
                        return Ok(GenResult::Return(Value::None));
                    }
                    vm.gen_throw(&self.gen, Exc::new(ExcKind::GeneratorExit, ""))
                }
            },
            (_, Ok(v)) => vm.gen_send(&self.gen, v),
            (_, Err(e)) => match vm.exc_from_value(e) {
                Ok(e) => vm.gen_throw(&self.gen, e),
                Err(e) => Err(e),
            },
        };
        self.finish(vm, r)
    }

    /// Turns what the generator did into the outcome of this await.
    fn finish(&self, vm: &mut Vm, r: Res<GenResult>) -> Res<GenResult> {
        if !matches!(r, Ok(GenResult::Yield(_))) {
            self.gen.ag_running.set(false);
        }
        match r {
            Ok(GenResult::Yield(y)) => {
                if let Value::Other(o) = &y {
                    if let Some(w) = o.as_any().downcast_ref::<AsyncGenValue>() {
                        self.gen.ag_running.set(false);
                        self.done.set(true);
                        if self.mode == Mode::Close {
                            return Err(Exc::runtime_error("async generator ignored GeneratorExit"));
                        }
                        return Ok(GenResult::Return(w.0.clone()));
                    }
                }
                Ok(GenResult::Yield(y))
            }
            Ok(GenResult::Return(_)) => {
                self.done.set(true);
                match self.mode {
                    Mode::Close => Ok(GenResult::Return(Value::None)),
                    _ => Err(Exc::new(ExcKind::StopAsyncIteration, "")),
                }
            }
            Err(e) => {
                self.done.set(true);
                if self.mode == Mode::Close {
                    let inst = vm.materialize(e);
                    if inst.class.is_subclass(vm.exc_class(ExcKind::GeneratorExit))
                        || inst.class.is_subclass(vm.exc_class(ExcKind::StopAsyncIteration))
                    {
                        return Ok(GenResult::Return(Value::None));
                    }
                    return Err(Exc::Obj(inst));
                }
                Err(e)
            }
        }
    }

    /// `send`/`__next__` called from script code: the end of the await is `StopIteration`.
    fn step_raising(&self, vm: &mut Vm, input: Result<Value, Value>) -> Res<Value> {
        match self.advance(vm, input)? {
            GenResult::Yield(y) => Ok(y),
            GenResult::Return(v) => {
                let stop = vm.exception_with_args(ExcKind::StopIteration, vec![v.clone()]);
                if let Exc::Obj(i) = &stop {
                    i.set_attr(Sym::new("value"), v);
                }
                Err(stop)
            }
        }
    }
}

fn this_step(a: &crate::vm::Args) -> Res<&AStep> {
    match a.pos.first() {
        Some(Value::Other(o)) => o.as_any().downcast_ref::<AStep>().ok_or_else(|| Exc::type_error("bad awaitable")),
        _ => Err(Exc::type_error("bad awaitable")),
    }
}

impl NativeObject for AStep {
    fn type_name(&self) -> &'static str {
        match self.mode {
            Mode::Send => "async_generator_asend",
            _ => "async_generator_athrow",
        }
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let _ = vm;
        let s = name.to_string_owned();
        Ok(match s.as_str() {
            "__await__" | "__iter__" => {
                Some(crate::builtins::bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone())))
            }
            "__next__" => Some(crate::builtins::bound_native(this.clone(), "__next__", |vm, a| {
                let a2 = a.pos[0].clone();
                let Value::Other(o) = &a2 else { return Err(Exc::type_error("bad awaitable")) };
                let _ = this_step(a)?;
                let me = o.as_any().downcast_ref::<AStep>().ok_or_else(|| Exc::type_error("bad awaitable"))?;
                me.step_raising(vm, Ok(Value::None))
            })),
            "send" => Some(crate::builtins::bound_native(this.clone(), "send", |vm, a| {
                let v = a.pos.get(1).cloned().unwrap_or(Value::None);
                this_step(a)?.step_raising(vm, Ok(v))
            })),
            "throw" => Some(crate::builtins::bound_native(this.clone(), "throw", |vm, a| {
                let e = a.pos.get(1).cloned().unwrap_or(Value::None);
                this_step(a)?.step_raising(vm, Err(e))
            })),
            "close" => Some(crate::builtins::bound_native(this.clone(), "close", |_vm, a| {
                this_step(a)?.done.set(true);
                Ok(Value::None)
            })),
            _ => None,
        })
    }
    fn is_coroutine(&self) -> bool {
        true
    }
    fn send(&self, vm: &mut Vm, value: Value) -> Option<Res<GenResult>> {
        Some(self.advance(vm, Ok(value)))
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        Some(self.advance(vm, Err(exc)))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// For `Send` of `v` into `sub`: when `sub` is an `asend`/`__anext__` awaitable whose async
/// generator can be resumed in place (suspended, or not started and sent `None`), its
/// generator and the value the generator receives; the awaitable's first step is taken.
/// The step then ends in the dispatch loop (`ReturnMode::GenAsend`, [`finish_inline`]).
#[inline(never)]
pub(crate) fn inline_step(sub: &Value, v: &Value) -> Option<(Rc<GenObj>, Value)> {
    let Value::Other(o) = sub else { return None };
    let step = o.as_any().downcast_ref::<AStep>()?;
    if step.mode != Mode::Send || step.done.get() {
        return None;
    }
    let mut first = step.first.borrow_mut();
    let sent = match &*first {
        Some(_) if step.gen.ag_running.get() => return None,
        Some(x) => x.clone(),
        None => v.clone(),
    };
    match step.gen.state.get() {
        GenState::Suspended => {}
        GenState::Created if sent.is_none() => {}
        _ => return None,
    }
    first.take();
    step.gen.ag_running.set(true);
    Some((step.gen.clone(), sent))
}

/// Marks the awaitable `sub` (an `asend`/`__anext__` step resumed in place) finished.
pub(crate) fn finish_inline(sub: &Value) {
    if let Value::Other(o) = sub {
        if let Some(step) = o.as_any().downcast_ref::<AStep>() {
            step.done.set(true);
            step.gen.ag_running.set(false);
        }
    }
}

/// True when `v` is one of these awaitables (a task may drive it like a coroutine).
pub fn is_step_awaitable(v: &Value) -> bool {
    matches!(v, Value::Other(o) if o.as_any().is::<AStep>())
}

/// Registers an async generator with the running loop the first time it is iterated
/// (CPython's `firstiter` hook), so the loop can close it at shutdown.
pub fn first_iteration(g: &Rc<GenObj>) {
    if g.kind == GenKind::AsyncGenerator && g.state.get() == GenState::Created && !g.awaited.replace(true) {
        crate::asyncio::asyncgen_firstiter(g);
    }
}
