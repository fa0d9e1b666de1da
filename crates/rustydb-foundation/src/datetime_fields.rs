//! Calendar arithmetic on timestamps: adding intervals (months by the calendar, then days,
//! then time), subtracting timestamps, the fields `extract` and `date_part` read, `date_trunc`,
//! and `age`. All in UTC, the only time zone RustyDB reports, so a timestamptz is handled as a
//! timestamp. The rules, including the odd ones for BC decades and centuries, are PostgreSQL's
//! (`timestamp_pl_interval`, `timestamp_part`, `timestamp_trunc`, `timestamp_age`).

use crate::datetime::{self, USECS_PER_DAY};
use crate::interval::Interval;
use crate::{DbError, Numeric, Result, SqlState};

const USECS_PER_SEC: i64 = 1_000_000;
/// The Julian day number of 2000-01-01.
const JULIAN_2000: i64 = 2_451_545;

/// 22008 "timestamp out of range".
pub fn timestamp_out_of_range() -> DbError {
    DbError::sql(SqlState::DatetimeFieldOverflow, "timestamp out of range")
}

fn is_finite(ts: i64) -> bool {
    ts != datetime::TIMESTAMP_INFINITY && ts != datetime::TIMESTAMP_NEG_INFINITY
}

/// A timestamp broken into calendar fields (year 0 is 1 BC, as PostgreSQL's `tm_year`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// Year (astronomical: 0 is 1 BC).
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// Microseconds since midnight.
    pub time: i64,
    /// Days since 2000-01-01.
    pub days: i64,
}

/// The fields of a finite timestamp.
pub fn fields(ts: i64) -> Fields {
    let days = ts.div_euclid(USECS_PER_DAY);
    let (year, month, day) = datetime::civil_from_days(days + datetime::UNIX_TO_PG_DAYS);
    Fields { year, month, day, time: ts.rem_euclid(USECS_PER_DAY), days }
}

/// The timestamp of calendar fields; 22008 outside the timestamp range.
pub fn from_fields(year: i64, month: u32, day: u32, time: i64) -> Result<i64> {
    let days = datetime::days_from_civil(year, month, day) - datetime::UNIX_TO_PG_DAYS;
    let ts = days.checked_mul(USECS_PER_DAY).and_then(|d| d.checked_add(time)).ok_or_else(timestamp_out_of_range)?;
    datetime::check_timestamp(ts).map_err(|_| timestamp_out_of_range())
}

/// `ts + interval`: months by the calendar (the day clamped to the month's last), then days,
/// then time; infinite timestamps stay infinite.
pub fn add_interval(ts: i64, iv: &Interval) -> Result<i64> {
    if !is_finite(ts) {
        return Ok(ts);
    }
    let mut ts = ts;
    if iv.months != 0 {
        let f = fields(ts);
        let total = f.year * 12 + i64::from(f.month) - 1 + i64::from(iv.months);
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let day = f.day.min(datetime::days_in_month(year, month));
        ts = from_fields(year, month, day, f.time)?;
    }
    if iv.days != 0 {
        ts = ts.checked_add(i64::from(iv.days) * USECS_PER_DAY).ok_or_else(timestamp_out_of_range)?;
    }
    let ts = ts.checked_add(iv.micros).ok_or_else(timestamp_out_of_range)?;
    datetime::check_timestamp(ts).map_err(|_| timestamp_out_of_range())
}

/// `a - b` as an interval of days and time (`justify_hours` applied, as PostgreSQL does).
pub fn difference(a: i64, b: i64) -> Result<Interval> {
    if !is_finite(a) || !is_finite(b) {
        return Err(DbError::sql(SqlState::DatetimeFieldOverflow, "cannot subtract infinite timestamps"));
    }
    let micros = a.checked_sub(b).ok_or_else(crate::interval::out_of_range)?;
    Interval::new(0, 0, micros).justify_hours()
}

