//! `numeric`: exact decimal numbers, computed as PostgreSQL computes them.
//!
//! A value is a sign, a coefficient and a *scale* (PostgreSQL's display scale, `dscale`): the
//! number is `coefficient × 10^-scale`, and the scale is how many digits print after the point,
//! so `1.50` keeps its trailing zero while comparing equal to `1.5`. The special values NaN,
//! Infinity and -Infinity (PostgreSQL 14+) sort above and below every finite value, NaN last.
//!
//! The rules that decide result scales are PostgreSQL's, because clients see them in every
//! printed result: sums keep the larger scale, products the sum of the scales, quotients and
//! square roots at least 16 significant digits ([`arith`]). Limits are PostgreSQL's too:
//! 131072 digits before the point and 16383 after; beyond them is 22003 "value overflows
//! numeric format".
//!
//! Why by hand: the coefficient arithmetic is small ([`magnitude`]), and every rounding and
//! scale decision must match PostgreSQL's digit for digit; the decimal crates round and scale
//! by their own rules and cap precision far below numeric's.

pub mod arith;
pub mod binary;
pub mod magnitude;

use crate::{DbError, Result, SqlState};
use magnitude::Mag;
use std::cmp::Ordering;
use std::fmt;

/// The most digits before the decimal point (PostgreSQL's NUMERIC_WEIGHT_MAX, in digits).
pub const MAX_INTEGER_DIGITS: usize = 131_072;
/// The most digits after the decimal point (NUMERIC_DSCALE_MAX).
pub const MAX_SCALE: u16 = 16_383;
/// The largest precision a `numeric(p, s)` column may declare (NUMERIC_MAX_PRECISION).
pub const MAX_PRECISION: u16 = 1000;

/// Which kind of value a numeric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Zero or above.
    Positive,
    /// Below zero.
    Negative,
    /// Not a number (equal to itself, above everything else).
    NaN,
    /// `Infinity`.
    Infinity,
    /// `-Infinity`.
    NegInfinity,
}

/// An exact decimal number (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numeric {
    /// Boxed rather than a `Vec` so that a [`crate::Value`] stays four words.
    coef: Box<[u32]>,
    scale: u16,
    class: Class,
}

/// 22003 "value overflows numeric format".
pub fn overflow() -> DbError {
    DbError::sql(SqlState::NumericValueOutOfRange, "value overflows numeric format")
}

fn invalid(text: &str) -> DbError {
    DbError::sql(SqlState::InvalidTextRepresentation, format!("invalid input syntax for type numeric: \"{text}\""))
}

impl Numeric {
    /// A finite value from its parts; zero is never negative.
    pub(crate) fn finite(negative: bool, coef: Mag, scale: u16) -> Numeric {
        let class = if negative && !coef.is_empty() { Class::Negative } else { Class::Positive };
        Numeric { coef: coef.into_boxed_slice(), scale, class }
    }

    /// A finite value with its limits checked (22003 past them).
    pub(crate) fn checked(negative: bool, coef: Mag, scale: u16) -> Result<Numeric> {
        if scale > MAX_SCALE || magnitude::digit_count(&coef).saturating_sub(usize::from(scale)) > MAX_INTEGER_DIGITS {
            return Err(overflow());
        }
        Ok(Numeric::finite(negative, coef, scale))
    }

    /// Zero, with no digits after the point.
    pub fn zero() -> Numeric {
        Numeric::finite(false, Vec::new(), 0)
    }

    /// NaN.
    pub fn nan() -> Numeric {
        Numeric { coef: Box::new([]), scale: 0, class: Class::NaN }
    }

    /// `Infinity`, or `-Infinity` if `negative`.
    pub fn infinity(negative: bool) -> Numeric {
        let class = if negative { Class::NegInfinity } else { Class::Infinity };
        Numeric { coef: Box::new([]), scale: 0, class }
    }

    /// The integer `v`.
    pub fn from_i128(v: i128) -> Numeric {
        Numeric::finite(v < 0, magnitude::from_u128(v.unsigned_abs()), 0)
    }

    /// The integer `v`.
    pub fn from_i64(v: i64) -> Numeric {
        Numeric::from_i128(i128::from(v))
    }

    /// What kind of value this is.
    pub fn class(&self) -> Class {
        self.class
    }

