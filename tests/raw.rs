//! A minimal wire-level client on postgres-protocol's message codecs, for the checks a driver
//! hides: exact command tags, type OIDs in RowDescription, the ReadyForQuery status byte,
//! ParameterStatus values and notices.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{self, Message};
use postgres_protocol::message::frontend;
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one simple query produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reply {
    /// Command tags, in order.
    pub tags: Vec<String>,
    /// Type OIDs of each RowDescription.
    pub type_oids: Vec<Vec<u32>>,
    /// Column names of each RowDescription.
    pub column_names: Vec<Vec<String>>,
    /// Rows as text (None for NULL).
    pub rows: Vec<Vec<Option<String>>>,
    /// SQLSTATEs of ErrorResponses.
    pub errors: Vec<String>,
    /// Messages of NoticeResponses.
    pub notices: Vec<String>,
    /// The ReadyForQuery status byte: b'I', b'T' or b'E'.
    pub status: u8,
    /// True if an EmptyQueryResponse came.
    pub empty: bool,
}

/// A connection speaking the protocol message by message.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
    /// ParameterStatus values received at startup.
    pub parameters: HashMap<String, String>,
}

impl RawClient {
    /// Connects and completes startup (trust authentication) as `user`.
    pub async fn connect(addr: SocketAddr, user: &str) -> std::io::Result<RawClient> {
        let stream = TcpStream::connect(addr).await?;
        let mut client = RawClient { stream, buf: BytesMut::new(), parameters: HashMap::new() };
        let mut out = BytesMut::new();
        frontend::startup_message([("user", user), ("database", "rustydb"), ("application_name", "raw")], &mut out)?;
        client.stream.write_all(&out).await?;
        loop {
            match client.next().await? {
                Message::ParameterStatus(p) => {
                    let name = p.name().map_err(std::io::Error::other)?.to_string();
                    let value = p.value().map_err(std::io::Error::other)?.to_string();
                    client.parameters.insert(name, value);
                }
                Message::ReadyForQuery(_) => return Ok(client),
                Message::ErrorResponse(_) => return Err(std::io::Error::other("startup refused")),
                _ => {}
            }
        }
    }

    async fn next(&mut self) -> std::io::Result<Message> {
        loop {
            if let Some(m) = Message::parse(&mut self.buf)? {
                return Ok(m);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Sends a simple Query and collects everything up to ReadyForQuery.
    pub async fn query(&mut self, sql: &str) -> std::io::Result<Reply> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out)?;
        self.stream.write_all(&out).await?;
        let mut reply = Reply::default();
        loop {
            match self.next().await? {
                Message::RowDescription(d) => {
                    let mut fields = d.fields();
                    let (mut oids, mut names) = (Vec::new(), Vec::new());
                    while let Some(f) = fields.next()? {
                        oids.push(f.type_oid());
                        names.push(f.name().to_string());
                    }
                    reply.type_oids.push(oids);
                    reply.column_names.push(names);
                }
                Message::DataRow(row) => reply.rows.push(data_row(&row)?),
                Message::CommandComplete(c) => reply.tags.push(c.tag().map_err(std::io::Error::other)?.to_string()),
                Message::ErrorResponse(e) => reply.errors.push(field(e.fields(), b'C')?),
                Message::NoticeResponse(n) => reply.notices.push(field(n.fields(), b'M')?),
                Message::EmptyQueryResponse => reply.empty = true,
                Message::ReadyForQuery(r) => {
                    reply.status = r.status();
                    return Ok(reply);
                }
                _ => {}
            }
        }
    }
}

impl RawClient {
    /// Reads what the server sends without being asked until it closes the connection: one
    /// `Error CODE: message` line per ErrorResponse (other messages are skipped).
    pub async fn read_until_closed(&mut self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        loop {
            match self.next().await {
                Ok(Message::ErrorResponse(e)) => {
                    out.push(format!("Error {}: {}", field(e.fields(), b'C')?, field(e.fields(), b'M')?));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(out),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `messages` (frontend messages already encoded) and returns what came back up to
    /// and including ReadyForQuery, one line per message: `ParseComplete`, `BindComplete`,
    /// `ParameterDescription [23, 25]`, `RowDescription [id:23:0]` (name, type OID, format),
    /// `NoData`, `DataRow [Some("1")]` (text as text, binary as hex), `CommandComplete
    /// SELECT 1`, `PortalSuspended`, `EmptyQueryResponse`, `CloseComplete`, `Error 42P01`,
    /// `ReadyForQuery I`.
    pub async fn exchange(&mut self, messages: &[u8]) -> std::io::Result<Vec<String>> {
        self.stream.write_all(messages).await?;
        let mut out = Vec::new();
        loop {
            let line = match self.next().await? {
                Message::ParseComplete => "ParseComplete".to_string(),
                Message::BindComplete => "BindComplete".to_string(),
                Message::CloseComplete => "CloseComplete".to_string(),
                Message::NoData => "NoData".to_string(),
                Message::PortalSuspended => "PortalSuspended".to_string(),
                Message::EmptyQueryResponse => "EmptyQueryResponse".to_string(),
                Message::ParameterDescription(d) => {
                    format!("ParameterDescription {:?}", d.parameters().collect::<Vec<u32>>()?)
                }
                Message::RowDescription(d) => {
                    let mut fields = d.fields();
                    let mut parts = Vec::new();
                    while let Some(f) = fields.next()? {
                        parts.push(format!("{}:{}:{}", f.name(), f.type_oid(), f.format()));
                    }
                    format!("RowDescription [{}]", parts.join(", "))
                }
                Message::DataRow(row) => {
                    let buf = row.buffer();
                    let mut ranges = row.ranges();
                    let mut values = Vec::new();
                    while let Some(range) = ranges.next()? {
                        values.push(range.map(|r| match std::str::from_utf8(&buf[r.clone()]) {
                            Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
                            _ => buf[r].iter().map(|b| format!("{b:02x}")).collect(),
                        }));
                    }
                    format!("DataRow {values:?}")
                }
                Message::CommandComplete(c) => format!("CommandComplete {}", c.tag().map_err(std::io::Error::other)?),
                Message::ErrorResponse(e) => format!("Error {}", field(e.fields(), b'C')?),
                Message::NoticeResponse(n) => format!("Notice {}", field(n.fields(), b'M')?),
                Message::ReadyForQuery(r) => {
                    out.push(format!("ReadyForQuery {}", r.status() as char));
                    return Ok(out);
                }
                _ => "other".to_string(),
            };
            out.push(line);
        }
    }
}

fn data_row(row: &backend::DataRowBody) -> std::io::Result<Vec<Option<String>>> {
    let buf = row.buffer();
    let mut ranges = row.ranges();
    let mut out = Vec::new();
    while let Some(range) = ranges.next()? {
        out.push(range.map(|r| String::from_utf8_lossy(&buf[r]).into_owned()));
    }
    Ok(out)
}

fn field(mut fields: backend::ErrorFields<'_>, code: u8) -> std::io::Result<String> {
    while let Some(f) = fields.next()? {
        if f.type_() == code {
            return Ok(String::from_utf8_lossy(f.value_bytes()).into_owned());
        }
    }
    Ok(String::new())
}
