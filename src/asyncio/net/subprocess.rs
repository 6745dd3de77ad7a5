//! Child processes: `_spawn` starts one with its pipes as stream transports, and a child
//! watcher reaps every child as soon as it exits (a SIGCHLD handler writes to a socket
//! pair the loop polls; each wake-up `try_wait`s the loop's live children), so no zombie
//! outlives its process. `Process`, `communicate` and `create_subprocess_*` are written in
//! aio on top of this (`stdlib/asyncio.aio`).

use super::streams::{StreamProtocol, StreamReader, StreamWriter};
use super::support::{coro, io_error, this, Op, Step};
use super::transport::{Kind, Proto, Sock, Transport};
use crate::asyncio::event_loop::{EventLoop, IoHandler, Ready};
use crate::asyncio::future::FutureObj;
use crate::builtins::bound_native;
use crate::modules::params::{bind, Sig};
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Vm};
use std::cell::{Cell, RefCell};
use std::io::Read;
use std::process::{Command, Stdio};
use std::rc::{Rc, Weak};

crate::self_rc!(ProcHandle);

/// `asyncio.subprocess.PIPE`.
pub const PIPE: i64 = -1;
/// `asyncio.subprocess.STDOUT`.
pub const STDOUT: i64 = -2;
/// `asyncio.subprocess.DEVNULL`.
pub const DEVNULL: i64 = -3;

/// A running (or finished) child and its pipes.
pub struct ProcHandle {
    me: Weak<ProcHandle>,
    lp: Rc<EventLoop>,
    pid: u32,
    child: RefCell<Option<std::process::Child>>,
    returncode: RefCell<Value>,
    stdin: Value,
    stdout: Value,
    stderr: Value,
    stdin_t: RefCell<Option<Rc<Transport>>>,
    /// Read pipes not yet disconnected.
    open_pipes: Cell<u8>,
    finished: Cell<bool>,
    waiters: RefCell<Vec<Rc<FutureObj>>>,
}

impl ProcHandle {
    /// Polls the child; true once it has been reaped.
    fn poll_exit(self: &Rc<Self>) -> bool {
        let status = {
            let mut c = self.child.borrow_mut();
            let Some(child) = c.as_mut() else { return true };
            match child.try_wait() {
                Ok(Some(st)) => st,
                Ok(None) => return false,
                Err(_) => return true,
            }
        };
        self.child.borrow_mut().take();
        use std::os::unix::process::ExitStatusExt;
        let code = match (status.code(), status.signal()) {
            (Some(c), _) => c as i64,
            (None, Some(s)) => -(s as i64),
            _ => 0,
        };
        let me = self.clone();
        self.lp.call_soon_native(move |_vm| {
            *me.returncode.borrow_mut() = Value::Int(code);
            me.try_finish();
            Ok(())
        });
        true
    }

    fn pipe_lost(self: &Rc<Self>) {
        self.open_pipes.set(self.open_pipes.get().saturating_sub(1));
        self.try_finish();
    }

    /// Once the child exited and its output pipes are at EOF: close stdin and wake `wait()`.
    fn try_finish(self: &Rc<Self>) {
        if self.finished.get() || self.returncode.borrow().is_none() || self.open_pipes.get() > 0 {
            return;
        }
        self.finished.set(true);
        let me = self.clone();
        self.lp.call_soon_native(move |_vm| {
            if let Some(t) = me.stdin_t.borrow_mut().take() {
                t.close();
            }
            let rc = me.returncode.borrow().clone();
            for w in std::mem::take(&mut *me.waiters.borrow_mut()) {
                if !w.done() {
                    let _ = w.set_result(rc.clone());
                }
            }
            Ok(())
        });
    }

    fn signal(&self, vm: &mut Vm, sig: i32) -> Res<()> {
        if self.finished.get() {
            return Err(vm.exception_with_args(ExcKind::ProcessLookupError, vec![]));
        }
        if !self.returncode.borrow().is_none() || self.child.borrow().is_none() {
            return Ok(());
        }
        let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) else { return Ok(()) };
        let Some(s) = rustix::process::Signal::from_named_raw(sig) else {
            return Err(Exc::value_error(format!("invalid signal number {sig}")));
        };
        match rustix::process::kill_process(pid, s) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == 3 => Ok(()),
            Err(e) => Err(io_error(vm, &std::io::Error::from_raw_os_error(e.raw_os_error()))),
        }
    }
}

// ---------------------------------------------------------------- child watcher

/// Reaps the children of one loop on SIGCHLD.
struct ChildWatcher {
    lp: Rc<EventLoop>,
    rx: RefCell<mio::net::UnixStream>,
    children: RefCell<Vec<Rc<ProcHandle>>>,
    sig: Cell<Option<signal_hook::SigId>>,
    token: Cell<Option<mio::Token>>,
}

