//! Call frames: heap data, never Rust stack frames.

use super::value::{DictObj, Module, Value};
use crate::bytecode::Code;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

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
    /// The innermost level of a `yield from`/`await` chain resumed directly there: its own
    /// generator and the level above it. The levels above stay suspended in their
    /// generators at their delegation: the chain's head (the level that was resumed) keeps
    /// the mode it was resumed with while the chain runs, and each level below it a
    /// [`ReturnMode::ChainLink`] (see `Vm::resume_inline`).
    GenChain(Rc<super::gen::GenObj>, Rc<super::gen::GenObj>),
    /// Kept (never run with) by a suspended level of a delegation chain below its head: the
    /// level above it and the head (weak: those levels hold this one).
    ChainLink(Weak<super::gen::GenObj>, Weak<super::gen::GenObj>),
    /// Kept (never run with) by the suspended head of a delegation chain: the chain's
    /// innermost level when it last yielded, and the chain epoch its links are good for
    /// (see `gen::chain_epoch`), so that the next resumption goes straight there.
    ChainHead(Weak<super::gen::GenObj>, u64),
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
    /// `Push`, or for a level of a delegation chain the mode it keeps while it waits: the
    /// head's own mode while the chain runs, `ChainHead` while it is suspended, and
    /// `ChainLink` for the levels below (see `ReturnMode::GenChain`).
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

/// A frame's cells as a suspended frame keeps them. They never grow, so the slice is the
/// vector's own buffer, not a copy; most frames have none.
#[inline(always)]
pub(crate) fn boxed_cells(cells: Vec<Rc<RefCell<Value>>>) -> Box<[Rc<RefCell<Value>>]> {
    if cells.capacity() == 0 {
        // Nothing to free: skip the vector's drop.
        std::mem::forget(cells);
        return Box::default();
    }
    cells.into_boxed_slice()
}

/// The VM's frame stack. Frames that return keep their slot: the next call at that depth
/// fills the slot in place (a few plain stores, and no reference-count traffic when it
/// runs the same code with the same globals, as recursion and loops do) instead of
/// moving a whole new frame in and dropping the old one.
///
/// Slots from `len` up are retired: their `cells` and `handlers` are empty, `namespace` is
/// `None` and `ret` is `ReturnMode::Push`; only `code` and `globals` still point to what
/// they last ran (released by [`FrameStack::trim`], when the outermost run ends).
#[derive(Default)]
pub struct FrameStack {
    /// Live frames, then retired slots.
    slots: Vec<Frame>,
    /// How many frames are live.
    len: usize,
}

impl FrameStack {
    /// An empty stack.
    pub fn new() -> FrameStack {
        FrameStack::default()
    }

    /// Number of live frames.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no frame is live.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The live frames, outermost first.
    #[inline(always)]
    pub fn live(&self) -> &[Frame] {
        &self.slots[..self.len]
    }

    /// The innermost frame.
    #[inline(always)]
    pub fn last(&self) -> Option<&Frame> {
        let i = self.len.checked_sub(1)?;
        self.slots.get(i)
    }

    /// The innermost frame, mutably.
    #[inline(always)]
    pub fn last_mut(&mut self) -> Option<&mut Frame> {
        let i = self.len.checked_sub(1)?;
        self.slots.get_mut(i)
    }

