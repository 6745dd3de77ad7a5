//! What every part of the I/O layer shares: native coroutines (state machines that park
//! on a future), `OSError`s worded as CPython words them, socket addresses as Python
//! values, and argument helpers.

use crate::asyncio::future::{future_value, FutureObj};
use crate::builtins::bound_native;
use crate::vm::gen::GenResult;
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Vm};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

// ---------------------------------------------------------------- native coroutines

/// What one step of a native coroutine does next.
pub enum Step {
    /// Return this value from the `await`.
    Done(Value),
    /// Park the awaiting task on this future; `poll` runs again when it is done.
    Wait(Rc<FutureObj>),
    /// Yield once to the loop (as `await asyncio.sleep(0)`), then `poll` again.
    Yield,
}

/// A native coroutine's state machine. `poll` runs at the first `send` and again each
/// time the future it waited on finished with a result; an exception thrown in (the
/// future failed or the task was cancelled) calls `abort` instead and propagates.
pub trait Op: 'static {
    /// Advances the operation.
    fn poll(&self, vm: &mut Vm) -> Res<Step>;
    /// Undoes what a suspended `poll` left behind (a registered waiter, a socket).
    fn abort(&self, vm: &mut Vm) {
        let _ = vm;
    }
    /// The coroutine's qualified name (for `repr`).
    fn qualname(&self) -> &'static str;
}

/// A native coroutine object: `type(x).__name__ == 'coroutine'`, awaitable, usable with
/// `create_task`, `wait_for` and `gather`.
pub struct Coro<T: Op> {
    op: T,
    done: Cell<bool>,
    /// False until the first `send` or `throw` (a coroutine dropped before warns).
    started: Cell<bool>,
}

/// Wraps an operation as a coroutine value.
pub fn coro<T: Op>(op: T) -> Value {
    Value::Other(Rc::new(Coro { op, done: Cell::new(false), started: Cell::new(false) }))
}

impl<T: Op> Drop for Coro<T> {
    /// A coroutine dropped before it started warns, as CPython's do.
    fn drop(&mut self) {
        if !self.started.get() {
            crate::vm::gen::warn_never_awaited(self.op.qualname());
        }
    }
}

