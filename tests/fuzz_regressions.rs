//! Every input the fuzzers (`fuzz/`) ever crashed aio with, replayed on every `cargo test`.
//!
//! `fuzz/regressions/<target>/` holds the minimised inputs: `parse/` (the front end),
//! `compile/` (the compiler and disassembler) and `run/` (programs run by the VM; both VM
//! targets save the program text there). Each input goes through the same in-process entry
//! point the fuzz target drives (`fuzz/src/harness.rs`, shared with the fuzz crate), and then
//! through the built `aio` binary (`aio check` / `aio run`), which must exit with 0, 1 or 2,
//! never by a signal and never with `panicked` on stderr.
//!
//! Adding a crasher: copy the minimised input into the folder of the target that found it
//! (any file name; the bug it was goes in a comment in the input or in the commit).

#[allow(dead_code)]
#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A hang guard for the binary runs, never a measurement.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs `f` on the binary's stack size; a panic becomes an error message.
fn in_process(f: impl FnOnce() + Send) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness::on_big_stack(f))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// Runs the `aio` binary on `file`; an error unless it exits 0, 1 or 2 without a panic.
fn binary(args: &[&str], file: &Path) -> Result<(), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aio"))
        .args(args)
        .arg(file)
        .current_dir(std::env::temp_dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start aio: {e}"))?;
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("aio {} did not end within {HANG_GUARD:?}", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = reader.join().unwrap_or_default();
    match status.code() {
        Some(0..=2) if !stderr.contains("panicked") => Ok(()),
        code => Err(format!("aio {} exited with {code:?}; stderr ends:\n{}", args.join(" "), tail(&stderr))),
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn text(file: &Path) -> Option<String> {
    String::from_utf8(std::fs::read(file).expect("read regression input")).ok()
}

#[test]
fn fuzz_regressions_do_not_crash() {
    let mut failures = Vec::new();
    let mut count = 0;
    for target in ["parse", "compile", "run"] {
        for file in inputs(target) {
            count += 1;
            let name = format!("{target}/{}", file.file_name().unwrap_or_default().to_string_lossy());
            let src = text(&file);
            let r = match (target, src) {
                // The CLI rejects text that is not UTF-8 before the lexer sees it.
                (_, None) => Ok(()),
                ("parse", Some(src)) => in_process(|| harness::front_end(&src)),
                ("compile", Some(src)) => in_process(|| harness::compile(&src)),
                (_, Some(src)) => in_process(|| {
                    harness::run(&src, harness::RUN_LIMIT);
                }),
            };
            let r = r.map_err(|p| format!("in process: panicked: {p}")).and_then(|()| {
                let args: &[&str] = if target == "run" { &["run"] } else { &["check"] };
                binary(args, &file)
            });
            if let Err(e) = r {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} fuzz regressions fail:\n{}", failures.len(), failures.join("\n\n"));
}
