//! Decode on the CPU: split-KV (flash-decoding). Each work item is one (sequence, chunk of
//! `KV_CHUNK` tokens) and a run of its KV heads (all of them where that leaves every thread
//! work enough), and serves all their query heads from one pass over the keys and values; a
//! second pass merges the chunks of each sequence in order.

use super::fused;
use super::softmax::{Logits, OnlineSoftmax};
use super::tile::PagedKv;
use super::workspace::Workspace;
use super::{head_vector, Spread};
use crate::dtype::FloatElement;
use crate::problem::DecodeProblem;
use crate::tensor::TensorViewMut;

/// Tokens per work item: long contexts spread over all cores, short ones stay in one item.
/// Fixed, so the split (and so the result) never depends on the thread count.
const KV_CHUNK: usize = 512;

struct WorkItem {
    seq: usize,
    /// The item's KV heads: `first_kv_head..first_kv_head + heads_per_item(..)`.
    first_kv_head: usize,
    start: usize,
    end: usize,
}

/// KV heads a work item takes: all of them while there are (sequence, chunk) pairs enough for
/// four items a thread, else the largest divisor of `num_kv_heads` that makes that many. A whole
/// page of every head is one span of memory in every layout, so an item over all heads reads
/// its pages whole, once (`nhd` bfloat16 8 x 4096 on a 2-core Zen 5: 1.9x one head an item).
/// Which heads share an item never changes a result: each head's sums are the same whichever
/// item holds it.
fn heads_per_item(seq_chunks: usize, num_kv_heads: usize) -> usize {
    let wanted = 4 * rayon::current_num_threads();
    (1..=num_kv_heads)
        .rev()
        .filter(|h| num_kv_heads.is_multiple_of(*h))
        .find(|h| seq_chunks * (num_kv_heads / h) >= wanted)
        .unwrap_or(1)
}

