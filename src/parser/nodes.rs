//! Node builders called by the grammar's actions: each turns the pieces of one production into
//! an AST node with its span, validating what the grammar deliberately leaves general.

use lalrpop_util::{ErrorRecovery, ParseError};

use super::{params, targets};
use crate::ast::*;
use crate::diagnostics::SyntaxError;
use crate::lexer::numbers::IntValue;
use crate::lexer::Token;

/// What the grammar's single entry point produced.
#[derive(Debug)]
pub enum Top {
    /// A module's statements.
    Module(Vec<Stmt>),
    /// A lone expression.
    Expr(Expr),
}

/// The result type of fallible actions.
pub type PResult<T> = Result<T, ParseError<usize, Token, SyntaxError>>;

/// Fails an action with a syntax error.
pub fn fail<T>(error: SyntaxError) -> PResult<T> {
    Err(ParseError::User { error })
}

/// One clause of a comprehension, before `if`s are attached to their `for`.
#[derive(Debug)]
pub enum CompClause {
    /// `async? for target in iter`.
    For(Comprehension),
    /// `if condition`.
    If(Expr),
}

/// An except clause and whether it was `except*`.
pub type Handler = (ExceptHandler, bool);

/// A span from two byte offsets.
pub fn span(l: usize, r: usize) -> Span {
    Span::new(l, r)
}

/// An expression node.
pub fn expr(kind: ExprKind, l: usize, r: usize) -> Expr {
    Expr { kind, span: Span::new(l, r) }
}

/// A statement node.
pub fn stmt(kind: StmtKind, l: usize, r: usize) -> Stmt {
    Stmt { kind, span: Span::new(l, r) }
}

/// Flattens statement groups (a `;`-separated line yields several statements).
pub fn flatten(groups: Vec<Vec<Stmt>>) -> Vec<Stmt> {
    groups.into_iter().flatten().collect()
}

/// Records an error the parser recovered from; the statement is dropped.
pub fn recovered(
    errors: &mut Vec<ErrorRecovery<usize, Token, SyntaxError>>,
    e: ErrorRecovery<usize, Token, SyntaxError>,
) -> Vec<Stmt> {
    errors.push(e);
    Vec::new()
}

/// The end of the last statement among several blocks, or `fallback`.
fn block_end(blocks: &[&[Stmt]], fallback: usize) -> usize {
    blocks.iter().filter_map(|b| b.last()).map(|s| s.span.end as usize).max().unwrap_or(fallback)
}

/// `raise exc from cause`.
pub fn raise(exc: Option<Expr>, cause: Option<Expr>, l: usize, r: usize) -> Stmt {
    stmt(StmtKind::Raise { exc, cause }, l, r)
}

/// `name as asname` in an import.
pub fn alias(name: String, asname: Option<String>, l: usize, r: usize) -> Alias {
    Alias { name, asname, span: Span::new(l, r) }
}

/// `a.b` in a dotted module name.
pub fn dotted(a: String, b: String) -> String {
    format!("{a}.{b}")
}

/// `from ..module import names`.
pub fn import_from(dots: Vec<u32>, module: Option<String>, names: Vec<Alias>, l: usize, r: usize) -> PResult<Stmt> {
    let level = dots.iter().sum();
    if level == 0 && module.is_none() {
        return fail(SyntaxError::new("invalid syntax", Span::new(l, r)));
    }
    Ok(stmt(StmtKind::ImportFrom { module, names, level }, l, r))
}

/// `from m import a,` without parentheses.
pub fn import_trailing_comma(_names: Vec<Alias>, l: usize, r: usize) -> PResult<Vec<Alias>> {
    fail(SyntaxError::new("trailing comma not allowed without surrounding parentheses", Span::new(l, r)))
}

/// Attaches decorators to a `def` or `class`.
pub fn decorate(decorators: Vec<Expr>, mut s: Stmt) -> Stmt {
    match &mut s.kind {
        StmtKind::FunctionDef(f) => f.decorators = decorators,
        StmtKind::ClassDef(c) => c.decorators = decorators,
        _ => {}
    }
    s
}

