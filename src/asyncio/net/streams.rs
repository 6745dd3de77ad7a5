//! Streams: `StreamReader` (a byte buffer the transport feeds, read by native coroutines
//! that finish without a future when the data is already there), `StreamReaderProtocol`
//! (the native protocol between a transport and a reader, with the write flow control
//! `drain` waits on) and `StreamWriter`.

use super::support::{coro, data_arg, downcast_value, exc_value, plain_error, this, Op, Step};
use super::transport::Transport;
use crate::asyncio::event_loop::EventLoop;
use crate::asyncio::future::{future_value, FutureObj};
use crate::asyncio::Methods;
use crate::builtins::{bound_native, take_kw};
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

crate::self_rc!(StreamReader);
crate::self_rc!(StreamProtocol);
crate::self_rc!(StreamWriter);

/// `asyncio.streams._DEFAULT_LIMIT`.
pub const DEFAULT_LIMIT: usize = 1 << 16;

// ---------------------------------------------------------------- StreamReader

/// `asyncio.StreamReader`.
pub struct StreamReader {
    me: Weak<StreamReader>,
    /// The line length limit (and half the buffer limit).
    pub limit: usize,
    lp: Rc<EventLoop>,
    /// Buffered bytes are `buf[start..]`.
    buf: RefCell<Vec<u8>>,
    start: Cell<usize>,
    eof: Cell<bool>,
    exception: RefCell<Value>,
    waiter: RefCell<Option<Rc<FutureObj>>>,
    transport: RefCell<Option<Rc<Transport>>>,
    paused: Cell<bool>,
}

impl StreamReader {
    /// A reader on `lp`.
    pub fn new(lp: &Rc<EventLoop>, limit: usize) -> Rc<StreamReader> {
        Rc::new_cyclic(|me| StreamReader {
            me: me.clone(),
            limit,
            lp: lp.clone(),
            buf: RefCell::default(),
            start: Cell::new(0),
            eof: Cell::new(false),
            exception: RefCell::new(Value::None),
            waiter: RefCell::new(None),
            transport: RefCell::new(None),
            paused: Cell::new(false),
        })
    }

