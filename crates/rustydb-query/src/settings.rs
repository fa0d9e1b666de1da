//! Session settings: what `SET` changes and `SHOW` prints, with PostgreSQL's names, defaults,
//! units and error codes. The transaction settings act (isolation, read-only, lock waits); the
//! others that clients commonly set are kept and shown so that scripts written for PostgreSQL
//! run, and take effect as the layers that use them arrive.

use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_txn::{IsolationLevel, LockWait};
use std::collections::BTreeMap;
use std::time::Duration;

/// Settings accepted and kept as text (their meaning belongs to later layers), with defaults.
/// `search_path`'s default: the schema named as the user, then `public`.
pub const DEFAULT_SEARCH_PATH: &str = "\"$user\", public";

const KEPT: [(&str, &str); 14] = [
    ("application_name", ""),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("extra_float_digits", "1"),
    ("hash_mem_multiplier", "2"),
    ("intervalstyle", "postgres"),
    ("max_parallel_workers_per_gather", "2"),
    ("search_path", DEFAULT_SEARCH_PATH),
    ("standard_conforming_strings", "on"),
    ("synchronous_commit", "on"),
    ("timezone", "UTC"),
    ("work_mem", "4MB"),
];

/// Settings fixed by the server (PostgreSQL's `internal` context): shown, never set.
fn fixed() -> [(&'static str, String); 8] {
    [
        ("block_size", "8192".into()),
        ("integer_datetimes", "on".into()),
        ("lc_collate", "C".into()),
        ("lc_ctype", "C".into()),
        ("max_identifier_length", "63".into()),
        ("server_encoding", "UTF8".into()),
        ("server_version", rustydb_foundation::version::server_version()),
        ("server_version_num", rustydb_foundation::version::SERVER_VERSION_NUM.into()),
    ]
}

/// True for a setting the server fixes (see [`SessionSettings::set`]'s 55P02).
pub fn is_fixed(name: &str) -> bool {
    fixed().iter().any(|(n, _)| *n == name)
}

/// One session's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    /// `default_transaction_isolation`.
    pub default_isolation: IsolationLevel,
    /// `default_transaction_read_only`.
    pub default_read_only: bool,
    /// `lock_timeout` (zero: wait for ever).
    pub lock_timeout: Duration,
    /// `deadlock_timeout`.
    pub deadlock_timeout: Duration,
    /// `statement_timeout` (kept; the wire layer enforces it).
    pub statement_timeout: Duration,
    /// `idle_in_transaction_session_timeout` (kept; the wire layer enforces it).
    pub idle_in_transaction_timeout: Duration,
    /// `log_min_duration_statement`: statements running at least this long are logged with
    /// their duration (`None`, shown as -1: none are).
    pub log_min_duration_statement: Option<Duration>,
    /// What `RESET log_min_duration_statement` returns to: the server's configured value.
    pub log_min_duration_default: Option<Duration>,
    /// `rustydb.vectorize`: whether plans the vectorized executor can run run on column
    /// batches (on, the default) or all on rows (off: to compare the two, or rule one out).
    pub vectorize: bool,
    /// `role`: the role `SET ROLE` made current (`None`: the session user; shown as `none`).
    /// Checked by the session before it is set (see `roles::check_set_role`).
    pub role: Option<String>,
    kept: BTreeMap<&'static str, String>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            default_isolation: IsolationLevel::ReadCommitted,
            default_read_only: false,
            lock_timeout: Duration::ZERO,
            deadlock_timeout: Duration::from_secs(1),
            statement_timeout: Duration::ZERO,
            idle_in_transaction_timeout: Duration::ZERO,
            log_min_duration_statement: None,
            log_min_duration_default: None,
            vectorize: true,
            role: None,
            kept: KEPT.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }
}

/// What `SHOW` reports about the transaction in progress (its settings shadow the defaults).
#[derive(Debug, Clone, Copy)]
pub struct InTransaction {
    /// Its isolation level.
    pub isolation: IsolationLevel,
    /// Whether it is READ ONLY.
    pub read_only: bool,
}

