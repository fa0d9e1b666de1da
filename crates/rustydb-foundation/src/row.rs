//! The on-disk encoding of a row's values (the tuple body after the MVCC header).
//!
//! Self-describing so that a table whose schema grows (ALTER TABLE ADD COLUMN) can still read
//! old rows: missing trailing columns read as NULL. Little-endian throughout.
//!
//! | bytes | field |
//! |---|---|
//! | 0..2  | column count `n` (u16) |
//! | then, per column | a tag byte, then the payload |
//!
//! | tag | type | payload |
//! |---|---|---|
//! | 0 | NULL | none |
//! | 1 / 2 | false / true | none |
//! | 3 | int2 | 2 bytes |
//! | 4 | int4 | 4 bytes |
//! | 5 | int8 | 8 bytes |
//! | 6 | float4 | 4 bytes (IEEE bits) |
//! | 7 | float8 | 8 bytes (IEEE bits) |
//! | 8 | text | u32 length, then UTF-8 bytes |
//! | 9 | date | 4 bytes (days since 2000-01-01) |
//! | 10 | timestamp | 8 bytes (microseconds since 2000-01-01) |
//! | 11 | timestamptz | 8 bytes (microseconds since 2000-01-01 UTC) |
//! | 12 | array | element type code (u8, [`crate::ElementType::code`]), u32 count, then each element as a value here |
//! | 14 | interval | months (i32), days (i32), microseconds (i64) |
//! | 15 | uuid | 16 bytes |
//! | 16 | bytea | u32 length, then the bytes |
//! | 17 | json | u32 length, then the text as written |
//! | 18 | jsonb | u32 length, then the canonical text |
//! | 19 | time | 8 bytes (microseconds since midnight) |
//! | 13 | numeric | class (u8: 0 positive, 1 negative, 2 NaN, 3 Infinity, 4 -Infinity), scale (u16), u32 limb count, then the base-10⁹ limbs (u32 each, least significant first) |

use crate::le::LeReader;
use crate::{DbError, Result, Value};

