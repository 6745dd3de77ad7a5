//! Call arguments (also class bases): parsed generally, then split and checked here.

use super::nodes::{expr, fail, genexp, PResult};
use crate::ast::*;
use crate::diagnostics::SyntaxError;

/// One argument as the grammar sees it.
#[derive(Debug)]
pub enum Arg {
    /// `value` (including `name := value`).
    Positional(Expr),
    /// `x for x in y` without its own parentheses.
    Genexp(Expr),
    /// `target=value`: the target is checked to be a bare name.
    Keyword(Expr, Expr, Span),
    /// `*iterable` (already a `Starred`).
    Star(Expr),
    /// `**mapping`.
    DoubleStar(Expr, Span),
}

/// A generator expression given as an argument.
pub fn genexp_arg(elt: Expr, generators: Vec<Comprehension>, l: usize, r: usize) -> PResult<Arg> {
    genexp(elt, generators, l, r).map(Arg::Genexp)
}

/// Splits arguments into positional ones and keywords, with CPython's ordering checks.
/// A trailing comma counts as a second argument for the "must be parenthesized" check.
pub fn split_args((args, trailing_comma): (Vec<Arg>, bool)) -> Result<(Vec<Expr>, Vec<Keyword>), SyntaxError> {
    let count = args.len() + usize::from(trailing_comma);
    let mut positional = Vec::new();
    let mut keywords: Vec<Keyword> = Vec::new();
    let mut seen_keyword = false;
    let mut seen_double_star = false;
    for arg in args {
        match arg {
            Arg::Positional(e) => {
                if seen_double_star {
                    return Err(SyntaxError::new("positional argument follows keyword argument unpacking", e.span));
                }
                if seen_keyword {
                    return Err(SyntaxError::new("positional argument follows keyword argument", e.span));
                }
                positional.push(e);
            }
            Arg::Genexp(e) => {
                if count > 1 {
                    return Err(SyntaxError::new("Generator expression must be parenthesized", e.span));
                }
                positional.push(e);
            }
            Arg::Star(e) => {
                if seen_double_star {
                    return Err(SyntaxError::new(
                        "iterable argument unpacking follows keyword argument unpacking",
                        e.span,
                    ));
                }
                positional.push(e);
            }
            Arg::Keyword(target, value, span) => {
                let name = match target.kind {
                    ExprKind::Name(name) => name,
                    ExprKind::Constant(Constant::None | Constant::Bool(_)) => {
                        let message = format!("cannot assign to {}", super::targets::expr_name(&target));
                        return Err(SyntaxError::new(message, target.span));
                    }
                    _ => {
                        return Err(SyntaxError::new(
                            "expression cannot contain assignment, perhaps you meant \"==\"?",
                            Span::new(target.span.start as usize, value.span.start as usize),
                        ))
                    }
                };
                if keywords.iter().any(|k| k.name.as_deref() == Some(name.as_str())) {
                    return Err(SyntaxError::new(format!("keyword argument repeated: {name}"), span));
                }
                seen_keyword = true;
                keywords.push(Keyword { name: Some(name), value, span });
            }
            Arg::DoubleStar(value, span) => {
                seen_double_star = true;
                keywords.push(Keyword { name: None, value, span });
            }
        }
    }
    Ok((positional, keywords))
}

/// `func(args)`.
pub fn call(func: Expr, args: Option<(Vec<Arg>, bool)>, l: usize, r: usize) -> PResult<Expr> {
    let (args, keywords) = split_args(args.unwrap_or_default()).or_else(fail)?;
    Ok(expr(ExprKind::Call { func: Box::new(func), args, keywords }, l, r))
}
