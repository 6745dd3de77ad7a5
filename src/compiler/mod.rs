//! The compiler: AST to code objects, with Python's scope rules.
//!
//! **Invariant:** the compiler never runs script code and never sees a frame; its only
//! runtime values are constants (numbers, strings, tuples of them, code objects).

mod annotations;
mod expr;
mod mangle;
mod stmt;
pub mod symtable;
#[cfg(test)]
mod tests;

use crate::ast::{self, Span};
use crate::bytecode::{CellIdx, Code, CodeFlags, ConstIdx, JumpTarget, LocalSlot, NameIdx, Op};
use crate::diagnostics::SyntaxError;
use crate::vm::{Sym, Value};
use std::rc::Rc;
use symtable::{Access, ScopeKind, SymTable};

/// How deep expressions and statements may nest before compilation gives up.
const MAX_NESTING: usize = 2_000;

/// Compiles a parsed module into its code object.
pub fn compile_module(module: &ast::Module, filename: &str, source: &str) -> Result<Rc<Code>, SyntaxError> {
    compile(module, filename, source, false, false)
}

/// Compiles a module for the REPL: expression statements print their value.
pub fn compile_interactive(module: &ast::Module, filename: &str, source: &str) -> Result<Rc<Code>, SyntaxError> {
    compile(module, filename, source, true, false)
}

/// Compiles REPL input that uses `await`, `async for` or `async with` at top level (CPython's
/// `PyCF_ALLOW_TOP_LEVEL_AWAIT`): the module body becomes a *coroutine* code object with
/// module scope (names are the module's globals) and the interactive echo. The caller runs
/// it as a coroutine on an event loop ([`crate::vm::Vm::module_coroutine`]).
pub fn compile_interactive_async(module: &ast::Module, filename: &str, source: &str) -> Result<Rc<Code>, SyntaxError> {
    compile(module, filename, source, true, true)
}

fn compile(
    module: &ast::Module,
    filename: &str,
    source: &str,
    interactive: bool,
    top_level_await: bool,
) -> Result<Rc<Code>, SyntaxError> {
    let mangled = mangle::mangle_module(module, source);
    let module = mangled.as_ref().unwrap_or(module);
    let table = symtable::analyse(module).map_err(|e| SyntaxError::new(e.message, e.span))?;
    let mut c = Compiler {
        table,
        filename: Rc::from(filename),
        line_starts: line_starts(source),
        units: Vec::new(),
        interactive,
        depth: 0,
    };
    c.push_unit(0, "<module>", "<module>", 1);
    c.unit().flags.module = true;
    if top_level_await {
        // `await` is allowed at top level: the body is compiled as an `async def` body would
        // be, but keeps module scope (the unit is still not a function: `return` and `yield`
        // stay errors).
        c.unit().is_async = true;
        c.unit().flags.coroutine = true;
    }
    let body = &module.body;
    if annotations::has_annotations(body) {
        c.setup_annotations(1);
    }
    if let Some(doc) = docstring(body) {
        let k = c.const_str(&doc);
        c.emit(Op::LoadConst(k), 1);
        let n = c.name("__doc__");
        c.emit(Op::StoreGlobal(n), 1);
    }
    c.stmts(body)?;
    let none = c.const_none();
    let line = c.last_line();
    c.emit(Op::LoadConst(none), line);
    c.emit(Op::Return, line);
    Ok(Rc::new(c.pop_unit()))
}

fn line_starts(source: &str) -> Vec<u32> {
    let mut v = vec![0u32];
    for (i, b) in source.bytes().enumerate() {
        if b == b'\n' {
            v.push(i as u32 + 1);
        }
    }
    v
}

