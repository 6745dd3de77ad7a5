//! `open()` and file objects: `TextIOWrapper`, `BufferedReader`/`BufferedWriter`/
//! `BufferedRandom` and `FileIO`, as CPython's `io` module shapes them.
//!
//! A file object is a [`FileObj`] (the immutable description: name, mode, text settings)
//! around a shared [`Core`] (the OS file and its read and write buffers). The core holds no
//! script values, so a thread-local registry can keep weak references to every open core
//! and flush the pending writes of those still alive when the interpreter thread ends — a
//! file object caught in a reference cycle (a global of a module whose functions hold the
//! module's globals) would otherwise never be dropped, and its data never written.
//!
//! Text files work on the raw bytes: reads find line ends and character boundaries in the
//! byte buffer (the three codecs aio implements, UTF-8, ASCII and Latin-1, never put a
//! `\n` or `\r` byte inside a multi-byte character), then decode what they take. So
//! `tell()` is always the byte offset, which is also CPython's cookie for these codecs.

use super::bytes_methods::decode_with;
use super::str_methods::{encode_str, lookup_codec, Codec};
use super::{check_args, expect_str};
use crate::modules::os::os_error;
use crate::modules::params::{bind, Sig};
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Layout};
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::rc::{Rc, Weak};

/// Pending writes are handed to the OS once they reach this size.
const WRITE_BUFFER: usize = 8192;
/// How much one refill of the read buffer asks the OS for.
const READ_CHUNK: usize = 64 * 1024;

// ---------------------------------------------------------------- the OS side

/// The OS file with its buffers. `file` is `None` once closed.
struct Core {
    file: Option<File>,
    /// Bytes written by the script, not yet handed to the OS.
    wbuf: Vec<u8>,
    /// Bytes read ahead from the OS; `rbuf[rpos..]` are not yet consumed by the script.
    rbuf: Vec<u8>,
    rpos: usize,
    /// `buffering=0`: every write goes straight to the OS.
    unbuffered: bool,
}

impl Core {
    fn file(&mut self) -> std::io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| std::io::Error::from_raw_os_error(9))
    }

    /// Hands pending writes to the OS.
    fn flush_write(&mut self) -> std::io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.wbuf);
        let f = self.file()?;
        f.write_all(&data)
    }

    /// Forgets read-ahead bytes, moving the OS position back to the script's position.
    fn drop_read(&mut self) -> std::io::Result<()> {
        let unread = self.rbuf.len() - self.rpos;
        self.rbuf.clear();
        self.rpos = 0;
        if unread > 0 {
            self.file()?.seek(SeekFrom::Current(-(unread as i64)))?;
        }
        Ok(())
    }

    /// Before a read: hand pending writes to the OS first.
    fn start_read(&mut self) -> std::io::Result<()> {
        self.flush_write()
    }

    /// Reads more bytes onto the end of the read buffer; `false` at end of file. The
    /// consumed bytes are dropped first, so offsets from `rpos` stay valid across a fill
    /// (and absolute offsets do not).
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let f = self.file()?;
            match f.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.rbuf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Fills until at least `want` unconsumed bytes are buffered or the file ends.
    fn fill_to(&mut self, want: usize) -> std::io::Result<()> {
        while self.rbuf.len() - self.rpos < want {
            if !self.fill()? {
                break;
            }
        }
        Ok(())
    }

    /// Takes `rbuf[rpos..end]`.
    fn take(&mut self, end: usize) -> Vec<u8> {
        let out = self.rbuf[self.rpos..end].to_vec();
        self.rpos = end;
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
        out
    }

    /// Everything up to the end of the file.
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        self.start_read()?;
        let mut out = self.rbuf.split_off(self.rpos);
        self.rbuf.clear();
        self.rpos = 0;
        self.file()?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Up to `n` bytes (fewer only at the end of the file).
    fn read_bytes(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        self.start_read()?;
        self.fill_to(n)?;
        let end = self.rbuf.len().min(self.rpos.saturating_add(n));
        Ok(self.take(end))
    }

    /// One line as raw bytes, ending as `ends` decides, at most `limit` bytes long.
    fn read_line(&mut self, ends: LineEnd, limit: Option<usize>) -> std::io::Result<Vec<u8>> {
        self.start_read()?;
        // Offsets from `rpos`: `from` is where the search resumes after a fill.
        let mut from = 0;
        let len = loop {
            let buf = &self.rbuf[self.rpos..];
            let found = match ends {
                LineEnd::Lf => buf[from..].iter().position(|b| *b == b'\n').map(|i| Some(from + i + 1)),
                LineEnd::Cr => buf[from..].iter().position(|b| *b == b'\r').map(|i| Some(from + i + 1)),
                LineEnd::CrLf => buf[from..].windows(2).position(|w| w == b"\r\n").map(|i| Some(from + i + 2)),
                LineEnd::Any => buf[from..].iter().position(|b| *b == b'\n' || *b == b'\r').map(|i| {
                    let at = from + i;
                    match (buf[at], buf.get(at + 1)) {
                        (b'\n', _) => Some(at + 1),
                        (_, Some(b'\n')) => Some(at + 2),
                        (_, Some(_)) => Some(at + 1),
                        // A `\r` at the end of the buffer: the next byte decides.
                        (_, None) => None,
                    }
                }),
            };
            let have = buf.len();
            match found {
                Some(Some(len)) => break len,
                Some(None) => {
                    if limit.is_some_and(|l| have >= l) || !self.fill()? {
                        break have;
                    }
                    from = have - 1;
                }
                None => {
                    if limit.is_some_and(|l| have >= l) || !self.fill()? {
                        break have;
                    }
                    from = have.saturating_sub(1);
                }
            }
        };
        let len = match limit {
            Some(l) => len.min(l),
            None => len,
        };
        let end = self.rpos + len;
        Ok(self.take(end))
    }

    /// The script's position: the OS position adjusted for both buffers.
    fn tell(&mut self) -> std::io::Result<u64> {
        self.flush_write()?;
        let unread = (self.rbuf.len() - self.rpos) as u64;
        let pos = self.file()?.stream_position()?;
        Ok(pos.saturating_sub(unread))
    }

    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.flush_write()?;
        self.drop_read()?;
        self.file()?.seek(to)
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.drop_read()?;
        self.wbuf.extend_from_slice(data);
        if self.unbuffered || self.wbuf.len() >= WRITE_BUFFER {
            self.flush_write()?;
        }
        Ok(())
    }

    fn close(&mut self) -> std::io::Result<()> {
        let r = self.flush_write();
        self.file = None;
        self.rbuf.clear();
        self.rpos = 0;
        r
    }
}

