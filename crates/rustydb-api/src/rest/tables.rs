//! `GET /v1/tables` and `GET /v1/tables/{name}`: what the role can see, read through
//! `information_schema` in a session of the caller's role, so the answer is what the same role
//! would see over the wire. Names are bound as parameters, never spliced into SQL.

use rustydb_foundation::{DbError, Result, SqlState, Value};
use rustydb_query::Session;
use serde_json::{Value as Json, json};

fn rows(session: &mut Session, sql: &str, params: Vec<Value>) -> Result<Vec<Vec<Value>>> {
    let prepared = session.prepare(sql, &[])?;
    Ok(session.execute_prepared(&prepared, params)?.rows)
}

fn text(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        v => Json::String(v.to_pg_text().unwrap_or_default()),
    }
}

/// Every table and view outside the system schemas.
pub fn list(session: &mut Session) -> Result<Json> {
    let found = rows(
        session,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
        vec![],
    )?;
    let tables: Vec<Json> =
        found.iter().map(|r| json!({ "schema": text(&r[0]), "name": text(&r[1]), "type": text(&r[2]) })).collect();
    Ok(json!({ "tables": tables }))
}

/// One table's columns; 42P01 when there is no such table. `name` is `table` or
/// `schema.table`, each part exactly as stored (no case folding: it is not SQL text).
pub fn describe(session: &mut Session, name: &str) -> Result<Json> {
    let (schema, table) = name.split_once('.').unwrap_or(("public", name));
    let columns = rows(
        session,
        "SELECT column_name, data_type, is_nullable, column_default, character_maximum_length \
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
        vec![Value::Text(schema.into()), Value::Text(table.into())],
    )?;
    if columns.is_empty() {
        return Err(DbError::sql(SqlState::UndefinedTable, format!("relation \"{name}\" does not exist")));
    }
    let kind = rows(
        session,
        "SELECT table_type FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
        vec![Value::Text(schema.into()), Value::Text(table.into())],
    )?;
    let columns: Vec<Json> = columns
        .iter()
        .map(|r| {
            json!({
                "name": text(&r[0]),
                "type": text(&r[1]),
                "nullable": matches!(&r[2], Value::Text(t) if t == "YES"),
                "default": text(&r[3]),
                "max_length": crate::json::to_json(&r[4]),
            })
        })
        .collect();
    Ok(json!({
        "schema": schema,
        "name": table,
        "type": kind.first().map(|r| text(&r[0])).unwrap_or(Json::Null),
        "columns": columns,
    }))
}

/// `name` as a quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_doubled_quotes() {
        assert_eq!(quote_ident("t"), "\"t\"");
        assert_eq!(quote_ident("a\"; DROP TABLE x; --"), "\"a\"\"; DROP TABLE x; --\"");
    }
}
