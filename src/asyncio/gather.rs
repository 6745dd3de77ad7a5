//! `asyncio.gather`, natively: CPython 3.11's `tasks.gather` step for step (the same
//! `ensure_future` calls in argument order, one done callback per distinct child, the
//! same bookkeeping when a child finishes), so callbacks, results and errors come in
//! CPython's order, without a script-level closure call per finished child.
//!
//! Arguments whose identity is not their hash (instances of script classes, which may
//! define `__hash__`/`__eq__` and so be merged by CPython's `arg_to_fut` dict) go to the
//! same algorithm written in aio (`_gather_general` in `stdlib/asyncio.aio`).

use super::event_loop::{Callback, EventLoop};
use super::future::future_of;
use super::future::{DoneCallback, FutureObj, Gathered, State};
use super::{ensure_future_on, future_value, running_or_current_loop};
use crate::builtins::take_kw;
use crate::vm::other::NativeObject;
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The state `gather`'s `_done_callback` closes over.
pub struct Gather {
    /// `children`: one future per argument, duplicates included.
    children: RefCell<Vec<Rc<FutureObj>>>,
    /// `nfuts`: the distinct children.
    nfuts: Cell<usize>,
    /// `nfinished`.
    nfinished: Cell<usize>,
    /// `outer`, once every argument has its future.
    outer: RefCell<Option<Rc<FutureObj>>>,
    return_exceptions: bool,
}

impl Gather {
    /// The children (a copy).
    pub fn children(&self) -> Vec<Rc<FutureObj>> {
        self.children.borrow().clone()
    }
}

impl NativeObject for Gather {
    fn type_name(&self) -> &'static str {
        "function"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn gc_traverse(&self, visit: &mut crate::vm::gc::Visitor) {
        match (self.children.try_borrow(), self.outer.try_borrow()) {
            (Ok(children), Ok(outer)) => {
                children.iter().for_each(|c| visit.rc(c));
                outer.iter().for_each(|o| visit.rc(o));
            }
            _ => visit.fail(),
        }
    }
    fn gc_clear(&self) {
        let children = self.children.try_borrow_mut().map(|mut c| std::mem::take(&mut *c));
        let outer = self.outer.try_borrow_mut().map(|mut o| o.take());
        drop((children, outer));
    }
}

/// True when `v` is hashed by identity, so that `arg_to_fut` may be keyed by address.
fn identity_hashed(v: &Value) -> bool {
    match v {
        Value::Gen(_) => true,
        Value::Other(o) => o.as_any().downcast_ref::<FutureObj>().is_some() || o.is_coroutine(),
        _ => false,
    }
}

/// `gather(*coros_or_futures, return_exceptions=False)`.
pub fn gather(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let return_exceptions = match take_kw(a, "return_exceptions") {
        Some(v) => vm.truthy(&v)?,
        None => false,
    };
    crate::builtins::no_more_kw("gather", a)?;
    if a.pos.is_empty() {
        let outer = FutureObj::new(&running_or_current_loop(), None);
        outer.set_result(Value::list(Vec::new()))?;
        return Ok(future_value(&outer));
    }
    if !a.pos.iter().all(identity_hashed) {
        let module = vm.import_module(Sym::new("asyncio"))?;
        let general = vm.get_attr(&module, Sym::new("_gather_general"))?;
        let args = a.pos.to_vec();
        return vm.call_kw(&general, args, vec![(Sym::new("return_exceptions"), Value::Bool(return_exceptions))]);
    }
    let state = Rc::new(Gather {
        children: RefCell::new(Vec::new()),
        nfuts: Cell::new(0),
        nfinished: Cell::new(0),
        outer: RefCell::new(None),
        return_exceptions,
    });
    crate::vm::gc::track_native(&state);
    // `arg_to_fut`, by address: the arguments are hashed by identity. A pending future
    // seen before is recognised by its last done callback being this gather's (nothing
    // else adds callbacks meanwhile), so the table holds only coroutines and done futures
    // and a gather over many tasks builds none.
    let mut seen: rustc_hash::FxHashMap<i64, Rc<FutureObj>> = rustc_hash::FxHashMap::default();
    let mut lp: Option<Rc<EventLoop>> = None;
    let mut child = |arg: Value| -> Res<Rc<FutureObj>> {
        let key = arg.id();
        let as_future = future_of(&arg);
        let known = match &as_future {
            Some(f) if !f.done() => gathered_by(f, &state).then(|| f.clone()),
            _ => seen.get(&key).cloned(),
        };
        if let Some(f) = known {
            return Ok(f);
        }
        let fut = ensure_future_on(vm, arg, lp.as_ref())?;
        if lp.is_none() {
            lp = Some(fut.lp.clone());
        }
        state.nfuts.set(state.nfuts.get() + 1);
        if fut.done() || as_future.is_none() {
            seen.insert(key, fut.clone());
        }
        if fut.done() {
            fut.lp.schedule(Callback::Gather(state.clone(), fut.clone()));
        } else {
            fut.push_callback(DoneCallback::Gather(state.clone()));
        }
        Ok(fut)
    };
    // The arguments are consumed into the children in place (the standard library reuses
    // the buffer of values for the futures), and the buffer is then trimmed: a gather over
    // many tasks never holds both lists at once.
    let args = std::mem::take(&mut a.pos).into_vec();
    let mut children = args.into_iter().map(&mut child).collect::<Res<Vec<_>>>()?;
    children.shrink_to_fit();
    *state.children.borrow_mut() = children;
    let lp = lp.unwrap_or_else(running_or_current_loop);
    let outer = FutureObj::new(&lp, None);
    outer.set_gather_children(Gathered::Native(state.clone()));
    *state.outer.borrow_mut() = Some(outer.clone());
    Ok(future_value(&outer))
}

