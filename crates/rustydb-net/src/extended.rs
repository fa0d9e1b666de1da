//! The extended query protocol: Parse, Bind, Describe, Execute, Close, Flush and Sync.
//!
//! The connection keeps its own prepared statements and portals (pgwire's store would hold
//! only text): a prepared statement is the session's [`PreparedStatement`], checked and typed
//! at Parse; a portal is a statement with its parameter values and result formats, run at its
//! first Execute. Its rows are kept and handed out `max_rows` at a time (PortalSuspended in
//! between), so a client may fetch a large result in pieces.
//!
//! Replies are buffered and written when the client sends Sync or Flush (or the buffer
//! fills), as PostgreSQL does: a Bind/Describe/Execute/Sync round trip is one write, not four.
//!
//! Errors: a handler returns the error, pgwire sends it and discards messages until Sync, as
//! PostgreSQL does; Sync then answers ReadyForQuery with the session's real transaction status.
//!
//! Divergence, documented: outside a transaction block each Execute runs in a transaction of
//! its own that commits when the Execute completes, where PostgreSQL commits at Sync (a
//! pipeline of several Executes in one Sync is one transaction there).

use crate::connection::{Connection, fatal, user_error};
use crate::formats;
use crate::messages::{data_row, notice_info, row_description};
use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::stmt::NoopQueryParser;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Flush, Parse, ParseComplete, PortalSuspended,
    Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, ReadyForQuery};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use rustydb_query::prepared_statements::PreparedStatements;
use rustydb_query::{PreparedStatement, Session, StatementResult, TransactionStatus as SessionStatus};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

/// The connection's prepared statements and portals ("" is the unnamed one of each).
#[derive(Debug, Default)]
pub struct ExtendedState {
    /// The session's (see [`Connection::keep_statements_in`]).
    statements: Arc<PreparedStatements>,
    portals: HashMap<String, Portal>,
}

impl Connection {
    /// Keeps the connection's prepared statements in its session's list, where
    /// `pg_prepared_statements` reads them (called once the session exists).
    pub(crate) fn keep_statements_in(&self, session: &Session) {
        self.extended.lock().statements = session.prepared_statements();
    }
}

/// A bound statement, waiting for Execute or part-way through its rows.
#[derive(Debug)]
struct Portal {
    statement: Arc<PreparedStatement>,
    /// The parameter values; taken by the first Execute.
    params: Option<Vec<Value>>,
    /// The format of each result column.
    formats: Vec<i16>,
    /// The result, once run: its rows not yet sent are `rows[sent..]`.
    result: Option<StatementResult>,
    sent: usize,
}

/// A statement or portal name as sent ("" for the unnamed one, which pgwire decodes as `None`).
fn name_of(name: &Option<String>) -> String {
    name.clone().unwrap_or_default()
}

fn quoted(name: &str) -> String {
    if name.is_empty() { "unnamed".into() } else { format!("\"{name}\"") }
}

impl Connection {
    fn statement(&self, name: &str) -> Result<Arc<PreparedStatement>> {
        self.extended.lock().statements.get(name).ok_or_else(|| {
            DbError::sql(
                SqlState::InvalidSqlStatementName,
                format!("prepared statement {} does not exist", quoted(name)),
            )
        })
    }

    /// Fails the session's transaction block (if any) after an error found here.
    async fn fail_block(&self) -> PgWireResult<()> {
        if self.status() == SessionStatus::InBlock {
            self.with_session(Session::fail).await?;
        }
        Ok(())
    }

    fn no_portal(name: &str) -> DbError {
        DbError::sql(SqlState::InvalidCursorName, format!("portal {} does not exist", quoted(name)))
    }

