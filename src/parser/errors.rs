//! Turns lalrpop's errors into CPython-worded [`SyntaxError`]s: "expected ':'", "unexpected
//! indent", "expected an indented block after 'if' statement on line 3", and so on. Terminal
//! names never reach the user except as friendly words in a hint.

use lalrpop_util::ParseError;

use crate::ast::Span;
use crate::diagnostics::{line_col, SyntaxError, SyntaxErrorKind};
use crate::lexer::{Spanned, Token};

/// The longest `expected` list that is still worth showing as a hint.
const MAX_HINT_ITEMS: usize = 6;

/// True for errors that typically follow from an earlier one (stray INDENT/DEDENT after a
/// recovered statement), so `parse_module_all` does not repeat them.
pub fn is_cascade(err: &ParseError<usize, Token, SyntaxError>) -> bool {
    matches!(err, ParseError::UnrecognizedToken { token: (_, Token::Indent | Token::Dedent, _), .. })
}

/// Converts one lalrpop error.
pub fn convert(err: ParseError<usize, Token, SyntaxError>, tokens: &[Spanned], source: &str) -> SyntaxError {
    match err {
        ParseError::User { error } => error,
        ParseError::InvalidToken { location } => SyntaxError::new("invalid syntax", Span::new(location, location)),
        ParseError::ExtraToken { token: (l, _, r) } => SyntaxError::new("invalid syntax", Span::new(l, r)),
        ParseError::UnrecognizedEof { location, expected } => {
            unexpected(tokens, source, tokens.len(), (location, location), None, &expected)
        }
        ParseError::UnrecognizedToken { token: (l, tok, r), expected } => {
            let index = tokens.iter().rposition(|t| t.0 == l && t.2 == r && t.1 == tok).unwrap_or(tokens.len());
            unexpected(tokens, source, index, (l, r), Some(&tok), &expected)
        }
    }
}

/// Does the terminal list contain this terminal (as lalrpop names it)?
fn has(expected: &[String], name: &str) -> bool {
    expected.iter().any(|e| e.trim_matches('"') == name)
}

/// Words an unexpected token (or end of input) at `tokens[index]`.
fn unexpected(
    tokens: &[Spanned],
    source: &str,
    index: usize,
    (l, r): (usize, usize),
    tok: Option<&Token>,
    expected: &[String],
) -> SyntaxError {
    let span = Span::new(l, r);
    let prev = index.checked_sub(1).and_then(|i| tokens.get(i)).map(|t| &t.1);
    if let Some((at, first)) = line_start_token(tokens, index) {
        let header_colon = tok == Some(&Token::Colon) && tokens.get(index + 1).is_some_and(|t| t.1 == Token::Newline);
        if first.1 == Token::Name("match".to_string()) && (at + 1 == index || header_colon) {
            let message = "'match' statements are not supported by aio";
            return SyntaxError::new(message, Span::new(first.0, first.2));
        }
    }
    if tok == Some(&Token::Indent) {
        return SyntaxError::new("unexpected indent", span).with_kind(SyntaxErrorKind::Indentation);
    }
    if has(expected, "INDENT") {
        let message = match block_header(tokens, source, index) {
            Some((what, line)) => format!("expected an indented block after {what} on line {line}"),
            None => "expected an indented block".to_string(),
        };
        return SyntaxError::new(message, span).with_kind(SyntaxErrorKind::Indentation);
    }
    if has(expected, ":") && matches!(tok, Some(Token::Newline) | None) {
        return SyntaxError::new("expected ':'", Span::new(l, l));
    }
    if has(expected, "except") && has(expected, "finally") && !has(expected, "else") {
        return SyntaxError::new("expected 'except' or 'finally' block", span);
    }
    if tok == Some(&Token::Colon) && prev == Some(&Token::Star) && index >= 2 && tokens[index - 2].1 == Token::Except {
        return SyntaxError::new("expected one or more exception types", span);
    }
    if has(expected, "else") && !has(expected, "elif") && !has(expected, "pass") && !has(expected, ":") {
        return SyntaxError::new("expected 'else' after 'if' expression", span);
    }
    if let (Some(tok), Some(prev)) = (tok, prev) {
        if has(expected, ",") && ends_atom(prev) && starts_atom(tok) && inside_brackets(tokens, index) {
            let start = tokens[index - 1].0;
            return SyntaxError::new("invalid syntax. Perhaps you forgot a comma?", Span::new(start, r));
        }
        if let (Token::Name(p), Token::Str(_) | Token::Name(_) | Token::Int(_)) = (prev, tok) {
            if (p == "print" || p == "exec") && index >= 2 && is_line_start(&tokens[index - 2].1) {
                let message = format!("Missing parentheses in call to '{p}'. Did you mean {p}(...)?");
                return SyntaxError::new(message, Span::new(tokens[index - 1].0, r));
            }
        }
    }
    let mut err = SyntaxError::new("invalid syntax", span);
    let words = friendly(expected);
    if !words.is_empty() && words.len() <= MAX_HINT_ITEMS {
        err = err.with_hint(format!("expected {}", words.join(", or ")));
    }
    err
}

