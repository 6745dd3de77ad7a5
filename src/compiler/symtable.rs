//! Scope analysis: decides for every name in every scope whether it is local, a cell,
//! free (captured from an enclosing function), global, or looked up by name (class bodies).
//!
//! Scopes are keyed by the address of their AST node (the AST is not moved between this
//! pass and code generation).

use crate::ast::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// What kind of scope a block of code is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// The module body.
    Module,
    /// A `def`, `lambda` or comprehension.
    Function,
    /// A class body.
    Class,
}

/// How a name is accessed in a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A fast local slot.
    Local,
    /// A local captured by an inner function (lives in a cell).
    Cell,
    /// Captured from an enclosing function.
    Free,
    /// Declared `global` (or implicitly global from a function).
    Global,
    /// Looked up in the namespace, then globals, then builtins (module and class bodies).
    Name,
}

/// The facts about one scope.
#[derive(Debug)]
pub struct Scope {
    /// Module, function or class.
    pub kind: ScopeKind,
    /// Parameters in order.
    pub params: Vec<String>,
    /// Names bound in this scope (assignment, import, def, for target, ...).
    pub assigned: FxHashSet<String>,
    /// Names used (read) here.
    pub used: FxHashSet<String>,
    /// `global` declarations.
    pub globals: FxHashSet<String>,
    /// `nonlocal` declarations.
    pub nonlocals: FxHashSet<String>,
    /// Names whose resolution is final, filled by `resolve`.
    pub access: FxHashMap<String, Access>,
    /// Cell variables in a stable order.
    pub cellvars: Vec<String>,
    /// Free variables in a stable order.
    pub freevars: Vec<String>,
    /// Child scope ids.
    pub children: Vec<usize>,
    /// Parent scope id.
    pub parent: Option<usize>,
    /// True for comprehension scopes (walrus binds in the enclosing scope).
    pub is_comprehension: bool,
    /// Contains `yield` or `yield from`.
    pub is_generator: bool,
    /// Locals in first-binding order (parameters first).
    pub local_order: Vec<String>,
    /// The class body needs a `__class__` cell (a method uses `super` or `__class__`).
    pub needs_class_cell: bool,
}

impl Scope {
    fn new(kind: ScopeKind, parent: Option<usize>) -> Scope {
        Scope {
            kind,
            params: Vec::new(),
            assigned: FxHashSet::default(),
            used: FxHashSet::default(),
            globals: FxHashSet::default(),
            nonlocals: FxHashSet::default(),
            access: FxHashMap::default(),
            cellvars: Vec::new(),
            freevars: Vec::new(),
            children: Vec::new(),
            parent,
            is_comprehension: false,
            is_generator: false,
            local_order: Vec::new(),
            needs_class_cell: false,
        }
    }
    fn bind(&mut self, name: &str) {
        if self.assigned.insert(name.to_string()) {
            self.local_order.push(name.to_string());
        }
    }
    /// How `name` is accessed here (names never seen are global or by-name).
    pub fn lookup(&self, name: &str) -> Access {
        if let Some(a) = self.access.get(name) {
            return *a;
        }
        match self.kind {
            ScopeKind::Function => Access::Global,
            _ => Access::Name,
        }
    }
}

