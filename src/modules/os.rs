//! `os` and `os.path` (POSIX semantics, as CPython's `posixpath`): the environment, the
//! working directory, files and directories, with `OSError` subclasses carrying CPython's
//! `[Errno N] message: 'file'` text.

use super::params::{bind, or_none, Sig};
use crate::vm::value::Module;
use crate::vm::{Args, Exc, ExcKind, Res, Sym, Value, Vm};
use std::rc::Rc;

// ---------------------------------------------------------------- errors

/// `strerror(errno)` as the C library words it (Rust's message without the suffix).
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An `OSError` (subclass by errno) for a failed call on `file` (and `file2`).
pub(crate) fn os_error(vm: &mut Vm, e: &std::io::Error, file: Option<&str>, file2: Option<&str>) -> Exc {
    let errno = e.raw_os_error().unwrap_or(0);
    let (n, msg) = (Value::Int(errno as i64), Value::string(strerror(e)));
    let exc = vm.exception_with_args(ExcKind::for_errno(errno as i64), vec![n.clone(), msg.clone()]);
    if let Exc::Obj(i) = &exc {
        i.set_attr(Sym::new("errno"), n);
        i.set_attr(Sym::new("strerror"), msg);
        if let Some(f) = file {
            i.set_attr(Sym::new("filename"), Value::str(f));
            if let Some(f2) = file2 {
                i.set_attr(Sym::new("filename2"), Value::str(f2));
            }
        }
    }
    exc
}

/// A path argument: `str` (or `bytes` decoded as UTF-8), or an object with `__fspath__`.
fn path_arg(vm: &mut Vm, v: &Value, fname: &str, what: &str) -> Res<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::Instance(_) => {
            if let Some(f) = vm.get_attr_opt(v, Sym::new("__fspath__"))? {
                let r = vm.call(&f, vec![])?;
                if let Value::Str(s) = r {
                    return Ok(s.as_str().to_string());
                }
            }
            Err(Exc::type_error(format!(
                "{fname}: {what} should be string, bytes or os.PathLike, not {}",
                vm.type_name(v)
            )))
        }
        other => Err(Exc::type_error(format!(
            "{fname}: {what} should be string, bytes or os.PathLike, not {}",
            vm.type_name(other)
        ))),
    }
}

/// A `posixpath` argument: `str`, or `TypeError: expected str, bytes or os.PathLike object, not T`.
fn fspath(vm: &mut Vm, v: &Value) -> Res<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Instance(_) => {
            if let Some(f) = vm.get_attr_opt(v, Sym::new("__fspath__"))? {
                let r = vm.call(&f, vec![])?;
                if let Value::Str(s) = r {
                    return Ok(s.as_str().to_string());
                }
            }
            Err(Exc::type_error(format!("expected str, bytes or os.PathLike object, not {}", vm.type_name(v))))
        }
        other => {
            Err(Exc::type_error(format!("expected str, bytes or os.PathLike object, not {}", vm.type_name(other))))
        }
    }
}

fn path1(vm: &mut Vm, a: &mut Args, name: &'static str) -> Res<String> {
    let b = bind(a, &Sig { name, params: &["p"], required: 1, kwonly: &[] })?;
    fspath(vm, &or_none(&b[0]))
}

// ---------------------------------------------------------------- os

fn getcwd_string(vm: &mut Vm) -> Res<String> {
    std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).map_err(|e| os_error(vm, &e, None, None))
}

fn getcwd(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    bind(a, &Sig { name: "getcwd", params: &[], required: 0, kwonly: &[] })?;
    Ok(Value::string(getcwd_string(vm)?))
}

fn chdir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "chdir", params: &["path"], required: 1, kwonly: &[] })?;
    let p = path_arg(vm, &or_none(&b[0]), "chdir", "path")?;
    std::env::set_current_dir(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    Ok(Value::None)
}

fn getpid(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    bind(a, &Sig { name: "getpid", params: &[], required: 0, kwonly: &[] })?;
    Ok(Value::Int(std::process::id() as i64))
}