impl<T: Op> NativeObject for Coro<T> {
    fn type_name(&self) -> &'static str {
        "coroutine"
    }
    fn send(&self, vm: &mut Vm, _value: Value) -> Option<Res<GenResult>> {
        self.started.set(true);
        if self.done.get() {
            return Some(Err(Exc::runtime_error("cannot reuse already awaited coroutine")));
        }
        Some(match self.op.poll(vm) {
            Ok(Step::Done(v)) => {
                self.done.set(true);
                Ok(GenResult::Return(v))
            }
            Ok(Step::Wait(f)) => Ok(GenResult::Yield(future_value(&f))),
            Ok(Step::Yield) => Ok(GenResult::Yield(Value::None)),
            Err(e) => {
                self.done.set(true);
                Err(e)
            }
        })
    }
    fn throw(&self, vm: &mut Vm, exc: Value) -> Option<Res<GenResult>> {
        self.started.set(true);
        if !self.done.get() {
            self.done.set(true);
            self.op.abort(vm);
        }
        Some(vm.exc_from_value(exc).and_then(Err))
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        Ok(name.with_str(|s| match s {
            "__await__" | "__iter__" => Some(bound_native(this.clone(), "__await__", |_vm, a| Ok(a.pos[0].clone()))),
            "send" => Some(bound_native(this.clone(), "send", coro_send)),
            "throw" => Some(bound_native(this.clone(), "throw", coro_throw)),
            "close" => Some(bound_native(this.clone(), "close", coro_close)),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        format!("<coroutine object {} at 0x{:x}>", self.op.qualname(), self as *const Self as *const u8 as usize)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn stop_iteration(vm: &mut Vm, v: Value) -> Exc {
    let e = vm.exception_with_args(ExcKind::StopIteration, vec![v.clone()]);
    if let Exc::Obj(i) = &e {
        i.set_attr(vm.syms.value, v);
    }
    e
}

fn coro_send(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Value::Other(o) = a.pos[0].clone() else { return Ok(Value::None) };
    let v = a.pos.get(1).cloned().unwrap_or(Value::None);
    match o.send(vm, v) {
        Some(Ok(GenResult::Yield(y))) => Ok(y),
        Some(Ok(GenResult::Return(r))) => Err(stop_iteration(vm, r)),
        Some(Err(e)) => Err(e),
        None => Ok(Value::None),
    }
}

fn coro_throw(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Value::Other(o) = a.pos[0].clone() else { return Ok(Value::None) };
    let e = a.pos.get(1).cloned().unwrap_or(Value::None);
    match o.throw(vm, e) {
        Some(Ok(GenResult::Yield(y))) => Ok(y),
        Some(Ok(GenResult::Return(r))) => Err(stop_iteration(vm, r)),
        Some(Err(e)) => Err(e),
        None => Ok(Value::None),
    }
}

fn coro_close(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Value::Other(o) = a.pos[0].clone() else { return Ok(Value::None) };
    let exit = Value::Class(vm.exc_class(ExcKind::GeneratorExit).clone());
    match o.throw(vm, exit) {
        Some(Err(e)) => {
            let inst = vm.materialize(e);
            if inst.class.is_subclass(vm.exc_class(ExcKind::GeneratorExit)) {
                Ok(Value::None)
            } else {
                Err(Exc::Obj(inst))
            }
        }
        _ => Ok(Value::None),
    }
}

/// A coroutine that returns `v` at once.
pub struct Ready(pub Value, pub &'static str);

impl Op for Ready {
    fn poll(&self, _vm: &mut Vm) -> Res<Step> {
        Ok(Step::Done(self.0.clone()))
    }
    fn qualname(&self) -> &'static str {
        self.1
    }
}

/// A coroutine that raises `e` when awaited.
pub struct Fail(pub std::cell::RefCell<Option<Exc>>, pub &'static str);

impl Op for Fail {
    fn poll(&self, _vm: &mut Vm) -> Res<Step> {
        Err(self.0.borrow_mut().take().unwrap_or_else(|| Exc::runtime_error("cannot reuse already awaited coroutine")))
    }
    fn qualname(&self) -> &'static str {
        self.1
    }
}

/// The coroutine of a loop method whose argument checks CPython makes inside the
/// coroutine: `r` itself, or a coroutine raising its error at the `await`.
pub fn deferred(qualname: &'static str, r: Res<Value>) -> Value {
    match r {
        Ok(v) => v,
        Err(e) => coro(Fail(std::cell::RefCell::new(Some(e)), qualname)),
    }
}

/// A coroutine that waits for a future and returns its result.
pub struct AwaitFuture(pub Rc<FutureObj>, pub Cell<bool>, pub &'static str);

impl Op for AwaitFuture {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if !self.0.done() && !self.1.get() {
            self.1.set(true);
            return Ok(Step::Wait(self.0.clone()));
        }
        self.0.get_result(vm).map(Step::Done)
    }
    fn qualname(&self) -> &'static str {
        self.2
    }
}

// ---------------------------------------------------------------- errors

/// The `OSError` subclass CPython picks for an errno.
pub fn kind_for_errno(errno: i32) -> ExcKind {
    ExcKind::for_errno(errno as i64)
}

/// `strerror(errno)` as the C library words it.
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// CPython's `OSError(errno, msg)`: the subclass for the errno, `str()` of
/// `[Errno N] msg`, with `errno` and `strerror` set.
pub fn os_error(vm: &mut Vm, errno: i32, msg: &str) -> Exc {
    let (e, m) = (Value::Int(errno as i64), Value::str(msg));
    let exc = vm.exception_with_args(kind_for_errno(errno), vec![e.clone(), m.clone()]);
    if let Exc::Obj(i) = &exc {
        i.set_attr(Sym::new("errno"), e);
        i.set_attr(Sym::new("strerror"), m);
    }
    exc
}

/// An `OSError` for a failed system call, worded as CPython's.
pub fn io_error(vm: &mut Vm, e: &std::io::Error) -> Exc {
    match e.raw_os_error() {
        Some(n) => os_error(vm, n, &strerror(n)),
        None => plain_error(vm, ExcKind::OSError, &e.to_string()),
    }
}

/// [`io_error`] as a value.
pub fn io_error_value(vm: &mut Vm, e: &std::io::Error) -> Value {
    let x = io_error(vm, e);
    exc_value(vm, x)
}

/// An `OSError` subclass with a plain message and no errno (`ConnectionResetError('Connection
/// lost')`).
pub fn plain_error(vm: &mut Vm, kind: ExcKind, msg: &str) -> Exc {
    let args = if msg.is_empty() { vec![] } else { vec![Value::str(msg)] };
    vm.exception_with_args(kind, args)
}

/// The exception as a value (materialised).
pub fn exc_value(vm: &mut Vm, e: Exc) -> Value {
    Value::Instance(vm.materialize(e))
}

/// True when `e` is an `OSError` (CPython's transports only log other errors).
pub fn is_os_error(vm: &Vm, e: &Value) -> bool {
    matches!(e, Value::Instance(i) if i.class.is_subclass(vm.exc_class(ExcKind::OSError)))
}

/// Reports an error in a protocol callback through the running loop's exception handler
/// (`loop.call_exception_handler({'message': ..., 'exception': ..., **extra})`), or, with no
/// loop running, as CPython's default handler writes it.
pub fn report(vm: &mut Vm, message: &str, exc: Option<&Value>, extra: Vec<(&str, Value)>) {
    let mut ctx = vec![("message", Value::str(message))];
    if let Some(e) = exc {
        ctx.push(("exception", e.clone()));
    }
    ctx.extend(extra);
    match crate::asyncio::running_loop() {
        Some(lp) => crate::asyncio::exception_handler::call_handler_quietly(vm, &lp, ctx),
        None => {
            let mut text = format!("{message}\n");
            if let Some(Value::Instance(i)) = exc {
                text.push_str(&crate::traceback::format_exception(vm, i));
            }
            vm.write_stderr(&text);
        }
    }
}

// ---------------------------------------------------------------- addresses

/// A socket address as Python shows it: `(host, port)` for IPv4, `(host, port, flowinfo,
/// scope_id)` for IPv6.
pub fn addr_value(a: &SocketAddr) -> Value {
    match a {
        SocketAddr::V4(v4) => Value::tuple(vec![Value::string(v4.ip().to_string()), Value::Int(v4.port() as i64)]),
        SocketAddr::V6(v6) => Value::tuple(vec![
            Value::string(v6.ip().to_string()),
            Value::Int(v6.port() as i64),
            Value::Int(v6.flowinfo() as i64),
            Value::Int(v6.scope_id() as i64),
        ]),
    }
}

/// A Unix socket address as Python shows it: the path, `''` when unnamed.
pub fn unix_addr_value(a: &std::os::unix::net::SocketAddr) -> Value {
    match a.as_pathname() {
        Some(p) => Value::string(p.to_string_lossy().into_owned()),
        None => Value::str(""),
    }
}

/// The `repr` of an address value (for error messages such as `Connect call failed
/// ('127.0.0.1', 1)`).
pub fn addr_repr(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => format!("('{}', {})", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("('{}', {}, {}, {})", v6.ip(), v6.port(), v6.flowinfo(), v6.scope_id()),
    }
}

/// Resolves a host name on the calling thread (`std::net::ToSocketAddrs`, i.e. the C
/// library's `getaddrinfo`). Only `transport.sendto(data, (name, port))` gets here with a
/// name, blocking the loop as CPython's `sock.sendto` does; the coroutines resolve names
/// on worker threads with [`Lookups`].
pub fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    Ok((host, port).to_socket_addrs()?.collect())
}

/// Resolves `(host, port)` as the loop's `_ensure_resolved` does: numeric addresses
/// directly, `None` as the wildcard (`passive`) or loopback addresses, names through
/// [`resolve`]. `family` (0, 2 or 10) filters the result. Fails with CPython's
/// `socket.gaierror`.
pub fn resolve_host(vm: &mut Vm, host: &Value, port: &Value, passive: bool, family: i64) -> Res<Vec<SocketAddr>> {
    let port = port_of(vm, port)?;
    let addrs: Vec<SocketAddr> = match host {
        Value::None => {
            if passive {
                vec![SocketAddr::from(([0, 0, 0, 0], port)), SocketAddr::from(([0u16; 8], port))]
            } else {
                vec![SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)), SocketAddr::from(([127, 0, 0, 1], port))]
            }
        }
        Value::Str(s) => {
            let h = s.as_str();
            let h = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(h);
            match h.parse::<std::net::IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => {
                    if h.is_empty() {
                        return Err(gaierror(vm, -2, "Name or service not known"));
                    }
                    match resolve(h, port) {
                        Ok(v) => v,
                        Err(_) => return Err(gaierror(vm, -2, "Name or service not known")),
                    }
                }
            }
        }
        Value::Bytes(b) => {
            let s = Value::string(String::from_utf8_lossy(b).into_owned());
            return resolve_host(vm, &s, &Value::Int(port as i64), passive, family);
        }
        other => {
            let t = vm.type_name(other);
            return Err(Exc::type_error(format!("getaddrinfo() argument 1 must be string or None, not {t}")));
        }
    };
    filter_addrs(vm, addrs, family)
}

