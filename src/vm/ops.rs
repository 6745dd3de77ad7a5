//! Operators and the protocols behind them: truth, equality, hashing, ordering, arithmetic,
//! `repr`/`str`, subscripts, iteration, containers.

use super::dict::{Dict, Lookup};
use super::set_table::SetTable;
use super::value::{DictObj, SetObj, Str, Value};
use super::{Exc, ExcKind, Res, Sym, Vm};
use crate::ast::{BinOp, UnaryOp};
use crate::bytecode::CmpKind;
use crate::text;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};
use std::cell::RefCell;
use std::rc::Rc;

/// `i64` arithmetic that stays in `i64`; `None` when the result needs the slow path.
#[inline]
pub fn int_fast(op: BinOp, x: i64, y: i64) -> Option<Value> {
    int_arith(op, x, y).map(Value::Int)
}

/// [`int_fast`]'s result as the `i64` itself, for callers that build the `Value` in place.
#[inline(always)]
pub fn int_arith(op: BinOp, x: i64, y: i64) -> Option<i64> {
    Some(match op {
        BinOp::Add => x.checked_add(y)?,
        BinOp::Sub => x.checked_sub(y)?,
        BinOp::Mult => x.checked_mul(y)?,
        BinOp::FloorDiv if y != 0 => floor_div(x, y)?,
        BinOp::Mod if y != 0 => floor_mod(x, y)?,
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        _ => return None,
    })
}

/// Ints below this magnitude convert to `float` exactly.
const EXACT_F64: i64 = 1 << 53;

/// The value of an int or float operand as an exact `f64`, if it has one.
#[inline(always)]
fn exact_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        Value::Int(i) if (-EXACT_F64..=EXACT_F64).contains(i) => Some(*i as f64),
        _ => None,
    }
}

/// `x op y` for float operands (an int beside a float, or `/` of two ints) where the
/// result needs no error: `+ - *` and `/` by a non-zero number, as the `f64` itself.
/// `None`: take the general path.
#[inline(always)]
pub fn float_arith(op: BinOp, a: &Value, b: &Value) -> Option<f64> {
    if matches!((a, b), (Value::Int(_), Value::Int(_))) && op != BinOp::Div {
        return None;
    }
    let (x, y) = (exact_f64(a)?, exact_f64(b)?);
    Some(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mult => x * y,
        BinOp::Div if y != 0.0 => x / y,
        _ => return None,
    })
}

/// A comparison of two numbers that need no conversion beyond an exact one.
#[inline(always)]
pub fn cmp_fast(kind: CmpKind, a: &Value, b: &Value) -> Option<bool> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Some(cmp_i64(kind, *x, *y));
    }
    Some(cmp_ord(kind, exact_f64(a)?, exact_f64(b)?))
}

fn floor_div(x: i64, y: i64) -> Option<i64> {
    let q = x.checked_div(y)?;
    if (x % y != 0) && ((x < 0) != (y < 0)) {
        Some(q - 1)
    } else {
        Some(q)
    }
}

fn floor_mod(x: i64, y: i64) -> Option<i64> {
    let r = x.checked_rem(y)?;
    if r != 0 && ((r < 0) != (y < 0)) {
        Some(r + y)
    } else {
        Some(r)
    }
}

/// Compares two `i64`s.
#[inline]
pub fn cmp_i64(kind: CmpKind, x: i64, y: i64) -> bool {
    cmp_ord(kind, x, y)
}

/// `x <kind> y` for any partially ordered numbers (NaN compares as IEEE says).
#[inline(always)]
fn cmp_ord<T: PartialOrd>(kind: CmpKind, x: T, y: T) -> bool {
    match kind {
        CmpKind::Lt => x < y,
        CmpKind::Le => x <= y,
        CmpKind::Eq => x == y,
        CmpKind::Ne => x != y,
        CmpKind::Gt => x > y,
        CmpKind::Ge => x >= y,
    }
}

/// `ascii()` of a repr: non-ASCII characters become escapes.
pub fn ascii_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let n = c as u32;
        if n < 0x80 {
            out.push(c);
        } else if n < 0x100 {
            out.push_str(&format!("\\x{n:02x}"));
        } else if n < 0x10000 {
            out.push_str(&format!("\\u{n:04x}"));
        } else {
            out.push_str(&format!("\\U{n:08x}"));
        }
    }
    out
}

/// The numeric view of a value for mixed arithmetic.
enum Num {
    I(i64),
    B(BigInt),
    F(f64),
}

