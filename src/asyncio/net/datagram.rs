//! UDP: `loop.create_datagram_endpoint` and the datagram transport
//! (`_SelectorDatagramTransport`): `datagram_received`, `error_received`, `sendto`.

use super::socket::TransportSocket;
use super::support::{
    addr_value, call_method, coro, data_arg, exc_value, io_error, io_error_value, opt_bool, opt_int, report,
    resolve_host, this, Lookups, Op, Step,
};
use crate::asyncio::event_loop::{EventLoop, IoHandler, Ready};
use crate::asyncio::future::FutureObj;
use crate::builtins::{bound_native, take_kw};
use crate::modules::params::{bind, Sig};
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};

crate::self_rc!(DatagramTransport);

/// The largest datagram read, as CPython's `max_size`.
const MAX_DATAGRAM: usize = 256 * 1024;

/// A UDP transport.
pub struct DatagramTransport {
    me: Weak<DatagramTransport>,
    lp: Rc<EventLoop>,
    sock: RefCell<Option<mio::net::UdpSocket>>,
    token: Cell<Option<mio::Token>>,
    fd: RawFd,
    proto: RefCell<Value>,
    /// The connected peer (`remote_addr`), if any.
    address: Option<SocketAddr>,
    closing: Cell<bool>,
    conn_lost: Cell<u32>,
    reading: Cell<bool>,
    read_pending: Cell<bool>,
    buf: RefCell<VecDeque<(Rc<[u8]>, Option<SocketAddr>)>>,
    buf_size: Cell<usize>,
    high: Cell<usize>,
    low: Cell<usize>,
    proto_paused: Cell<bool>,
    sockname: Value,
    peername: Value,
    socket: Value,
    /// The script's `socket.socket` this transport came from (`sock=`), closed with it.
    origin: Option<Value>,
}

impl DatagramTransport {
    fn rc(&self) -> Rc<DatagramTransport> {
        self.me.upgrade().expect("a transport method runs on a live transport")
    }

    fn proto_call(&self, vm: &mut Vm, name: &str, args: Vec<Value>) -> Res<()> {
        let p = self.proto.borrow().clone();
        if p.is_none() {
            return Ok(());
        }
        call_method(vm, &p, Sym::new(name), args).map(|_| ())
    }

    /// Reports an error in a protocol callback; KeyboardInterrupt and SystemExit pass.
    fn callback_failed(&self, vm: &mut Vm, e: Exc, what: &str) -> Res<()> {
        let ev = exc_value(vm, e);
        if let Value::Instance(i) = &ev {
            if i.class.is_subclass(vm.exc_class(ExcKind::KeyboardInterrupt))
                || i.class.is_subclass(vm.exc_class(ExcKind::SystemExit))
            {
                return Err(vm.exc_from_value(ev)?);
            }
        }
        report(vm, &format!("Fatal error: protocol.{what}() call failed."), Some(&ev), vec![]);
        self.force_close(ev);
        Ok(())
    }

    fn read_ready(&self, vm: &mut Vm) -> Res<()> {
        if self.conn_lost.get() > 0 {
            return Ok(());
        }
        if !self.reading.get() {
            self.read_pending.set(true);
            return Ok(());
        }
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let r = {
            let sock = self.sock.borrow();
            let Some(s) = sock.as_ref() else { return Ok(()) };
            s.recv_from(&mut buf)
        };
        match r {
            Ok((n, addr)) => {
                // One datagram per callback, as CPython; look again on the next turn.
                let t = self.rc();
                self.lp.call_soon_native(move |vm| t.read_ready(vm));
                buf.truncate(n);
                let data = Value::Bytes(Rc::from(buf));
                if let Err(e) = self.proto_call(vm, "datagram_received", vec![data, addr_value(&addr)]) {
                    return self.callback_failed(vm, e, "datagram_received");
                }
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                let t = self.rc();
                self.lp.call_soon_native(move |vm| t.read_ready(vm));
                Ok(())
            }
            Err(e) => {
                let t = self.rc();
                self.lp.call_soon_native(move |vm| t.read_ready(vm));
                let ev = io_error_value(vm, &e);
                if let Err(e) = self.proto_call(vm, "error_received", vec![ev]) {
                    return self.callback_failed(vm, e, "error_received");
                }
                Ok(())
            }
        }
    }

