//! Adjacent string literals and f-strings: concatenation, replacement fields, conversions,
//! nested format specs and `{x=}`. Field expressions are parsed with the same grammar, with
//! spans at their real place in the source.

use super::nodes::{expr, fail, PResult};
use crate::ast::*;
use crate::diagnostics::SyntaxError;
use crate::lexer::strings::{decode_str, StrValue};

/// How deeply format specs may nest replacement fields (CPython allows two levels).
const MAX_FIELD_DEPTH: usize = 2;

/// Concatenates adjacent literals `pieces` (each with its span) into one expression.
pub fn concat(source: &str, pieces: Vec<(usize, StrValue, usize)>, l: usize, r: usize) -> PResult<Expr> {
    let bytes = pieces.iter().filter(|p| matches!(p.1, StrValue::Bytes(_))).count();
    if bytes != 0 && bytes != pieces.len() {
        return fail(SyntaxError::new("cannot mix bytes and nonbytes literals", Span::new(l, r)));
    }
    if bytes != 0 {
        let mut out = Vec::new();
        for (_, piece, _) in pieces {
            if let StrValue::Bytes(b) = piece {
                out.extend(b);
            }
        }
        return Ok(expr(ExprKind::Constant(Constant::Bytes(out)), l, r));
    }
    if !pieces.iter().any(|p| matches!(p.1, StrValue::FStr { .. })) {
        let mut out = String::new();
        for (_, piece, _) in pieces {
            if let StrValue::Str(s) = piece {
                out.push_str(&s);
            }
        }
        return Ok(expr(ExprKind::Constant(Constant::Str(out)), l, r));
    }
    let mut parts = Vec::new();
    for (start, piece, _) in pieces {
        match piece {
            StrValue::Str(s) => parts.push(FStringPart::Literal(s)),
            StrValue::FStr { raw, content, offset } => {
                let base = start + offset;
                if source.get(base..base + content.len()) != Some(content.as_str()) {
                    return fail(SyntaxError::new("f-string: internal offset mismatch", Span::new(l, r)));
                }
                let mut parser = FStringParser { source, base, text: &content, raw };
                let (mut p, _) = parser.parts(0, 0, false).or_else(fail)?;
                parts.append(&mut p);
            }
            StrValue::Bytes(_) => {}
        }
    }
    Ok(expr(ExprKind::FString(merge(parts)), l, r))
}

/// Merges adjacent literal parts and drops empty ones.
fn merge(parts: Vec<FStringPart>) -> Vec<FStringPart> {
    let mut out: Vec<FStringPart> = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            FStringPart::Literal(s) if s.is_empty() => {}
            FStringPart::Literal(s) => match out.last_mut() {
                Some(FStringPart::Literal(prev)) => prev.push_str(&s),
                _ => out.push(FStringPart::Literal(s)),
            },
            value => out.push(value),
        }
    }
    out
}

/// Parses the body of one f-string literal.
struct FStringParser<'a> {
    /// The whole source (field expressions are lexed from it).
    source: &'a str,
    /// Offset of `text` in `source`.
    base: usize,
    /// The f-string body.
    text: &'a str,
    /// True for `rf"..."`.
    raw: bool,
}