/// A host name that needs a lookup (not a numeric address, not empty): the part of
/// [`resolve_host`] that [`Lookups`] runs on a worker thread instead.
pub fn lookup_name(host: &Value) -> Option<String> {
    let text = match host {
        Value::Str(s) => s.as_str().to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        _ => return None,
    };
    let h = text.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(&text);
    (!h.is_empty() && h.parse::<std::net::IpAddr>().is_err()).then(|| h.to_string())
}

/// The addresses of one target, once known.
type Slot = Option<Res<Vec<SocketAddr>>>;

/// The address lookups of a connecting, binding or datagram coroutine, as CPython's
/// `_ensure_resolved`: numeric hosts and `None` are resolved at once, host names by
/// `getaddrinfo` on a worker thread (`modules::socket::resolve_then`), all concurrently.
/// The coroutine waits on [`Lookups::waiter`] until every name is back, then takes the
/// addresses with [`Lookups::take`].
pub struct Lookups {
    slots: Rc<std::cell::RefCell<Vec<Slot>>>,
    pending: Rc<Cell<usize>>,
    waiter: Option<Rc<FutureObj>>,
}

impl Lookups {
    /// Starts resolving each `(host, port)`. `passive` turns a `None` host into the
    /// wildcard addresses (servers) rather than the loopback ones; `family` (0, 2 or 10)
    /// filters; `socktype` is `SOCK_STREAM` or `SOCK_DGRAM`. Argument errors raise here.
    pub fn start(
        vm: &mut Vm,
        lp: &Rc<crate::asyncio::event_loop::EventLoop>,
        targets: &[(Value, Value)],
        passive: bool,
        family: i64,
        socktype: i32,
    ) -> Res<Lookups> {
        let slots: Rc<std::cell::RefCell<Vec<Slot>>> = Rc::default();
        let pending = Rc::new(Cell::new(0));
        let mut waiter = None;
        for (i, (host, port)) in targets.iter().enumerate() {
            let Some(name) = lookup_name(host) else {
                let r = resolve_host(vm, host, port, passive, family);
                slots.borrow_mut().push(Some(r));
                continue;
            };
            let port = port_of(vm, port)?;
            slots.borrow_mut().push(None);
            let fut = waiter.get_or_insert_with(|| FutureObj::new(lp, None)).clone();
            pending.set(pending.get() + 1);
            let (slots2, pending2) = (slots.clone(), pending.clone());
            let fam = if matches!(family, 2 | 10) { family as i32 } else { 0 };
            crate::modules::socket::resolve_then(lp, Some(name), port, fam, socktype, move |vm, r| {
                let r = match r {
                    Ok(infos) => {
                        let mut addrs: Vec<SocketAddr> = Vec::new();
                        for a in infos.iter().map(|i| i.addr) {
                            if !addrs.contains(&a) {
                                addrs.push(a);
                            }
                        }
                        Ok(addrs)
                    }
                    Err(e) => Err(crate::modules::socket::gai_error(vm, &e)),
                };
                if let Some(slot) = slots2.borrow_mut().get_mut(i) {
                    *slot = Some(r);
                }
                pending2.set(pending2.get() - 1);
                if pending2.get() == 0 && !fut.done() {
                    fut.set_result(Value::None)?;
                }
                Ok(())
            })?;
        }
        Ok(Lookups { slots, pending, waiter })
    }

