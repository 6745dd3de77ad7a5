//! The cycle collector: CPython's trial deletion over `Rc`.
//!
//! Every object that can take part in a reference cycle (lists, dicts, sets, tuples holding
//! containers, functions, closure cells, classes, instances, bound methods, descriptors,
//! iterators over containers, generators and coroutines, futures and tasks) is registered
//! when it is created ([`track`]), as a `Weak` reference in the youngest of three
//! generations. A collection of generation `g` upgrades the entries of generations
//! `0..=g` (the dead ones are simply dropped, which is also how the registry stays
//! compact), sets each object's `gc_refs` to its strong count, and subtracts one for every
//! reference to it found by traversing the other candidates. An object left with
//! `gc_refs > 0` is held from outside the candidates — the VM's value stack, a running
//! frame, a module, an older generation, a Rust local — so it and everything reachable
//! from it survive (and move one generation up). The rest is garbage: generators among it
//! are finalised first (a suspended `try`'s `finally` runs, as in CPython), objects that
//! freed each other meanwhile are not counted, the remainder is checked again for
//! resurrection, and then its mutable contents are emptied, which breaks every cycle (an
//! immutable reference always points to an older object, so every cycle has a mutable
//! edge), and `Rc` frees it.
//!
//! Collections run at the VM's safe points (`Vm::run_finalizers`): creating more than
//! `threshold[0]` (700) objects since the last collection requests one; generation 1 is
//! collected every `threshold[1]` young collections and generation 2 every `threshold[2]`
//! generation-1 collections once the objects waiting for it are half of those already there
//! (CPython waits for a quarter; a full collection costs more here, as `gc_refs` cannot live
//! in object headers), so the work stays proportional to allocation.
//!
//! **Invariant:** a traversal reports exactly the strong references an object holds to
//! tracked objects (never more), so an object referenced from anywhere the collector does
//! not look is always kept. An object whose contents are borrowed during a collection is
//! treated as referenced from outside.

use super::gen::{GenKind, GenObj, GenState};
use super::other::NativeObject;
use super::value::{BoundMethod, Class, Descriptor, DictObj, Function, Instance, IterState, List, SetObj, Value};
use super::Vm;
use crate::bytecode::Code;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// CPython's default thresholds.
const THRESHOLDS: [i64; 3] = [700, 10, 10];
/// The young generation is compacted (dead entries dropped) when it reaches this size, or
/// twice its size after the last compaction, whichever is larger, even if no collection
/// could run in between.
const MIN_COMPACT: usize = 4096;

/// A registry entry: a weak reference to a tracked object.
enum Tracked {
    List(Weak<List>),
    Tuple(Weak<[Value]>),
    Dict(Weak<DictObj>),
    Set(Weak<SetObj>),
    Function(Weak<Function>),
    Bound(Weak<BoundMethod>),
    Class(Weak<Class>),
    Instance(Weak<Instance>),
    Iter(Weak<RefCell<IterState>>),
    Descriptor(Weak<Descriptor>),
    Cell(Weak<RefCell<Value>>),
    Gen(Weak<GenObj>),
    Native(Weak<dyn NativeObject>),
}

impl Tracked {
    /// The entry for a value of a tracked type.
    fn of(v: &Value) -> Option<Tracked> {
        Some(match v {
            Value::List(r) => Tracked::List(Rc::downgrade(r)),
            Value::Tuple(r) => Tracked::Tuple(Rc::downgrade(r)),
            Value::Dict(r) => Tracked::Dict(Rc::downgrade(r)),
            Value::Set(r) | Value::FrozenSet(r) => Tracked::Set(Rc::downgrade(r)),
            Value::Function(r) => Tracked::Function(Rc::downgrade(r)),
            Value::BoundMethod(r) => Tracked::Bound(Rc::downgrade(r)),
            Value::Class(r) => Tracked::Class(Rc::downgrade(r)),
            Value::Instance(r) => Tracked::Instance(Rc::downgrade(r)),
            Value::Iter(r) => Tracked::Iter(Rc::downgrade(r)),
            Value::Descriptor(r) => Tracked::Descriptor(Rc::downgrade(r)),
            Value::Cell(r) => Tracked::Cell(Rc::downgrade(r)),
            Value::Gen(r) => Tracked::Gen(Rc::downgrade(r)),
            Value::Other(r) => Tracked::Native(Rc::downgrade(r)),
            _ => return None,
        })
    }

