//! The virtual machine: values, frames, the dispatch loop, calls, attributes and operators.
//!
//! **Invariant:** a script-to-script call pushes a heap frame and never recurses in Rust;
//! Rust recursion happens only where a native function calls back into script code
//! (`sorted(key=...)`, `__eq__` during a dict lookup, `__repr__`), and that nesting is
//! counted against the recursion limit. The VM never touches the event loop's I/O.

pub mod asyncgen;
pub(crate) mod attr;
mod attr_error;
mod call;
pub mod depth;
pub mod dict;
mod eager_await;
mod error;
pub mod frame;
pub mod gc;
pub mod gen;
pub mod gen_values;
pub mod green;
mod inline_cache;
mod intern;
mod interp;
pub mod mem;
pub(crate) mod ops;
pub use ops::{ascii_escape, repr_bytes, repr_str};
mod protocols;
mod seq;
pub mod set_table;
pub use seq::{norm_index, slice_indices, slice_positions};
pub mod other;
mod types;
pub mod value;

pub use error::{Exc, ExcKind, Res};
pub use inline_cache::AttrCacheEntry;
pub use intern::Sym;
pub use types::TypeId;
pub use value::{Args, Class, NativeFn, Value};

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use value::{DictObj, Instance, Layout, Module};

/// Where `print` and tracebacks go: the process streams, or a host's buffers.
pub enum Output {
    /// The process's stdout / stderr.
    Std,
    /// A shared in-memory buffer.
    Buffer(Rc<RefCell<Vec<u8>>>),
    /// A callback receiving each chunk of text.
    Callback(Rc<dyn Fn(&str)>),
}

/// Frequently used symbols, interned once.
#[allow(missing_docs)]
pub struct Syms {
    pub init: Sym,
    pub new: Sym,
    pub call: Sym,
    pub repr: Sym,
    pub str_: Sym,
    pub eq: Sym,
    pub ne: Sym,
    pub hash: Sym,
    pub bool_: Sym,
    pub len: Sym,
    pub iter: Sym,
    pub next: Sym,
    pub getitem: Sym,
    pub setitem: Sym,
    pub delitem: Sym,
    pub contains: Sym,
    pub getattr: Sym,
    /// `sys`, the module `print` looks for a replaced `stdout` in.
    pub sys: Sym,
    /// `stdout`.
    pub stdout: Sym,
    pub setattr: Sym,
    pub enter: Sym,
    pub exit: Sym,
    pub aenter: Sym,
    pub aexit: Sym,
    pub await_: Sym,
    pub aiter: Sym,
    pub anext: Sym,
    pub args: Sym,
    pub cause: Sym,
    pub context: Sym,
    pub traceback: Sym,
    pub suppress_context: Sym,
    pub name: Sym,
    pub qualname: Sym,
    pub module: Sym,
    pub doc: Sym,
    pub dict: Sym,
    pub class: Sym,
    pub value: Sym,
    pub code: Sym,
    pub message: Sym,
    pub exceptions: Sym,
    pub format: Sym,
    pub index: Sym,
    pub set_name: Sym,
    pub init_subclass: Sym,
    pub class_getitem: Sym,
    pub lt: Sym,
    pub le: Sym,
    pub gt: Sym,
    pub ge: Sym,
    pub neg: Sym,
    pub pos: Sym,
    pub invert: Sym,
    pub abs: Sym,
    pub int: Sym,
    pub float: Sym,
    pub round: Sym,
    pub get: Sym,
    pub set: Sym,
    pub delete: Sym,
    pub underscore: Sym,
    pub getattribute: Sym,
    pub delattr: Sym,
    pub dir: Sym,
    pub annotations: Sym,
    pub name_attr: Sym,
    pub obj: Sym,
}