    /// Buffered byte count.
    pub fn len(&self) -> usize {
        self.buf.borrow().len() - self.start.get()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets the transport to pause and resume.
    pub fn set_transport(&self, t: Option<Rc<Transport>>) {
        *self.transport.borrow_mut() = t;
    }

    fn wakeup(&self) {
        let w = self.waiter.borrow_mut().take();
        if let Some(w) = w {
            if !w.done() {
                let _ = w.set_result(Value::None);
            }
        }
    }

    /// `feed_data`: appends and wakes the reader; pauses the transport past twice the limit.
    pub fn feed_data(&self, data: &[u8]) -> Res<()> {
        if self.eof.get() {
            return Err(Exc::new(ExcKind::AssertionError, "feed_data after feed_eof"));
        }
        if data.is_empty() {
            return Ok(());
        }
        {
            let mut b = self.buf.borrow_mut();
            let s = self.start.get();
            if s > 0 && s == b.len() {
                b.clear();
                self.start.set(0);
            } else if s > 4096 && s * 2 > b.len() {
                b.drain(..s);
                self.start.set(0);
            }
            b.extend_from_slice(data);
        }
        self.wakeup();
        if !self.paused.get() && self.len() > 2 * self.limit {
            let t = self.transport.borrow().clone();
            if let Some(t) = t {
                t.pause_reading();
                self.paused.set(true);
            }
        }
        Ok(())
    }

    /// `feed_eof`.
    pub fn feed_eof(&self) {
        self.eof.set(true);
        self.wakeup();
    }

    /// `set_exception`: stored, and given to a waiting reader.
    pub fn set_exception(&self, vm: &mut Vm, exc: Value) {
        *self.exception.borrow_mut() = exc.clone();
        let w = self.waiter.borrow_mut().take();
        if let Some(w) = w {
            if !w.done() {
                let _ = w.set_exception(vm, exc);
            }
        }
    }

    /// `exception()`.
    pub fn exception(&self) -> Value {
        self.exception.borrow().clone()
    }

    fn raise_exception(&self, vm: &mut Vm) -> Res<()> {
        let e = self.exception.borrow().clone();
        if e.is_none() {
            Ok(())
        } else {
            Err(vm.exc_from_value(e)?)
        }
    }

    /// Removes and returns the first `n` buffered bytes.
    fn take(&self, n: usize) -> Vec<u8> {
        let mut b = self.buf.borrow_mut();
        let s = self.start.get();
        let n = n.min(b.len() - s);
        let out = b[s..s + n].to_vec();
        if s + n == b.len() {
            b.clear();
            self.start.set(0);
        } else {
            self.start.set(s + n);
        }
        out
    }

    fn clear(&self) {
        self.buf.borrow_mut().clear();
        self.start.set(0);
    }

    fn maybe_resume(&self) {
        if self.paused.get() && self.len() <= self.limit {
            self.paused.set(false);
            let t = self.transport.borrow().clone();
            if let Some(t) = t {
                t.resume_reading();
            }
        }
    }

    /// `_wait_for_data`: the future a reader parks on until data, EOF or an error arrives.
    fn wait_for_data(&self, func: &str) -> Res<Rc<FutureObj>> {
        if self.waiter.borrow().is_some() {
            return Err(Exc::runtime_error(format!(
                "{func}() called while another coroutine is already waiting for incoming data"
            )));
        }
        if self.paused.get() {
            self.paused.set(false);
            let t = self.transport.borrow().clone();
            if let Some(t) = t {
                t.resume_reading();
            }
        }
        let f = FutureObj::new(&self.lp, None);
        *self.waiter.borrow_mut() = Some(f.clone());
        Ok(f)
    }

    /// The index of `sep` in the buffer at or after `from` (relative to the buffered data).
    fn find(&self, sep: &[u8], from: usize) -> Option<usize> {
        let b = self.buf.borrow();
        let data = &b[self.start.get()..];
        if sep.len() == 1 {
            return data.get(from..)?.iter().position(|&c| c == sep[0]).map(|i| i + from);
        }
        if data.len() < sep.len() {
            return None;
        }
        (from..=data.len() - sep.len()).find(|&i| &data[i..i + sep.len()] == sep)
    }

    fn starts_with_at(&self, sep: &[u8], at: usize) -> bool {
        let b = self.buf.borrow();
        let data = &b[self.start.get()..];
        data.get(at..at + sep.len()) == Some(sep)
    }
}

fn bytes(v: Vec<u8>) -> Value {
    Value::Bytes(Rc::from(v))
}

fn incomplete_read(vm: &mut Vm, partial: Vec<u8>, expected: Value) -> Exc {
    let class = Value::Class(vm.exc_class(ExcKind::IncompleteReadError).clone());
    match vm.call(&class, vec![bytes(partial), expected]) {
        Ok(v) => vm.exc_from_value(v).unwrap_or_else(|e| e),
        Err(e) => e,
    }
}

fn limit_overrun(vm: &mut Vm, msg: &str, consumed: usize) -> Exc {
    let class = Value::Class(vm.exc_class(ExcKind::LimitOverrunError).clone());
    match vm.call(&class, vec![Value::str(msg), Value::Int(consumed as i64)]) {
        Ok(v) => vm.exc_from_value(v).unwrap_or_else(|e| e),
        Err(e) => e,
    }
}

/// Which read a [`ReadOp`] performs.
enum ReadKind {
    Read(usize),
    ReadAll,
    Exactly(usize),
    Until(Rc<[u8]>),
    Line,
    ANext,
}

/// The coroutine behind every `StreamReader` read: it finishes at once when the buffer
/// already satisfies it, else parks on the reader's waiter and looks again when woken.
struct ReadOp {
    r: Rc<StreamReader>,
    kind: ReadKind,
    /// `readuntil`'s scan position, kept across wake-ups.
    offset: Cell<usize>,
    /// `read()`'s accumulated blocks.
    acc: RefCell<Vec<u8>>,
    waiting: RefCell<Option<Rc<FutureObj>>>,
}

impl ReadOp {
    fn clear_waiter(&self) {
        if let Some(f) = self.waiting.borrow_mut().take() {
            let mut w = self.r.waiter.borrow_mut();
            if w.as_ref().is_some_and(|x| Rc::ptr_eq(x, &f)) {
                *w = None;
            }
        }
    }

    fn wait(&self, func: &str) -> Res<Step> {
        let f = self.r.wait_for_data(func)?;
        *self.waiting.borrow_mut() = Some(f.clone());
        Ok(Step::Wait(f))
    }

