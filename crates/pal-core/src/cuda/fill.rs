//! fill_kv_pages on CUDA: one `pal_fill` launch on the caller's stream.

use super::device::{self, launch, LaunchShape, TableErrors};
use super::jit::{Family, KernelKey};
use super::{check_aligned, raise_reported_table_error, DeviceTables, KvScaleParams};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheLayout;
use crate::options::TableCheck;
use crate::problem::{FillProblem, KvDestination};
use crate::tensor::{Device, TensorView, TensorViewMut};
use crate::validate::resolve_on_host;

const OP: &str = "fill_kv_pages";
/// Lab knob: `PAL_FILL_TUNING="tokens=64,chunk=256,threads=256,min_ctas=8"` overrides the CTA's
/// new tokens, pool bytes of their rows, threads and the register bound's resident CTAs (0: the
/// kernel's default); the kernel asserts the shape. Read once per process, as the decode's knob.
pub const FILL_TUNING_ENV: &str = "PAL_FILL_TUNING";

/// The CTA's shape: new tokens, pool bytes of their rows over every KV head, threads (fill.cuh)
/// and the resident CTAs the register bound asks for (0: the kernel's default).
#[derive(Clone, Copy)]
struct FillShape {
    tokens: usize,
    chunk_bytes: usize,
    threads: usize,
    min_ctas: usize,
}

/// 256 bytes on 256 threads where the pools hold the new rows' dtype (a whole head row of 16 bits
/// at head dim 128: 88-90% of device copy at 32768 tokens on an H200, 128 bytes 84-87%); fp8
/// pools keep 128 bytes on 128 threads (256 bytes span two heads there and ran 12-24% slower).
fn shape((source, pool): (DType, DType)) -> FillShape {
    static TUNING: std::sync::OnceLock<Vec<(String, usize)>> = std::sync::OnceLock::new();
    let knob = |name, default| super::knob(&TUNING, FILL_TUNING_ENV, name).unwrap_or(default);
    let bytes = if source == pool { 256 } else { 128 };
    FillShape {
        tokens: knob("tokens", 32),
        chunk_bytes: knob("chunk", bytes),
        threads: knob("threads", bytes),
        min_ctas: knob("min_ctas", 0),
    }
}

/// The fill module for the new rows' and the pools' dtypes (equal, or a model dtype into fp8
/// pools), a kernel layout and the page size (a key of its own only for `pal` pages under a
/// 16-byte vector's slots, `value_run`; else a run-time value, as the head dim).
pub(super) fn kernel_key(dtypes: (DType, DType), layout: CacheLayout, page_size: usize) -> KernelKey {
    key_of(dtypes, layout, page_size, shape(dtypes))
}

/// Slots one value store of a `pal` pool covers where a page holds fewer than a 16-byte vector
/// (`fill.cuh`'s RUN: pages of 2 / 4 in 16 bits, 2-8 in fp8, 2 in float32): the page's slots of
/// an element in one 4- or 8-byte store, not a store per token. H200 (2026-12-04, bf16, 32768
/// new tokens, random page order, % of device copy): pages of 2 64 -> 86%, of 4 49 -> 88%.
fn value_run(pool: DType, layout: CacheLayout, page_size: usize) -> Option<usize> {
    let vector = 16 / pool.size_in_bytes();
    (layout == CacheLayout::Pal && (2..vector).contains(&page_size)).then_some(page_size)
}

/// The key of the module for `shape` (the launch sizes its grid and CTA from the same shape).
fn key_of((source, pool): (DType, DType), layout: CacheLayout, page_size: usize, shape: FillShape) -> KernelKey {
    KernelKey {
        family: Family::Fill,
        query_dtype: source,
        kv_dtype: pool,
        head_dim: None,
        page_size: None,
        layout,
        variant: "plain",
        shape: vec![
            ("THREADS", shape.threads),
            ("TOKENS", shape.tokens),
            ("CHUNK_BYTES", shape.chunk_bytes),
            ("MIN_CTAS", shape.min_ctas),
            ("PARAMS_LAYOUT", FillParams::LAYOUT),
        ]
        .into_iter()
        .chain(value_run(pool, layout, page_size).map(|run| ("RUN", run)))
        .collect(),
    }
}

