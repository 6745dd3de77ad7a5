//! The memory cap: approximate accounting of the bytes a VM's objects take, without a
//! global allocator hook (`unsafe` is forbidden in this crate, and a library cannot own the
//! process's allocator).
//!
//! Two parts:
//! - **Charges.** The places where a script can make memory grow fast — list growth
//!   (`append`, comprehensions, `extend`), sequence and string repetition and
//!   concatenation, `str.join`, `bytes(n)`/`bytearray(n)`, dict and set growth, big
//!   integer powers and shifts, and natives collecting an iterable — call
//!   [`Vm::mem_charge`] with the bytes they are about to allocate *before* allocating.
//!   Every tick also charges a small flat amount ([`BYTES_PER_TICK`]), standing for the
//!   small objects (instances, closures, short strings) a loop iteration may create.
//! - **Measurements.** When the charges since the last measurement pass half the headroom
//!   left under the cap, the VM measures what is really live: a walk of every object
//!   reachable from its roots (the value stack, frames, loaded modules, the handled
//!   exceptions, the running loop's tasks), summing each object's approximate size (its
//!   `Rc` block and heap buffers by capacity). Only then does it decide: over the cap, the
//!   run ends with [`super::Limit::Memory`]. A single allocation bigger than the headroom
//!   fails before it happens, so `"x" * 10**12` ends with the limit, not an abort.
//!
//! Precision: sizes are estimates of the allocator's payload (no allocator overhead, no
//! memory held by Rust closures or host objects); objects reachable only from the event
//! loop's queued callbacks or from a native's locals are not seen by a walk (natives that
//! collect an iterable report their buffer as *in flight*). Between two measurements the
//! live size may exceed the cap by what was not charged, at most about half the headroom
//! again; the cap bounds memory within a small constant factor, and the walks cost, in
//! amortised terms, a constant per charged byte.

use crate::vm::value::{Descriptor, IterState, Value};
use crate::vm::{Res, Vm};
use rustc_hash::FxHashSet;
use std::cell::Cell;
use std::mem::size_of;
use std::rc::Rc;

/// Flat charge per tick for the small objects code creates between ticks.
pub const BYTES_PER_TICK: usize = 32;

/// An `Rc`'s reference counts.
const RC: usize = 2 * size_of::<usize>();
/// One value slot.
const V: usize = size_of::<Value>();

/// Per-VM accounting.
#[derive(Default)]
pub(crate) struct MemState {
    /// The cap in bytes (0: none). Kept apart from `Limits` for a one-load check.
    pub(crate) cap: Cell<usize>,
    /// Bytes live at the last measurement (in-flight buffers included).
    live: Cell<usize>,
    /// Bytes charged since the last measurement.
    charged: Cell<usize>,
    /// Bytes of buffers natives are building outside any object (see [`Vm::mem_inflight`]).
    inflight: Cell<usize>,
    /// The live bytes when the current call began: a call that starts over the cap (the
    /// previous one ended by the limit, its data still referenced) may free memory and run
    /// up to this level, not grow past it.
    floor: Cell<usize>,
    /// Measurements made (for tests and tuning).
    pub(crate) walks: Cell<u64>,
}

impl MemState {
    /// Forgets the accounting (a new cap was set).
    pub(crate) fn reset(&self) {
        self.live.set(0);
        self.charged.set(0);
        self.floor.set(0);
    }
    /// A call into the engine begins.
    pub(crate) fn start_call(&self) {
        self.floor.set(self.live.get());
    }
    /// The most the current call may hold.
    fn limit(&self) -> usize {
        self.cap.get().max(self.floor.get())
    }
}