    /// `readuntil`: `Ok(Ok(chunk))`, or `Ok(Err(step))` to wait.
    fn until(&self, vm: &mut Vm, sep: &[u8], func: &str) -> Res<Result<Vec<u8>, Step>> {
        let r = &self.r;
        r.raise_exception(vm)?;
        let seplen = sep.len();
        let buflen = r.len();
        let offset = self.offset.get();
        let mut found = None;
        if buflen >= offset + seplen {
            found = r.find(sep, offset);
            if found.is_none() {
                let off = buflen + 1 - seplen;
                self.offset.set(off);
                if off > r.limit {
                    return Err(limit_overrun(vm, "Separator is not found, and chunk exceed the limit", off));
                }
            }
        }
        let Some(isep) = found else {
            if r.eof.get() {
                let chunk = r.take(r.len());
                return Err(incomplete_read(vm, chunk, Value::None));
            }
            return Ok(Err(self.wait(func)?));
        };
        if isep > r.limit {
            return Err(limit_overrun(vm, "Separator is found, but chunk is longer than limit", isep));
        }
        let chunk = r.take(isep + seplen);
        r.maybe_resume();
        Ok(Ok(chunk))
    }

    fn line(&self, vm: &mut Vm, func: &str) -> Res<Result<Vec<u8>, Step>> {
        match self.until(vm, b"\n", func) {
            Ok(x) => Ok(x),
            Err(e) => {
                let inst = vm.materialize(e);
                if inst.class.is_subclass(vm.exc_class(ExcKind::IncompleteReadError)) {
                    let partial = match inst.get_attr(Sym::new("partial")) {
                        Some(Value::Bytes(b)) => b.to_vec(),
                        _ => Vec::new(),
                    };
                    return Ok(Ok(partial));
                }
                if inst.class.is_subclass(vm.exc_class(ExcKind::LimitOverrunError)) {
                    let consumed = match inst.get_attr(Sym::new("consumed")) {
                        Some(Value::Int(n)) => n.max(0) as usize,
                        _ => 0,
                    };
                    if self.r.starts_with_at(b"\n", consumed) {
                        self.r.take(consumed + 1);
                    } else {
                        self.r.clear();
                    }
                    self.r.maybe_resume();
                    let msg = match inst.get_attr(vm.syms.args) {
                        Some(Value::Tuple(t)) if !t.is_empty() => t[0].clone(),
                        _ => Value::str(""),
                    };
                    return Err(vm.exception_with_args(ExcKind::ValueError, vec![msg]));
                }
                Err(Exc::Obj(inst))
            }
        }
    }
}

impl Op for ReadOp {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        self.clear_waiter();
        let r = &self.r;
        match &self.kind {
            ReadKind::Read(n) => {
                r.raise_exception(vm)?;
                if *n == 0 {
                    return Ok(Step::Done(bytes(Vec::new())));
                }
                if r.is_empty() && !r.eof.get() {
                    return self.wait("read");
                }
                let data = r.take(*n);
                r.maybe_resume();
                Ok(Step::Done(bytes(data)))
            }
            ReadKind::ReadAll => loop {
                r.raise_exception(vm)?;
                if !r.is_empty() {
                    let block = r.take(r.limit);
                    r.maybe_resume();
                    self.acc.borrow_mut().extend_from_slice(&block);
                    continue;
                }
                if r.eof.get() {
                    return Ok(Step::Done(bytes(std::mem::take(&mut *self.acc.borrow_mut()))));
                }
                return self.wait("read");
            },
            ReadKind::Exactly(n) => {
                r.raise_exception(vm)?;
                if *n == 0 {
                    return Ok(Step::Done(bytes(Vec::new())));
                }
                if r.len() < *n {
                    if r.eof.get() {
                        let partial = r.take(r.len());
                        return Err(incomplete_read(vm, partial, Value::Int(*n as i64)));
                    }
                    return self.wait("readexactly");
                }
                let data = r.take(*n);
                r.maybe_resume();
                Ok(Step::Done(bytes(data)))
            }
            ReadKind::Until(sep) => Ok(match self.until(vm, sep, "readuntil")? {
                Ok(chunk) => Step::Done(bytes(chunk)),
                Err(step) => step,
            }),
            ReadKind::Line => Ok(match self.line(vm, "readuntil")? {
                Ok(chunk) => Step::Done(bytes(chunk)),
                Err(step) => step,
            }),
            ReadKind::ANext => match self.line(vm, "readuntil")? {
                Ok(chunk) if chunk.is_empty() => Err(Exc::new(ExcKind::StopAsyncIteration, "")),
                Ok(chunk) => Ok(Step::Done(bytes(chunk))),
                Err(step) => Ok(step),
            },
        }
    }
    fn abort(&self, _vm: &mut Vm) {
        self.clear_waiter();
    }
    fn qualname(&self) -> &'static str {
        match self.kind {
            ReadKind::Read(_) | ReadKind::ReadAll => "StreamReader.read",
            ReadKind::Exactly(_) => "StreamReader.readexactly",
            ReadKind::Until(_) => "StreamReader.readuntil",
            ReadKind::Line => "StreamReader.readline",
            ReadKind::ANext => "StreamReader.__anext__",
        }
    }
}

