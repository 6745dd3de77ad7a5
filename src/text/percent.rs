//! Building blocks for printf-style `str % args` formatting, ported from
//! CPython 3.11's `PyUnicode_Format`.
//!
//! The caller walks the pieces from [`parse_percent`] in order, fetching
//! arguments itself (mapping keys, `*` widths/precisions, then the value —
//! in that order, as CPython does) and formats each value with
//! [`format_percent_int`], [`format_percent_float`] or
//! [`format_percent_str`] according to the conversion character:
//!
//! * `d i u o x X`: int (`%d`/`%i`/`%u` accept any real number, truncated
//!   with `int()`; `%o %x %X` need an integer — `TypeError: %x format: an
//!   integer is required, not float`; `%d` with a non-number:
//!   `TypeError: %d format: a real number is required, not str`);
//! * `e E f F g G`: float (`TypeError: must be real number, not str`);
//! * `s r a`: `str()`/`repr()`/`ascii()` of the value, then [`format_percent_str`];
//! * `c`: an int (see [`percent_char_from_int`]) or a one-character
//!   string (`TypeError: %c requires int or char`), then [`format_percent_str`];
//! * anything else (including `%` after flags, as in `%5%`): raise
//!   [`unsupported_char_error`] — *after* fetching the argument.
//!
//! `%%` (with nothing in between) is returned as literal text.

use super::float_repr::{double_to_string, DtoaFlags};
use super::int_text::{exceeds_str_digits_limit, int_to_str_limit_message};
use super::TextError;
use num_bigint::{BigInt, Sign};

/// The flags of one conversion specifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PercentFlags {
    /// `-`: left-justify.
    pub left: bool,
    /// `+`: always show a sign for numbers.
    pub sign: bool,
    /// ` `: a space before non-negative numbers.
    pub blank: bool,
    /// `#`: alternate form.
    pub alt: bool,
    /// `0`: zero-pad numbers.
    pub zero: bool,
}

/// A width or precision field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// A literal number.
    Fixed(usize),
    /// `*`: taken from the next argument (an int; for a width, a negative
    /// value means left-justify with its absolute value — see
    /// [`resolve_star_width`]; a negative precision means 0).
    Star,
}

/// One conversion specifier: `%[(key)][flags][width][.precision][hlL]conv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PercentSpec {
    /// Mapping key from `%(key)s` (requires a mapping argument, else
    /// `TypeError: format requires a mapping`).
    pub key: Option<String>,
    /// Flags.
    pub flags: PercentFlags,
    /// Minimum width.
    pub width: Option<Count>,
    /// Precision (`.` alone means 0).
    pub precision: Option<Count>,
    /// Conversion character (not validated; see [`unsupported_char_error`]).
    pub conv: char,
    /// Index (in characters) of the conversion character in the format.
    pub index: usize,
}

/// A piece of a parsed `%` format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PercentPiece {
    /// Literal text (including the `%` of `%%`).
    Literal(String),
    /// A conversion specifier consuming an argument.
    Spec(PercentSpec),
    /// A parse error CPython raises when formatting reaches this point
    /// (after the earlier pieces were formatted): `incomplete format`,
    /// `incomplete format key`, `width too big`, `precision too big`. It is
    /// always the last piece.
    Error(TextError),
}

/// Parses a `%` format string into pieces. Never fails as a whole: a
/// malformed specifier yields a final [`PercentPiece::Error`] so the caller
/// can raise it in CPython's order.
pub fn parse_percent(fmt: &str) -> Vec<PercentPiece> {
    let chars: Vec<char> = fmt.chars().collect();
    let n = chars.len();
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut pos = 0;
    while pos < n {
        if chars[pos] != '%' {
            lit.push(chars[pos]);
            pos += 1;
            continue;
        }
        pos += 1;
        if pos < n && chars[pos] == '%' {
            lit.push('%');
            pos += 1;
            continue;
        }
        if !lit.is_empty() {
            pieces.push(PercentPiece::Literal(std::mem::take(&mut lit)));
        }
        match parse_spec(&chars, &mut pos) {
            Ok(spec) => pieces.push(PercentPiece::Spec(spec)),
            Err(e) => {
                pieces.push(PercentPiece::Error(e));
                return pieces;
            }
        }
    }
    if !lit.is_empty() {
        pieces.push(PercentPiece::Literal(lit));
    }
    pieces
}

