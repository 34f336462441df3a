//! Decode on CUDA: chooses the kernel family and its shape (`kernel_key`), the split-KV plan
//! from the device's occupancy, launches `pal_decode` and, with several splits, merges them in
//! the splits' cluster (small grids, Hopper on) or with `pal_decode_merge`, on the caller's
//! stream.

use cudarc::driver::sys;

use super::device::{self, encode_tiled, launch, LaunchShape, TableErrors, TensorMap};
use super::jit::{Family, Geometry, KernelKey};
use super::{
    check_aligned, check_supported, kernel_variant, raise_reported_table_error, DeviceTables, KvScaleParams,
    VariantParams,
};
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::CacheLayout;
use crate::options::TableCheck;
use crate::problem::DecodeProblem;
use crate::tensor::{Device, TensorView, TensorViewMut};

const OP: &str = "paged_attention_decode";

/// Mirror of `pal::DecodeParams` (its layout is asserted by the kernels: `LAYOUT`).
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
    heads_per_cta: i32,
    merge_in_cluster: i32,
    scale: f32,
    errors: TableErrors,
    variant: VariantParams,
    scales: KvScaleParams,
    v_map: TensorMap,
}

impl DecodeParams {
    /// `pal::DECODE_PARAMS_LAYOUT`.
    const LAYOUT: usize = params_layout!(DecodeParams: num_seqs, scale, errors, variant, scales, v_map);
}

/// Mirror of `pal::MergeParams` (merge.cuh; the prefill's split merge takes it too).
#[repr(C)]
pub(super) struct MergeParams {
    partial_acc: u64,
    partial_stats: u64,
    out: u64,
    sinks: u64,
    rows: i32,
    num_splits: i32,
    head_dim: i32,
    num_q_heads: i32,
}

impl MergeParams {
    /// `pal::MERGE_PARAMS_LAYOUT`.
    pub(super) const LAYOUT: usize = params_layout!(MergeParams: rows);
}

/// Warps per block of the split merges (`MERGE_WARPS`); a warp merges 128 columns of a row
/// (`merge_warps_per_row`).
const MERGE_WARPS: usize = 4;

impl MergeParams {
    /// The split-KV workspace of a call on `stream` (`Gpu::workspace`) for `rows` rows of
    /// `head_dim` in `splits` splits, and where the split kernels write it and the merge reads
    /// it: float32 accumulators `[row][split][dim]`, then (max, sum) pairs `[row][split]`; none,
    /// at (0, 0), for a call that does not split.
    pub(super) fn partials(
        gpu: &device::Gpu,
        op: &'static str,
        stream: usize,
        rows: usize,
        splits: usize,
        head_dim: usize,
    ) -> Result<(device::Workspace, (u64, u64))> {
        if splits <= 1 {
            return Ok((device::Workspace::NONE, (0, 0)));
        }
        let acc_bytes = rows * splits * head_dim * 4;
        let workspace = gpu.workspace(op, stream, acc_bytes + rows * splits * 8)?;
        let address = workspace.address;
        Ok((workspace, (address, address + acc_bytes as u64)))
    }

    /// The merge of `splits` partial states per row of `out` (`rows` rows of `head_dim`), held
    /// in the workspace at `partial` (accumulators, then states), with the query heads' sinks.
    pub(super) fn new(
        partial: (u64, u64),
        out: &mut TensorViewMut<'_>,
        sinks: Option<&TensorView<'_>>,
        rows: usize,
        splits: usize,
        head_dim: usize,
        num_q_heads: usize,
    ) -> Self {
        MergeParams {
            partial_acc: partial.0,
            partial_stats: partial.1,
            out: out.as_mut_ptr() as u64,
            sinks: sinks.map_or(0, |s| s.as_ptr() as u64),
            rows: rows as i32,
            num_splits: splits as i32,
            head_dim: head_dim as i32,
            num_q_heads: num_q_heads as i32,
        }
    }

    /// Which of a module's two merge entries serves these splits (`few`: up to `MERGE_FEW`).
    pub(super) fn entry(&self, many: &'static str, few: &'static str) -> &'static str {
        if self.num_splits as usize <= MERGE_FEW {
            few
        } else {
            many
        }
    }

    /// Launches `function` (a module's merge entry) on `stream`, a warp per 128 columns of a
    /// row; `dependent`: as a programmatic dependent of the launch before it (sm_90 and up).
    ///
    /// # Safety
    /// The workspace holds `rows * splits` partial states, written by an earlier launch on
    /// `stream`; `out` is the tensor `new` was given.
    pub(super) unsafe fn launch(
        mut self,
        op: &'static str,
        function: sys::CUfunction,
        stream: usize,
        dependent: bool,
    ) -> Result<()> {
        let warps = self.rows as usize * (self.head_dim as usize).div_ceil(128);
        let shape = LaunchShape {
            dependent,
            ..LaunchShape::new((warps.div_ceil(MERGE_WARPS) as u32, 1, 1), 32 * MERGE_WARPS as u32)
        };
        // SAFETY: the parameters mirror `pal::MergeParams`; the caller vouches for the rest.
        unsafe { launch(op, function, shape, stream, &mut self) }
    }
}

/// Merges of at most this many splits take a module's `_few` merge entry (`MERGE_AHEAD_FEW`,
/// merge.cuh: 64 registers, eight CTAs an SM); more keep the one that loads 32 splits ahead.
/// H200 (2026-12-02, the few form for every merge, against 32 ahead): float32 MQA 64 x 4096
/// 1.03x, 128 x 2048 1.07x, bf16 8 x 4096 1.01x; MQA 1 x 32768 (its many splits) 0.89x. With
/// this rule (2026-12-03, by graph replay): 1.03x / 1.06x / 1.02x, the many-split rows level.
const MERGE_FEW: usize = 8;

/// Keys per warp tile of the tensor-core kernel (`DecodeMmaTile::KEYS`).
const MMA_KEYS: usize = 16;
/// Keys of a `decode_rows` warp tile (`DecodeRowsTile::KEYS`): splits hold whole tiles.
const ROWS_KEYS: usize = 8;
/// Keys of a `decode_tf32` tile (`DecodeTf32Tile::KEYS`): splits hold whole tiles.
const TF32_KEYS: usize = 16;
/// Keys over all (sequence, KV head) pairs below which a float32 decode stays on CUDA cores
/// (`tf32_grid`).
const TF32_MIN_KEYS: usize = 16384;
/// Keys of a `decode_tf32_wgmma` tile (`DecodeTf32WgmmaTile::KEYS`, wgmma's m): splits hold
/// whole tiles.
const WGMMA_KEYS: usize = 64;
/// Keys over all (sequence, KV head) pairs from which Hopper's TF32 decode takes wgmma
/// (`wgmma_grid`).
const WGMMA_MIN_KEYS: usize = 131072;
/// Keys per step of the TMA_V kernels (four warps' tiles): a tensor copy's box, and their
/// splits' granule.
const TMA_KEYS: usize = 64;
/// A split never holds fewer tokens than this (unless the sequence is shorter): below it the
/// merge costs more than the parallelism gains, except on a grid that would fill under a
/// quarter of the GPU's CTA slots, where the floor halves (`split_plan`).
const MIN_SPLIT_TOKENS: usize = 256;
/// The most splits merged inside their cluster (`merge_in_cluster`, decode.cuh): Hopper's
/// non-portable cluster limit; lab knob `cluster=0` keeps the merge kernel.
const MAX_CLUSTER: usize = 16;
/// Lab knob: `PAL_DECODE_TUNING="warps=8,stages=2,min_ctas=1,m_tiles=1,min_split=128,pdl=0,waves=0,fill=2,evict=200,tma=0,cluster=8,tf32=0,wgmma=0"`
/// overrides the tensor-core decode's shape (m-tiles: 16 query heads each), split plan,
/// dependent launch of the merge, evict-first limit in MiB and largest merging cluster, turns
/// Hopper's tensor copies off, keeps float32 off TF32 tensor cores or off wgmma (`wgmma=1`: on
/// wgmma at every TF32 grid; the kernel still asserts the shape), so kernel variants can be
/// timed side by side without rebuilding.
pub const DECODE_TUNING_ENV: &str = "PAL_DECODE_TUNING";

