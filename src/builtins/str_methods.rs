//! Methods of `str`, `str.format` / `format_map`, and the argument helpers shared with
//! `bytes_methods`.
//!
//! Positions seen by scripts are code points; Rust strings are UTF-8, so every method that
//! takes or returns an index converts between the two (with an ASCII fast path where byte and
//! code-point positions coincide). Character classes come from tables generated with CPython
//! (`str_methods/unicode.rs`) so predicates agree with the oracle.

mod unicode;

use crate::text::int_text::py_isspace;
use crate::vm::value::{Descriptor, Str, Value};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, TypeId, Vm};
use num_traits::Signed;
use std::rc::Rc;

// ---------------------------------------------------------------------------------------------
// Argument parsing shared by the str, bytes and bytearray methods.
// ---------------------------------------------------------------------------------------------

/// How a native method takes its arguments, which decides CPython's wording of arity errors.
#[derive(Clone, Copy)]
pub(crate) enum Sig {
    /// No arguments: `str.upper() takes no arguments (1 given)`.
    NoArgs,
    /// Exactly one positional argument: `str.zfill() takes exactly one argument (0 given)`.
    One,
    /// Positional only, `find() takes at least 1 argument (0 given)` style.
    Range(usize, usize),
    /// Positional only, `replace expected at least 2 arguments, got 1` style.
    Expected(usize, usize),
    /// Positional or keyword parameters with these names (all optional).
    Kw(&'static [&'static str]),
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Checks the arguments of method `owner.name` (excluding the receiver) against `sig` and
/// returns one slot per parameter (`None` when not given).
pub(crate) fn parse_args(a: &mut Args, owner: &str, name: &str, sig: Sig) -> Res<Vec<Option<Value>>> {
    let n = a.pos.len().saturating_sub(1);
    let given: Vec<Value> = a.pos.iter().skip(1).cloned().collect();
    let no_kw = |a: &Args| -> Res<()> {
        if a.kw.is_empty() {
            Ok(())
        } else {
            Err(Exc::type_error(format!("{owner}.{name}() takes no keyword arguments")))
        }
    };
    let (min, max) = match sig {
        Sig::NoArgs => {
            no_kw(a)?;
            if n != 0 {
                return Err(Exc::type_error(format!("{owner}.{name}() takes no arguments ({n} given)")));
            }
            (0, 0)
        }
        Sig::One => {
            no_kw(a)?;
            if n != 1 {
                return Err(Exc::type_error(format!("{owner}.{name}() takes exactly one argument ({n} given)")));
            }
            (1, 1)
        }
        Sig::Range(min, max) => {
            no_kw(a)?;
            if n < min {
                return Err(Exc::type_error(format!(
                    "{name}() takes at least {min} argument{} ({n} given)",
                    plural(min)
                )));
            }
            if n > max {
                return Err(Exc::type_error(format!(
                    "{name}() takes at most {max} argument{} ({n} given)",
                    plural(max)
                )));
            }
            (min, max)
        }
        Sig::Expected(min, max) => {
            no_kw(a)?;
            if min == max && n != min {
                return Err(Exc::type_error(format!("{name} expected {min} argument{}, got {n}", plural(min))));
            }
            if n < min {
                return Err(Exc::type_error(format!(
                    "{name} expected at least {min} argument{}, got {n}",
                    plural(min)
                )));
            }
            if n > max {
                return Err(Exc::type_error(format!("{name} expected at most {max} argument{}, got {n}", plural(max))));
            }
            (min, max)
        }
        Sig::Kw(names) => {
            let max = names.len();
            if n > max {
                return Err(Exc::type_error(format!(
                    "{name}() takes at most {max} argument{} ({n} given)",
                    plural(max)
                )));
            }
            let mut out: Vec<Option<Value>> = given.into_iter().map(Some).collect();
            out.resize(max, None);
            for (k, v) in std::mem::take(&mut a.kw) {
                let key = k.to_string_owned();
                match names.iter().position(|p| *p == key) {
                    Some(i) if i < n => {
                        return Err(Exc::type_error(format!(
                            "argument for {name}() given by name ('{key}') and position ({})",
                            i + 1
                        )))
                    }
                    Some(i) => {
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(v);
                        }
                    }
                    None => {
                        return Err(Exc::type_error(format!("'{key}' is an invalid keyword argument for {name}()")))
                    }
                }
            }
            return Ok(out);
        }
    };
    let _ = min;
    let mut out: Vec<Option<Value>> = given.into_iter().map(Some).collect();
    out.resize(max, None);
    Ok(out)
}

/// The receiver of a method of type `owner`, or CPython's descriptor error.
fn receiver(vm: &Vm, a: &Args, owner: &str, name: &str) -> Res<Value> {
    match a.pos.first() {
        Some(v) => {
            let ok = match owner {
                "str" => matches!(v, Value::Str(_)),
                "bytes" => matches!(v, Value::Bytes(_)),
                _ => matches!(v, Value::ByteArray(_)),
            };
            if ok {
                Ok(v.clone())
            } else {
                Err(Exc::type_error(format!(
                    "descriptor '{name}' for '{owner}' objects doesn't apply to a '{}' object",
                    vm.type_name(v)
                )))
            }
        }
        None => Err(Exc::type_error(format!("unbound method {owner}.{name}() needs an argument"))),
    }
}

/// The `str` receiver of method `name`.
fn recv(vm: &Vm, a: &Args, name: &str) -> Res<Rc<Str>> {
    match receiver(vm, a, "str", name)? {
        Value::Str(s) => Ok(s),
        _ => Err(Exc::type_error("str expected")),
    }
}

/// A `start`/`end` argument of a search method: `None` when absent or `None`.
pub(crate) fn slice_arg(vm: &mut Vm, v: Option<&Value>) -> Res<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(Value::Bool(b)) => Ok(Some(*b as i64)),
        Some(Value::BigInt(b)) => Ok(Some(if b.is_negative() { i64::MIN } else { i64::MAX })),
        Some(v @ Value::Instance(i)) if i.class.lookup(vm.syms.index).is_some() => Ok(Some(vm.index_value(v)?)),
        Some(_) => Err(Exc::type_error("slice indices must be integers or None or have an __index__ method")),
    }
}

/// CPython's `ADJUST_INDICES`: clamps `start`/`end` into `0..=len` (end may end below start).
pub(crate) fn adjust_indices(start: Option<i64>, end: Option<i64>, len: usize) -> (usize, usize) {
    let len = len as i64;
    let mut s = start.unwrap_or(0);
    let mut e = end.unwrap_or(len);
    if e > len {
        e = len;
    } else if e < 0 {
        e = (e + len).max(0);
    }
    if s < 0 {
        s = (s + len).max(0);
    }
    (s.max(0) as usize, e.max(0) as usize)
}

