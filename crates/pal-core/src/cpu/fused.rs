//! Decode over float32 / float16 / bfloat16 pages read in place: no float32 copy of the tile, which is
//! two pages. Work split: a work item is a chunk of a sequence over a run of KV heads (all of
//! them where the threads have work enough: `cpu/decode.rs`), walked tile by tile and, within a
//! tile, head by head, each key and value load serving a block of up to four of the head's query
//! rows (any group: blocks of four, then the rest, a block of fewer rows taking two or four
//! tokens per reduction of its scores). Traffic: each K and V byte once,
//! a page of every head being one span of memory in every layout; while a head's pass runs, its
//! 1/heads slice of the next tile's pages is prefetched into L2 (in order, so `nhd` pages too
//! stream whole), so memory runs a whole tile of work ahead of the arithmetic.
//!
//! - `nhd` / `hnd` (AVX-512 where the CPU has it, else AVX2): the two pages' rows are read in
//!   lockstep.
//! - `pal` (page size 16), AVX-512: spans of up to 512 tokens, head by head. A block of rows
//!   scores the whole span (the key stripes four tokens a vector, bfloat16 by AVX-512 BF16 dot
//!   products where the CPU has them), folds each row's weights into its softmax state once, and
//!   then reads the values dims-major: a vector is one dim's 16 tokens of a page, as the page
//!   lies, times the row's 16 weights of that page, each lane a token slot summed over every page
//!   of the span and the lanes added up once a span. Traffic: as above, except that each pass
//!   prefetches its own blocks a little ahead (its next keys, the rest of its value blocks).
//! - `pal`, AVX2: tiles of two pages; a pass over the stripes takes as many tokens as eight
//!   accumulators hold for the block's rows, and the values as each dim's 32 tokens of a tile
//!   dotted with each row's weights (8 dims' dot products summed by horizontal adds).
//!
//! Figures (2-core AMD Zen 5 VM with AVX-512 BF16, 2026-12-02; 8 x 4096, GQA 4, D 128, page 16,
//! random page order; `examples/cpu_decode_rate.rs`, medians of five rounds of the decode's rate
//! over a pass that only reads the same pages, timed in turn): `pal` / `nhd` / `hnd` at 89 / 81
//! / 91% of that pass in float32 and 89 / 85 / 93% in bfloat16 (items of one KV head before:
//! 75-80 / 77 / 92% and 74-79 / 64-75 / 90-94%; 20-30 GB/s, the VM's rate moving by 20% between
//! minutes). The dot products took bfloat16 `pal` from 74-79% to 86-89%; in the `nhd` / `hnd`
//! loops they ran slower (70-76% / 84-89%) and are not used there. The AVX2 `pal` form
//! (`PAL_CPU_SIMD=avx2` on the same VM, thirty-third session; before it `pal` took the general
//! path): float32 / bfloat16 / float16 at 82-87 / 65-69 / 65-70% of the read pass, from 51-53 /
//! 32-38 / 26-33%. The AVX-512 `pal` spans (2-core AMD Zen 4 VM, CPU family 25 model 17,
//! 2026-12-05) replaced tiles of two pages whose values were transposed 16 x 16 in registers (a
//! third of the instructions were shuffles and broadcasts): over pages that stay in L3 (2 x
//! 1024, old and new binaries in turn, best of 200 calls) bfloat16 33 -> 46 GB/s and float32
//! 53 -> 65. At 8 x 4096, with each pass prefetching its own blocks and float32 values read in
//! groups of four pages, the lab measured float32 at 83% and bfloat16 at 67% of the paged-read
//! ceiling (37 / 35 GB/s that minute). bfloat16 runs near its arithmetic there: with 512-bit
//! FMAs at one a cycle on Zen 4, a page of a head costs about 900 vector instructions (512
//! value FMAs, 256 dot products, the widening) for 8 KiB.
//!
//! The sums' order differs from the general path's (scores over 16, 8 or 4 lanes, values over
//! the two pages' tokens in turn, or over 16 token lanes in the `pal` spans), so results differ from it in the last bits, but never depend
//! on threading or on which heads share an item.

use std::ops::Range;

use super::softmax::{OnlineSoftmax, ScoreTransform};
use super::tile::PagedKv;
use crate::dtype::{DType, FloatElement};
use crate::layout::{CacheGeometry, CacheLayout};

/// Query rows that share each key and value load.
const ROWS: usize = 4;
/// Largest page this path takes (a tile's scores live on the stack).
const MAX_PAGE: usize = 32;

/// Lab knob: `PAL_CPU_SIMD=avx2` keeps the in-place decode to its AVX2 form on a machine with
/// AVX-512, and `PAL_CPU_SIMD=avx512` to AVX-512F (no bfloat16 dot products), so the fallbacks
/// are tested and timed there too (`scripts/test.sh` reruns the decode tests so). Read once per
/// process.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub const CPU_SIMD_ENV: &str = "PAL_CPU_SIMD";

/// The knob's cap, if any.
#[cfg(target_arch = "x86_64")]
fn simd_cap() -> Option<&'static str> {
    static CAP: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CAP.get_or_init(|| std::env::var(CPU_SIMD_ENV).ok().filter(|v| !v.is_empty()))
        .as_deref()
}

/// Whether the AVX-512 forms run: the CPU has AVX-512F and the knob does not cap it.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX512.get_or_init(|| std::arch::is_x86_feature_detected!("avx512f") && simd_cap() != Some("avx2"))
}

/// Whether the scores of bfloat16 pools take AVX-512 BF16's pairwise dot products (`vdpbf16ps`:
/// exact products of the bfloat16 queries and keys, summed in float32): a third of the
/// instructions of converting the keys for FMAs.
#[cfg(target_arch = "x86_64")]
fn bf16_dot<K: FloatElement>() -> bool {
    static BF16: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    K::DTYPE == DType::BF16
        && avx512()
        && *BF16.get_or_init(|| std::arch::is_x86_feature_detected!("avx512bf16") && simd_cap().is_none())
}

/// Whether [`absorb`] takes work items of this shape on this machine: float32 / float16 /
/// bfloat16 pools, any group, head dims a multiple of 16, and `nhd` / `hnd` pages up to
/// `MAX_PAGE` or `pal` pages of `PAL_PAGE` (AVX2 + FMA + F16C, AVX-512 where the CPU has it).
pub(super) fn applies(geometry: &CacheGeometry) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let shape = match geometry.layout {
            CacheLayout::Nhd | CacheLayout::Hnd => geometry.page_size <= MAX_PAGE,
            CacheLayout::Pal => geometry.page_size == PAL_PAGE,
        };
        shape
            && matches!(geometry.dtype, DType::F32 | DType::F16 | DType::BF16)
            && geometry.head_dim.is_multiple_of(16)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = geometry;
        false
    }
}

/// Folds the whole two-page tiles of `rows` of the KV heads `kv_heads` (rows that start on a
/// page boundary and are all visible to every query row) into `state`; returns how many rows it
/// took (the rest is left to the general path). `queries` and `state` hold `group` float32 rows
/// per head, head by head; `source`'s scales are 1.
///
/// # Safety
/// [`applies`] returned true for this geometry; the page ids are valid.
pub(super) unsafe fn absorb<K: FloatElement>(
    source: &PagedKv<'_, K>,
    kv_heads: Range<usize>,
    state: &mut OnlineSoftmax,
    queries: &[f32],
    rows: Range<usize>,
    scale: f32,
    transform: &impl ScoreTransform,
) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let pal = source.geometry.layout == CacheLayout::Pal;
        if pal && bf16_dot::<K>() {
            pal_pages::absorb_bf16_dot(source, kv_heads, state, queries, rows, scale, transform)
        } else if pal && avx512() {
            pal_pages::absorb(source, kv_heads, state, queries, rows, scale, transform)
        } else if pal {
            pal_pages::absorb_avx2(source, kv_heads, state, queries, rows, scale, transform)
        } else if avx512() {
            lanes::absorb_avx512(source, kv_heads, state, queries, rows, scale, transform)
        } else {
            lanes::absorb_avx2(source, kv_heads, state, queries, rows, scale, transform)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (source, kv_heads, state, queries, rows, scale, transform);
        0
    }
}

