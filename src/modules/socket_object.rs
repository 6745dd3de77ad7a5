//! `socket.socket` and `socket.socketpair`: BSD sockets as CPython's `socket` module
//! gives them (`bind`, `listen`, `accept`, `connect`, `send`/`recv`, blocking, non-blocking
//! and timeout modes, options, `detach`), so scripts can make the listening or connected
//! sockets that asyncio's `sock=` arguments take ([`lend`]).
//!
//! A blocking call blocks the thread, as in CPython. Timeouts (`settimeout(x)`) use the
//! kernel's `SO_RCVTIMEO`/`SO_SNDTIMEO` (and a timed `connect`) on a blocking socket,
//! where CPython polls a non-blocking one: the same `TimeoutError('timed out')` results.
//! Host names in addresses are resolved on the calling thread, as CPython does.

use crate::asyncio::net::support::{addr_value, io_error, this};
use crate::builtins::bound_native;
use crate::modules::fds::FdOwner;
use crate::modules::socket::{gai_error, getaddrinfo, Service, AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOCK_STREAM};
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Layout};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Value, Vm};
use socket2::{SockAddr, Socket};
use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::Duration;

const SOCK_NONBLOCK: i32 = 2048;
const SOCK_CLOEXEC: i32 = 524_288;
const MSG_PEEK: i32 = 2;

/// A `socket.socket` object.
pub struct SocketObj {
    me: Weak<SocketObj>,
    family: i32,
    stype: i32,
    proto: i32,
    sock: RefCell<Option<Socket>>,
    /// The descriptor while open (`fileno()`), else -1.
    fd: Cell<RawFd>,
    /// `None`: blocking; `Some(0.0)`: non-blocking; `Some(t)`: timeout of `t` seconds.
    timeout: Cell<Option<f64>>,
}

crate::self_rc!(SocketObj);

impl FdOwner for SocketObj {
    fn with_fd(&self, f: &mut dyn FnMut(BorrowedFd<'_>)) -> bool {
        match self.sock.try_borrow().ok().as_ref().and_then(|s| s.as_ref()) {
            Some(s) => {
                f(s.as_fd());
                true
            }
            None => false,
        }
    }
    fn close_fd(&self) -> bool {
        let had = self.sock.try_borrow_mut().ok().and_then(|mut s| s.take()).is_some();
        self.fd.set(-1);
        had
    }
}

impl SocketObj {
    /// Wraps an OS socket (registered so `os` functions reach it by number).
    fn wrap(s: Socket, family: i32, stype: i32, proto: i32, timeout: Option<f64>) -> Rc<SocketObj> {
        let fd = s.as_raw_fd();
        let obj = Rc::new_cyclic(|me| SocketObj {
            me: me.clone(),
            family,
            stype,
            proto,
            sock: RefCell::new(Some(s)),
            fd: Cell::new(fd),
            timeout: Cell::new(timeout),
        });
        let weak: Weak<dyn FdOwner> = Rc::downgrade(&obj) as Weak<SocketObj>;
        crate::modules::fds::hold(fd, weak);
        obj
    }

    /// Runs `f` on the open socket, or fails with `EBADF` as a closed socket does.
    fn with<R>(&self, vm: &mut Vm, f: impl FnOnce(&Socket) -> std::io::Result<R>) -> Res<R> {
        let r = match &*self.sock.borrow() {
            Some(s) => f(s),
            None => Err(std::io::Error::from_raw_os_error(9)),
        };
        r.map_err(|e| self.error(vm, &e))
    }

    /// The exception for a failed call: `TimeoutError('timed out')` when a timeout ran out.
    fn error(&self, vm: &mut Vm, e: &std::io::Error) -> Exc {
        let timed = matches!(self.timeout.get(), Some(t) if t > 0.0);
        if timed && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
            return Exc::new(ExcKind::TimeoutError, "timed out");
        }
        io_error(vm, e)
    }

