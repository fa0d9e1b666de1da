//! One-dimensional arrays, as PostgreSQL writes and reads them: the element types an array may
//! hold, the text form (`{1,2,NULL,"a b"}`), the binary form, and the ordering.
//!
//! Only one-dimensional arrays with lower bound 1 exist here (what `ARRAY[...]`,
//! `ARRAY(subquery)`, `array_agg` and the catalogs' ACL and role lists produce); a
//! multidimensional literal is refused with 0A000 rather than flattened.
//!
//! Text form, as PostgreSQL's `array_out`: elements separated by commas inside braces; an
//! element is double-quoted when it is empty, is `NULL` in any case, or holds a brace, comma,
//! double quote, backslash or white space, and inside quotes `"` and `\` are escaped with a
//! backslash. Input (`array_in`) accepts that and unquoted elements with surrounding white
//! space.
//!
//! Binary form (`array_send`), big-endian: dimensions (i32: 0 or 1), has-nulls flag (i32),
//! element type OID (i32), then for one dimension its length and lower bound (i32 each), then
//! each element as a length (i32, -1 for NULL) and that many bytes of its own binary form.

use crate::{DataType, DbError, Result, SqlState, Value};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The types an array's elements may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElementType {
    /// `boolean[]`
    Bool,
    /// `smallint[]`
    Int2,
    /// `integer[]`
    Int4,
    /// `bigint[]`
    Int8,
    /// `real[]`
    Float4,
    /// `double precision[]`
    Float8,
    /// `text[]`
    Text,
    /// `character varying[]`
    Varchar,
    /// `date[]`
    Date,
    /// `timestamp[]`
    Timestamp,
    /// `timestamptz[]`
    TimestampTz,
    /// `numeric[]`
    Numeric,
    /// `interval[]`
    Interval,
    /// `uuid[]`
    Uuid,
    /// `bytea[]`
    Bytea,
    /// `json[]`
    Json,
    /// `jsonb[]`
    Jsonb,
    /// `time[]`
    Time,
}

impl ElementType {
    const ALL: [ElementType; 18] = [
        ElementType::Bool,
        ElementType::Int2,
        ElementType::Int4,
        ElementType::Int8,
        ElementType::Float4,
        ElementType::Float8,
        ElementType::Text,
        ElementType::Varchar,
        ElementType::Date,
        ElementType::Timestamp,
        ElementType::TimestampTz,
        ElementType::Numeric,
        ElementType::Interval,
        ElementType::Uuid,
        ElementType::Bytea,
        ElementType::Json,
        ElementType::Jsonb,
        ElementType::Time,
    ];

    /// The element type of arrays of `ty` (`char(n)` and untyped literals make `text[]`);
    /// `None` for types that have no array type here (arrays themselves).
    pub fn of(ty: DataType) -> Option<ElementType> {
        Some(match ty {
            DataType::Bool => ElementType::Bool,
            DataType::Int2 => ElementType::Int2,
            DataType::Int4 => ElementType::Int4,
            DataType::Int8 => ElementType::Int8,
            DataType::Float4 => ElementType::Float4,
            DataType::Float8 => ElementType::Float8,
            DataType::Text | DataType::Char(_) | DataType::Unknown => ElementType::Text,
            DataType::Varchar(_) => ElementType::Varchar,
            DataType::Date => ElementType::Date,
            DataType::Timestamp => ElementType::Timestamp,
            DataType::TimestampTz => ElementType::TimestampTz,
            DataType::Numeric(_) => ElementType::Numeric,
            DataType::Interval => ElementType::Interval,
            DataType::Uuid => ElementType::Uuid,
            DataType::Bytea => ElementType::Bytea,
            DataType::Json => ElementType::Json,
            DataType::Jsonb => ElementType::Jsonb,
            DataType::Time => ElementType::Time,
            DataType::Array(_) => return None,
        })
    }

