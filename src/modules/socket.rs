//! `socket`: the constants scripts use with asyncio (Linux values), name resolution
//! (`getaddrinfo`, `getnameinfo`, `gethostbyname`, services) and the loop's resolver
//! methods (`loop.getaddrinfo`, `loop.getnameinfo`), which run the lookups on worker threads.
//! The `socket` objects themselves are in `socket_object.rs`.
//!
//! Resolution uses the C library's resolver through `std::net::ToSocketAddrs` (so
//! `/etc/hosts`, `nsswitch` and DNS apply), and reads `/etc/services` and `/etc/hosts`
//! directly for what that interface does not give: service names, canonical names and
//! reverse lookups (no reverse DNS: an address not in `/etc/hosts` stays numeric).
//! Results have CPython's shape: `(family, type, proto, canonname, sockaddr)`, one entry
//! per address and socket type in glibc's order.

use crate::asyncio::event_loop::EventLoop;
use crate::asyncio::future::{future_value, FutureObj};
use crate::builtins::take_kw;
use crate::vm::value::{Class, Layout, Module};
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;

/// `AF_UNSPEC`.
pub const AF_UNSPEC: i32 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: i32 = 1;
/// `AF_INET`.
pub const AF_INET: i32 = 2;
/// `AF_INET6`.
pub const AF_INET6: i32 = 10;
/// `SOCK_STREAM`.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: i32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: i32 = 3;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;
const AI_PASSIVE: i32 = 1;
const AI_CANONNAME: i32 = 2;
const AI_NUMERICHOST: i32 = 4;
const AI_NUMERICSERV: i32 = 0x400;
const NI_NUMERICHOST: i32 = 1;
const NI_NUMERICSERV: i32 = 2;
const NI_NOFQDN: i32 = 4;
const NI_NAMEREQD: i32 = 8;
const NI_DGRAM: i32 = 16;

const CONSTANTS: &[(&str, i64)] = &[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_INET", 2),
    ("AF_INET6", 10),
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOCK_RAW", 3),
    ("SOCK_SEQPACKET", 5),
    ("SOCK_NONBLOCK", 2048),
    ("SOCK_CLOEXEC", 524288),
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IPV6", 41),
    ("SOL_SOCKET", 1),
    ("SO_REUSEADDR", 2),
    ("SO_TYPE", 3),
    ("SO_ERROR", 4),
    ("SO_BROADCAST", 6),
    ("SO_SNDBUF", 7),
    ("SO_RCVBUF", 8),
    ("SO_KEEPALIVE", 9),
    ("SO_LINGER", 13),
    ("SO_REUSEPORT", 15),
    ("SO_RCVLOWAT", 18),
    ("SO_SNDLOWAT", 19),
    ("SO_RCVTIMEO", 20),
    ("SO_SNDTIMEO", 21),
    ("TCP_NODELAY", 1),
    ("TCP_KEEPIDLE", 4),
    ("TCP_KEEPINTVL", 5),
    ("TCP_KEEPCNT", 6),
    ("IP_TTL", 2),
    ("IPV6_V6ONLY", 26),
    ("SOMAXCONN", 4096),
    ("SHUT_RD", 0),
    ("SHUT_WR", 1),
    ("SHUT_RDWR", 2),
    ("MSG_PEEK", 2),
    ("MSG_DONTWAIT", 64),
    ("MSG_WAITALL", 256),
    ("MSG_NOSIGNAL", 16384),
    ("AI_PASSIVE", 1),
    ("AI_CANONNAME", 2),
    ("AI_NUMERICHOST", 4),
    ("AI_V4MAPPED", 8),
    ("AI_ALL", 16),
    ("AI_ADDRCONFIG", 32),
    ("AI_NUMERICSERV", 1024),
    ("NI_NUMERICHOST", 1),
    ("NI_NUMERICSERV", 2),
    ("NI_NOFQDN", 4),
    ("NI_NAMEREQD", 8),
    ("NI_DGRAM", 16),
    ("NI_MAXHOST", 1025),
    ("NI_MAXSERV", 32),
    ("EAI_BADFLAGS", -1),
    ("EAI_NONAME", -2),
    ("EAI_AGAIN", -3),
    ("EAI_FAIL", -4),
    ("EAI_NODATA", -5),
    ("EAI_FAMILY", -6),
    ("EAI_SOCKTYPE", -7),
    ("EAI_SERVICE", -8),
    ("EAI_ADDRFAMILY", -9),
    ("EAI_MEMORY", -10),
    ("EAI_SYSTEM", -11),
    ("EAI_OVERFLOW", -12),
    ("INADDR_ANY", 0),
    ("INADDR_LOOPBACK", 0x7f00_0001),
    ("INADDR_BROADCAST", 0xffff_ffff),
];

