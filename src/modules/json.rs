//! `json`: `dumps`/`dump` with CPython's exact output and errors, and `loads`/`load` with
//! CPython's scanner semantics and `JSONDecodeError` messages. Decoding is iterative (an
//! explicit stack), so deeply nested input cannot overflow the Rust stack; nesting deeper
//! than the recursion limit raises `RecursionError` as CPython does.

use super::params::{bind, is_none, or_none, Sig};
use crate::text::float_repr::float_repr;
use crate::vm::value::{Class, Layout, Module, NativeFunction};
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Value, Vm};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

// ---------------------------------------------------------------- encoding

/// The encoder's settings and state for one `dumps` call.
struct Encoder {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    skipkeys: bool,
    ensure_ascii: bool,
    allow_nan: bool,
    check_circular: bool,
    default: Option<Value>,
    markers: Vec<i64>,
    depth: usize,
    out: String,
}

/// Appends `s` as a JSON string literal (CPython's `encode_basestring[_ascii]`).
fn escape_into(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) > 0x7e) => {
                let n = c as u32;
                if n > 0xffff {
                    let v = n - 0x10000;
                    let hi = 0xd800 | ((v >> 10) & 0x3ff);
                    let lo = 0xdc00 | (v & 0x3ff);
                    out.push_str(&format!("\\u{hi:04x}\\u{lo:04x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Encoder {
    fn floatstr(&self, f: f64) -> Res<String> {
        let text = if f.is_nan() {
            "NaN"
        } else if f == f64::INFINITY {
            "Infinity"
        } else if f == f64::NEG_INFINITY {
            "-Infinity"
        } else {
            return Ok(float_repr(f));
        };
        if !self.allow_nan {
            return Err(Exc::value_error("Out of range float values are not JSON compliant"));
        }
        Ok(text.to_string())
    }

    fn enter(&mut self, vm: &Vm, v: &Value, what: &str) -> Res<()> {
        if self.depth + vm.frames.len() + vm.depth.native() >= vm.depth.limit().min(200_000) {
            return Err(Exc::new(
                ExcKind::RecursionError,
                format!("maximum recursion depth exceeded while encoding a JSON {what}"),
            ));
        }
        self.depth += 1;
        if self.check_circular {
            let id = v.id();
            if self.markers.contains(&id) {
                return Err(Exc::value_error("Circular reference detected"));
            }
            self.markers.push(id);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
        if self.check_circular {
            self.markers.pop();
        }
    }

    fn newline(&mut self, level: usize) {
        if let Some(ind) = &self.indent {
            self.out.push('\n');
            for _ in 0..level {
                self.out.push_str(ind);
            }
        }
    }

    fn encode(&mut self, vm: &mut Vm, v: &Value, level: usize) -> Res<()> {
        match v {
            Value::Str(s) => escape_into(&mut self.out, s.as_str(), self.ensure_ascii),
            Value::None => self.out.push_str("null"),
            Value::Bool(true) => self.out.push_str("true"),
            Value::Bool(false) => self.out.push_str("false"),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::BigInt(b) => {
                let s = vm.bigint_to_str(b)?;
                self.out.push_str(&s);
            }
            Value::Float(f) => {
                let s = self.floatstr(*f)?;
                self.out.push_str(&s);
            }
            Value::List(l) => {
                let items = l.items.borrow().clone();
                self.array(vm, v, &items, level)?;
            }
            Value::Tuple(t) => {
                let items = t.to_vec();
                self.array(vm, v, &items, level)?;
            }
            Value::Dict(d) => {
                let pairs: Vec<(Value, Value)> =
                    d.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
                self.object(vm, v, pairs, level)?;
            }
            other => {
                self.enter(vm, other, "object")?;
                let replacement = match self.default.clone() {
                    Some(f) => vm.call(&f, vec![other.clone()])?,
                    None => {
                        let name = vm.type_name(other);
                        return Err(Exc::type_error(format!("Object of type {name} is not JSON serializable")));
                    }
                };
                self.encode(vm, &replacement, level)?;
                self.leave();
            }
        }
        Ok(())
    }

    fn array(&mut self, vm: &mut Vm, v: &Value, items: &[Value], level: usize) -> Res<()> {
        if items.is_empty() {
            self.out.push_str("[]");
            return Ok(());
        }
        // CPython's C encoder names arrays "a JSON object" too.
        self.enter(vm, v, "object")?;
        self.out.push('[');
        self.newline(level + 1);
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                let sep = self.item_sep.clone();
                self.out.push_str(&sep);
                self.newline(level + 1);
            }
            self.encode(vm, it, level + 1)?;
        }
        self.newline(level);
        self.out.push(']');
        self.leave();
        Ok(())
    }

    fn object(&mut self, vm: &mut Vm, v: &Value, mut pairs: Vec<(Value, Value)>, level: usize) -> Res<()> {
        if pairs.is_empty() {
            self.out.push_str("{}");
            return Ok(());
        }
        self.enter(vm, v, "object")?;
        if self.sort_keys {
            pairs = sort_pairs(vm, pairs)?;
        }
        self.out.push('{');
        self.newline(level + 1);
        let mut first = true;
        for (k, val) in pairs {
            let key = match &k {
                Value::Str(s) => s.as_str().to_string(),
                Value::Float(f) => self.floatstr(*f)?,
                Value::Bool(true) => "true".into(),
                Value::Bool(false) => "false".into(),
                Value::None => "null".into(),
                Value::Int(i) => i.to_string(),
                Value::BigInt(b) => vm.bigint_to_str(b)?,
                other => {
                    if self.skipkeys {
                        continue;
                    }
                    let name = vm.type_name(other);
                    return Err(Exc::type_error(format!("keys must be str, int, float, bool or None, not {name}")));
                }
            };
            if !first {
                let sep = self.item_sep.clone();
                self.out.push_str(&sep);
                self.newline(level + 1);
            }
            first = false;
            escape_into(&mut self.out, &key, self.ensure_ascii);
            let ks = self.key_sep.clone();
            self.out.push_str(&ks);
            self.encode(vm, &val, level + 1)?;
        }
        self.newline(level);
        self.out.push('}');
        self.leave();
        Ok(())
    }
}

/// Dict items sorted by key, stably (what `sorted(d.items())` does for distinct keys), with
/// the interpreter's own merge sort.
fn sort_pairs(vm: &mut Vm, pairs: Vec<(Value, Value)>) -> Res<Vec<(Value, Value)>> {
    let keys: Vec<Value> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let order: Vec<Value> = (0..pairs.len()).map(|i| Value::Int(i as i64)).collect();
    let sorted = crate::builtins::sort_values(vm, order, keys, false)?;
    let mut slots: Vec<Option<(Value, Value)>> = pairs.into_iter().map(Some).collect();
    Ok(sorted
        .into_iter()
        .filter_map(|i| match i {
            Value::Int(i) => slots.get_mut(i as usize).and_then(Option::take),
            _ => None,
        })
        .collect())
}

const DUMPS_KW: &[&str] =
    &["skipkeys", "ensure_ascii", "check_circular", "allow_nan", "cls", "indent", "separators", "default", "sort_keys"];

fn flag(vm: &mut Vm, v: &Option<Value>, default: bool) -> Res<bool> {
    match v {
        None => Ok(default),
        Some(v) => vm.truthy(v),
    }
}

/// Builds an encoder from the keyword slots (in `DUMPS_KW` order).
fn make_encoder(vm: &mut Vm, kw: &[Option<Value>]) -> Res<Encoder> {
    let indent = match &kw[5] {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) => Some(s.as_str().to_string()),
        Some(v @ (Value::Int(_) | Value::Bool(_))) => Some(" ".repeat(vm.index_value(v)?.max(0) as usize)),
        Some(other) => {
            return Err(Exc::type_error(format!(
                "can't multiply sequence by non-int of type '{}'",
                vm.type_name(other)
            )));
        }
    };
    let (item_sep, key_sep) = match &kw[6] {
        None | Some(Value::None) => (if indent.is_some() { "," } else { ", " }.to_string(), ": ".to_string()),
        Some(v) => {
            let parts = vm.unpack(v, 2)?;
            let mut strs = Vec::new();
            for p in parts {
                match p {
                    Value::Str(s) => strs.push(s.as_str().to_string()),
                    other => {
                        return Err(Exc::type_error(format!(
                            "make_encoder() argument 6 must be str, not {}",
                            vm.type_name(&other)
                        )));
                    }
                }
            }
            (strs[0].clone(), strs[1].clone())
        }
    };
    if !is_none(&kw[4]) {
        return Err(Exc::new(ExcKind::NotImplementedError, "aio's json.dumps does not support cls="));
    }
    Ok(Encoder {
        indent,
        item_sep,
        key_sep,
        sort_keys: flag(vm, &kw[8], false)?,
        skipkeys: flag(vm, &kw[0], false)?,
        ensure_ascii: flag(vm, &kw[1], true)?,
        allow_nan: flag(vm, &kw[3], true)?,
        check_circular: flag(vm, &kw[2], true)?,
        default: kw[7].clone().filter(|d| !d.is_none()),
        markers: Vec::new(),
        depth: 0,
        out: String::new(),
    })
}

fn encode_value(vm: &mut Vm, obj: &Value, kw: &[Option<Value>]) -> Res<String> {
    let mut enc = make_encoder(vm, kw)?;
    enc.encode(vm, obj, 0)?;
    Ok(enc.out)
}

fn dumps(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "dumps", params: &["obj"], required: 1, kwonly: DUMPS_KW })?;
    let s = encode_value(vm, &or_none(&b[0]), &b[1..])?;
    Ok(Value::string(s))
}

