//! Signals sent to a running `aio` from outside: Ctrl-C (SIGINT) during `asyncio.run` (the
//! main task is cancelled, then `KeyboardInterrupt` ends the process by SIGINT, as in
//! CPython 3.11), a second Ctrl-C, SIGTERM caught by `loop.add_signal_handler`, and a closed
//! stdout pipe (`BrokenPipeError`, never death by SIGPIPE). Each case runs CPython too when
//! `python3` is on `PATH`, and checks that it behaves the same.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn script(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aio-signals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write script");
    path
}

fn python() -> Option<&'static str> {
    let ok = Command::new("python3").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    ok.then_some("python3")
}

/// The interpreters to check: aio, and CPython when present.
fn interpreters() -> Vec<&'static str> {
    let mut v = vec![env!("CARGO_BIN_EXE_aio")];
    v.extend(python());
    v
}

fn spawn(exe: &str, path: &PathBuf) -> Child {
    Command::new(exe)
        .arg(path)
        .env_remove("PYTHONUNBUFFERED")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn interpreter")
}

fn send(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
}

/// Reads stdout lines until `line` appears (the script is ready for the signal).
fn wait_for_line(out: &mut impl BufRead, line: &str, seen: &mut String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mut l = String::new();
        if out.read_line(&mut l).expect("read stdout") == 0 {
            panic!("stdout closed before {line:?}; got {seen:?}");
        }
        seen.push_str(&l);
        if l.trim_end() == line {
            return;
        }
    }
    panic!("no {line:?} within 20 s");
}

