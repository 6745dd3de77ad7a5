//! `time`: clocks, a blocking sleep, and the calendar: `gmtime`, `localtime`, `mktime`,
//! `strftime`, `asctime`, `ctime`, `struct_time`, and the local zone's `timezone`,
//! `altzone`, `daylight`, `tzname` (re-read by `tzset`).

use super::strftime::CTm;
use super::tz::{Tm, Zone};
use crate::builtins::check_args;
use crate::vm::value::{Class, Module, Value};
use crate::vm::{Args, Exc, Res, Sym, Vm};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

thread_local! {
    static START: Instant = Instant::now();
    /// The local zone, read on first use and by `tzset`.
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// The local zone and what `time` derives from it at import.
struct Local {
    zone: Zone,
    /// Seconds west of UTC of standard time.
    timezone: i64,
    /// Seconds west of UTC of daylight saving time.
    altzone: i64,
    /// Whether the zone has daylight saving time.
    daylight: bool,
    /// The names of standard and daylight saving time.
    tzname: (String, String),
}

impl Local {
    /// Reads the zone `tz` names and derives the module's values as CPython does on
    /// glibc: from the local times of January 1 and about July 1 of this year.
    fn new(tz: Option<&str>) -> Local {
        let zone = Zone::load(tz);
        const YEAR: i64 = (365 * 24 + 6) * 3600;
        let t = now_secs() / YEAR * YEAR;
        // Through `localtime`, which leaves the C library's `tzname` as CPython leaves it.
        let info = |t: i64| match zone.localtime(t) {
            Some(tm) => (-tm.gmtoff.unwrap_or(0), tm.zone.unwrap_or_default().chars().take(9).collect::<String>()),
            None => (0, "UTC".to_string()),
        };
        let (jan, jan_name) = info(t);
        let (jul, jul_name) = info(t + YEAR / 2);
        let daylight = jan != jul;
        if jan < jul {
            // Daylight saving time in January: the southern hemisphere.
            Local { zone, timezone: jul, altzone: jan, daylight, tzname: (jul_name, jan_name) }
        } else {
            Local { zone, timezone: jan, altzone: jul, daylight, tzname: (jan_name, jul_name) }
        }
    }
}

/// The `TZ` setting: `os.environ`'s when the script has imported `os` (it may have
/// changed it, as CPython's `os.environ` changes the process's), else the process's.
fn tz_setting(vm: &mut Vm) -> Res<Option<String>> {
    if let Some(Value::Module(os)) = vm.dict_get(&vm.modules.clone(), &Value::str("os"))? {
        if let Some(Value::Dict(env)) = os.get(Sym::new("environ")) {
            return Ok(match vm.dict_get(&env, &Value::str("TZ"))? {
                Some(Value::Str(s)) => Some(s.as_str().to_string()),
                _ => None,
            });
        }
    }
    Ok(std::env::var_os("TZ").map(|s| s.to_string_lossy().into_owned()))
}

/// The local zone, read on first use.
fn local(vm: &mut Vm) -> Res<Rc<Local>> {
    if let Some(l) = LOCAL.with(|l| l.borrow().clone()) {
        return Ok(l);
    }
    let l = Rc::new(Local::new(tz_setting(vm)?.as_deref()));
    LOCAL.with(|c| *c.borrow_mut() = Some(l.clone()));
    Ok(l)
}

/// The current time in whole seconds (rounded down).
fn now_secs() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

fn time(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(Value::Float(d.as_secs_f64()))
}

fn monotonic(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Float(START.with(|s| s.elapsed().as_secs_f64()) + 1.0))
}

