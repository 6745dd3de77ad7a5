//! The command line as a user drives it: `aio --version`, `--help`, `-c`, `run`, `check`,
//! and how errors reach the terminal (exit statuses and stderr).
//!
//! Exit statuses mirror CPython's where CPython has an equivalent: an uncaught exception or
//! a syntax error is 1, a file that cannot be opened is 2 (`python3 missing.py` exits 2).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch folder removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("aio-cli-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    /// Writes `contents` to `name` inside the folder and returns its path.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Runs `aio` with `args` in `dir`, stdin closed.
fn aio_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aio"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("aio binary starts")
}

fn aio(args: &[&str]) -> Output {
    aio_in(&std::env::temp_dir(), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Shows everything about a run, for assertion messages.
fn describe(out: &Output) -> String {
    format!("status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", out.status, stdout(out), stderr(out))
}

#[test]
fn version_prints_name_and_version() {
    let out = aio(&["--version"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out).trim_end(), "aio 0.1.0", "{}", describe(&out));
}

#[test]
fn help_mentions_the_subcommands() {
    let out = aio(&["--help"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    for word in ["run", "check", "-c"] {
        assert!(text.contains(word), "--help should mention {word:?}\n{}", describe(&out));
    }
}

#[test]
fn dash_c_runs_code() {
    let out = aio(&["-c", "print(1+1)"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "2\n");
}

#[test]
fn dash_c_multiple_statements_and_exit_status() {
    let out = aio(&["-c", "import sys\nprint('a'); print('b')\nsys.exit(4)"]);
    assert_eq!(stdout(&out), "a\nb\n", "{}", describe(&out));
    assert_eq!(code(&out), Some(4), "{}", describe(&out));
}

#[test]
fn dash_c_syntax_error_exits_1() {
    let out = aio(&["-c", "print(1"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("SyntaxError"), "{}", describe(&out));
}

#[test]
fn run_passes_arguments_in_sys_argv() {
    let dir = TempDir::new();
    dir.file("args.aio", "import sys\nprint(sys.argv[1:])\n");
    let out = aio_in(&dir.path, &["run", "args.aio", "a", "b"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "['a', 'b']\n");
}

#[test]
fn run_arguments_that_look_like_options_go_to_the_script() {
    let dir = TempDir::new();
    dir.file("args.aio", "import sys\nprint(sys.argv[1:])\n");
    let out = aio_in(&dir.path, &["run", "args.aio", "--version", "-c", "x"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "['--version', '-c', 'x']\n");
}

#[test]
fn run_with_absolute_path() {
    let dir = TempDir::new();
    let script = dir.file("hello.aio", "print('hello')\n");
    let out = aio(&["run", script.to_str().unwrap()]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "hello\n");
}

#[test]
fn bare_file_works_like_run() {
    let dir = TempDir::new();
    dir.file("args.aio", "import sys\nprint('ran', sys.argv[1:])\n");
    let out = aio_in(&dir.path, &["args.aio", "x"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "ran ['x']\n");
}

#[test]
fn check_ok_file_is_silent_and_does_not_run_it() {
    let dir = TempDir::new();
    dir.file("ok.aio", "print('this must not run')\n");
    let out = aio_in(&dir.path, &["check", "ok.aio"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "", "{}", describe(&out));
}

#[test]
fn check_bad_file_reports_syntax_error() {
    let dir = TempDir::new();
    dir.file("bad.aio", "print('x')\ndef f(:\n    pass\n");
    let out = aio_in(&dir.path, &["check", "bad.aio"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "", "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("SyntaxError"), "{}", describe(&out));
    assert!(err.contains("bad.aio"), "{}", describe(&out));
}

#[test]
fn check_reports_every_bad_file() {
    let dir = TempDir::new();
    dir.file("first_bad.aio", "x = (1,\n");
    dir.file("fine.aio", "x = 1\n");
    dir.file("second_bad.aio", "if True\n    pass\n");
    let out = aio_in(&dir.path, &["check", "first_bad.aio", "fine.aio", "second_bad.aio"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("first_bad.aio"), "{}", describe(&out));
    assert!(err.contains("second_bad.aio"), "{}", describe(&out));
    assert!(!err.contains("fine.aio"), "{}", describe(&out));
}

/// Asserts that stderr holds exactly one non-empty line.
fn assert_one_line(out: &Output) {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line error\n{}", describe(out));
}

#[test]
fn missing_file_exits_2_with_one_line() {
    let dir = TempDir::new();
    for args in [&["run", "no_such_file.aio"][..], &["no_such_file.aio"][..], &["check", "no_such_file.aio"][..]] {
        let out = aio_in(&dir.path, args);
        assert_eq!(code(&out), Some(2), "aio {args:?}\n{}", describe(&out));
        assert_eq!(stdout(&out), "");
        assert!(stderr(&out).contains("No such file or directory"), "aio {args:?}\n{}", describe(&out));
        assert_one_line(&out);
    }
}

/// CPython exits 1 for a directory (it looks for `__main__.py` inside); aio has no such
/// notion, so a directory is a file it cannot open, and that is exit status 2.
#[test]
fn directory_exits_2() {
    let dir = TempDir::new();
    fs::create_dir(dir.path.join("folder.aio")).unwrap();
    let out = aio_in(&dir.path, &["run", "folder.aio"]);
    assert_eq!(code(&out), Some(2), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
    assert_one_line(&out);
}

/// `python3 bad.py` on a file that is not UTF-8 reports a one-line SyntaxError and
/// exits 1; aio mirrors that.
#[test]
fn non_utf8_file_exits_1_with_one_line() {
    let dir = TempDir::new();
    dir.file("latin1.aio", b"print('before')\nx = '\xff\xfe'\n");
    let out = aio_in(&dir.path, &["run", "latin1.aio"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "", "nothing runs\n{}", describe(&out));
    assert_one_line(&out);
    assert!(stderr(&out).contains("latin1.aio"), "{}", describe(&out));
}

#[test]
fn syntax_error_runs_nothing_and_exits_1() {
    let dir = TempDir::new();
    dir.file("syn.aio", "print('must not print')\nprint(1\n");
    let out = aio_in(&dir.path, &["run", "syn.aio"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains("SyntaxError"), "{}", describe(&out));
    assert!(err.contains("syn.aio"), "{}", describe(&out));
}

#[test]
fn uncaught_exception_prints_traceback_and_exits_1() {
    let dir = TempDir::new();
    dir.file("boom.aio", "def f(x):\n    return 1 / x\n\nprint('start')\nf(0)\nprint('never')\n");
    let out = aio_in(&dir.path, &["run", "boom.aio"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "start\n", "{}", describe(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let find = |pred: &dyn Fn(&str) -> bool, from: usize, what: &str| -> usize {
        lines[from..]
            .iter()
            .position(|l| pred(l))
            .map(|i| i + from)
            .unwrap_or_else(|| panic!("stderr lacks {what} after line {from}\n{}", describe(&out)))
    };
    let tb = find(&|l| l == "Traceback (most recent call last):", 0, "the traceback header");
    let outer = find(
        &|l| l.starts_with("  File \"") && l.ends_with("boom.aio\", line 5, in <module>"),
        tb,
        "the <module> frame",
    );
    let outer_src = find(&|l| l == "    f(0)", outer, "the source line f(0)");
    let inner =
        find(&|l| l.starts_with("  File \"") && l.ends_with("boom.aio\", line 2, in f"), outer_src, "the frame of f");
    find(&|l| l == "    return 1 / x", inner, "the source line of f");
    assert_eq!(lines.last().copied(), Some("ZeroDivisionError: division by zero"), "{}", describe(&out));
}

#[test]
fn uncaught_exception_in_dash_c_exits_1() {
    let out = aio(&["-c", "print('a')\nraise ValueError('bad')"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "a\n");
    assert!(stderr(&out).lines().last() == Some("ValueError: bad"), "{}", describe(&out));
}

#[test]
fn sys_exit_message_goes_to_stderr() {
    let dir = TempDir::new();
    dir.file("quit.aio", "import sys\nprint('out')\nsys.exit('leaving now')\n");
    let out = aio_in(&dir.path, &["run", "quit.aio"]);
    assert_eq!(code(&out), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out).trim_end(), "leaving now", "{}", describe(&out));
}

#[test]
fn script_imports_sibling_module_from_another_working_directory() {
    let dir = TempDir::new();
    dir.file("helper.aio", "VALUE = 41\n");
    let script = dir.file("main.aio", "import helper\nprint(helper.VALUE + 1)\n");
    let out = aio(&["run", script.to_str().unwrap()]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "42\n");
}

#[test]
fn unclosed_files_are_flushed_at_exit() {
    // `keep` makes a cycle (the function holds the module's globals, which hold the
    // function), so the files are never dropped: their writes must still reach the disk,
    // on a normal exit, on `sys.exit` and after an uncaught exception, as in CPython.
    let tmp = TempDir::new();
    let cases = [
        ("normal.txt", "", 0),
        ("exited.txt", "import sys\nsys.exit(3)\n", 3),
        ("raised.txt", "raise KeyError('x')\n", 1),
    ];
    for (name, ending, status) in cases {
        let script = format!(
            "def keep():\n    return f, b\nf = open('{name}', 'w')\nf.write('text ' * 3)\nb = open('{name}.bin', 'wb')\nb.write(b'\\x00\\x01')\n{ending}"
        );
        let out = aio_in(&tmp.path, &["-c", &script]);
        assert_eq!(code(&out), Some(status), "{}", describe(&out));
        assert_eq!(fs::read_to_string(tmp.path.join(name)).unwrap_or_default(), "text text text ");
        assert_eq!(fs::read(tmp.path.join(format!("{name}.bin"))).unwrap_or_default(), vec![0u8, 1]);
    }
}

#[test]
fn never_awaited_coroutines_warn_on_stderr() {
    // Script coroutines and native ones (`asyncio.sleep()`, `lock.acquire()`, `q.get()`,
    // ...) dropped before they started warn as CPython does, at the drop (so before the
    // next statement's output), once per location; awaited, closed or task-driven ones
    // do not. The marks go to stderr too, so the order is visible in one stream.
    let tmp = TempDir::new();
    tmp.file(
        "coros.py",
        "import asyncio, sys\n\
         async def foo(): pass\n\
         def mark(s): print(s, file=sys.stderr)\n\
         async def main():\n\
         \x20   asyncio.sleep(1)\n\
         \x20   mark('A')\n\
         \x20   lock = asyncio.Lock()\n\
         \x20   lock.acquire()\n\
         \x20   mark('B')\n\
         \x20   q = asyncio.Queue()\n\
         \x20   q.get()\n\
         \x20   q.put(1)\n\
         \x20   mark('C')\n\
         \x20   for i in range(3):\n\
         \x20       foo()\n\
         \x20   mark('D')\n\
         \x20   asyncio.Event().wait()\n\
         \x20   asyncio.Semaphore().acquire()\n\
         \x20   asyncio.Condition().wait()\n\
         \x20   mark('E')\n\
         \x20   s = asyncio.sleep(0); s.close(); del s\n\
         \x20   a = lock.acquire(); a.close(); del a\n\
         \x20   await asyncio.sleep(0)\n\
         \x20   await lock.acquire()\n\
         \x20   await asyncio.wait_for(q.put(2), 1)\n\
         \x20   await asyncio.create_task(asyncio.sleep(0))\n\
         \x20   print(type(asyncio.sleep(0)).__name__)\n\
         \x20   mark('F')\n\
         asyncio.run(main())\n",
    );
    let out = aio_in(&tmp.path, &["run", "coros.py"]);
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "coroutine\n", "{}", describe(&out));
    let err = stderr(&out);
    let seen: Vec<String> = err
        .lines()
        .filter_map(|l| {
            if l.len() == 1 {
                return Some(l.to_string());
            }
            let rest = l.split_once(": RuntimeWarning: coroutine '")?.1;
            Some(rest.strip_suffix("' was never awaited")?.to_string())
        })
        .collect();
    let expected = [
        "sleep",
        "A",
        "Lock.acquire",
        "B",
        "Queue.get",
        "Queue.put",
        "C",
        "foo",
        "D",
        "Event.wait",
        "Semaphore.acquire",
        "Condition.wait",
        "E",
        "sleep",
        "F",
    ];
    assert_eq!(seen, expected, "{}", describe(&out));
    assert!(err.contains("coros.py:15: RuntimeWarning: coroutine 'foo' was never awaited\n  foo()\n"), "{err}");
    assert_eq!(err.matches("Enable tracemalloc to get the object allocation traceback").count(), 9, "{err}");
}

/// Starts `aio run SCRIPT`, waits until it prints its first line (so it is running and its
/// SIGINT handler is installed), sends it SIGINT with `kill -INT` as a terminal's Ctrl-C
/// would, and returns how it ended and what it printed.
fn interrupted(script: &str) -> (Output, String) {
    use std::io::BufRead;
    let dir = TempDir::new();
    let path = dir.file("interrupted.aio", script);
    let mut child = Command::new(env!("CARGO_BIN_EXE_aio"))
        .arg("run")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aio binary starts");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read the first line");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("run kill");
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read the rest");
    let output = child.wait_with_output().expect("wait");
    (output, first + &rest)
}

/// An uncaught `KeyboardInterrupt` ends the process by SIGINT, as CPython does (a shell
/// shows status 130).
fn assert_killed_by_sigint(out: &Output) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(2), "{}", describe(out));
}

#[test]
fn sigint_in_an_endless_loop_raises_keyboard_interrupt_and_exits_130() {
    let (out, printed) = interrupted("print('started', flush=True)\nwhile True:\n    pass\n");
    assert_eq!(printed, "started\n");
    assert_killed_by_sigint(&out);
    let err = stderr(&out);
    assert!(err.starts_with("Traceback (most recent call last):") && err.ends_with("KeyboardInterrupt\n"), "{err}");
}

#[test]
fn sigint_can_be_caught_by_the_script() {
    let (out, printed) = interrupted(
        "def spin(n):\n    return spin(n) if n < 0 else n\ntry:\n    print('started', flush=True)\n    while True:\n        spin(1)\nexcept KeyboardInterrupt:\n    print('caught')\n",
    );
    assert_eq!(printed, "started\ncaught\n", "{}", describe(&out));
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
}

#[test]
fn sigint_during_asyncio_run_cancels_the_main_task_and_exits_130() {
    let (out, printed) = interrupted(
        "import asyncio\nasync def main():\n    try:\n        print('sleeping', flush=True)\n        await asyncio.sleep(10)\n    finally:\n        print('cleanup')\nasyncio.run(main())\nprint('not reached')\n",
    );
    assert_eq!(printed, "sleeping\ncleanup\n", "{}", describe(&out));
    assert_killed_by_sigint(&out);
    assert!(stderr(&out).ends_with("KeyboardInterrupt\n"), "{}", describe(&out));
}

/// `sys.stdin` reads standard input as a text file, and `input()` reads through it, so a
/// script mixing the two loses nothing (the expected lines are CPython's).
#[test]
fn sys_stdin_and_input_share_standard_input() {
    use std::io::Write;
    let dir = TempDir::new();
    let path = dir.file(
        "stdin.aio",
        "import sys\n\
         print(repr(sys.stdin.readline()))\n\
         print(repr(input('> ')))\n\
         print([line.rstrip('\\n') for line in sys.stdin])\n\
         print(sys.stdin.readline() == '')\n\
         try:\n    input()\nexcept EOFError as e:\n    print('EOFError', e)\n\
         print(sys.stdin.name, sys.stdin.mode, sys.stdin.readable())\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_aio"))
        .arg("run")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aio binary starts");
    child.stdin.take().expect("stdin").write_all(b"a\nb\nc\nd\n").expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), Some(0), "{}", describe(&out));
    assert_eq!(
        stdout(&out),
        "'a\\n'\n> 'b'\n['c', 'd']\nTrue\nEOFError EOF when reading a line\n<stdin> r True\n",
        "{}",
        describe(&out)
    );
}

/// A metaclass other than `type` is refused with aio's `NotImplementedError` (a deviation
/// the README lists), not ignored: CPython would run the metaclass, so a script test
/// cannot show this.
#[test]
fn a_metaclass_is_refused_not_ignored() {
    let code = "class M(type):\n    pass\ntry:\n    class A(metaclass=M):\n        pass\nexcept NotImplementedError as e:\n    print(e)\nclass B(metaclass=type):\n    pass\nprint(type(B).__name__)\n";
    let out = aio(&["-c", code]);
    assert_eq!(stdout(&out), "aio cannot yet create a class with a metaclass ('M')\ntype\n", "{}", describe(&out));
}
