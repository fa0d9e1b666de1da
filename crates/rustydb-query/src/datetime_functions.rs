//! PostgreSQL's date/time constructors and helpers beyond `extract`/`date_trunc`/`age` (which
//! live in [`crate::functions`]): `make_date`, `make_time`, `make_timestamp`,
//! `make_timestamptz`, `make_interval` (also with named arguments), `isfinite`, `date_bin`
//! and `timeofday`. Errors are PostgreSQL 15's (22008 for a field out of range).

use crate::functions::int;
use rustydb_foundation::datetime::{self, USECS_PER_DAY};
use rustydb_foundation::datetime_fields as dt;
use rustydb_foundation::{DataType, DbError, Interval, Result, SqlState, Value};

/// One of the functions of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFn {
    /// `make_date(year, month, day)`
    MakeDate,
    /// `make_time(hour, min, sec)`
    MakeTime,
    /// `make_timestamp(year, month, day, hour, min, sec)`
    MakeTimestamp,
    /// `make_timestamptz(year, month, day, hour, min, sec)` (UTC)
    MakeTimestampTz,
    /// `make_interval(years, months, weeks, days, hours, mins, secs)`
    MakeInterval,
    /// `isfinite(date | timestamp | timestamptz | interval)`
    IsFinite,
    /// `date_bin(stride, source, origin)`
    DateBin,
    /// `timeofday()`: the current time as text.
    TimeOfDay,
}

impl TimeFn {
    /// The SQL name (for EXPLAIN).
    pub fn name(self) -> &'static str {
        match self {
            TimeFn::MakeDate => "make_date",
            TimeFn::MakeTime => "make_time",
            TimeFn::MakeTimestamp => "make_timestamp",
            TimeFn::MakeTimestampTz => "make_timestamptz",
            TimeFn::MakeInterval => "make_interval",
            TimeFn::IsFinite => "isfinite",
            TimeFn::DateBin => "date_bin",
            TimeFn::TimeOfDay => "timeofday",
        }
    }
}

/// The parameter names of `make_interval`, in order (all default to 0).
pub const MAKE_INTERVAL_PARAMETERS: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];

/// The function `name` of arguments `types`: the function, the type each argument is cast
/// to, and the result type; `None` if none matches.
pub fn signature(name: &str, types: &[DataType]) -> Option<(TimeFn, Vec<DataType>, DataType)> {
    use DataType as T;
    let int = |t: &DataType| t.is_integer() || *t == T::Unknown;
    let num = |t: &DataType| t.is_numeric() || *t == T::Unknown;
    let i4 = T::Int4;
    Some(match (name, types) {
        ("make_date", [y, m, d]) if int(y) && int(m) && int(d) => (TimeFn::MakeDate, vec![i4; 3], T::Date),
        ("make_time", [h, m, s]) if int(h) && int(m) && num(s) => (TimeFn::MakeTime, vec![i4, i4, T::Float8], T::Time),
        ("make_timestamp" | "make_timestamptz", [a, b, c, d, e, f])
            if [a, b, c, d, e].iter().all(|t| int(t)) && num(f) =>
        {
            let (func, ty) = if name == "make_timestamp" {
                (TimeFn::MakeTimestamp, T::Timestamp)
            } else {
                (TimeFn::MakeTimestampTz, T::TimestampTz)
            };
            (func, vec![i4, i4, i4, i4, i4, T::Float8], ty)
        }
        ("make_interval", args) if args.len() <= 7 => {
            let ok = args.iter().enumerate().all(|(i, t)| if i == 6 { num(t) } else { int(t) });
            if !ok {
                return None;
            }
            let casts = (0..args.len()).map(|i| if i == 6 { T::Float8 } else { i4 }).collect();
            (TimeFn::MakeInterval, casts, T::Interval)
        }
        ("isfinite", [t @ (T::Date | T::Timestamp | T::TimestampTz | T::Interval)]) => {
            (TimeFn::IsFinite, vec![*t], T::Bool)
        }
        ("date_bin", [T::Interval | T::Unknown, t @ (T::Timestamp | T::TimestampTz), _]) => {
            (TimeFn::DateBin, vec![T::Interval, *t, *t], *t)
        }
        // An untyped or date source is read as timestamptz, the preferred type of its category.
        ("date_bin", [T::Interval | T::Unknown, T::Unknown | T::Date, _]) => {
            (TimeFn::DateBin, vec![T::Interval, T::TimestampTz, T::TimestampTz], T::TimestampTz)
        }
        ("timeofday", []) => (TimeFn::TimeOfDay, vec![], T::Text),
        _ => return None,
    })
}