impl SessionSettings {
    /// How transactions of this session wait for locks.
    pub fn lock_wait(&self) -> LockWait {
        LockWait {
            lock_timeout: (!self.lock_timeout.is_zero()).then_some(self.lock_timeout),
            deadlock_timeout: self.deadlock_timeout,
        }
    }

    /// `work_mem` in bytes: what a sort or hash holds in memory before it spills to disk.
    pub fn work_mem_bytes(&self) -> usize {
        let kb = self.kept.get("work_mem").and_then(|v| parse_work_mem_kb(v).ok()).unwrap_or(DEFAULT_WORK_MEM_KB);
        usize::try_from(kb).unwrap_or(usize::MAX / 1024).saturating_mul(1024)
    }

    /// What a hash table (of an aggregate, a join, a DISTINCT) holds in memory before it spills:
    /// `work_mem` times `hash_mem_multiplier`, as PostgreSQL's `get_hash_memory_limit` has it.
    pub fn hash_mem_bytes(&self) -> usize {
        let multiplier = self
            .kept
            .get("hash_mem_multiplier")
            .and_then(|v| parse_hash_mem_multiplier(v).ok())
            .unwrap_or(DEFAULT_HASH_MEM_MULTIPLIER);
        (self.work_mem_bytes() as f64 * multiplier).min(usize::MAX as f64 / 2.0) as usize
    }

    /// `max_parallel_workers_per_gather`: how many worker threads a parallel scan may start
    /// besides the statement's own (0: none).
    pub fn parallel_workers(&self) -> usize {
        self.kept
            .get("max_parallel_workers_per_gather")
            .and_then(|v| parse_parallel_workers(v).ok())
            .unwrap_or(DEFAULT_PARALLEL_WORKERS)
    }

    /// `search_path`'s text (see `schemas::parse_search_path`).
    pub fn search_path(&self) -> String {
        self.kept.get("search_path").cloned().unwrap_or_else(|| DEFAULT_SEARCH_PATH.to_string())
    }

    /// `application_name`, without copying it.
    pub fn application_name(&self) -> &str {
        self.kept.get("application_name").map_or("", String::as_str)
    }