impl Syms {
    fn new() -> Syms {
        Syms {
            init: Sym::new("__init__"),
            new: Sym::new("__new__"),
            call: Sym::new("__call__"),
            repr: Sym::new("__repr__"),
            str_: Sym::new("__str__"),
            eq: Sym::new("__eq__"),
            ne: Sym::new("__ne__"),
            hash: Sym::new("__hash__"),
            bool_: Sym::new("__bool__"),
            len: Sym::new("__len__"),
            iter: Sym::new("__iter__"),
            next: Sym::new("__next__"),
            getitem: Sym::new("__getitem__"),
            setitem: Sym::new("__setitem__"),
            delitem: Sym::new("__delitem__"),
            contains: Sym::new("__contains__"),
            getattr: Sym::new("__getattr__"),
            sys: Sym::new("sys"),
            stdout: Sym::new("stdout"),
            setattr: Sym::new("__setattr__"),
            enter: Sym::new("__enter__"),
            exit: Sym::new("__exit__"),
            aenter: Sym::new("__aenter__"),
            aexit: Sym::new("__aexit__"),
            await_: Sym::new("__await__"),
            aiter: Sym::new("__aiter__"),
            anext: Sym::new("__anext__"),
            args: Sym::new("args"),
            cause: Sym::new("__cause__"),
            context: Sym::new("__context__"),
            traceback: Sym::new("__traceback__"),
            suppress_context: Sym::new("__suppress_context__"),
            name: Sym::new("__name__"),
            qualname: Sym::new("__qualname__"),
            module: Sym::new("__module__"),
            doc: Sym::new("__doc__"),
            dict: Sym::new("__dict__"),
            class: Sym::new("__class__"),
            value: Sym::new("value"),
            code: Sym::new("code"),
            message: Sym::new("message"),
            exceptions: Sym::new("exceptions"),
            format: Sym::new("__format__"),
            index: Sym::new("__index__"),
            set_name: Sym::new("__set_name__"),
            init_subclass: Sym::new("__init_subclass__"),
            class_getitem: Sym::new("__class_getitem__"),
            lt: Sym::new("__lt__"),
            le: Sym::new("__le__"),
            gt: Sym::new("__gt__"),
            ge: Sym::new("__ge__"),
            neg: Sym::new("__neg__"),
            pos: Sym::new("__pos__"),
            invert: Sym::new("__invert__"),
            abs: Sym::new("__abs__"),
            int: Sym::new("__int__"),
            float: Sym::new("__float__"),
            round: Sym::new("__round__"),
            get: Sym::new("__get__"),
            set: Sym::new("__set__"),
            delete: Sym::new("__delete__"),
            underscore: Sym::new("_"),
            getattribute: Sym::new("__getattribute__"),
            delattr: Sym::new("__delattr__"),
            dir: Sym::new("__dir__"),
            annotations: Sym::new("__annotations__"),
            name_attr: Sym::new("name"),
            obj: Sym::new("obj"),
        }
    }
}

/// One interpreter: its frames, built-in types, modules and settings.
pub struct Vm {
    /// The frame stack of the code currently running (innermost last).
    pub frames: frame::FrameStack,
    /// The value stack shared by all running frames: each frame's locals, then its operands.
    pub stack: Vec<Value>,
    /// Built-in type classes indexed by `TypeId`.
    pub types: Vec<Rc<Class>>,
    /// Built-in exception classes indexed by `ExcKind`.
    pub exc_types: Vec<Rc<Class>>,
    /// Classes made on demand for native objects, by type name.
    pub other_classes: RefCell<FxHashMap<&'static str, Rc<Class>>>,
    /// The `builtins` module.
    pub builtins: Rc<Module>,
    /// `sys.modules`: the imported modules by name, a dict scripts see and may change
    /// (an entry put there is what a later `import` of that name gets).
    pub modules: Rc<DictObj>,
    /// Native module initialisers by name (`math`, `time`, ...).
    pub native_modules: FxHashMap<&'static str, fn(&mut Vm) -> Res<Rc<Module>>>,
    /// Exceptions currently being handled (for bare `raise` and `__context__`).
    pub handled: Vec<Value>,
    /// The recursion limit, and the nesting it counts besides the frame stack: native-to-
    /// script calls (each a nested dispatch loop), and generator frames suspended in the
    /// middle of a delegation chain that runs directly in its innermost generator
    /// (`ReturnMode::GenChain`), which would be on the frame stack in CPython.
    pub depth: depth::Depth,
    /// Natives called by other natives (through `call_kw`) now running, so that a blocking
    /// native knows whether it was called straight from the dispatch loop (see `green.rs`).
    pub native_calls: u32,
    /// Common symbols.
    pub syms: Syms,
    /// Where `print` writes.
    pub stdout: Output,
    /// Where errors are written.
    pub stderr: Output,
    /// Directories searched by `import` after the importing script's own.
    pub search_path: Vec<std::path::PathBuf>,
    /// `sys.argv`.
    pub argv: Vec<String>,
    /// Pending stdout text not yet flushed.
    out_buf: Vec<u8>,
    /// Why the last flush of stdout failed (a closed pipe), for `print` to raise.
    stdout_error: Option<std::io::Error>,
    /// Set by a re-raise so the unwinder adds no traceback entry for the current frame.
    pub(crate) reraising: bool,
    /// Objects whose `repr` is in progress (to print `[...]` for cycles).
    pub(crate) repr_stack: Vec<i64>,
    /// Constructors of built-in types, by `TypeId`.
    pub builtin_constructors: FxHashMap<usize, NativeFn>,
    /// Source text of loaded files, for tracebacks.
    pub sources: RefCell<FxHashMap<Rc<str>, Rc<str>>>,
    /// Ticks (backward jumps and calls) left before the next slow check of interrupts and
    /// limits; see [`Vm::tick`].
    pub(crate) ticks: std::cell::Cell<u32>,
    /// The embedding API's per-VM state: sandbox switches, limits, host classes.
    pub host: crate::embed::HostState,
    /// Methods of built-in types found by `LoadMethod` (see `attr::MethodCache`).
    pub(crate) method_cache: attr::MethodCache,
    /// `list.append`, which `CallMethod` runs inline.
    pub(crate) list_append: Option<Rc<value::NativeFunction>>,
    /// Native coroutine methods with an eager form (see `eager_await`).
    pub(crate) eager_awaits: eager_await::EagerAwaits,
}

