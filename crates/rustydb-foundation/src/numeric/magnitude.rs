//! Unsigned big integers as little-endian limbs in base 10⁹: the coefficients of
//! [`super::Numeric`].
//!
//! Base 10⁹ rather than a power of two because a numeric is decimal through and through: its
//! scale counts decimal digits, so shifting by a power of ten, rounding at a decimal place and
//! printing are limb-wise work, while a limb still multiplies into a `u64` without overflow.
//! Every function keeps magnitudes *trimmed* (no zero limb at the top; zero is the empty
//! vector), which is what makes `==` and [`cmp`] by length-then-limbs correct.

use std::cmp::Ordering;

/// One limb's base.
pub const BASE: u64 = 1_000_000_000;
/// Decimal digits per limb.
pub const LIMB_DIGITS: usize = 9;

/// A magnitude: limbs, least significant first, trimmed.
pub type Mag = Vec<u32>;

/// Drops zero limbs from the top.
pub fn trim(a: &mut Mag) {
    while a.last() == Some(&0) {
        a.pop();
    }
}

/// The magnitude of `v`.
pub fn from_u128(mut v: u128) -> Mag {
    let mut out = Vec::new();
    while v > 0 {
        out.push((v % u128::from(BASE)) as u32);
        v /= u128::from(BASE);
    }
    out
}

/// `a` as a u128, if it fits.
pub fn to_u128(a: &[u32]) -> Option<u128> {
    let mut v: u128 = 0;
    for &limb in a.iter().rev() {
        v = v.checked_mul(u128::from(BASE))?.checked_add(u128::from(limb))?;
    }
    Some(v)
}

/// Bytewise-style comparison of trimmed magnitudes.
pub fn cmp(a: &[u32], b: &[u32]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

/// `a + b`.
pub fn add(a: &[u32], b: &[u32]) -> Mag {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(long.len() + 1);
    let mut carry = 0u64;
    for (i, &x) in long.iter().enumerate() {
        let s = u64::from(x) + u64::from(short.get(i).copied().unwrap_or(0)) + carry;
        out.push((s % BASE) as u32);
        carry = s / BASE;
    }
    if carry > 0 {
        out.push(carry as u32);
    }
    out
}

/// `a - b`, for `a >= b`.
pub fn sub(a: &[u32], b: &[u32]) -> Mag {
    debug_assert!(cmp(a, b) != Ordering::Less);
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i64;
    for (i, &x) in a.iter().enumerate() {
        let mut d = i64::from(x) - i64::from(b.get(i).copied().unwrap_or(0)) - borrow;
        borrow = 0;
        if d < 0 {
            d += BASE as i64;
            borrow = 1;
        }
        out.push(d as u32);
    }
    trim(&mut out);
    out
}

/// `a * m + add`, for one-limb `m` and `add`.
pub fn mul_small(a: &[u32], m: u32, add: u32) -> Mag {
    let mut out = Vec::with_capacity(a.len() + 1);
    let mut carry = u64::from(add);
    for &x in a {
        let p = u64::from(x) * u64::from(m) + carry;
        out.push((p % BASE) as u32);
        carry = p / BASE;
    }
    if carry > 0 {
        out.push(carry as u32);
    }
    trim(&mut out);
    out
}

/// `a * b`, schoolbook: the operands of SQL arithmetic are a few limbs long.
pub fn mul(a: &[u32], b: &[u32]) -> Mag {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut acc = vec![0u64; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            // acc < BASE, x*y < BASE², carry < BASE: the sum fits a u64 (BASE² ≈ 1e18 < 1.8e19).
            let t = acc[i + j] + u64::from(x) * u64::from(y) + carry;
            acc[i + j] = t % BASE;
            carry = t / BASE;
        }
        let mut k = i + b.len();
        while carry > 0 {
            let t = acc[k] + carry;
            acc[k] = t % BASE;
            carry = t / BASE;
            k += 1;
        }
    }
    let mut out: Mag = acc.into_iter().map(|v| v as u32).collect();
    trim(&mut out);
    out
}

/// `(a / d, a % d)` for a one-limb divisor `d > 0`.
pub fn divmod_small(a: &[u32], d: u32) -> (Mag, u32) {
    let mut q = vec![0u32; a.len()];
    let mut rem = 0u64;
    for i in (0..a.len()).rev() {
        let cur = rem * BASE + u64::from(a[i]);
        q[i] = (cur / u64::from(d)) as u32;
        rem = cur % u64::from(d);
    }
    trim(&mut q);
    (q, rem as u32)
}

