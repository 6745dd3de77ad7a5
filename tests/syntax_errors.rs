//! Golden tests for syntax-error reports: every `tests/syntax_errors/*.aio` is parsed, the
//! first error rendered without colour and compared with the sibling `.err` file
//! (`AIO_BLESS=1` rewrites them). Where `python3` is present, CPython must raise the same
//! exception class, except for files whose first line starts with `# deviation:`.

use std::path::{Path, PathBuf};
use std::process::Command;

use aio::diagnostics::render;
use aio::parser::parse_module;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/syntax_errors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/syntax_errors exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "aio"))
        .collect();
    files.sort();
    files
}

/// The exception class CPython raises when compiling `path`, or `None` without python3.
fn cpython_class(path: &Path) -> Option<String> {
    let script = "import sys\ntry:\n    compile(open(sys.argv[1], encoding='utf-8').read(), sys.argv[1], 'exec')\n    print('OK')\nexcept SyntaxError as e:\n    print(type(e).__name__)\n";
    let out = Command::new("python3").arg("-c").arg(script).arg(path).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn syntax_error_goldens() {
    let bless = std::env::var_os("AIO_BLESS").is_some();
    let have_python = Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have_python {
        println!("notice: python3 not found; skipping the CPython exception-class check");
    }
    let files = cases();
    assert!(files.len() >= 20, "expected at least 20 cases, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let source = std::fs::read_to_string(path).expect("case is readable");
        let err = match parse_module(&source) {
            Ok(_) => {
                failures.push(format!("{name}: parsed without error"));
                continue;
            }
            Err(e) => e,
        };
        let report = render(&err, &name, &source, false);
        let golden = path.with_extension("err");
        if bless {
            std::fs::write(&golden, &report).expect("golden is writable");
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(expected) if expected == report => {}
                Ok(expected) => {
                    failures.push(format!("{name}: report differs\n--- expected\n{expected}\n--- got\n{report}"))
                }
                Err(_) => failures.push(format!("{name}: missing {}", golden.display())),
            }
        }
        if have_python && !source.starts_with("# deviation:") {
            match cpython_class(path) {
                Some(class) if class == err.kind.class_name() => {}
                Some(class) => failures.push(format!("{name}: CPython raises {class}, aio {}", err.kind.class_name())),
                None => failures.push(format!("{name}: python3 failed to run")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
