//! `asyncio.Queue`, `PriorityQueue` and `LifoQueue`, natively, with the semantics of
//! CPython 3.11's `asyncio/queues.py`: FIFO getters and putters, a getter or putter
//! cancelled after it was woken passes the wake-up on, `task_done`/`join` through an
//! internal event, and `PriorityQueue` ordered by `heapq`'s exact algorithm (the script's
//! `__lt__` is called on the same pairs, in the same order).
//!
//! A subclass may override the hooks CPython's queue calls through `self` (`_init`, `_put`,
//! `_get`, `qsize`, `empty`, `full`, `put_nowait`, `get_nowait`): a queue whose class
//! overrides one of them goes through script-level calls; the others stay native.

use super::future::FutureObj;
use super::native_coro::{
    awaited_result, call_method, cancelled, clear_waiters, method_is, native_class, new_state, no_args, private_attr,
    receiver, remove_waiter, set_state, state_of, traverse_waiters, yield_future, Coro, LoopBinding, Machine, Pool,
    Resume, Waiters,
};
use super::sync::{EventState, EventWait};
use crate::builtins::take_kw;
use crate::bytecode::CmpKind;
use crate::vm::gc::Visitor;
use crate::vm::gen::GenResult;
use crate::vm::other::NativeObject;
use crate::vm::value::{List, Module};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

const MODULE: &str = "asyncio.queues";

/// Which end `get` takes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
}

/// `maxsize` as `full()` uses it.
#[derive(Clone, Copy)]
enum Limit {
    /// `maxsize <= 0` (or a float that no size reaches).
    Unbounded,
    /// Full at this many items.
    Bounded(usize),
    /// Not a number: compared at every `full()`, raising what CPython raises.
    Dynamic,
}

/// The state of a queue.
pub struct QueueState {
    kind: Kind,
    maxsize: Value,
    limit: Limit,
    items: RefCell<VecDeque<Value>>,
    getters: Waiters,
    putters: Waiters,
    unfinished: Cell<i64>,
    finished: Rc<EventState>,
    /// The class overrides a hook: go through script-level calls.
    hooks: bool,
    binding: LoopBinding,
}

#[inline]
fn wakeup_next(waiters: &Waiters) {
    if waiters.borrow().is_empty() {
        return;
    }
    wakeup_next_slow(waiters)
}

fn wakeup_next_slow(waiters: &Waiters) {
    loop {
        let next = waiters.borrow_mut().pop_front();
        match next {
            None => break,
            Some(f) => {
                if !f.done() {
                    let _ = f.set_result(Value::None);
                    break;
                }
            }
        }
    }
}

fn sym_queue() -> Sym {
    thread_local! { static S: Sym = Sym::new("_queue"); }
    S.with(|s| *s)
}

impl QueueState {
    /// The script's own `_queue` (set by an overriding `_init`), if any.
    fn script_queue(&self, this: &Value) -> Option<Value> {
        if !self.hooks {
            return None;
        }
        match this {
            Value::Instance(i) => i.get_attr(sym_queue()),
            _ => None,
        }
    }

    // ---- the native versions of the methods ----