    /// Applies a timeout mode to the OS socket.
    fn apply_timeout(s: &Socket, t: Option<f64>) -> std::io::Result<()> {
        let dur = t.filter(|t| *t > 0.0).map(Duration::from_secs_f64);
        s.set_nonblocking(t == Some(0.0))?;
        s.set_read_timeout(dur)?;
        s.set_write_timeout(dur)
    }

    /// Closes the socket (idempotent).
    fn close(&self) {
        self.sock.borrow_mut().take();
        self.fd.set(-1);
    }
}

// ---------------------------------------------------------------- addresses

fn host_of(vm: &mut Vm, v: &Value) -> Res<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::ByteArray(b) => Ok(String::from_utf8_lossy(&b.borrow()).into_owned()),
        other => {
            let t = vm.type_name(other);
            Err(Exc::type_error(format!("str, bytes or bytearray expected, not {t}")))
        }
    }
}

/// An IP address for a host string, CPython's `setipaddr`: `''` is the wildcard,
/// `'<broadcast>'` the broadcast address, a numeric address itself, a name resolved
/// (blocking, as CPython).
fn ip_of(vm: &mut Vm, host: &str, family: i32) -> Res<std::net::IpAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    if host.is_empty() {
        return Ok(if family == AF_INET6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        });
    }
    if host == "<broadcast>" && family == AF_INET {
        return Ok(IpAddr::V4(Ipv4Addr::BROADCAST));
    }
    let infos = getaddrinfo(Some(host), &Service::Port(0), family, 0, 0, 0).map_err(|e| gai_error(vm, &e))?;
    Ok(infos[0].addr.ip())
}

/// A script address for this socket's family, CPython's `getsockaddrarg`.
fn sockaddr_arg(vm: &mut Vm, family: i32, v: &Value, caller: &str) -> Res<SockAddr> {
    match family {
        AF_UNIX => {
            let path = match v {
                Value::Str(s) => s.as_str().as_bytes().to_vec(),
                Value::Bytes(b) => b.to_vec(),
                Value::ByteArray(b) => b.borrow().clone(),
                Value::Instance(_) => crate::asyncio::net::path_arg(vm, v)?.into_bytes(),
                other => {
                    let t = vm.type_name(other);
                    return Err(Exc::type_error(format!("a bytes-like object is required, not '{t}'")));
                }
            };
            if path.len() >= 108 {
                return Err(Exc::new(ExcKind::OSError, "AF_UNIX path too long"));
            }
            use std::os::unix::ffi::OsStrExt;
            SockAddr::unix(std::ffi::OsStr::from_bytes(&path)).map_err(|e| io_error(vm, &e))
        }
        AF_INET | AF_INET6 => {
            let Value::Tuple(t) = v else {
                let t = vm.type_name(v);
                let fam = if family == AF_INET { "AF_INET" } else { "AF_INET6" };
                return Err(Exc::type_error(format!("{caller}(): {fam} address must be tuple, not {t}")));
            };
            if family == AF_INET && t.len() != 2 {
                return Err(Exc::type_error("AF_INET address must be a pair (host, port)"));
            }
            if family == AF_INET6 && !(2..=4).contains(&t.len()) {
                return Err(Exc::type_error("AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])"));
            }
            let host = host_of(vm, &t[0])?;
            let port = vm.index_value(&t[1])?;
            if !(0..=65535).contains(&port) {
                return Err(Exc::new(ExcKind::OverflowError, format!("{caller}(): port must be 0-65535.")));
            }
            let ip = ip_of(vm, &host, family)?;
            Ok(match ip {
                std::net::IpAddr::V4(v4) => SockAddr::from(std::net::SocketAddrV4::new(v4, port as u16)),
                std::net::IpAddr::V6(v6) => {
                    let flow = match t.get(2) {
                        Some(f) => vm.index_value(f)?,
                        None => 0,
                    };
                    if !(0..=0xfffff).contains(&flow) {
                        return Err(Exc::new(
                            ExcKind::OverflowError,
                            format!("{caller}(): flowinfo must be 0-1048575."),
                        ));
                    }
                    let scope = match t.get(3) {
                        Some(s) => vm.index_value(s)?,
                        None => 0,
                    };
                    SockAddr::from(std::net::SocketAddrV6::new(v6, port as u16, flow as u32, scope as u32))
                }
            })
        }
        _ => Err(Exc::new(ExcKind::OSError, format!("{caller}(): bad family"))),
    }
}