    /// The object, if it is still alive (a set comes back as `Value::Set` even when it is
    /// a frozenset: only its identity and contents matter here).
    fn upgrade(&self) -> Option<Value> {
        Some(match self {
            Tracked::List(w) => Value::List(w.upgrade()?),
            Tracked::Tuple(w) => Value::Tuple(w.upgrade()?),
            Tracked::Dict(w) => Value::Dict(w.upgrade()?),
            Tracked::Set(w) => Value::Set(w.upgrade()?),
            Tracked::Function(w) => Value::Function(w.upgrade()?),
            Tracked::Bound(w) => Value::BoundMethod(w.upgrade()?),
            Tracked::Class(w) => Value::Class(w.upgrade()?),
            Tracked::Instance(w) => Value::Instance(w.upgrade()?),
            Tracked::Iter(w) => Value::Iter(w.upgrade()?),
            Tracked::Descriptor(w) => Value::Descriptor(w.upgrade()?),
            Tracked::Cell(w) => Value::Cell(w.upgrade()?),
            Tracked::Gen(w) => Value::Gen(w.upgrade()?),
            Tracked::Native(w) => Value::Other(w.upgrade()?),
        })
    }
}

/// The registry and the collector's settings (one per thread, like the VM).
struct Registry {
    /// Generations 0 (young) to 2 (old).
    gens: [Vec<Tracked>; 3],
    /// Length of the young generation at which `track` takes its slow path.
    trigger: usize,
    /// `gc.get_threshold()` (0 disables a generation's automatic collection).
    threshold: [i64; 3],
    /// Collections of generation `i - 1` since the last collection of generation `i`
    /// (index 0 is unused: the young count is the young generation's length).
    count: [usize; 3],
    /// `gc.isenabled()`.
    enabled: bool,
    /// A collection was requested and waits for a safe point.
    requested: bool,
    /// A collection is running (no nested collections).
    collecting: bool,
    /// Young-generation length at which dead entries are dropped without a collection.
    compact_at: usize,
    /// Objects in generation 2 after its last collection.
    long_lived_total: usize,
    /// Objects moved into generation 2 since its last collection.
    long_lived_pending: usize,
    /// Per generation: collections, and unreachable objects they found.
    stats: [(usize, usize); 3],
    /// Where `sweep_old` resumes in generations 1 and 2.
    sweep_at: [usize; 3],
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            gens: [Vec::new(), Vec::new(), Vec::new()],
            trigger: THRESHOLDS[0] as usize + 1,
            threshold: THRESHOLDS,
            count: [0; 3],
            enabled: true,
            requested: false,
            collecting: false,
            compact_at: MIN_COMPACT,
            long_lived_total: 0,
            long_lived_pending: 0,
            stats: [(0, 0); 3],
            sweep_at: [0; 3],
        }
    }

    /// True when automatic collection may be requested.
    fn automatic(&self) -> bool {
        self.enabled && !self.collecting && !self.requested && self.threshold[0] != 0
    }

    /// True when the young generation is over its threshold.
    fn young_over(&self) -> bool {
        self.gens[0].len() as i64 > self.threshold[0]
    }

    /// Recomputes the young length at which `track` must look again.
    fn retrigger(&mut self) {
        let young = self.gens[0].len();
        self.trigger = if self.automatic() && !self.young_over() {
            (self.threshold[0] as usize + 1).min(self.compact_at)
        } else if self.automatic() {
            young + 1
        } else {
            self.compact_at
        };
        if self.trigger <= young {
            self.trigger = young + 1;
        }
    }

    /// The slow path of `track`: compacts the young generation, requests a collection.
    #[cold]
    #[inline(never)]
    fn slow(&mut self) {
        let young = self.gens[0].len();
        if young >= self.compact_at {
            self.gens[0].retain(Tracked::alive);
            self.compact_at = (2 * self.gens[0].len()).max(MIN_COMPACT);
        }
        if self.automatic() && self.young_over() {
            self.requested = true;
            super::gen::request_safe_point();
        }
        self.retrigger();
    }

    /// Drops up to `budget` dead entries' worth of the older generations, from a cursor
    /// that moves on each call.
    fn sweep_old(&mut self, budget: usize) {
        let mut left = budget;
        for g in 1..3 {
            let gen = &mut self.gens[g];
            let mut i = self.sweep_at[g].min(gen.len());
            while left > 0 && i < gen.len() {
                if gen[i].alive() {
                    i += 1;
                } else {
                    gen.swap_remove(i);
                }
                left -= 1;
            }
            self.sweep_at[g] = if i >= gen.len() { 0 } else { i };
        }
    }

    /// CPython's choice of generation once the young threshold was passed.
    fn choose(&self) -> Option<usize> {
        let counts = [self.gens[0].len(), self.count[1], self.count[2]];
        (0..3).rev().find(|&i| {
            counts[i] as i64 > self.threshold[i] && !(i == 2 && self.long_lived_pending < self.long_lived_total / 2)
        })
    }
}

thread_local! {
    static REG: RefCell<Registry> = const { RefCell::new(Registry::new()) };
    /// Code objects with a `LoadGlobal` cache (see [`track_code_cache`]).
    static CODE_CACHES: RefCell<Vec<Weak<Code>>> = const { RefCell::new(Vec::new()) };
}

/// Registers a code object whose `LoadGlobal` cache was just created. A cache entry keeps
/// its value alive after the global is deleted or rebound (until the instruction runs
/// again), which would hide a cycle through that value; full collections empty the caches.
pub fn track_code_cache(code: &Rc<Code>) {
    let _ = CODE_CACHES.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            if c.len() >= 64 && c.len().is_power_of_two() {
                c.retain(|w| w.strong_count() > 0);
            }
            c.push(Rc::downgrade(code));
        }
    });
}