fn dump(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "dump", params: &["obj", "fp"], required: 2, kwonly: DUMPS_KW })?;
    let s = encode_value(vm, &or_none(&b[0]), &b[2..])?;
    let write = vm.get_attr(&or_none(&b[1]), Sym::new("write"))?;
    vm.call(&write, vec![Value::string(s)])?;
    Ok(Value::None)
}

// ---------------------------------------------------------------- decoding

/// A decoding failure: a `JSONDecodeError` message and position, or any other exception.
enum DErr {
    At(&'static str, usize),
    Exc(Exc),
}

impl From<Exc> for DErr {
    fn from(e: Exc) -> DErr {
        DErr::Exc(e)
    }
}

/// A container being filled while decoding.
enum Open {
    Arr(Vec<Value>),
    Obj(Vec<(Value, Value)>, Value),
}

/// The decoder's input and hooks. The input is scanned as UTF-8 bytes (every character the
/// grammar looks at is ASCII, so positions stay on character boundaries); positions are byte
/// offsets until an error turns one into CPython's character position.
struct Decoder<'a> {
    s: &'a str,
    b: &'a [u8],
    strict: bool,
    object_hook: Option<Value>,
    object_pairs_hook: Option<Value>,
    parse_float: Option<Value>,
    parse_int: Option<Value>,
    parse_constant: Option<Value>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl Decoder<'_> {
    fn skip_ws(&self, mut i: usize) -> usize {
        while i < self.b.len() && is_ws(self.b[i]) {
            i += 1;
        }
        i
    }

