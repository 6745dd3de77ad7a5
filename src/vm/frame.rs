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
    /// A generator frame resumed in place by the caller's `ForIter`: a `yield` hands the
    /// value to the loop body; finishing pops the iterator and jumps to the loop's exit.
    GenFor(Rc<super::gen::GenObj>, u32),
    /// A generator or coroutine frame resumed in place by the caller's `Send` (`yield from`,
    /// `await`): a `yield` passes the value up; finishing replaces the sub-iterator with the
    /// return value and jumps to the instruction after the delegation.
    GenSend(Rc<super::gen::GenObj>, u32),
    /// A generator or coroutine frame resumed by a native (`next()`, `send()`, a task's
    /// step) in a nested dispatch loop: it is that loop's base frame.
    GenNative(Rc<super::gen::GenObj>),
    /// An async generator frame resumed in place by the caller's `Send` on its `asend` /
    /// `__anext__` awaitable (on top of the caller's stack): its own `yield` ends that
    /// await with the value (the caller continues at the exit); a value an inner `await`
    /// passes up goes on up through the caller; finishing raises `StopAsyncIteration` there.
    GenAsend(Rc<super::gen::GenObj>, u32),
    /// The innermost level of a `yield from`/`await` chain resumed directly: the first
    /// field is the chain's outermost generator (its innermost is found by following
    /// the delegations `Chain::depth` levels down), the second says how the outermost was
    /// resumed and how many levels lie between (at least 1), whose frames stay suspended
    /// in their generators at their delegation (see `Vm::resume_inline`).
    GenChain(Rc<super::gen::GenObj>, Chain),
}

/// How the outermost generator of a delegation chain was resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resumer {
    /// By a `for` loop (`ReturnMode::GenFor` with this exit).
    For(u32),
    /// By a `yield from`/`await` (`ReturnMode::GenSend` with this exit).
    Send(u32),
    /// By a native (`ReturnMode::GenNative`).
    Native,
}

impl Resumer {
    /// The return mode of the outermost generator `g` itself.
    pub fn mode(self, g: Rc<super::gen::GenObj>) -> ReturnMode {
        match self {
            Resumer::For(t) => ReturnMode::GenFor(g, t),
            Resumer::Send(t) => ReturnMode::GenSend(g, t),
            Resumer::Native => ReturnMode::GenNative(g),
        }
    }
}

/// A [`Resumer`] and a chain depth packed in 8 bytes (keeping `ReturnMode`, and so `Frame`,
/// small enough to be moved without a `memcpy` call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    exit: u32,
    /// The depth, with the resumer's kind in the top two bits.
    bits: u32,
}

impl Chain {
    const KIND_SHIFT: u32 = 30;
    const DEPTH_MASK: u32 = (1 << Self::KIND_SHIFT) - 1;

    /// `depth` levels between the outermost generator, resumed by `r`, and the innermost.
    pub fn new(r: Resumer, depth: u32) -> Chain {
        let (kind, exit) = match r {
            Resumer::For(t) => (0, t),
            Resumer::Send(t) => (1, t),
            Resumer::Native => (2, 0),
        };
        Chain { exit, bits: (kind << Self::KIND_SHIFT) | (depth & Self::DEPTH_MASK) }
    }

    /// How the outermost generator was resumed.
    pub fn resumer(self) -> Resumer {
        match self.bits >> Self::KIND_SHIFT {
            0 => Resumer::For(self.exit),
            1 => Resumer::Send(self.exit),
            _ => Resumer::Native,
        }
    }

    /// The levels between the outermost generator and the innermost.
    pub fn depth(self) -> u32 {
        self.bits & Self::DEPTH_MASK
    }
}

/// An active exception handler: where to jump and the stack depth to restore.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    /// Instruction index of the handler.
    pub target: u32,
    /// Stack height above the frame's base (locals included) when the handler was set up.
    pub depth: u32,
}

/// A frame that is not on the VM's frame stack (being built, or a suspended generator),
/// with its locals and operand stack held aside.
pub struct Detached {
    /// The frame (its `base` and `ret_sp` are set again when it is pushed).
    pub frame: Frame,
    /// Locals followed by the operand stack.
    pub values: Vec<Value>,
}

/// One activation of a code object.
pub struct Frame {
    /// The code being run.
    pub code: Rc<Code>,
    /// The next instruction.
    pub ip: usize,
    /// Index in the VM's value stack of local slot 0; the operand stack follows the locals.
    pub base: usize,
    /// Stack height to restore when the frame ends (below the callee and its arguments).
    pub ret_sp: usize,
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
#[cfg(test)]
mod tests {
    /// Generators move their frame in and out of the frame stack at every resumption: up
    /// to 128 bytes it is copied inline, above that through a `memcpy` call.
    #[test]
    fn frame_fits_in_128_bytes() {
        assert!(std::mem::size_of::<super::Frame>() <= 128);
        assert!(std::mem::size_of::<super::ReturnMode>() <= 24);
    }
}
