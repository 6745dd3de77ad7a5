//! Async host functions and host-completed futures, on aio's own event loop: no other
//! runtime is involved.
//!
//! A host registers a closure returning a Rust [`Future`]; calling it from a script starts
//! the future (it is polled once at once) and returns an `asyncio.Future` the script
//! awaits. The future is polled with a [`std::task::Waker`] that queues its id and wakes the
//! loop's `mio::Poll` (through the loop's `mio::Waker`), so it may be woken from any thread:
//! the loop, after its wait, polls the woken futures on its own thread and delivers their
//! outputs (converted with [`ToValue`]) as results, or errors as exceptions. While such a
//! future is pending, an otherwise idle loop waits for it instead of reporting a deadlock.
//! When the script's future is cancelled (`wait_for` timing out, a cancelled task), the
//! Rust future is dropped.
//!
//! ```
//! use std::time::Duration;
//!
//! let mut engine = aio::Engine::new();
//! // A future finished by another thread (any `Future` works: no async runtime needed).
//! engine.register_async_fn("slow_double", |x: i64| {
//!     aio::embed::thread_future(move || {
//!         std::thread::sleep(Duration::from_millis(20));
//!         x * 2
//!     })
//! });
//! engine
//!     .exec("import asyncio\nasync def main(n):\n    return await asyncio.gather(slow_double(n), slow_double(n + 1))")
//!     .unwrap();
//! let r: Vec<i64> = engine.call_async("main", (20,)).unwrap();
//! assert_eq!(r, vec![40, 42]);
//! ```

use super::convert::ToValue;
use super::function::{guard_panic, HostFn, HostFunction, RawFn};
use crate::asyncio::event_loop::EventLoop;
use crate::asyncio::future::{future_value, FutureObj};
use crate::vm::value::Value;
use crate::vm::{Exc, ExcKind, Res, Vm};
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A finished host future's output, converted on the loop's thread.
type Conv = Box<dyn FnOnce(&mut Vm) -> Res<Value>>;
/// A host future, type-erased.
type HostFuture = Pin<Box<dyn Future<Output = Conv>>>;

/// What wakers on other threads share with the loop: the ids woken and the loop's waker.
struct Shared {
    woken: Mutex<Vec<u64>>,
    waker: Arc<crate::asyncio::event_loop::Mailbox>,
}

/// The `std::task::Waker` of one host future.
struct HostWake {
    id: u64,
    shared: Arc<Shared>,
}

impl Wake for HostWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.lock().unwrap_or_else(|e| e.into_inner()).push(self.id);
        self.shared.waker.wake();
    }
}

struct Slot {
    fut: HostFuture,
    script: Rc<FutureObj>,
}

/// The host futures pending on one loop (kept in the loop's `external.state`).
struct LoopHost {
    shared: Arc<Shared>,
    slots: RefCell<FxHashMap<u64, Slot>>,
    next: Cell<u64>,
}

fn loop_host(lp: &Rc<EventLoop>) -> Res<Rc<LoopHost>> {
    let existing = lp.external.state.borrow().clone();
    if let Some(s) = existing {
        if let Ok(h) = s.downcast::<LoopHost>() {
            return Ok(h);
        }
    }
    let shared = Arc::new(Shared { woken: Mutex::new(Vec::new()), waker: lp.waker()? });
    let h = Rc::new(LoopHost { shared, slots: RefCell::default(), next: Cell::new(1) });
    *lp.external.state.borrow_mut() = Some(h.clone());
    Ok(h)
}

impl LoopHost {
    /// Polls host future `id` once; delivers its output when ready.
    fn poll(&self, vm: &mut Vm, lp: &EventLoop, id: u64) -> Res<()> {
        let Some(mut slot) = self.slots.borrow_mut().remove(&id) else { return Ok(()) };
        if slot.script.done() {
            // Cancelled by the script: drop the Rust future.
            lp.external.pending.set(lp.external.pending.get().saturating_sub(1));
            return Ok(());
        }
        let waker = Waker::from(Arc::new(HostWake { id, shared: self.shared.clone() }));
        let mut cx = Context::from_waker(&waker);
        let polled = guard_panic("async", || Ok(slot.fut.as_mut().poll(&mut cx)));
        let out = match polled {
            Ok(Poll::Pending) => {
                self.slots.borrow_mut().insert(id, slot);
                return Ok(());
            }
            Ok(Poll::Ready(conv)) => conv(vm),
            Err(e) => Err(e),
        };
        lp.external.pending.set(lp.external.pending.get().saturating_sub(1));
        match out {
            Ok(v) => slot.script.set_result(v),
            Err(e) => {
                let inst = vm.materialize(e);
                slot.script.set_exception(vm, Value::Instance(inst))
            }
        }
    }

    /// Drops host future `id` (its script future was cancelled).
    fn forget(&self, lp: &EventLoop, id: u64) {
        if self.slots.borrow_mut().remove(&id).is_some() {
            lp.external.pending.set(lp.external.pending.get().saturating_sub(1));
        }
    }
}