/// `os.read`/`os.write`/`os.close` reach a file object's descriptor by number.
impl crate::modules::fds::FdOwner for RefCell<Core> {
    fn with_fd(&self, f: &mut dyn FnMut(std::os::fd::BorrowedFd<'_>)) -> bool {
        use std::os::fd::AsFd;
        match self.try_borrow().ok().as_ref().and_then(|c| c.file.as_ref()) {
            Some(file) => {
                f(file.as_fd());
                true
            }
            None => false,
        }
    }
    fn close_fd(&self) -> bool {
        match self.try_borrow_mut() {
            Ok(mut c) => c.file.take().is_some(),
            Err(_) => false,
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let _ = self.flush_write();
    }
}

/// Every core ever opened on this thread, flushed when the thread ends.
struct Registry(Vec<Weak<RefCell<Core>>>);

impl Drop for Registry {
    fn drop(&mut self) {
        for w in &self.0 {
            if let Some(c) = w.upgrade() {
                if let Ok(mut c) = c.try_borrow_mut() {
                    let _ = c.flush_write();
                }
            }
        }
    }
}

thread_local! {
    static OPEN_FILES: RefCell<Registry> = const { RefCell::new(Registry(Vec::new())) };
}

fn register(core: &Rc<RefCell<Core>>) {
    let _ = OPEN_FILES.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            if r.0.len() >= 64 && r.0.len().is_power_of_two() {
                r.0.retain(|w| w.strong_count() > 0);
            }
            r.0.push(Rc::downgrade(core));
        }
    });
}

// ---------------------------------------------------------------- the script side

/// Which byte sequences end a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    Lf,
    Cr,
    CrLf,
    /// `\n`, `\r` or `\r\n`.
    Any,
}

/// The text layer of a text file.
struct Text {
    codec: Codec,
    /// The `encoding` attribute (`'UTF-8'` when none was given, as CPython's locale says).
    encoding: String,
    errors: String,
    /// The `newline` argument.
    newline: Option<String>,
}

impl Text {
    fn line_end(&self) -> LineEnd {
        match self.newline.as_deref() {
            None | Some("") => LineEnd::Any,
            Some("\r") => LineEnd::Cr,
            Some("\r\n") => LineEnd::CrLf,
            _ => LineEnd::Lf,
        }
    }

    /// Universal newlines: `\r\n` and `\r` read as `\n` (only with `newline=None`).
    fn translates(&self) -> bool {
        self.newline.is_none()
    }

    fn decode(&self, raw: Vec<u8>) -> Res<String> {
        let s = match (self.codec, String::from_utf8(raw)) {
            // Valid UTF-8 (also valid ASCII when it has no byte above 0x7f): no copy.
            (Codec::Utf8, Ok(s)) => s,
            (Codec::Ascii, Ok(s)) if s.is_ascii() => s,
            (_, Ok(s)) => decode_with(s.as_bytes(), self.codec, &self.errors)?,
            (_, Err(e)) => decode_with(e.as_bytes(), self.codec, &self.errors)?,
        };
        if self.translates() && s.contains('\r') {
            return Ok(s.replace("\r\n", "\n").replace('\r', "\n"));
        }
        Ok(s)
    }

    fn encode(&self, s: &str) -> Res<Vec<u8>> {
        match self.newline.as_deref() {
            Some(nl @ ("\r" | "\r\n")) if s.contains('\n') => {
                encode_str(&s.replace('\n', nl), self.codec, &self.errors)
            }
            _ => encode_str(s, self.codec, &self.errors),
        }
    }

    /// The byte length of the first `n` characters of `buf[start..]` (fewer at its end);
    /// `\r\n` is one character when newlines are translated.
    fn advance_chars(&self, buf: &[u8], start: usize, n: usize) -> usize {
        let mut i = start;
        let mut count = 0;
        while count < n && i < buf.len() {
            let b = buf[i];
            let width = if b == b'\r' && self.translates() && buf.get(i + 1) == Some(&b'\n') {
                2
            } else if self.codec != Codec::Utf8 || b < 0xc0 {
                1
            } else if b < 0xe0 {
                2
            } else if b < 0xf0 {
                3
            } else {
                4
            };
            i = (i + width).min(buf.len());
            count += 1;
        }
        i
    }
}

