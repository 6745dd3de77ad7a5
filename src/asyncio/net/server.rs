//! Servers: listening TCP and Unix sockets, the accept loop, and `asyncio.Server`
//! (`loop.create_server`, `loop.create_unix_server`, and through them `start_server`).

use super::socket::TransportSocket;
use super::support::{
    addr_value, coro, exc_value, io_error, io_error_value, opt_bool, opt_int, os_error, report, strerror, this,
    Lookups, Op, Step,
};
use super::transport::{tcp_extra, unix_extra, Kind, Proto, Sock, Transport};
use crate::asyncio::event_loop::{Callback, EventLoop, IoHandler, Ready};
use crate::asyncio::future::FutureObj;
use crate::builtins::bound_native;
use crate::modules::params::{bind, Sig};
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, NativeFn, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};

crate::self_rc!(Server);

/// CPython's `constants.ACCEPT_RETRY_DELAY`: how long accepting pauses when the process is
/// out of file descriptors.
const ACCEPT_RETRY_DELAY: f64 = 1.0;

enum Listener {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
}

enum LState {
    /// Bound, not yet listening (`start_serving=False`).
    Bound(socket2::Socket),
    /// Listening and registered.
    Listening(Listener, mio::Token),
    Closed,
}

/// One listening socket of a server.
pub struct ListenSock {
    server: RefCell<Weak<Server>>,
    state: RefCell<LState>,
    fd: RawFd,
    family: i64,
    laddr: Value,
    /// Accepting paused after EMFILE.
    backoff: Cell<bool>,
    /// The script's `socket.socket` this listener came from (`sock=`), closed with it.
    origin: Option<Value>,
}

impl ListenSock {
    fn socket_value(&self) -> Value {
        TransportSocket::value(
            self.fd,
            self.family,
            1,
            if self.family == 1 { 0 } else { 6 },
            self.laddr.clone(),
            Value::None,
        )
    }

    fn listen(self: &Rc<Self>, lp: &Rc<EventLoop>, backlog: i32) -> std::io::Result<()> {
        let st = std::mem::replace(&mut *self.state.borrow_mut(), LState::Closed);
        let LState::Bound(s) = st else {
            *self.state.borrow_mut() = st;
            return Ok(());
        };
        s.listen(backlog)?;
        let mut l = if self.family == 1 {
            Listener::Unix(mio::net::UnixListener::from_std(std::os::unix::net::UnixListener::from(s)))
        } else {
            Listener::Tcp(mio::net::TcpListener::from_std(std::net::TcpListener::from(s)))
        };
        let src: &mut dyn mio::event::Source = match &mut l {
            Listener::Tcp(x) => x,
            Listener::Unix(x) => x,
        };
        let tok = lp.io_register(src, mio::Interest::READABLE, self.clone())?;
        *self.state.borrow_mut() = LState::Listening(l, tok);
        Ok(())
    }

    fn close(&self, lp: &EventLoop) {
        let st = std::mem::replace(&mut *self.state.borrow_mut(), LState::Closed);
        if let LState::Listening(mut l, tok) = st {
            let src: &mut dyn mio::event::Source = match &mut l {
                Listener::Tcp(x) => x,
                Listener::Unix(x) => x,
            };
            lp.io_deregister(src, tok);
        }
        if let Some(o) = &self.origin {
            crate::modules::socket_object::close_value(o);
        }
    }

