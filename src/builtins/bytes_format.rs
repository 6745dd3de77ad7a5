//! printf-style formatting of `bytes` and `bytearray` (`b"%d" % 5`, PEP 461), ported from
//! CPython 3.11's `_PyBytes_FormatEx`: the format is walked once, fetching arguments as
//! each specifier needs them (mapping key, `*` width, `*` precision, then the value), so
//! errors come in CPython's order. The text of each conversion comes from
//! [`crate::text::percent`], shared with `str % args`; everything it produces is ASCII or
//! raw bytes carried as Latin-1 characters, so it maps back to bytes one to one.

use crate::text::percent::{
    format_percent_float, format_percent_int, format_percent_str, resolve_star_precision, resolve_star_width,
    PercentFlags,
};
use crate::vm::value::Value;
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Vm};
use num_bigint::BigInt;

/// Where the next argument comes from: CPython's `args`, `arglen` and `argidx` (a single
/// non-tuple argument has length -1 and starts at -2).
struct ArgCursor {
    args: Value,
    len: isize,
    idx: isize,
}

impl ArgCursor {
    fn new(args: &Value) -> ArgCursor {
        match args {
            Value::Tuple(t) => ArgCursor { args: args.clone(), len: t.len() as isize, idx: 0 },
            _ => ArgCursor { args: args.clone(), len: -1, idx: -2 },
        }
    }

    /// CPython's `getnextarg`.
    fn next(&mut self) -> Res<Value> {
        if self.idx < self.len {
            self.idx += 1;
            return Ok(match &self.args {
                Value::Tuple(t) if self.len >= 0 => t[(self.idx - 1) as usize].clone(),
                other => other.clone(),
            });
        }
        Err(Exc::type_error("not enough arguments for format string"))
    }
}

/// True when CPython treats the argument as a mapping for `%(key)` lookups: it has
/// `__getitem__` and is not a tuple, bytes, bytearray or str.
fn is_mapping(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::Dict(_) | Value::List(_) | Value::Range(_) => true,
        Value::Instance(i) => i.class.lookup(vm.syms.getitem).is_some(),
        _ => false,
    }
}

/// `fmt % args` for bytes: the formatted bytes.
pub fn bytes_percent(vm: &mut Vm, fmt: &[u8], args: &Value) -> Res<Vec<u8>> {
    let mapping = is_mapping(vm, args).then(|| args.clone());
    let mut cur = ArgCursor::new(args);
    let mut out = Vec::with_capacity(fmt.len() + 16);
    let n = fmt.len();
    let mut pos = 0;
    while pos < n {
        let c = fmt[pos];
        if c != b'%' {
            let end = fmt[pos..].iter().position(|&b| b == b'%').map_or(n, |i| pos + i);
            out.extend_from_slice(&fmt[pos..end]);
            pos = end;
            continue;
        }
        pos += 1;
        if pos < n && fmt[pos] == b'%' {
            out.push(b'%');
            pos += 1;
            continue;
        }
        let incomplete = || Exc::value_error("incomplete format");
        if pos < n && fmt[pos] == b'(' {
            let Some(m) = &mapping else { return Err(Exc::type_error("format requires a mapping")) };
            pos += 1;
            let start = pos;
            let mut depth = 1;
            while pos < n && depth > 0 {
                match fmt[pos] {
                    b')' => depth -= 1,
                    b'(' => depth += 1,
                    _ => {}
                }
                pos += 1;
            }
            if depth > 0 {
                return Err(Exc::value_error("incomplete format key"));
            }
            let key = bytes_value(fmt[start..pos - 1].to_vec());
            let v = vm.get_item(m, &key)?;
            cur = ArgCursor { args: v, len: -1, idx: -2 };
        }
        let mut flags = PercentFlags::default();
        while pos < n {
            match fmt[pos] {
                b'-' => flags.left = true,
                b'+' => flags.sign = true,
                b' ' => flags.blank = true,
                b'#' => flags.alt = true,
                b'0' => flags.zero = true,
                _ => break,
            }
            pos += 1;
        }
        let mut width = None;
        if pos < n && fmt[pos] == b'*' {
            let w = star_arg(&mut cur)?;
            width = Some(resolve_star_width(w, &mut flags));
            pos += 1;
        } else {
            let mut w: Option<usize> = None;
            while pos < n && fmt[pos].is_ascii_digit() {
                let d = (fmt[pos] - b'0') as usize;
                let next = w.unwrap_or(0).checked_mul(10).and_then(|w| w.checked_add(d));
                w = Some(next.filter(|&w| w <= isize::MAX as usize).ok_or_else(|| Exc::value_error("width too big"))?);
                pos += 1;
            }
            width = width.or(w);
        }
        let mut precision = None;
        if pos < n && fmt[pos] == b'.' {
            pos += 1;
            if pos < n && fmt[pos] == b'*' {
                precision = Some(resolve_star_precision(star_arg(&mut cur)?));
                pos += 1;
            } else {
                let mut p = 0usize;
                while pos < n && fmt[pos].is_ascii_digit() {
                    let d = (fmt[pos] - b'0') as usize;
                    p = p
                        .checked_mul(10)
                        .and_then(|p| p.checked_add(d))
                        .filter(|&p| p <= i32::MAX as usize)
                        .ok_or_else(|| Exc::value_error("prec too big"))?;
                    pos += 1;
                }
                precision = Some(p);
            }
        }
        if pos < n && matches!(fmt[pos], b'h' | b'l' | b'L') {
            pos += 1;
        }
        if pos >= n {
            return Err(incomplete());
        }
        let conv = fmt[pos];
        pos += 1;
        let v = cur.next()?;
        let piece = match conv {
            b'r' | b'a' => {
                let r = vm.repr(&v)?;
                format_percent_str(&crate::vm::ascii_escape(&r), &flags, width, precision)
            }
            b's' | b'b' => {
                let data = bytes_of(vm, &v)?;
                let cut = precision.map_or(data.len(), |p| p.min(data.len()));
                format_percent_str(&latin1(&data[..cut]), &flags, width, None)
            }
            b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
                let shown = if conv == b'i' { b'd' } else { conv };
                let i = int_arg(vm, &v, shown as char)?;
                format_percent_int(&i, &flags, width, precision, shown as char).map_err(text_error)?
            }
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' => {
                let f = float_arg(vm, &v)?;
                format_percent_float(f, &flags, width, precision, conv as char)
            }
            b'c' => {
                let byte = byte_arg(vm, &v)?;
                format_percent_str(&latin1(&[byte]), &flags, width, None)
            }
            other if other >= 0x80 => {
                // CPython formats the (signed) byte with `%c`, which fails for these.
                return Err(Exc::new(ExcKind::OverflowError, "character argument not in range(0x110000)"));
            }
            other => {
                return Err(Exc::value_error(format!(
                    "unsupported format character '{}' (0x{:x}) at index {}",
                    other as char,
                    other,
                    pos - 1
                )))
            }
        };
        out.extend(piece.chars().map(|ch| ch as u32 as u8));
    }
    if cur.idx < cur.len && mapping.is_none() {
        return Err(Exc::type_error("not all arguments converted during bytes formatting"));
    }
    Ok(out)
}