/// An open (or closed) file.
pub struct FileObj {
    core: Rc<RefCell<Core>>,
    /// The `name` attribute: the path as given (`str` or `bytes`) or the descriptor.
    name: Value,
    /// The `mode` attribute.
    mode: String,
    readable: bool,
    writable: bool,
    /// `None` for binary files.
    text: Option<Text>,
    /// `buffering=0`: a raw `FileIO`.
    raw: bool,
    /// `buffering=1` on a text file: a write containing `\n` is flushed at once.
    line_buffered: bool,
    /// The number `fileno()` reports for a standard stream held through a duplicate
    /// descriptor (`sys.stdin`: 0); `None` reports the descriptor held.
    std_fd: Option<i64>,
}

impl FileObj {
    fn closed(&self) -> bool {
        self.core.borrow().file.is_none()
    }

    fn is_text(&self) -> bool {
        self.text.is_some()
    }
}

/// The receiver of a file method.
fn this(a: &Args) -> Res<(Value, Rc<dyn NativeObject>)> {
    match a.pos.first() {
        Some(v @ Value::Other(o)) if o.as_any().is::<FileObj>() => Ok((v.clone(), o.clone())),
        _ => Err(Exc::type_error("descriptor requires a file object")),
    }
}

fn file_of(o: &Rc<dyn NativeObject>) -> Res<&FileObj> {
    o.as_any().downcast_ref::<FileObj>().ok_or_else(|| Exc::type_error("descriptor requires a file object"))
}

/// The method's own arguments (after the receiver).
fn rest(a: &mut Args) -> Args {
    let mut r = Args { pos: a.pos.drain(1..).collect(), kw: std::mem::take(&mut a.kw) };
    r.pos.shrink_to_fit();
    r
}

/// Fails unless method `name` of file `f` got no arguments, as CPython words it:
/// `TextIOWrapper.fileno() takes no arguments (1 given)`.
fn no_args(f: &FileObj, name: &str, a: &Args) -> Res<()> {
    let t = f.type_name();
    let qualname = format!("{}.{name}", t.rsplit('.').next().unwrap_or(t));
    check_args(&qualname, a, 0, 0)
}

fn no_kw(name: &str, a: &Args) -> Res<()> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("{name}() takes no keyword arguments")));
    }
    Ok(())
}

/// `io.UnsupportedOperation` (a subclass of both `OSError` and `ValueError`, as in CPython),
/// made once per VM.
fn unsupported(vm: &mut Vm, msg: &str) -> Exc {
    const KEY: &str = "io.UnsupportedOperation";
    let existing = vm.other_classes.borrow().get(KEY).cloned();
    let class = match existing {
        Some(c) => c,
        None => {
            let os = vm.exc_class(ExcKind::OSError).clone();
            let ve = vm.exc_class(ExcKind::ValueError).clone();
            let mut mro = vec![os.clone(), ve.clone()];
            mro.extend(ve.mro.iter().cloned());
            let mut dict = rustc_hash::FxHashMap::default();
            dict.insert(Sym::new("__module__"), Value::str("io"));
            let c = Rc::new(Class {
                name: Rc::from("UnsupportedOperation"),
                qualname: RefCell::new(Rc::from("UnsupportedOperation")),
                bases: vec![os, ve],
                mro,
                dict: RefCell::new(dict),
                layout: Layout::Exception,
                builtin: None,
                version: Cell::new(0),
                cache: Default::default(),
                tp_name: Default::default(),
            });
            vm.other_classes.borrow_mut().insert(KEY, c.clone());
            c
        }
    };
    Exc::Obj(vm.new_exception_object(class, vec![Value::str(msg)]))
}

/// An OS error during an operation on an open file (no file name, as CPython reports it).
fn io_err(vm: &mut Vm, e: std::io::Error) -> Exc {
    os_error(vm, &e, None, None)
}

const CLOSED: &str = "I/O operation on closed file.";
const CLOSED_NO_DOT: &str = "I/O operation on closed file";

/// The checks before reading: readable, then open (with CPython's per-layer wording).
fn check_read(vm: &mut Vm, f: &FileObj, op: &str) -> Res<()> {
    if f.is_text() {
        if f.closed() {
            return Err(Exc::value_error(CLOSED));
        }
        if !f.readable {
            return Err(unsupported(vm, "not readable"));
        }
    } else {
        if !f.readable {
            return Err(unsupported(vm, "read"));
        }
        if f.closed() {
            return Err(Exc::value_error(format!("{op} of closed file")));
        }
    }
    Ok(())
}

fn check_write(vm: &mut Vm, f: &FileObj) -> Res<()> {
    if f.is_text() {
        if f.closed() {
            return Err(Exc::value_error(CLOSED));
        }
        if !f.writable {
            return Err(unsupported(vm, "not writable"));
        }
    } else {
        if !f.writable {
            return Err(unsupported(vm, "write"));
        }
        if f.closed() {
            return Err(Exc::value_error("write to closed file"));
        }
    }
    Ok(())
}

fn check_open(f: &FileObj, msg: &str) -> Res<()> {
    if f.closed() {
        return Err(Exc::value_error(msg.to_string()));
    }
    Ok(())
}

