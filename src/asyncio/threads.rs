//! Worker threads: the default executor behind `loop.run_in_executor(None, ...)` and
//! `asyncio.to_thread`, and the way blocking natives hand their work to it.
//!
//! The pool is process-wide, created on first use, and grows like CPython's default
//! `ThreadPoolExecutor`: a job goes to an idle worker, or to a new one while there are fewer
//! than `min(32, cpus + 4)`, or waits in the queue. A worker posts its job's output to the
//! submitting loop's mailbox and wakes the loop (`event_loop.rs`, "Waker").
//!
//! The VM is single-threaded, so script code never runs on a worker. What runs there is the
//! *blocking work of natives*: a native such as `time.sleep` splits itself into a `Send`
//! closure (the work, no VM values) and a loop-thread `finish` (the result as a value). A
//! script function given to `to_thread` runs on the loop thread as a *green call*
//! (`vm/green.rs`), started as a ready callback in submission order; when it calls such a
//! native directly, the call is suspended while the work runs on the pool, so several
//! `to_thread(work)` overlap their sleeps, reads and lookups as on CPython's threads.

use super::event_loop::{Callback, EventLoop, Output};
use super::future::{future_value, FutureObj};
use crate::vm::green::GreenStep;
use crate::vm::value::Value;
use crate::vm::{Exc, ExcKind, Res, Sym, Vm};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::{Condvar, Mutex, OnceLock};

// ---------------------------------------------------------------- the pool

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    ready: Condvar,
    max: usize,
}

struct PoolState {
    queue: VecDeque<Job>,
    idle: usize,
    threads: usize,
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// The default executor's size, as CPython computes it: `min(32, cpus + 4)`.
pub fn max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cpus + 4).min(32)
}

/// Runs `job` on a worker thread of the process-wide pool.
pub fn spawn(job: Job) {
    let pool = POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState { queue: VecDeque::new(), idle: 0, threads: 0 }),
        ready: Condvar::new(),
        max: max_workers(),
    });
    let Ok(mut st) = pool.state.lock() else { return };
    st.queue.push_back(job);
    if st.idle == 0 && st.threads < pool.max {
        let n = st.threads;
        let started = std::thread::Builder::new().name(format!("asyncio_{n}")).spawn(|| worker(pool));
        if started.is_ok() {
            st.threads += 1;
        }
    }
    drop(st);
    pool.ready.notify_one();
}

fn worker(pool: &'static Pool) {
    loop {
        let job = {
            let Ok(mut st) = pool.state.lock() else { return };
            loop {
                if let Some(j) = st.queue.pop_front() {
                    break j;
                }
                st.idle += 1;
                st = match pool.ready.wait(st) {
                    Ok(s) => s,
                    Err(_) => return,
                };
                st.idle -= 1;
            }
        };
        job();
    }
}

// ---------------------------------------------------------------- blocking natives

/// The work half of a blocking native: runs on a worker thread, touches no VM value.
type Work = Box<dyn FnOnce() -> Output + Send>;
/// The finishing half: makes the native's result on the loop thread.
type Done = Box<dyn FnOnce(&mut Vm, Output) -> Res<Value>>;

thread_local! {
    /// The work a suspending native left for its green driver.
    static REQUEST: RefCell<Option<(Work, Done)>> = const { RefCell::new(None) };
}

/// True when the native being called now may hand its blocking work to a worker thread:
/// it was called directly by a green call (or by `to_thread` itself) and a loop runs.
pub fn may_offload(vm: &Vm) -> bool {
    vm.may_suspend() && super::running_loop().is_some()
}

/// Hands a native's blocking `work` to the pool; `finish` turns its output into the native's
/// result once it is done. Returns what the native must return now (the suspension). Only
/// valid when [`may_offload`] is true.
pub fn offload<T: Send + 'static>(
    vm: &Vm,
    work: impl FnOnce() -> T + Send + 'static,
    finish: impl FnOnce(&mut Vm, T) -> Res<Value> + 'static,
) -> Exc {
    let work: Work = Box::new(move || Box::new(work()) as Output);
    let done: Done = Box::new(move |vm, out| match out.downcast::<T>() {
        Ok(t) => finish(vm, *t),
        Err(_) => Err(Exc::runtime_error("worker thread returned an unexpected result")),
    });
    REQUEST.with(|r| *r.borrow_mut() = Some((work, done)));
    vm.suspend()
}

/// Runs a blocking native's work: on a worker thread when the call may be suspended (see
/// [`may_offload`]), else right here.
pub fn blocking<T: Send + 'static>(
    vm: &mut Vm,
    work: impl FnOnce() -> T + Send + 'static,
    finish: impl FnOnce(&mut Vm, T) -> Res<Value> + 'static,
) -> Res<Value> {
    if may_offload(vm) {
        return Err(offload(vm, work, finish));
    }
    let out = work();
    finish(vm, out)
}

