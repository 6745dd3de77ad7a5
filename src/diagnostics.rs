//! Compile-time diagnostics: syntax errors found by the lexer, parser or compiler,
//! and their rendering with ariadne.

use ariadne::{CharSet, Color, Config, IndexType, Label, Report, ReportKind, Source};

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
    /// `RecursionError` (not a `SyntaxError`): the program nests too deeply to compile.
    Recursion,
}

impl SyntaxErrorKind {
    /// The Python class name, e.g. `"IndentationError"`.
    pub fn class_name(self) -> &'static str {
        match self {
            SyntaxErrorKind::Syntax => "SyntaxError",
            SyntaxErrorKind::Indentation => "IndentationError",
            SyntaxErrorKind::Tab => "TabError",
            SyntaxErrorKind::Recursion => "RecursionError",
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

/// The 1-based line and 1-based column (in characters) of a byte offset in `source`.
/// Offsets past the end give the position just after the last character.
pub fn line_col(source: &str, byte: usize) -> (usize, usize) {
    let byte = floor_char_boundary(source, byte);
    let before = &source[..byte];
    let bytes = before.as_bytes();
    let mut line = 1;
    let mut line_start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
            line_start = i + 1;
        }
    }
    (line, before[line_start..].chars().count() + 1)
}

/// The largest char boundary of `source` not after `byte` (clamped to its length).
fn floor_char_boundary(source: &str, byte: usize) -> usize {
    let mut b = byte.min(source.len());
    while !source.is_char_boundary(b) {
        b -= 1;
    }
    b
}

/// The smallest char boundary of `source` not before `byte` (clamped to its length).
fn ceil_char_boundary(source: &str, byte: usize) -> usize {
    let mut b = byte.min(source.len());
    while !source.is_char_boundary(b) {
        b += 1;
    }
    b
}

/// Clamps a span to `source` and to char boundaries; an empty span inside a line is widened
/// to the character it points at, so ariadne draws a caret.
fn clamp(source: &str, span: Span) -> std::ops::Range<usize> {
    let start = floor_char_boundary(source, span.start as usize);
    let mut end = ceil_char_boundary(source, (span.end as usize).max(start));
    if end == start {
        if let Some(c) = source[start..].chars().next() {
            if c != '\n' && c != '\r' {
                end = start + c.len_utf8();
            }
        }
    }
    start..end
}

/// Renders a syntax error as an ariadne report: a `SyntaxError: message` header, the
/// location, the labelled span (and related span) and the hint as a help line. With
/// `color == false` the output is plain ASCII, stable enough for golden files.
pub fn render(err: &SyntaxError, filename: &str, source: &str, color: bool) -> String {
    if err.kind == SyntaxErrorKind::Recursion {
        // As CPython: a bare `RecursionError: ...` line, no source excerpt (the span is
        // typically the whole pathological expression).
        return format!("{}: {}\n", err.kind.class_name(), err.message);
    }
    let config = Config::default().with_index_type(IndexType::Byte).with_color(color).with_char_set(if color {
        CharSet::Unicode
    } else {
        CharSet::Ascii
    });
    let span = clamp(source, err.span);
    let name = filename.to_string();
    let mut report = Report::build(ReportKind::Custom(err.kind.class_name(), Color::Red), (name.clone(), span.clone()))
        .with_config(config)
        .with_message(&err.message)
        .with_label(Label::new((name.clone(), span)).with_message(&err.message).with_color(Color::Red));
    if let Some((related, label)) = &err.related {
        let related = clamp(source, *related);
        report = report.with_label(Label::new((name.clone(), related)).with_message(label).with_color(Color::Blue));
    }
    if let Some(hint) = &err.hint {
        report = report.with_help(hint);
    }
    let mut out = Vec::new();
    if report.finish().write((name, Source::from(source)), &mut out).is_err() {
        let (line, col) = line_col(source, err.span.start as usize);
        return format!("{}: {}\n  --> {filename}:{line}:{col}\n", err.kind.class_name(), err.message);
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    // ariadne colours a custom report kind even when colour is off; strip it.
    if color {
        text
    } else {
        strip_ansi(&text)
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
