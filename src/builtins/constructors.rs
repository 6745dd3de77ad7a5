//! Constructors of the built-in types: `int(x)`, `str(x)`, `list(it)`, `range(...)`, ...

use super::{check_args, check_named_args, check_positional, no_more_kw, take_kw};
use crate::vm::dict::Dict;
use crate::vm::value::{Descriptor, IterState, RangeObj, SliceObj, Value};
use crate::vm::{Args, Exc, NativeFn, Res, Sym, TypeId, Vm};
use num_bigint::BigInt;
use std::cell::RefCell;
use std::rc::Rc;

fn object_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.pos.is_empty() || !a.kw.is_empty() {
        return Err(Exc::type_error("object() takes no arguments"));
    }
    let c = vm.type_class(TypeId::Object).clone();
    Ok(Value::instance(c, Default::default()))
}

fn type_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match a.pos.len() {
        1 => Ok(Value::Class(vm.class_of(&a.pos[0]))),
        3 => {
            // type(name, bases, dict)
            let name = a.pos[0].clone();
            let bases = vm.collect(&a.pos[1].clone())?;
            let ns = a.pos[2].clone();
            let code_less = crate::vm::value::Function {
                code: Rc::new(empty_code()),
                globals: Rc::new(crate::vm::value::Module::new("__main__", "<type>")),
                defaults: vec![],
                kwdefaults: vec![],
                closure: vec![],
                name: RefCell::new(Rc::from("<type>")),
                qualname: RefCell::new(Rc::from("<type>")),
                doc: Value::None,
                dict: RefCell::new(None),
                annotations: RefCell::new(None),
            };
            let class = vm.build_class(Value::Function(Rc::new(code_less)), name, bases, vec![])?;
            if let (Value::Class(c), Value::Dict(d)) = (&class, &ns) {
                for e in d.d.borrow().iter() {
                    if let Value::Str(k) = &e.key {
                        c.dict.borrow_mut().insert(crate::vm::Sym::new(k.as_str()), e.value.clone());
                    }
                }
            }
            crate::vm::value::bump_class_epoch();
            Ok(class)
        }
        _ => Err(Exc::type_error("type() takes 1 or 3 arguments")),
    }
}

fn empty_code() -> crate::bytecode::Code {
    use crate::bytecode::{ConstIdx, Op};
    crate::bytecode::Code {
        name: Rc::from("<type>"),
        qualname: Rc::from("<type>"),
        filename: Rc::from("<type>"),
        ops: vec![Op::LoadConst(ConstIdx(0)), Op::Return],
        lines: vec![1, 1],
        consts: vec![Value::None],
        names: vec![],
        varnames: vec![],
        cellvars: vec![],
        freevars: vec![],
        cell_params: vec![],
        argcount: 0,
        posonlyargcount: 0,
        kwonlyargcount: 0,
        flags: crate::bytecode::CodeFlags { class_body: true, ..Default::default() },
        first_line: 1,
        doc: None,
        global_cache: Default::default(),
        attr_cache: Default::default(),
        plain_arity: u32::MAX,
        suspend_len: Default::default(),
    }
    .finish()
}

/// `int(x)` / `int(s, base)`.
fn int_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    takes_at_most("int", a, 2)?;
    let base_kw = take_kw(a, "base");
    ctor_no_more_kw("int", a)?;
    let base = base_kw.or_else(|| a.pos.get(1).cloned());
    let Some(x) = a.pos.first().cloned() else { return Ok(Value::Int(0)) };
    if let Some(b) = base {
        let b = vm.index_value(&b)?;
        if b != 0 && !(2..=36).contains(&b) {
            return Err(Exc::value_error("int() base must be >= 2 and <= 36, or 0"));
        }
        let s = match &x {
            Value::Str(s) => s.as_str().to_string(),
            Value::Bytes(b) => String::from_utf8_lossy(b).to_string(),
            _ => return Err(Exc::type_error("int() can't convert non-string with explicit base")),
        };
        return parse_int_value(vm, &s, b as u32);
    }
    to_int(vm, &x)
}

