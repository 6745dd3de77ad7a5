//! Methods of `int`, `float`, `range` and `slice`, and the explicit dunder methods of the
//! built-in types (`(1).__add__(2)`, `str.__eq__`), which defer to the VM's operators.

use super::{check_args, check_method_args, clinic, no_keywords};
use crate::ast::BinOp;
use crate::bytecode::CmpKind;
use crate::vm::value::{NativeFunction, Value};
use crate::vm::{Args, Exc, NativeFn, Res, Sym, TypeId, Vm};
use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};
use std::rc::Rc;

fn big_of(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::Bool(b) => Some(BigInt::from(*b as i64)),
        Value::BigInt(b) => Some((**b).clone()),
        _ => None,
    }
}

fn this_int(a: &Args) -> Res<BigInt> {
    a.pos.first().and_then(big_of).ok_or_else(|| Exc::type_error("descriptor requires an 'int' object"))
}

fn bit_length(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = this_int(a)?;
    check_method_args("int.bit_length", a, 1, 1)?;
    Ok(Value::Int(n.bits() as i64))
}

fn bit_count(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = this_int(a)?.abs();
    check_method_args("int.bit_count", a, 1, 1)?;
    Ok(Value::Int(n.to_bytes_le().1.iter().map(|b| b.count_ones() as i64).sum()))
}

/// `int.conjugate`, `float.conjugate`: the number itself (a bool's as an int).
fn conjugate(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "int.conjugate")?;
    let float = matches!(this, Value::Float(_));
    check_method_args(if float { "float.conjugate" } else { "int.conjugate" }, a, 1, 1)?;
    Ok(match &this {
        Value::Bool(b) => Value::Int(*b as i64),
        v @ (Value::Int(_) | Value::BigInt(_) | Value::Float(_)) => v.clone(),
        // The call wrapper words this for the receiver's type.
        _ => return Err(Exc::type_error("descriptor requires a number")),
    })
}

fn int_as_integer_ratio(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = this_int(a)?;
    check_method_args("int.as_integer_ratio", a, 1, 1)?;
    Ok(Value::tuple(vec![Value::from_bigint(n), Value::Int(1)]))
}

/// `byteorder` of `to_bytes`/`from_bytes` (default `'big'`): true for big-endian.
fn byteorder(vm: &Vm, v: Option<&Value>, fname: &str) -> Res<bool> {
    match v {
        None => Ok(true),
        Some(Value::Str(s)) if s.as_str() == "big" => Ok(true),
        Some(Value::Str(s)) if s.as_str() == "little" => Ok(false),
        Some(Value::Str(_)) => Err(Exc::value_error("byteorder must be either 'little' or 'big'")),
        Some(other) => {
            Err(Exc::type_error(format!("{fname}() argument 'byteorder' must be str, not {}", vm.type_name(other))))
        }
    }
}

const TO_BYTES: clinic::Params =
    clinic::Params { name: "to_bytes", positional: &["length", "byteorder"], required: 0, kwonly: &["signed"] };

/// `int.to_bytes(length=1, byteorder='big', *, signed=False)`.
fn to_bytes(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let n = this_int(a)?;
    let p = clinic::bind(a, 1, &TO_BYTES)?;
    let length = match &p[0] {
        Some(v) => vm.index_value(v)?,
        None => 1,
    };
    let big = byteorder(vm, p[1].as_ref(), "to_bytes")?;
    let signed = match &p[2] {
        Some(v) => vm.truthy(v)?,
        None => false,
    };
    if length < 0 {
        return Err(Exc::value_error("length argument must be non-negative"));
    }
    if n.is_negative() && !signed {
        return Err(Exc::overflow("can't convert negative int to unsigned"));
    }
    let mut bytes = if signed { n.to_signed_bytes_le() } else { n.to_bytes_le().1 };
    if n.is_zero() {
        bytes.clear();
    }
    if bytes.len() > length as usize {
        return Err(Exc::overflow("int too big to convert"));
    }
    let fill = if n.is_negative() { 0xff } else { 0 };
    let missing = length as usize - bytes.len();
    crate::vm::mem::reserve(&mut bytes, missing)?;
    bytes.resize(length as usize, fill);
    if big {
        bytes.reverse();
    }
    Ok(Value::Bytes(Rc::from(bytes)))
}

const FROM_BYTES: clinic::Params =
    clinic::Params { name: "from_bytes", positional: &["bytes", "byteorder"], required: 1, kwonly: &["signed"] };