/// A socket address as CPython shows it: `(host, port)`, `(host, port, flowinfo,
/// scope_id)`, a Unix path (`''` unnamed, bytes for an abstract name).
pub fn sockaddr_value(a: &SockAddr) -> Value {
    if let Some(sa) = a.as_socket() {
        return addr_value(&sa);
    }
    if let Some(p) = a.as_pathname() {
        return Value::string(p.to_string_lossy().into_owned());
    }
    if let Some(name) = a.as_abstract_namespace() {
        let mut b = vec![0u8];
        b.extend_from_slice(name);
        return Value::Bytes(b.into());
    }
    if a.is_unix() {
        return Value::str("");
    }
    Value::None
}

// ---------------------------------------------------------------- construction

fn int_or(vm: &mut Vm, v: Option<Value>, default: i64) -> Res<i64> {
    match v {
        None | Some(Value::None) => Ok(default),
        Some(x) => vm.index_value(&x),
    }
}

/// `socket.socket(family=AF_INET, type=SOCK_STREAM, proto=0, fileno=None)`.
fn socket_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = crate::modules::params::bind(
        a,
        &crate::modules::params::Sig {
            name: "socket",
            params: &["cls", "family", "type", "proto", "fileno"],
            required: 1,
            kwonly: &[],
        },
    )?;
    let family = match int_or(vm, b[1].clone(), -1)? {
        -1 => AF_INET as i64,
        f => f,
    };
    let stype = match int_or(vm, b[2].clone(), -1)? {
        -1 => SOCK_STREAM as i64,
        t => t,
    };
    let proto = match int_or(vm, b[3].clone(), -1)? {
        -1 => 0,
        p => p,
    };
    if !matches!(b[4], None | Some(Value::None)) {
        return Err(Exc::value_error("aio cannot wrap an existing descriptor: socket(fileno=...) is not available"));
    }
    let (family, stype, proto) = (family as i32, stype as i32, proto as i32);
    let base = stype & !(SOCK_NONBLOCK | SOCK_CLOEXEC);
    let ty = socket2::Type::from(base).cloexec();
    let proto_arg = (proto != 0).then(|| socket2::Protocol::from(proto));
    let s = Socket::new(socket2::Domain::from(family), ty, proto_arg).map_err(|e| io_error(vm, &e))?;
    let timeout = if stype & SOCK_NONBLOCK != 0 {
        s.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
        Some(0.0)
    } else {
        None
    };
    Ok(Value::Other(SocketObj::wrap(s, family, base, proto, timeout)))
}

/// `socket.socketpair(family=AF_UNIX, type=SOCK_STREAM, proto=0)`.
fn socketpair(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = crate::modules::params::bind(
        a,
        &crate::modules::params::Sig {
            name: "socketpair",
            params: &["family", "type", "proto"],
            required: 0,
            kwonly: &[],
        },
    )?;
    let family = int_or(vm, b[0].clone(), AF_UNIX as i64)? as i32;
    let stype = int_or(vm, b[1].clone(), SOCK_STREAM as i64)? as i32;
    let proto = int_or(vm, b[2].clone(), 0)? as i32;
    let base = stype & !(SOCK_NONBLOCK | SOCK_CLOEXEC);
    let proto_arg = (proto != 0).then(|| socket2::Protocol::from(proto));
    let (x, y) = Socket::pair(socket2::Domain::from(family), socket2::Type::from(base).cloexec(), proto_arg)
        .map_err(|e| io_error(vm, &e))?;
    let mk = |s: Socket| Value::Other(SocketObj::wrap(s, family, base, proto, None));
    Ok(Value::tuple(vec![mk(x), mk(y)]))
}

