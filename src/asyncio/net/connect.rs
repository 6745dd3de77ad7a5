//! Outgoing connections: `loop.create_connection` and `loop.create_unix_connection` (and
//! through them `open_connection`). A non-blocking connect parks the task on a future
//! that the socket's first writable event completes; each address is tried in turn, and
//! the failures are combined as CPython combines them.

use super::support::{addr_repr, coro, io_error, opt_int, os_error, Lookups, Op, Step};
use super::transport::{tcp_extra, unix_extra, Kind, Proto, Sock, Transport};
use crate::asyncio::event_loop::{EventLoop, IoHandler, Ready};
use crate::asyncio::future::FutureObj;
use crate::modules::params::{bind, Sig};
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, Res, Vm};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;

/// Completes a future on the first readiness of a connecting socket.
pub struct ReadyFuture(pub Rc<FutureObj>);

impl IoHandler for ReadyFuture {
    fn io_ready(self: Rc<Self>, _vm: &mut Vm, _ready: Ready) -> Res<()> {
        if !self.0.done() {
            self.0.set_result(Value::None)?;
        }
        Ok(())
    }
}

enum Target {
    Tcp(Vec<SocketAddr>),
    Unix(String),
}

enum Pending {
    Tcp(mio::net::TcpStream, mio::Token, SocketAddr),
    Unix(mio::net::UnixStream, mio::Token),
}

enum State {
    /// Next address to try.
    Next(usize),
    /// Waiting for a connect to finish.
    Connecting(usize, Pending),
    /// Waiting for `connection_made` (the transport completes the future after it).
    Made(Rc<Transport>, Value, Rc<FutureObj>),
    Done,
}

/// The `create_connection` coroutine.
struct Connect {
    lp: Rc<EventLoop>,
    factory: Value,
    host: Value,
    port: Value,
    family: i64,
    /// `local_addr=(host, port)`: the address to bind before connecting.
    local: Option<(Value, Value)>,
    /// `sock=`: an already connected socket (no lookups, no connect), with the script's
    /// `socket` object it came from (closed with the transport).
    sock: RefCell<Option<(Sock, Value)>>,
    target: RefCell<Option<Target>>,
    /// The resolved `local_addr` candidates.
    local_addrs: RefCell<Option<Vec<SocketAddr>>>,
    state: RefCell<State>,
    errors: RefCell<Vec<Value>>,
    unix: bool,
    result: RefCell<Option<Value>>,
    /// The address lookups (host names on worker threads, as CPython's `getaddrinfo` in
    /// the default executor).
    lookups: RefCell<Option<Lookups>>,
}

impl Connect {
    /// Resolves the target and `local_addr`: `Some(step)` to wait for host-name lookups,
    /// `None` once both are known.
    fn lookup(&self, vm: &mut Vm) -> Res<Option<Step>> {
        if self.target.borrow().is_some() {
            return Ok(None);
        }
        if self.unix {
            let t = match &self.host {
                Value::Str(s) => Target::Unix(s.as_str().to_string()),
                other => Target::Unix(super::path_arg(vm, other)?),
            };
            *self.target.borrow_mut() = Some(t);
            return Ok(None);
        }
        if self.lookups.borrow().is_none() {
            let mut targets = vec![(self.host.clone(), self.port.clone())];
            targets.extend(self.local.clone());
            let l = Lookups::start(vm, &self.lp, &targets, false, self.family, 1)?;
            *self.lookups.borrow_mut() = Some(l);
        }
        let waiter = self.lookups.borrow().as_ref().and_then(Lookups::waiter);
        if let Some(f) = waiter {
            return Ok(Some(Step::Wait(f)));
        }
        let l = self.lookups.borrow_mut().take();
        let mut found = l.map(|l| l.take()).transpose()?.unwrap_or_default().into_iter();
        *self.target.borrow_mut() = Some(Target::Tcp(found.next().unwrap_or_default()));
        *self.local_addrs.borrow_mut() = found.next();
        Ok(None)
    }

