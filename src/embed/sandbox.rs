//! Sandbox switches: what a script may reach outside the VM.
//!
//! Each switch leaves out one kind of access. A module that exists only for it fails to
//! import (`ImportError`); a function or value for it in a module that stays (`open`,
//! `os.listdir`, `os.environ`, `time.sleep`, `asyncio.open_connection`, ...) raises
//! `PermissionError` when used. Natives added later that reach the outside call
//! [`Vm::require`] with their [`Capability`].
//!
//! ```
//! use aio::embed::Capabilities;
//!
//! let mut engine = aio::Engine::builder().capabilities(Capabilities::none()).build();
//! let err = engine.exec("open('/etc/passwd')").unwrap_err();
//! assert_eq!(err.exception_type(), Some("PermissionError"));
//! let err = engine.exec("import os\nos.environ['HOME']").unwrap_err();
//! assert_eq!(err.exception_type(), Some("PermissionError"));
//! let err = engine.exec("import subprocess").unwrap_err();
//! assert_eq!(err.exception_type(), Some("ModuleNotFoundError"));
//! // Pure computation is untouched.
//! engine.exec("import os").unwrap();
//! assert_eq!(engine.eval::<String>("os.path.join('a', 'b')").unwrap(), "a/b");
//! ```

use super::function::HostFunction;
use crate::vm::other::NativeObject;
use crate::vm::value::{Module, Value};
use crate::vm::{Exc, ExcKind, Res, Sym, Vm};
use std::rc::Rc;

/// One kind of outside access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Files and directories: `open`, `os.listdir`, `os.remove`, `os.path.exists`, ..., and
    /// importing `.aio` files other than from the host's module path.
    FileSystem,
    /// Sockets and name resolution: `socket`, `asyncio.open_connection`, `start_server`, ...
    Network,
    /// Child processes and process control: `subprocess`, `asyncio.create_subprocess_exec`,
    /// `os.system`, `os.kill`, `signal`, `loop.add_signal_handler`, ...
    Subprocess,
    /// The process environment: `os.environ`, `os.getenv`, `os.path.expanduser`.
    Environment,
    /// Blocking the thread: `time.sleep` (`await asyncio.sleep` stays available).
    Sleep,
}

impl Capability {
    fn describe(self) -> &'static str {
        match self {
            Capability::FileSystem => "file system access",
            Capability::Network => "network access",
            Capability::Subprocess => "subprocesses",
            Capability::Environment => "environment access",
            Capability::Sleep => "blocking sleeps",
        }
    }
}

/// Which capabilities a VM has. The default allows everything, as the `aio` command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// [`Capability::FileSystem`].
    pub fs: bool,
    /// [`Capability::Network`].
    pub net: bool,
    /// [`Capability::Subprocess`].
    pub subprocess: bool,
    /// [`Capability::Environment`].
    pub env: bool,
    /// [`Capability::Sleep`].
    pub sleep: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::all()
    }
}

impl Capabilities {
    /// Everything allowed.
    pub fn all() -> Capabilities {
        Capabilities { fs: true, net: true, subprocess: true, env: true, sleep: true }
    }
    /// Nothing allowed: pure computation, the host's own functions and modules, and
    /// `asyncio` timers.
    pub fn none() -> Capabilities {
        Capabilities { fs: false, net: false, subprocess: false, env: false, sleep: false }
    }
    /// True when `cap` is allowed.
    pub fn allows(&self, cap: Capability) -> bool {
        match cap {
            Capability::FileSystem => self.fs,
            Capability::Network => self.net,
            Capability::Subprocess => self.subprocess,
            Capability::Environment => self.env,
            Capability::Sleep => self.sleep,
        }
    }
}

/// Modules that exist only to reach a capability: without it they do not import.
const MODULES: &[(&str, Capability)] = &[
    ("socket", Capability::Network),
    ("ssl", Capability::Network),
    ("select", Capability::Network),
    ("selectors", Capability::Network),
    ("http", Capability::Network),
    ("urllib", Capability::Network),
    ("subprocess", Capability::Subprocess),
    ("signal", Capability::Subprocess),
    ("shutil", Capability::FileSystem),
    ("pathlib", Capability::FileSystem),
    ("tempfile", Capability::FileSystem),
    ("glob", Capability::FileSystem),
];

/// Members of modules that stay importable, replaced by a `PermissionError` without their
/// capability (names a module lacks are skipped).
const MEMBERS: &[(&str, &[&str], Capability)] = &[
    (
        "os",
        &[
            "getcwd",
            "chdir",
            "listdir",
            "scandir",
            "mkdir",
            "makedirs",
            "remove",
            "unlink",
            "rmdir",
            "removedirs",
            "rename",
            "renames",
            "replace",
            "walk",
            "stat",
            "lstat",
            "open",
            "fdopen",
            "chmod",
            "chown",
            "link",
            "symlink",
            "readlink",
            "truncate",
            "utime",
            "access",
        ],
        Capability::FileSystem,
    ),
    (
        "os.path",
        &[
            "exists", "lexists", "isfile", "isdir", "islink", "ismount", "getsize", "getmtime", "getatime", "getctime",
            "realpath", "abspath", "samefile",
        ],
        Capability::FileSystem,
    ),
    ("os", &["environ", "getenv", "putenv", "unsetenv", "environb", "getenvb"], Capability::Environment),
    ("os.path", &["expanduser", "expandvars"], Capability::Environment),
    (
        "os",
        &[
            "system",
            "popen",
            "fork",
            "forkpty",
            "kill",
            "killpg",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "execl",
            "execle",
            "execlp",
            "execlpe",
            "spawnv",
            "spawnve",
            "spawnvp",
            "spawnl",
            "posix_spawn",
            "wait",
            "waitpid",
        ],
        Capability::Subprocess,
    ),
    ("time", &["sleep"], Capability::Sleep),
    (
        "_asyncio",
        &[
            "open_connection",
            "start_server",
            "open_unix_connection",
            "start_unix_server",
            "getaddrinfo",
            "create_connection",
            "create_server",
        ],
        Capability::Network,
    ),
    (
        "asyncio",
        &[
            "open_connection",
            "start_server",
            "open_unix_connection",
            "start_unix_server",
            "getaddrinfo",
            "create_connection",
            "create_server",
        ],
        Capability::Network,
    ),
    ("_asyncio", &["create_subprocess_exec", "create_subprocess_shell"], Capability::Subprocess),
    ("asyncio", &["create_subprocess_exec", "create_subprocess_shell"], Capability::Subprocess),
];

