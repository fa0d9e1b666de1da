//! `FETCH` and `MOVE`, which sqlparser parses only in part (it wants FROM or IN, a count after
//! FORWARD and BACKWARD, and no sign) and not at all (MOVE). Recognised by their first word
//! and parsed here as PostgreSQL 15's grammar has them:
//!
//! ```text
//! FETCH | MOVE [ direction ] [ FROM | IN ] cursor_name
//! direction: NEXT | PRIOR | FIRST | LAST | ABSOLUTE count | RELATIVE count | count | ALL
//!          | FORWARD [ count | ALL ] | BACKWARD [ count | ALL ]
//! ```

use super::words::{at_end, expect_end, word};
use rustydb_foundation::{DbError, Result};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// A parsed `FETCH` or `MOVE`.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorMove {
    /// `MOVE`: position the cursor, return no rows.
    pub only_move: bool,
    /// Where to go.
    pub direction: Direction,
    /// The cursor's name (folded to lower case unless quoted).
    pub cursor: String,
}

/// A `FETCH`/`MOVE` direction, in PostgreSQL's terms (FETCH_FORWARD, FETCH_BACKWARD,
/// FETCH_ABSOLUTE, FETCH_RELATIVE): NEXT is `Forward(Some(1))`, PRIOR `Backward(Some(1))`,
/// FIRST `Absolute(1)`, LAST `Absolute(-1)`, a bare or FORWARD count of -n `Backward(n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The next n rows (`None`: all).
    Forward(Option<u64>),
    /// The previous n rows (`None`: all).
    Backward(Option<u64>),
    /// Row n (from the end when negative; 0: before the first).
    Absolute(i64),
    /// The row n after (before, when negative) the current one.
    Relative(i64),
}

/// True if `segment` (one statement's tokens) is a FETCH or MOVE.
pub fn is_cursor_move(segment: &[TokenWithSpan]) -> bool {
    let first = segment.iter().find(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF));
    matches!(first.map(|t| &t.token), Some(Token::Word(w))
        if w.quote_style.is_none() && (w.value.eq_ignore_ascii_case("fetch") || w.value.eq_ignore_ascii_case("move")))
}

/// Parses a FETCH or MOVE.
pub fn parse(segment: &[TokenWithSpan]) -> Result<CursorMove> {
    let mut parser = Parser::new(&PostgreSqlDialect {}).with_tokens_with_locations(segment.to_vec());
    let only_move = !word(&mut parser, &["fetch"]) && word(&mut parser, &["move"]);
    let direction = direction(&mut parser)?;
    word(&mut parser, &["from", "in"]);
    let cursor = match parser.next_token().token {
        Token::Word(w) if w.quote_style.is_some() => w.value,
        Token::Word(w) => w.value.to_lowercase(),
        other => return Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
    };
    expect_end(&mut parser)?;
    Ok(CursorMove { only_move, direction, cursor })
}

fn direction(parser: &mut Parser<'_>) -> Result<Direction> {
    Ok(if word(parser, &["next"]) {
        Direction::Forward(Some(1))
    } else if word(parser, &["prior"]) {
        Direction::Backward(Some(1))
    } else if word(parser, &["first"]) {
        Direction::Absolute(1)
    } else if word(parser, &["last"]) {
        Direction::Absolute(-1)
    } else if word(parser, &["absolute"]) {
        Direction::Absolute(count(parser)?)
    } else if word(parser, &["relative"]) {
        Direction::Relative(count(parser)?)
    } else if word(parser, &["all"]) {
        Direction::Forward(None)
    } else if word(parser, &["forward"]) {
        if word(parser, &["all"]) { Direction::Forward(None) } else { optional_count(parser, true)? }
    } else if word(parser, &["backward"]) {
        if word(parser, &["all"]) { Direction::Backward(None) } else { optional_count(parser, false)? }
    } else if starts_count(parser) {
        signed(count(parser)?, true)
    } else {
        Direction::Forward(Some(1))
    })
}