/// Rewrites common pairs into superinstructions. The second instruction of each pair stays
/// in place (the fused one skips it), so jump targets and line numbers are unchanged.
fn fuse_superinstructions(ops: &mut [Op], consts: &[Value]) {
    for i in 0..ops.len().saturating_sub(1) {
        let fused = match (ops[i], ops[i + 1]) {
            (Op::LoadConst(k), Op::Return) if matches!(consts.get(k.0 as usize), Some(Value::None)) => Op::ReturnNone,
            (Op::LoadFast(s), Op::Return) if s.0 < 0x10000 => Op::ReturnLocal(s),
            // `x` then `self.name`: leave `LoadFast(self)` to pair with its attribute.
            (Op::LoadFast(_), Op::LoadFast(_))
                if matches!(ops.get(i + 2), Some(Op::LoadAttr(_) | Op::StoreAttr(_) | Op::LoadMethod(_))) =>
            {
                continue
            }
            (Op::LoadFast(a), Op::LoadFast(b)) if a.0 < 0x10000 && b.0 < 0x10000 => {
                Op::LoadFastFast(a.0 as u16, b.0 as u16)
            }
            (Op::LoadFast(a), Op::LoadConst(k)) if a.0 < 0x10000 && k.0 < 0x10000 => {
                Op::LoadFastConst(a.0 as u16, k.0 as u16)
            }
            (Op::Compare(kind), Op::PopJumpIfFalse(t)) => Op::CompareJumpIfFalse(kind, t),
            (Op::Compare(kind), Op::PopJumpIfTrue(t)) => Op::CompareJumpIfTrue(kind, t),
            (Op::LoadFast(a), Op::LoadAttr(n)) if a.0 < 0x10000 && n.0 < 0x10000 => {
                Op::LoadFastAttr(a.0 as u16, n.0 as u16)
            }
            (Op::LoadFast(a), Op::StoreAttr(n)) if a.0 < 0x10000 && n.0 < 0x10000 => {
                Op::StoreFastAttr(a.0 as u16, n.0 as u16)
            }
            (Op::LoadFast(a), Op::LoadMethod(n)) if a.0 < 0x10000 && n.0 < 0x10000 => {
                Op::LoadFastMethod(a.0 as u16, n.0 as u16)
            }
            (Op::ForIter(t), Op::StoreFast(s)) if s.0 < 0x10000 => Op::ForIterStore(t, s.0 as u16),
            _ => continue,
        };
        ops[i] = fused;
    }
    // Three-instruction forms over the pairs just made: a local and a constant or two
    // locals, then arithmetic or a compare-and-branch.
    for i in 0..ops.len().saturating_sub(2) {
        let fused = match (ops[i], ops[i + 2]) {
            (Op::LoadFastConst(a, k), Op::Binary(op) | Op::Inplace(op)) => Op::FastConstArith(a, k, op),
            (Op::LoadFastFast(a, b), Op::Binary(op) | Op::Inplace(op)) => Op::FastFastArith(a, b, op),
            (Op::LoadFastConst(a, k), Op::CompareJumpIfFalse(kind, _)) => Op::FastConstCompareJump(a, k, kind),
            (Op::LoadFastFast(a, b), Op::CompareJumpIfFalse(kind, _)) => Op::FastFastCompareJump(a, b, kind),
            _ => continue,
        };
        ops[i] = fused;
    }
}

/// The docstring of a body, if its first statement is a string literal.
fn docstring(body: &[ast::Stmt]) -> Option<String> {
    match body.first().map(|s| &s.kind) {
        Some(ast::StmtKind::Expr(ast::Expr { kind: ast::ExprKind::Constant(ast::Constant::Str(s)), .. })) => {
            Some(s.clone())
        }
        _ => None,
    }
}

