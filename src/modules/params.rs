//! Argument binding for natives that mimic Python-level functions (`random`, `json`, `os`):
//! positional-or-keyword parameters, keyword-only parameters, CPython's error messages.

use crate::vm::{Args, Exc, Res, Value};

/// The signature of a Python-level function implemented natively.
pub struct Sig {
    /// The name used in error messages (`Random.randint`, `dumps`).
    pub name: &'static str,
    /// Positional-or-keyword parameters in order (including `self` for methods).
    pub params: &'static [&'static str],
    /// How many leading `params` are required.
    pub required: usize,
    /// Keyword-only parameters (all optional).
    pub kwonly: &'static [&'static str],
}

/// Binds `a` to `sig`: one slot per positional parameter, then one per keyword-only
/// parameter, `None` where the caller passed nothing.
pub fn bind(a: &mut Args, sig: &Sig) -> Res<Vec<Option<Value>>> {
    let np = sig.params.len();
    let given = a.pos.len();
    if given > np {
        let takes = if sig.required == np {
            format!("{np} positional argument{}", if np == 1 { "" } else { "s" })
        } else {
            format!("from {} to {np} positional arguments", sig.required)
        };
        let were = if given == 1 { "was" } else { "were" };
        return Err(Exc::type_error(format!("{}() takes {takes} but {given} {were} given", sig.name)));
    }
    let mut out: Vec<Option<Value>> = a.pos.drain(..).map(Some).collect();
    out.resize(np + sig.kwonly.len(), None);
    for (k, v) in std::mem::take(&mut a.kw) {
        let key = k.to_string_owned();
        let slot = match sig.params.iter().position(|p| *p == key) {
            Some(i) => i,
            None => match sig.kwonly.iter().position(|p| *p == key) {
                Some(i) => np + i,
                None => {
                    return Err(Exc::type_error(format!("{}() got an unexpected keyword argument '{key}'", sig.name)))
                }
            },
        };
        if out[slot].is_some() {
            return Err(Exc::type_error(format!("{}() got multiple values for argument '{key}'", sig.name)));
        }
        out[slot] = Some(v);
    }
    let missing: Vec<String> =
        (0..sig.required).filter(|i| out[*i].is_none()).map(|i| format!("'{}'", sig.params[i])).collect();
    if !missing.is_empty() {
        let list = match missing.len() {
            1 => missing[0].clone(),
            2 => format!("{} and {}", missing[0], missing[1]),
            n => format!("{}, and {}", missing[..n - 1].join(", "), missing[n - 1]),
        };
        return Err(Exc::type_error(format!(
            "{}() missing {} required positional argument{}: {list}",
            sig.name,
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(out)
}

/// The value in a bound slot, `None` (Python's) when absent.
pub fn or_none(v: &Option<Value>) -> Value {
    v.clone().unwrap_or(Value::None)
}

/// True when a bound slot is absent or Python's `None`.
pub fn is_none(v: &Option<Value>) -> bool {
    matches!(v, None | Some(Value::None))
}
