//! Futures and tasks: results delivered through done callbacks scheduled on the loop, and
//! tasks that drive a coroutine one step per ready callback.

use super::event_loop::{Callback, EventLoop, MethodOwner};
use crate::vm::gen::GenResult;
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::cell::Cell;
use std::rc::Rc;

/// A future's state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Not done.
    Pending,
    /// Has a result or an exception.
    Finished,
    /// Cancelled.
    Cancelled,
}

/// What a cancellation leaves on a future: CPython's `_cancel_message` and
/// `_cancelled_exc`, which never both hold something, so one field keeps futures small.
pub enum Cancellation {
    /// The message given to `cancel()` (`None` when none was).
    Msg(Value),
    /// The `CancelledError` a task's coroutine ended with, handed out once by the next
    /// `result()`/`exception()`/await; the message is `None` meanwhile and afterwards.
    Raised(Rc<crate::vm::value::Instance>),
}

/// The part of a future that tasks use (a plain future holds it empty).
pub struct TaskPart {
    /// The coroutine the task drives.
    coro: TaskCoro,
    /// The future the task is waiting on.
    pub waiter: Cell<Option<Rc<FutureObj>>>,
}

/// A task's coroutine: nearly always a script coroutine; anything else is held in the
/// future's rarely used part ([`Rare::coro`]), so that this is one word.
enum TaskCoro {
    /// A script coroutine.
    Gen(Rc<crate::vm::gen::GenObj>),
    /// Any other awaitable the task drives (a native coroutine), or none (a plain future).
    Other,
}

/// What a new task drives and how it is named (see [`FutureObj::new`]).
pub struct NewTask {
    /// The coroutine (or native awaitable).
    pub coro: Value,
    /// The `N` of its default name `Task-N` (0: the name is set separately).
    pub number: u32,
}

/// The bits of [`FutureObj::flags`].
mod bit {
    pub const FAILED: u8 = 1;
    pub const RETRIEVED: u8 = 2;
    pub const MUST_CANCEL: u8 = 4;
    pub const CANCEL_REQUESTED: u8 = 8;
    pub const LOG_DESTROY_PENDING: u8 = 16;
    pub const TASK: u8 = 32;
}

/// One of a future's yes/no fields, packed with the others into one byte: read and written
/// like a `Cell<bool>`.
pub struct Flag<'a> {
    bits: &'a Cell<u8>,
    mask: u8,
}

impl Flag<'_> {
    /// The value.
    #[inline]
    pub fn get(&self) -> bool {
        self.bits.get() & self.mask != 0
    }
    /// Sets the value.
    #[inline]
    pub fn set(&self, on: bool) {
        let b = self.bits.get();
        self.bits.set(if on { b | self.mask } else { b & !self.mask });
    }
}

/// What few futures need, boxed so that the others pay one pointer: the cancellation, a
/// gathering future's children, a task's name when it is not a default one, its count of
/// cancellation requests, and the awaitable it drives when that is not a script coroutine.
#[derive(Default)]
struct Rare {
    /// `cancelling()`: the task's pending cancellation requests.
    cancels: u32,
    /// A task's native coroutine (see [`TaskCoro::Other`]).
    coro: Option<Value>,
    /// The `cancel()` message or the `CancelledError` a task ended with.
    cancel: Option<Cancellation>,
    /// For the future `gather()` returns: its children, which `cancel()` cancels instead of
    /// the future itself (CPython's `_GatheringFuture`).
    gather_children: Option<Gathered>,
    /// A task's name given by `name=`/`set_name` (a `str`).
    name: Option<Value>,
}

/// A gathering future's children (see [`FutureObj::cancel`]).
pub enum Gathered {
    /// Listed here (the `gather` written in aio, for arguments hashed by value).
    List(Vec<Rc<FutureObj>>),
    /// Those of the native `gather`'s state, shared rather than copied (100k children are
    /// 800 KB), until the gathering future is done and they are not needed any more.
    Native(Rc<super::gather::Gather>),
}

/// A done callback: a script (or native) callable called with the future, or the wake-up
/// of a task awaiting the future (CPython's `TaskWakeupMethWrapper`), which the loop runs
/// without any call object.
pub enum DoneCallback {
    /// `callback(future)` (boxed, so that a callback is two words).
    Call(Box<Value>),
    /// Resume this task with the future's outcome.
    Wakeup(Rc<FutureObj>),
    /// `gather()`'s `_done_callback` (see `gather.rs`).
    Gather(Rc<super::gather::Gather>),
    /// `functools.partial(_release_waiter, waiter)` (see `wait_for.rs`).
    Release(Rc<FutureObj>),
}

/// A future's done callbacks in the order added: most futures get exactly one (the task
/// awaiting it, or `gather`'s), which is held inline so it costs no allocation.
#[derive(Default)]
pub enum DoneCallbacks {
    /// None.
    #[default]
    Empty,
    /// Exactly one.
    One(DoneCallback),
    /// Two or more (boxed, so that the one-callback case stays three words).
    Many(Box<Vec<DoneCallback>>),
}

impl DoneCallbacks {
    /// Adds a callback after the others.
    pub fn push(&mut self, cb: DoneCallback) {
        match std::mem::take(self) {
            DoneCallbacks::Empty => *self = DoneCallbacks::One(cb),
            DoneCallbacks::One(first) => *self = DoneCallbacks::Many(Box::new(vec![first, cb])),
            DoneCallbacks::Many(mut v) => {
                v.push(cb);
                *self = DoneCallbacks::Many(v);
            }
        }
    }
    /// The callbacks in order.
    pub fn iter(&self) -> std::slice::Iter<'_, DoneCallback> {
        match self {
            DoneCallbacks::Empty => [].iter(),
            DoneCallbacks::One(cb) => std::slice::from_ref(cb).iter(),
            DoneCallbacks::Many(v) => v.iter(),
        }
    }
    /// Keeps only the callbacks for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&DoneCallback) -> bool) {
        match self {
            DoneCallbacks::Empty => {}
            DoneCallbacks::One(cb) => {
                if !keep(cb) {
                    *self = DoneCallbacks::Empty;
                }
            }
            DoneCallbacks::Many(v) => v.retain(keep),
        }
    }
}