/// Appends the encoding of `values` to `out`.
pub fn encode_row(values: &[Value], out: &mut Vec<u8>) {
    out.extend_from_slice(&(values.len() as u16).to_le_bytes());
    for value in values {
        encode_value(value, out);
    }
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0),
        Value::Bool(b) => out.push(1 + u8::from(*b)),
        Value::Int2(v) => push_tagged(out, 3, &v.to_le_bytes()),
        Value::Int4(v) => push_tagged(out, 4, &v.to_le_bytes()),
        Value::Int8(v) => push_tagged(out, 5, &v.to_le_bytes()),
        Value::Float4(v) => push_tagged(out, 6, &v.to_bits().to_le_bytes()),
        Value::Float8(v) => push_tagged(out, 7, &v.to_bits().to_le_bytes()),
        Value::Date(v) => push_tagged(out, 9, &v.to_le_bytes()),
        Value::Timestamp(v) => push_tagged(out, 10, &v.to_le_bytes()),
        Value::TimestampTz(v) => push_tagged(out, 11, &v.to_le_bytes()),
        Value::Time(v) => push_tagged(out, 19, &v.to_le_bytes()),
        Value::Text(s) => {
            out.push(8);
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Uuid(u) => push_tagged(out, 15, u),
        Value::Bytea(b) => {
            out.push(16);
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::Json(s) => {
            out.push(17);
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Jsonb(j) => {
            let text = j.to_text();
            out.push(18);
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        Value::Interval(i) => {
            out.push(14);
            out.extend_from_slice(&i.months.to_le_bytes());
            out.extend_from_slice(&i.days.to_le_bytes());
            out.extend_from_slice(&i.micros.to_le_bytes());
        }
        Value::Numeric(n) => {
            use crate::numeric::Class;
            out.push(13);
            out.push(match n.class() {
                Class::Positive => 0,
                Class::Negative => 1,
                Class::NaN => 2,
                Class::Infinity => 3,
                Class::NegInfinity => 4,
            });
            out.extend_from_slice(&n.scale().to_le_bytes());
            out.extend_from_slice(&(n.limbs().len() as u32).to_le_bytes());
            for limb in n.limbs() {
                out.extend_from_slice(&limb.to_le_bytes());
            }
        }
        Value::Array(element, values) => {
            out.push(12);
            out.push(element.code());
            out.extend_from_slice(&(values.len() as u32).to_le_bytes());
            for v in values {
                encode_value(v, out);
            }
        }
    }
}

fn push_tagged(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    out.extend_from_slice(payload);
}

/// Decodes a row written by [`encode_row`], padding with NULL up to `width` columns.
pub fn decode_row(bytes: &[u8], width: usize) -> Result<Vec<Value>> {
    let mut reader = LeReader::new(bytes, "row");
    let count = reader.u16()? as usize;
    let mut values = Vec::with_capacity(width.max(count));
    for _ in 0..count {
        values.push(read_value(&mut reader)?);
    }
    reader.finish()?;
    values.resize(width.max(count), Value::Null);
    Ok(values)
}

/// [`decode_row`] for the columns `needed` marks; the others are skipped over without being
/// decoded (no allocation, no UTF-8 check) and read as NULL. Columns past `needed` are decoded.
pub fn decode_row_projected(bytes: &[u8], width: usize, needed: &[bool]) -> Result<Vec<Value>> {
    let mut reader = LeReader::new(bytes, "row");
    let count = reader.u16()? as usize;
    let mut values = Vec::with_capacity(width.max(count));
    for i in 0..count {
        if needed.get(i).copied().unwrap_or(true) {
            values.push(read_value(&mut reader)?);
        } else {
            skip_value(&mut reader)?;
            values.push(Value::Null);
        }
    }
    reader.finish()?;
    values.resize(width.max(count), Value::Null);
    Ok(values)
}

/// One decoded value as [`visit_row`] hands it over: the fixed-width kinds unboxed (an
/// integer of any width as `Int`, a float of either width as `Float`), everything else as a
/// [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An int2, int4 or int8.
    Int(i64),
    /// A float4 or float8 (a float4 widened exactly).
    Float(f64),
    /// Any other value.
    Other(Value),
}

/// Calls `visit(column, value)` for each column of the row that `needed` marks, in column
/// order, skipping the others without decoding them; returns the row's column count (columns
/// past it read as NULL and are not visited). [`sink_row`] is the same walk with the values
/// delivered to a [`RowSink`] by target.
pub fn visit_row(bytes: &[u8], needed: &[bool], visit: impl FnMut(usize, Scalar)) -> Result<usize> {
    struct Visit<F>(F);
    impl<F: FnMut(usize, Scalar)> RowSink for Visit<F> {
        fn null(&mut self, target: u32) {
            (self.0)(target as usize, Scalar::Null)
        }
        fn boolean(&mut self, target: u32, v: bool) {
            (self.0)(target as usize, Scalar::Bool(v))
        }
        fn int(&mut self, target: u32, v: i64) {
            (self.0)(target as usize, Scalar::Int(v))
        }
        fn float(&mut self, target: u32, v: f64) {
            (self.0)(target as usize, Scalar::Float(v))
        }
        fn other(&mut self, target: u32, v: Value) {
            (self.0)(target as usize, Scalar::Other(v))
        }
    }
    let wanted = needed.iter().rposition(|&n| n).map_or(0, |i| i + 1);
    let targets: Vec<u32> =
        needed[..wanted].iter().enumerate().map(|(i, &n)| if n { i as u32 } else { SKIP }).collect();
    sink_row(bytes, &targets, &mut Visit(visit))
}

/// A [`sink_row`] target that means "skip this column".
pub const SKIP: u32 = u32::MAX;

/// Where [`sink_row`] delivers a row's values: each with the target its column was given.
/// Numbers and booleans come unboxed (an integer of any width as `i64`, a float of either
/// width as `f64`); everything else as a [`Value`].
pub trait RowSink {
    /// A NULL.
    fn null(&mut self, target: u32);
    /// A boolean.
    fn boolean(&mut self, target: u32, v: bool);
    /// An int2, int4 or int8.
    fn int(&mut self, target: u32, v: i64);
    /// A float4 or float8.
    fn float(&mut self, target: u32, v: f64);
    /// Any other value.
    fn other(&mut self, target: u32, v: Value);
}

/// Walks the row's first `targets.len()` columns (`targets[i]` is column `i`'s target, or
/// [`SKIP`]), delivering each wanted value to `sink` and stepping over the rest undecoded;
/// returns the row's column count (columns past it read as NULL and are not delivered). Callers
/// cut `targets` after its last wanted column once, rather than every row paying for trailing
/// skips. This is a vectorized scan's inner loop, so it reads fixed-width values in place.
#[inline]
pub fn sink_row(bytes: &[u8], targets: &[u32], sink: &mut impl RowSink) -> Result<usize> {
    let Some(head) = bytes.get(..2) else { return Err(LeReader::new(bytes, "row").error("no column count")) };
    let count = u16::from_le_bytes([head[0], head[1]]) as usize;
    let last = targets.len().min(count);
    let mut pos = 2;
    let truncated = || LeReader::new(bytes, "row").error("truncated value");
    for &target in &targets[..last] {
        let tag = *bytes.get(pos).ok_or_else(truncated)?;
        pos += 1;
        let want = target != SKIP;
        // Fixed-width kinds are read (or stepped over) in place; the rest through the reader.
        let width = match tag {
            0..=2 => 0,
            3 => 2,
            4 | 6 | 9 => 4,
            5 | 7 | 10 | 11 | 19 => 8,
            14 | 15 => 16,
            8 | 16 | 17 | 18 => {
                let len = bytes.get(pos..pos + 4).ok_or_else(truncated)?;
                4 + u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize
            }
            _ => usize::MAX,
        };
        if width == usize::MAX || (want && tag > 7) {
            // Variable-width values, and wanted values other than numbers and booleans, go
            // through the general reader.
            let mut reader = LeReader::new(bytes, "row");
            reader.take(pos)?;
            if want {
                sink.other(target, read_tagged(&mut reader, tag)?);
            } else {
                skip_tagged(&mut reader, tag)?;
            }
            pos = reader.position();
            continue;
        }
        let payload = bytes.get(pos..pos + width).ok_or_else(truncated)?;
        pos += width;
        if !want {
            continue;
        }
        match tag {
            0 => sink.null(target),
            1 => sink.boolean(target, false),
            2 => sink.boolean(target, true),
            3 => sink.int(target, i64::from(i16::from_le_bytes([payload[0], payload[1]]))),
            4 => sink.int(target, i64::from(i32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]))),
            5 => sink.int(target, i64::from_le_bytes(payload.try_into().map_err(|_| truncated())?)),
            6 => sink.float(target, f64::from(f32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]))),
            _ => sink.float(target, f64::from_le_bytes(payload.try_into().map_err(|_| truncated())?)),
        }
    }
    Ok(count)
}