thread_local! {
    static WATCHERS: RefCell<Vec<Rc<ChildWatcher>>> = const { RefCell::new(Vec::new()) };
}

impl ChildWatcher {
    fn for_loop(lp: &Rc<EventLoop>) -> std::io::Result<Rc<ChildWatcher>> {
        if let Some(w) = WATCHERS.with(|w| w.borrow().iter().find(|x| Rc::ptr_eq(&x.lp, lp)).cloned()) {
            return Ok(w);
        }
        let (rx, tx) = std::os::unix::net::UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        let sig = signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, tx)?;
        let w = Rc::new(ChildWatcher {
            lp: lp.clone(),
            rx: RefCell::new(mio::net::UnixStream::from_std(rx)),
            children: RefCell::default(),
            sig: Cell::new(Some(sig)),
            token: Cell::new(None),
        });
        let tok = lp.io_register(&mut *w.rx.borrow_mut(), mio::Interest::READABLE, w.clone())?;
        w.token.set(Some(tok));
        WATCHERS.with(|ws| ws.borrow_mut().push(w.clone()));
        Ok(w)
    }

    fn check(&self) {
        self.children.borrow_mut().retain(|c| !c.poll_exit());
        if self.children.borrow().is_empty() {
            // No child left: stop polling, so the loop can tell it has nothing to wait for.
            if let Some(t) = self.token.take() {
                self.lp.io_deregister(&mut *self.rx.borrow_mut(), t);
            }
            if let Some(s) = self.sig.take() {
                signal_hook::low_level::unregister(s);
            }
            WATCHERS.with(|ws| ws.borrow_mut().retain(|x| !std::ptr::eq(&**x, self)));
        }
    }
}

impl IoHandler for ChildWatcher {
    fn io_ready(self: Rc<Self>, _vm: &mut Vm, _ready: Ready) -> Res<()> {
        let mut buf = [0u8; 64];
        loop {
            match self.rx.borrow_mut().read(&mut buf) {
                Ok(n) if n > 0 => continue,
                _ => break,
            }
        }
        self.check();
        Ok(())
    }
}

// ---------------------------------------------------------------- spawning

/// A pipe for a child's output: our end non-blocking, the child's end blocking (as a
/// program expects its standard streams).
fn child_pipe() -> std::io::Result<(mio::unix::pipe::Receiver, std::os::fd::OwnedFd)> {
    let (tx, rx) = mio::unix::pipe::new()?;
    tx.set_nonblocking(false)?;
    Ok((rx, std::os::fd::OwnedFd::from(tx)))
}

enum Io {
    Inherit,
    Pipe,
    Null,
    Stdout,
}

fn io_arg(vm: &mut Vm, v: &Option<Value>, name: &str) -> Res<Io> {
    match v {
        None | Some(Value::None) => Ok(Io::Inherit),
        Some(x) => match vm.index_value(x) {
            Ok(PIPE) => Ok(Io::Pipe),
            Ok(DEVNULL) => Ok(Io::Null),
            Ok(STDOUT) if name == "stderr" => Ok(Io::Stdout),
            _ => Err(Exc::value_error(format!(
                "aio supports only None, PIPE, DEVNULL (and STDOUT for stderr) as {name}"
            ))),
        },
    }
}

fn arg_string(vm: &mut Vm, v: &Value) -> Res<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        other => {
            if vm.get_attr_opt(other, Sym::new("__fspath__"))?.is_some() {
                return super::path_arg(vm, other);
            }
            let t = vm.type_name(other);
            Err(Exc::type_error(format!("expected str, bytes or os.PathLike object, not {t}")))
        }
    }
}

/// The `_spawn` coroutine: starts the child, then waits until its pipes are connected.
struct Spawn {
    cmd: RefCell<Option<(Command, String, Io, Io, Io, usize)>>,
    handle: RefCell<Option<Rc<ProcHandle>>>,
    waiting: Cell<bool>,
}

