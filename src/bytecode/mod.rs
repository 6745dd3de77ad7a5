//! Code objects: the compiler's output and the VM's input.
//!
//! **Invariant:** a code object is plain data; it never refers to a frame or the VM.

mod code;
mod dis;
mod op;

pub use code::{Code, CodeFlags, GlobalCacheEntry};
pub use dis::disassemble;
pub use op::{CellIdx, CmpKind, ConstIdx, JumpTarget, LocalSlot, NameIdx, Op};
