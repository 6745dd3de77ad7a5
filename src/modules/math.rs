//! `math`: the common functions and constants.

use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, Res, Sym, Vm};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};
use std::rc::Rc;

/// Checks a `math` function's positional argument count, worded as CPython words it
/// (`math.sqrt() takes exactly one argument (0 given)`, `pow expected 2 arguments, got 1`).
fn check_args(name: &str, a: &Args, min: usize, max: usize) -> Res<()> {
    let n = a.pos.len();
    if min == 1 && max == 1 && n != 1 {
        return Err(Exc::type_error(format!("math.{name}() takes exactly one argument ({n} given)")));
    }
    crate::builtins::check_positional(name, a, min, max)
}

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
unary!(exp2, f64::exp2, any);
unary!(cbrt, super::math_special::cbrt, any);
unary!(erf, super::math_special::erf, any);
unary!(erfc, super::math_special::erfc, any);

/// A special function that reports its own errors (`gamma`, `lgamma`).
fn special(
    vm: &mut Vm,
    a: &mut Args,
    name: &str,
    f: fn(f64) -> Result<f64, super::math_special::MathError>,
) -> Res<Value> {
    check_args(name, a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    match f(x) {
        Ok(r) => Ok(Value::Float(r)),
        Err(super::math_special::MathError::Domain) => Err(Exc::value_error("math domain error")),
        Err(super::math_special::MathError::Range) => Err(Exc::overflow("math range error")),
    }
}

fn gamma(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    special(vm, a, "gamma", super::math_special::gamma)
}

fn lgamma(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    special(vm, a, "lgamma", super::math_special::lgamma)
}

fn log(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if a.pos.is_empty() || a.pos.len() > 2 {
        return Err(Exc::type_error("math.log requires 1 to 2 arguments"));
    }
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
        Value::Float(_) => {}
        _ => {
            // `__trunc__`, `__floor__`, `__ceil__` first; `trunc` has no fallback.
            let dunder = Sym::new(&format!("__{name}__"));
            if let Value::Instance(i) = &v {
                if let Some(m) = i.class.lookup(dunder) {
                    return vm.call(&m, vec![v.clone()]);
                }
            }
            if name == "trunc" {
                return Err(Exc::type_error(format!("type {} doesn't define __trunc__ method", vm.type_name(&v))));
            }
        }
    }
    let x = vm.to_float(&v)?;
    Ok(Value::from_bigint(Value::int_of_float(f(x))?))
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
    check_args("isfinite", a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Bool(x.is_finite()))
}
fn isinf(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("isinf", a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Bool(x.is_infinite()))
}
fn isnan(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("isnan", a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    Ok(Value::Bool(x.is_nan()))
}

fn isclose(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let rel = crate::builtins::take_kw(a, "rel_tol");
    let abs = crate::builtins::take_kw(a, "abs_tol");
    if a.pos.len() > 2 {
        let msg = format!("isclose() takes exactly 2 positional arguments ({} given)", a.pos.len());
        return Err(Exc::type_error(msg));
    }
    crate::builtins::check_named_args("isclose", a, &["a", "b"], 2)?;
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
    check_args("modf", a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    if x.is_infinite() {
        return Ok(Value::tuple(vec![Value::Float(0.0f64.copysign(x)), Value::Float(x)]));
    }
    // C's modf keeps the sign on a zero fraction: modf(-2.0) == (-0.0, -2.0).
    Ok(Value::tuple(vec![Value::Float(x.fract().copysign(x)), Value::Float(x.trunc())]))
}

/// `x` as `(m, e)` with `x == m * 2**e` and `0.5 <= abs(m) < 1` (C's `frexp`).
pub(super) fn frexp_f64(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, adjust) = if x.abs() < f64::MIN_POSITIVE { (x * 2f64.powi(54), -54) } else { (x, 0) };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022 + adjust)
}

