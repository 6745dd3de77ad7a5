//! `asyncio.Lock`, `Event`, `Condition`, `Semaphore`, `BoundedSemaphore` and `Barrier`,
//! natively, with the semantics of CPython 3.11's `asyncio/locks.py`: FIFO waiters, the same
//! wake-ups, and the same cancellation safety (a waiter cancelled after it was woken passes
//! the lock, permit or notification on).
//!
//! Each primitive is a script-visible class (subclassable) whose methods are natives; the
//! instance keeps its native state in a hidden attribute (see [`super::native_coro`]). Every
//! `async def` of `locks.py` is a state machine behind a native coroutine.

use super::future::FutureObj;
use super::native_coro::{
    awaited_result, bare_instance, call_method, cancelled, clear_waiters, method_is, native_class, new_state, no_args,
    primitive_repr, private_attr, receiver, remove_waiter, set_state, state_of, traverse_waiters, yield_future, Coro,
    LoopBinding, Machine, Resume, SubAwait, Waiters,
};
use crate::builtins::take_kw;
use crate::vm::gc::Visitor;
use crate::vm::gen::GenResult;
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Module};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const MODULE: &str = "asyncio.locks";

/// The classes, for natives that create primitives (a `Condition`'s default lock, a
/// `Barrier`'s condition).
struct Classes {
    lock: Rc<Class>,
    condition: Rc<Class>,
}

thread_local! {
    static CLASSES: RefCell<Option<Classes>> = const { RefCell::new(None) };
}

fn class_of(pick: fn(&Classes) -> &Rc<Class>) -> Res<Rc<Class>> {
    CLASSES
        .with(|c| c.borrow().as_ref().map(|c| pick(c).clone()))
        .ok_or_else(|| Exc::runtime_error("asyncio is not initialised"))
}

fn finished() -> Exc {
    Exc::runtime_error("cannot reuse already awaited coroutine")
}

fn exc_of(v: Value) -> Exc {
    match v {
        Value::Instance(i) => Exc::Obj(i),
        _ => Exc::type_error("exceptions must derive from BaseException"),
    }
}

fn is_cancelled_exc(vm: &mut Vm, e: Exc) -> (bool, Exc) {
    let inst = vm.materialize(e);
    let c = inst.class.is_subclass(vm.exc_class(ExcKind::CancelledError));
    (c, Exc::Obj(inst))
}

fn waiters_suffix(extra: String, n: usize) -> String {
    if n > 0 {
        format!("{extra}, waiters:{n}")
    } else {
        extra
    }
}

// ---------------------------------------------------------------------------------------
// Lock

/// The state of an `asyncio.Lock`.
#[derive(Default)]
pub struct LockState {
    locked: Cell<bool>,
    waiters: Waiters,
    binding: LoopBinding,
}

impl LockState {
    fn wake_up_first(&self) {
        let first = self.waiters.borrow().front().cloned();
        if let Some(f) = first {
            if !f.done() {
                let _ = f.set_result(Value::Bool(true));
            }
        }
    }
    fn release(&self) -> Res<()> {
        if self.locked.get() {
            self.locked.set(false);
            self.wake_up_first();
            Ok(())
        } else {
            Err(Exc::runtime_error("Lock is not acquired."))
        }
    }
    fn extra(&self) -> String {
        let s = if self.locked.get() { "locked" } else { "unlocked" };
        waiters_suffix(s.into(), self.waiters.borrow().len())
    }
}

/// `Lock.acquire()`.
pub struct LockAcquire {
    lock: Option<Rc<LockState>>,
    this: Value,
    fut: Option<Rc<FutureObj>>,
}

impl LockAcquire {
    fn new(lock: Rc<LockState>, this: Value) -> LockAcquire {
        LockAcquire { lock: Some(lock), this, fut: None }
    }
}

impl Machine for LockAcquire {
    fn traverse(&self, vis: &mut Visitor) {
        if let Some(l) = &self.lock {
            vis.rc(l);
        }
        vis.value(&self.this);
        if let Some(f) = &self.fut {
            vis.rc(f);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let Some(lock) = &self.lock else { return Err(finished()) };
        let Some(fut) = self.fut.take() else {
            if !lock.locked.get() && lock.waiters.borrow().iter().all(|w| cancelled(w)) {
                lock.locked.set(true);
                return Ok(GenResult::Return(Value::Bool(true)));
            }
            let this = self.this.clone();
            let lk = lock.clone();
            let fut = lock.binding.new_waiter(vm, &|vm| Ok(primitive_repr(vm, &this, &lk.extra())))?;
            lock.waiters.borrow_mut().push_back(fut.clone());
            self.fut = Some(fut.clone());
            return yield_future(&fut);
        };
        let outcome = match how {
            Resume::Send(_) => awaited_result(vm, &fut),
            Resume::Throw(e) => Err(exc_of(e)),
        };
        remove_waiter(&lock.waiters, &fut);
        match outcome {
            Ok(_) => {
                lock.locked.set(true);
                Ok(GenResult::Return(Value::Bool(true)))
            }
            Err(e) => {
                let (is_cancel, e) = is_cancelled_exc(vm, e);
                if is_cancel && !lock.locked.get() {
                    lock.wake_up_first();
                }
                Err(e)
            }
        }
    }
    fn finish(&mut self) {
        self.lock = None;
        self.this = Value::None;
        self.fut = None;
    }
}

fn lock_init(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("Lock.__init__", a, 1)?;
    set_state(&a.pos[0], new_state(LockState::default()))?;
    Ok(Value::None)
}
fn lock_acquire(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = receiver::<LockState>(vm, a, "_locked")?;
    no_args("Lock.acquire", a, 1)?;
    let m = LockAcquire::new(st, std::mem::take(&mut a.pos[0]));
    Ok(Coro::value("Lock.acquire", m))
}
/// The eager form of `acquire` (see `vm::eager_await`): an uncontended lock is taken at
/// once, as the coroutine's first step does.
fn eager_lock_acquire(vm: &mut Vm, at: usize) -> Option<Value> {
    if vm.stack.len() != at + 1 {
        return None;
    }
    let lock = state_of::<LockState>(&vm.stack[at])?;
    if lock.locked.get() || !lock.waiters.borrow().iter().all(|w| cancelled(w)) {
        return None;
    }
    lock.locked.set(true);
    Some(Value::Bool(true))
}
fn lock_release(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    receiver::<LockState>(vm, a, "_locked")?.release()?;
    Ok(Value::None)
}
fn lock_locked(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(receiver::<LockState>(vm, a, "_locked")?.locked.get()))
}
fn lock_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = receiver::<LockState>(vm, a, "_locked")?;
    Ok(Value::string(primitive_repr(vm, &a.pos[0], &st.extra())))
}
fn lock_aenter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos[0].clone();
    let acq = if method_is(&this, Sym::new("acquire"), lock_acquire) {
        Acquire::Lock(LockAcquire::new(receiver::<LockState>(vm, a, "_locked")?, this))
    } else {
        Acquire::Script(None, this)
    };
    Ok(Coro::value("_ContextManagerMixin.__aenter__", AEnter { acq }))
}
fn lock_aexit(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let m = AExit { this: a.pos[0].clone() };
    Ok(Coro::value("_ContextManagerMixin.__aexit__", m))
}
fn lock_getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    private_attr::<LockState>(vm, a, |st, name| match name {
        "_locked" => Some(Value::Bool(st.locked.get())),
        "_waiters" => Some(waiter_list(&st.waiters)),
        _ => None,
    })
}

