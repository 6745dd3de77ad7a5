//! Dev tool: parses many files and lists the syntax errors (e.g. over the CPython stdlib).
fn main() {
    let mut ok = 0;
    let mut bad = 0;
    for path in std::env::args().skip(1) {
        let Ok(src) = std::fs::read_to_string(&path) else { continue };
        match aio::parser::parse_module(&src) {
            Ok(_) => ok += 1,
            Err(e) => {
                bad += 1;
                let (l, c) = aio::diagnostics::line_col(&src, e.span.start as usize);
                println!("{path}:{l}:{c}: {} {}", e.kind.class_name(), e.message);
            }
        }
    }
    println!("ok={ok} bad={bad}");
}
