//! The value representation: a 16-byte enum, immediates inline, everything else behind `Rc`.
//!
//! Layout decisions (see ARCHITECTURE.md): `None`, `bool`, small `int` and `float` never
//! allocate; each heap type has its own variant so dispatch is one `match`; mutable containers
//! use `RefCell`. Reference cycles are reclaimed by the cycle collector in `gc/`.

use super::dict::Dict;
use super::intern::Sym;
use crate::bytecode::Code;
use num_bigint::BigInt;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A script-visible value.
#[derive(Default)]
pub enum Value {
    /// Internal marker: an unbound local, an empty stack slot, "no self" in method calls.
    /// Never visible to scripts.
    #[default]
    Undef,
    /// `None`.
    None,
    /// `NotImplemented`.
    NotImplemented,
    /// `...`.
    Ellipsis,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in 64 bits.
    Int(i64),
    /// An `int` that does not fit in 64 bits (always normalised: never fits in i64).
    BigInt(Rc<BigInt>),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(Rc<Str>),
    /// A `bytes`.
    Bytes(Rc<[u8]>),
    /// A `bytearray`.
    ByteArray(Rc<RefCell<Vec<u8>>>),
    /// A `list`.
    List(Rc<List>),
    /// A `tuple`.
    Tuple(Rc<[Value]>),
    /// A `dict`.
    Dict(Rc<DictObj>),
    /// A `set`.
    Set(Rc<SetObj>),
    /// A `frozenset`.
    FrozenSet(Rc<SetObj>),
    /// A `range`.
    Range(Rc<RangeObj>),
    /// A `slice`.
    Slice(Rc<SliceObj>),
    /// A script function or lambda.
    Function(Rc<Function>),
    /// A function bound to `self`.
    BoundMethod(Rc<BoundMethod>),
    /// A built-in function or method descriptor.
    Native(Rc<NativeFunction>),
    /// A class (built-in types are classes too).
    Class(Rc<Class>),
    /// An instance of a script class (including exceptions).
    Instance(Rc<Instance>),
    /// A module.
    Module(Rc<Module>),
    /// An iterator over a built-in container.
    Iter(Rc<RefCell<IterState>>),
    /// `property`, `staticmethod`, `classmethod` and `super` objects.
    Descriptor(Rc<Descriptor>),
    /// A closure cell (internal; appears in `__closure__` only).
    Cell(Rc<RefCell<Value>>),
    /// A code object (a compiler constant).
    Code(Rc<Code>),
    /// A generator, coroutine or async generator.
    Gen(Rc<super::gen::GenObj>),
    /// Any other native object (loop handles, futures, files, ...).
    Other(Rc<dyn super::other::NativeObject>),
}

/// An immutable Unicode string with cached facts that make indexing cheap.
pub struct Str {
    /// The text.
    pub s: Box<str>,
    /// Number of code points.
    pub chars: usize,
    /// The hash once computed (0 means not yet).
    pub hash: Cell<i64>,
}

impl Str {
    /// Wraps a `String`.
    pub fn new(s: impl Into<Box<str>>) -> Str {
        let s: Box<str> = s.into();
        let chars = if s.is_ascii() { s.len() } else { s.chars().count() };
        Str { s, chars, hash: Cell::new(0) }
    }
    /// Wraps text whose code-point count the caller knows (a concatenation of `Str`s), so
    /// the text is not scanned again.
    pub fn with_chars(s: String, chars: usize) -> Str {
        debug_assert_eq!(chars, s.chars().count());
        Str { s: s.into_boxed_str(), chars, hash: Cell::new(0) }
    }
    /// True when every character is ASCII, so byte and char indices agree.
    pub fn is_ascii(&self) -> bool {
        self.chars == self.s.len()
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.s
    }
}

/// A `list`: a growable vector behind a `RefCell`.
pub struct List {
    /// The elements.
    pub items: RefCell<Vec<Value>>,
}

/// A `dict`.
pub struct DictObj {
    /// The table.
    pub d: RefCell<Dict>,
}

impl DictObj {
    /// A new dict object, registered with the cycle collector.
    #[inline]
    pub fn new_rc(d: Dict) -> Rc<DictObj> {
        let r = Rc::new(DictObj { d: RefCell::new(d) });
        super::gc::track_dict(&r);
        r
    }
}

/// A new closure cell holding `v`, registered with the cycle collector.
#[inline]
pub fn new_cell(v: Value) -> Rc<RefCell<Value>> {
    let c = Rc::new(RefCell::new(v));
    super::gc::track_cell(&c);
    c
}

/// A `set` or `frozenset`.
pub struct SetObj {
    /// The table, laid out as CPython's so iteration order matches.
    pub d: RefCell<super::set_table::SetTable>,
    /// A frozenset's hash once computed (-1: not yet), as CPython caches it: nested
    /// frozensets would otherwise rehash their whole depth at every level.
    pub hash: std::cell::Cell<i64>,
}

impl SetObj {
    /// A set object around a table.
    pub fn new(t: super::set_table::SetTable) -> SetObj {
        SetObj { d: RefCell::new(t), hash: std::cell::Cell::new(-1) }
    }
}

/// A `range(start, stop, step)`.
pub struct RangeObj {
    /// First value.
    pub start: i64,
    /// Exclusive bound.
    pub stop: i64,
    /// Step, never zero.
    pub step: i64,
    /// For ranges whose bounds or length do not fit in 64 bits: the exact bounds
    /// (then the `i64` fields are unused).
    pub big: Option<Box<[BigInt; 3]>>,
}

