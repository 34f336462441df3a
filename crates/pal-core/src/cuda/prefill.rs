//! Prefill on CUDA: one `pal_prefill` launch on the caller's stream.

use super::decode::check_supported;
use super::device::{self, launch, read_i32};
use super::jit::Specialization;
use crate::error::Result;
use crate::ops::validate::Check;
use crate::ops::{check_prompt_offsets, PrefillProblem, PromptOffsets};
use crate::tensor::{Device, TensorViewMut};

const OP: &str = "paged_attention_prefill";
/// Must match `PREFILL_THREADS` and `prefill_vectors` in `kernels/include/pal/prefill.cuh`.
const THREADS: u32 = 128;

fn vectors_per_cta(head_dim: usize) -> usize {
    if head_dim > 128 {
        8
    } else {
        16
    }
}

/// Mirror of `pal::PrefillParams`.
#[repr(C)]
struct PrefillParams {
    q: u64,
    k: u64,
    v: u64,
    k_cache: u64,
    v_cache: u64,
    page_table: u64,
    context_lens: u64,
    cu_seqlens: u64,
    out: u64,
    num_seqs: i32,
    num_q_heads: i32,
    num_kv_heads: i32,
    pages_per_seq: i32,
    num_pages: i32,
    equal_prompt_len: i32,
    head_chunks: i32,
    pad0: i32,
    scale: f32,
    pad1: i32,
}

pub(super) fn run(problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
    let geometry = problem.geometry;
    let inputs = problem.inputs;
    let Device::Cuda(ordinal) = inputs.q.device() else {
        unreachable!("dispatched by device")
    };
    check_supported(OP, &geometry)?;
    let gpu = device::gpu(OP, ordinal)?;
    let stream = problem.execution.cuda_stream;
    let (num_seqs, pages_per_seq) = (problem.num_seqs, problem.pages_per_sequence);

    // The longest prompt bounds the grid: known exactly when equal or when the offsets are read
    // back for checking, else bounded by the total.
    let (cu_seqlens, equal_prompt_len, mut longest_prompt) = match problem.prompt_offsets {
        PromptOffsets::Given(cu) => (cu.as_ptr() as u64, 0, problem.total_tokens),
        PromptOffsets::Equal(len) => (0, len, len),
    };
    if problem.execution.check {
        let check = Check {
            op: OP,
            device: Device::Cuda(ordinal),
        };
        let context_lens = read_i32(OP, inputs.context_lens.as_ptr(), num_seqs, stream)?;
        let table = read_i32(OP, inputs.page_table.as_ptr(), num_seqs * pages_per_seq, stream)?;
        check.lengths_and_pages("context_lens", &context_lens, &table, pages_per_seq, &geometry)?;
        if let PromptOffsets::Given(cu) = problem.prompt_offsets {
            let offsets = read_i32(OP, cu.as_ptr(), num_seqs + 1, stream)?;
            check_prompt_offsets(OP, &offsets, problem.total_tokens)?;
            longest_prompt = offsets.windows(2).map(|w| (w[1] - w[0]) as usize).max().unwrap_or(0);
        }
    }

    let group = problem.num_q_heads / geometry.num_kv_heads;
    let vectors = vectors_per_cta(geometry.head_dim);
    let head_chunks = group.div_ceil(vectors);
    let rows_per_cta = (vectors / group.min(vectors)).max(1);
    let grid = (
        (geometry.num_kv_heads * head_chunks) as u32,
        longest_prompt.div_ceil(rows_per_cta).max(1) as u32,
        num_seqs as u32,
    );
    let spec = Specialization::prefill(geometry.dtype, geometry.head_dim, geometry.page_size, geometry.layout);
    let function = gpu.function(OP, &spec, "pal_prefill")?;
    let mut params = PrefillParams {
        q: inputs.q.as_ptr() as u64,
        k: inputs.k.as_ptr() as u64,
        v: inputs.v.as_ptr() as u64,
        k_cache: inputs.k_cache.as_ptr() as u64,
        v_cache: inputs.v_cache.as_ptr() as u64,
        page_table: inputs.page_table.as_ptr() as u64,
        context_lens: inputs.context_lens.as_ptr() as u64,
        cu_seqlens,
        out: out.as_mut_ptr() as u64,
        num_seqs: num_seqs as i32,
        num_q_heads: problem.num_q_heads as i32,
        num_kv_heads: geometry.num_kv_heads as i32,
        pages_per_seq: pages_per_seq as i32,
        num_pages: geometry.num_pages as i32,
        equal_prompt_len: equal_prompt_len as i32,
        head_chunks: head_chunks as i32,
        pad0: 0,
        scale: problem.scale,
        pad1: 0,
    };
    // SAFETY: the parameters mirror `pal::PrefillParams`; every address is a validated device
    // tensor of the checked shape (cu_seqlens is 0 when absent, as the kernel expects).
    unsafe { launch(OP, function, grid, THREADS, stream, &mut params) }
}
