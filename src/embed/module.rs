//! Native modules: functions, async functions, classes and values a script imports
//! (`import host`, `from host import f`).
//!
//! ```
//! use aio::embed::ModuleBuilder;
//!
//! let host = ModuleBuilder::new("host")
//!     .function("double", |x: i64| x * 2)
//!     .value("VERSION", "1.2")
//!     .source("def quadruple(x):\n    return double(double(x))\n");
//! let mut engine = aio::Engine::new();
//! engine.register_module(host).unwrap();
//! engine.exec("from host import quadruple, VERSION").unwrap();
//! assert_eq!(engine.eval::<i64>("quadruple(5)").unwrap(), 20);
//! assert_eq!(engine.eval::<String>("VERSION").unwrap(), "1.2");
//! ```

use super::class::ClassBuilder;
use super::convert::ToValue;
use super::function::{raw_fn, HostFn, HostFunction, RawFn};
use crate::vm::value::{Module, Value};
use crate::vm::{Res, Sym, Vm};
use std::rc::Rc;

type Item = Box<dyn FnOnce(&mut Vm, &Rc<Module>) -> Res<()>>;

/// Describes a native module; register it with [`crate::Engine::register_module`]. Items
/// are added to the module in the order given.
pub struct ModuleBuilder {
    name: String,
    items: Vec<Item>,
}

impl ModuleBuilder {
    /// An empty module named `name` (dotted names are not packages: `import a.b` needs a
    /// module registered as `a.b`, and `a` too).
    pub fn new(name: &str) -> ModuleBuilder {
        ModuleBuilder { name: name.to_string(), items: Vec::new() }
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A function (see [`super::function`]).
    pub fn function<M, F>(self, name: &str, f: F) -> Self
    where
        F: HostFn<M>,
        F::Output: ToValue,
    {
        let body = raw_fn(name, f);
        self.raw_item(name, body)
    }

    /// A function taking the raw arguments (positional and keyword values), for variadic
    /// signatures.
    pub fn raw_function<F>(self, name: &str, f: F) -> Self
    where
        F: Fn(&mut Vm, Vec<Value>, Vec<(Sym, Value)>) -> Res<Value> + 'static,
    {
        self.raw_item(name, Box::new(f))
    }

    fn raw_item(mut self, name: &str, body: Box<RawFn>) -> Self {
        let name = name.to_string();
        self.items.push(Box::new(move |_vm, m| {
            m.set(Sym::new(&name), HostFunction::value(&name, body));
            Ok(())
        }));
        self
    }

    /// An async function: the closure returns a Rust `Future`; scripts `await` the call
    /// (see [`super::async_host`]).
    pub fn async_function<M, F>(self, name: &str, f: F) -> Self
    where
        F: HostFn<M>,
        F::Output: std::future::Future + 'static,
        <F::Output as std::future::Future>::Output: ToValue + 'static,
    {
        let body = super::async_host::raw_async_fn(name, f);
        self.raw_item(name, body)
    }

    /// A class (see [`ClassBuilder`]).
    pub fn class<T: 'static>(mut self, class: ClassBuilder<T>) -> Self {
        let module = self.name.clone();
        self.items.push(Box::new(move |vm, m| {
            let c = class.build(vm, &module)?;
            if let Value::Class(cls) = &c {
                m.set(Sym::new(&cls.name), c.clone());
            }
            Ok(())
        }));
        self
    }

    /// A value.
    pub fn value<V: ToValue + 'static>(mut self, name: &str, v: V) -> Self {
        let name = name.to_string();
        self.items.push(Box::new(move |vm, m| {
            let v = v.to_value(vm)?;
            m.set(Sym::new(&name), v);
            Ok(())
        }));
        self
    }

    /// Script source run in the module after the items before it (helpers written in aio
    /// on top of the native ones).
    pub fn source(mut self, source: &str) -> Self {
        let source = source.to_string();
        let file = format!("<{}>", self.name);
        self.items.push(Box::new(move |vm, m| vm.exec_source(&source, &file, m.clone()).map(|_| ())));
        self
    }

    /// Builds the module in `vm` and makes it importable (it goes into `sys.modules`).
    pub(crate) fn build(self, vm: &mut Vm) -> Res<Rc<Module>> {
        let m = Rc::new(Module::new(&self.name, &format!("<{}>", self.name)));
        for item in self.items {
            item(vm, &m)?;
        }
        crate::vm::value::ns_set(&vm.modules, crate::vm::Sym::new(&self.name), Value::Module(m.clone()));
        Ok(m)
    }
}
