//! Methods of `bytes` and `bytearray`.
//!
//! Both types share one implementation: a method reads its receiver's bytes, and a method that
//! returns a new sequence returns the receiver's type (`bytearray(b'ab').upper()` is a
//! `bytearray`). The in-place methods of `bytearray` come last.

use super::str_methods::{
    adjust_indices, check_len, exc_is, int_arg, lookup_codec, opt_str_arg, parse_args, slice_arg, Codec, Sig,
};
use crate::vm::value::{Descriptor, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, TypeId, Vm};
use std::cell::RefCell;
use std::rc::Rc;

/// The receiver of `name`: its bytes and whether it is a `bytearray`.
fn recv(vm: &Vm, a: &Args, name: &str) -> Res<(Vec<u8>, bool)> {
    match a.pos.first() {
        Some(Value::Bytes(b)) => Ok((b.to_vec(), false)),
        Some(Value::ByteArray(b)) => Ok((b.borrow().clone(), true)),
        Some(other) => Err(Exc::type_error(format!(
            "descriptor '{name}' for 'bytes' objects doesn't apply to a '{}' object",
            vm.type_name(other)
        ))),
        None => Err(Exc::type_error(format!("unbound method bytes.{name}() needs an argument"))),
    }
}

fn owner(ba: bool) -> &'static str {
    if ba {
        "bytearray"
    } else {
        "bytes"
    }
}

/// The receiver and parsed arguments of `name`.
fn start(vm: &Vm, a: &mut Args, name: &str, sig: Sig) -> Res<(Vec<u8>, bool, Vec<Option<Value>>)> {
    let (b, ba) = recv(vm, a, name)?;
    let p = parse_args(a, owner(ba), name, sig)?;
    Ok((b, ba, p))
}

/// A new `bytes` or `bytearray`.
fn mk(ba: bool, v: Vec<u8>) -> Value {
    if ba {
        Value::ByteArray(Rc::new(RefCell::new(v)))
    } else {
        Value::Bytes(Rc::from(v))
    }
}

fn arg(p: &[Option<Value>], i: usize) -> Option<&Value> {
    p.get(i).and_then(|x| x.as_ref())
}

/// A bytes-like argument, or `a bytes-like object is required, not 'X'`.
fn bytes_arg(vm: &mut Vm, v: Option<&Value>) -> Res<Vec<u8>> {
    vm.bytes_like(v.unwrap_or(&Value::None))
}

/// A byte value 0..=255 from an integer-like argument.
fn byte_value(vm: &mut Vm, v: &Value) -> Res<u8> {
    let n = vm.index_value(v)?;
    u8::try_from(n).map_err(|_| Exc::value_error("byte must be in range(0, 256)"))
}

/// The needle of find/count/index: bytes-like or a single byte given as an int.
fn needle(vm: &mut Vm, v: Option<&Value>) -> Res<Vec<u8>> {
    match v {
        Some(Value::Bytes(b)) => Ok(b.to_vec()),
        Some(Value::ByteArray(b)) => Ok(b.borrow().clone()),
        Some(v @ (Value::Int(_) | Value::Bool(_) | Value::BigInt(_))) => {
            let v = v.clone();
            match vm.index_value(&v) {
                Ok(n) if (0..256).contains(&n) => Ok(vec![n as u8]),
                _ => Err(Exc::value_error("byte must be in range(0, 256)")),
            }
        }
        Some(v @ Value::Instance(i)) if i.class.lookup(vm.syms.index).is_some() => {
            let v = v.clone();
            Ok(vec![byte_value(vm, &v)?])
        }
        Some(other) => Err(Exc::type_error(format!(
            "argument should be integer or bytes-like object, not '{}'",
            vm.type_name(other)
        ))),
        None => Err(Exc::type_error("argument should be integer or bytes-like object, not 'NoneType'")),
    }
}

fn find_sub(hay: &[u8], sub: &[u8]) -> Option<usize> {
    if sub.is_empty() {
        return Some(0);
    }
    hay.windows(sub.len()).position(|w| w == sub)
}

fn rfind_sub(hay: &[u8], sub: &[u8]) -> Option<usize> {
    if sub.is_empty() {
        return Some(hay.len());
    }
    hay.windows(sub.len()).rposition(|w| w == sub)
}

fn count_sub(hay: &[u8], sub: &[u8]) -> usize {
    if sub.is_empty() {
        return hay.len() + 1;
    }
    let (mut n, mut i) = (0, 0);
    while let Some(j) = hay.get(i..).and_then(|h| find_sub(h, sub)) {
        n += 1;
        i += j + sub.len();
    }
    n
}