/// Bytes as Latin-1 text (one character per byte), for the shared padding code.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&x| x as char).collect()
}

fn text_error(e: crate::text::TextError) -> Exc {
    use crate::text::ErrorKind as K;
    let kind = match e.kind {
        K::IndexError => ExcKind::IndexError,
        K::MemoryError => ExcKind::MemoryError,
        K::OverflowError => ExcKind::OverflowError,
        K::TypeError => ExcKind::TypeError,
        K::ZeroDivisionError => ExcKind::ZeroDivisionError,
        K::ValueError => ExcKind::ValueError,
    };
    Exc::new(kind, e.message)
}

fn bytes_value(b: Vec<u8>) -> Value {
    Value::Bytes(std::rc::Rc::from(b))
}

fn bytearray_value(b: Vec<u8>) -> Value {
    Value::ByteArray(std::rc::Rc::new(std::cell::RefCell::new(b)))
}

/// A `*` width or precision: an int, else `TypeError: * wants int`.
fn star_arg(cur: &mut ArgCursor) -> Res<i64> {
    match cur.next()? {
        Value::Int(i) => Ok(i),
        Value::Bool(b) => Ok(b as i64),
        Value::BigInt(_) => Err(Exc::new(ExcKind::OverflowError, "Python int too large to convert to C ssize_t")),
        _ => Err(Exc::type_error("* wants int")),
    }
}

/// `%s`/`%b`: bytes, a bytearray's contents, or what `__bytes__` returns.
fn bytes_of(vm: &mut Vm, v: &Value) -> Res<Vec<u8>> {
    match v {
        Value::Bytes(b) => return Ok(b.to_vec()),
        Value::ByteArray(b) => return Ok(b.borrow().clone()),
        Value::Instance(i) => {
            if let Some(f) = i.class.lookup(Sym::new("__bytes__")) {
                let r = vm.call(&f, vec![v.clone()])?;
                return match r {
                    Value::Bytes(b) => Ok(b.to_vec()),
                    other => {
                        Err(Exc::type_error(format!("__bytes__ returned non-bytes (type {})", vm.type_name(&other))))
                    }
                };
            }
        }
        _ => {}
    }
    Err(Exc::type_error(format!(
        "%b requires a bytes-like object, or an object that implements __bytes__, not '{}'",
        vm.type_name(v)
    )))
}