/// `x * 2**e`, correctly rounded (C's `ldexp`); `None` on overflow.
pub(super) fn ldexp_f64(x: f64, e: i64) -> Option<f64> {
    if x == 0.0 || !x.is_finite() {
        return Some(x);
    }
    let (m, k) = frexp_f64(x);
    let ne = k.saturating_add(e);
    if ne > 1024 {
        return None;
    }
    if ne >= -1021 {
        // (2m) * 2**(ne - 1), both factors exact and the product a normal float.
        return Some((m * 2.0) * 2f64.powi((ne - 1) as i32));
    }
    // A subnormal result: round the 53-bit mantissa to the 2**-1074 grid, half to even.
    let big = (m.abs() * 2f64.powi(53)) as u64;
    let shift = (-1074 - (ne - 53)) as u64;
    let q = if shift >= 64 {
        0
    } else {
        let (q, rem, half) = (big >> shift, big & ((1u64 << shift) - 1), 1u64 << (shift - 1));
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    Some(f64::from_bits(q).copysign(x))
}

fn frexp(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("frexp", a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let (m, e) = frexp_f64(x);
    Ok(Value::tuple(vec![Value::Float(m), Value::Int(e)]))
}

fn ldexp(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("ldexp", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let e = match &a.pos[1] {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        Value::BigInt(b) => {
            if b.is_negative() {
                i64::MIN
            } else {
                i64::MAX
            }
        }
        other => {
            let _ = other;
            return Err(Exc::type_error("Expected an int as second argument to ldexp."));
        }
    };
    ldexp_f64(x, e).map(Value::Float).ok_or_else(|| Exc::overflow("math range error"))
}

fn remainder(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("remainder", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let y = vm.to_float(&a.pos[1].clone())?;
    // CPython's `m_remainder`: the IEEE 754 remainder, ties to the even multiple.
    if x.is_nan() {
        return Ok(Value::Float(x));
    }
    if y.is_nan() {
        return Ok(Value::Float(y));
    }
    if x.is_infinite() || y == 0.0 {
        return Err(Exc::value_error("math domain error"));
    }
    if y.is_infinite() {
        return Ok(Value::Float(x));
    }
    let (absx, absy) = (x.abs(), y.abs());
    let m = absx % absy;
    let c = absy - m;
    let r = if m < c {
        m
    } else if m > c {
        -c
    } else {
        m - 2.0 * ((0.5 * (absx - m)) % absy)
    };
    Ok(Value::Float(1.0f64.copysign(x) * r))
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
    crate::builtins::no_more_kw("prod", a)?;
    if a.pos.is_empty() {
        return Err(Exc::type_error("prod() takes exactly 1 positional argument (0 given)"));
    }
    crate::builtins::check_named_args("prod", a, &["iterable", "start"], 1)?;
    let items = vm.collect(&a.pos[0].clone())?;
    let mut acc = start;
    for v in items {
        acc = vm.binary_op(crate::ast::BinOp::Mult, acc, v)?;
    }
    Ok(acc)
}

fn dist(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("dist", a, 2, 2)?;
    let p = vm.collect(&a.pos[0].clone())?;
    let q = vm.collect(&a.pos[1].clone())?;
    if p.len() != q.len() {
        return Err(Exc::value_error("both points must have the same number of dimensions"));
    }
    let mut acc = 0.0f64;
    for (x, y) in p.iter().zip(q.iter()) {
        let d = vm.to_float(x)? - vm.to_float(y)?;
        acc = acc.hypot(d);
    }
    Ok(Value::Float(acc))
}

/// The next float above `x` (`f64::next_up`, which needs a newer Rust than the MSRV).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

/// The next float below `x`.
fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

/// `math.nextafter(x, y)`: the next float after `x` towards `y`.
fn nextafter(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("nextafter", a, 2, 2)?;
    let x = vm.to_float(&a.pos[0].clone())?;
    let y = vm.to_float(&a.pos[1].clone())?;
    Ok(Value::Float(if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == y {
        y
    } else if x < y {
        next_up(x)
    } else {
        next_down(x)
    }))
}

/// `math.ulp(x)`: the value of the least significant bit of `x`.
fn ulp(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("ulp", a, 1, 1)?;
    let x = vm.to_float(&a.pos[0].clone())?.abs();
    if !x.is_finite() {
        return Ok(Value::Float(x));
    }
    let up = next_up(x);
    Ok(Value::Float(if up.is_infinite() { x - next_down(x) } else { up - x }))
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
            ("frexp", frexp),
            ("ldexp", ldexp),
            ("remainder", remainder),
            ("nextafter", nextafter),
            ("exp2", exp2),
            ("cbrt", cbrt),
            ("erf", erf),
            ("erfc", erfc),
            ("gamma", gamma),
            ("lgamma", lgamma),
            ("ulp", ulp),
        ],
    );
    super::set(&m, "pi", Value::Float(std::f64::consts::PI));
    super::set(&m, "e", Value::Float(std::f64::consts::E));
    super::set(&m, "tau", Value::Float(std::f64::consts::TAU));
    super::set(&m, "inf", Value::Float(f64::INFINITY));
    super::set(&m, "nan", Value::Float(f64::NAN));
    Ok(m)
}
