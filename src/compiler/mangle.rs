//! Private name mangling: inside a class, an identifier `__name` (not ending in `__`) means
//! `_Class__name`, so that a subclass's `self.__x` does not clash with its base's. Done on a
//! copy of the tree before scope analysis, as CPython's symtable and compiler both mangle.
//!
//! Mangled: names, attribute names, parameter names, the names `def`, `class`, `import`,
//! `except ... as`, `global` and `nonlocal` bind. Not mangled: keyword argument names in
//! calls, strings, dotted module names.

use crate::ast::*;

/// `name` as code inside class `class` refers to it.
fn mangle(name: &str, class: Option<&str>) -> Option<String> {
    let class = class?;
    if !name.starts_with("__") || name.ends_with("__") || name.contains('.') {
        return None;
    }
    let stripped = class.trim_start_matches('_');
    if stripped.is_empty() {
        return None;
    }
    Some(format!("_{stripped}{name}"))
}

fn rename(name: &mut String, class: Option<&str>) {
    if let Some(m) = mangle(name, class) {
        *name = m;
    }
}

/// The module with private names mangled, or `None` when nothing in it changes.
pub fn mangle_module(module: &Module, source: &str) -> Option<Module> {
    // Only code inside a class body mangles anything.
    if !source.contains("class") || !source.contains("__") {
        return None;
    }
    let mut m = module.clone();
    stmts(&mut m.body, None);
    Some(m)
}

fn stmts(body: &mut [Stmt], class: Option<&str>) {
    for s in body {
        stmt(s, class);
    }
}

fn stmt(s: &mut Stmt, class: Option<&str>) {
    match &mut s.kind {
        StmtKind::Expr(e) => expr(e, class),
        StmtKind::Assign { targets, value } => {
            exprs(targets, class);
            expr(value, class);
        }
        StmtKind::AugAssign { target, value, .. } => {
            expr(target, class);
            expr(value, class);
        }
        StmtKind::AnnAssign { target, annotation, value, .. } => {
            expr(target, class);
            expr(annotation, class);
            if let Some(v) = value {
                expr(v, class);
            }
        }
        StmtKind::FunctionDef(f) => {
            rename(&mut f.name, class);
            exprs(&mut f.decorators, class);
            params(&mut f.params, class);
            if let Some(r) = &mut f.returns {
                expr(r, class);
            }
            stmts(&mut f.body, class);
        }
        StmtKind::ClassDef(c) => {
            exprs(&mut c.decorators, class);
            exprs(&mut c.bases, class);
            for k in &mut c.keywords {
                expr(&mut k.value, class);
            }
            let own = c.name.clone();
            rename(&mut c.name, class);
            stmts(&mut c.body, Some(&own));
        }
        StmtKind::Return(v) => {
            if let Some(v) = v {
                expr(v, class);
            }
        }
        StmtKind::Delete(targets) => exprs(targets, class),
        StmtKind::If { test, body, orelse } | StmtKind::While { test, body, orelse } => {
            expr(test, class);
            stmts(body, class);
            stmts(orelse, class);
        }
        StmtKind::For { target, iter, body, orelse, .. } => {
            expr(target, class);
            expr(iter, class);
            stmts(body, class);
            stmts(orelse, class);
        }
        StmtKind::With { items, body, .. } => {
            for item in items {
                expr(&mut item.context, class);
                if let Some(t) = &mut item.target {
                    expr(t, class);
                }
            }
            stmts(body, class);
        }
        StmtKind::Try { body, handlers, orelse, finalbody, .. } => {
            stmts(body, class);
            for h in handlers {
                if let Some(t) = &mut h.typ {
                    expr(t, class);
                }
                if let Some(n) = &mut h.name {
                    rename(n, class);
                }
                stmts(&mut h.body, class);
            }
            stmts(orelse, class);
            stmts(finalbody, class);
        }
        StmtKind::Raise { exc, cause } => {
            if let Some(e) = exc {
                expr(e, class);
            }
            if let Some(c) = cause {
                expr(c, class);
            }
        }
        StmtKind::Assert { test, msg } => {
            expr(test, class);
            if let Some(m) = msg {
                expr(m, class);
            }
        }
        StmtKind::Import(names) | StmtKind::ImportFrom { names, .. } => {
            for a in names {
                // The name bound (the alias, else the name itself when not dotted) is
                // mangled; what is imported is not.
                match &mut a.asname {
                    Some(n) => rename(n, class),
                    None if a.name != "*" => a.asname = mangle(&a.name, class),
                    None => {}
                }
            }
        }
        StmtKind::Global(names) | StmtKind::Nonlocal(names) => {
            for n in names {
                rename(n, class);
            }
        }
        StmtKind::Pass | StmtKind::Break | StmtKind::Continue => {}
    }
}

