//! `types.UnionType`: the value of `int | str`, `A | None`. It prints as `int | str`, holds
//! its classes in `__args__` (flattened and without repeats), compares equal to a union of
//! the same classes in any order, and serves `isinstance`/`issubclass` as a tuple would.

use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, NativeFn, Res, Sym, TypeId, Vm};
use std::rc::Rc;

/// A union of classes (`None` is kept as `NoneType`).
pub struct UnionType {
    /// The member classes, in order of first appearance.
    args: Vec<Value>,
}

/// The classes of a union value; `None` for any other value.
pub fn union_args(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Other(o) => o.as_any().downcast_ref::<UnionType>().map(|u| u.args.as_slice()),
        _ => None,
    }
}

/// `a | b` when it makes a union (`type.__or__`): both sides are classes, `None` or unions,
/// and at least one is not `None`. `None` when the operator does not apply.
#[cold]
pub fn union_or(vm: &Vm, a: &Value, b: &Value) -> Option<Value> {
    let is_type =
        |v: &Value| matches!(v, Value::Class(_)) || union_args(v).is_some() || super::generic_alias::is_alias(v);
    if !(is_type(a) || is_type(b)) || !(is_type(a) || matches!(a, Value::None)) {
        return None;
    }
    if !(is_type(b) || matches!(b, Value::None)) {
        return None;
    }
    let mut args: Vec<Value> = Vec::new();
    for side in [a, b] {
        let parts = match union_args(side) {
            Some(parts) => parts.to_vec(),
            None if matches!(side, Value::None) => vec![Value::Class(vm.type_class(TypeId::NoneType).clone())],
            None => vec![side.clone()],
        };
        for p in parts {
            if !args.iter().any(|q| super::generic_alias::same_arg(q, &p)) {
                args.push(p);
            }
        }
    }
    if args.len() == 1 {
        return args.pop();
    }
    let u = Value::Other(Rc::new(UnionType { args }));
    set_class_module(vm, &u);
    Some(u)
}

/// Gives the class of unions (made on first use) its module, so that it prints as
/// `<class 'types.UnionType'>`; returns it.
fn set_class_module(vm: &Vm, u: &Value) -> Rc<crate::vm::value::Class> {
    let class = vm.class_of(u);
    if !class.dict.borrow().contains_key(&vm.syms.module) {
        class.dict.borrow_mut().insert(vm.syms.module, Value::str("types"));
        let _ = class.tp_name.set(Rc::from("types.UnionType"));
        crate::vm::value::bump_class_epoch();
    }
    class
}

/// The class of unions, `types.UnionType`.
pub fn union_class(vm: &Vm) -> Rc<crate::vm::value::Class> {
    set_class_module(vm, &Value::Other(Rc::new(UnionType { args: Vec::new() })))
}

/// How a member prints in the union's repr: `None`, a built-in's name, `module.Qualname`.
fn member_repr(vm: &mut Vm, v: &Value) -> Res<String> {
    if let Value::Class(c) = v {
        if Rc::ptr_eq(c, vm.type_class(TypeId::NoneType)) {
            return Ok("None".into());
        }
        let qualname = c.qualname.borrow().to_string();
        return Ok(match vm.get_attr_opt(v, Sym::new("__module__"))? {
            Some(Value::Str(m)) if m.as_str() != "builtins" => format!("{}.{qualname}", m.as_str()),
            _ => qualname,
        });
    }
    vm.repr(v)
}

fn this(a: &Args) -> &[Value] {
    a.pos.first().and_then(union_args).unwrap_or(&[])
}

fn repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mut parts = Vec::new();
    for m in this(a).to_vec() {
        parts.push(member_repr(vm, &m)?);
    }
    Ok(Value::str(&parts.join(" | ")))
}

fn same_members(a: &Args) -> Option<bool> {
    let (mine, other) = (this(a), a.pos.get(1).and_then(union_args)?);
    let same = super::generic_alias::same_arg;
    Some(mine.len() == other.len() && mine.iter().all(|m| other.iter().any(|o| same(o, m))))
}

fn eq(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(same_members(a).map_or(Value::NotImplemented, Value::Bool))
}

fn ne(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(same_members(a).map_or(Value::NotImplemented, |b| Value::Bool(!b)))
}

impl UnionType {
    /// The hash of the set of members: equal unions (in any order) hash alike.
    fn members_hash(&self) -> i64 {
        let mut h: u64 = 0x9e37_79b9;
        for m in &self.args {
            let x = (super::generic_alias::arg_hash(m) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            h ^= x ^ (x >> 29);
        }
        (h >> 1) as i64
    }
}

fn getitem(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = repr(vm, a)?;
    Err(Exc::type_error(format!("{} is not a generic class", vm.str_of(&r)?)))
}

fn hash(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let h = match a.pos.first() {
        Some(Value::Other(o)) => o.as_any().downcast_ref::<UnionType>().map_or(0, UnionType::members_hash),
        _ => 0,
    };
    Ok(Value::Int(h))
}

impl NativeObject for UnionType {
    fn type_name(&self) -> &'static str {
        "UnionType"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: (&'static str, NativeFn) = match &*name.to_string_owned() {
            "__args__" => return Ok(Some(Value::tuple(self.args.clone()))),
            "__parameters__" => return Ok(Some(Value::tuple(Vec::new()))),
            "__repr__" => ("__repr__", repr),
            "__eq__" => ("__eq__", eq),
            "__ne__" => ("__ne__", ne),
            "__hash__" => ("__hash__", hash),
            "__getitem__" => ("__getitem__", getitem),
            _ => return Ok(None),
        };
        Ok(Some(crate::builtins::bound_native(this.clone(), f.0, f.1)))
    }
    fn hash(&self) -> Option<i64> {
        Some(self.members_hash())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
