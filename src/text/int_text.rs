//! Conversions between numbers and text with CPython's rules: `int(str,
//! base)`, `float(str)`, `hex`/`oct`/`bin`, and the integer string
//! conversion length limit of CPython 3.11 (`sys.int_info.default_max_str_digits`).

use super::TextError;
use num_bigint::{BigInt, BigUint, Sign};
use std::cell::{Cell, RefCell};

/// CPython 3.11's default limit on the number of decimal digits in
/// int/str conversions (`sys.int_info.default_max_str_digits`).
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// The smallest non-zero limit `sys.set_int_max_str_digits` accepts
/// (`sys.int_info.str_digits_check_threshold`).
pub const STR_DIGITS_CHECK_THRESHOLD: usize = 640;

thread_local! {
    /// The current limit (0: none), per interpreter thread as CPython's is per interpreter.
    static MAX_STR_DIGITS: Cell<usize> = const { Cell::new(INT_MAX_STR_DIGITS) };
    /// `10**limit` for the last limit it was needed for.
    static LIMIT_VALUE: RefCell<Option<(usize, BigUint)>> = const { RefCell::new(None) };
}

/// `sys.get_int_max_str_digits()`: the limit on decimal digits in int/str
/// conversions, 0 for none.
pub fn max_str_digits() -> usize {
    MAX_STR_DIGITS.with(|m| m.get())
}

/// `sys.set_int_max_str_digits(n)`: `n` is 0 (no limit) or at least
/// [`STR_DIGITS_CHECK_THRESHOLD`], else CPython's `ValueError`.
pub fn set_max_str_digits(n: i64) -> Result<(), TextError> {
    if n != 0 && !(STR_DIGITS_CHECK_THRESHOLD as i64..=i32::MAX as i64).contains(&n) {
        return Err(TextError::value(format!("maxdigits must be 0 or larger than {STR_DIGITS_CHECK_THRESHOLD}")));
    }
    MAX_STR_DIGITS.with(|m| m.set(n as usize));
    Ok(())
}

/// Why [`parse_int`] rejected its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntParseError {
    /// Not a valid literal: `invalid literal for int() with base N: '...'`.
    Invalid,
    /// More than [`INT_MAX_STR_DIGITS`] digits in a base that is not a
    /// power of two; carries the digit count.
    TooManyDigits(usize),
    /// The base is not 0 or in 2..=36.
    BadBase,
}

impl IntParseError {
    /// The `ValueError` CPython raises for this failure. `literal_repr` is
    /// `repr()` of the original argument (e.g. `'12x'`), `base` the base
    /// as given by the caller.
    pub fn to_error(self, literal_repr: &str, base: u32) -> TextError {
        match self {
            IntParseError::Invalid => {
                TextError::value(format!("invalid literal for int() with base {base}: {literal_repr}"))
            }
            IntParseError::TooManyDigits(n) => TextError::value(int_parse_limit_message(n)),
            IntParseError::BadBase => TextError::value("int() base must be >= 2 and <= 36, or 0"),
        }
    }
}

/// The message of the `ValueError` raised by `int(text)` when `text` has
/// `digits` digits, more than the limit.
pub fn int_parse_limit_message(digits: usize) -> String {
    format!(
        "Exceeds the limit ({} digits) for integer string conversion: \
         value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit",
        max_str_digits()
    )
}

/// True when parsing `digits` decimal (or other non-power-of-two base)
/// digits is over the limit.
pub fn parse_exceeds_limit(digits: usize) -> bool {
    let limit = max_str_digits();
    limit > 0 && digits > limit
}

/// The message of the `ValueError` raised by `str(n)`/`repr(n)`/`'%d' % n`/
/// `format(n, 'd')` when `n` has more decimal digits than the limit.
pub fn int_to_str_limit_message() -> String {
    format!(
        "Exceeds the limit ({} digits) for integer string conversion; \
         use sys.set_int_max_str_digits() to increase the limit",
        max_str_digits()
    )
}

