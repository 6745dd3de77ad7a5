//! The abstract syntax tree that the parser builds and the compiler reads.
//!
//! Every node carries a [`Span`]: byte offsets into the source text. The AST
//! holds no runtime values; literals stay as text or plain Rust numbers.

use std::ops::Range;

/// A byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// Makes a span from two byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }
    /// The span as a `Range<usize>`, as ariadne wants it.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A whole module: the statements of one file or one `-c` string.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The top-level statements in order.
    pub body: Vec<Stmt>,
}

/// A statement with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What kind of statement this is.
    pub kind: StmtKind,
    /// Where it is in the source.
    pub span: Span,
}

/// The statements of the language.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect.
    Expr(Expr),
    /// `a = b = value`: one or more targets, assigned left to right.
    Assign { targets: Vec<Expr>, value: Expr },
    /// `target op= value`.
    AugAssign { target: Expr, op: BinOp, value: Expr },
    /// `target: annotation = value`; the value is optional. `simple` is true for a bare name target.
    AnnAssign { target: Expr, annotation: Expr, value: Option<Expr>, simple: bool },
    /// `def` or `async def`.
    FunctionDef(Box<FunctionDef>),
    /// `class Name(bases, keywords): body`.
    ClassDef(Box<ClassDef>),
    /// `return value?`.
    Return(Option<Expr>),
    /// `del a, b[i], c.d`.
    Delete(Vec<Expr>),
    /// `if test: body elif ...: ... else: orelse` (elif is nested in orelse).
    If { test: Expr, body: Vec<Stmt>, orelse: Vec<Stmt> },
    /// `while test: body else: orelse`.
    While { test: Expr, body: Vec<Stmt>, orelse: Vec<Stmt> },
    /// `for target in iter: body else: orelse`, or `async for`.
    For { target: Expr, iter: Expr, body: Vec<Stmt>, orelse: Vec<Stmt>, is_async: bool },
    /// `with a as b, c: body`, or `async with`.
    With { items: Vec<WithItem>, body: Vec<Stmt>, is_async: bool },
    /// `try: ... except ...: ... else: ... finally: ...`; `star` is true for `except*`.
    Try { body: Vec<Stmt>, handlers: Vec<ExceptHandler>, orelse: Vec<Stmt>, finalbody: Vec<Stmt>, star: bool },
    /// `raise exc from cause`; both parts optional.
    Raise { exc: Option<Expr>, cause: Option<Expr> },
    /// `assert test, msg`.
    Assert { test: Expr, msg: Option<Expr> },
    /// `import a.b as c, d`.
    Import(Vec<Alias>),
    /// `from module import names`; `level` counts leading dots; a `*` import has one alias named `*`.
    ImportFrom { module: Option<String>, names: Vec<Alias>, level: u32 },
    /// `global a, b`.
    Global(Vec<String>),
    /// `nonlocal a, b`.
    Nonlocal(Vec<String>),
    /// `pass`.
    Pass,
    /// `break`.
    Break,
    /// `continue`.
    Continue,
}

/// A `def` or `async def` statement, or the parts of a lambda.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDef {
    /// The function's name.
    pub name: String,
    /// The span of the name alone.
    pub name_span: Span,
    /// The parameter list.
    pub params: Parameters,
    /// The body statements.
    pub body: Vec<Stmt>,
    /// Decorator expressions, outermost first (in source order).
    pub decorators: Vec<Expr>,
    /// The return annotation (evaluated when the `def` runs, kept in `__annotations__`).
    pub returns: Option<Expr>,
    /// True for `async def`.
    pub is_async: bool,
}

/// A `class` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassDef {
    /// The class name.
    pub name: String,
    /// The span of the name alone.
    pub name_span: Span,
    /// Positional bases (may include `*args`).
    pub bases: Vec<Expr>,
    /// Keyword arguments such as `metaclass=`.
    pub keywords: Vec<Keyword>,
    /// The class body.
    pub body: Vec<Stmt>,
    /// Decorator expressions in source order.
    pub decorators: Vec<Expr>,
}

/// A function's parameters in Python's order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Parameters {
    /// Parameters before `/`.
    pub posonly: Vec<Param>,
    /// Ordinary positional-or-keyword parameters.
    pub args: Vec<Param>,
    /// `*args`, if present.
    pub vararg: Option<Param>,
    /// Parameters after `*` or `*args`.
    pub kwonly: Vec<Param>,
    /// `**kwargs`, if present.
    pub kwarg: Option<Param>,
}

/// One parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its annotation (evaluated when the `def` runs, kept in `__annotations__`).
    pub annotation: Option<Expr>,
    /// Its default value, if any.
    pub default: Option<Expr>,
    /// Where it is.
    pub span: Span,
}

/// One `except` clause.
#[derive(Clone, Debug, PartialEq)]
pub struct ExceptHandler {
    /// The exception type expression; `None` for a bare `except:`.
    pub typ: Option<Expr>,
    /// The `as name` binding.
    pub name: Option<String>,
    /// The handler body.
    pub body: Vec<Stmt>,
    /// Where the clause is.
    pub span: Span,
}

/// One item of a `with` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct WithItem {
    /// The context manager expression.
    pub context: Expr,
    /// The `as` target.
    pub target: Option<Expr>,
}