fn search_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<(Vec<u8>, Vec<u8>, usize, usize)> {
    let (b, _, p) = start(vm, a, name, Sig::Range(1, 3))?;
    let sub = needle(vm, arg(&p, 0))?;
    let st = slice_arg(vm, arg(&p, 1))?;
    let en = slice_arg(vm, arg(&p, 2))?;
    let (s, e) = adjust_indices(st, en, b.len());
    Ok((b, sub, s, e))
}

fn find_impl(b: &[u8], sub: &[u8], s: usize, e: usize, rev: bool) -> i64 {
    if s > b.len() || e < s {
        return -1;
    }
    let hay = b.get(s..e).unwrap_or(&[]);
    match if rev { rfind_sub(hay, sub) } else { find_sub(hay, sub) } {
        Some(i) => (s + i) as i64,
        None => -1,
    }
}

fn find(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, sub, s, e) = search_args(vm, a, "find")?;
    Ok(Value::Int(find_impl(&b, &sub, s, e, false)))
}

fn rfind(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, sub, s, e) = search_args(vm, a, "rfind")?;
    Ok(Value::Int(find_impl(&b, &sub, s, e, true)))
}

fn index(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, sub, s, e) = search_args(vm, a, "index")?;
    match find_impl(&b, &sub, s, e, false) {
        -1 => Err(Exc::value_error("subsection not found")),
        i => Ok(Value::Int(i)),
    }
}

fn rindex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, sub, s, e) = search_args(vm, a, "rindex")?;
    match find_impl(&b, &sub, s, e, true) {
        -1 => Err(Exc::value_error("subsection not found")),
        i => Ok(Value::Int(i)),
    }
}

fn count(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, sub, s, e) = search_args(vm, a, "count")?;
    if s > b.len() || e < s {
        return Ok(Value::Int(0));
    }
    Ok(Value::Int(count_sub(b.get(s..e).unwrap_or(&[]), &sub) as i64))
}

fn starts_ends(vm: &mut Vm, a: &mut Args, name: &str, ends: bool) -> Res<Value> {
    let (b, _, p) = start(vm, a, name, Sig::Range(1, 3))?;
    let st = slice_arg(vm, arg(&p, 1))?;
    let en = slice_arg(vm, arg(&p, 2))?;
    let (s, e) = adjust_indices(st, en, b.len());
    let test = |sub: &[u8]| -> bool {
        if s > b.len() || e < s || e - s < sub.len() {
            return false;
        }
        let hay = b.get(s..e).unwrap_or(&[]);
        if ends {
            hay.ends_with(sub)
        } else {
            hay.starts_with(sub)
        }
    };
    match arg(&p, 0) {
        Some(Value::Tuple(t)) => {
            for item in t.clone().iter() {
                let sub = vm.bytes_like(item)?;
                if test(&sub) {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        Some(v @ (Value::Bytes(_) | Value::ByteArray(_))) => {
            let sub = vm.bytes_like(v)?;
            Ok(Value::Bool(test(&sub)))
        }
        Some(other) => Err(Exc::type_error(format!(
            "{name} first arg must be bytes or a tuple of bytes, not {}",
            vm.type_name(other)
        ))),
        None => Err(Exc::type_error(format!("{name}() takes at least 1 argument (0 given)"))),
    }
}

fn startswith(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    starts_ends(vm, a, "startswith", false)
}

fn endswith(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    starts_ends(vm, a, "endswith", true)
}

// ---- case and predicates ----

fn map_bytes(vm: &mut Vm, a: &mut Args, name: &str, f: fn(&[u8]) -> Vec<u8>) -> Res<Value> {
    let (b, ba, _) = start(vm, a, name, Sig::NoArgs)?;
    Ok(mk(ba, f(&b)))
}

fn upper(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    map_bytes(vm, a, "upper", |b| b.to_ascii_uppercase())
}

fn lower(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    map_bytes(vm, a, "lower", |b| b.to_ascii_lowercase())
}

fn swapcase(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    map_bytes(vm, a, "swapcase", |b| {
        b.iter().map(|c| if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() }).collect()
    })
}

fn capitalize(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    map_bytes(vm, a, "capitalize", |b| {
        b.iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect()
    })
}

fn title(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    map_bytes(vm, a, "title", |b| {
        let mut prev = false;
        b.iter()
            .map(|c| {
                let r = if prev { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() };
                prev = c.is_ascii_alphabetic();
                r
            })
            .collect()
    })
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn pred(vm: &mut Vm, a: &mut Args, name: &str, f: fn(&u8) -> bool) -> Res<Value> {
    let (b, _, _) = start(vm, a, name, Sig::NoArgs)?;
    Ok(Value::Bool(!b.is_empty() && b.iter().all(f)))
}

fn isdigit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isdigit", u8::is_ascii_digit)
}
fn isalpha(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isalpha", u8::is_ascii_alphabetic)
}
fn isalnum(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isalnum", u8::is_ascii_alphanumeric)
}
fn isspace(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isspace", |c| is_space(*c))
}
fn isascii(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, _, _) = start(vm, a, "isascii", Sig::NoArgs)?;
    Ok(Value::Bool(b.is_ascii()))
}

fn isupper(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, _, _) = start(vm, a, "isupper", Sig::NoArgs)?;
    Ok(Value::Bool(b.iter().any(u8::is_ascii_uppercase) && !b.iter().any(u8::is_ascii_lowercase)))
}

