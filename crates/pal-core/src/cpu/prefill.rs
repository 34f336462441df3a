//! Prefill on the CPU. A work item is one (sequence, KV head, block of `QUERY_BLOCK` prompt
//! rows) with all query heads of that KV head: it streams the sequence's history from the pools,
//! then the prompt's own keys up to its last row (later tiles are in the future and skipped).

use super::head_vector;
use super::softmax::Logits;
use super::tile::{DenseKv, PagedKv};
use super::workspace::Workspace;
use super::{DisjointWrites, Spread};
use crate::dtype::FloatElement;
use crate::problem::PrefillProblem;
use crate::tensor::TensorViewMut;

/// Prompt rows per work item.
const QUERY_BLOCK: usize = 16;

struct WorkItem {
    seq: usize,
    kv_head: usize,
    first_row: usize,
    end_row: usize,
}

/// `q`, `k`, `v` and the output are `Q`s, the pools `K`s.
pub(super) fn run<Q: FloatElement, K: FloatElement>(problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) {
    let geometry = problem.geometry;
    let (d, num_kv_heads, num_q_heads) = (geometry.head_dim, geometry.num_kv_heads, problem.num_q_heads);
    let group = num_q_heads / num_kv_heads;
    let inputs = problem.inputs;
    // SAFETY: validation checked that every input is a host tensor of the expected dtype.
    let (q, k, v, k_pool, v_pool, page_table, context_lens, prompt_offsets) = unsafe {
        (
            inputs.q.host_slice::<Q>(),
            inputs.k.host_slice::<Q>(),
            inputs.v.host_slice::<Q>(),
            inputs.k_cache.host_slice::<K>(),
            inputs.v_cache.host_slice::<K>(),
            inputs.page_table.host_slice::<i32>(),
            inputs.context_lens.host_slice::<i32>(),
            problem.host_prompt_offsets(),
        )
    };
    // SAFETY: as above, for the output.
    let out = DisjointWrites::new(unsafe { out.host_slice_mut::<Q>() });
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

    let mut items = Vec::new();
    for seq in 0..problem.num_seqs {
        let prompt_len = prompt_offsets[seq + 1] - prompt_offsets[seq];
        for kv_head in 0..num_kv_heads {
            items.extend((0..prompt_len).step_by(QUERY_BLOCK).map(|first_row| WorkItem {
                seq,
                kv_head,
                first_row,
                end_row: (first_row + QUERY_BLOCK).min(prompt_len),
            }));
        }
    }

    // Keys and values each item reads (its history and its prompt up to its last row).
    let bytes: usize = items
        .iter()
        .map(|item| (context_lens[item.seq] as usize + item.end_row) * 2 * d * std::mem::size_of::<K>())
        .sum();
    Spread::for_bytes(bytes).items(
        &items,
        || Workspace::new(d),
        |ws, item| {
            let first_token = prompt_offsets[item.seq];
            let rows = item.end_row - item.first_row;
            // Query vector j is prompt row first_row + j / group, head kv_head * group + j % group.
            ws.queries.resize(rows * group * d, 0.0);
            for (r, dst) in ws.queries.chunks_exact_mut(group * d).enumerate() {
                let token = first_token + item.first_row + r;
                let src = &q[(token * num_q_heads + item.kv_head * group) * d..][..group * d];
                Q::convert_to_f32(src, dst);
            }
            ws.state.reset(rows * group);

            let history = PagedKv {
                k_pool,
                v_pool,
                geometry,
                pages: &page_table[item.seq * problem.pages_per_sequence..][..problem.pages_per_sequence],
                scales: (&k_scales, &v_scales),
            };
            let history_len = context_lens[item.seq] as usize;
            // Prompt row r sits at position history_len + r.
            let position = |j: usize| history_len + item.first_row + j / group;
            let visible = |j: usize| problem.variant.visible_keys(position(j));
            let logits = Logits::for_group(&problem.variant, slopes, item.kv_head, group, position);
            // Keys before the window of the block's first row are visible to none of its rows.
            let first_visible = visible(0).start;
            ws.stream(
                &history,
                item.kv_head,
                0..rows * group,
                first_visible.min(history_len)..history_len,
                problem.scale,
                visible,
                &logits,
            );

            let prompt = DenseKv {
                keys: k,
                values: v,
                num_kv_heads,
                head_dim: d,
                first_row: first_token,
                first_position: history_len,
            };
            // Prompt keys past the block's last row are visible to none of its rows.
            ws.stream(
                &prompt,
                item.kv_head,
                0..rows * group,
                first_visible.saturating_sub(history_len).min(item.end_row)..item.end_row,
                problem.scale,
                visible,
                &logits,
            );

            for r in 0..rows {
                let token = first_token + item.first_row + r;
                // SAFETY: each (token, head) row belongs to exactly one work item.
                let dst = unsafe { out.slice((token * num_q_heads + item.kv_head * group) * d, group * d) };
                for (h, row) in dst.chunks_exact_mut(d).enumerate() {
                    let sink = sinks.map(|s| s[item.kv_head * group + h]);
                    ws.state.write_output(r * group + h, sink, row);
                }
            }
        },
    );
}