    /// `SET name = value` (`None`: `SET name TO DEFAULT` / `RESET name`).
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        let name = name.to_ascii_lowercase();
        let defaults = SessionSettings::default();
        match name.as_str() {
            "default_transaction_isolation" => {
                self.default_isolation = match value {
                    None => defaults.default_isolation,
                    Some(v) => parse_isolation(v).ok_or_else(|| invalid_value(&name, v))?,
                }
            }
            "default_transaction_read_only" => {
                self.default_read_only = match value {
                    None => false,
                    Some(v) => parse_bool(v).ok_or_else(|| invalid_value(&name, v))?,
                }
            }
            "lock_timeout" => self.lock_timeout = parse_or(&name, value, defaults.lock_timeout)?,
            "deadlock_timeout" => {
                let d = parse_or(&name, value, defaults.deadlock_timeout)?;
                if d.is_zero() {
                    return Err(DbError::sql(
                        SqlState::InvalidParameterValue,
                        "0 ms is outside the valid range for parameter \"deadlock_timeout\" (1 .. 2147483647)",
                    ));
                }
                self.deadlock_timeout = d;
            }
            "statement_timeout" => self.statement_timeout = parse_or(&name, value, defaults.statement_timeout)?,
            "rustydb.vectorize" => {
                self.vectorize = match value {
                    None => defaults.vectorize,
                    Some(v) => parse_bool(v).ok_or_else(|| invalid_value(&name, v))?,
                }
            }
            "idle_in_transaction_session_timeout" => {
                self.idle_in_transaction_timeout = parse_or(&name, value, defaults.idle_in_transaction_timeout)?
            }
            "role" => {
                self.role = match value {
                    None => None,
                    Some(v) if v.eq_ignore_ascii_case("none") => None,
                    Some(v) => Some(v.to_string()),
                }
            }
            "log_min_duration_statement" => {
                self.log_min_duration_statement = match value.map(str::trim) {
                    None => self.log_min_duration_default,
                    Some("-1") => None,
                    Some(v) => Some(parse_duration_ms(v).ok_or_else(|| invalid_value(&name, v))?),
                }
            }
            "work_mem" => {
                let kb = match value {
                    None => DEFAULT_WORK_MEM_KB,
                    Some(v) => parse_work_mem_kb(v)?,
                };
                self.kept.insert("work_mem", format_kb(kb));
            }
            "max_parallel_workers_per_gather" => {
                let n = match value {
                    None => DEFAULT_PARALLEL_WORKERS,
                    Some(v) => parse_parallel_workers(v)?,
                };
                self.kept.insert("max_parallel_workers_per_gather", n.to_string());
            }
            "hash_mem_multiplier" => {
                let m = match value {
                    None => DEFAULT_HASH_MEM_MULTIPLIER,
                    Some(v) => parse_hash_mem_multiplier(v)?,
                };
                self.kept.insert("hash_mem_multiplier", format_real(m));
            }
            other if is_fixed(other) => {
                return Err(DbError::sql(
                    SqlState::CantChangeRuntimeParam,
                    format!("parameter \"{other}\" cannot be changed"),
                ));
            }
            other => {
                let Some((key, default)) = KEPT.iter().find(|(k, _)| *k == other) else {
                    return Err(unknown(other));
                };
                self.kept.insert(key, value.map_or_else(|| default.to_string(), str::to_string));
            }
        }
        Ok(())
    }

    /// `SHOW name`: the value as PostgreSQL prints it.
    pub fn show(&self, name: &str, txn: Option<InTransaction>) -> Result<String> {
        let name = name.to_ascii_lowercase();
        Ok(match name.as_str() {
            "transaction_isolation" | "transaction isolation level" => {
                txn.map_or(self.default_isolation, |t| t.isolation).name().to_string()
            }
            "transaction_read_only" => on_off(txn.map_or(self.default_read_only, |t| t.read_only)),
            "default_transaction_isolation" => self.default_isolation.name().to_string(),
            "default_transaction_read_only" => on_off(self.default_read_only),
            "lock_timeout" => format_ms(self.lock_timeout),
            "deadlock_timeout" => format_ms(self.deadlock_timeout),
            "statement_timeout" => format_ms(self.statement_timeout),
            "rustydb.vectorize" => on_off(self.vectorize),
            "role" => self.role.clone().unwrap_or_else(|| "none".into()),
            "idle_in_transaction_session_timeout" => format_ms(self.idle_in_transaction_timeout),
            "log_min_duration_statement" => self.log_min_duration_statement.map_or_else(|| "-1".into(), format_ms),
            other => match fixed().into_iter().find(|(n, _)| *n == other) {
                Some((_, value)) => value,
                None => self.kept.get(other).cloned().ok_or_else(|| unknown(other))?,
            },
        })
    }

    /// Every setting and its value, sorted by name (`SHOW ALL`).
    pub fn all(&self, txn: Option<InTransaction>) -> Vec<(String, String)> {
        let mut names: Vec<&str> = KEPT.iter().map(|(k, _)| *k).collect();
        names.extend(fixed().iter().map(|(k, _)| *k));
        names.extend([
            "default_transaction_isolation",
            "default_transaction_read_only",
            "deadlock_timeout",
            "idle_in_transaction_session_timeout",
            "lock_timeout",
            "log_min_duration_statement",
            "role",
            "rustydb.vectorize",
            "statement_timeout",
            "transaction_isolation",
            "transaction_read_only",
        ]);
        names.sort_unstable();
        names.into_iter().filter_map(|n| Some((n.to_string(), self.show(n, txn).ok()?))).collect()
    }
}

/// An isolation level by its SQL name (`read committed`, `REPEATABLE READ`, ...).
pub fn parse_isolation(text: &str) -> Option<IsolationLevel> {
    match text.trim().to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
        "read uncommitted" | "read committed" => Some(IsolationLevel::ReadCommitted),
        "repeatable read" => Some(IsolationLevel::RepeatableRead),
        "serializable" => Some(IsolationLevel::Serializable),
        _ => None,
    }
}

