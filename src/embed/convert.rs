//! Conversions between Rust values and script values, both ways, through two traits a host
//! can implement for its own types: [`ToValue`] and [`FromValue`].
//!
//! | Rust | script |
//! |---|---|
//! | `i8`…`i128`, `u8`…`u128`, `isize`, `usize` | `int` (a `bool` is accepted, as in Python) |
//! | `f32`, `f64` | `float` (an `int` is accepted) |
//! | `bool` | `bool` |
//! | `String`, `&str`, `char`, `Box<str>`, `Rc<str>` | `str` |
//! | `Vec<T>`, `&[T]`, `[T; N]`, `VecDeque<T>` | `list` (any iterable but `str`/`dict` is accepted) |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | `dict` |
//! | `HashSet<T>`, `BTreeSet<T>` | `set` (any iterable but `str`/`dict` is accepted) |
//! | `Option<T>` | `T` or `None` |
//! | tuples of up to 8 | `tuple` (a `list` of the right length is accepted) |
//! | `()` | `None` |
//! | [`Bytes`] | `bytes` (a `bytearray` is accepted) |
//! | [`Value`] | any value, unchanged |
//! | [`super::Object<T>`] | an instance of a host class |
//! | `Result<T, E>` (`ToValue` only) | `T`, or raises `E` |
//!
//! ```
//! use aio::embed::{FromValue, ToValue};
//! use aio::vm::{Exc, Res, Value, Vm};
//!
//! // A host type that scripts see as an `(x, y)` tuple.
//! struct Point { x: f64, y: f64 }
//!
//! impl ToValue for Point {
//!     fn to_value(self, vm: &mut Vm) -> Res<Value> {
//!         (self.x, self.y).to_value(vm)
//!     }
//! }
//! impl FromValue for Point {
//!     fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
//!         let (x, y) = <(f64, f64)>::from_value(v, vm)?;
//!         Ok(Point { x, y })
//!     }
//!     fn type_desc() -> String { "point (x, y)".into() }
//! }
//!
//! let mut engine = aio::Engine::new();
//! engine.register_fn("norm", |p: Point| (p.x * p.x + p.y * p.y).sqrt());
//! engine.set("origin", Point { x: 3.0, y: 4.0 }).unwrap();
//! assert_eq!(engine.eval::<f64>("norm(origin)").unwrap(), 5.0);
//! let p: Point = engine.eval("(1, 2.5)").unwrap();
//! assert_eq!((p.x, p.y), (1.0, 2.5));
//! ```

use crate::vm::value::Value;
use crate::vm::{Exc, ExcKind, Res, Vm};
use num_traits::ToPrimitive;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::rc::Rc;

/// Turns a Rust value into a script value.
pub trait ToValue {
    /// Converts, or raises (for `Result::Err`, or a value the VM cannot represent).
    fn to_value(self, vm: &mut Vm) -> Res<Value>;
}

/// Turns a script value into a Rust value.
pub trait FromValue: Sized {
    /// Converts; a value of the wrong type is a `TypeError` (a host function's caller sees
    /// `f() argument 1 must be <type_desc>, not <type>`), an `int` out of range an
    /// `OverflowError`.
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self>;
    /// What the script must pass, for error messages (`int`, `list[str]`, `str or None`).
    fn type_desc() -> String;
    /// True when a host function may be called without this (trailing) argument: `Option`s.
    const OPTIONAL: bool = false;
}

/// Wrong type: the `TypeError` a conversion raises.
pub(crate) fn wrong_type<T: FromValue>(vm: &Vm, v: &Value) -> Exc {
    Exc::type_error(format!("expected {}, not {}", T::type_desc(), vm.type_name(v)))
}

/// A `bytes` value, as a Rust buffer (plain `Vec<u8>` converts to and from a `list` of ints).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes(v)
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

// ---- identity and unit ----

impl ToValue for Value {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(self)
    }
}
impl FromValue for Value {
    fn from_value(v: Value, _vm: &mut Vm) -> Res<Self> {
        Ok(v)
    }
    fn type_desc() -> String {
        "object".into()
    }
}

impl ToValue for () {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::None)
    }
}
impl FromValue for () {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match v {
            Value::None => Ok(()),
            other => Err(wrong_type::<()>(vm, &other)),
        }
    }
    fn type_desc() -> String {
        "None".into()
    }
}

