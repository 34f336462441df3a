//! Prefill on CUDA: one `pal_prefill` launch on the caller's stream. 16-bit dtypes run on tensor
//! cores: the Hopper kernel (`prefill_wgmma.cuh`, sm_90: every head dim over pools of the
//! queries' dtype, 64 / 128 / 192 / 256 over fp8 ones) or the portable one (`prefill_mma.cuh`,
//! sm_80 and newer); float32, and fp8 pools off the Hopper kernel, the CUDA-core one
//! (`prefill_simt.cuh`). All share the CTA-to-work map of `prefill.cuh`. `kernel_key` chooses
//! the family and its shape.

use super::decode::MergeParams;
use super::device::{self, encode_tiled, launch, LaunchShape, TableErrors, TensorMap};
use super::jit::{Family, Geometry, KernelKey};
use super::{
    check_aligned, check_supported, kernel_variant, raise_reported_table_error, DeviceTables, KvScaleParams,
    VariantParams,
};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheLayout;
use crate::options::TableCheck;
use crate::problem::{PrefillProblem, PromptOffsets};
use crate::tensor::{Device, TensorViewMut};
use crate::validate::check_prompt_offsets;
use crate::variant::AttentionVariant;

const OP: &str = "paged_attention_prefill";
/// Threads of the portable and CUDA-core kernels (`PREFILL_THREADS`, asserted by the kernels).
const THREADS: usize = 128;
/// Threads of the Hopper kernel: two consumer warpgroups, and a producer warpgroup in the
/// warp-specialised form (`PrefillWgmmaTile::THREADS`).
const WGMMA_THREADS: usize = 256;
const WGMMA_PRODUCER_THREADS: usize = 384;
/// Lab knob: `PAL_PREFILL_PATH=portable` runs the portable tensor-core kernel on Hopper too (the
/// default picks by device), so both paths can be tested and timed on one GPU. Read per call.
pub const PREFILL_PATH_ENV: &str = "PAL_PREFILL_PATH";
/// Lab knob: `PAL_PREFILL_TUNING="keys=64,stages=3"` overrides the Hopper kernel's tile depth
/// and ring, and the portable kernel's tile depth (`keys`), m-tiles a warp (`m_tiles`),
/// unpadded slots (`tight`), one slot whose K and V are refilled apart (`stagger`, 64-key tiles
/// in two 32-key slots' bytes), register budget (`min_ctas`, CTAs an SM) and split count
/// (`splits`); the kernels still assert the shape. Read once per process, as the decode's knob.
pub const PREFILL_TUNING_ENV: &str = "PAL_PREFILL_TUNING";

/// What `prefill_mma`'s static shared words (the readable-key words and the task) may take
/// before its dynamic window, which is 128-byte aligned.
const PREFILL_MMA_STATIC_BYTES: usize = 128;

/// An override from `PAL_PREFILL_TUNING`.
fn tuning(name: &str) -> Option<usize> {
    static TUNING: std::sync::OnceLock<Vec<(String, usize)>> = std::sync::OnceLock::new();
    super::knob(&TUNING, PREFILL_TUNING_ENV, name)
}