/// Moves past one encoded value.
fn skip_value(reader: &mut LeReader<'_>) -> Result<()> {
    let tag = reader.u8()?;
    skip_tagged(reader, tag)
}

/// Moves past the value whose tag byte `tag` was just read.
fn skip_tagged(reader: &mut LeReader<'_>, tag: u8) -> Result<()> {
    match tag {
        0..=2 => {}
        3 => {
            reader.take(2)?;
        }
        4 | 6 | 9 => {
            reader.take(4)?;
        }
        5 | 7 | 10 | 11 | 19 => {
            reader.take(8)?;
        }
        8 | 16 | 17 | 18 => {
            let len = reader.u32()? as usize;
            reader.take(len)?;
        }
        15 => {
            reader.take(16)?;
        }
        12 => {
            reader.u8()?;
            for _ in 0..reader.u32()? {
                skip_value(reader)?;
            }
        }
        13 => {
            reader.take(3)?;
            let count = reader.u32()? as usize;
            reader.take(count.checked_mul(4).ok_or_else(|| reader.error("numeric too long"))?)?;
        }
        14 => {
            reader.take(16)?;
        }
        other => return Err(reader.error(&format!("unknown value tag {other}"))),
    }
    Ok(())
}

fn read_value(reader: &mut LeReader<'_>) -> Result<Value> {
    let tag = reader.u8()?;
    read_tagged(reader, tag)
}

