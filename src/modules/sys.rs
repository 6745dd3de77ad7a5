//! `sys`: argv, exit, recursion limit, version, the standard streams.

use crate::builtins::check_args;
use crate::vm::other::NativeObject;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Vm};
use std::rc::Rc;

fn exit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("exit", a, 0, 1)?;
    let args = a.pos.first().cloned().map(|v| vec![v]).unwrap_or_default();
    let e = vm.exception_with_args(ExcKind::SystemExit, args.clone());
    if let Exc::Obj(i) = &e {
        i.set_attr(vm.syms.code, args.into_iter().next().unwrap_or(Value::None));
    }
    Err(e)
}

fn getrecursionlimit(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Int(vm.depth.limit() as i64))
}

fn setrecursionlimit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("setrecursionlimit", a, 1, 1)?;
    let n = vm.index_value(&a.pos[0].clone())?;
    if n < 1 {
        return Err(Exc::value_error("recursion limit must be greater or equal than 1"));
    }
    vm.check_recursion_cap(n)?;
    let depth = vm.frames.len() + vm.depth.native();
    if (n as usize) <= depth {
        return Err(Exc::new(
            ExcKind::RecursionError,
            format!("cannot set the recursion limit to {n} at the recursion depth {depth}: the limit is too low"),
        ));
    }
    vm.depth.set_limit((n as usize).min(1_000_000));
    Ok(Value::None)
}

fn get_int_max_str_digits(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("sys.get_int_max_str_digits() takes no keyword arguments"));
    }
    if !a.pos.is_empty() {
        return Err(Exc::type_error(format!(
            "sys.get_int_max_str_digits() takes no arguments ({} given)",
            a.pos.len()
        )));
    }
    Ok(Value::Int(crate::text::int_text::max_str_digits() as i64))
}

fn set_int_max_str_digits(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mut arg = a.pos.first().cloned();
    for (k, v) in std::mem::take(&mut a.kw) {
        if k.to_string_owned() == "maxdigits" && arg.is_none() {
            arg = Some(v);
        } else if k.to_string_owned() == "maxdigits" {
            return Err(Exc::type_error(
                "argument for set_int_max_str_digits() given by name ('maxdigits') and position (1)",
            ));
        }
    }
    if a.pos.len() > 1 {
        return Err(Exc::type_error(format!(
            "set_int_max_str_digits() takes at most 1 argument ({} given)",
            a.pos.len()
        )));
    }
    let Some(arg) = arg else {
        return Err(Exc::type_error("set_int_max_str_digits() missing required argument 'maxdigits' (pos 1)"));
    };
    let n = match arg {
        Value::BigInt(_) => None,
        ref v => Some(vm.index_value(v)?),
    };
    let n = n
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| Exc::overflow("Python int too large to convert to C int"))?;
    crate::text::int_text::set_max_str_digits(n).map_err(|e| Exc::value_error(e.message))?;
    Ok(Value::None)
}

fn intern(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(a.pos.first().cloned().unwrap_or(Value::None))
}

fn exc_info(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    match vm.handled.last().cloned() {
        Some(e) => {
            let c = Value::Class(vm.class_of(&e));
            let tb = match &e {
                Value::Instance(i) => i.get_attr(vm.syms.traceback).unwrap_or(Value::None),
                _ => Value::None,
            };
            Ok(Value::tuple(vec![c, e, tb]))
        }
        None => Ok(Value::tuple(vec![Value::None, Value::None, Value::None])),
    }
}

fn exception(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(vm.handled.last().cloned().unwrap_or(Value::None))
}

/// What `print` writes to when the script has replaced `sys.stdout` (with any object that
/// has `write`, or `None`); `None` while it is the interpreter's own stream.
pub fn replaced_stdout(vm: &Vm) -> Option<Value> {
    let Some(Value::Module(m)) = crate::vm::value::ns_get(&vm.modules, vm.syms.sys) else { return None };
    match m.get(vm.syms.stdout)? {
        Value::Other(o) if o.as_any().downcast_ref::<Stream>().is_some_and(|s| !s.err) => None,
        v => Some(v),
    }
}

