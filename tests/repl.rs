//! The REPL as a person drives it: through a real pseudo-terminal (tmux runs `aio`, the test
//! types with `send-keys` and reads the screen with `capture-pane`), and through piped stdin
//! for `aio -i`.
//!
//! Each test waits for the next prompt before typing, as a person does: keys sent while the
//! program is busy (not yet in raw mode) may be dropped by the line editor. Every tmux test
//! uses its own tmux server (`-L`), so the tests run in parallel and never touch a user's
//! sessions. Without tmux the terminal tests print a notice and pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const AIO: &str = env!("CARGO_BIN_EXE_aio");

/// How long to wait for the screen to show something before failing.
const TIMEOUT: Duration = Duration::from_secs(15);

fn unique(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("aio-repl-{tag}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A scratch folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique("dir"));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn have_tmux() -> bool {
    let ok =
        Command::new("tmux").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("notice: tmux is not installed; skipping the pseudo-terminal REPL test");
    }
    ok
}

/// `aio` running in a detached tmux session of a private tmux server.
struct Screen {
    socket: String,
}

impl Screen {
    /// Starts `aio ARGS` with `env` (plus `NO_COLOR=1`, so the screen holds plain text) in an
    /// 100x50 terminal. When `aio` exits, the pane shows `[exit N]`.
    fn start(args: &[&str], env: &[(&str, &Path)]) -> Screen {
        Screen::start_in_colour(args, env, false)
    }

    /// [`Screen::start`], with colour allowed when `colour` is true.
    fn start_in_colour(args: &[&str], env: &[(&str, &Path)], colour: bool) -> Screen {
        let screen = Screen { socket: unique("tmux") };
        let mut command = String::from(if colour { "env -u NO_COLOR" } else { "env NO_COLOR=1" });
        for (k, v) in env {
            command.push_str(&format!(" {k}='{}'", v.display()));
        }
        command.push_str(&format!(" '{AIO}'"));
        for a in args {
            command.push_str(&format!(" '{a}'"));
        }
        command.push_str("; echo \"[exit $?]\"; sleep 120");
        screen.tmux(&["new-session", "-d", "-s", "repl", "-x", "100", "-y", "50", &command]);
        screen.wait_for_prompt(">>>");
        screen.sync();
        screen
    }

    /// Waits until the line editor really reads keys: right after the first prompt appears,
    /// rustyline may still be setting up the terminal (querying the cursor position), and
    /// keys typed then can be lost. Types `#` until it is echoed, then erases it.
    fn sync(&self) {
        let start = Instant::now();
        loop {
            self.type_text("#");
            let echoed = Instant::now();
            while echoed.elapsed() < Duration::from_millis(500) {
                if self.text().lines().last().is_some_and(|l| l.starts_with(">>> #")) {
                    self.press("C-u");
                    self.wait_for_prompt(">>>");
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(start.elapsed() < TIMEOUT, "the REPL never echoed a key:\n{}", self.text());
        }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out =
            Command::new("tmux").args(["-L", &self.socket, "-f", "/dev/null"]).args(args).output().expect("run tmux");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen and its scrollback, with trailing spaces and blank lines removed
    /// (so an empty prompt reads `>>>`).
    fn text(&self) -> String {
        let text = self.tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "repl"]);
        text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim_end().to_string()
    }

    /// Waits until the screen's last line is `prompt` (a prompt with nothing typed yet).
    fn wait_for_prompt(&self, prompt: &str) {
        self.wait(&format!("the prompt {prompt:?}"), |t| t.lines().last() == Some(prompt));
    }

    /// Waits until the screen contains `needle`.
    fn wait_for(&self, needle: &str) {
        self.wait(&format!("{needle:?}"), |t| t.contains(needle));
    }

    fn wait(&self, what: &str, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let text = self.text();
            if ready(&text) {
                return;
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for {what}; the screen shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Types `text` literally (no Enter).
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "repl", "-l", text]);
    }

