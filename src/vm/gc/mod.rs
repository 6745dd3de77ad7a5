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
//! Collections run at the VM's safe points (`Vm::run_finalizers`): more than
//! `threshold[0]` (700) objects created since the last collection and still alive request
//! one (as CPython counts allocations less deallocations: the entries of objects already
//! freed are dropped before the count is taken); generation 1 is
//! collected every `threshold[1]` young collections and generation 2 every `threshold[2]`
//! generation-1 collections once the objects waiting for it are half of those already there
//! (CPython waits for a quarter; a full collection costs more here, as `gc_refs` cannot live
//! in object headers), so the work stays proportional to allocation.
//!
//! **Invariant:** a traversal reports exactly the strong references an object holds to
//! tracked objects (never more), so an object referenced from anywhere the collector does
//! not look is always kept. An object whose contents are borrowed during a collection is
//! treated as referenced from outside.

mod collect;
mod entries;
mod finalize;
mod traverse;

pub use traverse::Visitor;

use super::gen::GenObj;
use super::other::NativeObject;
use super::value::{Class, DictObj, Function, Instance, NativeFunction, Value};
use crate::asyncio::future::FutureObj;
use crate::bytecode::Code;
use entries::{drop_recent_dead, sweep, AnyTracked, Entries, Entry, FatTracked, Tracked};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use traverse::addr;

/// CPython's default thresholds.
const THRESHOLDS: [i64; 3] = [700, 10, 10];
/// The young generation is compacted (dead entries dropped) when it reaches this size, or
/// twice its size after the last compaction, whichever is larger, even if no collection
/// could run in between.
const MIN_COMPACT: usize = 4096;

/// The registry and the collector's settings (one per thread, like the VM).
struct Registry {
    /// Generations 0 (young) to 2 (old).
    gens: [Entries; 3],
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
    /// Registrations so far (wrapping): paces the check for objects that died young.
    pushes: u32,
    /// Compactions of the young generation so far (for tests).
    compactions: usize,
    /// Where the young generation's sweep (see `register`) and `sweep_old` in generations
    /// 1 and 2 resume (thin entries, fat entries).
    sweep_at: [(usize, usize); 3],
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            gens: [Entries::new(), Entries::new(), Entries::new()],
            trigger: THRESHOLDS[0] as usize + 1,
            threshold: THRESHOLDS,
            count: [0; 3],
            enabled: true,
            requested: false,
            collecting: false,
            compact_at: MIN_COMPACT,
            pushes: 0,
            compactions: 0,
            long_lived_total: 0,
            long_lived_pending: 0,
            stats: [(0, 0); 3],
            sweep_at: [(0, 0); 3],
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
            // When the live young objects are near the threshold (a compaction just left
            // them there), the next look comes a quarter of the threshold later, not at the
            // threshold: otherwise a program that keeps that many objects alive while
            // making and dropping others compacts the whole generation every few
            // allocations. A collection may start that much later than CPython's count.
            let threshold = self.threshold[0] as usize;
            (threshold + 1).max(young + threshold / 4).min(self.compact_at)
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
        // CPython counts allocations less deallocations: objects already freed do not count
        // towards a collection, so their entries go first (short-lived objects, freed by
        // their reference counts, then never cost a collection).
        if young >= self.compact_at || (self.automatic() && self.young_over()) {
            self.gens[0].retain_alive();
            self.compactions += 1;
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
            let (gen, at) = (&mut self.gens[g], &mut self.sweep_at[g]);
            sweep(&mut gen.thin, &mut at.0, &mut left);
            sweep(&mut gen.fat, &mut at.1, &mut left);
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
    register(t, |r| (&mut r.gens[0].thin, &mut r.sweep_at[0].0));
}

/// [`push`] for an entry behind a fat pointer.
#[inline(never)]
fn push_fat(t: FatTracked) {
    register(t, |r| (&mut r.gens[0].fat, &mut r.sweep_at[0].1));
}

/// Adds `t` to the young generation's list that `list` picks (with that list's sweep
/// cursor).
#[inline(always)]
fn register<T: Entry>(t: T, list: impl Fn(&mut Registry) -> (&mut Vec<T>, &mut usize)) {
    let _ = REG.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.pushes = r.pushes.wrapping_add(1);
            let scan = r.pushes % RECENT_EVERY == 0;
            let (young, at) = list(&mut r);
            // An entry's `Weak` keeps the object's memory allocated after it dies, until
            // the entry goes. Objects that died within the last few allocations are dropped
            // now, so that their memory is freed while the allocator can reuse it at once
            // (every few registrations, so each entry is still checked about twice); and a
            // cursor checks the older entries, a few per registration, so that objects that
            // lived a little longer (a rebound attribute, a replaced list item) are freed
            // one at a time as well, not hundreds at once when the generation is compacted
            // (which overflows the allocator's per-size caches).
            if scan {
                drop_recent_dead(young, RECENT);
            }
            let mut left = SWEEP_PER_PUSH;
            sweep(young, at, &mut left);
            young.push(t);
            if r.gens[0].len() >= r.trigger {
                r.slow();
            }
        }
    });
}

