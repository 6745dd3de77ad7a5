//! The `builtins` namespace: built-in functions, type constructors and the methods of the
//! built-in types, each file ending in one visible list that registers its names.

pub(crate) mod bytes_format;
mod bytes_methods;
mod clinic;
mod constructors;
pub(crate) mod exceptions;
mod fast;
pub(crate) mod file;
mod float_hex;
mod functions;
pub(crate) mod generic_alias;
pub(crate) mod methods;
mod num_methods;
mod object_methods;
mod str_methods;
pub(crate) mod union_type;
pub use file::open as open_file;
pub use functions::sort_values;
pub use str_methods::is_printable;

use crate::vm::value::NativeFunction;
use crate::vm::{Args, Exc, NativeFn, Res, Sym, Value, Vm};
use std::rc::Rc;

/// Installs every built-in into a fresh VM.
pub fn install(vm: &mut Vm) {
    for (name, f) in functions::FUNCTIONS {
        vm.builtins.set(Sym::new(name), native(name, *f));
    }
    for id in crate::vm::TypeId::ALL {
        let c = vm.type_class(*id).clone();
        match id.name() {
            "object" | "type" | "int" | "bool" | "float" | "str" | "bytes" | "bytearray" | "list" | "tuple"
            | "dict" | "set" | "frozenset" | "range" | "slice" | "property" | "staticmethod" | "classmethod"
            | "super" | "enumerate" | "zip" | "map" | "filter" | "reversed" => {
                vm.builtins.set(Sym::new(id.name()), Value::Class(c));
            }
            _ => {}
        }
    }
    constructors::install(vm);
    methods::install(vm);
    num_methods::install(vm);
    exceptions::install(vm);
    object_methods::install(vm);
    fast::install(vm);
    generic_alias::install(vm);
    vm.builtins.set(Sym::new("None"), Value::None);
    vm.builtins.set(Sym::new("NotImplemented"), Value::NotImplemented);
    vm.builtins.set(Sym::new("Ellipsis"), Value::Ellipsis);
    vm.builtins.set(Sym::new("__name__"), Value::str("builtins"));
}

/// A built-in function value.
pub fn native(name: &'static str, func: NativeFn) -> Value {
    Value::Native(Rc::new(NativeFunction { fast: None, name, func, receiver: None, owner: None }))
}

/// A built-in function bound to a receiver (passed as the first positional argument).
pub fn bound_native(receiver: Value, name: &'static str, func: NativeFn) -> Value {
    Value::Native(Rc::new(NativeFunction { fast: None, name, func, receiver: Some(receiver), owner: None }))
}

/// A keyword argument left over for a built-in that takes none (those it accepts were
/// taken first): CPython's `len() takes no keyword arguments`.
fn no_keywords(name: &str, a: &Args) -> Res<()> {
    if a.kw.is_empty() {
        return Ok(());
    }
    Err(Exc::type_error(format!("{name}() takes no keyword arguments")))
}

/// Checks the positional argument count of a native.
pub fn check_args(name: &str, a: &Args, min: usize, max: usize) -> Res<()> {
    no_keywords(name, a)?;
    let n = a.pos.len();
    if min == max && min <= 1 && n != min {
        return Err(Exc::type_error(if min == 0 {
            format!("{name}() takes no arguments ({n} given)")
        } else {
            format!("{name}() takes exactly one argument ({n} given)")
        }));
    }
    check_positional(name, a, min, max)
}

/// The receiver (`a.pos[0]`) of a built-in method called through its class, or
/// CPython's `unbound method T.m() needs an argument` when there is none.
pub fn receiver(a: &Args, qualname: &str) -> Res<Value> {
    match a.pos.first() {
        Some(v) => Ok(v.clone()),
        None => Err(Exc::type_error(match qualname.split_once(".__") {
            Some((owner, dunder)) => format!("descriptor '__{dunder}' of '{owner}' object needs an argument"),
            None => format!("unbound method {qualname}() needs an argument"),
        })),
    }
}

