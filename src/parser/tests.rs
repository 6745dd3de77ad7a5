//! Parser unit tests: precedence (via a compact S-expression dump), statements, f-strings and
//! every error message the parser words itself.

use super::{parse_expression, parse_module};
use crate::ast::*;
use crate::diagnostics::SyntaxErrorKind;

/// A compact S-expression for an expression (spans left out).
fn sx(e: &Expr) -> String {
    let list = |v: &[Expr]| v.iter().map(sx).collect::<Vec<_>>().join(" ");
    match &e.kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Constant(c) => match c {
            Constant::Int(i) => i.to_string(),
            Constant::BigInt(s) => s.clone(),
            Constant::Float(f) => format!("{f:?}"),
            Constant::Str(s) => format!("{s:?}"),
            Constant::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
            Constant::Imaginary(f) => format!("{f}j"),
            Constant::None => "None".into(),
            Constant::Bool(b) => if *b { "True" } else { "False" }.into(),
            Constant::Ellipsis => "...".into(),
        },
        ExprKind::BinOp { left, op, right } => format!("({op:?} {} {})", sx(left), sx(right)),
        ExprKind::UnaryOp { op, operand } => format!("({op:?} {})", sx(operand)),
        ExprKind::BoolOp { op, values } => format!("({op:?} {})", list(values)),
        ExprKind::Compare { left, ops, comparators } => {
            let rest: Vec<String> = ops.iter().zip(comparators).map(|(o, c)| format!("{o:?} {}", sx(c))).collect();
            format!("(Cmp {} {})", sx(left), rest.join(" "))
        }
        ExprKind::IfExp { test, body, orelse } => format!("(If {} {} {})", sx(test), sx(body), sx(orelse)),
        ExprKind::Lambda { params, body } => format!("(Lambda {} {})", params_sx(params), sx(body)),
        ExprKind::NamedExpr { target, value } => format!("(:= {} {})", sx(target), sx(value)),
        ExprKind::Call { func, args, keywords } => {
            let kw: Vec<String> =
                keywords.iter().map(|k| format!("{}={}", k.name.as_deref().unwrap_or("**"), sx(&k.value))).collect();
            format!("(Call {} [{}] [{}])", sx(func), list(args), kw.join(" "))
        }
        ExprKind::Attribute { value, attr } => format!("(. {} {attr})", sx(value)),
        ExprKind::Subscript { value, index } => format!("([] {} {})", sx(value), sx(index)),
        ExprKind::Slice { lower, upper, step } => {
            let o = |x: &Option<Box<Expr>>| x.as_ref().map_or("_".to_string(), |e| sx(e));
            format!("(Slice {} {} {})", o(lower), o(upper), o(step))
        }
        ExprKind::Starred(v) => format!("*{}", sx(v)),
        ExprKind::Tuple(v) => format!("(Tuple {})", list(v)),
        ExprKind::List(v) => format!("[{}]", list(v)),
        ExprKind::Set(v) => format!("{{{}}}", list(v)),
        ExprKind::Dict { keys, values } => {
            let items: Vec<String> = keys
                .iter()
                .zip(values)
                .map(|(k, v)| format!("{}:{}", k.as_ref().map_or("**".to_string(), sx), sx(v)))
                .collect();
            format!("(Dict {})", items.join(" "))
        }
        ExprKind::ListComp { elt, generators } => format!("(ListComp {} {})", sx(elt), comps(generators)),
        ExprKind::SetComp { elt, generators } => format!("(SetComp {} {})", sx(elt), comps(generators)),
        ExprKind::GeneratorExp { elt, generators } => format!("(GenExp {} {})", sx(elt), comps(generators)),
        ExprKind::DictComp { key, value, generators } => {
            format!("(DictComp {} {} {})", sx(key), sx(value), comps(generators))
        }
        ExprKind::Await(v) => format!("(Await {})", sx(v)),
        ExprKind::Yield(v) => format!("(Yield {})", v.as_ref().map_or("_".to_string(), |e| sx(e))),
        ExprKind::YieldFrom(v) => format!("(YieldFrom {})", sx(v)),
        ExprKind::FString(parts) => format!("(F {})", fparts(parts)),
    }
}

