//! The event loop: a FIFO ready queue of callbacks, a timer heap (see [`super::timer_heap`]: the
//! same binary heap as CPython's `heapq`, so timers with equal deadlines run in CPython's
//! order), and a `mio::Poll` to wait on when nothing is ready.
//!
//! **Invariant:** the loop never runs script code except through `run_once`, one ready
//! callback at a time, in the order they became ready.

use super::future::{task_step, task_wakeup, FutureObj};
use super::timer_heap::{Timer, TimerHeap};
use crate::vm::value::Value;
use crate::vm::{Exc, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Work that completes outside the loop (the embedding API's host futures, see
/// `crate::embed::async_host`): while some is outstanding, an idle loop waits for it
/// instead of reporting a deadlock, and after every wait the loop collects what completed.
#[derive(Default)]
pub struct External {
    /// How many completions are outstanding.
    pub pending: Cell<usize>,
    /// The embedding API's state for this loop.
    pub state: RefCell<Option<Rc<dyn std::any::Any>>>,
}

/// The longest single `mio::Poll` wait, so that a Ctrl-C is noticed within this time even
/// if its signal arrived just before the wait began.
const INTERRUPT_SLICE: Duration = Duration::from_millis(100);

/// Debug mode reports callbacks that run at least this long (CPython's
/// `loop.slow_callback_duration`).
const SLOW_CALLBACK: f64 = 0.1;

/// Whether new loops start in debug mode: `PYTHONASYNCIODEBUG` set to a non-empty value, as
/// CPython's `coroutines._is_debug_mode()` reads it.
fn debug_from_env() -> bool {
    std::env::var_os("PYTHONASYNCIODEBUG").is_some_and(|v| !v.is_empty())
}

/// What a ready handle does when it runs.
pub enum Callback {
    /// Call a script or native callable with arguments.
    Call(Value, Vec<Value>),
    /// A done callback: call the callable with the future that finished.
    Done(Value, Rc<FutureObj>),
    /// `futures._set_result_unless_cancelled(fut, value)` (what `sleep()`'s timer does).
    SetResult(Rc<FutureObj>, Value),
    /// `gather()`'s done callback for a child that finished.
    Gather(Rc<super::gather::Gather>, Rc<FutureObj>),
    /// `_release_waiter(waiter)`: finish `waiter` with `None` unless it is done.
    Release(Rc<FutureObj>),
    /// Run one step of a task, optionally throwing an exception into it.
    Step(Rc<FutureObj>, Option<Value>),
    /// Wake a task whose awaited future finished.
    Wakeup(Rc<FutureObj>, Rc<FutureObj>),
    /// A registered I/O source became ready (see the I/O registry below).
    Io(Rc<dyn IoHandler>, Ready),
    /// A native step (transports and servers schedule their own work this way).
    Native(Box<dyn FnOnce(&mut Vm) -> Res<()>>),
    /// Run native code: the loop-thread half of work done off the loop (a worker thread's
    /// result, a signal's handler).
    Rust(Box<dyn FnOnce(&mut Vm) -> Res<()>>),
}

/// A scheduled callback (`asyncio.Handle` / `TimerHandle`).
pub struct Handle {
    /// What to run.
    pub callback: RefCell<Option<Callback>>,
    /// Set by `cancel()`.
    pub cancelled: Cell<bool>,
    /// For a timer handle: true while it is in the heap (CPython's `_scheduled`).
    scheduled: Cell<bool>,
    /// Deadline in loop time, for timer handles.
    pub when: Option<f64>,
    /// For a timer handle: its loop's count of cancelled timers still in the heap.
    timer_cancelled: Option<Rc<Cell<usize>>>,
}

impl Handle {
    /// `handle.cancel()`: the callback will not run (and its references are dropped). A
    /// timer still in the heap is counted, so the loop can purge the heap when cancelled
    /// timers outnumber live ones, as CPython's `_timer_handle_cancelled` does.
    pub fn cancel(&self) {
        if !self.cancelled.get() {
            self.cancelled.set(true);
            if let Some(count) = self.timer_cancelled.as_ref().filter(|_| self.scheduled.get()) {
                count.set(count.get() + 1);
            }
        }
        let cb = self.callback.borrow_mut().take();
        drop(cb);
    }

    /// Whether scripts see the method `name`: `when` is `TimerHandle`'s only.
    pub fn has_method(&self, name: &str) -> bool {
        name != "when" || self.when.is_some()
    }

    /// Marks a timer handle as taken out of the heap.
    fn unschedule(&self) {
        self.scheduled.set(false);
    }
}

/// What debug mode's slow-callback warning shows.
enum Shown {
    /// A task's step or wake-up: the task.
    Task(Rc<FutureObj>),
    /// A callable's call with its arguments: `<Handle name(1, 'a') at x.py:3>`.
    Callable(Value, Vec<Value>),
    /// Anything else: `<Handle>`.
    Nothing,
}

/// CPython's `_MIN_SCHEDULED_TIMER_HANDLES`: below this many timers the heap is never
/// purged of cancelled ones.
const MIN_SCHEDULED_TIMER_HANDLES: usize = 100;

/// The resolution of the loop's clock (`time.get_clock_info('monotonic').resolution` on
/// Linux): timers due before `now + CLOCK_RESOLUTION` run in this iteration.
const CLOCK_RESOLUTION: f64 = 1e-9;

/// The ready queue's capacity above which it shrinks as it drains (see
/// `EventLoop::pop_ready`).
const SHRINK_READY_ABOVE: usize = 4096;

/// Halves the room of a large ready queue that drained to a quarter of it.
#[cold]
#[inline(never)]
fn shrink_drained(ready: &mut VecDeque<Slot>) {
    let cap = ready.capacity() / 2;
    ready.shrink_to(cap);
}

/// An entry of the ready queue: a callback the loop scheduled for itself (a task step, a
/// done callback, I/O readiness: nothing can cancel it, so it needs no handle), or one
/// behind a `Handle` that `cancel()` may still stop. The frequent callbacks are held inline
/// and the rest boxed, so an entry is 24 bytes (a queue of 100k task steps is 2.4 MB).
enum Slot {
    /// `Callback::Step` without an exception to throw.
    Step(Rc<FutureObj>),
    /// `Callback::Wakeup`.
    Wakeup(Rc<FutureObj>, Rc<FutureObj>),
    /// `Callback::Gather`.
    Gather(Rc<super::gather::Gather>, Rc<FutureObj>),
    /// `Callback::Release`.
    Release(Rc<FutureObj>),
    /// `Callback::Native`.
    Native(Box<dyn FnOnce(&mut Vm) -> Res<()>>),
    /// Any other callback.
    Boxed(Box<Callback>),
    /// A callback behind a handle.
    Handle(Rc<Handle>),
}

impl Slot {
    fn live(&self) -> bool {
        match self {
            Slot::Handle(h) => !h.cancelled.get(),
            _ => true,
        }
    }

    /// The entry for a callback the loop scheduled for itself.
    #[inline]
    fn of(cb: Callback) -> Slot {
        match cb {
            Callback::Step(task, None) => Slot::Step(task),
            Callback::Wakeup(task, fut) => Slot::Wakeup(task, fut),
            Callback::Gather(g, fut) => Slot::Gather(g, fut),
            Callback::Release(w) => Slot::Release(w),
            Callback::Native(f) => Slot::Native(f),
            cb => Slot::Boxed(Box::new(cb)),
        }
    }
}

/// An event loop.
pub struct EventLoop {
    ready: RefCell<VecDeque<Slot>>,
    timers: RefCell<TimerHeap>,
    /// Cancelled timers still in the heap (CPython's `_timer_cancelled_count`).
    timer_cancelled: Rc<Cell<usize>>,
    /// True while `run_forever` runs.
    pub running: Cell<bool>,
    stopping: Cell<bool>,
    /// True after `close()`.
    pub closed: Cell<bool>,
    start: Instant,
    poll: RefCell<Option<mio::Poll>>,
    /// Every task created on this loop (for `all_tasks`).
    pub tasks: RefCell<Vec<Weak<FutureObj>>>,
    /// Async generators first iterated while this loop ran (CPython's `_asyncgens`), for
    /// `shutdown_asyncgens`.
    pub asyncgens: RefCell<Vec<Weak<crate::vm::gen::GenObj>>>,
    /// The task whose step is running.
    pub current_task: RefCell<Option<Rc<FutureObj>>>,
    /// Debug mode.
    pub debug: Cell<bool>,
    /// The script object for this loop while one is alive, so that every way of getting
    /// the loop gives the same object (`get_running_loop() is get_event_loop()`).
    pub script_value: RefCell<Weak<super::LoopRef>>,
    /// Registered I/O sources (see the I/O registry below).
    io: RefCell<IoTable>,
    /// Worker-thread completions and signal wake-ups (see the "Waker" section below).
    pub(crate) outside: Outside,
    /// Completions arriving from outside the loop (the embedding API's host futures).
    pub external: External,
    /// When set, no wait goes past this instant (a host driving the loop a time slice at a
    /// time); with nothing to wait for, the loop idles until then instead of failing.
    pub wait_cap: Cell<Option<Instant>>,
    /// `loop.set_exception_handler`'s handler (`None`: the default one), see
    /// [`super::exception_handler`].
    pub exception_handler: RefCell<Value>,
    /// Handles of `call_soon` callbacks that ran and that nothing else referenced, kept
    /// (with their emptied argument vectors) for the next `call_soon`s: a callback that
    /// schedules the next one costs no allocation. At most [`HANDLE_POOL`].
    handle_pool: RefCell<Vec<Rc<Handle>>>,
    /// The methods `LoadMethod` found on this loop's script object and on its futures and
    /// tasks, by name and [`MethodOwner`]: a handful of entries, scanned before the method
    /// tables (which sit behind a thread-local hash map).
    method_cache: RefCell<Vec<(Sym, MethodOwner, Value)>>,
}

/// Whose method an entry of the loop's method cache is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MethodOwner {
    /// The loop's.
    Loop,
    /// A future's.
    Future,
    /// A task's.
    Task,
}

/// The most entries the loop's method cache keeps.
const METHOD_CACHE: usize = 24;

/// How many finished handles [`EventLoop::call_soon`] keeps for reuse.
const HANDLE_POOL: usize = 64;

impl EventLoop {
    /// A new, idle loop.
    pub fn new() -> Rc<EventLoop> {
        Rc::new(EventLoop {
            ready: RefCell::default(),
            timers: RefCell::default(),
            timer_cancelled: Rc::default(),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            start: Instant::now(),
            poll: RefCell::new(None),
            tasks: RefCell::default(),
            asyncgens: RefCell::default(),
            current_task: RefCell::new(None),
            debug: Cell::new(debug_from_env()),
            script_value: RefCell::new(Weak::new()),
            io: RefCell::default(),
            outside: Outside::default(),
            external: External::default(),
            wait_cap: Cell::new(None),
            exception_handler: RefCell::new(Value::None),
            handle_pool: RefCell::default(),
            method_cache: RefCell::default(),
        })
    }

    /// The unbound native method `name` of `owner`, through the loop's method cache;
    /// `find` looks it up in the method tables on a miss.
    #[inline]
    pub fn cached_method(&self, name: Sym, owner: MethodOwner, find: impl FnOnce() -> Option<Value>) -> Option<Value> {
        if let Some(e) = self.method_cache.borrow().iter().find(|e| e.0 == name && e.1 == owner) {
            return Some(e.2.clone());
        }
        let m = find()?;
        let mut cache = self.method_cache.borrow_mut();
        if cache.len() < METHOD_CACHE {
            cache.push((name, owner, m.clone()));
        }
        Some(m)
    }

    /// `loop.time()`: seconds on a monotonic clock.
    pub fn time(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// `loop.call_soon`, for a callback a script may cancel: it gets a `Handle`.
    pub fn call_soon(&self, cb: Callback) -> Rc<Handle> {
        let h = match self.handle_pool.borrow_mut().pop() {
            Some(h) => h,
            None => return self.queue_new_handle(cb),
        };
        let old = h.callback.replace(Some(cb));
        drop(old);
        self.ready.borrow_mut().push_back(Slot::Handle(h.clone()));
        h
    }

    /// `loop.call_soon(f, *args)`: [`EventLoop::call_soon`] with `Callback::Call`, whose
    /// argument vector is a reused handle's when one is free.
    pub fn call_soon_call(&self, f: Value, args: impl Iterator<Item = Value>) -> Rc<Handle> {
        let h = match self.handle_pool.borrow_mut().pop() {
            Some(h) => h,
            None => return self.queue_new_handle(Callback::Call(f, args.collect())),
        };
        match &mut *h.callback.borrow_mut() {
            Some(Callback::Call(g, v)) => {
                *g = f;
                v.extend(args);
            }
            cb => *cb = Some(Callback::Call(f, args.collect())),
        }
        self.ready.borrow_mut().push_back(Slot::Handle(h.clone()));
        h
    }

    /// Queues a new handle for `cb` (nothing in the pool).
    fn queue_new_handle(&self, cb: Callback) -> Rc<Handle> {
        let h = Rc::new(Handle {
            callback: RefCell::new(Some(cb)),
            cancelled: Cell::new(false),
            scheduled: Cell::new(false),
            when: None,
            timer_cancelled: None,
        });
        self.ready.borrow_mut().push_back(Slot::Handle(h.clone()));
        h
    }

    /// Keeps the handle of a callback that ran for reuse, when nothing else references it
    /// (scripts never see it again): its callable and arguments are dropped now, its
    /// argument vector's buffer is kept.
    fn recycle(&self, h: Rc<Handle>) {
        if Rc::strong_count(&h) != 1 || Rc::weak_count(&h) != 0 || h.when.is_some() || h.cancelled.get() {
            return;
        }
        {
            let mut cb = h.callback.borrow_mut();
            match &mut *cb {
                Some(Callback::Call(f, args)) => {
                    let f = std::mem::take(f);
                    // Dropping the arguments runs no script code (finalizers wait for a safe
                    // point), and nothing else can reach this handle.
                    args.clear();
                    drop(f);
                }
                _ => return,
            }
        }
        let mut pool = self.handle_pool.borrow_mut();
        if pool.len() < HANDLE_POOL {
            pool.push(h);
        }
    }

    /// The next ready callback. A queue that drained to a quarter of a large capacity (after
    /// a burst of tasks) gives half of it back, so that what runs next can reuse the memory.
    #[inline(always)]
    fn pop_ready(&self) -> Option<Slot> {
        let mut ready = self.ready.borrow_mut();
        if ready.capacity() > SHRINK_READY_ABOVE && ready.len() < ready.capacity() / 4 {
            shrink_drained(&mut ready);
        }
        ready.pop_front()
    }

    /// `call_soon` for the loop's own callbacks, which nothing cancels (task steps and
    /// wake-ups, done callbacks): the same place in the FIFO, without a handle.
    #[inline]
    pub fn schedule(&self, cb: Callback) {
        self.ready.borrow_mut().push_back(Slot::of(cb));
    }

    /// `loop.call_at`.
    pub fn call_at(&self, when: f64, cb: Callback) -> Rc<Handle> {
        let h = Rc::new(Handle {
            callback: RefCell::new(Some(cb)),
            cancelled: Cell::new(false),
            scheduled: Cell::new(true),
            when: Some(when),
            timer_cancelled: Some(self.timer_cancelled.clone()),
        });
        self.timers.borrow_mut().push(Timer { when, handle: h.clone() });
        h
    }

    /// For `close()`: drops every ready callback and timer, as CPython's `close` clears
    /// `_ready` and `_scheduled` (what they held is freed: a task that never got to run is
    /// reported as destroyed while pending).
    pub fn clear_scheduled(&self) {
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        self.timer_cancelled.set(0);
        drop((ready, timers));
    }

    /// Asks `run_forever` to return after the current iteration.
    pub fn stop(&self) {
        self.stopping.set(true);
    }

    /// Runs until `stop()`.
    pub fn run_forever(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        if self.closed.get() {
            return Err(Exc::runtime_error("Event loop is closed"));
        }
        if self.running.get() {
            return Err(Exc::runtime_error("This event loop is already running"));
        }
        if super::loop_in_run_forever().is_some() {
            return Err(Exc::runtime_error("Cannot run the event loop while another loop is running"));
        }
        self.running.set(true);
        super::set_running_loop(Some(self.clone()));
        let tracked = crate::vm::gen::set_origin_tracking(self.debug.get());
        let r = loop {
            if let Err(e) = self.run_once(vm) {
                break Err(e);
            }
            if self.stopping.get() {
                break Ok(());
            }
        };
        crate::vm::gen::set_origin_tracking(tracked);
        self.stopping.set(false);
        self.running.set(false);
        super::set_running_loop(None);
        r
    }

    /// Runs, without waiting, what is ready now: ready callbacks and timers already due,
    /// again while their work makes more ready, for at most `max_rounds` iterations. The
    /// REPL calls it between inputs so that tasks created at the prompt make progress.
    pub fn run_ready(self: &Rc<Self>, vm: &mut Vm, max_rounds: usize) -> Res<()> {
        if self.closed.get() || self.running.get() || super::loop_in_run_forever().is_some() {
            return Ok(());
        }
        self.running.set(true);
        super::set_running_loop(Some(self.clone()));
        let mut r = Ok(());
        for _ in 0..max_rounds {
            if !self.has_ready_work() {
                break;
            }
            // `stopping` makes `run_once` poll with a zero timeout.
            self.stopping.set(true);
            r = self.run_once(vm);
            if r.is_err() {
                break;
            }
        }
        self.stopping.set(false);
        self.running.set(false);
        super::set_running_loop(None);
        r
    }

    /// How long until this loop has work: zero when a callback is ready, the time to the
    /// nearest live timer, or `None` when nothing is scheduled. The REPL waits this long for
    /// typed input before running the loop again.
    pub fn next_wakeup(&self) -> Option<Duration> {
        if self.ready.borrow().iter().any(Slot::live) {
            return Some(Duration::ZERO);
        }
        let now = self.time();
        let timers = self.timers.borrow();
        let next =
            timers.as_slice().iter().filter(|t| !t.handle.cancelled.get()).map(|t| t.when).min_by(f64::total_cmp)?;
        Some(Duration::from_secs_f64((next - now).max(0.0)))
    }

    /// A handle that wakes this loop's wait from any thread (the loop's one `mio::Waker`,
    /// shared with worker threads).
    pub fn waker(&self) -> Res<Arc<Mailbox>> {
        self.ensure_poll()?;
        Ok(self.outside.mailbox.clone())
    }

    /// Schedules the completions of external work (see [`External`]).
    pub fn collect_external(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        crate::embed::async_host::collect(self, vm)
    }

    /// Seconds until the nearest pending timer, if any.
    pub fn next_timer_in(&self) -> Option<Duration> {
        let timers = self.timers.borrow();
        let now = self.time();
        timers
            .as_slice()
            .iter()
            .filter(|t| !t.handle.cancelled.get())
            .map(|t| t.when)
            .min_by(f64::total_cmp)
            .map(|w| Duration::from_secs_f64((w - now).max(0.0)))
    }

    /// Runs the loop until `until`: ready callbacks, timers as they fall due and external
    /// completions as they arrive, waiting in between, then returns (the embedding API's
    /// time-sliced driving). Returns early when [`EventLoop::stop`] is called.
    pub fn run_until(self: &Rc<Self>, vm: &mut Vm, until: Instant) -> Res<()> {
        if self.closed.get() {
            return Err(Exc::runtime_error("Event loop is closed"));
        }
        if self.running.get() || super::loop_in_run_forever().is_some() {
            return Err(Exc::runtime_error("This event loop is already running"));
        }
        self.running.set(true);
        super::set_running_loop(Some(self.clone()));
        self.wait_cap.set(Some(until));
        let r = loop {
            if let Err(e) = self.run_once(vm) {
                break Err(e);
            }
            if self.stopping.get() || Instant::now() >= until {
                break Ok(());
            }
        };
        self.wait_cap.set(None);
        self.stopping.set(false);
        self.running.set(false);
        super::set_running_loop(None);
        r
    }

    /// True when a callback is ready or a timer is due.
    pub fn has_ready_work(&self) -> bool {
        if self.ready.borrow().iter().any(Slot::live) {
            return true;
        }
        let now = self.time();
        self.timers.borrow().as_slice().iter().any(|t| t.when <= now && !t.handle.cancelled.get())
    }

    /// One iteration: wait for the nearest timer (or not at all when work is ready), move
    /// due timers to the ready queue, then run the callbacks that were ready at that point.
    fn run_once(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        self.purge_cancelled_timers();
        self.take_outside_work();
        let mut timeout = if !self.ready.borrow().is_empty() || self.stopping.get() {
            Some(Duration::ZERO)
        } else {
            self.timers.borrow().peek().map(|t| Duration::from_secs_f64((t.when - self.time()).max(0.0)))
        };
        if let Some(cap) = self.wait_cap.get() {
            let left = cap.saturating_duration_since(Instant::now());
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        if timeout != Some(Duration::ZERO) {
            vm.flush_stdout();
            self.wait(vm, timeout)?;
        } else if self.io.borrow().live > 0 {
            // Ready work never starves I/O: poll without waiting.
            self.wait(vm, timeout)?;
        }
        // Worker results and signals that arrived during the wait run in this iteration.
        self.take_outside_work();
        if self.external.pending.get() > 0 {
            self.collect_external(vm)?;
        }
        super::signals::run_pending(vm)?;
        // Due timers become ready in heap order.
        if !self.timers.borrow().is_empty() {
            let end_time = self.time() + CLOCK_RESOLUTION;
            let mut timers = self.timers.borrow_mut();
            let mut ready = self.ready.borrow_mut();
            while timers.peek().is_some_and(|t| t.when < end_time) {
                let t = timers.pop().expect("peeked");
                t.handle.unschedule();
                if !t.handle.cancelled.get() {
                    ready.push_back(Slot::Handle(t.handle));
                }
            }
        }
        let n = self.ready.borrow().len();
        for _ in 0..n {
            let Some(slot) = self.pop_ready() else { break };
            let (cb, handle) = match slot {
                Slot::Step(task) => (Some(Callback::Step(task, None)), None),
                Slot::Wakeup(task, fut) => (Some(Callback::Wakeup(task, fut)), None),
                Slot::Gather(g, fut) => (Some(Callback::Gather(g, fut)), None),
                Slot::Release(w) => (Some(Callback::Release(w)), None),
                Slot::Native(f) => (Some(Callback::Native(f)), None),
                Slot::Boxed(cb) => (Some(*cb), None),
                Slot::Handle(h) if h.cancelled.get() => (None, None),
                Slot::Handle(h) => {
                    if self.debug.get() {
                        let shown = match &*h.callback.borrow() {
                            Some(Callback::Call(f, args)) => Shown::Callable(f.clone(), args.clone()),
                            _ => Shown::Nothing,
                        };
                        self.run_timed(vm, shown, |vm| self.run_handle(vm, &h))?;
                    } else {
                        self.run_handle(vm, &h)?;
                    }
                    self.recycle(h);
                    continue;
                }
            };
            if let Some(cb) = cb {
                if self.debug.get() {
                    let shown = match &cb {
                        Callback::Step(task, _) | Callback::Wakeup(task, _) => Shown::Task(task.clone()),
                        Callback::Call(f, args) => Shown::Callable(f.clone(), args.clone()),
                        Callback::Done(f, fut) => Shown::Callable(f.clone(), vec![Value::Other(fut.clone())]),
                        _ => Shown::Nothing,
                    };
                    self.run_timed(vm, shown, |vm| self.run_callback(vm, cb, handle))?;
                } else {
                    self.run_callback(vm, cb, handle)?;
                }
            }
        }
        if crate::vm::gen::finalizers_pending() {
            vm.run_finalizers();
        }
        Ok(())
    }

    /// Drops cancelled timers as CPython's `_run_once` does: all of them, re-heapifying,
    /// when there are more than [`MIN_SCHEDULED_TIMER_HANDLES`] timers and more than half
    /// are cancelled; else just those at the top of the heap.
    fn purge_cancelled_timers(&self) {
        let mut timers = self.timers.borrow_mut();
        let count = self.timer_cancelled.get();
        if timers.len() > MIN_SCHEDULED_TIMER_HANDLES && count * 2 > timers.len() {
            timers.retain_and_heapify(|t| {
                let live = !t.handle.cancelled.get();
                if !live {
                    t.handle.unschedule();
                }
                live
            });
            self.timer_cancelled.set(0);
        } else {
            while timers.peek().is_some_and(|t| t.handle.cancelled.get()) {
                self.timer_cancelled.set(self.timer_cancelled.get().saturating_sub(1));
                let t = timers.pop().expect("peeked");
                t.handle.unschedule();
            }
        }
    }

    /// Waits up to `timeout` in `mio::Poll`. A pending Ctrl-C (the VM's interrupt flag)
    /// ends the wait with `KeyboardInterrupt`: the signal makes `epoll_wait` return early
    /// (`EINTR`), and the wait is cut into slices of at most [`INTERRUPT_SLICE`] so that a
    /// signal landing just before the poll starts is seen soon too.
    fn wait(&self, vm: &Vm, timeout: Option<Duration>) -> Res<()> {
        let io_live = self.io.borrow().live > 0;
        // With nothing registered, nothing in flight and no signal to wait for, nothing can
        // ever become ready: CPython would block forever here.
        if timeout.is_none() && !io_live && !self.outside.can_arrive() && self.external.pending.get() == 0 {
            // Nothing can ever become ready: CPython would block forever here.
            return Err(Exc::runtime_error("event loop has nothing to wait for (deadlock)"));
        }
        self.ensure_poll()?;
        let mut poll = self.poll.borrow_mut();
        let mut io = self.io.borrow_mut();
        let io = &mut *io;
        let events = io.events.get_or_insert_with(|| mio::Events::with_capacity(1024));
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            // Ctrl-C, and the embedding API's stop request and deadline.
            vm.poll_limits()?;
            // An interrupt taken as a request (asyncio.run's Ctrl-C cancels the main task)
            // leaves ready work behind: stop waiting (a zero-timeout wait still polls once).
            if timeout != Some(Duration::ZERO) && (!self.ready.borrow().is_empty() || self.outside.has_mail()) {
                break;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(INTERRUPT_SLICE),
                None => INTERRUPT_SLICE,
            }
            .min(vm.until_deadline());
            if let Some(p) = poll.as_mut() {
                // A signal interrupting the wait is not an error: check the flag and go on.
                let _ = p.poll(events, Some(left));
            }
            if events.is_empty() {
                // Idle: the memory of objects that died meanwhile goes back.
                crate::vm::gc::sweep_idle(left);
            }
            if !events.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        let mut ready = self.ready.borrow_mut();
        for ev in events.iter() {
            let Some(Some(h)) = io.handlers.get(ev.token().0) else { continue };
            let mut r = 0;
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                r |= Ready::READ;
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                r |= Ready::WRITE;
            }
            if ev.is_read_closed() || ev.is_write_closed() || ev.is_error() {
                r |= Ready::HUP;
            }
            ready.push_back(Slot::of(Callback::Io(h.clone(), Ready(r))));
        }
        drop(ready);
        vm.poll_limits()
    }

    /// Debug mode: runs a callback and reports it when it took longer than
    /// [`SLOW_CALLBACK`], as CPython's loop does ("Executing <...> took 0.150 seconds").
    fn run_timed(self: &Rc<Self>, vm: &mut Vm, shown: Shown, run: impl FnOnce(&mut Vm) -> Res<()>) -> Res<()> {
        let start = Instant::now();
        let r = run(vm);
        let took = start.elapsed().as_secs_f64();
        if took >= SLOW_CALLBACK {
            let shown = match shown {
                Shown::Task(task) => super::future::future_repr(vm, &task)
                    .unwrap_or_else(|_| crate::vm::other::NativeObject::repr(&*task)),
                Shown::Callable(f, args) => {
                    format!("<Handle {}>", super::exception_handler::callback_source(vm, &f, &args))
                }
                Shown::Nothing => "<Handle>".into(),
            };
            vm.write_stderr(&format!("Executing {shown} took {took:.3} seconds\n"));
        }
        r
    }

    /// Runs the callback of a handle (`call_soon`, `call_at`). A `Callback::Call` stays in
    /// the handle while and after it runs, as in CPython's `Handle._run` (a script holding
    /// the handle still sees it; `cancel()` from inside the callback drops it): its
    /// arguments are copied onto the value stack, and a plain script function (or method)
    /// runs on them where they lie. Other callbacks are taken out and run by [`EventLoop::run_callback`].
    fn run_handle(self: &Rc<Self>, vm: &mut Vm, h: &Rc<Handle>) -> Res<()> {
        let base = vm.stack.len();
        let cb = h.callback.borrow();
        let Some(Callback::Call(f, args)) = &*cb else {
            drop(cb);
            let cb = h.callback.borrow_mut().take();
            return match cb {
                Some(cb) => self.run_callback(vm, cb, Some(h.clone())),
                None => Ok(()),
            };
        };
        // A plain script function, or one bound to a receiver, runs on the copies.
        let r = match f {
            Value::Function(func) if func.code.takes_exactly(args.len()) => {
                let func = func.clone();
                vm.stack.extend_from_slice(args);
                drop(cb);
                vm.run_exact_at(&func, base).map(drop)
            }
            Value::BoundMethod(m) if matches!(&m.func, Value::Function(func) if func.code.takes_exactly(args.len() + 1)) =>
            {
                let (func, receiver) = (m.func.clone(), m.receiver.clone());
                vm.stack.push(receiver);
                vm.stack.extend_from_slice(args);
                drop(cb);
                match &func {
                    Value::Function(func) => vm.run_exact_at(func, base).map(drop),
                    _ => Ok(()),
                }
            }
            _ => {
                let f = f.clone();
                let args: smallvec::SmallVec<[Value; 6]> = args.iter().cloned().collect();
                drop(cb);
                vm.call_slice(&f, &args).map(drop)
            }
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.handle_failed(vm, e, h),
        }
    }

    /// Reports the exception `e` that the callback of handle `h` raised (CPython's
    /// `Handle._run`), unless it ends the loop (see [`EventLoop::run_callback`]). A callback
    /// that cancelled its own handle is shown as CPython shows it then, `None()`.
    fn handle_failed(self: &Rc<Self>, vm: &mut Vm, e: Exc, h: &Rc<Handle>) -> Res<()> {
        let source = match &*h.callback.borrow() {
            Some(Callback::Call(f, args)) => (f.clone(), args.clone()),
            _ => (Value::None, Vec::new()),
        };
        self.report_failure(vm, e, h.clone(), Some(source))
    }

    /// Hands the exception `e` a callback raised to the loop's exception handler with
    /// `handle`, described by the callable and arguments it ran when known; `SystemExit`,
    /// `KeyboardInterrupt` and the embedding limits end the loop instead.
    fn report_failure(
        self: &Rc<Self>,
        vm: &mut Vm,
        e: Exc,
        handle: Rc<Handle>,
        source: Option<(Value, Vec<Value>)>,
    ) -> Res<()> {
        let inst = vm.materialize(e);
        if vm.is_fatal(&inst) {
            return Err(Exc::Obj(inst));
        }
        let message = match &source {
            Some((f, args)) => {
                format!("Exception in callback {}", super::exception_handler::callback_source(vm, f, args))
            }
            None => "Exception in callback".to_string(),
        };
        super::exception_handler::call_handler(
            vm,
            self,
            vec![
                ("message", Value::string(message)),
                ("exception", Value::Instance(inst)),
                ("handle", Value::Other(handle)),
            ],
        )
    }

    /// Runs one ready callback. An exception it raises goes to the loop's exception handler
    /// (CPython's `Handle._run`), except `SystemExit`, `KeyboardInterrupt` and the embedding
    /// limits, which end the loop. `handle` is the callback's `Handle` when it has one.
    fn run_callback(self: &Rc<Self>, vm: &mut Vm, cb: Callback, handle: Option<Rc<Handle>>) -> Res<()> {
        // The callable and its arguments, kept for the report (`Rc` clones).
        let mut callable = None;
        let r = match cb {
            Callback::Call(f, args) => {
                let r = vm.call_slice(&f, &args).map(|_| ());
                if r.is_err() {
                    callable = Some((f, args));
                }
                r
            }
            Callback::Done(f, fut) => {
                let r = vm.call_slice(&f, &[Value::Other(fut.clone())]).map(|_| ());
                if r.is_err() {
                    callable = Some((f, vec![Value::Other(fut)]));
                }
                r
            }
            Callback::Gather(g, fut) => super::gather::done(vm, &g, &fut),
            Callback::Release(waiter) => {
                if !waiter.done() {
                    waiter.set_result(Value::None)?;
                }
                Ok(())
            }
            Callback::SetResult(fut, v) => {
                if !fut.done() {
                    fut.set_result(v)?;
                }
                Ok(())
            }
            Callback::Step(task, exc) => task_step(vm, self, &task, exc),
            Callback::Wakeup(task, fut) => task_wakeup(vm, self, &task, &fut),
            Callback::Io(h, ready) => h.io_ready(vm, ready),
            Callback::Native(f) => f(vm),
            Callback::Rust(f) => f(vm),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                let handle = handle.unwrap_or_else(|| {
                    Rc::new(Handle {
                        callback: RefCell::new(None),
                        cancelled: Cell::new(false),
                        scheduled: Cell::new(false),
                        when: None,
                        timer_cancelled: None,
                    })
                });
                // The handle shows what it ran (CPython's keeps its callback).
                if let Some((f, args)) = &callable {
                    *handle.callback.borrow_mut() = Some(Callback::Call(f.clone(), args.clone()));
                }
                self.report_failure(vm, e, handle, callable)
            }
        }
    }
}

// ---------------------------------------------------------------- I/O registry
//
// Sources (sockets, pipes, raw fds) are registered with the loop's `mio::Poll` under a
// token that indexes a table of handlers. mio is edge-triggered: a handler is told once
// per readiness change and must read or write until `WouldBlock` (or emulate level
// triggering, as `add_reader` does by re-arming). A readiness event becomes a
// `Callback::Io` in the ready queue, so I/O callbacks run in CPython's order: after the
// callbacks already ready, before the timers that fall due.

/// Readiness reported by the poll: a bit set of [`Ready::READ`] and [`Ready::WRITE`]
/// (errors and hang-ups set both, so the handler's next read or write reports them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready(pub u8);

impl Ready {
    /// Readable, or the read side closed.
    pub const READ: u8 = 1;
    /// Writable, or the write side closed.
    pub const WRITE: u8 = 2;
    /// The peer closed a side, or an error is pending: a read will see EOF or the error
    /// even after a short read seemed to drain the source.
    pub const HUP: u8 = 4;
    /// True when the readable bit is set.
    pub fn readable(self) -> bool {
        self.0 & Self::READ != 0
    }
    /// True when the writable bit is set.
    pub fn writable(self) -> bool {
        self.0 & Self::WRITE != 0
    }
    /// True when the hang-up/error bit is set.
    pub fn hup(self) -> bool {
        self.0 & Self::HUP != 0
    }
}

/// What reacts when a registered source becomes ready. It runs from the ready queue, so
/// it may run script code; it must check its own state (the source may have been closed
/// between the event and the callback).
pub trait IoHandler {
    /// Handles readiness of the source registered with this handler.
    fn io_ready(self: Rc<Self>, vm: &mut Vm, ready: Ready) -> Res<()>;
}

/// The registered handlers, indexed by token, with a free list of tokens.
#[derive(Default)]
struct IoTable {
    handlers: Vec<Option<Rc<dyn IoHandler>>>,
    free: Vec<usize>,
    /// How many sources are registered: the loop may wait without a timer while any is.
    live: usize,
    /// The poll's event buffer, kept between waits.
    events: Option<mio::Events>,
}

impl EventLoop {
    fn ensure_poll(&self) -> Res<()> {
        let mut poll = self.poll.borrow_mut();
        if poll.is_none() {
            let os_err = |e: std::io::Error| Exc::new(crate::vm::ExcKind::OSError, e.to_string());
            let p = mio::Poll::new().map_err(os_err)?;
            let waker = mio::Waker::new(p.registry(), WAKE_TOKEN).map_err(os_err)?;
            let _ = self.outside.mailbox.waker.set(waker);
            *self.outside.signal_pipe.borrow_mut() = super::signals::register_wakeup(p.registry(), SIGNAL_TOKEN);
            *poll = Some(p);
        }
        Ok(())
    }

    /// Registers `src` for `interest`; readiness is reported to `handler` until
    /// [`EventLoop::io_deregister`].
    pub fn io_register(
        &self,
        src: &mut dyn mio::event::Source,
        interest: mio::Interest,
        handler: Rc<dyn IoHandler>,
    ) -> std::io::Result<mio::Token> {
        self.ensure_poll().map_err(|_| std::io::Error::other("cannot create the poll"))?;
        let mut io = self.io.borrow_mut();
        let idx = match io.free.pop() {
            Some(i) => i,
            None => {
                io.handlers.push(None);
                io.handlers.len() - 1
            }
        };
        let token = mio::Token(idx);
        let poll = self.poll.borrow();
        let r = poll.as_ref().map(|p| p.registry().register(src, token, interest));
        match r {
            Some(Ok(())) => {
                io.handlers[idx] = Some(handler);
                io.live += 1;
                Ok(token)
            }
            Some(Err(e)) => {
                io.free.push(idx);
                Err(e)
            }
            None => {
                io.free.push(idx);
                Err(std::io::Error::other("no poll"))
            }
        }
    }

    /// Changes the interest of a registered source; with edge triggering this also
    /// re-arms it (an event is reported again if the source is ready now).
    pub fn io_reregister(
        &self,
        src: &mut dyn mio::event::Source,
        token: mio::Token,
        interest: mio::Interest,
    ) -> std::io::Result<()> {
        match self.poll.borrow().as_ref() {
            Some(p) => p.registry().reregister(src, token, interest),
            None => Err(std::io::Error::other("no poll")),
        }
    }

    /// Removes a source; its token may be reused afterwards. Events already queued for
    /// it still reach its handler, which must see that it is closed.
    pub fn io_deregister(&self, src: &mut dyn mio::event::Source, token: mio::Token) {
        if let Some(p) = self.poll.borrow().as_ref() {
            let _ = p.registry().deregister(src);
        }
        let mut io = self.io.borrow_mut();
        if let Some(slot) = io.handlers.get_mut(token.0) {
            if slot.take().is_some() {
                io.live -= 1;
                io.free.push(token.0);
            }
        }
    }

    /// Queues `cb` at the end of the ready queue (as `call_soon`, without a handle).
    pub fn call_soon_native(&self, f: impl FnOnce(&mut Vm) -> Res<()> + 'static) {
        self.schedule(Callback::Native(Box::new(f)));
    }
}

// ---------------------------------------------------------------- Waker: work from outside

/// The token of the loop's `mio::Waker`, which worker threads use to end a wait.
pub const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);
/// The token of the signal self-pipe (see `signals.rs`).
pub const SIGNAL_TOKEN: mio::Token = mio::Token(usize::MAX - 1);

