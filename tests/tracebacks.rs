//! Golden tests for uncaught-exception reports: every `tests/tracebacks/*.aio` (except the
//! `*_helper.aio` modules the cases import) is run with `aio` from inside that folder, and its
//! stderr must equal the sibling `.err` file exactly and its exit status the `.code` file.
//! `AIO_BLESS=1` rewrites both from aio (the goldens are aio's own rendering, which follows
//! CPython 3.11's layout minus the `^^^^` column markers).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tracebacks")
}

fn cases() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("tests/tracebacks exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "aio"))
        .filter(|p| !p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.ends_with("_helper")))
        .collect();
    files.sort();
    files
}

#[test]
fn traceback_goldens() {
    let bless = std::env::var_os("AIO_BLESS").is_some();
    let files = cases();
    assert!(files.len() >= 12, "expected at least 12 cases, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name").to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_aio"))
            .arg(&name)
            .current_dir(dir())
            .env("NO_COLOR", "1")
            .env_remove("AIOPATH")
            .stdin(Stdio::null())
            .output()
            .expect("aio runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // An uncaught KeyboardInterrupt ends aio by SIGINT, as CPython: compare the status
        // a shell shows (128 + the signal).
        let code = match (out.status.code(), std::os::unix::process::ExitStatusExt::signal(&out.status)) {
            (Some(c), _) => c.to_string(),
            (None, Some(sig)) => (128 + sig).to_string(),
            (None, None) => {
                failures.push(format!("{name}: no exit status"));
                continue;
            }
        };
        let (err_path, code_path) = (path.with_extension("err"), path.with_extension("code"));
        if bless {
            std::fs::write(&err_path, &stderr).expect("write .err");
            std::fs::write(&code_path, format!("{code}\n")).expect("write .code");
            continue;
        }
        match std::fs::read_to_string(&err_path) {
            Ok(expected) if expected == stderr => {}
            Ok(expected) => failures.push(format!("{name}: stderr differs\n--- expected\n{expected}--- got\n{stderr}")),
            Err(_) => failures.push(format!("{name}: missing {}", err_path.display())),
        }
        match std::fs::read_to_string(&code_path) {
            Ok(expected) if expected.trim() == code => {}
            Ok(expected) => failures.push(format!("{name}: exit status {code}, expected {}", expected.trim())),
            Err(_) => failures.push(format!("{name}: missing {}", code_path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