    /// Binds parameter values and result formats to a prepared statement.
    fn bind_portal(&self, message: &Bind) -> Result<()> {
        let statement_name = name_of(&message.statement_name);
        let portal_name = name_of(&message.portal_name);
        let statement = self.statement(&statement_name)?;
        let types = &statement.param_types;
        if message.parameters.len() != types.len() {
            return Err(DbError::sql(
                SqlState::ProtocolViolation,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{statement_name}\" requires {}",
                    message.parameters.len(),
                    types.len()
                ),
            ));
        }
        let param_formats = formats::expand(&message.parameter_format_codes, types.len(), "parameter")?;
        let params = message
            .parameters
            .iter()
            .zip(types)
            .zip(param_formats)
            .enumerate()
            .map(|(i, ((raw, ty), format))| formats::decode(raw.as_deref(), format, *ty, i + 1))
            .collect::<Result<Vec<_>>>()?;
        let columns = statement.columns.as_ref().map_or(0, Vec::len);
        let formats = formats::expand(&message.result_column_format_codes, columns, "result column")?;
        let portal = Portal { statement, params: Some(params), formats, result: None, sent: 0 };
        let mut state = self.extended.lock();
        if !portal_name.is_empty() && state.portals.contains_key(&portal_name) {
            return Err(DbError::sql(SqlState::DuplicateCursor, format!("cursor \"{portal_name}\" already exists")));
        }
        state.portals.insert(portal_name, portal);
        Ok(())
    }

    /// Runs a portal's statement if it has not run yet, and takes out up to `max_rows` rows
    /// (all when 0). Returns the rows with their formats, the result's notices (first time
    /// only), and the command tag if the portal is now complete.
    async fn fetch(&self, name: &str, max_rows: usize) -> PgWireResult<Fetched> {
        let pending = {
            let mut state = self.extended.lock();
            let portal = state.portals.get_mut(name).ok_or_else(|| user_error(&Self::no_portal(name)))?;
            portal.params.take().map(|params| (portal.statement.clone(), params))
        };
        let mut notices = Vec::new();
        let mut copy = None;
        if let Some((statement, params)) = pending {
            let result = self.run_prepared(statement, params).await?;
            let mut result = result.map_err(|e| user_error(&e))?;
            notices = std::mem::take(&mut result.notices);
            copy = result.copy.take();
            let mut state = self.extended.lock();
            if let Some(portal) = state.portals.get_mut(name) {
                portal.result = Some(result);
            }
        }
        let mut state = self.extended.lock();
        let portal = state.portals.get_mut(name).ok_or_else(|| user_error(&Self::no_portal(name)))?;
        let formats = portal.formats.clone();
        let Some(result) = portal.result.as_mut() else {
            return Err(user_error(&DbError::Internal("portal has no result".into())));
        };
        let start = portal.sent;
        let end = if max_rows == 0 { result.rows.len() } else { result.rows.len().min(start + max_rows) };
        let rows: Vec<Vec<Value>> = result.rows[start..end].iter_mut().map(std::mem::take).collect();
        portal.sent = end;
        let complete = end == result.rows.len();
        // A query's tag counts the rows this Execute sent; a command's (CREATE TABLE AS's
        // `SELECT n`) is its own.
        let tag = complete.then(|| match result.tag.strip_prefix("SELECT ") {
            Some(_) if result.columns.is_some() => format!("SELECT {}", end - start),
            _ => result.tag.clone(),
        });
        let has_rows = result.columns.is_some();
        // A result spooled to disk holds no rows in memory: all are read from the spool, as
        // many as this Execute asks for, while they are sent.
        let spooled = result.spooled.clone().map(|s| (s, if max_rows == 0 { usize::MAX } else { max_rows }));
        Ok(Fetched { rows, formats, notices, tag, has_rows, copy, spooled })
    }
}