fn waiter_list(w: &Waiters) -> Value {
    Value::list(w.borrow().iter().map(super::future::future_value).collect())
}

// ---- `async with` (the `_ContextManagerMixin`) ----

/// What `__aenter__` (or a condition's `acquire`) awaits: a native acquire, or
/// `self.acquire()` of a subclass or foreign lock (started lazily).
enum Acquire {
    Lock(LockAcquire),
    Sem(SemAcquire),
    /// The awaitable, once created, and the object whose `acquire()` makes it.
    Script(Option<SubAwait>, Value),
    /// Finished.
    Done,
}

impl Acquire {
    fn traverse(&self, vis: &mut Visitor) {
        match self {
            Acquire::Lock(l) => Machine::traverse(l, vis),
            Acquire::Sem(x) => Machine::traverse(x, vis),
            Acquire::Script(sub, obj) => {
                if let Some(sub) = sub {
                    sub.traverse(vis);
                }
                vis.value(obj);
            }
            Acquire::Done => {}
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        match self {
            Acquire::Lock(m) => m.resume(vm, how),
            Acquire::Sem(m) => m.resume(vm, how),
            Acquire::Done => Err(finished()),
            Acquire::Script(sub, obj) => match sub {
                Some(s) => s.resume(vm, how),
                None => {
                    let aw = call_method(vm, obj, "acquire", vec![])?;
                    let s = SubAwait::new(vm, aw)?;
                    let r = s.resume(vm, how);
                    *sub = Some(s);
                    r
                }
            },
        }
    }
}

/// `__aenter__`: `await self.acquire(); return None`.
struct AEnter {
    acq: Acquire,
}

impl Machine for AEnter {
    fn traverse(&self, vis: &mut Visitor) {
        self.acq.traverse(vis);
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        match self.acq.resume(vm, how)? {
            GenResult::Return(_) => Ok(GenResult::Return(Value::None)),
            y => Ok(y),
        }
    }
    fn finish(&mut self) {
        self.acq = Acquire::Done;
    }
}

/// `__aexit__`: `self.release()`.
struct AExit {
    this: Value,
}

impl Machine for AExit {
    fn traverse(&self, vis: &mut Visitor) {
        vis.value(&self.this);
    }
    fn resume(&mut self, vm: &mut Vm, _how: Resume) -> Res<GenResult> {
        let this = &self.this;
        if method_is(this, Sym::new("release"), lock_release) {
            if let Some(st) = state_of::<LockState>(this) {
                st.release()?;
                return Ok(GenResult::Return(Value::None));
            }
        }
        if method_is(this, Sym::new("release"), sem_release) {
            if let Some(st) = state_of::<SemState>(this) {
                st.release()?;
                return Ok(GenResult::Return(Value::None));
            }
        }
        call_method(vm, this, "release", vec![])?;
        Ok(GenResult::Return(Value::None))
    }
    fn finish(&mut self) {
        self.this = Value::None;
    }
}

// ---------------------------------------------------------------------------------------
// Event

/// The state of an `asyncio.Event` (also a queue's `_finished` event).
#[derive(Default)]
pub struct EventState {
    value: Cell<bool>,
    waiters: Waiters,
    binding: LoopBinding,
}

impl EventState {
    /// `set()`: wakes every waiter.
    pub fn set(&self) {
        if !self.value.get() {
            self.value.set(true);
            let ws: Vec<Rc<FutureObj>> = self.waiters.borrow().iter().cloned().collect();
            for f in ws {
                if !f.done() {
                    let _ = f.set_result(Value::Bool(true));
                }
            }
        }
    }
    /// `clear()`.
    pub fn clear(&self) {
        self.value.set(false);
    }
    /// `is_set()`.
    pub fn is_set(&self) -> bool {
        self.value.get()
    }
    fn extra(&self) -> String {
        let s = if self.value.get() { "set" } else { "unset" };
        waiters_suffix(s.into(), self.waiters.borrow().len())
    }
}

/// `Event.wait()`.
pub struct EventWait {
    ev: Option<Rc<EventState>>,
    this: Value,
    fut: Option<Rc<FutureObj>>,
}

impl EventWait {
    /// Waits on `ev`; `this` is the script object for error messages (`None` for an
    /// internal event).
    pub fn new(ev: Rc<EventState>, this: Value) -> EventWait {
        EventWait { ev: Some(ev), this, fut: None }
    }
}

impl Machine for EventWait {
    fn traverse(&self, vis: &mut Visitor) {
        if let Some(e) = &self.ev {
            vis.rc(e);
        }
        vis.value(&self.this);
        if let Some(f) = &self.fut {
            vis.rc(f);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let Some(ev) = &self.ev else { return Err(finished()) };
        let Some(fut) = self.fut.take() else {
            if ev.value.get() {
                return Ok(GenResult::Return(Value::Bool(true)));
            }
            let this = self.this.clone();
            let e2 = ev.clone();
            let fut = ev.binding.new_waiter(vm, &|vm| {
                Ok(if this.is_none() {
                    format!("<asyncio.locks.Event object at 0x{:x} [{}]>", Rc::as_ptr(&e2) as usize, e2.extra())
                } else {
                    primitive_repr(vm, &this, &e2.extra())
                })
            })?;
            ev.waiters.borrow_mut().push_back(fut.clone());
            self.fut = Some(fut.clone());
            return yield_future(&fut);
        };
        let outcome = match how {
            Resume::Send(_) => awaited_result(vm, &fut),
            Resume::Throw(e) => Err(exc_of(e)),
        };
        remove_waiter(&ev.waiters, &fut);
        outcome.map(|_| GenResult::Return(Value::Bool(true)))
    }
    fn finish(&mut self) {
        self.ev = None;
        self.this = Value::None;
        self.fut = None;
    }
}

fn event_init(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("Event.__init__", a, 1)?;
    set_state(&a.pos[0], new_state(EventState::default()))?;
    Ok(Value::None)
}
fn event_state(vm: &Vm, a: &Args) -> Res<Rc<EventState>> {
    receiver::<EventState>(vm, a, "_value")
}
fn event_set(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    event_state(vm, a)?.set();
    Ok(Value::None)
}
fn event_clear(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    event_state(vm, a)?.clear();
    Ok(Value::None)
}
fn event_is_set(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(event_state(vm, a)?.is_set()))
}
fn event_wait(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = event_state(vm, a)?;
    no_args("Event.wait", a, 1)?;
    let m = EventWait::new(st, std::mem::take(&mut a.pos[0]));
    Ok(Coro::value("Event.wait", m))
}
/// The eager form of `wait`: a set event returns at once.
fn eager_event_wait(vm: &mut Vm, at: usize) -> Option<Value> {
    if vm.stack.len() != at + 1 {
        return None;
    }
    state_of::<EventState>(&vm.stack[at])?.value.get().then_some(Value::Bool(true))
}
fn event_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = event_state(vm, a)?;
    Ok(Value::string(primitive_repr(vm, &a.pos[0], &st.extra())))
}
fn event_getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    private_attr::<EventState>(vm, a, |st, name| match name {
        "_value" => Some(Value::Bool(st.value.get())),
        "_waiters" => Some(waiter_list(&st.waiters)),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------
// Semaphore and BoundedSemaphore

/// The state of an `asyncio.Semaphore` / `BoundedSemaphore`.
pub struct SemState {
    value: Cell<i64>,
    bound: Option<i64>,
    waiters: Waiters,
    binding: LoopBinding,
}

impl SemState {
    fn locked(&self) -> bool {
        self.value.get() == 0 || self.waiters.borrow().iter().any(|w| !cancelled(w))
    }
    fn wake_up_next(&self) {
        let next = self.waiters.borrow().iter().find(|f| !f.done()).cloned();
        if let Some(f) = next {
            self.value.set(self.value.get() - 1);
            let _ = f.set_result(Value::Bool(true));
        }
    }
    fn release(&self) -> Res<()> {
        if let Some(b) = self.bound {
            if self.value.get() >= b {
                return Err(Exc::value_error("BoundedSemaphore released too many times"));
            }
        }
        self.value.set(self.value.get() + 1);
        self.wake_up_next();
        Ok(())
    }
    fn extra(&self) -> String {
        let s = if self.locked() { "locked".to_string() } else { format!("unlocked, value:{}", self.value.get()) };
        waiters_suffix(s, self.waiters.borrow().len())
    }
}

/// `Semaphore.acquire()`.
pub struct SemAcquire {
    sem: Option<Rc<SemState>>,
    this: Value,
    fut: Option<Rc<FutureObj>>,
}

impl Machine for SemAcquire {
    fn traverse(&self, vis: &mut Visitor) {
        if let Some(x) = &self.sem {
            vis.rc(x);
        }
        vis.value(&self.this);
        if let Some(f) = &self.fut {
            vis.rc(f);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let Some(sem) = &self.sem else { return Err(finished()) };
        let Some(fut) = self.fut.take() else {
            if !sem.locked() {
                sem.value.set(sem.value.get() - 1);
                return Ok(GenResult::Return(Value::Bool(true)));
            }
            let this = self.this.clone();
            let s2 = sem.clone();
            let fut = sem.binding.new_waiter(vm, &|vm| Ok(primitive_repr(vm, &this, &s2.extra())))?;
            sem.waiters.borrow_mut().push_back(fut.clone());
            self.fut = Some(fut.clone());
            return yield_future(&fut);
        };
        let outcome = match how {
            Resume::Send(_) => awaited_result(vm, &fut),
            Resume::Throw(e) => Err(exc_of(e)),
        };
        remove_waiter(&sem.waiters, &fut);
        match outcome {
            Ok(_) => {
                if sem.value.get() > 0 {
                    sem.wake_up_next();
                }
                Ok(GenResult::Return(Value::Bool(true)))
            }
            Err(e) => {
                let (is_cancel, e) = is_cancelled_exc(vm, e);
                if is_cancel && !cancelled(&fut) {
                    sem.value.set(sem.value.get() + 1);
                    sem.wake_up_next();
                }
                Err(e)
            }
        }
    }
    fn finish(&mut self) {
        self.sem = None;
        self.this = Value::None;
        self.fut = None;
    }
}

fn sem_value_arg(vm: &mut Vm, a: &mut Args, name: &str) -> Res<i64> {
    let v = take_kw(a, "value");
    no_args(name, a, if v.is_some() { 1 } else { 2 })?;
    let v = v.or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::Int(1));
    let n = vm.index_value(&v)?;
    if n < 0 {
        return Err(Exc::value_error("Semaphore initial value must be >= 0"));
    }
    Ok(n)
}
fn sem_new_state(value: i64, bound: Option<i64>) -> Rc<SemState> {
    new_state(SemState { value: Cell::new(value), bound, waiters: Waiters::default(), binding: LoopBinding::default() })
}
fn sem_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = sem_value_arg(vm, a, "Semaphore.__init__")?;
    set_state(&a.pos[0], sem_new_state(n, None))?;
    Ok(Value::None)
}
fn bsem_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = sem_value_arg(vm, a, "BoundedSemaphore.__init__")?;
    set_state(&a.pos[0], sem_new_state(n, Some(n)))?;
    Ok(Value::None)
}
fn sem_state(vm: &Vm, a: &Args) -> Res<Rc<SemState>> {
    receiver::<SemState>(vm, a, "_value")
}
fn sem_acquire(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let sem = sem_state(vm, a)?;
    no_args("Semaphore.acquire", a, 1)?;
    let m = SemAcquire { sem: Some(sem), this: std::mem::take(&mut a.pos[0]), fut: None };
    Ok(Coro::value("Semaphore.acquire", m))
}
/// The eager form of `acquire`: a semaphore that is not locked gives a permit at once.
fn eager_sem_acquire(vm: &mut Vm, at: usize) -> Option<Value> {
    if vm.stack.len() != at + 1 {
        return None;
    }
    let sem = state_of::<SemState>(&vm.stack[at])?;
    if sem.locked() {
        return None;
    }
    sem.value.set(sem.value.get() - 1);
    Some(Value::Bool(true))
}
fn sem_release(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    sem_state(vm, a)?.release()?;
    Ok(Value::None)
}
fn sem_locked(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(sem_state(vm, a)?.locked()))
}
fn sem_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = sem_state(vm, a)?;
    Ok(Value::string(primitive_repr(vm, &a.pos[0], &st.extra())))
}
fn sem_aenter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos[0].clone();
    let acq = if method_is(&this, Sym::new("acquire"), sem_acquire) {
        Acquire::Sem(SemAcquire { sem: Some(sem_state(vm, a)?), this, fut: None })
    } else {
        Acquire::Script(None, this)
    };
    Ok(Coro::value("_ContextManagerMixin.__aenter__", AEnter { acq }))
}
fn sem_getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    private_attr::<SemState>(vm, a, |st, name| match name {
        "_value" => Some(Value::Int(st.value.get())),
        "_bound_value" if st.bound.is_some() => st.bound.map(Value::Int),
        "_waiters" => Some(waiter_list(&st.waiters)),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------
// Condition

/// The lock under a condition: a native `Lock`, or any object with `locked()`, `acquire()`
/// and `release()` (bound when the condition is created, as CPython does).
enum CondLock {
    Native { state: Rc<LockState>, obj: Value },
    Foreign { obj: Value, locked: Value, acquire: Value, release: Value },
}

/// The state of an `asyncio.Condition`.
pub struct CondState {
    lock: CondLock,
    waiters: Waiters,
    binding: LoopBinding,
}

impl CondState {
    fn lock_obj(&self) -> &Value {
        match &self.lock {
            CondLock::Native { obj, .. } | CondLock::Foreign { obj, .. } => obj,
        }
    }
    fn locked(&self, vm: &mut Vm) -> Res<bool> {
        match &self.lock {
            CondLock::Native { state, .. } => Ok(state.locked.get()),
            CondLock::Foreign { locked, .. } => {
                let r = vm.call(locked, vec![])?;
                vm.truthy(&r)
            }
        }
    }
    fn release(&self, vm: &mut Vm) -> Res<()> {
        match &self.lock {
            CondLock::Native { state, .. } => state.release(),
            CondLock::Foreign { release, .. } => vm.call(release, vec![]).map(|_| ()),
        }
    }
    fn acquire(&self, vm: &mut Vm) -> Res<Acquire> {
        Ok(match &self.lock {
            CondLock::Native { state, obj } => Acquire::Lock(LockAcquire::new(state.clone(), obj.clone())),
            CondLock::Foreign { acquire, .. } => {
                let aw = vm.call(acquire, vec![])?;
                Acquire::Script(Some(SubAwait::new(vm, aw)?), Value::None)
            }
        })
    }
    fn notify(&self, vm: &mut Vm, n: i64) -> Res<()> {
        if !self.locked(vm)? {
            return Err(Exc::runtime_error("cannot notify on un-acquired lock"));
        }
        let ws: Vec<Rc<FutureObj>> = self.waiters.borrow().iter().cloned().collect();
        let mut idx = 0;
        for f in ws {
            if idx >= n {
                break;
            }
            if !f.done() {
                idx += 1;
                let _ = f.set_result(Value::Bool(false));
            }
        }
        Ok(())
    }
    fn notify_all(&self, vm: &mut Vm) -> Res<()> {
        let n = self.waiters.borrow().len() as i64;
        self.notify(vm, n)
    }
    fn extra(&self, vm: &mut Vm) -> Res<String> {
        let s = if self.locked(vm)? { "locked" } else { "unlocked" };
        Ok(waiters_suffix(s.into(), self.waiters.borrow().len()))
    }
}

enum WaitPhase {
    Start,
    Waiting(Rc<FutureObj>),
    /// Re-acquiring the lock (even when cancelled), then giving `outcome`.
    Reacquire {
        outcome: Res<()>,
        cancelled: bool,
        acq: Option<Acquire>,
    },
    Done,
}

/// `Condition.wait()`.
pub struct CondWait {
    cond: Rc<CondState>,
    this: Value,
    phase: WaitPhase,
}

impl CondWait {
    fn new(cond: Rc<CondState>, this: Value) -> CondWait {
        CondWait { cond, this, phase: WaitPhase::Start }
    }
}

impl Machine for CondWait {
    fn traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.cond);
        vis.value(&self.this);
        match &self.phase {
            WaitPhase::Waiting(f) => vis.rc(f),
            WaitPhase::Reacquire { acq: Some(acq), .. } => acq.traverse(vis),
            _ => {}
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let cond = self.cond.clone();
        let mut how = how;
        loop {
            match std::mem::replace(&mut self.phase, WaitPhase::Done) {
                WaitPhase::Start => {
                    if !cond.locked(vm)? {
                        return Err(Exc::runtime_error("cannot wait on un-acquired lock"));
                    }
                    cond.release(vm)?;
                    let this = self.this.clone();
                    let c2 = cond.clone();
                    match cond.binding.new_waiter(vm, &|vm| {
                        let extra = c2.extra(vm)?;
                        Ok(primitive_repr(vm, &this, &extra))
                    }) {
                        Ok(fut) => {
                            cond.waiters.borrow_mut().push_back(fut.clone());
                            self.phase = WaitPhase::Waiting(fut.clone());
                            return yield_future(&fut);
                        }
                        Err(e) => {
                            self.phase = WaitPhase::Reacquire { outcome: Err(e), cancelled: false, acq: None };
                        }
                    }
                }
                WaitPhase::Waiting(fut) => {
                    let outcome = match std::mem::replace(&mut how, Resume::Send(Value::None)) {
                        Resume::Send(_) => awaited_result(vm, &fut).map(|_| ()),
                        Resume::Throw(e) => Err(exc_of(e)),
                    };
                    remove_waiter(&cond.waiters, &fut);
                    self.phase = WaitPhase::Reacquire { outcome, cancelled: false, acq: None };
                }
                WaitPhase::Reacquire { outcome, mut cancelled, acq } => {
                    let (mut acq, step) = match acq {
                        Some(a) => (a, std::mem::replace(&mut how, Resume::Send(Value::None))),
                        None => (cond.acquire(vm)?, Resume::Send(Value::None)),
                    };
                    match acq.resume(vm, step) {
                        Ok(GenResult::Yield(y)) => {
                            self.phase = WaitPhase::Reacquire { outcome, cancelled, acq: Some(acq) };
                            return Ok(GenResult::Yield(y));
                        }
                        Ok(GenResult::Return(_)) => {
                            if cancelled {
                                return Err(Exc::new(ExcKind::CancelledError, ""));
                            }
                            return outcome.map(|_| GenResult::Return(Value::Bool(true)));
                        }
                        Err(e) => {
                            let (is_cancel, e) = is_cancelled_exc(vm, e);
                            if !is_cancel {
                                return Err(e);
                            }
                            cancelled = true;
                            self.phase = WaitPhase::Reacquire { outcome, cancelled, acq: None };
                        }
                    }
                }
                WaitPhase::Done => return Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
            }
        }
    }
}

/// The predicate of `wait_for`: a script callable, or one of the barrier's.
enum Predicate {
    Script(Value),
    /// `state not in (DRAINING, RESETTING)`.
    BarrierReady(Rc<BarrierState>),
    /// `state is not FILLING`.
    BarrierFilled(Rc<BarrierState>),
}

impl Predicate {
    fn eval(&self, vm: &mut Vm) -> Res<(Value, bool)> {
        match self {
            Predicate::Script(f) => {
                let r = vm.call(f, vec![])?;
                let t = vm.truthy(&r)?;
                Ok((r, t))
            }
            Predicate::BarrierReady(b) => {
                let ok = !matches!(b.state.get(), BState::Draining | BState::Resetting);
                Ok((Value::Bool(ok), ok))
            }
            Predicate::BarrierFilled(b) => {
                let ok = b.state.get() != BState::Filling;
                Ok((Value::Bool(ok), ok))
            }
        }
    }
}

/// `Condition.wait_for(predicate)`.
pub struct CondWaitFor {
    cond: Rc<CondState>,
    this: Value,
    pred: Predicate,
    wait: Option<CondWait>,
}

impl Machine for CondWaitFor {
    fn traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.cond);
        vis.value(&self.this);
        match &self.pred {
            Predicate::Script(v) => vis.value(v),
            Predicate::BarrierReady(b) | Predicate::BarrierFilled(b) => vis.rc(b),
        }
        if let Some(w) = &self.wait {
            w.traverse(vis);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let mut how = how;
        loop {
            match &mut self.wait {
                None => {
                    let (r, t) = self.pred.eval(vm)?;
                    if t {
                        return Ok(GenResult::Return(r));
                    }
                    self.wait = Some(CondWait::new(self.cond.clone(), self.this.clone()));
                    how = Resume::Send(Value::None);
                }
                Some(w) => match w.resume(vm, std::mem::replace(&mut how, Resume::Send(Value::None)))? {
                    GenResult::Yield(y) => return Ok(GenResult::Yield(y)),
                    GenResult::Return(_) => self.wait = None,
                },
            }
        }
    }
}