/// `int(x)` with one argument.
pub fn to_int(vm: &mut Vm, x: &Value) -> Res<Value> {
    match x {
        Value::Int(_) | Value::BigInt(_) => Ok(x.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) => {
            if f.abs() < 9.0e18 {
                return Ok(Value::Int(*f as i64));
            }
            Ok(Value::from_bigint(Value::int_of_float(*f)?))
        }
        Value::Str(s) => {
            if let Some(i) = small_decimal(s.as_str()) {
                return Ok(Value::Int(i));
            }
            let s = s.as_str().to_string();
            parse_int_value(vm, &s, 10)
        }
        Value::Bytes(b) => {
            let s = String::from_utf8_lossy(b).to_string();
            parse_int_value(vm, &s, 10)
        }
        Value::Instance(i) => {
            let class = i.class.clone();
            for name in [vm.syms.int, vm.syms.index] {
                if let Some(f) = class.lookup(name) {
                    let r = vm.call(&f, vec![x.clone()])?;
                    return match r {
                        Value::Int(_) | Value::BigInt(_) => Ok(r),
                        Value::Bool(b) => Ok(Value::Int(b as i64)),
                        other => {
                            Err(Exc::type_error(format!("__int__ returned non-int (type {})", vm.type_name(&other))))
                        }
                    };
                }
            }
            Err(Exc::type_error(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                class.name
            )))
        }
        other => Err(Exc::type_error(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            vm.type_name(other)
        ))),
    }
}

/// A keyword argument a constructor does not take, in CPython's words: those with named
/// parameters (`int`, `str`, `enumerate`, `zip`) name the keyword, the others take none.
fn ctor_no_more_kw(name: &str, a: &Args) -> Res<()> {
    let Some((k, _)) = a.kw.first() else { return Ok(()) };
    Err(Exc::type_error(match name {
        "int" | "str" | "enumerate" | "zip" => format!("'{k}' is an invalid keyword argument for {name}()"),
        _ => format!("{name}() takes no keyword arguments"),
    }))
}

/// The argument-count check of the constructors whose CPython message is
/// "int() takes at most 2 arguments (3 given)".
fn takes_at_most(name: &str, a: &Args, max: usize) -> Res<()> {
    let n = a.pos.len() + a.kw.len();
    if n > max {
        return Err(Exc::type_error(format!("{name}() takes at most {max} arguments ({n} given)")));
    }
    Ok(())
}

/// The value of a plain decimal literal of at most 18 digits with an optional sign (the
/// common `int(s)`), without the general parser; `None` for anything else.
fn small_decimal(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if neg { -n } else { n })
}

fn parse_int_value(vm: &mut Vm, s: &str, base: u32) -> Res<Value> {
    match crate::text::int_text::parse_int(s, base) {
        Ok(b) => Ok(Value::from_bigint(b)),
        Err(e) => {
            let r = vm.repr(&Value::str(s))?;
            let te = e.to_error(&r, base);
            Err(Exc::value_error(te.message))
        }
    }
}

fn bool_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("bool", a)?;
    check_args("bool", a, 0, 1)?;
    match a.pos.first().cloned() {
        None => Ok(Value::Bool(false)),
        Some(v) => vm.truthy(&v).map(Value::Bool),
    }
}