/// A compile-time block that `break`, `continue` and `return` must unwind through.
#[derive(Clone)]
enum Block<'a> {
    /// A loop; `is_for` means an iterator sits on the stack.
    Loop { is_for: bool, continue_to: JumpTarget, break_label: usize },
    /// The protected body of a `try` with handlers: leaving it pops the handler.
    Handler,
    /// The body of a `try ... finally`: leaving it runs the final body.
    Finally(&'a [ast::Stmt]),
    /// An `except` clause body: the exception is on the stack and being handled. With
    /// `as name`, a second handler around the body unbinds the name when an exception
    /// leaves it, and leaving it otherwise unbinds the name too (as CPython's implicit
    /// `finally: name = None; del name`).
    ExceptBody(Option<&'a str>),
    /// A `with` body: the exit function is on the stack.
    With { is_async: bool },
    /// A `finally` body run for an exception: the exception is on the stack and handled.
    FinallyExc,
}

/// One code object under construction.
struct Unit<'a> {
    scope: usize,
    name: Rc<str>,
    qualname: Rc<str>,
    ops: Vec<Op>,
    lines: Vec<u32>,
    consts: Vec<Value>,
    names: Vec<Sym>,
    varnames: Vec<Sym>,
    cellvars: Vec<Sym>,
    freevars: Vec<Sym>,
    flags: CodeFlags,
    first_line: u32,
    argcount: u32,
    posonly: u32,
    kwonly: u32,
    doc: Option<Rc<str>>,
    /// Label id to instruction index (u32::MAX while unbound).
    labels: Vec<u32>,
    /// Instructions waiting for a label: (instruction index, label id).
    fixups: Vec<(usize, usize)>,
    blocks: Vec<Block<'a>>,
    in_loop_depth: usize,
    is_async: bool,
    is_function: bool,
}

impl Unit<'_> {
    /// Whether this unit is a comprehension's: what is defined inside one is named
    /// `<listcomp>.<lambda>`, without the `<locals>` a function adds (CPython 3.11).
    fn is_comprehension(&self) -> bool {
        matches!(&*self.name, "<listcomp>" | "<setcomp>" | "<dictcomp>" | "<genexpr>")
    }
}

struct Compiler<'a> {
    table: SymTable,
    filename: Rc<str>,
    line_starts: Vec<u32>,
    units: Vec<Unit<'a>>,
    interactive: bool,
    depth: usize,
}

/// A forward jump target.
#[derive(Clone, Copy)]
struct Label(usize);

type CResult = Result<(), SyntaxError>;