/// An integer argument (`__index__` protocol), defaulting when absent.
pub(crate) fn int_arg(vm: &mut Vm, v: Option<&Value>, default: i64) -> Res<i64> {
    match v {
        None => Ok(default),
        Some(v) => vm.index_value(v),
    }
}

/// The largest string or bytes result a method builds (beyond it: `MemoryError`, not an abort).
const MAX_LEN: usize = 1 << 32;

/// Fails with `MemoryError` when a result of `n` elements would be unreasonably large.
pub(crate) fn check_len(n: usize) -> Res<()> {
    if n > MAX_LEN {
        Err(Exc::new(ExcKind::MemoryError, ""))
    } else {
        Ok(())
    }
}

/// Whether an exception is (a subclass of) `kind`.
pub(crate) fn exc_is(vm: &Vm, e: &Exc, kind: ExcKind) -> bool {
    let target = vm.exc_class(kind);
    match e {
        Exc::Msg(k, _) => vm.exc_class(*k).is_subclass(target),
        Exc::Obj(i) => i.class.is_subclass(target),
    }
}

// ---------------------------------------------------------------------------------------------
// Code-point helpers.
// ---------------------------------------------------------------------------------------------

/// The byte offset of code point `ci` in `s` (the length when `ci` is past the end).
fn byte_at(s: &Str, ci: usize) -> usize {
    if s.is_ascii() {
        return ci.min(s.s.len());
    }
    s.as_str().char_indices().nth(ci).map(|(b, _)| b).unwrap_or(s.s.len())
}

/// The number of code points in `s`.
fn cp_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn in_ranges(table: &[u32], c: char) -> bool {
    let n = c as u32;
    // `table` holds inclusive (start, end) pairs; find the last start <= n.
    let pairs = table.len() / 2;
    let (mut lo, mut hi) = (0usize, pairs);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if table.get(2 * mid).copied().unwrap_or(u32::MAX) <= n {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo > 0 && table.get(2 * (lo - 1) + 1).is_some_and(|&end| n <= end)
}

fn map_lookup(table: &'static [(u32, &'static str)], c: char) -> Option<&'static str> {
    let n = c as u32;
    table.binary_search_by_key(&n, |(k, _)| *k).ok().and_then(|i| table.get(i)).map(|(_, s)| *s)
}

/// `c.isalpha()`.
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    in_ranges(unicode::ALPHA, c)
}

/// `c.isdecimal()`.
pub fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_ranges(unicode::DECIMAL, c)
}

/// `c.isdigit()`.
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_ranges(unicode::DIGIT, c)
}

/// `c.isnumeric()`.
pub fn is_numeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_ranges(unicode::NUMERIC, c)
}

/// `c.isprintable()` (also the rule `repr` uses to escape characters).
pub fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    in_ranges(unicode::PRINTABLE, c)
}

fn is_titlecase(c: char) -> bool {
    !c.is_ascii() && in_ranges(unicode::TITLECASE, c)
}

fn is_cased(c: char) -> bool {
    c.is_uppercase() || c.is_lowercase() || is_titlecase(c)
}

/// Approximates Unicode's Case_Ignorable property for the final-sigma rule.
fn is_case_ignorable(c: char) -> bool {
    matches!(
        c,
        '\'' | '.'
            | ':'
            | '^'
            | '`'
            | '\u{a8}'
            | '\u{ad}'
            | '\u{af}'
            | '\u{b4}'
            | '\u{b7}'
            | '\u{b8}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{2024}'
            | '\u{2027}'
    ) || ('\u{300}'..='\u{36f}').contains(&c)
        || ('\u{2b0}'..='\u{2ff}').contains(&c)
}

/// Lowercase of `chars[i]`, applying the Greek final-sigma rule as CPython does.
fn lower_at(chars: &[char], i: usize, out: &mut String) {
    let Some(&c) = chars.get(i) else { return };
    if c == '\u{3a3}' {
        let before = chars[..i].iter().rev().find(|c| !is_case_ignorable(**c)).is_some_and(|c| is_cased(*c));
        let after =
            chars.get(i + 1..).unwrap_or(&[]).iter().find(|c| !is_case_ignorable(**c)).is_some_and(|c| is_cased(*c));
        out.push(if before && !after { '\u{3c2}' } else { '\u{3c3}' });
        return;
    }
    out.extend(c.to_lowercase());
}

fn push_title(c: char, out: &mut String) {
    match map_lookup(unicode::TITLE_MAP, c) {
        Some(s) => out.push_str(s),
        None => out.extend(c.to_uppercase()),
    }
}

// ---------------------------------------------------------------------------------------------
// Case conversion and predicates.
// ---------------------------------------------------------------------------------------------

fn noargs(vm: &Vm, a: &mut Args, name: &str) -> Res<Rc<Str>> {
    let s = recv(vm, a, name)?;
    parse_args(a, "str", name, Sig::NoArgs)?;
    Ok(s)
}

fn upper(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "upper")?;
    Ok(Value::string(if s.is_ascii() { s.as_str().to_ascii_uppercase() } else { s.as_str().to_uppercase() }))
}

fn lower(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "lower")?;
    if s.is_ascii() {
        return Ok(Value::string(s.as_str().to_ascii_lowercase()));
    }
    let chars: Vec<char> = s.as_str().chars().collect();
    let mut out = String::with_capacity(s.s.len());
    for i in 0..chars.len() {
        lower_at(&chars, i, &mut out);
    }
    Ok(Value::string(out))
}

fn casefold(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "casefold")?;
    let mut out = String::with_capacity(s.s.len());
    for c in s.as_str().chars() {
        match map_lookup(unicode::FOLD_MAP, c) {
            Some(m) => out.push_str(m),
            None => out.extend(c.to_lowercase()),
        }
    }
    Ok(Value::string(out))
}

fn swapcase(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "swapcase")?;
    let chars: Vec<char> = s.as_str().chars().collect();
    let mut out = String::with_capacity(s.s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            lower_at(&chars, i, &mut out);
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    Ok(Value::string(out))
}

fn capitalize(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "capitalize")?;
    let chars: Vec<char> = s.as_str().chars().collect();
    let mut out = String::with_capacity(s.s.len());
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            push_title(c, &mut out);
        } else {
            lower_at(&chars, i, &mut out);
        }
    }
    Ok(Value::string(out))
}