fn fparts(parts: &[FStringPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            FStringPart::Literal(s) => format!("{s:?}"),
            FStringPart::Value { value, conversion, format_spec } => format!(
                "{{{}{}{}}}",
                sx(value),
                conversion.map(|c| format!("!{c}")).unwrap_or_default(),
                format_spec.as_ref().map(|s| format!(":{}", fparts(s))).unwrap_or_default()
            ),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn comps(gens: &[Comprehension]) -> String {
    gens.iter()
        .map(|g| {
            let ifs: Vec<String> = g.ifs.iter().map(|i| format!(" if {}", sx(i))).collect();
            format!(
                "{}for {} in {}{}",
                if g.is_async { "async " } else { "" },
                sx(&g.target),
                sx(&g.iter),
                ifs.concat()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn params_sx(p: &Parameters) -> String {
    let one = |x: &Param| match &x.default {
        Some(d) => format!("{}={}", x.name, sx(d)),
        None => x.name.clone(),
    };
    let mut out: Vec<String> = p.posonly.iter().map(one).collect();
    if !p.posonly.is_empty() {
        out.push("/".into());
    }
    out.extend(p.args.iter().map(one));
    if let Some(v) = &p.vararg {
        out.push(format!("*{}", v.name));
    } else if !p.kwonly.is_empty() {
        out.push("*".into());
    }
    out.extend(p.kwonly.iter().map(one));
    if let Some(k) = &p.kwarg {
        out.push(format!("**{}", k.name));
    }
    format!("({})", out.join(" "))
}

fn expr(src: &str) -> String {
    match parse_expression(src) {
        Ok(e) => sx(&e),
        Err(e) => panic!("{src:?}: {}", e.message),
    }
}

fn module(src: &str) -> Vec<Stmt> {
    match parse_module(src) {
        Ok(m) => m.body,
        Err(e) => panic!("{src:?}: {} at {:?}", e.message, e.span),
    }
}

fn error(src: &str) -> (SyntaxErrorKind, String) {
    match parse_module(src) {
        Ok(_) => panic!("{src:?} parsed"),
        Err(e) => (e.kind, e.message),
    }
}

fn msg(src: &str) -> String {
    error(src).1
}

#[test]
fn precedence() {
    assert_eq!(expr("-2**2"), "(USub (Pow 2 2))");
    assert_eq!(expr("2**-1"), "(Pow 2 (USub 1))");
    assert_eq!(expr("2**3**2"), "(Pow 2 (Pow 3 2))");
    assert_eq!(expr("not a == b"), "(Not (Cmp a Eq b))");
    assert_eq!(expr("a if b else c if d else e"), "(If b a (If d c e))");
    assert_eq!(expr("lambda: x if y else z"), "(Lambda () (If y x z))");
    assert_eq!(expr("1 + 2 * 3 - 4"), "(Sub (Add 1 (Mult 2 3)) 4)");
    assert_eq!(expr("a or b and not c"), "(Or a (And b (Not c)))");
    assert_eq!(expr("a | b ^ c & d << e + f"), "(BitOr a (BitXor b (BitAnd c (LShift d (Add e f)))))");
    assert_eq!(expr("a < b <= c not in d is not e"), "(Cmp a Lt b LtE c NotIn d IsNot e)");
    assert_eq!(expr("-x.y[1](2)"), "(USub (Call ([] (. x y) 1) [2] []))");
    assert_eq!(expr("await x ** 2"), "(Pow (Await x) 2)");
    assert_eq!(expr("~-+1"), "(Invert (USub (UAdd 1)))");
    assert_eq!(expr("a // b % c @ d"), "(MatMult (Mod (FloorDiv a b) c) d)");
    assert_eq!(expr("(a)"), "a");
    assert_eq!(expr("(a,)"), "(Tuple a)");
    assert_eq!(expr("()"), "(Tuple )");
    assert_eq!(expr("a, *b"), "(Tuple a *b)");
}

#[test]
fn parenthesised_expression_is_the_inner_expression() {
    let e = parse_expression("(x)").unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(e.kind, ExprKind::Name("x".into()));
    assert_eq!(e.span, Span::new(1, 2));
}

#[test]
fn displays_and_comprehensions() {
    assert_eq!(expr("[x for x in y if x if z for w in x]"), "(ListComp x for x in y if x if z for w in x)");
    assert_eq!(expr("{k: v for k, v in d}"), "(DictComp k v for (Tuple k v) in d)");
    assert_eq!(expr("{x async for x in y}"), "(SetComp x async for x in y)");
    assert_eq!(expr("(x for x in y)"), "(GenExp x for x in y)");
    assert_eq!(expr("f(x for x in y)"), "(Call f [(GenExp x for x in y)] [])");
    assert_eq!(expr("{**a, 'b': 1}"), "(Dict **:a \"b\":1)");
    assert_eq!(expr("{*a, 1}"), "{*a 1}");
    assert_eq!(expr("{}"), "(Dict )");
    assert_eq!(expr("[*a, *b]"), "[*a *b]");
    assert_eq!(expr("[i for i in x if (y := i)]"), "(ListComp i for i in x if (:= y i))");
}

#[test]
fn calls_and_subscripts() {
    assert_eq!(expr("f(a, *b, c=1, **d)"), "(Call f [a *b] [c=1 **=d])");
    assert_eq!(expr("f(x := 1)"), "(Call f [(:= x 1)] [])");
    assert_eq!(expr("a[1:2, ::3]"), "([] a (Tuple (Slice 1 2 _) (Slice _ _ 3)))");
    assert_eq!(expr("a[:]"), "([] a (Slice _ _ _))");
    assert_eq!(expr("a[1:]"), "([] a (Slice 1 _ _))");
    assert_eq!(expr("a[x, y]"), "([] a (Tuple x y))");
    assert_eq!(expr("a[...]"), "([] a ...)");
}

#[test]
fn lambdas() {
    assert_eq!(expr("lambda x, y=1, *a, k, **kw: 0"), "(Lambda (x y=1 *a k **kw) 0)");
    assert_eq!(expr("lambda *, k=2: k"), "(Lambda (* k=2) k)");
    assert_eq!(expr("lambda a, /, b: a"), "(Lambda (a / b) a)");
    assert_eq!(expr("lambda: (yield)"), "(Lambda () (Yield _))");
}

#[test]
fn literals() {
    assert_eq!(expr("0x_ff + 0o17 + 0b101 + 1_000"), "(Add (Add (Add 255 15) 5) 1000)");
    assert_eq!(expr("123456789012345678901234567890"), "123456789012345678901234567890");
    assert_eq!(expr("0xFFFFFFFFFFFFFFFFFFFF"), "1208925819614629174706175");
    assert_eq!(expr("1.5e3 + .5 + 5. + 1_0.0_1"), "(Add (Add (Add 1500.0 0.5) 5.0) 10.01)");
    assert_eq!(expr("2j"), "2j");
    assert_eq!(expr(r#"'a' "b" '''c'''"#), "\"abc\"");
    assert_eq!(expr(r"'\x41\101\u00e9\U0001F600\n\t\\\'\q'"), "\"AAé😀\\n\\t\\\\'\\\\q\"");
    assert_eq!(expr(r"r'\n' + Rb'\x' + b'\x41'"), "(Add (Add \"\\\\n\" b\"\\\\x\") b\"A\")");
    assert_eq!(expr("'a\\\nb'"), "\"ab\"");
}

#[test]
fn fstrings() {
    assert_eq!(expr("f'a{x}b'"), "(F \"a\" {x} \"b\")");
    assert_eq!(expr("f'{x!r:>{w}}'"), "(F {x!r:\">\" {w}})");
    assert_eq!(expr("f'{x=}'"), "(F \"x=\" {x!r})");
    assert_eq!(expr("f'{x = }'"), "(F \"x = \" {x!r})");
    assert_eq!(expr("f'{x=:>5}'"), "(F \"x=\" {x:\">5\"})");
    assert_eq!(expr("f'{x=!s}'"), "(F \"x=\" {x!s})");
    assert_eq!(expr("f'{{}}{{x}}'"), "(F \"{}{x}\")");
    assert_eq!(expr("'a' f'{b}' 'c'"), "(F \"a\" {b} \"c\")");
    assert_eq!(expr("f'{a!=b}'"), "(F {(Cmp a NotEq b)})");
    assert_eq!(expr("f'{d[\"k\"]:{w}.{p}f}'"), "(F {([] d \"k\"):{w} \".\" {p} \"f\"})");
    assert_eq!(expr("f'{x:=5}'"), "(F {x:\"=5\"})");
    assert_eq!(expr("f'\\n{x}'"), "(F \"\\n\" {x})");
    assert_eq!(expr("rf'\\n{x}'"), "(F \"\\\\n\" {x})");
    assert_eq!(expr("f''"), "(F )");
    assert_eq!(expr("f'{(lambda: 1)()}'"), "(F {(Call (Lambda () 1) [] [])})");
    assert_eq!(expr("f'{f\"{x}\"}'"), "(F {(F {x})})");
}

#[test]
fn fstring_spans_point_into_the_file() {
    let src = "x = f'ab{foo}'";
    let body = module(src);
    let StmtKind::Assign { value, .. } = &body[0].kind else { panic!() };
    let ExprKind::FString(parts) = &value.kind else { panic!() };
    let FStringPart::Value { value, .. } = &parts[1] else { panic!() };
    assert_eq!(&src[value.span.range()], "foo");
}

#[test]
fn statements() {
    let body = module("a = b = 1\nx, *y = z\na.b += 1\nx: int = 3\ndel a, b[1]\n");
    assert_eq!(body.len(), 5);
    let StmtKind::Assign { targets, .. } = &body[0].kind else { panic!() };
    assert_eq!(targets.len(), 2);
    let StmtKind::Assign { targets, .. } = &body[1].kind else { panic!() };
    assert_eq!(sx(&targets[0]), "(Tuple x *y)");
    assert!(matches!(body[2].kind, StmtKind::AugAssign { op: BinOp::Add, .. }));
    assert!(matches!(body[3].kind, StmtKind::AnnAssign { simple: true, .. }));
    let StmtKind::Delete(t) = &body[4].kind else { panic!() };
    assert_eq!(t.len(), 2);
    let body = module("(x): int = 3\nx : int\n");
    assert!(matches!(body[0].kind, StmtKind::AnnAssign { simple: false, .. }));
    assert!(matches!(body[1].kind, StmtKind::AnnAssign { simple: true, .. }));
}

#[test]
fn compound_statements() {
    let src = "\
@dec
async def f(a, /, b=1, *args, c, d=2, **kw) -> int:
    async with x as y, z:
        async for i in y:
            await i
    try:
        pass
    except* E as e:
        pass
    return [i async for i in y]
class C(B, metaclass=M):
    '''doc'''
if a:
    pass
elif b:
    pass
else:
    pass
while x:
    break
else:
    continue
with (open(a) as f, open(b) as g,):
    pass
with (a, b) as c:
    pass
from .. import x
from .m import (a as b, c,)
import a.b.c as d, e
global g
";
    let body = module(src);
    assert_eq!(body.len(), 10);
    let StmtKind::FunctionDef(f) = &body[0].kind else { panic!() };
    assert!(f.is_async);
    assert_eq!(f.decorators.len(), 1);
    assert_eq!(params_sx(&f.params), "(a / b=1 *args c d=2 **kw)");
    assert_eq!(&src[f.name_span.range()], "f");
    let StmtKind::ClassDef(c) = &body[1].kind else { panic!() };
    assert_eq!((c.bases.len(), c.keywords.len()), (1, 1));
    let StmtKind::If { orelse, .. } = &body[2].kind else { panic!() };
    assert!(matches!(orelse[0].kind, StmtKind::If { .. }));
    let StmtKind::With { items, .. } = &body[4].kind else { panic!() };
    assert_eq!(items.len(), 2);
    let StmtKind::With { items, .. } = &body[5].kind else { panic!() };
    assert_eq!(sx(&items[0].context), "(Tuple a b)");
    assert!(matches!(&body[6].kind, StmtKind::ImportFrom { module: None, level: 2, .. }));
    let StmtKind::Import(names) = &body[8].kind else { panic!() };
    assert_eq!(names[0].name, "a.b.c");
    // A compound statement's span ends with its last body statement.
    let StmtKind::While { .. } = &body[3].kind else { panic!() };
    assert_eq!(&src[body[3].span.range()], "while x:\n    break\nelse:\n    continue");
}

#[test]
fn deep_nesting_is_fine() {
    let src = format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200));
    assert!(parse_module(&src).is_ok());
    let src = format!("x = {}1{}\n", "(".repeat(201), ")".repeat(201));
    assert_eq!(msg(&src), "too many nested parentheses");
}

#[test]
fn hostile_inputs_do_not_panic() {
    // Miri interprets a thousand times slower: smaller sizes there keep the run in minutes.
    let (line_len, lines) = if cfg!(miri) { (1 << 10, 100) } else { (1 << 20, 100_000) };
    let long_line = format!("x = '{}'\n", "a".repeat(line_len));
    let many_lines = "x = 1\n".repeat(lines);
    let inputs = [
        "\0",
        "x = 1\0",
        "\r",
        "x = 1\ry = 2\r",
        "\\",
        "'''",
        "f'{",
        "f'{x!'",
        "f'{x:{y:{z}}}'",
        "(((",
        ")))",
        "\t\tx\n  y",
        "if x:\n\tpass\n        pass",
        "é = 1",
        "x = 'é",
        long_line.as_str(),
        many_lines.as_str(),
    ];
    for src in inputs {
        let _ = parse_module(src);
        let _ = super::parse_module_all(src);
        let _ = parse_expression(src);
    }
}

#[test]
fn errors_are_worded_as_cpython_words_them() {
    let cases = [
        ("f() = 1", "cannot assign to function call here. Maybe you meant '==' instead of '='?"),
        ("1 = x", "cannot assign to literal here. Maybe you meant '==' instead of '='?"),
        ("x = 1 = 2", "cannot assign to literal"),
        ("(a, 1) = x", "cannot assign to literal"),
        ("x + 1 += 1", "'expression' is an illegal expression for augmented assignment"),
        ("del f()", "cannot delete function call"),
        ("def f(a=1, b): pass", "non-default argument follows default argument"),
        ("f(a=1, b)", "positional argument follows keyword argument"),
        ("f(a=1, a=2)", "keyword argument repeated: a"),
        ("def f(*): pass", "named arguments must follow bare *"),
        ("def f(a, a): pass", "duplicate argument 'a' in function definition"),
        ("x = 1 +", "invalid syntax"),
        ("if x\n  pass", "expected ':'"),
        ("f(a b)", "invalid syntax. Perhaps you forgot a comma?"),
        ("f(x for x in y, 1)", "Generator expression must be parenthesized"),
        ("*a = x", "starred assignment target must be in a list or tuple"),
        ("a, *b, *c = x", "multiple starred expressions in assignment"),
        ("(a.b := 1)", "cannot use assignment expressions with attribute"),
        ("f(a.b=1)", "expression cannot contain assignment, perhaps you meant \"==\"?"),
        ("try:\n  pass\n", "expected 'except' or 'finally' block"),
        ("b'a' 'b'", "cannot mix bytes and nonbytes literals"),
        ("x = (1,\ny = 2\n", "'(' was never closed"),
        ("x = )", "unmatched ')'"),
        ("x = (]", "closing parenthesis ']' does not match opening parenthesis '('"),
        ("x = (\n]", "closing parenthesis ']' does not match opening parenthesis '(' on line 1"),
        ("\"abc", "unterminated string literal (detected at line 1)"),
        ("x = '''abc\n\n", "unterminated triple-quoted string literal (detected at line 3)"),
        ("1abc", "invalid decimal literal"),
        ("012", "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"),
        ("x = 1 \\ 2", "unexpected character after line continuation character"),
        ("f'{x!z}'", "f-string: invalid conversion character: expected 's', 'r', or 'a'"),
        ("f'{}'", "f-string: empty expression not allowed"),
        ("f'}'", "f-string: single '}' is not allowed"),
        ("f'{a b}'", "f-string: invalid syntax. Perhaps you forgot a comma?"),
        ("'\\N{DASH}'", "(unicode error) \\N{...} escapes are not supported by aio"),
        ("x = €", "invalid character '€' (U+20AC)"),
        ("match x:\n    case 1: pass\n", "'match' statements are not supported by aio"),
    ];
    for (src, want) in cases {
        assert_eq!(msg(src), want, "for {src:?}");
    }
}

#[test]
fn indentation_errors_have_their_classes() {
    assert_eq!(error("  x = 1"), (SyntaxErrorKind::Indentation, "unexpected indent".into()));
    assert_eq!(
        error("if x:\npass"),
        (SyntaxErrorKind::Indentation, "expected an indented block after 'if' statement on line 1".into())
    );
    assert_eq!(
        error("x = 1\ndef f():\n# c\n"),
        (SyntaxErrorKind::Indentation, "expected an indented block after function definition on line 2".into())
    );
    assert_eq!(
        error("if x:\n    a\n  b"),
        (SyntaxErrorKind::Indentation, "unindent does not match any outer indentation level".into())
    );
    assert_eq!(
        error("if x:\n        a\n\tb"),
        (SyntaxErrorKind::Tab, "inconsistent use of tabs and spaces in indentation".into())
    );
}

#[test]
fn all_errors_are_collected() {
    let errors = super::parse_module_all("x = = 1\ny = 2\nz = = 3\n").err().unwrap_or_default();
    assert_eq!(errors.len(), 2);
}
