//! The maintenance commands sqlparser does not parse as PostgreSQL writes them: `CHECKPOINT`
//! (not at all) and `VACUUM` (sqlparser knows Redshift's form, not PostgreSQL's option list or
//! its list of tables). They are recognised by their first word and parsed here, on sqlparser's
//! tokens and with its parser's primitives, so names and errors read as everywhere else.

use super::syntax_error;
use super::words::{at_end, expect_end, word};
use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{IsOptional, Parser};
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// A parsed `VACUUM`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VacuumCommand {
    /// `FULL`: accepted, and run as a plain vacuum (see the session's note on it).
    pub full: bool,
    /// `FREEZE`: nothing to do (transaction ids are 64-bit and never wrap).
    pub freeze: bool,
    /// `VERBOSE`: report per table as INFO notices.
    pub verbose: bool,
    /// `ANALYZE`.
    pub analyze: bool,
    /// `SKIP_LOCKED`: pass over a table another session is vacuuming or altering.
    pub skip_locked: bool,
    /// `PARALLEL n` was given (this vacuum runs on one thread whatever `n`).
    pub parallel: bool,
    /// The tables, each with the columns ANALYZE should look at; empty for every table.
    pub tables: Vec<VacuumTarget>,
}

/// One table named in a `VACUUM`.
#[derive(Debug, Clone, PartialEq)]
pub struct VacuumTarget {
    /// The table.
    pub name: ast::ObjectName,
    /// Columns for ANALYZE (empty: all).
    pub columns: Vec<ast::Ident>,
}

/// The maintenance command a statement's tokens start with, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `CHECKPOINT`.
    Checkpoint,
    /// `VACUUM ...`.
    Vacuum,
}

/// Which maintenance command `segment` (one statement's tokens) is, by its first word.
pub fn command(segment: &[TokenWithSpan]) -> Option<Command> {
    let first = segment.iter().find(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))?;
    match &first.token {
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("checkpoint") => {
            Some(Command::Checkpoint)
        }
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("vacuum") => Some(Command::Vacuum),
        _ => None,
    }
}

/// `CHECKPOINT` takes nothing after it.
pub fn parse_checkpoint(segment: &[TokenWithSpan]) -> Result<()> {
    let mut parser = parser(segment);
    parser.next_token();
    expect_end(&mut parser)
}

/// Parses `VACUUM [ ( option [, ...] ) ] [ table [ (column [, ...]) ] [, ...] ]`, or the older
/// `VACUUM [ FULL ] [ FREEZE ] [ VERBOSE ] [ ANALYZE ] [ table ... ]`, as PostgreSQL 15 does.
pub fn parse_vacuum(segment: &[TokenWithSpan]) -> Result<VacuumCommand> {
    let mut parser = parser(segment);
    parser.next_token();
    let mut cmd = VacuumCommand::default();
    if parser.consume_token(&Token::LParen) {
        loop {
            option(&mut parser, &mut cmd)?;
            if parser.consume_token(&Token::RParen) {
                break;
            }
            parser.expect_token(&Token::Comma).map_err(syntax_error)?;
        }
    } else {
        cmd.full = word(&mut parser, &["full"]);
        cmd.freeze = word(&mut parser, &["freeze"]);
        cmd.verbose = word(&mut parser, &["verbose"]);
        cmd.analyze = word(&mut parser, &["analyze", "analyse"]);
    }
    if !at_end(&parser) {
        loop {
            let name = parser.parse_object_name(false).map_err(syntax_error)?;
            let columns = parser.parse_parenthesized_column_list(IsOptional::Optional, false).map_err(syntax_error)?;
            cmd.tables.push(VacuumTarget { name, columns });
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
    }
    expect_end(&mut parser)?;
    if cmd.full && cmd.parallel {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "VACUUM FULL cannot be performed in parallel"));
    }
    if !cmd.analyze && cmd.tables.iter().any(|t| !t.columns.is_empty()) {
        return Err(DbError::sql(
            SqlState::FeatureNotSupported,
            "ANALYZE option must be specified when a column list is provided",
        ));
    }
    Ok(cmd)
}

fn parser(segment: &[TokenWithSpan]) -> Parser<'static> {
    Parser::new(&PostgreSqlDialect {}).with_tokens_with_locations(segment.to_vec())
}

