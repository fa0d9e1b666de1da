//! The REST API over a real socket: queries with parameters, errors with their SQLSTATE and
//! HTTP status, session handles carrying a transaction, bearer tokens, authentication failures,
//! a large streamed result, catalog listing, maintenance, health, the OpenAPI document matching
//! what is served, and `/metrics` parsed as Prometheus text with families moving after a
//! workload.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use reqwest::{Client, Method, StatusCode};
use rustydb_tests::TestServer;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The bootstrap superuser is trusted from loopback (so the wire client needs no password);
/// every other role must give its password.
const CONFIG: &str = r#"
http_listen = "127.0.0.1:0"

[[hba]]
address = "127.0.0.1/32"
user = "rustydb"
method = "trust"

[[hba]]
address = "all"
method = "scram-sha-256"
"#;

struct Rest {
    base: String,
    http: Client,
}

impl Rest {
    fn new(server: &TestServer) -> Rest {
        Rest { base: format!("http://{}", server.http_addr()), http: Client::new() }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// POST /v1/query as `user`; the status and the JSON body.
    async fn query(&self, user: (&str, &str), body: Value) -> (StatusCode, Value) {
        let r =
            self.request(Method::POST, "/v1/query").basic_auth(user.0, Some(user.1)).json(&body).send().await.unwrap();
        (r.status(), r.json().await.unwrap())
    }
}

const ADMIN: (&str, &str) = ("rustydb", "");
const ALICE: (&str, &str) = ("alice", "wonderland");

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {body}"))
}

