//! `paged_attention_prefill` (SPEC §3.2): new prompt tokens attend to their sequence's cached
//! history and causally to the prompt itself.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::options::AttentionOptions;
use crate::problem::{variant_reads, PrefillInputs, PrefillProblem, PromptOffsets};
use crate::tensor::{Device, TensorViewMut};
use crate::validate::{check_prompt_offsets, Check};

/// Causal attention of the prompt tokens of each sequence over its cached history (the first
/// `context_lens[b]` tokens in the cache) and over its own prompt: prompt token `i` of sequence
/// `b` sits at position `context_lens[b] + i`. Writes `out` (`[total_tokens, num_q_heads,
/// head_dim]`, the queries' dtype). An empty batch (`page_table` of no rows) holds no prompt
/// tokens and writes nothing.
pub fn paged_attention_prefill(
    inputs: &PrefillInputs<'_>,
    out: &mut TensorViewMut<'_>,
    options: &AttentionOptions,
) -> Result<()> {
    let problem = validate(inputs, out, options)?;
    if problem.num_seqs == 0 || problem.total_tokens == 0 {
        return Ok(());
    }
    crate::host_profile::mark(crate::host_profile::Stage::Validation);
    let result = super::backend_for(inputs.q.device())?.prefill(&problem, out);
    crate::host_profile::mark(crate::host_profile::Stage::Launch);
    result
}

fn validate<'a, 'i>(
    inputs: &'i PrefillInputs<'a>,
    out: &TensorViewMut<'_>,
    options: &AttentionOptions,
) -> Result<PrefillProblem<'a, 'i>> {
    let check = Check {
        op: "paged_attention_prefill",
        device: inputs.q.device(),
    };
    let &[total_tokens, num_q_heads, head_dim] = check.rank("q", &inputs.q, "[total_tokens, num_q_heads, head_dim]")?
    else {
        unreachable!("rank checked")
    };
    check.float("q", &inputs.q)?;
    let query_dtype = inputs.q.dtype();
    let geometry = check.pools(options.layout, ("q", query_dtype), &inputs.k_cache, &inputs.v_cache)?;
    if head_dim != geometry.head_dim {
        return Err(Error::shape(
            check.op,
            "q",
            format!(
                "[total_tokens, num_q_heads, {}] (head_dim of the pools)",
                geometry.head_dim
            ),
            inputs.q.shape(),
        ));
    }
    check.head_grouping("q", num_q_heads, geometry.num_kv_heads)?;
    let kv_shape = [total_tokens, geometry.num_kv_heads, head_dim];
    for (arg, tensor) in [("k", &inputs.k), ("v", &inputs.v)] {
        check.exact(arg, tensor, &kv_shape, "[total_tokens, num_kv_heads, head_dim]")?;
        check.dtype(arg, tensor, query_dtype)?;
    }

    let table_shape = check.rank("page_table", &inputs.page_table, "[num_seqs, pages_per_sequence]")?;
    check.dtype("page_table", &inputs.page_table, DType::I32)?;
    let (num_seqs, pages_per_sequence) = (table_shape[0], table_shape[1]);
    check.exact("context_lens", &inputs.context_lens, &[num_seqs], "[num_seqs]")?;
    check.dtype("context_lens", &inputs.context_lens, DType::I32)?;
    if num_seqs == 0 && total_tokens > 0 {
        // An empty batch has no prompt tokens (checked here, on every device, and not through
        // `cu_seqlens_q`, whose one entry would have to be both 0 and `total_tokens`).
        return Err(Error::value(
            check.op,
            "q.shape[0] (total_tokens)",
            "0: page_table has no rows (num_seqs = 0), so there is no prompt to hold a token",
            total_tokens,
        ));
    }

    let prompt_offsets = match &inputs.cu_seqlens_q {
        Some(cu) => {
            check.exact("cu_seqlens_q", cu, &[num_seqs + 1], "[num_seqs + 1]")?;
            check.dtype("cu_seqlens_q", cu, DType::I32)?;
            if cu.device() == Device::Cpu {
                // SAFETY: host int32 tensor of checked shape.
                check_prompt_offsets(check.op, unsafe { cu.host_slice::<i32>() }, total_tokens)?;
            }
            PromptOffsets::Given(cu)
        }
        None if num_seqs == 0 => PromptOffsets::Equal(0),
        None if num_seqs > 0 && total_tokens % num_seqs == 0 => PromptOffsets::Equal(total_tokens / num_seqs),
        None => {
            return Err(Error::value(
                check.op,
                "q.shape[0] (total_tokens)",
                format!("a multiple of num_seqs = {num_seqs} when cu_seqlens_q is omitted (equal prompt lengths)"),
                total_tokens,
            ))
        }
    };

    let out_view = out.as_view();
    check.exact(
        "out",
        &out_view,
        inputs.q.shape(),
        "[total_tokens, num_q_heads, head_dim]",
    )?;
    check.dtype("out", &out_view, query_dtype)?;
    let mut inputs_list = vec![
        ("q", &inputs.q),
        ("k", &inputs.k),
        ("v", &inputs.v),
        ("k_cache", &inputs.k_cache),
        ("v_cache", &inputs.v_cache),
        ("page_table", &inputs.page_table),
        ("context_lens", &inputs.context_lens),
    ];
    if let Some(cu) = &inputs.cu_seqlens_q {
        inputs_list.push(("cu_seqlens_q", cu));
    }
    inputs_list.extend(variant_reads(
        inputs.alibi_slopes.as_ref(),
        inputs.sinks.as_ref(),
        &inputs.kv_scales,
    ));
    check.disjoint("out", &out_view, &inputs_list)?;
    let scale = check.scale(options.scale, head_dim)?;
    check.variant(&options.variant)?;
    check.head_vector("alibi_slopes", inputs.alibi_slopes.as_ref(), num_q_heads)?;
    check.head_vector("sinks", inputs.sinks.as_ref(), num_q_heads)?;
    check.kv_scales(&inputs.kv_scales, &geometry)?;

    if inputs.page_table.device() == Device::Cpu {
        // SAFETY: host int32 tensors of checked shapes.
        let (context_lens, page_table) = unsafe {
            (
                inputs.context_lens.host_slice::<i32>(),
                inputs.page_table.host_slice::<i32>(),
            )
        };
        check.lengths_and_pages("context_lens", context_lens, page_table, pages_per_sequence, &geometry)?;
    }
    Ok(PrefillProblem {
        inputs,
        query_dtype,
        geometry,
        num_seqs,
        total_tokens,
        num_q_heads,
        pages_per_sequence,
        prompt_offsets,
        scale,
        variant: options.variant,
        execution: options.execution,
    })
}