fn read_op(r: &Rc<StreamReader>, kind: ReadKind) -> Value {
    coro(ReadOp { r: r.clone(), kind, offset: Cell::new(0), acc: RefCell::default(), waiting: RefCell::new(None) })
}

fn reader_arg(a: &Args) -> Res<Rc<StreamReader>> {
    this::<StreamReader>(a, "StreamReader")
}

fn sr_read(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    let n = match take_kw(a, "n").or_else(|| a.pos.get(1).cloned()) {
        None => -1,
        Some(v) => vm.index_value(&v)?,
    };
    let kind = if n < 0 { ReadKind::ReadAll } else { ReadKind::Read(n as usize) };
    Ok(read_op(&r, kind))
}
fn sr_readline(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    Ok(read_op(&r, ReadKind::Line))
}
fn sr_readexactly(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    let v = take_kw(a, "n")
        .or_else(|| a.pos.get(1).cloned())
        .ok_or_else(|| Exc::type_error("StreamReader.readexactly() missing 1 required positional argument: 'n'"))?;
    let n = vm.index_value(&v)?;
    if n < 0 {
        // CPython raises when the coroutine runs; raising at the call is what scripts see
        // in practice (the call is awaited at once).
        return Err(Exc::value_error("readexactly size can not be less than zero"));
    }
    Ok(read_op(&r, ReadKind::Exactly(n as usize)))
}
fn sr_readuntil(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    let sep: Rc<[u8]> = match take_kw(a, "separator").or_else(|| a.pos.get(1).cloned()) {
        None => Rc::from(&b"\n"[..]),
        Some(v) => Rc::from(vm.bytes_like(&v)?),
    };
    if sep.is_empty() {
        return Err(Exc::value_error("Separator should be at least one-byte string"));
    }
    Ok(read_op(&r, ReadKind::Until(sep)))
}
fn sr_anext(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    Ok(read_op(&r, ReadKind::ANext))
}
fn sr_aiter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(a.pos[0].clone())
}
fn sr_at_eof(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    Ok(Value::Bool(r.eof.get() && r.is_empty()))
}
fn sr_feed_data(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    let d = a.pos.get(1).cloned().unwrap_or(Value::None);
    let data = vm.bytes_like(&d)?;
    r.feed_data(&data)?;
    Ok(Value::None)
}
fn sr_feed_eof(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    reader_arg(a)?.feed_eof();
    Ok(Value::None)
}
fn sr_exception(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(reader_arg(a)?.exception())
}
fn sr_set_exception(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    let e = a.pos.get(1).cloned().unwrap_or(Value::None);
    r.set_exception(vm, e);
    Ok(Value::None)
}
fn sr_set_transport(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let r = reader_arg(a)?;
    let t = a.pos.get(1).and_then(downcast_value::<Transport>);
    r.set_transport(t);
    Ok(Value::None)
}

thread_local! {
    static READER_METHODS: Methods = Methods::new(&[
        ("read", sr_read),
        ("readline", sr_readline),
        ("readexactly", sr_readexactly),
        ("readuntil", sr_readuntil),
        ("at_eof", sr_at_eof),
        ("feed_data", sr_feed_data),
        ("feed_eof", sr_feed_eof),
        ("exception", sr_exception),
        ("set_exception", sr_set_exception),
        ("set_transport", sr_set_transport),
        ("__aiter__", sr_aiter),
        ("__anext__", sr_anext),
    ]);
    static WRITER_METHODS: Methods = Methods::new(&[
        ("write", sw_write),
        ("drain", sw_drain),
        ("writelines", sw_writelines),
        ("write_eof", sw_write_eof),
        ("can_write_eof", sw_can_write_eof),
        ("close", sw_close),
        ("is_closing", sw_is_closing),
        ("wait_closed", sw_wait_closed),
        ("get_extra_info", sw_get_extra_info),
    ]);
}

