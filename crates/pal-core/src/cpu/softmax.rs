//! Online softmax over key tiles (flash-attention style), float32 throughout.

use super::simd;
use crate::dtype::FloatElement;

/// Running softmax state of `num_queries` query rows: max score, sum of weights, and the
/// unnormalised weighted sum of values.
pub(crate) struct OnlineSoftmax {
    head_dim: usize,
    pub max: Vec<f32>,
    pub sum: Vec<f32>,
    pub acc: Vec<f32>,
    scores: Vec<f32>,
}

impl OnlineSoftmax {
    pub fn new(head_dim: usize) -> Self {
        Self {
            head_dim,
            max: Vec::new(),
            sum: Vec::new(),
            acc: Vec::new(),
            scores: Vec::new(),
        }
    }

    /// Starts over with `num_queries` rows and no keys seen.
    pub fn reset(&mut self, num_queries: usize) {
        self.max.clear();
        self.max.resize(num_queries, f32::NEG_INFINITY);
        self.sum.clear();
        self.sum.resize(num_queries, 0.0);
        self.acc.clear();
        self.acc.resize(num_queries * self.head_dim, 0.0);
    }

    /// Folds in one tile of keys/values (`n` rows each). Query `j` sees the first
    /// `visible(j)` keys of the tile (`n` for all but causal diagonal tiles).
    pub fn absorb(
        &mut self,
        queries: &[f32],
        keys: &[f32],
        values: &[f32],
        scale: f32,
        visible: impl Fn(usize) -> usize,
    ) {
        let d = self.head_dim;
        let n = keys.len() / d;
        let num_queries = self.max.len();
        self.scores.resize(num_queries * n, 0.0);
        simd::scores(queries, keys, d, scale, &mut self.scores);
        for j in 0..num_queries {
            let seen = visible(j).min(n);
            if seen == 0 {
                continue;
            }
            let row = &mut self.scores[j * n..][..seen];
            let tile_max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let new_max = self.max[j].max(tile_max);
            let tile_sum = simd::exp_shifted(row, new_max);
            let acc = &mut self.acc[j * d..][..d];
            rescale(&mut self.max[j], &mut self.sum[j], acc, new_max);
            self.sum[j] += tile_sum;
            simd::accumulate(acc, row, &values[..seen * d]);
        }
    }

    /// Folds in the state of another, disjoint range of keys for query `j`.
    pub fn merge(&mut self, j: usize, max: f32, sum: f32, acc: &[f32]) {
        if sum == 0.0 {
            return;
        }
        let new_max = self.max[j].max(max);
        let theirs = (max - new_max).exp();
        let mine = &mut self.acc[j * self.head_dim..][..self.head_dim];
        rescale(&mut self.max[j], &mut self.sum[j], mine, new_max);
        self.sum[j] += sum * theirs;
        for (a, &b) in mine.iter_mut().zip(acc) {
            *a += b * theirs;
        }
    }

    /// The normalised output of query `j`; zeros when it saw no key.
    pub fn write_output<T: FloatElement>(&self, j: usize, out: &mut [T]) {
        let inverse = if self.sum[j] > 0.0 { 1.0 / self.sum[j] } else { 0.0 };
        for (o, &a) in out.iter_mut().zip(&self.acc[j * self.head_dim..][..self.head_dim]) {
            *o = T::from_f32(a * inverse);
        }
    }
}

/// Moves one query row to a new running max, scaling what it has summed so far.
fn rescale(max: &mut f32, sum: &mut f32, acc: &mut [f32], new_max: f32) {
    let old_max = std::mem::replace(max, new_max);
    if old_max == new_max || *sum == 0.0 {
        return;
    }
    let factor = (old_max - new_max).exp();
    *sum *= factor;
    for a in acc {
        *a *= factor;
    }
}
