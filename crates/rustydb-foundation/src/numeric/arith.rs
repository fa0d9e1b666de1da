//! Arithmetic on [`Numeric`], with PostgreSQL's result scales and special-value rules.
//!
//! | operation | result scale |
//! |---|---|
//! | `a + b`, `a - b`, `a % b` | the larger of the two scales |
//! | `a * b` | the sum of the scales (rounded to 16383 past it) |
//! | `a / b` | [`division_scale`]: enough for 16 significant digits, at least either scale |
//! | `sqrt(a)` | enough for 16 significant digits, at least `a`'s scale |
//!
//! Rounding is half away from zero everywhere, as PostgreSQL's `round_var`.

use super::magnitude::{self, Mag};
use super::{Class, MAX_SCALE, Numeric};
use crate::{DbError, Result, SqlState};
use std::cmp::Ordering;

/// At least this many significant digits in a quotient or root (NUMERIC_MIN_SIG_DIGITS).
const MIN_SIG_DIGITS: i64 = 16;
/// The most digits after the point a quotient or root gets (NUMERIC_MAX_DISPLAY_SCALE).
const MAX_DISPLAY_SCALE: i64 = 1000;

fn nan() -> Numeric {
    Numeric::nan()
}

/// The coefficients of `a` and `b` brought to a common scale, and that scale.
fn aligned(a: &Numeric, b: &Numeric) -> (Mag, Mag, u16) {
    let scale = a.scale.max(b.scale);
    let up = |n: &Numeric| magnitude::shift_up(&n.coef, usize::from(scale - n.scale));
    (up(a), up(b), scale)
}

/// `(magnitude, negative)` of a signed sum of two signed magnitudes.
fn signed_add(a: &[u32], a_neg: bool, b: &[u32], b_neg: bool) -> (Mag, bool) {
    if a_neg == b_neg {
        return (magnitude::add(a, b), a_neg);
    }
    match magnitude::cmp(a, b) {
        Ordering::Less => (magnitude::sub(b, a), b_neg),
        _ => (magnitude::sub(a, b), a_neg),
    }
}

/// `coef / 10^drop`, rounded half away from zero.
fn round_down(coef: &[u32], drop: usize) -> Mag {
    let (q, first, _) = magnitude::shift_down(coef, drop);
    if first >= 5 { magnitude::add(&q, &[1]) } else { q }
}

impl Numeric {
    /// `-self`.
    pub fn neg(&self) -> Numeric {
        match self.class {
            Class::Positive | Class::Negative => {
                Numeric::finite(self.class == Class::Positive, self.coef.to_vec(), self.scale)
            }
            Class::Infinity => Numeric::infinity(true),
            Class::NegInfinity => Numeric::infinity(false),
            Class::NaN => nan(),
        }
    }

    /// `|self|`.
    pub fn abs(&self) -> Numeric {
        if self.is_negative() { self.neg() } else { self.clone() }
    }

    /// -1, 0 or 1 (NaN for NaN), as `sign(numeric)`.
    pub fn signum(&self) -> Numeric {
        match self.class {
            Class::NaN => nan(),
            _ if self.is_zero() => Numeric::zero(),
            _ => Numeric::from_i64(if self.is_negative() { -1 } else { 1 }),
        }
    }

    /// `self + other`.
    pub fn add(&self, other: &Numeric) -> Result<Numeric> {
        use Class::*;
        Ok(match (self.class, other.class) {
            (NaN, _) | (_, NaN) | (Infinity, NegInfinity) | (NegInfinity, Infinity) => nan(),
            (Infinity | NegInfinity, _) => self.clone(),
            (_, Infinity | NegInfinity) => other.clone(),
            _ => {
                let (a, b, scale) = aligned(self, other);
                let (m, neg) = signed_add(&a, self.class == Negative, &b, other.class == Negative);
                Numeric::checked(neg, m, scale)?
            }
        })
    }

    /// `self - other`.
    pub fn sub(&self, other: &Numeric) -> Result<Numeric> {
        self.add(&other.neg())
    }

    /// `self * other`.
    pub fn mul(&self, other: &Numeric) -> Result<Numeric> {
        if self.is_nan() || other.is_nan() {
            return Ok(nan());
        }
        let negative = self.is_negative() != other.is_negative();
        if self.is_special() || other.is_special() {
            return Ok(if self.is_zero() || other.is_zero() { nan() } else { Numeric::infinity(negative) });
        }
        let coef = magnitude::mul(&self.coef, &other.coef);
        let scale = u32::from(self.scale) + u32::from(other.scale);
        if scale > u32::from(MAX_SCALE) {
            let rounded = round_down(&coef, (scale - u32::from(MAX_SCALE)) as usize);
            return Numeric::checked(negative, rounded, MAX_SCALE);
        }
        Numeric::checked(negative, coef, scale as u16)
    }

