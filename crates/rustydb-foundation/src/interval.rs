//! `interval`: a span of months, days and microseconds, kept apart as PostgreSQL keeps them,
//! because a month and a day have no fixed length: `'2024-01-31' + '1 month'` is February's
//! last day, and `'1 day'` across a daylight-saving change is not 24 hours.
//!
//! Comparison and indexing treat a month as 30 days and a day as 24 hours (PostgreSQL's
//! `interval_cmp_value`), so `'1 mon' = '30 days'` although the two print differently.
//!
//! Text output is PostgreSQL's `IntervalStyle = postgres`: `1 year 2 mons 3 days 04:05:06.789`,
//! `-1 days +02:00:00`. Input takes that form, `@ ... ago`, units with fractions that spill into
//! smaller units (`1.5 days` is `1 day 12:00:00`), `hh:mm[:ss]`, the SQL year-month `1-2`,
//! and ISO 8601 `P1Y2M3DT4H5M6S`.

use crate::{DbError, Result, SqlState};
use std::cmp::Ordering;
use std::fmt;

/// Microseconds in a second, minute, hour and day.
const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// A month's days, where a month must become days (comparison, fractions).
const DAYS_PER_MONTH: i64 = 30;

/// A span of time (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Whole months (a year is 12).
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

/// 22008 "interval out of range".
pub fn out_of_range() -> DbError {
    DbError::sql(SqlState::DatetimeFieldOverflow, "interval out of range")
}

fn invalid(text: &str) -> DbError {
    DbError::sql(SqlState::InvalidDatetimeFormat, format!("invalid input syntax for type interval: \"{text}\""))
}

/// Makes `high` and `low` agree in sign by moving one `unit` of `low` across (what the
/// `justify_*` functions do after carrying whole units up).
fn agree(high: &mut i128, low: &mut i128, unit: i128) {
    if *high > 0 && *low < 0 {
        *low += unit;
        *high -= 1;
    } else if *high < 0 && *low > 0 {
        *low -= unit;
        *high += 1;
    }
}

fn narrow(v: i128) -> Result<i32> {
    i32::try_from(v).map_err(|_| out_of_range())
}