/// An error found during scope analysis, with the span of the offending node.
pub struct ScopeError {
    /// The message, as CPython words it.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// All scopes of a module, keyed by AST node address.
pub struct SymTable {
    /// Every scope; index 0 is the module.
    pub scopes: Vec<Scope>,
    /// Node address to scope id.
    pub by_node: FxHashMap<usize, usize>,
}

/// Analyses a module.
pub fn analyse(module: &Module) -> Result<SymTable, ScopeError> {
    let mut b = Builder {
        scopes: vec![Scope::new(ScopeKind::Module, None)],
        by_node: FxHashMap::default(),
        cur: 0,
        error: None,
    };
    for s in &module.body {
        b.stmt(s);
    }
    if let Some(e) = b.error {
        return Err(e);
    }
    let mut t = SymTable { scopes: b.scopes, by_node: b.by_node };
    t.resolve(0, &[])?;
    Ok(t)
}

/// Key of an AST node in `SymTable::by_node`.
pub fn node_key<T>(node: &T) -> usize {
    node as *const T as usize
}

struct Builder {
    scopes: Vec<Scope>,
    by_node: FxHashMap<usize, usize>,
    cur: usize,
    error: Option<ScopeError>,
}

impl Builder {
    fn err(&mut self, message: String, span: Span) {
        if self.error.is_none() {
            self.error = Some(ScopeError { message, span });
        }
    }
    fn scope(&mut self) -> &mut Scope {
        &mut self.scopes[self.cur]
    }
    fn push(&mut self, kind: ScopeKind, key: usize) -> usize {
        let id = self.scopes.len();
        self.scopes.push(Scope::new(kind, Some(self.cur)));
        self.scopes[self.cur].children.push(id);
        self.by_node.insert(key, id);
        let prev = self.cur;
        self.cur = id;
        prev
    }
    fn bind(&mut self, name: &str, span: Span) {
        let s = &self.scopes[self.cur];
        if s.kind != ScopeKind::Module && (s.globals.contains(name) || s.nonlocals.contains(name)) {
            return;
        }
        let _ = span;
        self.scope().bind(name);
    }
    fn use_name(&mut self, name: &str) {
        self.scope().used.insert(name.to_string());
        if name == "super" || name == "__class__" {
            self.mark_class_cell();
        }
    }
    fn mark_class_cell(&mut self) {
        // The innermost function inside a class body needs `__class__`.
        let mut id = self.cur;
        while let Some(p) = self.scopes[id].parent {
            if self.scopes[id].kind == ScopeKind::Function && self.scopes[p].kind == ScopeKind::Class {
                self.scopes[p].needs_class_cell = true;
                self.scopes[self.cur].used.insert("__class__".to_string());
                return;
            }
            id = p;
        }
    }

    fn params(&mut self, p: &Parameters) {
        // CPython's slot order: positional, keyword-only, then *args and **kwargs.
        let all =
            p.posonly.iter().chain(p.args.iter()).chain(p.kwonly.iter()).chain(p.vararg.iter()).chain(p.kwarg.iter());
        for param in all {
            let s = self.scope();
            s.params.push(param.name.clone());
            s.bind(&param.name);
        }
    }
    fn param_defaults(&mut self, p: &Parameters) {
        for param in p.posonly.iter().chain(p.args.iter()).chain(p.kwonly.iter()) {
            if let Some(d) = &param.default {
                self.expr(d);
            }
        }
        for param in p.posonly.iter().chain(&p.args).chain(&p.vararg).chain(&p.kwonly).chain(&p.kwarg) {
            if let Some(a) = &param.annotation {
                self.expr(a);
            }
        }
    }