/// True for the interpreter's own `sys.stdout` and `sys.stderr` (one `write` of a whole
/// line costs them less than one per piece, with the same result).
pub fn is_native_stream(v: &Value) -> bool {
    matches!(v, Value::Other(o) if o.as_any().is::<Stream>())
}

/// `sys.stdout` / `sys.stderr`: objects with `write` and `flush`, and the queries of a
/// text file (`fileno`, `isatty`, `readable`, `writable`).
pub struct Stream {
    err: bool,
}

/// The stream a method was called on.
fn stream_of(a: &Args) -> Res<&Stream> {
    match a.pos.first() {
        Some(Value::Other(o)) => o.as_any().downcast_ref::<Stream>().ok_or_else(|| Exc::type_error("stream expected")),
        _ => Err(Exc::type_error("stream expected")),
    }
}

/// `fileno()`: 1 for `sys.stdout`, 2 for `sys.stderr`.
fn stream_fileno(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_method_args("TextIOWrapper.fileno", a, 1, 1)?;
    Ok(Value::Int(if stream_of(a)?.err { 2 } else { 1 }))
}

/// `isatty()`: whether the descriptor is a terminal.
fn stream_isatty(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    use std::io::IsTerminal;
    crate::builtins::check_method_args("TextIOWrapper.isatty", a, 1, 1)?;
    let tty = if stream_of(a)?.err { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
    Ok(Value::Bool(tty))
}

/// `readable()`: false, an output stream.
fn stream_readable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_method_args("TextIOWrapper.readable", a, 1, 1)?;
    Ok(Value::Bool(false))
}

/// `writable()`: true.
fn stream_writable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_method_args("TextIOWrapper.writable", a, 1, 1)?;
    Ok(Value::Bool(true))
}

fn stream_write(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(Value::Other(o)) = a.pos.first() else { return Err(Exc::type_error("stream expected")) };
    let err = o.as_any().downcast_ref::<Stream>().map(|s| s.err).unwrap_or(false);
    let s = match a.pos.get(1) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(Exc::type_error(format!("write() argument must be str, not {}", vm.type_name(other))))
        }
        None => return Err(Exc::type_error("write() takes exactly one argument (0 given)")),
    };
    let n = s.chars().count();
    if err {
        vm.write_stderr(&s);
    } else {
        vm.write_stdout(&s);
    }
    if let Some(e) = vm.take_stdout_error() {
        return Err(crate::modules::os::os_error(vm, &e, None, None));
    }
    Ok(Value::Int(n as i64))
}

/// `stream.writelines(lines)`: writes each string, adding nothing between them.
fn stream_writelines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("writelines", a, 2, 2)?;
    let stream = a.pos[0].clone();
    let it = vm.get_iter(&a.pos[1].clone())?;
    while let Some(line) = vm.next(&it)? {
        let mut one = Args { pos: smallvec::smallvec![stream.clone(), line], kw: Vec::new() };
        stream_write(vm, &mut one)?;
    }
    Ok(Value::None)
}

fn stream_flush(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    vm.flush_stdout();
    if let Some(e) = vm.take_stdout_error() {
        return Err(crate::modules::os::os_error(vm, &e, None, None));
    }
    Ok(Value::None)
}

