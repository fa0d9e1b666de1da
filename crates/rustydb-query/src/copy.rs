//! COPY's data formats: PostgreSQL's text format (tab-separated, `\N` for NULL, backslash
//! escapes, an optional `\.` end marker) and CSV (RFC 4180 quoting; an unquoted empty field
//! is NULL, a quoted one the empty string; an optional header line), and the binary format
//! (a signature, then per row a field count and each field as a length and its type's binary
//! form, [`rustydb_foundation::pg_binary`]; a count of -1 ends the data).
//!
//! Input arrives in CopyData messages cut anywhere, even inside a quoted field or a UTF-8
//! character, so [`CopyReader`] keeps the unfinished tail of one message for the next and
//! hands back only whole rows.

use crate::bind_expr::ident_name;
use rustydb_foundation::{DbError, Result, SqlState, Value};
use sqlparser::ast;

/// The data format of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// PostgreSQL's text format.
    Text,
    /// Comma-separated values.
    Csv,
    /// PostgreSQL's binary COPY format.
    Binary,
}

/// The 11-byte signature that starts binary COPY data.
pub const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// One field of an input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Text (text and CSV formats), for the column type's input function.
    Text(String),
    /// A value's binary form (binary format), for the column type's receive function.
    Binary(Vec<u8>),
}

/// An input row: its line (or, in binary, row) number and its fields (`None` for NULL).
pub type InputRow = (u64, Vec<Option<Field>>);

/// A COPY's options (`WITH (...)`), with PostgreSQL's defaults per format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    /// The format.
    pub format: CopyFormat,
    /// The field separator (tab for text, comma for CSV).
    pub delimiter: char,
    /// The text that stands for NULL (`\N` for text, the empty string for CSV).
    pub null: String,
    /// A header line (CSV only): skipped on input, written on output.
    pub header: bool,
    /// CSV's quote character.
    pub quote: char,
    /// CSV's escape character inside quotes (the quote itself by default).
    pub escape: char,
}

impl CopyOptions {
    /// The options of a COPY statement; 42601/22023 for the combinations PostgreSQL refuses.
    pub fn from_ast(options: &[ast::CopyOption], legacy: &[ast::CopyLegacyOption]) -> Result<CopyOptions> {
        let mut format = CopyFormat::Text;
        let (mut delimiter, mut null, mut header, mut quote, mut escape) = (None, None, false, None, None);
        for option in options {
            match option {
                ast::CopyOption::Format(name) => {
                    format = match ident_name(name).as_str() {
                        "text" => CopyFormat::Text,
                        "csv" => CopyFormat::Csv,
                        "binary" => CopyFormat::Binary,
                        other => {
                            return Err(DbError::sql(
                                SqlState::InvalidParameterValue,
                                format!("COPY format \"{other}\" not recognized"),
                            ));
                        }
                    }
                }
                // Rows are written by the COPY's own transaction either way.
                ast::CopyOption::Freeze(_) => {}
                ast::CopyOption::Delimiter(c) => delimiter = Some(*c),
                ast::CopyOption::Null(s) => null = Some(s.clone()),
                ast::CopyOption::Header(h) => header = *h,
                ast::CopyOption::Quote(c) => quote = Some(*c),
                ast::CopyOption::Escape(c) => escape = Some(*c),
                ast::CopyOption::Encoding(e) if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
                other => return Err(DbError::unsupported(format!("the COPY option {other}"))),
            }
        }
        for option in legacy {
            match option {
                ast::CopyLegacyOption::Csv(_) => format = CopyFormat::Csv,
                ast::CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                ast::CopyLegacyOption::Null(s) => null = Some(s.clone()),
                ast::CopyLegacyOption::Binary => format = CopyFormat::Binary,
                other => return Err(DbError::unsupported(format!("the COPY option {other}"))),
            }
        }
        let csv = format == CopyFormat::Csv;
        if format == CopyFormat::Binary {
            let (what, state) = if delimiter.is_some() {
                ("DELIMITER", SqlState::SyntaxError)
            } else if null.is_some() {
                ("NULL", SqlState::SyntaxError)
            } else if header {
                ("HEADER", SqlState::FeatureNotSupported)
            } else {
                ("", SqlState::SyntaxError)
            };
            if !what.is_empty() {
                return Err(DbError::sql(state, format!("cannot specify {what} in BINARY mode")));
            }
        }
        if !csv && (header || quote.is_some() || escape.is_some()) {
            let what = if header {
                "HEADER"
            } else if quote.is_some() {
                "quote"
            } else {
                "escape"
            };
            return Err(DbError::sql(SqlState::FeatureNotSupported, format!("COPY {what} available only in CSV mode")));
        }
        let delimiter = delimiter.unwrap_or(if csv { ',' } else { '\t' });
        let quote = quote.unwrap_or('"');
        if !delimiter.is_ascii() || delimiter == '\n' || delimiter == '\r' || (!csv && delimiter == '\\') {
            return Err(DbError::sql(
                SqlState::InvalidParameterValue,
                "COPY delimiter cannot be newline, carriage return or backslash",
            ));
        }
        if csv && delimiter == quote {
            return Err(DbError::sql(SqlState::InvalidParameterValue, "COPY delimiter and quote must be different"));
        }
        Ok(CopyOptions {
            format,
            delimiter,
            null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header,
            quote,
            escape: escape.unwrap_or(quote),
        })
    }

