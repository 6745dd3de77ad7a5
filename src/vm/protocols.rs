//! Exception matching and groups, `with` statements, imports and `%` formatting.

use super::value::{Module, Value};
use super::{Exc, ExcKind, Res, Sym, Vm};
use std::rc::Rc;

impl Vm {
    /// Re-enters the dispatch loop with `exc` raised in the frame at `base`.
    pub(crate) fn run_with_exception(&mut self, base: usize, exc: Exc) -> Res<super::interp::Halt> {
        self.unwind(exc, base)?;
        self.run(base)
    }

    /// `isinstance(exc, cls)` for `except cls:` (a class or a tuple of classes).
    pub fn exception_matches(&mut self, e: &Value, cls: &Value) -> Res<bool> {
        match cls {
            Value::Tuple(t) => {
                for c in t.iter() {
                    if self.exception_matches(e, c)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Class(c) => {
                if !c.is_subclass(self.exc_class(ExcKind::BaseException)) {
                    return Err(Exc::type_error(
                        "catching classes that do not inherit from BaseException is not allowed",
                    ));
                }
                Ok(self.class_of(e).is_subclass(c))
            }
            _ => Err(Exc::type_error("catching classes that do not inherit from BaseException is not allowed")),
        }
    }

    fn is_group(&self, v: &Value) -> bool {
        matches!(v, Value::Instance(i) if i.class.is_subclass(self.exc_class(ExcKind::BaseExceptionGroup)))
    }

    /// The `exceptions` tuple of a group.
    pub fn group_exceptions(&self, g: &Value) -> Vec<Value> {
        match g {
            Value::Instance(i) => match i.get_attr(self.syms.exceptions) {
                Some(Value::Tuple(t)) => t.to_vec(),
                _ => vec![],
            },
            _ => vec![],
        }
    }

    /// The group class CPython's `BaseExceptionGroup(msg, members)` picks: `ExceptionGroup`
    /// when every member is an `Exception`.
    pub(crate) fn group_class_for(&self, members: &[Value]) -> Rc<super::value::Class> {
        let exception = self.exc_class(ExcKind::Exception);
        let all = members.iter().all(|m| matches!(m, Value::Instance(i) if i.class.is_subclass(exception)));
        self.exc_class(if all { ExcKind::ExceptionGroup } else { ExcKind::BaseExceptionGroup }).clone()
    }

    /// A new group of `members` with message `msg`, of the class `group_class_for` picks.
    fn new_group(&mut self, msg: Value, members: Vec<Value>) -> Rc<super::value::Instance> {
        let class = self.group_class_for(&members);
        let inst = self.new_exception_object(class, vec![msg.clone(), Value::list(members.clone())]);
        inst.set_attr(self.syms.message, msg);
        inst.set_attr(self.syms.exceptions, Value::tuple(members));
        inst
    }

    /// The part of `template` holding `members` (CPython's `exceptiongroup_subset`):
    /// `template.derive(members)` — a script override if the class has one, else a plain
    /// `BaseExceptionGroup(message, members)` — with the template's traceback, cause,
    /// context and notes.
    pub fn derive_group(&mut self, template: &Value, members: Vec<Value>) -> Res<Value> {
        let Value::Instance(t) = template else { return Ok(Value::None) };
        let inst = match t.class.lookup(Sym::new("derive")) {
            Some(f @ Value::Function(_)) => {
                let r = self.call(&f, vec![template.clone(), Value::list(members)])?;
                match r {
                    Value::Instance(i) if self.is_group(&Value::Instance(i.clone())) => i,
                    _ => return Err(Exc::type_error("derive must return an instance of BaseExceptionGroup")),
                }
            }
            _ => {
                let msg = t.get_attr(self.syms.message).unwrap_or(Value::str(""));
                self.new_group(msg, members)
            }
        };
        for key in [self.syms.traceback, self.syms.cause, self.syms.context] {
            if let Some(v) = t.get_attr(key) {
                inst.set_attr(key, v);
            }
        }
        // As CPython's split: the parts get independent copies of the notes.
        let notes = Sym::new("__notes__");
        if let Some(Value::List(l)) = t.get_attr(notes) {
            inst.set_attr(notes, Value::list(l.items.borrow().clone()));
        }
        Ok(Value::Instance(inst))
    }

    /// Splits `eg` by `cls`: `(rest, match)`, each `None` when empty.
    pub(crate) fn split_exception_group(&mut self, eg: &Value, cls: &Value) -> Res<(Value, Value)> {
        if eg.is_none() {
            return Ok((Value::None, Value::None));
        }
        if !self.is_group(eg) {
            if self.exception_matches(eg, cls)? {
                let wrapped = self.new_group(Value::str(""), vec![eg.clone()]);
                return Ok((Value::None, Value::Instance(wrapped)));
            }
            return Ok((eg.clone(), Value::None));
        }
        if self.exception_matches(eg, cls)? {
            return Ok((Value::None, eg.clone()));
        }
        let mut matched = Vec::new();
        let mut rest = Vec::new();
        for m in self.group_exceptions(eg) {
            if self.is_group(&m) {
                let (r, mm) = self.split_exception_group(&m, cls)?;
                if !mm.is_none() {
                    matched.push(mm);
                }
                if !r.is_none() {
                    rest.push(r);
                }
            } else if self.exception_matches(&m, cls)? {
                matched.push(m);
            } else {
                rest.push(m);
            }
        }
        let m = if matched.is_empty() { Value::None } else { self.derive_group(eg, matched)? };
        let r = if rest.is_empty() { Value::None } else { self.derive_group(eg, rest)? };
        Ok((r, m))
    }

    /// Combines what `except*` clauses raised with what they left unhandled.
    pub(crate) fn prep_reraise_star(&mut self, orig: &Value, list: &Value) -> Res<Value> {
        let items: Vec<Value> = match list {
            Value::List(l) => l.items.borrow().iter().filter(|v| !v.is_none()).cloned().collect(),
            _ => vec![],
        };
        match items.len() {
            0 => Ok(Value::None),
            1 => Ok(items.into_iter().next().unwrap_or(Value::None)),
            _ => {
                let _ = orig;
                let g = self.new_group(Value::str(""), items);
                Ok(Value::Instance(g))
            }
        }
    }

    /// `BeforeWith`: returns the bound `__exit__` and the result of `__enter__()`.
    pub(crate) fn before_with(&mut self, mgr: Value) -> Res<(Value, Value)> {
        let enter = self.get_attr_opt(&mgr, self.syms.enter)?;
        let exit = self.get_attr_opt(&mgr, self.syms.exit)?;
        let (Some(enter), Some(exit)) = (enter, exit) else {
            let missing =
                if self.get_attr_opt(&mgr, self.syms.enter)?.is_none() { "" } else { " (missed __exit__ method)" };
            return Err(Exc::type_error(format!(
                "'{}' object does not support the context manager protocol{}",
                self.type_name(&mgr),
                missing
            )));
        };
        track_held_exit(&exit);
        let r = self.call(&enter, vec![])?;
        Ok((exit, r))
    }

    /// `BeforeAsyncWith`: the bound `__aexit__` and the awaitable of `__aenter__()`.
    pub(crate) fn before_async_with(&mut self, mgr: Value) -> Res<(Value, Value)> {
        let enter = self.get_attr_opt(&mgr, self.syms.aenter)?;
        let exit = self.get_attr_opt(&mgr, self.syms.aexit)?;
        let has_enter = enter.is_some();
        let (Some(enter), Some(exit)) = (enter, exit) else {
            let missing = if has_enter { " (missed __aexit__ method)" } else { "" };
            return Err(Exc::type_error(format!(
                "'{}' object does not support the asynchronous context manager protocol{missing}",
                self.type_name(&mgr)
            )));
        };
        track_held_exit(&exit);
        let aw = self.call(&enter, vec![])?;
        Ok((exit, aw))
    }

    /// Calls `exit(type(e), e, tb)`.
    pub(crate) fn call_exit_with_exception(&mut self, exit: &Value, e: &Value) -> Res<Value> {
        let t = Value::Class(self.class_of(e));
        let tb = match e {
            Value::Instance(i) => i.get_attr(self.syms.traceback).unwrap_or(Value::None),
            _ => Value::None,
        };
        self.call(exit, vec![t, e.clone(), tb])
    }

    /// `import name`: a cached module, a native module, or a `.aio` file on the search path.
    pub fn import_module(&mut self, name: Sym) -> Res<Value> {
        let key = name.as_rc();
        match super::value::ns_get(&self.modules, name) {
            Some(Value::None) => {
                let msg = Value::string(format!("import of {key} halted; None in sys.modules"));
                let e = self.exception_with_args(ExcKind::ModuleNotFoundError, vec![msg.clone()]);
                if let Exc::Obj(i) = &e {
                    i.set_attr(Sym::new("name"), Value::str(&key));
                    i.set_attr(Sym::new("msg"), msg);
                }
                return Err(e);
            }
            Some(m) => return Ok(m),
            None => {}
        }
        self.check_import(&key)?;
        if let Some(init) = self.native_modules.get(&*key).copied() {
            let m = init(self)?;
            self.restrict_module(&key, &m);
            super::value::bump_class_epoch();
            let v = Value::Module(m);
            super::value::ns_set(&self.modules, name, v.clone());
            return Ok(v);
        }
        if let Some(src) = crate::stdlib::source(&key) {
            let fname = format!("<stdlib>/{key}.aio");
            let module = Rc::new(Module::new(&key, &fname));
            let v = Value::Module(module.clone());
            super::value::ns_set(&self.modules, name, v.clone());
            if let Err(e) = self.exec_source(src, &fname, module.clone()) {
                super::value::ns_del(&self.modules, name);
                return Err(e);
            }
            self.restrict_module(&key, &module);
            return Ok(v);
        }
        let file = format!("{}.aio", key.replace('.', "/"));
        let mut dirs: Vec<std::path::PathBuf> = Vec::new();
        if let Some(f) = self.frames.last().filter(|_| self.may_import_files()) {
            let p = std::path::Path::new(&*f.code.filename);
            if let Some(d) = p.parent() {
                dirs.push(if d.as_os_str().is_empty() { std::path::PathBuf::from(".") } else { d.to_path_buf() });
            }
        }
        dirs.extend(self.search_path.iter().cloned());
        for d in dirs {
            let path = d.join(&file);
            if path.is_file() {
                let source = std::fs::read_to_string(&path)
                    .map_err(|e| Exc::new(ExcKind::ImportError, format!("cannot read {}: {}", path.display(), e)))?;
                let fname = path.to_string_lossy().to_string();
                let module = Rc::new(Module::new(&key, &fname));
                module.set(Sym::new("__file__"), Value::str(&fname));
                let v = Value::Module(module.clone());
                super::value::ns_set(&self.modules, name, v.clone());
                let r = self.exec_source(&source, &fname, module);
                if let Err(e) = r {
                    super::value::ns_del(&self.modules, name);
                    return Err(e);
                }
                // What the module left in `sys.modules` under its name (it may replace
                // itself there), as CPython returns.
                return Ok(super::value::ns_get(&self.modules, name).unwrap_or(v));
            }
        }
        let msg = Value::string(format!("No module named '{key}'"));
        let e = self.exception_with_args(ExcKind::ModuleNotFoundError, vec![msg.clone()]);
        if let Exc::Obj(i) = &e {
            i.set_attr(Sym::new("name"), Value::str(&key));
            i.set_attr(Sym::new("msg"), msg);
            i.set_attr(Sym::new("path"), Value::None);
        }
        Err(e)
    }

    /// Parses, compiles and runs source text in a module namespace.
    pub fn exec_source(&mut self, source: &str, filename: &str, module: Rc<Module>) -> Res<Value> {
        self.register_source(filename, source);
        let ast = crate::parser::parse_module(source).map_err(|e| self.syntax_error_exc(&e, filename, source))?;
        let code = crate::compiler::compile_module(&ast, filename, source)
            .map_err(|e| self.syntax_error_exc(&e, filename, source))?;
        self.run_module_code(code, module)
    }

    /// A `SyntaxError` exception object for a compile-time error.
    pub fn syntax_error_exc(&mut self, e: &crate::diagnostics::SyntaxError, filename: &str, source: &str) -> Exc {
        let kind = match e.kind {
            crate::diagnostics::SyntaxErrorKind::Syntax => ExcKind::SyntaxError,
            crate::diagnostics::SyntaxErrorKind::Indentation => ExcKind::IndentationError,
            crate::diagnostics::SyntaxErrorKind::Tab => ExcKind::TabError,
            crate::diagnostics::SyntaxErrorKind::Recursion => ExcKind::RecursionError,
        };
        let (line, col) = crate::diagnostics::line_col(source, e.span.start as usize);
        let inst = self.materialize(Exc::Msg(kind, e.message.clone()));
        inst.set_attr(Sym::new("msg"), Value::str(&e.message));
        inst.set_attr(Sym::new("filename"), Value::str(filename));
        inst.set_attr(Sym::new("lineno"), Value::Int(line as i64));
        inst.set_attr(Sym::new("offset"), Value::Int(col as i64));
        inst.set_attr(Sym::new("_aio_rendered"), Value::string(crate::diagnostics::render(e, filename, source, false)));
        Exc::Obj(inst)
    }

    /// `from m import name`.
    pub(crate) fn import_from(&mut self, m: &Value, name: Sym) -> Res<Value> {
        match self.get_attr_opt(m, name)? {
            Some(v) => Ok(v),
            None => {
                let mname = match m {
                    Value::Module(md) => md.name.to_string(),
                    _ => "?".into(),
                };
                let file = match m {
                    Value::Module(md) => format!(" ({})", md.file),
                    _ => String::new(),
                };
                let file = if file.contains('<') { " (unknown location)".to_string() } else { file };
                let e = self.exception_with_args(
                    ExcKind::ImportError,
                    vec![Value::string(format!("cannot import name '{name}' from '{mname}'{file}"))],
                );
                if let Exc::Obj(i) = &e {
                    i.set_attr(Sym::new("name"), Value::str(&mname));
                    i.set_attr(
                        Sym::new("msg"),
                        i.get_attr(self.syms.args)
                            .and_then(|a| match a {
                                Value::Tuple(t) => t.first().cloned(),
                                _ => None,
                            })
                            .unwrap_or(Value::None),
                    );
                }
                Err(e)
            }
        }
    }

    /// `from m import *`.
    pub(crate) fn import_star(&mut self, m: &Value) -> Res<()> {
        let Value::Module(md) = m else { return Ok(()) };
        let pairs: Vec<(Sym, Value)> = md.dict.borrow().iter().map(|(k, v)| (*k, v.clone())).collect();
        let target = self.frames.last().expect("frame").globals.clone();
        for (k, v) in pairs {
            if !k.with_str(|s| s.starts_with('_')) {
                target.set(k, v);
            }
        }
        Ok(())
    }

    /// `fmt % args` for strings.
    pub fn percent_format(&mut self, fmt: &str, args: &Value) -> Res<String> {
        let items: Vec<Value> = match args {
            Value::Tuple(t) => t.to_vec(),
            Value::Other(o) => match o.as_tuple() {
                Some(Value::Tuple(t)) => t.to_vec(),
                _ => vec![args.clone()],
            },
            other => vec![other.clone()],
        };
        let mapping = match args {
            Value::Dict(_) => Some(args.clone()),
            Value::Instance(i) if i.class.lookup(self.syms.getitem).is_some() && !matches!(args, Value::Tuple(_)) => {
                Some(args.clone())
            }
            _ => None,
        };
        let mut out = String::new();
        let mut idx = 0usize;
        let chars: Vec<char> = fmt.chars().collect();
        let mut i = 0;
        let mut used_mapping = false;
        while i < chars.len() {
            let c = chars[i];
            if c != '%' {
                out.push(c);
                i += 1;
                continue;
            }
            i += 1;
            if i >= chars.len() {
                return Err(Exc::value_error("incomplete format"));
            }
            let mut key: Option<String> = None;
            if chars[i] == '(' {
                let start = i + 1;
                let mut depth = 1;
                i += 1;
                while i < chars.len() && depth > 0 {
                    if chars[i] == '(' {
                        depth += 1;
                    } else if chars[i] == ')' {
                        depth -= 1;
                    }
                    i += 1;
                }
                if depth > 0 {
                    return Err(Exc::value_error("incomplete format key"));
                }
                key = Some(chars[start..i - 1].iter().collect());
            }
            let mut flags = String::new();
            while i < chars.len() && "-+ #0".contains(chars[i]) {
                flags.push(chars[i]);
                i += 1;
            }
            let mut width = String::new();
            if i < chars.len() && chars[i] == '*' {
                let w = items.get(idx).cloned().unwrap_or(Value::Int(0));
                idx += 1;
                let w = self.index_value(&w)?;
                // A negative `*` width left-aligns, as the `-` flag.
                if w < 0 {
                    flags.push('-');
                }
                width = w.unsigned_abs().to_string();
                i += 1;
            }
            while i < chars.len() && chars[i].is_ascii_digit() {
                width.push(chars[i]);
                i += 1;
            }
            let mut prec: Option<String> = None;
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                let mut p = String::new();
                if i < chars.len() && chars[i] == '*' {
                    let w = items.get(idx).cloned().unwrap_or(Value::Int(0));
                    idx += 1;
                    p = self.index_value(&w)?.to_string();
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    p.push(chars[i]);
                    i += 1;
                }
                prec = Some(if p.is_empty() { "0".into() } else { p });
            }
            // C's length modifiers are accepted and ignored.
            while i < chars.len() && matches!(chars[i], 'h' | 'l' | 'L') {
                i += 1;
            }
            if i >= chars.len() {
                return Err(Exc::value_error("incomplete format"));
            }
            let conv = chars[i];
            i += 1;
            if conv == '%' {
                out.push('%');
                continue;
            }
            let arg = match &key {
                Some(k) => {
                    used_mapping = true;
                    let m = mapping.clone().ok_or_else(|| Exc::type_error("format requires a mapping"))?;
                    self.get_item(&m, &Value::str(k))?
                }
                None => {
                    let a = items
                        .get(idx)
                        .cloned()
                        .ok_or_else(|| Exc::type_error("not enough arguments for format string"))?;
                    idx += 1;
                    a
                }
            };
            let align_left = flags.contains('-');
            let zero = flags.contains('0') && !align_left;
            let mut spec = String::new();
            if align_left {
                spec.push('<');
            } else if zero && !matches!(conv, 's' | 'r' | 'a' | 'c') {
                spec.push_str("0=");
            } else {
                spec.push('>');
            }
            if flags.contains('+') {
                spec.push('+');
            } else if flags.contains(' ') {
                spec.push(' ');
            }
            if flags.contains('#') {
                spec.push('#');
            }
            spec.push_str(&width);
            let piece = match conv {
                's' => {
                    let mut s = self.str_of(&arg)?;
                    if let Some(p) = &prec {
                        s = s.chars().take(p.parse().unwrap_or(0)).collect();
                    }
                    let sp = format!("{}{}", if align_left { "<" } else { ">" }, width);
                    self.format(&Value::string(s), &sp)?
                }
                'r' | 'a' => {
                    let mut s = self.repr(&arg)?;
                    if conv == 'a' {
                        s = super::ops::ascii_escape(&s);
                    }
                    if let Some(p) = &prec {
                        s = s.chars().take(p.parse().unwrap_or(0)).collect();
                    }
                    let sp = format!("{}{}", if align_left { "<" } else { ">" }, width);
                    self.format(&Value::string(s), &sp)?
                }
                'd' | 'i' | 'u' => {
                    let n = self.percent_int(&arg, "d")?;
                    self.format(&n, &spec)?
                }
                'x' | 'X' | 'o' => {
                    let n = self.percent_int(&arg, &conv.to_string())?;
                    spec.push(conv);
                    self.format(&n, &spec)?
                }
                'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
                    let f = match &arg {
                        Value::Float(_) => arg.clone(),
                        Value::Int(i) => Value::Float(*i as f64),
                        Value::Bool(b) => Value::Float(*b as i64 as f64),
                        Value::BigInt(_) => Value::Float(self.to_float(&arg)?),
                        other => {
                            return Err(Exc::type_error(format!("must be real number, not {}", self.type_name(other))));
                        }
                    };
                    spec.push('.');
                    spec.push_str(prec.as_deref().unwrap_or("6"));
                    spec.push(conv);
                    self.format(&f, &spec)?
                }
                'c' => {
                    let c = match &arg {
                        Value::Int(n) => match u32::try_from(*n).ok().and_then(char::from_u32) {
                            Some(c) => c.to_string(),
                            None => return Err(Exc::overflow("%c arg not in range(0x110000)")),
                        },
                        Value::Str(s) if s.chars == 1 => s.as_str().to_string(),
                        _ => return Err(Exc::type_error("%c requires int or char")),
                    };
                    let sp = format!("{}{}", if align_left { "<" } else { ">" }, width);
                    self.format(&Value::string(c), &sp)?
                }
                other => {
                    return Err(Exc::value_error(format!(
                        "unsupported format character '{}' (0x{:x}) at index {}",
                        other,
                        other as u32,
                        i - 1
                    )))
                }
            };
            out.push_str(&piece);
        }
        if !used_mapping && idx < items.len() && mapping.is_none() {
            return Err(Exc::type_error("not all arguments converted during string formatting"));
        }
        Ok(out)
    }

