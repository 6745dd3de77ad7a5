//! Native classes: Rust data with methods and properties that scripts instantiate, call
//! and pass around like any object.
//!
//! ```
//! use aio::embed::{ClassBuilder, ModuleBuilder, New};
//!
//! struct Counter { n: i64 }
//!
//! let counter = ClassBuilder::<Counter>::new("Counter")
//!     .constructor(|start: Option<i64>| Counter { n: start.unwrap_or(0) })
//!     .method("add", |c: &mut Counter, k: i64| { c.n += k; c.n })
//!     .getter("value", |c: &Counter| c.n)
//!     .setter("value", |c: &mut Counter, v: i64| c.n = v)
//!     .method("__repr__", |c: &mut Counter| format!("Counter({})", c.n))
//!     .static_fn("zero", || New(Counter { n: 0 }));
//! let mut engine = aio::Engine::new();
//! engine.register_module(ModuleBuilder::new("host").class(counter)).unwrap();
//! engine.exec("import host\nc = host.Counter(5)\nc.add(2)\nc.value += 1").unwrap();
//! assert_eq!(engine.eval::<String>("repr(c)").unwrap(), "Counter(8)");
//! assert!(engine.eval::<bool>("isinstance(c, host.Counter)").unwrap());
//! assert_eq!(engine.eval::<i64>("host.Counter.zero().value").unwrap(), 0);
//! let c: aio::embed::Object<Counter> = engine.get("c").unwrap();
//! assert_eq!(c.borrow().n, 8);
//! ```

use super::convert::{FromValue, ToValue};
use super::function::{arg, check_arity, HostFn, HostFunction, RawFn};
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Descriptor, Layout, Value};
use crate::vm::{Exc, Res, Sym, TypeId, Vm};
use std::any::Any;
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::marker::PhantomData;
use std::rc::Rc;

/// A host class's name as a `&'static str` (native objects report their type name so);
/// each distinct name is leaked once per process.
fn static_name(name: &str) -> &'static str {
    use std::sync::Mutex;
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(n);
    n
}

/// A registered host class: its script class and the name instances report.
pub(crate) struct ClassInfo {
    pub(crate) class: Rc<Class>,
    pub(crate) name: &'static str,
}

/// An instance of a host class: the Rust value, shared with [`Object`] handles.
pub struct HostObject<T: 'static> {
    info: Rc<ClassInfo>,
    data: Rc<RefCell<T>>,
}

impl<T: 'static> NativeObject for HostObject<T> {
    fn type_name(&self) -> &'static str {
        self.info.name
    }
    fn class(&self) -> Option<Rc<Class>> {
        Some(self.info.class.clone())
    }
    fn get_attr(&self, vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let found = self.info.class.dict.borrow().get(&name).cloned();
        match found {
            Some(Value::Descriptor(d)) => match &*d {
                Descriptor::Property { fget, .. } => {
                    if fget.is_none() {
                        return Err(Exc::attribute_error(format!(
                            "property '{name}' of '{}' object has no getter",
                            self.info.name
                        )));
                    }
                    let f = fget.clone();
                    vm.call(&f, vec![this.clone()]).map(Some)
                }
                Descriptor::StaticMethod(f) => Ok(Some(f.clone())),
                _ => Ok(Some(Value::Descriptor(d))),
            },
            Some(f @ Value::Other(_)) => {
                Ok(Some(crate::vm::value::Value::BoundMethod(Rc::new(crate::vm::value::BoundMethod {
                    receiver: this.clone(),
                    func: f,
                }))))
            }
            Some(other) => Ok(Some(other)),
            None if name == vm.syms.class => Ok(Some(Value::Class(self.info.class.clone()))),
            None => Ok(None),
        }
    }
    fn set_attr(&self, vm: &mut Vm, this: &Value, name: Sym, value: Value) -> Option<Res<()>> {
        let found = self.info.class.dict.borrow().get(&name).cloned();
        Some(match found {
            Some(Value::Descriptor(d)) => match &*d {
                Descriptor::Property { fset, .. } if !fset.is_none() => {
                    let f = fset.clone();
                    vm.call(&f, vec![this.clone(), value]).map(|_| ())
                }
                Descriptor::Property { .. } => {
                    Err(Exc::attribute_error(format!("property '{name}' of '{}' object has no setter", self.info.name)))
                }
                _ => Err(Exc::attribute_error(format!("'{}' object attribute '{name}' is read-only", self.info.name))),
            },
            Some(_) => {
                Err(Exc::attribute_error(format!("'{}' object attribute '{name}' is read-only", self.info.name)))
            }
            None => Err(Exc::attribute_error(format!("'{}' object has no attribute '{name}'", self.info.name))),
        })
    }
    fn repr(&self) -> String {
        let module = match self.info.class.dict.borrow().get(&Sym::new("__module__")) {
            Some(Value::Str(s)) => format!("{}.", s.as_str()),
            _ => String::new(),
        };
        format!("<{module}{} object>", self.info.name)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A handle on a host object from Rust: borrow the data, or hand the object back to the
/// script (it is the same object). Converts from a script value of the class.
pub struct Object<T: 'static> {
    value: Value,
    data: Rc<RefCell<T>>,
}