impl FStringParser<'_> {
    fn error(&self, message: &str, start: usize, end: usize) -> SyntaxError {
        SyntaxError::new(message, Span::new(self.base + start, self.base + end.max(start)))
    }

    /// Decodes a literal chunk `text[start..end]` and appends it.
    fn flush(&self, start: usize, end: usize, out: &mut String) -> Result<(), SyntaxError> {
        let chunk = &self.text[start..end];
        if self.raw {
            out.push_str(chunk);
        } else {
            let decoded = decode_str(chunk).map_err(|m| self.error(&m, start, end))?;
            out.push_str(&decoded);
        }
        Ok(())
    }

    /// Parses literal text and fields from `i`. In a format spec (`in_spec`) it stops at the
    /// closing `}` and returns its position; otherwise it runs to the end of the text.
    fn parts(&mut self, mut i: usize, depth: usize, in_spec: bool) -> Result<(Vec<FStringPart>, usize), SyntaxError> {
        let b = self.text.as_bytes();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chunk = i;
        while i < b.len() {
            match b[i] {
                b'{' if !in_spec && b.get(i + 1) == Some(&b'{') => {
                    self.flush(chunk, i, &mut literal)?;
                    literal.push('{');
                    i += 2;
                    chunk = i;
                }
                b'{' => {
                    self.flush(chunk, i, &mut literal)?;
                    parts.push(FStringPart::Literal(std::mem::take(&mut literal)));
                    let (mut field, next) = self.field(i + 1, depth)?;
                    parts.append(&mut field);
                    i = next;
                    chunk = i;
                }
                b'}' if in_spec => {
                    self.flush(chunk, i, &mut literal)?;
                    parts.push(FStringPart::Literal(literal));
                    return Ok((merge(parts), i));
                }
                b'}' if b.get(i + 1) == Some(&b'}') => {
                    self.flush(chunk, i, &mut literal)?;
                    literal.push('}');
                    i += 2;
                    chunk = i;
                }
                b'}' => return Err(self.error("f-string: single '}' is not allowed", i, i + 1)),
                b'\\' if !self.raw => {
                    if self.text[i..].starts_with("\\N{") {
                        i = self.text[i..].find('}').map(|k| i + k + 1).unwrap_or(b.len());
                    } else if matches!(b.get(i + 1), Some(b'{' | b'}')) {
                        i += 1;
                    } else {
                        i += 1 + self.text[i + 1..].chars().next().map_or(0, char::len_utf8);
                    }
                }
                _ => i += self.text[i..].chars().next().map_or(1, char::len_utf8),
            }
        }
        if in_spec {
            return Err(self.error("f-string: expecting '}'", i, i));
        }
        self.flush(chunk, b.len(), &mut literal)?;
        parts.push(FStringPart::Literal(literal));
        Ok((merge(parts), i))
    }

    /// Finds where a field's expression ends: at `}`, `!`, `:` or a debug `=` outside brackets.
    fn expression_end(&self, mut i: usize) -> Result<usize, SyntaxError> {
        let b = self.text.as_bytes();
        let mut brackets: Vec<u8> = Vec::new();
        let mut quote: Option<(u8, bool)> = None;
        loop {
            let Some(&c) = b.get(i) else {
                return Err(self.error("f-string: expecting '}'", i, i));
            };
            if c == b'\\' {
                return Err(self.error("f-string expression part cannot include a backslash", i, i + 1));
            }
            if let Some((q, triple)) = quote {
                if c == q {
                    if !triple {
                        quote = None;
                    } else if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                        quote = None;
                        i += 2;
                    }
                }
                i += 1;
                continue;
            }
            let next = b.get(i + 1).copied();
            match c {
                b'\'' | b'"' => {
                    let triple = next == Some(c) && b.get(i + 2) == Some(&c);
                    quote = Some((c, triple));
                    i += if triple { 3 } else { 1 };
                    continue;
                }
                b'(' | b'[' | b'{' => {
                    if brackets.len() >= 200 {
                        return Err(self.error("f-string: too many nested parenthesis", i, i + 1));
                    }
                    brackets.push(c);
                }
                b')' | b']' | b'}' => match brackets.pop() {
                    None if c == b'}' => return Ok(i),
                    None => return Err(self.error(&format!("f-string: unmatched '{}'", c as char), i, i + 1)),
                    Some(open) => {
                        let expected = match open {
                            b'(' => b')',
                            b'[' => b']',
                            _ => b'}',
                        };
                        if expected != c {
                            let message = format!(
                                "f-string: closing parenthesis '{}' does not match opening parenthesis '{}'",
                                c as char, open as char
                            );
                            return Err(self.error(&message, i, i + 1));
                        }
                    }
                },
                b'#' => return Err(self.error("f-string expression part cannot include '#'", i, i + 1)),
                b'=' | b'!' | b'<' | b'>' if brackets.is_empty() && next == Some(b'=') => {
                    i += 2;
                    continue;
                }
                b'=' | b'!' | b':' if brackets.is_empty() => return Ok(i),
                _ => {}
            }
            i += self.text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }

    /// Parses one replacement field starting after its `{`; returns its parts (a debug literal
    /// and the value) and the position after its `}`.
    fn field(&mut self, start: usize, depth: usize) -> Result<(Vec<FStringPart>, usize), SyntaxError> {
        if depth >= MAX_FIELD_DEPTH {
            return Err(self.error("f-string: expressions nested too deeply", start, start));
        }
        let b = self.text.as_bytes();
        let end = self.expression_end(start)?;
        if self.text[start..end].trim().is_empty() {
            return Err(self.error("f-string: empty expression not allowed", start, end + 1));
        }
        let value = super::parse_expression_at(self.source, self.base + start, self.base + end).map_err(|mut e| {
            if !e.message.starts_with("f-string") {
                e.message = format!("f-string: {}", e.message);
            }
            e
        })?;
        let mut i = end;
        let mut parts = Vec::new();
        let mut debug = false;
        if b.get(i) == Some(&b'=') {
            i += 1;
            while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')) {
                i += 1;
            }
            parts.push(FStringPart::Literal(self.text[start..i].to_string()));
            debug = true;
        }
        let mut conversion = None;
        if b.get(i) == Some(&b'!') {
            match b.get(i + 1) {
                Some(&c @ (b's' | b'r' | b'a')) => conversion = Some(c as char),
                _ => {
                    return Err(self.error(
                        "f-string: invalid conversion character: expected 's', 'r', or 'a'",
                        i,
                        i + 2,
                    ));
                }
            }
            i += 2;
        }
        let mut format_spec = None;
        if b.get(i) == Some(&b':') {
            let (spec, close) = self.parts(i + 1, depth + 1, true)?;
            format_spec = Some(spec);
            i = close;
        }
        if b.get(i) != Some(&b'}') {
            return Err(self.error("f-string: expecting '}'", i, i));
        }
        if debug && conversion.is_none() && format_spec.is_none() {
            conversion = Some('r');
        }
        parts.push(FStringPart::Value { value: Box::new(value), conversion, format_spec });
        Ok((parts, i + 1))
    }
}