fn title(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "title")?;
    let chars: Vec<char> = s.as_str().chars().collect();
    let mut out = String::with_capacity(s.s.len());
    let mut prev_cased = false;
    for (i, &c) in chars.iter().enumerate() {
        if prev_cased {
            lower_at(&chars, i, &mut out);
        } else {
            push_title(c, &mut out);
        }
        prev_cased = is_cased(c);
    }
    Ok(Value::string(out))
}

fn pred(vm: &mut Vm, a: &mut Args, name: &str, f: fn(char) -> bool) -> Res<Value> {
    let s = noargs(vm, a, name)?;
    Ok(Value::Bool(!s.s.is_empty() && s.as_str().chars().all(f)))
}

fn isdigit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isdigit", is_digit)
}
fn isdecimal(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isdecimal", is_decimal)
}
fn isnumeric(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isnumeric", is_numeric)
}
fn isalpha(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isalpha", is_alpha)
}
fn isalnum(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isalnum", |c| is_alpha(c) || is_numeric(c))
}
fn isspace(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    pred(vm, a, "isspace", py_isspace)
}

fn isascii(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "isascii")?;
    Ok(Value::Bool(s.s.is_ascii()))
}

fn isprintable(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "isprintable")?;
    Ok(Value::Bool(s.as_str().chars().all(is_printable)))
}

fn isupper(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "isupper")?;
    let mut cased = false;
    for c in s.as_str().chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return Ok(Value::Bool(false));
        }
        cased |= c.is_uppercase();
    }
    Ok(Value::Bool(cased))
}

fn islower(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "islower")?;
    let mut cased = false;
    for c in s.as_str().chars() {
        if c.is_uppercase() || is_titlecase(c) {
            return Ok(Value::Bool(false));
        }
        cased |= c.is_lowercase();
    }
    Ok(Value::Bool(cased))
}

fn istitle(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "istitle")?;
    let (mut cased, mut prev_cased) = (false, false);
    for c in s.as_str().chars() {
        if c.is_uppercase() || is_titlecase(c) {
            if prev_cased {
                return Ok(Value::Bool(false));
            }
            prev_cased = true;
            cased = true;
        } else if c.is_lowercase() {
            if !prev_cased {
                return Ok(Value::Bool(false));
            }
            prev_cased = true;
            cased = true;
        } else {
            prev_cased = false;
        }
    }
    Ok(Value::Bool(cased))
}

/// `s.isidentifier()`.
pub fn is_identifier(s: &str) -> bool {
    let mut it = s.chars();
    match it.next() {
        None => false,
        Some(c) => {
            (c == '_' || c.is_ascii_alphabetic() || (!c.is_ascii() && in_ranges(unicode::ID_START, c)))
                && it.all(|c| {
                    c == '_' || c.is_ascii_alphanumeric() || (!c.is_ascii() && in_ranges(unicode::ID_CONTINUE, c))
                })
        }
    }
}

fn isidentifier(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "isidentifier")?;
    Ok(Value::Bool(is_identifier(s.as_str())))
}

// ---------------------------------------------------------------------------------------------
// Searching.
// ---------------------------------------------------------------------------------------------

/// A `str` argument or `TypeError: must be str, not X`.
fn str_arg(vm: &Vm, v: &Value) -> Res<Rc<Str>> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(Exc::type_error(format!("must be str, not {}", vm.type_name(other)))),
    }
}

/// The search window `start..end` (code points) as a byte range, or `None` when empty-invalid.
fn window(s: &Str, start: usize, end: usize) -> Option<(usize, usize)> {
    if start > s.chars || end < start {
        return None;
    }
    Some((byte_at(s, start), byte_at(s, end)))
}

/// Parses `(sub[, start[, end]])` of find/index/count and returns the needle and window.
fn search_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<(Rc<Str>, Rc<Str>, usize, usize)> {
    let s = recv(vm, a, name)?;
    let p = parse_args(a, "str", name, Sig::Range(1, 3))?;
    let sub = match p.first() {
        Some(Some(v)) => str_arg(vm, v)?,
        _ => return Err(Exc::type_error("must be str, not NoneType")),
    };
    let st = slice_arg(vm, p.get(1).and_then(|x| x.as_ref()))?;
    let en = slice_arg(vm, p.get(2).and_then(|x| x.as_ref()))?;
    let (start, end) = adjust_indices(st, en, s.chars);
    Ok((s, sub, start, end))
}

/// Code-point position of the first (or last) occurrence, or -1.
fn find_impl(s: &Str, sub: &str, start: usize, end: usize, rev: bool) -> i64 {
    let Some((bs, be)) = window(s, start, end) else { return -1 };
    let hay = s.as_str().get(bs..be).unwrap_or("");
    let found = if rev { hay.rfind(sub) } else { hay.find(sub) };
    match found {
        Some(b) => (start + cp_len(hay.get(..b).unwrap_or(""))) as i64,
        None => -1,
    }
}

fn find(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sub, st, en) = search_args(vm, a, "find")?;
    Ok(Value::Int(find_impl(&s, sub.as_str(), st, en, false)))
}

fn rfind(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sub, st, en) = search_args(vm, a, "rfind")?;
    Ok(Value::Int(find_impl(&s, sub.as_str(), st, en, true)))
}

fn index(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sub, st, en) = search_args(vm, a, "index")?;
    match find_impl(&s, sub.as_str(), st, en, false) {
        -1 => Err(Exc::value_error("substring not found")),
        i => Ok(Value::Int(i)),
    }
}

fn rindex(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sub, st, en) = search_args(vm, a, "rindex")?;
    match find_impl(&s, sub.as_str(), st, en, true) {
        -1 => Err(Exc::value_error("substring not found")),
        i => Ok(Value::Int(i)),
    }
}

fn count(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sub, st, en) = search_args(vm, a, "count")?;
    let Some((bs, be)) = window(&s, st, en) else { return Ok(Value::Int(0)) };
    if sub.s.is_empty() {
        return Ok(Value::Int((en - st) as i64 + 1));
    }
    let hay = s.as_str().get(bs..be).unwrap_or("");
    Ok(Value::Int(hay.matches(sub.as_str()).count() as i64))
}

