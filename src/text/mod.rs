//! Text and number support routines with CPython-compatible semantics.
//!
//! These modules are independent of the interpreter's value type: they work
//! on plain Rust types (`f64`, `i64`, `BigInt`, `&str`, `char`). Errors that
//! CPython reports as exceptions are returned as [`TextError`] values that
//! carry the exception class and CPython's exact message.

pub mod float_repr;
pub mod format_spec;
pub mod int_math;
pub mod int_text;
pub mod mersenne;
pub mod percent;

/// The Python exception class a [`TextError`] corresponds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum ErrorKind {
    /// `ValueError`
    ValueError,
    /// `OverflowError`
    OverflowError,
    /// `TypeError`
    TypeError,
    /// `ZeroDivisionError`
    ZeroDivisionError,
    /// `IndexError`
    IndexError,
    /// `MemoryError` (a result too large to allocate)
    MemoryError,
}

/// An error to be raised as a Python exception of class `kind` with
/// message `message` (CPython's wording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    /// Exception class.
    pub kind: ErrorKind,
    /// Exception message, exactly as CPython words it.
    pub message: String,
}

impl TextError {
    /// A `ValueError` with the given message.
    pub fn value(message: impl Into<String>) -> Self {
        TextError { kind: ErrorKind::ValueError, message: message.into() }
    }

    /// An `OverflowError` with the given message.
    pub fn overflow(message: impl Into<String>) -> Self {
        TextError { kind: ErrorKind::OverflowError, message: message.into() }
    }

    /// A `TypeError` with the given message.
    pub fn type_error(message: impl Into<String>) -> Self {
        TextError { kind: ErrorKind::TypeError, message: message.into() }
    }

    /// A `MemoryError` (CPython's has no message).
    pub fn memory() -> Self {
        TextError { kind: ErrorKind::MemoryError, message: String::new() }
    }
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = match self.kind {
            ErrorKind::ValueError => "ValueError",
            ErrorKind::OverflowError => "OverflowError",
            ErrorKind::TypeError => "TypeError",
            ErrorKind::ZeroDivisionError => "ZeroDivisionError",
            ErrorKind::IndexError => "IndexError",
            ErrorKind::MemoryError => "MemoryError",
        };
        write!(f, "{class}: {}", self.message)
    }
}

impl std::error::Error for TextError {}

/// Makes room for `additional` more elements of a text buffer, or a `MemoryError` (widths
/// and precisions come from scripts: a refused allocation must not abort the process).
pub fn try_reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<(), TextError> {
    v.try_reserve_exact(additional).map_err(|_| TextError::memory())
}

/// `try_reserve` for a `String` (`additional` bytes).
pub fn try_reserve_str(s: &mut String, additional: usize) -> Result<(), TextError> {
    s.try_reserve_exact(additional).map_err(|_| TextError::memory())
}