impl RangeObj {
    /// A range of 64-bit bounds.
    pub fn new(start: i64, stop: i64, step: i64) -> RangeObj {
        let r = RangeObj { start, stop, step, big: None };
        if (r.len() as i128) * (step as i128).abs() > i64::MAX as i128 / 2 {
            return RangeObj {
                big: Some(Box::new([BigInt::from(start), BigInt::from(stop), BigInt::from(step)])),
                ..r
            };
        }
        r
    }
    /// A range of arbitrary bounds (normalised to 64 bits when they fit).
    pub fn from_big(start: BigInt, stop: BigInt, step: BigInt) -> RangeObj {
        use num_traits::ToPrimitive;
        if let (Some(a), Some(b), Some(c)) = (start.to_i64(), stop.to_i64(), step.to_i64()) {
            if a.checked_sub(b).is_some() && b.checked_sub(a).is_some() && c.checked_abs().is_some() {
                return RangeObj::new(a, b, c);
            }
        }
        RangeObj { start: 0, stop: 0, step: 1, big: Some(Box::new([start, stop, step])) }
    }
    /// `(start, stop, step)` exactly.
    pub fn parts(&self) -> (BigInt, BigInt, BigInt) {
        match &self.big {
            Some(b) => (b[0].clone(), b[1].clone(), b[2].clone()),
            None => (BigInt::from(self.start), BigInt::from(self.stop), BigInt::from(self.step)),
        }
    }
    /// The exact length.
    pub fn big_len(&self) -> BigInt {
        use num_integer::Integer;
        use num_traits::{Signed, Zero};
        let (a, b, c) = self.parts();
        let (lo, hi, st) = if c.is_positive() { (a, b, c) } else { (b, a, -c) };
        if hi <= lo {
            return BigInt::zero();
        }
        let span: BigInt = hi - lo - 1;
        span.div_floor(&st) + 1
    }
    /// The `i`-th value (0-based, non-negative `i` below the length).
    pub fn big_item(&self, i: &BigInt) -> BigInt {
        let (a, _, c) = self.parts();
        a + c * i
    }
    /// True when `v` is one of the values.
    pub fn contains_big(&self, v: &BigInt) -> bool {
        use num_integer::Integer;
        use num_traits::{Signed, Zero};
        let (a, b, c) = self.parts();
        let inside = if c.is_positive() { *v >= a && *v < b } else { *v <= a && *v > b };
        inside && (v - &a).mod_floor(&c).is_zero()
    }
    /// The number of values in the range (saturating for big ranges; see `big_len`).
    pub fn len(&self) -> i64 {
        if self.big.is_some() {
            use num_traits::ToPrimitive;
            return self.big_len().to_i64().unwrap_or(i64::MAX);
        }
        if self.step > 0 {
            if self.stop > self.start {
                ((self.stop as i128 - self.start as i128 - 1) / self.step as i128 + 1) as i64
            } else {
                0
            }
        } else if self.start > self.stop {
            ((self.start as i128 - self.stop as i128 - 1) / (-(self.step as i128)) + 1) as i64
        } else {
            0
        }
    }
    /// True when the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A `slice(start, stop, step)`.
pub struct SliceObj {
    /// Start or `None`.
    pub start: Value,
    /// Stop or `None`.
    pub stop: Value,
    /// Step or `None`.
    pub step: Value,
}

/// A script function: code plus the environment it closes over.
pub struct Function {
    /// The compiled body.
    pub code: Rc<Code>,
    /// The module whose globals it sees.
    pub globals: Rc<Module>,
    /// Default values of the trailing positional parameters.
    pub defaults: Vec<Value>,
    /// Default values of keyword-only parameters.
    pub kwdefaults: Vec<(Sym, Value)>,
    /// Cells for the free variables, in `code.freevars` order.
    pub closure: Vec<Rc<RefCell<Value>>>,
    /// `__name__` (settable).
    pub name: RefCell<Rc<str>>,
    /// `__qualname__`.
    pub qualname: RefCell<Rc<str>>,
    /// `__doc__`.
    pub doc: Value,
    /// `__dict__`, made on first use: attributes set on the function (`f.calls = 0`).
    pub dict: RefCell<Option<Rc<DictObj>>>,
    /// `__annotations__`: set by the `def` that annotates its parameters or result, else
    /// made empty on first use.
    pub annotations: RefCell<Option<Rc<DictObj>>>,
}

impl Function {
    /// True when a frame running this function has cells: cell variables or a closure.
    #[inline(always)]
    pub fn needs_cells(&self) -> bool {
        !(self.code.cellvars.is_empty() && self.closure.is_empty())
    }

