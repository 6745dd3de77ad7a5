//! The insertion-ordered hash table under `dict`, `set` and `frozenset`.
//!
//! CPython's compact layout: entries in insertion order in a `Vec` (deleted ones become
//! tombstones), and a `hashbrown::HashTable` of entry positions keyed by the script-level
//! hash. The table never calls script code itself: lookups that need a script `__eq__`
//! report the candidates (`Lookup::Slow`) and the VM compares them with no borrow held.

use super::value::Value;
use hashbrown::HashTable;

/// One slot of the entry vector; a tombstone has `key == Value::Undef`.
#[derive(Clone)]
pub struct Entry {
    /// The script-level hash of the key.
    pub hash: i64,
    /// The key.
    pub key: Value,
    /// The value (`None` in sets).
    pub value: Value,
}

/// An insertion-ordered hash table keyed by script values.
#[derive(Clone, Default)]
pub struct Dict {
    entries: Vec<Entry>,
    index: HashTable<u32>,
    live: usize,
}

/// The outcome of a lookup that may need script code to finish.
pub enum Lookup {
    /// The key is at this entry position.
    Found(usize),
    /// The key is absent.
    Absent,
    /// These candidates (entry position, key) need a script `__eq__` to decide.
    Slow(Vec<(usize, Value)>),
}

/// Compares two keys without running script code; `None` when script code must decide.
pub fn fast_eq(a: &Value, b: &Value) -> Option<bool> {
    fast_eq_at(a, b, 0)
}

/// Nested tuples deeper than this are left to the VM's comparison, which counts against
/// the recursion limit (so a pathologically deep tuple neither overflows the Rust stack
/// nor makes every level re-walk the whole depth).
const FAST_EQ_MAX_DEPTH: u32 = 64;