/// A `size`/`limit` argument: an int, `None` (= -1); `None` when negative (no limit).
fn size_arg(vm: &mut Vm, v: Option<&Value>, none_ok: bool) -> Res<Option<usize>> {
    let n = match v {
        None => -1,
        Some(Value::None) if none_ok => -1,
        Some(v @ (Value::Int(_) | Value::Bool(_) | Value::BigInt(_) | Value::Instance(_))) => vm.index_value(v)?,
        Some(v) if none_ok => {
            return Err(Exc::type_error(format!("argument should be integer or None, not '{}'", vm.type_name(v))))
        }
        Some(v) => vm.index_value(v)?,
    };
    Ok(if n < 0 { None } else { Some(n as usize) })
}

/// Reads one line as a value (`str` or `bytes`); empty at end of file.
fn read_line_value(vm: &mut Vm, f: &FileObj, limit: Option<usize>) -> Res<Value> {
    check_read(vm, f, "readline")?;
    match &f.text {
        Some(t) => {
            let mut core = f.core.borrow_mut();
            let line = core.read_line(t.line_end(), None).map_err(|e| io_err(vm, e));
            let mut line = line?;
            if let Some(l) = limit {
                // Give back what lies beyond `l` characters.
                let end = t.advance_chars(&line, 0, l);
                if end < line.len() {
                    let extra = line.split_off(end);
                    let rpos = core.rpos;
                    let mut back = extra;
                    back.extend_from_slice(&core.rbuf[rpos..]);
                    core.rbuf = back;
                    core.rpos = 0;
                }
            }
            drop(core);
            Ok(Value::string(t.decode(line)?))
        }
        None => {
            let line = f.core.borrow_mut().read_line(LineEnd::Lf, limit).map_err(|e| io_err(vm, e))?;
            Ok(Value::Bytes(Rc::from(line)))
        }
    }
}

fn is_empty_line(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.as_str().is_empty(),
        Value::Bytes(b) => b.is_empty(),
        _ => true,
    }
}

fn line_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.chars,
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

// ---------------------------------------------------------------- methods

fn m_read(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("read", &a)?;
    check_args("read", &a, 0, 1)?;
    let n = size_arg(vm, a.pos.first(), true)?;
    check_read(vm, f, "read")?;
    if n.is_none() && crate::asyncio::threads::may_offload(vm) {
        return Err(read_all_off_thread(vm, &o, f));
    }
    let raw = {
        let mut core = f.core.borrow_mut();
        match (&f.text, n) {
            (_, None) => core.read_all(),
            (None, Some(n)) => core.read_bytes(n),
            (Some(t), Some(n)) => {
                // At most 4 bytes a character, plus one to see a `\n` after a `\r`.
                match core.start_read().and_then(|_| core.fill_to(n.saturating_mul(4).saturating_add(1))) {
                    Ok(()) => {
                        let end = t.advance_chars(&core.rbuf, core.rpos, n);
                        Ok(core.take(end))
                    }
                    Err(e) => Err(e),
                }
            }
        }
    };
    let raw = raw.map_err(|e| io_err(vm, e))?;
    match &f.text {
        Some(t) => Ok(Value::string(t.decode(raw)?)),
        None => Ok(Value::Bytes(Rc::from(raw))),
    }
}

/// `read()` inside a green call (`to_thread`): the rest of the file is read on a worker
/// thread through a duplicate of the descriptor (same offset), then decoded here.
fn read_all_off_thread(vm: &mut Vm, o: &Rc<dyn NativeObject>, f: &FileObj) -> Exc {
    let prepared = {
        let mut core = f.core.borrow_mut();
        core.start_read().and_then(|_| {
            let rpos = core.rpos;
            let head = core.rbuf.split_off(rpos);
            core.rbuf.clear();
            core.rpos = 0;
            core.file()?.try_clone().map(|dup| (head, dup))
        })
    };
    let (head, mut dup) = match prepared {
        Ok(p) => p,
        Err(e) => return io_err(vm, e),
    };
    let o = o.clone();
    crate::asyncio::threads::offload(
        vm,
        move || {
            let mut out = head;
            dup.read_to_end(&mut out).map(|_| out)
        },
        move |vm, r| {
            let raw = r.map_err(|e| io_err(vm, e))?;
            match &file_of(&o)?.text {
                Some(t) => Ok(Value::string(t.decode(raw)?)),
                None => Ok(Value::Bytes(Rc::from(raw))),
            }
        },
    )
}

/// A `write()` inside a green call that would reach the OS (the buffer is full, or the file
/// is unbuffered or line-buffered at a newline): the OS write runs on a worker thread through
/// a duplicate of the descriptor. `None` when the write only fills the buffer.
fn write_off_thread(vm: &mut Vm, f: &FileObj, data: &[u8], n: usize) -> Option<Exc> {
    let mut core = f.core.borrow_mut();
    let flush = f.line_buffered && data.contains(&b'\n');
    if !(flush || core.unbuffered || core.wbuf.len() + data.len() >= WRITE_BUFFER) {
        return None;
    }
    let prepared = core.drop_read().and_then(|_| core.file()?.try_clone());
    let mut dup = match prepared {
        Ok(d) => d,
        Err(e) => {
            drop(core);
            return Some(io_err(vm, e));
        }
    };
    let mut pending = std::mem::take(&mut core.wbuf);
    pending.extend_from_slice(data);
    drop(core);
    Some(crate::asyncio::threads::offload(
        vm,
        move || dup.write_all(&pending),
        move |vm, r| match r {
            Ok(()) => Ok(Value::Int(n as i64)),
            Err(e) => Err(io_err(vm, e)),
        },
    ))
}

