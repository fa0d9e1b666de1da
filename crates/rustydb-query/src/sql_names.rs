//! Names inside SQL text the catalog stores: view definitions, CHECK predicates, policy
//! expressions.
//!
//! PostgreSQL stores those as parsed trees that point at objects by id, so renaming a table or
//! a column changes nothing in them. RustyDB stores SQL text (bound again by each statement,
//! see `check_constraint.rs`), so a rename must rewrite the text, and DROP COLUMN must find
//! the texts that mention the column. Both work on the tokens of the text, not on a printed
//! syntax tree: the text keeps its spelling, its literals and its comments, and only the
//! identifiers that change are replaced, in place.
//!
//! What counts as a reference is decided per identifier, from the tokens beside it:
//! - `name(` is a function call, never a column or a table;
//! - `q.name` refers to a column of the relation called, or aliased, `q`;
//! - a bare `name` is taken as a reference. A view that names another relation's column of
//!   the same name is caught afterwards: the caller binds the rewritten view again and refuses
//!   the rename if it no longer means the same (see `alter_table.rs`).

use rustydb_foundation::{DbError, Result};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};

/// What a rewrite renames.
#[derive(Debug, Clone, Copy)]
pub enum Renaming<'a> {
    /// Column `from` of table `table` becomes `to`.
    Column {
        /// The table (its current name).
        table: &'a str,
        /// The column's old name.
        from: &'a str,
        /// Its new name.
        to: &'a str,
    },
    /// Table `from` becomes `to`.
    Table {
        /// The old name.
        from: &'a str,
        /// The new name.
        to: &'a str,
    },
}

