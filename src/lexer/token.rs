//! The raw tokens, derived with logos, and the callbacks that lex numbers and strings.
//!
//! The layout pass ([`super::layout`]) turns `LineBreak` into NEWLINE / INDENT / DEDENT; the
//! variants without a logos attribute are only ever produced by that pass.

use logos::{Lexer, Logos};

use super::numbers;
use super::strings::{self, StrValue};

/// An error found while lexing one token; the layout pass turns it into a `SyntaxError`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LexError {
    /// The message; empty means "no token matched here" (the layout pass words it).
    pub message: String,
    /// Byte range relative to the lexed text; `None` means the span of the failed token.
    pub span: Option<(usize, usize)>,
}

impl LexError {
    /// An error with a message and an explicit span.
    pub fn at(message: impl Into<String>, start: usize, end: usize) -> LexError {
        LexError { message: message.into(), span: Some((start, end)) }
    }
}

/// A token of the language. Literals carry their decoded values.
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\x0C]+")]
#[logos(skip r"\\(\r\n|\r|\n)")]
#[logos(skip(r"#[^\r\n]*", allow_greedy = true))]
pub enum Token {
    /// A physical line break followed by the next line's leading whitespace (layout input only).
    #[regex(r"(\r\n|\r|\n)[ \t\x0C]*")]
    LineBreak,
    /// A backslash not followed by a line break (always an error).
    #[token("\\")]
    Backslash,

    /// An identifier.
    #[regex(r"[\p{XID_Start}_]\p{XID_Continue}*", |lex| lex.slice().to_string())]
    Name(String),
    /// An integer literal: `Ok(i64)` when it fits, else its decimal digits.
    #[regex(r"[0-9](_?[0-9])*", numbers::decimal)]
    #[regex(r"0[xX](_?[0-9a-fA-F])+", |lex| numbers::radix(lex, 16))]
    #[regex(r"0[oO](_?[0-7])+", |lex| numbers::radix(lex, 8))]
    #[regex(r"0[bB](_?[01])+", |lex| numbers::radix(lex, 2))]
    Int(numbers::IntValue),
    /// A float literal.
    #[regex(r"[0-9](_?[0-9])*\.([0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?", numbers::float)]
    #[regex(r"\.[0-9](_?[0-9])*([eE][+-]?[0-9](_?[0-9])*)?", numbers::float)]
    #[regex(r"[0-9](_?[0-9])*[eE][+-]?[0-9](_?[0-9])*", numbers::float)]
    Float(f64),
    /// An imaginary literal such as `2j`.
    #[regex(r"[0-9](_?[0-9])*[jJ]", numbers::imaginary)]
    #[regex(r"[0-9](_?[0-9])*\.([0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?[jJ]", numbers::imaginary)]
    #[regex(r"\.[0-9](_?[0-9])*([eE][+-]?[0-9](_?[0-9])*)?[jJ]", numbers::imaginary)]
    #[regex(r"[0-9](_?[0-9])*[eE][+-]?[0-9](_?[0-9])*[jJ]", numbers::imaginary)]
    Imaginary(f64),
    /// A string, bytes or f-string literal (one piece of a possible concatenation).
    #[regex(r#"([rRuUbBfF]|[bB][rR]|[rR][bB]|[fF][rR]|[rR][fF])?['"]"#, string)]
    Str(StrValue),

    /// Synthetic: end of a logical line.
    Newline,
    /// Synthetic: the indentation grew.
    Indent,
    /// Synthetic: the indentation shrank by one level.
    Dedent,
    /// Synthetic: first token when parsing a module.
    StartModule,
    /// Synthetic: first token when parsing a lone expression.
    StartExpr,
    /// Synthetic: the `(` of a parenthesised `with (a as b, ...)` item list.
    WithLParen,
    /// Synthetic: the `)` of a parenthesised `with` item list.
    WithRParen,

