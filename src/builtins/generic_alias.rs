//! `types.GenericAlias`: the value of `list[int]`, `dict[str, list[int]]`,
//! `tuple[int, ...]`. It prints as written, holds the subscripted class in `__origin__`
//! and the subscript in `__args__`, compares equal to an alias of the same parts, calls
//! its origin when called, reads other attributes from its origin, and joins unions
//! (`list[int] | None`); `isinstance` refuses it, as CPython does.

use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Descriptor, Value};
use crate::vm::{Args, Exc, NativeFn, Res, Sym, TypeId, Vm};
use std::rc::Rc;

/// A parameterized generic: `origin[args]`.
pub struct GenericAlias {
    /// The subscripted object (usually a class).
    origin: Value,
    /// The subscript, split into its items when it is a tuple.
    args: Vec<Value>,
}

/// The alias behind a value; `None` for any other value.
pub fn as_alias(v: &Value) -> Option<&GenericAlias> {
    match v {
        Value::Other(o) => o.as_any().downcast_ref::<GenericAlias>(),
        _ => None,
    }
}

/// True when `v` is a generic alias.
pub fn is_alias(v: &Value) -> bool {
    as_alias(v).is_some()
}

/// `origin[key]` as an alias (a tuple key gives one argument per item).
pub fn make(vm: &mut Vm, origin: Value, key: Value) -> Value {
    let args = match key {
        Value::Tuple(t) => t.to_vec(),
        other => vec![other],
    };
    alias_class(vm);
    Value::Other(Rc::new(GenericAlias { origin, args }))
}

/// The class of generic aliases (`types.GenericAlias`), made on first use: it prints as
/// `<class 'types.GenericAlias'>` and is callable as `GenericAlias(origin, args)`.
pub fn alias_class(vm: &mut Vm) -> Rc<Class> {
    if let Some(c) = vm.other_classes.borrow().get("GenericAlias") {
        return c.clone();
    }
    let class = crate::asyncio::native_class(vm, "GenericAlias", None, alias_new);
    class.dict.borrow_mut().insert(vm.syms.module, Value::str("types"));
    let _ = class.tp_name.set(Rc::from("types.GenericAlias"));
    crate::vm::value::bump_class_epoch();
    class
}

/// `GenericAlias(origin, args)`.
fn alias_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("GenericAlias() takes no keyword arguments"));
    }
    let n = a.pos.len().saturating_sub(1);
    if n != 2 {
        return Err(Exc::type_error(format!("GenericAlias expected 2 arguments, got {n}")));
    }
    Ok(make(vm, a.pos[1].clone(), a.pos[2].clone()))
}

/// `cls.__class_getitem__(key)` of the built-in generic classes (`list`, `dict`, ...,
/// `asyncio.Future`, `asyncio.Queue`): `cls[key]` as an alias.
pub fn class_getitem(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::no_keywords("__class_getitem__", a)?;
    if a.pos.len() != 2 {
        let name = match a.pos.first() {
            Some(Value::Class(c)) => c.name.to_string(),
            _ => "type".into(),
        };
        let n = a.pos.len().saturating_sub(1);
        return Err(Exc::type_error(format!("{name}.__class_getitem__() takes exactly one argument ({n} given)")));
    }
    Ok(make(vm, a.pos[0].clone(), a.pos[1].clone()))
}

/// Gives `class` a `__class_getitem__` classmethod making generic aliases.
pub fn make_generic(class: &Class) {
    let f = crate::builtins::native("__class_getitem__", class_getitem);
    class.dict.borrow_mut().insert(Sym::new("__class_getitem__"), Value::descriptor(Descriptor::ClassMethod(f)));
    crate::vm::value::bump_class_epoch();
}

/// Makes the built-in classes CPython lets scripts subscript generic.
pub fn install(vm: &mut Vm) {
    for id in [TypeId::List, TypeId::Dict, TypeId::Set, TypeId::FrozenSet, TypeId::Tuple, TypeId::Enumerate] {
        make_generic(vm.type_class(id));
    }
}

/// True when `a` and `b` are the same type argument: the same object, or aliases of the
/// same parts (what a union compares its members with).
pub fn same_arg(a: &Value, b: &Value) -> bool {
    if a.is(b) {
        return true;
    }
    match (as_alias(a), as_alias(b)) {
        (Some(x), Some(y)) => {
            same_arg(&x.origin, &y.origin)
                && x.args.len() == y.args.len()
                && x.args.iter().zip(&y.args).all(|(p, q)| same_arg(p, q))
        }
        _ => match (a, b) {
            (Value::Str(x), Value::Str(y)) => x.as_str() == y.as_str(),
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::None, Value::None) | (Value::Ellipsis, Value::Ellipsis) => true,
            _ => false,
        },
    }
}

/// A hash of a type argument consistent with [`same_arg`] (and with the alias `==`).
pub fn arg_hash(v: &Value) -> i64 {
    match v {
        Value::Other(o) => o.hash().unwrap_or_else(|| v.id() >> 4),
        Value::Class(_) | Value::Function(_) | Value::Native(_) | Value::Module(_) => v.id() >> 4,
        Value::Tuple(t) => t.iter().fold(0x345678, |h: i64, x| h.wrapping_mul(1_000_003) ^ arg_hash(x)),
        Value::None => 0x5a5a,
        Value::Ellipsis => 0x3c3c,
        // Equal values of other kinds may still be told apart by `==` only; a shared
        // hash keeps them consistent.
        _ => 0,
    }
}