    fn native_qsize(&self, vm: &mut Vm, this: &Value) -> Res<Value> {
        match self.script_queue(this) {
            Some(q) => builtin(vm, "len", q),
            None => Ok(Value::Int(self.items.borrow().len() as i64)),
        }
    }
    fn native_empty(&self, vm: &mut Vm, this: &Value) -> Res<bool> {
        match self.script_queue(this) {
            Some(q) => Ok(!vm.truthy(&q)?),
            None => Ok(self.items.borrow().is_empty()),
        }
    }
    fn native_full(&self, vm: &mut Vm, this: &Value) -> Res<bool> {
        let bounded = match self.limit {
            Limit::Unbounded => return Ok(false),
            Limit::Bounded(n) if !self.hooks => return Ok(self.items.borrow().len() >= n),
            Limit::Bounded(_) => true,
            Limit::Dynamic => {
                let le = vm.compare(CmpKind::Le, &self.maxsize, &Value::Int(0))?;
                !vm.truthy(&le)?
            }
        };
        if !bounded {
            return Ok(false);
        }
        let n = if self.hooks { call_method(vm, this, "qsize", vec![])? } else { self.native_qsize(vm, this)? };
        let ge = vm.compare(CmpKind::Ge, &n, &self.maxsize)?;
        vm.truthy(&ge)
    }
    #[inline]
    fn native_put(&self, vm: &mut Vm, this: &Value, item: Value) -> Res<()> {
        if let Some(q) = self.script_queue(this) {
            return match (self.kind, &q) {
                (Kind::Priority, Value::List(l)) => heap_push(vm, &**l, item),
                (Kind::Priority, _) => Err(Exc::type_error("heap argument must be a list")),
                _ => call_method(vm, &q, "append", vec![item]).map(|_| ()),
            };
        }
        match self.kind {
            Kind::Fifo | Kind::Lifo => {
                self.items.borrow_mut().push_back(item);
                Ok(())
            }
            Kind::Priority => heap_push(vm, &self.items, item),
        }
    }
    #[inline]
    fn native_get(&self, vm: &mut Vm, this: &Value) -> Res<Value> {
        if let Some(q) = self.script_queue(this) {
            return match (self.kind, &q) {
                (Kind::Priority, Value::List(l)) => heap_pop(vm, &**l),
                (Kind::Priority, _) => Err(Exc::type_error("heap argument must be a list")),
                (Kind::Lifo, _) => call_method(vm, &q, "pop", vec![]),
                (Kind::Fifo, Value::List(_)) => call_method(vm, &q, "pop", vec![Value::Int(0)]),
                (Kind::Fifo, _) => call_method(vm, &q, "popleft", vec![]),
            };
        }
        match self.kind {
            Kind::Fifo => {
                self.items.borrow_mut().pop_front().ok_or_else(|| Exc::index_error("pop from an empty deque"))
            }
            Kind::Lifo => self.items.borrow_mut().pop_back().ok_or_else(|| Exc::index_error("pop from empty list")),
            Kind::Priority => heap_pop(vm, &self.items),
        }
    }
    fn native_put_nowait(&self, vm: &mut Vm, this: &Value, item: Value) -> Res<()> {
        if self.is_full(vm, this)? {
            return Err(Exc::new(ExcKind::QueueFull, ""));
        }
        self.push_item(vm, this, item)
    }
    /// `put_nowait` after its `full()` check: `_put`, count the task, wake a getter.
    #[inline]
    fn push_item(&self, vm: &mut Vm, this: &Value, item: Value) -> Res<()> {
        if self.hooks {
            call_method(vm, this, "_put", vec![item])?;
        } else {
            self.native_put(vm, this, item)?;
        }
        self.unfinished.set(self.unfinished.get() + 1);
        self.finished.clear();
        wakeup_next(&self.getters);
        Ok(())
    }
    fn native_get_nowait(&self, vm: &mut Vm, this: &Value) -> Res<Value> {
        if self.is_empty(vm, this)? {
            return Err(Exc::new(ExcKind::QueueEmpty, ""));
        }
        let item = if self.hooks { call_method(vm, this, "_get", vec![])? } else { self.native_get(vm, this)? };
        wakeup_next(&self.putters);
        Ok(item)
    }

    // ---- `self.full()`, `self.empty()`, ... as the queue's own code calls them ----

    #[inline]
    fn is_full(&self, vm: &mut Vm, this: &Value) -> Res<bool> {
        if !self.hooks {
            return match self.limit {
                Limit::Unbounded => Ok(false),
                Limit::Bounded(n) => Ok(self.items.borrow().len() >= n),
                Limit::Dynamic => self.native_full(vm, this),
            };
        }
        let r = call_method(vm, this, "full", vec![])?;
        vm.truthy(&r)
    }
    #[inline]
    fn is_empty(&self, vm: &mut Vm, this: &Value) -> Res<bool> {
        if !self.hooks {
            return Ok(self.items.borrow().is_empty());
        }
        let r = call_method(vm, this, "empty", vec![])?;
        vm.truthy(&r)
    }
    fn put_nowait(&self, vm: &mut Vm, this: &Value, item: Value) -> Res<()> {
        if self.hooks {
            return call_method(vm, this, "put_nowait", vec![item]).map(|_| ());
        }
        self.native_put_nowait(vm, this, item)
    }
    fn get_nowait(&self, vm: &mut Vm, this: &Value) -> Res<Value> {
        if self.hooks {
            return call_method(vm, this, "get_nowait", vec![]);
        }
        self.native_get_nowait(vm, this)
    }

