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
//! the session; tasks created at the prompt live on it too, and keep running while the prompt
//! waits for the next line. For that, the line editor runs on a reader thread of its own
//! (as `python3 -m asyncio` reads its console on a thread): the session thread sends it a
//! prompt, then runs the host loop until the typed line comes back. Tab completion needs the
//! engine, which is not `Send`, so the reader asks the session thread for candidates over the
//! same channel and waits for the answer. Ctrl-C while an input runs is SIGINT (rustyline
//! leaves raw mode between lines), turned into `KeyboardInterrupt` by the handler
//! `Engine::install_sigint_handler` installs.

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
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

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
    let (prompts, prompt_rx) = mpsc::channel::<String>();
    let (reader_tx, from_reader) = mpsc::channel::<FromReader>();
    let editor = match new_editor(color, reader_tx.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("aio: cannot start the line editor: {e}");
            return 1;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("aio-readline".into())
        .spawn(move || read_lines(editor, history_path(), prompt_rx, reader_tx));
    if let Err(e) = spawned {
        eprintln!("aio: cannot start the line editor: {e}");
        return 1;
    }
    if interactive {
        eprintln!("aio {} — type Python, Ctrl-D to exit", env!("CARGO_PKG_VERSION"));
    }
    let mut pending = String::new();
    loop {
        if pending.is_empty() {
            // Tasks started at the prompt run their ready steps and due timers here, and then
            // go on running while the prompt waits for the line.
            if let Interactive::Exit(status) = engine.run_background() {
                return (status & 0xff) as u8;
            }
        }
        let _ = std::io::stdout().flush();
        let prompt = if pending.is_empty() { ">>> " } else { "... " };
        if prompts.send(prompt.to_string()).is_err() {
            eprintln!("aio: the line editor stopped");
            return 1;
        }
        let line = match wait_for_line(&mut engine, &globals, &from_reader) {
            Ok(FromReader::Line(line)) => line,
            Ok(FromReader::Interrupted) => {
                // Ctrl-C at the prompt: drop what was typed, including a pending block, and
                // say so as CPython does.
                pending.clear();
                println!("KeyboardInterrupt");
                continue;
            }
            Ok(FromReader::Eof) => {
                if interactive {
                    println!();
                }
                return 0;
            }
            Ok(FromReader::Failed(e)) => {
                eprintln!("aio: cannot read input: {e}");
                return 1;
            }
            Ok(FromReader::Complete { .. }) => unreachable!("completion requests are answered while waiting"),
            Err(status) => return status,
        };
        if pending.is_empty() && line.trim().is_empty() {
            continue;
        }
        pending.push_str(&line);
        if is_complete(&pending) == Completeness::Incomplete {
            pending.push('\n');
            continue;
        }
        let source = std::mem::take(&mut pending);
        let outcome = engine.run_interactive(&source, INPUT_NAME, &globals, stderr_color);
        let _ = std::io::stdout().flush();
        if let Interactive::Exit(status) = outcome {
            return (status & 0xff) as u8;
        }
    }
}

/// What the reader thread sends to the session thread.
enum FromReader {
    /// A line was typed (without its newline).
    Line(String),
    /// Ctrl-C at the prompt.
    Interrupted,
    /// Ctrl-D at an empty prompt, or the end of piped input.
    Eof,
    /// The terminal could not be read.
    Failed(String),
    /// A Tab press: the candidates for completing `line` at byte `pos`, to send on `reply`.
    Complete { line: String, pos: usize, reply: mpsc::Sender<(usize, Vec<String>)> },
}

/// Waits for the reader thread's next line (or Ctrl-C, Ctrl-D), running the host loop's
/// background tasks meanwhile and answering completion requests. `Err` carries the exit
/// status when a background task ended the session (`sys.exit`).
fn wait_for_line(
    engine: &mut Engine,
    globals: &Rc<Module>,
    from_reader: &mpsc::Receiver<FromReader>,
) -> Result<FromReader, u8> {
    /// The longest wait between two runs of the loop, so I/O readiness is noticed too.
    const SLICE: Duration = Duration::from_millis(50);
    loop {
        let received = match engine.background_wakeup(SLICE) {
            None => from_reader.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(wait) => from_reader.recv_timeout(wait),
        };
        match received {
            Ok(FromReader::Complete { line, pos, reply }) => {
                let _ = reply.send(complete(engine, globals, &line, pos));
            }
            Ok(message) => return Ok(message),
            Err(RecvTimeoutError::Timeout) => {
                if let Interactive::Exit(status) = engine.run_background() {
                    return Err((status & 0xff) as u8);
                }
                let _ = std::io::stdout().flush();
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(FromReader::Failed("the line editor stopped".into())),
        }
    }
}

/// A line editor with the session's settings and the completion/highlighting helper.
fn new_editor(color: bool, requests: mpsc::Sender<FromReader>) -> rustyline::Result<Editor<ReplHelper, FileHistory>> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .color_mode(if color { ColorMode::Enabled } else { ColorMode::Disabled })
        .bracketed_paste(true)
        .build();
    let mut editor = Editor::with_config(config)?;
    editor.set_helper(Some(ReplHelper { requests, color }));
    Ok(editor)
}

/// The reader thread: reads one line per prompt received, keeps the history file, and ends
/// when the session thread hangs up.
fn read_lines(
    mut editor: Editor<ReplHelper, FileHistory>,
    history: Option<PathBuf>,
    prompts: mpsc::Receiver<String>,
    to_session: mpsc::Sender<FromReader>,
) {
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    while let Ok(prompt) = prompts.recv() {
        let message = match editor.readline(&prompt) {
            Ok(line) => {
                if let Some(path) = &history {
                    if !line.trim().is_empty() && editor.add_history_entry(line.as_str()).unwrap_or(false) {
                        // Written at once: a session killed mid-statement keeps its history.
                        let _ = editor.append_history(path);
                    }
                }
                FromReader::Line(line)
            }
            Err(ReadlineError::Interrupted) => FromReader::Interrupted,
            Err(ReadlineError::Eof) => FromReader::Eof,
            Err(e) => FromReader::Failed(e.to_string()),
        };
        if to_session.send(message).is_err() {
            return;
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

/// The rustyline helper, on the reader thread: highlighting is local; completion asks the
/// session thread, which owns the engine.
struct ReplHelper {
    requests: mpsc::Sender<FromReader>,
    color: bool,
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let (reply, answer) = mpsc::channel();
        let request = FromReader::Complete { line: line.to_string(), pos, reply };
        if self.requests.send(request).is_err() {
            return Ok((pos, Vec::new()));
        }
        Ok(answer.recv().unwrap_or((pos, Vec::new())))
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
