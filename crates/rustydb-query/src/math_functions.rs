//! PostgreSQL's mathematical functions beyond the basic ones in [`crate::functions`]:
//! logarithms and exponentials, trigonometry, `random`, integer `gcd`/`lcm`, `div`,
//! `factorial`, `width_bucket` and the numeric scale functions.
//!
//! Double precision results follow PostgreSQL's `float.c`: a domain error is 22003 "input is
//! out of range", a logarithm of zero or a negative number 2201E, an `exp` that leaves the
//! finite range "value out of range: overflow/underflow". Logarithms and `exp` of a `numeric`
//! are computed in double precision (PostgreSQL computes them in numeric and returns a
//! numeric; the values agree to about 15 significant digits).

use crate::functions::float;
use rustydb_foundation::{DataType, DbError, Numeric, Result, SqlState, Value};
use std::cell::Cell;

/// One of the mathematical functions of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathFn {
    /// `ln(x)`
    Ln,
    /// `log(x)`, `log10(x)`
    Log10,
    /// `log(base, x)`
    LogBase,
    /// `exp(x)`
    Exp,
    /// `cbrt(x)`
    Cbrt,
    /// `pi()`
    Pi,
    /// `random()`
    Random,
    /// `setseed(seed)`: restarts this session's `random()` sequence.
    SetSeed,
    /// `degrees(radians)`
    Degrees,
    /// `radians(degrees)`
    Radians,
    /// `sin`, `cos`, `tan`, `cot`, `asin`, `acos`, `atan` and the hyperbolic functions.
    Trig(Trig),
    /// `atan2(y, x)`
    Atan2,
    /// `div(a, b)`: the integer quotient, truncated toward zero.
    Div,
    /// `gcd(a, b)`
    Gcd,
    /// `lcm(a, b)`
    Lcm,
    /// `factorial(n)`
    Factorial,
    /// `width_bucket(operand, low, high, count)`
    WidthBucket,
    /// `scale(numeric)`: digits after the decimal point.
    Scale,
    /// `min_scale(numeric)`: the fewest digits after the point that keep the value.
    MinScale,
    /// `trim_scale(numeric)`: the value without trailing fractional zeros.
    TrimScale,
}

/// The one-argument trigonometric and hyperbolic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trig {
    /// `sin`
    Sin,
    /// `cos`
    Cos,
    /// `tan`
    Tan,
    /// `cot`
    Cot,
    /// `asin`
    Asin,
    /// `acos`
    Acos,
    /// `atan`
    Atan,
    /// `sinh`
    Sinh,
    /// `cosh`
    Cosh,
    /// `tanh`
    Tanh,
    /// `asinh`
    Asinh,
    /// `acosh`
    Acosh,
    /// `atanh`
    Atanh,
}

