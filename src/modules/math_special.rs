//! The special functions of `math`: `erf`, `erfc`, `gamma`, `lgamma`, `cbrt`.
//!
//! `erf`/`erfc` follow the C library's (glibc's) method, a rational approximation on
//! each of five intervals with the polynomials split into pairs of terms, so that the
//! results agree with CPython 3.11 (which calls the C library) to the last bit.
//! `gamma`/`lgamma` use the Lanczos approximation with CPython's own coefficients and
//! correction steps (CPython does not call the C library's `tgamma`/`lgamma`).

// The coefficients are written with the digits they are published with; each rounds to
// the same float as its shortest form.
#![allow(clippy::excessive_precision)]

/// How a special function failed, as CPython's `errno` checks report it.
#[derive(Debug, PartialEq, Eq)]
pub enum MathError {
    /// `ValueError: math domain error`.
    Domain,
    /// `OverflowError: math range error`.
    Range,
}

const ERX: f64 = 8.45062911510467529297e-01;
const EFX: f64 = 1.28379167095512586316e-01;
const PP: [f64; 5] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
];
const QQ: [f64; 5] = [
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
];
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 6] = [
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 8] = [
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];
const RB: [f64; 7] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
];
const SB: [f64; 7] = [
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
];

/// The high 32 bits of `x`'s representation, as a signed number.
fn high_word(x: f64) -> i32 {
    (x.to_bits() >> 32) as u32 as i32
}

/// `(erf(x) - x) / x` for `|x| < 0.84375`, as `P(x²)/Q(x²)`.
fn small_ratio(x: f64) -> f64 {
    let z = x * x;
    let z2 = z * z;
    let z4 = z2 * z2;
    let r = (PP[0] + z * PP[1]) + z2 * (PP[2] + z * PP[3]) + z4 * PP[4];
    let s = (1.0 + z * QQ[0]) + z2 * (QQ[1] + z * QQ[2]) + z4 * (QQ[3] + z * QQ[4]);
    r / s
}

/// `P(s)/Q(s)` with `s = |x| - 1` for `0.84375 <= |x| < 1.25`: `erf(|x|) - ERX`.
fn middle_ratio(x: f64) -> f64 {
    let s = x.abs() - 1.0;
    let s2 = s * s;
    let s4 = s2 * s2;
    let s6 = s4 * s2;
    let p = (PA[0] + s * PA[1]) + s2 * (PA[2] + s * PA[3]) + s4 * (PA[4] + s * PA[5]) + s6 * PA[6];
    let q = (1.0 + s * QA[0]) + s2 * (QA[1] + s * QA[2]) + s4 * (QA[3] + s * QA[4]) + s6 * QA[5];
    p / q
}

/// `erfc(x)` for `1.25 <= x < 28` (`x` positive), by the asymptotic form
/// `exp(-x² - 0.5625 + R(1/x²)/S(1/x²)) / x`; `near` picks the coefficients for
/// `x < 1/0.35`.
fn tail(x: f64, near: bool) -> f64 {
    let s = 1.0 / (x * x);
    let s2 = s * s;
    let s4 = s2 * s2;
    let s6 = s4 * s2;
    let (r, q) = if near {
        let s8 = s4 * s4;
        let r = (RA[0] + s * RA[1]) + s2 * (RA[2] + s * RA[3]) + s4 * (RA[4] + s * RA[5]) + s6 * (RA[6] + s * RA[7]);
        let q = (1.0 + s * SA[0])
            + s2 * (SA[1] + s * SA[2])
            + s4 * (SA[3] + s * SA[4])
            + s6 * (SA[5] + s * SA[6])
            + s8 * SA[7];
        (r, q)
    } else {
        let r = (RB[0] + s * RB[1]) + s2 * (RB[2] + s * RB[3]) + s4 * (RB[4] + s * RB[5]) + s6 * RB[6];
        let q = (1.0 + s * SB[0]) + s2 * (SB[1] + s * SB[2]) + s4 * (SB[3] + s * SB[4]) + s6 * (SB[5] + s * SB[6]);
        (r, q)
    };
    // `z` is `x` with the low 32 bits cleared, so that `z * z` is exact.
    let z = f64::from_bits(x.to_bits() & 0xffff_ffff_0000_0000);
    let e = (-z * z - 0.5625).exp() * ((z - x) * (z + x) + r / q).exp();
    e / x
}

/// The error function.
pub fn erf(x: f64) -> f64 {
    let hx = high_word(x);
    let ix = hx & 0x7fff_ffff;
    if ix >= 0x7ff0_0000 {
        // NaN stays NaN; ±inf gives ±1.
        return if x.is_nan() { x } else { 1.0f64.copysign(x) };
    }
    if ix < 0x3feb_0000 {
        if ix < 0x3e30_0000 {
            if ix < 0x0080_0000 {
                return 0.0625 * (16.0 * x + (16.0 * EFX) * x);
            }
            return x + EFX * x;
        }
        return x + x * small_ratio(x);
    }
    if ix < 0x3ff4_0000 {
        let r = middle_ratio(x);
        return if hx >= 0 { ERX + r } else { -ERX - r };
    }
    if ix >= 0x4018_0000 {
        return if hx >= 0 { 1.0 - 1e-300 } else { 1e-300 - 1.0 };
    }
    let t = tail(x.abs(), ix < 0x4006_db6e);
    if hx >= 0 {
        1.0 - t
    } else {
        t - 1.0
    }
}