/// A boolean setting as PostgreSQL reads it (`on`, `off`, `true`, `yes`, `1`, ...).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" | "t" | "y" => Some(true),
        "off" | "false" | "no" | "0" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn on_off(b: bool) -> String {
    if b { "on" } else { "off" }.into()
}

fn parse_or(name: &str, value: Option<&str>, default: Duration) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration_ms(v).ok_or_else(|| invalid_value(name, v)),
    }
}

/// A time setting: a number of milliseconds, or a number with a unit (`us`, `ms`, `s`, `min`,
/// `h`, `d`), as PostgreSQL reads it.
pub fn parse_duration_ms(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let ms = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let total = (number * ms).round();
    (total >= 0.0 && total <= i32::MAX as f64).then(|| Duration::from_millis(total as u64))
}

/// A duration in the largest unit that divides it, as `SHOW` prints it (`0`, `250ms`, `1s`,
/// `1min`).
pub fn format_ms(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0".into();
    }
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

fn unknown(name: &str) -> DbError {
    DbError::sql(SqlState::UndefinedObject, format!("unrecognized configuration parameter \"{name}\""))
}

/// `max_parallel_workers_per_gather`'s default (as in PostgreSQL 15).
pub const DEFAULT_PARALLEL_WORKERS: usize = 2;

/// `max_parallel_workers_per_gather`: an integer in 0 .. 1024 (a fraction is rounded, as
/// PostgreSQL's `parse_int` rounds it).
pub fn parse_parallel_workers(text: &str) -> Result<usize> {
    let name = "max_parallel_workers_per_gather";
    let n: f64 = text.trim().parse().map_err(|_| invalid_value(name, text))?;
    if !n.is_finite() {
        return Err(invalid_value(name, text));
    }
    // Rounded as C's rint rounds (half to even), as PostgreSQL's parse_int does.
    let n = n.round_ties_even() + 0.0;
    if !(0.0..=1024.0).contains(&n) {
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("{n} is outside the valid range for parameter \"{name}\" (0 .. 1024)"),
        ));
    }
    Ok(n as usize)
}

/// `hash_mem_multiplier`'s default (as in PostgreSQL 15).
pub const DEFAULT_HASH_MEM_MULTIPLIER: f64 = 2.0;

/// `hash_mem_multiplier`: a real number in 1 .. 1000, read as `strtod` reads it.
pub fn parse_hash_mem_multiplier(text: &str) -> Result<f64> {
    let name = "hash_mem_multiplier";
    let m: f64 = text.trim().parse().map_err(|_| invalid_value(name, text))?;
    if m.is_nan() {
        return Err(invalid_value(name, text));
    }
    if !(1.0..=1000.0).contains(&m) {
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("{} is outside the valid range for parameter \"{name}\" (1 .. 1000)", format_real(m)),
        ));
    }
    Ok(m)
}

/// A real setting as `SHOW` prints it: C's `%g`, six significant digits without trailing
/// zeros (`2`, `1.5`, `100`, `1.23457`).
pub(crate) fn format_real(m: f64) -> String {
    // The exponent after rounding to six digits (999.9999 rounds to 1000).
    let scientific = format!("{m:.5e}");
    let exponent: i32 = scientific.rsplit('e').next().and_then(|e| e.parse().ok()).unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        let (mantissa, _) = scientific.split_once('e').unwrap_or((&scientific, ""));
        let mantissa = trim_fraction(mantissa);
        return format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs());
    }
    let decimals = usize::try_from(5 - exponent).unwrap_or(0);
    trim_fraction(&format!("{m:.decimals$}")).to_string()
}

/// `text` without the trailing zeros of its fraction (and without a bare point).
fn trim_fraction(text: &str) -> &str {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { text }
}

/// `work_mem`'s default, in kilobytes (4MB, as in PostgreSQL).
pub const DEFAULT_WORK_MEM_KB: i64 = 4096;