    fn send_one(&self, data: &[u8], addr: Option<SocketAddr>) -> std::io::Result<()> {
        let sock = self.sock.borrow();
        let Some(s) = sock.as_ref() else { return Ok(()) };
        loop {
            let r = match (self.address, addr) {
                (Some(_), _) => s.send(data),
                (None, Some(a)) => s.send_to(data, a),
                (None, None) => return Err(std::io::Error::from_raw_os_error(89)),
            };
            match r {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    fn sendto(&self, vm: &mut Vm, data: Rc<[u8]>, addr: Option<SocketAddr>) -> Res<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.conn_lost.get() > 0 && self.address.is_some() {
            if self.conn_lost.get() >= 5 {
                vm.write_stderr("socket.send() raised exception.\n");
            }
            self.conn_lost.set(self.conn_lost.get() + 1);
            return Ok(());
        }
        if self.buf.borrow().is_empty() {
            match self.send_one(&data, addr) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => {
                    let ev = io_error_value(vm, &e);
                    if let Err(e) = self.proto_call(vm, "error_received", vec![ev]) {
                        return self.callback_failed(vm, e, "error_received");
                    }
                    return Ok(());
                }
            }
        }
        self.buf_size.set(self.buf_size.get() + data.len());
        self.buf.borrow_mut().push_back((data, addr));
        if self.buf_size.get() > self.high.get() && !self.proto_paused.get() {
            self.proto_paused.set(true);
            if let Err(e) = self.proto_call(vm, "pause_writing", vec![]) {
                let ev = exc_value(vm, e);
                report(vm, "protocol.pause_writing() failed", Some(&ev), vec![]);
            }
        }
        Ok(())
    }

    fn write_ready(&self, vm: &mut Vm) -> Res<()> {
        loop {
            let item = self.buf.borrow_mut().pop_front();
            let Some((data, addr)) = item else { break };
            self.buf_size.set(self.buf_size.get() - data.len());
            match self.send_one(&data, addr) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.buf_size.set(self.buf_size.get() + data.len());
                    self.buf.borrow_mut().push_front((data, addr));
                    break;
                }
                Err(e) => {
                    let ev = io_error_value(vm, &e);
                    if let Err(e) = self.proto_call(vm, "error_received", vec![ev]) {
                        return self.callback_failed(vm, e, "error_received");
                    }
                    return Ok(());
                }
            }
        }
        if self.proto_paused.get() && self.buf_size.get() <= self.low.get() {
            self.proto_paused.set(false);
            if let Err(e) = self.proto_call(vm, "resume_writing", vec![]) {
                let ev = exc_value(vm, e);
                report(vm, "protocol.resume_writing() failed", Some(&ev), vec![]);
            }
        }
        if self.buf.borrow().is_empty() && self.closing.get() && self.conn_lost.get() == 0 {
            self.conn_lost.set(1);
            self.call_connection_lost(vm, Value::None)?;
        }
        Ok(())
    }

    fn close(&self) {
        if self.closing.get() {
            return;
        }
        self.closing.set(true);
        self.reading.set(false);
        if self.buf.borrow().is_empty() {
            self.conn_lost.set(self.conn_lost.get() + 1);
            let t = self.rc();
            self.lp.call_soon_native(move |vm| t.call_connection_lost(vm, Value::None));
        }
    }

    fn force_close(&self, exc: Value) {
        if self.conn_lost.get() > 0 {
            return;
        }
        self.buf.borrow_mut().clear();
        self.buf_size.set(0);
        self.closing.set(true);
        self.reading.set(false);
        self.conn_lost.set(self.conn_lost.get() + 1);
        let t = self.rc();
        self.lp.call_soon_native(move |vm| t.call_connection_lost(vm, exc));
    }

    fn call_connection_lost(&self, vm: &mut Vm, exc: Value) -> Res<()> {
        let p = std::mem::replace(&mut *self.proto.borrow_mut(), Value::None);
        let r =
            if p.is_none() { Ok(()) } else { call_method(vm, &p, Sym::new("connection_lost"), vec![exc]).map(|_| ()) };
        let sock = self.sock.borrow_mut().take();
        if let Some(mut s) = sock {
            if let Some(t) = self.token.take() {
                self.lp.io_deregister(&mut s, t);
            }
        }
        if let Some(o) = &self.origin {
            crate::modules::socket_object::close_value(o);
        }
        r
    }

    /// Turns a script address into a socket address of this socket's family.
    fn addr_arg(&self, vm: &mut Vm, v: &Value) -> Res<Option<SocketAddr>> {
        if v.is_none() {
            return Ok(None);
        }
        let Value::Tuple(t) = v else {
            let r = vm.type_name(v);
            return Err(Exc::type_error(format!("'{r}' object is not subscriptable")));
        };
        if t.len() < 2 {
            return Err(Exc::type_error("AF_INET address must be a pair (host, port)"));
        }
        let v6 = matches!(&self.sockname, Value::Tuple(x) if x.len() == 4);
        let addrs = resolve_host(vm, &t[0], &t[1], false, if v6 { 10 } else { 2 })?;
        Ok(addrs.first().copied())
    }
}

