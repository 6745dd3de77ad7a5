//! Python's format-specification mini-language (`format()`, `str.format`,
//! f-strings) for `int`, `float` and `str`, ported from CPython 3.11's
//! `Python/formatter_unicode.c`.
//!
//! Usage: `let spec = parse(spec_text, type_name)?;` then one of
//! [`format_int`], [`format_float`], [`format_str`]. An *empty* spec means
//! `str(value)` in Python; the caller should handle that case itself for
//! types whose `str` differs from these functions' output (e.g. `bool`).

use super::float_repr::{double_to_string, DtoaFlags};
use super::int_math::bigint_to_f64;
use super::TextError;
use num_bigint::{BigInt, Sign};

/// A parsed format specification:
/// `[[fill]align][sign]["z"]["#"]["0"][width][grouping]["." precision][type]`.
///
/// Defaults that depend on the formatted type (alignment, fill with the `0`
/// flag, type) are resolved by the `format_*` functions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatSpec {
    /// Explicit fill character (only present together with `align`).
    pub fill: Option<char>,
    /// Explicit alignment: one of `<`, `>`, `^`, `=`.
    pub align: Option<char>,
    /// Sign option: `+`, `-` or ` `.
    pub sign: Option<char>,
    /// `z`: coerce negative zero to positive zero (floats only).
    pub no_neg_0: bool,
    /// `#`: alternate form.
    pub alternate: bool,
    /// The `0` flag appeared (without an explicit fill character): pad
    /// with `0` and, for numbers without explicit alignment, use `=`.
    pub zero_pad: bool,
    /// Minimum field width.
    pub width: Option<usize>,
    /// Thousands separator: `,` or `_`.
    pub grouping: Option<char>,
    /// Precision (digits after the point, or maximum string length).
    pub precision: Option<usize>,
    /// Presentation type character.
    pub ty: Option<char>,
}

/// Largest width/precision accepted, like CPython's `Py_ssize_t` limit.
const MAX_NUMBER: usize = isize::MAX as usize;

fn is_align(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '^')
}

/// Reads a run of decimal digits starting at `*pos`; returns `None` when
/// there are none.
fn get_integer(chars: &[char], pos: &mut usize) -> Result<Option<usize>, TextError> {
    let mut value: usize = 0;
    let mut any = false;
    while let Some(d) = chars.get(*pos).and_then(|c| c.to_digit(10)) {
        any = true;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as usize))
            .filter(|&v| v <= MAX_NUMBER)
            .ok_or_else(|| TextError::value("Too many decimal digits in format string"))?;
        *pos += 1;
    }
    Ok(if any { Some(value) } else { None })
}

/// Parses a format specification. `type_name` is the Python type name of
/// the value being formatted (`"int"`, `"float"`, `"str"`, ...), used in
/// the `Invalid format specifier` message.
pub fn parse(spec: &str, type_name: &str) -> Result<FormatSpec, TextError> {
    let chars: Vec<char> = spec.chars().collect();
    let end = chars.len();
    let mut pos = 0;
    let mut f = FormatSpec::default();
    if end >= 2 && is_align(chars[1]) {
        f.fill = Some(chars[0]);
        f.align = Some(chars[1]);
        pos = 2;
    } else if end >= 1 && is_align(chars[0]) {
        f.align = Some(chars[0]);
        pos = 1;
    }
    if let Some(&c @ ('+' | '-' | ' ')) = chars.get(pos) {
        f.sign = Some(c);
        pos += 1;
    }
    if chars.get(pos) == Some(&'z') {
        f.no_neg_0 = true;
        pos += 1;
    }
    if chars.get(pos) == Some(&'#') {
        f.alternate = true;
        pos += 1;
    }
    if f.fill.is_none() && chars.get(pos) == Some(&'0') {
        f.zero_pad = true;
        pos += 1;
    }
    f.width = get_integer(&chars, &mut pos)?;
    if chars.get(pos) == Some(&',') {
        f.grouping = Some(',');
        pos += 1;
    }
    if chars.get(pos) == Some(&'_') {
        if f.grouping.is_some() {
            return Err(TextError::value("Cannot specify both ',' and '_'."));
        }
        f.grouping = Some('_');
        pos += 1;
    }
    if chars.get(pos) == Some(&',') && f.grouping == Some('_') {
        return Err(TextError::value("Cannot specify both ',' and '_'."));
    }
    if chars.get(pos) == Some(&'.') {
        pos += 1;
        f.precision = get_integer(&chars, &mut pos)?;
        if f.precision.is_none() {
            return Err(TextError::value("Format specifier missing precision"));
        }
    }
    if end - pos > 1 {
        return Err(TextError::value(format!("Invalid format specifier '{spec}' for object of type '{type_name}'")));
    }
    if end - pos == 1 {
        f.ty = Some(chars[pos]);
    }
    Ok(f)
}