impl Interval {
    /// An interval of the parts given.
    pub fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval { months, days, micros }
    }

    /// The whole span in microseconds with 30-day months and 24-hour days: what comparison,
    /// hashing and index keys use.
    pub fn span(&self) -> i128 {
        (i128::from(self.months) * i128::from(DAYS_PER_MONTH) + i128::from(self.days)) * i128::from(USECS_PER_DAY)
            + i128::from(self.micros)
    }

    /// SQL order, by [`Interval::span`].
    pub fn sql_cmp(&self, other: &Interval) -> Ordering {
        self.span().cmp(&other.span())
    }

    /// `self + other`, part by part; 22008 on overflow.
    pub fn add(&self, other: &Interval) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_add(other.months).ok_or_else(out_of_range)?,
            days: self.days.checked_add(other.days).ok_or_else(out_of_range)?,
            micros: self.micros.checked_add(other.micros).ok_or_else(out_of_range)?,
        })
    }

    /// `-self`; 22008 for the one value that has no negation.
    pub fn neg(&self) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(out_of_range)?,
            days: self.days.checked_neg().ok_or_else(out_of_range)?,
            micros: self.micros.checked_neg().ok_or_else(out_of_range)?,
        })
    }

    /// `self - other`.
    pub fn sub(&self, other: &Interval) -> Result<Interval> {
        self.add(&other.neg()?)
    }

    /// `self * factor`, as PostgreSQL's `interval_mul`: fractional months spill into days
    /// (30 to a month) and fractional days into time.
    pub fn mul(&self, factor: f64) -> Result<Interval> {
        if !factor.is_finite() {
            return Err(out_of_range());
        }
        let months = f64::from(self.months) * factor;
        let days = f64::from(self.days) * factor;
        let whole_months = months.trunc();
        let month_days = (months - whole_months) * DAYS_PER_MONTH as f64;
        let whole_month_days = month_days.trunc();
        let whole_days = days.trunc();
        let day_fraction = (days - whole_days) + (month_days - whole_month_days);
        let micros = self.micros as f64 * factor + (day_fraction * USECS_PER_DAY as f64).round_ties_even();
        let fits_i32 = |v: f64| (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v);
        let total_days = whole_days + whole_month_days;
        if !fits_i32(whole_months) || !fits_i32(total_days) || !(i64::MIN as f64..i64::MAX as f64).contains(&micros) {
            return Err(out_of_range());
        }
        Ok(Interval { months: whole_months as i32, days: total_days as i32, micros: micros.round_ties_even() as i64 })
    }

    /// `self / divisor`; 22012 for zero.
    pub fn div(&self, divisor: f64) -> Result<Interval> {
        if divisor == 0.0 {
            return Err(DbError::division_by_zero());
        }
        self.mul(1.0 / divisor)
    }

    /// Whole days out of the time part (`justify_hours`): `'50 hours'` is `2 days 02:00:00`.
    pub fn justify_hours(&self) -> Result<Interval> {
        let mut days = i128::from(self.days) + i128::from(self.micros / USECS_PER_DAY);
        let mut micros = i128::from(self.micros % USECS_PER_DAY);
        agree(&mut days, &mut micros, i128::from(USECS_PER_DAY));
        Ok(Interval { months: self.months, days: narrow(days)?, micros: micros as i64 })
    }

    /// Whole months out of the days (`justify_days`): `'45 days'` is `1 mon 15 days`.
    pub fn justify_days(&self) -> Result<Interval> {
        let mut months = i128::from(self.months) + i128::from(self.days) / i128::from(DAYS_PER_MONTH);
        let mut days = i128::from(self.days) % i128::from(DAYS_PER_MONTH);
        agree(&mut months, &mut days, i128::from(DAYS_PER_MONTH));
        Ok(Interval { months: narrow(months)?, days: narrow(days)?, micros: self.micros })
    }

    /// Both justifications, with the signs made to agree (`justify_interval`).
    pub fn justify(&self) -> Result<Interval> {
        let mut months = i128::from(self.months) + i128::from(self.days) / i128::from(DAYS_PER_MONTH);
        let mut days = i128::from(self.days) % i128::from(DAYS_PER_MONTH);
        let mut micros = self.micros;
        days += i128::from(micros / USECS_PER_DAY);
        micros %= USECS_PER_DAY;
        months += days / i128::from(DAYS_PER_MONTH);
        days %= i128::from(DAYS_PER_MONTH);
        if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
            days += i128::from(DAYS_PER_MONTH);
            months -= 1;
        } else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
            days -= i128::from(DAYS_PER_MONTH);
            months += 1;
        }
        let mut wide_micros = i128::from(micros);
        agree(&mut days, &mut wide_micros, i128::from(USECS_PER_DAY));
        Ok(Interval { months: narrow(months)?, days: narrow(days)?, micros: wide_micros as i64 })
    }

    /// PostgreSQL's `interval_in` (see the module docs); 22007 for text it cannot read.
    pub fn parse(text: &str) -> Result<Interval> {
        Parser::new(text).run().ok_or_else(|| invalid(text))?
    }

    /// The interval `value` units of `unit` (`day`, `hour`...), for `INTERVAL '3' DAY`.
    pub fn of_unit(value: &str, unit: &str) -> Result<Interval> {
        Interval::parse(&format!("{value} {unit}"))
    }
}

/// Accumulates an interval from its written parts, with fractions spilled downwards.
#[derive(Default)]
struct Sum {
    months: f64,
    days: f64,
    micros: f64,
}

impl Sum {
    /// Adds `value` of `unit`, spilling a fraction into the next smaller units as PostgreSQL
    /// does (a fractional month is 30 days, a fractional day 24 hours).
    fn add(&mut self, value: f64, unit: Unit) {
        let month_like = |s: &mut Sum, months: f64| {
            let whole = months.trunc();
            s.months += whole;
            let days = (months - whole) * DAYS_PER_MONTH as f64;
            s.day_like(days);
        };
        match unit {
            Unit::Millennium => month_like(self, value * 12_000.0),
            Unit::Century => month_like(self, value * 1_200.0),
            Unit::Decade => month_like(self, value * 120.0),
            Unit::Year => month_like(self, value * 12.0),
            Unit::Month => month_like(self, value),
            Unit::Week => self.day_like(value * 7.0),
            Unit::Day => self.day_like(value),
            Unit::Hour => self.micros += value * USECS_PER_HOUR as f64,
            Unit::Minute => self.micros += value * USECS_PER_MINUTE as f64,
            Unit::Second => self.micros += value * USECS_PER_SEC as f64,
            Unit::Millisecond => self.micros += value * 1_000.0,
            Unit::Microsecond => self.micros += value,
        }
    }

    fn day_like(&mut self, days: f64) {
        let whole = days.trunc();
        self.days += whole;
        self.micros += ((days - whole) * USECS_PER_DAY as f64).round_ties_even();
    }