// ---------------------------------------------------------------- methods

fn me(a: &Args) -> Res<Rc<SocketObj>> {
    this::<SocketObj>(a, "socket")
}

fn s_fileno(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(me(a)?.fd.get() as i64))
}

fn s_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    me(a)?.close();
    Ok(Value::None)
}

fn s_detach(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = me(a)?;
    let taken = s.sock.borrow_mut().take();
    s.fd.set(-1);
    Ok(Value::Int(match taken {
        Some(sock) => crate::modules::fds::adopt(sock.into()) as i64,
        None => -1,
    }))
}

fn s_bind(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("bind", a, 2, 2)?;
    let s = me(a)?;
    let addr = sockaddr_arg(vm, s.family, &a.pos[1].clone(), "bind")?;
    s.with(vm, |x| x.bind(&addr))?;
    Ok(Value::None)
}

fn s_listen(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("listen", a, 1, 2)?;
    let s = me(a)?;
    let backlog = match a.pos.get(1).cloned() {
        Some(v) => vm.index_value(&v)?.clamp(0, i32::MAX as i64) as i32,
        None => 128,
    };
    s.with(vm, |x| x.listen(backlog))?;
    Ok(Value::None)
}

/// `connect` / `connect_ex`: `Err` with the OS error.
fn do_connect(vm: &mut Vm, s: &SocketObj, addr_v: &Value, caller: &str) -> Res<std::io::Result<()>> {
    let addr = sockaddr_arg(vm, s.family, addr_v, caller)?;
    let r = match &*s.sock.borrow() {
        None => Err(std::io::Error::from_raw_os_error(9)),
        Some(x) => match s.timeout.get() {
            Some(t) if t > 0.0 => x.connect_timeout(&addr, Duration::from_secs_f64(t)),
            _ => x.connect(&addr),
        },
    };
    Ok(r)
}

fn s_connect(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("connect", a, 2, 2)?;
    let s = me(a)?;
    match do_connect(vm, &s, &a.pos[1].clone(), "connect")? {
        Ok(()) => Ok(Value::None),
        Err(e) => Err(s.error(vm, &e)),
    }
}

fn s_connect_ex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("connect_ex", a, 2, 2)?;
    let s = me(a)?;
    match do_connect(vm, &s, &a.pos[1].clone(), "connect_ex")? {
        Ok(()) => Ok(Value::Int(0)),
        Err(e) if e.kind() == ErrorKind::TimedOut => Ok(Value::Int(11)),
        Err(e) => Ok(Value::Int(e.raw_os_error().unwrap_or(0) as i64)),
    }
}

fn s_accept(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("accept", a, 1, 1)?;
    let s = me(a)?;
    let (sock, addr) = s.with(vm, |x| x.accept())?;
    // CPython: the new socket is blocking unless a default timeout is set.
    sock.set_nonblocking(false).map_err(|e| io_error(vm, &e))?;
    let obj = SocketObj::wrap(sock, s.family, s.stype, s.proto, None);
    Ok(Value::tuple(vec![Value::Other(obj), sockaddr_value(&addr)]))
}

fn s_getsockname(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = me(a)?;
    let addr = s.with(vm, |x| x.local_addr())?;
    Ok(sockaddr_value(&addr))
}

fn s_getpeername(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = me(a)?;
    let addr = s.with(vm, |x| x.peer_addr())?;
    Ok(sockaddr_value(&addr))
}

fn size_arg(vm: &mut Vm, a: &Args, i: usize, what: &str) -> Res<usize> {
    let n = vm.index_value(&a.pos[i].clone())?;
    if n < 0 {
        return Err(Exc::value_error(format!("negative buffersize in {what}")));
    }
    Ok(n as usize)
}

fn flags_arg(vm: &mut Vm, a: &Args, i: usize) -> Res<i32> {
    match a.pos.get(i).cloned() {
        Some(v) => Ok(vm.index_value(&v)? as i32),
        None => Ok(0),
    }
}