/// Waits for the child with a timeout; returns its status, all of stdout and stderr.
fn finish(
    mut child: Child,
    reader: BufReader<std::process::ChildStdout>,
    mut seen: String,
) -> (ExitStatus, String, String) {
    let mut reader = reader;
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("read stdout");
    seen.push_str(&rest);
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return (st, seen, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("interpreter did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `text`, sends `sigs` (one after each `ready` line the script prints), returns how it
/// ended.
fn run_with_signals(exe: &str, name: &str, text: &str, sigs: &[&str]) -> (ExitStatus, String, String) {
    let path = script(name, text);
    let mut child = spawn(exe, &path);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    for sig in sigs {
        wait_for_line(&mut out, "ready", &mut seen);
        // Let the script reach its wait.
        std::thread::sleep(Duration::from_millis(150));
        send(&child, sig);
    }
    finish(child, out, seen)
}

const CTRL_C_MAIN: &str = r#"
import asyncio

async def other():
    try:
        await asyncio.sleep(30)
    finally:
        print("other cleanup", flush=True)

async def main():
    asyncio.create_task(other())
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print("main cancelled", flush=True)
        raise
    finally:
        print("cleanup", flush=True)

asyncio.run(main())
print("not reached")
"#;

#[test]
fn ctrl_c_cancels_the_main_task_then_keyboard_interrupt() {
    for exe in interpreters() {
        let (st, out, err) = run_with_signals(exe, "ctrl_c.py", CTRL_C_MAIN, &["-INT"]);
        assert_eq!(out, "ready\nmain cancelled\ncleanup\nother cleanup\n", "{exe}: stdout");
        assert!(err.ends_with("KeyboardInterrupt\n"), "{exe}: stderr ends with KeyboardInterrupt: {err}");
        assert!(err.contains("CancelledError"), "{exe}: the KeyboardInterrupt's context is the CancelledError: {err}");
        // CPython ends by SIGINT (a shell shows status 130).
        assert_eq!(st.signal(), Some(2), "{exe}: killed by SIGINT: {st:?}");
    }
}

const CTRL_C_SWALLOWED: &str = r#"
import asyncio

async def main():
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print("cancelled once", flush=True)
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    finally:
        print("finally", flush=True)

asyncio.run(main())
"#;

#[test]
fn second_ctrl_c_raises_keyboard_interrupt() {
    for exe in interpreters() {
        let (st, out, err) = run_with_signals(exe, "ctrl_c_twice.py", CTRL_C_SWALLOWED, &["-INT", "-INT"]);
        assert_eq!(out, "ready\ncancelled once\nready\nfinally\n", "{exe}: stdout");
        assert!(err.ends_with("KeyboardInterrupt\n"), "{exe}: stderr: {err}");
        assert_eq!(st.signal(), Some(2), "{exe}: {st:?}");
    }
}

const CTRL_C_CAUGHT: &str = r#"
import asyncio

async def main():
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print("swallowed", flush=True)
    return 7

print(asyncio.run(main()))
"#;

#[test]
fn ctrl_c_swallowed_by_main_ends_normally() {
    for exe in interpreters() {
        let (st, out, _) = run_with_signals(exe, "ctrl_c_caught.py", CTRL_C_CAUGHT, &["-INT"]);
        assert_eq!(out, "ready\nswallowed\n7\n", "{exe}: stdout");
        assert_eq!(st.code(), Some(0), "{exe}: {st:?}");
    }
}

const CTRL_C_PLAIN: &str = r#"
import time
print("ready", flush=True)
try:
    time.sleep(30)
finally:
    print("finally", flush=True)
"#;

#[test]
fn ctrl_c_outside_asyncio_is_keyboard_interrupt() {
    for exe in interpreters() {
        let (st, out, err) = run_with_signals(exe, "ctrl_c_plain.py", CTRL_C_PLAIN, &["-INT"]);
        assert_eq!(out, "ready\nfinally\n", "{exe}: stdout");
        assert!(err.ends_with("KeyboardInterrupt\n"), "{exe}: stderr: {err}");
        assert_eq!(st.signal(), Some(2), "{exe}: {st:?}");
    }
}

const SIGTERM_HANDLER: &str = r#"
import asyncio, signal

async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, "terminated")
    print("ready", flush=True)
    print(await stop)
    loop.remove_signal_handler(signal.SIGTERM)

asyncio.run(main())
"#;

#[test]
fn sigterm_caught_by_a_loop_handler() {
    for exe in interpreters() {
        let (st, out, _) = run_with_signals(exe, "sigterm.py", SIGTERM_HANDLER, &["-TERM"]);
        assert_eq!(out, "ready\nterminated\n", "{exe}: stdout");
        assert_eq!(st.code(), Some(0), "{exe}: {st:?}");
    }
}

const SIGTERM_DEFAULT: &str = r#"
import time
print("ready", flush=True)
time.sleep(30)
"#;

#[test]
fn sigterm_without_a_handler_terminates() {
    for exe in interpreters() {
        let (st, out, _) = run_with_signals(exe, "sigterm_default.py", SIGTERM_DEFAULT, &["-TERM"]);
        assert_eq!(out, "ready\n", "{exe}: stdout");
        assert_eq!(st.signal(), Some(15), "{exe}: {st:?}");
    }
}

/// Runs `text` with stdout a pipe whose reader reads `keep` bytes and closes it.
fn run_into_closed_pipe(exe: &str, name: &str, text: &str, keep: usize) -> (ExitStatus, String) {
    let path = script(name, text);
    let mut child = spawn(exe, &path);
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; keep];
    out.read_exact(&mut buf).expect("first bytes");
    drop(out);
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
    let st = child.wait().expect("wait");
    (st, err)
}

#[test]
fn closed_stdout_pipe_is_broken_pipe_error() {
    let text = "import time\nprint('first', flush=True)\ntime.sleep(0.3)\nfor i in range(100000):\n    print(i)\n";
    for exe in interpreters() {
        let (st, err) = run_into_closed_pipe(exe, "pipe.py", text, 6);
        assert_eq!(st.signal(), None, "{exe}: not killed by SIGPIPE: {st:?}");
        assert_eq!(st.code(), Some(1), "{exe}: {st:?} {err}");
        assert!(err.contains("BrokenPipeError: [Errno 32] Broken pipe"), "{exe}: {err}");
    }
}

#[test]
fn closed_stdout_pipe_at_exit_is_reported() {
    let text = "import time\nprint('first', flush=True)\ntime.sleep(0.3)\nprint('last')\n";
    for exe in interpreters() {
        let (st, err) = run_into_closed_pipe(exe, "pipe_exit.py", text, 6);
        assert_eq!(st.signal(), None, "{exe}: {st:?}");
        assert_eq!(st.code(), Some(120), "{exe}: {st:?} {err}");
        assert!(err.contains("Exception ignored in: <_io.TextIOWrapper name='<stdout>'"), "{exe}: {err}");
        assert!(err.ends_with("BrokenPipeError: [Errno 32] Broken pipe\n"), "{exe}: {err}");
    }
}

#[test]
fn caught_broken_pipe_lets_the_script_go_on() {
    let text = "import sys, time\nprint('first', flush=True)\ntime.sleep(0.3)\ntry:\n    for i in range(100000):\n        print(i)\nexcept BrokenPipeError:\n    sys.stderr.write('caught\\n')\n";
    for exe in interpreters() {
        let (st, err) = run_into_closed_pipe(exe, "pipe_caught.py", text, 6);
        assert_eq!(st.signal(), None, "{exe}: {st:?}");
        assert!(err.starts_with("caught\n"), "{exe}: {err}");
        // CPython's final flush may still find text it could not write: 0 or 120.
        assert!(matches!(st.code(), Some(0 | 120)), "{exe}: {st:?}");
    }
}
