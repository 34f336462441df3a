//! Decode on CUDA: picks the split-KV factor, launches `pal_decode` and, with several splits,
//! `pal_decode_merge` on the caller's stream.

use super::check_aligned;
use super::device::{self, launch, read_i32, LaunchShape};
use super::jit::Specialization;
use super::{HEAD_DIMS, PAGE_SIZES};
use crate::error::{Error, Result};
use crate::layout::CacheGeometry;
use crate::problem::DecodeProblem;
use crate::tensor::{Device, TensorViewMut};
use crate::validate::Check;

const OP: &str = "paged_attention_decode";
/// Must match `GMAX` and `DECODE_THREADS` in `kernels/include/pal/decode.cuh`.
const HEADS_PER_CTA: usize = 8;
const THREADS: u32 = 128;

/// Mirror of `pal::DecodeParams`.
#[repr(C)]
struct DecodeParams {
    queries: u64,
    k_cache: u64,
    v_cache: u64,
    page_table: u64,
    seq_lens: u64,
    out: u64,
    partial_acc: u64,
    partial_stats: u64,
    num_seqs: i32,
    num_q_heads: i32,
    num_kv_heads: i32,
    pages_per_seq: i32,
    num_pages: i32,
    num_splits: i32,
    tokens_per_split: i32,
    head_chunks: i32,
    scale: f32,
    pad: i32,
}

/// Mirror of `pal::MergeParams`.
#[repr(C)]
struct MergeParams {
    partial_acc: u64,
    partial_stats: u64,
    out: u64,
    num_splits: i32,
    head_dim: i32,
}

pub(super) fn check_supported(op: &'static str, geometry: &CacheGeometry) -> Result<()> {
    if !HEAD_DIMS.contains(&geometry.head_dim) {
        return Err(Error::Unsupported {
            op,
            backend: "cuda",
            what: format!("head_dim {}", geometry.head_dim),
            supported: format!("head dims {HEAD_DIMS:?}"),
        });
    }
    if !PAGE_SIZES.contains(&geometry.page_size) {
        return Err(Error::Unsupported {
            op,
            backend: "cuda",
            what: format!("page_size {}", geometry.page_size),
            supported: format!("page sizes {PAGE_SIZES:?}"),
        });
    }
    Ok(())
}

/// KV splits per sequence: enough CTAs to give every multiprocessor four (latency hiding), with
/// at least 256 tokens per split; tokens per split is a whole number of tiles.
fn split_plan(ctas: usize, capacity: usize, tile: usize, multiprocessors: usize) -> (usize, usize) {
    let max_splits = capacity.div_ceil(256).max(1);
    let splits = (4 * multiprocessors).div_ceil(ctas.max(1)).clamp(1, max_splits);
    let tokens_per_split = capacity.div_ceil(splits).div_ceil(tile).max(1) * tile;
    (capacity.div_ceil(tokens_per_split).max(1), tokens_per_split)
}

