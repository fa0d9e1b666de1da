//! PostgreSQL's string functions beyond the few the binder knows by heart: padding,
//! splitting, quoting, hashing, `format`, and the `regexp_*` family.
//!
//! [`signature`] says which exist and what their arguments become; [`eval`] computes a strict
//! call on non-NULL arguments and [`eval_lenient`] the few that take NULLs (`concat_ws`,
//! `format`, `quote_nullable`, `string_to_array`). Every result and error was checked against
//! PostgreSQL 15 (`tests/sql/text_functions.slt`). Lengths count characters, not bytes, as
//! PostgreSQL does in a UTF8 database.

use crate::functions::{int, text};
use crate::regex_match;
use rustydb_foundation::{DataType, DbError, ElementType, Result, SqlState, Value};

/// The longest string a padding or repeating function builds (PostgreSQL's limit is 1 GB of
/// bytes; past it, 54000).
const MAX_CHARS: usize = 256 << 20;

/// One of the string functions of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFn {
    /// `lpad(s, n [, fill])`
    Lpad,
    /// `rpad(s, n [, fill])`
    Rpad,
    /// `split_part(s, delimiter, n)`
    SplitPart,
    /// `initcap(s)`
    Initcap,
    /// `md5(text | bytea)`: hex digits.
    Md5,
    /// `sha256(bytea)`
    Sha256,
    /// `sha384(bytea)`
    Sha384,
    /// `sha512(bytea)`
    Sha512,
    /// `chr(code)`
    Chr,
    /// `ascii(s)`: the first character's code.
    Ascii,
    /// `translate(s, from, to)`
    Translate,
    /// `starts_with(s, prefix)`
    StartsWith,
    /// `to_hex(int | bigint)`
    ToHex,
    /// `pg_size_pretty(bigint | numeric)`
    SizePretty,
    /// `quote_ident(s)`
    QuoteIdent,
    /// `quote_literal(value)`
    QuoteLiteral,
    /// `quote_nullable(value)`: `NULL` for NULL.
    QuoteNullable,
    /// `concat_ws(separator, ...)`
    ConcatWs,
    /// `format(template, ...)`
    Format,
    /// `regexp_replace(s, pattern, replacement [, flags])`
    RegexpReplace,
    /// `regexp_match(s, pattern [, flags])`: the first match's groups.
    RegexpMatch,
    /// `regexp_like(s, pattern [, flags])`
    RegexpLike,
    /// `regexp_count(s, pattern [, start [, flags]])`
    RegexpCount,
    /// `string_to_array(s, delimiter [, null_string])`
    StringToArray,
    /// `regexp_split_to_array(s, pattern [, flags])`
    RegexpSplitToArray,
    /// `bit_length(text)`
    BitLength,
    /// `num_nulls(...)`
    NumNulls,
    /// `num_nonnulls(...)`
    NumNonNulls,
    /// `overlay(s placing r from n [for m])`
    Overlay,
}

impl TextFn {
    /// The SQL name (for EXPLAIN).
    pub fn name(self) -> &'static str {
        match self {
            TextFn::Lpad => "lpad",
            TextFn::Rpad => "rpad",
            TextFn::SplitPart => "split_part",
            TextFn::Initcap => "initcap",
            TextFn::Md5 => "md5",
            TextFn::Sha256 => "sha256",
            TextFn::Sha384 => "sha384",
            TextFn::Sha512 => "sha512",
            TextFn::Chr => "chr",
            TextFn::Ascii => "ascii",
            TextFn::Translate => "translate",
            TextFn::StartsWith => "starts_with",
            TextFn::ToHex => "to_hex",
            TextFn::SizePretty => "pg_size_pretty",
            TextFn::QuoteIdent => "quote_ident",
            TextFn::QuoteLiteral => "quote_literal",
            TextFn::QuoteNullable => "quote_nullable",
            TextFn::ConcatWs => "concat_ws",
            TextFn::Format => "format",
            TextFn::RegexpReplace => "regexp_replace",
            TextFn::RegexpMatch => "regexp_match",
            TextFn::RegexpLike => "regexp_like",
            TextFn::RegexpCount => "regexp_count",
            TextFn::StringToArray => "string_to_array",
            TextFn::RegexpSplitToArray => "regexp_split_to_array",
            TextFn::BitLength => "bit_length",
            TextFn::NumNulls => "num_nulls",
            TextFn::NumNonNulls => "num_nonnulls",
            TextFn::Overlay => "overlay",
        }
    }

    /// False for the functions that see NULL arguments ([`eval_lenient`]).
    pub fn is_strict(self) -> bool {
        !matches!(
            self,
            TextFn::ConcatWs
                | TextFn::Format
                | TextFn::QuoteNullable
                | TextFn::StringToArray
                | TextFn::NumNulls
                | TextFn::NumNonNulls
        )
    }
}

