//! The methods of `object` that every class inherits: attribute access, `repr`/`str`,
//! rich comparisons, `hash`, `format`, `__init_subclass__`, `__dir__`, `__sizeof__`,
//! `__subclasshook__` — and `BaseException`'s `__str__`/`__repr__` (and `KeyError.__str__`),
//! which `super()` calls in exception subclasses reach before `object`'s.
//!
//! The VM's protocol hooks (`repr`, `hash`, comparisons, `__setattr__`, ...) treat these
//! natives as "not overridden" (`vm::attr::is_object_default`) and run their built-in
//! default without calling them, so a plain class costs what it did before they existed;
//! they are called when a script names them (`object.__setattr__(self, n, v)`,
//! `super().__repr__()`). Argument errors are CPython's: slot wrappers (`__eq__`, ...) say
//! `expected 1 argument, got 2`, methods (`__format__`, ...) name `object.<method>()`.

use super::functions::attr_name;
use crate::vm::value::{Descriptor, NativeFunction};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, TypeId, Value, Vm};
use std::rc::Rc;

/// Checks a slot wrapper's call: a receiver, exactly `n` more positional arguments and no
/// keywords, with CPython's messages.
fn wrapper_args(a: &Args, name: &str, n: usize) -> Res<()> {
    if a.pos.is_empty() {
        return Err(Exc::type_error(format!("descriptor '{name}' of 'object' object needs an argument")));
    }
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("wrapper {name}() takes no keyword arguments")));
    }
    let got = a.pos.len() - 1;
    if got != n {
        // CPython's `wrap_setattr` reports with an empty function name.
        let lead = if name == "__setattr__" { " " } else { "" };
        let s = if n == 1 { "" } else { "s" };
        return Err(Exc::type_error(format!("{lead}expected {n} argument{s}, got {got}")));
    }
    Ok(())
}

/// Checks a method's call: a receiver, at most `max` more positional arguments (exactly
/// `max` when `exact`) and no keywords.
fn method_args(a: &Args, name: &str, max: usize, exact: bool) -> Res<()> {
    if a.pos.is_empty() {
        return Err(Exc::type_error(format!("unbound method object.{name}() needs an argument")));
    }
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("object.{name}() takes no keyword arguments")));
    }
    let got = a.pos.len() - 1;
    if got > max || exact && got != max {
        return Err(Exc::type_error(match max {
            0 => format!("object.{name}() takes no arguments ({got} given)"),
            _ => format!("object.{name}() takes exactly one argument ({got} given)"),
        }));
    }
    Ok(())
}

/// `object.__setattr__(self, name, value)`: sets the attribute without a custom
/// `__setattr__` (properties and other data descriptors still apply).
fn object_setattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__setattr__", 2)?;
    let name = attr_name(vm, &a.pos[1])?;
    let (obj, value) = (a.pos[0].clone(), a.pos[2].clone());
    match &obj {
        Value::Instance(inst) => vm.generic_set_attr(inst, &obj, name, value)?,
        Value::Class(_) => return Err(Exc::type_error("can't apply this __setattr__ to type object")),
        _ => vm.set_attr(&obj, name, value)?,
    }
    Ok(Value::None)
}

/// `object.__getattribute__(self, name)`: the attribute without a custom
/// `__getattribute__` or the `__getattr__` fallback.
fn object_getattribute(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__getattribute__", 1)?;
    let name = attr_name(vm, &a.pos[1])?;
    let obj = a.pos[0].clone();
    match &obj {
        Value::Instance(inst) => match vm.generic_get_attr(inst, &obj, name)? {
            Some(v) => Ok(v),
            None => Err(vm.missing_attribute(&obj, name)),
        },
        _ => vm.get_attr(&obj, name),
    }
}

