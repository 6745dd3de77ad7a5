//! Subscripts, slices and iteration over every iterable.

use super::gen::GenResult;
use super::value::{IterState, RangeObj, Value};
use super::{Exc, ExcKind, Res, Vm};
use num_bigint::BigInt;
use std::cell::RefCell;
use std::rc::Rc;

/// Resolves a Python index against a length; `None` when out of range.
pub fn norm_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let j = if i < 0 { i + len } else { i };
    if j >= 0 && j < len {
        Some(j as usize)
    } else {
        None
    }
}

/// The indices a slice selects: `(start, stop, step)` clamped as CPython's `slice.indices`.
pub fn slice_indices(start: Option<i64>, stop: Option<i64>, step: Option<i64>, len: usize) -> Res<(i64, i64, i64)> {
    let len = len as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Exc::value_error("slice step cannot be zero"));
    }
    let clamp = |v: Option<i64>, default: i64, lo: i64, hi: i64| -> i64 {
        match v {
            None => default,
            Some(x) => {
                let x = if x < 0 { x + len } else { x };
                x.clamp(lo, hi)
            }
        }
    };
    if step > 0 {
        Ok((clamp(start, 0, 0, len), clamp(stop, len, 0, len), step))
    } else {
        Ok((clamp(start, len - 1, -1, len - 1), clamp(stop, -1, -1, len - 1), step))
    }
}

/// The positions selected by resolved slice indices.
pub fn slice_positions(start: i64, stop: i64, step: i64) -> impl Iterator<Item = usize> {
    let mut i = start;
    std::iter::from_fn(move || {
        if (step > 0 && i < stop) || (step < 0 && i > stop) {
            let r = i as usize;
            i += step;
            Some(r)
        } else {
            None
        }
    })
}

/// `seq[start:stop:step] = new_items` on resolved slice bounds: a plain slice may change the
/// length; an extended slice must match it (`what` names the items in the error).
fn assign_slice<T>(seq: &mut Vec<T>, (start, stop, step): (i64, i64, i64), new_items: Vec<T>, what: &str) -> Res<()> {
    if step == 1 {
        let stop = stop.max(start);
        super::mem::room_for(seq, new_items.len().saturating_sub((stop - start) as usize))?;
        seq.splice(start as usize..stop as usize, new_items);
        return Ok(());
    }
    let pos: Vec<usize> = slice_positions(start, stop, step).collect();
    if pos.len() != new_items.len() {
        return Err(Exc::value_error(format!(
            "attempt to assign {what} of size {} to extended slice of size {}",
            new_items.len(),
            pos.len()
        )));
    }
    for (p, v) in pos.into_iter().zip(new_items) {
        seq[p] = v;
    }
    Ok(())
}

/// How deeply composite iterators (`map` over `map` over ...) may step inside each other:
/// about a kilobyte of Rust stack each, well inside the interpreter thread's stack.
const MAX_COMPOSITE_DEPTH: usize = 200_000;