/// `int.from_bytes(bytes, byteorder='big', *, signed=False)`, a class method: a subclass
/// gets `cls(n)`.
fn from_bytes(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = clinic::bind(a, 1, &FROM_BYTES)?;
    let big = byteorder(vm, p[1].as_ref(), "from_bytes")?;
    let signed = match &p[2] {
        Some(v) => vm.truthy(v)?,
        None => false,
    };
    let mut bytes = bytes_of(vm, p[0].as_ref().unwrap_or(&Value::None))?;
    if big {
        bytes.reverse();
    }
    let n = if signed { BigInt::from_signed_bytes_le(&bytes) } else { BigInt::from_bytes_le(Sign::Plus, &bytes) };
    let n = Value::from_bigint(n);
    match a.pos.first() {
        Some(Value::Class(c)) if !Rc::ptr_eq(c, vm.type_class(crate::vm::TypeId::Int)) => {
            let c = Value::Class(c.clone());
            vm.call(&c, vec![n])
        }
        _ => Ok(n),
    }
}

/// The bytes of `from_bytes`'s argument, as `bytes(v)` makes them from anything but an
/// int or a str: a bytes-like object, or an iterable of ints in `range(0, 256)`.
fn bytes_of(vm: &mut Vm, v: &Value) -> Res<Vec<u8>> {
    match v {
        Value::Bytes(_) | Value::ByteArray(_) => return vm.bytes_like(v),
        Value::Str(_) | Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_) | Value::None => {
            return Err(Exc::type_error(format!("cannot convert '{}' object to bytes", vm.type_name(v))));
        }
        _ => {}
    }
    let items = match vm.collect(v) {
        Ok(items) => items,
        Err(e) if vm.is_not_iterable_error(&e, v) => {
            return Err(Exc::type_error(format!("cannot convert '{}' object to bytes", vm.type_name(v))));
        }
        Err(e) => return Err(e),
    };
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        let n = vm.index_value(&i)?;
        if !(0..256).contains(&n) {
            return Err(Exc::value_error("bytes must be in range(0, 256)"));
        }
        out.push(n as u8);
    }
    Ok(out)
}

fn this_float(vm: &mut Vm, a: &Args) -> Res<f64> {
    match a.pos.first() {
        Some(v) => vm.to_float(&v.clone()),
        None => Err(Exc::type_error("descriptor requires a 'float' object")),
    }
}

fn is_integer(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_float(vm, a)?;
    check_method_args("float.is_integer", a, 1, 1)?;
    Ok(Value::Bool(f.is_finite() && f.fract() == 0.0))
}

fn float_as_integer_ratio(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let f = this_float(vm, a)?;
    check_method_args("float.as_integer_ratio", a, 1, 1)?;
    if f.is_nan() {
        return Err(Exc::value_error("cannot convert NaN to integer ratio"));
    }
    if f.is_infinite() {
        return Err(Exc::overflow("cannot convert Infinity to integer ratio"));
    }
    let bits = f.to_bits();
    let sign = if bits >> 63 == 1 { -1 } else { 1 };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let mant = if exp == 0 { (bits & ((1 << 52) - 1)) << 1 } else { (bits & ((1 << 52) - 1)) | (1 << 52) };
    let mut num = BigInt::from(mant) * sign;
    let mut den = BigInt::from(1);
    let e = exp - 1075;
    if e > 0 {
        num <<= e as usize;
    } else {
        den <<= (-e) as usize;
    }
    let g = num_integer::Integer::gcd(&num, &den);
    if !g.is_zero() {
        num /= &g;
        den /= &g;
    }
    Ok(Value::tuple(vec![Value::from_bigint(num), Value::from_bigint(den)]))
}

fn float_hex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if a.pos.len() > 1 {
        return Err(Exc::type_error(format!("float.hex() takes no arguments ({} given)", a.pos.len() - 1)));
    }
    let f = this_float(vm, a)?;
    if f.is_nan() {
        return Ok(Value::str("nan"));
    }
    if f.is_infinite() {
        return Ok(Value::str(if f > 0.0 { "inf" } else { "-inf" }));
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return Ok(Value::string(format!("{sign}0x0.0p+0")));
    }
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let mant = bits & ((1 << 52) - 1);
    let (lead, e) = if exp == 0 { (0, -1022) } else { (1, exp - 1023) };
    // CPython always prints all 13 hex digits of the mantissa.
    let hex = format!("{mant:013x}");
    Ok(Value::string(format!("{sign}0x{lead}.{hex}p{}{}", if e >= 0 { "+" } else { "-" }, e.abs())))
}

