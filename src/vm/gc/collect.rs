//! A collection: CPython's trial deletion over the registry's weak entries, the
//! finalisation of garbage generators, and the clearing that breaks the cycles.

use super::entries::{Entries, Entry};
use super::traverse::{clear, needs_finalizer, traverse, traverse_thin, weight};
use super::{clear_code_caches, REG};
use crate::vm::gen::{GenKind, GenObj, GenState};
use crate::vm::value::Value;
use crate::vm::Vm;
use std::cell::Cell;
use std::rc::Rc;

/// What a collection decided about one registry entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Held from outside the candidates, or reachable from such an object.
    Live,
    /// Reachable only from other garbage.
    Dead,
    /// An object already freed (its entry is dropped).
    Gone,
}

/// One slot of a [`Table`]: a candidate's address (0 for an empty slot), its entry index,
/// and its `gc_refs` (the strong count less the references found from candidates). A
/// tuple, so that a new table comes zeroed from the allocator.
type Slot = (usize, u32, i32);

/// An open-addressing table (linear probing, at most half full) from allocation address to
/// candidate, in groups of 64 slots. An address's home slot keeps neighbours together: the
/// block of address space it lies in picks a group (by a multiplicative hash, so blocks
/// scatter over the table), and its position inside the block picks the slot in the group,
/// so objects allocated one after another — which tend to be looked up one after another —
/// share cache lines. A block is 64 grains; a grain is 16 bytes, or, in a large table,
/// about the usual distance between the candidates (so that they fill their groups).
struct Table {
    /// The slots: the first `size` are in use, the rest are empty.
    slots: Vec<Slot>,
    /// The number of slots in use (a multiple of 64).
    size: usize,
    /// `size / 64`.
    groups: u64,
    /// log2 of a grain's bytes.
    grain: u32,
}

impl Table {
    /// An empty table for up to `n` addresses, in `slots` (all empty).
    fn new(n: usize, grain: u32, mut slots: Vec<Slot>) -> Table {
        let groups = (2 * n).div_ceil(64).max(1);
        let size = groups * 64;
        if slots.len() < size {
            slots = vec![(0, 0, 0); size];
        }
        Table { slots, size, groups: groups as u64, grain }
    }