fn starts_ends(vm: &mut Vm, a: &mut Args, name: &str, ends: bool) -> Res<Value> {
    let s = recv(vm, a, name)?;
    let p = parse_args(a, "str", name, Sig::Range(1, 3))?;
    let st = slice_arg(vm, p.get(1).and_then(|x| x.as_ref()))?;
    let en = slice_arg(vm, p.get(2).and_then(|x| x.as_ref()))?;
    let (start, end) = adjust_indices(st, en, s.chars);
    let test = |sub: &Str| -> bool {
        if start > s.chars || end < start || end - start < sub.chars {
            return false;
        }
        let Some((bs, be)) = window(&s, start, end) else { return false };
        let hay = s.as_str().get(bs..be).unwrap_or("");
        if ends {
            hay.ends_with(sub.as_str())
        } else {
            hay.starts_with(sub.as_str())
        }
    };
    match p.first() {
        Some(Some(Value::Str(sub))) => Ok(Value::Bool(test(sub))),
        Some(Some(Value::Tuple(t))) => {
            for item in t.iter() {
                match item {
                    Value::Str(sub) => {
                        if test(sub) {
                            return Ok(Value::Bool(true));
                        }
                    }
                    other => {
                        return Err(Exc::type_error(format!(
                            "tuple for {name} must only contain str, not {}",
                            vm.type_name(other)
                        )))
                    }
                }
            }
            Ok(Value::Bool(false))
        }
        Some(Some(other)) => {
            Err(Exc::type_error(format!("{name} first arg must be str or a tuple of str, not {}", vm.type_name(other))))
        }
        _ => Err(Exc::type_error(format!("{name}() takes at least 1 argument (0 given)"))),
    }
}

fn startswith(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    starts_ends(vm, a, "startswith", false)
}

fn endswith(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    starts_ends(vm, a, "endswith", true)
}

// ---------------------------------------------------------------------------------------------
// Splitting, joining, stripping.
// ---------------------------------------------------------------------------------------------

fn split_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<(Rc<Str>, Option<Rc<Str>>, i64)> {
    let s = recv(vm, a, name)?;
    let p = parse_args(a, "str", name, Sig::Kw(&["sep", "maxsplit"]))?;
    let sep = match p.first() {
        Some(Some(Value::None)) | Some(None) | None => None,
        Some(Some(Value::Str(x))) => Some(x.clone()),
        Some(Some(other)) => return Err(Exc::type_error(format!("must be str or None, not {}", vm.type_name(other)))),
    };
    let maxsplit = int_arg(vm, p.get(1).and_then(|x| x.as_ref()), -1)?;
    if let Some(x) = &sep {
        if x.s.is_empty() {
            return Err(Exc::value_error("empty separator"));
        }
    }
    Ok((s, sep, maxsplit))
}

/// Whitespace split of `s` (code points), left to right, at most `maxsplit` splits.
fn split_whitespace(s: &str, maxsplit: i64) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_start_matches(py_isspace);
    let mut left = maxsplit;
    while !rest.is_empty() {
        if left == 0 {
            out.push(rest);
            break;
        }
        match rest.find(py_isspace) {
            Some(i) => {
                out.push(rest.get(..i).unwrap_or(""));
                rest = rest.get(i..).unwrap_or("").trim_start_matches(py_isspace);
                left -= 1;
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

fn rsplit_whitespace(s: &str, maxsplit: i64) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_end_matches(py_isspace);
    let mut left = maxsplit;
    while !rest.is_empty() {
        if left == 0 {
            out.push(rest);
            break;
        }
        match rest.rfind(py_isspace) {
            Some(i) => {
                let w = rest.get(i..).unwrap_or("");
                let clen = w.chars().next().map(char::len_utf8).unwrap_or(1);
                out.push(w.get(clen..).unwrap_or(""));
                rest = rest.get(..i).unwrap_or("").trim_end_matches(py_isspace);
                left -= 1;
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out.reverse();
    out
}

fn str_list<'a>(parts: impl IntoIterator<Item = &'a str>) -> Value {
    Value::list(parts.into_iter().map(Value::str).collect())
}

fn split(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sep, maxsplit) = split_args(vm, a, "split")?;
    Ok(match sep {
        None => str_list(split_whitespace(s.as_str(), maxsplit)),
        Some(sep) if maxsplit < 0 => str_list(s.as_str().split(sep.as_str())),
        Some(sep) => str_list(s.as_str().splitn((maxsplit as usize).saturating_add(1), sep.as_str())),
    })
}

fn rsplit(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, sep, maxsplit) = split_args(vm, a, "rsplit")?;
    Ok(match sep {
        None => str_list(rsplit_whitespace(s.as_str(), maxsplit)),
        Some(sep) if maxsplit < 0 => str_list(s.as_str().split(sep.as_str())),
        Some(sep) => {
            let mut parts: Vec<&str> =
                s.as_str().rsplitn((maxsplit as usize).saturating_add(1), sep.as_str()).collect();
            parts.reverse();
            str_list(parts)
        }
    })
}

fn is_linebreak(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn splitlines(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "splitlines")?;
    let p = parse_args(a, "str", "splitlines", Sig::Kw(&["keepends"]))?;
    let keep = int_arg(vm, p.first().and_then(|x| x.as_ref()), 0)? != 0;
    let text = s.as_str();
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if is_linebreak(c) {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some((_, '\n')) = it.peek() {
                    it.next();
                    end += 1;
                }
            }
            out.push(Value::str(text.get(start..if keep { end } else { i }).unwrap_or("")));
            start = end;
        }
    }
    if start < text.len() {
        out.push(Value::str(text.get(start..).unwrap_or("")));
    }
    Ok(Value::list(out))
}

fn join(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let sep = recv(vm, a, "join")?;
    let p = parse_args(a, "str", "join", Sig::One)?;
    let it = p.into_iter().next().flatten().unwrap_or(Value::None);
    let items = match &it {
        Value::List(l) => l.items.borrow().clone(),
        Value::Tuple(t) => t.to_vec(),
        _ => match vm.collect(&it) {
            Ok(v) => v,
            Err(e) if exc_is(vm, &e, ExcKind::TypeError) && vm.get_attr(&it, vm.syms.iter).is_err() => {
                return Err(Exc::type_error("can only join an iterable"))
            }
            Err(e) => return Err(e),
        },
    };
    let total: usize = items.iter().map(|v| if let Value::Str(s) = v { s.s.len() } else { 0 }).sum();
    vm.mem_charge(total + sep.s.len() * items.len())?;
    let mut out = String::new();
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep.as_str());
        }
        match v {
            Value::Str(s) => out.push_str(s.as_str()),
            other => {
                return Err(Exc::type_error(format!(
                    "sequence item {i}: expected str instance, {} found",
                    vm.type_name(other)
                )))
            }
        }
    }
    Ok(Value::string(out))
}