/// Empties every `LoadGlobal` cache (they refill on their next miss), dropping the
/// references stale entries hold.
fn clear_code_caches() {
    let codes: Vec<Rc<Code>> = CODE_CACHES.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|w| w.strong_count() > 0);
        c.iter().filter_map(Weak::upgrade).collect()
    });
    let mut stale = Vec::new();
    for code in &codes {
        if let Ok(mut cache) = code.global_cache.try_borrow_mut() {
            stale.extend(cache.iter_mut().map(std::mem::take));
        }
    }
    drop(stale);
}

#[inline(never)]
fn push(t: Tracked) {
    let _ = REG.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            let young = &mut r.gens[0];
            // Objects that died within the last few allocations are dropped from the registry
            // now, so that their memory is freed while the allocator can reuse it at once.
            let n = young.len();
            for i in (n.saturating_sub(RECENT)..n).rev() {
                if !young[i].alive() {
                    young.swap_remove(i);
                }
            }
            young.push(t);
            if young.len() >= r.trigger {
                r.slow();
            }
        }
    });
}

/// How many of the newest registry entries each registration checks for dead objects.
const RECENT: usize = 8;

/// Registers a new object with the collector. Values of untracked types are ignored; a
/// tuple is tracked only when it holds a value of a tracked type (a tuple of atoms can
/// never be part of a cycle). Call it once per object, when it is created.
#[inline]
pub fn track(v: &Value) {
    if let Value::Tuple(t) = v {
        if !t.iter().any(|x| addr(x).is_some()) {
            return;
        }
    }
    if let Some(t) = Tracked::of(v) {
        push(t);
    }
}

/// Registers a new closure cell.
#[inline]
pub fn track_cell(c: &Rc<RefCell<Value>>) {
    push(Tracked::Cell(Rc::downgrade(c)));
}

/// Registers a new instance.
#[inline]
pub fn track_instance(r: &Rc<Instance>) {
    push(Tracked::Instance(Rc::downgrade(r)));
}

/// Registers a new dict.
#[inline]
pub fn track_dict(r: &Rc<DictObj>) {
    push(Tracked::Dict(Rc::downgrade(r)));
}

/// Registers a new function.
#[inline]
pub fn track_function(r: &Rc<Function>) {
    push(Tracked::Function(Rc::downgrade(r)));
}

/// Registers a new class.
pub fn track_class(r: &Rc<Class>) {
    push(Tracked::Class(Rc::downgrade(r)));
}

/// Registers a new generator, coroutine or async generator.
#[inline]
pub fn track_gen(r: &Rc<GenObj>) {
    push(Tracked::Gen(Rc::downgrade(r)));
}

/// Registers a new native object that implements [`NativeObject::gc_traverse`].
pub fn track_native<T: NativeObject>(o: &Rc<T>) {
    let w: Weak<T> = Rc::downgrade(o);
    push(Tracked::Native(w));
}

/// True when an automatic collection is waiting for a safe point.
pub fn requested() -> bool {
    REG.try_with(|r| r.try_borrow().map(|r| r.requested).unwrap_or(false)).unwrap_or(false)
}

/// `gc.isenabled()`.
pub fn is_enabled() -> bool {
    REG.with(|r| r.borrow().enabled)
}

/// `gc.enable()` / `gc.disable()`.
pub fn set_enabled(on: bool) {
    REG.with(|r| {
        let mut r = r.borrow_mut();
        r.enabled = on;
        if !on {
            r.requested = false;
        }
        r.retrigger();
    });
}

/// `gc.get_threshold()`.
pub fn threshold() -> [i64; 3] {
    REG.with(|r| r.borrow().threshold)
}

/// `gc.get_stats()`: per generation, the collections run and the unreachable objects found.
pub fn stats() -> [(usize, usize); 3] {
    REG.with(|r| r.borrow().stats)
}

/// `gc.set_threshold()`: `None` keeps a value.
pub fn set_threshold(t: [Option<i64>; 3]) {
    REG.with(|r| {
        let mut r = r.borrow_mut();
        for (i, v) in t.iter().enumerate() {
            if let Some(v) = v {
                r.threshold[i] = *v;
            }
        }
        r.retrigger();
    });
}

/// `gc.get_count()`: objects registered since the last collection, young collections since
/// the last generation-1 collection, generation-1 collections since the last full one.
pub fn count() -> [usize; 3] {
    REG.with(|r| {
        let r = r.borrow();
        [r.gens[0].len(), r.count[1], r.count[2]]
    })
}

/// Number of live objects in each generation (dead entries not yet dropped excluded).
pub fn generation_sizes() -> [usize; 3] {
    REG.with(|r| {
        let r = r.borrow();
        [0, 1, 2].map(|i| r.gens[i].iter().filter(|t| t.alive()).count())
    })
}

