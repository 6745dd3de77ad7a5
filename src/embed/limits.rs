//! Limits on a script run: an instruction budget, a wall-clock deadline, a memory cap, a
//! recursion limit, a cap on live tasks, and the host's stop request.
//!
//! Budget, deadline and stop are checked on the *tick* slow path (`Vm::tick`):
//! the dispatch loop decrements a per-VM counter at every backward jump and call, and every
//! [`TICK_SLICE`] ticks the slow path runs. Waits (the event loop's `mio::Poll`,
//! `time.sleep`) check them too ([`crate::vm::Vm::poll_limits`]).
//!
//! A tripped limit is *sticky*: it raises `aio.LimitExceeded` (a `BaseException`, so
//! `except Exception` does not catch it), leaves [`CLEANUP_TICKS`] ticks for `finally`
//! blocks, `except` clauses and `__exit__` methods to clean up, then raises again at every
//! tick until the run returns to the host: the script cannot carry on. The host sees
//! [`crate::embed::Error::Limit`] with the [`Limit`] that ended the run; the next call into
//! the engine starts with fresh limits.

use super::memory::MemState;
use crate::vm::value::{Class, Instance, Layout, Value};
use crate::vm::{Exc, ExcKind, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Ticks between two slow checks of the interrupt flag and the limits.
pub const TICK_SLICE: u32 = 256;

/// Ticks a run may still use after a limit trips, for its cleanup code.
pub const CLEANUP_TICKS: u32 = 1000;

/// Which limit ended a run (see [`crate::embed::Error::Limit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The instruction budget ([`crate::embed::Builder::instruction_budget`]) ran out.
    Instructions,
    /// The wall-clock deadline ([`crate::embed::Builder::deadline`]) passed.
    Deadline,
    /// The memory cap ([`crate::embed::Builder::memory_limit`]) was exceeded.
    Memory,
    /// Calls nested deeper than the recursion limit (an uncaught `RecursionError`).
    Recursion,
    /// More live tasks than [`crate::embed::Builder::max_tasks`] allows.
    Tasks,
    /// The host asked the run to stop ([`crate::embed::StopHandle::stop`]).
    Stopped,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::Instructions => "instruction budget",
            Limit::Deadline => "deadline",
            Limit::Memory => "memory limit",
            Limit::Recursion => "recursion limit",
            Limit::Tasks => "task limit",
            Limit::Stopped => "stop request",
        })
    }
}

/// The limits a host configures; `None` means unlimited. Applied afresh at every call into
/// the engine (the budget and the deadline count per call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Ticks (loop iterations, calls, items drained by natives) a call may run.
    pub instructions: Option<u64>,
    /// Wall-clock time a call may take, waits included.
    pub deadline: Option<Duration>,
    /// Bytes the VM's live objects may take (approximate; see `docs/embedding.md`).
    pub memory: Option<usize>,
    /// Maximum call depth (`sys.getrecursionlimit()`; scripts may lower it, not raise it).
    pub recursion: Option<usize>,
    /// Maximum number of live (not yet finished) tasks per event loop.
    pub tasks: Option<usize>,
}

/// Shared between the VM and its [`crate::embed::StopHandle`]s (any thread).
#[derive(Default)]
pub(crate) struct StopShared {
    /// Set by `StopHandle::stop`.
    pub(crate) requested: AtomicBool,
    /// The waker of the loop the VM is waiting in, if any, so a stop ends the wait at once.
    pub(crate) waker: Mutex<Option<Arc<crate::asyncio::event_loop::Mailbox>>>,
}

/// The per-VM state the tick slow path reads.
pub struct Governor {
    /// The configured limits.
    pub(crate) limits: Cell<Limits>,
    /// Ticks not yet handed out to the fast path (`u64::MAX` when unlimited).
    budget_left: Cell<u64>,
    /// When the current call must end.
    deadline_at: Cell<Option<Instant>>,
    /// The limit that tripped in the current call (sticky until the call returns).
    pub(crate) tripped: Cell<Option<Limit>>,
    /// True once the cleanup ticks after a trip were handed out (once per call).
    cleanup_given: Cell<bool>,
    /// The host's stop request.
    pub(crate) stop: Arc<StopShared>,
    /// Memory accounting.
    pub(crate) mem: MemState,
    /// `aio.LimitExceeded`, made on first use.
    limit_class: RefCell<Option<Rc<Class>>>,
}

