//! The `run_gen` target's generator, outside libFuzzer:
//!
//! - `gen_sample OUT_DIR [COUNT] [SEED]` writes COUNT programs from pseudo-random bytes
//!   (to check the generator by eye and against CPython);
//! - `gen_sample --render ARTIFACT` prints the program a saved input (a crash artifact or
//!   a corpus file) makes.
//!
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example gen_sample -- ...`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--render") {
        let path = args.get(1).expect("usage: gen_sample --render ARTIFACT");
        let data = std::fs::read(path).expect("read ARTIFACT");
        print!("{}", aio_fuzz::gen::program(&data));
        return;
    }
    let dir = std::path::PathBuf::from(args.first().expect("usage: gen_sample OUT_DIR [COUNT] [SEED]"));
    let count: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let mut state: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    std::fs::create_dir_all(&dir).expect("create OUT_DIR");
    for i in 0..count {
        // xorshift64*: enough randomness to drive the generator.
        let len = 200 + (i as usize * 37) % 2000;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect();
        std::fs::write(dir.join(format!("g{i:04}.py")), aio_fuzz::gen::program(&data)).expect("write program");
    }
}