fn islower(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, _, _) = start(vm, a, "islower", Sig::NoArgs)?;
    Ok(Value::Bool(b.iter().any(u8::is_ascii_lowercase) && !b.iter().any(u8::is_ascii_uppercase)))
}

// ---- split, join, strip, replace ----

fn split_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<(Vec<u8>, bool, Option<Vec<u8>>, i64)> {
    let (b, ba, p) = start(vm, a, name, Sig::Kw(&["sep", "maxsplit"]))?;
    let sep = match arg(&p, 0) {
        None | Some(Value::None) => None,
        Some(v) => Some(vm.bytes_like(v)?),
    };
    let maxsplit = int_arg(vm, arg(&p, 1), -1)?;
    if sep.as_ref().is_some_and(|s| s.is_empty()) {
        return Err(Exc::value_error("empty separator"));
    }
    Ok((b, ba, sep, maxsplit))
}

fn to_list(ba: bool, parts: Vec<&[u8]>) -> Value {
    Value::list(parts.into_iter().map(|p| mk(ba, p.to_vec())).collect())
}

fn split(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, sep, maxsplit) = split_args(vm, a, "split")?;
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut left = maxsplit;
    match &sep {
        None => {
            let mut i = 0;
            while i < b.len() {
                while b.get(i).is_some_and(|c| is_space(*c)) {
                    i += 1;
                }
                if i >= b.len() {
                    break;
                }
                if left == 0 {
                    parts.push(b.get(i..).unwrap_or(&[]));
                    break;
                }
                let j = b.get(i..).and_then(|r| r.iter().position(|c| is_space(*c))).map(|k| i + k).unwrap_or(b.len());
                parts.push(b.get(i..j).unwrap_or(&[]));
                left -= 1;
                i = j;
            }
        }
        Some(sep) => {
            let mut i = 0;
            loop {
                if left == 0 {
                    parts.push(b.get(i..).unwrap_or(&[]));
                    break;
                }
                match b.get(i..).and_then(|r| find_sub(r, sep)) {
                    Some(k) => {
                        parts.push(b.get(i..i + k).unwrap_or(&[]));
                        i += k + sep.len();
                        left -= 1;
                    }
                    None => {
                        parts.push(b.get(i..).unwrap_or(&[]));
                        break;
                    }
                }
            }
        }
    }
    Ok(to_list(ba, parts))
}

fn rsplit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, sep, maxsplit) = split_args(vm, a, "rsplit")?;
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut left = maxsplit;
    match &sep {
        None => {
            let mut j = b.len();
            while j > 0 {
                while j > 0 && b.get(j - 1).is_some_and(|c| is_space(*c)) {
                    j -= 1;
                }
                if j == 0 {
                    break;
                }
                if left == 0 {
                    parts.push(b.get(..j).unwrap_or(&[]));
                    break;
                }
                let i = b.get(..j).and_then(|r| r.iter().rposition(|c| is_space(*c))).map(|k| k + 1).unwrap_or(0);
                parts.push(b.get(i..j).unwrap_or(&[]));
                left -= 1;
                j = i;
            }
        }
        Some(sep) => {
            let mut j = b.len();
            loop {
                if left == 0 {
                    parts.push(b.get(..j).unwrap_or(&[]));
                    break;
                }
                match b.get(..j).and_then(|r| rfind_sub(r, sep)) {
                    Some(k) => {
                        parts.push(b.get(k + sep.len()..j).unwrap_or(&[]));
                        j = k;
                        left -= 1;
                    }
                    None => {
                        parts.push(b.get(..j).unwrap_or(&[]));
                        break;
                    }
                }
            }
        }
    }
    parts.reverse();
    Ok(to_list(ba, parts))
}

