//! `loop.add_reader` / `add_writer` / `remove_reader` / `remove_writer`: script callbacks
//! on raw file descriptors, with CPython's level-triggered behaviour (the callback runs
//! again on every loop iteration while the fd stays ready), emulated on the
//! edge-triggered poll by re-arming the registration after each callback.

use super::support::io_error;
use crate::asyncio::event_loop::{EventLoop, IoHandler, Ready};
use crate::vm::value::Value;
use crate::vm::{Args, Exc, Res, Sym, Vm};
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Rc;

/// The callbacks watching one fd.
struct FdWatch {
    lp: Rc<EventLoop>,
    fd: RawFd,
    token: Cell<Option<mio::Token>>,
    reader: RefCell<Option<(Value, Vec<Value>)>>,
    writer: RefCell<Option<(Value, Vec<Value>)>>,
}

thread_local! {
    /// Watches by (loop, fd).
    static WATCHES: RefCell<FxHashMap<(usize, RawFd), Rc<FdWatch>>> = RefCell::default();
}

fn key(lp: &Rc<EventLoop>, fd: RawFd) -> (usize, RawFd) {
    (Rc::as_ptr(lp) as usize, fd)
}

impl FdWatch {
    fn interest(&self) -> Option<mio::Interest> {
        match (self.reader.borrow().is_some(), self.writer.borrow().is_some()) {
            (true, true) => Some(mio::Interest::READABLE | mio::Interest::WRITABLE),
            (true, false) => Some(mio::Interest::READABLE),
            (false, true) => Some(mio::Interest::WRITABLE),
            (false, false) => None,
        }
    }

    /// Registers, re-registers (re-arming) or deregisters to match the callbacks.
    fn sync(self: &Rc<Self>) -> std::io::Result<()> {
        let fd = self.fd;
        let mut src = mio::unix::SourceFd(&fd);
        match (self.interest(), self.token.get()) {
            (Some(i), Some(t)) => self.lp.io_reregister(&mut src, t, i),
            (Some(i), None) => {
                let t = self.lp.io_register(&mut src, i, self.clone())?;
                self.token.set(Some(t));
                Ok(())
            }
            (None, Some(t)) => {
                self.lp.io_deregister(&mut src, t);
                self.token.set(None);
                WATCHES.with(|w| w.borrow_mut().remove(&key(&self.lp, fd)));
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }
}

fn run_one(vm: &mut Vm, lp: &Rc<EventLoop>, cb: Option<(Value, Vec<Value>)>) -> Res<()> {
    let Some((f, args)) = cb else { return Ok(()) };
    if let Err(e) = vm.call(&f, args) {
        let inst = vm.materialize(e);
        if vm.is_fatal(&inst) {
            return Err(Exc::Obj(inst));
        }
        let message = format!("Exception in callback {}", crate::asyncio::future::callback_text(&f));
        let ctx = vec![("message", Value::string(message)), ("exception", Value::Instance(inst))];
        crate::asyncio::exception_handler::call_handler(vm, lp, ctx)?;
    }
    Ok(())
}

impl IoHandler for FdWatch {
    fn io_ready(self: Rc<Self>, vm: &mut Vm, ready: Ready) -> Res<()> {
        if self.token.get().is_none() {
            return Ok(());
        }
        if ready.readable() {
            let cb = self.reader.borrow().clone();
            run_one(vm, &self.lp, cb)?;
        }
        if ready.writable() && self.token.get().is_some() {
            let cb = self.writer.borrow().clone();
            run_one(vm, &self.lp, cb)?;
        }
        if self.token.get().is_some() {
            // Level triggering: report the fd again next time if it is still ready.
            let _ = self.sync();
        }
        Ok(())
    }
}

/// The fd of an `int` or of an object with `fileno()`.
fn fd_of(vm: &mut Vm, v: &Value) -> Res<RawFd> {
    let n = match v {
        Value::Int(i) => *i,
        other => match vm.get_attr_opt(other, Sym::new("fileno"))? {
            Some(f) => {
                let r = vm.call(&f, vec![])?;
                match r {
                    Value::Int(i) => i,
                    _ => return Err(Exc::type_error("fileno() returned a non-integer")),
                }
            }
            None => {
                let r = vm.repr(other)?;
                return Err(Exc::value_error(format!("Invalid file object: {r}")));
            }
        },
    };
    if n < 0 {
        return Err(Exc::value_error(format!("Invalid file descriptor: {n}")));
    }
    Ok(n as RawFd)
}

/// `add_reader(fd, callback, *args)` / `add_writer(...)`.
pub fn add(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args, read: bool) -> Res<Value> {
    vm.require(crate::embed::Capability::Network, "loop.add_reader()")?;
    crate::builtins::take_kw(a, "context");
    if a.pos.len() < 2 {
        let name = if read { "add_reader" } else { "add_writer" };
        return Err(Exc::type_error(format!("{name}() missing required arguments: 'fd' and 'callback'")));
    }
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    let fd = fd_of(vm, &a.pos[0])?;
    let cb = (a.pos[1].clone(), a.pos[2..].to_vec());
    let w = WATCHES.with(|m| m.borrow().get(&key(lp, fd)).cloned());
    let w = match w {
        Some(w) => w,
        None => {
            let w = Rc::new(FdWatch {
                lp: lp.clone(),
                fd,
                token: Cell::new(None),
                reader: RefCell::new(None),
                writer: RefCell::new(None),
            });
            WATCHES.with(|m| m.borrow_mut().insert(key(lp, fd), w.clone()));
            w
        }
    };
    let slot = if read { &w.reader } else { &w.writer };
    let old = slot.borrow_mut().replace(cb);
    if let Err(e) = w.sync() {
        *slot.borrow_mut() = old;
        if w.interest().is_none() {
            WATCHES.with(|m| m.borrow_mut().remove(&key(lp, fd)));
        }
        if e.raw_os_error() == Some(17) {
            return Err(Exc::runtime_error(format!("File descriptor {fd} is used by transport")));
        }
        return Err(io_error(vm, &e));
    }
    Ok(Value::None)
}

/// `remove_reader(fd)` / `remove_writer(fd)`: true if a callback was removed.
pub fn remove(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args, read: bool) -> Res<Value> {
    let Some(v) = a.pos.first().cloned() else {
        return Err(Exc::type_error("remove_reader() missing required argument: 'fd'"));
    };
    let fd = fd_of(vm, &v)?;
    let Some(w) = WATCHES.with(|m| m.borrow().get(&key(lp, fd)).cloned()) else { return Ok(Value::Bool(false)) };
    let slot = if read { &w.reader } else { &w.writer };
    let had = slot.borrow_mut().take().is_some();
    let _ = w.sync();
    Ok(Value::Bool(had))
}
