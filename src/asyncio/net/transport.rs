//! Stream transports over TCP and Unix sockets and over pipes, with CPython's selector
//! transport semantics (`_SelectorSocketTransport`, `_UnixReadPipeTransport`,
//! `_UnixWritePipeTransport`) on an edge-triggered poll.
//!
//! Reading: a readable event reads once into a shared 256 KiB buffer and hands the bytes
//! to the protocol (natively to a `StreamReaderProtocol`, else `data_received`). A short
//! read means the socket is drained (the next data raises a new edge); a full read
//! schedules another read, as a level-triggered loop would. Readiness seen while reading
//! is paused is remembered and acted on at `resume_reading`.
//!
//! Writing: `write` sends at once while nothing is buffered; what the socket does not
//! take is buffered and sent on writable events. Past the high-water mark (64 KiB) the
//! protocol is paused; below the low-water mark it is resumed.

use super::socket::TransportSocket;
use super::streams::StreamProtocol;
use super::support::{
    call_method, data_arg, exc_value, io_error, io_error_value, is_os_error, opt_int, plain_error, report, this,
};
use crate::asyncio::event_loop::{EventLoop, IoHandler, Ready};
use crate::builtins::{bound_native, take_kw};
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};

crate::self_rc!(Transport);

/// recv() size, as CPython's `max_size`.
const MAX_READ: usize = 256 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The OS object under a transport.
pub enum Sock {
    /// A TCP connection.
    Tcp(mio::net::TcpStream),
    /// A Unix stream connection.
    Unix(mio::net::UnixStream),
    /// The read end of a pipe.
    PipeRead(mio::unix::pipe::Receiver),
    /// The write end of a pipe.
    PipeWrite(mio::unix::pipe::Sender),
}

impl Sock {
    /// A connected stream socket (a `socket.socket` handed to `sock=`): Unix or TCP.
    pub fn from_socket(s: socket2::Socket) -> Sock {
        if s.domain().is_ok_and(|d| d == socket2::Domain::UNIX) {
            Sock::Unix(mio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(s)))
        } else {
            Sock::Tcp(mio::net::TcpStream::from_std(std::net::TcpStream::from(s)))
        }
    }
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Sock::Tcp(s) => s,
            Sock::Unix(s) => s,
            Sock::PipeRead(s) => s,
            Sock::PipeWrite(s) => s,
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(buf),
            Sock::Unix(s) => s.read(buf),
            Sock::PipeRead(s) => s.read(buf),
            Sock::PipeWrite(_) => Err(std::io::Error::from(ErrorKind::Unsupported)),
        }
    }
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.write(buf),
            Sock::Unix(s) => s.write(buf),
            Sock::PipeWrite(s) => s.write(buf),
            Sock::PipeRead(_) => Err(std::io::Error::from(ErrorKind::Unsupported)),
        }
    }
    fn shutdown_write(&self) -> std::io::Result<()> {
        match self {
            Sock::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Sock::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            _ => Ok(()),
        }
    }
    fn fd(&self) -> RawFd {
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
            Sock::PipeRead(s) => s.as_raw_fd(),
            Sock::PipeWrite(s) => s.as_raw_fd(),
        }
    }
    fn interest(&self) -> mio::Interest {
        match self {
            Sock::PipeRead(_) => mio::Interest::READABLE,
            Sock::PipeWrite(_) => mio::Interest::WRITABLE,
            _ => mio::Interest::READABLE | mio::Interest::WRITABLE,
        }
    }
}

/// The protocol a transport drives.
pub enum Proto {
    /// Detached (after `connection_lost`).
    None,
    /// The native stream protocol (no script call per read).
    Stream(Rc<StreamProtocol>),
    /// A script protocol object.
    Script(Value),
}

