//! The dispatch loop: runs frames until the base frame returns or yields.
//!
//! Rule (Lua's `savepc`): `frame.ip` is advanced before an instruction executes, so any
//! error raised by the instruction sees `ip - 1` as the failing instruction, and a call
//! that pushes a frame resumes the caller at the right place.

use super::frame::{Detached, Frame, Handler, ReturnMode};
use super::gen::GenResult;
use super::other::{TraceEntry, Traceback};
use super::value::{IterState, Value};
use super::{Exc, ExcKind, Res, Sym, Vm};
use crate::bytecode::{Code, Op};
use std::rc::Rc;

/// What `exec` tells `dispatch`.
enum Flow {
    /// The frame stack changed: reload the top frame.
    Switch,
    /// Execution of the base frame ended or yielded.
    Halt(Halt),
}

/// Why the dispatch loop stopped.
pub enum Halt {
    /// The base frame returned this value (the frame is gone).
    Return(Value),
    /// The base frame (a generator) yielded this value; the frame is still on the stack.
    Yield(Value),
}

/// Pops the top of a value stack (`Undef` if it is empty), returning the value itself rather
/// than an `Option<Value>`: the optimiser moves an `Option<Value>` through memory in
/// byte-sized pieces, whose reloads then wait on store forwarding.
#[inline(always)]
pub(crate) fn pop_top(stack: &mut Vec<Value>) -> Value {
    match stack.len() {
        0 => Value::Undef,
        n => stack.swap_remove(n - 1),
    }
}

/// Pushes the value `f` builds, building it in its new slot: `extend(once_with(..))`
/// makes room first, while `push(v)` builds `v` in a temporary (it must survive a possible
/// reallocation) and copies it over with wide loads that stall on the temporary's narrower
/// stores.
#[inline(always)]
pub(crate) fn push_with(stack: &mut Vec<Value>, f: impl FnOnce() -> Value) {
    stack.extend(std::iter::once_with(f));
}

/// Pushes `v`, a value a call returned through memory: the common variants are taken
/// apart and rebuilt in the new slot, so the tag and the payload are read the way they
/// were written (a wide copy of the whole value would stall on store forwarding).
#[inline(always)]
pub(crate) fn push_value(stack: &mut Vec<Value>, v: Value) {
    match v {
        Value::Int(i) => push_with(stack, || Value::Int(i)),
        Value::Bool(b) => push_with(stack, || Value::Bool(b)),
        Value::None => push_with(stack, || Value::None),
        Value::Float(f) => push_with(stack, || Value::Float(f)),
        Value::Str(r) => push_with(stack, || Value::Str(r)),
        Value::Instance(r) => push_with(stack, || Value::Instance(r)),
        other => stack.push(other),
    }
}

/// Pushes a copy of `stack[i]`. The common variants are built directly in the new slot
/// ([`push_with`], one variant per arm): a cloned `Value` returned from a `match` is
/// assembled in a temporary that the optimiser copies in byte-sized pieces, and reloading
/// those pieces as a whole stalls on store forwarding.
#[inline(always)]
pub(crate) fn push_copy_of(stack: &mut Vec<Value>, i: usize) {
    match &stack[i] {
        Value::Int(x) => {
            let x = *x;
            push_with(stack, || Value::Int(x));
        }
        Value::Instance(r) => {
            let r = r.clone();
            push_with(stack, || Value::Instance(r));
        }
        Value::Float(x) => {
            let x = *x;
            push_with(stack, || Value::Float(x));
        }
        Value::Str(r) => {
            let r = r.clone();
            push_with(stack, || Value::Str(r));
        }
        Value::List(r) => {
            let r = r.clone();
            push_with(stack, || Value::List(r));
        }
        v => {
            let v = v.clone();
            stack.push(v);
        }
    }
}

/// Pushes a copy of `v` (a value outside the stack), building the common variants in the
/// new slot (see [`push_copy_of`]).
#[inline(always)]
pub(crate) fn push_copy(stack: &mut Vec<Value>, v: &Value) {
    match v {
        Value::Int(x) => push_with(stack, || Value::Int(*x)),
        Value::Instance(r) => push_with(stack, || Value::Instance(r.clone())),
        Value::Float(x) => push_with(stack, || Value::Float(*x)),
        Value::Str(r) => push_with(stack, || Value::Str(r.clone())),
        Value::Function(r) => push_with(stack, || Value::Function(r.clone())),
        Value::Class(r) => push_with(stack, || Value::Class(r.clone())),
        Value::Native(r) => push_with(stack, || Value::Native(r.clone())),
        v => stack.push(v.clone()),
    }
}

/// Stores `v` in the local at `stack[at]`.
#[inline(always)]
fn store_local(stack: &mut [Value], at: usize, v: Value) {
    let old = std::mem::replace(&mut stack[at], v);
    // Most locals hold immediates: skip the out-of-line drop for them.
    if old.is_immediate() {
        std::mem::forget(old);
    }
}

impl Vm {
    /// Pushes a value on the current frame's stack.
    #[inline]
    pub(crate) fn push(&mut self, v: Value) {
        push_value(&mut self.stack, v);
    }
    /// Pops a value from the current frame's stack.
    #[inline]
    pub(crate) fn pop(&mut self) -> Value {
        pop_top(&mut self.stack)
    }

    /// Runs a module body in `globals`.
    pub fn run_module_code(&mut self, code: Rc<Code>, globals: Rc<super::value::Module>) -> Res<Value> {
        let values = vec![Value::Undef; code.nlocals()];
        let cells = (0..code.cellvars.len()).map(|_| Rc::new(std::cell::RefCell::new(Value::Undef))).collect();
        let frame = Frame {
            code,
            ip: 0,
            base: 0,
            ret_sp: 0,
            cells,
            globals,
            handlers: Vec::new(),
            namespace: None,
            ret: ReturnMode::Push,
            handled_base: self.handled.len(),
        };
        self.run_frame(Detached { frame, values })
    }

    /// Pushes a detached frame and its values on top of the current stacks.
    pub(crate) fn push_detached(&mut self, d: Detached) {
        let Detached { mut frame, values } = d;
        frame.base = self.stack.len();
        frame.ret_sp = frame.base;
        frame.handled_base = self.handled.len();
        self.stack.extend(values);
        self.frames.push(frame);
    }

    /// Runs a frame to completion in a nested dispatch loop (used by natives calling script code).
    pub(crate) fn run_frame(&mut self, d: Detached) -> Res<Value> {
        self.check_depth()?;
        self.depth.enter_native();
        let base = self.frames.len();
        self.push_detached(d);
        let r = self.run(base);
        self.depth.leave_native();
        match r? {
            Halt::Return(v) => Ok(v),
            Halt::Yield(_) => {
                if let Some(f) = self.frames.pop() {
                    self.stack.truncate(f.ret_sp);
                }
                self.frames.truncate(base);
                Err(Exc::runtime_error("yield from a frame that is not a generator"))
            }
        }
    }

    /// Raises `RecursionError` when the frame stack is at the limit.
    #[inline(always)]
    pub(crate) fn check_depth(&self) -> Res<()> {
        // Ctrl-C and the embedding limits: every script call (and generator resumption)
        // passes here, so recursive code without loops is interruptible too; raised in the
        // caller, at the call. The common case is one comparison and one decrement.
        let t = self.ticks.get();
        if t != 0 && self.depth.allows(self.frames.len()) {
            self.ticks.set(t - 1);
            return Ok(());
        }
        self.check_depth_slow()
    }

    /// [`Vm::check_depth`] when a tick slice is used up or the frame stack is near a bound.
    #[cold]
    #[inline(never)]
    fn check_depth_slow(&self) -> Res<()> {
        self.tick()?;
        match self.depth.exceeded(self.frames.len()) {
            Some(msg) => Err(Exc::new(ExcKind::RecursionError, msg)),
            None => Ok(()),
        }
    }

    /// Runs until the frame at index `base` returns or yields.
    pub(crate) fn run(&mut self, base: usize) -> Res<Halt> {
        // Each nested run uses Rust stack: bound it on an embedder's thread.
        self.check_stack()?;
        if base == 0 {
            let r = self.run_loop(0);
            // The outermost run is over: release what the retired frame slots point to.
            self.frames.trim();
            return r;
        }
        self.run_loop(base)
    }

    /// [`Vm::run`]'s loop: dispatch, and unwind what it raises.
    #[inline(always)]
    fn run_loop(&mut self, base: usize) -> Res<Halt> {
        loop {
            match self.dispatch(base) {
                Ok(h) => return Ok(h),
                Err(e) => self.unwind(e, base)?,
            }
        }
    }