    /// The slot where the search for `a` starts.
    #[inline(always)]
    fn home(&self, a: usize) -> usize {
        let block = ((a >> self.grain >> 6) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let group = ((block as u128 * self.groups as u128) >> 64) as usize;
        group * 64 + ((a >> self.grain) & 63)
    }

    /// Adds `a` (entry `idx`, with `refs`) if it is not there yet; returns whether it was
    /// added, and how many occupied slots were passed on the way.
    #[inline]
    fn insert(&mut self, a: usize, idx: u32, refs: i32) -> (bool, usize) {
        let mut s = self.home(a);
        let mut passed = 0;
        loop {
            let slot = &mut self.slots[s];
            if slot.0 == 0 {
                *slot = (a, idx, refs);
                return (true, passed);
            }
            if slot.0 == a {
                return (false, passed);
            }
            passed += 1;
            s += 1;
            if s == self.size {
                s = 0;
            }
        }
    }

    /// The slot holding `a`, if any.
    #[inline(always)]
    fn find(&mut self, a: usize) -> Option<&mut Slot> {
        let mut s = self.home(a);
        loop {
            let addr = self.slots[s].0;
            if addr == a {
                return Some(&mut self.slots[s]);
            }
            if addr == 0 {
                return None;
            }
            s += 1;
            if s == self.size {
                s = 0;
            }
        }
    }

    /// Calls `f` with each entry's index and `gc_refs`, emptying the table.
    fn drain(&mut self, mut f: impl FnMut(u32, i32)) {
        for s in &mut self.slots[..self.size] {
            if s.0 != 0 {
                f(s.1, s.2);
                s.0 = 0;
            }
        }
    }
}

/// Tables of at most this many slots (which stay in the processor's caches) use 16-byte
/// grains.
const SMALL_TABLE: usize = 1 << 17;

/// The grain (see [`Table`]) for `entries`: the distance between the addresses of entries
/// made one after another that a quarter of a sample does not exceed, as a power of two
/// from 16 to 512 bytes.
fn grain(entries: &Entries) -> u32 {
    let t = &entries.thin;
    if 2 * entries.len() <= SMALL_TABLE || t.len() < 64 {
        return 4;
    }
    let mut gaps = [0usize; 32];
    let step = (t.len() - 1) / gaps.len();
    for (k, g) in gaps.iter_mut().enumerate() {
        *g = t[k * step].addr().abs_diff(t[k * step + 1].addr());
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 4].max(16).ilog2().min(9)
}

/// `gc_refs` added for an object whose contents could not be read: it counts as held from
/// outside.
const OPAQUE: i32 = 1 << 30;

/// The table and the references found between candidates: what the second pass of
/// [`analyse`] fills, through a [`Visitor`](super::Visitor).
pub(super) struct Counter {
    /// The candidates by address.
    table: Table,
    /// The references between candidates (the entry indices they point to), entry by entry.
    edges: Vec<u32>,
}

impl Counter {
    /// A reference to the object at `a`: if it is a candidate, one less reference to it
    /// comes from outside.
    #[inline(always)]
    pub(super) fn found(&mut self, a: usize) {
        if let Some(s) = self.table.find(a) {
            s.2 -= 1;
            self.edges.push(s.1);
        }
    }
}

/// Working memory of [`analyse`], kept between collections so that the frequent ones do not
/// allocate (and free) it each time.
#[derive(Default)]
struct Scratch {
    /// The table's slots (all empty between collections).
    slots: Vec<Slot>,
    /// Per entry, where its references start in `edges`.
    starts: Vec<u32>,
    /// The references between candidates, by index.
    edges: Vec<u32>,
    /// The marking pass's stack.
    work: Vec<u32>,
}

thread_local! {
    static SCRATCH: Cell<Scratch> = const {
        Cell::new(Scratch { slots: Vec::new(), starts: Vec::new(), edges: Vec::new(), work: Vec::new() })
    };
}

/// Collections of up to this many entries keep their working memory for the next one (a
/// full collection of a large heap gives it back).
const KEEP_SCRATCH: usize = 1 << 14;

/// First pass of [`analyse`]: drops the entries of dead objects, and second entries for an
/// object, and puts the others in the table with their strong counts (indexed by their
/// positions once the dropped ones are gone). Returns how many occupied slots the
/// insertions passed.
fn fill(entries: &mut Entries, table: &mut Table) -> usize {
    let (mut passed, mut i) = (0, 0u32);
    let mut add = |a: usize, count: usize| {
        if count == 0 {
            return false;
        }
        let (added, p) = table.insert(a, i, count.min(OPAQUE as usize - 1) as i32);
        passed += p;
        i += u32::from(added);
        added
    };
    compact(&mut entries.thin, |t| add(t.addr(), t.strong_count()));
    compact(&mut entries.fat, |t| add(t.addr(), t.strong_count()));
    passed
}

/// `Vec::retain`, for vectors where usually every element is kept.
#[inline(always)]
fn compact<T>(v: &mut Vec<T>, mut keep: impl FnMut(&T) -> bool) {
    let mut w = 0;
    for r in 0..v.len() {
        if keep(&v[r]) {
            if w != r {
                v.swap(w, r);
            }
            w += 1;
        }
    }
    v.truncate(w);
}

/// Second pass of [`analyse`] for entry `i`: takes away from the candidates' counts the
/// references it holds, which `read` reports (`None`: the object is dead; `Some(false)`: its
/// contents could not all be read, so it counts as held from outside and what it reported
/// is given back), and records them.
#[inline(always)]
fn visit(
    entries: &Entries,
    c: &mut Counter,
    fate: &mut [Fate],
    starts: &mut Vec<u32>,
    i: usize,
    read: impl FnOnce(&mut Counter) -> Option<bool>,
) {
    let start = c.edges.len();
    starts.push(start as u32);
    match read(c) {
        Some(true) => {}
        Some(false) => {
            for j in c.edges.drain(start..) {
                if let Some(s) = c.table.find(entries.addr(j as usize)) {
                    s.2 += 1;
                }
            }
            if let Some(s) = c.table.find(entries.addr(i)) {
                s.2 += OPAQUE;
            }
        }
        None => fate[i] = Fate::Gone,
    }
}

/// Decides the fate of every entry in `entries`. Only weak references are held between
/// steps, so a strong count is exactly the number of references to the object. A first
/// pass drops the entries of dead objects and puts the others in the table with their
/// strong counts; a second reads each object's references once, subtracting those to
/// candidates and recording them (by index) for the marking pass. The working memory is
/// about 40 bytes per entry plus 4 per reference between candidates.
fn analyse(entries: &mut Entries) -> Vec<Fate> {
    let mut s = SCRATCH.try_with(Cell::take).unwrap_or_default();
    let g = grain(entries);
    let mut table = Table::new(entries.len(), g, std::mem::take(&mut s.slots));
    // (The objects of the entries dropped are not referenced by live ones, and nothing
    // allocates a tracked object meanwhile, so their addresses never match a reference.)
    if fill(entries, &mut table) > entries.len() && g > 4 {
        // The candidates are denser than the grain said in places: 16-byte grains
        // never put two of them in one slot of a group.
        table.drain(|_, _| {});
        table.grain = 4;
        fill(entries, &mut table);
    }
    let n = entries.len();
    let mut fate = vec![Fate::Live; n];
    let (mut starts, mut edges, mut work) = (s.starts, s.edges, s.work);
    starts.clear();
    starts.reserve(n + 1);
    edges.clear();
    work.clear();
    let mut c = Counter { table, edges };
    let k = entries.thin.len();
    for (i, t) in entries.thin.iter().enumerate() {
        visit(entries, &mut c, &mut fate, &mut starts, i, |c| traverse_thin(t, c));
    }
    for (i, t) in entries.fat.iter().enumerate() {
        visit(entries, &mut c, &mut fate, &mut starts, k + i, |c| t.upgrade().map(|v| traverse(&v, c)));
    }
    let Counter { mut table, edges } = c;
    starts.push(edges.len() as u32);
    // Everything held from outside, and what it reaches, lives. (A negative count would be
    // a traversal bug: keeping the object is the safe answer.) The table is emptied on the
    // way, ready for the next collection.
    table.drain(|i, refs| {
        debug_assert!(refs >= 0, "gc traversal over-counted a reference");
        if fate[i as usize] == Fate::Gone {
            return;
        }
        if refs != 0 {
            work.push(i);
        } else {
            fate[i as usize] = Fate::Dead;
        }
    });
    while let Some(i) = work.pop() {
        let (a, b) = (starts[i as usize] as usize, starts[i as usize + 1] as usize);
        for &j in &edges[a..b] {
            if fate[j as usize] == Fate::Dead {
                fate[j as usize] = Fate::Live;
                work.push(j);
            }
        }
    }
    if n <= KEEP_SCRATCH {
        let s = Scratch { slots: table.slots, starts, edges, work };
        let _ = SCRATCH.try_with(|c| c.set(s));
    }
    fate
}

/// Splits `entries` into the live ones and the garbage (as strong references), dropping the
/// entries of objects already freed.
fn split(mut entries: Entries) -> (Entries, Vec<Value>) {
    let fate = analyse(&mut entries);
    let mut dead = Vec::new();
    if fate.iter().all(|f| *f == Fate::Live) {
        return (entries, dead);
    }
    entries.retain_indexed(|k, t| match fate[k] {
        Fate::Live => true,
        Fate::Dead => {
            dead.extend(t.upgrade());
            false
        }
        Fate::Gone => false,
    });
    (entries, dead)
}

impl Vm {
    /// Runs the automatic collection that [`super::requested`] reports, if still due.
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
            // Oldest first, so that the largest vector is the one extended. The young
            // generation is still in the cache: its dead entries (most of them, usually) are
            // dropped before it is appended. (The analysis drops the other dead entries as
            // it first reads each object, before it looks further.)
            let mut young = std::mem::take(&mut r.gens[0]);
            young.retain_alive();
            let mut all = if g == 0 { Entries::new() } else { std::mem::take(&mut r.gens[g]) };
            for i in (1..g).rev() {
                let mut gen = std::mem::take(&mut r.gens[i]);
                all.append(&mut gen);
            }
            all.append(&mut young);
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
                let mut weak = Entries::of_values(&garbage);
                let fins: Vec<Value> = garbage.iter().filter(|v| needs_finalizer(v)).cloned().collect();
                drop(garbage);
                for f in fins {
                    match f {
                        Value::Gen(g) => self.gc_finalize_generator(g),
                        Value::Other(o) => o.gc_finalize(self),
                        _ => {}
                    }
                }
                weak.retain_alive();
                let (mut resurrected, rest) = split(weak);
                survivors.append(&mut resurrected);
                garbage = rest;
            }
            found = garbage.iter().map(weight).sum();
            for v in &garbage {
                clear(v);
            }
            // Whatever clearing did not free (contents that could not be borrowed) stays
            // registered, to be looked at again.
            let mut watch = Entries::of_values(&garbage);
            drop(garbage);
            watch.retain_alive();
            survivors.append(&mut watch);
        }
        REG.with(|r| {
            let mut r = r.borrow_mut();
            let dest = (g + 1).min(2);
            let moved = survivors.len();
            r.gens[dest].append(&mut survivors);
            r.gens[dest].shrink();
            r.gens[0].reuse(&mut survivors);
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
        let has_handlers = g.frame.borrow().in_handler();
        match g.state.get() {
            GenState::Suspended if has_handlers => self.close_dead_generator(&g),
            GenState::Created if g.kind == GenKind::Coroutine && !g.awaited.get() => {
                g.state.set(GenState::Closed);
                drop(g.take_frame());
                self.write_stderr(&format!(
                    "<sys>:0: RuntimeWarning: coroutine '{}' was never awaited\n",
                    g.qualname()
                ));
            }
            _ => {
                g.state.set(GenState::Closed);
                drop(g.take_frame());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::entries::{AnyTracked, Entry};
    use super::*;

    /// The entry of a value of a tracked type.
    fn entry(v: &Value) -> AnyTracked {
        AnyTracked::of(v).expect("tracked")
    }

    /// Entries of the given kinds, in order.
    fn entries(es: impl IntoIterator<Item = AnyTracked>) -> Entries {
        let mut out = Entries::new();
        es.into_iter().for_each(|e| out.push(e));
        out
    }

    fn alive(e: &AnyTracked) -> bool {
        match e {
            AnyTracked::Thin(t) => t.alive(),
            AnyTracked::Fat(t) => t.alive(),
        }
    }

    fn upgrade(e: &AnyTracked) -> Option<Value> {
        match e {
            AnyTracked::Thin(t) => t.upgrade(),
            AnyTracked::Fat(t) => t.upgrade(),
        }
    }

    fn self_list() -> (Value, AnyTracked) {
        let a = Value::list(vec![]);
        if let Value::List(l) = &a {
            l.items.borrow_mut().push(a.clone());
        }
        let w = entry(&a);
        (a, w)
    }

    #[test]
    fn self_cycle_is_garbage_and_external_refs_keep_objects() {
        let (a, wa) = self_list();
        let b = Value::list(vec![a.clone()]);
        let wb = entry(&b);
        // `a` is held by a Rust local: nothing is garbage.
        assert!(analyse(&mut entries([entry(&a), entry(&b)])).iter().all(|f| *f == Fate::Live));
        drop(a);
        // `b` (held here) references `a`.
        let a2 = upgrade(&wa).unwrap();
        assert!(analyse(&mut entries([entry(&b), entry(&a2)])).iter().all(|f| *f == Fate::Live));
        drop(a2);
        drop(b);
        assert!(!alive(&wb));
        let t = entry(&upgrade(&wa).unwrap());
        let (live, dead) = split(entries([t]));
        assert_eq!((live.len(), dead.len()), (0, 1));
        dead.iter().for_each(clear);
        drop(dead);
        assert!(!alive(&wa));
    }

    #[test]
    fn duplicates_are_dropped() {
        let (a, wa) = self_list();
        drop(a);
        let mut e = entries([entry(&upgrade(&wa).unwrap()), entry(&upgrade(&wa).unwrap())]);
        assert!(analyse(&mut e) == vec![Fate::Dead]);
        assert_eq!(e.len(), 1);
        let (_, dead) = split(e);
        dead.iter().for_each(clear);
        drop(dead);
        assert!(!alive(&wa));
    }

    #[test]
    fn fat_entries_follow_thin_ones() {
        // A tuple (a fat entry) and a list (thin) referencing each other, held by nothing.
        let l = Value::list(vec![]);
        let t = Value::Tuple(Rc::from(vec![l.clone()]));
        let Value::List(lr) = &l else { unreachable!() };
        lr.items.borrow_mut().push(t.clone());
        let mut e = entries([entry(&t), entry(&l)]);
        let (wl, wt) = (entry(&l), entry(&t));
        drop((l, t));
        assert!(analyse(&mut e) == vec![Fate::Dead, Fate::Dead]);
        let (live, dead) = split(e);
        assert_eq!((live.len(), dead.len()), (0, 2));
        dead.iter().for_each(clear);
        drop(dead);
        assert!(!alive(&wl) && !alive(&wt));
    }

    /// A native object that reports a reference, then cannot read the rest of its contents.
    struct HalfRead(Value);

    impl crate::vm::other::NativeObject for HalfRead {
        fn type_name(&self) -> &'static str {
            "half_read"
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn gc_traverse(&self, visit: &mut crate::vm::gc::Visitor) {
            visit.value(&self.0);
            visit.fail();
        }
    }

    #[test]
    fn a_partly_read_object_gives_back_what_it_reported() {
        // `l` is held only by `h`, which counts as held from outside: its reference to `l`
        // is not taken away from `l`'s count, so `l` lives.
        let l = Value::list(vec![]);
        let h = Value::Other(Rc::new(HalfRead(l.clone())));
        let mut e = entries([entry(&h), entry(&l)]);
        drop(l);
        assert!(analyse(&mut e) == vec![Fate::Live, Fate::Live]);
    }

    #[test]
    fn dead_entries_are_dropped_first() {
        let (a, wa) = self_list();
        let b = Value::list(vec![]);
        let mut e = entries([entry(&b), wa]);
        drop(b);
        // `a` is held here; `b` is dead and its entry goes.
        assert!(analyse(&mut e) == vec![Fate::Live]);
        assert_eq!(e.len(), 1);
        drop(a);
    }

    #[test]
    fn borrowed_objects_and_their_children_are_kept() {
        // a <-> b, nothing else refers to them; a's contents are borrowed.
        let a = Value::list(vec![]);
        let b = Value::list(vec![a.clone()]);
        let Value::List(la) = &a else { unreachable!() };
        la.items.borrow_mut().push(b.clone());
        let (wa, wb) = (entry(&a), entry(&b));
        drop(b);
        let la = la.clone();
        drop(a);
        let guard = la.items.borrow_mut();
        // la (a Rust local) keeps a alive anyway; b must stay too although a is unreadable.
        let b2 = upgrade(&wb).unwrap();
        let mut e = entries([entry(&Value::List(la.clone())), entry(&b2)]);
        assert!(analyse(&mut e).iter().all(|f| *f == Fate::Live));
        drop(b2);
        drop(guard);
        drop(la);
        let (_, dead) = split(entries([wa, wb]));
        assert_eq!(dead.len(), 2);
        dead.iter().for_each(clear);
    }
}
