//! The loop's exception handler: `loop.set_exception_handler`, `get_exception_handler`,
//! `call_exception_handler` and `default_exception_handler`, as CPython 3.11's
//! `BaseEventLoop` has them. Every report the loop makes about an error nobody else will see
//! (an exception in a callback, a task exception never retrieved, a task destroyed while
//! pending) goes through [`call_handler`] with CPython's context dict (`message`,
//! `exception`, `future`/`task`, `handle`, ...).

use super::event_loop::EventLoop;
use super::{loop_value, this_loop};
use crate::vm::dict::Dict;
use crate::vm::value::{DictObj, Value};
use crate::vm::{Args, Exc, Res, Vm};
use std::rc::Rc;

/// A context dict from `(key, value)` pairs.
pub fn context(vm: &mut Vm, pairs: Vec<(&str, Value)>) -> Res<Rc<DictObj>> {
    let d = DictObj::new_rc(Dict::with_capacity(pairs.len()));
    for (k, v) in pairs {
        vm.dict_set(&d, Value::str(k), v)?;
    }
    Ok(d)
}

/// `loop.call_exception_handler(context)` from Rust, with the context as `(key, value)`
/// pairs. Only `SystemExit`, `KeyboardInterrupt` and the embedding limits come back as
/// errors; anything else the handlers raise is reported, as CPython does.
pub fn call_handler(vm: &mut Vm, lp: &Rc<EventLoop>, pairs: Vec<(&str, Value)>) -> Res<()> {
    let ctx = context(vm, pairs)?;
    call_with(vm, lp, ctx)
}

/// [`call_handler`] from a place that cannot return an error (a finaliser): a fatal error
/// is reported instead ("Exception ignored in", as CPython's `__del__` would).
pub fn call_handler_quietly(vm: &mut Vm, lp: &Rc<EventLoop>, pairs: Vec<(&str, Value)>) {
    if let Err(e) = call_handler(vm, lp, pairs) {
        let inst = vm.materialize(e);
        let text = crate::traceback::format_exception(vm, &inst);
        vm.write_stderr(&format!("Exception ignored in exception handler\n{text}"));
    }
}

/// `call_exception_handler` with a context dict.
fn call_with(vm: &mut Vm, lp: &Rc<EventLoop>, ctx: Rc<DictObj>) -> Res<()> {
    let handler = lp.exception_handler.borrow().clone();
    if handler.is_none() {
        if let Err(e) = default_handler(vm, &ctx) {
            let inst = vm.materialize(e);
            if vm.is_fatal(&inst) {
                return Err(Exc::Obj(inst));
            }
            let text = crate::traceback::format_exception(vm, &inst);
            vm.write_stderr(&format!("Exception in default exception handler\n{text}"));
        }
        return Ok(());
    }
    let Err(e) = vm.call(&handler, vec![loop_value(lp), Value::Dict(ctx.clone())]) else { return Ok(()) };
    let inst = vm.materialize(e);
    if vm.is_fatal(&inst) {
        return Err(Exc::Obj(inst));
    }
    let outer = context(
        vm,
        vec![
            ("message", Value::str("Unhandled error in exception handler")),
            ("exception", Value::Instance(inst)),
            ("context", Value::Dict(ctx)),
        ],
    )?;
    if let Err(e) = default_handler(vm, &outer) {
        let inst = vm.materialize(e);
        if vm.is_fatal(&inst) {
            return Err(Exc::Obj(inst));
        }
        let text = crate::traceback::format_exception(vm, &inst);
        vm.write_stderr(&format!(
            "Exception in default exception handler while handling an unexpected error in custom exception handler\n{text}"
        ));
    }
    Ok(())
}