impl Trig {
    fn of(name: &str) -> Option<Trig> {
        Some(match name {
            "sin" => Trig::Sin,
            "cos" => Trig::Cos,
            "tan" => Trig::Tan,
            "cot" => Trig::Cot,
            "asin" => Trig::Asin,
            "acos" => Trig::Acos,
            "atan" => Trig::Atan,
            "sinh" => Trig::Sinh,
            "cosh" => Trig::Cosh,
            "tanh" => Trig::Tanh,
            "asinh" => Trig::Asinh,
            "acosh" => Trig::Acosh,
            "atanh" => Trig::Atanh,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Trig::Sin => "sin",
            Trig::Cos => "cos",
            Trig::Tan => "tan",
            Trig::Cot => "cot",
            Trig::Asin => "asin",
            Trig::Acos => "acos",
            Trig::Atan => "atan",
            Trig::Sinh => "sinh",
            Trig::Cosh => "cosh",
            Trig::Tanh => "tanh",
            Trig::Asinh => "asinh",
            Trig::Acosh => "acosh",
            Trig::Atanh => "atanh",
        }
    }

    /// The value, or `None` outside the function's domain.
    fn apply(self, x: f64) -> Option<f64> {
        if x.is_nan() {
            return Some(x);
        }
        let finite = x.is_finite();
        Some(match self {
            Trig::Sin if finite => x.sin(),
            Trig::Cos if finite => x.cos(),
            Trig::Tan if finite => x.tan(),
            Trig::Cot if finite => 1.0 / x.tan(),
            Trig::Sin | Trig::Cos | Trig::Tan | Trig::Cot => return None,
            Trig::Asin | Trig::Acos if !(-1.0..=1.0).contains(&x) => return None,
            Trig::Asin => x.asin(),
            Trig::Acos => x.acos(),
            Trig::Atan => x.atan(),
            Trig::Sinh => x.sinh(),
            Trig::Cosh => x.cosh(),
            Trig::Tanh => x.tanh(),
            // Past about 1e154 the textbook formulas overflow: ln(2x) is exact enough there.
            Trig::Asinh if x.abs() > 1e150 => (x.abs().ln() + std::f64::consts::LN_2).copysign(x),
            Trig::Asinh => x.asinh(),
            Trig::Acosh if x < 1.0 => return None,
            Trig::Acosh if x > 1e150 => x.ln() + std::f64::consts::LN_2,
            Trig::Acosh => x.acosh(),
            Trig::Atanh if !(-1.0..=1.0).contains(&x) => return None,
            Trig::Atanh if x == 1.0 => f64::INFINITY,
            Trig::Atanh if x == -1.0 => f64::NEG_INFINITY,
            Trig::Atanh => x.atanh(),
        })
    }
}

impl MathFn {
    /// The SQL name (for EXPLAIN).
    pub fn name(self) -> &'static str {
        match self {
            MathFn::Ln => "ln",
            MathFn::Log10 => "log10",
            MathFn::LogBase => "log",
            MathFn::Exp => "exp",
            MathFn::Cbrt => "cbrt",
            MathFn::Pi => "pi",
            MathFn::Random => "random",
            MathFn::SetSeed => "setseed",
            MathFn::Degrees => "degrees",
            MathFn::Radians => "radians",
            MathFn::Trig(t) => t.name(),
            MathFn::Atan2 => "atan2",
            MathFn::Div => "div",
            MathFn::Gcd => "gcd",
            MathFn::Lcm => "lcm",
            MathFn::Factorial => "factorial",
            MathFn::WidthBucket => "width_bucket",
            MathFn::Scale => "scale",
            MathFn::MinScale => "min_scale",
            MathFn::TrimScale => "trim_scale",
        }
    }

    /// True for `random()`, whose every call gives a new value, and `setseed`.
    pub fn is_volatile(self) -> bool {
        matches!(self, MathFn::Random | MathFn::SetSeed)
    }
}

