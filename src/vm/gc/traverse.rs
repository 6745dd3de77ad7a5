//! What the collector knows about each kind of object: its identity, the references it
//! holds (`traverse`), how to empty it when it is garbage (`clear`), and how CPython would
//! count it.

use crate::vm::gen::{GenObj, GenState};
use crate::vm::value::{Descriptor, IterState, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The identity of a value of a tracked type (its allocation's address), else `None`.
#[inline]
pub(super) fn addr(v: &Value) -> Option<usize> {
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
        Value::Native(r) => p(r),
        Value::Module(r) => p(r),
        _ => return None,
    })
}

/// Collects the references an object holds (see
/// [`NativeObject::gc_traverse`](crate::vm::other::NativeObject::gc_traverse)).
pub struct Visitor<'a> {
    out: &'a mut Vec<usize>,
    ok: bool,
}

impl Visitor<'_> {
    /// A reference held in a value. A see-through object
    /// ([`NativeObject::gc_inline`](crate::vm::other::NativeObject::gc_inline)) held only
    /// here is reported as its contents: this reference is its only owner, so its
    /// references are this object's, each still reported exactly once.
    #[inline]
    pub fn value(&mut self, v: &Value) {
        if let Value::Other(o) = v {
            if o.gc_inline() && Rc::strong_count(o) == 1 {
                o.gc_traverse(self);
                return;
            }
        }
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

fn attrs(vis: &mut Visitor, c: &RefCell<crate::vm::value::Attrs>) {
    match c.try_borrow() {
        Ok(a) => a.iter().for_each(|(_, v)| vis.value(v)),
        Err(_) => vis.fail(),
    }
}

/// Appends the addresses of the tracked objects `v` references to `out`; false when its
/// contents could not be read.
#[inline]
pub(super) fn traverse(v: &Value, out: &mut Vec<usize>) -> bool {
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
            match f.dict.try_borrow() {
                Ok(d) => d.iter().for_each(|d| vis.rc(d)),
                Err(_) => vis.fail(),
            }
            vis.rc(&f.globals);
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
        Value::Native(n) => {
            if let Some(r) = &n.receiver {
                vis.value(r);
            }
        }
        Value::Module(m) => match m.dict.try_borrow() {
            Ok(d) => d.values().for_each(|x| vis.value(x)),
            Err(_) => vis.fail(),
        },
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
                if let Some(d) = &f.parts {
                    f.values.iter().for_each(|x| vis.value(x));
                    d.cells.iter().for_each(|c| vis.rc(c));
                    vis.rc(&d.globals);
                    if let crate::vm::frame::ReturnMode::Init(x) = &d.ret {
                        vis.value(x);
                    }
                }
            }
            Err(_) => vis.fail(),
        }
    }
}

/// Empties the mutable contents of a garbage object (breaking the cycles through it).
pub(super) fn clear(v: &Value) {
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
            let old = f.dict.try_borrow_mut().map(|mut x| x.take());
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
            let old = g.frame.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            g.state.set(GenState::Closed);
            drop(old);
        }
        Value::Other(o) => o.gc_clear(),
        Value::Module(m) => {
            let old = m.dict.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
            drop(old);
        }
        _ => {}
    }
}

/// How many objects CPython would count for this one, which it represents with separate
/// objects where aio keeps plain fields: a function's `__closure__` tuple, its `__defaults__`
/// tuple and `__kwdefaults__` dict (each only when it holds a container, as
/// CPython leaves tuples and dicts of atoms untracked); and a dict of atoms, which CPython
/// never tracks, counts for nothing.
pub(super) fn weight(v: &Value) -> usize {
    fn holds_container<'a>(mut vs: impl Iterator<Item = &'a Value>) -> bool {
        vs.any(|x| addr(x).is_some())
    }
    match v {
        Value::Function(f) => {
            1 + usize::from(!f.closure.is_empty())
                + usize::from(holds_container(f.defaults.iter()))
                + usize::from(holds_container(f.kwdefaults.iter().map(|(_, x)| x)))
        }
        Value::Dict(d) => {
            let tracked =
                d.d.try_borrow().map(|d| d.iter().any(|e| addr(&e.key).is_some() || addr(&e.value).is_some()));
            usize::from(tracked.unwrap_or(true))
        }
        _ => 1,
    }
}

/// A generator or coroutine that still has a frame (collecting it first closes it), or a
/// native object with a finaliser (a pending task).
pub(super) fn needs_finalizer(v: &Value) -> bool {
    match v {
        Value::Gen(g) => g.state.get() != GenState::Running && g.has_frame(),
        Value::Other(o) => o.gc_has_finalizer(),
        _ => false,
    }
}

/// The strong count of a tracked value's allocation.
pub(super) fn strong_count(v: &Value) -> usize {
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
        Value::Native(r) => Rc::strong_count(r),
        Value::Module(r) => Rc::strong_count(r),
        _ => 1,
    }
}