fn new_condition_state(vm: &mut Vm, lock: Value) -> Res<Rc<CondState>> {
    let native = state_of::<LockState>(&lock).filter(|_| {
        method_is(&lock, Sym::new("acquire"), lock_acquire)
            && method_is(&lock, Sym::new("release"), lock_release)
            && method_is(&lock, Sym::new("locked"), lock_locked)
    });
    let cl = match native {
        Some(state) => CondLock::Native { state, obj: lock },
        None => {
            let locked = vm.get_attr(&lock, Sym::new("locked"))?;
            let acquire = vm.get_attr(&lock, Sym::new("acquire"))?;
            let release = vm.get_attr(&lock, Sym::new("release"))?;
            CondLock::Foreign { obj: lock, locked, acquire, release }
        }
    };
    Ok(new_state(CondState { lock: cl, waiters: Waiters::default(), binding: LoopBinding::default() }))
}

fn new_lock(vm: &mut Vm) -> Res<Value> {
    let _ = vm;
    let lock = bare_instance(&class_of(|c| &c.lock)?);
    set_state(&lock, new_state(LockState::default()))?;
    Ok(lock)
}

fn cond_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lock = take_kw(a, "lock");
    no_args("Condition.__init__", a, if lock.is_some() { 1 } else { 2 })?;
    let lock = match lock.or_else(|| a.pos.get(1).cloned()) {
        Some(l) if !l.is_none() => l,
        _ => new_lock(vm)?,
    };
    let st = new_condition_state(vm, lock)?;
    set_state(&a.pos[0], st)?;
    Ok(Value::None)
}
fn cond_state(vm: &Vm, a: &Args) -> Res<Rc<CondState>> {
    receiver::<CondState>(vm, a, "_lock")
}
fn cond_locked(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    match &st.lock {
        CondLock::Native { state, .. } => Ok(Value::Bool(state.locked.get())),
        CondLock::Foreign { locked, .. } => vm.call(locked, a.pos[1..].to_vec()),
    }
}
fn cond_acquire(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    match &st.lock {
        CondLock::Native { state, obj } => {
            Ok(Coro::value("Lock.acquire", LockAcquire::new(state.clone(), obj.clone())))
        }
        CondLock::Foreign { acquire, .. } => vm.call(acquire, a.pos[1..].to_vec()),
    }
}
fn cond_release(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    match &st.lock {
        CondLock::Native { state, .. } => state.release().map(|_| Value::None),
        CondLock::Foreign { release, .. } => vm.call(release, a.pos[1..].to_vec()),
    }
}
fn cond_wait(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    no_args("Condition.wait", a, 1)?;
    Ok(Coro::value("Condition.wait", CondWait::new(st, a.pos[0].clone())))
}
fn cond_wait_for(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    let pred = take_kw(a, "predicate").or_else(|| a.pos.get(1).cloned());
    let Some(pred) = pred else {
        return Err(Exc::type_error("Condition.wait_for() missing 1 required positional argument: 'predicate'"));
    };
    Ok(Coro::value(
        "Condition.wait_for",
        CondWaitFor { cond: st, this: a.pos[0].clone(), pred: Predicate::Script(pred), wait: None },
    ))
}
fn cond_notify(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    let n = take_kw(a, "n").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::Int(1));
    let n = vm.index_value(&n)?;
    st.notify(vm, n)?;
    Ok(Value::None)
}
fn cond_notify_all(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cond_state(vm, a)?.notify_all(vm)?;
    Ok(Value::None)
}
fn cond_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = cond_state(vm, a)?;
    let extra = st.extra(vm)?;
    Ok(Value::string(primitive_repr(vm, &a.pos[0], &extra)))
}
fn cond_aenter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos[0].clone();
    let acq = if method_is(&this, Sym::new("acquire"), cond_acquire) {
        cond_state(vm, a)?.acquire(vm)?
    } else {
        Acquire::Script(None, this)
    };
    Ok(Coro::value("_ContextManagerMixin.__aenter__", AEnter { acq }))
}
fn cond_getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    private_attr::<CondState>(vm, a, |st, name| match name {
        "_lock" => Some(st.lock_obj().clone()),
        "_waiters" => Some(waiter_list(&st.waiters)),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------
// Barrier

#[derive(Clone, Copy, PartialEq, Eq)]
enum BState {
    Filling,
    Draining,
    Resetting,
    Broken,
}

impl BState {
    fn value(self) -> &'static str {
        match self {
            BState::Filling => "filling",
            BState::Draining => "draining",
            BState::Resetting => "resetting",
            BState::Broken => "broken",
        }
    }
}

/// The state of an `asyncio.Barrier`.
pub struct BarrierState {
    cond: Rc<CondState>,
    cond_obj: Value,
    parties: i64,
    state: Cell<BState>,
    count: Cell<i64>,
}

impl BarrierState {
    fn n_waiting(&self) -> i64 {
        if self.state.get() == BState::Filling {
            self.count.get()
        } else {
            0
        }
    }
    fn extra(&self) -> String {
        let mut s = self.state.get().value().to_string();
        if self.state.get() != BState::Broken {
            s.push_str(&format!(", waiters:{}/{}", self.n_waiting(), self.parties));
        }
        s
    }
    /// `_exit()`: the last task out of a draining or resetting barrier refills it.
    fn exit(&self, vm: &mut Vm) -> Res<()> {
        if self.count.get() == 0 {
            if matches!(self.state.get(), BState::Resetting | BState::Draining) {
                self.state.set(BState::Filling);
            }
            self.cond.notify_all(vm)?;
        }
        Ok(())
    }
    fn acquire(&self) -> Acquire {
        match &self.cond.lock {
            CondLock::Native { state, obj } => Acquire::Lock(LockAcquire::new(state.clone(), obj.clone())),
            CondLock::Foreign { .. } => Acquire::Script(None, self.cond_obj.clone()),
        }
    }
}

fn broken_barrier(msg: &str) -> Exc {
    Exc::new(ExcKind::BrokenBarrierError, msg)
}

enum BPhase {
    /// `async with self._cond` (acquiring).
    Enter(Acquire),
    /// `await self._block()`.
    Block(CondWaitFor),
    /// `await self._wait()` with the task's index.
    Wait(CondWaitFor, i64),
    Done,
}

/// `Barrier.wait()`.
pub struct BarrierWait {
    b: Rc<BarrierState>,
    phase: BPhase,
}

impl BarrierWait {
    fn wait_for(&self, pred: Predicate) -> CondWaitFor {
        CondWaitFor { cond: self.b.cond.clone(), this: self.b.cond_obj.clone(), pred, wait: None }
    }
    /// Leaves `async with self._cond`: releases the lock, then gives `outcome`.
    fn leave(&self, vm: &mut Vm, outcome: Res<Value>) -> Res<GenResult> {
        self.b.cond.release(vm)?;
        outcome.map(GenResult::Return)
    }
    /// The `finally` of the `try` in `wait()`, then leaving the `async with`.
    fn end_try(&self, vm: &mut Vm, outcome: Res<Value>) -> Res<GenResult> {
        let b = &self.b;
        b.count.set(b.count.get() - 1);
        if let Err(e) = b.exit(vm) {
            return self.leave(vm, Err(e));
        }
        self.leave(vm, outcome)
    }
}

impl Machine for BarrierWait {
    fn traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.b);
        match &self.phase {
            BPhase::Enter(acq) => acq.traverse(vis),
            BPhase::Block(w) | BPhase::Wait(w, _) => w.traverse(vis),
            BPhase::Done => {}
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let mut how = how;
        loop {
            let step = std::mem::replace(&mut how, Resume::Send(Value::None));
            match std::mem::replace(&mut self.phase, BPhase::Done) {
                BPhase::Enter(mut acq) => match acq.resume(vm, step)? {
                    GenResult::Yield(y) => {
                        self.phase = BPhase::Enter(acq);
                        return Ok(GenResult::Yield(y));
                    }
                    GenResult::Return(_) => {
                        self.phase = BPhase::Block(self.wait_for(Predicate::BarrierReady(self.b.clone())));
                    }
                },
                BPhase::Block(mut w) => match w.resume(vm, step) {
                    Ok(GenResult::Yield(y)) => {
                        self.phase = BPhase::Block(w);
                        return Ok(GenResult::Yield(y));
                    }
                    Err(e) => return self.leave(vm, Err(e)),
                    Ok(GenResult::Return(_)) => {
                        let b = self.b.clone();
                        if b.state.get() == BState::Broken {
                            return self.leave(vm, Err(broken_barrier("Barrier aborted")));
                        }
                        let index = b.count.get();
                        b.count.set(index + 1);
                        if index + 1 == b.parties {
                            b.state.set(BState::Draining);
                            let r = b.cond.notify_all(vm).map(|_| Value::Int(index));
                            return self.end_try(vm, r);
                        }
                        self.phase = BPhase::Wait(self.wait_for(Predicate::BarrierFilled(b)), index);
                    }
                },
                BPhase::Wait(mut w, index) => match w.resume(vm, step) {
                    Ok(GenResult::Yield(y)) => {
                        self.phase = BPhase::Wait(w, index);
                        return Ok(GenResult::Yield(y));
                    }
                    Err(e) => return self.end_try(vm, Err(e)),
                    Ok(GenResult::Return(_)) => {
                        let r = if matches!(self.b.state.get(), BState::Broken | BState::Resetting) {
                            Err(broken_barrier("Abort or reset of barrier"))
                        } else {
                            Ok(Value::Int(index))
                        };
                        return self.end_try(vm, r);
                    }
                },
                BPhase::Done => return Err(Exc::runtime_error("cannot reuse already awaited coroutine")),
            }
        }
    }
}

