//! Parameter lists of `def` and `lambda`: parsed as a flat list of items, then checked and
//! sorted into [`Parameters`] here.

use crate::ast::*;
use crate::diagnostics::SyntaxError;

/// One item of a parameter list as the grammar sees it.
#[derive(Debug)]
pub enum ParamItem {
    /// `name: annotation = default`.
    Plain(Param),
    /// A bare `*`.
    BareStar(Span),
    /// `*args`.
    Star(Param),
    /// `**kwargs`.
    DoubleStar(Param),
    /// The `/` positional-only marker.
    Slash(Span),
}

/// Builds one parameter.
pub fn param(name: String, annotation: Option<Expr>, default: Option<Expr>, l: usize, r: usize) -> Param {
    Param { name, annotation, default, span: Span::new(l, r) }
}

/// Sorts the items into [`Parameters`], with CPython's checks and messages.
pub fn build(items: Vec<ParamItem>) -> Result<Parameters, SyntaxError> {
    let mut p = Parameters::default();
    let mut seen_star = false; // `*` or `*args` seen
    let mut bare_star: Option<Span> = None;
    let mut seen_slash = false;
    let mut seen_default = false;
    let mut names: Vec<(String, Span)> = Vec::new();
    let mut record = |param: &Param| -> Result<(), SyntaxError> {
        if names.iter().any(|(n, _)| *n == param.name) {
            let message = format!("duplicate argument '{}' in function definition", param.name);
            return Err(SyntaxError::new(message, param.span));
        }
        names.push((param.name.clone(), param.span));
        Ok(())
    };
    for item in items {
        if p.kwarg.is_some() {
            let span = match &item {
                ParamItem::Plain(x) | ParamItem::Star(x) | ParamItem::DoubleStar(x) => x.span,
                ParamItem::BareStar(s) | ParamItem::Slash(s) => *s,
            };
            return Err(SyntaxError::new("arguments cannot follow var-keyword argument", span));
        }
        match item {
            ParamItem::Plain(param) => {
                record(&param)?;
                if seen_star {
                    bare_star = None;
                    p.kwonly.push(param);
                } else {
                    if param.default.is_some() {
                        seen_default = true;
                    } else if seen_default {
                        return Err(SyntaxError::new("non-default argument follows default argument", param.span));
                    }
                    p.args.push(param);
                }
            }
            ParamItem::Slash(span) => {
                if seen_slash {
                    return Err(SyntaxError::new("/ may appear only once", span));
                }
                if seen_star {
                    return Err(SyntaxError::new("/ must be ahead of *", span));
                }
                if p.args.is_empty() {
                    return Err(SyntaxError::new("at least one argument must precede /", span));
                }
                seen_slash = true;
                p.posonly = std::mem::take(&mut p.args);
            }
            ParamItem::BareStar(span) | ParamItem::Star(Param { span, .. }) if seen_star => {
                return Err(SyntaxError::new("* argument may appear only once", span));
            }
            ParamItem::BareStar(span) => {
                seen_star = true;
                bare_star = Some(span);
            }
            ParamItem::Star(param) => {
                record(&param)?;
                seen_star = true;
                p.vararg = Some(param);
            }
            ParamItem::DoubleStar(param) => {
                if let Some(span) = bare_star {
                    return Err(SyntaxError::new("named arguments must follow bare *", span));
                }
                record(&param)?;
                p.kwarg = Some(param);
            }
        }
    }
    if let Some(span) = bare_star {
        return Err(SyntaxError::new("named arguments must follow bare *", span));
    }
    Ok(p)
}
