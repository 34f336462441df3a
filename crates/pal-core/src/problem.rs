//! What each operation is asked: its public inputs, and the validated problem that every backend
//! receives. Validation (`ops/`) builds the problems; backends only read them, so this module
//! depends on neither.

use crate::dtype::DType;
use crate::layout::CacheGeometry;
use crate::options::Execution;
use crate::tensor::TensorView;
use crate::variant::AttentionVariant;

/// Dequantisation scale of one fp8 pool (SPEC §3.5): a stored element means `value * scale`.
#[derive(Clone, Debug)]
pub enum KvScale<'a> {
    /// One scale for the whole pool (the default, 1).
    Value(f32),
    /// float32 on the pools' device: `[]` or `[1]` (per tensor, read by the kernels, so a
    /// device scale needs no host copy) or `[num_kv_heads]` (per KV head).
    Tensor(TensorView<'a>),
}

impl Default for KvScale<'_> {
    fn default() -> Self {
        KvScale::Value(1.0)
    }
}

/// The key and value pools' dequantisation scales (fill quantises with them). Only fp8 pools
/// take scales other than 1.
#[derive(Clone, Debug, Default)]
pub struct KvScales<'a> {
    /// `k_scale`: a key pool element means `value * k_scale`.
    pub k: KvScale<'a>,
    /// `v_scale`: a value pool element means `value * v_scale`.
    pub v: KvScale<'a>,
}

impl<'a> KvScales<'a> {
    /// The scales given as tensors, named as the arguments: what an output or a pool written in
    /// place must not overlap.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = (&'static str, &TensorView<'a>)> {
        [("k_scale", &self.k), ("v_scale", &self.v)]
            .into_iter()
            .filter_map(|(name, scale)| match scale {
                KvScale::Tensor(t) => Some((name, t)),
                KvScale::Value(_) => None,
            })
    }
}

/// What an attention op reads besides its arrays (ALiBi slopes, sinks, scale tensors), named as
/// the arguments: what its output must not overlap.
pub(crate) fn variant_reads<'t, 'a>(
    alibi_slopes: Option<&'t TensorView<'a>>,
    sinks: Option<&'t TensorView<'a>>,
    kv_scales: &'t KvScales<'a>,
) -> impl Iterator<Item = (&'static str, &'t TensorView<'a>)> {
    let vectors = [("alibi_slopes", alibi_slopes), ("sinks", sinks)];
    vectors
        .into_iter()
        .filter_map(|(name, tensor)| tensor.map(|t| (name, t)))
        .chain(kv_scales.tensors())
}

impl KvScale<'_> {
    /// The scale of every KV head.
    ///
    /// # Safety
    /// A `Tensor` scale must be a validated float32 host tensor.
    pub(crate) unsafe fn host_per_head(&self, num_kv_heads: usize) -> Vec<f32> {
        match self {
            KvScale::Value(x) => vec![*x; num_kv_heads],
            KvScale::Tensor(t) => {
                let values = unsafe { t.host_slice::<f32>() };
                (0..num_kv_heads)
                    .map(|h| values[if values.len() == 1 { 0 } else { h }])
                    .collect()
            }
        }
    }
}

/// Inputs of [`paged_attention_decode`](crate::paged_attention_decode).
#[derive(Clone, Debug)]
pub struct DecodeInputs<'a> {
    /// `[num_seqs, num_q_heads, head_dim]`, float.
    pub queries: TensorView<'a>,
    /// Key pool in the layout of [`AttentionOptions::layout`](crate::AttentionOptions::layout).
    pub k_cache: TensorView<'a>,
    /// Value pool in the same layout.
    pub v_cache: TensorView<'a>,
    /// `[num_seqs, pages_per_sequence]`, int32 physical page ids.
    pub page_table: TensorView<'a>,
    /// `[num_seqs]`, int32 tokens of each sequence in the cache.
    pub seq_lens: TensorView<'a>,
    /// `[num_q_heads]` float32 ALiBi slopes (SPEC §3.5): logit `x + slope[h] * (j - i)`; `None`: off.
    pub alibi_slopes: Option<TensorView<'a>>,
    /// `[num_q_heads]` float32 attention-sink logits (SPEC §3.5): one more logit per head in the
    /// softmax's denominator, with no value; `None`: off.
    pub sinks: Option<TensorView<'a>>,
    /// Scales of fp8 pools (default 1).
    pub kv_scales: KvScales<'a>,
}