impl IntoIterator for DoneCallbacks {
    type Item = DoneCallback;
    type IntoIter = std::iter::Chain<std::option::IntoIter<DoneCallback>, std::vec::IntoIter<DoneCallback>>;
    fn into_iter(self) -> Self::IntoIter {
        match self {
            DoneCallbacks::Empty => None.into_iter().chain(Vec::new()),
            DoneCallbacks::One(cb) => Some(cb).into_iter().chain(Vec::new()),
            DoneCallbacks::Many(v) => None.into_iter().chain(*v),
        }
    }
}

impl Extend<DoneCallback> for DoneCallbacks {
    fn extend<I: IntoIterator<Item = DoneCallback>>(&mut self, iter: I) {
        iter.into_iter().for_each(|cb| self.push(cb));
    }
}

impl TaskPart {
    /// The future the task is waiting on.
    pub fn waiter(&self) -> Option<Rc<FutureObj>> {
        let w = self.waiter.take();
        self.waiter.set(w.clone());
        w
    }
}

/// A copy of the value in `c`.
fn peek(c: &Cell<Value>) -> Value {
    let v = c.take();
    let out = v.clone();
    c.set(v);
    out
}

/// `asyncio.Future` and `asyncio.Task`. Pending tasks can be many (each holds one), so
/// the layout is kept to 88 bytes (with the `Rc` counts, 104: glibc's 112-byte chunk):
/// cells rather than `RefCell`s (their contents are only ever moved in and out or cloned),
/// the yes/no fields in one byte, and what few futures use in one boxed [`Rare`].
pub struct FutureObj {
    /// The loop it belongs to.
    pub lp: Rc<EventLoop>,
    /// The result once finished, or the exception when `failed` (one cell: a future never
    /// has both).
    outcome: Cell<Value>,
    /// Done callbacks, in the order added.
    callbacks: Cell<DoneCallbacks>,
    /// The cancellation, a gathering future's children, a task's given name, ...
    rare: Cell<Option<Box<Rare>>>,
    /// For tasks (see [`FutureObj::task`]): the coroutine and the future it waits on.
    task: TaskPart,
    /// A weak self-reference, to turn `&FutureObj` back into the shared handle.
    me: std::rc::Weak<FutureObj>,
    /// For tasks: the number `N` of the default name `Task-N`, spelled out only when asked
    /// for; 0 when the name is held in the rarely used part (set by `name=` or `set_name`).
    number: Cell<u32>,
    /// Pending, finished or cancelled.
    pub state: Cell<State>,
    /// The yes/no fields ([`bit`]), read through [`Flag`]s.
    flags: Cell<u8>,
}