fn float_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("float", a)?;
    check_args("float", a, 0, 1)?;
    let Some(x) = a.pos.first().cloned() else { return Ok(Value::Float(0.0)) };
    match &x {
        Value::Str(s) => match crate::text::int_text::parse_float(s.as_str()) {
            Some(f) => Ok(Value::Float(f)),
            None => {
                let r = vm.repr(&x)?;
                Err(Exc::value_error(format!("could not convert string to float: {r}")))
            }
        },
        Value::Instance(i) => {
            let class = i.class.clone();
            if let Some(f) = class.lookup(vm.syms.float) {
                let r = vm.call(&f, vec![x.clone()])?;
                return match r {
                    Value::Float(_) => Ok(r),
                    other => Err(Exc::type_error(format!(
                        "{}.__float__ returned non-float (type {})",
                        class.name,
                        vm.type_name(&other)
                    ))),
                };
            }
            if let Some(f) = class.lookup(vm.syms.index) {
                let r = vm.call(&f, vec![x.clone()])?;
                return vm.to_float(&r).map(Value::Float);
            }
            Err(Exc::type_error(format!(
                "float() argument must be a string or a real number, not '{}'",
                class.tp_name()
            )))
        }
        Value::Float(_) | Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => vm.to_float(&x).map(Value::Float),
        other => Err(Exc::type_error(format!(
            "float() argument must be a string or a real number, not '{}'",
            vm.type_name(other)
        ))),
    }
}

fn str_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    takes_at_most("str", a, 3)?;
    let object = take_kw(a, "object");
    let encoding = take_kw(a, "encoding");
    let errors = take_kw(a, "errors");
    ctor_no_more_kw("str", a)?;
    let Some(x) = object.or_else(|| a.pos.first().cloned()) else { return Ok(Value::str("")) };
    let encoding = encoding.or_else(|| a.pos.get(1).cloned());
    let errors = errors.or_else(|| a.pos.get(2).cloned());
    if encoding.is_some() || errors.is_some() {
        let bytes = vm.bytes_like(&x).map_err(|_| {
            Exc::type_error(format!("decoding to str: need a bytes-like object, {} found", vm.type_name(&x)))
        })?;
        return super::methods::decode_bytes(&bytes, encoding, errors);
    }
    match x {
        Value::Str(_) => Ok(x),
        Value::Int(i) => Ok(Value::int_str(i)),
        other => vm.str_of(&other).map(Value::string),
    }
}

fn list_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("list", a)?;
    check_args("list", a, 0, 1)?;
    match a.pos.first().cloned() {
        None => Ok(Value::list(vec![])),
        Some(v) => vm.collect(&v).map(Value::list),
    }
}

fn tuple_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("tuple", a)?;
    check_args("tuple", a, 0, 1)?;
    match a.pos.first().cloned() {
        None => Ok(Value::tuple(vec![])),
        Some(v @ Value::Tuple(_)) => Ok(v),
        Some(v) => vm.collect(&v).map(Value::tuple),
    }
}

fn dict_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let kw = std::mem::take(&mut a.kw);
    check_args("dict", a, 0, 1)?;
    let d = Value::dict(Dict::new());
    if let Some(src) = a.pos.first().cloned() {
        vm.dict_update_from(&d, &src, false)?;
    }
    for (k, v) in kw {
        vm.set_item(&d, Value::str(&k.as_rc()), v)?;
    }
    Ok(d)
}

fn set_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("set", a)?;
    check_args("set", a, 0, 1)?;
    let s = vm.new_set(vec![])?;
    if let Some(v) = a.pos.first().cloned() {
        vm.set_update(&s, &v)?;
    }
    Ok(s)
}

fn frozenset_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("frozenset", a)?;
    check_args("frozenset", a, 0, 1)?;
    let s = vm.new_set(vec![])?;
    match a.pos.first().cloned() {
        None => {}
        Some(Value::FrozenSet(f)) => return Ok(Value::FrozenSet(f)),
        Some(v) => vm.set_update(&s, &v)?,
    }
    match s {
        Value::Set(s) => Ok(Value::FrozenSet(s)),
        _ => Ok(Value::frozenset(crate::vm::set_table::SetTable::new())),
    }
}

