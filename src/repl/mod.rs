//! The interactive REPL: a rustyline prompt over one [`Engine`] whose `__main__` globals live
//! for the whole session.
//!
//! Input is read a line at a time, with CPython's prompts (`>>> `, then `... ` while
//! [`is_complete`] says the statement goes on). rustyline's multi-line `Validator` would keep
//! a block in one editing buffer, but it cannot show a continuation prompt on the lines after
//! the first, so the decision lives in this loop instead and the helper's validator accepts
//! every line. Each finished input runs through [`Engine::run_interactive`]: expression
//! values are echoed, syntax errors are rendered against the text typed, exceptions print a
//! traceback, and the session goes on.
//!
//! Top-level `await` runs the input as a task on the engine's *host loop*, which lives for
//! the session; tasks created at the prompt live on it too. They run whenever the loop runs:
//! while an input that awaits runs, and before each `>>> ` prompt (ready callbacks and due
//! timers only, never waiting). They do not run while the prompt waits for a line: that would
//! need readline on another thread, but completion reads the engine, which is not `Send`
//! (CPython's `python3 -m asyncio` reads lines on a thread for this reason). Ctrl-C while an
//! input runs is SIGINT (rustyline leaves raw mode between lines), turned into
//! `KeyboardInterrupt` by the handler `Engine::install_sigint_handler` installs.

mod complete;
mod highlight;
mod input;

pub use complete::complete;
pub use highlight::{highlight, KEYWORDS};
pub use input::{is_complete, Completeness};

use crate::vm::value::Module;
use crate::{Engine, Interactive};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{ColorMode, CompletionType, Config, Context, Editor, Helper};
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::rc::Rc;

/// The file name tracebacks and syntax errors give to typed input, as CPython does.
pub const INPUT_NAME: &str = "<stdin>";

/// Runs the REPL on the terminal until Ctrl-D, `exit()` or `raise SystemExit`, and returns
/// the exit status. `globals` is the namespace the inputs run in (the `__main__` of a script
/// already run by `aio -i`, or a fresh one).
pub fn run(mut engine: Engine, globals: Rc<Module>) -> u8 {
    let interactive = std::io::stdin().is_terminal();
    if std::io::stdout().is_terminal() {
        // Line-buffered, as CPython's stdout is on a terminal: a long-running statement shows
        // each printed line at once rather than when the input finishes.
        engine.vm.stdout = crate::vm::Output::Callback(Rc::new(|text: &str| {
            let _ = std::io::stdout().write_all(text.as_bytes());
        }));
    }
    let no_color = std::env::var_os("NO_COLOR").is_some();
    let color = interactive && std::io::stdout().is_terminal() && !no_color;
    let stderr_color = std::io::stderr().is_terminal() && !no_color;
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .color_mode(if color { ColorMode::Enabled } else { ColorMode::Disabled })
        .bracketed_paste(true)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("aio: cannot start the line editor: {e}");
            return 1;
        }
    };
    let engine = Rc::new(RefCell::new(engine));
    editor.set_helper(Some(ReplHelper { engine: engine.clone(), globals: globals.clone(), color }));
    let history = history_path();
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    if interactive {
        eprintln!("aio {} — type Python, Ctrl-D to exit", env!("CARGO_PKG_VERSION"));
    }
    let mut pending = String::new();
    loop {
        if pending.is_empty() {
            // Tasks started at the prompt run their ready steps and due timers here, and
            // while an input that awaits runs (not while the prompt waits: see the module doc).
            let outcome = engine.borrow_mut().run_background();
            let _ = std::io::stdout().flush();
            if let Interactive::Exit(status) = outcome {
                return (status & 0xff) as u8;
            }
        }
        let prompt = if pending.is_empty() { ">>> " } else { "... " };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt: drop what was typed, including a pending block, and
                // say so as CPython does.
                pending.clear();
                println!("KeyboardInterrupt");
                continue;
            }
            Err(ReadlineError::Eof) => {
                if interactive {
                    println!();
                }
                return 0;
            }
            Err(e) => {
                eprintln!("aio: cannot read input: {e}");
                return 1;
            }
        };
        if let Some(path) = &history {
            if !line.trim().is_empty() && editor.add_history_entry(line.as_str()).unwrap_or(false) {
                // Written at once: a session killed mid-statement keeps its history.
                let _ = editor.append_history(path);
            }
        }
        if pending.is_empty() && line.trim().is_empty() {
            continue;
        }
        pending.push_str(&line);
        if is_complete(&pending) == Completeness::Incomplete {
            pending.push('\n');
            continue;
        }
        let source = std::mem::take(&mut pending);
        let outcome = engine.borrow_mut().run_interactive(&source, INPUT_NAME, &globals, stderr_color);
        let _ = std::io::stdout().flush();
        if let Interactive::Exit(status) = outcome {
            return (status & 0xff) as u8;
        }
    }
}

/// Where history is kept: `$AIO_HISTORY` if set (empty turns history off), else
/// `$XDG_DATA_HOME/aio/history`, else `~/.local/share/aio/history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AIO_HISTORY") {
        return if p.is_empty() { None } else { Some(PathBuf::from(p)) };
    }
    let data = match std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d,
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local").join("share"),
    };
    Some(data.join("aio").join("history"))
}

/// The rustyline helper: completion and highlighting over the session's engine.
struct ReplHelper {
    engine: Rc<RefCell<Engine>>,
    globals: Rc<Module>,
    color: bool,
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        // The engine is idle while the prompt is shown; `try_borrow` guards the invariant.
        match self.engine.try_borrow() {
            Ok(engine) => Ok(complete(&engine, &self.globals, line, pos)),
            Err(_) => Ok((pos, Vec::new())),
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.color && kind != CmdKind::MoveCursor
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

/// Accepts every line: statement boundaries are decided by the loop (see the module doc).
impl Validator for ReplHelper {}
