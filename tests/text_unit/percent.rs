//! Tests for `text::percent` (expected values from CPython 3.11).

use crate::text::percent::*;
use num_bigint::BigInt;

fn spec(fmt: &str) -> PercentSpec {
    match parse_percent(fmt).into_iter().next() {
        Some(PercentPiece::Spec(s)) => s,
        other => panic!("{fmt:?}: {other:?}"),
    }
}

fn int(fmt: &str, v: i64) -> String {
    let s = spec(fmt);
    let w = match s.width {
        Some(Count::Fixed(w)) => Some(w),
        _ => None,
    };
    let p = match s.precision {
        Some(Count::Fixed(p)) => Some(p),
        _ => None,
    };
    format_percent_int(&BigInt::from(v), &s.flags, w, p, s.conv).unwrap()
}

fn float(fmt: &str, v: f64) -> String {
    let s = spec(fmt);
    let w = match s.width {
        Some(Count::Fixed(w)) => Some(w),
        _ => None,
    };
    let p = match s.precision {
        Some(Count::Fixed(p)) => Some(p),
        _ => None,
    };
    format_percent_float(v, &s.flags, w, p, s.conv)
}

#[test]
fn parse_pieces() {
    let pieces = parse_percent("a%%b%(x(y))-+ #012.5ld!");
    assert_eq!(pieces.len(), 3);
    assert_eq!(pieces[0], PercentPiece::Literal("a%b".into()));
    let PercentPiece::Spec(s) = &pieces[1] else { panic!() };
    assert_eq!(s.key.as_deref(), Some("x(y)"));
    assert!(s.flags.left && s.flags.sign && s.flags.blank && s.flags.alt && s.flags.zero);
    assert_eq!(s.width, Some(Count::Fixed(12)));
    assert_eq!(s.precision, Some(Count::Fixed(5)));
    assert_eq!((s.conv, s.index), ('d', 21));
    assert_eq!(pieces[2], PercentPiece::Literal("!".into()));
    let s = spec("%*.*f");
    assert_eq!((s.width, s.precision), (Some(Count::Star), Some(Count::Star)));
    assert_eq!(spec("%.f").precision, Some(Count::Fixed(0)));
    assert_eq!(spec("%5%").conv, '%');
}

#[test]
fn parse_errors() {
    for (fmt, msg) in [
        ("%", "incomplete format"),
        ("%5", "incomplete format"),
        ("%-", "incomplete format"),
        ("%.", "incomplete format"),
        ("%(a", "incomplete format key"),
        ("%(a)", "incomplete format"),
        ("%5.5l", "incomplete format"),
    ] {
        let last = parse_percent(fmt).pop().unwrap();
        assert_eq!(last, PercentPiece::Error(crate::text::TextError::value(msg)), "{fmt}");
    }
    assert_eq!(unsupported_char_error('y', 1).message, "unsupported format character 'y' (0x79) at index 1");
    assert_eq!(unsupported_char_error('\u{1}', 1).message, "unsupported format character '?' (0x1) at index 1");
    assert_eq!(unsupported_char_error('é', 1).message, "unsupported format character '?' (0xe9) at index 1");
}

#[test]
fn ints() {
    assert_eq!(int("%#010o", 8), "0o00000010");
    assert_eq!(int("%#010x", 255), "0x000000ff");
    assert_eq!(int("%#-10X", 255), "0XFF      ");
    assert_eq!(int("%+010.3d", -5), "-000000005");
    assert_eq!(int("% d", 5), " 5");
    assert_eq!(int("%#.3o", 8), "0o010");
    assert_eq!(int("%x", -255), "-ff");
    assert_eq!(int("%#x", -255), "-0xff");
    assert_eq!(int("%+#x", 0), "+0x0");
    assert_eq!(int("%-010d", 5), "5         ");
    assert_eq!(int("%0-5d", 3), "3    ");
    assert_eq!(int("%05d", -3), "-0003");
    assert_eq!(int("%ld", 5), "5");
    let big = num_traits::pow(BigInt::from(10), 5000);
    let e = format_percent_int(&big, &PercentFlags::default(), None, None, 'd').unwrap_err();
    assert!(e.message.starts_with("Exceeds the limit (4300 digits)"));
}

#[test]
fn floats() {
    assert_eq!(float("%010.2f", -1.5), "-000001.50");
    assert_eq!(float("%+.2e", 1e10), "+1.00e+10");
    assert_eq!(float("%g", 1e20), "1e+20");
    assert_eq!(float("%#g", 1.0), "1.00000");
    assert_eq!(float("%.0f", 2.5), "2");
    assert_eq!(float("%e", f64::NAN), "nan");
    assert_eq!(float("%+f", -f64::NAN), "+nan");
    assert_eq!(float("%010f", f64::INFINITY), "0000000inf");
    assert_eq!(float("%E", 1.5), "1.500000E+00");
    assert_eq!(float("%G", 1e-10), "1E-10");
    assert_eq!(float("%Lf", 1.0), "1.000000");
    assert_eq!(float("%.70000f", 0.5).len(), 70002);
}

#[test]
fn strings_and_chars() {
    let f = PercentFlags::default();
    let zero = PercentFlags { zero: true, sign: true, ..f };
    let left = PercentFlags { left: true, ..f };
    assert_eq!(format_percent_str("ab", &zero, Some(5), None), "   ab");
    assert_eq!(format_percent_str("ab", &f, None, Some(1)), "a");
    assert_eq!(format_percent_str("'hello'", &f, None, Some(3)), "'he");
    assert_eq!(format_percent_str("A", &left, Some(5), None), "A    ");
    assert_eq!(percent_char_from_int(&BigInt::from(65)), Ok('A'));
    let huge = num_traits::pow(BigInt::from(10), 30);
    assert_eq!(percent_char_from_int(&huge).unwrap_err().message, "%c arg not in range(0x110000)");
    let mut flags = f;
    assert_eq!(resolve_star_width(-5, &mut flags), 5);
    assert!(flags.left);
    assert_eq!(resolve_star_precision(-3), 0);
}