/// An override from `PAL_DECODE_TUNING`, read once per process.
fn tuning(name: &str) -> Option<usize> {
    static TUNING: std::sync::OnceLock<Vec<(String, usize)>> = std::sync::OnceLock::new();
    super::knob(&TUNING, DECODE_TUNING_ENV, name)
}

/// M-tiles (16 query heads each) a tensor-core decode CTA serves for a GQA group of `group`
/// query heads a KV head, over `kv_rows` (sequence, KV head) pairs on `multiprocessors` SMs. Two
/// for groups over 16 (MQA) where the accumulators fit (head dim up to 128): a CTA then reads its
/// K / V once for 32 heads. Where the pairs are at most an eighth of the SMs (one m-tile a CTA
/// then fills at most a quarter of them before the splits), two CTAs serve a KV head: the second
/// reads K / V from L2 as its neighbour streams them in, and each runs the warps' cheaper
/// one-m-tile merge (H200, 2026-12-01, MQA HQ 32, two rounds: 1 / 2 / 8 / 16 x 4096 1.10-1.11 /
/// 1.10-1.11 / 1.07-1.08 / 1.04-1.06x, 1 x 32768 1.06-1.07x, fp8 1 / 4 x 4096 1.15-1.16 /
/// 1.08-1.09x, head dim 64 1.03-1.07x, HQ 64 / HKV 2 1.05-1.15x; fuller grids lost then: fp8 32
/// x 4096 0.97-0.99x, `nhd` 64 x 4096 0.98x). Since the one-m-tile warps' merge rows were
/// swizzled (forty-fifth session), 16-bit pools (not `fp8`) of groups up to 32 keep one m-tile
/// up to a pair an SM: H200 (2026-12-04, MQA HQ 32, D 128, against two m-tiles) 32 / 64 x 4096
/// 1.08-1.09 / 1.06x, 128 x 2048 1.14-1.15x; 256 x 1024 0.90x stays on two. Lab knob `m_tiles`.
pub(super) fn m_tiles(group: usize, head_dim: usize, kv_rows: usize, multiprocessors: usize, fp8: bool) -> usize {
    let one_tile_grid = kv_rows * 8 <= multiprocessors || (!fp8 && group <= 32 && kv_rows <= multiprocessors);
    tuning("m_tiles").unwrap_or(if group > 16 && head_dim <= 128 && !one_tile_grid {
        2
    } else {
        1
    })
}

/// KV heads a tensor-core decode CTA serves (`decode_mma`'s KV_HEADS): two where a head's 16-bit
/// row is not whole 128-byte lines (head dims 80 / 96 / 112) in `nhd` rows (every layout's pages
/// of one slot), at one m-tile with room for both groups' query heads in it, past an eighth of
/// the SMs in (sequence, KV head) pairs; else one. A warp then copies runs of two heads' rows of
/// each slot: one head's rows start 32 or 64 bytes off a line and the neighbouring head's CTA
/// reads the rest of the line at another time (ncu, H200, 2026-12-04: DRAM at 76-79% of its
/// peak against 85-89% for `hnd`'s same bytes). H200 (2026-12-04, bf16, HQ 32 / HKV 8, page 16,
/// against one head): 8 x 4096 1.09-1.12x, 32 x 4096 1.07-1.13x, 64 x 4096 1.13-1.14x at head
/// dims 80 / 96 / 112 (pages 1-8, MHA, HQ 64, float16: 1.05-1.12x); 1 x 4096 (8 pairs)
/// 0.95-1.03x stays on one. Four heads (a whole m-tile at GQA 4) lost at 8 / 32 x 4096
/// (0.84-1.02x). Head dim 64 (a row of one line) takes two heads past two pairs an SM: a slot's
/// run of 256 bytes against 128 (H200, 2026-12-04, bf16, page 16: 64 x 4096 1.07x, 128 x 2048
/// 1.03-1.04x, 256 x 1024 1.03-1.04x; 8 x 4096 1.02-1.03x, 32 x 4096 0.96x, 1 x 32768 level;
/// two stages lost at 128 x 2048, 0.97-0.98x; 32 x 4096 unsplit level). Hopper only, where it
/// was measured and where its CTAs fit (96-172 KB: an A100 gives a CTA 163 KB, sm_86 / sm_89
/// 99). Lab knob `kv_heads` (1: one head a CTA; N: N heads at any head dim the form takes).
pub(super) fn kv_heads(
    (dtype, kv_dtype): (DType, DType),
    head_dim: usize,
    layout: CacheLayout,
    (group, num_kv_heads): (usize, usize),
    (kv_rows, multiprocessors): (usize, usize),
    m_tiles: usize,
    arch: (i32, i32),
) -> usize {
    let row_bytes = head_dim * dtype.size_in_bytes();
    let default = if !row_bytes.is_multiple_of(128) && kv_rows * 8 > multiprocessors
        || row_bytes == 128 && kv_rows > 2 * multiprocessors
    {
        2
    } else {
        1
    };
    let heads = tuning("kv_heads").unwrap_or(default).max(1);
    let form = takes_kv_heads((dtype, kv_dtype), layout, (group, heads), m_tiles, arch);
    if dtype != DType::F32 && form && num_kv_heads.is_multiple_of(heads) {
        heads
    } else {
        1
    }
}

/// Whether a tensor-core decode CTA of this form takes `heads` KV heads (`decode_mma`'s KV_HEADS
/// asserts the same): pools in the queries' 16-bit dtype, `nhd` rows, one m-tile holding every
/// group's query heads, Hopper (see `kv_heads`).
fn takes_kv_heads(
    (dtype, kv_dtype): (DType, DType),
    layout: CacheLayout,
    (group, heads): (usize, usize),
    m_tiles: usize,
    arch: (i32, i32),
) -> bool {
    arch == (9, 0)
        && kv_dtype == dtype
        && layout == CacheLayout::Nhd
        && m_tiles == 1
        && 16 % heads == 0
        && group * heads <= 16
}

/// Whether `kv_rows` (sequence, KV head) pairs on `multiprocessors` SMs are a grid for tensor-core
/// CTAs of six warps over fp8 pools (Hopper; see `kernel_key`): past one wave of four-warp CTAs
/// (three an SM at 165 registers, which `balanced_splits` then splits three ways) and within two of
/// six-warp ones (two an SM: the same twelve warps, the grid unsplit in two nearly full waves).
/// H200 (2026-12-02, e4m3, HQ 32 / HKV 8, D 128, page 16, two rounds, against four warps): 52 / 64
/// x 4096 1.04-1.06 / 1.06-1.10x, and at 64 x 4096 head dim 64 1.12x, pages of 4 / 32 1.04-1.09x,
/// HQ 64 1.10x. Outside that band six warps tied or lost: 8 / 32 x 4096 0.99-1.01x, 48 x 4096
/// 0.90-0.92x (one full wave of four-warp CTAs), 96 x 4096 0.98-1.00x, 256 x 1024 0.98-0.99x; 128 x
/// 2048 (1.02-1.03x) is left out.
pub(super) fn six_warp_grid(kv_rows: usize, multiprocessors: usize) -> bool {
    3 * multiprocessors < kv_rows && kv_rows <= 4 * multiprocessors
}

/// Whether a float32 decode of `group` query heads a KV head runs on TF32 tensor cores
/// (`decode_tf32`, 3xTF32: float32 accuracy) rather than CUDA cores: from groups of 16, where
/// CUDA cores need 4 FFMA and more per byte of K / V (8 at MQA: an H200's whole FFMA rate at its
/// read ceiling; `decode_rows` reached 26-28% there), at head dims 64 and 128, from sm_80. Lab
/// knob `tf32=0` keeps CUDA cores.
pub(super) fn tf32_group(group: usize, head_dim: usize, arch: (i32, i32)) -> bool {
    group >= 16 && matches!(head_dim, 64 | 128) && arch.0 >= 8 && tuning("tf32") != Some(0)
}

/// Whether `kv_rows` (sequence, KV head) pairs of `keys` keys each are grid enough for the TF32
/// decode (`tf32_group`): its CTA serves 32 heads where CUDA cores take four CTAs of 8, each
/// warp every tile of a split where CUDA cores give each warp its own, so a split's latency is
/// about twice theirs. H200 (2026-12-02, MQA, D 128, page 16, TF32 against CUDA cores): 1 x 4096
/// 0.73x, 8 x 4096 1.17-1.22x, 1 x 32768 1.09-1.16x, 32 x 4096 1.63-1.72x.
pub(super) fn tf32_grid(kv_rows: usize, keys: usize) -> bool {
    kv_rows * keys >= TF32_MIN_KEYS
}