/// What an argument becomes when bound: cast to a type, or kept (an untyped literal read as
/// text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Cast (implicitly) to this type.
    To(DataType),
    /// Kept as it is; an untyped literal becomes text.
    Any,
}

/// The function `name` of arguments `types`, what each argument becomes, and the result type;
/// `None` if no function of this module matches.
pub fn signature(name: &str, types: &[DataType]) -> Option<(TextFn, Vec<Arg>, DataType)> {
    use DataType as T;
    let s = |t: &DataType| t.is_string();
    let i = |t: &DataType| t.is_integer() || *t == T::Unknown;
    let text = Arg::To(T::Text);
    let int = Arg::To(T::Int4);
    let bytes = |t: &DataType| matches!(t, T::Bytea | T::Unknown);
    let (f, args, ty) = match (name, types) {
        ("lpad" | "rpad", [a, n]) if s(a) && i(n) => (pad(name), vec![text, int], T::Text),
        ("lpad" | "rpad", [a, n, f]) if s(a) && i(n) && s(f) => (pad(name), vec![text, int, text], T::Text),
        ("split_part", [a, d, n]) if s(a) && s(d) && i(n) => (TextFn::SplitPart, vec![text, text, int], T::Text),
        ("initcap", [a]) if s(a) => (TextFn::Initcap, vec![text], T::Text),
        ("md5", [T::Bytea]) => (TextFn::Md5, vec![Arg::To(T::Bytea)], T::Text),
        ("md5", [a]) if s(a) => (TextFn::Md5, vec![text], T::Text),
        ("sha256" | "sha384" | "sha512", [b]) if bytes(b) => {
            let f = match name {
                "sha256" => TextFn::Sha256,
                "sha384" => TextFn::Sha384,
                _ => TextFn::Sha512,
            };
            (f, vec![Arg::To(T::Bytea)], T::Bytea)
        }
        ("chr", [n]) if i(n) => (TextFn::Chr, vec![int], T::Text),
        ("ascii", [a]) if s(a) => (TextFn::Ascii, vec![text], T::Int4),
        ("translate", [a, b, c]) if s(a) && s(b) && s(c) => (TextFn::Translate, vec![text, text, text], T::Text),
        ("starts_with", [a, b]) if s(a) && s(b) => (TextFn::StartsWith, vec![text, text], T::Bool),
        ("to_hex", [T::Int8]) => (TextFn::ToHex, vec![Arg::To(T::Int8)], T::Text),
        ("to_hex", [n]) if i(n) => (TextFn::ToHex, vec![int], T::Text),
        ("pg_size_pretty", [T::Int8]) => (TextFn::SizePretty, vec![Arg::To(T::Int8)], T::Text),
        ("pg_size_pretty", [T::Numeric(_)]) => (TextFn::SizePretty, vec![Arg::Any], T::Text),
        ("quote_ident", [a]) if s(a) => (TextFn::QuoteIdent, vec![text], T::Text),
        ("quote_literal", [_]) => (TextFn::QuoteLiteral, vec![Arg::Any], T::Text),
        ("quote_nullable", [_]) => (TextFn::QuoteNullable, vec![Arg::Any], T::Text),
        ("concat_ws", [sep, rest @ ..]) if s(sep) && !rest.is_empty() => {
            (TextFn::ConcatWs, std::iter::once(text).chain(rest.iter().map(|_| Arg::Any)).collect(), T::Text)
        }
        ("format", [f, rest @ ..]) if s(f) => {
            (TextFn::Format, std::iter::once(text).chain(rest.iter().map(|_| Arg::Any)).collect(), T::Text)
        }
        ("regexp_replace", [a, p, r]) if s(a) && s(p) && s(r) => (TextFn::RegexpReplace, vec![text; 3], T::Text),
        ("regexp_replace", [a, p, r, f]) if [a, p, r, f].iter().all(|t| s(t)) => {
            (TextFn::RegexpReplace, vec![text; 4], T::Text)
        }
        ("regexp_match", [a, p]) if s(a) && s(p) => (TextFn::RegexpMatch, vec![text; 2], T::Array(ElementType::Text)),
        ("regexp_match", [a, p, f]) if s(a) && s(p) && s(f) => {
            (TextFn::RegexpMatch, vec![text; 3], T::Array(ElementType::Text))
        }
        ("regexp_like", [a, p]) if s(a) && s(p) => (TextFn::RegexpLike, vec![text; 2], T::Bool),
        ("regexp_like", [a, p, f]) if s(a) && s(p) && s(f) => (TextFn::RegexpLike, vec![text; 3], T::Bool),
        ("regexp_count", [a, p]) if s(a) && s(p) => (TextFn::RegexpCount, vec![text; 2], T::Int4),
        ("regexp_count", [a, p, n]) if s(a) && s(p) && i(n) => (TextFn::RegexpCount, vec![text, text, int], T::Int4),
        ("regexp_count", [a, p, n, f]) if s(a) && s(p) && i(n) && s(f) => {
            (TextFn::RegexpCount, vec![text, text, int, text], T::Int4)
        }
        ("regexp_split_to_array", [a, p]) if s(a) && s(p) => {
            (TextFn::RegexpSplitToArray, vec![text; 2], T::Array(ElementType::Text))
        }
        ("regexp_split_to_array", [a, p, f]) if s(a) && s(p) && s(f) => {
            (TextFn::RegexpSplitToArray, vec![text; 3], T::Array(ElementType::Text))
        }
        ("bit_length", [T::Bytea]) => (TextFn::BitLength, vec![Arg::To(T::Bytea)], T::Int4),
        ("bit_length", [a]) if s(a) => (TextFn::BitLength, vec![text], T::Int4),
        ("num_nulls" | "num_nonnulls", args) if !args.is_empty() => {
            let f = if name == "num_nulls" { TextFn::NumNulls } else { TextFn::NumNonNulls };
            (f, args.iter().map(|_| Arg::Any).collect(), T::Int4)
        }
        ("overlay", [a, r, n]) if s(a) && s(r) && i(n) => (TextFn::Overlay, vec![text, text, int], T::Text),
        ("overlay", [a, r, n, l]) if s(a) && s(r) && i(n) && i(l) => {
            (TextFn::Overlay, vec![text, text, int, int], T::Text)
        }
        ("string_to_array", [a, d]) if s(a) && s(d) => {
            (TextFn::StringToArray, vec![text; 2], T::Array(ElementType::Text))
        }
        ("string_to_array", [a, d, n]) if s(a) && s(d) && s(n) => {
            (TextFn::StringToArray, vec![text; 3], T::Array(ElementType::Text))
        }
        _ => return None,
    };
    Some((f, args, ty))
}

