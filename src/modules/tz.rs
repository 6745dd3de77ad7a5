//! Calendar arithmetic and local time for `time`, as the C library (glibc) does it: the
//! zone comes from `TZ` (a zoneinfo file or a POSIX rule string) or `/etc/localtime`,
//! read here from the TZif data directly; `mktime` inverts local time by probing, with
//! glibc's choices for times that a clock change skips or repeats.

use std::cell::Cell;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (`m` in 1..=12).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Years counted from March, so that the leap day ends a year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// True for leap years.
pub fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// A broken-down time, with Python's conventions: `mon` 1..=12, `wday` 0 for Monday,
/// `yday` from 1.
#[derive(Clone, Debug, Default)]
pub struct Tm {
    /// The year.
    pub year: i64,
    /// The month, 1..=12.
    pub mon: i64,
    /// The day of the month.
    pub mday: i64,
    /// The hour.
    pub hour: i64,
    /// The minute.
    pub min: i64,
    /// The second.
    pub sec: i64,
    /// The day of the week, 0 for Monday.
    pub wday: i64,
    /// The day of the year, from 1.
    pub yday: i64,
    /// 1 in daylight saving time, 0 not, -1 unknown.
    pub isdst: i64,
    /// The zone's abbreviation, when known.
    pub zone: Option<String>,
    /// The offset east of UTC in seconds, when known.
    pub gmtoff: Option<i64>,
}

/// The broken-down form of `secs` seconds after 1970-01-01 00:00 (no zone applied);
/// `None` when the year does not fit a C `int` after subtracting 1900, as for the C
/// library.
pub fn breakdown(secs: i64) -> Option<Tm> {
    let days = secs.div_euclid(DAY);
    let rem = secs.rem_euclid(DAY);
    let (year, mon, mday) = civil_from_days(days);
    if i32::try_from(year - 1900).is_err() {
        return None;
    }
    Some(Tm {
        year,
        mon,
        mday,
        hour: rem / 3600,
        min: rem / 60 % 60,
        sec: rem % 60,
        wday: (days + 3).rem_euclid(7),
        yday: days - days_from_civil(year, 1, 1) + 1,
        isdst: 0,
        zone: None,
        gmtoff: None,
    })
}

/// One kind of local time: its offset east of UTC, whether it is daylight saving time,
/// and its abbreviation.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalType {
    /// Seconds east of UTC.
    pub off: i64,
    /// Daylight saving time.
    pub dst: bool,
    /// `EST`, `CEST`, `+0330`.
    pub abbr: String,
}

/// When a POSIX rule's change happens in a year.
#[derive(Clone, Debug)]
enum RuleDate {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian1(i64),
    /// `n`: day 0..=365, counting February 29.
    Julian0(i64),
    /// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5: the last) of month `m`.
    MonthWeek(i64, i64, i64),
}

/// A change of a POSIX rule: the date and the local time of day (seconds, may be
/// negative or past a day).
#[derive(Clone, Debug)]
struct Change {
    date: RuleDate,
    secs: i64,
}

/// A POSIX TZ rule: standard time, and daylight saving time between two changes.
#[derive(Clone, Debug)]
struct Posix {
    std: LocalType,
    dst: Option<(LocalType, Change, Change)>,
    /// The C library's `tzname` under this rule (the daylight name is empty when the
    /// string stopped before the standard offset).
    names: (String, String),
}

impl Posix {
    /// The UTC time of `change` in `year`, the local time being `off` east of UTC,
    /// computed as glibc computes it: for the years up to 1970 the offset into the
    /// year is added to 1970-01-01, and the weekday of a month's first day comes from
    /// Zeller's congruence (in C's integer arithmetic).
    fn change_at(year: i64, change: &Change, off: i64) -> i64 {
        let jan1 = if year > 1970 { days_from_civil(year, 1, 1) } else { 0 };
        let month_start = |m: i64| days_from_civil(year, m, 1) - days_from_civil(year, 1, 1);
        let day = match change.date {
            RuleDate::Julian1(n) => jan1 + n - 1 + i64::from(n >= 60 && is_leap(year)),
            RuleDate::Julian0(n) => jan1 + n,
            RuleDate::MonthWeek(m, w, d) => {
                let month_len = if m == 12 { 31 } else { month_start(m + 1) - month_start(m) };
                let m1 = (m + 9) % 12 + 1;
                let yy0 = if m <= 2 { year - 1 } else { year };
                let (yy1, yy2) = (yy0 / 100, yy0 % 100);
                let mut dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7;
                if dow < 0 {
                    dow += 7;
                }
                let mut k = d - dow;
                if k < 0 {
                    k += 7;
                }
                for _ in 1..w {
                    if k + 7 >= month_len {
                        break;
                    }
                    k += 7;
                }
                jan1 + month_start(m) + k
            }
        };
        day * DAY + change.secs - off
    }