/// Whether a `tf32_group` over 16 query heads a KV head (CTAs of 32, the last one's columns
/// past the group masked) on a `tf32_grid` runs on Hopper's wgmma (`decode_tf32_wgmma`): a CTA
/// of 64-key tiles (four times `decode_tf32`'s), so it waits for grids of `WGMMA_MIN_KEYS` keys
/// (lab knob `wgmma=0` never, `wgmma=1` on every TF32 grid). H200 (2026-12-02, MQA, D 128, page
/// 16, against `decode_tf32`): 8 x 4096 0.96-0.99x, 16 x 4096 0.98-1.01x, 32 x 4096 1.13-1.14x,
/// 64 x 4096 1.26-1.27x, 128 x 2048 1.26x.
pub(super) fn wgmma_grid(kv_rows: usize, keys: usize) -> bool {
    match tuning("wgmma") {
        Some(on) => on != 0,
        None => kv_rows * keys >= WGMMA_MIN_KEYS,
    }
}

/// What the host's rules chose for a call's CTAs besides its geometry: `m_tiles` m-tiles of 16
/// query heads a tensor-core CTA (`m_tiles`) over `kv_heads` KV heads (`kv_heads`), K / V copies
/// evict-first in L2 (`evict_first`),
/// six-warp CTAs for fp8 pools (`six_warp_grid`), float32 on TF32 tensor cores (`tf32_grid`),
/// there on Hopper's wgmma (`wgmma_grid`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Form {
    pub m_tiles: usize,
    pub kv_heads: usize,
    pub evict_first: bool,
    pub six_warps: bool,
    pub tf32: bool,
    pub wgmma: bool,
}

impl Form {
    /// One m-tile of one KV head, the default L2 policy, four-warp CTAs, TF32 where the group
    /// takes it, on wgmma where the GPU and the group do.
    pub const BASE: Form = Form {
        m_tiles: 1,
        kv_heads: 1,
        evict_first: false,
        six_warps: false,
        tf32: true,
        wgmma: true,
    };
}

/// The kernel module for this geometry and variant, with the `form` the host chose: float32 runs
/// on CUDA cores (float32 pools in warp-private rings of 4 or 8 query heads a CTA by the GQA
/// `group`, or on TF32 tensor cores for a `tf32_group` on a `tf32_grid`, by Hopper's wgmma for
/// groups over 16 on a `wgmma_grid`; fp8 ones in the staged
/// v0 kernel), 16-bit dtypes on tensor cores with `m_tiles` m-tiles of 16 query heads a CTA
/// (see `m_tiles`), their K / V copies evict-first in L2 if `evict_first` (see `evict_first`),
/// fp8 pools in CTAs of six warps on a `six_warp_grid`.
pub(super) fn kernel_key(
    geometry: Geometry,
    variant: &'static str,
    group: usize,
    form: Form,
    arch: (i32, i32),
) -> Result<KernelKey> {
    let Form {
        m_tiles,
        kv_heads,
        evict_first,
        six_warps,
        tf32,
        wgmma,
    } = form;
    let ((dtype, kv_dtype), head_dim, page_size, layout) = geometry;
    // Tensor cores take 16-bit queries over pools of their dtype or of fp8 (every head dim and
    // page size); CUDA cores float32 queries (fp8 pools widened exactly as they are staged).
    let fp8_on_tensor_cores = kv_dtype.is_fp8();
    let family = if dtype != DType::F32 && (kv_dtype == dtype || fp8_on_tensor_cores) {
        Family::DecodeMma
    } else if kv_dtype == DType::F32 {
        if tf32 && wgmma && tf32_group(group, head_dim, arch) && group > 16 && arch == (9, 0) {
            Family::DecodeTf32Wgmma
        } else {
            Family::DecodeRows
        }
    } else {
        Family::DecodeSimt
    };
    check_supported(OP, family, kv_dtype, (head_dim, page_size))?;
    let common = [
        ("PARAMS_LAYOUT", DecodeParams::LAYOUT),
        ("MERGE_PARAMS_LAYOUT", MergeParams::LAYOUT),
    ];
    let shape = match family {
        Family::DecodeRows if tf32 && tf32_group(group, head_dim, arch) => {
            // Mirrors `DecodeTf32Tile`: warps of 8 query heads (2 or 4 of them; larger groups
            // take several CTAs a KV head) sharing a ring of STAGES tiles of TF32_KEYS keys (K
            // and V). Registers budgeted for MIN_CTAS CTAs an SM (lab knob `min_ctas`).
            let warps = group.min(32).div_ceil(8).next_power_of_two();
            let stages = tuning("stages").unwrap_or(if head_dim > 64 { 3 } else { 4 });
            vec![
                ("TF32", 1),
                ("HEADS", 8 * warps),
                ("WARPS", warps),
                ("STAGES", stages),
                ("MIN_CTAS", tuning("min_ctas").unwrap_or(2)),
                ("TOKENS", TF32_KEYS),
                ("SHARED_BYTES", stages * 2 * TF32_KEYS * head_dim * 4),
            ]
        }
        Family::DecodeTf32Wgmma => {
            // Mirrors `DecodeTf32WgmmaTile`: a warpgroup of 32 query heads; one K and one V
            // tile of WGMMA_KEYS keys, Q's and P^T's TF32 halves, the warps' maxima (113 KB at
            // head dim 128: two CTAs an SM, three at 64).
            let tile = WGMMA_KEYS * head_dim;
            vec![
                ("HEADS", 32),
                ("WARPS", 4),
                ("MIN_CTAS", if head_dim > 64 { 2 } else { 3 }),
                ("TOKENS", WGMMA_KEYS),
                (
                    "SHARED_BYTES",
                    (2 * tile + 2 * 32 * head_dim + 2 * 32 * WGMMA_KEYS + 4 * 32) * 4,
                ),
            ]
        }
        Family::DecodeRows => {
            // Mirrors `DecodeRowsTile`: a ring of STAGES tiles of ROWS_KEYS keys (K and V) a
            // warp, each warp's scratch, and at the end the warps' states over the ring. Wide
            // rows take two warps of two stages (64 KB at head dim 256: pre-Hopper GPUs give a
            // CTA 99 KB).
            let heads = if group > 4 { 8 } else { 4 };
            let (warps, stages) = if head_dim > 128 { (2, 2) } else { (4, 3) };
            let tile = ROWS_KEYS * head_dim;
            let ring = warps * stages * 2 * tile;
            let merge = warps * heads * (head_dim + 2);
            // (the warps' scratch in whole 128-byte lines, so that the ring's rows start on one)
            let scratch = (warps * (heads * ROWS_KEYS + heads)).next_multiple_of(32);
            vec![
                ("HEADS", heads),
                ("WARPS", warps),
                ("STAGES", stages),
                ("TOKENS", ROWS_KEYS),
                ("SHARED_BYTES", (scratch + ring.max(merge)) * 4),
            ]
        }
        Family::DecodeSimt => {
            let tokens = if head_dim * 4 > 512 { 16 } else { 32 };
            vec![("HEADS", 8), ("TOKENS", tokens), ("THREADS", 128)]
        }
        _ => {
            // Hopper copies the V of pal pages of 64 slots or more with TMA (below), in steps
            // of four warps' tiles, and of 16-bit pages of 32 slots, two boxes a step.
            let tma_pages = arch == (9, 0) && layout == CacheLayout::Pal && tma_page(page_size, kv_dtype, head_dim);
            // fp8 pools at one m-tile and head dims up to 128 (165 registers, no spill under
            // two CTAs' bound, variants included) on a `six_warp_grid`: six warps, two CTAs an SM.
            // Hopper only, where it was measured (and where three four-warp CTAs' rings fit an
            // SM; sm_86 / sm_89 hold two, or one six-warp CTA).
            let six = six_warps && arch == (9, 0) && kv_dtype.is_fp8() && m_tiles == 1 && head_dim <= 128 && !tma_pages;
            let mut warps = tuning("warps").unwrap_or(if six { 6 } else { 4 });
            // Several KV heads a CTA (`kv_heads`): 16-bit nhd rows at one m-tile only.
            let kv_heads = if takes_kv_heads((dtype, kv_dtype), layout, (group, kv_heads), m_tiles, arch) {
                kv_heads
            } else {
                1
            };
            // A tile row: a key's dims over the CTA's KV heads. Three stages over two heads (one
            // CTA an SM; H200, 2026-12-04, against two stages and two CTAs: 32 x 4096 1.02-1.04x,
            // 64 x 4096 0.98-0.99x, 8 x 4096 level).
            let row = head_dim * kv_heads;
            let stages = tuning("stages").unwrap_or(if row <= 128 || kv_heads == 2 { 3 } else { 2 });
            // Mirrors `DecodeMmaTile` (the kernel asserts the result): a stage holds a K and a
            // V tile of MMA_KEYS unpadded rows (swizzled in place) in every layout and dtype.
            let ring_of = |warps: usize| warps * stages * 2 * MMA_KEYS * row * kv_dtype.size_in_bytes();
            // Where four warps' ring passes what the GPU gives a CTA (16-bit rows of 256: 131 KB
            // against sm_86 / sm_89's 99 KB), two warps (66 KB) serve the CTA.
            if tuning("warps").is_none() && ring_of(warps) > super::shared_memory(arch).per_cta {
                warps = 2;
            }
            let ring = ring_of(warps);
            let merge = warps * 16 * m_tiles * (row + 2) * 4;
            // Hopper copies the V of pal pages of 64 slots or more with TMA, a box of TMA_KEYS
            // slots (four warps' tiles) by head_dim rows per step (`decode_mma`'s TMA_V),
            // splits holding whole steps; a full and an empty mbarrier per stage after the
            // masks. Lab knob `tma=0` keeps the copying threads. (K by the same boxes ran no
            // faster, H200 2026-11-30: 0.99-1.00x with 1 KB box rows, 0.78x with 16-byte
            // ones; nor did a box per warp tile at pages of 16 and 32: 0.64x K and V, 0.94x V,
            // 0.93-0.98x over 128-byte rows of a 16-slot page's blocks.)
            let tma = tma_pages && warps * MMA_KEYS == TMA_KEYS && tuning("tma") != Some(0);
            let masks = warps * stages * 4;
            let shared = ring.max(merge)
                + if tma {
                    masks.next_multiple_of(8) + 2 * stages * 8
                } else {
                    masks
                };
            // CTAs per SM the registers are budgeted for (`__launch_bounds__`), a lab knob: fp8
            // up to head dim 128 fits four (128 registers, no spill) and then splits 256-CTA
            // batches in two, but measured on an H200 that won only pal 64 x 4096 (+18%, one wave
            // instead of 1.3) and lost 3-11% elsewhere (docs/kernels.md, v7); 16-bit pools spill.
            // Six-warp CTAs are bound to two an SM.
            let min_ctas = tuning("min_ctas").unwrap_or(if six { 2 } else { 1 });
            vec![
                ("M_TILES", m_tiles),
                ("WARPS", warps),
                ("STAGES", stages),
                ("MIN_CTAS", min_ctas),
                ("SHARED_BYTES", shared),
                ("EVICT_FIRST", usize::from(evict_first)),
            ]
            .into_iter()
            .chain(tma.then_some(("TMA_V", 1)))
            .chain(tma.then_some(("TOKENS", TMA_KEYS)))
            .chain((kv_heads > 1).then_some(("KV_HEADS", kv_heads)))
            .collect()
        }
    };
    Ok(KernelKey::attention(
        family,
        geometry,
        variant,
        shape.into_iter().chain(common).collect(),
    ))
}