    /// `__dict__`, made empty on first use.
    pub fn namespace_dict(&self) -> Rc<DictObj> {
        if let Some(d) = &*self.dict.borrow() {
            return d.clone();
        }
        let d = DictObj::new_rc(Dict::new());
        *self.dict.borrow_mut() = Some(d.clone());
        d
    }
    /// `__annotations__`, made empty on first use.
    pub fn annotations_dict(&self) -> Rc<DictObj> {
        if let Some(d) = &*self.annotations.borrow() {
            return d.clone();
        }
        let d = DictObj::new_rc(Dict::new());
        *self.annotations.borrow_mut() = Some(d.clone());
        d
    }
    /// The attribute `name` set on the function.
    pub fn get_attr(&self, name: Sym) -> Option<Value> {
        let d = self.dict.borrow().clone()?;
        ns_get(&d, name)
    }
}

/// A function bound to its first argument.
pub struct BoundMethod {
    /// The receiver.
    pub receiver: Value,
    /// The function (script or native).
    pub func: Value,
}

/// The one signature of every native function.
pub type NativeFn = fn(&mut super::Vm, &mut Args) -> super::Res<Value>;

/// The second entry of a hot built-in, for positional calls from the dispatch loop: its
/// `n` arguments (self first for methods) are `vm.stack[at..at + n]`, left in place for
/// the call (the caller pops them afterwards), so nothing is moved or allocated. It must
/// behave exactly as the [`NativeFn`] beside it.
pub type FastNativeFn = fn(&mut super::Vm, usize, usize) -> super::Res<Value>;

/// Arguments of a native call: positional values (self first for methods) and keywords.
#[derive(Default)]
pub struct Args {
    /// Positional arguments.
    pub pos: smallvec::SmallVec<[Value; 4]>,
    /// Keyword arguments in call order.
    pub kw: Vec<(Sym, Value)>,
}

/// A built-in function, or a built-in method (unbound, or bound to `receiver`).
pub struct NativeFunction {
    /// `__name__`.
    pub name: &'static str,
    /// The implementation.
    pub func: NativeFn,
    /// For a bound built-in method, the receiver passed as the first argument.
    pub receiver: Option<Value>,
    /// For a method, the class it belongs to (for `repr` and type checks).
    pub owner: Option<&'static str>,
    /// The allocation-free entry used for positional calls, where the built-in has one.
    pub fast: Option<FastNativeFn>,
}

/// The built-in layout an instance of a class has (inherited from its built-in base).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A plain script object (instances are [`Instance`]).
    Object,
    /// A built-in type whose values have their own `Value` variant (int, str, list, ...).
    Builtin,
    /// An exception (instances are [`Instance`] with `args`).
    Exception,
}

/// A class object.
pub struct Class {
    /// `__name__`.
    pub name: Rc<str>,
    /// `__qualname__`.
    pub qualname: RefCell<Rc<str>>,
    /// Direct bases in order.
    pub bases: Vec<Rc<Class>>,
    /// The method resolution order *excluding* the class itself (C3).
    pub mro: Vec<Rc<Class>>,
    /// The class namespace.
    pub dict: RefCell<rustc_hash::FxHashMap<Sym, Value>>,
    /// How instances are laid out.
    pub layout: Layout,
    /// For built-in types, which one.
    pub builtin: Option<super::types::TypeId>,
    /// Bumped on every change to this class's dict or a base's; caches compare it.
    pub version: Cell<u32>,
    /// Cached attribute lookups.
    pub cache: ClassCache,
    /// CPython's `tp_name` where it differs from `__name__`: a built-in type of another
    /// module names itself `module.name` in messages (`'types.GenericAlias' object ...`).
    pub tp_name: std::cell::OnceCell<Rc<str>>,
}

thread_local! {
    static CLASS_EPOCH: Cell<u64> = const { Cell::new(1) };
}

/// The class epoch: changes whenever any class namespace changes or a class is created.
#[inline(always)]
pub fn class_epoch() -> u64 {
    CLASS_EPOCH.with(|e| e.get())
}

/// Invalidates every cached class attribute lookup (call after changing any class
/// namespace, and after creating a class).
pub fn bump_class_epoch() {
    CLASS_EPOCH.with(|e| e.set(e.get() + 1));
}

const CACHE_SIZE: usize = 64;

/// The first of the two cache slots (a 2-way set) for a name: Fibonacci hashing spreads
/// symbol numbers so that names interned close together do not collide.
#[inline(always)]
fn cache_set(name: Sym) -> usize {
    ((name.0.wrapping_mul(0x9E37_79B1) >> 27) as usize) * 2
}

#[derive(Clone, Default)]
struct CacheEntry {
    name: u32,
    epoch: u64,
    value: Option<Value>,
}

/// A small direct-mapped cache of a class's attribute lookups (hits and misses), valid
/// while the global class epoch is unchanged.
#[derive(Default)]
pub struct ClassCache {
    entries: RefCell<Vec<CacheEntry>>,
    /// What instantiating the class runs in place (see `Vm::plain_init`), with the class
    /// epoch it was computed at (0: never). Weak: the cache must not keep functions alive.
    plain_init: RefCell<(u64, Option<std::rc::Weak<Function>>)>,
}

impl ClassCache {
    /// Runs `f` on every cached value (for the cycle collector); false when the cache is
    /// being updated.
    pub fn for_each_value(&self, mut f: impl FnMut(&Value)) -> bool {
        match self.entries.try_borrow() {
            Ok(entries) => {
                entries.iter().filter_map(|e| e.value.as_ref()).for_each(&mut f);
                true
            }
            Err(_) => false,
        }
    }
    /// The cached answer of `Vm::plain_init`: `None` when stale, else the script
    /// `__init__` (or `Some(None)`: instantiation takes the general path).
    #[inline]
    pub fn plain_init(&self) -> Option<Option<Rc<Function>>> {
        let c = self.plain_init.borrow();
        if c.0 != CLASS_EPOCH.with(|e| e.get()) {
            return None;
        }
        match &c.1 {
            None => Some(None),
            Some(w) => w.upgrade().map(Some),
        }
    }
    /// Records the answer of `Vm::plain_init` for the current class epoch.
    pub fn set_plain_init(&self, f: Option<&Rc<Function>>) {
        *self.plain_init.borrow_mut() = (CLASS_EPOCH.with(|e| e.get()), f.map(Rc::downgrade));
    }
    /// Drops every cached value.
    pub fn clear(&self) {
        let old = self.entries.try_borrow_mut().map(|mut e| std::mem::take(&mut *e));
        drop(old);
    }
}