impl<T: ToValue, E: Into<Exc>> ToValue for Result<T, E> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        match self {
            Ok(v) => v.to_value(vm),
            Err(e) => Err(e.into()),
        }
    }
}

// ---- numbers ----

macro_rules! int_conv {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(self, _vm: &mut Vm) -> Res<Value> {
                Ok(match i64::try_from(self) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::from_bigint(num_bigint::BigInt::from(self)),
                })
            }
        }
        impl FromValue for $t {
            fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
                let out = match &v {
                    Value::Int(i) => <$t>::try_from(*i).ok(),
                    Value::Bool(b) => Some(*b as $t),
                    Value::BigInt(b) => b
                        .to_i128()
                        .and_then(|i| <$t>::try_from(i).ok())
                        .or_else(|| b.to_u128().and_then(|u| <$t>::try_from(u).ok())),
                    _ => return Err(wrong_type::<$t>(vm, &v)),
                };
                out.ok_or_else(|| {
                    let r = vm.repr(&v).unwrap_or_default();
                    Exc::overflow(format!("int {r} does not fit in {}", stringify!($t)))
                })
            }
            fn type_desc() -> String {
                "int".into()
            }
        }
    )*};
}
int_conv!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl ToValue for f64 {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::Float(self))
    }
}
impl FromValue for f64 {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match &v {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Bool(b) => Ok(*b as i64 as f64),
            Value::BigInt(b) => {
                b.to_f64().filter(|f| f.is_finite()).ok_or_else(|| Exc::overflow("int too large to convert to float"))
            }
            _ => Err(wrong_type::<f64>(vm, &v)),
        }
    }
    fn type_desc() -> String {
        "float".into()
    }
}
impl ToValue for f32 {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::Float(self as f64))
    }
}
impl FromValue for f32 {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        f64::from_value(v, vm).map(|f| f as f32)
    }
    fn type_desc() -> String {
        "float".into()
    }
}

impl ToValue for bool {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::Bool(self))
    }
}
impl FromValue for bool {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(wrong_type::<bool>(vm, &other)),
        }
    }
    fn type_desc() -> String {
        "bool".into()
    }
}

// ---- text and bytes ----

impl ToValue for String {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::string(self))
    }
}
impl ToValue for &str {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::str(self))
    }
}
impl ToValue for &String {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::str(self))
    }
}
impl ToValue for Box<str> {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::str(&self))
    }
}
impl ToValue for Rc<str> {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::str(&self))
    }
}
impl ToValue for char {
    fn to_value(self, _vm: &mut Vm) -> Res<Value> {
        Ok(Value::string(self.to_string()))
    }
}
impl FromValue for String {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match &v {
            Value::Str(s) => Ok(s.as_str().to_string()),
            _ => Err(wrong_type::<String>(vm, &v)),
        }
    }
    fn type_desc() -> String {
        "str".into()
    }
}
impl FromValue for Box<str> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        String::from_value(v, vm).map(String::into_boxed_str)
    }
    fn type_desc() -> String {
        "str".into()
    }
}
impl FromValue for Rc<str> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        String::from_value(v, vm).map(Rc::from)
    }
    fn type_desc() -> String {
        "str".into()
    }
}
impl FromValue for char {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match &v {
            Value::Str(s) if s.chars == 1 => Ok(s.as_str().chars().next().unwrap_or_default()),
            Value::Str(s) => Err(Exc::type_error(format!("expected a character, not a str of length {}", s.chars))),
            _ => Err(wrong_type::<char>(vm, &v)),
        }
    }
    fn type_desc() -> String {
        "str of length 1".into()
    }
}

impl ToValue for Bytes {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        vm.mem_charge(self.0.len())?;
        Ok(Value::Bytes(Rc::from(self.0)))
    }
}
impl FromValue for Bytes {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match &v {
            Value::Bytes(b) => Ok(Bytes(b.to_vec())),
            Value::ByteArray(b) => Ok(Bytes(b.borrow().clone())),
            _ => Err(wrong_type::<Bytes>(vm, &v)),
        }
    }
    fn type_desc() -> String {
        "bytes".into()
    }
}

// ---- Option ----

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        match self {
            Some(v) => v.to_value(vm),
            None => Ok(Value::None),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        match v {
            Value::None | Value::Undef => Ok(None),
            other => T::from_value(other, vm).map(Some),
        }
    }
    fn type_desc() -> String {
        format!("{} or None", T::type_desc())
    }
    const OPTIONAL: bool = true;
}