/// `if` with its `elif` chain (nested into `orelse`) and `else`.
pub fn if_stmt(
    test: Expr,
    body: Vec<Stmt>,
    elifs: Vec<(usize, Expr, Vec<Stmt>)>,
    orelse: Option<Vec<Stmt>>,
    l: usize,
) -> Stmt {
    let mut orelse = orelse.unwrap_or_default();
    for (el, etest, ebody) in elifs.into_iter().rev() {
        let end = block_end(&[&ebody, &orelse], etest.span.end as usize);
        orelse = vec![stmt(StmtKind::If { test: etest, body: ebody, orelse }, el, end)];
    }
    let end = block_end(&[&body, &orelse], test.span.end as usize);
    stmt(StmtKind::If { test, body, orelse }, l, end)
}

/// `while test: body else: orelse`.
pub fn while_stmt(test: Expr, body: Vec<Stmt>, orelse: Option<Vec<Stmt>>, l: usize) -> Stmt {
    let orelse = orelse.unwrap_or_default();
    let end = block_end(&[&body, &orelse], test.span.end as usize);
    stmt(StmtKind::While { test, body, orelse }, l, end)
}

/// `for target in iter: body else: orelse`, or `async for`.
pub fn for_stmt(
    is_async: bool,
    target: Expr,
    iter: Expr,
    body: Vec<Stmt>,
    orelse: Option<Vec<Stmt>>,
    l: usize,
) -> PResult<Stmt> {
    targets::check_store(&target).or_else(fail)?;
    let orelse = orelse.unwrap_or_default();
    let end = block_end(&[&body, &orelse], iter.span.end as usize);
    Ok(stmt(StmtKind::For { target, iter, body, orelse, is_async }, l, end))
}

/// One `except` clause.
pub fn handler(typ: Option<Expr>, name: Option<String>, body: Vec<Stmt>, star: bool, l: usize) -> Handler {
    let end = block_end(&[&body], l + 6);
    (ExceptHandler { typ, name, body, span: Span::new(l, end) }, star)
}

/// `try` with its handlers, `else` and `finally`.
pub fn try_stmt(
    body: Vec<Stmt>,
    handlers: Vec<Handler>,
    orelse: Option<Vec<Stmt>>,
    finalbody: Option<Vec<Stmt>>,
    l: usize,
) -> PResult<Stmt> {
    let star = handlers.first().is_some_and(|h| h.1);
    let count = handlers.len();
    let mut out = Vec::with_capacity(count);
    for (i, (h, is_star)) in handlers.into_iter().enumerate() {
        if is_star != star {
            let span = Span::new(h.span.start as usize, h.span.start as usize + 6);
            return fail(SyntaxError::new("cannot have both 'except' and 'except*' on the same 'try'", span));
        }
        if h.typ.is_none() && i + 1 < count {
            let span = Span::new(h.span.start as usize, h.span.start as usize + 6);
            return fail(SyntaxError::new("default 'except:' must be last", span));
        }
        out.push(h);
    }
    let orelse = orelse.unwrap_or_default();
    let finalbody = finalbody.unwrap_or_default();
    let handler_end = out.last().map(|h| h.span.end as usize).unwrap_or(l + 3);
    let end = block_end(&[&body, &orelse, &finalbody], l + 3).max(handler_end);
    Ok(stmt(StmtKind::Try { body, handlers: out, orelse, finalbody, star }, l, end))
}

/// `with a as b, c: body`, or `async with`.
pub fn with_stmt(is_async: bool, items: Vec<(Expr, Option<Expr>)>, body: Vec<Stmt>, l: usize) -> PResult<Stmt> {
    let mut out = Vec::with_capacity(items.len());
    for (context, target) in items {
        if let Some(t) = &target {
            targets::check_store(t).or_else(fail)?;
        }
        out.push(WithItem { context, target });
    }
    let end = block_end(&[&body], l + 4);
    Ok(stmt(StmtKind::With { items: out, body, is_async }, l, end))
}