/// `(a / b, a % b)` for `b > 0`: Knuth's algorithm D (TAOCP 4.3.1) in base 10⁹.
pub fn divmod(a: &[u32], b: &[u32]) -> (Mag, Mag) {
    assert!(!b.is_empty(), "division by a zero magnitude");
    if cmp(a, b) == Ordering::Less {
        return (Vec::new(), a.to_vec());
    }
    if b.len() == 1 {
        let (q, r) = divmod_small(a, b[0]);
        return (q, if r == 0 { Vec::new() } else { vec![r] });
    }
    // Normalize so the divisor's top limb is at least BASE/2; the quotient is unchanged and
    // the remainder is scaled by the same factor.
    let factor = (BASE / (u64::from(*b.last().unwrap_or(&1)) + 1)) as u32;
    let v = mul_small(b, factor, 0);
    let mut u = mul_small(a, factor, 0);
    if u.len() == a.len() {
        u.push(0);
    }
    let n = v.len();
    let m = u.len() - n;
    let (v_top, v_next) = (u64::from(v[n - 1]), u64::from(v[n - 2]));
    let mut q = vec![0u32; m];
    for j in (0..m).rev() {
        let top = u64::from(u[j + n]) * BASE + u64::from(u[j + n - 1]);
        let mut qhat = top / v_top;
        let mut rhat = top % v_top;
        while qhat >= BASE || qhat * v_next > rhat * BASE + u64::from(u[j + n - 2]) {
            qhat -= 1;
            rhat += v_top;
            if rhat >= BASE {
                break;
            }
        }
        // u[j..=j+n] -= qhat * v
        let mut borrow = 0i64;
        let mut carry = 0u64;
        for i in 0..n {
            let p = qhat * u64::from(v[i]) + carry;
            carry = p / BASE;
            let d = i64::from(u[i + j]) - (p % BASE) as i64 - borrow;
            if d < 0 {
                u[i + j] = (d + BASE as i64) as u32;
                borrow = 1;
            } else {
                u[i + j] = d as u32;
                borrow = 0;
            }
        }
        let d = i64::from(u[j + n]) - carry as i64 - borrow;
        if d < 0 {
            // qhat was one too large (rare): add v back.
            u[j + n] = (d + BASE as i64) as u32;
            qhat -= 1;
            let mut c = 0u64;
            for i in 0..n {
                let s = u64::from(u[i + j]) + u64::from(v[i]) + c;
                u[i + j] = (s % BASE) as u32;
                c = s / BASE;
            }
            u[j + n] = ((u64::from(u[j + n]) + c) % BASE) as u32;
        } else {
            u[j + n] = d as u32;
        }
        q[j] = qhat as u32;
    }
    trim(&mut q);
    u.truncate(n);
    trim(&mut u);
    let (r, _) = divmod_small(&u, factor);
    (q, r)
}

/// `10^k`.
pub fn pow10(k: usize) -> Mag {
    let mut out = vec![0u32; k / LIMB_DIGITS];
    out.push(10u32.pow((k % LIMB_DIGITS) as u32));
    out
}

/// `a * 10^k`.
pub fn shift_up(a: &[u32], k: usize) -> Mag {
    if a.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0u32; k / LIMB_DIGITS];
    out.extend_from_slice(a);
    let rest = (k % LIMB_DIGITS) as u32;
    if rest == 0 { out } else { mul_small(&out, 10u32.pow(rest), 0) }
}

/// `a / 10^k`, with what rounding needs of the digits it drops: the first of them, and whether
/// any after it is non-zero.
pub fn shift_down(a: &[u32], k: usize) -> (Mag, u8, bool) {
    if k == 0 {
        return (a.to_vec(), 0, false);
    }
    // Drop whole limbs below the digit just under the cut, then divide the rest.
    let (q, r) = divmod(a, &pow10(k));
    let lower = pow10(k - 1);
    let (first, rest) = divmod(&r, &lower);
    let first = first.first().copied().unwrap_or(0) as u8;
    (q, first, !rest.is_empty())
}

/// The decimal digits of `a` (`"0"` for zero).
pub fn to_decimal(a: &[u32]) -> String {
    let Some((top, rest)) = a.split_last() else { return "0".to_string() };
    let mut s = top.to_string();
    for limb in rest.iter().rev() {
        s.push_str(&format!("{limb:09}"));
    }
    s
}

/// The magnitude whose decimal digits are `digits` (ASCII digits only).
pub fn from_decimal(digits: &[u8]) -> Mag {
    let mut out = Vec::with_capacity(digits.len() / LIMB_DIGITS + 1);
    let mut end = digits.len();
    while end > 0 {
        let start = end.saturating_sub(LIMB_DIGITS);
        let limb = digits[start..end].iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        out.push(limb);
        end = start;
    }
    trim(&mut out);
    out
}

