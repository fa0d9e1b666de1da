//! JSON values for the `json` and `jsonb` types.
//!
//! One parser serves both, following PostgreSQL's JSON grammar (RFC 8259: no trailing commas,
//! no comments, numbers without leading zeros or a leading `+`). `json` keeps its input text
//! as written, once it parses; `jsonb` keeps the parsed [`Json`] in PostgreSQL's canonical
//! form: numbers exact (as `numeric`), object keys unique (the last of duplicates wins) and
//! ordered shorter first, then bytewise, as jsonb stores them, and printed with `", "` and
//! `": "` between items.

use crate::{DbError, Numeric, Result, SqlState};
use std::cmp::Ordering;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, exact.
    Number(Numeric),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: its members, in jsonb order once [`Json::canonical`].
    Object(Vec<(String, Json)>),
}

fn syntax(_text: &str, detail: String) -> DbError {
    DbError::sql(SqlState::InvalidTextRepresentation, "invalid input syntax for type json").with_detail(detail)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

/// Nesting deeper than this is refused (54001), as PostgreSQL's stack check would.
const MAX_DEPTH: usize = 6400;

impl Parser<'_> {
    fn skip_space(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The token at the current position, for error details (PostgreSQL shows the offending
    /// token).
    fn token(&self) -> String {
        let rest = &self.text[self.at..];
        let end = rest
            .char_indices()
            .find(|(i, c)| *i > 0 && !c.is_alphanumeric() && *c != '_')
            .map_or(rest.len(), |(i, _)| i);
        rest[..end.max(rest.chars().next().map_or(0, char::len_utf8))].to_string()
    }

    fn unexpected(&self) -> DbError {
        if self.at >= self.bytes.len() {
            return syntax(self.text, "The input string ended unexpectedly.".into());
        }
        syntax(self.text, format!("Token \"{}\" is invalid.", self.token()))
    }

    /// "Expected X, but found T." for a well-formed token T in the wrong place; a malformed
    /// one is reported as such first, as PostgreSQL's lexer does.
    fn expected(&self, what: &str) -> DbError {
        let token = self.token();
        let lexeme = matches!(token.as_bytes().first(), Some(b'"' | b'{' | b'}' | b'[' | b']' | b',' | b':'))
            || ["true", "false", "null"].contains(&token.as_str())
            || token.parse::<f64>().is_ok() && !token.starts_with('+') && !(token.len() > 1 && token.starts_with('0'));
        if lexeme {
            syntax(self.text, format!("{what}, but found \"{token}\"."))
        } else {
            syntax(self.text, format!("Token \"{token}\" is invalid."))
        }
    }

    fn value(&mut self) -> Result<Json> {
        self.skip_space();
        let Some(&b) = self.bytes.get(self.at) else { return Err(self.unexpected()) };
        match b {
            b'{' => self.nested(|p| p.object()),
            b'[' => self.nested(|p| p.array()),
            b'"' => Ok(Json::String(self.string()?)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => {
                for (word, value) in [("true", Json::Bool(true)), ("false", Json::Bool(false)), ("null", Json::Null)] {
                    if self.text[self.at..].starts_with(word) && self.token() == word {
                        self.at += word.len();
                        return Ok(value);
                    }
                }
                Err(self.unexpected())
            }
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Result<Json>) -> Result<Json> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DbError::sql(SqlState::StatementTooComplex, "stack depth limit exceeded"));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn array(&mut self) -> Result<Json> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                _ => {
                    return Err(if self.at >= self.bytes.len() {
                        self.unexpected()
                    } else {
                        self.expected("Expected \",\" or \"]\"")
                    });
                }
            }
        }
    }

    fn object(&mut self) -> Result<Json> {
        self.at += 1;
        let mut members = Vec::new();
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_space();
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(if self.at >= self.bytes.len() {
                    self.unexpected()
                } else {
                    self.expected("Expected string")
                });
            }
            let key = self.string()?;
            self.skip_space();
            if self.bytes.get(self.at) != Some(&b':') {
                return Err(if self.at >= self.bytes.len() {
                    self.unexpected()
                } else {
                    self.expected("Expected \":\"")
                });
            }
            self.at += 1;
            members.push((key, self.value()?));
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                _ => {
                    return Err(if self.at >= self.bytes.len() {
                        self.unexpected()
                    } else {
                        self.expected("Expected \",\" or \"}\"")
                    });
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self.text.get(self.at..self.at + 4).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(digits) = digits else {
            return Err(syntax(self.text, "\"\\u\" must be followed by four hexadecimal digits.".into()));
        };
        self.at += 4;
        Ok(u32::from_str_radix(digits, 16).unwrap_or(0))
    }

    fn string(&mut self) -> Result<String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(&b) = self.bytes.get(self.at) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(&self.text[start..self.at]);
            match self.bytes.get(self.at) {
                None => return Err(self.unexpected()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b) if *b < 0x20 => {
                    return Err(syntax(self.text, format!("Character with value 0x{b:02x} must be escaped.")));
                }
                _ => {
                    self.at += 1;
                    let Some(&e) = self.bytes.get(self.at) else { return Err(self.unexpected()) };
                    self.at += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) {
                                if !self.text[self.at..].starts_with("\\u") {
                                    return Err(syntax(
                                        self.text,
                                        "Unicode high surrogate must not follow a high surrogate.".into(),
                                    ));
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(syntax(
                                        self.text,
                                        "Unicode low surrogate must follow a high surrogate.".into(),
                                    ));
                                }
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            } else if (0xDC00..0xE000).contains(&code) {
                                return Err(syntax(
                                    self.text,
                                    "Unicode low surrogate must follow a high surrogate.".into(),
                                ));
                            }
                            if code == 0 {
                                return Err(DbError::sql(
                                    SqlState::UntranslatableCharacter,
                                    "unsupported Unicode escape sequence",
                                )
                                .with_detail("\\u0000 cannot be converted to text."));
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            self.at -= 1;
                            return Err(syntax(
                                self.text,
                                format!("Escape sequence \"\\{}\" is invalid.", self.token()),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn number(&mut self) -> Result<Json> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let s = p.at;
            while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at > s
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let leading_zero = self.bytes.get(self.at) == Some(&b'0');
        if !digits(self) || (leading_zero && self.at - start > 1 + usize::from(self.bytes[start] == b'-')) {
            self.at = start;
            return Err(self.unexpected());
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if !digits(self) {
                self.at = start;
                return Err(self.unexpected());
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                self.at = start;
                return Err(self.unexpected());
            }
        }
        if self.bytes.get(self.at).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.') {
            self.at = start;
            return Err(self.unexpected());
        }
        Ok(Json::Number(Numeric::parse(&self.text[start..self.at])?))
    }
}

/// Parses `text` as JSON (22P02 with PostgreSQL's detail if it is not).
pub fn parse(text: &str) -> Result<Json> {
    let mut p = Parser { text, bytes: text.as_bytes(), at: 0, depth: 0 };
    let value = p.value()?;
    p.skip_space();
    if p.at < p.bytes.len() {
        return Err(syntax(text, format!("Token \"{}\" is invalid.", p.token())));
    }
    Ok(value)
}

/// jsonb's key order: shorter keys first, then bytewise.
fn key_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

impl Json {
    /// The jsonb form: keys unique (the last duplicate wins) and in jsonb order, throughout.
    pub fn canonical(self) -> Json {
        match self {
            Json::Array(items) => Json::Array(items.into_iter().map(Json::canonical).collect()),
            Json::Object(members) => {
                let mut members: Vec<(String, Json)> = members.into_iter().map(|(k, v)| (k, v.canonical())).collect();
                // Stable: equal keys keep their input order, and the last of them is kept.
                members.sort_by(|a, b| key_order(&a.0, &b.0));
                let mut unique: Vec<(String, Json)> = Vec::with_capacity(members.len());
                for (k, v) in members {
                    match unique.last_mut() {
                        Some(last) if last.0 == k => last.1 = v,
                        _ => unique.push((k, v)),
                    }
                }
                Json::Object(unique)
            }
            other => other,
        }
    }

    /// The jsonb text form.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.to_string()),
            Json::String(s) => quote(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    quote(k, out);
                    out.push_str(": ");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// `jsonb_typeof`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `index` of an array (negative counts from the end).
    pub fn at(&self, index: i64) -> Option<&Json> {
        match self {
            Json::Array(items) => {
                let i = if index < 0 { items.len() as i64 + index } else { index };
                usize::try_from(i).ok().and_then(|i| items.get(i))
            }
            _ => None,
        }
    }

    /// The value as `->>` gives it: a string unquoted, `null` as SQL NULL, anything else as
    /// its text.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => Some(other.to_text()),
        }
    }

    /// jsonb's `@>`: whether `self` contains `other` (objects: every member of `other` is
    /// contained in the same member of `self`; arrays: every element of `other` is contained
    /// in some element of `self`, and a top-level array contains a scalar it holds).
    pub fn contains(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Object(mine), Json::Object(theirs)) => {
                theirs.iter().all(|(k, v)| mine.iter().any(|(mk, mv)| mk == k && mv.contains_nested(v)))
            }
            (Json::Array(mine), Json::Array(theirs)) => theirs.iter().all(|t| {
                mine.iter().any(|m| match (m, t) {
                    (Json::Array(_) | Json::Object(_), _) => m.contains_nested(t),
                    _ => m.sql_cmp(t) == Ordering::Equal,
                })
            }),
            (Json::Array(mine), scalar) if !matches!(scalar, Json::Object(_)) => mine
                .iter()
                .any(|m| !matches!(m, Json::Array(_) | Json::Object(_)) && m.sql_cmp(scalar) == Ordering::Equal),
            (a, b) => a.sql_cmp(b) == Ordering::Equal,
        }
    }

    fn contains_nested(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Object(_), Json::Object(_)) | (Json::Array(_), Json::Array(_)) => self.contains(other),
            (a, b) => !matches!(a, Json::Object(_) | Json::Array(_)) && a.sql_cmp(b) == Ordering::Equal,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Json::Null => 0,
            Json::String(_) => 1,
            Json::Number(_) => 2,
            Json::Bool(_) => 3,
            Json::Array(_) => 4,
            Json::Object(_) => 5,
        }
    }

    /// jsonb's btree order: object > array > boolean > number > string > null; arrays by
    /// length, then element by element; objects by member count, then key, value, key...
    pub fn sql_cmp(&self, other: &Json) -> Ordering {
        match (self, other) {
            (Json::Bool(a), Json::Bool(b)) => a.cmp(b),
            (Json::Number(a), Json::Number(b)) => a.total_cmp(b),
            (Json::String(a), Json::String(b)) => a.cmp(b),
            (Json::Array(a), Json::Array(b)) => a.len().cmp(&b.len()).then_with(|| {
                a.iter().zip(b).map(|(x, y)| x.sql_cmp(y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
            }),
            (Json::Object(a), Json::Object(b)) => a.len().cmp(&b.len()).then_with(|| {
                a.iter()
                    .zip(b)
                    .map(|((ka, va), (kb, vb))| key_order(ka, kb).then_with(|| va.sql_cmp(vb)))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            }),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

/// Appends `s` as a JSON string, escaped as PostgreSQL's `escape_json` does.
pub fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsonb(text: &str) -> String {
        parse(text).unwrap().canonical().to_text()
    }

    #[test]
    fn jsonb_text_is_canonical() {
        assert_eq!(
            jsonb(r#" {"b": 1, "aa": [1, 2.50, -0, 1e2], "a": {"y": null, "x": true}, "b": "x\"\n\u00e9"} "#),
            r#"{"a": {"x": true, "y": null}, "b": "x\"\né", "aa": [1, 2.50, 0, 100]}"#
        );
        assert_eq!(jsonb("[]"), "[]");
        assert_eq!(jsonb("\"\\ud83d\\ude00\""), "\"😀\"");
    }

    #[test]
    fn malformed_json_is_refused_with_postgres_details() {
        for (text, detail) in [
            ("{\"a\" 1}", "Expected \":\", but found \"1\"."),
            ("[1,]", "Token \"]\" is invalid."),
            ("01", "Token \"01\" is invalid."),
            ("tru", "Token \"tru\" is invalid."),
            ("[1", "The input string ended unexpectedly."),
            ("{1:2}", "Expected string, but found \"1\"."),
            ("{bad", "Token \"bad\" is invalid."),
            ("1 2", "Token \"2\" is invalid."),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::InvalidTextRepresentation, "{text}");
            assert_eq!(e.detail(), Some(detail), "{text}");
        }
        assert_eq!(parse("\"\\u0000\"").unwrap_err().sqlstate(), SqlState::UntranslatableCharacter);
    }

    #[test]
    fn containment_and_order_follow_jsonb() {
        let j = |t: &str| parse(t).unwrap().canonical();
        assert!(j(r#"{"a": 1, "b": [1, 2, {"c": 3}]}"#).contains(&j(r#"{"b": [{"c": 3}, 1]}"#)));
        assert!(!j(r#"{"a": 1}"#).contains(&j(r#"{"a": 2}"#)));
        assert!(j("[1, 2, 3]").contains(&j("3")));
        assert!(!j("[[1, 2]]").contains(&j("1")));
        assert!(j("[1, [2, 3]]").contains(&j("[[3]]")));
        assert_eq!(j("1.0").sql_cmp(&j("1")), Ordering::Equal);
        assert_eq!(j(r#"{"a":1}"#).sql_cmp(&j("[1,2,3]")), Ordering::Greater);
        assert_eq!(j("[1,2]").sql_cmp(&j("[3]")), Ordering::Greater);
        assert_eq!(j("null").sql_cmp(&j("\"\"")), Ordering::Less);
    }
}
