//! Errors as HTTP responses: the status says what kind of failure it was, the JSON body says
//! exactly which, with the SQLSTATE a PostgreSQL client would have received.
//!
//! ```json
//! {"error": {"code": "42P01", "message": "relation \"nope\" does not exist"}}
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rustydb_foundation::{DbError, SqlState};
use serde_json::json;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub DbError);

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    /// 42601-style request problems (a malformed body, a missing field).
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError(DbError::sql(SqlState::SyntaxError, message))
    }

    /// The HTTP status for this error's SQLSTATE.
    pub fn status(&self) -> StatusCode {
        status_for(self.0.sqlstate().code())
    }
}

/// Maps a SQLSTATE to the HTTP status that best tells a client what to do about it.
pub fn status_for(code: &str) -> StatusCode {
    match code {
        // Who you are: log in again, or differently.
        "28P01" | "28000" => StatusCode::UNAUTHORIZED,
        // What you may do.
        "42501" => StatusCode::FORBIDDEN,
        // What is not there: a database, a table, a session handle.
        "3D000" | "42P01" | "26000" => StatusCode::NOT_FOUND,
        // Conflicts a retry (or another value) resolves: constraint and serialization failures.
        c if c.starts_with("23") || c.starts_with("40") => StatusCode::CONFLICT,
        // A cancelled or timed-out statement is the server's refusal, not a slow client (408
        // would invite clients and proxies to resend the POST): it falls under 57 below.
        // The server cannot take the work now: too many sessions, shutting down.
        c if c.starts_with("53") || c.starts_with("57") => StatusCode::SERVICE_UNAVAILABLE,
        // The server's own failures.
        c if c.starts_with("XX") || c.starts_with("58") => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The JSON error body.
pub fn error_body(e: &DbError) -> serde_json::Value {
    let mut error = json!({ "code": e.sqlstate().code(), "message": e.to_string() });
    if let Some(detail) = e.detail() {
        error["detail"] = json!(detail);
    }
    json!({ "error": error })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self.0, "REST request failed");
        }
        let mut response = (status, axum::Json(error_body(&self.0))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"rustydb\""));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_sqlstate_class() {
        assert_eq!(status_for("28P01"), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for("42501"), StatusCode::FORBIDDEN);
        assert_eq!(status_for("42P01"), StatusCode::NOT_FOUND);
        assert_eq!(status_for("23505"), StatusCode::CONFLICT);
        assert_eq!(status_for("40001"), StatusCode::CONFLICT);
        assert_eq!(status_for("53300"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_for("XX000"), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status_for("22012"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for("42601"), StatusCode::BAD_REQUEST);
    }
}