/// Whether Hopper's decode copies the V of `pal` pages of `page_size` slots by tensor copies
/// (TMA_V): a box a step at 64 slots and more; at 32 (16-bit pools) a box a page, two a step, each
/// reading the page's HEAD_DIM rows of 64 bytes as half as many of 128 (`tensor_map`). H200
/// (2026-12-03, bf16, against the lanes' copies of a tile's 32-byte runs, two rounds): 1 / 8 /
/// 32 / 64 x 4096 1.03-1.04 / 1.10 / 1.02 / 1.03x, 1 x 32768 1.12x, head dims 64 and 256 1.02-1.08x,
/// MHA 8 x 4096 1.02x. Boxes of 64-byte rows (the page's rows as they are) ran 0.91-0.99x on
/// the bandwidth-bound rows: a tensor copy's requests follow its box rows.
/// fp8 pages of 32 where the step's second box starts on a 1024-byte swizzle atom (head dims of
/// whole 32s), rows of 4 dims: 8 / 32 / 64 x 4096 1.12 / 1.07 / 1.11x, 1 x 32768 1.12x, head dim
/// 256 1.20-1.27x (e4m3, same day).
fn tma_page(page_size: usize, kv_dtype: DType, head_dim: usize) -> bool {
    page_size >= TMA_KEYS
        || (page_size * 2 == TMA_KEYS && (head_dim * page_size * kv_dtype.size_in_bytes()).is_multiple_of(1024))
}

/// A `pal` value pool as the tensor that `decode_mma`'s tensor copies read (TMA_V): 2-D, rows
/// of `page_size` slots, one per (page, KV head, dim), in boxes of a step (TMA_KEYS slots) of
/// every dim, their 128-byte rows swizzled by 128 (fp8: 64, by 64); pages under a step as
/// rows of 128 bytes of several dims (a page's rows of one head are one run), a box a page.
/// Boxes past the rows (an invalid page's) read zeros.
fn tensor_map(op: &'static str, pool: u64, geometry: &crate::layout::CacheGeometry) -> Result<TensorMap> {
    use cudarc::driver::sys;
    let element = geometry.dtype.size_in_bytes();
    let rows = geometry.num_pages * geometry.num_kv_heads * geometry.head_dim;
    // Pages under a step: a page's rows of one head, one run, read as rows of 128 bytes (bf16
    // 32 slots: 2 dims a row; fp8 32: 4).
    let dims_a_row = if geometry.page_size < TMA_KEYS {
        128 / (geometry.page_size * element)
    } else {
        1
    };
    let swizzle = if geometry.page_size.min(TMA_KEYS) * element * dims_a_row == 128 {
        sys::CUtensorMapSwizzle::CU_TENSOR_MAP_SWIZZLE_128B
    } else {
        sys::CUtensorMapSwizzle::CU_TENSOR_MAP_SWIZZLE_64B
    };
    // The kernel's row coordinates are int32.
    if rows > i32::MAX as usize {
        return Err(crate::error::Error::value(
            op,
            "v_cache",
            "at most 2^31 rows of a page's heads for Hopper's tensor copies",
            rows,
        ));
    }
    let dims = [(geometry.page_size * dims_a_row) as u64, (rows / dims_a_row) as u64];
    let strides = [(geometry.page_size * dims_a_row * element) as u64];
    let boxes = [
        (geometry.page_size * dims_a_row).min(TMA_KEYS * dims_a_row) as u32,
        (geometry.head_dim / dims_a_row) as u32,
    ];
    encode_tiled(op, pool, geometry.dtype, swizzle, &dims, &strides, &boxes)
}

/// How many times the L2's size a decode may read and still copy K / V evict-first. H200 (50
/// MiB of L2, 2026-11-30, bf16 and fp8 pools): +5-9% from 17 to 134 MB, +1% at 268 MB, -4% at
/// 537 MB and -5% at 1.07 GB.
const EVICT_FIRST_L2_MULTIPLE: usize = 4;

/// Whether a decode that reads at most `kv_bytes` of K / V copies them through L2 evict-first
/// (`pal::copy_async`'s `EVICT_FIRST`): the lines it streams in then replace each other instead of
/// what L2 held (in the lab, the dirty lines of its flush, whose write-backs would share the
/// DRAM with the stream: about 4 us of an H200 decode); past the limit the policy costs more
/// than it saves. `PAL_DECODE_TUNING`'s `evict` (MiB) overrides the limit.
fn evict_first(kv_bytes: usize, l2_bytes: usize) -> bool {
    let limit = tuning("evict").map_or(EVICT_FIRST_L2_MULTIPLE * l2_bytes, |mib| mib << 20);
    kv_bytes <= limit
}