    fn new_waiter(&self, vm: &mut Vm, this: &Value) -> Res<Rc<FutureObj>> {
        let this = this.clone();
        self.binding.new_waiter(vm, &|vm| vm.repr(&this))
    }

    /// `_format()`: what `repr` and `str` show after the class name.
    fn format(&self, vm: &mut Vm, this: &Value) -> Res<String> {
        let mut s = format!("maxsize={}", vm.repr(&self.maxsize)?);
        let items = match self.script_queue(this) {
            Some(q) => {
                if vm.truthy(&q)? {
                    Some(builtin(vm, "list", q)?)
                } else {
                    None
                }
            }
            None => {
                let items = self.items.borrow();
                if items.is_empty() {
                    None
                } else {
                    Some(Value::list(items.iter().cloned().collect()))
                }
            }
        };
        if let Some(l) = items {
            s.push_str(&format!(" _queue={}", vm.repr(&l)?));
        }
        let g = self.getters.borrow().len();
        if g > 0 {
            s.push_str(&format!(" _getters[{g}]"));
        }
        let p = self.putters.borrow().len();
        if p > 0 {
            s.push_str(&format!(" _putters[{p}]"));
        }
        if self.unfinished.get() != 0 {
            s.push_str(&format!(" tasks={}", self.unfinished.get()));
        }
        Ok(s)
    }
}

fn builtin(vm: &mut Vm, name: &str, arg: Value) -> Res<Value> {
    let f = vm.builtins.get(Sym::new(name)).ok_or_else(|| Exc::runtime_error(format!("no builtin {name}")))?;
    vm.call(&f, vec![arg])
}

fn exc_of(v: Value) -> Exc {
    match v {
        Value::Instance(i) => Exc::Obj(i),
        _ => Exc::type_error("exceptions must derive from BaseException"),
    }
}

// ---- heapq, exactly as CPython's C implementation ----

/// The list a heap lives in: the queue's own storage or a script list.
trait Heap {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> Value;
    fn swap(&self, i: usize, j: usize);
    fn push(&self, v: Value);
    fn pop_last(&self) -> Option<Value>;
    fn replace(&self, i: usize, v: Value) -> Value;
}

impl Heap for RefCell<VecDeque<Value>> {
    fn len(&self) -> usize {
        self.borrow().len()
    }
    fn get(&self, i: usize) -> Value {
        self.borrow()[i].clone()
    }
    fn swap(&self, i: usize, j: usize) {
        self.borrow_mut().swap(i, j)
    }
    fn push(&self, v: Value) {
        self.borrow_mut().push_back(v)
    }
    fn pop_last(&self) -> Option<Value> {
        self.borrow_mut().pop_back()
    }
    fn replace(&self, i: usize, v: Value) -> Value {
        std::mem::replace(&mut self.borrow_mut()[i], v)
    }
}

impl Heap for List {
    fn len(&self) -> usize {
        self.items.borrow().len()
    }
    fn get(&self, i: usize) -> Value {
        self.items.borrow()[i].clone()
    }
    fn swap(&self, i: usize, j: usize) {
        self.items.borrow_mut().swap(i, j)
    }
    fn push(&self, v: Value) {
        self.items.borrow_mut().push(v)
    }
    fn pop_last(&self) -> Option<Value> {
        self.items.borrow_mut().pop()
    }
    fn replace(&self, i: usize, v: Value) -> Value {
        std::mem::replace(&mut self.items.borrow_mut()[i], v)
    }
}

fn less(vm: &mut Vm, a: &Value, b: &Value) -> Res<bool> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Ok(x < y);
    }
    let r = vm.compare(CmpKind::Lt, a, b)?;
    vm.truthy(&r)
}

fn changed_size() -> Exc {
    Exc::runtime_error("list changed size during iteration")
}

/// `_siftdown(heap, startpos, pos)`: moves the item at `pos` up towards the root.
fn sift_down(vm: &mut Vm, heap: &dyn Heap, start: usize, mut pos: usize) -> Res<()> {
    let size = heap.len();
    while pos > start {
        let parent = (pos - 1) >> 1;
        let (new, par) = (heap.get(pos), heap.get(parent));
        let lt = less(vm, &new, &par)?;
        if size != heap.len() {
            return Err(changed_size());
        }
        if !lt {
            break;
        }
        heap.swap(parent, pos);
        pos = parent;
    }
    Ok(())
}

