//! The two inner loops of attention on the CPU, with an AVX2+FMA path chosen at run time and a
//! portable path elsewhere. Each sums in a fixed order, so a result never depends on threading.

/// `scores[j * n + t] = scale * <queries[j], keys[t]>` for `nq` query rows and `n` key rows.
pub(crate) fn scores(queries: &[f32], keys: &[f32], head_dim: usize, scale: f32, scores: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        return unsafe { avx2::scores(queries, keys, head_dim, scale, scores) };
    }
    portable::scores(queries, keys, head_dim, scale, scores)
}

/// `acc += sum_t weights[t] * values[t]` over `weights.len()` value rows of `acc.len()` elements.
pub(crate) fn accumulate(acc: &mut [f32], weights: &[f32], values: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: as above.
        return unsafe { avx2::accumulate(acc, weights, values) };
    }
    portable::accumulate(acc, weights, values)
}

mod portable {
    const LANES: usize = 8;

    pub fn scores(queries: &[f32], keys: &[f32], head_dim: usize, scale: f32, scores: &mut [f32]) {
        let n = keys.len() / head_dim;
        for (j, query) in queries.chunks_exact(head_dim).enumerate() {
            for (t, key) in keys.chunks_exact(head_dim).enumerate() {
                scores[j * n + t] = scale * dot(query, key);
            }
        }
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut lanes = [0f32; LANES];
        let (a_main, a_tail) = a.split_at(a.len() / LANES * LANES);
        let (b_main, b_tail) = b.split_at(a_main.len());
        for (x, y) in a_main.chunks_exact(LANES).zip(b_main.chunks_exact(LANES)) {
            for l in 0..LANES {
                lanes[l] += x[l] * y[l];
            }
        }
        let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
        lanes.iter().sum::<f32>() + tail
    }

    pub fn accumulate(acc: &mut [f32], weights: &[f32], values: &[f32]) {
        for (&w, row) in weights.iter().zip(values.chunks_exact(acc.len())) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += w * v;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn horizontal_sum(v: __m256) -> f32 {
        let halves = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
        _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)))
    }

    /// Dot products of up to four query rows with one key row, sharing each key load.
    #[inline(always)]
    unsafe fn dots<const ROWS: usize>(queries: [*const f32; ROWS], key: &[f32]) -> [f32; ROWS] {
        let head_dim = key.len();
        let main = head_dim / 8 * 8;
        let mut acc = [_mm256_setzero_ps(); ROWS];
        let mut d = 0;
        while d < main {
            let k = _mm256_loadu_ps(key.as_ptr().add(d));
            for r in 0..ROWS {
                acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(queries[r].add(d)), k, acc[r]);
            }
            d += 8;
        }
        let mut out = [0f32; ROWS];
        for r in 0..ROWS {
            out[r] = horizontal_sum(acc[r]);
            for (dd, &k) in key.iter().enumerate().skip(main) {
                out[r] += *queries[r].add(dd) * k;
            }
        }
        out
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn scores(queries: &[f32], keys: &[f32], head_dim: usize, scale: f32, scores: &mut [f32]) {
        let nq = queries.len() / head_dim;
        let n = keys.len() / head_dim;
        let row = |j: usize| queries.as_ptr().add(j * head_dim);
        for (t, key) in keys.chunks_exact(head_dim).enumerate() {
            let mut j = 0;
            while j + 4 <= nq {
                let s = dots([row(j), row(j + 1), row(j + 2), row(j + 3)], key);
                for (r, value) in s.into_iter().enumerate() {
                    scores[(j + r) * n + t] = scale * value;
                }
                j += 4;
            }
            while j < nq {
                scores[j * n + t] = scale * dots([row(j)], key)[0];
                j += 1;
            }
        }
    }

    /// Adds the weighted value rows into `BLOCKS * 8` accumulator lanes held in registers.
    #[inline(always)]
    unsafe fn accumulate_block<const BLOCKS: usize>(acc: *mut f32, weights: &[f32], values: *const f32, stride: usize) {
        let mut regs = [_mm256_setzero_ps(); BLOCKS];
        for (b, reg) in regs.iter_mut().enumerate() {
            *reg = _mm256_loadu_ps(acc.add(b * 8));
        }
        for (t, &w) in weights.iter().enumerate() {
            let w = _mm256_set1_ps(w);
            let row = values.add(t * stride);
            for (b, reg) in regs.iter_mut().enumerate() {
                *reg = _mm256_fmadd_ps(w, _mm256_loadu_ps(row.add(b * 8)), *reg);
            }
        }
        for (b, reg) in regs.iter().enumerate() {
            _mm256_storeu_ps(acc.add(b * 8), *reg);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn accumulate(acc: &mut [f32], weights: &[f32], values: &[f32]) {
        let head_dim = acc.len();
        let mut d = 0;
        while d + 32 <= head_dim {
            accumulate_block::<4>(acc.as_mut_ptr().add(d), weights, values.as_ptr().add(d), head_dim);
            d += 32;
        }
        while d + 8 <= head_dim {
            accumulate_block::<1>(acc.as_mut_ptr().add(d), weights, values.as_ptr().add(d), head_dim);
            d += 8;
        }
        for dd in d..head_dim {
            for (t, &w) in weights.iter().enumerate() {
                acc[dd] += w * values[t * head_dim + dd];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_and_portable_paths_agree() {
        for head_dim in [3, 8, 13, 64, 80, 128, 200] {
            let queries: Vec<f32> = (0..7 * head_dim)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let keys: Vec<f32> = (0..5 * head_dim)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 30.0)
                .collect();
            let (mut fast, mut slow) = (vec![0f32; 35], vec![0f32; 35]);
            scores(&queries, &keys, head_dim, 0.5, &mut fast);
            portable::scores(&queries, &keys, head_dim, 0.5, &mut slow);
            for (a, b) in fast.iter().zip(&slow) {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "head_dim {head_dim}: {a} vs {b}"
                );
            }
            let weights = [0.25f32, -1.5, 2.0, 0.125, 1.0];
            let (mut fast, mut slow) = (vec![1f32; head_dim], vec![1f32; head_dim]);
            accumulate(&mut fast, &weights, &keys);
            portable::accumulate(&mut slow, &weights, &keys);
            for (a, b) in fast.iter().zip(&slow) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "head_dim {head_dim}: {a} vs {b}"
                );
            }
        }
    }
}