fn pad(name: &str) -> TextFn {
    if name == "lpad" { TextFn::Lpad } else { TextFn::Rpad }
}

fn too_long() -> DbError {
    DbError::sql(SqlState::ProgramLimitExceeded, "requested length too large")
}

/// A byte count as `pg_size_pretty` prints it: bytes below 10 kB, then the largest of kB, MB,
/// GB, TB and PB that keeps the number under 20479 halves (rounded half away from zero), as
/// PostgreSQL 15's `pg_size_pretty` steps through its units.
fn size_pretty(bytes: i64) -> String {
    if bytes.unsigned_abs() < 10 * 1024 {
        return format!("{bytes} bytes");
    }
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    // One extra bit kept for the rounding; division rather than a shift, so that negative
    // sizes round as positive ones do.
    let mut size = bytes / 512;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.unsigned_abs() < 20 * 1024 - 1 {
            return format!("{} {unit}", half_rounded(size));
        }
        size /= 1024;
    }
    format!("{} PB", half_rounded(size))
}

/// Evaluates a strict function on non-NULL arguments.
pub fn eval(f: TextFn, v: &[Value]) -> Result<Value> {
    Ok(match f {
        TextFn::Lpad | TextFn::Rpad => {
            let fill = v.get(2).map_or(" ", text);
            Value::Text(pad_text(text(&v[0]), int(&v[1]), fill, f == TextFn::Lpad)?)
        }
        TextFn::SplitPart => Value::Text(split_part(text(&v[0]), text(&v[1]), int(&v[2]))?),
        TextFn::Initcap => Value::Text(initcap(text(&v[0]))),
        TextFn::Md5 => {
            use md5::Digest;
            let digest = match &v[0] {
                Value::Bytea(b) => md5::Md5::digest(b),
                other => md5::Md5::digest(text(other).as_bytes()),
            };
            Value::Text(digest.iter().map(|b| format!("{b:02x}")).collect())
        }
        TextFn::Sha256 | TextFn::Sha384 | TextFn::Sha512 => {
            let algorithm = match f {
                TextFn::Sha256 => &ring::digest::SHA256,
                TextFn::Sha384 => &ring::digest::SHA384,
                _ => &ring::digest::SHA512,
            };
            let data: &[u8] = match &v[0] {
                Value::Bytea(b) => b,
                other => text(other).as_bytes(),
            };
            Value::Bytea(ring::digest::digest(algorithm, data).as_ref().to_vec())
        }
        TextFn::Chr => Value::Text(chr(int(&v[0]))?.to_string()),
        TextFn::Ascii => Value::Int4(text(&v[0]).chars().next().map_or(0, |c| c as i32)),
        TextFn::Translate => Value::Text(translate(text(&v[0]), text(&v[1]), text(&v[2]))),
        TextFn::StartsWith => Value::Bool(text(&v[0]).starts_with(text(&v[1]))),
        TextFn::ToHex => Value::Text(match v[0] {
            Value::Int8(n) => format!("{:x}", n as u64),
            ref other => format!("{:x}", int(other) as i32 as u32),
        }),
        TextFn::SizePretty => Value::Text(match &v[0] {
            // Beyond bigint's range only exabytes remain: the count saturates there.
            Value::Numeric(n) => {
                size_pretty(n.to_i128_rounded().map_or(i64::MAX, |b| b.clamp(i64::MIN.into(), i64::MAX.into()) as i64))
            }
            other => size_pretty(int(other)),
        }),
        TextFn::QuoteIdent => Value::Text(crate::sql_names::quote_identifier(text(&v[0]))),
        TextFn::QuoteLiteral => Value::Text(quote_literal(&v[0].to_pg_text().unwrap_or_default())),
        TextFn::RegexpReplace => {
            let flags = Flags::parse(v.get(3).map_or("", text))?;
            Value::Text(regexp_replace(text(&v[0]), text(&v[1]), text(&v[2]), flags)?)
        }
        TextFn::RegexpMatch => {
            let flags = Flags::parse(v.get(2).map_or("", text))?;
            if flags.global {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    "regexp_match() does not support the \"global\" option",
                )
                .with_hint("Use the regexp_matches function instead."));
            }
            regexp_match(text(&v[0]), text(&v[1]), flags)?
        }
        TextFn::RegexpLike => {
            let flags = Flags::parse(v.get(2).map_or("", text))?;
            if flags.global {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    "regexp_like() does not support the \"global\" option",
                ));
            }
            let (s, pattern) = (text(&v[0]), text(&v[1]));
            Value::Bool(regex_match::with_regex(pattern, flags.options(), |re| re.is_match(s))?)
        }
        TextFn::RegexpCount => {
            let start = v.get(2).map_or(1, int);
            if start <= 0 {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    format!("invalid value for parameter \"start\": {start}"),
                ));
            }
            let flags = Flags::parse(v.get(3).map_or("", text))?;
            if flags.global {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    "regexp_count() does not support the \"global\" option",
                ));
            }
            let s = text(&v[0]);
            let from = s.char_indices().nth(start as usize - 1).map_or(s.len(), |(at, _)| at);
            let count = regex_match::with_regex(text(&v[1]), flags.options(), |re| matches(re, s, from).count())?;
            Value::Int4(count as i32)
        }
        TextFn::RegexpSplitToArray => {
            let flags = Flags::parse(v.get(2).map_or("", text))?;
            if flags.global {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    "regexp_split_to_array() does not support the \"global\" option",
                ));
            }
            let parts = regexp_split(text(&v[0]), text(&v[1]), flags)?;
            Value::Array(ElementType::Text, parts.into_iter().map(Value::Text).collect())
        }
        TextFn::BitLength => {
            let bytes = match &v[0] {
                Value::Bytea(b) => b.len(),
                other => text(other).len(),
            };
            Value::Int4(i32::try_from(bytes * 8).map_err(|_| crate::types::out_of_range(DataType::Int4))?)
        }
        TextFn::Overlay => {
            let s: Vec<char> = text(&v[0]).chars().collect();
            let replacement = text(&v[1]);
            let from = int(&v[2]);
            let count = v.get(3).map_or(replacement.chars().count() as i64, int);
            if from < 1 || count < 0 {
                return Err(DbError::sql(SqlState::SubstringError, "negative substring length not allowed"));
            }
            let head = (from - 1).min(s.len() as i64) as usize;
            // PostgreSQL computes from + count as an integer, which may overflow.
            let end = from.checked_add(count).filter(|e| *e <= i64::from(i32::MAX));
            let tail =
                (end.ok_or_else(|| crate::types::out_of_range(DataType::Int4))? - 1).min(s.len() as i64) as usize;
            let mut out: String = s[..head].iter().collect();
            out.push_str(replacement);
            out.extend(&s[tail..]);
            Value::Text(out)
        }
        TextFn::QuoteNullable
        | TextFn::ConcatWs
        | TextFn::Format
        | TextFn::StringToArray
        | TextFn::NumNulls
        | TextFn::NumNonNulls => eval_lenient(f, v)?,
    })
}