impl FutureObj {
    /// A pending future on `lp`, or a task when `task` is given.
    #[inline]
    pub fn new(lp: &Rc<EventLoop>, task: Option<NewTask>) -> Rc<FutureObj> {
        let Some(task) = task else {
            let f = FutureObj::build(lp, State::Pending, Value::None, None, 0);
            crate::vm::gc::track_future(&f);
            return f;
        };
        FutureObj::new_task(lp, task)
    }
    fn new_task(lp: &Rc<EventLoop>, task: NewTask) -> Rc<FutureObj> {
        let f = match task {
            NewTask { coro: Value::Gen(g), number } => {
                FutureObj::build(lp, State::Pending, Value::None, Some(TaskCoro::Gen(g)), number)
            }
            NewTask { coro, number } => {
                let f = FutureObj::build(lp, State::Pending, Value::None, Some(TaskCoro::Other), number);
                f.rare.set(Some(Box::new(Rare { coro: Some(coro), ..Rare::default() })));
                f
            }
        };
        f.log_destroy_pending().set(true);
        crate::vm::gc::track_future(&f);
        f
    }
    /// A future in `state` holding `outcome` (a task driving `coro`, named `Task-number`,
    /// when given), not registered with the collector.
    #[inline]
    fn build(lp: &Rc<EventLoop>, state: State, outcome: Value, coro: Option<TaskCoro>, number: u32) -> Rc<FutureObj> {
        let flags = if coro.is_some() { bit::TASK } else { 0 };
        Rc::new_cyclic(|me| FutureObj {
            lp: lp.clone(),
            outcome: Cell::new(outcome),
            callbacks: Cell::default(),
            rare: Cell::new(None),
            task: TaskPart { coro: coro.unwrap_or(TaskCoro::Other), waiter: Cell::new(None) },
            me: me.clone(),
            number: Cell::new(number),
            state: Cell::new(state),
            flags: Cell::new(flags),
        })
    }
    fn flag(&self, mask: u8) -> Flag<'_> {
        Flag { bits: &self.flags, mask }
    }
    /// Finished with an exception.
    fn failed(&self) -> Flag<'_> {
        self.flag(bit::FAILED)
    }
    /// True once `result()`/`exception()` saw the exception.
    pub fn retrieved(&self) -> Flag<'_> {
        self.flag(bit::RETRIEVED)
    }
    /// For tasks: a cancellation requested while not waiting on anything.
    pub fn must_cancel(&self) -> Flag<'_> {
        self.flag(bit::MUST_CANCEL)
    }
    /// Set when `cancel()` cancelled a gathering future's children.
    pub fn cancel_requested(&self) -> Flag<'_> {
        self.flag(bit::CANCEL_REQUESTED)
    }
    /// For tasks: report "Task was destroyed but it is pending!" if it is destroyed while
    /// pending (CPython's `_log_destroy_pending`; cleared for the tasks `gather` and
    /// `run_until_complete` make, and once reported).
    pub fn log_destroy_pending(&self) -> Flag<'_> {
        self.flag(bit::LOG_DESTROY_PENDING)
    }
    /// True for a task.
    #[inline]
    pub fn is_task(&self) -> bool {
        self.flags.get() & bit::TASK != 0
    }
    /// The task part, for a task.
    #[inline]
    pub fn task(&self) -> Option<&TaskPart> {
        self.is_task().then_some(&self.task)
    }
    /// For a task: the coroutine (or native awaitable) it drives.
    pub fn coro(&self) -> Option<Value> {
        match &self.task().map(|t| &t.coro)? {
            TaskCoro::Gen(g) => Some(Value::Gen(g.clone())),
            TaskCoro::Other => Some(self.with_rare(|r| r.as_ref().and_then(|r| r.coro.clone())).unwrap_or(Value::None)),
        }
    }
    /// `cancelling()`: a task's pending cancellation requests.
    pub fn cancelling(&self) -> u32 {
        self.with_rare(|r| r.as_ref().map_or(0, |r| r.cancels))
    }
    /// `uncancel()`: one cancellation request fewer (none below zero); returns how many
    /// are left.
    pub fn uncancel(&self) -> u32 {
        self.with_rare(|r| match r {
            Some(r) => {
                r.cancels = r.cancels.saturating_sub(1);
                r.cancels
            }
            None => 0,
        })
    }
    /// Runs `f` on the rarely used part (absent: `None`); `f` must not touch this future.
    fn with_rare<R>(&self, f: impl FnOnce(&mut Option<Box<Rare>>) -> R) -> R {
        let mut r = self.rare.take();
        let out = f(&mut r);
        self.rare.set(r);
        out
    }
    /// Runs `f` on the done callbacks; `f` must not touch this future.
    pub fn with_callbacks<R>(&self, f: impl FnOnce(&mut DoneCallbacks) -> R) -> R {
        let mut c = self.callbacks.take();
        let out = f(&mut c);
        // What was left in the cell is nothing (`f` does not touch this future): no drop.
        let left = self.callbacks.replace(c);
        if matches!(left, DoneCallbacks::Empty) {
            std::mem::forget(left);
        } else {
            drop(left);
        }
        out
    }
    /// Takes the done callbacks out (leaving none).
    pub fn take_callbacks(&self) -> DoneCallbacks {
        self.callbacks.take()
    }
    /// Adds a done callback of any kind after the others.
    pub fn push_callback(&self, cb: DoneCallback) {
        self.with_callbacks(|c| c.push(cb));
    }
    /// The exception it finished with (`None` when it has none, or is not finished).
    pub fn exception(&self) -> Value {
        if self.failed().get() {
            peek(&self.outcome)
        } else {
            Value::None
        }
    }
    /// Its result, or its exception (see [`FutureObj::exception`]), for code that inspects
    /// a future without the VM.
    pub fn outcome(&self) -> Value {
        peek(&self.outcome)
    }
    /// True when not pending.
    pub fn done(&self) -> bool {
        self.state.get() != State::Pending
    }
    /// Adds a done callback (`add_done_callback` on a pending future).
    pub fn add_callback(&self, cb: Value) {
        self.push_callback(DoneCallback::Call(Box::new(cb)));
    }
    /// Schedules every done callback with this future as its argument.
    fn schedule_callbacks(self: &Rc<Self>) {
        let cbs = self.callbacks.take();
        let callback = |cb| match cb {
            DoneCallback::Call(f) => Callback::Done(*f, self.clone()),
            DoneCallback::Wakeup(task) => Callback::Wakeup(task, self.clone()),
            DoneCallback::Gather(g) => Callback::Gather(g, self.clone()),
            DoneCallback::Release(w) => Callback::Release(w),
        };
        match cbs {
            DoneCallbacks::Empty => {}
            // The usual case (one awaiting task), without the general iterator.
            DoneCallbacks::One(cb) => self.lp.schedule(callback(cb)),
            DoneCallbacks::Many(v) => v.into_iter().for_each(|cb| self.lp.schedule(callback(cb))),
        }
    }
    /// `set_result`.
    pub fn set_result(self: &Rc<Self>, v: Value) -> Res<()> {
        if self.done() {
            return Err(Exc::new(ExcKind::InvalidStateError, "invalid state"));
        }
        drop(self.outcome.replace(v));
        self.state.set(State::Finished);
        self.schedule_callbacks();
        Ok(())
    }
    /// `set_exception`.
    pub fn set_exception(self: &Rc<Self>, vm: &mut Vm, e: Value) -> Res<()> {
        if self.done() {
            return Err(Exc::new(ExcKind::InvalidStateError, "invalid state"));
        }
        let e = match e {
            Value::Class(_) => vm.call(&e, vec![])?,
            other => other,
        };
        if vm.exception_matches(&e, &Value::Class(vm.exc_class(ExcKind::StopIteration).clone()))? {
            return Err(Exc::type_error(
                "StopIteration interacts badly with generators and cannot be raised into a Future",
            ));
        }
        drop(self.outcome.replace(e));
        self.failed().set(true);
        self.state.set(State::Finished);
        self.schedule_callbacks();
        Ok(())
    }
    /// `cancel(msg)`: true if it was pending.
    pub fn cancel(self: &Rc<Self>, msg: Value) -> bool {
        if let Some(t) = self.task() {
            if self.done() {
                return false;
            }
            self.with_rare(|r| r.get_or_insert_with(Box::default).cancels += 1);
            let waiter = t.waiter();
            if let Some(w) = waiter {
                if w.cancel(msg.clone()) {
                    // The task will see the waiter's CancelledError when it wakes up; the
                    // task's own message is left alone, as in CPython.
                    return true;
                }
            }
            self.must_cancel().set(true);
            self.set_cancel_message(msg);
            return true;
        }
        if self.done() {
            return false;
        }
        let children = self.with_rare(|r| match r.as_ref().and_then(|r| r.gather_children.as_ref()) {
            Some(Gathered::List(c)) => Some(c.clone()),
            Some(Gathered::Native(g)) => Some(g.children()),
            None => None,
        });
        if let Some(children) = children {
            // A gathering future is cancelled through its children; gather's done callback
            // then finishes it with their CancelledError.
            let mut any = false;
            for child in children {
                any |= child.cancel(msg.clone());
            }
            if any {
                self.cancel_requested().set(true);
            }
            return any;
        }
        self.set_cancel_message(msg);
        self.state.set(State::Cancelled);
        self.schedule_callbacks();
        true
    }
    /// Makes this the future `gather()` returns for `children` (see [`Rare`]).
    pub fn set_gather_children(&self, children: Gathered) {
        let old = self.with_rare(|r| r.get_or_insert_with(Box::default).gather_children.replace(children));
        drop(old);
    }
    /// Forgets the children of a gathering future that is done (`cancel()` has nothing
    /// more to do), which also breaks its cycle with the native `gather`'s state.
    pub fn forget_gather_children(&self) {
        let old = self.with_rare(|r| r.as_mut().and_then(|r| r.gather_children.take()));
        drop(old);
    }
    /// The `CancelledError` this future raises (CPython's `_make_cancelled_error`): the
    /// one its task's coroutine ended with, the first time, else a new one carrying the
    /// `cancel()` message.
    pub fn cancelled_error(&self, vm: &mut Vm) -> Exc {
        let raised = self.with_rare(|r| match r.as_ref().and_then(|r| r.cancel.as_ref()) {
            Some(Cancellation::Raised(i)) => Some(i.clone()),
            _ => None,
        });
        if let Some(i) = raised {
            self.set_cancel_message(Value::None);
            return Exc::Obj(i);
        }
        let msg = self.cancel_message();
        let args = if msg.is_none() { vec![] } else { vec![msg] };
        vm.exception_with_args(ExcKind::CancelledError, args)
    }
    /// The `cancel()` message (CPython's `_cancel_message`).
    pub fn cancel_message(&self) -> Value {
        self.with_rare(|r| match r.as_ref().and_then(|r| r.cancel.as_ref()) {
            Some(Cancellation::Msg(m)) => m.clone(),
            _ => Value::None,
        })
    }
    fn set_cancel_message(&self, msg: Value) {
        self.set_cancellation(if msg.is_none() { None } else { Some(Cancellation::Msg(msg)) });
    }
    /// Replaces the cancellation (see [`Cancellation`]).
    fn set_cancellation(&self, c: Option<Cancellation>) {
        let old = self.with_rare(|r| match r {
            Some(r) => std::mem::replace(&mut r.cancel, c),
            None if c.is_none() => None,
            None => r.insert(Box::default()).cancel.replace(c?),
        });
        drop(old);
    }
    /// `get_name()` of a task: the name as a `str` (a default `Task-N` is made on first use
    /// and kept, so that it is the same object each time).
    pub fn task_name(&self) -> Value {
        if !self.is_task() {
            return Value::None;
        }
        let n = self.number.get();
        if n != 0 {
            self.set_task_name(Value::string(format!("Task-{n}")));
        }
        self.with_rare(|r| r.as_ref().and_then(|r| r.name.clone())).unwrap_or(Value::None)
    }
    /// `set_name()` of a task (`name` is a `str`).
    pub fn set_task_name(&self, name: Value) {
        if !self.is_task() {
            return;
        }
        self.number.set(0);
        let old = self.with_rare(|r| r.get_or_insert_with(Box::default).name.replace(name));
        drop(old);
    }
    /// `result()`.
    pub fn get_result(&self, vm: &mut Vm) -> Res<Value> {
        match self.state.get() {
            State::Pending => Err(Exc::new(ExcKind::InvalidStateError, "Result is not set.")),
            State::Cancelled => Err(self.cancelled_error(vm)),
            State::Finished => {
                self.retrieved().set(true);
                let v = peek(&self.outcome);
                if self.failed().get() {
                    return Err(vm.exc_from_value(v)?);
                }
                Ok(v)
            }
        }
    }
}

