//! Lexer tests: token dumps of tricky inputs and the layout pass's NEWLINE/INDENT/DEDENT.

use super::numbers::IntValue;
use super::strings::StrValue;
use super::{tokenize, Mode, Token};

/// A compact dump of the tokens of `src` (module mode), or the error message.
fn dump(src: &str) -> String {
    let lexed = tokenize(src, 0, src.len(), Mode::Module);
    if let Some(e) = lexed.error {
        return format!("error: {}", e.message);
    }
    lexed.tokens.iter().skip(1).map(|(_, t, _)| short(t)).collect::<Vec<_>>().join(" ")
}

fn short(t: &Token) -> String {
    match t {
        Token::Newline => "NL".into(),
        Token::Indent => "IN".into(),
        Token::Dedent => "DE".into(),
        Token::Name(n) => n.clone(),
        Token::Int(IntValue::Small(i)) => i.to_string(),
        Token::Int(IntValue::Big(s)) => s.clone(),
        Token::Float(f) => format!("{f:?}"),
        Token::Imaginary(f) => format!("{f}j"),
        Token::Str(StrValue::Str(s)) => format!("{s:?}"),
        Token::Str(StrValue::Bytes(b)) => format!("b{:?}", String::from_utf8_lossy(b)),
        Token::Str(StrValue::FStr { content, .. }) => format!("f{content:?}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn blocks_produce_indent_and_dedent() {
    assert_eq!(dump("if x:\n    y\nz\n"), "If x Colon NL IN y NL DE z NL");
    assert_eq!(dump("if x:\n  if y:\n    z\n"), "If x Colon NL IN If y Colon NL IN z NL DE DE");
    assert_eq!(dump("a\n\n   \n# c\n  # d\nb"), "a NL b NL");
    assert_eq!(dump("x = (1,\n  2)\ny"), "x Assign LParen 1 Comma 2 RParen NL y NL");
    assert_eq!(dump("x = 1 + \\\n  2\n"), "x Assign 1 Plus 2 NL");
    assert_eq!(dump("if x:\n\ty\n"), "If x Colon NL IN y NL DE");
    assert_eq!(dump("a\r\nb\rc"), "a NL b NL c NL");
    assert_eq!(dump(""), "");
    assert_eq!(dump("  x"), "IN x NL DE");
}

#[test]
fn tricky_tokens() {
    assert_eq!(dump("a.b...c"), "a Dot b Ellipsis c NL");
    assert_eq!(dump("x**=2//3"), "x DoubleStarEqual 2 DoubleSlash 3 NL");
    assert_eq!(dump("a:=b->c"), "a Walrus b Arrow c NL");
    assert_eq!(dump("1if x else 2"), "1 If x Else 2 NL");
    assert_eq!(dump("printa rb'x' ub"), "printa b\"x\" ub NL");
    assert_eq!(dump("0x_1F 0o7 0b1_0 1_000 1e3 1.5j .5 5."), "31 7 2 1000 1000.0 1.5j 0.5 5.0 NL");
    assert_eq!(dump("ñame = 'é'"), "ñame Assign \"é\" NL");
    assert_eq!(dump("f'{x}' F\"y\" fr'\\n' Rf'z'"), "f\"{x}\" f\"y\" f\"\\\\n\" f\"z\" NL");
    assert_eq!(dump("'''a\nb''' \"\"\"c\\\"\"\"\""), "\"a\\nb\" \"c\\\"\" NL");
    assert_eq!(dump("'a\\\nb'"), "\"ab\" NL");
    assert_eq!(dump("x # comment\n"), "x NL");
    assert_eq!(dump("async await nonlocal"), "Async Await Nonlocal NL");
}

#[test]
fn lexical_errors() {
    assert_eq!(dump("'abc\n"), "error: unterminated string literal (detected at line 1)");
    assert_eq!(dump("x = '''a\n\nb"), "error: unterminated triple-quoted string literal (detected at line 3)");
    assert_eq!(dump("1abc"), "error: invalid decimal literal");
    assert_eq!(dump("0x1g"), "error: invalid hexadecimal literal");
    assert_eq!(dump("0b2"), "error: invalid digit '2' in binary literal");
    assert_eq!(dump("0o8"), "error: invalid digit '8' in octal literal");
    assert_eq!(dump("0b"), "error: invalid binary literal");
    assert_eq!(dump("1_"), "error: invalid decimal literal");
    assert_eq!(dump("a = $"), "error: invalid syntax");
    assert_eq!(dump("a = \u{1}"), "error: invalid non-printable character U+0001");
    assert_eq!(dump("a = \0"), "error: source code cannot contain null bytes");
    assert_eq!(dump("x \\ y"), "error: unexpected character after line continuation character");
    assert_eq!(dump("x = 1 \\"), "error: unexpected EOF while parsing");
    assert_eq!(dump("if x:\n    a\n  b"), "error: unindent does not match any outer indentation level");
    assert_eq!(dump("if x:\n        a\n\tb"), "error: inconsistent use of tabs and spaces in indentation");
    assert_eq!(dump("f(\n"), "error: '(' was never closed");
    assert_eq!(dump("]"), "error: unmatched ']'");
    assert_eq!(dump("b'é'"), "error: bytes can only contain ASCII literal characters");
    assert_eq!(
        dump("'\\x4'"),
        "error: (unicode error) 'unicodeescape' codec can't decode bytes in position 0-2: truncated \\xXX escape"
    );
    assert_eq!(dump("'\\ud800'"), "error: (unicode error) surrogate code point U+D800 is not supported by aio");
}

#[test]
fn bracket_depth_limit() {
    let ok = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(tokenize(&ok, 0, ok.len(), Mode::Module).error.is_none());
    let deep = "(".repeat(201);
    assert_eq!(dump(&deep), "error: too many nested parentheses");
}

#[test]
fn expression_mode_ignores_line_breaks() {
    let src = "1 +\n  2";
    let lexed = tokenize(src, 0, src.len(), Mode::Expression);
    let kinds: Vec<String> = lexed.tokens.iter().map(|t| short(&t.1)).collect();
    assert_eq!(kinds.join(" "), "StartExpr 1 Plus 2");
}

#[test]
fn spans_are_byte_offsets() {
    let src = "é = 'ü'";
    let lexed = tokenize(src, 0, src.len(), Mode::Module);
    let spans: Vec<(usize, usize)> = lexed.tokens.iter().map(|t| (t.0, t.2)).collect();
    assert_eq!(spans, vec![(0, 0), (0, 2), (3, 4), (5, 9), (9, 9)]);
}