#[tokio::test]
async fn queries_sessions_tokens_and_errors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&dir.path().join("data"), CONFIG);
    let rest = Rest::new(&server);
    let (s, b) = rest.query(ADMIN, json!({ "sql": "CREATE ROLE alice LOGIN PASSWORD 'wonderland'" })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["command"], "CREATE ROLE");
    // PostgreSQL 15: creating in `public` needs CREATE on it; REST statements are checked too.
    let (s, b) = rest.query(ALICE, json!({ "sql": "CREATE TABLE early (x int)" })).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "42501"));
    let (s, b) = rest.query(ADMIN, json!({ "sql": "GRANT CREATE ON SCHEMA public TO alice" })).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Several statements, the last one's answer; typed columns and JSON values.
    let (s, b) = rest
        .query(
            ALICE,
            json!({ "sql": "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION, born DATE); \
                            INSERT INTO t VALUES (1, 'one', 1.5, '2000-01-02'), (2, NULL, 'NaN', NULL)" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["command"], "INSERT 0 2");
    assert_eq!(b["row_count"], 2);
    assert_eq!(b["columns"], Value::Null);
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT * FROM t ORDER BY id" })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["columns"],
        json!([{"name": "id", "type": "integer"}, {"name": "name", "type": "text"},
               {"name": "score", "type": "double precision"}, {"name": "born", "type": "date"}])
    );
    assert_eq!(b["rows"], json!([[1, "one", 1.5, "2000-01-02"], [2, null, "NaN", null]]));
    assert_eq!(b["row_count"], 2);

    // Parameters, as numbers or strings, converted to the placeholder's type.
    let (s, b) = rest
        .query(ALICE, json!({ "sql": "SELECT name FROM t WHERE id = $1 AND score < $2", "params": [1, "2.5"] }))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["rows"], json!([["one"]]));
    // A parameter is a value, never SQL.
    let (s, b) =
        rest.query(ALICE, json!({ "sql": "SELECT count(*) FROM t WHERE name = $1", "params": ["x' OR '1'='1"] })).await;
    assert_eq!((s, &b["rows"]), (StatusCode::OK, &json!([[0]])));
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT $1::int", "params": ["nope"] })).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "22P02"));
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT $1::int", "params": [] })).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "08P01"));

    // Errors: SQLSTATE in the body, the status from its class.
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT * FROM nope" })).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "42P01"));
    assert!(b["error"]["message"].as_str().unwrap().contains("\"nope\" does not exist"), "{b}");
    let (s, b) = rest.query(ALICE, json!({ "sql": "INSERT INTO t VALUES (1, 'dup', 0, NULL)" })).await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "23505"));
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELEC 1" })).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "42601"));
    let (s, b) = rest.query(ALICE, json!({ "sql": "CREATE ROLE mallory" })).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "42501"));
    let r = rest
        .request(Method::POST, "/v1/query")
        .basic_auth("alice", Some("wonderland"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = rest
        .request(Method::POST, "/v1/query")
        .basic_auth("alice", Some("wonderland"))
        .json(&json!({"sq": "SELECT 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // COPY in both directions through JSON.
    let (s, b) = rest
        .query(ALICE, json!({ "sql": "COPY t (id, name) FROM STDIN (FORMAT csv)", "copy_data": "10,ten\n11,eleven\n" }))
        .await;
    assert_eq!((s, &b["command"]), (StatusCode::OK, &json!("COPY 2")), "{b}");
    let (s, b) =
        rest.query(ALICE, json!({ "sql": "COPY (SELECT id, name FROM t WHERE id >= 10 ORDER BY id) TO STDOUT" })).await;
    assert_eq!((s, &b["copy_data"]), (StatusCode::OK, &json!("10\tten\n11\televen\n")), "{b}");
    let (s, b) = rest.query(ALICE, json!({ "sql": "COPY t FROM STDIN" })).await;
    assert_eq!((s, code(&b)), (StatusCode::SERVICE_UNAVAILABLE, "57014"), "{b}");

    // A session handle carries a transaction across requests; closing it rolls back.
    let r = rest.request(Method::POST, "/v1/sessions").basic_auth("alice", Some("wonderland")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let session = r.json::<Value>().await.unwrap()["session"].as_str().unwrap().to_string();
    for sql in ["BEGIN", "INSERT INTO t VALUES (20, 'in txn', 0, NULL)"] {
        let (s, b) = rest.query(ALICE, json!({ "sql": sql, "session": session })).await;
        assert_eq!(s, StatusCode::OK, "{sql}: {b}");
    }
    let (_, b) = rest.query(ALICE, json!({ "sql": "SELECT count(*) FROM t WHERE id = 20", "session": session })).await;
    assert_eq!(b["rows"], json!([[1]]), "the session sees its own insert");
    let (_, b) = rest.query(ALICE, json!({ "sql": "SELECT count(*) FROM t WHERE id = 20" })).await;
    assert_eq!(b["rows"], json!([[0]]), "others do not, before COMMIT");
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT 1/0", "session": session })).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "22012"));
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT 1", "session": session })).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "25P02"), "the block failed");
    rest.query(ALICE, json!({ "sql": "ROLLBACK", "session": session })).await;
    for sql in [
        "BEGIN",
        "INSERT INTO t VALUES (21, 'committed', 0, NULL)",
        "COMMIT",
        "BEGIN",
        "INSERT INTO t VALUES (22, 'abandoned', 0, NULL)",
    ] {
        let (s, b) = rest.query(ALICE, json!({ "sql": sql, "session": session })).await;
        assert_eq!(s, StatusCode::OK, "{sql}: {b}");
    }
    // Another role cannot use alice's handle.
    let (s, b) = rest.query(ADMIN, json!({ "sql": "SELECT 1", "session": session })).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "26000"));
    let r = rest
        .request(Method::DELETE, &format!("/v1/sessions/{session}"))
        .basic_auth("alice", Some("wonderland"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, b) = rest.query(ALICE, json!({ "sql": "SELECT id FROM t WHERE id >= 20 ORDER BY id" })).await;
    assert_eq!(b["rows"], json!([[21]]), "the committed row stays, the open transaction rolled back");
    let (s, b) = rest.query(ALICE, json!({ "sql": "SELECT 1", "session": session })).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "26000"));

    // Authentication failures: wrong password, unknown role (the same answer), no header.
    for (user, password) in [("alice", "wrong"), ("nobody", "x")] {
        let (s, b) = rest.query((user, password), json!({ "sql": "SELECT 1" })).await;
        assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "28P01"), "{user}");
        assert_eq!(b["error"]["message"], format!("password authentication failed for user \"{user}\""));
    }
    let r = rest.request(Method::POST, "/v1/query").json(&json!({ "sql": "SELECT 1" })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"rustydb\"");
    let r = rest
        .request(Method::POST, "/v1/query?database=nowhere")
        .basic_auth("alice", Some("wonderland"))
        .json(&json!({ "sql": "SELECT 1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.json().await.unwrap()), "3D000");

    // Bearer tokens: issued for Basic credentials, accepted until revoked.
    let r = rest.request(Method::POST, "/v1/auth/token").basic_auth("alice", Some("wonderland")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let bearer = |m: Method, path: &str| rest.request(m, path).bearer_auth(&token);
    let r = bearer(Method::POST, "/v1/query").json(&json!({ "sql": "SELECT current_user" })).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["rows"], json!([["alice"]]));
    assert_eq!(bearer(Method::DELETE, "/v1/auth/token").send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let r = bearer(Method::POST, "/v1/query").json(&json!({ "sql": "SELECT 1" })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = rest
        .request(Method::POST, "/v1/query")
        .bearer_auth("made-up")
        .json(&json!({ "sql": "SELECT 1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Catalog listing and maintenance.
    let r = rest.request(Method::GET, "/v1/tables").basic_auth("alice", Some("wonderland")).send().await.unwrap();
    let tables = r.json::<Value>().await.unwrap();
    assert!(
        tables["tables"].as_array().unwrap().contains(&json!({"schema": "public", "name": "t", "type": "BASE TABLE"})),
        "{tables}"
    );
    let r = rest.request(Method::GET, "/v1/tables/t").basic_auth("alice", Some("wonderland")).send().await.unwrap();
    let t = r.json::<Value>().await.unwrap();
    assert_eq!(
        t["columns"][0],
        json!({"name": "id", "type": "integer", "nullable": false, "default": null, "max_length": null})
    );
    assert_eq!(t["columns"].as_array().unwrap().len(), 4);
    let r = rest.request(Method::GET, "/v1/tables/nope").basic_auth("alice", Some("wonderland")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = rest
        .request(Method::POST, "/v1/admin/checkpoint")
        .basic_auth("alice", Some("wonderland"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only superusers take checkpoints");
    let r = rest.request(Method::POST, "/v1/admin/checkpoint").basic_auth("rustydb", Some("")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.unwrap()["redo_lsn"].is_string());
    let r = rest
        .request(Method::POST, "/v1/admin/vacuum")
        .basic_auth("alice", Some("wonderland"))
        .json(&json!({"table": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["command"], "VACUUM");

    // The same data over the wire.
    let wire = server.connect().await;
    let n: i64 = wire.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(n, 5);
}

#[tokio::test]
async fn a_large_result_streams_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&dir.path().join("data"), CONFIG);
    let rest = Rest::new(&server);
    let (s, b) = rest
        .query(ADMIN, json!({ "sql": "CREATE TABLE big AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 100000) g" }))
        .await;
    if s != StatusCode::OK {
        // Without CREATE TABLE AS / generate_series, fill it with COPY.
        let _ = b;
        rest.query(ADMIN, json!({ "sql": "CREATE TABLE big (id INT, pad TEXT)" })).await;
        let data: String = (1..=100_000).map(|i| format!("{i}\t{}\n", "x".repeat(100))).collect();
        let (s, b) = rest.query(ADMIN, json!({ "sql": "COPY big FROM STDIN", "copy_data": data })).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let mut r = rest
        .request(Method::POST, "/v1/query")
        .basic_auth("rustydb", Some(""))
        .json(&json!({ "sql": "SELECT id, pad FROM big ORDER BY id" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("content-length").is_none(), "streamed, not sent as one sized body");
    let (mut pieces, mut body) = (0, Vec::new());
    while let Some(chunk) = r.chunk().await.unwrap() {
        pieces += 1;
        body.extend_from_slice(&chunk);
    }
    assert!(pieces > 10, "{pieces} pieces");
    let b: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(b["row_count"], 100_000);
    let rows = b["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 100_000);
    assert_eq!(rows[99_999][0], 100_000);
}

#[tokio::test]
async fn health_openapi_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&dir.path().join("data"), CONFIG);
    let rest = Rest::new(&server);
    for path in ["/health/live", "/health/ready"] {
        let r = rest.request(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = rest.request(Method::GET, "/no/such/thing").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no such endpoint"));

    // The OpenAPI document lists exactly what is served: each route it names answers (not
    // with 404 or 405), and the router has no route it does not name (the api crate's unit
    // test holds the other half).
    let doc: Value = rest.request(Method::GET, "/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "0000").replace("{name}", "nope");
            let r = rest
                .request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &concrete)
                .basic_auth("rustydb", Some(""))
                .json(&json!({ "sql": "SELECT 1" }))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            // A routed call may answer 404 for the made-up id or name, but never with the
            // fallback's "no such endpoint".
            assert!(
                !(status == StatusCode::NOT_FOUND && body.contains("no such endpoint")),
                "{method} {path} is not routed: {body}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 13);

    // Metrics: Prometheus text with the expected families, moving after a workload.
    let scrape = || async {
        let r = rest.request(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        parse_prometheus(&r.text().await.unwrap())
    };
    let before = scrape().await;
    let wire = server.connect().await;
    wire.batch_execute("CREATE TABLE m (id INT PRIMARY KEY, v TEXT)").await.unwrap();
    for i in 0..50 {
        wire.execute("INSERT INTO m VALUES ($1, 'x')", &[&i]).await.unwrap();
    }
    let _ = wire.batch_execute("SELECT * FROM nope").await;
    let _ = wire.batch_execute("BEGIN; INSERT INTO m VALUES (1000, 'y'); ROLLBACK").await;
    rest.query(ADMIN, json!({ "sql": "CHECKPOINT" })).await;
    let after = scrape().await;
    let moved = |family: &str| {
        let total = |m: &HashMap<String, f64>| {
            m.iter().filter(|(k, _)| k.split('{').next() == Some(family)).map(|(_, v)| v).sum::<f64>()
        };
        let (b, a) = (total(&before), total(&after));
        assert!(a > b, "{family} did not move: {b} -> {a}\n{after:#?}");
    };
    for family in [
        "rustydb_buffer_pool_hits_total",
        "rustydb_wal_bytes_total",
        "rustydb_wal_fsyncs_total",
        "rustydb_transactions_committed_total",
        "rustydb_transactions_aborted_total",
        "rustydb_statement_duration_seconds_count",
        "rustydb_statement_errors_total",
        "rustydb_connections_total",
    ] {
        moved(family);
    }
    assert!(
        after.keys().any(|k| k.starts_with("rustydb_statement_duration_seconds_bucket{")),
        "histograms have buckets"
    );
    assert!(after.keys().any(|k| k.starts_with("rustydb_connections_active")), "{after:#?}");
}

/// Parses Prometheus text format into `name{labels}` → value, checking every line's shape.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            assert!(matches!(words.first(), Some(&"TYPE") | Some(&"HELP")), "bad comment: {line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name: {line}");
        out.insert(series.to_string(), value);
    }
    out
}
