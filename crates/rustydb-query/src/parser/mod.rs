//! The parser edge: SQL text in, sqlparser statements out, parse errors as 42601 worded the way
//! PostgreSQL words them. Only this module and the binder see sqlparser's types; its AST
//! changes between releases, so the version is pinned exactly and converted at once.

use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// Nesting (parentheses, subqueries, prefix operators) deeper than this is refused by the
/// parser's own recursion counter.
const RECURSION_LIMIT: usize = 200;

/// The most operators one expression may chain. sqlparser builds `a + b + c ...` as a left-deep
/// tree in a loop its recursion counter does not see, and building, binding, evaluating and
/// even dropping that tree recurse once per operator: a long enough chain would overflow the
/// stack and abort the whole server. Checked on the tokens before parsing.
pub const MAX_OPERATOR_CHAIN: usize = 1000;

mod cursor;
mod database;
mod maintenance;
mod role_grants;
mod words;

pub use cursor::{CursorMove, Direction};
pub use database::{CreateOption, DatabaseCommand, OptionValue};
pub use maintenance::{VacuumCommand, VacuumTarget};

/// One statement of a query string.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A statement sqlparser knows.
    Sql(Box<ast::Statement>),
    /// `CHECKPOINT`, which sqlparser does not parse.
    Checkpoint,
    /// `VACUUM`, which sqlparser parses only in Redshift's form.
    Vacuum(VacuumCommand),
    /// `CREATE`, `DROP` or `ALTER DATABASE`, which sqlparser parses in other dialects' forms.
    Database(DatabaseCommand),
    /// `FETCH` or `MOVE`, which sqlparser parses in part.
    Fetch(CursorMove),
}

/// Parses a query string that may hold several statements. An empty string (or only
/// semicolons and comments) gives no statements.
pub fn parse(sql: &str) -> Result<Vec<ast::Statement>> {
    let tokens = tokenize(sql)?;
    parse_tokens(tokens)
}

/// As [`parse`], with the maintenance statements sqlparser does not parse as PostgreSQL
/// writes them (`CHECKPOINT`, `VACUUM`) recognised too.
pub fn parse_script(sql: &str) -> Result<Vec<Parsed>> {
    let tokens = tokenize(sql)?;
    let segments: Vec<&[TokenWithSpan]> = tokens.split(|t| t.token == Token::SemiColon).collect();
    let special = |s: &[TokenWithSpan]| {
        maintenance::command(s).is_some() || database::is_database_command(s) || cursor::is_cursor_move(s)
    };
    if !segments.iter().any(|s| special(s)) {
        return Ok(parse_tokens(tokens)?.into_iter().map(|s| Parsed::Sql(Box::new(s))).collect());
    }
    let mut parsed = Vec::new();
    for segment in segments {
        match maintenance::command(segment) {
            Some(maintenance::Command::Checkpoint) => {
                maintenance::parse_checkpoint(segment)?;
                parsed.push(Parsed::Checkpoint);
            }
            Some(maintenance::Command::Vacuum) => parsed.push(Parsed::Vacuum(maintenance::parse_vacuum(segment)?)),
            None if database::is_database_command(segment) => parsed.push(Parsed::Database(database::parse(segment)?)),
            None if cursor::is_cursor_move(segment) => parsed.push(Parsed::Fetch(cursor::parse(segment)?)),
            None => parsed.extend(parse_tokens(segment.to_vec())?.into_iter().map(|s| Parsed::Sql(Box::new(s)))),
        }
    }
    Ok(parsed)
}

/// Parses one expression (a stored DEFAULT).
pub fn parse_expr(sql: &str) -> Result<ast::Expr> {
    let tokens = tokenize(sql)?;
    let mut parser =
        Parser::new(&PostgreSqlDialect {}).with_recursion_limit(RECURSION_LIMIT).with_tokens_with_locations(tokens);
    let expr = parser.parse_expr().map_err(syntax_error)?;
    if parser.peek_token().token != Token::EOF {
        return Err(DbError::syntax(format!("syntax error in expression \"{sql}\"")));
    }
    Ok(expr)
}

fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| syntax_error(ParserError::TokenizerError(e.to_string())))?;
    check_operator_chains(&tokens)?;
    let mut tokens = tokens;
    copy_option_booleans(&mut tokens);
    alter_view_rename(&mut tokens);
    Ok(tokens)
}

/// `ALTER VIEW name RENAME ...`, which sqlparser does not parse, is read as the `ALTER TABLE`
/// PostgreSQL also accepts for a view.
fn alter_view_rename(tokens: &mut [TokenWithSpan]) {
    let is_word = |t: &Token, word: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word));
    let mut start = 0;
    while start < tokens.len() {
        let end = tokens[start..].iter().position(|t| t.token == Token::SemiColon).map_or(tokens.len(), |p| start + p);
        let words: Vec<usize> =
            (start..end).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).take(8).collect();
        if let [alter, view, rest @ ..] = words.as_slice()
            && is_word(&tokens[*alter].token, "alter")
            && is_word(&tokens[*view].token, "view")
            && let Some(rename) = rest.iter().position(|&i| is_word(&tokens[i].token, "rename"))
            && {
                // The view's name, `name` or `schema.name`, maybe after IF EXISTS.
                let mut name = &rest[..rename];
                if let [first, second, tail @ ..] = name
                    && is_word(&tokens[*first].token, "if")
                    && is_word(&tokens[*second].token, "exists")
                {
                    name = tail;
                }
                let word = |i: &usize| matches!(tokens[*i].token, Token::Word(_));
                match name {
                    [n] => word(n),
                    [s, dot, n] => word(s) && tokens[*dot].token == Token::Period && word(n),
                    _ => false,
                }
            }
        {
            tokens[*view].token = Token::make_keyword("TABLE");
        }
        start = end + 1;
    }
}

/// PostgreSQL's COPY options take `on`/`off` for booleans (`WITH (FREEZE on)`, which pgbench
/// sends), which sqlparser reads only as TRUE/FALSE: inside a COPY statement's parenthesised
/// option list they are rewritten.
fn copy_option_booleans(tokens: &mut [TokenWithSpan]) {
    let is_word = |t: &Token, word: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word));
    let mut in_copy = false;
    let mut first = true;
    let mut depth = 0usize;
    for t in tokens.iter_mut() {
        match &t.token {
            Token::Whitespace(_) => continue,
            Token::SemiColon => {
                (in_copy, first, depth) = (false, true, 0);
                continue;
            }
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        if first {
            in_copy = is_word(&t.token, "copy");
            first = false;
        }
        if in_copy && depth == 1 {
            let replacement = if is_word(&t.token, "on") {
                "TRUE"
            } else if is_word(&t.token, "off") {
                "FALSE"
            } else {
                continue;
            };
            t.token = Token::make_keyword(replacement);
        }
    }
}

fn parse_tokens(tokens: Vec<TokenWithSpan>) -> Result<Vec<ast::Statement>> {
    let mut tokens = role_grants::rewrite(tokens);
    let mut from_create_user = user_as_role(&mut tokens).into_iter();
    sequence_options_in_order(&mut tokens);
    let mut statements = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(syntax_error)?;
    for statement in &mut statements {
        if let ast::Statement::CreateRole(create) = statement
            && from_create_user.next() == Some(true)
        {
            create.login = Some(create.login.unwrap_or(true));
        }
    }
    Ok(statements)
}