impl FutureObj {
    /// The words inside `<Future ...>` / `<Task ...>`, as CPython's `_future_repr_info` and
    /// `_task_repr_info` give them; `outcome` is the already-formatted `result=`/`exception=`.
    fn repr_info(&self, outcome: Option<String>) -> Vec<String> {
        let mut info = Vec::new();
        let cancelling = self.is_task() && (self.cancelling() > 0 || self.must_cancel().get());
        info.push(
            match self.state.get() {
                State::Pending if cancelling => "cancelling",
                State::Pending => "pending",
                State::Finished => "finished",
                State::Cancelled => "cancelled",
            }
            .to_string(),
        );
        if let Some(coro) = self.coro() {
            let name = match &self.task_name() {
                Value::Str(s) => s.as_str().to_string(),
                _ => "Task".into(),
            };
            info.push(format!("name='{name}'"));
            info.push(format!("coro=<{}>", coro_text(&coro)));
        }
        if let Some(o) = outcome {
            info.push(o);
        }
        if self.state.get() == State::Pending {
            let texts: Vec<String> = self.with_callbacks(|cbs| {
                cbs.iter()
                    .map(|cb| match cb {
                        DoneCallback::Call(f) => callback_text(f),
                        DoneCallback::Wakeup(_) => "Task.task_wakeup()".into(),
                        DoneCallback::Gather(_) => "gather.<locals>._done_callback()".into(),
                        DoneCallback::Release(_) => "_release_waiter()".into(),
                    })
                    .collect()
            });
            match texts.len() {
                0 => {}
                1 | 2 => info.push(format!("cb=[{}]", texts.join(", "))),
                n => info.push(format!("cb=[{}, <{} more>, {}]", texts[0], n - 2, texts[n - 1])),
            }
        }
        if let Some(t) = self.task() {
            if let Some(w) = &t.waiter() {
                info.push(format!("wait_for={}", w.repr()));
            }
        }
        info
    }
}

/// A coroutine as CPython's `coroutines._format_coroutine` shows it in a task's repr.
fn coro_text(coro: &Value) -> String {
    match coro {
        Value::Gen(g) => {
            let file = &g.code.filename;
            match (g.frame.borrow().ip(), g.state.get()) {
                (Some(ip), crate::vm::gen::GenState::Suspended) => {
                    format!("{}() running at {file}:{}", g.qualname(), g.code.line_at(ip.saturating_sub(1)))
                }
                (Some(_), crate::vm::gen::GenState::Created) => {
                    format!("{}() running at {file}:{}", g.qualname(), g.code.first_line)
                }
                (_, crate::vm::gen::GenState::Running) => format!("{}() running", g.qualname()),
                _ => format!("{}() done, defined at {file}:{}", g.qualname(), g.code.first_line),
            }
        }
        Value::Other(o) => o.repr(),
        _ => "coroutine".into(),
    }
}

