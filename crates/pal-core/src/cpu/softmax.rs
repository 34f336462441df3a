//! Online softmax over key tiles (flash-attention style), float32 throughout.
//!
//! The attention variant reaches it through three seams: the key positions each query row sees
//! (a range, so a causal mask and a sliding window are the same thing), a [`ScoreTransform`]
//! applied to the scaled scores (soft-cap, ALiBi) and a sink logit per row folded into the
//! denominator when the output is normalised.

use std::ops::Range;

use super::simd;
use crate::dtype::FloatElement;

/// What turns scaled scores into softmax logits (SPEC §3.5: soft-cap, then ALiBi): [`Logits`]
/// for the variants, or any position-dependent transform (the tests use one).
pub(crate) trait ScoreTransform {
    /// Transforms the scores of query row `row` against consecutive keys from position `first_key`.
    fn apply(&self, row: usize, first_key: usize, scores: &mut [f32]);
}

/// The variant's logit transform for one work item (SPEC §3.5, in order: soft-cap, then ALiBi),
/// one branch per row and tile. Row `r` of the item is query head `r % group` of its KV head's
/// group (`slopes` holds the group's slopes) at sequence position `position(r)`.
pub(crate) struct Logits<'a, P: Fn(usize) -> usize> {
    pub cap: Option<f32>,
    pub slopes: Option<&'a [f32]>,
    pub group: usize,
    pub position: P,
}

impl<'a, P: Fn(usize) -> usize> Logits<'a, P> {
    /// The transform of KV head `kv_head`'s `group` query heads: the variant's soft-cap and, from
    /// the call's `[num_q_heads]` ALiBi slopes, the group's own.
    pub fn for_group(
        variant: &crate::variant::AttentionVariant,
        slopes: Option<&'a [f32]>,
        kv_head: usize,
        group: usize,
        position: P,
    ) -> Self {
        Self {
            cap: variant.logits_soft_cap,
            slopes: slopes.map(|s| &s[kv_head * group..][..group]),
            group,
            position,
        }
    }
}

impl<P: Fn(usize) -> usize> ScoreTransform for Logits<'_, P> {
    #[inline]
    fn apply(&self, row: usize, first_key: usize, scores: &mut [f32]) {
        if let Some(cap) = self.cap {
            for score in scores.iter_mut() {
                *score = cap * (*score / cap).tanh();
            }
        }
        if let Some(slopes) = self.slopes {
            let slope = slopes[row % self.group];
            let query = (self.position)(row) as f32;
            for (k, score) in scores.iter_mut().enumerate() {
                *score += slope * ((first_key + k) as f32 - query);
            }
        }
    }
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

    /// Folds in one tile of keys and values for the query rows `rows` (of `queries`, one per
    /// row of the state). Query row `j` sees the keys whose positions lie in `visible(j)` (the
    /// tile's part of it may be empty); `transform` turns its scaled scores into logits.
    pub fn absorb(
        &mut self,
        queries: &[f32],
        rows: Range<usize>,
        tile: KvTile<'_>,
        scale: f32,
        visible: impl Fn(usize) -> Range<usize>,
        transform: &impl ScoreTransform,
    ) {
        let d = self.head_dim;
        let n = tile.keys.len() / d;
        self.scores.resize(rows.len() * n, 0.0);
        simd::scores(
            &queries[rows.start * d..rows.end * d],
            tile.keys,
            d,
            scale,
            &mut self.scores,
        );
        for j in rows.clone() {
            let seen = rows_in_tile(visible(j), tile.first_key, n);
            if seen.is_empty() {
                continue;
            }
            let row = &mut self.scores[(j - rows.start) * n..][seen.clone()];
            transform.apply(j, tile.first_key + seen.start, row);
            fold_weights(&mut self.max[j], &mut self.sum[j], &mut self.acc[j * d..][..d], row);
            simd::accumulate(
                &mut self.acc[j * d..][..d],
                row,
                &tile.values[seen.start * d..seen.end * d],
            );
        }
    }

    /// Turns row `j`'s logits of a tile into softmax weights against its new running max
    /// (rescaling what it has summed so far) and adds them to its sum; the caller then adds the
    /// weighted values to row `j` of `acc`.
    pub fn fold_row(&mut self, j: usize, logits: &mut [f32]) {
        let d = self.head_dim;
        fold_weights(&mut self.max[j], &mut self.sum[j], &mut self.acc[j * d..][..d], logits);
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

/// Folds one row's logits of a tile into its running max and sum, leaving their weights in place.
fn fold_weights(max: &mut f32, sum: &mut f32, acc: &mut [f32], logits: &mut [f32]) {
    let tile_max = max_of(logits);
    let new_max = max.max(tile_max);
    if new_max == f32::NEG_INFINITY {
        // No finite logit yet (every one so far overflowed to -inf): every weight is 0, where
        // exp(-inf - -inf) would be NaN.
        logits.fill(0.0);
        return;
    }
    let tile_sum = simd::exp_shifted(logits, new_max);
    rescale(max, sum, acc, new_max);
    *sum += tile_sum;
}

/// The largest of `logits` (NaNs ignored; -inf for none), sixteen lanes at a time so that the
/// compiler keeps them in vectors (a decode span folds 512 at once).
fn max_of(logits: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 16];
    let mut chunks = logits.chunks_exact(16);
    for chunk in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = if x > *m { x } else { *m };
        }
    }
    let rest = chunks.remainder().iter().copied();
    lanes.into_iter().chain(rest).fold(f32::NEG_INFINITY, f32::max)
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