fn range_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("range", a)?;
    if a.pos.is_empty() {
        return Err(Exc::type_error("range expected at least 1 argument, got 0"));
    }
    if a.pos.len() > 3 {
        return Err(Exc::type_error(format!("range expected at most 3 arguments, got {}", a.pos.len())));
    }
    let mut nums: Vec<BigInt> = Vec::new();
    for v in a.pos.clone() {
        match &v {
            Value::BigInt(b) => nums.push((**b).clone()),
            Value::Float(_) | Value::Str(_) | Value::None | Value::List(_) => {
                return Err(Exc::type_error(format!(
                    "'{}' object cannot be interpreted as an integer",
                    vm.type_name(&v)
                )))
            }
            _ => nums.push(BigInt::from(vm.index_value(&v)?)),
        }
    }
    let (start, stop, step) = match nums.len() {
        1 => (BigInt::from(0), nums[0].clone(), BigInt::from(1)),
        2 => (nums[0].clone(), nums[1].clone(), BigInt::from(1)),
        _ => (nums[0].clone(), nums[1].clone(), nums[2].clone()),
    };
    if num_traits::Zero::is_zero(&step) {
        return Err(Exc::value_error("range() arg 3 must not be zero"));
    }
    Ok(Value::Range(Rc::new(RangeObj::from_big(start, stop, step))))
}

fn slice_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("slice", a, 1, 3)?;
    let (start, stop, step) = match a.pos.len() {
        1 => (Value::None, a.pos[0].clone(), Value::None),
        2 => (a.pos[0].clone(), a.pos[1].clone(), Value::None),
        _ => (a.pos[0].clone(), a.pos[1].clone(), a.pos[2].clone()),
    };
    Ok(Value::Slice(Rc::new(SliceObj { start, stop, step })))
}

fn bytes_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bytes_from_args(vm, a, "bytes")?;
    Ok(Value::Bytes(Rc::from(b)))
}

fn bytearray_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bytes_from_args(vm, a, "bytearray")?;
    Ok(Value::ByteArray(Rc::new(RefCell::new(b))))
}

fn bytes_from_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<Vec<u8>> {
    let encoding = take_kw(a, "encoding");
    let errors = take_kw(a, "errors");
    no_more_kw(name, a)?;
    check_named_args(name, a, &["source", "encoding", "errors"], 0)?;
    let Some(x) = a.pos.first().cloned() else { return Ok(vec![]) };
    let encoding = encoding.or_else(|| a.pos.get(1).cloned());
    let errors = errors.or_else(|| a.pos.get(2).cloned());
    match &x {
        Value::Str(s) => {
            use super::str_methods::{encode_str, lookup_codec, opt_str_arg};
            if encoding.is_none() {
                return Err(Exc::type_error("string argument without an encoding"));
            }
            let enc = opt_str_arg(vm, encoding.as_ref(), name, "encoding", "utf-8")?;
            let errors = opt_str_arg(vm, errors.as_ref(), name, "errors", "strict")?;
            encode_str(s.as_str(), lookup_codec(&enc)?, &errors)
        }
        Value::Int(n) => {
            if *n < 0 {
                return Err(Exc::value_error("negative count"));
            }
            vm.mem_charge(*n as usize)?;
            if *n > 1 << 34 {
                return Err(Exc::new(crate::vm::ExcKind::MemoryError, ""));
            }
            Ok(vec![0; *n as usize])
        }
        Value::Bytes(b) => Ok(b.to_vec()),
        Value::ByteArray(b) => Ok(b.borrow().clone()),
        _ => {
            let items = vm.collect(&x)?;
            let mut out = Vec::with_capacity(items.len());
            for v in items {
                let n = vm.index_value(&v)?;
                if !(0..256).contains(&n) {
                    return Err(Exc::value_error("bytes must be in range(0, 256)"));
                }
                out.push(n as u8);
            }
            Ok(out)
        }
    }
}