    /// A non-blocking TCP socket for `a`, bound to a `local_addr` candidate of its family
    /// first (CPython's `_connect_sock`), with the connect started.
    fn tcp_socket(&self, vm: &mut Vm, a: SocketAddr) -> Res<mio::net::TcpStream> {
        let domain = if a.is_ipv6() { socket2::Domain::IPV6 } else { socket2::Domain::IPV4 };
        let ty = socket2::Type::STREAM.nonblocking().cloexec();
        let s = socket2::Socket::new(domain, ty, Some(socket2::Protocol::TCP)).map_err(|e| io_error(vm, &e))?;
        if let Some(locals) = &*self.local_addrs.borrow() {
            let mut last = None;
            let mut bound = false;
            for l in locals.iter().filter(|l| l.is_ipv6() == a.is_ipv6()) {
                match s.bind(&(*l).into()) {
                    Ok(()) => {
                        bound = true;
                        break;
                    }
                    Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(0);
                        let msg = format!(
                            "error while attempting to bind on address {}: {}",
                            addr_repr(l),
                            super::support::strerror(errno).to_lowercase()
                        );
                        last = Some(os_error(vm, errno, &msg));
                    }
                }
            }
            if !bound {
                return Err(last.unwrap_or_else(|| {
                    let fam = if a.is_ipv6() { "<AddressFamily.AF_INET6: 10>" } else { "<AddressFamily.AF_INET: 2>" };
                    super::support::plain_error(
                        vm,
                        ExcKind::OSError,
                        &format!("no matching local address with family={fam} found"),
                    )
                }));
            }
        }
        match s.connect(&a.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(115) || e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(0);
                return Err(os_error(vm, errno, &format!("Connect call failed {}", addr_repr(&a))));
            }
        }
        Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(s)))
    }

    /// Starts connecting to address `i`: `Ok(Some(step))` to wait, `Ok(None)` when
    /// connected at once (state updated), `Err` for this address's failure.
    fn start(&self, vm: &mut Vm, i: usize) -> Res<Option<Step>> {
        let fut = FutureObj::new(&self.lp, None);
        let handler = Rc::new(ReadyFuture(fut.clone()));
        let target = self.target.borrow();
        match target.as_ref() {
            Some(Target::Tcp(addrs)) => {
                let a = addrs[i];
                drop(target);
                let mut s = self.tcp_socket(vm, a)?;
                let tok =
                    self.lp.io_register(&mut s, mio::Interest::WRITABLE, handler).map_err(|e| io_error(vm, &e))?;
                *self.state.borrow_mut() = State::Connecting(i, Pending::Tcp(s, tok, a));
                Ok(Some(Step::Wait(fut)))
            }
            Some(Target::Unix(path)) => {
                let path = path.clone();
                drop(target);
                let sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM.cloexec(), None)
                    .map_err(|e| io_error(vm, &e))?;
                sock.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
                let addr = socket2::SockAddr::unix(&path).map_err(|e| io_error(vm, &e))?;
                let r = sock.connect(&addr);
                let mut s = mio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(sock));
                match r {
                    Ok(()) => {
                        self.made(vm, Sock::Unix(s))?;
                        Ok(None)
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock || e.raw_os_error() == Some(115) => {
                        let tok = self
                            .lp
                            .io_register(&mut s, mio::Interest::WRITABLE, handler)
                            .map_err(|e| io_error(vm, &e))?;
                        *self.state.borrow_mut() = State::Connecting(i, Pending::Unix(s, tok));
                        Ok(Some(Step::Wait(fut)))
                    }
                    Err(e) => Err(io_error(vm, &e)),
                }
            }
            None => Err(Exc::runtime_error("connection target not resolved")),
        }
    }

    /// The connect finished: check its outcome.
    fn finish(&self, vm: &mut Vm, p: Pending) -> Res<()> {
        match p {
            Pending::Tcp(mut s, tok, a) => {
                self.lp.io_deregister(&mut s, tok);
                let err = match s.take_error() {
                    Ok(Some(e)) => Some(e),
                    Ok(None) => match s.peer_addr() {
                        Ok(_) => None,
                        Err(e) if e.kind() == ErrorKind::NotConnected => {
                            // Spurious wake-up: SO_ERROR is clear but not yet connected.
                            Some(std::io::Error::from_raw_os_error(111))
                        }
                        Err(e) => Some(e),
                    },
                    Err(e) => Some(e),
                };
                if let Some(e) = err {
                    let errno = e.raw_os_error().unwrap_or(0);
                    return Err(os_error(vm, errno, &format!("Connect call failed {}", addr_repr(&a))));
                }
                self.made(vm, Sock::Tcp(s))
            }
            Pending::Unix(mut s, tok) => {
                self.lp.io_deregister(&mut s, tok);
                match s.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(0);
                        let path = match &*self.target.borrow() {
                            Some(Target::Unix(p)) => p.clone(),
                            _ => String::new(),
                        };
                        Err(os_error(vm, errno, &format!("Connect call failed {}", crate::vm::repr_str(&path))))
                    }
                    Ok(None) => self.made(vm, Sock::Unix(s)),
                }
            }
        }
    }

    /// Connected: `_create_connection_transport`.
    fn made(&self, vm: &mut Vm, sock: Sock) -> Res<()> {
        let extra = match &sock {
            Sock::Tcp(s) => tcp_extra(s),
            Sock::Unix(s) => unix_extra(s),
            _ => (Value::None, Value::None, Value::None),
        };
        let protocol = vm.call(&self.factory, vec![])?;
        let waiter = FutureObj::new(&self.lp, None);
        let t = Transport::start(
            &self.lp,
            sock,
            Kind::Socket,
            Proto::from_value(&protocol),
            Some(waiter.clone()),
            None,
            extra,
        )
        .map_err(|e| io_error(vm, &e))?;
        *self.state.borrow_mut() = State::Made(t, protocol, waiter);
        Ok(())
    }

    fn fail(&self, vm: &mut Vm) -> Exc {
        let errs = std::mem::take(&mut *self.errors.borrow_mut());
        if errs.len() == 1 {
            return vm.exc_from_value(errs[0].clone()).unwrap_or_else(|e| e);
        }
        let mut texts = Vec::new();
        for e in &errs {
            texts.push(vm.str_of(e).unwrap_or_default());
        }
        if texts.iter().all(|t| *t == texts[0]) {
            return vm.exc_from_value(errs[0].clone()).unwrap_or_else(|e| e);
        }
        super::support::plain_error(vm, ExcKind::OSError, &format!("Multiple exceptions: {}", texts.join(", ")))
    }
}