/// `_siftup(heap, pos)`: moves the smaller child up until a leaf, then sifts down.
fn sift_up(vm: &mut Vm, heap: &dyn Heap, mut pos: usize) -> Res<()> {
    let end = heap.len();
    let start = pos;
    let limit = end >> 1;
    while pos < limit {
        let mut child = 2 * pos + 1;
        if child + 1 < end {
            let (a, b) = (heap.get(child), heap.get(child + 1));
            let lt = less(vm, &a, &b)?;
            if !lt {
                child += 1;
            }
            if end != heap.len() {
                return Err(changed_size());
            }
        }
        heap.swap(child, pos);
        pos = child;
    }
    sift_down(vm, heap, start, pos)
}

fn heap_push(vm: &mut Vm, heap: &dyn Heap, item: Value) -> Res<()> {
    heap.push(item);
    let n = heap.len();
    sift_down(vm, heap, 0, n - 1)
}

fn heap_pop(vm: &mut Vm, heap: &dyn Heap) -> Res<Value> {
    let last = heap.pop_last().ok_or_else(|| Exc::index_error("index out of range"))?;
    if heap.len() == 0 {
        return Ok(last);
    }
    let top = heap.replace(0, last);
    sift_up(vm, heap, 0)?;
    Ok(top)
}

// ---- the coroutines ----

/// `Queue.put(item)`.
pub struct QueuePut {
    q: Option<Rc<QueueState>>,
    this: Value,
    item: Value,
    fut: Option<Rc<FutureObj>>,
}

fn finished() -> Exc {
    Exc::runtime_error("cannot reuse already awaited coroutine")
}

thread_local! {
    static PUT_POOL: Pool<QueuePut> = RefCell::default();
    static GET_POOL: Pool<QueueGet> = RefCell::default();
}

impl Machine for QueuePut {
    fn pool() -> Option<&'static std::thread::LocalKey<Pool<Self>>> {
        Some(&PUT_POOL)
    }
    fn traverse(&self, vis: &mut Visitor) {
        if let Some(q) = &self.q {
            vis.rc(q);
        }
        vis.value(&self.this);
        vis.value(&self.item);
        if let Some(f) = &self.fut {
            vis.rc(f);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let Some(q) = &self.q else { return Err(finished()) };
        if let Some(putter) = self.fut.take() {
            let r = match how {
                Resume::Send(_) => awaited_result(vm, &putter),
                Resume::Throw(e) => Err(exc_of(e)),
            };
            if let Err(e) = r {
                putter.cancel(Value::None);
                remove_waiter(&q.putters, &putter);
                if !q.is_full(vm, &self.this)? && !cancelled(&putter) {
                    wakeup_next(&q.putters);
                }
                return Err(e);
            }
        }
        // Fast path: a native queue with a numeric bound needs no second `full()` check.
        if !q.hooks {
            let full = match q.limit {
                Limit::Unbounded => Some(false),
                Limit::Bounded(n) => Some(q.items.borrow().len() >= n),
                Limit::Dynamic => None,
            };
            if full == Some(false) {
                let item = std::mem::take(&mut self.item);
                q.push_item(vm, &self.this, item)?;
                return Ok(GenResult::Return(Value::None));
            }
        }
        if q.is_full(vm, &self.this)? {
            let putter = q.new_waiter(vm, &self.this)?;
            q.putters.borrow_mut().push_back(putter.clone());
            self.fut = Some(putter.clone());
            return yield_future(&putter);
        }
        let item = std::mem::take(&mut self.item);
        q.put_nowait(vm, &self.this, item)?;
        Ok(GenResult::Return(Value::None))
    }
    fn finish(&mut self) {
        self.q = None;
        self.this = Value::None;
        self.item = Value::None;
        self.fut = None;
    }
}

/// `Queue.get()`.
pub struct QueueGet {
    q: Option<Rc<QueueState>>,
    this: Value,
    fut: Option<Rc<FutureObj>>,
}