impl Default for Governor {
    fn default() -> Self {
        Governor {
            limits: Cell::new(Limits::default()),
            budget_left: Cell::new(u64::MAX),
            deadline_at: Cell::new(None),
            tripped: Cell::new(None),
            cleanup_given: Cell::new(false),
            stop: Arc::new(StopShared::default()),
            mem: MemState::default(),
            limit_class: RefCell::new(None),
        }
    }
}

impl Governor {
    /// Starts a call into the engine: a fresh budget and deadline, nothing tripped.
    pub(crate) fn start_call(&self) {
        let l = self.limits.get();
        self.budget_left.set(l.instructions.unwrap_or(u64::MAX));
        self.deadline_at.set(l.deadline.map(|d| Instant::now() + d));
        self.tripped.set(None);
        self.cleanup_given.set(false);
        self.mem.start_call();
    }

    /// Ends a call: no deadline or budget applies between calls.
    pub(crate) fn end_call(&self) {
        self.budget_left.set(u64::MAX);
        self.deadline_at.set(None);
    }
}

impl Vm {
    /// The tick slow path: Ctrl-C, then the limits; hands the fast path its next slice.
    #[cold]
    #[inline(never)]
    pub(crate) fn tick_slow(&self) -> Res<()> {
        self.take_interrupt()?;
        let g = &self.host.gov;
        if let Some(kind) = g.tripped.get() {
            // The cleanup ticks are used up.
            return Err(self.limit_exc(kind));
        }
        if g.stop.requested.load(Ordering::Relaxed) {
            return Err(self.trip(Limit::Stopped));
        }
        if let Some(d) = g.deadline_at.get() {
            if Instant::now() >= d {
                return Err(self.trip(Limit::Deadline));
            }
        }
        if g.limits.get().memory.is_some() {
            self.mem_on_ticks(TICK_SLICE as usize)?;
        }
        let left = g.budget_left.get();
        if left == 0 {
            return Err(self.trip(Limit::Instructions));
        }
        let n = left.min(TICK_SLICE as u64);
        g.budget_left.set(left - n);
        self.ticks.set((n - 1) as u32);
        Ok(())
    }

    /// Checks, outside the dispatch loop (in waits and sleeps), what the tick slow path
    /// checks except the budget: Ctrl-C, the stop request, the deadline, a tripped limit.
    pub fn poll_limits(&self) -> Res<()> {
        self.take_interrupt()?;
        let g = &self.host.gov;
        if let Some(kind) = g.tripped.get() {
            return Err(self.limit_exc(kind));
        }
        if g.stop.requested.load(Ordering::Relaxed) {
            return Err(self.trip(Limit::Stopped));
        }
        if let Some(d) = g.deadline_at.get() {
            if Instant::now() >= d {
                return Err(self.trip(Limit::Deadline));
            }
        }
        Ok(())
    }

    /// How long a wait may last before the deadline (a year when there is none).
    pub fn until_deadline(&self) -> Duration {
        match self.host.gov.deadline_at.get() {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(365 * 86_400),
        }
    }

    /// True for exceptions that end an event loop instead of being reported by it:
    /// `KeyboardInterrupt`, `SystemExit` and `aio.LimitExceeded`.
    pub fn is_fatal(&self, inst: &Instance) -> bool {
        inst.class.is_subclass(self.exc_class(ExcKind::KeyboardInterrupt))
            || inst.class.is_subclass(self.exc_class(ExcKind::SystemExit))
            || self.is_limit_exc(inst)
    }

    /// True for `aio.LimitExceeded`.
    pub(crate) fn is_limit_exc(&self, inst: &Instance) -> bool {
        match &*self.host.gov.limit_class.borrow() {
            Some(c) => Rc::ptr_eq(&inst.class, c),
            None => false,
        }
    }

    /// Trips a limit: it stays tripped until the call returns; after the first trip of a
    /// call, [`CLEANUP_TICKS`] ticks remain for cleanup code, then every tick raises again.
    pub(crate) fn trip(&self, kind: Limit) -> Exc {
        let g = &self.host.gov;
        if g.tripped.get().is_none() {
            g.tripped.set(Some(kind));
        }
        if g.cleanup_given.replace(true) {
            self.ticks.set(0);
        } else {
            self.ticks.set(CLEANUP_TICKS);
        }
        self.limit_exc(g.tripped.get().unwrap_or(kind))
    }

