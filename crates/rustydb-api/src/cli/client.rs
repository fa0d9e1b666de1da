//! A small blocking client of the PostgreSQL wire protocol for the shell: startup with trust,
//! cleartext or SCRAM-SHA-256 authentication, simple queries with their exact command tags
//! (which higher-level drivers drop, and psql prints), notices, and COPY in both directions.
//! Message encoding and SCRAM come from `postgres-protocol`; this file only sequences them.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::{backend::Message, frontend};
use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Role.
    pub user: String,
    /// Database.
    pub database: String,
    /// Password, if the server asks for one.
    pub password: Option<String>,
    /// `application_name`.
    pub application_name: String,
}

/// A server error or notice: severity, SQLSTATE, message and the optional lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerMessage {
    /// `ERROR`, `FATAL`, `NOTICE`, ...
    pub severity: String,
    /// The SQLSTATE.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// DETAIL.
    pub detail: Option<String>,
    /// HINT.
    pub hint: Option<String>,
}

impl ServerMessage {
    /// As psql prints it: `ERROR:  message` and then the DETAIL and HINT lines.
    pub fn render(&self) -> String {
        let mut out = format!("{}:  {}", self.severity, self.message);
        if let Some(d) = &self.detail {
            out.push_str(&format!("\nDETAIL:  {d}"));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("\nHINT:  {h}"));
        }
        out
    }
}

/// One statement's outcome within a simple query.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Rows.
    Rows {
        /// Column names.
        columns: Vec<String>,
        /// Whether each column is of a numeric type (psql right-aligns those).
        numeric: Vec<bool>,
        /// Text values (`None`: NULL).
        rows: Vec<Vec<Option<String>>>,
        /// The command tag (`SELECT 2`).
        tag: String,
    },
    /// A command's tag (`INSERT 0 1`, `CREATE TABLE`).
    Command(String),
    /// The data of a `COPY ... TO STDOUT`.
    CopyOut {
        /// The rows as the COPY format encodes them.
        data: Vec<u8>,
        /// The command tag (`COPY 3`).
        tag: String,
    },
    /// An empty query.
    Empty,
}

/// What the server said in answer to one simple query.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Each statement's outcome, in order.
    pub outcomes: Vec<Outcome>,
    /// The error that stopped it, if one did.
    pub error: Option<ServerMessage>,
    /// Notices raised on the way.
    pub notices: Vec<ServerMessage>,
}

/// A connection.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    read: BytesMut,
    /// The server's `server_version`.
    pub server_version: String,
}

fn protocol(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn server_message(fields: &mut postgres_protocol::message::backend::ErrorFields<'_>) -> io::Result<ServerMessage> {
    let mut m = ServerMessage::default();
    while let Some(field) = fields.next()? {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'S' => m.severity = value,
            b'C' => m.code = value,
            b'M' => m.message = value,
            b'D' => m.detail = Some(value),
            b'H' => m.hint = Some(value),
            _ => {}
        }
    }
    Ok(m)
}

/// A connection or login failure, carrying the server's message when there is one.
#[derive(Debug)]
pub enum ConnectError {
    /// The socket failed.
    Io(io::Error),
    /// The server refused (bad password, unknown database, ...).
    Server(ServerMessage),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Io(e) => write!(f, "{e}"),
            ConnectError::Server(m) => write!(f, "{}", m.render()),
        }
    }
}

impl From<io::Error> for ConnectError {
    fn from(e: io::Error) -> Self {
        ConnectError::Io(e)
    }
}

/// True for the type oids psql right-aligns (the numeric types).
fn is_numeric_oid(oid: u32) -> bool {
    matches!(oid, 20 | 21 | 23 | 26 | 700 | 701 | 1700 | 790)
}

impl Client {
    /// Connects and logs in.
    pub fn connect(options: &ConnectOptions) -> Result<Client, ConnectError> {
        let stream = TcpStream::connect((options.host.as_str(), options.port))?;
        stream.set_nodelay(true)?;
        let mut client = Client { stream, read: BytesMut::new(), server_version: String::new() };
        let mut buf = BytesMut::new();
        let params = [
            ("user", options.user.as_str()),
            ("database", options.database.as_str()),
            ("application_name", options.application_name.as_str()),
            ("client_encoding", "UTF8"),
        ];
        frontend::startup_message(params.iter().copied(), &mut buf)?;
        client.send(&buf)?;
        let mut scram: Option<ScramSha256> = None;
        loop {
            match client.next()? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    let password = options.password.clone().unwrap_or_default();
                    let mut buf = BytesMut::new();
                    frontend::password_message(password.as_bytes(), &mut buf)?;
                    client.send(&buf)?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    let mut offered = false;
                    while let Some(m) = mechanisms.next()? {
                        offered |= m == SCRAM_SHA_256;
                    }
                    if !offered {
                        return Err(protocol("the server offers no SASL mechanism this client knows").into());
                    }
                    let password = options.password.clone().unwrap_or_default();
                    let exchange = ScramSha256::new(password.as_bytes(), ChannelBinding::unsupported());
                    let mut buf = BytesMut::new();
                    frontend::sasl_initial_response(SCRAM_SHA_256, exchange.message(), &mut buf)?;
                    client.send(&buf)?;
                    scram = Some(exchange);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let exchange = scram.as_mut().ok_or_else(|| protocol("SASL continue without a start"))?;
                    exchange.update(body.data())?;
                    let mut buf = BytesMut::new();
                    frontend::sasl_response(exchange.message(), &mut buf)?;
                    client.send(&buf)?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let mut exchange = scram.take().ok_or_else(|| protocol("SASL final without a start"))?;
                    exchange.finish(body.data())?;
                }
                Message::ParameterStatus(p) => {
                    if p.name()? == "server_version" {
                        client.server_version = p.value()?.to_string();
                    }
                }
                Message::BackendKeyData(_) | Message::NoticeResponse(_) => {}
                Message::ReadyForQuery(_) => return Ok(client),
                Message::ErrorResponse(body) => {
                    return Err(ConnectError::Server(server_message(&mut body.fields())?));
                }
                _ => return Err(protocol("unexpected message during startup").into()),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn next(&mut self) -> io::Result<Message> {
        loop {
            if let Some(message) = Message::parse(&mut self.read)? {
                return Ok(message);
            }
            let mut chunk = [0u8; 16384];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
            }
            self.read.extend_from_slice(&chunk[..n]);
        }
    }

