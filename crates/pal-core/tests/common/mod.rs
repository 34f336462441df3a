//! Test fixtures: random paged caches and a naive float64 reference written from the SPEC's
//! shapes, independent of the library's own addressing.
#![allow(dead_code, clippy::too_many_arguments)]

use half::{bf16, f16};
use pal_core::{CacheLayout, DType, FloatElement};

/// Deterministic xorshift generator: fresh inputs per case from proptest-chosen seeds.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Absolute + relative tolerance for outputs of magnitude about one, by dtype (stated once).
pub fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => 2e-5,
        DType::F16 => 3e-3,
        DType::BF16 => 2e-2,
        other => unreachable!("no tolerance for {other}"),
    }
}

pub fn assert_close(dtype: DType, actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let tol = tolerance(dtype);
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "{what}: element {i}: got {a}, expected {e} (dtype {dtype}, tolerance {tol})"
        );
    }
}

/// Random values of `T`, returned with their exact float64 values.
pub fn random_values<T: FloatElement>(rng: &mut TestRng, n: usize) -> (Vec<T>, Vec<f64>) {
    let data: Vec<T> = (0..n).map(|_| T::from_f32(rng.uniform())).collect();
    let exact = data.iter().map(|x| x.to_f32() as f64).collect();
    (data, exact)
}

pub fn to_f64<T: FloatElement>(data: &[T]) -> Vec<f64> {
    data.iter().map(|x| x.to_f32() as f64).collect()
}

/// Runs `body` with `T` set to the Rust type of `dtype`.
#[macro_export]
macro_rules! for_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            pal_core::DType::F32 => {
                type $T = f32;
                $body
            }
            pal_core::DType::F16 => {
                type $T = half::f16;
                $body
            }
            pal_core::DType::BF16 => {
                type $T = half::bf16;
                $body
            }
            other => unreachable!("no test data of {other}"),
        }
    };
}

pub const FLOAT_DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];
pub type Half = f16;
pub type Brain = bf16;

/// Index of element `[page, head, slot, dim]` of a pool, from the shapes in SPEC §2.
pub fn pool_index(
    layout: CacheLayout,
    is_key: bool,
    dtype: DType,
    (heads, head_dim, page_size): (usize, usize, usize),
    (page, head, slot, dim): (usize, usize, usize, usize),
) -> usize {
    let x = 16 / dtype.size_in_bytes();
    let flat = |shape: &[usize], index: &[usize]| index.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i);
    match (layout, is_key) {
        (CacheLayout::Pal, true) => flat(
            &[usize::MAX, heads, head_dim / x, page_size, x],
            &[page, head, dim / x, slot, dim % x],
        ),
        (CacheLayout::Pal, false) => flat(&[usize::MAX, heads, head_dim, page_size], &[page, head, dim, slot]),
        (CacheLayout::Nhd, _) => flat(&[usize::MAX, page_size, heads, head_dim], &[page, slot, head, dim]),
        (CacheLayout::Hnd, _) => flat(&[usize::MAX, heads, page_size, head_dim], &[page, head, slot, dim]),
    }
}

/// A paged cache holding random history for a batch of sequences, with the dense copy the
/// reference reads.
pub struct PagedCase<T> {
    pub layout: CacheLayout,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub page_size: usize,
    pub num_pages: usize,
    pub pages_per_sequence: usize,
    pub k_pool: Vec<T>,
    pub v_pool: Vec<T>,
    pub k_shape: Vec<usize>,
    pub v_shape: Vec<usize>,
    /// `[num_seqs, pages_per_sequence]`; unused entries are -1.
    pub page_table: Vec<i32>,
    pub lens: Vec<i32>,
    /// Per sequence, `[len, num_kv_heads, head_dim]` keys and values as float64.
    pub keys: Vec<Vec<f64>>,
    pub values: Vec<Vec<f64>>,
}

