//! Native coroutines: the objects `lock.acquire()`, `queue.get()`, `event.wait()` ... return.
//!
//! Each is a [`Coro`] around a state machine ([`Machine`]) that does what the `async def` of
//! CPython's `asyncio/locks.py` and `asyncio/queues.py` does, one `send`/`throw` at a time:
//! the uncontended case returns on the first `send` (no future, no suspension), a contended
//! one yields a waiter future to the task and finishes when resumed. A machine that awaits
//! another native machine embeds it and forwards `send`/`throw` to it; awaiting a script
//! awaitable goes through [`SubAwait`].
//!
//! Also here: the helpers the primitives and queues share (their classes, their hidden
//! native state, waiter futures and the loop they are bound to).

use super::event_loop::EventLoop;
use super::future::{future_value, FutureObj, State};
use crate::builtins::bound_native;
use crate::vm::gc::Visitor;
use crate::vm::gen::GenResult;
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Descriptor, Instance, Layout, NativeFunction};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::thread::LocalKey;

/// How a suspended machine is resumed.
pub enum Resume {
    /// `send(value)` (the first step is always `Send(None)`).
    Send(Value),
    /// `throw(exc)`: an exception instance raised at the suspension point.
    Throw(Value),
}

/// The state machine behind a native coroutine.
pub trait Machine: 'static {
    /// Runs until the next suspension (`Yield`, normally a waiter future) or the end
    /// (`Return`, or an error).
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult>;
    /// Called once the coroutine has finished: the machine drops what it holds, so a
    /// finished coroutine object a script keeps keeps nothing else alive.
    fn finish(&mut self) {}
    /// For the machines behind the hottest awaits (`queue.put()`, `queue.get()`): a
    /// per-thread pool of finished coroutine objects that [`Coro::value`] reuses once
    /// nothing else references them, instead of allocating one per call.
    fn pool() -> Option<&'static LocalKey<Pool<Self>>>
    where
        Self: Sized,
    {
        None
    }
    /// Reports to the cycle collector the strong references the machine holds to script
    /// values and tracked objects (its primitive's state, the instance, its waiter future),
    /// each exactly once. A machine that reports nothing is always kept alive by what it
    /// holds (the safe default).
    fn traverse(&self, vis: &mut Visitor) {
        let _ = vis;
    }
}

/// Finished native coroutines kept for reuse (see [`Machine::pool`]).
pub type Pool<M> = RefCell<Vec<Rc<Coro<M>>>>;

/// How many finished coroutines a pool keeps.
const POOL_SIZE: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum CoroState {
    Created,
    Suspended,
    Running,
    Closed,
}

/// A native coroutine object (`type(lock.acquire())` is `coroutine`, as in CPython).
pub struct Coro<M: Machine> {
    qualname: Cell<&'static str>,
    state: Cell<CoroState>,
    machine: RefCell<M>,
    /// The object itself, for returning it to its pool when it finishes.
    me: Weak<Coro<M>>,
}

impl<M: Machine> Coro<M> {
    /// A new, not yet started coroutine named `qualname` (`"Lock.acquire"`): a pooled one
    /// nothing references any more, else a new one.
    pub fn value(qualname: &'static str, machine: M) -> Value {
        if let Some(pool) = M::pool() {
            let reused = pool.with(|p| {
                let mut p = p.borrow_mut();
                let i = p.iter().rposition(|c| Rc::strong_count(c) == 1)?;
                Some(p.swap_remove(i))
            });
            if let Some(c) = reused {
                c.qualname.set(qualname);
                c.state.set(CoroState::Created);
                *c.machine.borrow_mut() = machine;
                return Value::Other(c);
            }
        }
        Value::Other(Rc::new_cyclic(|me| Coro {
            qualname: Cell::new(qualname),
            state: Cell::new(CoroState::Created),
            machine: RefCell::new(machine),
            me: me.clone(),
        }))
    }