impl Op for Connect {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        loop {
            let st = std::mem::replace(&mut *self.state.borrow_mut(), State::Done);
            match st {
                State::Next(i) => {
                    let given = self.sock.borrow_mut().take();
                    if let Some((sock, origin)) = given {
                        self.made(vm, sock)?;
                        if let State::Made(t, ..) = &*self.state.borrow() {
                            t.set_on_lost(Box::new(move |_vm| crate::modules::socket_object::close_value(&origin)));
                        }
                        continue;
                    }
                    if let Some(step) = self.lookup(vm)? {
                        *self.state.borrow_mut() = State::Next(i);
                        return Ok(step);
                    }
                    let n = match &*self.target.borrow() {
                        Some(Target::Tcp(v)) => v.len(),
                        _ => 1,
                    };
                    if i >= n {
                        return Err(self.fail(vm));
                    }
                    match self.start(vm, i) {
                        Ok(Some(step)) => return Ok(step),
                        Ok(None) => continue,
                        Err(e) => {
                            if self.unix {
                                return Err(e);
                            }
                            let inst = vm.materialize(e);
                            if !inst.class.is_subclass(vm.exc_class(ExcKind::OSError)) {
                                return Err(Exc::Obj(inst));
                            }
                            self.errors.borrow_mut().push(Value::Instance(inst));
                            *self.state.borrow_mut() = State::Next(i + 1);
                        }
                    }
                }
                State::Connecting(i, p) => match self.finish(vm, p) {
                    Ok(()) => continue,
                    Err(e) => {
                        if self.unix {
                            return Err(e);
                        }
                        let inst = vm.materialize(e);
                        if !inst.class.is_subclass(vm.exc_class(ExcKind::OSError)) {
                            return Err(Exc::Obj(inst));
                        }
                        self.errors.borrow_mut().push(Value::Instance(inst));
                        *self.state.borrow_mut() = State::Next(i + 1);
                    }
                },
                State::Made(t, p, w) => {
                    *self.state.borrow_mut() = State::Done;
                    let result = Value::tuple(vec![Value::Other(t), p]);
                    *self.result.borrow_mut() = Some(result);
                    return Ok(Step::Wait(w));
                }
                State::Done => {
                    let r = self.result.borrow_mut().take();
                    return Ok(Step::Done(r.unwrap_or(Value::None)));
                }
            }
        }
    }
    fn abort(&self, _vm: &mut Vm) {
        let st = std::mem::replace(&mut *self.state.borrow_mut(), State::Done);
        match st {
            State::Connecting(_, Pending::Tcp(mut s, tok, _)) => self.lp.io_deregister(&mut s, tok),
            State::Connecting(_, Pending::Unix(mut s, tok)) => self.lp.io_deregister(&mut s, tok),
            _ => {}
        }
        if let Some(Value::Tuple(t)) = self.result.borrow_mut().take() {
            if let Some(tr) = t.first().and_then(super::support::downcast_value::<Transport>) {
                tr.close();
            }
        }
    }
    fn qualname(&self) -> &'static str {
        if self.unix {
            "_UnixSelectorEventLoop.create_unix_connection"
        } else {
            "BaseEventLoop.create_connection"
        }
    }
}

