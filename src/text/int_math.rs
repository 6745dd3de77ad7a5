//! Integer and float arithmetic helpers with CPython semantics: numeric
//! hashing, true division, float floor division/modulo, rounding, powers.

use super::TextError;
use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

/// CPython's numeric hash modulus, `2**61 - 1`.
pub const HASH_MODULUS: u64 = (1 << 61) - 1;
/// `hash(float('inf'))`.
pub const HASH_INF: i64 = 314_159;

/// `x * 2**e` for a float `x` whose exact result is representable (or
/// overflows to infinity / rounds as IEEE multiplication would at the end).
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    let step_up = f64::from_bits((1023 + 1000) << 52); // 2**1000
    let step_down = f64::from_bits((1023 - 1000) << 52); // 2**-1000
    while e > 1000 {
        x *= step_up;
        e -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while e < -1000 {
        x *= step_down;
        e += 1000;
        if x == 0.0 {
            return x;
        }
    }
    let p = if e >= -1022 { f64::from_bits(((1023 + e) as u64) << 52) } else { f64::from_bits(1u64 << (e + 1074)) };
    x * p
}

/// Splits a finite float into `(negative, mantissa, exponent)` with
/// `|x| == mantissa * 2**exponent` exactly.
fn decompose(x: f64) -> (bool, u64, i64) {
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1 << 52) - 1);
    if exp_bits == 0 {
        (negative, frac, -1074)
    } else {
        (negative, frac | (1 << 52), exp_bits - 1075)
    }
}

/// Converts an int to the nearest float (ties to even), as `float(v)`.
///
/// Returns `Err(())` when the result is too large for a float; the caller
/// raises `OverflowError: int too large to convert to float`.
#[allow(clippy::result_unit_err)]
pub fn bigint_to_f64(v: &BigInt) -> Result<f64, ()> {
    let mag = v.magnitude();
    let bits = mag.bits();
    let shift = bits.saturating_sub(64);
    if shift > 1023 {
        return Err(());
    }
    let top = (mag >> shift).to_u64().ok_or(())?;
    let sticky = shift > 0 && mag.trailing_zeros().unwrap_or(0) < shift;
    let top = top | u64::from(sticky);
    let r = ldexp(top as f64, shift as i64);
    if r.is_infinite() {
        return Err(());
    }
    Ok(if v.sign() == Sign::Minus { -r } else { r })
}

/// Applies CPython's rule that a hash of `-1` becomes `-2`.
fn fix_hash(h: i64) -> i64 {
    if h == -1 {
        -2
    } else {
        h
    }
}

