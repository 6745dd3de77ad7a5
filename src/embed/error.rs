//! The error type of the embedding API: what a host sees when a script fails.

use super::limits::Limit;
use crate::vm::{Exc, ExcKind};

/// A script exception as the host sees it: plain strings, so that [`Error`] is `Send` and
/// `Sync` and outlives the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    /// The exception's class name, qualified by its module unless built in
    /// (`ValueError`, `aio.LimitExceeded`, `__main__.MyError` shows as `MyError`).
    pub type_name: String,
    /// `str(exception)`.
    pub message: String,
    /// The full report as the CLI prints it: `Traceback (most recent call last):` with the
    /// source line of each entry, the cause and context chain, and the final
    /// `Type: message` line; for a syntax error, the source with the span underlined.
    pub traceback: String,
}

/// Why a call into the engine failed.
///
/// `Display` renders the report exactly as the `aio` command prints it on stderr.
///
/// ```
/// let mut engine = aio::Engine::new();
/// let err = engine.exec("def f():\n    return 1 / 0\nf()").unwrap_err();
/// assert_eq!(err.exception_type(), Some("ZeroDivisionError"));
/// let text = err.to_string();
/// assert!(text.starts_with("Traceback (most recent call last):"));
/// assert!(text.contains("    return 1 / 0"));
/// assert!(text.ends_with("ZeroDivisionError: division by zero"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The source did not parse or compile (`SyntaxError`, `IndentationError`).
    Syntax(ScriptError),
    /// The script raised an exception it did not catch (a host function's error included).
    Exception(ScriptError),
    /// A limit ended the run; the report shows where the script was.
    Limit {
        /// Which limit.
        limit: Limit,
        /// The exception that ended the run (`aio.LimitExceeded`, `RecursionError`).
        error: ScriptError,
    },
    /// The script called `sys.exit(code)` or raised `SystemExit` (`code` 0 for `None`; 1,
    /// after printing the value to stderr, for a non-integer).
    Exit(i32),
    /// A problem on the host's side: a file that cannot be read, an unknown function name.
    Host(String),
}

impl Error {
    /// The limit that ended the run, if a limit did.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            Error::Limit { limit, .. } => Some(*limit),
            _ => None,
        }
    }

    /// The script exception behind the error, if any.
    pub fn script_error(&self) -> Option<&ScriptError> {
        match self {
            Error::Syntax(e) | Error::Exception(e) | Error::Limit { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The class name of the exception behind the error (`"KeyError"`), if any.
    pub fn exception_type(&self) -> Option<&str> {
        self.script_error().map(|e| e.type_name.as_str())
    }

    /// `str(exception)` of the exception behind the error, if any.
    pub fn message(&self) -> Option<&str> {
        self.script_error().map(|e| e.message.as_str())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Syntax(e) | Error::Exception(e) | Error::Limit { error: e, .. } => {
                f.write_str(e.traceback.trim_end_matches('\n'))
            }
            Error::Exit(code) => write!(f, "SystemExit: {code}"),
            Error::Host(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Exc {
    /// An `OSError` (of the matching subclass) for a host function's I/O failure.
    fn from(e: std::io::Error) -> Exc {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ExcKind::FileNotFoundError,
            std::io::ErrorKind::PermissionDenied => ExcKind::PermissionError,
            std::io::ErrorKind::AlreadyExists => ExcKind::FileExistsError,
            std::io::ErrorKind::TimedOut => ExcKind::TimeoutError,
            std::io::ErrorKind::ConnectionRefused => ExcKind::ConnectionRefusedError,
            std::io::ErrorKind::ConnectionReset => ExcKind::ConnectionResetError,
            std::io::ErrorKind::BrokenPipe => ExcKind::BrokenPipeError,
            _ => ExcKind::OSError,
        };
        Exc::new(kind, e.to_string())
    }
}

impl From<String> for Exc {
    /// A `RuntimeError` with the message (a host function's `Err(String)`).
    fn from(msg: String) -> Exc {
        Exc::runtime_error(msg)
    }
}

impl From<&str> for Exc {
    /// A `RuntimeError` with the message (a host function's `Err("...")`).
    fn from(msg: &str) -> Exc {
        Exc::runtime_error(msg)
    }
}

impl From<Error> for Exc {
    /// Re-raises an engine error inside a script (a host function that called back into
    /// the engine): the script exception's type when it is a built-in one, else
    /// `RuntimeError`, with the message.
    fn from(e: Error) -> Exc {
        match &e {
            Error::Exception(s) | Error::Syntax(s) | Error::Limit { error: s, .. } => {
                let kind = ExcKind::ALL.iter().map(|(k, _)| *k).find(|k| k.name() == s.type_name);
                Exc::new(kind.unwrap_or(ExcKind::RuntimeError), s.message.clone())
            }
            Error::Exit(code) => Exc::new(ExcKind::SystemExit, code.to_string()),
            Error::Host(m) => Exc::runtime_error(m.clone()),
        }
    }
}