/// FORWARD/BACKWARD with a count or without (one row).
fn optional_count(parser: &mut Parser<'_>, forward: bool) -> Result<Direction> {
    let n = if starts_count(parser) { count(parser)? } else { 1 };
    Ok(signed(n, forward))
}

/// A count of rows forward (backward if `forward` is false), a negative one the other way
/// (0 either way re-reads the current row, as `RELATIVE 0`).
fn signed(n: i64, forward: bool) -> Direction {
    if n == 0 {
        return Direction::Relative(0);
    }
    let rows = Some(n.unsigned_abs());
    if (n >= 0) == forward { Direction::Forward(rows) } else { Direction::Backward(rows) }
}

fn starts_count(parser: &Parser<'_>) -> bool {
    !at_end(parser) && matches!(parser.peek_token_ref().token, Token::Number(..) | Token::Minus | Token::Plus)
}

/// An integer, optionally signed (42601 for anything else, 22003 past int8).
fn count(parser: &mut Parser<'_>) -> Result<i64> {
    let negative = match parser.peek_token_ref().token {
        Token::Minus => {
            parser.next_token();
            true
        }
        Token::Plus => {
            parser.next_token();
            false
        }
        _ => false,
    };
    match parser.next_token().token {
        Token::Number(digits, _) => {
            let text = if negative { format!("-{digits}") } else { digits };
            text.parse::<i64>().map_err(|_| {
                DbError::sql(
                    rustydb_foundation::SqlState::NumericValueOutOfRange,
                    format!("value \"{text}\" is out of range for type bigint"),
                )
            })
        }
        other => Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> CursorMove {
        let tokens = sqlparser::tokenizer::Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().unwrap();
        assert!(is_cursor_move(&tokens), "{sql}");
        parse(&tokens).unwrap()
    }

    #[test]
    fn fetch_and_move_read_every_direction_postgresql_has() {
        let cases = [
            ("FETCH c", Direction::Forward(Some(1))),
            ("FETCH NEXT FROM c", Direction::Forward(Some(1))),
            ("FETCH PRIOR IN c", Direction::Backward(Some(1))),
            ("FETCH FIRST c", Direction::Absolute(1)),
            ("fetch last from c", Direction::Absolute(-1)),
            ("FETCH ABSOLUTE -2 FROM c", Direction::Absolute(-2)),
            ("FETCH RELATIVE 0 FROM c", Direction::Relative(0)),
            ("FETCH 5 FROM c", Direction::Forward(Some(5))),
            ("FETCH -5 FROM c", Direction::Backward(Some(5))),
            ("FETCH ALL IN c", Direction::Forward(None)),
            ("FETCH FORWARD FROM c", Direction::Forward(Some(1))),
            ("FETCH FORWARD 2000 FROM c", Direction::Forward(Some(2000))),
            ("FETCH FORWARD -3 FROM c", Direction::Backward(Some(3))),
            ("FETCH FORWARD ALL FROM c", Direction::Forward(None)),
            ("FETCH BACKWARD c", Direction::Backward(Some(1))),
            ("FETCH BACKWARD ALL FROM c", Direction::Backward(None)),
        ];
        for (sql, direction) in cases {
            assert_eq!(parsed(sql), CursorMove { only_move: false, direction, cursor: "c".into() }, "{sql}");
        }
        let moved = parsed("MOVE FORWARD 3 IN \"My Cursor\"");
        assert_eq!(
            moved,
            CursorMove { only_move: true, direction: Direction::Forward(Some(3)), cursor: "My Cursor".into() }
        );
    }

    #[test]
    fn malformed_fetches_are_syntax_errors() {
        for sql in ["FETCH FROM", "FETCH 1 FROM c d", "FETCH ABSOLUTE FROM c", "FETCH 'x' FROM c"] {
            let tokens =
                sqlparser::tokenizer::Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().unwrap();
            let e = parse(&tokens).unwrap_err();
            assert_eq!(e.sqlstate(), rustydb_foundation::SqlState::SyntaxError, "{sql}");
        }
    }
}
