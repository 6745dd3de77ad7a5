//! Generators, coroutines and async generators: a suspended frame and its state.

use super::frame::{Detached, Frame, ReturnMode, Suspended};
use super::gen_values::GenValues;
use super::other::TraceEntry;
use super::value::Value;
use crate::bytecode::Op;
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

/// Which kind of resumable function made the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenKind {
    /// `def` with `yield`.
    Generator,
    /// `async def`.
    Coroutine,
    /// `async def` with `yield`.
    AsyncGenerator,
}

/// The legal states: Created -> Running <-> Suspended -> Closed (from any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenState {
    /// Not started.
    Created,
    /// Suspended at a `yield`.
    Suspended,
    /// Executing (re-entry is a `ValueError`).
    Running,
    /// Finished or closed.
    Closed,
}

/// A generator-like object owning its frame.
pub struct GenObj {
    /// Generator, coroutine or async generator.
    pub kind: GenKind,
    /// Where it is in its life.
    pub state: Cell<GenState>,
    /// The frame while not running (its parts are taken out while it runs).
    pub frame: RefCell<GenFrame>,
    /// What few generators have (boxed, so the others pay a pointer; made when first
    /// needed).
    pub extra: OnceCell<Box<GenExtra>>,
    /// The code it runs (for `gi_code`/`cr_code` and "defined at" in reprs).
    pub code: Rc<crate::bytecode::Code>,
    /// For coroutines: whether it was ever awaited or started (for the never-awaited warning).
    pub awaited: Cell<bool>,
    /// For async generators: an `asend`/`athrow` awaitable started and has not finished
    /// (CPython's `ag_running_async`; starting another raises `RuntimeError`).
    pub ag_running: Cell<bool>,
    /// While it heads a delegation chain (see `ReturnMode::GenChain`): the levels waiting
    /// above the innermost one, itself included (in what would be padding).
    pub chain_levels: Cell<u32>,
}

/// A generator's frame as the generator holds it: its values, and the rest of it while it
/// is not running.
#[derive(Default)]
pub struct GenFrame {
    /// Locals followed by the operand stack while suspended (or not started): a few inline,
    /// more in a vector. While the frame runs they are on the VM's value stack and this is
    /// empty (a vector keeps its room for the next suspension), so resuming and yielding
    /// allocate nothing.
    pub values: GenValues,
    /// The rest of the frame while it is not running; `None` while it runs and once it has
    /// finished or was closed.
    pub parts: Option<Suspended>,
}

impl GenFrame {
    /// The frame of a generator not started yet: `d`, built by a call (its code is the
    /// generator's).
    pub fn new(d: Detached) -> GenFrame {
        let Detached { frame, values } = d;
        // Coroutines keep few values inline (a pending task's needs no buffer of its own);
        // generators, resumed far more often in place, keep the vector (the faster path).
        let values = if frame.code.flags.coroutine { GenValues::from_vec(values) } else { GenValues::Heap(values) };
        let Frame { ip, cells, globals, handlers, ret, .. } = frame;
        let cells = super::frame::boxed_cells(cells);
        GenFrame { values, parts: Some(Suspended { ip: ip as u32, cells, globals, handlers, ret }) }
    }
    /// True while the frame is suspended inside `try`/`with` (closing it runs code).
    pub fn in_handler(&self) -> bool {
        self.parts.as_ref().is_some_and(|s| !s.handlers.is_empty())
    }
    /// The next instruction of a frame that is not running.
    pub fn ip(&self) -> Option<usize> {
        self.parts.as_ref().map(|s| s.ip as usize)
    }
}

/// The parts of a generator object that few have.
#[derive(Default)]
pub struct GenExtra {
    /// `__name__` and `__qualname__` when they are not the code's (the function was renamed
    /// before the call; see [`GenObj::name`]).
    pub names: Option<(Rc<str>, Rc<str>)>,
    /// For coroutines created while origin tracking was on (asyncio debug mode): the stack
    /// that created it, outermost first.
    pub origin: Option<Vec<TraceEntry>>,
    /// The exceptions being handled in the frame when it suspended (a `yield` or `await`
    /// inside an `except` block), restored when it resumes: CPython's `gi_exc_state` (here:
    /// most generators never suspend inside `except`).
    pub handled: Cell<Option<Vec<Value>>>,
}

impl GenExtra {
    /// The `extra` of a new generator named `names` (see [`GenObj::names_for`]) whose
    /// creation stack is `origin`: empty when it has neither.
    pub fn cell(names: Option<(Rc<str>, Rc<str>)>, origin: Option<Vec<TraceEntry>>) -> OnceCell<Box<GenExtra>> {
        let cell = OnceCell::new();
        if names.is_some() || origin.is_some() {
            let _ = cell.set(Box::new(GenExtra { names, origin, handled: Cell::new(None) }));
        }
        cell
    }
}

/// Work left by objects that died while suspended: generators to close, coroutines that
/// were never awaited. Drop cannot reach the VM, so it queues the work here and the VM
/// runs it at its next safe point.
pub enum Finalize {
    /// Close a suspended generator (runs its `finally` blocks).
    Close(Rc<GenObj>),
    /// Warn that a coroutine was never awaited (with where it was created, in debug mode).
    NeverAwaited(Rc<str>, Option<Box<Vec<TraceEntry>>>),
    /// Any other work that needs the VM (e.g. reporting a task's unretrieved exception).
    Job(Box<dyn FnOnce(&mut Vm)>),
}

thread_local! {
    static PENDING: RefCell<Vec<Finalize>> = const { RefCell::new(Vec::new()) };
    // Mirrors `!PENDING.is_empty()` so the dispatch loop's check is one load, no borrow.
    static ANY_PENDING: Cell<bool> = const { Cell::new(false) };
}

thread_local! {
    /// The warnings already shown (`file:line: message`): CPython's `default` warning action
    /// shows a warning once per location (the `__warningregistry__` of the module).
    static WARNED: RefCell<rustc_hash::FxHashSet<String>> = RefCell::default();
}

/// True the first time the warning `text` (its location, message and source line) is seen.
fn first_at_location(text: &str) -> bool {
    WARNED.with(|w| {
        let mut w = w.borrow_mut();
        if w.contains(text) {
            return false;
        }
        w.insert(text.to_string());
        true
    })
}

/// Queues CPython's `RuntimeWarning: coroutine '…' was never awaited` for a native
/// coroutine (`asyncio.sleep()`, `lock.acquire()`, ...) dropped before it started; like a
/// script coroutine's, it is reported at the VM's next safe point.
pub fn warn_never_awaited(qualname: &str) {
    queue_finalizer(Finalize::NeverAwaited(Rc::from(qualname), None));
}

/// True when finalisers are waiting.
#[inline]
pub fn finalizers_pending() -> bool {
    ANY_PENDING.with(|p| p.get())
}

/// False once this thread's finaliser queue has been destroyed (a VM dropped by a
/// thread-local destructor at thread exit).
pub(crate) fn finalizer_state_alive() -> bool {
    PENDING.try_with(|_| ()).is_ok()
}

thread_local! {
    static TRACK_ORIGINS: Cell<bool> = const { Cell::new(false) };
}

/// Turns recording of where coroutines are created on or off (asyncio debug mode, like
/// CPython's `sys.set_coroutine_origin_tracking_depth`); returns the previous setting.
pub fn set_origin_tracking(on: bool) -> bool {
    TRACK_ORIGINS.with(|t| t.replace(on))
}

/// True while coroutine origins are recorded.
pub fn origin_tracking() -> bool {
    TRACK_ORIGINS.with(|t| t.get())
}

/// Queues `job` to run with the VM at its next safe point (for `Drop` impls elsewhere).
pub fn queue_job(job: Box<dyn FnOnce(&mut Vm)>) {
    queue_finalizer(Finalize::Job(job));
}

/// Makes the VM stop at its next safe point and call `run_finalizers` (which also runs a
/// requested cycle collection).
pub(crate) fn request_safe_point() {
    let _ = ANY_PENDING.try_with(|p| p.set(true));
}