/// A done callback as CPython's `_format_callback_source` shows it.
pub fn callback_text(cb: &Value) -> String {
    match cb {
        Value::Function(f) => format!("{}() at {}:{}", f.qualname.borrow(), f.code.filename, f.code.first_line),
        Value::BoundMethod(m) => match &m.func {
            Value::Function(f) => format!("{}() at {}:{}", f.qualname.borrow(), f.code.filename, f.code.first_line),
            _ => "<bound method>()".into(),
        },
        _ => "<TaskWakeupMethWrapper>()".into(),
    }
}

/// `repr(future)` with its result or exception, which needs the VM.
pub fn future_repr(vm: &mut Vm, f: &FutureObj) -> Res<String> {
    let outcome = if f.state.get() == State::Finished {
        let v = f.outcome();
        Some(if f.failed().get() { format!("exception={}", vm.repr(&v)?) } else { format!("result={}", vm.repr(&v)?) })
    } else {
        None
    };
    let kind = if f.is_task() { "Task" } else { "Future" };
    Ok(format!("<{kind} {}>", f.repr_info(outcome).join(" ")))
}

fn fut_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    Ok(Value::str(&future_repr(vm, &f)?))
}

impl Drop for FutureObj {
    /// A future dropped with an exception nobody retrieved reports it, as CPython's
    /// `Future.__del__` does ("Task exception was never retrieved"); a task dropped while
    /// pending reports that, as `Task.__del__` does.
    fn drop(&mut self) {
        if self.log_destroy_pending().get() && self.state.get() == State::Pending && self.is_task() {
            self.report_destroyed_pending();
            return;
        }
        if self.state.get() != State::Finished || self.retrieved().get() || !self.failed().get() {
            return;
        }
        let exc = self.outcome.replace(Value::None);
        let Value::Instance(inst) = exc.clone() else { return };
        let coro = self.is_task().then(|| std::mem::replace(&mut self.task.coro, TaskCoro::Other));
        let snapshot = FutureObj::build(&self.lp, State::Finished, exc, coro, self.number.get());
        snapshot.failed().set(true);
        snapshot.retrieved().set(true);
        snapshot.rare.set(self.take_name_only());
        crate::vm::gen::queue_job(Box::new(move |vm: &mut Vm| {
            let kind = if snapshot.is_task() { "Task" } else { "Future" };
            let lp = snapshot.lp.clone();
            let mut ctx = vec![
                ("message", Value::string(format!("{kind} exception was never retrieved"))),
                ("exception", Value::Instance(inst)),
            ];
            if let Some(origin) = snapshot.origin() {
                ctx.push(("source_traceback", super::exception_handler::stack_value(vm, origin)));
            }
            ctx.insert(2, ("future", Value::Other(snapshot)));
            super::exception_handler::call_handler_quietly(vm, &lp, ctx);
        }));
    }
}

impl FutureObj {
    /// From `drop`: queues the "Task was destroyed but it is pending!" report for the VM's
    /// next safe point, with a snapshot of the task (its coroutine, waiter and callbacks
    /// moved over) for the repr.
    fn report_destroyed_pending(&mut self) {
        if !self.is_task() {
            return;
        }
        let coro = std::mem::replace(&mut self.task.coro, TaskCoro::Other);
        let snapshot = FutureObj::build(&self.lp, State::Pending, Value::None, Some(coro), self.number.get());
        snapshot.task.waiter.set(self.task.waiter.get_mut().take());
        snapshot.callbacks.set(self.callbacks.take());
        snapshot.must_cancel().set(self.must_cancel().get());
        snapshot.rare.set(self.take_name_only());
        crate::vm::gen::queue_job(Box::new(move |vm: &mut Vm| report_pending(vm, snapshot)));
    }
}

/// Reports a task destroyed while pending through its loop's exception handler, with
/// CPython's context (`message`, `task`, and in debug mode a `source_traceback`: where the
/// task's coroutine was created).
fn report_pending(vm: &mut Vm, task: Rc<FutureObj>) {
    let lp = task.lp.clone();
    let origin = task.origin().map(|o| super::exception_handler::stack_value(vm, o));
    let mut ctx = vec![("message", Value::str("Task was destroyed but it is pending!")), ("task", Value::Other(task))];
    if let Some(origin) = origin {
        ctx.push(("source_traceback", origin));
    }
    super::exception_handler::call_handler_quietly(vm, &lp, ctx);
}

impl FutureObj {
    /// From `drop`: the rarely used part with only what a snapshot shows kept (a task's
    /// given name, cancellation count and native coroutine).
    fn take_name_only(&mut self) -> Option<Box<Rare>> {
        let r = self.rare.get_mut().as_mut()?;
        let (name, coro, cancels) = (r.name.take(), r.coro.take(), r.cancels);
        Some(Box::new(Rare { name, coro, cancels, ..Rare::default() }))
    }
    /// For a task whose coroutine was created in debug mode: the stack that created it.
    fn origin(&self) -> Option<&[crate::vm::other::TraceEntry]> {
        match self.task().map(|t| &t.coro) {
            Some(TaskCoro::Gen(g)) => g.origin(),
            _ => None,
        }
    }
}

/// Wraps a future as a script value.
pub fn future_value(f: &Rc<FutureObj>) -> Value {
    Value::Other(f.clone())
}

