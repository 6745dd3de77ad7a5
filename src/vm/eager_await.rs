//! Eager awaits: `await obj.method(args)` of a native coroutine method that can finish at
//! once, without creating the coroutine.
//!
//! `await q.put(x)`, `await q.get()`, `await lock.acquire()` ... compile to
//! `CallMethod`, `GetAwaitable`, `LoadConst None`, `Send`. When the method is a native
//! registered here and its *eager* form says the operation completes on the first step
//! (an uncontended lock, a queue with room or items), `CallMethod` runs that form on the
//! arguments in place and jumps past the `Send` with the result, as if the coroutine had
//! been created, awaited and had returned at once. Nothing a script can observe differs:
//! the coroutine would have been unreachable garbage, and a first step that returns never
//! suspends the task (so it is no cancellation point in CPython either).
//!
//! An eager form must decline (return `None`) without any side effect whenever it cannot
//! finish the operation as the coroutine's first step would (contention, a subclass
//! overriding a hook, unusual arguments, anything that would raise or call script code);
//! the ordinary call then runs.
//!
//! A second kind, the *yield-once* form, is for a native coroutine function whose
//! coroutine yields `None` to the task once and then returns `None` (`asyncio.sleep(0)`,
//! CPython's `__sleep0()`): when the form accepts the arguments, `CallMethod` leaves a
//! shared stand-in for that coroutine *after* its yield on the stack and continues at the
//! `YieldValue` after the `Send`, exactly where the `Send` would have gone on getting
//! `None` from the coroutine's first step. The task resumes the frame; the `Send` then
//! gets `None` back from the stand-in (a `throw` is raised again, as by the coroutine at
//! its `yield`). No coroutine object is created, so none is dropped unawaited.

use super::value::{NativeFn, Value};
use super::Vm;
use crate::bytecode::{Code, Op};

/// The eager form of a native coroutine method: given the VM and the stack index of the
/// receiver (the arguments follow it up to the top of the stack), the coroutine's return
/// value when it would return on its first step, else `None` with nothing changed.
pub type EagerAwait = fn(&mut Vm, usize) -> Option<Value>;

/// The yield-once form of a native coroutine function (see the module documentation):
/// given the VM, the stack index of the first argument and the argument count, true when
/// the call would make the coroutine that yields `None` once and returns `None`.
pub type EagerYield = fn(&Vm, usize, usize) -> bool;

/// A registered form.
#[derive(Clone, Copy)]
enum Eager {
    /// Finishes on the first step (methods: the receiver is at the stack index given).
    Finish(EagerAwait),
    /// Yields `None` once, then returns `None`.
    YieldOnce(EagerYield),
}

/// Slots of [`EagerAwaits`]' direct-mapped table.
const SLOTS: usize = 16;

/// The registered eager forms, by the address of their native: a direct-mapped table
/// (one compare per lookup) and a list for natives whose slot is taken.
#[derive(Default)]
pub(crate) struct EagerAwaits {
    table: [Option<(NativeFn, Eager)>; SLOTS],
    more: Vec<(NativeFn, Eager)>,
    /// The stand-in a yield-once form leaves on the stack: a coroutine that has yielded
    /// and returns `None` when resumed.
    resumed: Value,
}

impl EagerAwaits {
    #[inline(always)]
    fn slot(f: NativeFn) -> usize {
        (f as usize >> 4) % SLOTS
    }

    /// The eager form of `f`, if one is registered.
    #[inline(always)]
    fn get(&self, f: NativeFn) -> Option<Eager> {
        match &self.table[Self::slot(f)] {
            Some((g, e)) if std::ptr::fn_addr_eq(*g, f) => Some(*e),
            Some(_) if !self.more.is_empty() => {
                self.more.iter().find(|(g, _)| std::ptr::fn_addr_eq(*g, f)).map(|p| p.1)
            }
            _ => None,
        }
    }
}

impl Vm {
    /// Registers `eager` as the eager form of the native method `f`.
    pub fn register_eager_await(&mut self, f: NativeFn, eager: EagerAwait) {
        self.register_eager(f, Eager::Finish(eager));
    }

    /// Registers `form` as the yield-once form of the native function `f` (see the module
    /// documentation); `resumed` is the stand-in coroutine left on the stack.
    pub fn register_eager_yield_once(&mut self, f: NativeFn, form: EagerYield, resumed: Value) {
        self.eager_awaits.resumed = resumed;
        self.register_eager(f, Eager::YieldOnce(form));
    }

    fn register_eager(&mut self, f: NativeFn, eager: Eager) {
        let t = &mut self.eager_awaits;
        match &mut t.table[EagerAwaits::slot(f)] {
            Some((g, e)) if std::ptr::fn_addr_eq(*g, f) => *e = eager,
            Some(_) => t.more.push((f, eager)),
            free => *free = Some((f, eager)),
        }
    }

    /// At a `CallMethod` whose receiver is at `self_at`, followed at `ip` by
    /// `GetAwaitable`, `LoadConst None`, `Send(t)`: runs the callee's eager form and, when
    /// it finishes, replaces the callee and arguments with the result and gives `t`, where
    /// the await continues (for a yield-once form: replaces them with the stand-in and
    /// `None`, and gives the `YieldValue` after the `Send`).
    #[inline(never)]
    pub(crate) fn eager_await(&mut self, code: &Code, ip: usize, self_at: usize) -> Option<usize> {
        let Value::Native(f) = &self.stack[self_at - 1] else { return None };
        if f.receiver.is_some() {
            return None;
        }
        let eager = self.eager_awaits.get(f.func)?;
        let (Some(Op::LoadConst(k)), Some(Op::Send(t))) = (code.ops.get(ip + 1), code.ops.get(ip + 2)) else {
            return None;
        };
        if !code.consts[k.0 as usize].is_none() {
            return None;
        }
        match eager {
            Eager::Finish(eager) => {
                if self.stack[self_at].is_undef() {
                    return None;
                }
                let v = eager(self, self_at)?;
                self.stack.truncate(self_at - 1);
                self.stack.push(v);
                Some(t.0 as usize)
            }
            Eager::YieldOnce(form) => {
                if !matches!(code.ops.get(ip + 3), Some(Op::YieldValue)) {
                    return None;
                }
                // A module function has no receiver: its arguments follow the `Undef`.
                let args_at = if self.stack[self_at].is_undef() { self_at + 1 } else { self_at };
                if !form(self, args_at, self.stack.len() - args_at) {
                    return None;
                }
                self.stack.truncate(self_at - 1);
                self.stack.push(self.eager_awaits.resumed.clone());
                self.stack.push(Value::None);
                Some(ip + 3)
            }
        }
    }
}
