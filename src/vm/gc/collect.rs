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
    /// A second entry for an object already listed, or an object already freed (dropped).
    Gone,
}

/// One slot of a [`Table`]: a candidate's address (0 for an empty slot), its entry index,
/// and its `gc_refs` (the strong count less the references found from candidates). A
/// tuple, so that a new table comes zeroed from the allocator.
type Slot = (usize, u32, i32);

/// An open-addressing table (linear probing, at most half full) from allocation address to
/// candidate. An address's home slot keeps neighbours together: the 1 KiB block it lies in
/// picks a group of 64 slots (by a multiplicative hash, so blocks scatter over the table),
/// and its position inside the block picks the slot in the group, so objects allocated one
/// after another — which tend to be looked up one after another — share cache lines.
struct Table {
    /// The slots: the first `mask + 1` are in use, the rest are empty.
    slots: Vec<Slot>,
    /// The number of slots in use less one (a power of two less one).
    mask: usize,
    /// The shift that keeps a block hash's top bits as the group number.
    shift: u32,
}

impl Table {
    /// An empty table for up to `n` addresses, in `slots` (all empty).
    fn new(n: usize, mut slots: Vec<Slot>) -> Table {
        let size = (2 * n).next_power_of_two().max(128);
        if slots.len() < size {
            slots = vec![(0, 0, 0); size];
        }
        Table { slots, mask: size - 1, shift: 64 - (size.trailing_zeros() - 6) }
    }

    /// The slot where the search for `a` starts.
    #[inline(always)]
    fn home(&self, a: usize) -> usize {
        let group = (((a >> 10) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        ((group << 6) | ((a >> 4) & 63)) & self.mask
    }

    /// Adds `a` (entry `idx`, with `refs`) and returns its slot; `None` if it is already
    /// there.
    #[inline]
    fn insert(&mut self, a: usize, idx: u32, refs: i32) -> Option<u32> {
        let mut s = self.home(a);
        loop {
            let slot = &mut self.slots[s];
            if slot.0 == 0 {
                *slot = (a, idx, refs);
                return Some(s as u32);
            }
            if slot.0 == a {
                return None;
            }
            s = (s + 1) & self.mask;
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
            s = (s + 1) & self.mask;
        }
    }
}

/// `gc_refs` added for an object whose contents could not be read: it counts as held from
/// outside.
const OPAQUE: i32 = 1 << 30;

/// `Scratch::pos` of an entry that is not in the table.
const NO_SLOT: u32 = u32::MAX;

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
    /// Per entry, its slot in the table (or `NO_SLOT`).
    pos: Vec<u32>,
    /// Per entry, where its references start in `edges`.
    starts: Vec<u32>,
    /// The references between candidates, by index.
    edges: Vec<u32>,
    /// The marking pass's stack.
    work: Vec<u32>,
}

thread_local! {
    static SCRATCH: Cell<Scratch> = const {
        Cell::new(Scratch { slots: Vec::new(), pos: Vec::new(), starts: Vec::new(), edges: Vec::new(), work: Vec::new() })
    };
}

/// Collections of up to this many entries keep their working memory for the next one (a
/// full collection of a large heap gives it back).
const KEEP_SCRATCH: usize = 1 << 14;

/// The state of [`analyse`].
struct Analysis {
    /// The table and the references found.
    c: Counter,
    /// The result, per entry.
    fate: Vec<Fate>,
    /// Per entry, its slot in the table (or `NO_SLOT`).
    pos: Vec<u32>,
    /// Per entry, where its references start in `c.edges`.
    starts: Vec<u32>,
}

impl Analysis {
    /// First pass: adds entry `i` (at `a`, with `count` strong references) to the table; a
    /// dead object or a second entry for one is `Gone`.
    #[inline(always)]
    fn add(&mut self, i: usize, a: usize, count: usize) {
        let slot =
            if count == 0 { None } else { self.c.table.insert(a, i as u32, count.min(OPAQUE as usize - 1) as i32) };
        match slot {
            Some(p) => self.pos.push(p),
            None => {
                self.pos.push(NO_SLOT);
                self.fate[i] = Fate::Gone;
            }
        }
    }

