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

/// `values[i] = exp(values[i] - shift)` for all `i`; returns their sum. Every value must be at
/// most `shift` (softmax weights against the running max).
pub(crate) fn exp_shifted(values: &mut [f32], shift: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: as above.
        return unsafe { avx2::exp_shifted(values, shift) };
    }
    portable::exp_shifted(values, shift)
}

/// Transposes columns `first_col..first_col + dst.len() / rows` of the row-major `rows x cols`
/// matrix `src` into `dst`, row-major `[column][row]` (turns a `pal` value page `[D][page_size]`
/// into token rows).
pub(crate) fn transpose_columns(src: &[f32], rows: usize, cols: usize, first_col: usize, dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: as above.
        return unsafe { avx2::transpose_columns(src, rows, cols, first_col, dst) };
    }
    portable::transpose_columns(src, rows, cols, first_col, dst, 0, 0)
}

mod portable {
    pub fn exp_shifted(values: &mut [f32], shift: f32) -> f32 {
        let mut sum = 0.0;
        for v in values {
            *v = (*v - shift).exp();
            sum += *v;
        }
        sum
    }

    /// Scalar transpose of the part of the matrix from row `from_row` or column offset `from_col` on.
    pub fn transpose_columns(
        src: &[f32],
        rows: usize,
        cols: usize,
        first_col: usize,
        dst: &mut [f32],
        from_row: usize,
        from_col: usize,
    ) {
        let count = dst.len() / rows;
        for c in 0..count {
            for r in 0..rows {
                if r >= from_row || c >= from_col {
                    dst[c * rows + r] = src[r * cols + first_col + c];
                }
            }
        }
    }

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

    /// exp of eight lanes to about 2 ulp (Cephes' polynomial after reduction by powers of two);
    /// inputs below the smallest normal result give 0.
    #[inline(always)]
    unsafe fn exp8(x: __m256) -> __m256 {
        let underflow = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(-87.3));
        let x = _mm256_max_ps(x, _mm256_set1_ps(-87.3));
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            x,
            _mm256_set1_ps(std::f32::consts::LOG2_E),
        ));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm256_set1_ps(1.987_569_1e-4);
        for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
        }
        let p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0));
        let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        )));
        _mm256_andnot_ps(underflow, _mm256_mul_ps(p, scale))
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp_shifted(values: &mut [f32], shift: f32) -> f32 {
        let main = values.len() / 8 * 8;
        let shift8 = _mm256_set1_ps(shift);
        let mut sum = _mm256_setzero_ps();
        for chunk in values[..main].chunks_exact_mut(8) {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(chunk.as_ptr()), shift8));
            _mm256_storeu_ps(chunk.as_mut_ptr(), e);
            sum = _mm256_add_ps(sum, e);
        }
        let mut total = horizontal_sum(sum);
        let rest = values.len() - main;
        if rest > 0 {
            let mut tail = [f32::NEG_INFINITY; 8];
            tail[..rest].copy_from_slice(&values[main..]);
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), shift8));
            _mm256_storeu_ps(tail.as_mut_ptr(), e);
            values[main..].copy_from_slice(&tail[..rest]);
            total += horizontal_sum(e);
        }
        total
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn transpose_columns(src: &[f32], rows: usize, cols: usize, first_col: usize, dst: &mut [f32]) {
        let count = dst.len() / rows;
        assert!(rows * cols <= src.len() && first_col + count <= cols);
        let (row_blocks, col_blocks) = (rows / 8 * 8, count / 8 * 8);
        for r in (0..row_blocks).step_by(8) {
            for c in (0..col_blocks).step_by(8) {
                let at = |i: usize| _mm256_loadu_ps(src.as_ptr().add((r + i) * cols + first_col + c));
                let (a0, a1, a2, a3) = (at(0), at(1), at(2), at(3));
                let (a4, a5, a6, a7) = (at(4), at(5), at(6), at(7));
                let (t0, t1) = (_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
                let (t2, t3) = (_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
                let (t4, t5) = (_mm256_unpacklo_ps(a4, a5), _mm256_unpackhi_ps(a4, a5));
                let (t6, t7) = (_mm256_unpacklo_ps(a6, a7), _mm256_unpackhi_ps(a6, a7));
                let (u0, u1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
                let (u2, u3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
                let (u4, u5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
                let (u6, u7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
                let out = [
                    _mm256_permute2f128_ps::<0x20>(u0, u4),
                    _mm256_permute2f128_ps::<0x20>(u1, u5),
                    _mm256_permute2f128_ps::<0x20>(u2, u6),
                    _mm256_permute2f128_ps::<0x20>(u3, u7),
                    _mm256_permute2f128_ps::<0x31>(u0, u4),
                    _mm256_permute2f128_ps::<0x31>(u1, u5),
                    _mm256_permute2f128_ps::<0x31>(u2, u6),
                    _mm256_permute2f128_ps::<0x31>(u3, u7),
                ];
                for (j, row) in out.into_iter().enumerate() {
                    _mm256_storeu_ps(dst.as_mut_ptr().add((c + j) * rows + r), row);
                }
            }
        }
        // The ragged edges (rows past the last full block, or columns past it).
        if row_blocks < rows || col_blocks < count {
            super::portable::transpose_columns(src, rows, cols, first_col, dst, row_blocks, col_blocks);
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
            let inputs: Vec<f32> = (0..head_dim)
                .map(|i| -(i as f32) * 0.731)
                .chain([0.0, -1e-6, -87.0, -88.0, -1e4])
                .collect();
            let (mut fast, mut slow) = (inputs.clone(), inputs.clone());
            let (fast_sum, slow_sum) = (exp_shifted(&mut fast, 0.0), portable::exp_shifted(&mut slow, 0.0));
            assert!((fast_sum - slow_sum).abs() <= 1e-6 * slow_sum);
            for (a, b) in fast.iter().zip(&slow) {
                assert!(
                    (a - b).abs() <= 4.0 * f32::EPSILON * b.abs() || (*b < 1e-37 && *a == 0.0),
                    "exp: {a} vs {b}"
                );
            }
            let matrix: Vec<f32> = (0..head_dim * 13).map(|i| i as f32).collect();
            for (first, count) in [(0, 13), (3, 9), (5, 8), (2, 1)] {
                let mut fast = vec![0f32; count * head_dim];
                transpose_columns(&matrix, head_dim, 13, first, &mut fast);
                for c in 0..count {
                    for r in 0..head_dim {
                        assert_eq!(fast[c * head_dim + r], matrix[r * 13 + first + c]);
                    }
                }
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
