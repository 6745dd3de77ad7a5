//! Every benchmark program (`bench/*.py`) and every example (`examples/**/*.aio`, the seed
//! notes' code blocks among them) must parse.

use std::path::{Path, PathBuf};

fn files_in(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_in(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

#[test]
fn corpus_parses_without_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_in(&root.join("bench"), "py", &mut files);
    files_in(&root.join("examples"), "aio", &mut files);
    files.sort();
    assert!(files.len() >= 20, "expected the benchmarks and examples, found {}", files.len());
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
