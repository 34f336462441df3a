//! What decode and prefill share: per-thread working memory, and the loop that streams keys and
//! values through the online softmax tile by tile.

use std::ops::Range;

use super::softmax::{KvTile, OnlineSoftmax, ScoreTransform};
use super::tile::{KvSource, TILE};

/// Per-thread working memory, reused across work items.
pub(crate) struct Workspace {
    /// The work item's query vectors, float32.
    pub queries: Vec<f32>,
    keys: Vec<f32>,
    values: Vec<f32>,
    scratch: Vec<f32>,
    /// The softmax state of the work item's query vectors.
    pub state: OnlineSoftmax,
}

impl Workspace {
    pub fn new(head_dim: usize) -> Self {
        Self {
            queries: Vec::new(),
            keys: vec![0.0; TILE * head_dim],
            values: vec![0.0; TILE * head_dim],
            scratch: Vec::new(),
            state: OnlineSoftmax::new(head_dim),
        }
    }

    /// Folds rows `rows` of `source`'s KV head `kv_head` into the softmax state of query vectors
    /// `query_rows`, tile by tile. Query vector `j` sees the keys whose positions lie in
    /// `visible(j)`; `transform` turns scores into logits.
    #[allow(clippy::too_many_arguments)]
    pub fn stream(
        &mut self,
        source: &impl KvSource,
        kv_head: usize,
        query_rows: Range<usize>,
        rows: Range<usize>,
        scale: f32,
        visible: impl Fn(usize) -> Range<usize>,
        transform: &impl ScoreTransform,
    ) {
        let d = self.keys.len() / TILE;
        for start in rows.clone().step_by(TILE) {
            let n = TILE.min(rows.end - start);
            let (keys, values) = (&mut self.keys[..n * d], &mut self.values[..n * d]);
            source.load(kv_head, start, keys, values, &mut self.scratch);
            let tile = KvTile {
                keys,
                values,
                first_key: source.first_position() + start,
            };
            self.state
                .absorb(&self.queries, query_rows.clone(), tile, scale, &visible, transform);
        }
    }
}