impl NativeObject for FutureObj {
    fn type_name(&self) -> &'static str {
        if self.is_task() {
            "Task"
        } else {
            "Future"
        }
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        future_attr(vm, this, name, self.is_task())
    }
    fn method(&self, name: Sym) -> Option<Value> {
        let owner = if self.is_task() { MethodOwner::Task } else { MethodOwner::Future };
        self.lp.cached_method(name, owner, || {
            // Not the `_cancel_*` entries: data attributes read through their function.
            let m = if self.is_task() {
                TASK_METHODS.with(|m| m.unbound(name))
            } else {
                FUTURE_METHODS.with(|m| m.unbound(name))
            };
            m.filter(|f| !matches!(f, Value::Native(n) if n.name.starts_with("_cancel_")))
        })
    }
    fn await_iter(&self, _this: &Value) -> Option<Value> {
        // Held only by the awaiting frame: not registered, the collector sees through it
        // (`gc_inline`) from the suspended coroutine that holds it.
        let fut = self.me.upgrade()?;
        Some(Value::Other(Rc::new(FutureIter { fut, yielded: Cell::new(false), inline: true })))
    }
    fn set_attr(&self, vm: &mut Vm, _this: &Value, name: Sym, value: Value) -> Option<Res<()>> {
        if !self.is_task() || name.to_string_owned() != "_log_destroy_pending" {
            return None;
        }
        Some(vm.truthy(&value).map(|b| self.log_destroy_pending().set(b)))
    }
    fn repr(&self) -> String {
        // Without the VM, results and exceptions are left out; `__repr__` gives them.
        format!("<{} {}>", self.type_name(), self.repr_info(None).join(" "))
    }
    fn send(&self, vm: &mut Vm, _value: Value) -> Option<Res<GenResult>> {
        // `await fut` drives the future itself: yield it while pending, then its result.
        Some(if !self.done() {
            Err(Exc::runtime_error("await wasn't used with future"))
        } else {
            self.get_result(vm).map(GenResult::Return)
        })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn gc_traverse(&self, visit: &mut crate::vm::gc::Visitor) {
        let outcome = self.outcome.take();
        visit.value(&outcome);
        self.outcome.set(outcome);
        self.with_callbacks(|cbs| {
            cbs.iter().for_each(|cb| match cb {
                DoneCallback::Call(f) => visit.value(f),
                DoneCallback::Wakeup(t) => visit.rc(t),
                DoneCallback::Gather(g) => visit.rc(g),
                DoneCallback::Release(w) => visit.rc(w),
            })
        });
        self.with_rare(|r| {
            let Some(r) = r else { return };
            match &r.cancel {
                Some(Cancellation::Msg(v)) => visit.value(v),
                Some(Cancellation::Raised(i)) => visit.value(&Value::Instance(i.clone())),
                None => {}
            }
            match &r.gather_children {
                Some(Gathered::List(children)) => children.iter().for_each(|c| visit.rc(c)),
                Some(Gathered::Native(g)) => visit.rc(g),
                None => {}
            }
            if let Some(n) = &r.name {
                visit.value(n);
            }
            if let Some(c) = &r.coro {
                visit.value(c);
            }
        });
        if let Some(t) = self.task() {
            if let TaskCoro::Gen(g) = &t.coro {
                visit.rc(g);
            }
            if let Some(w) = t.waiter() {
                visit.rc(&w);
            }
        }
    }
    fn gc_has_finalizer(&self) -> bool {
        self.log_destroy_pending().get() && self.state.get() == State::Pending && self.is_task()
    }
    fn gc_finalize(&self, vm: &mut Vm) {
        // Reported once, before the collector empties the task (so the repr still shows
        // what it waits for), as CPython's `Task.__del__` runs before `tp_clear`.
        if self.gc_has_finalizer() {
            self.log_destroy_pending().set(false);
            if let Some(me) = self.me.upgrade() {
                report_pending(vm, me);
            }
        }
    }
    fn gc_clear(&self) {
        let rare = self.rare.take();
        let old = self.outcome.replace(Value::None);
        let cbs = self.callbacks.take();
        let waiter = self.task().and_then(|t| t.waiter.take());
        drop((rare, old, cbs, waiter));
    }
}

/// Finds our future in a script value.
pub fn future_of(v: &Value) -> Option<Rc<FutureObj>> {
    match v {
        Value::Other(o) => o.as_any().downcast_ref::<FutureObj>().and_then(|f| f.me.upgrade()),
        _ => None,
    }
}

fn this_future(a: &Args) -> Res<Rc<FutureObj>> {
    a.pos.first().and_then(future_of).ok_or_else(|| Exc::type_error("a Future is required"))
}