/// The function `name` of arguments `types`: the function, the type each argument is cast
/// to, and the result type; `None` if no function of this module matches.
pub fn signature(name: &str, types: &[DataType]) -> Option<(MathFn, Vec<DataType>, DataType)> {
    use DataType as T;
    const NUMERIC: DataType = T::Numeric(None);
    let num = |t: &DataType| t.is_numeric() || *t == T::Unknown;
    let int = |t: &DataType| t.is_integer() || *t == T::Unknown;
    let exact = |t: &DataType| matches!(t, T::Numeric(_));
    let f8 = T::Float8;
    let (f, args, ty) = match (name, types) {
        ("ln", [x]) if num(x) => (MathFn::Ln, vec![f8], f8),
        ("log" | "log10", [x]) if num(x) => (MathFn::Log10, vec![f8], f8),
        // PostgreSQL has log(numeric, numeric) only: no version for double precision.
        ("log", [b, x]) if [b, x].iter().all(|t| num(t) && !matches!(t, T::Float4 | T::Float8)) => {
            (MathFn::LogBase, vec![f8, f8], f8)
        }
        ("exp", [x]) if num(x) => (MathFn::Exp, vec![f8], f8),
        ("cbrt", [x]) if num(x) => (MathFn::Cbrt, vec![f8], f8),
        ("pi", []) => (MathFn::Pi, vec![], f8),
        ("random", []) => (MathFn::Random, vec![], f8),
        // PostgreSQL's returns void; like `pg_sleep` here, an empty text stands in for it.
        ("setseed", [x]) if num(x) => (MathFn::SetSeed, vec![f8], T::Text),
        ("degrees", [x]) if num(x) => (MathFn::Degrees, vec![f8], f8),
        ("radians", [x]) if num(x) => (MathFn::Radians, vec![f8], f8),
        ("atan2", [y, x]) if num(y) && num(x) => (MathFn::Atan2, vec![f8, f8], f8),
        (name, [x]) if num(x) && Trig::of(name).is_some() => (MathFn::Trig(Trig::of(name)?), vec![f8], f8),
        ("div", [a, b]) if num(a) && num(b) => (MathFn::Div, vec![NUMERIC, NUMERIC], NUMERIC),
        ("gcd" | "lcm", [a, b]) if int(a) && int(b) => {
            let ty = if [a, b].contains(&&T::Int8) { T::Int8 } else { T::Int4 };
            (if name == "gcd" { MathFn::Gcd } else { MathFn::Lcm }, vec![ty, ty], ty)
        }
        ("factorial", [n]) if int(n) => (MathFn::Factorial, vec![T::Int8], NUMERIC),
        ("width_bucket", [x, lo, hi, n]) if num(x) && num(lo) && num(hi) && int(n) => {
            (MathFn::WidthBucket, vec![f8, f8, f8, T::Int4], T::Int4)
        }
        ("scale" | "min_scale", [x]) if exact(x) || *x == T::Unknown || x.is_integer() => {
            (if name == "scale" { MathFn::Scale } else { MathFn::MinScale }, vec![NUMERIC], T::Int4)
        }
        ("trim_scale", [x]) if exact(x) || *x == T::Unknown || x.is_integer() => {
            (MathFn::TrimScale, vec![NUMERIC], NUMERIC)
        }
        _ => return None,
    };
    Some((f, args, ty))
}

fn out_of_range_input() -> DbError {
    DbError::sql(SqlState::NumericValueOutOfRange, "input is out of range")
}

fn overflow() -> DbError {
    DbError::sql(SqlState::NumericValueOutOfRange, "value out of range: overflow")
}

fn underflow() -> DbError {
    DbError::sql(SqlState::NumericValueOutOfRange, "value out of range: underflow")
}

/// A double precision result: infinite from finite inputs is an overflow.
fn checked(result: f64, inputs_finite: bool) -> Result<Value> {
    if result.is_infinite() && inputs_finite {
        return Err(overflow());
    }
    Ok(Value::Float8(result))
}

fn logarithm(x: f64) -> Result<f64> {
    if x == 0.0 {
        return Err(DbError::sql(SqlState::InvalidArgumentForLogarithm, "cannot take logarithm of zero"));
    }
    if x < 0.0 {
        return Err(DbError::sql(SqlState::InvalidArgumentForLogarithm, "cannot take logarithm of a negative number"));
    }
    Ok(x.ln())
}

