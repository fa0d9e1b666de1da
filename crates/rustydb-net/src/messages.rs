//! Conversions from engine results to backend messages: RowDescription with PostgreSQL type
//! OIDs, DataRow in text format, ErrorResponse and NoticeResponse fields, and the
//! ParameterStatus set drivers expect after authentication.

use bytes::BytesMut;
use pgwire::error::ErrorInfo;
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};
use pgwire::messages::response::TransactionStatus;
use rustydb_foundation::{DbError, Value};
use rustydb_query::{Notice, ResultColumn};
use std::collections::HashMap;

/// RowDescription for a result's columns (text format; no table OIDs until pg_attribute exists).
pub fn row_description(columns: &[ResultColumn]) -> RowDescription {
    let fields = columns
        .iter()
        .map(|c| {
            FieldDescription::new(
                c.name.clone(),
                0,
                0,
                c.data_type.oid(),
                c.data_type.type_len(),
                c.data_type.type_modifier(),
                0,
            )
        })
        .collect();
    RowDescription::new(fields)
}

/// A DataRow: per field a length (-1 for NULL) and the value in its column's format from
/// `formats` (text where there is none: the simple protocol passes none).
pub fn data_row(row: &[Value], formats: &[i16]) -> DataRow {
    let mut data = BytesMut::with_capacity(row.len() * 8);
    let mut text = String::new();
    for (i, value) in row.iter().enumerate() {
        let format = formats.get(i).copied().unwrap_or(crate::formats::TEXT);
        crate::formats::encode(value, format, &mut data, &mut text);
    }
    DataRow::new(data, row.len() as i16)
}

/// The ReadyForQuery status byte of a session's transaction status.
pub fn ready_status(status: rustydb_query::TransactionStatus) -> TransactionStatus {
    match status {
        rustydb_query::TransactionStatus::Idle => TransactionStatus::Idle,
        rustydb_query::TransactionStatus::InBlock => TransactionStatus::Transaction,
        rustydb_query::TransactionStatus::Failed => TransactionStatus::Error,
    }
}

/// The ErrorResponse fields of an engine error.
pub fn error_info(error: &DbError, severity: &str) -> ErrorInfo {
    let mut info = ErrorInfo::new(severity.to_string(), error.sqlstate().code().to_string(), error.to_string());
    info.detail = error.detail().map(str::to_string);
    info.hint = error.hint().map(str::to_string);
    info.where_context = error.context().map(str::to_string);
    info
}

/// The NoticeResponse fields of a notice.
pub fn notice_info(notice: &Notice) -> ErrorInfo {
    let mut info = ErrorInfo::new(notice.severity.to_string(), notice.code.to_string(), notice.message.clone());
    info.detail = notice.detail.clone();
    info
}

/// The session settings a ParameterStatus reports, as the startup packet left them.
#[derive(Debug, Clone, Default)]
pub struct ReportedSettings {
    /// `application_name`.
    pub application_name: String,
    /// `DateStyle`.
    pub datestyle: String,
    /// `IntervalStyle`.
    pub intervalstyle: String,
    /// `default_transaction_read_only` (libpq's `target_session_attrs` reads it).
    pub default_transaction_read_only: String,
}

/// The ParameterStatus values sent after AuthenticationOk: the 13 PostgreSQL 15 sends.
pub fn server_parameters(user: &str, superuser: bool, settings: &ReportedSettings) -> HashMap<String, String> {
    let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
    let or = |value: &str, default: &str| if value.is_empty() { default.to_string() } else { value.to_string() };
    HashMap::from([
        ("server_version".into(), rustydb_foundation::version::server_version()),
        ("server_encoding".into(), "UTF8".into()),
        ("client_encoding".into(), "UTF8".into()),
        ("DateStyle".into(), or(&settings.datestyle, "ISO, MDY")),
        ("IntervalStyle".into(), or(&settings.intervalstyle, "postgres")),
        ("TimeZone".into(), "UTC".into()),
        ("integer_datetimes".into(), "on".into()),
        ("standard_conforming_strings".into(), "on".into()),
        ("application_name".into(), settings.application_name.clone()),
        ("is_superuser".into(), on_off(superuser)),
        ("session_authorization".into(), user.to_string()),
        ("default_transaction_read_only".into(), or(&settings.default_transaction_read_only, "off")),
        ("in_hot_standby".into(), "off".into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use rustydb_foundation::DataType;

    #[test]
    fn rows_encode_text_and_nulls() {
        let row = data_row(&[Value::Int4(42), Value::Null, Value::Text("hé".into())], &[]);
        assert_eq!(row.field_count, 3);
        let mut want = BytesMut::new();
        want.put_i32(2);
        want.put_slice(b"42");
        want.put_i32(-1);
        want.put_i32(3);
        want.put_slice("hé".as_bytes());
        assert_eq!(row.data, want);
    }

    #[test]
    fn descriptions_carry_postgres_type_oids() {
        let cols = [
            ResultColumn { name: "id".into(), data_type: DataType::Int4 },
            ResultColumn { name: "v".into(), data_type: DataType::Varchar(Some(10)) },
        ];
        let d = row_description(&cols);
        assert_eq!((d.fields[0].type_id, d.fields[0].type_size), (23, 4));
        assert_eq!((d.fields[1].type_id, d.fields[1].type_modifier), (1043, 14));
    }

    #[test]
    fn parameters_include_what_drivers_parse() {
        let reported = ReportedSettings { application_name: "psql".into(), ..ReportedSettings::default() };
        let p = server_parameters("rustydb", true, &reported);
        assert_eq!((p["application_name"].as_str(), p["default_transaction_read_only"].as_str()), ("psql", "off"));
        assert!(p["server_version"].starts_with("15."));
        assert_eq!(p["DateStyle"], "ISO, MDY");
        assert_eq!(p.len(), 13);
    }
}
