//! Finalisation when the interpreter ends (CPython's `finalize_modules`): the modules are
//! taken out of `sys.modules` and a full collection finds what only they kept alive, so
//! that generators suspended in `try`/`finally` run their `finally` (with every global
//! still in place, in the order the objects were made, as CPython's collector does), and
//! the cycles between modules and their functions are freed. Modules something else still
//! holds have their namespaces emptied, as CPython's `_PyModule_Clear` does.

use crate::vm::value::{Module, Value};
use crate::vm::Vm;
use std::rc::{Rc, Weak};

impl Vm {
    /// Ends the interpreter's modules (see the module documentation). Called when the VM is
    /// dropped; script code may run (`finally` blocks, pending reports), after which the
    /// modules are empty.
    pub fn finalize_modules(&mut self) {
        // A VM dropped while its thread's locals are being destroyed cannot run anything.
        if super::REG.try_with(|_| ()).is_err() || !crate::vm::gen::finalizer_state_alive() {
            return;
        }
        self.run_finalizers();
        let modules: Vec<Value> = std::mem::take(&mut *self.modules.d.borrow_mut()).into_values().collect();
        let mut weak: Vec<Weak<Module>> = Vec::with_capacity(modules.len());
        for m in &modules {
            if let Value::Module(r) = m {
                weak.push(Rc::downgrade(r));
                super::push_old(super::Tracked::Module(Rc::downgrade(r)));
            }
        }
        drop(modules);
        self.gc_collect(2);
        self.run_finalizers();
        // What survived is held from elsewhere (a host's handle, an object no traversal
        // sees): empty the namespaces, which breaks the module–function cycles.
        for w in &weak {
            if let Some(m) = w.upgrade() {
                let d = m.dict.try_borrow_mut().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default();
                m.version.set(m.version.get() + 1);
                drop(m);
                drop(d);
                self.run_finalizers();
            }
        }
        self.gc_collect(2);
        self.run_finalizers();
    }
}