fn sleep(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    check_args("sleep", a, 1, 1)?;
    let s = vm.to_float(&a.pos[0].clone())?;
    if s < 0.0 {
        return Err(Exc::value_error("sleep length must be non-negative"));
    }
    vm.flush_stdout();
    // Inside a green call (`to_thread`), the sleep runs on a worker thread instead.
    if crate::asyncio::threads::may_offload(vm) {
        let d = std::time::Duration::from_secs_f64(s.min(1e9));
        return Err(crate::asyncio::threads::offload(vm, move || std::thread::sleep(d), |_, ()| Ok(Value::None)));
    }
    // In slices, so that Ctrl-C (the VM's interrupt flag) ends the sleep with
    // `KeyboardInterrupt` within a few milliseconds, as in CPython.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(s.min(1e9));
    loop {
        // Ctrl-C, and the embedding API's stop request and deadline.
        vm.poll_limits()?;
        // Handlers set with `signal.signal` run here, and the sleep goes on (PEP 475).
        crate::asyncio::signals::run_pending(vm)?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(Value::None);
        }
        let slice = left.min(std::time::Duration::from_millis(20)).min(vm.until_deadline());
        std::thread::sleep(slice);
        // Idle: the memory of objects that died meanwhile goes back.
        crate::vm::gc::sweep_idle(slice);
    }
}

fn time_ns(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(Value::Int(d.as_nanos() as i64))
}

fn perf_counter_ns(_vm: &mut Vm, _a: &mut Args) -> Res<Value> {
    Ok(Value::Int(START.with(|s| s.elapsed().as_nanos()) as i64))
}

const FIELDS: &[&str] =
    &["tm_year", "tm_mon", "tm_mday", "tm_hour", "tm_min", "tm_sec", "tm_wday", "tm_yday", "tm_isdst"];

/// The class `time.struct_time`.
fn struct_time_class(vm: &mut Vm) -> Rc<Class> {
    if let Some(c) = vm.other_classes.borrow().get("struct_time") {
        return c.clone();
    }
    // A tuple subclass, as in CPython (`isinstance(t, tuple)`).
    let tuple = vm.type_class(crate::vm::TypeId::Tuple).clone();
    let c = crate::asyncio::native_class(vm, "struct_time", Some(tuple), struct_time_new);
    {
        let mut d = c.dict.borrow_mut();
        d.insert(vm.syms.module, Value::str("time"));
        let _ = c.tp_name.set(Rc::from("time.struct_time"));
        d.insert(Sym::new("n_fields"), Value::Int(11));
        d.insert(Sym::new("n_sequence_fields"), Value::Int(9));
        d.insert(Sym::new("n_unnamed_fields"), Value::Int(0));
    }
    crate::vm::value::bump_class_epoch();
    c
}

/// A `struct_time` of nine fields and the two attributes.
fn struct_time(vm: &mut Vm, items: Vec<Value>, zone: Value, gmtoff: Value) -> Value {
    let class = struct_time_class(vm);
    Value::Other(Rc::new(super::structseq::StructSeq {
        name: "time.struct_time",
        fields: FIELDS,
        values: Value::tuple(items),
        extra: vec![("tm_zone", zone), ("tm_gmtoff", gmtoff)],
        class: Some(class),
    }))
}

/// The `struct_time` of a broken-down time.
fn tm_value(vm: &mut Vm, tm: &Tm) -> Value {
    let items = [tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec, tm.wday, tm.yday, tm.isdst];
    let zone = tm.zone.as_deref().map_or(Value::None, Value::str);
    let gmtoff = tm.gmtoff.map_or(Value::None, Value::Int);
    struct_time(vm, items.iter().map(|v| Value::Int(*v)).collect(), zone, gmtoff)
}

/// `struct_time(sequence, dict=None)`: nine to eleven items; the attributes missing
/// from the sequence come from the dict.
fn struct_time_new(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let given = a.pos.len().saturating_sub(1);
    if given + a.kw.len() > 2 {
        return Err(Exc::type_error(format!("structseq() takes at most 2 arguments ({} given)", given + a.kw.len())));
    }
    let mut seq = a.pos.get(1).cloned();
    let mut dict = a.pos.get(2).cloned();
    for (k, v) in std::mem::take(&mut a.kw) {
        match &*k.to_string_owned() {
            "sequence" if seq.is_none() => seq = Some(v),
            "dict" if dict.is_none() => dict = Some(v),
            other => return Err(Exc::type_error(format!("'{other}' is an invalid keyword argument for structseq()"))),
        }
    }
    let seq = seq.ok_or_else(|| Exc::type_error("structseq() missing required argument 'sequence' (pos 1)"))?;
    let dict = match dict {
        None | Some(Value::None) => None,
        Some(Value::Dict(d)) => Some(d),
        Some(_) => return Err(Exc::type_error("time.struct_time() takes a dict as second arg, if any")),
    };
    let Ok(mut items) = vm.collect(&seq) else { return Err(Exc::type_error("constructor requires a sequence")) };
    let n = items.len();
    if n < 9 {
        return Err(Exc::type_error(format!("time.struct_time() takes an at least 9-sequence ({n}-sequence given)")));
    }
    if n > 11 {
        return Err(Exc::type_error(format!("time.struct_time() takes an at most 11-sequence ({n}-sequence given)")));
    }
    let mut extra = items.split_off(9).into_iter();
    let mut attr = |vm: &mut Vm, name: &str| -> Res<Value> {
        if let Some(v) = extra.next() {
            return Ok(v);
        }
        match &dict {
            Some(d) => Ok(vm.dict_get(d, &Value::str(name))?.unwrap_or(Value::None)),
            None => Ok(Value::None),
        }
    };
    let zone = attr(vm, "tm_zone")?;
    let gmtoff = attr(vm, "tm_gmtoff")?;
    Ok(struct_time(vm, items, zone, gmtoff))
}