impl IoHandler for DatagramTransport {
    fn io_ready(self: Rc<Self>, vm: &mut Vm, ready: Ready) -> Res<()> {
        if self.sock.borrow().is_none() {
            return Ok(());
        }
        if ready.writable() && !self.buf.borrow().is_empty() {
            self.write_ready(vm)?;
        }
        if ready.readable() {
            self.read_ready(vm)?;
        }
        Ok(())
    }
}

fn dt(a: &Args) -> Res<Rc<DatagramTransport>> {
    this::<DatagramTransport>(a, "DatagramTransport")
}
fn dt_sendto(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = dt(a)?;
    let addr = take_kw(a, "addr").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let d = a.pos.get(1).cloned().unwrap_or(Value::None);
    let data = data_arg(vm, &d)?;
    if data.is_empty() {
        return Ok(Value::None);
    }
    let mut target = t.addr_arg(vm, &addr)?;
    if let Some(remote) = t.address {
        if target.is_some_and(|x| x != remote) {
            let r = vm.repr(&addr_value(&remote))?;
            return Err(Exc::value_error(format!("Invalid address: must be None or {r}")));
        }
        target = Some(remote);
    }
    t.sendto(vm, data, target)?;
    Ok(Value::None)
}
fn dt_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    dt(a)?.close();
    Ok(Value::None)
}
fn dt_abort(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    dt(a)?.force_close(Value::None);
    Ok(Value::None)
}
fn dt_is_closing(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(dt(a)?.closing.get()))
}
fn dt_get_extra_info(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = dt(a)?;
    let default = take_kw(a, "default").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let name = take_kw(a, "name").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    let Value::Str(s) = &name else { return Ok(default) };
    Ok(match s.as_str() {
        "sockname" => t.sockname.clone(),
        "peername" => t.peername.clone(),
        "socket" => t.socket.clone(),
        _ => default,
    })
}
fn dt_get_write_buffer_size(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(dt(a)?.buf_size.get() as i64))
}
fn dt_get_protocol(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(dt(a)?.proto.borrow().clone())
}
fn dt_set_protocol(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = dt(a)?;
    *t.proto.borrow_mut() = a.pos.get(1).cloned().unwrap_or(Value::None);
    Ok(Value::None)
}

