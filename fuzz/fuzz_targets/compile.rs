//! The compiler (module, REPL and top-level-await modes) and the disassembler on every
//! input that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        aio_fuzz::harness::on_big_stack(|| aio_fuzz::harness::compile(src));
    }
});