impl Class {
    /// The name messages give the type (CPython's `tp_name`): `__name__`, or the
    /// module-qualified name of a built-in type of another module.
    #[inline]
    pub fn tp_name(&self) -> &Rc<str> {
        self.tp_name.get().unwrap_or(&self.name)
    }

    /// Looks `name` up in the class and its MRO (through the class's lookup cache).
    #[inline]
    pub fn lookup(&self, name: Sym) -> Option<Value> {
        self.with_lookup(name, |v| v.cloned())
    }

    /// Runs `f` on the looked-up attribute without cloning it (through the cache).
    #[inline]
    pub fn with_lookup<R>(&self, name: Sym, f: impl FnOnce(Option<&Value>) -> R) -> R {
        let epoch = CLASS_EPOCH.with(|e| e.get());
        let i = cache_set(name);
        {
            let entries = self.cache.entries.borrow();
            if entries.len() == CACHE_SIZE {
                for e in &entries[i..i + 2] {
                    if e.name == name.0 && e.epoch == epoch {
                        return f(e.value.as_ref());
                    }
                }
            }
        }
        let v = self.lookup_uncached(name);
        let r = f(v.as_ref());
        let mut entries = self.cache.entries.borrow_mut();
        if entries.is_empty() {
            entries.resize(CACHE_SIZE, CacheEntry::default());
        }
        // Replace a stale entry if there is one, else move the first entry to the second slot.
        let slot = if entries[i].epoch != epoch {
            i
        } else if entries[i + 1].epoch != epoch {
            i + 1
        } else {
            let first = std::mem::take(&mut entries[i]);
            entries[i + 1] = first;
            i
        };
        entries[slot] = CacheEntry { name: name.0, epoch, value: v };
        r
    }

    /// True when the class attribute `name` could take over instance attribute access
    /// (a property, or a script object that may define `__get__`/`__set__`).
    #[inline]
    pub fn may_have_descriptor(&self, name: Sym) -> bool {
        self.with_lookup(name, |v| {
            matches!(v, Some(Value::Descriptor(d)) if matches!(**d, Descriptor::Property { .. }))
                || matches!(v, Some(Value::Instance(_)))
        })
    }

    /// Looks `name` up by walking the MRO.
    pub fn lookup_uncached(&self, name: Sym) -> Option<Value> {
        if let Some(v) = self.dict.borrow().get(&name) {
            return Some(v.clone());
        }
        for c in &self.mro {
            if let Some(v) = c.dict.borrow().get(&name) {
                return Some(v.clone());
            }
        }
        None
    }
    /// True when `self` is `other` or derives from it.
    pub fn is_subclass(&self, other: &Class) -> bool {
        std::ptr::eq(self, other) || self.mro.iter().any(|c| std::ptr::eq(&**c, other))
    }
}

/// An instance of a script class: its class and its attributes.
///
/// The attributes live in `attrs`, a small vector the inline caches index directly, until a
/// script asks for `__dict__` (or `vars()`): then they move into a dict object, the live
/// namespace the script sees and may change through the dict's own methods, and for the
/// rest of the instance's life `attrs` holds just that dict, as the one entry
/// `(Sym::NAMESPACE, Value::Dict(..))` (a name no cached site uses, so every inline cache
/// misses; the collector and the memory walk see the dict as an ordinary reference).
pub struct Instance {
    /// `__class__`.
    pub class: Rc<Class>,
    /// Instance attributes in insertion order, or the namespace entry (see above).
    pub attrs: RefCell<Attrs>,
}

/// An instance's attribute vector: the first few attributes (most classes set two to four
/// in `__init__`) live inside the instance, so creating one is a single allocation.
pub type Attrs = smallvec::SmallVec<[(Sym, Value); 4]>;

/// True when an instance's attribute vector is the namespace entry of a `__dict__`.
#[inline(always)]
pub fn is_namespace(attrs: &[(Sym, Value)]) -> bool {
    matches!(attrs.first(), Some((k, _)) if *k == Sym::NAMESPACE)
}

