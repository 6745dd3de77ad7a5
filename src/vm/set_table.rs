//! The table under `set` and `frozenset`: CPython's open addressing, so that iteration order
//! (which programs print) is the same as CPython's for the same operations.
//!
//! Layout and probing follow CPython 3.11's `setobject.c`: a power-of-two slot array (at
//! least 8), linear probing over 9 slots then perturbed jumps, dummies left by deletions
//! and reused by insertion, a resize when `fill * 5 >= mask * 3`. Like `Dict`, the table
//! never runs script code: lookups that need a script `__eq__` report their candidates.

use super::dict::{fast_eq, Lookup};
use super::value::Value;

const MIN_SIZE: usize = 8;
const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

#[derive(Clone)]
enum Slot {
    Empty,
    Dummy,
    Active { hash: i64, key: Value },
}

/// An unordered hash set of script values with CPython's slot layout.
#[derive(Clone)]
pub struct SetTable {
    slots: Vec<Slot>,
    fill: usize,
    used: usize,
    finger: usize,
}

impl Default for SetTable {
    fn default() -> Self {
        SetTable::new()
    }
}

impl SetTable {
    /// An empty set.
    pub fn new() -> SetTable {
        SetTable { slots: vec![Slot::Empty; MIN_SIZE], fill: 0, used: 0, finger: 0 }
    }
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.used
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }
    /// The elements in iteration (slot) order.
    pub fn keys(&self) -> Vec<Value> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Active { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect()
    }
    /// Moves the elements out, leaving a table without slots that must not be used again
    /// (for `Drop`, which frees them without deep recursion).
    pub fn take_keys(&mut self) -> impl Iterator<Item = Value> {
        self.used = 0;
        self.fill = 0;
        std::mem::take(&mut self.slots).into_iter().filter_map(|s| match s {
            Slot::Active { key, .. } => Some(key),
            _ => None,
        })
    }
    /// The elements in slot order, without cloning.
    pub fn iter_keys(&self) -> impl Iterator<Item = &Value> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Active { key, .. } => Some(key),
            _ => None,
        })
    }
    /// The elements with their hashes, in slot order.
    pub fn entries(&self) -> Vec<(i64, Value)> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Active { hash, key } => Some((*hash, key.clone())),
                _ => None,
            })
            .collect()
    }
    /// The element in slot `pos`, if active.
    pub fn key_at(&self, pos: usize) -> Option<&Value> {
        match self.slots.get(pos) {
            Some(Slot::Active { key, .. }) => Some(key),
            _ => None,
        }
    }

    /// Visits slot indices in CPython's probe order for `hash` until `f` says stop.
    fn probe(&self, hash: i64, mut f: impl FnMut(usize, &Slot) -> bool) {
        let mask = self.mask();
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
            for j in 0..=probes {
                let k = i + j;
                if f(k, &self.slots[k]) {
                    return;
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
    }

    /// Finds `key` (whose hash is `hash`) without running script code.
    pub fn lookup(&self, hash: i64, key: &Value) -> Lookup {
        let mut found = None;
        let mut slow = Vec::new();
        self.probe(hash, |k, slot| match slot {
            Slot::Empty => true,
            Slot::Dummy => false,
            Slot::Active { hash: h, key: other } => {
                if *h == hash {
                    match fast_eq(other, key) {
                        Some(true) => {
                            found = Some(k);
                            return true;
                        }
                        Some(false) => {}
                        None => slow.push((k, other.clone())),
                    }
                }
                false
            }
        });
        match found {
            Some(k) => Lookup::Found(k),
            None if slow.is_empty() => Lookup::Absent,
            None => Lookup::Slow(slow),
        }
    }

    /// Adds a key known to be absent, reusing the first dummy on its probe path as CPython does.
    /// The key is in even when the table's growth afterwards is refused memory; that
    /// failure is reported (the caller raises `MemoryError`) and the table stays usable.
    pub fn insert_new(&mut self, hash: i64, key: Value) -> Result<(), super::mem::OutOfMemory> {
        let mut free: Option<usize> = None;
        let mut empty: usize = 0;
        self.probe(hash, |k, slot| match slot {
            Slot::Empty => {
                empty = k;
                true
            }
            Slot::Dummy => {
                if free.is_none() {
                    free = Some(k);
                }
                false
            }
            Slot::Active { .. } => false,
        });
        self.used += 1;
        match free {
            Some(k) => self.slots[k] = Slot::Active { hash, key },
            None => {
                self.fill += 1;
                self.slots[empty] = Slot::Active { hash, key };
                if self.fill * 5 >= self.mask() * 3 {
                    let target = if self.used > 50_000 { self.used * 2 } else { self.used * 4 };
                    return self.try_resize(target);
                }
            }
        }
        Ok(())
    }

    /// Inserts into a table with no dummies and no equal key (CPython's `set_insert_clean`).
    fn insert_clean(slots: &mut [Slot], hash: i64, key: Value) {
        let mask = slots.len() - 1;
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            if matches!(slots[i], Slot::Empty) {
                slots[i] = Slot::Active { hash, key };
                return;
            }
            if i + LINEAR_PROBES <= mask {
                for j in 1..=LINEAR_PROBES {
                    if matches!(slots[i + j], Slot::Empty) {
                        slots[i + j] = Slot::Active { hash, key };
                        return;
                    }
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
    }

    /// Grows or shrinks to the smallest size above `minused`, re-inserting in slot order.
    pub fn resize(&mut self, minused: usize) {
        if self.try_resize(minused).is_err() {
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<Slot>());
        }
    }

    /// As [`SetTable::resize`], failing (with the table unchanged) when the system refuses
    /// the memory.
    pub fn try_resize(&mut self, minused: usize) -> Result<(), super::mem::OutOfMemory> {
        let mut size = MIN_SIZE;
        while size <= minused {
            size <<= 1;
        }
        let mut slots = Vec::new();
        slots.try_reserve_exact(size).map_err(|_| super::mem::OutOfMemory)?;
        slots.resize(size, Slot::Empty);
        let old = std::mem::replace(&mut self.slots, slots);
        for s in old {
            if let Slot::Active { hash, key } = s {
                Self::insert_clean(&mut self.slots, hash, key);
            }
        }
        self.fill = self.used;
        Ok(())
    }

    /// Prepares for merging `other_used` more keys (CPython resizes once up front).
    pub fn reserve_for_merge(&mut self, other_used: usize) {
        if (self.fill + other_used) * 5 >= self.mask() * 3 {
            self.resize((self.used + other_used) * 2);
        }
    }

    /// Copies every element of `other` into this empty table (CPython's `set_merge` fast path).
    pub fn merge_into_empty(&mut self, other: &SetTable) {
        self.reserve_for_merge(other.used);
        if self.fill == 0 && self.mask() == other.mask() && other.fill == other.used {
            self.slots = other.slots.clone();
            self.fill = other.used;
            self.used = other.used;
            return;
        }
        for s in &other.slots {
            if let Slot::Active { hash, key } = s {
                Self::insert_clean(&mut self.slots, *hash, key.clone());
                self.fill += 1;
                self.used += 1;
            }
        }
    }

    /// Removes the element in slot `pos`, leaving a dummy; returns it.
    pub fn remove_at(&mut self, pos: usize) -> Value {
        match std::mem::replace(&mut self.slots[pos], Slot::Dummy) {
            Slot::Active { key, .. } => {
                self.used -= 1;
                key
            }
            other => {
                self.slots[pos] = other;
                Value::None
            }
        }
    }

    /// `set.pop()`: the first element from CPython's search finger.
    pub fn pop(&mut self) -> Option<Value> {
        if self.used == 0 {
            return None;
        }
        let mask = self.mask();
        let mut i = self.finger & mask;
        while !matches!(self.slots[i], Slot::Active { .. }) {
            i = (i + 1) & mask;
        }
        self.finger = i + 1;
        Some(self.remove_at(i))
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        *self = SetTable::new();
    }
}