/// Polls the host futures woken since the last call (the loop calls it after every wait).
pub fn collect(lp: &Rc<EventLoop>, vm: &mut Vm) -> Res<()> {
    let state = lp.external.state.borrow().clone();
    let Some(Ok(host)) = state.map(|s| s.downcast::<LoopHost>()) else { return Ok(()) };
    let mut ids = std::mem::take(&mut *host.shared.woken.lock().unwrap_or_else(|e| e.into_inner()));
    if ids.len() > 1 {
        let mut seen = rustc_hash::FxHashSet::default();
        ids.retain(|id| seen.insert(*id));
    }
    for id in ids {
        host.poll(vm, lp, id)?;
    }
    Ok(())
}

/// Starts a host future on the running loop and returns the `asyncio.Future` scripts await.
fn spawn(vm: &mut Vm, fut: HostFuture) -> Res<Value> {
    let lp = crate::asyncio::running_loop().ok_or_else(|| Exc::runtime_error("no running event loop"))?;
    let host = loop_host(&lp)?;
    let script = FutureObj::new(&lp, None);
    let id = host.next.get();
    host.next.set(id + 1);
    host.slots.borrow_mut().insert(id, Slot { fut, script: script.clone() });
    lp.external.pending.set(lp.external.pending.get() + 1);
    let (h, l) = (Rc::downgrade(&host), Rc::downgrade(&lp));
    let on_done: Box<RawFn> = Box::new(move |_vm, _args, _kw| {
        if let (Some(h), Some(l)) = (h.upgrade(), l.upgrade()) {
            h.forget(&l, id);
        }
        Ok(Value::None)
    });
    script.add_callback(HostFunction::value("_forget_host_future", on_done));
    host.poll(vm, &lp, id)?;
    Ok(future_value(&script))
}

/// The raw body of an async host function.
pub(crate) fn raw_async_fn<M, F>(name: &str, f: F) -> Box<RawFn>
where
    F: HostFn<M>,
    F::Output: Future + 'static,
    <F::Output as Future>::Output: ToValue + 'static,
{
    let name: Rc<str> = Rc::from(name);
    Box::new(move |vm, args, kw| {
        let fut = f.call_with(vm, &name, args, &kw)?;
        spawn(
            vm,
            Box::pin(async move {
                let out = fut.await;
                Box::new(move |vm: &mut Vm| out.to_value(vm)) as Conv
            }),
        )
    })
}

/// Runs `f` on a new thread; the future completes (waking the loop from that thread) with
/// its result, or `Err` with the panic message if it panicked (a script awaiting it then
/// gets a `RuntimeError`). For blocking host work inside an async host function.
pub fn thread_future<T, F>(f: F) -> impl Future<Output = Result<T, String>> + 'static
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    type Chan<T> = Arc<Mutex<(Option<Result<T, String>>, Option<Waker>)>>;
    let chan: Chan<T> = Arc::new(Mutex::new((None, None)));
    let theirs = chan.clone();
    std::thread::spawn(move || {
        let v = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
            let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
            format!("host thread panicked: {}", msg.unwrap_or_default())
        });
        let w = {
            let mut st = theirs.lock().unwrap_or_else(|e| e.into_inner());
            st.0 = Some(v);
            st.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    });
    std::future::poll_fn(move |cx| {
        let mut st = chan.lock().unwrap_or_else(|e| e.into_inner());
        match st.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

type SendConv = Box<dyn FnOnce(&mut Vm) -> Res<Value> + Send>;

#[derive(Default)]
struct OneShotState {
    value: Option<SendConv>,
    waker: Option<Waker>,
}

/// The channel between a [`Completer`] and its future.
#[derive(Default)]
struct OneShot {
    state: Mutex<OneShotState>,
}

struct OneShotFuture(Arc<OneShot>);

impl Future for OneShotFuture {
    type Output = Conv;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Conv> {
        let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = st.value.take() {
            return Poll::Ready(Box::new(move |vm: &mut Vm| c(vm)));
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Completes a script-visible future from any thread (see
/// [`crate::Engine::new_future`]). Dropping it without completing fails the future with a
/// `RuntimeError`, so a script never waits forever on a forgotten completer.
pub struct Completer {
    inner: Option<Arc<OneShot>>,
}

impl Completer {
    /// Sets the future's result (converted on the loop's thread).
    pub fn complete<T: ToValue + Send + 'static>(mut self, value: T) {
        self.send(Box::new(move |vm| value.to_value(vm)));
    }

    /// Makes the future raise `kind(message)` in the script that awaits it.
    pub fn fail(mut self, kind: ExcKind, message: impl Into<String>) {
        let m = message.into();
        self.send(Box::new(move |_| Err(Exc::new(kind, m))));
    }

    fn send(&mut self, c: SendConv) {
        let Some(inner) = self.inner.take() else { return };
        let waker = {
            let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
            st.value = Some(c);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.send(Box::new(|_| Err(Exc::runtime_error("the host dropped the future without completing it"))));
        }
    }
}

/// A pending script future on the running loop and the [`Completer`] that finishes it.
pub(crate) fn new_future(vm: &mut Vm) -> Res<(Value, Completer)> {
    let chan = Arc::new(OneShot::default());
    let fut = spawn(vm, Box::pin(OneShotFuture(chan.clone())))?;
    Ok((fut, Completer { inner: Some(chan) }))
}