/// Mirror of `pal::FillParams`.
#[repr(C)]
struct FillParams {
    keys: u64,
    values: u64,
    k_cache: u64,
    v_cache: u64,
    page_table: u64,
    positions: u64,
    token_to_seq: u64,
    slot_mapping: u64,
    num_tokens: i32,
    num_kv_heads: i32,
    head_dim: i32,
    page_size: i32,
    num_seqs: i32,
    pages_per_seq: i32,
    num_pages: i32,
    use_slot_mapping: i32,
    errors: TableErrors,
    scales: KvScaleParams,
}

impl FillParams {
    /// `pal::FILL_PARAMS_LAYOUT`.
    const LAYOUT: usize = params_layout!(FillParams: num_tokens, errors, scales);
}

pub(super) fn run(
    problem: &FillProblem<'_, '_>,
    k_cache: &mut TensorViewMut<'_>,
    v_cache: &mut TensorViewMut<'_>,
) -> Result<()> {
    let geometry = problem.geometry;
    let inputs = problem.inputs;
    let Device::Cuda(ordinal) = inputs.new_keys.device() else {
        unreachable!("dispatched by device")
    };
    // The kernel reads 16-byte vectors of the new rows and writes whole elements of the pools.
    let vector = 16 / problem.source_dtype.size_in_bytes();
    if !geometry.head_dim.is_multiple_of(vector) {
        return Err(Error::Unsupported {
            op: OP,
            backend: "cuda",
            what: format!("head_dim {} with {}", geometry.head_dim, problem.source_dtype),
            supported: format!("head dims that are multiples of {vector} (16-byte vectors)"),
        });
    }
    check_aligned(
        OP,
        &[
            ("new_keys", inputs.new_keys.as_ptr() as usize),
            ("new_values", inputs.new_values.as_ptr() as usize),
            ("k_cache", k_cache.as_mut_ptr() as usize),
            ("v_cache", v_cache.as_mut_ptr() as usize),
        ],
    )?;
    let gpu = device::gpu(OP, ordinal)?;
    let stream = problem.execution.stream;
    let tokens = problem.num_tokens;
    raise_reported_table_error(&gpu, OP, ordinal, stream)?;
    if problem.execution.check == TableCheck::Immediate {
        check_on_host(
            problem,
            &DeviceTables {
                op: OP,
                ordinal,
                stream,
            },
        )?;
    }
    let (page_table, positions, token_to_seq, slot_mapping, num_seqs, pages_per_seq) = match &inputs.destination {
        KvDestination::Positions {
            page_table,
            positions,
            token_to_seq,
        } => (
            page_table.as_ptr() as u64,
            positions.as_ptr() as u64,
            token_to_seq.as_ptr() as u64,
            0,
            page_table.shape()[0],
            page_table.shape()[1],
        ),
        KvDestination::SlotMapping(slots) => (0, 0, 0, slots.as_ptr() as u64, 0, 0),
    };
    let mut params = FillParams {
        keys: inputs.new_keys.as_ptr() as u64,
        values: inputs.new_values.as_ptr() as u64,
        k_cache: k_cache.as_mut_ptr() as u64,
        v_cache: v_cache.as_mut_ptr() as u64,
        page_table,
        positions,
        token_to_seq,
        slot_mapping,
        num_tokens: tokens as i32,
        num_kv_heads: geometry.num_kv_heads as i32,
        head_dim: geometry.head_dim as i32,
        page_size: geometry.page_size as i32,
        num_seqs: num_seqs as i32,
        pages_per_seq: pages_per_seq as i32,
        num_pages: geometry.num_pages as i32,
        use_slot_mapping: (slot_mapping != 0) as i32,
        errors: gpu.table_errors(problem.execution.check == TableCheck::Deferred),
        scales: KvScaleParams::new(&inputs.kv_scales),
    };
    // One CTA per (tile of tokens, chunk of their rows over every KV head), chunks fastest (fill.cuh).
    let dtypes = (problem.source_dtype, geometry.dtype);
    let shape = shape(dtypes);
    let row_bytes = geometry.num_kv_heads * geometry.head_dim * geometry.dtype.size_in_bytes();
    let blocks = tokens.div_ceil(shape.tokens) * row_bytes.div_ceil(shape.chunk_bytes);
    let blocks = u32::try_from(blocks).map_err(|_| Error::Unsupported {
        op: OP,
        backend: "cuda",
        what: format!("{tokens} new tokens of {} KV heads", geometry.num_kv_heads),
        supported: format!(
            "under 2^32 blocks of {} tokens and {} bytes of their rows",
            shape.tokens, shape.chunk_bytes
        ),
    })?;
    let function = gpu.function(
        OP,
        &key_of(dtypes, geometry.kernel_layout(), geometry.page_size, shape),
        "pal_fill",
    )?;
    // SAFETY: the parameters mirror `pal::FillParams`; every address is a validated device
    // tensor, and the kernel checks each destination against the pool before writing.
    unsafe {
        launch(
            OP,
            function,
            LaunchShape::new((blocks, 1, 1), shape.threads as u32),
            stream,
            &mut params,
        )
    }
}