// ---------------------------------------------------------------- green calls on the loop

/// Starts `func(*args, **kw)` "in the executor": returns a pending future on `lp` that gets
/// the call's result. The call starts as a ready callback (so calls start in the order they
/// were submitted); see the module comment for what runs where.
pub fn run_in_thread(lp: &Rc<EventLoop>, func: Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Rc<FutureObj> {
    let fut = FutureObj::new(lp, None);
    let (l, f) = (lp.clone(), fut.clone());
    lp.call_soon(Callback::Rust(Box::new(move |vm| {
        let step = vm.green_call(&func, args, kw);
        settle(vm, &l, &f, step)
    })));
    fut
}

/// Deals with one run of a green call: a result completes the future (unless it was
/// cancelled: like a thread, the call runs to its end anyway), a suspension sends the
/// native's work to the pool and resumes the call when it is done.
fn settle(vm: &mut Vm, lp: &Rc<EventLoop>, fut: &Rc<FutureObj>, step: Res<GreenStep>) -> Res<()> {
    match step {
        Ok(GreenStep::Done(v)) => {
            if !fut.done() {
                fut.set_result(v)?;
            }
            Ok(())
        }
        Ok(GreenStep::Suspended(frames)) => {
            let Some((work, done)) = REQUEST.with(|r| r.borrow_mut().take()) else {
                let e = Exc::runtime_error("a green call suspended without work");
                return settle(vm, lp, fut, Err(e));
            };
            let (l, f) = (lp.clone(), fut.clone());
            lp.submit(
                work,
                Box::new(move |vm, out| {
                    let input = done(vm, out);
                    let step = vm.green_resume(frames, input);
                    settle(vm, &l, &f, step)
                }),
            )
        }
        Err(e) => {
            let inst = vm.materialize(e);
            // Ctrl-C polled while the call ran on the loop thread ends the loop, as in any
            // callback; anything else belongs to the awaiting code.
            if inst.class.is_subclass(vm.exc_class(ExcKind::KeyboardInterrupt)) {
                if !fut.done() {
                    fut.cancel(Value::None);
                }
                return Err(Exc::Obj(inst));
            }
            if !fut.done() {
                fut.set_exception(vm, Value::Instance(inst))?;
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- script-facing functions

fn loop_arg(a: &crate::vm::Args) -> Res<Rc<EventLoop>> {
    super::this_loop(a)
}

/// `loop.run_in_executor(executor, func, *args)`: only the default executor (`None`) exists.
pub fn loop_run_in_executor(vm: &mut Vm, a: &mut crate::vm::Args) -> Res<Value> {
    let lp = loop_arg(a)?;
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!(
            "BaseEventLoop.run_in_executor() got an unexpected keyword argument '{k}'"
        )));
    }
    if a.pos.len() < 3 {
        let missing = if a.pos.len() < 2 { "'executor' and 'func'" } else { "'func'" };
        let n = if a.pos.len() < 2 { "2 required positional arguments" } else { "1 required positional argument" };
        return Err(Exc::type_error(format!("BaseEventLoop.run_in_executor() missing {n}: {missing}")));
    }
    if !a.pos[1].is_none() {
        return Err(Exc::type_error("aio has only the default executor: pass None as the executor"));
    }
    let func = a.pos[2].clone();
    if lp.debug.get() && is_coroutine_function(&func) {
        return Err(Exc::type_error("coroutines cannot be used with run_in_executor()"));
    }
    if lp.closed.get() {
        return Err(Exc::runtime_error("Event loop is closed"));
    }
    let _ = vm;
    let args = a.pos[3..].to_vec();
    Ok(future_value(&run_in_thread(&lp, func, args, Vec::new())))
}

fn is_coroutine_function(v: &Value) -> bool {
    match v {
        Value::Function(f) => f.code.flags.coroutine,
        Value::BoundMethod(m) => matches!(&m.func, Value::Function(f) if f.code.flags.coroutine),
        _ => false,
    }
}

/// `_asyncio._run_in_thread(func, args, kwargs)`: what `to_thread` awaits (a future on the
/// running loop).
pub fn run_in_thread_fn(vm: &mut Vm, a: &mut crate::vm::Args) -> Res<Value> {
    crate::builtins::check_args("_run_in_thread", a, 3, 3)?;
    let lp = super::running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))?;
    let func = a.pos[0].clone();
    let args = match &a.pos[1] {
        Value::Tuple(t) => t.to_vec(),
        other => vm.collect(other)?,
    };
    let mut kw = Vec::new();
    if let Value::Dict(d) = &a.pos[2] {
        for e in d.d.borrow().iter() {
            match &e.key {
                Value::Str(s) => kw.push((Sym::new(s.as_str()), e.value.clone())),
                _ => return Err(Exc::type_error("keywords must be strings")),
            }
        }
    }
    Ok(future_value(&run_in_thread(&lp, func, args, kw)))
}
