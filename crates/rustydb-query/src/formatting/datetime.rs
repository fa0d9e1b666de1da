//! `to_char` of dates, timestamps and intervals, and `to_date`/`to_timestamp` parsing, by
//! PostgreSQL's date/time template patterns (`YYYY-MM-DD HH24:MI:SS`, `FMMonth DDth`, ...).
//!
//! A template is parsed into [`Node`]s once per call: keywords (matched longest first and
//! case-sensitively, as PostgreSQL's table lists them), the `FM` prefix and the `TH`/`th`
//! suffixes, double-quoted text, and every other character as itself. Times are UTC, the only
//! zone RustyDB reports.

use rustydb_foundation::datetime_fields::{self as dt, Fields};
use rustydb_foundation::{DbError, Interval, Result, SqlState};

/// A date/time template keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `A.D.`, `AD`, `B.C.`, `BC` and their lower-case forms: the era.
    Era {
        dots: bool,
        lower: bool,
    },
    /// `A.M.`, `AM`, `P.M.`, `PM` and lower case: the meridiem.
    Meridiem {
        dots: bool,
        lower: bool,
    },
    Cc,
    /// `DAY`, `Day`, `day`
    DayName(Case),
    /// `DY`, `Dy`, `dy`
    DayAbbrev(Case),
    Ddd,
    Dd,
    D,
    Iddd,
    Id,
    Iw,
    Iyyy,
    Iyy,
    Iy,
    I,
    /// `FF1` .. `FF6`: fractional seconds to that many digits.
    Ff(u8),
    Fx,
    Hh24,
    Hh12,
    J,
    Mi,
    Mm,
    /// `MONTH`, `Month`, `month`
    MonthName(Case),
    /// `MON`, `Mon`, `mon`
    MonthAbbrev(Case),
    Ms,
    Of,
    Q,
    /// `RM`, `rm`: the month in Roman numerals.
    Rm {
        lower: bool,
    },
    /// `SSSS`, `SSSSS`: seconds past midnight.
    Sssss,
    Ss,
    /// `TZ`, `tz`
    Tz {
        lower: bool,
    },
    Tzh,
    Tzm,
    Us,
    Ww,
    W,
    YCommaYyy,
    Yyyy,
    Yyy,
    Yy,
    Y,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Upper,
    Title,
    Lower,
}