fn m_readline(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("readline", &a)?;
    check_args("readline", &a, 0, 1)?;
    let limit = size_arg(vm, a.pos.first(), !f.is_text())?;
    read_line_value(vm, f, limit)
}

fn m_readlines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("readlines", &a)?;
    check_args("readlines", &a, 0, 1)?;
    let hint = size_arg(vm, a.pos.first(), true)?.filter(|h| *h > 0);
    check_open(f, CLOSED)?;
    let mut out = Vec::new();
    let mut total = 0;
    loop {
        let line = read_line_value(vm, f, None)?;
        if is_empty_line(&line) {
            break;
        }
        total += line_len(&line);
        out.push(line);
        if hint.is_some_and(|h| total >= h) {
            break;
        }
    }
    Ok(Value::list(out))
}

/// Encodes one `write()` argument: `(bytes to write, count to return)`.
fn write_data(vm: &mut Vm, f: &FileObj, v: &Value) -> Res<(Vec<u8>, usize)> {
    match &f.text {
        Some(t) => {
            let s = match v {
                Value::Str(s) => s,
                other => {
                    return Err(Exc::type_error(format!("write() argument must be str, not {}", vm.type_name(other))))
                }
            };
            check_write(vm, f)?;
            Ok((t.encode(s.as_str())?, s.chars))
        }
        None => {
            let data = match v {
                Value::Bytes(b) => b.to_vec(),
                Value::ByteArray(b) => b.borrow().clone(),
                other => {
                    check_write(vm, f)?;
                    return Err(Exc::type_error(format!(
                        "a bytes-like object is required, not '{}'",
                        vm.type_name(other)
                    )));
                }
            };
            check_write(vm, f)?;
            let n = data.len();
            Ok((data, n))
        }
    }
}

fn m_write(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("write", &a)?;
    if a.pos.len() != 1 {
        if !f.is_text() && !f.writable {
            return Err(unsupported(vm, "write"));
        }
        let msg = if f.is_text() {
            format!("TextIOWrapper.write() takes exactly one argument ({} given)", a.pos.len())
        } else {
            format!("write() takes exactly one argument ({} given)", a.pos.len())
        };
        return Err(Exc::type_error(msg));
    }
    let (data, n) = write_data(vm, f, &a.pos[0])?;
    if crate::asyncio::threads::may_offload(vm) {
        if let Some(e) = write_off_thread(vm, f, &data, n) {
            return Err(e);
        }
    }
    let r = {
        let mut core = f.core.borrow_mut();
        let flush = f.line_buffered && data.contains(&b'\n');
        core.write(&data).and_then(|_| if flush { core.flush_write() } else { Ok(()) })
    };
    r.map_err(|e| io_err(vm, e))?;
    Ok(Value::Int(n as i64))
}

fn m_writelines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("writelines", &a)?;
    check_args("writelines", &a, 1, 1)?;
    check_open(f, CLOSED)?;
    let items = vm.collect(&a.pos[0])?;
    for item in &items {
        let (data, _) = write_data(vm, f, item)?;
        let r = f.core.borrow_mut().write(&data);
        r.map_err(|e| io_err(vm, e))?;
    }
    Ok(Value::None)
}

fn m_close(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_args(f, "close", &a)?;
    if f.closed() {
        return Ok(Value::None);
    }
    let r = f.core.borrow_mut().close();
    r.map_err(|e| io_err(vm, e))?;
    Ok(Value::None)
}

fn m_flush(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_args(f, "flush", &a)?;
    if f.closed() {
        let msg = if !f.is_text() && f.writable { "flush of closed file" } else { CLOSED };
        return Err(Exc::value_error(msg));
    }
    let r = f.core.borrow_mut().flush_write();
    r.map_err(|e| io_err(vm, e))?;
    Ok(Value::None)
}

fn m_tell(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_args(f, "tell", &a)?;
    check_open(f, if f.is_text() { CLOSED } else { CLOSED_NO_DOT })?;
    let r = f.core.borrow_mut().tell();
    let pos = r.map_err(|e| io_err(vm, e))?;
    Ok(Value::Int(pos as i64))
}

fn m_seek(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("seek", &a)?;
    check_args("seek", &a, 1, 2)?;
    let offset = vm.index_value(&a.pos[0])?;
    let whence = match a.pos.get(1) {
        Some(w) => vm.index_value(w)?,
        None => 0,
    };
    let to = if f.is_text() {
        check_open(f, CLOSED)?;
        match whence {
            0 if offset < 0 => return Err(Exc::value_error(format!("negative seek position {offset}"))),
            0 => SeekFrom::Start(offset as u64),
            1 if offset != 0 => return Err(unsupported(vm, "can't do nonzero cur-relative seeks")),
            1 => SeekFrom::Current(0),
            2 if offset != 0 => return Err(unsupported(vm, "can't do nonzero end-relative seeks")),
            2 => SeekFrom::End(0),
            _ => return Err(Exc::value_error(format!("invalid whence ({whence}, should be 0, 1 or 2)"))),
        }
    } else {
        let to = match whence {
            0 if offset < 0 => None,
            0 => Some(SeekFrom::Start(offset as u64)),
            1 => Some(SeekFrom::Current(offset)),
            2 => Some(SeekFrom::End(offset)),
            _ => return Err(Exc::value_error(format!("whence value {whence} unsupported"))),
        };
        check_open(f, "seek of closed file")?;
        match to {
            Some(to) => to,
            None => return Err(io_err(vm, std::io::Error::from_raw_os_error(22))),
        }
    };
    let r = {
        let mut core = f.core.borrow_mut();
        match to {
            // Relative to the script's position, not the OS's (which is ahead by the read-ahead).
            SeekFrom::Current(d) => core.tell().and_then(|p| {
                let target = (p as i64).checked_add(d).filter(|t| *t >= 0);
                match target {
                    Some(t) => core.seek(SeekFrom::Start(t as u64)),
                    None => Err(std::io::Error::from_raw_os_error(22)),
                }
            }),
            to => core.seek(to),
        }
    };
    let pos = r.map_err(|e| io_err(vm, e))?;
    Ok(Value::Int(pos as i64))
}

