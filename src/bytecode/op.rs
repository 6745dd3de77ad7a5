//! The instruction set: one `enum Op`, each variant documented with its stack effect.
//!
//! Notation: `stack: a b -> c` pops `b` (top) then `a` and pushes `c`. Operands are index
//! newtypes into the code object's tables or plain counts.

use crate::ast::{BinOp, UnaryOp};

/// Index into `Code::consts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstIdx(pub u32);
/// Index into `Code::names`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameIdx(pub u32);
/// Index of a local variable slot (arguments first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalSlot(pub u32);
/// Index into the frame's cells: cell variables first, then free variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellIdx(pub u32);
/// An instruction index that a jump goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JumpTarget(pub u32);

/// Comparison operators as the VM executes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpKind {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Does nothing. `stack: ->`
    Nop,
    /// Superinstruction: `LoadFast(a)` then `LoadFast(b)`; skips the `LoadFast(b)` that
    /// follows it. `stack: -> local_a local_b`
    LoadFastFast(u16, u16),
    /// Superinstruction: `LoadFast(a)` then `LoadConst(k)`; skips the `LoadConst` that
    /// follows it. `stack: -> local_a const_k`
    LoadFastConst(u16, u16),
    /// Superinstruction: `Compare(kind)` then `PopJumpIfFalse(target)`; skips the jump that
    /// follows it. `stack: a b ->`
    CompareJumpIfFalse(CmpKind, JumpTarget),
    /// Superinstruction: `LoadFast(a)`, `LoadConst(k)`, then the `Binary(op)` or
    /// `Inplace(op)` that follow it, done at once when both are small ints; otherwise it
    /// acts as `LoadFastConst` and the arithmetic instruction runs. `stack: -> result`
    FastConstArith(u16, u16, BinOp),
    /// Superinstruction: `LoadFast(a)`, `LoadFast(b)`, then the `Binary(op)` or
    /// `Inplace(op)` that follow it (as `FastConstArith`). `stack: -> result`
    FastFastArith(u16, u16, BinOp),
    /// Superinstruction: `LoadFast(a)`, `LoadConst(k)`, then the `CompareJumpIfFalse` that
    /// follows them, done at once when both are small ints; otherwise it acts as
    /// `LoadFastConst`. `stack: ->`
    FastConstCompareJump(u16, u16, CmpKind),
    /// Superinstruction: `LoadFast(a)`, `LoadFast(b)`, then the `CompareJumpIfFalse` that
    /// follows them (as `FastConstCompareJump`). `stack: ->`
    FastFastCompareJump(u16, u16, CmpKind),
    /// Superinstruction: `Compare(kind)` then `PopJumpIfTrue(target)`; skips the jump that
    /// follows it. `stack: a b ->`
    CompareJumpIfTrue(CmpKind, JumpTarget),
    /// Superinstruction: `LoadFast(a)` then `LoadAttr(n)`, done at once on an instance
    /// whose attribute the inline cache knows; otherwise it acts as `LoadFast(a)` and the
    /// `LoadAttr` runs. `stack: -> local_a.name`
    LoadFastAttr(u16, u16),
    /// Superinstruction: `LoadFast(a)` then `StoreAttr(n)` (`local_a.name = value`), done
    /// at once as `LoadFastAttr`. `stack: value ->`
    StoreFastAttr(u16, u16),
    /// Superinstruction: `LoadFast(a)` then `LoadMethod(n)`, done at once as
    /// `LoadFastAttr`. `stack: -> f self_or_undef`
    LoadFastMethod(u16, u16),
    /// Pushes a constant. `stack: -> consts[i]`
    LoadConst(ConstIdx),
    /// Discards the top. `stack: a ->`
    Pop,
    /// Duplicates the top. `stack: a -> a a`
    Dup,
    /// Duplicates the top two. `stack: a b -> a b a b`
    DupTwo,
    /// Swaps the top two. `stack: a b -> b a`
    Rot2,
    /// Lifts the top under the next two. `stack: a b c -> c a b`
    Rot3,
    /// Lifts the top under the next three. `stack: a b c d -> d a b c`
    Rot4,
    /// Pushes a local; `UnboundLocalError` if unbound. `stack: -> local`
    LoadFast(LocalSlot),
    /// Stores into a local. `stack: v ->`
    StoreFast(LocalSlot),
    /// Unbinds a local. `stack: ->`
    DeleteFast(LocalSlot),
    /// Pushes the content of a cell. `stack: -> cell.value`
    LoadDeref(CellIdx),
    /// Stores into a cell. `stack: v ->`
    StoreDeref(CellIdx),
    /// Empties a cell. `stack: ->`
    DeleteDeref(CellIdx),
    /// In a class body: the class namespace's binding of the cell's name, else the cell. `stack: -> v`
    LoadClassDeref(CellIdx),
    /// Pushes the cell object itself (to build a closure). `stack: -> cell`
    LoadClosure(CellIdx),
    /// Pushes a global or builtin. `stack: -> v`
    LoadGlobal(NameIdx),
    /// Stores a global. `stack: v ->`
    StoreGlobal(NameIdx),
    /// Deletes a global. `stack: ->`
    DeleteGlobal(NameIdx),
    /// Pushes a name from the local namespace (class body), globals or builtins. `stack: -> v`
    LoadName(NameIdx),
    /// Stores into the local namespace (class body or module). `stack: v ->`
    StoreName(NameIdx),
    /// Deletes from the local namespace. `stack: ->`
    DeleteName(NameIdx),
    /// Attribute read. `stack: obj -> obj.name`
    LoadAttr(NameIdx),
    /// Attribute write. `stack: v obj ->` (does `obj.name = v`)
    StoreAttr(NameIdx),
    /// Attribute delete. `stack: obj ->`
    DeleteAttr(NameIdx),
    /// Method lookup for `CallMethod`. `stack: obj -> func obj` or `stack: obj -> attr Undef`
    LoadMethod(NameIdx),
    /// Calls what `LoadMethod` found. `stack: f self_or_undef a1..an -> result`
    CallMethod(u32),
    /// Subscript read. `stack: obj key -> obj[key]`
    BinarySubscr,
    /// Subscript write. `stack: v obj key ->` (does `obj[key] = v`)
    StoreSubscr,
    /// Subscript delete. `stack: obj key ->`
    DeleteSubscr,
    /// Builds a slice from 2 or 3 values. `stack: lo hi [step] -> slice`
    BuildSlice(u32),
    /// Binary operator. `stack: a b -> a op b`
    Binary(BinOp),
    /// In-place operator (`+=`). `stack: a b -> a op= b`
    Inplace(BinOp),
    /// Unary operator. `stack: a -> op a`
    Unary(UnaryOp),
    /// Rich comparison. `stack: a b -> a cmp b`
    Compare(CmpKind),
    /// Identity test; operand true for `is not`. `stack: a b -> bool`
    Is(bool),
    /// Membership test; operand true for `not in`. `stack: a b -> bool`
    In(bool),
    /// Unconditional jump. `stack: ->`
    Jump(JumpTarget),
    /// Jumps if falsy. `stack: v ->`
    PopJumpIfFalse(JumpTarget),
    /// Jumps if truthy. `stack: v ->`
    PopJumpIfTrue(JumpTarget),
    /// Jumps keeping `v` if falsy, else pops it. `stack: v -> v?`
    JumpIfFalseOrPop(JumpTarget),
    /// Jumps keeping `v` if truthy, else pops it. `stack: v -> v?`
    JumpIfTrueOrPop(JumpTarget),
    /// Replaces an iterable by its iterator. `stack: it -> iter(it)`
    GetIter,
    /// Pushes the next item, or pops the iterator and jumps when exhausted. `stack: it -> it next`
    ForIter(JumpTarget),
    /// Superinstruction: `ForIter(target)` then `StoreFast(slot)`. A range or list iterator's
    /// item goes straight into the local and the `StoreFast` is skipped; any other iterator
    /// (a generator resumed in place included) pushes it for the `StoreFast` to store.
    /// `stack: it -> it`
    ForIterStore(JumpTarget, u16),
    /// Returns from the frame. `stack: v ->`
    Return,
    /// `LoadConst None` fused with the `Return` after it (which stays, for jumps to it):
    /// returns `None`. `stack: ->`
    ReturnNone,
    /// `LoadFast` fused with the `Return` after it (which stays, for jumps to it): returns
    /// the local, moved out of the ending frame. `stack: ->`
    ReturnLocal(LocalSlot),
    /// Calls with positional arguments. `stack: f a1..an -> result`
    Call(u32),
    /// Calls with keywords: the top is a tuple of keyword names for the last values.
    /// `stack: f a1..an names -> result` (n counts positional and keyword values)
    CallKw(u32),
    /// Calls with unpacked arguments; operand true when a kwargs dict is present. The
    /// compiler passes the positional arguments as a fresh list, whose items the call takes.
    /// `stack: f args_list [kwargs] -> result`
    CallEx(bool),
    /// Builds a function. Operand bits: 1 defaults tuple, 2 kwdefaults dict, 4 closure tuple.
    /// `stack: [defaults] [kwdefaults] [closure] code -> function`
    MakeFunction(u32),
    /// `stack: a1..an -> (a1, .., an)`
    BuildTuple(u32),
    /// `stack: a1..an -> [a1, .., an]`
    BuildList(u32),
    /// `stack: a1..an -> {a1, .., an}`
    BuildSet(u32),
    /// `stack: k1 v1 .. kn vn -> {k1: v1, ..}`
    BuildMap(u32),
    /// Concatenates n strings. `stack: s1..sn -> s`
    BuildString(u32),
    /// Appends to the list `depth` below the top. `stack: .. list .. v -> .. list ..`
    ListAppend(u32),
    /// Adds to the set `depth` below the top. `stack: .. set .. v -> .. set ..`
    SetAdd(u32),
    /// Stores into the dict `depth` below the top. `stack: .. d .. k v -> .. d ..`
    MapAdd(u32),
    /// Extends the list below the top by an iterable. `stack: list it -> list`
    ListExtend,
    /// Updates the set below the top by an iterable. `stack: set it -> set`
    SetUpdate,
    /// Updates the dict below the top by a mapping. `stack: d m -> d`
    DictUpdate,
    /// Like `DictUpdate` but duplicate keys are a `TypeError` (for `**` in calls). `stack: d m -> d`
    DictMerge,
    /// `stack: list -> tuple(list)`
    ListToTuple,
    /// Unpacks exactly n items, first item on top. `stack: seq -> vn .. v1`
    UnpackSequence(u32),
    /// Unpacks with a starred target. `stack: seq -> after.. list before..` (first on top)
    UnpackEx { before: u16, after: u16 },
    /// Formats a value for an f-string. Operand: 0 none, 1 `!s`, 2 `!r`, 3 `!a`; +4 when a
    /// spec is on the stack. `stack: v [spec] -> str`
    FormatValue(u32),
    /// Pushes an exception handler jumping to the target, at the current stack depth.
    SetupHandler(JumpTarget),
    /// Like `SetupHandler`, for `with`: the `__enter__` result on the top is not part of
    /// the depth the handler restores (it is stored or popped right after).
    SetupWith(JumpTarget),
    /// Pops the innermost handler.
    PopBlock,
    /// `raise` (0), `raise e` (1), `raise e from c` (2). `stack: [e [c]] ->`
    Raise(u32),
    /// Re-raises the exception on the top (end of a `finally` or unmatched `except`). `stack: e ->`
    Reraise,
    /// Marks the top exception as being handled (for `raise` with no argument and `__context__`).
    /// `stack: e -> e`
    PushExcInfo,
    /// Ends the handling of the innermost handled exception.
    PopExcept,
    /// Tests an exception against a class or tuple. `stack: e cls -> e bool`
    CheckExcMatch,
    /// `except*`: splits a group. `stack: eg cls -> rest match` (match is `None` when empty)
    CheckEgMatch,
    /// `except*` end: combines raised and unhandled parts.
    /// `stack: orig list -> exc_or_none`
    PrepReraiseStar,
    /// Enters a `with` block. `stack: mgr -> exit enter_result`
    BeforeWith,
    /// Calls `exit(type, value, tb)` for the exception on the top. `stack: exit e -> exit e res`
    WithExceptStart,
    /// Enters an `async with`: pushes the bound `__aexit__` and the awaitable of `__aenter__`.
    /// `stack: mgr -> aexit awaitable`
    BeforeAsyncWith,
    /// Pushes the `AssertionError` class. `stack: -> AssertionError`
    LoadAssertionError,
    /// Imports a module by dotted name; binds the top package unless the operand is for
    /// `import a.b as c`. `stack: -> module`
    ImportName(NameIdx),
    /// Reads a name from the module on the top. `stack: m -> m m.name`
    ImportFrom(NameIdx),
    /// Copies every public name of the module on the top into the namespace. `stack: m ->`
    ImportStar,
    /// Pushes the class-building builtin. `stack: -> __build_class__`
    LoadBuildClass,
    /// Yields the top to the resumer; the sent value is pushed on resume. `stack: v -> sent`
    YieldValue,
    /// In an async generator: marks the top as a value yielded to the `async for`, not an
    /// await passing through. `stack: v -> wrapped(v)`
    AsyncGenWrap,
    /// Delegates to a sub-iterator (`yield from` / `await`). `stack: sub v -> sub`
    /// until the sub-iterator returns, then `stack: sub v -> result` and jumps past the loop.
    Send(JumpTarget),
    /// Replaces the top with its awaitable iterator (`__await__`). `stack: v -> awaitable`
    GetAwaitable,
    /// `stack: v -> iter(v)` for `yield from` (coroutines allowed only in coroutines).
    GetYieldFromIter,
    /// `stack: v -> v.__aiter__()`
    GetAiter,
    /// `stack: aiter -> aiter awaitable(aiter.__anext__())`
    GetAnext,
    /// Ends `async for` when `StopAsyncIteration` arrives. `stack: aiter e -> ` or re-raises.
    EndAsyncFor,
    /// Prints the value of an expression statement in the REPL and binds `_`. `stack: v ->`
    PrintExpr,

    /// Raises the error for `return` with a value in an async generator etc. (never emitted
    /// for valid code; kept for the disassembler's completeness).
    Unreachable,
}