/// ISO 8601 day of week: Monday 1 .. Sunday 7.
fn iso_weekday(days: i64) -> i64 {
    // 2000-01-01 was a Saturday (6).
    (days + 5).rem_euclid(7) + 1
}

/// ISO 8601 year and week number of a day.
fn iso_week(days: i64) -> (i64, i64) {
    let thursday = days + 4 - iso_weekday(days);
    let (year, _, _) = datetime::civil_from_days(thursday + datetime::UNIX_TO_PG_DAYS);
    let jan1 = datetime::days_from_civil(year, 1, 1) - datetime::UNIX_TO_PG_DAYS;
    (year, (thursday - jan1) / 7 + 1)
}

fn decade(year: i64) -> i64 {
    if year > 0 { year / 10 } else { -((8 - (year - 1)) / 10) }
}

fn century(year: i64) -> i64 {
    if year > 0 { (year + 99) / 100 } else { -((99 - (year - 1)) / 100) }
}

fn millennium(year: i64) -> i64 {
    if year > 0 { (year + 999) / 1000 } else { -((999 - (year - 1)) / 1000) }
}

/// The name of a type for "unit ... not recognized for type ..." messages.
fn unrecognized(unit: &str, type_name: &str) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, format!("unit \"{unit}\" not recognized for type {type_name}"))
}

fn unsupported(unit: &str, type_name: &str) -> DbError {
    DbError::sql(SqlState::FeatureNotSupported, format!("unit \"{unit}\" not supported for type {type_name}"))
}

/// A field name as PostgreSQL normalizes it (`years` → `year`, `msec` → `millisecond`).
pub fn canonical_unit(unit: &str) -> Option<&'static str> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => "microseconds",
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => "milliseconds",
        "second" | "seconds" | "s" | "sec" | "secs" => "second",
        "minute" | "minutes" | "m" | "min" | "mins" => "minute",
        "hour" | "hours" | "h" | "hr" | "hrs" => "hour",
        "day" | "days" | "d" => "day",
        "week" | "weeks" | "w" => "week",
        "month" | "months" | "mon" | "mons" => "month",
        "quarter" | "qtr" => "quarter",
        "year" | "years" | "y" | "yr" | "yrs" => "year",
        "decade" | "decades" | "dec" | "decs" => "decade",
        "century" | "centuries" | "c" | "cent" => "century",
        "millennium" | "millennia" | "millenniums" | "mil" | "mils" => "millennium",
        "dow" => "dow",
        "isodow" => "isodow",
        "doy" => "doy",
        "isoyear" => "isoyear",
        "epoch" => "epoch",
        "julian" | "j" => "julian",
        "timezone" => "timezone",
        "timezone_h" => "timezone_h",
        "timezone_m" => "timezone_m",
        _ => return None,
    })
}

/// `micros / divisor` (a power of ten) with as many digits after the point as the divisor has
/// zeros: an exact division.
fn scaled(micros: impl Into<i128>, scale: i64) -> Result<Numeric> {
    let unit = Numeric::from_i64(scale);
    Numeric::from_i128(micros.into()).div_to_scale(&unit, scale.ilog10() as u16)
}