fn strip_impl(vm: &mut Vm, a: &mut Args, name: &str, left: bool, right: bool) -> Res<Value> {
    let s = recv(vm, a, name)?;
    let p = parse_args(a, "str", name, Sig::Expected(0, 1))?;
    let text = s.as_str();
    let r = match p.first() {
        Some(Some(Value::Str(chars))) => {
            let set: Vec<char> = chars.as_str().chars().collect();
            let f = |c: char| set.contains(&c);
            let t = if left { text.trim_start_matches(f) } else { text };
            if right {
                t.trim_end_matches(f)
            } else {
                t
            }
        }
        Some(Some(Value::None)) | Some(None) | None => {
            let t = if left { text.trim_start_matches(py_isspace) } else { text };
            if right {
                t.trim_end_matches(py_isspace)
            } else {
                t
            }
        }
        Some(Some(_)) => return Err(Exc::type_error(format!("{name} arg must be None or str"))),
    };
    if r.len() == text.len() {
        return Ok(Value::Str(s.clone()));
    }
    Ok(Value::str(r))
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

fn partition_impl(vm: &mut Vm, a: &mut Args, name: &str, rev: bool) -> Res<Value> {
    let s = recv(vm, a, name)?;
    let p = parse_args(a, "str", name, Sig::One)?;
    let sep = str_arg(vm, p.first().and_then(|x| x.as_ref()).unwrap_or(&Value::None))?;
    if sep.s.is_empty() {
        return Err(Exc::value_error("empty separator"));
    }
    let text = s.as_str();
    let found = if rev { text.rfind(sep.as_str()) } else { text.find(sep.as_str()) };
    let parts = match found {
        Some(i) => vec![
            Value::str(text.get(..i).unwrap_or("")),
            Value::Str(sep.clone()),
            Value::str(text.get(i + sep.s.len()..).unwrap_or("")),
        ],
        None if rev => vec![Value::str(""), Value::str(""), Value::Str(s.clone())],
        None => vec![Value::Str(s.clone()), Value::str(""), Value::str("")],
    };
    Ok(Value::tuple(parts))
}

fn partition(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    partition_impl(vm, a, "partition", false)
}
fn rpartition(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    partition_impl(vm, a, "rpartition", true)
}

fn replace(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "replace")?;
    let p = parse_args(a, "str", "replace", Sig::Expected(2, 3))?;
    let mut args = p.into_iter();
    let old = args.next().flatten().unwrap_or(Value::None);
    let new = args.next().flatten().unwrap_or(Value::None);
    let count = args.next().flatten();
    let Value::Str(old) = old else {
        return Err(Exc::type_error(format!("replace() argument 1 must be str, not {}", vm.type_name(&old))));
    };
    let Value::Str(new) = new else {
        return Err(Exc::type_error(format!("replace() argument 2 must be str, not {}", vm.type_name(&new))));
    };
    let count = int_arg(vm, count.as_ref(), -1)?;
    let limit = if count < 0 { usize::MAX } else { count as usize };
    let text = s.as_str();
    let hits = if old.s.is_empty() { s.chars + 1 } else { text.matches(old.as_str()).count() }.min(limit);
    check_len(hits.saturating_mul(new.s.len()).saturating_add(text.len()))?;
    if old.s.is_empty() {
        let mut out = String::with_capacity(text.len() + new.s.len() * (s.chars + 1).min(limit));
        let mut done = 0;
        for c in text.chars() {
            if done < limit {
                out.push_str(new.as_str());
                done += 1;
            }
            out.push(c);
        }
        if done < limit {
            out.push_str(new.as_str());
        }
        return Ok(Value::string(out));
    }
    if limit == usize::MAX {
        return Ok(Value::string(text.replace(old.as_str(), new.as_str())));
    }
    Ok(Value::string(text.replacen(old.as_str(), new.as_str(), limit)))
}

fn removeprefix(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "removeprefix")?;
    let p = parse_args(a, "str", "removeprefix", Sig::One)?;
    match p.into_iter().next().flatten() {
        Some(Value::Str(pre)) => match s.as_str().strip_prefix(pre.as_str()) {
            Some(r) if !pre.s.is_empty() => Ok(Value::str(r)),
            _ => Ok(Value::Str(s)),
        },
        other => Err(Exc::type_error(format!(
            "removeprefix() argument must be str, not {}",
            vm.type_name(&other.unwrap_or(Value::None))
        ))),
    }
}

fn removesuffix(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "removesuffix")?;
    let p = parse_args(a, "str", "removesuffix", Sig::One)?;
    match p.into_iter().next().flatten() {
        Some(Value::Str(suf)) => match s.as_str().strip_suffix(suf.as_str()) {
            Some(r) if !suf.s.is_empty() => Ok(Value::str(r)),
            _ => Ok(Value::Str(s)),
        },
        other => Err(Exc::type_error(format!(
            "removesuffix() argument must be str, not {}",
            vm.type_name(&other.unwrap_or(Value::None))
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Padding.
// ---------------------------------------------------------------------------------------------

fn pad_args(vm: &mut Vm, a: &mut Args, name: &str) -> Res<(Rc<Str>, usize, char)> {
    let s = recv(vm, a, name)?;
    let p = parse_args(a, "str", name, Sig::Expected(1, 2))?;
    let width = int_arg(vm, p.first().and_then(|x| x.as_ref()), 0)?;
    let fill = match p.get(1).and_then(|x| x.as_ref()) {
        None => ' ',
        Some(Value::Str(f)) if f.chars == 1 => f.as_str().chars().next().unwrap_or(' '),
        Some(Value::Str(_)) => return Err(Exc::type_error("The fill character must be exactly one character long")),
        Some(other) => {
            return Err(Exc::type_error(format!(
                "The fill character must be a unicode character, not {}",
                vm.type_name(other)
            )))
        }
    };
    let width = width.max(0) as usize;
    check_len(width)?;
    vm.mem_charge(width)?;
    Ok((s, width, fill))
}

fn padded(s: &Rc<Str>, left: usize, right: usize, fill: char) -> Value {
    if left == 0 && right == 0 {
        return Value::Str(s.clone());
    }
    let mut out = String::with_capacity(s.s.len() + (left + right) * fill.len_utf8());
    out.extend(std::iter::repeat_n(fill, left));
    out.push_str(s.as_str());
    out.extend(std::iter::repeat_n(fill, right));
    Value::string(out)
}

fn center(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, width, fill) = pad_args(vm, a, "center")?;
    if width <= s.chars {
        return Ok(Value::Str(s));
    }
    let marg = width - s.chars;
    let left = marg / 2 + (marg & width & 1);
    Ok(padded(&s, left, marg - left, fill))
}

fn ljust(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, width, fill) = pad_args(vm, a, "ljust")?;
    Ok(padded(&s, 0, width.saturating_sub(s.chars), fill))
}

fn rjust(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let (s, width, fill) = pad_args(vm, a, "rjust")?;
    Ok(padded(&s, width.saturating_sub(s.chars), 0, fill))
}

fn zfill(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "zfill")?;
    let p = parse_args(a, "str", "zfill", Sig::One)?;
    let width = int_arg(vm, p.first().and_then(|x| x.as_ref()), 0)?;
    let width = width.max(0) as usize;
    if width <= s.chars {
        return Ok(Value::Str(s));
    }
    check_len(width)?;
    vm.mem_charge(width)?;
    let fill = width - s.chars;
    let text = s.as_str();
    let mut out = String::with_capacity(width);
    let body = match text.chars().next() {
        Some(c @ ('+' | '-')) => {
            out.push(c);
            text.get(1..).unwrap_or("")
        }
        _ => text,
    };
    out.extend(std::iter::repeat_n('0', fill));
    out.push_str(body);
    Ok(Value::string(out))
}

fn expandtabs(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "expandtabs")?;
    let p = parse_args(a, "str", "expandtabs", Sig::Kw(&["tabsize"]))?;
    let tabsize = int_arg(vm, p.first().and_then(|x| x.as_ref()), 8)?;
    if i32::try_from(tabsize).is_err() {
        return Err(Exc::overflow("Python int too large to convert to C int"));
    }
    let mut out = String::with_capacity(s.s.len());
    let mut col: i64 = 0;
    for c in s.as_str().chars() {
        match c {
            '\t' => {
                if tabsize > 0 {
                    let n = tabsize - col % tabsize;
                    check_len(out.len().saturating_add(n as usize))?;
                    out.extend(std::iter::repeat_n(' ', n as usize));
                    col += n;
                }
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    Ok(Value::string(out))
}

// ---------------------------------------------------------------------------------------------
// encode, translate, maketrans.
// ---------------------------------------------------------------------------------------------

/// A codec this interpreter implements.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// UTF-8.
    Utf8,
    /// 7-bit ASCII.
    Ascii,
    /// ISO-8859-1.
    Latin1,
}

impl Codec {
    /// The name CPython uses in codec error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Codec::Utf8 => "utf-8",
            Codec::Ascii => "ascii",
            Codec::Latin1 => "latin-1",
        }
    }
}