/// A memory setting's value in kilobytes, read as PostgreSQL's `parse_int` reads one whose base
/// unit is kB: an integer as C's `strtol` reads it in base 0 (so `0x40` and `0100` are 64), or a
/// decimal fraction or exponent as `strtod` reads it; then optionally one of the units `B`,
/// `kB`, `MB`, `GB`, `TB`, spelled exactly so. A fractional value is rounded to a whole number
/// of the next smaller unit (`1.0001GB` is 1024MB), then to whole kilobytes. `work_mem`'s range
/// is 64 .. 2147483647 kB.
pub fn parse_work_mem_kb(text: &str) -> Result<i64> {
    let name = "work_mem";
    let invalid = || invalid_value(name, text);
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let start = text.trim_start_matches(is_space);
    let (number, rest) = match c_integer(start) {
        Some((n, rest)) if !rest.starts_with(['.', 'e', 'E']) => (n as f64, rest),
        _ => c_decimal(start).ok_or_else(invalid)?,
    };
    let unit = rest.trim_matches(is_space);
    // (multiplier to kB, the next smaller unit's multiplier a fraction is rounded to)
    let (scale, round_to) = match unit {
        "" => (1.0, None),
        "TB" => (1024.0 * 1024.0 * 1024.0, Some(1024.0 * 1024.0)),
        "GB" => (1024.0 * 1024.0, Some(1024.0)),
        "MB" => (1024.0, Some(1.0)),
        "kB" => (1.0, Some(1.0 / 1024.0)),
        "B" => (1.0 / 1024.0, None),
        _ => {
            return Err(
                invalid().with_hint("Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
            );
        }
    };
    let mut kb = number * scale;
    if let Some(step) = round_to {
        kb = (kb / step).round_ties_even() * step;
    }
    let kb = kb.round_ties_even();
    if !kb.is_finite() || kb > f64::from(i32::MAX) || kb < f64::from(i32::MIN) {
        return Err(invalid().with_hint("Value exceeds integer range."));
    }
    let kb = kb as i64;
    if !(64..=i64::from(i32::MAX)).contains(&kb) {
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("{kb} kB is outside the valid range for parameter \"{name}\" (64 .. 2147483647)"),
        ));
    }
    Ok(kb)
}

/// An integer at the start of `text` as `strtol(text, &end, 0)` reads it (sign, then `0x` hex,
/// `0` octal or decimal), with what follows; `None` if there is none or it overflows.
fn c_integer(text: &str) -> Option<(i64, &str)> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let bytes = body.as_bytes();
    let (radix, digits_at) = match bytes {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, 2),
        [b'0', ..] => (8, 0),
        _ => (10, 0),
    };
    let digits = body[digits_at..].bytes().take_while(|b| (*b as char).is_digit(radix)).count();
    if digits == 0 {
        return None;
    }
    let magnitude = i64::from_str_radix(&body[digits_at..digits_at + digits], radix).ok()?;
    Some((if negative { -magnitude } else { magnitude }, &body[digits_at + digits..]))
}

/// A decimal number at the start of `text` as `strtod` reads one (sign, digits with an optional
/// point, an optional exponent), with what follows.
fn c_decimal(text: &str) -> Option<(f64, &str)> {
    let bytes = text.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let whole = digits(end);
    end += whole;
    let mut fraction = 0;
    if bytes.get(end) == Some(&b'.') {
        fraction = digits(end + 1);
        end += 1 + fraction;
    }
    if whole + fraction == 0 {
        return None;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'-' | b'+')));
        let exponent = digits(end + 1 + sign);
        if exponent > 0 {
            end += 1 + sign + exponent;
        }
    }
    Some((text[..end].parse().ok()?, &text[end..]))
}