fn splitlines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, p) = start(vm, a, "splitlines", Sig::Kw(&["keepends"]))?;
    let keep = int_arg(vm, arg(&p, 0), 0)? != 0;
    let mut parts: Vec<&[u8]> = Vec::new();
    let (mut st, mut i) = (0, 0);
    while let Some(&c) = b.get(i) {
        if c == b'\n' || c == b'\r' {
            let mut end = i + 1;
            if c == b'\r' && b.get(i + 1) == Some(&b'\n') {
                end += 1;
            }
            parts.push(b.get(st..if keep { end } else { i }).unwrap_or(&[]));
            st = end;
            i = end;
        } else {
            i += 1;
        }
    }
    if st < b.len() {
        parts.push(b.get(st..).unwrap_or(&[]));
    }
    Ok(to_list(ba, parts))
}

fn join(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (sep, ba, p) = start(vm, a, "join", Sig::One)?;
    let it = arg(&p, 0).cloned().unwrap_or(Value::None);
    let items = match vm.collect(&it) {
        Ok(v) => v,
        Err(e)
            if exc_is(vm, &e, ExcKind::TypeError)
                && !matches!(it, Value::Instance(_) | Value::Gen(_) | Value::Iter(_)) =>
        {
            return Err(Exc::type_error("can only join an iterable"))
        }
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&sep);
        }
        match v {
            Value::Bytes(b) => out.extend_from_slice(b),
            Value::ByteArray(b) => out.extend_from_slice(&b.borrow()),
            other => {
                return Err(Exc::type_error(format!(
                    "sequence item {i}: expected a bytes-like object, {} found",
                    vm.type_name(other)
                )))
            }
        }
    }
    Ok(mk(ba, out))
}

fn strip_impl(vm: &mut Vm, a: &mut Args, name: &str, left: bool, right: bool) -> Res<Value> {
    let (b, ba, p) = start(vm, a, name, Sig::Expected(0, 1))?;
    let set: Option<Vec<u8>> = match arg(&p, 0) {
        None | Some(Value::None) => None,
        Some(v) => Some(vm.bytes_like(v)?),
    };
    let strip = |c: &u8| match &set {
        None => is_space(*c),
        Some(s) => s.contains(c),
    };
    let mut i = 0;
    let mut j = b.len();
    if left {
        while i < j && b.get(i).is_some_and(strip) {
            i += 1;
        }
    }
    if right {
        while j > i && b.get(j - 1).is_some_and(strip) {
            j -= 1;
        }
    }
    if i == 0 && j == b.len() && !ba {
        return Ok(a.pos.first().cloned().unwrap_or(Value::None));
    }
    Ok(mk(ba, b.get(i..j).unwrap_or(&[]).to_vec()))
}

fn strip(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    strip_impl(vm, a, "strip", true, true)
}
fn lstrip(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    strip_impl(vm, a, "lstrip", true, false)
}
fn rstrip(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    strip_impl(vm, a, "rstrip", false, true)
}

fn replace(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, p) = start(vm, a, "replace", Sig::Expected(2, 3))?;
    let old = bytes_arg(vm, arg(&p, 0))?;
    let new = bytes_arg(vm, arg(&p, 1))?;
    let count = int_arg(vm, arg(&p, 2), -1)?;
    let mut left = if count < 0 { usize::MAX } else { count as usize };
    let hits = if old.is_empty() { b.len() + 1 } else { count_sub(&b, &old) }.min(left);
    check_len(hits.saturating_mul(new.len()).saturating_add(b.len()))?;
    let mut out = Vec::with_capacity(b.len());
    if old.is_empty() {
        for &c in &b {
            if left > 0 {
                out.extend_from_slice(&new);
                left -= 1;
            }
            out.push(c);
        }
        if left > 0 {
            out.extend_from_slice(&new);
        }
        return Ok(mk(ba, out));
    }
    let mut i = 0;
    while left > 0 {
        match b.get(i..).and_then(|r| find_sub(r, &old)) {
            Some(k) => {
                out.extend_from_slice(b.get(i..i + k).unwrap_or(&[]));
                out.extend_from_slice(&new);
                i += k + old.len();
                left -= 1;
            }
            None => break,
        }
    }
    out.extend_from_slice(b.get(i..).unwrap_or(&[]));
    Ok(mk(ba, out))
}

fn partition_impl(vm: &mut Vm, a: &mut Args, name: &str, rev: bool) -> Res<Value> {
    let (b, ba, p) = start(vm, a, name, Sig::One)?;
    let sep = bytes_arg(vm, arg(&p, 0))?;
    if sep.is_empty() {
        return Err(Exc::value_error("empty separator"));
    }
    let found = if rev { rfind_sub(&b, &sep) } else { find_sub(&b, &sep) };
    let parts = match found {
        Some(i) => vec![
            mk(ba, b.get(..i).unwrap_or(&[]).to_vec()),
            mk(ba, sep.clone()),
            mk(ba, b.get(i + sep.len()..).unwrap_or(&[]).to_vec()),
        ],
        None if rev => vec![mk(ba, vec![]), mk(ba, vec![]), mk(ba, b)],
        None => vec![mk(ba, b), mk(ba, vec![]), mk(ba, vec![])],
    };
    Ok(Value::tuple(parts))
}