/// Looks up an encoding by name as CPython normalises it, or raises `LookupError`.
pub(crate) fn lookup_codec(name: &str) -> Res<Codec> {
    let norm: String =
        name.trim().to_ascii_lowercase().chars().map(|c| if c == '-' || c == ' ' { '_' } else { c }).collect();
    match norm.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" => Ok(Codec::Utf8),
        "ascii" | "us_ascii" | "646" | "us" => Ok(Codec::Ascii),
        "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "8859" | "cp819" | "iso_ir_100" => {
            Ok(Codec::Latin1)
        }
        _ => Err(Exc::new(ExcKind::LookupError, format!("unknown encoding: {name}"))),
    }
}

/// A `str`-typed optional argument of `fname` named `what` (for `encoding`/`errors`).
pub(crate) fn opt_str_arg(vm: &Vm, v: Option<&Value>, fname: &str, what: &str, default: &str) -> Res<String> {
    match v {
        None => Ok(default.to_string()),
        Some(Value::Str(s)) => Ok(s.as_str().to_string()),
        Some(other) => {
            Err(Exc::type_error(format!("{fname}() argument '{what}' must be str, not {}", vm.type_name(other))))
        }
    }
}

fn char_escape(c: char) -> String {
    let n = c as u32;
    if n < 0x100 {
        format!("\\x{n:02x}")
    } else if n < 0x10000 {
        format!("\\u{n:04x}")
    } else {
        format!("\\U{n:08x}")
    }
}

/// Encodes `s` with `codec` under the error handler `errors`.
pub(crate) fn encode_str(s: &str, codec: Codec, errors: &str) -> Res<Vec<u8>> {
    if codec == Codec::Utf8 {
        return Ok(s.as_bytes().to_vec());
    }
    let limit: u32 = if codec == Codec::Ascii { 0x80 } else { 0x100 };
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if (c as u32) < limit {
            out.push(c as u32 as u8);
            i += 1;
            continue;
        }
        let mut j = i;
        while chars.get(j).is_some_and(|c| *c as u32 >= limit) {
            j += 1;
        }
        match errors {
            "strict" => {
                let what = if j - i == 1 {
                    format!("character '{}' in position {i}", char_escape(c))
                } else {
                    format!("characters in position {i}-{}", j - 1)
                };
                return Err(Exc::new(
                    ExcKind::UnicodeEncodeError,
                    format!("'{}' codec can't encode {what}: ordinal not in range({limit})", codec.name()),
                ));
            }
            "ignore" => {}
            "replace" => out.extend(std::iter::repeat_n(b'?', j - i)),
            "backslashreplace" => {
                for c in chars.get(i..j).unwrap_or(&[]) {
                    out.extend_from_slice(char_escape(*c).as_bytes());
                }
            }
            "xmlcharrefreplace" => {
                for c in chars.get(i..j).unwrap_or(&[]) {
                    out.extend_from_slice(format!("&#{};", *c as u32).as_bytes());
                }
            }
            other => return Err(Exc::new(ExcKind::LookupError, format!("unknown error handler name '{other}'"))),
        }
        i = j;
    }
    Ok(out)
}

fn encode(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "encode")?;
    let p = parse_args(a, "str", "encode", Sig::Kw(&["encoding", "errors"]))?;
    let enc = opt_str_arg(vm, p.first().and_then(|x| x.as_ref()), "encode", "encoding", "utf-8")?;
    let errors = opt_str_arg(vm, p.get(1).and_then(|x| x.as_ref()), "encode", "errors", "strict")?;
    let codec = lookup_codec(&enc)?;
    Ok(Value::Bytes(Rc::from(encode_str(s.as_str(), codec, &errors)?)))
}

fn translate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "translate")?;
    let p = parse_args(a, "str", "translate", Sig::One)?;
    let table = p.into_iter().next().flatten().unwrap_or(Value::None);
    let mut out = String::with_capacity(s.s.len());
    for c in s.as_str().chars() {
        let key = Value::Int(c as i64);
        let mapped = match &table {
            Value::Dict(d) => vm.dict_get(d, &key)?,
            _ => match vm.get_item(&table, &key) {
                Ok(v) => Some(v),
                Err(e) if exc_is(vm, &e, ExcKind::LookupError) => None,
                Err(e) => return Err(e),
            },
        };
        match mapped {
            None => out.push(c),
            Some(Value::None) => {}
            Some(Value::Str(r)) => out.push_str(r.as_str()),
            Some(v @ (Value::Int(_) | Value::Bool(_) | Value::BigInt(_))) => {
                let n = match v {
                    Value::Int(i) => i,
                    Value::Bool(b) => b as i64,
                    _ => -1,
                };
                match u32::try_from(n).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None if (0xd800..0xe000).contains(&n) => out.push('\u{fffd}'),
                    None => return Err(Exc::value_error("character mapping must be in range(0x110000)")),
                }
            }
            Some(_) => return Err(Exc::type_error("character mapping must return integer, None or str")),
        }
    }
    Ok(Value::string(out))
}