/// `name` as PostgreSQL's `quote_ident` writes it: bare if it is lower case letters, digits
/// and underscores and no keyword, otherwise in double quotes (inner quotes doubled).
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !is_keyword(name);
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// `name` as PostgreSQL's SQL function `quote_ident` (and `format('%I')`) writes it: bare only
/// if it is lower case ASCII letters, digits and underscores, starts with a letter or
/// underscore, and is none of PostgreSQL's reserved or non-unreserved keywords.
/// [`quote_ident`] quotes more (every keyword the parser knows), which is safe for SQL that
/// RustyDB itself parses again.
pub fn quote_identifier(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && PG_KEYWORDS_NEEDING_QUOTES.binary_search(&name).is_err();
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// PostgreSQL 15's keywords other than the unreserved ones
/// (`SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'`), sorted.
const PG_KEYWORDS_NEEDING_QUOTES: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// `name` as a part of a relation name given as text (`nextval('s.t_id_seq')`): bare if it
/// is lower case letters, digits and underscores, else quoted (keywords need no quotes there).
pub fn quote_name_part(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

fn is_keyword(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    sqlparser::keywords::ALL_KEYWORDS.binary_search(&upper.as_str()).is_ok()
}

/// A position in a text, as a line and character (both from 1) and as a byte offset.
struct Cursor {
    line: u64,
    column: u64,
    byte: usize,
}

impl Cursor {
    /// The byte offset of (`line`, `column`), moving the cursor there: forward from where it
    /// is, or from the line's start if that is behind it.
    fn advance(&mut self, sql: &str, line_starts: &[usize], line: u64, column: u64) -> usize {
        if line != self.line || column < self.column {
            self.line = line;
            self.column = 1;
            self.byte = line_starts.get(line.saturating_sub(1) as usize).copied().unwrap_or(sql.len());
        }
        let mut chars = sql[self.byte..].chars();
        while self.column < column {
            match chars.next() {
                Some(c) => {
                    self.byte += c.len_utf8();
                    self.column += 1;
                }
                None => return sql.len(),
            }
        }
        self.byte
    }
}

/// The tokens of `sql`, with the byte range each covers.
struct Tokens {
    tokens: Vec<(Token, std::ops::Range<usize>)>,
    /// Per token, whether it stands where a FROM list names a relation.
    in_from: Vec<bool>,
}

impl Tokens {
    fn new(sql: &str) -> Result<Self> {
        let dialect = PostgreSqlDialect {};
        let spanned: Vec<TokenWithSpan> = Tokenizer::new(&dialect, sql)
            .tokenize_with_location()
            .map_err(|e| DbError::Internal(format!("stored SQL text does not tokenize: {e}")))?;
        // Spans count lines and characters from 1; the text is edited by byte offsets. The
        // positions asked for only move forward (each token's start, then its end), so one
        // cursor walks the text once: a long one-line definition costs no more per token.
        let mut line_starts = vec![0usize];
        line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        let mut cursor = Cursor { line: 1, column: 1, byte: 0 };
        let mut offset = |line: u64, column: u64| -> usize { cursor.advance(sql, &line_starts, line, column) };
        let tokens: Vec<(Token, std::ops::Range<usize>)> = spanned
            .into_iter()
            .filter(|t| !matches!(t.token, Token::EOF))
            .map(|t| {
                let start = offset(t.span.start.line, t.span.start.column);
                let end = offset(t.span.end.line, t.span.end.column);
                (t.token, start..end)
            })
            .collect();
        let mut out = Tokens { tokens, in_from: Vec::new() };
        out.in_from = out.relation_positions();
        Ok(out)
    }

    /// Per token, whether it stands where a FROM list names a relation: right after FROM,
    /// JOIN or UPDATE, or after a comma of a FROM list (until the clause that ends it).
    fn relation_positions(&self) -> Vec<bool> {
        let mut out = vec![false; self.tokens.len()];
        // One flag per parenthesis depth: whether that level is inside a FROM list.
        let mut levels = vec![false];
        let mut expect = false;
        for i in 0..self.tokens.len() {
            match &self.tokens[i].0 {
                Token::Whitespace(_) => continue,
                Token::LParen => {
                    levels.push(false);
                    expect = false;
                    continue;
                }
                Token::RParen => {
                    levels.pop();
                    if levels.is_empty() {
                        levels.push(false);
                    }
                    expect = false;
                    continue;
                }
                Token::Comma => {
                    expect = levels.last().copied().unwrap_or(false);
                    continue;
                }
                Token::Word(w) if w.quote_style.is_none() => {
                    use Keyword as K;
                    match w.keyword {
                        K::FROM | K::JOIN | K::UPDATE => {
                            if let Some(l) = levels.last_mut() {
                                *l = w.keyword != K::UPDATE;
                            }
                            expect = true;
                            continue;
                        }
                        K::WHERE
                        | K::GROUP
                        | K::HAVING
                        | K::ORDER
                        | K::LIMIT
                        | K::OFFSET
                        | K::ON
                        | K::USING
                        | K::UNION
                        | K::INTERSECT
                        | K::EXCEPT
                        | K::SELECT
                        | K::WINDOW
                        | K::RETURNING
                        | K::SET => {
                            if let Some(l) = levels.last_mut() {
                                *l = false;
                            }
                            expect = false;
                            continue;
                        }
                        K::LATERAL | K::ONLY => continue,
                        _ => {}
                    }
                }
                _ => {}
            }
            if expect {
                out[i] = true;
                // `schema.table`: the name after the period stands there too.
                if self.after(i).is_some_and(|j| self.tokens[j].0 == Token::Period) {
                    continue;
                }
            }
            if !matches!(self.tokens[i].0, Token::Period) {
                expect = false;
            } else if i > 0 && out[self.before(i).unwrap_or(0)] {
                expect = true;
            }
        }
        out
    }

    /// Whether the word at `i` stands where no column can: a type name (`x::date`,
    /// `CAST(x AS date)`, `date '2020-01-01'`), an alias (`AS name`), or a field of EXTRACT
    /// or of an interval literal.
    fn not_a_name(&self, i: usize) -> bool {
        let prev = self.before(i).map(|j| &self.tokens[j].0);
        let next = self.after(i).map(|j| &self.tokens[j].0);
        let prev_word_is =
            |k: Keyword| matches!(prev, Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == k);
        matches!(prev, Some(Token::DoubleColon | Token::SingleQuotedString(_)))
            || prev_word_is(Keyword::AS)
            || matches!(next, Some(Token::SingleQuotedString(_)))
            || (matches!(prev, Some(Token::LParen))
                && self
                    .before(i)
                    .and_then(|j| self.before(j))
                    .and_then(|j| self.word(j))
                    .is_some_and(|w| w.quote_style.is_none() && w.value.eq_ignore_ascii_case("extract")))
    }

    /// The relations the text's FROM lists name (bare names, lower-cased as identifiers).
    fn relations(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in 0..self.tokens.len() {
            if self.in_from[i]
                && !self.qualifies(i)
                && let Some(w) = self.word(i)
            {
                let name = normalized(w);
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// The index of the nearest token before `i` that is not whitespace.
    fn before(&self, i: usize) -> Option<usize> {
        (0..i).rev().find(|&j| !matches!(self.tokens[j].0, Token::Whitespace(_)))
    }

    /// The index of the nearest token after `i` that is not whitespace.
    /// The names the text declares for itself: CTEs (`name AS (`, `name (columns) AS (`) and
    /// windows (`name AS (`).
    fn declared_names(&self) -> Vec<String> {
        let is_as = |j: usize| self.word(j).is_some_and(|w| w.quote_style.is_none() && w.keyword == Keyword::AS);
        let is = |j: Option<usize>, t: Token| j.is_some_and(|j| self.tokens[j].0 == t);
        let mut out = Vec::new();
        for i in 0..self.tokens.len() {
            let Some(w) = self.word(i) else { continue };
            let Some(mut next) = self.after(i) else { continue };
            if self.tokens[next].0 == Token::LParen {
                // A column list: skip to its closing parenthesis.
                let Some(close) = (next..self.tokens.len()).find(|&j| self.tokens[j].0 == Token::RParen) else {
                    continue;
                };
                let Some(n) = self.after(close) else { continue };
                next = n;
            }
            if is_as(next) && is(self.after(next), Token::LParen) {
                out.push(normalized(w));
            }
        }
        out
    }

    fn after(&self, i: usize) -> Option<usize> {
        (i + 1..self.tokens.len()).find(|&j| !matches!(self.tokens[j].0, Token::Whitespace(_)))
    }

    fn word(&self, i: usize) -> Option<&Word> {
        match &self.tokens[i].0 {
            Token::Word(w) => Some(w),
            _ => None,
        }
    }

    /// The qualifier of the word at `i` (`q` in `q.name`), if it has one.
    fn qualifier(&self, i: usize) -> Option<String> {
        let dot = self.before(i)?;
        if self.tokens[dot].0 != Token::Period {
            return None;
        }
        self.before(dot).and_then(|q| self.word(q)).map(normalized)
    }

    /// Whether the word at `i` is called as a function (`name(`).
    fn is_call(&self, i: usize) -> bool {
        self.after(i).is_some_and(|j| self.tokens[j].0 == Token::LParen)
    }

    /// Whether the word at `i` is followed by a period (it qualifies what follows).
    fn qualifies(&self, i: usize) -> bool {
        self.after(i).is_some_and(|j| self.tokens[j].0 == Token::Period)
    }

    /// Whether the `*` at `i` is a select list's (`SELECT *`, `, *`, `t.*`), not a product
    /// or `count(*)`.
    fn is_select_star(&self, i: usize) -> bool {
        self.before(i).is_some_and(|j| match &self.tokens[j].0 {
            Token::Comma | Token::Period => true,
            Token::Word(w) => {
                w.quote_style.is_none() && matches!(w.keyword, Keyword::SELECT | Keyword::DISTINCT | Keyword::ALL)
            }
            _ => false,
        })
    }

    /// Whether the word at `i` names relation `table`: in a FROM list (bare or with any schema:
    /// callers choose the texts that read the relation itself, see `dependents::text_reads`),
    /// or as the qualifier of a column.
    fn names_relation(&self, i: usize, table: &str) -> bool {
        self.word(i).is_some_and(|w| normalized(w) == table)
            && !self.is_call(i)
            && ((self.in_from[i] && !self.qualifies(i)) || (self.qualifies(i) && self.qualifier(i).is_none()))
    }

    /// The names `table` goes by in the text: its own, and each alias given where it is named
    /// as a relation (`table [AS] alias`).
    fn names_of(&self, table: &str) -> Vec<String> {
        let mut names = vec![table.to_string()];
        for i in 0..self.tokens.len() {
            let Some(w) = self.word(i) else { continue };
            if normalized(w) != table || !self.in_from[i] || self.qualifies(i) {
                continue;
            }
            let Some(mut next) = self.after(i) else { continue };
            if self.word(next).is_some_and(|w| w.quote_style.is_none() && w.keyword == Keyword::AS) {
                let Some(n) = self.after(next) else { continue };
                next = n;
            }
            if let Some(alias) = self.word(next)
                && (alias.quote_style.is_some() || alias.keyword == Keyword::NoKeyword)
            {
                names.push(normalized(alias));
            }
        }
        names
    }
}

/// A word's identifier: as written if quoted, else folded to lower case.
fn normalized(w: &Word) -> String {
    if w.quote_style.is_some() { w.value.clone() } else { w.value.to_lowercase() }
}

/// Whether `sql` mentions identifier `name` (in any position but a function's name), or
/// a select list's `*` when `star` (it takes every column, the one asked about too).
pub fn mentions(sql: &str, name: &str, star: bool) -> Result<bool> {
    let tokens = Tokens::new(sql)?;
    Ok((0..tokens.tokens.len()).any(|i| match &tokens.tokens[i].0 {
        Token::Word(w) => normalized(w) == name && !tokens.is_call(i) && !tokens.not_a_name(i) && !tokens.in_from[i],
        Token::Mul => star && tokens.is_select_star(i),
        _ => false,
    }))
}

/// Whether `sql` names relation `table` (as a relation, or as a column's qualifier).
pub fn mentions_relation(sql: &str, table: &str) -> Result<bool> {
    let tokens = Tokens::new(sql)?;
    Ok((0..tokens.tokens.len()).any(|i| tokens.names_relation(i, table)))
}

/// Whether `sql` reads relation `table`: names it where a FROM list names a relation, and
/// does not declare a CTE of that name (which such a FROM would name instead). What DROP
/// finds dependent views by; an alias or qualifier of the same name does not count.
/// `qualified` tells whether the name with that qualifier (`None`: unqualified) is the
/// relation meant (which depends on the schema it is in and on the search path).
pub fn reads_relation(sql: &str, table: &str, qualified: impl Fn(Option<&str>) -> bool) -> Result<bool> {
    Ok(relation_qualifiers(sql, table)?.iter().any(|q| qualified(q.as_deref())))
}

/// The qualifiers `sql` names relation `table` with where a FROM list names a relation
/// (`None`: unqualified), leaving out unqualified mentions a CTE of the name shadows.
pub fn relation_qualifiers(sql: &str, table: &str) -> Result<Vec<Option<String>>> {
    let tokens = Tokens::new(sql)?;
    let declared = tokens.declared_names().iter().any(|n| n == table);
    Ok((0..tokens.tokens.len())
        .filter(|&i| {
            tokens.in_from[i]
                && tokens.word(i).is_some_and(|w| normalized(w) == table)
                && !tokens.is_call(i)
                && !tokens.qualifies(i)
        })
        .map(|i| tokens.qualifier(i))
        // A CTE of the name is what an unqualified name in FROM reads.
        .filter(|q| q.is_some() || !declared)
        .collect())
}

/// Whether `sql` uses `name` as a qualifier (`name.x`) anywhere.
pub fn mentions_qualifier(sql: &str, name: &str) -> Result<bool> {
    let tokens = Tokens::new(sql)?;
    Ok((0..tokens.tokens.len()).any(|i| tokens.word(i).is_some_and(|w| normalized(w) == name) && tokens.qualifies(i)))
}

/// `sql` with `renaming` applied; `None` if nothing in it changes.
pub fn rename(sql: &str, renaming: Renaming<'_>) -> Result<Option<String>> {
    let tokens = Tokens::new(sql)?;
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    match renaming {
        Renaming::Column { table, from, to } => {
            let names = tokens.names_of(table);
            // With other relations in the text a bare name may be theirs: only the binder
            // could tell, so such a text is refused rather than guessed at.
            let others = tokens.relations().iter().any(|r| r != table);
            for i in 0..tokens.tokens.len() {
                let Some(w) = tokens.word(i) else { continue };
                if normalized(w) != from || tokens.is_call(i) || tokens.qualifies(i) || tokens.not_a_name(i) {
                    continue;
                }
                if tokens.in_from[i] {
                    continue;
                }
                match tokens.qualifier(i) {
                    Some(q) if names.contains(&q) => edits.push((tokens.tokens[i].1.clone(), quote_ident(to))),
                    Some(_) => {}
                    None if others => {
                        return Err(DbError::sql(
                            rustydb_foundation::SqlState::FeatureNotSupported,
                            format!(
                                "cannot rewrite the unqualified reference to \"{from}\" in a text that reads other relations too"
                            ),
                        ));
                    }
                    None => edits.push((tokens.tokens[i].1.clone(), quote_ident(to))),
                }
            }
        }
        Renaming::Table { from, to } => {
            for i in 0..tokens.tokens.len() {
                if tokens.names_relation(i, from) {
                    edits.push((tokens.tokens[i].1.clone(), quote_ident(to)));
                }
            }
        }
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut at = 0;
    for (range, text) in edits {
        out.push_str(&sql[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&sql[at..]);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(sql: &str, table: &str, from: &str, to: &str) -> String {
        rename(sql, Renaming::Column { table, from, to }).unwrap().unwrap_or_else(|| sql.to_string())
    }

    #[test]
    fn identifiers_are_quoted_only_when_they_must_be() {
        assert_eq!(quote_ident("abc_1"), "abc_1");
        assert_eq!(quote_ident("Abc"), "\"Abc\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("1a"), "\"1a\"");
        assert!(PG_KEYWORDS_NEEDING_QUOTES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(quote_identifier("name"), "name");
        assert_eq!(quote_identifier("int"), "\"int\"");
        assert_eq!(quote_identifier("a$b"), "\"a$b\"");
    }

    #[test]
    fn a_column_rename_touches_references_and_nothing_else() {
        assert_eq!(column("a > 0 AND b <> 'a'", "t", "a", "z"), "z > 0 AND b <> 'a'");
        assert_eq!(column("(\"a\" + t.a) * A", "t", "a", "New"), "(\"New\" + t.\"New\") * \"New\"");
        // Another relation's column, a function and a literal keep their names.
        assert_eq!(
            column("SELECT u.a, a(1), 'a' FROM t JOIN u ON true", "t", "a", "z"),
            "SELECT u.a, a(1), 'a' FROM t JOIN u ON true"
        );
        // An alias of the table qualifies its columns.
        assert_eq!(column("SELECT x.a FROM t AS x", "t", "a", "z"), "SELECT x.z FROM t AS x");
        assert_eq!(column("SELECT x.a FROM t x WHERE x.a > 1", "t", "a", "z"), "SELECT x.z FROM t x WHERE x.z > 1");
        // Comments and spacing survive.
        assert_eq!(column("a /* the key */ >\n  0", "t", "a", "b"), "b /* the key */ >\n  0");
        assert_eq!(rename("b > 0", Renaming::Column { table: "t", from: "a", to: "z" }).unwrap(), None);
    }

    #[test]
    fn a_table_rename_touches_relations_and_qualifiers() {
        let r = |sql: &str| rename(sql, Renaming::Table { from: "t", to: "new t" }).unwrap();
        assert_eq!(
            r("SELECT t.a FROM t WHERE u.t = 1").as_deref(),
            Some("SELECT \"new t\".a FROM \"new t\" WHERE u.t = 1")
        );
        assert_eq!(r("SELECT a FROM public.t").as_deref(), Some("SELECT a FROM public.\"new t\""));
        assert_eq!(r("SELECT x FROM u"), None);
    }

    #[test]
    fn type_names_fields_and_aliases_are_not_columns() {
        let sql = "d::date > date '2020-01-01' AND CAST(x AS date) IS NOT NULL AND extract(year FROM d) > 1 AND i < interval '1' year";
        assert_eq!(rename(sql, Renaming::Column { table: "t", from: "date", to: "z" }).unwrap(), None);
        assert_eq!(rename(sql, Renaming::Column { table: "t", from: "year", to: "z" }).unwrap(), None);
        assert!(!mentions(sql, "date", false).unwrap());
        assert!(!mentions("SELECT a AS b FROM t", "b", false).unwrap());
    }

    #[test]
    fn a_column_named_like_its_table_is_no_table() {
        // `status IN (...)` reads the column; renaming the table leaves it be.
        let r =
            rename("status IN ('a', 'b') AND status.status <> ''", Renaming::Table { from: "status", to: "states" });
        assert_eq!(r.unwrap().as_deref(), Some("status IN ('a', 'b') AND states.status <> ''"));
        assert!(!mentions_relation("status = 'x'", "status").unwrap());
        assert!(mentions_relation("SELECT 1 FROM a, status WHERE true", "status").unwrap());
    }

    #[test]
    fn bare_names_among_several_relations_are_refused() {
        let sql = "org IN (SELECT org FROM memberships WHERE member = current_user)";
        assert!(rename(sql, Renaming::Column { table: "t", from: "org", to: "org_id" }).is_err());
        // Qualified, they are rewritten.
        let sql = "SELECT t.org FROM t JOIN m ON m.org = t.org";
        assert_eq!(
            rename(sql, Renaming::Column { table: "t", from: "org", to: "o" }).unwrap().as_deref(),
            Some("SELECT t.o FROM t JOIN m ON m.org = t.o")
        );
    }

    #[test]
    fn reads_relation_counts_from_lists_only() {
        let public = |q: Option<&str>| q.is_none_or(|q| q == "public");
        assert!(reads_relation("SELECT a FROM t", "t", public).unwrap());
        assert!(reads_relation("SELECT x.a FROM public.t x JOIN u ON true", "t", public).unwrap());
        assert!(reads_relation("SELECT (SELECT max(a) FROM t) AS m", "t", public).unwrap());
        // An alias or a qualifier of the same name is not the table.
        assert!(!reads_relation("SELECT t.a FROM foo t", "t", public).unwrap());
        // Nor is a CTE of that name.
        assert!(!reads_relation("WITH t AS (SELECT 1 AS a) SELECT a FROM t", "t", public).unwrap());
        assert!(!reads_relation("WITH RECURSIVE t(n) AS (SELECT 1) SELECT n FROM t", "t", public).unwrap());
        assert!(!reads_relation("SELECT lower(t) FROM u", "t", public).unwrap());
    }

    #[test]
    fn mentions_find_columns_and_stars() {
        assert!(mentions("SELECT a FROM t", "a", false).unwrap());
        assert!(!mentions("SELECT a(1) FROM t", "a", false).unwrap());
        assert!(!mentions("SELECT * FROM t", "a", false).unwrap());
        assert!(mentions("SELECT * FROM t", "a", true).unwrap());
        assert!(!mentions("SELECT 'a' FROM t", "a", true).unwrap());
        assert!(!mentions("SELECT count(*), b * c FROM t", "a", true).unwrap());
        assert!(mentions("SELECT u.*, b FROM t, u", "a", true).unwrap());
        assert!(mentions_relation("SELECT b FROM public.t", "t").unwrap());
        assert!(!mentions_relation("SELECT t(b) FROM u", "t").unwrap());
    }
}