impl<T: 'static> Clone for Object<T> {
    fn clone(&self) -> Self {
        Object { value: self.value.clone(), data: self.data.clone() }
    }
}

impl<T: 'static> Object<T> {
    /// Wraps `data` as an instance of its registered class (a `TypeError` if `T` was not
    /// registered with a [`ClassBuilder`]).
    pub fn new(vm: &mut Vm, data: T) -> Res<Object<T>> {
        let info = vm.host.classes.borrow().get(&std::any::TypeId::of::<T>()).cloned();
        let Some(info) = info else {
            return Err(Exc::type_error(format!(
                "Rust type {} is not registered as a class",
                std::any::type_name::<T>()
            )));
        };
        vm.mem_charge(std::mem::size_of::<T>() + 64)?;
        let data = Rc::new(RefCell::new(data));
        let value = Value::Other(Rc::new(HostObject { info, data: data.clone() }));
        Ok(Object { value, data })
    }
    /// Borrows the data (a panic if a method is mutating it right now — that is, only from
    /// within a method of the same object).
    pub fn borrow(&self) -> Ref<'_, T> {
        self.data.borrow()
    }
    /// Borrows the data mutably.
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        self.data.borrow_mut()
    }
    /// The script value.
    pub fn value(&self) -> Value {
        self.value.clone()
    }
}

impl<T: 'static> ToValue for Object<T> {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(self.value)
    }
}

impl<T: 'static> FromValue for Object<T> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        if let Value::Other(o) = &v {
            if let Some(h) = o.as_any().downcast_ref::<HostObject<T>>() {
                let data = h.data.clone();
                return Ok(Object { value: v, data });
            }
        }
        Err(super::convert::wrong_type::<Self>(vm, &v))
    }
    fn type_desc() -> String {
        let short = std::any::type_name::<T>().rsplit("::").next().unwrap_or("object");
        short.to_string()
    }
}

/// A new host object, for host functions to return: `New(Counter { n: 0 })` becomes an
/// instance of `T`'s registered class.
pub struct New<T: 'static>(pub T);

impl<T: 'static> ToValue for New<T> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        Object::new(vm, self.0).map(|o| o.value)
    }
}

/// The data of the receiver of a method call.
fn receiver<T: 'static>(vm: &Vm, name: &str, this: Option<&Value>) -> Res<Rc<RefCell<T>>> {
    if let Some(Value::Other(o)) = this {
        if let Some(h) = o.as_any().downcast_ref::<HostObject<T>>() {
            return Ok(h.data.clone());
        }
    }
    let got = this.map(|v| vm.type_name(v).to_string()).unwrap_or_else(|| "nothing".into());
    Err(Exc::type_error(format!("descriptor '{name}' needs a {} object, got {got}", short_name::<T>())))
}

fn short_name<T>() -> &'static str {
    std::any::type_name::<T>().rsplit("::").next().unwrap_or("object")
}

fn busy(class: &str) -> Exc {
    Exc::runtime_error(format!("{class} object is already in use (a method of it is running)"))
}

/// A method of a host class: `Fn(&mut T, A1, ..., An) -> R` with up to 6 [`FromValue`]
/// arguments (`Marker` is inferred; hosts never name it).
pub trait HostMethod<T, Marker>: 'static {
    /// What the method returns.
    type Output;
    /// Converts the arguments, borrows the receiver and calls the method.
    fn call_method(&self, vm: &mut Vm, name: &str, this: &RefCell<T>, args: Vec<Value>) -> Res<Self::Output>;
}

macro_rules! host_method {
    ($($a:ident $i:literal),*) => {
        impl<T: 'static, F, R, $($a: FromValue),*> HostMethod<T, ($($a,)*)> for F
        where
            F: Fn(&mut T, $($a),*) -> R + 'static,
        {
            type Output = R;
            #[allow(unused_mut, unused_variables)]
            fn call_method(&self, vm: &mut Vm, name: &str, this: &RefCell<T>, args: Vec<Value>) -> Res<R> {
                check_arity(name, args.len(), &[], &[$($a::OPTIONAL),*])?;
                let mut it = args.into_iter();
                $(let $a = arg::<$a>(vm, name, $i, it.next())?;)*
                let mut data = this.try_borrow_mut().map_err(|_| busy(short_name::<T>()))?;
                Ok(self(&mut data, $($a),*))
            }
        }
    };
}