/// Renders a presentation type for an error message the way CPython does
/// (`'d'`, or `'\x0'` style for non-printable ASCII / non-ASCII).
fn code_text(c: char) -> String {
    let n = c as u32;
    if n > 32 && n < 128 {
        c.to_string()
    } else {
        format!("\\x{n:x}")
    }
}

/// `Unknown format code 'X' for object of type 'T'`.
fn unknown_code(c: char, type_name: &str) -> TextError {
    TextError::value(format!("Unknown format code '{}' for object of type '{type_name}'", code_text(c)))
}

/// CPython's check of the thousands separator against the (defaulted)
/// presentation type; returns the group size to use.
fn check_grouping(spec: &FormatSpec, ty: Option<char>) -> Result<usize, TextError> {
    let Some(sep) = spec.grouping else {
        return Ok(3);
    };
    match ty {
        None | Some('d' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F') => Ok(3),
        Some('b' | 'o' | 'x' | 'X') if sep == '_' => Ok(4),
        Some(c) => Err(TextError::value(format!("Cannot specify '{sep}' with '{}'.", code_text(c)))),
    }
}

/// Fill and alignment after applying a type's default alignment.
fn resolved_fill_align(spec: &FormatSpec, default_align: char) -> (char, char) {
    let fill = spec.fill.unwrap_or(if spec.zero_pad { '0' } else { ' ' });
    let align = spec.align.unwrap_or(if spec.zero_pad && default_align == '>' { '=' } else { default_align });
    (fill, align)
}

/// Inserts `sep` every `group` digits (from the right) into `digits`,
/// padding with leading zeros (and separators) until the result is at
/// least `min_width` characters; a port of
/// `_PyUnicode_InsertThousandsGrouping`. `sep == None` means no grouping.
fn group_digits(digits: &[char], min_width: isize, sep: Option<(char, usize)>) -> Result<Vec<char>, TextError> {
    // Chunks are produced right to left; they are written reversed into `rev` (separators
    // between them), which is reversed at the end. The capacity is reserved up front, as
    // `min_width` comes from the script.
    let group = sep.map(|(_, g)| g.max(1)).unwrap_or(usize::MAX);
    let n = digits.len();
    let bound = (min_width.max(0) as usize).max(n).saturating_add(n / group.min(n.max(1)) + 2);
    let mut rev: Vec<char> = Vec::new();
    super::try_reserve(&mut rev, bound.saturating_mul(if sep.is_some() { 2 } else { 1 }))?;
    let mut remaining = n as isize;
    let mut min_width = min_width;
    let mut end = n;
    let mut first = true;
    let mut take = |rev: &mut Vec<char>, n_chars: isize, n_zeros: isize, end: &mut usize| {
        if !first {
            if let Some((c, _)) = sep {
                rev.push(c);
            }
        }
        first = false;
        let k = n_chars.max(0) as usize;
        rev.extend(digits[*end - k..*end].iter().rev());
        *end -= k;
        rev.extend(std::iter::repeat_n('0', n_zeros.max(0) as usize));
    };
    let mut broke = false;
    if let Some((_, group)) = sep {
        let len = group as isize;
        loop {
            let l = len.min(remaining.max(min_width).max(1));
            let n_zeros = (l - remaining).max(0);
            let n_chars = remaining.min(l).max(0);
            take(&mut rev, n_chars, n_zeros, &mut end);
            remaining -= n_chars;
            min_width -= l;
            if remaining <= 0 && min_width <= 0 {
                broke = true;
                break;
            }
            min_width -= 1;
        }
    }
    if !broke {
        let len = remaining.max(min_width).max(1);
        let n_zeros = (len - remaining).max(0);
        let n_chars = remaining.min(len).max(0);
        take(&mut rev, n_chars, n_zeros, &mut end);
    }
    rev.reverse();
    Ok(rev)
}

/// The pieces of a number to be laid out by [`fill_number`].
struct NumberParts<'a> {
    /// The value is negative.
    negative: bool,
    /// Prefix such as `0x` (written after the sign).
    prefix: &'a str,
    /// Integer digits (grouped); empty only for the `c` type.
    digits: &'a [char],
    /// Whether a decimal point follows the digits.
    has_decimal: bool,
    /// Everything after the decimal point (or after the digits).
    remainder: &'a [char],
}

