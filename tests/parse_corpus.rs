//! Every `tests/parse_corpus/*.py` (the benchmark programs and the seed documents' code
//! blocks, copied here so the test does not depend on `/work/shared`) must parse.

use std::path::Path;

#[test]
fn corpus_parses_without_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parse_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/parse_corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for path in &files {
        let source = std::fs::read_to_string(path).expect("corpus file is readable");
        if let Err(e) = aio::parser::parse_module(&source) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            failures.push(aio::diagnostics::render(&e, name, &source, false));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
