//! The layout pass: turns logos tokens into the parser's token stream with NEWLINE, INDENT and
//! DEDENT, tracks brackets (implicit line joining) and reports CPython's tokenizer errors.

use logos::Logos;

use super::strings::count_lines;
use super::token::{LexError, Token};
use crate::ast::Span;
use crate::diagnostics::{SyntaxError, SyntaxErrorKind};

/// A token with its byte span in the whole source: `(start, token, end)`.
pub type Spanned = (usize, Token, usize);

/// What the token stream is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A module: logical lines and indentation matter.
    Module,
    /// A lone expression (`eval`, f-string fields): line breaks are ignored, as inside brackets.
    Expression,
}

/// The result of tokenizing: the tokens before the first error, and that error.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// The tokens, starting with `StartModule` or `StartExpr`.
    pub tokens: Vec<Spanned>,
    /// The first lexical error, if any; `tokens` stops where it was found.
    pub error: Option<SyntaxError>,
}

/// CPython's limit on nested brackets (`MAXLEVEL`).
pub const MAX_BRACKET_DEPTH: usize = 200;

/// CPython's tab size for the indentation comparison.
const TAB_SIZE: usize = 8;

/// One level of the indentation stack: the width with tabs to 8 and with tabs as 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Indent {
    col: usize,
    alt: usize,
}

/// Measures leading whitespace the way CPython's tokenizer does.
fn measure(ws: &str) -> Indent {
    let mut ind = Indent { col: 0, alt: 0 };
    for c in ws.chars() {
        match c {
            ' ' => {
                ind.col += 1;
                ind.alt += 1;
            }
            '\t' => {
                ind.col = (ind.col / TAB_SIZE + 1) * TAB_SIZE;
                ind.alt += 1;
            }
            '\x0C' => ind = Indent { col: 0, alt: 0 },
            _ => {}
        }
    }
    ind
}

/// The 1-based line of a byte offset.
fn line_of(source: &str, byte: usize) -> usize {
    1 + count_lines(&source[..floor_boundary(source, byte)])
}

/// The largest char boundary not after `byte`.
fn floor_boundary(source: &str, byte: usize) -> usize {
    let mut b = byte.min(source.len());
    while !source.is_char_boundary(b) {
        b -= 1;
    }
    b
}

/// The closing bracket for an opening one.
fn closer_of(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Words the error for text that no token matches.
fn invalid_text_error(source: &str, start: usize, end: usize) -> SyntaxError {
    let c = source[start..].chars().next().unwrap_or(' ');
    let span = Span::new(start, end.max(start + c.len_utf8()));
    let message = if c == '\0' {
        "source code cannot contain null bytes".to_string()
    } else if c.is_control() {
        format!("invalid non-printable character U+{:04X}", c as u32)
    } else if !c.is_ascii() {
        format!("invalid character '{c}' (U+{:04X})", c as u32)
    } else {
        "invalid syntax".to_string()
    };
    SyntaxError::new(message, span)
}

/// Tokenizes `source[range]` (spans stay relative to the whole `source`).
pub fn tokenize(source: &str, start: usize, end: usize, mode: Mode) -> Tokens {
    let mut layout = Layout {
        source,
        mode,
        out: Vec::new(),
        indents: vec![Indent { col: 0, alt: 0 }],
        brackets: Vec::new(),
        line_open: false,
    };
    let error = layout.run(start, end).err();
    Tokens { tokens: layout.out, error }
}

/// State of the layout pass.
struct Layout<'s> {
    source: &'s str,
    mode: Mode,
    out: Vec<Spanned>,
    indents: Vec<Indent>,
    brackets: Vec<(char, usize)>,
    line_open: bool,
}

