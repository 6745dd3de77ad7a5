//! The built-in types as class objects, and `type(x)` for every value.

use super::intern::Sym;
use super::value::{Class, Descriptor, Layout, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

macro_rules! type_ids {
    ($($id:ident = $name:literal),* $(,)?) => {
        /// The built-in types.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum TypeId { $($id),* }
        impl TypeId {
            /// Every built-in type in creation order (`object` first).
            pub const ALL: &'static [TypeId] = &[$(TypeId::$id),*];
            /// The Python name.
            pub fn name(self) -> &'static str {
                match self { $(TypeId::$id => $name),* }
            }
        }
    };
}

type_ids! {
    Object = "object",
    Type = "type",
    NoneType = "NoneType",
    NotImplementedType = "NotImplementedType",
    Ellipsis = "ellipsis",
    Int = "int",
    Bool = "bool",
    Float = "float",
    Str = "str",
    Bytes = "bytes",
    ByteArray = "bytearray",
    List = "list",
    Tuple = "tuple",
    Dict = "dict",
    Set = "set",
    FrozenSet = "frozenset",
    Range = "range",
    Slice = "slice",
    Function = "function",
    Method = "method",
    BuiltinFunction = "builtin_function_or_method",
    Module = "module",
    Property = "property",
    StaticMethod = "staticmethod",
    ClassMethod = "classmethod",
    Super = "super",
    Generator = "generator",
    Coroutine = "coroutine",
    AsyncGenerator = "async_generator",
    Cell = "cell",
    Code = "code",
    ListIterator = "list_iterator",
    ListReverseIterator = "list_reverseiterator",
    TupleIterator = "tuple_iterator",
    StrIterator = "str_ascii_iterator",
    BytesIterator = "bytes_iterator",
    RangeIterator = "range_iterator",
    DictKeyIterator = "dict_keyiterator",
    DictValueIterator = "dict_valueiterator",
    DictItemIterator = "dict_itemiterator",
    SetIterator = "set_iterator",
    Enumerate = "enumerate",
    Zip = "zip",
    Map = "map",
    Filter = "filter",
    Reversed = "reversed",
    CallableIterator = "callable_iterator",
    SeqIterator = "iterator",
}

/// Creates a class object for a built-in type.
pub fn make_builtin_class(id: TypeId, base: Option<&Rc<Class>>) -> Rc<Class> {
    let mut mro = Vec::new();
    let mut bases = Vec::new();
    if let Some(b) = base {
        bases.push(b.clone());
        mro.push(b.clone());
        mro.extend(b.mro.iter().cloned());
    }
    Rc::new(Class {
        name: Rc::from(id.name()),
        qualname: RefCell::new(Rc::from(id.name())),
        bases,
        mro,
        dict: RefCell::default(),
        layout: Layout::Builtin,
        builtin: Some(id),
        version: Cell::new(0),
        cache: Default::default(),
        tp_name: Default::default(),
    })
}

impl super::Vm {
    /// The class of a built-in type.
    pub fn type_class(&self, id: TypeId) -> &Rc<Class> {
        &self.types[id as usize]
    }

    /// `type(v)`.
    pub fn class_of(&self, v: &Value) -> Rc<Class> {
        let id = match v {
            Value::Instance(i) => return i.class.clone(),
            Value::Class(_) => TypeId::Type,
            Value::Undef | Value::None => TypeId::NoneType,
            Value::NotImplemented => TypeId::NotImplementedType,
            Value::Ellipsis => TypeId::Ellipsis,
            Value::Bool(_) => TypeId::Bool,
            Value::Int(_) | Value::BigInt(_) => TypeId::Int,
            Value::Float(_) => TypeId::Float,
            Value::Str(_) => TypeId::Str,
            Value::Bytes(_) => TypeId::Bytes,
            Value::ByteArray(_) => TypeId::ByteArray,
            Value::List(_) => TypeId::List,
            Value::Tuple(_) => TypeId::Tuple,
            Value::Dict(_) => TypeId::Dict,
            Value::Set(_) => TypeId::Set,
            Value::FrozenSet(_) => TypeId::FrozenSet,
            Value::Range(_) => TypeId::Range,
            Value::Slice(_) => TypeId::Slice,
            Value::Function(_) => TypeId::Function,
            Value::BoundMethod(_) => TypeId::Method,
            Value::Native(_) => TypeId::BuiltinFunction,
            Value::Module(_) => TypeId::Module,
            Value::Descriptor(d) => match &**d {
                Descriptor::Property { .. } => TypeId::Property,
                Descriptor::StaticMethod(_) => TypeId::StaticMethod,
                Descriptor::ClassMethod(_) => TypeId::ClassMethod,
                Descriptor::Super { .. } => TypeId::Super,
            },
            Value::Cell(_) => TypeId::Cell,
            Value::Code(_) => TypeId::Code,
            Value::Gen(g) => match g.kind {
                super::gen::GenKind::Generator => TypeId::Generator,
                super::gen::GenKind::Coroutine => TypeId::Coroutine,
                super::gen::GenKind::AsyncGenerator => TypeId::AsyncGenerator,
            },
            Value::Iter(it) => it.borrow().type_id(),
            Value::Other(o) => {
                if let Some(c) = o.class() {
                    return c;
                }
                let name = o.type_name();
                if let Some(c) = self.other_classes.borrow().get(name) {
                    return c.clone();
                }
                // A dotted name is CPython's `tp_name` of a type from another module
                // (`_io.TextIOWrapper`): `__module__` before the last dot, `__name__` after.
                let (module, short) = match name.rsplit_once('.') {
                    Some((m, s)) => (Some(m), s),
                    None => (None, name),
                };
                let mut dict = rustc_hash::FxHashMap::default();
                if let Some(m) = module {
                    dict.insert(self.syms.module, Value::str(m));
                }
                let c = make_builtin_class(TypeId::Object, Some(self.type_class(TypeId::Object)));
                let c = Rc::new(Class {
                    name: Rc::from(short),
                    qualname: RefCell::new(Rc::from(short)),
                    bases: c.bases.clone(),
                    mro: c.mro.clone(),
                    dict: RefCell::new(dict),
                    layout: Layout::Builtin,
                    builtin: None,
                    version: Cell::new(0),
                    cache: Default::default(),
                    tp_name: Default::default(),
                });
                if module.is_some() {
                    let _ = c.tp_name.set(Rc::from(name));
                }
                self.other_classes.borrow_mut().insert(name, c.clone());
                return c;
            }
        };
        self.types[id as usize].clone()
    }

    /// The name messages give `type(v)`: CPython's `tp_name` (`types.GenericAlias`), which is
    /// `__name__` for all but a few built-in types of other modules.
    pub fn type_name(&self, v: &Value) -> Rc<str> {
        self.class_of(v).tp_name().clone()
    }

    /// Registers native methods on a built-in type.
    pub fn add_methods(&mut self, id: TypeId, methods: &[(&'static str, super::value::NativeFn)]) {
        let class = self.types[id as usize].clone();
        super::value::bump_class_epoch();
        let mut d = class.dict.borrow_mut();
        for (name, f) in methods {
            d.insert(
                Sym::new(name),
                Value::Native(Rc::new(super::value::NativeFunction {
                    fast: None,
                    name,
                    func: *f,
                    receiver: None,
                    owner: Some(id.name()),
                })),
            );
        }
    }
}