/// Query heads one CTA serves, and its threads, under `key`.
fn cta_shape(key: &KernelKey) -> (usize, u32) {
    match key.family {
        Family::DecodeSimt => (key.shape_value("HEADS").unwrap_or(8), 128),
        Family::DecodeRows | Family::DecodeTf32Wgmma => (
            key.shape_value("HEADS").unwrap_or(4),
            32 * key.shape_value("WARPS").unwrap_or(4) as u32,
        ),
        _ => (
            16 * key.shape_value("M_TILES").unwrap_or(1),
            32 * key.shape_value("WARPS").unwrap_or(4) as u32,
        ),
    }
}

/// KV splits per sequence and tokens per split. Without splits `ctas` CTAs run; `slots` fit on
/// the GPU at once. A batch under one wave is split so that the whole grid fits in one wave (a
/// second, partial wave would double the time), with at least MIN_SPLIT_TOKENS per split; a
/// larger batch splits only where that makes its last wave nearly full (`balanced_splits`; lab
/// knob `waves=0` turns that off). Splits hold whole tiles of `granule` tokens. A grid that
/// would fill under 1 / `tiny_fill` of the slots at the floor (a quarter; half for TF32 CTAs;
/// MQA, or a short context, at batch 1-2) splits down to half of it: each CTA then streams half
/// the bytes behind the same fixed latency (H200, 2026-11-30: MQA 1 x 4096 17.2 -> 15.0 us, 1 x
/// 2048 16.6 -> 14.2, GQA 1 x 1024 12.3 -> 11.8; the rows of a fuller grid lose at that floor,
/// MQA 8 x 4096 19.6 -> 22.0, except on TF32 CTAs: 1.11-1.13x there, 2026-12-02).
fn split_plan(ctas: usize, capacity: usize, slots: usize, granule: usize, tiny_fill: usize) -> (usize, usize) {
    let floor = tuning("min_split").unwrap_or_else(|| {
        let tiny = ctas * capacity.div_ceil(MIN_SPLIT_TOKENS) < slots / tiny_fill;
        if tiny {
            MIN_SPLIT_TOKENS / 2
        } else {
            MIN_SPLIT_TOKENS
        }
    });
    let max_splits = capacity.div_ceil(floor).max(1);
    let splits = if ctas <= slots {
        // Lab knob `fill=k`: k waves of smaller splits instead of one (the block scheduler then
        // balances the CTAs' finishing times, at the cost of more CTA prologues and partials).
        (tuning("fill").unwrap_or(1).max(1) * slots / ctas.max(1)).clamp(1, max_splits)
    } else if tuning("waves") == Some(0) {
        1
    } else {
        balanced_splits(ctas, slots, max_splits)
    };
    let tokens_per_split = capacity.div_ceil(splits).div_ceil(granule).max(1) * granule;
    (capacity.div_ceil(tokens_per_split).max(1), tokens_per_split)
}

/// Splits (1 to 4, at most `max_splits`) for a grid of `ctas` > `slots` CTAs: the fewest whose
/// modelled time is least, counting a CTA's work as 1 / splits plus a fixed 15% per CTA (its
/// prologue and epilogue, the merge's share) and whole waves, since a partial last wave costs a
/// whole one. Fitted on the H200 (fp8, 3 CTAs per SM, 2026-11-30): 64 x 4096 (512 CTAs on 396
/// slots) runs 15% faster in 3 splits (the model: 16%), 128 x 2048 (2.6 waves) 7% slower in 3
/// (the model keeps it whole; with a 5% fixed cost it chose 3).
fn balanced_splits(ctas: usize, slots: usize, max_splits: usize) -> usize {
    let time = |splits: usize| (ctas * splits).div_ceil(slots) as f64 * (1.0 / splits as f64 + 0.15);
    (1..=max_splits.min(4)).fold(
        1,
        |best, splits| if time(splits) < time(best) - 1e-9 { splits } else { best },
    )
}