impl Machine for QueueGet {
    fn pool() -> Option<&'static std::thread::LocalKey<Pool<Self>>> {
        Some(&GET_POOL)
    }
    fn traverse(&self, vis: &mut Visitor) {
        if let Some(q) = &self.q {
            vis.rc(q);
        }
        vis.value(&self.this);
        if let Some(f) = &self.fut {
            vis.rc(f);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let Some(q) = &self.q else { return Err(finished()) };
        if let Some(getter) = self.fut.take() {
            let r = match how {
                Resume::Send(_) => awaited_result(vm, &getter),
                Resume::Throw(e) => Err(exc_of(e)),
            };
            if let Err(e) = r {
                getter.cancel(Value::None);
                remove_waiter(&q.getters, &getter);
                if !q.is_empty(vm, &self.this)? && !cancelled(&getter) {
                    wakeup_next(&q.getters);
                }
                return Err(e);
            }
        }
        // Fast path: a native queue with items.
        if !q.hooks && !q.items.borrow().is_empty() {
            let item = q.native_get(vm, &self.this)?;
            wakeup_next(&q.putters);
            return Ok(GenResult::Return(item));
        }
        if q.is_empty(vm, &self.this)? {
            let getter = q.new_waiter(vm, &self.this)?;
            q.getters.borrow_mut().push_back(getter.clone());
            self.fut = Some(getter.clone());
            return yield_future(&getter);
        }
        q.get_nowait(vm, &self.this).map(GenResult::Return)
    }
    fn finish(&mut self) {
        self.q = None;
        self.this = Value::None;
        self.fut = None;
    }
}

/// `Queue.join()`.
pub struct QueueJoin {
    q: Rc<QueueState>,
    wait: Option<EventWait>,
}

impl Machine for QueueJoin {
    fn traverse(&self, vis: &mut Visitor) {
        vis.rc(&self.q);
        if let Some(w) = &self.wait {
            Machine::traverse(w, vis);
        }
    }
    fn resume(&mut self, vm: &mut Vm, how: Resume) -> Res<GenResult> {
        let w = match &mut self.wait {
            Some(w) => w,
            None => {
                if self.q.unfinished.get() <= 0 {
                    return Ok(GenResult::Return(Value::None));
                }
                self.wait.insert(EventWait::new(self.q.finished.clone(), Value::None))
            }
        };
        match w.resume(vm, how)? {
            GenResult::Return(_) => Ok(GenResult::Return(Value::None)),
            y => Ok(y),
        }
    }
}

// ---- methods ----

#[inline(always)]
fn state(vm: &Vm, a: &Args) -> Res<Rc<QueueState>> {
    receiver::<QueueState>(vm, a, "_maxsize")
}

/// The `item` argument of `put`/`put_nowait` (positional or keyword).
#[inline]
fn item_arg(a: &mut Args, name: &str) -> Res<Value> {
    if a.kw.is_empty() && a.pos.len() == 2 {
        return Ok(a.pos[1].clone());
    }
    let kw = take_kw(a, "item");
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!("{name}() got an unexpected keyword argument '{k}'")));
    }
    let given = a.pos.len() + kw.is_some() as usize;
    if given > 2 {
        return Err(Exc::type_error(format!("{name}() takes 2 positional arguments but {given} were given")));
    }
    match kw {
        Some(i) => Ok(i),
        None => arg(a, 1, name),
    }
}

fn arg(a: &Args, i: usize, name: &str) -> Res<Value> {
    a.pos
        .get(i)
        .cloned()
        .ok_or_else(|| Exc::type_error(format!("{name}() missing 1 required positional argument: 'item'")))
}

