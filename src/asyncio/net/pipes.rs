//! `loop.connect_read_pipe(protocol_factory, pipe)` and `loop.connect_write_pipe(...)`:
//! CPython's `_UnixReadPipeTransport` / `_UnixWritePipeTransport` over any object with
//! `fileno()` naming a pipe, socket or character device (an `os.pipe()` end opened with
//! `open()`, `sys.stdin`, a `socket.socket`, ...).
//!
//! The transport owns a duplicate of the descriptor (made non-blocking, which the original
//! shares); when it closes, it closes its duplicate and calls `pipe.close()`, as CPython's
//! transport closes the pipe object it was given.

use super::support::{call_method, coro, exc_value, io_error, report, Op, Step};
use super::transport::{Kind, Proto, Sock, Transport};
use crate::asyncio::event_loop::EventLoop;
use crate::asyncio::future::FutureObj;
use crate::modules::params::{bind, Sig};
use crate::vm::value::Value;
use crate::vm::{Args, Exc, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::os::fd::OwnedFd;
use std::rc::Rc;

/// The `connect_read_pipe` / `connect_write_pipe` coroutine.
struct ConnectPipe {
    lp: Rc<EventLoop>,
    factory: Value,
    pipe: Value,
    read: bool,
    made: RefCell<Option<(Rc<Transport>, Value)>>,
    waiting: Cell<bool>,
}

impl ConnectPipe {
    /// A non-blocking duplicate of the pipe's descriptor, checked to be a pipe, socket or
    /// character device.
    fn descriptor(&self, vm: &mut Vm) -> Res<OwnedFd> {
        let f = call_method(vm, &self.pipe, Sym::new("fileno"), vec![])?;
        let n = vm.index_value(&f)?;
        let n = i32::try_from(n).map_err(|_| Exc::new(crate::vm::ExcKind::OverflowError, "fd out of range"))?;
        let fd = crate::modules::fds::dup(n).map_err(|e| io_error(vm, &e))?;
        let file = std::fs::File::from(fd);
        let kind = file.metadata().map_err(|e| io_error(vm, &e))?.file_type();
        use std::os::unix::fs::FileTypeExt;
        if !(kind.is_fifo() || kind.is_socket() || kind.is_char_device()) {
            return Err(Exc::value_error(if self.read {
                "Pipe transport is for pipes/sockets only."
            } else {
                "Pipe transport is only for pipes, sockets and character devices"
            }));
        }
        Ok(OwnedFd::from(file))
    }

    fn start(&self, vm: &mut Vm) -> Res<Rc<FutureObj>> {
        let protocol = vm.call(&self.factory, vec![])?;
        let fd = self.descriptor(vm)?;
        let sock = if self.read {
            let rx = mio::unix::pipe::Receiver::from(fd);
            rx.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
            Sock::PipeRead(rx)
        } else {
            let tx = mio::unix::pipe::Sender::from(fd);
            tx.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
            Sock::PipeWrite(tx)
        };
        let kind = if self.read { Kind::ReadPipe } else { Kind::WritePipe };
        let waiter = FutureObj::new(&self.lp, None);
        let extra = (Value::None, Value::None, self.pipe.clone());
        let t = Transport::start(&self.lp, sock, kind, Proto::from_value(&protocol), Some(waiter.clone()), None, extra)
            .map_err(|e| io_error(vm, &e))?;
        let pipe = self.pipe.clone();
        t.set_on_lost(Box::new(move |vm| {
            if let Err(e) = call_method(vm, &pipe, Sym::new("close"), vec![]) {
                let ev = exc_value(vm, e);
                report(vm, "Exception in callback _call_connection_lost", Some(&ev), vec![]);
            }
        }));
        *self.made.borrow_mut() = Some((t, protocol));
        Ok(waiter)
    }
}

impl Op for ConnectPipe {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if self.waiting.replace(true) {
            let made = self.made.borrow_mut().take();
            return Ok(Step::Done(match made {
                Some((t, p)) => Value::tuple(vec![Value::Other(t), p]),
                None => Value::None,
            }));
        }
        Ok(Step::Wait(self.start(vm)?))
    }
    fn abort(&self, _vm: &mut Vm) {
        if let Some((t, _)) = self.made.borrow_mut().take() {
            t.close();
        }
    }
    fn qualname(&self) -> &'static str {
        if self.read {
            "BaseEventLoop.connect_read_pipe"
        } else {
            "BaseEventLoop.connect_write_pipe"
        }
    }
}

/// `loop.connect_read_pipe(protocol_factory, pipe)` (`read`) or
/// `loop.connect_write_pipe(protocol_factory, pipe)`.
pub fn connect_pipe(vm: &mut Vm, lp: &Rc<EventLoop>, a: &mut Args, read: bool) -> Res<Value> {
    let name = if read { "connect_read_pipe" } else { "connect_write_pipe" };
    let b = bind(a, &Sig { name, params: &["protocol_factory", "pipe"], required: 2, kwonly: &[] })?;
    let _ = vm;
    Ok(coro(ConnectPipe {
        lp: lp.clone(),
        factory: b[0].clone().unwrap_or(Value::None),
        pipe: b[1].clone().unwrap_or(Value::None),
        read,
        made: RefCell::new(None),
        waiting: Cell::new(false),
    }))
}