/// True when `fut`'s newest done callback is `g`'s.
fn gathered_by(fut: &FutureObj, g: &Rc<Gather>) -> bool {
    fut.with_callbacks(|c| matches!(c.iter().last(), Some(DoneCallback::Gather(h)) if Rc::ptr_eq(h, g)))
}

/// The results of `children`, all done, in order: a result, the exception a child raised,
/// or a `CancelledError` for a cancelled child.
fn results_of(vm: &mut Vm, children: &[Rc<FutureObj>]) -> Res<Vec<Value>> {
    let mut results = Vec::with_capacity(children.len());
    for child in children {
        let res = if child.state.get() == State::Cancelled {
            let msg = child.cancel_message();
            let msg = if msg.is_none() { Value::str("") } else { msg };
            match vm.exception_with_args(ExcKind::CancelledError, vec![msg]) {
                Exc::Obj(i) => Value::Instance(i),
                e => Value::Instance(vm.materialize(e)),
            }
        } else {
            let exc = take_exception(child);
            if exc.is_none() {
                child.get_result(vm)?
            } else {
                exc
            }
        };
        results.push(res);
    }
    Ok(results)
}

/// Marks a finished future's exception as retrieved (`fut.exception()`) and returns it.
fn take_exception(fut: &FutureObj) -> Value {
    fut.retrieved().set(true);
    fut.exception()
}

/// `_done_callback(fut)` of `gather`.
pub fn done(vm: &mut Vm, g: &Gather, fut: &Rc<FutureObj>) -> Res<()> {
    g.nfinished.set(g.nfinished.get() + 1);
    let outer = g.outer.borrow().clone();
    let outer = match outer {
        Some(o) if !o.done() => o,
        done => {
            if let Some(o) = done {
                o.forget_gather_children();
            }
            if fut.state.get() != State::Cancelled {
                take_exception(fut);
            }
            return Ok(());
        }
    };
    if !g.return_exceptions {
        if fut.state.get() == State::Cancelled {
            let e = fut.cancelled_error(vm);
            let exc = Value::Instance(vm.materialize(e));
            outer.forget_gather_children();
            return outer.set_exception(vm, exc);
        }
        let exc = take_exception(fut);
        if !exc.is_none() {
            outer.forget_gather_children();
            return outer.set_exception(vm, exc);
        }
    }
    if g.nfinished.get() != g.nfuts.get() {
        return Ok(());
    }
    // Every child is done: the list is not needed any more (later callbacks see `outer`
    // done), so it is taken rather than copied.
    let children = std::mem::take(&mut *g.children.borrow_mut());
    let results = match results_of(vm, &children) {
        Ok(r) => r,
        Err(e) => {
            *g.children.borrow_mut() = children;
            return Err(e);
        }
    };
    outer.forget_gather_children();
    if outer.cancel_requested().get() {
        // gather() itself was cancelled: the error comes from the last child, as in
        // CPython (whose loop variable `fut` ends on it).
        let last = children.last().unwrap_or(fut);
        let e = last.cancelled_error(vm);
        let exc = Value::Instance(vm.materialize(e));
        outer.set_exception(vm, exc)
    } else {
        outer.set_result(Value::list(results))
    }
}
