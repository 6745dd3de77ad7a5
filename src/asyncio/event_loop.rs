//! The event loop: a FIFO ready queue of callbacks, a timer heap (FIFO among equal
//! deadlines), and a `mio::Poll` to wait on when nothing is ready.
//!
//! **Invariant:** the loop never runs script code except through `run_once`, one ready
//! callback at a time, in the order they became ready.

use super::future::{task_step, task_wakeup, FutureObj};
use crate::vm::value::Value;
use crate::vm::{Exc, Res, Vm};
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `mio` token of the loop's cross-thread [`EventLoop::waker`].
const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX - 1);

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
    /// Deadline in loop time, for timer handles.
    pub when: Option<f64>,
}

struct Timer {
    when: f64,
    seq: u64,
    handle: Rc<Handle>,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        self.when == o.when && self.seq == o.seq
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (then oldest) first.
        o.when.partial_cmp(&self.when).unwrap_or(Ordering::Equal).then(o.seq.cmp(&self.seq))
    }
}

/// An event loop.
pub struct EventLoop {
    ready: RefCell<VecDeque<Rc<Handle>>>,
    timers: RefCell<BinaryHeap<Timer>>,
    seq: Cell<u64>,
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
    /// Completions arriving from outside the loop (host futures).
    pub external: External,
    /// Wakes the `mio::Poll` from any thread (created on first use).
    waker: RefCell<Option<Arc<mio::Waker>>>,
    /// When set, no wait goes past this instant (a host driving the loop a time slice at a
    /// time); with nothing to wait for, the loop idles until then instead of failing.
    pub wait_cap: Cell<Option<Instant>>,
}

impl EventLoop {
    /// A new, idle loop.
    pub fn new() -> Rc<EventLoop> {
        Rc::new(EventLoop {
            ready: RefCell::default(),
            timers: RefCell::default(),
            seq: Cell::new(0),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            start: Instant::now(),
            poll: RefCell::new(None),
            tasks: RefCell::default(),
            current_task: RefCell::new(None),
            debug: Cell::new(false),
            script_value: RefCell::new(Weak::new()),
            external: External::default(),
            waker: RefCell::new(None),
            wait_cap: Cell::new(None),
        })
    }

    /// A handle that wakes this loop's wait from any thread (one `mio::Waker` per loop,
    /// shared by everything that needs one).
    pub fn waker(&self) -> Res<Arc<mio::Waker>> {
        if let Some(w) = &*self.waker.borrow() {
            return Ok(w.clone());
        }
        let os_err = |e: std::io::Error| Exc::new(crate::vm::ExcKind::OSError, e.to_string());
        let mut poll = self.poll.borrow_mut();
        if poll.is_none() {
            *poll = Some(mio::Poll::new().map_err(os_err)?);
        }
        let registry = poll.as_ref().map(|p| p.registry()).ok_or_else(|| Exc::runtime_error("no poll"))?;
        let w = Arc::new(mio::Waker::new(registry, WAKER_TOKEN).map_err(os_err)?);
        *self.waker.borrow_mut() = Some(w.clone());
        Ok(w)
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

    /// `loop.time()`: seconds on a monotonic clock.
    pub fn time(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// `loop.call_soon`.
    pub fn call_soon(&self, cb: Callback) -> Rc<Handle> {
        let h = Rc::new(Handle { callback: RefCell::new(Some(cb)), cancelled: Cell::new(false), when: None });
        self.ready.borrow_mut().push_back(h.clone());
        h
    }

    /// `loop.call_at`.
    pub fn call_at(&self, when: f64, cb: Callback) -> Rc<Handle> {
        let h = Rc::new(Handle { callback: RefCell::new(Some(cb)), cancelled: Cell::new(false), when: Some(when) });
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        self.timers.borrow_mut().push(Timer { when, seq, handle: h.clone() });
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
        let r = loop {
            if let Err(e) = self.run_once(vm) {
                break Err(e);
            }
            if self.stopping.get() {
                break Ok(());
            }
        };
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

    /// True when a callback is ready or a timer is due.
    pub fn has_ready_work(&self) -> bool {
        if self.ready.borrow().iter().any(|h| !h.cancelled.get()) {
            return true;
        }
        let now = self.time();
        self.timers.borrow().iter().any(|t| t.when <= now && !t.handle.cancelled.get())
    }

    /// One iteration: wait for the nearest timer (or not at all when work is ready), move
    /// due timers to the ready queue, then run the callbacks that were ready at that point.
    fn run_once(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        // Drop cancelled timers at the front.
        loop {
            let mut timers = self.timers.borrow_mut();
            match timers.peek() {
                Some(t) if t.handle.cancelled.get() => {
                    timers.pop();
                }
                _ => break,
            }
        }
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
        }
        if self.external.pending.get() > 0 {
            self.collect_external(vm)?;
        }
        let now = self.time();
        loop {
            let mut timers = self.timers.borrow_mut();
            match timers.peek() {
                Some(t) if t.when <= now => {
                    let t = timers.pop().expect("peeked");
                    if !t.handle.cancelled.get() {
                        self.ready.borrow_mut().push_back(t.handle);
                    }
                }
                _ => break,
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
                self.run_callback(vm, cb)?;
            }
        }
        vm.run_finalizers();
        Ok(())
    }

    /// Waits up to `timeout` in `mio::Poll`. A pending Ctrl-C (the VM's interrupt flag)
    /// ends the wait with `KeyboardInterrupt`: the signal makes `epoll_wait` return early
    /// (`EINTR`), and the wait is cut into slices of at most [`INTERRUPT_SLICE`] so that a
    /// signal landing just before the poll starts is seen soon too.
    fn wait(&self, vm: &Vm, timeout: Option<Duration>) -> Res<()> {
        let t = match timeout {
            Some(t) => t,
            // Only external work (a host future) can make something ready: wait for it.
            None if self.external.pending.get() > 0 => Duration::from_secs(365 * 86_400),
            // Nothing can ever become ready: CPython would block forever here.
            None => return Err(Exc::runtime_error("event loop has nothing to wait for (deadlock)")),
        };
        let mut poll = self.poll.borrow_mut();
        if poll.is_none() {
            *poll = Some(mio::Poll::new().map_err(|e| Exc::new(crate::vm::ExcKind::OSError, e.to_string()))?);
        }
        let mut events = mio::Events::with_capacity(16);
        let deadline = Instant::now() + t;
        loop {
            // Ctrl-C, and the embedding API's stop request and deadline.
            vm.poll_limits()?;
            let left = deadline.saturating_duration_since(Instant::now()).min(vm.until_deadline());
            if let Some(p) = poll.as_mut() {
                // A signal interrupting the wait is not an error: check the flag and go on.
                let _ = p.poll(&mut events, Some(left.min(INTERRUPT_SLICE)));
            }
            if !events.is_empty() || Instant::now() >= deadline {
                break;
            }
        }
        vm.poll_limits()
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
                // KeyboardInterrupt, SystemExit and the embedding limits end the loop;
                // anything else is reported.
                if vm.is_fatal(&inst) {
                    return Err(Exc::Obj(inst));
                }
                let text = crate::traceback::format_exception(vm, &inst);
                vm.write_stderr(&format!("Exception in callback\n{text}"));
                Ok(())
            }
        }
    }
}