impl Instance {
    /// A new instance, registered with the cycle collector.
    #[inline]
    pub fn new_rc(class: Rc<Class>, attrs: Attrs) -> Rc<Instance> {
        let r = Rc::new(Instance { class, attrs: RefCell::new(attrs) });
        super::gc::track_instance(&r);
        r
    }
    /// A new instance with no attributes yet, registered with the cycle collector.
    #[inline]
    pub fn new_empty_rc(class: Rc<Class>) -> Rc<Instance> {
        let r = Rc::new(Instance { class, attrs: RefCell::new(Attrs::new()) });
        super::gc::track_instance(&r);
        r
    }
    /// The namespace dict, when the instance has switched to one.
    #[inline]
    pub fn namespace(&self) -> Option<Rc<DictObj>> {
        match &self.attrs.borrow()[..] {
            [(k, Value::Dict(d))] if *k == Sym::NAMESPACE => Some(d.clone()),
            _ => None,
        }
    }
    /// `__dict__`: the namespace dict, moving the attributes into it on first use.
    pub fn namespace_dict(&self) -> Rc<DictObj> {
        if let Some(d) = self.namespace() {
            return d;
        }
        let attrs = std::mem::take(&mut *self.attrs.borrow_mut());
        let mut d = Dict::with_capacity(attrs.len());
        for (k, v) in attrs {
            let key = k.with_str(Value::str);
            d.insert_new(k.with_str(crate::text::int_math::hash_str), key, v);
        }
        let d = DictObj::new_rc(d);
        self.attrs.borrow_mut().push((Sym::NAMESPACE, Value::Dict(d.clone())));
        d
    }
    /// `obj.__dict__ = d`: `d` becomes the namespace.
    pub fn set_namespace(&self, d: Rc<DictObj>) {
        let old =
            std::mem::replace(&mut *self.attrs.borrow_mut(), smallvec::smallvec![(Sym::NAMESPACE, Value::Dict(d))]);
        drop(old);
    }
    /// The attribute names in order, as `str` values, or in a namespace dict its keys
    /// (which a script may have made anything hashable).
    pub fn attr_keys(&self) -> Vec<Value> {
        match self.namespace() {
            Some(d) => d.d.borrow().keys(),
            None => self.attrs.borrow().iter().map(|(k, _)| k.with_str(Value::str)).collect(),
        }
    }
    /// Reads an instance attribute.
    pub fn get_attr(&self, name: Sym) -> Option<Value> {
        let attrs = self.attrs.borrow();
        if is_namespace(&attrs) {
            let Value::Dict(d) = &attrs[0].1 else { return None };
            // `__dict__` is the namespace itself, whatever keys the script put in it.
            if name == Sym::DICT {
                return Some(Value::Dict(d.clone()));
            }
            return ns_get(d, name);
        }
        attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }
    /// Writes an instance attribute.
    pub fn set_attr(&self, name: Sym, value: Value) {
        // `setattr(obj, <the namespace entry's name>, v)` goes into the namespace dict.
        if name == Sym::NAMESPACE {
            return ns_set(&self.namespace_dict(), name, value);
        }
        let mut attrs = self.attrs.borrow_mut();
        if is_namespace(&attrs) {
            let Value::Dict(d) = attrs[0].1.clone() else { return };
            drop(attrs);
            return ns_set(&d, name, value);
        }
        if let Some(slot) = attrs.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value;
        } else {
            attrs.push((name, value));
        }
    }
    /// Deletes an instance attribute; false when it was absent.
    pub fn del_attr(&self, name: Sym) -> bool {
        let mut attrs = self.attrs.borrow_mut();
        if is_namespace(&attrs) {
            let Value::Dict(d) = attrs[0].1.clone() else { return false };
            drop(attrs);
            return ns_del(&d, name);
        }
        match attrs.iter().position(|(k, _)| *k == name) {
            Some(i) => {
                attrs.remove(i);
                true
            }
            None => false,
        }
    }
}

/// The value under the string key `name` in a namespace dict (other keys never match).
pub fn ns_get(d: &DictObj, name: Sym) -> Option<Value> {
    let t = d.d.borrow();
    let pos = name.with_str(|s| t.find_str(crate::text::int_math::hash_str(s), s))?;
    t.entry(pos).map(|e| e.value.clone())
}

/// Sets the string key `name` of a namespace dict.
pub fn ns_set(d: &DictObj, name: Sym, value: Value) {
    let old = name.with_str(|s| {
        let h = crate::text::int_math::hash_str(s);
        let mut t = d.d.borrow_mut();
        match t.find_str(h, s) {
            Some(pos) => {
                let old = t.entry(pos).map(|e| e.value.clone());
                t.set_value(pos, value);
                old
            }
            None => {
                t.insert_new(h, Value::str(s), value);
                None
            }
        }
    });
    // The old value drops with no borrow held.
    drop(old);
}

/// Removes the string key `name` from a namespace dict; false when absent.
pub fn ns_del(d: &DictObj, name: Sym) -> bool {
    let removed = name.with_str(|s| {
        let mut t = d.d.borrow_mut();
        let pos = t.find_str(crate::text::int_math::hash_str(s), s)?;
        Some(t.remove_at(pos))
    });
    removed.is_some()
}

/// A module: a name and a namespace.
pub struct Module {
    /// `__name__`.
    pub name: Rc<str>,
    /// The globals.
    pub dict: RefCell<rustc_hash::FxHashMap<Sym, Value>>,
    /// The source file, for tracebacks.
    pub file: Rc<str>,
    /// Bumped on every write or delete of a global (validates `LoadGlobal` caches).
    pub version: Cell<u64>,
}

impl Module {
    /// A module with an empty namespace except `__name__`.
    pub fn new(name: &str, file: &str) -> Module {
        let m = Module { name: Rc::from(name), dict: RefCell::default(), file: Rc::from(file), version: Cell::new(0) };
        m.dict.borrow_mut().insert(Sym::new("__name__"), Value::str(name));
        m
    }
    /// Reads a global.
    pub fn get(&self, name: Sym) -> Option<Value> {
        self.dict.borrow().get(&name).cloned()
    }
    /// Writes a global.
    pub fn set(&self, name: Sym, v: Value) {
        self.dict.borrow_mut().insert(name, v);
        self.version.set(self.version.get() + 1);
    }
    /// Deletes a global, returning its value.
    pub fn remove(&self, name: Sym) -> Option<Value> {
        self.version.set(self.version.get() + 1);
        self.dict.borrow_mut().remove(&name)
    }
}

/// `property`, `staticmethod`, `classmethod` and `super`.
pub enum Descriptor {
    /// `property(fget, fset, fdel)`.
    Property { fget: Value, fset: Value, fdel: Value, doc: Value },
    /// `staticmethod(f)`.
    StaticMethod(Value),
    /// `classmethod(f)`.
    ClassMethod(Value),
    /// `super(cls, obj)`: lookups start after `cls` in `type(obj)`'s MRO.
    Super { cls: Rc<Class>, obj: Value },
}

