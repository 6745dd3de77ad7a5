//! Callbacks that lex numeric literals, including CPython's checks on what may follow them.

use logos::Lexer;
use num_bigint::BigUint;
use num_traits::ToPrimitive;

use super::token::{LexError, Token};

/// The value of an integer literal.
#[derive(Clone, Debug, PartialEq)]
pub enum IntValue {
    /// Fits in an `i64`.
    Small(i64),
    /// Too large for `i64`: its decimal digits.
    Big(String),
}

/// Keywords that CPython 3.11 still accepts glued to a number (`1if x else y`).
const GLUED_KEYWORDS: [&str; 8] = ["and", "else", "for", "if", "in", "is", "not", "or"];

/// Checks the character after a number, as CPython's `verify_end_of_number` does.
fn verify_end(lex: &Lexer<Token>, kind: &str) -> Result<(), LexError> {
    let rest = lex.remainder();
    let Some(c) = rest.chars().next() else {
        return Ok(());
    };
    if GLUED_KEYWORDS.iter().any(|k| rest.starts_with(k)) {
        return Ok(());
    }
    if c == '_' || c.is_alphanumeric() {
        let span = lex.span();
        if c.is_ascii_digit() && (kind == "binary" || kind == "octal") {
            return Err(LexError::at(format!("invalid digit '{c}' in {kind} literal"), span.start, span.end + 1));
        }
        return Err(LexError::at(format!("invalid {kind} literal"), span.start, span.end + c.len_utf8()));
    }
    Ok(())
}

/// Converts digits in a radix to an [`IntValue`].
fn int_value(digits: &str, radix: u32) -> IntValue {
    match i64::from_str_radix(digits, radix) {
        Ok(v) => IntValue::Small(v),
        Err(_) => match BigUint::parse_bytes(digits.as_bytes(), radix) {
            Some(big) => match big.to_i64() {
                Some(v) => IntValue::Small(v),
                None => IntValue::Big(big.to_str_radix(10)),
            },
            None => IntValue::Small(0),
        },
    }
}

/// A decimal integer literal.
pub fn decimal(lex: &mut Lexer<Token>) -> Result<IntValue, LexError> {
    let text = lex.slice();
    let span = lex.span();
    if text == "0" {
        let mut rest = lex.remainder().chars();
        let kind = match rest.next() {
            Some('x' | 'X') => Some("hexadecimal"),
            Some('o' | 'O') => Some("octal"),
            Some('b' | 'B') => Some("binary"),
            _ => None,
        };
        if let Some(kind) = kind {
            return Err(match rest.next() {
                Some(d) if d.is_ascii_digit() => {
                    LexError::at(format!("invalid digit '{d}' in {kind} literal"), span.start, span.end + 2)
                }
                _ => LexError::at(format!("invalid {kind} literal"), span.start, span.end + 1),
            });
        }
    }
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
        return Err(LexError::at(
            "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
            span.start,
            span.end,
        ));
    }
    verify_end(lex, "decimal")?;
    Ok(int_value(&digits, 10))
}

/// A hexadecimal, octal or binary integer literal.
pub fn radix(lex: &mut Lexer<Token>, radix: u32) -> Result<IntValue, LexError> {
    let digits: String = lex.slice()[2..].chars().filter(|&c| c != '_').collect();
    let kind = match radix {
        16 => "hexadecimal",
        8 => "octal",
        _ => "binary",
    };
    verify_end(lex, kind)?;
    Ok(int_value(&digits, radix))
}

/// Parses float text (underscores allowed between digits).
fn float_value(text: &str) -> f64 {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    clean.parse::<f64>().unwrap_or(f64::NAN)
}

/// A float literal.
pub fn float(lex: &mut Lexer<Token>) -> Result<f64, LexError> {
    verify_end(lex, "decimal")?;
    Ok(float_value(lex.slice()))
}

/// An imaginary literal; the value is the imaginary part.
pub fn imaginary(lex: &mut Lexer<Token>) -> Result<f64, LexError> {
    verify_end(lex, "imaginary")?;
    let text = lex.slice();
    Ok(float_value(&text[..text.len() - 1]))
}