/// The kernel module for this geometry and variant on a device of compute capability `arch`,
/// with the shape the host chose: query rows per CTA (`ROWS`), keys per tile and, for tensor
/// cores, the dynamic shared memory (mirroring `PrefillMmaTile` / `PrefillWgmmaTile`, which
/// assert it).
pub(super) fn kernel_key(geometry: Geometry, variant: &'static str, arch: (i32, i32)) -> Result<KernelKey> {
    let ((dtype, kv_dtype), head_dim, page_size, layout) = geometry;
    // Tensor cores take 16-bit queries over pools of the same dtype, and on Hopper over fp8
    // pools too (its copying threads widen them exactly to the queries' dtype); CUDA cores the
    // rest (float32, fp8 elsewhere). The lab knob is read only where it can change the choice.
    let portable = || std::env::var_os(PREFILL_PATH_ENV).is_some_and(|path| path == "portable");
    // Head dims that are not whole 64-dim swizzle blocks (80 / 96 / 112) run the Hopper kernel
    // in 128-wide tiles (`PrefillWgmmaTile::DIM`) over 16-bit pools.
    let padded = head_dim % 64 != 0 && kv_dtype == dtype;
    let hopper = arch == (9, 0) && (head_dim % 64 == 0 || padded) && !portable();
    let family = if dtype == DType::F32 || (kv_dtype != dtype && !hopper) {
        Family::PrefillSimt
    } else if hopper {
        Family::PrefillWgmma
    } else {
        Family::PrefillMma
    };
    check_supported(OP, family, kv_dtype, (head_dim, page_size))?;
    let mut shape = match family {
        Family::PrefillSimt => vec![
            ("ROWS", if head_dim > 128 { 8 } else { 16 }),
            ("TOKENS", if head_dim * 4 > 512 { 16 } else { 32 }),
        ],
        Family::PrefillWgmma => {
            // 128-key tiles (64 keys over head dims above 128, whose accumulators fill the
            // registers). Warp-specialised (a producer warpgroup feeds two consumers through
            // mbarriers) with as many slots as fit, up to three; else (`producer=0`) all eight
            // warps copy and compute in step through two slots.
            const ROWS: usize = 128;
            let keys = tuning("keys").unwrap_or(if head_dim > 128 { 64 } else { 128 });
            // Head dims above 128 keep the lockstep form: two slots of 64-key tiles starve the
            // consumers of a producer (D 256, H200: 343 against 450 TFLOP/s over history).
            // So do fp8 pal pages of two slots: their single-byte value runs are too slow for
            // one producer warpgroup (16-bit pools were too, 144 against 208 TFLOP/s at 4 x 1024
            // over 8192, H200, until their values came in pool order, 4 bytes a dim and page).
            let pal_pairs = layout == CacheLayout::Pal && page_size == 2 && kv_dtype.is_fp8();
            let producer = tuning("producer")
                .unwrap_or(usize::from(head_dim <= 128 && !pal_pairs))
                .min(1);
            let bytes = |stages: usize| {
                // mbarriers, then the schedule's words (see `PrefillWgmmaTile`)
                let barriers = if producer == 1 { stages * 20 + 16 } else { 0 };
                let dim = head_dim.div_ceil(64) * 64; // the tiles' width
                1024 + ROWS * dim * 2 + stages * (2 * keys * dim * 2 + keys / 8) + barriers
            };
            let fitting = if producer == 1 && bytes(3) <= super::HOPPER_SHARED_BYTES {
                3
            } else {
                2
            };
            let stages = tuning("stages").unwrap_or(fitting);
            // TMA 1: the producer copies Q and whole prompt tiles with tensor copies (one thread,
            // two boxes of 64 dims each) instead of 128 threads' cp.async; lab knob `tma=0`.
            let tma = usize::from(producer == 1 && tuning("tma") != Some(0));
            // SPLIT 1 (split-KV partial states, warp-specialised form) is a kernel of its own,
            // chosen per call (`run`).
            vec![
                ("KEYS", keys),
                ("STAGES", stages),
                ("ROWS", ROWS),
                ("PRODUCER", producer),
                ("SPLIT", 0),
                ("SHARED_BYTES", bytes(stages)),
                ("TMA", tma),
            ]
        }
        _ => {
            const PAD: usize = 8;
            // (`m_tiles=1` in the tuning knob: one m-tile a warp, 64 rows a CTA, at head dims up
            // to 128 too, where a variant's 64-key tiles then fit its registers. H100, 2026-12-07:
            // at D 128 it ran 0.72-0.78x two m-tiles for plain attention, variants below two
            // m-tiles over 64 keys too.)
            let m_tiles = tuning("m_tiles")
                .filter(|&m_tiles| m_tiles == 1 || m_tiles == 2)
                .unwrap_or(if head_dim > 128 { 1 } else { 2 });
            let rows = 64 * m_tiles;
            // Q, then two ring slots of a K and a V tile (`PrefillMmaTile`), in rows padded by
            // 16 bytes. Where that leaves no room for the kernel's static words (D 256 on GPUs of
            // 100 KiB an SM: 101376 bytes, all a CTA may have), the slots drop the pad (TIGHT:
            // head dims whose rows are swizzled instead).
            // Head dims 192 / 256 (one m-tile a warp) take one slot of 64-key tiles, K and V
            // refilled apart (STAGGER), in the bytes of two 32-key slots: 32-key tiles ran twice
            // FA2's tile steps (ncu, H100, D 256). Every variant, over pages of two slots or more
            // (64-key tiles): soft-cap, ALiBi, sinks 1.03-1.21x the two 32-key slots, windows
            // 0.98-1.11x (H100, 2026-12-06); `stagger=0 / 1` in the tuning knob overrides.
            let staggered = head_dim > 128 && page_size >= 2;
            let stagger = tuning("stagger").map_or(staggered, |stagger| stagger == 1);
            let slots = if stagger { 1 } else { 2 };
            let bytes_of = |keys: usize, row: usize| 2 * (rows + 2 * slots * keys) * row;
            // (`tight=1` in the tuning knob takes it wherever rows are swizzled: its check on GPUs
            // that do not need it.)
            let tight = head_dim % 64 == 0
                && head_dim >= 128
                && tuning("tight").map_or(
                    bytes_of(64 / slots, head_dim + PAD) + PREFILL_MMA_STATIC_BYTES
                        > super::shared_memory(arch).per_cta,
                    |tight| tight == 1,
                );
            let row = if tight { head_dim } else { head_dim + PAD };
            let bytes = |keys: usize| bytes_of(keys, row);
            // 64-key tiles where two CTAs (the kernel's 255 registers allow two) still fit an
            // SM's shared memory, else 32, at every head dim up to 128 and for every variant,
            // although the variants' per-score terms spill there (28-180 bytes, NVRTC 13.0
            // sm_90). Over 32-key tiles: H200, 2026-12-07, D 128 soft-cap 30 1.16-1.18x, ALiBi
            // 1.07-1.13x, window 1.00-1.05x, D 64 1.18-1.31x, 1.15-1.20x, 1.19-1.26x; H100,
            // 2026-12-07, D 80 and 112 1.05-1.29x each, D 96 mixed (`pal` 0.95-1.14x, `nhd`
            // 0.95-1.03x). A tile's page ids fit a warp (pages of one slot: 32 keys).
            let fits_two = |keys| 2 * (bytes(keys) + 1024) <= super::shared_memory(arch).per_sm;
            let wide = head_dim <= 128 && fits_two(64);
            // (`keys=128` in the tuning knob: FA2's tile depth at head dim 64, a lab form, where
            // a CTA's tiles fit and not in `pal`, whose [dim][key] V tiles take at most 64 keys.)
            let deep = |keys| {
                keys == 128
                    && layout != CacheLayout::Pal
                    && !stagger
                    && bytes(keys) + PREFILL_MMA_STATIC_BYTES <= super::shared_memory(arch).per_cta
            };
            let keys = tuning("keys")
                .filter(|&keys| keys == 32 || keys == 64 || deep(keys))
                .unwrap_or(if wide || stagger { 64 } else { 32 })
                .min(32 * page_size);
            // SPLIT 1 (split-KV partial states) is a kernel of its own, chosen per call (`run`).
            let mut shape = vec![
                ("M_TILES", m_tiles),
                ("KEYS", keys),
                ("ROWS", rows),
                ("SPLIT", 0),
                ("SHARED_BYTES", bytes(keys)),
            ];
            if tight {
                shape.push(("TIGHT", 1));
            }
            if stagger {
                shape.push(("STAGGER", 1));
            }
            // (`min_ctas=N` in the tuning knob budgets the registers for N CTAs an SM.)
            if let Some(ctas) = tuning("min_ctas") {
                shape.push(("MIN_CTAS", ctas));
            }
            shape
        }
    };
    let threads = if family == Family::PrefillWgmma {
        if shape.contains(&("PRODUCER", 1)) {
            WGMMA_PRODUCER_THREADS
        } else {
            WGMMA_THREADS
        }
    } else {
        THREADS
    };
    shape.extend([("THREADS", threads), ("PARAMS_LAYOUT", PrefillParams::LAYOUT)]);
    // A soft-cap without ALiBi bounds the logits: both tensor-core kernels' BOUNDED form (chosen
    // per call by the cap, `bounded_logits`) drops the running max.
    let tensor_cores = matches!(family, Family::PrefillWgmma | Family::PrefillMma);
    if tensor_cores && variant.contains("softcap") && !variant.contains("alibi") {
        shape.push(("BOUNDED", 0));
    }
    Ok(KernelKey::attention(family, geometry, variant, shape))
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
    errors: TableErrors,
    variant: VariantParams,
    scales: KvScaleParams,
    schedule: u64,
    partial_acc: u64,
    partial_stats: u64,
    num_splits: i32,
    q_map: TensorMap,
    k_map: TensorMap,
    v_map: TensorMap,
}

