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
    Ok(Value::Int(vm.recursion_limit as i64))
}

fn setrecursionlimit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("setrecursionlimit", a, 1, 1)?;
    let n = vm.index_value(&a.pos[0].clone())?;
    if n < 1 {
        return Err(Exc::value_error("recursion limit must be greater or equal than 1"));
    }
    vm.check_recursion_cap(n)?;
    let depth = vm.frames.len() + vm.native_depth;
    if (n as usize) <= depth {
        return Err(Exc::new(
            ExcKind::RecursionError,
            format!("cannot set the recursion limit to {n} at the recursion depth {depth}: the limit is too low"),
        ));
    }
    vm.recursion_limit = (n as usize).min(1_000_000);
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

/// `sys.stdout` / `sys.stderr`: objects with `write` and `flush`.
pub struct Stream {
    err: bool,
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

fn stream_flush(vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    vm.flush_stdout();
    if let Some(e) = vm.take_stdout_error() {
        return Err(crate::modules::os::os_error(vm, &e, None, None));
    }
    Ok(Value::None)
}

impl NativeObject for Stream {
    fn type_name(&self) -> &'static str {
        "TextIOWrapper"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        Ok(match s.as_str() {
            "write" => Some(crate::builtins::bound_native(this.clone(), "write", stream_write)),
            "flush" => Some(crate::builtins::bound_native(this.clone(), "flush", stream_flush)),
            "name" => Some(Value::str(if self.err { "<stderr>" } else { "<stdout>" })),
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

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "sys",
        &[
            ("exit", exit),
            ("getrecursionlimit", getrecursionlimit),
            ("setrecursionlimit", setrecursionlimit),
            ("intern", intern),
            ("exc_info", exc_info),
            ("exception", exception),
        ],
    );
    let argv: Vec<Value> = vm.argv.iter().map(|a| Value::str(a)).collect();
    super::set(&m, "argv", Value::list(argv));
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