/// The int of `%d %i %u %o %x %X` (CPython's `formatlong`): ints as they are; for `o x X`
/// other numbers through `__index__`, for the others through `int()`.
fn int_arg(vm: &mut Vm, v: &Value, conv: char) -> Res<BigInt> {
    let wrong = |vm: &Vm, v: &Value| {
        Exc::type_error(format!(
            "%{conv} format: {} is required, not {}",
            if matches!(conv, 'o' | 'x' | 'X') { "an integer" } else { "a real number" },
            vm.type_name(v)
        ))
    };
    match v {
        Value::Int(i) => Ok(BigInt::from(*i)),
        Value::Bool(b) => Ok(BigInt::from(*b as i64)),
        Value::BigInt(b) => Ok((**b).clone()),
        Value::Float(f) if !matches!(conv, 'o' | 'x' | 'X') => Value::int_of_float(*f),
        Value::Instance(i) => {
            let names: &[Sym] =
                if matches!(conv, 'o' | 'x' | 'X') { &[vm.syms.index] } else { &[vm.syms.int, vm.syms.index] };
            let method = names.iter().find_map(|n| i.class.lookup(*n));
            match method {
                Some(f) => {
                    let r = vm.call(&f, vec![v.clone()])?;
                    match r {
                        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => int_arg(vm, &r, conv),
                        other => {
                            Err(Exc::type_error(format!("__int__ returned non-int (type {})", vm.type_name(&other))))
                        }
                    }
                }
                None => Err(wrong(vm, v)),
            }
        }
        _ => Err(wrong(vm, v)),
    }
}

/// The float of `%e %f %g` (CPython's `PyFloat_AsDouble`); any failure is
/// `TypeError: float argument required, not T`.
fn float_arg(vm: &mut Vm, v: &Value) -> Res<f64> {
    let r = match v {
        Value::Instance(i) if i.class.lookup(vm.syms.float).is_none() => match i.class.lookup(vm.syms.index) {
            Some(f) => vm.call(&f, vec![v.clone()]).and_then(|r| vm.to_float(&r)),
            None => Err(Exc::type_error("")),
        },
        _ => vm.to_float(v),
    };
    r.map_err(|_| Exc::type_error(format!("float argument required, not {}", vm.type_name(v))))
}

/// The byte of `%c`: a one-byte bytes or bytearray, or an int in `range(256)`.
fn byte_arg(vm: &mut Vm, v: &Value) -> Res<u8> {
    let range = || Exc::new(ExcKind::OverflowError, "%c arg not in range(256)");
    match v {
        Value::Bytes(b) if b.len() == 1 => return Ok(b[0]),
        Value::ByteArray(b) if b.borrow().len() == 1 => return Ok(b.borrow()[0]),
        Value::BigInt(_) => return Err(range()),
        _ => {}
    }
    match vm.index_value(v) {
        Ok(i) => u8::try_from(i).map_err(|_| range()),
        Err(Exc::Msg(ExcKind::TypeError, _)) => {
            Err(Exc::type_error("%c requires an integer in range(256) or a single byte"))
        }
        Err(e) => Err(e),
    }
}

/// `fmt % arg` for a `bytes` or `bytearray` `fmt` (the result has `fmt`'s type);
/// `NotImplemented` for anything else. The `%` operator's entry point.
pub fn bytes_mod(vm: &mut Vm, fmt: &Value, arg: &Value) -> Res<Value> {
    match fmt {
        Value::Bytes(b) => {
            let b = b.clone();
            Ok(bytes_value(bytes_percent(vm, &b, arg)?))
        }
        Value::ByteArray(b) => {
            let f = b.borrow().clone();
            Ok(bytearray_value(bytes_percent(vm, &f, arg)?))
        }
        _ => Ok(Value::NotImplemented),
    }
}

/// `bytes.__mod__` / `bytearray.__mod__`.
pub fn dunder_mod(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    let arg = a.pos.get(1).cloned().unwrap_or(Value::None);
    bytes_mod(vm, &this, &arg)
}

/// `bytes.__rmod__(self, other)`: `other % self` when `other` is of the receiver's type.
pub fn dunder_rmod(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let this = a.pos.first().cloned().unwrap_or(Value::None);
    let other = a.pos.get(1).cloned().unwrap_or(Value::None);
    match (&this, &other) {
        (Value::Bytes(_), Value::Bytes(_)) | (Value::ByteArray(_), Value::ByteArray(_)) => bytes_mod(vm, &other, &this),
        _ => Ok(Value::NotImplemented),
    }
}