    /// `self / other`, rounded to [`division_scale`] digits; 22012 for a zero divisor.
    pub fn div(&self, other: &Numeric) -> Result<Numeric> {
        if self.is_nan() || other.is_nan() {
            return Ok(nan());
        }
        if other.is_zero() {
            return Err(DbError::division_by_zero());
        }
        let negative = self.is_negative() != other.is_negative();
        match (self.is_special(), other.is_special()) {
            (true, true) => return Ok(nan()),
            (true, false) => return Ok(Numeric::infinity(negative)),
            (false, true) => return Ok(Numeric::zero()),
            (false, false) => {}
        }
        let scale = division_scale(self, other);
        self.div_to_scale(other, scale)
    }

    /// `self / other` for finite values and a non-zero divisor, rounded to `scale` digits.
    pub fn div_to_scale(&self, other: &Numeric, scale: u16) -> Result<Numeric> {
        // self/other = (c1 / 10^s1) / (c2 / 10^s2); scaled by 10^scale that is
        // c1 * 10^(s2 + scale) / (c2 * 10^s1), with one more digit to round on.
        let numerator = magnitude::shift_up(&self.coef, usize::from(other.scale) + usize::from(scale) + 1);
        let denominator = magnitude::shift_up(&other.coef, usize::from(self.scale));
        let (q, _) = magnitude::divmod(&numerator, &denominator);
        let negative = self.is_negative() != other.is_negative();
        Numeric::checked(negative, round_down(&q, 1), scale)
    }

    /// `self % other`: the remainder of truncating division, with the dividend's sign.
    pub fn rem(&self, other: &Numeric) -> Result<Numeric> {
        if self.is_nan() || other.is_nan() {
            return Ok(nan());
        }
        if other.is_zero() {
            return Err(DbError::division_by_zero());
        }
        if self.is_special() {
            return Ok(nan());
        }
        if other.is_special() {
            return Ok(self.clone());
        }
        let (a, b, scale) = aligned(self, other);
        let (_, r) = magnitude::divmod(&a, &b);
        Ok(Numeric::finite(self.is_negative(), r, scale))
    }

    /// The value rounded half away from zero to `digits` after the point (negative: before
    /// it); the result's scale is `max(digits, 0)`.
    pub fn round(&self, digits: i32) -> Numeric {
        self.rescale(digits, true)
    }

    /// The value truncated toward zero to `digits` after the point (negative: before it).
    pub fn trunc(&self, digits: i32) -> Numeric {
        self.rescale(digits, false)
    }

    fn rescale(&self, digits: i32, round: bool) -> Numeric {
        if self.is_special() {
            return self.clone();
        }
        let digits = digits.clamp(-i32::from(MAX_SCALE) - 131_072, i32::from(MAX_SCALE));
        let target = digits.max(0) as u16;
        let current = i32::from(self.scale);
        if digits >= current {
            let coef = magnitude::shift_up(&self.coef, (digits - current) as usize);
            return Numeric::finite(self.is_negative(), coef, target);
        }
        let drop = (current - digits) as usize;
        let kept = if round { round_down(&self.coef, drop) } else { magnitude::shift_down(&self.coef, drop).0 };
        // A negative `digits` leaves the coefficient counting 10^-digits units.
        let coef = if digits < 0 { magnitude::shift_up(&kept, (-digits) as usize) } else { kept };
        Numeric::finite(self.is_negative(), coef, target)
    }

    /// The smallest integer not below the value.
    pub fn ceil(&self) -> Numeric {
        let t = self.trunc(0);
        if !self.is_negative() && t.total_cmp(self) == Ordering::Less {
            t.add(&Numeric::from_i64(1)).unwrap_or(t)
        } else {
            t
        }
    }

    /// The largest integer not above the value.
    pub fn floor(&self) -> Numeric {
        let t = self.trunc(0);
        if self.is_negative() && t.total_cmp(self) == Ordering::Greater {
            t.sub(&Numeric::from_i64(1)).unwrap_or(t)
        } else {
            t
        }
    }

    /// The square root, to at least 16 significant digits and the input's scale; 2201F for a
    /// negative value.
    pub fn sqrt(&self) -> Result<Numeric> {
        match self.class {
            Class::NaN | Class::Infinity => return Ok(self.clone()),
            Class::Negative | Class::NegInfinity => {
                return Err(DbError::sql(
                    SqlState::InvalidArgumentForPowerFunction,
                    "cannot take square root of a negative number",
                ));
            }
            Class::Positive => {}
        }
        let (weight, _) = weight_and_first_digit(self);
        let root_weight = (weight + 1) * 4 / 2 - 1;
        let scale = (MIN_SIG_DIGITS - root_weight).max(i64::from(self.scale)).clamp(0, MAX_DISPLAY_SCALE) as u16;
        self.sqrt_to_scale(scale)
    }