/// The decimal text of `v`, written into `buf` (no allocation, no formatting machinery).
pub fn i64_text(buf: &mut [u8; 20], v: i64) -> &str {
    // Two digits per division, from a table of the pairs "00" to "99".
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    let mut n = v.unsigned_abs();
    let mut at = buf.len();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    if v < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

/// The decimal text of `v` as a new string.
pub fn i64_string(v: i64) -> String {
    i64_text(&mut [0; 20], v).to_owned()
}

/// `hash(v)` for a machine-sized int (equal to [`hash_int`] of the same value).
#[inline]
pub fn hash_i64(v: i64) -> i64 {
    if v.unsigned_abs() < HASH_MODULUS {
        return fix_hash(v);
    }
    let m = (v.unsigned_abs() % HASH_MODULUS) as i64;
    fix_hash(if v < 0 { -m } else { m })
}

/// `hash(v)` for an int: `sign * (|v| mod (2**61 - 1))`, with -1 mapped to -2.
pub fn hash_int(v: &BigInt) -> i64 {
    let m = (v.magnitude() % BigUint::from(HASH_MODULUS)).to_i64().unwrap_or(0);
    fix_hash(if v.sign() == Sign::Minus { -m } else { m })
}

/// `hash(f)` for a float, equal to the hash of an equal int (`hash(2.0) ==
/// hash(2)`); `inf` → 314159, `-inf` → -314159, NaN → 0.
pub fn hash_float(f: f64) -> i64 {
    if f.is_nan() {
        return 0;
    }
    if f.is_infinite() {
        return if f > 0.0 { HASH_INF } else { -HASH_INF };
    }
    let (negative, m, e) = decompose(f);
    // 2**61 == 1 (mod P), so 2**e == 2**(e mod 61).
    let e = e.rem_euclid(61) as u32;
    let x = ((u128::from(m) << e) % u128::from(HASH_MODULUS)) as i64;
    fix_hash(if negative { -x } else { x })
}

/// A deterministic 64-bit hash for `hash(str)` (FNV-1a with a final
/// avalanche); never returns -1.
pub fn hash_str(s: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    fix_hash(h as i64)
}

/// `a / b` for ints, correctly rounded like CPython (`10**400 / 10**399 ==
/// 10.0`). Errors: `ZeroDivisionError: division by zero` and
/// `OverflowError: integer division result too large for a float`.
pub fn int_true_div(a: &BigInt, b: &BigInt) -> Result<f64, TextError> {
    if b.is_zero() {
        return Err(TextError { kind: super::ErrorKind::ZeroDivisionError, message: "division by zero".into() });
    }
    let negative = (a.sign() == Sign::Minus) != (b.sign() == Sign::Minus);
    let sign = |x: f64| if negative { -x } else { x };
    if a.is_zero() {
        return Ok(sign(0.0));
    }
    let overflow = || TextError::overflow("integer division result too large for a float");
    let (na, nb) = (a.magnitude(), b.magnitude());
    // Both exactly representable: IEEE division is correctly rounded.
    if na.bits() <= 53 && nb.bits() <= 53 {
        let (x, y) = (na.to_f64().unwrap_or(0.0), nb.to_f64().unwrap_or(1.0));
        return Ok(sign(x / y));
    }
    let quotient_with_shift = |k: i64| -> BigUint {
        let (q, r) = if k >= 0 { na.div_rem(&(nb << (k as u64))) } else { (na << ((-k) as u64)).div_rem(nb) };
        if r.is_zero() {
            q
        } else {
            q | BigUint::one()
        }
    };
    // q = |a| / |b| / 2**k has 55 or 56 bits (plus a sticky bit).
    let k = na.bits() as i64 - nb.bits() as i64 - 55;
    let q = quotient_with_shift(k);
    let msb = q.bits() as i64 - 1 + k;
    if msb > 1023 {
        return Err(overflow());
    }
    if msb >= -1022 {
        let r = ldexp(q.to_u64().unwrap_or(0) as f64, k);
        if r.is_infinite() {
            return Err(overflow());
        }
        return Ok(sign(r));
    }
    // Subnormal result: round at 2**-1074 with two guard bits.
    let q = quotient_with_shift(-1076).to_u64().unwrap_or(0);
    let (mut m, rest) = (q >> 2, q & 3);
    if rest > 2 || (rest == 2 && m & 1 == 1) {
        m += 1;
    }
    // `rest == 2` exactly on a tie only if no sticky bit was set; the
    // sticky bit lives in bit 0, so `rest` already includes it.
    Ok(sign(m as f64 * f64::from_bits(1)))
}

/// `(a // b, a % b)` for floats, as CPython computes them (remainder has
/// the sign of `b`; signed zeros follow CPython). The caller must raise
/// `ZeroDivisionError` when `b == 0.0` (`float floor division by zero`,
/// `float modulo`, or `float divmod()`); this function then returns NaNs.
pub fn float_floor_div_mod(a: f64, b: f64) -> (f64, f64) {
    if b == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let mut m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    (floordiv, m)
}

/// Rounds a non-negative rational `num / den` to the nearest integer, ties to even.
fn round_half_even_ratio(num: &BigUint, den: &BigUint) -> BigUint {
    let (q, r) = num.div_rem(den);
    let twice = &r << 1u32;
    if twice > *den || (twice == *den && q.bit(0)) {
        q + 1u32
    } else {
        q
    }
}

/// `round(x, ndigits)` for a float, matching CPython: correctly rounded
/// (half to even on the exact binary value, so `round(2.675, 2) == 2.67`),
/// keeping the sign of zero results. Error: `OverflowError: rounded value
/// too large to represent`.
pub fn round_half_even_f64(x: f64, ndigits: i32) -> Result<f64, TextError> {
    if !x.is_finite() || ndigits > 323 {
        return Ok(x);
    }
    if ndigits < -308 {
        return Ok(0.0 * x);
    }
    let (negative, m, e) = decompose(x);
    let mut num = BigUint::from(m);
    let mut den = BigUint::one();
    let ten = BigUint::from(10u32);
    if ndigits >= 0 {
        num *= num_traits::pow(ten, ndigits as usize);
    } else {
        den *= num_traits::pow(ten, (-ndigits) as usize);
    }
    if e >= 0 {
        num <<= e as u64;
    } else {
        den <<= (-e) as u64;
    }
    let n = round_half_even_ratio(&num, &den);
    let text = format!("{}{}e{}", if negative { "-" } else { "" }, n, -ndigits);
    let r: f64 = text.parse().unwrap_or(f64::NAN);
    if r.is_infinite() {
        return Err(TextError::overflow("rounded value too large to represent"));
    }
    Ok(r)
}

/// `round(x)` (no `ndigits`) as a float: the nearest integral value, ties to
/// even (`round(0.5) == 0`, `round(1.5) == 2`). Convert with
/// [`float_to_bigint`]; the caller raises for inf/nan like `int(x)`.
pub fn round_to_integral_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// `int(x)` for a float: truncation toward zero; `None` for inf or NaN
/// (the caller raises `OverflowError: cannot convert float infinity to
/// integer` / `ValueError: cannot convert float NaN to integer`).
pub fn float_to_bigint(x: f64) -> Option<BigInt> {
    if !x.is_finite() {
        return None;
    }
    let (negative, m, e) = decompose(x.trunc());
    let mag = if e >= 0 { BigUint::from(m) << (e as u64) } else { BigUint::from(m >> (-e).min(63) as u64) };
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    Some(BigInt::from_biguint(sign, mag))
}

/// `x.is_integer()`: finite with no fractional part.
pub fn float_is_integer(x: f64) -> bool {
    x.is_finite() && x.trunc() == x
}

/// Why [`float_pow`] could not produce a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatPowError {
    /// `0.0 ** negative`: `ZeroDivisionError: 0.0 cannot be raised to a negative power`.
    ZeroToNegative,
    /// Negative base with a non-integral exponent: the result is complex
    /// in CPython.
    Complex,
    /// Result overflows: `OverflowError: (34, 'Numerical result out of range')`.
    Overflow,
}