fn queue_finalizer(job: Finalize) {
    let _ = PENDING.try_with(|p| p.borrow_mut().push(job));
    let _ = ANY_PENDING.try_with(|p| p.set(true));
}

impl GenObj {
    /// True when the suspended frame holds exceptions it was handling (see
    /// [`GenExtra::handled`]).
    pub fn is_handling(&self) -> bool {
        self.extra.get().is_some_and(|e| {
            let h = e.handled.take();
            let busy = h.is_some();
            e.handled.set(h);
            busy
        })
    }
    /// `__name__`.
    pub fn name(&self) -> &Rc<str> {
        self.extra.get().and_then(|e| e.names.as_ref()).map_or(&self.code.name, |n| &n.0)
    }
    /// `__qualname__`.
    pub fn qualname(&self) -> &Rc<str> {
        self.extra.get().and_then(|e| e.names.as_ref()).map_or(&self.code.qualname, |n| &n.1)
    }
    /// For a coroutine created in asyncio debug mode: the stack that created it.
    pub fn origin(&self) -> Option<&[TraceEntry]> {
        self.extra.get().and_then(|e| e.origin.as_deref())
    }
    /// The `names` of [`GenExtra`] for a generator made by a function called `name`
    /// (`qualname`) running `code`: `None` when they are the code's.
    pub fn names_for(code: &crate::bytecode::Code, name: &Rc<str>, qualname: &Rc<str>) -> Option<(Rc<str>, Rc<str>)> {
        if (Rc::ptr_eq(name, &code.name) || **name == *code.name)
            && (Rc::ptr_eq(qualname, &code.qualname) || **qualname == *code.qualname)
        {
            None
        } else {
            Some((name.clone(), qualname.clone()))
        }
    }
    /// A generator object of `kind` running the frame `d` just built for `code`, not started.
    pub fn new(kind: GenKind, d: Detached, code: Rc<crate::bytecode::Code>, extra: OnceCell<Box<GenExtra>>) -> GenObj {
        GenObj {
            kind,
            state: Cell::new(GenState::Created),
            frame: RefCell::new(GenFrame::new(d)),
            extra,
            code,
            awaited: Cell::new(false),
            ag_running: Cell::new(false),
            chain_levels: Cell::new(0),
        }
    }
    /// Takes the frame out (to drop it: the generator is finished or closed). Drop the
    /// result once no borrow of the generator is held.
    pub fn take_frame(&self) -> GenFrame {
        std::mem::take(&mut *self.frame.borrow_mut())
    }
    /// True while the generator holds a frame that is not running.
    pub fn has_frame(&self) -> bool {
        self.frame.try_borrow().is_ok_and(|f| f.parts.is_some())
    }
    /// A new generator object owning the suspended frame of one being dropped, so that its
    /// `finally` blocks can still run.
    fn revived(&self, d: GenFrame) -> GenObj {
        GenObj {
            kind: self.kind,
            frame: RefCell::new(d),
            state: Cell::new(GenState::Suspended),
            extra: {
                let names = self.extra.get().and_then(|e| e.names.clone());
                let handled = self.extra.get().and_then(|e| e.handled.take());
                let cell = GenExtra::cell(names, None);
                if handled.is_some() {
                    cell.get_or_init(Box::default).handled.set(handled);
                }
                cell
            },
            code: self.code.clone(),
            awaited: Cell::new(true),
            ag_running: Cell::new(false),
            chain_levels: Cell::new(0),
        }
    }
}

impl Drop for GenObj {
    fn drop(&mut self) {
        // While the thread's finaliser queue is torn down (a thread that ran a VM ends), no
        // finaliser can be queued: a revived frame would be dropped at once and revive
        // itself again, without end. Its `finally` cannot run any more; drop it plainly.
        if PENDING.try_with(|_| ()).is_err() {
            return;
        }
        let state = self.state.get();
        let frame = std::mem::take(self.frame.get_mut());
        let frame = if frame.parts.is_some() { Some(frame) } else { None };
        let rest = match (state, frame) {
            (GenState::Suspended, Some(d))
                if self.kind == GenKind::AsyncGenerator && super::asyncgen::take_aclosed(self) =>
            {
                // `aclose()` was started on it: closed here, as CPython's `gen_close`, not
                // through the loop.
                if d.in_handler() {
                    queue_finalizer(Finalize::Close(Rc::new(self.revived(d))));
                    None
                } else {
                    Some(d)
                }
            }
            (GenState::Suspended, Some(d)) if self.kind == GenKind::AsyncGenerator => {
                // The event loop's finalizer hook closes it with `aclose()` in a task.
                let has_handlers = d.in_handler();
                let g = Rc::new(self.revived(d));
                queue_job(Box::new(move |vm: &mut Vm| {
                    if !crate::asyncio::asyncgen_finalize(vm, g.clone()) && has_handlers {
                        // No loop runs: close it here, as a plain generator is.
                        queue_finalizer(Finalize::Close(g));
                    }
                }));
                None
            }
            (GenState::Suspended, Some(d)) if d.in_handler() => {
                queue_finalizer(Finalize::Close(Rc::new(self.revived(d))));
                None
            }
            (GenState::Created, Some(d)) if self.kind == GenKind::Coroutine && !self.awaited.get() => {
                let q = self.qualname().clone();
                let origin = self.extra.get_mut().and_then(|e| e.origin.take()).map(Box::new);
                queue_finalizer(Finalize::NeverAwaited(q, origin));
                Some(d)
            }
            (_, d) => {
                if self.kind == GenKind::AsyncGenerator {
                    super::asyncgen::take_aclosed(self);
                }
                d
            }
        };
        if let Some(d) = rest {
            // Through the trashcan: a chain of generators each holding the next in a local
            // is freed without deep Rust recursion.
            let GenFrame { values, parts } = d;
            let cells = parts.into_iter().flat_map(|s| s.cells.into_vec()).map(Value::Cell);
            super::value::trashcan::release(values.into_iter().chain(cells));
        }
    }
}

/// What one resumption of a generator produced.
pub enum GenResult {
    /// It yielded a value.
    Yield(Value),
    /// It returned a value (`StopIteration.value`).
    Return(Value),
}

/// A value yielded by an async generator's own `yield` (as opposed to an await passing
/// through): the `async for` machinery unwraps it.
pub struct AsyncGenValue(pub Value);

impl super::other::NativeObject for AsyncGenValue {
    fn type_name(&self) -> &'static str {
        "async_generator_wrapped_value"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Wraps a value yielded by an async generator.
pub fn wrap_async_gen_value(v: Value) -> Value {
    Value::Other(Rc::new(AsyncGenValue(v)))
}

use super::{Exc, ExcKind, Res, Vm};

impl Vm {
    /// A coroutine object running a module-level code object compiled with top-level `await`
    /// (`compiler::compile_interactive_async`) in `globals`: what the REPL hands to the event
    /// loop for an input that awaits.
    pub fn module_coroutine(&mut self, code: Rc<crate::bytecode::Code>, globals: Rc<super::value::Module>) -> Value {
        let values = vec![Value::Undef; code.nlocals()];
        let cells = (0..code.cellvars.len()).map(|_| super::value::new_cell(Value::Undef)).collect();
        let frame = super::frame::Frame {
            code: code.clone(),
            ip: 0,
            base: 0,
            ret_sp: 0,
            cells,
            globals,
            handlers: Vec::new(),
            namespace: None,
            ret: super::frame::ReturnMode::Push,
            handled_base: self.handled.len(),
        };
        let g = Rc::new(GenObj::new(GenKind::Coroutine, Detached { frame, values }, code, OnceCell::new()));
        super::gc::track_gen(&g);
        Value::Gen(g)
    }

