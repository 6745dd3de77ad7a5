//! A collection: CPython's trial deletion over the registry's weak entries, the
//! finalisation of garbage generators, and the clearing that breaks the cycles.

use super::entries::Entries;
use super::traverse::{clear, needs_finalizer, strong_count, traverse, weight};
use super::{clear_code_caches, REG};
use crate::vm::gen::{GenKind, GenObj, GenState};
use crate::vm::value::Value;
use crate::vm::Vm;
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
fn analyse(entries: &Entries) -> Vec<Fate> {
    let n = entries.len();
    let mut fate = vec![Fate::Live; n];
    // Addresses, and a table from address to entry index. (A dead entry's address cannot be
    // reused while its `Weak` exists, so it never matches a live object's reference.)
    let mut addrs: Vec<usize> = Vec::with_capacity(n);
    let mut table: hashbrown::HashTable<u32> = hashbrown::HashTable::with_capacity(n);
    for (i, f) in fate.iter_mut().enumerate() {
        let a = entries.addr(i);
        addrs.push(a);
        let h = addr_hash(a);
        if table.find(h, |&j| addrs[j as usize] == a).is_some() {
            *f = Fate::Gone;
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
        let Some(v) = entries.upgrade(i) else {
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

/// Splits `entries` (all alive) into the live ones and the garbage (as strong references).
fn split(mut entries: Entries) -> (Entries, Vec<Value>) {
    let fate = analyse(&entries);
    let mut dead = Vec::new();
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
            // Oldest first, so that the largest vector is the one extended.
            // The young generation is still in the cache: its dead entries (most of them,
            // usually) are dropped before the analysis. The older ones are not read twice.
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
