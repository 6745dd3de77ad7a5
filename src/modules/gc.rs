//! `gc`: the cycle collector's interface (the collector itself is `vm::gc`).

use crate::vm::gc;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, Res, Vm};
use std::rc::Rc;

/// CPython's check for the functions that take nothing.
fn no_args(name: &str, a: &Args) -> Res<()> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("gc.{name}() takes no keyword arguments")));
    }
    if !a.pos.is_empty() {
        return Err(Exc::type_error(format!("gc.{name}() takes no arguments ({} given)", a.pos.len())));
    }
    Ok(())
}

/// An `int` argument that must fit a C int (as CPython's `collect` parses it).
fn c_int(vm: &mut Vm, v: &Value) -> Res<i64> {
    let n = match v {
        Value::BigInt(_) => None,
        _ => Some(vm.index_value(v)?),
    };
    match n {
        Some(n) if i32::try_from(n).is_ok() => Ok(n),
        _ => Err(Exc::overflow("Python int too large to convert to C int")),
    }
}

fn collect(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mut generation = a.pos.first().cloned();
    for (k, v) in std::mem::take(&mut a.kw) {
        if k.to_string_owned() != "generation" {
            return Err(Exc::type_error(format!("'{k}' is an invalid keyword argument for collect()")));
        }
        if generation.is_some() {
            return Err(Exc::type_error("argument for collect() given by name ('generation') and position (1)"));
        }
        generation = Some(v);
    }
    if a.pos.len() > 1 {
        return Err(Exc::type_error(format!("collect() takes at most 1 argument ({} given)", a.pos.len())));
    }
    let g = match generation {
        Some(v) => c_int(vm, &v)?,
        None => 2,
    };
    if !(0..=2).contains(&g) {
        return Err(Exc::value_error("invalid generation"));
    }
    // Finalisers that died before the collection run first, like any safe point.
    vm.run_finalizers();
    let n = vm.gc_collect(g as usize);
    vm.run_finalizers();
    Ok(Value::Int(n as i64))
}

fn enable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("enable", a)?;
    gc::set_enabled(true);
    Ok(Value::None)
}

fn disable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("disable", a)?;
    gc::set_enabled(false);
    Ok(Value::None)
}

fn isenabled(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("isenabled", a)?;
    Ok(Value::Bool(gc::is_enabled()))
}

fn get_count(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("get_count", a)?;
    Ok(Value::tuple(gc::count().iter().map(|&c| Value::Int(c as i64)).collect()))
}

fn get_threshold(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("get_threshold", a)?;
    Ok(Value::tuple(gc::threshold().iter().map(|&t| Value::Int(t)).collect()))
}

fn set_threshold(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("set_threshold() takes no keyword arguments"));
    }
    match a.pos.len() {
        0 => return Err(Exc::type_error("set_threshold() takes at least 1 argument (0 given)")),
        1..=3 => {}
        n => return Err(Exc::type_error(format!("set_threshold() takes at most 3 arguments ({n} given)"))),
    }
    let mut t = [None; 3];
    for (i, v) in a.pos.clone().iter().enumerate() {
        let n = match v {
            Value::BigInt(_) => return Err(Exc::overflow("Python int too large to convert to C long")),
            _ => vm.index_value(v)?,
        };
        t[i] = Some(n);
    }
    gc::set_threshold(t);
    Ok(Value::None)
}

fn get_stats(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    no_args("get_stats", a)?;
    let mut out = Vec::new();
    for (collections, collected) in gc::stats() {
        let d = Value::dict(crate::vm::dict::Dict::new());
        for (k, n) in [("collections", collections), ("collected", collected), ("uncollectable", 0)] {
            vm.set_item(&d, Value::str(k), Value::Int(n as i64))?;
        }
        out.push(d);
    }
    Ok(Value::list(out))
}

/// Builds the module.
pub fn init(_vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "gc",
        &[
            ("collect", collect),
            ("enable", enable),
            ("disable", disable),
            ("isenabled", isenabled),
            ("get_count", get_count),
            ("get_threshold", get_threshold),
            ("set_threshold", set_threshold),
            ("get_stats", get_stats),
        ],
    );
    super::set(&m, "garbage", Value::list(Vec::new()));
    Ok(m)
}
