//! Signals: the process-wide catching (signal-hook actions that set flags and write to a
//! self-pipe), each signal's *disposition* as scripts see it (`signal.signal`,
//! `loop.add_signal_handler`), delivery to event loops and script handlers, and CPython
//! 3.11's Ctrl-C behaviour in `asyncio.run`.
//!
//! A caught signal sets its flag and writes a byte to a self-pipe that every loop's
//! `mio::Poll` watches, so a waiting loop wakes at once. The flags are read on the
//! interpreter thread only: by a loop between iterations (its `add_signal_handler`
//! callbacks, as ready callbacks), and by [`run_pending`] at the interpreter's blocking
//! points (`time.sleep`, a loop's wait, `os.kill` of its own process) for handlers set with
//! `signal.signal`.
//!
//! SIGINT keeps the VM's interrupt flag (`vm::INTERRUPT`, polled everywhere): the VM asks
//! `on_interrupt` what a pending interrupt means — `KeyboardInterrupt` by default, a
//! cancellation of the main task for the first Ctrl-C inside `asyncio.run` (as CPython's
//! `Runner` does), nothing when the script gave SIGINT a handler of its own.

use super::event_loop::EventLoop;
use super::future::{future_value, FutureObj};
use crate::vm::value::Value;
use crate::vm::{Exc, ExcKind, Res, Vm};
use std::cell::RefCell;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// One more than the highest signal number (`signal.NSIG`).
pub const NSIG: i32 = 65;
/// `SIGINT`.
pub const SIGINT: i32 = signal_hook::consts::SIGINT;

static CAUGHT: [AtomicBool; NSIG as usize] = [const { AtomicBool::new(false) }; NSIG as usize];
/// Per signal: run the OS default action (the script set `SIG_DFL`).
static RUN_DEFAULT: [AtomicBool; NSIG as usize] = [const { AtomicBool::new(false) }; NSIG as usize];
/// Set with any flag in `CAUGHT`, so that looking for caught signals is one load.
static ANY_CAUGHT: AtomicBool = AtomicBool::new(false);
static INSTALLED: Mutex<[bool; NSIG as usize]> = Mutex::new([false; NSIG as usize]);
/// The self-pipe: (read end, write end).
static PIPE: OnceLock<Option<(UnixStream, UnixStream)>> = OnceLock::new();

fn pipe() -> Option<&'static (UnixStream, UnixStream)> {
    PIPE.get_or_init(|| {
        let (r, w) = UnixStream::pair().ok()?;
        r.set_nonblocking(true).ok()?;
        w.set_nonblocking(true).ok()?;
        Some((r, w))
    })
    .as_ref()
}

/// True for a signal number that can be caught (not `SIGKILL`/`SIGSTOP`, nor the ones that
/// report faults in the program itself).
pub fn catchable(sig: i32) -> bool {
    sig > 0 && sig < NSIG && !signal_hook::consts::FORBIDDEN.contains(&sig)
}

/// Starts catching `sig` for the process (once; the actions stay installed, and what a
/// caught signal does is decided by its disposition). Initially the signal is *not* run
/// with its default action: the caller sets the disposition right after.
pub fn install(sig: i32) -> std::io::Result<()> {
    if !catchable(sig) {
        return Err(std::io::Error::from_raw_os_error(22));
    }
    let mut installed = INSTALLED.lock().map_err(|_| std::io::Error::other("signal table poisoned"))?;
    if installed[sig as usize] {
        return Ok(());
    }
    // Order matters: flags first, then the pipe (the reader drains the pipe, then looks at
    // the flags).
    signal_hook::flag::register(sig, &CAUGHT[sig as usize])?;
    signal_hook::flag::register(sig, &ANY_CAUGHT)?;
    if signal_hook::low_level::signal_name(sig).is_some() {
        signal_hook::flag::register_conditional_default(sig, &RUN_DEFAULT[sig as usize])?;
    }
    if let Some((_, w)) = pipe() {
        signal_hook::low_level::pipe::register(sig, w.try_clone()?)?;
    }
    installed[sig as usize] = true;
    Ok(())
}