fn init_kind(vm: &mut Vm, a: &mut Args, kind: Kind) -> Res<Value> {
    let kw = take_kw(a, "maxsize");
    if let Some((k, _)) = a.kw.first() {
        return Err(Exc::type_error(format!("Queue.__init__() got an unexpected keyword argument '{k}'")));
    }
    let max = if kw.is_some() { 1 } else { 2 };
    if a.pos.len() > max {
        return Err(Exc::type_error(format!(
            "Queue.__init__() takes from 1 to 2 positional arguments but {} were given",
            a.pos.len()
        )));
    }
    let maxsize = kw.or_else(|| a.pos.get(1).cloned()).unwrap_or(Value::Int(0));
    let limit = match &maxsize {
        Value::Int(n) if *n <= 0 => Limit::Unbounded,
        Value::Int(n) => Limit::Bounded(*n as usize),
        Value::Bool(b) => {
            if *b {
                Limit::Bounded(1)
            } else {
                Limit::Unbounded
            }
        }
        Value::BigInt(_) => Limit::Unbounded,
        Value::Float(f) if *f > 0.0 && *f < 1e18 => Limit::Bounded(f.ceil() as usize),
        Value::Float(_) => Limit::Unbounded,
        _ => Limit::Dynamic,
    };
    let this = a.pos[0].clone();
    let hooks = OVERRIDABLE.iter().any(|(name, f)| !method_is(&this, Sym::new(name), *f));
    let finished = new_state(EventState::default());
    finished.set();
    let st = QueueState {
        kind,
        maxsize: maxsize.clone(),
        limit,
        items: RefCell::default(),
        getters: Waiters::default(),
        putters: Waiters::default(),
        unfinished: Cell::new(0),
        finished,
        hooks,
        binding: LoopBinding::default(),
    };
    set_state(&this, new_state(st))?;
    if hooks {
        call_method(vm, &this, "_init", vec![maxsize])?;
    }
    Ok(Value::None)
}

fn q_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    init_kind(vm, a, Kind::Fifo)
}
fn pq_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    init_kind(vm, a, Kind::Priority)
}
fn lq_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    init_kind(vm, a, Kind::Lifo)
}

fn q_put(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    let item =
        if a.pos.len() == 2 && a.kw.is_empty() { std::mem::take(&mut a.pos[1]) } else { item_arg(a, "Queue.put")? };
    let m = QueuePut { q: Some(q), this: std::mem::take(&mut a.pos[0]), item, fut: None };
    Ok(Coro::value("Queue.put", m))
}
fn q_get(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    no_args("Queue.get", a, 1)?;
    let m = QueueGet { q: Some(q), this: std::mem::take(&mut a.pos[0]), fut: None };
    Ok(Coro::value("Queue.get", m))
}

/// The eager form of `put` (see `vm::eager_await`): `await q.put(item)` on a native FIFO or
/// LIFO queue with room finishes at once, as the coroutine's first step does.
fn eager_put(vm: &mut Vm, at: usize) -> Option<Value> {
    if vm.stack.len() != at + 2 {
        return None;
    }
    let q = state_of::<QueueState>(&vm.stack[at])?;
    if q.hooks || q.kind == Kind::Priority {
        return None;
    }
    let full = match q.limit {
        Limit::Unbounded => false,
        Limit::Bounded(n) => q.items.borrow().len() >= n,
        Limit::Dynamic => return None,
    };
    if full {
        return None;
    }
    let item = vm.stack.pop()?;
    q.items.borrow_mut().push_back(item);
    q.unfinished.set(q.unfinished.get() + 1);
    q.finished.clear();
    wakeup_next(&q.getters);
    Some(Value::None)
}

/// The eager form of `get`: `await q.get()` on a native FIFO or LIFO queue with items.
fn eager_get(vm: &mut Vm, at: usize) -> Option<Value> {
    if vm.stack.len() != at + 1 {
        return None;
    }
    let q = state_of::<QueueState>(&vm.stack[at])?;
    if q.hooks {
        return None;
    }
    let item = match q.kind {
        Kind::Fifo => q.items.borrow_mut().pop_front()?,
        Kind::Lifo => q.items.borrow_mut().pop_back()?,
        Kind::Priority => return None,
    };
    wakeup_next(&q.putters);
    Some(item)
}