/// `object.__delattr__(self, name)`: deletes without a custom `__delattr__`.
fn object_delattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__delattr__", 1)?;
    let name = attr_name(vm, &a.pos[1])?;
    let obj = a.pos[0].clone();
    match &obj {
        Value::Instance(inst) => vm.generic_del_attr(inst, &obj, name)?,
        Value::Class(_) => return Err(Exc::type_error("can't apply this __delattr__ to type object")),
        _ => vm.del_attr(&obj, name)?,
    }
    Ok(Value::None)
}

/// `object.__repr__(self)`: `<__main__.A object at 0x...>` for instances. A built-in value
/// whose type has no `__repr__` entry of its own (`None.__repr__()`) gets its real `repr`.
fn object_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__repr__", 0)?;
    let v = a.pos[0].clone();
    if !matches!(v, Value::Instance(_)) {
        let class = vm.class_of(&v);
        if crate::vm::attr::lookup_override(&class, vm.syms.repr).is_none() {
            return vm.repr(&v).map(Value::string);
        }
    }
    Ok(Value::string(vm.object_repr(&v)))
}

/// `object.__str__(self)`: `repr(self)`, through the type's `__repr__`.
fn object_str(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__str__", 0)?;
    let v = a.pos[0].clone();
    vm.repr(&v).map(Value::string)
}

/// `object.__hash__(self)`: the identity hash every instance has by default.
fn object_hash(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__hash__", 0)?;
    let v = a.pos[0].clone();
    Ok(Value::Int(match &v {
        Value::Instance(_)
        | Value::Other(_)
        | Value::List(_)
        | Value::Dict(_)
        | Value::Set(_)
        | Value::ByteArray(_) => v.id() >> 4,
        // Built-in values reach here as `None.__hash__()`: their type's hash.
        _ => vm.hash(&v)?,
    }))
}

/// `object.__eq__(self, other)`: `True` for the same object, else `NotImplemented`.
fn object_eq(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__eq__", 1)?;
    Ok(if a.pos[0].is(&a.pos[1]) { Value::Bool(true) } else { Value::NotImplemented })
}

/// `object.__ne__(self, other)`: the inverse of the type's `__eq__`, unless that is
/// `NotImplemented`.
fn object_ne(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    wrapper_args(a, "__ne__", 1)?;
    let (this, other) = (a.pos[0].clone(), a.pos[1].clone());
    let class = vm.class_of(&this);
    let r = match crate::vm::attr::lookup_override(&class, vm.syms.eq) {
        Some(eq) => vm.call(&eq, vec![this, other])?,
        None if this.is(&other) => Value::Bool(true),
        None => Value::NotImplemented,
    };
    if matches!(r, Value::NotImplemented) {
        return Ok(r);
    }
    Ok(Value::Bool(!vm.truthy(&r)?))
}

macro_rules! not_implemented_cmp {
    ($($f:ident => $name:literal),*) => {
        $(
            #[doc = concat!("`object.", $name, "(self, other)`: `NotImplemented`.")]
            fn $f(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
                wrapper_args(a, $name, 1)?;
                Ok(Value::NotImplemented)
            }
        )*
    };
}

not_implemented_cmp!(object_lt => "__lt__", object_le => "__le__", object_gt => "__gt__", object_ge => "__ge__");

/// `object.__format__(self, spec)`: `str(self)` for an empty spec, else a `TypeError`.
fn object_format(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    method_args(a, "__format__", 1, true)?;
    let spec = match &a.pos[1] {
        Value::Str(s) => s.as_str().is_empty(),
        other => {
            return Err(Exc::type_error(format!("__format__() argument must be str, not {}", vm.type_name(other))))
        }
    };
    let v = a.pos[0].clone();
    if !spec {
        return Err(Exc::type_error(format!("unsupported format string passed to {}.__format__", vm.type_name(&v))));
    }
    vm.str_of(&v).map(Value::string)
}