fn fast_eq_at(a: &Value, b: &Value, depth: u32) -> Option<bool> {
    use Value::*;
    if a.is(b) {
        return Some(true);
    }
    Some(match (a, b) {
        (Str(x), Str(y)) => x.s == y.s,
        (Int(x), Int(y)) => x == y,
        (Int(x), Float(y)) | (Float(y), Int(x)) => (*x as f64) == *y && (*y as i128) == *x as i128,
        (Float(x), Float(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Bool(x), Int(y)) | (Int(y), Bool(x)) => *x as i64 == *y,
        (Bool(x), Float(y)) | (Float(y), Bool(x)) => (*x as i64 as f64) == *y,
        (BigInt(x), BigInt(y)) => x == y,
        (BigInt(_), Int(_) | Bool(_)) | (Int(_) | Bool(_), BigInt(_)) => false,
        (BigInt(x), Float(y)) | (Float(y), BigInt(x)) => {
            y.is_finite()
                && y.fract() == 0.0
                && <num_bigint::BigInt as num_traits::FromPrimitive>::from_f64(*y).as_ref() == Some(&**x)
        }
        (Bytes(x), Bytes(y)) => x == y,
        (None, None) => true,
        // Bound methods are equal when they bind the same function to the same object.
        (BoundMethod(x), BoundMethod(y)) => x.receiver.is(&y.receiver) && x.func.is(&y.func),
        (Native(x), Native(y)) => match (&x.receiver, &y.receiver) {
            (Some(p), Some(q)) => p.is(q) && x.name == y.name,
            _ => false,
        },
        (Tuple(x), Tuple(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            if depth >= FAST_EQ_MAX_DEPTH {
                return Option::None;
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !fast_eq_at(p, q, depth + 1)? {
                    return Some(false);
                }
            }
            true
        }
        (Instance(_), _) | (_, Instance(_)) | (FrozenSet(_), _) | (_, FrozenSet(_)) => return Option::None,
        // Containers compare element-wise, which may run script code.
        (List(_), List(_)) | (Dict(_), Dict(_)) | (Set(_), Set(_)) | (Range(_), Range(_)) | (Slice(_), Slice(_)) => {
            return Option::None
        }
        (ByteArray(_), ByteArray(_) | Bytes(_)) | (Bytes(_), ByteArray(_)) => return Option::None,
        (Other(_), _) | (_, Other(_)) => return Option::None,
        _ => false,
    })
}

impl Dict {
    /// An empty table.
    pub fn new() -> Dict {
        Dict::default()
    }
    /// An empty table with room for `n` entries.
    pub fn with_capacity(n: usize) -> Dict {
        Dict { entries: Vec::with_capacity(n), index: HashTable::with_capacity(n), live: 0 }
    }
    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.live
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
    /// Finds `key` (whose hash is `hash`) without running script code.
    pub fn lookup(&self, hash: i64, key: &Value) -> Lookup {
        let mut slow = Vec::new();
        for &pos in self.index.iter_hash(spread(hash)) {
            let e = &self.entries[pos as usize];
            if e.hash != hash {
                continue;
            }
            match fast_eq(&e.key, key) {
                Some(true) => return Lookup::Found(pos as usize),
                Some(false) => {}
                None => slow.push((pos as usize, e.key.clone())),
            }
        }
        if slow.is_empty() {
            Lookup::Absent
        } else {
            Lookup::Slow(slow)
        }
    }
    /// Finds a `str` or small `int` key (hash `hash`) when every candidate compares without
    /// script code: `Some(position or None)`; `None` sends the caller to [`Dict::lookup`].
    #[inline(always)]
    pub fn find_simple(&self, hash: i64, key: &Value) -> Option<Option<usize>> {
        for &pos in self.index.iter_hash(spread(hash)) {
            let e = &self.entries[pos as usize];
            if e.hash != hash {
                continue;
            }
            let same = match (&e.key, key) {
                (Value::Str(a), Value::Str(b)) => std::rc::Rc::ptr_eq(a, b) || a.s == b.s,
                (Value::Int(a), Value::Int(b)) => a == b,
                (Value::Str(_), Value::Int(_)) | (Value::Int(_), Value::Str(_)) => false,
                _ => return None,
            };
            if same {
                return Some(Some(pos as usize));
            }
        }
        Some(None)
    }
    /// The value of the entry at `pos` (which must be live).
    #[inline]
    pub fn value_at(&self, pos: usize) -> Option<&Value> {
        self.entries.get(pos).map(|e| &e.value)
    }
    /// The position of the entry whose key is the exact string `name` (hash `hash`), found
    /// without running script code: keys of other types never match (an instance's
    /// namespace, where scripts may store any key).
    pub fn find_str(&self, hash: i64, name: &str) -> Option<usize> {
        self.index.iter_hash(spread(hash)).map(|&p| p as usize).find(|&p| {
            let e = &self.entries[p];
            e.hash == hash && matches!(&e.key, Value::Str(s) if s.as_str() == name)
        })
    }
    /// The entry at `pos` if it is live.
    pub fn entry(&self, pos: usize) -> Option<&Entry> {
        self.entries.get(pos).filter(|e| !e.key.is_undef())
    }
    /// Replaces the value of the live entry at `pos`.
    pub fn set_value(&mut self, pos: usize, value: Value) {
        self.entries[pos].value = value;
    }
    /// Replaces the value of the live entry at `pos`, returning the old one (for the caller
    /// to drop once its borrow of the table has ended).
    pub fn replace_value(&mut self, pos: usize, value: Value) -> Value {
        std::mem::replace(&mut self.entries[pos].value, value)
    }
    /// Appends a new entry; the caller has checked that the key is absent.
    /// As [`Dict::insert_new`], but a refused allocation leaves the dict unchanged and
    /// fails (the caller raises `MemoryError`) instead of aborting.
    pub fn try_insert_new(&mut self, hash: i64, key: Value, value: Value) -> Result<(), super::mem::OutOfMemory> {
        if self.entries.len() == self.entries.capacity() {
            self.entries.try_reserve(1).map_err(|_| super::mem::OutOfMemory)?;
        }
        let entries = &self.entries;
        self.index.try_reserve(1, |&p| spread(entries[p as usize].hash)).map_err(|_| super::mem::OutOfMemory)?;
        self.insert_new(hash, key, value);
        Ok(())
    }
    /// Adds a key known to be absent (aborts if memory runs out: tables the VM builds).
    pub fn insert_new(&mut self, hash: i64, key: Value, value: Value) {
        let pos = self.entries.len() as u32;
        let entries = &self.entries;
        self.index.insert_unique(spread(hash), pos, |&p| spread(entries[p as usize].hash));
        self.entries.push(Entry { hash, key, value });
        self.live += 1;
    }
    /// Removes the live entry at `pos`, returning it.
    pub fn remove_at(&mut self, pos: usize) -> Entry {
        let hash = self.entries[pos].hash;
        if let Ok(slot) = self.index.find_entry(spread(hash), |&p| p as usize == pos) {
            slot.remove();
        }
        let e = std::mem::replace(&mut self.entries[pos], Entry { hash: 0, key: Value::Undef, value: Value::Undef });
        self.live -= 1;
        if self.entries.len() > 16 && self.live * 2 < self.entries.len() {
            self.compact();
        }
        e
    }
    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.live = 0;
    }
    fn compact(&mut self) {
        self.entries.retain(|e| !e.key.is_undef());
        self.index.clear();
        for (i, e) in self.entries.iter().enumerate() {
            let entries = &self.entries;
            self.index.insert_unique(spread(e.hash), i as u32, |&p| spread(entries[p as usize].hash));
        }
    }
    /// Live entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.key.is_undef())
    }
    /// Number of slots including tombstones (iteration positions run below this).
    pub fn slots(&self) -> usize {
        self.entries.len()
    }
    /// The live entry at or after slot `pos`, with its slot.
    pub fn next_from(&self, mut pos: usize) -> Option<(usize, &Entry)> {
        while pos < self.entries.len() {
            let e = &self.entries[pos];
            if !e.key.is_undef() {
                return Some((pos, e));
            }
            pos += 1;
        }
        None
    }
    /// The last live entry's slot.
    pub fn last_pos(&self) -> Option<usize> {
        self.entries.iter().rposition(|e| !e.key.is_undef())
    }
    /// The first live entry's slot.
    pub fn first_pos(&self) -> Option<usize> {
        self.entries.iter().position(|e| !e.key.is_undef())
    }
    /// Consumes the table, yielding every key and value (for freeing).
    pub fn into_values(self) -> impl Iterator<Item = Value> {
        self.entries.into_iter().flat_map(|e| [e.key, e.value])
    }
    /// The keys in order.
    pub fn keys(&self) -> Vec<Value> {
        self.iter().map(|e| e.key.clone()).collect()
    }
    /// The values in order.
    pub fn values(&self) -> Vec<Value> {
        self.iter().map(|e| e.value.clone()).collect()
    }
}

/// The table hash of a script-level hash. Python's hashes of small ints are the ints
/// themselves, whose top bits (hashbrown's 7-bit tag) are all zero, so every probe would
/// match every slot of a group: one multiply spreads the bits over the whole word.
#[inline(always)]
fn spread(hash: i64) -> u64 {
    (hash as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(26)
}