/// The keywords, each with its spelling; at a position the longest spelling that matches wins.
const KEYWORDS: &[(&str, Key)] = &[
    ("A.D.", Key::Era { dots: true, lower: false }),
    ("A.M.", Key::Meridiem { dots: true, lower: false }),
    ("AD", Key::Era { dots: false, lower: false }),
    ("AM", Key::Meridiem { dots: false, lower: false }),
    ("B.C.", Key::Era { dots: true, lower: false }),
    ("BC", Key::Era { dots: false, lower: false }),
    ("CC", Key::Cc),
    ("DAY", Key::DayName(Case::Upper)),
    ("DDD", Key::Ddd),
    ("DD", Key::Dd),
    ("DY", Key::DayAbbrev(Case::Upper)),
    ("Day", Key::DayName(Case::Title)),
    ("Dy", Key::DayAbbrev(Case::Title)),
    ("D", Key::D),
    ("FF1", Key::Ff(1)),
    ("FF2", Key::Ff(2)),
    ("FF3", Key::Ff(3)),
    ("FF4", Key::Ff(4)),
    ("FF5", Key::Ff(5)),
    ("FF6", Key::Ff(6)),
    ("FX", Key::Fx),
    ("HH24", Key::Hh24),
    ("HH12", Key::Hh12),
    ("HH", Key::Hh12),
    ("IDDD", Key::Iddd),
    ("ID", Key::Id),
    ("IW", Key::Iw),
    ("IYYY", Key::Iyyy),
    ("IYY", Key::Iyy),
    ("IY", Key::Iy),
    ("I", Key::I),
    ("J", Key::J),
    ("MI", Key::Mi),
    ("MM", Key::Mm),
    ("MONTH", Key::MonthName(Case::Upper)),
    ("MON", Key::MonthAbbrev(Case::Upper)),
    ("MS", Key::Ms),
    ("Month", Key::MonthName(Case::Title)),
    ("Mon", Key::MonthAbbrev(Case::Title)),
    ("OF", Key::Of),
    ("P.M.", Key::Meridiem { dots: true, lower: false }),
    ("PM", Key::Meridiem { dots: false, lower: false }),
    ("Q", Key::Q),
    ("RM", Key::Rm { lower: false }),
    ("SSSSS", Key::Sssss),
    ("SSSS", Key::Sssss),
    ("SS", Key::Ss),
    ("TZH", Key::Tzh),
    ("TZM", Key::Tzm),
    ("TZ", Key::Tz { lower: false }),
    ("US", Key::Us),
    ("WW", Key::Ww),
    ("W", Key::W),
    ("Y,YYY", Key::YCommaYyy),
    ("YYYY", Key::Yyyy),
    ("YYY", Key::Yyy),
    ("YY", Key::Yy),
    ("Y", Key::Y),
    ("a.d.", Key::Era { dots: true, lower: true }),
    ("a.m.", Key::Meridiem { dots: true, lower: true }),
    ("ad", Key::Era { dots: false, lower: true }),
    ("am", Key::Meridiem { dots: false, lower: true }),
    ("b.c.", Key::Era { dots: true, lower: true }),
    ("bc", Key::Era { dots: false, lower: true }),
    ("cc", Key::Cc),
    ("day", Key::DayName(Case::Lower)),
    ("ddd", Key::Ddd),
    ("dd", Key::Dd),
    ("dy", Key::DayAbbrev(Case::Lower)),
    ("d", Key::D),
    ("ff1", Key::Ff(1)),
    ("ff2", Key::Ff(2)),
    ("ff3", Key::Ff(3)),
    ("ff4", Key::Ff(4)),
    ("ff5", Key::Ff(5)),
    ("ff6", Key::Ff(6)),
    ("fx", Key::Fx),
    ("hh24", Key::Hh24),
    ("hh12", Key::Hh12),
    ("hh", Key::Hh12),
    ("iddd", Key::Iddd),
    ("id", Key::Id),
    ("iw", Key::Iw),
    ("iyyy", Key::Iyyy),
    ("iyy", Key::Iyy),
    ("iy", Key::Iy),
    ("i", Key::I),
    ("j", Key::J),
    ("mi", Key::Mi),
    ("mm", Key::Mm),
    ("month", Key::MonthName(Case::Lower)),
    ("mon", Key::MonthAbbrev(Case::Lower)),
    ("ms", Key::Ms),
    ("of", Key::Of),
    ("p.m.", Key::Meridiem { dots: true, lower: true }),
    ("pm", Key::Meridiem { dots: false, lower: true }),
    ("q", Key::Q),
    ("rm", Key::Rm { lower: true }),
    ("sssss", Key::Sssss),
    ("ssss", Key::Sssss),
    ("ss", Key::Ss),
    ("tzh", Key::Tzh),
    ("tzm", Key::Tzm),
    ("tz", Key::Tz { lower: true }),
    ("us", Key::Us),
    ("ww", Key::Ww),
    ("w", Key::W),
    ("y,yyy", Key::YCommaYyy),
    ("yyyy", Key::Yyyy),
    ("yyy", Key::Yyy),
    ("yy", Key::Yy),
    ("y", Key::Y),
];

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
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ROMAN_MONTHS: [&str; 12] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"];

/// One element of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Key {
        key: Key,
        fill: bool,
        th: Option<bool>,
    },
    /// Text copied as it is (quoted text, or a character that starts no keyword).
    Text(String),
    /// An unquoted character that is no keyword (a separator when parsing).
    Char(char),
}

impl Key {
    /// True for the keywords that print a number (the ones `TH` applies to).
    fn is_numeric(self) -> bool {
        !matches!(
            self,
            Key::Era { .. }
                | Key::Meridiem { .. }
                | Key::DayName(_)
                | Key::DayAbbrev(_)
                | Key::MonthName(_)
                | Key::MonthAbbrev(_)
                | Key::Rm { .. }
                | Key::Tz { .. }
                | Key::Of
                | Key::Tzh
                | Key::Tzm
                | Key::Fx
        )
    }
}

fn parse_template(template: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        let mut fill = false;
        if rest.starts_with("FM") || rest.starts_with("fm") {
            fill = true;
            rest = &rest[2..];
        }
        let found = KEYWORDS.iter().filter(|(spelling, _)| rest.starts_with(spelling)).max_by_key(|(s, _)| s.len());
        if let Some(&(spelling, key)) = found {
            rest = &rest[spelling.len()..];
            let th = if rest.starts_with("TH") {
                Some(true)
            } else if rest.starts_with("th") {
                Some(false)
            } else {
                None
            };
            if th.is_some() {
                rest = &rest[2..];
            }
            nodes.push(Node::Key { key, fill, th });
            continue;
        }
        if fill {
            // `FM` before no keyword is ignored, as PostgreSQL does.
            continue;
        }
        if c == '"' {
            let (text, taken) = super::quoted(rest);
            rest = &rest[taken..];
            nodes.push(Node::Text(text));
            continue;
        }
        if c == '\\' && rest[1..].starts_with('"') {
            nodes.push(Node::Text("\"".into()));
            rest = &rest[2..];
            continue;
        }
        nodes.push(Node::Char(c));
        rest = &rest[c.len_utf8()..];
    }
    nodes
}