impl NativeObject for StreamReader {
    fn type_name(&self) -> &'static str {
        "StreamReader"
    }
    fn method(&self, name: Sym) -> Option<Value> {
        READER_METHODS.with(|m| m.unbound(name))
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        if let Some((n, f)) = READER_METHODS.with(|m| m.get(name)) {
            return Ok(Some(bound_native(this.clone(), n, f)));
        }
        Ok(name.with_str(|s| match s {
            "_limit" => Some(Value::Int(self.limit as i64)),
            "_buffer" => {
                let b = self.buf.borrow();
                Some(Value::ByteArray(Rc::new(RefCell::new(b[self.start.get()..].to_vec()))))
            }
            "_eof" => Some(Value::Bool(self.eof.get())),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        let mut info = vec!["StreamReader".to_string()];
        let n = self.len();
        if n > 0 {
            info.push(format!("{n} bytes"));
        }
        if self.eof.get() {
            info.push("eof".into());
        }
        if self.limit != DEFAULT_LIMIT {
            info.push(format!("limit={}", self.limit));
        }
        if let Some(w) = &*self.waiter.borrow() {
            info.push(format!("waiter={}", w.repr()));
        }
        if let Some(t) = &*self.transport.borrow() {
            info.push(format!("transport={}", t.repr()));
        }
        if self.paused.get() {
            info.push("paused".into());
        }
        format!("<{}>", info.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `StreamReader(limit=65536, loop=None)`.
pub fn stream_reader_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    take_kw(a, "loop");
    let limit = match take_kw(a, "limit").or_else(|| a.pos.get(1).cloned()) {
        None => DEFAULT_LIMIT as i64,
        Some(v) => vm.index_value(&v)?,
    };
    if limit <= 0 {
        return Err(Exc::value_error("Limit cannot be <= 0"));
    }
    let lp = super::current_loop()?;
    Ok(Value::Other(StreamReader::new(&lp, limit as usize)))
}

// ---------------------------------------------------------------- StreamReaderProtocol

/// `asyncio.StreamReaderProtocol`: feeds a reader, starts the client callback of a stream
/// server, and holds the write flow control state `drain` waits on.
pub struct StreamProtocol {
    me: Weak<StreamProtocol>,
    lp: Rc<EventLoop>,
    /// The reader fed by the transport (none for a write-only pipe).
    pub reader: RefCell<Option<Rc<StreamReader>>>,
    client_cb: RefCell<Value>,
    /// The transport once `connection_made` ran.
    transport: RefCell<Option<Rc<Transport>>>,
    /// The client callback's task, kept alive while the connection lives.
    task: RefCell<Value>,
    /// A server connection's writer, kept (as CPython's protocol keeps it) until the
    /// connection is lost, so the handler may drop it without closing the connection.
    writer: RefCell<Option<Rc<StreamWriter>>>,
    paused: Cell<bool>,
    drain_waiters: RefCell<Vec<Rc<FutureObj>>>,
    connection_lost: Cell<bool>,
    closed: Rc<FutureObj>,
}

impl StreamProtocol {
    /// A protocol feeding `reader`, calling `client_cb(reader, writer)` on connection.
    pub fn new(lp: &Rc<EventLoop>, reader: Option<Rc<StreamReader>>, client_cb: Value) -> Rc<StreamProtocol> {
        Rc::new_cyclic(|me| StreamProtocol {
            me: me.clone(),
            lp: lp.clone(),
            reader: RefCell::new(reader),
            client_cb: RefCell::new(client_cb),
            transport: RefCell::new(None),
            task: RefCell::new(Value::None),
            writer: RefCell::new(None),
            paused: Cell::new(false),
            drain_waiters: RefCell::default(),
            connection_lost: Cell::new(false),
            closed: FutureObj::new(lp, None),
        })
    }

    fn reader(&self) -> Option<Rc<StreamReader>> {
        self.reader.borrow().clone()
    }

    /// `connection_made`.
    pub fn connection_made(self: &Rc<Self>, vm: &mut Vm, t: &Rc<Transport>) -> Res<()> {
        *self.transport.borrow_mut() = Some(t.clone());
        let reader = self.reader();
        if let Some(r) = &reader {
            r.set_transport(Some(t.clone()));
        }
        let cb = std::mem::replace(&mut *self.client_cb.borrow_mut(), Value::None);
        if !cb.is_none() {
            let writer = StreamWriter::new(t.clone(), self.clone(), reader.clone());
            *self.writer.borrow_mut() = Some(writer.clone());
            let rv = reader.map(|r| Value::Other(r as Rc<dyn NativeObject>)).unwrap_or(Value::None);
            let res = vm.call(&cb, vec![rv, Value::Other(writer)])?;
            if crate::asyncio::is_coroutine(&res) {
                let task = crate::asyncio::create_task(vm, &self.lp, res, None)?;
                // An exception ending the handler is reported and closes the connection.
                let cb = bound_native(Value::Other(t.clone()), "callback", client_task_done);
                task.add_callback(cb);
                *self.task.borrow_mut() = future_value(&task);
            }
        }
        Ok(())
    }

    /// `connection_lost(exc)`.
    pub fn connection_lost(&self, vm: &mut Vm, exc: Value) {
        if let Some(r) = self.reader() {
            if exc.is_none() {
                r.feed_eof();
            } else {
                r.set_exception(vm, exc.clone());
            }
        }
        if !self.closed.done() {
            if exc.is_none() {
                let _ = self.closed.set_result(Value::None);
            } else {
                let _ = self.closed.set_exception(vm, exc.clone());
                // Like CPython's `__del__`, never report it as unretrieved.
                self.closed.retrieved().set(true);
            }
        }
        self.connection_lost.set(true);
        if self.paused.get() {
            let waiters = self.drain_waiters.borrow().clone();
            for w in waiters {
                if !w.done() {
                    if exc.is_none() {
                        let _ = w.set_result(Value::None);
                    } else {
                        let _ = w.set_exception(vm, exc.clone());
                    }
                }
            }
        }
        *self.reader.borrow_mut() = None;
        *self.task.borrow_mut() = Value::None;
        *self.transport.borrow_mut() = None;
        let w = self.writer.borrow_mut().take();
        drop(w);
    }

    /// `data_received`.
    pub fn data_received(&self, data: &[u8]) -> Res<()> {
        match self.reader() {
            Some(r) => r.feed_data(data),
            None => Ok(()),
        }
    }

    /// `eof_received`: keeps the transport open for writing.
    pub fn eof_received(&self) -> bool {
        if let Some(r) = self.reader() {
            r.feed_eof();
        }
        true
    }

    /// `pause_writing`.
    pub fn pause_writing(&self) {
        self.paused.set(true);
    }

    /// `resume_writing`.
    pub fn resume_writing(&self) {
        self.paused.set(false);
        let waiters = self.drain_waiters.borrow().clone();
        for w in waiters {
            if !w.done() {
                let _ = w.set_result(Value::None);
            }
        }
    }
}

/// The done callback of a client handler task: `Unhandled exception in
/// client_connected_cb` closes the transport.
fn client_task_done(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let Some(t) = a.pos.first().and_then(downcast_value::<Transport>) else { return Ok(Value::None) };
    let Some(task) = a.pos.get(1).and_then(crate::asyncio::future::future_of) else { return Ok(Value::None) };
    if task.state.get() != crate::asyncio::future::State::Finished {
        return Ok(Value::None);
    }
    task.retrieved().set(true);
    let exc = task.exception();
    if !exc.is_none() {
        let tv = a.pos[0].clone();
        super::support::report(vm, "Unhandled exception in client_connected_cb", Some(&exc), vec![("transport", tv)]);
        t.close();
    }
    Ok(Value::None)
}

fn proto_arg(a: &Args) -> Res<Rc<StreamProtocol>> {
    this::<StreamProtocol>(a, "StreamReaderProtocol")
}
fn sp_connection_made(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = proto_arg(a)?;
    let t = a
        .pos
        .get(1)
        .and_then(downcast_value::<Transport>)
        .ok_or_else(|| Exc::type_error("a native transport is required"))?;
    p.connection_made(vm, &t)?;
    Ok(Value::None)
}
fn sp_connection_lost(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = proto_arg(a)?;
    p.connection_lost(vm, a.pos.get(1).cloned().unwrap_or(Value::None));
    Ok(Value::None)
}
fn sp_data_received(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = proto_arg(a)?;
    let d = a.pos.get(1).cloned().unwrap_or(Value::None);
    let data = vm.bytes_like(&d)?;
    p.data_received(&data)?;
    Ok(Value::None)
}
fn sp_eof_received(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(proto_arg(a)?.eof_received()))
}
fn sp_pause_writing(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    proto_arg(a)?.pause_writing();
    Ok(Value::None)
}
fn sp_resume_writing(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    proto_arg(a)?.resume_writing();
    Ok(Value::None)
}

impl NativeObject for StreamProtocol {
    fn type_name(&self) -> &'static str {
        "StreamReaderProtocol"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "connection_made" => ("connection_made", sp_connection_made as NativeFn),
                "connection_lost" => ("connection_lost", sp_connection_lost as NativeFn),
                "data_received" => ("data_received", sp_data_received as NativeFn),
                "eof_received" => ("eof_received", sp_eof_received as NativeFn),
                "pause_writing" => ("pause_writing", sp_pause_writing as NativeFn),
                "resume_writing" => ("resume_writing", sp_resume_writing as NativeFn),
                _ => return None,
            })
        });
        Ok(f.map(|(n, f)| bound_native(this.clone(), n, f)))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `StreamReaderProtocol(stream_reader, client_connected_cb=None, loop=None)`.