/// Registers an object directly in the oldest generation (for objects registered late,
/// which only full collections need to see).
fn push_old(t: Tracked) {
    let _ = REG.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.gens[2].thin.push(t);
        }
    });
}

/// How many of the newest registry entries a registration checks for dead objects.
const RECENT: usize = 8;
/// Every how many registrations that check runs.
const RECENT_EVERY: u32 = 4;
/// How many young entries the cursor checks per registration (more than one, so that it
/// goes round the generation faster than the generation grows).
const SWEEP_PER_PUSH: usize = 2;

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
    match AnyTracked::of(v) {
        Some(AnyTracked::Thin(t)) => push(t),
        Some(AnyTracked::Fat(t)) => push_fat(t),
        None => {}
    }
}

/// Registers a built-in method bound to an instance (`lock.__aexit__` held by an `async
/// with`, which may be part of a cycle through the instance).
#[inline]
pub fn track_bound_native(r: &Rc<NativeFunction>) {
    push(Tracked::BoundNative(Rc::downgrade(r)));
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
    push_fat(FatTracked::Native(w));
}

/// Registers a new `asyncio` future or task (a 16-byte entry, see [`track_native`]).
#[inline]
pub fn track_future(f: &Rc<FutureObj>) {
    push(Tracked::Future(Rc::downgrade(f)));
}

/// Registry entries checked per millisecond waited (see [`sweep_idle`]).
const IDLE_SWEEP_PER_MS: u128 = 256;

/// Drops dead registry entries in proportion to `idle`, the time the program just spent
/// waiting (at most 256 checks a millisecond). An entry keeps its object's memory allocated
/// until it goes; those of the older generations go as collections sweep them, which
/// allocation paces, so a program that waits without allocating (an idle server, a
/// `time.sleep`) gives that memory back meanwhile.
pub fn sweep_idle(idle: std::time::Duration) {
    let mut left = (idle.as_millis() * IDLE_SWEEP_PER_MS).min(1 << 20) as usize;
    if left == 0 {
        return;
    }
    let _ = REG.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            let r = &mut *r;
            for (gen, at) in r.gens.iter_mut().zip(&mut r.sweep_at).rev() {
                sweep(&mut gen.thin, &mut at.0, &mut left);
                sweep(&mut gen.fat, &mut at.1, &mut left);
            }
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// True while the young generation has an entry for the object at `addr`.
    fn registered(addr: usize) -> bool {
        REG.with(|r| r.borrow().gens[0].thin.iter().any(|e| e.addr() == addr))
    }

    /// An object that dies long after it was registered loses its entry within a few
    /// registrations, with no collection and no compaction: its memory goes back to the
    /// allocator while it can still be reused at once.
    #[test]
    fn older_dead_entries_are_released_between_collections() {
        let first = Value::list(vec![]);
        let Value::List(r) = &first else { unreachable!() };
        // Our `Weak` keeps the address from being reused.
        let w = Rc::downgrade(r);
        let addr = w.as_ptr() as usize;
        let kept: Vec<Value> = (0..200).map(|_| Value::list(vec![])).collect();
        drop(first);
        assert!(registered(addr));
        let more: Vec<Value> = (0..300).map(|_| Value::list(vec![])).collect();
        assert!(!registered(addr));
        // Nothing alive was dropped.
        assert_eq!(REG.with(|r| r.borrow().gens[0].len()), kept.len() + more.len());
    }

    /// With the young generation's live objects just under the threshold, making and
    /// dropping objects compacts it about once per quarter threshold, not at every few
    /// registrations (each compaction reads the whole generation).
    #[test]
    fn a_young_generation_near_its_threshold_is_not_compacted_at_every_registration() {
        let threshold = REG.with(|r| r.borrow().threshold[0]) as usize;
        let kept: Vec<Value> = (0..threshold - 50).map(|_| Value::list(vec![])).collect();
        let compactions = || REG.with(|r| r.borrow().compactions);
        let before = compactions();
        // Each lives for a while (as generators do in a tree walk), so the checks for
        // objects that died young do not see it die.
        let mut window = std::collections::VecDeque::new();
        for _ in 0..threshold {
            window.push_back(Value::list(vec![]));
            if window.len() > 40 {
                window.pop_front();
            }
        }
        let done = compactions() - before;
        // (Without the slack after a compaction: 56.)
        assert!(done <= 8, "{done} compactions for {threshold} short-lived objects");
        assert!(REG.with(|r| r.borrow().gens[0].len()) >= kept.len());
    }

    #[test]
    fn idle_time_sweeps_dead_entries_of_old_generations() {
        let old = || REG.with(|r| r.borrow().gens[2].len());
        let before = old();
        let lists: Vec<Value> = (0..100).map(|_| Value::list(vec![])).collect();
        for l in &lists {
            let Value::List(r) = l else { unreachable!() };
            push_old(Tracked::List(Rc::downgrade(r)));
        }
        let kept = Value::list(vec![]);
        let Value::List(r) = &kept else { unreachable!() };
        push_old(Tracked::List(Rc::downgrade(r)));
        drop(lists);
        assert_eq!(old(), before + 101);
        // 256 checks a millisecond: enough for every entry.
        sweep_idle(std::time::Duration::from_millis(100));
        assert_eq!(old(), before + 1);
    }
}