/// What a worker thread hands back: its job's output, type-erased.
pub type Output = Box<dyn std::any::Any + Send>;
/// The loop-thread half of a job: turns the worker's output into effects (a future's result,
/// a resumed green call). Runs as a ready callback.
pub type Finish = Box<dyn FnOnce(&mut Vm, Output) -> Res<()>>;

/// The part of a loop that worker threads share: finished jobs, in the order they finished,
/// and the waker that ends the loop's wait.
#[derive(Default)]
pub struct Mailbox {
    done: std::sync::Mutex<Vec<(u64, Output)>>,
    waker: std::sync::OnceLock<mio::Waker>,
}

impl Mailbox {
    /// Wakes the loop's wait (from any thread) without posting a job.
    pub fn wake(&self) {
        if let Some(w) = self.waker.get() {
            let _ = w.wake();
        }
    }

    /// Posts a finished job and wakes the loop (called on a worker thread).
    pub fn post(&self, id: u64, out: Output) {
        if let Ok(mut d) = self.done.lock() {
            d.push((id, out));
        }
        if let Some(w) = self.waker.get() {
            let _ = w.wake();
        }
    }
}

/// A loop's bookkeeping for work that finishes outside it: jobs on worker threads and
/// signals.
#[derive(Default)]
pub(crate) struct Outside {
    mailbox: std::sync::Arc<Mailbox>,
    /// The loop-thread halves of the jobs in flight, by job id.
    finishers: RefCell<rustc_hash::FxHashMap<u64, Finish>>,
    next_id: Cell<u64>,
    /// This loop's signal handlers (`add_signal_handler`): signal, callback, arguments.
    pub(crate) signals: RefCell<Vec<(i32, Value, Vec<Value>)>>,
    /// The registration of the signal self-pipe with this loop's poll.
    signal_pipe: RefCell<Option<mio::net::UnixStream>>,
}

