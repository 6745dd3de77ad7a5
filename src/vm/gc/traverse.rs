//! What the collector knows about each kind of object: its identity, the references it
//! holds (`traverse`), how to empty it when it is garbage (`clear`), and how CPython would
//! count it.

use super::collect::Counter;
use super::entries::Tracked;
use crate::vm::gen::{GenObj, GenState};
use crate::vm::other::NativeObject;
use crate::vm::value::{
    BoundMethod, Class, Descriptor, DictObj, Function, Instance, IterState, List, Module, NativeFunction, SetObj, Value,
};
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
    /// Where each reference goes.
    counter: &'a mut Counter,
    /// False once some contents could not be read.
    ok: bool,
}

impl Visitor<'_> {
    /// A reference held in a value. A see-through object
    /// ([`NativeObject::gc_inline`](crate::vm::other::NativeObject::gc_inline)) held only
    /// here is reported as its contents: this reference is its only owner, so its
    /// references are this object's, each still reported exactly once.
    #[inline(always)]
    pub fn value(&mut self, v: &Value) {
        if let Value::Other(o) = v {
            if o.gc_inline() && Rc::strong_count(o) == 1 {
                o.gc_traverse(self);
                return;
            }
        }
        if let Some(a) = addr(v) {
            self.counter.found(a);
        }
    }
    /// A reference held as an `Rc` of a tracked type (a cell, a class, a future...).
    pub fn rc<T: ?Sized>(&mut self, r: &Rc<T>) {
        self.counter.found(Rc::as_ptr(r) as *const u8 as usize);
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

/// The references an object of a tracked type holds.
trait Refs {
    /// Reports them to `vis`.
    fn refs(&self, vis: &mut Visitor);
}

impl Refs for List {
    #[inline(always)]
    fn refs(&self, vis: &mut Visitor) {
        // `Visitor::values`, inlined: lists are the most common candidates.
        match self.items.try_borrow() {
            Ok(vs) => vs.iter().for_each(|v| vis.value(v)),
            Err(_) => vis.fail(),
        }
    }
}

impl Refs for [Value] {
    fn refs(&self, vis: &mut Visitor) {
        self.iter().for_each(|x| vis.value(x));
    }
}

impl Refs for DictObj {
    fn refs(&self, vis: &mut Visitor) {
        match self.d.try_borrow() {
            Ok(d) => d.iter().for_each(|e| {
                vis.value(&e.key);
                vis.value(&e.value);
            }),
            Err(_) => vis.fail(),
        }
    }
}

impl Refs for SetObj {
    fn refs(&self, vis: &mut Visitor) {
        match self.d.try_borrow() {
            Ok(t) => t.iter_keys().for_each(|k| vis.value(k)),
            Err(_) => vis.fail(),
        }
    }
}

impl Refs for Function {
    fn refs(&self, vis: &mut Visitor) {
        self.defaults.iter().for_each(|x| vis.value(x));
        self.kwdefaults.iter().for_each(|(_, x)| vis.value(x));
        self.closure.iter().for_each(|c| vis.rc(c));
        vis.value(&self.doc);
        match self.dict.try_borrow() {
            Ok(d) => d.iter().for_each(|d| vis.rc(d)),
            Err(_) => vis.fail(),
        }
        match self.annotations.try_borrow() {
            Ok(d) => d.iter().for_each(|d| vis.rc(d)),
            Err(_) => vis.fail(),
        }
        vis.rc(&self.globals);
    }
}

impl Refs for BoundMethod {
    fn refs(&self, vis: &mut Visitor) {
        vis.value(&self.receiver);
        vis.value(&self.func);
    }
}

impl Refs for Class {
    fn refs(&self, vis: &mut Visitor) {
        self.bases.iter().for_each(|b| vis.rc(b));
        self.mro.iter().for_each(|b| vis.rc(b));
        match self.dict.try_borrow() {
            Ok(d) => d.values().for_each(|x| vis.value(x)),
            Err(_) => vis.fail(),
        }
        if !self.cache.for_each_value(|x| vis.value(x)) {
            vis.fail();
        }
    }
}

impl Refs for Instance {
    #[inline]
    fn refs(&self, vis: &mut Visitor) {
        vis.rc(&self.class);
        match self.attrs.try_borrow() {
            Ok(a) => a.iter().for_each(|(_, v)| vis.value(v)),
            Err(_) => vis.fail(),
        }
    }
}

impl Refs for RefCell<IterState> {
    fn refs(&self, vis: &mut Visitor) {
        match self.try_borrow() {
            Ok(st) => iter_refs(&st, vis),
            Err(_) => vis.fail(),
        }
    }
}

impl Refs for Descriptor {
    fn refs(&self, vis: &mut Visitor) {
        match self {
            Descriptor::Property { fget, fset, fdel, doc } => {
                [fget, fset, fdel, doc].into_iter().for_each(|x| vis.value(x));
            }
            Descriptor::StaticMethod(f) | Descriptor::ClassMethod(f) => vis.value(f),
            Descriptor::Super { cls, obj } => {
                vis.rc(cls);
                vis.value(obj);
            }
        }
    }
}

impl Refs for RefCell<Value> {
    #[inline]
    fn refs(&self, vis: &mut Visitor) {
        vis.cell(self);
    }
}

impl Refs for GenObj {
    /// The references held by the suspended frame and the pending value.
    fn refs(&self, vis: &mut Visitor) {
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

impl Refs for NativeFunction {
    fn refs(&self, vis: &mut Visitor) {
        if let Some(r) = &self.receiver {
            vis.value(r);
        }
    }
}

impl Refs for Module {
    fn refs(&self, vis: &mut Visitor) {
        match self.dict.try_borrow() {
            Ok(d) => d.values().for_each(|x| vis.value(x)),
            Err(_) => vis.fail(),
        }
    }
}

/// Reports the references `v` holds to `counter`; false when its contents could not all be
/// read (some references may have been reported).
#[inline]
pub(super) fn traverse(v: &Value, counter: &mut Counter) -> bool {
    let mut vis = Visitor { counter, ok: true };
    match v {
        Value::List(l) => l.refs(&mut vis),
        Value::Tuple(t) => t.refs(&mut vis),
        Value::Dict(d) => d.refs(&mut vis),
        Value::Set(s) | Value::FrozenSet(s) => s.refs(&mut vis),
        Value::Function(f) => f.refs(&mut vis),
        Value::BoundMethod(m) => m.refs(&mut vis),
        Value::Class(c) => c.refs(&mut vis),
        Value::Instance(i) => i.refs(&mut vis),
        Value::Iter(it) => it.refs(&mut vis),
        Value::Descriptor(d) => d.refs(&mut vis),
        Value::Cell(c) => c.refs(&mut vis),
        Value::Gen(g) => g.refs(&mut vis),
        Value::Other(o) => o.gc_traverse(&mut vis),
        Value::Native(n) => n.refs(&mut vis),
        Value::Module(m) => m.refs(&mut vis),
        _ => {}
    }
    vis.ok
}

/// [`traverse`] for the object of a thin entry, without making a `Value` of it: `None` when
/// the object is dead.
#[inline]
pub(super) fn traverse_thin(t: &Tracked, counter: &mut Counter) -> Option<bool> {
    let mut vis = Visitor { counter, ok: true };
    match t {
        Tracked::List(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Dict(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Set(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Function(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Bound(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Class(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Instance(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Iter(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Descriptor(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Cell(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Gen(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Future(w) => w.upgrade()?.gc_traverse(&mut vis),
        Tracked::BoundNative(w) => w.upgrade()?.refs(&mut vis),
        Tracked::Module(w) => w.upgrade()?.refs(&mut vis),
    }
    Some(vis.ok)
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
        | IterState::Done(_) => {}
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
            let annotations = f.annotations.try_borrow_mut().map(|mut x| x.take());
            drop((old, annotations));
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
            let old = it.try_borrow_mut().map(|mut x| {
                let t = x.type_id();
                std::mem::replace(&mut *x, IterState::Done(t))
            });
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