/// The complementary error function, `1 - erf(x)` without the cancellation.
pub fn erfc(x: f64) -> f64 {
    let hx = high_word(x);
    let ix = hx & 0x7fff_ffff;
    if ix >= 0x7ff0_0000 {
        // NaN stays NaN; +inf gives 0, -inf gives 2.
        return if x.is_nan() {
            x
        } else if x > 0.0 {
            0.0
        } else {
            2.0
        };
    }
    if ix < 0x3feb_0000 {
        if ix < 0x3c70_0000 {
            return 1.0 - x;
        }
        let y = small_ratio(x);
        if hx < 0x3fd0_0000 {
            return 1.0 - (x + x * y);
        }
        let mut r = x * y;
        r += x - 0.5;
        return 0.5 - r;
    }
    if ix < 0x3ff4_0000 {
        let r = middle_ratio(x);
        return if hx >= 0 { (1.0 - ERX) - r } else { 1.0 + (ERX + r) };
    }
    if ix < 0x403c_0000 {
        if hx < 0 && ix >= 0x4018_0000 {
            return 2.0 - 1e-300;
        }
        let t = tail(x.abs(), ix < 0x4006_db6d);
        return if hx > 0 { t } else { 2.0 - t };
    }
    if hx > 0 {
        0.0
    } else {
        2.0 - 1e-300
    }
}

/// The cube root, by the C library's (glibc's) method: a polynomial first guess on the
/// mantissa in [0.5, 1), one rational (Halley) step, and the exponent's third.
pub fn cbrt(x: f64) -> f64 {
    const CBRT2: f64 = 1.2599210498948731648;
    const SQR_CBRT2: f64 = 1.5874010519681994748;
    const FACTOR: [f64; 5] = [1.0 / SQR_CBRT2, 1.0 / CBRT2, 1.0, CBRT2, SQR_CBRT2];
    if x == 0.0 || !x.is_finite() {
        return x + x;
    }
    let (xm, xe) = super::math::frexp_f64(x.abs());
    let xe = xe as i32;
    let u = 0.354895765043919860
        + (1.50819193781584896
            + (-2.11499494167371287
                + (2.44693122563534430
                    + (-1.83469277483613086 + (0.784932344976639262 - 0.145263899385486377 * xm) * xm) * xm)
                    * xm)
                * xm)
            * xm;
    let t2 = u * u * u;
    let ym = u * (t2 + 2.0 * xm) / (2.0 * t2 + xm) * FACTOR[(2 + xe % 3) as usize];
    super::math::ldexp_f64(if x > 0.0 { ym } else { -ym }, (xe / 3) as i64).unwrap_or(f64::INFINITY)
}

// The Lanczos approximation Γ(x) ≈ L(x) · (x+g-½)^(x-½) / e^(x+g-½), with L a rational
// function whose numerator coefficients are these and whose denominator is
// x(x+1)…(x+11) (CPython's `lanczos_sum`).
const LANCZOS_G: f64 = 6.024680040776729583740234375;
const LANCZOS_G_MINUS_HALF: f64 = 5.524680040776729583740234375;
const LANCZOS_NUM: [f64; 13] = [
    23531376880.410759688572007674451636754734846804940,
    42919803642.649098768957899047001988850926355848959,
    35711959237.355668049440185451547166705960488635843,
    17921034426.037209699919755754458931112671403265390,
    6039542586.3520280050642916443072979210699388420708,
    1439720407.3117216736632230727949123939715485786772,
    248874557.86205415651146038641322942321632125127801,
    31426415.585400194380614231628318205362874684987640,
    2876370.6289353724412254090516208496135991145378768,
    186056.26539522349504029498971604569928220784236328,
    8071.6720023658162106380029022722506138218516325024,
    210.82427775157934587250973392071336271166969580291,
    2.5066282746310002701649081771338373386264310793408,
];
const LANCZOS_DEN: [f64; 13] = [
    0.0,
    39916800.0,
    120543840.0,
    150917976.0,
    105258076.0,
    45995730.0,
    13339535.0,
    2637558.0,
    357423.0,
    32670.0,
    1925.0,
    66.0,
    1.0,
];
/// `ln(π)`.
const LOG_PI: f64 = 1.144729885849400174143427351353058711647;