    /// Runs queued finalisers: closes generators that died suspended inside `try`/`with`,
    /// and reports coroutines that were never awaited.
    pub fn run_finalizers(&mut self) {
        loop {
            let Some(job) = PENDING.with(|p| p.borrow_mut().pop()) else {
                ANY_PENDING.with(|p| p.set(false));
                if super::gc::requested() {
                    self.gc_collect_requested();
                    if finalizers_pending() {
                        continue;
                    }
                }
                return;
            };
            match job {
                Finalize::Close(g) => self.close_dead_generator(&g),
                Finalize::Job(job) => job(self),
                Finalize::NeverAwaited(q, origin) => {
                    // Reported where the coroutine was dropped, as CPython's `warnings` does.
                    let place = self.frames.last().map(|f| (f.code.filename.clone(), f.line()));
                    let mut text = match &place {
                        Some((file, line)) => {
                            format!("{file}:{line}: RuntimeWarning: coroutine '{q}' was never awaited\n")
                        }
                        None => format!("<sys>:0: RuntimeWarning: coroutine '{q}' was never awaited\n"),
                    };
                    if let Some(origin) = origin {
                        text.push_str("Coroutine created at (most recent call last)\n");
                        for e in origin.iter() {
                            text.push_str(&format!("  File \"{}\", line {}, in {}\n", e.file, e.line, e.name));
                            if let Some(src) = self.source_line(&e.file, e.line) {
                                text.push_str(&format!("    {}\n", src.trim()));
                            }
                        }
                    }
                    if let Some((file, line)) = place {
                        if let Some(src) = self.source_line(&file, line) {
                            text.push_str(&format!("  {}\n", src.trim()));
                        }
                    }
                    if !first_at_location(&text) {
                        continue;
                    }
                    self.write_stderr(&format!(
                        "{text}RuntimeWarning: Enable tracemalloc to get the object allocation traceback\n"
                    ));
                }
            }
        }
    }

    /// True when `g` can be resumed in place by the dispatch loop ([`Vm::resume_inline`]):
    /// a generator or coroutine that is suspended (or not started and sent `None`).
    #[inline]
    pub(crate) fn can_resume_inline(g: &GenObj, sent_none: bool) -> bool {
        g.kind != GenKind::AsyncGenerator
            && match g.state.get() {
                GenState::Suspended => true,
                GenState::Created => sent_none,
                _ => false,
            }
    }

    /// Resumes `g` in place: its frame goes on top of the frame stack with `ret` and the
    /// dispatch loop switches to it, so resuming a generator from `for` or `yield from` /
    /// `await` never recurses in Rust. `sent` becomes the value of the pending `yield`
    /// (nothing is pushed for a generator that has not started). The caller checked
    /// [`Vm::can_resume_inline`]. The frame goes back into `g` at its next `yield`
    /// (`Op::YieldValue`), or is dropped when it returns or raises.
    ///
    /// When `g` is suspended in `yield from`/`await` on a generator that can itself be
    /// resumed in place, the innermost generator of that chain is resumed directly
    /// (`ReturnMode::GenChain`), with `g` as the chain's head: the levels between stay
    /// suspended in their generators exactly as the level-by-level path leaves them (at
    /// the `Jump` after their `YieldValue`, the sub-generator on top of their stack), so a
    /// value costs the same at any depth. A level is resumed again only when the level
    /// below it returns or raises ([`Vm::chain_ascend`]). When the chain yields, its head
    /// records the innermost level, so that its next resumption goes straight there.
    #[inline]
    pub(crate) fn resume_inline(&mut self, g: &Rc<GenObj>, sent: Value, ret: ReturnMode) -> Res<()> {
        self.check_depth()?;
        if g.state.get() == GenState::Suspended && delegates_to_gen(g) {
            return self.resume_chain(g, sent, ret);
        }
        self.push_gen_frame(g, sent, ret)
    }

    /// Resumes the async generator `g` in place for the `asend` awaitable on top of the
    /// running frame's stack, whose `Send` continues at `exit` (see `ReturnMode::GenAsend`).
    #[inline(never)]
    pub(crate) fn resume_async_inline(&mut self, g: &Rc<GenObj>, sent: Value, exit: u32) -> Res<()> {
        if let Err(e) = self.check_depth() {
            if let Some(step) = self.stack.last() {
                super::asyncgen::finish_inline(step);
            }
            return Err(e);
        }
        self.push_gen_frame(g, sent, ReturnMode::GenAsend(g.clone(), exit))
    }

    /// [`Vm::resume_inline`] for a generator suspended in a delegation.
    #[inline(never)]
    fn resume_chain(&mut self, g: &Rc<GenObj>, sent: Value, ret: ReturnMode) -> Res<()> {
        let (inner, mode) = self.enter_chain(g, ret)?;
        self.push_gen_frame(&inner, sent, mode)
    }

    /// Starts resuming `g`, suspended in a delegation to a generator, with `ret`: returns
    /// the generator whose frame is to run and its mode. That is `g` with `ret` when no
    /// level below `g` can wait (see [`Vm::chain_len`]); otherwise `g` becomes the head of
    /// a chain (marked running, its frame keeping `ret`) whose innermost level runs with
    /// `ReturnMode::GenChain`. `ValueError` when `g` is a waiting level of a running chain.
    fn enter_chain(&mut self, g: &Rc<GenObj>, ret: ReturnMode) -> Res<(Rc<GenObj>, ReturnMode)> {
        let (inner, parent) = match cached_chain(g) {
            Some(found) => found,
            None => {
                let n = self.chain_len(g, self.depth_room())?;
                if n == 0 {
                    return Ok((g.clone(), ret));
                }
                let (inner, parent, n) = link_chain(g, n, g);
                g.chain_levels.set(n as u32);
                bump_chain_epoch();
                (inner, parent)
            }
        };
        if let Some(s) = g.frame.borrow_mut().parts.as_mut() {
            // Its `ChainHead` (or a link left from another chain, which the epoch has
            // already retired).
            drop(std::mem::replace(&mut s.ret, ret));
        }
        g.state.set(GenState::Running);
        g.awaited.set(true);
        self.depth.delegate(g.chain_levels.get() as usize);
        let mode = ReturnMode::GenChain(inner.clone(), parent);
        Ok((inner, mode))
    }

    /// The levels below the suspended generator `g` that can wait while the innermost one
    /// runs (at most `room`): the walk goes down while a level is suspended in a delegation
    /// to a suspended generator and handles no exception (see [`chain_next`]). Where it
    /// reaches a running generator, the levels from the first one that waits in that
    /// generator's running chain stay out, so that the level above them resumes and its
    /// `Send` raises `ValueError` in its frame, as in CPython; when that is `g` itself,
    /// `ValueError` now (it is running).
    fn chain_len(&self, g: &Rc<GenObj>, room: usize) -> Res<usize> {
        let mut cur = g.clone();
        let mut n = 0;
        while n < room {
            let Some(next) = chain_next(&cur) else { break };
            match next.state.get() {
                GenState::Suspended => {
                    cur = next;
                    n += 1;
                }
                GenState::Running => return self.chain_len_to_running(g, n, &next),
                _ => break,
            }
        }
        Ok(n)
    }

    /// [`Vm::chain_len`] of `g` whose walk reached the running generator `running` below
    /// `n` levels.
    #[cold]
    fn chain_len_to_running(&self, g: &Rc<GenObj>, n: usize, running: &Rc<GenObj>) -> Res<usize> {
        let waiting = self.waiting_levels(running);
        let mut cur = g.clone();
        for i in 0..=n {
            if waiting.iter().any(|w| Rc::ptr_eq(w, &cur)) {
                if i == 0 {
                    return Err(Exc::value_error(already_executing(g.kind)));
                }
                return Ok(i - 1);
            }
            match chain_next(&cur) {
                Some(next) if i < n => cur = next,
                _ => return Ok(i),
            }
        }
        Ok(n)
    }