/// Port of `calc_number_widths` + `fill_number`.
fn fill_number(
    parts: &NumberParts<'_>,
    spec: &FormatSpec,
    fill: char,
    align: char,
    sep: Option<(char, usize)>,
) -> Result<String, TextError> {
    let sign = match spec.sign {
        Some('+') => Some(if parts.negative { '-' } else { '+' }),
        Some(' ') => Some(if parts.negative { '-' } else { ' ' }),
        _ => parts.negative.then_some('-'),
    };
    let width = spec.width.map(|w| w as isize).unwrap_or(-1);
    let n_prefix = parts.prefix.chars().count() as isize;
    let n_non_digit =
        isize::from(sign.is_some()) + n_prefix + isize::from(parts.has_decimal) + parts.remainder.len() as isize;
    let min_width = if fill == '0' && align == '=' { width - n_non_digit } else { 0 };
    let grouped = if parts.digits.is_empty() { Vec::new() } else { group_digits(parts.digits, min_width, sep)? };
    let n_padding = width - (n_non_digit + grouped.len() as isize);
    let (mut lpad, mut spad, mut rpad) = (0, 0, 0);
    if n_padding > 0 {
        match align {
            '<' => rpad = n_padding,
            '^' => {
                lpad = n_padding / 2;
                rpad = n_padding - lpad;
            }
            '=' => spad = n_padding,
            _ => lpad = n_padding,
        }
    }
    let mut out = String::new();
    let pads = (lpad + spad + rpad).max(0) as usize;
    let body = grouped.len() + parts.remainder.len() + parts.prefix.len() + 2;
    super::try_reserve_str(&mut out, pads.saturating_mul(fill.len_utf8()).saturating_add(body.saturating_mul(4)))?;
    let pad = |out: &mut String, n: isize| {
        for _ in 0..n {
            out.push(fill);
        }
    };
    pad(&mut out, lpad);
    if let Some(s) = sign {
        out.push(s);
    }
    out.push_str(parts.prefix);
    pad(&mut out, spad);
    out.extend(grouped.iter());
    if parts.has_decimal {
        out.push('.');
    }
    out.extend(parts.remainder.iter());
    pad(&mut out, rpad);
    Ok(out)
}

/// Formats an int: `format(v, spec)` for types `b c d o x X n` and none,
/// and `e E f F g G %` (via conversion to float). `type_name` is the
/// value's Python type name (for messages).
pub fn format_int(v: &BigInt, spec: &FormatSpec, type_name: &str) -> Result<String, TextError> {
    let ty = spec.ty.unwrap_or('d');
    let group = check_grouping(spec, Some(ty))?;
    match ty {
        'b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n' => {}
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%' => {
            let x = bigint_to_f64(v).map_err(|_| TextError::overflow("int too large to convert to float"))?;
            return format_float(x, spec, "float");
        }
        other => return Err(unknown_code(other, type_name)),
    }
    if spec.precision.is_some() {
        return Err(TextError::value("Precision not allowed in integer format specifier"));
    }
    if spec.no_neg_0 {
        return Err(TextError::value("Negative zero coercion (z) not allowed in integer format specifier"));
    }
    let (fill, align) = resolved_fill_align(spec, '>');
    let sep = spec.grouping.filter(|_| ty != 'n').map(|c| (c, group));
    if ty == 'c' {
        if spec.sign.is_some() {
            return Err(TextError::value("Sign not allowed with integer format specifier 'c'"));
        }
        if spec.alternate {
            return Err(TextError::value("Alternate form (#) not allowed with integer format specifier 'c'"));
        }
        let ch = char_from_int(v)?;
        let remainder = [ch];
        let parts = NumberParts { negative: false, prefix: "", digits: &[], has_decimal: false, remainder: &remainder };
        return fill_number(&parts, spec, fill, align, sep);
    }
    let (radix, prefix) = match ty {
        'b' => (2, "0b"),
        'o' => (8, "0o"),
        'x' => (16, "0x"),
        'X' => (16, "0X"),
        _ => (10, ""),
    };
    if radix == 10 && super::int_text::exceeds_str_digits_limit(v) {
        return Err(TextError::value(super::int_text::int_to_str_limit_message()));
    }
    let mut text = v.magnitude().to_str_radix(radix);
    if ty == 'X' {
        text.make_ascii_uppercase();
    }
    let digits: Vec<char> = text.chars().collect();
    let parts = NumberParts {
        negative: v.sign() == Sign::Minus,
        prefix: if spec.alternate { prefix } else { "" },
        digits: &digits,
        has_decimal: false,
        remainder: &[],
    };
    fill_number(&parts, spec, fill, align, sep)
}

