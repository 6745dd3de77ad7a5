//! The built-in exception classes and their methods.

use crate::vm::value::{NativeFunction, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::rc::Rc;

fn base_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "BaseException.__init__")?;
    let args: Vec<Value> = a.pos[1..].to_vec();
    if let Value::Instance(i) = &this {
        let class = i.class.clone();
        keyword_attrs(vm, i, &a.kw)?;
        if class.is_subclass(vm.exc_class(ExcKind::BaseExceptionGroup)) {
            return group_init(vm, &this, &args);
        }
        if class.is_subclass(vm.exc_class(ExcKind::StopIteration)) {
            i.set_attr(vm.syms.value, args.first().cloned().unwrap_or(Value::None));
        }
        if class.is_subclass(vm.exc_class(ExcKind::SystemExit)) {
            let code = match args.len() {
                0 => Value::None,
                1 => args[0].clone(),
                _ => Value::tuple(args.clone()),
            };
            i.set_attr(vm.syms.code, code);
        }
        if class.is_subclass(vm.exc_class(ExcKind::OSError)) {
            let args = os_error_init(vm, i, args)?;
            i.set_attr(vm.syms.args, Value::tuple(args));
            return Ok(Value::None);
        }
        if class.is_subclass(vm.exc_class(ExcKind::ImportError)) {
            let msg = if args.len() == 1 { args[0].clone() } else { Value::None };
            i.set_attr(Sym::new("msg"), msg);
        }
        i.set_attr(vm.syms.args, Value::tuple(args));
    }
    Ok(Value::None)
}

/// The keyword-only attributes of `AttributeError(name=, obj=)`, `NameError(name=)` and
/// `ImportError(name=, path=)` (each defaulting to `None`); other exceptions take no
/// keywords.
fn keyword_attrs(vm: &mut Vm, i: &crate::vm::value::Instance, kw: &[(Sym, Value)]) -> Res<()> {
    let (owner, names): (&str, &[&str]) = if i.class.is_subclass(vm.exc_class(ExcKind::AttributeError)) {
        ("AttributeError", &["name", "obj"])
    } else if i.class.is_subclass(vm.exc_class(ExcKind::NameError)) {
        ("NameError", &["name"])
    } else if i.class.is_subclass(vm.exc_class(ExcKind::ImportError)) {
        ("ImportError", &["name", "path"])
    } else {
        if !kw.is_empty() {
            return Err(Exc::type_error(format!("{}() takes no keyword arguments", i.class.name)));
        }
        return Ok(());
    };
    if let Some((k, _)) = kw.iter().find(|(k, _)| !names.contains(&&*k.as_rc())) {
        return Err(Exc::type_error(format!("'{k}' is an invalid keyword argument for {owner}()")));
    }
    for n in names {
        let v = kw.iter().find(|(k, _)| &*k.as_rc() == *n).map_or(Value::None, |(_, v)| v.clone());
        i.set_attr(Sym::new(n), v);
    }
    Ok(())
}

/// CPython's `oserror_parse_args` and `oserror_init`: with 2 to 5 arguments they are
/// `(errno, strerror, filename, winerror, filename2)`; a filename drops all but the first
/// two from `args` (for `BlockingIOError` a number there is `characters_written`).
/// Attributes that were not given stay unset (they read as `None`), which is how
/// `__str__` tells `OSError(None, None)` from `OSError()`. Returns the `args` to store.
fn os_error_init(vm: &mut Vm, i: &crate::vm::value::Instance, mut args: Vec<Value>) -> Res<Vec<Value>> {
    for name in ["errno", "strerror", "filename", "filename2", "characters_written"] {
        i.del_attr(Sym::new(name));
    }
    if !(2..=5).contains(&args.len()) {
        return Ok(args);
    }
    i.set_attr(Sym::new("errno"), args[0].clone());
    i.set_attr(Sym::new("strerror"), args[1].clone());
    let filename = args.get(2).cloned().unwrap_or(Value::None);
    if filename.is_none() {
        return Ok(args);
    }
    let blocking = std::rc::Rc::ptr_eq(&i.class, vm.exc_class(ExcKind::BlockingIOError));
    if blocking && matches!(filename, Value::Int(_) | Value::Bool(_) | Value::BigInt(_) | Value::Float(_)) {
        let n = vm.index_value(&filename)?;
        i.set_attr(Sym::new("characters_written"), Value::Int(n));
        return Ok(args);
    }
    i.set_attr(Sym::new("filename"), filename);
    if let Some(f2) = args.get(4).filter(|v| !v.is_none()) {
        i.set_attr(Sym::new("filename2"), f2.clone());
    }
    args.truncate(2);
    Ok(args)
}

