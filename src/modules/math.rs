//! `math`: the common functions and constants.

use crate::builtins::check_args;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, Res, Vm};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};
use std::rc::Rc;

fn f1(vm: &mut Vm, a: &mut Args, name: &str, f: fn(f64) -> f64, domain: fn(f64) -> bool) -> Res<Value> {
    check_args(name, a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    if !domain(x) {
        return Err(Exc::value_error("math domain error"));
    }
    let r = f(x);
    if r.is_infinite() && x.is_finite() {
        return Err(Exc::overflow("math range error"));
    }
    Ok(Value::Float(r))
}

macro_rules! unary {
    ($name:ident, $f:expr, $dom:expr) => {
        fn $name(vm: &mut Vm, a: &mut Args) -> Res<Value> {
            f1(vm, a, stringify!($name), $f, $dom)
        }
    };
}

fn any(_: f64) -> bool {
    true
}
unary!(sqrt, f64::sqrt, |x| x >= 0.0 || x.is_nan());
unary!(exp, f64::exp, any);
unary!(sin, f64::sin, |x: f64| !x.is_infinite());
unary!(cos, f64::cos, |x: f64| !x.is_infinite());
unary!(tan, f64::tan, |x: f64| !x.is_infinite());
unary!(asin, f64::asin, |x: f64| (-1.0..=1.0).contains(&x) || x.is_nan());
unary!(acos, f64::acos, |x: f64| (-1.0..=1.0).contains(&x) || x.is_nan());
unary!(atan, f64::atan, any);
unary!(sinh, f64::sinh, any);
unary!(cosh, f64::cosh, any);
unary!(tanh, f64::tanh, any);
unary!(log2, f64::log2, |x| x > 0.0 || x.is_nan());
unary!(log10, f64::log10, |x| x > 0.0 || x.is_nan());
unary!(fabs, f64::abs, any);
unary!(degrees, f64::to_degrees, any);
unary!(radians, f64::to_radians, any);
unary!(expm1, f64::exp_m1, any);
unary!(log1p, f64::ln_1p, |x| x > -1.0 || x.is_nan());

fn log(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("log", a, 1, 2)?;
    let ln = |vm: &mut Vm, v: &Value| -> Res<f64> {
        if let Value::BigInt(b) = v {
            if b.is_positive() {
                let bits = b.bits();
                let shift = bits.saturating_sub(60);
                let top = (&**b >> shift).to_f64().unwrap_or(1.0);
                return Ok(top.ln() + shift as f64 * std::f64::consts::LN_2);
            }
        }
        let x = vm.to_float(v)?;
        if x <= 0.0 {
            return Err(Exc::value_error("math domain error"));
        }
        Ok(x.ln())
    };
    let x = ln(vm, &a.pos[0].clone())?;
    match a.pos.get(1).cloned() {
        Some(b) => {
            let lb = ln(vm, &b)?;
            if lb == 0.0 {
                return Err(Exc::zero_division("float division by zero"));
            }
            Ok(Value::Float(x / lb))
        }
        None => Ok(Value::Float(x)),
    }
}

fn pow(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("pow", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let y = vm.to_float(&a.pos[1].clone())?;
    if x == 0.0 && y < 0.0 || x < 0.0 && y.fract() != 0.0 && y.is_finite() {
        return Err(Exc::value_error("math domain error"));
    }
    let r = x.powf(y);
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(Exc::overflow("math range error"));
    }
    Ok(Value::Float(r))
}

fn atan2(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("atan2", a, 2, 2)?;
    let y = vm.to_float(&a.pos[0].clone())?;
    let x = vm.to_float(&a.pos[1].clone())?;
    Ok(Value::Float(y.atan2(x)))
}

fn hypot(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mut acc = 0.0f64;
    for v in a.pos.clone() {
        let x = vm.to_float(&v)?;
        acc = acc.hypot(x);
    }
    Ok(Value::Float(acc))
}

fn to_integral(vm: &mut Vm, a: &mut Args, name: &str, f: fn(f64) -> f64) -> Res<Value> {
    check_args(name, a, 1, 1)?;
    let v = a.pos[0].clone();
    match &v {
        Value::Int(_) | Value::BigInt(_) => return Ok(v),
        Value::Bool(b) => return Ok(Value::Int(*b as i64)),
        _ => {}
    }
    let x = vm.to_float(&v)?;
    if x.is_nan() {
        return Err(Exc::value_error("cannot convert float NaN to integer"));
    }
    if x.is_infinite() {
        return Err(Exc::overflow("cannot convert float infinity to integer"));
    }
    Ok(Value::from_bigint(crate::text::int_math::float_to_bigint(f(x)).unwrap_or_default()))
}

fn floor(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    to_integral(vm, a, "floor", f64::floor)
}
fn ceil(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    to_integral(vm, a, "ceil", f64::ceil)
}
fn trunc(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    to_integral(vm, a, "trunc", f64::trunc)
}

fn big(vm: &mut Vm, v: &Value) -> Res<BigInt> {
    match v {
        Value::Int(i) => Ok(BigInt::from(*i)),
        Value::Bool(b) => Ok(BigInt::from(*b as i64)),
        Value::BigInt(b) => Ok((**b).clone()),
        other => Err(Exc::type_error(format!("'{}' object cannot be interpreted as an integer", vm.type_name(other)))),
    }
}

fn gcd(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mut acc = BigInt::zero();
    for v in a.pos.clone() {
        let b = big(vm, &v)?;
        acc = acc.gcd(&b);
    }
    Ok(Value::from_bigint(acc))
}

fn lcm(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mut acc = BigInt::from(1);
    for v in a.pos.clone() {
        let b = big(vm, &v)?;
        if b.is_zero() {
            return Ok(Value::Int(0));
        }
        acc = acc.lcm(&b);
    }
    Ok(Value::from_bigint(acc.abs()))
}

fn factorial(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("factorial", a, 1, 1)?;
    let n = match &a.pos[0] {
        Value::Float(_) => return Err(Exc::type_error("'float' object cannot be interpreted as an integer")),
        v => big(vm, &v.clone())?,
    };
    if n.is_negative() {
        return Err(Exc::value_error("factorial() not defined for negative values"));
    }
    let n = n.to_u64().ok_or_else(|| Exc::overflow("factorial() argument should not exceed 9223372036854775807"))?;
    if n > 100_000 {
        return Err(Exc::new(crate::vm::ExcKind::MemoryError, ""));
    }
    let mut acc = BigInt::from(1);
    for i in 2..=n {
        acc *= i;
    }
    Ok(Value::from_bigint(acc))
}

fn comb(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("comb", a, 2, 2)?;
    let n = big(vm, &a.pos[0].clone())?;
    let k = big(vm, &a.pos[1].clone())?;
    if n.is_negative() || k.is_negative() {
        return Err(Exc::value_error("n must be a non-negative integer"));
    }
    if k > n {
        return Ok(Value::Int(0));
    }
    let k = k.to_u64().unwrap_or(0).min((&n - &k).to_u64().unwrap_or(u64::MAX));
    let mut acc = BigInt::from(1);
    for i in 0..k {
        acc = acc * (&n - i) / (i + 1);
    }
    Ok(Value::from_bigint(acc))
}

fn perm(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("perm", a, 1, 2)?;
    let n = big(vm, &a.pos[0].clone())?;
    let k = match a.pos.get(1).cloned() {
        Some(v) if !v.is_none() => big(vm, &v)?,
        _ => n.clone(),
    };
    if k > n {
        return Ok(Value::Int(0));
    }
    let mut acc = BigInt::from(1);
    let mut i = BigInt::zero();
    while i < k {
        acc *= &n - &i;
        i += 1;
    }
    Ok(Value::from_bigint(acc))
}

fn isqrt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("isqrt", a, 1, 1)?;
    let n = big(vm, &a.pos[0].clone())?;
    if n.is_negative() {
        return Err(Exc::value_error("isqrt() argument must be nonnegative"));
    }
    Ok(Value::from_bigint(n.sqrt()))
}