/// The character for `%c` / `format(v, 'c')`: an `OverflowError`
/// (`%c arg not in range(0x110000)`) outside `0..=0x10ffff`. Surrogate
/// code points (which Rust strings cannot hold) are a `ValueError`.
pub fn char_from_int(v: &BigInt) -> Result<char, TextError> {
    use num_traits::ToPrimitive;
    let n = v.to_i64().ok_or_else(|| TextError::overflow("Python int too large to convert to C long"))?;
    if !(0..=0x10ffff).contains(&n) {
        return Err(TextError::overflow("%c arg not in range(0x110000)"));
    }
    char::from_u32(n as u32).ok_or_else(|| TextError::value("surrogate code points are not supported"))
}

/// Formats a float: `format(v, spec)` for types `e E f F g G n %` and none
/// (repr-like; with a precision, `g`-like keeping at least one digit after
/// the point). `type_name` is the value's Python type name.
pub fn format_float(v: f64, spec: &FormatSpec, type_name: &str) -> Result<String, TextError> {
    let ty = spec.ty.filter(|&c| c != '\0');
    let group = check_grouping(spec, ty)?;
    if let Some(c) = ty {
        if !matches!(c, 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%') {
            return Err(unknown_code(c, type_name));
        }
    }
    let precision = spec.precision;
    if precision.is_some_and(|p| p > i32::MAX as usize) {
        return Err(TextError::value("precision too big"));
    }
    let mut flags = DtoaFlags { alt: spec.alternate, no_neg_0: spec.no_neg_0, ..DtoaFlags::default() };
    let mut code = ty.unwrap_or('r');
    let mut default_precision = 6;
    if ty.is_none() {
        flags.add_dot_0 = true;
        default_precision = 0;
    }
    if code == 'n' {
        code = 'g';
    }
    let mut val = v;
    let mut add_pct = false;
    if code == '%' {
        code = 'f';
        val *= 100.0;
        add_pct = true;
    }
    let precision = match precision {
        None => default_precision,
        Some(p) => {
            if code == 'r' {
                code = 'g';
            }
            p
        }
    };
    let mut text = double_to_string(val, code, precision, flags);
    if add_pct {
        text.push('%');
    }
    let chars: Vec<char> = text.chars().collect();
    let (negative, body) = match chars.split_first() {
        Some(('-', rest)) => (true, rest),
        _ => (false, &chars[..]),
    };
    let n_int = body.iter().take_while(|c| c.is_ascii_digit()).count();
    let has_decimal = body.get(n_int) == Some(&'.');
    let rem_start = n_int + usize::from(has_decimal);
    let (fill, align) = resolved_fill_align(spec, '>');
    let sep = spec.grouping.filter(|_| ty != Some('n')).map(|c| (c, group));
    let parts =
        NumberParts { negative, prefix: "", digits: &body[..n_int], has_decimal, remainder: &body[rem_start..] };
    fill_number(&parts, spec, fill, align, sep)
}

/// Formats a string: `format(v, spec)` for type `s` and none.
/// `type_name` is the value's Python type name.
pub fn format_str(v: &str, spec: &FormatSpec, type_name: &str) -> Result<String, TextError> {
    let ty = spec.ty.unwrap_or('s');
    check_grouping(spec, Some(ty))?;
    if ty != 's' {
        return Err(unknown_code(ty, type_name));
    }
    match spec.sign {
        Some(' ') => return Err(TextError::value("Space not allowed in string format specifier")),
        Some(_) => return Err(TextError::value("Sign not allowed in string format specifier")),
        None => {}
    }
    if spec.no_neg_0 {
        return Err(TextError::value("Negative zero coercion (z) not allowed in string format specifier"));
    }
    if spec.alternate {
        return Err(TextError::value("Alternate form (#) not allowed in string format specifier"));
    }
    let (fill, align) = resolved_fill_align(spec, '<');
    if align == '=' {
        return Err(TextError::value("'=' alignment not allowed in string format specifier"));
    }
    let mut len = v.chars().count();
    let text: &str = match spec.precision {
        Some(p) if p < len => {
            len = p;
            let cut = v.char_indices().nth(p).map(|(i, _)| i).unwrap_or(v.len());
            &v[..cut]
        }
        _ => v,
    };
    let width = spec.width.unwrap_or(0);
    let total = width.max(len);
    let lpad = match align {
        '>' => total - len,
        '^' => (total - len) / 2,
        _ => 0,
    };
    let rpad = total - len - lpad;
    let mut out = String::new();
    super::try_reserve_str(&mut out, text.len().saturating_add((lpad + rpad).saturating_mul(fill.len_utf8())))?;
    out.extend(std::iter::repeat_n(fill, lpad));
    out.push_str(text);
    out.extend(std::iter::repeat_n(fill, rpad));
    Ok(out)
}