fn num_of(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Bool(b) => Some(Num::I(*b as i64)),
        Value::BigInt(b) => Some(Num::B((**b).clone())),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

fn to_big(n: &Num) -> BigInt {
    match n {
        Num::I(i) => BigInt::from(*i),
        Num::B(b) => b.clone(),
        Num::F(_) => BigInt::zero(),
    }
}

fn to_f64(n: &Num) -> Res<f64> {
    match n {
        Num::I(i) => Ok(*i as f64),
        Num::B(b) => text::int_math::bigint_to_f64(b).map_err(|_| Exc::overflow("int too large to convert to float")),
        Num::F(f) => Ok(*f),
    }
}

/// The symbol names of an operator's dunder and its reflection.
fn op_dunders(op: BinOp) -> (&'static str, &'static str, &'static str, &'static str) {
    match op {
        BinOp::Add => ("__add__", "__radd__", "__iadd__", "+"),
        BinOp::Sub => ("__sub__", "__rsub__", "__isub__", "-"),
        BinOp::Mult => ("__mul__", "__rmul__", "__imul__", "*"),
        BinOp::MatMult => ("__matmul__", "__rmatmul__", "__imatmul__", "@"),
        BinOp::Div => ("__truediv__", "__rtruediv__", "__itruediv__", "/"),
        BinOp::Mod => ("__mod__", "__rmod__", "__imod__", "%"),
        BinOp::Pow => ("__pow__", "__rpow__", "__ipow__", "** or pow()"),
        BinOp::LShift => ("__lshift__", "__rlshift__", "__ilshift__", "<<"),
        BinOp::RShift => ("__rshift__", "__rrshift__", "__irshift__", ">>"),
        BinOp::BitOr => ("__or__", "__ror__", "__ior__", "|"),
        BinOp::BitXor => ("__xor__", "__rxor__", "__ixor__", "^"),
        BinOp::BitAnd => ("__and__", "__rand__", "__iand__", "&"),
        BinOp::FloorDiv => ("__floordiv__", "__rfloordiv__", "__ifloordiv__", "//"),
    }
}

impl Vm {
    /// `bool(v)`.
    pub fn truthy(&mut self, v: &Value) -> Res<bool> {
        Ok(match v {
            Value::Bool(b) => *b,
            Value::None | Value::Undef => false,
            Value::Int(i) => *i != 0,
            Value::BigInt(_) => true,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::ByteArray(b) => !b.borrow().is_empty(),
            Value::List(l) => !l.items.borrow().is_empty(),
            Value::Tuple(t) => !t.is_empty(),
            Value::Dict(d) => !d.d.borrow().is_empty(),
            Value::Set(s) | Value::FrozenSet(s) => !s.d.borrow().is_empty(),
            Value::Range(r) => !r.is_empty(),
            Value::Instance(i) => {
                let class = i.class.clone();
                if let Some(f) = class.lookup(self.syms.bool_) {
                    let r = self.call(&f, vec![v.clone()])?;
                    return match r {
                        Value::Bool(b) => Ok(b),
                        other => Err(Exc::type_error(format!(
                            "__bool__ should return bool, returned {}",
                            self.type_name(&other)
                        ))),
                    };
                }
                if let Some(f) = class.lookup(self.syms.len) {
                    let r = self.call(&f, vec![v.clone()])?;
                    return Ok(self.len_result(&r)? != 0);
                }
                true
            }
            _ => true,
        })
    }

    /// What a script `__len__` returned, checked as CPython's `len()` and truth test do.
    pub fn len_result(&mut self, r: &Value) -> Res<i64> {
        if let Value::BigInt(_) = r {
            return Err(Exc::overflow("cannot fit 'int' into an index-sized integer"));
        }
        let n = self.index_value(r)?;
        if n < 0 {
            return Err(Exc::value_error("__len__() should return >= 0"));
        }
        Ok(n)
    }

    /// An `int` argument as `i64` (`__index__` protocol), or a `TypeError`.
    pub fn index_value(&mut self, v: &Value) -> Res<i64> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i64),
            Value::BigInt(_) => Err(Exc::new(ExcKind::OverflowError, "Python int too large to convert to C ssize_t")),
            Value::Instance(i) => {
                if let Some(f) = i.class.lookup(self.syms.index) {
                    let r = self.call(&f, vec![v.clone()])?;
                    return self.index_value(&r);
                }
                Err(Exc::type_error(format!("'{}' object cannot be interpreted as an integer", self.type_name(v))))
            }
            _ => Err(Exc::type_error(format!("'{}' object cannot be interpreted as an integer", self.type_name(v)))),
        }
    }

    /// `repr(v)`.
    pub fn repr(&mut self, v: &Value) -> Res<String> {
        Ok(match v {
            Value::Undef => "<undefined>".into(),
            Value::None => "None".into(),
            Value::NotImplemented => "NotImplemented".into(),
            Value::Ellipsis => "Ellipsis".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => text::int_math::i64_string(*i),
            Value::BigInt(b) => self.bigint_to_str(b)?,
            Value::Float(f) => text::float_repr::float_repr(*f),
            Value::Str(s) => repr_str(s.as_str()),
            Value::Bytes(b) => repr_bytes(b, "b'", "'"),
            Value::ByteArray(b) => {
                let inner = repr_bytes(&b.borrow(), "b'", "'");
                format!("bytearray({inner})")
            }
            Value::List(l) => {
                let items = l.items.borrow().clone();
                self.repr_guarded(v, "[...]", |vm| vm.repr_seq(&items, "[", "]", false))?
            }
            Value::Tuple(t) => {
                let items = t.clone();
                self.repr_guarded(v, "(...)", |vm| vm.repr_seq(&items, "(", ")", items.len() == 1))?
            }
            Value::Dict(d) => {
                let entries: Vec<(Value, Value)> =
                    d.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
                self.repr_guarded(v, "{...}", |vm| {
                    let mut s = String::from("{");
                    for (i, (k, val)) in entries.iter().enumerate() {
                        if i > 0 {
                            s.push_str(", ");
                        }
                        s.push_str(&vm.repr(k)?);
                        s.push_str(": ");
                        s.push_str(&vm.repr(val)?);
                    }
                    s.push('}');
                    Ok(s)
                })?
            }
            Value::Set(st) | Value::FrozenSet(st) => {
                let keys = st.d.borrow().keys();
                let frozen = matches!(v, Value::FrozenSet(_));
                if keys.is_empty() {
                    return Ok(if frozen { "frozenset()".into() } else { "set()".into() });
                }
                let inner = self.repr_guarded(v, "{...}", |vm| vm.repr_seq(&keys, "{", "}", false))?;
                if frozen {
                    format!("frozenset({inner})")
                } else {
                    inner
                }
            }
            Value::Range(r) if r.big.is_some() => {
                let (a, b, c) = r.parts();
                if c == BigInt::from(1) {
                    format!("range({a}, {b})")
                } else {
                    format!("range({a}, {b}, {c})")
                }
            }
            Value::Range(r) => {
                if r.step == 1 {
                    format!("range({}, {})", r.start, r.stop)
                } else {
                    format!("range({}, {}, {})", r.start, r.stop, r.step)
                }
            }
            Value::Slice(s) => {
                format!("slice({}, {}, {})", self.repr(&s.start)?, self.repr(&s.stop)?, self.repr(&s.step)?)
            }
            Value::Function(f) => format!("<function {} at 0x{:x}>", f.qualname.borrow(), v.id()),
            Value::BoundMethod(m) => {
                let fname = match &m.func {
                    Value::Function(f) => f.qualname.borrow().to_string(),
                    Value::Native(n) => n.name.to_string(),
                    _ => "?".into(),
                };
                let r = self.repr(&m.receiver)?;
                format!("<bound method {fname} of {r}>")
            }
            Value::Native(n) => match (&n.receiver, n.owner) {
                (Some(r), Some(owner)) => {
                    let _ = r;
                    format!("<built-in method {} of {} object at 0x{:x}>", n.name, owner, v.id())
                }
                (None, Some(owner)) => format!("<method '{}' of '{}' objects>", n.name, owner),
                _ => format!("<built-in function {}>", n.name),
            },
            Value::Class(c) => {
                if c.builtin.is_some() || c.layout == super::value::Layout::Exception && self.is_builtin_exc(c) {
                    format!("<class '{}'>", c.name)
                } else {
                    let module = c.dict.borrow().get(&self.syms.module).cloned();
                    let m = match module {
                        Some(Value::Str(s)) => s.as_str().to_string(),
                        // The classes of native objects (`dict_keys`) are built-ins.
                        _ if c.layout == super::value::Layout::Builtin => "builtins".into(),
                        _ => "__main__".into(),
                    };
                    if m == "builtins" {
                        format!("<class '{}'>", c.qualname.borrow())
                    } else {
                        format!("<class '{}.{}'>", m, c.qualname.borrow())
                    }
                }
            }
            Value::Instance(i) => {
                let class = i.class.clone();
                if let Some(f) = super::attr::lookup_override(&class, self.syms.repr) {
                    return self.call_text_dunder(&f, v, "__repr__");
                }
                if class.layout == super::value::Layout::Exception {
                    return self.exception_repr(i);
                }
                self.object_repr(v)
            }
            Value::Module(m) => format!("<module '{}'>", m.name),
            Value::Iter(_) => format!("<{} object at 0x{:x}>", self.type_name(v), v.id()),
            Value::Descriptor(_) => format!("<{} object at 0x{:x}>", self.type_name(v), v.id()),
            Value::Cell(_) => format!("<cell at 0x{:x}>", v.id()),
            Value::Code(c) => format!("<code object {} at 0x{:x}>", c.name, v.id()),
            Value::Gen(g) => format!("<{} object {} at 0x{:x}>", self.type_name(v), g.qualname(), v.id()),
            Value::Other(o) => {
                if let Some(r) = o.get_attr(self, v, self.syms.repr)? {
                    let s = self.call(&r, vec![])?;
                    return self.str_of(&s);
                }
                o.repr()
            }
        })
    }

    /// `object.__repr__(v)`: `<module.Class object at 0x...>` (no module for built-in types).
    pub(crate) fn object_repr(&self, v: &Value) -> String {
        match v {
            Value::Instance(i) => self.object_repr_of(&i.class, v),
            _ => self.object_repr_of(&self.class_of(v), v),
        }
    }

    fn object_repr_of(&self, class: &Rc<super::value::Class>, v: &Value) -> String {
        if class.builtin.is_some() || class.layout == super::value::Layout::Exception && self.is_builtin_exc(class) {
            return format!("<{} object at 0x{:x}>", class.name, v.id());
        }
        let m = match class.lookup(self.syms.module) {
            Some(Value::Str(s)) => s.as_str().to_string(),
            _ => "__main__".into(),
        };
        format!("<{}.{} object at 0x{:x}>", m, class.qualname.borrow(), v.id())
    }

    pub(crate) fn is_builtin_exc(&self, c: &Rc<super::value::Class>) -> bool {
        self.exc_types.iter().any(|e| Rc::ptr_eq(e, c))
    }

    pub(crate) fn exception_repr(&mut self, i: &Rc<super::value::Instance>) -> Res<String> {
        let args = i.get_attr(self.syms.args).unwrap_or(Value::tuple(vec![]));
        let name = i.class.name.clone();
        match &args {
            Value::Tuple(t) if t.len() == 1 => Ok(format!("{}({})", name, self.repr(&t[0])?)),
            Value::Tuple(t) => Ok(format!("{}{}", name, self.repr_seq(t, "(", ")", false)?)),
            other => Ok(format!("{}({})", name, self.repr(other)?)),
        }
    }

    /// `f()`, or `busy` when `v`'s repr is already in progress (a cycle).
    pub(crate) fn repr_guarded(
        &mut self,
        v: &Value,
        busy: &str,
        f: impl FnOnce(&mut Vm) -> Res<String>,
    ) -> Res<String> {
        let id = v.id();
        if self.repr_stack.contains(&id) {
            return Ok(busy.to_string());
        }
        self.check_depth_native()?;
        self.repr_stack.push(id);
        let r = f(self);
        self.repr_stack.pop();
        r
    }

    fn repr_seq(&mut self, items: &[Value], open: &str, close: &str, trailing_comma: bool) -> Res<String> {
        let mut s = String::from(open);
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&self.repr(it)?);
        }
        if trailing_comma {
            s.push(',');
        }
        s.push_str(close);
        Ok(s)
    }

    /// Calls a script `__repr__`/`__str__` and checks that it returned a string.
    fn call_text_dunder(&mut self, f: &Value, v: &Value, which: &str) -> Res<String> {
        match self.call(f, vec![v.clone()])? {
            Value::Str(s) => Ok(s.as_str().to_string()),
            other => Err(Exc::type_error(format!("{which} returned non-string (type {})", self.type_name(&other)))),
        }
    }

    /// `str(v)`.
    pub fn str_of(&mut self, v: &Value) -> Res<String> {
        match v {
            Value::Str(s) => Ok(s.as_str().to_string()),
            Value::Instance(i) => {
                let class = i.class.clone();
                if let Some(f) = super::attr::lookup_override(&class, self.syms.str_) {
                    return self.call_text_dunder(&f, v, "__str__");
                }
                self.repr(v)
            }
            _ => self.repr(v),
        }
    }

    /// `str(exc)` for exceptions: the single argument's `str`, or the `repr` of the args tuple.
    pub fn exception_str(&mut self, i: &Rc<super::value::Instance>) -> Res<String> {
        let args = i.get_attr(self.syms.args).unwrap_or(Value::tuple(vec![]));
        let is_key_error = i.class.is_subclass(self.exc_class(ExcKind::KeyError));
        match &args {
            Value::Tuple(t) if t.is_empty() => Ok(String::new()),
            Value::Tuple(t) if t.len() == 1 => {
                if is_key_error {
                    self.repr(&t[0])
                } else {
                    self.str_of(&t[0])
                }
            }
            other => self.repr(other),
        }
    }

    /// `str(int)` with CPython's digit limit.
    pub fn bigint_to_str(&mut self, b: &BigInt) -> Res<String> {
        crate::text::int_text::int_to_decimal_string(b).map_err(|e| Exc::value_error(e.message))
    }

    /// `format(v, spec)`.
    pub fn format(&mut self, v: &Value, spec: &str) -> Res<String> {
        let tname = self.type_name(v);
        let conv = |e: text::TextError| match e.kind {
            text::ErrorKind::ValueError => Exc::value_error(e.message),
            text::ErrorKind::OverflowError => Exc::overflow(e.message),
            text::ErrorKind::TypeError => Exc::type_error(e.message),
            text::ErrorKind::ZeroDivisionError => Exc::zero_division(e.message),
            text::ErrorKind::IndexError => Exc::index_error(e.message),
            text::ErrorKind::MemoryError => super::mem::memory_error(),
        };
        match v {
            Value::Int(_) | Value::BigInt(_) | Value::Bool(_) if !(matches!(v, Value::Bool(_)) && spec.is_empty()) => {
                let b = match v {
                    Value::Int(i) => BigInt::from(*i),
                    Value::Bool(x) => BigInt::from(*x as i64),
                    Value::BigInt(b) => (**b).clone(),
                    _ => BigInt::zero(),
                };
                let parsed = text::format_spec::parse(spec, &tname).map_err(conv)?;
                text::format_spec::format_int(&b, &parsed, &tname).map_err(conv)
            }
            Value::Float(f) => {
                let parsed = text::format_spec::parse(spec, &tname).map_err(conv)?;
                text::format_spec::format_float(*f, &parsed, &tname).map_err(conv)
            }
            Value::Str(s) => {
                let parsed = text::format_spec::parse(spec, &tname).map_err(conv)?;
                text::format_spec::format_str(s.as_str(), &parsed, &tname).map_err(conv)
            }
            Value::Instance(i) => {
                if let Some(f) = super::attr::lookup_override(&i.class, self.syms.format) {
                    let r = self.call(&f, vec![v.clone(), Value::str(spec)])?;
                    return match &r {
                        Value::Str(s) => Ok(s.as_str().to_string()),
                        other => {
                            Err(Exc::type_error(format!("__format__ must return a str, not {}", self.type_name(other))))
                        }
                    };
                }
                if spec.is_empty() {
                    return self.str_of(v);
                }
                Err(Exc::type_error(format!("unsupported format string passed to {}.__format__", tname)))
            }
            // Every other built-in type inherits `object.__format__`, which takes only "".
            _ => {
                if spec.is_empty() {
                    return self.str_of(v);
                }
                // A native object may format itself; every other type has only
                // `object.__format__`, which takes no spec.
                if let Value::Other(o) = v {
                    if let Some(f) = o.clone().get_attr(self, v, self.syms.format)? {
                        return match self.call(&f, vec![Value::str(spec)])? {
                            Value::Str(s) => Ok(s.as_str().to_string()),
                            other => Err(Exc::type_error(format!(
                                "__format__ must return a str, not {}",
                                self.type_name(&other)
                            ))),
                        };
                    }
                }
                Err(Exc::type_error(format!("unsupported format string passed to {}.__format__", tname)))
            }
        }
    }

    /// `hash(v)`.
    pub fn hash(&mut self, v: &Value) -> Res<i64> {
        Ok(match v {
            Value::Int(i) => text::int_math::hash_i64(*i),
            Value::Bool(b) => *b as i64,
            Value::BigInt(b) => text::int_math::hash_int(b),
            Value::Float(f) => text::int_math::hash_float(*f),
            Value::Str(s) => str_hash(s),
            Value::Bytes(b) => text::int_math::hash_str(&String::from_utf8_lossy(b)) ^ 0x5bd1,
            Value::None => 0x5f5e_1000,
            Value::Tuple(t) => {
                // CPython's xxHash-based tuple hash.
                let mut acc: u64 = 0x27D4_EB2F_1656_67C5;
                for item in t.iter() {
                    let lane = self.hash(item)? as u64;
                    acc = acc.wrapping_add(lane.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
                    acc = acc.rotate_left(31);
                    acc = acc.wrapping_mul(0x9E37_79B1_85EB_CA87);
                }
                acc = acc.wrapping_add(t.len() as u64 ^ (0x27D4_EB2F_1656_67C5 ^ 3_527_539));
                let h = acc as i64;
                if h == -1 {
                    1_546_275_796
                } else {
                    h
                }
            }
            Value::FrozenSet(s) => {
                // CPython's `frozenset_hash`, cached.
                if s.hash.get() != -1 {
                    return Ok(s.hash.get());
                }
                fn shuffle(h: u64) -> u64 {
                    ((h ^ 89_869_747) ^ (h << 16)).wrapping_mul(3_644_798_167)
                }
                let keys = s.d.borrow().keys();
                let mut h: u64 = 0;
                for k in &keys {
                    h ^= shuffle(self.hash(k)? as u64);
                }
                h ^= (keys.len() as u64 + 1).wrapping_mul(1_927_868_237);
                h ^= (h >> 11) ^ (h >> 25);
                h = h.wrapping_mul(69069).wrapping_add(907_133_923);
                let h = if h as i64 == -1 { 590_923_713 } else { h as i64 };
                s.hash.set(h);
                h
            }
            Value::Range(r) => {
                // CPython's `range_hash`: equal ranges hash alike, as the tuple
                // (len, start, step), with None for what an empty or one-item range ignores.
                let (start, _, step) = r.parts();
                let len = r.big_len();
                let n = len.clone();
                let item = |b: BigInt| Value::from_bigint(b);
                let parts = if n == BigInt::from(0) {
                    vec![item(len), Value::None, Value::None]
                } else if n == BigInt::from(1) {
                    vec![item(len), item(start), Value::None]
                } else {
                    vec![item(len), item(start), item(step)]
                };
                return self.hash(&Value::tuple(parts));
            }
            // Slices became hashable only in Python 3.12.
            Value::List(_) | Value::Dict(_) | Value::Set(_) | Value::ByteArray(_) | Value::Slice(_) => {
                return Err(Exc::type_error(format!("unhashable type: '{}'", self.type_name(v))));
            }
            Value::Instance(i) => {
                let class = i.class.clone();
                match super::attr::lookup_override(&class, self.syms.hash) {
                    Some(Value::None) => {
                        return Err(Exc::type_error(format!("unhashable type: '{}'", class.tp_name())))
                    }
                    Some(f) => {
                        let r = self.call(&f, vec![v.clone()])?;
                        match r {
                            // CPython keeps a `__hash__` result that fits a machine word.
                            Value::Int(-1) => -2,
                            Value::Int(i) => i,
                            Value::BigInt(b) => text::int_math::hash_int(&b),
                            Value::Bool(b) => b as i64,
                            _ => return Err(Exc::type_error("__hash__ method should return an integer")),
                        }
                    }
                    None => v.id() >> 4,
                }
            }
            Value::Other(o) => match o.hashes_as() {
                Some(inner) => return self.hash(inner),
                None => o.hash().unwrap_or_else(|| v.id() >> 4),
            },
            // Equal bound methods (same function, same receiver) hash alike.
            Value::BoundMethod(m) => (m.receiver.id() >> 4) ^ (m.func.id() >> 4),
            Value::Native(n) if n.receiver.is_some() => {
                let r = n.receiver.as_ref().map_or(0, |r| r.id() >> 4);
                r ^ text::int_math::hash_str(n.name)
            }
            _ => v.id() >> 4,
        })
    }

    /// `a == b`.
    pub fn eq(&mut self, a: &Value, b: &Value) -> Res<bool> {
        if let Some(r) = super::dict::fast_eq(a, b) {
            if !matches!(a, Value::Instance(_)) && !matches!(b, Value::Instance(_)) {
                return Ok(r);
            }
        }
        let v = self.compare(CmpKind::Eq, a, b)?;
        self.truthy(&v)
    }

    /// Rich comparison with dunder dispatch and reflection.
    pub fn compare(&mut self, kind: CmpKind, a: &Value, b: &Value) -> Res<Value> {
        if let Some(r) = self.compare_builtin(kind, a, b)? {
            return Ok(Value::Bool(r));
        }
        let (name, rname) = match kind {
            CmpKind::Lt => (self.syms.lt, self.syms.gt),
            CmpKind::Le => (self.syms.le, self.syms.ge),
            CmpKind::Eq => (self.syms.eq, self.syms.eq),
            CmpKind::Ne => (self.syms.ne, self.syms.ne),
            CmpKind::Gt => (self.syms.gt, self.syms.lt),
            CmpKind::Ge => (self.syms.ge, self.syms.le),
        };
        // A subclass's reflected method goes first.
        let a_class = self.class_of(a);
        let b_class = self.class_of(b);
        let b_first = !Rc::ptr_eq(&a_class, &b_class)
            && b_class.is_subclass(&a_class)
            && b_class.dict.borrow().contains_key(&rname);
        if b_first {
            if let Some(r) = self.try_cmp_dunder(kind, b, rname, a)? {
                return Ok(r);
            }
        }
        if let Some(r) = self.try_cmp_dunder(kind, a, name, b)? {
            return Ok(r);
        }
        if !b_first {
            if let Some(r) = self.try_cmp_dunder(kind, b, rname, a)? {
                return Ok(r);
            }
        }
        match kind {
            CmpKind::Eq => Ok(Value::Bool(a.is(b))),
            CmpKind::Ne => Ok(Value::Bool(!a.is(b))),
            _ => {
                let op = match kind {
                    CmpKind::Lt => "<",
                    CmpKind::Le => "<=",
                    CmpKind::Gt => ">",
                    _ => ">=",
                };
                Err(Exc::type_error(format!(
                    "'{}' not supported between instances of '{}' and '{}'",
                    op,
                    self.type_name(a),
                    self.type_name(b)
                )))
            }
        }
    }

    /// One side of a rich comparison: `a.name(b)`; a missing `__ne__` inverts `__eq__`.
    fn try_cmp_dunder(&mut self, kind: CmpKind, a: &Value, name: Sym, b: &Value) -> Res<Option<Value>> {
        if kind == CmpKind::Ne {
            if let Value::Instance(i) = a {
                if super::attr::lookup_override(&i.class, self.syms.ne).is_none() {
                    return match self.try_dunder(a, self.syms.eq, b)? {
                        Some(r) => {
                            let t = self.truthy(&r)?;
                            Ok(Some(Value::Bool(!t)))
                        }
                        None => Ok(None),
                    };
                }
            }
        }
        self.try_dunder(a, name, b)
    }

    /// Calls `a.name(b)` if `a`'s class (a script class) defines it; `None` on absence or `NotImplemented`.
    fn try_dunder(&mut self, a: &Value, name: Sym, b: &Value) -> Res<Option<Value>> {
        let f = match a {
            Value::Instance(i) => super::attr::lookup_override(&i.class, name),
            Value::Other(o) => {
                let o = o.clone();
                if let Some(m) = o.get_attr(self, a, name)? {
                    let r = self.call(&m, vec![b.clone()])?;
                    return Ok(if matches!(r, Value::NotImplemented) { None } else { Some(r) });
                }
                None
            }
            _ => None,
        };
        match f {
            Some(f) => {
                let r = self.call(&f, vec![a.clone(), b.clone()])?;
                Ok(if matches!(r, Value::NotImplemented) { None } else { Some(r) })
            }
            None => Ok(None),
        }
    }

    /// Comparison of built-in values; `None` when neither side is a built-in comparable pair.
    ///
    /// Containers compare their items recursively in Rust: each level counts against the
    /// recursion limit, as CPython's `Py_EnterRecursiveCall(" in comparison")`.
    fn compare_builtin(&mut self, kind: CmpKind, a: &Value, b: &Value) -> Res<Option<bool>> {
        let container = matches!(
            (a, b),
            (Value::List(_), Value::List(_))
                | (Value::Tuple(_), Value::Tuple(_))
                | (Value::Dict(_), Value::Dict(_))
                | (Value::Set(_) | Value::FrozenSet(_), Value::Set(_) | Value::FrozenSet(_))
        );
        if !container {
            return self.compare_builtin_inner(kind, a, b);
        }
        if self.frames.len() + self.depth.native() >= self.depth.limit() {
            return Err(Exc::new(ExcKind::RecursionError, "maximum recursion depth exceeded in comparison"));
        }
        self.depth.enter_native();
        let r = self.compare_builtin_inner(kind, a, b);
        self.depth.leave_native();
        r
    }

    fn compare_builtin_inner(&mut self, kind: CmpKind, a: &Value, b: &Value) -> Res<Option<bool>> {
        use std::cmp::Ordering;
        let ord: Option<Ordering> = match (a, b) {
            (Value::Instance(_), _) | (_, Value::Instance(_)) => return Ok(None),
            (Value::Str(x), Value::Str(y)) => Some(x.as_str().cmp(y.as_str())),
            (Value::Bytes(_) | Value::ByteArray(_), Value::Bytes(_) | Value::ByteArray(_)) => {
                let (x, y) = (self.bytes_like(a)?, self.bytes_like(b)?);
                Some(x.cmp(&y))
            }
            (Value::List(x), Value::List(y)) => {
                let (xs, ys) = (x.items.borrow().clone(), y.items.borrow().clone());
                return self.compare_seq(kind, &xs, &ys).map(Some);
            }
            (Value::Tuple(x), Value::Tuple(y)) => {
                let (xs, ys) = (x.clone(), y.clone());
                return self.compare_seq(kind, &xs, &ys).map(Some);
            }
            (Value::Set(_) | Value::FrozenSet(_), Value::Set(_) | Value::FrozenSet(_)) => {
                return self.compare_sets(kind, a, b).map(Some)
            }
            (Value::Dict(x), Value::Dict(y)) if matches!(kind, CmpKind::Eq | CmpKind::Ne) => {
                let eq = self.dicts_equal(x, y)?;
                return Ok(Some(eq == (kind == CmpKind::Eq)));
            }
            // Slices compare as the tuples (start, stop, step).
            (Value::Slice(x), Value::Slice(y)) => {
                let xs = [x.start.clone(), x.stop.clone(), x.step.clone()];
                let ys = [y.start.clone(), y.stop.clone(), y.step.clone()];
                return self.compare_seq(kind, &xs, &ys).map(Some);
            }
            (Value::Range(x), Value::Range(y)) if matches!(kind, CmpKind::Eq | CmpKind::Ne) => {
                let (xl, yl) = (x.big_len(), y.big_len());
                let (xs, _, xc) = x.parts();
                let (ys, _, yc) = y.parts();
                let eq =
                    (xl.is_zero() && yl.is_zero()) || (xs == ys && xl == yl && (xl == BigInt::from(1) || xc == yc));
                return Ok(Some(eq == (kind == CmpKind::Eq)));
            }
            _ => match (num_of(a), num_of(b)) {
                (Some(x), Some(y)) => num_cmp(&x, &y),
                _ => {
                    if matches!(kind, CmpKind::Eq | CmpKind::Ne) {
                        if let Some(e) = super::dict::fast_eq(a, b) {
                            return Ok(Some(e == (kind == CmpKind::Eq)));
                        }
                    }
                    return Ok(None);
                }
            },
        };
        Ok(Some(match ord {
            None => kind == CmpKind::Ne, // NaN
            Some(o) => match kind {
                CmpKind::Lt => o == Ordering::Less,
                CmpKind::Le => o != Ordering::Greater,
                CmpKind::Eq => o == Ordering::Equal,
                CmpKind::Ne => o != Ordering::Equal,
                CmpKind::Gt => o == Ordering::Greater,
                CmpKind::Ge => o != Ordering::Less,
            },
        }))
    }

    fn compare_seq(&mut self, kind: CmpKind, xs: &[Value], ys: &[Value]) -> Res<bool> {
        for (x, y) in xs.iter().zip(ys.iter()) {
            if x.is(y) {
                continue;
            }
            if !self.eq(x, y)? {
                return match kind {
                    CmpKind::Eq => Ok(false),
                    CmpKind::Ne => Ok(true),
                    _ => {
                        let r = self.compare(kind, x, y)?;
                        self.truthy(&r)
                    }
                };
            }
        }
        let (a, b) = (xs.len(), ys.len());
        Ok(cmp_i64(kind, a as i64, b as i64))
    }

    fn compare_sets(&mut self, kind: CmpKind, a: &Value, b: &Value) -> Res<bool> {
        let (Value::Set(x) | Value::FrozenSet(x)) = a else { return Ok(false) };
        let (Value::Set(y) | Value::FrozenSet(y)) = b else { return Ok(false) };
        let xs = x.d.borrow().keys();
        let ys = y.d.borrow().keys();
        let mut x_in_y = true;
        for k in &xs {
            if !self.set_contains(y, k)? {
                x_in_y = false;
                break;
            }
        }
        let mut y_in_x = true;
        for k in &ys {
            if !self.set_contains(x, k)? {
                y_in_x = false;
                break;
            }
        }
        Ok(match kind {
            CmpKind::Eq => x_in_y && y_in_x,
            CmpKind::Ne => !(x_in_y && y_in_x),
            CmpKind::Le => x_in_y,
            CmpKind::Lt => x_in_y && !y_in_x,
            CmpKind::Ge => y_in_x,
            CmpKind::Gt => y_in_x && !x_in_y,
        })
    }

    fn dicts_equal(&mut self, x: &Rc<DictObj>, y: &Rc<DictObj>) -> Res<bool> {
        if Rc::ptr_eq(x, y) {
            return Ok(true);
        }
        if x.d.borrow().len() != y.d.borrow().len() {
            return Ok(false);
        }
        let entries: Vec<(Value, Value)> = x.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        for (k, v) in entries {
            match self.dict_get(y, &k)? {
                Some(v2) => {
                    if !self.eq(&v, &v2)? {
                        return Ok(false);
                    }
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// `a op b` with CPython's semantics, including dunder dispatch.
    /// A binary operator's dunders, in CPython's order: `b`'s reflected one first when `b`'s
    /// class is a proper subclass of `a`'s, then `a`'s, then `b`'s reflected one. `None`
    /// when each is missing or returns `NotImplemented`.
    fn binary_dunders(&mut self, a: &Value, b: &Value, name: Sym, rname: Sym) -> Res<Option<Value>> {
        let (a_class, b_class) = (self.class_of(a), self.class_of(b));
        let b_first =
            !Rc::ptr_eq(&a_class, &b_class) && b_class.is_subclass(&a_class) && matches!(b, Value::Instance(_));
        if b_first {
            if let Some(r) = self.try_dunder(b, rname, a)? {
                return Ok(Some(r));
            }
        }
        if let Some(r) = self.try_dunder(a, name, b)? {
            return Ok(Some(r));
        }
        if !b_first && !Rc::ptr_eq(&a_class, &b_class) {
            return self.try_dunder(b, rname, a);
        }
        Ok(None)
    }

    pub fn binary_op(&mut self, op: BinOp, a: Value, b: Value) -> Res<Value> {
        if let Some(v) = self.binary_builtin(op, &a, &b)? {
            return Ok(v);
        }
        let (name, rname, _, sym) = op_dunders(op);
        let (name, rname) = (Sym::new(name), Sym::new(rname));
        if let Some(r) = self.binary_dunders(&a, &b, name, rname)? {
            return Ok(r);
        }
        if op == BinOp::Add && matches!(a, Value::Str(_)) {
            return Err(Exc::type_error(format!("can only concatenate str (not \"{}\") to str", self.type_name(&b))));
        }
        if op == BinOp::Add && matches!(a, Value::List(_)) {
            return Err(Exc::type_error(format!("can only concatenate list (not \"{}\") to list", self.type_name(&b))));
        }
        if op == BinOp::Add && matches!(a, Value::Tuple(_)) {
            return Err(Exc::type_error(format!(
                "can only concatenate tuple (not \"{}\") to tuple",
                self.type_name(&b)
            )));
        }
        let is_seq = |v: &Value| {
            matches!(v, Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_) | Value::ByteArray(_))
        };
        if op == BinOp::Mult && (is_seq(&a) || is_seq(&b)) {
            // A sequence repeats by any object with `__index__`.
            let (seq, n) = if is_seq(&a) { (&a, &b) } else { (&b, &a) };
            if let Value::Instance(i) = n {
                if i.class.lookup(self.syms.index).is_some() {
                    let n = self.index_value(n)?;
                    return self.binary_op(BinOp::Mult, seq.clone(), Value::Int(n));
                }
            }
        }
        let repeats = |v: &Value| {
            matches!(v, Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_) | Value::ByteArray(_))
        };
        if op == BinOp::Mult && (repeats(&a) || repeats(&b)) {
            // The left operand is the sequence when both could be.
            let other = if repeats(&a) { &b } else { &a };
            return Err(Exc::type_error(format!(
                "can't multiply sequence by non-int of type '{}'",
                self.type_name(other)
            )));
        }
        if op == BinOp::BitOr {
            if let Some(u) = crate::builtins::union_type::union_or(self, &a, &b) {
                return Ok(u);
            }
        }
        Err(Exc::type_error(format!(
            "unsupported operand type(s) for {}: '{}' and '{}'",
            sym,
            self.type_name(&a),
            self.type_name(&b)
        )))
    }

    /// `divmod(a, b)`: floor division and modulo for numbers, else `__divmod__` /
    /// `__rdivmod__` in the order `binary_op` tries reflected methods.
    pub fn divmod_op(&mut self, a: Value, b: Value) -> Res<Value> {
        let numeric = |v: &Value| matches!(v, Value::Int(_) | Value::Bool(_) | Value::BigInt(_) | Value::Float(_));
        if numeric(&a) && numeric(&b) {
            if matches!(a, Value::Float(_)) || matches!(b, Value::Float(_)) {
                let zero = match &b {
                    Value::Float(f) => *f == 0.0,
                    Value::Int(0) | Value::Bool(false) => true,
                    _ => false,
                };
                if zero {
                    return Err(Exc::zero_division("float divmod()"));
                }
            }
            let q = self.binary_op(BinOp::FloorDiv, a.clone(), b.clone())?;
            let r = self.binary_op(BinOp::Mod, a, b)?;
            return Ok(Value::tuple(vec![q, r]));
        }
        let (name, rname) = (Sym::new("__divmod__"), Sym::new("__rdivmod__"));
        if let Some(r) = self.binary_dunders(&a, &b, name, rname)? {
            return Ok(r);
        }
        Err(Exc::type_error(format!(
            "unsupported operand type(s) for divmod(): '{}' and '{}'",
            self.type_name(&a),
            self.type_name(&b)
        )))
    }

    /// `a op= b`: tries `__iop__` first, then the binary operator.
    pub fn inplace_op(&mut self, op: BinOp, a: Value, b: Value) -> Res<Value> {
        match (&a, op) {
            (Value::List(l), BinOp::Add) => {
                let items = self.collect(&b)?;
                self.mem_charge(items.len() * std::mem::size_of::<Value>())?;
                let mut dst = l.items.borrow_mut();
                super::mem::room_for(&mut dst, items.len())?;
                dst.extend(items);
                drop(dst);
                return Ok(a);
            }
            (Value::List(l), BinOp::Mult) if matches!(b, Value::Int(_) | Value::Bool(_)) => {
                let n = self.index_value(&b)?;
                let len = l.items.borrow().len();
                self.mem_charge(len.saturating_mul(n.max(0) as usize).saturating_mul(std::mem::size_of::<Value>()))?;
                let orig = l.items.borrow().clone();
                let new = if n <= 0 { Vec::new() } else { super::mem::repeat(&orig, n as usize)? };
                let old = std::mem::replace(&mut *l.items.borrow_mut(), new);
                drop((old, orig));
                return Ok(a);
            }
            (Value::ByteArray(ba), BinOp::Mult) if matches!(b, Value::Int(_) | Value::Bool(_)) => {
                let n = self.index_value(&b)?.max(0) as usize;
                let orig = ba.borrow().clone();
                *ba.borrow_mut() = super::mem::repeat(&orig, n)?;
                return Ok(a);
            }
            (Value::Set(dst), BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor)
                if matches!(b, Value::Set(_) | Value::FrozenSet(_)) =>
            {
                let dst = dst.clone();
                let (Value::Set(src) | Value::FrozenSet(src)) = &b else { return Ok(a) };
                match op {
                    BinOp::BitOr => self.set_update(&a, &b)?,
                    BinOp::Sub => {
                        if Rc::ptr_eq(&dst, src) {
                            dst.d.borrow_mut().clear();
                        } else {
                            for k in src.d.borrow().keys() {
                                self.set_discard(&dst, &k)?;
                            }
                        }
                    }
                    BinOp::BitXor => {
                        if Rc::ptr_eq(&dst, src) {
                            dst.d.borrow_mut().clear();
                        } else {
                            for k in src.d.borrow().keys() {
                                if !self.set_discard(&dst, &k)? {
                                    self.set_add(&a, k)?;
                                }
                            }
                        }
                    }
                    _ => {
                        let r = self.set_op(op, &a, &b)?;
                        if let Value::Set(rs) = r {
                            let t = rs.d.borrow().clone();
                            *dst.d.borrow_mut() = t;
                        }
                    }
                }
                return Ok(a);
            }
            (Value::Dict(_), BinOp::BitOr) => {
                self.dict_update_from(&a, &b, false)?;
                return Ok(a);
            }
            (Value::ByteArray(ba), BinOp::Add) => {
                let extra = self.bytes_like(&b)?;
                self.mem_charge(extra.len())?;
                ba.borrow_mut().extend(extra);
                return Ok(a);
            }
            _ => {}
        }
        if let Value::Instance(i) = &a {
            let (_, _, iname, _) = op_dunders(op);
            if let Some(f) = i.class.lookup(Sym::new(iname)) {
                let r = self.call(&f, vec![a.clone(), b.clone()])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
        }
        self.binary_op(op, a, b).map_err(|e| match e {
            // The operator of a failed `x += y` is spelled `+=`, as CPython does.
            Exc::Msg(ExcKind::TypeError, m) => {
                let sym = op_dunders(op).3;
                let prefix = format!("unsupported operand type(s) for {sym}:");
                let sym = if op == BinOp::Pow { "**" } else { sym };
                match m.strip_prefix(&prefix) {
                    Some(rest) => Exc::type_error(format!("unsupported operand type(s) for {sym}=:{rest}")),
                    None => Exc::Msg(ExcKind::TypeError, m),
                }
            }
            e => e,
        })
    }

    /// The bytes of a bytes-like value.
    pub fn bytes_like(&mut self, v: &Value) -> Res<Vec<u8>> {
        match v {
            Value::Bytes(b) => Ok(b.to_vec()),
            Value::ByteArray(b) => Ok(b.borrow().clone()),
            _ => Err(Exc::type_error(format!("a bytes-like object is required, not '{}'", self.type_name(v)))),
        }
    }

    fn binary_builtin(&mut self, op: BinOp, a: &Value, b: &Value) -> Res<Option<Value>> {
        match (a, b) {
            (Value::Str(x), Value::Str(y)) if op == BinOp::Add => {
                self.mem_charge(x.s.len() + y.s.len())?;
                let mut s = super::mem::string_with_capacity(x.s.len() + y.s.len())?;
                s.push_str(x.as_str());
                s.push_str(y.as_str());
                return Ok(Some(Value::Str(Rc::new(Str::with_chars(s, x.chars + y.chars)))));
            }
            (Value::Str(x), Value::Int(_) | Value::Bool(_)) | (Value::Int(_) | Value::Bool(_), Value::Str(x))
                if op == BinOp::Mult =>
            {
                let n = self.index_value(if matches!(a, Value::Str(_)) { b } else { a })?;
                let n = n.max(0) as usize;
                self.mem_charge(x.s.len().saturating_mul(n))?;
                return Ok(Some(Value::string(super::mem::repeat_str(x.as_str(), n)?)));
            }
            (Value::Str(x), _) if op == BinOp::Mod => {
                let s = x.clone();
                return Ok(Some(Value::string(self.percent_format(s.as_str(), b)?)));
            }
            (Value::Bytes(_) | Value::ByteArray(_), _) if op == BinOp::Mod => {
                return crate::builtins::bytes_format::bytes_mod(self, a, b).map(Some);
            }
            (Value::List(x), Value::List(y)) if op == BinOp::Add => {
                let (xs, ys) = (x.items.borrow(), y.items.borrow());
                self.mem_charge((xs.len() + ys.len()) * std::mem::size_of::<Value>())?;
                let mut v = super::mem::vec_with_capacity(xs.len() + ys.len())?;
                v.extend(xs.iter().cloned());
                v.extend(ys.iter().cloned());
                drop((xs, ys));
                return Ok(Some(Value::list(v)));
            }
            (Value::Tuple(x), Value::Tuple(y)) if op == BinOp::Add => {
                self.mem_charge((x.len() + y.len()) * std::mem::size_of::<Value>())?;
                let mut v = super::mem::vec_with_capacity(x.len() + y.len())?;
                v.extend(x.iter().cloned());
                v.extend(y.iter().cloned());
                return Ok(Some(Value::tuple(v)));
            }
            (Value::List(_) | Value::Tuple(_), Value::Int(_) | Value::Bool(_))
            | (Value::Int(_) | Value::Bool(_), Value::List(_) | Value::Tuple(_))
                if op == BinOp::Mult =>
            {
                let (seq, n) = if matches!(a, Value::Int(_) | Value::Bool(_)) { (b, a) } else { (a, b) };
                let n = self.index_value(n)?.max(0) as usize;
                let len = match seq {
                    Value::List(l) => l.items.borrow().len(),
                    Value::Tuple(t) => t.len(),
                    _ => 0,
                };
                self.mem_charge(len.saturating_mul(n).saturating_mul(std::mem::size_of::<Value>()))?;
                let out = match seq {
                    Value::List(l) => {
                        let items = l.items.borrow().clone();
                        super::mem::repeat(&items, n)?
                    }
                    Value::Tuple(t) => super::mem::repeat(t, n)?,
                    _ => vec![],
                };
                return Ok(Some(if matches!(seq, Value::List(_)) { Value::list(out) } else { Value::tuple(out) }));
            }
            (
                Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_) | Value::ByteArray(_),
                Value::BigInt(_),
            )
            | (
                Value::BigInt(_),
                Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_) | Value::ByteArray(_),
            ) if op == BinOp::Mult => {
                return Err(Exc::overflow("cannot fit 'int' into an index-sized integer"));
            }
            (Value::ByteArray(x), Value::Int(_) | Value::Bool(_))
            | (Value::Int(_) | Value::Bool(_), Value::ByteArray(x))
                if op == BinOp::Mult =>
            {
                let n = self.index_value(if matches!(a, Value::ByteArray(_)) { b } else { a })?.max(0) as usize;
                let items = x.borrow().clone();
                let out = super::mem::repeat(&items, n)?;
                return Ok(Some(Value::ByteArray(Rc::new(std::cell::RefCell::new(out)))));
            }
            (Value::Bytes(x), Value::Bytes(y)) if op == BinOp::Add => {
                self.mem_charge(x.len() + y.len())?;
                let mut v = x.to_vec();
                v.extend_from_slice(y);
                return Ok(Some(Value::Bytes(Rc::from(v))));
            }
            (Value::Bytes(_) | Value::ByteArray(_), Value::Bytes(_) | Value::ByteArray(_)) if op == BinOp::Add => {
                let (x, y) = (self.bytes_like(a)?, self.bytes_like(b)?);
                self.mem_charge(x.len() + y.len())?;
                let mut v = x;
                v.extend_from_slice(&y);
                return Ok(Some(match a {
                    Value::ByteArray(_) => Value::ByteArray(Rc::new(std::cell::RefCell::new(v))),
                    _ => Value::Bytes(Rc::from(v)),
                }));
            }
            (Value::Bytes(_) | Value::ByteArray(_), _)
                if op == BinOp::Add && !matches!(b, Value::Instance(_) | Value::Other(_)) =>
            {
                let msg = format!("can't concat {} to {}", self.type_name(b), self.type_name(a));
                return Err(Exc::type_error(msg));
            }
            (Value::Bytes(x), Value::Int(n)) | (Value::Int(n), Value::Bytes(x)) if op == BinOp::Mult => {
                self.mem_charge(x.len().saturating_mul((*n).max(0) as usize))?;
                return Ok(Some(Value::Bytes(Rc::from(super::mem::repeat(x, (*n).max(0) as usize)?))));
            }
            (Value::Set(_) | Value::FrozenSet(_), Value::Set(_) | Value::FrozenSet(_))
                if matches!(op, BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor) =>
            {
                return self.set_op(op, a, b).map(Some);
            }
            (Value::Dict(x), Value::Dict(_)) if op == BinOp::BitOr => {
                let d = Value::dict(x.d.borrow().clone());
                self.dict_update_from(&d, b, false)?;
                return Ok(Some(d));
            }
            _ => {}
        }
        if let (Value::Bool(x), Value::Bool(y)) = (a, b) {
            match op {
                BinOp::BitAnd => return Ok(Some(Value::Bool(*x & *y))),
                BinOp::BitOr => return Ok(Some(Value::Bool(*x | *y))),
                BinOp::BitXor => return Ok(Some(Value::Bool(*x ^ *y))),
                _ => {}
            }
        }
        let (Some(x), Some(y)) = (num_of(a), num_of(b)) else { return Ok(None) };
        self.numeric_op(op, x, y).map(Some)
    }

    fn numeric_op(&mut self, op: BinOp, x: Num, y: Num) -> Res<Value> {
        if matches!(x, Num::F(_)) || matches!(y, Num::F(_)) || op == BinOp::Div {
            if op == BinOp::Div && !matches!(x, Num::F(_)) && !matches!(y, Num::F(_)) {
                let (bx, by) = (to_big(&x), to_big(&y));
                if by.is_zero() {
                    return Err(Exc::zero_division("division by zero"));
                }
                if let (Num::I(p), Num::I(q)) = (&x, &y) {
                    if p.unsigned_abs() < (1 << 53) && q.unsigned_abs() < (1 << 53) {
                        return Ok(Value::Float(*p as f64 / *q as f64));
                    }
                }
                return text::int_math::int_true_div(&bx, &by).map(Value::Float).map_err(|e| Exc::overflow(e.message));
            }
            if matches!(
                op,
                BinOp::LShift | BinOp::RShift | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::MatMult
            ) {
                return Err(Exc::type_error(format!(
                    "unsupported operand type(s) for {}: '{}' and '{}'",
                    op_dunders(op).3,
                    if matches!(x, Num::F(_)) { "float" } else { "int" },
                    if matches!(y, Num::F(_)) { "float" } else { "int" }
                )));
            }
            let (fx, fy) = (to_f64(&x)?, to_f64(&y)?);
            return Ok(Value::Float(match op {
                BinOp::Add => fx + fy,
                BinOp::Sub => fx - fy,
                BinOp::Mult => fx * fy,
                BinOp::Div => {
                    if fy == 0.0 {
                        return Err(Exc::zero_division("float division by zero"));
                    }
                    fx / fy
                }
                BinOp::FloorDiv => {
                    if fy == 0.0 {
                        return Err(Exc::zero_division("float floor division by zero"));
                    }
                    text::int_math::float_floor_div_mod(fx, fy).0
                }
                BinOp::Mod => {
                    if fy == 0.0 {
                        return Err(Exc::zero_division("float modulo"));
                    }
                    text::int_math::float_floor_div_mod(fx, fy).1
                }
                BinOp::Pow => return self.float_pow(fx, fy),
                _ => unreachable_op(),
            }));
        }
        // Integers.
        if let (Num::I(p), Num::I(q)) = (&x, &y) {
            if let Some(v) = int_fast(op, *p, *q) {
                return Ok(v);
            }
        }
        let (bx, by) = (to_big(&x), to_big(&y));
        Ok(match op {
            BinOp::Add => Value::from_bigint(bx + by),
            BinOp::Sub => Value::from_bigint(bx - by),
            BinOp::Mult => {
                self.mem_charge(((bx.bits() + by.bits()) / 8) as usize)?;
                if bx.bits() + by.bits() > 64 * 1024 * 1024 {
                    return Err(Exc::new(ExcKind::MemoryError, ""));
                }
                Value::from_bigint(bx * by)
            }
            BinOp::FloorDiv => {
                if by.is_zero() {
                    return Err(Exc::zero_division("integer division or modulo by zero"));
                }
                Value::from_bigint(bx.div_floor(&by))
            }
            BinOp::Mod => {
                if by.is_zero() {
                    return Err(Exc::zero_division("integer modulo by zero"));
                }
                Value::from_bigint(bx.mod_floor(&by))
            }
            BinOp::Pow => {
                if by.is_negative() {
                    let (fx, fy) = (to_f64(&x)?, to_f64(&y)?);
                    if fx == 0.0 {
                        return Err(Exc::zero_division("0.0 cannot be raised to a negative power"));
                    }
                    return Ok(Value::Float(fx.powf(fy)));
                }
                let e = by.to_u64().ok_or_else(|| Exc::overflow("exponent too large"))?;
                if bx.bits() > 1 {
                    self.mem_charge((bx.bits() as u128 * e as u128 / 8).min(usize::MAX as u128) as usize)?;
                }
                if bx.bits() as u128 * e as u128 > 64 * 1024 * 1024 * 8 && bx.bits() > 1 {
                    return Err(Exc::new(ExcKind::MemoryError, ""));
                }
                Value::from_bigint(num_traits::pow::Pow::pow(&bx, e))
            }
            BinOp::LShift => {
                if by.is_negative() {
                    return Err(Exc::value_error("negative shift count"));
                }
                let s = by.to_u64().ok_or_else(|| Exc::overflow("too many digits in integer"))?;
                if !bx.is_zero() {
                    self.mem_charge(((bx.bits() + s) / 8) as usize)?;
                }
                if s > 1 << 30 && !bx.is_zero() {
                    return Err(Exc::new(ExcKind::MemoryError, ""));
                }
                Value::from_bigint(bx << s as usize)
            }
            BinOp::RShift => {
                if by.is_negative() {
                    return Err(Exc::value_error("negative shift count"));
                }
                let s = by.to_u64().unwrap_or(u64::MAX).min(1 << 40);
                Value::from_bigint(bx >> s as usize)
            }
            BinOp::BitAnd => Value::from_bigint(bx & by),
            BinOp::BitOr => Value::from_bigint(bx | by),
            BinOp::BitXor => Value::from_bigint(bx ^ by),
            BinOp::Div | BinOp::MatMult => {
                return Err(Exc::type_error("unsupported operand type(s) for @: 'int' and 'int'"));
            }
        })
    }

    fn float_pow(&mut self, x: f64, y: f64) -> Res<Value> {
        if x == 0.0 && y < 0.0 {
            return Err(Exc::zero_division("0.0 cannot be raised to a negative power"));
        }
        if x < 0.0 && y.fract() != 0.0 && y.is_finite() {
            return Err(Exc::value_error(
                "complex numbers are not supported by aio (negative number raised to a fractional power)",
            ));
        }
        let r = x.powf(y);
        if r.is_infinite() && x.is_finite() && y.is_finite() {
            return Err(Exc::overflow("(34, 'Numerical result out of range')"));
        }
        Ok(Value::Float(r))
    }

    /// Unary operators.
    pub fn unary_op(&mut self, op: UnaryOp, a: Value) -> Res<Value> {
        match (op, &a) {
            (UnaryOp::Not, _) => return Ok(Value::Bool(!self.truthy(&a)?)),
            (UnaryOp::USub, Value::Int(i)) => {
                return Ok(match i.checked_neg() {
                    Some(n) => Value::Int(n),
                    None => Value::from_bigint(-BigInt::from(*i)),
                })
            }
            (UnaryOp::USub, Value::Bool(b)) => return Ok(Value::Int(-(*b as i64))),
            (UnaryOp::USub, Value::BigInt(b)) => return Ok(Value::from_bigint(-(**b).clone())),
            (UnaryOp::USub, Value::Float(f)) => return Ok(Value::Float(-f)),
            (UnaryOp::UAdd, Value::Int(_) | Value::BigInt(_) | Value::Float(_)) => return Ok(a),
            (UnaryOp::UAdd, Value::Bool(b)) => return Ok(Value::Int(*b as i64)),
            (UnaryOp::Invert, Value::Int(i)) => return Ok(Value::Int(!i)),
            (UnaryOp::Invert, Value::Bool(b)) => return Ok(Value::Int(!(*b as i64))),
            (UnaryOp::Invert, Value::BigInt(b)) => return Ok(Value::from_bigint(-(**b).clone() - 1)),
            _ => {}
        }
        let name = match op {
            UnaryOp::USub => self.syms.neg,
            UnaryOp::UAdd => self.syms.pos,
            UnaryOp::Invert => self.syms.invert,
            UnaryOp::Not => self.syms.bool_,
        };
        if let Value::Instance(i) = &a {
            if let Some(f) = i.class.lookup(name) {
                return self.call(&f, vec![a.clone()]);
            }
        }
        let sym = match op {
            UnaryOp::USub => "-",
            UnaryOp::UAdd => "+",
            _ => "~",
        };
        Err(Exc::type_error(format!("bad operand type for unary {}: '{}'", sym, self.type_name(&a))))
    }

    /// `item in container`.
    pub fn contains(&mut self, container: &Value, item: &Value) -> Res<bool> {
        match container {
            Value::Str(s) => match item {
                Value::Str(sub) => Ok(s.as_str().contains(sub.as_str())),
                _ => Err(Exc::type_error(format!(
                    "'in <string>' requires string as left operand, not {}",
                    self.type_name(item)
                ))),
            },
            Value::List(l) => {
                let items = l.items.borrow().clone();
                for v in &items {
                    if v.is(item) || self.eq(v, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Tuple(t) => {
                let items = t.clone();
                for v in items.iter() {
                    if v.is(item) || self.eq(v, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Dict(d) => Ok(self.dict_get(d, item)?.is_some()),
            Value::Set(s) | Value::FrozenSet(s) => self.set_contains(s, item),
            Value::Range(r) if r.big.is_some() || matches!(item, Value::BigInt(_)) => match item {
                Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => {
                    let v = match item {
                        Value::Int(i) => BigInt::from(*i),
                        Value::Bool(b) => BigInt::from(*b as i64),
                        Value::BigInt(b) => (**b).clone(),
                        _ => BigInt::zero(),
                    };
                    Ok(r.contains_big(&v))
                }
                _ => Ok(false),
            },
            Value::Range(r) => match item {
                Value::Int(i) => {
                    let (i, r) = (*i, &**r);
                    Ok(if r.step > 0 { i >= r.start && i < r.stop } else { i <= r.start && i > r.stop }
                        && (i - r.start) % r.step == 0)
                }
                Value::Bool(b) => self.contains(container, &Value::Int(*b as i64)),
                _ => {
                    let items = self.collect(container)?;
                    for v in items {
                        if self.eq(&v, item)? {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                }
            },
            Value::Bytes(_) | Value::ByteArray(_) => {
                let hay = self.bytes_like(container)?;
                match item {
                    Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => {
                        let b = match item {
                            Value::Int(i) => u8::try_from(*i).ok(),
                            Value::Bool(b) => Some(*b as u8),
                            _ => None,
                        };
                        match b {
                            Some(b) => Ok(hay.contains(&b)),
                            None => Err(Exc::value_error("byte must be in range(0, 256)")),
                        }
                    }
                    _ => {
                        let needle = self.bytes_like(item)?;
                        Ok(needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_slice()))
                    }
                }
            }
            Value::Instance(i) => {
                if let Some(f) = i.class.lookup(self.syms.contains) {
                    let r = self.call(&f, vec![container.clone(), item.clone()])?;
                    return self.truthy(&r);
                }
                if i.class.lookup(self.syms.iter).is_none() && i.class.lookup(self.syms.getitem).is_none() {
                    return Err(Exc::type_error(format!(
                        "argument of type '{}' is not iterable",
                        self.type_name(container)
                    )));
                }
                let it = self.get_iter(container)?;
                while let Some(v) = self.next(&it)? {
                    if v.is(item) || self.eq(&v, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => {
                let it = self.get_iter(container).map_err(|_| {
                    Exc::type_error(format!("argument of type '{}' is not iterable", self.type_name(container)))
                })?;
                while let Some(v) = self.next(&it)? {
                    if self.eq(&v, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    // ---- dicts and sets ----

    /// Looks a key up in a dict.
    pub fn dict_get(&mut self, d: &Rc<DictObj>, key: &Value) -> Res<Option<Value>> {
        if let Some(found) = dict_get_simple(d, key) {
            return Ok(found);
        }
        let h = self.hash(key)?;
        match self.dict_find(&d.d, h, key)? {
            Some(pos) => Ok(d.d.borrow().entry(pos).map(|e| e.value.clone())),
            None => Ok(None),
        }
    }

    /// Compares the candidates of a slow lookup with script `__eq__` (no table borrow held);
    /// a match counts only if its slot still holds the same key afterwards.
    fn match_candidates(
        &mut self,
        cands: Vec<(usize, Value)>,
        key: &Value,
        still_there: impl Fn(usize, &Value) -> bool,
    ) -> Res<Option<usize>> {
        for (pos, k) in cands {
            if self.eq(&k, key)? && still_there(pos, &k) {
                return Ok(Some(pos));
            }
        }
        Ok(None)
    }

    /// Finds the entry position of `key` (hash `h`), running script `__eq__` if needed.
    pub fn dict_find(&mut self, d: &RefCell<Dict>, h: i64, key: &Value) -> Res<Option<usize>> {
        let lookup = d.borrow().lookup(h, key);
        match lookup {
            Lookup::Found(p) => Ok(Some(p)),
            Lookup::Absent => Ok(None),
            Lookup::Slow(cands) => {
                self.match_candidates(cands, key, |pos, k| d.borrow().entry(pos).map(|e| e.key.is(k)).unwrap_or(false))
            }
        }
    }

    /// Reads a dict entry whose key is a string symbol (class namespaces).
    pub fn dict_get_str_key(&self, d: &Rc<DictObj>, name: Sym) -> Option<Value> {
        let key = Value::Str(Rc::new(Str::new(&*name.as_rc())));
        let h = {
            let Value::Str(s) = &key else { return None };
            text::int_math::hash_str(s.as_str())
        };
        match d.d.borrow().lookup(h, &key) {
            Lookup::Found(p) => d.d.borrow().entry(p).map(|e| e.value.clone()),
            _ => None,
        }
    }

    /// `d[key] = value` for a dict object.
    pub fn dict_set(&mut self, d: &Rc<DictObj>, key: Value, value: Value) -> Res<()> {
        if let Some(h) = simple_hash(&key) {
            let found = d.d.borrow().find_simple(h, &key);
            if let Some(Some(pos)) = found {
                let old = d.d.borrow_mut().replace_value(pos, value);
                drop(old);
                return Ok(());
            }
        }
        let h = self.hash(&key)?;
        match self.dict_find(&d.d, h, &key)? {
            Some(pos) => d.d.borrow_mut().set_value(pos, value),
            None => {
                // The embedding memory limit: an entry and its index slot.
                self.mem_charge(std::mem::size_of::<super::dict::Entry>() + 16)?;
                d.d.borrow_mut().try_insert_new(h, key, value)?;
            }
        }
        Ok(())
    }

    /// Removes `key` from a dict, returning its value.
    pub fn dict_remove(&mut self, d: &RefCell<Dict>, key: &Value) -> Res<Option<Value>> {
        let h = self.hash(key)?;
        match self.dict_find(d, h, key)? {
            Some(pos) => Ok(Some(d.borrow_mut().remove_at(pos).value)),
            None => Ok(None),
        }
    }

    /// True when a set contains `key`.
    pub fn set_contains(&mut self, s: &Rc<SetObj>, key: &Value) -> Res<bool> {
        let key = self.set_key(key);
        let h = self.hash(&key)?;
        Ok(self.set_find(&s.d, h, &key)?.is_some())
    }

    /// Finds the slot of `key` in a set table, running script `__eq__` if needed.
    pub fn set_find(&mut self, t: &RefCell<SetTable>, h: i64, key: &Value) -> Res<Option<usize>> {
        let lookup = t.borrow().lookup(h, key);
        match lookup {
            Lookup::Found(p) => Ok(Some(p)),
            Lookup::Absent => Ok(None),
            Lookup::Slow(cands) => {
                self.match_candidates(cands, key, |pos, k| t.borrow().key_at(pos).map(|e| e.is(k)).unwrap_or(false))
            }
        }
    }

    /// Removes `key` from a set; false when it was absent.
    pub fn set_discard(&mut self, s: &Rc<SetObj>, key: &Value) -> Res<bool> {
        let key = self.set_key(key);
        let h = self.hash(&key)?;
        match self.set_find(&s.d, h, &key)? {
            Some(pos) => {
                s.d.borrow_mut().remove_at(pos);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// `dst.update(src)` with CPython's merge rules (they decide the iteration order).
    pub fn set_update(&mut self, dst: &Value, src: &Value) -> Res<()> {
        let (Value::Set(d) | Value::FrozenSet(d)) = dst else { return Ok(()) };
        if let Value::Set(o) | Value::FrozenSet(o) = src {
            if d.d.borrow().is_empty() {
                let other = o.d.borrow().clone();
                d.d.borrow_mut().merge_into_empty(&other);
                return Ok(());
            }
            let n = o.d.borrow().len();
            d.d.borrow_mut().reserve_for_merge(n);
            for k in o.d.borrow().keys() {
                self.set_add(dst, k)?;
            }
            return Ok(());
        }
        for v in self.collect(src)? {
            self.set_add(dst, v)?;
        }
        Ok(())
    }

    /// A new `set` holding a copy of `src`'s elements.
    pub fn set_copy(&mut self, src: &Rc<SetObj>) -> Value {
        let mut t = SetTable::new();
        t.merge_into_empty(&src.d.borrow());
        Value::set(t)
    }

    /// A set used as a set element or lookup key is compared as a frozenset.
    fn set_key(&self, key: &Value) -> Value {
        match key {
            Value::Set(s) => Value::frozenset(s.d.borrow().clone()),
            other => other.clone(),
        }
    }

    /// Adds to a `set` value.
    pub fn set_add(&mut self, set: &Value, v: Value) -> Res<()> {
        if let Value::Set(s) | Value::FrozenSet(s) = set {
            let h = self.hash(&v)?;
            if self.set_find(&s.d, h, &v)?.is_none() {
                self.mem_charge(2 * (std::mem::size_of::<Value>() + 8))?;
                s.d.borrow_mut().insert_new(h, v)?;
            }
        }
        Ok(())
    }

    /// A new set from values.
    pub fn new_set(&mut self, items: Vec<Value>) -> Res<Value> {
        let s = Value::set(SetTable::new());
        for v in items {
            self.set_add(&s, v)?;
        }
        Ok(s)
    }

    /// A new dict from alternating keys and values.
    pub fn new_dict_from_pairs(&mut self, items: Vec<Value>) -> Res<Value> {
        let d = DictObj::new_rc(Dict::with_capacity(items.len() / 2));
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            self.dict_set(&d, k, v)?;
        }
        Ok(Value::Dict(d))
    }

    /// `d.update(m)`; with `merge`, a repeated key is a `TypeError` (for `f(**a, **b)`).
    pub fn dict_update_from(&mut self, d: &Value, m: &Value, merge: bool) -> Res<()> {
        let Value::Dict(dst) = d else { return Err(Exc::type_error("dict expected")) };
        let pairs: Vec<(Value, Value)> = match m {
            Value::Dict(src) => src.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
            _ => {
                if merge {
                    // Mappings with keys() and __getitem__.
                    let keys_fn = self.get_attr(m, Sym::new("keys")).map_err(|_| {
                        Exc::type_error(format!("argument after ** must be a mapping, not {}", self.type_name(m)))
                    })?;
                    let keys = self.call(&keys_fn, vec![])?;
                    let mut out = Vec::new();
                    for k in self.collect(&keys)? {
                        let v = self.get_item(m, &k)?;
                        out.push((k, v));
                    }
                    out
                } else {
                    let mut out = Vec::new();
                    if let Ok(keys_fn) = self.get_attr(m, Sym::new("keys")) {
                        let keys = self.call(&keys_fn, vec![])?;
                        for k in self.collect(&keys)? {
                            let v = self.get_item(m, &k)?;
                            out.push((k, v));
                        }
                    } else {
                        for (i, item) in self.collect(m)?.into_iter().enumerate() {
                            let kv = self.collect(&item).map_err(|_| {
                                Exc::type_error(format!(
                                    "cannot convert dictionary update sequence element #{i} to a sequence"
                                ))
                            })?;
                            if kv.len() != 2 {
                                return Err(Exc::value_error(format!(
                                    "dictionary update sequence element #{i} has length {}; 2 is required",
                                    kv.len()
                                )));
                            }
                            let mut kv = kv.into_iter();
                            out.push((kv.next().unwrap_or_default(), kv.next().unwrap_or_default()));
                        }
                    }
                    out
                }
            }
        };
        for (k, v) in pairs {
            if merge && self.dict_get(dst, &k)?.is_some() {
                let ks = self.str_of(&k)?;
                return Err(Exc::type_error(format!("got multiple values for keyword argument '{ks}'")));
            }
            self.dict_set(dst, k, v)?;
        }
        Ok(())
    }

    /// `f(**m)`: merges `m` into the call's keyword dict `d`; a repeated key or a
    /// non-mapping names the callee as CPython does (`__main__.f() got multiple values
    /// for keyword argument 'a'`).
    pub fn merge_call_kwargs(&mut self, func: &Value, d: &Value, m: &Value) -> Res<()> {
        match self.dict_update_from(d, m, true) {
            Err(Exc::Msg(ExcKind::TypeError, msg))
                if msg.starts_with("got multiple values") || msg.starts_with("argument after **") =>
            {
                let name = self.function_str(func)?;
                Err(Exc::type_error(format!("{name} {msg}")))
            }
            other => other,
        }
    }

    /// The error for `*x` when `x` is not iterable: CPython's `Value after * must be an
    /// iterable, not int` (a display, or a call with more than one positional part), or,
    /// for a call whose only positional part is `*x` (`func` given), `f() argument after *
    /// must be an iterable, not int`. An error an `__iter__` raised passes through.
    #[cold]
    pub fn star_arg_error(&mut self, err: Exc, it: &Value, func: Option<&Value>) -> Exc {
        if !self.is_not_iterable_error(&err, it) {
            return err;
        }
        let tn = self.type_name(it);
        match func {
            None => Exc::type_error(format!("Value after * must be an iterable, not {tn}")),
            Some(f) => match self.function_str(f) {
                Ok(name) => Exc::type_error(format!("{name} argument after * must be an iterable, not {tn}")),
                Err(e) => e,
            },
        }
    }

    /// True when `err` (from iterating `v`) says only that `v` has no `__iter__` and is no
    /// sequence, the case CPython rewords for `*x` and unpacking.
    pub(crate) fn is_not_iterable_error(&self, err: &Exc, v: &Value) -> bool {
        match v {
            Value::Instance(i) => {
                i.class.lookup(self.syms.iter).is_none() && i.class.lookup(self.syms.getitem).is_none()
            }
            _ => matches!(err, Exc::Msg(ExcKind::TypeError, m) if m.ends_with("object is not iterable")),
        }
    }

    /// `lst[i:j] = v` when `v` is not iterable: CPython's `can only assign an iterable`
    /// (`must assign iterable to extended slice` when the slice has a step other than 1).
    #[cold]
    pub fn slice_assign_iter_error(&mut self, err: Exc, v: &Value, step: &Value) -> Exc {
        if !self.is_not_iterable_error(&err, v) {
            return err;
        }
        Exc::type_error(match step {
            Value::None | Value::Int(1) | Value::Bool(true) => "can only assign an iterable",
            _ => "must assign iterable to extended slice",
        })
    }

    /// `a, *b = v` when `v` is not iterable: CPython's `cannot unpack non-iterable int object`.
    #[cold]
    pub fn unpack_iter_error(&mut self, err: Exc, v: &Value) -> Exc {
        if !self.is_not_iterable_error(&err, v) {
            return err;
        }
        Exc::type_error(format!("cannot unpack non-iterable {} object", self.type_name(v)))
    }

    /// `{**m}` (`DictUpdate`): `m` must be a mapping (a dict, or anything with `keys()`);
    /// an `AttributeError` becomes CPython's `'int' object is not a mapping`.
    pub fn dict_display_update(&mut self, d: &Value, m: &Value) -> Res<()> {
        let r = if matches!(m, Value::Dict(_)) {
            self.dict_update_from(d, m, false)
        } else {
            match self.get_attr(m, Sym::new("keys")) {
                Ok(_) => self.dict_update_from(d, m, false),
                Err(e) => Err(e),
            }
        };
        let Err(e) = r else { return Ok(()) };
        let is_attr_error = match &e {
            Exc::Msg(kind, _) => *kind == ExcKind::AttributeError,
            Exc::Obj(i) => i.class.is_subclass(self.exc_class(ExcKind::AttributeError)),
        };
        if is_attr_error {
            return Err(Exc::type_error(format!("'{}' object is not a mapping", self.type_name(m))));
        }
        Err(e)
    }

    /// `_PyObject_FunctionStr`: `module.qualname()`, or `qualname()` for builtins.
    fn function_str(&mut self, func: &Value) -> Res<String> {
        let qualname = match self.get_attr_opt(func, Sym::new("__qualname__"))? {
            Some(Value::Str(q)) => q.as_str().to_string(),
            _ => return Ok(format!("{}()", self.type_name(func))),
        };
        Ok(match self.get_attr_opt(func, Sym::new("__module__"))? {
            Some(Value::Str(m)) if m.as_str() != "builtins" => format!("{}.{qualname}()", m.as_str()),
            _ => format!("{qualname}()"),
        })
    }

    /// `a | b`, `a & b`, `a - b`, `a ^ b` for sets, following CPython's algorithms (which
    /// decide the result's iteration order).
    fn set_op(&mut self, op: BinOp, a: &Value, b: &Value) -> Res<Value> {
        let (Value::Set(x) | Value::FrozenSet(x)) = a else { return Ok(Value::None) };
        let (Value::Set(y) | Value::FrozenSet(y)) = b else { return Ok(Value::None) };
        let result = match op {
            BinOp::BitOr => {
                let r = self.set_copy(x);
                self.set_update(&r, b)?;
                r
            }
            BinOp::BitAnd => {
                let r = self.new_set(vec![])?;
                let (small, big) = if y.d.borrow().len() > x.d.borrow().len() { (x, y) } else { (y, x) };
                for k in small.d.borrow().keys() {
                    if self.set_contains(big, &k)? {
                        self.set_add(&r, k)?;
                    }
                }
                r
            }
            BinOp::Sub => {
                if (x.d.borrow().len() >> 2) > y.d.borrow().len() {
                    let r = self.set_copy(x);
                    if let Value::Set(rs) = &r {
                        for k in y.d.borrow().keys() {
                            self.set_discard(rs, &k)?;
                        }
                    }
                    r
                } else {
                    let r = self.new_set(vec![])?;
                    for k in x.d.borrow().keys() {
                        if !self.set_contains(y, &k)? {
                            self.set_add(&r, k)?;
                        }
                    }
                    r
                }
            }
            _ => {
                let r = self.set_copy(y);
                if let Value::Set(rs) = &r {
                    for k in x.d.borrow().keys() {
                        if !self.set_discard(rs, &k)? {
                            self.set_add(&r, k)?;
                        }
                    }
                }
                r
            }
        };
        if let (Value::FrozenSet(_), Value::Set(inner)) = (a, &result) {
            return Ok(Value::FrozenSet(inner.clone()));
        }
        Ok(result)
    }

    /// Raises `RecursionError` when native nesting is too deep.
    pub(crate) fn check_depth_native(&self) -> Res<()> {
        self.check_stack()?;
        if self.repr_stack.len() + self.depth.native() + self.frames.len() > self.depth.limit() + 50 {
            return Err(Exc::new(
                ExcKind::RecursionError,
                "maximum recursion depth exceeded while getting the repr of an object",
            ));
        }
        Ok(())
    }
}

fn num_cmp(x: &Num, y: &Num) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Num::I(a), Num::I(b)) => Some(a.cmp(b)),
        (Num::F(a), Num::F(b)) => a.partial_cmp(b),
        (Num::F(a), other) | (other, Num::F(a)) => {
            let swapped = matches!(y, Num::F(_)) && !matches!(x, Num::F(_));
            let b = to_big(other);
            let o = cmp_float_big(*a, &b)?;
            Some(if swapped { o.reverse() } else { o })
        }
        _ => Some(to_big(x).cmp(&to_big(y))),
    }
}

/// Exact comparison of a float and an integer.
fn cmp_float_big(f: f64, b: &BigInt) -> Option<std::cmp::Ordering> {
    use num_traits::FromPrimitive;
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less });
    }
    let fl = f.floor();
    let fb = BigInt::from_f64(fl)?;
    match fb.cmp(b) {
        std::cmp::Ordering::Equal => Some(if f > fl { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Equal }),
        o => Some(o),
    }
}

fn unreachable_op() -> f64 {
    f64::NAN
}

/// `repr` of a string with CPython's quote choice and escapes.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_unprintable(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn is_unprintable(c: char) -> bool {
    !crate::builtins::is_printable(c)
}

/// `repr` of bytes.
pub fn repr_bytes(b: &[u8], open: &str, close: &str) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { b'"' } else { b'\'' };
    let mut out = String::from(&open[..open.len() - 1]);
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote as char);
    let _ = close;
    out
}

/// The hash of a `str` or small `int` key: keys whose hash and equality never run script
/// code, for the dict fast paths.
#[inline(always)]
fn simple_hash(v: &Value) -> Option<i64> {
    match v {
        Value::Str(s) => Some(str_hash(s)),
        Value::Int(i) => Some(text::int_math::hash_i64(*i)),
        _ => None,
    }
}

/// A dict lookup that runs no script code: for a `str` or small-int key, `Some(value)`
/// (`Some(None)` when absent); `None` when the lookup needs the general path.
#[inline]
pub(crate) fn dict_get_simple(d: &DictObj, key: &Value) -> Option<Option<Value>> {
    let h = simple_hash(key)?;
    let t = d.d.borrow();
    let pos = t.find_simple(h, key)?;
    Some(pos.and_then(|p| t.value_at(p).cloned()))
}

/// `d[key]` pushed on `stack` when `key` needs no script code to look up and is present
/// (true); false otherwise, with nothing pushed. The value is built in its stack slot.
#[inline]
pub(crate) fn dict_push_simple(d: &DictObj, key: &Value, stack: &mut Vec<Value>) -> bool {
    let Some(h) = simple_hash(key) else { return false };
    let t = d.d.borrow();
    match t.find_simple(h, key).flatten().and_then(|p| t.value_at(p)) {
        Some(v) => {
            super::interp::push_copy(stack, v);
            true
        }
        None => false,
    }
}

/// A `str`'s hash, computed once and kept in the string.
#[inline(always)]
fn str_hash(s: &Str) -> i64 {
    let h = s.hash.get();
    if h != 0 {
        return h;
    }
    let h = text::int_math::hash_str(s.as_str());
    s.hash.set(h);
    h
}
