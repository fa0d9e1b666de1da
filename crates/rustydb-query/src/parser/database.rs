//! The database commands, which sqlparser parses in other dialects' forms only:
//! `CREATE DATABASE` with PostgreSQL's option list, `DROP DATABASE ... [WITH] (FORCE)`, and
//! `ALTER DATABASE ... RENAME TO | OWNER TO`. Recognised by their first two words and parsed
//! here on sqlparser's tokens, as `maintenance.rs` parses VACUUM.

use super::syntax_error;
use super::words::{at_end, expect_end, word};
use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// A parsed database command; names are as written (folded by the executor).
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseCommand {
    /// `CREATE DATABASE name [WITH] option ...`.
    Create {
        /// The new database.
        name: ast::Ident,
        /// Its options, each at most once, in the order given.
        options: Vec<CreateOption>,
    },
    /// `DROP DATABASE [IF EXISTS] name [[WITH] (FORCE)]`.
    Drop {
        /// The database.
        name: ast::Ident,
        /// `IF EXISTS`.
        if_exists: bool,
        /// `FORCE`.
        force: bool,
    },
    /// `ALTER DATABASE name RENAME TO new`.
    Rename {
        /// The database.
        name: ast::Ident,
        /// Its new name.
        to: ast::Ident,
    },
    /// `ALTER DATABASE name OWNER TO role`.
    Owner {
        /// The database.
        name: ast::Ident,
        /// The new owner (`CURRENT_USER` and friends as written).
        to: ast::Ident,
    },
}

impl DatabaseCommand {
    /// The command tag.
    pub fn tag(&self) -> &'static str {
        match self {
            DatabaseCommand::Create { .. } => "CREATE DATABASE",
            DatabaseCommand::Drop { .. } => "DROP DATABASE",
            DatabaseCommand::Rename { .. } | DatabaseCommand::Owner { .. } => "ALTER DATABASE",
        }
    }

    /// True for the commands PostgreSQL refuses inside a transaction block.
    pub fn needs_own_transaction(&self) -> bool {
        matches!(self, DatabaseCommand::Create { .. } | DatabaseCommand::Drop { .. })
    }
}

/// One `CREATE DATABASE` option: its name (lowercase; `CONNECTION LIMIT` as
/// `connection_limit`) and value (`None`: DEFAULT).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOption {
    /// The option.
    pub name: String,
    /// Its value.
    pub value: Option<OptionValue>,
}

/// An option's value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A name (an identifier or keyword).
    Name(ast::Ident),
    /// A string literal.
    Text(String),
    /// A number (with its sign).
    Number(String),
}

impl OptionValue {
    /// The value as text: a name folded as identifiers are, a literal as written.
    pub fn text(&self) -> String {
        match self {
            OptionValue::Name(i) => crate::bind_expr::ident_name(i),
            OptionValue::Text(s) | OptionValue::Number(s) => s.clone(),
        }
    }
}

/// The options `CREATE DATABASE` knows (PostgreSQL 15's list).
const CREATE_OPTIONS: &[&str] = &[
    "owner",
    "template",
    "encoding",
    "strategy",
    "locale",
    "lc_collate",
    "lc_ctype",
    "icu_locale",
    "locale_provider",
    "collation_version",
    "tablespace",
    "allow_connections",
    "connection_limit",
    "is_template",
    "oid",
];

/// True if `segment` (one statement's tokens) is a database command.
pub fn is_database_command(segment: &[TokenWithSpan]) -> bool {
    let mut words = segment.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).take(2).map(|t| &t.token);
    let first = words.next();
    let second = words.next();
    matches!(first, Some(Token::Word(w)) if w.quote_style.is_none()
        && ["create", "drop", "alter"].iter().any(|k| w.value.eq_ignore_ascii_case(k)))
        && matches!(second, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("database"))
}

