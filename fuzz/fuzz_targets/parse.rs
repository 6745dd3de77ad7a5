//! The lexer and parser on any bytes: every parser entry point, and the rendering of each
//! syntax error. Text that is not UTF-8 never reaches the lexer (the CLI rejects it first).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        aio_fuzz::harness::on_big_stack(|| aio_fuzz::harness::front_end(src));
    }
});
