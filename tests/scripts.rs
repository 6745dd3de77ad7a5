//! Runs every `.aio` script under `tests/scripts/` and `tests/wishlist/` as its own test.
//!
//! Each script `NAME.aio` has its expected stdout beside it in `NAME.out` and, when the
//! exit status is not 0, the status in `NAME.code`. Two cases are made per script:
//!
//! - `aio::DIR/NAME.aio` runs `aio run NAME.aio` in the script's folder and compares
//!   stdout and exit status with the stored expectation.
//! - `cpython::DIR/NAME.aio` runs `python3` on a copy of the script's folder in which every
//!   `.aio` file is renamed to `.py` (CPython cannot import `.aio` modules), and checks that
//!   CPython — the oracle — still prints the stored expectation. Ignored when `python3` is
//!   not on `PATH`.
//!
//! A `.aio` file whose name starts with `_` is a helper module imported by other scripts,
//! not a test. Scripts under `tests/wishlist/` are run by aio and reported, but a failure
//! there is reported as "ignored", never as a failed test.
//!
//! Environment switches:
//! - `AIO_BLESS=1` rewrites `.out`/`.code` from CPython's output (never from aio's); the
//!   aio cases are skipped in that mode.
//! - `AIO_PYTHON=/path/to/python3` picks the CPython used as the oracle.
//!
//! Filter as usual: `cargo test --test scripts -- language/`, `-- cpython::`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// How long one script may run before it is killed and the case fails.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How many lines of stderr a failure report shows.
const STDERR_TAIL: usize = 20;

fn main() {
    let args = Arguments::from_args();
    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let bless = std::env::var_os("AIO_BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let python = find_python();

    let mut trials = Vec::new();
    for (root, wishlist) in [("scripts", false), ("wishlist", true)] {
        let root_dir = tests_dir.join(root);
        let mut scripts = Vec::new();
        collect_scripts(&root_dir, &mut scripts);
        scripts.sort();
        for script in scripts {
            let rel = script
                .strip_prefix(&root_dir)
                .expect("script lies under its root")
                .to_string_lossy()
                .replace('\\', "/");
            let label = if wishlist { format!("wishlist/{rel}") } else { rel };
            trials.push(aio_trial(&label, script.clone(), wishlist, bless));
            trials.push(cpython_trial(&label, script, python.clone(), bless));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Collects every test script (a `.aio` file not starting with `_`) under `dir`, recursively.
fn collect_scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "aio")
            && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('_'))
        {
            out.push(path);
        }
    }
}

/// The CPython to use as the oracle, if one is available.
fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AIO_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("python3")).find(|candidate| candidate.is_file())
}

/// What a script is expected to do: its stdout and exit status.
struct Expected {
    stdout: String,
    code: i32,
}

fn read_expected(script: &Path) -> Result<Expected, Failed> {
    let out_path = script.with_extension("out");
    let stdout = fs::read_to_string(&out_path).map_err(|e| {
        format!(
            "cannot read {}: {e}\n(run `AIO_BLESS=1 cargo test --test scripts -- cpython::` to generate it with python3)",
            out_path.display()
        )
    })?;
    let code_path = script.with_extension("code");
    let code = match fs::read_to_string(&code_path) {
        Ok(text) => text.trim().parse().map_err(|e| format!("{}: not an exit status: {e}", code_path.display()))?,
        Err(_) => 0,
    };
    Ok(Expected { stdout, code })
}

/// What a process did.
struct Ran {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// Runs `cmd` with stdin closed, killing it after [`TIMEOUT`].
fn run_with_timeout(mut cmd: Command) -> Result<Ran, Failed> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Its own process group, so that a timeout also kills whatever the script started.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s: {cmd:?}", TIMEOUT.as_secs()).into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {cmd:?}: {e}").into()),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Ran {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code: exit_code(status),
    })
}