    /// What starts the data: the binary format's signature, flags and header extension.
    pub fn encode_start(&self, out: &mut Vec<u8>) {
        if self.format == CopyFormat::Binary {
            out.extend_from_slice(BINARY_SIGNATURE);
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        }
    }

    /// What ends the data: the binary format's trailer (a field count of -1).
    pub fn encode_end(&self, out: &mut Vec<u8>) {
        if self.format == CopyFormat::Binary {
            out.extend_from_slice(&(-1i16).to_be_bytes());
        }
    }

    /// One row in this format, with its line end.
    pub fn encode_row(&self, row: &[Value], out: &mut Vec<u8>) {
        if self.format == CopyFormat::Binary {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for value in row {
                let start = out.len();
                out.extend_from_slice(&0i32.to_be_bytes());
                let len =
                    if rustydb_foundation::pg_binary::send(value, out) { (out.len() - start - 4) as i32 } else { -1 };
                out[start..start + 4].copy_from_slice(&len.to_be_bytes());
            }
            return;
        }
        SCRATCH.with(|scratch| {
            let mut text = scratch.borrow_mut();
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    push_char(out, self.delimiter);
                }
                text.clear();
                if !value.write_pg_text(&mut text) {
                    out.extend_from_slice(self.null.as_bytes());
                    continue;
                }
                match self.format {
                    CopyFormat::Csv => self.quote_csv(&text, out),
                    CopyFormat::Text | CopyFormat::Binary => self.escape_text(&text, out),
                }
            }
        });
        out.push(b'\n');
    }

    /// A CSV header line of column names.
    pub fn encode_header(&self, names: &[String], out: &mut Vec<u8>) {
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                push_char(out, self.delimiter);
            }
            self.quote_csv(name, out);
        }
        out.push(b'\n');
    }

    fn escape_text(&self, text: &str, out: &mut Vec<u8>) {
        // Most values hold nothing to escape: copied whole.
        let delimiter = u8::try_from(self.delimiter).ok().filter(u8::is_ascii);
        let plain = text.bytes().all(|b| b >= 0x20 && b != b'\\' && Some(b) != delimiter)
            && (delimiter.is_some() || !text.contains(self.delimiter));
        if plain {
            out.extend_from_slice(text.as_bytes());
            return;
        }
        for c in text.chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{b}' => out.extend_from_slice(b"\\v"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                c if c == self.delimiter => {
                    out.push(b'\\');
                    push_char(out, c);
                }
                c => push_char(out, c),
            }
        }
    }

    fn quote_csv(&self, text: &str, out: &mut Vec<u8>) {
        let needs = text.is_empty() && !self.null.is_empty()
            || text == self.null
            || text.contains([self.delimiter, self.quote, '\n', '\r'])
            || text == "\\.";
        if !needs {
            out.extend_from_slice(text.as_bytes());
            return;
        }
        push_char(out, self.quote);
        for c in text.chars() {
            if c == self.quote || c == self.escape {
                push_char(out, self.escape);
            }
            push_char(out, c);
        }
        push_char(out, self.quote);
    }
}

