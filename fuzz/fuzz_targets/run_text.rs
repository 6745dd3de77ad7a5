//! The VM on mutated program text (seeded with the test scripts and benchmarks), sandboxed
//! and interrupted after a second. Inputs that could catch the interrupt are skipped.
#![no_main]

use aio_fuzz::harness;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if harness::may_swallow_interrupt(src) {
        return;
    }
    harness::on_big_stack(|| harness::run(src, harness::RUN_LIMIT));
});
