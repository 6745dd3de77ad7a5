//! `time.strftime`'s formatting, as the C library (glibc, C locale) formats: the
//! conversions, the flags `_ - 0 ^ #`, field widths, the `E`/`O` modifiers, and an
//! unknown conversion copied as written.

/// A broken-down time as the C library sees it: month from 0, weekday 0 for Sunday, day
/// of the year from 0.
pub struct CTm {
    /// The year.
    pub year: i64,
    /// The month, 0..=11.
    pub mon: i64,
    /// The day of the month.
    pub mday: i64,
    /// The hour.
    pub hour: i64,
    /// The minute.
    pub min: i64,
    /// The second.
    pub sec: i64,
    /// The day of the week, 0 for Sunday.
    pub wday: i64,
    /// The day of the year, from 0.
    pub yday: i64,
    /// -1, 0 or 1.
    pub isdst: i64,
    /// The zone's abbreviation, when the time carries one.
    pub zone: Option<String>,
    /// Seconds east of UTC.
    pub gmtoff: i64,
}

/// What formatting needs besides the time: the zone names for `%Z` when the time has
/// none, and `mktime` for `%s`.
pub struct Env<'a> {
    /// Standard and daylight saving time names (the C library's `tzname`, which
    /// `mktime` for `%s` may change).
    pub tzname: &'a dyn Fn() -> (String, String),
    /// The UTC time of a local broken-down time, -1 on failure.
    pub mktime: &'a dyn Fn(&CTm) -> i64,
}

const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A directive's flags and width.
#[derive(Clone, Copy)]
struct Spec {
    /// `_`, `-` or `0` (the last given), or none.
    pad: Option<char>,
    /// `^`: upper case.
    upper: bool,
    /// `#`: swap case (upper for names, lower for `%p` and `%Z`).
    swap: bool,
    /// The field width.
    width: Option<usize>,
}

/// Output being built, with the size at which the C library's buffer would overflow.
struct Out {
    s: String,
    cap: usize,
    overflow: bool,
}

impl Out {
    /// Appends `text`, padded on the left to the spec's width (with zeros for the `0`
    /// flag, else spaces).
    fn add(&mut self, spec: &Spec, text: &str) {
        let n = text.chars().count();
        if let Some(w) = spec.width {
            if w >= self.cap {
                self.overflow = true;
                return;
            }
            let fill = if spec.pad == Some('0') { '0' } else { ' ' };
            self.s.extend(std::iter::repeat_n(fill, w.saturating_sub(n)));
        }
        self.s.push_str(text);
        if self.s.len() >= self.cap {
            self.overflow = true;
        }
    }

    /// Appends a number with at least `digits` digits (or the width, if larger):
    /// zero-padded after the sign by default, space-padded with `_`, unpadded (but
    /// still filled to the width with spaces) with `-`.
    fn number(&mut self, spec: &Spec, digits: usize, v: i64) {
        let digits = digits.max(spec.width.unwrap_or(0));
        if digits >= self.cap {
            self.overflow = true;
            return;
        }
        let body = v.unsigned_abs().to_string();
        let sign = if v < 0 { "-" } else { "" };
        let fill = digits.saturating_sub(body.len() + sign.len());
        let text = match spec.pad {
            Some('-') => return self.add(spec, &format!("{sign}{body}")),
            Some('_') => format!("{}{sign}{body}", " ".repeat(fill)),
            _ => format!("{sign}{}{body}", "0".repeat(fill)),
        };
        self.s.push_str(&text);
        if self.s.len() >= self.cap {
            self.overflow = true;
        }
    }
}

/// `%U`/`%W`/`%V` helper: the day of the year (from 0) at which the ISO week containing
/// day `yday` (weekday `wday`, 0 Sunday) starts, relative to the year's start.
fn iso_week_days(yday: i64, wday: i64) -> i64 {
    // 378 is a multiple of 7 large enough to keep the left operand of `%` positive.
    yday - (yday - wday + 4 + 378).rem_euclid(7) + 3
}

