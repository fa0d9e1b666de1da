//! `to_char` of numbers and `to_number`, by PostgreSQL's numeric template patterns (`9`, `0`,
//! `.`, `,`, `D`, `G`, `S`, `MI`, `PL`, `SG`, `PR`, `L`, `V`, `EEEE`, `RN`, `TH`, `FM`).
//!
//! The rendering follows PostgreSQL's `NUM_processor` step by step: the value is first
//! written as plain digits rounded to the template's fractional digits, then the template is
//! walked, each digit position taking the next digit, a blank, a zero or the sign. The
//! surprising parts (a blank for the sign of a positive number, `#` for every position when
//! the integer part does not fit, `FM` trimming trailing fractional zeros but not those a `0`
//! asks for) are PostgreSQL's. The locale is C: `.`, `,`, and a blank for the currency.

use rustydb_foundation::{DbError, Numeric, Result, SqlState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Comma,
    Dec,
    Zero,
    Nine,
    B,
    D,
    Eeee,
    Fm,
    G,
    L,
    Mi,
    Pl,
    Pr,
    Rn {
        lower: bool,
    },
    Sg,
    S,
    Th {
        upper: bool,
    },
    V,
    /// `C` and `SP`: accepted and print nothing, as in PostgreSQL.
    Ignored,
}