    /// The local time type at UTC time `t` (the year of the changes is `t`'s in UTC).
    fn at(&self, t: i64) -> &LocalType {
        let Some((dst, start, end)) = &self.dst else { return &self.std };
        let year = civil_from_days(t.div_euclid(DAY)).0;
        let begins = Self::change_at(year, start, self.std.off);
        let ends = Self::change_at(year, end, dst.off);
        let in_dst = if begins > ends { t < ends || t >= begins } else { t >= begins && t < ends };
        if in_dst {
            dst
        } else {
            &self.std
        }
    }
}

/// Reads `[+-]hh[:mm[:ss]]` (each part capped as glibc caps it); `None` without digits.
fn parse_hms(s: &mut &[u8], hour_cap: i64) -> Option<i64> {
    let mut parts = [0i64; 3];
    for (i, part) in parts.iter_mut().enumerate() {
        if i > 0 {
            if s.first() != Some(&b':') || !s.get(1).is_some_and(u8::is_ascii_digit) {
                break;
            }
            *s = &s[1..];
        }
        let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let v = std::str::from_utf8(&s[..n]).ok()?.parse::<i64>().unwrap_or(i64::MAX);
        *part = v.min(if i == 0 { hour_cap } else { 59 });
        *s = &s[n..];
    }
    Some(parts[0] * 3600 + parts[1] * 60 + parts[2])
}

/// Reads a zone abbreviation: letters, or anything alphanumeric or signed in `<...>`; at
/// least three characters.
fn parse_name(s: &mut &[u8]) -> Option<String> {
    let (name, rest) = if s.first() == Some(&b'<') {
        let n = s[1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'+' || **c == b'-').count();
        if s.get(1 + n) != Some(&b'>') {
            return None;
        }
        (&s[1..1 + n], &s[2 + n..])
    } else {
        let n = s.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        (&s[..n], &s[n..])
    };
    if name.len() < 3 {
        return None;
    }
    *s = rest;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// Reads an offset (`5`, `-3:30`): positive west of UTC, so the result is negated.
fn parse_offset(s: &mut &[u8]) -> Option<i64> {
    let negative = s.first() == Some(&b'-');
    if matches!(s.first(), Some(b'+' | b'-')) {
        *s = &s[1..];
    }
    let v = parse_hms(s, 24)?;
    Some(if negative { v } else { -v })
}

/// Reads one change of a rule (`M3.2.0/2`, `J60`, `300/-1:30`); `first` picks the US
/// default when the rule is missing.
fn parse_change(s: &mut &[u8], first: bool) -> Option<Change> {
    if s.first() == Some(&b',') {
        *s = &s[1..];
    }
    let number = |s: &mut &[u8]| -> Option<i64> {
        let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
        let v = std::str::from_utf8(&s[..n]).ok()?.parse::<i64>().ok()?;
        *s = &s[n..];
        Some(v)
    };
    let date = match s.first() {
        Some(b'J') => {
            *s = &s[1..];
            let d = number(s)?;
            if !(1..=365).contains(&d) {
                return None;
            }
            RuleDate::Julian1(d)
        }
        Some(c) if c.is_ascii_digit() => {
            let d = number(s)?;
            if d > 365 {
                return None;
            }
            RuleDate::Julian0(d)
        }
        Some(b'M') => {
            *s = &s[1..];
            let m = number(s)?;
            let dot = |s: &mut &[u8]| -> Option<i64> {
                if s.first() != Some(&b'.') {
                    return None;
                }
                *s = &s[1..];
                number(s)
            };
            let w = dot(s)?;
            let d = dot(s)?;
            if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
                return None;
            }
            RuleDate::MonthWeek(m, w, d)
        }
        // No rule: the United States' since 2007.
        None => {
            if first {
                RuleDate::MonthWeek(3, 2, 0)
            } else {
                RuleDate::MonthWeek(11, 1, 0)
            }
        }
        _ => return None,
    };
    let secs = match s.first() {
        Some(b'/') => {
            *s = &s[1..];
            let negative = s.first() == Some(&b'-');
            if negative {
                *s = &s[1..];
            }
            // glibc reads the hours as an `unsigned short`.
            let v = parse_hms(s, 65_535).unwrap_or(7200);
            if negative {
                -v
            } else {
                v
            }
        }
        None | Some(b',') => 7200,
        _ => return None,
    };
    Some(Change { date, secs })
}

