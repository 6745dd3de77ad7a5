//! Green calls: a plain script function run so that a blocking native it calls directly
//! (`time.sleep`, a file read, a name lookup) can *suspend the whole call* — every frame the
//! function pushed — while the blocking work runs on a worker thread. The event loop resumes
//! the call with the native's result later, and other tasks run meanwhile. This is how
//! `asyncio.to_thread(script_function)` overlaps blocking work although the VM itself is
//! single-threaded.
//!
//! A native may suspend only when it was called *directly by the dispatch loop of the green
//! run* (no native frame in between whose Rust state would be lost): [`Vm::may_suspend`]
//! compares the VM's nesting counters with the ones recorded when the green run started.
//! Anywhere else the native simply blocks, which is still correct.

use super::frame::Frame;
use super::interp::Halt;
use super::value::Value;
use super::{Exc, Res, Sym, Vm};
use std::cell::Cell;

thread_local! {
    /// `(native_depth, native_calls)` at which a native call may suspend, while a green run
    /// (or a direct offloading call) is active.
    static SUSPEND_AT: Cell<Option<(usize, u32)>> = const { Cell::new(None) };
    /// Set by a native that suspends; the unwinder then leaves the frames in place.
    static SUSPENDING: Cell<bool> = const { Cell::new(false) };
}

/// True while a suspension is travelling from a native to its green driver (checked by the
/// unwinder, which must not run handlers for it).
#[inline]
pub(crate) fn suspending() -> bool {
    SUSPENDING.with(|s| s.get())
}

/// The frames (and their values and handled exceptions) of a suspended green call, with
/// stack indices relative to the call's own base.
pub struct GreenFrames {
    frames: Vec<Frame>,
    values: Vec<Value>,
    handled: Vec<Value>,
}

/// How one run of a green call ended.
pub enum GreenStep {
    /// The function returned.
    Done(Value),
    /// A native suspended it; resume with [`Vm::green_resume`] once the native's work is done.
    Suspended(GreenFrames),
}

impl Vm {
    /// True when a native being called now may suspend (see the module comment).
    pub fn may_suspend(&self) -> bool {
        SUSPEND_AT.with(|s| s.get()) == Some((self.depth.native(), self.native_calls))
    }

    /// Marks the current native call as suspending and returns the error it must return;
    /// only valid when [`Vm::may_suspend`] is true.
    pub fn suspend(&self) -> Exc {
        SUSPENDING.with(|s| s.set(true));
        Exc::runtime_error("a green call was suspended outside its driver")
    }

    /// Calls `f(*args, **kw)` as a green call: a script function runs with suspension
    /// allowed in its own frames; any other callable is called directly with suspension
    /// allowed in that one call (a blocking native handed straight to `to_thread`).
    pub fn green_call(&mut self, f: &Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Res<GreenStep> {
        let (func, args) = match f {
            Value::Function(func) => (func.clone(), args),
            Value::BoundMethod(m) if matches!(m.func, Value::Function(_)) => {
                let Value::Function(func) = &m.func else { unreachable!("matched above") };
                let mut a = Vec::with_capacity(args.len() + 1);
                a.push(m.receiver.clone());
                a.extend(args);
                (func.clone(), a)
            }
            _ => {
                let prev = SUSPEND_AT.with(|s| s.replace(Some((self.depth.native(), self.native_calls + 1))));
                let r = self.call_kw(f, args, kw);
                SUSPEND_AT.with(|s| s.set(prev));
                return match r {
                    Err(_) if SUSPENDING.with(|s| s.replace(false)) => Ok(GreenStep::Suspended(GreenFrames {
                        frames: Vec::new(),
                        values: Vec::new(),
                        handled: Vec::new(),
                    })),
                    r => r.map(GreenStep::Done),
                };
            }
        };
        let flags = &func.code.flags;
        if flags.generator || flags.coroutine || flags.async_generator {
            // Calling it only makes the generator or coroutine object, as on a thread.
            return self.call_kw(&Value::Function(func), args, kw).map(GreenStep::Done);
        }
        let frame = self.bind_frame(&func, args, kw, super::frame::ReturnMode::Push)?;
        self.check_depth()?;
        let base = self.frames.len();
        self.push_detached(frame);
        self.green_run(base, None)
    }

    /// Resumes a suspended green call: `input` is the result of the native that suspended it
    /// (pushed as that call's value) or its exception (raised at the call).
    pub fn green_resume(&mut self, g: GreenFrames, input: Res<Value>) -> Res<GreenStep> {
        if g.frames.is_empty() {
            return input.map(GreenStep::Done);
        }
        let base = self.frames.len();
        let start = self.stack.len();
        let hstart = self.handled.len();
        for mut f in g.frames {
            f.base += start;
            f.ret_sp += start;
            f.handled_base += hstart;
            self.frames.push(f);
        }
        self.stack.extend(g.values);
        self.handled.extend(g.handled);
        match input {
            Ok(v) => {
                self.stack.push(v);
                self.green_run(base, None)
            }
            Err(e) => self.green_run(base, Some(e)),
        }
    }

    /// Runs the green frames from `base` until they return, raise or suspend.
    fn green_run(&mut self, base: usize, exc: Option<Exc>) -> Res<GreenStep> {
        self.depth.enter_native();
        let prev = SUSPEND_AT.with(|s| s.replace(Some((self.depth.native(), self.native_calls))));
        let r = match exc {
            Some(e) => self.run_with_exception(base, e),
            None => self.run(base),
        };
        SUSPEND_AT.with(|s| s.set(prev));
        self.depth.leave_native();
        match r {
            Ok(Halt::Return(v)) => Ok(GreenStep::Done(v)),
            Ok(Halt::Yield(_)) => {
                if let Some(f) = self.frames.pop() {
                    self.stack.truncate(f.ret_sp);
                }
                self.frames.truncate(base);
                Err(Exc::runtime_error("yield from a frame that is not a generator"))
            }
            Err(e) => {
                if !SUSPENDING.with(|s| s.replace(false)) {
                    return Err(e);
                }
                let Some(first) = self.frames.get(base) else { return Err(e) };
                let start = first.ret_sp;
                let hstart = first.handled_base.min(self.handled.len());
                let mut frames: Vec<Frame> = self.frames.drain_from(base);
                for f in &mut frames {
                    f.base -= start;
                    f.ret_sp -= start;
                    f.handled_base = f.handled_base.saturating_sub(hstart);
                }
                let values = self.stack.drain(start..).collect();
                let handled = self.handled.drain(hstart..).collect();
                Ok(GreenStep::Suspended(GreenFrames { frames, values, handled }))
            }
        }
    }
}