/// Kills the process group led by `pid` (the child and anything it spawned).
fn kill_group(pid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// The exit status as a shell reports it: the code, or 128+signal when killed by a signal.
fn exit_code(status: ExitStatus) -> Option<i32> {
    if let Some(code) = status.code() {
        return Some(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal().map(|s| 128 + s)
    }
    #[cfg(not(unix))]
    None
}

/// Compares what ran with what was expected; `Err` holds a readable report.
fn compare(who: &str, expected: &Expected, ran: &Ran) -> Result<(), String> {
    let mut report = String::new();
    if ran.stdout != expected.stdout {
        report.push_str(&format!("{who}: stdout differs from the .out file\n"));
        report.push_str(&first_difference(&expected.stdout, &ran.stdout));
    }
    if ran.code != Some(expected.code) {
        let got = ran.code.map_or_else(|| "none".to_string(), |c| c.to_string());
        report.push_str(&format!("{who}: exit status {got}, expected {}\n", expected.code));
    }
    if report.is_empty() {
        return Ok(());
    }
    let lines: Vec<&str> = ran.stderr.lines().collect();
    let tail = &lines[lines.len().saturating_sub(STDERR_TAIL)..];
    report.push_str(&format!("--- stderr (last {} lines) ---\n", STDERR_TAIL.min(lines.len())));
    for line in tail {
        report.push_str(line);
        report.push('\n');
    }
    Err(report)
}

/// Describes the first line where `expected` and `got` differ, with a little context.
fn first_difference(expected: &str, got: &str) -> String {
    let exp: Vec<&str> = expected.split_inclusive('\n').collect();
    let act: Vec<&str> = got.split_inclusive('\n').collect();
    let at = exp.iter().zip(act.iter()).position(|(a, b)| a != b).unwrap_or(exp.len().min(act.len()));
    let mut s = format!("first difference at line {}:\n", at + 1);
    for line in &exp[at.saturating_sub(2)..at] {
        s.push_str(&format!("  {}\n", line.trim_end_matches('\n')));
    }
    let show = |l: Option<&&str>| match l {
        Some(l) => format!("{:?}", l),
        None => "<end of output>".to_string(),
    };
    s.push_str(&format!("- expected: {}\n", show(exp.get(at))));
    s.push_str(&format!("+ got:      {}\n", show(act.get(at))));
    s.push_str(&format!("(expected {} lines, got {} lines)\n", exp.len(), act.len()));
    s
}

fn aio_trial(label: &str, script: PathBuf, wishlist: bool, bless: bool) -> Trial {
    Trial::ignorable_test(format!("aio::{label}"), move || {
        if bless {
            return Ok(Completion::ignored_with("AIO_BLESS is set: only CPython runs"));
        }
        let result = run_aio(&script);
        match (result, wishlist) {
            (Ok(()), false) => Ok(Completion::Completed),
            (Err(report), false) => Err(report.into()),
            (Ok(()), true) => Ok(Completion::ignored_with("wishlist script PASSES now: move it into tests/scripts/")),
            (Err(report), true) => {
                let first = report.lines().take(4).collect::<Vec<_>>().join(" | ");
                Ok(Completion::ignored_with(format!("wishlist script still fails: {first}")))
            }
        }
    })
}

fn run_aio(script: &Path) -> Result<(), String> {
    let expected = read_expected(script).map_err(failed_text)?;
    let dir = script.parent().expect("script has a folder");
    let name = script.file_name().expect("script has a name");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aio"));
    cmd.arg("run").arg(name).current_dir(dir);
    let ran = run_with_timeout(cmd).map_err(failed_text)?;
    compare("aio", &expected, &ran)
}

fn failed_text(f: Failed) -> String {
    f.message().unwrap_or("failed").to_string()
}

fn cpython_trial(label: &str, script: PathBuf, python: Option<PathBuf>, bless: bool) -> Trial {
    Trial::ignorable_test(format!("cpython::{label}"), move || {
        let Some(python) = python else {
            return Ok(Completion::ignored_with("python3 is not on PATH: expectations not checked against CPython"));
        };
        let ran = run_cpython(&python, &script)?;
        if bless {
            write_expected(&script, &ran)?;
            return Ok(Completion::Completed);
        }
        let expected = read_expected(&script)?;
        compare("python3", &expected, &ran)?;
        Ok(Completion::Completed)
    })
}

/// Runs CPython on a temporary copy of the script's folder with `.aio` renamed to `.py`.
fn run_cpython(python: &Path, script: &Path) -> Result<Ran, Failed> {
    let tmp = TempDir::new()?;
    let dir = script.parent().expect("script has a folder");
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "aio") {
            let target = tmp.path.join(path.with_extension("py").file_name().unwrap());
            fs::copy(&path, &target).map_err(|e| format!("copy {}: {e}", path.display()))?;
        }
    }
    let py_name = script.with_extension("py");
    let mut cmd = Command::new(python);
    cmd.arg(py_name.file_name().unwrap())
        .current_dir(&tmp.path)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONSTARTUP")
        .env_remove("PYTHONWARNINGS")
        .env_remove("PYTHONASYNCIODEBUG")
        .env_remove("PYTHONDEVMODE");
    run_with_timeout(cmd)
}

/// Stores CPython's stdout and exit status as the script's expectation.
fn write_expected(script: &Path, ran: &Ran) -> Result<(), Failed> {
    let code = ran.code.ok_or("python3 exited without a status")?;
    fs::write(script.with_extension("out"), &ran.stdout).map_err(|e| format!("writing .out: {e}"))?;
    let code_path = script.with_extension("code");
    if code == 0 {
        let _ = fs::remove_file(code_path);
    } else {
        fs::write(code_path, format!("{code}\n")).map_err(|e| format!("writing .code: {e}"))?;
    }
    Ok(())
}

/// A scratch folder removed when dropped (std only, to keep dev-dependencies few).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<Self, Failed> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("aio-scripts-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