    /// The square root of a value that is not negative, rounded to `scale` digits.
    pub fn sqrt_to_scale(&self, scale: u16) -> Result<Numeric> {
        if self.is_special() || self.is_negative() {
            return self.sqrt();
        }
        if self.is_zero() {
            return Ok(Numeric::finite(false, Vec::new(), scale));
        }
        // sqrt(c / 10^s) * 10^(scale+1) = sqrt(c * 10^(2(scale+1) - s)); make the exponent even.
        let want = 2 * (i64::from(scale) + 1);
        let shift = want - i64::from(self.scale);
        let root = if shift >= 0 {
            magnitude::isqrt(&magnitude::shift_up(&self.coef, shift as usize))
        } else {
            magnitude::isqrt(&magnitude::shift_down(&self.coef, (-shift) as usize).0)
        };
        Numeric::checked(false, round_down(&root, 1), scale)
    }
}

/// The base-10000 weight of a value's leading digit group and that group's value, which is how
/// PostgreSQL sizes quotients (`(0, 0)` for zero).
fn weight_and_first_digit(n: &Numeric) -> (i64, u32) {
    let Some((exponent, digits)) = n.significant_digits() else { return (0, 0) };
    let weight = exponent.div_euclid(4);
    let group_len = (exponent - 4 * weight + 1) as usize;
    let group: String = digits.chars().chain(std::iter::repeat('0')).take(group_len).collect();
    (weight, group.parse().unwrap_or(0))
}

/// The scale PostgreSQL gives `a / b` (`select_div_scale`): 16 significant digits for the
/// quotient's expected size, at least either operand's scale, at most 1000.
pub fn division_scale(a: &Numeric, b: &Numeric) -> u16 {
    let (w1, d1) = weight_and_first_digit(a);
    let (w2, d2) = weight_and_first_digit(b);
    let mut qweight = w1 - w2;
    if d1 <= d2 {
        qweight -= 1;
    }
    let scale = (MIN_SIG_DIGITS - qweight * 4).max(i64::from(a.scale)).max(i64::from(b.scale));
    scale.clamp(0, MAX_DISPLAY_SCALE) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    fn show(r: Result<Numeric>) -> String {
        match r {
            Ok(v) => v.to_string(),
            Err(e) => e.sqlstate().code().to_string(),
        }
    }

    #[test]
    fn results_match_postgres_digit_for_digit() {
        // Each expected string is what PostgreSQL 15 printed for the same expression.
        let cases: &[(&str, String)] = &[
            ("0.1 + 0.2", show(n("0.1").add(&n("0.2")))),
            ("1.50 - 2", show(n("1.50").sub(&n("2")))),
            ("1.5 * 2.25", show(n("1.5").mul(&n("2.25")))),
            ("10 / 4", show(n("10").div(&n("4")))),
            ("1 / 3", show(n("1").div(&n("3")))),
            ("2 / 3", show(n("2").div(&n("3")))),
            ("10 / 4.0", show(n("10").div(&n("4.0")))),
            ("1000000 / 7", show(n("1000000").div(&n("7")))),
            ("0.0001 / 3", show(n("0.0001").div(&n("3")))),
            ("-7.5 % 2", show(n("-7.5").rem(&n("2")))),
            ("1 / 0", show(n("1").div(&n("0")))),
            ("sqrt 2", show(n("2").sqrt())),
            ("sqrt 100", show(n("100").sqrt())),
            ("sqrt 0.0001", show(n("0.0001").sqrt())),
            ("sqrt 1e20", show(n("1e20").sqrt())),
            ("Infinity - Infinity", show(n("Infinity").sub(&n("Infinity")))),
            ("Infinity * -2", show(n("Infinity").mul(&n("-2")))),
            ("5 / Infinity", show(n("5").div(&n("Infinity")))),
        ];
        let want = [
            "0.3",
            "-0.50",
            "3.375",
            "2.5000000000000000",
            "0.33333333333333333333",
            "0.66666666666666666667",
            "2.5000000000000000",
            "142857.142857142857",
            "0.000033333333333333333333",
            "-1.5",
            "22012",
            "1.414213562373095",
            "10.000000000000000",
            "0.01000000000000000",
            "10000000000.00000",
            "NaN",
            "-Infinity",
            "0",
        ];
        for ((what, got), want) in cases.iter().zip(want) {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero_at_any_place() {
        assert_eq!(n("2.5").round(0).to_string(), "3");
        assert_eq!(n("-2.5").round(0).to_string(), "-3");
        assert_eq!(n("1.2345").round(2).to_string(), "1.23");
        assert_eq!(n("1.235").round(2).to_string(), "1.24");
        assert_eq!(n("1.5").round(3).to_string(), "1.500");
        assert_eq!(n("1250").round(-2).to_string(), "1300");
        assert_eq!(n("-1249.9").round(-2).to_string(), "-1200");
        assert_eq!(n("-0.4").round(0).to_string(), "0");
        assert_eq!(n("-1.99").trunc(1).to_string(), "-1.9");
        assert_eq!(n("-1.2").ceil().to_string(), "-1");
        assert_eq!(n("-1.2").floor().to_string(), "-2");
        assert_eq!(n("1.2").ceil().to_string(), "2");
        assert_eq!(n("3.00").ceil().to_string(), "3");
    }
}