/// The state of an iterator over a built-in container.
pub enum IterState {
    /// Over a range: next value, bound, step.
    Range { next: i64, stop: i64, step: i64 },
    /// Over a range with bounds beyond 64 bits.
    BigRange { next: BigInt, stop: BigInt, step: BigInt },
    /// Over a list by index (sees appends, like CPython).
    List { list: Rc<List>, index: usize },
    /// Over a tuple.
    Tuple { items: Rc<[Value]>, index: usize },
    /// Over the characters of a string (byte offset).
    Str { s: Rc<Str>, pos: usize },
    /// Over bytes.
    Bytes { b: Rc<[u8]>, index: usize },
    /// Over a snapshot of dict keys, values or items (`kind`: 0 keys, 1 values, 2 items).
    DictView { dict: Rc<DictObj>, index: usize, kind: u8, len: usize },
    /// Over a snapshot of a set.
    Set { items: Vec<Value>, index: usize },
    /// Over an explicit vector (reversed, sorted snapshots, ...).
    Vec { items: Vec<Value>, index: usize },
    /// Reversed list.
    ListRev { list: Rc<List>, index: usize },
    /// `enumerate(it, start)`.
    Enumerate { inner: Value, count: i64 },
    /// `zip(*its)`.
    Zip { inners: Vec<Value>, strict: bool },
    /// `map(f, *its)`.
    Map { func: Value, inners: Vec<Value> },
    /// `filter(f, it)`.
    Filter { func: Value, inner: Value },
    /// `iter(callable, sentinel)`.
    Callable { func: Value, sentinel: Value },
    /// `iter(obj)` where `obj` only has `__getitem__`.
    SeqIter { obj: Value, index: i64 },
    /// An exhausted iterator, which keeps the type it had (`type(it)` does not change
    /// when it runs out).
    Done(super::types::TypeId),
}

impl IterState {
    /// The built-in type of an iterator in this state.
    pub fn type_id(&self) -> super::types::TypeId {
        use super::types::TypeId;
        match self {
            IterState::Range { .. } | IterState::BigRange { .. } => TypeId::RangeIterator,
            IterState::List { .. } => TypeId::ListIterator,
            IterState::ListRev { .. } => TypeId::ListReverseIterator,
            IterState::Tuple { .. } => TypeId::TupleIterator,
            IterState::Str { .. } => TypeId::StrIterator,
            IterState::Bytes { .. } => TypeId::BytesIterator,
            IterState::DictView { kind: 0, .. } => TypeId::DictKeyIterator,
            IterState::DictView { kind: 1, .. } => TypeId::DictValueIterator,
            IterState::DictView { .. } => TypeId::DictItemIterator,
            IterState::Set { .. } => TypeId::SetIterator,
            IterState::Vec { .. } => TypeId::Reversed,
            IterState::Enumerate { .. } => TypeId::Enumerate,
            IterState::Zip { .. } => TypeId::Zip,
            IterState::Map { .. } => TypeId::Map,
            IterState::Filter { .. } => TypeId::Filter,
            IterState::Callable { .. } => TypeId::CallableIterator,
            IterState::SeqIter { .. } => TypeId::SeqIterator,
            IterState::Done(t) => *t,
        }
    }

    /// Marks the iterator exhausted, dropping what it iterated over but not its type.
    pub fn exhaust(&mut self) {
        *self = IterState::Done(self.type_id());
    }
}

impl Clone for Value {
    /// Immediates are copied inline; heap values bump a reference count out of line.
    #[inline(always)]
    fn clone(&self) -> Value {
        match self {
            Value::Int(i) => Value::Int(*i),
            Value::None => Value::None,
            Value::Bool(b) => Value::Bool(*b),
            Value::Float(f) => Value::Float(*f),
            Value::Undef => Value::Undef,
            _ => self.clone_heap(),
        }
    }
}

impl Value {
    #[inline(never)]
    fn clone_heap(&self) -> Value {
        use Value::*;
        match self {
            Undef => Undef,
            None => None,
            NotImplemented => NotImplemented,
            Ellipsis => Ellipsis,
            Bool(b) => Bool(*b),
            Int(i) => Int(*i),
            BigInt(r) => BigInt(r.clone()),
            Float(f) => Float(*f),
            Str(r) => Str(r.clone()),
            Bytes(r) => Bytes(r.clone()),
            ByteArray(r) => ByteArray(r.clone()),
            List(r) => List(r.clone()),
            Tuple(r) => Tuple(r.clone()),
            Dict(r) => Dict(r.clone()),
            Set(r) => Set(r.clone()),
            FrozenSet(r) => FrozenSet(r.clone()),
            Range(r) => Range(r.clone()),
            Slice(r) => Slice(r.clone()),
            Function(r) => Function(r.clone()),
            BoundMethod(r) => BoundMethod(r.clone()),
            Native(r) => Native(r.clone()),
            Class(r) => Class(r.clone()),
            Instance(r) => Instance(r.clone()),
            Module(r) => Module(r.clone()),
            Iter(r) => Iter(r.clone()),
            Descriptor(r) => Descriptor(r.clone()),
            Cell(r) => Cell(r.clone()),
            Code(r) => Code(r.clone()),
            Gen(r) => Gen(r.clone()),
            Other(r) => Other(r.clone()),
        }
    }

    /// True for values with no heap part (dropping them is a no-op).
    #[inline(always)]
    pub fn is_immediate(&self) -> bool {
        matches!(self, Value::Int(_) | Value::None | Value::Bool(_) | Value::Float(_) | Value::Undef)
    }

