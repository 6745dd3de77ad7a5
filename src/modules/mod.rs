//! Native modules (`sys`, `math`, `time`, `gc`, ...), one file each, registered here.

pub(crate) mod fds;
mod gc;
mod json;
mod math;
mod math_special;
pub(crate) mod os;
pub(crate) mod params;
mod random;
pub mod signal;
mod simple_namespace;
pub mod socket;
pub mod socket_object;
mod strftime;
pub mod structseq;
pub(crate) mod sys;
mod time;
mod types;
mod tz;

use crate::vm::value::{Module, Value};
use crate::vm::{NativeFn, Sym, Vm};
use std::rc::Rc;

/// Registers every native module's initialiser.
pub fn install(vm: &mut Vm) {
    vm.native_modules.insert("sys", sys::init);
    vm.native_modules.insert("_asyncio", crate::asyncio::init);
    vm.native_modules.insert("asyncio.subprocess", crate::asyncio::net::subprocess_module);
    vm.native_modules.insert("math", math::init);
    vm.native_modules.insert("time", time::init);
    vm.native_modules.insert("types", types::init);
    vm.native_modules.insert("gc", gc::init);
    vm.native_modules.insert("random", random::init);
    vm.native_modules.insert("json", json::init);
    vm.native_modules.insert("os", os::init);
    vm.native_modules.insert("os.path", os::init_dotted);
    vm.native_modules.insert("socket", socket::init);
    vm.native_modules.insert("signal", signal::init);
    // `import builtins` is the namespace of the built-in names itself, so an assignment
    // to one of its attributes is seen by every later lookup of that name.
    vm.native_modules.insert("builtins", |vm| Ok(vm.builtins.clone()));
}

/// A module with the given native functions.
pub fn native_module(name: &str, funcs: &[(&'static str, NativeFn)]) -> Rc<Module> {
    let m = Rc::new(Module::new(name, &format!("<{name}>")));
    for (n, f) in funcs {
        m.set(Sym::new(n), crate::builtins::native(n, *f));
    }
    m
}

/// Sets a module attribute.
pub fn set(m: &Module, name: &str, v: Value) {
    m.set(Sym::new(name), v);
}
