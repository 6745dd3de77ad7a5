//! `float.fromhex(s)`: CPython's `float_fromhex`, digit for digit — the same accepted
//! forms (`0x1.8p3`, `ff`, `-inf`, surrounding whitespace), round-half-even to 53 bits
//! (subnormals included), and the same errors.

use crate::vm::value::Value;
use crate::vm::{Args, Exc, Res, Vm};

const MANT_DIG: i64 = 53;
const MIN_EXP: i64 = -1021;
const MAX_EXP: i64 = 1024;

fn invalid() -> Exc {
    Exc::value_error("invalid hexadecimal floating-point string")
}

fn overflow() -> Exc {
    Exc::overflow("hexadecimal value too large to represent as a float")
}

/// `x * 2**e` for an `x` whose result is exactly representable (or infinite).
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    while e > 1000 {
        x *= pow2(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= pow2(-1000);
        e += 1000;
    }
    x * pow2(e)
}

/// CPython's `_Py_parse_inf_or_nan`: `inf`, `infinity`, `nan` in any case, with an
/// optional sign; the value and the bytes it used.
fn inf_or_nan(s: &[u8]) -> Option<(f64, usize)> {
    let (neg, start) = match s.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let rest = &s[start..];
    let starts = |w: &str| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes());
    let (v, n) = if starts("infinity") {
        (f64::INFINITY, 8)
    } else if starts("inf") {
        (f64::INFINITY, 3)
    } else if starts("nan") {
        (f64::NAN, 3)
    } else {
        return None;
    };
    Some((if neg { -v } else { v }, start + n))
}

/// Parses CPython's hexadecimal float syntax.
pub fn parse(text: &str) -> Res<f64> {
    let s = text.as_bytes();
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let mut p = 0;
    while p < s.len() && is_space(s[p]) {
        p += 1;
    }
    let finish = |mut p: usize, x: f64| -> Res<f64> {
        while p < s.len() && is_space(s[p]) {
            p += 1;
        }
        if p != s.len() {
            return Err(invalid());
        }
        Ok(x)
    };
    if let Some((x, n)) = inf_or_nan(&s[p..]) {
        return finish(p + n, x);
    }
    let negate = sign_prefix(s, &mut p);
    let sign = |x: f64| if negate { -x } else { x };
    if s.get(p) == Some(&b'0') && matches!(s.get(p + 1), Some(b'x' | b'X')) {
        p += 2;
    }
    // The coefficient: hex digits, an optional point, hex digits.
    let mut digits: Vec<u8> = Vec::new();
    while let Some(d) = s.get(p).and_then(|c| (*c as char).to_digit(16)) {
        digits.push(d as u8);
        p += 1;
    }
    let mut fdigits = 0i64;
    if s.get(p) == Some(&b'.') {
        p += 1;
        while let Some(d) = s.get(p).and_then(|c| (*c as char).to_digit(16)) {
            digits.push(d as u8);
            fdigits += 1;
            p += 1;
        }
    }
    if digits.is_empty() {
        return Err(invalid());
    }
    let limit = (MIN_EXP - MANT_DIG - i64::MIN / 2).min(i64::MAX / 2 + 1 - MAX_EXP) / 4;
    if digits.len() as i64 > limit {
        return Err(Exc::value_error("hexadecimal string too long to convert"));
    }
    // The exponent (saturating, as `strtol`).
    let mut exp: i64 = 0;
    if matches!(s.get(p), Some(b'p' | b'P')) {
        p += 1;
        let neg = sign_prefix(s, &mut p);
        if !s.get(p).is_some_and(u8::is_ascii_digit) {
            return Err(invalid());
        }
        while let Some(c) = s.get(p).filter(|c| c.is_ascii_digit()) {
            let d = (c - b'0') as i64;
            exp = if neg { exp.saturating_mul(10).saturating_sub(d) } else { exp.saturating_mul(10).saturating_add(d) };
            p += 1;
        }
    }
    // `hex(j)`: the j-th digit from the right of the coefficient.
    let mut ndigits = digits.len() as i64;
    let hex = |j: i64| -> u32 {
        if j < 0 || j >= digits.len() as i64 {
            0
        } else {
            digits[digits.len() - 1 - j as usize] as u32
        }
    };
    while ndigits > 0 && hex(ndigits - 1) == 0 {
        ndigits -= 1;
    }
    if ndigits == 0 || exp < i64::MIN / 2 {
        return finish(p, sign(0.0));
    }
    if exp > i64::MAX / 2 {
        return Err(overflow());
    }
    let exp = exp - 4 * fdigits;
    let mut top_exp = exp + 4 * (ndigits - 1);
    let mut d = hex(ndigits - 1);
    while d != 0 {
        top_exp += 1;
        d /= 2;
    }
    if top_exp < MIN_EXP - MANT_DIG {
        return finish(p, sign(0.0));
    }
    if top_exp > MAX_EXP {
        return Err(overflow());
    }
    let lsb = top_exp.max(MIN_EXP) - MANT_DIG;
    let mut x = 0.0f64;
    if exp >= lsb {
        // Exact: no bits to round away.
        for i in (0..ndigits).rev() {
            x = 16.0 * x + hex(i) as f64;
        }
        return finish(p, sign(ldexp(x, exp)));
    }
    // Round half to even at bit `lsb`; `key_digit` holds the first bit rounded away.
    let half_eps = 1u32 << ((lsb - exp - 1) % 4);
    let key_digit = (lsb - exp - 1) / 4;
    for i in ((key_digit + 1)..ndigits).rev() {
        x = 16.0 * x + hex(i) as f64;
    }
    let digit = hex(key_digit);
    x = 16.0 * x + (digit & (16 - 2 * half_eps)) as f64;
    if digit & half_eps != 0 {
        let round_up = digit & (3 * half_eps - 1) != 0
            || (half_eps == 8 && key_digit + 1 < ndigits && hex(key_digit + 1) & 1 != 0)
            || (0..key_digit).any(|i| hex(i) != 0);
        if round_up {
            x += (2 * half_eps) as f64;
            if top_exp == MAX_EXP && x == ldexp((2 * half_eps) as f64, MANT_DIG) {
                return Err(overflow());
            }
        }
    }
    finish(p, sign(ldexp(x, exp + 4 * key_digit)))
}

/// Skips an optional `+` or `-` at `s[*p]`; true for `-`.
fn sign_prefix(s: &[u8], p: &mut usize) -> bool {
    match s.get(*p) {
        Some(b'-') => {
            *p += 1;
            true
        }
        Some(b'+') => {
            *p += 1;
            false
        }
        _ => false,
    }
}

/// `float.fromhex(s)` (a class method: the class comes first).
pub fn fromhex(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    super::check_method_args("float.fromhex", a, 2, 2)?;
    match &a.pos[1] {
        Value::Str(s) => parse(s.as_str()).map(Value::Float),
        _ => Err(Exc::type_error("bad argument type for built-in operation")),
    }
}
