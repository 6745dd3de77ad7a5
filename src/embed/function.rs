//! Rust closures as script functions: arguments converted with [`FromValue`], the result
//! with [`ToValue`], a wrong count or type raising `TypeError` in the script.
//!
//! ```
//! let mut engine = aio::Engine::new();
//! engine.register_fn("add", |a: i64, b: i64| a + b);
//! engine.register_fn("greet", |name: String, punct: Option<String>| {
//!     format!("hello, {name}{}", punct.unwrap_or_else(|| "!".into()))
//! });
//! assert_eq!(engine.eval::<i64>("add(2, 3)").unwrap(), 5);
//! assert_eq!(engine.eval::<String>("greet('ada')").unwrap(), "hello, ada!");
//! let err = engine.eval::<i64>("add(1, 'x')").unwrap_err();
//! assert_eq!(err.message(), Some("add() argument 2 must be int, not str"));
//! let err = engine.eval::<i64>("add(1)").unwrap_err();
//! assert_eq!(err.message(), Some("add() takes exactly 2 arguments (1 given)"));
//! ```

use super::convert::{FromValue, ToValue};
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Exc, ExcKind, Res, Sym, Vm};
use std::rc::Rc;

/// The type-erased body of a host function: positional and keyword arguments in, a value
/// (or a raised exception) out.
pub type RawFn = dyn Fn(&mut Vm, Vec<Value>, Vec<(Sym, Value)>) -> Res<Value>;

/// A host function as scripts see it: a `builtin_function_or_method`.
pub struct HostFunction {
    name: Rc<str>,
    body: Box<RawFn>,
}

impl HostFunction {
    /// A host function from a raw body.
    pub fn new(name: &str, body: Box<RawFn>) -> HostFunction {
        HostFunction { name: Rc::from(name), body }
    }

    /// The script value of a host function.
    pub fn value(name: &str, body: Box<RawFn>) -> Value {
        Value::Other(Rc::new(HostFunction::new(name, body)))
    }
}