    /// The live frame at depth `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> Option<&Frame> {
        if i < self.len {
            self.slots.get(i)
        } else {
            None
        }
    }

    /// The live frame at depth `i`, mutably.
    #[inline(always)]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Frame> {
        if i < self.len {
            self.slots.get_mut(i)
        } else {
            None
        }
    }

    /// The live frames, outermost first.
    pub fn iter(&self) -> std::slice::Iter<'_, Frame> {
        self.live().iter()
    }

    /// Pushes `f`, releasing the retired slots above the live frames.
    #[inline(always)]
    pub fn push(&mut self, f: Frame) {
        if self.len < self.slots.len() {
            self.slots.truncate(self.len);
        }
        self.slots.push(f);
        self.len += 1;
    }

    /// Pushes a frame running `code` with `globals` that pushes its result and has no
    /// cells: filled in place in a retired slot, or built in a new one.
    #[inline(always)]
    pub fn push_plain(
        &mut self,
        code: &Rc<Code>,
        globals: &Rc<Module>,
        base: usize,
        ret_sp: usize,
        handled_base: usize,
    ) {
        if let Some(s) = self.slots.get_mut(self.len) {
            if !Rc::ptr_eq(&s.code, code) {
                s.code = code.clone();
            }
            if !Rc::ptr_eq(&s.globals, globals) {
                s.globals = globals.clone();
            }
            s.ip = 0;
            s.base = base;
            s.ret_sp = ret_sp;
            s.handled_base = handled_base;
        } else {
            self.slots.extend(std::iter::once_with(|| Frame {
                code: code.clone(),
                ip: 0,
                base,
                ret_sp,
                cells: Vec::new(),
                globals: globals.clone(),
                handlers: Vec::new(),
                namespace: None,
                ret: ReturnMode::Push,
                handled_base,
            }));
        }
        self.len += 1;
    }

    /// Pushes the frame of a resumed generator from the parts it kept (see [`Suspended`]),
    /// filled in place in a retired slot when there is one.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn push_resumed(
        &mut self,
        code: &Rc<Code>,
        ip: u32,
        base: usize,
        cells: Vec<Rc<RefCell<Value>>>,
        globals: Rc<Module>,
        handlers: Vec<Handler>,
        ret: ReturnMode,
        handled_base: usize,
    ) {
        if let Some(s) = self.slots.get_mut(self.len) {
            if !Rc::ptr_eq(&s.code, code) {
                s.code = code.clone();
            }
            s.globals = globals;
            s.ip = ip as usize;
            s.base = base;
            s.ret_sp = base;
            s.handled_base = handled_base;
            // A retired slot's cells and handlers are empty and its mode holds nothing.
            std::mem::forget(std::mem::replace(&mut s.cells, cells));
            std::mem::forget(std::mem::replace(&mut s.handlers, handlers));
            std::mem::forget(std::mem::replace(&mut s.ret, ret));
        } else {
            self.slots.extend(std::iter::once_with(|| Frame {
                code: code.clone(),
                ip: ip as usize,
                base,
                ret_sp: base,
                cells,
                globals,
                handlers,
                namespace: None,
                ret,
                handled_base,
            }));
        }
        self.len += 1;
    }

    /// Retires the innermost frame, a generator's that suspends: what it keeps goes into
    /// `parts` (with `ip`; its mode stays in its slot's place as `ReturnMode::Push`).
    #[inline(always)]
    pub fn retire_into(&mut self, parts: &mut Option<Suspended>, ip: u32) {
        let Some(i) = self.len.checked_sub(1) else { return };
        let Some(s) = self.slots.get_mut(i) else { return };
        let old = parts.replace(Suspended {
            ip,
            cells: boxed_cells(std::mem::take(&mut s.cells)),
            globals: s.globals.clone(),
            handlers: std::mem::take(&mut s.handlers),
            ret: std::mem::replace(&mut s.ret, ReturnMode::Push),
        });
        // A running generator holds no parts: nothing to drop.
        if old.is_some() {
            drop(old);
        } else {
            std::mem::forget(old);
        }
        if s.namespace.is_some() {
            s.namespace = None;
        }
        self.len = i;
    }

    /// Retires the innermost frame, whose mode is `ReturnMode::Push` (which holds nothing):
    /// its slot is emptied for the next call at this depth.
    #[inline(always)]
    pub fn retire_top(&mut self) {
        let Some(i) = self.len.checked_sub(1) else { return };
        if let Some(s) = self.slots.get_mut(i) {
            debug_assert!(matches!(s.ret, ReturnMode::Push));
            if !s.cells.is_empty() {
                s.cells.clear();
            }
            if !s.handlers.is_empty() {
                s.handlers.clear();
            }
            if s.namespace.is_some() {
                s.namespace = None;
            }
        }
        self.len = i;
    }

    /// Removes and returns the innermost frame.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Frame> {
        let i = self.len.checked_sub(1)?;
        if self.slots.len() > self.len {
            self.slots.truncate(self.len);
        }
        self.len = i;
        self.slots.pop()
    }

    /// Drops every frame from depth `n` up.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            self.slots.truncate(n);
            self.len = n;
        }
    }

    /// Removes the frames from depth `n` up, outermost first.
    pub fn drain_from(&mut self, n: usize) -> Vec<Frame> {
        self.slots.truncate(self.len);
        let n = n.min(self.len);
        self.len = n;
        self.slots.drain(n..).collect()
    }

    /// Releases the retired slots (and the code and globals they still point to).
    pub fn trim(&mut self) {
        self.slots.truncate(self.len);
    }
}

impl std::ops::Index<usize> for FrameStack {
    type Output = Frame;
    #[inline(always)]
    fn index(&self, i: usize) -> &Frame {
        // Slots up to `len` are live and always allocated: one bounds check, not two.
        debug_assert!(i < self.len);
        &self.slots[i]
    }
}

impl std::ops::IndexMut<usize> for FrameStack {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut Frame {
        debug_assert!(i < self.len);
        &mut self.slots[i]
    }
}

impl<'a> IntoIterator for &'a FrameStack {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
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
