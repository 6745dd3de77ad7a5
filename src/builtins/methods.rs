//! Methods of the built-in container types and of generators.

use super::functions::{len_of, sorted_vec};
use super::{check_args, check_method_args, take_kw};
use crate::vm::gen::GenResult;
use crate::vm::other::NativeObject;
use crate::vm::value::{DictObj, IterState, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, TypeId, Vm};
use std::rc::Rc;

fn this_list(a: &Args) -> Res<Rc<crate::vm::value::List>> {
    match a.pos.first() {
        Some(Value::List(l)) => Ok(l.clone()),
        _ => Err(Exc::type_error("descriptor requires a 'list' object")),
    }
}

fn list_append(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.append", a, 2, 2)?;
    let l = this_list(a)?;
    list_push(vm, &l, std::mem::take(&mut a.pos[1]))?;
    Ok(Value::None)
}

/// `list.append`'s work, shared with the dispatch loop's inline `xs.append(v)`.
#[inline]
pub(crate) fn list_push(vm: &mut Vm, l: &crate::vm::value::List, v: Value) -> Res<()> {
    vm.mem_charge_push(l)?;
    let mut items = l.items.borrow_mut();
    crate::vm::mem::room_for_one(&mut items)?;
    items.push(v);
    Ok(())
}

fn list_extend(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.extend", a, 2, 2)?;
    let l = this_list(a)?;
    let items = vm.collect(&a.pos[1].clone())?;
    vm.mem_charge(items.len() * std::mem::size_of::<Value>())?;
    let mut dst = l.items.borrow_mut();
    crate::vm::mem::room_for(&mut dst, items.len())?;
    dst.extend(items);
    Ok(Value::None)
}

pub(super) fn list_pop(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.pop", a, 1, 2)?;
    let l = this_list(a)?;
    let i = match a.pos.get(1) {
        Some(v) => vm.index_value(&v.clone())?,
        None => -1,
    };
    let mut items = l.items.borrow_mut();
    if items.is_empty() {
        return Err(Exc::index_error("pop from empty list"));
    }
    match crate::vm::norm_index(i, items.len()) {
        Some(j) => Ok(items.remove(j)),
        None => Err(Exc::index_error("pop index out of range")),
    }
}

fn list_insert(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.insert", a, 3, 3)?;
    let l = this_list(a)?;
    let i = vm.index_value(&a.pos[1].clone())?;
    vm.mem_charge_push(&l)?;
    let mut items = l.items.borrow_mut();
    let len = items.len() as i64;
    let j = if i < 0 { (i + len).max(0) } else { i.min(len) };
    crate::vm::mem::room_for_one(&mut items)?;
    items.insert(j as usize, a.pos[2].clone());
    Ok(Value::None)
}

fn list_remove(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.remove", a, 2, 2)?;
    let l = this_list(a)?;
    let items = l.items.borrow().clone();
    for (i, v) in items.iter().enumerate() {
        if vm.eq(v, &a.pos[1])? {
            l.items.borrow_mut().remove(i);
            return Ok(Value::None);
        }
    }
    Err(Exc::value_error("list.remove(x): x not in list"))
}

fn seq_index(vm: &mut Vm, items: &[Value], a: &Args, what: &str) -> Res<Value> {
    let len = items.len() as i64;
    // Bounds clamp as CPython's `_PyEval_SliceIndexNotNone` does.
    let mut bound = |v: Option<&Value>, default: i64| match v {
        None => Ok(default),
        Some(Value::BigInt(b)) => Ok(if num_traits::Signed::is_negative(&**b) { i64::MIN } else { i64::MAX }),
        Some(v) => vm.index_value(v),
    };
    let start = bound(a.pos.get(2), 0)?;
    let stop = bound(a.pos.get(3), len)?;
    let norm = |x: i64| if x < 0 { (x + len).max(0) } else { x.min(len) };
    for i in norm(start)..norm(stop) {
        if vm.eq(&items[i as usize], &a.pos[1])? {
            return Ok(Value::Int(i));
        }
    }
    if what == "list" {
        let r = vm.repr(&a.pos[1])?;
        return Err(Exc::value_error(format!("{r} is not in list")));
    }
    Err(Exc::value_error(format!("{what}.index(x): x not in {what}")))
}

fn list_index(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.index", a, 2, 4)?;
    let items = this_list(a)?.items.borrow().clone();
    seq_index(vm, &items, a, "list")
}