/// The ordinal suffix of the number `digits` ends with.
pub(super) fn ordinal(digits: &str, upper: bool) -> &'static str {
    let bytes = digits.as_bytes();
    let last = bytes.last().copied().unwrap_or(b'0');
    let teen = bytes.len() >= 2 && bytes[bytes.len() - 2] == b'1';
    let suffix = match last {
        b'1' if !teen => ["st", "ST"],
        b'2' if !teen => ["nd", "ND"],
        b'3' if !teen => ["rd", "RD"],
        _ => ["th", "TH"],
    };
    suffix[usize::from(upper)]
}

fn cased(name: &str, case: Case) -> String {
    match case {
        Case::Upper => name.to_uppercase(),
        Case::Title => name.to_string(),
        Case::Lower => name.to_lowercase(),
    }
}

/// What a template formats: a timestamp's calendar fields or an interval's.
struct Moment {
    /// Astronomical year for a timestamp (0 is 1 BC); the interval's years.
    year: i64,
    /// 1..=12 for a timestamp; 0..=11 for an interval.
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    /// Day of the year (1-based), for `DDD`.
    yday: i64,
    /// Days since 2000-01-01 (timestamps only).
    days: i64,
    interval: bool,
    with_zone: bool,
}

fn invalid_for_interval() -> DbError {
    DbError::sql(SqlState::InvalidDatetimeFormat, "invalid format specification for an interval value")
        .with_hint("Intervals are not tied to specific calendar dates.")
}

/// ISO 8601 year and week of a day (days since 2000-01-01).
fn iso_week(days: i64) -> (i64, i64) {
    // 2000-01-03 was a Monday.
    let weekday = (days - 2).rem_euclid(7); // 0 = Monday
    let thursday = days - weekday + 3;
    // Days far outside the timestamp range (an interval's) have no calendar year here.
    let Some(ts) = thursday.checked_mul(rustydb_foundation::datetime::USECS_PER_DAY) else { return (0, 0) };
    let year = dt::fields(ts).year;
    let jan1 = days_of(year, 1, 1);
    (year, (thursday - jan1) / 7 + 1)
}

fn days_of(year: i64, month: u32, day: u32) -> i64 {
    dt::from_fields(year, month, day, 0).map_or(0, |ts| ts.div_euclid(rustydb_foundation::datetime::USECS_PER_DAY))
}

/// The first day (Monday) of ISO year `year`.
fn iso_year_start(year: i64) -> i64 {
    let jan4 = days_of(year, 1, 4);
    jan4 - (jan4 - 2).rem_euclid(7)
}