    /// True for NaN, Infinity and -Infinity.
    pub fn is_special(&self) -> bool {
        matches!(self.class, Class::NaN | Class::Infinity | Class::NegInfinity)
    }

    /// True for NaN.
    pub fn is_nan(&self) -> bool {
        self.class == Class::NaN
    }

    /// True below zero (including -Infinity).
    pub fn is_negative(&self) -> bool {
        matches!(self.class, Class::Negative | Class::NegInfinity)
    }

    /// True for zero (at any scale).
    pub fn is_zero(&self) -> bool {
        self.class == Class::Positive && self.coef.is_empty()
    }

    /// Digits after the point (the display scale).
    pub fn scale(&self) -> u16 {
        self.scale
    }

    /// The coefficient's limbs (base 10⁹, least significant first); empty for zero and the
    /// special values.
    pub fn limbs(&self) -> &[u32] {
        &self.coef
    }

    /// A value from the parts [`Numeric::class`], [`Numeric::scale`] and [`Numeric::limbs`]
    /// give; `None` if they are not a valid value.
    pub fn from_parts(class: Class, scale: u16, limbs: Vec<u32>) -> Option<Numeric> {
        let valid_limbs = limbs.iter().all(|&l| u64::from(l) < magnitude::BASE) && limbs.last() != Some(&0);
        match class {
            Class::Positive | Class::Negative if valid_limbs => {
                Some(Numeric::finite(class == Class::Negative, limbs, scale))
            }
            Class::NaN | Class::Infinity | Class::NegInfinity if limbs.is_empty() => {
                Some(Numeric { coef: Box::new([]), scale: 0, class })
            }
            _ => None,
        }
    }

