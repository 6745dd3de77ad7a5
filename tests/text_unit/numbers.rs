//! Tests for `text::int_text` and `text::int_math`.

use crate::text::float_repr::float_repr;
use crate::text::int_math::*;
use crate::text::int_text::*;
use num_bigint::BigInt;

fn big(s: &str) -> BigInt {
    s.parse().unwrap()
}

#[test]
fn parse_int_cases() {
    assert_eq!(parse_int("0x_1f", 0), Ok(big("31")));
    assert_eq!(parse_int("0x1f", 16), Ok(big("31")));
    assert_eq!(parse_int("1f", 16), Ok(big("31")));
    assert_eq!(parse_int("0b101", 0), Ok(big("5")));
    assert_eq!(parse_int("0o17", 0), Ok(big("15")));
    assert_eq!(parse_int("000", 0), Ok(big("0")));
    assert_eq!(parse_int("0_0", 0), Ok(big("0")));
    assert_eq!(parse_int(" -12 ", 10), Ok(big("-12")));
    assert_eq!(parse_int("1_2", 10), Ok(big("12")));
    assert_eq!(parse_int("١٢", 10), Ok(big("12")));
    assert_eq!(parse_int("z", 36), Ok(big("35")));
    assert_eq!(parse_int("Z", 36), Ok(big("35")));
    assert_eq!(parse_int("+0", 0), Ok(big("0")));
    assert_eq!(parse_int("0O7", 0), Ok(big("7")));
    assert_eq!(parse_int("　 42\u{9}", 10), Ok(big("42")));
    assert_eq!(parse_int("0x1f", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("017", 0), Err(IntParseError::Invalid));
    assert_eq!(parse_int("00_1", 0), Err(IntParseError::Invalid));
    assert_eq!(parse_int("-0x", 0), Err(IntParseError::Invalid));
    assert_eq!(parse_int("0x", 16), Err(IntParseError::Invalid));
    assert_eq!(parse_int("- 12", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("1__2", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("_12", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("12_", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("\u{1c}12", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("+", 10), Err(IntParseError::Invalid));
    assert_eq!(parse_int("0_x1", 0), Err(IntParseError::Invalid));
    assert_eq!(parse_int("0b_", 0), Err(IntParseError::Invalid));
    assert_eq!(parse_int("0x1g", 16), Err(IntParseError::Invalid));
    assert_eq!(parse_int("1", 37), Err(IntParseError::BadBase));
    assert_eq!(parse_int(&"1".repeat(5000), 10), Err(IntParseError::TooManyDigits(5000)));
    assert_eq!(parse_int(&format!("{}x", "1".repeat(4301)), 10), Err(IntParseError::TooManyDigits(4301)));
    assert!(parse_int(&"1".repeat(4301), 16).is_ok());
    assert!(parse_int(&"1".repeat(4300), 10).is_ok());
}

#[test]
fn limit_messages() {
    assert_eq!(IntParseError::TooManyDigits(5000).to_error("'...'", 10).message, "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit");
    assert_eq!(int_to_decimal_string(&num_traits::pow(big("10"), 4300)).unwrap_err().message, "Exceeds the limit (4300 digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit");
    assert_eq!(int_to_decimal_string(&(num_traits::pow(big("10"), 4300) - 1)).unwrap().len(), 4300);
    assert_eq!(IntParseError::Invalid.to_error("'12x'", 10).message, "invalid literal for int() with base 10: '12x'");
}

#[test]
fn radix_text() {
    assert_eq!(int_to_string_radix(&big("-31"), 16, true), "-0x1f");
    assert_eq!(int_to_string_radix(&big("31"), 16, false), "1f");
    assert_eq!(int_to_string_radix(&big("5"), 2, true), "0b101");
    assert_eq!(int_to_string_radix(&big("-8"), 8, true), "-0o10");
    assert_eq!(int_to_string_radix(&big("0"), 16, true), "0x0");
    assert_eq!(int_to_string_radix(&big("35"), 36, false), "z");
}

#[test]
fn parse_float_cases() {
    assert_eq!(parse_float("1.5").map(float_repr).as_deref(), Some("1.5"));
    assert_eq!(parse_float(" -2e3 ").map(float_repr).as_deref(), Some("-2000.0"));
    assert_eq!(parse_float("1_000.000_1").map(float_repr).as_deref(), Some("1000.0001"));
    assert_eq!(parse_float(".5").map(float_repr).as_deref(), Some("0.5"));
    assert_eq!(parse_float("5.").map(float_repr).as_deref(), Some("5.0"));
    assert_eq!(parse_float("inf").map(float_repr).as_deref(), Some("inf"));
    assert_eq!(parse_float("-Infinity").map(float_repr).as_deref(), Some("-inf"));
    assert_eq!(parse_float("nAn").map(float_repr).as_deref(), Some("nan"));
    assert_eq!(parse_float("+nan").map(float_repr).as_deref(), Some("nan"));
    assert_eq!(parse_float("1e-400").map(float_repr).as_deref(), Some("0.0"));
    assert_eq!(parse_float("1e400").map(float_repr).as_deref(), Some("inf"));
    assert_eq!(parse_float("  7 ").map(float_repr).as_deref(), Some("7.0"));
    assert_eq!(parse_float("١.٥").map(float_repr).as_deref(), Some("1.5"));
    assert_eq!(parse_float("0x1p3"), None);
    assert_eq!(parse_float("1__0"), None);
    assert_eq!(parse_float("_1"), None);
    assert_eq!(parse_float("1_"), None);
    assert_eq!(parse_float("1e"), None);
    assert_eq!(parse_float("e5"), None);
    assert_eq!(parse_float("."), None);
    assert_eq!(parse_float("in"), None);
    assert_eq!(parse_float("1.5."), None);
    assert_eq!(parse_float("1_e5"), None);
    assert_eq!(parse_float("1e_5"), None);
    assert_eq!(parse_float(""), None);
}

#[test]
fn hashes() {
    assert_eq!(hash_int(&big("0")), 0);
    assert_eq!(hash_i64(0), 0);
    assert_eq!(hash_int(&big("1")), 1);
    assert_eq!(hash_i64(1), 1);
    assert_eq!(hash_int(&big("-1")), -2);
    assert_eq!(hash_i64(-1), -2);
    assert_eq!(hash_int(&big("-2")), -2);
    assert_eq!(hash_i64(-2), -2);
    assert_eq!(hash_int(&big("2305843009213693951")), 0);
    assert_eq!(hash_i64(2305843009213693951), 0);
    assert_eq!(hash_int(&big("2305843009213693952")), 1);
    assert_eq!(hash_i64(2305843009213693952), 1);
    assert_eq!(hash_int(&big("-2305843009213693952")), -2);
    assert_eq!(hash_i64(-2305843009213693952), -2);
    assert_eq!(hash_int(&big("1267650600228229401496703205383")), 549755813895);
    assert_eq!(hash_int(&big("-1000000000000000000000000000000")), -465258685558744706);
    assert_eq!(hash_float(f64::from_bits(0x3ff8000000000000)), 1152921504606846977);
    assert_eq!(hash_float(f64::from_bits(0xbff0000000000000)), -2);
    assert_eq!(hash_float(f64::from_bits(0x7e37e43c8800759c)), 1224995262755759164);
    assert_eq!(hash_float(f64::from_bits(0x0000000000000001)), 16777216);
    assert_eq!(hash_float(f64::from_bits(0x3fb999999999999a)), 230584300921369408);
    assert_eq!(hash_float(f64::from_bits(0x8000000000000000)), 0);
    assert_eq!(hash_float(f64::from_bits(0x4450000000000000)), 512);
    assert_eq!(hash_float(f64::from_bits(0xc05edd2f1a9fbe77)), -1051464412201451643);
    assert_eq!(hash_float(f64::INFINITY), 314159);
    assert_eq!(hash_float(f64::NEG_INFINITY), -314159);
    assert_eq!(hash_str("abc"), hash_str("abc"));
    assert_ne!(hash_str("abc"), hash_str("abd"));
}

#[test]
fn true_division() {
    assert_eq!(float_repr(int_true_div(&big("10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"), &big("1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")).unwrap()), "10.0");
    assert_eq!(float_repr(int_true_div(&big("1"), &big("3")).unwrap()), "0.3333333333333333");
    assert_eq!(float_repr(int_true_div(&big("-7"), &big("2")).unwrap()), "-3.5");
    assert_eq!(float_repr(int_true_div(&big("0"), &big("-5")).unwrap()), "-0.0");
    assert_eq!(float_repr(int_true_div(&big("13582985290493858492773514283592667786034938469317445497485196697278130927542418487205392083207560592298578262953847383475038725543234929971155548342800628721885763499406390331782864144164680730766837160526223176512798435772129956553355286032203080380775759732320198985094884004069116123084147875437183658467465148948790552744165376"), &big("18739277038847939886754019920358123424308469030992781557966909983211910963157763678726120154469030856807730587971859910379069087693119051085139566217370635083384943613868029545256897117998608156843699465093293765833141309526696357142600866935689483770877815014461194837692223879905132001")).unwrap()), "7.24840412057269e+44");
    assert_eq!(float_repr(int_true_div(&big("1"), &big("100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")).unwrap()), "1e-320");
    assert_eq!(float_repr(int_true_div(&big("-1"), &big("9657802140591758043812442031522928437371194636776843099838260055342219733688083412928987321682880332396927287242805644548901834234972280564072880735127568242460394336247761481999342991210220561304479523441956128812808859393388776484808811910915541232693035534590226711458043242074211993816993921587180335757972232760635320184916654001")).unwrap()), "-0.0");
    assert_eq!(float_repr(int_true_div(&big("10000000000000001"), &big("10000000000000000")).unwrap()), "1.0");
    assert_eq!(int_true_div(&big("1"), &big("0")).unwrap_err().message, "division by zero");
    let e = int_true_div(&num_traits::pow(big("10"), 400), &big("1")).unwrap_err();
    assert_eq!(e.message, "integer division result too large for a float");
    assert_eq!(bigint_to_f64(&num_traits::pow(big("2"), 1024)), Err(()));
    assert_eq!(float_repr(bigint_to_f64(&big("179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858367")).unwrap()), "1.7976931348623157e+308");
    assert_eq!(float_repr(bigint_to_f64(&big("9007199254740993")).unwrap()), "9007199254740992.0");
    assert_eq!(float_repr(bigint_to_f64(&big("9007199254740995")).unwrap()), "9007199254740996.0");
    assert_eq!(float_repr(bigint_to_f64(&big("-18446744073709551615")).unwrap()), "-1.8446744073709552e+19");
    assert_eq!(float_repr(bigint_to_f64(&big("1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")).unwrap()), "1e+300");
}

#[test]
fn float_division_and_rounding() {
    let (d, m) = float_floor_div_mod(5.0_f64, -3.0_f64);
    assert_eq!((float_repr(d), float_repr(m)), ("-2.0".to_string(), "-1.0".to_string()));
    let (d, m) = float_floor_div_mod(-0.0_f64, 3.0_f64);
    assert_eq!((float_repr(d), float_repr(m)), ("-0.0".to_string(), "0.0".to_string()));
    let (d, m) = float_floor_div_mod(0.0_f64, -3.0_f64);
    assert_eq!((float_repr(d), float_repr(m)), ("-0.0".to_string(), "-0.0".to_string()));
    let (d, m) = float_floor_div_mod(-1e-300_f64, 1e+300_f64);
    assert_eq!((float_repr(d), float_repr(m)), ("-1.0".to_string(), "1e+300".to_string()));
    let (d, m) = float_floor_div_mod(7.5_f64, f64::INFINITY);
    assert_eq!((float_repr(d), float_repr(m)), ("0.0".to_string(), "7.5".to_string()));
    let (d, m) = float_floor_div_mod(-7.5_f64, f64::INFINITY);
    assert_eq!((float_repr(d), float_repr(m)), ("-1.0".to_string(), "inf".to_string()));
    let (d, m) = float_floor_div_mod(-7.5_f64, 2.0_f64);
    assert_eq!((float_repr(d), float_repr(m)), ("-4.0".to_string(), "0.5".to_string()));
    let (d, m) = float_floor_div_mod(1.0_f64, 0.1_f64);
    assert_eq!((float_repr(d), float_repr(m)), ("9.0".to_string(), "0.09999999999999995".to_string()));
    assert_eq!(float_repr(round_half_even_f64(2.675_f64, 2).unwrap()), "2.67");
    assert_eq!(float_repr(round_half_even_f64(0.5_f64, 0).unwrap()), "0.0");
    assert_eq!(float_repr(round_half_even_f64(1.5_f64, 0).unwrap()), "2.0");
    assert_eq!(float_repr(round_half_even_f64(2.5_f64, 0).unwrap()), "2.0");
    assert_eq!(float_repr(round_half_even_f64(-0.4_f64, 0).unwrap()), "-0.0");
    assert_eq!(float_repr(round_half_even_f64(1234.5678_f64, -2).unwrap()), "1200.0");
    assert_eq!(float_repr(round_half_even_f64(-1.005_f64, 2).unwrap()), "-1.0");
    assert_eq!(float_repr(round_half_even_f64(5e-324_f64, 400).unwrap()), "5e-324");
    assert_eq!(float_repr(round_half_even_f64(1e+300_f64, -400).unwrap()), "0.0");
    assert_eq!(float_repr(round_half_even_f64(0.125_f64, 2).unwrap()), "0.12");
    assert_eq!(float_repr(round_half_even_f64(123456789.0_f64, -5).unwrap()), "123500000.0");
    assert_eq!(
        round_half_even_f64(1.7976931348623157e308, -308).unwrap_err().message,
        "rounded value too large to represent"
    );
    assert_eq!(round_to_integral_half_even(0.5_f64), 0.0_f64);
    assert_eq!(round_to_integral_half_even(1.5_f64), 2.0_f64);
    assert_eq!(round_to_integral_half_even(2.5_f64), 2.0_f64);
    assert_eq!(round_to_integral_half_even(-0.5_f64), 0.0_f64);
    assert_eq!(round_to_integral_half_even(-2.5_f64), -2.0_f64);
    assert_eq!(round_to_integral_half_even(3.7_f64), 4.0_f64);
    assert_eq!(round_to_integral_half_even(-3.2_f64), -3.0_f64);
    assert_eq!(float_to_bigint(-3.99), Some(big("-3")));
    assert_eq!(float_to_bigint(1e20), Some(big("100000000000000000000")));
    assert_eq!(float_to_bigint(f64::NAN), None);
    assert!(float_is_integer(3.0));
    assert!(!float_is_integer(3.5));
    assert!(!float_is_integer(f64::INFINITY));
}

#[test]
fn powers() {
    assert_eq!(float_repr(float_pow(2.0_f64, 0.5_f64).unwrap()), "1.4142135623730951");
    assert_eq!(float_repr(float_pow(-8.0_f64, 3.0_f64).unwrap()), "-512.0");
    assert_eq!(float_repr(float_pow(-1.0_f64, 1e+300_f64).unwrap()), "1.0");
    assert_eq!(float_repr(float_pow(0.0_f64, 3.0_f64).unwrap()), "0.0");
    assert_eq!(float_repr(float_pow(-0.0_f64, 3.0_f64).unwrap()), "-0.0");
    assert_eq!(float_repr(float_pow(f64::INFINITY, -3.0_f64).unwrap()), "0.0");
    assert_eq!(float_repr(float_pow(f64::NEG_INFINITY, 3.0_f64).unwrap()), "-inf");
    assert_eq!(float_repr(float_pow(0.5_f64, f64::INFINITY).unwrap()), "0.0");
    assert_eq!(float_repr(float_pow(1.0_f64, f64::NAN).unwrap()), "1.0");
    assert_eq!(float_repr(float_pow(f64::NAN, 0.0_f64).unwrap()), "1.0");
    assert_eq!(float_repr(float_pow(2.0_f64, -1074.0_f64).unwrap()), "5e-324");
    assert_eq!(float_pow(0.0, -1.0), Err(FloatPowError::ZeroToNegative));
    assert_eq!(float_pow(-8.0, 1.0 / 3.0), Err(FloatPowError::Complex));
    assert_eq!(float_pow(10.0, 400.0), Err(FloatPowError::Overflow));
    assert_eq!(FloatPowError::ZeroToNegative.to_error().message, "0.0 cannot be raised to a negative power");
}