/// Kilobytes as PostgreSQL shows a memory setting: in the largest unit that divides them.
fn format_kb(kb: i64) -> String {
    const UNITS: [(i64, &str); 3] = [(1 << 30, "TB"), (1 << 20, "GB"), (1 << 10, "MB")];
    match UNITS.iter().find(|(size, _)| kb % size == 0) {
        Some((size, unit)) => format!("{}{unit}", kb / size),
        None => format!("{kb}kB"),
    }
}

fn invalid_value(name: &str, value: &str) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, format!("invalid value for parameter \"{name}\": \"{value}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_parallel_workers_per_gather_reads_as_postgres_does() {
        let mut s = SessionSettings::default();
        assert_eq!(s.parallel_workers(), 2);
        for (given, shown) in [("0", "0"), ("1024", "1024"), ("3.5", "4"), ("2.5", "2"), ("-0.4", "0"), (" 1 ", "1")] {
            s.set("max_parallel_workers_per_gather", Some(given)).unwrap();
            assert_eq!(s.show("max_parallel_workers_per_gather", None).unwrap(), shown, "{given}");
        }
        for (bad, message) in [
            ("1025", "1025 is outside the valid range for parameter \"max_parallel_workers_per_gather\" (0 .. 1024)"),
            ("-1", "-1 is outside the valid range for parameter \"max_parallel_workers_per_gather\" (0 .. 1024)"),
            ("abc", "invalid value for parameter \"max_parallel_workers_per_gather\": \"abc\""),
        ] {
            let e = s.set("max_parallel_workers_per_gather", Some(bad)).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::InvalidParameterValue, "{bad}");
            assert_eq!(e.to_string(), message);
        }
        assert_eq!(s.parallel_workers(), 1);
    }

    #[test]
    fn hash_mem_multiplier_reads_and_prints_as_postgres_does() {
        let mut s = SessionSettings::default();
        assert_eq!(s.show("hash_mem_multiplier", None).unwrap(), "2");
        assert_eq!(s.hash_mem_bytes(), 8 << 20);
        // Shown as PostgreSQL 15 shows them.
        for (given, shown) in [
            ("1.5", "1.5"),
            ("2.0", "2"),
            ("1e2", "100"),
            (" 3 ", "3"),
            ("1000", "1000"),
            ("1.23456789", "1.23457"),
            ("999.9999", "1000"),
            ("1.000001", "1"),
        ] {
            s.set("hash_mem_multiplier", Some(given)).unwrap();
            assert_eq!(s.show("hash_mem_multiplier", None).unwrap(), shown, "{given}");
        }
        s.set("work_mem", Some("1MB")).unwrap();
        s.set("hash_mem_multiplier", Some("1.5")).unwrap();
        assert_eq!(s.hash_mem_bytes(), 1536 << 10);
        for (bad, message) in [
            ("0.5", "0.5 is outside the valid range for parameter \"hash_mem_multiplier\" (1 .. 1000)"),
            ("1001", "1001 is outside the valid range for parameter \"hash_mem_multiplier\" (1 .. 1000)"),
            ("abc", "invalid value for parameter \"hash_mem_multiplier\": \"abc\""),
        ] {
            let e = s.set("hash_mem_multiplier", Some(bad)).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::InvalidParameterValue, "{bad}");
            assert_eq!(e.to_string(), message);
        }
        assert_eq!(s.show("hash_mem_multiplier", None).unwrap(), "1.5", "a refused value changes nothing");
        s.set("hash_mem_multiplier", None).unwrap();
        assert_eq!(s.show("hash_mem_multiplier", None).unwrap(), "2");
    }

    #[test]
    fn work_mem_reads_and_prints_as_postgres_does() {
        let mut s = SessionSettings::default();
        assert_eq!(s.work_mem_bytes(), 4 << 20);
        for (given, shown) in [
            ("65536", "64MB"),
            ("1000kB", "1000kB"),
            ("2048MB", "2GB"),
            ("65536B", "64kB"),
            ("100000B", "98kB"),
            ("1.5MB", "1536kB"),
            (" 8 MB ", "8MB"),
            ("1TB", "1TB"),
        ] {
            s.set("work_mem", Some(given)).unwrap();
            assert_eq!(s.show("work_mem", None).unwrap(), shown, "{given}");
        }
        assert_eq!(s.work_mem_bytes(), 1 << 40);
        for (given, kb) in [("1e3", 1000), ("1.5e3kB", 1500), ("0x40", 64), ("0100", 64), (".5MB", 512), ("64 kB", 64)]
        {
            assert_eq!(parse_work_mem_kb(given).unwrap(), kb, "{given}");
        }
        assert_eq!(parse_work_mem_kb("1.0001GB").unwrap(), 1_048_576, "rounded to whole megabytes first");
        assert!(parse_work_mem_kb("0.0001GB").is_err(), "0 kB once rounded to megabytes");
        for bad in ["abc", "10", "-1", "8mb", "3TB", "", "9999999999", "0x", "e3"] {
            let e = s.set("work_mem", Some(bad)).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::InvalidParameterValue, "{bad}");
        }
        assert!(s.set("work_mem", Some("8mb")).unwrap_err().hint().unwrap().contains("\"kB\""));
        assert!(s.set("work_mem", Some("10")).unwrap_err().to_string().contains("10 kB is outside the valid range"));
        assert_eq!(s.show("work_mem", None).unwrap(), "1TB", "a refused value changes nothing");
        s.set("work_mem", None).unwrap();
        assert_eq!(s.show("work_mem", None).unwrap(), "4MB");
    }

    #[test]
    fn time_settings_read_and_print_as_postgres_does() {
        let mut s = SessionSettings::default();
        assert_eq!(s.show("lock_timeout", None).unwrap(), "0");
        assert_eq!(s.show("deadlock_timeout", None).unwrap(), "1s");
        s.set("lock_timeout", Some("1500")).unwrap();
        assert_eq!(s.show("lock_timeout", None).unwrap(), "1500ms");
        s.set("LOCK_TIMEOUT", Some("2min")).unwrap();
        assert_eq!(s.show("lock_timeout", None).unwrap(), "2min");
        assert_eq!(s.lock_wait().lock_timeout, Some(Duration::from_secs(120)));
        s.set("lock_timeout", None).unwrap();
        assert_eq!(s.lock_wait().lock_timeout, None);
        assert_eq!(s.set("lock_timeout", Some("soon")).unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
        assert_eq!(s.set("deadlock_timeout", Some("0")).unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
        assert_eq!(s.show("log_min_duration_statement", None).unwrap(), "-1");
        s.set("log_min_duration_statement", Some("250ms")).unwrap();
        assert_eq!(s.show("log_min_duration_statement", None).unwrap(), "250ms");
        s.set("log_min_duration_statement", Some("0")).unwrap();
        assert_eq!(s.log_min_duration_statement, Some(Duration::ZERO));
        s.log_min_duration_default = Some(Duration::from_secs(1));
        s.set("log_min_duration_statement", None).unwrap();
        assert_eq!(s.show("log_min_duration_statement", None).unwrap(), "1s");
        s.set("log_min_duration_statement", Some("-1")).unwrap();
        assert_eq!(s.log_min_duration_statement, None);
    }

    #[test]
    fn isolation_defaults_and_unknown_names() {
        let mut s = SessionSettings::default();
        s.set("default_transaction_isolation", Some("Repeatable  Read")).unwrap();
        assert_eq!(s.show("transaction_isolation", None).unwrap(), "repeatable read");
        let txn = InTransaction { isolation: IsolationLevel::Serializable, read_only: true };
        assert_eq!(s.show("transaction_isolation", Some(txn)).unwrap(), "serializable");
        assert_eq!(s.show("transaction_read_only", Some(txn)).unwrap(), "on");
        let err = s.set("no_such_thing", Some("1")).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::UndefinedObject);
        assert_eq!(err.to_string(), "unrecognized configuration parameter \"no_such_thing\"");
        s.set("application_name", Some("bench")).unwrap();
        assert_eq!(s.show("application_name", None).unwrap(), "bench");
        assert!(s.all(None).iter().any(|(k, v)| k == "application_name" && v == "bench"));
    }
}
