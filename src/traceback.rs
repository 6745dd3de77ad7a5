//! Python-style rendering of uncaught exceptions, with cause and context chains.

use crate::vm::other::Traceback;
use crate::vm::value::{Instance, Value};
use crate::vm::{Sym, Vm};
use std::rc::Rc;

/// Renders `Traceback (most recent call last): ...` for an exception object.
pub fn format_exception(vm: &mut Vm, exc: &Rc<Instance>) -> String {
    let mut out = String::new();
    let mut seen: Vec<*const Instance> = Vec::new();
    chain(vm, exc, &mut out, &mut seen);
    out
}

fn chain(vm: &mut Vm, exc: &Rc<Instance>, out: &mut String, seen: &mut Vec<*const Instance>) {
    seen.push(Rc::as_ptr(exc));
    let cause = exc.get_attr(vm.syms.cause).unwrap_or(Value::None);
    let context = exc.get_attr(vm.syms.context).unwrap_or(Value::None);
    let suppress = matches!(exc.get_attr(vm.syms.suppress_context), Some(Value::Bool(true)));
    if let Value::Instance(c) = &cause {
        if !seen.contains(&Rc::as_ptr(c)) {
            chain(vm, c, out, seen);
            out.push_str("\nThe above exception was the direct cause of the following exception:\n\n");
        }
    } else if let (Value::Instance(c), false) = (&context, suppress) {
        if !seen.contains(&Rc::as_ptr(c)) {
            chain(vm, c, out, seen);
            out.push_str("\nDuring handling of the above exception, another exception occurred:\n\n");
        }
    }
    single(vm, exc, out);
}

fn single(vm: &mut Vm, exc: &Rc<Instance>, out: &mut String) {
    if let Some(Value::Str(r)) = exc.get_attr(Sym::new("_aio_rendered")) {
        out.push_str(r.as_str());
        return;
    }
    if let Some(Value::Other(o)) = exc.get_attr(vm.syms.traceback) {
        if let Some(tb) = o.as_any().downcast_ref::<Traceback>() {
            let entries = tb.entries.borrow().clone();
            if !entries.is_empty() {
                out.push_str("Traceback (most recent call last):\n");
                for e in entries.iter().rev() {
                    out.push_str(&format!("  File \"{}\", line {}, in {}\n", e.file, e.line, e.name));
                    if let Some(src) = vm.source_line(&e.file, e.line) {
                        let t = src.trim();
                        if !t.is_empty() {
                            out.push_str(&format!("    {t}\n"));
                        }
                    }
                }
            }
        }
    }
    out.push_str(&exception_line(vm, exc));
    out.push('\n');
    if let Some(Value::List(notes)) = exc.get_attr(Sym::new("__notes__")) {
        for n in notes.items.borrow().iter() {
            if let Value::Str(s) = n {
                out.push_str(s.as_str());
                out.push('\n');
            }
        }
    }
}

/// `TypeName: message` as the last line of a traceback.
pub fn exception_line(vm: &mut Vm, exc: &Rc<Instance>) -> String {
    let class = exc.class.clone();
    let module = match class.dict.borrow().get(&vm.syms.module) {
        Some(Value::Str(m)) => m.as_str().to_string(),
        _ => "builtins".to_string(),
    };
    let mut name = class.qualname.borrow().to_string();
    if module != "builtins" && module != "__main__" {
        name = format!("{module}.{name}");
    }
    let msg = vm.str_of(&Value::Instance(exc.clone())).unwrap_or_else(|_| "<exception str() failed>".into());
    if msg.is_empty() {
        name
    } else {
        format!("{name}: {msg}")
    }
}
