//! Real I/O on the event loop: stream transports over TCP and Unix sockets and pipes,
//! servers, outgoing connections, streams, datagrams, subprocesses, pipe transports and
//! raw fd watchers.
//!
//! Everything here is native and single-threaded: sockets are registered with the loop's
//! `mio::Poll` (see the I/O registry in `event_loop.rs`) and their readiness arrives as
//! ready callbacks. Script-facing coroutines are native state machines ([`support::Op`]).
//! The thin Python-level wrappers (`open_connection`, `start_server`, `Process`,
//! `Protocol`, ...) are in `stdlib/asyncio.aio`.
//!
//! **Invariant:** no call here blocks the loop thread, except [`support::resolve`], which
//! only `transport.sendto(data, (name, port))` reaches with a host name (as CPython's
//! `sock.sendto` does); coroutines resolve names on worker threads ([`support::Lookups`]).

pub mod connect;
pub mod datagram;
pub mod fdwatch;
pub mod pipes;
pub mod server;
pub mod socket;
pub mod streams;
pub mod subprocess;
pub mod support;
pub mod transport;

use crate::asyncio::event_loop::EventLoop;
use crate::builtins::bound_native;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::rc::Rc;

/// The running loop, or CPython's error.
pub fn current_loop() -> Res<Rc<EventLoop>> {
    crate::asyncio::running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))
}

/// A filesystem path argument (`str`, `bytes` or `os.PathLike`).
pub fn path_arg(vm: &mut Vm, v: &Value) -> Res<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        other => {
            if let Some(f) = vm.get_attr_opt(other, Sym::new("__fspath__"))? {
                let r = vm.call(&f, vec![])?;
                return path_arg(vm, &r);
            }
            let t = vm.type_name(other);
            Err(Exc::type_error(format!("expected str, bytes or os.PathLike object, not {t}")))
        }
    }
}

fn loop_of(a: &Args) -> Res<Rc<EventLoop>> {
    if let Some(Value::Other(o)) = a.pos.first() {
        if let Some(l) = o.as_any().downcast_ref::<crate::asyncio::LoopRef>() {
            return Ok(l.0.clone());
        }
    }
    Err(Exc::type_error("an event loop is required"))
}

/// Strips the loop from a bound loop method's arguments.
fn method_args(a: &mut Args) -> Res<(Rc<EventLoop>, Args)> {
    let lp = loop_of(a)?;
    let rest = Args { pos: a.pos.drain(1..).collect(), kw: std::mem::take(&mut a.kw) };
    Ok((lp, rest))
}

fn lm_create_server(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    server::create_server(vm, &lp, &mut r)
}
fn lm_create_unix_server(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    server::create_unix_server(vm, &lp, &mut r)
}
fn lm_create_connection(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    connect::create_connection(vm, &lp, &mut r)
}
fn lm_create_unix_connection(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    connect::create_unix_connection(vm, &lp, &mut r)
}
fn lm_create_datagram_endpoint(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    datagram::create_datagram_endpoint(vm, &lp, &mut r)
}
fn lm_connect_read_pipe(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    pipes::connect_pipe(vm, &lp, &mut r, true)
}
fn lm_connect_write_pipe(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    pipes::connect_pipe(vm, &lp, &mut r, false)
}
fn lm_add_reader(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    fdwatch::add(vm, &lp, &mut r, true)
}
fn lm_add_writer(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    fdwatch::add(vm, &lp, &mut r, false)
}
fn lm_remove_reader(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    fdwatch::remove(vm, &lp, &mut r, true)
}
fn lm_remove_writer(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (lp, mut r) = method_args(a)?;
    fdwatch::remove(vm, &lp, &mut r, false)
}