/// `os.kill(pid, sig)`. A signal the script handles, sent to this very process, has been
/// handled when the call returns (as in CPython, where the handler runs right after).
fn kill(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    crate::builtins::check_args("kill", a, 2, 2)?;
    let pid = vm.index_value(&a.pos[0].clone())?;
    let sig = vm.index_value(&a.pos[1].clone())?;
    let pid =
        i32::try_from(pid).map_err(|_| Exc::new(ExcKind::OverflowError, "signed integer is greater than maximum"))?;
    let sig =
        i32::try_from(sig).map_err(|_| Exc::new(ExcKind::OverflowError, "signed integer is greater than maximum"))?;
    let signal = if sig == 0 {
        None
    } else {
        match nix::sys::signal::Signal::try_from(sig) {
            Ok(s) => Some(s),
            Err(_) => return Err(os_error(vm, &std::io::Error::from_raw_os_error(22), None, None)),
        }
    };
    vm.flush_stdout();
    if let Err(e) = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal) {
        return Err(os_error(vm, &std::io::Error::from_raw_os_error(e as i32), None, None));
    }
    if sig != 0 && (pid == std::process::id() as i32 || pid == 0) {
        crate::asyncio::signals::after_self_signal(vm, sig)?;
    }
    Ok(Value::None)
}

fn cpu_count(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(std::thread::available_parallelism().map(|n| Value::Int(n.get() as i64)).unwrap_or(Value::None))
}

fn urandom(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    use std::io::Read;
    let b = bind(a, &Sig { name: "urandom", params: &["size"], required: 1, kwonly: &[] })?;
    let n = vm.index_value(&or_none(&b[0]))?;
    if n < 0 {
        return Err(Exc::value_error("negative argument not allowed"));
    }
    let mut buf = vec![0u8; n as usize];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| os_error(vm, &e, None, None))?;
    Ok(Value::Bytes(Rc::from(buf)))
}

fn listdir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "listdir", params: &["path"], required: 0, kwonly: &[] })?;
    let p = match &b[0] {
        None | Some(Value::None) => ".".to_string(),
        Some(v) => path_arg(vm, v, "listdir", "path")?,
    };
    let rd = std::fs::read_dir(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| os_error(vm, &e, Some(&p), None))?;
        out.push(Value::string(entry.file_name().to_string_lossy().into_owned()));
    }
    Ok(Value::list(out))
}

fn mkdir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "mkdir", params: &["path", "mode"], required: 1, kwonly: &["dir_fd"] })?;
    let p = path_arg(vm, &or_none(&b[0]), "mkdir", "path")?;
    std::fs::create_dir(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    Ok(Value::None)
}

fn makedirs(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "makedirs", params: &["name", "mode", "exist_ok"], required: 1, kwonly: &[] })?;
    let p = path_arg(vm, &or_none(&b[0]), "makedirs", "path")?;
    let exist_ok = match &b[2] {
        Some(v) => vm.truthy(v)?,
        None => false,
    };
    if std::path::Path::new(&p).is_dir() {
        if exist_ok {
            return Ok(Value::None);
        }
        let e = std::io::Error::from_raw_os_error(17);
        return Err(os_error(vm, &e, Some(&p), None));
    }
    std::fs::create_dir_all(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    Ok(Value::None)
}

fn remove(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "remove", params: &["path"], required: 1, kwonly: &["dir_fd"] })?;
    let p = path_arg(vm, &or_none(&b[0]), "remove", "path")?;
    if std::path::Path::new(&p).is_dir() && !std::path::Path::new(&p).is_symlink() {
        let e = std::io::Error::from_raw_os_error(21);
        return Err(os_error(vm, &e, Some(&p), None));
    }
    std::fs::remove_file(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    Ok(Value::None)
}

fn rmdir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "rmdir", params: &["path"], required: 1, kwonly: &["dir_fd"] })?;
    let p = path_arg(vm, &or_none(&b[0]), "rmdir", "path")?;
    std::fs::remove_dir(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    Ok(Value::None)
}

fn rename(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "rename", params: &["src", "dst"], required: 2, kwonly: &[] })?;
    let s = path_arg(vm, &or_none(&b[0]), "rename", "src")?;
    let d = path_arg(vm, &or_none(&b[1]), "rename", "dst")?;
    std::fs::rename(&s, &d).map_err(|e| os_error(vm, &e, Some(&s), Some(&d)))?;
    Ok(Value::None)
}