/// An entry point of [`absorb`]'s signature compiled for the target features `$features`,
/// running `$walk` (an `#[inline(always)]` tile walk, whose intrinsics then inline under them):
/// one per SIMD form.
#[cfg(target_arch = "x86_64")]
macro_rules! simd_entry {
    ($name:ident, $features:literal, $walk:expr) => {
        #[target_feature(enable = $features)]
        pub(super) unsafe fn $name<K: FloatElement>(
            source: &PagedKv<'_, K>,
            kv_heads: Range<usize>,
            state: &mut OnlineSoftmax,
            queries: &[f32],
            rows: Range<usize>,
            scale: f32,
            transform: &impl ScoreTransform,
        ) -> usize {
            $walk(source, kv_heads, state, queries, rows, scale, transform)
        }
    };
}

/// The `nhd` / `hnd` loops, written once over a vector form: 8 lanes (AVX2) or 16 (AVX-512, half
/// the instructions, so more of the next reads fit in the out-of-order window: `hnd` float32
/// 20.9-22.5 GB/s against 15.2-19.9 on AMD Zen 4). Each form's entry enables its features, and
/// the loops inline into it.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod lanes {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{MAX_PAGE, ROWS};
    use crate::cpu::softmax::{OnlineSoftmax, ScoreTransform};
    use crate::cpu::tile::PagedKv;
    use crate::dtype::{DType, FloatElement};
    use crate::layout::CacheLayout;

    /// A vector form: `N` float32 lanes.
    pub(super) trait Lanes {
        type V: Copy;
        const N: usize;
        /// Value chunks of `N` lanes one pass over a tile's values keeps in registers.
        const WIDE: usize;
        unsafe fn zero() -> Self::V;
        /// `N` elements from `p` as float32 (a bfloat16 is the top half of a float32, a float16
        /// goes through F16C's conversion).
        unsafe fn load<K: FloatElement>(p: *const K) -> Self::V;
        unsafe fn load_f32(p: *const f32) -> Self::V;
        unsafe fn store(p: *mut f32, v: Self::V);
        unsafe fn splat(x: f32) -> Self::V;
        unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        /// The sums of the lanes of each of eight vectors.
        unsafe fn reduce8(v: [Self::V; 8]) -> __m256;
    }

    /// AVX2 + FMA.
    pub(super) struct Avx2;
    /// AVX-512F (stable from Rust 1.89, the workspace's `rust-version`).
    pub(super) struct Avx512;

    /// The sums of the eight lanes of each of eight vectors.
    #[inline(always)]
    unsafe fn reduce8x8(h: [__m256; 8]) -> __m256 {
        let t0 = _mm256_hadd_ps(h[0], h[1]);
        let t1 = _mm256_hadd_ps(h[2], h[3]);
        let t2 = _mm256_hadd_ps(h[4], h[5]);
        let t3 = _mm256_hadd_ps(h[6], h[7]);
        let u0 = _mm256_hadd_ps(t0, t1);
        let u1 = _mm256_hadd_ps(t2, t3);
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(u0, u1),
            _mm256_permute2f128_ps::<0x31>(u0, u1),
        )
    }

    impl Lanes for Avx2 {
        type V = __m256;
        const N: usize = 8;
        const WIDE: usize = 2;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }
        #[inline(always)]
        unsafe fn load<K: FloatElement>(p: *const K) -> __m256 {
            match K::DTYPE {
                DType::F32 => _mm256_loadu_ps(p.cast()),
                DType::F16 => _mm256_cvtph_ps(_mm_loadu_si128(p.cast())),
                _ => _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(_mm_loadu_si128(
                    p.cast(),
                )))),
            }
        }
        #[inline(always)]
        unsafe fn load_f32(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn reduce8(v: [__m256; 8]) -> __m256 {
            reduce8x8(v)
        }
    }

    impl Lanes for Avx512 {
        type V = __m512;
        const N: usize = 16;
        const WIDE: usize = 4;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline(always)]
        unsafe fn load<K: FloatElement>(p: *const K) -> __m512 {
            match K::DTYPE {
                DType::F32 => _mm512_loadu_ps(p.cast()),
                DType::F16 => _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())),
                _ => _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(_mm256_loadu_si256(
                    p.cast(),
                )))),
            }
        }
        #[inline(always)]
        unsafe fn load_f32(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn reduce8(v: [__m512; 8]) -> __m256 {
            // Halve each vector to 8 lanes first. (A loop, not `map`: a closure does not take its
            // caller's target features, and where LLVM kept it out of line, each of its
            // intrinsics became a call: blocks of three rows ran at half speed.)
            let mut halves = [_mm256_setzero_ps(); 8];
            for (half, &x) in halves.iter_mut().zip(&v) {
                *half = _mm256_add_ps(
                    _mm512_castps512_ps256(x),
                    _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x))),
                );
            }
            reduce8x8(halves)
        }
    }

    /// Tokens ahead that the `nhd` float32 loops pull their rows from L2 into L1 (`T0`): those
    /// rows lie 4 KiB apart, a stride the L1's own prefetcher does not follow (8 x 4096 on a
    /// 2-core Zen 5: 86-89% of the read pass against 80%; 1 / 2 / 6 / 8 tokens 82 / 86 / 83 /
    /// 86%; bfloat16's 2 KiB rows ran 76-81% with it against 83% without).
    const NEAR: usize = 4;

    /// Prefetches the `bytes` from `p` (whole cache lines) into L1.
    #[inline(always)]
    unsafe fn prefetch_l1(p: *const u8, bytes: usize) {
        let mut offset = 0;
        while offset < bytes {
            _mm_prefetch::<_MM_HINT_T0>(p.add(offset).cast());
            offset += 64;
        }
    }

    /// Prefetches the `bytes` from `p` (whole cache lines) with the `T1` hint: into L2, the hint
    /// that paid on AMD Zen 4 (`T0` and `NTA` ran 25-30% slower on `hnd` float32).
    #[inline(always)]
    pub(super) unsafe fn prefetch(p: *const u8, bytes: usize) {
        let mut offset = 0;
        while offset < bytes {
            _mm_prefetch::<_MM_HINT_T1>(p.add(offset).cast());
            offset += 64;
        }
    }

    simd_entry!(absorb_avx2, "avx2,fma,f16c", absorb::<K, Avx2>);
    simd_entry!(absorb_avx512, "avx512f,avx2,fma", absorb::<K, Avx512>);

    #[inline(always)]
    unsafe fn absorb<K: FloatElement, L: Lanes>(
        source: &PagedKv<'_, K>,
        kv_heads: Range<usize>,
        state: &mut OnlineSoftmax,
        queries: &[f32],
        rows: Range<usize>,
        scale: f32,
        transform: &impl ScoreTransform,
    ) -> usize {
        let g = &source.geometry;
        let (d, page_size) = (g.head_dim, g.page_size);
        let group = queries.len() / d / kv_heads.len();
        // Elements from one token's row of a head to the next token's in the same page.
        let stride = if g.layout == CacheLayout::Hnd {
            d
        } else {
            g.num_kv_heads * d
        };
        let tile = 2 * page_size;
        assert!(rows.start.is_multiple_of(page_size) && page_size <= MAX_PAGE && d.is_multiple_of(16));
        let whole = (rows.end - rows.start) / tile * tile;
        if whole == 0 {
            return 0;
        }
        let first_page = rows.start / page_size;
        let last_page = first_page + whole / page_size;
        let page_at = |page_index: usize| {
            let page = source.pages[page_index] as usize;
            assert!(page < g.num_pages);
            page
        };
        // Row t of head h's part of a tile's two pages (`nhd` / `hnd`: the pools share offsets).
        let rows_of = |pages: [usize; 2], h: usize| [g.k_offset(pages[0], h, 0, 0), g.k_offset(pages[1], h, 0, 0)];
        let mut weights = [[0f32; 2 * MAX_PAGE]; ROWS];
        let mut pages = [page_at(first_page), page_at(first_page + 1)];
        for (index, start) in (rows.start..rows.start + whole).step_by(tile).enumerate() {
            let next_page = first_page + 2 * (index + 1);
            let next = (next_page + 1 < last_page).then(|| [page_at(next_page), page_at(next_page + 1)]);
            for (i, h) in kv_heads.clone().enumerate() {
                // What this head's pass prefetches into L2, a row's bytes a token: the next tile
                // (so each tile arrives a whole tile of work ahead), and in the first tile the
                // next head's rows as well. Over every head, the next tile is its pages' i-th
                // slices, in order (a head's own rows are strided in `nhd`: 8 x 4096 on a 2-core
                // Zen 5, 70-77% of the read pass against 81-85% in slices); over some heads,
                // their own rows.
                let ahead = if kv_heads.len() == g.num_kv_heads {
                    let slice = |page| g.k_offset(page, 0, 0, 0) + i * page_size * d;
                    next.map(|next| (next.map(slice), d))
                } else {
                    next.map(|next| (rows_of(next, h), stride))
                };
                let beside = (index == 0 && h + 1 < kv_heads.end).then(|| (rows_of(pages, h + 1), stride));
                let pass = Pass {
                    k_pool: source.k_pool.as_ptr(),
                    v_pool: source.v_pool.as_ptr(),
                    pair: rows_of(pages, h),
                    stride,
                    page_size,
                    d,
                    scale,
                    start,
                    // Rows a few tokens on, pulled into L1 (`NEAR`).
                    near: g.layout == CacheLayout::Nhd && K::DTYPE == DType::F32,
                    prefetches: [ahead, beside],
                };
                // The head's query rows, four at a time, then the rest (MHA: one).
                let first_row = i * group;
                let full = group / ROWS * ROWS;
                for block in (0..full).step_by(ROWS) {
                    pass.block::<L, ROWS, 1>(first_row + block, block == 0, queries, state, transform, &mut weights);
                }
                // Fewer rows take more tokens a reduction (MHA, 8 x 4096 on a 2-core Zen 5:
                // `nhd` / `hnd` at 89-97% / 96-122% of the read pass, against 24-56% / 41-72% on
                // the general path and 31-58% / 38-59% at one token a reduction).
                let (rest, first, w) = (first_row + full, full == 0, &mut weights);
                match (group - full, page_size % 4) {
                    (1, 0) => pass.block::<L, 1, 4>(rest, first, queries, state, transform, w),
                    (1, 2) => pass.block::<L, 1, 2>(rest, first, queries, state, transform, w),
                    (1, _) => pass.block::<L, 1, 1>(rest, first, queries, state, transform, w),
                    (2, 0 | 2) => pass.block::<L, 2, 2>(rest, first, queries, state, transform, w),
                    (2, _) => pass.block::<L, 2, 1>(rest, first, queries, state, transform, w),
                    (3, _) => pass.block::<L, 3, 1>(rest, first, queries, state, transform, w),
                    _ => {}
                }
            }
            if let Some(next) = next {
                pages = next;
            }
        }
        whole
    }

    /// One head's pass over a tile: its two pages' rows, where they are, what to prefetch.
    struct Pass<K> {
        k_pool: *const K,
        v_pool: *const K,
        /// The head's row 0 of each page (element offsets; the pools share them).
        pair: [usize; 2],
        stride: usize,
        page_size: usize,
        d: usize,
        scale: f32,
        /// Sequence position of the tile's first key.
        start: usize,
        /// Whether rows `NEAR` tokens on are pulled into L1.
        near: bool,
        /// Rows to prefetch into L2 over the scores, a token's row of each at a time: two bases
        /// and the step from a token to the next.
        prefetches: [Option<([usize; 2], usize)>; 2],
    }

    impl<K: FloatElement> Pass<K> {
        /// Folds the tile into query rows `row0..row0 + R` of `state`: their scores against
        /// `TT` tokens of both pages at a time (`TT * R <= 4`: one reduction serves eight
        /// scores), each key load serving the `R` rows, then the values. Issues the prefetches
        /// when `prefetch_ahead` (the head's first block).
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn block<L: Lanes, const R: usize, const TT: usize>(
            &self,
            row0: usize,
            prefetch_ahead: bool,
            queries: &[f32],
            state: &mut OnlineSoftmax,
            transform: &impl ScoreTransform,
            weights: &mut [[f32; 2 * MAX_PAGE]; ROWS],
        ) {
            let (d, page_size, stride) = (self.d, self.page_size, self.stride);
            let row_bytes = d * std::mem::size_of::<K>();
            let q = queries.as_ptr().add(row0 * d);
            let (k0, k1) = (self.k_pool.add(self.pair[0]), self.k_pool.add(self.pair[1]));
            for t0 in (0..page_size).step_by(TT) {
                // Row r of token t0 + tt: page 0 in `acc[tt * R + r]`, page 1 in
                // `acc[ROWS + tt * R + r]`; the rest zero.
                let mut acc = [L::zero(); 2 * ROWS];
                for tt in 0..TT {
                    let t = t0 + tt;
                    let (k0, k1) = (k0.add(t * stride), k1.add(t * stride));
                    if self.near && t + NEAR < page_size {
                        prefetch_l1(k0.add(NEAR * stride).cast(), row_bytes);
                        prefetch_l1(k1.add(NEAR * stride).cast(), row_bytes);
                    }
                    if prefetch_ahead {
                        for (bases, step) in self.prefetches.into_iter().flatten() {
                            for base in bases {
                                prefetch(self.k_pool.add(base + t * step).cast(), row_bytes);
                                prefetch(self.v_pool.add(base + t * step).cast(), row_bytes);
                            }
                        }
                    }
                    for c in 0..d / L::N {
                        let (a, b) = (L::load(k0.add(c * L::N)), L::load(k1.add(c * L::N)));
                        for r in 0..R {
                            let qr = L::load_f32(q.add(r * d + c * L::N));
                            acc[tt * R + r] = L::fmadd(qr, a, acc[tt * R + r]);
                            acc[ROWS + tt * R + r] = L::fmadd(qr, b, acc[ROWS + tt * R + r]);
                        }
                    }
                }
                let mut sums = [0f32; 8];
                _mm256_storeu_ps(
                    sums.as_mut_ptr(),
                    _mm256_mul_ps(L::reduce8(acc), _mm256_set1_ps(self.scale)),
                );
                for tt in 0..TT {
                    for r in 0..R {
                        weights[r][t0 + tt] = sums[tt * R + r];
                        weights[r][page_size + t0 + tt] = sums[ROWS + tt * R + r];
                    }
                }
            }
            for (r, w) in weights.iter_mut().take(R).enumerate() {
                let row = &mut w[..2 * page_size];
                transform.apply(row0 + r, self.start, row);
                state.fold_row(row0 + r, row);
            }
            // Values: token t of both pages into the block's accumulator rows.
            let acc_rows = state.acc.as_mut_ptr().add(row0 * d);
            let chunks = d / L::N;
            let mut c = 0;
            while c < chunks {
                if chunks - c >= L::WIDE && L::WIDE == 4 {
                    self.accumulate::<L, R, 4>(acc_rows, weights, c);
                    c += 4;
                } else if chunks - c >= L::WIDE && L::WIDE == 2 {
                    self.accumulate::<L, R, 2>(acc_rows, weights, c);
                    c += 2;
                } else {
                    self.accumulate::<L, R, 1>(acc_rows, weights, c);
                    c += 1;
                }
            }
        }

        /// Adds the weighted value rows of the tile to `W` chunks of `N` lanes (from chunk `c`)
        /// of the `R` accumulator rows at `acc_rows`, held in registers.
        #[inline(always)]
        unsafe fn accumulate<L: Lanes, const R: usize, const W: usize>(
            &self,
            acc_rows: *mut f32,
            weights: &[[f32; 2 * MAX_PAGE]; ROWS],
            c: usize,
        ) {
            let (d, n) = (self.d, L::N);
            let mut acc = [[L::zero(); W]; R];
            for r in 0..R {
                for b in 0..W {
                    acc[r][b] = L::load_f32(acc_rows.add(r * d + (c + b) * n));
                }
            }
            for t in 0..self.page_size {
                for (p, &base) in self.pair.iter().enumerate() {
                    let v = self.v_pool.add(base + t * self.stride + c * n);
                    if self.near && t + NEAR < self.page_size {
                        prefetch_l1(v.add(NEAR * self.stride).cast(), W * n * std::mem::size_of::<K>());
                    }
                    let mut vs = [L::zero(); W];
                    for (b, x) in vs.iter_mut().enumerate() {
                        *x = L::load(v.add(b * n));
                    }
                    for r in 0..R {
                        let w = L::splat(weights[r][p * self.page_size + t]);
                        for b in 0..W {
                            acc[r][b] = L::fmadd(w, vs[b], acc[r][b]);
                        }
                    }
                }
            }
            for r in 0..R {
                for b in 0..W {
                    L::store(acc_rows.add(r * d + (c + b) * n), acc[r][b]);
                }
            }
        }
    }
}

