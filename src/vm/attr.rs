//! Attribute access: instances, classes, modules, built-in values and descriptors.

use super::types::TypeId;
use super::value::{ns_del, ns_set, Class, Descriptor, DictObj, Instance, NativeFunction, Value};
use super::{Exc, ExcKind, Res, Sym, Vm};
use std::rc::Rc;

impl Vm {
    /// `obj.name`.
    pub fn get_attr(&mut self, obj: &Value, name: Sym) -> Res<Value> {
        match self.get_attr_opt(obj, name) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(self.missing_attribute(obj, name)),
            Err(e) => Err(self.attribute_error_context(e, obj, name)),
        }
    }

    /// The `AttributeError` for a missing attribute, worded as CPython words it (without
    /// the `name` and `obj` a failed read adds: [`Vm::missing_attribute`]).
    pub fn no_attribute(&self, obj: &Value, name: Sym) -> Exc {
        match obj {
            Value::Class(c) => {
                Exc::attribute_error(format!("type object '{}' has no attribute '{}'", c.tp_name(), name))
            }
            Value::Module(m) => Exc::attribute_error(format!("module '{}' has no attribute '{}'", m.name, name)),
            _ => Exc::attribute_error(format!("'{}' object has no attribute '{}'", self.type_name(obj), name)),
        }
    }

    /// `obj.name`, or `None` when absent (no `AttributeError` built).
    pub fn get_attr_opt(&mut self, obj: &Value, name: Sym) -> Res<Option<Value>> {
        match obj {
            Value::Instance(inst) => {
                if let Some(ga) = self.custom_getattribute(&inst.class) {
                    return self.call_getattribute(&ga, inst, obj, name);
                }
                match self.generic_get_attr(inst, obj, name) {
                    Ok(Some(v)) => return Ok(Some(v)),
                    Ok(None) => {}
                    // An `AttributeError` from a property or descriptor falls back to
                    // `__getattr__` too, as in CPython.
                    Err(e) => return self.getattr_after_error(e, inst, obj, name),
                }
                if let Some(ga) = inst.class.lookup(self.syms.getattr) {
                    return self.call(&ga, vec![obj.clone(), Value::str(&name.as_rc())]).map(Some);
                }
                Ok(None)
            }
            Value::Class(c) => self.class_attr(c, name),
            Value::Module(m) => match m.get(name) {
                // A module without annotations gets an empty `__annotations__` when asked.
                None if name == self.syms.annotations => {
                    let d = Value::dict(super::dict::Dict::new());
                    m.set(name, d.clone());
                    Ok(Some(d))
                }
                found => Ok(found),
            },
            Value::Function(f) => match self.function_attr(f, name) {
                None if &*name.as_rc() == "__kwdefaults__" => self.function_kwdefaults(f).map(Some),
                other => Ok(other),
            },
            Value::BoundMethod(m) => {
                if name == Sym::new("__self__") {
                    return Ok(Some(m.receiver.clone()));
                }
                if name == Sym::new("__func__") {
                    return Ok(Some(m.func.clone()));
                }
                let f = m.func.clone();
                self.get_attr_opt(&f, name)
            }
            Value::Descriptor(d) => {
                if let Descriptor::Super { cls, obj: this } = &**d {
                    let start = self.class_of_for_super(this);
                    let mro: Vec<Rc<Class>> = std::iter::once(start.clone()).chain(start.mro.iter().cloned()).collect();
                    let pos = mro.iter().position(|c| Rc::ptr_eq(c, cls)).map(|p| p + 1).unwrap_or(mro.len());
                    for c in &mro[pos..] {
                        let found = c.dict.borrow().get(&name).cloned();
                        if let Some(a) = found {
                            if let Value::Class(_) = this {
                                if let Value::Function(_) = a {
                                    return Ok(Some(a));
                                }
                            }
                            return self.bind_class_attr(a, this, &start).map(Some);
                        }
                    }
                    return Ok(None);
                }
                match (&**d, name.to_string_owned().as_str()) {
                    (Descriptor::Property { fget, .. }, "fget") => Ok(Some(fget.clone())),
                    (Descriptor::Property { fset, .. }, "fset") => Ok(Some(fset.clone())),
                    (Descriptor::Property { fdel, .. }, "fdel") => Ok(Some(fdel.clone())),
                    (Descriptor::Property { doc, .. }, "__doc__") => Ok(Some(doc.clone())),
                    (Descriptor::Property { .. }, "setter" | "getter" | "deleter") => {
                        let class = self.class_of(obj);
                        self.bind_builtin_method(&class, obj, name)
                    }
                    (Descriptor::StaticMethod(f) | Descriptor::ClassMethod(f), "__func__") => Ok(Some(f.clone())),
                    _ => Ok(None),
                }
            }
            Value::Other(o) => {
                let o = o.clone();
                match o.get_attr(self, obj, name)? {
                    None if name == self.syms.class => Ok(Some(Value::Class(self.class_of(obj)))),
                    found => Ok(found),
                }
            }
            _ => {
                let class = self.class_of(obj);
                if let Some(v) = self.bind_builtin_method(&class, obj, name)? {
                    return Ok(Some(v));
                }
                if name == self.syms.class {
                    return Ok(Some(Value::Class(class)));
                }
                self.builtin_value_attr(obj, name)
            }
        }
    }

    /// `object.__getattribute__`: the instance's attribute as the class's descriptors
    /// allow, without a custom `__getattribute__` or the `__getattr__` fallback.
    pub(crate) fn generic_get_attr(&mut self, inst: &Rc<Instance>, obj: &Value, name: Sym) -> Res<Option<Value>> {
        // Fast path: an instance attribute that no class descriptor overrides.
        if !inst.class.may_have_descriptor(name) {
            if let Some(v) = inst.get_attr(name) {
                return Ok(Some(v));
            }
        }
        let class = inst.class.clone();
        let cls_attr = class.lookup(name);
        if let Some(Value::Descriptor(d)) = &cls_attr {
            if let Descriptor::Property { fget, .. } = &**d {
                if fget.is_none() {
                    return Err(Exc::attribute_error(format!(
                        "property '{}' of '{}' object has no getter",
                        name,
                        class.qualname.borrow()
                    )));
                }
                let f = fget.clone();
                return self.call(&f, vec![obj.clone()]).map(Some);
            }
        }
        if let Some(v) = inst.get_attr(name) {
            return Ok(Some(v));
        }
        if let Some(a) = cls_attr {
            return self.bind_class_attr(a, obj, &class).map(Some);
        }
        if name == self.syms.class {
            return Ok(Some(Value::Class(class)));
        }
        if name == self.syms.dict {
            return Ok(Some(Value::Dict(inst.namespace_dict())));
        }
        if class.layout == super::value::Layout::Exception {
            if let Some(v) = self.exception_default_attr(name) {
                return Ok(Some(v));
            }
            if class.is_subclass(self.exc_class(ExcKind::ImportError))
                && name.with_str(|s| matches!(s, "name" | "path" | "msg"))
            {
                return Ok(Some(Value::None));
            }
            if class.is_subclass(self.exc_class(ExcKind::OSError))
                && name.with_str(|s| matches!(s, "errno" | "strerror" | "filename" | "filename2"))
            {
                return Ok(Some(Value::None));
            }
        }
        Ok(None)
    }

    /// A class's own `__getattribute__` (one that is not `object`'s).
    #[inline(always)]
    pub(crate) fn custom_getattribute(&self, class: &Class) -> Option<Value> {
        lookup_override(class, self.syms.getattribute)
    }

    /// `obj.name` through a custom `__getattribute__`, falling back to `__getattr__` on an
    /// `AttributeError` as CPython's `slot_tp_getattr_hook` does.
    fn call_getattribute(&mut self, ga: &Value, inst: &Rc<Instance>, obj: &Value, name: Sym) -> Res<Option<Value>> {
        let name_v = Value::str(&name.as_rc());
        match self.call(ga, vec![obj.clone(), name_v.clone()]) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let Some(getattr) = inst.class.lookup(self.syms.getattr) else { return Err(e) };
                let inst_e = self.materialize(e);
                if !inst_e.class.is_subclass(self.exc_class(ExcKind::AttributeError)) {
                    return Err(Exc::Obj(inst_e));
                }
                self.call(&getattr, vec![obj.clone(), name_v]).map(Some)
            }
        }
    }

    /// `C.__annotations__` of a class made by a `class` statement (CPython's heap types):
    /// its own, never a base's, made empty on first use; `None` for a built-in type.
    fn class_annotations(&self, c: &Rc<Class>) -> Option<Value> {
        let builtin = c.builtin.is_some()
            || c.layout == super::value::Layout::Builtin
            || c.tp_name.get().is_some()
            || self.is_builtin_exc(c);
        if builtin {
            return None;
        }
        let name = self.syms.annotations;
        if let Some(v) = c.dict.borrow().get(&name) {
            return Some(v.clone());
        }
        let d = Value::dict(super::dict::Dict::new());
        c.dict.borrow_mut().insert(name, d.clone());
        super::value::bump_class_epoch();
        Some(d)
    }

    /// `e` raised while reading `inst.name`: an `AttributeError` gives the class's
    /// `__getattr__` its turn; anything else, or no `__getattr__`, propagates.
    #[cold]
    fn getattr_after_error(&mut self, e: Exc, inst: &Rc<Instance>, obj: &Value, name: Sym) -> Res<Option<Value>> {
        let Some(getattr) = inst.class.lookup(self.syms.getattr) else { return Err(e) };
        let inst_e = self.materialize(e);
        if !inst_e.class.is_subclass(self.exc_class(ExcKind::AttributeError)) {
            return Err(Exc::Obj(inst_e));
        }
        self.call(&getattr, vec![obj.clone(), Value::str(&name.as_rc())]).map(Some)
    }

    fn class_of_for_super(&self, this: &Value) -> Rc<Class> {
        match this {
            Value::Class(c) => c.clone(),
            other => self.class_of(other),
        }
    }

    fn bind_builtin_method(&mut self, class: &Rc<Class>, obj: &Value, name: Sym) -> Res<Option<Value>> {
        match class.lookup(name) {
            Some(Value::Native(n)) => Ok(Some(Value::Native(Rc::new(NativeFunction {
                fast: None,
                name: n.name,
                func: n.func,
                receiver: Some(obj.clone()),
                owner: n.owner,
            })))),
            Some(Value::Descriptor(d)) if matches!(&*d, Descriptor::ClassMethod(_)) => {
                let Descriptor::ClassMethod(f) = &*d else { return Ok(None) };
                Ok(Some(bind(f.clone(), Value::Class(class.clone()))))
            }
            Some(other) => Ok(Some(other)),
            None => Ok(None),
        }
    }

    /// Binds a class attribute found for an instance: functions become bound methods.
    fn bind_class_attr(&mut self, a: Value, obj: &Value, class: &Rc<Class>) -> Res<Value> {
        Ok(match a {
            Value::Function(_) => bind(a, obj.clone()),
            Value::Native(n) if binds(&n) => Value::Native(Rc::new(NativeFunction {
                fast: None,
                name: n.name,
                func: n.func,
                receiver: Some(obj.clone()),
                owner: n.owner,
            })),
            Value::Descriptor(d) => match &*d {
                Descriptor::StaticMethod(f) => f.clone(),
                Descriptor::ClassMethod(f) => bind(f.clone(), Value::Class(class.clone())),
                Descriptor::Property { fget, .. } => {
                    let f = fget.clone();
                    self.call(&f, vec![obj.clone()])?
                }
                _ => Value::Descriptor(d.clone()),
            },
            Value::Instance(ref i) => {
                // A descriptor object defined in script (`__get__`).
                if let Some(get) = i.class.lookup(self.syms.get) {
                    let owner = Value::Class(class.clone());
                    self.call(&get, vec![a.clone(), obj.clone(), owner])?
                } else {
                    a
                }
            }
            other => other,
        })
    }

    fn class_attr(&mut self, c: &Rc<Class>, name: Sym) -> Res<Option<Value>> {
        if name == self.syms.annotations {
            if let Some(d) = self.class_annotations(c) {
                return Ok(Some(d));
            }
        }
        if let Some(a) = c.lookup(name) {
            return Ok(Some(match a {
                Value::Descriptor(d) => match &*d {
                    Descriptor::StaticMethod(f) => f.clone(),
                    Descriptor::ClassMethod(f) => bind(f.clone(), Value::Class(c.clone())),
                    _ => Value::Descriptor(d.clone()),
                },
                Value::Instance(ref i) => {
                    if let Some(get) = i.class.lookup(self.syms.get) {
                        self.call(&get, vec![a.clone(), Value::None, Value::Class(c.clone())])?
                    } else {
                        a
                    }
                }
                other => other,
            }));
        }
        let s = name.to_string_owned();
        Ok(match s.as_str() {
            "__name__" => Some(Value::str(&c.name)),
            "__qualname__" => Some(Value::str(&c.qualname.borrow())),
            "__mro__" => {
                let mut v = vec![Value::Class(c.clone())];
                v.extend(c.mro.iter().map(|m| Value::Class(m.clone())));
                Some(Value::tuple(v))
            }
            "mro" => {
                Some(crate::builtins::bound_native(Value::Class(c.clone()), "mro", crate::builtins::methods::class_mro))
            }
            "__bases__" => Some(Value::tuple(c.bases.iter().map(|b| Value::Class(b.clone())).collect())),
            "__base__" => Some(c.bases.first().map(|b| Value::Class(b.clone())).unwrap_or(Value::None)),
            "__class__" => Some(Value::Class(self.type_class(super::TypeId::Type).clone())),
            "__doc__" => Some(Value::None),
            "__module__" => Some(Value::str("builtins")),
            "__dict__" => {
                let pairs: Vec<Value> =
                    c.dict.borrow().iter().flat_map(|(k, v)| [Value::str(&k.as_rc()), v.clone()]).collect();
                Some(self.new_dict_from_pairs(pairs)?)
            }
            _ => None,
        })
    }

    /// `f.__kwdefaults__`: the keyword-only defaults as a new dict, or `None`.
    fn function_kwdefaults(&mut self, f: &Rc<super::value::Function>) -> Res<Value> {
        if f.kwdefaults.is_empty() {
            return Ok(Value::None);
        }
        let pairs = f.kwdefaults.iter().flat_map(|(k, v)| [Value::str(&k.as_rc()), v.clone()]).collect();
        self.new_dict_from_pairs(pairs)
    }

    fn function_attr(&self, f: &Rc<super::value::Function>, name: Sym) -> Option<Value> {
        if name == self.syms.dict {
            return Some(Value::Dict(f.namespace_dict()));
        }
        if let Some(v) = f.get_attr(name) {
            return Some(v);
        }
        let s = name.to_string_owned();
        Some(match s.as_str() {
            "__name__" => Value::str(&f.name.borrow()),
            "__qualname__" => Value::str(&f.qualname.borrow()),
            "__doc__" => f.doc.clone(),
            "__module__" => f.globals.get(self.syms.name).unwrap_or(Value::None),
            "__code__" => Value::Code(f.code.clone()),
            "__defaults__" => {
                if f.defaults.is_empty() {
                    Value::None
                } else {
                    Value::tuple(f.defaults.clone())
                }
            }
            "__globals__" => Value::Module(f.globals.clone()),
            "__annotations__" => Value::Dict(f.annotations_dict()),
            "__closure__" => {
                if f.closure.is_empty() {
                    Value::None
                } else {
                    Value::tuple(f.closure.iter().map(|c| Value::Cell(c.clone())).collect())
                }
            }
            _ => return None,
        })
    }

    fn exception_default_attr(&self, name: Sym) -> Option<Value> {
        if name == self.syms.cause || name == self.syms.context || name == self.syms.traceback {
            return Some(Value::None);
        }
        if name == self.syms.suppress_context {
            return Some(Value::Bool(false));
        }
        None
    }

    /// Attributes of built-in values that are not methods (`int.real`, `slice.start`, ...).
    fn builtin_value_attr(&mut self, obj: &Value, name: Sym) -> Res<Option<Value>> {
        let s = name.to_string_owned();
        Ok(match (obj, s.as_str()) {
            (Value::Int(_) | Value::BigInt(_) | Value::Bool(_), "real" | "numerator") => {
                Some(self.unary_op(crate::ast::UnaryOp::UAdd, obj.clone())?)
            }
            (Value::Int(_) | Value::BigInt(_) | Value::Bool(_), "imag") => Some(Value::Int(0)),
            (Value::Int(_) | Value::BigInt(_) | Value::Bool(_), "denominator") => Some(Value::Int(1)),
            (Value::Float(f), "real") => Some(Value::Float(*f)),
            (Value::Float(_), "imag") => Some(Value::Float(0.0)),
            (Value::Slice(sl), "start") => Some(sl.start.clone()),
            (Value::Slice(sl), "stop") => Some(sl.stop.clone()),
            (Value::Slice(sl), "step") => Some(sl.step.clone()),
            (Value::Range(r), "start") => Some(Value::from_bigint(r.parts().0)),
            (Value::Range(r), "stop") => Some(Value::from_bigint(r.parts().1)),
            (Value::Range(r), "step") => Some(Value::from_bigint(r.parts().2)),
            (Value::Native(n), "__name__") => Some(Value::str(n.name)),
            (Value::Native(n), "__qualname__") => Some(Value::str(&match n.owner {
                Some(o) => format!("{o}.{}", n.name),
                None => n.name.to_string(),
            })),
            (Value::Native(n), "__self__") => n.receiver.clone(),
            (Value::Native(_), "__doc__") => Some(Value::None),
            (Value::Gen(g), "__name__") => Some(Value::str(g.name())),
            (Value::Gen(g), "__qualname__") => Some(Value::str(g.qualname())),
            (Value::Gen(g), _) => self.gen_attr(g, &s),
            (Value::Code(c), "co_name") => Some(Value::str(&c.name)),
            (Value::Code(c), "co_filename") => Some(Value::str(&c.filename)),
            (Value::Code(c), "co_firstlineno") => Some(Value::Int(c.first_line as i64)),
            (Value::Code(c), "co_qualname") => Some(Value::str(&c.qualname)),
            (Value::Code(c), "co_argcount") => Some(Value::Int(c.argcount as i64)),
            (Value::Code(c), "co_posonlyargcount") => Some(Value::Int(c.posonlyargcount as i64)),
            (Value::Code(c), "co_kwonlyargcount") => Some(Value::Int(c.kwonlyargcount as i64)),
            (Value::Code(c), "co_varnames") => {
                Some(Value::tuple(c.varnames.iter().map(|n| Value::str(&n.as_rc())).collect()))
            }
            (Value::Cell(c), "cell_contents") => {
                let v = c.borrow().clone();
                if v.is_undef() {
                    return Err(Exc::value_error("Cell is empty"));
                }
                Some(v)
            }
            (Value::Module(m), "__name__") => Some(Value::str(&m.name)),
            _ => None,
        })
    }

    /// `obj.name = value`.
    pub fn set_attr(&mut self, obj: &Value, name: Sym, value: Value) -> Res<()> {
        match obj {
            Value::Instance(inst) => {
                // Fast path: a plain object with no descriptor and no custom `__setattr__`.
                let setattr = self.syms.setattr;
                if inst.class.builtin.is_none()
                    && !inst.class.may_have_descriptor(name)
                    && inst
                        .class
                        .with_lookup(setattr, |v| !matches!(v, Some(Value::Function(_) | Value::BoundMethod(_))))
                {
                    return self.store_instance_attr(inst, name, value);
                }
                if let Some(sa) = inst.class.lookup(self.syms.setattr) {
                    if !matches!(sa, Value::Native(_)) {
                        self.call(&sa, vec![obj.clone(), Value::str(&name.as_rc()), value])?;
                        return Ok(());
                    }
                }
                self.generic_set_attr(inst, obj, name, value)
            }
            Value::Class(c) => {
                if c.builtin.is_some() {
                    return Err(Exc::type_error(format!(
                        "cannot set '{}' attribute of immutable type '{}'",
                        name, c.name
                    )));
                }
                c.dict.borrow_mut().insert(name, value);
                super::value::bump_class_epoch();
                c.version.set(c.version.get().wrapping_add(1));
                Ok(())
            }
            Value::Module(m) => {
                m.set(name, value);
                Ok(())
            }
            Value::Other(o) => match o.clone().set_attr(self, obj, name, value) {
                Some(r) => r,
                None => Err(self.no_attribute(obj, name)),
            },
            Value::Function(f) => {
                let s = name.to_string_owned();
                match s.as_str() {
                    "__name__" => {
                        if let Value::Str(v) = &value {
                            *f.name.borrow_mut() = Rc::from(v.as_str());
                        }
                    }
                    "__qualname__" => {
                        if let Value::Str(v) = &value {
                            *f.qualname.borrow_mut() = Rc::from(v.as_str());
                        }
                    }
                    "__dict__" => match value {
                        Value::Dict(d) => *f.dict.borrow_mut() = Some(d),
                        other => return Err(self.dict_must_be_dict(&other)),
                    },
                    // `None` leaves none, so the next read makes an empty dict.
                    "__annotations__" => match value {
                        Value::Dict(d) => *f.annotations.borrow_mut() = Some(d),
                        Value::None => *f.annotations.borrow_mut() = None,
                        _ => return Err(Exc::type_error("__annotations__ must be set to a dict object")),
                    },
                    _ => ns_set(&f.namespace_dict(), name, value),
                }
                Ok(())
            }
            _ => Err(Exc::attribute_error(format!("'{}' object has no attribute '{}'", self.type_name(obj), name))),
        }
    }

    /// `object.__setattr__`: a property's or descriptor's setter, else the instance
    /// attribute (no custom `__setattr__`).
    pub(crate) fn generic_set_attr(&mut self, inst: &Rc<Instance>, obj: &Value, name: Sym, value: Value) -> Res<()> {
        let class = inst.class.clone();
        if let Some(a) = class.lookup(name) {
            if let Value::Descriptor(d) = &a {
                if let Descriptor::Property { fset, .. } = &**d {
                    if fset.is_none() {
                        return Err(Exc::attribute_error(format!(
                            "property '{}' of '{}' object has no setter",
                            name,
                            class.qualname.borrow()
                        )));
                    }
                    let f = fset.clone();
                    self.call(&f, vec![obj.clone(), value])?;
                    return Ok(());
                }
            }
            if let Value::Instance(di) = &a {
                if let Some(set) = di.class.lookup(self.syms.set) {
                    self.call(&set, vec![a.clone(), obj.clone(), value])?;
                    return Ok(());
                }
            }
        }
        if class.builtin.is_some() {
            return Err(Exc::attribute_error(format!("'{}' object has no attribute '{}'", class.tp_name(), name)));
        }
        self.store_instance_attr(inst, name, value)
    }

    /// `del obj.name`.
    pub fn del_attr(&mut self, obj: &Value, name: Sym) -> Res<()> {
        match obj {
            Value::Instance(inst) => {
                if let Some(da) = lookup_override(&inst.class, self.syms.delattr) {
                    self.call(&da, vec![obj.clone(), Value::str(&name.as_rc())])?;
                    return Ok(());
                }
                self.generic_del_attr(inst, obj, name)
            }
            Value::Class(c) => {
                let removed = c.dict.borrow_mut().remove(&name);
                super::value::bump_class_epoch();
                if removed.is_some() {
                    Ok(())
                } else {
                    Err(self.no_attribute(obj, name))
                }
            }
            Value::Module(m) => {
                if m.remove(name).is_some() {
                    Ok(())
                } else {
                    Err(self.no_attribute(obj, name))
                }
            }
            Value::Function(f) => {
                if name == self.syms.dict {
                    return Err(Exc::type_error("cannot delete __dict__"));
                }
                if &*name.as_rc() == "__annotations__" {
                    *f.annotations.borrow_mut() = None;
                    return Ok(());
                }
                let d = f.dict.borrow().clone();
                if d.is_some_and(|d| ns_del(&d, name)) {
                    Ok(())
                } else {
                    Err(self.no_attribute(obj, name))
                }
            }
            _ => Err(self.no_attribute(obj, name)),
        }
    }

    /// `object.__delattr__`: a property's deleter, else the instance attribute.
    pub(crate) fn generic_del_attr(&mut self, inst: &Rc<Instance>, obj: &Value, name: Sym) -> Res<()> {
        if let Some(Value::Descriptor(d)) = inst.class.lookup(name) {
            if let Descriptor::Property { fdel, .. } = &*d {
                if fdel.is_none() {
                    return Err(Exc::attribute_error(format!(
                        "property '{}' of '{}' object has no deleter",
                        name,
                        inst.class.qualname.borrow()
                    )));
                }
                let f = fdel.clone();
                self.call(&f, vec![obj.clone()])?;
                return Ok(());
            }
        }
        if name == self.syms.dict {
            // CPython gives the instance a fresh, empty namespace.
            inst.set_namespace(DictObj::new_rc(super::dict::Dict::new()));
            return Ok(());
        }
        if inst.del_attr(name) {
            Ok(())
        } else {
            Err(self.no_attribute(obj, name))
        }
    }

    /// Stores an instance attribute once no descriptor or `__setattr__` intervenes:
    /// `obj.__dict__ = d` replaces the namespace (a `dict` only, as in CPython).
    pub(crate) fn store_instance_attr(&self, inst: &Instance, name: Sym, value: Value) -> Res<()> {
        if name == self.syms.dict {
            return match value {
                Value::Dict(d) => {
                    inst.set_namespace(d);
                    Ok(())
                }
                other => Err(self.dict_must_be_dict(&other)),
            };
        }
        inst.set_attr(name, value);
        Ok(())
    }

    /// CPython's error for assigning something other than a dict to `__dict__`.
    fn dict_must_be_dict(&self, v: &Value) -> Exc {
        Exc::type_error(format!("__dict__ must be set to a dictionary, not a '{}'", self.type_name(v)))
    }

    /// Method lookup for `obj.name(...)` without creating a bound method when possible.
    /// Returns `(function, obj)` for a method, or `(attribute, Undef)`.
    pub fn load_method(&mut self, obj: Value, name: Sym) -> Res<(Value, Value)> {
        match &obj {
            Value::Instance(inst) => {
                if self.custom_getattribute(&inst.class).is_some() {
                    let v = self.get_attr(&obj, name)?;
                    return Ok((v, Value::Undef));
                }
                if let Some(a) = inst.class.lookup(name) {
                    let method = match &a {
                        Value::Function(_) => true,
                        Value::Native(n) => binds(n),
                        _ => false,
                    };
                    if method && inst.get_attr(name).is_none() {
                        return Ok((a, obj));
                    }
                }
                let v = self.get_attr(&obj, name)?;
                Ok((v, Value::Undef))
            }
            Value::Module(m) => match m.get(name) {
                Some(v) => Ok((v, Value::Undef)),
                None => Err(self.missing_attribute(&obj, name)),
            },
            Value::Other(o) => match o.method(name) {
                Some(f) => Ok((f, obj)),
                None => {
                    let v = self.get_attr(&obj, name)?;
                    Ok((v, Value::Undef))
                }
            },
            Value::Class(_) | Value::Function(_) | Value::Descriptor(_) | Value::BoundMethod(_) => {
                let v = self.get_attr(&obj, name)?;
                Ok((v, Value::Undef))
            }
            _ => {
                let id = method_cache_type(&obj);
                if let Some(f) = id.and_then(|id| self.method_cache.get(id, name)) {
                    return Ok((f, obj));
                }
                let class = self.class_of(&obj);
                match class.lookup(name) {
                    Some(f @ Value::Native(_)) => {
                        if let Some(id) = id {
                            self.method_cache.put(id, name, &f);
                        }
                        Ok((f, obj))
                    }
                    _ => {
                        let v = self.get_attr(&obj, name)?;
                        Ok((v, Value::Undef))
                    }
                }
            }
        }
    }
}