/// `OSError.__str__`: `[Errno N] text: 'file' -> 'file2'`, `[Errno N] text`, or the plain
/// exception text when `errno` and `strerror` were not given.
fn os_error_str(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "OSError.__str__")?;
    let Value::Instance(i) = &this else { return Ok(Value::str("")) };
    let errno = i.get_attr(Sym::new("errno"));
    let strerror = i.get_attr(Sym::new("strerror"));
    let filename = i.get_attr(Sym::new("filename")).filter(|v| !v.is_none());
    if let Some(f) = filename {
        let e = vm.str_of(&errno.unwrap_or(Value::None))?;
        let s = vm.str_of(&strerror.unwrap_or(Value::None))?;
        let f = vm.repr(&f)?;
        return Ok(Value::string(match i.get_attr(Sym::new("filename2")).filter(|v| !v.is_none()) {
            Some(f2) => format!("[Errno {e}] {s}: {f} -> {}", vm.repr(&f2)?),
            None => format!("[Errno {e}] {s}: {f}"),
        }));
    }
    if let (Some(e), Some(s)) = (errno, strerror) {
        let e = vm.str_of(&e)?;
        let s = vm.str_of(&s)?;
        return Ok(Value::string(format!("[Errno {e}] {s}")));
    }
    vm.exception_str(i).map(Value::string)
}

/// The class `OSError(errno, ...)` really creates: CPython's constructor picks the subclass
/// for the errno (`OSError(2, 'x')` is a `FileNotFoundError`), for `OSError` itself only.
pub fn os_error_class(vm: &Vm, c: &Rc<crate::vm::Class>, args: &[Value]) -> Option<Rc<crate::vm::Class>> {
    if !Rc::ptr_eq(c, vm.exc_class(ExcKind::OSError)) || !(2..=5).contains(&args.len()) {
        return None;
    }
    let errno = match &args[0] {
        Value::Int(n) => *n,
        Value::Bool(b) => *b as i64,
        _ => return None,
    };
    match ExcKind::for_errno(errno) {
        ExcKind::OSError => None,
        kind => Some(vm.exc_class(kind).clone()),
    }
}

/// `BaseExceptionGroup.__init__`: only `args`, as CPython's (`__new__` did the rest).
fn group_init(vm: &mut Vm, this: &Value, args: &[Value]) -> Res<Value> {
    let Value::Instance(i) = this else { return Ok(Value::None) };
    i.set_attr(vm.syms.args, Value::tuple(args.to_vec()));
    Ok(Value::None)
}

/// True for what CPython's `PySequence_Check` accepts: the built-in sequences and
/// instances whose class defines `__getitem__` (dicts are mappings, not sequences).
fn is_sequence(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::List(_) | Value::Tuple(_) | Value::Str(_) | Value::Bytes(_) | Value::ByteArray(_) | Value::Range(_) => {
            true
        }
        Value::Instance(i) => {
            i.class.lookup(vm.syms.getitem).is_some() && !i.class.is_subclass(vm.type_class(crate::vm::TypeId::Dict))
        }
        _ => false,
    }
}

