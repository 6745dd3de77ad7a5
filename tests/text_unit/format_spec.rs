//! Tests for `text::format_spec`.

use crate::text::format_spec::{format_float, format_int, format_str, parse, FormatSpec};
use num_bigint::BigInt;

fn check_f(v: f64, spec: &str, want: &str) {
    let s = parse(spec, "float").unwrap();
    assert_eq!(format_float(v, &s, "float").unwrap(), want, "format({v}, {spec:?})");
}

fn check_i(v: &str, spec: &str, want: &str) {
    let s = parse(spec, "int").unwrap();
    let n: BigInt = v.parse().unwrap();
    assert_eq!(format_int(&n, &s, "int").unwrap(), want, "format({v}, {spec:?})");
}

fn check_s(v: &str, spec: &str, want: &str) {
    let s = parse(spec, "str").unwrap();
    assert_eq!(format_str(v, &s, "str").unwrap(), want, "format({v:?}, {spec:?})");
}

fn check_f_err(v: f64, spec: &str, want: &str) {
    let r = parse(spec, "float").and_then(|s| format_float(v, &s, "float"));
    assert_eq!(r.unwrap_err().to_string(), want, "format({v}, {spec:?})");
}

fn check_i_err(v: &str, spec: &str, want: &str) {
    let n: BigInt = v.parse().unwrap();
    let r = parse(spec, "int").and_then(|s| format_int(&n, &s, "int"));
    assert_eq!(r.unwrap_err().to_string(), want, "format({v}, {spec:?})");
}

fn check_s_err(v: &str, spec: &str, want: &str) {
    let r = parse(spec, "str").and_then(|s| format_str(v, &s, "str"));
    assert_eq!(r.unwrap_err().to_string(), want, "format({v:?}, {spec:?})");
}

#[test]
fn parse_fields() {
    let s = parse("*^+z#012,.3f", "float").unwrap();
    assert_eq!(
        s,
        FormatSpec {
            fill: Some('*'),
            align: Some('^'),
            sign: Some('+'),
            no_neg_0: true,
            alternate: true,
            zero_pad: false,
            width: Some(12),
            grouping: Some(','),
            precision: Some(3),
            ty: Some('f'),
        }
    );
    let s = parse("010", "int").unwrap();
    assert!(s.zero_pad);
    assert_eq!(s.width, Some(10));
}

#[test]
fn python_cases() {
    check_f(1.0_f64, "", "1.0");
    check_f(1e+20_f64, "", "1e+20");
    check_f(1e+20_f64, "g", "1e+20");
    check_f(1.5_f64, ".0", "2e+00");
    check_f(123.0_f64, ".2", "1.2e+02");
    check_f(0.1_f64, ".3", "0.1");
    check_f(1e+16_f64, ".17", "1e+16");
    check_f(2.675_f64, ".2f", "2.67");
    check_f(0.125_f64, ".2f", "0.12");
    check_f(2.5_f64, ".0f", "2");
    check_f(1234567.891_f64, ",.2f", "1,234,567.89");
    check_f(1234567.891_f64, "_.3e", "1.235e+06");
    check_f(-0.0001_f64, "z.2f", "0.00");
    check_f(-0.0_f64, "z", "0.0");
    check_f(-0.0_f64, "", "-0.0");
    check_f(f64::NAN, "+", "+nan");
    check_f(-f64::INFINITY, "010", "-000000inf");
    check_f(0.5_f64, "%", "50.000000%");
    check_f(0.25_f64, ".1%", "25.0%");
    check_f(1e-07_f64, "g", "1e-07");
    check_f(123456.789_f64, "#g", "123457.");
    check_f(1.0_f64, "#.0e", "1.e+00");
    check_f(3.0_f64, "n", "3");
    check_f(12345.678_f64, "=+15,.2f", "+     12,345.68");
    check_f(12345.678_f64, "*^20.3f", "*****12345.678******");
    check_f(1.5_f64, "E", "1.500000E+00");
    check_f(f64::INFINITY, "F", "INF");
    check_f(1e+300_f64, "f", "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000");
    check_f(0.0_f64, "#.3g", "0.00");
    check_f(1e+100_f64, ".3", "1e+100");
    check_f(9.9999_f64, ".3", "10.0");
    check_f(1234.0_f64, "010,", "0,001,234.0");
    check_i("255", "x", "ff");
    check_i("255", "#X", "0XFF");
    check_i("255", "#b", "0b11111111");
    check_i("-255", "#o", "-0o377");
    check_i("1234567", ",", "1,234,567");
    check_i("1234567", "_", "1_234_567");
    check_i("3735928559", "_x", "dead_beef");
    check_i("-42", "010", "-000000042");
    check_i("42", "+", "+42");
    check_i("42", " ", " 42");
    check_i("-42", "^9", "   -42   ");
    check_i("97", "c", "a");
    check_i("65", "5c", "    A");
    check_i("1234", "010,", "00,001,234");
    check_i("12", "e", "1.200000e+01");
    check_i("100000000000000000000", ".3g", "1e+20");
    check_i("5", "%", "500.000000%");
    check_i("1234", "n", "1234");
    check_i("123", "=^10", "===123====");
    check_i("-123", "0=+10", "-000000123");
    check_s("abc", "5", "abc  ");
    check_s("abc", ">5", "  abc");
    check_s("abc", "^6", " abc  ");
    check_s("abc", "*^7.2", "**ab***");
    check_s("héllo", ".3", "hél");
    check_s("ab", "05", "ab000");
    check_s("abc", "", "abc");
    check_f_err(1.0_f64, "d", "ValueError: Unknown format code 'd' for object of type 'float'");
    check_f_err(1.0_f64, "c", "ValueError: Unknown format code 'c' for object of type 'float'");
    check_s_err("a", "+", "ValueError: Sign not allowed in string format specifier");
    check_s_err("a", " ", "ValueError: Space not allowed in string format specifier");
    check_s_err("a", "=", "ValueError: '=' alignment not allowed in string format specifier");
    check_s_err("a", "#", "ValueError: Alternate form (#) not allowed in string format specifier");
    check_s_err("a", "z", "ValueError: Negative zero coercion (z) not allowed in string format specifier");
    check_s_err("a", ",", "ValueError: Cannot specify ',' with 's'.");
    check_i_err("1", ".2", "ValueError: Precision not allowed in integer format specifier");
    check_i_err("1", "z", "ValueError: Negative zero coercion (z) not allowed in integer format specifier");
    check_i_err("1", "+c", "ValueError: Sign not allowed with integer format specifier 'c'");
    check_i_err("1", "#c", "ValueError: Alternate form (#) not allowed with integer format specifier 'c'");
    check_i_err("-1", "c", "OverflowError: %c arg not in range(0x110000)");
    check_i_err("1", "ab", "ValueError: Invalid format specifier 'ab' for object of type 'int'");
    check_i_err("1", ",_", "ValueError: Cannot specify both ',' and '_'.");
    check_i_err("1", ".", "ValueError: Format specifier missing precision");
    check_i_err("1", "_n", "ValueError: Cannot specify '_' with 'n'.");
    check_i_err("1", ",b", "ValueError: Cannot specify ',' with 'b'.");
    check_i_err("1", "99999999999999999999", "ValueError: Too many decimal digits in format string");
    check_i_err("1", "y", "ValueError: Unknown format code 'y' for object of type 'int'");
    check_s_err("a", "\u{1}", "ValueError: Unknown format code '\\x1' for object of type 'str'");
    check_i_err("10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", "f", "OverflowError: int too large to convert to float");
}
