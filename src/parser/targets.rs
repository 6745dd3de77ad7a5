//! Validation of assignment, deletion and walrus targets, with CPython's messages.

use super::nodes::{expr, fail, stmt, PResult};
use crate::ast::*;
use crate::diagnostics::SyntaxError;

/// How CPython names an expression in "cannot assign to ..." messages.
pub fn expr_name(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Attribute { .. } => "attribute",
        ExprKind::Subscript { .. } => "subscript",
        ExprKind::Starred(_) => "starred",
        ExprKind::Name(_) => "name",
        ExprKind::List(_) => "list",
        ExprKind::Tuple(_) => "tuple",
        ExprKind::Lambda { .. } => "lambda",
        ExprKind::Call { .. } => "function call",
        ExprKind::BoolOp { .. } | ExprKind::BinOp { .. } | ExprKind::UnaryOp { .. } => "expression",
        ExprKind::GeneratorExp { .. } => "generator expression",
        ExprKind::Yield(_) | ExprKind::YieldFrom(_) => "yield expression",
        ExprKind::Await(_) => "await expression",
        ExprKind::ListComp { .. } => "list comprehension",
        ExprKind::SetComp { .. } => "set comprehension",
        ExprKind::DictComp { .. } => "dict comprehension",
        ExprKind::Dict { .. } => "dict literal",
        ExprKind::Set(_) => "set display",
        ExprKind::FString(_) => "f-string expression",
        ExprKind::Constant(Constant::None) => "None",
        ExprKind::Constant(Constant::Bool(true)) => "True",
        ExprKind::Constant(Constant::Bool(false)) => "False",
        ExprKind::Constant(Constant::Ellipsis) => "ellipsis",
        ExprKind::Constant(_) => "literal",
        ExprKind::Compare { .. } => "comparison",
        ExprKind::IfExp { .. } => "conditional expression",
        ExprKind::NamedExpr { .. } => "named expression",
        ExprKind::Slice { .. } => "slice",
    }
}

/// Finds the first sub-target that cannot be assigned to (the target itself or inside a
/// tuple/list), and checks that a tuple/list has at most one starred element.
fn invalid_store(e: &Expr) -> Option<Result<&Expr, SyntaxError>> {
    match &e.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => None,
        ExprKind::Starred(inner) => invalid_store(inner),
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            let stars = items.iter().filter(|i| matches!(i.kind, ExprKind::Starred(_))).count();
            if stars > 1 {
                return Some(Err(SyntaxError::new("multiple starred expressions in assignment", e.span)));
            }
            items.iter().find_map(invalid_store)
        }
        _ => Some(Ok(e)),
    }
}

/// Checks an assignment target (also `for` and `with ... as` targets).
pub fn check_store(e: &Expr) -> Result<(), SyntaxError> {
    if let ExprKind::Starred(_) = e.kind {
        return Err(SyntaxError::new("starred assignment target must be in a list or tuple", e.span));
    }
    match invalid_store(e) {
        None => Ok(()),
        Some(Err(err)) => Err(err),
        Some(Ok(bad)) => Err(SyntaxError::new(format!("cannot assign to {}", expr_name(bad)), bad.span)),
    }
}

/// Checks one `del` target.
fn check_delete(e: &Expr) -> Result<(), SyntaxError> {
    match &e.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => Ok(()),
        ExprKind::Tuple(items) | ExprKind::List(items) => items.iter().try_for_each(check_delete),
        _ => Err(SyntaxError::new(format!("cannot delete {}", expr_name(e)), e.span)),
    }
}

/// Rejects a bare `*x` used as a value.
fn check_value(e: &Expr) -> PResult<()> {
    if let ExprKind::Starred(_) = e.kind {
        return fail(SyntaxError::new("can't use starred expression here", e.span));
    }
    Ok(())
}

/// `del a, b[0]`.
pub fn delete(targets: Vec<Expr>, l: usize, r: usize) -> PResult<Stmt> {
    for t in &targets {
        check_delete(t).or_else(fail)?;
    }
    Ok(stmt(StmtKind::Delete(targets), l, r))
}

/// An expression statement.
pub fn expr_stmt(e: Expr, l: usize, r: usize) -> PResult<Stmt> {
    check_value(&e)?;
    Ok(stmt(StmtKind::Expr(e), l, r))
}

/// `t1 = t2 = value`.
pub fn assign(first: Expr, mut rest: Vec<Expr>, l: usize, r: usize) -> PResult<Stmt> {
    let Some(value) = rest.pop() else {
        return fail(SyntaxError::new("invalid syntax", Span::new(l, r)));
    };
    check_value(&value)?;
    let mut targets = Vec::with_capacity(rest.len() + 1);
    targets.push(first);
    targets.extend(rest);
    let single = targets.len() == 1;
    for t in &targets {
        if let ExprKind::Yield(_) | ExprKind::YieldFrom(_) = t.kind {
            return fail(SyntaxError::new("assignment to yield expression not possible", t.span));
        }
        if let Err(mut err) = check_store(t) {
            let plain = matches!(
                t.kind,
                ExprKind::Tuple(_)
                    | ExprKind::List(_)
                    | ExprKind::Starred(_)
                    | ExprKind::Constant(Constant::None | Constant::Bool(_))
            );
            if single && !plain && err.span == t.span && err.message.starts_with("cannot assign to") {
                err.message.push_str(" here. Maybe you meant '==' instead of '='?");
            }
            return fail(err);
        }
    }
    Ok(stmt(StmtKind::Assign { targets, value }, l, r))
}

/// `target op= value`.
pub fn aug_assign(target: Expr, op: BinOp, value: Expr, l: usize, r: usize) -> PResult<Stmt> {
    match target.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => {}
        _ => {
            let message = format!("'{}' is an illegal expression for augmented assignment", expr_name(&target));
            return fail(SyntaxError::new(message, target.span));
        }
    }
    check_value(&value)?;
    Ok(stmt(StmtKind::AugAssign { target, op, value }, l, r))
}

/// `target: annotation = value`.
pub fn ann_assign(target: Expr, annotation: Expr, value: Option<Expr>, l: usize, r: usize) -> PResult<Stmt> {
    // A bare name, not `(name)`: a parenthesised one starts after the statement does.
    let simple = matches!(target.kind, ExprKind::Name(_)) && target.span.start as usize == l;
    match target.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => {}
        ExprKind::Tuple(_) => {
            return fail(SyntaxError::new("only single target (not tuple) can be annotated", target.span));
        }
        ExprKind::List(_) => {
            return fail(SyntaxError::new("only single target (not list) can be annotated", target.span));
        }
        _ => return fail(SyntaxError::new("illegal target for annotation", target.span)),
    }
    if let Some(v) = &value {
        check_value(v)?;
    }
    Ok(stmt(StmtKind::AnnAssign { target, annotation, value, simple }, l, r))
}

/// `target := value`.
pub fn named_expr(target: Expr, value: Expr, l: usize, r: usize) -> PResult<Expr> {
    if !matches!(target.kind, ExprKind::Name(_)) {
        let message = format!("cannot use assignment expressions with {}", expr_name(&target));
        return fail(SyntaxError::new(message, target.span));
    }
    Ok(expr(ExprKind::NamedExpr { target: Box::new(target), value: Box::new(value) }, l, r))
}