// ---- sequences ----

/// The items of an iterable the way collections accept them (not `str` or `dict`, whose
/// iteration would surprise a host asking for a list).
fn sequence_items(v: &Value, vm: &mut Vm, desc: impl Fn() -> String) -> Res<Vec<Value>> {
    match v {
        Value::List(l) => Ok(l.items.borrow().clone()),
        Value::Tuple(t) => Ok(t.to_vec()),
        Value::Str(_) | Value::Dict(_) | Value::None | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
            Err(Exc::type_error(format!("expected {}, not {}", desc(), vm.type_name(v))))
        }
        other => {
            vm.collect(other).map_err(|_| Exc::type_error(format!("expected {}, not {}", desc(), vm.type_name(other))))
        }
    }
}

fn list_value(vm: &mut Vm, items: Vec<Value>) -> Res<Value> {
    vm.mem_charge(items.capacity() * std::mem::size_of::<Value>())?;
    Ok(Value::list(items))
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let items = self.into_iter().map(|x| x.to_value(vm)).collect::<Res<Vec<Value>>>()?;
        list_value(vm, items)
    }
}
impl<T: ToValue> ToValue for VecDeque<T> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let items = self.into_iter().map(|x| x.to_value(vm)).collect::<Res<Vec<Value>>>()?;
        list_value(vm, items)
    }
}
impl<T: ToValue + Clone> ToValue for &[T] {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let items = self.iter().map(|x| x.clone().to_value(vm)).collect::<Res<Vec<Value>>>()?;
        list_value(vm, items)
    }
}
impl<T: ToValue, const N: usize> ToValue for [T; N] {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let items = self.into_iter().map(|x| x.to_value(vm)).collect::<Res<Vec<Value>>>()?;
        list_value(vm, items)
    }
}
impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let items = sequence_items(&v, vm, Self::type_desc)?;
        items.into_iter().map(|x| T::from_value(x, vm)).collect()
    }
    fn type_desc() -> String {
        format!("list[{}]", T::type_desc())
    }
}
impl<T: FromValue> FromValue for VecDeque<T> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        Vec::<T>::from_value(v, vm).map(VecDeque::from)
    }
    fn type_desc() -> String {
        format!("list[{}]", T::type_desc())
    }
}

// ---- sets ----

fn set_value(vm: &mut Vm, items: Vec<Value>) -> Res<Value> {
    vm.mem_charge(items.len() * 2 * (std::mem::size_of::<Value>() + 8))?;
    vm.new_set(items)
}

impl<T: ToValue, S> ToValue for HashSet<T, S> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let items = self.into_iter().map(|x| x.to_value(vm)).collect::<Res<Vec<Value>>>()?;
        set_value(vm, items)
    }
}
impl<T: ToValue> ToValue for BTreeSet<T> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let items = self.into_iter().map(|x| x.to_value(vm)).collect::<Res<Vec<Value>>>()?;
        set_value(vm, items)
    }
}
impl<T: FromValue + Eq + Hash, S: BuildHasher + Default> FromValue for HashSet<T, S> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let items = sequence_items(&v, vm, Self::type_desc)?;
        items.into_iter().map(|x| T::from_value(x, vm)).collect()
    }
    fn type_desc() -> String {
        format!("set[{}]", T::type_desc())
    }
}
impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let items = sequence_items(&v, vm, Self::type_desc)?;
        items.into_iter().map(|x| T::from_value(x, vm)).collect()
    }
    fn type_desc() -> String {
        format!("set[{}]", T::type_desc())
    }
}

// ---- maps ----

fn dict_value(vm: &mut Vm, pairs: Vec<Value>) -> Res<Value> {
    vm.mem_charge(pairs.len() * (std::mem::size_of::<Value>() + 16))?;
    vm.new_dict_from_pairs(pairs)
}

fn dict_items(v: &Value, vm: &mut Vm, desc: impl Fn() -> String) -> Res<Vec<(Value, Value)>> {
    match v {
        Value::Dict(d) => Ok(d.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect()),
        other => Err(Exc::type_error(format!("expected {}, not {}", desc(), vm.type_name(other)))),
    }
}