    fn finish(self, negate: bool) -> Result<Interval> {
        let sign = if negate { -1.0 } else { 1.0 };
        let fits_i32 = |v: f64| (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v);
        let micros = (self.micros * sign).round_ties_even();
        if !fits_i32(self.months) || !fits_i32(self.days) || !(i64::MIN as f64..i64::MAX as f64).contains(&micros) {
            return Err(DbError::sql(SqlState::DatetimeFieldOverflow, "interval field value out of range"));
        }
        Ok(Interval { months: (self.months * sign) as i32, days: (self.days * sign) as i32, micros: micros as i64 })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millennium,
    Century,
    Decade,
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "millennium" | "millennia" | "millenniums" | "mil" | "mils" => Unit::Millennium,
        "century" | "centuries" | "c" | "cent" => Unit::Century,
        "decade" | "decades" | "dec" | "decs" => Unit::Decade,
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Year,
        "month" | "months" | "mon" | "mons" => Unit::Month,
        "week" | "weeks" | "w" => Unit::Week,
        "day" | "days" | "d" => Unit::Day,
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Hour,
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Minute,
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Second,
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => Unit::Millisecond,
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" => Unit::Microsecond,
        _ => return None,
    })
}

struct Parser {
    text: String,
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser { text: text.trim().to_ascii_lowercase() }
    }

    /// `None` for a syntax error; `Some(Err)` for a value out of range.
    fn run(&self) -> Option<Result<Interval>> {
        let t = self.text.strip_prefix('@').map_or(self.text.as_str(), str::trim_start);
        if t.is_empty() {
            return None;
        }
        if let Some(iso) = t.strip_prefix('p') {
            return iso8601(iso);
        }
        let mut tokens: Vec<&str> = t.split_ascii_whitespace().collect();
        let negate = tokens.last() == Some(&"ago");
        if negate {
            tokens.pop();
        }
        let mut sum = Sum::default();
        let mut i = 0;
        while i < tokens.len() {
            let token = tokens[i];
            // A number glued to its unit ("10mins"), or followed by one, or on its own.
            let split = token.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(token.len());
            let (number, glued) = token.split_at(split);
            if number.contains(':') {
                sum.micros += time_of_day(number)?;
                i += 1;
                continue;
            }
            if let Some((years, months)) = year_month(number) {
                sum.months += years * 12.0 + months;
                i += 1;
                continue;
            }
            let value: f64 = number.parse().ok().filter(|_| !number.is_empty())?;
            let word = if !glued.is_empty() {
                Some(glued)
            } else {
                tokens.get(i + 1).copied().filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()))
            };
            match word {
                Some(w) => {
                    sum.add(value, unit(w)?);
                    i += if glued.is_empty() { 2 } else { 1 };
                }
                // A bare number before a time of day is days ("3 4:05:06"); otherwise seconds.
                None if tokens.get(i + 1).is_some_and(|n| n.contains(':')) => {
                    sum.add(value, Unit::Day);
                    i += 1;
                }
                None => {
                    sum.add(value, Unit::Second);
                    i += 1;
                }
            }
        }
        Some(sum.finish(negate))
    }
}

/// `[-]h:mm[:ss[.ffffff]]` as microseconds.
fn time_of_day(s: &str) -> Option<f64> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let hours: f64 = parts[0].parse().ok().filter(|_| parts[0].bytes().all(|b| b.is_ascii_digit()))?;
    let minutes: f64 = parts[1].parse().ok().filter(|_| parts[1].bytes().all(|b| b.is_ascii_digit()))?;
    let seconds: f64 = match parts.get(2) {
        Some(s) if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => s.parse().ok()?,
        Some(_) => return None,
        None => 0.0,
    };
    let micros = hours * USECS_PER_HOUR as f64 + minutes * USECS_PER_MINUTE as f64 + seconds * USECS_PER_SEC as f64;
    Some(if negative { -micros } else { micros })
}

/// The SQL year-month form `[-]y-m`.
fn year_month(s: &str) -> Option<(f64, f64)> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (y, m) = body.split_once('-')?;
    if y.is_empty() || m.is_empty() || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m): (f64, f64) = (y.parse().ok()?, m.parse().ok()?);
    Some(if negative { (-y, -m) } else { (y, m) })
}