    /// Runs `sql` with the simple query protocol. `copy_in` supplies the data of a
    /// `COPY ... FROM STDIN` (`None`: the COPY is failed).
    pub fn simple_query(&mut self, sql: &str, copy_in: &mut dyn FnMut() -> Option<Vec<u8>>) -> io::Result<Answer> {
        let mut buf = BytesMut::new();
        frontend::query(sql, &mut buf)?;
        self.send(&buf)?;
        let mut answer = Answer::default();
        let mut columns: Option<(Vec<String>, Vec<bool>)> = None;
        let mut rows: Vec<Vec<Option<String>>> = Vec::new();
        let mut copy_out: Option<Vec<u8>> = None;
        loop {
            match self.next()? {
                Message::RowDescription(body) => {
                    let mut names = Vec::new();
                    let mut numeric = Vec::new();
                    let mut fields = body.fields();
                    while let Some(f) = fields.next()? {
                        names.push(f.name().to_string());
                        numeric.push(is_numeric_oid(f.type_oid()));
                    }
                    columns = Some((names, numeric));
                    rows.clear();
                }
                Message::DataRow(body) => {
                    let buffer = body.buffer();
                    let mut ranges = body.ranges();
                    let mut row = Vec::new();
                    while let Some(range) = ranges.next()? {
                        row.push(range.map(|r| String::from_utf8_lossy(&buffer[r]).into_owned()));
                    }
                    rows.push(row);
                }
                Message::CommandComplete(body) => {
                    let tag = body.tag()?.to_string();
                    if let Some(data) = copy_out.take() {
                        answer.outcomes.push(Outcome::CopyOut { data, tag });
                    } else if let Some((names, numeric)) = columns.take() {
                        answer.outcomes.push(Outcome::Rows {
                            columns: names,
                            numeric,
                            rows: std::mem::take(&mut rows),
                            tag,
                        });
                    } else {
                        answer.outcomes.push(Outcome::Command(tag));
                    }
                }
                Message::EmptyQueryResponse => answer.outcomes.push(Outcome::Empty),
                Message::CopyOutResponse(_) => copy_out = Some(Vec::new()),
                Message::CopyData(body) => {
                    if let Some(out) = copy_out.as_mut() {
                        out.extend_from_slice(body.data());
                    }
                }
                Message::CopyDone => {}
                Message::CopyInResponse(_) => {
                    let mut buf = BytesMut::new();
                    match copy_in() {
                        Some(data) => {
                            for chunk in data.chunks(65536) {
                                frontend::CopyData::new(chunk)?.write(&mut buf);
                            }
                            frontend::copy_done(&mut buf);
                        }
                        None => frontend::copy_fail("COPY FROM STDIN has no data here", &mut buf)?,
                    }
                    self.send(&buf)?;
                }
                Message::ErrorResponse(body) => answer.error = Some(server_message(&mut body.fields())?),
                Message::NoticeResponse(body) => answer.notices.push(server_message(&mut body.fields())?),
                Message::ReadyForQuery(_) => return Ok(answer),
                Message::ParameterStatus(_) | Message::NotificationResponse(_) => {}
                _ => return Err(protocol("unexpected message in a simple query")),
            }
        }
    }

    /// The rows of a query the client runs for its own use (catalog lookups for `\d`,
    /// completion, dump); a lost connection or the server's error comes back as its text.
    pub fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let answer = self.simple_query(sql, &mut || None).map_err(|e| format!("connection to server lost: {e}"))?;
        if let Some(e) = answer.error {
            return Err(e.render());
        }
        Ok(answer
            .outcomes
            .into_iter()
            .filter_map(|o| match o {
                Outcome::Rows { rows, .. } => Some(rows),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// Says goodbye.
    pub fn close(mut self) {
        let mut buf = BytesMut::new();
        frontend::terminate(&mut buf);
        let _ = self.send(&buf);
    }
}