fn isfinite(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Bool(x.is_finite()))
}
fn isinf(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Bool(x.is_infinite()))
}
fn isnan(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Bool(x.is_nan()))
}

fn isclose(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let rel = crate::builtins::take_kw(a, "rel_tol");
    let abs = crate::builtins::take_kw(a, "abs_tol");
    check_args("isclose", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let y = vm.to_float(&a.pos[1].clone())?;
    let rel = match rel {
        Some(v) => vm.to_float(&v)?,
        None => 1e-9,
    };
    let abs_t = match abs {
        Some(v) => vm.to_float(&v)?,
        None => 0.0,
    };
    if x == y {
        return Ok(Value::Bool(true));
    }
    if x.is_infinite() || y.is_infinite() {
        return Ok(Value::Bool(false));
    }
    let d = (x - y).abs();
    Ok(Value::Bool(d <= (rel * y.abs()).max(rel * x.abs()) || d <= abs_t))
}

fn copysign(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("copysign", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let y = vm.to_float(&a.pos[1].clone())?;
    Ok(Value::Float(x.copysign(y)))
}

fn fmod(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("fmod", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let y = vm.to_float(&a.pos[1].clone())?;
    if y == 0.0 {
        return Err(Exc::value_error("math domain error"));
    }
    Ok(Value::Float(x % y))
}

fn modf(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::tuple(vec![Value::Float(x.fract()), Value::Float(x.trunc())]))
}

fn fsum(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("fsum", a, 1, 1)?;
    let items = vm.collect(&a.pos[0].clone())?;
    // Shewchuk's exact partials, as CPython does.
    let mut partials: Vec<f64> = Vec::new();
    for v in items {
        let mut x = vm.to_float(&v)?;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    Ok(Value::Float(partials.iter().sum()))
}

fn prod(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let start = crate::builtins::take_kw(a, "start").unwrap_or(Value::Int(1));
    let items = vm.collect(&a.pos[0].clone())?;
    let mut acc = start;
    for v in items {
        acc = vm.binary_op(crate::ast::BinOp::Mult, acc, v)?;
    }
    Ok(acc)
}

fn dist(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = vm.collect(&a.pos[0].clone())?;
    let q = vm.collect(&a.pos[1].clone())?;
    let mut acc = 0.0f64;
    for (x, y) in p.iter().zip(q.iter()) {
        let d = vm.to_float(x)? - vm.to_float(y)?;
        acc = acc.hypot(d);
    }
    Ok(Value::Float(acc))
}

/// Builds the module.
pub fn init(_vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "math",
        &[
            ("sqrt", sqrt),
            ("exp", exp),
            ("sin", sin),
            ("cos", cos),
            ("tan", tan),
            ("asin", asin),
            ("acos", acos),
            ("atan", atan),
            ("sinh", sinh),
            ("cosh", cosh),
            ("tanh", tanh),
            ("log", log),
            ("log2", log2),
            ("log10", log10),
            ("log1p", log1p),
            ("expm1", expm1),
            ("fabs", fabs),
            ("degrees", degrees),
            ("radians", radians),
            ("pow", pow),
            ("atan2", atan2),
            ("hypot", hypot),
            ("floor", floor),
            ("ceil", ceil),
            ("trunc", trunc),
            ("gcd", gcd),
            ("lcm", lcm),
            ("factorial", factorial),
            ("comb", comb),
            ("perm", perm),
            ("isqrt", isqrt),
            ("isfinite", isfinite),
            ("isinf", isinf),
            ("isnan", isnan),
            ("isclose", isclose),
            ("copysign", copysign),
            ("fmod", fmod),
            ("modf", modf),
            ("fsum", fsum),
            ("prod", prod),
            ("dist", dist),
        ],
    );
    super::set(&m, "pi", Value::Float(std::f64::consts::PI));
    super::set(&m, "e", Value::Float(std::f64::consts::E));
    super::set(&m, "tau", Value::Float(std::f64::consts::TAU));
    super::set(&m, "inf", Value::Float(f64::INFINITY));
    super::set(&m, "nan", Value::Float(f64::NAN));
    Ok(m)
}