/// `int.__trunc__`/`__floor__`/`__ceil__` and the float ones: the integer `f` rounds to.
fn integral(vm: &mut Vm, a: &Args, name: &str, f: fn(f64) -> f64) -> Res<Value> {
    check_args(name, a, 1, 1)?;
    match &a.pos[0] {
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        v @ (Value::Int(_) | Value::BigInt(_)) => Ok(v.clone()),
        v => {
            let x = vm.to_float(&v.clone())?;
            Ok(Value::from_bigint(Value::int_of_float(f(x))?))
        }
    }
}

fn d_trunc(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    integral(vm, a, "__trunc__", f64::trunc)
}

fn d_floor(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    integral(vm, a, "__floor__", f64::floor)
}

fn d_ceil(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    integral(vm, a, "__ceil__", f64::ceil)
}

/// `x.__round__(ndigits=None)`: `round(x, ndigits)`.
fn d_round(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    super::receiver(a, "int.__round__")?;
    super::functions::round(vm, a)
}

fn range_index(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("index", a, 2, 2)?;
    let Value::Range(r) = &a.pos[0] else { return Err(Exc::type_error("range expected")) };
    let r = r.clone();
    let v = a.pos[1].clone();
    if vm.contains(&Value::Range(r.clone()), &v)? {
        if let Some(i) = big_of(&v) {
            let (start, _, step) = r.parts();
            return Ok(Value::from_bigint((i - start) / step));
        }
    }
    let rep = vm.repr(&v)?;
    Err(Exc::value_error(format!("{rep} is not in range")))
}

fn range_count(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("count", a, 2, 2)?;
    let (r, v) = (a.pos[0].clone(), a.pos[1].clone());
    Ok(Value::Int(vm.contains(&r, &v)? as i64))
}

fn slice_indices(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("indices", a, 2, 2)?;
    let Value::Slice(s) = &a.pos[0] else { return Err(Exc::type_error("slice expected")) };
    let s = s.clone();
    let n = vm.index_value(&a.pos[1].clone())?;
    if n < 0 {
        return Err(Exc::value_error("length should not be negative"));
    }
    let (x, y, z) = vm.resolve_slice(&s, n as usize)?;
    Ok(Value::tuple(vec![Value::Int(x), Value::Int(y), Value::Int(z)]))
}

// ---- explicit dunders of built-in types ----

fn is_num(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Bool(_) | Value::BigInt(_) | Value::Float(_))
}

/// Whether `other` is an operand the built-in type of `this` handles itself.
fn compatible(this: &Value, other: &Value) -> bool {
    match this {
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => {
            matches!(other, Value::Int(_) | Value::Bool(_) | Value::BigInt(_))
        }
        Value::Float(_) => is_num(other),
        Value::Str(_) => matches!(other, Value::Str(_)),
        Value::List(_) => matches!(other, Value::List(_)),
        Value::Tuple(_) => matches!(other, Value::Tuple(_)),
        Value::Bytes(_) | Value::ByteArray(_) => matches!(other, Value::Bytes(_) | Value::ByteArray(_)),
        Value::Set(_) | Value::FrozenSet(_) => matches!(other, Value::Set(_) | Value::FrozenSet(_)),
        Value::Dict(_) => matches!(other, Value::Dict(_)),
        _ => false,
    }
}

/// CPython's check of a binary slot wrapper's one argument (`int.__add__(1)`).
fn one_operand(a: &Args) -> Res<()> {
    match a.pos.len() {
        2 => Ok(()),
        n => Err(Exc::type_error(format!("expected 1 argument, got {}", n.saturating_sub(1)))),
    }
}

fn binop(vm: &mut Vm, a: &Args, op: BinOp, reflected: bool) -> Res<Value> {
    one_operand(a)?;
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    let other = a.pos.get(1).cloned().unwrap_or(Value::None);
    let ok = compatible(&this, &other)
        || (matches!(op, BinOp::Mult)
            && matches!(this, Value::Str(_) | Value::List(_) | Value::Tuple(_))
            && matches!(other, Value::Int(_)))
        || (matches!(op, BinOp::Mod) && matches!(this, Value::Str(_)));
    if !ok {
        return Ok(Value::NotImplemented);
    }
    if reflected {
        vm.binary_op(op, other, this)
    } else {
        vm.binary_op(op, this, other)
    }
}