fn list_count(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("list.count", a, 2, 2)?;
    let items = this_list(a)?.items.borrow().clone();
    let mut n = 0;
    for v in &items {
        if vm.eq(v, &a.pos[1])? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

fn list_sort(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let key = take_kw(a, "key");
    let reverse = take_kw(a, "reverse");
    super::functions::sort_no_more_kw(a)?;
    if a.pos.len() > 1 {
        return Err(Exc::type_error("sort() takes no positional arguments"));
    }
    check_args("sort", a, 1, 1)?;
    let l = this_list(a)?;
    let reverse = super::functions::sort_reverse(vm, reverse)?;
    let items = std::mem::take(&mut *l.items.borrow_mut());
    let r = sorted_vec(vm, items.clone(), key, reverse);
    match r {
        Ok(sorted) => {
            *l.items.borrow_mut() = sorted;
            Ok(Value::None)
        }
        Err(e) => {
            *l.items.borrow_mut() = items;
            Err(e)
        }
    }
}

fn list_reverse(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let l = this_list(a)?;
    check_method_args("list.reverse", a, 1, 1)?;
    l.items.borrow_mut().reverse();
    Ok(Value::None)
}

fn list_copy(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let l = this_list(a)?;
    check_method_args("list.copy", a, 1, 1)?;
    let items = l.items.borrow().clone();
    Ok(Value::list(items))
}

fn list_clear(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let l = this_list(a)?;
    check_method_args("list.clear", a, 1, 1)?;
    l.items.borrow_mut().clear();
    Ok(Value::None)
}

fn tuple_index(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("tuple.index", a, 2, 4)?;
    let Some(Value::Tuple(t)) = a.pos.first().cloned() else { return Err(Exc::type_error("tuple expected")) };
    seq_index(vm, &t, a, "tuple")
}

fn tuple_count(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("tuple.count", a, 2, 2)?;
    let Some(Value::Tuple(t)) = a.pos.first().cloned() else { return Err(Exc::type_error("tuple expected")) };
    let mut n = 0;
    for v in t.iter() {
        if vm.eq(v, &a.pos[1])? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

// ---- dict ----

fn this_dict(a: &Args) -> Res<Rc<DictObj>> {
    match a.pos.first() {
        Some(Value::Dict(d)) => Ok(d.clone()),
        _ => Err(Exc::type_error("descriptor requires a 'dict' object")),
    }
}

pub(super) fn dict_get(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("dict.get", a, 2, 3)?;
    let d = this_dict(a)?;
    Ok(vm.dict_get(&d, &a.pos[1].clone())?.unwrap_or_else(|| a.pos.get(2).cloned().unwrap_or(Value::None)))
}

fn dict_setdefault(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("dict.setdefault", a, 2, 3)?;
    let d = this_dict(a)?;
    let k = a.pos[1].clone();
    if let Some(v) = vm.dict_get(&d, &k)? {
        return Ok(v);
    }
    let v = a.pos.get(2).cloned().unwrap_or(Value::None);
    vm.dict_set(&d, k, v.clone())?;
    Ok(v)
}

fn dict_pop(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("dict.pop", a, 2, 3)?;
    let d = this_dict(a)?;
    let k = a.pos[1].clone();
    match vm.dict_remove(&d.d, &k)? {
        Some(v) => Ok(v),
        None => match a.pos.get(2) {
            Some(def) => Ok(def.clone()),
            None => Err(vm.exception_with_args(ExcKind::KeyError, vec![k])),
        },
    }
}

fn dict_popitem(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let d = this_dict(a)?;
    check_method_args("dict.popitem", a, 1, 1)?;
    let pos = d.d.borrow().last_pos();
    match pos {
        Some(p) => {
            let e = d.d.borrow_mut().remove_at(p);
            Ok(Value::tuple(vec![e.key, e.value]))
        }
        None => Err(Exc::new(ExcKind::KeyError, "popitem(): dictionary is empty")),
    }
}

fn dict_update(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let kw = std::mem::take(&mut a.kw);
    check_method_args("dict.update", a, 1, 2)?;
    let d = a.pos[0].clone();
    if let Some(src) = a.pos.get(1).cloned() {
        vm.dict_update_from(&d, &src, false)?;
    }
    for (k, v) in kw {
        vm.set_item(&d, Value::str(&k.as_rc()), v)?;
    }
    Ok(Value::None)
}

fn dict_copy(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let d = this_dict(a)?;
    check_method_args("dict.copy", a, 1, 1)?;
    let c = d.d.borrow().clone();
    Ok(Value::dict(c))
}

fn dict_clear(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let d = this_dict(a)?;
    check_method_args("dict.clear", a, 1, 1)?;
    d.d.borrow_mut().clear();
    Ok(Value::None)
}

fn dict_fromkeys(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    // Called as a class method: pos[0] is the class.
    check_method_args("dict.fromkeys", a, 2, 3)?;
    let keys = vm.collect(&a.pos[1].clone())?;
    let v = a.pos.get(2).cloned().unwrap_or(Value::None);
    let d = Value::dict(crate::vm::dict::Dict::new());
    for k in keys {
        vm.set_item(&d, k, v.clone())?;
    }
    Ok(d)
}

/// A live view over a dict's keys, values or items.
pub struct DictView {
    dict: Rc<DictObj>,
    kind: u8,
}

impl NativeObject for DictView {
    fn type_name(&self) -> &'static str {
        match self.kind {
            0 => "dict_keys",
            1 => "dict_values",
            _ => "dict_items",
        }
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        let f: NativeFn = match s.as_str() {
            "__iter__" => view_iter,
            "__len__" => view_len,
            "__contains__" => view_contains,
            "__repr__" => view_repr,
            "isdisjoint" => view_isdisjoint,
            "__and__" | "__rand__" => view_and,
            "__or__" | "__ror__" => view_or,
            "__sub__" => view_sub,
            "__xor__" | "__rxor__" => view_xor,
            "__eq__" => view_eq,
            "__ne__" => view_ne,
            "__lt__" => view_lt,
            "__le__" => view_le,
            "__gt__" => view_gt,
            "__ge__" => view_ge,
            "__reversed__" => view_reversed,
            _ => return Ok(None),
        };
        let name: &'static str = match s.as_str() {
            "__and__" | "__rand__" => "__and__",
            "__or__" | "__ror__" => "__or__",
            "__sub__" => "__sub__",
            "__xor__" | "__rxor__" => "__xor__",
            "__eq__" => "__eq__",
            "__ne__" => "__ne__",
            "__lt__" => "__lt__",
            "__le__" => "__le__",
            "__gt__" => "__gt__",
            "__ge__" => "__ge__",
            "__reversed__" => "__reversed__",
            "__iter__" => "__iter__",
            "__len__" => "__len__",
            "__contains__" => "__contains__",
            "__repr__" => "__repr__",
            _ => "isdisjoint",
        };
        Ok(Some(super::bound_native(this.clone(), name, f)))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn view_of(a: &Args) -> Res<(Rc<DictObj>, u8)> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(v) = o.as_any().downcast_ref::<DictView>() {
            return Ok((v.dict.clone(), v.kind));
        }
    }
    Err(Exc::type_error("dict view expected"))
}

fn view_iter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    let len = d.d.borrow().len();
    Ok(Value::iter(IterState::DictView { dict: d, index: 0, kind, len }))
}

fn view_reversed(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    let mut items = view_items(&d, kind);
    items.reverse();
    Ok(Value::iter(IterState::Vec { items, index: 0 }))
}

fn view_len(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (d, _) = view_of(a)?;
    let n = d.d.borrow().len();
    Ok(Value::Int(n as i64))
}

fn view_items(d: &Rc<DictObj>, kind: u8) -> Vec<Value> {
    d.d.borrow()
        .iter()
        .map(|e| match kind {
            0 => e.key.clone(),
            1 => e.value.clone(),
            _ => Value::tuple(vec![e.key.clone(), e.value.clone()]),
        })
        .collect()
}

fn view_contains(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    let item = a.pos.get(1).cloned().unwrap_or(Value::None);
    match kind {
        0 => Ok(Value::Bool(vm.dict_get(&d, &item)?.is_some())),
        _ => {
            for v in view_items(&d, kind) {
                if vm.eq(&v, &item)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
    }
}

fn view_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    let items = view_items(&d, kind);
    let inner = vm.repr(&Value::list(items))?;
    let name = match kind {
        0 => "dict_keys",
        1 => "dict_values",
        _ => "dict_items",
    };
    Ok(Value::string(format!("{name}({inner})")))
}

fn view_isdisjoint(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    let other = vm.collect(&a.pos.get(1).cloned().unwrap_or(Value::None))?;
    for v in view_items(&d, kind) {
        for o in &other {
            if vm.eq(&v, o)? {
                return Ok(Value::Bool(false));
            }
        }
    }
    Ok(Value::Bool(true))
}

fn view_setop(vm: &mut Vm, a: &Args, op: crate::ast::BinOp) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    let mine = vm.new_set(view_items(&d, kind))?;
    let other_items = vm.collect(&a.pos.get(1).cloned().unwrap_or(Value::None))?;
    let other = vm.new_set(other_items)?;
    vm.binary_op(op, mine, other)
}
fn view_and(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_setop(vm, a, crate::ast::BinOp::BitAnd)
}
fn view_or(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_setop(vm, a, crate::ast::BinOp::BitOr)
}
fn view_sub(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_setop(vm, a, crate::ast::BinOp::Sub)
}
fn view_xor(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_setop(vm, a, crate::ast::BinOp::BitXor)
}
/// A rich comparison of a keys or items view with a set or another such view,
/// as sets (`keys < {'a', 'b'}`); `NotImplemented` for anything else.
fn view_cmp(vm: &mut Vm, a: &Args, op: crate::bytecode::CmpKind) -> Res<Value> {
    let (d, kind) = view_of(a)?;
    if kind == 1 {
        return Ok(Value::NotImplemented);
    }
    let mine = vm.new_set(view_items(&d, kind))?;
    let other = a.pos.get(1).cloned().unwrap_or(Value::None);
    let other = match &other {
        Value::Set(_) | Value::FrozenSet(_) => other,
        Value::Other(o) if o.as_any().downcast_ref::<DictView>().is_some_and(|v| v.kind != 1) => {
            let items = vm.collect(&other)?;
            vm.new_set(items)?
        }
        _ => return Ok(Value::NotImplemented),
    };
    vm.compare(op, &mine, &other)
}
fn view_eq(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_cmp(vm, a, crate::bytecode::CmpKind::Eq)
}
fn view_ne(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_cmp(vm, a, crate::bytecode::CmpKind::Ne)
}
fn view_lt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_cmp(vm, a, crate::bytecode::CmpKind::Lt)
}
fn view_le(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_cmp(vm, a, crate::bytecode::CmpKind::Le)
}
fn view_gt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_cmp(vm, a, crate::bytecode::CmpKind::Gt)
}
fn view_ge(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    view_cmp(vm, a, crate::bytecode::CmpKind::Ge)
}