impl FloatPowError {
    /// The exception CPython raises (for `Complex`, a `ValueError` with the
    /// message of `math.pow`: `math domain error`, for interpreters that do
    /// not support complex numbers).
    pub fn to_error(self) -> TextError {
        match self {
            FloatPowError::ZeroToNegative => TextError {
                kind: super::ErrorKind::ZeroDivisionError,
                message: "0.0 cannot be raised to a negative power".into(),
            },
            FloatPowError::Complex => TextError::value("math domain error"),
            FloatPowError::Overflow => TextError::overflow("(34, 'Numerical result out of range')"),
        }
    }
}

/// Whether a float is an odd integer.
fn is_odd_integer(x: f64) -> bool {
    float_is_integer(x) && (x % 2.0).abs() == 1.0
}

/// `a ** b` for floats with CPython's special cases and errors.
pub fn float_pow(a: f64, b: f64) -> Result<f64, FloatPowError> {
    let (mut iv, iw) = (a, b);
    if iw == 0.0 {
        return Ok(1.0);
    }
    if iv.is_nan() {
        return Ok(iv);
    }
    if iw.is_nan() {
        return Ok(if iv == 1.0 { 1.0 } else { iw });
    }
    if iw.is_infinite() {
        let av = iv.abs();
        return Ok(if av == 1.0 {
            1.0
        } else if (iw > 0.0) == (av > 1.0) {
            f64::INFINITY
        } else {
            0.0
        });
    }
    if iv.is_infinite() {
        let odd = is_odd_integer(iw);
        return Ok(if iw > 0.0 {
            if odd {
                iv
            } else {
                iv.abs()
            }
        } else if odd {
            0.0f64.copysign(iv)
        } else {
            0.0
        });
    }
    if iv == 0.0 {
        if iw < 0.0 {
            return Err(FloatPowError::ZeroToNegative);
        }
        return Ok(if is_odd_integer(iw) { iv } else { 0.0 });
    }
    let mut negate = false;
    if iv < 0.0 {
        if iw != iw.floor() {
            return Err(FloatPowError::Complex);
        }
        iv = -iv;
        negate = is_odd_integer(iw);
    }
    if iv == 1.0 {
        return Ok(if negate { -1.0 } else { 1.0 });
    }
    let r = iv.powf(iw);
    if r.is_infinite() {
        return Err(FloatPowError::Overflow);
    }
    Ok(if negate { -r } else { r })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i64_text_agrees_with_rust_formatting() {
        let mut samples = vec![i64::MIN, i64::MAX, i64::MIN + 1, 0, -1];
        let mut p: i64 = 1;
        for _ in 0..18 {
            for d in [-1, 0, 1] {
                samples.push(p + d);
                samples.push(-(p + d));
            }
            p *= 10;
        }
        samples.extend((-1000..1000).step_by(7));
        for v in samples {
            assert_eq!(i64_text(&mut [0; 20], v), v.to_string());
            assert_eq!(i64_string(v), v.to_string());
        }
    }
}