const KEYWORDS: &[(&str, Key)] = &[
    (",", Key::Comma),
    ("C", Key::Ignored),
    ("SP", Key::Ignored),
    ("c", Key::Ignored),
    ("sp", Key::Ignored),
    (".", Key::Dec),
    ("0", Key::Zero),
    ("9", Key::Nine),
    ("B", Key::B),
    ("D", Key::D),
    ("EEEE", Key::Eeee),
    ("FM", Key::Fm),
    ("G", Key::G),
    ("L", Key::L),
    ("MI", Key::Mi),
    ("PL", Key::Pl),
    ("PR", Key::Pr),
    ("RN", Key::Rn { lower: false }),
    ("SG", Key::Sg),
    ("S", Key::S),
    ("TH", Key::Th { upper: true }),
    ("V", Key::V),
    ("b", Key::B),
    ("d", Key::D),
    ("eeee", Key::Eeee),
    ("fm", Key::Fm),
    ("g", Key::G),
    ("l", Key::L),
    ("mi", Key::Mi),
    ("pl", Key::Pl),
    ("pr", Key::Pr),
    ("rn", Key::Rn { lower: true }),
    ("sg", Key::Sg),
    ("s", Key::S),
    ("th", Key::Th { upper: false }),
    ("v", Key::V),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Key(Key),
    Char(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocaleSign {
    None,
    Pre,
    Post,
}

/// What the template asks for (PostgreSQL's `NUMDesc`).
#[derive(Debug, Clone)]
struct Desc {
    pre: usize,
    post: usize,
    decimal: bool,
    zero: bool,
    /// Position (0-based, among the integer digits) of the first `0`.
    zero_start: usize,
    /// How many digit positions (integer and fractional) run up to the last `0`.
    zero_end: usize,
    fill: bool,
    lsign: LocaleSign,
    lsign_pre_count: usize,
    bracket: bool,
    minus: bool,
    plus: bool,
    roman: bool,
    multi: usize,
    multiplied: bool,
    eeee: bool,
}

fn bad(message: &str) -> DbError {
    DbError::sql(SqlState::SyntaxError, message.to_string())
}

fn parse_template(template: &str) -> Result<(Vec<Node>, Desc)> {
    let mut nodes = Vec::new();
    let mut d = Desc {
        pre: 0,
        post: 0,
        decimal: false,
        zero: false,
        zero_start: 0,
        zero_end: 0,
        fill: false,
        lsign: LocaleSign::None,
        lsign_pre_count: 0,
        bracket: false,
        minus: false,
        plus: false,
        roman: false,
        multi: 0,
        multiplied: false,
        eeee: false,
    };
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        // Double-quoted text is copied as it is (a backslash escapes the next character).
        if c == '"' {
            let (text, taken) = super::quoted(rest);
            nodes.extend(text.chars().map(Node::Char));
            rest = &rest[taken..];
            continue;
        }
        let found = KEYWORDS.iter().filter(|(s, _)| rest.starts_with(s)).max_by_key(|(s, _)| s.len());
        let Some(&(spelling, key)) = found else {
            nodes.push(Node::Char(c));
            rest = &rest[c.len_utf8()..];
            continue;
        };
        rest = &rest[spelling.len()..];
        if d.eeee && !matches!(key, Key::Nine | Key::Zero | Key::Dec | Key::D) && key != Key::Eeee {
            return Err(bad("\"EEEE\" must be the last pattern used"));
        }
        match key {
            Key::Nine | Key::Zero => {
                if d.bracket {
                    return Err(bad(if key == Key::Nine {
                        "\"9\" must be ahead of \"PR\""
                    } else {
                        "\"0\" must be ahead of \"PR\""
                    }));
                }
                if d.multiplied {
                    d.multi += 1;
                } else {
                    if key == Key::Zero && !d.zero && !d.decimal {
                        d.zero = true;
                        d.zero_start = d.pre + 1;
                    }
                    if d.decimal {
                        d.post += 1;
                    } else {
                        d.pre += 1;
                    }
                    if key == Key::Zero {
                        d.zero_end = d.pre + d.post;
                    }
                }
            }
            Key::B => {}
            Key::D | Key::Dec => {
                if d.decimal {
                    return Err(bad("multiple decimal points"));
                }
                if d.multiplied {
                    return Err(bad("cannot use \"V\" and decimal point together"));
                }
                d.decimal = true;
            }
            Key::Fm => d.fill = true,
            Key::S => {
                if d.lsign != LocaleSign::None {
                    return Err(bad("cannot use \"S\" twice"));
                }
                if d.plus || d.minus || d.bracket {
                    return Err(bad("cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together"));
                }
                if d.decimal {
                    d.lsign = LocaleSign::Post;
                } else {
                    d.lsign = LocaleSign::Pre;
                    d.lsign_pre_count = d.pre;
                }
            }
            Key::Mi | Key::Pl | Key::Sg => {
                if d.lsign != LocaleSign::None {
                    return Err(bad(match key {
                        Key::Mi => "cannot use \"S\" and \"MI\" together",
                        Key::Pl => "cannot use \"S\" and \"PL\" together",
                        _ => "cannot use \"S\" and \"SG\" together",
                    }));
                }
                if matches!(key, Key::Mi | Key::Sg) {
                    d.minus = true;
                }
                if matches!(key, Key::Pl | Key::Sg) {
                    d.plus = true;
                }
            }
            Key::Pr => {
                if d.lsign != LocaleSign::None || d.plus || d.minus {
                    return Err(bad("cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together"));
                }
                d.bracket = true;
            }
            Key::Rn { .. } => d.roman = true,
            Key::V => {
                if d.decimal {
                    return Err(bad("cannot use \"V\" and decimal point together"));
                }
                d.multiplied = true;
            }
            Key::Eeee => {
                if d.eeee {
                    return Err(bad("cannot use \"EEEE\" twice"));
                }
                if d.fill || d.lsign != LocaleSign::None || d.bracket || d.minus || d.plus || d.roman || d.multiplied {
                    return Err(bad("\"EEEE\" is incompatible with other formats")
                        .with_detail("\"EEEE\" may only be used together with digit and decimal point patterns."));
                }
                d.eeee = true;
            }
            Key::Comma | Key::G | Key::L | Key::Th { .. } | Key::Ignored => {}
        }
        nodes.push(Node::Key(key));
    }
    Ok((nodes, d))
}

/// A number to format: its sign and absolute value in digits (`"123.45"`), or a non-finite
/// value.
#[derive(Debug)]
pub enum Num {
    /// A finite value, formatted by [`Numeric`] rules.
    Exact(Numeric),
    /// A double precision value.
    Float(f64),
    /// A real (single precision) value.
    Real(f32),
}

/// `to_char(number, template)`.
pub fn number_to_char(value: Num, template: &str) -> Result<String> {
    let (nodes, mut d) = parse_template(template)?;
    if d.roman {
        let n = match &value {
            Num::Exact(n) => n.round(0).to_i128_exact().unwrap_or(i128::MAX),
            // Doubles round half to even here (C's rint), numerics half away from zero.
            Num::Float(f) => f.round_ties_even() as i128,
            Num::Real(f) => f64::from(*f).round_ties_even() as i128,
        };
        let roman = to_roman(n);
        let lower = nodes.iter().any(|n| matches!(n, Node::Key(Key::Rn { lower: true })));
        let roman = if lower { roman.to_lowercase() } else { roman };
        return Ok(if d.fill { roman } else { format!("{roman:>15}") });
    }
    if d.eeee {
        return Ok(scientific(&value, d.pre, d.post));
    }
    // The digits, with a '.' and exactly `post` fractional digits.
    let (negative, mut digits) = match value {
        Num::Exact(n) => {
            let n = if d.multi > 0 {
                d.pre += d.multi;
                n.mul(&Numeric::parse(&format!("1{}", "0".repeat(d.multi)))?)?
            } else {
                n
            };
            if n.is_nan() {
                (false, "NaN".to_string())
            } else if n.is_special() {
                (n.is_negative(), "#".to_string())
            } else {
                let text = n.round(d.post as i32).to_string();
                let (negative, body) = match text.strip_prefix('-') {
                    Some(b) => (true, b.to_string()),
                    None => (false, text),
                };
                (negative, with_fraction(body, d.post))
            }
        }
        Num::Float(f) => float_digits(f, 15, &mut d),
        Num::Real(f) => float_digits(f64::from(f), 6, &mut d),
    };
    let pre_len = digits.find('.').unwrap_or(digits.len());
    let mut pre_spaces = 0;
    if digits == "#" || pre_len > d.pre {
        digits = "#".repeat(d.pre) + if d.post > 0 || d.decimal { "." } else { "" } + &"#".repeat(d.post);
        if !d.decimal {
            digits.truncate(d.pre);
        }
    } else if pre_len < d.pre {
        pre_spaces = d.pre - pre_len;
    }
    Ok(Processor::new(&d, digits, negative, pre_spaces).run(&nodes))
}

fn with_fraction(mut body: String, post: usize) -> String {
    let have = body.find('.').map_or(0, |dot| body.len() - dot - 1);
    if post > 0 {
        if have == 0 {
            body.push('.');
        }
        body.extend(std::iter::repeat_n('0', post.saturating_sub(have)));
    }
    body
}

/// A double's digits as PostgreSQL's `float8_to_char` writes them: at most `precision`
/// significant digits in all.
fn float_digits(value: f64, precision: usize, d: &mut Desc) -> (bool, String) {
    let mut v = value;
    if d.multi > 0 {
        v *= 10f64.powi(d.multi as i32);
        d.pre += d.multi;
    }
    if v.is_nan() {
        return (false, "NaN".into());
    }
    if v.is_infinite() {
        return (v < 0.0, "#".into());
    }
    let whole = format!("{:.0}", v.abs());
    let post = if whole.len() >= precision { 0 } else { d.post.min(precision - whole.len()) };
    d.post = post;
    let text = format!("{v:.post$}");
    match text.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, text),
    }
}

