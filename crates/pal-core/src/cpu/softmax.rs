//! Online softmax over key tiles (flash-attention style), float32 throughout.
//!
//! The attention variant reaches it through three seams: the key positions each query row sees
//! (a range, so a causal mask and a sliding window are the same thing), a [`ScoreTransform`]
//! applied to the scaled scores (soft-cap, ALiBi) and a sink logit per row folded into the
//! denominator when the output is normalised.

use std::ops::Range;

use super::simd;
use crate::dtype::FloatElement;

/// What turns scaled scores into softmax logits (SPEC §3.5: soft-cap, then ALiBi). Plain
/// attention leaves them as they are ([`Identity`]); a generic, so that costs nothing.
pub(crate) trait ScoreTransform {
    /// Transforms the scores of query row `row` against consecutive keys from position `first_key`.
    fn apply(&self, row: usize, first_key: usize, scores: &mut [f32]);
}

/// Plain attention: the scaled scores are the logits.
pub(crate) struct Identity;

impl ScoreTransform for Identity {
    #[inline(always)]
    fn apply(&self, _row: usize, _first_key: usize, _scores: &mut [f32]) {}
}

/// A tile of keys and values as dense float32 `[n, head_dim]` rows, with the sequence position
/// of its first key (positions are consecutive).
pub(crate) struct KvTile<'a> {
    pub keys: &'a [f32],
    pub values: &'a [f32],
    pub first_key: usize,
}

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

    /// Folds in one tile of keys and values. Query row `j` sees the keys whose positions lie in
    /// `visible(j)` (the tile's part of it may be empty); `transform` turns its scaled scores
    /// into logits.
    pub fn absorb(
        &mut self,
        queries: &[f32],
        tile: KvTile<'_>,
        scale: f32,
        visible: impl Fn(usize) -> Range<usize>,
        transform: &impl ScoreTransform,
    ) {
        let d = self.head_dim;
        let n = tile.keys.len() / d;
        let num_queries = self.max.len();
        self.scores.resize(num_queries * n, 0.0);
        simd::scores(queries, tile.keys, d, scale, &mut self.scores);
        for j in 0..num_queries {
            let seen = rows_in_tile(visible(j), tile.first_key, n);
            if seen.is_empty() {
                continue;
            }
            let row = &mut self.scores[j * n..][seen.clone()];
            transform.apply(j, tile.first_key + seen.start, row);
            let tile_max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let new_max = self.max[j].max(tile_max);
            let tile_sum = simd::exp_shifted(row, new_max);
            let acc = &mut self.acc[j * d..][..d];
            rescale(&mut self.max[j], &mut self.sum[j], acc, new_max);
            self.sum[j] += tile_sum;
            simd::accumulate(acc, row, &tile.values[seen.start * d..seen.end * d]);
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

    /// The normalised output of query `j`; zeros when it saw no key. A `sink` logit (SPEC §3.5
    /// attention sinks) joins the denominator and contributes no value; `None` for plain attention.
    pub fn write_output<T: FloatElement>(&self, j: usize, sink: Option<f32>, out: &mut [T]) {
        let (sum, acc_factor) = match sink {
            None => (self.sum[j], 1.0),
            // Rebase on the larger of the row's max and the sink so that neither exp overflows.
            Some(sink) => {
                let max = self.max[j].max(sink);
                let factor = (self.max[j] - max).exp();
                (self.sum[j] * factor + (sink - max).exp(), factor)
            }
        };
        let inverse = if sum > 0.0 { acc_factor / sum } else { 0.0 };
        for (o, &a) in out.iter_mut().zip(&self.acc[j * self.head_dim..][..self.head_dim]) {
            *o = T::from_f32(a * inverse);
        }
    }
}

/// Rows `0..n` of a tile whose first key sits at position `first_key` that lie in `visible`.
fn rows_in_tile(visible: Range<usize>, first_key: usize, n: usize) -> Range<usize> {
    visible.start.saturating_sub(first_key).min(n)..visible.end.saturating_sub(first_key).min(n)
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