fn m_truncate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_kw("truncate", &a)?;
    check_args("truncate", &a, 0, 1)?;
    let size = match a.pos.first() {
        None | Some(Value::None) => None,
        Some(v) => Some(vm.index_value(v)?),
    };
    check_open(f, if f.is_text() { CLOSED } else { "truncate of closed file" })?;
    if !f.writable {
        return Err(unsupported(vm, "truncate"));
    }
    if size.is_some_and(|s| s < 0) {
        return Err(io_err(vm, std::io::Error::from_raw_os_error(22)));
    }
    let r = {
        let mut core = f.core.borrow_mut();
        core.tell().and_then(|pos| {
            let size = size.map_or(pos, |s| s as u64);
            core.seek(SeekFrom::Start(pos))?;
            core.file()?.set_len(size)?;
            Ok(size)
        })
    };
    let size = r.map_err(|e| io_err(vm, e))?;
    Ok(Value::Int(size as i64))
}

fn m_fileno(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    use std::os::unix::io::AsRawFd;
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_args(f, "fileno", &a)?;
    let _ = vm;
    let core = f.core.borrow();
    match &core.file {
        Some(file) => Ok(Value::Int(f.std_fd.unwrap_or(file.as_raw_fd() as i64))),
        None => Err(Exc::value_error(CLOSED_NO_DOT)),
    }
}

fn m_isatty(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    use std::io::IsTerminal;
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let a = rest(a);
    no_args(f, "isatty", &a)?;
    let core = f.core.borrow();
    match &core.file {
        Some(file) => Ok(Value::Bool(file.is_terminal())),
        None => Err(Exc::value_error(CLOSED_NO_DOT)),
    }
}

fn m_readable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    no_args(f, "readable", &rest(a))?;
    // CPython's buffered writers answer without looking at whether the file is closed.
    if f.readable || !f.writable {
        check_open(f, CLOSED_NO_DOT)?;
    }
    Ok(Value::Bool(f.readable))
}

fn m_writable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    no_args(f, "writable", &rest(a))?;
    if f.writable || !f.readable {
        check_open(f, CLOSED_NO_DOT)?;
    }
    Ok(Value::Bool(f.writable))
}

fn m_seekable(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    no_args(f, "seekable", &rest(a))?;
    check_open(f, CLOSED_NO_DOT)?;
    let mut core = f.core.borrow_mut();
    let ok = match core.file.as_mut() {
        Some(file) => file.stream_position().is_ok(),
        None => false,
    };
    Ok(Value::Bool(ok))
}

fn m_enter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (v, o) = this(a)?;
    let f = file_of(&o)?;
    check_args("__enter__", &rest(a), 0, 0)?;
    check_open(f, CLOSED)?;
    Ok(v)
}

fn m_exit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    let _ = rest(a);
    if !f.closed() {
        let r = f.core.borrow_mut().close();
        r.map_err(|e| io_err(vm, e))?;
    }
    Ok(Value::None)
}

fn m_iter(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (v, o) = this(a)?;
    let f = file_of(&o)?;
    check_args("__iter__", &rest(a), 0, 0)?;
    check_open(f, CLOSED)?;
    Ok(v)
}

fn m_next(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (_, o) = this(a)?;
    let f = file_of(&o)?;
    check_args("__next__", &rest(a), 0, 0)?;
    let line = read_line_value(vm, f, None)?;
    if is_empty_line(&line) {
        return Err(Exc::new(ExcKind::StopIteration, ""));
    }
    Ok(line)
}