    /// The elements' own type.
    pub fn scalar(self) -> DataType {
        match self {
            ElementType::Bool => DataType::Bool,
            ElementType::Int2 => DataType::Int2,
            ElementType::Int4 => DataType::Int4,
            ElementType::Int8 => DataType::Int8,
            ElementType::Float4 => DataType::Float4,
            ElementType::Float8 => DataType::Float8,
            ElementType::Text => DataType::Text,
            ElementType::Varchar => DataType::Varchar(None),
            ElementType::Date => DataType::Date,
            ElementType::Timestamp => DataType::Timestamp,
            ElementType::TimestampTz => DataType::TimestampTz,
            ElementType::Numeric => DataType::Numeric(None),
            ElementType::Interval => DataType::Interval,
            ElementType::Uuid => DataType::Uuid,
            ElementType::Bytea => DataType::Bytea,
            ElementType::Json => DataType::Json,
            ElementType::Jsonb => DataType::Jsonb,
            ElementType::Time => DataType::Time,
        }
    }

    /// The array type's OID (`pg_type.oid` of `_int4` and so on).
    pub fn array_oid(self) -> u32 {
        match self {
            ElementType::Bool => 1000,
            ElementType::Int2 => 1005,
            ElementType::Int4 => 1007,
            ElementType::Int8 => 1016,
            ElementType::Float4 => 1021,
            ElementType::Float8 => 1022,
            ElementType::Text => 1009,
            ElementType::Varchar => 1015,
            ElementType::Date => 1182,
            ElementType::Timestamp => 1115,
            ElementType::TimestampTz => 1185,
            ElementType::Numeric => 1231,
            ElementType::Interval => 1187,
            ElementType::Uuid => 2951,
            ElementType::Bytea => 1001,
            ElementType::Json => 199,
            ElementType::Jsonb => 3807,
            ElementType::Time => 1183,
        }
    }

    /// The element type of the array type `oid` (`bpchar[]` reads as `text[]`).
    pub fn from_array_oid(oid: u32) -> Option<ElementType> {
        if oid == 1014 {
            return Some(ElementType::Text);
        }
        Self::ALL.into_iter().find(|e| e.array_oid() == oid)
    }

    /// The array type's name as PostgreSQL's `format_type` writes it (`integer[]`).
    pub fn array_name(self) -> &'static str {
        match self {
            ElementType::Bool => "boolean[]",
            ElementType::Int2 => "smallint[]",
            ElementType::Int4 => "integer[]",
            ElementType::Int8 => "bigint[]",
            ElementType::Float4 => "real[]",
            ElementType::Float8 => "double precision[]",
            ElementType::Text => "text[]",
            ElementType::Varchar => "character varying[]",
            ElementType::Date => "date[]",
            ElementType::Timestamp => "timestamp without time zone[]",
            ElementType::TimestampTz => "timestamp with time zone[]",
            ElementType::Numeric => "numeric[]",
            ElementType::Interval => "interval[]",
            ElementType::Uuid => "uuid[]",
            ElementType::Bytea => "bytea[]",
            ElementType::Json => "json[]",
            ElementType::Jsonb => "jsonb[]",
            ElementType::Time => "time without time zone[]",
        }
    }

    /// The array type's `pg_type.typname` (`_int4`).
    pub fn typname(self) -> &'static str {
        match self {
            ElementType::Bool => "_bool",
            ElementType::Int2 => "_int2",
            ElementType::Int4 => "_int4",
            ElementType::Int8 => "_int8",
            ElementType::Float4 => "_float4",
            ElementType::Float8 => "_float8",
            ElementType::Text => "_text",
            ElementType::Varchar => "_varchar",
            ElementType::Date => "_date",
            ElementType::Timestamp => "_timestamp",
            ElementType::TimestampTz => "_timestamptz",
            ElementType::Numeric => "_numeric",
            ElementType::Interval => "_interval",
            ElementType::Uuid => "_uuid",
            ElementType::Bytea => "_bytea",
            ElementType::Json => "_json",
            ElementType::Jsonb => "_jsonb",
            ElementType::Time => "_time",
        }
    }

    /// A one-byte code for the row format.
    pub fn code(self) -> u8 {
        Self::ALL.iter().position(|e| *e == self).unwrap_or(0) as u8
    }

    /// The element type with row-format code `code`.
    pub fn from_code(code: u8) -> Option<ElementType> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