    /// Second pass: takes away from the candidates' counts the references that entry `i`
    /// holds, which `read` reports (`None`: the object is dead; `Some(false)`: its contents
    /// could not all be read, so it counts as held from outside and what it reported is
    /// given back), and records them.
    #[inline(always)]
    fn visit(&mut self, i: usize, read: impl FnOnce(&mut Counter) -> Option<bool>) {
        let start = self.c.edges.len();
        self.starts.push(start as u32);
        if self.fate[i] == Fate::Gone {
            return;
        }
        match read(&mut self.c) {
            Some(true) => {}
            Some(false) => {
                let slots = &mut self.c.table.slots;
                for j in self.c.edges.drain(start..) {
                    slots[self.pos[j as usize] as usize].2 += 1;
                }
                slots[self.pos[i] as usize].2 += OPAQUE;
            }
            None => self.fate[i] = Fate::Gone,
        }
    }
}

/// Decides the fate of every entry in `entries`. Only weak references are held between
/// steps, so a strong count is exactly the number of references to the object. A first
/// pass puts every live entry in the table with its strong count (a dead one is `Gone`
/// at once); a second reads each object's references once, subtracting those to
/// candidates and recording them (by index) for the marking pass. The working memory is
/// 40 to 75 bytes per entry plus 4 per reference between candidates.
fn analyse(entries: &Entries) -> Vec<Fate> {
    let n = entries.len();
    let mut s = SCRATCH.try_with(Cell::take).unwrap_or_default();
    let table = Table::new(n, std::mem::take(&mut s.slots));
    for v in [&mut s.pos, &mut s.starts, &mut s.edges, &mut s.work] {
        v.clear();
    }
    s.pos.reserve(n);
    s.starts.reserve(n + 1);
    let (pos, starts, edges) =
        (std::mem::take(&mut s.pos), std::mem::take(&mut s.starts), std::mem::take(&mut s.edges));
    let mut an = Analysis { c: Counter { table, edges }, fate: vec![Fate::Live; n], pos, starts };
    // (A dead entry's address cannot be reused while its `Weak` exists, so it never
    // matches a live object's reference; dead entries are not in the table anyway.)
    let k = entries.thin.len();
    for (i, t) in entries.thin.iter().enumerate() {
        an.add(i, t.addr(), t.strong_count());
    }
    for (i, t) in entries.fat.iter().enumerate() {
        an.add(k + i, t.addr(), t.strong_count());
    }
    for (i, t) in entries.thin.iter().enumerate() {
        an.visit(i, |c| traverse_thin(t, c));
    }
    for (i, t) in entries.fat.iter().enumerate() {
        an.visit(k + i, |c| t.upgrade().map(|v| traverse(&v, c)));
    }
    let Analysis { c: Counter { mut table, edges }, mut fate, pos, mut starts } = an;
    starts.push(edges.len() as u32);
    // Everything held from outside, and what it reaches, lives. (A negative count would be
    // a traversal bug: keeping the object is the safe answer.) The table is emptied on the
    // way, ready for the next collection.
    let mut work = s.work;
    for (i, &p) in pos.iter().enumerate() {
        if p == NO_SLOT {
            continue;
        }
        let slot = &mut table.slots[p as usize];
        slot.0 = 0;
        debug_assert!(slot.2 >= 0, "gc traversal over-counted a reference");
        if fate[i] == Fate::Gone {
            continue;
        }
        if slot.2 != 0 {
            work.push(i as u32);
        } else {
            fate[i] = Fate::Dead;
        }
    }
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
        let s = Scratch { slots: table.slots, pos, starts, edges, work };
        let _ = SCRATCH.try_with(|c| c.set(s));
    }
    fate
}

/// Splits `entries` (all alive) into the live ones and the garbage (as strong references).
fn split(mut entries: Entries) -> (Entries, Vec<Value>) {
    let fate = analyse(&entries);
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
            // Oldest first, so that the largest vector is the one extended. The entries of
            // objects already freed (most of the young ones, usually; in an old generation,
            // whatever died since it was last swept) are dropped first, which costs a strong
            // count's check each: the analysis only sees live objects.
            let mut all = Entries::new();
            for i in (0..=g).rev() {
                let mut gen = std::mem::take(&mut r.gens[i]);
                gen.retain_alive();
                all.append(&mut gen);
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
        assert!(analyse(&entries([entry(&a), entry(&b)])).iter().all(|f| *f == Fate::Live));
        drop(a);
        // `b` (held here) references `a`.
        let a2 = upgrade(&wa).unwrap();
        assert!(analyse(&entries([entry(&b), entry(&a2)])).iter().all(|f| *f == Fate::Live));
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
        let e = entries([entry(&upgrade(&wa).unwrap()), entry(&upgrade(&wa).unwrap())]);
        assert!(analyse(&e) == vec![Fate::Dead, Fate::Gone]);
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
        let e = entries([entry(&t), entry(&l)]);
        let (wl, wt) = (entry(&l), entry(&t));
        drop((l, t));
        assert!(analyse(&e) == vec![Fate::Dead, Fate::Dead]);
        let (live, dead) = split(e);
        assert_eq!((live.len(), dead.len()), (0, 2));
        dead.iter().for_each(clear);
        drop(dead);
        assert!(!alive(&wl) && !alive(&wt));
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
        assert!(analyse(&entries([entry(&Value::List(la.clone())), entry(&b2)])).iter().all(|f| *f == Fate::Live));
        drop(b2);
        drop(guard);
        drop(la);
        let (_, dead) = split(entries([wa, wb]));
        assert_eq!(dead.len(), 2);
        dead.iter().for_each(clear);
    }
}
