//! Splitting input into statements as psql does: a statement ends at a `;` that is outside
//! quotes ('...', "...", $tag$...$tag$), comments (`--`, nested `/* */`) and parentheses; a
//! line starting with `\` (outside a statement in progress) is a meta-command.

/// What the splitter has found so far.
#[derive(Debug, Default)]
pub struct Splitter {
    buffer: String,
    state: Scan,
    /// Open parentheses: a `;` inside them does not end the statement.
    depth: i32,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Scan {
    #[default]
    Normal,
    Single,
    Double,
    Dollar(String),
    Block(u32),
}

impl Splitter {
    /// True when a statement has begun but not ended (the prompt shows `-#` then).
    pub fn in_statement(&self) -> bool {
        !self.buffer.trim().is_empty()
    }

    /// Adds a line of input; returns the statements it completed (each with its `;`).
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        let mut done = Vec::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match &self.state {
                Scan::Normal => match c {
                    '\'' => self.state = Scan::Single,
                    '"' => self.state = Scan::Double,
                    '-' if chars.get(i + 1) == Some(&'-') => {
                        // The rest of the line is a comment: kept (the server ignores it).
                        self.buffer.extend(&chars[i..]);
                        i = chars.len();
                        continue;
                    }
                    '/' if chars.get(i + 1) == Some(&'*') => {
                        self.buffer.push_str("/*");
                        self.state = Scan::Block(1);
                        i += 2;
                        continue;
                    }
                    '$' => {
                        if let Some(tag) = dollar_tag(&chars[i..]) {
                            self.buffer.push_str(&tag);
                            i += tag.chars().count();
                            self.state = Scan::Dollar(tag);
                            continue;
                        }
                    }
                    '(' => self.depth += 1,
                    ')' => self.depth -= 1,
                    ';' if self.depth <= 0 => {
                        self.depth = 0;
                        self.buffer.push(';');
                        let statement = std::mem::take(&mut self.buffer);
                        if !statement.trim().trim_end_matches(';').trim().is_empty() {
                            done.push(statement.trim().to_string());
                        }
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
                Scan::Single => {
                    if c == '\'' {
                        self.state = Scan::Normal;
                    }
                }
                Scan::Double => {
                    if c == '"' {
                        self.state = Scan::Normal;
                    }
                }
                Scan::Dollar(tag) => {
                    let tag_chars: Vec<char> = tag.chars().collect();
                    if chars[i..].starts_with(&tag_chars) {
                        self.buffer.push_str(tag);
                        i += tag_chars.len();
                        self.state = Scan::Normal;
                        continue;
                    }
                }
                Scan::Block(n) => {
                    let n = *n;
                    if c == '*' && chars.get(i + 1) == Some(&'/') {
                        self.buffer.push_str("*/");
                        self.state = if n == 1 { Scan::Normal } else { Scan::Block(n - 1) };
                        i += 2;
                        continue;
                    }
                    if c == '/' && chars.get(i + 1) == Some(&'*') {
                        self.buffer.push_str("/*");
                        self.state = Scan::Block(n + 1);
                        i += 2;
                        continue;
                    }
                }
            }
            self.buffer.push(c);
            i += 1;
        }
        self.buffer.push('\n');
        done
    }

    /// What is left at the end of input (a statement without its `;`), if anything.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buffer);
        self.state = Scan::Normal;
        self.depth = 0;
        let rest = rest.trim();
        (!rest.is_empty() && !rest.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--")))
            .then(|| rest.to_string())
    }

    /// Forgets the statement in progress (`\r`).
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.state = Scan::Normal;
        self.depth = 0;
    }
}

/// `$tag$` at the start of `chars`, if it is one (`$1` is a parameter, not a tag).
fn dollar_tag(chars: &[char]) -> Option<String> {
    let end = chars.iter().skip(1).position(|&c| c == '$')? + 1;
    let tag: String = chars[1..end].iter().collect();
    let valid = tag.chars().all(|c| c.is_alphanumeric() || c == '_') && !tag.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| chars[..=end].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<String> {
        let mut s = Splitter::default();
        let mut out: Vec<String> = text.lines().flat_map(|l| s.push_line(l)).collect();
        out.extend(s.finish());
        out
    }

    #[test]
    fn statements_end_at_semicolons_outside_quotes_and_comments() {
        assert_eq!(split("SELECT 1; SELECT 2;"), ["SELECT 1;", "SELECT 2;"]);
        assert_eq!(split("SELECT ';';\nSELECT \"a;b\" FROM t;"), ["SELECT ';';", "SELECT \"a;b\" FROM t;"]);
        assert_eq!(split("SELECT 1 -- a; comment\n;"), ["SELECT 1 -- a; comment\n;"]);
        assert_eq!(split("SELECT /* ; /* nested ; */ */ 1;"), ["SELECT /* ; /* nested ; */ */ 1;"]);
        assert_eq!(split("SELECT $$a;b$$, $x$;$x$, $1;"), ["SELECT $$a;b$$, $x$;$x$, $1;"]);
        assert_eq!(split("SELECT\n  1\n;"), ["SELECT\n  1\n;"]);
        assert_eq!(split("SELECT 1"), ["SELECT 1"]);
        assert_eq!(split(";;\n-- only a comment"), Vec::<String>::new());
        assert_eq!(split("SELECT 'multi\nline;';"), ["SELECT 'multi\nline;';"]);
    }
}
