//! The code object: instructions with their tables and facts about the function.

use super::op::Op;
use crate::vm::{Sym, Value};
use std::rc::Rc;

/// Facts about a code object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeFlags {
    /// Has `*args`.
    pub varargs: bool,
    /// Has `**kwargs`.
    pub varkw: bool,
    /// Contains `yield` (a generator function).
    pub generator: bool,
    /// Is `async def` (a coroutine function).
    pub coroutine: bool,
    /// Is `async def` containing `yield` (an async generator function).
    pub async_generator: bool,
    /// Is a class body (names go to the class namespace).
    pub class_body: bool,
    /// Is a module body.
    pub module: bool,
}

/// A compiled function, class body or module.
pub struct Code {
    /// `co_name`.
    pub name: Rc<str>,
    /// `co_qualname`.
    pub qualname: Rc<str>,
    /// The source file name.
    pub filename: Rc<str>,
    /// The instructions.
    pub ops: Vec<Op>,
    /// The source line of each instruction.
    pub lines: Vec<u32>,
    /// Constants.
    pub consts: Vec<Value>,
    /// Global, attribute and namespace names.
    pub names: Vec<Sym>,
    /// Local variable names, parameters first.
    pub varnames: Vec<Sym>,
    /// Names of variables that inner functions capture.
    pub cellvars: Vec<Sym>,
    /// Names of variables captured from enclosing functions.
    pub freevars: Vec<Sym>,
    /// Parameters that are also cells: (cell index, parameter slot).
    pub cell_params: Vec<(u32, u32)>,
    /// Number of positional parameters (including positional-only).
    pub argcount: u32,
    /// Number of positional-only parameters.
    pub posonlyargcount: u32,
    /// Number of keyword-only parameters.
    pub kwonlyargcount: u32,
    /// Flags.
    pub flags: CodeFlags,
    /// Line of the `def`.
    pub first_line: u32,
    /// The docstring, if the body starts with one.
    pub doc: Option<Rc<str>>,
    /// Per-name cache for `LoadGlobal`, filled by the VM.
    pub global_cache: std::cell::RefCell<Vec<GlobalCacheEntry>>,
    /// Per-name cache for attribute access on instances (`LoadAttr`, `StoreAttr`,
    /// `LoadMethod`), filled by the VM (see `vm/inline_cache.rs`).
    pub attr_cache: std::cell::RefCell<Vec<crate::vm::AttrCacheEntry>>,
    /// For a plain function (see [`Code::takes_exactly`]): its positional parameter count;
    /// `u32::MAX` otherwise. Set by [`Code::finish`].
    pub plain_arity: u32,
    /// For generator and coroutine code: the most values (locals, then the operand stack)
    /// a suspended frame of it has held, so that later frames' buffers, which they keep
    /// while suspended, are allocated at that size (see `Vm::bind_frame`).
    pub suspend_len: std::cell::Cell<u32>,
}

/// A cached global lookup: valid while the module and builtins versions are unchanged.
#[derive(Clone, Default)]
pub struct GlobalCacheEntry {
    /// Identity of the globals module.
    pub module: usize,
    /// The module's version when cached.
    pub version: u64,
    /// The builtins module's version when cached.
    pub builtins_version: u64,
    /// The value found.
    pub value: Value,
}

impl Code {
    /// Records that a suspended frame of this code holds `len` values.
    #[inline]
    pub fn note_suspended(&self, len: usize) {
        if len as u32 > self.suspend_len.get() {
            self.suspend_len.set(len as u32);
        }
    }
    /// Number of local slots (parameters included).
    pub fn nlocals(&self) -> usize {
        self.varnames.len()
    }
    /// Number of parameter slots including `*args` and `**kwargs`.
    pub fn total_params(&self) -> usize {
        (self.argcount + self.kwonlyargcount) as usize + self.flags.varargs as usize + self.flags.varkw as usize
    }
    /// Fills in the fields derived from the others (the code is complete).
    pub fn finish(mut self) -> Code {
        self.plain_arity = if self.is_plain() { self.argcount } else { u32::MAX };
        self
    }

    /// True for a plain function (not a generator or coroutine, no `*args`, `**kwargs`,
    /// keyword-only or captured parameters) taking exactly `n` positional arguments: such a
    /// call can run with the arguments left in place as its first locals.
    #[inline(always)]
    pub fn takes_exactly(&self, n: usize) -> bool {
        self.plain_arity as usize == n
    }

    /// True for a function whose calls can bind positional arguments in place: no
    /// `*args`, `**kwargs`, keyword-only or captured parameters, not a generator or
    /// coroutine.
    fn is_plain(&self) -> bool {
        !self.is_resumable() && self.binds_positionally()
    }

    /// True for generator, coroutine and async generator code.
    fn is_resumable(&self) -> bool {
        self.flags.generator || self.flags.coroutine || self.flags.async_generator
    }

    /// True when positional arguments are all a call binds: no `*args`, `**kwargs`,
    /// keyword-only or captured parameters.
    fn binds_positionally(&self) -> bool {
        self.kwonlyargcount == 0 && !self.flags.varargs && !self.flags.varkw && self.cell_params.is_empty()
    }

    /// True for generator, coroutine and async generator code whose calls can bind `n`
    /// positional arguments as they come (see [`Code::is_plain`]; resumable code is never
    /// plain, as its frame goes into the new object instead of running).
    #[inline]
    pub fn resumable_takes_exactly(&self, n: usize) -> bool {
        self.is_resumable() && self.argcount as usize == n && self.binds_positionally()
    }

    /// The source line of the instruction at `ip`.
    pub fn line_at(&self, ip: usize) -> u32 {
        self.lines.get(ip).copied().unwrap_or(self.first_line)
    }
}