impl Outside {
    /// True when something may still arrive from outside: a job in flight or a signal with
    /// a handler.
    fn can_arrive(&self) -> bool {
        !self.finishers.borrow().is_empty() || !self.signals.borrow().is_empty()
    }

    fn has_mail(&self) -> bool {
        self.mailbox.done.lock().map(|d| !d.is_empty()).unwrap_or(false)
    }
}

impl EventLoop {
    /// Runs `work` on the worker-thread pool; when it is done, `finish` runs on this loop as
    /// a ready callback with its output (in the order jobs finish).
    pub fn submit(&self, work: Box<dyn FnOnce() -> Output + Send>, finish: Finish) -> Res<()> {
        self.ensure_poll()?;
        let id = self.outside.next_id.get();
        self.outside.next_id.set(id + 1);
        self.outside.finishers.borrow_mut().insert(id, finish);
        let mailbox = self.outside.mailbox.clone();
        super::threads::spawn(Box::new(move || {
            let out = work();
            mailbox.post(id, out);
        }));
        Ok(())
    }

    /// How many submitted jobs have not yet had their `finish` scheduled.
    pub fn jobs_in_flight(&self) -> usize {
        self.outside.finishers.borrow().len()
    }

    /// Moves finished jobs and caught signals into the ready queue, in the order they arrived.
    fn take_outside_work(&self) {
        let in_flight = !self.outside.finishers.borrow().is_empty();
        if !in_flight && self.outside.signals.borrow().is_empty() {
            return;
        }
        let done = match in_flight.then(|| self.outside.mailbox.done.lock()) {
            Some(Ok(mut d)) if !d.is_empty() => std::mem::take(&mut *d),
            _ => Vec::new(),
        };
        for (id, out) in done {
            let finish = self.outside.finishers.borrow_mut().remove(&id);
            if let Some(finish) = finish {
                self.schedule(Callback::Rust(Box::new(move |vm| finish(vm, out))));
            }
        }
        if !self.outside.signals.borrow().is_empty() {
            for (callback, args) in super::signals::caught(self) {
                self.schedule(Callback::Call(callback, args));
            }
        }
    }

    /// Runs the loop until every job submitted to worker threads has finished and its
    /// `finish` has run (what `shutdown_default_executor` waits for at the end of
    /// `asyncio.run`).
    pub fn drain_jobs(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        if self.jobs_in_flight() == 0 || self.running.get() {
            return Ok(());
        }
        self.running.set(true);
        let prev = super::loop_in_run_forever();
        super::set_running_loop(Some(self.clone()));
        let mut r = Ok(());
        while r.is_ok() && (self.jobs_in_flight() > 0 || !self.ready.borrow().is_empty()) {
            r = self.run_once(vm);
        }
        self.running.set(false);
        super::set_running_loop(prev);
        r
    }
}