/// The rational part of the Lanczos approximation, for `x > 0`; for large `x` it is
/// evaluated as a function of `1/x`, which neither overflows nor loses accuracy.
fn lanczos_sum(x: f64) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    if x < 5.0 {
        for i in (0..LANCZOS_NUM.len()).rev() {
            num = num * x + LANCZOS_NUM[i];
            den = den * x + LANCZOS_DEN[i];
        }
    } else {
        for i in 0..LANCZOS_NUM.len() {
            num = num / x + LANCZOS_NUM[i];
            den = den / x + LANCZOS_DEN[i];
        }
    }
    num / den
}

/// `sin(πx)` for finite `x`, exact at the integers and half-integers.
fn sin_pi(x: f64) -> f64 {
    use std::f64::consts::PI;
    let y = x.abs() % 2.0;
    let r = match (2.0 * y).round() as i32 {
        0 => (PI * y).sin(),
        1 => (PI * (y - 0.5)).cos(),
        2 => (PI * (1.0 - y)).sin(),
        3 => -(PI * (y - 1.5)).cos(),
        _ => (PI * (y - 2.0)).sin(),
    };
    1.0f64.copysign(x) * r
}

/// `n!` as a float, exactly (for the `n` here, up to 22).
fn factorial(n: u32) -> f64 {
    (1..=n as u64).product::<u64>() as f64
}

/// The gamma function, with CPython's errors.
pub fn gamma(x: f64) -> Result<f64, MathError> {
    if !x.is_finite() {
        return if x.is_nan() || x > 0.0 { Ok(x) } else { Err(MathError::Domain) };
    }
    if x == 0.0 {
        return Err(MathError::Domain);
    }
    if x == x.floor() {
        if x < 0.0 {
            return Err(MathError::Domain);
        }
        if x <= 23.0 {
            // Γ(n) = (n-1)!, exact; 22! still fits a float's mantissa.
            return if x <= 21.0 {
                Ok(factorial(x as u32 - 1))
            } else {
                Ok(factorial(20) * (21..x as u64).map(|k| k as f64).product::<f64>())
            };
        }
    }
    let absx = x.abs();
    if absx < 1e-20 {
        let r = 1.0 / x;
        return if r.is_infinite() { Err(MathError::Range) } else { Ok(r) };
    }
    if absx > 200.0 {
        return if x < 0.0 { Ok(0.0 / sin_pi(x)) } else { Err(MathError::Range) };
    }
    let y = absx + LANCZOS_G_MINUS_HALF;
    // The rounding error of `y`, as a correction factor.
    let z = if absx > LANCZOS_G_MINUS_HALF {
        let q = y - absx;
        q - LANCZOS_G_MINUS_HALF
    } else {
        let q = y - LANCZOS_G_MINUS_HALF;
        q - absx
    };
    let z = z * LANCZOS_G / y;
    let r = if x < 0.0 {
        let mut r = -std::f64::consts::PI / sin_pi(absx) / absx * y.exp() / lanczos_sum(absx);
        r -= z * r;
        if absx < 140.0 {
            r /= y.powf(absx - 0.5);
        } else {
            let sqrtpow = y.powf(absx / 2.0 - 0.25);
            r /= sqrtpow;
            r /= sqrtpow;
        }
        r
    } else {
        let mut r = lanczos_sum(absx) / y.exp();
        r += z * r;
        if absx < 140.0 {
            r *= y.powf(absx - 0.5);
        } else {
            let sqrtpow = y.powf(absx / 2.0 - 0.25);
            r *= sqrtpow;
            r *= sqrtpow;
        }
        r
    };
    if r.is_infinite() {
        return Err(MathError::Range);
    }
    Ok(r)
}

/// The natural logarithm of the absolute value of the gamma function, with CPython's
/// errors.
pub fn lgamma(x: f64) -> Result<f64, MathError> {
    if !x.is_finite() {
        return Ok(if x.is_nan() { x } else { f64::INFINITY });
    }
    if x == x.floor() && x <= 2.0 {
        return if x <= 0.0 { Err(MathError::Domain) } else { Ok(0.0) };
    }
    let absx = x.abs();
    if absx < 1e-20 {
        return Ok(-absx.ln());
    }
    let mut r = lanczos_sum(absx).ln() - LANCZOS_G;
    r += (absx - 0.5) * ((absx + LANCZOS_G - 0.5).ln() - 1.0);
    if x < 0.0 {
        // The reflection formula.
        r = LOG_PI - sin_pi(absx).abs().ln() - absx.ln() - r;
    }
    if r.is_infinite() {
        return Err(MathError::Range);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_points() {
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erfc(0.0), 1.0);
        assert_eq!(erf(f64::INFINITY), 1.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert_eq!(gamma(5.0), Ok(24.0));
        assert_eq!(gamma(23.0), Ok(1124000727777607680000.0));
        assert_eq!(gamma(0.0), Err(MathError::Domain));
        assert_eq!(gamma(-2.0), Err(MathError::Domain));
        assert_eq!(gamma(172.0), Err(MathError::Range));
        assert_eq!(lgamma(1.0), Ok(0.0));
        assert_eq!(lgamma(-1.0), Err(MathError::Domain));
    }
}