/// The value whose tag byte `tag` was just read.
fn read_tagged(reader: &mut LeReader<'_>, tag: u8) -> Result<Value> {
    Ok(match tag {
        0 => Value::Null,
        1 => Value::Bool(false),
        2 => Value::Bool(true),
        3 => Value::Int2(i16::from_le_bytes(reader.array()?)),
        4 => Value::Int4(i32::from_le_bytes(reader.array()?)),
        5 => Value::Int8(i64::from_le_bytes(reader.array()?)),
        6 => Value::Float4(f32::from_bits(reader.u32()?)),
        7 => Value::Float8(f64::from_bits(reader.u64()?)),
        8 => {
            let len = reader.u32()? as usize;
            let text = std::str::from_utf8(reader.take(len)?)
                .map_err(|_| DbError::Corruption("row text is not UTF-8".into()))?;
            Value::Text(text.to_string())
        }
        9 => Value::Date(i32::from_le_bytes(reader.array()?)),
        10 => Value::Timestamp(i64::from_le_bytes(reader.array()?)),
        11 => Value::TimestampTz(i64::from_le_bytes(reader.array()?)),
        19 => Value::Time(i64::from_le_bytes(reader.array()?)),
        12 => {
            let code = reader.u8()?;
            let element = crate::ElementType::from_code(code)
                .ok_or_else(|| reader.error(&format!("unknown element type {code}")))?;
            let count = reader.u32()? as usize;
            let mut values = Vec::with_capacity(count.min(1 << 16));
            for _ in 0..count {
                values.push(read_value(reader)?);
            }
            Value::Array(element, values)
        }
        13 => {
            use crate::numeric::Class;
            let class = match reader.u8()? {
                0 => Class::Positive,
                1 => Class::Negative,
                2 => Class::NaN,
                3 => Class::Infinity,
                4 => Class::NegInfinity,
                other => return Err(reader.error(&format!("unknown numeric class {other}"))),
            };
            let scale = u16::from_le_bytes(reader.array()?);
            let count = reader.u32()? as usize;
            let mut limbs = Vec::with_capacity(count.min(1 << 16));
            for _ in 0..count {
                limbs.push(reader.u32()?);
            }
            let n = crate::Numeric::from_parts(class, scale, limbs).ok_or_else(|| reader.error("malformed numeric"))?;
            Value::Numeric(n)
        }
        15 => Value::Uuid(reader.array()?),
        17 | 18 => {
            let len = reader.u32()? as usize;
            let text = std::str::from_utf8(reader.take(len)?)
                .map_err(|_| DbError::Corruption("row json is not UTF-8".into()))?;
            if tag == 17 {
                Value::Json(text.to_string())
            } else {
                let parsed = crate::json::parse(text).map_err(|e| DbError::Corruption(format!("row jsonb: {e}")))?;
                Value::Jsonb(Box::new(parsed))
            }
        }
        16 => {
            let len = reader.u32()? as usize;
            Value::Bytea(reader.take(len)?.to_vec())
        }
        14 => Value::Interval(crate::Interval::new(
            i32::from_le_bytes(reader.array()?),
            i32::from_le_bytes(reader.array()?),
            i64::from_le_bytes(reader.array()?),
        )),
        other => return Err(reader.error(&format!("unknown value tag {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_pads_missing_columns_and_rejects_garbage() {
        let row = vec![
            Value::Int4(-7),
            Value::Null,
            Value::Text("héllo".into()),
            Value::Float8(2.5),
            Value::Bool(true),
            Value::Int8(i64::MIN),
            Value::Int2(3),
            Value::Float4(1.25),
            Value::Date(-3),
            Value::Timestamp(1 << 40),
            Value::TimestampTz(-(1 << 40)),
            Value::Array(crate::ElementType::Int4, vec![Value::Int4(1), Value::Null]),
            Value::Numeric(crate::Numeric::parse("-1234567890123.4500").unwrap()),
            Value::Numeric(crate::Numeric::parse("NaN").unwrap()),
            Value::Interval(crate::Interval::new(-14, 3, -5_000_001)),
            Value::Uuid(*b"0123456789abcdef"),
            Value::Bytea(vec![0, 255, 7]),
            Value::Time(45_296_000_001),
            Value::Json("{\"b\": 1,  \"a\": [true]}".into()),
            Value::Jsonb(Box::new(crate::json::parse("{\"b\": 1, \"a\": [null, 1.50]}").unwrap().canonical())),
        ];
        let mut bytes = Vec::new();
        encode_row(&row, &mut bytes);
        assert_eq!(decode_row(&bytes, row.len()).unwrap(), row);
        let mask: Vec<bool> = (0..row.len()).map(|i| i % 3 == 0).collect();
        let projected = decode_row_projected(&bytes, row.len(), &mask).unwrap();
        for (i, v) in projected.iter().enumerate() {
            assert_eq!(v, if mask[i] { &row[i] } else { &Value::Null }, "column {i}");
        }
        let padded = decode_row(&bytes, row.len() + 2).unwrap();
        assert_eq!(padded[row.len()..], [Value::Null, Value::Null]);
        // visit_row against decode_row under many masks (every column kind wanted or skipped
        // before and after every other).
        let full = decode_row(&bytes, row.len()).unwrap();
        for bits in (0u32..1 << row.len()).step_by(61) {
            let mask: Vec<bool> = (0..row.len()).map(|i| bits & (1 << i) != 0).collect();
            let mut visited = Vec::new();
            let count = visit_row(&bytes, &mask, |i, v| visited.push((i, v))).unwrap();
            assert_eq!(count, row.len());
            let expected: Vec<(usize, Scalar)> = (0..row.len())
                .filter(|i| mask[*i])
                .map(|i| {
                    let v = match &full[i] {
                        Value::Null => Scalar::Null,
                        Value::Bool(b) => Scalar::Bool(*b),
                        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => Scalar::Int(full[i].as_i64().unwrap()),
                        Value::Float4(_) | Value::Float8(_) => Scalar::Float(full[i].as_f64().unwrap()),
                        other => Scalar::Other(other.clone()),
                    };
                    (i, v)
                })
                .collect();
            assert_eq!(visited, expected, "mask {bits:b}");
        }
        assert!(visit_row(&bytes[..bytes.len() - 1], &vec![true; row.len()], |_, _| {}).is_err());
        // Columns past the last one needed are not looked at.
        let mut seen = 0;
        assert_eq!(visit_row(&bytes, &[false, true], |_, _| seen += 1).unwrap(), row.len());
        assert_eq!(seen, 1);
        assert!(decode_row(&bytes[..bytes.len() - 1], row.len()).is_err());
        assert!(decode_row(&[1, 0, 99], 1).is_err());
    }
}