/// `object.__dir__(self)`: the instance's attributes, then its class's and the bases'
/// (unsorted, each name once; `dir()` sorts).
fn object_dir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    method_args(a, "__dir__", 0, true)?;
    let v = a.pos[0].clone();
    let mut names: Vec<Sym> = Vec::new();
    let mut add = |k: Sym| {
        if !names.contains(&k) {
            names.push(k);
        }
    };
    let class = match &v {
        Value::Instance(i) => {
            i.attrs.borrow().iter().for_each(|(k, _)| add(*k));
            i.class.clone()
        }
        Value::Module(m) => {
            m.dict.borrow().keys().for_each(|k| add(*k));
            vm.class_of(&v)
        }
        _ => vm.class_of(&v),
    };
    add(vm.syms.class);
    for c in std::iter::once(&class).chain(class.mro.iter()) {
        c.dict.borrow().keys().for_each(|k| add(*k));
    }
    Ok(Value::list(names.iter().map(|k| Value::str(&k.as_rc())).collect()))
}

/// `object.__sizeof__(self)`: the size in bytes CPython 3.11 reports for a plain object
/// (16) or an instance of a script class (24); other values report their own size in
/// aio's representation.
fn object_sizeof(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    method_args(a, "__sizeof__", 0, true)?;
    Ok(Value::Int(match &a.pos[0] {
        Value::Instance(i) if i.class.builtin == Some(TypeId::Object) => 16,
        Value::Instance(_) => 24,
        _ => std::mem::size_of::<Value>() as i64,
    }))
}

/// `object.__init_subclass__(cls)`: accepts no arguments; called for every new class.
fn object_init_subclass(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let cls = match a.pos.first() {
        Some(Value::Class(c)) => c.name.to_string(),
        Some(other) => vm.type_name(other).to_string(),
        None => "object".into(),
    };
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("{cls}.__init_subclass__() takes no keyword arguments")));
    }
    if a.pos.len() > 1 {
        let n = a.pos.len() - 1;
        return Err(Exc::type_error(format!("{cls}.__init_subclass__() takes no arguments ({n} given)")));
    }
    Ok(Value::None)
}

/// `object.__subclasshook__(cls, ...)`: `NotImplemented` (the normal `issubclass` rules).
fn object_subclasshook(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("__subclasshook__() takes no keyword arguments"));
    }
    Ok(Value::NotImplemented)
}

/// `BaseException.__str__(self)`: `''` without arguments, the single argument's `str`,
/// else the args tuple's.
fn exception_str(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match a.pos.first().cloned() {
        Some(Value::Instance(i)) if a.pos.len() == 1 && a.kw.is_empty() => {
            let args = i.get_attr(vm.syms.args).unwrap_or(Value::tuple(vec![]));
            match &args {
                Value::Tuple(t) if t.is_empty() => Ok(Value::str("")),
                Value::Tuple(t) if t.len() == 1 => vm.str_of(&t[0]).map(Value::string),
                other => vm.repr(other).map(Value::string),
            }
        }
        _ => exception_args_error(vm, a, "__str__"),
    }
}

/// `KeyError.__str__(self)`: as `BaseException`'s, but a single argument's `repr`.
fn key_error_str(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match a.pos.first().cloned() {
        Some(Value::Instance(i)) if a.pos.len() == 1 && a.kw.is_empty() => vm.exception_str(&i).map(Value::string),
        _ => exception_args_error(vm, a, "__str__"),
    }
}

/// `BaseException.__repr__(self)`: `Name(args...)`.
fn exception_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match a.pos.first().cloned() {
        Some(Value::Instance(i)) if a.pos.len() == 1 && a.kw.is_empty() => vm.exception_repr(&i).map(Value::string),
        _ => exception_args_error(vm, a, "__repr__"),
    }
}

