//! Exceptions as the Rust side sees them: raised lazily by kind and message, or as objects.

use super::value::{Instance, Value};
use std::rc::Rc;

macro_rules! exc_kinds {
    ($($name:ident : $parent:ident),* $(,)?) => {
        /// The built-in exception classes, in creation order (a parent before its children).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum ExcKind { BaseException, $($name),* }

        impl ExcKind {
            /// Every kind with its parent, in creation order.
            pub const ALL: &'static [(ExcKind, Option<ExcKind>)] = &[
                (ExcKind::BaseException, None),
                $((ExcKind::$name, Some(ExcKind::$parent))),*
            ];
            /// The class name.
            pub fn name(self) -> &'static str {
                match self {
                    ExcKind::BaseException => "BaseException",
                    $(ExcKind::$name => stringify!($name)),*
                }
            }
        }
    };
}

exc_kinds! {
    Exception: BaseException,
    SystemExit: BaseException,
    KeyboardInterrupt: BaseException,
    GeneratorExit: BaseException,
    CancelledError: BaseException,
    BaseExceptionGroup: BaseException,
    ExceptionGroup: BaseExceptionGroup,
    ArithmeticError: Exception,
    ZeroDivisionError: ArithmeticError,
    OverflowError: ArithmeticError,
    LookupError: Exception,
    KeyError: LookupError,
    IndexError: LookupError,
    ValueError: Exception,
    UnicodeError: ValueError,
    UnicodeDecodeError: UnicodeError,
    UnicodeEncodeError: UnicodeError,
    TypeError: Exception,
    AttributeError: Exception,
    NameError: Exception,
    UnboundLocalError: NameError,
    RuntimeError: Exception,
    NotImplementedError: RuntimeError,
    RecursionError: RuntimeError,
    StopIteration: Exception,
    StopAsyncIteration: Exception,
    AssertionError: Exception,
    ImportError: Exception,
    ModuleNotFoundError: ImportError,
    OSError: Exception,
    ConnectionError: OSError,
    ConnectionResetError: ConnectionError,
    ConnectionRefusedError: ConnectionError,
    ConnectionAbortedError: ConnectionError,
    BrokenPipeError: ConnectionError,
    FileNotFoundError: OSError,
    FileExistsError: OSError,
    IsADirectoryError: OSError,
    NotADirectoryError: OSError,
    PermissionError: OSError,
    TimeoutError: OSError,
    InterruptedError: OSError,
    BlockingIOError: OSError,
    EOFError: Exception,
    MemoryError: Exception,
    BufferError: Exception,
    SyntaxError: Exception,
    IndentationError: SyntaxError,
    TabError: IndentationError,
    Warning: Exception,
    UserWarning: Warning,
    DeprecationWarning: Warning,
    RuntimeWarning: Warning,
    InvalidStateError: Exception,
    IncompleteReadError: EOFError,
    LimitOverrunError: Exception,
    QueueEmpty: Exception,
    QueueFull: Exception,
    BrokenBarrierError: RuntimeError,
    ProcessLookupError: OSError,
    ChildProcessError: OSError,
}

impl ExcKind {
    /// The `OSError` subclass CPython's `OSError(errno, ...)` picks for a (Linux) errno:
    /// its `errnomap`.
    pub fn for_errno(errno: i64) -> ExcKind {
        match errno {
            11 | 114 | 115 => ExcKind::BlockingIOError,
            32 | 108 => ExcKind::BrokenPipeError,
            10 => ExcKind::ChildProcessError,
            103 => ExcKind::ConnectionAbortedError,
            111 => ExcKind::ConnectionRefusedError,
            104 => ExcKind::ConnectionResetError,
            17 => ExcKind::FileExistsError,
            2 => ExcKind::FileNotFoundError,
            21 => ExcKind::IsADirectoryError,
            20 => ExcKind::NotADirectoryError,
            4 => ExcKind::InterruptedError,
            1 | 13 => ExcKind::PermissionError,
            3 => ExcKind::ProcessLookupError,
            110 => ExcKind::TimeoutError,
            _ => ExcKind::OSError,
        }
    }
}

/// A raised exception travelling through Rust code.
#[derive(Clone)]
pub enum Exc {
    /// A built-in exception not yet turned into an object.
    Msg(ExcKind, String),
    /// An exception object (an instance of a `BaseException` subclass).
    Obj(Rc<Instance>),
}

impl Exc {
    /// A `TypeError`.
    pub fn type_error(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::TypeError, msg.into())
    }
    /// A `ValueError`.
    pub fn value_error(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::ValueError, msg.into())
    }
    /// An `IndexError`.
    pub fn index_error(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::IndexError, msg.into())
    }
    /// An `AttributeError`.
    pub fn attribute_error(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::AttributeError, msg.into())
    }
    /// A `ZeroDivisionError`.
    pub fn zero_division(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::ZeroDivisionError, msg.into())
    }
    /// An `OverflowError`.
    pub fn overflow(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::OverflowError, msg.into())
    }
    /// A `RuntimeError`.
    pub fn runtime_error(msg: impl Into<String>) -> Exc {
        Exc::Msg(ExcKind::RuntimeError, msg.into())
    }
    /// Any built-in kind with a message.
    pub fn new(kind: ExcKind, msg: impl Into<String>) -> Exc {
        Exc::Msg(kind, msg.into())
    }
    /// The object, if already materialised.
    pub fn as_value(&self) -> Option<Value> {
        match self {
            Exc::Obj(i) => Some(Value::Instance(i.clone())),
            Exc::Msg(..) => None,
        }
    }
}

/// The result type of everything that can raise.
pub type Res<T> = Result<T, Exc>;
