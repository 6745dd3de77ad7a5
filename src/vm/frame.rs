//! Call frames: heap data, never Rust stack frames.

use super::value::{DictObj, Module, Value};
use crate::bytecode::Code;
use std::cell::RefCell;
use std::rc::Rc;

/// What happens to a frame's return value.
#[derive(Clone)]
pub enum ReturnMode {
    /// Push it on the caller's stack.
    Push,
    /// `__init__` returned: it must be `None`; push this instance instead.
    Init(Value),
    /// Discard it (a call made for its effect, e.g. a setter).
    Discard,
}

/// An active exception handler: where to jump and the stack depth to restore.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    /// Instruction index of the handler.
    pub target: u32,
    /// Stack length (locals included) when the handler was set up.
    pub depth: u32,
}

/// One activation of a code object.
pub struct Frame {
    /// The code being run.
    pub code: Rc<Code>,
    /// The next instruction.
    pub ip: usize,
    /// Locals (`code.nlocals()` slots) followed by the operand stack.
    pub stack: Vec<Value>,
    /// Cell variables then free variables.
    pub cells: Vec<Rc<RefCell<Value>>>,
    /// The module whose globals the code sees.
    pub globals: Rc<Module>,
    /// Active exception handlers, innermost last.
    pub handlers: Vec<Handler>,
    /// The class namespace when running a class body.
    pub namespace: Option<Rc<DictObj>>,
    /// How the caller receives the return value.
    pub ret: ReturnMode,
    /// Length of the VM's handled-exception stack when the frame started.
    pub handled_base: usize,
}

impl Frame {
    /// The line being executed (the instruction before `ip`).
    pub fn line(&self) -> u32 {
        self.code.line_at(self.ip.saturating_sub(1))
    }
}