/// PostgreSQL's text form of an array of `elements`.
pub fn to_text(elements: &[Value]) -> String {
    let mut out = String::from("{");
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match element.to_pg_text() {
            None => out.push_str("NULL"),
            Some(text) if needs_quotes(&text) => {
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            Some(text) => out.push_str(&text),
        }
    }
    out.push('}');
    out
}

fn needs_quotes(text: &str) -> bool {
    text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text.chars().any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace())
}

fn malformed(text: &str, why: &str) -> DbError {
    DbError::sql(SqlState::InvalidTextRepresentation, format!("malformed array literal: \"{text}\""))
        .with_detail(why.to_string())
}

/// Reads PostgreSQL's text form of a one-dimensional array of `element`s.
pub fn parse(text: &str, element: ElementType) -> Result<Value> {
    let body = text.trim();
    let inner = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| malformed(text, "Array value must start with \"{\" or dimension information."))?;
    let mut values = Vec::new();
    if inner.trim().is_empty() {
        return Ok(Value::Array(element, values));
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut item = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        if quoted {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => item.push(chars.next().ok_or_else(|| malformed(text, "Unexpected end of input."))?),
                    Some(c) => item.push(c),
                    None => return Err(malformed(text, "Unexpected end of input.")),
                }
            }
            while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                match c {
                    '{' => {
                        return Err(DbError::sql(
                            SqlState::FeatureNotSupported,
                            "multidimensional arrays are not supported",
                        ));
                    }
                    '}' | '"' => return Err(malformed(text, &format!("Unexpected \"{c}\" character."))),
                    '\\' => item.push(chars.next().ok_or_else(|| malformed(text, "Unexpected end of input."))?),
                    c => item.push(c),
                }
            }
            let trimmed = item.trim_end().len();
            item.truncate(trimmed);
            if item.is_empty() {
                return Err(malformed(text, "Unexpected \",\" character."));
            }
        }
        values.push(if !quoted && item.eq_ignore_ascii_case("null") {
            Value::Null
        } else {
            Value::parse_as(&item, element.scalar())?
        });
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(c) => return Err(malformed(text, &format!("Unexpected \"{c}\" character."))),
        }
    }
    Ok(Value::Array(element, values))
}

/// PostgreSQL's array ordering: element by element (a NULL element sorts after every value),
/// then the shorter array first. `None` if two elements cannot be compared.
pub fn compare(a: &[Value], b: &[Value]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.sql_cmp(y)?,
        };
        if order != Ordering::Equal {
            return Some(order);
        }
    }
    Some(a.len().cmp(&b.len()))
}