fn maketrans(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    // A static method: there is no receiver in `a.pos`.
    if !a.kw.is_empty() {
        return Err(Exc::type_error("str.maketrans() takes no keyword arguments"));
    }
    let n = a.pos.len();
    if n == 0 {
        return Err(Exc::type_error("maketrans expected at least 1 argument, got 0"));
    }
    if n > 3 {
        return Err(Exc::type_error(format!("maketrans expected at most 3 arguments, got {n}")));
    }
    let d = Value::dict(crate::vm::dict::Dict::new());
    let x = a.pos[0].clone();
    if n == 1 {
        let Value::Dict(src) = &x else {
            return Err(Exc::type_error("if you give only one argument to maketrans it must be a dict"));
        };
        let entries: Vec<(Value, Value)> = src.d.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        for (k, v) in entries {
            let key = match &k {
                Value::Str(s) if s.chars == 1 => Value::Int(s.as_str().chars().next().map(|c| c as i64).unwrap_or(0)),
                Value::Str(_) => return Err(Exc::value_error("string keys in translate table must be of length 1")),
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => k.clone(),
                _ => return Err(Exc::type_error("keys in translate table must be strings or integers")),
            };
            vm.set_item(&d, key, v)?;
        }
        return Ok(d);
    }
    let Value::Str(xs) = &x else {
        return Err(Exc::type_error("first maketrans argument must be a string if there is a second argument"));
    };
    let y = a.pos[1].clone();
    let Value::Str(ys) = &y else {
        return Err(Exc::type_error(format!("maketrans() argument 2 must be str, not {}", vm.type_name(&y))));
    };
    let z = match a.pos.get(2).cloned() {
        None => None,
        Some(Value::Str(z)) => Some(z),
        Some(other) => {
            return Err(Exc::type_error(format!("maketrans() argument 3 must be str, not {}", vm.type_name(&other))))
        }
    };
    if xs.chars != ys.chars {
        return Err(Exc::value_error("the first two maketrans arguments must have equal length"));
    }
    for (cx, cy) in xs.as_str().chars().zip(ys.as_str().chars()) {
        vm.set_item(&d, Value::Int(cx as i64), Value::Int(cy as i64))?;
    }
    if let Some(z) = z {
        for c in z.as_str().chars() {
            vm.set_item(&d, Value::Int(c as i64), Value::None)?;
        }
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// str.format / str.format_map.
// ---------------------------------------------------------------------------------------------

/// Where `str.format` finds its named fields.
enum Named<'a> {
    /// `str.format(**kwargs)`.
    Kw(&'a [(Sym, Value)]),
    /// `str.format_map(mapping)`.
    Map(Value),
}

/// The state shared by one `str.format` call and its nested specs.
struct Formatter<'a> {
    args: Option<&'a [Value]>,
    named: Named<'a>,
    /// `None` until the first field decides; then `Some(true)` for automatic numbering.
    auto: Option<bool>,
    next: usize,
}

/// One parsed replacement field.
struct Field {
    name: String,
    conversion: Option<char>,
    spec: String,
    spec_nested: bool,
}

fn ferr(msg: &str) -> Exc {
    Exc::value_error(msg)
}

/// Parses the field starting just after its `{` at `chars[*i]`; leaves `*i` after the `}`.
fn parse_field(chars: &[char], i: &mut usize) -> Res<Field> {
    let mut name = String::new();
    let end_err = "expected '}' before end of string";
    loop {
        let Some(&c) = chars.get(*i) else { return Err(ferr(end_err)) };
        match c {
            '}' | '!' | ':' => break,
            '{' => return Err(ferr("unexpected '{' in field name")),
            '[' => {
                name.push(c);
                *i += 1;
                loop {
                    let Some(&c) = chars.get(*i) else { return Err(ferr(end_err)) };
                    name.push(c);
                    *i += 1;
                    if c == ']' {
                        break;
                    }
                }
            }
            _ => {
                name.push(c);
                *i += 1;
            }
        }
    }
    let mut conversion = None;
    let mut c = chars.get(*i).copied().unwrap_or('}');
    *i += 1;
    if c == '!' {
        let Some(&conv) = chars.get(*i) else {
            return Err(ferr("end of string while looking for conversion specifier"));
        };
        *i += 1;
        conversion = Some(conv);
        let Some(&next) = chars.get(*i) else { return Err(ferr("unmatched '{' in format spec")) };
        *i += 1;
        if next != ':' && next != '}' {
            return Err(ferr("expected ':' after conversion specifier"));
        }
        c = next;
    }
    let mut spec = String::new();
    let mut spec_nested = false;
    if c == ':' {
        let mut depth = 1;
        loop {
            let Some(&ch) = chars.get(*i) else { return Err(ferr("unmatched '{' in format spec")) };
            *i += 1;
            if ch == '{' {
                depth += 1;
                spec_nested = true;
            } else if ch == '}' {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            spec.push(ch);
        }
    }
    Ok(Field { name, conversion, spec, spec_nested })
}

/// A run of digits as an index, `None` when it is not all digits.
fn parse_index(s: &str) -> Res<Option<usize>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    s.parse::<usize>().map(Some).map_err(|_| ferr("Too many decimal digits in format string"))
}

impl Formatter<'_> {
    fn format(&mut self, vm: &mut Vm, fmt: &str, depth: i32) -> Res<String> {
        if depth <= 0 {
            return Err(ferr("Max string recursion exceeded"));
        }
        let chars: Vec<char> = fmt.chars().collect();
        let mut out = String::with_capacity(fmt.len());
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            match c {
                '{' => {
                    match chars.get(i) {
                        None => return Err(ferr("Single '{' encountered in format string")),
                        Some('{') => {
                            out.push('{');
                            i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let field = parse_field(&chars, &mut i)?;
                    let piece = self.render(vm, &field, depth)?;
                    out.push_str(&piece);
                }
                '}' => {
                    if chars.get(i) == Some(&'}') {
                        out.push('}');
                        i += 1;
                    } else {
                        return Err(ferr("Single '}' encountered in format string"));
                    }
                }
                _ => out.push(c),
            }
        }
        Ok(out)
    }

    fn positional(&mut self, vm: &mut Vm, idx: usize) -> Res<Value> {
        let _ = vm;
        match self.args {
            None => Err(ferr("Format string contains positional fields")),
            Some(args) => args.get(idx).cloned().ok_or_else(|| {
                Exc::index_error(format!("Replacement index {idx} out of range for positional args tuple"))
            }),
        }
    }

    fn lookup(&mut self, vm: &mut Vm, name: &str) -> Res<Value> {
        // The first part of the field name: up to the first '.' or '['.
        let split = name.find(['.', '[']).unwrap_or(name.len());
        let (first, mut rest) = name.split_at(split);
        let mut obj = if first.is_empty() {
            if self.auto == Some(false) {
                return Err(ferr("cannot switch from manual field specification to automatic field numbering"));
            }
            self.auto = Some(true);
            let idx = self.next;
            self.next += 1;
            self.positional(vm, idx)?
        } else if let Some(idx) = parse_index(first)? {
            if self.auto == Some(true) {
                return Err(ferr("cannot switch from automatic field numbering to manual field specification"));
            }
            self.auto = Some(false);
            self.positional(vm, idx)?
        } else {
            match &self.named {
                Named::Kw(kw) => {
                    let sym = Sym::new(first);
                    match kw.iter().find(|(k, _)| *k == sym) {
                        Some((_, v)) => v.clone(),
                        None => return Err(vm.exception_with_args(ExcKind::KeyError, vec![Value::str(first)])),
                    }
                }
                Named::Map(m) => {
                    let m = m.clone();
                    vm.get_item(&m, &Value::str(first))?
                }
            }
        };
        while let Some(c) = rest.chars().next() {
            if c == '.' {
                let body = &rest[1..];
                let end = body.find(['.', '[']).unwrap_or(body.len());
                let attr = &body[..end];
                if attr.is_empty() {
                    return Err(ferr("Empty attribute in format string"));
                }
                obj = vm.get_attr(&obj, Sym::new(attr))?;
                rest = &body[end..];
            } else if c == '[' {
                let body = &rest[1..];
                let Some(end) = body.find(']') else { return Err(ferr("Missing ']' in format string")) };
                let key = &body[..end];
                if key.is_empty() {
                    return Err(ferr("Empty attribute in format string"));
                }
                let k = match parse_index(key)? {
                    Some(n) => Value::Int(n as i64),
                    None => Value::str(key),
                };
                obj = vm.get_item(&obj, &k)?;
                rest = &body[end + 1..];
                if !rest.is_empty() && !rest.starts_with(['.', '[']) {
                    return Err(ferr("Only '.' or '[' may follow ']' in format field specifier"));
                }
            } else {
                return Err(ferr("Only '.' or '[' may follow ']' in format field specifier"));
            }
        }
        Ok(obj)
    }

    fn render(&mut self, vm: &mut Vm, field: &Field, depth: i32) -> Res<String> {
        let obj = self.lookup(vm, &field.name)?;
        let obj = match field.conversion {
            None => obj,
            Some('r') => Value::string(vm.repr(&obj)?),
            Some('s') => Value::string(vm.str_of(&obj)?),
            Some('a') => {
                let r = vm.repr(&obj)?;
                Value::string(crate::vm::ascii_escape(&r))
            }
            Some(c) => {
                let shown = if (' '..='~').contains(&c) { c.to_string() } else { format!("\\x{:x}", c as u32) };
                return Err(ferr(&format!("Unknown conversion specifier {shown}")));
            }
        };
        let spec = if field.spec_nested { self.format(vm, &field.spec, depth - 1)? } else { field.spec.clone() };
        vm.format(&obj, &spec)
    }
}

fn format(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "format")?;
    let args: Vec<Value> = a.pos.iter().skip(1).cloned().collect();
    let kw = std::mem::take(&mut a.kw);
    let mut f = Formatter { args: Some(&args), named: Named::Kw(&kw), auto: None, next: 0 };
    Ok(Value::string(f.format(vm, s.as_str(), 2)?))
}

