//! `gc`: the collector's switches.

use crate::vm::value::{Module, Value};
use crate::vm::{Args, Res, Vm};
use std::rc::Rc;

fn collect(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Int(0))
}
fn enable(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    vm.gc_enabled = true;
    Ok(Value::None)
}
fn disable(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    vm.gc_enabled = false;
    Ok(Value::None)
}
fn isenabled(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(vm.gc_enabled))
}

/// Builds the module.
pub fn init(_vm: &mut Vm) -> Res<Rc<Module>> {
    Ok(super::native_module(
        "gc",
        &[("collect", collect), ("enable", enable), ("disable", disable), ("isenabled", isenabled)],
    ))
}