/// Reads up to `n` bytes: `flags` 0, or `MSG_PEEK` on a TCP or UDP socket.
fn receive(vm: &mut Vm, s: &SocketObj, n: usize, flags: i32) -> Res<(Vec<u8>, Option<Value>)> {
    let mut buf: Vec<u8> = crate::vm::mem::vec_with_capacity(n)?;
    buf.resize(n, 0);
    let inet = matches!(s.family, AF_INET | AF_INET6);
    let r = match (flags, s.stype) {
        (0, SOCK_DGRAM) if inet => s.with(vm, |x| {
            let udp = std::net::UdpSocket::from(x.try_clone()?);
            udp.recv_from(&mut buf).map(|(k, from)| (k, Some(addr_value(&from))))
        }),
        (0, SOCK_DGRAM) if s.family == AF_UNIX => s.with(vm, |x| {
            let d = std::os::unix::net::UnixDatagram::from(x.try_clone()?);
            d.recv_from(&mut buf).map(|(k, from)| {
                let name = from.as_pathname().map(|p| Value::string(p.to_string_lossy().into_owned()));
                (k, name)
            })
        }),
        (0, _) => s.with(vm, |mut x| loop {
            match x.read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                r => break r.map(|k| (k, None)),
            }
        }),
        (MSG_PEEK, SOCK_STREAM) if inet => s.with(vm, |x| {
            let tcp = std::net::TcpStream::from(x.try_clone()?);
            tcp.peek(&mut buf).map(|k| (k, None))
        }),
        (MSG_PEEK, SOCK_DGRAM) if inet => s.with(vm, |x| {
            let udp = std::net::UdpSocket::from(x.try_clone()?);
            udp.peek_from(&mut buf).map(|(k, from)| (k, Some(addr_value(&from))))
        }),
        _ => {
            return Err(Exc::value_error(format!(
                "aio supports recv() flags 0 and MSG_PEEK (TCP, UDP) only, not {flags}"
            )))
        }
    };
    let (k, from) = r?;
    buf.truncate(k);
    Ok((buf, from))
}

fn s_recv(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("recv", a, 2, 3)?;
    let s = me(a)?;
    let n = size_arg(vm, a, 1, "recv")?;
    let flags = flags_arg(vm, a, 2)?;
    let (data, _) = receive(vm, &s, n, flags)?;
    Ok(Value::Bytes(data.into()))
}

fn s_recvfrom(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("recvfrom", a, 2, 3)?;
    let s = me(a)?;
    let n = size_arg(vm, a, 1, "recvfrom")?;
    let flags = flags_arg(vm, a, 2)?;
    let (data, from) = receive(vm, &s, n, flags)?;
    Ok(Value::tuple(vec![Value::Bytes(data.into()), from.unwrap_or(Value::None)]))
}

fn data_of(vm: &mut Vm, v: &Value) -> Res<Rc<[u8]>> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        Value::ByteArray(b) => Ok(b.borrow().as_slice().into()),
        other if &*vm.type_name(other) == "memoryview" => Ok(vm.bytes_like(other)?.into()),
        other => {
            let t = vm.type_name(other);
            Err(Exc::type_error(format!("a bytes-like object is required, not '{t}'")))
        }
    }
}

/// `send` flags: `MSG_NOSIGNAL` always (a closed peer is `EPIPE`, never a signal).
fn send_flags(flags: i32) -> i32 {
    flags | 0x4000
}

fn s_send(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("send", a, 2, 3)?;
    let s = me(a)?;
    let data = data_of(vm, &a.pos[1].clone())?;
    let flags = send_flags(flags_arg(vm, a, 2)?);
    let n = s.with(vm, |x| loop {
        match x.send_with_flags(&data, flags) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            r => break r,
        }
    })?;
    Ok(Value::Int(n as i64))
}