/// True when `sig` has been caught since the flag was last taken; clears it. For Rust users
/// that watch a signal themselves after [`install`] (e.g. `SIGCHLD` for subprocesses).
pub fn take_caught(sig: i32) -> bool {
    (0..NSIG).contains(&sig) && CAUGHT[sig as usize].swap(false, Ordering::SeqCst)
}

/// Registers the self-pipe's read end with a loop's poll; the returned source must live as
/// long as the registration.
pub fn register_wakeup(registry: &mio::Registry, token: mio::Token) -> Option<mio::net::UnixStream> {
    let (r, _) = pipe()?;
    let mut src = mio::net::UnixStream::from_std(r.try_clone().ok()?);
    registry.register(&mut src, token, mio::Interest::READABLE).ok()?;
    Some(src)
}

// ---------------------------------------------------------------- dispositions

/// True when `sig` was ignored when the process started (inherited `SIG_IGN`, read from
/// `/proc/self/status` the first time this is asked — before any handler is installed).
pub fn initially_ignored(sig: i32) -> bool {
    static MASK: OnceLock<u64> = OnceLock::new();
    let mask = *MASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            .unwrap_or(0)
    });
    (1..=64).contains(&sig) && mask & (1u64 << (sig - 1)) != 0
}

/// What a signal does, as `signal.getsignal` reports it.
#[derive(Clone)]
pub enum Disposition {
    /// `SIG_DFL`: the OS default action.
    Default,
    /// `SIG_IGN`.
    Ignore,
    /// `signal.default_int_handler` (SIGINT's initial disposition): `KeyboardInterrupt`.
    DefaultInt,
    /// A script callable, called with `(signum, frame)`.
    Script(Value),
    /// A handler of an event loop (`add_signal_handler`).
    Loop,
}

struct Runner {
    main: Weak<FutureObj>,
    interrupts: u32,
}

thread_local! {
    static DISPOSITIONS: RefCell<Vec<Option<Disposition>>> = RefCell::new(vec![None; NSIG as usize]);
    /// Signals caught and not yet delivered, in the order they were noticed.
    static PENDING: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
    /// The `asyncio.run` in progress that takes the first Ctrl-C as a cancellation.
    static RUNNER: RefCell<Option<Runner>> = const { RefCell::new(None) };
}

/// The disposition of `sig` (what CPython starts with when nothing was set: SIGINT raises
/// `KeyboardInterrupt`, SIGPIPE and SIGXFSZ are ignored, the rest default).
pub fn disposition(sig: i32) -> Disposition {
    let d = DISPOSITIONS.with(|d| d.borrow().get(sig as usize).cloned().flatten());
    d.unwrap_or(match sig {
        signal_hook::consts::SIGPIPE | signal_hook::consts::SIGXFSZ => Disposition::Ignore,
        _ if initially_ignored(sig) => Disposition::Ignore,
        SIGINT => Disposition::DefaultInt,
        _ => Disposition::Default,
    })
}

/// Sets the disposition of `sig` (catching it from now on) and returns the previous one.
pub fn set_disposition(sig: i32, d: Disposition) -> std::io::Result<Disposition> {
    install(sig)?;
    set_interrupt_hook();
    let prev = disposition(sig);
    RUN_DEFAULT[sig as usize].store(matches!(d, Disposition::Default), Ordering::SeqCst);
    DISPOSITIONS.with(|t| t.borrow_mut()[sig as usize] = Some(d));
    Ok(prev)
}

/// Makes the VM ask `on_interrupt` what a pending interrupt means.
fn set_interrupt_hook() {
    crate::vm::INTERRUPT_HOOK.with(|h| h.set(Some(on_interrupt)));
}

/// What a pending interrupt (the VM's flag, set by SIGINT) means now: `KeyboardInterrupt`
/// unless the script gave SIGINT another disposition (then it is delivered as a signal),
/// or `asyncio.run` takes the first one as a request to cancel its main task.
fn on_interrupt(_vm: &Vm) -> Res<()> {
    if !matches!(disposition(SIGINT), Disposition::DefaultInt) {
        return Ok(());
    }
    let cancelled = RUNNER.with(|r| {
        let mut r = r.borrow_mut();
        let Some(run) = r.as_mut() else { return false };
        run.interrupts += 1;
        match run.main.upgrade() {
            Some(task) if run.interrupts == 1 && !task.done() => {
                task.cancel(Value::None);
                true
            }
            _ => false,
        }
    });
    if cancelled {
        Ok(())
    } else {
        Err(Exc::new(ExcKind::KeyboardInterrupt, ""))
    }
}

