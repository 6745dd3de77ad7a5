//! `time`: clocks and a blocking sleep.

use crate::builtins::check_args;
use crate::vm::value::{Module, Value};
use crate::vm::{Args, Exc, Res, Vm};
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

thread_local! {
    static START: Instant = Instant::now();
}

fn time(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(Value::Float(d.as_secs_f64()))
}

fn monotonic(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Float(START.with(|s| s.elapsed().as_secs_f64()) + 1.0))
}

fn sleep(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("sleep", a, 1, 1)?;
    let s = vm.to_float(&a.pos[0].clone())?;
    if s < 0.0 {
        return Err(Exc::value_error("sleep length must be non-negative"));
    }
    vm.flush_stdout();
    // Inside a green call (`to_thread`), the sleep runs on a worker thread instead.
    if crate::asyncio::threads::may_offload(vm) {
        let d = std::time::Duration::from_secs_f64(s.min(1e9));
        return Err(crate::asyncio::threads::offload(vm, move || std::thread::sleep(d), |_, ()| Ok(Value::None)));
    }
    // In slices, so that Ctrl-C (the VM's interrupt flag) ends the sleep with
    // `KeyboardInterrupt` within a few milliseconds, as in CPython.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(s.min(1e9));
    loop {
        // Ctrl-C, and the embedding API's stop request and deadline.
        vm.poll_limits()?;
        // Handlers set with `signal.signal` run here, and the sleep goes on (PEP 475).
        crate::asyncio::signals::run_pending(vm)?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(Value::None);
        }
        let slice = left.min(std::time::Duration::from_millis(20)).min(vm.until_deadline());
        std::thread::sleep(slice);
        // Idle: the memory of objects that died meanwhile goes back.
        crate::vm::gc::sweep_idle(slice);
    }
}

fn time_ns(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(Value::Int(d.as_nanos() as i64))
}

fn perf_counter_ns(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Int(START.with(|s| s.elapsed().as_nanos()) as i64))
}

/// Builds the module.
pub fn init(_vm: &mut Vm) -> Res<Rc<Module>> {
    Ok(super::native_module(
        "time",
        &[
            ("time", time),
            ("monotonic", monotonic),
            ("perf_counter", monotonic),
            ("process_time", monotonic),
            ("sleep", sleep),
            ("time_ns", time_ns),
            ("monotonic_ns", perf_counter_ns),
            ("perf_counter_ns", perf_counter_ns),
        ],
    ))
}