/// Evaluates a call on non-NULL arguments.
pub fn eval(f: MathFn, v: &[Value]) -> Result<Value> {
    Ok(match f {
        MathFn::Ln => Value::Float8(logarithm(float(&v[0]))?),
        MathFn::Log10 => {
            let x = float(&v[0]);
            logarithm(x)?;
            Value::Float8(x.log10())
        }
        MathFn::LogBase => {
            let (base, x) = (logarithm(float(&v[0]))?, logarithm(float(&v[1]))?);
            if base == 0.0 {
                return Err(DbError::division_by_zero());
            }
            Value::Float8(x / base)
        }
        MathFn::Exp => {
            let x = float(&v[0]);
            let r = x.exp();
            if r.is_infinite() && x.is_finite() {
                return Err(overflow());
            }
            if r == 0.0 && x.is_finite() {
                return Err(underflow());
            }
            Value::Float8(r)
        }
        MathFn::Cbrt => Value::Float8(float(&v[0]).cbrt()),
        MathFn::Pi => Value::Float8(std::f64::consts::PI),
        MathFn::Random => Value::Float8(random()),
        MathFn::SetSeed => {
            let seed = float(&v[0]);
            if !(-1.0..=1.0).contains(&seed) {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    format!("setseed parameter {} is out of allowed range [-1,1]", crate::settings::format_real(seed)),
                ));
            }
            set_seed(seed);
            Value::Text(String::new())
        }
        MathFn::Degrees => {
            let x = float(&v[0]);
            checked(x.to_degrees(), x.is_finite())?
        }
        MathFn::Radians => {
            let x = float(&v[0]);
            checked(x.to_radians(), x.is_finite())?
        }
        MathFn::Trig(t) => Value::Float8(t.apply(float(&v[0])).ok_or_else(out_of_range_input)?),
        MathFn::Atan2 => Value::Float8(float(&v[0]).atan2(float(&v[1]))),
        MathFn::Div => Value::Numeric(div(numeric(&v[0])?, numeric(&v[1])?)?),
        MathFn::Gcd | MathFn::Lcm => gcd_lcm(f, &v[0], &v[1])?,
        MathFn::Factorial => Value::Numeric(factorial(v[0].as_i64().unwrap_or(0))?),
        MathFn::WidthBucket => {
            Value::Int4(width_bucket(float(&v[0]), float(&v[1]), float(&v[2]), v[3].as_i64().unwrap_or(0))?)
        }
        MathFn::Scale | MathFn::MinScale => {
            let n = numeric(&v[0])?;
            if n.is_special() {
                return Ok(Value::Null);
            }
            let scale = if f == MathFn::Scale { n.scale() } else { n.normalized().scale() };
            Value::Int4(i32::from(scale))
        }
        MathFn::TrimScale => {
            let n = numeric(&v[0])?;
            Value::Numeric(if n.is_special() { n } else { n.normalized() })
        }
    })
}

fn numeric(v: &Value) -> Result<Numeric> {
    match v {
        Value::Numeric(n) => Ok(n.clone()),
        other => other
            .as_i64()
            .map(Numeric::from_i64)
            .ok_or_else(|| DbError::Internal(format!("{other:?} where a numeric was expected"))),
    }
}

/// `div(a, b)`: `a / b` truncated toward zero, as an integral numeric.
fn div(a: Numeric, b: Numeric) -> Result<Numeric> {
    if a.is_nan() || b.is_nan() {
        return Ok(Numeric::nan());
    }
    if b.is_zero() {
        return Err(DbError::division_by_zero());
    }
    if a.is_special() || b.is_special() {
        return Ok(a.div(&b)?.trunc(0));
    }
    let remainder = a.rem(&b)?;
    Ok(a.sub(&remainder)?.div_to_scale(&b, 0)?.trunc(0))
}