/// `extract(unit FROM timestamp)` as PostgreSQL 14+ computes it (a numeric); `None` is NULL
/// (a field an infinite timestamp has no value for). `with_zone` picks the type named in errors.
pub fn extract_timestamp(unit: &str, ts: i64, with_zone: bool) -> Result<Option<Numeric>> {
    let type_name = if with_zone { "timestamp with time zone" } else { "timestamp without time zone" };
    let canonical = canonical_unit(unit).ok_or_else(|| unrecognized(unit, type_name))?;
    if !is_finite(ts) {
        let infinite =
            matches!(canonical, "year" | "decade" | "century" | "millennium" | "julian" | "isoyear" | "epoch");
        return Ok(infinite.then(|| Numeric::infinity(ts < 0)));
    }
    let f = fields(ts);
    let int = |v: i64| Ok(Some(Numeric::from_i64(v)));
    let seconds_in_minute = f.time % (60 * USECS_PER_SEC);
    match canonical {
        "microseconds" => int(seconds_in_minute),
        "milliseconds" => Ok(Some(scaled(seconds_in_minute, 1000)?)),
        "second" => Ok(Some(scaled(seconds_in_minute, USECS_PER_SEC)?)),
        "minute" => int(f.time / (60 * USECS_PER_SEC) % 60),
        "hour" => int(f.time / (3600 * USECS_PER_SEC)),
        "timezone" | "timezone_h" | "timezone_m" if with_zone => int(0),
        "epoch" => {
            let unix = i128::from(ts) + i128::from(datetime::UNIX_TO_PG_DAYS * USECS_PER_DAY);
            Ok(Some(scaled(unix, USECS_PER_SEC)?))
        }
        "julian" => {
            let day = Numeric::from_i64(f.days + JULIAN_2000);
            let fraction = Numeric::from_i64(f.time).div(&Numeric::from_i64(USECS_PER_DAY))?;
            Ok(Some(day.add(&fraction)?))
        }
        other => match extract_date_field(other, f.days) {
            Some(v) => int(v),
            None => Err(unsupported(unit, type_name)),
        },
    }
}

/// The fields a date has (shared by dates and timestamps); `None` for time-of-day fields.
fn extract_date_field(canonical: &str, days: i64) -> Option<i64> {
    let (year, month, day) = datetime::civil_from_days(days + datetime::UNIX_TO_PG_DAYS);
    let doy = days - (datetime::days_from_civil(year, 1, 1) - datetime::UNIX_TO_PG_DAYS) + 1;
    Some(match canonical {
        "day" => i64::from(day),
        "month" => i64::from(month),
        "quarter" => (i64::from(month) - 1) / 3 + 1,
        "year" => {
            if year > 0 {
                year
            } else {
                year - 1
            }
        }
        "decade" => decade(year),
        "century" => century(year),
        "millennium" => millennium(year),
        "week" => iso_week(days).1,
        "isoyear" => {
            let y = iso_week(days).0;
            if y > 0 { y } else { y - 1 }
        }
        "dow" => iso_weekday(days) % 7,
        "isodow" => iso_weekday(days),
        "doy" => doy,
        _ => return None,
    })
}

/// `extract(unit FROM date)`: the date fields and `epoch` (whole seconds), `julian`;
/// time-of-day units are 0A000.
pub fn extract_date(unit: &str, date: i32) -> Result<Option<Numeric>> {
    let canonical = canonical_unit(unit).ok_or_else(|| unrecognized(unit, "date"))?;
    if date == datetime::DATE_INFINITY || date == datetime::DATE_NEG_INFINITY {
        let infinite =
            matches!(canonical, "year" | "decade" | "century" | "millennium" | "julian" | "isoyear" | "epoch");
        return Ok(infinite.then(|| Numeric::infinity(date < 0)));
    }
    let days = i64::from(date);
    match canonical {
        "epoch" => Ok(Some(Numeric::from_i64((days + datetime::UNIX_TO_PG_DAYS) * 86_400))),
        "julian" => Ok(Some(Numeric::from_i64(days + JULIAN_2000))),
        other => match extract_date_field(other, days) {
            Some(v) => Ok(Some(Numeric::from_i64(v))),
            None => Err(unsupported(unit, "date")),
        },
    }
}

