//! Inline caches for attribute access on instances of script classes.
//!
//! Each code object keeps a few entries per name (`Code::attr_cache`, `WAYS` per index of
//! `Code::names`), shared by the `LoadAttr`, `StoreAttr` and `LoadMethod` instructions that
//! use the name. An entry remembers, for one class:
//! - which slot of the instance's attribute vector held the name last time (instances of
//!   one class usually gain their attributes in the same order, in `__init__`), and whether
//!   a plain load or store of that name may bypass the class (no property or other
//!   descriptor, no `__setattr__`);
//! - the function a method call found in the class (a script function or a native one,
//!   such as `Queue.put` on an instance of a native primitive's class).
//!
//! An entry is valid while the class is the same object and the global class epoch
//! (`value::class_epoch`, bumped on every class creation and class-namespace change) is
//! unchanged: the epoch stands for everything the entry learnt from the class, and it also
//! tells a new class apart from a dead one that had the same address. A slot is checked
//! against the instance (the name must be there), so instances with other layouts just
//! miss, and so do instances whose attributes moved into a `__dict__` (their vector holds
//! only the dict, under a name no code uses; a store or method call checks for it). The
//! cache holds no strong reference: the method is the class's own (alive while the epoch
//! holds), kept as a `Weak`.

use super::value::{class_epoch, is_namespace, Function, Instance, NativeFunction, Value};
use super::Sym;
use crate::bytecode::Code;
use std::rc::{Rc, Weak};

/// No slot is known.
const NO_SLOT: u32 = u32::MAX;

/// One name's cached facts about one class (see the module docs).
#[derive(Clone)]
pub struct AttrCacheEntry {
    /// `Rc::as_ptr` of the class, 0 when empty.
    class: usize,
    /// The class epoch when filled.
    epoch: u64,
    /// Where the instance attribute was, or `NO_SLOT`.
    slot: u32,
    /// The name (the code's name `n`), kept here to check the slot without indexing.
    name: Sym,
    /// A load of the name may read the instance attribute directly.
    load_ok: bool,
    /// A store of the name may write the instance attribute directly.
    store_ok: bool,
    /// The function a method call finds in the class.
    method: Option<CachedMethod>,
}

/// The function a method call of a name finds in a class, held weakly.
#[derive(Clone)]
enum CachedMethod {
    Script(Weak<Function>),
    Native(Weak<NativeFunction>),
}

impl Default for AttrCacheEntry {
    fn default() -> Self {
        AttrCacheEntry {
            class: 0,
            epoch: 0,
            slot: NO_SLOT,
            name: Sym::NAMESPACE,
            load_ok: false,
            store_ok: false,
            method: None,
        }
    }
}

/// Entries per name: a site that sees a few classes (a method shared by subclasses) keeps
/// one entry for each.
const WAYS: usize = 4;

/// The entry for name `n` that describes `inst`'s class now.
#[inline(always)]
fn valid<'a>(cache: &'a [AttrCacheEntry], n: u32, inst: &Instance) -> Option<&'a AttrCacheEntry> {
    let at = n as usize * WAYS;
    let ways = cache.get(at..at + WAYS)?;
    let class = Rc::as_ptr(&inst.class) as usize;
    let e = ways.iter().find(|e| e.class == class)?;
    (e.epoch == class_epoch()).then_some(e)
}

/// The entry for name `n` and `inst`'s class, reset unless it already describes the class
/// now; another class's entry is replaced only when no way is free or stale.
fn entry_for<'a>(cache: &'a mut Vec<AttrCacheEntry>, code: &Code, n: u32, inst: &Instance) -> &'a mut AttrCacheEntry {
    let names = code.names.len();
    if cache.len() < names * WAYS {
        cache.resize(names * WAYS, AttrCacheEntry::default());
    }
    let name = code.names.get(n as usize).copied().unwrap_or(Sym::NAMESPACE);
    let at = n as usize * WAYS;
    let (class, epoch) = (Rc::as_ptr(&inst.class) as usize, class_epoch());
    let ways = &mut cache[at..at + WAYS];
    let way = ways
        .iter()
        .position(|e| e.class == class)
        .or_else(|| ways.iter().position(|e| e.class == 0 || e.epoch != epoch))
        .unwrap_or((class >> 4) % WAYS);
    let e = &mut ways[way];
    if e.class != class || e.epoch != epoch {
        *e = AttrCacheEntry { class, epoch, name, ..AttrCacheEntry::default() };
    }
    e
}

