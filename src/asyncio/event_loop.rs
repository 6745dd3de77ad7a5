//! The event loop: a FIFO ready queue of callbacks, a timer heap (see [`timer_heap`]: the
//! same binary heap as CPython's `heapq`, so timers with equal deadlines run in CPython's
//! order), and a `mio::Poll` to wait on when nothing is ready.
//!
//! **Invariant:** the loop never runs script code except through `run_once`, one ready
//! callback at a time, in the order they became ready.

use super::future::{task_step, task_wakeup, FutureObj};
use super::timer_heap::{Timer, TimerHeap};
use crate::vm::value::Value;
use crate::vm::{Exc, Res, Vm};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

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
    /// Run one step of a task, optionally throwing an exception into it.
    Step(Rc<FutureObj>, Option<Value>),
    /// Wake a task whose awaited future finished.
    Wakeup(Rc<FutureObj>, Rc<FutureObj>),
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

    /// Marks a timer handle as taken out of the heap.
    fn unschedule(&self) {
        self.scheduled.set(false);
    }
}

/// CPython's `_MIN_SCHEDULED_TIMER_HANDLES`: below this many timers the heap is never
/// purged of cancelled ones.
const MIN_SCHEDULED_TIMER_HANDLES: usize = 100;

/// The resolution of the loop's clock (`time.get_clock_info('monotonic').resolution` on
/// Linux): timers due before `now + CLOCK_RESOLUTION` run in this iteration.
const CLOCK_RESOLUTION: f64 = 1e-9;