    /// PostgreSQL's `numeric_in`: `-12.50`, `1.5e3`, `.5`, `NaN`, `Infinity`, `-inf`, with
    /// white space around. Malformed text is 22P02; a value past numeric's limits is 22003.
    pub fn parse(text: &str) -> Result<Numeric> {
        let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
        match t.to_ascii_lowercase().as_str() {
            "nan" => return Ok(Numeric::nan()),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Numeric::infinity(false)),
            "-infinity" | "-inf" => return Ok(Numeric::infinity(true)),
            _ => {}
        }
        let bytes = t.as_bytes();
        let (negative, mut i) = match bytes.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let mut digits = Vec::with_capacity(bytes.len());
        let mut fraction_digits = 0i64;
        let mut seen_point = false;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'0'..=b'9' => {
                    digits.push(b);
                    if seen_point {
                        fraction_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if digits.is_empty() {
            return Err(invalid(text));
        }
        let mut exponent = 0i64;
        if let Some(b'e' | b'E') = bytes.get(i) {
            let rest = &t[i + 1..];
            let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(text));
            }
            exponent = match rest.parse::<i64>() {
                Ok(e) if e.abs() <= i64::from(MAX_PRECISION) => e,
                _ => return Err(invalid(text)),
            };
            i = bytes.len();
        }
        if i != bytes.len() {
            return Err(invalid(text));
        }
        let shift = exponent - fraction_digits;
        let coef = magnitude::from_decimal(&digits);
        if shift >= 0 {
            Numeric::checked(negative, magnitude::shift_up(&coef, shift as usize), 0)
        } else {
            let scale = u16::try_from(-shift).map_err(|_| overflow())?;
            Numeric::checked(negative, coef, scale)
        }
    }

    /// The decimal exponent of the leading digit and the significant digits without trailing
    /// zeros (`123.4500` is `(2, "12345")`); `None` for zero and the special values.
    pub fn significant_digits(&self) -> Option<(i64, String)> {
        if self.is_special() || self.coef.is_empty() {
            return None;
        }
        let digits = magnitude::to_decimal(&self.coef);
        let exponent = digits.len() as i64 - 1 - i64::from(self.scale);
        Some((exponent, digits.trim_end_matches('0').to_string()))
    }

    /// The same value with no trailing zeros after the point (`1.500` is `1.5`).
    pub fn normalized(&self) -> Numeric {
        if self.is_special() || self.scale == 0 {
            return self.clone();
        }
        let mut coef = self.coef.to_vec();
        let mut scale = self.scale;
        while scale > 0 {
            let (q, r) = magnitude::divmod_small(&coef, 10);
            if r != 0 {
                break;
            }
            coef = q;
            scale -= 1;
        }
        Numeric { coef: coef.into_boxed_slice(), scale, class: self.class }
    }

    /// The value as an integer, if it is one and fits (no rounding).
    pub fn to_i128_exact(&self) -> Option<i128> {
        if self.is_special() {
            return None;
        }
        let (q, first, rest) = magnitude::shift_down(&self.coef, usize::from(self.scale));
        if first != 0 || rest {
            return None;
        }
        let m = i128::try_from(magnitude::to_u128(&q)?).ok()?;
        Some(if self.class == Class::Negative { -m } else { m })
    }

    /// The value rounded half away from zero to an integer (`numeric` → `integer` casts);
    /// `None` for the special values and values past i128.
    pub fn to_i128_rounded(&self) -> Option<i128> {
        if self.is_special() {
            return None;
        }
        self.round(0).to_i128_exact()
    }

    /// The nearest f64 (±inf past its range), as `numeric` → `double precision` casts compute it.
    pub fn to_f64(&self) -> f64 {
        match self.class {
            Class::NaN => f64::NAN,
            Class::Infinity => f64::INFINITY,
            Class::NegInfinity => f64::NEG_INFINITY,
            _ => self.to_string().parse().unwrap_or(f64::NAN),
        }
    }

    /// The numeric a float becomes, as PostgreSQL's `float8_numeric` makes it: rounded to
    /// `significant` digits (15 for double precision, 6 for real), trailing zeros dropped.
    pub fn from_f64(v: f64, significant: usize) -> Numeric {
        if v.is_nan() {
            return Numeric::nan();
        }
        if v.is_infinite() {
            return Numeric::infinity(v < 0.0);
        }
        let text = format!("{:.*e}", significant.saturating_sub(1), v);
        Numeric::parse(&text).map(|n| n.normalized()).unwrap_or_else(|_| Numeric::nan())
    }

    /// The value fitted to `numeric(precision, scale)`: rounded to `scale` digits, then 22003
    /// "numeric field overflow" if more than `precision - scale` digits remain before the
    /// point, as PostgreSQL's `apply_typmod` words it.
    pub fn fit(&self, precision: u16, scale: i16) -> Result<Numeric> {
        let max_digits = i64::from(precision) - i64::from(scale);
        let field_overflow = |detail: String| {
            DbError::sql(SqlState::NumericValueOutOfRange, "numeric field overflow").with_detail(detail)
        };
        match self.class {
            Class::NaN => return Ok(self.clone()),
            Class::Infinity | Class::NegInfinity => {
                return Err(field_overflow(format!(
                    "A field with precision {precision}, scale {scale} cannot hold an infinite value."
                )));
            }
            _ => {}
        }
        let rounded = self.round(i32::from(scale));
        let integer_digits = magnitude::digit_count(&rounded.coef) as i64 - i64::from(rounded.scale);
        if !rounded.coef.is_empty() && integer_digits > max_digits {
            let bound = if max_digits == 0 { "1".to_string() } else { format!("10^{max_digits}") };
            return Err(field_overflow(format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than {bound}."
            )));
        }
        Ok(rounded)
    }

    /// SQL order: -Infinity, the finite values, Infinity, NaN; NaN equals NaN.
    pub fn total_cmp(&self, other: &Numeric) -> Ordering {
        fn rank(c: Class) -> u8 {
            match c {
                Class::NegInfinity => 0,
                Class::Negative => 1,
                Class::Positive => 2,
                Class::Infinity => 3,
                Class::NaN => 4,
            }
        }
        let by_class = rank(self.class).cmp(&rank(other.class));
        if by_class != Ordering::Equal || self.is_special() {
            return by_class;
        }
        let by_magnitude = if self.scale == other.scale {
            magnitude::cmp(&self.coef, &other.coef)
        } else if self.scale > other.scale {
            magnitude::cmp(&self.coef, &magnitude::shift_up(&other.coef, usize::from(self.scale - other.scale)))
        } else {
            magnitude::cmp(&magnitude::shift_up(&self.coef, usize::from(other.scale - self.scale)), &other.coef)
        };
        if self.class == Class::Negative { by_magnitude.reverse() } else { by_magnitude }
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class {
            Class::NaN => return f.write_str("NaN"),
            Class::Infinity => return f.write_str("Infinity"),
            Class::NegInfinity => return f.write_str("-Infinity"),
            Class::Negative => f.write_str("-")?,
            Class::Positive => {}
        }
        let digits = magnitude::to_decimal(&self.coef);
        let scale = usize::from(self.scale);
        if scale == 0 {
            return f.write_str(&digits);
        }
        let padded =
            if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn text_input_and_output_follow_numeric_in_and_out() {
        for (input, shown) in [
            ("0", "0"),
            ("-0.00", "0.00"),
            ("  12.50 ", "12.50"),
            ("+.5", "0.5"),
            ("5.", "5"),
            ("1.5e3", "1500"),
            ("1.5E-3", "0.0015"),
            ("-123456789012345678901234567890.123456789", "-123456789012345678901234567890.123456789"),
            ("0001.000", "1.000"),
            ("nan", "NaN"),
            ("-Infinity", "-Infinity"),
            ("inf", "Infinity"),
        ] {
            assert_eq!(n(input).to_string(), shown, "{input}");
        }
        for bad in ["", "abc", "1.2.3", "1e", "1e+", ".", "-", "1 2", "1e1001", "0x10"] {
            assert_eq!(Numeric::parse(bad).unwrap_err().sqlstate().code(), "22P02", "{bad:?}");
        }
        assert_eq!(Numeric::parse(&format!("1e1000{}", "")).unwrap().to_string().len(), 1001);
    }

    #[test]
    fn ordering_ignores_scale_and_puts_specials_at_the_ends() {
        assert_eq!(n("1.5").total_cmp(&n("1.50")), Ordering::Equal);
        assert_ne!(n("1.5"), n("1.50"));
        assert_eq!(n("-2").total_cmp(&n("-1.999")), Ordering::Less);
        assert_eq!(n("0.001").total_cmp(&n("0")), Ordering::Greater);
        let mut v = [n("NaN"), n("1"), n("Infinity"), n("-Infinity"), n("-5.5"), n("0")];
        v.sort_by(|a, b| a.total_cmp(b));
        let shown: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(shown, ["-Infinity", "-5.5", "0", "1", "Infinity", "NaN"]);
    }

    #[test]
    fn conversions_round_like_postgres() {
        assert_eq!(n("2.5").to_i128_rounded(), Some(3));
        assert_eq!(n("-2.5").to_i128_rounded(), Some(-3));
        assert_eq!(n("2.49").to_i128_rounded(), Some(2));
        assert_eq!(n("7.000").to_i128_exact(), Some(7));
        assert_eq!(n("7.01").to_i128_exact(), None);
        assert_eq!(Numeric::from_f64(0.1 + 0.2, 15).to_string(), "0.3");
        assert_eq!(Numeric::from_f64(1e20, 15).to_string(), "100000000000000000000");
        assert_eq!(Numeric::from_f64(-1.25e-7, 15).to_string(), "-0.000000125");
        assert_eq!(n("0.1").to_f64(), 0.1);
        assert_eq!(n("1.500").normalized().to_string(), "1.5");
    }

    #[test]
    fn typmods_round_then_check_the_integer_digits() {
        assert_eq!(n("123.456").fit(5, 2).unwrap().to_string(), "123.46");
        assert_eq!(n("1").fit(5, 2).unwrap().to_string(), "1.00");
        let e = n("999.995").fit(5, 2).unwrap_err();
        assert_eq!(e.sqlstate().code(), "22003");
        assert_eq!(e.to_string(), "numeric field overflow");
        assert_eq!(
            e.detail(),
            Some("A field with precision 5, scale 2 must round to an absolute value less than 10^3.")
        );
        assert_eq!(n("0.5").fit(2, 2).unwrap().to_string(), "0.50");
        assert_eq!(
            n("1").fit(2, 2).unwrap_err().detail().map(str::to_string).unwrap(),
            "A field with precision 2, scale 2 must round to an absolute value less than 1."
        );
        assert_eq!(n("1234").fit(3, -1).unwrap().to_string(), "1230");
        assert!(n("Infinity").fit(5, 0).is_err());
        assert!(n("NaN").fit(5, 0).unwrap().is_nan());
    }
}
