//! Allocation-free entries ([`FastNativeFn`]) of the hottest built-ins, used when the
//! dispatch loop calls them positionally: the arguments stay on the VM's stack, so a call
//! costs no argument vector. Each entry serves the common case itself and hands anything
//! else to the built-in's ordinary entry, so errors and rare types behave exactly as there.

use super::{functions, methods};
use crate::vm::ops::dict_get_simple;
use crate::vm::value::{FastNativeFn, NativeFunction};
use crate::vm::{Args, NativeFn, Res, Sym, TypeId, Value, Vm};
use std::rc::Rc;

/// Calls the ordinary entry `f` with copies of the arguments `vm.stack[at..at + n]`.
fn slow(vm: &mut Vm, f: NativeFn, at: usize, n: usize) -> Res<Value> {
    let mut a = Args { pos: vm.stack[at..at + n].iter().cloned().collect(), kw: Vec::new() };
    f(vm, &mut a)
}

/// `len(x)`.
fn len(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    if n == 1 {
        let known = match &vm.stack[at] {
            Value::Str(s) => Some(s.chars),
            Value::List(l) => Some(l.items.borrow().len()),
            Value::Tuple(t) => Some(t.len()),
            Value::Dict(d) => Some(d.d.borrow().len()),
            Value::Set(s) | Value::FrozenSet(s) => Some(s.d.borrow().len()),
            Value::Bytes(b) => Some(b.len()),
            _ => None,
        };
        if let Some(k) = known {
            return Ok(Value::Int(k as i64));
        }
        let v = vm.stack[at].clone();
        return functions::len_of(vm, &v).map(Value::Int);
    }
    slow(vm, functions::len, at, n)
}

/// `isinstance(x, cls)`.
fn isinstance(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    if n == 2 {
        if let Value::Class(c) = &vm.stack[at + 1] {
            let c = c.clone();
            return Ok(Value::Bool(vm.class_of(&vm.stack[at]).is_subclass(&c)));
        }
        let (v, c) = (vm.stack[at].clone(), vm.stack[at + 1].clone());
        return functions::is_instance(vm, &v, &c).map(Value::Bool);
    }
    slow(vm, functions::isinstance, at, n)
}

/// `abs(x)` for small ints and floats.
fn abs(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    if n == 1 {
        match vm.stack[at] {
            Value::Int(i) if i != i64::MIN => return Ok(Value::Int(i.abs())),
            Value::Float(f) => return Ok(Value::Float(f.abs())),
            _ => {}
        }
    }
    slow(vm, functions::abs, at, n)
}

/// `d.get(key[, default])`.
fn dict_get(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    if n == 2 || n == 3 {
        if let Value::Dict(d) = &vm.stack[at] {
            // `str` and small-int keys: no script code can run, so look up in place.
            if let Some(found) = dict_get_simple(d, &vm.stack[at + 1]) {
                return Ok(match found {
                    Some(v) => v,
                    None if n == 3 => vm.stack[at + 2].clone(),
                    None => Value::None,
                });
            }
            let d = d.clone();
            let key = vm.stack[at + 1].clone();
            return Ok(match vm.dict_get(&d, &key)? {
                Some(v) => v,
                None if n == 3 => vm.stack[at + 2].clone(),
                None => Value::None,
            });
        }
    }
    slow(vm, methods::dict_get, at, n)
}

/// `xs.pop()` without an index.
fn list_pop(vm: &mut Vm, at: usize, n: usize) -> Res<Value> {
    if n == 1 {
        if let Value::List(l) = &vm.stack[at] {
            if let Some(v) = l.items.borrow_mut().pop() {
                return Ok(v);
            }
        }
    }
    slow(vm, methods::list_pop, at, n)
}

/// The built-in functions with a fast entry.
const FUNCTIONS: &[(&str, FastNativeFn)] = &[("len", len), ("isinstance", isinstance), ("abs", abs)];

/// The methods of built-in types with a fast entry.
const METHODS: &[(TypeId, &str, FastNativeFn)] = &[(TypeId::Dict, "get", dict_get), (TypeId::List, "pop", list_pop)];

/// `n` with its fast entry set.
fn with_fast(n: &NativeFunction, fast: FastNativeFn) -> Value {
    Value::Native(Rc::new(NativeFunction {
        name: n.name,
        func: n.func,
        receiver: n.receiver.clone(),
        owner: n.owner,
        fast: Some(fast),
    }))
}

/// Gives the built-ins in [`FUNCTIONS`] and [`METHODS`] their fast entries (run after the
/// ordinary entries are installed).
pub fn install(vm: &mut Vm) {
    for (name, fast) in FUNCTIONS {
        let sym = Sym::new(name);
        if let Some(Value::Native(n)) = vm.builtins.get(sym) {
            vm.builtins.set(sym, with_fast(&n, *fast));
        }
    }
    for (id, name, fast) in METHODS {
        let class = vm.type_class(*id).clone();
        let sym = Sym::new(name);
        let found = class.dict.borrow().get(&sym).cloned();
        if let Some(Value::Native(n)) = found {
            class.dict.borrow_mut().insert(sym, with_fast(&n, *fast));
        }
    }
    crate::vm::value::bump_class_epoch();
}
