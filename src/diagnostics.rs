//! Compile-time diagnostics: syntax errors found by the lexer, parser or compiler,
//! and their rendering with ariadne.

use crate::ast::Span;

/// Which Python exception class a compile-time error reports as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// `SyntaxError`.
    Syntax,
    /// `IndentationError` (a subclass of `SyntaxError`).
    Indentation,
    /// `TabError` (a subclass of `IndentationError`).
    Tab,
}

impl SyntaxErrorKind {
    /// The Python class name, e.g. `"IndentationError"`.
    pub fn class_name(self) -> &'static str {
        match self {
            SyntaxErrorKind::Syntax => "SyntaxError",
            SyntaxErrorKind::Indentation => "IndentationError",
            SyntaxErrorKind::Tab => "TabError",
        }
    }
}

/// A syntax error with the span it points at.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// The exception class it reports as.
    pub kind: SyntaxErrorKind,
    /// The message, worded as CPython words it where CPython has one (`expected ':'`).
    pub message: String,
    /// Where the error is.
    pub span: Span,
    /// A secondary span with its own label, e.g. the opening bracket of `'(' was never closed`.
    pub related: Option<(Span, String)>,
    /// An optional plain-language hint shown under the report.
    pub hint: Option<String>,
}

impl SyntaxError {
    /// A `SyntaxError` with a message and a span.
    pub fn new(message: impl Into<String>, span: Span) -> SyntaxError {
        SyntaxError { kind: SyntaxErrorKind::Syntax, message: message.into(), span, related: None, hint: None }
    }
    /// The same error reported as another class.
    pub fn with_kind(mut self, kind: SyntaxErrorKind) -> SyntaxError {
        self.kind = kind;
        self
    }
    /// The same error with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> SyntaxError {
        self.hint = Some(hint.into());
        self
    }
}