/// How many decimal digits `a` has (0 for zero).
pub fn digit_count(a: &[u32]) -> usize {
    match a.last() {
        None => 0,
        Some(top) => (a.len() - 1) * LIMB_DIGITS + top.to_string().len(),
    }
}

/// `floor(sqrt(a))`, by Newton's iteration from above.
pub fn isqrt(a: &[u32]) -> Mag {
    if a.is_empty() {
        return Vec::new();
    }
    // 10^ceil(d/2) is above the root; Newton's steps then fall monotonically onto it.
    let mut x = pow10(digit_count(a).div_ceil(2));
    loop {
        let (q, _) = divmod(a, &x);
        let (next, _) = divmod_small(&add(&x, &q), 2);
        if cmp(&next, &x) != Ordering::Less {
            return x;
        }
        x = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: u128) -> Mag {
        from_u128(v)
    }

    #[test]
    fn arithmetic_matches_u128() {
        let values: [u128; 9] = [
            0,
            1,
            999_999_999,
            1_000_000_000,
            123_456_789_012_345_678,
            u64::MAX as u128,
            999_999_999_999_999_999_999_999_999,
            170_141_183_460_469_231_731_687_303_715_884,
            1_000_000_000_000_000_000_000_000_007,
        ];
        for &a in &values {
            for &b in &values {
                assert_eq!(to_u128(&add(&m(a), &m(b))), a.checked_add(b), "{a}+{b}");
                if a >= b {
                    assert_eq!(to_u128(&sub(&m(a), &m(b))), Some(a - b), "{a}-{b}");
                }
                if let Some(p) = a.checked_mul(b) {
                    assert_eq!(to_u128(&mul(&m(a), &m(b))), Some(p), "{a}*{b}");
                }
                if b > 0 {
                    let (q, r) = divmod(&m(a), &m(b));
                    assert_eq!((to_u128(&q), to_u128(&r)), (Some(a / b), Some(a % b)), "{a}/{b}");
                }
                assert_eq!(cmp(&m(a), &m(b)), a.cmp(&b));
            }
            assert_eq!(to_decimal(&m(a)), a.to_string());
            assert_eq!(from_decimal(a.to_string().as_bytes()), m(a));
        }
    }

    #[test]
    fn long_division_survives_the_add_back_case_and_big_operands() {
        // (10^40 + 7) * (10^30 + 3) + 12345 divided by 10^30 + 3.
        let a = add(&mul(&add(&pow10(40), &m(7)), &add(&pow10(30), &m(3))), &m(12345));
        let (q, r) = divmod(&a, &add(&pow10(30), &m(3)));
        assert_eq!(q, add(&pow10(40), &m(7)));
        assert_eq!(r, m(12345));
        for (n, d) in [(u128::MAX / 3, 4_000_000_000_000_000_001u128), (u128::MAX, 999_999_999_999_999_999_999)] {
            let (q, r) = divmod(&m(n), &m(d));
            assert_eq!((to_u128(&q), to_u128(&r)), (Some(n / d), Some(n % d)));
        }
    }

    proptest::proptest! {
        /// Long division of many-limb operands: q·b + r = a and r < b.
        #[test]
        fn division_reassembles(a in proptest::collection::vec(0u32..1_000_000_000, 0..8),
                                b in proptest::collection::vec(0u32..1_000_000_000, 1..5)) {
            let (mut a, mut b) = (a, b);
            trim(&mut a);
            trim(&mut b);
            proptest::prop_assume!(!b.is_empty());
            let (q, r) = divmod(&a, &b);
            proptest::prop_assert_eq!(add(&mul(&q, &b), &r), a);
            proptest::prop_assert_eq!(cmp(&r, &b), Ordering::Less);
        }
    }

    #[test]
    fn decimal_shifts_and_roots() {
        assert_eq!(to_decimal(&shift_up(&m(123), 11)), "12300000000000");
        let (q, first, rest) = shift_down(&m(123_456_789_012), 4);
        assert_eq!((to_decimal(&q), first, rest), ("12345678".to_string(), 9, true));
        let (q, first, rest) = shift_down(&m(1_500), 3);
        assert_eq!((to_decimal(&q), first, rest), ("1".to_string(), 5, false));
        assert_eq!(digit_count(&m(1_000_000_000)), 10);
        assert_eq!(to_u128(&isqrt(&m(99))), Some(9));
        assert_eq!(to_u128(&isqrt(&m(100))), Some(10));
        let big = mul(&pow10(50), &pow10(50));
        assert_eq!(isqrt(&big), pow10(50));
    }
}