fn partition(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    partition_impl(vm, a, "partition", false)
}
fn rpartition(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    partition_impl(vm, a, "rpartition", true)
}

fn removeprefix(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, p) = start(vm, a, "removeprefix", Sig::One)?;
    let pre = bytes_arg(vm, arg(&p, 0))?;
    Ok(mk(ba, b.strip_prefix(pre.as_slice()).unwrap_or(&b).to_vec()))
}

fn removesuffix(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, p) = start(vm, a, "removesuffix", Sig::One)?;
    let suf = bytes_arg(vm, arg(&p, 0))?;
    Ok(mk(ba, b.strip_suffix(suf.as_slice()).unwrap_or(&b).to_vec()))
}

// ---- padding ----

fn pad_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<(Vec<u8>, bool, usize, u8)> {
    let (b, ba, p) = start(vm, a, name, Sig::Expected(1, 2))?;
    let width = int_arg(vm, arg(&p, 0), 0)?.max(0) as usize;
    check_len(width)?;
    let fill = match arg(&p, 1) {
        None => b' ',
        Some(Value::Bytes(f)) if f.len() == 1 => f[0],
        Some(Value::ByteArray(f)) if f.borrow().len() == 1 => f.borrow()[0],
        Some(other) => {
            return Err(Exc::type_error(format!(
                "{name}() argument 2 must be a byte string of length 1, not {}",
                vm.type_name(other)
            )))
        }
    };
    Ok((b, ba, width, fill))
}

fn padded(b: &[u8], left: usize, right: usize, fill: u8) -> Vec<u8> {
    let mut out = vec![fill; left];
    out.extend_from_slice(b);
    out.extend(std::iter::repeat_n(fill, right));
    out
}

fn center(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, width, fill) = pad_args(vm, a, "center")?;
    if width <= b.len() {
        return Ok(mk(ba, b));
    }
    let marg = width - b.len();
    let left = marg / 2 + (marg & width & 1);
    Ok(mk(ba, padded(&b, left, marg - left, fill)))
}

fn ljust(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, width, fill) = pad_args(vm, a, "ljust")?;
    let n = width.saturating_sub(b.len());
    Ok(mk(ba, padded(&b, 0, n, fill)))
}

fn rjust(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, width, fill) = pad_args(vm, a, "rjust")?;
    let n = width.saturating_sub(b.len());
    Ok(mk(ba, padded(&b, n, 0, fill)))
}

fn zfill(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, p) = start(vm, a, "zfill", Sig::One)?;
    let width = int_arg(vm, arg(&p, 0), 0)?.max(0) as usize;
    if width <= b.len() {
        return Ok(mk(ba, b));
    }
    check_len(width)?;
    let fill = width - b.len();
    let (sign, body) = match b.first() {
        Some(c @ (b'+' | b'-')) => (Some(*c), b.get(1..).unwrap_or(&[])),
        _ => (None, &b[..]),
    };
    let mut out = Vec::with_capacity(width);
    out.extend(sign);
    out.extend(std::iter::repeat_n(b'0', fill));
    out.extend_from_slice(body);
    Ok(mk(ba, out))
}

fn expandtabs(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba, p) = start(vm, a, "expandtabs", Sig::Kw(&["tabsize"]))?;
    let tabsize = int_arg(vm, arg(&p, 0), 8)?;
    if i32::try_from(tabsize).is_err() {
        return Err(Exc::overflow("Python int too large to convert to C int"));
    }
    let mut out = Vec::with_capacity(b.len());
    let mut col: i64 = 0;
    for &c in &b {
        match c {
            b'\t' => {
                if tabsize > 0 {
                    let n = tabsize - col % tabsize;
                    check_len(out.len().saturating_add(n as usize))?;
                    out.extend(std::iter::repeat_n(b' ', n as usize));
                    col += n;
                }
            }
            b'\n' | b'\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    Ok(mk(ba, out))
}

fn translate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, ba) = recv(vm, a, "translate")?;
    let delete = match super::take_kw(a, "delete") {
        Some(d) => Some(d),
        None => a.pos.get(2).cloned(),
    };
    if a.pos.len() < 2 {
        return Err(Exc::type_error("translate() takes at least 1 positional argument (0 given)"));
    }
    if a.pos.len() > 3 {
        return Err(Exc::type_error(format!("translate() takes at most 2 arguments ({} given)", a.pos.len() - 1)));
    }
    super::no_more_kw("translate", a)?;
    let table = match a.pos.get(1).cloned() {
        None | Some(Value::None) => None,
        Some(t) => {
            let t = vm.bytes_like(&t)?;
            if t.len() != 256 {
                return Err(Exc::value_error("translation table must be 256 characters long"));
            }
            Some(t)
        }
    };
    let delete = match delete {
        Some(d) => vm.bytes_like(&d)?,
        None => Vec::new(),
    };
    let out: Vec<u8> = b
        .iter()
        .filter(|c| !delete.contains(c))
        .map(|&c| table.as_ref().and_then(|t| t.get(c as usize).copied()).unwrap_or(c))
        .collect();
    Ok(mk(ba, out))
}

