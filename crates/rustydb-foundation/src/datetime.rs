//! Dates and timestamps as PostgreSQL keeps them: a `date` is a count of days and a
//! `timestamp`/`timestamptz` a count of microseconds, both from 2000-01-01 (00:00 UTC for
//! `timestamptz`), with the extreme values standing for `-infinity` and `infinity`. Keeping
//! PostgreSQL's representation makes the binary wire format a plain copy and comparison a
//! plain integer comparison.
//!
//! The text forms are ISO 8601 as PostgreSQL prints them with `DateStyle = ISO, MDY` and
//! `TimeZone = UTC` (the only settings RustyDB reports): `2024-02-29`, `2024-02-29 13:05:00.25`,
//! `2024-02-29 13:05:00.25+00`. Input accepts the ISO forms (`T` or space between date and
//! time, an optional zone `Z`, `UTC`, `+hh`, `+hh:mm`, `+hhmm`) and the special words
//! `epoch`, `infinity`, `-infinity`, `now`, `today`, `tomorrow` and `yesterday`.

use crate::{DbError, Result, SqlState};

/// Microseconds in a day.
pub const USECS_PER_DAY: i64 = 86_400_000_000;
/// Days from 1970-01-01 (the Unix epoch) to 2000-01-01 (PostgreSQL's).
pub(crate) const UNIX_TO_PG_DAYS: i64 = 10_957;
/// `date 'infinity'` and `date '-infinity'`.
pub const DATE_INFINITY: i32 = i32::MAX;
/// See [`DATE_INFINITY`].
pub const DATE_NEG_INFINITY: i32 = i32::MIN;
/// `timestamp 'infinity'` and `timestamp '-infinity'`.
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;
/// See [`TIMESTAMP_INFINITY`].
pub const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;
/// The first valid timestamp: 4714-11-24 BC 00:00 (the start of the Julian day count).
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
/// The first timestamp past the last valid one: 294277-01-01 00:00.
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (year 0 is 1 BC).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The date (days since 2000-01-01) of a proleptic Gregorian calendar date, `year`
/// astronomical (0 is 1 BC); `None` outside the date range (4714-11-24 BC to 5874897 AD).
pub fn date_of(year: i64, month: u32, day: u32) -> Option<i32> {
    if !(-4713..=5_874_897).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day) - UNIX_TO_PG_DAYS;
    // The first date is the start of the Julian day count, 4714-11-24 BC.
    let first = days_from_civil(-4713, 11, 24) - UNIX_TO_PG_DAYS;
    i32::try_from(days).ok().filter(|d| i64::from(*d) >= first && *d != DATE_INFINITY)
}

/// `ts` if it lies in the timestamp range (4714-11-24 BC to 294276 AD); 22008 otherwise.
pub fn check_timestamp(ts: i64) -> Result<i64> {
    if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
        Ok(ts)
    } else {
        Err(DbError::sql(SqlState::DatetimeFieldOverflow, "timestamp out of range"))
    }
}

/// The current time as microseconds since 2000-01-01 UTC.
pub fn now() -> i64 {
    let since_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    since_unix.as_micros() as i64 - UNIX_TO_PG_DAYS * USECS_PER_DAY
}

/// The date part of a timestamp (days since 2000-01-01), infinities kept.
pub fn timestamp_date(ts: i64) -> i32 {
    match ts {
        TIMESTAMP_INFINITY => DATE_INFINITY,
        TIMESTAMP_NEG_INFINITY => DATE_NEG_INFINITY,
        ts => ts.div_euclid(USECS_PER_DAY) as i32,
    }
}

/// Midnight of a date as a timestamp, infinities kept; 22008 past the timestamp range.
pub fn date_timestamp(date: i32) -> Result<i64> {
    match date {
        DATE_INFINITY => Ok(TIMESTAMP_INFINITY),
        DATE_NEG_INFINITY => Ok(TIMESTAMP_NEG_INFINITY),
        d => {
            let ts = i64::from(d) * USECS_PER_DAY;
            if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
                Ok(ts)
            } else {
                Err(DbError::sql(SqlState::DatetimeFieldOverflow, "date out of range for timestamp"))
            }
        }
    }
}