#[allow(non_snake_case)]
mod impls {
    use super::*;
    host_method!();
    host_method!(A1 1);
    host_method!(A1 1, A2 2);
    host_method!(A1 1, A2 2, A3 3);
    host_method!(A1 1, A2 2, A3 3, A4 4);
    host_method!(A1 1, A2 2, A3 3, A4 4, A5 5);
    host_method!(A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);
}

type Thunk = Box<dyn FnOnce(&mut Vm) -> Res<(Sym, Value)>>;

/// Describes a host class for a Rust type `T`: constructor, methods (dunder methods such as
/// `__repr__`, `__len__`, `__eq__` or `__add__` work too), properties and static
/// functions. Register it with [`super::ModuleBuilder::class`] or
/// [`crate::Engine::register_class`].
pub struct ClassBuilder<T: 'static> {
    name: String,
    ctor: Option<Box<RawFn>>,
    members: Vec<Thunk>,
    getters: Vec<(String, Value)>,
    setters: Vec<(String, Value)>,
    _t: PhantomData<fn(T)>,
}

impl<T: 'static> ClassBuilder<T> {
    /// A class named `name` with no constructor yet (scripts cannot instantiate it: host
    /// functions create its objects with [`New`] or [`Object::new`]).
    pub fn new(name: &str) -> ClassBuilder<T> {
        ClassBuilder {
            name: name.to_string(),
            ctor: None,
            members: Vec::new(),
            getters: Vec::new(),
            setters: Vec::new(),
            _t: PhantomData,
        }
    }

    /// The constructor `Class(args...)`: a closure returning the Rust value.
    pub fn constructor<M, F>(mut self, f: F) -> Self
    where
        F: HostFn<M, Output = T>,
    {
        let name: Rc<str> = Rc::from(self.name.as_str());
        self.ctor = Some(Box::new(move |vm, mut args, kw| {
            if !args.is_empty() {
                args.remove(0); // the class
            }
            let data = f.call_with(vm, &name, args, &kw)?;
            New(data).to_value(vm)
        }));
        self
    }

    /// A constructor that may fail: the closure returns `Result<T, E>` and `Err` raises.
    pub fn try_constructor<M, F, E>(mut self, f: F) -> Self
    where
        F: HostFn<M, Output = Result<T, E>>,
        E: Into<Exc>,
    {
        let name: Rc<str> = Rc::from(self.name.as_str());
        self.ctor = Some(Box::new(move |vm, mut args, kw| {
            if !args.is_empty() {
                args.remove(0);
            }
            let data = f.call_with(vm, &name, args, &kw)?.map_err(Into::into)?;
            New(data).to_value(vm)
        }));
        self
    }

    /// A method `obj.name(args...)`: a closure taking `&mut T` then the arguments.
    pub fn method<M, F>(mut self, name: &str, f: F) -> Self
    where
        F: HostMethod<T, M>,
        F::Output: ToValue,
    {
        let n: Rc<str> = Rc::from(name);
        let body: Box<RawFn> = Box::new(move |vm, mut args, kw| {
            if !kw.is_empty() {
                return Err(Exc::type_error(format!("{n}() takes no keyword arguments")));
            }
            let this = receiver::<T>(vm, &n, args.first())?;
            args.remove(0);
            f.call_method(vm, &n, &this, args)?.to_value(vm)
        });
        let name = name.to_string();
        self.members.push(Box::new(move |_| Ok((Sym::new(&name), HostFunction::value(&name, body)))));
        self
    }

    /// A read-only property `obj.name` (or the getter of a read-write one, with
    /// [`ClassBuilder::setter`]).
    pub fn getter<R, F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&T) -> R + 'static,
        R: ToValue,
    {
        let n: Rc<str> = Rc::from(name);
        let body: Box<RawFn> = Box::new(move |vm, args, _kw| {
            let this = receiver::<T>(vm, &n, args.first())?;
            let data = this.try_borrow().map_err(|_| busy(short_name::<T>()))?;
            let r = f(&data);
            drop(data);
            r.to_value(vm)
        });
        self.getters.push((name.to_string(), HostFunction::value(name, body)));
        self
    }

    /// The setter of property `obj.name = value`.
    pub fn setter<V, F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&mut T, V) + 'static,
        V: FromValue,
    {
        let n: Rc<str> = Rc::from(name);
        let body: Box<RawFn> = Box::new(move |vm, args, _kw| {
            let this = receiver::<T>(vm, &n, args.first())?;
            let v = arg::<V>(vm, &n, 1, args.get(1).cloned())?;
            let mut data = this.try_borrow_mut().map_err(|_| busy(short_name::<T>()))?;
            f(&mut data, v);
            Ok(Value::None)
        });
        self.setters.push((name.to_string(), HostFunction::value(name, body)));
        self
    }

    /// A function on the class, `Class.name(args...)` (a `staticmethod`).
    pub fn static_fn<M, F>(mut self, name: &str, f: F) -> Self
    where
        F: HostFn<M>,
        F::Output: ToValue,
    {
        let body = super::function::raw_fn(name, f);
        let name = name.to_string();
        self.members.push(Box::new(move |_| {
            let f = HostFunction::value(&name, body);
            Ok((Sym::new(&name), Value::Descriptor(Rc::new(Descriptor::StaticMethod(f)))))
        }));
        self
    }

    /// A constant class attribute, `Class.name`.
    pub fn constant<V: ToValue + 'static>(mut self, name: &str, v: V) -> Self {
        let name = name.to_string();
        self.members.push(Box::new(move |vm| Ok((Sym::new(&name), v.to_value(vm)?))));
        self
    }

    /// Builds the class in `vm` for module `module`, registering `T` so that [`New`] and
    /// [`Object::new`] find it. Fails if `T` is already registered.
    pub(crate) fn build(self, vm: &mut Vm, module: &str) -> Res<Value> {
        let tid = std::any::TypeId::of::<T>();
        if vm.host.classes.borrow().contains_key(&tid) {
            return Err(Exc::type_error(format!(
                "Rust type {} is already registered as a class",
                std::any::type_name::<T>()
            )));
        }
        let object = vm.types[TypeId::Object as usize].clone();
        let class = Rc::new(Class {
            name: Rc::from(self.name.as_str()),
            qualname: RefCell::new(Rc::from(self.name.as_str())),
            bases: vec![object.clone()],
            mro: vec![object],
            dict: RefCell::default(),
            layout: Layout::Builtin,
            builtin: None,
            version: Cell::new(0),
            cache: Default::default(),
            tp_name: Default::default(),
        });
        let members = self.members.into_iter().map(|m| m(vm)).collect::<Res<Vec<_>>>()?;
        {
            let mut d = class.dict.borrow_mut();
            d.insert(Sym::new("__module__"), Value::str(module));
            d.insert(Sym::new("__doc__"), Value::None);
            let cname: Rc<str> = Rc::from(self.name.as_str());
            let me = Rc::downgrade(&class);
            let qual = if module == "builtins" { self.name.clone() } else { format!("{module}.{}", self.name) };
            let ctor: Box<RawFn> = match self.ctor {
                Some(c) => Box::new(move |vm, args, kw| {
                    // `Sub(...)` for a script subclass would make a `T`, not a `Sub`.
                    let is_me =
                        matches!((args.first(), me.upgrade()), (Some(Value::Class(c)), Some(m)) if Rc::ptr_eq(c, &m));
                    if !is_me {
                        return Err(Exc::type_error(format!("host class '{cname}' cannot be subclassed")));
                    }
                    c(vm, args, kw)
                }),
                None => {
                    Box::new(move |_vm, _args, _kw| Err(Exc::type_error(format!("cannot create '{qual}' instances"))))
                }
            };
            let new = HostFunction::value("__new__", ctor);
            d.insert(vm.syms.new, Value::Descriptor(Rc::new(Descriptor::StaticMethod(new))));
            for (k, v) in members {
                d.insert(k, v);
            }
            let mut names: Vec<String> = self.getters.iter().map(|(n, _)| n.clone()).collect();
            for (n, _) in &self.setters {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
            for n in names {
                let fget = self.getters.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()).unwrap_or(Value::None);
                let fset = self.setters.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()).unwrap_or(Value::None);
                let p = Descriptor::Property { fget, fset, fdel: Value::None, doc: Value::None };
                d.insert(Sym::new(&n), Value::Descriptor(Rc::new(p)));
            }
        }
        crate::vm::value::bump_class_epoch();
        let info = Rc::new(ClassInfo { class: class.clone(), name: static_name(&self.name) });
        vm.host.classes.borrow_mut().insert(tid, info);
        Ok(Value::Class(class))
    }
}
