//! Every ```python block in README.md runs under aio, and prints what CPython prints
//! (where `python3` is present).

use std::process::Command;

fn blocks() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match &mut cur {
            None if line.trim_start() == "```python" => cur = Some(String::new()),
            Some(b) if line.trim_start() == "```" => {
                out.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

fn run(cmd: &str, args: &[&str], file: &std::path::Path) -> Option<(String, i32)> {
    let out = Command::new(cmd).args(args).arg(file).output().ok()?;
    Some((String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1)))
}

#[test]
fn readme_python_blocks_run_and_match_cpython() {
    let blocks = blocks();
    assert!(blocks.len() >= 2, "README should show some code");
    let dir = std::env::temp_dir().join(format!("aio-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, b) in blocks.iter().enumerate() {
        let f = dir.join(format!("block{i}.py"));
        std::fs::write(&f, b).expect("write block");
        let (out, code) = run(env!("CARGO_BIN_EXE_aio"), &["run"], &f).expect("aio runs");
        assert_eq!(code, 0, "README block {i} failed under aio:\n{b}");
        match run("python3", &[], &f) {
            Some((py, pcode)) => {
                assert_eq!(pcode, 0, "README block {i} fails under CPython:\n{b}");
                assert_eq!(out, py, "README block {i}: aio and CPython differ:\n{b}");
            }
            None => eprintln!("python3 not found: README block {i} checked under aio only"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