/// A C `int` argument, with CPython's errors.
fn c_int(vm: &mut Vm, v: &Value) -> Res<i64> {
    let i = c_long(vm, v)?;
    if i > i64::from(i32::MAX) {
        return Err(Exc::overflow("signed integer is greater than maximum"));
    }
    if i < i64::from(i32::MIN) {
        return Err(Exc::overflow("signed integer is less than minimum"));
    }
    Ok(i)
}

/// A C `long` argument, with CPython's errors.
fn c_long(vm: &mut Vm, v: &Value) -> Res<i64> {
    match v {
        Value::BigInt(_) => Err(Exc::overflow("Python int too large to convert to C long")),
        _ => vm.index_value(v),
    }
}

/// A timestamp argument as whole seconds, rounded down (CPython's `time_t` conversion).
fn to_time_t(vm: &mut Vm, v: &Value) -> Res<i64> {
    const RANGE: &str = "timestamp out of range for platform time_t";
    match v {
        Value::Float(x) => {
            if x.is_nan() {
                return Err(Exc::value_error("Invalid value NaN (not a number)"));
            }
            let f = x.floor();
            let limit = 2f64.powi(63);
            if !(-limit..limit).contains(&f) {
                return Err(Exc::overflow(RANGE));
            }
            Ok(f as i64)
        }
        Value::BigInt(_) => Err(Exc::overflow(RANGE)),
        _ => vm.index_value(v),
    }
}

/// The optional timestamp argument of `gmtime`/`localtime`/`ctime`: now when absent or
/// `None`.
fn when(vm: &mut Vm, a: &Args, name: &str) -> Res<i64> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error(format!("{name}() takes no keyword arguments")));
    }
    if a.pos.len() > 1 {
        return Err(Exc::type_error(format!("{name}() takes at most 1 argument ({} given)", a.pos.len())));
    }
    match a.pos.first() {
        None | Some(Value::None) => Ok(now_secs()),
        Some(v) => to_time_t(vm, &v.clone()),
    }
}

/// The `OSError` of a time whose year the C library cannot represent.
fn too_large(vm: &mut Vm) -> Exc {
    crate::asyncio::net::support::os_error(vm, 75, "Value too large for defined data type")
}

fn gmtime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = when(vm, a, "gmtime")?;
    let Some(mut tm) = super::tz::breakdown(t) else { return Err(too_large(vm)) };
    tm.zone = Some("GMT".into());
    tm.gmtoff = Some(0);
    Ok(tm_value(vm, &tm))
}

fn localtime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = when(vm, a, "localtime")?;
    let l = local(vm)?;
    let Some(tm) = l.zone.localtime(t) else { return Err(too_large(vm)) };
    Ok(tm_value(vm, &tm))
}