fn gcd_lcm(f: MathFn, a: &Value, b: &Value) -> Result<Value> {
    let wide = matches!(a, Value::Int8(_));
    let (a, b) = (i128::from(a.as_i64().unwrap_or(0)), i128::from(b.as_i64().unwrap_or(0)));
    let gcd = {
        let (mut x, mut y) = (a.abs(), b.abs());
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    let result = match f {
        MathFn::Gcd => gcd,
        _ if a == 0 || b == 0 => 0,
        _ => (a / gcd * b).abs(),
    };
    Ok(if wide {
        Value::Int8(i64::try_from(result).map_err(|_| crate::types::out_of_range(DataType::Int8))?)
    } else {
        Value::Int4(i32::try_from(result).map_err(|_| crate::types::out_of_range(DataType::Int4))?)
    })
}

fn factorial(n: i64) -> Result<Numeric> {
    if n < 0 {
        return Err(DbError::sql(SqlState::NumericValueOutOfRange, "factorial of a negative number is undefined"));
    }
    // PostgreSQL's numeric holds at most 131072 digits before the point; 32177! is the
    // last factorial that fits.
    if n > 32177 {
        return Err(DbError::sql(SqlState::NumericValueOutOfRange, "value overflows numeric format"));
    }
    let mut result = Numeric::from_i64(1);
    for k in 2..=n {
        result = result.mul(&Numeric::from_i64(k))?;
    }
    Ok(result)
}

/// `width_bucket`: which of `count` equal buckets between `low` and `high` holds `x`; 0
/// below the range and `count + 1` above it (the range may run downward).
fn width_bucket(x: f64, low: f64, high: f64, count: i64) -> Result<i32> {
    let bad = |message: &str| DbError::sql(SqlState::InvalidArgumentForWidthBucketFunction, message.to_string());
    if count <= 0 {
        return Err(bad("count must be greater than zero"));
    }
    if x.is_nan() || low.is_nan() || high.is_nan() {
        return Err(bad("operand, lower bound, and upper bound cannot be NaN"));
    }
    if !low.is_finite() || !high.is_finite() {
        return Err(bad("lower and upper bounds must be finite"));
    }
    let count_f = count as f64;
    // A range too wide for a double is measured in halves, as PostgreSQL does.
    let (x, low, high) = if (high - low).is_infinite() { (x / 2.0, low / 2.0, high / 2.0) } else { (x, low, high) };
    let bucket = if low < high {
        if x < low {
            0
        } else if x >= high {
            count + 1
        } else {
            ((count_f * ((x - low) / (high - low))) as i64 + 1).min(count)
        }
    } else if low > high {
        if x > low {
            0
        } else if x <= high {
            count + 1
        } else {
            ((count_f * ((low - x) / (low - high))) as i64 + 1).min(count)
        }
    } else {
        return Err(bad("lower bound cannot equal upper bound"));
    };
    i32::try_from(bucket).map_err(|_| DbError::sql(SqlState::NumericValueOutOfRange, "integer out of range"))
}

thread_local! {
    /// The state of this thread's `random()` generator, seeded on first use. A session runs on
    /// one thread, so this is the session's sequence.
    static RANDOM: Cell<[u64; 2]> = const { Cell::new([0; 2]) };
}

/// A uniformly distributed double in [0, 1): PostgreSQL 15's `pg_prng_double`, xoroshiro128**
/// keeping the top 52 bits, so that after the same `setseed` both give the same sequence.
fn random() -> f64 {
    RANDOM.with(|state| {
        let [mut s0, mut s1] = state.get();
        if s0 == 0 && s1 == 0 {
            [s0, s1] = seeded(seed());
        }
        let result = s0.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let sx = s1 ^ s0;
        s0 = s0.rotate_left(24) ^ sx ^ (sx << 16);
        s1 = sx.rotate_left(37);
        state.set([s0, s1]);
        (result >> 12) as f64 * (1.0 / (1u64 << 52) as f64)
    })
}

/// `setseed(seed)`, seed in [-1, 1]: PostgreSQL's `pg_prng_fseed`.
fn set_seed(seed: f64) {
    let seed = (((1u64 << 52) - 1) as f64 * seed) as i64;
    RANDOM.with(|state| state.set(seeded(seed as u64)));
}

/// The generator's state for a 64-bit seed (two rounds of splitmix64, as `pg_prng_seed`), never
/// all zeros.
fn seeded(mut seed: u64) -> [u64; 2] {
    let mut splitmix = || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let state = [splitmix(), splitmix()];
    if state == [0, 0] { [0x5851_F42D_4C95_7F2D, 0x1405_7B7E_F767_814F] } else { state }
}

/// A seed from the operating system's generator (the clock if that fails).
fn seed() -> u64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..8]);
    }
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> Result<Value> {
        let types: Vec<DataType> = args.iter().map(|a| a.data_type().unwrap_or(DataType::Unknown)).collect();
        let (f, casts, _) = signature(name, &types).expect("a signature");
        let args: Vec<Value> = args
            .iter()
            .zip(&casts)
            .map(|(a, t)| match t {
                DataType::Float8 => Value::Float8(a.as_f64().unwrap()),
                DataType::Numeric(_) => Value::Numeric(numeric(a).unwrap()),
                _ => a.clone(),
            })
            .collect();
        eval(f, &args)
    }

    fn code(r: Result<Value>) -> &'static str {
        r.unwrap_err().sqlstate().code()
    }

    #[test]
    fn logarithms_and_exponentials_follow_postgres() {
        assert_eq!(call("ln", &[Value::Int4(10)]).unwrap(), Value::Float8(std::f64::consts::LN_10));
        assert_eq!(call("log", &[Value::Int4(1000)]).unwrap(), Value::Float8(3.0));
        assert_eq!(code(call("ln", &[Value::Int4(0)])), "2201E");
        assert_eq!(code(call("ln", &[Value::Int4(-1)])), "2201E");
        assert_eq!(code(call("log", &[Value::Int4(1), Value::Int4(2)])), "22012");
        assert_eq!(code(call("exp", &[Value::Int4(1000)])), "22003");
        assert_eq!(code(call("exp", &[Value::Int4(-1000)])), "22003");
        assert_eq!(code(call("acos", &[Value::Int4(2)])), "22003");
        assert_eq!(call("atanh", &[Value::Int4(1)]).unwrap(), Value::Float8(f64::INFINITY));
        assert_eq!(call("cot", &[Value::Int4(0)]).unwrap(), Value::Float8(f64::INFINITY));
    }

    #[test]
    fn integer_functions_follow_postgres() {
        assert_eq!(call("gcd", &[Value::Int4(12), Value::Int4(18)]).unwrap(), Value::Int4(6));
        assert_eq!(call("lcm", &[Value::Int4(4), Value::Int4(6)]).unwrap(), Value::Int4(12));
        assert_eq!(call("gcd", &[Value::Int8(-12), Value::Int8(0)]).unwrap(), Value::Int8(12));
        assert_eq!(code(call("gcd", &[Value::Int4(i32::MIN), Value::Int4(0)])), "22003");
        assert_eq!(code(call("lcm", &[Value::Int4(i32::MAX), Value::Int4(i32::MAX - 1)])), "22003");
        let n = |s: &str| Value::Numeric(Numeric::parse(s).unwrap());
        assert_eq!(call("factorial", &[Value::Int4(5)]).unwrap(), n("120"));
        assert_eq!(call("factorial", &[Value::Int4(0)]).unwrap(), n("1"));
        assert_eq!(code(call("factorial", &[Value::Int4(-1)])), "22003");
        assert_eq!(call("div", &[n("-7.5"), Value::Int4(2)]).unwrap(), n("-3"));
        assert_eq!(call("div", &[Value::Int4(7), Value::Int4(2)]).unwrap(), n("3"));
        assert_eq!(code(call("div", &[Value::Int4(7), Value::Int4(0)])), "22012");
    }

    #[test]
    fn width_bucket_counts_as_postgres() {
        assert_eq!(width_bucket(5.35, 0.024, 10.06, 5).unwrap(), 3);
        assert_eq!(width_bucket(5.0, 10.0, 0.0, 5).unwrap(), 3);
        assert_eq!(width_bucket(-1.0, 0.0, 10.0, 5).unwrap(), 0);
        assert_eq!(width_bucket(20.0, 0.0, 10.0, 5).unwrap(), 6);
        assert_eq!(width_bucket(1.0, 0.0, 10.0, 0).unwrap_err().sqlstate().code(), "2201G");
        assert_eq!(width_bucket(1.0, 1.0, 1.0, 5).unwrap_err().sqlstate().code(), "2201G");
        assert_eq!(width_bucket(f64::NAN, 0.0, 1.0, 5).unwrap_err().sqlstate().code(), "2201G");
        assert_eq!(width_bucket(0.0, -1e308, 1e308, 10).unwrap(), 6);
    }

    #[test]
    fn after_setseed_random_gives_postgresqls_sequence() {
        // PostgreSQL 15: SELECT setseed(0.42); SELECT random(), random();
        set_seed(0.42);
        assert_eq!((random(), random()), (0.742944875302392, 0.3624706633115564));
        set_seed(-1.0);
        let first = random();
        set_seed(-1.0);
        assert_eq!(random(), first);
    }

    #[test]
    fn random_stays_in_the_unit_interval_and_varies() {
        let draws: Vec<f64> = (0..1000).map(|_| random()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }
}