fn property_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_named_args("property", a, &["fget", "fset", "fdel", "doc"], 0)?;
    let fget = take_kw(a, "fget").or_else(|| a.pos.first().cloned()).unwrap_or(Value::None);
    let fset = take_kw(a, "fset").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    let fdel = take_kw(a, "fdel").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let mut doc = take_kw(a, "doc").or_else(|| a.pos.get(3).cloned()).unwrap_or(Value::None);
    if doc.is_none() && !fget.is_none() {
        // As CPython, a property without a doc takes its getter's docstring.
        doc = vm.get_attr_opt(&fget, Sym::new("__doc__"))?.unwrap_or(Value::None);
    }
    Ok(Value::descriptor(Descriptor::Property { fget, fset, fdel, doc }))
}

fn staticmethod_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_positional("staticmethod", a, 1, 1)?;
    Ok(Value::descriptor(Descriptor::StaticMethod(a.pos[0].clone())))
}

fn classmethod_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_positional("classmethod", a, 1, 1)?;
    Ok(Value::descriptor(Descriptor::ClassMethod(a.pos[0].clone())))
}

fn super_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match a.pos.len() {
        2 => {
            let Value::Class(cls) = &a.pos[0] else { return Err(Exc::type_error("super() argument 1 must be a type")) };
            Ok(Value::descriptor(Descriptor::Super { cls: cls.clone(), obj: a.pos[1].clone() }))
        }
        0 => Err(Exc::runtime_error("super(): no arguments")),
        n if n > 2 => Err(Exc::type_error(format!("super() expected at most 2 arguments, got {n}"))),
        _ => {
            let _ = vm;
            Err(Exc::type_error("super() takes 0 or 2 arguments"))
        }
    }
}

fn enumerate_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let start = take_kw(a, "start");
    if let Some(it) = take_kw(a, "iterable") {
        a.pos.insert(0, it);
    }
    ctor_no_more_kw("enumerate", a)?;
    if a.pos.is_empty() {
        return Err(Exc::type_error("enumerate() missing required argument 'iterable'"));
    }
    check_named_args("enumerate", a, &["iterable", "start"], 1)?;
    let inner = vm.get_iter(&a.pos[0].clone())?;
    let count = match start.or_else(|| a.pos.get(1).cloned()) {
        Some(s) => vm.index_value(&s)?,
        None => 0,
    };
    Ok(Value::iter(IterState::Enumerate { inner, count }))
}

fn zip_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let strict = match take_kw(a, "strict") {
        Some(v) => vm.truthy(&v)?,
        None => false,
    };
    ctor_no_more_kw("zip", a)?;
    let mut inners = Vec::new();
    for v in a.pos.clone() {
        inners.push(vm.get_iter(&v)?);
    }
    if inners.is_empty() {
        return Ok(Value::iter(IterState::Done(TypeId::Zip)));
    }
    Ok(Value::iter(IterState::Zip { inners, strict }))
}

fn map_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("map", a)?;
    if a.pos.len() < 2 {
        return Err(Exc::type_error("map() must have at least two arguments."));
    }
    let func = a.pos[0].clone();
    let mut inners = Vec::new();
    for v in &a.pos[1..] {
        inners.push(vm.get_iter(v)?);
    }
    Ok(Value::iter(IterState::Map { func, inners }))
}

fn filter_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ctor_no_more_kw("filter", a)?;
    check_args("filter", a, 2, 2)?;
    let func = a.pos[0].clone();
    let inner = vm.get_iter(&a.pos[1].clone())?;
    Ok(Value::iter(IterState::Filter { func, inner }))
}

