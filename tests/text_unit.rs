//! Unit tests for the `text` support modules. The modules are included by
//! path so that they compile and test without the rest of the crate.
//! Expected values were obtained from CPython 3.11.

#[path = "../src/text/mod.rs"]
#[allow(dead_code)]
mod text;

#[path = "text_unit/float_repr.rs"]
mod float_repr_tests;
#[path = "text_unit/format_spec.rs"]
mod format_spec_tests;
#[path = "text_unit/mersenne.rs"]
mod mersenne_tests;
#[path = "text_unit/numbers.rs"]
mod numbers_tests;
#[path = "text_unit/percent.rs"]
mod percent_tests;
