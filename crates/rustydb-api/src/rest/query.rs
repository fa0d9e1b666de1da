//! `POST /v1/query`: SQL and parameters in, JSON rows out.
//!
//! Without `params` the text may hold several statements, run as the simple query protocol
//! runs them (the answer is the last one's); with `params` it is one statement, prepared and
//! bound as the extended protocol would (`$1`, `$2`, ... take the JSON values, converted to
//! the types the statement gives them). `COPY ... FROM STDIN` takes its data from `copy_data`,
//! and `COPY ... TO STDOUT` answers with it.
//!
//! The answer's rows are encoded as the body is sent, a chunk of rows at a time, so a large
//! result never exists twice in memory as values and as one JSON text.

use crate::json::{from_json, to_json};
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rustydb_foundation::{DbError, Result, SqlState, Value};
use rustydb_query::{CopyResponse, Session, StatementResult};
use serde::Deserialize;
use serde_json::{Value as Json, json};

/// Rows encoded per body chunk.
const ROWS_PER_CHUNK: usize = 1000;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// The SQL.
    pub sql: String,
    /// Values for `$1`, `$2`, ...; present means "one statement, prepared".
    #[serde(default)]
    pub params: Option<Vec<Json>>,
    /// A session handle from `POST /v1/sessions`.
    #[serde(default)]
    pub session: Option<String>,
    /// The data a `COPY ... FROM STDIN` reads (text or CSV, as the statement says).
    #[serde(default)]
    pub copy_data: Option<String>,
}

/// Runs the request's statement(s) in `session`. Blocking.
pub fn run(session: &mut Session, request: &QueryRequest) -> Result<StatementResult> {
    let mut result = match &request.params {
        Some(params) => {
            let prepared = session.prepare(&request.sql, &[])?;
            if prepared.param_types.len() != params.len() {
                session.fail();
                return Err(DbError::sql(
                    SqlState::ProtocolViolation,
                    format!(
                        "the request supplies {} parameters, but the statement requires {}",
                        params.len(),
                        prepared.param_types.len()
                    ),
                ));
            }
            let values: Result<Vec<Value>> = params
                .iter()
                .zip(&prepared.param_types)
                .enumerate()
                .map(|(i, (j, ty))| from_json(j, *ty, i + 1))
                .collect();
            let values = match values {
                Ok(v) => v,
                Err(e) => {
                    session.fail();
                    return Err(e);
                }
            };
            session.execute_prepared(&prepared, values)?
        }
        None => {
            let mut last = StatementResult::default();
            for r in session.execute(&request.sql) {
                last = r?;
                if matches!(last.copy, Some(CopyResponse::In { .. })) {
                    // The simple protocol stops at a COPY FROM STDIN until its data arrives.
                    break;
                }
            }
            last
        }
    };
    if let Some(CopyResponse::In { .. }) = result.copy {
        let Some(data) = &request.copy_data else {
            return Err(session.copy_fail("COPY FROM STDIN over REST needs the data in \"copy_data\""));
        };
        session.copy_data(data.as_bytes())?;
        result = session.copy_done()?;
    } else if request.copy_data.is_some() {
        return Err(DbError::sql(SqlState::SyntaxError, "\"copy_data\" is only for COPY ... FROM STDIN"));
    }
    Ok(result)
}

/// The answer, streamed.
pub fn respond(result: StatementResult) -> Response {
    let notices: Vec<Json> = result
        .notices
        .iter()
        .map(|n| json!({ "severity": n.severity, "code": n.code, "message": n.message }))
        .collect();
    let mut head = serde_json::Map::new();
    head.insert("command".into(), json!(result.tag));
    head.insert("notices".into(), Json::Array(notices));
    if let Some(copy) = &result.copy {
        if let CopyResponse::Out { chunks, binary, .. } = copy {
            // Held in memory (a REST session does not spool), so reading cannot fail.
            let bytes: Vec<u8> = chunks.concat().unwrap_or_default();
            let text = if *binary {
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            head.insert("copy_data".into(), json!(text));
            head.insert("copy_binary_base64".into(), json!(binary));
        }
        head.insert("row_count".into(), json!(result.command_count()));
        return axum::Json(Json::Object(head)).into_response();
    }
    let Some(columns) = result.columns else {
        head.insert("columns".into(), Json::Null);
        head.insert("row_count".into(), json!(result.command_count()));
        return axum::Json(Json::Object(head)).into_response();
    };
    let columns: Vec<Json> =
        columns.iter().map(|c| json!({ "name": c.name, "type": c.data_type.sql_name() })).collect();
    head.insert("columns".into(), Json::Array(columns));
    let count = result.rows.len();
    // `{"command":...,"rows":[` — the object without its closing brace, then the rows.
    let mut opening = Json::Object(head).to_string();
    opening.pop();
    opening.push_str(",\"rows\":[");
    let closing = format!("],\"row_count\":{count}}}");
    let chunks = Chunks { rows: result.rows.into_iter(), first: true, opening: Some(opening), closing: Some(closing) };
    let body = Body::from_stream(futures::stream::iter(chunks).map(Ok::<Bytes, std::convert::Infallible>));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

use futures::StreamExt as _;

/// The body's pieces: the opening, rows a chunk at a time, the closing.
struct Chunks {
    rows: std::vec::IntoIter<Vec<Value>>,
    first: bool,
    opening: Option<String>,
    closing: Option<String>,
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if let Some(opening) = self.opening.take() {
            return Some(Bytes::from(opening));
        }
        let mut out = String::new();
        for row in self.rows.by_ref().take(ROWS_PER_CHUNK) {
            if !std::mem::take(&mut self.first) {
                out.push(',');
            }
            out.push_str(&Json::Array(row.iter().map(to_json).collect()).to_string());
        }
        if !out.is_empty() {
            return Some(Bytes::from(out));
        }
        self.closing.take().map(Bytes::from)
    }
}
