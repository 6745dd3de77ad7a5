//! The embedding facade: a VM plus the conveniences a host or the CLI needs.

use crate::vm::value::{Module, Value};
use crate::vm::{Exc, ExcKind, Vm};
use std::path::Path;
use std::rc::Rc;

/// How a script run ended, for the CLI's exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Finished normally.
    Ok,
    /// Ended with an uncaught exception (already printed) or `SystemExit(n)`: the exit status.
    Exit(i32),
}

/// An interpreter instance.
pub struct Engine {
    /// The VM.
    pub vm: Vm,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// A fresh interpreter with the standard modules available.
    pub fn new() -> Engine {
        let mut vm = Vm::new();
        crate::modules::install(&mut vm);
        crate::vm::value::bump_class_epoch();
        Engine { vm }
    }

    /// Runs a source string as the `__main__` module, printing any uncaught exception.
    pub fn run_main(&mut self, source: &str, filename: &str) -> Outcome {
        let module = Rc::new(Module::new("__main__", filename));
        module.set(crate::vm::Sym::new("__file__"), Value::str(filename));
        self.vm.modules.borrow_mut().insert(Rc::from("__main__"), Value::Module(module.clone()));
        self.vm.register_source(filename, source);
        let r = self.vm.exec_source(source, filename, module);
        self.vm.run_finalizers();
        let out = match r {
            Ok(_) => Outcome::Ok,
            Err(e) => self.report(e),
        };
        self.vm.flush_stdout();
        out
    }

    /// Runs a file as `__main__`.
    pub fn run_file(&mut self, path: &Path, source: &str) -> Outcome {
        let name = path.to_string_lossy().to_string();
        if let Some(dir) = path.parent() {
            let d = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            self.vm.search_path.insert(0, d.to_path_buf());
        }
        self.run_main(source, &name)
    }

    /// Prints an uncaught exception as Python does and returns the exit status.
    pub fn report(&mut self, e: Exc) -> Outcome {
        let inst = self.vm.materialize(e);
        if inst.class.is_subclass(self.vm.exc_class(ExcKind::SystemExit)) {
            let code = inst.get_attr(self.vm.syms.code).unwrap_or(Value::None);
            return match code {
                Value::None => Outcome::Exit(0),
                Value::Int(n) => Outcome::Exit(n as i32),
                Value::Bool(b) => Outcome::Exit(b as i32),
                other => {
                    let s = self.vm.str_of(&other).unwrap_or_default();
                    self.vm.write_stderr(&format!("{s}\n"));
                    Outcome::Exit(1)
                }
            };
        }
        let text = crate::traceback::format_exception(&mut self.vm, &inst);
        self.vm.write_stderr(&text);
        if inst.class.is_subclass(self.vm.exc_class(ExcKind::KeyboardInterrupt)) {
            return Outcome::Exit(130);
        }
        Outcome::Exit(1)
    }
}
