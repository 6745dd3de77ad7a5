//! [`Builder`]: the options of a new [`Engine`].

use super::limits::Limits;
use super::sandbox::Capabilities;
use crate::vm::Output;
use crate::Engine;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// Options for a new [`Engine`]: sandbox switches, limits, where output goes, the module
/// path. [`Engine::new`] is `Engine::builder().build()`: everything allowed, no limits,
/// output to the process's stdout and stderr.
///
/// ```
/// use std::time::Duration;
///
/// let mut engine = aio::Engine::builder()
///     .sandboxed()                          // no files, network, processes, env, sleeps
///     .instruction_budget(1_000_000)
///     .deadline(Duration::from_secs(2))
///     .memory_limit(64 << 20)
///     .recursion_limit(200)
///     .max_tasks(100)
///     .capture_output()
///     .build();
/// engine.exec("print('hi')").unwrap();
/// assert_eq!(engine.take_stdout(), "hi\n");
/// ```
#[derive(Default)]
pub struct Builder {
    caps: Capabilities,
    limits: Limits,
    stdout: Option<Output>,
    stderr: Option<Output>,
    capture: bool,
    module_path: Vec<PathBuf>,
    argv: Vec<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with the defaults.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Sets every sandbox switch at once.
    pub fn capabilities(mut self, caps: Capabilities) -> Self {
        self.caps = caps;
        self
    }
    /// Leaves out every outside access ([`Capabilities::none`]).
    pub fn sandboxed(self) -> Self {
        self.capabilities(Capabilities::none())
    }
    /// Allows or leaves out the file system (`open`, `os` file functions, file imports).
    pub fn allow_fs(mut self, yes: bool) -> Self {
        self.caps.fs = yes;
        self
    }
    /// Allows or leaves out the network.
    pub fn allow_net(mut self, yes: bool) -> Self {
        self.caps.net = yes;
        self
    }
    /// Allows or leaves out subprocesses.
    pub fn allow_subprocess(mut self, yes: bool) -> Self {
        self.caps.subprocess = yes;
        self
    }
    /// Allows or leaves out the environment (`os.environ`, `os.getenv`).
    pub fn allow_env(mut self, yes: bool) -> Self {
        self.caps.env = yes;
        self
    }
    /// Allows or leaves out blocking sleeps (`time.sleep`).
    pub fn allow_sleep(mut self, yes: bool) -> Self {
        self.caps.sleep = yes;
        self
    }

    /// Sets every limit at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Ticks (loop iterations, calls, items drained by natives) each call into the engine
    /// may run; past it the run ends with [`super::Limit::Instructions`].
    pub fn instruction_budget(mut self, ticks: u64) -> Self {
        self.limits.instructions = Some(ticks);
        self
    }
    /// Wall-clock time each call into the engine may take, waits included; past it the
    /// run ends with [`super::Limit::Deadline`].
    pub fn deadline(mut self, d: Duration) -> Self {
        self.limits.deadline = Some(d);
        self
    }
    /// Bytes the VM's objects may take (approximate, see [`super::memory`]); past it the
    /// run ends with [`super::Limit::Memory`].
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.limits.memory = Some(bytes);
        self
    }
    /// Maximum call depth (default 1000); deeper calls raise `RecursionError`, which ends
    /// the run with [`super::Limit::Recursion`] if uncaught. Scripts may lower it with
    /// `sys.setrecursionlimit`, not raise it.
    pub fn recursion_limit(mut self, depth: usize) -> Self {
        self.limits.recursion = Some(depth);
        self
    }
    /// Maximum number of live tasks per event loop; creating one more ends the run with
    /// [`super::Limit::Tasks`].
    pub fn max_tasks(mut self, n: usize) -> Self {
        self.limits.tasks = Some(n);
        self
    }

    /// Where `print` and `sys.stdout` write.
    pub fn stdout(mut self, out: Output) -> Self {
        self.stdout = Some(out);
        self
    }
    /// Where tracebacks, warnings and `sys.stderr` write.
    pub fn stderr(mut self, out: Output) -> Self {
        self.stderr = Some(out);
        self
    }
    /// Sends stdout text to a callback, chunk by chunk as it is written.
    pub fn on_stdout(self, f: impl Fn(&str) + 'static) -> Self {
        self.stdout(Output::Callback(Rc::new(f)))
    }
    /// Sends stderr text to a callback.
    pub fn on_stderr(self, f: impl Fn(&str) + 'static) -> Self {
        self.stderr(Output::Callback(Rc::new(f)))
    }
    /// Keeps stdout and stderr text in buffers, read with [`Engine::take_stdout`] and
    /// [`Engine::take_stderr`].
    pub fn capture_output(mut self) -> Self {
        self.capture = true;
        self
    }

    /// Adds a directory `import` searches for `.aio` modules (searched even without file
    /// system access: the host chose it).
    pub fn module_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.module_path.push(dir.into());
        self
    }
    /// How much of the calling thread's stack the VM may use for native code nested in
    /// script code (`repr` of a `__repr__` that calls `repr`, `sorted(key=...)` calling
    /// code that sorts, ...); past it such nesting raises `RecursionError` instead of
    /// overflowing the stack. Script-to-script calls use no Rust stack. Default
    /// [`super::DEFAULT_STACK_SIZE`] (1 MiB), safe on 2 MiB threads; raise it on a thread
    /// with a bigger stack.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }
    /// `sys.argv`.
    pub fn argv(mut self, argv: Vec<String>) -> Self {
        self.argv = argv;
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Engine {
        let mut engine = Engine::bare();
        let vm = &mut engine.vm;
        vm.host.caps.set(self.caps);
        let builtins = vm.builtins.clone();
        vm.restrict_module("builtins", &builtins);
        vm.search_path = self.module_path;
        if let Some(s) = self.stack_size {
            vm.host.stack_size.set(s);
        }
        vm.argv = self.argv;
        if self.capture {
            let out = Rc::new(RefCell::new(Vec::new()));
            let err = Rc::new(RefCell::new(Vec::new()));
            vm.stdout = Output::Buffer(out.clone());
            vm.stderr = Output::Buffer(err.clone());
            engine.captured = Some((out, err));
        }
        if let Some(o) = self.stdout {
            engine.vm.stdout = o;
        }
        if let Some(e) = self.stderr {
            engine.vm.stderr = e;
        }
        engine.set_limits(self.limits);
        engine
    }
}