/// Inputs of [`paged_attention_prefill`](crate::paged_attention_prefill).
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
    /// `[num_q_heads]` float32 ALiBi slopes, as for [`DecodeInputs::alibi_slopes`].
    pub alibi_slopes: Option<TensorView<'a>>,
    /// `[num_q_heads]` float32 attention-sink logits, as for [`DecodeInputs::sinks`].
    pub sinks: Option<TensorView<'a>>,
    /// Scales of fp8 pools (default 1); the prompt's `k` / `v` are not scaled.
    pub kv_scales: KvScales<'a>,
}

/// Where each new token goes.
#[derive(Clone, Debug)]
pub enum KvDestination<'a> {
    /// Token `t` goes to logical position `positions[t]` of sequence `token_to_seq[t]`, through
    /// that sequence's row of `page_table` (`[num_seqs, pages_per_sequence]`). All int32 `[T]`.
    Positions {
        /// `[num_seqs, pages_per_sequence]` int32 page ids.
        page_table: TensorView<'a>,
        /// `[num_tokens]` int32 logical positions.
        positions: TensorView<'a>,
        /// `[num_tokens]` int32 sequence of each token.
        token_to_seq: TensorView<'a>,
    },
    /// vLLM style: token `t` goes to flat slot `slot_mapping[t] = page * page_size + slot`;
    /// a negative slot skips the token (padding).
    SlotMapping(TensorView<'a>),
}

/// Inputs of [`fill_kv_pages`](crate::fill_kv_pages).
#[derive(Clone, Debug)]
pub struct FillInputs<'a> {
    /// `[T, num_kv_heads, head_dim]`: the pools' dtype, or float32 / float16 / bfloat16 for fp8
    /// pools (quantised on the way in).
    pub new_keys: TensorView<'a>,
    /// `[T, num_kv_heads, head_dim]`, the new keys' dtype.
    pub new_values: TensorView<'a>,
    /// Where the new tokens go.
    pub destination: KvDestination<'a>,
    /// Scales of fp8 pools (default 1): fp8 pools store `saturate(round_to_nearest_even(x / scale))`.
    pub kv_scales: KvScales<'a>,
}

/// A decode call that passed validation: what every backend receives.
pub(crate) struct DecodeProblem<'a, 'i> {
    pub inputs: &'i DecodeInputs<'a>,
    /// Dtype of the queries and the output; the pools' (KV) dtype is `geometry.dtype`.
    pub query_dtype: DType,
    pub geometry: CacheGeometry,
    pub num_seqs: usize,
    pub num_q_heads: usize,
    pub pages_per_sequence: usize,
    pub scale: f32,
    pub variant: AttentionVariant,
    pub execution: Execution,
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
    /// Dtype of `q`, `k`, `v` and the output; the pools' (KV) dtype is `geometry.dtype`.
    pub query_dtype: DType,
    pub geometry: CacheGeometry,
    pub num_seqs: usize,
    pub total_tokens: usize,
    pub num_q_heads: usize,
    pub pages_per_sequence: usize,
    pub prompt_offsets: PromptOffsets<'i>,
    pub scale: f32,
    pub variant: AttentionVariant,
    pub execution: Execution,
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

/// Destination slots of the new tokens, resolved on the host where the index tensors live there.
pub(crate) enum FillTarget {
    /// `(page, slot)` per token; `None` skips it.
    Resolved(Vec<Option<(usize, usize)>>),
    /// Index tensors on the device: the backend resolves and checks them there.
    OnDevice,
}

/// A fill call that passed validation.
pub(crate) struct FillProblem<'a, 'i> {
    pub inputs: &'i FillInputs<'a>,
    /// Dtype of the new keys and values; the pools' is `geometry.dtype`.
    pub source_dtype: DType,
    pub geometry: CacheGeometry,
    pub num_tokens: usize,
    pub target: FillTarget,
    pub execution: Execution,
}