    #[inline]
    fn step(&self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        self.state.set(CoroState::Running);
        let mut m = self.machine.borrow_mut();
        let r = m.resume(vm, how);
        if let Ok(GenResult::Yield(_)) = r {
            self.state.set(CoroState::Suspended);
        } else {
            self.state.set(CoroState::Closed);
            m.finish();
            if let Some(pool) = M::pool() {
                // Finished: reusable once the script lets go of it (it holds nothing now).
                if let Some(me) = self.me.upgrade() {
                    pool.with(|p| {
                        let mut p = p.borrow_mut();
                        if p.len() < POOL_SIZE {
                            p.push(me);
                        }
                    });
                }
            }
        }
        r
    }

    #[inline]
    fn do_send(&self, vm: &mut Vm, v: Value) -> Res<GenResult> {
        match self.state.get() {
            CoroState::Created if !v.is_none() => {
                Err(Exc::type_error("can't send non-None value to a just-started coroutine"))
            }
            CoroState::Created | CoroState::Suspended => self.step(vm, Resume::Send(v)),
            CoroState::Running => Err(Exc::value_error("coroutine already executing")),
            CoroState::Closed => Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
        }
    }

    fn do_throw(&self, vm: &mut Vm, exc: Value) -> Res<GenResult> {
        let e = vm.exc_from_value(exc)?;
        match self.state.get() {
            CoroState::Created => {
                self.state.set(CoroState::Closed);
                self.machine.borrow_mut().finish();
                Err(e)
            }
            CoroState::Suspended => {
                let inst = Value::Instance(vm.materialize(e));
                self.step(vm, Resume::Throw(inst))
            }
            CoroState::Running => Err(Exc::value_error("coroutine already executing")),
            CoroState::Closed => Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
        }
    }

    fn do_close(&self, vm: &mut Vm) -> Res<()> {
        match self.state.get() {
            CoroState::Created | CoroState::Closed => {
                if self.state.replace(CoroState::Closed) == CoroState::Created {
                    self.machine.borrow_mut().finish();
                }
                Ok(())
            }
            CoroState::Running => Err(Exc::value_error("coroutine already executing")),
            CoroState::Suspended => {
                let exit = Value::Instance(vm.materialize(Exc::new(ExcKind::GeneratorExit, "")));
                match self.step(vm, Resume::Throw(exit)) {
                    Ok(GenResult::Yield(_)) => Err(Exc::runtime_error("coroutine ignored GeneratorExit")),
                    Ok(GenResult::Return(_)) => Ok(()),
                    Err(e) => {
                        let inst = vm.materialize(e);
                        if inst.class.is_subclass(vm.exc_class(ExcKind::GeneratorExit)) {
                            Ok(())
                        } else {
                            Err(Exc::Obj(inst))
                        }
                    }
                }
            }
        }
    }
}

impl<M: Machine> Drop for Coro<M> {
    /// A coroutine dropped before it started warns, as CPython's do.
    fn drop(&mut self) {
        if self.state.get() == CoroState::Created {
            crate::vm::gen::warn_never_awaited(self.qualname.get());
        }
    }
}

fn this_coro(a: &Args) -> Res<Rc<dyn NativeObject>> {
    match a.pos.first() {
        Some(Value::Other(o)) => Ok(o.clone()),
        _ => Err(Exc::type_error("a coroutine is required")),
    }
}

fn coro_send(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let o = this_coro(a)?;
    let v = a.pos.get(1).cloned().unwrap_or(Value::None);
    let r = o.send(vm, v);
    gen_result_as_call(vm, r)
}

fn coro_throw(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let o = this_coro(a)?;
    let exc = a.pos.get(1).cloned().unwrap_or(Value::None);
    let exc = match a.pos.get(2) {
        Some(arg) if !arg.is_none() && matches!(exc, Value::Class(_)) => vm.call(&exc, vec![arg.clone()])?,
        _ => exc,
    };
    let r = o.throw(vm, exc);
    gen_result_as_call(vm, r)
}