    /// The `aio.LimitExceeded` exception for a tripped limit.
    fn limit_exc(&self, kind: Limit) -> Exc {
        let l = self.host.gov.limits.get();
        let msg = match kind {
            Limit::Instructions => {
                format!("instruction budget of {} exhausted", l.instructions.unwrap_or(0))
            }
            Limit::Deadline => format!("deadline of {:?} exceeded", l.deadline.unwrap_or_default()),
            Limit::Memory => format!("memory limit of {} exceeded", super::memory::format_bytes(l.memory.unwrap_or(0))),
            Limit::Recursion => "maximum recursion depth exceeded".to_string(),
            Limit::Tasks => format!("task limit of {} reached", l.tasks.unwrap_or(0)),
            Limit::Stopped => "stopped by the host".to_string(),
        };
        let class = self.limit_class();
        let inst = Instance {
            class,
            attrs: RefCell::new(smallvec::smallvec![(self.syms.args, Value::tuple(vec![Value::string(msg)]))]),
        };
        Exc::Obj(Rc::new(inst))
    }

    fn limit_class(&self) -> Rc<Class> {
        if let Some(c) = &*self.host.gov.limit_class.borrow() {
            return c.clone();
        }
        let base = self.exc_class(ExcKind::BaseException).clone();
        let mut mro = vec![base.clone()];
        mro.extend(base.mro.iter().cloned());
        let c = Rc::new(Class {
            name: Rc::from("LimitExceeded"),
            qualname: RefCell::new(Rc::from("LimitExceeded")),
            bases: vec![base],
            mro,
            dict: RefCell::default(),
            layout: Layout::Exception,
            builtin: None,
            version: Cell::new(0),
            cache: Default::default(),
            tp_name: Default::default(),
        });
        c.dict.borrow_mut().insert(Sym::new("__module__"), Value::str("aio"));
        crate::vm::value::bump_class_epoch();
        *self.host.gov.limit_class.borrow_mut() = Some(c.clone());
        c
    }

    /// The task cap: called before a task is created on `lp`.
    pub(crate) fn check_task_cap(&self, lp: &crate::asyncio::event_loop::EventLoop) -> Res<()> {
        let Some(cap) = self.host.gov.limits.get().tasks else { return Ok(()) };
        let mut tasks = lp.tasks.borrow_mut();
        if tasks.len() < cap {
            return Ok(());
        }
        // The list holds every task ever created that is still alive: drop the dead and
        // the finished, then count.
        tasks.retain(|t| t.upgrade().is_some_and(|t| !t.done()));
        if tasks.len() >= cap {
            drop(tasks);
            return Err(self.trip(Limit::Tasks));
        }
        Ok(())
    }
}

impl Vm {
    /// `sys.setrecursionlimit(n)` under a host's recursion limit: scripts may lower the
    /// limit, not raise it past the host's.
    pub(crate) fn check_recursion_cap(&self, n: i64) -> Res<()> {
        match self.host.gov.limits.get().recursion {
            Some(cap) if n > cap as i64 => Err(Exc::new(
                ExcKind::PermissionError,
                format!("the recursion limit cannot be raised above {cap} here"),
            )),
            _ => Ok(()),
        }
    }
}

/// The address of a local: where the stack is now (the stack grows down on every platform
/// Rust supports with threads).
#[inline(always)]
pub(crate) fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

impl Vm {
    /// Fails with `RecursionError` when native code nested in script code (each nested
    /// dispatch loop, each level of `repr`) has used more of the host thread's stack than
    /// [`crate::embed::Builder::stack_size`] allows. Inactive outside embedding calls.
    #[inline]
    pub(crate) fn check_stack(&self) -> Res<()> {
        let base = self.host.stack_base.get();
        if base != 0 && base.saturating_sub(stack_position()) > self.host.stack_size.get() {
            return Err(Exc::new(
                ExcKind::RecursionError,
                "maximum recursion depth exceeded while calling a Python object (the host's stack is used up)",
            ));
        }
        Ok(())
    }
}