impl Proto {
    /// The protocol for a value: the native stream protocol when it is one.
    pub fn from_value(v: &Value) -> Proto {
        match super::support::downcast_value::<StreamProtocol>(v) {
            Some(p) => Proto::Stream(p),
            None => Proto::Script(v.clone()),
        }
    }
    fn value(&self) -> Value {
        match self {
            Proto::None => Value::None,
            Proto::Stream(p) => Value::Other(p.clone()),
            Proto::Script(v) => v.clone(),
        }
    }
    fn clone_ref(&self) -> Proto {
        match self {
            Proto::None => Proto::None,
            Proto::Stream(p) => Proto::Stream(p.clone()),
            Proto::Script(v) => Proto::Script(v.clone()),
        }
    }
}

/// Interned protocol method names.
struct Names {
    connection_made: Sym,
    connection_lost: Sym,
    data_received: Sym,
    eof_received: Sym,
    pause_writing: Sym,
    resume_writing: Sym,
}

thread_local! {
    static NAMES: Names = Names {
        connection_made: Sym::new("connection_made"),
        connection_lost: Sym::new("connection_lost"),
        data_received: Sym::new("data_received"),
        eof_received: Sym::new("eof_received"),
        pause_writing: Sym::new("pause_writing"),
        resume_writing: Sym::new("resume_writing"),
    };
}

fn names<R>(f: impl FnOnce(&Names) -> R) -> R {
    NAMES.with(f)
}

/// Which CPython transport class this one stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `_SelectorSocketTransport`.
    Socket,
    /// `_UnixReadPipeTransport`.
    ReadPipe,
    /// `_UnixWritePipeTransport`.
    WritePipe,
}

/// A stream transport.
pub struct Transport {
    me: Weak<Transport>,
    /// The loop it belongs to.
    pub lp: Rc<EventLoop>,
    kind: Kind,
    sock: RefCell<Option<Sock>>,
    token: Cell<Option<mio::Token>>,
    fd: RawFd,
    proto: RefCell<Proto>,
    closing: Cell<bool>,
    conn_lost: Cell<u32>,
    /// `write_eof()` was called.
    eof: Cell<bool>,
    /// The reader is active (started by `connection_made`'s follow-up, not paused).
    reading: Cell<bool>,
    paused: Cell<bool>,
    /// Readiness that arrived while not reading.
    read_pending: Cell<bool>,
    /// The poll reported a hang-up or error: EOF or an error waits behind the data.
    hup: Cell<bool>,
    wbuf: RefCell<Vec<u8>>,
    wpos: Cell<usize>,
    high: Cell<usize>,
    low: Cell<usize>,
    proto_paused: Cell<bool>,
    sockname: Value,
    peername: Value,
    socket: Value,
    /// The server that accepted this connection (its active count).
    server: RefCell<Option<Rc<super::server::Server>>>,
    /// Run after `connection_lost` (subprocess pipes tell their process).
    on_lost: RefCell<Option<Box<dyn FnOnce(&mut Vm)>>>,
}