/// `BaseExceptionGroup.__new__(cls, message, exceptions)`, as CPython's: checks the
/// arguments, and `BaseExceptionGroup(...)` itself makes an `ExceptionGroup` when every
/// member is an `Exception`. `args` keeps the arguments as given; `exceptions` is a tuple.
fn group_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let cls = match a.pos.first() {
        Some(Value::Class(c)) => c.clone(),
        other => {
            let t = other.map(|v| vm.type_name(v)).unwrap_or_else(|| Rc::from("NoneType"));
            return Err(Exc::type_error(format!("BaseExceptionGroup.__new__(X): X is not a type object ({t})")));
        }
    };
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("{}() takes no keyword arguments", cls.name)));
    }
    let args: Vec<Value> = a.pos[1..].to_vec();
    if args.len() != 2 {
        return Err(Exc::type_error(format!(
            "BaseExceptionGroup.__new__() takes exactly 2 arguments ({} given)",
            args.len()
        )));
    }
    let msg = args[0].clone();
    if !matches!(msg, Value::Str(_)) {
        let t = vm.type_name(&msg);
        return Err(Exc::type_error(format!("BaseExceptionGroup.__new__() argument 1 must be str, not {t}")));
    }
    if !is_sequence(vm, &args[1]) {
        return Err(Exc::type_error("second argument (exceptions) must be a sequence"));
    }
    let excs = vm.collect(&args[1])?;
    if excs.is_empty() {
        return Err(Exc::value_error("second argument (exceptions) must be a non-empty sequence"));
    }
    let base = vm.exc_class(ExcKind::BaseException).clone();
    let exception = vm.exc_class(ExcKind::Exception).clone();
    let mut nested_base = false;
    for (n, e) in excs.iter().enumerate() {
        match e {
            Value::Instance(x) if x.class.is_subclass(&base) => nested_base |= !x.class.is_subclass(&exception),
            _ => return Err(Exc::value_error(format!("Item {n} of second argument (exceptions) is not an exception"))),
        }
    }
    let group = vm.exc_class(ExcKind::ExceptionGroup).clone();
    let base_group = vm.exc_class(ExcKind::BaseExceptionGroup).clone();
    let class = if Rc::ptr_eq(&cls, &group) {
        if nested_base {
            return Err(Exc::type_error("Cannot nest BaseExceptions in an ExceptionGroup"));
        }
        cls
    } else if Rc::ptr_eq(&cls, &base_group) {
        if nested_base {
            cls
        } else {
            group
        }
    } else {
        if nested_base && cls.is_subclass(&exception) {
            return Err(Exc::type_error(format!("Cannot nest BaseExceptions in '{}'", cls.name)));
        }
        cls
    };
    let inst = vm.new_exception_object(class, args);
    inst.set_attr(vm.syms.message, msg);
    inst.set_attr(vm.syms.exceptions, Value::tuple(excs));
    Ok(Value::Instance(inst))
}

fn group_str(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "BaseExceptionGroup.__str__")?;
    let Value::Instance(i) = &this else { return Ok(Value::str("")) };
    let msg = i.get_attr(vm.syms.message).unwrap_or(Value::str(""));
    let n = vm.group_exceptions(&this).len();
    let m = vm.str_of(&msg)?;
    Ok(Value::string(format!("{} ({} sub-exception{})", m, n, if n == 1 { "" } else { "s" })))
}

fn with_traceback(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "BaseException.with_traceback")?;
    if let (Value::Instance(i), Some(tb)) = (&this, a.pos.get(1)) {
        i.set_attr(vm.syms.traceback, tb.clone());
    }
    Ok(this)
}

fn add_note(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "BaseException.add_note")?;
    let note = a.pos.get(1).cloned().unwrap_or(Value::None);
    if !matches!(note, Value::Str(_)) {
        return Err(Exc::type_error(format!("note must be a str, not '{}'", vm.type_name(&note))));
    }
    if let Value::Instance(i) = &this {
        let key = Sym::new("__notes__");
        match i.get_attr(key) {
            Some(Value::List(l)) => l.items.borrow_mut().push(note),
            _ => i.set_attr(key, Value::list(vec![note])),
        }
    }
    Ok(Value::None)
}

fn group_split_like(vm: &mut Vm, a: &mut Args, want_match: bool) -> Res<Value> {
    let this = super::receiver(a, "BaseExceptionGroup.split")?;
    let cond = a.pos.get(1).cloned().unwrap_or(Value::None);
    let (rest, matched) = vm_split(vm, &this, &cond)?;
    if want_match {
        Ok(Value::tuple(vec![matched, rest]))
    } else {
        Ok(matched)
    }
}

fn vm_split(vm: &mut Vm, eg: &Value, cond: &Value) -> Res<(Value, Value)> {
    let (rest, matched) = split(vm, eg, cond)?;
    Ok((rest, matched))
}

