//! Built-in functions (`print`, `len`, `sorted`, ...).

use super::{apply_key, arg, check_args, check_named_args, check_positional, no_more_kw, take_kw};
use crate::bytecode::CmpKind;
use crate::vm::value::{IterState, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use std::rc::Rc;

fn print(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let sep = take_kw(a, "sep");
    let end = take_kw(a, "end");
    let file = take_kw(a, "file");
    let flush = take_kw(a, "flush");
    no_more_kw("print", a)?;
    let sep = match sep {
        None | Some(Value::None) => " ".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(o) => return Err(Exc::type_error(format!("sep must be None or a string, not {}", vm.type_name(&o)))),
    };
    let end = match end {
        None | Some(Value::None) => "\n".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(o) => return Err(Exc::type_error(format!("end must be None or a string, not {}", vm.type_name(&o)))),
    };
    let file = match file {
        None | Some(Value::None) => crate::modules::sys::replaced_stdout(vm),
        f => f,
    };
    let flush = match flush {
        None => false,
        Some(f) => vm.truthy(&f)?,
    };
    let whole = |vm: &mut Vm| -> Res<String> {
        let mut s = String::new();
        for (i, v) in a.pos.iter().enumerate() {
            if i > 0 {
                s.push_str(&sep);
            }
            match v {
                Value::Str(x) => s.push_str(x.as_str()),
                other => s.push_str(&vm.str_of(other)?),
            }
        }
        s.push_str(&end);
        Ok(s)
    };
    match file {
        None => {
            let s = whole(vm)?;
            vm.write_stdout(&s);
            if flush {
                vm.flush_stdout();
            }
        }
        // `sys.stdout = None`: nothing is written.
        Some(Value::None) => {}
        Some(f) if crate::modules::sys::is_native_stream(&f) => {
            let s = whole(vm)?;
            let write = vm.get_attr(&f, Sym::new("write"))?;
            vm.call(&write, vec![Value::string(s)])?;
            if flush {
                vm.flush_stdout();
            }
        }
        // A file object: as CPython does, one `write` per piece.
        Some(f) => {
            let write = vm.get_attr(&f, Sym::new("write"))?;
            for (i, v) in a.pos.iter().enumerate() {
                if i > 0 {
                    vm.call(&write, vec![Value::str(&sep)])?;
                }
                let piece = match v {
                    Value::Str(_) => v.clone(),
                    other => Value::string(vm.str_of(other)?),
                };
                vm.call(&write, vec![piece])?;
            }
            vm.call(&write, vec![Value::str(&end)])?;
            if flush {
                let flush = vm.get_attr(&f, Sym::new("flush"))?;
                vm.call(&flush, vec![])?;
            }
        }
    }
    if let Some(e) = vm.take_stdout_error() {
        return Err(crate::modules::os::os_error(vm, &e, None, None));
    }
    Ok(Value::None)
}

/// `len(v)`.
pub fn len_of(vm: &mut Vm, v: &Value) -> Res<i64> {
    Ok(match v {
        Value::Str(s) => s.chars as i64,
        Value::List(l) => l.items.borrow().len() as i64,
        Value::Tuple(t) => t.len() as i64,
        Value::Dict(d) => d.d.borrow().len() as i64,
        Value::Set(s) | Value::FrozenSet(s) => s.d.borrow().len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::ByteArray(b) => b.borrow().len() as i64,
        Value::Range(r) => match num_traits::ToPrimitive::to_i64(&r.big_len()) {
            Some(n) => n,
            None => return Err(Exc::overflow("Python int too large to convert to C ssize_t")),
        },
        Value::Instance(i) => match i.class.lookup(vm.syms.len) {
            Some(f) => {
                let r = vm.call(&f, vec![v.clone()])?;
                vm.len_result(&r)?
            }
            None => return Err(Exc::type_error(format!("object of type '{}' has no len()", i.class.tp_name()))),
        },
        Value::Other(o) => {
            let o = o.clone();
            match o.get_attr(vm, v, vm.syms.len)? {
                Some(f) => {
                    let r = vm.call(&f, vec![])?;
                    vm.index_value(&r)?
                }
                None => return Err(Exc::type_error(format!("object of type '{}' has no len()", vm.type_name(v)))),
            }
        }
        _ => return Err(Exc::type_error(format!("object of type '{}' has no len()", vm.type_name(v)))),
    })
}

pub(super) fn len(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("len", a, 1, 1)?;
    let v = a.pos[0].clone();
    len_of(vm, &v).map(Value::Int)
}

fn repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("repr", a, 1, 1)?;
    let v = a.pos[0].clone();
    vm.repr(&v).map(Value::string)
}