fn make_view(a: &Args, kind: u8) -> Res<Value> {
    let d = this_dict(a)?;
    check_method_args(["dict.keys", "dict.values", "dict.items"][kind as usize], a, 1, 1)?;
    Ok(Value::Other(Rc::new(DictView { dict: d, kind })))
}

fn dict_keys(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    make_view(a, 0)
}
fn dict_values(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    make_view(a, 1)
}
fn dict_items(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    make_view(a, 2)
}

// ---- set ----

fn this_set(a: &Args) -> Res<Rc<crate::vm::value::SetObj>> {
    match a.pos.first() {
        Some(Value::Set(s)) | Some(Value::FrozenSet(s)) => Ok(s.clone()),
        _ => Err(Exc::type_error("descriptor requires a 'set' object")),
    }
}

fn set_add(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("set.add", a, 2, 2)?;
    let s = a.pos[0].clone();
    vm.set_add(&s, a.pos[1].clone())?;
    Ok(Value::None)
}

fn set_discard(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("set.discard", a, 2, 2)?;
    let s = this_set(a)?;
    vm.set_discard(&s, &a.pos[1].clone())?;
    Ok(Value::None)
}

fn set_remove(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("set.remove", a, 2, 2)?;
    let s = this_set(a)?;
    let k = a.pos[1].clone();
    if vm.set_discard(&s, &k)? {
        Ok(Value::None)
    } else {
        Err(vm.exception_with_args(ExcKind::KeyError, vec![k]))
    }
}