fn maketrans(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    // A static method: no receiver.
    if !a.kw.is_empty() {
        return Err(Exc::type_error("maketrans() takes no keyword arguments"));
    }
    if a.pos.len() != 2 {
        return Err(Exc::type_error(format!("maketrans expected 2 arguments, got {}", a.pos.len())));
    }
    let from = vm.bytes_like(&a.pos[0].clone())?;
    let to = vm.bytes_like(&a.pos[1].clone())?;
    if from.len() != to.len() {
        return Err(Exc::value_error("maketrans arguments must have same length"));
    }
    let mut table: Vec<u8> = (0..=255u8).collect();
    for (f, t) in from.iter().zip(to.iter()) {
        if let Some(slot) = table.get_mut(*f as usize) {
            *slot = *t;
        }
    }
    Ok(mk(false, table))
}

// ---- hex, fromhex, decode ----

fn hex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, _, p) = start(vm, a, "hex", Sig::Kw(&["sep", "bytes_per_sep"]))?;
    let sep: Option<char> = match arg(&p, 0) {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) => {
            if s.chars != 1 {
                return Err(Exc::value_error("sep must be length 1."));
            }
            match s.as_str().chars().next() {
                Some(c) if c.is_ascii() => Some(c),
                _ => return Err(Exc::value_error("sep must be ASCII.")),
            }
        }
        Some(v @ (Value::Bytes(_) | Value::ByteArray(_))) => {
            let s = vm.bytes_like(v)?;
            match s.as_slice() {
                [c] if c.is_ascii() => Some(*c as char),
                [_] => return Err(Exc::value_error("sep must be ASCII.")),
                _ => return Err(Exc::value_error("sep must be length 1.")),
            }
        }
        Some(other) => return Err(Exc::type_error(format!("object of type '{}' has no len()", vm.type_name(other)))),
    };
    let per = int_arg(vm, arg(&p, 1), 1)?;
    let digits: Vec<String> = b.iter().map(|c| format!("{c:02x}")).collect();
    let Some(sep) = sep.filter(|_| per != 0 && !b.is_empty()) else { return Ok(Value::string(digits.concat())) };
    let group = per.unsigned_abs() as usize;
    let mut out = String::with_capacity(b.len() * 3);
    let n = digits.len();
    for (i, d) in digits.iter().enumerate() {
        if i > 0 {
            let boundary = if per > 0 { (n - i) % group == 0 } else { i % group == 0 };
            if boundary {
                out.push(sep);
            }
        }
        out.push_str(d);
    }
    Ok(Value::string(out))
}

fn fromhex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    // A class method: `a.pos[0]` is the class.
    let ba = matches!(a.pos.first(), Some(Value::Class(c)) if c.builtin == Some(TypeId::ByteArray));
    super::check_method_args(if ba { "bytearray.fromhex" } else { "bytes.fromhex" }, a, 2, 2)?;
    let s = match a.pos.get(1) {
        Some(Value::Str(s)) => s.clone(),
        Some(other) => {
            return Err(Exc::type_error(format!("fromhex() argument must be str, not {}", vm.type_name(other))))
        }
        None => return Err(Exc::type_error("fromhex() argument must be str, not NoneType")),
    };
    let chars: Vec<char> = s.as_str().chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let bad = |pos: usize| Exc::value_error(format!("non-hexadecimal number found in fromhex() arg at position {pos}"));
    while i < chars.len() {
        if chars.get(i).is_some_and(|c| c.is_ascii_whitespace() || *c == '\x0b') {
            i += 1;
            continue;
        }
        let hi = chars.get(i).and_then(|c| c.to_digit(16)).ok_or_else(|| bad(i))?;
        let lo = chars.get(i + 1).and_then(|c| c.to_digit(16)).ok_or_else(|| bad(i + 1))?;
        out.push((hi * 16 + lo) as u8);
        i += 2;
    }
    Ok(mk(ba, out))
}