/// Formats `tm` by `fmt`. An empty string stands for the C library's failure (a result
/// too long for CPython's buffer), as CPython returns then.
pub fn format(fmt: &str, tm: &CTm, env: &Env) -> String {
    // CPython retries with buffers of 1024, 2048, ... bytes up to 256 times the format's
    // length and gives up with an empty string.
    let mut cap = 1024;
    while cap < 256 * fmt.len() {
        cap *= 2;
    }
    let mut out = Out { s: String::new(), cap, overflow: false };
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() && !out.overflow {
        if chars[i] != '%' {
            out.s.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut spec = Spec { pad: None, upper: false, swap: false, width: None };
        loop {
            match chars.get(i) {
                Some(c @ ('_' | '-' | '0')) => spec.pad = Some(*c),
                Some('^') => spec.upper = true,
                Some('#') => spec.swap = true,
                _ => break,
            }
            i += 1;
        }
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            spec.width = Some(spec.width.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
            i += 1;
        }
        let modifier = match chars.get(i) {
            Some(c @ ('E' | 'O')) => {
                i += 1;
                Some(*c)
            }
            _ => None,
        };
        let Some(&conv) = chars.get(i) else {
            // A directive cut off by the end of the format is copied as written.
            let text: String = chars[start..].iter().collect();
            out.add(&spec, &text);
            break;
        };
        i += 1;
        // An unknown directive is copied from its last `%` (so `%E%` gives `%`).
        let from = if conv == '%' { i - 1 } else { start };
        let raw: String = chars[from..i].iter().collect();
        if !convert(&mut out, conv, modifier, &spec, tm, env) {
            let text = if spec.upper { raw.to_uppercase() } else { raw };
            out.add(&spec, &text);
        }
    }
    if out.overflow || out.s.len() >= cap {
        return String::new();
    }
    out.s
}

/// Appends one conversion; false for an unknown one (or a modifier it does not take).
fn convert(out: &mut Out, conv: char, modifier: Option<char>, spec: &Spec, tm: &CTm, env: &Env) -> bool {
    let e = modifier == Some('E');
    let o = modifier == Some('O');
    let name = |out: &mut Out, full: &str, short: bool| {
        let text = if short { &full[..3] } else { full };
        let text = if spec.upper || spec.swap { text.to_uppercase() } else { text.to_string() };
        out.add(spec, &text);
    };
    let sub = |out: &mut Out, f: &str| {
        let inner = format(f, tm, env);
        let inner = if spec.upper { inner.to_uppercase() } else { inner };
        out.add(spec, &inner);
    };
    let space_padded = Spec { pad: Some(spec.pad.unwrap_or('_')), ..*spec };
    let hour12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
    let year = tm.year;
    match conv {
        'a' | 'A' if modifier.is_none() => name(out, DAYS[tm.wday.rem_euclid(7) as usize], conv == 'a'),
        'b' | 'h' | 'B' if !e => name(out, MONTHS[tm.mon.rem_euclid(12) as usize], conv != 'B'),
        'c' if !o => sub(out, "%a %b %e %H:%M:%S %Y"),
        'C' if !o => out.number(spec, 1, year.div_euclid(100)),
        'd' if !e => out.number(spec, 2, tm.mday),
        'e' if !e => out.number(&space_padded, 2, tm.mday),
        'D' if modifier.is_none() => sub(out, "%m/%d/%y"),
        'F' if modifier.is_none() => sub(out, "%Y-%m-%d"),
        'H' if !e => out.number(spec, 2, tm.hour),
        'I' if !e => out.number(spec, 2, hour12),
        'k' if !e => out.number(&space_padded, 2, tm.hour),
        'l' if !e => out.number(&space_padded, 2, hour12),
        'j' if !e => out.number(spec, 3, tm.yday + 1),
        'm' if !e => out.number(spec, 2, tm.mon + 1),
        'M' if !e => out.number(spec, 2, tm.min),
        'S' if !e => out.number(spec, 2, tm.sec),
        'n' => out.add(spec, "\n"),
        't' => out.add(spec, "\t"),
        '%' if modifier.is_none() => out.add(spec, "%"),
        'p' | 'P' => {
            let text = if tm.hour >= 12 { "PM" } else { "AM" };
            let lower = conv == 'P' || spec.swap;
            let text = if lower { text.to_lowercase() } else { text.to_string() };
            out.add(spec, &text);
        }
        'r' => sub(out, "%I:%M:%S %p"),
        'R' => sub(out, "%H:%M"),
        'T' => sub(out, "%H:%M:%S"),
        's' => out.add(spec, &(env.mktime)(tm).to_string()),
        'u' if !e => out.number(spec, 1, (tm.wday - 1).rem_euclid(7) + 1),
        'w' if !e => out.number(spec, 1, tm.wday),
        'U' if !e => out.number(spec, 2, (tm.yday - tm.wday + 7).div_euclid(7)),
        'W' if !e => out.number(spec, 2, (tm.yday - (tm.wday - 1).rem_euclid(7) + 7).div_euclid(7)),
        'V' | 'G' | 'g' if !e => {
            // The year is a C `int` here, and wraps as one.
            let mut y = i64::from(year as i32);
            let mut days = iso_week_days(tm.yday, tm.wday);
            if days < 0 {
                y = i64::from((y as i32).wrapping_sub(1));
                days = iso_week_days(tm.yday + 365 + i64::from(super::tz::is_leap(y)), tm.wday);
            } else {
                let d = iso_week_days(tm.yday - 365 - i64::from(super::tz::is_leap(y)), tm.wday);
                if d >= 0 {
                    y = i64::from((y as i32).wrapping_add(1));
                    days = d;
                }
            }
            match conv {
                'V' => out.number(spec, 2, days / 7 + 1),
                'G' => out.number(spec, 1, y),
                _ => out.number(spec, 2, (y % 100 + 100) % 100),
            }
        }
        'x' if !o => sub(out, "%m/%d/%y"),
        'X' if !o => sub(out, "%H:%M:%S"),
        'y' => out.number(spec, 2, year.rem_euclid(100)),
        'Y' if !o => out.number(spec, 1, year),
        'z' => {
            if tm.isdst < 0 {
                return true;
            }
            let diff = tm.gmtoff;
            out.add(spec, if diff < 0 { "-" } else { "+" });
            let minutes = (diff.unsigned_abs() / 60) as i64;
            out.number(spec, 4, minutes / 60 * 100 + minutes % 60);
        }
        'Z' => {
            let zone = match &tm.zone {
                Some(z) if !z.is_empty() => z.clone(),
                _ if tm.isdst >= 0 => {
                    let (std, dst) = (env.tzname)();
                    if tm.isdst == 0 {
                        std
                    } else {
                        dst
                    }
                }
                _ => String::new(),
            };
            let zone = if spec.swap {
                zone.to_lowercase()
            } else if spec.upper {
                zone.to_uppercase()
            } else {
                zone
            };
            out.add(spec, &zone);
        }
        _ => return false,
    }
    true
}