/// `name as asname` in an import.
#[derive(Clone, Debug, PartialEq)]
pub struct Alias {
    /// The dotted name imported.
    pub name: String,
    /// The local name, if renamed.
    pub asname: Option<String>,
    /// Where it is.
    pub span: Span,
}

/// A keyword argument `name=value`, or `**value` when `name` is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyword {
    /// The keyword, or `None` for `**mapping`.
    pub name: Option<String>,
    /// The argument value.
    pub value: Expr,
    /// Where it is.
    pub span: Span,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// The expressions of the language.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `a and b and c` or `a or b`.
    BoolOp { op: BoolOpKind, values: Vec<Expr> },
    /// `target := value`.
    NamedExpr { target: Box<Expr>, value: Box<Expr> },
    /// `left op right`.
    BinOp { left: Box<Expr>, op: BinOp, right: Box<Expr> },
    /// `op operand`.
    UnaryOp { op: UnaryOp, operand: Box<Expr> },
    /// `lambda params: body`.
    Lambda { params: Box<Parameters>, body: Box<Expr> },
    /// `body if test else orelse`.
    IfExp { test: Box<Expr>, body: Box<Expr>, orelse: Box<Expr> },
    /// `{k: v, **m}`; a `None` key marks `**value`.
    Dict { keys: Vec<Option<Expr>>, values: Vec<Expr> },
    /// `{a, b, *c}`.
    Set(Vec<Expr>),
    /// `[elt for ...]`.
    ListComp { elt: Box<Expr>, generators: Vec<Comprehension> },
    /// `{elt for ...}`.
    SetComp { elt: Box<Expr>, generators: Vec<Comprehension> },
    /// `{key: value for ...}`.
    DictComp { key: Box<Expr>, value: Box<Expr>, generators: Vec<Comprehension> },
    /// `(elt for ...)`.
    GeneratorExp { elt: Box<Expr>, generators: Vec<Comprehension> },
    /// `await value`.
    Await(Box<Expr>),
    /// `yield value?`.
    Yield(Option<Box<Expr>>),
    /// `yield from value`.
    YieldFrom(Box<Expr>),
    /// `left op1 c1 op2 c2 ...` (chained comparison).
    Compare { left: Box<Expr>, ops: Vec<CmpOp>, comparators: Vec<Expr> },
    /// `func(args, keywords)`; starred positional arguments appear as `Starred`.
    Call { func: Box<Expr>, args: Vec<Expr>, keywords: Vec<Keyword> },
    /// An f-string: literal parts and formatted values in order.
    FString(Vec<FStringPart>),
    /// A literal constant.
    Constant(Constant),
    /// `value.attr`.
    Attribute { value: Box<Expr>, attr: String },
    /// `value[index]`.
    Subscript { value: Box<Expr>, index: Box<Expr> },
    /// `*value` in a call, a display or an assignment target.
    Starred(Box<Expr>),
    /// A bare name.
    Name(String),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `(a, b)` or `a, b`.
    Tuple(Vec<Expr>),
    /// `lower:upper:step` inside a subscript.
    Slice { lower: Option<Box<Expr>>, upper: Option<Box<Expr>>, step: Option<Box<Expr>> },
}

/// One part of an f-string.
#[derive(Clone, Debug, PartialEq)]
pub enum FStringPart {
    /// Literal text, escapes already decoded.
    Literal(String),
    /// `{value!conversion:format_spec}`; for `{x=}` the parser emits the literal `x=` first and
    /// sets `conversion` to `'r'` unless a conversion or spec was given.
    Value { value: Box<Expr>, conversion: Option<char>, format_spec: Option<Vec<FStringPart>> },
}

/// Literal constants.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer literal that fits in `i64`.
    Int(i64),
    /// An integer literal too large for `i64`, as decimal digits.
    BigInt(String),
    /// A float literal.
    Float(f64),
    /// An imaginary literal such as `2j` (refused by the compiler: no complex numbers).
    Imaginary(f64),
    /// A string literal (adjacent literals already concatenated).
    Str(String),
    /// A bytes literal.
    Bytes(Vec<u8>),
    /// `...`.
    Ellipsis,
}

/// One `for ... in ... if ...` clause of a comprehension.
#[derive(Clone, Debug, PartialEq)]
pub struct Comprehension {
    /// The loop target.
    pub target: Expr,
    /// The iterable.
    pub iter: Expr,
    /// The `if` conditions.
    pub ifs: Vec<Expr>,
    /// True for `async for`.
    pub is_async: bool,
}

/// `and` / `or`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOpKind {
    /// `and`.
    And,
    /// `or`.
    Or,
}

/// Binary operators (also used by augmented assignment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mult,
    /// `@`
    MatMult,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `**`
    Pow,
    /// `<<`
    LShift,
    /// `>>`
    RShift,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `&`
    BitAnd,
    /// `//`
    FloorDiv,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `~`
    Invert,
    /// `not`
    Not,
    /// unary `+`
    UAdd,
    /// unary `-`
    USub,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtE,
    /// `>`
    Gt,
    /// `>=`
    GtE,
    /// `is`
    Is,
    /// `is not`
    IsNot,
    /// `in`
    In,
    /// `not in`
    NotIn,
}