/// Parses one specifier starting just after its `%`.
fn parse_spec(chars: &[char], pos: &mut usize) -> Result<PercentSpec, TextError> {
    let incomplete = || TextError::value("incomplete format");
    let mut key = None;
    if chars.get(*pos) == Some(&'(') {
        *pos += 1;
        let start = *pos;
        let mut depth = 1;
        while depth > 0 {
            match chars.get(*pos) {
                None => return Err(TextError::value("incomplete format key")),
                Some(')') => depth -= 1,
                Some('(') => depth += 1,
                Some(_) => {}
            }
            *pos += 1;
        }
        key = Some(chars[start..*pos - 1].iter().collect());
    }
    let mut flags = PercentFlags::default();
    let next = |pos: &mut usize| -> Option<char> {
        let c = chars.get(*pos).copied();
        if c.is_some() {
            *pos += 1;
        }
        c
    };
    let mut c = next(pos).ok_or_else(incomplete)?;
    loop {
        match c {
            '-' => flags.left = true,
            '+' => flags.sign = true,
            ' ' => flags.blank = true,
            '#' => flags.alt = true,
            '0' => flags.zero = true,
            _ => break,
        }
        c = next(pos).ok_or_else(incomplete)?;
    }
    let mut width = None;
    if c == '*' {
        width = Some(Count::Star);
        c = next(pos).ok_or_else(incomplete)?;
    } else if let Some(d) = c.to_digit(10) {
        let mut w = d as usize;
        loop {
            c = next(pos).ok_or_else(incomplete)?;
            let Some(d) = c.to_digit(10) else { break };
            w = w
                .checked_mul(10)
                .and_then(|w| w.checked_add(d as usize))
                .filter(|&w| w <= isize::MAX as usize)
                .ok_or_else(|| TextError::value("width too big"))?;
        }
        width = Some(Count::Fixed(w));
    }
    let mut precision = None;
    if c == '.' {
        precision = Some(Count::Fixed(0));
        c = next(pos).ok_or_else(incomplete)?;
        if c == '*' {
            precision = Some(Count::Star);
            c = next(pos).ok_or_else(incomplete)?;
        } else if let Some(d) = c.to_digit(10) {
            let mut p = d as usize;
            loop {
                c = next(pos).ok_or_else(incomplete)?;
                let Some(d) = c.to_digit(10) else { break };
                p = p
                    .checked_mul(10)
                    .and_then(|p| p.checked_add(d as usize))
                    .filter(|&p| p <= i32::MAX as usize)
                    .ok_or_else(|| TextError::value("precision too big"))?;
            }
            precision = Some(Count::Fixed(p));
        }
    }
    if matches!(c, 'h' | 'l' | 'L') {
        c = next(pos).ok_or_else(incomplete)?;
    }
    Ok(PercentSpec { key, flags, width, precision, conv: c, index: *pos - 1 })
}

/// Resolves a `*` width argument: a negative value sets left-justification
/// and uses its absolute value.
pub fn resolve_star_width(w: i64, flags: &mut PercentFlags) -> usize {
    if w < 0 {
        flags.left = true;
    }
    usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX)
}

/// Resolves a `*` precision argument: negative means 0.
pub fn resolve_star_precision(p: i64) -> usize {
    usize::try_from(p.max(0)).unwrap_or(usize::MAX)
}

/// `ValueError: unsupported format character 'y' (0x79) at index 1`.
pub fn unsupported_char_error(conv: char, index: usize) -> TextError {
    let n = conv as u32;
    let shown = if (31..=126).contains(&n) { conv } else { '?' };
    TextError::value(format!("unsupported format character '{shown}' (0x{n:x}) at index {index}"))
}