fn cmpop(vm: &mut Vm, a: &Args, kind: CmpKind) -> Res<Value> {
    one_operand(a)?;
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    let other = a.pos.get(1).cloned().unwrap_or(Value::None);
    if !(compatible(&this, &other) || is_num(&this) && is_num(&other)) {
        return Ok(Value::NotImplemented);
    }
    vm.compare(kind, &this, &other)
}

macro_rules! dunders {
    ($($name:ident($min:literal..=$max:literal) => $body:expr;)*) => {
        $(fn $name(vm: &mut Vm, a: &mut Args) -> Res<Value> {
            let name = &stringify!($name)[2..];
            if a.pos.is_empty() {
                return Err(Exc::type_error(format!("descriptor '__{name}__' needs an argument")));
            }
            slot_args(a, name, $min, $max)?;
            let f: fn(&mut Vm, &Args) -> Res<Value> = $body;
            f(vm, a)
        })*
    };
}

/// Checks the arguments of a slot wrapper (`(1).__neg__`, `[].__setitem__`, ...) after the
/// receiver, with CPython's messages (whose odd leading space for `__pow__` and
/// `__setitem__` comes from an empty function name).
fn slot_args(a: &Args, name: &str, min: usize, max: usize) -> Res<()> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("wrapper __{name}__() takes no keyword arguments")));
    }
    let got = a.pos.len() - 1;
    if (min..=max).contains(&got) {
        return Ok(());
    }
    let lead = if matches!(name, "pow" | "rpow" | "setitem") { " " } else { "" };
    let s = |n: usize| if n == 1 { "" } else { "s" };
    Err(Exc::type_error(if min == max {
        format!("{lead}expected {min} argument{}, got {got}", s(min))
    } else if got < min {
        format!("{lead}expected at least {min} argument{}, got {got}", s(min))
    } else {
        format!("{lead}expected at most {max} argument{}, got {got}", s(max))
    }))
}

dunders! {
    d_add(1..=1) => |vm, a| binop(vm, a, BinOp::Add, false);
    d_radd(1..=1) => |vm, a| binop(vm, a, BinOp::Add, true);
    d_sub(1..=1) => |vm, a| binop(vm, a, BinOp::Sub, false);
    d_rsub(1..=1) => |vm, a| binop(vm, a, BinOp::Sub, true);
    d_mul(1..=1) => |vm, a| binop(vm, a, BinOp::Mult, false);
    d_rmul(1..=1) => |vm, a| binop(vm, a, BinOp::Mult, true);
    d_truediv(1..=1) => |vm, a| binop(vm, a, BinOp::Div, false);
    d_rtruediv(1..=1) => |vm, a| binop(vm, a, BinOp::Div, true);
    d_floordiv(1..=1) => |vm, a| binop(vm, a, BinOp::FloorDiv, false);
    d_rfloordiv(1..=1) => |vm, a| binop(vm, a, BinOp::FloorDiv, true);
    d_mod(1..=1) => |vm, a| binop(vm, a, BinOp::Mod, false);
    d_rmod(1..=1) => |vm, a| binop(vm, a, BinOp::Mod, true);
    d_pow(1..=2) => |vm, a| pow_slot(vm, a, false);
    d_rpow(1..=2) => |vm, a| pow_slot(vm, a, true);
    d_and(1..=1) => |vm, a| binop(vm, a, BinOp::BitAnd, false);
    d_or(1..=1) => |vm, a| binop(vm, a, BinOp::BitOr, false);
    d_xor(1..=1) => |vm, a| binop(vm, a, BinOp::BitXor, false);
    d_lshift(1..=1) => |vm, a| binop(vm, a, BinOp::LShift, false);
    d_rshift(1..=1) => |vm, a| binop(vm, a, BinOp::RShift, false);
    d_eq(1..=1) => |vm, a| cmpop(vm, a, CmpKind::Eq);
    d_ne(1..=1) => |vm, a| cmpop(vm, a, CmpKind::Ne);
    d_lt(1..=1) => |vm, a| cmpop(vm, a, CmpKind::Lt);
    d_le(1..=1) => |vm, a| cmpop(vm, a, CmpKind::Le);
    d_gt(1..=1) => |vm, a| cmpop(vm, a, CmpKind::Gt);
    d_ge(1..=1) => |vm, a| cmpop(vm, a, CmpKind::Ge);
    d_neg(0..=0) => |vm, a| vm.unary_op(crate::ast::UnaryOp::USub, a.pos[0].clone());
    d_pos(0..=0) => |vm, a| vm.unary_op(crate::ast::UnaryOp::UAdd, a.pos[0].clone());
    d_invert(0..=0) => |vm, a| vm.unary_op(crate::ast::UnaryOp::Invert, a.pos[0].clone());
    d_hash(0..=0) => |vm, a| vm.hash(&a.pos[0].clone()).map(Value::Int);
    d_repr(0..=0) => |vm, a| vm.repr(&a.pos[0].clone()).map(Value::string);
    d_str(0..=0) => |vm, a| vm.str_of(&a.pos[0].clone()).map(Value::string);
    d_bool(0..=0) => |vm, a| vm.truthy(&a.pos[0].clone()).map(Value::Bool);
    d_len(0..=0) => |vm, a| super::functions::len_of(vm, &a.pos[0].clone()).map(Value::Int);
    d_contains(1..=1) => |vm, a| vm.contains(&a.pos[0].clone(), &a.pos.get(1).cloned().unwrap_or(Value::None)).map(Value::Bool);
    d_getitem(1..=1) => |vm, a| vm.get_item(&a.pos[0].clone(), &a.pos.get(1).cloned().unwrap_or(Value::None));
    d_iter(0..=0) => |vm, a| vm.get_iter(&a.pos[0].clone());
    d_setitem(2..=2) => |vm, a| {
        let (key, value) = (a.pos.get(1).cloned().unwrap_or(Value::None), a.pos.get(2).cloned().unwrap_or(Value::None));
        vm.set_item(&a.pos[0].clone(), key, value).map(|_| Value::None)
    };
    d_delitem(1..=1) => |vm, a| vm.del_item(&a.pos[0].clone(), &a.pos.get(1).cloned().unwrap_or(Value::None)).map(|_| Value::None);
    d_int(0..=0) => |vm, a| super::constructors::to_int(vm, &a.pos[0].clone());
    d_float(0..=0) => |vm, a| vm.to_float(&a.pos[0].clone()).map(Value::Float);
}

