//! Dev tool: prints the AST of a file, or its rendered syntax error (`cargo run --example dump FILE`).
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    match aio::parser::parse_module(&src) {
        Ok(m) => println!("{:#?}", m),
        Err(e) => print!("{}", aio::diagnostics::render(&e, &path, &src, false)),
    }
}
