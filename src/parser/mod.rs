//! The parser: runs the layout lexer and the lalrpop grammar, and turns every failure into a
//! [`SyntaxError`] worded as CPython words it. Nothing outside this module sees lalrpop's types.

mod calls;
mod errors;
mod fstrings;
mod nodes;
mod params;
mod targets;

#[cfg(test)]
mod tests;

use lalrpop_util::ParseError;

use crate::ast::{Expr, Module};
use crate::diagnostics::SyntaxError;
use crate::lexer::{tokenize, Mode, Spanned, Token};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens, unused_imports, dead_code, missing_docs)]
    grammar,
    "/aio.rs"
);

/// At most this many recovered errors are reported (wording each one scans the tokens).
const MAX_REPORTED_ERRORS: usize = 50;

/// Parses a module, returning the first syntax error.
pub fn parse_module(source: &str) -> Result<Module, SyntaxError> {
    match run(source, 0, source.len(), Mode::Module) {
        Ok(nodes::Top::Module(body)) => Ok(Module { body }),
        Ok(nodes::Top::Expr(e)) => Err(SyntaxError::new("invalid syntax", e.span)),
        Err((mut errors, primary)) => Err(errors.swap_remove(primary)),
    }
}

/// Parses a module, returning every syntax error found (in source order, never empty on `Err`).
/// The parser recovers at statement level, so later errors may be consequences of earlier ones.
pub fn parse_module_all(source: &str) -> Result<Module, Vec<SyntaxError>> {
    match run(source, 0, source.len(), Mode::Module) {
        Ok(nodes::Top::Module(body)) => Ok(Module { body }),
        Ok(nodes::Top::Expr(e)) => Err(vec![SyntaxError::new("invalid syntax", e.span)]),
        Err((errors, _)) => Err(errors),
    }
}

/// Whether a failed parse ran out of input, so that more lines could complete it (for a REPL
/// deciding between a `... ` prompt and an error report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfinished {
    /// The error is not about the end of the input.
    No,
    /// A bracket, a triple-quoted string or a backslash continuation is still open at the end:
    /// any further line, even a blank one, belongs to the same input.
    Open,
    /// The grammar wanted more at the end: an indented block, an `except`, a decorated `def`.
    Statement,
}

/// Parses interactive input like [`parse_module`]; on failure also says whether the error is
/// only that the input stopped early ([`Unfinished`]).
pub fn parse_input(source: &str) -> Result<Module, (SyntaxError, Unfinished)> {
    let lexed = tokenize(source, 0, source.len(), Mode::Module);
    if let Some(e) = &lexed.error {
        let open = e.message.ends_with("was never closed")
            || e.message == "unexpected EOF while parsing"
            || e.message.starts_with("unterminated triple-quoted string literal");
        if open {
            return Err((e.clone(), Unfinished::Open));
        }
    }
    let (result, at_eof) = run_reporting_eof(source, 0, source.len(), Mode::Module);
    match result {
        Ok(nodes::Top::Module(body)) => Ok(Module { body }),
        Ok(nodes::Top::Expr(e)) => Err((SyntaxError::new("invalid syntax", e.span), Unfinished::No)),
        Err((mut errors, primary)) => {
            let unfinished = if at_eof && errors.len() == 1 && lexed.error.is_none() {
                Unfinished::Statement
            } else {
                Unfinished::No
            };
            Err((errors.swap_remove(primary), unfinished))
        }
    }
}

/// Parses a lone expression (as `eval` does); line breaks inside are ignored.
pub fn parse_expression(source: &str) -> Result<Expr, SyntaxError> {
    parse_expression_at(source, 0, source.len())
}

/// Parses `source[start..end]` as an expression, keeping spans relative to all of `source`.
pub(crate) fn parse_expression_at(source: &str, start: usize, end: usize) -> Result<Expr, SyntaxError> {
    match run(source, start, end, Mode::Expression) {
        Ok(nodes::Top::Expr(e)) => Ok(e),
        Ok(nodes::Top::Module(_)) => Err(SyntaxError::new("invalid syntax", crate::ast::Span::new(start, end))),
        Err((mut errors, primary)) => Err(errors.swap_remove(primary)),
    }
}