fn s_sendall(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("sendall", a, 2, 3)?;
    let s = me(a)?;
    let data = data_of(vm, &a.pos[1].clone())?;
    let flags = send_flags(flags_arg(vm, a, 2)?);
    s.with(vm, |x| {
        let mut off = 0;
        while off < data.len() {
            match x.send_with_flags(&data[off..], flags) {
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })?;
    Ok(Value::None)
}

fn s_sendto(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("sendto", a, 3, 4)?;
    let s = me(a)?;
    let data = data_of(vm, &a.pos[1].clone())?;
    let (flags, addr_v) =
        if a.pos.len() == 4 { (flags_arg(vm, a, 2)?, a.pos[3].clone()) } else { (0, a.pos[2].clone()) };
    let addr = sockaddr_arg(vm, s.family, &addr_v, "sendto")?;
    let n = s.with(vm, |x| x.send_to_with_flags(&data, &addr, send_flags(flags)))?;
    Ok(Value::Int(n as i64))
}

fn s_shutdown(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("shutdown", a, 2, 2)?;
    let s = me(a)?;
    let how = match vm.index_value(&a.pos[1].clone())? {
        0 => std::net::Shutdown::Read,
        1 => std::net::Shutdown::Write,
        2 => std::net::Shutdown::Both,
        _ => return Err(io_error(vm, &std::io::Error::from_raw_os_error(22))),
    };
    s.with(vm, |x| x.shutdown(how))?;
    Ok(Value::None)
}

fn set_timeout(vm: &mut Vm, s: &SocketObj, t: Option<f64>) -> Res<()> {
    s.with(vm, |x| SocketObj::apply_timeout(x, t))?;
    s.timeout.set(t);
    Ok(())
}

fn s_setblocking(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("setblocking", a, 2, 2)?;
    let s = me(a)?;
    let flag = vm.index_value(&a.pos[1].clone())? != 0;
    set_timeout(vm, &s, if flag { None } else { Some(0.0) })?;
    Ok(Value::None)
}

fn s_getblocking(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(me(a)?.timeout.get() != Some(0.0)))
}

fn s_settimeout(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("settimeout", a, 2, 2)?;
    let s = me(a)?;
    let t = match &a.pos[1] {
        Value::None => None,
        Value::Float(f) => Some(*f),
        other => Some(vm.index_value(other)? as f64),
    };
    if let Some(t) = t {
        if t.is_nan() || t < 0.0 {
            return Err(Exc::value_error("Timeout value out of range"));
        }
        if t > 1e12 {
            return Err(Exc::new(ExcKind::OverflowError, "timestamp out of range for platform time_t"));
        }
    }
    set_timeout(vm, &s, t)?;
    Ok(Value::None)
}

fn s_gettimeout(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(me(a)?.timeout.get().map(Value::Float).unwrap_or(Value::None))
}

/// `setsockopt(level, option, value)` for the options the `socket` module names.
fn s_setsockopt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("setsockopt", a, 4, 4)?;
    let s = me(a)?;
    let level = vm.index_value(&a.pos[1].clone())?;
    let opt = vm.index_value(&a.pos[2].clone())?;
    let v = vm.index_value(&a.pos[3].clone())?;
    let on = v != 0;
    s.with(vm, |x| match (level, opt) {
        (1, 2) => x.set_reuse_address(on),
        (1, 15) => x.set_reuse_port(on),
        (1, 6) => x.set_broadcast(on),
        (1, 9) => x.set_keepalive(on),
        (1, 8) => x.set_recv_buffer_size(v.max(0) as usize),
        (1, 7) => x.set_send_buffer_size(v.max(0) as usize),
        (6, 1) => x.set_tcp_nodelay(on),
        (41, 26) => x.set_only_v6(on),
        (0, 2) => x.set_ttl_v4(v.max(0) as u32),
        _ => Err(std::io::Error::from_raw_os_error(92)),
    })?;
    Ok(Value::None)
}