impl NativeObject for Stream {
    fn type_name(&self) -> &'static str {
        "_io.TextIOWrapper"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        Ok(match s.as_str() {
            "write" => Some(crate::builtins::bound_native(this.clone(), "write", stream_write)),
            "flush" => Some(crate::builtins::bound_native(this.clone(), "flush", stream_flush)),
            "writelines" => Some(crate::builtins::bound_native(this.clone(), "writelines", stream_writelines)),
            "fileno" => Some(crate::builtins::bound_native(this.clone(), "fileno", stream_fileno)),
            "isatty" => Some(crate::builtins::bound_native(this.clone(), "isatty", stream_isatty)),
            "readable" => Some(crate::builtins::bound_native(this.clone(), "readable", stream_readable)),
            "writable" => Some(crate::builtins::bound_native(this.clone(), "writable", stream_writable)),
            "name" => Some(Value::str(if self.err { "<stderr>" } else { "<stdout>" })),
            "mode" => Some(Value::str("w")),
            "closed" => Some(Value::Bool(false)),
            _ => None,
        })
    }
    fn repr(&self) -> String {
        format!("<_io.TextIOWrapper name='<{}>' mode='w' encoding='utf-8'>", if self.err { "stderr" } else { "stdout" })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `sys.getdefaultencoding()`: always UTF-8.
fn getdefaultencoding(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("getdefaultencoding", a, 0, 0)?;
    Ok(Value::str("utf-8"))
}

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "sys",
        &[
            ("exit", exit),
            ("getdefaultencoding", getdefaultencoding),
            ("getrecursionlimit", getrecursionlimit),
            ("setrecursionlimit", setrecursionlimit),
            ("intern", intern),
            ("exc_info", exc_info),
            ("exception", exception),
            ("get_int_max_str_digits", get_int_max_str_digits),
            ("set_int_max_str_digits", set_int_max_str_digits),
        ],
    );
    let argv: Vec<Value> = vm.argv.iter().map(|a| Value::str(a)).collect();
    super::set(&m, "argv", Value::list(argv));
    super::set(&m, "modules", Value::Dict(vm.modules.clone()));
    super::set(&m, "stdin", crate::builtins::file::stdin_file());
    super::set(&m, "platform", Value::str(std::env::consts::OS));
    super::set(&m, "version", Value::str(&format!("3.11.0 (aio {})", env!("CARGO_PKG_VERSION"))));
    super::set(
        &m,
        "version_info",
        super::structseq::new(
            "sys.version_info",
            &["major", "minor", "micro", "releaselevel", "serial"],
            vec![Value::Int(3), Value::Int(11), Value::Int(0), Value::str("final"), Value::Int(0)],
        ),
    );
    super::set(
        &m,
        "int_info",
        super::structseq::new(
            "sys.int_info",
            &["bits_per_digit", "sizeof_digit", "default_max_str_digits", "str_digits_check_threshold"],
            vec![
                Value::Int(30),
                Value::Int(4),
                Value::Int(crate::text::int_text::INT_MAX_STR_DIGITS as i64),
                Value::Int(crate::text::int_text::STR_DIGITS_CHECK_THRESHOLD as i64),
            ],
        ),
    );
    super::set(
        &m,
        "float_info",
        super::structseq::new(
            "sys.float_info",
            &[
                "max",
                "max_exp",
                "max_10_exp",
                "min",
                "min_exp",
                "min_10_exp",
                "dig",
                "mant_dig",
                "epsilon",
                "radix",
                "rounds",
            ],
            vec![
                Value::Float(f64::MAX),
                Value::Int(f64::MAX_EXP as i64),
                Value::Int(f64::MAX_10_EXP as i64),
                Value::Float(f64::MIN_POSITIVE),
                Value::Int(f64::MIN_EXP as i64),
                Value::Int(f64::MIN_10_EXP as i64),
                Value::Int(f64::DIGITS as i64),
                Value::Int(f64::MANTISSA_DIGITS as i64),
                Value::Float(f64::EPSILON),
                Value::Int(f64::RADIX as i64),
                Value::Int(1),
            ],
        ),
    );
    super::set(&m, "maxunicode", Value::Int(0x10ffff));
    super::set(&m, "hexversion", Value::Int(0x030b00f0));
    super::set(&m, "maxsize", Value::Int(i64::MAX));
    super::set(&m, "byteorder", Value::str("little"));
    super::set(
        &m,
        "executable",
        Value::str(&std::env::current_exe().map(|p| p.to_string_lossy().to_string()).unwrap_or_default()),
    );
    super::set(&m, "stdout", Value::Other(Rc::new(Stream { err: false })));
    super::set(&m, "stderr", Value::Other(Rc::new(Stream { err: true })));
    let path: Vec<Value> = vm.search_path.iter().map(|p| Value::string(p.to_string_lossy().to_string())).collect();
    super::set(&m, "path", Value::list(path));
    Ok(m)
}