impl Transport {
    /// Makes a transport over `sock` driving `proto`, registers it with the loop, and
    /// schedules CPython's three follow-ups: `connection_made`, the start of reading, and
    /// `waiter`'s result.
    pub fn start(
        lp: &Rc<EventLoop>,
        sock: Sock,
        kind: Kind,
        proto: Proto,
        waiter: Option<Rc<crate::asyncio::future::FutureObj>>,
        server: Option<Rc<super::server::Server>>,
        extra: (Value, Value, Value),
    ) -> std::io::Result<Rc<Transport>> {
        let mut sock = sock;
        let fd = sock.fd();
        if let Sock::Tcp(s) = &sock {
            let _ = s.set_nodelay(true);
        }
        let interest = sock.interest();
        let t = Rc::new_cyclic(|me| Transport {
            me: me.clone(),
            lp: lp.clone(),
            kind,
            sock: RefCell::new(None),
            token: Cell::new(None),
            fd,
            proto: RefCell::new(proto),
            closing: Cell::new(false),
            conn_lost: Cell::new(0),
            eof: Cell::new(false),
            reading: Cell::new(false),
            paused: Cell::new(false),
            read_pending: Cell::new(false),
            hup: Cell::new(false),
            wbuf: RefCell::default(),
            wpos: Cell::new(0),
            high: Cell::new(64 * 1024),
            low: Cell::new(16 * 1024),
            proto_paused: Cell::new(false),
            sockname: extra.0,
            peername: extra.1,
            socket: extra.2,
            server: RefCell::new(None),
            on_lost: RefCell::new(None),
        });
        let token = lp.io_register(sock.source(), interest, t.clone())?;
        t.token.set(Some(token));
        *t.sock.borrow_mut() = Some(sock);
        if let Some(s) = &server {
            s.attach();
        }
        *t.server.borrow_mut() = server;
        let t1 = t.clone();
        lp.call_soon_native(move |vm| t1.call_connection_made(vm));
        if kind != Kind::WritePipe {
            let t2 = t.clone();
            lp.call_soon_native(move |_vm| {
                t2.start_reading();
                Ok(())
            });
        }
        if let Some(w) = waiter {
            lp.call_soon_native(move |_vm| {
                if !w.done() {
                    let _ = w.set_result(Value::None);
                }
                Ok(())
            });
        }
        Ok(t)
    }

    fn rc(&self) -> Rc<Transport> {
        self.me.upgrade().expect("a transport method runs on a live transport")
    }

    /// Sets what runs after `connection_lost`.
    pub fn set_on_lost(&self, f: Box<dyn FnOnce(&mut Vm)>) {
        *self.on_lost.borrow_mut() = Some(f);
    }

    fn call_connection_made(&self, vm: &mut Vm) -> Res<()> {
        let p = self.proto.borrow().clone_ref();
        match p {
            Proto::None => Ok(()),
            Proto::Stream(sp) => sp.connection_made(vm, &self.rc()),
            Proto::Script(v) => {
                let name = names(|n| n.connection_made);
                call_method(vm, &v, name, vec![Value::Other(self.rc())]).map(|_| ())
            }
        }
    }

    fn start_reading(&self) {
        if self.closing.get() || self.paused.get() {
            return;
        }
        self.reading.set(true);
        if self.read_pending.replace(false) {
            self.schedule_read();
        }
    }

    fn schedule_read(&self) {
        let t = self.rc();
        self.lp.call_soon_native(move |vm| t.read_ready(vm));
    }

    /// `is_closing()`.
    pub fn is_closing(&self) -> bool {
        self.closing.get()
    }

    /// `pause_reading()`.
    pub fn pause_reading(&self) {
        if self.closing.get() || self.paused.get() {
            return;
        }
        self.paused.set(true);
        self.reading.set(false);
    }

    /// `resume_reading()`.
    pub fn resume_reading(&self) {
        if self.closing.get() || !self.paused.get() {
            return;
        }
        self.paused.set(false);
        self.reading.set(true);
        if self.read_pending.replace(false) {
            self.schedule_read();
        }
    }