/// Moves caught signals from the flags to the pending list (after draining the pipe).
fn collect() {
    if !ANY_CAUGHT.swap(false, Ordering::SeqCst) {
        return;
    }
    if let Some((r, _)) = pipe() {
        let mut buf = [0u8; 64];
        let mut r = r;
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        for sig in 1..NSIG {
            if CAUGHT[sig as usize].swap(false, Ordering::SeqCst) && !p.contains(&sig) {
                p.push(sig);
            }
        }
        // Signals whose disposition says nothing is to be run are dropped.
        p.retain(|&s| matches!(disposition(s), Disposition::Script(_) | Disposition::Loop));
    });
}

/// The callbacks (with their arguments) of `lp`'s signal handlers for the signals caught
/// since the last look, to be scheduled as ready callbacks.
pub fn caught(lp: &EventLoop) -> Vec<(Value, Vec<Value>)> {
    collect();
    let handlers = lp.outside.signals.borrow();
    PENDING.with(|p| {
        let mut out = Vec::new();
        p.borrow_mut().retain(|&sig| {
            if !matches!(disposition(sig), Disposition::Loop) {
                return true;
            }
            match handlers.iter().find(|(s, _, _)| *s == sig) {
                Some((_, cb, args)) => {
                    out.push((cb.clone(), args.clone()));
                    false
                }
                None => true,
            }
        });
        out
    })
}

/// Runs the script handlers (`signal.signal`) of the signals caught since the last look,
/// as CPython does "between bytecodes"; called at the interpreter's blocking points.
pub fn run_pending(vm: &mut Vm) -> Res<()> {
    // One load when nothing was caught: script handlers are run as soon as their signal is
    // collected, so none is left pending (a handler that raises re-arms the flag below).
    if !ANY_CAUGHT.load(Ordering::Relaxed) {
        return Ok(());
    }
    collect();
    loop {
        let next = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().position(|&s| matches!(disposition(s), Disposition::Script(_)))?;
            Some(p.remove(i))
        });
        let Some(sig) = next else { return Ok(()) };
        if let Disposition::Script(f) = disposition(sig) {
            if let Err(e) = vm.call(&f, vec![Value::Int(sig as i64), Value::None]) {
                // Others still pending run at the next blocking point.
                ANY_CAUGHT.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
    }
}

