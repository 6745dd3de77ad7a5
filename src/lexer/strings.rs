//! Scanning and decoding of string literals (the f-string fields are parsed later, by the parser).

use super::token::LexError;

/// The value of one string literal token.
#[derive(Clone, Debug, PartialEq)]
pub enum StrValue {
    /// A `str` literal with escapes decoded.
    Str(String),
    /// A `bytes` literal with escapes decoded.
    Bytes(Vec<u8>),
    /// An f-string: its raw body text (between the quotes) and where that body starts,
    /// counted in bytes from the start of the token.
    FStr {
        /// True for `rf"..."` (escapes are not decoded).
        raw: bool,
        /// The body exactly as written.
        content: String,
        /// Byte offset of the body from the token's start.
        offset: usize,
    },
}

/// Finds the end of a string body: `Ok(len)` is the offset of the closing quote(s),
/// `Err(pos)` where scanning stopped (a line break in a one-line string, or the end of input).
pub fn scan_body(body: &str, quote: u8, triple: bool) -> Result<usize, usize> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                    i += 3;
                } else {
                    i += 2;
                }
            }
            b'\n' | b'\r' if !triple => return Err(i),
            c if c == quote => {
                if !triple || (b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote)) {
                    return Ok(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    Err(b.len())
}

/// Counts line breaks (`\n`, `\r\n` or a lone `\r`) in `text`.
pub fn count_lines(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// Builds the value of a literal from its prefix and body; `start..end` is the token's span.
pub fn decode_literal(
    prefix: &str,
    body: &str,
    body_offset: usize,
    start: usize,
    end: usize,
) -> Result<StrValue, LexError> {
    let prefix = prefix.to_ascii_lowercase();
    let raw = prefix.contains('r');
    if prefix.contains('f') {
        return Ok(StrValue::FStr { raw, content: body.to_string(), offset: body_offset });
    }
    if prefix.contains('b') {
        if !body.is_ascii() {
            return Err(LexError::at("bytes can only contain ASCII literal characters", start, end));
        }
        if raw {
            return Ok(StrValue::Bytes(body.as_bytes().to_vec()));
        }
        return decode_bytes(body).map(StrValue::Bytes).map_err(|m| LexError::at(m, start, end));
    }
    if raw {
        return Ok(StrValue::Str(body.to_string()));
    }
    decode_str(body).map(StrValue::Str).map_err(|m| LexError::at(m, start, end))
}

/// Reads up to `max` digits of `radix` from the front of `text`; returns the value and digit count.
fn read_digits(text: &[u8], radix: u32, max: usize) -> (u32, usize) {
    let mut value = 0u32;
    let mut n = 0;
    while n < max {
        match text.get(n).and_then(|&c| (c as char).to_digit(radix)) {
            Some(d) => {
                value = value.wrapping_mul(radix).wrapping_add(d);
                n += 1;
            }
            None => break,
        }
    }
    (value, n)
}

/// The escape for a simple one-letter escape such as `\n`.
fn simple_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'\\' => b'\\',
        b'\'' => b'\'',
        b'"' => b'"',
        b'a' => 7,
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 11,
        _ => return None,
    })
}

/// Decodes the escapes of a `str` literal body.
pub fn decode_str(body: &str) -> Result<String, String> {
    if !body.contains('\\') {
        return Ok(body.to_string());
    }
    let b = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let mut literal_start = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&body[literal_start..i]);
        let esc = i;
        i += 1;
        let Some(&c) = b.get(i) else {
            out.push('\\');
            literal_start = i;
            break;
        };
        i += 1;
        match c {
            b'\n' => {}
            b'\r' => {
                if b.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'0'..=b'7' => {
                let (v, n) = read_digits(&b[i - 1..], 8, 3);
                i += n - 1;
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            b'x' | b'u' | b'U' => {
                let (len, name) = match c {
                    b'x' => (2, "\\xXX"),
                    b'u' => (4, "\\uXXXX"),
                    _ => (8, "\\UXXXXXXXX"),
                };
                let (v, n) = read_digits(&b[i..], 16, len);
                if n < len {
                    return Err(format!(
                        "(unicode error) 'unicodeescape' codec can't decode bytes in position {}-{}: truncated {name} escape",
                        esc,
                        i + n - 1
                    ));
                }
                i += n;
                match char::from_u32(v) {
                    Some(ch) => out.push(ch),
                    None if (0xD800..0xE000).contains(&v) => {
                        return Err(format!("(unicode error) surrogate code point U+{v:04X} is not supported by aio"));
                    }
                    None => {
                        return Err(format!(
                            "(unicode error) 'unicodeescape' codec can't decode bytes in position {}-{}: illegal Unicode character",
                            esc,
                            i - 1
                        ))
                    }
                }
            }
            b'N' => return Err("(unicode error) \\N{...} escapes are not supported by aio".to_string()),
            _ => match simple_escape(c) {
                Some(v) => out.push(v as char),
                None => {
                    // Unknown escape: kept as written (CPython warns and does the same).
                    out.push('\\');
                    i -= 1;
                }
            },
        }
        literal_start = i;
    }
    out.push_str(&body[literal_start.min(b.len())..]);
    Ok(out)
}

/// Decodes the escapes of a `bytes` literal body (already checked to be ASCII).
pub fn decode_bytes(body: &str) -> Result<Vec<u8>, String> {
    let b = body.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let esc = i;
        i += 1;
        let Some(&c) = b.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match c {
            b'\n' => {}
            b'\r' => {
                if b.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'0'..=b'7' => {
                let (v, n) = read_digits(&b[i - 1..], 8, 3);
                i += n - 1;
                out.push((v & 0xFF) as u8);
            }
            b'x' => {
                let (v, n) = read_digits(&b[i..], 16, 2);
                if n < 2 {
                    return Err(format!("(value error) invalid \\x escape at position {esc}"));
                }
                i += 2;
                out.push(v as u8);
            }
            _ => match simple_escape(c) {
                Some(v) => out.push(v),
                None => {
                    out.push(b'\\');
                    i -= 1;
                }
            },
        }
    }
    Ok(out)
}