fn q_put_nowait(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    let item = item_arg(a, "Queue.put_nowait")?;
    q.native_put_nowait(vm, &a.pos[0], item)?;
    Ok(Value::None)
}
fn q_get_nowait(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    q.native_get_nowait(vm, &a.pos[0])
}
fn q_qsize(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    q.native_qsize(vm, &a.pos[0])
}
fn q_empty(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    q.native_empty(vm, &a.pos[0]).map(Value::Bool)
}
fn q_full(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    q.native_full(vm, &a.pos[0]).map(Value::Bool)
}
fn q_maxsize(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(state(vm, a)?.maxsize.clone())
}
fn q_task_done(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    if q.unfinished.get() <= 0 {
        return Err(Exc::value_error("task_done() called too many times"));
    }
    q.unfinished.set(q.unfinished.get() - 1);
    if q.unfinished.get() == 0 {
        q.finished.set();
    }
    Ok(Value::None)
}
fn q_join(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    Ok(Coro::value("Queue.join", QueueJoin { q, wait: None }))
}
fn q_hook_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    q.items.borrow_mut().clear();
    Ok(Value::None)
}
fn q_hook_put(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    let item = arg(a, 1, "_put")?;
    q.native_put(vm, &a.pos[0], item)?;
    Ok(Value::None)
}
fn q_hook_get(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    q.native_get(vm, &a.pos[0])
}
fn q_repr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    let this = a.pos[0].clone();
    let f = q.format(vm, &this)?;
    Ok(Value::string(format!("<{} at 0x{:x} {f}>", vm.type_name(&this), this.id())))
}
fn q_str(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let q = state(vm, a)?;
    let this = a.pos[0].clone();
    let f = q.format(vm, &this)?;
    Ok(Value::string(format!("<{} {f}>", vm.type_name(&this))))
}
fn q_getattr(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let list = |w: &Waiters| Value::list(w.borrow().iter().map(super::future::future_value).collect());
    private_attr::<QueueState>(vm, a, |q, name| match name {
        "_maxsize" => Some(q.maxsize.clone()),
        "_queue" => Some(Value::list(q.items.borrow().iter().cloned().collect())),
        "_unfinished_tasks" => Some(Value::Int(q.unfinished.get())),
        "_getters" => Some(list(&q.getters)),
        "_putters" => Some(list(&q.putters)),
        _ => None,
    })
}

/// The methods CPython's queue calls through `self`: overriding one switches the queue to
/// script-level calls.
const OVERRIDABLE: &[(&str, NativeFn)] = &[
    ("_init", q_hook_init),
    ("_put", q_hook_put),
    ("_get", q_hook_get),
    ("qsize", q_qsize),
    ("empty", q_empty),
    ("full", q_full),
    ("put_nowait", q_put_nowait),
    ("get_nowait", q_get_nowait),
];

const METHODS: &[(&str, NativeFn)] = &[
    ("__init__", q_init),
    ("put", q_put),
    ("get", q_get),
    ("put_nowait", q_put_nowait),
    ("get_nowait", q_get_nowait),
    ("qsize", q_qsize),
    ("empty", q_empty),
    ("full", q_full),
    ("task_done", q_task_done),
    ("join", q_join),
    ("_init", q_hook_init),
    ("_put", q_hook_put),
    ("_get", q_hook_get),
    ("__repr__", q_repr),
    ("__str__", q_str),
    ("__getattr__", q_getattr),
];

/// Adds the queues and their exceptions to `_asyncio`.
pub fn register(vm: &mut Vm, m: &Module) {
    let queue = native_class(vm, "Queue", MODULE, None, METHODS, &[("maxsize", q_maxsize)]);
    let pq = native_class(vm, "PriorityQueue", MODULE, Some(&queue), &[("__init__", pq_init)], &[]);
    let lq = native_class(vm, "LifoQueue", MODULE, Some(&queue), &[("__init__", lq_init)], &[]);
    for c in [&queue, &pq, &lq] {
        crate::builtins::generic_alias::make_generic(c);
        m.set(Sym::new(&c.name), Value::Class(c.clone()));
    }
    vm.register_eager_await(q_put, eager_put);
    vm.register_eager_await(q_get, eager_get);
    for kind in [ExcKind::QueueEmpty, ExcKind::QueueFull] {
        let c = vm.exc_class(kind).clone();
        c.dict.borrow_mut().insert(vm.syms.module, Value::str(MODULE));
    }
    crate::vm::value::bump_class_epoch();
}

impl NativeObject for QueueState {
    fn type_name(&self) -> &'static str {
        "native_state"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    /// The cycle collector's view: the items, the waiters, the `_finished` event and
    /// `maxsize`.
    fn gc_traverse(&self, vis: &mut Visitor) {
        match self.items.try_borrow() {
            Ok(items) => items.iter().for_each(|v| vis.value(v)),
            Err(_) => vis.fail(),
        }
        traverse_waiters(&self.getters, vis);
        traverse_waiters(&self.putters, vis);
        vis.rc(&self.finished);
        vis.value(&self.maxsize);
    }
    fn gc_clear(&self) {
        let old = self.items.try_borrow_mut().map(|mut x| std::mem::take(&mut *x));
        drop(old);
        clear_waiters(&self.getters);
        clear_waiters(&self.putters);
    }
}
