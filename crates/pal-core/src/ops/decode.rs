//! `paged_attention_decode` (SPEC §3.1): one query token per sequence against its paged history.

use crate::dtype::DType;
use crate::error::Result;
use crate::options::AttentionOptions;
use crate::problem::{variant_reads, DecodeInputs, DecodeProblem};
use crate::tensor::{Device, TensorViewMut};
use crate::validate::Check;

/// Attention of one new query token per sequence over the first `seq_lens[b]` cached tokens of
/// that sequence; writes `out` (`[num_seqs, num_q_heads, head_dim]`, the queries' dtype).
/// A zero-length sequence gives zeros. Runs on the device that holds the inputs.
pub fn paged_attention_decode(
    inputs: &DecodeInputs<'_>,
    out: &mut TensorViewMut<'_>,
    options: &AttentionOptions,
) -> Result<()> {
    let problem = validate(inputs, out, options)?;
    if problem.num_seqs == 0 {
        return Ok(());
    }
    crate::host_profile::mark(crate::host_profile::Stage::Validation);
    let result = super::backend_for(inputs.queries.device())?.decode(&problem, out);
    crate::host_profile::mark(crate::host_profile::Stage::Launch);
    result
}

fn validate<'a, 'i>(
    inputs: &'i DecodeInputs<'a>,
    out: &TensorViewMut<'_>,
    options: &AttentionOptions,
) -> Result<DecodeProblem<'a, 'i>> {
    let check = Check {
        op: "paged_attention_decode",
        device: inputs.queries.device(),
    };
    let &[num_seqs, num_q_heads, head_dim] =
        check.rank("queries", &inputs.queries, "[num_seqs, num_q_heads, head_dim]")?
    else {
        unreachable!("rank checked")
    };
    check.float("queries", &inputs.queries)?;
    let query_dtype = inputs.queries.dtype();
    let geometry = check.pools(
        options.layout,
        ("queries", query_dtype),
        &inputs.k_cache,
        &inputs.v_cache,
    )?;
    if head_dim != geometry.head_dim {
        return Err(crate::Error::shape(
            check.op,
            "queries",
            format!("[num_seqs, num_q_heads, {}] (head_dim of the pools)", geometry.head_dim),
            inputs.queries.shape(),
        ));
    }
    check.head_grouping("queries", num_q_heads, geometry.num_kv_heads)?;

    let table_shape = check.rank("page_table", &inputs.page_table, "[num_seqs, pages_per_sequence]")?;
    check.dtype("page_table", &inputs.page_table, DType::I32)?;
    let pages_per_sequence = table_shape[1];
    check.exact(
        "page_table",
        &inputs.page_table,
        &[num_seqs, pages_per_sequence],
        "[num_seqs, pages_per_sequence]",
    )?;
    check.exact("seq_lens", &inputs.seq_lens, &[num_seqs], "[num_seqs]")?;
    check.dtype("seq_lens", &inputs.seq_lens, DType::I32)?;

    let out_view = out.as_view();
    check.exact(
        "out",
        &out_view,
        inputs.queries.shape(),
        "[num_seqs, num_q_heads, head_dim]",
    )?;
    check.dtype("out", &out_view, query_dtype)?;
    let mut reads = vec![
        ("queries", &inputs.queries),
        ("k_cache", &inputs.k_cache),
        ("v_cache", &inputs.v_cache),
        ("page_table", &inputs.page_table),
        ("seq_lens", &inputs.seq_lens),
    ];
    reads.extend(variant_reads(
        inputs.alibi_slopes.as_ref(),
        inputs.sinks.as_ref(),
        &inputs.kv_scales,
    ));
    check.disjoint("out", &out_view, &reads)?;
    let scale = check.scale(options.scale, head_dim)?;
    check.variant(&options.variant)?;
    check.head_vector("alibi_slopes", inputs.alibi_slopes.as_ref(), num_q_heads)?;
    check.head_vector("sinks", inputs.sinks.as_ref(), num_q_heads)?;
    check.kv_scales(&inputs.kv_scales, &geometry)?;

    if inputs.page_table.device() == Device::Cpu {
        // SAFETY: host tensors whose dtype and shape were checked above.
        let (seq_lens, page_table) = unsafe {
            (
                inputs.seq_lens.host_slice::<i32>(),
                inputs.page_table.host_slice::<i32>(),
            )
        };
        check.lengths_and_pages("seq_lens", seq_lens, page_table, pages_per_sequence, &geometry)?;
    }
    Ok(DecodeProblem {
        inputs,
        query_dtype,
        geometry,
        num_seqs,
        num_q_heads,
        pages_per_sequence,
        scale,
        variant: options.variant,
        execution: options.execution,
    })
}