    /// The future to wait on while lookups are in flight; `None` once all are back.
    pub fn waiter(&self) -> Option<Rc<FutureObj>> {
        if self.pending.get() == 0 {
            return None;
        }
        self.waiter.clone()
    }

    /// The addresses of each target, in order; the first failure (in target order) raises.
    pub fn take(&self) -> Res<Vec<Vec<SocketAddr>>> {
        let slots = std::mem::take(&mut *self.slots.borrow_mut());
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            match s {
                Some(r) => out.push(r?),
                None => return Err(Exc::runtime_error("host name lookup lost")),
            }
        }
        Ok(out)
    }
}

/// Keeps the addresses of `family` (0: any, 2: IPv4, 10: IPv6), first occurrence of each.
pub fn filter_addrs(vm: &mut Vm, mut addrs: Vec<SocketAddr>, family: i64) -> Res<Vec<SocketAddr>> {
    match family {
        2 => addrs.retain(|a| a.is_ipv4()),
        10 => addrs.retain(|a| a.is_ipv6()),
        _ => {}
    }
    let mut seen = Vec::new();
    addrs.retain(|a| {
        if seen.contains(a) {
            false
        } else {
            seen.push(*a);
            true
        }
    });
    if addrs.is_empty() {
        return Err(gaierror(vm, -9, "Address family for hostname not supported"));
    }
    Ok(addrs)
}