fn reversed_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_positional("reversed", a, 1, 1)?;
    let v = a.pos[0].clone();
    let st = match &v {
        Value::List(l) => IterState::ListRev { list: l.clone(), index: l.items.borrow().len() },
        Value::Range(r) if r.big.is_some() => {
            let n = r.big_len();
            if num_traits::Zero::is_zero(&n) {
                IterState::Done(TypeId::RangeIterator)
            } else {
                let (start, _, step) = r.parts();
                let last = r.big_item(&(n - 1));
                IterState::BigRange { next: last, stop: start - &step, step: -step }
            }
        }
        Value::Range(r) => {
            let n = r.len();
            if n == 0 {
                IterState::Done(TypeId::RangeIterator)
            } else {
                let last = r.start + (n - 1) * r.step;
                IterState::Range { next: last, stop: r.start - r.step, step: -r.step }
            }
        }
        Value::Tuple(_) | Value::Str(_) | Value::Bytes(_) => {
            let mut items = vm.collect(&v)?;
            items.reverse();
            IterState::Vec { items, index: 0 }
        }
        Value::Dict(d) => {
            let mut items = d.d.borrow().keys();
            items.reverse();
            IterState::Vec { items, index: 0 }
        }
        Value::Instance(i) => {
            if let Some(f) = i.class.lookup(crate::vm::Sym::new("__reversed__")) {
                return vm.call(&f, vec![v.clone()]);
            }
            let n = super::functions::len_of(vm, &v)?;
            let mut items = Vec::with_capacity(n as usize);
            for k in (0..n).rev() {
                items.push(vm.get_item(&v, &Value::Int(k))?);
            }
            IterState::Vec { items, index: 0 }
        }
        Value::Other(o) => {
            let o = o.clone();
            match o.get_attr(vm, &v, crate::vm::Sym::new("__reversed__"))? {
                Some(f) => return vm.call(&f, vec![]),
                None => return Err(Exc::type_error(format!("'{}' object is not reversible", vm.type_name(&v)))),
            }
        }
        other => return Err(Exc::type_error(format!("'{}' object is not reversible", vm.type_name(other)))),
    };
    Ok(Value::iter(st))
}

/// `type(None)()`, `type(...)()`, `type(NotImplemented)()`: the singleton, with no arguments.
fn singleton(a: &Args, name: &str, v: Value) -> Res<Value> {
    if !a.pos.is_empty() || !a.kw.is_empty() {
        return Err(Exc::type_error(format!("{name} takes no arguments")));
    }
    Ok(v)
}

fn none_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    singleton(a, "NoneType", Value::None)
}

fn ellipsis_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    singleton(a, "EllipsisType", Value::Ellipsis)
}

fn not_implemented_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    singleton(a, "NotImplementedType", Value::NotImplemented)
}

/// Registers the constructors.
pub fn install(vm: &mut Vm) {
    let ctors: &[(TypeId, NativeFn)] = &[
        (TypeId::Object, object_new),
        (TypeId::Type, type_new),
        (TypeId::Int, int_new),
        (TypeId::Bool, bool_new),
        (TypeId::Float, float_new),
        (TypeId::Str, str_new),
        (TypeId::List, list_new),
        (TypeId::Tuple, tuple_new),
        (TypeId::Dict, dict_new),
        (TypeId::Set, set_new),
        (TypeId::FrozenSet, frozenset_new),
        (TypeId::Range, range_new),
        (TypeId::Slice, slice_new),
        (TypeId::Bytes, bytes_new),
        (TypeId::ByteArray, bytearray_new),
        (TypeId::Property, property_new),
        (TypeId::StaticMethod, staticmethod_new),
        (TypeId::ClassMethod, classmethod_new),
        (TypeId::Super, super_new),
        (TypeId::Enumerate, enumerate_new),
        (TypeId::Zip, zip_new),
        (TypeId::Map, map_new),
        (TypeId::Filter, filter_new),
        (TypeId::Reversed, reversed_new),
        (TypeId::NoneType, none_new),
        (TypeId::Ellipsis, ellipsis_new),
        (TypeId::NotImplementedType, not_implemented_new),
    ];
    for (id, f) in ctors {
        vm.builtin_constructors.insert(*id as usize, *f);
    }
    let _ = BigInt::default();
}