impl NativeObject for FileObj {
    fn type_name(&self) -> &'static str {
        match (&self.text, self.raw, self.readable, self.writable) {
            (Some(_), ..) => "_io.TextIOWrapper",
            (None, true, ..) => "_io.FileIO",
            (None, false, true, true) => "_io.BufferedRandom",
            (None, false, true, false) => "_io.BufferedReader",
            (None, false, false, _) => "_io.BufferedWriter",
        }
    }

    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let method = |n: &'static str, f: crate::vm::NativeFn| Some(super::bound_native(this.clone(), n, f));
        Ok(name.with_str(|s| match s {
            "read" => method("read", m_read),
            "readline" => method("readline", m_readline),
            "readlines" => method("readlines", m_readlines),
            "write" => method("write", m_write),
            "writelines" => method("writelines", m_writelines),
            "close" => method("close", m_close),
            "flush" => method("flush", m_flush),
            "seek" => method("seek", m_seek),
            "tell" => method("tell", m_tell),
            "fileno" => method("fileno", m_fileno),
            "truncate" => method("truncate", m_truncate),
            "isatty" => method("isatty", m_isatty),
            "readable" => method("readable", m_readable),
            "writable" => method("writable", m_writable),
            "seekable" => method("seekable", m_seekable),
            "__enter__" => method("__enter__", m_enter),
            "__exit__" => method("__exit__", m_exit),
            "__iter__" => method("__iter__", m_iter),
            "__next__" => method("__next__", m_next),
            "name" => Some(self.name.clone()),
            "mode" => Some(Value::str(&self.mode)),
            "closed" => Some(Value::Bool(self.closed())),
            "encoding" => self.text.as_ref().map(|t| Value::str(&t.encoding)),
            "errors" => self.text.as_ref().map(|t| Value::str(&t.errors)),
            "line_buffering" => self.text.as_ref().map(|_| Value::Bool(false)),
            _ => None,
        }))
    }

    fn repr(&self) -> String {
        let name = match &self.name {
            Value::Str(s) => crate::vm::repr_str(s.as_str()),
            Value::Bytes(b) => crate::vm::repr_bytes(b, "b'", "'"),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        };
        match (&self.text, self.raw) {
            (Some(t), _) => format!(
                "<_io.TextIOWrapper name={name} mode={} encoding={}>",
                crate::vm::repr_str(&self.mode),
                crate::vm::repr_str(&t.encoding)
            ),
            (None, true) => {
                if self.closed() {
                    "<_io.FileIO [closed]>".to_string()
                } else {
                    format!("<_io.FileIO name={name} mode={} closefd=True>", crate::vm::repr_str(&self.mode))
                }
            }
            (None, false) => format!("<{} name={name}>", self.type_name()),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// ---------------------------------------------------------------- open()

/// The parsed `mode` argument.
struct Mode {
    create: bool,
    read: bool,
    write: bool,
    append: bool,
    plus: bool,
    binary: bool,
}

fn parse_mode(mode: &str) -> Res<Mode> {
    let invalid = || Exc::value_error(format!("invalid mode: {}", crate::vm::repr_str(mode)));
    let mut m = Mode { create: false, read: false, write: false, append: false, plus: false, binary: false };
    let mut text = false;
    for (i, c) in mode.char_indices() {
        match c {
            'x' => m.create = true,
            'r' => m.read = true,
            'w' => m.write = true,
            'a' => m.append = true,
            '+' => m.plus = true,
            't' => text = true,
            'b' => m.binary = true,
            _ => return Err(invalid()),
        }
        if mode[i + c.len_utf8()..].contains(c) {
            return Err(invalid());
        }
    }
    if text && m.binary {
        return Err(Exc::value_error("can't have text and binary mode at once"));
    }
    let kinds = [m.create, m.read, m.write, m.append].iter().filter(|b| **b).count();
    if kinds > 1 {
        return Err(Exc::value_error("must have exactly one of create/read/write/append mode"));
    }
    if kinds == 0 {
        return Err(Exc::value_error("Must have exactly one of create/read/write/append mode and at most one plus"));
    }
    Ok(m)
}

/// An optional `str` argument of `open`.
fn opt_str(vm: &mut Vm, v: &Option<Value>, what: &str) -> Res<Option<String>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_str().to_string())),
        Some(other) => {
            Err(Exc::type_error(format!("open() argument '{what}' must be str or None, not {}", vm.type_name(other))))
        }
    }
}

/// The path to open and the `name` attribute.
fn path_of(vm: &mut Vm, v: &Value) -> Res<(String, Value)> {
    match v {
        Value::Str(s) => Ok((s.as_str().to_string(), v.clone())),
        Value::Bytes(b) => Ok((String::from_utf8_lossy(b).into_owned(), v.clone())),
        Value::Int(n) => Ok((format!("/dev/fd/{n}"), v.clone())),
        Value::Bool(b) => Ok((format!("/dev/fd/{}", *b as i64), Value::Int(*b as i64))),
        Value::Instance(_) => {
            if let Some(f) = vm.get_attr_opt(v, Sym::new("__fspath__"))? {
                let r = vm.call(&f, vec![])?;
                match &r {
                    Value::Str(s) => return Ok((s.as_str().to_string(), r.clone())),
                    Value::Bytes(b) => return Ok((String::from_utf8_lossy(b).into_owned(), r.clone())),
                    _ => {}
                }
            }
            Err(Exc::type_error(format!("expected str, bytes or os.PathLike object, not {}", vm.type_name(v))))
        }
        other => {
            Err(Exc::type_error(format!("expected str, bytes or os.PathLike object, not {}", vm.type_name(other))))
        }
    }
}