/// The page size the `pal` form takes: one vector of tokens.
const PAL_PAGE: usize = 16;

/// The `pal` form: the key stripes and the transposed value pages are read in place (the scores
/// four tokens a vector, the values transposed 16 x 16 in registers).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod pal_pages {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::lanes::{prefetch, Avx2, Avx512, Lanes};
    use super::{PAL_PAGE, ROWS};
    use crate::cpu::softmax::{OnlineSoftmax, ScoreTransform};
    use crate::cpu::tile::PagedKv;
    use crate::dtype::{DType, FloatElement};

    /// Sums each group of four lanes of `a[m]` (per 128-bit lane `k`): lane `4k + m` of the result.
    #[inline(always)]
    unsafe fn reduce4x4(a: [__m512; 4]) -> __m512 {
        let s0 = _mm512_add_ps(_mm512_unpacklo_ps(a[0], a[1]), _mm512_unpackhi_ps(a[0], a[1]));
        let s1 = _mm512_add_ps(_mm512_unpacklo_ps(a[2], a[3]), _mm512_unpackhi_ps(a[2], a[3]));
        let (s0, s1) = (_mm512_castps_pd(s0), _mm512_castps_pd(s1));
        _mm512_add_ps(
            _mm512_castpd_ps(_mm512_unpacklo_pd(s0, s1)),
            _mm512_castpd_ps(_mm512_unpackhi_pd(s0, s1)),
        )
    }

    /// The lane sums of sixteen vectors: lane `i` of the result is the sum of `v[i]`'s lanes (a
    /// tree of 45 shuffles and adds).
    #[inline(always)]
    unsafe fn sums16(v: [__m512; 16]) -> __m512 {
        // Per 128-bit lane: lane 4k + m of `u[g]` sums lane k of v[4g + m].
        let mut u = [_mm512_setzero_ps(); 4];
        for (g, u) in u.iter_mut().enumerate() {
            *u = reduce4x4([v[4 * g], v[4 * g + 1], v[4 * g + 2], v[4 * g + 3]]);
        }
        // 128-bit lanes 0 + 1 and 2 + 3 of u0 and u1 (and of u2 and u3), then of those pairs.
        let (s0, s1) = (add_lane_pairs(u[0], u[1]), add_lane_pairs(u[2], u[3]));
        add_lane_pairs(s0, s1)
    }

    /// 128-bit lanes: `a0 + a1, a2 + a3, b0 + b1, b2 + b3`.
    #[inline(always)]
    unsafe fn add_lane_pairs(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(a, b), _mm512_shuffle_f32x4::<0xdd>(a, b))
    }

    /// Scaled scores of one page against `RB` query rows: row r's 16 tokens at `out + r *
    /// stride`. `G` vectors per stripe row (16 tokens of `X` elements), `X` elements per stripe;
    /// prefetches the blocks of `ahead` (`bytes` a stripe) along the way.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn page_scores<K: FloatElement, const X: usize, const G: usize, const RB: usize>(
        block: *const K,
        q: *const f32,
        d: usize,
        ahead: [Option<*const u8>; 2],
        bytes: usize,
        out: *mut f32,
        stride: usize,
        scale: f32,
    ) {
        let stripes = d / X;
        let mut acc = [[_mm512_setzero_ps(); G]; RB];
        for s in 0..stripes {
            for p in ahead.into_iter().flatten() {
                prefetch(p.add(s * bytes), bytes);
            }
            let row = block.add(s * PAL_PAGE * X);
            let mut k = [_mm512_setzero_ps(); G];
            for g in 0..G {
                k[g] = Avx512::load(row.add(16 * g));
            }
            for r in 0..RB {
                let qr = q.add(r * d + s * X);
                let qb = if X == 4 {
                    _mm512_broadcast_f32x4(_mm_loadu_ps(qr))
                } else {
                    _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(qr))))
                };
                for g in 0..G {
                    acc[r][g] = _mm512_fmadd_ps(qb, k[g], acc[r][g]);
                }
            }
        }
        for r in 0..RB {
            // Lane 4k + m of `sums` is token `4m + order[k]`.
            let (sums, order) = if X == 4 {
                (reduce4x4([acc[r][0], acc[r][1], acc[r][2], acc[r][3]]), [0, 1, 2, 3])
            } else {
                // Fold each 8-element token to 4 lanes, then pair vectors g = 2m, 2m + 1.
                let mut b = [_mm512_setzero_ps(); 4];
                for m in 0..4 {
                    let (x, y) = (acc[r][2 * m], acc[r][2 * m + 1]);
                    let (x, y) = (
                        _mm512_add_ps(x, _mm512_shuffle_f32x4::<0xB1>(x, x)),
                        _mm512_add_ps(y, _mm512_shuffle_f32x4::<0xB1>(y, y)),
                    );
                    b[m] = _mm512_mask_blend_ps(0xF0F0, x, y);
                }
                (reduce4x4(b), [0, 2, 1, 3])
            };
            store_scores(sums, order, scale, out.add(r * stride));
        }
    }

    /// The lane of a page's sums that holds token t = 4m + order[k] (lane 4k + m), for the two
    /// orders the score passes leave (both their own inverse).
    const IN_ORDER: [i32; 16] = token_lanes([0, 1, 2, 3]);
    const MIDDLE_SWAPPED: [i32; 16] = token_lanes([0, 2, 1, 3]);

    const fn token_lanes(order: [usize; 4]) -> [i32; 16] {
        let mut lanes = [0; 16];
        let mut t = 0;
        while t < 16 {
            lanes[t] = (4 * order[t % 4] + t / 4) as i32;
            t += 1;
        }
        lanes
    }

    /// Stores `sums` (lane 4k + m is token 4m + order[k]) times `scale` as a page's 16 token
    /// scores at `out`, in token order (one lane permutation).
    #[inline(always)]
    unsafe fn store_scores(sums: __m512, order: [usize; 4], scale: f32, out: *mut f32) {
        let index = if order[1] == 1 { &IN_ORDER } else { &MIDDLE_SWAPPED };
        let tokens = _mm512_permutexvar_ps(_mm512_loadu_si512(index.as_ptr().cast()), sums);
        _mm512_storeu_ps(out, _mm512_mul_ps(tokens, _mm512_set1_ps(scale)));
    }

    /// [`page_scores`] of a bfloat16 page by pairwise dot products against `RB` query rows of
    /// bfloat16 `q`: each stripe row (16 tokens of 8) is four vectors of four tokens, as a float32
    /// page's (the caller enables AVX-512 BF16).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn page_scores_dot<const RB: usize>(
        block: *const u16,
        q: *const u16,
        d: usize,
        ahead: [Option<*const u8>; 2],
        bytes: usize,
        out: *mut f32,
        stride: usize,
        scale: f32,
    ) {
        const X: usize = 8;
        let mut acc = [[_mm512_setzero_ps(); 4]; RB];
        for s in 0..d / X {
            for p in ahead.into_iter().flatten() {
                prefetch(p.add(s * bytes), bytes);
            }
            let row = block.add(s * PAL_PAGE * X);
            let mut k = [std::mem::transmute::<__m512, __m512bh>(_mm512_setzero_ps()); 4];
            for (g, k) in k.iter_mut().enumerate() {
                *k = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(row.add(32 * g).cast()));
            }
            for r in 0..RB {
                let qb: __m512bh =
                    std::mem::transmute(_mm512_broadcast_i32x4(_mm_loadu_si128(q.add(r * d + s * X).cast())));
                for g in 0..4 {
                    acc[r][g] = _mm512_dpbf16_ps(acc[r][g], qb, k[g]);
                }
            }
        }
        for r in 0..RB {
            store_scores(reduce4x4(acc[r]), [0, 1, 2, 3], scale, out.add(r * stride));
        }
    }

    /// The AVX2 form of [`page_scores`] for `RB` (1, 2 or 4) query rows: passes over every stripe
    /// of as many tokens as eight accumulators hold (`8 / RB` vectors a row), so that 16
    /// registers hold a pass and each key load serves every row; the ahead blocks are
    /// prefetched over the first pass. A float32 vector holds two tokens' 4 dims of a stripe;
    /// bfloat16 two tokens' 8 dims, widened by two unpacks into dims 0-3 and 4-7 (against
    /// queries broadcast in that order: half the widening of a conversion per token); float16
    /// one token's 8 dims (one conversion).
    #[inline(always)]
    unsafe fn page_scores_avx2<K: FloatElement, const RB: usize>(
        block: *const K,
        q: *const f32,
        d: usize,
        ahead: [Option<*const u8>; 2],
        bytes: usize,
        scores: &mut [[f32; PAL_PAGE]],
    ) {
        let f32_pool = K::DTYPE == DType::F32;
        let x = if f32_pool { 4 } else { 8 };
        let vectors = 8 / RB;
        let pairs = K::DTYPE != DType::F16;
        let per_pass = if pairs { 2 * vectors } else { vectors };
        for pass in 0..PAL_PAGE / per_pass {
            let mut acc = [_mm256_setzero_ps(); 8];
            for s in 0..d / x {
                if pass == 0 {
                    for p in ahead.into_iter().flatten() {
                        prefetch(p.add(s * bytes), bytes);
                    }
                }
                let row = block.add((s * PAL_PAGE + pass * per_pass) * x);
                if K::DTYPE != DType::BF16 {
                    let mut qb = [_mm256_setzero_ps(); RB];
                    for r in 0..RB {
                        let qr = q.add(r * d + s * x);
                        qb[r] = if f32_pool {
                            _mm256_broadcast_ps(&*qr.cast::<__m128>())
                        } else {
                            _mm256_loadu_ps(qr)
                        };
                    }
                    for v in 0..vectors {
                        let k = Avx2::load(row.add(8 * v));
                        for r in 0..RB {
                            acc[r * vectors + v] = _mm256_fmadd_ps(qb[r], k, acc[r * vectors + v]);
                        }
                    }
                } else {
                    for v in 0..vectors {
                        // Dims 0-3 and 4-7 of tokens 2v and 2v + 1 (lanes 0-3 and 4-7).
                        let raw = _mm256_loadu_si256(row.add(16 * v).cast());
                        let zero = _mm256_setzero_si256();
                        let low = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, raw));
                        let high = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, raw));
                        for r in 0..RB {
                            let qr = q.add(r * d + s * x);
                            let (q_low, q_high) = (
                                _mm256_broadcast_ps(&*qr.cast::<__m128>()),
                                _mm256_broadcast_ps(&*qr.add(4).cast::<__m128>()),
                            );
                            let a = _mm256_fmadd_ps(q_low, low, acc[r * vectors + v]);
                            acc[r * vectors + v] = _mm256_fmadd_ps(q_high, high, a);
                        }
                    }
                }
            }
            // Lane m of a group's sums: the low half of its vector m summed, lane 4 + m the high.
            let mut lanes = [[0f32; 8]; 2];
            for (g, out) in lanes.iter_mut().enumerate() {
                let a = &acc[4 * g..];
                let sums = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
                _mm256_storeu_ps(out.as_mut_ptr(), sums);
            }
            for i in 0..8 {
                let (r, v) = (i / vectors, i % vectors);
                let (low, high) = (lanes[i / 4][i % 4], lanes[i / 4][4 + i % 4]);
                let out = &mut scores[r][pass * per_pass..];
                if pairs {
                    (out[2 * v], out[2 * v + 1]) = (low, high);
                } else {
                    out[v] = low + high;
                }
            }
        }
    }

    simd_entry!(absorb, "avx512f,avx2,fma", absorb_spans::<K, false>);
    simd_entry!(absorb_bf16_dot, "avx512f,avx512bf16,avx2,fma", absorb_spans::<K, true>);
    simd_entry!(absorb_avx2, "avx2,fma,f16c", absorb_tiles_avx2::<K>);

    /// What both `pal` walks start from: the head dim, the query rows of a KV head, and the
    /// tokens of `rows` that whole units of `unit` tokens take (the rest is the general path's).
    fn pal_walk<K>(
        source: &PagedKv<'_, K>,
        queries: &[f32],
        kv_heads: &Range<usize>,
        rows: &Range<usize>,
        unit: usize,
    ) -> (usize, usize, usize) {
        let g = &source.geometry;
        let d = g.head_dim;
        assert!(rows.start.is_multiple_of(PAL_PAGE) && g.page_size == PAL_PAGE && d.is_multiple_of(16));
        (
            d,
            queries.len() / d / kv_heads.len(),
            (rows.end - rows.start) / unit * unit,
        )
    }

    /// Head `h`'s key and value blocks (element offsets) of `page`, checked to lie in the pools.
    fn pal_block<K>(source: &PagedKv<'_, K>, page: usize, h: usize) -> (usize, usize) {
        let g = &source.geometry;
        assert!(page < g.num_pages);
        let (k, v) = (g.k_offset(page, h, 0, 0), g.v_offset(page, h, 0, 0));
        let block = g.head_dim * PAL_PAGE;
        assert!(k + block <= source.k_pool.len() && v + block <= source.v_pool.len());
        (k, v)
    }

    /// Tokens the AVX-512 walk scores before it reads their values: a decode item's chunk
    /// (`cpu/decode.rs`), a row's weights 2 KiB on the stack.
    const SPAN: usize = 512;

    /// The AVX-512 walk: spans of up to `SPAN` tokens (whole pages), head by head, a head's
    /// query rows in blocks of up to `ROWS`. A block scores the whole span first (bfloat16 by
    /// dot products where `DOT`) and folds each row's weights into its softmax state once; then
    /// it reads the values dims-major, each accumulator lane one token slot of every page, so a
    /// `pal` value page (dims of 16 tokens) is read as it lies, with no transposes and no
    /// broadcasts, and the lanes are summed once a span.
    #[inline(always)]
    unsafe fn absorb_spans<K: FloatElement, const DOT: bool>(
        source: &PagedKv<'_, K>,
        kv_heads: Range<usize>,
        state: &mut OnlineSoftmax,
        queries: &[f32],
        rows: Range<usize>,
        scale: f32,
        transform: &impl ScoreTransform,
    ) -> usize {
        let (d, group, whole) = pal_walk(source, queries, &kv_heads, &rows, PAL_PAGE);
        if whole == 0 {
            return 0;
        }
        let block_bytes = d * PAL_PAGE * std::mem::size_of::<K>();
        let stripes = if K::DTYPE == DType::F32 { d / 4 } else { d / 8 };
        // The queries as bfloat16 for the dot products (they are bfloat16 where the pools are).
        let queries_bf16: Vec<u16> = if DOT {
            queries.iter().map(|x| (x.to_bits() >> 16) as u16).collect()
        } else {
            Vec::new()
        };
        let full = group / ROWS * ROWS;
        let mut weights = [[0f32; SPAN]; ROWS];
        let mut blocks = [(0, 0); SPAN / PAL_PAGE];
        for start in (rows.start..rows.start + whole).step_by(SPAN) {
            let pages = SPAN.min(rows.start + whole - start) / PAL_PAGE;
            let first_page = start / PAL_PAGE;
            for (i, h) in kv_heads.clone().enumerate() {
                for p in 0..pages {
                    blocks[p] = pal_block(source, source.pages[first_page + p] as usize, h);
                }
                let span = Span {
                    k_pool: source.k_pool.as_ptr(),
                    v_pool: source.v_pool.as_ptr(),
                    blocks: &blocks[..pages],
                    d,
                    scale,
                    start,
                    per_stripe: block_bytes.div_ceil(stripes),
                    block_bytes,
                };
                let first_row = i * group;
                let (w, q) = (&mut weights, (queries, queries_bf16.as_slice()));
                for block in (0..full).step_by(ROWS) {
                    let row0 = first_row + block;
                    span.block::<DOT, ROWS>(row0, block == 0, q, state, transform, w);
                }
                let (rest, first) = (first_row + full, full == 0);
                match group - full {
                    1 => span.block::<DOT, 1>(rest, first, q, state, transform, w),
                    2 => span.block::<DOT, 2>(rest, first, q, state, transform, w),
                    3 => span.block::<DOT, 3>(rest, first, q, state, transform, w),
                    _ => {}
                }
            }
        }
        whole
    }

    /// Dims a value pass of `r` rows takes at a time (`r * dims <= 16` accumulators).
    const fn value_dims(r: usize) -> usize {
        match r {
            1 => 16,
            2 => 8,
            _ => 4,
        }
    }

    /// Pages ahead of its own that a score pass prefetches into L2.
    const KEYS_AHEAD: usize = 2;
    /// Bytes ahead in each value block that a value pass over the whole span prefetches into L2.
    const VALUES_AHEAD: usize = 512;

    /// Pages a value pass reads in step before it sums its lanes: float32 groups of four (the
    /// next group prefetched beside), whose blocks then stream from memory in step (8 x 4096 on a
    /// 2-core Zen 4, 2026-12-05: 7% faster than the whole span on average, faster in 7 of 8
    /// rounds in turn); the sixteen-bit forms, whose arithmetic weighs more, the whole span
    /// (groups of four or eight ran 1-5% slower).
    fn value_group<K: FloatElement>() -> usize {
        if K::DTYPE == DType::F32 {
            4
        } else {
            SPAN / PAL_PAGE
        }
    }

    /// One head's span of `pal` pages: its key and value blocks. Each pass prefetches its own
    /// blocks a little ahead (`KEYS_AHEAD`, `VALUES_AHEAD`): on a 2-core Zen 4 VM (2026-12-05,
    /// 8 x 4096, processes in turn) bfloat16 / float32 ran 6 / 4% faster on average (ten
    /// rounds) than with each pass prefetching the other's blocks (a head's values over its
    /// scores, the next head's keys over its values); the read-only model of the two orders
    /// (`examples/cpu_read_orders.rs`) reads at 23-24 against 20-22 GB/s.
    struct Span<'a, K> {
        k_pool: *const K,
        v_pool: *const K,
        /// Key and value block (element offsets) of each page.
        blocks: &'a [(usize, usize)],
        d: usize,
        scale: f32,
        /// Sequence position of the span's first key.
        start: usize,
        /// A block's share of each stripe of the score pass.
        per_stripe: usize,
        block_bytes: usize,
    }

    impl<K: FloatElement> Span<'_, K> {
        /// Folds the span into query rows `row0..row0 + R` of `state`; the head's first block of
        /// rows (`first`) issues the prefetches. `weights` holds the rows' scores, then weights.
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn block<const DOT: bool, const R: usize>(
            &self,
            row0: usize,
            first: bool,
            (queries, queries_bf16): (&[f32], &[u16]),
            state: &mut OnlineSoftmax,
            transform: &impl ScoreTransform,
            weights: &mut [[f32; SPAN]; ROWS],
        ) {
            let (d, pages) = (self.d, self.blocks.len());
            let q = queries.as_ptr().add(row0 * d);
            let out = weights.as_mut_ptr().cast::<f32>();
            if first {
                for &(k_block, _) in self.blocks.iter().take(KEYS_AHEAD) {
                    prefetch(self.k_pool.add(k_block).cast(), self.block_bytes);
                }
            }
            for (p, &(k_block, _)) in self.blocks.iter().enumerate() {
                let on = self.blocks.get(p + KEYS_AHEAD).filter(|_| first);
                let ahead = [on.map(|b| self.k_pool.add(b.0).cast::<u8>()), None];
                let keys = self.k_pool.add(k_block);
                let (out, per) = (out.add(p * PAL_PAGE), self.per_stripe);
                if DOT {
                    let q = queries_bf16.as_ptr().add(row0 * d);
                    page_scores_dot::<R>(keys.cast(), q, d, ahead, per, out, SPAN, self.scale);
                } else if K::DTYPE == DType::F32 {
                    page_scores::<K, 4, 4, R>(keys, q, d, ahead, per, out, SPAN, self.scale);
                } else {
                    // Two rows a call (a stripe row is eight vectors here).
                    if R >= 2 {
                        page_scores::<K, 8, 8, 2>(keys, q, d, ahead, per, out, SPAN, self.scale);
                    } else {
                        page_scores::<K, 8, 8, 1>(keys, q, d, ahead, per, out, SPAN, self.scale);
                    }
                    let (q, out) = (q.add(2 * d), out.add(2 * SPAN));
                    match R {
                        3 => page_scores::<K, 8, 8, 1>(keys, q, d, [None; 2], 0, out, SPAN, self.scale),
                        4 => page_scores::<K, 8, 8, 2>(keys, q, d, [None; 2], 0, out, SPAN, self.scale),
                        _ => {}
                    }
                }
            }
            for (r, w) in weights.iter_mut().take(R).enumerate() {
                let w = &mut w[..pages * PAL_PAGE];
                transform.apply(row0 + r, self.start, w);
                state.fold_row(row0 + r, w);
            }
            match value_dims(R) {
                16 => self.values::<R, 16>(row0, first, state, weights),
                8 => self.values::<R, 8>(row0, first, state, weights),
                _ => self.values::<R, 4>(row0, first, state, weights),
            }
        }

        /// The value pass: `DB` dims at a time (`R * DB <= 16` accumulators), each dim's 16
        /// tokens of every page (one vector) times each row's weights of that page, lane by
        /// lane; the lanes are summed into the rows' accumulators after the last page.
        #[inline(always)]
        unsafe fn values<const R: usize, const DB: usize>(
            &self,
            row0: usize,
            first: bool,
            state: &mut OnlineSoftmax,
            weights: &[[f32; SPAN]; ROWS],
        ) {
            let d = self.d;
            let acc_rows = state.acc.as_mut_ptr().add(row0 * d);
            // Bytes of a value block that a pass over `DB` dims reads.
            let per = self.block_bytes / (d / DB);
            let (pages, gp) = (self.blocks.len(), value_group::<K>());
            // Each page's block: with groups, the next group's in step with this one (the
            // first group's whole to start); else the block's own bytes `VALUES_AHEAD` on.
            let ahead = if gp < pages {
                self.block_bytes
            } else {
                VALUES_AHEAD.min(self.block_bytes)
            };
            if first {
                for &(_, v_block) in self.blocks.iter().take(gp) {
                    prefetch(self.v_pool.add(v_block).cast(), ahead);
                }
            }
            for g in (0..pages).step_by(gp) {
                let group = &self.blocks[g..(g + gp).min(pages)];
                for j in (0..d).step_by(DB) {
                    let mut acc = [_mm512_setzero_ps(); 16];
                    let (slice, on) = (j / DB * per, j / DB * per + ahead);
                    for (k, &(_, v_block)) in group.iter().enumerate() {
                        let p = g + k;
                        if first {
                            match self.blocks.get(p + gp) {
                                Some(&(_, next)) if gp < pages => {
                                    prefetch(self.v_pool.add(next).cast::<u8>().add(slice), per)
                                }
                                _ if on < self.block_bytes => {
                                    let bytes = per.min(self.block_bytes - on);
                                    prefetch(self.v_pool.add(v_block).cast::<u8>().add(on), bytes)
                                }
                                _ => {}
                            }
                        }
                        let mut w = [_mm512_setzero_ps(); R];
                        for r in 0..R {
                            w[r] = _mm512_loadu_ps(weights[r].as_ptr().add(p * PAL_PAGE));
                        }
                        let v = self.v_pool.add(v_block + j * PAL_PAGE);
                        for i in 0..DB {
                            let x = Avx512::load(v.add(i * PAL_PAGE));
                            for r in 0..R {
                                acc[r * DB + i] = _mm512_fmadd_ps(w[r], x, acc[r * DB + i]);
                            }
                        }
                    }
                    let mut sums = [0f32; 16];
                    _mm512_storeu_ps(sums.as_mut_ptr(), sums16(acc));
                    for r in 0..R {
                        for i in 0..DB {
                            *acc_rows.add(r * d + j + i) += sums[r * DB + i];
                        }
                    }
                }
            }
        }
    }

    /// The AVX2 walk: tiles of two pages, head by head, each tile's scores folded into the
    /// softmax state before its values.
    #[inline(always)]
    unsafe fn absorb_tiles_avx2<K: FloatElement>(
        source: &PagedKv<'_, K>,
        kv_heads: Range<usize>,
        state: &mut OnlineSoftmax,
        queries: &[f32],
        rows: Range<usize>,
        scale: f32,
        transform: &impl ScoreTransform,
    ) -> usize {
        let g = &source.geometry;
        let tile = 2 * PAL_PAGE;
        let (d, group, whole) = pal_walk(source, queries, &kv_heads, &rows, tile);
        if whole == 0 {
            return 0;
        }
        let block_bytes = d * PAL_PAGE * std::mem::size_of::<K>();
        let (k_pool, v_pool) = (source.k_pool.as_ptr(), source.v_pool.as_ptr());
        // The tile walk is `lanes::absorb`'s, written again: a shared walker taking the tile's
        // work as a closure ran at 3-7% of the read pass (a closure does not take its caller's
        // target features, so none of its intrinsics were inlined).
        let first_page = rows.start / PAL_PAGE;
        let last_page = first_page + whole / PAL_PAGE;
        let page_at = |page_index: usize| {
            let page = source.pages[page_index] as usize;
            assert!(page < g.num_pages);
            page
        };
        // Head h's key and value blocks of a tile's two pages.
        let blocks_of = |pages: [usize; 2], h: usize| pages.map(|page| pal_block(source, page, h));
        let f32_pool = K::DTYPE == DType::F32;
        let stripes = if f32_pool { d / 4 } else { d / 8 };
        // A block's share of each stripe of the score pass and of each 16 dims of the value pass.
        let (per_stripe, per_dims) = (block_bytes.div_ceil(stripes), block_bytes / (d / 16));
        let mut scores = [[0f32; PAL_PAGE]; 2 * ROWS];
        let mut weights = [[0f32; 2 * PAL_PAGE]; ROWS];
        let mut pages = [page_at(first_page), page_at(first_page + 1)];
        for (index, start) in (rows.start..rows.start + whole).step_by(tile).enumerate() {
            let next_page = first_page + 2 * (index + 1);
            let next = (next_page + 1 < last_page).then(|| [page_at(next_page), page_at(next_page + 1)]);
            for (i, h) in kv_heads.clone().enumerate() {
                let pair = blocks_of(pages, h);
                // What this head's pass prefetches into L2: its blocks of the next tile (keys
                // over the scores, values over the value pass), so each tile arrives a whole
                // tile of work ahead; in the first tile, the next head's blocks as well.
                let ahead = next.map(|next| blocks_of(next, h));
                let beside = (index == 0 && h + 1 < kv_heads.end).then(|| blocks_of(pages, h + 1));
                let pass = PalPass {
                    k_pool,
                    v_pool,
                    pair,
                    prefetches: [ahead, beside],
                    d,
                    scale,
                    start,
                    per_stripe,
                    per_dims,
                };
                // The head's query rows, four at a time, then the rest (MHA: one).
                let first_row = i * group;
                let full = group / ROWS * ROWS;
                let (scores, weights) = (&mut scores, &mut weights);
                for block in (0..full).step_by(ROWS) {
                    pass.block_avx2::<ROWS>(
                        first_row + block,
                        block == 0,
                        queries,
                        state,
                        transform,
                        scores,
                        weights,
                    );
                }
                let (rest, first) = (first_row + full, full == 0);
                match group - full {
                    1 => pass.block_avx2::<1>(rest, first, queries, state, transform, scores, weights),
                    2 => pass.block_avx2::<2>(rest, first, queries, state, transform, scores, weights),
                    3 => pass.block_avx2::<3>(rest, first, queries, state, transform, scores, weights),
                    _ => {}
                }
            }
            if let Some(next) = next {
                pages = next;
            }
        }
        whole
    }

    /// One head's pass over a tile of `pal` pages (the AVX2 walk): its key and value blocks of
    /// the two pages, what to prefetch, the sizes the prefetches are spread by.
    struct PalPass<K> {
        k_pool: *const K,
        v_pool: *const K,
        pair: [(usize, usize); 2],
        /// Key and value blocks to prefetch into L2 (keys over the scores, values over the value
        /// pass).
        prefetches: [Option<[(usize, usize); 2]>; 2],
        d: usize,
        scale: f32,
        /// Sequence position of the tile's first key.
        start: usize,
        per_stripe: usize,
        per_dims: usize,
    }

    impl<K: FloatElement> PalPass<K> {
        /// The key blocks of page `p` (of the tile) to prefetch over its scores: the pass's
        /// prefetches, issued by a head's first block of rows only.
        #[inline(always)]
        unsafe fn key_prefetches(&self, p: usize, first: bool) -> [Option<*const u8>; 2] {
            let key_block = |blocks: Option<[(usize, usize); 2]>| {
                blocks.filter(|_| first).map(|b| self.k_pool.add(b[p].0).cast::<u8>())
            };
            self.prefetches.map(key_block)
        }

        /// Prefetches `bytes` at `offset` of each value block to prefetch (a head's first block
        /// of rows only).
        #[inline(always)]
        unsafe fn prefetch_values(&self, first: bool, offset: usize, bytes: usize) {
            for blocks in self.prefetches.into_iter().flatten().filter(|_| first) {
                for (_, v) in blocks {
                    prefetch(self.v_pool.add(v).cast::<u8>().add(offset), bytes);
                }
            }
        }

        /// The tile's scores of rows `row0..row0 + R`, scaled, transformed and folded into their
        /// softmax state (their weights left in `weights`).
        #[inline(always)]
        fn fold<const R: usize>(
            &self,
            row0: usize,
            state: &mut OnlineSoftmax,
            transform: &impl ScoreTransform,
            scores: &[[f32; PAL_PAGE]; 2 * ROWS],
            weights: &mut [[f32; 2 * PAL_PAGE]; ROWS],
        ) {
            for r in 0..R {
                let w = &mut weights[r];
                for t in 0..PAL_PAGE {
                    w[t] = self.scale * scores[r][t];
                    w[PAL_PAGE + t] = self.scale * scores[ROWS + r][t];
                }
                transform.apply(row0 + r, self.start, w);
                state.fold_row(row0 + r, w);
            }
        }

        /// [`Self::block`]'s AVX2 form: the scores by [`page_scores_avx2`], the values by
        /// [`Self::values_avx2`].
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn block_avx2<const R: usize>(
            &self,
            row0: usize,
            first: bool,
            queries: &[f32],
            state: &mut OnlineSoftmax,
            transform: &impl ScoreTransform,
            scores: &mut [[f32; PAL_PAGE]; 2 * ROWS],
            weights: &mut [[f32; 2 * PAL_PAGE]; ROWS],
        ) {
            let d = self.d;
            let q = queries.as_ptr().add(row0 * d);
            let per = self.per_stripe;
            for (p, &(k_block, _)) in self.pair.iter().enumerate() {
                let prefetches = self.key_prefetches(p, first);
                let keys = self.k_pool.add(k_block);
                let out = &mut scores[p * ROWS..][..R];
                match R {
                    1 => page_scores_avx2::<K, 1>(keys, q, d, prefetches, per, out),
                    2 => page_scores_avx2::<K, 2>(keys, q, d, prefetches, per, out),
                    3 => {
                        let (head, tail) = out.split_at_mut(2);
                        page_scores_avx2::<K, 2>(keys, q, d, prefetches, per, head);
                        page_scores_avx2::<K, 1>(keys, q.add(2 * d), d, [None; 2], 0, tail);
                    }
                    _ => page_scores_avx2::<K, 4>(keys, q, d, prefetches, per, out),
                }
            }
            self.fold::<R>(row0, state, transform, scores, weights);
            self.values_avx2::<R>(row0, first, state, weights);
        }

        /// The value pass of [`Self::block_avx2`]: 8 dims at a time, each dim's row of both pages
        /// (32 tokens, contiguous in a `pal` block) dotted with each query row's 32 weights and
        /// the 8 dot products summed by a tree of horizontal adds. 16-bit rows are widened once
        /// into `rows` and read from there by every query row (float32 rows from the pool).
        /// Transposing 8 x 8 tiles instead cost 24 shuffles a tile and a broadcast a token and
        /// row (2-core Zen 5, `PAL_CPU_SIMD=avx2`: 16-bit pools 4 points of the read pass
        /// slower, float32 level).
        #[inline(always)]
        unsafe fn values_avx2<const R: usize>(
            &self,
            row0: usize,
            first: bool,
            state: &mut OnlineSoftmax,
            weights: &[[f32; 2 * PAL_PAGE]; ROWS],
        ) {
            let d = self.d;
            let acc_rows = state.acc.as_mut_ptr().add(row0 * d);
            let per = self.per_dims / 2;
            let f32_pool = K::DTYPE == DType::F32;
            // rows[i]: dim i's 32 tokens (page 0, then page 1), widened. (A scratch of the walk's
            // instead, reached through a pointer: bfloat16 63% of the read pass against 71%, one
            // set of twelve rounds.)
            let mut rows = [[0f32; 2 * PAL_PAGE]; 8];
            for c in 0..d / 8 {
                self.prefetch_values(first, c * per, per);
                // Where dim i's tokens 8h .. 8h + 8 of page p lie (h 0 / 1), as float32.
                let mut at = [[std::ptr::null::<f32>(); 4]; 8];
                for (i, at) in at.iter_mut().enumerate() {
                    for (p, &(_, v_block)) in self.pair.iter().enumerate() {
                        let v = self.v_pool.add(v_block + (c * 8 + i) * PAL_PAGE);
                        for h in 0..2 {
                            at[2 * p + h] = if f32_pool {
                                v.add(8 * h).cast::<f32>()
                            } else {
                                let to = rows[i].as_mut_ptr().add(p * PAL_PAGE + 8 * h);
                                _mm256_storeu_ps(to, Avx2::load(v.add(8 * h)));
                                to
                            };
                        }
                    }
                }
                // (Loops, not closures: a closure does not take this function's target features,
                // and its intrinsics become calls.)
                for (r, w) in weights.iter().take(R).enumerate() {
                    let mut wv = [_mm256_setzero_ps(); 4];
                    for k in 0..4 {
                        wv[k] = _mm256_loadu_ps(w.as_ptr().add(8 * k));
                    }
                    // halves[g]: lanes 0-3 dims 4g .. 4g + 3 over the low 4 tokens of each 8,
                    // lanes 4-7 over the high 4.
                    let mut halves = [_mm256_setzero_ps(); 2];
                    for (g, half) in halves.iter_mut().enumerate() {
                        let mut pairs = [_mm256_setzero_ps(); 2];
                        for (j, pair) in pairs.iter_mut().enumerate() {
                            let mut dots = [_mm256_setzero_ps(); 2];
                            for (e, dot) in dots.iter_mut().enumerate() {
                                let a = &at[4 * g + 2 * j + e];
                                let mut t = _mm256_mul_ps(wv[0], _mm256_loadu_ps(a[0]));
                                for k in 1..4 {
                                    t = _mm256_fmadd_ps(wv[k], _mm256_loadu_ps(a[k]), t);
                                }
                                *dot = t;
                            }
                            *pair = _mm256_hadd_ps(dots[0], dots[1]);
                        }
                        *half = _mm256_hadd_ps(pairs[0], pairs[1]);
                    }
                    let (low, high) = (halves[0], halves[1]);
                    let sums = _mm256_add_ps(
                        _mm256_permute2f128_ps::<0x20>(low, high),
                        _mm256_permute2f128_ps::<0x31>(low, high),
                    );
                    let acc = acc_rows.add(r * d + c * 8);
                    _mm256_storeu_ps(acc, _mm256_add_ps(_mm256_loadu_ps(acc), sums));
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn sums16_sums_each_vector() {
            if !std::arch::is_x86_feature_detected!("avx512f") {
                return;
            }
            let m: Vec<f32> = (0..256).map(|i| (i * 7 % 23) as f32).collect();
            // SAFETY: the CPU has AVX-512F.
            let sums = unsafe { check(&m) };
            for (i, sum) in sums.iter().enumerate() {
                assert_eq!(*sum, m[16 * i..][..16].iter().sum::<f32>(), "vector {i}");
            }
        }

        #[target_feature(enable = "avx512f")]
        unsafe fn check(m: &[f32]) -> [f32; 16] {
            use std::arch::x86_64::*;
            let rows: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(m.as_ptr().add(16 * i)));
            let mut out = [0f32; 16];
            _mm512_storeu_ps(out.as_mut_ptr(), super::sums16(rows));
            out
        }
    }
}