/// Evaluates one of the functions that take NULL arguments.
pub fn eval_lenient(f: TextFn, v: &[Value]) -> Result<Value> {
    Ok(match f {
        TextFn::QuoteNullable => match v[0].to_pg_text() {
            None => Value::Text("NULL".into()),
            Some(s) => Value::Text(quote_literal(&s)),
        },
        TextFn::ConcatWs => {
            let Value::Text(sep) = &v[0] else { return Ok(Value::Null) };
            let parts: Vec<String> = v[1..].iter().filter_map(Value::to_pg_text).collect();
            Value::Text(parts.join(sep))
        }
        TextFn::Format => {
            let Value::Text(template) = &v[0] else { return Ok(Value::Null) };
            Value::Text(format(template, &v[1..])?)
        }
        TextFn::StringToArray => {
            let Value::Text(s) = &v[0] else { return Ok(Value::Null) };
            let null = match v.get(2) {
                Some(Value::Text(n)) => Some(n.as_str()),
                _ => None,
            };
            let parts: Vec<&str> = match &v[1] {
                _ if s.is_empty() => Vec::new(),
                Value::Text(d) if d.is_empty() => vec![s.as_str()],
                Value::Text(d) => s.split(d.as_str()).collect(),
                // A NULL delimiter splits into characters.
                _ => s.char_indices().map(|(at, c)| &s[at..at + c.len_utf8()]).collect(),
            };
            let elements = parts
                .into_iter()
                .map(|p| if Some(p) == null { Value::Null } else { Value::Text(p.to_string()) })
                .collect();
            Value::Array(ElementType::Text, elements)
        }
        TextFn::NumNulls => Value::Int4(v.iter().filter(|x| x.is_null()).count() as i32),
        TextFn::NumNonNulls => Value::Int4(v.iter().filter(|x| !x.is_null()).count() as i32),
        strict => {
            if v.iter().any(Value::is_null) {
                Value::Null
            } else {
                eval(strict, v)?
            }
        }
    })
}

