//! Values on the wire in the extended protocol's two formats: text (format 0, PostgreSQL's
//! output and input functions) and binary (format 1, each type's `send`/`recv` form).
//!
//! Format codes come in Bind as PostgreSQL defines them: no codes means text for every
//! value, one code applies to every value, otherwise there is one code per value.

use bytes::{BufMut, BytesMut};
use rustydb_foundation::pg_binary::{RecvError, invalid_utf8};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};

/// Format code of the text format.
pub const TEXT: i16 = 0;
/// Format code of the binary format.
pub const BINARY: i16 = 1;

/// The format of each of `count` values from Bind's list of codes; 08P01 when the list
/// fits neither rule, 22023 for a code that is neither 0 nor 1.
pub fn expand(codes: &[i16], count: usize, what: &str) -> Result<Vec<i16>> {
    let formats = match codes {
        [] => vec![TEXT; count],
        [one] => vec![*one; count],
        many if many.len() == count => many.to_vec(),
        many => {
            return Err(DbError::sql(
                SqlState::ProtocolViolation,
                format!("bind message has {} {what} formats but {count} {what}s", many.len()),
            ));
        }
    };
    if let Some(bad) = formats.iter().find(|f| !matches!(**f, TEXT | BINARY)) {
        return Err(DbError::sql(SqlState::InvalidParameterValue, format!("unsupported format code: {bad}")));
    }
    Ok(formats)
}

/// Decodes Bind's parameter `number` (1-based, for messages) of type `ty`: 22P02 for text
/// the type's input function refuses, 22P03 for binary data longer than the type's, 08P01 for
/// shorter.
pub fn decode(raw: Option<&[u8]>, format: i16, ty: DataType, number: usize) -> Result<Value> {
    let Some(raw) = raw else { return Ok(Value::Null) };
    if format == TEXT {
        let text = utf8(raw)?;
        return Value::parse_as(text, ty);
    }
    let value = rustydb_foundation::pg_binary::recv(raw, ty).map_err(|e| match e {
        // As PostgreSQL's recv functions: too few bytes is a malformed message, too many a bad value.
        RecvError::Short => DbError::sql(SqlState::ProtocolViolation, "insufficient data left in message"),
        RecvError::Long => DbError::sql(
            SqlState::InvalidBinaryRepresentation,
            format!("incorrect binary data format in bind parameter {number}"),
        ),
        RecvError::NotUtf8(at) => invalid_utf8(at),
        RecvError::Invalid(why) => DbError::sql(SqlState::InvalidBinaryRepresentation, why),
    })?;
    value.fit_typmod(ty)
}

fn utf8(raw: &[u8]) -> Result<&str> {
    std::str::from_utf8(raw).map_err(|e| invalid_utf8(raw.get(e.valid_up_to()).copied().unwrap_or(0)))
}

/// Appends one DataRow field: its length (-1 for NULL) and the value in `format` (`text` is
/// scratch space for the text form, reused field after field).
pub fn encode(value: &Value, format: i16, out: &mut BytesMut, text: &mut String) {
    if format == BINARY {
        let start = out.len();
        out.put_i32(0);
        if !rustydb_foundation::pg_binary::send(value, out) {
            out.truncate(start);
            out.put_i32(-1);
            return;
        }
        let len = (out.len() - start - 4) as i32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        return;
    }
    // `text` is scratch space, reused value after value.
    text.clear();
    if value.write_pg_text(text) {
        out.put_i32(text.len() as i32);
        out.put_slice(text.as_bytes());
    } else {
        out.put_i32(-1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_codes_expand_as_postgres_defines_them() {
        assert_eq!(expand(&[], 3, "parameter").unwrap(), [0, 0, 0]);
        assert_eq!(expand(&[1], 2, "parameter").unwrap(), [1, 1]);
        assert_eq!(expand(&[0, 1], 2, "parameter").unwrap(), [0, 1]);
        assert_eq!(expand(&[0, 1], 3, "parameter").unwrap_err().sqlstate(), SqlState::ProtocolViolation);
        assert_eq!(expand(&[2], 1, "parameter").unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
    }

    #[test]
    fn binary_fields_carry_their_length_and_bad_lengths_are_22p03() {
        // Each type's binary form is pg_binary's (tested there); here, the field framing.
        for (value, ty) in [(Value::Int8(-(1 << 40)), DataType::Int8), (Value::Text("héllo".into()), DataType::Text)] {
            let mut out = BytesMut::new();
            encode(&value, BINARY, &mut out, &mut String::new());
            let len = i32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
            assert_eq!(len, out.len() - 4);
            assert_eq!(decode(Some(&out[4..]), BINARY, ty, 1).unwrap(), value);
        }
        let mut out = BytesMut::new();
        encode(&Value::Null, BINARY, &mut out, &mut String::new());
        assert_eq!(&out[..], &(-1i32).to_be_bytes());
        assert_eq!(decode(None, BINARY, DataType::Int4, 1).unwrap(), Value::Null);
        let err = decode(Some(&[0, 0, 0, 0, 1]), BINARY, DataType::Int4, 2).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::InvalidBinaryRepresentation);
        assert!(err.to_string().contains("parameter 2"));
        let short = decode(Some(&[0, 0, 1]), BINARY, DataType::Int4, 2).unwrap_err();
        assert_eq!(short.sqlstate(), SqlState::ProtocolViolation);
    }

    #[test]
    fn text_parameters_use_the_input_functions() {
        assert_eq!(decode(Some(b" 42 "), TEXT, DataType::Int4, 1).unwrap(), Value::Int4(42));
        assert_eq!(decode(Some(b"t"), TEXT, DataType::Bool, 1).unwrap(), Value::Bool(true));
        assert_eq!(
            decode(Some(b"4x"), TEXT, DataType::Int8, 1).unwrap_err().sqlstate(),
            SqlState::InvalidTextRepresentation
        );
        assert_eq!(
            decode(Some(&[0xff]), TEXT, DataType::Text, 1).unwrap_err().sqlstate(),
            SqlState::CharacterNotInRepertoire
        );
    }
}