impl Vm {
    /// A VM with the built-in types, exceptions and functions installed.
    pub fn new() -> Vm {
        let object = types::make_builtin_class(TypeId::Object, None);
        let mut types_v: Vec<Rc<Class>> = vec![object.clone()];
        for id in &TypeId::ALL[1..] {
            let base = match id {
                TypeId::Bool => types_v[TypeId::Int as usize].clone(),
                _ => object.clone(),
            };
            types_v.push(types::make_builtin_class(*id, Some(&base)));
        }
        let mut exc_types: Vec<Rc<Class>> = Vec::new();
        for (kind, parent) in ExcKind::ALL {
            let base = match parent {
                Some(p) => exc_types[*p as usize].clone(),
                None => object.clone(),
            };
            let mut mro = vec![base.clone()];
            mro.extend(base.mro.iter().cloned());
            let mut bases = vec![base];
            if *kind == ExcKind::ExceptionGroup {
                // class ExceptionGroup(BaseExceptionGroup, Exception): C3 puts Exception
                // between BaseExceptionGroup and BaseException.
                let exception = exc_types[ExcKind::Exception as usize].clone();
                mro.insert(1, exception.clone());
                bases.push(exception);
            }
            exc_types.push(Rc::new(Class {
                name: Rc::from(kind.name()),
                qualname: RefCell::new(Rc::from(kind.name())),
                bases,
                mro,
                dict: RefCell::default(),
                layout: Layout::Exception,
                builtin: None,
                version: std::cell::Cell::new(0),
                cache: Default::default(),
                tp_name: Default::default(),
            }));
        }
        let mut vm = Vm {
            method_cache: attr::MethodCache::default(),
            list_append: None,
            eager_awaits: Default::default(),
            frames: frame::FrameStack::new(),
            stack: Vec::with_capacity(4096),
            types: types_v,
            exc_types,
            other_classes: RefCell::default(),
            builtins: Rc::new(Module::new("builtins", "<builtins>")),
            modules: DictObj::new_rc(dict::Dict::new()),
            native_modules: FxHashMap::default(),
            handled: Vec::new(),
            depth: depth::Depth::new(1000),
            native_calls: 0,
            syms: Syms::new(),
            stdout: Output::Std,
            stderr: Output::Std,
            search_path: Vec::new(),
            argv: Vec::new(),
            out_buf: Vec::new(),
            stdout_error: None,
            reraising: false,
            repr_stack: Vec::new(),
            builtin_constructors: FxHashMap::default(),
            sources: RefCell::default(),
            ticks: std::cell::Cell::new(0),
            host: crate::embed::HostState::default(),
        };
        crate::builtins::install(&mut vm);
        value::bump_class_epoch();
        vm
    }

    /// The class of a built-in exception.
    pub fn exc_class(&self, kind: ExcKind) -> &Rc<Class> {
        &self.exc_types[kind as usize]
    }

    /// Turns a lazily raised exception into its object.
    pub fn materialize(&mut self, e: Exc) -> Rc<Instance> {
        match e {
            Exc::Obj(i) => i,
            Exc::Msg(kind, msg) => {
                let class = self.exc_class(kind).clone();
                let defaults = self.exception_defaults(kind, &msg);
                let args = if msg.is_empty() && kind != ExcKind::KeyError { vec![] } else { vec![Value::string(msg)] };
                let inst = self.new_exception_object(class, args);
                for (k, v) in defaults {
                    inst.set_attr(k, v);
                }
                inst
            }
        }
    }

    /// Creates an exception instance with the given `args`.
    pub fn new_exception_object(&mut self, class: Rc<Class>, args: Vec<Value>) -> Rc<Instance> {
        let inst = Instance::new_rc(class, Default::default());
        inst.set_attr(self.syms.args, Value::tuple(args));
        inst
    }

    /// Makes an exception object of a built-in kind whose `args` are the given values.
    pub fn exception_with_args(&mut self, kind: ExcKind, args: Vec<Value>) -> Exc {
        let class = self.exc_class(kind).clone();
        Exc::Obj(self.new_exception_object(class, args))
    }