fn pad_text(s: &str, length: i64, fill: &str, left: bool) -> Result<String> {
    let length = usize::try_from(length).unwrap_or(0);
    if length > MAX_CHARS {
        return Err(too_long());
    }
    let have = s.chars().count();
    if have >= length {
        return Ok(s.chars().take(length).collect());
    }
    if fill.is_empty() {
        return Ok(s.to_string());
    }
    let padding: String = fill.chars().cycle().take(length - have).collect();
    Ok(if left { padding + s } else { s.to_string() + &padding })
}

fn split_part(s: &str, delimiter: &str, n: i64) -> Result<String> {
    if n == 0 {
        return Err(DbError::sql(SqlState::InvalidParameterValue, "field position must not be zero"));
    }
    if s.is_empty() {
        return Ok(String::new());
    }
    if delimiter.is_empty() {
        return Ok(if n == 1 || n == -1 { s.to_string() } else { String::new() });
    }
    let found = if n > 0 {
        s.split(delimiter).nth(n as usize - 1)
    } else {
        s.rsplit(delimiter).nth(n.unsigned_abs() as usize - 1)
    };
    Ok(found.unwrap_or("").to_string())
}

/// Each word's first letter upper case and the rest lower case; a word is a run of letters
/// and digits.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_alphanumeric();
    }
    out
}

fn chr(code: i64) -> Result<char> {
    let limit = |message: String| DbError::sql(SqlState::ProgramLimitExceeded, message);
    if code < 0 {
        return Err(DbError::sql(SqlState::InvalidParameterValue, "character number must be positive"));
    }
    if code == 0 {
        return Err(limit("null character not permitted".into()));
    }
    if code > 0x10FFFF {
        return Err(limit(format!("requested character too large for encoding: {code}")));
    }
    char::from_u32(code as u32).ok_or_else(|| limit(format!("requested character not valid for encoding: {code}")))
}

fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