pub fn stream_protocol_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    take_kw(a, "loop");
    let reader = take_kw(a, "stream_reader").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    let cb = take_kw(a, "client_connected_cb").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let reader = match &reader {
        Value::None => None,
        v => Some(downcast_value::<StreamReader>(v).ok_or_else(|| Exc::type_error("a StreamReader is required"))?),
    };
    let lp = super::current_loop()?;
    Ok(Value::Other(StreamProtocol::new(&lp, reader, cb)))
}

// ---------------------------------------------------------------- StreamWriter

/// `asyncio.StreamWriter`: a transport plus the protocol whose flow control `drain` uses.
pub struct StreamWriter {
    me: Weak<StreamWriter>,
    /// The transport written to.
    pub transport: Rc<Transport>,
    protocol: Rc<StreamProtocol>,
    reader: Option<Rc<StreamReader>>,
}

impl Drop for StreamWriter {
    /// CPython's `StreamWriter.__del__`: a writer dropped while its transport is open
    /// closes it (CPython also warns with a ResourceWarning, ignored by default).
    fn drop(&mut self) {
        if !self.transport.is_closing() {
            self.transport.close();
        }
    }
}

impl StreamWriter {
    /// A writer over `transport`.
    pub fn new(transport: Rc<Transport>, protocol: Rc<StreamProtocol>, reader: Option<Rc<StreamReader>>) -> Rc<Self> {
        Rc::new_cyclic(|me| StreamWriter { me: me.clone(), transport, protocol, reader })
    }
}