fn render(nodes: &[Node], m: &Moment) -> Result<String> {
    let mut out = String::new();
    let bc_year = |y: i64| if y <= 0 && !m.interval { 1 - y } else { y };
    for node in nodes {
        let (key, fill, th) = match node {
            Node::Text(t) => {
                out.push_str(t);
                continue;
            }
            Node::Char(c) => {
                out.push(*c);
                continue;
            }
            Node::Key { key, fill, th } => (*key, *fill, *th),
        };
        let pad = |width: usize, v: i64| {
            // A negative value takes one more place, for its sign.
            if fill {
                v.to_string()
            } else if v < 0 {
                format!("-{:0width$}", -v)
            } else {
                format!("{v:0width$}")
            }
        };
        let weekday = (m.days + 6).rem_euclid(7); // 0 = Sunday (2000-01-01 was a Saturday)
        let date_only = || -> Result<()> { if m.interval { Err(invalid_for_interval()) } else { Ok(()) } };
        let text = match key {
            Key::Fx => continue,
            Key::Era { dots, lower } => {
                date_only()?;
                let bc = m.year <= 0 && !m.interval;
                let s = match (bc, dots) {
                    (true, true) => "B.C.",
                    (true, false) => "BC",
                    (false, true) => "A.D.",
                    (false, false) => "AD",
                };
                if lower { s.to_lowercase() } else { s.to_string() }
            }
            Key::Meridiem { dots, lower } => {
                let pm = m.hour % 24 >= 12;
                let s = match (pm, dots) {
                    (true, true) => "P.M.",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (false, false) => "AM",
                };
                if lower { s.to_lowercase() } else { s.to_string() }
            }
            Key::Hh24 => pad(2, m.hour),
            Key::Hh12 => pad(2, if m.hour % 12 == 0 { 12 } else { m.hour % 12 }),
            Key::Mi => pad(2, m.minute),
            Key::Ss => pad(2, m.second),
            Key::Ff(n) => {
                let n = usize::from(n);
                format!("{:0n$}", m.micros / 10i64.pow(6 - n as u32))
            }
            // Fractions keep their width under FM.
            Key::Ms => format!("{:03}", m.micros / 1000),
            Key::Us => format!("{:06}", m.micros),
            Key::Sssss => (m.hour * 3600 + m.minute * 60 + m.second).to_string(),
            Key::Tz { lower } => {
                if m.interval {
                    return Err(invalid_for_interval());
                }
                let s = if m.with_zone { "UTC" } else { "" };
                if lower { s.to_lowercase() } else { s.to_string() }
            }
            Key::Of => {
                if m.interval {
                    return Err(invalid_for_interval());
                }
                if fill { "+0" } else { "+00" }.into()
            }
            Key::Tzh => "+00".into(),
            Key::Tzm => "00".into(),
            Key::YCommaYyy => {
                let y = bc_year(m.year);
                format!("{},{:03}", y / 1000, y % 1000)
            }
            Key::Yyyy => pad(4, bc_year(m.year)),
            Key::Yyy => pad(3, bc_year(m.year) % 1000),
            Key::Yy => pad(2, bc_year(m.year) % 100),
            Key::Y => pad(1, bc_year(m.year) % 10),
            Key::Iyyy | Key::Iyy | Key::Iy | Key::I => {
                let y = bc_year(iso_week(m.days).0);
                match key {
                    Key::Iyyy => pad(4, y),
                    Key::Iyy => pad(3, y % 1000),
                    Key::Iy => pad(2, y % 100),
                    _ => pad(1, y % 10),
                }
            }
            Key::MonthName(case) | Key::MonthAbbrev(case) => {
                date_only()?;
                let name = MONTHS[(m.month - 1).clamp(0, 11) as usize];
                if matches!(key, Key::MonthAbbrev(_)) {
                    cased(&name[..3], case)
                } else if fill {
                    cased(name, case)
                } else {
                    format!("{:<9}", cased(name, case))
                }
            }
            Key::Mm => pad(2, m.month),
            Key::DayName(case) | Key::DayAbbrev(case) => {
                date_only()?;
                let name = DAYS[weekday as usize];
                if matches!(key, Key::DayAbbrev(_)) {
                    cased(&name[..3], case)
                } else if fill {
                    cased(name, case)
                } else {
                    format!("{:<9}", cased(name, case))
                }
            }
            Key::Ddd => pad(3, m.yday),
            Key::Iddd => pad(3, m.days - iso_year_start(iso_week(m.days).0) + 1),
            Key::Dd => pad(2, m.day),
            Key::D => {
                date_only()?;
                (weekday + 1).to_string()
            }
            Key::Id => {
                date_only()?;
                (if weekday == 0 { 7 } else { weekday }).to_string()
            }
            Key::Ww => pad(2, (m.yday - 1) / 7 + 1),
            Key::Iw => pad(2, iso_week(m.days).1),
            Key::W => ((m.day - 1) / 7 + 1).to_string(),
            Key::Q => {
                if m.interval && m.month == 0 {
                    continue;
                }
                ((m.month - 1) / 3 + 1).to_string()
            }
            Key::Cc => {
                let c = if m.interval {
                    m.year / 100
                } else if m.year > 0 {
                    (m.year - 1) / 100 + 1
                } else {
                    m.year / 100 - 1
                };
                if (-99..=99).contains(&c) { pad(2, c) } else { c.to_string() }
            }
            Key::J => (m.days + 2_451_545).to_string(),
            Key::Rm { lower } => {
                if m.interval && m.month == 0 && m.year == 0 {
                    continue;
                }
                // A whole number of years reads as December, as PostgreSQL has it.
                let index = match m.month {
                    0 => 11,
                    // A negative interval's months count back from December.
                    n if n < 0 => 12 + n,
                    n => n - 1,
                };
                let r = ROMAN_MONTHS[index.clamp(0, 11) as usize];
                let r = if lower { r.to_lowercase() } else { r.to_string() };
                if fill { r } else { format!("{r:<4}") }
            }
        };
        out.push_str(&text);
        if let Some(upper) = th
            && key.is_numeric()
        {
            out.push_str(ordinal(&text, upper));
        }
    }
    Ok(out)
}