fn set_pop(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = this_set(a)?;
    check_method_args("set.pop", a, 1, 1)?;
    let v = s.d.borrow_mut().pop();
    v.ok_or_else(|| Exc::new(ExcKind::KeyError, "pop from an empty set"))
}

fn set_clear(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = this_set(a)?;
    check_method_args("set.clear", a, 1, 1)?;
    s.d.borrow_mut().clear();
    Ok(Value::None)
}

fn set_copy(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = this_set(a)?;
    let frozen = matches!(a.pos[0], Value::FrozenSet(_));
    check_method_args(if frozen { "frozenset.copy" } else { "set.copy" }, a, 1, 1)?;
    let n = vm.set_copy(&s);
    match (&a.pos[0], n) {
        (Value::FrozenSet(_), Value::Set(x)) => Ok(Value::FrozenSet(x)),
        (_, n) => Ok(n),
    }
}

fn set_binop(vm: &mut Vm, a: &mut Args, op: crate::ast::BinOp) -> Res<Value> {
    let mut acc = super::receiver(a, "set.union")?;
    let frozen = matches!(acc, Value::FrozenSet(_));
    for other in &a.pos[1..] {
        let o = match &other {
            Value::Set(_) | Value::FrozenSet(_) => other.clone(),
            _ => {
                let o = vm.new_set(vec![])?;
                vm.set_update(&o, other)?;
                o
            }
        };
        acc = vm.binary_op(op, acc, o)?;
    }
    if a.pos.len() == 1 {
        let me = this_set(a)?;
        acc = vm.set_copy(&me);
    }
    if let (true, Value::Set(s)) = (frozen, &acc) {
        return Ok(Value::FrozenSet(s.clone()));
    }
    Ok(acc)
}

