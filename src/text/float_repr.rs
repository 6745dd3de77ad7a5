//! CPython-compatible conversion of `f64` values to text.
//!
//! [`float_repr`] is `repr(float)`; [`double_to_string`] is a port of
//! CPython's `PyOS_double_to_string` (the engine behind `format()`, `%`
//! formatting and `repr`), with digits produced by `ryu` (shortest
//! round-trip) or by Rust's exact fixed-precision formatting (correctly
//! rounded, ties to even, from the exact binary value — the same digits as
//! David Gay's `dtoa` used by CPython).

/// Options of [`double_to_string`], mirroring CPython's `Py_DTSF_*` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DtoaFlags {
    /// `Py_DTSF_SIGN`: always emit a sign (`+` for non-negative values).
    pub always_add_sign: bool,
    /// `Py_DTSF_ADD_DOT_0`: append `.0` to values that would look integral.
    pub add_dot_0: bool,
    /// `Py_DTSF_ALT`: alternate form (`#`): keep the decimal point and, for
    /// `g`, trailing zeros.
    pub alt: bool,
    /// `Py_DTSF_NO_NEG_0`: format negative zero (after rounding) as positive (`z`).
    pub no_neg_0: bool,
}

/// Which digits to produce, as the `mode` argument of `dtoa`.
#[derive(Clone, Copy, Debug)]
enum DigitMode {
    /// Shortest digit string that round-trips (mode 0).
    Shortest,
    /// `n >= 1` significant digits, trailing zeros removed (mode 2).
    Significant(usize),
    /// Digits up to `n` places after the decimal point, trailing zeros removed (mode 3).
    Fixed(usize),
}

/// Splits a mantissa text such as `"0.00123"` or `"1.50"` (no sign) into
/// significant digits and the position of the decimal point relative to
/// them (`0.d1d2... * 10**decpt`), with `extra_exp` added to the exponent.
fn digits_from_text(mantissa: &str, extra_exp: i64) -> (String, i64) {
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all: String = int_part.chars().chain(frac_part.chars()).collect();
    let leading = all.chars().take_while(|&c| c == '0').count();
    let digits = all[leading..].trim_end_matches('0');
    if digits.is_empty() {
        return ("0".to_string(), 1);
    }
    let decpt = int_part.len() as i64 - leading as i64 + extra_exp;
    (digits.to_string(), decpt)
}

/// Produces the decimal digits of a finite non-negative `x` in the given
/// mode: returns `(digits, decpt)` with the value `0.digits * 10**decpt`.
/// Zero is `("0", 1)`, as in `dtoa`.
///
/// Precisions are capped where the exact decimal expansion of every
/// double is already complete (at most 767 significant digits and 1074
/// fractional digits), which keeps them within `format!`'s limits without
/// changing the digits.
fn float_digits(x: f64, mode: DigitMode) -> (String, i64) {
    let mode = match mode {
        DigitMode::Significant(n) => DigitMode::Significant(n.min(800)),
        DigitMode::Fixed(p) => DigitMode::Fixed(p.min(1100)),
        m => m,
    };
    match mode {
        DigitMode::Shortest => {
            let mut buf = ryu::Buffer::new();
            let s = buf.format_finite(x);
            let (mant, exp) = match s.find('e') {
                Some(i) => (&s[..i], s[i + 1..].parse::<i64>().unwrap_or(0)),
                None => (s, 0),
            };
            digits_from_text(mant, exp)
        }
        DigitMode::Significant(n) => {
            let s = format!("{:.*e}", n.saturating_sub(1), x);
            let (mant, exp) = match s.find('e') {
                Some(i) => (&s[..i], s[i + 1..].parse::<i64>().unwrap_or(0)),
                None => (s.as_str(), 0),
            };
            digits_from_text(mant, exp)
        }
        DigitMode::Fixed(p) => {
            let s = format!("{:.*}", p, x);
            digits_from_text(&s, 0)
        }
    }
}