fn split(vm: &mut Vm, eg: &Value, cond: &Value) -> Res<(Value, Value)> {
    let matches = |vm: &mut Vm, e: &Value| -> Res<bool> {
        match cond {
            Value::Class(_) | Value::Tuple(_) => vm.exception_matches(e, cond),
            f => {
                let r = vm.call(f, vec![e.clone()])?;
                vm.truthy(&r)
            }
        }
    };
    if matches(vm, eg)? {
        return Ok((Value::None, eg.clone()));
    }
    let mut m = Vec::new();
    let mut r = Vec::new();
    for e in vm.group_exceptions(eg) {
        let is_group =
            matches!(&e, Value::Instance(i) if i.class.is_subclass(vm.exc_class(ExcKind::BaseExceptionGroup)));
        if is_group {
            let (rr, mm) = split(vm, &e, cond)?;
            if !mm.is_none() {
                m.push(mm);
            }
            if !rr.is_none() {
                r.push(rr);
            }
        } else if matches(vm, &e)? {
            m.push(e);
        } else {
            r.push(e);
        }
    }
    let mv = if m.is_empty() { Value::None } else { vm.derive_group(eg, m)? };
    let rv = if r.is_empty() { Value::None } else { vm.derive_group(eg, r)? };
    Ok((rv, mv))
}

fn group_split(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    group_split_like(vm, a, true)
}

fn group_subgroup(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    group_split_like(vm, a, false)
}

/// `eg.derive(excs)`: `BaseExceptionGroup(eg.message, excs)`.
fn group_derive(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = super::receiver(a, "BaseExceptionGroup.derive")?;
    let excs = a.pos.get(1).cloned().unwrap_or(Value::None);
    let msg = match &this {
        Value::Instance(i) => i.get_attr(vm.syms.message).unwrap_or(Value::str("")),
        _ => Value::str(""),
    };
    let class = Value::Class(vm.exc_class(ExcKind::BaseExceptionGroup).clone());
    vm.call(&class, vec![msg, excs])
}

/// Registers exception classes in builtins and their methods.
pub fn install(vm: &mut Vm) {
    let base_methods: &[(&'static str, NativeFn)] =
        &[("__init__", base_init), ("with_traceback", with_traceback), ("add_note", add_note)];
    let group_methods: &[(&'static str, NativeFn)] =
        &[("__str__", group_str), ("split", group_split), ("subgroup", group_subgroup), ("derive", group_derive)];
    let set = |vm: &mut Vm, kind: ExcKind, methods: &[(&'static str, NativeFn)]| {
        let c = vm.exc_class(kind).clone();
        for (name, f) in methods {
            c.dict.borrow_mut().insert(
                Sym::new(name),
                Value::Native(Rc::new(NativeFunction {
                    fast: None,
                    name,
                    func: *f,
                    receiver: None,
                    owner: Some(kind.name()),
                })),
            );
        }
    };
    set(vm, ExcKind::BaseException, base_methods);
    set(vm, ExcKind::BaseExceptionGroup, group_methods);
    set(vm, ExcKind::OSError, &[("__str__", os_error_str)]);
    let new = Value::Native(Rc::new(NativeFunction {
        fast: None,
        name: "__new__",
        func: group_new,
        receiver: None,
        owner: Some("BaseExceptionGroup"),
    }));
    vm.exc_class(ExcKind::BaseExceptionGroup)
        .dict
        .borrow_mut()
        .insert(vm.syms.new, Value::Descriptor(Rc::new(crate::vm::value::Descriptor::StaticMethod(new))));
    for (kind, _) in ExcKind::ALL {
        let c = vm.exc_class(*kind).clone();
        // asyncio's exceptions live in the asyncio module, not builtins.
        if matches!(
            kind,
            ExcKind::CancelledError
                | ExcKind::InvalidStateError
                | ExcKind::IncompleteReadError
                | ExcKind::LimitOverrunError
                | ExcKind::QueueEmpty
                | ExcKind::QueueFull
                | ExcKind::BrokenBarrierError
        ) {
            continue;
        }
        vm.builtins.set(Sym::new(kind.name()), Value::Class(c));
    }
    vm.builtins.set(Sym::new("EnvironmentError"), Value::Class(vm.exc_class(ExcKind::OSError).clone()));
    vm.builtins.set(Sym::new("IOError"), Value::Class(vm.exc_class(ExcKind::OSError).clone()));
}
