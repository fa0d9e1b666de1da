//! The parser edge: SQL text in, sqlparser statements out, parse errors as 42601 worded the way
//! PostgreSQL words them. Only this module and the binder see sqlparser's types; its AST
//! changes between releases, so the version is pinned exactly and converted at once.

use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

/// Statements nested deeper than this are refused rather than risking the stack.
const RECURSION_LIMIT: usize = 200;

/// Parses a query string that may hold several statements. An empty string (or only
/// semicolons and comments) gives no statements.
pub fn parse(sql: &str) -> Result<Vec<ast::Statement>> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(syntax_error)
}

fn syntax_error(e: ParserError) -> DbError {
    match e {
        ParserError::RecursionLimitExceeded => {
            DbError::sql(SqlState::ProgramLimitExceeded, "statement is too deeply nested")
        }
        ParserError::TokenizerError(msg) | ParserError::ParserError(msg) => {
            let near = msg.split_once(", found: ").map(|(_, rest)| rest.split(" at Line:").next().unwrap_or(rest));
            match near {
                Some("EOF") => DbError::syntax("syntax error at end of input"),
                Some(token) => DbError::syntax(format!("syntax error at or near \"{}\"", token.trim())),
                None => DbError::syntax(format!("syntax error: {msg}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_like_postgres() {
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!(e.sqlstate(), SqlState::SyntaxError);
        assert_eq!(e.to_string(), "syntax error at or near \"SELEC\"");
        assert_eq!(parse("SELECT 1 +").unwrap_err().to_string(), "syntax error at end of input");
        assert_eq!(parse(" ;; ").unwrap().len(), 0);
        assert_eq!(parse("SELECT 1; SELECT 2").unwrap().len(), 2);
        let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).is_err());
    }
}