fn to_roman(n: i128) -> String {
    if !(1..=3999).contains(&n) {
        return "#".repeat(15);
    }
    const PARTS: [(i128, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    let mut n = n;
    for (v, s) in PARTS {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    out
}

/// `d.ddde+XX` with `post` fractional digits, a blank where a positive number's sign goes.
fn scientific(value: &Num, pre: usize, post: usize) -> String {
    let f = match value {
        Num::Exact(n) if n.is_special() => f64::NAN,
        Num::Exact(n) => {
            if n.is_zero() {
                0.0
            } else {
                return exact_scientific(n, post);
            }
        }
        Num::Float(f) => *f,
        Num::Real(f) => f64::from(*f),
    };
    if !f.is_finite() {
        let mut s = " ".to_string() + &"#".repeat(pre);
        s.push('.');
        s.push_str(&"#".repeat(post));
        s.push_str("e+##");
        return s;
    }
    let text = format!("{f:.post$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    let body = format!("{mantissa}e{sign}{:02}", exponent.abs());
    if body.starts_with('-') { body } else { format!(" {body}") }
}

/// `numeric_out_sci`: the exponent from the decimal digits and the significand, read from
/// the digits themselves, rounded to `post` digits once (9.999 with two digits is
/// `10.00e+00`, as PostgreSQL prints it).
fn exact_scientific(n: &Numeric, post: usize) -> String {
    let text = n.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return format!(" {}e+00", with_fraction("0".into(), post));
    };
    let exponent = int.len() as i64 - 1 - first as i64;
    let mut significand = String::with_capacity(digits.len() + 1);
    significand.push(digits[first] as char);
    // Rounding half away from zero looks at one digit past those kept.
    let end = digits.len().min(first + 2 + post);
    if first + 1 < end {
        significand.push('.');
        significand.extend(digits[first + 1..end].iter().map(|&d| d as char));
    }
    let rounded = Numeric::parse(&significand).map(|m| m.round(post as i32).to_string()).unwrap_or(significand);
    let sign = if exponent < 0 { '-' } else { '+' };
    let body = format!("{}e{sign}{:02}", with_fraction(rounded, post), exponent.abs());
    if n.is_negative() { format!("-{body}") } else { format!(" {body}") }
}

/// The template walk (PostgreSQL's `NUM_processor` for `to_char`).
struct Processor {
    d: Desc,
    number: Vec<u8>,
    /// Index of the next digit of `number` to write.
    at: usize,
    negative: bool,
    sign_wrote: bool,
    pre_spaces: usize,
    /// Index in `number` of the last fractional digit worth writing under `FM`.
    last_relevant: Option<usize>,
    num_count: usize,
    num_curr: usize,
    num_in: bool,
    out: String,
}

impl Processor {
    fn new(d: &Desc, digits: String, negative: bool, pre_spaces: usize) -> Processor {
        let mut d = d.clone();
        let number = digits.into_bytes();
        let sign_wrote;
        if d.plus || d.minus {
            sign_wrote = !d.plus || d.minus;
        } else {
            if !negative && d.fill {
                d.bracket = false;
            }
            sign_wrote = !negative && d.fill && d.lsign == LocaleSign::None;
            if d.lsign == LocaleSign::Pre && d.pre == d.lsign_pre_count {
                d.lsign = LocaleSign::Post;
            }
        }
        let mut num_count = (d.post + d.pre).wrapping_sub(1);
        let mut last_relevant = None;
        if d.fill && d.decimal {
            last_relevant = last_relevant_digit(&number);
            if let Some(last) = last_relevant
                && d.zero_end > pre_spaces
            {
                let last_zero = (number.len() - 1).min(d.zero_end - pre_spaces);
                if last < last_zero {
                    last_relevant = Some(last_zero);
                }
            }
        }
        if !sign_wrote && pre_spaces == 0 {
            num_count = num_count.wrapping_add(1);
        }
        if d.zero_start > 0 {
            d.zero_start -= 1;
        }
        Processor {
            d,
            number,
            at: 0,
            negative,
            sign_wrote,
            pre_spaces,
            last_relevant,
            num_count,
            num_curr: 0,
            num_in: false,
            out: String::new(),
        }
    }

    fn digit(&self) -> u8 {
        self.number.get(self.at).copied().unwrap_or(0)
    }

    /// "0.1" under "9.9" prints " .1": the lone leading zero of a fraction is a blank.
    fn predec_space(&self) -> bool {
        !self.d.zero && self.at == 0 && self.number.first() == Some(&b'0') && self.d.post != 0
    }

    fn last_relevant_is_dot(&self) -> bool {
        self.last_relevant.is_some_and(|i| self.number.get(i) == Some(&b'.'))
    }

    fn run(mut self, nodes: &[Node]) -> String {
        for node in nodes {
            let key = match node {
                Node::Char(c) => {
                    self.out.push(*c);
                    continue;
                }
                Node::Key(k) => *k,
            };
            match key {
                Key::Nine | Key::Zero | Key::Dec | Key::D => self.numpart(key),
                Key::Comma | Key::G => {
                    if self.num_in {
                        self.out.push(',');
                    } else if !self.d.fill {
                        self.out.push(' ');
                    }
                }
                Key::L => self.out.push(' '),
                Key::Th { upper } => {
                    if self.number.first() == Some(&b'#') || self.negative || self.d.decimal {
                        continue;
                    }
                    let digits = String::from_utf8_lossy(&self.number).into_owned();
                    let suffix = super::datetime::ordinal(&digits, upper);
                    self.out.push_str(suffix);
                }
                Key::Mi => {
                    if self.negative {
                        self.out.push('-');
                    } else if !self.d.fill {
                        self.out.push(' ');
                    }
                }
                Key::Pl => {
                    if !self.negative {
                        self.out.push('+');
                    } else if !self.d.fill {
                        self.out.push(' ');
                    }
                }
                Key::Sg => self.out.push(if self.negative { '-' } else { '+' }),
                Key::B | Key::Eeee | Key::Fm | Key::Pr | Key::Rn { .. } | Key::S | Key::V | Key::Ignored => {}
            }
        }
        self.out
    }

    fn write_sign_before(&mut self) {
        if self.d.lsign != LocaleSign::None {
            if self.d.lsign == LocaleSign::Pre {
                self.out.push(if self.negative { '-' } else { '+' });
                self.sign_wrote = true;
            }
        } else if self.d.bracket {
            self.out.push(if self.negative { '<' } else { ' ' });
            self.sign_wrote = true;
        } else if !self.negative {
            if !self.d.fill {
                self.out.push(' ');
            }
            self.sign_wrote = true;
        } else {
            self.out.push('-');
            self.sign_wrote = true;
        }
    }

    fn numpart(&mut self, key: Key) {
        self.num_in = false;
        if !self.sign_wrote
            && (self.num_curr >= self.pre_spaces || (self.d.zero && self.d.zero_start == self.num_curr))
            && (!self.predec_space() || self.last_relevant_is_dot())
        {
            self.write_sign_before();
        }
        if self.num_curr < self.pre_spaces && (self.d.zero_start > self.num_curr || !self.d.zero) {
            if !self.d.fill {
                self.out.push(' ');
            }
        } else if self.d.zero && self.num_curr < self.pre_spaces && self.d.zero_start <= self.num_curr {
            self.out.push('0');
            self.num_in = true;
        } else {
            if self.digit() == b'.' {
                if !self.last_relevant_is_dot() || self.d.fill {
                    self.out.push('.');
                }
            } else if self.last_relevant.is_some_and(|last| self.at > last) && key != Key::Zero {
                // A trailing fractional zero under FM: dropped.
            } else if self.predec_space() {
                if !self.d.fill {
                    self.out.push(' ');
                } else if self.last_relevant_is_dot() {
                    self.out.push('0');
                }
            } else if self.digit() != 0 {
                self.out.push(self.digit() as char);
                self.num_in = true;
            }
            if self.at < self.number.len() {
                self.at += 1;
            }
        }
        let mut end =
            self.num_count.wrapping_add(usize::from(self.pre_spaces > 0)).wrapping_add(usize::from(self.d.decimal));
        if self.last_relevant.is_some_and(|last| last == self.at) {
            end = self.num_curr;
        }
        if self.num_curr.wrapping_add(1) == end {
            if self.sign_wrote && self.d.bracket {
                self.out.push(if self.negative { '>' } else { ' ' });
            } else if self.d.lsign == LocaleSign::Post {
                self.out.push(if self.negative { '-' } else { '+' });
            }
        }
        self.num_curr += 1;
    }
}

/// The index of the last non-zero fractional digit, or of the point if there is none.
fn last_relevant_digit(number: &[u8]) -> Option<usize> {
    let dot = number.iter().position(|&c| c == b'.')?;
    let mut result = dot;
    for (i, &c) in number.iter().enumerate().skip(dot + 1) {
        if c != b'0' {
            result = i;
        }
    }
    Some(result)
}

/// `to_number(text, template)`: the digits, point and sign the template's positions read.
pub fn to_number(input: &str, template: &str) -> Result<Numeric> {
    let (nodes, d) = parse_template(template)?;
    if d.eeee {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "\"EEEE\" not supported for input"));
    }
    if d.roman {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "\"RN\" not supported for input"));
    }
    let chars: Vec<char> = input.chars().collect();
    let mut at = 0;
    let mut int_digits = String::new();
    let mut frac_digits = String::new();
    let mut in_fraction = false;
    let mut negative = false;
    let mut pre_read = 0;
    for node in &nodes {
        if at >= chars.len() {
            break;
        }
        match node {
            Node::Char(_) => at += 1,
            Node::Key(key) => match key {
                Key::Nine | Key::Zero => {
                    // A sign may come first where no pattern places it.
                    if !in_fraction && pre_read == 0 && !(d.minus || d.plus || d.lsign != LocaleSign::None) {
                        match chars[at] {
                            '-' => {
                                negative = true;
                                at += 1;
                            }
                            '+' => at += 1,
                            '<' if d.bracket => {
                                negative = true;
                                at += 1;
                            }
                            _ => {}
                        }
                    }
                    if at < chars.len() && chars[at] == ' ' && pre_read == 0 && !in_fraction {
                        at += 1;
                        continue;
                    }
                    if at < chars.len() && chars[at].is_ascii_digit() {
                        if in_fraction {
                            frac_digits.push(chars[at]);
                        } else {
                            int_digits.push(chars[at]);
                            pre_read += 1;
                        }
                        at += 1;
                    } else if at < chars.len() && chars[at] == ' ' {
                        at += 1;
                    }
                }
                Key::Dec | Key::D if chars[at] == '.' => {
                    in_fraction = true;
                    at += 1;
                }
                // A group separator's place takes whatever separates the groups.
                Key::Comma | Key::G if !chars[at].is_ascii_digit() && chars[at] != '.' => at += 1,
                Key::L if !chars[at].is_ascii_digit() => at += 1,
                Key::S | Key::Mi | Key::Sg | Key::Pl => match chars[at] {
                    '-' => {
                        negative = true;
                        at += 1;
                    }
                    '+' => at += 1,
                    _ => {}
                },
                Key::Pr if chars[at] == '>' => at += 1,
                _ => {}
            },
        }
    }
    if chars.first() == Some(&'<') && d.bracket {
        negative = true;
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(DbError::sql(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type numeric: \"{}\"", " "),
        ));
    }
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    text.push_str(if int_digits.is_empty() { "0" } else { &int_digits });
    if in_fraction {
        text.push('.');
        text.push_str(&frac_digits);
    }
    let mut n = Numeric::parse(&text)?;
    if d.multi > 0 {
        // PostgreSQL multiplies by power(10, -multi), a numeric of scale 16 (or more).
        let scale = d.multi.max(16);
        let factor = format!("0.{}1{}", "0".repeat(d.multi - 1), "0".repeat(scale - d.multi));
        n = n.mul(&Numeric::parse(&factor)?)?;
    }
    Ok(n)
}