impl Layout<'_> {
    fn run(&mut self, start: usize, end: usize) -> Result<(), SyntaxError> {
        let text = &self.source[start..end];
        let first = match self.mode {
            Mode::Module => Token::StartModule,
            Mode::Expression => Token::StartExpr,
        };
        self.out.push((start, first, start));
        // The first line's indentation is whatever precedes its first token.
        let lead = text.len() - text.trim_start_matches([' ', '\t', '\x0C']).len();
        let mut pending_indent = Some((measure(&text[..lead]), start, start + lead));
        let lexer = Token::lexer(text).spanned();
        for (result, range) in lexer {
            let (s, e) = (range.start + start, range.end + start);
            let token = match result {
                Ok(t) => t,
                Err(LexError { message, span }) => {
                    if message.is_empty() {
                        return Err(invalid_text_error(self.source, s, e));
                    }
                    let (a, b) = span.map(|(a, b)| (a + start, b + start)).unwrap_or((s, e));
                    return Err(SyntaxError::new(message, Span::new(a, b.min(end))));
                }
            };
            match token {
                Token::LineBreak => {
                    if self.mode == Mode::Expression || !self.brackets.is_empty() {
                        continue;
                    }
                    let slice = &self.source[s..e];
                    let ws = slice.trim_start_matches(['\r', '\n']);
                    let nl_end = e - ws.len();
                    if self.line_open {
                        self.out.push((s, Token::Newline, nl_end));
                        self.line_open = false;
                    }
                    pending_indent = Some((measure(ws), nl_end, e));
                }
                Token::Backslash => {
                    let message = if self.source[e..end].trim_start_matches([' ', '\t']).is_empty() {
                        "unexpected EOF while parsing"
                    } else {
                        "unexpected character after line continuation character"
                    };
                    return Err(SyntaxError::new(message, Span::new(s, e)));
                }
                token => {
                    if let Some((ind, ws_start, ws_end)) = pending_indent.take() {
                        if self.mode == Mode::Module && self.brackets.is_empty() {
                            self.indentation(ind, ws_start, ws_end)?;
                        }
                    }
                    self.bracket(&token, s, e)?;
                    self.out.push((s, token, e));
                    self.line_open = true;
                }
            }
        }
        let tail = self.source[start..end].trim_end_matches(['\r', '\n']);
        if self.mode == Mode::Module && tail.ends_with('\\') && tail.len() < end - start {
            return Err(SyntaxError::new("unexpected EOF while parsing", Span::new(end, end)));
        }
        if let Some(&(open, at)) = self.brackets.last() {
            return Err(SyntaxError::new(format!("'{open}' was never closed"), Span::new(at, at + 1)));
        }
        if self.mode == Mode::Module {
            if self.line_open {
                self.out.push((end, Token::Newline, end));
            }
            for _ in 1..self.indents.len() {
                self.out.push((end, Token::Dedent, end));
            }
        }
        Ok(())
    }

    /// Compares a new logical line's indentation with the stack, emitting INDENT or DEDENTs.
    fn indentation(&mut self, ind: Indent, ws_start: usize, ws_end: usize) -> Result<(), SyntaxError> {
        let span = Span::new(ws_start, ws_end);
        let tab_error = || {
            SyntaxError::new("inconsistent use of tabs and spaces in indentation", span).with_kind(SyntaxErrorKind::Tab)
        };
        let top = *self.indents.last().unwrap_or(&Indent { col: 0, alt: 0 });
        if ind.col == top.col {
            if ind.alt != top.alt {
                return Err(tab_error());
            }
        } else if ind.col > top.col {
            if ind.alt <= top.alt {
                return Err(tab_error());
            }
            self.indents.push(ind);
            self.out.push((ws_start, Token::Indent, ws_end));
        } else {
            while self.indents.len() > 1 && self.indents.last().is_some_and(|t| ind.col < t.col) {
                self.indents.pop();
                self.out.push((ws_end, Token::Dedent, ws_end));
            }
            let top = *self.indents.last().unwrap_or(&Indent { col: 0, alt: 0 });
            if ind.col != top.col {
                return Err(SyntaxError::new("unindent does not match any outer indentation level", span)
                    .with_kind(SyntaxErrorKind::Indentation));
            }
            if ind.alt != top.alt {
                return Err(tab_error());
            }
        }
        Ok(())
    }

    /// Tracks bracket nesting and reports unbalanced or too deeply nested brackets.
    fn bracket(&mut self, token: &Token, s: usize, e: usize) -> Result<(), SyntaxError> {
        let open = match token {
            Token::LParen => Some('('),
            Token::LBracket => Some('['),
            Token::LBrace => Some('{'),
            _ => None,
        };
        if let Some(open) = open {
            if self.brackets.len() >= MAX_BRACKET_DEPTH {
                return Err(SyntaxError::new("too many nested parentheses", Span::new(s, e)));
            }
            self.brackets.push((open, s));
            return Ok(());
        }
        let close = match token {
            Token::RParen => ')',
            Token::RBracket => ']',
            Token::RBrace => '}',
            _ => return Ok(()),
        };
        match self.brackets.pop() {
            None => Err(SyntaxError::new(format!("unmatched '{close}'"), Span::new(s, e))),
            Some((open, at)) if closer_of(open) != close => {
                let open_line = line_of(self.source, at);
                let message = if open_line != line_of(self.source, s) {
                    format!(
                        "closing parenthesis '{close}' does not match opening parenthesis '{open}' on line {open_line}"
                    )
                } else {
                    format!("closing parenthesis '{close}' does not match opening parenthesis '{open}'")
                };
                let mut err = SyntaxError::new(message, Span::new(s, e));
                err.related = Some((Span::new(at, at + 1), format!("'{open}' opened here")));
                Err(err)
            }
            Some(_) => Ok(()),
        }
    }
}