/// `getsockopt(level, option)` for the options the `socket` module names.
fn s_getsockopt(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("getsockopt", a, 3, 3)?;
    let s = me(a)?;
    let level = vm.index_value(&a.pos[1].clone())?;
    let opt = vm.index_value(&a.pos[2].clone())?;
    let stype = s.stype as i64;
    let n = s.with(vm, |x| -> std::io::Result<i64> {
        Ok(match (level, opt) {
            (1, 2) => x.reuse_address()? as i64,
            (1, 15) => x.reuse_port()? as i64,
            (1, 6) => x.broadcast()? as i64,
            (1, 9) => x.keepalive()? as i64,
            (1, 8) => x.recv_buffer_size()? as i64,
            (1, 7) => x.send_buffer_size()? as i64,
            (1, 3) => stype,
            (1, 4) => x.take_error()?.and_then(|e| e.raw_os_error()).unwrap_or(0) as i64,
            (6, 1) => x.tcp_nodelay()? as i64,
            (41, 26) => x.only_v6()? as i64,
            (0, 2) => x.ttl_v4()? as i64,
            _ => return Err(std::io::Error::from_raw_os_error(92)),
        })
    })?;
    Ok(Value::Int(n))
}

fn s_enter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(a.pos[0].clone())
}

fn s_exit(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    me(a)?.close();
    Ok(Value::None)
}