/// Parses a POSIX TZ string (`EST5EDT,M3.2.0,M11.1.0`, `<+0330>-3:30`) as glibc does:
/// a name whose offset is missing stands for UTC under that name; `None` when not even
/// the name parses.
fn parse_posix(text: &str) -> Option<Posix> {
    let mut s = text.as_bytes();
    let std_name = parse_name(&mut s)?;
    let Some(std_off) = parse_offset(&mut s) else {
        let names = (std_name.clone(), String::new());
        return Some(Posix { std: LocalType { off: 0, dst: false, abbr: std_name }, dst: None, names });
    };
    let std = LocalType { off: std_off, dst: false, abbr: std_name.clone() };
    let alone = |std: LocalType| Some(Posix { names: (std.abbr.clone(), std.abbr.clone()), std, dst: None });
    if s.is_empty() {
        return alone(std);
    }
    let Some(dst_name) = parse_name(&mut s) else { return alone(std) };
    let dst_off = if matches!(s.first(), Some(c) if c.is_ascii_digit() || *c == b'+' || *c == b'-') {
        parse_offset(&mut s).unwrap_or(std_off + 3600)
    } else {
        std_off + 3600
    };
    let names = (std_name, dst_name.clone());
    let dst = LocalType { off: dst_off, dst: true, abbr: dst_name };
    // A bad rule leaves the defaults (glibc keeps what it parsed).
    let start = parse_change(&mut s, true);
    let end = start.as_ref().and_then(|_| parse_change(&mut s, false));
    let start = start.unwrap_or(Change { date: RuleDate::MonthWeek(3, 2, 0), secs: 7200 });
    let end = end.unwrap_or(Change { date: RuleDate::MonthWeek(11, 1, 0), secs: 7200 });
    Some(Posix { std, dst: Some((dst, start, end)), names })
}

/// A time zone: transitions between local time types, and a rule for the times after
/// the last one.
#[derive(Clone, Debug)]
pub struct Zone {
    transitions: Vec<i64>,
    /// The type each transition switches to.
    type_of: Vec<usize>,
    types: Vec<LocalType>,
    rule: Option<Posix>,
    /// Made from a TZ string alone (no zoneinfo file): the rule decides every time.
    posix_only: bool,
}

/// Reads a big-endian signed number of `N` bytes at `*pos`, advancing it.
fn read_be<const N: usize>(data: &[u8], pos: &mut usize) -> Option<i64> {
    let bytes: [u8; N] = data.get(*pos..*pos + N)?.try_into().ok()?;
    *pos += N;
    let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        v = (v << 8) | i64::from(b);
    }
    Some(v)
}

impl Zone {
    /// UTC, under the name `name`.
    pub fn utc(name: &str) -> Zone {
        let t = LocalType { off: 0, dst: false, abbr: name.into() };
        Zone { transitions: Vec::new(), type_of: Vec::new(), types: vec![t], rule: None, posix_only: false }
    }

    /// A zone from a POSIX TZ string; `None` when it does not parse.
    fn from_posix(text: &str) -> Option<Zone> {
        let p = parse_posix(text)?;
        let types = vec![p.std.clone()];
        Some(Zone { transitions: Vec::new(), type_of: Vec::new(), types, rule: Some(p), posix_only: true })
    }

