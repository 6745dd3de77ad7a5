//! The awaitables returned by an async generator's `__anext__`/`asend`/`athrow`.

use super::gen::{AsyncGenValue, GenObj, GenResult};
use super::intern::Sym;
use super::other::NativeObject;
use super::value::Value;
use super::{Exc, ExcKind, Res, Vm};
use std::cell::RefCell;
use std::rc::Rc;

/// An awaitable that drives one step of an async generator.
pub struct ASend {
    gen: Rc<GenObj>,
    value: RefCell<Option<Value>>,
}

/// The awaitable for `agen.asend(v)` (and `__anext__`, which sends `None`).
pub fn asend_awaitable(gen: Rc<GenObj>, v: Value) -> Value {
    Value::Other(Rc::new(ASend { gen, value: RefCell::new(Some(v)) }))
}

impl ASend {
    /// One step: a wrapped yield ends the await with that value; anything else passes up.
    pub fn step(&self, vm: &mut Vm, sent: Value) -> Res<Value> {
        let v = match self.value.borrow_mut().take() {
            Some(first) => first,
            None => sent,
        };
        match vm.gen_send(&self.gen, v)? {
            GenResult::Yield(y) => {
                if let Value::Other(o) = &y {
                    if let Some(w) = o.as_any().downcast_ref::<AsyncGenValue>() {
                        let stop = vm.exception_with_args(ExcKind::StopIteration, vec![w.0.clone()]);
                        if let Exc::Obj(i) = &stop {
                            i.set_attr(Sym::new("value"), w.0.clone());
                        }
                        return Err(stop);
                    }
                }
                Ok(y)
            }
            GenResult::Return(_) => Err(Exc::new(ExcKind::StopAsyncIteration, "")),
        }
    }
}

impl NativeObject for ASend {
    fn type_name(&self) -> &'static str {
        "async_generator_asend"
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        Ok(match s.as_str() {
            "__await__" | "__iter__" => {
                Some(crate::builtins::bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone())))
            }
            "__next__" => Some(crate::builtins::bound_native(this.clone(), "__next__", |vm, a| {
                let this = a.pos[0].clone();
                let Value::Other(o) = &this else { return Err(Exc::type_error("bad asend")) };
                let Some(me) = o.as_any().downcast_ref::<ASend>() else { return Err(Exc::type_error("bad asend")) };
                me.step(vm, Value::None)
            })),
            "send" => Some(crate::builtins::bound_native(this.clone(), "send", |vm, a| {
                let this = a.pos[0].clone();
                let v = a.pos.get(1).cloned().unwrap_or(Value::None);
                let Value::Other(o) = &this else { return Err(Exc::type_error("bad asend")) };
                let Some(me) = o.as_any().downcast_ref::<ASend>() else { return Err(Exc::type_error("bad asend")) };
                me.step(vm, v)
            })),
            _ => {
                let _ = vm;
                None
            }
        })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