impl NativeObject for SocketObj {
    fn type_name(&self) -> &'static str {
        "socket"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "accept" => ("accept", s_accept as NativeFn),
                "bind" => ("bind", s_bind as NativeFn),
                "close" => ("close", s_close as NativeFn),
                "connect" => ("connect", s_connect as NativeFn),
                "connect_ex" => ("connect_ex", s_connect_ex as NativeFn),
                "detach" => ("detach", s_detach as NativeFn),
                "fileno" => ("fileno", s_fileno as NativeFn),
                "getpeername" => ("getpeername", s_getpeername as NativeFn),
                "getsockname" => ("getsockname", s_getsockname as NativeFn),
                "getsockopt" => ("getsockopt", s_getsockopt as NativeFn),
                "setsockopt" => ("setsockopt", s_setsockopt as NativeFn),
                "listen" => ("listen", s_listen as NativeFn),
                "recv" => ("recv", s_recv as NativeFn),
                "recvfrom" => ("recvfrom", s_recvfrom as NativeFn),
                "send" => ("send", s_send as NativeFn),
                "sendall" => ("sendall", s_sendall as NativeFn),
                "sendto" => ("sendto", s_sendto as NativeFn),
                "setblocking" => ("setblocking", s_setblocking as NativeFn),
                "getblocking" => ("getblocking", s_getblocking as NativeFn),
                "settimeout" => ("settimeout", s_settimeout as NativeFn),
                "gettimeout" => ("gettimeout", s_gettimeout as NativeFn),
                "shutdown" => ("shutdown", s_shutdown as NativeFn),
                "__enter__" => ("__enter__", s_enter as NativeFn),
                "__exit__" => ("__exit__", s_exit as NativeFn),
                _ => return None,
            })
        });
        if let Some((n, f)) = f {
            return Ok(Some(bound_native(this.clone(), n, f)));
        }
        Ok(name.with_str(|s| match s {
            "family" => Some(Value::Int(self.family as i64)),
            "type" => Some(Value::Int(self.stype as i64)),
            "proto" => Some(Value::Int(self.proto as i64)),
            "timeout" => Some(self.timeout.get().map(Value::Float).unwrap_or(Value::None)),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        let open = self.sock.borrow();
        let closed = if open.is_none() { " [closed]" } else { "" };
        let mut s = format!(
            "<socket.socket{closed} fd={}, family={}, type={}, proto={}",
            self.fd.get(),
            self.family,
            self.stype,
            self.proto
        );
        if let Some(x) = &*open {
            for (label, addr) in [("laddr", x.local_addr()), ("raddr", x.peer_addr())] {
                let Ok(addr) = addr else { continue };
                let text = match sockaddr_value(&addr) {
                    Value::Str(p) if p.as_str().is_empty() => continue,
                    Value::Str(p) => p.as_str().to_string(),
                    Value::Tuple(t) => tuple_text(&t),
                    Value::Bytes(b) => format!("{:?}", String::from_utf8_lossy(&b)),
                    _ => continue,
                };
                s.push_str(&format!(", {label}={text}"));
            }
        }
        s.push('>');
        s
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `str()` of an address tuple of strings and ints: `('127.0.0.1', 8000)`.
fn tuple_text(t: &[Value]) -> String {
    let parts: Vec<String> = t
        .iter()
        .map(|x| match x {
            Value::Str(s) => crate::vm::repr_str(s.as_str()),
            Value::Int(i) => i.to_string(),
            _ => String::new(),
        })
        .collect();
    format!("({})", parts.join(", "))
}

// ---------------------------------------------------------------- for asyncio

/// `sock=` of the loop's connection and server calls: checks the socket as CPython does
/// (`A Stream Socket was expected, got <socket...>`), makes it non-blocking as
/// `sock.setblocking(False)` does, and returns a duplicate descriptor for the transport
/// or server to own. The script's object stays open until [`close_value`] (called when
/// the transport or server closes), as CPython closes the socket it was given.
pub fn lend(vm: &mut Vm, v: &Value, family: Option<i32>, stype: i32, what: &str) -> Res<Socket> {
    let Some(s) = crate::asyncio::net::support::downcast_value::<SocketObj>(v) else {
        let t = vm.type_name(v);
        return Err(Exc::attribute_error(format!("'{t}' object has no attribute 'type'")));
    };
    if s.stype != stype || family.is_some_and(|f| f != s.family) {
        return Err(Exc::value_error(format!("{what} was expected, got {}", s.repr())));
    }
    set_timeout(vm, &s, Some(0.0))?;
    s.with(vm, |x| x.try_clone())
}

/// The family of a `socket.socket` value, if it is one.
pub fn family_of(v: &Value) -> Option<i32> {
    crate::asyncio::net::support::downcast_value::<SocketObj>(v).map(|s| s.family)
}

/// Closes a `socket.socket` value (the transport or server it was lent to has closed).
pub fn close_value(v: &Value) {
    if let Some(s) = crate::asyncio::net::support::downcast_value::<SocketObj>(v) {
        s.close();
    }
}

/// Adds `socket`, `SocketType` (its base class) and `socketpair` to the module.
pub fn install(vm: &mut Vm, m: &crate::vm::value::Module) {
    let object = vm.type_class(crate::vm::TypeId::Object).clone();
    let class_of = |bases: Vec<Rc<Class>>, mro: Vec<Rc<Class>>| {
        Rc::new(Class {
            name: Rc::from("socket"),
            qualname: RefCell::new(Rc::from("socket")),
            bases,
            mro,
            dict: RefCell::default(),
            layout: Layout::Builtin,
            builtin: None,
            version: Cell::new(0),
            cache: Default::default(),
            tp_name: Default::default(),
        })
    };
    // `socket.SocketType` is the C base class `_socket.socket`, as in CPython.
    let base = class_of(vec![object.clone()], vec![object.clone()]);
    base.dict.borrow_mut().insert(vm.syms.module, Value::str("_socket"));
    let class = class_of(vec![base.clone()], vec![base.clone(), object]);
    class.dict.borrow_mut().insert(vm.syms.module, Value::str("socket"));
    let newf = crate::builtins::native("__new__", socket_new);
    class
        .dict
        .borrow_mut()
        .insert(vm.syms.new, Value::Descriptor(Rc::new(crate::vm::value::Descriptor::StaticMethod(newf))));
    vm.other_classes.borrow_mut().insert("socket", class.clone());
    crate::vm::value::bump_class_epoch();
    super::set(m, "socket", Value::Class(class));
    super::set(m, "SocketType", Value::Class(base));
    super::set(m, "socketpair", crate::builtins::native("socketpair", socketpair));
}