/// ISO 8601's designator form after the `P`: `1Y2M3DT4H5M6.5S`, `2W`.
fn iso8601(s: &str) -> Option<Result<Interval>> {
    let mut sum = Sum::default();
    let mut in_time = false;
    let mut number = String::new();
    for c in s.chars() {
        match c {
            't' if number.is_empty() && !in_time => in_time = true,
            '0'..='9' | '.' | '-' | '+' => number.push(c),
            _ => {
                let value: f64 = number.parse().ok()?;
                number.clear();
                let unit = match (c, in_time) {
                    ('y', false) => Unit::Year,
                    ('m', false) => Unit::Month,
                    ('w', false) => Unit::Week,
                    ('d', false) => Unit::Day,
                    ('h', true) => Unit::Hour,
                    ('m', true) => Unit::Minute,
                    ('s', true) => Unit::Second,
                    _ => return None,
                };
                sum.add(value, unit);
            }
        }
    }
    number.is_empty().then(|| sum.finish(false))
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let mut is_zero = true;
        let mut is_before = false;
        let mut part = |value: i64, unit: &str, out: &mut String| {
            if value == 0 {
                return;
            }
            let space = if is_zero { "" } else { " " };
            let plus = if is_before && value > 0 { "+" } else { "" };
            let plural = if value != 1 { "s" } else { "" };
            out.push_str(&format!("{space}{plus}{value} {unit}{plural}"));
            is_before = value < 0;
            is_zero = false;
        };
        let months = i64::from(self.months);
        part(months / 12, "year", &mut out);
        part(months % 12, "mon", &mut out);
        part(i64::from(self.days), "day", &mut out);
        let time = self.micros;
        if is_zero || time != 0 {
            let minus = time < 0;
            let abs = time.unsigned_abs();
            let (hours, rest) = (abs / USECS_PER_HOUR as u64, abs % USECS_PER_HOUR as u64);
            let (minutes, rest) = (rest / USECS_PER_MINUTE as u64, rest % USECS_PER_MINUTE as u64);
            let (seconds, fraction) = (rest / USECS_PER_SEC as u64, rest % USECS_PER_SEC as u64);
            let space = if is_zero { "" } else { " " };
            let sign = if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            };
            out.push_str(&format!("{space}{sign}{hours:02}:{minutes:02}:{seconds:02}"));
            if fraction != 0 {
                out.push_str(format!(".{fraction:06}").trim_end_matches('0'));
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        match Interval::parse(text) {
            Ok(i) => i.to_string(),
            Err(e) => e.sqlstate().code().to_string(),
        }
    }

    #[test]
    fn input_and_output_match_postgres() {
        // What PostgreSQL 15 prints for each input.
        for (input, want) in [
            ("1 year 2 mons 3 days 04:05:06.789", "1 year 2 mons 3 days 04:05:06.789"),
            ("-1 days 2 hours", "-1 days +02:00:00"),
            ("1.5 days", "1 day 12:00:00"),
            ("1.5 years", "1 year 6 mons"),
            ("-1 day -02:00:00", "-1 days -02:00:00"),
            ("0", "00:00:00"),
            ("@ 1 day ago", "-1 days"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("1-2", "1 year 2 mons"),
            ("3 4:05:06", "3 days 04:05:06"),
            ("90 minutes", "01:30:00"),
            ("1 week", "7 days"),
            ("10 mins 5 secs", "00:10:05"),
            ("5", "00:00:05"),
            ("10mins", "00:10:00"),
            ("1 mon -1 hour", "1 mon -01:00:00"),
            ("abc", "22007"),
            ("1 fortnight", "22007"),
            ("", "22007"),
        ] {
            assert_eq!(show(input), want, "{input:?}");
        }
    }

    #[test]
    fn arithmetic_and_justification_match_postgres() {
        let iv = |s: &str| Interval::parse(s).unwrap();
        assert_eq!(iv("1 day").mul(1.5).unwrap().to_string(), "1 day 12:00:00");
        assert_eq!(iv("1 mon").div(4.0).unwrap().to_string(), "7 days 12:00:00");
        assert_eq!(iv("1 day").neg().unwrap().to_string(), "-1 days");
        assert_eq!(iv("1 mon").sql_cmp(&iv("30 days")), Ordering::Equal);
        assert_eq!(iv("25 hours").sql_cmp(&iv("1 day")), Ordering::Greater);
        assert_eq!(iv("50 hours").justify_hours().unwrap().to_string(), "2 days 02:00:00");
        assert_eq!(iv("45 days").justify_days().unwrap().to_string(), "1 mon 15 days");
        assert_eq!(iv("1 mon -1 hour").justify().unwrap().to_string(), "29 days 23:00:00");
        assert_eq!(iv("1 day").div(0.0).unwrap_err().sqlstate().code(), "22012");
    }
}