/// Reads the index tensors back and runs the same destination checks as for host tensors.
fn check_on_host(problem: &FillProblem<'_, '_>, tables: &DeviceTables) -> Result<()> {
    let read = |t: &TensorView<'_>| tables.read(t);
    let check = tables.check();
    let tokens = [problem.num_tokens];
    match &problem.inputs.destination {
        KvDestination::SlotMapping(slots) => {
            let slots = read(slots)?;
            let host = KvDestination::SlotMapping(TensorView::from_slice(&slots, &tokens)?);
            resolve_on_host(&check, &host, &problem.geometry).map(drop)
        }
        KvDestination::Positions {
            page_table,
            positions,
            token_to_seq,
        } => {
            let (table, positions, seqs) = (read(page_table)?, read(positions)?, read(token_to_seq)?);
            let host = KvDestination::Positions {
                page_table: TensorView::from_slice(&table, page_table.shape())?,
                positions: TensorView::from_slice(&positions, &tokens)?,
                token_to_seq: TensorView::from_slice(&seqs, &tokens)?,
            };
            resolve_on_host(&check, &host, &problem.geometry).map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pal_pages_under_a_vector_store_a_page_run() {
        let run = |pool, layout, page| value_run(pool, layout, page);
        // A 16-byte vector holds 8 16-bit, 16 fp8 or 4 float32 slots.
        assert_eq!(run(DType::BF16, CacheLayout::Pal, 4), Some(4));
        assert_eq!(run(DType::BF16, CacheLayout::Pal, 2), Some(2));
        assert_eq!(run(DType::F8E4M3, CacheLayout::Pal, 8), Some(8));
        assert_eq!(run(DType::F32, CacheLayout::Pal, 2), Some(2));
        // Not: whole vectors a page, pages of one slot (nhd rows), other layouts.
        for (pool, page) in [(DType::BF16, 8), (DType::F8E4M3, 16), (DType::F32, 4), (DType::BF16, 1)] {
            assert_eq!(run(pool, CacheLayout::Pal, page), None);
        }
        assert_eq!(run(DType::BF16, CacheLayout::Nhd, 4), None);
        assert_eq!(run(DType::BF16, CacheLayout::Hnd, 2), None);
        let key = kernel_key((DType::BF16, DType::BF16), CacheLayout::Pal, 4);
        assert_eq!(key.shape_value("RUN"), Some(4));
        assert_eq!(
            kernel_key((DType::BF16, DType::BF16), CacheLayout::Pal, 16).shape_value("RUN"),
            None
        );
    }
}