/// The identity of a value of a tracked type (its allocation's address), else `None`.
#[inline]
fn addr(v: &Value) -> Option<usize> {
    fn p<T: ?Sized>(r: &Rc<T>) -> usize {
        Rc::as_ptr(r) as *const u8 as usize
    }
    Some(match v {
        Value::List(r) => p(r),
        Value::Tuple(r) => p(r),
        Value::Dict(r) => p(r),
        Value::Set(r) | Value::FrozenSet(r) => p(r),
        Value::Function(r) => p(r),
        Value::BoundMethod(r) => p(r),
        Value::Class(r) => p(r),
        Value::Instance(r) => p(r),
        Value::Iter(r) => p(r),
        Value::Descriptor(r) => p(r),
        Value::Cell(r) => p(r),
        Value::Gen(r) => p(r),
        Value::Other(r) => p(r),
        _ => return None,
    })
}

/// Collects the references an object holds (see [`NativeObject::gc_traverse`]).
pub struct Visitor<'a> {
    out: &'a mut Vec<usize>,
    ok: bool,
}

impl Visitor<'_> {
    /// A reference held in a value.
    #[inline]
    pub fn value(&mut self, v: &Value) {
        if let Some(a) = addr(v) {
            self.out.push(a);
        }
    }
    /// A reference held as an `Rc` of a tracked type (a cell, a class, a future...).
    pub fn rc<T: ?Sized>(&mut self, r: &Rc<T>) {
        self.out.push(Rc::as_ptr(r) as *const u8 as usize);
    }
    /// The value in a `RefCell`.
    pub fn cell(&mut self, c: &RefCell<Value>) {
        match c.try_borrow() {
            Ok(v) => self.value(&v),
            Err(_) => self.ok = false,
        }
    }
    /// The values in a `RefCell<Vec<Value>>`.
    pub fn values(&mut self, c: &RefCell<Vec<Value>>) {
        match c.try_borrow() {
            Ok(vs) => vs.iter().for_each(|v| self.value(v)),
            Err(_) => self.ok = false,
        }
    }
    /// The contents could not be read (borrowed elsewhere): the object counts as held from
    /// outside and nothing it references is subtracted.
    pub fn fail(&mut self) {
        self.ok = false;
    }
}

fn attrs(vis: &mut Visitor, c: &RefCell<Vec<(super::Sym, Value)>>) {
    match c.try_borrow() {
        Ok(a) => a.iter().for_each(|(_, v)| vis.value(v)),
        Err(_) => vis.fail(),
    }
}

/// Appends the addresses of the tracked objects `v` references to `out`; false when its
/// contents could not be read.
fn traverse(v: &Value, out: &mut Vec<usize>) -> bool {
    let mut vis = Visitor { out, ok: true };
    match v {
        Value::List(l) => vis.values(&l.items),
        Value::Tuple(t) => t.iter().for_each(|x| vis.value(x)),
        Value::Dict(d) => match d.d.try_borrow() {
            Ok(d) => d.iter().for_each(|e| {
                vis.value(&e.key);
                vis.value(&e.value);
            }),
            Err(_) => vis.fail(),
        },
        Value::Set(s) | Value::FrozenSet(s) => match s.d.try_borrow() {
            Ok(t) => t.iter_keys().for_each(|k| vis.value(k)),
            Err(_) => vis.fail(),
        },
        Value::Function(f) => {
            f.defaults.iter().for_each(|x| vis.value(x));
            f.kwdefaults.iter().for_each(|(_, x)| vis.value(x));
            f.closure.iter().for_each(|c| vis.rc(c));
            vis.value(&f.doc);
            attrs(&mut vis, &f.attrs);
        }
        Value::BoundMethod(m) => {
            vis.value(&m.receiver);
            vis.value(&m.func);
        }
        Value::Class(c) => {
            c.bases.iter().for_each(|b| vis.rc(b));
            c.mro.iter().for_each(|b| vis.rc(b));
            match c.dict.try_borrow() {
                Ok(d) => d.values().for_each(|x| vis.value(x)),
                Err(_) => vis.fail(),
            }
            if !c.cache.for_each_value(|x| vis.value(x)) {
                vis.fail();
            }
        }
        Value::Instance(i) => {
            vis.rc(&i.class);
            attrs(&mut vis, &i.attrs);
        }
        Value::Iter(it) => match it.try_borrow() {
            Ok(st) => iter_refs(&st, &mut vis),
            Err(_) => vis.fail(),
        },
        Value::Descriptor(d) => match &**d {
            Descriptor::Property { fget, fset, fdel, doc } => {
                [fget, fset, fdel, doc].into_iter().for_each(|x| vis.value(x));
            }
            Descriptor::StaticMethod(f) | Descriptor::ClassMethod(f) => vis.value(f),
            Descriptor::Super { cls, obj } => {
                vis.rc(cls);
                vis.value(obj);
            }
        },
        Value::Cell(c) => vis.cell(c),
        Value::Gen(g) => g.gc_traverse(&mut vis),
        Value::Other(o) => o.gc_traverse(&mut vis),
        _ => {}
    }
    vis.ok
}