/// `getenv(key, default=None)`: reads `os.environ` (the bound receiver), so assignments to
/// `os.environ` are seen, as in CPython.
fn getenv(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let env = if a.pos.is_empty() { Value::None } else { a.pos.remove(0) };
    let b = bind(a, &Sig { name: "getenv", params: &["key", "default"], required: 1, kwonly: &[] })?;
    let key = or_none(&b[0]);
    if !matches!(key, Value::Str(_)) {
        return Err(Exc::type_error(format!("str expected, not {}", vm.type_name(&key))));
    }
    if let Value::Dict(d) = &env {
        if let Some(v) = vm.dict_get(d, &key)? {
            return Ok(v);
        }
    }
    Ok(or_none(&b[1]))
}

fn walk(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(
        a,
        &Sig { name: "walk", params: &["top", "topdown", "onerror", "followlinks"], required: 1, kwonly: &[] },
    )?;
    let top = path_arg(vm, &or_none(&b[0]), "walk", "top")?;
    let topdown = match &b[1] {
        Some(v) => vm.truthy(v)?,
        None => true,
    };
    let mut out = Vec::new();
    walk_dir(&top, topdown, &mut out);
    let iter = vm.get_iter(&Value::list(out))?;
    Ok(iter)
}

fn walk_dir(top: &str, topdown: bool, out: &mut Vec<Value>) {
    let Ok(rd) = std::fs::read_dir(top) else { return };
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            dirs.push(name);
        } else {
            files.push(name);
        }
    }
    let me = Value::tuple(vec![
        Value::str(top),
        Value::list(dirs.iter().map(|d| Value::str(d)).collect()),
        Value::list(files.into_iter().map(Value::string).collect()),
    ]);
    if topdown {
        out.push(me.clone());
    }
    for d in &dirs {
        let sub = join_two(top, d);
        if !std::path::Path::new(&sub).is_symlink() {
            walk_dir(&sub, topdown, out);
        }
    }
    if !topdown {
        out.push(me);
    }
}

// ---------------------------------------------------------------- os.path

fn join_two(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_string()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

fn p_join(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("join() takes no keyword arguments"));
    }
    if a.pos.is_empty() {
        return Err(Exc::type_error("join() missing 1 required positional argument: 'a'"));
    }
    let first = a.pos[0].clone();
    let mut path = fspath(vm, &first)?;
    for v in &a.pos[1..] {
        let s = match v {
            Value::Str(s) => s.as_str().to_string(),
            Value::Bytes(_) => return Err(Exc::type_error("Can't mix strings and bytes in path components")),
            other => {
                let r = fspath(vm, other);
                match r {
                    Ok(s) => s,
                    Err(_) => {
                        return Err(Exc::type_error(format!(
                            "join() argument must be str, bytes, or os.PathLike object, not '{}'",
                            vm.type_name(other)
                        )))
                    }
                }
            }
        };
        path = join_two(&path, &s);
    }
    Ok(Value::string(path))
}

fn split_str(p: &str) -> (String, String) {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (head, tail) = (&p[..i], &p[i..]);
    let head = if !head.is_empty() && !head.chars().all(|c| c == '/') { head.trim_end_matches('/') } else { head };
    (head.to_string(), tail.to_string())
}

fn p_split(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "split")?;
    let (h, t) = split_str(&p);
    Ok(Value::tuple(vec![Value::string(h), Value::string(t)]))
}

fn p_basename(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "basename")?;
    Ok(Value::string(split_str(&p).1))
}

fn p_dirname(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "dirname")?;
    Ok(Value::string(split_str(&p).0))
}

fn splitext_str(p: &str) -> (String, String) {
    let sep = p.rfind('/').map(|i| i as i64).unwrap_or(-1);
    let dot = p.rfind('.').map(|i| i as i64).unwrap_or(-1);
    if dot > sep {
        let bytes = p.as_bytes();
        let mut fi = (sep + 1) as usize;
        while (fi as i64) < dot {
            if bytes[fi] != b'.' {
                let d = dot as usize;
                return (p[..d].to_string(), p[d..].to_string());
            }
            fi += 1;
        }
    }
    (p.to_string(), String::new())
}

fn p_splitext(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "splitext")?;
    let (r, e) = splitext_str(&p);
    Ok(Value::tuple(vec![Value::string(r), Value::string(e)]))
}

fn p_isabs(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "isabs")?;
    Ok(Value::Bool(p.starts_with('/')))
}