/// A port argument: an int, a numeric string, or `None` (0).
pub fn port_of(vm: &mut Vm, v: &Value) -> Res<u16> {
    match v {
        Value::None => Ok(0),
        Value::Str(s) => match s.as_str().parse::<u16>() {
            Ok(p) => Ok(p),
            Err(_) => Err(gaierror(vm, -8, "Servname not supported for ai_socktype")),
        },
        _ => {
            let p = vm.index_value(v)?;
            if !(0..=65535).contains(&p) {
                return Err(Exc::new(ExcKind::OverflowError, "getsockaddrarg: port must be 0-65535."));
            }
            Ok(p as u16)
        }
    }
}

/// `socket.gaierror(code, msg)`.
pub fn gaierror(vm: &mut Vm, code: i32, msg: &str) -> Exc {
    crate::modules::socket::gai_error(vm, &crate::modules::socket::GaiError { code, msg: msg.to_string() })
}

// ---------------------------------------------------------------- arguments

/// The bytes of a `bytes`, `bytearray` (or `memoryview`) argument, or CPython's
/// `TypeError` for a transport's `write`.
pub fn data_arg(vm: &mut Vm, v: &Value) -> Res<Rc<[u8]>> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        Value::ByteArray(b) => Ok(Rc::from(&b.borrow()[..])),
        other => {
            let t = vm.type_name(other);
            if &*t == "memoryview" {
                return Ok(Rc::from(vm.bytes_like(other)?));
            }
            Err(Exc::type_error(format!("data argument must be a bytes-like object, not '{t}'")))
        }
    }
}

/// An address argument unpacked as CPython's `host, port = address[:2]`.
pub fn pair_arg(vm: &mut Vm, v: &Value) -> Res<(Value, Value)> {
    let items: Vec<Value> = match v {
        Value::Tuple(t) => t.iter().take(2).cloned().collect(),
        Value::List(l) => l.items.borrow().iter().take(2).cloned().collect(),
        other => {
            let t = vm.type_name(other);
            return Err(Exc::type_error(format!("'{t}' object is not subscriptable")));
        }
    };
    match <[Value; 2]>::try_from(items) {
        Ok([h, p]) => Ok((h, p)),
        Err(items) => Err(Exc::value_error(format!("not enough values to unpack (expected 2, got {})", items.len()))),
    }
}

/// The error for a true `ssl=` argument: aio has no TLS (CPython's would need the `ssl`
/// module).
pub fn no_tls(vm: &mut Vm, ssl: &Value) -> Exc {
    let r = vm.repr(ssl).unwrap_or_else(|_| "...".into());
    Exc::value_error(format!("aio has no TLS support: ssl={r} is not available"))
}

/// An optional integer argument: `None` when absent or Python's `None`.
pub fn opt_int(vm: &mut Vm, v: &Option<Value>) -> Res<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(x) => vm.index_value(x).map(Some),
    }
}

/// The truth of an optional argument (`None` when absent or Python's `None`).
pub fn opt_bool(vm: &mut Vm, v: &Option<Value>) -> Res<Option<bool>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(x) => vm.truthy(x).map(Some),
    }
}

/// Calls `obj.name(*args)`.
pub fn call_method(vm: &mut Vm, obj: &Value, name: Sym, args: Vec<Value>) -> Res<Value> {
    let f = vm.get_attr(obj, name)?;
    vm.call(&f, args)
}

/// A native object that can hand out a shared handle to itself (each keeps a weak
/// self-reference), so a method receiver seen as `&dyn NativeObject` becomes `Rc<T>`.
pub trait SelfRc: NativeObject + Sized {
    /// The shared handle, while the object is alive.
    fn self_rc(&self) -> Option<Rc<Self>>;
}

/// The native object of type `T` in `a.pos[0]`.
pub fn this<T: SelfRc>(a: &Args, what: &str) -> Res<Rc<T>> {
    a.pos
        .first()
        .and_then(downcast_value::<T>)
        .ok_or_else(|| Exc::type_error(format!("descriptor requires a '{what}' object")))
}

/// The native object of type `T` in a value, if it is one.
pub fn downcast_value<T: SelfRc>(v: &Value) -> Option<Rc<T>> {
    match v {
        Value::Other(o) => o.as_any().downcast_ref::<T>().and_then(|t| t.self_rc()),
        _ => None,
    }
}

/// Implements [`SelfRc`] for a type with a `me: Weak<Self>` field.
#[macro_export]
macro_rules! self_rc {
    ($t:ty) => {
        impl $crate::asyncio::net::support::SelfRc for $t {
            fn self_rc(&self) -> Option<std::rc::Rc<Self>> {
                self.me.upgrade()
            }
        }
    };
}