/// An event loop.
pub struct EventLoop {
    ready: RefCell<VecDeque<Rc<Handle>>>,
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
    /// The task whose step is running.
    pub current_task: RefCell<Option<Rc<FutureObj>>>,
    /// Debug mode.
    pub debug: Cell<bool>,
    /// The script object for this loop while one is alive, so that every way of getting
    /// the loop gives the same object (`get_running_loop() is get_event_loop()`).
    pub script_value: RefCell<Weak<super::LoopRef>>,
}

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
            current_task: RefCell::new(None),
            debug: Cell::new(debug_from_env()),
            script_value: RefCell::new(Weak::new()),
        })
    }

    /// `loop.time()`: seconds on a monotonic clock.
    pub fn time(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// `loop.call_soon`.
    pub fn call_soon(&self, cb: Callback) -> Rc<Handle> {
        let h = Rc::new(Handle {
            callback: RefCell::new(Some(cb)),
            cancelled: Cell::new(false),
            scheduled: Cell::new(false),
            when: None,
            timer_cancelled: None,
        });
        self.ready.borrow_mut().push_back(h.clone());
        h
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
        if self.ready.borrow().iter().any(|h| !h.cancelled.get()) {
            return Some(Duration::ZERO);
        }
        let now = self.time();
        let timers = self.timers.borrow();
        let next =
            timers.as_slice().iter().filter(|t| !t.handle.cancelled.get()).map(|t| t.when).min_by(f64::total_cmp)?;
        Some(Duration::from_secs_f64((next - now).max(0.0)))
    }

    /// True when a callback is ready or a timer is due.
    fn has_ready_work(&self) -> bool {
        if self.ready.borrow().iter().any(|h| !h.cancelled.get()) {
            return true;
        }
        let now = self.time();
        self.timers.borrow().as_slice().iter().any(|t| t.when <= now && !t.handle.cancelled.get())
    }

    /// One iteration: wait for the nearest timer (or not at all when work is ready), move
    /// due timers to the ready queue, then run the callbacks that were ready at that point.
    fn run_once(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        self.purge_cancelled_timers();
        let timeout = if !self.ready.borrow().is_empty() || self.stopping.get() {
            Some(Duration::ZERO)
        } else {
            self.timers.borrow().peek().map(|t| Duration::from_secs_f64((t.when - self.time()).max(0.0)))
        };
        if timeout != Some(Duration::ZERO) {
            vm.flush_stdout();
            self.wait(vm, timeout)?;
        }
        // Due timers become ready in heap order.
        let end_time = self.time() + CLOCK_RESOLUTION;
        {
            let mut timers = self.timers.borrow_mut();
            let mut ready = self.ready.borrow_mut();
            while timers.peek().is_some_and(|t| t.when < end_time) {
                let t = timers.pop().expect("peeked");
                t.handle.unschedule();
                if !t.handle.cancelled.get() {
                    ready.push_back(t.handle);
                }
            }
        }
        let n = self.ready.borrow().len();
        for _ in 0..n {
            let Some(h) = self.ready.borrow_mut().pop_front() else { break };
            if h.cancelled.get() {
                continue;
            }
            let cb = h.callback.borrow_mut().take();
            if let Some(cb) = cb {
                if self.debug.get() {
                    self.run_timed(vm, cb)?;
                } else {
                    self.run_callback(vm, cb)?;
                }
            }
        }
        vm.run_finalizers();
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
        let Some(t) = timeout else {
            // Nothing can ever become ready: CPython would block forever here.
            return Err(Exc::runtime_error("event loop has nothing to wait for (deadlock)"));
        };
        let mut poll = self.poll.borrow_mut();
        if poll.is_none() {
            *poll = Some(mio::Poll::new().map_err(|e| Exc::new(crate::vm::ExcKind::OSError, e.to_string()))?);
        }
        let mut events = mio::Events::with_capacity(16);
        let deadline = Instant::now() + t;
        loop {
            vm.take_interrupt()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(p) = poll.as_mut() {
                // A signal interrupting the wait is not an error: check the flag and go on.
                let _ = p.poll(&mut events, Some(left.min(INTERRUPT_SLICE)));
            }
            if !events.is_empty() || Instant::now() >= deadline {
                break;
            }
        }
        vm.take_interrupt()
    }

    /// Debug mode: runs a callback and reports it when it took longer than
    /// [`SLOW_CALLBACK`], as CPython's loop does ("Executing <...> took 0.150 seconds").
    fn run_timed(self: &Rc<Self>, vm: &mut Vm, cb: Callback) -> Res<()> {
        let what = match &cb {
            Callback::Step(task, _) | Callback::Wakeup(task, _) => Some(task.clone()),
            Callback::Call(..) => None,
        };
        let label = match &cb {
            Callback::Call(f, _) => Some(super::future::callback_text(f)),
            _ => None,
        };
        let start = Instant::now();
        let r = self.run_callback(vm, cb);
        let took = start.elapsed().as_secs_f64();
        if took >= SLOW_CALLBACK {
            let shown = match (what, label) {
                (Some(task), _) => super::future::future_repr(vm, &task)
                    .unwrap_or_else(|_| crate::vm::other::NativeObject::repr(&*task)),
                (None, Some(l)) => format!("<Handle {l}>"),
                (None, None) => "<Handle>".into(),
            };
            vm.write_stderr(&format!("Executing {shown} took {took:.3} seconds\n"));
        }
        r
    }

    fn run_callback(self: &Rc<Self>, vm: &mut Vm, cb: Callback) -> Res<()> {
        let r = match cb {
            Callback::Call(f, args) => vm.call(&f, args).map(|_| ()),
            Callback::Step(task, exc) => task_step(vm, self, &task, exc),
            Callback::Wakeup(task, fut) => task_wakeup(vm, self, &task, &fut),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                let inst = vm.materialize(e);
                // KeyboardInterrupt and SystemExit end the loop; anything else is reported.
                if inst.class.is_subclass(vm.exc_class(crate::vm::ExcKind::KeyboardInterrupt))
                    || inst.class.is_subclass(vm.exc_class(crate::vm::ExcKind::SystemExit))
                {
                    return Err(Exc::Obj(inst));
                }
                let text = crate::traceback::format_exception(vm, &inst);
                vm.write_stderr(&format!("Exception in callback\n{text}"));
                Ok(())
            }
        }
    }
}