fn normpath_str(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let mut initial = if path.starts_with('/') { 1 } else { 0 };
    if path.starts_with("//") && !path.starts_with("///") {
        initial = 2;
    }
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial == 0 && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(comp);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let joined = comps.join("/");
    let out = format!("{}{}", "/".repeat(initial), joined);
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

fn p_normpath(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "normpath")?;
    Ok(Value::string(normpath_str(&p)))
}

fn abspath_str(vm: &mut Vm, p: &str) -> Res<String> {
    if p.starts_with('/') {
        Ok(normpath_str(p))
    } else {
        let cwd = getcwd_string(vm)?;
        Ok(normpath_str(&join_two(&cwd, p)))
    }
}

fn p_abspath(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "abspath")?;
    Ok(Value::string(abspath_str(vm, &p)?))
}

fn p_realpath(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "realpath", params: &["filename"], required: 1, kwonly: &["strict"] })?;
    let p = fspath(vm, &or_none(&b[0]))?;
    let abs = abspath_str(vm, &p)?;
    Ok(Value::string(std::fs::canonicalize(&abs).map(|c| c.to_string_lossy().into_owned()).unwrap_or(abs)))
}

fn p_relpath(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "relpath", params: &["path", "start"], required: 1, kwonly: &[] })?;
    let p = fspath(vm, &or_none(&b[0]))?;
    if p.is_empty() {
        return Err(Exc::value_error("no path specified"));
    }
    let start = match &b[1] {
        None | Some(Value::None) => ".".to_string(),
        Some(v) => fspath(vm, v)?,
    };
    let sa = abspath_str(vm, &start)?;
    let pa = abspath_str(vm, &p)?;
    let sl: Vec<&str> = sa.split('/').filter(|x| !x.is_empty()).collect();
    let pl: Vec<&str> = pa.split('/').filter(|x| !x.is_empty()).collect();
    let common = sl.iter().zip(pl.iter()).take_while(|(x, y)| x == y).count();
    let mut rel: Vec<&str> = vec![".."; sl.len() - common];
    rel.extend(&pl[common..]);
    if rel.is_empty() {
        return Ok(Value::str("."));
    }
    Ok(Value::string(rel.join("/")))
}

fn p_expanduser(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let p = path1(vm, a, "expanduser")?;
    if !p.starts_with('~') {
        return Ok(Value::string(p));
    }
    let i = p.find('/').unwrap_or(p.len());
    if i != 1 {
        return Ok(Value::string(p));
    }
    let Ok(home) = std::env::var("HOME") else { return Ok(Value::string(p)) };
    let home = home.trim_end_matches('/');
    let rest = &p[i..];
    let out = format!("{home}{rest}");
    Ok(Value::string(if out.is_empty() { "/".to_string() } else { out }))
}

fn meta_pred(vm: &mut Vm, a: &mut Args, name: &'static str, f: fn(&std::path::Path) -> bool) -> Res<Value> {
    let b = bind(a, &Sig { name, params: &["path"], required: 1, kwonly: &[] })?;
    let p = match or_none(&b[0]) {
        Value::Str(s) => s.as_str().to_string(),
        Value::Bytes(bs) => String::from_utf8_lossy(&bs).into_owned(),
        Value::Int(_) | Value::Bool(_) => return Ok(Value::Bool(false)),
        other => fspath(vm, &other)?,
    };
    if p.contains('\0') {
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(f(std::path::Path::new(&p))))
}

fn p_exists(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    meta_pred(vm, a, "exists", |p| p.exists())
}

fn p_isfile(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    meta_pred(vm, a, "isfile", |p| p.is_file())
}

fn p_isdir(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    meta_pred(vm, a, "isdir", |p| p.is_dir())
}

fn p_islink(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    meta_pred(vm, a, "islink", |p| p.is_symlink())
}

fn p_getsize(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "getsize", params: &["filename"], required: 1, kwonly: &[] })?;
    let p = path_arg(vm, &or_none(&b[0]), "stat", "path")?;
    let m = std::fs::metadata(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    Ok(Value::Int(m.len() as i64))
}