fn denied(what: &str, cap: Capability) -> Exc {
    Exc::new(ExcKind::PermissionError, format!("{what} is not allowed here (this sandbox has no {})", cap.describe()))
}

/// A value standing for something the sandbox leaves out: every use raises
/// `PermissionError` (attribute access, subscripts, iteration, calls).
struct Denied {
    what: String,
    cap: Capability,
}

impl NativeObject for Denied {
    fn type_name(&self) -> &'static str {
        "denied"
    }
    fn get_attr(&self, _vm: &mut Vm, _this: &Value, _name: Sym) -> Res<Option<Value>> {
        Err(denied(&self.what, self.cap))
    }
    fn call(&self, _vm: &mut Vm, _this: &Value, _args: Vec<Value>, _kw: Vec<(Sym, Value)>) -> Option<Res<Value>> {
        Some(Err(denied(&self.what, self.cap)))
    }
    fn is_callable(&self) -> bool {
        true
    }
    fn set_attr(&self, _vm: &mut Vm, _this: &Value, _name: Sym, _value: Value) -> Option<Res<()>> {
        Some(Err(denied(&self.what, self.cap)))
    }
    fn repr(&self) -> String {
        format!("<{} (not allowed here)>", self.what)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn denied_function(what: String, cap: Capability) -> Value {
    let name = what.rsplit('.').next().unwrap_or("f").to_string();
    HostFunction::value(&name, Box::new(move |_vm, _a, _k| Err(denied(&what, cap))))
}

impl Vm {
    /// Fails with `PermissionError` unless the VM has `cap`; `what` names the operation
    /// (`"socket.connect()"`). Natives that reach the outside call this first.
    pub fn require(&self, cap: Capability, what: &str) -> Res<()> {
        if self.host.caps.get().allows(cap) {
            Ok(())
        } else {
            Err(denied(what, cap))
        }
    }

    /// The `ImportError` for a module the sandbox leaves out, if `name` is one.
    pub(crate) fn check_import(&self, name: &str) -> Res<()> {
        let caps = self.host.caps.get();
        if caps == Capabilities::all() {
            return Ok(());
        }
        let top = name.split('.').next().unwrap_or(name);
        if let Some((_, cap)) = MODULES.iter().find(|(m, cap)| *m == top && !caps.allows(*cap)) {
            let e = self.exc_class(ExcKind::ModuleNotFoundError).clone();
            let inst = crate::vm::value::Instance {
                class: e,
                attrs: std::cell::RefCell::new(smallvec::smallvec![(
                    self.syms.args,
                    Value::tuple(vec![Value::string(format!(
                        "No module named '{name}' (this sandbox has no {})",
                        cap.describe()
                    ))]),
                )]),
            };
            inst.set_attr(Sym::new("name"), Value::str(name));
            return Err(Exc::Obj(Rc::new(inst)));
        }
        Ok(())
    }

    /// True when `import` may read `.aio` files next to the importing script.
    pub(crate) fn may_import_files(&self) -> bool {
        self.host.caps.get().fs
    }

    /// Replaces the members of a just-loaded module that the sandbox leaves out.
    pub(crate) fn restrict_module(&self, name: &str, m: &Module) {
        let caps = self.host.caps.get();
        if caps == Capabilities::all() {
            return;
        }
        for (module, members, cap) in MEMBERS {
            if caps.allows(*cap) {
                continue;
            }
            if *module == name {
                restrict_members(m, module, members, *cap);
            } else if let Some(sub) = module.strip_prefix(name).and_then(|r| r.strip_prefix('.')) {
                // A submodule kept as an attribute (`os.path`).
                if let Some(Value::Module(s)) = m.get(Sym::new(sub)) {
                    restrict_members(&s, module, members, *cap);
                }
            }
        }
        if !caps.fs && name == "builtins" {
            m.set(Sym::new("open"), denied_function("open()".into(), Capability::FileSystem));
        }
    }
}

fn restrict_members(m: &Module, module: &str, members: &[&str], cap: Capability) {
    let public = module.trim_start_matches('_');
    for member in members {
        let sym = Sym::new(member);
        let Some(old) = m.get(sym) else { continue };
        let what = format!("{public}.{member}");
        let v = match old {
            Value::Dict(_) | Value::Other(_) if !matches!(old, Value::Other(ref o) if o.is_callable()) => {
                Value::Other(Rc::new(Denied { what, cap }))
            }
            _ => denied_function(format!("{what}()"), cap),
        };
        m.set(sym, v);
    }
}
