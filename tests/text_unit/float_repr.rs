//! Tests for `text::float_repr`.

use crate::text::float_repr::{double_to_string, float_repr, DtoaFlags};

#[test]
fn repr_curated() {
    let cases: &[(u64, &str)] = &[
        (0x0000000000000000, "0.0"),
        (0x8000000000000000, "-0.0"),
        (0x3ff0000000000000, "1.0"),
        (0xbff0000000000000, "-1.0"),
        (0x3fb999999999999a, "0.1"),
        (0x3fd3333333333334, "0.30000000000000004"),
        (0x3fd5555555555555, "0.3333333333333333"),
        (0x3fe5555555555555, "0.6666666666666666"),
        (0x4341c37937e08000, "1e+16"),
        (0x430c6bf526340000, "1000000000000000.0"),
        (0x4341c37937e07fff, "9999999999999998.0"),
        (0x3f1a36e2eb1c432d, "0.0001"),
        (0x3ee4f8b588e368f1, "1e-05"),
        (0x3f202e4b6ce5dc68, "0.00012345"),
        (0x437b69b4ba630f35, "1.2345678901234568e+17"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0x0000000000000001, "5e-324"),
        (0x0010000000000000, "2.2250738585072014e-308"),
        (0x7ff0000000000000, "inf"),
        (0xfff0000000000000, "-inf"),
        (0x7ff8000000000000, "nan"),
        (0x4480f0cf064dd592, "1e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x4059000000000000, "100.0"),
        (0x3ff8000000000000, "1.5"),
        (0x81bac9a7b3b7302f, "-2.5e-300"),
        (0x400921f9f01b866e, "3.14159"),
        (0x4340000000000000, "9007199254740992.0"),
        (0x43e0000000000000, "9.223372036854776e+18"),
        (0x42a674e780df0000, "12345678000000.0"),
        (0x3fd3333333333333, "0.3"),
    ];
    for &(bits, want) in cases {
        assert_eq!(float_repr(f64::from_bits(bits)), want, "bits {bits:#x}");
    }
}

#[test]
fn repr_negative_nan_has_no_sign() {
    assert_eq!(float_repr(-f64::NAN), "nan");
}

#[test]
fn double_to_string_modes() {
    let plain = DtoaFlags::default();
    assert_eq!(double_to_string(0.5, 'f', 0, plain), "0");
    assert_eq!(double_to_string(1.5, 'f', 0, plain), "2");
    assert_eq!(double_to_string(2.675, 'f', 2, plain), "2.67");
    assert_eq!(double_to_string(12345.0, 'e', 2, plain), "1.23e+04");
    assert_eq!(double_to_string(1e-310, 'E', 3, plain), "1.000E-310");
    assert_eq!(double_to_string(100000.0, 'g', 6, plain), "100000");
    assert_eq!(double_to_string(1000000.0, 'g', 6, plain), "1e+06");
    assert_eq!(double_to_string(f64::INFINITY, 'F', 6, plain), "INF");
    let alt = DtoaFlags { alt: true, ..plain };
    assert_eq!(double_to_string(1.0, 'g', 3, alt), "1.00");
    assert_eq!(double_to_string(1.0, 'f', 0, alt), "1.");
    let sign = DtoaFlags { always_add_sign: true, ..plain };
    assert_eq!(double_to_string(1.0, 'f', 1, sign), "+1.0");
    assert_eq!(double_to_string(f64::NAN, 'f', 1, sign), "+nan");
}