// ---------------------------------------------------------------- resolution (no VM)

/// One `getaddrinfo` entry.
#[derive(Clone, Debug)]
pub struct AddrInfo {
    /// `AF_INET` or `AF_INET6`.
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_RAW`.
    pub socktype: i32,
    /// The protocol (6 for TCP, 17 for UDP).
    pub proto: i32,
    /// The canonical name (first entry only, with `AI_CANONNAME`), else empty.
    pub canonname: String,
    /// The address.
    pub addr: SocketAddr,
}

/// A resolver failure: an `EAI_*` code and glibc's message, raised as `socket.gaierror`.
#[derive(Clone, Debug)]
pub struct GaiError {
    /// The `EAI_*` code (negative).
    pub code: i32,
    /// `gai_strerror(code)`.
    pub msg: String,
}

impl GaiError {
    fn new(code: i32) -> GaiError {
        let msg = match code {
            -1 => "Bad value for ai_flags",
            -2 => "Name or service not known",
            -3 => "Temporary failure in name resolution",
            -4 => "Non-recoverable failure in name resolution",
            -5 => "No address associated with hostname",
            -6 => "ai_family not supported",
            -7 => "ai_socktype not supported",
            -8 => "Servname not supported for ai_socktype",
            -9 => "Address family for hostname not supported",
            -10 => "Memory allocation failure",
            _ => "System error",
        };
        GaiError { code, msg: msg.into() }
    }
}

/// A port as given: a number, or a service name to look up in `/etc/services`.
#[derive(Clone, Debug)]
pub enum Service {
    /// A port number.
    Port(u16),
    /// A service name (`"http"`).
    Name(String),
}

/// `/etc/services` entries: (name and aliases, port, protocol).
fn services() -> Vec<(Vec<String>, u16, String)> {
    let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut parts = line.split_whitespace();
        let (Some(name), Some(pp)) = (parts.next(), parts.next()) else { continue };
        let Some((port, proto)) = pp.split_once('/') else { continue };
        let Ok(port) = port.parse::<u16>() else { continue };
        let mut names = vec![name.to_string()];
        names.extend(parts.map(str::to_string));
        out.push((names, port, proto.to_string()));
    }
    out
}

/// `/etc/hosts` entries: (address, names), in file order.
fn hosts() -> Vec<(IpAddr, Vec<String>)> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut parts = line.split_whitespace();
        let Some(Ok(ip)) = parts.next().map(str::parse::<IpAddr>) else { continue };
        out.push((ip, parts.map(str::to_string).collect()));
    }
    out
}

/// The socket types (with protocols) a lookup yields, in glibc's order.
fn socket_types(socktype: i32, proto: i32, service: &Service) -> Result<Vec<(i32, i32)>, GaiError> {
    let all: Vec<(i32, i32)> = match (socktype, proto) {
        (0, 0) => vec![(SOCK_STREAM, IPPROTO_TCP), (SOCK_DGRAM, IPPROTO_UDP), (SOCK_RAW, 0)],
        (0, IPPROTO_TCP) => vec![(SOCK_STREAM, IPPROTO_TCP)],
        (0, IPPROTO_UDP) => vec![(SOCK_DGRAM, IPPROTO_UDP)],
        (0, p) => vec![(SOCK_RAW, p)],
        (SOCK_STREAM, 0 | IPPROTO_TCP) => vec![(SOCK_STREAM, IPPROTO_TCP)],
        (SOCK_DGRAM, 0 | IPPROTO_UDP) => vec![(SOCK_DGRAM, IPPROTO_UDP)],
        (SOCK_RAW, p) => vec![(SOCK_RAW, p)],
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(GaiError::new(-8)),
        _ => return Err(GaiError::new(-7)),
    };
    let Service::Name(name) = service else { return Ok(all) };
    // A named service exists only for the protocols `/etc/services` lists it with.
    let table = services();
    let has = |proto: &str| table.iter().any(|(names, _, p)| p == proto && names.iter().any(|n| n == name));
    let kept: Vec<(i32, i32)> = all
        .into_iter()
        .filter(|(t, _)| match *t {
            SOCK_STREAM => has("tcp"),
            SOCK_DGRAM => has("udp"),
            _ => false,
        })
        .collect();
    if kept.is_empty() {
        return Err(GaiError::new(-8));
    }
    Ok(kept)
}

fn service_port(service: &Service, socktype: i32) -> Result<u16, GaiError> {
    match service {
        Service::Port(p) => Ok(*p),
        Service::Name(name) => {
            let proto = if socktype == SOCK_DGRAM { "udp" } else { "tcp" };
            let table = services();
            table
                .iter()
                .find(|(names, _, p)| p == proto && names.iter().any(|n| n == name))
                .or_else(|| table.iter().find(|(names, _, _)| names.iter().any(|n| n == name)))
                .map(|(_, port, _)| *port)
                .ok_or_else(|| GaiError::new(-8))
        }
    }
}

/// The error code behind a failed `ToSocketAddrs` lookup (std reports glibc's message).
fn lookup_error(e: &std::io::Error) -> GaiError {
    let text = e.to_string();
    for code in [-2, -3, -4, -5, -9, -10] {
        let g = GaiError::new(code);
        if text.contains(g.msg.as_str()) {
            return g;
        }
    }
    GaiError::new(-2)
}

/// The addresses of a host name (or the loopback / wildcard addresses for no host).
fn host_addresses(host: Option<&str>, flags: i32) -> Result<(Vec<IpAddr>, bool), GaiError> {
    let Some(host) = host else {
        use std::net::{Ipv4Addr, Ipv6Addr};
        return Ok(if flags & AI_PASSIVE != 0 {
            (vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::UNSPECIFIED)], true)
        } else {
            (vec![IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::LOCALHOST)], true)
        });
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok((vec![ip], true));
    }
    if flags & AI_NUMERICHOST != 0 || host.is_empty() {
        return Err(GaiError::new(-2));
    }
    let found = (host, 0u16).to_socket_addrs().map_err(|e| lookup_error(&e))?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in found {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    Ok((ips, false))
}

/// `getaddrinfo(host, port, family, type, proto, flags)`: blocking; run it off the loop.
pub fn getaddrinfo(
    host: Option<&str>,
    service: &Service,
    family: i32,
    socktype: i32,
    proto: i32,
    flags: i32,
) -> Result<Vec<AddrInfo>, GaiError> {
    if ![AF_UNSPEC, AF_INET, AF_INET6].contains(&family) {
        return Err(GaiError::new(-6));
    }
    if flags & AI_NUMERICSERV != 0 && matches!(service, Service::Name(_)) {
        return Err(GaiError::new(-2));
    }
    let types = socket_types(socktype, proto, service)?;
    let (ips, numeric) = host_addresses(host, flags)?;
    let wanted = |ip: &IpAddr| match family {
        AF_INET => ip.is_ipv4(),
        AF_INET6 => ip.is_ipv6(),
        _ => true,
    };
    let ips: Vec<IpAddr> = ips.into_iter().filter(wanted).collect();
    if ips.is_empty() {
        return Err(GaiError::new(if numeric && host.is_some() { -9 } else { -2 }));
    }
    let canon = match host {
        Some(h) if flags & AI_CANONNAME != 0 => {
            if numeric {
                h.to_string()
            } else {
                hosts()
                    .into_iter()
                    .find(|(_, names)| names.iter().any(|n| n == h))
                    .and_then(|(_, names)| names.into_iter().next())
                    .unwrap_or_else(|| h.to_string())
            }
        }
        _ => String::new(),
    };
    let mut out = Vec::new();
    for ip in ips {
        for &(t, p) in &types {
            let port = service_port(service, t)?;
            let canonname = if out.is_empty() { canon.clone() } else { String::new() };
            let family = if ip.is_ipv4() { AF_INET } else { AF_INET6 };
            out.push(AddrInfo { family, socktype: t, proto: p, canonname, addr: SocketAddr::new(ip, port) });
        }
    }
    Ok(out)
}

/// `getnameinfo((host, port), flags)` for a numeric address: blocking; run it off the loop.
pub fn getnameinfo(addr: SocketAddr, flags: i32) -> Result<(String, String), GaiError> {
    let ip = addr.ip();
    let host = if flags & NI_NUMERICHOST != 0 {
        ip.to_string()
    } else {
        match hosts().into_iter().find(|(a, names)| *a == ip && !names.is_empty()) {
            Some((_, names)) => {
                let name = names[0].clone();
                if flags & NI_NOFQDN != 0 {
                    name.split('.').next().unwrap_or(&name).to_string()
                } else {
                    name
                }
            }
            None if flags & NI_NAMEREQD != 0 => return Err(GaiError::new(-2)),
            None => ip.to_string(),
        }
    };
    let port = addr.port();
    let serv = if flags & NI_NUMERICSERV != 0 {
        port.to_string()
    } else {
        let proto = if flags & NI_DGRAM != 0 { "udp" } else { "tcp" };
        services()
            .into_iter()
            .find(|(_, p, pr)| *p == port && pr == proto)
            .map(|(names, _, _)| names[0].clone())
            .unwrap_or_else(|| port.to_string())
    };
    Ok((host, serv))
}

// ---------------------------------------------------------------- values

/// The `socket.gaierror` class of this interpreter.
fn gaierror_class(vm: &mut Vm) -> Rc<Class> {
    exception_class(vm, "gaierror")
}

fn exception_class(vm: &mut Vm, name: &'static str) -> Rc<Class> {
    let key: &'static str = match name {
        "gaierror" => "socket.gaierror",
        _ => "socket.herror",
    };
    if let Some(c) = vm.other_classes.borrow().get(key) {
        return c.clone();
    }
    let base = vm.exc_class(ExcKind::OSError).clone();
    let mut mro = vec![base.clone()];
    mro.extend(base.mro.iter().cloned());
    let class = Rc::new(Class {
        name: Rc::from(name),
        qualname: RefCell::new(Rc::from(name)),
        bases: vec![base],
        mro,
        dict: RefCell::default(),
        layout: Layout::Exception,
        builtin: None,
        version: Cell::new(0),
        cache: Default::default(),
        tp_name: Default::default(),
    });
    class.dict.borrow_mut().insert(vm.syms.module, Value::str("socket"));
    vm.other_classes.borrow_mut().insert(key, class.clone());
    crate::vm::value::bump_class_epoch();
    class
}

/// The `socket.gaierror` for a resolver failure.
pub fn gai_error(vm: &mut Vm, e: &GaiError) -> Exc {
    let class = gaierror_class(vm);
    let (code, msg) = (Value::Int(e.code as i64), Value::string(e.msg.clone()));
    let inst = vm.new_exception_object(class, vec![code.clone(), msg.clone()]);
    inst.set_attr(Sym::new("errno"), code);
    inst.set_attr(Sym::new("strerror"), msg);
    Exc::Obj(inst)
}

/// A socket address as CPython gives it: `(host, port)` or `(host, port, flowinfo, scope_id)`.
pub fn sockaddr_value(addr: &SocketAddr) -> Value {
    match addr {
        SocketAddr::V4(a) => Value::tuple(vec![Value::string(a.ip().to_string()), Value::Int(a.port() as i64)]),
        SocketAddr::V6(a) => Value::tuple(vec![
            Value::string(a.ip().to_string()),
            Value::Int(a.port() as i64),
            Value::Int(a.flowinfo() as i64),
            Value::Int(a.scope_id() as i64),
        ]),
    }
}

/// One entry as the 5-tuple `(family, type, proto, canonname, sockaddr)`.
pub fn addrinfo_value(ai: &AddrInfo) -> Value {
    Value::tuple(vec![
        Value::Int(ai.family as i64),
        Value::Int(ai.socktype as i64),
        Value::Int(ai.proto as i64),
        Value::string(ai.canonname.clone()),
        sockaddr_value(&ai.addr),
    ])
}

fn addrinfo_list(vm: &mut Vm, r: Result<Vec<AddrInfo>, GaiError>) -> Res<Value> {
    match r {
        Ok(list) => Ok(Value::list(list.iter().map(addrinfo_value).collect())),
        Err(e) => Err(gai_error(vm, &e)),
    }
}

fn str_or_bytes(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.as_str().to_string()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// The arguments of `getaddrinfo`, checked on the interpreter thread.
struct GaiArgs {
    host: Option<String>,
    service: Service,
    family: i32,
    socktype: i32,
    proto: i32,
    flags: i32,
}

fn int_arg(vm: &mut Vm, v: Option<Value>) -> Res<i32> {
    match v {
        None => Ok(0),
        Some(v) => {
            let n = vm.index_value(&v)?;
            i32::try_from(n).map_err(|_| Exc::new(ExcKind::OverflowError, "Python int too large to convert to C int"))
        }
    }
}

fn gai_args(vm: &mut Vm, a: &mut Args, skip: usize, fname: &str) -> Res<GaiArgs> {
    let names = ["host", "port", "family", "type", "proto", "flags"];
    let mut vals: Vec<Option<Value>> = a.pos[skip..].iter().cloned().map(Some).collect();
    if vals.len() > names.len() {
        return Err(Exc::type_error(format!("{fname}() takes at most 6 arguments ({} given)", vals.len())));
    }
    vals.resize(names.len(), None);
    for (i, n) in names.iter().enumerate() {
        if let Some(v) = take_kw(a, n) {
            if vals[i].is_some() {
                return Err(Exc::type_error(format!("argument for {fname}() given by name ('{n}') and position")));
            }
            vals[i] = Some(v);
        }
    }
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!("{fname}() got an unexpected keyword argument '{k}'")));
    }
    let host = match vals[0].take() {
        None => return Err(Exc::type_error(format!("{fname}() missing required argument 'host' (pos 1)"))),
        Some(Value::None) => None,
        Some(v) => match str_or_bytes(&v) {
            Some(s) => Some(s),
            None => {
                return Err(Exc::type_error(format!(
                    "getaddrinfo() argument 1 must be string or None, not {}",
                    vm.type_name(&v)
                )))
            }
        },
    };
    let service = match vals[1].take() {
        None => return Err(Exc::type_error(format!("{fname}() missing required argument 'port' (pos 2)"))),
        Some(Value::None) => Service::Port(0),
        Some(Value::Int(n)) => service_of_number(n)?,
        Some(v @ (Value::Str(_) | Value::Bytes(_))) => {
            let s = str_or_bytes(&v).unwrap_or_default();
            match s.parse::<i64>() {
                Ok(n) => service_of_number(n)?,
                Err(_) => Service::Name(s),
            }
        }
        Some(Value::Bool(b)) => Service::Port(b as u16),
        Some(_) => return Err(Exc::new(ExcKind::OSError, "Int or String expected")),
    };
    Ok(GaiArgs {
        host,
        service,
        family: int_arg(vm, vals[2].take())?,
        socktype: int_arg(vm, vals[3].take())?,
        proto: int_arg(vm, vals[4].take())?,
        flags: int_arg(vm, vals[5].take())?,
    })
}

fn service_of_number(n: i64) -> Res<Service> {
    if n < 0 {
        return Ok(Service::Name(n.to_string()));
    }
    Ok(Service::Port((n & 0xffff) as u16))
}

/// The address of a `getnameinfo` sockaddr argument.
fn sockaddr_arg(vm: &mut Vm, v: &Value) -> Res<(String, u16, u32, u32)> {
    let Value::Tuple(t) = v else { return Err(Exc::type_error("getnameinfo() argument 1 must be a tuple")) };
    if t.len() < 2 || t.len() > 4 {
        return Err(Exc::type_error("getnameinfo(): illegal sockaddr argument"));
    }
    let host = str_or_bytes(&t[0]).ok_or_else(|| Exc::type_error("getnameinfo(): illegal sockaddr argument"))?;
    let port = vm.index_value(&t[1])?;
    let port = u16::try_from(port).map_err(|_| Exc::new(ExcKind::OverflowError, "port must be 0-65535."))?;
    let flow = match t.get(2) {
        Some(v) => vm.index_value(v)? as u32,
        None => 0,
    };
    let scope = match t.get(3) {
        Some(v) => vm.index_value(v)? as u32,
        None => 0,
    };
    Ok((host, port, flow, scope))
}

/// Resolves a `getnameinfo` address (a name must resolve to exactly one address).
fn nameinfo_addr(host: &str, port: u16, flow: u32, scope: u32) -> Result<SocketAddr, GaiError> {
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let (ips, _) = host_addresses(Some(host), 0)?;
            match ips.as_slice() {
                [ip] => *ip,
                [] => return Err(GaiError::new(-2)),
                _ => return Err(GaiError { code: 0, msg: "sockaddr resolved to multiple addresses".into() }),
            }
        }
    };
    Ok(match ip {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port),
        IpAddr::V6(v6) => SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, flow, scope)),
    })
}

fn nameinfo_value(vm: &mut Vm, r: Result<(String, String), GaiError>) -> Res<Value> {
    match r {
        Ok((h, s)) => Ok(Value::tuple(vec![Value::string(h), Value::string(s)])),
        Err(e) if e.code == 0 => Err(Exc::new(ExcKind::OSError, e.msg)),
        Err(e) => Err(gai_error(vm, &e)),
    }
}

// ---------------------------------------------------------------- the loop's resolver

/// Resolves `host`/`port` on a worker thread for `lp`; `then` gets the entries (or the
/// failure) on the loop thread, as a ready callback. For Rust users such as
/// `open_connection`: `family`/`socktype` filter as in `getaddrinfo`.
pub fn resolve_then(
    lp: &Rc<EventLoop>,
    host: Option<String>,
    port: u16,
    family: i32,
    socktype: i32,
    then: impl FnOnce(&mut Vm, Result<Vec<AddrInfo>, GaiError>) -> Res<()> + 'static,
) -> Res<()> {
    lp.submit(
        Box::new(move || {
            Box::new(getaddrinfo(host.as_deref(), &Service::Port(port), family, socktype, 0, 0))
                as crate::asyncio::event_loop::Output
        }),
        Box::new(move |vm, out| match out.downcast::<Result<Vec<AddrInfo>, GaiError>>() {
            Ok(r) => then(vm, *r),
            Err(_) => Err(Exc::runtime_error("resolver returned an unexpected result")),
        }),
    )
}

/// Resolves `host`/`port` (stream sockets, any family) on a worker thread of the running
/// loop: the returned awaitable (a future) gets `getaddrinfo`'s list of 5-tuples, or
/// raises `socket.gaierror`.
pub fn resolve(vm: &mut Vm, host: &str, port: u16) -> Res<Value> {
    let _ = vm;
    let lp = crate::asyncio::running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))?;
    let fut = FutureObj::new(&lp, None);
    let f = fut.clone();
    resolve_then(&lp, Some(host.to_string()), port, AF_UNSPEC, SOCK_STREAM, move |vm, r| settle(vm, &f, r))?;
    Ok(future_value(&fut))
}

fn settle(vm: &mut Vm, fut: &Rc<FutureObj>, r: Result<Vec<AddrInfo>, GaiError>) -> Res<()> {
    if fut.done() {
        return Ok(());
    }
    match addrinfo_list(vm, r) {
        Ok(v) => fut.set_result(v),
        Err(e) => {
            let inst = vm.materialize(e);
            fut.set_exception(vm, Value::Instance(inst))
        }
    }
}

fn this_loop(a: &Args) -> Res<Rc<EventLoop>> {
    match a.pos.first() {
        Some(Value::Other(o)) => match o.as_any().downcast_ref::<crate::asyncio::LoopRef>() {
            Some(l) => Ok(l.0.clone()),
            None => Err(Exc::type_error("an event loop is required")),
        },
        _ => Err(Exc::type_error("an event loop is required")),
    }
}

/// `loop.getaddrinfo(host, port, *, family=0, type=0, proto=0, flags=0)`: a future with the
/// list of `(family, type, proto, canonname, sockaddr)`, resolved on a worker thread.
pub fn loop_getaddrinfo(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.getaddrinfo()")?;
    let lp = this_loop(a)?;
    let g = gai_args(vm, a, 1, "getaddrinfo")?;
    let fut = FutureObj::new(&lp, None);
    let f = fut.clone();
    lp.submit(
        Box::new(move || {
            Box::new(getaddrinfo(g.host.as_deref(), &g.service, g.family, g.socktype, g.proto, g.flags))
                as crate::asyncio::event_loop::Output
        }),
        Box::new(move |vm, out| match out.downcast::<Result<Vec<AddrInfo>, GaiError>>() {
            Ok(r) => settle(vm, &f, *r),
            Err(_) => Err(Exc::runtime_error("resolver returned an unexpected result")),
        }),
    )?;
    Ok(future_value(&fut))
}

/// `loop.getnameinfo(sockaddr, flags=0)`: a future with `(host, port)`, on a worker thread.
pub fn loop_getnameinfo(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.getnameinfo()")?;
    let lp = this_loop(a)?;
    let flags = take_kw(a, "flags").or_else(|| a.pos.get(2).cloned());
    let sa = a
        .pos
        .get(1)
        .cloned()
        .ok_or_else(|| Exc::type_error("getnameinfo() missing 1 required positional argument: 'sockaddr'"))?;
    let (host, port, flow, scope) = sockaddr_arg(vm, &sa)?;
    let flags = int_arg(vm, flags)?;
    let fut = FutureObj::new(&lp, None);
    let f = fut.clone();
    lp.submit(
        Box::new(move || {
            let r = nameinfo_addr(&host, port, flow, scope).and_then(|addr| getnameinfo(addr, flags));
            Box::new(r) as crate::asyncio::event_loop::Output
        }),
        Box::new(move |vm, out| {
            let Ok(r) = out.downcast::<Result<(String, String), GaiError>>() else {
                return Err(Exc::runtime_error("resolver returned an unexpected result"));
            };
            if f.done() {
                return Ok(());
            }
            match nameinfo_value(vm, *r) {
                Ok(v) => f.set_result(v),
                Err(e) => {
                    let inst = vm.materialize(e);
                    f.set_exception(vm, Value::Instance(inst))
                }
            }
        }),
    )?;
    Ok(future_value(&fut))
}

// ---------------------------------------------------------------- module functions

fn s_getaddrinfo(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let g = gai_args(vm, a, 0, "getaddrinfo")?;
    crate::asyncio::threads::blocking(
        vm,
        move || getaddrinfo(g.host.as_deref(), &g.service, g.family, g.socktype, g.proto, g.flags),
        addrinfo_list,
    )
}

fn s_getnameinfo(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("getnameinfo", a, 2, 2)?;
    let (host, port, flow, scope) = sockaddr_arg(vm, &a.pos[0].clone())?;
    let flags = int_arg(vm, Some(a.pos[1].clone()))?;
    crate::asyncio::threads::blocking(
        vm,
        move || nameinfo_addr(&host, port, flow, scope).and_then(|addr| getnameinfo(addr, flags)),
        nameinfo_value,
    )
}

fn s_gethostbyname(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("gethostbyname", a, 1, 1)?;
    let Some(host) = str_or_bytes(&a.pos[0]) else {
        let t = vm.type_name(&a.pos[0]);
        return Err(Exc::type_error(format!("gethostbyname() argument 1 must be str, bytes or bytearray, not {t}")));
    };
    crate::asyncio::threads::blocking(
        vm,
        move || getaddrinfo(Some(&host), &Service::Port(0), AF_INET, SOCK_STREAM, 0, 0),
        |vm, r| match r {
            Ok(list) => Ok(Value::string(list[0].addr.ip().to_string())),
            Err(e) => Err(gai_error(vm, &e)),
        },
    )
}

fn s_gethostname(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("gethostname", a, 0, 0)?;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    Ok(Value::string(name))
}

fn s_getfqdn(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let name = match a.pos.first().and_then(str_or_bytes) {
        Some(n) if !n.is_empty() && n != "0.0.0.0" => n,
        _ => {
            let mut none = Args::default();
            return s_gethostname(vm, &mut none);
        }
    };
    Ok(Value::string(name))
}

fn proto_arg(a: &Args, i: usize) -> Option<String> {
    a.pos.get(i).and_then(|v| if v.is_none() { None } else { str_or_bytes(v) })
}

fn s_getservbyname(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("getservbyname", a, 1, 2)?;
    let name = str_or_bytes(&a.pos[0]).ok_or_else(|| Exc::type_error("getservbyname() argument 1 must be str"))?;
    let proto = proto_arg(a, 1);
    let _ = vm;
    services()
        .into_iter()
        .find(|(names, _, p)| names.contains(&name) && proto.as_ref().is_none_or(|x| x == p))
        .map(|(_, port, _)| Value::Int(port as i64))
        .ok_or_else(|| Exc::new(ExcKind::OSError, "service/proto not found"))
}

fn s_getservbyport(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("getservbyport", a, 1, 2)?;
    let port = vm.index_value(&a.pos[0].clone())?;
    if !(0..=65535).contains(&port) {
        return Err(Exc::new(ExcKind::OverflowError, "getservbyport: port must be 0-65535."));
    }
    let proto = proto_arg(a, 1);
    services()
        .into_iter()
        .find(|(_, p, pr)| *p as i64 == port && proto.as_ref().is_none_or(|x| x == pr))
        .map(|(names, _, _)| Value::string(names[0].clone()))
        .ok_or_else(|| Exc::new(ExcKind::OSError, "port/proto not found"))
}

fn s_htons(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("htons", a, 1, 1)?;
    let n = vm.index_value(&a.pos[0].clone())?;
    if !(0..=65535).contains(&n) {
        return Err(Exc::new(
            ExcKind::OverflowError,
            "htons: Python int too large to convert to C 16-bit unsigned integer",
        ));
    }
    Ok(Value::Int((n as u16).swap_bytes() as i64))
}

fn s_htonl(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("htonl", a, 1, 1)?;
    let n = vm.index_value(&a.pos[0].clone())?;
    if !(0..=0xffff_ffff).contains(&n) {
        return Err(Exc::new(ExcKind::OverflowError, "int larger than 32 bits"));
    }
    Ok(Value::Int((n as u32).swap_bytes() as i64))
}

fn s_inet_pton(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("inet_pton", a, 2, 2)?;
    let fam = vm.index_value(&a.pos[0].clone())?;
    let text = str_or_bytes(&a.pos[1]).ok_or_else(|| Exc::type_error("inet_pton() argument 2 must be str"))?;
    let bytes: Option<Vec<u8>> = match fam {
        2 => text.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets().to_vec()),
        10 => text.parse::<std::net::Ipv6Addr>().ok().map(|a| a.octets().to_vec()),
        _ => return Err(Exc::new(ExcKind::OSError, "[Errno 97] Address family not supported by protocol")),
    };
    bytes
        .map(|b| Value::Bytes(Rc::from(b)))
        .ok_or_else(|| Exc::new(ExcKind::OSError, "illegal IP address string passed to inet_pton"))
}

fn s_inet_ntop(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("inet_ntop", a, 2, 2)?;
    let fam = vm.index_value(&a.pos[0].clone())?;
    let Value::Bytes(b) = &a.pos[1] else {
        return Err(Exc::type_error("a bytes-like object is required"));
    };
    match (fam, b.len()) {
        (2, 4) => Ok(Value::string(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())),
        (10, 16) => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            Ok(Value::string(std::net::Ipv6Addr::from(o).to_string()))
        }
        (2 | 10, _) => Err(Exc::value_error("invalid length of packed IP address string")),
        _ => Err(Exc::value_error(format!("unknown address family {fam}"))),
    }
}

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "socket",
        &[
            ("getaddrinfo", s_getaddrinfo),
            ("getnameinfo", s_getnameinfo),
            ("gethostbyname", s_gethostbyname),
            ("gethostname", s_gethostname),
            ("getfqdn", s_getfqdn),
            ("getservbyname", s_getservbyname),
            ("getservbyport", s_getservbyport),
            ("htons", s_htons),
            ("ntohs", s_htons),
            ("htonl", s_htonl),
            ("ntohl", s_htonl),
            ("inet_pton", s_inet_pton),
            ("inet_ntop", s_inet_ntop),
        ],
    );
    for (name, v) in CONSTANTS {
        super::set(&m, name, Value::Int(*v));
    }
    super::set(&m, "has_ipv6", Value::Bool(true));
    super::set(&m, "error", Value::Class(vm.exc_class(ExcKind::OSError).clone()));
    super::set(&m, "timeout", Value::Class(vm.exc_class(ExcKind::TimeoutError).clone()));
    let gai = gaierror_class(vm);
    super::set(&m, "gaierror", Value::Class(gai));
    let herror = exception_class(vm, "herror");
    super::set(&m, "herror", Value::Class(herror));
    super::socket_object::install(vm, &m);
    Ok(m)
}