/// `loop.create_connection(protocol_factory, host=None, port=None, *, ssl=None, family=0,
/// proto=0, flags=0, sock=None, local_addr=None, server_hostname=None, ...)`.
pub fn create_connection(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.create_connection()")?;
    let b = bind(
        a,
        &Sig {
            name: "create_connection",
            params: &["protocol_factory", "host", "port"],
            required: 1,
            kwonly: &[
                "ssl",
                "family",
                "proto",
                "flags",
                "sock",
                "local_addr",
                "server_hostname",
                "ssl_handshake_timeout",
                "ssl_shutdown_timeout",
                "happy_eyeballs_delay",
                "interleave",
            ],
        },
    )?;
    Ok(super::support::deferred("BaseEventLoop.create_connection", create_connection_bound(vm, lp, b)))
}

/// The part of `create_connection` that CPython runs inside the coroutine: its errors are raised by
/// the `await`.
fn create_connection_bound(vm: &mut Vm, lp: &Rc<EventLoop>, b: Vec<Option<Value>>) -> Res<Value> {
    no_tls_client(
        vm,
        &b[3],
        &[(&b[9], "server_hostname"), (&b[10], "ssl_handshake_timeout"), (&b[11], "ssl_shutdown_timeout")],
    )?;
    let host = b[1].clone().unwrap_or(Value::None);
    let port = b[2].clone().unwrap_or(Value::None);
    let family = opt_int(vm, &b[4])?.unwrap_or(0);
    let local = match &b[8] {
        None | Some(Value::None) => None,
        Some(v) => Some(super::support::pair_arg(vm, v)?),
    };
    let mut c = new_connect(lp, b[0].clone().unwrap_or(Value::None), host.clone(), port.clone(), family, false);
    c.local = local;
    match &b[7] {
        None | Some(Value::None) => {
            if host.is_none() && port.is_none() {
                return Err(Exc::value_error("host and port was not specified and no sock specified"));
            }
        }
        Some(sock) => {
            if !host.is_none() || !port.is_none() {
                return Err(Exc::value_error("host/port and sock can not be specified at the same time"));
            }
            let s = crate::modules::socket_object::lend(vm, sock, None, 1, "A Stream Socket")?;
            c.sock = RefCell::new(Some((Sock::from_socket(s), sock.clone())));
        }
    }
    Ok(coro(c))
}

