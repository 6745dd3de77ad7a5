//! `signal`: signal numbers (Linux values), `signal.signal` / `getsignal` with `SIG_DFL`,
//! `SIG_IGN` and `default_int_handler`, `raise_signal`, `strsignal`, `valid_signals`.
//! Catching and delivery live in `asyncio/signals.rs`: a handler set here runs on the
//! interpreter thread at its next blocking point (`time.sleep`, an event loop's wait,
//! `os.kill` of its own process), not between any two instructions as in CPython.

use crate::asyncio::signals::{self, Disposition, NSIG, SIGINT};
use crate::builtins::check_args;
use crate::vm::value::Module;
use crate::vm::{Args, Exc, ExcKind, Res, Value, Vm};
use std::rc::Rc;

/// Signal names and numbers (Linux, x86-64 and arm64).
pub const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGIOT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPOLL", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
    ("SIGRTMIN", 34),
    ("SIGRTMAX", 64),
];

/// `strsignal(sig)` as glibc words it.
fn description(sig: i32) -> Option<String> {
    let s = match sig {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        4 => "Illegal instruction",
        5 => "Trace/breakpoint trap",
        6 => "Aborted",
        7 => "Bus error",
        8 => "Floating point exception",
        9 => "Killed",
        10 => "User defined signal 1",
        11 => "Segmentation fault",
        12 => "User defined signal 2",
        13 => "Broken pipe",
        14 => "Alarm clock",
        15 => "Terminated",
        16 => "Stack fault",
        17 => "Child exited",
        18 => "Continued",
        19 => "Stopped (signal)",
        20 => "Stopped",
        21 => "Stopped (tty input)",
        22 => "Stopped (tty output)",
        23 => "Urgent I/O condition",
        24 => "CPU time limit exceeded",
        25 => "File size limit exceeded",
        26 => "Virtual timer expired",
        27 => "Profiling timer expired",
        28 => "Window changed",
        29 => "I/O possible",
        30 => "Power failure",
        31 => "Bad system call",
        34..=64 => return Some(format!("Real-time signal {}", sig - 34)),
        _ => return None,
    };
    Some(s.to_string())
}

fn signum(vm: &mut Vm, v: &Value) -> Res<i32> {
    let n = vm.index_value(v)?;
    if n < 1 || n >= NSIG as i64 {
        return Err(Exc::value_error("signal number out of range"));
    }
    Ok(n as i32)
}

/// `signal.default_int_handler(signalnum, frame)`: raises `KeyboardInterrupt`.
fn default_int_handler(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Err(Exc::new(ExcKind::KeyboardInterrupt, ""))
}

/// What a loop handler looks like to `getsignal` (CPython's `_sighandler_noop`).
fn sighandler_noop(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::None)
}

fn is_default_int_handler(v: &Value) -> bool {
    matches!(v, Value::Native(n) if n.name == "default_int_handler")
}

fn is_callable(v: &Value) -> bool {
    match v {
        Value::Function(_) | Value::BoundMethod(_) | Value::Native(_) | Value::Class(_) | Value::Other(_) => true,
        Value::Instance(i) => i.class.lookup(crate::vm::Sym::new("__call__")).is_some(),
        _ => false,
    }
}

thread_local! {
    /// `default_int_handler` and `_sighandler_noop`, one object each, so that `is` works.
    static HANDLERS: (Value, Value) = (
        crate::builtins::native("default_int_handler", default_int_handler),
        crate::builtins::native("_sighandler_noop", sighandler_noop),
    );
}

fn disposition_value(d: Disposition) -> Value {
    match d {
        Disposition::Default => Value::Int(0),
        Disposition::Ignore => Value::Int(1),
        Disposition::DefaultInt => HANDLERS.with(|h| h.0.clone()),
        Disposition::Script(f) => f,
        Disposition::Loop => HANDLERS.with(|h| h.1.clone()),
    }
}

fn s_signal(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("signal", a, 2, 2)?;
    let sig = signum(vm, &a.pos[0].clone())?;
    let h = a.pos[1].clone();
    let d = match &h {
        Value::Int(0) => Disposition::Default,
        Value::Int(1) => Disposition::Ignore,
        v if is_default_int_handler(v) => {
            if sig == SIGINT {
                Disposition::DefaultInt
            } else {
                Disposition::Script(v.clone())
            }
        }
        v if is_callable(v) => Disposition::Script(v.clone()),
        _ => {
            return Err(Exc::type_error("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object"))
        }
    };
    if !signals::catchable(sig) {
        return Err(crate::modules::os::os_error(vm, &std::io::Error::from_raw_os_error(22), None, None));
    }
    let prev = signals::set_disposition(sig, d).map_err(|e| crate::modules::os::os_error(vm, &e, None, None))?;
    Ok(disposition_value(prev))
}

fn s_getsignal(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("getsignal", a, 1, 1)?;
    let sig = signum(vm, &a.pos[0].clone())?;
    Ok(disposition_value(signals::disposition(sig)))
}

fn s_raise_signal(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("raise_signal", a, 1, 1)?;
    let sig = signum(vm, &a.pos[0].clone())?;
    vm.flush_stdout();
    signal_hook::low_level::raise(sig).map_err(|e| crate::modules::os::os_error(vm, &e, None, None))?;
    signals::after_self_signal(vm, sig)?;
    Ok(Value::None)
}

fn s_strsignal(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("strsignal", a, 1, 1)?;
    let sig = signum(vm, &a.pos[0].clone())?;
    Ok(description(sig).map(Value::string).unwrap_or(Value::None))
}

fn s_valid_signals(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("valid_signals", a, 0, 0)?;
    let items: Vec<Value> = (1..NSIG).filter(|s| *s != 32 && *s != 33).map(|s| Value::Int(s as i64)).collect();
    let set = vm.builtins.get(crate::vm::Sym::new("set")).unwrap_or(Value::None);
    vm.call(&set, vec![Value::list(items)])
}

/// Builds the module.
pub fn init(_vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "signal",
        &[
            ("signal", s_signal),
            ("getsignal", s_getsignal),
            ("raise_signal", s_raise_signal),
            ("strsignal", s_strsignal),
            ("valid_signals", s_valid_signals),
        ],
    );
    super::set(&m, "default_int_handler", HANDLERS.with(|h| h.0.clone()));
    for (name, n) in SIGNALS {
        super::set(&m, name, Value::Int(*n as i64));
    }
    super::set(&m, "NSIG", Value::Int(NSIG as i64));
    super::set(&m, "SIG_DFL", Value::Int(0));
    super::set(&m, "SIG_IGN", Value::Int(1));
    super::set(&m, "SIG_BLOCK", Value::Int(0));
    super::set(&m, "SIG_UNBLOCK", Value::Int(1));
    super::set(&m, "SIG_SETMASK", Value::Int(2));
    Ok(m)
}
