//! Golden outputs of the CLI's developer commands: `aio run --dis FILE` for every
//! `tests/dis/*.aio` (stdout against `.dis`), and `aio check FILE` for every
//! `tests/check/*.aio` (stderr against `.err`). `AIO_BLESS=1` rewrites the goldens from aio.
//! Also: no ANSI escape ever reaches a pipe, with or without `NO_COLOR`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn cases(sub: &str) -> (PathBuf, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(sub);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("golden folder exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".aio"))
        .collect();
    names.sort();
    (dir, names)
}

fn aio(dir: &Path, args: &[&str], no_color: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aio"));
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    cmd.output().expect("aio runs")
}

/// Compares `actual` with the golden at `path` (or writes it when blessing).
fn golden(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("AIO_BLESS").is_some() {
        std::fs::write(path, actual).expect("write golden");
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            failures.push(format!("{}: differs\n--- expected\n{expected}--- got\n{actual}", path.display()))
        }
        Err(_) => failures.push(format!("{}: missing golden", path.display())),
    }
}

#[test]
fn disassembly_goldens() {
    let (dir, names) = cases("dis");
    assert!(names.len() >= 2, "expected at least 2 cases");
    let mut failures = Vec::new();
    for name in &names {
        let out = aio(&dir, &["run", "--dis", name], true);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(stdout.contains("Disassembly of <code <module>>"), "{name}: {stdout}");
        golden(&dir.join(name.replace(".aio", ".dis")), &stdout, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn check_goldens() {
    let (dir, names) = cases("check");
    let mut failures = Vec::new();
    for name in &names {
        let out = aio(&dir, &["check", name], true);
        assert_eq!(out.status.code(), Some(1), "{name}: check must fail");
        assert!(out.stdout.is_empty(), "{name}: check prints nothing on stdout");
        golden(&dir.join(name.replace(".aio", ".err")), &String::from_utf8_lossy(&out.stderr), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn check_reports_every_error_in_source_order() {
    let (dir, _) = cases("check");
    let out = aio(&dir, &["check", "several.aio"], true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<usize> = stderr
        .lines()
        .filter_map(|l| l.split("several.aio:").nth(1))
        .filter_map(|rest| rest.split(':').next()?.parse().ok())
        .collect();
    assert!(lines.len() >= 4, "several errors reported: {lines:?}\n{stderr}");
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "in source order: {lines:?}");
    assert_eq!(stderr.matches("SyntaxError:").count(), lines.len());
}

#[test]
fn no_ansi_codes_on_a_pipe() {
    let (dir, _) = cases("check");
    let tb = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tracebacks");
    for no_color in [true, false] {
        for (d, args) in [
            (&dir, vec!["check", "several.aio"]),
            (&dir, vec!["several.aio"]),
            (&tb, vec!["raise_from.aio"]),
            (&tb, vec!["import_syntax_error.aio"]),
        ] {
            let out = aio(d, &args, no_color);
            let all = [out.stdout, out.stderr].concat();
            assert!(!all.is_empty(), "{args:?} says something");
            assert!(!all.contains(&0x1b), "{args:?} (NO_COLOR={no_color}) wrote an escape code");
        }
    }
}