/// After `os.kill`/`signal.raise_signal` aimed at this process: waits briefly for the signal
/// to be caught (delivery may go through another thread) and runs script handlers, so the
/// handler has run when the call returns, as in CPython.
pub fn after_self_signal(vm: &mut Vm, sig: i32) -> Res<()> {
    let handled = INSTALLED.lock().map(|t| (1..NSIG).contains(&sig) && t[sig as usize]).unwrap_or(false);
    if !handled || matches!(disposition(sig), Disposition::Ignore | Disposition::Default) {
        return Ok(());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
    let seen = || CAUGHT[sig as usize].load(Ordering::SeqCst) || PENDING.with(|p| p.borrow().contains(&sig));
    while !seen() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    // A SIGINT with its default disposition surfaces through the VM's interrupt flag.
    vm.take_interrupt()?;
    run_pending(vm)
}

// ---------------------------------------------------------------- event loops

fn check_signal(vm: &mut Vm, v: &Value) -> Res<i32> {
    let Value::Int(n) = v else {
        let r = vm.repr(v)?;
        return Err(Exc::type_error(format!("sig must be an int, not {r}")));
    };
    if *n < 1 || *n >= NSIG as i64 || *n == 32 || *n == 33 {
        return Err(Exc::value_error(format!("invalid signal number {n}")));
    }
    Ok(*n as i32)
}

/// `loop.add_signal_handler(sig, callback, *args)`.
pub fn loop_add_signal_handler(vm: &mut Vm, a: &mut crate::vm::Args) -> Res<Value> {
    vm.require(crate::embed::Capability::Subprocess, "loop.add_signal_handler()")?;
    let lp = super::this_loop(a)?;
    if a.pos.len() < 3 {
        return Err(Exc::type_error("add_signal_handler() missing required argument 'callback'"));
    }
    let cb = a.pos[2].clone();
    let is_coro_fn = match &cb {
        Value::Function(f) => f.code.flags.coroutine,
        Value::BoundMethod(m) => matches!(&m.func, Value::Function(f) if f.code.flags.coroutine),
        _ => false,
    };
    if is_coro_fn || super::is_coroutine(&cb) {
        return Err(Exc::type_error("coroutines cannot be used with add_signal_handler()"));
    }
    let sig = check_signal(vm, &a.pos[1])?;
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    if !catchable(sig) {
        return Err(Exc::runtime_error(format!("sig {sig} cannot be caught")));
    }
    set_disposition(sig, Disposition::Loop).map_err(|e| Exc::runtime_error(e.to_string()))?;
    let args = a.pos[3..].to_vec();
    let mut handlers = lp.outside.signals.borrow_mut();
    handlers.retain(|(s, _, _)| *s != sig);
    handlers.push((sig, cb, args));
    Ok(Value::None)
}

/// `loop.remove_signal_handler(sig)`: true if a handler was removed; the signal gets its
/// default disposition back (`default_int_handler` for SIGINT).
pub fn loop_remove_signal_handler(vm: &mut Vm, a: &mut crate::vm::Args) -> Res<Value> {
    let lp = super::this_loop(a)?;
    let v = a
        .pos
        .get(1)
        .cloned()
        .ok_or_else(|| Exc::type_error("remove_signal_handler() missing 1 required positional argument: 'sig'"))?;
    let sig = check_signal(vm, &v)?;
    Ok(Value::Bool(remove_handler(&lp, sig)))
}

fn remove_handler(lp: &EventLoop, sig: i32) -> bool {
    let removed = {
        let mut handlers = lp.outside.signals.borrow_mut();
        let before = handlers.len();
        handlers.retain(|(s, _, _)| *s != sig);
        handlers.len() != before
    };
    if removed {
        let d = if sig == SIGINT { Disposition::DefaultInt } else { Disposition::Default };
        let _ = set_disposition(sig, d);
    }
    removed
}

/// A closing loop removes its signal handlers (as CPython's `close()` does).
pub fn loop_closed(lp: &EventLoop) {
    let sigs: Vec<i32> = lp.outside.signals.borrow().iter().map(|(s, _, _)| *s).collect();
    for sig in sigs {
        remove_handler(lp, sig);
    }
}

// ---------------------------------------------------------------- asyncio.run and Ctrl-C

/// Runs `main` as the main task of `asyncio.run` on `lp`, handling Ctrl-C as CPython 3.11's
/// `Runner` does when SIGINT has its default disposition: the first Ctrl-C cancels the
/// main task (its `finally` blocks and `except CancelledError` run); if the task then ends
/// cancelled, `KeyboardInterrupt` is raised (its context the `CancelledError`); a second
/// Ctrl-C raises `KeyboardInterrupt` wherever the program is.
pub fn run_main(vm: &mut Vm, lp: &Rc<EventLoop>, main: Value) -> Res<Value> {
    let task = super::create_task(vm, lp, main, None)?;
    let takes_sigint = matches!(disposition(SIGINT), Disposition::DefaultInt);
    if takes_sigint {
        set_interrupt_hook();
        RUNNER.with(|r| *r.borrow_mut() = Some(Runner { main: Rc::downgrade(&task), interrupts: 0 }));
    }
    let r = super::run_until_complete(vm, lp, future_value(&task));
    let interrupts = if takes_sigint { RUNNER.with(|r| r.borrow_mut().take()).map_or(0, |r| r.interrupts) } else { 0 };
    match r {
        Err(e) if interrupts > 0 => {
            let inst = vm.materialize(e);
            if inst.class.is_subclass(vm.exc_class(ExcKind::CancelledError)) {
                let left = task.uncancel();
                if left == 0 {
                    let kb = vm.materialize(Exc::new(ExcKind::KeyboardInterrupt, ""));
                    kb.set_attr(vm.syms.context, Value::Instance(inst));
                    return Err(Exc::Obj(kb));
                }
            }
            Err(Exc::Obj(inst))
        }
        r => r,
    }
}