    fn body(&mut self, b: &[Stmt]) {
        for s in b {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Assign { targets, value } => {
                self.expr(value);
                for t in targets {
                    self.target(t);
                }
            }
            StmtKind::AugAssign { target, value, .. } => {
                self.expr(value);
                if let ExprKind::Name(n) = &target.kind {
                    self.use_name(n);
                }
                self.target(target);
            }
            StmtKind::AnnAssign { target, annotation, value, .. } => {
                if self.scopes[self.cur].kind != ScopeKind::Function {
                    self.expr(annotation);
                }
                if let Some(v) = value {
                    self.expr(v);
                    self.target(target);
                } else if let ExprKind::Name(n) = &target.kind {
                    if self.scopes[self.cur].kind == ScopeKind::Function {
                        self.bind(n, target.span);
                    }
                } else {
                    self.target_uses(target);
                }
            }
            StmtKind::FunctionDef(f) => {
                for d in &f.decorators {
                    self.expr(d);
                }
                self.param_defaults(&f.params);
                if let Some(r) = &f.returns {
                    self.expr(r);
                }
                self.bind(&f.name, f.name_span);
                let prev = self.push(ScopeKind::Function, node_key(&**f));
                self.params(&f.params);
                self.body(&f.body);
                self.cur = prev;
            }
            StmtKind::ClassDef(c) => {
                for d in &c.decorators {
                    self.expr(d);
                }
                for b in &c.bases {
                    self.expr(b);
                }
                for k in &c.keywords {
                    self.expr(&k.value);
                }
                self.bind(&c.name, c.name_span);
                let prev = self.push(ScopeKind::Class, node_key(&**c));
                self.body(&c.body);
                self.cur = prev;
            }
            StmtKind::Return(v) => {
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            StmtKind::Delete(ts) => {
                for t in ts {
                    self.target(t);
                }
            }
            StmtKind::If { test, body, orelse } | StmtKind::While { test, body, orelse } => {
                self.expr(test);
                self.body(body);
                self.body(orelse);
            }
            StmtKind::For { target, iter, body, orelse, .. } => {
                self.expr(iter);
                self.target(target);
                self.body(body);
                self.body(orelse);
            }
            StmtKind::With { items, body, .. } => {
                for it in items {
                    self.expr(&it.context);
                    if let Some(t) = &it.target {
                        self.target(t);
                    }
                }
                self.body(body);
            }
            StmtKind::Try { body, handlers, orelse, finalbody, .. } => {
                self.body(body);
                for h in handlers {
                    if let Some(t) = &h.typ {
                        self.expr(t);
                    }
                    if let Some(n) = &h.name {
                        self.bind(n, h.span);
                    }
                    self.body(&h.body);
                }
                self.body(orelse);
                self.body(finalbody);
            }
            StmtKind::Raise { exc, cause } => {
                if let Some(e) = exc {
                    self.expr(e);
                }
                if let Some(c) = cause {
                    self.expr(c);
                }
            }
            StmtKind::Assert { test, msg } => {
                self.expr(test);
                if let Some(m) = msg {
                    self.expr(m);
                }
            }
            StmtKind::Import(names) => {
                for a in names {
                    let local = a.asname.clone().unwrap_or_else(|| a.name.split('.').next().unwrap_or("").to_string());
                    self.bind(&local, a.span);
                }
            }
            StmtKind::ImportFrom { names, .. } => {
                for a in names {
                    if a.name == "*" {
                        if self.scopes[self.cur].kind == ScopeKind::Function {
                            self.err("import * only allowed at module level".into(), s.span);
                        }
                        continue;
                    }
                    let local = a.asname.clone().unwrap_or_else(|| a.name.clone());
                    self.bind(&local, a.span);
                }
            }
            StmtKind::Global(names) => {
                for n in names {
                    let sc = &self.scopes[self.cur];
                    let before = if sc.assigned.contains(n) {
                        Some("assigned to before")
                    } else if sc.used.contains(n) {
                        Some("used prior to")
                    } else {
                        None
                    };
                    let is_param = sc.params.contains(n);
                    if sc.nonlocals.contains(n) {
                        self.err(format!("name '{n}' is nonlocal and global"), s.span);
                    } else if is_param {
                        self.err(format!("name '{n}' is parameter and global"), s.span);
                    } else if let Some(what) = before {
                        self.err(format!("name '{n}' is {what} global declaration"), s.span);
                    }
                    self.scope().globals.insert(n.clone());
                }
            }
            StmtKind::Nonlocal(names) => {
                if self.scopes[self.cur].kind == ScopeKind::Module {
                    self.err("nonlocal declaration not allowed at module level".into(), s.span);
                    return;
                }
                for n in names {
                    let sc = &self.scopes[self.cur];
                    let is_param = sc.params.contains(n);
                    let before = if sc.assigned.contains(n) {
                        Some("assigned to before")
                    } else if sc.used.contains(n) {
                        Some("used prior to")
                    } else {
                        None
                    };
                    if sc.globals.contains(n) {
                        self.err(format!("name '{n}' is nonlocal and global"), s.span);
                    } else if is_param {
                        self.err(format!("name '{n}' is parameter and nonlocal"), s.span);
                    } else if let Some(what) = before {
                        self.err(format!("name '{n}' is {what} nonlocal declaration"), s.span);
                    }
                    self.scope().nonlocals.insert(n.clone());
                }
            }
            StmtKind::Pass | StmtKind::Break | StmtKind::Continue => {}
        }
    }

    fn target(&mut self, t: &Expr) {
        match &t.kind {
            ExprKind::Name(n) => self.bind(n, t.span),
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for i in items {
                    self.target(i);
                }
            }
            ExprKind::Starred(inner) => self.target(inner),
            _ => self.target_uses(t),
        }
    }
    fn target_uses(&mut self, t: &Expr) {
        match &t.kind {
            ExprKind::Attribute { value, .. } => self.expr(value),
            ExprKind::Subscript { value, index } => {
                self.expr(value);
                self.expr(index);
            }
            _ => self.expr(t),
        }
    }