/// Decodes `bytes` with `codec` under the error handler `errors`, with CPython's messages.
pub(crate) fn decode_with(bytes: &[u8], codec: Codec, errors: &str) -> Res<String> {
    let check_handler = || -> Res<()> {
        match errors {
            "strict" | "ignore" | "replace" | "backslashreplace" | "surrogateescape" => Ok(()),
            other => Err(Exc::new(ExcKind::LookupError, format!("unknown error handler name '{other}'"))),
        }
    };
    let fail = |start: usize, end: usize, reason: &str| -> Exc {
        let what = if end - start == 1 {
            format!("byte 0x{:02x} in position {start}", bytes.get(start).copied().unwrap_or(0))
        } else {
            format!("bytes in position {start}-{}", end - 1)
        };
        Exc::new(ExcKind::UnicodeDecodeError, format!("'{}' codec can't decode {what}: {reason}", codec.name()))
    };
    let mut out = String::with_capacity(bytes.len());
    let on_error = |out: &mut String, start: usize, end: usize, reason: &str| -> Res<()> {
        check_handler()?;
        match errors {
            "strict" => return Err(fail(start, end, reason)),
            "ignore" => {}
            "replace" => out.push('\u{fffd}'),
            _ => {
                for b in bytes.get(start..end).unwrap_or(&[]) {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
        }
        Ok(())
    };
    match codec {
        Codec::Latin1 => Ok(bytes.iter().map(|b| *b as char).collect()),
        Codec::Ascii => {
            for (i, &b) in bytes.iter().enumerate() {
                if b < 0x80 {
                    out.push(b as char);
                } else {
                    on_error(&mut out, i, i + 1, "ordinal not in range(128)")?;
                }
            }
            Ok(out)
        }
        Codec::Utf8 => {
            let mut i = 0;
            while i < bytes.len() {
                let rest = bytes.get(i..).unwrap_or(&[]);
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        out.push_str(std::str::from_utf8(rest.get(..good).unwrap_or(&[])).unwrap_or(""));
                        let at = i + good;
                        let first = bytes.get(at).copied().unwrap_or(0);
                        match e.error_len() {
                            None => {
                                on_error(&mut out, at, bytes.len(), "unexpected end of data")?;
                                break;
                            }
                            Some(n) => {
                                let reason = if (0xc2..=0xf4).contains(&first) {
                                    "invalid continuation byte"
                                } else {
                                    "invalid start byte"
                                };
                                on_error(&mut out, at, at + n, reason)?;
                                i = at + n;
                            }
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}

fn decode(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, _, p) = start(vm, a, "decode", Sig::Kw(&["encoding", "errors"]))?;
    let enc = opt_str_arg(vm, arg(&p, 0), "decode", "encoding", "utf-8")?;
    let errors = opt_str_arg(vm, arg(&p, 1), "decode", "errors", "strict")?;
    let codec = lookup_codec(&enc)?;
    Ok(Value::string(decode_with(&b, codec, &errors)?))
}

// ---- bytearray mutators ----

fn this_ba(vm: &Vm, a: &Args, name: &str) -> Res<Rc<RefCell<Vec<u8>>>> {
    match a.pos.first() {
        Some(Value::ByteArray(b)) => Ok(b.clone()),
        Some(other) => Err(Exc::type_error(format!(
            "descriptor '{name}' for 'bytearray' objects doesn't apply to a '{}' object",
            vm.type_name(other)
        ))),
        None => Err(Exc::type_error(format!("unbound method bytearray.{name}() needs an argument"))),
    }
}

fn append(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "append")?;
    let p = parse_args(a, "bytearray", "append", Sig::One)?;
    let v = byte_value(vm, arg(&p, 0).unwrap_or(&Value::None))?;
    ba.borrow_mut().push(v);
    Ok(Value::None)
}

fn extend(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "extend")?;
    let p = parse_args(a, "bytearray", "extend", Sig::One)?;
    let src = arg(&p, 0).cloned().unwrap_or(Value::None);
    let new = match &src {
        Value::Bytes(_) | Value::ByteArray(_) => vm.bytes_like(&src)?,
        Value::Int(_) | Value::Bool(_) | Value::Float(_) | Value::None => {
            return Err(Exc::type_error(format!("can't extend bytearray with {}", vm.type_name(&src))))
        }
        _ => {
            let items = vm.collect(&src)?;
            let mut out = Vec::with_capacity(items.len());
            for v in &items {
                out.push(byte_value(vm, v)?);
            }
            out
        }
    };
    ba.borrow_mut().extend(new);
    Ok(Value::None)
}

fn pop(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "pop")?;
    let p = parse_args(a, "bytearray", "pop", Sig::Expected(0, 1))?;
    let i = int_arg(vm, arg(&p, 0), -1)?;
    let mut b = ba.borrow_mut();
    if b.is_empty() {
        return Err(Exc::index_error("pop from empty bytearray"));
    }
    match crate::vm::norm_index(i, b.len()) {
        Some(j) => Ok(Value::Int(b.remove(j) as i64)),
        None => Err(Exc::index_error("pop index out of range")),
    }
}

fn insert(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "insert")?;
    let p = parse_args(a, "bytearray", "insert", Sig::Expected(2, 2))?;
    let i = int_arg(vm, arg(&p, 0), 0)?;
    let v = byte_value(vm, arg(&p, 1).unwrap_or(&Value::None))?;
    let mut b = ba.borrow_mut();
    let len = b.len() as i64;
    let j = if i < 0 { (i + len).max(0) } else { i.min(len) };
    b.insert(j as usize, v);
    Ok(Value::None)
}

fn remove(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "remove")?;
    let p = parse_args(a, "bytearray", "remove", Sig::One)?;
    let v = byte_value(vm, arg(&p, 0).unwrap_or(&Value::None))?;
    let mut b = ba.borrow_mut();
    match b.iter().position(|c| *c == v) {
        Some(i) => {
            b.remove(i);
            Ok(Value::None)
        }
        None => Err(Exc::value_error("value not found in bytearray")),
    }
}