/// The I/O methods of a loop object (`loop.create_server`, `loop.add_reader`, ...), for
/// `LoopRef`'s attribute lookup.
pub fn loop_method(this: &Value, name: Sym) -> Option<Value> {
    let f: (&'static str, NativeFn) = name.with_str(|s| {
        Some(match s {
            "create_server" => ("create_server", lm_create_server as NativeFn),
            "create_unix_server" => ("create_unix_server", lm_create_unix_server as NativeFn),
            "create_connection" => ("create_connection", lm_create_connection as NativeFn),
            "create_unix_connection" => ("create_unix_connection", lm_create_unix_connection as NativeFn),
            "create_datagram_endpoint" => ("create_datagram_endpoint", lm_create_datagram_endpoint as NativeFn),
            "connect_read_pipe" => ("connect_read_pipe", lm_connect_read_pipe as NativeFn),
            "connect_write_pipe" => ("connect_write_pipe", lm_connect_write_pipe as NativeFn),
            "add_reader" => ("add_reader", lm_add_reader as NativeFn),
            "add_writer" => ("add_writer", lm_add_writer as NativeFn),
            "remove_reader" => ("remove_reader", lm_remove_reader as NativeFn),
            "remove_writer" => ("remove_writer", lm_remove_writer as NativeFn),
            _ => return None,
        })
    })?;
    Some(bound_native(this.clone(), f.0, f.1))
}

/// Adds the I/O classes and functions to `_asyncio`.
pub fn install(vm: &mut Vm, m: &Rc<Module>) {
    use crate::asyncio::native_class;
    let classes: [(&'static str, NativeFn); 3] = [
        ("StreamReader", streams::stream_reader_new),
        ("StreamWriter", streams::stream_writer_new),
        ("StreamReaderProtocol", streams::stream_protocol_new),
    ];
    for (name, new) in classes {
        let c = native_class(vm, name, None, new);
        m.set(Sym::new(name), Value::Class(c));
    }
    for name in ["Server", "TransportSocket", "_SelectorSocketTransport", "_SelectorDatagramTransport"] {
        let c = native_class(vm, name, None, no_new);
        m.set(Sym::new(name), Value::Class(c));
    }
    m.set(Sym::new("_spawn"), crate::builtins::native("_spawn", subprocess::spawn));
    // `asyncio.subprocess`: the constants here; `Process` and the functions are added by
    // stdlib/asyncio.aio.
    let sub = Rc::new(Module::new("asyncio.subprocess", "<asyncio.subprocess>"));
    sub.set(Sym::new("PIPE"), Value::Int(subprocess::PIPE));
    sub.set(Sym::new("STDOUT"), Value::Int(subprocess::STDOUT));
    sub.set(Sym::new("DEVNULL"), Value::Int(subprocess::DEVNULL));
    m.set(Sym::new("subprocess"), Value::Module(sub));
    for (kind, init) in [
        (ExcKind::IncompleteReadError, streams::incomplete_init as NativeFn),
        (ExcKind::LimitOverrunError, streams::overrun_init),
    ] {
        let c = vm.exc_class(kind).clone();
        c.dict.borrow_mut().insert(
            vm.syms.init,
            Value::Native(Rc::new(crate::vm::value::NativeFunction {
                fast: None,
                name: "__init__",
                func: init,
                receiver: None,
                owner: Some(kind.name()),
            })),
        );
    }
    crate::vm::value::bump_class_epoch();
}

/// `import asyncio.subprocess`: as for `os.path`, the import of a dotted native name
/// yields the package (`asyncio`), whose `subprocess` attribute is the submodule.
pub fn subprocess_module(vm: &mut Vm) -> Res<Rc<Module>> {
    match vm.import_module(Sym::new("asyncio"))? {
        Value::Module(m) => Ok(m),
        _ => Err(Exc::new(ExcKind::ImportError, "asyncio is not a module")),
    }
}

fn no_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let name = match a.pos.first() {
        Some(Value::Class(c)) => c.name.to_string(),
        _ => "object".into(),
    };
    Err(Exc::type_error(format!("cannot create '{name}' instances")))
}