/// `extract(unit FROM interval)`.
pub fn extract_interval(unit: &str, iv: &Interval) -> Result<Option<Numeric>> {
    let canonical = canonical_unit(unit).ok_or_else(|| unrecognized(unit, "interval"))?;
    let months = i64::from(iv.months);
    let years = months / 12;
    let int = |v: i64| Ok(Some(Numeric::from_i64(v)));
    let in_minute = iv.micros % (60 * USECS_PER_SEC);
    match canonical {
        "microseconds" => int(in_minute),
        "milliseconds" => Ok(Some(scaled(in_minute, 1000)?)),
        "second" => Ok(Some(scaled(in_minute, USECS_PER_SEC)?)),
        "minute" => int(iv.micros / (60 * USECS_PER_SEC) % 60),
        "hour" => int(iv.micros / (3600 * USECS_PER_SEC)),
        "day" => int(i64::from(iv.days)),
        "month" => int(months % 12),
        "quarter" => int((months % 12) / 3 + 1),
        "year" => int(years),
        "decade" => int(years / 10),
        "century" => int(years / 100),
        "millennium" => int(years / 1000),
        "epoch" => {
            // 365.25 days to a year, 30 to a month; times 4 to stay in integers.
            let quarter_days = 1461 * years + 120 * (months % 12) + 4 * i64::from(iv.days);
            let seconds = Numeric::from_i128(i128::from(quarter_days) * 21_600);
            Ok(Some(seconds.add(&scaled(iv.micros, USECS_PER_SEC)?)?))
        }
        _ => Err(unsupported(unit, "interval")),
    }
}

/// `date_trunc(unit, timestamp)`.
pub fn trunc(unit: &str, ts: i64, with_zone: bool) -> Result<i64> {
    let type_name = if with_zone { "timestamp with time zone" } else { "timestamp without time zone" };
    let canonical = canonical_unit(unit).ok_or_else(|| unrecognized(unit, type_name))?;
    if !is_finite(ts) {
        return Ok(ts);
    }
    let f = fields(ts);
    let day_start = f.days * USECS_PER_DAY;
    let on = |year: i64, month: u32| from_fields(year, month, 1, 0);
    let quarter_month = 3 * ((f.month - 1) / 3) + 1;
    match canonical {
        "microseconds" => Ok(ts),
        "milliseconds" => Ok(day_start + f.time - f.time % 1000),
        "second" => Ok(day_start + f.time - f.time % USECS_PER_SEC),
        "minute" => Ok(day_start + f.time - f.time % (60 * USECS_PER_SEC)),
        "hour" => Ok(day_start + f.time - f.time % (3600 * USECS_PER_SEC)),
        "day" => Ok(day_start),
        "week" => Ok((f.days - (iso_weekday(f.days) - 1)) * USECS_PER_DAY),
        "month" => on(f.year, f.month),
        "quarter" => on(f.year, quarter_month),
        "year" => on(f.year, 1),
        "decade" => on(if f.year > 0 { f.year / 10 * 10 } else { -((8 - (f.year - 1)) / 10) * 10 }, 1),
        "century" => {
            on(if f.year > 0 { (f.year + 99) / 100 * 100 - 99 } else { -((99 - (f.year - 1)) / 100) * 100 + 1 }, 1)
        }
        "millennium" => on(
            if f.year > 0 { (f.year + 999) / 1000 * 1000 - 999 } else { -((999 - (f.year - 1)) / 1000) * 1000 + 1 },
            1,
        ),
        _ => Err(unsupported(unit, type_name)),
    }
}