impl NativeObject for HostFunction {
    fn type_name(&self) -> &'static str {
        "builtin_function_or_method"
    }
    fn get_attr(&self, _vm: &mut Vm, _this: &Value, name: Sym) -> Res<Option<Value>> {
        Ok(name.with_str(|n| match n {
            "__name__" | "__qualname__" => Some(Value::str(&self.name)),
            "__doc__" => Some(Value::None),
            _ => None,
        }))
    }
    fn call(&self, vm: &mut Vm, _this: &Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Option<Res<Value>> {
        Some(guard_panic(&self.name, || (self.body)(vm, args, kw)))
    }
    fn is_callable(&self) -> bool {
        true
    }
    fn repr(&self) -> String {
        format!("<built-in function {}>", self.name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Runs host code, turning a panic into a `RuntimeError` in the script (the default panic
/// hook has already printed it), so a buggy host function cannot unwind through the VM.
pub(crate) fn guard_panic<T>(name: &str, f: impl FnOnce() -> Res<T>) -> Res<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(Exc::runtime_error(format!("host function {name}() panicked: {msg}")))
        }
    }
}

/// Checks the argument count against `optional` (one flag per parameter; only a trailing
/// run of optional parameters may be omitted) and that no keywords were given.
pub(crate) fn check_arity(name: &str, given: usize, kw: &[(Sym, Value)], optional: &[bool]) -> Res<()> {
    if !kw.is_empty() {
        return Err(Exc::type_error(format!("{name}() takes no keyword arguments")));
    }
    let max = optional.len();
    let min = max - optional.iter().rev().take_while(|o| **o).count();
    if given >= min && given <= max {
        return Ok(());
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let msg = if min == max {
        match max {
            0 => format!("{name}() takes no arguments ({given} given)"),
            1 => format!("{name}() takes exactly one argument ({given} given)"),
            n => format!("{name}() takes exactly {n} arguments ({given} given)"),
        }
    } else if given < min {
        format!("{name}() takes at least {min} argument{} ({given} given)", plural(min))
    } else {
        format!("{name}() takes at most {max} argument{} ({given} given)", plural(max))
    };
    Err(Exc::type_error(msg))
}

/// Converts argument `i` (1-based) of host function `name`, rewording a conversion's
/// `TypeError` as CPython words a built-in's: `f() argument 2 must be int, not str`.
pub(crate) fn arg<A: FromValue>(vm: &mut Vm, name: &str, i: usize, v: Option<Value>) -> Res<A> {
    let v = v.unwrap_or(Value::None);
    let tn = vm.type_name(&v);
    A::from_value(v, vm).map_err(|e| match e {
        Exc::Msg(ExcKind::TypeError, m) => {
            let desc = A::type_desc();
            // The value itself has the wrong type (not an item inside it).
            if m.starts_with("expected ") && m.ends_with(&format!(", not {tn}")) {
                Exc::type_error(format!("{name}() argument {i} must be {desc}, not {tn}"))
            } else {
                Exc::type_error(format!("{name}() argument {i} ({desc}): {m}"))
            }
        }
        Exc::Msg(kind, m) => Exc::Msg(kind, format!("{name}() argument {i}: {m}")),
        other => other,
    })
}

/// A Rust closure callable from scripts: implemented for `Fn(A1, ..., An) -> R` and
/// `Fn(&mut Vm, A1, ..., An) -> R` with up to 8 [`FromValue`] arguments (`Marker` tells
/// the two apart; hosts never name it). Trailing `Option` arguments may be omitted.
pub trait HostFn<Marker>: 'static {
    /// What the closure returns.
    type Output;
    /// Converts the arguments (checking their count) and calls the closure.
    fn call_with(&self, vm: &mut Vm, name: &str, args: Vec<Value>, kw: &[(Sym, Value)]) -> Res<Self::Output>;
}

/// Marks closures whose first parameter is `&mut Vm` (see [`HostFn`]).
pub struct WithVm;

macro_rules! host_fn {
    ($($a:ident $i:literal),*) => {
        impl<F, R, $($a: FromValue),*> HostFn<($($a,)*)> for F
        where
            F: Fn($($a),*) -> R + 'static,
        {
            type Output = R;
            #[allow(unused_mut, unused_variables)]
            fn call_with(&self, vm: &mut Vm, name: &str, args: Vec<Value>, kw: &[(Sym, Value)]) -> Res<R> {
                check_arity(name, args.len(), kw, &[$($a::OPTIONAL),*])?;
                let mut it = args.into_iter();
                $(let $a = arg::<$a>(vm, name, $i, it.next())?;)*
                Ok(self($($a),*))
            }
        }
        impl<F, R, $($a: FromValue),*> HostFn<(WithVm, $($a,)*)> for F
        where
            F: Fn(&mut Vm, $($a),*) -> R + 'static,
        {
            type Output = R;
            #[allow(unused_mut, unused_variables)]
            fn call_with(&self, vm: &mut Vm, name: &str, args: Vec<Value>, kw: &[(Sym, Value)]) -> Res<R> {
                check_arity(name, args.len(), kw, &[$($a::OPTIONAL),*])?;
                let mut it = args.into_iter();
                $(let $a = arg::<$a>(vm, name, $i, it.next())?;)*
                Ok(self(vm, $($a),*))
            }
        }
    };
}

#[allow(non_snake_case)]
mod impls {
    use super::*;
    host_fn!();
    host_fn!(A1 1);
    host_fn!(A1 1, A2 2);
    host_fn!(A1 1, A2 2, A3 3);
    host_fn!(A1 1, A2 2, A3 3, A4 4);
    host_fn!(A1 1, A2 2, A3 3, A4 4, A5 5);
    host_fn!(A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);
    host_fn!(A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7);
    host_fn!(A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8);
}

/// The raw body of a host function whose result converts with [`ToValue`].
pub(crate) fn raw_fn<M, F>(name: &str, f: F) -> Box<RawFn>
where
    F: HostFn<M>,
    F::Output: ToValue,
{
    let name: Rc<str> = Rc::from(name);
    Box::new(move |vm, args, kw| f.call_with(vm, &name, args, &kw)?.to_value(vm))
}