fn iter_refs(st: &IterState, vis: &mut Visitor) {
    match st {
        IterState::List { list, .. } | IterState::ListRev { list, .. } => vis.rc(list),
        IterState::Tuple { items, .. } => vis.rc(items),
        IterState::DictView { dict, .. } => vis.rc(dict),
        IterState::Set { items, .. } | IterState::Vec { items, .. } => items.iter().for_each(|x| vis.value(x)),
        IterState::Enumerate { inner, .. } => vis.value(inner),
        IterState::Zip { inners, .. } => inners.iter().for_each(|x| vis.value(x)),
        IterState::Map { func, inners } => {
            vis.value(func);
            inners.iter().for_each(|x| vis.value(x));
        }
        IterState::Filter { func, inner } => {
            vis.value(func);
            vis.value(inner);
        }
        IterState::Callable { func, sentinel } => {
            vis.value(func);
            vis.value(sentinel);
        }
        IterState::SeqIter { obj, .. } => vis.value(obj),
        IterState::Range { .. }
        | IterState::BigRange { .. }
        | IterState::Str { .. }
        | IterState::Bytes { .. }
        | IterState::Done => {}
    }
}

impl GenObj {
    /// Reports the references held by the suspended frame and the pending value.
    fn gc_traverse(&self, vis: &mut Visitor) {
        match self.frame.try_borrow() {
            Ok(f) => {
                if let Some(d) = &*f {
                    d.values.iter().for_each(|x| vis.value(x));
                    d.frame.cells.iter().for_each(|c| vis.rc(c));
                    if let Some(ns) = &d.frame.namespace {
                        vis.rc(ns);
                    }
                    if let super::frame::ReturnMode::Init(x) = &d.frame.ret {
                        vis.value(x);
                    }
                }
            }
            Err(_) => vis.fail(),
        }
        vis.cell(&self.pending);
    }
}

