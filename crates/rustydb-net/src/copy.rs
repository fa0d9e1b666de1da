//! COPY over the wire: CopyOutResponse, CopyData and CopyDone for `COPY ... TO STDOUT`;
//! CopyInResponse and then the client's CopyData, CopyDone or CopyFail for `COPY ... FROM
//! STDIN`.
//!
//! Clients such as pgbench send one CopyData message per row, so incoming data is gathered
//! here and handed to the session (on the blocking pool) in pieces of [`FLUSH_BYTES`], not
//! one blocking call per message. An error found in a piece is reported at once; pgwire then
//! drops the rest of the client's copy messages, as PostgreSQL does.

use crate::connection::{Connection, user_error};
use crate::messages::ready_status;
use async_trait::async_trait;
use bytes::Bytes;
use futures::sink::{Sink, SinkExt};
use pgwire::api::ClientInfo;
use pgwire::api::copy::CopyHandler;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
use pgwire::messages::response::CommandComplete;
use rustydb_foundation::DbError;
use rustydb_query::{CopyResponse, Session};
use std::fmt::Debug;

/// Incoming COPY data is passed to the session once this much has gathered.
const FLUSH_BYTES: usize = 256 * 1024;

/// Sends the start of a COPY: CopyInResponse (the caller then waits for data), or the whole
/// of a COPY TO STDOUT up to CopyDone (the caller then sends CommandComplete).
pub(crate) async fn start<C>(client: &mut C, copy: CopyResponse) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match copy {
        CopyResponse::In { columns, binary } => {
            let format = i16::from(binary);
            let response = CopyInResponse::new(format as i8, columns as i16, vec![format; columns]);
            client.send(PgWireBackendMessage::CopyInResponse(response)).await?;
        }
        CopyResponse::Out { columns, chunks, binary } => {
            let format = i16::from(binary);
            let response = CopyOutResponse::new(format as i8, columns as i16, vec![format; columns]);
            client.feed(PgWireBackendMessage::CopyOutResponse(response)).await?;
            // Read back (from the temporary file past work_mem) as the socket takes them:
            // `feed` writes out whenever pgwire's buffer fills.
            while let Some(chunk) = chunks.next_chunk().map_err(|e| user_error(&e))? {
                client.feed(PgWireBackendMessage::CopyData(CopyData::new(Bytes::from(chunk)))).await?;
            }
            client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
        }
    }
    Ok(())
}

impl Connection {
    /// Hands the gathered COPY data to the session.
    async fn flush_copy(&self) -> PgWireResult<()> {
        let data = std::mem::take(&mut *self.copy_buffer.lock());
        if data.is_empty() {
            return Ok(());
        }
        let outcome = self.with_session(move |s: &mut Session| s.copy_data(&data)).await?;
        self.copy_outcome(outcome)
    }

    fn copy_outcome<T>(&self, outcome: Result<T, DbError>) -> PgWireResult<T> {
        outcome.map_err(|e| {
            self.copy_buffer.lock().clear();
            user_error(&e)
        })
    }
}

#[async_trait]
impl CopyHandler for Connection {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let full = {
            let mut buffer = self.copy_buffer.lock();
            buffer.extend_from_slice(&copy_data.data);
            buffer.len() >= FLUSH_BYTES
        };
        if full {
            self.flush_copy().await?;
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.flush_copy().await?;
        let outcome = self.with_session(Session::copy_done).await?;
        let result = self.copy_outcome(outcome);
        client.set_transaction_status(ready_status(self.status()));
        self.mark_ready();
        let result = result?;
        client.send(PgWireBackendMessage::CommandComplete(CommandComplete::new(result.tag))).await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.copy_buffer.lock().clear();
        let message = fail.message;
        let error = match self.with_session(move |s: &mut Session| s.copy_fail(&message)).await {
            Ok(error) => error,
            Err(e) => return e,
        };
        client.set_transaction_status(ready_status(self.status()));
        self.mark_ready();
        user_error(&error)
    }
}