/// Whether a built-in found on a class binds to the instance it is looked up on: the
/// methods of built-in types do, as CPython's method descriptors; built-in functions
/// (`len`, `math.sqrt`) stored as class attributes do not, as CPython's are no descriptors.
fn binds(n: &NativeFunction) -> bool {
    n.receiver.is_none() && n.owner.is_some()
}

/// The built-in types whose method lookups `MethodCache` keeps: their values' class is
/// fixed by the value's kind.
#[inline]
pub(crate) fn method_cache_type(v: &Value) -> Option<TypeId> {
    Some(match v {
        Value::Str(_) => TypeId::Str,
        Value::List(_) => TypeId::List,
        Value::Dict(_) => TypeId::Dict,
        Value::Set(_) => TypeId::Set,
        Value::Tuple(_) => TypeId::Tuple,
        Value::Bytes(_) => TypeId::Bytes,
        Value::Int(_) => TypeId::Int,
        Value::Float(_) => TypeId::Float,
        _ => return None,
    })
}

const METHOD_CACHE_SIZE: usize = 64;

#[derive(Clone, Default)]
struct MethodCacheEntry {
    ty: Option<TypeId>,
    name: u32,
    epoch: u64,
    method: Option<Value>,
}

/// A direct-mapped cache of built-in types' native methods (`d.get`, `s.join`, ...) by
/// type and name, valid while the class epoch is unchanged.
#[derive(Default)]
pub(crate) struct MethodCache {
    entries: Vec<MethodCacheEntry>,
}