    /// Reads once and delivers the data, EOF or error to the protocol.
    fn read_ready(&self, vm: &mut Vm) -> Res<()> {
        if self.conn_lost.get() > 0 {
            return Ok(());
        }
        if !self.reading.get() {
            self.read_pending.set(true);
            return Ok(());
        }
        let r = {
            let mut sock = self.sock.borrow_mut();
            let Some(s) = sock.as_mut() else { return Ok(()) };
            SCRATCH.with(|b| {
                let mut b = b.borrow_mut();
                if b.len() < MAX_READ {
                    b.resize(MAX_READ, 0);
                }
                loop {
                    match s.read(&mut b[..]) {
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Ok(n) if n > 0 => {
                            let p = self.proto.borrow();
                            // The stream protocol takes the bytes without a script call.
                            if let Proto::Stream(sp) = &*p {
                                return Ok(Ok((n, sp.data_received(&b[..n]))));
                            }
                            return Ok(Err(Value::Bytes(Rc::from(&b[..n]))));
                        }
                        Ok(_) => return Ok(Ok((0, Ok(())))),
                        Err(e) => return Err(e),
                    }
                }
            })
        };
        match r {
            Ok(Ok((0, _))) => self.on_eof(vm),
            Ok(Ok((n, delivered))) => {
                if n == MAX_READ || self.hup.get() {
                    self.schedule_read();
                }
                if let Err(e) = delivered {
                    let ev = exc_value(vm, e);
                    self.fatal_error(vm, ev, "Fatal error: protocol.data_received() call failed.");
                }
                Ok(())
            }
            Ok(Err(data)) => {
                let n = match &data {
                    Value::Bytes(b) => b.len(),
                    _ => 0,
                };
                if n == MAX_READ || self.hup.get() {
                    self.schedule_read();
                }
                let p = self.proto.borrow().value();
                let name = names(|n| n.data_received);
                if let Err(e) = call_method(vm, &p, name, vec![data]) {
                    let ev = exc_value(vm, e);
                    if is_fatal(vm, &ev) {
                        return Err(vm.exc_from_value(ev)?);
                    }
                    self.fatal_error(vm, ev, "Fatal error: protocol.data_received() call failed.");
                }
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => {
                let ev = io_error_value(vm, &e);
                self.fatal_error(vm, ev, "Fatal read error on socket transport");
                Ok(())
            }
        }
    }

    fn on_eof(&self, vm: &mut Vm) -> Res<()> {
        self.reading.set(false);
        if self.kind == Kind::ReadPipe {
            // `_UnixReadPipeTransport`: EOF closes the pipe transport.
            self.closing.set(true);
            let t = self.rc();
            self.lp.call_soon_native(move |vm| {
                let p = t.proto.borrow().clone_ref();
                match p {
                    Proto::Stream(sp) => {
                        sp.eof_received();
                        Ok(())
                    }
                    Proto::Script(v) => {
                        let name = names(|n| n.eof_received);
                        call_method(vm, &v, name, vec![]).map(|_| ())
                    }
                    Proto::None => Ok(()),
                }
            });
            self.conn_lost.set(self.conn_lost.get() + 1);
            let t = self.rc();
            self.lp.call_soon_native(move |vm| t.call_connection_lost(vm, Value::None));
            return Ok(());
        }
        let p = self.proto.borrow().clone_ref();
        let keep_open = match p {
            Proto::None => true,
            Proto::Stream(sp) => sp.eof_received(),
            Proto::Script(v) => {
                let name = names(|n| n.eof_received);
                match call_method(vm, &v, name, vec![]) {
                    Ok(r) => vm.truthy(&r)?,
                    Err(e) => {
                        let ev = exc_value(vm, e);
                        if is_fatal(vm, &ev) {
                            return Err(vm.exc_from_value(ev)?);
                        }
                        self.fatal_error(vm, ev, "Fatal error: protocol.eof_received() call failed.");
                        return Ok(());
                    }
                }
            }
        };
        if !keep_open {
            self.close();
        }
        Ok(())
    }

    /// `write(data)`.
    pub fn write(&self, vm: &mut Vm, data: &[u8]) -> Res<()> {
        if self.kind == Kind::ReadPipe {
            return Err(Exc::attribute_error("'_UnixReadPipeTransport' object has no attribute 'write'"));
        }
        if self.eof.get() {
            return Err(Exc::runtime_error("Cannot call write() after write_eof()"));
        }
        if data.is_empty() {
            return Ok(());
        }
        if self.conn_lost.get() > 0 || (self.kind == Kind::WritePipe && self.closing.get()) {
            if self.conn_lost.get() >= 5 {
                vm.write_stderr(if self.kind == Kind::WritePipe {
                    "pipe closed by peer or os.write(pipe, data) raised exception.\n"
                } else {
                    "socket.send() raised exception.\n"
                });
            }
            self.conn_lost.set(self.conn_lost.get() + 1);
            return Ok(());
        }
        let mut off = 0;
        if self.buffer_size() == 0 {
            let r = {
                let mut sock = self.sock.borrow_mut();
                let Some(s) = sock.as_mut() else { return Ok(()) };
                loop {
                    match s.write(&data[off..]) {
                        Ok(n) => {
                            off += n;
                            if off == data.len() || n == 0 {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break Ok(()),
                        Err(e) => break Err(e),
                    }
                }
            };
            if let Err(e) = r {
                let ev = io_error_value(vm, &e);
                self.fatal_error(vm, ev, "Fatal write error on socket transport");
                return Ok(());
            }
            if off == data.len() {
                return Ok(());
            }
        }
        self.wbuf.borrow_mut().extend_from_slice(&data[off..]);
        self.maybe_pause_protocol(vm);
        Ok(())
    }

    /// `get_write_buffer_size()`.
    pub fn buffer_size(&self) -> usize {
        self.wbuf.borrow().len() - self.wpos.get()
    }

    fn maybe_pause_protocol(&self, vm: &mut Vm) {
        if self.buffer_size() <= self.high.get() || self.proto_paused.get() {
            return;
        }
        self.proto_paused.set(true);
        let p = self.proto.borrow().clone_ref();
        match p {
            Proto::Stream(sp) => sp.pause_writing(),
            Proto::Script(v) => {
                let name = names(|n| n.pause_writing);
                if let Err(e) = call_method(vm, &v, name, vec![]) {
                    let ev = exc_value(vm, e);
                    report(
                        vm,
                        "protocol.pause_writing() failed",
                        Some(&ev),
                        vec![("transport", Value::Other(self.rc())), ("protocol", v.clone())],
                    );
                }
            }
            Proto::None => {}
        }
    }

    fn maybe_resume_protocol(&self, vm: &mut Vm) {
        if !self.proto_paused.get() || self.buffer_size() > self.low.get() {
            return;
        }
        self.proto_paused.set(false);
        let p = self.proto.borrow().clone_ref();
        match p {
            Proto::Stream(sp) => sp.resume_writing(),
            Proto::Script(v) => {
                let name = names(|n| n.resume_writing);
                if let Err(e) = call_method(vm, &v, name, vec![]) {
                    let ev = exc_value(vm, e);
                    report(
                        vm,
                        "protocol.resume_writing() failed",
                        Some(&ev),
                        vec![("transport", Value::Other(self.rc())), ("protocol", v.clone())],
                    );
                }
            }
            Proto::None => {}
        }
    }

    /// Sends buffered data on a writable event.
    fn write_ready(&self, vm: &mut Vm) -> Res<()> {
        if self.buffer_size() == 0 || self.conn_lost.get() > 0 {
            return Ok(());
        }
        let r = {
            let mut sock = self.sock.borrow_mut();
            let Some(s) = sock.as_mut() else { return Ok(()) };
            let mut buf = self.wbuf.borrow_mut();
            let mut pos = self.wpos.get();
            let r = loop {
                if pos == buf.len() {
                    break Ok(());
                }
                match s.write(&buf[pos..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => pos += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            if pos == buf.len() {
                buf.clear();
                pos = 0;
            } else if pos > 64 * 1024 && pos * 2 > buf.len() {
                buf.drain(..pos);
                pos = 0;
            }
            self.wpos.set(pos);
            r
        };
        if let Err(e) = r {
            self.wbuf.borrow_mut().clear();
            self.wpos.set(0);
            let ev = io_error_value(vm, &e);
            self.fatal_error(vm, ev, "Fatal write error on socket transport");
            return Ok(());
        }
        self.maybe_resume_protocol(vm);
        if self.buffer_size() == 0 {
            if self.closing.get() {
                self.call_connection_lost(vm, Value::None)?;
            } else if self.eof.get() {
                if let Some(s) = self.sock.borrow().as_ref() {
                    let _ = s.shutdown_write();
                }
            }
        }
        Ok(())
    }

    /// `write_eof()`.
    pub fn write_eof(&self, vm: &mut Vm) -> Res<()> {
        if self.closing.get() || self.eof.get() {
            return Ok(());
        }
        if self.kind == Kind::WritePipe {
            // A pipe has no half-close: closing it is its EOF.
            self.close();
            return Ok(());
        }
        self.eof.set(true);
        if self.buffer_size() == 0 {
            if let Some(s) = self.sock.borrow().as_ref() {
                if let Err(e) = s.shutdown_write() {
                    if e.kind() != ErrorKind::NotConnected {
                        return Err(io_error(vm, &e));
                    }
                }
            }
        }
        Ok(())
    }

    /// `can_write_eof()`.
    pub fn can_write_eof(&self) -> bool {
        self.kind != Kind::ReadPipe
    }

    /// `close()`: stops reading; closes once the buffer is sent.
    pub fn close(&self) {
        if self.closing.get() {
            return;
        }
        self.closing.set(true);
        self.reading.set(false);
        if self.buffer_size() == 0 {
            self.conn_lost.set(self.conn_lost.get() + 1);
            let t = self.rc();
            self.lp.call_soon_native(move |vm| t.call_connection_lost(vm, Value::None));
        }
    }

    /// `abort()`.
    pub fn abort(&self) {
        self.force_close(Value::None);
    }

    fn force_close(&self, exc: Value) {
        if self.conn_lost.get() > 0 {
            return;
        }
        self.wbuf.borrow_mut().clear();
        self.wpos.set(0);
        self.closing.set(true);
        self.reading.set(false);
        self.conn_lost.set(self.conn_lost.get() + 1);
        let t = self.rc();
        self.lp.call_soon_native(move |vm| t.call_connection_lost(vm, exc));
    }

    fn fatal_error(&self, vm: &mut Vm, exc: Value, message: &str) {
        if !is_os_error(vm, &exc) {
            report(vm, message, Some(&exc), vec![("transport", Value::Other(self.rc()))]);
        }
        self.force_close(exc);
    }

    fn call_connection_lost(&self, vm: &mut Vm, exc: Value) -> Res<()> {
        let p = std::mem::replace(&mut *self.proto.borrow_mut(), Proto::None);
        let r = match p {
            Proto::None => Ok(()),
            Proto::Stream(sp) => {
                sp.connection_lost(vm, exc);
                Ok(())
            }
            Proto::Script(v) => {
                let name = names(|n| n.connection_lost);
                call_method(vm, &v, name, vec![exc]).map(|_| ())
            }
        };
        self.release();
        let f = self.on_lost.borrow_mut().take();
        if let Some(f) = f {
            f(vm);
        }
        let server = self.server.borrow_mut().take();
        if let Some(s) = server {
            s.detach();
        }
        r
    }

    /// Deregisters and closes the OS object.
    fn release(&self) {
        let sock = self.sock.borrow_mut().take();
        if let Some(mut s) = sock {
            if let Some(tok) = self.token.take() {
                self.lp.io_deregister(s.source(), tok);
            }
        }
    }

    /// `get_extra_info(name, default)`.
    pub fn get_extra_info(&self, vm: &mut Vm, name: &Value, default: Value) -> Res<Value> {
        let Value::Str(s) = name else { return Ok(default) };
        let _ = vm;
        Ok(match s.as_str() {
            "peername" if self.kind == Kind::Socket => self.peername.clone(),
            "sockname" if self.kind == Kind::Socket => self.sockname.clone(),
            "socket" if self.kind == Kind::Socket => self.socket.clone(),
            "pipe" if self.kind != Kind::Socket => self.socket.clone(),
            _ => default,
        })
    }

    fn set_write_buffer_limits(&self, high: Option<i64>, low: Option<i64>) -> Res<()> {
        let high = match (high, low) {
            (Some(h), _) => h,
            (None, Some(l)) => 4 * l,
            (None, None) => 64 * 1024,
        };
        let low = low.unwrap_or(high / 4);
        if !(high >= low && low >= 0) {
            return Err(Exc::value_error(format!("high ({high}) must be >= low ({low}) must be >= 0")));
        }
        self.high.set(high as usize);
        self.low.set(low as usize);
        Ok(())
    }

    /// The class name CPython shows.
    fn class_name(&self) -> &'static str {
        match self.kind {
            Kind::Socket => "_SelectorSocketTransport",
            Kind::ReadPipe => "_UnixReadPipeTransport",
            Kind::WritePipe => "_UnixWritePipeTransport",
        }
    }
}

/// KeyboardInterrupt and SystemExit are never swallowed by a transport.
fn is_fatal(vm: &Vm, e: &Value) -> bool {
    matches!(e, Value::Instance(i) if i.class.is_subclass(vm.exc_class(ExcKind::KeyboardInterrupt))
        || i.class.is_subclass(vm.exc_class(ExcKind::SystemExit)))
}

impl IoHandler for Transport {
    fn io_ready(self: Rc<Self>, vm: &mut Vm, ready: Ready) -> Res<()> {
        if self.sock.borrow().is_none() {
            return Ok(());
        }
        if ready.hup() {
            self.hup.set(true);
        }
        if ready.writable() {
            if self.kind == Kind::WritePipe && ready.hup() {
                // The reader closed the pipe (EPOLLERR): `_UnixWritePipeTransport._read_ready`.
                if self.buffer_size() > 0 {
                    let e = plain_error(vm, ExcKind::BrokenPipeError, "");
                    let ev = exc_value(vm, e);
                    self.force_close(ev);
                } else {
                    self.close();
                }
                return Ok(());
            }
            self.write_ready(vm)?;
        }
        if ready.readable() && self.kind != Kind::WritePipe {
            self.read_ready(vm)?;
        }
        Ok(())
    }
}

fn t_arg(a: &Args) -> Res<Rc<Transport>> {
    this::<Transport>(a, "Transport")
}
fn tr_write(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    let d = a.pos.get(1).cloned().unwrap_or(Value::None);
    let data = data_arg(vm, &d)?;
    t.write(vm, &data)?;
    Ok(Value::None)
}
fn tr_writelines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    let items = vm.collect(&a.pos.get(1).cloned().unwrap_or(Value::None))?;
    let mut all = Vec::new();
    for it in &items {
        all.extend_from_slice(&data_arg(vm, it)?);
    }
    t.write(vm, &all)?;
    Ok(Value::None)
}
fn tr_write_eof(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    t_arg(a)?.write_eof(vm)?;
    Ok(Value::None)
}
fn tr_can_write_eof(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(t_arg(a)?.can_write_eof()))
}
fn tr_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    t_arg(a)?.close();
    Ok(Value::None)
}
fn tr_abort(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    t_arg(a)?.abort();
    Ok(Value::None)
}
fn tr_is_closing(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(t_arg(a)?.is_closing()))
}
fn tr_pause_reading(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    t_arg(a)?.pause_reading();
    Ok(Value::None)
}
fn tr_resume_reading(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    t_arg(a)?.resume_reading();
    Ok(Value::None)
}
fn tr_is_reading(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    Ok(Value::Bool(!t.paused.get() && !t.closing.get()))
}
fn tr_get_extra_info(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    let default = take_kw(a, "default").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let name = take_kw(a, "name").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    t.get_extra_info(vm, &name, default)
}
fn tr_set_write_buffer_limits(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    let high = take_kw(a, "high").or_else(|| a.pos.get(1).cloned());
    let low = take_kw(a, "low").or_else(|| a.pos.get(2).cloned());
    let high = opt_int(vm, &high)?;
    let low = opt_int(vm, &low)?;
    t.set_write_buffer_limits(high, low)?;
    t.maybe_pause_protocol(vm);
    Ok(Value::None)
}
fn tr_get_write_buffer_limits(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    Ok(Value::tuple(vec![Value::Int(t.low.get() as i64), Value::Int(t.high.get() as i64)]))
}
fn tr_get_write_buffer_size(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(t_arg(a)?.buffer_size() as i64))
}
fn tr_get_protocol(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(t_arg(a)?.proto.borrow().value())
}
fn tr_set_protocol(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = t_arg(a)?;
    let p = a.pos.get(1).cloned().unwrap_or(Value::None);
    *t.proto.borrow_mut() = Proto::from_value(&p);
    Ok(Value::None)
}