/// The parts of an input string.
struct Parsed {
    days: i64,
    micros: i64,
    /// The zone's offset east of UTC, in seconds, if one was written.
    offset: Option<i64>,
    /// Whether a time of day was written.
    has_time: bool,
}

/// What `input` means as a date (`date` input function).
pub fn parse_date(input: &str) -> Result<i32> {
    let syntax = || syntax_error("date", input);
    match special(input, "date")? {
        Some(Special::Infinity) => return Ok(DATE_INFINITY),
        Some(Special::NegInfinity) => return Ok(DATE_NEG_INFINITY),
        Some(Special::Instant(ts)) => return Ok(timestamp_date(ts)),
        None => {}
    }
    // A time after the date is accepted and dropped, as PostgreSQL's date_in does.
    let parsed = parse_parts(input, "date")?;
    i32::try_from(parsed.days).map_err(|_| syntax())
}

/// What `input` means as a `timestamp` (`with_zone`: `timestamptz`, whose written zone is
/// applied; a `timestamp` ignores one, as PostgreSQL does).
pub fn parse_timestamp(input: &str, with_zone: bool) -> Result<i64> {
    let name = if with_zone { "timestamp with time zone" } else { "timestamp" };
    match special(input, name)? {
        Some(Special::Infinity) => return Ok(TIMESTAMP_INFINITY),
        Some(Special::NegInfinity) => return Ok(TIMESTAMP_NEG_INFINITY),
        Some(Special::Instant(ts)) => return Ok(ts),
        None => {}
    }
    let parsed = parse_parts(input, name)?;
    let mut ts = parsed.days * USECS_PER_DAY + parsed.micros;
    if with_zone && let Some(offset) = parsed.offset {
        ts -= offset * 1_000_000;
    }
    if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
        return Err(DbError::sql(SqlState::DatetimeFieldOverflow, format!("timestamp out of range: \"{input}\"")));
    }
    Ok(ts)
}

enum Special {
    Infinity,
    NegInfinity,
    /// A moment (microseconds since 2000-01-01).
    Instant(i64),
}

fn special(input: &str, _type_name: &str) -> Result<Option<Special>> {
    let word = input.trim().to_ascii_lowercase();
    let today = now().div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
    Ok(Some(match word.as_str() {
        "infinity" | "+infinity" => Special::Infinity,
        "-infinity" => Special::NegInfinity,
        "epoch" => Special::Instant(-UNIX_TO_PG_DAYS * USECS_PER_DAY),
        "now" => Special::Instant(now()),
        "today" => Special::Instant(today),
        "tomorrow" => Special::Instant(today + USECS_PER_DAY),
        "yesterday" => Special::Instant(today - USECS_PER_DAY),
        _ => return Ok(None),
    }))
}

fn syntax_error(type_name: &str, input: &str) -> DbError {
    DbError::sql(SqlState::InvalidDatetimeFormat, format!("invalid input syntax for type {type_name}: \"{input}\""))
}

fn overflow(input: &str) -> DbError {
    DbError::sql(SqlState::DatetimeFieldOverflow, format!("date/time field value out of range: \"{input}\""))
}

/// Reads digits from the front of `s`: the value and how many there were.
fn digits(s: &[u8]) -> (i64, usize) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count().min(18);
    let value = s[..n].iter().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    (value, n)
}