    /// The levels waiting above `g` while it runs as the innermost level of a chain, up to
    /// the chain's head (which is marked running itself); none when it does not.
    fn waiting_levels(&self, g: &Rc<GenObj>) -> Vec<Rc<GenObj>> {
        let mut out = Vec::new();
        let found = self.frames.iter().rev().find_map(|f| match &f.ret {
            ReturnMode::GenChain(x, parent) if Rc::ptr_eq(x, g) => Some(parent.clone()),
            _ => None,
        });
        let Some(mut level) = found else { return out };
        // Up the links to the head, the first level without one.
        loop {
            let up = match level.frame.borrow().parts.as_ref().map(|s| &s.ret) {
                Some(ReturnMode::ChainLink(w, _)) => w.upgrade(),
                _ => None,
            };
            match up {
                Some(u) => out.push(std::mem::replace(&mut level, u)),
                None => break,
            }
        }
        out
    }

    /// Levels a delegation chain may still add before the recursion limit.
    fn depth_room(&self) -> usize {
        self.depth.room(self.frames.len())
    }

    /// Pushes the suspended frame of `g` with `ret`; `sent` becomes the value of its pending
    /// `yield` (nothing is pushed for a generator that has not started). See
    /// [`Vm::resume_inline`].
    #[inline(always)]
    fn push_gen_frame(&mut self, g: &GenObj, sent: Value, ret: ReturnMode) -> Res<()> {
        let started = g.state.get() == GenState::Suspended;
        if !self.unpark(g, Some(ret)) {
            return Err(Exc::runtime_error("generator has no frame"));
        }
        if started {
            // `yield` as a statement discards what is sent: for `None` (a `for` loop's
            // resumption), the push and the `Pop` after the `yield` are both skipped.
            let f = self.frames.last_mut();
            match f {
                Some(f) if sent.is_none() && matches!(g.code.ops.get(f.ip), Some(Op::Pop)) => f.ip += 1,
                _ => self.stack.push(sent),
            }
        }
        Ok(())
    }

    /// Rebuilds the frame of `g` on top of the frame stack, with its values on the value
    /// stack (their buffer stays in `g`), with the mode `ret` (`None`: the one it kept), and
    /// marks `g` running. False when `g` has no frame.
    #[inline(always)]
    fn unpark(&mut self, g: &GenObj, ret: Option<ReturnMode>) -> bool {
        let mut gf = g.frame.borrow_mut();
        let Some(Suspended { ip, cells, globals, handlers, ret: kept }) = gf.parts.take() else {
            return false;
        };
        let ret = match ret {
            Some(r) => {
                discard_mode(kept);
                r
            }
            None => kept,
        };
        g.state.set(GenState::Running);
        g.awaited.set(true);
        let base = self.stack.len();
        gf.values.move_to(&mut self.stack);
        drop(gf);
        self.frames.push_resumed(&g.code, ip, base, cells.into_vec(), globals, handlers, ret, self.handled.len());
        self.restore_handled(g);
        true
    }

    /// Moves the innermost frame, `g`'s (suspending before `ip`, its mode already taken
    /// out unless it keeps it), and its values (the stack above its base) back into `g`,
    /// with the exceptions it is handling. `g`'s state is left to the caller.
    #[inline(always)]
    fn park(&mut self, g: &GenObj, ip: u32) {
        let Some(f) = self.frames.last() else { return };
        let (base, handled_base) = (f.base, f.handled_base);
        self.save_handled(g, handled_base);
        let mut gf = g.frame.borrow_mut();
        let gf = &mut *gf;
        let n = self.stack.len().saturating_sub(base);
        gf.values.take_from(&mut self.stack[base..]);
        // Each slot was left `Undef`: nothing to drop, so the slots are only popped (a
        // `truncate` calls the drop of every one).
        while self.stack.len() > base {
            std::mem::forget(self.stack.pop());
        }
        g.code.note_suspended(n);
        self.frames.retire_into(&mut gf.parts, ip);
    }

    /// Takes the mode out of the innermost frame (leaving `ReturnMode::Push`).
    #[inline(always)]
    fn take_top_mode(&mut self) -> Option<ReturnMode> {
        self.frames.last_mut().map(|f| std::mem::replace(&mut f.ret, ReturnMode::Push))
    }

    /// `Send` of `sent` into the generator `s` (on top of the running frame's stack, and
    /// resumable in place) at the instruction before `ip`, whose delegation ends at `exit`.
    /// When the running frame is a generator frame handling no exception, it stays behind
    /// suspended at its delegation and `s` (or the innermost generator below it) becomes the
    /// innermost level of a delegation chain: the running frame's chain, or a new one that
    /// the running frame heads (keeping its mode); otherwise `s` is resumed above it.
    #[inline(never)]
    pub(crate) fn delegate_inline(&mut self, s: &Rc<GenObj>, sent: Value, exit: u32, ip: usize) -> Res<()> {
        let fi = self.frames.len() - 1;
        let f = &self.frames[fi];
        let (c, up) = match &f.ret {
            ReturnMode::GenFor(c, _) | ReturnMode::GenSend(c, _) | ReturnMode::GenNative(c)
                if self.handled.len() == f.handled_base =>
            {
                (c.clone(), None)
            }
            ReturnMode::GenChain(c, up) if self.handled.len() == f.handled_base => (c.clone(), Some(up.clone())),
            _ => {
                self.frames[fi].ip = ip;
                return self.resume_inline(s, sent, ReturnMode::GenSend(s.clone(), exit));
            }
        };
        self.check_depth()?;
        // (Parking the running frame below moves one frame into the delegated count: the
        // room stays the same.)
        let more = if s.state.get() == GenState::Suspended { self.chain_len(s, self.depth_room())? } else { 0 };
        // At the `Jump` after the `YieldValue` that follows the `Send`, as a `yield` of the
        // sub-generator's value would leave it. A head keeps its mode; a level below it
        // keeps a link up instead of its `GenChain`.
        let head = match &up {
            Some(up) => {
                drop(self.take_top_mode());
                head_above(up)
            }
            None => {
                c.chain_levels.set(0);
                c.clone()
            }
        };
        self.park(&c, ip as u32 + 1);
        if let Some(up) = &up {
            keep_mode(&c, ReturnMode::ChainLink(Rc::downgrade(up), Rc::downgrade(&head)));
            c.state.set(GenState::Suspended);
        }
        let (inner, parent, more) = if more > 0 {
            let found = link_chain(s, more, &head);
            replace_mode(s, ReturnMode::ChainLink(Rc::downgrade(&c), Rc::downgrade(&head)));
            bump_chain_epoch();
            found
        } else {
            (s.clone(), c, 0)
        };
        head.chain_levels.set(head.chain_levels.get() + 1 + more as u32);
        self.depth.delegate(1 + more);
        let mode = ReturnMode::GenChain(inner.clone(), parent);
        self.push_gen_frame(&inner, sent, mode)
    }

    /// The innermost level `g` of a delegation chain finished (`ret` is its return value, or
    /// `None` when an exception left it): the level above it, `parent`, is resumed in place,
    /// after its delegation with the value, or at its `Send` for the unwinder to look for
    /// its handlers. It becomes the innermost level, or, when it is the head (it keeps no
    /// link), the chain is over and it runs with the mode it was resumed with.
    #[inline(never)]
    pub(crate) fn chain_ascend(&mut self, g: &GenObj, parent: Rc<GenObj>, ret: Option<Value>) -> Res<()> {
        g.state.set(GenState::Closed);
        self.depth.undelegate(1);
        let head = head_above(&parent);
        head.chain_levels.set(head.chain_levels.get().saturating_sub(1));
        let mode = {
            let mut gf = parent.frame.borrow_mut();
            let gf = &mut *gf;
            let Some(s) = gf.parts.as_mut() else {
                return Err(Exc::runtime_error("generator has no frame"));
            };
            let ip = s.ip as usize;
            let (send, exit) = delegation_ops(&parent.code, ip).unwrap_or((ip, ip));
            match ret {
                Some(v) => {
                    gf.values.pop();
                    gf.values.push(v);
                    s.ip = exit as u32;
                }
                None => s.ip = send as u32 + 1,
            }
            if Rc::ptr_eq(&parent, &head) {
                None
            } else {
                let up = match std::mem::replace(&mut s.ret, ReturnMode::Push) {
                    ReturnMode::ChainLink(w, _) => w.upgrade(),
                    _ => None,
                };
                match up {
                    Some(up) => Some(ReturnMode::GenChain(parent.clone(), up)),
                    None => return Err(Exc::runtime_error("generator chain lost its link")),
                }
            }
        };
        self.unpark(&parent, mode);
        Ok(())
    }