/// PostgreSQL takes CREATE SEQUENCE's clauses in any order; sqlparser only in one (AS,
/// INCREMENT, MINVALUE, MAXVALUE, START, CACHE, CYCLE, OWNED BY). Sorts each CREATE SEQUENCE's
/// clauses into that order (stable, so a repeated clause keeps its place and is refused as
/// PostgreSQL refuses it).
fn sequence_options_in_order(tokens: &mut [TokenWithSpan]) {
    let word = |t: &Token| match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    let rank = |w: &str, next: Option<&str>| -> Option<u8> {
        Some(match (w, next) {
            ("AS", _) => 0,
            ("INCREMENT", _) => 1,
            ("MINVALUE", _) | ("NO", Some("MINVALUE")) => 2,
            ("MAXVALUE", _) | ("NO", Some("MAXVALUE")) => 3,
            ("START", _) => 4,
            ("CACHE", _) => 5,
            ("CYCLE", _) | ("NO", Some("CYCLE")) => 6,
            ("OWNED", _) => 7,
            _ => return None,
        })
    };
    let mut start = 0;
    while start < tokens.len() {
        let end = tokens[start..].iter().position(|t| t.token == Token::SemiColon).map_or(tokens.len(), |p| start + p);
        // Every statement passes here: look at its first two words before collecting any.
        let mut leading = tokens[start..end].iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).take(3);
        let is_word = |t: Option<&TokenWithSpan>, w: &str| t.is_some_and(|t| word(&t.token).as_deref() == Some(w));
        let (first, second, third) = (leading.next(), leading.next(), leading.next());
        if !is_word(first, "CREATE") || !(is_word(second, "SEQUENCE") || is_word(third, "SEQUENCE")) {
            start = end + 1;
            continue;
        }
        let words: Vec<(usize, String)> = (start..end).filter_map(|i| word(&tokens[i].token).map(|w| (i, w))).collect();
        let is_create_sequence = words.len() > 2
            && words[0].1 == "CREATE"
            && (words[1].1 == "SEQUENCE" || (words.len() > 3 && words[2].1 == "SEQUENCE"));
        if is_create_sequence {
            // Clauses begin after the sequence's name: the first clause word after SEQUENCE
            // and the name (and IF NOT EXISTS).
            let after_kw = words.iter().position(|(_, w)| w == "SEQUENCE").unwrap_or(0) + 1;
            let mut skip = after_kw;
            if words.get(skip).is_some_and(|(_, w)| w == "IF") {
                skip += 3;
            }
            let first = words
                .iter()
                .skip(skip + 1)
                .find(|(i, w)| {
                    let next = words.iter().find(|(j, _)| j > i).map(|(_, n)| n.as_str());
                    rank(w, next).is_some()
                })
                .map(|(i, _)| *i);
            if let Some(first) = first {
                // The clause tokens without whitespace (the parser skips it anyway), each clause
                // tagged with its rank, then sorted and written back padded with spaces.
                let mut clauses: Vec<(u8, Vec<TokenWithSpan>)> = Vec::new();
                let mut previous_no = false;
                for i in first..end {
                    let t = &tokens[i];
                    if matches!(t.token, Token::Whitespace(_)) {
                        continue;
                    }
                    let w = word(&t.token);
                    let next = tokens[i + 1..end].iter().find_map(|t| word(&t.token));
                    let starts = match &w {
                        Some(w) if !previous_no => rank(w, next.as_deref()),
                        _ => None,
                    };
                    match (starts, clauses.last_mut()) {
                        (Some(r), _) => clauses.push((r, vec![t.clone()])),
                        (None, Some(last)) => last.1.push(t.clone()),
                        (None, None) => clauses.push((0, vec![t.clone()])),
                    }
                    previous_no = w.as_deref() == Some("NO");
                }
                clauses.sort_by_key(|(r, _)| *r);
                let space = TokenWithSpan::wrap(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space));
                let mut sorted: Vec<TokenWithSpan> = clauses.into_iter().flat_map(|(_, c)| c).collect();
                sorted.resize(end - first, space);
                tokens[first..end].clone_from_slice(&sorted);
            }
        }
        start = end + 1;
    }
}