/// Port of `unicode_format_arg_output`: pads `text` to `width`, placing a
/// sign (numbers only) and the `0x`/`0o` prefix before zero padding.
fn output(text: &str, flags: &PercentFlags, width: Option<usize>, conv: char, numeric: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut len = chars.len();
    let mut width = width.unwrap_or(0);
    let fill = if numeric && flags.zero { '0' } else { ' ' };
    let mut idx = 0;
    let mut sign_char = None;
    if numeric {
        match chars.first() {
            Some(&c @ ('-' | '+')) => {
                sign_char = Some(c);
                len -= 1;
                idx = 1;
            }
            _ if flags.sign => sign_char = Some('+'),
            _ if flags.blank => sign_char = Some(' '),
            _ => {}
        }
    }
    width = width.max(len);
    let mut out = String::with_capacity(width + 2);
    if let Some(s) = sign_char {
        if fill != ' ' {
            out.push(s);
        }
        if width > len {
            width -= 1;
        }
    }
    let has_prefix = flags.alt && matches!(conv, 'x' | 'X' | 'o');
    if has_prefix {
        if fill != ' ' {
            out.extend(&chars[idx..idx + 2]);
            idx += 2;
        }
        width = width.saturating_sub(2);
        len -= 2;
    }
    if width > len && !flags.left {
        out.extend(std::iter::repeat_n(fill, width - len));
        width = len;
    }
    if fill == ' ' {
        if let Some(s) = sign_char {
            out.push(s);
        }
        if has_prefix {
            out.extend(&chars[idx..idx + 2]);
            idx += 2;
        }
    }
    out.extend(&chars[idx..idx + len]);
    if width > len {
        out.extend(std::iter::repeat_n(' ', width - len));
    }
    out
}

/// Formats an int for `%d %i %u %o %x %X` (any other `conv` is treated as
/// `d`). Error: the digit limit for decimal conversions.
pub fn format_percent_int(
    v: &BigInt,
    flags: &PercentFlags,
    width: Option<usize>,
    precision: Option<usize>,
    conv: char,
) -> Result<String, TextError> {
    let (radix, prefix) = match conv {
        'o' => (8, "0o"),
        'x' => (16, "0x"),
        'X' => (16, "0X"),
        _ => (10, ""),
    };
    if radix == 10 && exceeds_str_digits_limit(v) {
        return Err(TextError::value(int_to_str_limit_message()));
    }
    let mut digits = v.magnitude().to_str_radix(radix);
    if conv == 'X' {
        digits.make_ascii_uppercase();
    }
    let mut body = String::new();
    if v.sign() == Sign::Minus {
        body.push('-');
    }
    if flags.alt {
        body.push_str(prefix);
    }
    if let Some(p) = precision {
        let n = digits.len();
        if p > n {
            body.extend(std::iter::repeat_n('0', p - n));
        }
    }
    body.push_str(&digits);
    let alt_conv = if flags.alt { conv } else { 'd' };
    Ok(output(&body, flags, width, alt_conv, true))
}

/// Formats a float for `%e %E %f %F %g %G` (default precision 6; any other
/// `conv` is treated as `g`).
pub fn format_percent_float(
    v: f64,
    flags: &PercentFlags,
    width: Option<usize>,
    precision: Option<usize>,
    conv: char,
) -> String {
    let conv = if matches!(conv, 'e' | 'E' | 'f' | 'F' | 'g' | 'G') { conv } else { 'g' };
    let dflags = DtoaFlags { alt: flags.alt, ..DtoaFlags::default() };
    let text = double_to_string(v, conv, precision.unwrap_or(6), dflags);
    output(&text, flags, width, conv, true)
}

/// Formats already-converted text for `%s %r %a %c`: truncates to
/// `precision` characters (for `s r a`; pass `None` for `c`) and pads to
/// `width` (left-justified with the `-` flag). The `0`, `+`, ` ` and `#`
/// flags have no effect.
pub fn format_percent_str(s: &str, flags: &PercentFlags, width: Option<usize>, precision: Option<usize>) -> String {
    let text = match precision {
        Some(p) => match s.char_indices().nth(p) {
            Some((cut, _)) => &s[..cut],
            None => s,
        },
        None => s,
    };
    output(text, flags, width, 's', false)
}

/// The character for `%c` with an int argument: `OverflowError: %c arg
/// not in range(0x110000)` for any value outside `0..=0x10ffff` (however
/// large). Surrogate code points, which Rust strings cannot hold, are a
/// `ValueError`.
pub fn percent_char_from_int(v: &BigInt) -> Result<char, TextError> {
    use num_traits::ToPrimitive;
    let n = v.to_u32().filter(|&n| n <= 0x10ffff);
    let n = n.ok_or_else(|| TextError::overflow("%c arg not in range(0x110000)"))?;
    char::from_u32(n).ok_or_else(|| TextError::value("surrogate code points are not supported"))
}