fn set_union(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_binop(vm, a, crate::ast::BinOp::BitOr)
}
fn set_intersection(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_binop(vm, a, crate::ast::BinOp::BitAnd)
}
fn set_difference(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_binop(vm, a, crate::ast::BinOp::Sub)
}
fn set_symmetric_difference(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("set.symmetric_difference", a, 2, 2)?;
    set_binop(vm, a, crate::ast::BinOp::BitXor)
}

fn set_update(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = super::receiver(a, "set.update")?;
    for other in &a.pos[1..] {
        vm.set_update(&s, other)?;
    }
    Ok(Value::None)
}

fn set_inplace(vm: &mut Vm, a: &mut Args, op: crate::ast::BinOp) -> Res<Value> {
    let s = this_set(a)?;
    let r = set_binop(vm, a, op)?;
    if let Value::Set(x) | Value::FrozenSet(x) = r {
        let d = x.d.borrow().clone();
        *s.d.borrow_mut() = d;
    }
    Ok(Value::None)
}

fn set_intersection_update(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_inplace(vm, a, crate::ast::BinOp::BitAnd)
}
fn set_difference_update(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_inplace(vm, a, crate::ast::BinOp::Sub)
}
fn set_symmetric_difference_update(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("set.symmetric_difference_update", a, 2, 2)?;
    set_inplace(vm, a, crate::ast::BinOp::BitXor)
}

fn set_rel(vm: &mut Vm, a: &mut Args, kind: crate::bytecode::CmpKind, swap: bool) -> Res<Value> {
    let name = if matches!(kind, crate::bytecode::CmpKind::Ge) { "set.issuperset" } else { "set.issubset" };
    check_method_args(name, a, 2, 2)?;
    let items = vm.collect(&a.pos[1].clone())?;
    let other = vm.new_set(items)?;
    let me = a.pos[0].clone();
    let r = if swap { vm.compare(kind, &other, &me)? } else { vm.compare(kind, &me, &other)? };
    Ok(r)
}