    /// A zone from the contents of a TZif file (RFC 8536); `None` when malformed.
    pub fn from_tzif(data: &[u8]) -> Option<Zone> {
        if data.get(..4)? != b"TZif" {
            return None;
        }
        let version = *data.get(4)?;
        let header = |pos: usize| -> Option<[usize; 6]> {
            let mut p = pos + 20;
            let mut counts = [0usize; 6];
            for c in &mut counts {
                *c = usize::try_from(read_be::<4>(data, &mut p)?).ok()?;
            }
            Some(counts)
        };
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = header(0)?;
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        // Version 2 and later repeat the data with 64-bit times, then a POSIX rule.
        let (start, wide) = if version >= b'2' { (44 + v1_len, true) } else { (0, false) };
        if wide && data.get(start..start + 4)? != b"TZif" {
            return None;
        }
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = header(start)?;
        if typecnt == 0 {
            return None;
        }
        let mut pos = start + 44;
        let mut transitions = Vec::with_capacity(timecnt);
        for _ in 0..timecnt {
            transitions.push(if wide { read_be::<8>(data, &mut pos)? } else { read_be::<4>(data, &mut pos)? });
        }
        let mut type_of = Vec::with_capacity(timecnt);
        for _ in 0..timecnt {
            let i = usize::from(*data.get(pos)?);
            if i >= typecnt {
                return None;
            }
            type_of.push(i);
            pos += 1;
        }
        let mut raw = Vec::with_capacity(typecnt);
        for _ in 0..typecnt {
            let off = read_be::<4>(data, &mut pos)?;
            let dst = *data.get(pos)? != 0;
            let idx = usize::from(*data.get(pos + 1)?);
            pos += 2;
            raw.push((off, dst, idx));
        }
        let chars = data.get(pos..pos + charcnt)?;
        pos += charcnt + leap * if wide { 12 } else { 8 } + isstd + isut;
        let types = raw
            .into_iter()
            .map(|(off, dst, idx)| {
                let tail = chars.get(idx..).unwrap_or(&[]);
                let end = tail.iter().position(|c| *c == 0).unwrap_or(tail.len());
                LocalType { off, dst, abbr: String::from_utf8_lossy(&tail[..end]).into_owned() }
            })
            .collect();
        let rule = if wide && data.get(pos) == Some(&b'\n') {
            let rest = &data[pos + 1..];
            let end = rest.iter().position(|c| *c == b'\n').unwrap_or(rest.len());
            std::str::from_utf8(&rest[..end]).ok().filter(|s| !s.is_empty()).and_then(parse_posix)
        } else {
            None
        };
        Some(Zone { transitions, type_of, types, rule, posix_only: false })
    }

    /// The zone `TZ` names (`None`: unset), found as glibc finds it: a zoneinfo file, else
    /// a POSIX rule string; UTC when neither works.
    pub fn load(tz: Option<&str>) -> Zone {
        let spec = match tz {
            None => "/etc/localtime",
            Some("") => "Universal",
            Some(s) => s.strip_prefix(':').unwrap_or(s),
        };
        if !spec.is_empty() {
            let path = if spec.starts_with('/') {
                std::path::PathBuf::from(spec)
            } else {
                let dir = std::env::var_os("TZDIR").unwrap_or_else(|| "/usr/share/zoneinfo".into());
                std::path::Path::new(&dir).join(spec)
            };
            if let Some(z) = std::fs::read(path).ok().and_then(|d| Zone::from_tzif(&d)) {
                return z;
            }
        }
        if matches!(tz, None | Some("")) {
            return Zone::utc("UTC");
        }
        Zone::from_posix(spec).unwrap_or_else(|| Zone::utc("UTC"))
    }

    /// The local time type in effect at UTC time `t`.
    pub fn at(&self, t: i64) -> &LocalType {
        if let (true, Some(rule)) = (self.posix_only, &self.rule) {
            return rule.at(t);
        }
        match (self.transitions.first(), self.transitions.last()) {
            (Some(first), Some(last)) if t >= *first => {
                if t >= *last {
                    if let Some(rule) = &self.rule {
                        return rule.at(t);
                    }
                    return &self.types[self.type_of[self.type_of.len() - 1]];
                }
                let i = self.transitions.partition_point(|x| *x <= t) - 1;
                &self.types[self.type_of[i]]
            }
            // Before the first transition (or with none): the first standard-time type.
            _ => self.types.iter().find(|t| !t.dst).unwrap_or(&self.types[0]),
        }
    }

