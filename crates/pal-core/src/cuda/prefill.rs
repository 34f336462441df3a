//! Prefill on CUDA: one `pal_prefill` launch on the caller's stream. 16-bit dtypes run the
//! tensor-core kernel (`prefill_mma.cuh`), float32 the CUDA-core one (`prefill_simt.cuh`); both
//! share the CTA-to-work map of `prefill.cuh`.

use super::check_aligned;
use super::decode::check_supported;
use super::device::{self, launch, read_i32, LaunchShape};
use super::jit::Specialization;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::problem::{PrefillProblem, PromptOffsets};
use crate::tensor::{Device, TensorViewMut};
use crate::validate::{check_prompt_offsets, Check};

const OP: &str = "paged_attention_prefill";
/// Must match `PREFILL_THREADS` in `kernels/include/pal/prefill.cuh`.
const THREADS: u32 = 128;

/// Query rows per CTA and dynamic shared memory of the kernel that serves `dtype`: mirrors
/// `PrefillMmaTile` (`prefill_mma.cuh`) and `prefill_simt_rows` (`prefill_simt.cuh`).
fn tile_shape(dtype: DType, head_dim: usize) -> (usize, usize) {
    if dtype == DType::F32 {
        return (if head_dim > 128 { 8 } else { 16 }, 0);
    }
    const PAD: usize = 8;
    let rows = if head_dim > 128 { 64 } else { 128 };
    let keys = if head_dim > 64 { 32 } else { 64 };
    let row = head_dim + PAD;
    let slot = keys * row + (keys * row).max(head_dim * (keys + PAD));
    (rows, 2 * (rows * row + 2 * slot))
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
    total_tokens: i32,
    equal_prompt_len: i32,
    head_blocks: i32,
    heads_per_cta: i32,
    tokens_per_cta: i32,
    num_tiles: i32,
    scale: f32,
}

pub(super) fn run(problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
    let geometry = problem.geometry;
    let inputs = problem.inputs;
    let Device::Cuda(ordinal) = inputs.q.device() else {
        unreachable!("dispatched by device")
    };
    check_supported(OP, &geometry)?;
    check_aligned(
        OP,
        &[
            ("q", inputs.q.as_ptr() as usize),
            ("k", inputs.k.as_ptr() as usize),
            ("v", inputs.v.as_ptr() as usize),
            ("k_cache", inputs.k_cache.as_ptr() as usize),
            ("v_cache", inputs.v_cache.as_ptr() as usize),
            ("out", out.as_mut_ptr() as usize),
        ],
    )?;
    let gpu = device::gpu(OP, ordinal)?;
    let stream = problem.execution.stream;
    let (num_seqs, pages_per_seq) = (problem.num_seqs, problem.pages_per_sequence);
    let (cu_seqlens, equal_prompt_len) = match problem.prompt_offsets {
        PromptOffsets::Given(cu) => (cu.as_ptr() as u64, 0),
        PromptOffsets::Equal(len) => (0, len),
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
        }
    }

    let (rows, shared_bytes) = tile_shape(geometry.dtype, geometry.head_dim);
    let group = problem.num_q_heads / geometry.num_kv_heads;
    let heads_per_cta = group.min(rows);
    let tokens_per_cta = rows / heads_per_cta;
    let head_blocks = geometry.num_kv_heads * group.div_ceil(heads_per_cta);
    // Virtual tiles (see `locate_prefill_task`): every sequence's tiles fit in this many.
    let num_tiles = num_seqs + problem.total_tokens / tokens_per_cta;
    let ctas = i32::try_from(head_blocks * num_tiles).map_err(|_| Error::Unsupported {
        op: OP,
        backend: "cuda",
        what: format!("{} CTAs", head_blocks * num_tiles),
        supported: format!("at most {} CTAs per launch", i32::MAX),
    })?;
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
        total_tokens: problem.total_tokens as i32,
        equal_prompt_len: equal_prompt_len as i32,
        head_blocks: head_blocks as i32,
        heads_per_cta: heads_per_cta as i32,
        tokens_per_cta: tokens_per_cta as i32,
        num_tiles: num_tiles as i32,
        scale: problem.scale,
    };
    let shape = LaunchShape {
        blocks: (ctas as u32, 1, 1),
        threads: THREADS,
        shared_bytes: shared_bytes as u32,
    };
    // SAFETY: the parameters mirror `pal::PrefillParams`; every address is a validated device
    // tensor of the checked shape (cu_seqlens is 0 when absent, as the kernel expects).
    unsafe { launch(OP, function, shape, stream, &mut params) }
}

#[cfg(test)]
mod tests {
    use super::tile_shape;
    use crate::dtype::DType;

    #[test]
    fn tensor_core_tiles_fit_in_shared_memory() {
        // Q tile + two K / V ring slots, as in `PrefillMmaTile`.
        assert_eq!(
            tile_shape(DType::BF16, 128),
            (128, 2 * (128 * 136 + 2 * (32 * 136 + 128 * 40)))
        );
        assert_eq!(
            tile_shape(DType::F16, 64),
            (128, 2 * (128 * 72 + 2 * (64 * 72 + 64 * 72)))
        );
        for head_dim in super::super::HEAD_DIMS {
            // An H100 / A100 CTA may use 227 / 163 KiB.
            assert!(tile_shape(DType::BF16, head_dim).1 <= 163 * 1024, "head_dim {head_dim}");
        }
        assert_eq!(tile_shape(DType::F32, 256), (8, 0));
    }
}