impl<K: ToValue, V: ToValue, S> ToValue for HashMap<K, V, S> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let mut pairs = Vec::with_capacity(self.len() * 2);
        for (k, v) in self {
            pairs.push(k.to_value(vm)?);
            pairs.push(v.to_value(vm)?);
        }
        dict_value(vm, pairs)
    }
}
impl<K: ToValue, V: ToValue> ToValue for BTreeMap<K, V> {
    fn to_value(self, vm: &mut Vm) -> Res<Value> {
        let mut pairs = Vec::with_capacity(self.len() * 2);
        for (k, v) in self {
            pairs.push(k.to_value(vm)?);
            pairs.push(v.to_value(vm)?);
        }
        dict_value(vm, pairs)
    }
}
impl<K: FromValue + Eq + Hash, V: FromValue, S: BuildHasher + Default> FromValue for HashMap<K, V, S> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let items = dict_items(&v, vm, Self::type_desc)?;
        items.into_iter().map(|(k, v)| Ok((K::from_value(k, vm)?, V::from_value(v, vm)?))).collect()
    }
    fn type_desc() -> String {
        format!("dict[{}, {}]", K::type_desc(), V::type_desc())
    }
}
impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
        let items = dict_items(&v, vm, Self::type_desc)?;
        items.into_iter().map(|(k, v)| Ok((K::from_value(k, vm)?, V::from_value(v, vm)?))).collect()
    }
    fn type_desc() -> String {
        format!("dict[{}, {}]", K::type_desc(), V::type_desc())
    }
}

// ---- tuples ----

macro_rules! tuple_conv {
    ($n:literal; $($t:ident $i:tt),+) => {
        impl<$($t: ToValue),+> ToValue for ($($t,)+) {
            fn to_value(self, vm: &mut Vm) -> Res<Value> {
                Ok(Value::tuple(vec![$(self.$i.to_value(vm)?),+]))
            }
        }
        impl<$($t: FromValue),+> FromValue for ($($t,)+) {
            fn from_value(v: Value, vm: &mut Vm) -> Res<Self> {
                let items: Vec<Value> = match &v {
                    Value::Tuple(t) => t.to_vec(),
                    Value::List(l) => l.items.borrow().clone(),
                    _ => return Err(wrong_type::<Self>(vm, &v)),
                };
                if items.len() != $n {
                    return Err(Exc::new(
                        ExcKind::TypeError,
                        format!("expected a tuple of {} items, not {}", $n, items.len()),
                    ));
                }
                let mut it = items.into_iter();
                Ok(($($t::from_value(it.next().unwrap_or_default(), vm)?,)+))
            }
            fn type_desc() -> String {
                let parts: Vec<String> = vec![$($t::type_desc()),+];
                format!("tuple[{}]", parts.join(", "))
            }
        }
    };
}
tuple_conv!(1; A 0);
tuple_conv!(2; A 0, B 1);
tuple_conv!(3; A 0, B 1, C 2);
tuple_conv!(4; A 0, B 1, C 2, D 3);
tuple_conv!(5; A 0, B 1, C 2, D 3, E 4);
tuple_conv!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_conv!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_conv!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// Arguments for calling a script function from Rust: a tuple of [`ToValue`] values (up
/// to 8), `()` for none, or a `Vec<Value>`.
pub trait IntoArgs {
    /// Converts every argument.
    fn into_args(self, vm: &mut Vm) -> Res<Vec<Value>>;
}

impl IntoArgs for () {
    fn into_args(self, _vm: &mut Vm) -> Res<Vec<Value>> {
        Ok(Vec::new())
    }
}
impl IntoArgs for Vec<Value> {
    fn into_args(self, _vm: &mut Vm) -> Res<Vec<Value>> {
        Ok(self)
    }
}

macro_rules! args_conv {
    ($($t:ident $i:tt),+) => {
        impl<$($t: ToValue),+> IntoArgs for ($($t,)+) {
            fn into_args(self, vm: &mut Vm) -> Res<Vec<Value>> {
                Ok(vec![$(self.$i.to_value(vm)?),+])
            }
        }
    };
}
args_conv!(A 0);
args_conv!(A 0, B 1);
args_conv!(A 0, B 1, C 2);
args_conv!(A 0, B 1, C 2, D 3);
args_conv!(A 0, B 1, C 2, D 3, E 4);
args_conv!(A 0, B 1, C 2, D 3, E 4, F 5);
args_conv!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
args_conv!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
