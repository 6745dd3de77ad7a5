//! Network faults that a script test cannot set up: running out of file descriptors
//! (`ulimit -n 256`). Each failure must reach only the connection that hit it, as the
//! `OSError` CPython raises; the server keeps serving; nothing leaks.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

/// A server limited to 256 fds: 1000 clients arrive at once and hold their connection
/// for a moment, so accepting runs out of descriptors (EMFILE) and pauses, as CPython's
/// does, then resumes; every client is served in the end.
const SERVER: &str = r#"
import asyncio
import os

served = 0
done = None


async def handle(reader, writer):
    global served
    line = await reader.readline()
    writer.write(line)
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    await writer.wait_closed()
    served += 1
    if served == 1001:
        done.set()


async def main():
    global done
    done = asyncio.Event()
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1000)
    before = len(os.listdir("/proc/self/fd"))
    print("listening on port", server.sockets[0].getsockname()[1], flush=True)
    await done.wait()
    await asyncio.sleep(0.1)
    print("served", served)
    print("fd delta", len(os.listdir("/proc/self/fd")) - before)
    print("serving", server.is_serving())
    server.close()


asyncio.run(main())
"#;

const CLIENTS: &str = r#"
import asyncio
import sys

port = int(sys.argv[1])


async def client():
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"x\n")
        line = await asyncio.wait_for(reader.readline(), 60)
        return "ok" if line == b"x\n" else f"bad {line!r}"
    finally:
        writer.close()


async def main():
    results = await asyncio.gather(*(client() for _ in range(1000)), return_exceptions=True)
    counts = {}
    for r in results:
        k = r if isinstance(r, str) else f"{type(r).__name__} {r}"
        counts[k] = counts.get(k, 0) + 1
    for k in sorted(counts):
        print(k, counts[k])
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"last\n")
    print("last client", await r.readline())
    w.close()


asyncio.run(main())
"#;

/// A client limited to 64 fds opens 100 connections: the ones past the limit fail with
/// `OSError: [Errno 24] Too many open files`; the others work, and closing them gives
/// every descriptor back.
const CLIENT_LIMITED: &str = r#"
import asyncio
import os
import sys

port = int(sys.argv[1])


async def main():
    # A first connection creates the loop's poll descriptor.
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.close()
    await w.wait_closed()
    before = len(os.listdir("/proc/self/fd"))
    writers = []
    errors = {}
    for _ in range(100):
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            writers.append(w)
        except OSError as e:
            key = f"{type(e).__name__} {e.errno} {e}"
            errors[key] = errors.get(key, 0) + 1
    print("connected", len(writers) > 10)
    for k in sorted(errors):
        print(k, errors[k] > 0)
    for w in writers:
        w.close()
        await w.wait_closed()
    await asyncio.sleep(0.05)
    print("fd delta", len(os.listdir("/proc/self/fd")) - before)
    r, w = await asyncio.open_connection("127.0.0.1", port)
    print("after", w.is_closing())
    w.close()


asyncio.run(main())
"#;

fn write_script(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aio-net-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn limited(limit: u32, script: &std::path::Path, arg: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!(
        "ulimit -n {limit} && exec '{}' run '{}' {arg}",
        env!("CARGO_BIN_EXE_aio"),
        script.display()
    ));
    c.stdin(Stdio::null());
    c
}

#[test]
fn server_out_of_file_descriptors_keeps_serving() {
    let server = write_script("emfile_server.aio", SERVER);
    let clients = write_script("emfile_clients.aio", CLIENTS);
    let mut child = limited(256, &server, "").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("sh starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = first.trim().strip_prefix("listening on port ").expect("port line").to_string();
    let c = Command::new(env!("CARGO_BIN_EXE_aio"))
        .arg("run")
        .arg(&clients)
        .arg(&port)
        .stdin(Stdio::null())
        .output()
        .expect("aio starts");
    let ctext = String::from_utf8_lossy(&c.stdout).into_owned();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(c.status.success(), "clients: {ctext}\n{}", String::from_utf8_lossy(&c.stderr));
    assert_eq!(ctext, "ok 1000\nlast client b'last\\n'\n");
    assert!(status.success(), "server: {rest}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("socket.accept() out of system resource"), "EMFILE never hit: {err}");
    assert!(err.contains("OSError: [Errno 24] Too many open files"), "{err}");
    assert_eq!(rest, "served 1001\nfd delta 0\nserving True\n");
}

#[test]
fn client_out_of_file_descriptors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let script = write_script("emfile_client.aio", CLIENT_LIMITED);
    let out = limited(64, &script, &port.to_string()).output().expect("sh starts");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text, "connected True\nOSError 24 [Errno 24] Too many open files True\nfd delta 0\nafter False\n");
}

/// `ssl=` other than `None`/`False` is refused with aio's own `ValueError` (there is no
/// TLS); CPython would need its `ssl` module, so a script test cannot show this message.
#[test]
fn tls_is_refused_with_a_clear_error() {
    let code = r#"
import asyncio

async def main():
    for name, aw in [
        ("open_connection", asyncio.open_connection("127.0.0.1", 9, ssl=True)),
        ("create_connection", asyncio.get_running_loop().create_connection(asyncio.Protocol, "127.0.0.1", 9, ssl=1)),
        ("open_unix_connection", asyncio.open_unix_connection("x.sock", ssl=True)),
        ("start_server", asyncio.start_server(lambda r, w: None, "127.0.0.1", 0, ssl=object())),
    ]:
        try:
            await aw
        except ValueError as e:
            print(name, str(e).startswith("aio has no TLS support: ssl="), str(e).endswith(" is not available"))

asyncio.run(main())
"#;
    let out = Command::new(env!("CARGO_BIN_EXE_aio")).args(["-c", code]).output().expect("run aio");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "open_connection True True\ncreate_connection True True\nopen_unix_connection True True\nstart_server True True\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