    /// Accepts up to `backlog` connections, as `_accept_connection` does.
    fn accept_round(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        let Some(server) = self.server.borrow().upgrade() else { return Ok(()) };
        if self.backoff.get() {
            return Ok(());
        }
        for _ in 0..server.backlog.max(1) {
            let r = {
                let st = self.state.borrow();
                match &*st {
                    LState::Listening(Listener::Tcp(l), _) => l.accept().map(|(s, _)| {
                        let extra = tcp_extra(&s);
                        (Sock::Tcp(s), extra)
                    }),
                    LState::Listening(Listener::Unix(l), _) => l.accept().map(|(s, _)| {
                        let extra = unix_extra(&s);
                        (Sock::Unix(s), extra)
                    }),
                    _ => return Ok(()),
                }
            };
            match r {
                Ok((sock, extra)) => {
                    let op = Accept2 {
                        server: server.clone(),
                        sock: RefCell::new(Some((sock, extra))),
                        transport: RefCell::new(None),
                        waiting: Cell::new(false),
                    };
                    crate::asyncio::create_task(vm, &server.lp, coro(op), None)?;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::ConnectionAborted => {
                    return Ok(())
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0);
                    let exc = io_error(vm, &e);
                    let ev = exc_value(vm, exc);
                    if matches!(errno, 24 | 23 | 105 | 12) {
                        // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause accepting for a while.
                        let msg =
                            format!("socket.accept() out of system resource\nsocket: {}", self.socket_value_repr());
                        report(vm, &msg, Some(&ev), vec![]);
                        self.backoff.set(true);
                        let me = self.clone();
                        let lp = server.lp.clone();
                        lp.call_at(
                            lp.time() + ACCEPT_RETRY_DELAY,
                            Callback::Native(Box::new(move |vm| {
                                me.backoff.set(false);
                                me.accept_round(vm)
                            })),
                        );
                        return Ok(());
                    }
                    return Err(vm.exc_from_value(ev)?);
                }
            }
        }
        // More may be waiting: an edge-triggered poll will not say so again.
        let me = self.clone();
        server.lp.call_soon_native(move |vm| me.accept_round(vm));
        Ok(())
    }

    fn socket_value_repr(&self) -> String {
        match &self.socket_value() {
            Value::Other(o) => o.repr(),
            _ => String::new(),
        }
    }
}

impl IoHandler for ListenSock {
    fn io_ready(self: Rc<Self>, vm: &mut Vm, _ready: Ready) -> Res<()> {
        self.accept_round(vm)
    }
}

/// `_accept_connection2`: builds the protocol and transport of an accepted connection in
/// its own task, then waits until `connection_made` has run.
struct Accept2 {
    server: Rc<Server>,
    sock: RefCell<Option<(Sock, (Value, Value, Value))>>,
    transport: RefCell<Option<Rc<Transport>>>,
    waiting: Cell<bool>,
}

impl Op for Accept2 {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if self.waiting.get() {
            return Ok(Step::Done(Value::None));
        }
        let Some((sock, extra)) = self.sock.borrow_mut().take() else { return Ok(Step::Done(Value::None)) };
        let factory = self.server.factory.clone();
        let protocol = match vm.call(&factory, vec![]) {
            Ok(p) => p,
            Err(e) => {
                // CPython only reports this in debug mode; the connection is dropped.
                if self.server.lp.debug.get() {
                    let ev = exc_value(vm, e);
                    report(vm, "Error on transport creation for incoming connection", Some(&ev), vec![]);
                }
                return Ok(Step::Done(Value::None));
            }
        };
        let lp = self.server.lp.clone();
        let waiter = FutureObj::new(&lp, None);
        let kind = Kind::Socket;
        match Transport::start(
            &lp,
            sock,
            kind,
            Proto::from_value(&protocol),
            Some(waiter.clone()),
            Some(self.server.clone()),
            extra,
        ) {
            Ok(t) => *self.transport.borrow_mut() = Some(t),
            Err(e) => {
                let ev = io_error_value(vm, &e);
                report(vm, "Error on transport creation for incoming connection", Some(&ev), vec![]);
                return Ok(Step::Done(Value::None));
            }
        }
        self.waiting.set(true);
        Ok(Step::Wait(waiter))
    }
    fn abort(&self, _vm: &mut Vm) {
        if let Some(t) = self.transport.borrow_mut().take() {
            t.close();
        }
    }
    fn qualname(&self) -> &'static str {
        "BaseSelectorEventLoop._accept_connection2"
    }
}

/// `asyncio.Server`.
pub struct Server {
    me: Weak<Server>,
    lp: Rc<EventLoop>,
    socks: RefCell<Option<Vec<Rc<ListenSock>>>>,
    factory: Value,
    backlog: i32,
    serving: Cell<bool>,
    active: Cell<usize>,
    waiters: RefCell<Option<Vec<Rc<FutureObj>>>>,
    forever: RefCell<Option<Rc<FutureObj>>>,
}

