//! Reference cycles are reclaimed: each case runs the built `aio` binary on a script that
//! builds a million reference cycles of one kind and then reports its own peak resident
//! memory (`VmHWM` in `/proc/self/status`, read by the script itself with `open`, so the
//! figure is taken just before the process ends). The peak must stay under 64 MiB; without
//! the cycle collector these scripts need hundreds of megabytes (the control case checks
//! that the measurement sees such growth at all).
//!
//! Linux only (the figures come from `/proc`); elsewhere the cases pass without running.

use std::process::Command;

/// The limit the issue sets for a million cycles.
const LIMIT_KB: u64 = 64 * 1024;

/// Cycles built per case: a million, as the issue asks (a tenth in unoptimised builds,
/// where the interpreter is an order of magnitude slower).
const N: u64 = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };

/// Appended to every script: prints `VmHWM <kB>`.
const REPORT: &str = r#"
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            print("VmHWM", line.split()[1])
"#;

/// Runs `body` (followed by `REPORT`) and returns its stdout lines without the report,
/// and the peak resident memory in kB.
fn run(name: &str, body: &str) -> Option<(Vec<String>, u64)> {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("no /proc: skipping {name}");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("aio-memory-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let path = dir.join(format!("{name}.aio"));
    std::fs::write(&path, format!("N = {N}\n{body}{REPORT}")).expect("write script");
    let out = Command::new(env!("CARGO_BIN_EXE_aio")).arg("run").arg(&path).output().expect("aio starts");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name}: exit {:?}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let report = lines.pop().expect("report line");
    let kb = report.strip_prefix("VmHWM ").and_then(|n| n.parse().ok()).expect("VmHWM figure");
    eprintln!("{name}: peak {kb} kB");
    Some((lines, kb))
}

fn assert_flat(name: &str, body: &str, expected: &[String]) {
    let Some((lines, kb)) = run(name, body) else { return };
    assert_eq!(lines, expected, "{name}: output");
    assert!(kb < LIMIT_KB, "{name}: peak resident memory {kb} kB is over {LIMIT_KB} kB");
}

#[test]
fn objects_holding_themselves() {
    let body = r#"
class Node:
    def __init__(self, i):
        self.i = i
        self.me = self

total = 0
for i in range(N):
    n = Node(i)
    total += n.me.i
print(total)
"#;
    assert_flat("self_instances", body, &[(N * (N - 1) / 2).to_string()]);
}

#[test]
fn containers_holding_themselves() {
    let body = r#"
n = 0
for i in range(N):
    k = i % 3
    if k == 0:
        a = []
        a.append(a)
        n += len(a)
    elif k == 1:
        d = {}
        d["d"] = d
        n += len(d)
    else:
        t = ([i],)
        t[0].append(t)
        n += len(t[0])
print(n)
"#;
    assert_flat("self_containers", body, &[(N.div_ceil(3) + (N + 1) / 3 + 2 * (N / 3)).to_string()]);
}

#[test]
fn closures_capturing_each_other() {
    let body = r#"
def make(i):
    def even(n):
        return True if n == 0 else odd(n - 1)
    def odd(n):
        return False if n == 0 else even(n - 1)
    return even

count = 0
for i in range(N):
    if make(i)(i % 4):
        count += 1
print(count)
"#;
    assert_flat("closures", body, &[(N / 2).to_string()]);
}

#[test]
fn exceptions_kept_by_the_frame_they_were_raised_in() {
    let body = r#"
class Boom(Exception):
    pass

def fail(i):
    try:
        raise Boom(i)
    except Boom as e:
        err = e
    box = [err]
    err.box = box
    return err.args[0]

total = 0
for i in range(N):
    total += fail(i)
print(total)
"#;
    assert_flat("exceptions", body, &[(N * (N - 1) / 2).to_string()]);
}

#[test]
fn tasks_referencing_each_other() {
    let body = r#"
import asyncio

async def worker(peers):
    await asyncio.sleep(0)
    return peers

async def main():
    total = 0
    for i in range(N // 2):
        peers = []
        a = asyncio.create_task(worker(peers))
        b = asyncio.create_task(worker(peers))
        peers.append(a)
        peers.append(b)
        total += len(await a) + len(await b)
    print(total)

asyncio.run(main())
"#;
    assert_flat("tasks", body, &[(2 * N).to_string()]);
}

#[test]
fn generators_and_bound_methods_in_cycles() {
    let body = r#"
class Holder:
    def __init__(self):
        self.callback = self.fire
        self.gen = self.run()
        next(self.gen)

    def fire(self):
        return 1

    def run(self):
        me = self
        try:
            yield 1
        finally:
            pass

total = 0
for i in range(N):
    total += Holder().callback()
print(total)
"#;
    assert_flat("generators", body, &[N.to_string()]);
}

#[test]
fn the_measurement_sees_leaks() {
    // With the collector off, 300,000 self-referencing lists stay allocated: the figure
    // must grow well past the baseline, or the other cases would prove nothing.
    let leak = r#"
import gc
gc.disable()
for i in range(300000):
    a = [i]
    a.append(a)
print("done")
"#;
    let Some((_, leaked)) = run("control_leak", leak) else { return };
    let Some((_, baseline)) = run("control_base", "print('done')\n") else { return };
    assert!(leaked > baseline + 16 * 1024, "leak {leaked} kB vs baseline {baseline} kB");
}
