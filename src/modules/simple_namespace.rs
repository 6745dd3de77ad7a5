//! `types.SimpleNamespace`: an object whose attributes are the keyword arguments it was
//! made with. An ordinary class (scripts may subclass it) whose instances keep their
//! attributes as any instance does, with CPython 3.11's constructor (keywords only),
//! `repr` (`namespace(a=1, b=2)`, `namespace(...)` for a cycle), equality (by `__dict__`)
//! and no hash.

use crate::bytecode::CmpKind;
use crate::vm::dict::Dict;
use crate::vm::value::{Class, Descriptor, DictObj, Instance, Value};
use crate::vm::{Args, Exc, Res, Vm};
use std::rc::Rc;

/// The `other_classes` key, which is also CPython's `tp_name`.
const TP_NAME: &str = "types.SimpleNamespace";

/// The class, made once per VM.
pub fn class(vm: &mut Vm) -> Rc<Class> {
    if let Some(c) = vm.other_classes.borrow().get(TP_NAME) {
        return c.clone();
    }
    let methods: &[(&'static str, crate::vm::NativeFn)] = &[
        ("__init__", init),
        ("__repr__", repr),
        ("__eq__", eq),
        ("__ne__", ne),
        ("__lt__", lt),
        ("__le__", le),
        ("__gt__", gt),
        ("__ge__", ge),
    ];
    let c = crate::asyncio::native_coro::native_class(vm, "SimpleNamespace", "types", None, methods, &[]);
    {
        let mut d = c.dict.borrow_mut();
        // Equality by value and no hash, as any class defining `__eq__` alone.
        d.insert(vm.syms.hash, Value::None);
        // `__dict__` is read-only, as CPython's member.
        let fget = crate::builtins::native("__dict__", dict_get);
        let fset = crate::builtins::native("__dict__", dict_set);
        let p = Descriptor::Property { fget, fset, fdel: Value::None, doc: Value::None };
        d.insert(vm.syms.dict, Value::Descriptor(Rc::new(p)));
    }
    let _ = c.tp_name.set(Rc::from(TP_NAME));
    crate::vm::value::bump_class_epoch();
    vm.other_classes.borrow_mut().insert(TP_NAME, c.clone());
    c
}

/// The receiver of a method, if it is a namespace (an instance of the class or of a
/// subclass).
fn namespace(vm: &mut Vm, v: Option<&Value>) -> Option<Rc<Instance>> {
    let c = class(vm);
    match v {
        Some(Value::Instance(i)) if i.class.is_subclass(&c) => Some(i.clone()),
        _ => None,
    }
}

/// The receiver of method `name`, or CPython's descriptor error.
fn receiver(vm: &mut Vm, a: &Args, name: &str) -> Res<Rc<Instance>> {
    if let Some(i) = namespace(vm, a.pos.first()) {
        return Ok(i);
    }
    Err(Exc::type_error(match a.pos.first() {
        Some(v) => format!("descriptor '{name}' requires a '{TP_NAME}' object but received a '{}'", vm.type_name(v)),
        None => format!("descriptor '{name}' of '{TP_NAME}' object needs an argument"),
    }))
}

/// `SimpleNamespace(**kwargs)`: each keyword becomes an attribute.
fn init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let inst = receiver(vm, a, "__init__")?;
    if a.pos.len() > 1 {
        return Err(Exc::type_error("no positional arguments expected"));
    }
    for (k, v) in std::mem::take(&mut a.kw) {
        vm.store_instance_attr(&inst, k, v)?;
    }
    Ok(Value::None)
}

/// The attributes as `(key, value)` pairs in order (a namespace dict's keys may be any
/// hashable a script put there).
fn items(inst: &Instance) -> Vec<(Value, Value)> {
    match inst.namespace() {
        Some(d) => d.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
        None => inst.attrs.borrow().iter().map(|(k, v)| (k.with_str(Value::str), v.clone())).collect(),
    }
}

/// `repr(ns)`: `namespace(a=1)` (a subclass shows its own name), skipping keys that are
/// not non-empty strings, as CPython does.
fn repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let inst = receiver(vm, a, "__repr__")?;
    let exact = vm.other_classes.borrow().get(TP_NAME).is_some_and(|c| Rc::ptr_eq(c, &inst.class));
    let name = if exact { Rc::from("namespace") } else { inst.class.tp_name().clone() };
    let this = Value::Instance(inst.clone());
    let busy = format!("{name}(...)");
    let text = vm.repr_guarded(&this, &busy, |vm| {
        let mut parts = Vec::new();
        for (k, v) in items(&inst) {
            let Value::Str(k) = k else { continue };
            if k.as_str().is_empty() {
                continue;
            }
            parts.push(format!("{}={}", k.as_str(), vm.repr(&v)?));
        }
        Ok(format!("{name}({})", parts.join(", ")))
    })?;
    Ok(Value::string(text))
}

/// The attributes as a dict: the namespace itself, or a snapshot of the attribute vector.
fn as_dict(inst: &Instance) -> Value {
    if let Some(d) = inst.namespace() {
        return Value::Dict(d);
    }
    let attrs = inst.attrs.borrow();
    let mut d = Dict::with_capacity(attrs.len());
    for (k, v) in attrs.iter() {
        d.insert_new(k.with_str(crate::text::int_math::hash_str), k.with_str(Value::str), v.clone());
    }
    Value::Dict(DictObj::new_rc(d))
}

/// `ns == other` / `ns != other`: their dicts compared, when both are namespaces.
fn compare(vm: &mut Vm, a: &Args, kind: CmpKind, name: &str) -> Res<Value> {
    let me = receiver(vm, a, name)?;
    let Some(other) = namespace(vm, a.pos.get(1)) else { return Ok(Value::NotImplemented) };
    let (x, y) = (as_dict(&me), as_dict(&other));
    vm.compare(kind, &x, &y)
}

fn eq(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    compare(vm, a, CmpKind::Eq, "__eq__")
}

fn ne(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    compare(vm, a, CmpKind::Ne, "__ne__")
}

// The orderings compare the dicts too, which refuse them with the dicts' names.
fn lt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    compare(vm, a, CmpKind::Lt, "__lt__")
}

fn le(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    compare(vm, a, CmpKind::Le, "__le__")
}

fn gt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    compare(vm, a, CmpKind::Gt, "__gt__")
}

fn ge(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    compare(vm, a, CmpKind::Ge, "__ge__")
}

/// `ns.__dict__`: the namespace dict.
fn dict_get(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let inst = receiver(vm, a, "__dict__")?;
    Ok(Value::Dict(inst.namespace_dict()))
}

/// `ns.__dict__ = d`: refused.
fn dict_set(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Err(Exc::attribute_error("readonly attribute"))
}