/// `Barrier.reset()` and `Barrier.abort()`: under the condition's lock, change the state
/// and notify everyone.
pub struct BarrierChange {
    b: Rc<BarrierState>,
    abort: bool,
    acq: Acquire,
}

impl Machine for BarrierChange {
    fn traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.b);
        self.acq.traverse(vis);
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        if let GenResult::Yield(y) = self.acq.resume(vm, how)? {
            return Ok(GenResult::Yield(y));
        }
        let b = &self.b;
        if self.abort {
            b.state.set(BState::Broken);
        } else if b.count.get() > 0 {
            if b.state.get() != BState::Resetting {
                b.state.set(BState::Resetting);
            }
        } else {
            b.state.set(BState::Filling);
        }
        let r = b.cond.notify_all(vm);
        b.cond.release(vm)?;
        r.map(|_| GenResult::Return(Value::None))
    }
}

/// An `async def` with nothing to await (`Barrier.__aexit__`).
struct Ready;

impl Machine for Ready {
    fn resume(&mut self, _vm: &mut Vm, _how: Resume) -> Res<GenResult> {
        Ok(GenResult::Return(Value::None))
    }
}

fn barrier_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let parties = take_kw(a, "parties").or_else(|| a.pos.get(1).cloned());
    let Some(parties) = parties else {
        return Err(Exc::type_error("Barrier.__init__() missing 1 required positional argument: 'parties'"));
    };
    no_args("Barrier.__init__", a, 2)?;
    let parties = vm.index_value(&parties)?;
    if parties < 1 {
        return Err(Exc::value_error("parties must be > 0"));
    }
    let cond_obj = bare_instance(&class_of(|c| &c.condition)?);
    let lock = new_lock(vm)?;
    let cond = new_condition_state(vm, lock)?;
    set_state(&cond_obj, cond.clone())?;
    let st = BarrierState { cond, cond_obj, parties, state: Cell::new(BState::Filling), count: Cell::new(0) };
    set_state(&a.pos[0], new_state(st))?;
    Ok(Value::None)
}
fn barrier_state(vm: &Vm, a: &Args) -> Res<Rc<BarrierState>> {
    receiver::<BarrierState>(vm, a, "_state")
}
fn barrier_wait(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = barrier_state(vm, a)?;
    no_args("Barrier.wait", a, 1)?;
    let acq = b.acquire();
    Ok(Coro::value("Barrier.wait", BarrierWait { b, phase: BPhase::Enter(acq) }))
}
fn barrier_aenter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos[0].clone();
    if method_is(&this, Sym::new("wait"), barrier_wait) {
        let b = barrier_state(vm, a)?;
        let acq = b.acquire();
        return Ok(Coro::value("Barrier.__aenter__", BarrierWait { b, phase: BPhase::Enter(acq) }));
    }
    let aw = call_method(vm, &this, "wait", vec![])?;
    Ok(Coro::value("Barrier.__aenter__", Delegate(SubAwait::new(vm, aw)?)))
}
fn barrier_aexit(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Coro::value("Barrier.__aexit__", Ready))
}
fn barrier_change(vm: &mut Vm, a: &mut Args, abort: bool) -> Res<Value> {
    let b = barrier_state(vm, a)?;
    let acq = b.acquire();
    let name = if abort { "Barrier.abort" } else { "Barrier.reset" };
    Ok(Coro::value(name, BarrierChange { b, abort, acq }))
}
fn barrier_reset(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    barrier_change(vm, a, false)
}
fn barrier_abort(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    barrier_change(vm, a, true)
}
fn barrier_parties(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(barrier_state(vm, a)?.parties))
}
fn barrier_n_waiting(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(barrier_state(vm, a)?.n_waiting()))
}
fn barrier_broken(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(barrier_state(vm, a)?.state.get() == BState::Broken))
}
fn barrier_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let st = barrier_state(vm, a)?;
    Ok(Value::string(primitive_repr(vm, &a.pos[0], &st.extra())))
}
fn barrier_getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    private_attr::<BarrierState>(vm, a, |st, name| match name {
        "_cond" => Some(st.cond_obj.clone()),
        "_parties" => Some(Value::Int(st.parties)),
        "_count" => Some(Value::Int(st.count.get())),
        _ => None,
    })
}