/// Appends the binary form of an array of `elements`.
pub fn send(element: ElementType, elements: &[Value], out: &mut Vec<u8>) {
    let dims: i32 = if elements.is_empty() { 0 } else { 1 };
    out.extend_from_slice(&dims.to_be_bytes());
    out.extend_from_slice(&i32::from(elements.iter().any(Value::is_null)).to_be_bytes());
    out.extend_from_slice(&(element.scalar().oid() as i32).to_be_bytes());
    if dims == 1 {
        out.extend_from_slice(&(elements.len() as i32).to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    for value in elements {
        let mut bytes = Vec::new();
        if crate::pg_binary::send(value, &mut bytes) {
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(&bytes);
        } else {
            out.extend_from_slice(&(-1i32).to_be_bytes());
        }
    }
}

/// Reads the binary form of an array of `element`s.
pub fn recv(raw: &[u8], element: ElementType) -> std::result::Result<Value, crate::pg_binary::RecvError> {
    use crate::pg_binary::RecvError;
    let int = |at: &mut usize| -> std::result::Result<i32, RecvError> {
        let bytes: [u8; 4] = raw.get(*at..*at + 4).ok_or(RecvError::Short)?.try_into().map_err(|_| RecvError::Short)?;
        *at += 4;
        Ok(i32::from_be_bytes(bytes))
    };
    let mut at = 0usize;
    let dims = int(&mut at)?;
    let _has_nulls = int(&mut at)?;
    let _oid = int(&mut at)?;
    let count = match dims {
        0 => 0,
        1 => {
            let n = int(&mut at)?;
            let _lower = int(&mut at)?;
            usize::try_from(n).map_err(|_| RecvError::Long)?
        }
        _ => return Err(RecvError::Long),
    };
    let mut values = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let len = int(&mut at)?;
        if len < 0 {
            values.push(Value::Null);
            continue;
        }
        let end = at + len as usize;
        let bytes = raw.get(at..end).ok_or(RecvError::Short)?;
        at = end;
        values.push(crate::pg_binary::recv(bytes, element.scalar())?);
    }
    if at != raw.len() {
        return Err(RecvError::Long);
    }
    Ok(Value::Array(element, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_quotes_and_parses_as_postgres_does() {
        let v = Value::Array(
            ElementType::Text,
            vec![
                Value::Text("a".into()),
                Value::Null,
                Value::Text("b c".into()),
                Value::Text("x\"y".into()),
                Value::Text(String::new()),
                Value::Text("null".into()),
            ],
        );
        let text = v.to_pg_text().unwrap();
        assert_eq!(text, r#"{a,NULL,"b c","x\"y","","null"}"#);
        assert_eq!(parse(&text, ElementType::Text).unwrap(), v);
        assert_eq!(
            parse(" { 1 , 2,NULL } ", ElementType::Int4).unwrap(),
            Value::Array(ElementType::Int4, vec![Value::Int4(1), Value::Int4(2), Value::Null])
        );
        assert_eq!(parse("{}", ElementType::Int8).unwrap(), Value::Array(ElementType::Int8, vec![]));
        for bad in ["1,2", "{1,,2}", "{1,2", "{\"a}", "{a}b}"] {
            assert_eq!(
                parse(bad, ElementType::Text).unwrap_err().sqlstate(),
                SqlState::InvalidTextRepresentation,
                "{bad}"
            );
        }
        assert_eq!(parse("{{1},{2}}", ElementType::Int4).unwrap_err().sqlstate(), SqlState::FeatureNotSupported);
        assert_eq!(parse("{x}", ElementType::Int4).unwrap_err().sqlstate(), SqlState::InvalidTextRepresentation);
    }

    #[test]
    fn binary_form_round_trips_and_order_is_elementwise() {
        let v = vec![Value::Int4(3), Value::Null, Value::Int4(-1)];
        let mut out = Vec::new();
        send(ElementType::Int4, &v, &mut out);
        assert_eq!(recv(&out, ElementType::Int4).unwrap(), Value::Array(ElementType::Int4, v.clone()));
        let mut empty = Vec::new();
        send(ElementType::Text, &[], &mut empty);
        assert_eq!(recv(&empty, ElementType::Text).unwrap(), Value::Array(ElementType::Text, vec![]));
        assert!(recv(&out[..out.len() - 1], ElementType::Int4).is_err());
        let (a, b) = ([Value::Int4(1), Value::Int4(2)], [Value::Int4(1), Value::Int4(3)]);
        assert_eq!(compare(&a, &b), Some(Ordering::Less));
        assert_eq!(compare(&a, &a[..1]), Some(Ordering::Greater));
        assert_eq!(compare(&[Value::Null], &[Value::Int4(9)]), Some(Ordering::Greater));
    }
}