/// The `TypeError` for a bad call of a `BaseException` slot wrapper.
fn exception_args_error(vm: &Vm, a: &Args, name: &str) -> Res<Value> {
    match a.pos.first() {
        None => Err(Exc::type_error(format!("descriptor '{name}' of 'BaseException' object needs an argument"))),
        Some(Value::Instance(i)) if i.class.is_subclass(vm.exc_class(ExcKind::BaseException)) => {
            if !a.kw.is_empty() {
                return Err(Exc::type_error(format!("wrapper {name}() takes no keyword arguments")));
            }
            Err(Exc::type_error(format!("expected 0 arguments, got {}", a.pos.len() - 1)))
        }
        Some(other) => Err(Exc::type_error(format!(
            "descriptor '{name}' requires a 'BaseException' object but received a '{}'",
            vm.type_name(other)
        ))),
    }
}

/// A class method of `object`, as its namespace stores it.
fn class_method(name: &'static str, func: NativeFn) -> Value {
    let f = Value::Native(Rc::new(NativeFunction { fast: None, name, func, receiver: None, owner: Some("object") }));
    Value::Descriptor(Rc::new(Descriptor::ClassMethod(f)))
}

/// Registers `object`'s methods, the exceptions' `__str__`/`__repr__`, and `__hash__ = None`
/// on the mutable built-in containers (which would otherwise inherit `object`'s).
pub fn install(vm: &mut Vm) {
    vm.add_methods(
        TypeId::Object,
        &[
            ("__setattr__", object_setattr),
            ("__getattribute__", object_getattribute),
            ("__delattr__", object_delattr),
            ("__repr__", object_repr),
            ("__str__", object_str),
            ("__hash__", object_hash),
            ("__eq__", object_eq),
            ("__ne__", object_ne),
            ("__lt__", object_lt),
            ("__le__", object_le),
            ("__gt__", object_gt),
            ("__ge__", object_ge),
            ("__format__", object_format),
            ("__dir__", object_dir),
            ("__sizeof__", object_sizeof),
        ],
    );
    {
        let object = vm.type_class(TypeId::Object).clone();
        let mut d = object.dict.borrow_mut();
        d.insert(vm.syms.init_subclass, class_method("__init_subclass__", object_init_subclass));
        d.insert(Sym::new("__subclasshook__"), class_method("__subclasshook__", object_subclasshook));
    }
    for id in [TypeId::List, TypeId::Dict, TypeId::Set, TypeId::ByteArray] {
        vm.type_class(id).dict.borrow_mut().insert(vm.syms.hash, Value::None);
    }
    let exception_methods: [(ExcKind, &'static str, NativeFn); 3] = [
        (ExcKind::BaseException, "__str__", exception_str),
        (ExcKind::BaseException, "__repr__", exception_repr),
        (ExcKind::KeyError, "__str__", key_error_str),
    ];
    for (kind, name, func) in exception_methods {
        let f =
            Value::Native(Rc::new(NativeFunction { fast: None, name, func, receiver: None, owner: Some(kind.name()) }));
        vm.exc_class(kind).dict.borrow_mut().insert(Sym::new(name), f);
    }
    crate::vm::value::bump_class_epoch();
}

impl Vm {
    /// Calls `__init_subclass__(**kw)` of the new class's nearest base, as `type.__new__`
    /// does after `__set_name__` (`object`'s accepts no keywords).
    pub(crate) fn init_subclass(&mut self, class: &Rc<crate::vm::value::Class>, kw: Vec<(Sym, Value)>) -> Res<()> {
        let name = self.syms.init_subclass;
        let found = class.mro.iter().find_map(|c| c.dict.borrow().get(&name).cloned());
        match found {
            None => Ok(()),
            Some(f) if crate::vm::attr::is_object_default(&f) => {
                if kw.is_empty() {
                    return Ok(());
                }
                Err(Exc::type_error(format!("{}.__init_subclass__() takes no keyword arguments", class.name)))
            }
            Some(_) => {
                let sup = Value::descriptor(Descriptor::Super { cls: class.clone(), obj: Value::Class(class.clone()) });
                let f = self.get_attr(&sup, name)?;
                self.call_kw(&f, vec![], kw)?;
                Ok(())
            }
        }
    }
}