/// Awaits a script awaitable to the end and returns its result.
struct Delegate(SubAwait);

impl Machine for Delegate {
    fn traverse(&self, vis: &mut Visitor) {
        self.0.traverse(vis);
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        self.0.resume(vm, how)
    }
}

// ---------------------------------------------------------------------------------------

const LOCK_METHODS: &[(&str, NativeFn)] = &[
    ("__init__", lock_init),
    ("acquire", lock_acquire),
    ("release", lock_release),
    ("locked", lock_locked),
    ("__repr__", lock_repr),
    ("__aenter__", lock_aenter),
    ("__aexit__", lock_aexit),
    ("__getattr__", lock_getattr),
];
const EVENT_METHODS: &[(&str, NativeFn)] = &[
    ("__init__", event_init),
    ("set", event_set),
    ("clear", event_clear),
    ("is_set", event_is_set),
    ("wait", event_wait),
    ("__repr__", event_repr),
    ("__getattr__", event_getattr),
];
const SEM_METHODS: &[(&str, NativeFn)] = &[
    ("__init__", sem_init),
    ("acquire", sem_acquire),
    ("release", sem_release),
    ("locked", sem_locked),
    ("__repr__", sem_repr),
    ("__aenter__", sem_aenter),
    ("__aexit__", lock_aexit),
    ("__getattr__", sem_getattr),
];
const COND_METHODS: &[(&str, NativeFn)] = &[
    ("__init__", cond_init),
    ("locked", cond_locked),
    ("acquire", cond_acquire),
    ("release", cond_release),
    ("wait", cond_wait),
    ("wait_for", cond_wait_for),
    ("notify", cond_notify),
    ("notify_all", cond_notify_all),
    ("__repr__", cond_repr),
    ("__aenter__", cond_aenter),
    ("__aexit__", lock_aexit),
    ("__getattr__", cond_getattr),
];
const BARRIER_METHODS: &[(&str, NativeFn)] = &[
    ("__init__", barrier_init),
    ("wait", barrier_wait),
    ("reset", barrier_reset),
    ("abort", barrier_abort),
    ("__repr__", barrier_repr),
    ("__aenter__", barrier_aenter),
    ("__aexit__", barrier_aexit),
    ("__getattr__", barrier_getattr),
];
const BARRIER_PROPS: &[(&str, NativeFn)] =
    &[("parties", barrier_parties), ("n_waiting", barrier_n_waiting), ("broken", barrier_broken)];