impl Server {
    fn new(lp: &Rc<EventLoop>, socks: Vec<Rc<ListenSock>>, factory: Value, backlog: i32) -> Rc<Server> {
        let s = Rc::new_cyclic(|me| Server {
            me: me.clone(),
            lp: lp.clone(),
            socks: RefCell::new(Some(socks)),
            factory,
            backlog,
            serving: Cell::new(false),
            active: Cell::new(0),
            waiters: RefCell::new(Some(Vec::new())),
            forever: RefCell::new(None),
        });
        for l in s.socks.borrow().iter().flatten() {
            *l.server.borrow_mut() = Rc::downgrade(&s);
        }
        s
    }

    /// A connection accepted by this server started.
    pub fn attach(&self) {
        self.active.set(self.active.get() + 1);
    }

    /// A connection accepted by this server ended.
    pub fn detach(&self) {
        self.active.set(self.active.get().saturating_sub(1));
        if self.active.get() == 0 && self.socks.borrow().is_none() {
            self.wakeup();
        }
    }

    fn wakeup(&self) {
        let waiters = self.waiters.borrow_mut().take();
        for w in waiters.into_iter().flatten() {
            if !w.done() {
                let _ = w.set_result(Value::None);
            }
        }
    }

    fn start_serving(self: &Rc<Self>, vm: &mut Vm) -> Res<()> {
        if self.serving.get() {
            return Ok(());
        }
        self.serving.set(true);
        let socks = self.socks.borrow().clone().unwrap_or_default();
        for s in socks {
            if let Err(e) = s.listen(&self.lp, self.backlog) {
                return Err(io_error(vm, &e));
            }
        }
        Ok(())
    }

    /// `close()`.
    pub fn close(&self) {
        let Some(socks) = self.socks.borrow_mut().take() else { return };
        for s in &socks {
            s.close(&self.lp);
        }
        self.serving.set(false);
        let f = self.forever.borrow_mut().take();
        if let Some(f) = f {
            if !f.done() {
                f.cancel(Value::None);
            }
        }
        if self.active.get() == 0 {
            self.wakeup();
        }
    }

    fn sockets(&self) -> Value {
        match &*self.socks.borrow() {
            None => Value::tuple(vec![]),
            Some(v) => Value::tuple(v.iter().map(|s| s.socket_value()).collect()),
        }
    }

    fn rc(&self) -> Rc<Server> {
        self.me.upgrade().expect("a server method runs on a live server")
    }
}

fn server_arg(a: &Args) -> Res<Rc<Server>> {
    this::<Server>(a, "Server")
}
fn sv_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    server_arg(a)?.close();
    Ok(Value::None)
}
fn sv_is_serving(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(server_arg(a)?.serving.get()))
}
fn sv_get_loop(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(crate::asyncio::loop_value(&server_arg(a)?.lp))
}
fn sv_wait_closed(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = server_arg(a)?;
    Ok(coro(WaitClosed { s, waiting: Cell::new(false) }))
}
fn sv_start_serving(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = server_arg(a)?;
    Ok(coro(StartServing { s, state: Cell::new(0) }))
}
fn sv_serve_forever(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = server_arg(a)?;
    Ok(coro(ServeForever { s, started: Cell::new(false) }))
}
fn sv_aenter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = server_arg(a)?;
    Ok(coro(super::support::Ready(Value::Other(s), "Server.__aenter__")))
}
fn sv_aexit(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = server_arg(a)?;
    s.close();
    Ok(coro(WaitClosed { s, waiting: Cell::new(false) }))
}

/// `Server.wait_closed()` (3.11: returns at once once the server is closed).
struct WaitClosed {
    s: Rc<Server>,
    waiting: Cell<bool>,
}

impl Op for WaitClosed {
    fn poll(&self, _vm: &mut Vm) -> Res<Step> {
        if self.waiting.get() || self.s.socks.borrow().is_none() {
            return Ok(Step::Done(Value::None));
        }
        let mut w = self.s.waiters.borrow_mut();
        let Some(list) = w.as_mut() else { return Ok(Step::Done(Value::None)) };
        let f = FutureObj::new(&self.s.lp, None);
        list.push(f.clone());
        self.waiting.set(true);
        Ok(Step::Wait(f))
    }
    fn qualname(&self) -> &'static str {
        "Server.wait_closed"
    }
}

struct StartServing {
    s: Rc<Server>,
    state: Cell<u8>,
}