/// `s` as a string literal: quotes doubled, and backslashes doubled under an `E` prefix.
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `format(template, args)`: `%s`, `%I`, `%L` and `%%`, with positions (`%2$s`), the `-`
/// flag and widths (`%10s`, `%*s`, `%*2$s`), as PostgreSQL's `text_format`.
fn format(template: &str, args: &[Value]) -> Result<String> {
    let bad = |message: String| DbError::sql(SqlState::InvalidParameterValue, message);
    let unterminated = || bad("unterminated format() type specifier".into());
    let mut out = String::with_capacity(template.len());
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    let mut next_arg = 0usize;
    // Reads a run of digits at `i`, if any.
    let number = |i: &mut usize| -> Result<Option<usize>> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return Ok(None);
        }
        let digits: String = chars[start..*i].iter().collect();
        digits.parse::<usize>().map(Some).map_err(|_| bad("number is out of range".into()))
    };
    let arg = |n: usize| -> Result<&Value> { args.get(n).ok_or_else(|| bad("too few arguments for format()".into())) };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        if i >= chars.len() {
            return Err(unterminated());
        }
        if chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // An explicit position: digits followed by '$'.
        let save = i;
        let mut position = None;
        if let Some(n) = number(&mut i)? {
            if i < chars.len() && chars[i] == '$' {
                if n == 0 {
                    return Err(bad("format specifies argument 0, but arguments are numbered from 1".into()));
                }
                position = Some(n - 1);
                i += 1;
            } else {
                i = save;
            }
        }
        let mut left = false;
        while i < chars.len() && chars[i] == '-' {
            left = true;
            i += 1;
        }
        let mut width: Option<i64> = None;
        if i < chars.len() && chars[i] == '*' {
            i += 1;
            let save = i;
            let from = match number(&mut i)? {
                Some(n) if i < chars.len() && chars[i] == '$' => {
                    i += 1;
                    if n == 0 {
                        return Err(bad("format specifies argument 0, but arguments are numbered from 1".into()));
                    }
                    // The value then comes from the argument after the width's.
                    next_arg = n;
                    n - 1
                }
                _ => {
                    i = save;
                    let n = next_arg;
                    next_arg += 1;
                    n
                }
            };
            width = match arg(from)? {
                Value::Null => None,
                v => Some(v.as_i64().ok_or_else(|| bad("width argument must be an integer".into()))?),
            };
        } else if let Some(n) = number(&mut i)? {
            width = Some(n as i64);
        }
        let Some(&kind) = chars.get(i) else { return Err(unterminated()) };
        i += 1;
        let index = match position {
            Some(p) => p,
            None => next_arg,
        };
        next_arg = index + 1;
        let value = arg(index)?;
        let piece = match kind {
            's' => value.to_pg_text().unwrap_or_default(),
            'I' => match value.to_pg_text() {
                Some(s) => crate::sql_names::quote_identifier(&s),
                None => {
                    return Err(DbError::sql(
                        SqlState::NullValueNotAllowed,
                        "null values cannot be formatted as an SQL identifier",
                    ));
                }
            },
            'L' => value.to_pg_text().map_or_else(|| "NULL".to_string(), |s| quote_literal(&s)),
            other => {
                return Err(bad(format!("unrecognized format() type specifier \"{other}\""))
                    .with_hint("For a single \"%\" use \"%%\"."));
            }
        };
        // A negative width means left-aligned.
        let (left, width) = match width {
            Some(w) if w < 0 => (true, w.unsigned_abs() as usize),
            Some(w) => (left, w as usize),
            None => (left, 0),
        };
        let pad = width.saturating_sub(piece.chars().count());
        if pad > MAX_CHARS || out.len().saturating_add(pad).saturating_add(piece.len()) > MAX_CHARS {
            return Err(too_long());
        }
        if !left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(&piece);
        if left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    Ok(out)
}

/// The flags of a `regexp_*` call.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    global: bool,
    options: regex_match::Options,
}

