//! The `aio` command line: run scripts, check them, evaluate `-c` strings.

use aio::{Engine, Outcome};
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: aio [--version] [--help] [-c CODE | run FILE | check FILE... | FILE] [ARGS...]

Commands:
  aio FILE [ARGS...]        run a script (same as `aio run`)
  aio run [--dis] FILE [ARGS...]
                            run a script; --dis prints its bytecode instead
  aio -c CODE [ARGS...]     run CODE as a script
  aio check FILE...         parse and compile each FILE; report every syntax error
  aio -i FILE [ARGS...]     run a script, then open the REPL with its globals
  aio                       on a terminal, open the REPL; otherwise read a program
                            from standard input and run it
  aio --version             print the version
  aio --help                print this help
";

fn main() -> ExitCode {
    // Deeply nested programs recurse in the parser and compiler: give them room.
    let child = std::thread::Builder::new().stack_size(512 * 1024 * 1024).spawn(real_main);
    match child {
        Ok(h) => match h.join() {
            Ok(code) => ExitCode::from(code),
            Err(_) => {
                eprintln!("aio: internal error (panic); please report it");
                ExitCode::from(70)
            }
        },
        Err(e) => {
            eprintln!("aio: cannot start interpreter thread: {e}");
            ExitCode::from(70)
        }
    }
}

fn real_main() -> u8 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-V") => {
            println!("aio {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Some("--help") | Some("-h") => {
            print!("{USAGE}");
            0
        }
        Some("-c") => match args.get(1) {
            Some(code) => {
                let mut argv = vec!["-c".to_string()];
                argv.extend(args[2..].iter().cloned());
                run_source(code, "<string>", argv, None)
            }
            None => {
                eprintln!("aio: -c needs an argument\n{USAGE}");
                2
            }
        },
        Some("check") => check(&args[1..]),
        Some("-i") => match args.get(1) {
            Some(file) => inspect(file, &args[1..]),
            None => repl(),
        },
        Some("run") => {
            let mut rest = &args[1..];
            let mut dis = false;
            if rest.first().map(String::as_str) == Some("--dis") {
                dis = true;
                rest = &rest[1..];
            }
            match rest.first() {
                Some(file) => run_file(file, rest, dis),
                None => {
                    eprintln!("aio run: missing FILE\n{USAGE}");
                    2
                }
            }
        }
        Some(opt) if opt.starts_with('-') && opt != "-" => {
            eprintln!("aio: unknown option {opt}\n{USAGE}");
            2
        }
        Some(file) if file != "-" => run_file(file, &args, false),
        _ if std::io::stdin().is_terminal() => repl(),
        _ => {
            let mut src = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut src) {
                eprintln!("aio: cannot read standard input: {e}");
                return 2;
            }
            run_source(&src, "<stdin>", vec!["".into()], None)
        }
    }
}

/// Reads a script, mirroring CPython's errors for missing files, directories and bad bytes.
fn read_script(file: &str) -> Result<String, u8> {
    let path = Path::new(file);
    if path.is_dir() {
        eprintln!("aio: can't open file '{file}': [Errno 21] Is a directory");
        return Err(2);
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(e) => {
                let pos = e.utf8_error().valid_up_to();
                eprintln!("aio: {file}: SyntaxError: (unicode error) 'utf-8' codec can't decode byte at position {pos}: invalid utf-8");
                Err(1)
            }
        },
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(0);
            let msg = match e.kind() {
                std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
                _ => e.to_string(),
            };
            eprintln!("aio: can't open file '{file}': [Errno {errno}] {msg}");
            Err(2)
        }
    }
}

fn run_file(file: &str, argv: &[String], dis: bool) -> u8 {
    let src = match read_script(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if dis {
        return match aio::parser::parse_module(&src) {
            Ok(m) => match aio::compiler::compile_module(&m, file, &src) {
                Ok(code) => {
                    print!("{}", aio::bytecode::disassemble(&code));
                    0
                }
                Err(e) => {
                    eprint!("{}", aio::diagnostics::render(&e, file, &src, color()));
                    1
                }
            },
            Err(e) => {
                eprint!("{}", aio::diagnostics::render(&e, file, &src, color()));
                1
            }
        };
    }
    run_source(&src, file, argv.to_vec(), Some(Path::new(file)))
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// An engine with `sys.argv` and the `AIOPATH` search directories set.
fn new_engine(argv: Vec<String>) -> Engine {
    let mut engine = Engine::new();
    // Ctrl-C raises `KeyboardInterrupt` in the script (status 130 if uncaught), as in CPython.
    if let Err(e) = engine.install_sigint_handler() {
        eprintln!("aio: cannot install the SIGINT handler: {e}");
    }
    engine.vm.argv = argv;
    if let Some(p) = std::env::var_os("AIOPATH") {
        for d in std::env::split_paths(&p) {
            engine.vm.search_path.push(d);
        }
    }
    engine
}

/// The REPL in a fresh `__main__`.
fn repl() -> u8 {
    let mut engine = new_engine(vec!["".into()]);
    let globals = engine.main_module(aio::repl::INPUT_NAME);
    aio::repl::run(engine, globals)
}

/// `aio -i FILE`: runs the script (an uncaught exception is reported, not fatal), then opens
/// the REPL in its `__main__` globals, as `python3 -i` does.
fn inspect(file: &str, argv: &[String]) -> u8 {
    let src = match read_script(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut engine = new_engine(argv.to_vec());
    match aio::parser::parse_module(&src) {
        Ok(_) => {
            engine.run_file(Path::new(file), &src);
        }
        Err(e) => eprint!("{}", aio::diagnostics::render(&e, file, &src, color())),
    }
    let globals = engine.main_module(file);
    aio::repl::run(engine, globals)
}

fn run_source(src: &str, name: &str, argv: Vec<String>, path: Option<&Path>) -> u8 {
    let mut engine = new_engine(argv);
    // Syntax errors are reported with the source span before anything runs.
    if let Err(e) = aio::parser::parse_module(src) {
        eprint!("{}", aio::diagnostics::render(&e, name, src, color()));
        return 1;
    }
    let outcome = match path {
        Some(p) => engine.run_file(p, src),
        None => engine.run_main(src, name),
    };
    if engine.uncaught_interrupt {
        // CPython ends an uncaught KeyboardInterrupt by SIGINT with its default action.
        drop(engine);
        let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
        return 130;
    }
    match outcome {
        Outcome::Ok => 0,
        Outcome::Exit(n) => (n & 0xff) as u8,
    }
}

fn check(files: &[String]) -> u8 {
    if files.is_empty() {
        eprintln!("aio check: missing FILE\n{USAGE}");
        return 2;
    }
    let mut status = 0;
    for f in files {
        let src = match read_script(f) {
            Ok(s) => s,
            Err(code) => {
                status = status.max(code);
                continue;
            }
        };
        match aio::parser::parse_module_all(&src) {
            Ok(m) => {
                if let Err(e) = aio::compiler::compile_module(&m, f, &src) {
                    eprint!("{}", aio::diagnostics::render(&e, f, &src, color()));
                    status = status.max(1);
                }
            }
            Err(errs) => {
                for e in errs {
                    eprint!("{}", aio::diagnostics::render(&e, f, &src, color()));
                }
                status = status.max(1);
            }
        }
    }
    status
}