    #[inline]
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn matches(&self, i: usize, word: &str) -> bool {
        self.b.get(i..i + word.len()) == Some(word.as_bytes())
    }

    fn hex4(&self, i: usize) -> Option<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            v = v * 16 + (self.at(i + k)? as char).to_digit(16)?;
        }
        Some(v)
    }

    /// `scanstring`: `start` is just after the opening quote.
    fn scanstring(&self, start: usize) -> Result<(String, usize), DErr> {
        let len = self.b.len();
        let begin = start - 1;
        let mut out = String::new();
        let mut end = start;
        loop {
            let mut next = end;
            let mut found = None;
            while next < len {
                let c = self.b[next];
                if c == b'"' || c == b'\\' {
                    found = Some(c);
                    break;
                }
                if c <= 0x1f && self.strict {
                    return Err(DErr::At("Invalid control character at", next));
                }
                next += 1;
            }
            // A run of plain characters, cut at ASCII bytes: whole characters.
            out.push_str(&self.s[end..next]);
            let Some(c) = found else { return Err(DErr::At("Unterminated string starting at", begin)) };
            next += 1;
            if c == b'"' {
                return Ok((out, next));
            }
            if next == len {
                return Err(DErr::At("Unterminated string starting at", begin));
            }
            let c = self.b[next];
            if c != b'u' {
                end = next + 1;
                let r = match c {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => return Err(DErr::At("Invalid \\escape", end - 2)),
                };
                out.push(r);
            } else {
                next += 1;
                end = next + 4;
                if end >= len {
                    return Err(DErr::At("Invalid \\uXXXX escape", next - 1));
                }
                let mut cp = self.hex4(next).ok_or(DErr::At("Invalid \\uXXXX escape", end - 5))?;
                next = end;
                if (0xd800..0xdc00).contains(&cp) && end + 6 < len && self.b[next] == b'\\' && self.b[next + 1] == b'u'
                {
                    end += 6;
                    let c2 = self.hex4(next + 2).ok_or(DErr::At("Invalid \\uXXXX escape", end - 5))?;
                    if (0xdc00..0xe000).contains(&c2) {
                        cp = 0x10000 + (((cp - 0xd800) << 10) | (c2 - 0xdc00));
                    } else {
                        end -= 6;
                    }
                }
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
            }
        }
    }

    fn constant(&self, vm: &mut Vm, name: &str, v: f64) -> Res<Value> {
        match &self.parse_constant {
            Some(f) => vm.call(f, vec![Value::str(name)]),
            None => Ok(Value::Float(v)),
        }
    }

    fn number(&self, vm: &mut Vm, start: usize) -> Result<(Value, usize), DErr> {
        let mut i = start;
        if self.at(i) == Some(b'-') {
            i += 1;
        }
        match self.at(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.at(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return Err(DErr::At("Expecting value", start)),
        }
        let mut is_float = false;
        if self.at(i) == Some(b'.') && matches!(self.at(i + 1), Some(b'0'..=b'9')) {
            i += 2;
            while matches!(self.at(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            is_float = true;
        }
        if matches!(self.at(i), Some(b'e' | b'E')) {
            let save = i;
            i += 1;
            if matches!(self.at(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if matches!(self.at(i), Some(b'0'..=b'9')) {
                while matches!(self.at(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
                is_float = true;
            } else {
                i = save;
            }
        }
        let text: &str = &self.s[start..i];
        let v = if is_float {
            match &self.parse_float {
                Some(f) => vm.call(f, vec![Value::str(text)])?,
                None => Value::Float(crate::text::int_text::parse_float(text).unwrap_or(f64::NAN)),
            }
        } else {
            match &self.parse_int {
                Some(f) => vm.call(f, vec![Value::str(text)])?,
                None => match text.parse::<i64>() {
                    Ok(n) => Value::Int(n),
                    Err(_) => {
                        let digits = text.trim_start_matches('-').len();
                        if crate::text::int_text::parse_exceeds_limit(digits) {
                            return Err(DErr::Exc(Exc::value_error(crate::text::int_text::int_parse_limit_message(
                                digits,
                            ))));
                        }
                        match text.parse::<num_bigint::BigInt>() {
                            Ok(b) => Value::from_bigint(b),
                            Err(_) => return Err(DErr::At("Expecting value", start)),
                        }
                    }
                },
            }
        };
        Ok((v, i))
    }

    /// A value that is not a container.
    fn scalar(&self, vm: &mut Vm, i: usize) -> Result<(Value, usize), DErr> {
        match self.at(i) {
            Some(b'"') => {
                let (s, n) = self.scanstring(i + 1)?;
                Ok((Value::string(s), n))
            }
            Some(b'n') if self.matches(i, "null") => Ok((Value::None, i + 4)),
            Some(b't') if self.matches(i, "true") => Ok((Value::Bool(true), i + 4)),
            Some(b'f') if self.matches(i, "false") => Ok((Value::Bool(false), i + 5)),
            Some(b'N') if self.matches(i, "NaN") => Ok((self.constant(vm, "NaN", f64::NAN)?, i + 3)),
            Some(b'I') if self.matches(i, "Infinity") => Ok((self.constant(vm, "Infinity", f64::INFINITY)?, i + 8)),
            Some(b'-') if self.matches(i, "-Infinity") => {
                Ok((self.constant(vm, "-Infinity", f64::NEG_INFINITY)?, i + 9))
            }
            Some(b'-' | b'0'..=b'9') => self.number(vm, i),
            _ => Err(DErr::At("Expecting value", i)),
        }
    }

    /// A property name and the `:` after it; returns the key and where its value starts.
    fn key(&self, i: usize) -> Result<(Value, usize), DErr> {
        if self.at(i) != Some(b'"') {
            return Err(DErr::At("Expecting property name enclosed in double quotes", i));
        }
        let (k, n) = self.scanstring(i + 1)?;
        let n = self.skip_ws(n);
        if self.at(n) != Some(b':') {
            return Err(DErr::At("Expecting ':' delimiter", n));
        }
        Ok((Value::string(k), self.skip_ws(n + 1)))
    }

    fn finish_object(&self, vm: &mut Vm, pairs: Vec<(Value, Value)>) -> Res<Value> {
        if let Some(h) = &self.object_pairs_hook {
            let list = Value::list(pairs.into_iter().map(|(k, v)| Value::tuple(vec![k, v])).collect());
            return vm.call(h, vec![list]);
        }
        let mut flat = Vec::with_capacity(pairs.len() * 2);
        for (k, v) in pairs {
            flat.push(k);
            flat.push(v);
        }
        let d = vm.new_dict_from_pairs(flat)?;
        match &self.object_hook {
            Some(h) => vm.call(h, vec![d]),
            None => Ok(d),
        }
    }

    fn check_depth(&self, vm: &Vm, depth: usize, what: &str) -> Result<(), DErr> {
        if depth + vm.frames.len() + vm.depth.native() >= vm.depth.limit() {
            return Err(DErr::Exc(Exc::new(
                ExcKind::RecursionError,
                format!("maximum recursion depth exceeded while decoding a JSON {what} from a unicode string"),
            )));
        }
        Ok(())
    }

    /// `scan_once`: decodes one value starting at `idx`, returning it and the index after it.
    fn scan(&self, vm: &mut Vm, mut idx: usize) -> Result<(Value, usize), DErr> {
        let mut stack: Vec<Open> = Vec::new();
        'value: loop {
            let mut val = match self.at(idx) {
                Some(b'{') => {
                    self.check_depth(vm, stack.len(), "object")?;
                    idx = self.skip_ws(idx + 1);
                    if self.at(idx) == Some(b'}') {
                        idx += 1;
                        self.finish_object(vm, Vec::new())?
                    } else {
                        let (k, n) = self.key(idx)?;
                        stack.push(Open::Obj(Vec::new(), k));
                        idx = n;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.check_depth(vm, stack.len(), "array")?;
                    idx = self.skip_ws(idx + 1);
                    if self.at(idx) == Some(b']') {
                        idx += 1;
                        Value::list(Vec::new())
                    } else {
                        stack.push(Open::Arr(Vec::new()));
                        continue 'value;
                    }
                }
                _ => {
                    let (v, n) = self.scalar(vm, idx)?;
                    idx = n;
                    v
                }
            };
            loop {
                match stack.last_mut() {
                    None => return Ok((val, idx)),
                    Some(Open::Arr(items)) => {
                        items.push(val);
                        idx = self.skip_ws(idx);
                        match self.at(idx) {
                            Some(b']') => {
                                idx += 1;
                                let Some(Open::Arr(items)) = stack.pop() else {
                                    return Err(DErr::At("Expecting value", idx));
                                };
                                val = Value::list(items);
                            }
                            Some(b',') => {
                                idx = self.skip_ws(idx + 1);
                                continue 'value;
                            }
                            _ => return Err(DErr::At("Expecting ',' delimiter", idx)),
                        }
                    }
                    Some(Open::Obj(pairs, key)) => {
                        pairs.push((std::mem::take(key), val));
                        idx = self.skip_ws(idx);
                        match self.at(idx) {
                            Some(b'}') => {
                                idx += 1;
                                let Some(Open::Obj(pairs, _)) = stack.pop() else {
                                    return Err(DErr::At("Expecting value", idx));
                                };
                                val = self.finish_object(vm, pairs)?;
                            }
                            Some(b',') => {
                                let (k, n) = self.key(self.skip_ws(idx + 1))?;
                                *key = k;
                                idx = n;
                                continue 'value;
                            }
                            _ => return Err(DErr::At("Expecting ',' delimiter", idx)),
                        }
                    }
                }
            }
        }
    }
}

/// Makes a `JSONDecodeError(msg, doc, pos)` with CPython's message and attributes; `pos` is
/// a character position in `text` (the document as a string).
fn decode_error(vm: &mut Vm, class: &Rc<Class>, msg: &str, doc: &Value, text: &str, pos: usize) -> Exc {
    let mut chars = 0;
    let mut lineno = 1;
    let mut last_nl = None;
    for c in text.chars().take(pos) {
        if c == '\n' {
            lineno += 1;
            last_nl = Some(chars);
        }
        chars += 1;
    }
    let pos = chars;
    let colno = match last_nl {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    let text = format!("{msg}: line {lineno} column {colno} (char {pos})");
    let inst = vm.new_exception_object(class.clone(), vec![Value::string(text)]);
    inst.set_attr(Sym::new("msg"), Value::str(msg));
    inst.set_attr(Sym::new("doc"), doc.clone());
    inst.set_attr(Sym::new("pos"), Value::Int(pos as i64));
    inst.set_attr(Sym::new("lineno"), Value::Int(lineno as i64));
    inst.set_attr(Sym::new("colno"), Value::Int(colno as i64));
    Exc::Obj(inst)
}

/// The character position of byte offset `at` in `text` (an error position: always on a
/// character boundary, rounded down if it were not).
fn char_pos(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[..at].chars().count()
}

/// Decodes `bytes` input as CPython's `json.loads` does (UTF-8, optional BOM).
fn decode_bytes(vm: &mut Vm, b: &[u8]) -> Res<String> {
    let b = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
    match std::str::from_utf8(b) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let pos = e.valid_up_to();
            let byte = b.get(pos).copied().unwrap_or(0);
            let reason = match e.error_len() {
                None => "unexpected end of data",
                Some(_) if (0x80..0xc2).contains(&byte) || byte >= 0xf5 => "invalid start byte",
                Some(_) => "invalid continuation byte",
            };
            let msg = format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {pos}: {reason}");
            let _ = vm;
            Err(Exc::new(ExcKind::UnicodeDecodeError, msg))
        }
    }
}

const LOADS_KW: &[&str] =
    &["cls", "object_hook", "parse_float", "parse_int", "parse_constant", "object_pairs_hook", "strict"];

fn class_of_receiver(v: &Value) -> Res<Rc<Class>> {
    match v {
        Value::Class(c) => Ok(c.clone()),
        _ => Err(Exc::type_error("json: missing JSONDecodeError class")),
    }
}

fn loads_impl(vm: &mut Vm, class: &Rc<Class>, doc: &Value, kw: &[Option<Value>]) -> Res<Value> {
    let text: std::borrow::Cow<str> = match doc {
        Value::Str(s) => {
            if s.as_str().starts_with('\u{feff}') {
                let msg = "Unexpected UTF-8 BOM (decode using utf-8-sig)";
                return Err(decode_error(vm, class, msg, doc, s.as_str(), 0));
            }
            std::borrow::Cow::Borrowed(s.as_str())
        }
        Value::Bytes(b) => std::borrow::Cow::Owned(decode_bytes(vm, b)?),
        Value::ByteArray(b) => {
            let v = b.borrow().clone();
            std::borrow::Cow::Owned(decode_bytes(vm, &v)?)
        }
        other => {
            return Err(Exc::type_error(format!(
                "the JSON object must be str, bytes or bytearray, not {}",
                vm.type_name(other)
            )));
        }
    };
    if !is_none(&kw[0]) {
        return Err(Exc::new(ExcKind::NotImplementedError, "aio's json.loads does not support cls="));
    }
    let hook = |v: &Option<Value>| v.clone().filter(|h| !h.is_none());
    let dec = Decoder {
        s: &text,
        b: text.as_bytes(),
        strict: flag(vm, &kw[6], true)?,
        object_hook: hook(&kw[1]),
        parse_float: hook(&kw[2]),
        parse_int: hook(&kw[3]),
        parse_constant: hook(&kw[4]),
        object_pairs_hook: hook(&kw[5]),
    };
    let start = dec.skip_ws(0);
    let r = dec.scan(vm, start).and_then(|(v, end)| {
        let end = dec.skip_ws(end);
        if end != text.len() {
            Err(DErr::At("Extra data", end))
        } else {
            Ok(v)
        }
    });
    match r {
        Ok(v) => Ok(v),
        Err(DErr::Exc(e)) => Err(e),
        Err(DErr::At(msg, at)) => {
            let docv = match doc {
                Value::Str(_) => doc.clone(),
                _ => Value::str(&text),
            };
            let pos = char_pos(&text, at);
            Err(decode_error(vm, class, msg, &docv, &text, pos))
        }
    }
}

fn loads(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let receiver = if a.pos.is_empty() { Value::None } else { a.pos.remove(0) };
    let class = class_of_receiver(&receiver)?;
    let b = bind(a, &Sig { name: "loads", params: &["s"], required: 1, kwonly: LOADS_KW })?;
    loads_impl(vm, &class, &or_none(&b[0]), &b[1..])
}

fn load(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let receiver = if a.pos.is_empty() { Value::None } else { a.pos.remove(0) };
    let class = class_of_receiver(&receiver)?;
    let b = bind(a, &Sig { name: "load", params: &["fp"], required: 1, kwonly: LOADS_KW })?;
    let read = vm.get_attr(&or_none(&b[0]), Sym::new("read"))?;
    let doc = vm.call(&read, vec![])?;
    loads_impl(vm, &class, &doc, &b[1..])
}

/// `JSONDecodeError.__init__(self, msg, doc, pos)`.
fn jde_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(
        a,
        &Sig { name: "JSONDecodeError.__init__", params: &["self", "msg", "doc", "pos"], required: 4, kwonly: &[] },
    )?;
    let Some(Value::Instance(inst)) = &b[0] else { return Ok(Value::None) };
    let msg = vm.str_of(&or_none(&b[1]))?;
    let doc = or_none(&b[2]);
    let pos = vm.index_value(&or_none(&b[3]))?.max(0) as usize;
    let text = match &doc {
        Value::Str(s) => s.as_str().to_string(),
        _ => String::new(),
    };
    if let Exc::Obj(made) = decode_error(vm, &inst.class.clone(), &msg, &doc, &text, pos) {
        let attrs = made.attrs.borrow().clone();
        for (k, v) in attrs {
            inst.set_attr(k, v);
        }
        inst.set_attr(Sym::new("msg"), or_none(&b[1]));
    }
    Ok(Value::None)
}

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let base = vm.exc_class(ExcKind::ValueError).clone();
    let mut mro = vec![base.clone()];
    mro.extend(base.mro.iter().cloned());
    let mut dict = rustc_hash::FxHashMap::default();
    dict.insert(Sym::new("__module__"), Value::str("json.decoder"));
    dict.insert(
        Sym::new("__init__"),
        Value::Native(Rc::new(NativeFunction {
            fast: None,
            name: "__init__",
            func: jde_init,
            receiver: None,
            owner: Some("JSONDecodeError"),
        })),
    );
    let class = Rc::new(Class {
        name: Rc::from("JSONDecodeError"),
        qualname: RefCell::new(Rc::from("JSONDecodeError")),
        bases: vec![base],
        mro,
        dict: RefCell::new(dict),
        layout: Layout::Exception,
        builtin: None,
        version: Cell::new(0),
        cache: Default::default(),
        tp_name: Default::default(),
    });
    let m = super::native_module("json", &[("dumps", dumps), ("dump", dump)]);
    let cv = Value::Class(class);
    super::set(&m, "loads", crate::builtins::bound_native(cv.clone(), "loads", loads));
    super::set(&m, "load", crate::builtins::bound_native(cv.clone(), "load", load));
    super::set(&m, "JSONDecodeError", cv);
    Ok(m)
}
