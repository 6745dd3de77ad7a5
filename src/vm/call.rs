//! Calls: binding arguments to parameters, pushing script frames, calling natives,
//! instantiating classes, and building classes.

use super::frame::{Detached, Frame, ReturnMode};
use super::gen::{GenKind, GenObj, GenState};
use super::value::{Args, Class, DictObj, FastNativeFn, Function, Layout, Value};
use super::{Exc, ExcKind, Res, Sym, Vm};
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

impl Vm {
    /// Calls a value with positional arguments from native code (a nested dispatch loop).
    pub fn call(&mut self, f: &Value, args: Vec<Value>) -> Res<Value> {
        self.call_kw(f, args, Vec::new())
    }

    /// Calls a value with copies of `args`, for a caller that keeps them (the event loop
    /// reports a failed callback with its arguments): a script function taking exactly
    /// these arguments gets them pushed straight onto the value stack, with no vector.
    pub fn call_slice(&mut self, f: &Value, args: &[Value]) -> Res<Value> {
        match f {
            Value::Function(func) if func.code.takes_exactly(args.len()) => {
                let base = self.stack.len();
                self.stack.extend_from_slice(args);
                self.run_exact_at(func, base)
            }
            _ => self.call_kw(f, args.to_vec(), Vec::new()),
        }
    }