fn parse_parts(input: &str, type_name: &str) -> Result<Parsed> {
    let syntax = || syntax_error(type_name, input);
    let text = input.trim();
    let (text, bc) = match text.len().checked_sub(3).and_then(|at| text.get(at..)) {
        Some(tail) if tail.eq_ignore_ascii_case(" bc") => (&text[..text.len() - 3], true),
        _ => (text, false),
    };
    let s = text.as_bytes();
    // The date: Y-M-D with a year of at least one digit.
    let (year, n) = digits(s);
    if n == 0 || s.get(n) != Some(&b'-') {
        return Err(syntax());
    }
    let mut at = n + 1;
    let (month, n) = digits(&s[at..]);
    if n == 0 || n > 2 || s.get(at + n) != Some(&b'-') {
        return Err(syntax());
    }
    at += n + 1;
    let (day, n) = digits(&s[at..]);
    if n == 0 || n > 2 {
        return Err(syntax());
    }
    at += n;
    let year = if bc { 1 - year } else { year };
    if !(1..=12).contains(&month) || day < 1 || day > i64::from(days_in_month(year, month as u32)) || year == 0 && !bc {
        return Err(overflow(input));
    }
    let days = days_from_civil(year, month as u32, day as u32) - UNIX_TO_PG_DAYS;
    let mut parsed = Parsed { days, micros: 0, offset: None, has_time: false };
    // The time: [T or spaces] H:M[:S[.frac]].
    let mut rest = &s[at..];
    if let Some(r) = rest.strip_prefix(b"T").or_else(|| rest.strip_prefix(b"t")) {
        rest = r;
    } else {
        let trimmed = rest.trim_ascii_start();
        if trimmed.first().is_some_and(u8::is_ascii_digit) {
            rest = trimmed;
        }
    }
    if rest.first().is_some_and(u8::is_ascii_digit) {
        let (hour, n) = digits(rest);
        if n > 2 || rest.get(n) != Some(&b':') {
            return Err(syntax());
        }
        rest = &rest[n + 1..];
        let (minute, n) = digits(rest);
        if n == 0 || n > 2 {
            return Err(syntax());
        }
        rest = &rest[n..];
        let (mut second, mut micros) = (0, 0);
        if let Some(r) = rest.strip_prefix(b":") {
            let (sec, n) = digits(r);
            if n == 0 || n > 2 {
                return Err(syntax());
            }
            second = sec;
            rest = &r[n..];
            if let Some(r) = rest.strip_prefix(b".") {
                let n = r.iter().take_while(|b| b.is_ascii_digit()).count();
                // Round to microseconds, as PostgreSQL does.
                let mut frac: i64 = 0;
                for (i, b) in r[..n].iter().enumerate().take(7) {
                    frac += i64::from(b - b'0') * 10i64.pow(6 - i as u32);
                }
                micros = (frac + 5) / 10;
                rest = &r[n..];
            }
        }
        let time_us = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros;
        if hour > 24 || minute > 59 || second > 60 || (hour == 24 && time_us > 24 * 3_600_000_000) {
            return Err(overflow(input));
        }
        parsed.micros = time_us;
        parsed.has_time = true;
    }
    // The zone.
    let rest = rest.trim_ascii();
    if !rest.is_empty() {
        parsed.offset = Some(zone_offset(rest).ok_or_else(syntax)?);
    }
    Ok(parsed)
}

