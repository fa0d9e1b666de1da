//! SQL data types, named and numbered as PostgreSQL names and numbers them, so that the wire
//! layer can send the right type OID and error messages read like PostgreSQL's.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A SQL data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// `boolean`
    Bool,
    /// `smallint` (int2)
    Int2,
    /// `integer` (int4)
    Int4,
    /// `bigint` (int8)
    Int8,
    /// `real` (float4)
    Float4,
    /// `double precision` (float8)
    Float8,
    /// `text`
    Text,
    /// `character varying(n)`; `None` is unbounded.
    Varchar(Option<u32>),
    /// `character(n)`: blank-padded to `n`.
    Char(u32),
    /// `date`: days since 2000-01-01 (see [`crate::datetime`]).
    Date,
    /// `timestamp [without time zone]`: microseconds since 2000-01-01 00:00.
    Timestamp,
    /// `timestamp with time zone`: microseconds since 2000-01-01 00:00 UTC.
    TimestampTz,
    /// The type of an untyped literal (`'abc'`, `NULL`) before context decides; sent as text.
    Unknown,
    /// A one-dimensional array (see [`crate::array`]).
    Array(crate::ElementType),
    /// `numeric(precision, scale)`, or unconstrained `numeric` (see [`crate::numeric`]).
    Numeric(Option<(u16, i16)>),
    /// `interval`: months, days and microseconds (see [`crate::interval`]).
    Interval,
    /// `uuid`: 16 bytes.
    Uuid,
    /// `bytea`: a byte string.
    Bytea,
    /// `json`: JSON text, kept as written (see [`crate::json`]).
    Json,
    /// `jsonb`: parsed JSON in canonical form.
    Jsonb,
    /// `time [without time zone]`: microseconds since midnight (see [`crate::time_of_day`]).
    Time,
}

impl DataType {
    /// The PostgreSQL type OID (`pg_type.oid`) sent in RowDescription.
    pub fn oid(self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Int8 => 20,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Text | DataType::Unknown => 25,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Char(_) => 1042,
            DataType::Varchar(_) => 1043,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::TimestampTz => 1184,
            DataType::Array(e) => e.array_oid(),
            DataType::Numeric(_) => 1700,
            DataType::Interval => 1186,
            DataType::Uuid => 2950,
            DataType::Bytea => 17,
            DataType::Json => 114,
            DataType::Jsonb => 3802,
            DataType::Time => 1083,
        }
    }

    /// The type a client means by a parameter type OID (Parse, or a binary value's type).
    /// `bpchar` without a length is unbounded text here. `None` for OID 0 (unspecified) and for
    /// types RustyDB does not have.
    pub fn from_oid(oid: u32) -> Option<DataType> {
        Some(match oid {
            16 => DataType::Bool,
            20 => DataType::Int8,
            21 => DataType::Int2,
            23 => DataType::Int4,
            25 | 1042 => DataType::Text,
            700 => DataType::Float4,
            701 => DataType::Float8,
            1043 => DataType::Varchar(None),
            1082 => DataType::Date,
            1114 => DataType::Timestamp,
            1184 => DataType::TimestampTz,
            705 => DataType::Unknown,
            1700 => DataType::Numeric(None),
            1186 => DataType::Interval,
            2950 => DataType::Uuid,
            17 => DataType::Bytea,
            114 => DataType::Json,
            3802 => DataType::Jsonb,
            1083 => DataType::Time,
            other => DataType::Array(crate::ElementType::from_array_oid(other)?),
        })
    }

    /// The type's storage size as `pg_type.typlen` reports it (-1 for variable length).
    pub fn type_len(self) -> i16 {
        match self {
            DataType::Bool => 1,
            DataType::Int2 => 2,
            DataType::Int4 | DataType::Float4 | DataType::Date => 4,
            DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz | DataType::Time => 8,
            DataType::Interval | DataType::Uuid => 16,
            DataType::Bytea
            | DataType::Json
            | DataType::Jsonb
            | DataType::Text
            | DataType::Unknown
            | DataType::Varchar(_)
            | DataType::Char(_)
            | DataType::Array(_)
            | DataType::Numeric(_) => -1,
        }
    }

    /// The type modifier (`atttypmod`): declared length + 4 for char types, `(precision << 16 |
    /// scale & 0x7ff) + 4` for a constrained numeric, -1 otherwise.
    pub fn type_modifier(self) -> i32 {
        match self {
            DataType::Varchar(Some(n)) | DataType::Char(n) => n as i32 + 4,
            DataType::Numeric(Some((p, s))) => ((i32::from(p) << 16) | (i32::from(s) & 0x7ff)) + 4,
            _ => -1,
        }
    }

    /// True for the integer types.
    pub fn is_integer(self) -> bool {
        matches!(self, DataType::Int2 | DataType::Int4 | DataType::Int8)
    }

    /// True for every numeric type.
    pub fn is_numeric(self) -> bool {
        self.is_integer() || matches!(self, DataType::Float4 | DataType::Float8 | DataType::Numeric(_))
    }

    /// True for the date and time types.
    pub fn is_datetime(self) -> bool {
        matches!(self, DataType::Date | DataType::Timestamp | DataType::TimestampTz)
    }

    /// True for the character string types (and the unknown literal type).
    pub fn is_string(self) -> bool {
        matches!(self, DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Unknown)
    }

    /// The name PostgreSQL uses in messages, e.g. `integer`, `double precision`.
    pub fn sql_name(self) -> &'static str {
        match self {
            DataType::Bool => "boolean",
            DataType::Int2 => "smallint",
            DataType::Int4 => "integer",
            DataType::Int8 => "bigint",
            DataType::Float4 => "real",
            DataType::Float8 => "double precision",
            DataType::Text => "text",
            DataType::Varchar(_) => "character varying",
            DataType::Char(_) => "character",
            DataType::Date => "date",
            DataType::Timestamp => "timestamp without time zone",
            DataType::TimestampTz => "timestamp with time zone",
            DataType::Unknown => "unknown",
            DataType::Array(e) => e.array_name(),
            DataType::Numeric(_) => "numeric",
            DataType::Interval => "interval",
            DataType::Uuid => "uuid",
            DataType::Bytea => "bytea",
            DataType::Json => "json",
            DataType::Jsonb => "jsonb",
            DataType::Time => "time without time zone",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Varchar(Some(n)) => write!(f, "character varying({n})"),
            DataType::Char(n) => write!(f, "character({n})"),
            DataType::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            other => f.write_str(other.sql_name()),
        }
    }
}