    /// Moves the exceptions a suspending generator frame is handling (those above
    /// `handled_base`) into the generator.
    #[inline(always)]
    fn save_handled(&mut self, g: &GenObj, handled_base: usize) {
        if self.handled.len() > handled_base {
            self.save_handled_slow(g, handled_base);
        }
    }

    #[cold]
    fn save_handled_slow(&mut self, g: &GenObj, handled_base: usize) {
        let saved = self.handled.split_off(handled_base);
        g.extra.get_or_init(Box::default).handled.set(Some(saved));
    }

    /// Puts back the exceptions a generator was handling when it suspended.
    #[inline(always)]
    fn restore_handled(&mut self, g: &GenObj) {
        if let Some(saved) = g.extra.get().and_then(|e| e.handled.take()) {
            self.handled.extend(saved);
        }
    }

    /// `yield` in a frame resumed in place: the frame goes back into its generator and the
    /// value goes to the resuming frame's stack.
    #[inline(always)]
    pub(crate) fn suspend_inline(&mut self, ip: usize, v: Value) {
        let g = match self.take_top_mode() {
            Some(ReturnMode::GenFor(g, _) | ReturnMode::GenSend(g, _)) => g,
            _ => return,
        };
        self.park(&g, ip as u32);
        g.state.set(GenState::Suspended);
        self.stack.push(v);
    }

    /// `yield` in an async generator frame resumed in place by an `asend` awaitable
    /// (`ReturnMode::GenAsend`): the frame goes back into its generator; its own `yield`
    /// (`own`, the value not wrapped) ends the await in the resuming frame, which continues
    /// after its delegation with the value; a value of an inner `await` goes on up.
    #[inline(never)]
    pub(crate) fn suspend_async(&mut self, ip: usize, v: Value, own: bool) {
        let (g, exit) = match self.take_top_mode() {
            Some(ReturnMode::GenAsend(g, exit)) => (g, exit),
            _ => return,
        };
        self.park(&g, ip as u32);
        g.state.set(GenState::Suspended);
        if !own {
            self.stack.push(v);
            return;
        }
        if let Some(step) = self.stack.pop() {
            super::asyncgen::finish_inline(&step);
        }
        self.stack.push(v);
        if let Some(caller) = self.frames.last_mut() {
            caller.ip = exit as usize;
        }
    }

    /// `yield` in the innermost level of a delegation chain (`ReturnMode::GenChain`): its
    /// frame goes back into its generator (keeping a link up), the head becomes suspended
    /// again, recording the innermost level, and the value goes to whoever resumed the
    /// head: onto the resuming frame's stack, or returned when that was a native (the
    /// dispatch loop halts with it). The levels between are left as they are.
    #[inline(never)]
    pub(crate) fn suspend_chain(&mut self, ip: usize, v: Value) -> Option<Value> {
        let Some(ReturnMode::GenChain(g, parent)) = self.take_top_mode() else {
            return None;
        };
        self.park(&g, ip as u32);
        g.state.set(GenState::Suspended);
        let head = head_above(&parent);
        keep_mode(&g, ReturnMode::ChainLink(Rc::downgrade(&parent), Rc::downgrade(&head)));
        drop(parent);
        let mode = head
            .frame
            .borrow_mut()
            .parts
            .as_mut()
            .map(|s| std::mem::replace(&mut s.ret, ReturnMode::ChainHead(Rc::downgrade(&g), chain_epoch())));
        head.state.set(GenState::Suspended);
        self.depth.undelegate(head.chain_levels.get() as usize);
        if matches!(mode, Some(ReturnMode::GenNative(_))) {
            return Some(v);
        }
        self.stack.push(v);
        None
    }

    /// PEP 479 for a generator frame that an exception leaves: `StopIteration` becomes
    /// `RuntimeError` (with the original as cause and context); the generator is closed.
    pub(crate) fn gen_exception_escapes(
        &mut self,
        g: &GenObj,
        inst: Rc<super::value::Instance>,
    ) -> Rc<super::value::Instance> {
        g.state.set(GenState::Closed);
        if g.kind == GenKind::AsyncGenerator && inst.class.is_subclass(self.exc_class(ExcKind::StopAsyncIteration)) {
            let new = self.materialize(Exc::runtime_error("async generator raised StopAsyncIteration"));
            new.set_attr(self.syms.cause, Value::Instance(inst));
            return new;
        }
        if !inst.class.is_subclass(self.exc_class(ExcKind::StopIteration)) {
            return inst;
        }
        let what = match g.kind {
            GenKind::Generator => "generator raised StopIteration",
            GenKind::Coroutine => "coroutine raised StopIteration",
            GenKind::AsyncGenerator => "async generator raised StopIteration",
        };
        let new = self.materialize(Exc::runtime_error(what));
        new.set_attr(self.syms.cause, Value::Instance(inst.clone()));
        new.set_attr(self.syms.context, Value::Instance(inst));
        new
    }

    /// Closes a generator nothing refers to any more (it died suspended inside `try`/`with`):
    /// throws `GeneratorExit` into it and reports what CPython reports when that fails.
    pub(crate) fn close_dead_generator(&mut self, g: &Rc<GenObj>) {
        let exit = Exc::new(ExcKind::GeneratorExit, "");
        let (what, kind) = match g.kind {
            GenKind::AsyncGenerator => ("async generator", "async_generator"),
            GenKind::Coroutine => ("coroutine", "coroutine"),
            GenKind::Generator => ("generator", "generator"),
        };
        match self.gen_throw(g, exit) {
            Ok(GenResult::Return(_)) => {}
            Ok(GenResult::Yield(_)) => {
                g.state.set(GenState::Closed);
                drop(g.take_frame());
                let repr = format!("<{kind} object {} at 0x{:x}>", g.qualname(), Value::Gen(g.clone()).id());
                self.write_stderr(&format!(
                    "Exception ignored in: {repr}\nRuntimeError: {what} ignored GeneratorExit\n"
                ));
            }
            Err(e) => {
                let inst = self.materialize(e);
                if !inst.class.is_subclass(self.exc_class(ExcKind::GeneratorExit)) {
                    let repr = format!("<{kind} object {} at 0x{:x}>", g.qualname(), Value::Gen(g.clone()).id());
                    let text = crate::traceback::format_exception(self, &inst);
                    self.write_stderr(&format!("Exception ignored in: {repr}\n{text}"));
                }
            }
        }
    }

    /// The introspection attributes of a generator, coroutine or async generator
    /// (`gi_running`, `cr_await`, ...; `gi_frame` and its kin are not kept).
    pub(crate) fn gen_attr(&self, g: &Rc<GenObj>, name: &str) -> Option<Value> {
        let (prefix, rest) = name.split_at_checked(3)?;
        let ok = matches!(
            (g.kind, prefix),
            (GenKind::Generator, "gi_") | (GenKind::Coroutine, "cr_") | (GenKind::AsyncGenerator, "ag_")
        );
        if !ok {
            return None;
        }
        Some(match (g.kind, rest) {
            (_, "code") => Value::Code(g.code.clone()),
            (GenKind::AsyncGenerator, "running") => Value::Bool(g.ag_running.get()),
            (_, "running") => Value::Bool(self.gen_running(g)),
            (GenKind::Generator | GenKind::Coroutine, "suspended") => {
                Value::Bool(g.state.get() == GenState::Suspended && !self.gen_running(g))
            }
            (GenKind::Generator, "yieldfrom") | (GenKind::Coroutine | GenKind::AsyncGenerator, "await") => {
                // (None while it runs, as in CPython.)
                if self.gen_running(g) {
                    return Some(Value::None);
                }
                let gf = g.frame.borrow();
                match gf.parts.as_ref() {
                    Some(s) if delegation_ops(&g.code, s.ip as usize).is_some() => gf.values.last().cloned()?,
                    _ => Value::None,
                }
            }
            (GenKind::Coroutine, "origin") => match g.origin() {
                Some(entries) => Value::tuple(
                    entries
                        .iter()
                        .rev()
                        .map(|e| {
                            Value::tuple(vec![Value::str(&e.file), Value::Int(e.line as i64), Value::str(&e.name)])
                        })
                        .collect(),
                ),
                None => Value::None,
            },
            _ => return None,
        })
    }