impl MethodCache {
    #[inline]
    fn slot(ty: TypeId, name: Sym) -> usize {
        ((name.0.wrapping_mul(0x9E37_79B1) >> 26) as usize ^ ty as usize) % METHOD_CACHE_SIZE
    }
    /// The cached method, if any.
    #[inline]
    fn get(&self, ty: TypeId, name: Sym) -> Option<Value> {
        self.lookup(ty, name).cloned()
    }
    /// The cached method, by reference (the dispatch loop copies it into its stack slot).
    #[inline]
    pub(crate) fn lookup(&self, ty: TypeId, name: Sym) -> Option<&Value> {
        let e = self.entries.get(Self::slot(ty, name))?;
        if e.ty == Some(ty) && e.name == name.0 && e.epoch == super::value::class_epoch() {
            e.method.as_ref()
        } else {
            None
        }
    }
    /// Records a lookup.
    fn put(&mut self, ty: TypeId, name: Sym, method: &Value) {
        if self.entries.is_empty() {
            self.entries.resize(METHOD_CACHE_SIZE, MethodCacheEntry::default());
        }
        let epoch = super::value::class_epoch();
        self.entries[Self::slot(ty, name)] =
            MethodCacheEntry { ty: Some(ty), name: name.0, epoch, method: Some(method.clone()) };
    }
}

/// Binds a function to a receiver.
pub fn bind(func: Value, receiver: Value) -> Value {
    Value::bound_method(receiver, func)
}

/// True when `v` is one of `object`'s own methods: the default every class inherits,
/// which the VM's protocol hooks treat as "not overridden".
#[inline(always)]
pub(crate) fn is_object_default(v: &Value) -> bool {
    match v {
        Value::Native(n) => n.owner == Some("object"),
        Value::Descriptor(d) => {
            matches!(&**d, Descriptor::ClassMethod(Value::Native(n)) | Descriptor::StaticMethod(Value::Native(n))
                if n.owner == Some("object"))
        }
        _ => false,
    }
}

/// The class's override of an `object` method `name`: `None` when the lookup finds
/// nothing or `object`'s own.
#[inline(always)]
pub(crate) fn lookup_override(class: &Class, name: Sym) -> Option<Value> {
    // A yes/no probe first: the default path (most classes) clones nothing.
    // `object`'s slot methods are plain natives (its class methods are not hooked).
    if class.with_lookup(name, |v| match v {
        Some(Value::Native(n)) => n.owner != Some("object"),
        v => v.is_some(),
    }) {
        class.lookup(name)
    } else {
        None
    }
}
