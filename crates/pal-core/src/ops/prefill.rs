//! `paged_attention_prefill` (SPEC §3.2): new prompt tokens attend to their sequence's cached
//! history and causally to the prompt itself.

use super::validate::Check;
use super::AttentionOptions;
use crate::backend;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheGeometry;
use crate::tensor::{Device, TensorView, TensorViewMut};

/// Inputs of [`paged_attention_prefill`].
#[derive(Clone, Debug)]
pub struct PrefillInputs<'a> {
    /// `[total_tokens, num_q_heads, head_dim]`: the prompts of all sequences, concatenated.
    pub q: TensorView<'a>,
    /// `[total_tokens, num_kv_heads, head_dim]`: the prompts' keys (not read from the cache).
    pub k: TensorView<'a>,
    /// `[total_tokens, num_kv_heads, head_dim]`: the prompts' values.
    pub v: TensorView<'a>,
    /// Key pool (history), in the layout of the options.
    pub k_cache: TensorView<'a>,
    /// Value pool, in the same layout.
    pub v_cache: TensorView<'a>,
    /// `[num_seqs, pages_per_sequence]`, int32.
    pub page_table: TensorView<'a>,
    /// `[num_seqs]`, int32 history tokens of each sequence already in the cache.
    pub context_lens: TensorView<'a>,
    /// `[num_seqs + 1]`, int32 prefix offsets of each prompt in `q`; `None` means equal lengths.
    pub cu_seqlens_q: Option<TensorView<'a>>,
}

/// Where each sequence's prompt sits in `q`.
pub(crate) enum PromptOffsets<'a> {
    /// `cu_seqlens_q` as given (read on the host by the CPU backend, on the device by CUDA).
    Given(&'a TensorView<'a>),
    /// Every prompt has this many tokens.
    Equal(usize),
}

/// A prefill call that passed validation.
pub(crate) struct PrefillProblem<'a, 'i> {
    pub inputs: &'i PrefillInputs<'a>,
    pub geometry: CacheGeometry,
    pub num_seqs: usize,
    pub total_tokens: usize,
    pub num_q_heads: usize,
    pub pages_per_sequence: usize,
    pub prompt_offsets: PromptOffsets<'i>,
    pub scale: f32,
    pub execution: super::Execution,
}

impl PrefillProblem<'_, '_> {
    /// Prompt offsets on the host: `num_seqs + 1` entries.
    ///
    /// # Safety
    /// `cu_seqlens_q`, when given, must be a host tensor (validated int32 `[num_seqs + 1]`).
    pub unsafe fn host_prompt_offsets(&self) -> Vec<usize> {
        match self.prompt_offsets {
            PromptOffsets::Given(cu) => cu.host_slice::<i32>().iter().map(|&o| o as usize).collect(),
            PromptOffsets::Equal(len) => (0..=self.num_seqs).map(|b| b * len).collect(),
        }
    }
}

/// Causal attention of the prompt tokens of each sequence over its cached history (the first
/// `context_lens[b]` tokens in the cache) and over its own prompt: prompt token `i` of sequence
/// `b` sits at position `context_lens[b] + i`. Writes `out` (`[total_tokens, num_q_heads,
/// head_dim]`, the queries' dtype).
pub fn paged_attention_prefill(
    inputs: &PrefillInputs<'_>,
    out: &mut TensorViewMut<'_>,
    options: &AttentionOptions,
) -> Result<()> {
    let problem = validate(inputs, out, options)?;
    if problem.num_seqs == 0 || problem.total_tokens == 0 {
        return Ok(());
    }
    backend::for_device(inputs.q.device())?.prefill(&problem, out)
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
    let dtype = inputs.q.dtype();
    let geometry = check.pools(options.layout, dtype, &inputs.k_cache, &inputs.v_cache)?;
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
        check.dtype(arg, tensor, dtype)?;
    }

    let table_shape = check.rank("page_table", &inputs.page_table, "[num_seqs, pages_per_sequence]")?;
    check.dtype("page_table", &inputs.page_table, DType::I32)?;
    let (num_seqs, pages_per_sequence) = (table_shape[0], table_shape[1]);
    check.exact("context_lens", &inputs.context_lens, &[num_seqs], "[num_seqs]")?;
    check.dtype("context_lens", &inputs.context_lens, DType::I32)?;

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
        None if num_seqs == 0 && total_tokens == 0 => PromptOffsets::Equal(0),
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
    check.dtype("out", &out_view, dtype)?;
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
    check.disjoint("out", &out_view, &inputs_list)?;
    let scale = check.scale(options.scale, head_dim)?;

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
        geometry,
        num_seqs,
        total_tokens,
        num_q_heads,
        pages_per_sequence,
        prompt_offsets,
        scale,
        execution: options.execution,
    })
}

/// `cu_seqlens_q` must start at 0, never decrease and end at `total_tokens`.
pub(crate) fn check_prompt_offsets(op: &'static str, offsets: &[i32], total_tokens: usize) -> Result<()> {
    if offsets[0] != 0 {
        return Err(Error::value(op, "cu_seqlens_q[0]", "0", offsets[0]));
    }
    if let Some(b) = (1..offsets.len()).find(|&b| offsets[b] < offsets[b - 1]) {
        return Err(Error::value(
            op,
            format!("cu_seqlens_q[{b}]"),
            format!(
                "at least cu_seqlens_q[{}] = {} (offsets never decrease)",
                b - 1,
                offsets[b - 1]
            ),
            offsets[b],
        ));
    }
    let last = offsets.len() - 1;
    if offsets[last] as usize != total_tokens {
        return Err(Error::value(
            op,
            format!("cu_seqlens_q[{last}]"),
            format!("{total_tokens} (q.shape[0], the total prompt tokens)"),
            offsets[last],
        ));
    }
    Ok(())
}