/// Adds the primitives to `_asyncio`.
pub fn register(vm: &mut Vm, m: &Module) {
    let lock = native_class(vm, "Lock", MODULE, None, LOCK_METHODS, &[]);
    let event = native_class(vm, "Event", MODULE, None, EVENT_METHODS, &[]);
    let sem = native_class(vm, "Semaphore", MODULE, None, SEM_METHODS, &[]);
    let bsem = native_class(
        vm,
        "BoundedSemaphore",
        MODULE,
        Some(&sem),
        &[("__init__", bsem_init), ("release", sem_release)],
        &[],
    );
    let cond = native_class(vm, "Condition", MODULE, None, COND_METHODS, &[]);
    let barrier = native_class(vm, "Barrier", MODULE, None, BARRIER_METHODS, BARRIER_PROPS);
    for (name, c) in [
        ("Lock", &lock),
        ("Event", &event),
        ("Semaphore", &sem),
        ("BoundedSemaphore", &bsem),
        ("Condition", &cond),
        ("Barrier", &barrier),
    ] {
        m.set(Sym::new(name), Value::Class(c.clone()));
    }
    CLASSES.with(|c| *c.borrow_mut() = Some(Classes { lock, condition: cond }));
    vm.register_eager_await(lock_acquire, eager_lock_acquire);
    vm.register_eager_await(event_wait, eager_event_wait);
    vm.register_eager_await(sem_acquire, eager_sem_acquire);
}