impl GenericAlias {
    fn parts_hash(&self) -> i64 {
        let args = self.args.iter().fold(0x345678, |h: i64, x| h.wrapping_mul(1_000_003) ^ arg_hash(x));
        (arg_hash(&self.origin) ^ args) >> 1
    }
}

/// How an argument (or the origin) prints: `...`, a class by its qualified name (with its
/// module unless built in), else its repr.
fn item_repr(vm: &mut Vm, v: &Value) -> Res<String> {
    if matches!(v, Value::Ellipsis) {
        return Ok("...".into());
    }
    if is_alias(v) {
        return vm.repr(v);
    }
    let Some(qualname) = vm.get_attr_opt(v, vm.syms.qualname)? else { return vm.repr(v) };
    let module = vm.get_attr_opt(v, vm.syms.module)?;
    match module {
        None | Some(Value::None) => vm.repr(v),
        Some(Value::Str(m)) if m.as_str() == "builtins" => vm.str_of(&qualname),
        Some(m) => Ok(format!("{}.{}", vm.str_of(&m)?, vm.str_of(&qualname)?)),
    }
}

fn this(a: &Args) -> Res<&GenericAlias> {
    a.pos.first().and_then(as_alias).ok_or_else(|| Exc::type_error("descriptor requires a 'types.GenericAlias' object"))
}

/// `repr(alias)`: `list[int]`, `tuple[()]`.
pub fn alias_repr(vm: &mut Vm, alias: &GenericAlias) -> Res<String> {
    let mut s = item_repr(vm, &alias.origin)?;
    s.push('[');
    if alias.args.is_empty() {
        s.push_str("()");
    }
    for (i, arg) in alias.args.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&item_repr(vm, arg)?);
    }
    s.push(']');
    Ok(s)
}

fn repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let me = a.pos.first().cloned().unwrap_or(Value::None);
    let Some(alias) = as_alias(&me) else { return Err(Exc::type_error("a 'types.GenericAlias' object is required")) };
    alias_repr(vm, alias).map(|s| Value::str(&s))
}

/// Whether the receiver equals `a.pos[1]`; `None` when that is not an alias.
fn equal(vm: &mut Vm, a: &Args) -> Res<Option<bool>> {
    let me = this(a)?;
    let Some(other) = a.pos.get(1).and_then(as_alias) else { return Ok(None) };
    if !vm.eq(&me.origin, &other.origin)? || me.args.len() != other.args.len() {
        return Ok(Some(false));
    }
    for (x, y) in me.args.iter().zip(&other.args) {
        if !vm.eq(x, y)? {
            return Ok(Some(false));
        }
    }
    Ok(Some(true))
}

fn eq(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(equal(vm, a)?.map_or(Value::NotImplemented, Value::Bool))
}

fn ne(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(equal(vm, a)?.map_or(Value::NotImplemented, |b| Value::Bool(!b)))
}

fn hash(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(this(a)?.parts_hash()))
}

/// `alias[x]`: with no type variables to substitute, always an error.
fn getitem(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = repr(vm, a)?;
    Err(Exc::type_error(format!("{} is not a generic class", vm.str_of(&r)?)))
}

/// `__mro_entries__(bases)`: a class statement listing `list[int]` derives from `list`.
fn mro_entries(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::tuple(vec![this(a)?.origin.clone()]))
}

/// The origin's attributes an alias shows as its own (besides every name that is not a
/// dunder): CPython forwards all names, but here the VM looks up protocol dunders
/// (`__len__`, `__str__`, ...) on the object, so those must stay the alias's.
const FORWARDED_DUNDERS: &[&str] =
    &["__name__", "__qualname__", "__module__", "__doc__", "__mro__", "__bases__", "__dict__", "__annotations__"];

impl NativeObject for GenericAlias {
    fn type_name(&self) -> &'static str {
        "GenericAlias"
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        let f: (&'static str, NativeFn) = match s.as_str() {
            "__origin__" => return Ok(Some(self.origin.clone())),
            "__args__" => return Ok(Some(Value::tuple(self.args.clone()))),
            "__parameters__" => return Ok(Some(Value::tuple(Vec::new()))),
            "__unpacked__" => return Ok(Some(Value::Bool(false))),
            "__class__" => return Ok(Some(Value::Class(alias_class(vm)))),
            "__repr__" => ("__repr__", repr),
            "__eq__" => ("__eq__", eq),
            "__ne__" => ("__ne__", ne),
            "__hash__" => ("__hash__", hash),
            "__getitem__" => ("__getitem__", getitem),
            "__mro_entries__" => ("__mro_entries__", mro_entries),
            _ => {
                let dunder = s.len() > 4 && s.starts_with("__") && s.ends_with("__");
                if dunder && !FORWARDED_DUNDERS.contains(&s.as_str()) {
                    return Ok(None);
                }
                // A missing attribute is the origin's error (`type object 'list' ...`).
                let origin = self.origin.clone();
                return vm.get_attr(&origin, name).map(Some);
            }
        };
        Ok(Some(crate::builtins::bound_native(this.clone(), f.0, f.1)))
    }
    fn call(&self, vm: &mut Vm, this: &Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Option<Res<Value>> {
        let origin = self.origin.clone();
        let r = match vm.call_kw(&origin, args, kw) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        // Instances of script classes remember the alias that made them.
        if let Value::Instance(_) = &r {
            let _ = vm.set_attr(&r, Sym::new("__orig_class__"), this.clone());
        }
        Some(Ok(r))
    }
    fn is_callable(&self) -> bool {
        true
    }
    fn hash(&self) -> Option<i64> {
        Some(self.parts_hash())
    }
    fn repr(&self) -> String {
        "types.GenericAlias".into()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
