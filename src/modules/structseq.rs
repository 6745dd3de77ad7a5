//! Named tuples made by native modules (`sys.version_info`): indexable, iterable, comparable
//! like a tuple, with the fields as attributes.

use crate::bytecode::CmpKind;
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Value};
use crate::vm::{Args, Exc, NativeFn, Res, Sym, Vm};
use std::rc::Rc;

/// A tuple with named fields.
pub struct StructSeq {
    /// The repr's type name, e.g. `sys.version_info`.
    pub name: &'static str,
    /// The field names.
    pub fields: &'static [&'static str],
    /// The values (a tuple).
    pub values: Value,
    /// Named values that are attributes only, not items (`tm_zone` of a `struct_time`).
    pub extra: Vec<(&'static str, Value)>,
    /// The class, when it has one of its own (`time.struct_time`); otherwise one is made
    /// from the name.
    pub class: Option<Rc<Class>>,
}

/// Makes a struct sequence value.
pub fn new(name: &'static str, fields: &'static [&'static str], values: Vec<Value>) -> Value {
    Value::Other(Rc::new(StructSeq { name, fields, values: Value::tuple(values), extra: Vec::new(), class: None }))
}

/// The struct sequence behind a value, if it is one.
pub fn as_structseq(v: &Value) -> Option<&StructSeq> {
    match v {
        Value::Other(o) => o.as_any().downcast_ref::<StructSeq>(),
        _ => None,
    }
}

fn inner(a: &Args) -> Res<Value> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(s) = o.as_any().downcast_ref::<StructSeq>() {
            return Ok(s.values.clone());
        }
    }
    Err(Exc::type_error("struct sequence expected"))
}

fn other_tuple(a: &Args) -> Value {
    match a.pos.get(1) {
        Some(Value::Other(o)) => match o.as_any().downcast_ref::<StructSeq>() {
            Some(s) => s.values.clone(),
            None => Value::NotImplemented,
        },
        Some(v @ Value::Tuple(_)) => v.clone(),
        _ => Value::NotImplemented,
    }
}

fn cmp(vm: &mut Vm, a: &Args, kind: CmpKind) -> Res<Value> {
    let me = inner(a)?;
    let other = other_tuple(a);
    if matches!(other, Value::NotImplemented) {
        return Ok(other);
    }
    vm.compare(kind, &me, &other)
}

fn lt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cmp(vm, a, CmpKind::Lt)
}
fn le(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cmp(vm, a, CmpKind::Le)
}
fn gt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cmp(vm, a, CmpKind::Gt)
}
fn ge(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cmp(vm, a, CmpKind::Ge)
}
fn eq(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cmp(vm, a, CmpKind::Eq)
}
fn ne(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    cmp(vm, a, CmpKind::Ne)
}
fn getitem(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let me = inner(a)?;
    vm.get_item(&me, &a.pos.get(1).cloned().unwrap_or(Value::None))
}
fn iter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let me = inner(a)?;
    vm.get_iter(&me)
}
fn len(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match inner(a)? {
        Value::Tuple(t) => Ok(Value::Int(t.len() as i64)),
        _ => Ok(Value::Int(0)),
    }
}
fn hash(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let me = inner(a)?;
    vm.hash(&me).map(Value::Int)
}
/// `s + t`: a tuple, as for any `tuple` subclass; anything but a tuple is refused with the
/// tuple's words.
fn add(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let me = inner(a)?;
    match other_tuple(a) {
        Value::NotImplemented => {
            let t = a.pos.get(1).map_or_else(|| Rc::from("NoneType"), |v| vm.type_name(v));
            Err(Exc::type_error(format!("can only concatenate tuple (not \"{t}\") to tuple")))
        }
        other => vm.binary_op(crate::ast::BinOp::Add, me, other),
    }
}

fn repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(s) = a.pos.first().and_then(as_structseq) else { return Err(Exc::type_error("struct sequence expected")) };
    let items = vm.collect(&s.values)?;
    let mut parts = Vec::with_capacity(items.len());
    for (f, v) in s.fields.iter().zip(items.iter()) {
        parts.push(format!("{f}={}", vm.repr(v)?));
    }
    Ok(Value::str(&format!("{}({})", s.name, parts.join(", "))))
}

impl NativeObject for StructSeq {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn hashes_as(&self) -> Option<&Value> {
        Some(&self.values)
    }
    fn as_tuple(&self) -> Option<&Value> {
        Some(&self.values)
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        if let Some(i) = self.fields.iter().position(|f| *f == s) {
            return vm.get_item(&self.values, &Value::Int(i as i64)).map(Some);
        }
        if let Some((_, v)) = self.extra.iter().find(|(f, _)| *f == s) {
            return Ok(Some(v.clone()));
        }
        // The tuple's methods and operators.
        if matches!(s.as_str(), "count" | "index" | "__mul__" | "__rmul__" | "__contains__") {
            let values = self.values.clone();
            return vm.get_attr_opt(&values, name);
        }
        let f: (&'static str, NativeFn) = match s.as_str() {
            "__lt__" => ("__lt__", lt),
            "__le__" => ("__le__", le),
            "__gt__" => ("__gt__", gt),
            "__ge__" => ("__ge__", ge),
            "__eq__" => ("__eq__", eq),
            "__ne__" => ("__ne__", ne),
            "__getitem__" => ("__getitem__", getitem),
            "__iter__" => ("__iter__", iter),
            "__len__" => ("__len__", len),
            "__hash__" => ("__hash__", hash),
            "__repr__" => ("__repr__", repr),
            "__add__" => ("__add__", add),
            _ => return Ok(None),
        };
        Ok(Some(crate::builtins::bound_native(this.clone(), f.0, f.1)))
    }
    fn class(&self) -> Option<Rc<Class>> {
        self.class.clone()
    }
    fn repr(&self) -> String {
        let Value::Tuple(t) = &self.values else { return String::new() };
        let parts: Vec<String> = self
            .fields
            .iter()
            .zip(t.iter())
            .map(|(f, v)| {
                let r = match v {
                    Value::Int(i) => i.to_string(),
                    Value::Str(s) => crate::vm::repr_str(s.as_str()),
                    Value::Float(x) => crate::text::float_repr::float_repr(*x),
                    _ => "...".to_string(),
                };
                format!("{f}={r}")
            })
            .collect();
        format!("{}({})", self.name, parts.join(", "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