fn ascii(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("ascii", a, 1, 1)?;
    let v = a.pos[0].clone();
    let r = vm.repr(&v)?;
    Ok(Value::string(crate::vm::ascii_escape(&r)))
}

pub(super) fn abs(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("abs", a, 1, 1)?;
    match &a.pos[0] {
        Value::Int(i) => Ok(match i.checked_abs() {
            Some(x) => Value::Int(x),
            None => Value::from_bigint(BigInt::from(*i).abs()),
        }),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::BigInt(b) => Ok(Value::from_bigint(b.abs())),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        Value::Instance(i) => match i.class.lookup(vm.syms.abs) {
            Some(f) => {
                let v = a.pos[0].clone();
                vm.call(&f, vec![v])
            }
            None => Err(Exc::type_error(format!("bad operand type for abs(): '{}'", i.class.tp_name()))),
        },
        other => Err(Exc::type_error(format!("bad operand type for abs(): '{}'", vm.type_name(other)))),
    }
}

/// `a < b` as a bool.
pub fn less(vm: &mut Vm, a: &Value, b: &Value) -> Res<bool> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Ok(x < y);
    }
    let r = vm.compare(CmpKind::Lt, a, b)?;
    vm.truthy(&r)
}

/// A stable merge sort whose comparison may run script code and fail.
pub fn sort_values(vm: &mut Vm, items: Vec<Value>, keys: Vec<Value>, reverse: bool) -> Res<Vec<Value>> {
    let n = items.len();
    let mut idx: Vec<usize> = (0..n).collect();
    let mut buf: Vec<usize> = vec![0; n];
    let mut width = 1;
    while width < n {
        let mut i = 0;
        while i < n {
            let mid = (i + width).min(n);
            let hi = (i + 2 * width).min(n);
            let (mut l, mut r, mut k) = (i, mid, i);
            while l < mid && r < hi {
                // Take from the right only when strictly less (stability), reversed keeps stability too.
                let take_right = if reverse {
                    less(vm, &keys[idx[l]], &keys[idx[r]])?
                } else {
                    less(vm, &keys[idx[r]], &keys[idx[l]])?
                };
                if take_right {
                    buf[k] = idx[r];
                    r += 1;
                } else {
                    buf[k] = idx[l];
                    l += 1;
                }
                k += 1;
            }
            while l < mid {
                buf[k] = idx[l];
                l += 1;
                k += 1;
            }
            while r < hi {
                buf[k] = idx[r];
                r += 1;
                k += 1;
            }
            i += 2 * width;
        }
        std::mem::swap(&mut idx, &mut buf);
        width *= 2;
    }
    let mut slots: Vec<Option<Value>> = items.into_iter().map(Some).collect();
    Ok(idx.into_iter().map(|i| slots[i].take().unwrap_or_default()).collect())
}

/// `sorted(iterable, key=None, reverse=False)` over collected items.
pub fn sorted_vec(vm: &mut Vm, items: Vec<Value>, key: Option<Value>, reverse: bool) -> Res<Vec<Value>> {
    let mut keys = Vec::with_capacity(items.len());
    for v in &items {
        keys.push(apply_key(vm, &key, v)?);
    }
    sort_values(vm, items, keys, reverse)
}

fn sorted(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let key = take_kw(a, "key");
    let reverse = take_kw(a, "reverse");
    sort_no_more_kw(a)?;
    check_positional("sorted", a, 1, 1)?;
    let reverse = sort_reverse(vm, reverse)?;
    let it = a.pos[0].clone();
    let items = vm.collect(&it)?;
    sorted_vec(vm, items, key, reverse).map(Value::list)
}

/// `sorted()`'s and `list.sort()`'s unknown keywords, in CPython's words.
pub(super) fn sort_no_more_kw(a: &Args) -> Res<()> {
    match a.kw.first() {
        Some((k, _)) => Err(Exc::type_error(format!("'{k}' is an invalid keyword argument for sort()"))),
        None => Ok(()),
    }
}

/// The `reverse=` flag of a sort: an integer (`reverse=None` is a `TypeError`).
pub(super) fn sort_reverse(vm: &mut Vm, reverse: Option<Value>) -> Res<bool> {
    match reverse {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(r) => Ok(vm.index_value(&r)? != 0),
    }
}