/// The first token of the logical line containing `tokens[index]`.
fn line_start_token(tokens: &[Spanned], index: usize) -> Option<(usize, &Spanned)> {
    let mut start = index.min(tokens.len());
    while start > 0 && !is_line_start(&tokens[start - 1].1) {
        start -= 1;
    }
    tokens.get(start).filter(|_| start < index).map(|t| (start, t))
}

/// True for tokens after which a new logical line starts.
fn is_line_start(t: &Token) -> bool {
    matches!(t, Token::Newline | Token::Indent | Token::Dedent | Token::StartModule)
}

/// True if the token can end an operand.
fn ends_atom(t: &Token) -> bool {
    matches!(
        t,
        Token::Name(_)
            | Token::Int(_)
            | Token::Float(_)
            | Token::Imaginary(_)
            | Token::Str(_)
            | Token::RParen
            | Token::RBracket
            | Token::RBrace
            | Token::None
            | Token::True
            | Token::False
            | Token::Ellipsis
    )
}

/// True if the token can start an operand.
fn starts_atom(t: &Token) -> bool {
    matches!(
        t,
        Token::Name(_)
            | Token::Int(_)
            | Token::Float(_)
            | Token::Imaginary(_)
            | Token::Str(_)
            | Token::LParen
            | Token::LBracket
            | Token::LBrace
            | Token::None
            | Token::True
            | Token::False
            | Token::Ellipsis
    )
}

/// True if `tokens[index]` is inside brackets.
fn inside_brackets(tokens: &[Spanned], index: usize) -> bool {
    let mut depth = 0i64;
    for t in &tokens[..index.min(tokens.len())] {
        match t.1 {
            Token::LParen | Token::LBracket | Token::LBrace | Token::WithLParen => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace | Token::WithRParen => depth -= 1,
            Token::StartExpr => depth += 1,
            _ => {}
        }
    }
    depth > 0
}

/// Finds the compound statement whose block is missing: `("'if' statement", line)`.
fn block_header(tokens: &[Spanned], source: &str, index: usize) -> Option<(String, usize)> {
    // tokens[index - 1] is the NEWLINE that ended the header line; find that line's start.
    let end = index.checked_sub(1)?;
    let mut start = end;
    while start > 0 && !is_line_start(&tokens[start - 1].1) {
        start -= 1;
    }
    let first = tokens.get(start)?;
    let next = tokens.get(start + 1).map(|t| &t.1);
    let what = match (&first.1, next) {
        (Token::Def, _) | (Token::Async, Some(Token::Def)) => "function definition".to_string(),
        (Token::Class, _) => "class definition".to_string(),
        (Token::Except, Some(Token::Star)) => "'except*' statement".to_string(),
        (Token::Async, Some(Token::For)) => "'for' statement".to_string(),
        (Token::Async, Some(Token::With)) => "'with' statement".to_string(),
        (t, _) => {
            let word = match t {
                Token::If => "if",
                Token::Elif => "elif",
                Token::Else => "else",
                Token::While => "while",
                Token::For => "for",
                Token::With => "with",
                Token::Try => "try",
                Token::Except => "except",
                Token::Finally => "finally",
                _ => return None,
            };
            format!("'{word}' statement")
        }
    };
    let line = line_col(source, first.0).0;
    Some((what, line))
}

/// Turns lalrpop terminal names into words for a hint.
fn friendly(expected: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in expected {
        let word = match e.as_str() {
            "NEWLINE" => "end of line".to_string(),
            "INDENT" => "an indented block".to_string(),
            "DEDENT" => "end of the block".to_string(),
            "Name" => "a name".to_string(),
            "Int" | "Float" | "Imaginary" => "a number".to_string(),
            "String" => "a string".to_string(),
            "START_MODULE" | "START_EXPR" | "WITH_LPAREN" | "WITH_RPAREN" => continue,
            other => format!("'{}'", other.trim_matches('"')),
        };
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}