/// Lexes and parses `source[start..end]`; on failure returns at least one error, in source
/// order, with the index of the one CPython would report.
fn run(source: &str, start: usize, end: usize, mode: Mode) -> Result<nodes::Top, (Vec<SyntaxError>, usize)> {
    run_reporting_eof(source, start, end, mode).0
}

/// [`run`], also saying whether the parser's final error was an unexpected end of input with
/// no error recovered before it.
fn run_reporting_eof(
    source: &str,
    mut start: usize,
    end: usize,
    mode: Mode,
) -> (Result<nodes::Top, (Vec<SyntaxError>, usize)>, bool) {
    if mode == Mode::Module && source[start..end].starts_with('\u{feff}') {
        start += '\u{feff}'.len_utf8(); // a UTF-8 byte order mark, which CPython skips
    }
    let lexed = tokenize(source, start, end, mode);
    let mut tokens = lexed.tokens;
    mark_parenthesized_with_items(&mut tokens);
    let mut recovered = Vec::new();
    let result =
        grammar::TopParser::new().parse(source, &mut recovered, tokens.iter().cloned().map(Ok::<Spanned, SyntaxError>));
    let mut errors: Vec<SyntaxError> = Vec::new();
    for r in recovered.into_iter().take(MAX_REPORTED_ERRORS) {
        let cascade = errors::is_cascade(&r.error);
        if errors.is_empty() || !cascade {
            errors.push(errors::convert(r.error, &tokens, source));
        }
    }
    let mut at_eof = false;
    let top = match result {
        Ok(top) => Some(top),
        Err(e) => {
            at_eof = matches!(e, ParseError::UnrecognizedEof { .. }) && errors.is_empty();
            errors.push(errors::convert(e, &tokens, source));
            None
        }
    };
    let mut primary = 0;
    if let Some(lex_error) = lexed.error {
        // Like CPython, a tokenizer error wins over a generic parser error, and over any error
        // the parser could only find after the tokenizer failed (e.g. inside a bracket that is
        // never closed). Parser errors at or after the tokenizer error are its consequences
        // (the token stream stops there); earlier ones stay, for `aio check`.
        let wins = match errors.first() {
            None => true,
            Some(first) => {
                (at_eof && errors.len() == 1)
                    || first.message == "invalid syntax"
                    || first.span.start >= lex_error.span.start
            }
        };
        let lex_at = (lex_error.span.start as usize).min(source.len());
        let line_start = source.get(..lex_at).and_then(|b| b.rfind('\n')).map_or(0, |i| i + 1);
        errors.retain(|e| (e.span.start as usize) < line_start);
        errors.push(lex_error);
        if wins {
            primary = errors.len() - 1;
        }
    }
    let result = match top {
        Some(top) if errors.is_empty() => Ok(top),
        _ => Err((errors, primary)),
    };
    (result, at_eof)
}

/// Marks `with (a as b, c):` brackets so the grammar can tell them from a parenthesised
/// expression: a `(` right after `with` whose matching `)` is followed by `:`.
fn mark_parenthesized_with_items(tokens: &mut [Spanned]) {
    let mut i = 0;
    while i + 1 < tokens.len() {
        if tokens[i].1 == Token::With && tokens[i + 1].1 == Token::LParen {
            let mut depth = 0usize;
            let mut j = i + 1;
            while j < tokens.len() {
                match tokens[j].1 {
                    Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
                    Token::RParen | Token::RBracket | Token::RBrace => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if tokens.get(j + 1).is_some_and(|t| t.1 == Token::Colon) {
                tokens[i + 1].1 = Token::WithLParen;
                tokens[j].1 = Token::WithRParen;
            }
            i = j;
        }
        i += 1;
    }
}
