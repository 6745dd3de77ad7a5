//! Annotations, evaluated as CPython 3.11 evaluates them without
//! `from __future__ import annotations`: a `def`'s parameter and return annotations
//! become its `__annotations__` dict; a module or class body that holds annotated
//! assignments gets an `__annotations__` dict, into which each `name: T` at its level
//! stores `T`; other annotated targets only evaluate their parts.

use super::symtable::ScopeKind;
use super::{CResult, Compiler};
use crate::ast::{Expr, ExprKind, FunctionDef, Stmt, StmtKind};
use crate::bytecode::Op;

/// True when `body` holds an annotated assignment at its own level (inside compound
/// statements, not in nested functions or classes): CPython's `find_ann`.
pub(super) fn has_annotations(body: &[Stmt]) -> bool {
    body.iter().any(|s| match &s.kind {
        StmtKind::AnnAssign { .. } => true,
        StmtKind::If { body, orelse, .. }
        | StmtKind::While { body, orelse, .. }
        | StmtKind::For { body, orelse, .. } => has_annotations(body) || has_annotations(orelse),
        StmtKind::With { body, .. } => has_annotations(body),
        StmtKind::Try { body, handlers, orelse, finalbody, .. } => {
            has_annotations(body)
                || handlers.iter().any(|h| has_annotations(&h.body))
                || has_annotations(orelse)
                || has_annotations(finalbody)
        }
        _ => false,
    })
}

impl<'a> Compiler<'a> {
    /// At the start of a module or class body that holds annotations: makes its
    /// `__annotations__` dict (CPython's `SETUP_ANNOTATIONS`). A class body starts with a
    /// fresh namespace; a module's may already have one (the REPL runs each input in the
    /// same module), which is kept.
    pub(super) fn setup_annotations(&mut self, line: u32) {
        let n = self.name("__annotations__");
        if self.scope_kind() == ScopeKind::Class {
            self.emit(Op::BuildMap(0), line);
            self.emit(Op::StoreName(n), line);
            return;
        }
        // try: __annotations__ / except: __annotations__ = {}
        let missing = self.new_label();
        let end = self.new_label();
        self.emit_jump(Op::SetupHandler, missing, line);
        self.emit(Op::LoadGlobal(n), line);
        self.emit(Op::Pop, line);
        self.emit(Op::PopBlock, line);
        self.emit_jump(Op::Jump, end, line);
        self.bind_label(missing);
        self.emit(Op::PushExcInfo, line);
        self.emit(Op::BuildMap(0), line);
        self.emit(Op::StoreGlobal(n), line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Pop, line);
        self.bind_label(end);
    }

    /// `target: annotation [= value]`.
    pub(super) fn ann_assign(
        &mut self,
        target: &'a Expr,
        annotation: &'a Expr,
        value: Option<&'a Expr>,
        simple: bool,
        line: u32,
    ) -> CResult {
        if let Some(v) = value {
            self.expr(v)?;
            self.assign(target)?;
        }
        let evaluated = self.scope_kind() != ScopeKind::Function;
        match &target.kind {
            ExprKind::Name(name) if simple && evaluated => {
                self.expr(annotation)?;
                let n = self.name("__annotations__");
                let load = if self.scope_kind() == ScopeKind::Class { Op::LoadName(n) } else { Op::LoadGlobal(n) };
                self.emit(load, line);
                // The tree is already mangled (see `mangle.rs`): `name` is the key.
                let k = self.const_str(name);
                self.emit(Op::LoadConst(k), line);
                self.emit(Op::StoreSubscr, line);
                return Ok(());
            }
            // Without a value, `a.b: T` evaluates `a`, and `a[i]: T` evaluates `a` and `i`.
            ExprKind::Attribute { value: obj, .. } if value.is_none() => self.evaluate_and_pop(obj, line)?,
            ExprKind::Subscript { value: obj, index } if value.is_none() => {
                self.evaluate_and_pop(obj, line)?;
                self.evaluate_subscript(index, line)?;
            }
            _ => {}
        }
        if !simple && evaluated {
            self.evaluate_and_pop(annotation, line)?;
        }
        Ok(())
    }

    fn evaluate_and_pop(&mut self, e: &'a Expr, line: u32) -> CResult {
        self.expr(e)?;
        self.emit(Op::Pop, line);
        Ok(())
    }

    /// The parts of an annotated subscript target's index: a slice's bounds, a tuple's
    /// items, or the index itself.
    fn evaluate_subscript(&mut self, index: &'a Expr, line: u32) -> CResult {
        match &index.kind {
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper, step].into_iter().flatten() {
                    self.evaluate_and_pop(part, line)?;
                }
                Ok(())
            }
            ExprKind::Tuple(items) => items.iter().try_for_each(|e| self.evaluate_subscript(e, line)),
            _ => self.evaluate_and_pop(index, line),
        }
    }

    /// With the function `f` makes on the stack: sets its `__annotations__` when any of
    /// its parameters or its result is annotated, in CPython's order (positional
    /// parameters, positional-only ones, `*args`, keyword-only ones, `**kwargs`, `return`).
    pub(super) fn function_annotations(&mut self, f: &'a FunctionDef, line: u32) -> CResult {
        let p = &f.params;
        let params = p.args.iter().chain(&p.posonly).chain(&p.vararg).chain(&p.kwonly).chain(&p.kwarg);
        let mut items: Vec<(String, &'a Expr)> =
            params.filter_map(|param| param.annotation.as_ref().map(|a| (param.name.clone(), a))).collect();
        if let Some(r) = &f.returns {
            items.push(("return".to_string(), r));
        }
        if items.is_empty() {
            return Ok(());
        }
        self.emit(Op::Dup, line);
        for (name, annotation) in &items {
            let k = self.const_str(name);
            self.emit(Op::LoadConst(k), line);
            self.expr(annotation)?;
        }
        self.emit(Op::BuildMap(items.len() as u32), line);
        self.emit(Op::Rot2, line);
        let n = self.name("__annotations__");
        self.emit(Op::StoreAttr(n), line);
        Ok(())
    }
}