/// CPython's `default_exception_handler`: the message, then `key: repr(value)` for the
/// other keys in sorted order (`source_traceback` and `handle_traceback` as stacks), then
/// the exception's traceback, written to stderr as `logger.error` would.
fn default_handler(vm: &mut Vm, ctx: &Rc<DictObj>) -> Res<()> {
    let entries: Vec<(Value, Value)> = ctx.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
    let mut message = None;
    let mut exception = Value::None;
    let mut rest = Vec::new();
    for (k, v) in entries {
        let key = vm.str_of(&k)?;
        match key.as_str() {
            "message" => message = Some(v),
            "exception" => exception = v,
            _ => rest.push((key, v)),
        }
    }
    let message = match message {
        Some(m) if vm.truthy(&m)? => vm.str_of(&m)?,
        _ => "Unhandled exception in event loop".to_string(),
    };
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = message;
    for (key, v) in rest {
        let shown = match key.as_str() {
            "source_traceback" => format!("Object created at (most recent call last):\n{}", stack_text(vm, &v)?),
            "handle_traceback" => format!("Handle created at (most recent call last):\n{}", stack_text(vm, &v)?),
            _ => vm.repr(&v)?,
        };
        text.push('\n');
        text.push_str(&key);
        text.push_str(": ");
        text.push_str(&shown);
    }
    text.push('\n');
    if let Value::Instance(inst) = &exception {
        if inst.class.is_subclass(vm.exc_class(crate::vm::ExcKind::BaseException)) {
            text.push_str(&crate::traceback::format_exception(vm, inst));
        }
    }
    vm.write_stderr(&text);
    Ok(())
}

/// `traceback.format_list(stack)` without its final newline, for a stack given as a list of
/// `(filename, lineno, name, line)` tuples (what aio puts in a `source_traceback`).
fn stack_text(vm: &mut Vm, stack: &Value) -> Res<String> {
    let items = match stack {
        Value::List(l) => l.items.borrow().clone(),
        Value::Tuple(t) => t.to_vec(),
        other => return vm.repr(other),
    };
    let mut out = String::new();
    for item in items {
        match &item {
            Value::Tuple(t) if t.len() == 4 => {
                let file = vm.str_of(&t[0])?;
                let line = vm.str_of(&t[1])?;
                let name = vm.str_of(&t[2])?;
                out.push_str(&format!("  File \"{file}\", line {line}, in {name}\n"));
                if let Value::Str(src) = &t[3] {
                    if !src.as_str().is_empty() {
                        out.push_str(&format!("    {}\n", src.as_str().trim()));
                    }
                }
            }
            other => {
                let r = vm.repr(other)?;
                out.push_str(&format!("  {r}\n"));
            }
        }
    }
    Ok(out.trim_end().to_string())
}

/// A `source_traceback` value: the `(filename, lineno, name, line)` of each script frame.
pub fn stack_value(vm: &Vm, origin: &[crate::vm::other::TraceEntry]) -> Value {
    let items = origin
        .iter()
        .map(|e| {
            let src = vm.source_line(&e.file, e.line).map(|s| s.trim().to_string()).unwrap_or_default();
            Value::tuple(vec![
                Value::string(e.file.to_string()),
                Value::Int(e.line as i64),
                Value::string(e.name.to_string()),
                Value::string(src),
            ])
        })
        .collect();
    Value::list(items)
}

fn context_arg(a: &Args, method: &str) -> Res<Rc<DictObj>> {
    crate::builtins::check_args(method, a, 2, 2)?;
    match &a.pos[1] {
        Value::Dict(d) => Ok(d.clone()),
        _ => Err(Exc::type_error(format!("{method}() argument 'context' must be a dict"))),
    }
}

/// `loop.set_exception_handler(handler)`: a callable taking `(loop, context)`, or `None` for
/// the default.
pub fn loop_set_exception_handler(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    crate::builtins::check_args("set_exception_handler", a, 2, 2)?;
    let h = a.pos[1].clone();
    if !h.is_none() && !is_callable(vm, &h) {
        let r = vm.repr(&h)?;
        return Err(Exc::type_error(format!("A callable object or None is expected, got {r}")));
    }
    *lp.exception_handler.borrow_mut() = h;
    Ok(Value::None)
}

/// `loop.get_exception_handler()`.
pub fn loop_get_exception_handler(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    crate::builtins::check_args("get_exception_handler", a, 1, 1)?;
    let h = lp.exception_handler.borrow().clone();
    Ok(h)
}

/// `loop.call_exception_handler(context)`.
pub fn loop_call_exception_handler(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let lp = this_loop(a)?;
    let ctx = context_arg(a, "call_exception_handler")?;
    call_with(vm, &lp, ctx)?;
    Ok(Value::None)
}