/// One `name [value]` of the parenthesised option list.
fn option(parser: &mut Parser<'_>, cmd: &mut VacuumCommand) -> Result<()> {
    let name = match parser.next_token().token {
        Token::Word(w) => w.value.to_lowercase(),
        other => return Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
    };
    let value = match &parser.peek_token_ref().token {
        Token::Comma | Token::RParen | Token::EOF => None,
        _ => Some(parser.next_token().token),
    };
    let flag = |value: Option<Token>| boolean(&name, value);
    match name.as_str() {
        "full" => cmd.full = flag(value)?,
        "freeze" => cmd.freeze = flag(value)?,
        "verbose" => cmd.verbose = flag(value)?,
        "analyze" | "analyse" => cmd.analyze = flag(value)?,
        "skip_locked" => cmd.skip_locked = flag(value)?,
        // Options that change how PostgreSQL's vacuum goes about its work, not what it
        // achieves; this vacuum always scans every page, cleans every index, and runs on
        // one thread. Their values are still checked.
        "disable_page_skipping" | "process_toast" | "truncate" => {
            flag(value)?;
        }
        "index_cleanup" => {
            let text = value.as_ref().map(token_text);
            if !matches!(text.as_deref(), None | Some("auto")) {
                boolean(&name, value)?;
            }
        }
        "parallel" => {
            let negative = value == Some(Token::Minus);
            let number = if negative { Some(parser.next_token().token) } else { value };
            match number {
                Some(Token::Number(n, _)) if !negative && n.parse::<u32>().is_ok_and(|n| n <= 1024) => {
                    cmd.parallel = true;
                }
                Some(Token::Number(..)) => {
                    return Err(DbError::syntax("parallel workers for vacuum must be between 0 and 1024"));
                }
                None => return Err(DbError::syntax("parallel option requires a value between 0 and 1024")),
                Some(_) => return Err(DbError::syntax("parallel requires an integer value")),
            }
        }
        _ => return Err(DbError::syntax(format!("unrecognized VACUUM option \"{name}\""))),
    }
    Ok(())
}

fn token_text(token: &Token) -> String {
    match token {
        Token::Word(w) => w.value.to_lowercase(),
        Token::SingleQuotedString(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

/// An option's Boolean value as PostgreSQL's `defGetBoolean` reads it (no value means true).
fn boolean(name: &str, value: Option<Token>) -> Result<bool> {
    let Some(value) = value else { return Ok(true) };
    match token_text(&value).as_str() {
        "true" | "on" | "1" => Ok(true),
        "false" | "off" | "0" => Ok(false),
        _ => Err(DbError::syntax(format!("{name} requires a Boolean value"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Parsed, parse_script};
    use super::*;

    fn vacuum(sql: &str) -> Result<VacuumCommand> {
        match parse_script(sql)?.pop() {
            Some(Parsed::Vacuum(cmd)) => Ok(cmd),
            other => panic!("{sql} parsed as {other:?}"),
        }
    }

    fn names(cmd: &VacuumCommand) -> Vec<String> {
        cmd.tables.iter().map(|t| t.name.to_string()).collect()
    }

    #[test]
    fn vacuum_reads_both_option_styles_and_a_list_of_tables() {
        let plain = vacuum("vacuum").unwrap();
        assert_eq!(plain, VacuumCommand::default());
        let old = vacuum("VACUUM FULL FREEZE VERBOSE ANALYZE t, public.\"U\"(a, b)").unwrap();
        assert!(old.full && old.freeze && old.verbose && old.analyze);
        assert_eq!(names(&old), vec!["t", "public.\"U\""]);
        assert_eq!(old.tables[1].columns.len(), 2);
        let new = vacuum("vacuum (verbose, analyze false, skip_locked on, index_cleanup auto, parallel 2) t").unwrap();
        assert!(new.verbose && !new.analyze && new.skip_locked && !new.full);
        assert_eq!(names(&new), vec!["t"]);
        assert!(vacuum("vacuum analyze").unwrap().analyze);
    }

    #[test]
    fn vacuum_errors_read_like_postgres() {
        let err = |sql: &str| {
            let e = vacuum(sql).unwrap_err();
            (e.sqlstate(), e.to_string())
        };
        assert_eq!(err("vacuum (foo) t"), (SqlState::SyntaxError, "unrecognized VACUUM option \"foo\"".into()));
        assert_eq!(err("vacuum (full 2) t"), (SqlState::SyntaxError, "full requires a Boolean value".into()));
        assert_eq!(
            err("vacuum t(a)"),
            (SqlState::FeatureNotSupported, "ANALYZE option must be specified when a column list is provided".into())
        );
        assert_eq!(err("vacuum t u").0, SqlState::SyntaxError);
        assert_eq!(err("vacuum (verbose").0, SqlState::SyntaxError);
        let range = (SqlState::SyntaxError, "parallel workers for vacuum must be between 0 and 1024".to_string());
        assert_eq!(err("vacuum (parallel 5000) t"), range);
        assert_eq!(err("vacuum (parallel -1) t"), range);
        assert_eq!(err("vacuum (parallel x) t").1, "parallel requires an integer value");
        assert_eq!(err("vacuum (verbose yes) t").0, SqlState::SyntaxError, "only true/false/on/off/1/0");
        assert_eq!(
            err("vacuum (full, parallel 2) t"),
            (SqlState::FeatureNotSupported, "VACUUM FULL cannot be performed in parallel".into())
        );
    }
}
