//! The embedding API: aio inside other Rust programs.
//!
//! An [`Engine`](crate::Engine) is one interpreter: a VM, the standard modules, and an
//! event loop of its own. A host builds one with [`Builder`] options (sandbox switches,
//! limits, where output goes), runs code in it ([`Engine::exec`](crate::Engine::exec),
//! [`Engine::eval`](crate::Engine::eval), [`Engine::exec_file`](crate::Engine::exec_file)),
//! reads and sets globals, calls script functions with Rust arguments
//! ([`Engine::call`](crate::Engine::call), [`Engine::call_async`](crate::Engine::call_async)),
//! and gives scripts Rust functions ([`function`]), classes ([`class`]), modules
//! ([`module`]) and async functions backed by Rust futures ([`async_host`]). Values cross
//! the boundary through [`ToValue`] and [`FromValue`] ([`convert`]).
//!
//! The host keeps control: it can drive the event loop a step or a time slice at a time
//! ([`Engine::step`](crate::Engine::step), [`Engine::run_for`](crate::Engine::run_for)),
//! stop a run from another thread ([`StopHandle`]), capture output, leave out outside
//! access ([`sandbox`]) and bound a run's instructions, time, memory, recursion and tasks
//! ([`limits`], [`memory`]). Errors are [`Error`]s whose `Display` is the CLI's report.
//!
//! An engine is not `Send` (values are reference counted without atomics): use one per
//! thread; engines on different threads, or several on one thread, are independent.
//!
//! ```
//! let mut engine = aio::Engine::builder().capture_output().build();
//! engine.register_fn("shout", |s: String| s.to_uppercase());
//! engine.exec("def greet(name):\n    print(shout('hello'), name)\n    return len(name)").unwrap();
//! let n: usize = engine.call("greet", ("ada",)).unwrap();
//! assert_eq!(n, 3);
//! assert_eq!(engine.take_stdout(), "HELLO ada\n");
//! ```

mod api;
pub mod async_host;
mod builder;
pub mod class;
pub mod convert;
mod error;
pub mod function;
pub mod limits;
pub mod memory;
pub mod module;
pub mod sandbox;

pub use api::{LoopStatus, Task};
pub use async_host::{thread_future, Completer};
pub use builder::Builder;
pub use class::{ClassBuilder, HostMethod, New, Object};
pub use convert::{Bytes, FromValue, IntoArgs, ToValue};
pub use error::{Error, ScriptError};
pub use function::{HostFn, WithVm};
pub use limits::{Limit, Limits, CLEANUP_TICKS, TICK_SLICE};
pub use module::ModuleBuilder;
pub use sandbox::{Capabilities, Capability};

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The embedding API's per-VM state (a field of [`crate::vm::Vm`]): sandbox switches,
/// limits and their counters, registered host classes.
pub struct HostState {
    /// Where the host's stack was when the current call into the engine began (0 outside
    /// calls: then no stack check applies).
    pub(crate) stack_base: Cell<usize>,
    /// How much stack below `stack_base` nested native code may use.
    pub(crate) stack_size: Cell<usize>,
    /// What the script may reach outside the VM.
    pub(crate) caps: Cell<Capabilities>,
    /// Limits and their counters.
    pub(crate) gov: limits::Governor,
    /// Host classes by Rust type.
    pub(crate) classes: RefCell<rustc_hash::FxHashMap<std::any::TypeId, Rc<class::ClassInfo>>>,
}

/// The stack a VM may use by default on the host's thread (see [`Builder::stack_size`]):
/// safe on a 2 MiB thread, Rust's default for spawned threads.
pub const DEFAULT_STACK_SIZE: usize = 1 << 20;

impl Default for HostState {
    fn default() -> Self {
        HostState {
            stack_base: Cell::new(0),
            stack_size: Cell::new(DEFAULT_STACK_SIZE),
            caps: Cell::default(),
            gov: limits::Governor::default(),
            classes: RefCell::default(),
        }
    }
}

/// Stops an engine's runs from any thread: the running script ends at its next tick (or
/// its current wait) with [`Limit::Stopped`]. A stop requested while the engine is not
/// running stops its next call at once; the request is cleared when a call ends because
/// of it.
///
/// ```
/// use std::time::Duration;
///
/// let mut engine = aio::Engine::new();
/// let stop = engine.stop_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(50));
///     stop.stop();
/// });
/// let err = engine.exec("while True:\n    pass").unwrap_err();
/// assert_eq!(err.limit(), Some(aio::embed::Limit::Stopped));
/// assert_eq!(engine.eval::<i64>("1 + 1").unwrap(), 2); // the engine goes on
/// ```
#[derive(Clone)]
pub struct StopHandle {
    shared: Arc<limits::StopShared>,
}

impl StopHandle {
    /// Requests the stop (and wakes the engine's loop if it is waiting).
    pub fn stop(&self) {
        self.shared.requested.store(true, Ordering::Relaxed);
        let w = self.shared.waker.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(w) = w {
            w.wake();
        }
    }
}