fn fut_done(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_future(a)?.done()))
}
fn fut_cancelled(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_future(a)?.state.get() == State::Cancelled))
}
fn fut_result(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    this_future(a)?.get_result(vm)
}
fn fut_exception(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    match f.state.get() {
        State::Pending => Err(Exc::new(ExcKind::InvalidStateError, "Exception is not set.")),
        State::Cancelled => Err(f.cancelled_error(vm)),
        State::Finished => {
            f.retrieved().set(true);
            Ok(f.exception())
        }
    }
}
/// The argument check of a one-argument method (CPython's `METH_O`), before anything else.
fn one_arg(method: &str, a: &Args) -> Res<()> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("{method}() takes no keyword arguments")));
    }
    if a.pos.len() != 2 {
        let n = a.pos.len().saturating_sub(1);
        return Err(Exc::type_error(format!("{method}() takes exactly one argument ({n} given)")));
    }
    Ok(())
}
fn fut_set_result(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    one_arg("Future.set_result", a)?;
    f.set_result(std::mem::take(&mut a.pos[1]))?;
    Ok(Value::None)
}
/// `fut.set_result(v)` called positionally from the dispatch loop (see
/// [`crate::vm::value::FastNativeFn`]): the value moves off the stack.
fn fut_set_result_fast(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    match (n, future_of(&vm.stack[at])) {
        (2, Some(f)) if !f.is_task() && !f.done() => {
            f.set_result(std::mem::take(&mut vm.stack[at + 1]))?;
            Ok(Value::None)
        }
        _ => {
            let mut a = Args { pos: vm.stack[at..at + n].iter().cloned().collect(), kw: Vec::new() };
            fut_set_result(vm, &mut a)
        }
    }
}
fn fut_set_exception(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    one_arg("Future.set_exception", a)?;
    f.set_exception(vm, std::mem::take(&mut a.pos[1]))?;
    Ok(Value::None)
}
fn fut_cancel(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    let msg = crate::builtins::take_kw(a, "msg").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    Ok(Value::Bool(f.cancel(msg)))
}
fn fut_add_done_callback(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    crate::builtins::take_kw(a, "context");
    let cb = a.pos.get(1).cloned().unwrap_or(Value::None);
    if f.done() {
        let lp = f.lp.clone();
        lp.schedule(Callback::Done(cb, f));
    } else {
        f.add_callback(cb);
    }
    Ok(Value::None)
}
fn fut_remove_done_callback(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    let cb = a.pos.get(1).cloned().unwrap_or(Value::None);
    let old = f.take_callbacks();
    let mut kept = DoneCallbacks::Empty;
    let mut removed = 0;
    for c in old {
        let same = match &c {
            DoneCallback::Call(v) => vm.eq(v, &cb)?,
            DoneCallback::Wakeup(_) | DoneCallback::Gather(_) | DoneCallback::Release(_) => false,
        };
        if same {
            removed += 1;
        } else {
            kept.push(c);
        }
    }
    // Callbacks added meanwhile (by an `__eq__`) stay after the kept ones.
    let added = f.take_callbacks();
    kept.extend(added);
    f.callbacks.set(kept);
    Ok(Value::Int(removed))
}
fn fut_await(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    let it = Rc::new(FutureIter { fut: f, yielded: Cell::new(false), inline: false });
    // Registered, so that the collector sees the future held by the iterator wherever the
    // script keeps it.
    crate::vm::gc::track_native(&it);
    Ok(Value::Other(it))
}
fn fut_get_loop(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    Ok(super::loop_value(&f.lp))
}
fn task_get_name(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    Ok(f.task_name())
}
fn task_set_name(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    let n = a.pos.get(1).cloned().unwrap_or(Value::None);
    let s = vm.str_of(&n)?;
    f.set_task_name(Value::string(s));
    Ok(Value::None)
}
fn task_get_coro(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    Ok(f.coro().unwrap_or(Value::None))
}
fn task_cancelling(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    Ok(Value::Int(f.cancelling() as i64))
}
fn task_uncancel(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    Ok(Value::Int(f.uncancel() as i64))
}

fn task_set_result(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Err(Exc::runtime_error("Task does not support set_result operation"))
}
fn task_set_exception(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Err(Exc::runtime_error("Task does not support set_exception operation"))
}
fn fut_make_cancelled_error(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_future(a)?;
    let e = f.cancelled_error(vm);
    Ok(Value::Instance(vm.materialize(e)))
}

/// The methods futures and tasks share.
const COMMON_METHODS: [(&str, NativeFn); 14] = [
    ("_cancel_message", fut_cancel_message),
    ("_cancel_requested", fut_cancel_requested),
    ("_make_cancelled_error", fut_make_cancelled_error),
    ("done", fut_done),
    ("cancelled", fut_cancelled),
    ("result", fut_result),
    ("exception", fut_exception),
    ("cancel", fut_cancel),
    ("add_done_callback", fut_add_done_callback),
    ("remove_done_callback", fut_remove_done_callback),
    ("__await__", fut_await),
    ("__iter__", fut_await),
    ("get_loop", fut_get_loop),
    ("__repr__", fut_repr),
];

thread_local! {
    static FUTURE_METHODS: super::Methods = super::Methods::new(
        &[&COMMON_METHODS[..], &[("set_result", fut_set_result as NativeFn), ("set_exception", fut_set_exception)]]
            .concat(),
    )
    .with_fast("set_result", fut_set_result_fast);
    static TASK_METHODS: super::Methods = super::Methods::new(
        &[
            &COMMON_METHODS[..],
            &[
                ("set_result", task_set_result as NativeFn),
                ("set_exception", task_set_exception),
                ("get_name", task_get_name),
                ("set_name", task_set_name),
                ("get_coro", task_get_coro),
                ("cancelling", task_cancelling),
                ("uncancel", task_uncancel),
            ],
        ]
        .concat(),
    );
}

fn future_attr(vm: &mut Vm, this: &Value, name: Sym, is_task: bool) -> Res<Option<Value>> {
    thread_local! { static LOG_DESTROY_PENDING: Sym = Sym::new("_log_destroy_pending"); }
    if is_task && name == LOG_DESTROY_PENDING.with(|s| *s) {
        return Ok(future_of(this).map(|f| Value::Bool(f.log_destroy_pending().get())));
    }
    let f = if is_task { TASK_METHODS.with(|m| m.get(name)) } else { FUTURE_METHODS.with(|m| m.get(name)) };
    let Some(f) = f else { return Ok(None) };
    if f.0.starts_with("_cancel_") {
        // Data attributes, not methods.
        let mut a = Args { pos: smallvec::smallvec![this.clone()], kw: Vec::new() };
        return (f.1)(vm, &mut a).map(Some);
    }
    // `__iter__` is `__await__` under another name.
    let shown = if f.0 == "__iter__" { "__await__" } else { f.0 };
    Ok(Some(crate::builtins::bound_native(this.clone(), shown, f.1)))
}

fn fut_cancel_message(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(this_future(a)?.cancel_message())
}

fn fut_cancel_requested(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(this_future(a)?.cancel_requested().get()))
}

/// The iterator `await fut` drives: yields the future while it is pending, then returns
/// its result (or raises its exception).
pub struct FutureIter {
    fut: Rc<FutureObj>,
    yielded: Cell<bool>,
    /// Made by `await fut` (not registered with the collector, which sees through it from
    /// its one owner, see [`NativeObject::gc_inline`]) rather than by a script's
    /// `fut.__await__()` (registered).
    inline: bool,
}

impl NativeObject for FutureIter {
    fn type_name(&self) -> &'static str {
        "FutureIter"
    }
    fn send(&self, vm: &mut Vm, _value: Value) -> Option<Res<GenResult>> {
        if !self.fut.done() {
            if self.yielded.get() {
                return Some(Err(Exc::runtime_error("await wasn't used with future")));
            }
            self.yielded.set(true);
            return Some(Ok(GenResult::Yield(future_value(&self.fut))));
        }
        Some(self.fut.get_result(vm).map(GenResult::Return))
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        if name == vm.syms.next {
            return Ok(Some(crate::builtins::bound_native(this.clone(), "__next__", iter_next)));
        }
        Ok(None)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn gc_traverse(&self, visit: &mut crate::vm::gc::Visitor) {
        visit.rc(&self.fut);
    }
    fn gc_inline(&self) -> bool {
        self.inline
    }
}

