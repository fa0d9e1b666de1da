//! `PREPARE name [(type, ...)] AS statement` and `EXECUTE name [(value, ...)]`: the SQL
//! spelling of the extended protocol's Parse and Bind/Execute, as psql users and stored SQL
//! scripts use it. The statement is prepared as Parse prepares one and kept in the session's
//! list with the wire layer's (so `DEALLOCATE` and `pg_prepared_statements` see both kinds, the
//! SQL ones with `from_sql` set); EXECUTE computes its values (constant expressions, assigned
//! to the parameters' types as PostgreSQL does) and runs it with the same plan cache.

use super::{PreparedStatement, Session};
use crate::bind_expr;
use crate::bind_query::QueryBinder;
use crate::expr::EvalEnv;
use crate::params::Params;
use crate::parser::Parsed;
use crate::result::StatementResult;
use crate::types::CastContext;
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use sqlparser::ast;
use std::sync::Arc;

impl Session {
    /// `PREPARE name [(types)] AS statement`.
    pub(super) fn prepare_sql(
        &mut self,
        name: &ast::Ident,
        types: &[ast::DataType],
        statement: &ast::Statement,
    ) -> Result<StatementResult> {
        if matches!(self.state, super::State::Failed { .. }) {
            return Err(super::in_failed_block());
        }
        // PostgreSQL's grammar takes these statements only (42601 at the first word otherwise).
        if !matches!(
            statement,
            ast::Statement::Query(_)
                | ast::Statement::Insert(_)
                | ast::Statement::Update(_)
                | ast::Statement::Delete(_)
                | ast::Statement::Merge(_)
        ) {
            let first = statement.to_string().split_whitespace().next().unwrap_or_default().to_uppercase();
            return Err(DbError::syntax(format!("syntax error at or near \"{first}\"")));
        }
        let name = bind_expr::ident_name(name);
        if self.prepared.contains(&name) {
            return Err(DbError::sql(
                SqlState::DuplicatePreparedStatement,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let declared = types.iter().map(bind_expr::convert_type).collect::<Result<Vec<_>>>()?;
        let mut prepared = self.prepare_here(&statement.to_string(), &declared)?;
        prepared.from_sql = true;
        self.prepared.insert(name, Arc::new(prepared));
        Ok(StatementResult::tag("PREPARE"))
    }

    /// `EXECUTE name [(values)]`.
    pub(super) fn execute_sql(&mut self, name: &ast::ObjectName, values: &[ast::Expr]) -> Result<StatementResult> {
        if matches!(self.state, super::State::Failed { .. }) {
            return Err(super::in_failed_block());
        }
        let name = crate::grant::object_name(name)?;
        let prepared = self.prepared.get(&name).ok_or_else(|| {
            DbError::sql(SqlState::InvalidSqlStatementName, format!("prepared statement \"{name}\" does not exist"))
        })?;
        if values.len() != prepared.param_types.len() {
            return Err(DbError::sql(
                SqlState::SyntaxError,
                format!("wrong number of parameters for prepared statement \"{name}\""),
            )
            .with_detail(format!(
                "Expected {} parameters but got {}.",
                prepared.param_types.len(),
                values.len()
            )));
        }
        let values = values
            .iter()
            .zip(&prepared.param_types)
            .map(|(e, ty)| self.parameter_value(e, *ty))
            .collect::<Result<Vec<_>>>()?;
        self.run_prepared_statement(&prepared, values)
    }

    /// The value of an EXECUTE argument, assigned to its parameter's type.
    fn parameter_value(&self, e: &ast::Expr, ty: DataType) -> Result<Value> {
        let mut binder = QueryBinder::constant();
        let bound = bind_expr::cast(bind_expr::bind(e, &mut binder)?, ty, CastContext::Assignment)?;
        bound.eval(&[], &EvalEnv::new(self.role(), &self.database))
    }

    /// Runs `prepared` with `values`, one per parameter, of its parameters' types.
    pub(super) fn run_prepared_statement(
        &mut self,
        prepared: &PreparedStatement,
        values: Vec<Value>,
    ) -> Result<StatementResult> {
        let params = Params { types: prepared.param_types.clone(), values: Some(values.into()) };
        match &prepared.statement {
            None => Ok(StatementResult::default()),
            Some(Parsed::Sql(stmt)) => self.run(stmt, &params, Some(&prepared.plan)),
            Some(Parsed::Checkpoint) => self.checkpoint(),
            Some(Parsed::Vacuum(cmd)) => self.vacuum(cmd),
            Some(Parsed::Database(cmd)) => self.database_command(cmd),
            Some(Parsed::Fetch(cmd)) => self.fetch(cmd),
        }
    }
}