fn set_issubset(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_rel(vm, a, crate::bytecode::CmpKind::Le, false)
}
fn set_issuperset(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    set_rel(vm, a, crate::bytecode::CmpKind::Ge, false)
}
fn set_isdisjoint(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("set.isdisjoint", a, 2, 2)?;
    let s = this_set(a)?;
    for v in vm.collect(&a.pos[1].clone())? {
        if vm.set_contains(&s, &v)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

// ---- generators ----

fn this_gen(a: &Args) -> Res<Rc<crate::vm::gen::GenObj>> {
    match a.pos.first() {
        Some(Value::Gen(g)) => Ok(g.clone()),
        _ => Err(Exc::type_error("generator expected")),
    }
}

fn gen_result(vm: &mut Vm, r: GenResult) -> Res<Value> {
    match r {
        GenResult::Yield(v) => Ok(v),
        GenResult::Return(v) => {
            let args = if v.is_none() { vec![] } else { vec![v.clone()] };
            let e = vm.exception_with_args(ExcKind::StopIteration, args);
            if let Exc::Obj(i) = &e {
                i.set_attr(vm.syms.value, v);
            }
            Err(e)
        }
    }
}

fn gen_send(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("generator.send", a, 2, 2)?;
    let g = this_gen(a)?;
    let r = vm.gen_send(&g, a.pos[1].clone())?;
    gen_result(vm, r)
}

fn gen_next(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = this_gen(a)?;
    let r = vm.gen_send(&g, Value::None)?;
    gen_result(vm, r)
}

fn throw_exc(vm: &mut Vm, a: &Args) -> Res<Exc> {
    let t = a.pos.get(1).cloned().unwrap_or(Value::None);
    let v = a.pos.get(2).cloned();
    match (t, v) {
        (Value::Class(c), Some(val)) if !val.is_none() => {
            if matches!(&val, Value::Instance(i) if i.class.is_subclass(&c)) {
                vm.exc_from_value(val)
            } else {
                let inst = vm.call(&Value::Class(c), vec![val])?;
                vm.exc_from_value(inst)
            }
        }
        (t, _) => vm.exc_from_value(t),
    }
}

fn gen_throw(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("generator.throw", a, 2, 4)?;
    let g = this_gen(a)?;
    let e = throw_exc(vm, a)?;
    let r = vm.gen_throw(&g, e)?;
    gen_result(vm, r)
}

fn gen_close(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = this_gen(a)?;
    match g.state.get() {
        crate::vm::gen::GenState::Created | crate::vm::gen::GenState::Closed => {
            g.state.set(crate::vm::gen::GenState::Closed);
            drop(g.take_frame());
            return Ok(Value::None);
        }
        _ => {}
    }
    let exit = Exc::new(ExcKind::GeneratorExit, "");
    match vm.gen_throw(&g, exit) {
        Ok(GenResult::Yield(_)) => Err(Exc::runtime_error("generator ignored GeneratorExit")),
        Ok(GenResult::Return(_)) => Ok(Value::None),
        Err(e) => {
            let inst = vm.materialize(e);
            if inst.class.is_subclass(vm.exc_class(ExcKind::GeneratorExit))
                || inst.class.is_subclass(vm.exc_class(ExcKind::StopIteration))
            {
                Ok(Value::None)
            } else {
                Err(Exc::Obj(inst))
            }
        }
    }
}

/// `coroutine.__await__()`: an iterator driving the coroutine (CPython's `coroutine_wrapper`).
fn coro_await(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = this_gen(a)?;
    Ok(Value::Other(Rc::new(CoroWrapper(g))))
}

/// The iterator `coroutine.__await__()` returns: `send`/`throw`/`close`/`__next__` go to the
/// coroutine itself.
struct CoroWrapper(Rc<crate::vm::gen::GenObj>);

impl crate::vm::other::NativeObject for CoroWrapper {
    fn type_name(&self) -> &'static str {
        "coroutine_wrapper"
    }
    fn get_attr(&self, _vm: &mut Vm, _this: &Value, name: Sym) -> Res<Option<Value>> {
        let coro = Value::Gen(self.0.clone());
        let f: (&'static str, NativeFn) = match name.to_string_owned().as_str() {
            "__next__" => ("__next__", gen_next),
            "send" => ("send", gen_send),
            "throw" => ("throw", gen_throw),
            "close" => ("close", gen_close),
            "__iter__" => return Ok(Some(crate::builtins::bound_native(_this.clone(), "__iter__", gen_iter))),
            _ => return Ok(None),
        };
        Ok(Some(crate::builtins::bound_native(coro, f.0, f.1)))
    }
    fn send(&self, vm: &mut Vm, value: Value) -> Option<Res<GenResult>> {
        Some(vm.gen_send(&self.0, value))
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        Some(vm.exc_from_value(exc).and_then(|e| vm.gen_throw(&self.0, e)))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `it.__next__()` of a built-in iterator: its next item, or `StopIteration`.
fn iter_next(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let it = a.pos.first().cloned().unwrap_or(Value::None);
    match vm.next(&it)? {
        Some(v) => Ok(v),
        None => Err(Exc::new(ExcKind::StopIteration, "")),
    }
}

fn gen_iter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(a.pos[0].clone())
}

/// The async generator a method was called on, registered with the running loop the
/// first time it is iterated (CPython's `firstiter` hook).
fn this_agen(a: &Args) -> Res<Rc<crate::vm::gen::GenObj>> {
    let g = this_gen(a)?;
    crate::vm::asyncgen::first_iteration(&g);
    Ok(g)
}

fn agen_anext(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = this_agen(a)?;
    Ok(crate::vm::asyncgen::asend_awaitable(g, Value::None))
}

fn agen_athrow(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_method_args("async_generator.athrow", a, 2, 4)?;
    let g = this_agen(a)?;
    let e = throw_exc(vm, a)?;
    let inst = vm.materialize(e);
    Ok(crate::vm::asyncgen::athrow_awaitable(g, Value::Instance(inst)))
}

fn agen_aclose(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = this_agen(a)?;
    Ok(crate::vm::asyncgen::aclose_awaitable(g))
}

fn agen_asend(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = this_agen(a)?;
    Ok(crate::vm::asyncgen::asend_awaitable(g, a.pos.get(1).cloned().unwrap_or(Value::None)))
}

// ---- misc ----

/// `object.__init__(self, *args, **kw)`: extra arguments are an error unless the class
/// overrides `__new__` and not `__init__` (CPython's `excess_args` rule).
fn object_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(this) = a.pos.first() else {
        return Err(Exc::type_error("descriptor '__init__' of 'object' object needs an argument"));
    };
    if a.pos.len() > 1 || !a.kw.is_empty() {
        let class = vm.class_of(this);
        if crate::vm::attr::lookup_override(&class, vm.syms.init).is_some() {
            return Err(Exc::type_error("object.__init__() takes exactly one argument (the instance to initialize)"));
        }
        if !vm.has_custom_new(&class) {
            return Err(Exc::type_error(format!(
                "{}.__init__() takes exactly one argument (the instance to initialize)",
                class.name
            )));
        }
    }
    Ok(Value::None)
}

/// `object.__new__(cls, *args, **kw)`: extra arguments are an error unless the class
/// overrides `__init__` and not `__new__`.
fn object_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let c = match a.pos.first() {
        Some(Value::Class(c)) => c.clone(),
        Some(other) => {
            return Err(Exc::type_error(format!("object.__new__(X): X is not a type object ({})", vm.type_name(other))))
        }
        None => return Err(Exc::type_error("object.__new__(): not enough arguments")),
    };
    if a.pos.len() > 1 || !a.kw.is_empty() {
        if vm.has_custom_new(&c) {
            return Err(Exc::type_error("object.__new__() takes exactly one argument (the type to instantiate)"));
        }
        if crate::vm::attr::lookup_override(&c, vm.syms.init).is_none() {
            return Err(Exc::type_error(format!("{}() takes no arguments", c.tp_name())));
        }
    }
    match c.builtin {
        Some(TypeId::Object) => vm.instantiate(&c, vec![], vec![]),
        Some(_) => Err(Exc::type_error(format!("object.__new__({0}) is not safe, use {0}.__new__()", c.tp_name()))),
        None => vm.new_instance(&c, &a.pos[1..]),
    }
}

