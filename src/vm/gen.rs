//! Generators, coroutines and async generators: a suspended frame and its state.

use super::frame::Frame;
use super::value::Value;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Which kind of resumable function made the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenKind {
    /// `def` with `yield`.
    Generator,
    /// `async def`.
    Coroutine,
    /// `async def` with `yield`.
    AsyncGenerator,
}

/// The legal states: Created -> Running <-> Suspended -> Closed (from any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenState {
    /// Not started.
    Created,
    /// Suspended at a `yield`.
    Suspended,
    /// Executing (re-entry is a `ValueError`).
    Running,
    /// Finished or closed.
    Closed,
}

/// A generator-like object owning its frame.
pub struct GenObj {
    /// Generator, coroutine or async generator.
    pub kind: GenKind,
    /// The frame while not running (taken out while it runs).
    pub frame: RefCell<Option<Box<Frame>>>,
    /// Where it is in its life.
    pub state: Cell<GenState>,
    /// `__name__`.
    pub name: Rc<str>,
    /// `__qualname__`.
    pub qualname: Rc<str>,
    /// For coroutines: whether it was ever awaited or started (for the never-awaited warning).
    pub awaited: Cell<bool>,
    /// For async generators: the running `asend`/`athrow` awaitable count (0 or 1).
    pub ag_running: Cell<bool>,
    /// Value the generator should see as the sent value on the next resume.
    pub pending: RefCell<Value>,
}

/// What one resumption of a generator produced.
pub enum GenResult {
    /// It yielded a value.
    Yield(Value),
    /// It returned a value (`StopIteration.value`).
    Return(Value),
}