pub(super) fn run(problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
    let geometry = problem.geometry;
    let inputs = problem.inputs;
    let Device::Cuda(ordinal) = inputs.queries.device() else {
        unreachable!("dispatched by device")
    };
    let group = problem.num_q_heads / geometry.num_kv_heads;
    let gpu = device::gpu(OP, ordinal)?;
    let (num_seqs, pages_per_seq) = (problem.num_seqs, problem.pages_per_sequence);
    // Keys a sequence's CTAs cover: its capacity, or its window's (from its first key rounded
    // down to a tile of `granule` keys). The host knows no lengths: what a call reads at most.
    let capacity = geometry.capacity(pages_per_seq);
    let visible = |granule: usize| {
        problem
            .variant
            .window_left
            .map_or(capacity, |w| capacity.min(w.saturating_add(granule)))
    };
    let kv_rows = num_seqs * geometry.num_kv_heads;
    let kv_bytes = kv_rows * visible(MMA_KEYS) * geometry.head_dim * 2 * geometry.dtype.size_in_bytes();
    let m_tiles = m_tiles(
        group,
        geometry.head_dim,
        kv_rows,
        gpu.multiprocessors,
        geometry.dtype.is_fp8(),
    );
    let dtypes = (problem.query_dtype, geometry.dtype);
    let key = kernel_key(
        (
            (problem.query_dtype, geometry.dtype),
            geometry.head_dim,
            geometry.page_size,
            geometry.kernel_layout(),
        ),
        kernel_variant(&problem.variant, inputs.alibi_slopes.is_some(), inputs.sinks.is_some()),
        group,
        Form {
            m_tiles,
            kv_heads: kv_heads(
                dtypes,
                geometry.head_dim,
                geometry.kernel_layout(),
                (group, geometry.num_kv_heads),
                (kv_rows, gpu.multiprocessors),
                m_tiles,
                gpu.arch,
            ),
            evict_first: evict_first(kv_bytes, gpu.l2_bytes),
            six_warps: six_warp_grid(kv_rows, gpu.multiprocessors),
            tf32: tf32_grid(kv_rows, visible(TF32_KEYS)),
            wgmma: wgmma_grid(kv_rows, visible(WGMMA_KEYS)),
        },
        gpu.arch,
    )?;
    check_aligned(
        OP,
        &[
            ("queries", inputs.queries.as_ptr() as usize),
            ("k_cache", inputs.k_cache.as_ptr() as usize),
            ("v_cache", inputs.v_cache.as_ptr() as usize),
            ("out", out.as_mut_ptr() as usize),
        ],
    )?;
    let stream = problem.execution.stream;
    raise_reported_table_error(&gpu, OP, ordinal, stream)?;
    if problem.execution.check == TableCheck::Immediate {
        let tables = DeviceTables {
            op: OP,
            ordinal,
            stream,
        };
        tables.check_lengths_and_pages(
            "seq_lens",
            &inputs.seq_lens,
            &inputs.page_table,
            pages_per_seq,
            &geometry,
        )?;
    }

    let (rows_per_cta, threads) = cta_shape(&key);
    let (decode, ctas_per_sm) = gpu.function_and_occupancy(OP, &key, "pal_decode", threads)?;
    // A CTA of several KV heads serves all their query heads (`kv_heads`: they fit its m-tile).
    let kv_heads = key.shape_value("KV_HEADS").unwrap_or(1);
    let heads_per_cta = if kv_heads > 1 {
        kv_heads * group
    } else {
        group.min(rows_per_cta)
    };
    let head_chunks = group.div_ceil(heads_per_cta);
    let head_blocks = geometry.num_kv_heads / kv_heads * head_chunks;
    let ctas = num_seqs * head_blocks;
    let granule = key.shape_value("TOKENS").unwrap_or(MMA_KEYS);
    let slots = gpu.multiprocessors * ctas_per_sm;
    // TF32 CTAs (a warp on every tile of its split) halve the floor on grids that fill under half
    // the slots at it (H200, 2026-12-02: MQA 8 x 4096 1.10-1.13x, 16 x 4096 and 1 x 32768 level).
    let tiny_fill = if key.shape_value("TF32") == Some(1) { 2 } else { 4 };
    let (splits, tokens_per_split) = split_plan(ctas, visible(granule), slots, granule, tiny_fill);
    let head_dim = geometry.head_dim;
    let rows = num_seqs * problem.num_q_heads;
    // Tensor-core decodes merge a row group's splits in its own cluster (Hopper on: up to 16
    // CTAs), instead of a merge kernel after the grid, where the grid has a CTA per SM at most
    // and its clusters all run at once. Denser grids keep the merge kernel: with clusters they
    // ran 0.75-0.84x (H200, 2 to 32 x 4096), where 1 x 2048 / 4096 gained 3-6%.
    let max_cluster = tuning("cluster").unwrap_or(MAX_CLUSTER);
    let cluster = key.family == Family::DecodeMma
        && splits > 1
        && splits <= max_cluster
        && ctas * splits <= gpu.multiprocessors
        && gpu.active_clusters(OP, &key, "pal_decode", threads, splits as u32)? >= ctas;
    let (workspace, (partial_acc, partial_stats)) = MergeParams::partials(&gpu, OP, stream, rows, splits, head_dim)?;
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
        num_kv_heads: geometry.num_kv_heads as i32,
        pages_per_seq: pages_per_seq as i32,
        num_pages: geometry.num_pages as i32,
        num_splits: splits as i32,
        tokens_per_split: tokens_per_split as i32,
        head_chunks: head_chunks as i32,
        heads_per_cta: heads_per_cta as i32,
        merge_in_cluster: cluster as i32,
        scale: problem.scale,
        errors: gpu.table_errors(problem.execution.check == TableCheck::Deferred),
        variant: VariantParams::new(&problem.variant, inputs.alibi_slopes.as_ref(), inputs.sinks.as_ref()),
        scales: KvScaleParams::new(&inputs.kv_scales),
        v_map: match key.shape_value("TMA_V") {
            Some(1) => tensor_map(OP, inputs.v_cache.as_ptr() as u64, &geometry)?,
            _ => TensorMap::NONE,
        },
    };
    let shape = LaunchShape {
        blocks: (head_blocks as u32, num_seqs as u32, splits as u32),
        threads,
        shared_bytes: key.shape_value("SHARED_BYTES").unwrap_or(0) as u32,
        dependent: false,
        cluster_z: if cluster { splits as u32 } else { 0 },
    };
    // SAFETY: the parameters mirror `pal::DecodeParams` (layout asserted by the kernel); every
    // address is a validated device tensor of the checked shape, or the workspace sized above.
    unsafe { launch(OP, decode, shape, stream, &mut params)? };
    if splits > 1 && !cluster {
        let merge = MergeParams::new(
            (partial_acc, partial_stats),
            out,
            inputs.sinks.as_ref(),
            rows,
            splits,
            head_dim,
            problem.num_q_heads,
        );
        let function = gpu.function(OP, &key, merge.entry("pal_decode_merge", "pal_decode_merge_few"))?;
        // From Hopper on the merge is a programmatic dependent of the decode kernel (it waits in
        // `griddepcontrol.wait` before reading the partial states): its launch overlaps the
        // decode kernel's tail instead of following it.
        let dependent = gpu.arch.0 >= 9 && tuning("pdl") != Some(0);
        // SAFETY: the workspace holds `rows * splits` states, written by the launch above.
        unsafe { merge.launch(OP, function, stream, dependent)? };
    }
    workspace.release(OP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_of_up_to_eight_splits_take_the_few_entry() {
        let merge = |num_splits| MergeParams {
            partial_acc: 0,
            partial_stats: 0,
            out: 0,
            sinks: 0,
            rows: 1,
            num_splits,
            head_dim: 128,
            num_q_heads: 1,
        };
        for (splits, entry) in [
            (2, "few"),
            (MERGE_FEW as i32, "few"),
            (MERGE_FEW as i32 + 1, "many"),
            (64, "many"),
        ] {
            assert_eq!(merge(splits).entry("many", "few"), entry, "{splits} splits");
        }
    }

    #[test]
    fn small_decodes_stream_evict_first() {
        // H200: 50 MiB of L2. bf16, 8 KV heads, D 128: 8 x 4096 reads 128 MiB, 16 x 4096 256 MiB.
        let l2 = 50 << 20;
        let bytes = |seqs: usize, tokens: usize| seqs * 8 * tokens * 128 * 2 * 2;
        assert!(evict_first(bytes(1, 4096), l2));
        assert!(evict_first(bytes(8, 4096), l2));
        assert!(evict_first(bytes(1, 32768), l2));
        assert!(!evict_first(bytes(16, 4096), l2));
        assert!(!evict_first(bytes(32, 4096), l2));
    }

    #[test]
    fn splits_fill_one_wave_without_tiny_splits() {
        // One sequence of 32k tokens, 8 KV heads, 264 CTA slots: 33 splits in one wave.
        let (splits, per_split) = split_plan(8, 32768, 264, 16, 4);
        assert_eq!((splits, per_split), (33, 1008));
        assert!(8 * splits <= 264 && splits * per_split >= 32768);
        // A batch that fills the GPU is not split.
        assert_eq!(split_plan(256 * 8, 1024, 264, 16, 4).0, 1);
        assert_eq!(split_plan(264, 4096, 264, 16, 4).0, 1);
        // Short contexts are never split below MIN_SPLIT_TOKENS, or half of it on a grid that
        // would fill under a quarter of the slots.
        assert_eq!(split_plan(8 * 8, 300, 264, 16, 4).0, 2);
        assert_eq!(split_plan(1, 300, 264, 16, 4).0, 3);
        assert_eq!(split_plan(1, 0, 264, 16, 4), (1, 16));
        // MQA 1 x 4096 (one CTA unsplit): 32 splits of 128. GQA 1 x 4096 or MQA 8 x 4096 (8 x 16
        // CTAs at the floor, half the slots) keep the floor; 1 x 2048 (8 x 8) halves it.
        assert_eq!(split_plan(1, 4096, 264, 16, 4), (32, 128));
        assert_eq!(split_plan(8, 4096, 264, 16, 4), (16, 256));
        assert_eq!(split_plan(8, 2048, 264, 16, 4), (16, 128));
        // TF32 grids halve the floor under half the slots: MQA 8 x 4096 (8 CTAs of 32 heads).
        assert_eq!(split_plan(8, 4096, 264, 16, 2), (32, 128));
    }

    #[test]
    fn balanced_splits_fill_the_last_wave() {
        // 64 x 4096 over 8 KV heads at 3 CTAs per SM on 132 SMs: 512 CTAs, 396 slots.
        assert_eq!(balanced_splits(512, 396, 16), 3);
        // A nearly full last wave stays unsplit, at any number of waves.
        assert_eq!(balanced_splits(390 + 396, 396, 16), 1);
        assert_eq!(balanced_splits(390 + 5 * 396, 396, 16), 1);
        // 128 x 2048 (1024 CTAs, 2.6 waves) and 256 x 1024 (5.2 waves) stay whole.
        assert_eq!(balanced_splits(1024, 396, 8), 1);
        assert_eq!(balanced_splits(2048, 396, 4), 1);
        // bf16 64 x 4096 at 2 CTAs per SM: 1.94 waves, whole.
        assert_eq!(balanced_splits(512, 264, 16), 1);
        // Never below the split floor.
        assert_eq!(balanced_splits(512, 396, 1), 1);
        assert_eq!(balanced_splits(512, 396, 2), 2);
    }

    #[test]
    fn groups_over_16_take_two_m_tiles_on_fuller_grids() {
        // H200: 132 SMs. MQA up to 16 (sequence, KV head) pairs: two CTAs of one m-tile each;
        // 16-bit pools of groups up to 32 up to a pair an SM.
        for fp8 in [false, true] {
            assert_eq!(m_tiles(32, 128, 16, 132, fp8), 1);
            assert_eq!(m_tiles(32, 64, 256, 132, fp8), 2);
            assert_eq!(m_tiles(64, 128, 17, 132, fp8), 2);
            // Head dim 256's accumulators take one m-tile; groups of 16 or fewer fit one.
            assert_eq!(m_tiles(32, 256, 256, 132, fp8), 1);
            assert_eq!(m_tiles(16, 128, 256, 132, fp8), 1);
        }
        assert_eq!(m_tiles(32, 128, 17, 132, true), 2);
        assert_eq!(m_tiles(32, 128, 132, 132, false), 1);
        assert_eq!(m_tiles(32, 128, 133, 132, false), 2);
    }

    #[test]
    fn nhd_rows_off_lines_take_two_kv_heads_a_cta() {
        let bf16 = (DType::BF16, DType::BF16);
        let nhd = CacheLayout::Nhd;
        // GQA 32 / 8 at 8 x 4096 on 132 SMs: 64 pairs.
        for head_dim in [80, 96, 112] {
            assert_eq!(kv_heads(bf16, head_dim, nhd, (4, 8), (64, 132), 1, (9, 0)), 2);
            assert_eq!(
                kv_heads((DType::F16, DType::F16), head_dim, nhd, (8, 2), (64, 132), 1, (9, 0)),
                2
            );
            // Not: a small grid, groups that fill the m-tile alone, an odd number of KV heads,
            // two m-tiles, pal / hnd rows (kernel layouts), fp8 or float32 pools.
            assert_eq!(kv_heads(bf16, head_dim, nhd, (4, 8), (8, 132), 1, (9, 0)), 1);
            assert_eq!(kv_heads(bf16, head_dim, nhd, (16, 2), (64, 132), 1, (9, 0)), 1);
            assert_eq!(kv_heads(bf16, head_dim, nhd, (2, 3), (64, 132), 1, (9, 0)), 1);
            assert_eq!(kv_heads(bf16, head_dim, nhd, (32, 2), (64, 132), 2, (9, 0)), 1);
            assert_eq!(
                kv_heads(bf16, head_dim, CacheLayout::Pal, (4, 8), (64, 132), 1, (9, 0)),
                1
            );
            assert_eq!(
                kv_heads(bf16, head_dim, CacheLayout::Hnd, (4, 8), (64, 132), 1, (9, 0)),
                1
            );
            assert_eq!(
                kv_heads(
                    (DType::BF16, DType::F8E4M3),
                    head_dim,
                    nhd,
                    (4, 8),
                    (64, 132),
                    1,
                    (9, 0)
                ),
                1
            );
            assert_eq!(
                kv_heads((DType::F32, DType::F32), head_dim, nhd, (4, 8), (64, 132), 1, (9, 0)),
                1
            );
        }
        // Nor before Hopper (where it was not measured, and its CTAs of 123-172 KB need not fit).
        for arch in [(8, 0), (8, 6), (8, 9)] {
            assert_eq!(kv_heads(bf16, 96, nhd, (4, 8), (64, 108), 1, arch), 1);
            let form = Form {
                kv_heads: 2,
                ..Form::BASE
            };
            let key = kernel_key((bf16, 96, 16, nhd), "plain", 4, form, arch).unwrap();
            assert_eq!(key.shape_value("KV_HEADS"), None);
        }
        // Rows of whole lines keep one head; head dim 64's row of one line takes two past two
        // pairs an SM.
        for head_dim in [64, 128, 192, 256] {
            assert_eq!(kv_heads(bf16, head_dim, nhd, (4, 8), (64, 132), 1, (9, 0)), 1);
            assert_eq!(kv_heads(bf16, head_dim, nhd, (4, 8), (264, 132), 1, (9, 0)), 1);
            let beyond = if head_dim == 64 { 2 } else { 1 };
            assert_eq!(kv_heads(bf16, head_dim, nhd, (4, 8), (265, 132), 1, (9, 0)), beyond);
        }
        // The key: the tile holds both heads' rows, and it fits a Hopper CTA (two heads: three
        // stages; four, the lab's: two).
        for (head_dim, heads) in [(80, 2), (96, 2), (112, 2), (80, 4), (96, 4)] {
            let form = Form {
                kv_heads: heads,
                ..Form::BASE
            };
            let key = kernel_key((bf16, head_dim, 16, nhd), "plain", 4, form, (9, 0)).unwrap();
            assert_eq!(key.shape_value("KV_HEADS"), Some(heads));
            let stages = if heads == 2 { 3 } else { 2 };
            assert_eq!(key.shape_value("STAGES"), Some(stages));
            let ring = 4 * stages * 2 * MMA_KEYS * head_dim * heads * 2;
            assert_eq!(key.shape_value("SHARED_BYTES"), Some(ring + 4 * stages * 4));
            assert!(ring <= super::super::HOPPER_SHARED_BYTES, "{}", key.name());
            // A form the kernel does not take falls back to one head.
            let pal = kernel_key((bf16, head_dim, 16, CacheLayout::Pal), "plain", 4, form, (9, 0)).unwrap();
            assert_eq!(pal.shape_value("KV_HEADS"), None);
        }
    }

    #[test]
    fn fp8_pools_take_six_warps_past_a_wave_of_four() {
        // H200: 132 SMs; four-warp fp8 CTAs fit three an SM, six-warp ones two.
        assert!(!six_warp_grid(384, 132)); // 48 x 4096 over 8 KV heads: one wave of four-warp CTAs
        assert!(six_warp_grid(416, 132) && six_warp_grid(512, 132)); // 52, 64 x 4096
        assert!(!six_warp_grid(1024, 132)); // 128 x 2048
        let key = |kv_dtype: DType, head_dim, page_size, layout, group, arch| {
            let m_tiles = m_tiles(group, head_dim, 512, 132, kv_dtype.is_fp8());
            let geometry = ((DType::BF16, kv_dtype), head_dim, page_size, layout);
            let key = kernel_key(
                geometry,
                "plain",
                group,
                Form {
                    m_tiles,
                    six_warps: true,
                    ..Form::BASE
                },
                arch,
            )
            .unwrap();
            (key.shape_value("WARPS").unwrap(), key.shape_value("MIN_CTAS").unwrap())
        };
        for layout in CacheLayout::ALL {
            for head_dim in [64, 96, 128] {
                assert_eq!(key(DType::F8E4M3, head_dim, 16, layout, 4, (9, 0)), (6, 2));
                assert_eq!(key(DType::F8E5M2, head_dim, 1, layout, 8, (9, 0)), (6, 2));
                // (measured on Hopper only)
                assert_eq!(key(DType::F8E4M3, head_dim, 16, layout, 4, (8, 0)), (4, 1));
            }
            // Not: 16-bit pools, head dim 256, two m-tiles (MQA).
            assert_eq!(key(DType::BF16, 128, 16, layout, 4, (9, 0)), (4, 1));
            assert_eq!(key(DType::F8E4M3, 256, 16, layout, 4, (9, 0)), (4, 1));
            assert_eq!(key(DType::F8E4M3, 128, 16, layout, 32, (9, 0)), (4, 1));
        }
        // Nor Hopper's pal pages of a tensor-copy step (four warps' tiles a box).
        assert_eq!(key(DType::F8E4M3, 128, 64, CacheLayout::Pal, 4, (9, 0)), (4, 1));
        assert_eq!(key(DType::F8E4M3, 128, 64, CacheLayout::Nhd, 4, (9, 0)), (6, 2));
    }

    #[test]
    fn shared_memory_fits_a_cta_for_every_shape_and_gpu() {
        for arch in [(9, 0), (8, 0), (8, 6), (8, 9), (12, 0)] {
            for (dtype, kv_dtype) in [
                (DType::F16, DType::F16),
                (DType::BF16, DType::BF16),
                (DType::BF16, DType::F8E4M3),
            ] {
                for &head_dim in &super::super::HEAD_DIMS {
                    for layout in CacheLayout::ALL {
                        for page_size in [16, 64, 128] {
                            for group in [1, 8, 32] {
                                let geometry = ((dtype, kv_dtype), head_dim, page_size, layout);
                                let m_tiles = m_tiles(group, head_dim, 1024, 132, kv_dtype.is_fp8());
                                for six in [false, true] {
                                    let Ok(key) = kernel_key(
                                        geometry,
                                        "plain",
                                        group,
                                        Form {
                                            m_tiles,
                                            six_warps: six,
                                            kv_heads: kv_heads(
                                                (dtype, kv_dtype),
                                                head_dim,
                                                layout,
                                                (group, 8),
                                                (1024, 132),
                                                m_tiles,
                                                arch,
                                            ),
                                            ..Form::BASE
                                        },
                                        arch,
                                    ) else {
                                        continue; // a head dim that dtype pair does not take
                                    };
                                    let shared = key.shape_value("SHARED_BYTES").unwrap();
                                    assert!(
                                        shared <= super::super::shared_memory(arch).per_cta,
                                        "{} needs {shared}",
                                        key.name()
                                    );
                                    // Two warps only where four do not fit (16-bit rows of 256
                                    // under 99 KB).
                                    let two = dtype == kv_dtype
                                        && head_dim == 256
                                        && super::super::shared_memory(arch).per_cta < 131 << 10;
                                    assert_eq!(key.shape_value("WARPS") == Some(2), two, "{}", key.name());
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(super::super::HOPPER_SHARED_BYTES, 227 << 10);
    }

    #[test]
    fn float32_pools_take_rows_that_fit_every_gpu() {
        for &head_dim in &super::super::HEAD_DIMS {
            for layout in CacheLayout::ALL {
                for &page_size in &super::super::PAGE_SIZES {
                    for group in [1, 3, 4, 5, 8, 15, 16, 20, 32, 64] {
                        let geometry = ((DType::F32, DType::F32), head_dim, page_size, layout);
                        let key = kernel_key(
                            geometry,
                            "plain",
                            group,
                            Form {
                                evict_first: true,
                                ..Form::BASE
                            },
                            (8, 6),
                        )
                        .unwrap();
                        assert_eq!(key.family, Family::DecodeRows);
                        // Groups of 16 and more on TF32 tensor cores at head dims 64 and 128:
                        // warps of 8 heads, 2 or 4 a CTA.
                        let tf32 = group >= 16 && matches!(head_dim, 64 | 128);
                        assert_eq!(key.shape_value("TF32"), tf32.then_some(1), "{}", key.name());
                        let heads = match (tf32, group) {
                            (true, 16) => 16,
                            (true, _) => 32,
                            (false, g) if g > 4 => 8,
                            _ => 4,
                        };
                        assert_eq!(key.shape_value("HEADS"), Some(heads), "{}", key.name());
                        if tf32 {
                            assert_eq!(key.shape_value("WARPS"), Some(heads / 8));
                        }
                        assert_eq!(
                            key.shape_value("TOKENS"),
                            Some(if tf32 { TF32_KEYS } else { ROWS_KEYS })
                        );
                        // sm_86 / sm_89 give a CTA at most 99 KB; no evict-first hint.
                        assert!(key.shape_value("SHARED_BYTES").unwrap() <= 99 << 10, "{}", key.name());
                        assert_eq!(key.shape_value("EVICT_FIRST"), None);
                    }
                }
            }
        }
        // Small grids keep CUDA cores for any group (a TF32 split's latency is about twice
        // theirs): MQA 1 x 4096 does, 8 x 4096 and 1 x 32768 do not; from 32 x 4096 Hopper
        // takes wgmma.
        let mqa = ((DType::F32, DType::F32), 128, 16, CacheLayout::Nhd);
        for (kv_rows, keys, tf32, wgmma) in [
            (1, 4096, false, false),
            (8, 4096, true, false),
            (1, 32768, true, false),
            (32, 4096, true, true),
        ] {
            let key = kernel_key(
                mqa,
                "plain",
                32,
                Form {
                    tf32: tf32_grid(kv_rows, keys),
                    wgmma: wgmma_grid(kv_rows, keys),
                    ..Form::BASE
                },
                (9, 0),
            )
            .unwrap();
            let family = if wgmma {
                Family::DecodeTf32Wgmma
            } else {
                Family::DecodeRows
            };
            assert_eq!(key.family, family, "{kv_rows} x {keys}");
            assert_eq!(
                key.shape_value("TF32"),
                (tf32 && !wgmma).then_some(1),
                "{kv_rows} x {keys}"
            );
            assert_eq!(key.shape_value("HEADS"), Some(if tf32 { 32 } else { 8 }));
        }
        // fp8 pools under float32 queries keep the staged CUDA-core kernel.
        let fp8 = ((DType::F32, DType::F8E4M3), 128, 16, CacheLayout::Nhd);
        assert_eq!(
            kernel_key(fp8, "plain", 4, Form::BASE, (9, 0)).unwrap().family,
            Family::DecodeSimt
        );
    }

    #[test]
    fn hopper_takes_wgmma_for_float32_groups_over_16() {
        for &head_dim in &super::super::HEAD_DIMS {
            for layout in CacheLayout::ALL {
                for &page_size in &super::super::PAGE_SIZES {
                    for group in [8, 16, 17, 20, 32, 40, 64, 96] {
                        let geometry = ((DType::F32, DType::F32), head_dim, page_size, layout);
                        let key = |arch| kernel_key(geometry, "plain", group, Form::BASE, arch).unwrap();
                        let hopper = key((9, 0));
                        let wgmma = group > 16 && matches!(head_dim, 64 | 128);
                        let family = if wgmma {
                            Family::DecodeTf32Wgmma
                        } else {
                            Family::DecodeRows
                        };
                        assert_eq!(hopper.family, family, "{}", hopper.name());
                        // Other GPUs keep mma.sync (sm_90a's wgmma runs on compute capability 9.0 only).
                        for arch in [(8, 0), (10, 0), (12, 0)] {
                            assert_eq!(key(arch).family, Family::DecodeRows);
                        }
                        let no_wgmma = kernel_key(
                            geometry,
                            "plain",
                            group,
                            Form {
                                wgmma: false,
                                ..Form::BASE
                            },
                            (9, 0),
                        )
                        .unwrap();
                        assert_eq!(no_wgmma.family, Family::DecodeRows);
                        if wgmma {
                            // One warpgroup of 32 heads over 64-key tiles, whole tiles a split;
                            // two CTAs an SM at head dim 128 (1 KB reserved each), three at 64.
                            assert_eq!(hopper.shape_value("HEADS"), Some(32));
                            assert_eq!(hopper.shape_value("WARPS"), Some(4));
                            assert_eq!(hopper.shape_value("TOKENS"), Some(WGMMA_KEYS));
                            let ctas = hopper.shape_value("MIN_CTAS").unwrap();
                            let shared = hopper.shape_value("SHARED_BYTES").unwrap();
                            assert!(ctas * (shared + 1024) <= 228 << 10, "{}", hopper.name());
                            assert_eq!(cta_shape(&hopper), (32, 128));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tensor_copies_only_for_hopper_pal_pages_of_half_a_step_or_more() {
        let key_of = |kv_dtype, page_size, layout, arch, small| {
            kernel_key(
                ((DType::BF16, kv_dtype), 128, page_size, layout),
                "plain",
                4,
                Form {
                    evict_first: small,
                    ..Form::BASE
                },
                arch,
            )
            .unwrap()
        };
        for small in [false, true] {
            let key = |kv_dtype, page_size, layout, arch| key_of(kv_dtype, page_size, layout, arch, small);
            for kv_dtype in [DType::BF16, DType::F8E4M3] {
                for page_size in [16, 32, 64, 128] {
                    let hopper = key(kv_dtype, page_size, CacheLayout::Pal, (9, 0));
                    // Pages of 32 too (head dim 128), whatever the call's size.
                    let tma = page_size >= TMA_KEYS || page_size == 32;
                    assert_eq!(hopper.shape_value("TMA_V"), tma.then_some(1), "{}", hopper.name());
                    // Splits hold whole steps, the boxes' slots.
                    assert_eq!(hopper.shape_value("TOKENS"), tma.then_some(TMA_KEYS));
                    // The same ring and masks, then a full and an empty mbarrier per stage.
                    let ampere = key(kv_dtype, page_size, CacheLayout::Pal, (8, 0));
                    assert_eq!(ampere.shape_value("TMA_V"), None);
                    let (with, without) = (
                        hopper.shape_value("SHARED_BYTES").unwrap(),
                        ampere.shape_value("SHARED_BYTES").unwrap(),
                    );
                    let stages = hopper.shape_value("STAGES").unwrap();
                    assert_eq!(
                        with,
                        if tma {
                            without.next_multiple_of(8) + 2 * stages * 8
                        } else {
                            without
                        }
                    );
                    for layout in [CacheLayout::Nhd, CacheLayout::Hnd] {
                        assert_eq!(key(kv_dtype, page_size, layout, (9, 0)).shape_value("TMA_V"), None);
                    }
                }
            }
        }
    }
}
