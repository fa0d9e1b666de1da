//! Token-level helpers shared by the hand-written parsers of the statements sqlparser does not
//! parse as PostgreSQL writes them (`maintenance.rs`, `database.rs`).

use rustydb_foundation::{DbError, Result};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// True at the end of the statement.
pub(super) fn at_end(parser: &Parser<'_>) -> bool {
    matches!(parser.peek_token_ref().token, Token::EOF | Token::SemiColon)
}

/// 42601 unless the statement ends here.
pub(super) fn expect_end(parser: &mut Parser<'_>) -> Result<()> {
    if at_end(parser) {
        return Ok(());
    }
    let found = parser.next_token();
    Err(DbError::syntax(format!("syntax error at or near \"{}\"", found.token)))
}

/// Consumes the next token if it is one of the unquoted `words`.
pub(super) fn word(parser: &mut Parser<'_>, words: &[&str]) -> bool {
    let matched = matches!(&parser.peek_token_ref().token,
        Token::Word(w) if w.quote_style.is_none() && words.iter().any(|k| w.value.eq_ignore_ascii_case(k)));
    if matched {
        parser.next_token();
    }
    matched
}