/// `to_char(timestamp, template)` (`with_zone` for timestamptz; infinite values give NULL).
pub fn timestamp_to_char(ts: i64, with_zone: bool, template: &str) -> Result<Option<String>> {
    use rustydb_foundation::datetime::{TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
    if ts == TIMESTAMP_INFINITY || ts == TIMESTAMP_NEG_INFINITY {
        return Ok(None);
    }
    let Fields { year, month, day, time, days } = dt::fields(ts);
    let secs = time / 1_000_000;
    let moment = Moment {
        year,
        month: i64::from(month),
        day: i64::from(day),
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        micros: time % 1_000_000,
        yday: days - days_of(year, 1, 1) + 1,
        days,
        interval: false,
        with_zone,
    };
    render(&parse_template(template), &moment).map(Some)
}

/// `to_char(interval, template)`.
pub fn interval_to_char(iv: &Interval, template: &str) -> Result<String> {
    let micros = iv.micros;
    let secs = micros / 1_000_000;
    let moment = Moment {
        year: i64::from(iv.months / 12),
        month: i64::from(iv.months % 12),
        day: i64::from(iv.days),
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        micros: micros % 1_000_000,
        yday: (i64::from(iv.months / 12) * 12 + i64::from(iv.months % 12)) * 30 + i64::from(iv.days),
        // The week and Julian fields of an interval read its fields as a date (month 0 is
        // the December before), as PostgreSQL's date2j does.
        days: rustydb_foundation::datetime_fields::from_fields(
            i64::from(iv.months / 12),
            (iv.months % 12).clamp(0, 12) as u32,
            1,
            0,
        )
        .map_or(0, |ts| ts.div_euclid(rustydb_foundation::datetime::USECS_PER_DAY))
            + i64::from(iv.days)
            - 1,
        interval: true,
        with_zone: false,
    };
    render(&parse_template(template), &moment)
}

/// The fields `to_date`/`to_timestamp` read from their input.
#[derive(Debug, Default)]
struct Parsed {
    year: Option<i64>,
    /// `IYYY`, `IW`, `ID`: an ISO 8601 week date.
    iso_year: Option<i64>,
    iso_week: Option<i64>,
    iso_day: Option<i64>,
    century: Option<i64>,
    bc: bool,
    month: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    julian: Option<i64>,
    hour: Option<i64>,
    twelve_hour: bool,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    micros: i64,
    seconds_of_day: Option<i64>,
}

fn bad_value(value: &str, key: &str) -> DbError {
    DbError::sql(SqlState::InvalidDatetimeFormat, format!("invalid value \"{value}\" for \"{key}\""))
        .with_detail("Value must be an integer.")
}

/// The width a numeric keyword reads when the next node is another field.
fn width_of(key: Key) -> usize {
    match key {
        Key::Yyyy | Key::Iyyy => 4,
        Key::Yyy | Key::Iyy | Key::Ddd | Key::Iddd | Key::Ms => 3,
        Key::Ff(n) => usize::from(n),
        Key::Us => 6,
        Key::J | Key::Sssss => usize::MAX,
        Key::D | Key::Id | Key::Q | Key::W | Key::Y | Key::I => 1,
        _ => 2,
    }
}

fn skip_spaces(input: &str, at: &mut usize) {
    while input[*at..].starts_with(' ') {
        *at += 1;
    }
}

/// Reads `names` (case-insensitively, the longest first) at `at`, returning the index.
fn read_name(input: &str, at: &mut usize, names: &[&str], abbreviate: bool, key: &str) -> Result<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        let candidate = if abbreviate { &name[..3] } else { name };
        if starts_with_ignoring_case(input, *at, candidate) && best.is_none_or(|(_, len)| candidate.len() > len) {
            best = Some((i, candidate.len()));
        }
    }
    let (index, len) = best.ok_or_else(|| {
        DbError::sql(
            SqlState::InvalidDatetimeFormat,
            format!("invalid value \"{}\" for \"{key}\"", input[*at..].chars().take(9).collect::<String>()),
        )
        .with_detail("The given value did not match any of the allowed values for this field.")
    })?;
    *at += len;
    Ok(index)
}

/// True if `input` holds the ASCII `word` at byte `at`, in any case (then `at + word.len()`
/// is a character boundary).
fn starts_with_ignoring_case(input: &str, at: usize, word: &str) -> bool {
    input.as_bytes().get(at..at + word.len()).is_some_and(|b| b.eq_ignore_ascii_case(word.as_bytes()))
}

