//! A session's named prepared statements, and the view of them, `pg_prepared_statements`.
//!
//! The wire layer prepares (Parse) and closes statements; it keeps them here, in the session,
//! so that a query in the same session can list them with what PostgreSQL 15 shows: the text,
//! when it was prepared, the parameter types, and how many executions ran the cached generic
//! plan and how many bound a custom one (see `plan_cache.rs`). The unnamed statement is not
//! listed, as in PostgreSQL.

use crate::pg_catalog::Relation;
use crate::session::PreparedStatement;
use rustydb_foundation::{DataType, ElementType, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The prepared statements of one session, by name ("" for the unnamed one).
#[derive(Debug, Default)]
pub struct PreparedStatements(parking_lot::Mutex<BTreeMap<String, Arc<PreparedStatement>>>);

impl PreparedStatements {
    /// The statement called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<PreparedStatement>> {
        self.0.lock().get(name).cloned()
    }

    /// True if a statement is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.lock().contains_key(name)
    }

    /// Keeps `statement` as `name`, replacing any statement of that name.
    pub fn insert(&self, name: String, statement: Arc<PreparedStatement>) {
        self.0.lock().insert(name, statement);
    }

    /// Forgets the statement called `name`; false if there was none.
    pub fn remove(&self, name: &str) -> bool {
        self.0.lock().remove(name).is_some()
    }

    /// Forgets every statement.
    pub fn clear(&self) {
        self.0.lock().clear();
    }

    /// `pg_prepared_statements`.
    pub fn relation(&self) -> Relation {
        use DataType::{Bool, Int8, Text, TimestampTz};
        let rows = self
            .0
            .lock()
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, p)| {
                let (generic, custom) = p.plan.runs();
                let types = p.param_types.iter().map(|t| Value::Text(t.sql_name().to_string())).collect();
                vec![
                    Value::Text(name.clone()),
                    Value::Text(p.sql.clone()),
                    Value::TimestampTz(p.prepared_at),
                    Value::Array(ElementType::Text, types),
                    Value::Bool(p.from_sql),
                    Value::Int8(generic as i64),
                    Value::Int8(custom as i64),
                ]
            })
            .collect();
        Relation {
            columns: vec![
                ("name", Text),
                ("statement", Text),
                ("prepare_time", TimestampTz),
                ("parameter_types", DataType::Array(ElementType::Text)),
                ("from_sql", Bool),
                ("generic_plans", Int8),
                ("custom_plans", Int8),
            ],
            rows,
        }
    }
}