    /// A `str` value.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::new(Str::new(s)))
    }
    /// The `str` of an `int` (`str(i)`, `f"{i}"`): ASCII digits, so the text is not scanned.
    #[inline(never)]
    pub fn int_str(i: i64) -> Value {
        let s = crate::text::int_math::i64_string(i);
        let chars = s.len();
        Value::Str(Rc::new(Str::with_chars(s, chars)))
    }
    /// A `str` value from an owned string.
    pub fn string(s: String) -> Value {
        Value::Str(Rc::new(Str::new(s)))
    }
    /// A `list` value.
    #[inline]
    pub fn list(items: Vec<Value>) -> Value {
        let v = Value::List(Rc::new(List { items: RefCell::new(items) }));
        super::gc::track(&v);
        v
    }
    /// A `tuple` value.
    #[inline]
    pub fn tuple(items: Vec<Value>) -> Value {
        let v = Value::Tuple(Rc::from(items));
        super::gc::track(&v);
        v
    }
    /// A `dict` value.
    #[inline]
    pub fn dict(d: Dict) -> Value {
        Value::Dict(DictObj::new_rc(d))
    }
    /// A `set` value.
    pub fn set(t: super::set_table::SetTable) -> Value {
        let v = Value::Set(Rc::new(SetObj::new(t)));
        super::gc::track(&v);
        v
    }
    /// A `frozenset` value.
    pub fn frozenset(t: super::set_table::SetTable) -> Value {
        let v = Value::FrozenSet(Rc::new(SetObj::new(t)));
        super::gc::track(&v);
        v
    }
    /// An iterator value (registered with the cycle collector when it holds references).
    #[inline]
    pub fn iter(st: IterState) -> Value {
        let atomic = matches!(
            st,
            IterState::Range { .. }
                | IterState::BigRange { .. }
                | IterState::Str { .. }
                | IterState::Bytes { .. }
                | IterState::Done(_)
        );
        let v = Value::Iter(Rc::new(RefCell::new(st)));
        if !atomic {
            super::gc::track(&v);
        }
        v
    }
    /// An instance of a script class with the given attributes.
    #[inline]
    pub fn instance(class: Rc<Class>, attrs: Attrs) -> Value {
        Value::Instance(Instance::new_rc(class, attrs))
    }
    /// A `property`, `staticmethod`, `classmethod` or `super` object.
    pub fn descriptor(d: Descriptor) -> Value {
        let v = Value::Descriptor(Rc::new(d));
        super::gc::track(&v);
        v
    }
    /// A function bound to `receiver`.
    #[inline]
    pub fn bound_method(receiver: Value, func: Value) -> Value {
        let v = Value::BoundMethod(Rc::new(BoundMethod { receiver, func }));
        super::gc::track(&v);
        v
    }
    /// `int(x)` for a float (truncated), with CPython's errors: `ValueError` for NaN,
    /// `OverflowError` for an infinity.
    pub fn int_of_float(x: f64) -> super::Res<BigInt> {
        crate::text::int_math::float_to_bigint(x).ok_or_else(|| {
            if x.is_nan() {
                super::Exc::value_error("cannot convert float NaN to integer")
            } else {
                super::Exc::overflow("cannot convert float infinity to integer")
            }
        })
    }
    /// An `int` from a bigint, normalised to `Int` when it fits.
    pub fn from_bigint(b: BigInt) -> Value {
        use num_traits::ToPrimitive;
        match b.to_i64() {
            Some(i) => Value::Int(i),
            None => Value::BigInt(Rc::new(b)),
        }
    }
    /// Drops a value, inline when it holds no reference (the common int, float, bool,
    /// `None`), so hot paths skip the out-of-line drop glue for immediates.
    #[inline(always)]
    pub fn discard(self) {
        match self {
            Value::Int(_) | Value::None | Value::Bool(_) | Value::Float(_) | Value::Undef => std::mem::forget(self),
            v => drop(v),
        }
    }
    /// True for the internal `Undef` marker.
    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undef)
    }
    /// True for `None`.
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }
    /// Identity comparison (`is`).
    pub fn is(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Undef, Undef) | (None, None) | (NotImplemented, NotImplemented) | (Ellipsis, Ellipsis) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (BigInt(a), BigInt(b)) => Rc::ptr_eq(a, b),
            (Str(a), Str(b)) => Rc::ptr_eq(a, b) || (a.s.is_empty() && b.s.is_empty()),
            (Bytes(a), Bytes(b)) => Rc::ptr_eq(a, b),
            (ByteArray(a), ByteArray(b)) => Rc::ptr_eq(a, b),
            (List(a), List(b)) => Rc::ptr_eq(a, b),
            (Tuple(a), Tuple(b)) => Rc::ptr_eq(a, b) || (a.is_empty() && b.is_empty()),
            (Dict(a), Dict(b)) => Rc::ptr_eq(a, b),
            (Set(a), Set(b)) | (FrozenSet(a), FrozenSet(b)) => Rc::ptr_eq(a, b),
            (Range(a), Range(b)) => Rc::ptr_eq(a, b),
            (Slice(a), Slice(b)) => Rc::ptr_eq(a, b),
            (Function(a), Function(b)) => Rc::ptr_eq(a, b),
            (BoundMethod(a), BoundMethod(b)) => Rc::ptr_eq(a, b),
            (Native(a), Native(b)) => Rc::ptr_eq(a, b),
            (Class(a), Class(b)) => Rc::ptr_eq(a, b),
            (Instance(a), Instance(b)) => Rc::ptr_eq(a, b),
            (Module(a), Module(b)) => Rc::ptr_eq(a, b),
            (Iter(a), Iter(b)) => Rc::ptr_eq(a, b),
            (Descriptor(a), Descriptor(b)) => Rc::ptr_eq(a, b),
            (Cell(a), Cell(b)) => Rc::ptr_eq(a, b),
            (Code(a), Code(b)) => Rc::ptr_eq(a, b),
            (Gen(a), Gen(b)) => Rc::ptr_eq(a, b),
            (Other(a), Other(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
    /// A stable identity number for `id()` and default hashes.
    pub fn id(&self) -> i64 {
        use Value::*;
        fn p<T: ?Sized>(r: &Rc<T>) -> i64 {
            (Rc::as_ptr(r) as *const u8 as usize as i64) >> 3 << 3
        }
        match self {
            Undef => 0,
            None => 0x1000,
            NotImplemented => 0x1010,
            Ellipsis => 0x1020,
            Bool(b) => 0x1030 + *b as i64 * 16,
            Int(i) => 0x2000 + i.wrapping_mul(16),
            Float(f) => f.to_bits() as i64,
            BigInt(r) => p(r),
            Str(r) => p(r),
            Bytes(r) => p(r),
            ByteArray(r) => p(r),
            List(r) => p(r),
            Tuple(r) => p(r),
            Dict(r) => p(r),
            Set(r) | FrozenSet(r) => p(r),
            Range(r) => p(r),
            Slice(r) => p(r),
            Function(r) => p(r),
            BoundMethod(r) => p(r),
            Native(r) => p(r),
            Class(r) => p(r),
            Instance(r) => p(r),
            Module(r) => p(r),
            Iter(r) => p(r),
            Descriptor(r) => p(r),
            Cell(r) => p(r),
            Code(r) => p(r),
            Gen(r) => p(r),
            Other(r) => p(r),
        }
    }
}

/// Freeing deeply nested containers without deep Rust recursion (CPython's "trashcan"):
/// past a fixed nesting of container drops, children are queued and the outermost drop
/// frees the queue in a loop.
pub(crate) mod trashcan {
    use super::Value;
    use std::cell::{Cell, RefCell};

    const MAX_NESTING: u32 = 500;

    thread_local! {
        static DEPTH: Cell<u32> = const { Cell::new(0) };
        static HAS_DEFERRED: Cell<bool> = const { Cell::new(false) };
        static DEFERRED: RefCell<Vec<Value>> = const { RefCell::new(Vec::new()) };
    }

    /// Drops `values`, deferring them when container drops are already deeply nested.
    pub fn release(values: impl IntoIterator<Item = Value>) {
        let depth = DEPTH.with(|d| d.get());
        if depth >= MAX_NESTING {
            let _ = DEFERRED.try_with(|q| q.borrow_mut().extend(values));
            HAS_DEFERRED.with(|h| h.set(true));
            return;
        }
        DEPTH.with(|d| d.set(depth + 1));
        for v in values {
            drop(v);
        }
        DEPTH.with(|d| d.set(depth));
        if depth == 0 && HAS_DEFERRED.with(|h| h.replace(false)) {
            loop {
                let batch = DEFERRED.try_with(|q| std::mem::take(&mut *q.borrow_mut())).unwrap_or_default();
                if batch.is_empty() {
                    break;
                }
                DEPTH.with(|d| d.set(1));
                drop(batch);
                DEPTH.with(|d| d.set(0));
            }
        }
    }
}

impl Drop for List {
    fn drop(&mut self) {
        let items = std::mem::take(self.items.get_mut());
        // Only containers of heap values can nest; immediates drop for free.
        if !items.iter().all(Value::is_immediate) {
            trashcan::release(items);
        }
    }
}

impl Drop for DictObj {
    fn drop(&mut self) {
        let d = std::mem::take(self.d.get_mut());
        if !d.is_empty() {
            trashcan::release(d.into_values());
        }
    }
}

/// True when dropping `v` cannot free anything that holds other values (so it cannot
/// recurse): atoms, strings, bytes, and shared objects (only a reference count drops).
fn drops_flat(v: &Value) -> bool {
    match v {
        Value::Str(_) | Value::Bytes(_) | Value::BigInt(_) => true,
        Value::Cell(c) => Rc::strong_count(c) > 1 || c.try_borrow().is_ok_and(|x| drops_flat(&x)),
        Value::Tuple(t) => Rc::strong_count(t) > 1,
        Value::Function(f) => Rc::strong_count(f) > 1,
        Value::Gen(g) => Rc::strong_count(g) > 1,
        _ => v.is_immediate(),
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        // Closure cells and defaults can chain functions (a closure capturing the previous
        // one, a million deep).
        if self.closure.iter().all(|c| Rc::strong_count(c) > 1 || c.try_borrow().is_ok_and(|x| drops_flat(&x)))
            && self.defaults.iter().all(drops_flat)
        {
            return;
        }
        let cells = std::mem::take(&mut self.closure).into_iter().map(Value::Cell);
        trashcan::release(std::mem::take(&mut self.defaults).into_iter().chain(cells));
    }
}

impl Drop for SetObj {
    fn drop(&mut self) {
        let t = self.d.get_mut();
        if !t.iter_keys().all(drops_flat) {
            trashcan::release(t.take_keys());
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let attrs = self.attrs.get_mut();
        if !attrs.iter().all(|(_, v)| v.is_immediate()) {
            trashcan::release(attrs.drain(..).map(|(_, v)| v));
        } else if !attrs.spilled() {
            // Immediates held inline: nothing to drop, element by element or at all.
            std::mem::forget(std::mem::take(attrs));
        }
    }
}