fn writer_arg(a: &Args) -> Res<Rc<StreamWriter>> {
    this::<StreamWriter>(a, "StreamWriter")
}

fn sw_write(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let w = writer_arg(a)?;
    let d = a.pos.get(1).cloned().unwrap_or(Value::None);
    match &d {
        Value::Bytes(b) => w.transport.write(vm, b)?,
        _ => {
            let data = data_arg(vm, &d)?;
            w.transport.write(vm, &data)?
        }
    }
    Ok(Value::None)
}
fn sw_writelines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let w = writer_arg(a)?;
    let items = vm.collect(&a.pos.get(1).cloned().unwrap_or(Value::None))?;
    let mut all = Vec::new();
    for it in &items {
        all.extend_from_slice(&data_arg(vm, it)?);
    }
    w.transport.write(vm, &all)?;
    Ok(Value::None)
}
fn sw_write_eof(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    writer_arg(a)?.transport.write_eof(vm)?;
    Ok(Value::None)
}
fn sw_can_write_eof(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(writer_arg(a)?.transport.can_write_eof()))
}
fn sw_close(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    writer_arg(a)?.transport.close();
    Ok(Value::None)
}
fn sw_is_closing(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Bool(writer_arg(a)?.transport.is_closing()))
}
fn sw_get_extra_info(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let w = writer_arg(a)?;
    let default = take_kw(a, "default").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let name = take_kw(a, "name").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    w.transport.get_extra_info(vm, &name, default)
}
fn sw_wait_closed(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let w = writer_arg(a)?;
    Ok(coro(super::support::AwaitFuture(w.protocol.closed.clone(), Cell::new(false), "StreamWriter.wait_closed")))
}
fn sw_drain(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let w = writer_arg(a)?;
    Ok(coro(DrainOp { w, state: Cell::new(0), waiter: RefCell::new(None) }))
}

/// `StreamWriter.drain()`: returns at once unless the transport is closing (one loop
/// iteration, so `connection_lost` can run) or writing is paused (waits for the buffer to
/// drain below the low-water mark).
struct DrainOp {
    w: Rc<StreamWriter>,
    state: Cell<u8>,
    waiter: RefCell<Option<Rc<FutureObj>>>,
}