/// Parses `input` by `template` (`to_timestamp(text, text)`): the timestamp in UTC.
pub fn parse_timestamp(input: &str, template: &str) -> Result<i64> {
    let nodes = parse_template(template);
    let mut p = Parsed::default();
    let mut at = 0;
    for (n, node) in nodes.iter().enumerate() {
        if at >= input.len() {
            break;
        }
        let (key, spelling) = match node {
            Node::Text(t) => {
                // Skip as many characters as the text has.
                for _ in t.chars() {
                    if let Some(c) = input[at..].chars().next() {
                        at += c.len_utf8();
                    }
                }
                continue;
            }
            Node::Char(c) => {
                if *c == ' ' {
                    skip_spaces(input, &mut at);
                } else if let Some(next) = input[at..].chars().next() {
                    // A separator matches any one separator, or nothing before a field.
                    if !next.is_alphanumeric() || c.is_alphanumeric() {
                        at += next.len_utf8();
                    }
                }
                continue;
            }
            Node::Key { key, .. } => (*key, KEYWORDS.iter().find(|(_, k)| k == key).map_or("?", |(s, _)| *s)),
        };
        skip_spaces(input, &mut at);
        let next_is_field = matches!(nodes.get(n + 1), Some(Node::Key { key, .. }) if key.is_numeric());
        let number = |at: &mut usize, key: Key| -> Result<(i64, usize)> {
            let rest = &input[*at..];
            let (sign, body) = match rest.strip_prefix('-') {
                Some(b) if matches!(key, Key::Yyyy | Key::J) => (-1, b),
                _ => (1, rest),
            };
            let limit = if next_is_field { width_of(key) } else { usize::MAX };
            let digits: String = body.chars().take_while(char::is_ascii_digit).take(limit).collect();
            if digits.is_empty() {
                return Err(bad_value(&rest.chars().take(width_of(key).min(9)).collect::<String>(), spelling));
            }
            *at += digits.len() + usize::from(sign < 0);
            // As PostgreSQL, a field holds a 32-bit integer.
            let v = digits.parse::<i64>().ok().map(|v| sign * v).filter(|v| i32::try_from(*v).is_ok()).ok_or_else(
                || {
                    DbError::sql(
                        SqlState::DatetimeFieldOverflow,
                        format!("value for \"{spelling}\" in source string is out of range"),
                    )
                    .with_detail("Value must be in the range -2147483648 to 2147483647.")
                },
            )?;
            Ok((v, digits.len()))
        };
        match key {
            Key::Fx | Key::Tz { .. } | Key::Of | Key::Tzh | Key::Tzm => {}
            Key::Era { .. } => {
                for (word, bc) in [("b.c.", true), ("a.d.", false), ("bc", true), ("ad", false)] {
                    if starts_with_ignoring_case(input, at, word) {
                        p.bc = bc;
                        at += word.len();
                        break;
                    }
                }
            }
            Key::Meridiem { .. } => {
                let mut found = false;
                for (word, pm) in [("a.m.", false), ("p.m.", true), ("am", false), ("pm", true)] {
                    if starts_with_ignoring_case(input, at, word) {
                        p.pm = Some(pm);
                        at += word.len();
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Err(DbError::sql(
                        SqlState::InvalidDatetimeFormat,
                        format!(
                            "invalid value \"{}\" for \"{spelling}\"",
                            input[at..].chars().take(2).collect::<String>()
                        ),
                    )
                    .with_detail("The given value did not match any of the allowed values for this field."));
                }
            }
            Key::MonthName(_) | Key::MonthAbbrev(_) => {
                let abbreviate = matches!(key, Key::MonthAbbrev(_));
                p.month = Some(read_name(input, &mut at, &MONTHS, abbreviate, spelling)? as i64 + 1);
            }
            Key::DayName(_) | Key::DayAbbrev(_) => {
                read_name(input, &mut at, &DAYS, matches!(key, Key::DayAbbrev(_)), spelling)?;
            }
            Key::Rm { .. } => {
                let best = ROMAN_MONTHS
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| starts_with_ignoring_case(input, at, r))
                    .max_by_key(|(_, r)| r.len());
                let (i, r) = best.ok_or_else(|| {
                    let word = input[at..].split_whitespace().next().unwrap_or("");
                    DbError::sql(
                        SqlState::InvalidDatetimeFormat,
                        format!("invalid value \"{word}\" for \"{spelling}\""),
                    )
                    .with_detail("The given value did not match any of the allowed values for this field.")
                })?;
                at += r.len();
                p.month = Some(i as i64 + 1);
            }
            Key::YCommaYyy => {
                let (thousands, _) = number(&mut at, Key::Yyyy)?;
                if input[at..].starts_with(',') {
                    at += 1;
                }
                let (rest, _) = number(&mut at, Key::Yyy)?;
                p.year = Some(thousands * 1000 + rest);
            }
            Key::Yyyy | Key::Iyyy | Key::Yyy | Key::Iyy | Key::Yy | Key::Iy | Key::Y | Key::I => {
                let (y, len) = number(&mut at, key)?;
                // A year of fewer than four digits in a short field is the one nearest 2020.
                let y = if len < 4 && !matches!(key, Key::Yyyy | Key::Iyyy) { nearest_2020(y) } else { y };
                // A negative year counts BC: -5 is 5 BC, astronomical year -4.
                let y = if y < 0 { y + 1 } else { y };
                if matches!(key, Key::Iyyy | Key::Iyy | Key::Iy | Key::I) {
                    p.iso_year = Some(y);
                } else {
                    p.year = Some(y);
                }
            }
            Key::Cc => p.century = Some(number(&mut at, key)?.0),
            Key::Mm => p.month = Some(number(&mut at, key)?.0),
            Key::Dd => p.day = Some(number(&mut at, key)?.0),
            Key::Ddd | Key::Iddd => p.yday = Some(number(&mut at, key)?.0),
            Key::J => p.julian = Some(number(&mut at, key)?.0),
            Key::Hh24 => p.hour = Some(number(&mut at, key)?.0),
            Key::Hh12 => {
                let (h, _) = number(&mut at, key)?;
                if !(1..=12).contains(&h) {
                    return Err(DbError::sql(
                        SqlState::InvalidDatetimeFormat,
                        format!("hour \"{h}\" is invalid for the 12-hour clock"),
                    )
                    .with_hint("Use the 24-hour clock, or give an hour between 1 and 12."));
                }
                p.hour = Some(h);
                p.twelve_hour = true;
            }
            Key::Mi => p.minute = number(&mut at, key)?.0,
            Key::Ss => p.second = number(&mut at, key)?.0,
            Key::Sssss => {
                let (s, _) = number(&mut at, key)?;
                if !(0..86_400).contains(&s) {
                    return Err(out_of_range(input));
                }
                p.seconds_of_day = Some(s);
            }
            Key::Ms | Key::Us | Key::Ff(_) => {
                let (v, len) = number(&mut at, key)?;
                // Fewer digits than the field's width are a fraction: `.5` is 500 ms.
                let width = if key == Key::Ms { 3 } else { 6 };
                let scaled = if len < width { v * 10i64.pow((width - len) as u32) } else { v };
                let limit = if key == Key::Ms { 999 } else { 999_999 };
                if !(0..=limit).contains(&scaled) {
                    return Err(out_of_range(input));
                }
                p.micros = if key == Key::Ms { scaled * 1000 } else { scaled };
            }
            Key::Iw => p.iso_week = Some(number(&mut at, key)?.0),
            Key::Id => p.iso_day = Some(number(&mut at, key)?.0),
            Key::D | Key::Q | Key::W | Key::Ww => {
                number(&mut at, key)?;
            }
        }
    }
    assemble(&p, input)
}