#[cfg(test)]
fn plain() -> Logits<'static, fn(usize) -> usize> {
    Logits {
        cap: None,
        slopes: None,
        group: 1,
        position: |_| 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SCALE: f32 = 0.7;

    /// Keys and values (`[n, head_dim]` rows) at consecutive positions from `first_key`.
    struct Keys<'a> {
        head_dim: usize,
        keys: &'a [f32],
        values: &'a [f32],
        first_key: usize,
    }

    impl Keys<'_> {
        /// Folds the keys into a fresh state for `queries`, `tile` keys at a time.
        fn fold(
            &self,
            queries: &[f32],
            tile: usize,
            visible: impl Fn(usize) -> Range<usize>,
            transform: &impl ScoreTransform,
        ) -> OnlineSoftmax {
            let mut state = OnlineSoftmax::new(self.head_dim);
            state.reset(queries.len() / self.head_dim);
            let chunk = tile * self.head_dim;
            for (i, (keys, values)) in self.keys.chunks(chunk).zip(self.values.chunks(chunk)).enumerate() {
                let tile = KvTile {
                    keys,
                    values,
                    first_key: self.first_key + i * tile,
                };
                state.absorb(
                    queries,
                    0..queries.len() / self.head_dim,
                    tile,
                    SCALE,
                    &visible,
                    transform,
                );
            }
            state
        }

        /// Float64 attention of `query` over the keys whose positions lie in `visible`, logits
        /// through `logit(position, scaled score)`, with an optional sink logit.
        fn reference(
            &self,
            query: &[f32],
            visible: Range<usize>,
            logit: impl Fn(usize, f64) -> f64,
            sink: Option<f32>,
        ) -> Vec<f64> {
            let d = self.head_dim;
            let n = self.keys.len() / d;
            let seen: Vec<usize> = (0..n).filter(|t| visible.contains(&(self.first_key + t))).collect();
            let mut out = vec![0.0; d];
            if seen.is_empty() {
                return out;
            }
            let logits: Vec<f64> = seen
                .iter()
                .map(|&t| {
                    let dot: f64 = (0..d).map(|i| query[i] as f64 * self.keys[t * d + i] as f64).sum();
                    logit(self.first_key + t, SCALE as f64 * dot)
                })
                .collect();
            let sink = sink.map(f64::from);
            let max = logits.iter().chain(&sink).fold(f64::NEG_INFINITY, |m, &x| m.max(x));
            let denominator = logits.iter().chain(&sink).map(|x| (x - max).exp()).sum::<f64>();
            for (&t, x) in seen.iter().zip(&logits) {
                let weight = (x - max).exp() / denominator;
                for (o, &v) in out.iter_mut().zip(&self.values[t * d..][..d]) {
                    *o += weight * v as f64;
                }
            }
            out
        }
    }

    fn output(state: &OnlineSoftmax, j: usize, sink: Option<f32>) -> Vec<f64> {
        let mut out = vec![0f32; state.head_dim];
        state.write_output(j, sink, &mut out);
        out.into_iter().map(f64::from).collect()
    }

    fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (a - e).abs() <= 2e-5 * (1.0 + e.abs()),
                "{what}: element {i}: {a} vs {e}"
            );
        }
    }

    /// ALiBi-like: adds `slope * (key position - query position)`, so a transform given the
    /// wrong positions fails the reference.
    struct Slope {
        slope: f32,
        query_position: usize,
    }

    impl ScoreTransform for Slope {
        fn apply(&self, _row: usize, first_key: usize, scores: &mut [f32]) {
            for (t, s) in scores.iter_mut().enumerate() {
                *s += self.slope * ((first_key + t) as f32 - self.query_position as f32);
            }
        }
    }

    /// `(head_dim, n, queries, keys, values)`: `rows` query rows and `n` keys, uniform in [-1, 1).
    fn attention_inputs(rows: usize) -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<f32>)> {
        let uniform = |len| prop::collection::vec(-1.0f32..1.0, len);
        (1usize..20, 1usize..80)
            .prop_flat_map(move |(d, n)| (Just(d), Just(n), uniform(rows * d), uniform(n * d), uniform(n * d)))
    }

    proptest! {
        #[test]
        fn a_range_that_starts_late_equals_the_sliced_keys(
            (head_dim, n, queries, keys, values) in attention_inputs(2),
            first_key in 0usize..50,
            tile in 1usize..40,
            (skip, take) in (0usize..80, 1usize..80),
        ) {
            let (skip, take) = (skip % n, take.min(n - skip % n));
            let visible = first_key + skip..first_key + skip + take;
            let all = Keys { head_dim, keys: &keys, values: &values, first_key };
            let ranged = all.fold(&queries, tile, |_| visible.clone(), &plain());
            let rows = skip * head_dim..(skip + take) * head_dim;
            let sliced = Keys {
                head_dim,
                keys: &keys[rows.clone()],
                values: &values[rows],
                first_key: visible.start,
            };
            let whole = sliced.fold(&queries, tile, |_| 0..usize::MAX, &plain());
            for j in 0..2 {
                let expected = sliced.reference(&queries[j * head_dim..][..head_dim], 0..usize::MAX, |_, x| x, None);
                assert_close(&output(&ranged, j, None), &expected, "range against the reference");
                assert_close(&output(&ranged, j, None), &output(&whole, j, None), "range against the slice");
            }
        }

        #[test]
        fn ranges_transforms_and_sinks_match_a_reference(
            (head_dim, n, queries, keys, values) in attention_inputs(3),
            first_key in 0usize..50,
            tile in 1usize..40,
            bounds in prop::collection::vec((0usize..140, 0usize..140), 3),
            slope in -0.5f32..0.5,
            sink in prop::option::of(-3.0f32..3.0),
        ) {
            let visible = |j: usize| bounds[j].0.min(bounds[j].1)..bounds[j].0.max(bounds[j].1);
            let keys = Keys { head_dim, keys: &keys, values: &values, first_key };
            let transform = Slope { slope, query_position: first_key + n / 2 };
            let state = keys.fold(&queries, tile, visible, &transform);
            let logit = |position: usize, x: f64| {
                x + slope as f64 * (position as f64 - transform.query_position as f64)
            };
            for j in 0..3 {
                let expected = keys.reference(&queries[j * head_dim..][..head_dim], visible(j), logit, sink);
                assert_close(&output(&state, j, sink), &expected, &format!("row {j}"));
            }
        }
    }

    #[test]
    fn a_row_that_sees_no_key_is_zero_even_with_a_sink() {
        let d = 4;
        let (queries, keys) = (vec![0.5f32; d], vec![0.25f32; 3 * d]);
        let keys = Keys {
            head_dim: d,
            keys: &keys,
            values: &keys,
            first_key: 10,
        };
        let state = keys.fold(&queries, 2, |_| 0..10, &plain());
        assert_eq!(output(&state, 0, Some(1.0)), vec![0.0; d]);
        assert_eq!(output(&state, 0, None), vec![0.0; d]);
    }
    #[test]
    fn logits_that_overflowed_to_minus_infinity_weigh_nothing() {
        // A tile (or a whole split, merged after) of -inf logits before any finite one: its
        // weights are 0, not exp(-inf - -inf) = NaN (ALiBi or a scale near f32::MAX).
        let d = 2;
        let mut state = OnlineSoftmax::new(d);
        state.reset(1);
        let mut far = vec![f32::NEG_INFINITY; 3];
        state.fold_row(0, &mut far);
        assert_eq!(far, vec![0.0; 3]);
        let mut near = vec![1.0f32, 1.0];
        state.fold_row(0, &mut near);
        for a in &mut state.acc {
            *a += 2.0 * near[0];
        }
        let mut split = OnlineSoftmax::new(d);
        split.reset(1);
        split.fold_row(0, &mut [f32::NEG_INFINITY; 4]);
        state.merge(0, split.max[0], split.sum[0], &split.acc);
        assert_eq!(output(&state, 0, None), vec![1.0; d]);
    }
}