/// Checks the positional argument count the way CPython's `_PyArg_CheckPositional`
/// words it (`sorted expected 1 argument, got 0`), for builtins that do not use the
/// `takes exactly one argument` form.
pub fn check_positional(name: &str, a: &Args, min: usize, max: usize) -> Res<()> {
    no_keywords(name, a)?;
    let n = a.pos.len();
    let msg = if n < min {
        let least = if min == max { "" } else { "at least " };
        format!("{name} expected {least}{min} argument{}, got {n}", plural(min))
    } else if n > max {
        let most = if min == max { "" } else { "at most " };
        format!("{name} expected {most}{max} argument{}, got {n}", plural(max))
    } else {
        return Ok(());
    };
    Err(Exc::type_error(msg))
}

/// Checks the positional argument count of a builtin whose parameters have names
/// (CPython's argument clinic): `pow() missing required argument 'base' (pos 1)`,
/// `round() takes at most 2 arguments (5 given)`. `params` names them in order, the
/// first `min` being required. Call it after taking the keyword arguments.
pub fn check_named_args(name: &str, a: &Args, params: &[&str], min: usize) -> Res<()> {
    let n = a.pos.len();
    if n > params.len() {
        let max = params.len();
        let msg = format!("{name}() takes at most {max} argument{} ({n} given)", plural(max));
        return Err(Exc::type_error(msg));
    }
    if n < min {
        let msg = format!("{name}() missing required argument '{}' (pos {})", params[n], n + 1);
        return Err(Exc::type_error(msg));
    }
    Ok(())
}

/// Checks the argument count of a built-in method, whose `a.pos` starts with `self`:
/// `min` and `max` count `self`, the messages (as CPython's) do not. `qualname` is
/// `type.method`.
pub fn check_method_args(qualname: &str, a: &Args, min: usize, max: usize) -> Res<()> {
    no_keywords(qualname, a)?;
    let n = a.pos.len();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    let given = n.saturating_sub(1);
    let name = qualname.rsplit('.').next().unwrap_or(qualname);
    let msg = match (min - 1, max - 1) {
        (0, 0) => format!("{qualname}() takes no arguments ({given} given)"),
        (1, 1) => format!("{qualname}() takes exactly one argument ({given} given)"),
        (lo, hi) if lo == hi => format!("{name} expected {lo} arguments, got {given}"),
        (lo, _) if given < lo => format!("{name} expected at least {lo} argument{}, got {given}", plural(lo)),
        (_, hi) => format!("{name} expected at most {hi} argument{}, got {given}", plural(hi)),
    };
    Err(Exc::type_error(msg))
}

/// The plural ending for a count.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Takes a keyword argument out of `a.kw`.
pub fn take_kw(a: &mut Args, name: &str) -> Option<Value> {
    if a.kw.is_empty() {
        return None;
    }
    let sym = Sym::new(name);
    let i = a.kw.iter().position(|(k, _)| *k == sym)?;
    Some(a.kw.remove(i).1)
}

/// Fails if keyword arguments remain that the native does not accept.
pub fn no_more_kw(fname: &str, a: &Args) -> Res<()> {
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!("{fname}() got an unexpected keyword argument '{k}'")));
    }
    Ok(())
}

/// The positional argument `i`, or a `TypeError`.
pub fn arg(a: &Args, i: usize, fname: &str) -> Res<Value> {
    a.pos.get(i).cloned().ok_or_else(|| Exc::type_error(format!("{fname}() missing required argument (pos {})", i + 1)))
}

/// The `str` payload of a value, or a `TypeError` naming what was expected.
pub fn expect_str<'a>(vm: &Vm, v: &'a Value, what: &str) -> Res<&'a crate::vm::value::Str> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(Exc::type_error(format!("{what} must be str, not {}", vm.type_name(other)))),
    }
}

/// Runs `f` over the script-visible form of `v` for `sorted`/`min`/`max` keys.
pub fn apply_key(vm: &mut Vm, key: &Option<Value>, v: &Value) -> Res<Value> {
    match key {
        Some(k) if !k.is_none() => vm.call(k, vec![v.clone()]),
        _ => Ok(v.clone()),
    }
}
