//! Vectorised kernels for the executor's hot loops: comparisons that produce selection vectors,
//! sums, minimum and maximum, and hashing, over columns of fixed-width values.
//!
//! ## One body, two compilations
//! Each kernel is written once, as plain Rust shaped for vectorisation (fixed-width lanes,
//! branch-free inner loops, independent accumulators), and compiled twice: as is, and inside a
//! `#[target_feature(enable = "avx2")]` wrapper that lets the compiler use 256-bit registers.
//! The wrapper is chosen at run time when the CPU has AVX2 ([`active_isa`]); otherwise, and on
//! other architectures, the portable build runs. Because both builds run the same source with the
//! same operation order — floating-point sums keep [`LANES`] partial sums combined in a fixed
//! order, and Rust never contracts or reassociates float operations on its own — they give
//! bit-identical results, which a property test checks. Hand-written intrinsics would be faster
//! in places, but would make that equality a matter of care instead of construction.
//!
//! ## SQL semantics
//! NULLs are not the kernels' business: callers pass the non-null values (or a validity mask of
//! their own) and combine. Integer sums are exact (`i128`), as SQL's `sum(bigint)` is `numeric`.

/// The instruction set the kernels run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 256-bit AVX2.
    Avx2,
    /// Portable code (what the compiler targets by default).
    Portable,
}

/// Lanes of independent accumulators in the reductions (four 64-bit lanes fill an AVX2
/// register; the portable build keeps the same four so results match).
pub const LANES: usize = 4;

/// A comparison of each value against a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The instruction set in use on this machine (detected once).
pub fn active_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *AVX2.get_or_init(|| std::arch::is_x86_feature_detected!("avx2")) {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// Declares a kernel: `$body` is the one implementation; `$name` dispatches on [`active_isa`]
/// (or on the `isa` a test forces through the `_with` variant).
macro_rules! kernel {
    ($(#[$doc:meta])* $name:ident, $with:ident, $avx2:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) -> $ret {
            $with(active_isa(), $($arg),*)
        }

        /// The kernel run with a chosen instruction set (falls back to portable code if the
        /// machine lacks it): for tests and benchmarks that compare the two.
        pub fn $with(isa: Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if isa == Isa::Avx2 && active_isa() == Isa::Avx2 {
                // SAFETY: the CPU supports AVX2 (checked by `active_isa`), the only requirement
                // of calling a function compiled with `target_feature(enable = "avx2")`.
                return unsafe { $avx2($($arg),*) };
            }
            let _ = isa;
            $body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }
    };
}

kernel!(
    /// Appends to `out` the positions of the values for which `value op rhs` holds (a selection
    /// vector), in order.
    select_i64, select_i64_with, select_i64_avx2, select_i64_body,
    (values: &[i64], op: CmpOp, rhs: i64, out: &mut Vec<u32>) -> ()
);

kernel!(
    /// The exact sum of `values`.
    sum_i64, sum_i64_with, sum_i64_avx2, sum_i64_body,
    (values: &[i64]) -> i128
);

kernel!(
    /// The sum of `values`, added in [`LANES`] interleaved partial sums combined in a fixed
    /// order (so every build gives the same bits).
    sum_f64, sum_f64_with, sum_f64_avx2, sum_f64_body,
    (values: &[f64]) -> f64
);

kernel!(
    /// The smallest and largest value, or `None` for no values.
    min_max_i64, min_max_i64_with, min_max_i64_avx2, min_max_i64_body,
    (values: &[i64]) -> Option<(i64, i64)>
);

kernel!(
    /// Writes a 64-bit hash of each value to `out` (cleared first): for hash joins and
    /// aggregation. A multiply-xorshift mix (the finaliser of SplitMix64), good enough to spread
    /// keys over buckets, not a defence against chosen inputs.
    hash_u64, hash_u64_with, hash_u64_avx2, hash_u64_body,
    (values: &[u64], out: &mut Vec<u64>) -> ()
);

/// Blocks of this many values are compared branch-free into a bit mask, then expanded.
const BLOCK: usize = 64;

#[inline(always)]
fn select_i64_body(values: &[i64], op: CmpOp, rhs: i64, out: &mut Vec<u32>) {
    // The comparison inside each loop is fixed, so the compiler vectorises each loop alone.
    match op {
        CmpOp::Eq => select_where(values, out, |v| v == rhs),
        CmpOp::Ne => select_where(values, out, |v| v != rhs),
        CmpOp::Lt => select_where(values, out, |v| v < rhs),
        CmpOp::Le => select_where(values, out, |v| v <= rhs),
        CmpOp::Gt => select_where(values, out, |v| v > rhs),
        CmpOp::Ge => select_where(values, out, |v| v >= rhs),
    }
}

#[inline(always)]
fn select_where(values: &[i64], out: &mut Vec<u32>, pred: impl Fn(i64) -> bool) {
    for (block_index, block) in values.chunks(BLOCK).enumerate() {
        let mut mask = 0u64;
        for (i, &v) in block.iter().enumerate() {
            mask |= u64::from(pred(v)) << i;
        }
        let base = (block_index * BLOCK) as u32;
        while mask != 0 {
            out.push(base + mask.trailing_zeros());
            mask &= mask - 1;
        }
    }
}

#[inline(always)]
fn sum_i64_body(values: &[i64]) -> i128 {
    // Two i64 can already overflow i64, and i128 lanes do not vectorise. So each value is split
    // into its high 32 bits (signed) and low 32 bits (unsigned), summed in separate 64-bit lanes:
    // fewer than 2^32 values per lane cannot overflow either, and the lanes are folded into the
    // exact i128 total every 2^30 rounds.
    let mut high = [0i64; LANES];
    let mut low = [0u64; LANES];
    let mut chunks = values.chunks_exact(LANES);
    let mut total: i128 = 0;
    let mut run = 0u32;
    for chunk in &mut chunks {
        for lane in 0..LANES {
            high[lane] += chunk[lane] >> 32;
            low[lane] += (chunk[lane] as u64) & 0xFFFF_FFFF;
        }
        run += 1;
        if run == 1 << 30 {
            total += fold_halves(&high, &low);
            high = [0; LANES];
            low = [0; LANES];
            run = 0;
        }
    }
    total += fold_halves(&high, &low);
    total + chunks.remainder().iter().map(|&v| i128::from(v)).sum::<i128>()
}

fn fold_halves(high: &[i64; LANES], low: &[u64; LANES]) -> i128 {
    (0..LANES).map(|l| (i128::from(high[l]) << 32) + i128::from(low[l])).sum()
}

#[inline(always)]
fn sum_f64_body(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for lane in 0..LANES {
            lanes[lane] += chunk[lane];
        }
    }
    let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for &v in chunks.remainder() {
        total += v;
    }
    total
}

