//! The registry's entries: weak references to tracked objects. An object behind a thin
//! pointer (nearly all of them, tasks and futures included) has a 16-byte entry; tuples and
//! other native objects, behind fat pointers, have 24-byte entries kept in a vector of
//! their own, so that the usual entries do not pay for them (a pending task has two
//! entries: its future and its coroutine).

use crate::asyncio::future::FutureObj;
use crate::vm::gen::GenObj;
use crate::vm::other::NativeObject;
use crate::vm::value::{
    BoundMethod, Class, Descriptor, DictObj, Function, Instance, IterState, List, Module, NativeFunction, SetObj, Value,
};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// A registry entry for an object behind a thin pointer.
pub(super) enum Tracked {
    List(Weak<List>),
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
    /// An `asyncio` future or task (a native object, known by its type).
    Future(Weak<FutureObj>),
    /// A built-in method bound to an instance.
    BoundNative(Weak<NativeFunction>),
    /// A module (registered only at finalisation, see `finalize`).
    Module(Weak<Module>),
}

/// A registry entry for an object behind a fat pointer.
pub(super) enum FatTracked {
    Tuple(Weak<[Value]>),
    Native(Weak<dyn NativeObject>),
}

/// What the collector asks of an entry.
pub(super) trait Entry {
    /// The allocation's address (valid as an identity while the object is alive; a dead
    /// entry's address cannot be reused while its `Weak` exists).
    fn addr(&self) -> usize;
    /// The number of strong references to the object.
    fn strong_count(&self) -> usize;
    /// The object, if it is still alive (a set comes back as `Value::Set` even when it is
    /// a frozenset: only its identity and contents matter here).
    fn upgrade(&self) -> Option<Value>;
    /// True while the object is alive.
    #[inline]
    fn alive(&self) -> bool {
        self.strong_count() > 0
    }
}

fn p<T: ?Sized>(w: &Weak<T>) -> usize {
    w.as_ptr() as *const u8 as usize
}

impl Entry for Tracked {
    fn addr(&self) -> usize {
        match self {
            Tracked::List(w) => p(w),
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
            Tracked::Future(w) => p(w),
            Tracked::BoundNative(w) => p(w),
            Tracked::Module(w) => p(w),
        }
    }
    fn strong_count(&self) -> usize {
        match self {
            Tracked::List(w) => w.strong_count(),
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
            Tracked::Future(w) => w.strong_count(),
            Tracked::BoundNative(w) => w.strong_count(),
            Tracked::Module(w) => w.strong_count(),
        }
    }
    fn upgrade(&self) -> Option<Value> {
        Some(match self {
            Tracked::List(w) => Value::List(w.upgrade()?),
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
            Tracked::Future(w) => Value::Other(w.upgrade()?),
            Tracked::BoundNative(w) => Value::Native(w.upgrade()?),
            Tracked::Module(w) => Value::Module(w.upgrade()?),
        })
    }
}

impl Entry for FatTracked {
    fn addr(&self) -> usize {
        match self {
            FatTracked::Tuple(w) => p(w),
            FatTracked::Native(w) => p(w),
        }
    }
    fn strong_count(&self) -> usize {
        match self {
            FatTracked::Tuple(w) => w.strong_count(),
            FatTracked::Native(w) => w.strong_count(),
        }
    }
    fn upgrade(&self) -> Option<Value> {
        Some(match self {
            FatTracked::Tuple(w) => Value::Tuple(w.upgrade()?),
            FatTracked::Native(w) => Value::Other(w.upgrade()?),
        })
    }
}

/// An entry of either kind.
pub(super) enum AnyTracked {
    Thin(Tracked),
    Fat(FatTracked),
}

impl AnyTracked {
    /// The entry for a value of a tracked type.
    pub(super) fn of(v: &Value) -> Option<AnyTracked> {
        use AnyTracked::{Fat, Thin};
        Some(match v {
            Value::List(r) => Thin(Tracked::List(Rc::downgrade(r))),
            Value::Tuple(r) => Fat(FatTracked::Tuple(Rc::downgrade(r))),
            Value::Dict(r) => Thin(Tracked::Dict(Rc::downgrade(r))),
            Value::Set(r) | Value::FrozenSet(r) => Thin(Tracked::Set(Rc::downgrade(r))),
            Value::Function(r) => Thin(Tracked::Function(Rc::downgrade(r))),
            Value::BoundMethod(r) => Thin(Tracked::Bound(Rc::downgrade(r))),
            Value::Class(r) => Thin(Tracked::Class(Rc::downgrade(r))),
            Value::Instance(r) => Thin(Tracked::Instance(Rc::downgrade(r))),
            Value::Iter(r) => Thin(Tracked::Iter(Rc::downgrade(r))),
            Value::Descriptor(r) => Thin(Tracked::Descriptor(Rc::downgrade(r))),
            Value::Cell(r) => Thin(Tracked::Cell(Rc::downgrade(r))),
            Value::Gen(r) => Thin(Tracked::Gen(Rc::downgrade(r))),
            Value::Other(r) => Fat(FatTracked::Native(Rc::downgrade(r))),
            Value::Native(r) => Thin(Tracked::BoundNative(Rc::downgrade(r))),
            Value::Module(r) => Thin(Tracked::Module(Rc::downgrade(r))),
            _ => return None,
        })
    }
}