fn format_map(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "format_map")?;
    let p = parse_args(a, "str", "format_map", Sig::One)?;
    let m = p.into_iter().next().flatten().unwrap_or(Value::None);
    let mut f = Formatter { args: None, named: Named::Map(m), auto: None, next: 0 };
    Ok(Value::string(f.format(vm, s.as_str(), 2)?))
}

// ---------------------------------------------------------------------------------------------
// Dunders.
// ---------------------------------------------------------------------------------------------

fn dunder_len(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = noargs(vm, a, "__len__")?;
    Ok(Value::Int(s.chars as i64))
}

fn dunder_contains(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = recv(vm, a, "__contains__")?;
    let p = parse_args(a, "str", "__contains__", Sig::One)?;
    let item = p.into_iter().next().flatten().unwrap_or(Value::None);
    Ok(Value::Bool(vm.contains(&Value::Str(s), &item)?))
}

/// Registers the `str` methods (and, through `bytes_methods`, those of `bytes`/`bytearray`).
pub fn install(vm: &mut Vm) {
    let methods: &[(&'static str, NativeFn)] = &[
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
        ("title", title),
        ("capitalize", capitalize),
        ("swapcase", swapcase),
        ("casefold", casefold),
        ("center", center),
        ("ljust", ljust),
        ("rjust", rjust),
        ("zfill", zfill),
        ("expandtabs", expandtabs),
        ("partition", partition),
        ("rpartition", rpartition),
        ("isdigit", isdigit),
        ("isdecimal", isdecimal),
        ("isnumeric", isnumeric),
        ("isalpha", isalpha),
        ("isalnum", isalnum),
        ("isspace", isspace),
        ("isupper", isupper),
        ("islower", islower),
        ("istitle", istitle),
        ("isidentifier", isidentifier),
        ("isascii", isascii),
        ("isprintable", isprintable),
        ("removeprefix", removeprefix),
        ("removesuffix", removesuffix),
        ("encode", encode),
        ("format", format),
        ("format_map", format_map),
        ("translate", translate),
        ("__len__", dunder_len),
        ("__contains__", dunder_contains),
    ];
    vm.add_methods(TypeId::Str, methods);
    let mt = super::native("maketrans", maketrans);
    vm.type_class(TypeId::Str)
        .dict
        .borrow_mut()
        .insert(Sym::new("maketrans"), Value::Descriptor(Rc::new(Descriptor::StaticMethod(mt))));
    super::bytes_methods::install(vm);
}