/// A database name, never empty (PostgreSQL refuses `""` as an identifier).
fn database_name(parser: &mut Parser<'_>) -> Result<ast::Ident> {
    let ident = parser.parse_identifier().map_err(syntax_error)?;
    if ident.value.is_empty() {
        return Err(DbError::syntax("zero-length delimited identifier at or near \"\"\"\""));
    }
    Ok(ident)
}

/// Parses a segment [`is_database_command`] accepted.
pub fn parse(segment: &[TokenWithSpan]) -> Result<DatabaseCommand> {
    let mut parser = Parser::new(&PostgreSqlDialect {}).with_tokens_with_locations(segment.to_vec());
    let verb = word_text(&parser.next_token().token);
    parser.next_token();
    let command = match verb.as_str() {
        "create" => parse_create(&mut parser)?,
        "drop" => parse_drop(&mut parser)?,
        _ => parse_alter(&mut parser)?,
    };
    expect_end(&mut parser)?;
    Ok(command)
}

fn parse_create(parser: &mut Parser<'_>) -> Result<DatabaseCommand> {
    let name = database_name(parser)?;
    word(parser, &["with"]);
    let mut options: Vec<CreateOption> = Vec::new();
    while !at_end(parser) {
        let mut option = match parser.next_token().token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_lowercase(),
            Token::Word(w) => return Err(DbError::syntax(format!("option \"{}\" not recognized", w.value))),
            other => return Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
        };
        if option == "connection" {
            if !word(parser, &["limit"]) {
                let found = parser.next_token();
                return Err(DbError::syntax(format!("syntax error at or near \"{}\"", found.token)));
            }
            option = "connection_limit".into();
        }
        if !CREATE_OPTIONS.contains(&option.as_str()) {
            return Err(DbError::syntax(format!("option \"{option}\" not recognized")));
        }
        if options.iter().any(|o| o.name == option) {
            return Err(DbError::syntax("conflicting or redundant options"));
        }
        let _ = parser.consume_token(&Token::Eq);
        let value = option_value(parser)?;
        options.push(CreateOption { name: option, value });
    }
    Ok(DatabaseCommand::Create { name, options })
}

/// An option's value: a name, a string, a (signed) number, or DEFAULT (`None`).
fn option_value(parser: &mut Parser<'_>) -> Result<Option<OptionValue>> {
    let token = parser.next_token().token;
    Ok(Some(match token {
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("default") => return Ok(None),
        Token::Word(w) => {
            OptionValue::Name(ast::Ident { value: w.value, quote_style: w.quote_style, span: token_span() })
        }
        Token::SingleQuotedString(s) => OptionValue::Text(s),
        Token::Number(n, _) => OptionValue::Number(n),
        Token::Plus => match parser.next_token().token {
            Token::Number(n, _) => OptionValue::Number(n),
            other => return Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
        },
        Token::Minus => match parser.next_token().token {
            Token::Number(n, _) => OptionValue::Number(format!("-{n}")),
            other => return Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
        },
        Token::EOF | Token::SemiColon => return Err(DbError::syntax("syntax error at end of input")),
        other => return Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
    }))
}

fn token_span() -> sqlparser::tokenizer::Span {
    sqlparser::tokenizer::Span::empty()
}

fn parse_drop(parser: &mut Parser<'_>) -> Result<DatabaseCommand> {
    let if_exists = parser.parse_keywords(&[sqlparser::keywords::Keyword::IF, sqlparser::keywords::Keyword::EXISTS]);
    let name = database_name(parser)?;
    let mut force = false;
    if !at_end(parser) {
        word(parser, &["with"]);
        parser.expect_token(&Token::LParen).map_err(syntax_error)?;
        loop {
            if !word(parser, &["force"]) {
                let found = parser.next_token();
                return Err(DbError::syntax(format!("syntax error at or near \"{}\"", found.token)));
            }
            force = true;
            if parser.consume_token(&Token::RParen) {
                break;
            }
            parser.expect_token(&Token::Comma).map_err(syntax_error)?;
        }
    }
    Ok(DatabaseCommand::Drop { name, if_exists, force })
}