impl NativeObject for Transport {
    fn type_name(&self) -> &'static str {
        self.class_name()
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "write" => ("write", tr_write as NativeFn),
                "writelines" => ("writelines", tr_writelines as NativeFn),
                "write_eof" => ("write_eof", tr_write_eof as NativeFn),
                "can_write_eof" => ("can_write_eof", tr_can_write_eof as NativeFn),
                "close" => ("close", tr_close as NativeFn),
                "abort" => ("abort", tr_abort as NativeFn),
                "is_closing" => ("is_closing", tr_is_closing as NativeFn),
                "pause_reading" => ("pause_reading", tr_pause_reading as NativeFn),
                "resume_reading" => ("resume_reading", tr_resume_reading as NativeFn),
                "is_reading" => ("is_reading", tr_is_reading as NativeFn),
                "get_extra_info" => ("get_extra_info", tr_get_extra_info as NativeFn),
                "set_write_buffer_limits" => ("set_write_buffer_limits", tr_set_write_buffer_limits as NativeFn),
                "get_write_buffer_limits" => ("get_write_buffer_limits", tr_get_write_buffer_limits as NativeFn),
                "get_write_buffer_size" => ("get_write_buffer_size", tr_get_write_buffer_size as NativeFn),
                "get_protocol" => ("get_protocol", tr_get_protocol as NativeFn),
                "set_protocol" => ("set_protocol", tr_set_protocol as NativeFn),
                _ => return None,
            })
        });
        Ok(f.map(|(n, f)| bound_native(this.clone(), n, f)))
    }
    fn repr(&self) -> String {
        let mut info = vec![self.class_name().to_string()];
        if self.sock.borrow().is_none() {
            info.push("closed".into());
        } else if self.closing.get() {
            info.push("closing".into());
        }
        info.push(format!("fd={}", self.fd));
        if self.sock.borrow().is_some() {
            if self.kind != Kind::WritePipe {
                info.push(if self.reading.get() { "read=polling".into() } else { "read=idle".into() });
            }
            if self.kind != Kind::ReadPipe {
                let n = self.buffer_size();
                let state = if n > 0 { "polling" } else { "idle" };
                info.push(format!("write=<{state}, bufsize={n}>"));
            }
        }
        format!("<{}>", info.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The extra info of a connected TCP socket: `(sockname, peername, socket)`.
pub fn tcp_extra(s: &mio::net::TcpStream) -> (Value, Value, Value) {
    let local = s.local_addr().ok();
    let peer = s.peer_addr().ok();
    let sockname = local.as_ref().map(super::support::addr_value).unwrap_or(Value::None);
    let peername = peer.as_ref().map(super::support::addr_value).unwrap_or(Value::None);
    let family = match local {
        Some(std::net::SocketAddr::V6(_)) => 10,
        _ => 2,
    };
    let sock = TransportSocket::value(s.as_raw_fd(), family, 1, 6, sockname.clone(), peername.clone());
    (sockname, peername, sock)
}

/// The extra info of a connected Unix socket.
pub fn unix_extra(s: &mio::net::UnixStream) -> (Value, Value, Value) {
    let sockname = s.local_addr().map(|a| super::support::unix_addr_value(&a)).unwrap_or(Value::None);
    let peername = s.peer_addr().map(|a| super::support::unix_addr_value(&a)).unwrap_or(Value::None);
    let sock = TransportSocket::value(s.as_raw_fd(), 1, 1, 0, sockname.clone(), peername.clone());
    (sockname, peername, sock)
}