fn clear(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "clear")?;
    parse_args(a, "bytearray", "clear", Sig::NoArgs)?;
    ba.borrow_mut().clear();
    Ok(Value::None)
}

fn copy(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "copy")?;
    parse_args(a, "bytearray", "copy", Sig::NoArgs)?;
    let v = ba.borrow().clone();
    Ok(mk(true, v))
}

fn reverse(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let ba = this_ba(vm, a, "reverse")?;
    parse_args(a, "bytearray", "reverse", Sig::NoArgs)?;
    ba.borrow_mut().reverse();
    Ok(Value::None)
}

fn dunder_len(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (b, _, _) = start(vm, a, "__len__", Sig::NoArgs)?;
    Ok(Value::Int(b.len() as i64))
}

/// Registers the methods of `bytes` and `bytearray`.
pub fn install(vm: &mut Vm) {
    let shared: &[(&'static str, NativeFn)] = &[
        ("decode", decode),
        ("hex", hex),
        ("join", join),
        ("split", split),
        ("rsplit", rsplit),
        ("splitlines", splitlines),
        ("strip", strip),
        ("lstrip", lstrip),
        ("rstrip", rstrip),
        ("replace", replace),
        ("find", find),
        ("rfind", rfind),
        ("index", index),
        ("rindex", rindex),
        ("count", count),
        ("startswith", startswith),
        ("endswith", endswith),
        ("upper", upper),
        ("lower", lower),
        ("swapcase", swapcase),
        ("capitalize", capitalize),
        ("title", title),
        ("isdigit", isdigit),
        ("isalpha", isalpha),
        ("isalnum", isalnum),
        ("isspace", isspace),
        ("isascii", isascii),
        ("isupper", isupper),
        ("islower", islower),
        ("partition", partition),
        ("rpartition", rpartition),
        ("removeprefix", removeprefix),
        ("removesuffix", removesuffix),
        ("center", center),
        ("ljust", ljust),
        ("rjust", rjust),
        ("zfill", zfill),
        ("expandtabs", expandtabs),
        ("translate", translate),
        ("__len__", dunder_len),
        ("__mod__", super::bytes_format::dunder_mod),
        ("__rmod__", super::bytes_format::dunder_rmod),
    ];
    vm.add_methods(TypeId::Bytes, shared);
    vm.add_methods(TypeId::ByteArray, shared);
    vm.add_methods(
        TypeId::ByteArray,
        &[
            ("append", append),
            ("extend", extend),
            ("pop", pop),
            ("insert", insert),
            ("remove", remove),
            ("clear", clear),
            ("copy", copy),
            ("reverse", reverse),
        ],
    );
    for id in [TypeId::Bytes, TypeId::ByteArray] {
        let f = super::native("fromhex", fromhex);
        let m = super::native("maketrans", maketrans);
        let mut d = vm.type_class(id).dict.borrow_mut();
        d.insert(Sym::new("fromhex"), Value::Descriptor(Rc::new(Descriptor::ClassMethod(f))));
        d.insert(Sym::new("maketrans"), Value::Descriptor(Rc::new(Descriptor::StaticMethod(m))));
    }
}
