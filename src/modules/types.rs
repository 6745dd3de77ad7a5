//! `types`: the classes of the built-in kinds of values (`FunctionType`, `NoneType`, ...),
//! `GenericAlias`, `UnionType` and `SimpleNamespace`.

use crate::vm::value::{Module, Value};
use crate::vm::{Res, TypeId, Vm};
use std::rc::Rc;

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module("types", &[]);
    for (name, id) in [
        ("NoneType", TypeId::NoneType),
        ("NotImplementedType", TypeId::NotImplementedType),
        ("EllipsisType", TypeId::Ellipsis),
        ("FunctionType", TypeId::Function),
        ("LambdaType", TypeId::Function),
        ("MethodType", TypeId::Method),
        ("BuiltinFunctionType", TypeId::BuiltinFunction),
        ("BuiltinMethodType", TypeId::BuiltinFunction),
        ("ModuleType", TypeId::Module),
        ("GeneratorType", TypeId::Generator),
        ("CoroutineType", TypeId::Coroutine),
        ("AsyncGeneratorType", TypeId::AsyncGenerator),
        ("CodeType", TypeId::Code),
        ("CellType", TypeId::Cell),
    ] {
        super::set(&m, name, Value::Class(vm.type_class(id).clone()));
    }
    let alias = crate::builtins::generic_alias::alias_class(vm);
    super::set(&m, "GenericAlias", Value::Class(alias));
    super::set(&m, "UnionType", Value::Class(crate::builtins::union_type::union_class(vm)));
    super::set(&m, "SimpleNamespace", Value::Class(super::simple_namespace::class(vm)));
    Ok(m)
}
