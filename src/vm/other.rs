//! Native objects that are not one of the core value variants (loop handles, futures, files,
//! tracebacks): a small trait object interface.

use super::intern::Sym;
use super::value::Value;
use super::{Res, Vm};
use std::any::Any;

/// A native object exposed to scripts.
pub trait NativeObject: Any {
    /// The Python type name (`type(x).__name__`).
    fn type_name(&self) -> &'static str;
    /// Reads an attribute or method; `None` when absent.
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let _ = (vm, this, name);
        Ok(None)
    }
    /// For `obj.name(...)` (`LoadMethod`): an *unbound* native method taking the object as
    /// its first argument, shared by every instance, so the call allocates no bound
    /// method; `None` sends the lookup through [`NativeObject::get_attr`].
    fn method(&self, name: Sym) -> Option<Value> {
        let _ = name;
        None
    }
    /// For native awaitables: one `send` step (`yield from`/`await` drive it without a
    /// Python-level call). `None` when the object is not a native iterator.
    fn send(&self, vm: &mut Vm, value: Value) -> Option<Res<super::gen::GenResult>> {
        let _ = (vm, value);
        None
    }
    /// For native awaitables: `throw(exc)`; `None` when not supported.
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<super::gen::GenResult>> {
        let _ = (vm, exc);
        None
    }
    /// True for native coroutine objects (`asyncio.sleep()`, `lock.acquire()`, ...): `await`
    /// drives the object itself, without an `__await__` call.
    fn is_coroutine(&self) -> bool {
        false
    }
    /// For native awaitables with an iterator of their own (futures): the iterator `await`
    /// drives, made without looking up and calling `__await__`; `None` for the usual
    /// protocol.
    fn await_iter(&self, this: &Value) -> Option<Value> {
        let _ = this;
        None
    }
    /// Calls the object (`obj(*args, **kw)`); `None` when it is not callable this way
    /// (then `__call__` is looked up with [`NativeObject::get_attr`]).
    fn call(&self, vm: &mut Vm, this: &Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Option<Res<Value>> {
        let _ = (vm, this, args, kw);
        None
    }
    /// True when [`NativeObject::call`] calls it (for `callable()`).
    fn is_callable(&self) -> bool {
        false
    }
    /// `obj.name = value`; `None` when the object has no settable attributes.
    fn set_attr(&self, vm: &mut Vm, this: &Value, name: Sym, value: Value) -> Option<Res<()>> {
        let _ = (vm, this, name, value);
        None
    }
    /// The object's class when it has one of its own (the embedding API's host classes);
    /// `None` for a class made on demand from [`NativeObject::type_name`].
    fn class(&self) -> Option<std::rc::Rc<super::value::Class>> {
        None
    }
    /// `hash(x)` when the object defines its own (equal values hash alike); `None` hashes
    /// by identity.
    fn hash(&self) -> Option<i64> {
        None
    }
    /// A value whose hash is the object's, for objects that hash as a value they hold
    /// (a named tuple as its tuple); checked before [`NativeObject::hash`].
    fn hashes_as(&self) -> Option<&super::value::Value> {
        None
    }
    /// For an object of a `tuple` subclass (a struct sequence): its items as a tuple, which
    /// `%` formatting takes as its arguments.
    fn as_tuple(&self) -> Option<&super::value::Value> {
        None
    }
    /// `repr(x)`.
    fn repr(&self) -> String {
        format!("<{} object>", self.type_name())
    }
    /// Upcast for downcasting with `Any`.
    fn as_any(&self) -> &dyn Any;
    /// For objects registered with the cycle collector (`gc::track_native`): reports every
    /// strong reference held to a script value or tracked object, each exactly once.
    fn gc_traverse(&self, visit: &mut super::gc::Visitor) {
        let _ = visit;
    }
    /// For registered objects found to be cyclic garbage: drops the references held in
    /// mutable fields, breaking the cycles through the object.
    fn gc_clear(&self) {}
    /// For registered objects with a finaliser (CPython's `tp_finalize`, such as a pending
    /// task's "Task was destroyed but it is pending!"): true while the collector must call
    /// [`NativeObject::gc_finalize`] before it empties the object as garbage.
    fn gc_has_finalizer(&self) -> bool {
        false
    }
    /// True for an untracked object the collector sees through when it has a single owner
    /// (a native coroutine awaited by a suspended coroutine): its owner's traversal reports
    /// what [`NativeObject::gc_traverse`] reports, as if the owner held it directly. Such
    /// an object must never be registered with `gc::track_native`.
    fn gc_inline(&self) -> bool {
        false
    }
    /// Runs the finaliser of a garbage object, once (afterwards
    /// [`NativeObject::gc_has_finalizer`] is false); the object may be resurrected.
    fn gc_finalize(&self, vm: &mut Vm) {
        let _ = vm;
    }
}

/// One traceback entry: the file, the line, and the function name.
#[derive(Clone, Debug)]
pub struct TraceEntry {
    /// The source file.
    pub file: std::rc::Rc<str>,
    /// The 1-based line.
    pub line: u32,
    /// The code object's name.
    pub name: std::rc::Rc<str>,
}

/// A traceback: entries in the order they were added (innermost first).
pub struct Traceback {
    /// The entries.
    pub entries: std::cell::RefCell<Vec<TraceEntry>>,
}

impl NativeObject for Traceback {
    fn type_name(&self) -> &'static str {
        "traceback"
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