    /// Writes text to the VM's stdout.
    pub fn write_stdout(&mut self, s: &str) {
        match &self.stdout {
            Output::Std => {
                self.out_buf.extend_from_slice(s.as_bytes());
                if self.out_buf.len() > 8192 {
                    self.flush_stdout();
                }
            }
            Output::Buffer(b) => b.borrow_mut().extend_from_slice(s.as_bytes()),
            Output::Callback(f) => f(s),
        }
    }

    /// Flushes buffered stdout text.
    pub fn flush_stdout(&mut self) {
        if !self.out_buf.is_empty() {
            let mut out = std::io::stdout().lock();
            // A failed write (the reader closed the pipe: EPIPE, as SIGPIPE is ignored) is
            // kept for `print` to raise as `BrokenPipeError`; the text is dropped.
            if let Err(e) = out.write_all(&self.out_buf).and_then(|_| out.flush()) {
                self.stdout_error = Some(e);
            }
            self.out_buf.clear();
        }
    }

    /// The error of the last failed stdout flush, if any (cleared).
    pub fn take_stdout_error(&mut self) -> Option<std::io::Error> {
        self.stdout_error.take()
    }

    /// Writes text to the VM's stderr (flushing stdout first so the two interleave sanely).
    pub fn write_stderr(&mut self, s: &str) {
        self.flush_stdout();
        match &self.stderr {
            Output::Std => {
                let _ = std::io::stderr().write_all(s.as_bytes());
            }
            Output::Buffer(b) => b.borrow_mut().extend_from_slice(s.as_bytes()),
            Output::Callback(f) => f(s),
        }
    }
}

/// Set (by the SIGINT handler, or by any thread) to make the running code raise
/// `KeyboardInterrupt`; see [`Vm::take_interrupt`]. One flag for the process, as signals
/// are per process: a static costs a single load where the VM polls it (an `Arc` in the
/// `Vm` cost a dependent second load, measurable on tight loops).
pub static INTERRUPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    /// What a pending interrupt means when it is not simply `KeyboardInterrupt`: set by
    /// `asyncio::signals` (the first Ctrl-C in `asyncio.run` cancels the main task; a SIGINT
    /// handler set by the script takes it as a signal). `Ok` means nothing is raised here.
    pub static INTERRUPT_HOOK: std::cell::Cell<Option<fn(&Vm) -> Res<()>>> = const { std::cell::Cell::new(None) };
}

impl Drop for Vm {
    /// Finalises the modules as CPython does at exit (`finally` blocks of suspended
    /// generators run, module–function cycles are freed; see `gc::finalize`), then flushes.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.finalize_modules();
        }
        self.flush_stdout();
    }
}

impl Vm {
    /// If an interrupt was requested ([`INTERRUPT`], set by Ctrl-C), clears the request and
    /// returns the `KeyboardInterrupt` to raise. One relaxed load when nothing is pending.
    /// Polled at backward jumps, script calls, generator resumption, `time.sleep` and the
    /// event loop's waits.
    #[inline(always)]
    pub fn take_interrupt(&self) -> Res<()> {
        if INTERRUPT.load(std::sync::atomic::Ordering::Relaxed) {
            return self.interrupted();
        }
        Ok(())
    }

    /// Counts one *tick* — a backward jump (every loop iteration) or a call (every script
    /// call, native call and generator resumption) — and every [`crate::embed::TICK_SLICE`]
    /// ticks runs the slow check: Ctrl-C ([`INTERRUPT`]), the host's stop request and the
    /// embedding limits (instruction budget, deadline, memory cap). The fast path is one
    /// decrement of a field.
    #[inline(always)]
    pub(crate) fn tick(&self) -> Res<()> {
        let t = self.ticks.get();
        if t == 0 {
            return self.tick_slow();
        }
        self.ticks.set(t - 1);
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn interrupted(&self) -> Res<()> {
        INTERRUPT.store(false, std::sync::atomic::Ordering::Relaxed);
        match INTERRUPT_HOOK.with(|h| h.get()) {
            Some(hook) => hook(self),
            None => Err(Exc::new(ExcKind::KeyboardInterrupt, "")),
        }
    }

    /// Remembers a file's source text for tracebacks.
    pub fn register_source(&mut self, file: &str, source: &str) {
        self.sources.borrow_mut().insert(Rc::from(file), Rc::from(source));
    }

    /// Line `line` (1-based) of a registered or readable source file.
    pub fn source_line(&self, file: &str, line: u32) -> Option<String> {
        let src = self.sources.borrow().get(file).cloned();
        let src = match src {
            Some(s) => s,
            None => {
                let text: Rc<str> = Rc::from(std::fs::read_to_string(file).ok()?.as_str());
                self.sources.borrow_mut().insert(Rc::from(file), text.clone());
                text
            }
        };
        src.lines().nth(line.checked_sub(1)? as usize).map(|s| s.to_string())
    }
}