fn date_out_of_range(y: i64, m: i64, d: i64) -> DbError {
    DbError::sql(SqlState::DatetimeFieldOverflow, format!("date field value out of range: {y}-{m:02}-{d:02}"))
}

/// The days since 2000-01-01 of a calendar date (a negative year is BC: -44 is 44 BC).
fn make_days(y: i64, m: i64, d: i64) -> Result<i64> {
    if y == 0 || !(1..=12).contains(&m) || d < 1 {
        return Err(date_out_of_range(y, m, d));
    }
    let astronomical = if y < 0 { y + 1 } else { y };
    let leap = astronomical % 4 == 0 && (astronomical % 100 != 0 || astronomical % 400 == 0);
    let last = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > last {
        return Err(date_out_of_range(y, m, d));
    }
    datetime::date_of(astronomical, m as u32, d as u32).map(i64::from).ok_or_else(|| date_out_of_range(y, m, d))
}

/// Microseconds since midnight of hour, minute and (fractional) second; up to 24:00:00.
fn make_micros(h: i64, m: i64, s: f64) -> Result<i64> {
    let micros = (s * 1_000_000.0).round();
    let total = (h * 60 + m) as f64 * 60_000_000.0 + micros;
    let midnight = h == 24 && m == 0 && micros == 0.0;
    if !((0..24).contains(&h) || midnight)
        || !(0..60).contains(&m)
        || !(0.0..=60_000_000.0).contains(&micros)
        || total > USECS_PER_DAY as f64
    {
        let secs = if s.fract() == 0.0 { format!("{:02}", s as i64) } else { format!("{s:09.6}") };
        return Err(DbError::sql(
            SqlState::DatetimeFieldOverflow,
            format!("time field value out of range: {h:02}:{m:02}:{secs}"),
        ));
    }
    Ok(total as i64)
}

/// Evaluates a call on non-NULL arguments.
pub fn eval(f: TimeFn, v: &[Value]) -> Result<Value> {
    Ok(match f {
        TimeFn::MakeDate => Value::Date(make_days(int(&v[0]), int(&v[1]), int(&v[2]))? as i32),
        TimeFn::MakeTime => Value::Time(make_micros(int(&v[0]), int(&v[1]), v[2].as_f64().unwrap_or(0.0))?),
        TimeFn::MakeTimestamp | TimeFn::MakeTimestampTz => {
            let days = make_days(int(&v[0]), int(&v[1]), int(&v[2]))?;
            let micros = make_micros(int(&v[3]), int(&v[4]), v[5].as_f64().unwrap_or(0.0))?;
            let ts = days
                .checked_mul(USECS_PER_DAY)
                .and_then(|d| d.checked_add(micros))
                .ok_or_else(dt::timestamp_out_of_range)?;
            let ts = datetime::check_timestamp(ts).map_err(|_| dt::timestamp_out_of_range())?;
            if f == TimeFn::MakeTimestamp { Value::Timestamp(ts) } else { Value::TimestampTz(ts) }
        }
        TimeFn::MakeInterval => {
            let field = |i: usize| v.get(i).map_or(0, int);
            let months = field(0).checked_mul(12).and_then(|y| y.checked_add(field(1)));
            let days = field(2).checked_mul(7).and_then(|w| w.checked_add(field(3)));
            // Whole hours and minutes in integers; only the seconds pass through a double.
            let secs = (v.get(6).and_then(Value::as_f64).unwrap_or(0.0) * 1_000_000.0).round();
            let secs = (secs.is_finite() && secs.abs() < 9.2e18).then_some(secs as i64);
            let micros = field(4)
                .checked_mul(3_600_000_000)
                .and_then(|h| h.checked_add(field(5).checked_mul(60_000_000)?))
                .and_then(|hm| hm.checked_add(secs?));
            match (months.and_then(|m| i32::try_from(m).ok()), days.and_then(|d| i32::try_from(d).ok()), micros) {
                (Some(months), Some(days), Some(micros)) => Value::Interval(Interval::new(months, days, micros)),
                _ => return Err(rustydb_foundation::interval::out_of_range()),
            }
        }
        TimeFn::IsFinite => Value::Bool(match &v[0] {
            Value::Date(d) => *d != datetime::DATE_INFINITY && *d != datetime::DATE_NEG_INFINITY,
            Value::Timestamp(t) | Value::TimestampTz(t) => {
                *t != datetime::TIMESTAMP_INFINITY && *t != datetime::TIMESTAMP_NEG_INFINITY
            }
            _ => true,
        }),
        TimeFn::DateBin => {
            let Value::Interval(stride) = &v[0] else {
                return Err(DbError::Internal("date_bin without a stride".into()));
            };
            let (ts, with_zone) = match v[1] {
                Value::Timestamp(t) => (t, false),
                Value::TimestampTz(t) => (t, true),
                ref other => return Err(DbError::Internal(format!("date_bin of {other:?}"))),
            };
            let origin = match v[2] {
                Value::Timestamp(t) | Value::TimestampTz(t) => t,
                ref other => return Err(DbError::Internal(format!("date_bin from {other:?}"))),
            };
            let binned = date_bin(stride, ts, origin)?;
            if with_zone { Value::TimestampTz(binned) } else { Value::Timestamp(binned) }
        }
        TimeFn::TimeOfDay => Value::Text(time_of_day(datetime::now())),
    })
}

