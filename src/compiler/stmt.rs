//! Statement compilation: control flow, handlers, definitions, imports.

use super::symtable::{node_key, ScopeKind};
use super::{docstring, Block, CResult, Compiler, Label};
use crate::ast::*;
use crate::bytecode::{JumpTarget, Op};
use crate::vm::Value;
use std::rc::Rc;

impl<'a> Compiler<'a> {
    pub(super) fn stmts(&mut self, body: &'a [Stmt]) -> CResult {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> CResult {
        self.enter(s.span)?;
        let r = self.stmt_inner(s);
        self.leave();
        r
    }

    fn stmt_inner(&mut self, s: &'a Stmt) -> CResult {
        let line = self.line_of(s.span);
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr(e)?;
                if self.interactive && self.units.len() == 1 {
                    self.emit(Op::PrintExpr, line);
                } else {
                    self.emit(Op::Pop, line);
                }
            }
            StmtKind::Assign { targets, value } => {
                self.expr(value)?;
                for (i, t) in targets.iter().enumerate() {
                    if i + 1 < targets.len() {
                        self.emit(Op::Dup, line);
                    }
                    self.assign(t)?;
                }
            }
            StmtKind::AugAssign { target, op, value } => self.aug_assign(target, *op, value, line)?,
            StmtKind::AnnAssign { target, annotation, value, simple } => {
                self.ann_assign(target, annotation, value.as_ref(), *simple, line)?
            }
            StmtKind::FunctionDef(f) => self.function_def(f, line)?,
            StmtKind::ClassDef(c) => self.class_def(c, line)?,
            StmtKind::Return(v) => {
                if !self.unit().is_function {
                    return Err(self.error("'return' outside function", s.span));
                }
                if v.is_some() && self.unit().flags.async_generator {
                    return Err(self.error("'return' with value in async generator", s.span));
                }
                match v {
                    Some(v) => self.expr(v)?,
                    None => self.load_none(line),
                }
                self.unwind_all(true, line)?;
                self.emit(Op::Return, line);
            }
            StmtKind::Delete(targets) => {
                for t in targets {
                    self.delete(t)?;
                }
            }
            StmtKind::If { test, body, orelse } => {
                let else_l = self.new_label();
                let end = self.new_label();
                self.cond_jump(test, false, else_l)?;
                self.stmts(body)?;
                if !orelse.is_empty() {
                    self.emit_jump(Op::Jump, end, line);
                }
                self.bind_label(else_l);
                self.stmts(orelse)?;
                self.bind_label(end);
            }
            StmtKind::While { test, body, orelse } => {
                let top = self.here();
                let else_l = self.new_label();
                let brk = self.new_label();
                self.cond_jump(test, false, else_l)?;
                self.unit().blocks.push(Block::Loop { is_for: false, continue_to: top, break_label: brk.0 });
                self.unit().in_loop_depth += 1;
                self.stmts(body)?;
                self.unit().in_loop_depth -= 1;
                self.unit().blocks.pop();
                self.emit(Op::Jump(top), line);
                self.bind_label(else_l);
                self.stmts(orelse)?;
                self.bind_label(brk);
            }
            StmtKind::For { target, iter, body, orelse, is_async } => {
                if *is_async {
                    return self.async_for(target, iter, body, orelse, s.span, line);
                }
                self.expr(iter)?;
                self.emit(Op::GetIter, line);
                let top = self.here();
                let done = self.new_label();
                let brk = self.new_label();
                self.emit_jump(Op::ForIter, done, line);
                self.assign(target)?;
                self.unit().blocks.push(Block::Loop { is_for: true, continue_to: top, break_label: brk.0 });
                self.unit().in_loop_depth += 1;
                self.stmts(body)?;
                self.unit().in_loop_depth -= 1;
                self.unit().blocks.pop();
                self.emit(Op::Jump(top), line);
                self.bind_label(done);
                self.stmts(orelse)?;
                self.bind_label(brk);
            }
            StmtKind::Break => self.break_continue(true, s.span, line)?,
            StmtKind::Continue => self.break_continue(false, s.span, line)?,
            StmtKind::With { items, body, is_async } => {
                if *is_async && !self.unit().is_async {
                    return Err(self.error("'async with' outside async function", s.span));
                }
                self.with(items, body, *is_async, line)?
            }
            StmtKind::Try { body, handlers, orelse, finalbody, star } => {
                if finalbody.is_empty() {
                    self.try_except(body, handlers, orelse, *star, line)?;
                } else {
                    self.try_finally(body, handlers, orelse, finalbody, *star, line)?;
                }
            }
            StmtKind::Raise { exc, cause } => {
                let n = match (exc, cause) {
                    (None, _) => 0,
                    (Some(e), None) => {
                        self.expr(e)?;
                        1
                    }
                    (Some(e), Some(c)) => {
                        self.expr(e)?;
                        self.expr(c)?;
                        2
                    }
                };
                self.emit(Op::Raise(n), line);
            }
            StmtKind::Assert { test, msg } => {
                let end = self.new_label();
                self.cond_jump(test, true, end)?;
                self.emit(Op::LoadAssertionError, line);
                if let Some(m) = msg {
                    self.expr(m)?;
                    self.emit(Op::Call(1), line);
                }
                self.emit(Op::Raise(1), line);
                self.bind_label(end);
            }
            StmtKind::Import(names) => {
                for a in names {
                    let n = self.name(&a.name);
                    self.emit(Op::ImportName(n), line);
                    match &a.asname {
                        Some(asname) => {
                            // `import a.b as c` binds the submodule: walk the attributes.
                            for part in a.name.split('.').skip(1) {
                                let p = self.name(part);
                                self.emit(Op::LoadAttr(p), line);
                            }
                            self.store_name(asname, line);
                        }
                        None => {
                            let top = a.name.split('.').next().unwrap_or("").to_string();
                            self.store_name(&top, line);
                        }
                    }
                }
            }
            StmtKind::ImportFrom { module, names, level } => {
                if *level > 0 {
                    return Err(self.error("attempted relative import with no known parent package", s.span));
                }
                let m = module.clone().unwrap_or_default();
                let n = self.name(&m);
                self.emit(Op::ImportName(n), line);
                // `from a.b import c` reads from the submodule.
                for part in m.split('.').skip(1) {
                    let p = self.name(part);
                    self.emit(Op::LoadAttr(p), line);
                }
                if names.len() == 1 && names[0].name == "*" {
                    self.emit(Op::ImportStar, line);
                } else {
                    for a in names {
                        let nm = self.name(&a.name);
                        self.emit(Op::ImportFrom(nm), line);
                        let local = a.asname.clone().unwrap_or_else(|| a.name.clone());
                        self.store_name(&local, line);
                    }
                    self.emit(Op::Pop, line);
                }
            }
            StmtKind::Global(_) | StmtKind::Nonlocal(_) | StmtKind::Pass => {}
        }
        Ok(())
    }

    /// Emits the exits of every block up to (not including) the innermost loop for
    /// `break`/`continue`, or of all blocks for `return` (`preserve_top`: a return value
    /// sits on the stack and must stay on top).
    fn unwind_blocks(&mut self, upto: usize, preserve_top: bool, line: u32) -> CResult {
        let blocks: Vec<Block<'a>> = self.unit().blocks.clone();
        let mut i = blocks.len();
        while i > upto {
            i -= 1;
            match &blocks[i] {
                Block::Loop { is_for, .. } => {
                    if *is_for {
                        if preserve_top {
                            self.emit(Op::Rot2, line);
                        }
                        self.emit(Op::Pop, line);
                    }
                }
                Block::Handler => {
                    self.emit(Op::PopBlock, line);
                }
                Block::Finally(body) => {
                    self.emit(Op::PopBlock, line);
                    // Compile the final body with the blocks outside it only.
                    let saved = std::mem::take(&mut self.unit().blocks);
                    self.unit().blocks = saved[..i].to_vec();
                    let r = self.stmts(body);
                    self.unit().blocks = saved;
                    r?;
                }
                Block::ExceptBody(name) => {
                    if let Some(name) = name {
                        self.emit(Op::PopBlock, line);
                        self.unbind_except_name(name, line);
                    }
                    self.emit(Op::PopBlock, line);
                    self.emit(Op::PopExcept, line);
                    if preserve_top {
                        self.emit(Op::Rot2, line);
                    }
                    self.emit(Op::Pop, line);
                }
                Block::FinallyExc => {
                    self.emit(Op::PopBlock, line);
                    self.emit(Op::PopExcept, line);
                    if preserve_top {
                        self.emit(Op::Rot2, line);
                    }
                    self.emit(Op::Pop, line);
                }
                Block::With { is_async } => {
                    self.emit(Op::PopBlock, line);
                    if preserve_top {
                        self.emit(Op::Rot2, line);
                    }
                    self.call_exit_with_nones(*is_async, line);
                }
            }
        }
        Ok(())
    }

    fn unwind_all(&mut self, preserve_top: bool, line: u32) -> CResult {
        self.unwind_blocks(0, preserve_top, line)
    }

    /// With the exit function on top: calls it with three `None`s and discards the result.
    fn call_exit_with_nones(&mut self, is_async: bool, line: u32) {
        for _ in 0..3 {
            self.load_none(line);
        }
        self.emit(Op::Call(3), line);
        if is_async {
            self.emit_await(line);
        }
        self.emit(Op::Pop, line);
    }

    fn break_continue(&mut self, is_break: bool, span: Span, line: u32) -> CResult {
        let blocks = self.unit().blocks.clone();
        let Some(loop_at) = blocks.iter().rposition(|b| matches!(b, Block::Loop { .. })) else {
            let msg = if is_break { "'break' outside loop" } else { "'continue' not properly in loop" };
            return Err(self.error(msg, span));
        };
        self.unwind_blocks(loop_at + 1, false, line)?;
        if let Block::Loop { is_for, continue_to, break_label } = blocks[loop_at] {
            if is_break {
                if is_for {
                    self.emit(Op::Pop, line);
                }
                self.emit_jump(Op::Jump, Label(break_label), line);
            } else {
                self.emit(Op::Jump(continue_to), line);
            }
        }
        Ok(())
    }

    fn try_except(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ExceptHandler],
        orelse: &'a [Stmt],
        star: bool,
        line: u32,
    ) -> CResult {
        let except_l = self.new_label();
        let end = self.new_label();
        self.emit_jump(Op::SetupHandler, except_l, line);
        self.unit().blocks.push(Block::Handler);
        self.stmts(body)?;
        self.unit().blocks.pop();
        self.emit(Op::PopBlock, line);
        self.stmts(orelse)?;
        self.emit_jump(Op::Jump, end, line);
        self.bind_label(except_l);
        if star {
            self.except_star_handlers(handlers, end, line)?;
        } else {
            self.except_handlers(handlers, end, line)?;
        }
        self.bind_label(end);
        Ok(())
    }

    /// The handler section: the exception is on the stack.
    fn except_handlers(&mut self, handlers: &'a [ExceptHandler], end: Label, line: u32) -> CResult {
        let cleanup = self.new_label();
        self.emit(Op::PushExcInfo, line);
        self.emit_jump(Op::SetupHandler, cleanup, line);
        for (i, h) in handlers.iter().enumerate() {
            let hline = self.line_of(h.span);
            let next = self.new_label();
            match &h.typ {
                Some(t) => {
                    self.expr(t)?;
                    self.emit(Op::CheckExcMatch, hline);
                    self.emit_jump(Op::PopJumpIfFalse, next, hline);
                }
                None => {
                    if i + 1 != handlers.len() {
                        return Err(self.error("default 'except:' must be last", h.span));
                    }
                }
            }
            let name = h.name.as_deref();
            let unbind = name.map(|name| {
                self.emit(Op::Dup, hline);
                self.store_name(name, hline);
                let unbind = self.new_label();
                self.emit_jump(Op::SetupHandler, unbind, hline);
                (name, unbind)
            });
            self.unit().blocks.push(Block::ExceptBody(name));
            let r = self.stmts(&h.body);
            self.unit().blocks.pop();
            r?;
            if let Some((name, _)) = unbind {
                self.emit(Op::PopBlock, hline);
                self.unbind_except_name(name, hline);
            }
            self.emit(Op::PopBlock, hline);
            self.emit(Op::PopExcept, hline);
            self.emit(Op::Pop, hline);
            self.emit_jump(Op::Jump, end, hline);
            if let Some((name, unbind)) = unbind {
                // An exception left the body: unbind the name and pass the exception on.
                self.bind_label(unbind);
                self.unbind_except_name(name, hline);
                self.emit(Op::Reraise, hline);
            }
            self.bind_label(next);
        }
        // No handler matched: re-raise with the handler popped.
        self.emit(Op::PopBlock, line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        // An exception inside a handler body: drop the original, end its handling, re-raise.
        self.bind_label(cleanup);
        self.emit(Op::Rot2, line);
        self.emit(Op::Pop, line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        Ok(())
    }

    /// The end of an `except ... as name` body: `name = None; del name`.
    fn unbind_except_name(&mut self, name: &str, line: u32) {
        self.load_none(line);
        self.store_name(name, line);
        self.delete_name(name, line);
    }

    /// `except*` clauses: each takes its matching part of the group; what is left re-raises.
    fn except_star_handlers(&mut self, handlers: &'a [ExceptHandler], end: Label, line: u32) -> CResult {
        // Stack on entry: eg. Layout while matching: orig raised_list rest.
        let cleanup = self.new_label();
        self.emit(Op::PushExcInfo, line);
        self.emit_jump(Op::SetupHandler, cleanup, line);
        self.emit(Op::Dup, line); // orig rest
        self.emit(Op::BuildList(0), line); // orig rest list
        self.emit(Op::Rot2, line); // orig list rest
        for h in handlers {
            let hline = self.line_of(h.span);
            let Some(t) = &h.typ else {
                return Err(self.error("expected an exception type after 'except*'", h.span));
            };
            let next = self.new_label();
            let no_match = self.new_label();
            let body_exc = self.new_label();
            let after = self.new_label();
            self.expr(t)?;
            self.emit(Op::CheckEgMatch, hline); // orig list rest match
            self.emit(Op::Dup, hline);
            self.load_none(hline);
            self.emit(Op::Is(false), hline);
            self.emit_jump(Op::PopJumpIfTrue, no_match, hline); // orig list rest match
            match &h.name {
                Some(name) => self.store_name(name, hline),
                None => {
                    self.emit(Op::Pop, hline);
                }
            } // orig list rest
            self.emit_jump(Op::SetupHandler, body_exc, hline);
            self.unit().blocks.push(Block::Handler);
            let r = self.stmts(&h.body);
            self.unit().blocks.pop();
            r?;
            self.emit(Op::PopBlock, hline);
            self.emit_jump(Op::Jump, after, hline);
            // The handler raised: add that exception to the list.
            self.bind_label(body_exc); // orig list rest new
            self.emit(Op::Rot2, hline); // orig list new rest
            self.emit(Op::Rot3, hline); // orig rest list new
            self.emit(Op::ListAppend(1), hline); // orig rest list
            self.emit(Op::Rot2, hline); // orig list rest
            self.bind_label(after);
            if let Some(name) = &h.name {
                self.load_none(hline);
                self.store_name(name, hline);
                self.delete_name(name, hline);
            }
            self.emit_jump(Op::Jump, next, hline);
            self.bind_label(no_match);
            self.emit(Op::Pop, hline);
            self.bind_label(next);
        }
        // orig list rest -> append rest to list unless None, then combine.
        self.emit(Op::ListAppend(1), line); // orig list   (PrepReraiseStar ignores None entries)
        self.emit(Op::PrepReraiseStar, line); // exc_or_none
        self.emit(Op::PopBlock, line);
        let none_l = self.new_label();
        self.emit(Op::Dup, line);
        self.load_none(line);
        self.emit(Op::Is(false), line);
        self.emit_jump(Op::PopJumpIfTrue, none_l, line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        self.bind_label(none_l);
        self.emit(Op::Pop, line);
        self.emit(Op::PopExcept, line);
        self.emit_jump(Op::Jump, end, line);
        self.bind_label(cleanup);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        Ok(())
    }

    fn try_finally(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ExceptHandler],
        orelse: &'a [Stmt],
        finalbody: &'a [Stmt],
        star: bool,
        line: u32,
    ) -> CResult {
        let exc_l = self.new_label();
        let end = self.new_label();
        self.emit_jump(Op::SetupHandler, exc_l, line);
        self.unit().blocks.push(Block::Finally(finalbody));
        if handlers.is_empty() {
            self.stmts(body)?;
            self.stmts(orelse)?;
        } else {
            self.try_except(body, handlers, orelse, star, line)?;
        }
        self.unit().blocks.pop();
        self.emit(Op::PopBlock, line);
        self.stmts(finalbody)?;
        self.emit_jump(Op::Jump, end, line);
        // The exceptional path: run the final body with the exception handled, then re-raise.
        self.bind_label(exc_l);
        let cleanup = self.new_label();
        self.emit(Op::PushExcInfo, line);
        self.emit_jump(Op::SetupHandler, cleanup, line);
        self.unit().blocks.push(Block::FinallyExc);
        self.stmts(finalbody)?;
        self.unit().blocks.pop();
        self.emit(Op::PopBlock, line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        self.bind_label(cleanup);
        self.emit(Op::Rot2, line);
        self.emit(Op::Pop, line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        self.bind_label(end);
        Ok(())
    }

    fn with(&mut self, items: &'a [WithItem], body: &'a [Stmt], is_async: bool, line: u32) -> CResult {
        let Some((first, rest)) = items.split_first() else {
            return self.stmts(body);
        };
        let exc_l = self.new_label();
        let end = self.new_label();
        let suppress = self.new_label();
        self.expr(&first.context)?;
        if is_async {
            self.emit(Op::BeforeAsyncWith, line);
            self.emit_await(line);
        } else {
            self.emit(Op::BeforeWith, line);
        }
        self.emit_jump(Op::SetupWith, exc_l, line);
        match &first.target {
            Some(t) => self.assign(t)?,
            None => {
                self.emit(Op::Pop, line);
            }
        }
        self.unit().blocks.push(Block::With { is_async });
        if rest.is_empty() {
            self.stmts(body)?;
        } else {
            self.with(rest, body, is_async, line)?;
        }
        self.unit().blocks.pop();
        self.emit(Op::PopBlock, line);
        self.call_exit_with_nones(is_async, line);
        self.emit_jump(Op::Jump, end, line);
        self.bind_label(exc_l); // exit exc
        self.emit(Op::PushExcInfo, line);
        self.emit(Op::WithExceptStart, line); // exit exc res
        if is_async {
            self.emit_await(line);
        }
        self.emit_jump(Op::PopJumpIfTrue, suppress, line);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Reraise, line);
        self.bind_label(suppress);
        self.emit(Op::PopExcept, line);
        self.emit(Op::Pop, line);
        self.emit(Op::Pop, line);
        self.bind_label(end);
        Ok(())
    }

    fn async_for(
        &mut self,
        target: &'a Expr,
        iter: &'a Expr,
        body: &'a [Stmt],
        orelse: &'a [Stmt],
        span: Span,
        line: u32,
    ) -> CResult {
        if !self.unit().is_async {
            return Err(self.error("'async for' outside async function", span));
        }
        self.expr(iter)?;
        self.emit(Op::GetAiter, line);
        let top = self.here();
        let exc_l = self.new_label();
        let brk = self.new_label();
        let done = self.new_label();
        self.emit_jump(Op::SetupHandler, exc_l, line);
        self.emit(Op::GetAnext, line);
        self.emit_await(line);
        self.emit(Op::PopBlock, line);
        self.assign(target)?;
        self.unit().blocks.push(Block::Loop { is_for: true, continue_to: top, break_label: brk.0 });
        self.unit().in_loop_depth += 1;
        self.stmts(body)?;
        self.unit().in_loop_depth -= 1;
        self.unit().blocks.pop();
        self.emit(Op::Jump(top), line);
        self.bind_label(exc_l); // aiter exc
        self.emit(Op::EndAsyncFor, line);
        self.emit_jump(Op::Jump, done, line);
        self.bind_label(done);
        self.stmts(orelse)?;
        self.bind_label(brk);
        Ok(())
    }

    fn aug_assign(&mut self, target: &'a Expr, op: BinOp, value: &'a Expr, line: u32) -> CResult {
        match &target.kind {
            ExprKind::Name(n) => {
                self.load_name(n, line);
                self.expr(value)?;
                self.emit(Op::Inplace(op), line);
                self.store_name(n, line);
            }
            ExprKind::Attribute { value: obj, attr } => {
                self.expr(obj)?;
                self.emit(Op::Dup, line);
                let n = self.name(attr);
                self.emit(Op::LoadAttr(n), line);
                self.expr(value)?;
                self.emit(Op::Inplace(op), line);
                self.emit(Op::Rot2, line);
                self.emit(Op::StoreAttr(n), line);
            }
            ExprKind::Subscript { value: obj, index } => {
                self.expr(obj)?;
                self.expr(index)?;
                self.emit(Op::DupTwo, line);
                self.emit(Op::BinarySubscr, line);
                self.expr(value)?;
                self.emit(Op::Inplace(op), line);
                self.emit(Op::Rot3, line);
                self.emit(Op::StoreSubscr, line);
            }
            _ => return Err(self.error("'expression' is an illegal expression for augmented assignment", target.span)),
        }
        Ok(())
    }

    /// Stores the value on the top of the stack into a target.
    pub(super) fn assign(&mut self, t: &'a Expr) -> CResult {
        let line = self.line_of(t.span);
        match &t.kind {
            ExprKind::Name(n) => self.store_name(n, line),
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let n = self.name(attr);
                self.emit(Op::StoreAttr(n), line);
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::StoreSubscr, line);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                let star = items.iter().position(|e| matches!(e.kind, ExprKind::Starred(_)));
                match star {
                    Some(i) => {
                        if items.iter().filter(|e| matches!(e.kind, ExprKind::Starred(_))).count() > 1 {
                            return Err(self.error("multiple starred expressions in assignment", t.span));
                        }
                        self.emit(Op::UnpackEx { before: i as u16, after: (items.len() - i - 1) as u16 }, line);
                    }
                    None => {
                        self.emit(Op::UnpackSequence(items.len() as u32), line);
                    }
                }
                for item in items {
                    match &item.kind {
                        ExprKind::Starred(inner) => self.assign(inner)?,
                        _ => self.assign(item)?,
                    }
                }
            }
            ExprKind::Starred(_) => {
                return Err(self.error("starred assignment target must be in a list or tuple", t.span))
            }
            _ => return Err(self.error("cannot assign to expression", t.span)),
        }
        Ok(())
    }

    fn delete(&mut self, t: &'a Expr) -> CResult {
        let line = self.line_of(t.span);
        match &t.kind {
            ExprKind::Name(n) => self.delete_name(n, line),
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let n = self.name(attr);
                self.emit(Op::DeleteAttr(n), line);
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::DeleteSubscr, line);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for i in items {
                    self.delete(i)?;
                }
            }
            _ => return Err(self.error("cannot delete expression", t.span)),
        }
        Ok(())
    }

    fn function_def(&mut self, f: &'a FunctionDef, line: u32) -> CResult {
        for d in &f.decorators {
            self.expr(d)?;
        }
        let key = node_key(f);
        self.make_function(key, &f.name, &f.params, FunctionBody::Stmts(&f.body), f.is_async, line)?;
        self.function_annotations(f, line)?;
        for _ in &f.decorators {
            self.emit(Op::Call(1), line);
        }
        self.store_name(&f.name, line);
        Ok(())
    }

    /// Compiles a function body into a code object and emits `MakeFunction`.
    pub(super) fn make_function(
        &mut self,
        key: usize,
        name: &str,
        params: &'a Parameters,
        body: FunctionBody<'a>,
        is_async: bool,
        line: u32,
    ) -> CResult {
        // Defaults are evaluated in the enclosing scope.
        let mut flags = 0;
        let positional: Vec<&Param> = params.posonly.iter().chain(params.args.iter()).collect();
        let defaults: Vec<&Param> = positional.iter().copied().filter(|p| p.default.is_some()).collect();
        if !defaults.is_empty() {
            for p in &defaults {
                self.expr(p.default.as_ref().expect("filtered"))?;
            }
            self.emit(Op::BuildTuple(defaults.len() as u32), line);
            flags |= 1;
        }
        let kwdefaults: Vec<&Param> = params.kwonly.iter().filter(|p| p.default.is_some()).collect();
        if !kwdefaults.is_empty() {
            for p in &kwdefaults {
                let k = self.const_str(&p.name);
                self.emit(Op::LoadConst(k), line);
                self.expr(p.default.as_ref().expect("filtered"))?;
            }
            self.emit(Op::BuildMap(kwdefaults.len() as u32), line);
            flags |= 2;
        }
        let scope =
            *self.table.by_node.get(&key).ok_or_else(|| self.error("internal: missing scope", Span::default()))?;
        let qualname = self.child_qualname(name);
        self.push_unit(scope, name, &qualname, line);
        {
            let u = self.unit();
            u.argcount = positional.len() as u32;
            u.posonly = params.posonly.len() as u32;
            u.kwonly = params.kwonly.len() as u32;
            u.flags.varargs = params.vararg.is_some();
            u.flags.varkw = params.kwarg.is_some();
            u.is_async = is_async;
        }
        let is_gen = self.table.scopes[scope].is_generator;
        {
            let u = self.unit();
            match (is_async, is_gen) {
                (true, true) => u.flags.async_generator = true,
                (true, false) => u.flags.coroutine = true,
                (false, true) => u.flags.generator = true,
                _ => {}
            }
        }
        match body {
            FunctionBody::Stmts(stmts) => {
                if let Some(doc) = docstring(stmts) {
                    self.unit().doc = Some(Rc::from(doc.as_str()));
                }
                self.stmts(stmts)?;
                let last = self.last_line();
                self.load_none(last);
                self.emit(Op::Return, last);
            }
            FunctionBody::Expr(e) => {
                self.expr(e)?;
                let l = self.line_of(e.span);
                if is_gen {
                    self.emit(Op::Pop, l);
                    self.load_none(l);
                }
                self.emit(Op::Return, l);
            }
        }
        let code = self.pop_unit();
        self.emit_closure_and_code(code, flags, line);
        Ok(())
    }

    /// Emits the closure tuple (if any), the code constant and `MakeFunction`.
    pub(super) fn emit_closure_and_code(&mut self, code: crate::bytecode::Code, mut flags: u32, line: u32) {
        if !code.freevars.is_empty() {
            for fv in code.freevars.clone() {
                let name = fv.to_string_owned();
                let c = self.cell_index(&name);
                self.emit(Op::LoadClosure(c), line);
            }
            self.emit(Op::BuildTuple(code.freevars.len() as u32), line);
            flags |= 4;
        }
        let k = self.add_const(Value::Code(Rc::new(code)));
        self.emit(Op::LoadConst(k), line);
        self.emit(Op::MakeFunction(flags), line);
    }

    fn child_qualname(&self, name: &str) -> String {
        let u = self.units.last().expect("unit");
        let kind = self.table.scopes[u.scope].kind;
        match kind {
            ScopeKind::Module => name.to_string(),
            ScopeKind::Function if !u.is_comprehension() => format!("{}.<locals>.{}", u.qualname, name),
            ScopeKind::Class | ScopeKind::Function => format!("{}.{}", u.qualname, name),
        }
    }

    fn class_def(&mut self, c: &'a ClassDef, line: u32) -> CResult {
        for d in &c.decorators {
            self.expr(d)?;
        }
        self.emit(Op::LoadBuildClass, line);
        let scope =
            *self.table.by_node.get(&node_key(c)).ok_or_else(|| self.error("internal: missing scope", c.name_span))?;
        let qualname = self.child_qualname(&c.name);
        self.push_unit(scope, &c.name, &qualname, line);
        self.unit().flags.class_body = true;
        let mn = self.name("__module__");
        let nn = self.name("__name__");
        self.emit(Op::LoadGlobal(nn), line);
        self.emit(Op::StoreName(mn), line);
        let q = self.const_str(&qualname);
        self.emit(Op::LoadConst(q), line);
        let qn = self.name("__qualname__");
        self.emit(Op::StoreName(qn), line);
        if super::annotations::has_annotations(&c.body) {
            self.setup_annotations(line);
        }
        if let Some(doc) = docstring(&c.body) {
            let k = self.const_str(&doc);
            self.emit(Op::LoadConst(k), line);
            let dn = self.name("__doc__");
            self.emit(Op::StoreName(dn), line);
        }
        self.stmts(&c.body)?;
        let last = self.last_line();
        if self.table.scopes[scope].needs_class_cell {
            let cell = self.cell_index("__class__");
            self.emit(Op::LoadClosure(cell), last);
        } else {
            self.load_none(last);
        }
        self.emit(Op::Return, last);
        let code = self.pop_unit();
        self.emit_closure_and_code(code, 0, line);
        let k = self.const_str(&c.name);
        self.emit(Op::LoadConst(k), line);
        self.call_with_args(2, &c.bases, &c.keywords, line)?;
        for _ in &c.decorators {
            self.emit(Op::Call(1), line);
        }
        self.store_name(&c.name, line);
        Ok(())
    }

    /// Emits `await` of the value on the top: `GetAwaitable; LoadConst None; Send; ...`.
    pub(super) fn emit_await(&mut self, line: u32) {
        self.emit(Op::GetAwaitable, line);
        self.load_none(line);
        let done = self.new_label();
        let top = self.here();
        self.emit_jump(Op::Send, done, line);
        self.emit(Op::YieldValue, line);
        self.emit(Op::Jump(top), line);
        self.bind_label(done);
    }

    /// Emits `yield from` of the value on the top.
    pub(super) fn emit_yield_from(&mut self, line: u32) {
        self.emit(Op::GetYieldFromIter, line);
        self.load_none(line);
        let done = self.new_label();
        let top = JumpTarget(self.unit().ops.len() as u32);
        self.emit_jump(Op::Send, done, line);
        self.emit(Op::YieldValue, line);
        self.emit(Op::Jump(top), line);
        self.bind_label(done);
    }
}

/// The body of a function being compiled.
pub(super) enum FunctionBody<'a> {
    /// A `def` body.
    Stmts(&'a [Stmt]),
    /// A lambda or comprehension-free expression body.
    Expr(&'a Expr),
}