fn iter_next(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos[0].clone();
    let Value::Other(o) = &this else { return Err(Exc::type_error("FutureIter expected")) };
    match o.send(vm, Value::None) {
        Some(Ok(GenResult::Yield(v))) => Ok(v),
        Some(Ok(GenResult::Return(v))) => {
            let e = vm.exception_with_args(ExcKind::StopIteration, vec![v.clone()]);
            if let Exc::Obj(i) = &e {
                i.set_attr(vm.syms.value, v);
            }
            Err(e)
        }
        Some(Err(e)) => Err(e),
        None => Err(Exc::type_error("not an iterator")),
    }
}

/// One step of a task: resume its coroutine (or throw into it) and deal with what it yields.
pub fn task_step(vm: &mut Vm, lp: &Rc<EventLoop>, task: &Rc<FutureObj>, exc: Option<Value>) -> Res<()> {
    let Some(t) = task.task() else { return Ok(()) };
    if task.done() {
        return Ok(());
    }
    let mut exc = exc;
    if task.must_cancel().get() {
        task.must_cancel().set(false);
        let cancelled = vm.exc_class(ExcKind::CancelledError).clone();
        let is_cancel = matches!(&exc, Some(Value::Instance(i)) if i.class.is_subclass(&cancelled));
        if !is_cancel {
            let e = task.cancelled_error(vm);
            exc = Some(Value::Instance(vm.materialize(e)));
        }
    }
    t.waiter.set(None);
    let prev = lp.current_task.replace(Some(task.clone()));
    let coro = match &t.coro {
        TaskCoro::Gen(g) => Value::Gen(g.clone()),
        TaskCoro::Other => task.coro().unwrap_or(Value::None),
    };
    let r = match (&coro, exc) {
        (Value::Gen(g), None) => vm.gen_send(g, Value::None),
        (Value::Gen(g), Some(e)) => {
            let e = vm.exc_from_value(e)?;
            vm.gen_throw(g, e)
        }
        (Value::Other(o), None) => o.send(vm, Value::None).unwrap_or(Ok(GenResult::Return(Value::None))),
        (Value::Other(o), Some(e)) => o.throw(vm, e.clone()).unwrap_or_else(|| vm.exc_from_value(e).and_then(Err)),
        _ => Err(Exc::type_error("a coroutine was expected")),
    };
    *lp.current_task.borrow_mut() = prev;
    match r {
        Ok(GenResult::Return(v)) => {
            if task.must_cancel().get() {
                // Cancelled while finishing: report it as cancelled (with the message).
                task.must_cancel().set(false);
                task.state.set(super::future::State::Cancelled);
                task.schedule_callbacks();
            } else {
                task.set_result(v)?;
            }
        }
        Ok(GenResult::Yield(y)) => match future_of(&y) {
            Some(f) => {
                if Rc::ptr_eq(&f, task) {
                    let e = Exc::runtime_error(format!("Task cannot await on itself: {}", task.repr()));
                    let ev = Value::Instance(vm.materialize(e));
                    lp.schedule(Callback::Step(task.clone(), Some(ev)));
                } else if f.done() {
                    lp.schedule(Callback::Wakeup(task.clone(), f));
                } else {
                    f.push_callback(DoneCallback::Wakeup(task.clone()));
                    t.waiter.set(Some(f.clone()));
                    if task.must_cancel().get() {
                        let msg = task.cancel_message();
                        if f.cancel(msg) {
                            task.must_cancel().set(false);
                        }
                    }
                }
            }
            None if y.is_none() => {
                lp.schedule(Callback::Step(task.clone(), None));
            }
            None => {
                let r = vm.repr(&y)?;
                let e = Exc::runtime_error(format!("Task got bad yield: {r}"));
                let ev = Value::Instance(vm.materialize(e));
                lp.schedule(Callback::Step(task.clone(), Some(ev)));
            }
        },
        Err(e) => {
            let inst = vm.materialize(e);
            if inst.class.is_subclass(vm.exc_class(ExcKind::CancelledError)) {
                // CPython keeps the exception for the next `result()` and cancels the
                // future part without a message.
                task.state.set(State::Cancelled);
                task.set_cancellation(Some(Cancellation::Raised(inst)));
                task.schedule_callbacks();
            } else {
                let fatal = vm.is_fatal(&inst);
                task.set_exception(vm, Value::Instance(inst.clone()))?;
                if fatal {
                    return Err(Exc::Obj(inst));
                }
            }
        }
    }
    Ok(())
}

/// Resumes a task after the future it awaited finished.
pub fn task_wakeup(vm: &mut Vm, lp: &Rc<EventLoop>, task: &Rc<FutureObj>, fut: &Rc<FutureObj>) -> Res<()> {
    // A result: what `result()` would do without copying the value (the awaiting frame
    // takes it from the future itself).
    if fut.state.get() == State::Finished && !fut.failed().get() {
        fut.retrieved().set(true);
        return task_step(vm, lp, task, None);
    }
    match fut.get_result(vm) {
        Ok(_) => task_step(vm, lp, task, None),
        Err(e) => {
            let ev = Value::Instance(vm.materialize(e));
            task_step(vm, lp, task, Some(ev))
        }
    }
}

#[cfg(test)]
mod tests {
    /// Each pending task is one of these (plus the `Rc` counts): 104 bytes fit glibc's
    /// 112-byte chunk.
    #[test]
    fn future_fits_in_88_bytes() {
        assert!(std::mem::size_of::<super::DoneCallbacks>() <= 16, "{}", std::mem::size_of::<super::DoneCallbacks>());
        assert!(std::mem::size_of::<super::FutureObj>() <= 88, "{}", std::mem::size_of::<super::FutureObj>());
    }
}