fn parse_alter(parser: &mut Parser<'_>) -> Result<DatabaseCommand> {
    let name = database_name(parser)?;
    if word(parser, &["rename"]) {
        expect_word(parser, "to")?;
        let to = database_name(parser)?;
        return Ok(DatabaseCommand::Rename { name, to });
    }
    if word(parser, &["owner"]) {
        expect_word(parser, "to")?;
        let to = database_name(parser)?;
        return Ok(DatabaseCommand::Owner { name, to });
    }
    let rest = parser.peek_token().token;
    Err(DbError::sql(
        SqlState::FeatureNotSupported,
        format!("ALTER DATABASE ... {} is not supported; RENAME TO and OWNER TO are", word_text(&rest).to_uppercase()),
    ))
}

fn word_text(token: &Token) -> String {
    match token {
        Token::Word(w) => w.value.to_lowercase(),
        other => other.to_string(),
    }
}

fn expect_word(parser: &mut Parser<'_>, expected: &str) -> Result<()> {
    if word(parser, &[expected]) {
        return Ok(());
    }
    let found = parser.next_token();
    Err(match found.token {
        Token::EOF => DbError::syntax("syntax error at end of input"),
        other => DbError::syntax(format!("syntax error at or near \"{other}\"")),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Parsed, parse_script};
    use super::*;

    fn command(sql: &str) -> Result<DatabaseCommand> {
        match parse_script(sql)?.pop() {
            Some(Parsed::Database(cmd)) => Ok(cmd),
            other => panic!("{sql} parsed as {other:?}"),
        }
    }

    #[test]
    fn create_reads_postgresql_options() {
        let DatabaseCommand::Create { name, options } = command(
            "CREATE DATABASE \"Sales\" WITH OWNER = alice TEMPLATE template0 ENCODING 'UTF8' \
             CONNECTION LIMIT -1 is_template = false tablespace default",
        )
        .unwrap() else {
            panic!("not a create")
        };
        assert_eq!(name.value, "Sales");
        let names: Vec<&str> = options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["owner", "template", "encoding", "connection_limit", "is_template", "tablespace"]);
        assert_eq!(options[0].value.as_ref().unwrap().text(), "alice");
        assert_eq!(options[3].value.as_ref().unwrap().text(), "-1");
        assert_eq!(options[5].value, None);
    }

    #[test]
    fn bad_create_options_are_42601() {
        for (sql, message) in [
            ("create database d foo 1", "option \"foo\" not recognized"),
            ("create database d owner a owner b", "conflicting or redundant options"),
            ("create database d owner", "syntax error at end of input"),
        ] {
            let e = command(sql).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::SyntaxError, "{sql}");
            assert!(e.to_string().contains(message), "{sql}: {e}");
        }
    }

    #[test]
    fn drop_and_alter_forms() {
        assert_eq!(
            command("drop database if exists d with (force)").unwrap(),
            DatabaseCommand::Drop { name: ast::Ident::new("d"), if_exists: true, force: true }
        );
        assert!(matches!(command("DROP DATABASE d").unwrap(), DatabaseCommand::Drop { force: false, .. }));
        assert!(command("drop database d (force, bar)").is_err());
        assert!(matches!(command("alter database d rename to e").unwrap(), DatabaseCommand::Rename { .. }));
        assert!(matches!(command("alter database d owner to current_user").unwrap(), DatabaseCommand::Owner { .. }));
        assert_eq!(command("alter database d set x = 1").unwrap_err().sqlstate(), SqlState::FeatureNotSupported);
        // Other statements starting with the same words are not taken.
        assert!(matches!(parse_script("create table database (a int)").unwrap()[0], Parsed::Sql(_)));
    }
}