/// `inst.<name n>` when the cache knows where it lies: the common kinds of value come out
/// as a two-word [`Loaded`] (returned in registers, pushed by the caller in its stack slot);
/// any other value as its slot in the attribute vector.
#[inline(always)]
pub(crate) fn load(code: &Code, n: u32, inst: &Instance) -> Loaded {
    let Ok(cache) = code.attr_cache.try_borrow() else { return Loaded::Miss };
    let Some(e) = valid(&cache, n, inst) else { return Loaded::Miss };
    if !e.load_ok {
        return Loaded::Miss;
    }
    let slot = e.slot as usize;
    let Ok(attrs) = inst.attrs.try_borrow() else { return Loaded::Miss };
    match attrs.get(slot) {
        Some((k, v)) if *k == e.name => match v {
            Value::Int(x) => Loaded::Int(*x),
            Value::Instance(r) => Loaded::Instance(r.clone()),
            Value::Float(x) => Loaded::Float(*x),
            Value::Str(r) => Loaded::Str(r.clone()),
            Value::List(r) => Loaded::List(r.clone()),
            _ => Loaded::Slot(slot),
        },
        _ => Loaded::Miss,
    }
}

/// An attribute value found through the cache (see [`load`]).
pub(crate) enum Loaded {
    /// The cache does not know the attribute.
    Miss,
    /// An `int`.
    Int(i64),
    /// An instance.
    Instance(Rc<Instance>),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(Rc<super::value::Str>),
    /// A `list`.
    List(Rc<super::value::List>),
    /// Another value, at this index of the instance's attribute vector.
    Slot(usize),
}

impl Loaded {
    /// Puts the value in `stack[i]` (an instance's slot: the instance it replaces is
    /// dropped); gives back the slot of a value that is not one of the quick kinds, and
    /// `Err(())` on a miss.
    #[inline(always)]
    pub(crate) fn replace_at(self, stack: &mut [Value], i: usize) -> Result<(), Option<usize>> {
        let new = match self {
            Loaded::Int(x) => Value::Int(x),
            Loaded::Instance(r) => Value::Instance(r),
            Loaded::Float(x) => Value::Float(x),
            Loaded::Str(r) => Value::Str(r),
            Loaded::List(r) => Value::List(r),
            Loaded::Slot(slot) => return Err(Some(slot)),
            Loaded::Miss => return Err(None),
        };
        if let Some(place) = stack.get_mut(i) {
            if let Value::Instance(old) = std::mem::replace(place, new) {
                drop(old);
            }
        }
        Ok(())
    }

    /// Pushes the value on `stack`, built in its slot; gives back the slot of a value that
    /// is not one of the quick kinds, and `Err(())` on a miss.
    #[inline(always)]
    pub(crate) fn push_on(self, stack: &mut Vec<Value>) -> Result<(), Option<usize>> {
        use super::interp::push_with;
        match self {
            Loaded::Int(x) => push_with(stack, || Value::Int(x)),
            Loaded::Instance(r) => push_with(stack, || Value::Instance(r)),
            Loaded::Float(x) => push_with(stack, || Value::Float(x)),
            Loaded::Str(r) => push_with(stack, || Value::Str(r)),
            Loaded::List(r) => push_with(stack, || Value::List(r)),
            Loaded::Slot(slot) => return Err(Some(slot)),
            Loaded::Miss => return Err(None),
        }
        Ok(())
    }
}

/// Stores `inst.<name n> = v` through the cache; gives `v` back when the cache cannot.
#[inline(always)]
pub(crate) fn store(code: &Code, n: u32, inst: &Instance, v: Value) -> Result<(), Value> {
    let cache = code.attr_cache.borrow();
    let Some(e) = valid(&cache, n, inst) else { return Err(v) };
    if !e.store_ok {
        return Err(v);
    }
    let name = e.name;
    let mut attrs = inst.attrs.borrow_mut();
    let slot = e.slot as usize;
    if let Some((k, old)) = attrs.get_mut(slot) {
        if *k != name {
            return Err(v);
        }
        let old = std::mem::replace(old, v);
        drop(attrs);
        drop(cache);
        drop(old);
        return Ok(());
    }
    // `__init__` adding attributes in the usual order (not to an instance whose attributes
    // moved into its `__dict__`).
    if attrs.len() == slot && !attrs.iter().any(|(k, _)| *k == name) && !is_namespace(&attrs) {
        attrs.push((name, v));
        return Ok(());
    }
    Err(v)
}