impl PrefillParams {
    /// `pal::PREFILL_PARAMS_LAYOUT`.
    const LAYOUT: usize =
        params_layout!(PrefillParams: num_seqs, scale, errors, variant, scales, schedule, num_splits, q_map);
}

/// Keys of the tables' capacity per split, at least, where a prefill splits.
const MIN_SPLIT_KEYS: usize = 1024;
/// The most splits of a prefill CTA's keys.
const MAX_SPLITS: usize = 32;

/// Splits of each item's keys (short prompts over long histories leave most of the GPU idle):
/// one where the `items` fill more than a `part` of the GPU's CTA `slots`, else as many as fill
/// them, each with at least `MIN_SPLIT_KEYS` of the `capacity` keys a sequence may have. The
/// plan depends on the problem and the GPU only, so results stay bitwise reproducible.
fn prefill_splits(items: usize, capacity: usize, slots: usize, part: usize) -> usize {
    if items * part > slots {
        return 1;
    }
    (slots / items.max(1))
        .min(capacity / MIN_SPLIT_KEYS)
        .clamp(1, MAX_SPLITS)
}

/// Whether soft-capped logits are bounded tightly enough for the tensor-core prefills' fixed
/// exponent base (BOUNDED): bfloat16 queries and pools (P in bfloat16 has float32's range;
/// float16 P would overflow past 2^16), a cap of at most 95 / log2(e) (weights within
/// [2^-126, 2^64]), no ALiBi (its bias is unbounded). The key has the entry only where the
/// variant allows it (`kernel_key`). (`bounded=0` in the tuning knob keeps the running max.)
fn bounded_logits(dtypes: (DType, DType), variant: &AttentionVariant) -> bool {
    tuning("bounded") != Some(0)
        && dtypes == (DType::BF16, DType::BF16)
        && variant
            .logits_soft_cap
            .is_some_and(|cap| cap * std::f32::consts::LOG2_E <= 95.0)
}