/// `__pow__`/`__rpow__` with an optional modulus: `(2).__pow__(3, 5)` is `pow(2, 3, 5)`.
fn pow_slot(vm: &mut Vm, a: &Args, reflected: bool) -> Res<Value> {
    let (this, other) = (a.pos[0].clone(), a.pos[1].clone());
    match a.pos.get(2) {
        Some(m) if !m.is_none() => {
            let int = |v: &Value| matches!(v, Value::Int(_) | Value::Bool(_) | Value::BigInt(_));
            if !(int(&this) && int(&other) && int(m)) {
                return Ok(Value::NotImplemented);
            }
            let (x, y) = if reflected { (other, this) } else { (this, other) };
            let mut args = Args { pos: smallvec::smallvec![x, y, m.clone()], kw: Vec::new() };
            super::functions::pow(vm, &mut args)
        }
        _ => binop(vm, &Args { pos: smallvec::smallvec![this, other], kw: Vec::new() }, BinOp::Pow, reflected),
    }
}

/// `x.__format__(spec)`, a method (not a slot wrapper) with its own messages.
fn d_format(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(this) = a.pos.first().cloned() else {
        return Err(Exc::type_error("descriptor '__format__' needs an argument"));
    };
    // Only these types define `__format__`; the others inherit `object.__format__`.
    let owner = match this {
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        _ => "object",
    };
    no_keywords(&format!("{owner}.__format__"), a)?;
    if a.pos.len() != 2 {
        let n = a.pos.len() - 1;
        return Err(Exc::type_error(format!("{owner}.__format__() takes exactly one argument ({n} given)")));
    }
    match &a.pos[1] {
        Value::Str(s) => {
            let spec = s.as_str().to_string();
            vm.format(&this, &spec).map(Value::string)
        }
        other => Err(Exc::type_error(format!("__format__() argument must be str, not {}", vm.type_name(other)))),
    }
}