#[inline(always)]
fn min_max_i64_body(values: &[i64]) -> Option<(i64, i64)> {
    let first = *values.first()?;
    let mut lo = [first; LANES];
    let mut hi = [first; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for lane in 0..LANES {
            lo[lane] = lo[lane].min(chunk[lane]);
            hi[lane] = hi[lane].max(chunk[lane]);
        }
    }
    let rest = chunks.remainder().iter().copied();
    let min = lo.iter().copied().chain(rest.clone()).min().unwrap_or(first);
    let max = hi.iter().copied().chain(rest).max().unwrap_or(first);
    Some((min, max))
}

#[inline(always)]
fn hash_u64_body(values: &[u64], out: &mut Vec<u64>) {
    out.clear();
    out.extend(values.iter().map(|&v| mix64(v)));
}

/// SplitMix64's finaliser.
#[inline(always)]
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPS: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];

    fn reference_select(values: &[i64], op: CmpOp, rhs: i64) -> Vec<u32> {
        let holds = |v: i64| match op {
            CmpOp::Eq => v == rhs,
            CmpOp::Ne => v != rhs,
            CmpOp::Lt => v < rhs,
            CmpOp::Le => v <= rhs,
            CmpOp::Gt => v > rhs,
            CmpOp::Ge => v >= rhs,
        };
        (0..values.len() as u32).filter(|&i| holds(values[i as usize])).collect()
    }

    proptest! {
        /// Every kernel gives the same answer with AVX2 and without, and the answer a naive
        /// loop gives (floating-point sums: the same bits in both builds).
        #[test]
        fn avx2_and_portable_kernels_agree_with_each_other_and_with_naive_loops(
            values in proptest::collection::vec(prop_oneof![any::<i64>(), -100i64..100], 0..700),
            floats in proptest::collection::vec(any::<f64>(), 0..300),
            rhs in -100i64..100,
        ) {
            for op in OPS {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                select_i64_with(Isa::Avx2, &values, op, rhs, &mut a);
                select_i64_with(Isa::Portable, &values, op, rhs, &mut b);
                prop_assert_eq!(&a, &b);
                prop_assert_eq!(a, reference_select(&values, op, rhs));
            }
            let exact: i128 = values.iter().map(|&v| i128::from(v)).sum();
            prop_assert_eq!(sum_i64_with(Isa::Avx2, &values), exact);
            prop_assert_eq!(sum_i64_with(Isa::Portable, &values), exact);
            let naive = values.iter().min().copied().zip(values.iter().max().copied());
            prop_assert_eq!(min_max_i64_with(Isa::Avx2, &values), naive);
            prop_assert_eq!(min_max_i64_with(Isa::Portable, &values), naive);
            let (x, y) = (sum_f64_with(Isa::Avx2, &floats), sum_f64_with(Isa::Portable, &floats));
            prop_assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()), "{} vs {}", x, y);
            let unsigned: Vec<u64> = values.iter().map(|&v| v as u64).collect();
            let (mut h1, mut h2) = (vec![1], Vec::new());
            hash_u64_with(Isa::Avx2, &unsigned, &mut h1);
            hash_u64_with(Isa::Portable, &unsigned, &mut h2);
            prop_assert_eq!(&h1, &h2);
            prop_assert_eq!(h1, unsigned.iter().map(|&v| mix64(v)).collect::<Vec<_>>());
        }
    }

    #[test]
    fn sums_of_extreme_values_are_exact_and_selection_spans_blocks() {
        let values = vec![i64::MAX; 1000];
        assert_eq!(sum_i64(&values), i128::from(i64::MAX) * 1000);
        let values = vec![i64::MIN; 1001];
        assert_eq!(sum_i64(&values), i128::from(i64::MIN) * 1001);
        let values: Vec<i64> = (0..200).collect();
        let mut out = Vec::new();
        select_i64(&values, CmpOp::Ge, 190, &mut out);
        assert_eq!(out, (190..200).collect::<Vec<u32>>());
        assert_eq!(min_max_i64(&[]), None);
        assert_eq!(sum_f64(&[0.5, 0.25, 0.125, 1.0, 2.0]), 3.875);
    }

    #[test]
    fn this_machine_reports_its_instruction_set() {
        let isa = active_isa();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(isa == Isa::Avx2, std::arch::is_x86_feature_detected!("avx2"));
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(isa, Isa::Portable);
    }
}