    /// Calls a value with positional and keyword arguments from native code.
    pub fn call_kw(&mut self, f: &Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Res<Value> {
        match f {
            Value::Function(func) => {
                if kw.is_empty() && func.code.takes_exactly(args.len()) {
                    return self.run_exact(func, args);
                }
                let frame = self.bind_frame(func, args, kw, ReturnMode::Push)?;
                if func.code.flags.generator || func.code.flags.coroutine || func.code.flags.async_generator {
                    return Ok(self.make_gen(func, frame));
                }
                self.run_frame(frame)
            }
            Value::BoundMethod(m) => {
                let mut a = Vec::with_capacity(args.len() + 1);
                a.push(m.receiver.clone());
                a.extend(args);
                let func = m.func.clone();
                self.call_kw(&func, a, kw)
            }
            Value::Native(n) => {
                let argc = args.len();
                let mut a = match &n.receiver {
                    // The arguments' buffer becomes the native's (no copy).
                    None => Args { pos: SmallVec::from_vec(args), kw },
                    Some(r) => {
                        let mut a = Args { pos: SmallVec::with_capacity(args.len() + 1), kw };
                        a.pos.push(r.clone());
                        a.pos.extend(args);
                        a
                    }
                };
                self.check_depth()?;
                self.native_calls += 1;
                let r = (n.func)(self, &mut a);
                self.native_calls -= 1;
                r.map_err(|e| self.unbound_native_error(e, n, argc, a.pos.first()))
            }
            Value::Class(c) => {
                let c = c.clone();
                self.instantiate(&c, args, kw)
            }
            Value::Instance(i) => match i.class.lookup(self.syms.call) {
                Some(call) => {
                    let mut a = Vec::with_capacity(args.len() + 1);
                    a.push(f.clone());
                    a.extend(args);
                    self.call_kw(&call, a, kw)
                }
                None => Err(Exc::type_error(format!("'{}' object is not callable", i.class.tp_name()))),
            },
            Value::Descriptor(d) => match &**d {
                super::value::Descriptor::StaticMethod(inner) => {
                    let inner = inner.clone();
                    self.call_kw(&inner, args, kw)
                }
                _ => Err(Exc::type_error(format!("'{}' object is not callable", self.type_name(f)))),
            },
            Value::Other(o) => {
                let o = o.clone();
                if o.is_callable() {
                    self.check_depth()?;
                    if let Some(r) = o.call(self, f, args, kw) {
                        return r;
                    }
                    return Err(Exc::type_error(format!("'{}' object is not callable", self.type_name(f))));
                }
                match o.get_attr(self, f, self.syms.call)? {
                    Some(c) => self.call_kw(&c, args, kw),
                    None => Err(Exc::type_error(format!("'{}' object is not callable", self.type_name(f)))),
                }
            }
            _ => Err(Exc::type_error(format!("'{}' object is not callable", self.type_name(f)))),
        }
    }

    /// `call_kw`'s fast path: a plain function called with exactly its positional
    /// parameters (see `Code::takes_exactly`) runs in a nested dispatch loop with the
    /// arguments moved straight onto the value stack as its first locals: no binding, no
    /// locals vector.
    fn run_exact(&mut self, f: &Rc<Function>, args: Vec<Value>) -> Res<Value> {
        let base = self.stack.len();
        self.stack.extend(args);
        self.run_exact_at(f, base)
    }

    /// [`Vm::run_exact`] with the arguments already on the value stack from `base`.
    pub(crate) fn run_exact_at(&mut self, f: &Rc<Function>, base: usize) -> Res<Value> {
        if let Err(e) = self.check_depth() {
            self.stack.truncate(base);
            return Err(e);
        }
        self.stack.resize(base + f.code.nlocals(), Value::Undef);
        let depth = self.frames.len();
        self.push_frame_for(f, base, base, ReturnMode::Push);
        self.depth.enter_native();
        let r = self.run(depth);
        self.depth.leave_native();
        match r? {
            super::interp::Halt::Return(v) => Ok(v),
            super::interp::Halt::Yield(_) => {
                // Not a generator: its frame cannot yield; leave the stacks as they were.
                if let Some(fr) = self.frames.pop() {
                    self.stack.truncate(fr.ret_sp);
                }
                self.frames.truncate(depth);
                Err(Exc::runtime_error("yield from a frame that is not a generator"))
            }
        }
    }

    /// The fast entry of a built-in called positionally: `stack[func_at]` is the callee,
    /// its `argc` arguments follow; they are all replaced by the result.
    #[inline(never)]
    pub(crate) fn call_fast_native(&mut self, fast: FastNativeFn, func_at: usize, argc: usize) -> Res<()> {
        self.check_depth()?;
        let v = match fast(self, func_at + 1, argc) {
            Ok(v) => v,
            Err(e) => return Err(self.fast_native_error(e, func_at, argc)),
        };
        self.stack.truncate(func_at);
        super::interp::push_value(&mut self.stack, v);
        Ok(())
    }

    /// The `Call`/`CallKw`/`CallMethod` instructions: `argc` values above the callable.
    /// `ip` is the caller's next instruction: the slow path stores it in the caller's frame,
    /// so code that inspects the stack there (coroutine origins in debug mode, warnings)
    /// sees the calling line.
    #[inline]
    pub(crate) fn call_from_stack(&mut self, argc: usize, kwnames: Option<Value>, ip: usize) -> Res<()> {
        let func_at = self.stack.len() - argc - 1;
        // The hot path: a plain script function called positionally with the exact count.
        if let (Value::Function(f), None) = (&self.stack[func_at], &kwnames) {
            if f.code.takes_exactly(argc) {
                return self.call_plain(func_at);
            }
        }
        self.call_from_stack_slow(func_at, argc, kwnames, ip)
    }

    /// Calls the plain script function at `stack[func_at]` (see [`crate::bytecode::Code::takes_exactly`]):
    /// the arguments stay where they are and become the callee's first locals.
    #[inline(never)]
    fn call_plain(&mut self, func_at: usize) -> Res<()> {
        self.check_depth()?;
        let base = func_at + 1;
        let Value::Function(f) = &self.stack[func_at] else { return Ok(()) };
        let top = base + f.code.nlocals();
        if self.stack.len() < top {
            let f = f.clone();
            self.stack.resize(top, Value::Undef);
            self.push_frame_for(&f, base, func_at, ReturnMode::Push);
            return Ok(());
        }
        // The function stays in its stack slot for the whole call: its code and globals
        // are read from there, with no reference of its own taken.
        let handled_base = self.handled.len();
        self.frames.push_plain(&f.code, &f.globals, base, func_at, handled_base);
        if f.needs_cells() {
            self.fill_cells(func_at);
        }
        Ok(())
    }

    /// Every call from the stack other than a plain function's (see [`Vm::call_from_stack`]).
    #[inline(never)]
    fn call_from_stack_slow(&mut self, func_at: usize, argc: usize, kwnames: Option<Value>, ip: usize) -> Res<()> {
        // Instantiating a plain script class whose `__init__` takes exactly these arguments:
        // the new instance is inserted as `self` and `__init__` runs in place.
        if let (Value::Class(c), None) = (&self.stack[func_at], &kwnames) {
            // A built-in type (`str(x)`, `int(s)`, `list(it)`): straight to its constructor.
            if let Some(id) = c.builtin {
                if let Some(f) = self.builtin_constructors.get(&(id as usize)).copied() {
                    let mut a = Args { pos: SmallVec::new(), kw: Vec::new() };
                    move_args(&mut self.stack, func_at + 1, &mut a.pos);
                    self.stack.pop();
                    self.check_depth()?;
                    let v = f(self, &mut a)?;
                    self.stack.push(v);
                    return Ok(());
                }
            }
            if let Some(f) = self.plain_init(c) {
                if f.code.takes_exactly(argc + 1) {
                    self.check_depth()?;
                    let inst = super::value::Instance::new_empty_rc(c.clone());
                    // The instance takes the class's slot as `self`, before the arguments.
                    let old = std::mem::replace(&mut self.stack[func_at], Value::Instance(inst.clone()));
                    drop(old);
                    let top = func_at + f.code.nlocals();
                    if self.stack.len() < top {
                        self.stack.resize(top, Value::Undef);
                    }
                    self.push_frame_for(&f, func_at, func_at, ReturnMode::Init(Value::Instance(inst)));
                    return Ok(());
                }
            }
        }
        // Built-in functions and methods: arguments go straight from the stack to the
        // native's inline argument vector.
        if let (Value::Native(n), None) = (&self.stack[func_at], &kwnames) {
            // With no arguments at all (a method called through its class without a
            // receiver, as `dict.get()`), the general path below words the error.
            if let (Some(fast), None, true) = (n.fast, &n.receiver, argc > 0) {
                return self.call_fast_native(fast, func_at, argc);
            }
            let n = n.clone();
            let mut a = Args { pos: SmallVec::new(), kw: Vec::new() };
            if let Some(r) = &n.receiver {
                a.pos.push(r.clone());
            }
            move_args(&mut self.stack, func_at + 1, &mut a.pos);
            self.stack.pop();
            self.check_depth()?;
            let v = match (n.func)(self, &mut a) {
                Ok(v) => v,
                Err(e) => return Err(self.unbound_native_error(e, &n, argc, a.pos.first())),
            };
            self.stack.push(v);
            return Ok(());
        }
        if let (Value::Function(f), None) = (&self.stack[func_at], &kwnames) {
            if f.code.resumable_takes_exactly(argc) {
                let f = f.clone();
                // (A coroutine made in debug mode records the line that made it.)
                if let Some(caller) = self.frames.last_mut() {
                    caller.ip = ip;
                }
                return self.make_gen_from_stack(&f, func_at);
            }
        }
        if let Some(caller) = self.frames.last_mut() {
            caller.ip = ip;
        }
        let func = self.stack[func_at].clone();
        let mut args: Vec<Value> = self.stack.drain(func_at + 1..).collect();
        self.stack.pop();
        let kw = match kwnames {
            Some(Value::Tuple(names)) => {
                let k = names.len();
                let vals = args.split_off(args.len() - k);
                names
                    .iter()
                    .zip(vals)
                    .map(|(n, v)| match n {
                        Value::Str(s) => (Sym::new(s.as_str()), v),
                        _ => (Sym::new(""), v),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        self.call_push(func, args, kw)
    }

    /// Calls from the dispatch loop: script functions get a frame pushed (no recursion);
    /// everything else runs now and its result is pushed.
    fn call_push(&mut self, func: Value, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Res<()> {
        match &func {
            Value::Function(f) => {
                let frame = self.bind_frame(f, args, kw, ReturnMode::Push)?;
                if f.code.flags.generator || f.code.flags.coroutine || f.code.flags.async_generator {
                    let g = self.make_gen(f, frame);
                    self.push(g);
                } else {
                    self.check_depth()?;
                    self.push_detached(frame);
                }
                Ok(())
            }
            Value::BoundMethod(m) => {
                let mut a = Vec::with_capacity(args.len() + 1);
                a.push(m.receiver.clone());
                a.extend(args);
                let f = m.func.clone();
                self.call_push(f, a, kw)
            }
            Value::Class(c) => {
                // A script class with a script `__init__` and the default `__new__`: push the
                // `__init__` frame and let its return push the instance.
                if c.layout == Layout::Object && c.builtin.is_none() && !self.has_custom_new(c) {
                    if let Some(Value::Function(init)) = c.lookup(self.syms.init) {
                        if !(init.code.flags.generator || init.code.flags.coroutine) {
                            let inst = Value::instance(c.clone(), Default::default());
                            let mut a = Vec::with_capacity(args.len() + 1);
                            a.push(inst.clone());
                            a.extend(args);
                            let frame = self.bind_frame(&init, a, kw, ReturnMode::Init(inst))?;
                            self.check_depth()?;
                            self.push_detached(frame);
                            return Ok(());
                        }
                    }
                }
                let c = c.clone();
                let v = self.instantiate(&c, args, kw)?;
                self.push(v);
                Ok(())
            }
            _ => {
                let v = self.call_kw(&func, args, kw)?;
                self.push(v);
                Ok(())
            }
        }
    }

    /// `CallEx`: `f(*args, **kwargs)`.
    pub(crate) fn call_ex(&mut self, func: Value, args: Value, kwargs: Option<Value>) -> Res<()> {
        let args = match args {
            // `f(*xs)` builds a tuple no one else sees: its items move out and it is freed
            // at once, so a call with many arguments holds them twice only for a moment.
            Value::Tuple(mut t) => match Rc::get_mut(&mut t) {
                Some(items) => items.iter_mut().map(std::mem::take).collect(),
                None => t.to_vec(),
            },
            Value::List(l) if Rc::strong_count(&l) == 1 => std::mem::take(&mut *l.items.borrow_mut()),
            Value::List(l) => l.items.borrow().clone(),
            other => self.collect(&other).map_err(|e| self.star_arg_error(e, &other, Some(&func)))?,
        };
        let mut kw = Vec::new();
        if let Some(Value::Dict(d)) = kwargs {
            for e in d.d.borrow().iter() {
                match &e.key {
                    Value::Str(s) => kw.push((Sym::new(s.as_str()), e.value.clone())),
                    _ => return Err(Exc::type_error("keywords must be strings")),
                }
            }
        }
        self.call_push(func, args, kw)
    }

    /// A new frame running `f` (see [`Vm::push_frame_for`] for pushing one).
    #[inline(always)]
    fn new_frame(f: &Rc<Function>, base: usize, ret_sp: usize, ret: ReturnMode, handled_base: usize) -> Frame {
        let code = f.code.clone();
        let cells = if f.needs_cells() { Self::frame_cells(f) } else { Vec::new() };
        Frame {
            code,
            ip: 0,
            base,
            ret_sp,
            cells,
            globals: f.globals.clone(),
            handlers: Vec::new(),
            namespace: None,
            ret,
            handled_base,
        }
    }

    /// Pushes a new frame running `f`. `extend(once_with(..))` makes room first and then
    /// builds the frame in its slot; `push` would build it in a temporary (which must
    /// survive a possible reallocation) and copy it over with wide loads that stall on the
    /// temporary's narrower stores (about 8% of a script call).
    ///
    /// The frame is built from constants and plain fields only (`ReturnMode::Push`, no
    /// cells), so every field is one store into the slot; a mode or cells passed through the
    /// builder would be assembled in a temporary and copied with stalling wide loads. Both
    /// are set afterwards when needed.
    #[inline(always)]
    fn push_frame_for(&mut self, f: &Rc<Function>, base: usize, ret_sp: usize, ret: ReturnMode) {
        let handled_base = self.handled.len();
        self.frames.push_plain(&f.code, &f.globals, base, ret_sp, handled_base);
        if let Some(fr) = self.frames.last_mut() {
            if !matches!(ret, ReturnMode::Push) {
                // The frame's `Push` holds nothing: replacing it drops nothing.
                std::mem::forget(std::mem::replace(&mut fr.ret, ret));
            }
            if f.needs_cells() {
                fr.cells = Self::frame_cells(f);
            }
        }
    }

    /// Gives the frame just pushed for the function at `stack[func_at]` its cells.
    #[inline(never)]
    fn fill_cells(&mut self, func_at: usize) {
        let Value::Function(f) = &self.stack[func_at] else { return };
        let cells = Self::frame_cells(f);
        if let Some(fr) = self.frames.last_mut() {
            fr.cells = cells;
        }
    }

    /// A new frame's cells: fresh cell variables, then the function's closure.
    #[inline(never)]
    fn frame_cells(f: &Function) -> Vec<Rc<RefCell<Value>>> {
        let code = &f.code;
        let mut cells: Vec<Rc<RefCell<Value>>> = Vec::with_capacity(code.cellvars.len() + code.freevars.len());
        for _ in 0..code.cellvars.len() {
            cells.push(super::value::new_cell(Value::Undef));
        }
        cells.extend(f.closure.iter().cloned());
        cells
    }

    /// Binds arguments to a function's parameters and builds its frame.
    pub(crate) fn bind_frame(
        &mut self,
        f: &Rc<Function>,
        args: Vec<Value>,
        kw: Vec<(Sym, Value)>,
        ret: ReturnMode,
    ) -> Res<Detached> {
        let code = f.code.clone();
        let nparams = code.argcount as usize;
        let nkwonly = code.kwonlyargcount as usize;
        // A generator's frame keeps this buffer (its locals, then its operand stack) for as long
        // as it lives, so it gets what earlier frames of the code held while suspended (at
        // least one value above the locals: the usual depth at a `yield` or `await`).
        let resumable = code.flags.generator || code.flags.coroutine || code.flags.async_generator;
        let cap =
            if resumable { (code.nlocals() + 1).max(code.suspend_len.get() as usize) } else { code.nlocals() + 8 };
        let mut locals: Vec<Value> = Vec::with_capacity(cap);
        locals.resize(code.nlocals(), Value::Undef);
        let fname = || f.qualname.borrow().to_string();
        let npos = args.len();
        // Positional arguments.
        let mut extra = Vec::new();
        for (i, a) in args.into_iter().enumerate() {
            if i < nparams {
                locals[i] = a;
            } else {
                extra.push(a);
            }
        }
        let mut slot = nparams + nkwonly;
        if code.flags.varargs {
            locals[slot] = Value::tuple(extra);
            slot += 1;
        } else if !extra.is_empty() {
            let ndef = f.defaults.len();
            let kw_given = kw.iter().filter(|(k, _)| code.varnames[nparams..nparams + nkwonly].contains(k)).count();
            let takes = if ndef > 0 {
                format!("from {} to {} positional arguments", nparams - ndef, nparams)
            } else {
                format!("{} positional argument{}", nparams, if nparams == 1 { "" } else { "s" })
            };
            let given = if kw_given > 0 {
                format!(
                    "{} positional argument{} (and {} keyword-only argument{}) were given",
                    npos,
                    if npos == 1 { "" } else { "s" },
                    kw_given,
                    if kw_given == 1 { "" } else { "s" }
                )
            } else {
                format!("{} {} given", npos, if npos == 1 { "was" } else { "were" })
            };
            return Err(Exc::type_error(format!("{}() takes {} but {}", fname(), takes, given)));
        }
        let kwargs_slot = if code.flags.varkw { Some(slot) } else { None };
        let mut kwargs: Vec<Value> = Vec::new();
        let mut posonly_as_kw: Vec<String> = Vec::new();
        for (name, v) in kw {
            let pos = code.varnames[..nparams + nkwonly].iter().position(|n| *n == name);
            match pos {
                Some(p) if p >= code.posonlyargcount as usize => {
                    if !locals[p].is_undef() {
                        return Err(Exc::type_error(format!(
                            "{}() got multiple values for argument '{}'",
                            fname(),
                            name
                        )));
                    }
                    locals[p] = v;
                }
                other => {
                    if kwargs_slot.is_some() {
                        kwargs.push(Value::str(&name.as_rc()));
                        kwargs.push(v);
                    } else if other.is_some() {
                        posonly_as_kw.push(name.to_string_owned());
                    } else {
                        return Err(Exc::type_error(format!(
                            "{}() got an unexpected keyword argument '{}'",
                            fname(),
                            name
                        )));
                    }
                }
            }
        }
        if !posonly_as_kw.is_empty() {
            return Err(Exc::type_error(format!(
                "{}() got some positional-only arguments passed as keyword arguments: '{}'",
                fname(),
                posonly_as_kw.join(", ")
            )));
        }
        if let Some(s) = kwargs_slot {
            locals[s] = self.new_dict_from_pairs(kwargs)?;
        }
        // Defaults and missing arguments.
        let ndef = f.defaults.len();
        let mut missing = Vec::new();
        for (i, slot) in locals.iter_mut().enumerate().take(nparams) {
            if slot.is_undef() {
                if i >= nparams - ndef {
                    *slot = f.defaults[i - (nparams - ndef)].clone();
                } else {
                    missing.push(code.varnames[i].to_string_owned());
                }
            }
        }
        if !missing.is_empty() {
            return Err(Exc::type_error(format!(
                "{}() missing {} required positional argument{}: {}",
                fname(),
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                name_list(&missing)
            )));
        }
        for (slot, name) in
            locals[nparams..nparams + nkwonly].iter_mut().zip(&code.varnames[nparams..nparams + nkwonly])
        {
            if slot.is_undef() {
                match f.kwdefaults.iter().find(|(k, _)| k == name) {
                    Some((_, v)) => *slot = v.clone(),
                    None => missing.push(name.to_string_owned()),
                }
            }
        }
        if !missing.is_empty() {
            return Err(Exc::type_error(format!(
                "{}() missing {} required keyword-only argument{}: {}",
                fname(),
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                name_list(&missing)
            )));
        }
        let frame = Self::new_frame(f, 0, 0, ret, self.handled.len());
        for (cell, param) in &code.cell_params {
            let v = std::mem::take(&mut locals[*param as usize]);
            *frame.cells[*cell as usize].borrow_mut() = v;
        }
        Ok(Detached { frame, values: locals })
    }

    /// Calls the generator (or coroutine) function `f` at `stack[func_at]`, whose arguments
    /// above it are exactly its parameters (see [`crate::bytecode::Code::resumable_takes_exactly`]):
    /// they move straight into the new frame's buffer, which is the generator's.
    fn make_gen_from_stack(&mut self, f: &Rc<Function>, func_at: usize) -> Res<()> {
        let code = &f.code;
        let cap = (code.nlocals() + 1).max(code.suspend_len.get() as usize);
        let mut locals: Vec<Value> = Vec::with_capacity(cap);
        locals.extend(self.stack.drain(func_at + 1..));
        locals.resize(code.nlocals(), Value::Undef);
        let frame = Self::new_frame(f, 0, 0, ReturnMode::Push, self.handled.len());
        let g = self.make_gen(f, Detached { frame, values: locals });
        self.stack[func_at] = g;
        Ok(())
    }

    /// Wraps a bound frame into a generator, coroutine or async generator.
    fn make_gen(&mut self, f: &Rc<Function>, frame: Detached) -> Value {
        let kind = if f.code.flags.coroutine {
            GenKind::Coroutine
        } else if f.code.flags.async_generator {
            GenKind::AsyncGenerator
        } else {
            GenKind::Generator
        };
        let g = Rc::new(GenObj {
            kind,
            frame: RefCell::new(super::gen::GenFrame::new(frame)),
            state: Cell::new(GenState::Created),
            extra: {
                let names = GenObj::names_for(&f.code, &f.name.borrow(), &f.qualname.borrow());
                let origin = (kind == GenKind::Coroutine && super::gen::origin_tracking()).then(|| {
                    self.frames
                        .iter()
                        .map(|fr| super::other::TraceEntry {
                            file: fr.code.filename.clone(),
                            line: fr.line(),
                            name: fr.code.name.clone(),
                        })
                        .collect()
                });
                super::gen::GenExtra::cell(names, origin)
            },
            code: f.code.clone(),
            awaited: Cell::new(false),
            ag_running: Cell::new(false),
            chain_levels: Cell::new(0),
        });
        super::gc::track_gen(&g);
        Value::Gen(g)
    }

    /// `cls(*args, **kw)`.
    pub fn instantiate(&mut self, c: &Rc<Class>, args: Vec<Value>, kw: Vec<(Sym, Value)>) -> Res<Value> {
        if let Some(id) = c.builtin {
            let ctor = self.builtin_constructors.get(&(id as usize)).copied();
            return match ctor {
                Some(f) => {
                    let mut a = Args { pos: args.into_iter().collect(), kw };
                    f(self, &mut a)
                }
                None => Err(Exc::type_error(format!("cannot create '{}' instances", c.tp_name()))),
            };
        }
        // `OSError(errno, ...)` makes the errno's subclass.
        let picked = match c.layout {
            Layout::Exception => crate::builtins::exceptions::os_error_class(self, c, &args),
            _ => None,
        };
        let c = picked.as_ref().unwrap_or(c);
        // `__new__`, if a script class defines one.
        let new_fn = if self.has_custom_new(c) { c.lookup(self.syms.new) } else { None };
        let inst = match new_fn {
            Some(nf @ (Value::Function(_) | Value::Descriptor(_))) => {
                let nf = match &nf {
                    Value::Descriptor(d) => match &**d {
                        super::value::Descriptor::StaticMethod(f) => f.clone(),
                        _ => nf.clone(),
                    },
                    _ => nf,
                };
                let mut a = vec![Value::Class(c.clone())];
                a.extend(args.iter().cloned());
                let obj = self.call_kw(&nf, a, kw.clone())?;
                let is_inst = match &obj {
                    Value::Instance(i) => i.class.is_subclass(c),
                    _ => false,
                };
                if !is_inst {
                    return Ok(obj);
                }
                obj
            }
            _ => self.new_instance(c, &args)?,
        };
        match c.lookup(self.syms.init) {
            Some(init @ Value::Function(_)) => {
                let mut a = Vec::with_capacity(args.len() + 1);
                a.push(inst.clone());
                a.extend(args);
                let r = self.call_kw(&init, a, kw)?;
                if !r.is_none() {
                    return Err(Exc::type_error(format!(
                        "__init__() should return None, not '{}'",
                        self.type_name(&r)
                    )));
                }
            }
            Some(Value::Native(n)) => {
                if n.owner == Some("object")
                    && (!args.is_empty() || !kw.is_empty())
                    && c.layout == Layout::Object
                    && !self.has_custom_new(c)
                {
                    return Err(Exc::type_error(format!("{}() takes no arguments", c.tp_name())));
                }
                let mut a = Args { pos: SmallVec::new(), kw };
                a.pos.push(inst.clone());
                a.pos.extend(args);
                (n.func)(self, &mut a)?;
            }
            _ => {
                if (!args.is_empty() || !kw.is_empty()) && c.layout == Layout::Object {
                    return Err(Exc::type_error(format!("{}() takes no arguments", c.tp_name())));
                }
            }
        }
        Ok(inst)
    }

    /// The script `__init__` that instantiating `c` runs in place of a call: `c` is a
    /// plain script class with the default `__new__`. Cached per class until any class
    /// namespace changes.
    #[inline]
    fn plain_init(&self, c: &Rc<Class>) -> Option<Rc<Function>> {
        if let Some(f) = c.cache.plain_init() {
            return f;
        }
        let f = if c.layout == Layout::Object && c.builtin.is_none() && !self.has_custom_new(c) {
            match c.lookup(self.syms.init) {
                Some(Value::Function(f)) => Some(f),
                _ => None,
            }
        } else {
            None
        };
        c.cache.set_plain_init(f.as_ref());
        f
    }

    /// True when a class (or a base other than `object`) defines `__new__`.
    pub fn has_custom_new(&self, c: &Rc<Class>) -> bool {
        c.with_lookup(self.syms.new, |v| match v {
            None => false,
            Some(Value::Descriptor(d)) => match &**d {
                super::value::Descriptor::StaticMethod(Value::Native(n)) => n.owner != Some("object"),
                _ => true,
            },
            Some(_) => true,
        })
    }

    /// A fresh instance of a script class (exceptions get their `args`).
    pub fn new_instance(&mut self, c: &Rc<Class>, args: &[Value]) -> Res<Value> {
        if c.layout == Layout::Exception {
            return Ok(Value::Instance(self.new_exception_object(c.clone(), args.to_vec())));
        }
        if c.layout == Layout::Builtin {
            return Err(Exc::new(
                ExcKind::NotImplementedError,
                format!("aio cannot yet subclass the built-in type of '{}'", c.name),
            ));
        }
        Ok(Value::instance(c.clone(), Default::default()))
    }

    /// `MakeFunction`.
    pub(crate) fn make_function(
        &mut self,
        code: Value,
        globals: Rc<super::value::Module>,
        defaults: Option<Value>,
        kwdefaults: Option<Value>,
        closure: Option<Value>,
    ) -> Res<Value> {
        let Value::Code(code) = code else { return Err(Exc::runtime_error("MakeFunction without code")) };
        let defaults = match defaults {
            Some(Value::Tuple(t)) => t.to_vec(),
            _ => Vec::new(),
        };
        let kwdefaults = match kwdefaults {
            Some(Value::Dict(d)) => {
                d.d.borrow()
                    .iter()
                    .map(|e| match &e.key {
                        Value::Str(s) => (Sym::new(s.as_str()), e.value.clone()),
                        _ => (Sym::new(""), e.value.clone()),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let closure = match closure {
            Some(Value::Tuple(t)) => t
                .iter()
                .filter_map(|c| match c {
                    Value::Cell(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let doc = match &code.doc {
            Some(d) => Value::str(d),
            None => Value::None,
        };
        let f = Rc::new(Function {
            name: RefCell::new(code.name.clone()),
            qualname: RefCell::new(code.qualname.clone()),
            code,
            globals,
            defaults,
            kwdefaults,
            closure,
            doc,
            dict: RefCell::new(None),
            annotations: RefCell::new(None),
        });
        super::gc::track_function(&f);
        Ok(Value::Function(f))
    }

    /// `__build_class__(body, name, *bases, **kw)`.
    pub fn build_class(&mut self, body: Value, name: Value, bases: Vec<Value>, kw: Vec<(Sym, Value)>) -> Res<Value> {
        let Value::Function(body) = body else {
            return Err(Exc::type_error("__build_class__: func must be a function"));
        };
        let Value::Str(name) = name else { return Err(Exc::type_error("__build_class__: name is not a string")) };
        let mut base_classes = Vec::new();
        // A base that is not a class may stand for others through `__mro_entries__`
        // (`class C(list[int])` derives from `list`); the bases as written are kept in
        // `__orig_bases__`.
        let mut orig_bases = None;
        for b in &bases {
            match b {
                Value::Class(c) => base_classes.push(c.clone()),
                other => {
                    let entries = match self.get_attr_opt(other, Sym::new("__mro_entries__"))? {
                        Some(f) => self.call(&f, vec![Value::tuple(bases.clone())])?,
                        None => {
                            return Err(Exc::type_error(format!("bases must be types, not {}", self.type_name(other))))
                        }
                    };
                    let Value::Tuple(entries) = entries else {
                        return Err(Exc::type_error("__mro_entries__ must return a tuple"));
                    };
                    for e in entries.iter() {
                        match e {
                            Value::Class(c) => base_classes.push(c.clone()),
                            other => {
                                return Err(Exc::type_error(format!(
                                    "bases must be types, not {}",
                                    self.type_name(other)
                                )))
                            }
                        }
                    }
                    orig_bases = Some(Value::tuple(bases.clone()));
                }
            }
        }
        let metaclass = Sym::new("metaclass");
        if let Some((_, m)) = kw.iter().find(|(k, _)| *k == metaclass) {
            // Only `type` itself: a metaclass aio cannot honour is refused, not ignored.
            let is_type = matches!(m, Value::Class(c) if c.builtin == Some(super::TypeId::Type));
            if !is_type {
                let what = match m {
                    Value::Class(c) => c.name.to_string(),
                    other => self.type_name(other).to_string(),
                };
                return Err(Exc::new(
                    ExcKind::NotImplementedError,
                    format!("aio cannot yet create a class with a metaclass ('{what}')"),
                ));
            }
        }
        let kw: Vec<(Sym, Value)> = kw.into_iter().filter(|(k, _)| *k != metaclass).collect();
        if base_classes.is_empty() {
            base_classes.push(self.type_class(super::TypeId::Object).clone());
        }
        let ns = DictObj::new_rc(super::dict::Dict::new());
        let mut frame = self.bind_frame(&body, vec![], vec![], ReturnMode::Push)?;
        frame.frame.namespace = Some(ns.clone());
        let cell = self.run_frame(frame)?;
        let mro = c3_mro(&base_classes).ok_or_else(|| {
            Exc::type_error(format!(
                "Cannot create a consistent method resolution\norder (MRO) for bases {}",
                base_classes.iter().map(|b| b.name.to_string()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let layout = if base_classes.iter().any(|b| b.layout == Layout::Exception) {
            Layout::Exception
        } else if base_classes.iter().any(|b| b.layout == Layout::Builtin && b.builtin != Some(super::TypeId::Object)) {
            Layout::Builtin
        } else {
            Layout::Object
        };
        let mut dict = rustc_hash::FxHashMap::default();
        for e in ns.d.borrow().iter() {
            if let Value::Str(k) = &e.key {
                dict.insert(Sym::new(k.as_str()), e.value.clone());
            }
        }
        if let Some(orig) = orig_bases {
            dict.insert(Sym::new("__orig_bases__"), orig);
        }
        if dict.contains_key(&self.syms.eq) && !dict.contains_key(&self.syms.hash) {
            dict.insert(self.syms.hash, Value::None);
        }
        // `__init_subclass__` and `__class_getitem__` are classmethods without the decorator.
        for name in [self.syms.init_subclass, self.syms.class_getitem] {
            if let Some(f @ Value::Function(_)) = dict.get(&name) {
                let m = Value::descriptor(super::value::Descriptor::ClassMethod(f.clone()));
                dict.insert(name, m);
            }
        }
        let qualname = match dict.get(&self.syms.qualname) {
            Some(Value::Str(q)) => Rc::from(q.as_str()),
            _ => Rc::from(name.as_str()),
        };
        let class = Rc::new(Class {
            name: Rc::from(name.as_str()),
            qualname: RefCell::new(qualname),
            bases: base_classes,
            mro,
            dict: RefCell::new(dict),
            layout,
            builtin: None,
            version: Cell::new(0),
            cache: Default::default(),
            tp_name: Default::default(),
        });
        super::gc::track_class(&class);
        super::value::bump_class_epoch();
        if let Value::Cell(c) = cell {
            *c.borrow_mut() = Value::Class(class.clone());
        }
        // `__set_name__` on attributes that define it.
        let attrs: Vec<(Sym, Value)> = class.dict.borrow().iter().map(|(k, v)| (*k, v.clone())).collect();
        for (k, v) in attrs {
            if let Value::Instance(i) = &v {
                if let Some(sn) = i.class.lookup(self.syms.set_name) {
                    self.call(&sn, vec![v.clone(), Value::Class(class.clone()), Value::str(&k.as_rc())])?;
                }
            }
        }
        self.init_subclass(&class, kw)?;
        Ok(Value::Class(class))
    }
}

/// C3 linearisation of the bases (the result excludes the class itself).
fn c3_mro(bases: &[Rc<Class>]) -> Option<Vec<Rc<Class>>> {
    let mut seqs: Vec<Vec<Rc<Class>>> = bases
        .iter()
        .map(|b| {
            let mut v = vec![b.clone()];
            v.extend(b.mro.iter().cloned());
            v
        })
        .collect();
    seqs.push(bases.to_vec());
    let mut out: Vec<Rc<Class>> = Vec::new();
    loop {
        seqs.retain(|s| !s.is_empty());
        if seqs.is_empty() {
            return Some(out);
        }
        let mut found = None;
        for s in &seqs {
            let head = &s[0];
            if !seqs.iter().any(|t| t[1..].iter().any(|c| Rc::ptr_eq(c, head))) {
                found = Some(head.clone());
                break;
            }
        }
        let head = found?;
        for s in seqs.iter_mut() {
            if Rc::ptr_eq(&s[0], &head) {
                s.remove(0);
            }
        }
        out.push(head);
    }
}

/// `'a'`, `'a' and 'b'`, `'a', 'b', and 'c'` as CPython lists missing arguments.
fn name_list(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match q.len() {
        1 => q[0].clone(),
        2 => format!("{} and {}", q[0], q[1]),
        _ => format!("{}, and {}", q[..q.len() - 1].join(", "), q[q.len() - 1]),
    }
}

/// Moves `stack[at..]` to the end of `pos`, truncating `stack` to `at`. A few arguments
/// are popped and put back in order, which costs less than a `Drain`.
#[inline]
fn move_args(stack: &mut Vec<Value>, at: usize, pos: &mut SmallVec<[Value; 4]>) {
    let n = stack.len().saturating_sub(at);
    if n > 4 {
        pos.extend(stack.drain(at..));
        return;
    }
    let start = pos.len();
    for _ in 0..n {
        pos.push(super::interp::pop_top(stack));
    }
    pos[start..].reverse();
}

impl Vm {
    /// The error of a fast entry (`call_fast_native`) as the ordinary entry would report
    /// it: a method called through its class words its receiver errors as CPython.
    #[cold]
    fn fast_native_error(&self, e: Exc, func_at: usize, argc: usize) -> Exc {
        match self.stack.get(func_at) {
            Some(Value::Native(n)) => {
                let n = n.clone();
                self.unbound_native_error(e, &n, argc, self.stack.get(func_at + 1))
            }
            _ => e,
        }
    }

    /// A built-in method called through its class (`list.append()`, `dict.get(None, 1)`)
    /// without a receiver, or with one that is not of its type, fails with CPython's words,
    /// whatever the native itself said: `unbound method list.append() needs an argument`,
    /// `descriptor '__neg__' of 'int' object needs an argument`, `descriptor 'get' for
    /// 'dict' objects doesn't apply to a 'NoneType' object`, `descriptor '__add__' requires
    /// a 'int' object but received a 'str'`. `first` is the first argument, if any.
    #[cold]
    fn unbound_native_error(
        &self,
        e: Exc,
        n: &super::value::NativeFunction,
        argc: usize,
        first: Option<&Value>,
    ) -> Exc {
        let (None, Some(owner)) = (&n.receiver, n.owner) else { return e };
        let name = n.name;
        // `__new__` is a static method, with errors of its own (`object.__new__(): not
        // enough arguments`, `list.__new__(X): X is not a type object (int)`).
        if name == "__new__" {
            return e;
        }
        let slot = is_slot_wrapper(owner, name);
        if argc == 0 {
            if !matches!(e, Exc::Msg(ExcKind::TypeError, _)) {
                return e;
            }
            return Exc::type_error(if slot {
                format!("descriptor '{name}' of '{owner}' object needs an argument")
            } else {
                format!("unbound method {owner}.{name}() needs an argument")
            });
        }
        // A receiver of another type than the method's own (a built-in type's): what went
        // wrong is the receiver. A class method's first argument is its class.
        let Some(first) = first else { return e };
        let Some(id) = super::TypeId::ALL.iter().find(|t| t.name() == owner) else { return e };
        let own = self.type_class(*id);
        let fits = match first {
            Value::Class(c) => c.is_subclass(own) || self.class_of(first).is_subclass(own),
            _ => self.class_of(first).is_subclass(own),
        };
        if fits {
            return e;
        }
        let t = self.type_name(first);
        Exc::type_error(if slot {
            format!("descriptor '{name}' requires a '{owner}' object but received a '{t}'")
        } else {
            format!("descriptor '{name}' for '{owner}' objects doesn't apply to a '{t}' object")
        })
    }
}

/// True when CPython's `owner.name` is a slot wrapper (`int.__add__`), whose receiver
/// errors are worded `descriptor '__add__' of 'int' object ...`, rather than a method
/// descriptor (`list.append`, and the dunders below), worded `unbound method ...`.
fn is_slot_wrapper(owner: &str, name: &str) -> bool {
    const METHODS: &[&str] = &[
        "__format__",
        "__dir__",
        "__sizeof__",
        "__round__",
        "__trunc__",
        "__floor__",
        "__ceil__",
        "__getnewargs__",
        "__reduce__",
        "__reduce_ex__",
        "__getstate__",
        "__setstate__",
        "__reversed__",
        "__bytes__",
        "__complex__",
        "__alloc__",
        "__enter__",
        "__exit__",
        "__instancecheck__",
        "__subclasscheck__",
        "__subclasses__",
        "__set_name__",
    ];
    let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
    let method = METHODS.contains(&name)
        || (name == "__contains__" && matches!(owner, "dict" | "set" | "frozenset"))
        || (name == "__getitem__" && matches!(owner, "list" | "dict"));
    dunder && !method
}