struct Fetched {
    rows: Vec<Vec<Value>>,
    formats: Vec<i16>,
    notices: Vec<rustydb_query::Notice>,
    /// The command tag when the portal is complete; `None` when suspended.
    tag: Option<String>,
    has_rows: bool,
    /// A COPY's data out, or the start of its data in.
    copy: Option<rustydb_query::CopyResponse>,
    /// A result spooled to disk, and how many of its rows this Execute may send.
    spooled: Option<(rustydb_query::SpooledRows, usize)>,
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(NoopQueryParser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = name_of(&message.name);
        if !name.is_empty() && self.extended.lock().statements.contains(&name) {
            let e = DbError::sql(
                SqlState::DuplicatePreparedStatement,
                format!("prepared statement \"{name}\" already exists"),
            );
            return Err(user_error(&e));
        }
        let declared = message
            .type_oids
            .iter()
            .map(|&oid| match oid {
                0 => Ok(DataType::Unknown),
                oid => DataType::from_oid(oid).ok_or_else(|| {
                    DbError::sql(
                        SqlState::FeatureNotSupported,
                        format!("parameters of type OID {oid} are not supported"),
                    )
                }),
            })
            .collect::<Result<Vec<_>>>()
            .map_err(|e| user_error(&e))?;
        let prepared = self.prepare(message.query, declared).await?.map_err(|e| user_error(&e))?;
        self.extended.lock().statements.insert(name, Arc::new(prepared));
        client.feed(PgWireBackendMessage::ParseComplete(ParseComplete::new())).await?;
        Ok(())
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Err(e) = self.bind_portal(&message) {
            self.fail_block().await?;
            return Err(user_error(&e));
        }
        client.feed(PgWireBackendMessage::BindComplete(BindComplete::new())).await?;
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = name_of(&message.name);
        let (columns, formats) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                let statement = match self.statement(&name) {
                    Ok(statement) => statement,
                    Err(e) => {
                        self.fail_block().await?;
                        return Err(user_error(&e));
                    }
                };
                let types = statement.param_types.iter().map(|t| t.oid()).collect();
                client.feed(PgWireBackendMessage::ParameterDescription(ParameterDescription::new(types))).await?;
                (statement.columns.clone(), Vec::new())
            }
            TARGET_TYPE_BYTE_PORTAL => {
                let found =
                    self.extended.lock().portals.get(&name).map(|p| (p.statement.columns.clone(), p.formats.clone()));
                // A SQL cursor is a portal too (psycopg describes its named cursors so).
                let cursor = match found {
                    Some(_) => None,
                    None => self.with_session(|s| s.cursor_columns(&name)).await?,
                };
                match (found, cursor) {
                    (Some(found), _) => found,
                    (None, Some(columns)) => (Some(columns), Vec::new()),
                    (None, None) => {
                        self.fail_block().await?;
                        return Err(user_error(&Self::no_portal(&name)));
                    }
                }
            }
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        match columns {
            Some(columns) => {
                let mut description = row_description(&columns);
                for (field, format) in description.fields.iter_mut().zip(formats) {
                    field.format_code = format;
                }
                client.feed(PgWireBackendMessage::RowDescription(description)).await?;
            }
            None => client.feed(PgWireBackendMessage::NoData(NoData::new())).await?,
        }
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = name_of(&message.name);
        let empty = self.extended.lock().portals.get(&name).map(|p| p.statement.is_empty());
        let Some(empty) = empty else {
            self.fail_block().await?;
            return Err(user_error(&Self::no_portal(&name)));
        };
        if empty {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
            return Ok(());
        }
        let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
        let fetched = self.fetch(&name, max_rows).await?;
        for notice in &fetched.notices {
            client.feed(PgWireBackendMessage::NoticeResponse(notice_info(notice).into())).await?;
        }
        match fetched.copy {
            Some(copy @ rustydb_query::CopyResponse::In { .. }) => {
                crate::copy::start(client, copy).await?;
                client.set_state(pgwire::api::PgWireConnectionState::CopyInProgress(true));
                return Ok(());
            }
            Some(copy) => crate::copy::start(client, copy).await?,
            None => {}
        }
        if fetched.has_rows {
            for row in &fetched.rows {
                client.feed(PgWireBackendMessage::DataRow(data_row(row, &fetched.formats))).await?;
            }
        }
        let mut tag = fetched.tag;
        if let Some((spooled, wanted)) = &fetched.spooled {
            let sent = crate::connection::send_spooled(client, spooled, &fetched.formats, *wanted).await?;
            tag = (spooled.remaining() == 0).then(|| format!("SELECT {sent}"));
        }
        match tag {
            Some(tag) => client.feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(tag))).await?,
            None => client.feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new())).await?,
        }
        Ok(())
    }

    async fn on_flush<C>(&self, client: &mut C, _message: Flush) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.flush().await?;
        Ok(())
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let status = self.status();
        {
            // Portals live until their transaction ends (none are WITH HOLD).
            let mut state = self.extended.lock();
            if status == SessionStatus::Idle {
                state.portals.clear();
            } else {
                state.portals.remove("");
            }
        }
        let status = crate::messages::ready_status(status);
        client.set_transaction_status(status);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status))).await?;
        self.mark_ready();
        Ok(())
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = name_of(&message.name);
        {
            let mut state = self.extended.lock();
            match message.target_type {
                TARGET_TYPE_BYTE_STATEMENT => {
                    state.statements.remove(&name);
                }
                TARGET_TYPE_BYTE_PORTAL => {
                    state.portals.remove(&name);
                }
                other => return Err(PgWireError::InvalidTargetType(other)),
            }
        }
        client.feed(PgWireBackendMessage::CloseComplete(CloseComplete::new())).await?;
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        _target: &pgwire::api::stmt::StoredStatement<Self::Statement>,
    ) -> PgWireResult<pgwire::api::results::DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(unused())
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        _target: &pgwire::api::portal::Portal<Self::Statement>,
    ) -> PgWireResult<pgwire::api::results::DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(unused())
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &pgwire::api::portal::Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<pgwire::api::results::Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(unused())
    }
}

/// The pgwire hooks the handlers above replace.
fn unused() -> PgWireError {
    fatal(&DbError::Internal("the extended protocol is handled by the on_* handlers".into()))
}