    /// True while `g` runs: resumed itself, or waiting in a delegation chain that runs.
    fn gen_running(&self, g: &Rc<GenObj>) -> bool {
        match g.state.get() {
            GenState::Running => true,
            GenState::Suspended => self.chain_len(g, usize::MAX).is_err(),
            _ => false,
        }
    }

    /// Resumes a generator with `v` (the value of the pending `yield`).
    pub fn gen_send(&mut self, g: &Rc<GenObj>, v: Value) -> Res<GenResult> {
        self.gen_resume(g, Ok(v))
    }

    /// Resumes a generator by raising `exc` at its `yield`.
    pub fn gen_throw(&mut self, g: &Rc<GenObj>, exc: Exc) -> Res<GenResult> {
        self.gen_resume(g, Err(exc))
    }

    fn gen_resume(&mut self, g: &Rc<GenObj>, input: Result<Value, Exc>) -> Res<GenResult> {
        match g.state.get() {
            GenState::Running => return Err(Exc::value_error(already_executing(g.kind))),
            GenState::Closed => {
                if g.kind == GenKind::Coroutine {
                    return Err(Exc::runtime_error("cannot reuse already awaited coroutine"));
                }
                return match input {
                    Err(e) => Err(e),
                    Ok(_) => Ok(GenResult::Return(Value::None)),
                };
            }
            GenState::Created => {
                if let Ok(v) = &input {
                    if !v.is_none() {
                        let what = match g.kind {
                            GenKind::Generator => "generator",
                            GenKind::Coroutine => "coroutine",
                            GenKind::AsyncGenerator => "async generator",
                        };
                        return Err(Exc::type_error(format!("can't send non-None value to a just-started {what}")));
                    }
                }
                if input.is_err() {
                    g.state.set(GenState::Closed);
                    drop(g.take_frame());
                    return Err(input.err().unwrap_or_else(|| Exc::runtime_error("throw")));
                }
            }
            GenState::Suspended => {}
        }
        self.check_depth()?;
        if g.state.get() == GenState::Suspended && delegates_to_gen(g) {
            match &input {
                Ok(v) => {
                    if let Some(r) = self.resume_native_chain(g, v) {
                        return r;
                    }
                }
                // A waiting level of a running chain is running.
                Err(_) => {
                    self.chain_len(g, usize::MAX)?;
                }
            }
        }
        if !g.has_frame() {
            return Ok(GenResult::Return(Value::None));
        }
        let started = g.state.get() == GenState::Suspended;
        g.state.set(GenState::Running);
        g.awaited.set(true);
        let mut input = input;
        // A `throw` into a generator suspended in `yield from`/`await` goes to the
        // sub-iterator first, as in CPython.
        if let (Err(_), Some(done)) = (&input, delegating_send_target(g)) {
            let sub = g.frame.borrow().values.last().cloned().unwrap_or_default();
            let exc = match std::mem::replace(&mut input, Ok(Value::Undef)) {
                Err(e) => e,
                Ok(_) => Exc::runtime_error("throw without an exception"),
            };
            let exc_val = Value::Instance(self.materialize(exc));
            let is_exit =
                self.exception_matches(&exc_val, &Value::Class(self.exc_class(ExcKind::GeneratorExit).clone()))?;
            let outcome = if is_exit {
                // The sub-iterator is closed first; when that fails, its error is raised here
                // instead of `GeneratorExit`, as CPython's `gen_close` does.
                let closed = match &sub {
                    Value::Gen(sg) => self.gen_close_inner(sg),
                    Value::Other(o) => {
                        // A native coroutine cleans up too (its waiter leaves the queue).
                        if o.is_coroutine() {
                            let _ = o.clone().throw(self, exc_val.clone());
                        }
                        Ok(())
                    }
                    _ => Ok(()),
                };
                match closed {
                    Ok(()) => Err(self.exc_from_value(exc_val)?),
                    Err(e) => Err(e),
                }
            } else {
                match self.throw_to(&sub, exc_val.clone()) {
                    Ok(Some(r)) => Ok(r),
                    Ok(None) => Err(self.exc_from_value(exc_val)?),
                    Err(e) => Err(e),
                }
            };
            match outcome {
                Ok(GenResult::Yield(y)) => {
                    g.state.set(GenState::Suspended);
                    return Ok(GenResult::Yield(y));
                }
                Ok(GenResult::Return(v)) => {
                    // The sub-iterator finished: continue after the delegation with its value.
                    let mut gf = g.frame.borrow_mut();
                    let gf = &mut *gf;
                    gf.values.pop();
                    gf.values.push(v);
                    if let Some(s) = gf.parts.as_mut() {
                        s.ip = done as u32;
                    }
                    input = Ok(Value::Undef);
                }
                Err(e) => input = Err(e),
            }
        }
        let base = self.frames.len();
        // The frame and its values go onto the stacks; the values' buffer stays in `g` for
        // the next suspension: resuming and yielding allocate nothing.
        if !self.unpark(g, Some(ReturnMode::GenNative(g.clone()))) {
            return Ok(GenResult::Return(Value::None));
        }
        let input_exc = match input {
            Ok(Value::Undef) => None,
            Ok(v) => {
                if started {
                    self.stack.push(v);
                }
                None
            }
            Err(e) => Some(e),
        };
        self.run_resumed(g, base, input_exc)
    }