impl Op for Spawn {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if self.waiting.get() {
            let h = self.handle.borrow_mut().take();
            return Ok(Step::Done(h.map(|h| Value::Other(h as Rc<dyn NativeObject>)).unwrap_or(Value::None)));
        }
        let Some((mut cmd, prog, i, o, e, limit)) = self.cmd.borrow_mut().take() else {
            return Ok(Step::Done(Value::None));
        };
        let lp = super::current_loop()?;
        let watcher = ChildWatcher::for_loop(&lp).map_err(|e| io_error(vm, &e))?;
        let mut stdout_w = None;
        let mut stdout_r = None;
        if matches!(o, Io::Pipe) {
            let (r, w) = child_pipe().map_err(|e| io_error(vm, &e))?;
            stdout_r = Some(r);
            stdout_w = Some(w);
        }
        cmd.stdin(match i {
            Io::Pipe => Stdio::piped(),
            Io::Null => Stdio::null(),
            _ => Stdio::inherit(),
        });
        let mut stderr_r = None;
        match e {
            Io::Pipe => {
                let (r, w) = child_pipe().map_err(|e| io_error(vm, &e))?;
                stderr_r = Some(r);
                cmd.stderr(Stdio::from(w));
            }
            Io::Null => {
                cmd.stderr(Stdio::null());
            }
            Io::Stdout => match &stdout_w {
                Some(w) => {
                    cmd.stderr(Stdio::from(w.try_clone().map_err(|e| io_error(vm, &e))?));
                }
                None => {
                    // stderr follows stdout wherever stdout goes.
                    if matches!(o, Io::Null) {
                        cmd.stderr(Stdio::null());
                    }
                }
            },
            Io::Inherit => {}
        }
        match (o, stdout_w.take()) {
            (_, Some(w)) => {
                cmd.stdout(Stdio::from(w));
            }
            (Io::Null, None) => {
                cmd.stdout(Stdio::null());
            }
            _ => {}
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(err) => return Err(crate::modules::os::os_error(vm, &err, Some(&prog), None)),
        };
        // Our copies of the child's pipe ends must close now, or EOF never comes.
        drop(cmd);
        let pid = child.id();
        let mut pipes = 0u8;
        let mut waiter = None;
        let mut make_reader = |rx: mio::unix::pipe::Receiver, vm: &mut Vm| -> Res<(Value, Rc<Transport>)> {
            let reader = StreamReader::new(&lp, limit);
            let proto = StreamProtocol::new(&lp, Some(reader.clone()), Value::None);
            let w = FutureObj::new(&lp, None);
            let t = Transport::start(
                &lp,
                Sock::PipeRead(rx),
                Kind::ReadPipe,
                Proto::Stream(proto),
                Some(w.clone()),
                None,
                (Value::None, Value::None, Value::None),
            )
            .map_err(|e| io_error(vm, &e))?;
            waiter = Some(w);
            Ok((Value::Other(reader), t))
        };
        let mut read_ts = Vec::new();
        let stdout = match stdout_r {
            Some(r) => {
                let (v, t) = make_reader(r, vm)?;
                read_ts.push(t);
                pipes += 1;
                v
            }
            None => Value::None,
        };
        let stderr = match stderr_r {
            Some(r) => {
                let (v, t) = make_reader(r, vm)?;
                read_ts.push(t);
                pipes += 1;
                v
            }
            None => Value::None,
        };
        let (stdin, stdin_t) = match child.stdin.take() {
            Some(s) => {
                let tx = mio::unix::pipe::Sender::from(s);
                tx.set_nonblocking(true).map_err(|e| io_error(vm, &e))?;
                let proto = StreamProtocol::new(&lp, None, Value::None);
                let w = FutureObj::new(&lp, None);
                let t = Transport::start(
                    &lp,
                    Sock::PipeWrite(tx),
                    Kind::WritePipe,
                    Proto::Stream(proto.clone()),
                    Some(w.clone()),
                    None,
                    (Value::None, Value::None, Value::None),
                )
                .map_err(|e| io_error(vm, &e))?;
                waiter = Some(w);
                (Value::Other(StreamWriter::new(t.clone(), proto, None)), Some(t))
            }
            None => (Value::None, None),
        };
        let h = Rc::new_cyclic(|me| ProcHandle {
            me: me.clone(),
            lp: lp.clone(),
            pid,
            child: RefCell::new(Some(child)),
            returncode: RefCell::new(Value::None),
            stdin,
            stdout,
            stderr,
            stdin_t: RefCell::new(stdin_t),
            open_pipes: Cell::new(pipes),
            finished: Cell::new(false),
            waiters: RefCell::default(),
        });
        for t in read_ts {
            let h2 = h.clone();
            t.set_on_lost(Box::new(move |_vm| h2.pipe_lost()));
        }
        watcher.children.borrow_mut().push(h.clone());
        // The child may have exited already (its SIGCHLD came before we listened).
        watcher.check_soon();
        // CPython connects the pipes in a task of its own.
        crate::asyncio::next_task_name();
        *self.handle.borrow_mut() = Some(h);
        self.waiting.set(true);
        Ok(match waiter {
            Some(w) => Step::Wait(w),
            None => Step::Yield,
        })
    }
    fn qualname(&self) -> &'static str {
        "_spawn"
    }
}

impl ChildWatcher {
    fn check_soon(self: &Rc<Self>) {
        let me = self.clone();
        self.lp.call_soon_native(move |_vm| {
            if me.token.get().is_some() {
                me.check();
            }
            Ok(())
        });
    }
}

