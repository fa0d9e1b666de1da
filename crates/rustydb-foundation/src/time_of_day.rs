//! The `time` type (time of day without time zone): microseconds since midnight, from
//! `00:00:00` to `24:00:00` inclusive, read and written as PostgreSQL's `time_in`/`time_out`
//! do.

use crate::{DbError, Result, SqlState};

/// Microseconds in a day: `24:00:00`, the largest time.
pub const DAY: i64 = 86_400_000_000;

fn syntax(input: &str) -> DbError {
    DbError::sql(SqlState::InvalidDatetimeFormat, format!("invalid input syntax for type time: \"{input}\""))
}

fn range(input: &str) -> DbError {
    DbError::sql(SqlState::DatetimeFieldOverflow, format!("date/time field value out of range: \"{input}\""))
}

/// A time from its text: `HH:MM`, `HH:MM:SS[.fraction]` (fractions rounded to the
/// microsecond), an optional `AM`/`PM`, `allballs`, or a timestamp whose time part is taken.
pub fn parse(input: &str) -> Result<i64> {
    let text = input.trim();
    if text.eq_ignore_ascii_case("allballs") {
        return Ok(0);
    }
    // A date in front (a timestamp's text): its time part is the time.
    let clock = match text.split_once([' ', 'T', 't']) {
        Some((date, rest)) if date.contains('-') => rest.trim(),
        _ => text,
    };
    let (clock, meridiem) = match clock.len().checked_sub(2).map(|at| clock.split_at(at)) {
        Some((rest, m)) if m.eq_ignore_ascii_case("am") || m.eq_ignore_ascii_case("pm") => {
            (rest.trim_end(), Some(m.eq_ignore_ascii_case("pm")))
        }
        _ => (clock, None),
    };
    let mut parts = clock.splitn(3, ':');
    let field = |s: Option<&str>| -> Result<i64> {
        let s = s.ok_or_else(|| syntax(input))?;
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax(input));
        }
        s.parse().map_err(|_| syntax(input))
    };
    let mut hour = field(parts.next())?;
    let minute = field(parts.next())?;
    let micros = match parts.next() {
        None => 0,
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let secs = field(Some(whole))?;
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax(input));
            }
            let mut digits: String = frac.chars().take(7).collect();
            while digits.len() < 7 {
                digits.push('0');
            }
            let seventh: i64 = digits.parse().map_err(|_| syntax(input))?;
            // Round half up at the microsecond, as PostgreSQL does.
            secs * 1_000_000 + (seventh + 5) / 10
        }
    };
    if let Some(pm) = meridiem {
        if !(1..=12).contains(&hour) {
            return Err(range(input));
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    if minute > 59 || micros > 60_000_000 {
        return Err(range(input));
    }
    let total = hour * 3_600_000_000 + minute * 60_000_000 + micros;
    if hour > 24 || total > DAY {
        return Err(range(input));
    }
    Ok(total)
}

/// `HH:MM:SS`, with the fraction's significant digits when there are any.
pub fn format(t: i64) -> String {
    let (secs, micros) = (t / 1_000_000, t % 1_000_000);
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if micros != 0 {
        out.push('.');
        out.push_str(format!("{micros:06}").trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print_as_postgres_does() {
        for (text, shown) in [
            ("04:05", "04:05:00"),
            ("04:05:06.789", "04:05:06.789"),
            ("4:5:6", "04:05:06"),
            ("04:05:06.0000005", "04:05:06.000001"),
            ("04:05 PM", "16:05:00"),
            ("12:00 am", "00:00:00"),
            ("24:00:00", "24:00:00"),
            ("allballs", "00:00:00"),
            ("2024-01-02 13:14:15", "13:14:15"),
        ] {
            assert_eq!(format(parse(text).unwrap()), shown, "{text}");
        }
        for bad in ["", "4", "x:05", "04:05:06x", "04::06"] {
            assert_eq!(parse(bad).unwrap_err().sqlstate(), SqlState::InvalidDatetimeFormat, "{bad}");
        }
        for out in ["24:00:01", "25:00", "04:60", "13:00 PM"] {
            assert_eq!(parse(out).unwrap_err().sqlstate(), SqlState::DatetimeFieldOverflow, "{out}");
        }
    }
}
