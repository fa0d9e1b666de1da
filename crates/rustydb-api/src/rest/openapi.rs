//! The OpenAPI 3.1 document served at `/v1/openapi.json`.
//!
//! Written by hand next to the routes it describes; [`ROUTES`] lists every route the router
//! serves, a unit test checks the document describes exactly those, and the REST integration
//! test calls each one, so the document cannot drift from what is served.

use serde_json::{Value as Json, json};

/// Every route the router serves: (method, path in OpenAPI's `{param}` form).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/query"),
    ("post", "/v1/sessions"),
    ("delete", "/v1/sessions/{id}"),
    ("post", "/v1/auth/token"),
    ("delete", "/v1/auth/token"),
    ("get", "/v1/tables"),
    ("get", "/v1/tables/{name}"),
    ("post", "/v1/admin/checkpoint"),
    ("post", "/v1/admin/vacuum"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
    ("get", "/v1/openapi.json"),
];

fn error_responses() -> Json {
    let error = json!({ "description": "the failure, with its SQLSTATE", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    json!({
        "400": error, "401": error, "403": error, "404": error, "409": error, "503": error,
    })
}

fn with_errors(ok: Json) -> Json {
    let mut responses = error_responses();
    if let (Json::Object(all), Json::Object(ok)) = (&mut responses, ok) {
        all.extend(ok);
    }
    responses
}

fn database_param() -> Json {
    json!({ "name": "database", "in": "query", "required": false, "schema": { "type": "string" },
            "description": "the database (Basic credentials); the bootstrap database when absent" })
}

fn json_body(schema: &str) -> Json {
    json!({ "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn ok(description: &str, schema: &str) -> Json {
    json!({ "200": { "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } } })
}

/// The document.
pub fn document() -> Json {
    let secured = json!([{ "basic": [] }, { "bearer": [] }]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "RustyDB REST API",
            "version": rustydb_foundation::version::RUSTYDB_VERSION,
            "description": "SQL over HTTP with the database's own roles, session handles for transactions, catalog listing, maintenance, health and metrics.",
        },
        "paths": {
            "/v1/query": { "post": {
                "summary": "Run SQL",
                "security": secured,
                "parameters": [database_param()],
                "requestBody": { "required": true, "content": json_body("QueryRequest")["content"] },
                "responses": with_errors(ok("the last statement's result", "QueryResult")),
            }},
            "/v1/sessions": { "post": {
                "summary": "Open a session handle (for transactions across requests)",
                "security": secured,
                "parameters": [database_param()],
                "responses": with_errors(json!({ "201": { "description": "the handle", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Session" } } } } })),
            }},
            "/v1/sessions/{id}": { "delete": {
                "summary": "Close a session handle (its open transaction rolls back)",
                "security": secured,
                "parameters": [database_param(), { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": with_errors(json!({ "204": { "description": "closed" } })),
            }},
            "/v1/auth/token": {
                "post": {
                    "summary": "Trade Basic credentials for a bearer token",
                    "security": [{ "basic": [] }],
                    "parameters": [database_param()],
                    "responses": with_errors(json!({ "201": { "description": "the token", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Token" } } } } })),
                },
                "delete": {
                    "summary": "Revoke the bearer token sent",
                    "security": [{ "bearer": [] }],
                    "responses": with_errors(json!({ "204": { "description": "revoked" } })),
                },
            },
            "/v1/tables": { "get": {
                "summary": "The tables and views the role can see",
                "security": secured,
                "parameters": [database_param()],
                "responses": with_errors(ok("the tables", "TableList")),
            }},
            "/v1/tables/{name}": { "get": {
                "summary": "One table's columns",
                "security": secured,
                "parameters": [database_param(), { "name": "name", "in": "path", "required": true, "schema": { "type": "string" }, "description": "table or schema.table, exactly as stored" }],
                "responses": with_errors(ok("the table", "Table")),
            }},
            "/v1/admin/checkpoint": { "post": {
                "summary": "Take a checkpoint (superusers)",
                "security": secured,
                "parameters": [database_param()],
                "responses": with_errors(ok("what the checkpoint did", "Checkpoint")),
            }},
            "/v1/admin/vacuum": { "post": {
                "summary": "VACUUM one table or all",
                "security": secured,
                "parameters": [database_param()],
                "requestBody": { "required": false, "content": json_body("VacuumRequest")["content"] },
                "responses": with_errors(ok("the command's result", "QueryResult")),
            }},
            "/health/live": { "get": {
                "summary": "Liveness: the process answers",
                "responses": { "200": { "description": "live", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } } },
            }},
            "/health/ready": { "get": {
                "summary": "Readiness: accepting work (not shutting down, writes not stopped)",
                "responses": {
                    "200": { "description": "ready", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } },
                    "503": { "description": "not ready", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } },
                },
            }},
            "/metrics": { "get": {
                "summary": "Prometheus metrics",
                "responses": { "200": { "description": "Prometheus text format 0.0.4", "content": { "text/plain": { "schema": { "type": "string" } } } } },
            }},
            "/v1/openapi.json": { "get": {
                "summary": "This document",
                "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } },
            }},
        },
        "components": {
            "securitySchemes": {
                "basic": { "type": "http", "scheme": "basic" },
                "bearer": { "type": "http", "scheme": "bearer" },
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": { "code": { "type": "string", "description": "SQLSTATE" }, "message": { "type": "string" }, "detail": { "type": "string" } },
                }}},
                "QueryRequest": { "type": "object", "required": ["sql"], "additionalProperties": false, "properties": {
                    "sql": { "type": "string" },
                    "params": { "type": "array", "items": { "type": ["string", "number", "boolean", "null"] }, "description": "values for $1, $2, ...; one statement when present" },
                    "session": { "type": "string", "description": "a handle from POST /v1/sessions" },
                    "copy_data": { "type": "string", "description": "the data COPY ... FROM STDIN reads" },
                }},
                "QueryResult": { "type": "object", "required": ["command", "notices"], "properties": {
                    "command": { "type": "string", "description": "the command tag, e.g. SELECT 2" },
                    "columns": { "type": ["array", "null"], "items": { "type": "object", "properties": { "name": { "type": "string" }, "type": { "type": "string" } } } },
                    "rows": { "type": "array", "items": { "type": "array" } },
                    "row_count": { "type": ["integer", "null"] },
                    "notices": { "type": "array", "items": { "type": "object" } },
                    "copy_data": { "type": "string" },
                    "copy_binary_base64": { "type": "boolean" },
                }},
                "Session": { "type": "object", "required": ["session"], "properties": {
                    "session": { "type": "string" }, "database": { "type": "string" }, "idle_timeout_s": { "type": "integer" },
                }},
                "Token": { "type": "object", "required": ["token", "expires_in"], "properties": {
                    "token": { "type": "string" }, "token_type": { "type": "string" }, "expires_in": { "type": "integer" },
                    "user": { "type": "string" }, "database": { "type": "string" },
                }},
                "TableList": { "type": "object", "properties": { "tables": { "type": "array", "items": { "type": "object", "properties": {
                    "schema": { "type": "string" }, "name": { "type": "string" }, "type": { "type": "string" },
                }}}}},
                "Table": { "type": "object", "properties": {
                    "schema": { "type": "string" }, "name": { "type": "string" }, "type": { "type": "string" },
                    "columns": { "type": "array", "items": { "type": "object", "properties": {
                        "name": { "type": "string" }, "type": { "type": "string" }, "nullable": { "type": "boolean" },
                        "default": { "type": ["string", "null"] }, "max_length": { "type": ["integer", "null"] },
                    }}},
                }},
                "Checkpoint": { "type": "object", "properties": {
                    "redo_lsn": { "type": "string" }, "segments_freed": { "type": "integer" }, "elapsed_ms": { "type": "number" },
                }},
                "VacuumRequest": { "type": "object", "additionalProperties": false, "properties": { "table": { "type": "string" } } },
                "Health": { "type": "object", "properties": { "status": { "type": "string" }, "reason": { "type": "string" } } },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_describes_exactly_the_routes_served() {
        let doc = document();
        let mut described = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                described.insert((method.clone(), path.clone()));
            }
        }
        let served: BTreeSet<_> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        assert_eq!(described, served);
    }

    #[test]
    fn every_reference_resolves() {
        let text = document().to_string();
        let schemas = document()["components"]["schemas"].clone();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.get(&name).is_some(), "{name} is referenced but not defined");
        }
    }
}