impl Op for StartServing {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if self.state.get() == 0 {
            self.s.start_serving(vm)?;
            self.state.set(1);
            return Ok(Step::Yield);
        }
        Ok(Step::Done(Value::None))
    }
    fn qualname(&self) -> &'static str {
        "Server.start_serving"
    }
}

struct ServeForever {
    s: Rc<Server>,
    started: Cell<bool>,
}

impl Op for ServeForever {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if self.started.get() {
            *self.s.forever.borrow_mut() = None;
            return Ok(Step::Done(Value::None));
        }
        if self.s.forever.borrow().is_some() {
            return Err(Exc::runtime_error(format!(
                "server {} is already being awaited on serve_forever()",
                server_repr(&self.s)
            )));
        }
        if self.s.socks.borrow().is_none() {
            return Err(Exc::runtime_error(format!("server {} is closed", server_repr(&self.s))));
        }
        self.s.start_serving(vm)?;
        let f = FutureObj::new(&self.s.lp, None);
        *self.s.forever.borrow_mut() = Some(f.clone());
        self.started.set(true);
        Ok(Step::Wait(f))
    }
    fn abort(&self, _vm: &mut Vm) {
        // Cancelled: close the server (its wait_closed returns at once in 3.11).
        self.s.close();
        *self.s.forever.borrow_mut() = None;
    }
    fn qualname(&self) -> &'static str {
        "Server.serve_forever"
    }
}

fn server_repr(s: &Server) -> String {
    let socks = match s.sockets() {
        Value::Tuple(t) => {
            let parts: Vec<String> = t
                .iter()
                .map(|v| match v {
                    Value::Other(o) => o.repr(),
                    _ => String::new(),
                })
                .collect();
            if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            }
        }
        _ => "()".into(),
    };
    format!("<Server sockets={socks}>")
}