/// `date_bin`: the start of the `stride`-wide bin, counted from `origin`, that holds `ts`.
fn date_bin(stride: &Interval, ts: i64, origin: i64) -> Result<i64> {
    if stride.months != 0 {
        return Err(DbError::sql(
            SqlState::FeatureNotSupported,
            "timestamps cannot be binned into intervals containing months or years",
        ));
    }
    let width = i64::from(stride.days).checked_mul(USECS_PER_DAY).and_then(|d| d.checked_add(stride.micros));
    let width = match width {
        Some(w) if w > 0 => w,
        Some(_) => return Err(DbError::sql(SqlState::DatetimeFieldOverflow, "stride must be greater than zero")),
        None => return Err(rustydb_foundation::interval::out_of_range()),
    };
    let is_finite = |t: i64| t != datetime::TIMESTAMP_INFINITY && t != datetime::TIMESTAMP_NEG_INFINITY;
    if !is_finite(ts) || !is_finite(origin) {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "timestamps cannot be binned into infinite intervals"));
    }
    let bin = ts
        .checked_sub(origin)
        .and_then(|diff| diff.div_euclid(width).checked_mul(width))
        .and_then(|offset| origin.checked_add(offset))
        .ok_or_else(dt::timestamp_out_of_range)?;
    datetime::check_timestamp(bin).map_err(|_| dt::timestamp_out_of_range())
}

/// `timeofday()`'s text: `Mon Nov 23 23:25:33.123456 2026 UTC`.
fn time_of_day(ts: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let f = dt::fields(ts);
    let weekday = (f.days + 6).rem_euclid(7) as usize;
    let secs = f.time / 1_000_000;
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{:06} {} UTC",
        DAYS[weekday],
        MONTHS[(f.month - 1) as usize],
        f.day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        f.time % 1_000_000,
        f.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_check_their_fields_as_postgres() {
        assert_eq!(make_days(2024, 2, 30).unwrap_err().sqlstate().code(), "22008");
        assert_eq!(make_days(0, 1, 1).unwrap_err().sqlstate().code(), "22008");
        assert_eq!(make_days(2000, 1, 1).unwrap(), 0);
        assert_eq!(make_micros(23, 59, 60.0).unwrap(), USECS_PER_DAY);
        assert_eq!(make_micros(25, 0, 0.0).unwrap_err().sqlstate().code(), "22008");
        let day = Interval::new(0, 0, 15 * 60_000_000);
        let ts = datetime::parse_timestamp("2024-01-01 10:17", false).unwrap();
        let origin = datetime::parse_timestamp("2000-01-01", false).unwrap();
        assert_eq!(date_bin(&day, ts, origin).unwrap(), datetime::parse_timestamp("2024-01-01 10:15", false).unwrap());
        let before = datetime::parse_timestamp("1999-12-31 23:50", false).unwrap();
        let origin = datetime::parse_timestamp("2000-01-01 00:07", false).unwrap();
        assert_eq!(
            date_bin(&day, before, origin).unwrap(),
            datetime::parse_timestamp("1999-12-31 23:37", false).unwrap()
        );
        assert_eq!(date_bin(&Interval::new(1, 0, 0), ts, origin).unwrap_err().sqlstate().code(), "0A000");
    }
}
