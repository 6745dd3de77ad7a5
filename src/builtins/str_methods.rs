//! Methods of `str`.

use super::check_args;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, NativeFn, Res, TypeId, Vm};

fn this_str(a: &Args) -> Res<String> {
    match a.pos.first() {
        Some(Value::Str(s)) => Ok(s.as_str().to_string()),
        _ => Err(Exc::type_error("descriptor requires a 'str' object")),
    }
}

fn join(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("join", a, 2, 2)?;
    let sep = this_str(a)?;
    let items = vm.collect(&a.pos[1].clone())?;
    let mut out = String::new();
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        match v {
            Value::Str(s) => out.push_str(s.as_str()),
            other => {
                return Err(Exc::type_error(format!("sequence item {i}: expected str instance, {} found", vm.type_name(other))))
            }
        }
    }
    Ok(Value::string(out))
}

fn encode(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = this_str(a)?;
    Ok(Value::Bytes(std::rc::Rc::from(s.into_bytes())))
}

/// Registers the `str` methods.
pub fn install(vm: &mut Vm) {
    let methods: &[(&'static str, NativeFn)] = &[("join", join), ("encode", encode)];
    vm.add_methods(TypeId::Str, methods);
}