/// `age(a, b)`: the difference in years, months and days by the calendar, then time, as
/// PostgreSQL's `timestamp_age` computes it (borrowing a month's days from `b`'s month when
/// `a` is later, `a`'s when earlier).
pub fn age(a: i64, b: i64) -> Result<Interval> {
    if !is_finite(a) || !is_finite(b) {
        return Err(DbError::sql(SqlState::DatetimeFieldOverflow, "cannot subtract infinite timestamps"));
    }
    let (fa, fb) = (fields(a), fields(b));
    let mut time = fa.time - fb.time;
    let mut day = i64::from(fa.day) - i64::from(fb.day);
    let mut month = i64::from(fa.month) - i64::from(fb.month);
    let mut year = fa.year - fb.year;
    let flip = a < b;
    if flip {
        time = -time;
        day = -day;
        month = -month;
        year = -year;
    }
    while time < 0 {
        time += USECS_PER_DAY;
        day -= 1;
    }
    while day < 0 {
        let borrow_from = if flip { fa } else { fb };
        day += i64::from(datetime::days_in_month(borrow_from.year, borrow_from.month));
        month -= 1;
    }
    while month < 0 {
        month += 12;
        year -= 1;
    }
    if flip {
        time = -time;
        day = -day;
        month = -month;
        year = -year;
    }
    let months = i32::try_from(year * 12 + month).map_err(|_| crate::interval::out_of_range())?;
    let days = i32::try_from(day).map_err(|_| crate::interval::out_of_range())?;
    Ok(Interval::new(months, days, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        datetime::parse_timestamp(s, false).unwrap()
    }

    fn iv(s: &str) -> Interval {
        Interval::parse(s).unwrap()
    }

    fn shown(t: i64) -> String {
        datetime::format_timestamp(t, false)
    }

    #[test]
    fn calendar_arithmetic_matches_postgres() {
        assert_eq!(shown(add_interval(ts("2024-01-31 10:00"), &iv("1 month")).unwrap()), "2024-02-29 10:00:00");
        assert_eq!(shown(add_interval(ts("2024-03-31"), &iv("-1 mon 1 day")).unwrap()), "2024-03-01 00:00:00");
        assert_eq!(difference(ts("2024-03-01"), ts("2024-02-01 12:00")).unwrap().to_string(), "28 days 12:00:00");
        assert_eq!(age(ts("2024-03-01"), ts("2023-01-31 10:00")).unwrap().to_string(), "1 year 1 mon 14:00:00");
        assert_eq!(age(ts("2020-01-01"), ts("2024-03-15")).unwrap().to_string(), "-4 years -2 mons -14 days");
        assert!(add_interval(ts("294276-12-31"), &iv("1 day")).is_err());
    }

    #[test]
    fn fields_and_truncation_match_postgres() {
        let t = ts("2024-02-29 13:05:07.25");
        let get = |u: &str| extract_timestamp(u, t, false).unwrap().unwrap().to_string();
        assert_eq!(get("year"), "2024");
        assert_eq!(get("second"), "7.250000");
        assert_eq!(get("epoch"), "1709211907.250000");
        assert_eq!(get("milliseconds"), "7250.000");
        assert_eq!(get("microseconds"), "7250000");
        assert_eq!(
            extract_timestamp("julian", ts("2024-02-29 12:00"), false).unwrap().unwrap().to_string(),
            "2460370.50000000000000000000"
        );
        let d = datetime::parse_date("2024-12-30").unwrap();
        let dget = |u: &str| extract_date(u, d).unwrap().unwrap().to_string();
        assert_eq!(
            (dget("week"), dget("isoyear"), dget("dow"), dget("doy")),
            ("1".into(), "2025".into(), "1".into(), "365".into())
        );
        assert_eq!(extract_date("hour", d).unwrap_err().sqlstate().code(), "0A000");
        assert_eq!(extract_timestamp("foo", t, false).unwrap_err().sqlstate().code(), "22023");
        assert_eq!(extract_interval("epoch", &iv("1 year 1 mon")).unwrap().unwrap().to_string(), "34149600.000000");
        assert_eq!(extract_interval("hour", &iv("50 hours 30 minutes")).unwrap().unwrap().to_string(), "50");
        let tr = |u: &str, s: &str| shown(trunc(u, ts(s), false).unwrap());
        assert_eq!(tr("quarter", "2024-05-17 10:00"), "2024-04-01 00:00:00");
        assert_eq!(tr("decade", "2024-05-17"), "2020-01-01 00:00:00");
        assert_eq!(tr("century", "2024-05-17"), "2001-01-01 00:00:00");
        assert_eq!(tr("millennium", "2024-05-17"), "2001-01-01 00:00:00");
        assert_eq!(tr("milliseconds", "2024-05-17 10:00:00.123456"), "2024-05-17 10:00:00.123");
        assert_eq!(tr("week", "2024-02-29 13:05:07"), "2024-02-26 00:00:00");
    }
}