/// Queries and output are `Q`s, the pools `K`s.
pub(super) fn run<Q: FloatElement, K: FloatElement>(problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) {
    let geometry = problem.geometry;
    let (d, num_kv_heads) = (geometry.head_dim, geometry.num_kv_heads);
    let group = problem.num_q_heads / num_kv_heads;
    let inputs = problem.inputs;
    // SAFETY: validation checked that every input is a host tensor of the expected dtype.
    let (queries, k_pool, v_pool, page_table, seq_lens) = unsafe {
        (
            inputs.queries.host_slice::<Q>(),
            inputs.k_cache.host_slice::<K>(),
            inputs.v_cache.host_slice::<K>(),
            inputs.page_table.host_slice::<i32>(),
            inputs.seq_lens.host_slice::<i32>(),
        )
    };
    // SAFETY: as above, for the output.
    let out = unsafe { out.host_slice_mut::<Q>() };
    // SAFETY: validated `[num_q_heads]` float32 host vectors.
    let (slopes, sinks) = unsafe {
        (
            head_vector(inputs.alibi_slopes.as_ref()),
            head_vector(inputs.sinks.as_ref()),
        )
    };
    // SAFETY: validated float32 host scales.
    let (k_scales, v_scales) = unsafe {
        (
            inputs.kv_scales.k.host_per_head(num_kv_heads),
            inputs.kv_scales.v.host_per_head(num_kv_heads),
        )
    };

    // Pools that need no dequantisation, read in place where the machine allows.
    let in_place = k_scales.iter().chain(v_scales.iter()).all(|&s| s == 1.0) && fused::applies(&geometry);

    // A sequence's items, chunk-major with its runs of KV heads fastest: with `(first, chunks)` =
    // `seq_items[seq]`, (seq, chunk c, run r) is item `first + c * runs + r`, so the items the
    // threads take at once (in index order) read the same pages.
    let mut spans = Vec::with_capacity(problem.num_seqs);
    for &len in seq_lens {
        let len = len as usize;
        // Keys before a window's start are never read.
        let first = if len == 0 {
            0
        } else {
            problem.variant.visible_keys(len - 1).start
        };
        spans.push((first, len));
    }
    let seq_chunks: usize = spans.iter().map(|&(first, len)| (len - first).div_ceil(KV_CHUNK)).sum();
    let heads = heads_per_item(seq_chunks, num_kv_heads);
    let runs = num_kv_heads / heads;
    let mut items = Vec::new();
    let mut seq_items = Vec::with_capacity(problem.num_seqs);
    for (seq, &(first, len)) in spans.iter().enumerate() {
        let chunks = (len - first).div_ceil(KV_CHUNK);
        seq_items.push((items.len(), chunks));
        for c in 0..chunks {
            items.extend((0..runs).map(|r| WorkItem {
                seq,
                first_kv_head: r * heads,
                start: first + c * KV_CHUNK,
                end: (first + (c + 1) * KV_CHUNK).min(len),
            }));
        }
    }

    // Per item and query head: max, sum, then head_dim accumulators.
    let rows = heads * group;
    let partial_len = rows * (d + 2);
    let mut partials = vec![0f32; items.len() * partial_len];
    let tokens: usize = spans.iter().map(|&(first, len)| len - first).sum();
    Spread::for_bytes(2 * tokens * num_kv_heads * d * std::mem::size_of::<K>()).chunks(
        &mut partials,
        partial_len,
        || Workspace::new(d),
        |ws, i, partial| {
            let item = &items[i];
            let first_q = (item.seq * problem.num_q_heads + item.first_kv_head * group) * d;
            ws.queries.resize(rows * d, 0.0);
            Q::convert_to_f32(&queries[first_q..][..rows * d], &mut ws.queries);
            let source = PagedKv {
                k_pool,
                v_pool,
                geometry,
                pages: &page_table[item.seq * problem.pages_per_sequence..][..problem.pages_per_sequence],
                scales: (&k_scales, &v_scales),
            };
            // The query is its sequence's last token.
            let position = seq_lens[item.seq] as usize - 1;
            let visible = problem.variant.visible_keys(position);
            // Row r of the item is query head `first_kv_head * group + r`: the slopes of run
            // `first_kv_head / heads` of `rows` query heads.
            let logits = Logits::for_group(&problem.variant, slopes, item.first_kv_head / heads, rows, |_| position);
            ws.state.reset(rows);
            let kv_heads = item.first_kv_head..item.first_kv_head + heads;
            let mut done = 0;
            // The in-place paths take items that start on a page and whose keys the query sees
            // in full (decode items start at the window's start); the general path does the rest.
            if in_place && item.start % geometry.page_size == 0 && visible.start <= item.start {
                // SAFETY: `fused::applies` accepted this geometry on this machine, and
                // validation checked the page ids of every token in the item.
                done = unsafe {
                    fused::absorb(
                        &source,
                        kv_heads.clone(),
                        &mut ws.state,
                        &ws.queries,
                        item.start..item.end,
                        problem.scale,
                        &logits,
                    )
                };
            }
            for (i, kv_head) in kv_heads.enumerate() {
                ws.stream(
                    &source,
                    kv_head,
                    i * group..(i + 1) * group,
                    item.start + done..item.end,
                    problem.scale,
                    |_| visible.clone(),
                    &logits,
                );
            }
            let (max, rest) = partial.split_at_mut(rows);
            let (sum, acc) = rest.split_at_mut(rows);
            max.copy_from_slice(&ws.state.max);
            sum.copy_from_slice(&ws.state.sum);
            acc.copy_from_slice(&ws.state.acc);
        },
    );

    // The merge reads the partials only: on the pool where they are large.
    Spread::for_bytes(std::mem::size_of_val(partials.as_slice())).chunks(
        out,
        group * d,
        || OnlineSoftmax::new(d),
        |state, seq_and_head, out_rows| {
            state.reset(group);
            let (seq, kv_head) = (seq_and_head / num_kv_heads, seq_and_head % num_kv_heads);
            let (first, chunks) = seq_items[seq];
            // The KV head's query rows in its items.
            let row0 = kv_head % heads * group;
            for c in 0..chunks {
                let item = first + c * runs + kv_head / heads;
                let partial = &partials[item * partial_len..][..partial_len];
                let (max, rest) = partial.split_at(rows);
                let (sum, acc) = rest.split_at(rows);
                for j in 0..group {
                    let r = row0 + j;
                    state.merge(j, max[r], sum[r], &acc[r * d..][..d]);
                }
            }
            // Rows of (sequence, KV head) `seq_and_head` are its group's query heads, in order.
            let first_head = seq_and_head % num_kv_heads * group;
            for (j, row) in out_rows.chunks_exact_mut(d).enumerate() {
                state.write_output(j, sinks.map(|s| s[first_head + j]), row);
            }
        },
    );
}