/// A time tuple or `struct_time` argument as the C library's broken-down time
/// (CPython's `gettmarg`); `name` words the error for a tuple of the wrong length.
fn time_arg(vm: &mut Vm, v: &Value, name: &str) -> Res<CTm> {
    let (items, zone, gmtoff) = match v {
        Value::Tuple(t) => (t.to_vec(), Value::None, Value::None),
        _ => match super::structseq::as_structseq(v).filter(|s| s.name == "time.struct_time") {
            Some(s) => {
                let extra = |k: &str| s.extra.iter().find(|(f, _)| *f == k).map_or(Value::None, |(_, v)| v.clone());
                (vm.collect(&s.values)?, extra("tm_zone"), extra("tm_gmtoff"))
            }
            None => return Err(Exc::type_error("Tuple or struct_time argument required")),
        },
    };
    if items.len() != 9 {
        return Err(Exc::type_error(format!("{name}(): illegal time tuple argument")));
    }
    let mut f = [0i64; 9];
    for (slot, item) in f.iter_mut().zip(items.iter()) {
        *slot = c_int(vm, item)?;
    }
    if f[0] < i64::from(i32::MIN) + 1900 {
        return Err(Exc::overflow("year out of range"));
    }
    let zone = match zone {
        Value::None => None,
        Value::Str(s) => Some(s.as_str().to_string()),
        _ => return Err(Exc::type_error("bad argument type for built-in operation")),
    };
    let gmtoff = match gmtoff {
        Value::None => 0,
        other => c_long(vm, &other)?,
    };
    Ok(CTm {
        year: f[0],
        mon: f[1] - 1,
        mday: f[2],
        hour: f[3],
        min: f[4],
        sec: f[5],
        // C's `%`: a negative weekday stays negative and is refused later.
        wday: (f[6] + 1) % 7,
        yday: f[7] - 1,
        isdst: f[8],
        zone,
        gmtoff,
    })
}

/// The C library's form of a broken-down time from `localtime`/`gmtime`.
fn ctm_of(tm: &Tm) -> CTm {
    CTm {
        year: tm.year,
        mon: tm.mon - 1,
        mday: tm.mday,
        hour: tm.hour,
        min: tm.min,
        sec: tm.sec,
        wday: (tm.wday + 1) % 7,
        yday: tm.yday - 1,
        isdst: tm.isdst,
        zone: tm.zone.clone(),
        gmtoff: tm.gmtoff.unwrap_or(0),
    }
}

/// CPython's `checktm`: fields a name or a table is looked up by must be in range;
/// a zero month, day of the month or day of the year means the first.
fn check_tm(tm: &mut CTm) -> Res<()> {
    let err = |what: &str| Err(Exc::value_error(format!("{what} out of range")));
    if tm.mon == -1 {
        tm.mon = 0;
    } else if !(0..=11).contains(&tm.mon) {
        return err("month");
    }
    if tm.mday == 0 {
        tm.mday = 1;
    } else if !(0..=31).contains(&tm.mday) {
        return err("day of month");
    }
    if !(0..=23).contains(&tm.hour) {
        return err("hour");
    }
    if !(0..=59).contains(&tm.min) {
        return err("minute");
    }
    if !(0..=61).contains(&tm.sec) {
        return err("seconds");
    }
    if tm.wday < 0 {
        return err("day of week");
    }
    if tm.yday == -1 {
        tm.yday = 0;
    } else if !(0..=365).contains(&tm.yday) {
        return err("day of year");
    }
    Ok(())
}

/// `asctime`'s text: `Fri Feb 13 23:31:30 2009`.
fn asctime_text(tm: &CTm) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{} {}{:3} {:02}:{:02}:{:02} {}",
        DAYS[tm.wday.rem_euclid(7) as usize],
        MONTHS[tm.mon.rem_euclid(12) as usize],
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec,
        tm.year
    )
}

fn asctime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("asctime() takes no keyword arguments"));
    }
    if a.pos.len() > 1 {
        return Err(Exc::type_error(format!("asctime expected at most 1 argument, got {}", a.pos.len())));
    }
    let mut tm = match a.pos.first().cloned() {
        Some(v) => time_arg(vm, &v, "asctime")?,
        None => {
            let l = local(vm)?;
            let Some(tm) = l.zone.localtime(now_secs()) else { return Err(too_large(vm)) };
            ctm_of(&tm)
        }
    };
    check_tm(&mut tm)?;
    Ok(Value::str(&asctime_text(&tm)))
}

fn ctime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let t = when(vm, a, "ctime")?;
    let l = local(vm)?;
    let Some(tm) = l.zone.localtime(t) else { return Err(too_large(vm)) };
    Ok(Value::str(&asctime_text(&ctm_of(&tm))))
}