pub(super) fn run(problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
    let geometry = problem.geometry;
    let inputs = problem.inputs;
    let Device::Cuda(ordinal) = inputs.q.device() else {
        unreachable!("dispatched by device")
    };
    let gpu = device::gpu(OP, ordinal)?;
    let key = kernel_key(
        (
            (problem.query_dtype, geometry.dtype),
            geometry.head_dim,
            geometry.page_size,
            geometry.kernel_layout(),
        ),
        kernel_variant(&problem.variant, inputs.alibi_slopes.is_some(), inputs.sinks.is_some()),
        gpu.arch,
    )?;
    // (`with_shape` sets only an entry the key has: Hopper's soft-caps without ALiBi.)
    let key = if bounded_logits((problem.query_dtype, geometry.dtype), &problem.variant) {
        key.with_shape("BOUNDED", 1)
    } else {
        key
    };
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
    let stream = problem.execution.stream;
    let (num_seqs, pages_per_seq) = (problem.num_seqs, problem.pages_per_sequence);
    let (cu_seqlens, equal_prompt_len) = match problem.prompt_offsets {
        PromptOffsets::Given(cu) => (cu.as_ptr() as u64, 0),
        PromptOffsets::Equal(len) => (0, len),
    };
    raise_reported_table_error(&gpu, OP, ordinal, stream)?;
    if problem.execution.check == TableCheck::Immediate {
        let tables = DeviceTables {
            op: OP,
            ordinal,
            stream,
        };
        tables.check_lengths_and_pages(
            "context_lens",
            &inputs.context_lens,
            &inputs.page_table,
            pages_per_seq,
            &geometry,
        )?;
        if let PromptOffsets::Given(cu) = problem.prompt_offsets {
            check_prompt_offsets(OP, &tables.read(cu)?, problem.total_tokens)?;
        }
    }

    let rows = key.shape_value("ROWS").expect("every prefill shape has ROWS");
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
    let threads = key.shape_value("THREADS").expect("every prefill shape has THREADS") as u32;
    let producer = key.shape_value("PRODUCER") == Some(1);
    // Split-KV (the tensor-core kernels): where the items fill under a part of the GPU's CTA
    // slots, each item's keys split into consecutive runs (`prefill_splits`), sized from the
    // items that hold prompt tokens (the virtual tiles overcount by a sequence's worth each) and
    // the keys a CTA may visit: the tables' capacity (the host knows no lengths), or a window.
    let splittable = key.family != Family::PrefillSimt;
    let (function, slots) = if splittable {
        let (function, per_sm) = gpu.function_and_occupancy(OP, &key, "pal_prefill", threads)?;
        (function, gpu.multiprocessors * per_sm)
    } else {
        (gpu.function(OP, &key, "pal_prefill")?, 0)
    };
    let splits = if splittable {
        let capacity = geometry.capacity(pages_per_seq);
        let visible = problem
            .variant
            .window_left
            .map_or(capacity, |w| capacity.min(w.saturating_add(1)));
        let items = head_blocks * (problem.total_tokens / tokens_per_cta).max(1);
        // Hopper's long-history items run at the GPU's long-history rate from half its SMs on
        // (H200, 2 x 128 over 32768, 64 items: 300 TFLOP/s whole, 284 split in two), so it
        // splits only items under a quarter of its slots (1 x 128: 151 -> 275); the portable
        // kernel gains from half its slots (4 x 128 over 32768, 128 items: 132 -> 278), and so
        // does Hopper's one-item-per-CTA form (head dim 256, 2 x 128 over 32768, 64 items on
        // 132 SMs: 229 -> 431).
        let part = if producer { 4 } else { 2 };
        tuning("splits")
            .unwrap_or_else(|| prefill_splits(items, visible, slots, part))
            .max(1)
    } else {
        1
    };
    // The split kernel (SPLIT 1, with the merge entry) where the call splits.
    let split_key = (splits > 1).then(|| key.with_shape("SPLIT", 1));
    let function = match &split_key {
        Some(split_key) => gpu.function(OP, split_key, "pal_prefill")?,
        None => function,
    };
    let items = i32::try_from(splits)
        .ok()
        .and_then(|s| ctas.checked_mul(s))
        .ok_or_else(|| Error::Unsupported {
            op: OP,
            backend: "cuda",
            what: format!("{ctas} CTAs x {splits} splits"),
            supported: format!("at most {} CTAs per launch", i32::MAX),
        })?;
    // The warp-specialised kernel is persistent: as many CTAs as fit at once, each taking its
    // own item, then items from a counter until none is left (`persistent=0`: a CTA per item,
    // for the lab).
    let blocks = if producer && tuning("persistent") != Some(0) {
        items.min(slots as i32)
    } else {
        items
    };
    let head_dim = geometry.head_dim;
    let out_rows = problem.total_tokens * problem.num_q_heads;
    let (workspace, (partial_acc, partial_stats)) =
        MergeParams::partials(&gpu, OP, stream, out_rows, splits, head_dim)?;
    let schedule = if producer { gpu.schedule_counter(stream) } else { 0 };
    let [q_map, k_map, v_map] = if key.shape_value("TMA") == Some(1) && problem.total_tokens > 0 {
        let keys = key.shape_value("KEYS").expect("every prefill shape has KEYS");
        prompt_maps(problem, heads_per_cta, tokens_per_cta, keys)?
    } else {
        [TensorMap::NONE; 3]
    };
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
        errors: gpu.table_errors(problem.execution.check == TableCheck::Deferred),
        variant: VariantParams::new(&problem.variant, inputs.alibi_slopes.as_ref(), inputs.sinks.as_ref()),
        scales: KvScaleParams::new(&inputs.kv_scales),
        schedule,
        partial_acc,
        partial_stats,
        num_splits: splits as i32,
        q_map,
        k_map,
        v_map,
    };
    let shape = LaunchShape {
        shared_bytes: key.shape_value("SHARED_BYTES").unwrap_or(0) as u32,
        ..LaunchShape::new((blocks as u32, 1, 1), threads)
    };
    // SAFETY: the parameters mirror `pal::PrefillParams`; every address is a validated device
    // tensor of the checked shape (cu_seqlens is 0 when absent, as the kernel expects), or the
    // workspace sized above.
    unsafe { launch(OP, function, shape, stream, &mut params)? };
    if let Some(split_key) = &split_key {
        let merge = MergeParams::new(
            (partial_acc, partial_stats),
            out,
            inputs.sinks.as_ref(),
            out_rows,
            splits,
            head_dim,
            problem.num_q_heads,
        );
        let function = gpu.function(OP, split_key, merge.entry("pal_prefill_merge", "pal_prefill_merge_few"))?;
        // SAFETY: the workspace holds `rows * splits` partial states, written by the launch
        // above on the same stream.
        unsafe { merge.launch(OP, function, stream, false)? };
    }
    workspace.release(OP)
}