/// Seconds east of UTC of a written zone: `Z`, `UTC`, `GMT`, `+hh`, `+hh:mm`, `+hhmm`, `-...`.
fn zone_offset(zone: &[u8]) -> Option<i64> {
    let upper = zone.to_ascii_uppercase();
    if matches!(upper.as_slice(), b"Z" | b"UTC" | b"GMT" | b"ZULU") {
        return Some(0);
    }
    let (sign, rest) = match zone.first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest {
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(*h1, *h2)?, two(*m1, *m2)?),
        [h1, h2] => (two(*h1, *h2)?, 0),
        [h] if h.is_ascii_digit() => (i64::from(h - b'0'), 0),
        _ => return None,
    };
    (hours <= 15 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

fn two(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

fn write_date(days_since_2000: i64, out: &mut String) -> bool {
    let (year, month, day) = civil_from_days(days_since_2000 + UNIX_TO_PG_DAYS);
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    out.push_str(&format!("{shown:04}-{month:02}-{day:02}"));
    bc
}

/// A date's text form (`date_out`).
pub fn format_date(date: i32) -> String {
    match date {
        DATE_INFINITY => "infinity".into(),
        DATE_NEG_INFINITY => "-infinity".into(),
        d => {
            let mut out = String::with_capacity(13);
            if write_date(i64::from(d), &mut out) {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// A timestamp's text form (`timestamp_out`; with `with_zone`, `timestamptz_out` in UTC).
pub fn format_timestamp(ts: i64, with_zone: bool) -> String {
    match ts {
        TIMESTAMP_INFINITY => return "infinity".into(),
        TIMESTAMP_NEG_INFINITY => return "-infinity".into(),
        _ => {}
    }
    let mut out = String::with_capacity(32);
    let bc = write_date(ts.div_euclid(USECS_PER_DAY), &mut out);
    let time = ts.rem_euclid(USECS_PER_DAY);
    let (secs, micros) = (time / 1_000_000, time % 1_000_000);
    out.push_str(&format!(" {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60));
    if micros != 0 {
        let frac = format!("{micros:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    if with_zone {
        out.push_str("+00");
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_round_trips_and_matches_postgres_epochs() {
        for days in [-800_000, -1, 0, 1, 59, 60, 365, 10_957, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date("2000-01-01").unwrap(), 0);
        assert_eq!(parse_date("1970-01-01").unwrap(), -10_957);
        assert_eq!(parse_timestamp("epoch", false).unwrap(), -10_957 * USECS_PER_DAY);
    }

    #[test]
    fn text_forms_are_postgres_iso_output() {
        let ts = parse_timestamp("2024-02-29 13:05:00.25", false).unwrap();
        assert_eq!(format_timestamp(ts, false), "2024-02-29 13:05:00.25");
        assert_eq!(format_timestamp(ts, true), "2024-02-29 13:05:00.25+00");
        let tz = parse_timestamp("2024-02-29T13:05:00+02:30", true).unwrap();
        assert_eq!(format_timestamp(tz, true), "2024-02-29 10:35:00+00");
        assert_eq!(
            parse_timestamp("2024-02-29 13:05:00+02", false).unwrap(),
            parse_timestamp("2024-02-29 13:05", false).unwrap()
        );
        assert_eq!(
            format_timestamp(parse_timestamp("1999-12-31 23:59:59.9999999", false).unwrap(), false),
            "2000-01-01 00:00:00"
        );
        assert_eq!(format_date(parse_date("0044-03-15 BC").unwrap()), "0044-03-15 BC");
        assert_eq!(format_date(parse_date(" 2024-1-5 ").unwrap()), "2024-01-05");
        assert_eq!(format_date(parse_date("2024-01-05 10:00").unwrap()), "2024-01-05");
        assert_eq!(format_timestamp(parse_timestamp("2024-01-05", false).unwrap(), false), "2024-01-05 00:00:00");
        assert_eq!(format_timestamp(parse_timestamp("-infinity", true).unwrap(), true), "-infinity");
        assert_eq!(format_date(DATE_INFINITY), "infinity");
    }

    #[test]
    fn bad_input_is_22007_and_out_of_range_fields_22008() {
        for bad in ["", "2024", "2024-01", "x2024-01-01", "2024-01-01 10", "2024-01-01 10:00 +99", "2024-01-01 nope"] {
            assert_eq!(parse_timestamp(bad, false).unwrap_err().sqlstate(), SqlState::InvalidDatetimeFormat, "{bad}");
        }
        for bad in ["2023-02-29", "2024-13-01", "2024-00-10", "2024-01-01 25:00", "2024-01-01 10:60"] {
            assert_eq!(parse_timestamp(bad, false).unwrap_err().sqlstate(), SqlState::DatetimeFieldOverflow, "{bad}");
        }
    }
}