/// `_spawn(args, shell, stdin, stdout, stderr, limit, cwd=None, env=None)`: a coroutine
/// returning the process handle.
pub fn spawn(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Subprocess, "asyncio.create_subprocess_exec()")?;
    let b = bind(
        a,
        &Sig {
            name: "_spawn",
            params: &["args", "shell", "stdin", "stdout", "stderr", "limit"],
            required: 6,
            kwonly: &["cwd", "env"],
        },
    )?;
    let shell = vm.truthy(&b[1].clone().unwrap_or(Value::None))?;
    let items = vm.collect(&b[0].clone().unwrap_or(Value::None))?;
    let mut argv = Vec::new();
    for it in &items {
        argv.push(arg_string(vm, it)?);
    }
    if argv.is_empty() {
        return Err(Exc::value_error("empty command"));
    }
    let stdin = io_arg(vm, &b[2], "stdin")?;
    let stdout = io_arg(vm, &b[3], "stdout")?;
    let stderr = io_arg(vm, &b[4], "stderr")?;
    let limit = vm.index_value(&b[5].clone().unwrap_or(Value::Int(1 << 16)))?.max(1) as usize;
    let mut cmd = if shell {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&argv[0]);
        c
    } else {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    };
    if let Some(cwd) = b[6].clone().filter(|v| !v.is_none()) {
        cmd.current_dir(super::path_arg(vm, &cwd)?);
    }
    if let Some(env) = b[7].clone().filter(|v| !v.is_none()) {
        cmd.env_clear();
        let keys = vm.collect(&env)?;
        for k in keys {
            let v = vm.get_item(&env, &k)?;
            let ks = arg_string(vm, &k)?;
            let vs = arg_string(vm, &v)?;
            cmd.env(ks, vs);
        }
    }
    let prog = if shell { "/bin/sh".to_string() } else { argv[0].clone() };
    Ok(coro(Spawn {
        cmd: RefCell::new(Some((cmd, prog, stdin, stdout, stderr, limit))),
        handle: RefCell::new(None),
        waiting: Cell::new(false),
    }))
}

fn ph(a: &Args) -> Res<Rc<ProcHandle>> {
    this::<ProcHandle>(a, "ProcHandle")
}
fn ph_wait(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(coro(WaitOp { h: ph(a)?, fut: RefCell::new(None) }))
}
fn ph_kill(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ph(a)?.signal(vm, 9)?;
    Ok(Value::None)
}
fn ph_terminate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    ph(a)?.signal(vm, 15)?;
    Ok(Value::None)
}
fn ph_send_signal(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let h = ph(a)?;
    let s = vm.index_value(&a.pos.get(1).cloned().unwrap_or(Value::None))?;
    h.signal(vm, s as i32)?;
    Ok(Value::None)
}

/// `Process.wait()`: the return code, once the child exited and its pipes are at EOF.
struct WaitOp {
    h: Rc<ProcHandle>,
    fut: RefCell<Option<Rc<FutureObj>>>,
}

impl Op for WaitOp {
    fn poll(&self, vm: &mut Vm) -> Res<Step> {
        if let Some(f) = self.fut.borrow_mut().take() {
            return f.get_result(vm).map(Step::Done);
        }
        if self.h.finished.get() || (!self.h.returncode.borrow().is_none() && self.h.open_pipes.get() == 0) {
            return Ok(Step::Done(self.h.returncode.borrow().clone()));
        }
        let f = FutureObj::new(&self.h.lp, None);
        self.h.waiters.borrow_mut().push(f.clone());
        *self.fut.borrow_mut() = Some(f.clone());
        Ok(Step::Wait(f))
    }
    fn qualname(&self) -> &'static str {
        "Process.wait"
    }
}

impl NativeObject for ProcHandle {
    fn type_name(&self) -> &'static str {
        "_UnixSubprocessTransport"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "_wait" => ("_wait", ph_wait as NativeFn),
                "kill" => ("kill", ph_kill as NativeFn),
                "terminate" => ("terminate", ph_terminate as NativeFn),
                "send_signal" => ("send_signal", ph_send_signal as NativeFn),
                _ => return None,
            })
        });
        if let Some((n, f)) = f {
            return Ok(Some(bound_native(this.clone(), n, f)));
        }
        Ok(name.with_str(|s| match s {
            "pid" => Some(Value::Int(self.pid as i64)),
            "returncode" => Some(self.returncode.borrow().clone()),
            "stdin" => Some(self.stdin.clone()),
            "stdout" => Some(self.stdout.clone()),
            "stderr" => Some(self.stderr.clone()),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        let mut s = format!("<_UnixSubprocessTransport pid={}", self.pid);
        match &*self.returncode.borrow() {
            Value::Int(c) => s.push_str(&format!(" returncode={c}")),
            _ => s.push_str(" running"),
        }
        s.push('>');
        s
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