    /// `False`
    #[token("False")]
    False,
    /// `None`
    #[token("None")]
    None,
    /// `True`
    #[token("True")]
    True,
    /// `and`
    #[token("and")]
    And,
    /// `as`
    #[token("as")]
    As,
    /// `assert`
    #[token("assert")]
    Assert,
    /// `async`
    #[token("async")]
    Async,
    /// `await`
    #[token("await")]
    Await,
    /// `break`
    #[token("break")]
    Break,
    /// `class`
    #[token("class")]
    Class,
    /// `continue`
    #[token("continue")]
    Continue,
    /// `def`
    #[token("def")]
    Def,
    /// `del`
    #[token("del")]
    Del,
    /// `elif`
    #[token("elif")]
    Elif,
    /// `else`
    #[token("else")]
    Else,
    /// `except`
    #[token("except")]
    Except,
    /// `finally`
    #[token("finally")]
    Finally,
    /// `for`
    #[token("for")]
    For,
    /// `from`
    #[token("from")]
    From,
    /// `global`
    #[token("global")]
    Global,
    /// `if`
    #[token("if")]
    If,
    /// `import`
    #[token("import")]
    Import,
    /// `in`
    #[token("in")]
    In,
    /// `is`
    #[token("is")]
    Is,
    /// `lambda`
    #[token("lambda")]
    Lambda,
    /// `nonlocal`
    #[token("nonlocal")]
    Nonlocal,
    /// `not`
    #[token("not")]
    Not,
    /// `or`
    #[token("or")]
    Or,
    /// `pass`
    #[token("pass")]
    Pass,
    /// `raise`
    #[token("raise")]
    Raise,
    /// `return`
    #[token("return")]
    Return,
    /// `try`
    #[token("try")]
    Try,
    /// `while`
    #[token("while")]
    While,
    /// `with`
    #[token("with")]
    With,
    /// `yield`
    #[token("yield")]
    Yield,

    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `[`
    #[token("[")]
    LBracket,
    /// `]`
    #[token("]")]
    RBracket,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// `,`
    #[token(",")]
    Comma,
    /// `:`
    #[token(":")]
    Colon,
    /// `;`
    #[token(";")]
    Semi,
    /// `.`
    #[token(".")]
    Dot,
    /// `...`
    #[token("...")]
    Ellipsis,
    /// `->`
    #[token("->")]
    Arrow,
    /// `@`
    #[token("@")]
    At,
    /// `=`
    #[token("=")]
    Assign,
    /// `:=`
    #[token(":=")]
    Walrus,
    /// `+`
    #[token("+")]
    Plus,
    /// `-`
    #[token("-")]
    Minus,
    /// `*`
    #[token("*")]
    Star,
    /// `**`
    #[token("**")]
    DoubleStar,
    /// `/`
    #[token("/")]
    Slash,
    /// `//`
    #[token("//")]
    DoubleSlash,
    /// `%`
    #[token("%")]
    Percent,
    /// `<<`
    #[token("<<")]
    LShift,
    /// `>>`
    #[token(">>")]
    RShift,
    /// `&`
    #[token("&")]
    Amper,
    /// `|`
    #[token("|")]
    Pipe,
    /// `^`
    #[token("^")]
    Caret,
    /// `~`
    #[token("~")]
    Tilde,
    /// `<`
    #[token("<")]
    Less,
    /// `>`
    #[token(">")]
    Greater,
    /// `<=`
    #[token("<=")]
    LessEqual,
    /// `>=`
    #[token(">=")]
    GreaterEqual,
    /// `==`
    #[token("==")]
    EqEqual,
    /// `!=`
    #[token("!=")]
    NotEqual,
    /// `+=`
    #[token("+=")]
    PlusEqual,
    /// `-=`
    #[token("-=")]
    MinusEqual,
    /// `*=`
    #[token("*=")]
    StarEqual,
    /// `@=`
    #[token("@=")]
    AtEqual,
    /// `/=`
    #[token("/=")]
    SlashEqual,
    /// `//=`
    #[token("//=")]
    DoubleSlashEqual,
    /// `%=`
    #[token("%=")]
    PercentEqual,
    /// `**=`
    #[token("**=")]
    DoubleStarEqual,
    /// `<<=`
    #[token("<<=")]
    LShiftEqual,
    /// `>>=`
    #[token(">>=")]
    RShiftEqual,
    /// `&=`
    #[token("&=")]
    AmperEqual,
    /// `|=`
    #[token("|=")]
    PipeEqual,
    /// `^=`
    #[token("^=")]
    CaretEqual,
}

/// Callback for a string opener: scans the body in `lex.remainder()` and decodes it.
fn string(lex: &mut Lexer<Token>) -> Result<StrValue, LexError> {
    let start = lex.span().start;
    let opener = lex.slice();
    let (prefix, quote) = opener.split_at(opener.len() - 1);
    let quote = quote.as_bytes()[0];
    let rest = lex.remainder();
    let triple = rest.as_bytes().starts_with(&[quote, quote]);
    let quote_len = if triple { 3 } else { 1 };
    let body_start = opener.len() - 1 + quote_len; // offset of the body within the token
    let body = &lex.source()[start + body_start..];
    match strings::scan_body(body, quote, triple) {
        Ok(len) => {
            lex.bump(body_start - opener.len() + len + quote_len);
            let end = start + body_start + len + quote_len;
            strings::decode_literal(prefix, &body[..len], body_start, start, end)
        }
        Err(stop) => {
            let source = lex.source();
            let line = 1 + strings::count_lines(&source[..start + body_start + stop]);
            let what = if triple { "unterminated triple-quoted string literal" } else { "unterminated string literal" };
            Err(LexError::at(format!("{what} (detected at line {line})"), start, start + opener.len()))
        }
    }
}
