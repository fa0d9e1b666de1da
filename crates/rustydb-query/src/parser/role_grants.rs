//! `GRANT role TO member` and `REVOKE role FROM member`, which sqlparser does not parse in
//! PostgreSQL's form (it reads the role names as privilege keywords and fails). The tokens of
//! such a statement are rewritten into the form sqlparser does read — Snowflake's
//! `GRANT ROLE name` for each role, and `GRANT OPTION` for PostgreSQL's `ADMIN OPTION` — so
//! the binder sees a `Grant`/`Revoke` with no objects whose actions are all roles, and reads
//! its grant option as the admin option.

use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

/// The privilege keywords a GRANT's list can start with: such a statement grants privileges.
const PRIVILEGE_WORDS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "USAGE",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "TEMP",
    "EXECUTE",
    "ALL",
];

fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Rewrites every role GRANT/REVOKE among `tokens` (whole query strings, several statements).
pub fn rewrite(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    if !tokens.iter().any(|t| matches!(word(&t.token).as_deref(), Some("GRANT" | "REVOKE"))) {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() + 8);
    let mut segment = Vec::new();
    for t in tokens {
        let end = t.token == Token::SemiColon;
        segment.push(t);
        if end {
            out.extend(rewrite_statement(std::mem::take(&mut segment)));
        }
    }
    out.extend(rewrite_statement(segment));
    out
}

fn rewrite_statement(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    // Positions of the significant tokens.
    let significant: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_) | Token::EOF)).collect();
    let w = |tokens: &[TokenWithSpan], k: usize| significant.get(k).and_then(|&i| word(&tokens[i].token));
    let grant = match w(&tokens, 0).as_deref() {
        Some("GRANT") => true,
        Some("REVOKE") => false,
        _ => return tokens,
    };
    // ON at the top level: a privilege statement.
    let mut depth = 0i32;
    for &i in &significant {
        match &tokens[i].token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            t if depth == 0 && word(t).as_deref() == Some("ON") => return tokens,
            _ => {}
        }
    }
    let mut k = 1;
    if !grant && w(&tokens, 1).as_deref() == Some("ADMIN") && w(&tokens, 2).as_deref() == Some("OPTION") {
        tokens[significant[1]].token = Token::make_keyword("GRANT");
        k = 4;
    }
    match w(&tokens, k) {
        Some(first) if PRIVILEGE_WORDS.contains(&first.as_str()) => return tokens,
        _ => {}
    }
    // The role list runs to TO (GRANT) or FROM (REVOKE); ROLE goes before each name.
    let stop = if grant { "TO" } else { "FROM" };
    let mut inserts = Vec::new();
    let mut expect_name = true;
    let mut list_end = None;
    for (n, &i) in significant.iter().enumerate().skip(k) {
        let t = &tokens[i].token;
        if word(t).as_deref() == Some(stop) {
            list_end = Some(n);
            break;
        }
        if expect_name {
            inserts.push(i);
            expect_name = false;
        } else if *t == Token::Comma {
            expect_name = true;
        }
    }
    // `WITH ADMIN OPTION` after the members: the grant option, read as the admin option.
    if let Some(end) = list_end {
        for n in end..significant.len().saturating_sub(2) {
            if w(&tokens, n).as_deref() == Some("WITH")
                && w(&tokens, n + 1).as_deref() == Some("ADMIN")
                && w(&tokens, n + 2).as_deref() == Some("OPTION")
            {
                tokens[significant[n + 1]].token = Token::make_keyword("GRANT");
            }
        }
    }
    for &i in inserts.iter().rev() {
        tokens.insert(i, TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space)));
        tokens.insert(i, TokenWithSpan::wrap(Token::make_keyword("ROLE")));
    }
    tokens
}