    /// The local time at UTC time `t`; `None` when its year is out of the C library's
    /// range.
    pub fn localtime(&self, t: i64) -> Option<Tm> {
        set_c_tzname(self.names_at(t));
        let lt = self.at(t);
        let mut tm = breakdown(t.checked_add(lt.off)?)?;
        tm.isdst = i64::from(lt.dst);
        tm.zone = Some(lt.abbr.clone());
        tm.gmtoff = Some(lt.off);
        Some(tm)
    }

    /// The C library's `tzname` after it converts `t` to local time: glibc sets it on
    /// every conversion, to the names of the type in effect and of the next type of the
    /// other kind (the names `%Z` falls back on).
    fn names_at(&self, t: i64) -> (String, String) {
        if let (true, Some(rule)) = (self.posix_only, &self.rule) {
            return rule.names.clone();
        }
        let abbr = |i: usize| Some(self.types[i].abbr.clone());
        let mut names: [Option<String>; 2] = [None, None];
        let n = self.transitions.len();
        if n == 0 || t < self.transitions[0] {
            let mut i = 0;
            while i < self.types.len() && self.types[i].dst {
                if names[1].is_none() {
                    names[1] = abbr(i);
                }
                i += 1;
            }
            if i == self.types.len() {
                i = 0;
            }
            names[0] = abbr(i);
            if names[1].is_none() {
                if let Some(j) = (i..self.types.len()).find(|j| self.types[*j].dst) {
                    names[1] = abbr(j);
                }
            }
        } else if let (true, Some(rule)) = (t >= self.transitions[n - 1], &self.rule) {
            return rule.names.clone();
        } else {
            // `i`: the first transition after `t`.
            let i = self.transitions.partition_point(|x| *x <= t);
            let ty = self.type_of[i - 1];
            names[usize::from(self.types[ty].dst)] = abbr(ty);
            for &ty in &self.type_of[i..] {
                let d = usize::from(self.types[ty].dst);
                if names[d].is_none() {
                    names[d] = abbr(ty);
                    if names[1 - d].is_some() {
                        break;
                    }
                }
            }
        }
        let [std, dst] = names;
        let std = std.or_else(|| dst.clone()).unwrap_or_default();
        let dst = dst.unwrap_or_else(|| std.clone());
        (std, dst)
    }

    /// `mktime`: the UTC time of a local broken-down time whose fields may be out of
    /// range (`mon` from 1); `isdst` says which of a repeated hour is meant (-1: either).
    /// `None` when the result is out of range.
    pub fn mktime(&self, year: i64, mon: i64, mday: i64, hour: i64, min: i64, sec: i64, isdst: i64) -> Option<i64> {
        let last = Cell::new(None);
        let result = self.mktime_probe(year, mon, mday, hour, min, sec, isdst, &last);
        if let Some(t) = last.get() {
            set_c_tzname(self.names_at(t));
        }
        result
    }

