//! File descriptors by number, for the `os` functions that take one (`os.read`,
//! `os.write`, `os.close`, `os.set_blocking`, ...) and for `loop.connect_read_pipe` /
//! `connect_write_pipe`.
//!
//! Rust forbids turning an arbitrary number into a descriptor without `unsafe`, so aio
//! keeps a per-thread table of the descriptors it can reach by number: the ones `os`
//! itself owns (`os.pipe()`, `socket.detach()`), and the ones held by objects that
//! register themselves (file objects from `open()`, `socket.socket` objects), plus the
//! standard streams 0, 1 and 2. Any other number is `EBADF` for reading and writing;
//! `os.close` closes it anyway, as CPython would.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Weak;

/// An object that owns a descriptor and lets `os` functions use it by number.
pub trait FdOwner {
    /// Runs `f` with the descriptor; `false` when the object no longer has it open.
    fn with_fd(&self, f: &mut dyn FnMut(BorrowedFd<'_>)) -> bool;
    /// Closes the descriptor (`os.close(n)` on it); `false` when it was already closed.
    fn close_fd(&self) -> bool;
}

enum Entry {
    /// Owned by the table itself (`os.pipe()`).
    Owned(OwnedFd),
    /// Held by an object.
    Held(Weak<dyn FdOwner>),
}

thread_local! {
    static TABLE: RefCell<FxHashMap<RawFd, Entry>> = RefCell::default();
}

/// Takes ownership of `fd` (until `os.close` or [`take`]) and returns its number.
pub fn adopt(fd: OwnedFd) -> RawFd {
    use std::os::fd::AsRawFd;
    let n = fd.as_raw_fd();
    TABLE.with(|t| t.borrow_mut().insert(n, Entry::Owned(fd)));
    n
}

/// Records that `owner` holds descriptor `n`.
pub fn hold(n: RawFd, owner: Weak<dyn FdOwner>) {
    TABLE.with(|t| t.borrow_mut().insert(n, Entry::Held(owner)));
}

/// Takes a descriptor the table owns out of it (`open(fd)` adopting an `os.pipe()` end).
pub fn take(n: RawFd) -> Option<OwnedFd> {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        match t.get(&n) {
            Some(Entry::Owned(_)) => match t.remove(&n) {
                Some(Entry::Owned(fd)) => Some(fd),
                _ => None,
            },
            _ => None,
        }
    })
}

/// Runs `f` with descriptor `n`; `None` when aio cannot reach that number.
pub fn with<R>(n: RawFd, f: impl FnOnce(BorrowedFd<'_>) -> R) -> Option<R> {
    let mut f = Some(f);
    let mut out = None;
    let owner = TABLE.with(|t| -> Option<Weak<dyn FdOwner>> {
        match t.borrow().get(&n) {
            Some(Entry::Owned(fd)) => {
                if let Some(f) = f.take() {
                    out = Some(f(fd.as_fd()));
                }
                None
            }
            Some(Entry::Held(w)) => Some(w.clone()),
            None => None,
        }
    });
    if out.is_some() {
        return out;
    }
    if let Some(o) = owner.and_then(|w| w.upgrade()) {
        // The table is not borrowed here: the owner may look itself up again.
        let ran = o.with_fd(&mut |b| {
            if let Some(f) = f.take() {
                out = Some(f(b));
            }
        });
        if ran {
            return out;
        }
    }
    forget(n);
    let f = f.take()?;
    match n {
        0 => Some(f(io::stdin().as_fd())),
        1 => Some(f(io::stdout().as_fd())),
        2 => Some(f(io::stderr().as_fd())),
        _ => None,
    }
}

/// Forgets a stale entry (its owner closed the descriptor or died).
fn forget(n: RawFd) {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if matches!(t.get(&n), Some(Entry::Held(w)) if w.strong_count() == 0) {
            t.remove(&n);
        }
    });
}

/// A new descriptor for the same open file (`dup`, close-on-exec), for transports that
/// must own theirs.
pub fn dup(n: RawFd) -> io::Result<OwnedFd> {
    with(n, |b| b.try_clone_to_owned()).unwrap_or_else(|| Err(io::Error::from_raw_os_error(9)))
}

/// `os.close(n)`.
pub fn close(n: RawFd) -> io::Result<()> {
    let entry = TABLE.with(|t| t.borrow_mut().remove(&n));
    match entry {
        Some(Entry::Owned(fd)) => {
            drop(fd);
            Ok(())
        }
        Some(Entry::Held(w)) => match w.upgrade() {
            Some(o) if o.close_fd() => Ok(()),
            _ => nix::unistd::close(n).map_err(io::Error::from),
        },
        None => nix::unistd::close(n).map_err(io::Error::from),
    }
}

/// `os.read(n, len(buf))`: one `read(2)` into `buf`, retried on `EINTR`; `buf` keeps
/// what was read.
pub fn read(n: RawFd, buf: &mut Vec<u8>) -> io::Result<()> {
    let r = with(n, |b| loop {
        match nix::unistd::read(b, buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r.map_err(io::Error::from),
        }
    });
    let got = r.unwrap_or_else(|| Err(io::Error::from_raw_os_error(9)))?;
    buf.truncate(got);
    Ok(())
}