/// The method `inst.<name n>(...)` calls (a script function or a native), when the cache
/// knows it and the instance does not shadow it.
#[inline(always)]
pub(crate) fn method(code: &Code, n: u32, inst: &Instance) -> Option<MethodRef> {
    let cache = code.attr_cache.borrow();
    let e = valid(&cache, n, inst)?;
    let m = e.method.as_ref()?;
    let name = e.name;
    let attrs = inst.attrs.borrow();
    if attrs.iter().any(|(k, _)| *k == name) || is_namespace(&attrs) {
        return None;
    }
    match m {
        CachedMethod::Script(f) => f.upgrade().map(MethodRef::Script),
        CachedMethod::Native(f) => f.upgrade().map(MethodRef::Native),
    }
}

/// A method found through the cache (two words, returned in registers).
pub(crate) enum MethodRef {
    /// A script function.
    Script(Rc<Function>),
    /// A built-in function.
    Native(Rc<NativeFunction>),
}

impl MethodRef {
    /// Pushes the method on `stack` as a value built in its slot.
    #[inline(always)]
    pub(crate) fn push_on(self, stack: &mut Vec<Value>) {
        match self {
            MethodRef::Script(f) => super::interp::push_with(stack, || Value::Function(f)),
            MethodRef::Native(f) => super::interp::push_with(stack, || Value::Native(f)),
        }
    }
}

/// Records where a load or store of `name` found the instance attribute and whether the
/// class lets such accesses bypass it (`store_ok` as computed by the caller).
pub(crate) fn fill_slot(code: &Code, n: u32, inst: &Instance, load_ok: bool, store_ok: bool) {
    let name: Sym = code.names[n as usize];
    let Some(slot) = inst.attrs.borrow().iter().position(|(k, _)| *k == name) else {
        // A store adds the name at the end.
        if store_ok {
            let len = inst.attrs.borrow().len();
            if let Ok(mut cache) = code.attr_cache.try_borrow_mut() {
                let e = entry_for(&mut cache, code, n, inst);
                e.slot = len as u32;
                e.store_ok = true;
            }
        }
        return;
    };
    if let Ok(mut cache) = code.attr_cache.try_borrow_mut() {
        let e = entry_for(&mut cache, code, n, inst);
        e.slot = slot as u32;
        e.load_ok |= load_ok;
        e.store_ok |= store_ok;
    }
}

/// Records the function (script or native) a method call of `name` found in `inst`'s
/// class; other values are not cached.
pub(crate) fn fill_method(code: &Code, n: u32, inst: &Instance, f: &Value) {
    let m = match f {
        Value::Function(f) => CachedMethod::Script(Rc::downgrade(f)),
        Value::Native(f) => CachedMethod::Native(Rc::downgrade(f)),
        _ => return,
    };
    if let Ok(mut cache) = code.attr_cache.try_borrow_mut() {
        let e = entry_for(&mut cache, code, n, inst);
        e.method = Some(m);
    }
}

impl super::Vm {
    /// Records what a slow attribute access on `inst` learnt, for the next access of name
    /// `n` in `code`.
    #[inline(never)]
    pub(crate) fn fill_attr_cache(&self, code: &Code, n: u32, inst: &Instance) {
        let name = code.names[n as usize];
        // `__dict__` is never an entry of `attrs`, and an instance with a namespace dict has
        // no slots.
        if name == self.syms.dict || is_namespace(&inst.attrs.borrow()) {
            return;
        }
        let class = &inst.class;
        let load_ok = !class.may_have_descriptor(name) && self.custom_getattribute(class).is_none();
        let store_ok = load_ok
            && class.builtin.is_none()
            && class.with_lookup(self.syms.setattr, |v| !matches!(v, Some(Value::Function(_) | Value::BoundMethod(_))));
        fill_slot(code, n, inst, load_ok, store_ok);
    }
}