fn min_max(vm: &mut Vm, a: &mut Args, want_max: bool) -> Res<Value> {
    let name = if want_max { "max" } else { "min" };
    let key = take_kw(a, "key");
    let default = take_kw(a, "default");
    no_more_kw(name, a)?;
    let items = match a.pos.len() {
        0 => return Err(Exc::type_error(format!("{name} expected at least 1 argument, got 0"))),
        1 => {
            let v = a.pos[0].clone();
            vm.collect(&v)?
        }
        _ => {
            if default.is_some() {
                return Err(Exc::type_error(format!(
                    "Cannot specify a default for {name}() with multiple positional arguments"
                )));
            }
            a.pos.to_vec()
        }
    };
    if items.is_empty() {
        return match default {
            Some(d) => Ok(d),
            None => Err(Exc::value_error(format!("{name}() arg is an empty sequence"))),
        };
    }
    let mut best = items[0].clone();
    let mut best_key = apply_key(vm, &key, &best)?;
    for v in items.into_iter().skip(1) {
        let k = apply_key(vm, &key, &v)?;
        // CPython asks `item > best` for max and `item < best` for min.
        let better = if want_max {
            match (&k, &best_key) {
                (Value::Int(x), Value::Int(y)) => x > y,
                _ => {
                    let r = vm.compare(CmpKind::Gt, &k, &best_key)?;
                    vm.truthy(&r)?
                }
            }
        } else {
            less(vm, &k, &best_key)?
        };
        if better {
            best = v;
            best_key = k;
        }
    }
    Ok(best)
}

fn min(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    min_max(vm, a, false)
}
fn max(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    min_max(vm, a, true)
}

fn sum(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let start = take_kw(a, "start");
    no_more_kw("sum", a)?;
    if a.pos.is_empty() {
        return Err(Exc::type_error("sum() takes at least 1 positional argument (0 given)"));
    }
    check_named_args("sum", a, &["iterable", "start"], 1)?;
    let mut acc = start.or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::Int(0));
    if let Value::Str(_) = acc {
        return Err(Exc::type_error("sum() can't sum strings [use ''.join(seq) instead]"));
    }
    let it = vm.get_iter(&a.pos[0].clone())?;
    // Float accumulation uses Neumaier compensation, as CPython 3.12 does not; 3.11 adds plainly.
    while let Some(v) = vm.next(&it)? {
        acc = vm.binary_op(crate::ast::BinOp::Add, acc, v)?;
    }
    Ok(acc)
}

pub(super) fn isinstance(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("isinstance", a, 2, 2)?;
    let (v, c) = (a.pos[0].clone(), a.pos[1].clone());
    is_instance(vm, &v, &c).map(Value::Bool)
}

