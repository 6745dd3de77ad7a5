//! Tests for `text::mersenne` (sequences from CPython 3.11's `random`).

use crate::text::mersenne::{sha512, Mt19937};
use num_bigint::BigInt;

fn b(s: &str) -> BigInt {
    s.parse().unwrap()
}

fn seeded(seed: &str) -> Mt19937 {
    let mut r = Mt19937::new();
    r.seed_from_int(&b(seed));
    r
}

#[test]
fn randint_and_random() {
    let mut r = seeded("1");
    let v: Vec<String> = (0..10).map(|_| r.randint(&b("1"), &b("6")).unwrap().to_string()).collect();
    assert_eq!(v.join(","), "2,5,1,3,1,4,4,4,6,4");
    assert_eq!(seeded("42").random(), 0.6394267984578837);
    let mut r = seeded("1000000000000000000000000000000");
    assert_eq!(r.random(), RANDOM_BIG_SEED);
    assert_eq!(r.getrandbits(33).unwrap(), b(BITS33));
    assert_eq!(r.getrandbits(64).unwrap(), b(BITS64));
}

#[test]
fn shuffle_sample_choice() {
    let mut r = seeded("0");
    let mut x: Vec<i32> = (0..10).collect();
    r.shuffle(&mut x);
    assert_eq!(x, [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
    let mut r = seeded("3");
    assert_eq!(r.sample_indices(100, 5).unwrap(), [30, 75, 69, 16, 47]);
    assert_eq!(r.sample_indices(10, 7).unwrap(), [9, 7, 1, 4, 0, 3, 2]);
    assert_eq!(r.choice_index(6).unwrap(), 4);
    let mut r = seeded("5");
    let s = r.sample_indices(1_000_000, 30).unwrap();
    assert_eq!(s[..5], [653159, 267853, 777820, 375951, 833820]);
    assert_eq!(r.randrange(&b("100"), Some(&b("0")), &b("-3")).unwrap(), b("55"));
    let mut r = seeded("12345");
    let v: Vec<usize> = (0..8).map(|_| r.randrange(&b("10"), None, &b("1")).unwrap().try_into().unwrap()).collect();
    assert_eq!(v, RANDRANGE10);
    assert_eq!(r.sample_indices(30, 10).unwrap(), SAMPLE30);
    assert_eq!(r.choices_index(7), CHOICES7);
}

#[test]
fn big_and_float_variates() {
    let mut r = Mt19937::new();
    r.seed_from_int(&(BigInt::from(1u128 << 100) + 12345));
    assert_eq!(r.getrandbits(100).unwrap(), b("736989827579395688601110131798"));
    assert_eq!(r.getrandbits(7).unwrap(), b("88"));
    let lo = b("-100000000000000000000");
    let hi = b("100000000000000000000");
    assert_eq!(r.randrange(&lo, Some(&hi), &b("7")).unwrap(), b("29378807169055154725"));
    let mut r = seeded("-7");
    assert_eq!(r.gauss(0.0, 1.0), -0.2558802884476004);
    assert_eq!(r.gauss(1.0, 2.0), 2.022863025033028);
    assert_eq!(r.gauss(0.0, 1.0), -0.2260961647831047);
    assert_eq!(r.uniform(1.0, 5.0), 3.143528017226757);
    assert_eq!(r.triangular(0.0, 10.0, Some(3.0)), 3.3365342488972747);
    assert_eq!(r.expovariate(2.0), 0.029874431489150505);
}

#[test]
fn string_seeds_and_sha512() {
    let mut r = Mt19937::new();
    r.seed_from_str("hello");
    assert_eq!(r.random(), 0.3537754404730722);
    r.seed_from_str("");
    assert_eq!(r.random(), 0.9602256525641875);
    let h: String = sha512(b"abc").iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(
        h,
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
         2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
}

#[test]
fn errors() {
    let mut r = seeded("1");
    let one = b("1");
    let msg = |e: crate::text::TextError| e.to_string();
    assert_eq!(msg(r.choice_index(0).unwrap_err()), "IndexError: Cannot choose from an empty sequence");
    assert_eq!(msg(r.randrange(&b("0"), None, &one).unwrap_err()), "ValueError: empty range for randrange()");
    assert_eq!(
        msg(r.randrange(&b("5"), Some(&b("5")), &one).unwrap_err()),
        "ValueError: empty range for randrange() (5, 5, 0)"
    );
    assert_eq!(
        msg(r.randrange(&b("0"), Some(&b("10")), &b("0")).unwrap_err()),
        "ValueError: zero step for randrange()"
    );
    assert_eq!(
        msg(r.randrange(&b("10"), Some(&b("0")), &b("2")).unwrap_err()),
        "ValueError: empty range for randrange()"
    );
    assert_eq!(msg(r.randint(&b("5"), &b("1")).unwrap_err()), "ValueError: empty range for randrange() (5, 2, -3)");
    assert_eq!(msg(r.sample_indices(3, 5).unwrap_err()), "ValueError: Sample larger than population or is negative");
    assert_eq!(msg(r.getrandbits(-1).unwrap_err()), "ValueError: number of bits must be non-negative");
}

const RANDOM_BIG_SEED: f64 = 0.9341508484568806;
const BITS33: &str = "2256175901";
const BITS64: &str = "399838925358826111";
const RANDRANGE10: [usize; 8] = [6, 0, 4, 5, 3, 4, 9, 6];
const SAMPLE30: [usize; 10] = [5, 11, 3, 13, 8, 17, 20, 29, 19, 24];
const CHOICES7: usize = 1;