/// PostgreSQL's `adjust_partial_year_to_2020`: 0–69 are 20xx, 70–99 19xx, 100–519 2xxx and
/// 520–999 1xxx.
fn nearest_2020(year: i64) -> i64 {
    match year {
        0..70 => year + 2000,
        70..100 => year + 1900,
        100..520 => year + 2000,
        520..1000 => year + 1000,
        _ => year,
    }
}

fn out_of_range(input: &str) -> DbError {
    DbError::sql(SqlState::DatetimeFieldOverflow, format!("date/time field value out of range: \"{input}\""))
}

fn assemble(p: &Parsed, input: &str) -> Result<i64> {
    use rustydb_foundation::datetime::USECS_PER_DAY;
    let gregorian = p.year.is_some() || p.month.is_some() || p.day.is_some() || p.yday.is_some();
    if gregorian && (p.iso_week.is_some() || p.iso_day.is_some() || p.iso_year.is_some()) {
        return Err(DbError::sql(SqlState::InvalidDatetimeFormat, "invalid combination of date conventions")
            .with_hint("Do not mix Gregorian and ISO week date conventions in a formatting template."));
    }
    let mut year = match (p.year.or(p.iso_year), p.century) {
        (Some(y), _) => y,
        (None, Some(c)) => (c - 1) * 100 + 1,
        // No year at all: year 0, which is 1 BC, as PostgreSQL has it.
        (None, None) => 0,
    };
    if p.bc {
        year = 1 - year;
    }
    let time = {
        let mut hour = p.hour.unwrap_or(0);
        if p.twelve_hour || p.pm.is_some() {
            if p.pm == Some(true) && hour < 12 {
                hour += 12;
            } else if p.pm == Some(false) && hour == 12 {
                hour = 0;
            }
        }
        if !(0..24).contains(&hour) || !(0..60).contains(&p.minute) || !(0..60).contains(&p.second) {
            return Err(out_of_range(input));
        }
        if let Some(s) = p.seconds_of_day {
            s * 1_000_000 + p.micros
        } else {
            ((hour * 60 + p.minute) * 60 + p.second) * 1_000_000 + p.micros
        }
    };
    let days = if let Some(j) = p.julian {
        j - 2_451_545
    } else if let Some(week) = p.iso_week {
        iso_year_start(year) + (week - 1) * 7 + p.iso_day.unwrap_or(1) - 1
    } else if let (Some(yday), None) = (p.yday, p.month) {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        if yday > 365 + i64::from(leap) {
            return Err(out_of_range(input));
        }
        // Day 0 reads as day 1, as PostgreSQL has it.
        days_of(year, 1, 1) + yday.max(1) - 1
    } else {
        let month = p.month.unwrap_or(1);
        let day = p.day.unwrap_or(1);
        if !(1..=12).contains(&month) || day < 1 || day > i64::from(days_in(year, month as u32)) {
            return Err(out_of_range(input));
        }
        days_of(year, month as u32, day as u32)
    };
    let ts =
        days.checked_mul(USECS_PER_DAY).and_then(|d| d.checked_add(time)).ok_or_else(dt::timestamp_out_of_range)?;
    rustydb_foundation::datetime::check_timestamp(ts).map_err(|_| dt::timestamp_out_of_range())
}