/// `open(file, mode='r', buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None)`.
pub fn open(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    const PARAMS: &[&str] = &["file", "mode", "buffering", "encoding", "errors", "newline", "closefd", "opener"];
    if let Some((k, _)) = a.kw.iter().find(|(k, _)| k.with_str(|s| !PARAMS.contains(&s))) {
        return Err(Exc::type_error(format!("'{k}' is an invalid keyword argument for open()")));
    }
    if a.pos.is_empty() && !a.kw.iter().any(|(k, _)| k.with_str(|s| s == "file")) {
        return Err(Exc::type_error("open() missing required argument 'file' (pos 1)"));
    }
    let b = bind(a, &Sig { name: "open", params: PARAMS, required: 1, kwonly: &[] })?;
    let file = b[0].clone().unwrap_or(Value::None);
    let mode_s = match &b[1] {
        None => "r".to_string(),
        Some(v) => expect_str(vm, v, "open() argument 'mode'")
            .map_err(|_| Exc::type_error(format!("open() argument 'mode' must be str, not {}", vm.type_name(v))))?
            .as_str()
            .to_string(),
    };
    let buffering = match &b[2] {
        None => -1,
        Some(v) => vm.index_value(v)?,
    };
    let encoding = opt_str(vm, &b[3], "encoding")?;
    let errors = opt_str(vm, &b[4], "errors")?;
    let newline = opt_str(vm, &b[5], "newline")?;
    if let Some(Value::Bool(false)) = &b[6] {
        return Err(Exc::value_error("Cannot use closefd=False with file name"));
    }
    if matches!(&b[7], Some(v) if !v.is_none()) {
        return Err(Exc::new(ExcKind::NotImplementedError, "open(): the opener argument is not supported by aio"));
    }
    let (path, name) = path_of(vm, &file)?;
    let m = parse_mode(&mode_s)?;
    if m.binary {
        for (given, what) in [(&encoding, "an encoding"), (&errors, "an errors"), (&newline, "a newline")] {
            if given.is_some() {
                return Err(Exc::value_error(format!("binary mode doesn't take {what} argument")));
            }
        }
    }
    if let Some(nl) = &newline {
        if !matches!(nl.as_str(), "" | "\n" | "\r" | "\r\n") {
            return Err(Exc::value_error(format!("illegal newline value: {nl}")));
        }
    }
    let text = if m.binary {
        None
    } else {
        let codec = lookup_codec(encoding.as_deref().unwrap_or("utf-8"))?;
        Some(Text {
            codec,
            encoding: encoding.clone().unwrap_or_else(|| "UTF-8".to_string()),
            errors: errors.clone().unwrap_or_else(|| "strict".to_string()),
            newline,
        })
    };
    let readable = m.read || m.plus;
    let writable = !m.read || m.plus;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(readable);
    if m.append {
        opts.append(true).create(true);
    } else if m.create {
        opts.write(true).create_new(true);
    } else if m.write {
        opts.write(true).create(true).truncate(true);
    } else if m.plus {
        opts.write(true);
    }
    let shown = match &name {
        Value::Int(_) => None,
        _ => Some(path.as_str()),
    };
    // An `os.pipe()` end (or other descriptor `os` owns) is taken over, as CPython's
    // `open(fd)` wraps the descriptor itself; other numbers reopen `/dev/fd/N`.
    let adopted = match &name {
        Value::Int(n) => i32::try_from(*n).ok().and_then(crate::modules::fds::take).map(File::from),
        _ => None,
    };
    let mut handle = match adopted {
        Some(f) => f,
        None => opts.open(&path).map_err(|e| os_error(vm, &e, shown, None))?,
    };
    if handle.metadata().is_ok_and(|md| md.is_dir()) {
        return Err(os_error(vm, &std::io::Error::from_raw_os_error(21), shown, None));
    }
    if text.is_some() && buffering == 0 {
        return Err(Exc::value_error("can't have unbuffered text I/O"));
    }
    if m.append {
        let _ = handle.seek(SeekFrom::End(0));
    }
    let mode = if text.is_some() {
        mode_s
    } else {
        let base = if m.create {
            "xb"
        } else if m.append {
            "ab"
        } else if m.read || m.plus {
            "rb"
        } else {
            "wb"
        };
        format!("{base}{}", if m.plus { "+" } else { "" })
    };
    let core = Rc::new(RefCell::new(Core {
        file: Some(handle),
        wbuf: Vec::new(),
        rbuf: Vec::new(),
        rpos: 0,
        unbuffered: buffering == 0,
    }));
    register(&core);
    {
        use std::os::fd::AsRawFd;
        let fd = core.borrow().file.as_ref().map(|f| f.as_raw_fd());
        if let Some(fd) = fd {
            let weak: Weak<dyn crate::modules::fds::FdOwner> = Rc::downgrade(&core) as Weak<RefCell<Core>>;
            crate::modules::fds::hold(fd, weak);
        }
    }
    Ok(Value::Other(Rc::new(FileObj {
        core,
        name,
        mode,
        readable,
        writable,
        text,
        raw: buffering == 0,
        line_buffered: buffering == 1 && !m.binary,
        std_fd: None,
    })))
}

/// `sys.stdin`: a text file reading the process's standard input (through a duplicate of
/// descriptor 0, so its buffer is the only one reading it; `input()` reads through it), or
/// `None` when there is no standard input.
pub(crate) fn stdin_file() -> Value {
    use std::os::fd::AsFd;
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else { return Value::None };
    let handle = File::from(fd);
    let Ok(codec) = lookup_codec("utf-8") else { return Value::None };
    let core = Rc::new(RefCell::new(Core {
        file: Some(handle),
        wbuf: Vec::new(),
        rbuf: Vec::new(),
        rpos: 0,
        unbuffered: false,
    }));
    register(&core);
    Value::Other(Rc::new(FileObj {
        core,
        name: Value::str("<stdin>"),
        mode: "r".to_string(),
        readable: true,
        writable: false,
        text: Some(Text { codec, encoding: "utf-8".to_string(), errors: "strict".to_string(), newline: None }),
        raw: false,
        line_buffered: false,
        std_fd: Some(0),
    }))
}

/// One line of `f` (a file object) for `input()`: `None` when `f` is not a file object.
pub(crate) fn read_line_of(vm: &mut Vm, f: &Value) -> Option<Res<Value>> {
    let Value::Other(o) = f else { return None };
    let file = o.as_any().downcast_ref::<FileObj>()?;
    Some(read_line_value(vm, file, None))
}