/// Registers the methods.
pub fn install(vm: &mut Vm) {
    let arith: &[(&'static str, NativeFn)] = &[
        ("__add__", d_add),
        ("__radd__", d_radd),
        ("__sub__", d_sub),
        ("__rsub__", d_rsub),
        ("__mul__", d_mul),
        ("__rmul__", d_rmul),
        ("__truediv__", d_truediv),
        ("__rtruediv__", d_rtruediv),
        ("__floordiv__", d_floordiv),
        ("__rfloordiv__", d_rfloordiv),
        ("__mod__", d_mod),
        ("__rmod__", d_rmod),
        ("__pow__", d_pow),
        ("__rpow__", d_rpow),
        ("__neg__", d_neg),
        ("__pos__", d_pos),
        ("__abs__", d_pos),
        ("__int__", d_int),
        ("__float__", d_float),
        ("__bool__", d_bool),
    ];
    let compare: &[(&'static str, NativeFn)] = &[
        ("__eq__", d_eq),
        ("__ne__", d_ne),
        ("__lt__", d_lt),
        ("__le__", d_le),
        ("__gt__", d_gt),
        ("__ge__", d_ge),
        ("__hash__", d_hash),
        ("__repr__", d_repr),
        ("__str__", d_str),
        ("__format__", d_format),
    ];
    let bits: &[(&'static str, NativeFn)] = &[
        ("__and__", d_and),
        ("__or__", d_or),
        ("__xor__", d_xor),
        ("__lshift__", d_lshift),
        ("__rshift__", d_rshift),
        ("__invert__", d_invert),
        ("__index__", d_int),
        ("bit_length", bit_length),
        ("bit_count", bit_count),
        ("conjugate", conjugate),
        ("as_integer_ratio", int_as_integer_ratio),
        ("to_bytes", to_bytes),
    ];
    let container: &[(&'static str, NativeFn)] =
        &[("__contains__", d_contains), ("__getitem__", d_getitem), ("__iter__", d_iter), ("__len__", d_len)];
    for id in [TypeId::Int, TypeId::Float] {
        vm.add_methods(id, arith);
        vm.add_methods(id, compare);
    }
    vm.add_methods(TypeId::Int, bits);
    for id in [TypeId::Int, TypeId::Float] {
        vm.add_methods(
            id,
            &[("__trunc__", d_trunc), ("__floor__", d_floor), ("__ceil__", d_ceil), ("__round__", d_round)],
        );
    }
    vm.add_methods(
        TypeId::Float,
        &[
            ("is_integer", is_integer),
            ("as_integer_ratio", float_as_integer_ratio),
            ("hex", float_hex),
            ("conjugate", conjugate),
        ],
    );
    for id in [TypeId::Str, TypeId::List, TypeId::Tuple, TypeId::Bytes] {
        vm.add_methods(id, &[("__add__", d_add), ("__mul__", d_mul), ("__rmul__", d_rmul)]);
        vm.add_methods(id, compare);
        vm.add_methods(id, container);
    }
    vm.add_methods(TypeId::Str, &[("__mod__", d_mod)]);
    for id in [TypeId::List, TypeId::Dict, TypeId::ByteArray] {
        vm.add_methods(id, &[("__setitem__", d_setitem), ("__delitem__", d_delitem)]);
    }
    vm.add_methods(TypeId::ByteArray, container);
    for id in [TypeId::Dict, TypeId::Set, TypeId::FrozenSet, TypeId::Range] {
        // Sets are not subscriptable: no `__getitem__`.
        let own: Vec<(&'static str, NativeFn)> = container
            .iter()
            .filter(|(n, _)| !(*n == "__getitem__" && matches!(id, TypeId::Set | TypeId::FrozenSet)))
            .copied()
            .collect();
        vm.add_methods(id, &own);
        vm.add_methods(id, &[("__eq__", d_eq), ("__ne__", d_ne), ("__repr__", d_repr)]);
    }
    vm.add_methods(TypeId::Range, &[("index", range_index), ("count", range_count)]);
    vm.add_methods(TypeId::Slice, &[("indices", slice_indices)]);
    let fb = Value::Native(Rc::new(NativeFunction {
        fast: None,
        name: "from_bytes",
        func: from_bytes,
        receiver: None,
        owner: Some("int"),
    }));
    vm.type_class(TypeId::Int)
        .dict
        .borrow_mut()
        .insert(Sym::new("from_bytes"), Value::Descriptor(Rc::new(crate::vm::value::Descriptor::ClassMethod(fb))));
    let fh = super::native("fromhex", super::float_hex::fromhex);
    vm.type_class(TypeId::Float)
        .dict
        .borrow_mut()
        .insert(Sym::new("fromhex"), Value::Descriptor(Rc::new(crate::vm::value::Descriptor::ClassMethod(fh))));
    let _ = BigInt::zero().to_i64();
}