    fn comprehension(&mut self, key: usize, generators: &[Comprehension], elts: &[&Expr]) {
        // The first iterable is evaluated in the enclosing scope.
        if let Some(first) = generators.first() {
            self.expr(&first.iter);
        }
        let prev = self.push(ScopeKind::Function, key);
        self.scope().is_comprehension = true;
        self.scope().params.push(".0".into());
        self.scope().bind(".0");
        for (i, g) in generators.iter().enumerate() {
            if i > 0 {
                self.expr(&g.iter);
            }
            self.target(&g.target);
            for c in &g.ifs {
                self.expr(c);
            }
        }
        for e in elts {
            self.expr(e);
        }
        self.cur = prev;
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::BoolOp { values, .. } => values.iter().for_each(|v| self.expr(v)),
            ExprKind::NamedExpr { target, value } => {
                self.expr(value);
                if let ExprKind::Name(n) = &target.kind {
                    // In a comprehension, the walrus binds in the enclosing non-comprehension scope.
                    let mut id = self.cur;
                    while self.scopes[id].is_comprehension {
                        id = self.scopes[id].parent.unwrap_or(0);
                    }
                    if id != self.cur {
                        let kind = self.scopes[id].kind;
                        if kind == ScopeKind::Class {
                            self.err(
                                "assignment expression within a comprehension cannot be used in a class body".into(),
                                e.span,
                            );
                            return;
                        }
                        self.scopes[id].bind(n);
                        let mut c = self.cur;
                        while c != id {
                            if kind == ScopeKind::Module {
                                self.scopes[c].globals.insert(n.clone());
                            } else {
                                self.scopes[c].nonlocals.insert(n.clone());
                            }
                            c = self.scopes[c].parent.unwrap_or(0);
                        }
                    } else {
                        self.bind(n, target.span);
                    }
                }
            }
            ExprKind::BinOp { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            ExprKind::UnaryOp { operand, .. } => self.expr(operand),
            ExprKind::Lambda { params, body } => {
                self.param_defaults(params);
                let prev = self.push(ScopeKind::Function, node_key(e));
                self.params(params);
                self.expr(body);
                self.cur = prev;
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.expr(test);
                self.expr(body);
                self.expr(orelse);
            }
            ExprKind::Dict { keys, values } => {
                for k in keys.iter().flatten() {
                    self.expr(k);
                }
                values.iter().for_each(|v| self.expr(v));
            }
            ExprKind::Set(items) | ExprKind::List(items) | ExprKind::Tuple(items) => {
                items.iter().for_each(|v| self.expr(v))
            }
            ExprKind::ListComp { elt, generators } | ExprKind::SetComp { elt, generators } => {
                self.comprehension(node_key(e), generators, &[elt]);
            }
            ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(node_key(e), generators, &[elt]);
                let id = self.by_node[&node_key(e)];
                self.scopes[id].is_generator = true;
            }
            ExprKind::DictComp { key, value, generators } => self.comprehension(node_key(e), generators, &[key, value]),
            ExprKind::Await(v) => self.expr(v),
            ExprKind::Yield(v) => {
                self.scope().is_generator = true;
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            ExprKind::YieldFrom(v) => {
                self.scope().is_generator = true;
                self.expr(v);
            }
            ExprKind::Compare { left, comparators, .. } => {
                self.expr(left);
                comparators.iter().for_each(|v| self.expr(v));
            }
            ExprKind::Call { func, args, keywords } => {
                self.expr(func);
                args.iter().for_each(|v| self.expr(v));
                keywords.iter().for_each(|k| self.expr(&k.value));
            }
            ExprKind::FString(parts) => self.fstring(parts),
            ExprKind::Constant(_) => {}
            ExprKind::Attribute { value, .. } => self.expr(value),
            ExprKind::Subscript { value, index } => {
                self.expr(value);
                self.expr(index);
            }
            ExprKind::Starred(v) => self.expr(v),
            ExprKind::Name(n) => self.use_name(n),
            ExprKind::Slice { lower, upper, step } => {
                for p in [lower, upper, step].into_iter().flatten() {
                    self.expr(p);
                }
            }
        }
    }
    fn fstring(&mut self, parts: &[FStringPart]) {
        for p in parts {
            if let FStringPart::Value { value, format_spec, .. } = p {
                self.expr(value);
                if let Some(spec) = format_spec {
                    self.fstring(spec);
                }
            }
        }
    }
}

impl SymTable {
    /// Resolves every scope below `id`; `enclosing` lists the function scopes around it
    /// (innermost last) whose locals can be captured.
    fn resolve(&mut self, id: usize, enclosing: &[usize]) -> Result<(), ScopeError> {
        let kind = self.scopes[id].kind;
        // Declarations first.
        let globals: Vec<String> = self.scopes[id].globals.iter().cloned().collect();
        for g in globals {
            self.scopes[id].access.insert(g, Access::Global);
        }
        let nonlocals: Vec<String> = self.scopes[id].nonlocals.iter().cloned().collect();
        for n in nonlocals {
            let found = self.bound_in_enclosing(enclosing, &n);
            if !found {
                return Err(ScopeError {
                    message: format!("no binding for nonlocal '{n}' found"),
                    span: Span::default(),
                });
            }
            self.scopes[id].access.insert(n.clone(), Access::Free);
        }
        if kind == ScopeKind::Function {
            let locals: Vec<String> = self.scopes[id].local_order.clone();
            for l in locals {
                self.scopes[id].access.entry(l).or_insert(Access::Local);
            }
        }
        if kind == ScopeKind::Class {
            let locals: Vec<String> = self.scopes[id].local_order.clone();
            for l in locals {
                self.scopes[id].access.entry(l).or_insert(Access::Name);
            }
        }
        // Names used but not bound here: free if an enclosing function binds them.
        let used: Vec<String> = self.scopes[id].used.iter().cloned().collect();
        for u in used {
            if self.scopes[id].access.contains_key(&u) {
                continue;
            }
            if u == "__class__" && kind == ScopeKind::Function {
                self.scopes[id].access.insert(u, Access::Free);
                continue;
            }
            if kind == ScopeKind::Module {
                continue;
            }
            if self.bound_in_enclosing(enclosing, &u) {
                self.scopes[id].access.insert(u, Access::Free);
            }
        }
        // Children.
        let children = self.scopes[id].children.clone();
        let mut inner: Vec<usize> = enclosing.to_vec();
        if kind == ScopeKind::Function {
            inner.push(id);
        }
        for c in children {
            self.resolve(c, &inner)?;
        }
        // A free name in a child that we bind locally makes it a cell here; one we don't
        // bind passes through us as free.
        let children = self.scopes[id].children.clone();
        let mut needed: Vec<String> = Vec::new();
        for c in &children {
            for f in self.scopes[*c].freevars.clone() {
                if !needed.contains(&f) {
                    needed.push(f);
                }
            }
        }
        for f in needed {
            if f == "__class__" && kind == ScopeKind::Class {
                if !self.scopes[id].cellvars.contains(&f) {
                    self.scopes[id].cellvars.push(f);
                }
                continue;
            }
            match self.scopes[id].access.get(&f).copied() {
                Some(Access::Local) | Some(Access::Cell) if kind == ScopeKind::Function => {
                    self.scopes[id].access.insert(f.clone(), Access::Cell);
                    if !self.scopes[id].cellvars.contains(&f) {
                        self.scopes[id].cellvars.push(f);
                    }
                }
                Some(Access::Global) => {}
                _ if kind == ScopeKind::Module => {}
                _ => {
                    // Pass-through (class bodies and functions that only forward it).
                    if !self.scopes[id].freevars.contains(&f) {
                        self.scopes[id].freevars.push(f.clone());
                    }
                    if kind == ScopeKind::Function {
                        self.scopes[id].access.entry(f).or_insert(Access::Free);
                    }
                }
            }
        }
        // Our own free names.
        let own_free: Vec<String> = {
            let s = &self.scopes[id];
            let mut v: Vec<String> =
                s.access.iter().filter(|(_, a)| **a == Access::Free).map(|(k, _)| k.clone()).collect();
            v.sort();
            v
        };
        for f in own_free {
            if !self.scopes[id].freevars.contains(&f) {
                self.scopes[id].freevars.push(f);
            }
        }
        Ok(())
    }

    /// Whether the nearest enclosing function that mentions `name` binds it. A `global name`
    /// there hides any outer binding (the name is global from there on in), as in CPython;
    /// looking past it made a child capture a cell the declaring scope never passes down
    /// (found by fuzzing: an index panic in `LoadClosure`).
    fn bound_in_enclosing(&self, enclosing: &[usize], name: &str) -> bool {
        for &e in enclosing.iter().rev() {
            if self.scopes[e].globals.contains(name) {
                return false;
            }
            if self.binds_local(e, name) {
                return true;
            }
        }
        false
    }

    fn binds_local(&self, id: usize, name: &str) -> bool {
        let s = &self.scopes[id];
        s.kind == ScopeKind::Function
            && !s.globals.contains(name)
            && (s.assigned.contains(name) || s.nonlocals.contains(name))
    }
}