pub(super) fn run(problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
    let geometry = problem.geometry;
    let inputs = problem.inputs;
    let Device::Cuda(ordinal) = inputs.queries.device() else {
        unreachable!("dispatched by device")
    };
    check_supported(OP, &geometry)?;
    check_aligned(
        OP,
        &[
            ("queries", inputs.queries.as_ptr() as usize),
            ("k_cache", inputs.k_cache.as_ptr() as usize),
            ("v_cache", inputs.v_cache.as_ptr() as usize),
            ("out", out.as_mut_ptr() as usize),
        ],
    )?;
    let gpu = device::gpu(OP, ordinal)?;
    let stream = problem.execution.stream;
    let (num_seqs, pages_per_seq) = (problem.num_seqs, problem.pages_per_sequence);
    if problem.execution.check {
        let seq_lens = read_i32(OP, inputs.seq_lens.as_ptr(), num_seqs, stream)?;
        let table = read_i32(OP, inputs.page_table.as_ptr(), num_seqs * pages_per_seq, stream)?;
        let check = Check {
            op: OP,
            device: Device::Cuda(ordinal),
        };
        check.lengths_and_pages("seq_lens", &seq_lens, &table, pages_per_seq, &geometry)?;
    }

    let (head_dim, num_kv_heads) = (geometry.head_dim, geometry.num_kv_heads);
    let head_chunks = (problem.num_q_heads / num_kv_heads).div_ceil(HEADS_PER_CTA);
    let tile = if head_dim * geometry.dtype.size_in_bytes() > 512 {
        16
    } else {
        32
    };
    let ctas = num_seqs * num_kv_heads * head_chunks;
    let (splits, tokens_per_split) = split_plan(ctas, geometry.capacity(pages_per_seq), tile, gpu.multiprocessors);
    let rows = num_seqs * problem.num_q_heads;
    let (mut partial_acc, mut partial_stats) = (0, 0);
    if splits > 1 {
        let acc_bytes = rows * splits * head_dim * 4;
        let workspace = gpu.workspace(OP, acc_bytes + rows * splits * 8)?;
        (partial_acc, partial_stats) = (workspace, workspace + acc_bytes as u64);
    }
    let spec = Specialization::decode(geometry.dtype, head_dim, geometry.page_size, geometry.layout);
    let decode = gpu.function(OP, &spec, "pal_decode")?;
    let mut params = DecodeParams {
        queries: inputs.queries.as_ptr() as u64,
        k_cache: inputs.k_cache.as_ptr() as u64,
        v_cache: inputs.v_cache.as_ptr() as u64,
        page_table: inputs.page_table.as_ptr() as u64,
        seq_lens: inputs.seq_lens.as_ptr() as u64,
        out: out.as_mut_ptr() as u64,
        partial_acc,
        partial_stats,
        num_seqs: num_seqs as i32,
        num_q_heads: problem.num_q_heads as i32,
        num_kv_heads: num_kv_heads as i32,
        pages_per_seq: pages_per_seq as i32,
        num_pages: geometry.num_pages as i32,
        num_splits: splits as i32,
        tokens_per_split: tokens_per_split as i32,
        head_chunks: head_chunks as i32,
        scale: problem.scale,
        pad: 0,
    };
    let grid = ((num_kv_heads * head_chunks) as u32, num_seqs as u32, splits as u32);
    // SAFETY: the parameters mirror `pal::DecodeParams`; every address is a validated device
    // tensor of the checked shape, or the workspace sized above.
    unsafe { launch(OP, decode, LaunchShape::new(grid, THREADS), stream, &mut params)? };
    if splits > 1 {
        let merge = gpu.function(OP, &spec, "pal_decode_merge")?;
        let mut params = MergeParams {
            partial_acc,
            partial_stats,
            out: out.as_mut_ptr() as u64,
            num_splits: splits as i32,
            head_dim: head_dim as i32,
        };
        // SAFETY: as above, for `pal::MergeParams`.
        unsafe {
            launch(
                OP,
                merge,
                LaunchShape::new((rows as u32, 1, 1), head_dim as u32),
                stream,
                &mut params,
            )?
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_plan;

    #[test]
    fn splits_fill_the_gpu_without_tiny_splits() {
        // One sequence of 32k tokens, 8 KV heads, 132 SMs: many splits.
        let (splits, per_split) = split_plan(8, 32768, 32, 132);
        assert_eq!((splits, per_split), (64, 512));
        assert!(per_split % 32 == 0 && splits * per_split >= 32768);
        // A big batch already fills the GPU.
        assert_eq!(split_plan(256 * 8, 1024, 32, 132).0, 1);
        // Short contexts are never split below 256 tokens.
        assert_eq!(split_plan(1, 300, 32, 132).0, 2);
        assert_eq!(split_plan(1, 0, 32, 132), (1, 32));
    }
}