// ---------------------------------------------------------------------------------------
// The cycle collector's view of the states: their waiter futures (and a condition's lock, a
// barrier's condition), so that a task blocked on a primitive nothing else references is
// garbage, as in CPython.

/// Implements `NativeObject` for a state whose only cyclic contents are its waiters.
macro_rules! waiters_state {
    ($t:ty) => {
        impl NativeObject for $t {
            fn type_name(&self) -> &'static str {
                "native_state"
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
            fn gc_traverse(&self, vis: &mut Visitor) {
                traverse_waiters(&self.waiters, vis);
            }
            fn gc_clear(&self) {
                clear_waiters(&self.waiters);
            }
        }
    };
}

waiters_state!(LockState);
waiters_state!(EventState);
waiters_state!(SemState);

impl NativeObject for CondState {
    fn type_name(&self) -> &'static str {
        "native_state"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn gc_traverse(&self, vis: &mut Visitor) {
        match &self.lock {
            CondLock::Native { state, obj } => {
                vis.rc(state);
                vis.value(obj);
            }
            CondLock::Foreign { obj, locked, acquire, release } => {
                [obj, locked, acquire, release].into_iter().for_each(|v| vis.value(v));
            }
        }
        traverse_waiters(&self.waiters, vis);
    }
    fn gc_clear(&self) {
        clear_waiters(&self.waiters);
    }
}

impl NativeObject for BarrierState {
    fn type_name(&self) -> &'static str {
        "native_state"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn gc_traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.cond);
        vis.value(&self.cond_obj);
    }
}