/// Code points of the digit zero of every Unicode (14.0) decimal-digit
/// run outside ASCII; each run holds the digits 0..=9 consecutively.
const UNICODE_DIGIT_ZEROS: [u32; 65] = [
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20,
    0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0,
    0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0,
    0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0,
    0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// The decimal value of a non-ASCII Unicode decimal digit (`str.isdecimal`).
pub fn unicode_decimal_value(c: char) -> Option<u32> {
    let n = c as u32;
    if n < 0x80 {
        return c.to_digit(10);
    }
    let i = UNICODE_DIGIT_ZEROS.partition_point(|&z| z <= n);
    let zero = *UNICODE_DIGIT_ZEROS.get(i.checked_sub(1)?)?;
    (n - zero < 10).then_some(n - zero)
}

/// Python's `str.isspace()` for one character.
pub fn py_isspace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\x0b'
            | '\x0c'
            | '\r'
            | '\x1c'..='\x1f'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`: ASCII is kept,
/// non-ASCII whitespace becomes ' ', non-ASCII decimal digits become ASCII
/// digits, anything else becomes '?'.
fn to_ascii_bytes(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c as u8
            } else if py_isspace(c) {
                b' '
            } else if let Some(d) = unicode_decimal_value(c) {
                b'0' + d as u8
            } else {
                b'?'
            }
        })
        .collect()
}

/// C's `isspace` in the C locale (CPython's `Py_ISSPACE`).
fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn digit_value(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'a'..=b'z' => u32::from(b - b'a') + 10,
        b'A'..=b'Z' => u32::from(b - b'A') + 10,
        _ => 99,
    }
}

/// `int(s, base)`: parses an integer with Python's rules — surrounding
/// whitespace, optional sign, single underscores between digits (and
/// after a base prefix), `0x`/`0o`/`0b` prefixes when `base` is 0 or
/// matches, base 0 rejecting leading zeros in non-zero decimals, Unicode
/// decimal digits, and the digit limit (`sys.set_int_max_str_digits`) for
/// non-power-of-two bases.
pub fn parse_int(s: &str, base: u32) -> Result<BigInt, IntParseError> {
    if base == 1 || base > 36 {
        return Err(IntParseError::BadBase);
    }
    let bytes = to_ascii_bytes(s);
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while c_isspace(at(i)) {
        i += 1;
    }
    let mut negative = false;
    if at(i) == b'+' || at(i) == b'-' {
        negative = at(i) == b'-';
        i += 1;
    }
    let mut base = base;
    let mut error_if_nonzero = false;
    if base == 0 {
        base = if at(i) != b'0' {
            10
        } else {
            match at(i + 1) {
                b'x' | b'X' => 16,
                b'o' | b'O' => 8,
                b'b' | b'B' => 2,
                _ => {
                    error_if_nonzero = true;
                    10
                }
            }
        };
    }
    let p = at(i + 1).to_ascii_lowercase();
    if at(i) == b'0' && ((base == 16 && p == b'x') || (base == 8 && p == b'o') || (base == 2 && p == b'b')) {
        i += 2;
        if at(i) == b'_' {
            i += 1;
        }
    }
    if at(i) == b'_' {
        return Err(IntParseError::Invalid);
    }
    let start = i;
    let mut digits = 0usize;
    let mut prev = 0u8;
    while i < bytes.len() && (digit_value(bytes[i]) < base || bytes[i] == b'_') {
        if bytes[i] == b'_' {
            if prev == b'_' {
                return Err(IntParseError::Invalid);
            }
        } else {
            digits += 1;
        }
        prev = bytes[i];
        i += 1;
    }
    if prev == b'_' || digits == 0 {
        return Err(IntParseError::Invalid);
    }
    if !base.is_power_of_two() && parse_exceeds_limit(digits) {
        return Err(IntParseError::TooManyDigits(digits));
    }
    let body: Vec<u8> = bytes[start..i].iter().copied().filter(|&b| b != b'_').collect();
    let mut j = i;
    while c_isspace(at(j)) {
        j += 1;
    }
    if j != bytes.len() {
        return Err(IntParseError::Invalid);
    }
    let mag = BigUint::parse_bytes(&body, base).ok_or(IntParseError::Invalid)?;
    if error_if_nonzero && mag != BigUint::default() {
        return Err(IntParseError::Invalid);
    }
    Ok(BigInt::from_biguint(if negative { Sign::Minus } else { Sign::Plus }, mag))
}

/// Whether `v` has more decimal digits (sign excluded) than the limit, so
/// `str(v)` raises. Decided from the bit length when that is conclusive
/// (without converting: a huge number is rejected in constant time), else
/// by comparing with `10**limit`.
pub fn exceeds_str_digits_limit(v: &BigInt) -> bool {
    let limit = max_str_digits();
    if limit == 0 {
        return false;
    }
    let bits = v.magnitude().bits();
    // 2**(bits-1) <= |v| < 2**bits, so |v| has between floor((bits-1)·log10 2) + 1 and
    // floor(bits·log10 2) + 1 digits; one digit of slack covers rounding.
    let log = std::f64::consts::LOG10_2;
    if (bits as f64 * log) as u64 + 2 <= limit as u64 {
        return false;
    }
    if (bits.saturating_sub(1) as f64 * log) as u64 > limit as u64 + 1 {
        return true;
    }
    LIMIT_VALUE.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_none_or(|(n, _)| *n != limit) {
            *c = Some((limit, num_traits::pow(BigUint::from(10u32), limit)));
        }
        c.as_ref().is_some_and(|(_, p)| v.magnitude() >= p)
    })
}

/// `str(v)` for an int, or the `ValueError` CPython raises when `v` has
/// more decimal digits than the limit.
pub fn int_to_decimal_string(v: &BigInt) -> Result<String, TextError> {
    if exceeds_str_digits_limit(v) {
        return Err(TextError::value(int_to_str_limit_message()));
    }
    Ok(v.to_str_radix(10))
}

/// Text of `v` in `radix` (2..=36, lower-case digits; other radixes are
/// treated as 10), with a sign for negatives and, when `prefix` is set,
/// CPython's `0b`/`0o`/`0x` prefix after the sign: `hex(-31) == '-0x1f'`.
pub fn int_to_string_radix(v: &BigInt, radix: u32, prefix: bool) -> String {
    let radix = if (2..=36).contains(&radix) { radix } else { 10 };
    let mut out = String::new();
    if v.sign() == Sign::Minus {
        out.push('-');
    }
    if prefix {
        out.push_str(match radix {
            2 => "0b",
            8 => "0o",
            16 => "0x",
            _ => "",
        });
    }
    out.push_str(&v.magnitude().to_str_radix(radix));
    out
}

/// `float(s)` for a string: surrounding whitespace, optional sign, digits
/// with single underscores between digits, optional fraction and
/// exponent, or `inf`/`infinity`/`nan` in any case. Returns `None` for an
/// invalid literal (the caller raises `ValueError: could not convert
/// string to float: '...'`). Out-of-range values become `±inf` / `±0.0`.
pub fn parse_float(s: &str) -> Option<f64> {
    let bytes = to_ascii_bytes(s);
    let start = bytes.iter().position(|&b| !c_isspace(b))?;
    let end = bytes.iter().rposition(|&b| !c_isspace(b))? + 1;
    let body = &bytes[start..end];
    let mut clean = Vec::with_capacity(body.len());
    for (k, &b) in body.iter().enumerate() {
        if b == b'_' {
            let before = k > 0 && body[k - 1].is_ascii_digit();
            let after = body.get(k + 1).is_some_and(|c| c.is_ascii_digit());
            if !(before && after) {
                return None;
            }
        } else {
            clean.push(b);
        }
    }
    let text = std::str::from_utf8(&clean).ok()?;
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        let neg = text.starts_with('-');
        let v = if lower == "nan" { f64::NAN } else { f64::INFINITY };
        return Some(if neg { -v } else { v });
    }
    // Python's grammar: digits [. digits] or . digits, then [e [sign] digits].
    let b = unsigned.as_bytes();
    let mut k = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    k += int_digits;
    let mut frac_digits = 0;
    if b.get(k) == Some(&b'.') {
        k += 1;
        frac_digits = b[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        k += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(k), Some(b'e' | b'E')) {
        k += 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = b[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits == 0 {
            return None;
        }
        k += exp_digits;
    }
    if k != b.len() {
        return None;
    }
    text.parse::<f64>().ok()
}