fn p_getmtime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "getmtime", params: &["filename"], required: 1, kwonly: &[] })?;
    let p = path_arg(vm, &or_none(&b[0]), "stat", "path")?;
    let m = std::fs::metadata(&p).map_err(|e| os_error(vm, &e, Some(&p), None))?;
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    Ok(Value::Float(t))
}

fn p_commonprefix(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "commonprefix", params: &["m"], required: 1, kwonly: &[] })?;
    let items = vm.collect(&or_none(&b[0]))?;
    if items.is_empty() {
        return Ok(Value::str(""));
    }
    let mut strs = Vec::new();
    for it in &items {
        strs.push(fspath(vm, it)?);
    }
    let (Some(lo), Some(hi)) = (strs.iter().min(), strs.iter().max()) else { return Ok(Value::str("")) };
    let n = lo.chars().zip(hi.chars()).take_while(|(x, y)| x == y).count();
    Ok(Value::string(lo.chars().take(n).collect()))
}

/// Builds `os.path` (named `posixpath`, as in CPython).
fn path_module() -> Rc<Module> {
    let m = super::native_module(
        "posixpath",
        &[
            ("join", p_join),
            ("split", p_split),
            ("splitext", p_splitext),
            ("basename", p_basename),
            ("dirname", p_dirname),
            ("isabs", p_isabs),
            ("normpath", p_normpath),
            ("abspath", p_abspath),
            ("realpath", p_realpath),
            ("relpath", p_relpath),
            ("expanduser", p_expanduser),
            ("exists", p_exists),
            ("isfile", p_isfile),
            ("isdir", p_isdir),
            ("islink", p_islink),
            ("getsize", p_getsize),
            ("getmtime", p_getmtime),
            ("commonprefix", p_commonprefix),
        ],
    );
    super::set(&m, "sep", Value::str("/"));
    super::set(&m, "curdir", Value::str("."));
    super::set(&m, "pardir", Value::str(".."));
    super::set(&m, "extsep", Value::str("."));
    super::set(&m, "pathsep", Value::str(":"));
    m
}

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "os",
        &[
            ("getcwd", getcwd),
            ("chdir", chdir),
            ("getpid", getpid),
            ("kill", kill),
            ("cpu_count", cpu_count),
            ("urandom", urandom),
            ("listdir", listdir),
            ("mkdir", mkdir),
            ("makedirs", makedirs),
            ("remove", remove),
            ("unlink", remove),
            ("rmdir", rmdir),
            ("rename", rename),
            ("replace", rename),
            ("walk", walk),
            ("pipe", super::fds::os_pipe),
            ("read", super::fds::os_read),
            ("write", super::fds::os_write),
            ("close", super::fds::os_close),
            ("fdopen", super::fds::os_fdopen),
            ("get_blocking", super::fds::os_get_blocking),
            ("set_blocking", super::fds::os_set_blocking),
        ],
    );
    let mut pairs = Vec::new();
    for (k, v) in std::env::vars_os() {
        pairs.push(Value::string(k.to_string_lossy().into_owned()));
        pairs.push(Value::string(v.to_string_lossy().into_owned()));
    }
    let environ = vm.new_dict_from_pairs(pairs)?;
    super::set(&m, "getenv", crate::builtins::bound_native(environ.clone(), "getenv", getenv));
    super::set(&m, "environ", environ);
    super::set(&m, "path", Value::Module(path_module()));
    super::set(&m, "sep", Value::str("/"));
    super::set(&m, "altsep", Value::None);
    super::set(&m, "linesep", Value::str("\n"));
    super::set(&m, "name", Value::str("posix"));
    super::set(&m, "curdir", Value::str("."));
    super::set(&m, "pardir", Value::str(".."));
    super::set(&m, "extsep", Value::str("."));
    super::set(&m, "pathsep", Value::str(":"));
    super::set(&m, "devnull", Value::str("/dev/null"));
    super::set(&m, "error", Value::Class(vm.exc_class(ExcKind::OSError).clone()));
    Ok(m)
}

/// `import os.path` / `from os.path import x`: the import statement wants the top-level
/// package (`os`), whose `path` attribute is the submodule.
pub fn init_dotted(vm: &mut Vm) -> Res<Rc<Module>> {
    match vm.import_module(Sym::new("os"))? {
        Value::Module(m) => Ok(m),
        _ => Err(Exc::new(ExcKind::ImportError, "os is not a module")),
    }
}