impl NativeObject for DatagramTransport {
    fn type_name(&self) -> &'static str {
        "_SelectorDatagramTransport"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "sendto" => ("sendto", dt_sendto as NativeFn),
                "close" => ("close", dt_close as NativeFn),
                "abort" => ("abort", dt_abort as NativeFn),
                "is_closing" => ("is_closing", dt_is_closing as NativeFn),
                "get_extra_info" => ("get_extra_info", dt_get_extra_info as NativeFn),
                "get_write_buffer_size" => ("get_write_buffer_size", dt_get_write_buffer_size as NativeFn),
                "get_protocol" => ("get_protocol", dt_get_protocol as NativeFn),
                "set_protocol" => ("set_protocol", dt_set_protocol as NativeFn),
                _ => return None,
            })
        });
        Ok(f.map(|(n, f)| bound_native(this.clone(), n, f)))
    }
    fn repr(&self) -> String {
        let mut info = vec!["_SelectorDatagramTransport".to_string()];
        if self.sock.borrow().is_none() {
            info.push("closed".into());
        } else if self.closing.get() {
            info.push("closing".into());
        }
        info.push(format!("fd={}", self.fd));
        if self.sock.borrow().is_some() {
            info.push(if self.reading.get() { "read=polling".into() } else { "read=idle".into() });
            let n = self.buf_size.get();
            info.push(format!("write=<{}, bufsize={n}>", if n > 0 { "polling" } else { "idle" }));
        }
        format!("<{}>", info.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The `create_datagram_endpoint` coroutine: resolves the addresses (host names on
/// worker threads), makes the socket, then waits for `connection_made`.
struct Endpoint {
    lp: Rc<EventLoop>,
    factory: Value,
    local: Option<(Value, Value)>,
    remote: Option<(Value, Value)>,
    family: i64,
    reuse_port: bool,
    broadcast: bool,
    lookups: RefCell<Option<Lookups>>,
    sock: RefCell<Option<(socket2::Socket, Option<SocketAddr>)>>,
    /// `sock=`: the script's socket object.
    origin: Option<Value>,
    result: RefCell<Option<(Rc<DatagramTransport>, Value)>>,
    waiting: Cell<bool>,
}

impl Endpoint {
    /// Resolves the addresses and makes the socket as CPython does: one candidate per
    /// address family both addresses have (the family's last address), tried in turn.
    /// `Some(step)` while host names are being looked up.
    fn make_socket(&self, vm: &mut Vm) -> Res<Option<Step>> {
        if self.sock.borrow().is_some() {
            return Ok(None);
        }
        if self.local.is_none() && self.remote.is_none() {
            let s = udp_socket(self.family == 10).map_err(|e| io_error(vm, &e))?;
            *self.sock.borrow_mut() = Some((s, None));
            return Ok(None);
        }
        if self.lookups.borrow().is_none() {
            let targets: Vec<(Value, Value)> = self.local.iter().chain(self.remote.iter()).cloned().collect();
            let l = Lookups::start(vm, &self.lp, &targets, false, self.family, 2)?;
            *self.lookups.borrow_mut() = Some(l);
        }
        let waiter = self.lookups.borrow().as_ref().and_then(Lookups::waiter);
        if let Some(f) = waiter {
            return Ok(Some(Step::Wait(f)));
        }
        let l = self.lookups.borrow_mut().take();
        let mut found = l.map(|l| l.take()).transpose()?.unwrap_or_default().into_iter();
        let locals = if self.local.is_some() { found.next() } else { None };
        let remotes = if self.remote.is_some() { found.next() } else { None };
        // (family, local, remote) in the order the families first appear.
        let mut pairs: Vec<(bool, Option<SocketAddr>, Option<SocketAddr>)> = Vec::new();
        for (idx, list) in [(0, &locals), (1, &remotes)] {
            for a in list.iter().flatten() {
                let i = match pairs.iter().position(|p| p.0 == a.is_ipv6()) {
                    Some(i) => i,
                    None => {
                        pairs.push((a.is_ipv6(), None, None));
                        pairs.len() - 1
                    }
                };
                if idx == 0 {
                    pairs[i].1 = Some(*a);
                } else {
                    pairs[i].2 = Some(*a);
                }
            }
        }
        pairs.retain(|p| !(locals.is_some() && p.1.is_none() || remotes.is_some() && p.2.is_none()));
        if pairs.is_empty() {
            return Err(Exc::value_error("can not get address information"));
        }
        let mut first_error = None;
        for (v6, laddr, raddr) in pairs {
            match self.try_socket(v6, laddr, raddr) {
                Ok(s) => {
                    *self.sock.borrow_mut() = Some((s, raddr));
                    return Ok(None);
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        let e = first_error.unwrap_or_else(|| std::io::Error::from_raw_os_error(22));
        Err(io_error(vm, &e))
    }

    fn try_socket(
        &self,
        v6: bool,
        laddr: Option<SocketAddr>,
        raddr: Option<SocketAddr>,
    ) -> std::io::Result<socket2::Socket> {
        let s = udp_socket(v6)?;
        if self.reuse_port {
            s.set_reuse_port(true)?;
        }
        if self.broadcast {
            s.set_broadcast(true)?;
        }
        if let Some(l) = laddr {
            s.bind(&l.into())?;
        }
        if let Some(r) = raddr {
            if !self.broadcast {
                s.connect(&r.into())?;
            }
        }
        Ok(s)
    }
}

/// A non-blocking, close-on-exec UDP socket.
fn udp_socket(v6: bool) -> std::io::Result<socket2::Socket> {
    let domain = if v6 { socket2::Domain::IPV6 } else { socket2::Domain::IPV4 };
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM.cloexec(), Some(socket2::Protocol::UDP))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

impl Op for Endpoint {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if self.waiting.get() {
            let r = self.result.borrow_mut().take();
            return Ok(Step::Done(match r {
                Some((t, p)) => Value::tuple(vec![Value::Other(t), p]),
                None => Value::None,
            }));
        }
        if let Some(step) = self.make_socket(vm)? {
            return Ok(step);
        }
        let Some((s, remote)) = self.sock.borrow_mut().take() else { return Ok(Step::Done(Value::None)) };
        let protocol = vm.call(&self.factory, vec![])?;
        let local = s.local_addr().ok().and_then(|a| a.as_socket());
        let peer = s.peer_addr().ok().and_then(|a| a.as_socket());
        let family = if local.is_some_and(|a| a.is_ipv6()) { 10 } else { 2 };
        let sockname = local.as_ref().map(addr_value).unwrap_or(Value::None);
        let peername = peer.as_ref().map(addr_value).unwrap_or(Value::None);
        let address = if remote.is_some() { peer.or(remote) } else { None };
        let fd = s.as_raw_fd();
        let socket = TransportSocket::value(fd, family, 2, 17, sockname.clone(), peername.clone());
        let mut udp = mio::net::UdpSocket::from_std(std::net::UdpSocket::from(s));
        let t = Rc::new_cyclic(|me| DatagramTransport {
            me: me.clone(),
            lp: self.lp.clone(),
            sock: RefCell::new(None),
            token: Cell::new(None),
            fd,
            proto: RefCell::new(protocol.clone()),
            address,
            closing: Cell::new(false),
            conn_lost: Cell::new(0),
            reading: Cell::new(false),
            read_pending: Cell::new(false),
            buf: RefCell::default(),
            buf_size: Cell::new(0),
            high: Cell::new(64 * 1024),
            low: Cell::new(16 * 1024),
            proto_paused: Cell::new(false),
            sockname,
            peername,
            socket,
            origin: self.origin.clone(),
        });
        let tok = self
            .lp
            .io_register(&mut udp, mio::Interest::READABLE | mio::Interest::WRITABLE, t.clone())
            .map_err(|e| io_error(vm, &e))?;
        t.token.set(Some(tok));
        *t.sock.borrow_mut() = Some(udp);
        let t1 = t.clone();
        self.lp.call_soon_native(move |vm| {
            let p = t1.proto.borrow().clone();
            call_method(vm, &p, Sym::new("connection_made"), vec![Value::Other(t1.clone())]).map(|_| ())
        });
        let t2 = t.clone();
        self.lp.call_soon_native(move |_vm| {
            if !t2.closing.get() {
                t2.reading.set(true);
                if t2.read_pending.replace(false) {
                    let t3 = t2.clone();
                    t2.lp.call_soon_native(move |vm| t3.read_ready(vm));
                }
            }
            Ok(())
        });
        let waiter = FutureObj::new(&self.lp, None);
        let w = waiter.clone();
        self.lp.call_soon_native(move |_vm| {
            if !w.done() {
                let _ = w.set_result(Value::None);
            }
            Ok(())
        });
        *self.result.borrow_mut() = Some((t, protocol));
        self.waiting.set(true);
        Ok(Step::Wait(waiter))
    }
    fn abort(&self, _vm: &mut Vm) {
        if let Some((t, _)) = self.result.borrow_mut().take() {
            t.close();
        }
    }
    fn qualname(&self) -> &'static str {
        "BaseEventLoop.create_datagram_endpoint"
    }
}

fn pair_arg(vm: &mut Vm, v: &Option<Value>) -> Res<Option<(Value, Value)>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Tuple(t)) if t.len() == 2 => Ok(Some((t[0].clone(), t[1].clone()))),
        Some(_) => {
            let _ = vm;
            Err(Exc::type_error("2-tuple is expected"))
        }
    }
}

/// `loop.create_datagram_endpoint(protocol_factory, local_addr=None, remote_addr=None, *,
/// family=0, proto=0, flags=0, reuse_address=_unset, reuse_port=None, allow_broadcast=None,
/// sock=None)`.
pub fn create_datagram_endpoint(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.create_datagram_endpoint()")?;
    let b = bind(
        a,
        &Sig {
            name: "create_datagram_endpoint",
            params: &["protocol_factory", "local_addr", "remote_addr"],
            required: 1,
            kwonly: &["family", "proto", "flags", "reuse_address", "reuse_port", "allow_broadcast", "sock"],
        },
    )?;
    Ok(super::support::deferred("BaseEventLoop.create_datagram_endpoint", create_datagram_endpoint_bound(vm, lp, b)))
}

/// The part of `create_datagram_endpoint` that CPython runs inside the coroutine: its errors are raised by
/// the `await`.
fn create_datagram_endpoint_bound(vm: &mut Vm, lp: &Rc<EventLoop>, b: Vec<Option<Value>>) -> Res<Value> {
    let factory = b[0].clone().unwrap_or(Value::None);
    let mut ep = Endpoint {
        lp: lp.clone(),
        factory,
        local: None,
        remote: None,
        family: 0,
        reuse_port: false,
        broadcast: false,
        lookups: RefCell::new(None),
        sock: RefCell::new(None),
        origin: None,
        result: RefCell::new(None),
        waiting: Cell::new(false),
    };
    if let Some(sock) = b[9].clone().filter(|v| !v.is_none()) {
        if crate::modules::socket_object::family_of(&sock) == Some(1) {
            return Err(Exc::value_error("aio has no datagram transport for AF_UNIX sockets"));
        }
        let s = crate::modules::socket_object::lend(vm, &sock, None, 2, "A UDP Socket")?;
        let names =
            ["local_addr", "remote_addr", "family", "proto", "flags", "reuse_address", "reuse_port", "allow_broadcast"];
        let mut problems = Vec::new();
        for (name, v) in names.iter().zip([&b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7], &b[8]]) {
            if let Some(v) = v {
                if vm.truthy(v)? {
                    problems.push(format!("{name}={}", vm.str_of(v)?));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Exc::value_error(format!(
                "socket modifier keyword arguments can not be used when sock is specified. ({})",
                problems.join(", ")
            )));
        }
        *ep.sock.borrow_mut() = Some((s, None));
        ep.origin = Some(sock);
        return Ok(coro(ep));
    }
    ep.local = pair_arg(vm, &b[1])?;
    ep.remote = pair_arg(vm, &b[2])?;
    ep.family = opt_int(vm, &b[3])?.unwrap_or(0);
    ep.reuse_port = opt_bool(vm, &b[7])?.unwrap_or(false);
    ep.broadcast = opt_bool(vm, &b[8])?.unwrap_or(false);
    if ep.local.is_none() && ep.remote.is_none() && ep.family == 0 {
        return Err(Exc::value_error("unexpected address family"));
    }
    if opt_bool(vm, &b[6])? == Some(true) {
        return Err(Exc::value_error(
            "Passing `reuse_address=True` is no longer supported, as the usage of SO_REUSEPORT in UDP poses a significant security concern.",
        ));
    }
    Ok(coro(ep))
}