/// `def` or `async def`.
pub fn func_def(
    is_async: bool,
    name: String,
    nl: usize,
    nr: usize,
    items: Option<Vec<params::ParamItem>>,
    returns: Option<Expr>,
    body: Vec<Stmt>,
    l: usize,
) -> PResult<Stmt> {
    let params = params::build(items.unwrap_or_default()).or_else(fail)?;
    let end = block_end(&[&body], nr);
    let def =
        FunctionDef { name, name_span: Span::new(nl, nr), params, body, decorators: Vec::new(), returns, is_async };
    Ok(stmt(StmtKind::FunctionDef(Box::new(def)), l, end))
}

/// `class Name(bases): body`.
pub fn class_def(
    name: String,
    nl: usize,
    nr: usize,
    args: Option<Option<(Vec<super::calls::Arg>, bool)>>,
    body: Vec<Stmt>,
    l: usize,
) -> PResult<Stmt> {
    let (bases, keywords) = super::calls::split_args(args.flatten().unwrap_or_default()).or_else(fail)?;
    let end = block_end(&[&body], nr);
    let def = ClassDef { name, name_span: Span::new(nl, nr), bases, keywords, body, decorators: Vec::new() };
    Ok(stmt(StmtKind::ClassDef(Box::new(def)), l, end))
}

/// `*value`.
pub fn starred(e: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::Starred(Box::new(e)), l, r)
}

/// A comma-separated list: the lone element, or a `Tuple` when there is a comma.
pub fn tuple_or_single(mut v: Vec<Expr>, trailing_comma: bool, l: usize, r: usize) -> Expr {
    if v.len() == 1 && !trailing_comma {
        if let Some(e) = v.pop() {
            return e;
        }
    }
    expr(ExprKind::Tuple(v), l, r)
}

/// `yield value?`.
pub fn yield_expr(v: Option<Expr>, l: usize, r: usize) -> Expr {
    expr(ExprKind::Yield(v.map(Box::new)), l, r)
}

/// `yield from value`.
pub fn yield_from(v: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::YieldFrom(Box::new(v)), l, r)
}

/// `body if test else orelse`.
pub fn if_exp(test: Expr, body: Expr, orelse: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::IfExp { test: Box::new(test), body: Box::new(body), orelse: Box::new(orelse) }, l, r)
}

/// `lambda params: body`.
pub fn lambda(items: Option<Vec<params::ParamItem>>, body: Expr, l: usize, r: usize) -> PResult<Expr> {
    let params = params::build(items.unwrap_or_default()).or_else(fail)?;
    Ok(expr(ExprKind::Lambda { params: Box::new(params), body: Box::new(body) }, l, r))
}

/// `a or b or c` / `a and b`.
pub fn bool_op(op: BoolOpKind, first: Expr, rest: Vec<Expr>, l: usize, r: usize) -> Expr {
    let mut values = Vec::with_capacity(rest.len() + 1);
    values.push(first);
    values.extend(rest);
    expr(ExprKind::BoolOp { op, values }, l, r)
}

/// A unary operation.
pub fn unary(op: UnaryOp, operand: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::UnaryOp { op, operand: Box::new(operand) }, l, r)
}

/// A (possibly chained) comparison.
pub fn compare(left: Expr, rest: Vec<(CmpOp, Expr)>, l: usize, r: usize) -> Expr {
    let (ops, comparators) = rest.into_iter().unzip();
    expr(ExprKind::Compare { left: Box::new(left), ops, comparators }, l, r)
}

/// A binary operation.
pub fn bin_op(left: Expr, op: BinOp, right: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::BinOp { left: Box::new(left), op, right: Box::new(right) }, l, r)
}

/// `await value`.
pub fn await_expr(e: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::Await(Box::new(e)), l, r)
}

/// `value[index]`.
pub fn subscript(value: Expr, index: Expr, l: usize, r: usize) -> Expr {
    expr(ExprKind::Subscript { value: Box::new(value), index: Box::new(index) }, l, r)
}

/// `value.attr`.
pub fn attribute(value: Expr, attr: String, l: usize, r: usize) -> Expr {
    expr(ExprKind::Attribute { value: Box::new(value), attr }, l, r)
}

/// A name.
pub fn name(id: String, l: usize, r: usize) -> Expr {
    expr(ExprKind::Name(id), l, r)
}

/// An integer literal.
pub fn int(v: IntValue, l: usize, r: usize) -> Expr {
    let c = match v {
        IntValue::Small(i) => Constant::Int(i),
        IntValue::Big(digits) => Constant::BigInt(digits),
    };
    constant(c, l, r)
}