/// `loop.default_exception_handler(context)`.
pub fn loop_default_exception_handler(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    this_loop(a)?;
    let ctx = context_arg(a, "default_exception_handler")?;
    default_handler(vm, &ctx)?;
    Ok(Value::None)
}

fn is_callable(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::Function(_) | Value::BoundMethod(_) | Value::Native(_) | Value::Class(_) => true,
        Value::Instance(i) => i.class.lookup(vm.syms.call).is_some(),
        Value::Other(o) => o.is_callable(),
        _ => false,
    }
}

/// CPython's `format_helpers._format_callback_source(func, args)`: the callable's qualified
/// name, its arguments as `reprlib.repr` shows them, and for a plain function where it was
/// defined (`f(1, 'a') at script.py:3`).
pub fn callback_source(vm: &mut Vm, f: &Value, args: &[Value]) -> String {
    let name = match f {
        Value::Function(func) => func.qualname.borrow().to_string(),
        _ => {
            let q = vm
                .get_attr(f, crate::vm::Sym::new("__qualname__"))
                .ok()
                .filter(|q| matches!(q, Value::Str(s) if !s.as_str().is_empty()));
            let n = q.or_else(|| vm.get_attr(f, crate::vm::Sym::new("__name__")).ok());
            match n {
                Some(Value::Str(s)) => s.as_str().to_string(),
                _ => vm.repr(f).unwrap_or_else(|_| "<callback>".into()),
            }
        }
    };
    let shown: Vec<String> = args.iter().map(|a| short_repr(vm, a, 6)).collect();
    let mut text = format!("{name}({})", shown.join(", "));
    if let Value::Function(func) = f {
        text.push_str(&format!(" at {}:{}", func.code.filename, func.code.first_line));
    }
    text
}

/// `s[:i] + '...' + s[len(s) - j:]` with reprlib's split of `max - 3` characters.
fn cut(s: String, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s;
    }
    let i = (max - 3) / 2;
    let j = max - 3 - i;
    let head: String = s.chars().take(i).collect();
    let tail: String = s.chars().skip(n - j).collect();
    format!("{head}...{tail}")
}

/// `reprlib.repr(v)` (CPython's default limits: strings 30, ints 40, other objects 30
/// characters, six items of a list or tuple, six levels).
fn short_repr(vm: &mut Vm, v: &Value, level: usize) -> String {
    match v {
        Value::Str(s) => {
            let chars: Vec<char> = s.as_str().chars().collect();
            let head: String = chars.iter().take(30).collect();
            let r = crate::vm::repr_str(&head);
            if r.chars().count() <= 30 {
                return r;
            }
            let i = 13;
            let j = 14;
            let joined: String =
                chars[..i.min(chars.len())].iter().chain(chars[chars.len().saturating_sub(j)..].iter()).collect();
            let r = crate::vm::repr_str(&joined);
            let n = r.chars().count();
            let head: String = r.chars().take(i).collect();
            let tail: String = r.chars().skip(n.saturating_sub(j)).collect();
            format!("{head}...{tail}")
        }
        Value::Int(_) | Value::BigInt(_) => cut(vm.repr(v).unwrap_or_default(), 40),
        Value::List(l) => {
            let items = l.items.borrow().clone();
            seq_repr(vm, &items, level, "[", "]", false)
        }
        Value::Tuple(t) => {
            let items = t.to_vec();
            seq_repr(vm, &items, level, "(", ")", items.len() == 1)
        }
        _ => {
            let r = vm.repr(v).unwrap_or_else(|_| format!("<{} instance at {:#x}>", vm.type_name(v), v.id()));
            cut(r, 30)
        }
    }
}

fn seq_repr(vm: &mut Vm, items: &[Value], level: usize, open: &str, close: &str, one: bool) -> String {
    if items.is_empty() {
        return format!("{open}{close}");
    }
    if level == 0 {
        return format!("{open}...{close}");
    }
    let mut parts: Vec<String> = items.iter().take(6).map(|x| short_repr(vm, x, level - 1)).collect();
    if items.len() > 6 {
        parts.push("...".into());
    }
    let trail = if one { "," } else { "" };
    format!("{open}{}{trail}{close}", parts.join(", "))
}
