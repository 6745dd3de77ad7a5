//! Expression compilation.

use super::stmt::FunctionBody;
use super::symtable::{node_key, Access};
use super::{CResult, Compiler, Label};
use crate::ast::*;
use crate::bytecode::{CmpKind, Op};
use crate::vm::Value;
use std::rc::Rc;

impl<'a> Compiler<'a> {
    pub(super) fn expr(&mut self, e: &'a Expr) -> CResult {
        self.enter(e.span)?;
        let r = self.expr_inner(e);
        self.leave();
        r
    }

    fn expr_inner(&mut self, e: &'a Expr) -> CResult {
        let line = self.line_of(e.span);
        match &e.kind {
            ExprKind::Constant(c) => self.constant(c, e.span, line)?,
            ExprKind::Name(n) => self.load_name(n, line),
            ExprKind::BinOp { left, op, right } => {
                self.expr(left)?;
                self.expr(right)?;
                self.emit(Op::Binary(*op), line);
            }
            ExprKind::UnaryOp { op, operand } => {
                // Fold `-literal` so that `-9223372036854775808` and `-2**63` stay cheap.
                if let (UnaryOp::USub, ExprKind::Constant(Constant::Int(i))) = (op, &operand.kind) {
                    let k = self.add_const(Value::Int(-i));
                    self.emit(Op::LoadConst(k), line);
                    return Ok(());
                }
                if let (UnaryOp::USub, ExprKind::Constant(Constant::Float(f))) = (op, &operand.kind) {
                    let k = self.add_const(Value::Float(-f));
                    self.emit(Op::LoadConst(k), line);
                    return Ok(());
                }
                self.expr(operand)?;
                self.emit(Op::Unary(*op), line);
            }
            ExprKind::BoolOp { op, values } => {
                let end = self.new_label();
                for (i, v) in values.iter().enumerate() {
                    self.expr(v)?;
                    if i + 1 < values.len() {
                        match op {
                            BoolOpKind::And => self.emit_jump(Op::JumpIfFalseOrPop, end, line),
                            BoolOpKind::Or => self.emit_jump(Op::JumpIfTrueOrPop, end, line),
                        }
                    }
                }
                self.bind_label(end);
            }
            ExprKind::Compare { left, ops, comparators } => {
                self.expr(left)?;
                if ops.len() == 1 {
                    self.expr(&comparators[0])?;
                    self.compare_op(ops[0], line);
                } else {
                    let cleanup = self.new_label();
                    let end = self.new_label();
                    for (i, (op, c)) in ops.iter().zip(comparators.iter()).enumerate() {
                        self.expr(c)?;
                        if i + 1 < ops.len() {
                            self.emit(Op::Dup, line);
                            self.emit(Op::Rot3, line);
                            self.compare_op(*op, line);
                            self.emit_jump(Op::JumpIfFalseOrPop, cleanup, line);
                        } else {
                            self.compare_op(*op, line);
                        }
                    }
                    self.emit_jump(Op::Jump, end, line);
                    self.bind_label(cleanup);
                    self.emit(Op::Rot2, line);
                    self.emit(Op::Pop, line);
                    self.bind_label(end);
                }
            }
            ExprKind::IfExp { test, body, orelse } => {
                let else_l = self.new_label();
                let end = self.new_label();
                self.cond_jump(test, false, else_l)?;
                self.expr(body)?;
                self.emit_jump(Op::Jump, end, line);
                self.bind_label(else_l);
                self.expr(orelse)?;
                self.bind_label(end);
            }
            ExprKind::NamedExpr { target, value } => {
                self.expr(value)?;
                self.emit(Op::Dup, line);
                match &target.kind {
                    ExprKind::Name(n) => self.store_name(n, line),
                    _ => return Err(self.error("cannot use assignment expressions with this target", target.span)),
                }
            }
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let n = self.name(attr);
                self.emit(Op::LoadAttr(n), line);
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::BinarySubscr, line);
            }
            ExprKind::Slice { lower, upper, step } => {
                for p in [lower, upper] {
                    match p {
                        Some(p) => self.expr(p)?,
                        None => self.load_none(line),
                    }
                }
                match step {
                    Some(s) => {
                        self.expr(s)?;
                        self.emit(Op::BuildSlice(3), line);
                    }
                    None => {
                        self.emit(Op::BuildSlice(2), line);
                    }
                }
            }
            ExprKind::Starred(_) => return Err(self.error("can't use starred expression here", e.span)),
            ExprKind::Tuple(items) => {
                if self.all_constant(items) && !items.is_empty() {
                    let v = self.const_tuple(items);
                    let k = self.add_const(v);
                    self.emit(Op::LoadConst(k), line);
                } else {
                    self.sequence(items, line)?;
                    self.emit(Op::ListToTuple, line);
                }
            }
            ExprKind::List(items) => self.sequence(items, line)?,
            ExprKind::Set(items) => {
                if let Some(first_star) = items.iter().position(|i| matches!(i.kind, ExprKind::Starred(_))) {
                    // As CPython: the items before the first star are all evaluated before
                    // the set is built from them (so hashing them comes after).
                    for i in &items[..first_star] {
                        self.expr(i)?;
                    }
                    self.emit(Op::BuildSet(first_star as u32), line);
                    for i in &items[first_star..] {
                        match &i.kind {
                            ExprKind::Starred(inner) => {
                                self.expr(inner)?;
                                self.emit(Op::SetUpdate, line);
                            }
                            _ => {
                                self.expr(i)?;
                                self.emit(Op::SetAdd(1), line);
                            }
                        }
                    }
                } else {
                    for i in items {
                        self.expr(i)?;
                    }
                    self.emit(Op::BuildSet(items.len() as u32), line);
                }
            }
            ExprKind::Dict { keys, values } => {
                let mut pending = 0u32;
                let mut started = false;
                for (k, v) in keys.iter().zip(values.iter()) {
                    match k {
                        Some(k) => {
                            self.expr(k)?;
                            self.expr(v)?;
                            pending += 1;
                        }
                        None => {
                            if !started {
                                self.emit(Op::BuildMap(pending), line);
                                started = true;
                            } else if pending > 0 {
                                self.emit(Op::BuildMap(pending), line);
                                self.emit(Op::DictUpdate, line);
                            }
                            pending = 0;
                            self.expr(v)?;
                            self.emit(Op::DictUpdate, line);
                        }
                    }
                }
                if !started {
                    self.emit(Op::BuildMap(pending), line);
                } else if pending > 0 {
                    self.emit(Op::BuildMap(pending), line);
                    self.emit(Op::DictUpdate, line);
                }
            }
            ExprKind::Call { func, args, keywords } => self.call(func, args, keywords, line)?,
            ExprKind::Lambda { params, body } => {
                self.make_function(node_key(e), "<lambda>", params, FunctionBody::Expr(body), false, line)?;
            }
            ExprKind::FString(parts) => self.fstring(parts, line)?,
            ExprKind::ListComp { elt, generators } => {
                self.comprehension(e, CompKind::List, generators, elt, None, line)?
            }
            ExprKind::SetComp { elt, generators } => {
                self.comprehension(e, CompKind::Set, generators, elt, None, line)?
            }
            ExprKind::DictComp { key, value, generators } => {
                self.comprehension(e, CompKind::Dict, generators, key, Some(value), line)?
            }
            ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(e, CompKind::Gen, generators, elt, None, line)?
            }
            ExprKind::Await(v) => {
                // `is_async` without `is_function`: top-level await (compile_interactive_async).
                if !self.unit().is_function && !self.unit().is_async {
                    return Err(self.error("'await' outside function", e.span));
                }
                if !self.unit().is_async {
                    return Err(self.error("'await' outside async function", e.span));
                }
                self.expr(v)?;
                self.emit_await(line);
            }
            ExprKind::Yield(v) => {
                if !self.unit().is_function {
                    return Err(self.error("'yield' outside function", e.span));
                }
                match v {
                    Some(v) => self.expr(v)?,
                    None => self.load_none(line),
                }
                if self.unit().flags.async_generator {
                    self.emit(Op::AsyncGenWrap, line);
                }
                self.emit(Op::YieldValue, line);
            }
            ExprKind::YieldFrom(v) => {
                if !self.unit().is_function {
                    return Err(self.error("'yield' outside function", e.span));
                }
                if self.unit().is_async {
                    return Err(self.error("'yield from' inside async function", e.span));
                }
                self.expr(v)?;
                self.emit_yield_from(line);
            }
        }
        Ok(())
    }

    fn constant(&mut self, c: &Constant, span: Span, line: u32) -> CResult {
        let v = match c {
            Constant::None => Value::None,
            Constant::Bool(b) => Value::Bool(*b),
            Constant::Int(i) => Value::Int(*i),
            Constant::BigInt(s) => match s.parse::<num_bigint::BigInt>() {
                Ok(b) => Value::from_bigint(b),
                Err(_) => return Err(self.error("invalid integer literal", span)),
            },
            Constant::Float(f) => Value::Float(*f),
            Constant::Imaginary(_) => return Err(self.error("complex numbers are not supported by aio", span)),
            Constant::Str(s) => Value::str(s),
            Constant::Bytes(b) => Value::Bytes(Rc::from(b.as_slice())),
            Constant::Ellipsis => Value::Ellipsis,
        };
        let k = self.add_const(v);
        self.emit(Op::LoadConst(k), line);
        Ok(())
    }

    fn all_constant(&self, items: &[Expr]) -> bool {
        items.iter().all(|i| match &i.kind {
            ExprKind::Constant(Constant::Imaginary(_)) | ExprKind::Constant(Constant::BigInt(_)) => false,
            ExprKind::Constant(_) => true,
            _ => false,
        })
    }
    fn const_tuple(&self, items: &[Expr]) -> Value {
        let vals = items
            .iter()
            .map(|i| match &i.kind {
                ExprKind::Constant(Constant::None) => Value::None,
                ExprKind::Constant(Constant::Bool(b)) => Value::Bool(*b),
                ExprKind::Constant(Constant::Int(n)) => Value::Int(*n),
                ExprKind::Constant(Constant::Float(f)) => Value::Float(*f),
                ExprKind::Constant(Constant::Str(s)) => Value::str(s),
                ExprKind::Constant(Constant::Bytes(b)) => Value::Bytes(Rc::from(b.as_slice())),
                ExprKind::Constant(Constant::Ellipsis) => Value::Ellipsis,
                _ => Value::None,
            })
            .collect();
        Value::tuple(vals)
    }

    /// Builds a list from items that may contain `*starred` parts.
    fn sequence(&mut self, items: &'a [Expr], line: u32) -> CResult {
        if items.iter().any(|i| matches!(i.kind, ExprKind::Starred(_))) {
            self.emit(Op::BuildList(0), line);
            for i in items {
                match &i.kind {
                    ExprKind::Starred(inner) => {
                        self.expr(inner)?;
                        self.emit(Op::ListExtend, line);
                    }
                    _ => {
                        self.expr(i)?;
                        self.emit(Op::ListAppend(1), line);
                    }
                }
            }
        } else {
            for i in items {
                self.expr(i)?;
            }
            self.emit(Op::BuildList(items.len() as u32), line);
        }
        Ok(())
    }

    fn compare_op(&mut self, op: CmpOp, line: u32) {
        let o = match op {
            CmpOp::Eq => Op::Compare(CmpKind::Eq),
            CmpOp::NotEq => Op::Compare(CmpKind::Ne),
            CmpOp::Lt => Op::Compare(CmpKind::Lt),
            CmpOp::LtE => Op::Compare(CmpKind::Le),
            CmpOp::Gt => Op::Compare(CmpKind::Gt),
            CmpOp::GtE => Op::Compare(CmpKind::Ge),
            CmpOp::Is => Op::Is(false),
            CmpOp::IsNot => Op::Is(true),
            CmpOp::In => Op::In(false),
            CmpOp::NotIn => Op::In(true),
        };
        self.emit(o, line);
    }

    /// Evaluates `test` and jumps to `target` when its truth equals `when`.
    pub(super) fn cond_jump(&mut self, test: &'a Expr, when: bool, target: Label) -> CResult {
        let line = self.line_of(test.span);
        match &test.kind {
            ExprKind::UnaryOp { op: UnaryOp::Not, operand } => return self.cond_jump(operand, !when, target),
            ExprKind::BoolOp { op, values } => {
                let is_and = *op == BoolOpKind::And;
                // `a and b` jumps on false if any is false; on true only if all are true.
                if is_and != when {
                    for v in values {
                        self.cond_jump(v, when, target)?;
                    }
                } else {
                    let skip = self.new_label();
                    let (last, rest) = values.split_last().expect("non-empty bool op");
                    for v in rest {
                        self.cond_jump(v, !when, skip)?;
                    }
                    self.cond_jump(last, when, target)?;
                    self.bind_label(skip);
                }
                return Ok(());
            }
            // `while True:`, `if 0:`: a literal's truth is known, so no test is run.
            ExprKind::Constant(c) => {
                let truth = match c {
                    Constant::None => Some(false),
                    Constant::Bool(b) => Some(*b),
                    Constant::Int(i) => Some(*i != 0),
                    Constant::Float(f) => Some(*f != 0.0),
                    Constant::Str(t) => Some(!t.is_empty()),
                    Constant::Bytes(b) => Some(!b.is_empty()),
                    Constant::Ellipsis => Some(true),
                    Constant::BigInt(_) | Constant::Imaginary(_) => None,
                };
                if let Some(truth) = truth {
                    if truth == when {
                        self.emit_jump(Op::Jump, target, line);
                    }
                    return Ok(());
                }
            }
            _ => {}
        }
        self.expr(test)?;
        if when {
            self.emit_jump(Op::PopJumpIfTrue, target, line);
        } else {
            self.emit_jump(Op::PopJumpIfFalse, target, line);
        }
        Ok(())
    }

    fn call(&mut self, func: &'a Expr, args: &'a [Expr], keywords: &'a [Keyword], line: u32) -> CResult {
        // Zero-argument super(): pass the class cell and the first argument.
        if let ExprKind::Name(n) = &func.kind {
            if n == "super" && args.is_empty() && keywords.is_empty() && self.access("super") == Access::Global {
                if let Some(first) = self.first_param() {
                    self.load_name("super", line);
                    if self.access("__class__") == Access::Free {
                        let c = self.cell_index("__class__");
                        self.emit(Op::LoadDeref(c), line);
                        self.load_name(&first, line);
                        self.emit(Op::Call(2), line);
                        return Ok(());
                    }
                    self.emit(Op::Call(0), line);
                    return Ok(());
                }
            }
        }
        let simple =
            !args.iter().any(|a| matches!(a.kind, ExprKind::Starred(_))) && keywords.iter().all(|k| k.name.is_some());
        if let ExprKind::Attribute { value, attr } = &func.kind {
            if simple && keywords.is_empty() {
                self.expr(value)?;
                let n = self.name(attr);
                self.emit(Op::LoadMethod(n), line);
                for a in args {
                    self.expr(a)?;
                }
                self.emit(Op::CallMethod(args.len() as u32), line);
                return Ok(());
            }
        }
        self.expr(func)?;
        self.call_with_args(0, args, keywords, line)
    }

    /// With the callable (and `extra` positional values) already on the stack, pushes the
    /// arguments and emits the call.
    pub(super) fn call_with_args(
        &mut self,
        extra: u32,
        args: &'a [Expr],
        keywords: &'a [Keyword],
        line: u32,
    ) -> CResult {
        let simple =
            !args.iter().any(|a| matches!(a.kind, ExprKind::Starred(_))) && keywords.iter().all(|k| k.name.is_some());
        if simple {
            for a in args {
                self.expr(a)?;
            }
            if keywords.is_empty() {
                self.emit(Op::Call(extra + args.len() as u32), line);
            } else {
                let mut names = Vec::new();
                for k in keywords {
                    self.expr(&k.value)?;
                    names.push(Value::str(k.name.as_deref().unwrap_or("")));
                }
                let kc = self.add_const(Value::tuple(names));
                self.emit(Op::LoadConst(kc), line);
                self.emit(Op::CallKw(extra + (args.len() + keywords.len()) as u32), line);
            }
            return Ok(());
        }
        // General form: build the positional tuple and the keyword dict. A lone `*xs` is
        // passed as it is (as CPython does), so a non-iterable names the callee.
        match args {
            [Expr { kind: ExprKind::Starred(inner), .. }] if extra == 0 => self.expr(inner)?,
            _ => {
                self.emit(Op::BuildList(extra), line);
                for a in args {
                    match &a.kind {
                        ExprKind::Starred(inner) => {
                            self.expr(inner)?;
                            self.emit(Op::ListExtend, line);
                        }
                        _ => {
                            self.expr(a)?;
                            self.emit(Op::ListAppend(1), line);
                        }
                    }
                }
            }
        }
        // No `ListToTuple`: `CallEx` takes the fresh list's items as the arguments (a tuple
        // would only be copied into them).
        if keywords.is_empty() {
            self.emit(Op::CallEx(false), line);
            return Ok(());
        }
        self.emit(Op::BuildMap(0), line);
        for k in keywords {
            match &k.name {
                Some(name) => {
                    let kc = self.const_str(name);
                    self.emit(Op::LoadConst(kc), line);
                    self.expr(&k.value)?;
                    self.emit(Op::BuildMap(1), line);
                    self.emit(Op::DictMerge, line);
                }
                None => {
                    self.expr(&k.value)?;
                    self.emit(Op::DictMerge, line);
                }
            }
        }
        self.emit(Op::CallEx(true), line);
        Ok(())
    }

    fn first_param(&self) -> Option<String> {
        let u = self.units.last()?;
        let s = &self.table.scopes[u.scope];
        if u.argcount == 0 && !u.flags.varargs {
            return None;
        }
        s.params.first().cloned()
    }

    fn fstring(&mut self, parts: &'a [FStringPart], line: u32) -> CResult {
        let mut n = 0;
        for p in parts {
            match p {
                FStringPart::Literal(s) => {
                    if s.is_empty() {
                        continue;
                    }
                    let k = self.const_str(s);
                    self.emit(Op::LoadConst(k), line);
                }
                FStringPart::Value { value, conversion, format_spec } => {
                    self.expr(value)?;
                    let mut flags = match conversion {
                        Some('s') => 1,
                        Some('r') => 2,
                        Some('a') => 3,
                        _ => 0,
                    };
                    if let Some(spec) = format_spec {
                        self.fstring(spec, line)?;
                        flags += 4;
                    }
                    self.emit(Op::FormatValue(flags), line);
                }
            }
            n += 1;
        }
        if n == 0 {
            let k = self.const_str("");
            self.emit(Op::LoadConst(k), line);
        } else if n > 1 {
            self.emit(Op::BuildString(n), line);
        } else if let Some(FStringPart::Literal(_)) =
            parts.iter().find(|p| !matches!(p, FStringPart::Literal(s) if s.is_empty()))
        {
            // A lone literal is already a str.
        }
        Ok(())
    }

    fn comprehension(
        &mut self,
        e: &'a Expr,
        kind: CompKind,
        generators: &'a [Comprehension],
        elt: &'a Expr,
        value: Option<&'a Expr>,
        line: u32,
    ) -> CResult {
        let key = node_key(e);
        let scope = *self.table.by_node.get(&key).ok_or_else(|| self.error("internal: missing scope", e.span))?;
        let name = match kind {
            CompKind::List => "<listcomp>",
            CompKind::Set => "<setcomp>",
            CompKind::Dict => "<dictcomp>",
            CompKind::Gen => "<genexpr>",
        };
        let is_async =
            generators.iter().any(|g| g.is_async) || contains_await(elt) || value.is_some_and(contains_await);
        if is_async && kind != CompKind::Gen && !self.unit().is_async {
            return Err(self.error("asynchronous comprehension outside of an asynchronous function", e.span));
        }
        // The outermost iterable is evaluated here.
        let first = &generators[0];
        let qualname = {
            let u = self.units.last().expect("unit");
            match self.table.scopes[u.scope].kind {
                super::symtable::ScopeKind::Function if !u.is_comprehension() => {
                    format!("{}.<locals>.{}", u.qualname, name)
                }
                super::symtable::ScopeKind::Function | super::symtable::ScopeKind::Class => {
                    format!("{}.{}", u.qualname, name)
                }
                _ => name.to_string(),
            }
        };
        self.push_unit(scope, name, &qualname, line);
        {
            let u = self.unit();
            u.argcount = 1;
            u.is_async = is_async || u.is_async;
            u.is_async = is_async;
            match (kind == CompKind::Gen, is_async) {
                (true, true) => u.flags.async_generator = true,
                (true, false) => u.flags.generator = true,
                (false, true) => u.flags.coroutine = true,
                _ => {}
            }
        }
        match kind {
            CompKind::List => {
                self.emit(Op::BuildList(0), line);
            }
            CompKind::Set => {
                self.emit(Op::BuildSet(0), line);
            }
            CompKind::Dict => {
                self.emit(Op::BuildMap(0), line);
            }
            CompKind::Gen => {}
        }
        self.comp_loop(kind, generators, 0, elt, value, line)?;
        if kind == CompKind::Gen {
            self.load_none(line);
        }
        self.emit(Op::Return, line);
        let code = self.pop_unit();
        self.emit_closure_and_code(code, 0, line);
        self.expr(&first.iter)?;
        if first.is_async {
            self.emit(Op::GetAiter, line);
        } else {
            self.emit(Op::GetIter, line);
        }
        self.emit(Op::Call(1), line);
        if is_async && kind != CompKind::Gen {
            self.emit_await(line);
        }
        Ok(())
    }

    fn comp_loop(
        &mut self,
        kind: CompKind,
        generators: &'a [Comprehension],
        i: usize,
        elt: &'a Expr,
        value: Option<&'a Expr>,
        line: u32,
    ) -> CResult {
        let g = &generators[i];
        if i == 0 {
            let slot = self.local_slot(".0");
            self.emit(Op::LoadFast(slot), line);
        } else {
            self.expr(&g.iter)?;
            if g.is_async {
                self.emit(Op::GetAiter, line);
            } else {
                self.emit(Op::GetIter, line);
            }
        }
        let top = self.here();
        let done = self.new_label();
        let exc_l = self.new_label();
        if g.is_async {
            self.emit_jump(Op::SetupHandler, exc_l, line);
            self.emit(Op::GetAnext, line);
            self.emit_await(line);
            self.emit(Op::PopBlock, line);
        } else {
            self.emit_jump(Op::ForIter, done, line);
        }
        self.assign(&g.target)?;
        let skip = self.new_label();
        for cond in &g.ifs {
            self.cond_jump(cond, false, skip)?;
        }
        if i + 1 < generators.len() {
            self.comp_loop(kind, generators, i + 1, elt, value, line)?;
        } else {
            let depth = generators.len() as u32 + 1;
            match kind {
                CompKind::List => {
                    self.expr(elt)?;
                    self.emit(Op::ListAppend(depth), line);
                }
                CompKind::Set => {
                    self.expr(elt)?;
                    self.emit(Op::SetAdd(depth), line);
                }
                CompKind::Dict => {
                    self.expr(elt)?;
                    self.expr(value.expect("dict comprehension value"))?;
                    self.emit(Op::MapAdd(depth), line);
                }
                CompKind::Gen => {
                    self.expr(elt)?;
                    if self.unit().flags.async_generator {
                        self.emit(Op::AsyncGenWrap, line);
                    }
                    self.emit(Op::YieldValue, line);
                    self.emit(Op::Pop, line);
                }
            }
        }
        self.bind_label(skip);
        self.emit(Op::Jump(top), line);
        if g.is_async {
            self.bind_label(exc_l);
            self.emit(Op::EndAsyncFor, line);
        }
        self.bind_label(done);
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CompKind {
    List,
    Set,
    Dict,
    Gen,
}

/// True when an expression contains `await` outside nested function scopes.
fn contains_await(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Await(_) => true,
        ExprKind::Lambda { .. } => false,
        ExprKind::BoolOp { values, .. } => values.iter().any(contains_await),
        ExprKind::BinOp { left, right, .. } => contains_await(left) || contains_await(right),
        ExprKind::UnaryOp { operand, .. } => contains_await(operand),
        ExprKind::IfExp { test, body, orelse } => {
            contains_await(test) || contains_await(body) || contains_await(orelse)
        }
        ExprKind::Call { func, args, keywords } => {
            contains_await(func) || args.iter().any(contains_await) || keywords.iter().any(|k| contains_await(&k.value))
        }
        ExprKind::Attribute { value, .. } => contains_await(value),
        ExprKind::Subscript { value, index } => contains_await(value) || contains_await(index),
        ExprKind::Compare { left, comparators, .. } => contains_await(left) || comparators.iter().any(contains_await),
        ExprKind::Tuple(v) | ExprKind::List(v) | ExprKind::Set(v) => v.iter().any(contains_await),
        ExprKind::Starred(v) => contains_await(v),
        ExprKind::NamedExpr { value, .. } => contains_await(value),
        ExprKind::FString(parts) => {
            parts.iter().any(|p| matches!(p, FStringPart::Value { value, .. } if contains_await(value)))
        }
        ExprKind::Dict { keys, values } => {
            keys.iter().flatten().any(contains_await) || values.iter().any(contains_await)
        }
        _ => false,
    }
}