/// Empties the mutable contents of a garbage object (breaking the cycles through it).
fn clear(v: &Value) {
    match v {
        Value::List(l) => {
            let old = l.items.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        Value::Dict(d) => {
            let old = d.d.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        Value::Set(s) | Value::FrozenSet(s) => {
            let old = s.d.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        Value::Function(f) => {
            let old = f.attrs.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        Value::Class(c) => {
            let old = c.dict.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
            c.cache.clear();
        }
        Value::Instance(i) => {
            let old = i.attrs.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        Value::Iter(it) => {
            let old = it.try_borrow_mut().map(|mut x| std::mem::replace(&mut *x, IterState::Done));
            drop(old);
        }
        Value::Cell(c) => {
            let old = c.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        Value::Gen(g) => {
            let old = g.frame.try_borrow_mut().map(|mut x| x.take());
            g.state.set(GenState::Closed);
            drop(old);
            let old = g.pending.try_borrow_mut().map(|mut x| std::mem::replace(&mut *x, Value::None));
            drop(old);
        }
        Value::Other(o) => o.gc_clear(),
        _ => {}
    }
}

/// How many objects CPython would count for this one, which it represents with separate
/// objects where aio keeps plain fields: a function's `__closure__` tuple, its `__defaults__`
/// tuple and `__kwdefaults__` and `__dict__` dicts (each only when it holds a container, as
/// CPython leaves tuples and dicts of atoms untracked); and a dict of atoms, which CPython
/// never tracks, counts for nothing.
fn weight(v: &Value) -> usize {
    fn holds_container<'a>(mut vs: impl Iterator<Item = &'a Value>) -> bool {
        vs.any(|x| addr(x).is_some())
    }
    match v {
        Value::Function(f) => {
            let attrs = f.attrs.try_borrow().map(|a| holds_container(a.iter().map(|(_, x)| x))).unwrap_or(false);
            1 + usize::from(!f.closure.is_empty())
                + usize::from(holds_container(f.defaults.iter()))
                + usize::from(holds_container(f.kwdefaults.iter().map(|(_, x)| x)))
                + usize::from(attrs)
        }
        Value::Dict(d) => {
            let tracked =
                d.d.try_borrow().map(|d| d.iter().any(|e| addr(&e.key).is_some() || addr(&e.value).is_some()));
            usize::from(tracked.unwrap_or(true))
        }
        _ => 1,
    }
}

/// A generator or coroutine that still has a frame: collecting it first closes it.
fn needs_finalizer(v: &Value) -> bool {
    match v {
        Value::Gen(g) => {
            g.state.get() != GenState::Running && g.frame.try_borrow().map(|f| f.is_some()).unwrap_or(false)
        }
        _ => false,
    }
}

/// What a collection decided about one registry entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Held from outside the candidates, or reachable from such an object.
    Live,
    /// Reachable only from other garbage.
    Dead,
    /// A second entry for an object already listed, or an object already freed (dropped).
    Gone,
}

/// A hash of an allocation address that keeps neighbours together: the 1 KiB block an
/// address lies in is hashed (so blocks scatter over the table, and the top bits hashbrown
/// uses as tags are mixed), and the position inside the block is kept in the low bits, so
/// objects allocated one after another — which tend to be looked up one after another —
/// share the table's cache lines.
#[inline]
fn addr_hash(a: usize) -> u64 {
    let block = ((a >> 10) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (block & !63) | ((a >> 4) & 63) as u64
}

/// Decides the fate of every entry in `entries`. Only weak references are held between
/// steps, so a strong count is exactly the number of references to the object. Each object
/// is read once: its strong count and its references are taken in one pass, which also
/// records the references between candidates (by index) for the marking pass. The working
/// memory is about 25 bytes per entry plus 4 per reference between candidates.
fn analyse(entries: &[Tracked]) -> Vec<Fate> {
    let n = entries.len();
    let mut fate = vec![Fate::Live; n];
    // Addresses, and a table from address to entry index. (A dead entry's address cannot be
    // reused while its `Weak` exists, so it never matches a live object's reference.)
    let mut addrs: Vec<usize> = Vec::with_capacity(n);
    let mut table: hashbrown::HashTable<u32> = hashbrown::HashTable::with_capacity(n);
    for (i, t) in entries.iter().enumerate() {
        let a = t.addr();
        addrs.push(a);
        let h = addr_hash(a);
        if table.find(h, |&j| addrs[j as usize] == a).is_some() {
            fate[i] = Fate::Gone;
        } else {
            table.insert_unique(h, i as u32, |&j| addr_hash(addrs[j as usize]));
        }
    }
    let find = |a: usize| table.find(addr_hash(a), |&j| addrs[j as usize] == a).map(|&j| j as usize);
    // gc_refs: the strong count less the references from the candidates. An object whose
    // contents could not be read gets `OPAQUE` on top: it counts as held from outside.
    const OPAQUE: i32 = 1 << 30;
    let mut refs: Vec<i32> = vec![0; n];
    let mut starts: Vec<u32> = Vec::with_capacity(n + 1);
    let mut edges: Vec<u32> = Vec::new();
    let mut kids = Vec::new();
    for i in 0..n {
        starts.push(edges.len() as u32);
        if fate[i] == Fate::Gone {
            continue;
        }
        let Some(v) = entries[i].upgrade() else {
            fate[i] = Fate::Gone;
            continue;
        };
        // Less the reference `v` itself.
        refs[i] += (strong_count(&v) - 1).min(OPAQUE as usize - 1) as i32;
        kids.clear();
        if !traverse(&v, &mut kids) {
            refs[i] += OPAQUE;
            continue;
        }
        for &a in &kids {
            if let Some(j) = find(a) {
                refs[j] -= 1;
                edges.push(j as u32);
            }
        }
    }
    starts.push(edges.len() as u32);
    drop((table, addrs, kids));
    // Everything held from outside, and what it reaches, lives. (A negative count would be
    // a traversal bug: keeping the object is the safe answer.)
    let mut work: Vec<u32> = Vec::new();
    for i in 0..n {
        if fate[i] == Fate::Gone {
            continue;
        }
        debug_assert!(refs[i] >= 0, "gc traversal over-counted a reference");
        if refs[i] != 0 {
            work.push(i as u32);
        } else {
            fate[i] = Fate::Dead;
        }
    }
    drop(refs);
    while let Some(i) = work.pop() {
        let (a, b) = (starts[i as usize] as usize, starts[i as usize + 1] as usize);
        for &j in &edges[a..b] {
            if fate[j as usize] == Fate::Dead {
                fate[j as usize] = Fate::Live;
                work.push(j);
            }
        }
    }
    fate
}

/// The strong count of a tracked value's allocation.
fn strong_count(v: &Value) -> usize {
    match v {
        Value::List(r) => Rc::strong_count(r),
        Value::Tuple(r) => Rc::strong_count(r),
        Value::Dict(r) => Rc::strong_count(r),
        Value::Set(r) | Value::FrozenSet(r) => Rc::strong_count(r),
        Value::Function(r) => Rc::strong_count(r),
        Value::BoundMethod(r) => Rc::strong_count(r),
        Value::Class(r) => Rc::strong_count(r),
        Value::Instance(r) => Rc::strong_count(r),
        Value::Iter(r) => Rc::strong_count(r),
        Value::Descriptor(r) => Rc::strong_count(r),
        Value::Cell(r) => Rc::strong_count(r),
        Value::Gen(r) => Rc::strong_count(r),
        Value::Other(r) => Rc::strong_count(r),
        _ => 1,
    }
}

impl Tracked {
    /// The allocation's address (valid as an identity while the object is alive).
    fn addr(&self) -> usize {
        fn p<T: ?Sized>(w: &Weak<T>) -> usize {
            w.as_ptr() as *const u8 as usize
        }
        match self {
            Tracked::List(w) => p(w),
            Tracked::Tuple(w) => p(w),
            Tracked::Dict(w) => p(w),
            Tracked::Set(w) => p(w),
            Tracked::Function(w) => p(w),
            Tracked::Bound(w) => p(w),
            Tracked::Class(w) => p(w),
            Tracked::Instance(w) => p(w),
            Tracked::Iter(w) => p(w),
            Tracked::Descriptor(w) => p(w),
            Tracked::Cell(w) => p(w),
            Tracked::Gen(w) => p(w),
            Tracked::Native(w) => p(w),
        }
    }

    /// The number of strong references to the object.
    fn strong_count(&self) -> usize {
        match self {
            Tracked::List(w) => w.strong_count(),
            Tracked::Tuple(w) => w.strong_count(),
            Tracked::Dict(w) => w.strong_count(),
            Tracked::Set(w) => w.strong_count(),
            Tracked::Function(w) => w.strong_count(),
            Tracked::Bound(w) => w.strong_count(),
            Tracked::Class(w) => w.strong_count(),
            Tracked::Instance(w) => w.strong_count(),
            Tracked::Iter(w) => w.strong_count(),
            Tracked::Descriptor(w) => w.strong_count(),
            Tracked::Cell(w) => w.strong_count(),
            Tracked::Gen(w) => w.strong_count(),
            Tracked::Native(w) => w.strong_count(),
        }
    }

    /// True while the object is alive.
    fn alive(&self) -> bool {
        self.strong_count() > 0
    }
}

/// Splits `entries` (all alive) into the live ones and the garbage (as strong references).
fn split(mut entries: Vec<Tracked>) -> (Vec<Tracked>, Vec<Value>) {
    let fate = analyse(&entries);
    let mut dead = Vec::new();
    let mut k = 0;
    entries.retain(|t| {
        k += 1;
        match fate[k - 1] {
            Fate::Live => true,
            Fate::Dead => {
                dead.extend(t.upgrade());
                false
            }
            Fate::Gone => false,
        }
    });
    (entries, dead)
}

impl Vm {
    /// Runs the automatic collection that [`requested`] reports, if still due.
    pub(crate) fn gc_collect_requested(&mut self) {
        let g = REG.with(|r| {
            let mut r = r.borrow_mut();
            if !r.requested {
                return None;
            }
            r.requested = false;
            let g = if r.enabled { r.choose() } else { None };
            r.retrigger();
            g
        });
        if let Some(g) = g {
            self.gc_collect(g);
        }
    }

    /// Collects generation `g` (0, 1 or 2) and the younger ones; returns the number of
    /// unreachable objects found (what `gc.collect()` returns). A collection requested
    /// while one runs (by a finaliser) does nothing and returns 0.
    pub fn gc_collect(&mut self, g: usize) -> usize {
        let g = g.min(2);
        let entries = REG.with(|r| {
            let mut r = r.borrow_mut();
            if r.collecting {
                return None;
            }
            r.collecting = true;
            r.requested = false;
            // Oldest first, so that the largest vector is the one extended.
            // The young generation is still in the cache: its dead entries (most of them,
            // usually) are dropped before the analysis. The older ones are not read twice.
            let mut young = std::mem::take(&mut r.gens[0]);
            young.retain(Tracked::alive);
            let mut all = if g == 0 { Vec::new() } else { std::mem::take(&mut r.gens[g]) };
            for i in (1..g).rev() {
                let mut gen = std::mem::take(&mut r.gens[i]);
                all.append(&mut gen);
            }
            if all.is_empty() {
                all = young;
            } else {
                all.append(&mut young);
            }
            if g < 2 {
                // Between its own collections, the older generations are swept a little at a
                // time, so that the memory of their dead objects is returned.
                let budget = all.len().max(r.threshold[0].max(0) as usize) * 2;
                r.sweep_old(budget);
            }
            r.retrigger();
            Some(all)
        });
        let Some(entries) = entries else { return 0 };
        if g == 2 {
            clear_code_caches();
        }
        let (mut survivors, mut garbage) = split(entries);
        let mut found = 0;
        if !garbage.is_empty() {
            if garbage.iter().any(needs_finalizer) {
                // Finalise with only weak references to the rest, so that what the finalisers
                // free is freed (and, as in CPython, not counted); then look again at what is
                // left, which a finaliser may have made reachable.
                let mut weak: Vec<Tracked> = garbage.iter().filter_map(Tracked::of).collect();
                let fins: Vec<Value> = garbage.iter().filter(|v| needs_finalizer(v)).cloned().collect();
                drop(garbage);
                for f in fins {
                    if let Value::Gen(g) = f {
                        self.gc_finalize_generator(g);
                    }
                }
                weak.retain(Tracked::alive);
                let (resurrected, rest) = split(weak);
                survivors.extend(resurrected);
                garbage = rest;
            }
            found = garbage.iter().map(weight).sum();
            for v in &garbage {
                clear(v);
            }
            // Whatever clearing did not free (contents that could not be borrowed) stays
            // registered, to be looked at again.
            let mut watch: Vec<Tracked> = garbage.iter().filter_map(Tracked::of).collect();
            drop(garbage);
            watch.retain(Tracked::alive);
            survivors.append(&mut watch);
        }
        REG.with(|r| {
            let mut r = r.borrow_mut();
            let dest = (g + 1).min(2);
            let moved = survivors.len();
            if r.gens[dest].is_empty() {
                r.gens[dest] = survivors;
            } else {
                r.gens[dest].append(&mut survivors);
            }
            if r.gens[dest].capacity() > 2 * r.gens[dest].len().max(1024) {
                r.gens[dest].shrink_to_fit();
            }
            if g < 2 {
                r.count[g + 1] += 1;
            }
            for i in 1..=g {
                r.count[i] = 0;
            }
            match g {
                2 => {
                    r.long_lived_total = r.gens[2].len();
                    r.long_lived_pending = 0;
                }
                1 => r.long_lived_pending += moved,
                _ => {}
            }
            r.stats[g].0 += 1;
            r.stats[g].1 += found;
            r.collecting = false;
            r.retrigger();
        });
        found
    }

    /// Finalises a garbage generator or coroutine as `close()` would: a frame suspended
    /// inside `try`/`with` gets `GeneratorExit` (its `finally` blocks run); any other frame
    /// is dropped; a coroutine that never started reports that it was never awaited.
    fn gc_finalize_generator(&mut self, g: Rc<GenObj>) {
        let has_handlers = g.frame.borrow().as_ref().is_some_and(|d| !d.frame.handlers.is_empty());
        match g.state.get() {
            GenState::Suspended if has_handlers => self.close_dead_generator(&g),
            GenState::Created if g.kind == GenKind::Coroutine && !g.awaited.get() => {
                g.state.set(GenState::Closed);
                let frame = g.frame.borrow_mut().take();
                drop(frame);
                self.write_stderr(&format!("<sys>:0: RuntimeWarning: coroutine '{}' was never awaited\n", g.qualname));
            }
            _ => {
                g.state.set(GenState::Closed);
                let frame = g.frame.borrow_mut().take();
                drop(frame);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_list() -> (Value, Tracked) {
        let a = Value::list(vec![]);
        if let Value::List(l) = &a {
            l.items.borrow_mut().push(a.clone());
        }
        let w = Tracked::of(&a).expect("tracked");
        (a, w)
    }

    #[test]
    fn self_cycle_is_garbage_and_external_refs_keep_objects() {
        let (a, wa) = self_list();
        let b = Value::list(vec![a.clone()]);
        let wb = Tracked::of(&b).expect("tracked");
        let fates = |e: &[Tracked]| analyse(e);
        // `a` is held by a Rust local: nothing is garbage.
        assert!(fates(&[Tracked::of(&a).unwrap(), Tracked::of(&b).unwrap()]).iter().all(|f| *f == Fate::Live));
        drop(a);
        // `b` (held here) references `a`.
        assert!(fates(&[Tracked::of(&b).unwrap(), wa.upgrade().and_then(|v| Tracked::of(&v)).unwrap()])
            .iter()
            .all(|f| *f == Fate::Live));
        drop(b);
        assert!(!wb.alive());
        let t = Tracked::of(&wa.upgrade().unwrap()).unwrap();
        let (live, dead) = split(vec![t]);
        assert_eq!((live.len(), dead.len()), (0, 1));
        dead.iter().for_each(clear);
        drop(dead);
        assert!(!wa.alive());
    }

    #[test]
    fn duplicates_are_dropped() {
        let (a, wa) = self_list();
        drop(a);
        let e = vec![Tracked::of(&wa.upgrade().unwrap()).unwrap(), Tracked::of(&wa.upgrade().unwrap()).unwrap()];
        assert!(analyse(&e) == vec![Fate::Dead, Fate::Gone]);
        let (_, dead) = split(e);
        dead.iter().for_each(clear);
        drop(dead);
        assert!(!wa.alive());
    }

    #[test]
    fn borrowed_objects_and_their_children_are_kept() {
        // a <-> b, nothing else refers to them; a's contents are borrowed.
        let a = Value::list(vec![]);
        let b = Value::list(vec![a.clone()]);
        let Value::List(la) = &a else { unreachable!() };
        la.items.borrow_mut().push(b.clone());
        let (wa, wb) = (Tracked::of(&a).unwrap(), Tracked::of(&b).unwrap());
        drop(b);
        let la = la.clone();
        drop(a);
        let guard = la.items.borrow_mut();
        // la (a Rust local) keeps a alive anyway; b must stay too although a is unreadable.
        assert!(analyse(&[
            Tracked::of(&Value::List(la.clone())).unwrap(),
            Tracked::of(&wb.upgrade().unwrap()).unwrap()
        ])
        .iter()
        .all(|f| *f == Fate::Live));
        drop(guard);
        drop(la);
        let (_, dead) = split(vec![wa, wb]);
        assert_eq!(dead.len(), 2);
        dead.iter().for_each(clear);
    }
}