/// The `ssl` checks of the client calls: any true `ssl` is refused (aio has no TLS), and,
/// as in CPython, the TLS-only arguments need it.
pub fn no_tls_client(vm: &mut Vm, ssl: &Option<Value>, tls_only: &[(&Option<Value>, &str)]) -> Res<()> {
    let ssl = ssl.clone().unwrap_or(Value::None);
    if vm.truthy(&ssl)? {
        return Err(super::support::no_tls(vm, &ssl));
    }
    for (v, name) in tls_only {
        if !matches!(v, None | Some(Value::None)) {
            return Err(Exc::value_error(format!("{name} is only meaningful with ssl")));
        }
    }
    Ok(())
}

/// `loop.create_unix_connection(protocol_factory, path=None, *, ssl=None, sock=None, ...)`.
pub fn create_unix_connection(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.create_unix_connection()")?;
    let b = bind(
        a,
        &Sig {
            name: "create_unix_connection",
            params: &["protocol_factory", "path"],
            required: 1,
            kwonly: &["ssl", "sock", "server_hostname", "ssl_handshake_timeout", "ssl_shutdown_timeout"],
        },
    )?;
    Ok(super::support::deferred(
        "_UnixSelectorEventLoop.create_unix_connection",
        create_unix_connection_bound(vm, lp, b),
    ))
}

/// The part of `create_unix_connection` that CPython runs inside the coroutine: its errors are raised by
/// the `await`.
fn create_unix_connection_bound(vm: &mut Vm, lp: &Rc<EventLoop>, b: Vec<Option<Value>>) -> Res<Value> {
    no_tls_client(
        vm,
        &b[2],
        &[(&b[4], "server_hostname"), (&b[5], "ssl_handshake_timeout"), (&b[6], "ssl_shutdown_timeout")],
    )?;
    let factory = b[0].clone().unwrap_or(Value::None);
    let path = b[1].clone().unwrap_or(Value::None);
    match &b[3] {
        None | Some(Value::None) => {
            if path.is_none() {
                return Err(Exc::value_error("no path and sock were specified"));
            }
            let path = Value::string(super::path_arg(vm, &path)?);
            Ok(coro(new_connect(lp, factory, path, Value::None, 0, true)))
        }
        Some(sock) => {
            if !path.is_none() {
                return Err(Exc::value_error("path and sock can not be specified at the same time"));
            }
            let s = crate::modules::socket_object::lend(vm, sock, Some(1), 1, "A UNIX Domain Stream Socket")?;
            let c = new_connect(lp, factory, Value::None, Value::None, 0, true);
            *c.sock.borrow_mut() = Some((Sock::from_socket(s), sock.clone()));
            Ok(coro(c))
        }
    }
}

fn new_connect(lp: &Rc<EventLoop>, factory: Value, host: Value, port: Value, family: i64, unix: bool) -> Connect {
    Connect {
        lp: lp.clone(),
        factory,
        host,
        port,
        family,
        target: RefCell::new(None),
        state: RefCell::new(State::Next(0)),
        errors: RefCell::default(),
        unix,
        result: RefCell::new(None),
        local: None,
        sock: RefCell::new(None),
        local_addrs: RefCell::new(None),
        lookups: RefCell::new(None),
    }
}