impl<'a> Compiler<'a> {
    fn unit(&mut self) -> &mut Unit<'a> {
        self.units.last_mut().expect("a unit is open")
    }
    fn scope_kind(&self) -> ScopeKind {
        let u = self.units.last().expect("a unit is open");
        self.table.scopes[u.scope].kind
    }

    fn line_of(&self, span: Span) -> u32 {
        match self.line_starts.binary_search(&span.start) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    fn push_unit(&mut self, scope: usize, name: &str, qualname: &str, first_line: u32) {
        let s = &self.table.scopes[scope];
        let cellvars: Vec<Sym> = s.cellvars.iter().map(|n| Sym::new(n)).collect();
        let freevars: Vec<Sym> = s.freevars.iter().map(|n| Sym::new(n)).collect();
        let mut varnames: Vec<Sym> = Vec::new();
        if s.kind == ScopeKind::Function {
            for p in &s.params {
                varnames.push(Sym::new(p));
            }
            for l in &s.local_order {
                let sym = Sym::new(l);
                if !varnames.contains(&sym) && matches!(s.access.get(l), Some(Access::Local) | Some(Access::Cell)) {
                    varnames.push(sym);
                }
            }
        }
        self.units.push(Unit {
            scope,
            name: Rc::from(name),
            qualname: Rc::from(qualname),
            ops: Vec::new(),
            lines: Vec::new(),
            consts: Vec::new(),
            names: Vec::new(),
            varnames,
            cellvars,
            freevars,
            flags: CodeFlags::default(),
            first_line,
            argcount: 0,
            posonly: 0,
            kwonly: 0,
            doc: None,
            labels: Vec::new(),
            fixups: Vec::new(),
            blocks: Vec::new(),
            in_loop_depth: 0,
            is_async: false,
            is_function: s.kind == ScopeKind::Function,
        });
    }

    fn pop_unit(&mut self) -> Code {
        let u = self.units.pop().expect("a unit is open");
        let mut ops = u.ops;
        for (at, label) in u.fixups {
            let target = JumpTarget(u.labels[label]);
            ops[at] = match ops[at] {
                Op::Jump(_) => Op::Jump(target),
                Op::PopJumpIfFalse(_) => Op::PopJumpIfFalse(target),
                Op::PopJumpIfTrue(_) => Op::PopJumpIfTrue(target),
                Op::JumpIfFalseOrPop(_) => Op::JumpIfFalseOrPop(target),
                Op::JumpIfTrueOrPop(_) => Op::JumpIfTrueOrPop(target),
                Op::ForIter(_) => Op::ForIter(target),
                Op::SetupHandler(_) => Op::SetupHandler(target),
                Op::SetupWith(_) => Op::SetupWith(target),
                Op::Send(_) => Op::Send(target),
                other => other,
            };
        }
        fuse_superinstructions(&mut ops, &u.consts);
        let s = &self.table.scopes[u.scope];
        let mut cell_params = Vec::new();
        for (ci, c) in u.cellvars.iter().enumerate() {
            if let Some(pi) = u.varnames.iter().position(|v| v == c) {
                if pi < s.params.len() {
                    cell_params.push((ci as u32, pi as u32));
                }
            }
        }
        Code {
            name: u.name,
            qualname: u.qualname,
            filename: self.filename.clone(),
            ops,
            lines: u.lines,
            consts: u.consts,
            names: u.names,
            varnames: u.varnames,
            cellvars: u.cellvars,
            freevars: u.freevars,
            cell_params,
            argcount: u.argcount,
            posonlyargcount: u.posonly,
            kwonlyargcount: u.kwonly,
            flags: u.flags,
            first_line: u.first_line,
            doc: u.doc,
            global_cache: Default::default(),
            attr_cache: Default::default(),
            plain_arity: u32::MAX,
            suspend_len: Default::default(),
        }
        .finish()
    }

    // ---- emitting ----

    fn emit(&mut self, op: Op, line: u32) -> usize {
        let u = self.unit();
        u.ops.push(op);
        u.lines.push(line);
        u.ops.len() - 1
    }
    fn new_label(&mut self) -> Label {
        let u = self.unit();
        u.labels.push(u32::MAX);
        Label(u.labels.len() - 1)
    }
    fn bind_label(&mut self, l: Label) {
        let u = self.unit();
        u.labels[l.0] = u.ops.len() as u32;
    }
    /// Emits a jump-like op whose target is a label bound later (or already).
    fn emit_jump(&mut self, op: fn(JumpTarget) -> Op, l: Label, line: u32) {
        let at = self.emit(op(JumpTarget(0)), line);
        self.unit().fixups.push((at, l.0));
    }
    fn here(&mut self) -> JumpTarget {
        JumpTarget(self.unit().ops.len() as u32)
    }

    fn add_const(&mut self, v: Value) -> ConstIdx {
        let u = self.unit();
        let found = u.consts.iter().position(|c| match (c, &v) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a.s == b.s,
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        });
        match found {
            Some(i) => ConstIdx(i as u32),
            None => {
                u.consts.push(v);
                ConstIdx(u.consts.len() as u32 - 1)
            }
        }
    }
    fn const_none(&mut self) -> ConstIdx {
        self.add_const(Value::None)
    }
    fn const_str(&mut self, s: &str) -> ConstIdx {
        self.add_const(Value::str(s))
    }
    fn load_none(&mut self, line: u32) {
        let k = self.const_none();
        self.emit(Op::LoadConst(k), line);
    }
    fn name(&mut self, n: &str) -> NameIdx {
        let sym = Sym::new(n);
        let u = self.unit();
        match u.names.iter().position(|x| *x == sym) {
            Some(i) => NameIdx(i as u32),
            None => {
                u.names.push(sym);
                NameIdx(u.names.len() as u32 - 1)
            }
        }
    }
    fn local_slot(&mut self, n: &str) -> LocalSlot {
        let sym = Sym::new(n);
        let u = self.unit();
        match u.varnames.iter().position(|x| *x == sym) {
            Some(i) => LocalSlot(i as u32),
            None => {
                u.varnames.push(sym);
                LocalSlot(u.varnames.len() as u32 - 1)
            }
        }
    }
    fn cell_index(&mut self, n: &str) -> CellIdx {
        let sym = Sym::new(n);
        let u = self.unit();
        if let Some(i) = u.cellvars.iter().position(|x| *x == sym) {
            return CellIdx(i as u32);
        }
        if let Some(i) = u.freevars.iter().position(|x| *x == sym) {
            return CellIdx((u.cellvars.len() + i) as u32);
        }
        u.freevars.push(sym);
        CellIdx((u.cellvars.len() + u.freevars.len() - 1) as u32)
    }

    fn access(&self, n: &str) -> Access {
        let u = self.units.last().expect("a unit is open");
        self.table.scopes[u.scope].lookup(n)
    }

    // ---- names ----

    fn load_name(&mut self, n: &str, line: u32) {
        match self.access(n) {
            Access::Local => {
                let s = self.local_slot(n);
                self.emit(Op::LoadFast(s), line);
            }
            Access::Cell | Access::Free => {
                let c = self.cell_index(n);
                if self.scope_kind() == ScopeKind::Class {
                    self.emit(Op::LoadClassDeref(c), line);
                } else {
                    self.emit(Op::LoadDeref(c), line);
                }
            }
            Access::Global => {
                let i = self.name(n);
                self.emit(Op::LoadGlobal(i), line);
            }
            Access::Name => {
                let i = self.name(n);
                if self.scope_kind() == ScopeKind::Module {
                    self.emit(Op::LoadGlobal(i), line);
                } else {
                    self.emit(Op::LoadName(i), line);
                }
            }
        }
    }
    fn store_name(&mut self, n: &str, line: u32) {
        match self.access(n) {
            Access::Local => {
                let s = self.local_slot(n);
                self.emit(Op::StoreFast(s), line);
            }
            Access::Cell | Access::Free => {
                let c = self.cell_index(n);
                self.emit(Op::StoreDeref(c), line);
            }
            Access::Global => {
                let i = self.name(n);
                self.emit(Op::StoreGlobal(i), line);
            }
            Access::Name => {
                let i = self.name(n);
                if self.scope_kind() == ScopeKind::Module {
                    self.emit(Op::StoreGlobal(i), line);
                } else {
                    self.emit(Op::StoreName(i), line);
                }
            }
        }
    }
    fn delete_name(&mut self, n: &str, line: u32) {
        match self.access(n) {
            Access::Local => {
                let s = self.local_slot(n);
                self.emit(Op::DeleteFast(s), line);
            }
            Access::Cell | Access::Free => {
                let c = self.cell_index(n);
                self.emit(Op::DeleteDeref(c), line);
            }
            Access::Global => {
                let i = self.name(n);
                self.emit(Op::DeleteGlobal(i), line);
            }
            Access::Name => {
                let i = self.name(n);
                if self.scope_kind() == ScopeKind::Module {
                    self.emit(Op::DeleteGlobal(i), line);
                } else {
                    self.emit(Op::DeleteName(i), line);
                }
            }
        }
    }

    fn enter(&mut self, span: Span) -> CResult {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(SyntaxError::new("maximum recursion depth exceeded during compilation", span)
                .with_kind(crate::diagnostics::SyntaxErrorKind::Recursion));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn error(&self, msg: &str, span: Span) -> SyntaxError {
        SyntaxError::new(msg, span)
    }
}

impl Compiler<'_> {
    /// The line of the last emitted instruction (for code emitted after the last statement).
    fn last_line(&self) -> u32 {
        self.units.last().and_then(|u| u.lines.last().copied()).unwrap_or(1)
    }
}