/// `os.write(n, data)`: one `write(2)`, retried on `EINTR`.
pub fn write(n: RawFd, data: &[u8]) -> io::Result<usize> {
    let r = with(n, |b| loop {
        match nix::unistd::write(b, data) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r.map_err(io::Error::from),
        }
    });
    r.unwrap_or_else(|| Err(io::Error::from_raw_os_error(9)))
}

/// `O_NONBLOCK` of descriptor `n` (shared by every descriptor of the open file).
pub fn get_blocking(n: RawFd) -> io::Result<bool> {
    let s = socket2::Socket::from(dup(n)?);
    s.nonblocking().map(|nb| !nb)
}

/// Sets or clears `O_NONBLOCK` on descriptor `n` (through a duplicate: the flag belongs
/// to the open file, so every descriptor of it sees the change).
pub fn set_blocking(n: RawFd, blocking: bool) -> io::Result<()> {
    let s = socket2::Socket::from(dup(n)?);
    s.set_nonblocking(!blocking)
}

// ---------------------------------------------------------------- the `os` functions

use crate::vm::{Args, Exc, ExcKind, Res, Value, Vm};

/// A descriptor argument (a C `int`).
fn fd_arg(vm: &mut Vm, v: &Value) -> Res<RawFd> {
    let n = vm.index_value(v)?;
    RawFd::try_from(n).map_err(|_| {
        let msg = if n > 0 { "signed integer is greater than maximum" } else { "signed integer is less than minimum" };
        Exc::new(ExcKind::OverflowError, msg)
    })
}

fn err(vm: &mut Vm, e: &io::Error) -> Exc {
    super::os::os_error(vm, e, None, None)
}

/// `os.pipe()`: `(r, w)`, blocking and close-on-exec (non-inheritable), as CPython's.
pub fn os_pipe(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("posix.pipe", a, 0, 0)?;
    let (w, r) = mio::unix::pipe::new().map_err(|e| err(vm, &e))?;
    r.set_nonblocking(false).map_err(|e| err(vm, &e))?;
    w.set_nonblocking(false).map_err(|e| err(vm, &e))?;
    let r = adopt(OwnedFd::from(r));
    let w = adopt(OwnedFd::from(w));
    Ok(Value::tuple(vec![Value::Int(r as i64), Value::Int(w as i64)]))
}

/// `os.read(fd, length)`.
pub fn os_read(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("read", a, 2, 2)?;
    let fd = fd_arg(vm, &a.pos[0].clone())?;
    let n = vm.index_value(&a.pos[1].clone())?;
    if n < 0 {
        return Err(err(vm, &io::Error::from_raw_os_error(22)));
    }
    let mut buf: Vec<u8> = crate::vm::mem::vec_with_capacity(n as usize)?;
    buf.resize(n as usize, 0);
    read(fd, &mut buf).map_err(|e| err(vm, &e))?;
    Ok(Value::Bytes(buf.into()))
}

/// `os.write(fd, data)`: the number of bytes written.
pub fn os_write(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("write", a, 2, 2)?;
    let fd = fd_arg(vm, &a.pos[0].clone())?;
    let data = a.pos[1].clone();
    let bytes: std::rc::Rc<[u8]> = match &data {
        Value::Bytes(b) => b.clone(),
        Value::ByteArray(b) => b.borrow().as_slice().into(),
        other if &*vm.type_name(other) == "memoryview" => vm.bytes_like(other)?.into(),
        other => {
            let t = vm.type_name(other);
            return Err(Exc::type_error(format!("a bytes-like object is required, not '{t}'")));
        }
    };
    let n = write(fd, &bytes).map_err(|e| err(vm, &e))?;
    Ok(Value::Int(n as i64))
}

/// `os.close(fd)`.
pub fn os_close(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let fd = match (crate::builtins::take_kw(a, "fd"), a.pos.first().cloned()) {
        (Some(v), None) | (None, Some(v)) => v,
        _ => return Err(Exc::type_error("close() missing required argument 'fd' (pos 1)")),
    };
    crate::builtins::no_more_kw("close", a)?;
    let fd = fd_arg(vm, &fd)?;
    close(fd).map_err(|e| err(vm, &e))?;
    Ok(Value::None)
}

/// `os.get_blocking(fd)`.
pub fn os_get_blocking(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("posix.get_blocking", a, 1, 1)?;
    let fd = fd_arg(vm, &a.pos[0].clone())?;
    get_blocking(fd).map(Value::Bool).map_err(|e| err(vm, &e))
}

/// `os.set_blocking(fd, blocking)`.
pub fn os_set_blocking(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("set_blocking", a, 2, 2)?;
    let fd = fd_arg(vm, &a.pos[0].clone())?;
    let blocking = vm.truthy(&a.pos[1].clone())?;
    set_blocking(fd, blocking).map_err(|e| err(vm, &e))?;
    Ok(Value::None)
}

/// `os.fdopen(fd, *args, **kwargs)`: `open(fd, ...)` for an `int` descriptor.
pub fn os_fdopen(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    match a.pos.first() {
        Some(Value::Int(_) | Value::Bool(_)) => {}
        Some(other) => {
            let t = vm.type_name(other);
            return Err(Exc::type_error(format!("invalid fd type (<class '{t}'>, expected integer)")));
        }
        None => return Err(Exc::type_error("fdopen() missing 1 required positional argument: 'fd'")),
    }
    crate::builtins::open_file(vm, a)
}
