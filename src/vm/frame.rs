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
    /// A level of a `yield from`/`await` chain resumed directly in its innermost
    /// generator: the first field is the level's own generator, the second the level above
    /// it. The innermost level runs with it; the levels above stay suspended in their
    /// generators at their delegation (marked running) and keep their own mode in their
    /// frame (the outermost the mode it was resumed with), which links the chain upwards
    /// until the innermost yields (see `Vm::resume_inline`).
    GenChain(Rc<super::gen::GenObj>, Rc<super::gen::GenObj>),
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

/// A generator's frame while the generator is not running, apart from its code (the
/// generator's own) and its values (held beside it, see `gen::GenFrame`): only what a
/// resumption needs to rebuild the [`Frame`], so a suspended generator stays small and a
/// suspension moves a few fields, not a whole frame.
pub struct Suspended {
    /// The next instruction.
    pub ip: u32,
    /// Cell variables then free variables (the frame's vector, which has no spare room,
    /// as a boxed slice: a word smaller).
    pub cells: Box<[Rc<RefCell<Value>>]>,
    /// The module whose globals the code sees.
    pub globals: Rc<Module>,
    /// Active exception handlers, innermost last.
    pub handlers: Vec<Handler>,
    /// `Push`, or for a level of a delegation chain resumed in its innermost generator,
    /// the mode it keeps while it waits (see `ReturnMode::GenChain`).
    pub ret: ReturnMode,
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
        assert!(std::mem::size_of::<Option<super::Suspended>>() <= 80);
        // A suspended generator (each pending task holds one) stays small.
        assert!(std::mem::size_of::<super::super::gen::GenObj>() <= 168);
        assert!(std::mem::size_of::<super::ReturnMode>() <= 24);
    }
}