impl Flags {
    fn parse(flags: &str) -> Result<Flags> {
        let mut out = Flags::default();
        for c in flags.chars() {
            match c {
                'g' => out.global = true,
                'i' => out.options.case_insensitive = true,
                'c' => out.options.case_insensitive = false,
                // Newline-sensitive matching: `.` stops at newlines, `^`/`$` match at them.
                'n' | 'm' => out.options.newline_sensitive = true,
                's' => out.options.newline_sensitive = false,
                // Partial newline sensitivity: 'p' for `.` only, 'w' for `^`/`$` only.
                'p' => {
                    out.options.newline_sensitive = false;
                    out.options.dot_stops_at_newline = true;
                }
                'w' => {
                    out.options.newline_sensitive = false;
                    out.options.anchors_at_newlines = true;
                }
                'q' => out.options.literal = true,
                'x' => out.options.extended = true,
                't' => out.options.extended = false,
                other => {
                    return Err(DbError::sql(
                        SqlState::InvalidParameterValue,
                        format!("invalid regular expression option: \"{other}\""),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn options(&self) -> regex_match::Options {
        self.options
    }
}

/// `regexp_replace`: `\1`..`\9` in the replacement insert a group, `\&` the whole match and
/// `\\` a backslash; any other backslash stands for itself.
fn regexp_replace(s: &str, pattern: &str, replacement: &str, flags: Flags) -> Result<String> {
    regex_match::with_regex(pattern, flags.options(), |re| {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for captures in matches(re, s, 0) {
            let Some(whole) = captures.get(0) else { continue };
            out.push_str(&s[last..whole.start()]);
            let mut chars = replacement.chars().peekable();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.peek().copied() {
                    Some(d @ '1'..='9') => {
                        chars.next();
                        if let Some(group) = captures.get(d as usize - '0' as usize) {
                            out.push_str(group.as_str());
                        }
                    }
                    Some('&') => {
                        chars.next();
                        out.push_str(whole.as_str());
                    }
                    Some('\\') => {
                        chars.next();
                        out.push('\\');
                    }
                    _ => out.push('\\'),
                }
            }
            last = whole.end();
            if !flags.global {
                break;
            }
        }
        out.push_str(&s[last..]);
        out
    })
}

/// The matches of `re` in `s` from byte `start` on, as PostgreSQL's regexp functions find
/// them: after a match the search goes on where it ended, and an empty match is allowed
/// there (so `a*` finds `aaa` and then the empty string at the end of `aaa`); after an empty
/// match it goes on one character later.
fn matches<'r, 's>(re: &'r regex::Regex, s: &'s str, start: usize) -> impl Iterator<Item = regex::Captures<'s>> + 'r
where
    's: 'r,
{
    let mut at = Some(start);
    std::iter::from_fn(move || {
        let from = at?;
        let captures = re.captures_at(s, from)?;
        let whole = captures.get(0)?;
        at = if whole.is_empty() {
            s[whole.end()..].chars().next().map(|c| whole.end() + c.len_utf8())
        } else {
            Some(whole.end())
        };
        Some(captures)
    })
}

/// `regexp_split_to_array`: the pieces between matches. As PostgreSQL, an empty match at the
/// start or end of the string, or right after a previous match, splits nothing.
fn regexp_split(s: &str, pattern: &str, flags: Flags) -> Result<Vec<String>> {
    regex_match::with_regex(pattern, flags.options(), |re| {
        let mut parts = Vec::new();
        let mut last = 0;
        for captures in matches(re, s, 0) {
            let Some(m) = captures.get(0) else { continue };
            if m.is_empty() && (m.start() == 0 || m.start() == s.len() || m.start() == last) {
                continue;
            }
            parts.push(s[last..m.start()].to_string());
            last = m.end();
        }
        parts.push(s[last..].to_string());
        parts
    })
}

/// `regexp_matches(s, pattern [, flags])`: each match's groups (or the whole match) as a text
/// array, every match with the `g` flag, else the first only.
pub fn regexp_matches(v: &[Value]) -> Result<Vec<Value>> {
    let (Value::Text(s), Value::Text(pattern)) = (&v[0], &v[1]) else { return Ok(Vec::new()) };
    let flags = Flags::parse(v.get(2).map_or("", text))?;
    regex_match::with_regex(pattern, flags.options(), |re| {
        let found = matches(re, s, 0).map(|c| match_groups(&c));
        if flags.global { found.collect() } else { found.take(1).collect() }
    })
}

/// A match's groups as a text array (NULL for a group that took no part), or the whole match
/// if the pattern has no groups, as `regexp_match` and `regexp_matches` give them.
fn match_groups(captures: &regex::Captures<'_>) -> Value {
    let elements = if captures.len() == 1 {
        vec![Value::Text(captures[0].to_string())]
    } else {
        (1..captures.len())
            .map(|g| captures.get(g).map_or(Value::Null, |m| Value::Text(m.as_str().to_string())))
            .collect()
    };
    Value::Array(ElementType::Text, elements)
}

/// `regexp_match`: the first match's groups (or the whole match if the pattern has none);
/// NULL if nothing matches.
fn regexp_match(s: &str, pattern: &str, flags: Flags) -> Result<Value> {
    regex_match::with_regex(pattern, flags.options(), |re| re.captures(s).map_or(Value::Null, |c| match_groups(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn padding_splitting_and_casing_follow_postgres() {
        assert_eq!(pad_text("hello", 3, " ", true).unwrap(), "hel");
        assert_eq!(pad_text("hi", 5, "", true).unwrap(), "hi");
        assert_eq!(pad_text("hi", 5, "xy", false).unwrap(), "hixyx");
        assert_eq!(pad_text("hi", -1, " ", true).unwrap(), "");
        assert_eq!(pad_text("é", 3, "ü", true).unwrap(), "üüé");
        assert_eq!(split_part("a,b,c", ",", -1).unwrap(), "c");
        assert_eq!(split_part("a,b,c", ",", 4).unwrap(), "");
        assert_eq!(split_part("a,b,c", ",", 0).unwrap_err().sqlstate().code(), "22023");
        assert_eq!(initcap("hELLO wORLD 3rd-party o'neil"), "Hello World 3rd-Party O'Neil");
        assert_eq!(translate("12345", "143", "ax"), "a2x5");
        assert_eq!(quote_literal("a\\b'c"), "E'a\\\\b''c'");
    }

    #[test]
    fn format_handles_positions_widths_and_errors() {
        let args = [t("a"), t("B c"), Value::Null, t("x'y")];
        assert_eq!(format("%s|%I|%L|%L|%%|%2$s|%-5s|%5s|", &args).unwrap(), "a|\"B c\"|NULL|'x''y'|%|B c|     |  x'y|");
        assert_eq!(format("%*s|%-*s|", &[Value::Int4(3), t("a"), Value::Int4(3), t("b")]).unwrap(), "  a|b  |");
        assert_eq!(format("%s %s", &[Value::Int4(1)]).unwrap_err().sqlstate().code(), "22023");
        assert_eq!(format("%z", &[Value::Int4(1)]).unwrap_err().sqlstate().code(), "22023");
        assert_eq!(format("%I", &[Value::Null]).unwrap_err().sqlstate().code(), "22004");
        assert_eq!(format("50%", &[]).unwrap_err().sqlstate().code(), "22023");
        // After a width from an explicit position the value is the next argument.
        assert_eq!(format("%*1$s|%s", &[Value::Int4(5), t("x")]).unwrap_err().sqlstate().code(), "22023");
        assert_eq!(format("%*1$s", &[Value::Int4(3), t("x")]).unwrap(), "  x");
        let huge = "%268435456s".repeat(3);
        assert_eq!(format(&huge, &[t("a"), t("b"), t("c")]).unwrap_err().sqlstate().code(), "54000");
    }

    #[test]
    fn regular_expressions_replace_and_match_as_postgres() {
        let flags = |f: &str| Flags::parse(f).unwrap();
        assert_eq!(regexp_replace("abcabc", "b", "X", flags("")).unwrap(), "aXcabc");
        assert_eq!(regexp_replace("abcabc", "B", "X", flags("gi")).unwrap(), "aXcaXc");
        assert_eq!(regexp_replace("abc", "(b)", r"[\1\&\\\x]", flags("")).unwrap(), r"a[bb\\x]c");
        // `.` crosses newlines and `^` anchors at the start unless 'n' is given.
        assert_eq!(regexp_replace("a\nb", "^b", "X", flags("")).unwrap(), "a\nb");
        assert_eq!(regexp_replace("a\nb", "^b", "X", flags("n")).unwrap(), "a\nX");
        assert_eq!(regexp_replace("aaa", "a*", "X", flags("g")).unwrap(), "XX");
        assert_eq!(regexp_replace("abc", "x*", "-", flags("g")).unwrap(), "-a-b-c-");
        assert_eq!(Flags::parse("z").unwrap_err().sqlstate().code(), "22023");
        assert_eq!(
            regexp_match("abc", "(x)?b", flags("")).unwrap(),
            Value::Array(ElementType::Text, vec![Value::Null])
        );
        assert_eq!(regexp_match("abc", "x", flags("")).unwrap(), Value::Null);
        assert_eq!(eval(TextFn::RegexpMatch, &[t("abc"), t("b"), t("g")]).unwrap_err().sqlstate().code(), "22023");
    }

    #[test]
    fn lenient_functions_see_nulls() {
        assert_eq!(eval_lenient(TextFn::ConcatWs, &[t(","), t("a"), Value::Null, Value::Int4(2)]).unwrap(), t("a,2"));
        assert_eq!(eval_lenient(TextFn::ConcatWs, &[Value::Null, t("a")]).unwrap(), Value::Null);
        assert_eq!(eval_lenient(TextFn::QuoteNullable, &[Value::Null]).unwrap(), t("NULL"));
        let array = |items: &[Option<&str>]| {
            Value::Array(ElementType::Text, items.iter().map(|i| i.map_or(Value::Null, t)).collect())
        };
        assert_eq!(
            eval_lenient(TextFn::StringToArray, &[t("a,*,c"), t(","), t("*")]).unwrap(),
            array(&[Some("a"), None, Some("c")])
        );
        assert_eq!(
            eval_lenient(TextFn::StringToArray, &[t("abc"), Value::Null]).unwrap(),
            array(&[Some("a"), Some("b"), Some("c")])
        );
        assert_eq!(eval_lenient(TextFn::StringToArray, &[t(""), t(",")]).unwrap(), array(&[]));
        assert_eq!(eval_lenient(TextFn::StringToArray, &[Value::Null, t(",")]).unwrap(), Value::Null);
    }

    #[test]
    fn characters_and_hex() {
        assert_eq!(chr(233).unwrap(), 'é');
        assert_eq!(chr(0).unwrap_err().sqlstate().code(), "54000");
        assert_eq!(chr(0x110000).unwrap_err().sqlstate().code(), "54000");
        assert_eq!(chr(0xD800).unwrap_err().sqlstate().code(), "54000");
        for (bytes, shown) in [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (-10240, "-10 kB"),
            (20971008, "20 MB"),
            (10_485_000, "10239 kB"),
            (10_485_760, "10 MB"),
            (21_474_836_479, "20 GB"),
            (-21_474_836_479, "-20 GB"),
            (20971520, "20 MB"),
            (1_234_567_890, "1177 MB"),
            (i64::MAX, "8192 PB"),
            (i64::MIN, "-8192 PB"),
        ] {
            assert_eq!(eval(TextFn::SizePretty, &[Value::Int8(bytes)]).unwrap(), t(shown), "{bytes}");
        }
        assert_eq!(eval(TextFn::ToHex, &[Value::Int4(-1)]).unwrap(), t("ffffffff"));
        assert_eq!(eval(TextFn::ToHex, &[Value::Int8(-1)]).unwrap(), t("ffffffffffffffff"));
        assert_eq!(eval(TextFn::Md5, &[t("abc")]).unwrap(), t("900150983cd24fb0d6963f7d28e17f72"));
    }
}
