//! The networking examples as a user runs them: the echo server with the echo client,
//! the chat server with several clients, the port scanner against listeners this test
//! opens, and the subprocess runner (whose output must equal CPython's).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

fn aio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aio")).args(args).stdin(Stdio::null()).output().expect("aio binary starts")
}

/// A server example running in the background, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `aio run NAME 0` and reads the "listening on port N" line.
    fn start(name: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aio"))
            .arg("run")
            .arg(example(name))
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aio binary starts");
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("server prints its port");
        let port = line
            .trim()
            .strip_prefix("listening on port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn echo_server_and_client() {
    let server = Server::start("echo_server.aio");
    let port = server.port.to_string();
    let client = example("echo_client.aio");
    let out = aio(&["run", client.to_str().unwrap(), &port, "first line", "second", "third"]);
    assert!(out.status.success(), "client failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "echoed: first line\nechoed: second\nechoed: third\n");
    // A second client is served by the same server.
    let out = aio(&["run", client.to_str().unwrap(), &port]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "echoed: hello\nechoed: echo\n");
}

fn connect(port: u16, name: &str) -> (BufReader<TcpStream>, TcpStream) {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chat server");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    writeln!(w, "{name}").unwrap();
    let mut r = BufReader::new(s);
    let mut welcome = String::new();
    r.read_line(&mut welcome).unwrap();
    assert_eq!(welcome, format!("welcome {name}\n"));
    (r, w)
}

fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut s = String::new();
    r.read_line(&mut s).expect("a broadcast line");
    s
}

#[test]
fn chat_server_broadcasts_to_every_other_client() {
    let server = Server::start("chat_server.aio");
    let (mut ann_r, mut ann_w) = connect(server.port, "ann");
    let (mut bob_r, mut bob_w) = connect(server.port, "bob");
    assert_eq!(line(&mut ann_r), "* bob joined (2 online)\n");
    let (mut cy_r, _cy_w) = connect(server.port, "cy");
    assert_eq!(line(&mut ann_r), "* cy joined (3 online)\n");
    assert_eq!(line(&mut bob_r), "* cy joined (3 online)\n");
    writeln!(ann_w, "hello room").unwrap();
    assert_eq!(line(&mut bob_r), "ann: hello room\n");
    assert_eq!(line(&mut cy_r), "ann: hello room\n");
    writeln!(bob_w, "hi ann").unwrap();
    assert_eq!(line(&mut ann_r), "bob: hi ann\n");
    assert_eq!(line(&mut cy_r), "bob: hi ann\n");
    writeln!(ann_w, "/quit").unwrap();
    assert_eq!(line(&mut bob_r), "* ann left\n");
    assert_eq!(line(&mut cy_r), "* ann left\n");
    // A client that vanishes without /quit is announced too.
    drop(bob_r);
    drop(bob_w);
    assert_eq!(line(&mut cy_r), "* bob left\n");
    // Twenty more clients at once all get the next message.
    let mut many: Vec<_> = (0..20).map(|i| connect(server.port, &format!("c{i}"))).collect();
    writeln!(ann_w, "ignored, ann has left").ok();
    let (_z_r, mut z_w) = connect(server.port, "zed");
    writeln!(z_w, "to all").unwrap();
    for (r, _) in many.iter_mut() {
        loop {
            let l = line(r);
            if l.starts_with("zed: ") {
                assert_eq!(l, "zed: to all\n");
                break;
            }
            assert!(l.starts_with("* "), "unexpected line {l:?}");
        }
    }
}

#[test]
fn port_scanner_finds_open_ports() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    for l in [&a, &b] {
        let p = l.local_addr().unwrap().port();
        let (first, last) = (p.saturating_sub(3).max(1), p.saturating_add(3));
        let out = aio(&["run", example("port_scanner.aio").to_str().unwrap(), &first.to_string(), &last.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("open: {p}\n")), "{text}");
        assert!(text.contains(&format!("scanned {} ports", last - first + 1)), "{text}");
    }
    // Once closed, the port is reported closed.
    let p = a.local_addr().unwrap().port();
    drop(a);
    let out = aio(&["run", example("port_scanner.aio").to_str().unwrap(), &p.to_string(), &p.to_string()]);
    // Tests run in parallel: another one may have been given the freed port meanwhile.
    let reused = TcpListener::bind(("127.0.0.1", p)).is_err();
    if !reused {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "scanned 1 ports, 0 open\n");
    }
}

#[test]
fn subprocesses_example_matches_cpython() {
    let out = aio(&["run", example("subprocesses.aio").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("[3] echo to stderr >&2; exit 3\n    err: to stderr\n"), "{text}");
    assert!(text.ends_with("words counted by wc: 4000\n"), "{text}");
    let py = Command::new("python3").arg(example("subprocesses.aio")).stdin(Stdio::null()).output();
    if let Ok(py) = py {
        if py.status.success() {
            assert_eq!(text, String::from_utf8_lossy(&py.stdout));
        }
    }
}