fn coro_close<M: Machine>(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let o = this_coro(a)?;
    match o.as_any().downcast_ref::<Coro<M>>() {
        Some(c) => c.do_close(vm).map(|_| Value::None),
        None => Err(Exc::type_error("a coroutine is required")),
    }
}

/// A `send`/`throw` step as a method call: a return is `StopIteration(value)`.
fn gen_result_as_call(vm: &mut Vm, r: Option<Res<GenResult>>) -> Res<Value> {
    match r {
        Some(Ok(GenResult::Yield(v))) => Ok(v),
        Some(Ok(GenResult::Return(v))) => {
            let e = vm.exception_with_args(ExcKind::StopIteration, if v.is_none() { vec![] } else { vec![v.clone()] });
            if let Exc::Obj(i) = &e {
                i.set_attr(vm.syms.value, v);
            }
            Err(e)
        }
        Some(Err(e)) => Err(e),
        None => Err(Exc::type_error("not a coroutine")),
    }
}

impl<M: Machine> NativeObject for Coro<M> {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn is_coroutine(&self) -> bool {
        true
    }
    fn send(&self, vm: &mut Vm, value: Value) -> Option<Res<GenResult>> {
        Some(self.do_send(vm, value))
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        Some(self.do_throw(vm, exc))
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        if name == vm.syms.await_ {
            return Ok(Some(bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone()))));
        }
        let qualname = self.qualname.get();
        let state = self.state.get();
        Ok(name.with_str(|s| match s {
            "send" => Some(bound_native(this.clone(), "send", coro_send)),
            "throw" => Some(bound_native(this.clone(), "throw", coro_throw)),
            "close" => Some(bound_native(this.clone(), "close", coro_close::<M>)),
            "__qualname__" => Some(Value::str(qualname)),
            "__name__" => Some(Value::str(qualname.rsplit('.').next().unwrap_or(qualname))),
            "cr_running" => Some(Value::Bool(state == CoroState::Running)),
            "cr_suspended" => Some(Value::Bool(state == CoroState::Suspended)),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        format!("<coroutine object {} at 0x{:x}>", self.qualname.get(), self as *const Self as *const u8 as usize)
    }
    /// Never registered: a suspended coroutine awaiting it (its only owner, normally) sees
    /// through it, so a task blocked on a primitive nothing else references is garbage
    /// without a registration per wait.
    fn gc_inline(&self) -> bool {
        true
    }
    fn gc_traverse(&self, vis: &mut Visitor) {
        match self.machine.try_borrow() {
            Ok(m) => m.traverse(vis),
            Err(_) => vis.fail(),
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A script awaitable a machine delegates to (`await self.acquire()` when a subclass
/// overrides `acquire`): the iterator `await` drives.
pub struct SubAwait(Value);

impl SubAwait {
    /// Reports the awaitable to the cycle collector.
    pub fn traverse(&self, vis: &mut Visitor) {
        vis.value(&self.0);
    }
    /// Starts awaiting `aw` (`GetAwaitable`).
    pub fn new(vm: &mut Vm, aw: Value) -> Res<SubAwait> {
        Ok(SubAwait(vm.get_awaitable(aw)?))
    }
    /// One `send` or `throw` step into the awaitable.
    pub fn resume(&self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        match how {
            Resume::Send(v) => vm.send_to(&self.0, v),
            Resume::Throw(exc) => match &self.0 {
                Value::Gen(g) => {
                    let e = vm.exc_from_value(exc)?;
                    vm.gen_throw(g, e)
                }
                Value::Other(o) => {
                    let o = o.clone();
                    match o.throw(vm, exc.clone()) {
                        Some(r) => r,
                        None => Err(vm.exc_from_value(exc)?),
                    }
                }
                other => match vm.get_attr_opt(other, Sym::new("throw"))? {
                    Some(f) => match vm.call(&f, vec![exc]) {
                        Ok(v) => Ok(GenResult::Yield(v)),
                        Err(e) => {
                            let inst = vm.materialize(e);
                            if inst.class.is_subclass(vm.exc_class(ExcKind::StopIteration)) {
                                Ok(GenResult::Return(inst.get_attr(vm.syms.value).unwrap_or(Value::None)))
                            } else {
                                Err(Exc::Obj(inst))
                            }
                        }
                    },
                    None => Err(vm.exc_from_value(exc)?),
                },
            },
        }
    }
}

// ---- waiters ----

/// True when `exc` (an exception instance) is a `CancelledError`.
pub fn is_cancelled_error(vm: &Vm, exc: &Value) -> bool {
    match exc {
        Value::Instance(i) => i.class.is_subclass(vm.exc_class(ExcKind::CancelledError)),
        _ => false,
    }
}

/// Re-raises a thrown exception instance.
pub fn reraise(exc: Value) -> Res<GenResult> {
    match exc {
        Value::Instance(i) => Err(Exc::Obj(i)),
        _ => Err(Exc::type_error("exceptions must derive from BaseException")),
    }
}

/// The value `await fut` gives once the task is resumed by `send`: the future's result, or
/// its exception (a cancelled future raises `CancelledError`), as `Future.__await__` does.
pub fn awaited_result(vm: &mut Vm, fut: &FutureObj) -> Res<Value> {
    if !fut.done() {
        return Err(Exc::runtime_error("await wasn't used with future"));
    }
    fut.get_result(vm)
}

/// FIFO waiter futures.
pub type Waiters = RefCell<VecDeque<Rc<FutureObj>>>;

/// Removes `fut` from `waiters` (by identity); false when it was not there.
pub fn remove_waiter(waiters: &Waiters, fut: &Rc<FutureObj>) -> bool {
    let mut w = waiters.borrow_mut();
    match w.iter().position(|f| Rc::ptr_eq(f, fut)) {
        Some(i) => {
            w.remove(i);
            true
        }
        None => false,
    }
}

/// True when `fut` was cancelled.
pub fn cancelled(fut: &FutureObj) -> bool {
    fut.state.get() == State::Cancelled
}

/// The event loop a primitive is bound to (`mixins._LoopBoundMixin`): the running loop at
/// the first wait; a wait under another loop is a `RuntimeError`.
#[derive(Default)]
pub struct LoopBinding(RefCell<Option<Weak<EventLoop>>>);

impl LoopBinding {
    /// `self._get_loop().create_future()`. `describe` gives `repr(self)` for the error.
    pub fn new_waiter(&self, vm: &mut Vm, describe: &dyn Fn(&mut Vm) -> Res<String>) -> Res<Rc<FutureObj>> {
        let running = super::running_loop();
        let bound_ok = {
            let mut b = self.0.borrow_mut();
            match (&*b, &running) {
                (None, Some(lp)) => {
                    *b = Some(Rc::downgrade(lp));
                    true
                }
                (None, None) => true,
                (Some(w), Some(lp)) => w.upgrade().is_some_and(|l| Rc::ptr_eq(&l, lp)),
                (Some(_), None) => false,
            }
        };
        if !bound_ok {
            let r = describe(vm)?;
            return Err(Exc::runtime_error(format!("{r} is bound to a different event loop")));
        }
        match running {
            Some(lp) => Ok(FutureObj::new(&lp, None)),
            None => Err(Exc::attribute_error("'NoneType' object has no attribute 'create_future'")),
        }
    }
}

/// Yields `fut` to the task driving the coroutine.
pub fn yield_future(fut: &Rc<FutureObj>) -> Res<GenResult> {
    Ok(GenResult::Yield(future_value(fut)))
}

// ---- classes and hidden state ----

thread_local! {
    static STATE_SYM: Sym = Sym::new("_aio_state");
}

/// The native state of a primitive, kept in its instance under a hidden attribute.
pub struct Hidden<T: 'static>(pub Rc<T>);

impl<T: NativeObject> NativeObject for Hidden<T> {
    fn type_name(&self) -> &'static str {
        "native_state"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn gc_traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.0);
    }
}

/// A primitive's native state, registered with the cycle collector (it reports its
/// waiters and items, so a task blocked on a primitive nothing else references is garbage,
/// as in CPython). Every state is made with this.
pub fn new_state<T: NativeObject>(state: T) -> Rc<T> {
    let rc = Rc::new(state);
    crate::vm::gc::track_native(&rc);
    rc
}

/// Reports the waiters of a primitive to the cycle collector.
pub fn traverse_waiters(waiters: &Waiters, vis: &mut Visitor) {
    match waiters.try_borrow() {
        Ok(w) => w.iter().for_each(|f| vis.rc(f)),
        Err(_) => vis.fail(),
    }
}

/// Drops the waiters of a garbage primitive.
pub fn clear_waiters(waiters: &Waiters) {
    let old = waiters.try_borrow_mut().map(|mut w| std::mem::take(&mut *w));
    drop(old);
}

/// Stores `state` (made with [`new_state`]) in the instance `this` (its `__init__`).
pub fn set_state<T: NativeObject>(this: &Value, state: Rc<T>) -> Res<()> {
    let Value::Instance(inst) = this else {
        return Err(Exc::type_error("descriptor '__init__' requires an instance"));
    };
    let sym = STATE_SYM.with(|s| *s);
    let hidden = Rc::new(Hidden(state));
    crate::vm::gc::track_native(&hidden);
    inst.set_attr(sym, Value::Other(hidden));
    Ok(())
}

/// The native state of `this`, if its `__init__` ran.
#[inline(always)]
pub fn state_of<T: 'static>(this: &Value) -> Option<Rc<T>> {
    let Value::Instance(inst) = this else { return None };
    let attrs = inst.attrs.borrow();
    // The state is normally the first attribute (`__init__` sets it).
    if let Some((_, Value::Other(o))) = attrs.first() {
        if let Some(h) = o.as_any().downcast_ref::<Hidden<T>>() {
            return Some(h.0.clone());
        }
    }
    let sym = STATE_SYM.with(|s| *s);
    let hidden = |v: &Value| match v {
        Value::Other(o) => o.as_any().downcast_ref::<Hidden<T>>().map(|h| h.0.clone()),
        _ => None,
    };
    match attrs.iter().find(|(k, _)| *k == sym) {
        Some((_, v)) => hidden(v),
        // The attributes moved into a namespace dict (`vars(obj)`).
        None => hidden(&inst.get_attr(sym)?),
    }
}

/// The native state of the receiver `a.pos[0]`, or the `AttributeError` CPython gives for
/// an object whose `__init__` did not run (`missing` is the attribute it would miss).
#[inline(always)]
pub fn receiver<T: 'static>(vm: &Vm, a: &Args, missing: &str) -> Res<Rc<T>> {
    let this = a.pos.first().ok_or_else(|| Exc::type_error("method needs an instance"))?;
    match state_of::<T>(this) {
        Some(s) => Ok(s),
        None => Err(no_state(vm, this, missing)),
    }
}

#[cold]
fn no_state(vm: &Vm, this: &Value, missing: &str) -> Exc {
    Exc::attribute_error(format!("'{}' object has no attribute '{missing}'", vm.type_name(this)))
}

/// Creates a class whose methods are natives (`Layout::Object`, so scripts may subclass it).
/// `props` become read-only properties.
pub fn native_class(
    vm: &mut Vm,
    name: &'static str,
    module: &'static str,
    base: Option<&Rc<Class>>,
    methods: &[(&'static str, NativeFn)],
    props: &[(&'static str, NativeFn)],
) -> Rc<Class> {
    let object = vm.type_class(crate::vm::TypeId::Object).clone();
    let (bases, mro) = match base {
        Some(b) => {
            let mut mro = vec![b.clone()];
            mro.extend(b.mro.iter().cloned());
            (vec![b.clone()], mro)
        }
        None => (vec![object.clone()], vec![object]),
    };
    let mut dict = rustc_hash::FxHashMap::default();
    dict.insert(vm.syms.module, Value::str(module));
    for (mname, f) in methods {
        let nf = NativeFunction { fast: None, name: mname, func: *f, receiver: None, owner: Some(name) };
        dict.insert(Sym::new(mname), Value::Native(Rc::new(nf)));
    }
    for (pname, f) in props {
        let fget = crate::builtins::native(pname, *f);
        let p = Descriptor::Property { fget, fset: Value::None, fdel: Value::None, doc: Value::None };
        dict.insert(Sym::new(pname), Value::Descriptor(Rc::new(p)));
    }
    let class = Rc::new(Class {
        name: Rc::from(name),
        qualname: RefCell::new(Rc::from(name)),
        bases,
        mro,
        dict: RefCell::new(dict),
        layout: Layout::Object,
        builtin: None,
        version: Cell::new(0),
        cache: Default::default(),
        tp_name: Default::default(),
    });
    crate::vm::value::bump_class_epoch();
    class
}

/// True when `this.name` is the native method `f` (not overridden by a subclass or an
/// instance attribute), so a native caller may skip the script-level call.
pub fn method_is(this: &Value, name: Sym, f: NativeFn) -> bool {
    let Value::Instance(inst) = this else { return false };
    let native =
        inst.class.with_lookup(name, |v| matches!(v, Some(Value::Native(n)) if std::ptr::fn_addr_eq(n.func, f)));
    native && inst.get_attr(name).is_none()
}

/// Calls the method `name` of `this` with `args`.
pub fn call_method(vm: &mut Vm, this: &Value, name: &str, args: Vec<Value>) -> Res<Value> {
    let m = vm.get_attr(this, Sym::new(name))?;
    vm.call(&m, args)
}

/// `__getattr__` of the primitives: CPython's private attributes (`sem._value`,
/// `lock._locked`, `q._queue`, ...) as read-only snapshots of the native state.
pub fn private_attr<T: 'static>(vm: &mut Vm, a: &Args, f: impl FnOnce(&T, &str) -> Option<Value>) -> Res<Value> {
    let name = match a.pos.get(1) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => return Err(Exc::type_error("attribute name must be string")),
    };
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    match state_of::<T>(&this).and_then(|st| f(&st, &name)) {
        Some(v) => Ok(v),
        None => Err(Exc::attribute_error(format!("'{}' object has no attribute '{name}'", vm.type_name(&this)))),
    }
}

/// Fails unless the call had at most `max` positional arguments (the receiver counts) and
/// no keywords.
#[inline]
pub fn no_args(name: &str, a: &Args, max: usize) -> Res<()> {
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!("{name}() got an unexpected keyword argument '{k}'")));
    }
    let given = a.pos.len();
    if given > max {
        return Err(Exc::type_error(format!(
            "{name}() takes {max} positional argument{} but {given} were given",
            if max == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// `<module.qualname object at 0x... [extra]>`, the repr of every primitive.
pub fn primitive_repr(vm: &mut Vm, this: &Value, extra: &str) -> String {
    let class = vm.class_of(this);
    let module = match class.lookup(vm.syms.module) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "__main__".into(),
    };
    let qualname = class.qualname.borrow().clone();
    format!("<{module}.{qualname} object at 0x{:x} [{extra}]>", this.id())
}

/// A fresh instance of `class` with no attributes (for primitives built by natives, like
/// a `Condition`'s default lock).
pub fn bare_instance(class: &Rc<Class>) -> Value {
    Value::Instance(Instance::new_rc(class.clone(), Default::default()))
}
