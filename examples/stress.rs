//! Dev tool: times the parser on deep and large inputs (runs on a big-stack thread).
fn main() {
    let child = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            let cases = vec![
                ("minus", format!("x = {}1\n", "-".repeat(100_000))),
                ("terms", format!("x = {}1\n", "1 + ".repeat(200_000))),
                ("garbage", "x = = 1\n".repeat(100_000)),
                ("lines", "x = 1\n".repeat(100_000)),
                ("longline", format!("x = '{}'\n", "a".repeat(1 << 20))),
                ("not", format!("x = {}1\n", "not ".repeat(100_000))),
                ("attr", format!("x = a{}\n", ".b".repeat(100_000))),
            ];
            for (name, src) in cases {
                let t = std::time::Instant::now();
                let r = aio::parser::parse_module_all(&src);
                let n = match &r {
                    Ok(_) => 0,
                    Err(e) => e.len(),
                };
                println!("{name}: errors={n} {:?}", t.elapsed());
                std::mem::forget(r);
            }
        })
        .unwrap();
    child.join().unwrap();
}
