//! Argument binding for built-ins whose parameters have names, with the messages of
//! CPython's Argument Clinic (`from_bytes() missing required argument 'bytes' (pos 1)`,
//! `'foo' is an invalid keyword argument for to_bytes()`).

use crate::vm::{Args, Exc, Res, Value};

/// A built-in's parameters: positional-or-keyword ones, then keyword-only ones.
pub struct Params {
    /// The name messages use (`from_bytes`).
    pub name: &'static str,
    /// Positional-or-keyword parameters, in order.
    pub positional: &'static [&'static str],
    /// How many leading `positional` parameters are required.
    pub required: usize,
    /// Keyword-only parameters (all optional).
    pub kwonly: &'static [&'static str],
}

/// Binds `a.pos[skip..]` and `a.kw` to `p`: one slot per positional parameter, then one
/// per keyword-only parameter, `None` where the caller passed nothing. The first `skip`
/// positional arguments (the receiver) are left out.
pub fn bind(a: &mut Args, skip: usize, p: &Params) -> Res<Vec<Option<Value>>> {
    let given = a.pos.len().saturating_sub(skip);
    let (max, total) = (p.positional.len(), p.positional.len() + p.kwonly.len());
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    // The checks in the order of CPython's `_PyArg_UnpackKeywords`.
    if given + a.kw.len() > total {
        let keyword = if given == 0 { "keyword " } else { "" };
        let n = given + a.kw.len();
        let msg = format!("{}() takes at most {total} {keyword}argument{} ({n} given)", p.name, plural(total));
        return Err(Exc::type_error(msg));
    }
    if given > max {
        let msg = if max == 0 {
            format!("{}() takes no positional arguments", p.name)
        } else {
            let bound = if p.required < max { "at most" } else { "exactly" };
            format!("{}() takes {bound} {max} positional argument{} ({given} given)", p.name, plural(max))
        };
        return Err(Exc::type_error(msg));
    }
    let mut out: Vec<Option<Value>> = a.pos.iter().skip(skip).cloned().map(Some).collect();
    out.resize(total, None);
    let mut kw: Vec<(String, Value)> =
        std::mem::take(&mut a.kw).into_iter().map(|(k, v)| (k.to_string_owned(), v)).collect();
    for (i, slot) in out.iter_mut().enumerate().skip(given) {
        let name = if i < max { p.positional[i] } else { p.kwonly[i - max] };
        match kw.iter().position(|(k, _)| k == name) {
            Some(j) => *slot = Some(kw.remove(j).1),
            None if i < p.required => {
                let msg = format!("{}() missing required argument '{name}' (pos {})", p.name, i + 1);
                return Err(Exc::type_error(msg));
            }
            None => {}
        }
    }
    if let Some((key, _)) = kw.first() {
        if let Some(i) = p.positional[..given].iter().position(|n| kw.iter().any(|(k, _)| k == n)) {
            let msg =
                format!("argument for {}() given by name ('{}') and position ({})", p.name, p.positional[i], i + 1);
            return Err(Exc::type_error(msg));
        }
        return Err(Exc::type_error(format!("'{key}' is an invalid keyword argument for {}()", p.name)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{bind, Params};
    use crate::vm::{Args, Sym, Value};

    const FROM_BYTES: Params =
        Params { name: "from_bytes", positional: &["bytes", "byteorder"], required: 1, kwonly: &["signed"] };

    fn args(pos: Vec<Value>, kw: Vec<(&str, Value)>) -> Args {
        Args { pos: pos.into_iter().collect(), kw: kw.into_iter().map(|(k, v)| (Sym::new(k), v)).collect() }
    }

    fn message(r: crate::vm::Res<Vec<Option<Value>>>) -> String {
        match r {
            Err(crate::vm::Exc::Msg(_, m)) => m,
            _ => String::from("no error"),
        }
    }

    #[test]
    fn binds_positional_and_keyword_arguments() {
        let mut a = args(vec![Value::None, Value::Int(1)], vec![("signed", Value::Bool(true))]);
        let out = bind(&mut a, 1, &FROM_BYTES).ok().unwrap_or_default();
        assert_eq!(out.len(), 3);
        assert!(matches!(out[0], Some(Value::Int(1))));
        assert!(out[1].is_none());
        assert!(matches!(out[2], Some(Value::Bool(true))));
    }

    #[test]
    fn words_errors_as_argument_clinic() {
        let m = message(bind(&mut args(vec![Value::None], vec![]), 1, &FROM_BYTES));
        assert_eq!(m, "from_bytes() missing required argument 'bytes' (pos 1)");
        let m = message(bind(&mut args(vec![Value::None; 4], vec![]), 1, &FROM_BYTES));
        assert_eq!(m, "from_bytes() takes at most 2 positional arguments (3 given)");
        let m = message(bind(&mut args(vec![Value::None; 4], vec![("signed", Value::None)]), 1, &FROM_BYTES));
        assert_eq!(m, "from_bytes() takes at most 3 arguments (4 given)");
        let m = message(bind(&mut args(vec![Value::None; 2], vec![("bytes", Value::None)]), 1, &FROM_BYTES));
        assert_eq!(m, "argument for from_bytes() given by name ('bytes') and position (1)");
        let m = message(bind(&mut args(vec![Value::None; 2], vec![("foo", Value::None)]), 1, &FROM_BYTES));
        assert_eq!(m, "'foo' is an invalid keyword argument for from_bytes()");
    }
}