/// Port of CPython's `PyOS_double_to_string`.
///
/// `code` is one of `e E f F g G r` (`r` is repr style and ignores
/// `precision`); any other code is treated as `r`. Infinities and NaNs are
/// `inf`/`nan` (`INF`/`NAN` for upper-case codes); a NaN never gets a `-`
/// sign.
pub fn double_to_string(val: f64, code: char, precision: usize, flags: DtoaFlags) -> String {
    let upper = code.is_ascii_uppercase();
    let code = code.to_ascii_lowercase();
    let mut precision = precision;
    let mode = match code {
        'e' => {
            precision = precision.saturating_add(1);
            DigitMode::Significant(precision)
        }
        'f' => DigitMode::Fixed(precision),
        'g' => {
            if precision == 0 {
                precision = 1;
            }
            DigitMode::Significant(precision)
        }
        _ => DigitMode::Shortest,
    };
    let code = if matches!(code, 'e' | 'f' | 'g') { code } else { 'r' };
    let mut out = String::new();
    if val.is_nan() {
        if flags.always_add_sign {
            out.push('+');
        }
        out.push_str(if upper { "NAN" } else { "nan" });
        return out;
    }
    let mut negative = val.is_sign_negative();
    if val.is_infinite() {
        if negative {
            out.push('-');
        } else if flags.always_add_sign {
            out.push('+');
        }
        out.push_str(if upper { "INF" } else { "inf" });
        return out;
    }
    let (digits, decpt0) = float_digits(val.abs(), mode);
    if flags.no_neg_0 && negative && digits == "0" {
        negative = false;
    }
    let digits = digits.as_bytes();
    let digits_len = digits.len() as i64;
    let mut decpt = decpt0;
    let mut use_exp = false;
    let mut vdigits_end = digits_len;
    let prec = precision as i64;
    match code {
        'e' => {
            use_exp = true;
            vdigits_end = prec;
        }
        'f' => vdigits_end = decpt.saturating_add(prec),
        'g' => {
            let limit = if flags.add_dot_0 { prec - 1 } else { prec };
            if decpt <= -4 || decpt > limit {
                use_exp = true;
            }
            if flags.alt {
                vdigits_end = prec;
            }
        }
        _ => {
            if decpt <= -4 || decpt > 16 {
                use_exp = true;
            }
        }
    }
    let mut exp = 0i64;
    if use_exp {
        exp = decpt - 1;
        decpt = 1;
    }
    let vdigits_start = if decpt <= 0 { decpt - 1 } else { 0 };
    if !use_exp && flags.add_dot_0 {
        vdigits_end = vdigits_end.max(decpt + 1);
    } else {
        vdigits_end = vdigits_end.max(decpt);
    }

    if negative {
        out.push('-');
    } else if flags.always_add_sign {
        out.push('+');
    }
    let push_zeros = |out: &mut String, n: i64| {
        for _ in 0..n.max(0) {
            out.push('0');
        }
    };
    let ascii = |b: &[u8]| b.iter().map(|&c| c as char).collect::<String>();
    if decpt <= 0 {
        push_zeros(&mut out, decpt - vdigits_start);
        out.push('.');
        push_zeros(&mut out, -decpt);
    } else {
        push_zeros(&mut out, -vdigits_start);
    }
    if 0 < decpt && decpt <= digits_len {
        let d = decpt as usize;
        out.push_str(&ascii(&digits[..d]));
        out.push('.');
        out.push_str(&ascii(&digits[d..]));
    } else {
        out.push_str(&ascii(digits));
    }
    if digits_len < decpt {
        push_zeros(&mut out, decpt - digits_len);
        out.push('.');
        push_zeros(&mut out, vdigits_end - decpt);
    } else {
        push_zeros(&mut out, vdigits_end - digits_len);
    }
    if out.ends_with('.') && !flags.alt {
        out.pop();
    }
    if use_exp {
        out.push(if upper { 'E' } else { 'e' });
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    }
    out
}

/// `repr(x)` (and `str(x)`) for a Python float, e.g. `1.0`, `0.1`,
/// `1e+16`, `1.5e-05`, `-0.0`, `inf`, `nan`.
pub fn float_repr(x: f64) -> String {
    double_to_string(x, 'r', 0, DtoaFlags { add_dot_0: true, ..DtoaFlags::default() })
}