    fn percent_int(&mut self, arg: &Value, conv: &str) -> Res<Value> {
        match arg {
            Value::Int(_) | Value::BigInt(_) => Ok(arg.clone()),
            Value::Bool(b) => Ok(Value::Int(*b as i64)),
            Value::Float(f) if conv == "d" => Ok(Value::from_bigint(Value::int_of_float(*f)?)),
            other => Err(Exc::type_error(format!(
                "%{} format: {} is required, not {}",
                conv,
                if conv == "d" { "a real number" } else { "an integer" },
                self.type_name(other)
            ))),
        }
    }

    /// `float(v)` for numbers.
    pub fn to_float(&mut self, v: &Value) -> Res<f64> {
        match v {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Bool(b) => Ok(*b as i64 as f64),
            Value::BigInt(b) => {
                crate::text::int_math::bigint_to_f64(b).map_err(|_| Exc::overflow("int too large to convert to float"))
            }
            Value::Instance(i) => match i.class.lookup(self.syms.float) {
                Some(f) => {
                    let r = self.call(&f, vec![v.clone()])?;
                    self.to_float(&r)
                }
                None => Err(Exc::type_error(format!("must be real number, not {}", i.class.tp_name()))),
            },
            _ => Err(Exc::type_error(format!("must be real number, not {}", self.type_name(v)))),
        }
    }
}

/// A `with` block holds its bound `__exit__`/`__aexit__` for its whole body; when that is a
/// built-in method bound to an instance (`async with lock` on an `asyncio.Lock`), the
/// cycle collector must see it, or a task suspended in the block would keep the instance
/// (and so itself) alive forever.
fn track_held_exit(exit: &Value) {
    if let Value::Native(n) = exit {
        if matches!(n.receiver, Some(Value::Instance(_))) {
            super::gc::track_bound_native(n);
        }
    }
}