fn days_in(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        rustydb_foundation::datetime::parse_timestamp(s, false).unwrap()
    }

    fn fmt(s: &str, template: &str) -> String {
        timestamp_to_char(ts(s), false, template).unwrap().unwrap()
    }

    #[test]
    fn timestamps_format_as_postgres() {
        assert_eq!(fmt("2024-03-05 14:07:09.123456", "YYYY-MM-DD HH24:MI:SS.US"), "2024-03-05 14:07:09.123456");
        assert_eq!(
            fmt("2024-03-05 14:07:09", "Day, DD Month YYYY HH12:MI AM"),
            "Tuesday  , 05 March     2024 02:07 PM"
        );
        assert_eq!(fmt("2024-03-05", "FMDay, FMDDth FMMonth"), "Tuesday, 5th March");
        assert_eq!(fmt("2024-03-11", "DDth ddTH"), "11th 11TH");
        assert_eq!(fmt("2024-03-05", "\"Quarter\" Q, \"week\" IW, J"), "Quarter 1, week 10, 2460375");
        assert_eq!(fmt("0044-03-15 BC", "YYYY BC CC"), "0044 BC -01");
        assert_eq!(fmt("2024-12-30", "IYYY-IW-ID"), "2025-01-1");
    }

    #[test]
    fn intervals_format_and_refuse_calendar_fields() {
        let iv = Interval::new(14, 3, 3_723_000_000);
        assert_eq!(interval_to_char(&iv, "YYYY MM DD HH24:MI:SS").unwrap(), "0001 02 03 01:02:03");
        assert_eq!(interval_to_char(&iv, "Day").unwrap_err().sqlstate().code(), "22007");
    }

    #[test]
    fn templates_parse_back() {
        assert_eq!(parse_timestamp("05 Dec 2000", "DD Mon YYYY").unwrap(), ts("2000-12-05"));
        assert_eq!(parse_timestamp("20240315", "YYYYMMDD").unwrap(), ts("2024-03-15"));
        assert_eq!(
            parse_timestamp("2024-03-15 8:05:09.5 pm", "YYYY-MM-DD HH:MI:SS.MS am").unwrap(),
            ts("2024-03-15 20:05:09.5")
        );
        assert_eq!(parse_timestamp("99-1-2", "YY-MM-DD").unwrap(), ts("1999-01-02"));
        assert_eq!(parse_timestamp("2024/03/15", "YYYY-MM-DD").unwrap(), ts("2024-03-15"));
        assert_eq!(parse_timestamp("2024 2", "YYYY DDD").unwrap(), ts("2024-01-02"));
        assert_eq!(parse_timestamp("2024-02-30", "YYYY-MM-DD").unwrap_err().sqlstate().code(), "22008");
        assert_eq!(parse_timestamp("abc", "YYYY").unwrap_err().sqlstate().code(), "22007");
        assert_eq!(parse_timestamp("13:00", "HH12:MI").unwrap_err().sqlstate().code(), "22007");
    }
}