fn property_setter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    property_with(a, 1)
}
fn property_getter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    property_with(a, 0)
}
fn property_deleter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    property_with(a, 2)
}

/// `cls.mro()`: the method resolution order as a list.
pub fn class_mro(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(Value::Class(c)) = a.pos.first() else { return Err(Exc::type_error("mro() needs a type")) };
    let mut v = vec![Value::Class(c.clone())];
    v.extend(c.mro.iter().map(|m| Value::Class(m.clone())));
    Ok(Value::list(v))
}

fn property_with(a: &Args, which: u8) -> Res<Value> {
    use crate::vm::value::Descriptor;
    let Some(Value::Descriptor(d)) = a.pos.first() else { return Err(Exc::type_error("property expected")) };
    let Descriptor::Property { fget, fset, fdel, doc } = &**d else { return Err(Exc::type_error("property expected")) };
    let f = a.pos.get(1).cloned().unwrap_or(Value::None);
    let (mut g, mut s, mut dl) = (fget.clone(), fset.clone(), fdel.clone());
    match which {
        0 => g = f,
        1 => s = f,
        _ => dl = f,
    }
    Ok(Value::descriptor(Descriptor::Property { fget: g, fset: s, fdel: dl, doc: doc.clone() }))
}

/// Decodes bytes for `str(b, encoding, errors)`.
pub fn decode_bytes(bytes: &[u8], encoding: Option<Value>, errors: Option<Value>) -> Res<Value> {
    let enc = match &encoding {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "utf-8".into(),
    };
    let errors = match &errors {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "strict".into(),
    };
    let codec = super::str_methods::lookup_codec(&enc)?;
    super::bytes_methods::decode_with(bytes, codec, &errors).map(Value::string)
}

fn len_method(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let v = a.pos[0].clone();
    len_of(vm, &v).map(Value::Int)
}