    /// `gen_resume` of `g`, suspended in a delegation, with `v`: runs the innermost level of
    /// its chain (`None` when the chain is only `g`).
    #[inline(never)]
    fn resume_native_chain(&mut self, g: &Rc<GenObj>, v: &Value) -> Option<Res<GenResult>> {
        let (inner, mode) = match self.enter_chain(g, ReturnMode::GenNative(g.clone())) {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        if Rc::ptr_eq(&inner, g) {
            return None;
        }
        let base = self.frames.len();
        if let Err(e) = self.push_gen_frame(&inner, v.clone(), mode) {
            return Some(Err(e));
        }
        Some(self.run_resumed(g, base, None))
    }

    /// Runs the frame of `g` (or the innermost level of its delegation chain) pushed at
    /// `base` by a native until it yields, returns or raises.
    #[inline(always)]
    fn run_resumed(&mut self, g: &Rc<GenObj>, base: usize, exc: Option<Exc>) -> Res<GenResult> {
        self.depth.enter_native();
        let r = match exc {
            Some(e) => self.run_with_exception(base, e),
            None => self.run(base),
        };
        self.depth.leave_native();
        match r {
            Ok(super::interp::Halt::Yield(v)) => {
                // A chain's innermost level has already gone back into its generator.
                if self.frames.len() > base {
                    let ip = self.frames.last().map_or(0, |f| f.ip as u32);
                    if let Some(ReturnMode::GenNative(me)) = self.take_top_mode() {
                        drop(me);
                    }
                    self.park(g, ip);
                }
                g.state.set(GenState::Suspended);
                Ok(GenResult::Yield(v))
            }
            Ok(super::interp::Halt::Return(v)) => {
                g.state.set(GenState::Closed);
                // The emptied buffer of its values is not needed any more (a task keeps its
                // finished coroutine).
                drop(g.take_frame());
                Ok(GenResult::Return(v))
            }
            Err(e) => {
                g.state.set(GenState::Closed);
                drop(g.take_frame());
                // PEP 479: StopIteration escaping a generator becomes RuntimeError.
                let inst = self.materialize(e);
                if inst.class.is_subclass(self.exc_class(ExcKind::StopIteration)) {
                    let what = match g.kind {
                        GenKind::Generator => "generator raised StopIteration",
                        GenKind::Coroutine => "coroutine raised StopIteration",
                        GenKind::AsyncGenerator => "async generator raised StopIteration",
                    };
                    let new = self.materialize(Exc::runtime_error(what));
                    new.set_attr(self.syms.cause, Value::Instance(inst.clone()));
                    new.set_attr(self.syms.context, Value::Instance(inst));
                    return Err(Exc::Obj(new));
                }
                if g.kind == GenKind::AsyncGenerator
                    && inst.class.is_subclass(self.exc_class(ExcKind::StopAsyncIteration))
                {
                    let new = self.materialize(Exc::runtime_error("async generator raised StopAsyncIteration"));
                    new.set_attr(self.syms.cause, Value::Instance(inst.clone()));
                    return Err(Exc::Obj(new));
                }
                Err(Exc::Obj(inst))
            }
        }
    }

    /// `throw` into a sub-iterator; `Ok(None)` when it has no `throw` (raise in the caller).
    fn throw_to(&mut self, sub: &Value, exc: Value) -> Res<Option<GenResult>> {
        match sub {
            Value::Gen(g) => {
                let e = self.exc_from_value(exc)?;
                self.gen_throw(g, e).map(Some)
            }
            Value::Other(o) => {
                let o = o.clone();
                if let Some(r) = o.throw(self, exc.clone()) {
                    return r.map(Some);
                }
                match o.get_attr(self, sub, Sym::new("throw"))? {
                    Some(f) => self.call_catching_stop(&f, vec![exc]).map(Some),
                    None => Ok(None),
                }
            }
            _ => match self.get_attr_opt(sub, Sym::new("throw"))? {
                Some(f) => self.call_catching_stop(&f, vec![exc]).map(Some),
                None => Ok(None),
            },
        }
    }

    /// Calls `f(args)`: a return is a yield; `StopIteration` is a return with its value.
    fn call_catching_stop(&mut self, f: &Value, args: Vec<Value>) -> Res<GenResult> {
        match self.call(f, args) {
            Ok(v) => Ok(GenResult::Yield(v)),
            Err(e) => {
                let inst = self.materialize(e);
                if inst.class.is_subclass(self.exc_class(ExcKind::StopIteration)) {
                    Ok(GenResult::Return(inst.get_attr(self.syms.value).unwrap_or(Value::None)))
                } else {
                    Err(Exc::Obj(inst))
                }
            }
        }
    }

    /// `close()` of a generator: throws `GeneratorExit` and checks that it finished.
    pub fn gen_close_inner(&mut self, g: &Rc<GenObj>) -> Res<()> {
        match g.state.get() {
            GenState::Created | GenState::Closed => {
                g.state.set(GenState::Closed);
                drop(g.take_frame());
                return Ok(());
            }
            _ => {}
        }
        match self.gen_throw(g, Exc::new(ExcKind::GeneratorExit, "")) {
            Ok(GenResult::Yield(_)) => Err(Exc::runtime_error("generator ignored GeneratorExit")),
            Ok(GenResult::Return(_)) => Ok(()),
            Err(e) => {
                let inst = self.materialize(e);
                if inst.class.is_subclass(self.exc_class(ExcKind::GeneratorExit))
                    || inst.class.is_subclass(self.exc_class(ExcKind::StopIteration))
                {
                    Ok(())
                } else {
                    Err(Exc::Obj(inst))
                }
            }
        }
    }

    /// The iterator `await v` drives (`__await__`, or the coroutine itself).
    pub fn awaitable_iter(&mut self, v: Value) -> Res<Value> {
        self.get_awaitable(v)
    }

    /// One `send` step into an awaitable iterator, as `await` performs it.
    pub fn send_value(&mut self, it: &Value, v: Value) -> Res<GenResult> {
        self.send_to(it, v)
    }

    /// `Send`: one step of `yield from` / `await` on a sub-iterator.
    pub(crate) fn send_to(&mut self, sub: &Value, v: Value) -> Res<GenResult> {
        match sub {
            Value::Gen(g) => self.gen_send(g, v),
            Value::Other(o) => {
                if let Some(r) = o.send(self, v.clone()) {
                    return r;
                }
                let o = o.clone();
                let name = if v.is_none() { self.syms.next } else { Sym::new("send") };
                let args = if v.is_none() { vec![] } else { vec![v] };
                match o.get_attr(self, sub, name)? {
                    Some(f) => self.call_catching_stop(&f, args),
                    None => Err(Exc::type_error(format!("'{}' object is not an iterator", o.type_name()))),
                }
            }
            _ => {
                let r = if v.is_none() {
                    if let Value::Instance(_) = sub {
                        let next = self.get_attr(sub, self.syms.next)?;
                        return self.call_catching_stop(&next, vec![]);
                    }
                    return Ok(match self.next(sub)? {
                        Some(y) => GenResult::Yield(y),
                        None => GenResult::Return(Value::None),
                    });
                } else {
                    let send = self.get_attr(sub, Sym::new("send"))?;
                    self.call(&send, vec![v]).map(GenResult::Yield)
                };
                match r {
                    Ok(x) => Ok(x),
                    Err(e) => {
                        let inst = self.materialize(e);
                        if inst.class.is_subclass(self.exc_class(ExcKind::StopIteration)) {
                            let val = inst.get_attr(self.syms.value).unwrap_or(Value::None);
                            Ok(GenResult::Return(val))
                        } else {
                            Err(Exc::Obj(inst))
                        }
                    }
                }
            }
        }
    }

    /// `GetAwaitable`: coroutines as they are, else `__await__()`.
    pub(crate) fn get_awaitable(&mut self, v: Value) -> Res<Value> {
        match &v {
            Value::Gen(g) if g.kind == GenKind::Coroutine => {
                if g.state.get() == GenState::Closed {
                    return Err(Exc::runtime_error("cannot reuse already awaited coroutine"));
                }
                g.awaited.set(true);
                Ok(v)
            }
            Value::Instance(i) => match i.class.lookup(self.syms.await_) {
                Some(f) => {
                    let it = self.call(&f, vec![v.clone()])?;
                    match &it {
                        Value::Gen(g) if g.kind == GenKind::Coroutine => {
                            return Err(Exc::type_error("__await__() returned a coroutine"));
                        }
                        Value::Gen(_) => {}
                        _ if self.get_attr(&it, self.syms.next).is_err() => {
                            let t = self.type_name(&it);
                            return Err(Exc::type_error(format!("__await__() returned non-iterator of type '{t}'")));
                        }
                        _ => {}
                    }
                    Ok(it)
                }
                None => Err(Exc::type_error(format!("object {} can't be used in 'await' expression", i.class.name))),
            },
            Value::Other(o) if o.is_coroutine() => Ok(v),
            Value::Other(o) => {
                if let Some(it) = o.await_iter(&v) {
                    return Ok(it);
                }
                let o = o.clone();
                match o.get_attr(self, &v, self.syms.await_)? {
                    Some(f) => self.call(&f, vec![]),
                    None => {
                        Err(Exc::type_error(format!("object {} can't be used in 'await' expression", o.type_name())))
                    }
                }
            }
            _ => Err(Exc::type_error(format!("object {} can't be used in 'await' expression", self.type_name(&v)))),
        }
    }

    /// `GetYieldFromIter`.
    pub(crate) fn get_yield_from_iter(&mut self, v: Value) -> Res<Value> {
        match &v {
            Value::Gen(g) if g.kind == GenKind::Coroutine => {
                Err(Exc::type_error("cannot 'yield from' a coroutine object in a non-coroutine generator"))
            }
            Value::Gen(_) => Ok(v),
            _ => self.get_iter(&v),
        }
    }

    /// `GetAiter`.
    pub(crate) fn get_aiter(&mut self, v: Value) -> Res<Value> {
        match &v {
            Value::Gen(g) if g.kind == GenKind::AsyncGenerator => Ok(v),
            _ => match self.get_attr_opt(&v, self.syms.aiter)? {
                Some(f) => self.call(&f, vec![]),
                None => Err(Exc::type_error(format!(
                    "'async for' requires an object with __aiter__ method, got {}",
                    self.type_name(&v)
                ))),
            },
        }
    }

    /// `GetAnext`: the awaitable for the next item.
    pub(crate) fn get_anext_awaitable(&mut self, it: &Value) -> Res<Value> {
        match it {
            Value::Gen(g) if g.kind == GenKind::AsyncGenerator => {
                super::asyncgen::first_iteration(g);
                Ok(super::asyncgen::asend_awaitable(g.clone(), Value::None))
            }
            _ => match self.get_attr_opt(it, self.syms.anext)? {
                Some(f) => {
                    let aw = self.call(&f, vec![])?;
                    let t = self.type_name(&aw);
                    self.get_awaitable(aw).map_err(|e| match &e {
                        Exc::Msg(ExcKind::TypeError, _) => {
                            Exc::type_error(format!("'async for' received an invalid object from __anext__: {t}"))
                        }
                        _ => e,
                    })
                }
                None => Err(Exc::type_error(format!(
                    "'async for' received an object from __aiter__ that does not implement __anext__: {}",
                    self.type_name(it)
                ))),
            },
        }
    }
}

use super::intern::Sym;

/// If a suspended frame is inside a `yield from`/`await` loop, the instruction index the
/// delegation continues at when the sub-iterator finishes.
fn delegating_send_target(g: &GenObj) -> Option<usize> {
    let ip = g.frame.borrow().ip()?;
    delegation_ops(&g.code, ip).map(|(_, exit)| exit)
}

/// If a suspended frame of `code` at `ip` is inside a `yield from`/`await` loop (at the
/// `Jump` back to its `Send`): the index of the `Send` and of the instruction the
/// delegation continues at.
#[inline]
fn delegation_ops(code: &crate::bytecode::Code, ip: usize) -> Option<(usize, usize)> {
    let ops = &code.ops;
    match ops.get(ip) {
        Some(crate::bytecode::Op::Jump(t)) => match ops.get(t.0 as usize) {
            Some(crate::bytecode::Op::Send(done)) => Some((t.0 as usize, done.0 as usize)),
            _ => None,
        },
        _ => None,
    }
}

/// Drops the mode a suspended frame kept as it is resumed: usually `Push`, which needs no
/// drop call. A level of a chain resumed on its own retires the recorded chains.
#[inline(always)]
fn discard_mode(old: ReturnMode) {
    if matches!(old, ReturnMode::Push) {
        std::mem::forget(old);
    } else {
        if matches!(old, ReturnMode::ChainLink(..) | ReturnMode::ChainHead(..)) {
            bump_chain_epoch();
        }
        drop(old);
    }
}

/// True when the suspended generator `g` is inside a `yield from`/`await` loop on a
/// generator or coroutine (a chain may start there).
#[inline(always)]
fn delegates_to_gen(g: &GenObj) -> bool {
    let gf = g.frame.borrow();
    match (gf.values.last(), &gf.parts) {
        (Some(Value::Gen(_)), Some(s)) => delegation_ops(&g.code, s.ip as usize).is_some(),
        _ => false,
    }
}

/// The sub-generator `cur` (suspended) waits for, when `cur` can wait as a level of a
/// delegation chain: suspended inside a `yield from`/`await` loop on a generator or
/// coroutine, and handling no exception (its handled exceptions could not be restored).
fn chain_next(cur: &GenObj) -> Option<Rc<GenObj>> {
    let f = cur.frame.borrow();
    let s = f.parts.as_ref()?;
    delegation_ops(&cur.code, s.ip as usize)?;
    match f.values.last() {
        Some(Value::Gen(sub)) if sub.kind != GenKind::AsyncGenerator && !cur.is_handling() => Some(sub.clone()),
        _ => None,
    }
}

/// Links the `n` levels below `g` that [`Vm::chain_len`] found, in the chain `head` heads:
/// each level below `g` but the innermost keeps a `ChainLink` to the one above; the
/// innermost's kept mode is dropped (its frame is about to run). Returns the innermost
/// level, the one above it, and the number of levels linked (`n`, unless the walk ends
/// sooner).
fn link_chain(g: &Rc<GenObj>, n: usize, head: &Rc<GenObj>) -> (Rc<GenObj>, Rc<GenObj>, usize) {
    let mut above = g.clone();
    let Some(mut cur) = chain_next(g) else { return (g.clone(), g.clone(), 0) };
    let mut linked = 1;
    while linked < n {
        let Some(next) = chain_next(&cur) else { break };
        replace_mode(&cur, ReturnMode::ChainLink(Rc::downgrade(&above), Rc::downgrade(head)));
        above = std::mem::replace(&mut cur, next);
        linked += 1;
    }
    replace_mode(&cur, ReturnMode::Push);
    (cur, above, linked)
}

/// The innermost level of the chain `g` heads and the level above it, when `g` recorded
/// them as the chain last yielded and no chain changed since (see [`chain_epoch`]): the
/// innermost level is still suspended with its link up, taken out here as its frame is
/// about to run.
#[inline]
fn cached_chain(g: &GenObj) -> Option<(Rc<GenObj>, Rc<GenObj>)> {
    let inner = match g.frame.borrow().parts.as_ref().map(|s| &s.ret) {
        Some(ReturnMode::ChainHead(w, epoch)) if *epoch == chain_epoch() => w.upgrade()?,
        _ => return None,
    };
    if inner.state.get() != GenState::Suspended {
        return None;
    }
    let parent = {
        let mut f = inner.frame.borrow_mut();
        let s = f.parts.as_mut()?;
        let parent = match &s.ret {
            ReturnMode::ChainLink(w, _) => w.upgrade()?,
            _ => return None,
        };
        s.ret = ReturnMode::Push;
        parent
    };
    Some((inner, parent))
}

/// The head of the running chain in which `level` waits: the head of its link, or
/// `level` itself when it keeps none.
fn head_above(level: &Rc<GenObj>) -> Rc<GenObj> {
    let head = match level.frame.borrow().parts.as_ref().map(|s| &s.ret) {
        Some(ReturnMode::ChainLink(_, h)) => h.upgrade(),
        _ => None,
    };
    head.unwrap_or_else(|| level.clone())
}

/// Replaces the mode the suspended `g` keeps (see [`keep_mode`] for one known to be `Push`).
fn replace_mode(g: &GenObj, mode: ReturnMode) {
    if let Some(s) = g.frame.borrow_mut().parts.as_mut() {
        drop(std::mem::replace(&mut s.ret, mode));
    }
}

/// Sets the mode the just parked `g` keeps, in place of the `Push` parking left.
fn keep_mode(g: &GenObj, mode: ReturnMode) {
    if let Some(s) = g.frame.borrow_mut().parts.as_mut() {
        std::mem::forget(std::mem::replace(&mut s.ret, mode));
    }
}

/// The `ValueError` message for resuming a running generator of `kind`.
fn already_executing(kind: GenKind) -> &'static str {
    match kind {
        GenKind::Generator => "generator already executing",
        GenKind::Coroutine => "coroutine already executing",
        GenKind::AsyncGenerator => "async generator already executing",
    }
}

thread_local! {
    /// Moves on whenever the links of a delegation chain are rewritten, or a level of one is
    /// resumed other than through its head: a head's `ChainHead` is good only in the epoch
    /// it records.
    static CHAIN_EPOCH: Cell<u64> = const { Cell::new(0) };
}

/// The current chain epoch (see [`CHAIN_EPOCH`]).
#[inline]
fn chain_epoch() -> u64 {
    CHAIN_EPOCH.with(|e| e.get())
}

/// Retires every recorded chain (see [`CHAIN_EPOCH`]).
fn bump_chain_epoch() {
    CHAIN_EPOCH.with(|e| e.set(e.get() + 1));
}