    /// Finds a handler for `exc`, popping frames above `base` as needed; `Err` when the
    /// exception leaves the base frame (which is then popped too).
    pub(crate) fn unwind(&mut self, exc: Exc, base: usize) -> Res<()> {
        // A green call suspending (see `green.rs`) is not an exception: leave the frames.
        if super::green::suspending() {
            return Err(exc);
        }
        let reraise = std::mem::take(&mut self.reraising);
        let mut inst = self.materialize(exc);
        let mut exc_val = Value::Instance(inst.clone());
        if !reraise {
            self.set_context(&exc_val);
        }
        let mut first = true;
        loop {
            let Some(frame) = self.frames.last_mut() else {
                return Err(Exc::Obj(inst));
            };
            if !(first && reraise) {
                let entry =
                    TraceEntry { file: frame.code.filename.clone(), line: frame.line(), name: frame.code.name.clone() };
                add_trace(&inst, entry, self.syms.traceback);
            }
            first = false;
            if let Some(h) = frame.handlers.pop() {
                self.stack.truncate(frame.base + h.depth as usize);
                self.stack.push(exc_val);
                frame.ip = h.target as usize;
                return Ok(());
            }
            let idx = self.frames.len() - 1;
            let f = self.frames.pop().expect("frame");
            self.handled.truncate(f.handled_base);
            self.stack.truncate(f.ret_sp);
            match f.ret {
                ReturnMode::GenFor(ref g, _) | ReturnMode::GenSend(ref g, _) => {
                    // The exception leaves a generator resumed in place: it is closed, and goes
                    // on into the resuming frame (as `StopIteration` no more: PEP 479).
                    inst = self.gen_exception_escapes(g, inst);
                    exc_val = Value::Instance(inst.clone());
                }
                ReturnMode::GenAsend(ref g, _) => {
                    // The exception ends the `asend` await too, in the resuming frame.
                    if let Some(step) = self.stack.last() {
                        super::asyncgen::finish_inline(step);
                    }
                    inst = self.gen_exception_escapes(g, inst);
                    exc_val = Value::Instance(inst.clone());
                }
                ReturnMode::GenChain(g, parent) => {
                    // The innermost level of a delegation chain: the exception goes on into
                    // the level above, resumed at its `Send` in this frame's place.
                    inst = self.gen_exception_escapes(&g, inst);
                    exc_val = Value::Instance(inst.clone());
                    self.chain_ascend(&g, parent, None)?;
                    continue;
                }
                _ => {}
            }
            if idx == base {
                return Err(Exc::Obj(inst));
            }
        }
    }

    /// Sets `__context__` of a newly raised exception to the one being handled.
    fn set_context(&mut self, exc: &Value) {
        let Some(ctx) = self.handled.last().cloned() else { return };
        if ctx.is(exc) {
            return;
        }
        if let Value::Instance(i) = exc {
            // Break a cycle that would make the context chain loop back to `exc`.
            let mut cur = ctx.clone();
            let mut steps = 0;
            while let Value::Instance(c) = &cur {
                let next = c.get_attr(self.syms.context).unwrap_or(Value::None);
                if next.is(exc) {
                    c.set_attr(self.syms.context, Value::None);
                    break;
                }
                cur = next;
                steps += 1;
                if steps > 1000 {
                    break;
                }
            }
            if i.get_attr(self.syms.context).map(|v| v.is_none()).unwrap_or(true) {
                i.set_attr(self.syms.context, ctx);
            }
        }
    }

    /// Delivers a return value to the caller of the frame just popped.
    fn deliver(&mut self, ret: ReturnMode, v: Value) -> Res<()> {
        match ret {
            ReturnMode::Push => self.push(v),
            ReturnMode::Init(inst) => {
                if !v.is_none() {
                    return Err(Exc::type_error(format!(
                        "__init__() should return None, not '{}'",
                        self.type_name(&v)
                    )));
                }
                self.push(inst);
            }
            ReturnMode::Discard => {}
            ReturnMode::GenFor(g, exit) => {
                // The generator is exhausted: the loop ends.
                g.state.set(super::gen::GenState::Closed);
                self.stack.pop();
                if let Some(caller) = self.frames.last_mut() {
                    caller.ip = exit as usize;
                }
            }
            ReturnMode::GenSend(g, exit) => {
                // `yield from` / `await` finished: its value replaces the sub-iterator.
                g.state.set(super::gen::GenState::Closed);
                self.stack.pop();
                self.stack.push(v);
                if let Some(caller) = self.frames.last_mut() {
                    caller.ip = exit as usize;
                }
            }
            ReturnMode::GenChain(g, parent) => return self.deliver_chain(g, parent, v),
            ReturnMode::GenAsend(g, _) => return self.deliver_async(g),
            // Only ever the base frame of a nested run, which halts instead; the chain modes
            // are only kept by suspended frames.
            ReturnMode::GenNative(_) | ReturnMode::ChainLink(..) | ReturnMode::ChainHead(..) => self.push(v),
        }
        Ok(())
    }

    /// `YieldValue` (at `at`, continuing at `ip`) in an async generator frame resumed in
    /// place or in the innermost level of a delegation chain.
    #[inline(never)]
    fn yield_in_place(&mut self, code: &Code, at: usize, ip: usize, v: Value) -> Flow {
        if matches!(self.frames.last().map(|f| &f.ret), Some(ReturnMode::GenAsend(..))) {
            // An own `yield` is not wrapped when the frame runs in place.
            let own = at > 0 && matches!(code.ops[at - 1], Op::AsyncGenWrap);
            self.suspend_async(ip, v, own);
            return Flow::Switch;
        }
        match self.suspend_chain(ip, v) {
            Some(v) => Flow::Halt(Halt::Yield(v)),
            None => Flow::Switch,
        }
    }

    /// [`Vm::deliver`] for the innermost level of a delegation chain: the level above goes on.
    #[inline(never)]
    fn deliver_chain(&mut self, g: Rc<super::gen::GenObj>, parent: Rc<super::gen::GenObj>, v: Value) -> Res<()> {
        self.chain_ascend(&g, parent, Some(v))
    }

    /// [`Vm::deliver`] for an async generator resumed in place that finished: the `asend`
    /// await raises `StopAsyncIteration`.
    #[inline(never)]
    fn deliver_async(&mut self, g: Rc<super::gen::GenObj>) -> Res<()> {
        g.state.set(super::gen::GenState::Closed);
        if let Some(step) = self.stack.last() {
            super::asyncgen::finish_inline(step);
        }
        Err(Exc::new(ExcKind::StopAsyncIteration, ""))
    }

    /// Runs instructions, re-entering `exec` when it leaves its loop for a frame change it
    /// does not follow itself.
    fn dispatch(&mut self, base: usize) -> Res<Halt> {
        loop {
            let mut fi = self.frames.len() - 1;
            let mut ip = self.frames[fi].ip;
            let r = self.exec(base, &mut fi, &mut ip);
            // Write `ip` back (savepc) unless the frame is gone (it returned).
            if let Some(f) = self.frames.get_mut(fi) {
                f.ip = ip;
            }
            match r {
                Ok(Flow::Switch) => {}
                Ok(Flow::Halt(h)) => return Ok(h),
                Err(e) => return Err(e),
            }
        }
    }