/// A constant.
pub fn constant(c: Constant, l: usize, r: usize) -> Expr {
    expr(ExprKind::Constant(c), l, r)
}

/// A tuple display.
pub fn tuple(v: Vec<Expr>, l: usize, r: usize) -> Expr {
    expr(ExprKind::Tuple(v), l, r)
}

/// A list display.
pub fn list(v: Vec<Expr>, l: usize, r: usize) -> Expr {
    expr(ExprKind::List(v), l, r)
}

/// A set display.
pub fn set(v: Vec<Expr>, l: usize, r: usize) -> Expr {
    expr(ExprKind::Set(v), l, r)
}

/// A dict display; a `None` key marks `**mapping`.
pub fn dict(entries: Vec<(Option<Expr>, Expr)>, l: usize, r: usize) -> Expr {
    let (keys, values) = entries.into_iter().unzip();
    expr(ExprKind::Dict { keys, values }, l, r)
}

/// `( ... )`: a parenthesised expression is just the inner expression; otherwise a tuple.
pub fn paren(v: Vec<Expr>, trailing_comma: bool, l: usize, r: usize) -> PResult<Expr> {
    if v.len() == 1 && !trailing_comma {
        if let ExprKind::Starred(_) = v[0].kind {
            return fail(SyntaxError::new("cannot use starred expression here", v[0].span));
        }
    }
    Ok(tuple_or_single(v, trailing_comma, l, r))
}

/// Rejects `*x` as a comprehension element.
fn check_element(e: &Expr) -> PResult<()> {
    if let ExprKind::Starred(_) = e.kind {
        return fail(SyntaxError::new("iterable unpacking cannot be used in comprehension", e.span));
    }
    Ok(())
}

/// `(elt for ...)`.
pub fn genexp(elt: Expr, generators: Vec<Comprehension>, l: usize, r: usize) -> PResult<Expr> {
    check_element(&elt)?;
    Ok(expr(ExprKind::GeneratorExp { elt: Box::new(elt), generators }, l, r))
}

/// `[elt for ...]`.
pub fn list_comp(elt: Expr, generators: Vec<Comprehension>, l: usize, r: usize) -> PResult<Expr> {
    check_element(&elt)?;
    Ok(expr(ExprKind::ListComp { elt: Box::new(elt), generators }, l, r))
}

/// `{elt for ...}`.
pub fn set_comp(elt: Expr, generators: Vec<Comprehension>, l: usize, r: usize) -> PResult<Expr> {
    check_element(&elt)?;
    Ok(expr(ExprKind::SetComp { elt: Box::new(elt), generators }, l, r))
}

/// `{key: value for ...}`.
pub fn dict_comp(key: Expr, value: Expr, generators: Vec<Comprehension>, l: usize, r: usize) -> Expr {
    expr(ExprKind::DictComp { key: Box::new(key), value: Box::new(value), generators }, l, r)
}

/// `async? for target in iter` in a comprehension.
pub fn comp_for(is_async: bool, target: Expr, iter: Expr) -> PResult<CompClause> {
    targets::check_store(&target).or_else(fail)?;
    Ok(CompClause::For(Comprehension { target, iter, ifs: Vec::new(), is_async }))
}

/// Attaches each `if` to the `for` before it.
pub fn comprehensions(first: CompClause, rest: Vec<CompClause>) -> Vec<Comprehension> {
    let mut out: Vec<Comprehension> = Vec::new();
    for clause in std::iter::once(first).chain(rest) {
        match clause {
            CompClause::For(c) => out.push(c),
            CompClause::If(e) => {
                if let Some(last) = out.last_mut() {
                    last.ifs.push(e);
                }
            }
        }
    }
    out
}

/// `lower:upper:step`.
pub fn slice(lower: Option<Expr>, upper: Option<Expr>, step: Option<Option<Expr>>, l: usize, r: usize) -> Expr {
    let b = |e: Option<Expr>| e.map(Box::new);
    expr(ExprKind::Slice { lower: b(lower), upper: b(upper), step: b(step.flatten()) }, l, r)
}