    /// The search of [`Zone::mktime`]; `last` records the last time converted.
    fn mktime_probe(
        &self,
        year: i64,
        mon: i64,
        mday: i64,
        hour: i64,
        min: i64,
        sec: i64,
        isdst: i64,
        last: &Cell<Option<i64>>,
    ) -> Option<i64> {
        // The requested local time as seconds on a clock without zone (months folded
        // into years, everything else added up); seconds beyond 0..=59 are added back
        // at the end, as glibc allows for leap seconds.
        let m0 = mon - 1;
        let year = year.checked_add(m0.div_euclid(12))?;
        let day = days_from_civil(year, m0.rem_euclid(12) + 1, 1).checked_add(mday - 1)?;
        let clamped = sec.clamp(0, 59);
        let want = day.checked_mul(DAY)?.checked_add(hour * 3600 + min * 60 + clamped)?;
        let convert = |t: i64| -> Option<(i64, i64)> {
            last.set(Some(t));
            let lt = self.at(t);
            breakdown(t.checked_add(lt.off)?)?;
            Some((lt.off, i64::from(lt.dst)))
        };
        let guess = LAST_OFFSET.with(Cell::get);
        let t0 = want.checked_add(guess)?;
        let (mut t, mut t1, mut t2) = (t0, t0, t0);
        let mut dst2 = false;
        let mut probes = 6;
        let mut found = None;
        loop {
            let (off, dst) = convert(t)?;
            let dt = want - (t + off);
            if dt == 0 {
                break;
            }
            // Oscillating between two times: the requested time falls in a gap; take
            // the one glibc takes.
            let dst_now = dst != 0;
            let take = if isdst < 0 { !dst2 || dst_now } else { (isdst != 0) != dst_now };
            if t == t1 && t != t2 && take {
                found = Some(t);
                break;
            }
            probes -= 1;
            if probes == 0 {
                return None;
            }
            t1 = t2;
            t2 = t;
            t = t.checked_add(dt)?;
            dst2 = dst_now;
        }
        let t = match found {
            Some(t) => t,
            None => {
                let (_, dst) = convert(t)?;
                if isdst >= 0 && (isdst != 0) != (dst != 0) {
                    // The wrong kind of time: use the offset of the nearest time of the
                    // requested kind, else assume a one-hour difference.
                    self.other_kind(t, want, isdst, last).or_else(|| {
                        let difference = i64::from(isdst == 0) - i64::from(dst == 0);
                        let t = t.checked_add(3600 * difference)?;
                        last.set(Some(t));
                        convert(t).map(|_| t)
                    })?
                } else {
                    t
                }
            }
        };
        LAST_OFFSET.with(|c| c.set(t - want));
        let t = t.checked_add(sec - clamped)?;
        convert(t)?;
        Some(t)
    }

    /// For `mktime`: probing outwards from `t` a week at a time, the offset of the first
    /// time whose daylight saving matches `isdst`, applied to `want`.
    fn other_kind(&self, t: i64, want: i64, isdst: i64, last: &Cell<Option<i64>>) -> Option<i64> {
        const STRIDE: i64 = 601_200;
        const DURATION_MAX: i64 = 457_243_209;
        let mut delta = STRIDE;
        while delta < DURATION_MAX / 2 + STRIDE {
            for direction in [-1, 1] {
                let Some(ot) = t.checked_add(delta * direction) else { continue };
                last.set(Some(ot));
                let lt = self.at(ot);
                breakdown(ot.checked_add(lt.off)?)?;
                if lt.dst == (isdst != 0) {
                    let gt = want - lt.off;
                    last.set(Some(gt));
                    let lt2 = self.at(gt);
                    if breakdown(gt.checked_add(lt2.off)?).is_some() {
                        return Some(gt);
                    }
                }
            }
            delta += STRIDE;
        }
        None
    }
}

/// The C library's `tzname` as its last conversion to local time left it.
pub fn c_tzname() -> (String, String) {
    C_TZNAME.with(|n| n.borrow().clone())
}

fn set_c_tzname(names: (String, String)) {
    C_TZNAME.with(|n| *n.borrow_mut() = names);
}

thread_local! {
    static C_TZNAME: std::cell::RefCell<(String, String)> =
        std::cell::RefCell::new(("UTC".to_string(), "UTC".to_string()));
    /// `mktime`'s first guess: the offset its previous call found (glibc keeps one too,
    /// and which of two times a skipped hour gives can depend on it).
    static LAST_OFFSET: Cell<i64> = const { Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468, -1, 0, 1, 59, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn posix_rules() {
        let z = Zone::from_posix("EST5EDT,M3.2.0,M11.1.0").expect("parses");
        // 2024-03-10 06:59:59 UTC is EST, a second later EDT.
        assert_eq!(z.at(1_710_053_999).abbr, "EST");
        assert_eq!(z.at(1_710_054_000).abbr, "EDT");
        assert_eq!(z.at(1_730_613_599).off, -14_400);
        assert_eq!(z.at(1_730_613_600).off, -18_000);
        let z = Zone::from_posix("<+0330>-3:30").expect("parses");
        assert_eq!(z.at(0).off, 12_600);
        assert_eq!(z.at(0).abbr, "+0330");
    }
}