impl DrainOp {
    fn remove_waiter(&self) {
        if let Some(f) = self.waiter.borrow_mut().take() {
            self.w.protocol.drain_waiters.borrow_mut().retain(|x| !Rc::ptr_eq(x, &f));
        }
    }
}

impl Op for DrainOp {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        match self.state.get() {
            0 => {
                if let Some(r) = &self.w.reader {
                    r.raise_exception(vm)?;
                }
                if self.w.transport.is_closing() {
                    self.state.set(1);
                    return Ok(Step::Yield);
                }
            }
            1 => {}
            _ => {
                self.remove_waiter();
                return Ok(Step::Done(Value::None));
            }
        }
        let p = &self.w.protocol;
        if p.connection_lost.get() {
            return Err(plain_error(vm, ExcKind::ConnectionResetError, "Connection lost"));
        }
        if !p.paused.get() {
            return Ok(Step::Done(Value::None));
        }
        let f = FutureObj::new(&p.lp, None);
        p.drain_waiters.borrow_mut().push(f.clone());
        *self.waiter.borrow_mut() = Some(f.clone());
        self.state.set(2);
        Ok(Step::Wait(f))
    }
    fn abort(&self, _vm: &mut Vm) {
        self.remove_waiter();
    }
    fn qualname(&self) -> &'static str {
        "StreamWriter.drain"
    }
}

impl NativeObject for StreamWriter {
    fn type_name(&self) -> &'static str {
        "StreamWriter"
    }
    fn method(&self, name: Sym) -> Option<Value> {
        WRITER_METHODS.with(|m| m.unbound(name))
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        if let Some((n, f)) = WRITER_METHODS.with(|m| m.get(name)) {
            return Ok(Some(bound_native(this.clone(), n, f)));
        }
        Ok(name.with_str(|s| match s {
            "transport" => Some(Value::Other(self.transport.clone())),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        let mut s = format!("<StreamWriter transport={}", self.transport.repr());
        if let Some(r) = &self.reader {
            s.push_str(&format!(" reader={}", r.repr()));
        }
        s.push('>');
        s
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `StreamWriter(transport, protocol, reader, loop)`.
pub fn stream_writer_new(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    take_kw(a, "loop");
    let t = take_kw(a, "transport").or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::None);
    let p = take_kw(a, "protocol").or_else(|| a.pos.get(2).cloned()).unwrap_or(Value::None);
    let r = take_kw(a, "reader").or_else(|| a.pos.get(3).cloned()).unwrap_or(Value::None);
    let t = downcast_value::<Transport>(&t).ok_or_else(|| Exc::type_error("a native transport is required"))?;
    let p =
        downcast_value::<StreamProtocol>(&p).ok_or_else(|| Exc::type_error("a StreamReaderProtocol is required"))?;
    let r = match &r {
        Value::None => None,
        v => Some(downcast_value::<StreamReader>(v).ok_or_else(|| Exc::type_error("a StreamReader is required"))?),
    };
    Ok(Value::Other(StreamWriter::new(t, p, r)))
}

/// `IncompleteReadError.__init__(partial, expected)`.
pub fn incomplete_init(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    let partial = a.pos.get(1).cloned().unwrap_or(Value::None);
    let expected = a.pos.get(2).cloned().unwrap_or(Value::None);
    if let Value::Instance(i) = &this {
        let n = match &partial {
            Value::Bytes(b) => b.len(),
            Value::ByteArray(b) => b.borrow().len(),
            _ => 0,
        };
        let r = match &expected {
            Value::None => "undefined".to_string(),
            Value::Int(x) => x.to_string(),
            _ => "undefined".to_string(),
        };
        let msg = format!("{n} bytes read on a total of {r} expected bytes");
        i.set_attr(Sym::new("args"), Value::tuple(vec![Value::string(msg)]));
        i.set_attr(Sym::new("partial"), partial);
        i.set_attr(Sym::new("expected"), expected);
    }
    Ok(Value::None)
}

/// `LimitOverrunError.__init__(message, consumed)`.
pub fn overrun_init(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    if let Value::Instance(i) = &this {
        let msg = a.pos.get(1).cloned().unwrap_or(Value::None);
        i.set_attr(Sym::new("args"), Value::tuple(vec![msg]));
        i.set_attr(Sym::new("consumed"), a.pos.get(2).cloned().unwrap_or(Value::None));
    }
    Ok(Value::None)
}

/// An exception value for a reader (used by transports).
pub fn exc_for_reader(vm: &mut Vm, e: Exc) -> Value {
    exc_value(vm, e)
}