    /// Presses a key by tmux's name for it (`Enter`, `C-c`, `C-d`, `Tab`, `Up`).
    fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "repl", key]);
    }

    /// Types a line, presses Enter and waits for the next prompt (`>>>` or `...`) to appear
    /// below it.
    fn line(&self, text: &str, next_prompt: &str) {
        let prompts = |t: &str| t.lines().filter(|l| l.starts_with(">>>") || l.starts_with("...")).count();
        self.type_text(text);
        self.wait(&format!("{text:?} to be echoed"), |t| {
            t.lines().last().is_some_and(|l| l.ends_with(text.trim_end()))
        });
        let before = prompts(&self.text());
        self.press("Enter");
        self.wait(&format!("the prompt {next_prompt:?} after {text:?}"), |t| {
            prompts(t) > before && t.lines().last() == Some(next_prompt)
        });
    }

    /// The screen text after the last occurrence of `marker`.
    fn after(&self, marker: &str) -> String {
        let text = self.text();
        let at = text.rfind(marker).unwrap_or_else(|| panic!("{marker:?} not on screen:\n{text}"));
        text[at + marker.len()..].to_string()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null", "kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn typing_statements_blocks_and_errors() {
    if !have_tmux() {
        return;
    }
    let dir = TempDir::new();
    let s = Screen::start(&[], &[("AIO_HISTORY", &dir.0.join("history"))]);
    s.line("x = 6 * 7", ">>>");
    s.line("x", ">>>");
    assert_eq!(s.after(">>> x\n"), "42\n>>>");
    s.line("_ + 1", ">>>");
    assert_eq!(s.after(">>> _ + 1\n"), "43\n>>>");
    s.line("None", ">>>");
    assert_eq!(s.after(">>> None\n"), ">>>", "None is not echoed");

    // A block continues with `... ` until a blank line.
    s.line("def f(n):", "...");
    s.line("    return n + 1", "...");
    s.line("", ">>>");
    s.line("f(x)", ">>>");
    assert_eq!(s.after(">>> f(x)\n"), "43\n>>>");
    s.line("for i in range(2): print(i)", "...");
    s.line("", ">>>");
    assert_eq!(s.after(">>> for i in range(2): print(i)\n"), "...\n0\n1\n>>>");
    // An open bracket continues too, even across a blank line.
    s.line("[1,", "...");
    s.line("", "...");
    s.line(" 2]", ">>>");
    assert_eq!(s.after("...  2]\n"), "[1, 2]\n>>>");

    // A syntax error is reported against the line typed, and the session goes on.
    s.line("y = = 1", ">>>");
    let report = s.after(">>> y = = 1\n");
    assert!(report.contains("SyntaxError: invalid syntax") && report.contains("y = = 1"), "{report}");
    s.line("print('after', x)", ">>>");
    assert_eq!(s.after(">>> print('after', x)\n"), "after 42\n>>>");

    // A runtime error prints a traceback; the globals survive.
    s.line("1 / 0", ">>>");
    let tb = s.after(">>> 1 / 0\n");
    assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
    assert!(tb.contains("ZeroDivisionError: division by zero"), "{tb}");
    s.line("x, f", ">>>");
    assert!(s.after(">>> x, f\n").starts_with("(42, <function f at"), "{}", s.text());

    s.press("C-d");
    s.wait_for("[exit 0]");
}

#[test]
fn ctrl_c_clears_the_line_and_ctrl_d_exits_0() {
    if !have_tmux() {
        return;
    }
    let s = Screen::start(&[], &[("AIO_HISTORY", Path::new(""))]);
    s.type_text("this is discarded");
    s.wait_for(">>> this is discarded");
    s.press("C-c");
    s.wait_for_prompt(">>>");
    assert!(s.text().contains("KeyboardInterrupt"), "{}", s.text());
    // Ctrl-C in the middle of a block drops the whole block.
    s.line("if True:", "...");
    s.type_text("    print('never')");
    s.wait_for("...     print('never')");
    s.press("C-c");
    s.wait_for_prompt(">>>");
    s.line("1 + 1", ">>>");
    assert_eq!(s.after(">>> 1 + 1\n"), "2\n>>>");
    assert!(!s.text().contains("\nnever"), "{}", s.text());
    s.press("C-d");
    s.wait_for("[exit 0]");
}

#[test]
fn top_level_await_and_background_tasks() {
    if !have_tmux() {
        return;
    }
    let s = Screen::start(&[], &[("AIO_HISTORY", Path::new(""))]);
    s.line("import asyncio", ">>>");
    s.line("await asyncio.sleep(0.01)", ">>>");
    assert_eq!(s.after(">>> await asyncio.sleep(0.01)\n"), ">>>", "None is not echoed");
    s.line("async def fetch(n):", "...");
    s.line("    await asyncio.sleep(0.01)", "...");
    s.line("    return n * 2", "...");
    s.line("", ">>>");
    s.line("x = await fetch(21)", ">>>");
    s.line("x", ">>>");
    assert_eq!(s.after(">>> x\n"), "42\n>>>");
    s.line("await asyncio.gather(fetch(1), fetch(2))", ">>>");
    assert_eq!(s.after(">>> await asyncio.gather(fetch(1), fetch(2))\n"), "[2, 4]\n>>>");
    s.line("_", ">>>");
    assert_eq!(s.after(">>> _\n"), "[2, 4]\n>>>");
    // The prompt's code sees the session's loop as the running loop.
    s.line("asyncio.get_running_loop() is asyncio.get_event_loop()", ">>>");
    assert_eq!(s.after(">>> asyncio.get_running_loop() is asyncio.get_event_loop()\n"), "True\n>>>");

    // A task created at the prompt goes on running while later inputs run.
    s.line("async def later():", "...");
    s.line("    await asyncio.sleep(0.2)", "...");
    s.line("    print('background done')", "...");
    s.line("", ">>>");
    s.line("t = asyncio.create_task(later())", ">>>");
    s.line("t.done()", ">>>");
    assert_eq!(s.after(">>> t.done()\n"), "False\n>>>");
    s.line("await asyncio.sleep(0.5)", ">>>");
    assert_eq!(s.after(">>> await asyncio.sleep(0.5)\n"), "background done\n>>>");
    s.line("t.done()", ">>>");
    assert_eq!(s.after(">>> t.done()\n"), "True\n>>>");

    // ... and while the prompt waits for a line, with nothing typed.
    s.line("t = asyncio.create_task(later())", ">>>");
    s.wait_for(">>> background done");
    s.line("t.done() and 'finished'", ">>>");
    assert_eq!(s.after("t.done() and 'finished'\n"), "'finished'\n>>>");

    // async for / async with at top level; an exception in an awaited input is a traceback.
    s.line("async def agen():", "...");
    s.line("    yield 1", "...");
    s.line("    yield 2", "...");
    s.line("", ">>>");
    s.line("async for v in agen(): print(v)", "...");
    s.line("", ">>>");
    assert_eq!(s.after(">>> async for v in agen(): print(v)\n"), "...\n1\n2\n>>>");
    s.line("await fetch('a') + 1", ">>>");
    let tb = s.after(">>> await fetch('a') + 1\n");
    assert!(tb.starts_with("Traceback (most recent call last):") && tb.contains("TypeError"), "{tb}");
    s.line("x", ">>>");
    assert_eq!(s.after(">>> x\n"), "42\n>>>");
    s.press("C-d");
    s.wait_for("[exit 0]");
}

#[test]
fn ctrl_c_interrupts_a_running_statement() {
    if !have_tmux() {
        return;
    }
    let s = Screen::start(&[], &[("AIO_HISTORY", Path::new(""))]);
    s.line("kept = 'still here'", ">>>");
    s.line("while True: pass", "...");
    s.type_text("");
    s.press("Enter");
    // Give the loop time to start, then interrupt it.
    std::thread::sleep(Duration::from_millis(300));
    s.press("C-c");
    s.wait_for("KeyboardInterrupt");
    s.wait_for_prompt(">>>");
    // The terminal echoes `^C` before the traceback, as with CPython.
    let tb = s.after(">>> while True: pass\n...\n");
    assert!(tb.contains("Traceback (most recent call last):") && tb.ends_with("KeyboardInterrupt\n>>>"), "{tb}");
    s.line("kept", ">>>");
    assert_eq!(s.after(">>> kept\n"), "'still here'\n>>>");

    // Also while the event loop waits.
    s.line("import asyncio", ">>>");
    s.type_text("await asyncio.sleep(30)");
    s.wait_for(">>> await asyncio.sleep(30)");
    s.press("Enter");
    std::thread::sleep(Duration::from_millis(300));
    s.press("C-c");
    s.wait_for_prompt(">>>");
    let tb = s.after(">>> await asyncio.sleep(30)\n");
    assert!(tb.ends_with("KeyboardInterrupt\n>>>"), "{tb}");
    s.line("await asyncio.sleep(0.01); kept", ">>>");
    assert_eq!(s.after(">>> await asyncio.sleep(0.01); kept\n"), "'still here'\n>>>");
    s.press("C-d");
    s.wait_for("[exit 0]");
}

#[test]
fn exit_with_a_status() {
    if !have_tmux() {
        return;
    }
    let s = Screen::start(&[], &[("AIO_HISTORY", Path::new(""))]);
    s.type_text("raise SystemExit(3)");
    s.press("Enter");
    s.wait_for("[exit 3]");
}

#[test]
fn history_is_saved_and_recalled() {
    if !have_tmux() {
        return;
    }
    let dir = TempDir::new();
    let history = dir.0.join("sub").join("history");
    let s = Screen::start(&[], &[("AIO_HISTORY", &history)]);
    s.line("y = 21", ">>>");
    s.line("print(y * 2)", ">>>");
    s.press("C-d");
    s.wait_for("[exit 0]");
    drop(s);
    let saved = std::fs::read_to_string(&history).expect("history file written");
    assert!(saved.contains("y = 21\n") && saved.contains("print(y * 2)"), "{saved}");

    // A new session recalls it with the Up arrow.
    let s = Screen::start(&[], &[("AIO_HISTORY", &history)]);
    s.line("y = 5", ">>>");
    s.press("Up");
    s.press("Up");
    s.wait_for(">>> print(y * 2)");
    s.press("Enter");
    s.wait_for("\n10\n");
}

#[test]
fn tab_completes_names_attributes_and_modules() {
    if !have_tmux() {
        return;
    }
    let s = Screen::start(&[], &[("AIO_HISTORY", Path::new(""))]);
    s.type_text("import ma");
    s.press("Tab");
    s.wait_for(">>> import math");
    s.press("Enter");
    s.wait_for_prompt(">>>");
    s.type_text("math.sq");
    s.press("Tab");
    s.wait_for(">>> math.sqrt");
    s.type_text("(16)");
    s.press("Enter");
    s.wait_for("\n4.0\n");
    s.line("long_variable_name = 7", ">>>");
    s.type_text("long_v");
    s.press("Tab");
    s.wait_for(">>> long_variable_name");
    s.press("Enter");
    s.wait_for("\n7\n");
}

#[test]
fn highlighting_only_adds_colour() {
    if !have_tmux() {
        return;
    }
    let s = Screen::start_in_colour(&[], &[("AIO_HISTORY", Path::new(""))], true);
    s.type_text("if x == 'a': pass  # note");
    s.wait_for(">>> if x == 'a': pass  # note");
    let coloured = s.tmux(&["capture-pane", "-p", "-e", "-t", "repl"]);
    let line = coloured.lines().find(|l| l.contains("if")).expect("typed line");
    assert!(line.contains('\x1b'), "no colour codes in {line:?}");
    // tmux re-encodes the colours it shows; what matters is that they are there.
    assert!(line.matches('\x1b').count() >= 6, "{line:?}");
    s.press("C-c");
    s.wait_for_prompt(">>>");
}

#[test]
fn interactive_after_a_script_with_piped_input() {
    let dir = TempDir::new();
    let script = dir.0.join("setup.aio");
    std::fs::write(&script, "greeting = 'hi'\ndef double(n):\n    return 2 * n\n").expect("write script");
    let mut child = Command::new(AIO)
        .arg("-i")
        .arg(&script)
        .env("AIO_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aio -i");
    let input = "double(21)\ngreeting\nfor c in greeting:\n    print(c)\n\nundefined_name\nprint('still here')\n";
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n'hi'\nh\ni\nstill here\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NameError: name 'undefined_name' is not defined"), "{err}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn piped_stdin_without_flags_runs_a_script() {
    let mut child =
        Command::new(AIO).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run aio");
    use std::io::Write;
    // As a script, a bare expression prints nothing and a block needs no blank line.
    child.stdin.take().expect("stdin").write_all(b"1 + 1\nif True:\n    print('ran')\nprint('end')\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\nend\n");
    assert_eq!(out.status.code(), Some(0));
}