impl<T: FloatElement> PagedCase<T> {
    /// Sequences of the given lengths on randomly ordered pages of a pool with a few spare pages.
    pub fn new(
        rng: &mut TestRng,
        layout: CacheLayout,
        num_kv_heads: usize,
        head_dim: usize,
        page_size: usize,
        lens: &[usize],
    ) -> Self {
        let dtype = T::DTYPE;
        let pages_per_sequence = lens.iter().map(|l| l.div_ceil(page_size)).max().unwrap_or(0) + 1;
        let used: usize = lens.iter().map(|l| l.div_ceil(page_size)).sum();
        let num_pages = used + 3;
        let k_shape = pal_core::k_cache_shape(num_pages, num_kv_heads, head_dim, page_size, dtype, layout).unwrap();
        let v_shape = pal_core::v_cache_shape(num_pages, num_kv_heads, head_dim, page_size, dtype, layout).unwrap();
        // Unused pool memory holds random values too, so reading a wrong page shows.
        let pool_len = num_pages * num_kv_heads * head_dim * page_size;
        let (mut k_pool, _) = random_values::<T>(rng, pool_len);
        let (mut v_pool, _) = random_values::<T>(rng, pool_len);
        let mut free_pages: Vec<usize> = (0..num_pages).collect();
        rng.shuffle(&mut free_pages);
        let mut page_table = vec![-1i32; lens.len() * pages_per_sequence];
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        let geometry = (num_kv_heads, head_dim, page_size);
        for (seq, &len) in lens.iter().enumerate() {
            for j in 0..len.div_ceil(page_size) {
                page_table[seq * pages_per_sequence + j] = free_pages.pop().unwrap() as i32;
            }
            let (seq_keys, seq_values) = (
                random_values::<T>(rng, len * num_kv_heads * head_dim),
                random_values::<T>(rng, len * num_kv_heads * head_dim),
            );
            for token in 0..len {
                let page = page_table[seq * pages_per_sequence + token / page_size] as usize;
                for head in 0..num_kv_heads {
                    for dim in 0..head_dim {
                        let src = (token * num_kv_heads + head) * head_dim + dim;
                        let at = (page, head, token % page_size, dim);
                        k_pool[pool_index(layout, true, dtype, geometry, at)] = seq_keys.0[src];
                        v_pool[pool_index(layout, false, dtype, geometry, at)] = seq_values.0[src];
                    }
                }
            }
            keys.push(seq_keys.1);
            values.push(seq_values.1);
        }
        Self {
            layout,
            num_kv_heads,
            head_dim,
            page_size,
            num_pages,
            pages_per_sequence,
            k_pool,
            v_pool,
            k_shape,
            v_shape,
            page_table,
            lens: lens.iter().map(|&l| l as i32).collect(),
            keys,
            values,
        }
    }
}

/// Reference attention in float64: `queries` `[n, num_q_heads, head_dim]` where query row `i`
/// sees the first `visible[i]` of `keys`/`values` (`[len, num_kv_heads, head_dim]`).
pub fn reference_attention(
    queries: &[f64],
    visible: &[usize],
    keys: &[f64],
    values: &[f64],
    num_q_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    scale: f64,
) -> Vec<f64> {
    let group = num_q_heads / num_kv_heads;
    let mut out = vec![0.0; queries.len()];
    for (i, &seen) in visible.iter().enumerate() {
        for h in 0..num_q_heads {
            let q = &queries[(i * num_q_heads + h) * head_dim..][..head_dim];
            let kv_head = h / group;
            let row = |data: &[f64], t: usize| data[(t * num_kv_heads + kv_head) * head_dim..][..head_dim].to_vec();
            let scores: Vec<f64> = (0..seen)
                .map(|t| scale * q.iter().zip(row(keys, t)).map(|(a, b)| a * b).sum::<f64>())
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            let o = &mut out[(i * num_q_heads + h) * head_dim..][..head_dim];
            for (t, w) in weights.iter().enumerate() {
                for (o, v) in o.iter_mut().zip(row(values, t)) {
                    *o += w / total * v;
                }
            }
        }
    }
    out
}