/// `12.0 MiB`-style sizes for messages.
pub fn format_bytes(n: usize) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Vm {
    /// Charges `bytes` that are about to be allocated against the memory cap; fails with
    /// the memory limit when they do not fit. One load and a branch when no cap is set.
    #[inline]
    pub fn mem_charge(&self, bytes: usize) -> Res<()> {
        if self.host.gov.mem.cap.get() == 0 {
            return Ok(());
        }
        self.mem_charge_slow(bytes)
    }

    /// Charges the growth of a list about to receive one more item (a charge only when it
    /// must reallocate). Call it before borrowing the items mutably, so that a measurement
    /// it triggers sees the list.
    #[inline]
    pub fn mem_charge_push(&self, list: &crate::vm::value::List) -> Res<()> {
        if self.host.gov.mem.cap.get() == 0 {
            return Ok(());
        }
        let (len, capacity) = {
            let items = list.items.borrow();
            (items.len(), items.capacity())
        };
        if len < capacity {
            return Ok(());
        }
        self.mem_charge_slow(capacity.max(4) * V)
    }

    /// Adds (`grow`) or removes bytes of a buffer a native is building and that no walk
    /// can see yet (`collect`): they stay counted until removed.
    #[inline]
    pub fn mem_inflight(&self, bytes: usize, grow: bool) {
        let m = &self.host.gov.mem;
        if m.cap.get() == 0 {
            return;
        }
        m.inflight.set(if grow { m.inflight.get() + bytes } else { m.inflight.get().saturating_sub(bytes) });
    }

    #[cold]
    fn mem_charge_slow(&self, bytes: usize) -> Res<()> {
        self.mem_account(bytes, bytes)
    }

    /// Adds `charge` bytes to the charges; when they pass half the headroom, measures the
    /// live bytes and fails if they, plus the `alloc` bytes about to be allocated, exceed
    /// the limit.
    fn mem_account(&self, charge: usize, alloc: usize) -> Res<()> {
        let m = &self.host.gov.mem;
        let limit = m.limit();
        let charged = m.charged.get().saturating_add(charge);
        m.charged.set(charged);
        let headroom = limit.saturating_sub(m.live.get());
        if charged <= (headroom / 2).max(limit / 32) && charged.saturating_add(alloc) <= headroom {
            return Ok(());
        }
        // Measure what is really live, then decide.
        let live = self.mem_measure();
        m.live.set(live);
        m.charged.set(alloc);
        if live.saturating_add(alloc) > limit {
            return Err(self.trip(super::Limit::Memory));
        }
        Ok(())
    }

    /// The tick slow path's flat charge: it may trigger a measurement, which fails if the
    /// live bytes exceed the limit.
    pub(crate) fn mem_on_ticks(&self, ticks: usize) -> Res<()> {
        self.mem_account(ticks * BYTES_PER_TICK, 0)
    }

    /// Measures the bytes of everything reachable from the VM's roots (plus in-flight
    /// buffers).
    pub fn mem_measure(&self) -> usize {
        let m = &self.host.gov.mem;
        m.walks.set(m.walks.get() + 1);
        let mut w = Walker::default();
        w.total += self.stack.capacity() * V;
        for v in &self.stack {
            w.enter(v);
        }
        for f in &self.frames {
            for c in &f.cells {
                w.enter_cell(c);
            }
            w.enter_rc(&f.globals, || Value::Module(f.globals.clone()));
            if let Some(ns) = &f.namespace {
                w.enter_rc(ns, || Value::Dict(ns.clone()));
            }
        }
        w.enter_rc(&self.modules, || Value::Dict(self.modules.clone()));
        w.enter_rc(&self.builtins, || Value::Module(self.builtins.clone()));
        for v in &self.handled {
            w.enter(v);
        }
        if let Some(lp) = crate::asyncio::running_loop() {
            if let Ok(tasks) = lp.tasks.try_borrow() {
                for t in tasks.iter().filter_map(|t| t.upgrade()) {
                    w.enter(&Value::Other(t));
                }
            }
        }
        w.run();
        w.total + m.inflight.get()
    }
}

/// An iterative walk over the object graph (deep nesting cannot overflow the Rust stack).
#[derive(Default)]
struct Walker {
    /// Shared objects already counted (objects with one reference cannot be met twice).
    seen: FxHashSet<usize>,
    /// Containers still to expand.
    work: Vec<Value>,
    total: usize,
}

impl Walker {
    /// True the first time a shared object is met (always true for unshared ones).
    fn first<T: ?Sized>(&mut self, r: &Rc<T>) -> bool {
        Rc::strong_count(r) == 1 || self.seen.insert(Rc::as_ptr(r) as *const u8 as usize)
    }

    fn enter_rc<T: ?Sized>(&mut self, r: &Rc<T>, make: impl FnOnce() -> Value) {
        if self.first(r) {
            self.work.push(make());
        }
    }

    fn enter_cell(&mut self, c: &Rc<std::cell::RefCell<Value>>) {
        if self.first(c) {
            self.total += RC + size_of::<std::cell::RefCell<Value>>();
            if let Ok(v) = c.try_borrow() {
                self.enter(&v);
            }
        }
    }