/// Tensor maps of `q`, `k` and `v` for the Hopper producer's tensor copies (`TMA`): an item's
/// Q rows as one box of (64 dims, its heads, its tokens), landing as rows `token * heads +
/// head`; a whole prompt tile's keys or values as a box of (64 dims of its KV head, `keys`
/// rows). Rows of 128 bytes swizzled by 128: the tiles' own layout (`wgmma.cuh`).
fn prompt_maps(
    problem: &PrefillProblem<'_, '_>,
    heads_per_cta: usize,
    tokens_per_cta: usize,
    keys: usize,
) -> Result<[TensorMap; 3]> {
    let swizzle = cudarc::driver::sys::CUtensorMapSwizzle::CU_TENSOR_MAP_SWIZZLE_128B;
    let data_type = problem.query_dtype;
    let inputs = problem.inputs;
    let geometry = problem.geometry;
    let (d, tokens) = (geometry.head_dim as u64, problem.total_tokens as u64);
    let (hq, hkv) = (problem.num_q_heads as u64, geometry.num_kv_heads as u64);
    let element = data_type.size_in_bytes() as u64;
    let q = encode_tiled(
        OP,
        inputs.q.as_ptr() as u64,
        data_type,
        swizzle,
        &[d, hq, tokens],
        &[d * element, hq * d * element],
        &[64, heads_per_cta as u32, tokens_per_cta as u32],
    )?;
    let rows = |base: u64| {
        encode_tiled(
            OP,
            base,
            data_type,
            swizzle,
            &[hkv * d, tokens],
            &[hkv * d * element],
            &[64, keys as u32],
        )
    };
    Ok([q, rows(inputs.k.as_ptr() as u64)?, rows(inputs.v.as_ptr() as u64)?])
}