    /// The instruction loop: hot state (`code`, `bp`, `ip`) lives in locals. Plain calls
    /// and returns switch frames in place; `top` and `ip` always name the running frame
    /// and its next instruction, so that `dispatch` can save `ip` when `exec` returns.
    #[inline(always)]
    fn exec(&mut self, base: usize, top: &mut usize, ip: &mut usize) -> Res<Flow> {
        let mut fi = *top;
        let mut code_rc = self.frames[fi].code.clone();
        let mut bp = self.frames[fi].base;
        // Continues with the frame now on top of the frame stack (the caller has saved
        // its own `ip` if it is still there).
        macro_rules! enter_top {
            () => {{
                fi = self.frames.len() - 1;
                *top = fi;
                let f = &self.frames[fi];
                code_rc = f.code.clone();
                bp = f.base;
                *ip = f.ip;
                continue;
            }};
        }
        loop {
            let code: &Code = &code_rc;
            let at = *ip;
            *ip += 1;
            // Match on the place, not a copy: each arm loads only its own operands.
            match code.ops[at] {
                Op::Nop => {}
                Op::LoadFastFast(a, b) => {
                    let (ia, ib) = (bp + a as usize, bp + b as usize);
                    if self.stack[ia].is_undef() || self.stack[ib].is_undef() {
                        // Let the plain instructions report the unbound local.
                        *ip -= 1;
                        return self.unbound_local(code, if self.stack[ia].is_undef() { a } else { b });
                    }
                    push_copy_of(&mut self.stack, ia);
                    push_copy_of(&mut self.stack, ib);
                    *ip += 1;
                }
                Op::LoadFastConst(a, k) => {
                    let ia = bp + a as usize;
                    if self.stack[ia].is_undef() {
                        return self.unbound_local(code, a);
                    }
                    push_copy_of(&mut self.stack, ia);
                    push_copy(&mut self.stack, &code.consts[k as usize]);
                    *ip += 1;
                }
                Op::FastConstArith(a, k, bop) => {
                    let ia = bp + a as usize;
                    let (va, vk) = (&self.stack[ia], &code.consts[k as usize]);
                    if let (Value::Int(x), Value::Int(y)) = (va, vk) {
                        if let Some(r) = super::ops::int_arith(bop, *x, *y) {
                            push_with(&mut self.stack, || Value::Int(r));
                            *ip += 2;
                            continue;
                        }
                    }
                    if let Some(r) = super::ops::float_arith(bop, va, vk) {
                        push_with(&mut self.stack, || Value::Float(r));
                        *ip += 2;
                        continue;
                    }
                    if va.is_undef() {
                        return self.unbound_local(code, a);
                    }
                    push_copy_of(&mut self.stack, ia);
                    push_copy(&mut self.stack, &code.consts[k as usize]);
                    *ip += 1;
                }
                Op::FastFastArith(a, b, bop) => {
                    let (ia, ib) = (bp + a as usize, bp + b as usize);
                    let (va, vb) = (&self.stack[ia], &self.stack[ib]);
                    if let (Value::Int(x), Value::Int(y)) = (va, vb) {
                        if let Some(r) = super::ops::int_arith(bop, *x, *y) {
                            push_with(&mut self.stack, || Value::Int(r));
                            *ip += 2;
                            continue;
                        }
                    }
                    if let Some(r) = super::ops::float_arith(bop, va, vb) {
                        push_with(&mut self.stack, || Value::Float(r));
                        *ip += 2;
                        continue;
                    }
                    if va.is_undef() || vb.is_undef() {
                        return self.unbound_local(code, if va.is_undef() { a } else { b });
                    }
                    push_copy_of(&mut self.stack, ia);
                    push_copy_of(&mut self.stack, ib);
                    *ip += 1;
                }
                Op::FastConstCompareJump(a, k, kind) => {
                    let ia = bp + a as usize;
                    if let Some(truth) = super::ops::cmp_fast(kind, &self.stack[ia], &code.consts[k as usize]) {
                        if truth {
                            *ip += 3;
                        } else if let Op::CompareJumpIfFalse(_, t) = code.ops[*ip + 1] {
                            *ip = t.0 as usize;
                        }
                        continue;
                    }
                    if self.stack[ia].is_undef() {
                        return self.unbound_local(code, a);
                    }
                    push_copy_of(&mut self.stack, ia);
                    push_copy(&mut self.stack, &code.consts[k as usize]);
                    *ip += 1;
                }
                Op::FastFastCompareJump(a, b, kind) => {
                    let (ia, ib) = (bp + a as usize, bp + b as usize);
                    if let Some(truth) = super::ops::cmp_fast(kind, &self.stack[ia], &self.stack[ib]) {
                        if truth {
                            *ip += 3;
                        } else if let Op::CompareJumpIfFalse(_, t) = code.ops[*ip + 1] {
                            *ip = t.0 as usize;
                        }
                        continue;
                    }
                    if self.stack[ia].is_undef() || self.stack[ib].is_undef() {
                        return self.unbound_local(code, if self.stack[ia].is_undef() { a } else { b });
                    }
                    push_copy_of(&mut self.stack, ia);
                    push_copy_of(&mut self.stack, ib);
                    *ip += 1;
                }
                Op::CompareJumpIfTrue(kind, t) => {
                    let n = self.stack.len();
                    let truth = if let Some(r) = super::ops::cmp_fast(kind, &self.stack[n - 2], &self.stack[n - 1]) {
                        std::mem::forget(self.stack.pop());
                        std::mem::forget(self.stack.pop());
                        r
                    } else {
                        self.compare_truth_slow(kind)?
                    };
                    if truth {
                        *ip = t.0 as usize;
                    } else {
                        *ip += 1;
                    }
                }
                Op::CompareJumpIfFalse(kind, t) => {
                    let n = self.stack.len();
                    let truth = if let Some(r) = super::ops::cmp_fast(kind, &self.stack[n - 2], &self.stack[n - 1]) {
                        std::mem::forget(self.stack.pop());
                        std::mem::forget(self.stack.pop());
                        r
                    } else {
                        self.compare_truth_slow(kind)?
                    };
                    if truth {
                        *ip += 1;
                    } else {
                        *ip = t.0 as usize;
                    }
                }
                Op::LoadConst(k) => {
                    let v = code.consts[k.0 as usize].clone();
                    self.stack.push(v);
                }
                Op::Pop => {
                    if let Some(v) = self.stack.pop() {
                        v.discard();
                    }
                    if super::gen::finalizers_pending() {
                        self.frames[fi].ip = *ip;
                        self.run_finalizers();
                    }
                }
                Op::Dup => {
                    if let Some(top) = self.stack.len().checked_sub(1) {
                        push_copy_of(&mut self.stack, top);
                    }
                }
                Op::DupTwo => {
                    let n = self.stack.len();
                    let a = self.stack[n - 2].clone();
                    let b = self.stack[n - 1].clone();
                    self.stack.push(a);
                    self.stack.push(b);
                }
                Op::Rot2 => {
                    let n = self.stack.len();
                    self.stack.swap(n - 1, n - 2);
                }
                Op::Rot3 => {
                    let v = pop_top(&mut self.stack);
                    let n = self.stack.len();
                    self.stack.insert(n - 2, v);
                }
                Op::Rot4 => {
                    let v = pop_top(&mut self.stack);
                    let n = self.stack.len();
                    self.stack.insert(n - 3, v);
                }
                Op::LoadFast(s) => self.push_local(code, bp, s.0 as usize)?,
                Op::StoreFast(s) => {
                    let v = pop_top(&mut self.stack);
                    store_local(&mut self.stack, bp + s.0 as usize, v);
                }
                Op::DeleteFast(s) => {
                    if self.stack[bp + s.0 as usize].is_undef() {
                        let name = code.varnames[s.0 as usize];
                        return Err(Exc::new(
                            ExcKind::UnboundLocalError,
                            format!("cannot access local variable '{name}' where it is not associated with a value"),
                        ));
                    }
                    self.stack[bp + s.0 as usize] = Value::Undef;
                    if super::gen::finalizers_pending() {
                        self.frames[fi].ip = *ip;
                        self.run_finalizers();
                    }
                }
                Op::LoadDeref(c) => {
                    let v = self.frames[fi].cells[c.0 as usize].borrow().clone();
                    if v.is_undef() {
                        return Err(self.unbound_cell(c.0));
                    }
                    self.push(v);
                }
                Op::StoreDeref(c) => {
                    let v = pop_top(&mut self.stack);
                    *self.frames[fi].cells[c.0 as usize].borrow_mut() = v;
                }
                Op::DeleteDeref(c) => {
                    let old = std::mem::take(&mut *self.frames[fi].cells[c.0 as usize].borrow_mut());
                    if old.is_undef() {
                        return Err(self.unbound_cell(c.0));
                    }
                }
                Op::LoadClassDeref(c) => {
                    let name = self.cell_name(c.0);
                    let ns = self.frames[fi].namespace.clone();
                    let ns_val = ns.and_then(|ns| self.dict_get_str_key(&ns, name));
                    let v = match ns_val {
                        Some(v) => v,
                        None => {
                            let v = self.frames[fi].cells[c.0 as usize].borrow().clone();
                            if v.is_undef() {
                                return Err(self.unbound_cell(c.0));
                            }
                            v
                        }
                    };
                    self.push(v);
                }
                Op::LoadClosure(c) => {
                    let cell = self.frames[fi].cells[c.0 as usize].clone();
                    self.stack.push(Value::Cell(cell));
                }
                Op::LoadGlobal(n) => {
                    let m = &self.frames[fi].globals;
                    let key = Rc::as_ptr(m) as usize;
                    let (ver, bver) = (m.version.get(), self.builtins.version.get());
                    // The hit pushes the cached value straight from the cache entry: no
                    // `Option<Value>` temporary to move through memory.
                    if let Some(e) = code.global_cache.borrow().get(n.0 as usize) {
                        if e.module == key && e.version == ver && e.builtins_version == bver {
                            push_copy(&mut self.stack, &e.value);
                            continue;
                        }
                    }
                    let name = code.names[n.0 as usize];
                    let v = self.frames[fi].globals.get(name);
                    let v = match v {
                        Some(v) => v,
                        None => match self.builtins.get(name) {
                            Some(v) => v,
                            None => return Err(Exc::new(ExcKind::NameError, format!("name '{name}' is not defined"))),
                        },
                    };
                    // Only values whose extra reference cannot be observed are cached (a cached
                    // generator or file would outlive its last `del`); immediates hold none.
                    if v.is_immediate()
                        || matches!(v, Value::Function(_) | Value::Class(_) | Value::Native(_) | Value::Module(_))
                    {
                        let mut cache = code.global_cache.borrow_mut();
                        if cache.len() < code.names.len() {
                            cache.resize(code.names.len(), Default::default());
                            super::gc::track_code_cache(&self.frames[fi].code);
                        }
                        cache[n.0 as usize] = crate::bytecode::GlobalCacheEntry {
                            module: key,
                            version: ver,
                            builtins_version: bver,
                            value: v.clone(),
                        };
                    }
                    self.push(v);
                }
                Op::StoreGlobal(n) => {
                    let name = code.names[n.0 as usize];
                    let v = pop_top(&mut self.stack);
                    self.frames[fi].globals.set(name, v);
                }
                Op::DeleteGlobal(n) => {
                    let name = code.names[n.0 as usize];
                    let old = self.frames[fi].globals.remove(name);
                    if old.is_none() {
                        return Err(Exc::new(ExcKind::NameError, format!("name '{name}' is not defined")));
                    }
                    drop(old);
                    if super::gen::finalizers_pending() {
                        self.frames[fi].ip = *ip;
                        self.run_finalizers();
                    }
                }
                Op::LoadName(n) => {
                    let name = code.names[n.0 as usize];
                    let v = self.load_name(name)?;
                    self.push(v);
                }
                Op::StoreName(n) => {
                    let name = code.names[n.0 as usize];
                    let v = pop_top(&mut self.stack);
                    self.store_name(name, v)?;
                }
                Op::DeleteName(n) => {
                    let name = code.names[n.0 as usize];
                    self.delete_name(name)?;
                    if super::gen::finalizers_pending() {
                        self.frames[fi].ip = *ip;
                        self.run_finalizers();
                    }
                }
                Op::LoadFastAttr(a, n) => {
                    if let Value::Instance(inst) = &self.stack[bp + a as usize] {
                        match super::inline_cache::load(code, n as u32, inst).push_on(&mut self.stack) {
                            Ok(()) => {
                                *ip += 1;
                                continue;
                            }
                            Err(Some(slot)) => {
                                if let Value::Instance(inst) = &self.stack[bp + a as usize] {
                                    let v = inst.attrs.borrow()[slot].1.clone();
                                    self.stack.push(v);
                                    *ip += 1;
                                    continue;
                                }
                            }
                            Err(None) => {}
                        }
                    }
                    // As `LoadFast`; the `LoadAttr` runs next.
                    self.push_local(code, bp, a as usize)?;
                }
                Op::StoreFastAttr(a, n) => {
                    let v = pop_top(&mut self.stack);
                    let v = match &self.stack[bp + a as usize] {
                        Value::Instance(inst) => match super::inline_cache::store(code, n as u32, inst, v) {
                            Ok(()) => {
                                *ip += 1;
                                continue;
                            }
                            Err(v) => v,
                        },
                        _ => v,
                    };
                    self.stack.push(v);
                    // As `LoadFast`; the `StoreAttr` runs next.
                    self.push_local(code, bp, a as usize)?;
                }
                Op::LoadFastMethod(a, n) => {
                    if let Value::Instance(inst) = &self.stack[bp + a as usize] {
                        if let Some(f) = super::inline_cache::method(code, n as u32, inst) {
                            let this = inst.clone();
                            f.push_on(&mut self.stack);
                            push_with(&mut self.stack, || Value::Instance(this));
                            *ip += 1;
                            continue;
                        }
                    }
                    // As `LoadFast`; the `LoadMethod` runs next.
                    self.push_local(code, bp, a as usize)?;
                }
                Op::LoadAttr(n) => {
                    if let Some(Value::Instance(inst)) = self.stack.last() {
                        let top = self.stack.len() - 1;
                        match super::inline_cache::load(code, n.0, inst).replace_at(&mut self.stack, top) {
                            Ok(()) => continue,
                            Err(Some(slot)) => {
                                if let Value::Instance(inst) = pop_top(&mut self.stack) {
                                    push_copy(&mut self.stack, &inst.attrs.borrow()[slot].1);
                                }
                                continue;
                            }
                            Err(None) => {}
                        }
                    }
                    let name = code.names[n.0 as usize];
                    let obj = pop_top(&mut self.stack);
                    let v = self.get_attr(&obj, name)?;
                    if let Value::Instance(inst) = &obj {
                        self.fill_attr_cache(code, n.0, inst);
                    }
                    self.push(v);
                }
                Op::StoreAttr(n) => {
                    let obj = pop_top(&mut self.stack);
                    let mut v = pop_top(&mut self.stack);
                    if let Value::Instance(inst) = &obj {
                        match super::inline_cache::store(code, n.0, inst, v) {
                            Ok(()) => continue,
                            Err(back) => v = back,
                        }
                    }
                    let name = code.names[n.0 as usize];
                    self.set_attr(&obj, name, v)?;
                    if let Value::Instance(inst) = &obj {
                        self.fill_attr_cache(code, n.0, inst);
                    }
                }
                Op::DeleteAttr(n) => {
                    let name = code.names[n.0 as usize];
                    let obj = pop_top(&mut self.stack);
                    self.del_attr(&obj, name)?;
                }
                Op::LoadMethod(n) => {
                    if let Some(Value::Instance(inst)) = self.stack.last() {
                        if let Some(f) = super::inline_cache::method(code, n.0, inst) {
                            if let Value::Instance(obj) = pop_top(&mut self.stack) {
                                f.push_on(&mut self.stack);
                                push_with(&mut self.stack, || Value::Instance(obj));
                            }
                            continue;
                        }
                    }
                    let name = code.names[n.0 as usize];
                    // A built-in type's native method (`xs.append`, `d.get`) from the
                    // method cache, built in its stack slot.
                    if let Some(ty) = self.stack.last().and_then(super::attr::method_cache_type) {
                        if let Some(m) = self.method_cache.lookup(ty, name) {
                            let obj = pop_top(&mut self.stack);
                            push_copy(&mut self.stack, m);
                            self.stack.push(obj);
                            continue;
                        }
                    }
                    let obj = pop_top(&mut self.stack);
                    let (f, this) = self.load_method(obj, name)?;
                    if let Value::Instance(inst) = &this {
                        super::inline_cache::fill_method(code, n.0, inst, &f);
                    }
                    self.stack.push(f);
                    self.stack.push(this);
                }
                Op::CallMethod(argc) => {
                    let n = self.stack.len();
                    // `xs.append(v)` in place (CPython specialises it too).
                    if argc == 1 {
                        if let (Value::Native(f), Value::List(l)) = (&self.stack[n - 3], &self.stack[n - 2]) {
                            if self.list_append.as_ref().is_some_and(|a| Rc::ptr_eq(a, f)) {
                                let l = l.clone();
                                let v = pop_top(&mut self.stack);
                                self.stack.truncate(n - 3);
                                crate::builtins::methods::list_push(self, &l, v)?;
                                self.stack.push(Value::None);
                                continue;
                            }
                        }
                    }
                    let self_at = n - argc as usize - 1;
                    // `await obj.method(...)` that a native finishes at once.
                    if matches!(code.ops.get(*ip), Some(Op::GetAwaitable)) {
                        if let Some(t) = self.eager_await(code, *ip, self_at) {
                            *ip = t;
                            continue;
                        }
                    }
                    if let Value::Native(f) = &self.stack[self_at - 1] {
                        if let (Some(fast), None) = (f.fast, &f.receiver) {
                            if !self.stack[self_at].is_undef() {
                                self.call_fast_native(fast, self_at - 1, argc as usize + 1)?;
                                continue;
                            }
                        }
                    }
                    if self.stack[self_at].is_undef() {
                        self.stack.remove(self_at);
                        self.call_from_stack(argc as usize, None, *ip)?;
                    } else {
                        self.call_from_stack(argc as usize + 1, None, *ip)?;
                    }
                    if self.frames.len() != fi + 1 {
                        self.frames[fi].ip = *ip;
                        enter_top!();
                    }
                }
                Op::Call(argc) => {
                    let func_at = self.stack.len() - argc as usize - 1;
                    if let Value::Native(f) = &self.stack[func_at] {
                        if let (Some(fast), None) = (f.fast, &f.receiver) {
                            self.call_fast_native(fast, func_at, argc as usize)?;
                            continue;
                        }
                    }
                    self.call_from_stack(argc as usize, None, *ip)?;
                    if self.frames.len() != fi + 1 {
                        self.frames[fi].ip = *ip;
                        enter_top!();
                    }
                }
                Op::CallKw(argc) => {
                    let names = pop_top(&mut self.stack);
                    self.call_from_stack(argc as usize, Some(names), *ip)?;
                    if self.frames.len() != fi + 1 {
                        return Ok(Flow::Switch);
                    }
                }
                Op::CallEx(has_kw) => {
                    let kwargs = if has_kw { Some(pop_top(&mut self.stack)) } else { None };
                    let args = pop_top(&mut self.stack);
                    let func = pop_top(&mut self.stack);
                    self.frames[fi].ip = *ip;
                    self.call_ex(func, args, kwargs)?;
                    if self.frames.len() != fi + 1 {
                        return Ok(Flow::Switch);
                    }
                }
                Op::BinarySubscr => {
                    let key = pop_top(&mut self.stack);
                    let obj = pop_top(&mut self.stack);
                    // Fast paths: list[int], and dict[str] or dict[int] (no script `__eq__`).
                    match (&obj, &key) {
                        (Value::List(l), Value::Int(i)) => {
                            let items = l.items.borrow();
                            let len = items.len() as i64;
                            let idx = if *i < 0 { i + len } else { *i };
                            if idx >= 0 && idx < len {
                                push_copy(&mut self.stack, &items[idx as usize]);
                                continue;
                            }
                        }
                        (Value::Dict(d), Value::Str(_) | Value::Int(_))
                            if super::ops::dict_push_simple(d, &key, &mut self.stack) =>
                        {
                            continue;
                        }
                        _ => {}
                    }
                    let v = self.get_item(&obj, &key)?;
                    self.push(v);
                }
                Op::StoreSubscr => {
                    let key = pop_top(&mut self.stack);
                    let obj = pop_top(&mut self.stack);
                    let v = pop_top(&mut self.stack);
                    // `xs[i] = v` with an index in range: in place.
                    if let (Value::List(l), Value::Int(i)) = (&obj, &key) {
                        if let Ok(mut items) = l.items.try_borrow_mut() {
                            let len = items.len() as i64;
                            let idx = if *i < 0 { i + len } else { *i };
                            if idx >= 0 && idx < len {
                                let old = std::mem::replace(&mut items[idx as usize], v);
                                drop(items);
                                old.discard();
                                continue;
                            }
                        }
                    }
                    self.set_item(&obj, key, v)?;
                }
                Op::DeleteSubscr => {
                    let key = pop_top(&mut self.stack);
                    let obj = pop_top(&mut self.stack);
                    self.del_item(&obj, &key)?;
                }
                Op::BuildSlice(n) => {
                    let step = if n == 3 { pop_top(&mut self.stack) } else { Value::None };
                    let stop = pop_top(&mut self.stack);
                    let start = pop_top(&mut self.stack);
                    self.stack.push(Value::Slice(Rc::new(super::value::SliceObj { start, stop, step })));
                }
                Op::Binary(bop) => {
                    if self.binary_fast(bop) {
                        continue;
                    }
                    let b = pop_top(&mut self.stack);
                    let a = pop_top(&mut self.stack);
                    let v = self.binary_op(bop, a, b)?;
                    self.push(v);
                }
                Op::Inplace(bop) => {
                    if self.binary_fast(bop) {
                        continue;
                    }
                    let b = pop_top(&mut self.stack);
                    let a = pop_top(&mut self.stack);
                    let v = self.inplace_op(bop, a, b)?;
                    self.push(v);
                }
                Op::Unary(uop) => {
                    let a = pop_top(&mut self.stack);
                    let v = self.unary_op(uop, a)?;
                    self.push(v);
                }
                Op::Compare(kind) => {
                    let n = self.stack.len();
                    if let Some(r) = super::ops::cmp_fast(kind, &self.stack[n - 2], &self.stack[n - 1]) {
                        let r = Value::Bool(r);
                        std::mem::forget(self.stack.pop());
                        std::mem::forget(std::mem::replace(&mut self.stack[n - 2], r));
                        continue;
                    }
                    let b = pop_top(&mut self.stack);
                    let a = pop_top(&mut self.stack);
                    let v = self.compare(kind, &a, &b)?;
                    self.push(v);
                }
                Op::Is(neg) => {
                    let b = pop_top(&mut self.stack);
                    let a = pop_top(&mut self.stack);
                    let r = a.is(&b) != neg;
                    push_with(&mut self.stack, || Value::Bool(r));
                }
                Op::In(neg) => {
                    let container = pop_top(&mut self.stack);
                    let item = pop_top(&mut self.stack);
                    let r = self.contains(&container, &item)?;
                    self.push(Value::Bool(r != neg));
                }
                Op::Jump(t) => {
                    // Ctrl-C and limits: every loop (`while`, `for`, `continue`) ends in a
                    // backward jump.
                    if (t.0 as usize) < *ip {
                        self.tick()?;
                        // A safe point for finalisers and the cycle collector on every loop.
                        if super::gen::finalizers_pending() {
                            self.frames[fi].ip = *ip;
                            self.run_finalizers();
                        }
                    }
                    *ip = t.0 as usize
                }
                Op::PopJumpIfFalse(t) => {
                    let v = pop_top(&mut self.stack);
                    let truth = match v {
                        Value::Bool(b) => b,
                        other => self.truthy_slow(other)?,
                    };
                    if !truth {
                        *ip = t.0 as usize;
                    }
                }
                Op::PopJumpIfTrue(t) => {
                    let v = pop_top(&mut self.stack);
                    let truth = match v {
                        Value::Bool(b) => b,
                        other => self.truthy_slow(other)?,
                    };
                    if truth {
                        *ip = t.0 as usize;
                    }
                }
                Op::JumpIfFalseOrPop(t) => {
                    let truth = match self.stack.last() {
                        Some(Value::Bool(b)) => *b,
                        Some(Value::None) => false,
                        Some(Value::Int(i)) => *i != 0,
                        _ => {
                            let v = self.stack.last().cloned().unwrap_or_default();
                            self.truthy(&v)?
                        }
                    };
                    if !truth {
                        *ip = t.0 as usize;
                    } else {
                        self.pop();
                    }
                }
                Op::JumpIfTrueOrPop(t) => {
                    let truth = match self.stack.last() {
                        Some(Value::Bool(b)) => *b,
                        Some(Value::None) => false,
                        Some(Value::Int(i)) => *i != 0,
                        _ => {
                            let v = self.stack.last().cloned().unwrap_or_default();
                            self.truthy(&v)?
                        }
                    };
                    if truth {
                        *ip = t.0 as usize;
                    } else {
                        self.pop();
                    }
                }
                Op::GetIter => {
                    let v = pop_top(&mut self.stack);
                    let it = self.get_iter(&v)?;
                    self.push(it);
                }
                op @ (Op::ForIter(t) | Op::ForIterStore(t, _)) => {
                    // A generator resumes in place: its frame runs on this dispatch loop.
                    if let Some(Value::Gen(g)) = self.stack.last() {
                        if Self::can_resume_inline(g, true) && g.kind == super::gen::GenKind::Generator {
                            let g = g.clone();
                            self.resume_inline(&g, Value::None, ReturnMode::GenFor(g.clone(), t.0))?;
                            self.frames[fi].ip = *ip;
                            enter_top!();
                        }
                    }
                    // Fast paths for range and list iterators.
                    if let Some(Value::Iter(it)) = self.stack.last() {
                        let mut st = it.borrow_mut();
                        match &mut *st {
                            IterState::Range { next, stop, step } => {
                                let cur = *next;
                                if (*step > 0 && cur < *stop) || (*step < 0 && cur > *stop) {
                                    *next = cur.wrapping_add(*step);
                                    drop(st);
                                    if let Op::ForIterStore(_, s) = op {
                                        store_local(&mut self.stack, bp + s as usize, Value::Int(cur));
                                        *ip += 1;
                                    } else {
                                        push_with(&mut self.stack, || Value::Int(cur));
                                    }
                                } else {
                                    drop(st);
                                    self.stack.pop();
                                    *ip = t.0 as usize;
                                }
                                continue;
                            }
                            IterState::List { list, index } => {
                                let items = list.items.borrow();
                                if *index < items.len() {
                                    let at = *index;
                                    *index += 1;
                                    drop(items);
                                    let list = list.clone();
                                    drop(st);
                                    if let Op::ForIterStore(_, s) = op {
                                        let v = list.items.borrow()[at].clone();
                                        store_local(&mut self.stack, bp + s as usize, v);
                                        *ip += 1;
                                    } else {
                                        push_copy(&mut self.stack, &list.items.borrow()[at]);
                                    }
                                } else {
                                    drop(items);
                                    st.exhaust();
                                    drop(st);
                                    self.stack.pop();
                                    *ip = t.0 as usize;
                                }
                                continue;
                            }
                            _ => {}
                        }
                    }
                    let it = self.stack.last().cloned().unwrap_or_default();
                    match self.next(&it)? {
                        Some(v) => self.push(v),
                        None => {
                            self.stack.pop();
                            *ip = t.0 as usize;
                        }
                    }
                }
                op @ (Op::Return | Op::ReturnNone | Op::ReturnLocal(_)) => {
                    let v = match op {
                        Op::ReturnNone => Value::None,
                        Op::ReturnLocal(s) => {
                            let at = bp + s.0 as usize;
                            if self.stack[at].is_undef() {
                                return self.unbound_local(code, s.0 as u16);
                            }
                            // The frame ends: its local moves out.
                            std::mem::take(&mut self.stack[at])
                        }
                        _ => pop_top(&mut self.stack),
                    };
                    let idx = self.frames.len() - 1;
                    // The common return to a calling script frame: the frame is dropped where
                    // it lies, not moved out first.
                    if idx != base && matches!(self.frames[idx].ret, ReturnMode::Push) {
                        let (ret_sp, handled_base) = (self.frames[idx].ret_sp, self.frames[idx].handled_base);
                        self.frames.retire_top();
                        self.handled.truncate(handled_base);
                        self.stack.truncate(ret_sp);
                        if super::gen::finalizers_pending() {
                            self.run_finalizers();
                        }
                        self.stack.push(v);
                        enter_top!();
                    }
                    // `__init__` returning `None` to an instantiation: the instance is pushed.
                    if idx != base && v.is_none() && matches!(self.frames[idx].ret, ReturnMode::Init(_)) {
                        let (ret_sp, handled_base) = (self.frames[idx].ret_sp, self.frames[idx].handled_base);
                        let inst = match std::mem::replace(&mut self.frames[idx].ret, ReturnMode::Push) {
                            ReturnMode::Init(inst) => inst,
                            _ => Value::None,
                        };
                        self.frames.retire_top();
                        self.handled.truncate(handled_base);
                        self.stack.truncate(ret_sp);
                        if super::gen::finalizers_pending() {
                            self.run_finalizers();
                        }
                        push_value(&mut self.stack, inst);
                        enter_top!();
                    }
                    let f = self.frames.pop().expect("frame");
                    self.handled.truncate(f.handled_base);
                    self.stack.truncate(f.ret_sp);
                    if super::gen::finalizers_pending() {
                        self.run_finalizers();
                    }
                    if idx == base && !matches!(f.ret, ReturnMode::GenChain(..)) {
                        return Ok(Flow::Halt(Halt::Return(v)));
                    }
                    self.deliver(f.ret, v)?;
                    enter_top!();
                }
                Op::MakeFunction(flags) => {
                    let code = pop_top(&mut self.stack);
                    let closure = if flags & 4 != 0 { Some(pop_top(&mut self.stack)) } else { None };
                    let kwdefaults = if flags & 2 != 0 { Some(pop_top(&mut self.stack)) } else { None };
                    let defaults = if flags & 1 != 0 { Some(pop_top(&mut self.stack)) } else { None };
                    let globals = self.frames[fi].globals.clone();
                    let f = self.make_function(code, globals, defaults, kwdefaults, closure)?;
                    self.push(f);
                }
                Op::BuildTuple(n) => {
                    let at = self.stack.len() - n as usize;
                    let items: Vec<Value> = self.stack.drain(at..).collect();
                    self.stack.push(Value::tuple(items));
                }
                Op::BuildList(n) => {
                    let at = self.stack.len() - n as usize;
                    let items: Vec<Value> = self.stack.drain(at..).collect();
                    self.stack.push(Value::list(items));
                }
                Op::BuildSet(n) => {
                    let at = self.stack.len() - n as usize;
                    let items: Vec<Value> = self.stack.drain(at..).collect();
                    let s = self.new_set(items)?;
                    self.push(s);
                }
                Op::BuildMap(n) => {
                    let at = self.stack.len() - 2 * n as usize;
                    let items: Vec<Value> = self.stack.drain(at..).collect();
                    let d = self.new_dict_from_pairs(items)?;
                    self.push(d);
                }
                Op::BuildString(n) => {
                    let at = self.stack.len() - n as usize;
                    let len: usize =
                        self.stack[at..].iter().map(|v| if let Value::Str(p) = v { p.s.len() } else { 0 }).sum();
                    self.mem_charge(len)?;
                    let mut s = super::mem::string_with_capacity(len)?;
                    let mut chars = 0;
                    for v in self.stack.drain(at..) {
                        if let Value::Str(p) = v {
                            s.push_str(p.as_str());
                            chars += p.chars;
                        }
                    }
                    self.stack.push(Value::Str(Rc::new(super::value::Str::with_chars(s, chars))));
                }
                Op::ListAppend(depth) => {
                    let v = pop_top(&mut self.stack);
                    let n = self.stack.len();
                    if let Value::List(l) = &self.stack[n - depth as usize] {
                        self.mem_charge_push(l)?;
                        let mut items = l.items.borrow_mut();
                        super::mem::room_for_one(&mut items)?;
                        items.push(v);
                    }
                }
                Op::SetAdd(depth) => {
                    let v = pop_top(&mut self.stack);
                    let n = self.stack.len();
                    let set = self.stack[n - depth as usize].clone();
                    self.set_add(&set, v)?;
                }
                Op::MapAdd(depth) => {
                    let v = pop_top(&mut self.stack);
                    let k = pop_top(&mut self.stack);
                    let n = self.stack.len();
                    let d = self.stack[n - depth as usize].clone();
                    self.set_item(&d, k, v)?;
                }
                Op::ListExtend => {
                    let it = pop_top(&mut self.stack);
                    let list = self.stack.last().cloned().unwrap_or_default();
                    // `[*xs]`, `f(*xs)` from a list or tuple: cloned straight into the new
                    // list, with no intermediate copy (100k tasks to `gather(*tasks)` would
                    // otherwise hold their references three times at once).
                    if let Value::List(dst) = &list {
                        let src = match &it {
                            Value::List(s) if !Rc::ptr_eq(s, dst) => Some(s.items.borrow()),
                            _ => None,
                        };
                        let src: Option<&[Value]> = match (&it, &src) {
                            (Value::Tuple(t), _) => Some(t),
                            (_, Some(items)) => Some(items),
                            _ => None,
                        };
                        if let Some(src) = src {
                            self.mem_charge(std::mem::size_of_val(src))?;
                            let mut d = dst.items.borrow_mut();
                            super::mem::reserve(&mut d, src.len())?;
                            d.extend_from_slice(src);
                            continue;
                        }
                    }
                    let items = self.collect(&it).map_err(|e| self.star_arg_error(e, &it, None))?;
                    self.mem_charge(items.len() * std::mem::size_of::<Value>())?;
                    if let Value::List(l) = list {
                        l.items.borrow_mut().extend(items);
                    }
                }
                Op::SetUpdate => {
                    let it = pop_top(&mut self.stack);
                    let set = self.stack.last().cloned().unwrap_or_default();
                    for v in self.collect(&it)? {
                        self.set_add(&set, v)?;
                    }
                }
                Op::DictUpdate => {
                    let m = pop_top(&mut self.stack);
                    let d = self.stack.last().cloned().unwrap_or_default();
                    self.dict_display_update(&d, &m)?;
                }
                Op::DictMerge => {
                    // Stack: callee, positional list, keyword dict (see `compile_call`).
                    let m = pop_top(&mut self.stack);
                    let n = self.stack.len();
                    let d = self.stack.last().cloned().unwrap_or_default();
                    let f = n.checked_sub(3).and_then(|i| self.stack.get(i)).cloned().unwrap_or_default();
                    self.merge_call_kwargs(&f, &d, &m)?;
                }
                Op::ListToTuple => {
                    if let Some(Value::List(l)) = self.stack.pop() {
                        let items = std::mem::take(&mut *l.items.borrow_mut());
                        self.stack.push(Value::tuple(items));
                    }
                }
                Op::UnpackSequence(n) => {
                    let v = pop_top(&mut self.stack);
                    let items = self.unpack(&v, n as usize)?;
                    self.stack.extend(items.into_iter().rev());
                }
                Op::UnpackEx { before, after } => {
                    let v = pop_top(&mut self.stack);
                    let items = self.collect(&v).map_err(|e| self.unpack_iter_error(e, &v))?;
                    let (b, a) = (before as usize, after as usize);
                    if items.len() < b + a {
                        return Err(Exc::value_error(format!(
                            "not enough values to unpack (expected at least {}, got {})",
                            b + a,
                            items.len()
                        )));
                    }
                    let mut items = items;
                    let tail: Vec<Value> = items.split_off(items.len() - a);
                    let middle: Vec<Value> = items.split_off(b);
                    for v in tail.into_iter().rev() {
                        self.stack.push(v);
                    }
                    self.stack.push(Value::list(middle));
                    for v in items.into_iter().rev() {
                        self.stack.push(v);
                    }
                }
                Op::FormatValue(flags) => {
                    let spec = if flags & 4 != 0 { Some(pop_top(&mut self.stack)) } else { None };
                    let v = pop_top(&mut self.stack);
                    let v = match flags & 3 {
                        1 => Value::string(self.str_of(&v)?),
                        2 => Value::string(self.repr(&v)?),
                        3 => Value::string(super::ops::ascii_escape(&self.repr(&v)?)),
                        _ => v,
                    };
                    let s = match (&v, &spec) {
                        (Value::Str(_), None) => v,
                        // `format(i, '')` is `str(i)`: skip the format-spec machinery.
                        (Value::Int(i), None) => Value::int_str(*i),
                        _ => {
                            let spec_s = match &spec {
                                Some(Value::Str(s)) => s.as_str().to_string(),
                                _ => String::new(),
                            };
                            Value::string(self.format(&v, &spec_s)?)
                        }
                    };
                    self.push(s);
                }
                Op::SetupHandler(t) => {
                    let depth = (self.stack.len() - bp) as u32;
                    self.frames[fi].handlers.push(Handler { target: t.0, depth });
                }
                Op::SetupWith(t) => {
                    let depth = (self.stack.len() - bp) as u32 - 1;
                    self.frames[fi].handlers.push(Handler { target: t.0, depth });
                }
                Op::PopBlock => {
                    self.frames[fi].handlers.pop();
                }
                Op::Raise(n) => return Err(self.raise_op(n)?),
                Op::Reraise => {
                    let e = pop_top(&mut self.stack);
                    self.reraising = true;
                    return Err(self.exc_from_value(e)?);
                }
                Op::PushExcInfo => {
                    let e = self.stack.last().cloned().unwrap_or_default();
                    self.handled.push(e);
                }
                Op::PopExcept => {
                    self.handled.pop();
                }
                Op::CheckExcMatch => {
                    let cls = pop_top(&mut self.stack);
                    let e = self.stack.last().cloned().unwrap_or_default();
                    let m = self.exception_matches(&e, &cls)?;
                    self.push(Value::Bool(m));
                }
                Op::CheckEgMatch => {
                    let cls = pop_top(&mut self.stack);
                    let eg = pop_top(&mut self.stack);
                    let (rest, matched) = self.split_exception_group(&eg, &cls)?;
                    self.stack.push(rest);
                    self.stack.push(matched);
                }
                Op::PrepReraiseStar => {
                    let list = pop_top(&mut self.stack);
                    let orig = pop_top(&mut self.stack);
                    let v = self.prep_reraise_star(&orig, &list)?;
                    self.push(v);
                }
                Op::BeforeWith => {
                    let mgr = pop_top(&mut self.stack);
                    let (exit, res) = self.before_with(mgr)?;
                    self.stack.push(exit);
                    self.stack.push(res);
                }
                Op::WithExceptStart => {
                    let n = self.stack.len();
                    let exit = self.stack[n - 2].clone();
                    let e = self.stack[n - 1].clone();
                    let r = self.call_exit_with_exception(&exit, &e)?;
                    self.push(r);
                }
                Op::BeforeAsyncWith => {
                    let mgr = pop_top(&mut self.stack);
                    let (exit, aw) = self.before_async_with(mgr)?;
                    self.stack.push(exit);
                    self.stack.push(aw);
                }
                Op::LoadAssertionError => {
                    let c = Value::Class(self.exc_types[ExcKind::AssertionError as usize].clone());
                    self.push(c);
                }
                Op::ImportName(n) => {
                    let name = code.names[n.0 as usize];
                    let m = self.import_module(name)?;
                    self.push(m);
                }
                Op::ImportFrom(n) => {
                    let name = code.names[n.0 as usize];
                    let m = self.stack.last().cloned().unwrap_or_default();
                    let v = self.import_from(&m, name)?;
                    self.push(v);
                }
                Op::ImportStar => {
                    let m = pop_top(&mut self.stack);
                    self.import_star(&m)?;
                }
                Op::LoadBuildClass => {
                    let v = self.builtins.get(Sym::new("__build_class__")).unwrap_or_default();
                    self.push(v);
                }
                Op::YieldValue => {
                    let v = pop_top(&mut self.stack);
                    if matches!(self.frames[fi].ret, ReturnMode::GenFor(..) | ReturnMode::GenSend(..)) {
                        self.suspend_inline(*ip, v);
                        enter_top!();
                    }
                    if matches!(self.frames[fi].ret, ReturnMode::GenAsend(..) | ReturnMode::GenChain(..)) {
                        return Ok(self.yield_in_place(code, at, *ip, v));
                    }
                    if self.frames.len() - 1 != base {
                        return Err(Exc::runtime_error("yield outside of a generator frame"));
                    }
                    return Ok(Flow::Halt(Halt::Yield(v)));
                }
                Op::AsyncGenWrap => {
                    // Resumed in place by an `asend` awaitable, the `YieldValue` after this
                    // knows the yield is the generator's own: no wrapper is needed.
                    if !matches!(self.frames[fi].ret, ReturnMode::GenAsend(..)) {
                        let v = pop_top(&mut self.stack);
                        self.stack.push(super::gen::wrap_async_gen_value(v));
                    }
                }
                Op::Send(t) => {
                    let v = pop_top(&mut self.stack);
                    if let Some(Value::Gen(g)) = self.stack.last() {
                        if Self::can_resume_inline(g, v.is_none()) {
                            let g = g.clone();
                            self.delegate_inline(&g, v, t.0, *ip)?;
                            // The frame at `fi` may now be the sub-generator's: keep its `ip`.
                            if let Some(f) = self.frames.get(fi) {
                                *ip = f.ip;
                            }
                            return Ok(Flow::Switch);
                        }
                    }
                    // `async for` (`GetAnext`, `GetAwaitable`, `LoadConst`, `Send`) over an
                    // async generator runs it in place.
                    let after_anext = at >= 3 && matches!(code.ops[at - 3], Op::GetAnext);
                    if let Some((g, sent)) =
                        self.stack.last().filter(|_| after_anext).and_then(|s| super::asyncgen::inline_step(s, &v))
                    {
                        self.resume_async_inline(&g, sent, t.0)?;
                        return Ok(Flow::Switch);
                    }
                    let sub = self.stack.last().cloned().unwrap_or_default();
                    match self.send_to(&sub, v)? {
                        GenResult::Yield(y) => self.push(y),
                        GenResult::Return(r) => {
                            self.stack.pop();
                            self.stack.push(r);
                            *ip = t.0 as usize;
                            // Skip the YieldValue + Jump that follow the Send.
                        }
                    }
                }
                Op::GetAwaitable => {
                    let v = pop_top(&mut self.stack);
                    let a = self.get_awaitable(v)?;
                    self.push(a);
                }
                Op::GetYieldFromIter => {
                    let v = pop_top(&mut self.stack);
                    let it = self.get_yield_from_iter(v)?;
                    self.push(it);
                }
                Op::GetAiter => {
                    let v = pop_top(&mut self.stack);
                    let it = self.get_aiter(v)?;
                    self.push(it);
                }
                Op::GetAnext => {
                    let it = self.stack.last().cloned().unwrap_or_default();
                    let aw = self.get_anext_awaitable(&it)?;
                    // `async for` over an async generator: the `GetAwaitable` (nothing to do
                    // on its step), `LoadConst None` and `Send` that follow are done here,
                    // resuming the generator in place.
                    if let Some(exit) = anext_send_exit(code, *ip) {
                        if let Some((g, sent)) = super::asyncgen::inline_step(&aw, &Value::None) {
                            self.push(aw);
                            *ip += 3;
                            self.resume_async_inline(&g, sent, exit)?;
                            return Ok(Flow::Switch);
                        }
                    }
                    self.push(aw);
                }
                Op::EndAsyncFor => {
                    let e = pop_top(&mut self.stack);
                    self.stack.pop();
                    let stop = Value::Class(self.exc_class(ExcKind::StopAsyncIteration).clone());
                    if !self.exception_matches(&e, &stop)? {
                        self.reraising = true;
                        return Err(self.exc_from_value(e)?);
                    }
                    self.handled_pop_if(&e);
                }
                Op::PrintExpr => {
                    let v = pop_top(&mut self.stack);
                    if !v.is_none() {
                        let r = self.repr(&v)?;
                        self.write_stdout(&r);
                        self.write_stdout("\n");
                        self.builtins.set(self.syms.underscore, v);
                    }
                }
                Op::Unreachable => return Err(Exc::runtime_error("unreachable instruction")),
            }
        }
    }