/// sqlparser reads `CREATE USER` and `DROP USER` in Snowflake's form; in PostgreSQL they are
/// `CREATE ROLE` with LOGIN by default and `DROP ROLE`. Rewrites the USER keyword at the start of
/// a statement to ROLE and returns, for each CREATE ROLE statement in order, whether it was
/// written as CREATE USER.
fn user_as_role(tokens: &mut [TokenWithSpan]) -> Vec<bool> {
    let is_word = |t: &Token, word: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word));
    let mut creates = Vec::new();
    let mut start = true;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::Whitespace(_) => {}
            Token::SemiColon => start = true,
            t if start => {
                start = false;
                let (create, drop) = (is_word(t, "create"), is_word(t, "drop"));
                if create || drop {
                    let next = tokens[i + 1..].iter().position(|t| !matches!(t.token, Token::Whitespace(_)));
                    if let Some(offset) = next {
                        let word = &mut tokens[i + 1 + offset].token;
                        let user = is_word(word, "user");
                        if user {
                            *word = Token::make_keyword("ROLE");
                        }
                        if create && (user || is_word(word, "role")) {
                            creates.push(user);
                        }
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    creates
}

/// Refuses a statement with more than [`MAX_OPERATOR_CHAIN`] operators in one expression, as
/// PostgreSQL refuses one too deep for its stack (54001). The count is conservative: operators
/// and operator keywords between two commas at one parenthesis depth, whatever they belong to.
fn check_operator_chains(tokens: &[TokenWithSpan]) -> Result<()> {
    const OPERATOR_WORDS: [&str; 10] =
        ["AND", "OR", "NOT", "LIKE", "ILIKE", "IS", "IN", "BETWEEN", "SIMILAR", "COLLATE"];
    let mut depth_counts: Vec<usize> = vec![0];
    for t in tokens {
        let counts_one = match &t.token {
            Token::Whitespace(_) | Token::EOF | Token::Number(..) | Token::Placeholder(_) => false,
            Token::SemiColon => {
                depth_counts = vec![0];
                false
            }
            Token::LParen => {
                depth_counts.push(0);
                false
            }
            Token::RParen => {
                if depth_counts.len() > 1 {
                    depth_counts.pop();
                }
                false
            }
            Token::Comma => {
                if let Some(top) = depth_counts.last_mut() {
                    *top = 0;
                }
                false
            }
            Token::Word(w) => w.quote_style.is_none() && OPERATOR_WORDS.iter().any(|k| w.value.eq_ignore_ascii_case(k)),
            token => !is_literal(token),
        };
        if counts_one && let Some(top) = depth_counts.last_mut() {
            *top += 1;
            if *top > MAX_OPERATOR_CHAIN {
                return Err(DbError::sql(SqlState::StatementTooComplex, "stack depth limit exceeded").with_detail(
                    format!("An expression chains more than {MAX_OPERATOR_CHAIN} operators; split it up, or use IN (...) for long lists."),
                ));
            }
        }
    }
    Ok(())
}

fn is_literal(token: &Token) -> bool {
    matches!(
        token,
        Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
    )
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

    #[test]
    fn checkpoint_is_recognised_among_other_statements() {
        let parsed = parse_script("select 1; CHECKPOINT ; select 2;checkpoint").unwrap();
        let kinds: Vec<bool> = parsed.iter().map(|p| matches!(p, Parsed::Checkpoint)).collect();
        assert_eq!(kinds, vec![false, true, false, true]);
        assert!(parse_script("checkpoint now").is_err(), "CHECKPOINT takes no arguments");
        assert!(matches!(parse_script("select 1").unwrap()[..], [Parsed::Sql(_)]));
        assert!(parse_script("\"checkpoint\"").is_err(), "a quoted name is not the command");
    }

    #[test]
    fn long_operator_chains_are_refused_before_they_reach_the_stack() {
        let chain = |n: usize| format!("SELECT 1{}", "+1".repeat(n));
        assert!(parse(&chain(MAX_OPERATOR_CHAIN)).is_ok());
        let e = parse(&chain(MAX_OPERATOR_CHAIN + 1)).unwrap_err();
        assert_eq!(
            (e.sqlstate(), e.to_string().as_str()),
            (SqlState::StatementTooComplex, "stack depth limit exceeded")
        );
        assert!(parse(&chain(500_000)).is_err());
        // Commas reset the count: many short expressions are fine, and so are long IN lists.
        let many = format!("SELECT {}", vec!["1+1"; 5000].join(", "));
        assert!(parse(&many).is_ok());
        let in_list = format!("SELECT 1 IN ({})", vec!["1"; 100_000].join(","));
        assert!(parse(&in_list).is_ok());
        // Operators inside string literals do not count.
        assert!(parse(&format!("SELECT '{}'", "+".repeat(10_000))).is_ok());
    }
}