thread_local! {
    /// Composite iterator steps in progress on this thread.
    static COMPOSITE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Vm {
    fn slice_parts(&mut self, s: &super::value::SliceObj) -> Res<(Option<i64>, Option<i64>, Option<i64>)> {
        let mut part = |v: &Value| -> Res<Option<i64>> {
            match v {
                Value::None => Ok(None),
                Value::BigInt(b) => {
                    Ok(Some(if num_traits::Signed::is_negative(&**b) { i64::MIN / 2 } else { i64::MAX / 2 }))
                }
                other => self
                    .index_value(other)
                    .map(Some)
                    .map_err(|_| Exc::type_error("slice indices must be integers or None or have an __index__ method")),
            }
        };
        Ok((part(&s.start)?, part(&s.stop)?, part(&s.step)?))
    }

    /// Resolves a slice against a length.
    pub fn resolve_slice(&mut self, s: &super::value::SliceObj, len: usize) -> Res<(i64, i64, i64)> {
        let (a, b, c) = self.slice_parts(s)?;
        slice_indices(a, b, c, len)
    }

    fn slice_is_big(&self, s: &super::value::SliceObj) -> bool {
        [&s.start, &s.stop, &s.step].iter().any(|v| matches!(v, Value::BigInt(_)))
    }

    /// `range[slice]` with exact integer arithmetic (CPython's `compute_slice`).
    fn big_slice_of_range(&mut self, r: &RangeObj, s: &super::value::SliceObj) -> Res<(BigInt, BigInt, BigInt)> {
        use num_traits::{One, Signed, Zero};
        let mut part = |v: &Value| -> Res<Option<BigInt>> {
            match v {
                Value::None => Ok(None),
                Value::BigInt(b) => Ok(Some((**b).clone())),
                other => Ok(Some(BigInt::from(self.index_value(other).map_err(|_| {
                    Exc::type_error("slice indices must be integers or None or have an __index__ method")
                })?))),
            }
        };
        let (a, b, c) = (part(&s.start)?, part(&s.stop)?, part(&s.step)?);
        let step = c.unwrap_or_else(BigInt::one);
        if step.is_zero() {
            return Err(Exc::value_error("slice step cannot be zero"));
        }
        let len = r.big_len();
        let neg = step.is_negative();
        let (lower, upper) = if neg { (BigInt::from(-1), &len - 1) } else { (BigInt::zero(), len.clone()) };
        let clamp = |v: Option<BigInt>, default: &BigInt| -> BigInt {
            match v {
                None => default.clone(),
                Some(x) => {
                    let x = if x.is_negative() { x + &len } else { x };
                    if x < lower {
                        lower.clone()
                    } else if x > upper {
                        upper.clone()
                    } else {
                        x
                    }
                }
            }
        };
        let (start_i, stop_i) =
            if neg { (clamp(a, &upper), clamp(b, &lower)) } else { (clamp(a, &lower), clamp(b, &upper)) };
        let (rs, _, rstep) = r.parts();
        Ok((&rs + &rstep * &start_i, &rs + &rstep * &stop_i, rstep * step))
    }

    /// `obj[key]`.
    pub fn get_item(&mut self, obj: &Value, key: &Value) -> Res<Value> {
        match (obj, key) {
            (Value::List(l), Value::Slice(s)) => {
                let items = l.items.borrow().clone();
                let (a, b, c) = self.resolve_slice(s, items.len())?;
                Ok(Value::list(slice_positions(a, b, c).map(|i| items[i].clone()).collect()))
            }
            (Value::Tuple(t), Value::Slice(s)) => {
                let (a, b, c) = self.resolve_slice(s, t.len())?;
                Ok(Value::tuple(slice_positions(a, b, c).map(|i| t[i].clone()).collect()))
            }
            (Value::Str(st), Value::Slice(s)) => {
                let text = st.as_str();
                let (a, b, c) = self.resolve_slice(s, st.chars)?;
                if c == 1 {
                    // A contiguous run: find its byte range without copying the rest.
                    if a >= b {
                        return Ok(Value::string(String::new()));
                    }
                    if st.chars == text.len() {
                        return Ok(Value::string(text[a as usize..b as usize].to_string()));
                    }
                    let mut bounds = text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len()));
                    let start = bounds.nth(a as usize).unwrap_or(text.len());
                    let end = bounds.nth((b - a - 1) as usize).unwrap_or(text.len());
                    return Ok(Value::string(text[start..end].to_string()));
                }
                if st.chars == text.len() {
                    let bytes = text.as_bytes();
                    return Ok(Value::string(slice_positions(a, b, c).map(|i| bytes[i] as char).collect()));
                }
                let chars: Vec<char> = text.chars().collect();
                Ok(Value::string(slice_positions(a, b, c).map(|i| chars[i]).collect()))
            }
            (Value::Bytes(by), Value::Slice(s)) => {
                let (a, b, c) = self.resolve_slice(s, by.len())?;
                Ok(Value::Bytes(Rc::from(slice_positions(a, b, c).map(|i| by[i]).collect::<Vec<u8>>())))
            }
            (Value::ByteArray(by), Value::Slice(s)) => {
                let v = by.borrow().clone();
                let (a, b, c) = self.resolve_slice(s, v.len())?;
                Ok(Value::ByteArray(Rc::new(RefCell::new(slice_positions(a, b, c).map(|i| v[i]).collect()))))
            }
            (Value::Range(r), Value::Slice(s)) if r.big.is_some() || self.slice_is_big(s) => {
                let (start, stop, step) = self.big_slice_of_range(r, s)?;
                Ok(Value::Range(Rc::new(RangeObj::from_big(start, stop, step))))
            }
            (Value::Range(r), Value::Slice(s)) => {
                let len = r.len() as usize;
                let (a, b, c) = self.resolve_slice(s, len)?;
                let start = r.start + a * r.step;
                let stop = r.start + b * r.step;
                Ok(Value::Range(Rc::new(RangeObj::new(start, stop, r.step * c))))
            }
            (Value::List(l), _) => {
                let i = self.seq_index(key, "list")?;
                let items = l.items.borrow();
                norm_index(i, items.len())
                    .map(|j| items[j].clone())
                    .ok_or_else(|| Exc::index_error("list index out of range"))
            }
            (Value::Tuple(t), _) => {
                let i = self.seq_index(key, "tuple")?;
                norm_index(i, t.len()).map(|j| t[j].clone()).ok_or_else(|| Exc::index_error("tuple index out of range"))
            }
            (Value::Str(s), _) => {
                let i = self.seq_index(key, "string")?;
                let c = if s.is_ascii() {
                    norm_index(i, s.s.len()).map(|j| s.s.as_bytes()[j] as char)
                } else {
                    norm_index(i, s.chars).and_then(|j| s.as_str().chars().nth(j))
                };
                c.map(|c| Value::string(c.to_string())).ok_or_else(|| Exc::index_error("string index out of range"))
            }
            (Value::Bytes(b), _) => {
                let i = self.seq_index(key, "byte")?;
                norm_index(i, b.len())
                    .map(|j| Value::Int(b[j] as i64))
                    .ok_or_else(|| Exc::index_error("index out of range"))
            }
            (Value::ByteArray(b), _) => {
                let i = self.seq_index(key, "bytearray")?;
                let b = b.borrow();
                norm_index(i, b.len())
                    .map(|j| Value::Int(b[j] as i64))
                    .ok_or_else(|| Exc::index_error("bytearray index out of range"))
            }
            (Value::Range(r), _) if r.big.is_some() || matches!(key, Value::BigInt(_)) => {
                let i = match key {
                    Value::BigInt(b) => (**b).clone(),
                    other => num_bigint::BigInt::from(self.seq_index(other, "range")?),
                };
                let len = r.big_len();
                let i = if num_traits::Signed::is_negative(&i) { i + &len } else { i };
                if num_traits::Signed::is_negative(&i) || i >= len {
                    return Err(Exc::index_error("range object index out of range"));
                }
                Ok(Value::from_bigint(r.big_item(&i)))
            }
            (Value::Range(r), _) => {
                let i = self.seq_index(key, "range")?;
                norm_index(i, r.len() as usize)
                    .map(|j| Value::Int(r.start + j as i64 * r.step))
                    .ok_or_else(|| Exc::index_error("range object index out of range"))
            }
            (Value::Dict(d), _) => match self.dict_get(d, key)? {
                Some(v) => Ok(v),
                None => Err(self.exception_with_args(ExcKind::KeyError, vec![key.clone()])),
            },
            (Value::Instance(i), _) => match i.class.lookup(self.syms.getitem) {
                Some(f) => self.call(&f, vec![obj.clone(), key.clone()]),
                None => Err(Exc::type_error(format!("'{}' object is not subscriptable", i.class.tp_name()))),
            },
            (Value::Other(o), _) => {
                let o = o.clone();
                match o.get_attr(self, obj, self.syms.getitem)? {
                    Some(f) => self.call(&f, vec![key.clone()]),
                    None => Err(Exc::type_error(format!("'{}' object is not subscriptable", self.type_name(obj)))),
                }
            }
            (Value::Class(c), _) => {
                // `type[int]`: `type` is generic without a `__class_getitem__` of its own.
                if c.builtin == Some(super::TypeId::Type) {
                    return Ok(crate::builtins::generic_alias::make(self, obj.clone(), key.clone()));
                }
                if c.lookup(self.syms.class_getitem).is_none() {
                    return Err(Exc::type_error(format!("type '{}' is not subscriptable", c.tp_name())));
                }
                // Bound to the class (it is a classmethod, implicitly when a script defines it).
                let f = self.get_attr(obj, self.syms.class_getitem)?;
                self.call(&f, vec![key.clone()])
            }
            _ => Err(Exc::type_error(format!("'{}' object is not subscriptable", self.type_name(obj)))),
        }
    }

    fn seq_index(&mut self, key: &Value, what: &str) -> Res<i64> {
        match key {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i64),
            Value::BigInt(_) => Err(Exc::index_error("cannot fit 'int' into an index-sized integer".to_string())),
            Value::Instance(i) if i.class.lookup(self.syms.index).is_some() => self.index_value(key),
            // CPython 3.11 words the `str` case differently from the others.
            _ if what == "string" => {
                Err(Exc::type_error(format!("string indices must be integers, not '{}'", self.type_name(key))))
            }
            _ => Err(Exc::type_error(format!(
                "{} indices must be integers or slices, not {}",
                what,
                self.type_name(key)
            ))),
        }
    }

    /// `obj[key] = value`.
    #[inline(never)]
    pub fn set_item(&mut self, obj: &Value, key: Value, value: Value) -> Res<()> {
        // A dict first, in a function small enough to save few registers.
        if let Value::Dict(d) = obj {
            return self.dict_set(d, key, value);
        }
        self.set_item_other(obj, key, value)
    }

    /// [`Vm::set_item`] for everything but a dict.
    #[inline(never)]
    fn set_item_other(&mut self, obj: &Value, key: Value, value: Value) -> Res<()> {
        match (obj, &key) {
            (Value::List(l), Value::Slice(s)) => {
                let new_items = self.collect(&value).map_err(|e| self.slice_assign_iter_error(e, &value, &s.step))?;
                let len = l.items.borrow().len();
                let bounds = self.resolve_slice(s, len)?;
                assign_slice(&mut l.items.borrow_mut(), bounds, new_items, "sequence")
            }
            (Value::List(l), _) => {
                let i = self.seq_index(&key, "list")?;
                let mut items = l.items.borrow_mut();
                let len = items.len();
                match norm_index(i, len) {
                    Some(j) => {
                        items[j] = value;
                        Ok(())
                    }
                    None => Err(Exc::index_error("list assignment index out of range")),
                }
            }
            (Value::ByteArray(b), Value::Slice(s)) => {
                let new_items: Vec<u8> = match &value {
                    Value::Bytes(_) | Value::ByteArray(_) => self.bytes_like(&value)?,
                    Value::Int(_) => {
                        return Err(Exc::type_error(
                            "can assign only bytes, buffers, or iterables of ints in range(0, 256)",
                        ))
                    }
                    other => {
                        let mut out = Vec::new();
                        for v in self.collect(other)? {
                            let n = self.index_value(&v)?;
                            if !(0..256).contains(&n) {
                                return Err(Exc::value_error("byte must be in range(0, 256)"));
                            }
                            out.push(n as u8);
                        }
                        out
                    }
                };
                let len = b.borrow().len();
                let bounds = self.resolve_slice(s, len)?;
                assign_slice(&mut b.borrow_mut(), bounds, new_items, "bytes")
            }
            (Value::ByteArray(b), _) => {
                let i = self.seq_index(&key, "bytearray")?;
                let v = self.index_value(&value)?;
                if !(0..256).contains(&v) {
                    return Err(Exc::value_error("byte must be in range(0, 256)"));
                }
                let mut b = b.borrow_mut();
                let len = b.len();
                match norm_index(i, len) {
                    Some(j) => {
                        b[j] = v as u8;
                        Ok(())
                    }
                    None => Err(Exc::index_error("bytearray index out of range")),
                }
            }
            (Value::Instance(i), _) => match i.class.lookup(self.syms.setitem) {
                Some(f) => self.call(&f, vec![obj.clone(), key, value]).map(|_| ()),
                None => {
                    Err(Exc::type_error(format!("'{}' object does not support item assignment", i.class.tp_name())))
                }
            },
            _ => Err(Exc::type_error(format!("'{}' object does not support item assignment", self.type_name(obj)))),
        }
    }

    /// `del obj[key]`.
    pub fn del_item(&mut self, obj: &Value, key: &Value) -> Res<()> {
        match (obj, key) {
            (Value::Dict(d), _) => match self.dict_remove(&d.d, key)? {
                Some(_) => Ok(()),
                None => Err(self.exception_with_args(ExcKind::KeyError, vec![key.clone()])),
            },
            (Value::List(l), Value::Slice(s)) => {
                let len = l.items.borrow().len();
                let (a, b, c) = self.resolve_slice(s, len)?;
                let doomed = slice_mask(len, slice_positions(a, b, c));
                let mut i = 0;
                l.items.borrow_mut().retain(|_| {
                    i += 1;
                    !doomed[i - 1]
                });
                Ok(())
            }
            (Value::ByteArray(ba), Value::Slice(s)) => {
                let len = ba.borrow().len();
                let (a, b, c) = self.resolve_slice(s, len)?;
                let doomed = slice_mask(len, slice_positions(a, b, c));
                let mut i = 0;
                ba.borrow_mut().retain(|_| {
                    i += 1;
                    !doomed[i - 1]
                });
                Ok(())
            }
            (Value::ByteArray(ba), _) => {
                let i = self.seq_index(key, "bytearray")?;
                let mut bytes = ba.borrow_mut();
                match norm_index(i, bytes.len()) {
                    Some(j) => {
                        bytes.remove(j);
                        Ok(())
                    }
                    None => Err(Exc::index_error("bytearray index out of range")),
                }
            }
            (Value::List(l), _) => {
                let i = self.seq_index(key, "list")?;
                let mut items = l.items.borrow_mut();
                let len = items.len();
                match norm_index(i, len) {
                    Some(j) => {
                        items.remove(j);
                        Ok(())
                    }
                    None => Err(Exc::index_error("list assignment index out of range")),
                }
            }
            (Value::Instance(i), _) => match i.class.lookup(self.syms.delitem) {
                Some(f) => self.call(&f, vec![obj.clone(), key.clone()]).map(|_| ()),
                None => Err(self.del_item_unsupported(obj, key)),
            },
            _ => Err(self.del_item_unsupported(obj, key)),
        }
    }

    /// The `TypeError` of `del obj[key]` on a type without `__delitem__`. CPython words it
    /// two ways: "doesn't" when an integer key reaches the sequence protocol of a type that
    /// has one (containers, classes defined in Python), "does not" for the rest (`int`,
    /// `None`, functions, a slice or other key, ...).
    fn del_item_unsupported(&self, obj: &Value, key: &Value) -> Exc {
        let name = self.type_name(obj);
        let index = match key {
            Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => true,
            Value::Instance(i) => i.class.lookup(self.syms.index).is_some(),
            _ => false,
        };
        let container = match obj {
            Value::Str(_)
            | Value::Bytes(_)
            | Value::ByteArray(_)
            | Value::List(_)
            | Value::Tuple(_)
            | Value::Dict(_)
            | Value::Set(_)
            | Value::FrozenSet(_)
            | Value::Range(_) => true,
            Value::Instance(i) => i.class.builtin.is_none() && !self.exc_types.iter().any(|c| Rc::ptr_eq(c, &i.class)),
            _ => matches!(&*name, "dict_keys" | "dict_values" | "dict_items" | "deque" | "mappingproxy"),
        };
        let verb = if container && index { "doesn't" } else { "does not" };
        Exc::type_error(format!("'{name}' object {verb} support item deletion"))
    }

    /// `iter(v)`.
    pub fn get_iter(&mut self, v: &Value) -> Res<Value> {
        let st = match v {
            Value::List(l) => IterState::List { list: l.clone(), index: 0 },
            Value::Tuple(t) => IterState::Tuple { items: t.clone(), index: 0 },
            Value::Range(r) if r.big.is_some() => {
                let (next, stop, step) = r.parts();
                IterState::BigRange { next, stop, step }
            }
            Value::Range(r) => IterState::Range { next: r.start, stop: r.stop, step: r.step },
            Value::Str(s) => IterState::Str { s: s.clone(), pos: 0 },
            Value::Bytes(b) => IterState::Bytes { b: b.clone(), index: 0 },
            Value::ByteArray(b) => IterState::Bytes { b: Rc::from(b.borrow().as_slice()), index: 0 },
            Value::Dict(d) => IterState::DictView { dict: d.clone(), index: 0, kind: 0, len: d.d.borrow().len() },
            Value::Set(s) | Value::FrozenSet(s) => IterState::Set { items: s.d.borrow().keys(), index: 0 },
            Value::Iter(_) | Value::Gen(_) => return Ok(v.clone()),
            Value::Instance(i) => {
                if let Some(f) = i.class.lookup(self.syms.iter) {
                    let it = self.call(&f, vec![v.clone()])?;
                    if !self.is_iterator(&it) {
                        return Err(Exc::type_error(format!(
                            "iter() returned non-iterator of type '{}'",
                            self.type_name(&it)
                        )));
                    }
                    return Ok(it);
                }
                if i.class.lookup(self.syms.getitem).is_some() {
                    IterState::SeqIter { obj: v.clone(), index: 0 }
                } else {
                    return Err(Exc::type_error(format!("'{}' object is not iterable", i.class.tp_name())));
                }
            }
            Value::Other(o) => {
                let o = o.clone();
                if let Some(f) = o.get_attr(self, v, self.syms.iter)? {
                    return self.call(&f, vec![]);
                }
                return Err(Exc::type_error(format!("'{}' object is not iterable", self.type_name(v))));
            }
            _ => return Err(Exc::type_error(format!("'{}' object is not iterable", self.type_name(v)))),
        };
        Ok(Value::iter(st))
    }

    fn is_iterator(&self, v: &Value) -> bool {
        match v {
            Value::Iter(_) | Value::Gen(_) => true,
            Value::Instance(i) => i.class.lookup(self.syms.next).is_some(),
            Value::Other(_) => true,
            _ => false,
        }
    }

    /// `next(it)`: `None` when exhausted.
    pub fn next(&mut self, it: &Value) -> Res<Option<Value>> {
        // Natives that drain iterators (`sum`, `list`, `sorted`, ...) count against the
        // embedding limits and notice Ctrl-C per item.
        self.tick()?;
        match it {
            Value::Iter(st) => self.next_builtin(st),
            Value::Gen(g) => match self.gen_send(g, Value::None)? {
                GenResult::Yield(v) => Ok(Some(v)),
                GenResult::Return(_) => Ok(None),
            },
            Value::Instance(i) => match i.class.lookup(self.syms.next) {
                Some(f) => match self.call(&f, vec![it.clone()]) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => {
                        let inst = self.materialize(e);
                        if inst.class.is_subclass(self.exc_class(ExcKind::StopIteration)) {
                            Ok(None)
                        } else {
                            Err(super::Exc::Obj(inst))
                        }
                    }
                },
                None => Err(Exc::type_error(format!("'{}' object is not an iterator", i.class.tp_name()))),
            },
            Value::Other(o) => {
                let o = o.clone();
                match o.get_attr(self, it, self.syms.next)? {
                    Some(f) => match self.call(&f, vec![]) {
                        Ok(v) => Ok(Some(v)),
                        Err(e) => {
                            let inst = self.materialize(e);
                            if inst.class.is_subclass(self.exc_class(ExcKind::StopIteration)) {
                                Ok(None)
                            } else {
                                Err(super::Exc::Obj(inst))
                            }
                        }
                    },
                    None => Err(Exc::type_error(format!("'{}' object is not an iterator", self.type_name(it)))),
                }
            }
            _ => Err(Exc::type_error(format!("'{}' object is not an iterator", self.type_name(it)))),
        }
    }

    fn next_builtin(&mut self, st: &Rc<RefCell<IterState>>) -> Res<Option<Value>> {
        let mut s = st.borrow_mut();
        let v = match &mut *s {
            IterState::Range { next, stop, step } => {
                let cur = *next;
                if (*step > 0 && cur < *stop) || (*step < 0 && cur > *stop) {
                    *next = cur.wrapping_add(*step);
                    Some(Value::Int(cur))
                } else {
                    None
                }
            }
            IterState::List { list, index } => {
                let items = list.items.borrow();
                let r = items.get(*index).cloned();
                *index += 1;
                r
            }
            IterState::BigRange { next, stop, step } => {
                let more = if num_traits::Signed::is_positive(&*step) { *next < *stop } else { *next > *stop };
                if more {
                    let cur = next.clone();
                    *next += &*step;
                    Some(Value::from_bigint(cur))
                } else {
                    None
                }
            }
            IterState::ListRev { list, index } => {
                let items = list.items.borrow();
                if *index > 0 && *index <= items.len() {
                    *index -= 1;
                    Some(items[*index].clone())
                } else {
                    None
                }
            }
            IterState::Tuple { items, index } => {
                let r = items.get(*index).cloned();
                *index += 1;
                r
            }
            IterState::Str { s: text, pos } => match text.as_str()[*pos..].chars().next() {
                Some(c) => {
                    *pos += c.len_utf8();
                    Some(Value::string(c.to_string()))
                }
                None => None,
            },
            IterState::Bytes { b, index } => {
                let r = b.get(*index).map(|x| Value::Int(*x as i64));
                *index += 1;
                r
            }
            IterState::DictView { dict, index, kind, len } => {
                let d = dict.d.borrow();
                if d.len() != *len {
                    *len = usize::MAX;
                    drop(d);
                    drop(s);
                    return Err(Exc::runtime_error("dictionary changed size during iteration"));
                }
                match d.next_from(*index) {
                    Some((pos, e)) => {
                        *index = pos + 1;
                        Some(match kind {
                            0 => e.key.clone(),
                            1 => e.value.clone(),
                            _ => Value::tuple(vec![e.key.clone(), e.value.clone()]),
                        })
                    }
                    None => None,
                }
            }
            IterState::Set { items, index } | IterState::Vec { items, index } => {
                let r = items.get(*index).cloned();
                *index += 1;
                r
            }
            IterState::Done(_) => None,
            _ => {
                drop(s);
                return self.next_composite(st);
            }
        };
        if v.is_none() {
            s.exhaust();
        }
        Ok(v)
    }

    /// One step of a `map`/`filter`/`zip`/`enumerate`/`iter(f, sentinel)`/sequence
    /// iterator. A chain of such iterators steps in Rust recursion, one level per iterator:
    /// past [`MAX_COMPOSITE_DEPTH`] levels it is a `RecursionError`, not a stack overflow
    /// (CPython crashes there).
    fn next_composite(&mut self, st: &Rc<RefCell<IterState>>) -> Res<Option<Value>> {
        self.check_stack()?;
        let depth = COMPOSITE_DEPTH.with(|d| d.get());
        if depth >= MAX_COMPOSITE_DEPTH {
            return Err(Exc::new(
                ExcKind::RecursionError,
                "maximum recursion depth exceeded while calling a Python object",
            ));
        }
        COMPOSITE_DEPTH.with(|d| d.set(depth + 1));
        let r = self.next_composite_step(st);
        COMPOSITE_DEPTH.with(|d| d.set(depth));
        r
    }

    fn next_composite_step(&mut self, st: &Rc<RefCell<IterState>>) -> Res<Option<Value>> {
        enum Step {
            Enumerate(Value, i64),
            Zip(Vec<Value>, bool),
            Map(Value, Vec<Value>),
            Filter(Value, Value),
            Callable(Value, Value),
            Seq(Value, i64),
        }
        let step = match &*st.borrow() {
            IterState::Enumerate { inner, count } => Step::Enumerate(inner.clone(), *count),
            IterState::Zip { inners, strict } => Step::Zip(inners.clone(), *strict),
            IterState::Map { func, inners } => Step::Map(func.clone(), inners.clone()),
            IterState::Filter { func, inner } => Step::Filter(func.clone(), inner.clone()),
            IterState::Callable { func, sentinel } => Step::Callable(func.clone(), sentinel.clone()),
            IterState::SeqIter { obj, index } => Step::Seq(obj.clone(), *index),
            _ => return Ok(None),
        };
        let out = match step {
            Step::Enumerate(inner, count) => match self.next(&inner)? {
                Some(v) => {
                    if let IterState::Enumerate { count: c, .. } = &mut *st.borrow_mut() {
                        *c += 1;
                    }
                    Some(Value::tuple(vec![Value::Int(count), v]))
                }
                None => None,
            },
            Step::Zip(inners, strict) => {
                let mut items = Vec::with_capacity(inners.len());
                for (i, it) in inners.iter().enumerate() {
                    match self.next(it)? {
                        Some(v) => items.push(v),
                        None => {
                            if strict && (i > 0 || inners.len() > 1) {
                                if i > 0 {
                                    let plural = if i == 1 { " " } else { "s 1-" };
                                    return Err(Exc::value_error(format!(
                                        "zip() argument {} is shorter than argument{}{}",
                                        i + 1,
                                        plural,
                                        i
                                    )));
                                }
                                for (j, other) in inners.iter().enumerate().skip(1) {
                                    if self.next(other)?.is_some() {
                                        let plural = if j == 1 { " " } else { "s 1-" };
                                        return Err(Exc::value_error(format!(
                                            "zip() argument {} is longer than argument{}{}",
                                            j + 1,
                                            plural,
                                            j
                                        )));
                                    }
                                }
                            }
                            st.borrow_mut().exhaust();
                            return Ok(None);
                        }
                    }
                }
                Some(Value::tuple(items))
            }
            Step::Map(func, inners) => {
                let mut args = Vec::with_capacity(inners.len());
                for it in &inners {
                    match self.next(it)? {
                        Some(v) => args.push(v),
                        None => {
                            st.borrow_mut().exhaust();
                            return Ok(None);
                        }
                    }
                }
                Some(self.call(&func, args)?)
            }
            Step::Filter(func, inner) => loop {
                match self.next(&inner)? {
                    Some(v) => {
                        let keep = if func.is_none() {
                            self.truthy(&v)?
                        } else {
                            let r = self.call(&func, vec![v.clone()])?;
                            self.truthy(&r)?
                        };
                        if keep {
                            break Some(v);
                        }
                    }
                    None => break None,
                }
            },
            Step::Callable(func, sentinel) => {
                let v = self.call(&func, vec![])?;
                if self.eq(&v, &sentinel)? {
                    None
                } else {
                    Some(v)
                }
            }
            Step::Seq(obj, index) => match self.get_item(&obj, &Value::Int(index)) {
                Ok(v) => {
                    if let IterState::SeqIter { index: i, .. } = &mut *st.borrow_mut() {
                        *i += 1;
                    }
                    Some(v)
                }
                Err(e) => {
                    let inst = self.materialize(e);
                    if inst.class.is_subclass(self.exc_class(ExcKind::IndexError))
                        || inst.class.is_subclass(self.exc_class(ExcKind::StopIteration))
                    {
                        None
                    } else {
                        return Err(Exc::Obj(inst));
                    }
                }
            },
        };
        if out.is_none() {
            st.borrow_mut().exhaust();
        }
        Ok(out)
    }

    /// Every item of an iterable.
    pub fn collect(&mut self, v: &Value) -> Res<Vec<Value>> {
        match v {
            Value::List(l) => Ok(l.items.borrow().clone()),
            Value::Tuple(t) => Ok(t.to_vec()),
            _ => {
                let it = self.get_iter(v)?;
                let mut out = Vec::new();
                if let Value::Range(r) = v {
                    // CPython sizes the result from the length first: a range too long to
                    // hold fails at once, before any iteration.
                    if r.big.is_some() && r.big_len() > num_bigint::BigInt::from(i64::MAX) {
                        return Err(Exc::overflow("Python int too large to convert to C ssize_t"));
                    }
                    super::mem::reserve(&mut out, r.len() as usize)?;
                }
                // The buffer counts against the embedding memory limit while it grows.
                let mut counted = 0;
                let r = loop {
                    match self.next(&it) {
                        Ok(Some(x)) => {
                            if out.len() == out.capacity() {
                                let grow = out.capacity().max(4) * std::mem::size_of::<Value>();
                                if let Err(e) = self.mem_charge(grow) {
                                    break Err(e);
                                }
                                self.mem_inflight(grow, true);
                                counted += grow;
                                if let Err(e) = super::mem::room_for_one(&mut out) {
                                    break Err(e);
                                }
                            }
                            out.push(x);
                        }
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                self.mem_inflight(counted, false);
                r.map(|_| out)
            }
        }
    }

    /// Unpacks exactly `n` items.
    pub fn unpack(&mut self, v: &Value, n: usize) -> Res<Vec<Value>> {
        let items = match v {
            Value::Tuple(t) => t.to_vec(),
            Value::List(l) => l.items.borrow().clone(),
            _ => {
                let it = self.get_iter(v).map_err(|e| self.unpack_iter_error(e, v))?;
                let mut out = Vec::with_capacity(n);
                while let Some(x) = self.next(&it)? {
                    out.push(x);
                    if out.len() > n {
                        return Err(Exc::value_error(format!("too many values to unpack (expected {n})")));
                    }
                }
                out
            }
        };
        if items.len() > n {
            return Err(Exc::value_error(format!("too many values to unpack (expected {n})")));
        }
        if items.len() < n {
            return Err(Exc::value_error(format!("not enough values to unpack (expected {n}, got {})", items.len())));
        }
        Ok(items)
    }
}

/// Marks, for a sequence of `len` items, the positions a deleted slice covers.
fn slice_mask(len: usize, positions: impl Iterator<Item = usize>) -> Vec<bool> {
    let mut doomed = vec![false; len];
    for p in positions {
        if let Some(d) = doomed.get_mut(p) {
            *d = true;
        }
    }
    doomed
}