/// `isinstance(v, cls_or_tuple)`.
pub fn is_instance(vm: &mut Vm, v: &Value, c: &Value) -> Res<bool> {
    match c {
        Value::Class(cls) => {
            let vc = vm.class_of(v);
            Ok(vc.is_subclass(cls))
        }
        Value::Tuple(t) => {
            for x in t.iter() {
                if is_instance(vm, v, x)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => match super::union_type::union_args(c) {
            Some(members) => {
                for x in members {
                    if is_instance(vm, v, x)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            None if super::generic_alias::is_alias(c) => {
                Err(Exc::type_error("isinstance() argument 2 cannot be a parameterized generic"))
            }
            None => match check_hook(vm, c, "__instancecheck__", v)? {
                Some(b) => Ok(b),
                None => Err(Exc::type_error("isinstance() arg 2 must be a type, a tuple of types, or a union")),
            },
        },
    }
}

/// For `isinstance`/`issubclass` against an instance whose class defines the `hook`
/// (`__instancecheck__`/`__subclasscheck__`, as `typing.List` does): the truth of its
/// answer about `v`; `None` when there is no such hook.
fn check_hook(vm: &mut Vm, c: &Value, hook: &str, v: &Value) -> Res<Option<bool>> {
    let Value::Instance(i) = c else { return Ok(None) };
    let Some(f) = i.class.lookup(Sym::new(hook)) else { return Ok(None) };
    let r = vm.call(&f, vec![c.clone(), v.clone()])?;
    vm.truthy(&r).map(Some)
}

fn issubclass(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("issubclass", a, 2, 2)?;
    let Value::Class(sub) = &a.pos[0] else { return Err(Exc::type_error("issubclass() arg 1 must be a class")) };
    fn check(vm: &mut Vm, sub: &Rc<crate::vm::Class>, c: &Value) -> Res<bool> {
        match c {
            Value::Class(cls) => Ok(sub.is_subclass(cls)),
            Value::Tuple(t) => {
                for x in t.iter() {
                    if check(vm, sub, x)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => match super::union_type::union_args(c) {
                Some(members) => {
                    for m in members {
                        if check(vm, sub, m)? {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                }
                None if super::generic_alias::is_alias(c) => {
                    Err(Exc::type_error("issubclass() argument 2 cannot be a parameterized generic"))
                }
                None => match check_hook(vm, c, "__subclasscheck__", &Value::Class(sub.clone()))? {
                    Some(b) => Ok(b),
                    None => Err(Exc::type_error("issubclass() arg 2 must be a class, a tuple of classes, or a union")),
                },
            },
        }
    }
    let (sub, c) = (sub.clone(), a.pos[1].clone());
    check(vm, &sub, &c).map(Value::Bool)
}

pub(super) fn attr_name(vm: &Vm, v: &Value) -> Res<Sym> {
    match v {
        Value::Str(s) => Ok(Sym::new(s.as_str())),
        other => Err(Exc::type_error(format!("attribute name must be string, not '{}'", vm.type_name(other)))),
    }
}

fn getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("getattr", a, 2, 3)?;
    let name = attr_name(vm, &a.pos[1])?;
    let obj = a.pos[0].clone();
    if a.pos.len() == 2 {
        return vm.get_attr(&obj, name);
    }
    // With a default, a missing attribute needs no exception object.
    match vm.get_attr_opt(&obj, name) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Ok(a.pos[2].clone()),
        Err(e) => {
            let inst = vm.materialize(e);
            if inst.class.is_subclass(vm.exc_class(ExcKind::AttributeError)) {
                return Ok(a.pos[2].clone());
            }
            Err(Exc::Obj(inst))
        }
    }
}

fn hasattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("hasattr", a, 2, 2)?;
    let name = attr_name(vm, &a.pos[1])?;
    let obj = a.pos[0].clone();
    match vm.get_attr_opt(&obj, name) {
        Ok(found) => Ok(Value::Bool(found.is_some())),
        Err(e) => {
            let inst = vm.materialize(e);
            if inst.class.is_subclass(vm.exc_class(ExcKind::AttributeError)) {
                Ok(Value::Bool(false))
            } else {
                Err(Exc::Obj(inst))
            }
        }
    }
}

fn setattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("setattr", a, 3, 3)?;
    let name = attr_name(vm, &a.pos[1])?;
    let (obj, v) = (a.pos[0].clone(), a.pos[2].clone());
    vm.set_attr(&obj, name, v)?;
    Ok(Value::None)
}

fn delattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("delattr", a, 2, 2)?;
    let name = attr_name(vm, &a.pos[1])?;
    let obj = a.pos[0].clone();
    vm.del_attr(&obj, name)?;
    Ok(Value::None)
}

fn callable(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("callable", a, 1, 1)?;
    Ok(Value::Bool(is_callable(vm, &a.pos[0])))
}

/// Whether `v` can be called, as `callable(v)` answers.
fn is_callable(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::Function(_) | Value::BoundMethod(_) | Value::Native(_) | Value::Class(_) => true,
        Value::Instance(i) => i.class.lookup(vm.syms.call).is_some(),
        Value::Other(o) => o.is_callable(),
        _ => false,
    }
}

fn id(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("id", a, 1, 1)?;
    Ok(Value::Int(a.pos[0].id()))
}

fn hash(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("hash", a, 1, 1)?;
    let v = a.pos[0].clone();
    vm.hash(&v).map(Value::Int)
}

fn iter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("iter", a, 1, 2)?;
    if a.pos.len() == 2 {
        if !is_callable(vm, &a.pos[0]) {
            return Err(Exc::type_error("iter(v, w): v must be callable"));
        }
        let st = IterState::Callable { func: a.pos[0].clone(), sentinel: a.pos[1].clone() };
        return Ok(Value::iter(st));
    }
    let v = a.pos[0].clone();
    vm.get_iter(&v)
}

fn next(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("next", a, 1, 2)?;
    let it = a.pos[0].clone();
    match &it {
        Value::Iter(_) | Value::Gen(_) | Value::Instance(_) | Value::Other(_) => {}
        other => return Err(Exc::type_error(format!("'{}' object is not an iterator", vm.type_name(other)))),
    }
    if let Value::Gen(g) = &it {
        // Generators report their return value through StopIteration.
        match vm.gen_send(g, Value::None)? {
            crate::vm::gen::GenResult::Yield(v) => return Ok(v),
            crate::vm::gen::GenResult::Return(r) => {
                if let Some(d) = a.pos.get(1) {
                    return Ok(d.clone());
                }
                let args = if r.is_none() { vec![] } else { vec![r.clone()] };
                let e = vm.exception_with_args(ExcKind::StopIteration, args);
                if let Exc::Obj(i) = &e {
                    i.set_attr(vm.syms.value, r);
                }
                return Err(e);
            }
        }
    }
    match vm.next(&it)? {
        Some(v) => Ok(v),
        None => match a.pos.get(1) {
            Some(d) => Ok(d.clone()),
            None => Err(Exc::new(ExcKind::StopIteration, "")),
        },
    }
}

fn any(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("any", a, 1, 1)?;
    let it = vm.get_iter(&a.pos[0].clone())?;
    while let Some(v) = vm.next(&it)? {
        if vm.truthy(&v)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn all(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("all", a, 1, 1)?;
    let it = vm.get_iter(&a.pos[0].clone())?;
    while let Some(v) = vm.next(&it)? {
        if !vm.truthy(&v)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn chr_(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("chr", a, 1, 1)?;
    let v = a.pos[0].clone();
    let n = match &v {
        Value::BigInt(_) => i64::MAX,
        _ => vm.index_value(&v)?,
    };
    if i32::try_from(n).is_err() {
        return Err(Exc::overflow("Python int too large to convert to C int"));
    }
    match u32::try_from(n).ok().and_then(char::from_u32) {
        Some(c) => Ok(Value::string(c.to_string())),
        None => Err(Exc::value_error("chr() arg not in range(0x110000)")),
    }
}

fn ord(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("ord", a, 1, 1)?;
    match &a.pos[0] {
        Value::Str(s) => {
            if s.chars != 1 {
                return Err(Exc::type_error(format!(
                    "ord() expected a character, but string of length {} found",
                    s.chars
                )));
            }
            Ok(Value::Int(s.as_str().chars().next().map(|c| c as i64).unwrap_or(0)))
        }
        Value::Bytes(b) if b.len() == 1 => Ok(Value::Int(b[0] as i64)),
        other => Err(Exc::type_error(format!("ord() expected string of length 1, but {} found", vm.type_name(other)))),
    }
}

fn radix(vm: &mut Vm, a: &mut Args, name: &str, base: u32, prefix: &str) -> Res<Value> {
    check_args(name, a, 1, 1)?;
    let v = match &a.pos[0] {
        Value::Int(i) => BigInt::from(*i),
        Value::Bool(b) => BigInt::from(*b as i64),
        Value::BigInt(b) => (**b).clone(),
        other => {
            let o = other.clone();
            BigInt::from(vm.index_value(&o)?)
        }
    };
    let digits = v.abs().to_str_radix(base);
    Ok(Value::string(format!("{}{}{}", if v.is_negative() { "-" } else { "" }, prefix, digits)))
}

fn hex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    radix(vm, a, "hex", 16, "0x")
}
fn oct(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    radix(vm, a, "oct", 8, "0o")
}
fn bin(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    radix(vm, a, "bin", 2, "0b")
}

pub(super) fn round(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if a.pos.is_empty() {
        if let Some(number) = take_kw(a, "number") {
            a.pos.push(number);
        }
    }
    let nd = take_kw(a, "ndigits");
    no_more_kw("round", a)?;
    check_named_args("round", a, &["number", "ndigits"], 1)?;
    let nd = nd.or_else(|| a.pos.get(1).cloned()).filter(|v| !v.is_none());
    match &a.pos[0] {
        Value::Float(f) => match nd {
            None => {
                let r = crate::text::int_math::round_to_integral_half_even(*f);
                Ok(Value::from_bigint(Value::int_of_float(r)?))
            }
            Some(n) => {
                let n = vm.index_value(&n)?;
                let r = crate::text::int_math::round_half_even_f64(*f, n.clamp(-400, 400) as i32)
                    .map_err(|e| Exc::overflow(e.message))?;
                Ok(Value::Float(r))
            }
        },
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => {
            let v = match &a.pos[0] {
                Value::Bool(b) => Value::Int(*b as i64),
                other => other.clone(),
            };
            match nd {
                None => Ok(v),
                Some(n) => {
                    let n = vm.index_value(&n)?;
                    if n >= 0 {
                        return Ok(v);
                    }
                    let big = match &v {
                        Value::Int(i) => BigInt::from(*i),
                        Value::BigInt(b) => (**b).clone(),
                        _ => BigInt::zero(),
                    };
                    let p = num_traits::pow::Pow::pow(BigInt::from(10), (-n) as u32);
                    let (q, r) = num_integer::Integer::div_mod_floor(&big, &p);
                    let twice = &r * 2;
                    let q = if twice > p || (twice == p && num_integer::Integer::is_odd(&q)) { q + 1 } else { q };
                    Ok(Value::from_bigint(q * p))
                }
            }
        }
        Value::Instance(i) => match i.class.lookup(vm.syms.round) {
            Some(f) => {
                let mut args = vec![a.pos[0].clone()];
                if let Some(n) = nd {
                    args.push(n);
                }
                vm.call(&f, args)
            }
            None => Err(Exc::type_error(format!("type {} doesn't define __round__ method", i.class.tp_name()))),
        },
        other => Err(Exc::type_error(format!("type {} doesn't define __round__ method", vm.type_name(other)))),
    }
}

fn divmod(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("divmod", a, 2, 2)?;
    vm.divmod_op(a.pos[0].clone(), a.pos[1].clone())
}

/// `pow(base, exp, mod=None)`.
pub(super) fn pow(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    // `pow(base=2, exp=3, mod=None)`: keywords fill the positions after the positional
    // arguments, in order (CPython's `_PyArg_UnpackKeywords`).
    const PARAMS: [&str; 3] = ["base", "exp", "mod"];
    if !a.kw.is_empty() {
        for name in PARAMS.into_iter().skip(a.pos.len()) {
            match take_kw(a, name) {
                Some(v) => a.pos.push(v),
                None => break,
            }
        }
        check_named_args("pow", a, &PARAMS, 2)?;
        if let Some((k, _)) = a.kw.first() {
            let k = k.to_string_owned();
            return Err(Exc::type_error(match PARAMS.iter().position(|p| *p == k) {
                Some(i) => format!("argument for pow() given by name ('{k}') and position ({})", i + 1),
                None => format!("'{k}' is an invalid keyword argument for pow()"),
            }));
        }
    }
    check_named_args("pow", a, &PARAMS, 2)?;
    if a.pos.len() == 3 && !a.pos[2].is_none() {
        let to_big = |v: &Value| -> Option<BigInt> {
            match v {
                Value::Int(i) => Some(BigInt::from(*i)),
                Value::Bool(b) => Some(BigInt::from(*b as i64)),
                Value::BigInt(b) => Some((**b).clone()),
                _ => None,
            }
        };
        let (Some(b), Some(e), Some(m)) = (to_big(&a.pos[0]), to_big(&a.pos[1]), to_big(&a.pos[2])) else {
            return Err(Exc::type_error("pow() 3rd argument not allowed unless all arguments are integers"));
        };
        if m.is_zero() {
            return Err(Exc::value_error("pow() 3rd argument cannot be 0"));
        }
        let r = if e.is_negative() {
            let inv = modinv(&b, &m).ok_or_else(|| Exc::value_error("base is not invertible for the given modulus"))?;
            inv.modpow(&(-e), &m)
        } else {
            b.modpow(&e, &m)
        };
        let r = num_integer::Integer::mod_floor(&r, &m);
        return Ok(Value::from_bigint(r));
    }
    let (x, y) = (a.pos[0].clone(), a.pos[1].clone());
    vm.binary_op(crate::ast::BinOp::Pow, x, y)
}

fn modinv(a: &BigInt, m: &BigInt) -> Option<BigInt> {
    let g = num_integer::Integer::extended_gcd(&num_integer::Integer::mod_floor(a, m), m);
    if g.gcd != BigInt::from(1) && g.gcd != BigInt::from(-1) {
        return None;
    }
    Some(num_integer::Integer::mod_floor(&g.x, m))
}

fn format_(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("format", a, 1, 2)?;
    let spec = match a.pos.get(1) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(o) => return Err(Exc::type_error(format!("format() argument 2 must be str, not {}", vm.type_name(o)))),
        None => String::new(),
    };
    let v = a.pos[0].clone();
    vm.format(&v, &spec).map(Value::string)
}

fn build_class(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let body = arg(a, 0, "__build_class__")?;
    let name = arg(a, 1, "__build_class__")?;
    let bases = a.pos[2..].to_vec();
    let kw = std::mem::take(&mut a.kw);
    vm.build_class(body, name, bases, kw)
}

fn input(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("input", a, 0, 1)?;
    if let Some(p) = a.pos.first() {
        let s = vm.str_of(&p.clone())?;
        vm.write_stdout(&s);
    }
    vm.flush_stdout();
    // Through `sys.stdin`, as CPython: a script that mixes `input()` with reads of
    // `sys.stdin` loses nothing to a second buffer.
    let sys = vm.import_module(Sym::new("sys"))?;
    let stdin = match vm.get_attr_opt(&sys, Sym::new("stdin"))? {
        Some(v) if !v.is_none() => v,
        _ => return Err(Exc::runtime_error("input(): lost sys.stdin")),
    };
    let line = match super::file::read_line_of(vm, &stdin) {
        Some(r) => r?,
        None => {
            let readline = vm.get_attr(&stdin, Sym::new("readline"))?;
            vm.call(&readline, vec![])?
        }
    };
    let Value::Str(s) = &line else {
        return Err(Exc::type_error("object.readline() returned non-string"));
    };
    let mut line = s.s.to_string();
    if line.is_empty() {
        return Err(Exc::new(ExcKind::EOFError, "EOF when reading a line"));
    }
    if line.ends_with('\n') {
        line.pop();
    }
    Ok(Value::string(line))
}

fn vars(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("vars", a, 0, 1)?;
    // Without an argument, `vars()` is `locals()`.
    let Some(v) = a.pos.first().cloned() else { return locals(vm, a) };
    match vm.get_attr_opt(&v, vm.syms.dict)? {
        Some(d) => Ok(d),
        None => Err(Exc::type_error("vars() argument must have __dict__ attribute")),
    }
}

fn globals(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let g = vm.frames.last().map(|f| f.globals.clone());
    let Some(g) = g else { return Ok(Value::None) };
    let pairs: Vec<Value> = g.dict.borrow().iter().flat_map(|(k, v)| [Value::str(&k.as_rc()), v.clone()]).collect();
    vm.new_dict_from_pairs(pairs)
}

/// `locals()`: a class body's namespace, a module's globals, or a snapshot of a function's
/// bound variables (its locals in slot order, then its cell and free variables).
fn locals(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("locals", a, 0, 0)?;
    let Some(f) = vm.frames.last() else { return Ok(Value::None) };
    if let Some(ns) = &f.namespace {
        return Ok(Value::Dict(ns.clone()));
    }
    if f.code.flags.module {
        return globals(vm, a);
    }
    let code = f.code.clone();
    let mut pairs = Vec::new();
    let mut push = |name: &Sym, v: Value| {
        if !v.is_undef() {
            pairs.extend([Value::str(&name.as_rc()), v]);
        }
    };
    for (i, name) in code.varnames.iter().enumerate() {
        // A parameter that is also a cell keeps its value in the cell.
        let v = match code.cell_params.iter().find(|&&(_, slot)| slot as usize == i) {
            Some(&(cell, _)) => f.cells.get(cell as usize).map(|c| c.borrow().clone()),
            None => vm.stack.get(f.base + i).cloned(),
        };
        if let Some(v) = v {
            push(name, v);
        }
    }
    for (i, (name, cell)) in code.cellvars.iter().chain(&code.freevars).zip(&f.cells).enumerate() {
        if !code.cell_params.iter().any(|&(c, _)| c as usize == i) {
            push(name, cell.borrow().clone());
        }
    }
    vm.new_dict_from_pairs(pairs)
}

fn dir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("dir", a, 0, 1)?;
    let mut names: Vec<String> = Vec::new();
    match a.pos.first().cloned() {
        None => {
            if let Some(f) = vm.frames.last() {
                names.extend(f.globals.dict.borrow().keys().map(|k| k.to_string_owned()));
            }
        }
        Some(Value::Module(m)) => names.extend(m.dict.borrow().keys().map(|k| k.to_string_owned())),
        Some(v @ Value::Instance(_)) if crate::vm::attr::lookup_override(&vm.class_of(&v), vm.syms.dir).is_some() => {
            let f = vm.get_attr(&v, vm.syms.dir)?;
            let listed = vm.call(&f, vec![])?;
            let items = vm.collect(&listed)?;
            let keys = items.clone();
            return Ok(Value::list(sort_values(vm, items, keys, false)?));
        }
        Some(v) => {
            let class = match &v {
                Value::Class(c) => c.clone(),
                other => vm.class_of(other),
            };
            if let Value::Instance(i) = &v {
                for k in i.attr_keys() {
                    // A script may put any key into `__dict__`; sorting it with the names
                    // fails as in CPython.
                    let Value::Str(k) = k else {
                        let t = vm.type_name(&k);
                        return Err(Exc::type_error(format!("'<' not supported between instances of 'str' and '{t}'")));
                    };
                    names.push(k.as_str().to_string());
                }
            }
            names.extend(class.dict.borrow().keys().map(|k| k.to_string_owned()));
            for c in &class.mro {
                names.extend(c.dict.borrow().keys().map(|k| k.to_string_owned()));
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(Value::list(names.into_iter().map(Value::string).collect()))
}

fn aiter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("aiter", a, 1, 1)?;
    let v = a.pos[0].clone();
    let Some(f) = vm.get_attr_opt(&v, vm.syms.aiter)? else {
        return Err(Exc::type_error(format!("'{}' object is not an async iterable", vm.type_name(&v))));
    };
    vm.call(&f, vec![])
}

fn anext(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("anext", a, 1, 2)?;
    let v = a.pos[0].clone();
    let aw = match &v {
        Value::Gen(_) => vm.get_anext_awaitable(&v)?,
        _ => {
            let Some(f) = vm.get_attr_opt(&v, vm.syms.anext)? else {
                return Err(Exc::type_error(format!("'{}' object is not an async iterator", vm.type_name(&v))));
            };
            vm.call(&f, vec![])?
        }
    };
    match a.pos.get(1) {
        None => Ok(aw),
        Some(default) => {
            let inner = vm.awaitable_iter(aw)?;
            Ok(Value::Other(Rc::new(AnextDefault { inner, default: default.clone() })))
        }
    }
}

/// `anext(it, default)`: awaits `it.__anext__()`, turning `StopAsyncIteration` into `default`.
struct AnextDefault {
    inner: Value,
    default: Value,
}

impl crate::vm::other::NativeObject for AnextDefault {
    fn type_name(&self) -> &'static str {
        "anext_awaitable"
    }
    fn send(&self, vm: &mut Vm, value: Value) -> Option<Res<crate::vm::gen::GenResult>> {
        Some(match vm.send_value(&self.inner, value) {
            Err(e) => {
                let inst = vm.materialize(e);
                if inst.class.is_subclass(vm.exc_class(ExcKind::StopAsyncIteration)) {
                    Ok(crate::vm::gen::GenResult::Return(self.default.clone()))
                } else {
                    Err(Exc::Obj(inst))
                }
            }
            ok => ok,
        })
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        if name.to_string_owned() == "__await__" {
            return Ok(Some(super::bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone()))));
        }
        Ok(None)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn exit_(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let code = a.pos.first().cloned();
    let args = match code {
        None => vec![],
        Some(c) => vec![c],
    };
    Err(vm.exception_with_args(ExcKind::SystemExit, args))
}

/// Every built-in function, registered by `install`.
pub const FUNCTIONS: &[(&str, NativeFn)] = &[
    ("print", print),
    ("len", len),
    ("repr", repr),
    ("ascii", ascii),
    ("abs", abs),
    ("min", min),
    ("max", max),
    ("sum", sum),
    ("sorted", sorted),
    ("isinstance", isinstance),
    ("issubclass", issubclass),
    ("getattr", getattr),
    ("hasattr", hasattr),
    ("setattr", setattr),
    ("delattr", delattr),
    ("callable", callable),
    ("id", id),
    ("hash", hash),
    ("iter", iter),
    ("next", next),
    ("any", any),
    ("all", all),
    ("chr", chr_),
    ("ord", ord),
    ("hex", hex),
    ("oct", oct),
    ("bin", bin),
    ("round", round),
    ("divmod", divmod),
    ("pow", pow),
    ("format", format_),
    ("__build_class__", build_class),
    ("input", input),
    ("vars", vars),
    ("globals", globals),
    ("locals", locals),
    ("dir", dir),
    ("aiter", aiter),
    ("anext", anext),
    ("exit", exit_),
    ("quit", exit_),
    ("open", super::file::open),
];