/// `mktime` of a broken-down time in the local zone; `None` when out of range.
fn local_mktime(l: &Local, tm: &CTm) -> Option<i64> {
    l.zone.mktime(tm.year, tm.mon + 1, tm.mday, tm.hour, tm.min, tm.sec, tm.isdst)
}

fn mktime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("time.mktime() takes no keyword arguments"));
    }
    if a.pos.len() != 1 {
        return Err(Exc::type_error(format!("time.mktime() takes exactly one argument ({} given)", a.pos.len())));
    }
    let tm = time_arg(vm, &a.pos[0].clone(), "mktime")?;
    let l = local(vm)?;
    match local_mktime(&l, &tm) {
        Some(t) => Ok(Value::Float(t as f64)),
        None => Err(Exc::overflow("mktime argument out of range")),
    }
}

fn strftime(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.kw.is_empty() {
        return Err(Exc::type_error("strftime() takes no keyword arguments"));
    }
    match a.pos.len() {
        0 => return Err(Exc::type_error("strftime() takes at least 1 argument (0 given)")),
        1 | 2 => {}
        n => return Err(Exc::type_error(format!("strftime() takes at most 2 arguments ({n} given)"))),
    }
    let fmt = match &a.pos[0] {
        Value::Str(s) => s.as_str().to_string(),
        other => {
            return Err(Exc::type_error(format!("strftime() argument 1 must be str, not {}", vm.type_name(other))))
        }
    };
    let l = local(vm)?;
    let mut tm = match a.pos.get(1).cloned() {
        Some(v) => {
            let mut tm = time_arg(vm, &v, "strftime")?;
            check_tm(&mut tm)?;
            tm
        }
        None => {
            let Some(tm) = l.zone.localtime(now_secs()) else { return Err(too_large(vm)) };
            ctm_of(&tm)
        }
    };
    tm.isdst = tm.isdst.clamp(-1, 1);
    if fmt.contains('\0') {
        return Err(Exc::value_error("embedded null character"));
    }
    let mk = |tm: &CTm| local_mktime(&l, tm).unwrap_or(-1);
    let env = super::strftime::Env { tzname: &super::tz::c_tzname, mktime: &mk };
    Ok(Value::str(&super::strftime::format(&fmt, &tm, &env)))
}

/// Sets the module's `timezone`, `altzone`, `daylight` and `tzname` from the zone.
fn set_zone_attrs(m: &Module, l: &Local) {
    super::set(m, "timezone", Value::Int(l.timezone));
    super::set(m, "altzone", Value::Int(l.altzone));
    super::set(m, "daylight", Value::Int(i64::from(l.daylight)));
    let names = vec![Value::str(&l.tzname.0), Value::str(&l.tzname.1)];
    super::set(m, "tzname", Value::tuple(names));
}

/// `tzset()`: reads `TZ` again (from `os.environ` once the script has imported `os`).
fn tzset(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if !a.pos.is_empty() || !a.kw.is_empty() {
        let n = a.pos.len() + a.kw.len();
        return Err(Exc::type_error(format!("time.tzset() takes no arguments ({n} given)")));
    }
    let l = Rc::new(Local::new(tz_setting(vm)?.as_deref()));
    LOCAL.with(|c| *c.borrow_mut() = Some(l.clone()));
    if let Some(Value::Module(m)) = vm.dict_get(&vm.modules.clone(), &Value::str("time"))? {
        set_zone_attrs(&m, &l);
    }
    Ok(Value::None)
}

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let m = super::native_module(
        "time",
        &[
            ("time", time),
            ("monotonic", monotonic),
            ("perf_counter", monotonic),
            ("process_time", monotonic),
            ("sleep", sleep),
            ("time_ns", time_ns),
            ("monotonic_ns", perf_counter_ns),
            ("perf_counter_ns", perf_counter_ns),
            ("gmtime", gmtime),
            ("localtime", localtime),
            ("mktime", mktime),
            ("strftime", strftime),
            ("asctime", asctime),
            ("ctime", ctime),
            ("tzset", tzset),
        ],
    );
    let class = struct_time_class(vm);
    super::set(&m, "struct_time", Value::Class(class));
    let l = local(vm)?;
    set_zone_attrs(&m, &l);
    Ok(m)
}