/// Registers the methods.
pub fn install(vm: &mut Vm) {
    vm.add_methods(
        TypeId::List,
        &[
            ("append", list_append),
            ("extend", list_extend),
            ("pop", list_pop),
            ("insert", list_insert),
            ("remove", list_remove),
            ("index", list_index),
            ("count", list_count),
            ("sort", list_sort),
            ("reverse", list_reverse),
            ("copy", list_copy),
            ("clear", list_clear),
            ("__len__", len_method),
        ],
    );
    vm.add_methods(TypeId::Tuple, &[("index", tuple_index), ("count", tuple_count), ("__len__", len_method)]);
    vm.add_methods(
        TypeId::Dict,
        &[
            ("get", dict_get),
            ("setdefault", dict_setdefault),
            ("pop", dict_pop),
            ("popitem", dict_popitem),
            ("update", dict_update),
            ("copy", dict_copy),
            ("clear", dict_clear),
            ("keys", dict_keys),
            ("values", dict_values),
            ("items", dict_items),
            ("__len__", len_method),
        ],
    );
    let fromkeys = crate::builtins::native("fromkeys", dict_fromkeys);
    vm.type_class(TypeId::Dict)
        .dict
        .borrow_mut()
        .insert(Sym::new("fromkeys"), Value::Descriptor(Rc::new(crate::vm::value::Descriptor::ClassMethod(fromkeys))));
    let set_methods: &[(&'static str, NativeFn)] = &[
        ("add", set_add),
        ("discard", set_discard),
        ("remove", set_remove),
        ("pop", set_pop),
        ("clear", set_clear),
        ("copy", set_copy),
        ("union", set_union),
        ("intersection", set_intersection),
        ("difference", set_difference),
        ("symmetric_difference", set_symmetric_difference),
        ("update", set_update),
        ("intersection_update", set_intersection_update),
        ("difference_update", set_difference_update),
        ("symmetric_difference_update", set_symmetric_difference_update),
        ("issubset", set_issubset),
        ("issuperset", set_issuperset),
        ("isdisjoint", set_isdisjoint),
        ("__len__", len_method),
    ];
    vm.add_methods(TypeId::Set, set_methods);
    // A frozenset has only the methods that leave the set unchanged.
    const MUTATING: &[&str] = &[
        "add",
        "discard",
        "remove",
        "pop",
        "clear",
        "update",
        "intersection_update",
        "difference_update",
        "symmetric_difference_update",
    ];
    let frozen: Vec<(&'static str, NativeFn)> =
        set_methods.iter().copied().filter(|(n, _)| !MUTATING.contains(n)).collect();
    vm.add_methods(TypeId::FrozenSet, &frozen);
    let gen_methods: &[(&'static str, NativeFn)] = &[
        ("send", gen_send),
        ("throw", gen_throw),
        ("close", gen_close),
        ("__next__", gen_next),
        ("__iter__", gen_iter),
    ];
    vm.add_methods(TypeId::Generator, gen_methods);
    let iter_methods: &[(&'static str, NativeFn)] = &[("__next__", iter_next), ("__iter__", gen_iter)];
    for id in [
        TypeId::ListIterator,
        TypeId::ListReverseIterator,
        TypeId::TupleIterator,
        TypeId::StrIterator,
        TypeId::BytesIterator,
        TypeId::RangeIterator,
        TypeId::DictKeyIterator,
        TypeId::DictValueIterator,
        TypeId::DictItemIterator,
        TypeId::SetIterator,
        TypeId::Enumerate,
        TypeId::Zip,
        TypeId::Map,
        TypeId::Filter,
        TypeId::Reversed,
        TypeId::CallableIterator,
        TypeId::SeqIterator,
    ] {
        vm.add_methods(id, iter_methods);
    }
    vm.add_methods(
        TypeId::Coroutine,
        &[("send", gen_send), ("throw", gen_throw), ("close", gen_close), ("__await__", coro_await)],
    );
    vm.add_methods(
        TypeId::AsyncGenerator,
        &[
            ("__aiter__", gen_iter),
            ("__anext__", agen_anext),
            ("asend", agen_asend),
            ("athrow", agen_athrow),
            ("aclose", agen_aclose),
        ],
    );
    vm.add_methods(TypeId::Object, &[("__init__", object_init)]);
    let new = Value::Native(Rc::new(crate::vm::value::NativeFunction {
        fast: None,
        name: "__new__",
        func: object_new,
        receiver: None,
        owner: Some("object"),
    }));
    vm.type_class(TypeId::Object)
        .dict
        .borrow_mut()
        .insert(Sym::new("__new__"), Value::Descriptor(Rc::new(crate::vm::value::Descriptor::StaticMethod(new))));
    vm.add_methods(
        TypeId::Property,
        &[("setter", property_setter), ("getter", property_getter), ("deleter", property_deleter)],
    );
    super::str_methods::install(vm);
    let append = match vm.type_class(TypeId::List).dict.borrow().get(&Sym::new("append")) {
        Some(Value::Native(n)) => Some(n.clone()),
        _ => None,
    };
    vm.list_append = append;
}