/// A list of entries (a generation, or the candidates of a collection): the thin ones,
/// then the fat ones. Index `i` names `thin[i]`, or `fat[i - thin.len()]`.
#[derive(Default)]
pub(super) struct Entries {
    pub(super) thin: Vec<Tracked>,
    pub(super) fat: Vec<FatTracked>,
}

impl Entries {
    /// No entries.
    pub(super) const fn new() -> Entries {
        Entries { thin: Vec::new(), fat: Vec::new() }
    }
    /// The entries of `values` (those of tracked types).
    pub(super) fn of_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Entries {
        let mut e = Entries::default();
        for v in values {
            e.push_value(v);
        }
        e
    }
    /// The number of entries.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.thin.len() + self.fat.len()
    }
    /// Adds an entry.
    pub(super) fn push(&mut self, t: AnyTracked) {
        match t {
            AnyTracked::Thin(t) => self.thin.push(t),
            AnyTracked::Fat(t) => self.fat.push(t),
        }
    }
    /// Adds the entry for `v`, if it is of a tracked type.
    pub(super) fn push_value(&mut self, v: &Value) {
        if let Some(t) = AnyTracked::of(v) {
            self.push(t);
        }
    }
    /// Drops the entries of dead objects.
    pub(super) fn retain_alive(&mut self) {
        self.thin.retain(Tracked::alive);
        self.fat.retain(FatTracked::alive);
    }
    /// The address of entry `i`.
    pub(super) fn addr(&self, i: usize) -> usize {
        match self.thin.get(i) {
            Some(t) => t.addr(),
            None => self.fat[i - self.thin.len()].addr(),
        }
    }
    /// Keeps the entries for which `keep` (given each entry's index) is true, in order.
    pub(super) fn retain_indexed(&mut self, mut keep: impl FnMut(usize, &dyn Entry) -> bool) {
        let mut i = 0;
        self.thin.retain(|t| {
            i += 1;
            keep(i - 1, t)
        });
        // `i` is now the thin entries' count before the retain: the fat ones' first index.
        self.fat.retain(|t| {
            i += 1;
            keep(i - 1, t)
        });
    }
    /// Moves `src`'s entries to the end of these, growing by a quarter rather than doubling
    /// (see [`append_tight`]).
    pub(super) fn append(&mut self, src: &mut Entries) {
        append_tight(&mut self.thin, &mut src.thin);
        append_tight(&mut self.fat, &mut src.fat);
    }
    /// Takes over the buffers of `spare` (emptied) while these are empty and smaller, so that
    /// a generation emptied by a collection does not grow from nothing again.
    pub(super) fn reuse(&mut self, spare: &mut Entries) {
        reuse(&mut self.thin, &mut spare.thin);
        reuse(&mut self.fat, &mut spare.fat);
    }
    /// Gives back room left by a shrinking generation.
    pub(super) fn shrink(&mut self) {
        if self.thin.capacity() > 2 * self.thin.len().max(1024) {
            self.thin.shrink_to_fit();
        }
        if self.fat.capacity() > 2 * self.fat.len().max(1024) {
            self.fat.shrink_to_fit();
        }
    }
}

/// Moves `src` to the end of `dst`, growing a large `dst` by a quarter rather than doubling
/// it: the old generation holds an entry per live object (two per pending task), so
/// doubling could leave up to half of a large registry unused at the program's peak.
fn append_tight<T>(dst: &mut Vec<T>, src: &mut Vec<T>) {
    if dst.is_empty() && dst.capacity() < src.len() {
        std::mem::swap(dst, src);
        return;
    }
    let need = dst.len() + src.len();
    if need > dst.capacity() {
        let grow = if dst.len() < TIGHT_FROM { dst.len() } else { dst.len() / 4 };
        dst.reserve_exact(src.len().max(grow));
    }
    dst.append(src);
}

/// The length from which [`append_tight`] grows a vector by a quarter (1 MiB of thin
/// entries).
const TIGHT_FROM: usize = 1 << 16;

/// The largest buffer [`Entries::reuse`] keeps (256 KiB of thin entries).
const REUSE_MAX: usize = 1 << 14;

/// Gives `dst` (empty) the buffer of `spare` (emptied) if that is larger, up to `REUSE_MAX`.
fn reuse<T>(dst: &mut Vec<T>, spare: &mut Vec<T>) {
    if dst.is_empty() && spare.is_empty() && spare.capacity() <= REUSE_MAX && spare.capacity() > dst.capacity() {
        std::mem::swap(dst, spare);
    }
}

/// Drops the entries of objects that died among the last `recent` of `v`.
#[inline]
pub(super) fn drop_recent_dead<T: Entry>(v: &mut Vec<T>, recent: usize) {
    let n = v.len();
    for i in (n.saturating_sub(recent)..n).rev() {
        if !v[i].alive() {
            v.swap_remove(i);
        }
    }
}

/// Drops up to `left` dead entries' worth of `v` from the cursor `at`, which moves on (back
/// to 0 at the end).
pub(super) fn sweep<T: Entry>(v: &mut Vec<T>, at: &mut usize, left: &mut usize) {
    let mut i = (*at).min(v.len());
    while *left > 0 && i < v.len() {
        if v[i].alive() {
            i += 1;
        } else {
            v.swap_remove(i);
        }
        *left -= 1;
    }
    *at = if i >= v.len() { 0 } else { i };
}

#[cfg(test)]
mod tests {
    /// A pending task's two entries (its future and its coroutine) take 32 bytes.
    #[test]
    fn thin_entries_are_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Tracked>(), 16);
    }
}