fn params(p: &mut Parameters, class: Option<&str>) {
    let all = p.posonly.iter_mut().chain(&mut p.args).chain(&mut p.vararg).chain(&mut p.kwonly).chain(&mut p.kwarg);
    for param in all {
        rename(&mut param.name, class);
        if let Some(a) = &mut param.annotation {
            expr(a, class);
        }
        if let Some(d) = &mut param.default {
            expr(d, class);
        }
    }
}

fn exprs(list: &mut [Expr], class: Option<&str>) {
    for e in list {
        expr(e, class);
    }
}

fn comprehensions(generators: &mut [Comprehension], class: Option<&str>) {
    for g in generators {
        expr(&mut g.target, class);
        expr(&mut g.iter, class);
        exprs(&mut g.ifs, class);
    }
}

fn fstring(parts: &mut [FStringPart], class: Option<&str>) {
    for part in parts {
        if let FStringPart::Value { value, format_spec, .. } = part {
            expr(value, class);
            if let Some(spec) = format_spec {
                fstring(spec, class);
            }
        }
    }
}

fn expr(e: &mut Expr, class: Option<&str>) {
    match &mut e.kind {
        ExprKind::Name(n) => rename(n, class),
        ExprKind::Attribute { value, attr } => {
            expr(value, class);
            rename(attr, class);
        }
        ExprKind::BoolOp { values, .. } => exprs(values, class),
        ExprKind::NamedExpr { target, value } => {
            expr(target, class);
            expr(value, class);
        }
        ExprKind::BinOp { left, right, .. } => {
            expr(left, class);
            expr(right, class);
        }
        ExprKind::UnaryOp { operand, .. } => expr(operand, class),
        ExprKind::Lambda { params: p, body } => {
            params(p, class);
            expr(body, class);
        }
        ExprKind::IfExp { test, body, orelse } => {
            expr(test, class);
            expr(body, class);
            expr(orelse, class);
        }
        ExprKind::Dict { keys, values } => {
            for k in keys.iter_mut().flatten() {
                expr(k, class);
            }
            exprs(values, class);
        }
        ExprKind::Set(items) | ExprKind::List(items) | ExprKind::Tuple(items) => exprs(items, class),
        ExprKind::ListComp { elt, generators }
        | ExprKind::SetComp { elt, generators }
        | ExprKind::GeneratorExp { elt, generators } => {
            expr(elt, class);
            comprehensions(generators, class);
        }
        ExprKind::DictComp { key, value, generators } => {
            expr(key, class);
            expr(value, class);
            comprehensions(generators, class);
        }
        ExprKind::Await(v) | ExprKind::YieldFrom(v) | ExprKind::Starred(v) => expr(v, class),
        ExprKind::Yield(v) => {
            if let Some(v) = v {
                expr(v, class);
            }
        }
        ExprKind::Compare { left, comparators, .. } => {
            expr(left, class);
            exprs(comparators, class);
        }
        ExprKind::Call { func, args, keywords } => {
            expr(func, class);
            exprs(args, class);
            // Keyword names are not mangled (CPython's neither).
            for k in keywords {
                expr(&mut k.value, class);
            }
        }
        ExprKind::FString(parts) => fstring(parts, class),
        ExprKind::Subscript { value, index } => {
            expr(value, class);
            expr(index, class);
        }
        ExprKind::Slice { lower, upper, step } => {
            for part in [lower, upper, step].into_iter().flatten() {
                expr(part, class);
            }
        }
        ExprKind::Constant(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::mangle;

    #[test]
    fn mangling_rules() {
        assert_eq!(mangle("__x", Some("A")).as_deref(), Some("_A__x"));
        assert_eq!(mangle("__x", Some("_B_")).as_deref(), Some("_B___x"));
        assert_eq!(mangle("__x", Some("_Priv")).as_deref(), Some("_Priv__x"));
        assert_eq!(mangle("__x", Some("___")), None);
        assert_eq!(mangle("__x", Some("__")), None);
        assert_eq!(mangle("__init__", Some("A")), None);
        assert_eq!(mangle("_x", Some("A")), None);
        assert_eq!(mangle("__a.b", Some("A")), None);
        assert_eq!(mangle("__x", None), None);
    }
}
