//! The VM on generated programs: the fuzzer's bytes drive a generator ([`aio_fuzz::gen`])
//! that writes a program from a small Python grammar (functions, classes with dunders,
//! generators, exceptions, `with`, asyncio tasks and cancellation), which then runs
//! sandboxed and is interrupted after a second.
#![no_main]

use aio_fuzz::harness;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = aio_fuzz::gen::program(data);
    harness::on_big_stack(|| harness::run(&src, harness::RUN_LIMIT));
});