    /// Counts a leaf at once, or queues a container.
    fn enter(&mut self, v: &Value) {
        match v {
            Value::Str(r) => {
                if self.first(r) {
                    self.total += RC + size_of::<crate::vm::value::Str>() + r.s.len();
                }
            }
            Value::Bytes(r) => {
                if self.first(r) {
                    self.total += RC + r.len();
                }
            }
            Value::BigInt(r) => {
                if self.first(r) {
                    self.total += RC + size_of::<num_bigint::BigInt>() + (r.bits() as usize).div_ceil(8);
                }
            }
            Value::ByteArray(r) => {
                if self.first(r) {
                    self.total += RC + size_of::<std::cell::RefCell<Vec<u8>>>();
                    self.total += r.try_borrow().map(|b| b.capacity()).unwrap_or(0);
                }
            }
            Value::Range(r) => {
                if self.first(r) {
                    self.total += RC + size_of::<crate::vm::value::RangeObj>();
                }
            }
            Value::Code(r) => {
                if self.first(r) {
                    self.work.push(v.clone());
                }
            }
            Value::Cell(c) => self.enter_cell(c),
            Value::List(r) => self.enter_rc(r, || v.clone()),
            Value::Tuple(r) => self.enter_rc(r, || v.clone()),
            Value::Dict(r) => self.enter_rc(r, || v.clone()),
            Value::Set(r) | Value::FrozenSet(r) => self.enter_rc(r, || v.clone()),
            Value::Slice(r) => self.enter_rc(r, || v.clone()),
            Value::Function(r) => self.enter_rc(r, || v.clone()),
            Value::BoundMethod(r) => self.enter_rc(r, || v.clone()),
            Value::Native(r) => self.enter_rc(r, || v.clone()),
            Value::Class(r) => self.enter_rc(r, || v.clone()),
            Value::Instance(r) => self.enter_rc(r, || v.clone()),
            Value::Module(r) => self.enter_rc(r, || v.clone()),
            Value::Iter(r) => self.enter_rc(r, || v.clone()),
            Value::Descriptor(r) => self.enter_rc(r, || v.clone()),
            Value::Gen(r) => self.enter_rc(r, || v.clone()),
            Value::Other(r) => self.enter_rc(r, || v.clone()),
            Value::Undef
            | Value::None
            | Value::NotImplemented
            | Value::Ellipsis
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_) => {}
        }
    }

    fn run(&mut self) {
        while let Some(v) = self.work.pop() {
            self.expand(&v);
        }
    }

    /// Counts a container and enters what it holds.
    fn expand(&mut self, v: &Value) {
        match v {
            Value::List(l) => {
                self.total += RC + size_of::<crate::vm::value::List>();
                if let Ok(items) = l.items.try_borrow() {
                    self.total += items.capacity() * V;
                    for x in items.iter() {
                        self.enter(x);
                    }
                }
            }
            Value::Tuple(t) => {
                self.total += RC + t.len() * V;
                for x in t.iter() {
                    self.enter(x);
                }
            }
            Value::Dict(d) => {
                self.total += RC + size_of::<crate::vm::value::DictObj>();
                if let Ok(d) = d.d.try_borrow() {
                    self.total += d.slots() * size_of::<crate::vm::dict::Entry>() + d.len() * 2 * size_of::<usize>();
                    for e in d.iter() {
                        self.enter(&e.key);
                        self.enter(&e.value);
                    }
                }
            }
            Value::Set(s) | Value::FrozenSet(s) => {
                self.total += RC + size_of::<crate::vm::value::SetObj>();
                if let Ok(t) = s.d.try_borrow() {
                    self.total += t.len() * 2 * (V + size_of::<i64>());
                    for k in t.keys() {
                        self.enter(&k);
                    }
                }
            }
            Value::Slice(s) => {
                self.total += RC + size_of::<crate::vm::value::SliceObj>();
                self.enter(&s.start);
                self.enter(&s.stop);
                self.enter(&s.step);
            }
            Value::Function(f) => {
                self.total += RC + size_of::<crate::vm::value::Function>();
                self.total += (f.defaults.capacity() + f.closure.capacity()) * V;
                for d in &f.defaults {
                    self.enter(d);
                }
                for (_, d) in &f.kwdefaults {
                    self.enter(d);
                }
                for c in &f.closure {
                    self.enter_cell(c);
                }
                self.enter_rc(&f.globals, || Value::Module(f.globals.clone()));
                self.enter_rc(&f.code, || Value::Code(f.code.clone()));
                if let Some(d) = f.dict.try_borrow().ok().and_then(|d| d.clone()) {
                    self.enter(&Value::Dict(d));
                }
                if let Some(d) = f.annotations.try_borrow().ok().and_then(|d| d.clone()) {
                    self.enter(&Value::Dict(d));
                }
            }
            Value::Code(c) => {
                self.total += RC + size_of::<crate::bytecode::Code>();
                self.total += c.ops.capacity() * size_of::<crate::bytecode::Op>() + c.lines.capacity() * 4;
                for k in &c.consts {
                    self.enter(k);
                }
            }
            Value::BoundMethod(b) => {
                self.total += RC + size_of::<crate::vm::value::BoundMethod>();
                self.enter(&b.receiver);
                self.enter(&b.func);
            }
            Value::Native(n) => {
                self.total += RC + size_of::<crate::vm::value::NativeFunction>();
                if let Some(r) = &n.receiver {
                    self.enter(r);
                }
            }
            Value::Class(c) => {
                self.total += RC + size_of::<crate::vm::value::Class>();
                if let Ok(d) = c.dict.try_borrow() {
                    self.total += d.capacity() * (size_of::<u32>() + V + 8);
                    for a in d.values() {
                        self.enter(a);
                    }
                }
                for b in c.bases.iter().chain(c.mro.iter()) {
                    self.enter_rc(b, || Value::Class(b.clone()));
                }
            }
            Value::Instance(i) => {
                self.total += RC + size_of::<crate::vm::value::Instance>();
                if let Ok(attrs) = i.attrs.try_borrow() {
                    self.total += attrs.capacity() * size_of::<(crate::vm::Sym, Value)>();
                    for (_, a) in attrs.iter() {
                        self.enter(a);
                    }
                }
                self.enter_rc(&i.class, || Value::Class(i.class.clone()));
            }
            Value::Module(m) => {
                self.total += RC + size_of::<crate::vm::value::Module>();
                if let Ok(d) = m.dict.try_borrow() {
                    self.total += d.capacity() * (size_of::<u32>() + V + 8);
                    for a in d.values() {
                        self.enter(a);
                    }
                }
            }
            Value::Iter(it) => {
                self.total += RC + size_of::<std::cell::RefCell<IterState>>();
                if let Ok(st) = it.try_borrow() {
                    self.iter_state(&st);
                }
            }
            Value::Descriptor(d) => {
                self.total += RC + size_of::<Descriptor>();
                match &**d {
                    Descriptor::Property { fget, fset, fdel, doc } => {
                        for x in [fget, fset, fdel, doc] {
                            self.enter(x);
                        }
                    }
                    Descriptor::StaticMethod(f) | Descriptor::ClassMethod(f) => self.enter(f),
                    Descriptor::Super { cls, obj } => {
                        self.enter_rc(cls, || Value::Class(cls.clone()));
                        self.enter(obj);
                    }
                }
            }
            Value::Gen(g) => {
                self.total += RC + size_of::<crate::vm::gen::GenObj>();
                if let Ok(f) = g.frame.try_borrow() {
                    self.total += f.values.heap_capacity() * V;
                    for x in &f.values {
                        self.enter(x);
                    }
                    if let Some(d) = &f.parts {
                        for c in &d.cells {
                            self.enter_cell(c);
                        }
                        self.enter_rc(&d.globals, || Value::Module(d.globals.clone()));
                    }
                }
            }
            Value::Other(o) => {
                self.total += RC + 64;
                if let Some(f) = o.as_any().downcast_ref::<crate::asyncio::future::FutureObj>() {
                    self.enter(&f.outcome());
                    let cbs: Vec<Value> = f.with_callbacks(|cbs| {
                        cbs.iter()
                            .map(|c| match c {
                                crate::asyncio::future::DoneCallback::Call(v) => (**v).clone(),
                                crate::asyncio::future::DoneCallback::Wakeup(t) => Value::Other(t.clone()),
                                crate::asyncio::future::DoneCallback::Gather(g) => Value::Other(g.clone()),
                                crate::asyncio::future::DoneCallback::Release(w) => Value::Other(w.clone()),
                            })
                            .collect()
                    });
                    for c in &cbs {
                        self.enter(c);
                    }
                    if let Some(coro) = f.coro() {
                        self.enter(&coro);
                    }
                }
            }
            _ => self.enter(v),
        }
    }

    fn iter_state(&mut self, st: &IterState) {
        match st {
            IterState::List { list, .. } | IterState::ListRev { list, .. } => {
                self.enter_rc(list, || Value::List(list.clone()))
            }
            IterState::Tuple { items, .. } => self.enter_rc(items, || Value::Tuple(items.clone())),
            IterState::Str { s, .. } => self.enter(&Value::Str(s.clone())),
            IterState::Bytes { b, .. } => self.enter(&Value::Bytes(b.clone())),
            IterState::DictView { dict, .. } => self.enter_rc(dict, || Value::Dict(dict.clone())),
            IterState::Set { items, .. } | IterState::Vec { items, .. } => {
                self.total += items.capacity() * V;
                for x in items {
                    self.enter(x);
                }
            }
            IterState::Enumerate { inner, .. } | IterState::SeqIter { obj: inner, .. } => self.enter(inner),
            IterState::Zip { inners, .. } => {
                for x in inners {
                    self.enter(x);
                }
            }
            IterState::Map { func, inners } => {
                self.enter(func);
                for x in inners {
                    self.enter(x);
                }
            }
            IterState::Filter { func, inner } => {
                self.enter(func);
                self.enter(inner);
            }
            IterState::Callable { func, sentinel } => {
                self.enter(func);
                self.enter(sentinel);
            }
            IterState::Range { .. } | IterState::BigRange { .. } | IterState::Done(_) => {}
        }
    }
}