#[cfg(test)]
mod tests {
    use super::{bounded_logits, kernel_key, AttentionVariant, CacheLayout};
    use crate::cuda::jit::Family;
    use crate::dtype::DType;

    #[test]
    fn tensor_core_tiles_fit_in_shared_memory() {
        let shape = |dtype, head_dim| {
            let key = kernel_key(((dtype, dtype), head_dim, 16, CacheLayout::Nhd), "plain", (8, 0)).unwrap();
            (
                key.shape_value("ROWS").unwrap(),
                key.shape_value("SHARED_BYTES").unwrap_or(0),
            )
        };
        // Q tile + two K / V ring slots, as in `PrefillMmaTile`: 32-key tiles at head dim 128
        // on an A100 (two CTAs of 64-key tiles would not fit its 164 KiB), 64 at head dim 64.
        assert_eq!(
            shape(DType::BF16, 128),
            (128, 2 * (128 * 136 + 2 * (32 * 136 + 32 * 136)))
        );
        assert_eq!(shape(DType::F16, 64), (128, 2 * (128 * 72 + 2 * (64 * 72 + 64 * 72))));
        // Head dim 96 on Hopper: 16-bit pools in the wgmma kernel's 128-wide tiles (the shared
        // memory of head dim 128); fp8 pools on CUDA cores.
        let hopper = |layout, kv| kernel_key(((DType::BF16, kv), 96, 16, layout), "plain", (9, 0)).unwrap();
        let nhd = hopper(CacheLayout::Nhd, DType::BF16);
        assert_eq!(nhd.family, Family::PrefillWgmma);
        assert_eq!(
            nhd.shape_value("SHARED_BYTES"),
            kernel_key(((DType::BF16, DType::BF16), 128, 16, CacheLayout::Nhd), "plain", (9, 0))
                .unwrap()
                .shape_value("SHARED_BYTES")
        );
        assert_eq!(
            hopper(CacheLayout::Pal, DType::BF16).shape_value("SHARED_BYTES"),
            nhd.shape_value("SHARED_BYTES")
        );
        let portable = kernel_key(((DType::BF16, DType::BF16), 96, 16, CacheLayout::Pal), "plain", (8, 0)).unwrap();
        assert_eq!(
            (portable.family, portable.shape_value("KEYS").unwrap()),
            (Family::PrefillMma, 64)
        );
        assert_eq!(hopper(CacheLayout::Hnd, DType::F8E4M3).family, Family::PrefillSimt);
        // Variants take 64-key tiles up to head dim 128 where two CTAs of them fit an SM: at 64
        // and 96 on an A100, at 128 on Blackwell (228 KiB an SM), not at 128 on an A100.
        let keys = |head_dim, variant, arch| {
            let geometry = ((DType::BF16, DType::BF16), head_dim, 16, CacheLayout::Pal);
            let key = kernel_key(geometry, variant, arch).unwrap();
            assert_eq!(key.family, Family::PrefillMma);
            key.shape_value("KEYS").unwrap()
        };
        let all = "window+softcap+alibi+sinks";
        assert_eq!(
            [keys(64, all, (8, 0)), keys(128, all, (10, 0)), keys(128, all, (8, 0))],
            [64, 64, 32]
        );
        assert_eq!([keys(96, "plain", (8, 0)), keys(96, "alibi", (8, 0))], [64, 64]);
        let one_slot = kernel_key(((DType::BF16, DType::BF16), 64, 1, CacheLayout::Pal), "plain", (8, 0)).unwrap();
        assert_eq!(one_slot.shape_value("KEYS").unwrap(), 32);
        for head_dim in super::super::HEAD_DIMS {
            // An H100 / A100 CTA may use 227 / 163 KiB.
            assert!(shape(DType::BF16, head_dim).1 <= 163 * 1024, "head_dim {head_dim}");
        }
        assert_eq!(shape(DType::F32, 256), (8, 0));
    }

