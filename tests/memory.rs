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
    run_with_stderr(name, body).map(|(lines, kb, _)| (lines, kb))
}

/// As [`run`], also returning stderr.
fn run_with_stderr(name: &str, body: &str) -> Option<(Vec<String>, u64, String)> {
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
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{name}: exit {:?}\n{stdout}\n{stderr}", out.status);
    let mut lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let report = lines.pop().expect("report line");
    let kb = report.strip_prefix("VmHWM ").and_then(|n| n.parse().ok()).expect("VmHWM figure");
    eprintln!("{name}: peak {kb} kB");
    Some((lines, kb, stderr))
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
fn tasks_blocked_on_unreferenced_futures() {
    // Each task awaits a future only its own coroutine references: the loop keeps tasks
    // weakly, so task, coroutine, future and wake-up callback are one cycle of garbage.
    // One task in 1,000 keeps CPython's "destroyed but pending" report (a million lines of
    // stderr would only measure the pipe); the final collection makes the count exact.
    let body = r#"
import asyncio
import gc

async def wait_forever():
    await asyncio.get_running_loop().create_future()

async def main():
    loop = asyncio.get_running_loop()
    most = 0
    for i in range(N):
        t = loop.create_task(wait_forever())
        if i % 1000:
            t._log_destroy_pending = False
        del t
        if i % 1000 == 999:
            await asyncio.sleep(0)
            most = max(most, len(asyncio.all_tasks()))
    await asyncio.sleep(0)
    gc.collect()
    print(most < 50000, len(asyncio.all_tasks()))

asyncio.run(main())
"#;
    let Some((lines, kb, stderr)) = run_with_stderr("blocked_tasks", body) else { return };
    assert_eq!(lines, ["True 1"], "blocked_tasks: output");
    assert!(kb < LIMIT_KB, "blocked_tasks: peak resident memory {kb} kB is over {LIMIT_KB} kB");
    let reports = stderr.matches("Task was destroyed but it is pending!\ntask: <Task pending name='Task-").count();
    assert_eq!(
        reports as u64,
        N / 1000,
        "blocked_tasks: destroyed-pending reports\n{}",
        &stderr[..stderr.len().min(2000)]
    );
}

#[test]
fn tasks_blocked_on_unreferenced_primitives() {
    // Each task waits on a lock, event, condition, semaphore, queue or barrier that only its
    // own coroutine references: as in CPython, task, coroutine, primitive and waiter future
    // are one cycle of garbage. One task in 1,000 is reported.
    let body = r#"
import asyncio
import gc

async def on_event():
    await asyncio.Event().wait()

async def on_lock():
    lock = asyncio.Lock()
    await lock.acquire()
    async with lock:
        pass

async def on_condition():
    cond = asyncio.Condition()
    async with cond:
        await cond.wait()

async def on_semaphore():
    await asyncio.Semaphore(0).acquire()

async def on_queue():
    q = asyncio.Queue(1)
    await q.put(1)
    await q.put(q)

async def on_barrier():
    await asyncio.Barrier(2).wait()

KINDS = [on_event, on_lock, on_condition, on_semaphore, on_queue, on_barrier]

async def main():
    loop = asyncio.get_running_loop()
    most = 0
    for i in range(N // 5):
        t = loop.create_task(KINDS[i % len(KINDS)]())
        if i % 1000:
            t._log_destroy_pending = False
        del t
        if i % 1000 == 999:
            await asyncio.sleep(0)
            most = max(most, len(asyncio.all_tasks()))
    await asyncio.sleep(0)
    gc.collect()
    print(most < 50000, len(asyncio.all_tasks()))

asyncio.run(main())
"#;
    let Some((lines, kb, stderr)) = run_with_stderr("blocked_on_primitives", body) else { return };
    assert_eq!(lines, ["True 1"], "blocked_on_primitives: output");
    assert!(kb < LIMIT_KB, "blocked_on_primitives: peak resident memory {kb} kB is over {LIMIT_KB} kB");
    let reports = stderr.matches("Task was destroyed but it is pending!").count();
    assert_eq!(reports as u64, N / 5 / 1000, "blocked_on_primitives: reports\n{}", &stderr[..stderr.len().min(2000)]);
}

#[test]
fn destroyed_pending_tasks_are_reported_as_cpython_does() {
    // CPython's default exception handler text, from `Task.__del__`: for a task collected
    // while it waits (its coroutine is closed first, so it shows as done), and for a task
    // that never ran, freed when its loop is closed (then its coroutine was never awaited).
    let body = r#"
import asyncio
import gc

async def wait_forever():
    await asyncio.get_running_loop().create_future()

async def main():
    asyncio.get_running_loop().create_task(wait_forever(), name="blocked")
    await asyncio.sleep(0)
    gc.collect()
    print("collected")
    t = asyncio.get_running_loop().create_task(wait_forever(), name="quiet")
    t._log_destroy_pending = False
    del t
    await asyncio.sleep(0)
    gc.collect()

asyncio.run(main())
loop = asyncio.new_event_loop()
loop.create_task(wait_forever(), name="never-run")
loop.close()
print("closed")

async def debug_main():
    asyncio.get_running_loop().create_task(wait_forever(), name="debug")
    await asyncio.sleep(0)
    gc.collect()

asyncio.run(debug_main(), debug=True)
"#;
    let Some((lines, _, stderr)) = run_with_stderr("destroyed_pending", body) else { return };
    assert_eq!(lines, ["collected", "closed"]);
    let file = stderr.split("defined at ").nth(1).and_then(|s| s.split(':').next()).unwrap_or("?").to_string();
    let expected = format!(
        "Task was destroyed but it is pending!\n\
         task: <Task pending name='blocked' coro=<wait_forever() done, defined at {file}:6> \
         wait_for=<Future pending cb=[Task.task_wakeup()]>>\n\
         Task was destroyed but it is pending!\n\
         task: <Task pending name='never-run' coro=<wait_forever() running at {file}:6>>\n"
    );
    assert!(stderr.starts_with(&expected), "stderr:\n{stderr}\nexpected to start with:\n{expected}");
    assert!(stderr.contains("RuntimeWarning: coroutine 'wait_forever' was never awaited"), "{stderr}");
    // In debug mode, where the task was created comes first, as CPython's `source_traceback`.
    let debug = format!(
        "Task was destroyed but it is pending!\n\
         source_traceback: Object created at (most recent call last):\n  \
         File \"{file}\", line 31, in <module>\n    asyncio.run(debug_main(), debug=True)\n  \
         File \"{file}\", line 27, in debug_main\n    \
         asyncio.get_running_loop().create_task(wait_forever(), name=\"debug\")\n\
         task: <Task pending name='debug' coro=<wait_forever() done"
    );
    assert!(stderr.contains(&debug), "stderr:\n{stderr}\nexpected:\n{debug}");
    assert_eq!(stderr.matches("Task was destroyed").count(), 3, "{stderr}");
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