impl NativeObject for Server {
    fn type_name(&self) -> &'static str {
        "Server"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "close" => ("close", sv_close as NativeFn),
                "wait_closed" => ("wait_closed", sv_wait_closed as NativeFn),
                "serve_forever" => ("serve_forever", sv_serve_forever as NativeFn),
                "start_serving" => ("start_serving", sv_start_serving as NativeFn),
                "is_serving" => ("is_serving", sv_is_serving as NativeFn),
                "get_loop" => ("get_loop", sv_get_loop as NativeFn),
                "__aenter__" => ("__aenter__", sv_aenter as NativeFn),
                "__aexit__" => ("__aexit__", sv_aexit as NativeFn),
                _ => return None,
            })
        });
        if let Some((n, f)) = f {
            return Ok(Some(bound_native(this.clone(), n, f)));
        }
        Ok(name.with_str(|s| match s {
            "sockets" => Some(self.sockets()),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        server_repr(self)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// ---------------------------------------------------------------- create_server

/// What a `create_server` coroutine binds.
enum Target {
    Tcp {
        hosts: Vec<Value>,
        port: Value,
        family: i64,
        reuse_address: bool,
        reuse_port: bool,
    },
    Unix {
        path: String,
    },
    /// `sock=`: a socket the script bound (a duplicate descriptor), and its object.
    Sock {
        sock: RefCell<Option<socket2::Socket>>,
        origin: Value,
        family: i64,
    },
}

/// `loop.create_server` / `loop.create_unix_server`: yields as CPython's coroutine does
/// (its `gather` of address lookups, then `sleep(0)` after `start_serving`), binds, and
/// returns the server.
struct CreateServer {
    lp: Rc<EventLoop>,
    factory: Value,
    target: Target,
    backlog: i32,
    start: bool,
    state: Cell<u8>,
    server: RefCell<Option<Rc<Server>>>,
    /// The bind addresses' lookups (host names on worker threads).
    lookups: RefCell<Option<Lookups>>,
}

impl CreateServer {
    fn bind_all(&self, vm: &mut Vm) -> Res<Vec<Rc<ListenSock>>> {
        match &self.target {
            Target::Unix { path } => Ok(vec![bind_unix(vm, path)?]),
            Target::Sock { sock, origin, family } => {
                let Some(s) = sock.borrow_mut().take() else { return Ok(vec![]) };
                Ok(vec![given_socket(vm, s, origin.clone(), *family)?])
            }
            Target::Tcp { reuse_address, reuse_port, .. } => {
                let l = self.lookups.borrow_mut().take();
                let found = l.map(|l| l.take()).transpose()?.unwrap_or_default();
                // CPython binds the set of all the hosts' addresses.
                let mut addrs = Vec::new();
                for a in found.into_iter().flatten() {
                    if !addrs.contains(&a) {
                        addrs.push(a);
                    }
                }
                let mut socks = Vec::new();
                for a in addrs {
                    socks.extend(bind_tcp(vm, a, *reuse_address, *reuse_port)?);
                }
                Ok(socks)
            }
        }
    }
}

/// A listener over a socket the script made (`sock=`).
fn given_socket(vm: &mut Vm, s: socket2::Socket, origin: Value, family: i64) -> Res<Rc<ListenSock>> {
    s.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
    let laddr = s.local_addr().map(|a| crate::modules::socket_object::sockaddr_value(&a)).unwrap_or(Value::None);
    Ok(Rc::new(ListenSock {
        server: RefCell::new(Weak::new()),
        fd: s.as_raw_fd(),
        family,
        laddr,
        state: RefCell::new(LState::Bound(s)),
        backoff: Cell::new(false),
        origin: Some(origin),
    }))
}

/// A listening socket bound to `a`; `None` when the system cannot make a socket of that
/// family (CPython skips such an address).
fn bind_tcp(
    vm: &mut Vm,
    a: std::net::SocketAddr,
    reuse_address: bool,
    reuse_port: bool,
) -> Res<Option<Rc<ListenSock>>> {
    let domain = if a.is_ipv6() { socket2::Domain::IPV6 } else { socket2::Domain::IPV4 };
    let Ok(s) = socket2::Socket::new(domain, socket2::Type::STREAM.cloexec(), Some(socket2::Protocol::TCP)) else {
        return Ok(None);
    };
    if reuse_address {
        let _ = s.set_reuse_address(true);
    }
    if reuse_port {
        s.set_reuse_port(true).map_err(|e| io_error(vm, &e))?;
    }
    if a.is_ipv6() {
        let _ = s.set_only_v6(true);
    }
    if let Err(e) = s.bind(&a.into()) {
        let errno = e.raw_os_error().unwrap_or(0);
        let msg = format!(
            "error while attempting to bind on address {}: {}",
            super::support::addr_repr(&a),
            strerror(errno).to_lowercase()
        );
        return Err(os_error(vm, errno, &msg));
    }
    s.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
    let local = s.local_addr().ok().and_then(|x| x.as_socket()).unwrap_or(a);
    Ok(Some(Rc::new(ListenSock {
        server: RefCell::new(Weak::new()),
        fd: s.as_raw_fd(),
        family: if a.is_ipv6() { 10 } else { 2 },
        laddr: addr_value(&local),
        state: RefCell::new(LState::Bound(s)),
        backoff: Cell::new(false),
        origin: None,
    })))
}

fn bind_unix(vm: &mut Vm, path: &str) -> Res<Rc<ListenSock>> {
    use std::os::unix::fs::FileTypeExt;
    if !path.starts_with('\0') {
        if let Ok(m) = std::fs::metadata(path) {
            if m.file_type().is_socket() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    let s = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM.cloexec(), None)
        .map_err(|e| io_error(vm, &e))?;
    let addr = socket2::SockAddr::unix(path).map_err(|e| io_error(vm, &e))?;
    if let Err(e) = s.bind(&addr) {
        let errno = e.raw_os_error().unwrap_or(0);
        if errno == 98 {
            return Err(os_error(vm, 98, &format!("Address {} is already in use", crate::vm::repr_str(path))));
        }
        return Err(io_error(vm, &e));
    }
    s.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
    Ok(Rc::new(ListenSock {
        server: RefCell::new(Weak::new()),
        fd: s.as_raw_fd(),
        family: 1,
        laddr: Value::string(path.to_string()),
        state: RefCell::new(LState::Bound(s)),
        backoff: Cell::new(false),
        origin: None,
    }))
}

impl Op for CreateServer {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        let st = self.state.get();
        match (&self.target, st) {
            // TCP: the address lookups run as tasks (one per host) gathered in CPython;
            // host names are looked up on worker threads meanwhile.
            (Target::Tcp { hosts, port, family, .. }, 0) => {
                for _ in hosts {
                    crate::asyncio::next_task_name();
                }
                let targets: Vec<(Value, Value)> = hosts.iter().map(|h| (h.clone(), port.clone())).collect();
                let l = Lookups::start(vm, &self.lp, &targets, true, *family, 1)?;
                *self.lookups.borrow_mut() = Some(l);
                self.state.set(1);
                Ok(Step::Yield)
            }
            (Target::Tcp { .. }, 1) => {
                self.state.set(2);
                Ok(Step::Yield)
            }
            (_, 0) | (Target::Tcp { .. }, 2) => {
                let waiter = self.lookups.borrow().as_ref().and_then(Lookups::waiter);
                if let Some(f) = waiter {
                    return Ok(Step::Wait(f));
                }
                let socks = self.bind_all(vm)?;
                let server = Server::new(&self.lp, socks, self.factory.clone(), self.backlog);
                *self.server.borrow_mut() = Some(server.clone());
                if self.start {
                    if let Err(e) = server.start_serving(vm) {
                        server.close();
                        return Err(e);
                    }
                    self.state.set(3);
                    return Ok(Step::Yield);
                }
                Ok(Step::Done(Value::Other(server)))
            }
            _ => {
                let s = self.server.borrow().clone();
                Ok(Step::Done(s.map(|s| Value::Other(s.rc())).unwrap_or(Value::None)))
            }
        }
    }
    fn abort(&self, _vm: &mut Vm) {
        if let Some(s) = self.server.borrow_mut().take() {
            s.close();
        }
    }
    fn qualname(&self) -> &'static str {
        match self.target {
            Target::Tcp { .. } => "BaseEventLoop.create_server",
            Target::Sock { family, .. } if family != 1 => "BaseEventLoop.create_server",
            _ => "_UnixSelectorEventLoop.create_unix_server",
        }
    }
}

/// The `ssl` checks of the server calls, as CPython's: a `bool` is a `TypeError`, a true
/// context is refused (aio has no TLS), and the TLS-only timeouts need `ssl`
/// (`unix_rule`: `create_unix_server` tests `not ssl`, `create_server` `ssl is None`).
fn no_tls_server(vm: &mut Vm, ssl: &Option<Value>, timeouts: [(&Option<Value>, &str); 2], unix_rule: bool) -> Res<()> {
    let ssl = ssl.clone().unwrap_or(Value::None);
    if matches!(ssl, Value::Bool(_)) {
        return Err(Exc::type_error("ssl argument must be an SSLContext or None"));
    }
    let truthy = vm.truthy(&ssl)?;
    if truthy {
        return Err(super::support::no_tls(vm, &ssl));
    }
    let without = if unix_rule { !truthy } else { ssl.is_none() };
    for (v, name) in timeouts {
        if without && !matches!(v, None | Some(Value::None)) {
            return Err(Exc::value_error(format!("{name} is only meaningful with ssl")));
        }
    }
    Ok(())
}

/// `loop.create_server(protocol_factory, host=None, port=None, *, family=0, flags=1,
/// sock=None, backlog=100, ssl=None, reuse_address=None, reuse_port=None,
/// ssl_handshake_timeout=None, ssl_shutdown_timeout=None, start_serving=True)`.
pub fn create_server(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.create_server()")?;
    let b = bind(
        a,
        &Sig {
            name: "create_server",
            params: &["protocol_factory", "host", "port"],
            required: 1,
            kwonly: &[
                "family",
                "flags",
                "sock",
                "backlog",
                "ssl",
                "reuse_address",
                "reuse_port",
                "ssl_handshake_timeout",
                "ssl_shutdown_timeout",
                "start_serving",
            ],
        },
    )?;
    Ok(super::support::deferred("BaseEventLoop.create_server", create_server_bound(vm, lp, b)))
}

/// The part of `create_server` that CPython runs inside the coroutine: its errors are raised by
/// the `await`.
fn create_server_bound(vm: &mut Vm, lp: &Rc<EventLoop>, b: Vec<Option<Value>>) -> Res<Value> {
    no_tls_server(vm, &b[7], [(&b[10], "ssl_handshake_timeout"), (&b[11], "ssl_shutdown_timeout")], false)?;
    let factory = b[0].clone().unwrap_or(Value::None);
    let host = b[1].clone().unwrap_or(Value::None);
    let port = b[2].clone().unwrap_or(Value::None);
    let backlog = opt_int(vm, &b[6])?.unwrap_or(100) as i32;
    let start = opt_bool(vm, &b[12])?.unwrap_or(true);
    if let Some(sock) = b[5].clone().filter(|v| !v.is_none()) {
        if !host.is_none() || !port.is_none() {
            return Err(Exc::value_error("host/port and sock can not be specified at the same time"));
        }
        let s = crate::modules::socket_object::lend(vm, &sock, None, 1, "A Stream Socket")?;
        let family = crate::modules::socket_object::family_of(&sock).unwrap_or(2) as i64;
        return Ok(coro(CreateServer {
            lp: lp.clone(),
            factory,
            target: Target::Sock { sock: RefCell::new(Some(s)), origin: sock, family },
            backlog,
            start,
            state: Cell::new(0),
            server: RefCell::new(None),
            lookups: RefCell::new(None),
        }));
    }
    if host.is_none() && port.is_none() {
        return Err(Exc::value_error("Neither host/port nor sock were specified"));
    }
    let family = opt_int(vm, &b[3])?.unwrap_or(0);
    let reuse_address = opt_bool(vm, &b[8])?.unwrap_or(true);
    let reuse_port = opt_bool(vm, &b[9])?.unwrap_or(false);
    let hosts = match &host {
        Value::Str(s) if s.as_str().is_empty() => vec![Value::None],
        Value::Str(_) | Value::None | Value::Bytes(_) => vec![host.clone()],
        other => vm.collect(other)?,
    };
    Ok(coro(CreateServer {
        lp: lp.clone(),
        factory,
        target: Target::Tcp { hosts, port, family, reuse_address, reuse_port },
        backlog,
        start,
        state: Cell::new(0),
        server: RefCell::new(None),
        lookups: RefCell::new(None),
    }))
}

/// `loop.create_unix_server(protocol_factory, path=None, *, sock=None, backlog=100,
/// ssl=None, ssl_handshake_timeout=None, ssl_shutdown_timeout=None, start_serving=True)`.
pub fn create_unix_server(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.create_unix_server()")?;
    let b = bind(
        a,
        &Sig {
            name: "create_unix_server",
            params: &["protocol_factory", "path"],
            required: 1,
            kwonly: &["sock", "backlog", "ssl", "ssl_handshake_timeout", "ssl_shutdown_timeout", "start_serving"],
        },
    )?;
    Ok(super::support::deferred("_UnixSelectorEventLoop.create_unix_server", create_unix_server_bound(vm, lp, b)))
}

/// The part of `create_unix_server` that CPython runs inside the coroutine: its errors are raised by
/// the `await`.
fn create_unix_server_bound(vm: &mut Vm, lp: &Rc<EventLoop>, b: Vec<Option<Value>>) -> Res<Value> {
    no_tls_server(vm, &b[4], [(&b[5], "ssl_handshake_timeout"), (&b[6], "ssl_shutdown_timeout")], true)?;
    let factory = b[0].clone().unwrap_or(Value::None);
    let backlog = opt_int(vm, &b[3])?.unwrap_or(100) as i32;
    let start = opt_bool(vm, &b[7])?.unwrap_or(true);
    let sock = b[2].clone().filter(|v| !v.is_none());
    let target = match (&b[1], sock) {
        (None | Some(Value::None), None) => {
            return Err(Exc::value_error("path was not specified, and no sock specified"));
        }
        (None | Some(Value::None), Some(sock)) => {
            let s = crate::modules::socket_object::lend(vm, &sock, Some(1), 1, "A UNIX Domain Stream Socket")?;
            Target::Sock { sock: RefCell::new(Some(s)), origin: sock, family: 1 }
        }
        (Some(_), Some(_)) => return Err(Exc::value_error("path and sock can not be specified at the same time")),
        (Some(v), None) => Target::Unix { path: super::path_arg(vm, v)? },
    };
    Ok(coro(CreateServer {
        lp: lp.clone(),
        factory,
        target,
        backlog,
        start,
        state: Cell::new(0),
        server: RefCell::new(None),
        lookups: RefCell::new(None),
    }))
}