    /// Pops two operands, compares them and returns the truth of the result.
    #[inline(never)]
    fn compare_truth_slow(&mut self, kind: crate::bytecode::CmpKind) -> Res<bool> {
        let b = pop_top(&mut self.stack);
        let a = pop_top(&mut self.stack);
        let v = self.compare(kind, &a, &b)?;
        match v {
            Value::Bool(b) => Ok(b),
            other => self.truthy(&other),
        }
    }

    #[cold]
    #[inline(never)]
    fn unbound_local(&self, code: &Code, slot: u16) -> Res<Flow> {
        let name = code.varnames[slot as usize];
        Err(Exc::new(
            ExcKind::UnboundLocalError,
            format!("cannot access local variable '{name}' where it is not associated with a value"),
        ))
    }

    /// `a op b` on the two values on top of the stack when both are numbers and the result
    /// needs no error (see `ops::int_arith`, `ops::float_arith`): the result replaces them
    /// and the answer is true.
    #[inline(always)]
    fn binary_fast(&mut self, bop: crate::ast::BinOp) -> bool {
        let n = self.stack.len();
        let (a, b) = (&self.stack[n - 2], &self.stack[n - 1]);
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            if let Some(r) = super::ops::int_arith(bop, *x, *y) {
                // Both operands are immediates: overwrite without dropping.
                std::mem::forget(self.stack.pop());
                std::mem::forget(std::mem::replace(&mut self.stack[n - 2], Value::Int(r)));
                return true;
            }
        }
        if let Some(r) = super::ops::float_arith(bop, a, b) {
            std::mem::forget(self.stack.pop());
            std::mem::forget(std::mem::replace(&mut self.stack[n - 2], Value::Float(r)));
            return true;
        }
        false
    }

    /// `LoadFast`: pushes local `slot` of the frame at `bp`, or raises `UnboundLocalError`.
    #[inline(always)]
    fn push_local(&mut self, code: &Code, bp: usize, slot: usize) -> Res<()> {
        if self.stack[bp + slot].is_undef() {
            self.unbound_local(code, slot as u16)?;
        }
        push_copy_of(&mut self.stack, bp + slot);
        Ok(())
    }

    #[inline(never)]
    fn truthy_slow(&mut self, v: Value) -> Res<bool> {
        self.truthy(&v)
    }

    #[inline(never)]
    fn unbound_cell(&self, idx: u32) -> Exc {
        let name = self.cell_name(idx);
        let frame = self.frames.last().expect("frame");
        if (idx as usize) < frame.code.cellvars.len() {
            Exc::new(
                ExcKind::UnboundLocalError,
                format!("cannot access local variable '{name}' where it is not associated with a value"),
            )
        } else {
            Exc::new(
                ExcKind::NameError,
                format!(
                    "cannot access free variable '{name}' where it is not associated with a value in enclosing scope"
                ),
            )
        }
    }

    fn cell_name(&self, idx: u32) -> Sym {
        let code = &self.frames.last().expect("frame").code;
        let i = idx as usize;
        if i < code.cellvars.len() {
            code.cellvars[i]
        } else {
            code.freevars[i - code.cellvars.len()]
        }
    }

    fn handled_pop_if(&mut self, e: &Value) {
        if self.handled.last().is_some_and(|h| h.is(e)) {
            self.handled.pop();
        }
    }

    fn load_name(&mut self, name: Sym) -> Res<Value> {
        let frame = self.frames.last().expect("frame");
        if let Some(ns) = frame.namespace.clone() {
            if let Some(v) = self.dict_get_str_key(&ns, name) {
                return Ok(v);
            }
        }
        let frame = self.frames.last().expect("frame");
        if let Some(v) = frame.globals.get(name) {
            return Ok(v);
        }
        if let Some(v) = self.builtins.get(name) {
            return Ok(v);
        }
        Err(Exc::new(ExcKind::NameError, format!("name '{name}' is not defined")))
    }

    fn store_name(&mut self, name: Sym, v: Value) -> Res<()> {
        let frame = self.frames.last().expect("frame");
        match frame.namespace.clone() {
            Some(ns) => {
                let key = Value::Str(Rc::new(super::value::Str::new(&*name.as_rc())));
                self.set_item(&Value::Dict(ns), key, v)
            }
            None => {
                frame.globals.set(name, v);
                Ok(())
            }
        }
    }

    fn delete_name(&mut self, name: Sym) -> Res<()> {
        let frame = self.frames.last().expect("frame");
        match frame.namespace.clone() {
            Some(ns) => {
                let key = Value::Str(Rc::new(super::value::Str::new(&*name.as_rc())));
                self.del_item(&Value::Dict(ns), &key)
                    .map_err(|_| Exc::new(ExcKind::NameError, format!("name '{name}' is not defined")))
            }
            None => {
                if frame.globals.remove(name).is_none() {
                    return Err(Exc::new(ExcKind::NameError, format!("name '{name}' is not defined")));
                }
                Ok(())
            }
        }
    }

    /// Builds the exception for a `raise` instruction.
    fn raise_op(&mut self, n: u32) -> Res<Exc> {
        match n {
            0 => match self.handled.last().cloned() {
                Some(e) => {
                    self.reraising = true;
                    self.exc_from_value(e)
                }
                None => Ok(Exc::runtime_error("No active exception to reraise")),
            },
            1 => {
                let e = self.pop();
                self.exc_from_value(e)
            }
            _ => {
                let cause = self.pop();
                let e = self.pop();
                // The raised value is checked before its cause, as in CPython.
                let exc = self.exc_from_value(e)?;
                if !matches!(exc, Exc::Obj(_)) {
                    return Ok(exc);
                }
                let inst = self.materialize(exc);
                let cause = match cause {
                    Value::None => Value::None,
                    c => match self.exc_from_value(c)? {
                        Exc::Obj(i) => Value::Instance(i),
                        _ => return Ok(Exc::type_error("exception causes must derive from BaseException")),
                    },
                };
                inst.set_attr(self.syms.cause, cause);
                inst.set_attr(self.syms.suppress_context, Value::Bool(true));
                Ok(Exc::Obj(inst))
            }
        }
    }

    /// Converts a raised value (an exception instance or class) into an `Exc`.
    pub(crate) fn exc_from_value(&mut self, v: Value) -> Res<Exc> {
        match v {
            Value::Instance(i) if i.class.is_subclass(self.exc_class(ExcKind::BaseException)) => Ok(Exc::Obj(i)),
            Value::Class(c) if c.is_subclass(self.exc_class(ExcKind::BaseException)) => {
                let inst = self.call(&Value::Class(c), vec![])?;
                match inst {
                    Value::Instance(i) => Ok(Exc::Obj(i)),
                    _ => Ok(Exc::type_error("exceptions must derive from BaseException")),
                }
            }
            _ => Ok(Exc::type_error("exceptions must derive from BaseException")),
        }
    }
}

/// Appends a traceback entry to an exception object.
fn add_trace(inst: &Rc<super::value::Instance>, entry: TraceEntry, key: Sym) {
    if let Some(Value::Other(o)) = inst.get_attr(key) {
        if let Some(tb) = o.as_any().downcast_ref::<Traceback>() {
            tb.entries.borrow_mut().push(entry);
            return;
        }
    }
    let tb = Traceback { entries: std::cell::RefCell::new(vec![entry]) };
    inst.set_attr(key, Value::Other(Rc::new(tb)));
}

/// For a `GetAnext` whose next instruction is at `ip`: when the three after it are the
/// `async for` step (`GetAwaitable`, `LoadConst None`, `Send`), the exit of that `Send`.
#[inline]
fn anext_send_exit(code: &Code, ip: usize) -> Option<u32> {
    match code.ops.get(ip..ip + 3)? {
        [Op::GetAwaitable, Op::LoadConst(k), Op::Send(t)]
            if matches!(code.consts.get(k.0 as usize), Some(Value::None)) =>
        {
            Some(t.0)
        }
        _ => None,
    }
}