thread_local! {
    /// A value's text while COPY TO escapes it, reused value after value.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Parses COPY FROM input into rows of fields (`None` for NULL), across message boundaries.
#[derive(Debug)]
pub struct CopyReader {
    options: CopyOptions,
    /// Bytes of an unfinished row.
    pending: Vec<u8>,
    /// The header line is still to be skipped.
    skip_header: bool,
    /// The `\.` end marker was seen: what follows is ignored.
    ended: bool,
    /// Lines read (a CSV field's newlines not counted), or binary rows, for error messages.
    line: u64,
    /// Binary format: the signature and header are still to be read.
    binary_header: bool,
    /// Binary format: the field count every row must have.
    options_columns: usize,
}

impl CopyReader {
    /// A reader for input in `options`' format.
    pub fn new(options: CopyOptions) -> Self {
        let skip_header = options.header;
        let binary_header = options.format == CopyFormat::Binary;
        CopyReader {
            options,
            pending: Vec::new(),
            skip_header,
            ended: false,
            line: 0,
            binary_header,
            options_columns: 0,
        }
    }

    /// Adds `data` and returns the rows it completes, each with its line number.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<InputRow>> {
        if self.ended {
            return Ok(Vec::new());
        }
        self.pending.extend_from_slice(data);
        if self.options.format == CopyFormat::Binary {
            return self.feed_binary();
        }
        let mut rows = Vec::new();
        let mut start = 0;
        while let Some(end) = self.row_end(start) {
            let raw = &self.pending[start..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            start = end + 1;
            self.line += 1;
            if raw == b"\\." {
                self.ended = true;
                break;
            }
            if std::mem::take(&mut self.skip_header) {
                continue;
            }
            let text = std::str::from_utf8(raw).map_err(|e| {
                DbError::sql(
                    SqlState::CharacterNotInRepertoire,
                    format!(
                        "invalid byte sequence for encoding \"UTF8\" in COPY line {}: at byte {}",
                        self.line,
                        e.valid_up_to()
                    ),
                )
            })?;
            let fields = match self.options.format {
                CopyFormat::Csv => self.split_csv(text),
                CopyFormat::Text | CopyFormat::Binary => self.split_text(text),
            };
            let line = self.line;
            let fields = fields.map_err(|e| e.with_context(format!("line {line}")))?;
            rows.push((line, fields.into_iter().map(|f| f.map(Field::Text)).collect()));
        }
        self.pending.drain(..start);
        Ok(rows)
    }

    /// Binary input: whole rows from the pending bytes (the header first).
    fn feed_binary(&mut self) -> Result<Vec<InputRow>> {
        let bad = |message: &str| DbError::sql(SqlState::BadCopyFileFormat, message.to_string());
        let mut at = 0;
        if self.binary_header {
            let fixed = BINARY_SIGNATURE.len() + 8;
            if self.pending.len() < fixed {
                if !BINARY_SIGNATURE.starts_with(&self.pending[..self.pending.len().min(BINARY_SIGNATURE.len())]) {
                    return Err(bad("COPY file signature not recognized"));
                }
                return Ok(Vec::new());
            }
            if &self.pending[..BINARY_SIGNATURE.len()] != BINARY_SIGNATURE {
                return Err(bad("COPY file signature not recognized"));
            }
            let word = |i: usize| {
                u32::from_be_bytes([self.pending[i], self.pending[i + 1], self.pending[i + 2], self.pending[i + 3]])
            };
            let flags = word(BINARY_SIGNATURE.len());
            if flags & (1 << 16) != 0 {
                return Err(bad("invalid COPY file header (WITH OIDS)"));
            }
            if flags & 0xffff_0000 & !(1 << 16) != 0 {
                return Err(bad("unrecognized critical flags in COPY file header"));
            }
            let extension = word(BINARY_SIGNATURE.len() + 4) as usize;
            if self.pending.len() < fixed + extension {
                return Ok(Vec::new());
            }
            at = fixed + extension;
            self.binary_header = false;
        }
        let mut rows = Vec::new();
        'rows: while let Some(count) = self.pending.get(at..at + 2) {
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                self.ended = true;
                at = self.pending.len();
                break;
            }
            let expected = self.options_columns;
            if count < 0 || (expected > 0 && count as usize != expected) {
                let line = self.line + 1;
                return Err(bad(&format!("row field count is {count}, expected {expected}"))
                    .with_context(format!("line {line}")));
            }
            let mut cursor = at + 2;
            let mut fields = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let Some(len) = self.pending.get(cursor..cursor + 4) else { break 'rows };
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                cursor += 4;
                if len == -1 {
                    fields.push(None);
                    continue;
                }
                if len < 0 {
                    return Err(bad("invalid field size").with_context(format!("line {}", self.line + 1)));
                }
                let Some(bytes) = self.pending.get(cursor..cursor + len as usize) else { break 'rows };
                fields.push(Some(Field::Binary(bytes.to_vec())));
                cursor += len as usize;
            }
            self.line += 1;
            rows.push((self.line, fields));
            at = cursor;
        }
        self.pending.drain(..at);
        Ok(rows)
    }

    /// The number of columns binary rows must have (0: not checked here).
    pub fn expect_columns(&mut self, columns: usize) {
        self.options_columns = columns;
    }

    /// The input ended (CopyDone): a last line without its newline is still a row.
    pub fn finish(&mut self) -> Result<Vec<InputRow>> {
        if self.options.format == CopyFormat::Binary {
            if !self.ended {
                return Err(DbError::sql(SqlState::BadCopyFileFormat, "unexpected EOF in COPY data"));
            }
            return Ok(Vec::new());
        }
        if self.ended || self.pending.is_empty() {
            return Ok(Vec::new());
        }
        if self.options.format == CopyFormat::Csv && self.row_end(0).is_none() && self.in_quotes(&self.pending) {
            return Err(DbError::sql(SqlState::BadCopyFileFormat, "unterminated CSV quoted field"));
        }
        self.feed(b"\n")
    }

    /// Where the row starting at `start` ends (its newline), if it has ended.
    fn row_end(&self, start: usize) -> Option<usize> {
        let bytes = &self.pending[start..];
        if self.options.format == CopyFormat::Text {
            return bytes.iter().position(|b| *b == b'\n').map(|i| start + i);
        }
        // CSV: a newline inside quotes belongs to the field.
        let (quote, escape) = (self.options.quote as u8, self.options.escape as u8);
        let mut quoted = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if quoted && b == escape && escape != quote && bytes.get(i + 1).is_some_and(|n| *n == quote || *n == escape)
            {
                i += 2;
                continue;
            }
            if b == quote {
                quoted = !quoted;
            } else if b == b'\n' && !quoted {
                return Some(start + i);
            }
            i += 1;
        }
        None
    }

    fn in_quotes(&self, bytes: &[u8]) -> bool {
        bytes.iter().filter(|b| **b == self.options.quote as u8).count() % 2 == 1
    }

    fn split_text(&self, line: &str) -> Result<Vec<Option<String>>> {
        let mut fields = Vec::new();
        let mut raw_field = String::new();
        let mut field = String::new();
        let mut chars = line.chars().peekable();
        loop {
            match chars.next() {
                None => {
                    fields.push(self.text_field(raw_field, field));
                    return Ok(fields);
                }
                Some(c) if c == self.options.delimiter => {
                    fields.push(self.text_field(std::mem::take(&mut raw_field), std::mem::take(&mut field)));
                }
                Some('\\') => {
                    raw_field.push('\\');
                    let Some(e) = chars.next() else {
                        field.push('\\');
                        continue;
                    };
                    raw_field.push(e);
                    match e {
                        'b' => field.push('\u{8}'),
                        'f' => field.push('\u{c}'),
                        'n' => field.push('\n'),
                        'r' => field.push('\r'),
                        't' => field.push('\t'),
                        'v' => field.push('\u{b}'),
                        '0'..='7' => {
                            let mut value = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match chars.peek().and_then(|c| c.to_digit(8)) {
                                    Some(d) => {
                                        value = value * 8 + d;
                                        chars.next();
                                    }
                                    None => break,
                                }
                            }
                            field.push(char::from_u32(value & 0xff).unwrap_or('\0'));
                        }
                        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
                            let mut value = 0;
                            for _ in 0..2 {
                                match chars.peek().and_then(|c| c.to_digit(16)) {
                                    Some(d) => {
                                        value = value * 16 + d;
                                        chars.next();
                                    }
                                    None => break,
                                }
                            }
                            field.push(char::from_u32(value).unwrap_or('\0'));
                        }
                        other => field.push(other),
                    }
                }
                Some(c) => {
                    raw_field.push(c);
                    field.push(c);
                }
            }
        }
    }

    /// A text-format field: NULL if its raw text is the NULL string (compared before escapes
    /// are processed, as PostgreSQL does).
    fn text_field(&self, raw: String, field: String) -> Option<String> {
        if raw == self.options.null { None } else { Some(field) }
    }

    fn split_csv(&self, line: &str) -> Result<Vec<Option<String>>> {
        let (delimiter, quote, escape) = (self.options.delimiter, self.options.quote, self.options.escape);
        let mut fields = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            let mut field = String::new();
            let mut quoted_any = false;
            let mut raw_unquoted = String::new();
            loop {
                match chars.peek().copied() {
                    None => break,
                    Some(c) if c == delimiter => break,
                    Some(c) if c == quote => {
                        chars.next();
                        quoted_any = true;
                        loop {
                            match chars.next() {
                                None => {
                                    return Err(DbError::sql(
                                        SqlState::BadCopyFileFormat,
                                        "unterminated CSV quoted field",
                                    ));
                                }
                                Some(c)
                                    if c == escape
                                        && chars.peek().is_some_and(|n| *n == quote || *n == escape)
                                        && (escape != quote || chars.peek() == Some(&quote)) =>
                                {
                                    field.push(chars.next().unwrap_or(c));
                                }
                                Some(c) if c == quote => break,
                                Some(c) => field.push(c),
                            }
                        }
                    }
                    Some(c) => {
                        chars.next();
                        field.push(c);
                        raw_unquoted.push(c);
                    }
                }
            }
            let null = !quoted_any && raw_unquoted == self.options.null;
            fields.push(if null { None } else { Some(field) });
            if chars.next().is_none() {
                return Ok(fields);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> CopyOptions {
        CopyOptions::from_ast(&[], &[]).unwrap()
    }

    fn csv(header: bool) -> CopyOptions {
        let options = [ast::CopyOption::Format(ast::Ident::new("csv")), ast::CopyOption::Header(header)];
        CopyOptions::from_ast(&options, &[]).unwrap()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn fields(rows: Vec<InputRow>) -> Vec<Vec<Option<String>>> {
        let text = |f: Option<Field>| match f {
            None => None,
            Some(Field::Text(t)) => Some(t),
            Some(Field::Binary(b)) => Some(format!("{b:?}")),
        };
        rows.into_iter().map(|(_, r)| r.into_iter().map(text).collect()).collect()
    }

    #[test]
    fn binary_rows_round_trip_in_pieces_and_bad_input_is_22p04() {
        let binary = [ast::CopyOption::Format(ast::Ident::new("binary"))];
        let options = CopyOptions::from_ast(&binary, &[]).unwrap();
        let mut data = Vec::new();
        options.encode_start(&mut data);
        options.encode_row(&[Value::Int4(7), Value::Null, Value::Text("hé".into())], &mut data);
        options.encode_row(&[Value::Int4(8), Value::Float8(1.5), Value::Text(String::new())], &mut data);
        options.encode_end(&mut data);
        // Fed a byte at a time, the rows come out whole.
        let mut r = CopyReader::new(options.clone());
        r.expect_columns(3);
        let mut rows = Vec::new();
        for byte in &data {
            rows.extend(r.feed(std::slice::from_ref(byte)).unwrap());
        }
        assert!(r.finish().unwrap().is_empty());
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].1,
            vec![Some(Field::Binary(vec![0, 0, 0, 7])), None, Some(Field::Binary("hé".as_bytes().to_vec()))]
        );
        assert_eq!(rows[1].1[2], Some(Field::Binary(Vec::new())));
        // A wrong signature, a wrong field count, data that stops early.
        let mut r = CopyReader::new(options.clone());
        assert_eq!(r.feed(b"PGCOPY\n\xfe").unwrap_err().sqlstate(), SqlState::BadCopyFileFormat);
        let mut r = CopyReader::new(options.clone());
        r.expect_columns(2);
        assert_eq!(r.feed(&data).unwrap_err().sqlstate(), SqlState::BadCopyFileFormat);
        let mut r = CopyReader::new(options.clone());
        r.feed(&data[..data.len() - 2]).unwrap();
        assert_eq!(r.finish().unwrap_err().sqlstate(), SqlState::BadCopyFileFormat);
        // Binary mode refuses the text options as PostgreSQL does.
        let with = |o: ast::CopyOption| CopyOptions::from_ast(&[binary[0].clone(), o], &[]).unwrap_err().sqlstate();
        assert_eq!(with(ast::CopyOption::Delimiter(',')), SqlState::SyntaxError);
        assert_eq!(with(ast::CopyOption::Header(true)), SqlState::FeatureNotSupported);
    }

    #[test]
    fn text_rows_split_across_messages_with_escapes_and_nulls() {
        let mut r = CopyReader::new(text());
        assert!(r.feed(b"1\tab").unwrap().is_empty());
        let rows = r.feed(b"c\t\\N\n2\ttab\\there\\\\\t\\101\\x41\r\n\\.\nignored\n").unwrap();
        assert_eq!(rows.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 2]);
        let rows = fields(rows);
        assert_eq!(rows, [vec![s("1"), s("abc"), None], vec![s("2"), s("tab\there\\"), s("AA")]]);
        assert!(r.feed(b"3\n").unwrap().is_empty(), "rows after the end marker");
        let mut r = CopyReader::new(text());
        r.feed(b"no newline").unwrap();
        assert_eq!(fields(r.finish().unwrap()), [vec![s("no newline")]]);
    }

    #[test]
    fn csv_quotes_keep_delimiters_newlines_and_the_empty_string() {
        let mut r = CopyReader::new(csv(true));
        let rows = fields(r.feed(b"id,name,note\n1,\"a,b\",\n2,\"multi\nline \"\"q\"\"\",\"\"\n").unwrap());
        assert_eq!(rows, [vec![s("1"), s("a,b"), None], vec![s("2"), s("multi\nline \"q\""), s("")]]);
        let mut r = CopyReader::new(csv(false));
        r.feed(b"3,\"open").unwrap();
        assert_eq!(r.finish().unwrap_err().sqlstate(), SqlState::BadCopyFileFormat);
    }

    #[test]
    fn output_round_trips_through_input() {
        let row = vec![Value::Int4(7), Value::Null, Value::Text("a\tb\\c\nd,\"e\"".into()), Value::Text(String::new())];
        for options in [text(), csv(false)] {
            let mut out = Vec::new();
            options.encode_row(&row, &mut out);
            let got = fields(CopyReader::new(options).feed(&out).unwrap());
            assert_eq!(got, [vec![s("7"), None, s("a\tb\\c\nd,\"e\""), s("")]]);
        }
    }

    #[test]
    fn options_are_checked_as_postgres_checks_them() {
        let header = [ast::CopyOption::Header(true)];
        assert_eq!(CopyOptions::from_ast(&header, &[]).unwrap_err().sqlstate(), SqlState::FeatureNotSupported);
        let bad = [ast::CopyOption::Format(ast::Ident::new("xml"))];
        assert_eq!(CopyOptions::from_ast(&bad, &[]).unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
    }
}