    #[test]
    fn portable_tiles_and_static_words_fit_a_cta_on_every_gpu() {
        // The tensor-core prefill's dynamic window beside its static words, within what one CTA
        // may have: 163 KiB on an A100, 99 KiB on consumer Ampere / Ada / Blackwell (where D 256's
        // padded rows took all of it: its slots drop the pad there), 227 KiB on Hopper.
        for arch in [(8, 0), (8, 6), (8, 9), (12, 0), (9, 0)] {
            for head_dim in super::super::HEAD_DIMS {
                for page_size in [1, 16, 128] {
                    for variant in ["plain", "window+softcap+alibi+sinks"] {
                        let geometry = ((DType::BF16, DType::BF16), head_dim, page_size, CacheLayout::Pal);
                        let key = kernel_key(geometry, variant, arch).unwrap();
                        if key.family != Family::PrefillMma {
                            continue;
                        }
                        let shared = key.shape_value("SHARED_BYTES").unwrap();
                        let per_cta = crate::cuda::shared_memory(arch).per_cta;
                        let what = format!("{arch:?} head_dim {head_dim} page {page_size} {variant}");
                        assert!(shared + super::PREFILL_MMA_STATIC_BYTES <= per_cta, "{what}: {shared}");
                        let tight = key.shape_value("TIGHT").is_some();
                        assert_eq!(tight, head_dim == 256 && per_cta < 100 << 10, "{what}");
                        let row = if tight { head_dim } else { head_dim + 8 };
                        let (rows, keys) = (key.shape_value("ROWS").unwrap(), key.shape_value("KEYS").unwrap());
                        let stagger = key.shape_value("STAGGER").is_some();
                        assert_eq!(stagger, head_dim > 128 && page_size > 1, "{what}");
                        let slots = if stagger { 1 } else { 2 };
                        assert!(!stagger || keys == 64, "{what}");
                        assert_eq!(shared, 2 * (rows * row + 2 * slots * keys * row), "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn short_prompts_over_long_histories_split_to_fill_the_gpu() {
        use super::prefill_splits;
        // H200: 132 SMs, two portable CTAs or one Hopper CTA each. A 1 x 128 prompt over 32768
        // history: 32 items (8 KV heads x 4 tiles of 32 tokens x 4 heads) split eight or four
        // ways; 4 x 128: 128 portable items split in two, 2 x 128: 64 Hopper ones do not; nor
        // do items over half the slots, nor a history under two split's worth of keys.
        assert_eq!(prefill_splits(32, 32768, 264, 2), 8);
        assert_eq!(prefill_splits(32, 32768, 132, 4), 4);
        assert_eq!(prefill_splits(128, 32768, 264, 2), 2);
        assert_eq!(prefill_splits(64, 32768, 132, 4), 1);
        assert_eq!(prefill_splits(133, 32768, 264, 2), 1);
        assert_eq!(prefill_splits(32, 1500, 264, 2), 1);
        assert_eq!(prefill_splits(8, 1 << 20, 264, 2), 32);
    }

    #[test]
    fn hopper_takes_every_16_bit_head_dim_at_every_page_size() {
        let family = |head_dim, page_size, arch| {
            kernel_key(
                ((DType::BF16, DType::BF16), head_dim, page_size, CacheLayout::Pal),
                "plain",
                arch,
            )
            .map(|key| (key.family, key.shape_value("THREADS").unwrap()))
        };
        for head_dim in [64, 128, 192, 256] {
            for page_size in super::super::PAGE_SIZES {
                // The warp-specialised form up to head dim 128 (16-bit pools: pal pages of two
                // slots too; fp8 ones keep the lockstep form there).
                let threads = if head_dim <= 128 { 384 } else { 256 };
                assert_eq!(
                    family(head_dim, page_size, (9, 0)).unwrap(),
                    (Family::PrefillWgmma, threads)
                );
            }
            let fp8_pairs = kernel_key(
                ((DType::BF16, DType::F8E4M3), head_dim, 2, CacheLayout::Pal),
                "plain",
                (9, 0),
            )
            .unwrap();
            assert_eq!(fp8_pairs.shape_value("THREADS"), Some(256));
            let key = kernel_key(
                ((DType::BF16, DType::BF16), head_dim, 16, CacheLayout::Nhd),
                "plain",
                (9, 0),
            )
            .unwrap();
            // An H100 / H200 CTA may use 227 KiB.
            assert!(
                key.shape_value("SHARED_BYTES").unwrap() <= super::super::HOPPER_SHARED_BYTES,
                "head_dim {head_dim}"
            );
        }
        // Head dims 80-112: the warp-specialised form in 128-wide tiles at every page size.
        for head_dim in [80, 96, 112] {
            for page_size in super::super::PAGE_SIZES {
                assert_eq!(
                    family(head_dim, page_size, (9, 0)).unwrap(),
                    (Family::PrefillWgmma, 384)
                );
            }
        }
        assert_eq!(family(128, 16, (8, 9)).unwrap(), (Family::PrefillMma, 128));
        // The portable tensor-core kernel serves every page size.
        assert_eq!(family(128, 1, (8, 0)).unwrap().0, Family::PrefillMma);
        assert_eq!(family(96, 64, (8, 6)).unwrap().0, Family::PrefillMma);
        // fp8 pools: the Hopper kernel widens them; elsewhere, and off its head dims, CUDA cores.
        let fp8 = |head_dim, arch| {
            kernel_key(
                ((DType::BF16, DType::F8E4M3), head_dim, 16, CacheLayout::Pal),
                "plain",
                arch,
            )
            .unwrap()
            .family
        };
        assert_eq!(fp8(128, (9, 0)), Family::PrefillWgmma);
        assert_eq!(fp8(96, (9, 0)), Family::PrefillSimt);
        assert_eq!(fp8(128, (8, 9)), Family::PrefillSimt);
    }

    #[test]
    fn soft_capped_bfloat16_takes_a_fixed_exponent_base_on_tensor_cores() {
        let capped = |cap: f32| AttentionVariant::default().with_logits_soft_cap(cap);
        let bf16 = (DType::BF16, DType::BF16);
        assert!(bounded_logits(bf16, &capped(50.0)));
        assert!(bounded_logits(bf16, &capped(65.8)) && !bounded_logits(bf16, &capped(66.0)));
        assert!(!bounded_logits(bf16, &AttentionVariant::default()));
        assert!(!bounded_logits((DType::F16, DType::F16), &capped(30.0)));
        assert!(!bounded_logits((DType::BF16, DType::F8E4M3), &capped(30.0)));
        // The key has the entry only for the tensor-core kernels' soft-cap without ALiBi.
        let geometry = (bf16, 128, 16, CacheLayout::Nhd);
        for (variant, arch, entry) in [
            ("softcap", (9, 0), Some(0)),
            ("window+softcap+sinks", (9, 0), Some(0)),
            ("softcap+alibi", (9, 0), None),
            ("plain", (9, 0), None),
            ("softcap", (8, 0), Some(0)),
            ("softcap+alibi", (8, 0), None),
        ] {
            let key = kernel_key(geometry, variant, arch).unwrap();
            assert_eq!(key.shape_value("BOUNDED"), entry, "{}", key.name());
        }
    }
}
