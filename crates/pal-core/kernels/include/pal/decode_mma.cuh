// Paged decode on tensor cores (float16 / bfloat16).
//
// Work split: a CTA of WARPS warps serves up to 16 * M_TILES query heads of one KV head (or of
// KV_HEADS consecutive ones, below) over one KV split (`DecodeTask`). The heads are the rows of
// m16n8k16 mma.sync tiles (rows past the group are zeros), so S = Q K^T and O += P V cost one
// mma per 256 bytes of K or V: the FlashAttention-2 loop with a 16-row query tile, as
// FlashInfer's tensor-core decode does. Each
// warp streams its own 16-key tiles (tiles warp, warp + WARPS, ...) through a private
// STAGES-deep cp.async ring (no CTA barrier in the main loop); page ids are read one tile
// ahead of their copies and checked only when those are issued (the first tiles' before the
// sequence's length is known, without a window); the warps' softmax states merge once, at the
// end, in shared memory (by warp-owned 8-dim blocks where a CTA holds two m-tiles).
// Traffic: K and V of each visible token once, in 16-byte copies (pal values in pages of 2 slots
// at head dims 80 / 112, and fp8 pal values in pages of 2, or of 4 at those head dims: 2- or
// 4-byte copies; pools of one slot per page run the nhd kernels: the same bytes); Q once; no
// host synchronisation.
// Shared memory tiles: pal K as [chunk][key] (as in its pages), other K and nhd/hnd V as
// unpadded [key][dim] rows (chunks XOR-swizzled by key, within pairs / quads of chunks at head
// dims 80, 112 / 96), pal V as [dim][key] with its two 16-byte halves swizzled; pal
// pools in pages of 2 (16-bit), 4 or 8 slots stage V (and 16-bit K, at 2 and 4) per page, as
// the pages hold them, so that every global line lands in one run of shared memory: every
// ldmatrix phase and fragment read is conflict-free.
// fp8 pools (every head dim and page size): byte tiles, K read with 16-byte loads straight into
// float16 B fragments (dims permuted consistently with Q's; the last 16-48 dims of head dims 80 /
// 96 / 112 as 4-byte words), V with 4-byte loads of 4 keys (pal rows) or ldmatrix.trans of byte
// pairs and one byte permute (nhd / hnd rows), both widened exactly in registers; the mma runs
// in float16.
// A tile's copies cost one 64-bit base per page and immediates (the copy plans below): 417
// instructions per warp and 16-key tile (bf16 pal, D 128) where each copy's own address took 761.
// Calls that read at most 4x the L2 copy K / V evict-first (host rule `evict_first`): the stream
// then replaces itself in L2 rather than the dirty lines it found there (+5-9% from 1 x 4096 to
// 8 x 4096; 537 MB evict-first ran 3-5% slower, so larger calls keep the default policy).
// Standing figures (H200, bf16, HQ 32 / HKV 8, D 128, page 16, kernel time by graph replay,
// FlashInfer's best path in the same run; forty-fourth to forty-eighth sessions): 1 / 8 x 4096
// and 1 x 32768 1.11-1.19x FlashInfer, 32 x 4096 3.92 TB/s (91% of the read ceiling, 1.02x), 64
// x 4096 4.14-4.18 (96%); fp8 e4m3 pal / nhd 80 / 78% of the ceiling at 32 x 4096, 1.48-1.53x
// FlashInfer at 8 x 4096; MQA 1.00-1.21x (1.36-1.40x at 128 x 2048). H100 (fifty-eighth session,
// the lab's default call): 8 x 4096 1.13x FlashInfer, 32 x 4096 96% of the ceiling. Each
// version's figures, and what each design choice below won or lost: docs/kernels.md.
#pragma once
#include "pal/decode.cuh"
#include "pal/decode_mma_tile.cuh"
#include "pal/layout.cuh"
#include "pal/mma.cuh"
#include "pal/variant.cuh"

namespace pal {

// T: the queries' and output's dtype; KV: the pools' (T, or fp8: then the mma runs in float16,
// which holds every fp8 value and bfloat16 queries of float16 range, with float32 accumulators).
// KV_HEADS: consecutive KV heads a CTA serves (16-bit nhd rows, one m-tile; the host's choice
// where a head's row is not whole 128-byte lines, or is one line on large grids): a warp's tiles
// are then [key][KV_HEADS * HEAD_DIM] runs of the slot rows, and its m-tile's rows are the
// KV_HEADS groups' query heads, head h's rows meeting only head h's dims (block-diagonal: S +=
// (Q masked to head h's rows) K_h^T and O += (P masked so) V_h per head h, exact zeros
// elsewhere, so each row's sums are the one-head kernel's). Rows of 160 / 192 / 224 bytes a head start 32 or 64 bytes off a line
// and neighbouring heads' CTAs read the rest of it at other times: the DRAM ran at 76-79% of its
// peak there against 85-89% for the same bytes in `hnd` (ncu, H200, 2026-12-04). A read probe
// (H200, 2026-12-04, 32 x 4096, random pages, TB/s for 1 / 2 / 4 heads a CTA): head dim 80 2.96
// / 3.67 / 3.80, 96 3.59 / 3.88 / 3.92, 112 3.52 / 3.85 / 3.98; 128 4.02-4.05 at each.
template <typename T, typename KV, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int M_TILES, int WARPS,
          int STAGES, bool EVICT_FIRST, bool TMA_V = false, int KV_HEADS = 1>
__device__ void decode_mma(const DecodeParams& p) {
  allow_dependent_launch();  // the split merge may start its CTAs (they wait for this grid)
  constexpr int TILE_DIM = KV_HEADS * HEAD_DIM;  // a tile row: a key's dims over the CTA's heads
  static_assert(KV_HEADS == 1 || (LAYOUT == LAYOUT_NHD && !IS_FP8<KV> && M_TILES == 1 && !TMA_V),
                "several KV heads a CTA: 16-bit nhd rows, one m-tile");
  using Tile = DecodeMmaTile<KV, TILE_DIM, LAYOUT, M_TILES, WARPS, STAGES, TMA_V>;
  constexpr bool FP8 = IS_FP8<KV>;
  using MT = typename Pick<FP8, f16, T>::type;  // the mma operands' type
  using Rows = Fp8Rows<HEAD_DIM>;
  // fp8 nhd / hnd V rows are read by ldmatrix.trans as 16-bit pairs of dims (O += P V below).
  constexpr bool FP8_PAIRS = FP8 && !Tile::V_BY_DIM;
  // The tile key of S's column n of n-block b: key 8b + n, except for fp8 pal pools, whose
  // column n of block b is key 4 (n / 2) + 2b + n % 2, so that a lane's P fragment holds keys
  // 4 quad .. 4 quad + 3, four bytes of a pal V row.
  auto s_key = [](int b, int n) { return FP8 && !FP8_PAIRS ? 4 * (n / 2) + 2 * b + n % 2 : 8 * b + n; };
  // Byte offset of 16-byte chunk c of tile key `key` in an fp8 K tile (generic, so that only fp8
  // kernels instantiate it).
  auto fp8_k_chunk = [](auto key, int c) { return Tile::K_BY_CHUNK ? Rows::k_by_chunk(key, c) : Rows::k_chunk(key, c); };
  static_assert(!FP8_PAIRS || HEAD_DIM % 16 == 0, "fp8 V: whole 16-dim chunks");
  constexpr int KEYS = Tile::KEYS, CHUNKS = Tile::CHUNKS, VEC = Tile::VEC;
  constexpr int DIM_BLOCKS = HEAD_DIM / 8;  // 8-dim n-blocks of O
  static_assert(sizeof(T) == 2 && HEAD_DIM % 16 == 0, "whole 16-bit mma k-steps");
  static_assert(FP8 || SAME_TYPE<T, KV>, "pools in the queries' dtype, or fp8");
  // fp8 K: a lane's 16-byte load feeds four k-steps per 64 dims; the last HEAD_DIM % 64 dims
  // (head dims 80, 96, 112) come as REM_WORDS 4-byte loads, one k-step each.
  constexpr int FULL_GROUPS = HEAD_DIM / 64, REM_WORDS = HEAD_DIM % 64 / 16;
  static_assert(STAGES >= 2, "a ring");
  extern __shared__ __align__(16) unsigned char shared[];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = lane / 4, quad = lane % 4;
  const PageRow<PAGE_SIZE> pages(p.page_table, DecodeTask::sequence(), p.pages_per_seq, p.num_pages);
  // 16-bit pal values in pages of 64 slots or more: a 16-key tile is 32 bytes of each dim row,
  // the rows 128 or more bytes apart, so a warp copying its own tile touched 16 lines per copy
  // instruction (ncu, H200, page 128: 4x the ideal L1 wavefronts; 32 x 4096 at 0.88x page 16).
  // There the CTA's four warps copy the V of a step's four tiles (64 consecutive keys) together,
  // a lane per 16-byte piece (8 keys) of a dim row: lane l takes piece l % 8 of dims (32 warp +
  // l) / 8 + 16 k, so a copy instruction reads whole 128-byte runs of 4 dims; one CTA barrier
  // per step hands the tiles over. The piece belongs to tile `page_tile` of the step, whose page
  // ids the lane reads; K stays each warp's own. H200 (2026-11-30, against each warp's own
  // copies, same bits): page 128 8 / 32 x 4096 and 1 x 32768 +18 / +12 / +11%, page 64 +9 / +1
  // / +4%, head dim 256 at page 128 +9%. Not at page 32 (+5% at 8 x 4096, -2% at 32 x 4096) nor
  // for fp8 (16-byte pieces, 64-byte runs: +3-7% at 8 x 4096, -5 to -6% at 32 x 4096): the
  // barrier's cost, with the ring's three stages, eats what the runs save.
  constexpr int PIECES = 8, DIM_STEP = 128 / PIECES;  // 16-byte pieces of a dim row per step
  constexpr bool SHARED_V = !TMA_V && !IS_FP8<KV> && LAYOUT == LAYOUT_PAL && PAGE_SIZE >= 64 && WARPS == 4;
  // TMA_V (Hopper, pal pools in pages of 64 slots or more, 16-bit ones of 32; the host's
  // choice, with splits of whole 64-key steps): warp 0's lane 0 copies the V of a step's four
  // tiles with one tensor copy, a box of 64 slots (128-byte rows, 64 for fp8) by HEAD_DIM rows
  // of `p.v_map`, into the stage's step block ([dim][64 keys], swizzled: `step_at`), or with
  // two at pages of 32 (below); a warp reads its 16 keys' chunks of each row. Full mbarriers (the box's bytes) and empty
  // ones (a warp's arrival when done with the stage) replace a CTA barrier. Slots past the end
  // land as they lie and are zeroed once landed; an invalid page reads a box past the tensor
  // (zeros). K stays each warp's copies. H200 (2026-11-30, against SHARED_V, same bits at
  // batch): page 64 / 128 at 32 x 4096 +6 / +6%, 8 x 4096 +8 / +8%, 1 x 32768 +20 / +21%; fp8
  // page 64 +18 to +26%. Not kept: K by the same boxes (0.99-1.00x with 1 KB box rows, 0.78x
  // with 16-byte ones: a tensor copy's requests follow its box rows), and a box per warp tile
  // at pages of 16 / 32 (V 32-byte rows and K: 0.64x the copying lanes at 32 x 4096; V only
  // 0.94x at page 16; a page's K and V blocks as 128-byte rows: 0.93-0.98x).
  // 16-bit pal pages of half a step (32 slots): a box per page into the step block's halves. A
  // page's values of one head are HEAD_DIM rows of 64 bytes, one run: the box reads it as
  // HEAD_DIM / 2 rows of 128 bytes (dims 2r, 2r + 1), 128-byte swizzle (`step_at`), so that its
  // requests are whole lines. Warp 0's lanes 0 and 1 hold the two pages' ids
  // (`read_box`), -1 for a page none of whose keys is visible. H200 (2026-12-03, bf16, D 128,
  // against the lanes' copies of a tile's 32-byte runs): 8 x 4096 2.58 -> 2.84 TB/s, 32 / 64 x
  // 4096 3.81 / 4.05 -> 3.89 / 4.16, 1 x 32768 2.49 -> 2.79; boxes of the page's own 64-byte
  // rows ran 0.91-0.99x on the bandwidth-bound rows.
  // fp8 pages of 32 likewise (BOX_DIMS 4 dims a 128-byte row; only where the step's second box
  // starts on a 1024-byte swizzle atom, head dims of whole 32s; H200, 2026-12-03, against the
  // lanes' copies: 8 / 32 / 64 x 4096 1.12 / 1.07 / 1.11x, 1 x 32768 1.12x, head dim 256
  // 1.20-1.27x). Pages of a step or more keep boxes of a step's 64 slots of each row (128
  // bytes; fp8 64 bytes, 64-byte swizzle): fp8 pages of 64 read as rows of 2 dims ran 0.96x at
  // 32 x 4096, the rest level (same day).
  constexpr int STEP_PAGES = TMA_V && PAGE_SIZE < KEYS * WARPS ? KEYS * WARPS / PAGE_SIZE : 1;
  constexpr int BOX_DIMS = STEP_PAGES > 1 ? 128 / (PAGE_SIZE * (int)sizeof(KV)) : 1;
  static_assert(!TMA_V || (LAYOUT == LAYOUT_PAL && STEP_PAGES <= 2), "TMA_V: pal steps of one page or two");
  static_assert(STEP_PAGES == 1 || HEAD_DIM * PAGE_SIZE * sizeof(KV) % 1024 == 0, "a step's second box on a swizzle atom");
  const int page_tile = SHARED_V ? lane % PIECES / (PIECES / WARPS) : warp;
  // Without a window a split's keys do not depend on the length: the first STAGES tiles' table
  // entries are read before it (within the table's row; checked, and reported, once the length
  // says the sequence uses them), so the first copies wait on one round trip, not two: what a
  // CTA of a small batch mostly waits on. Keys as `tile_key` below gives them.
  int early[STAGES];
#pragma unroll
  for (int s = 0; s < STAGES; ++s) {
    const int key = DecodeTask::begin_without_window(p) + (page_tile + s * WARPS) * Tile::KEYS + (PAGE_SIZE >= Tile::KEYS ? 0 : lane % Tile::KEYS);
    early[s] = !Variant::HAS_WINDOW && key < p.pages_per_seq * PAGE_SIZE ? pages.pages[key / PAGE_SIZE] : -1;
  }
  int early_box[STEP_PAGES > 1 ? STAGES : 1];
  if constexpr (STEP_PAGES > 1) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      const int key = DecodeTask::begin_without_window(p) + s * WARPS * Tile::KEYS + lane % STEP_PAGES * PAGE_SIZE;
      early_box[s] = !Variant::HAS_WINDOW && key < p.pages_per_seq * PAGE_SIZE ? pages.pages[key / PAGE_SIZE] : -1;
    }
  }
  // Splits start on a tile, or with TMA_V on a step (the host's granule: `TOKENS`).
  const DecodeTask task = DecodeTask::locate<PAGE_SIZE, Variant, TMA_V ? KEYS * WARPS : KEYS, KV_HEADS>(p);
  const CacheAddress<LAYOUT, KV> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  const KV* k_pool = (const KV*)p.k_cache;
  const KV* v_pool = (const KV*)p.v_cache;
  const int kv_head = task.kv_head, end = task.end, first = task.first;

  // Q as mma A fragments, kept in registers: row r is head first_head + r (zero past the CTA's heads).
  // fp8: k-step kk of quad q takes dims (4 (kk / 4) + q) * 16 + 4 (kk % 4) + {0, 1} and {2, 3}, the
  // order in which a lane's 16-byte K loads arrive; the queries as float16.
  u32 q[M_TILES][HEAD_DIM / 16][4];
  {
    const T* queries = (const T*)p.queries + task.row(p, 0) * HEAD_DIM;
#pragma unroll
    for (int m = 0; m < M_TILES; ++m)
#pragma unroll
      for (int kk = 0; kk < HEAD_DIM / 16; ++kk)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = m * 16 + group + (i % 2) * 8;
          // fp8 remainder k-step 4 FULL_GROUPS + w: quad q's word w of its REM_WORDS words.
          const int fp8_col = kk < 4 * FULL_GROUPS ? (4 * (kk / 4) + quad) * 16 + 4 * (kk % 4)
                                                   : 64 * FULL_GROUPS + 4 * (quad * REM_WORDS + kk - 4 * FULL_GROUPS);
          const int col = FP8 ? fp8_col + (i / 2) * 2 : kk * 16 + 2 * quad + (i / 2) * 8;
          const T* pair = queries + row * HEAD_DIM + col;
          if constexpr (FP8)
            q[m][kk][i] = row < task.heads ? Mma<f16>::pack(to_float(pair[0]), to_float(pair[1])) : 0u;
          else
            q[m][kk][i] = row < task.heads ? *(const u32*)pair : 0u;
        }
  }

  const int tiles = task.end > task.begin ? (task.end - task.begin + KEYS - 1) / KEYS : 0;
  const int my_tiles = tiles > warp ? (tiles - warp + WARPS - 1) / WARPS : 0;
  // A warp's ring of K (and, without TMA_V, V) tiles; stage s of it at ring + s * STAGE_STRIDE.
  constexpr int STAGE_STRIDE = TMA_V ? Tile::K_ELEMENTS : Tile::STAGE_ELEMENTS;
  KV* ring = (KV*)shared + (TMA_V ? STAGES * Tile::V_STEP : 0) + warp * STAGES * STAGE_STRIDE;
  u32* masks = (u32*)(shared + Tile::MASKS_OFFSET) + warp * STAGES;  // per stage: bit t = key t visible
  auto key0_of = [&](int i) { return task.begin + (warp + i * WARPS) * KEYS; };
  // Steps of WARPS tiles: a warp's tile i is tile warp of step i (each warp runs every step
  // when the steps share V: its copies serve the others' tiles).
  const int steps = SHARED_V ? (tiles + WARPS - 1) / WARPS : my_tiles;

  // Page ids of tile i: every lane holds the tile's page when it lies in one page, else lane l
  // holds the page of key l % KEYS. -1 for keys past the end, before the window (a tile in one
  // page takes the page of its first visible key: that page holds its hidden keys too), or
  // invalid ids. Pages wholly before the window are never read. (With SHARED_V: tile
  // `page_tile` of step i.)
  auto page_key0 = [&](int i) { return task.begin + (page_tile + i * WARPS) * KEYS; };
  auto has_tile = [&](int i) { return SHARED_V ? page_tile + i * WARPS < tiles : i < my_tiles; };
  auto tile_key = [&](int i) { return PAGE_SIZE >= KEYS ? max(page_key0(i), first) : page_key0(i) + lane % KEYS; };
  // In the main loop an entry is read an iteration before it is checked (`raw_pages`, then
  // `checked_pages`): checked right after its load, a warp waited a round trip every tile (ncu,
  // fp8 pal page 16 at 32 x 4096: 16% of stall samples on that compare).
  auto reads_tile = [&](int i, int key) { return has_tile(i) && key < end && key >= first; };
  auto raw_pages = [&](int i) -> int {
    const int key = tile_key(i);
    return reads_tile(i, key) ? pages.pages[key / PAGE_SIZE] : -1;
  };
  auto checked_pages = [&](int i, int raw) -> int {
    const int key = tile_key(i);
    return reads_tile(i, key) ? pages.checked(raw, key, p.errors, OP_DECODE) : -1;
  };
  // The first tiles' entries (`early`, without a window), unchecked.
  auto first_raw = [&](int s) -> int {
    if constexpr (Variant::HAS_WINDOW) return raw_pages(s);
    else return early[s];
  };
  auto first_pages = [&](int s) -> int { return checked_pages(s, first_raw(s)); };
  // STEP_PAGES 2: page lane % 2 of warp 0's step i, unchecked for errors (the warps whose tiles
  // it holds report them); -1 where none of its keys is visible (a page wholly before a window
  // start inside the step must not be read: its slots may hold anything).
  auto box_visible = [&](int i) {
    const int key = key0_of(i) + lane % STEP_PAGES * PAGE_SIZE;
    return STEP_PAGES > 1 && warp == 0 && has_tile(i) && key < end && key + PAGE_SIZE > first;
  };
  auto raw_box = [&](int i) {
    const int key = key0_of(i) + lane % STEP_PAGES * PAGE_SIZE;
    return box_visible(i) ? pages.pages[key / PAGE_SIZE] : -1;
  };
  auto checked_box = [&](int i, int raw) { return box_visible(i) ? pages.checked(raw) : -1; };
  auto first_raw_box = [&](int s) {
    if constexpr (Variant::HAS_WINDOW || STEP_PAGES == 1) return raw_box(s);
    else return early_box[s];
  };
  auto first_box = [&](int s) { return checked_box(s, first_raw_box(s)); };

  // Per-lane copy plan, fixed for the whole kernel: copy k of this lane reads tile key `*_key[k]`,
  // at element offset `*_src[k]` from its page's base (the tile's first slot when the tile lies
  // in one page), into stage offset `*_dst[k]`. A tile then costs one 64-bit base per page.
  // Keys and [key][dim] values: pal key stripes are slot-contiguous per dim chunk (lanes walk
  // slots); nhd / hnd rows are dim-contiguous (lanes walk chunks). pal values: runs of V_RUN
  // slots of one dim ([dim][slot] pages), stored [dim][key] with the 16-byte halves of dims 4..7
  // mod 8 swapped.
  constexpr bool ONE_PAGE = PAGE_SIZE >= KEYS;
  // Copies per tile and per lane; fp8 at head dims 80 / 112 leaves the last one to some lanes.
  constexpr int K_TOTAL = KEYS * CHUNKS, K_COPIES = (K_TOTAL + 31) / 32;
  // 16-bit pal pools in pages of 8 or 4 slots: the V tile is [page][dim][slot] blocks, one per
  // page of the tile, as the pages hold them, and each 16-byte copy is 16 contiguous bytes of a
  // page (one dim row at 8 slots, two at 4), lanes in groups of one page; pages of 4 also stage
  // K per page ([page][chunk][slot]). A global line then lands whole in one run of shared memory:
  // as [dim][key] rows, a lane pair read one dim of two pages (8 slots: twice the L2 sectors and
  // 5x the shared wavefronts of the ideal, ncu, H200: 176 us at 32 x 4096 against 125 at page
  // 16) or 8-byte runs (4 slots: 4x the wavefronts, 2x on K). At 4 slots a block's 16-byte
  // chunks XOR with 4 (j odd), K chunks with 1, so that fragment reads from two pages' blocks
  // hit distinct banks; P V reads the 4-byte key pairs of the B fragments with LDS.
  // fp8 pools likewise ([page][dim][slot] byte blocks, 16-byte copies of 2 or 4 dims); 16-bit
  // pages of 2 slots too, K and V. At 4 fp8 slots and at 2 slots only head dims of whole
  // 32-byte chunk groups (their swizzles stay in the block): chunks XOR 2 (j % 4) for V, j % 4
  // for K at 2 slots.
  constexpr bool V_PAGES =
      Tile::V_BY_DIM && (PAGE_SIZE == 8 || (PAGE_SIZE == 4 && (!FP8 || HEAD_DIM % 32 == 0)) || (PAGE_SIZE == 2 && !FP8 && HEAD_DIM % 32 == 0));
  constexpr bool K_PAGES = V_PAGES && !FP8 && PAGE_SIZE <= 4;
  // A 16-byte V copy holds several dims' slots (rows under 16 bytes): keys past the end land
  // as they lie in the pool and are zeroed once landed.
  constexpr bool MULTI_DIM_CHUNKS = V_PAGES && PAGE_SIZE * (int)sizeof(KV) < 16;
  constexpr int PAGE_LANES = V_PAGES ? 32 * PAGE_SIZE / KEYS : 32;  // lanes copying one page
  // Element offset, in page j's block, of 16-byte chunk `chunk` of V / K (the swizzles above).
  // fp8 blocks: chunks XOR 4 at 8 slots (j odd), 2 (j % 4) at 4, so that a fragment read's four
  // pages hit distinct banks.
  auto v_block = [](int j, int chunk) {
    const int swizzled = FP8 ? (PAGE_SIZE == 4 ? chunk ^ ((j & 3) << 1) : chunk ^ ((j & 1) << 2))
                             : (PAGE_SIZE == 4 ? chunk ^ ((j & 1) << 2) : PAGE_SIZE == 2 ? chunk ^ ((j & 3) << 1) : chunk);
    return j * HEAD_DIM * PAGE_SIZE + swizzled * VEC;
  };
  auto k_block = [](int j, int chunk, int slot) {
    return j * HEAD_DIM * PAGE_SIZE + (((chunk ^ (PAGE_SIZE == 2 ? j & 3 : j & 1)) * PAGE_SIZE) + slot) * 8;
  };
  // At 2 slots those swizzles also flip bit 0 of a lane's copy index k where its page j has bit
  // 1 set (`odd_pair`): copy k lands where copy k ^ 1 would, so the odd copies' destinations
  // start two steps below the even ones' (`*_to_odd` below).
  const int odd_pair = V_PAGES && PAGE_SIZE == 2 ? (lane / PAGE_LANES >> 1) & 1 : 0;
  constexpr int V_RUN = Tile::V_BY_DIM && PAGE_SIZE < VEC && !V_PAGES ? PAGE_SIZE : VEC;
  constexpr int V_TOTAL = TILE_DIM * KEYS / V_RUN, V_COPIES = (V_TOTAL + 31) / 32;
  static_assert(FP8 || (K_TOTAL % 32 == 0 && V_TOTAL % 32 == 0), "whole copies per lane");
  auto k_copies = [&](int k) { return K_TOTAL % 32 == 0 || lane + 32 * k < K_TOTAL; };
  auto v_copies = [&](int k) {
    constexpr int PAGE_CHUNKS = HEAD_DIM * PAGE_SIZE / VEC;  // 16-byte chunks of a page's block
    if constexpr (V_PAGES) return PAGE_CHUNKS % PAGE_LANES == 0 || lane % PAGE_LANES + PAGE_LANES * k < PAGE_CHUNKS;
    return V_TOTAL % 32 == 0 || lane + 32 * k < V_TOTAL;
  };
  // Copy k of this lane (closed forms of the lane and k, so that a tile's copies take their
  // offsets as immediates where the plan is regular, pal in particular): its tile key, its source
  // element offset from its page's base and its destination element offset in the stage.
  struct Copy {
    int key, src, dst;
  };
  // Copy k of lane l is copy l + 32 k of the tile, in rows of `per_row` copies: (row, column).
  auto split = [&](int k, int per_row) { return make_int2((lane + 32 * k) / per_row, (lane + 32 * k) % per_row); };
  auto k_plan = [&](int k) -> Copy {
    if constexpr (K_PAGES) {  // lanes 8j .. 8j + 7: chunks 2k, 2k + 1 of page j (slots lane % 4)
      const int j = lane / PAGE_LANES, slot = lane % PAGE_SIZE, c = 2 * k + lane / PAGE_SIZE % 2;
      return {j * PAGE_SIZE + slot, at.key_in_page(slot, c * VEC), k_block(j, c, slot)};
    }
    // pal: rows of KEYS slots per 16-byte dim chunk; others: rows of CHUNKS chunks per key.
    const int2 rc = split(k, LAYOUT == LAYOUT_PAL ? KEYS : CHUNKS);
    const int t = LAYOUT == LAYOUT_PAL ? rc.y : rc.x;
    const int c = LAYOUT == LAYOUT_PAL ? rc.x : rc.y;
    const int src = at.key_in_page(ONE_PAGE ? t : t % PAGE_SIZE, c * VEC);
    if constexpr (FP8) return {t, src, fp8_k_chunk(t, c)};
    return {t, src, Tile::K_BY_CHUNK ? (c * KEYS + t) * 8 : ONE_PAGE || Tile::GROUP == 8 ? Tile::row_chunk(t, c) : Tile::row_chunk_at(lane + 32 * k)};
  };
  auto v_plan = [&](int k) -> Copy {
    if constexpr (V_PAGES) {  // lanes of page j: its 16-byte chunks, PAGE_LANES apart
      const int j = lane / PAGE_LANES, chunk = lane % PAGE_LANES + PAGE_LANES * k;
      return {j * PAGE_SIZE, chunk * VEC, v_block(j, chunk)};
    }
    // pal: rows of KEYS / V_RUN runs per dim; others: rows of CHUNKS chunks per key.
    const int2 rc = split(k, Tile::V_BY_DIM ? KEYS / V_RUN : CHUNKS);
    const int t = Tile::V_BY_DIM ? rc.y * V_RUN : rc.x;
    const int d = Tile::V_BY_DIM ? rc.x : rc.y * VEC;
    const int src = at.value_in_page(ONE_PAGE ? t : t % PAGE_SIZE, d);
    if constexpr (FP8) return {t, src, Tile::V_BY_DIM ? d * KEYS + t : Rows::v_chunk(t, d / VEC)};
    return {t, src, Tile::V_BY_DIM ? Tile::dim_key(d, t) : ONE_PAGE || Tile::GROUP == 8 ? Tile::row_chunk(t, d / 8) : Tile::row_chunk_at(lane + 32 * k)};
  };
  // A tile in one page: copy k relative to the tile's bases. pal tiles (16-bit K, any V) are copy
  // 0 moved by k rows (32 lanes copy whole rows), so copy 0's offsets go into the bases and each
  // copy adds constants (immediates); other plans add each copy's own offsets.
  constexpr bool K_AFFINE = LAYOUT == LAYOUT_PAL && !FP8;
  constexpr int K_SRC_STEP = 32 / KEYS * PAGE_SIZE * VEC, K_DST_STEP = 32 / KEYS * (K_PAGES ? PAGE_SIZE : KEYS) * 8;
  constexpr bool V_AFFINE = Tile::V_BY_DIM && (FP8 || V_RUN % 4 == 0);
  constexpr int V_DIM_STEP = 32 / (KEYS / V_RUN), V_SRC_STEP = V_DIM_STEP * PAGE_SIZE,
                V_DST_STEP = V_DIM_STEP * (V_PAGES ? PAGE_SIZE : KEYS);
  static_assert(32 % KEYS == 0 && 32 % (KEYS / V_RUN) == 0, "lanes cover whole rows");
  // Other plans of tiles in one page are periodic where a warp's copy row holds whole rows of
  // the tile (`*_PERIOD` P > 0, from a model of every lane's copies): copy k lands where copy
  // k % P does, (k - k % P) rows of 512 bytes further, and its source and key are linear in k;
  // fp8 pal K (chunks 2 apart, swizzled by chunk % 4) and nhd / hnd rows of 4, 8 or 16 chunks
  // (swizzled by key). A tile then costs P destination bases and one source base instead of
  // each copy's offsets (fp8 pal, D 128: the loop's SASS 519 -> 460 instructions). Larger
  // periods (8: 16-bit rows of 32 chunks) keep the offsets.
  constexpr int ROW_KEY_STEP = 32 % CHUNKS == 0 ? 32 / CHUNKS : 0;  // tile keys per copy row
  // Period over copy rows of a swizzle that repeats every 8 keys (`row_chunk`, fp8 V rows; 0
  // past 4: more bases than offsets save).
  constexpr int KEY_SWIZZLE_PERIOD = ROW_KEY_STEP < 2 ? 0 : ROW_KEY_STEP >= 8 ? 1 : 8 / ROW_KEY_STEP;
  constexpr int ROWS_PERIOD = !ONE_PAGE || LAYOUT == LAYOUT_PAL || ROW_KEY_STEP == 0 ? 0 : FP8 ? 1 : KEY_SWIZZLE_PERIOD;
  constexpr int K_PERIOD = K_AFFINE || !ONE_PAGE ? 0 : LAYOUT == LAYOUT_PAL ? (FP8 && KEYS == 16 ? 2 : 0) : ROWS_PERIOD;
  constexpr int V_PERIOD = V_AFFINE || ROWS_PERIOD == 0 ? 0
                           : FP8 ? (Fp8Rows<HEAD_DIM>::WIDE ? KEY_SWIZZLE_PERIOD : 1) : ROWS_PERIOD;
  // (fp8 K rows flip their chunks by key parity: whole copy rows keep it when they hold an even
  // number of keys.)
  static_assert(!FP8 || ROWS_PERIOD == 0 || ROW_KEY_STEP % 2 == 0, "fp8 K rows: key parity per copy row");
  constexpr int ROW_BYTES = 32 * 16;  // a warp's row of 16-byte copies
  // nhd / hnd rows over pages under the tile (`ROW_PAGES`): where a copy row's keys lie in one
  // page (PAGE_SIZE a multiple of ROW_KEY_STEP), copy k of a lane reads slot k_first.key +
  // (ROW_KEY_STEP k) % PAGE_SIZE of its key's page: one lane base plus the page's offset (its id
  // by shuffle) and a step that repeats, into the periodic destinations of one-page tiles.
  constexpr int PAGED_ROWS_PERIOD = LAYOUT == LAYOUT_PAL || ROW_KEY_STEP == 0 ? 0 : FP8 ? 1 : KEY_SWIZZLE_PERIOD;
  constexpr int K_PAGED_PERIOD = PAGED_ROWS_PERIOD;
  constexpr int V_PAGED_PERIOD = PAGED_ROWS_PERIOD == 0 ? 0 : FP8 ? (Fp8Rows<HEAD_DIM>::WIDE ? KEY_SWIZZLE_PERIOD : 1) : PAGED_ROWS_PERIOD;
  constexpr bool ROW_PAGES = !ONE_PAGE && K_PAGED_PERIOD && V_PAGED_PERIOD && PAGE_SIZE % ROW_KEY_STEP == 0;
  const Copy k_first = k_plan(0), v_first = v_plan(0);
  auto k_copy = [&](int k) { return K_AFFINE ? Copy{k_first.key, k * K_SRC_STEP, k * K_DST_STEP} : k_plan(k); };
  auto v_copy = [&](int k) { return V_AFFINE ? Copy{v_first.key, k * V_SRC_STEP, k * V_DST_STEP} : v_plan(k); };
  // pal tiles over several pages (16-bit pools, runs of 4 bytes or more): every copy of a lane
  // reads one key's page (its K copies key lane % KEYS, whose page the lane holds; its V runs
  // start at key (lane % (KEYS / V_RUN)) V_RUN), so a lane takes one base per tile and adds the
  // plan's constants, as in a tile of one page.
  constexpr bool LANE_PAGES = !ONE_PAGE && K_AFFINE && V_RUN * sizeof(KV) >= 4;
  // 16-bit pal pages of 2 slots: 8 lanes per page and copy instead of 4, so that a copy
  // instruction reads 128 contiguous bytes of each of 4 pages, not 64 of 8 (ncu, H200: 2x the
  // ideal L1 wavefronts per copy); the staged blocks as with LANE_PAGES.
  constexpr bool QUARTER_PAGES = K_PAGES && PAGE_SIZE == 2;
  static_assert(!QUARTER_PAGES || (K_COPIES == HEAD_DIM / 16 && V_COPIES == HEAD_DIM / 16), "pages of 2: 128-byte pieces");
  // The ring as a shared-memory address: a copy's destination is one add, or an immediate.
  const u32 ring_at = shared_address(ring);
  // TMA_V: stage s's full mbarrier at bars + 8 s (one arrival, warp 0 lane 0's, with the box's
  // bytes), its empty one at bars + 8 (STAGES + s) (an arrival per warp done with the stage).
  const u32 bars = shared_address(shared + Tile::BARRIERS_OFFSET);
  if constexpr (TMA_V) {
    if (threadIdx.x == 0) {
#pragma unroll
      for (int s = 0; s < STAGES; ++s) mbarrier_init(bars + 8 * s, 1), mbarrier_init(bars + 8 * (STAGES + s), WARPS);
      mbarrier_init_fence();
    }
    __syncthreads();
  }

  // Issues the copies of tile i into its ring stage; invalid keys become zeros (never read).
  auto issue = [&](int i, int page_ids, int box_pages) {
    const int key0 = key0_of(i);
    const u32 k_tile = opaque(ring_at + (i % STAGES) * STAGE_STRIDE * (int)sizeof(KV));
    const u32 v_tile = k_tile + Tile::K_ELEMENTS * (int)sizeof(KV);
    const int slot0 = ONE_PAGE ? key0 % PAGE_SIZE : 0;
    const int live = min(end - key0, KEYS);  // keys of the tile inside the sequence
    // Bytes of a V copy starting at tile key t that lie among the first `valid` keys: a pal
    // run holds V_RUN keys of one dim, a row chunk 8 dims of one key.
    auto v_bytes = [](int t, int valid) {
      return Tile::V_BY_DIM ? max(0, min(valid - t, V_RUN)) * (int)sizeof(KV) : (t < valid ? 16 : 0);
    };
    u32 mask;
    if constexpr (ONE_PAGE) {
      // An invalid page reads nothing: its copies are zero-byte copies from the pool's base page.
      const int own_page = SHARED_V ? __shfl_sync(0xffffffffu, page_ids, warp * (PIECES / WARPS)) : page_ids;
      const int valid = own_page >= 0 ? live : 0;
      // Bases opaque to the compiler, so that copies add their offsets to them (immediates when
      // the plan is affine) instead of recomputing each address whole.
      constexpr bool K_BASED = K_AFFINE || K_PERIOD, V_BASED = V_AFFINE || V_PERIOD;
      const KV* k_base = opaque(k_pool + (valid ? at.key(own_page, kv_head, slot0, 0) : 0) + (K_BASED ? k_first.src : 0));
      const KV* v_base = opaque(v_pool + (valid ? at.value(own_page, kv_head, slot0, 0) : 0) + (V_BASED ? v_first.src : 0));
      if constexpr (K_PERIOD) {
        // Source and key steps of a copy row: chunks 32 / KEYS further (pal), or keys ROW_KEY_STEP.
        const int src_step = LAYOUT == LAYOUT_PAL ? at.key_in_page(0, 32 / KEYS * VEC) : at.key_in_page(ROW_KEY_STEP, 0);
        constexpr int KEY_STEP = LAYOUT == LAYOUT_PAL ? 0 : ROW_KEY_STEP;
        u32 k_to[K_PERIOD];
#pragma unroll
        for (int b = 0; b < K_PERIOD; ++b) k_to[b] = opaque(k_tile + k_plan(b).dst * (int)sizeof(KV) - b * ROW_BYTES);
#pragma unroll
        for (int k = 0; k < K_COPIES; ++k)
          if (k_copies(k))
            copy_async<16, EVICT_FIRST>(k_to[k % K_PERIOD] + k * ROW_BYTES, k_base + k * src_step, k_first.key + k * KEY_STEP < valid ? 16 : 0);
      } else {
        const u32 k_to = opaque(k_tile + (K_AFFINE ? k_first.dst : 0) * (int)sizeof(KV));
#pragma unroll
        for (int k = 0; k < K_COPIES; ++k) {
          const Copy c = k_copy(k);
          if (k_copies(k)) copy_async<16, EVICT_FIRST>(k_to + c.dst * (int)sizeof(KV), k_base + c.src, c.key < valid ? 16 : 0);
        }
      }
      if constexpr (TMA_V) {
        // Warp 0's tile is the step's first: its page is the step's. The stage is free once
        // every warp left its last use (step i - STAGES).
        const int second_page = STEP_PAGES > 1 ? __shfl_sync(0xffffffffu, box_pages, 1) : -1;
        if (warp == 0 && lane == 0) {
          const int stage = i % STAGES;
          if (i >= STAGES) mbarrier_wait(bars + 8 * (STAGES + stage), (i / STAGES - 1) & 1);
          expect_transaction(bars + 8 * stage, Tile::V_STEP * (int)sizeof(KV));
          const u32 block = shared_address(shared) + stage * Tile::V_STEP * (int)sizeof(KV);
          // Box rows of BOX_DIMS dims: a page's are HEAD_DIM / BOX_DIMS rows from its head's first.
          auto row_of = [&](int page) {
            return (page >= 0 ? (page * p.num_kv_heads + kv_head) * HEAD_DIM : -HEAD_DIM) / BOX_DIMS;
          };
          if constexpr (STEP_PAGES == 1) {
            tensor_copy_2d<EVICT_FIRST>(block, &p.v_map, slot0, row_of(own_page), bars + 8 * stage);
          } else {
            tensor_copy_2d<EVICT_FIRST>(block, &p.v_map, 0, row_of(box_pages), bars + 8 * stage);
            tensor_copy_2d<EVICT_FIRST>(block + HEAD_DIM * PAGE_SIZE * (int)sizeof(KV), &p.v_map, 0, row_of(second_page),
                                        bars + 8 * stage);
          }
        }
      } else if constexpr (SHARED_V) {
        // Keys t .. t + VEC - 1 of dims d0 + k DIM_STEP of tile j, into tile j's warp's stage
        // (`dim_key`: the dim step keeps the swizzle's dim bit 2).
        const int j = page_tile, t = lane % (PIECES / WARPS) * VEC, d0 = (32 * warp + lane) / PIECES;
        const int v_key0 = task.begin + (j + i * WARPS) * KEYS;
        const int bytes = page_ids >= 0 ? v_bytes(t, end - v_key0) : 0;
        const KV* from = opaque(v_pool + (bytes ? at.value(page_ids, kv_head, v_key0 % PAGE_SIZE + t, d0) : 0));
        const u32 to = opaque(ring_at + (((j - warp) * STAGES + i % STAGES) * Tile::STAGE_ELEMENTS + Tile::K_ELEMENTS +
                                         Tile::dim_key(d0, t)) *
                                            (int)sizeof(KV));
#pragma unroll
        for (int k = 0; k < HEAD_DIM / DIM_STEP; ++k)
          copy_async<16, EVICT_FIRST>(to + k * DIM_STEP * KEYS * (int)sizeof(KV), from + k * DIM_STEP * PAGE_SIZE, bytes);
      } else if constexpr (V_PERIOD) {
        const int src_step = at.value_in_page(ROW_KEY_STEP, 0);
        u32 v_to[V_PERIOD];
#pragma unroll
        for (int b = 0; b < V_PERIOD; ++b) v_to[b] = opaque(v_tile + v_plan(b).dst * (int)sizeof(KV) - b * ROW_BYTES);
#pragma unroll
        for (int k = 0; k < V_COPIES; ++k)
          if (v_copies(k))
            copy_async<16, EVICT_FIRST>(v_to[k % V_PERIOD] + k * ROW_BYTES, v_base + k * src_step, v_bytes(v_first.key + k * ROW_KEY_STEP, valid));
      } else {
        const u32 v_to = opaque(v_tile + (V_AFFINE ? v_first.dst : 0) * (int)sizeof(KV));
#pragma unroll
        for (int k = 0; k < V_COPIES; ++k) {
          const Copy c = v_copy(k);
          if (v_copies(k)) copy_async<16, EVICT_FIRST>(v_to + c.dst * (int)sizeof(KV), v_base + c.src, v_bytes(c.key, valid));
        }
      }
      mask = valid >= 32 ? 0xffffffffu : (1u << valid) - 1;
      if (key0 < first) mask &= ~((1u << (first - key0)) - 1);  // keys before the window
    } else if constexpr (QUARTER_PAGES) {
      // Copy k of lane 8 q + l: page j = q + 4 (k % 2) of the tile, its bytes 128 (k / 2) + 16 l
      // (K chunk 4 (k / 2) + l / 2 of slot l % 2, V chunk 8 (k / 2) + l): pages q and q + 4
      // share their swizzles (j % 4), a page's K and V offsets are the same, so a lane takes
      // two page offsets per pool and its copies add immediates.
      const int q = lane / 8, l = lane % 8, hidden = first - key0;
      const KV* k_from[2];
      const KV* v_from[2];
      int k_ok[2], v_ok[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int key = 2 * (q + 4 * h);  // the page's first key
        const int k_page = __shfl_sync(0xffffffffu, page_ids, key + l % 2);
        // A value chunk holds both slots: it takes the page of the first visible key.
        const int v_page = __shfl_sync(0xffffffffu, page_ids, hidden == key + 1 ? key + 1 : key);
        k_ok[h] = k_page >= 0 && key + l % 2 < live ? 16 : 0;
        v_ok[h] = v_page >= 0 && key < live ? 16 : 0;
        k_from[h] = opaque(k_pool + (k_ok[h] ? at.key(k_page, kv_head, 0, 0) : 0) + 8 * l);
        v_from[h] = opaque(v_pool + (v_ok[h] ? at.value(v_page, kv_head, 0, 0) : 0) + 8 * l);
      }
      const u32 k_to = opaque(k_tile + (q * 2 * HEAD_DIM + (((l / 2) ^ q) * 2 + l % 2) * 8) * (int)sizeof(KV));
      const u32 v_to = opaque(v_tile + (q * 2 * HEAD_DIM + (l ^ (2 * q)) * 8) * (int)sizeof(KV));
#pragma unroll
      for (int k = 0; k < K_COPIES; ++k)
        copy_async<16, EVICT_FIRST>(k_to + (k % 2 * 8 * HEAD_DIM + 64 * (k / 2)) * (int)sizeof(KV), k_from[k % 2] + 64 * (k / 2), k_ok[k % 2]);
#pragma unroll
      for (int k = 0; k < V_COPIES; ++k)
        copy_async<16, EVICT_FIRST>(v_to + (k % 2 * 8 * HEAD_DIM + 64 * (k / 2)) * (int)sizeof(KV), v_from[k % 2] + 64 * (k / 2), v_ok[k % 2]);
      mask = __ballot_sync(0xffffffffu, lane < KEYS && page_ids >= 0 && lane < live);
    } else if constexpr (LANE_PAGES) {
      auto valid_run = [&](int t, int page, int n) { return page < 0 ? 0 : max(0, min(live - t, n)); };
      const int k_page = K_PAGES ? __shfl_sync(0xffffffffu, page_ids, k_first.key) : page_ids;
      const bool k_ok = valid_run(k_first.key, k_page, 1) > 0;
      const KV* k_base = opaque(k_pool + (k_ok ? at.key(k_page, kv_head, 0, 0) : 0) + k_first.src);
      const u32 k_to = opaque(k_tile + k_first.dst * (int)sizeof(KV));
      const u32 k_to_odd = k_to - 2 * K_DST_STEP * odd_pair * (int)sizeof(KV);
#pragma unroll
      for (int k = 0; k < K_COPIES; ++k) {
        const Copy c = k_copy(k);
        if (k_copies(k))
          copy_async<16, EVICT_FIRST>((k % 2 ? k_to_odd : k_to) + c.dst * (int)sizeof(KV), k_base + c.src, k_ok ? 16 : 0);
      }
      // A pal value run lies in one page: it takes the page of its first visible key.
      const int hidden = first - key0, v_key = v_first.key;
      const int v_page = __shfl_sync(0xffffffffu, page_ids, hidden > v_key && hidden < v_key + PAGE_SIZE ? hidden : v_key);
      // A 16-byte chunk of a page under 16 bytes a row holds several dims: keys past the end are
      // zeroed once landed.
      const int bytes = v_page < 0 ? 0 : MULTI_DIM_CHUNKS ? (v_key < live ? 16 : 0) : v_bytes(v_key, live);
      const KV* v_base = opaque(v_pool + (bytes ? at.value(v_page, kv_head, 0, 0) : 0) + (V_AFFINE ? v_first.src : 0));
      const u32 v_to = opaque(v_tile + (V_AFFINE ? v_first.dst : 0) * (int)sizeof(KV));
      const u32 v_to_odd = v_to - 2 * V_DST_STEP * odd_pair * (int)sizeof(KV);
#pragma unroll
      for (int k = 0; k < V_COPIES; ++k) {
        const Copy c = v_copy(k);
        if (v_copies(k))
          copy_async<V_RUN * sizeof(KV), EVICT_FIRST>((k % 2 ? v_to_odd : v_to) + c.dst * (int)sizeof(KV), v_base + c.src, bytes);
      }
      mask = __ballot_sync(0xffffffffu, lane < KEYS && valid_run(lane, page_ids, 1) > 0);
    } else if constexpr (ROW_PAGES) {
      const u32 page_elements = (u32)at.key(1, 0, 0, 0);  // a page of every head
      const int slot_step = at.key_in_page(1, 0);
      const KV* k_lane = opaque(k_pool + at.key(0, kv_head, 0, 0) + k_first.src);
      const KV* v_lane = opaque(v_pool + at.value(0, kv_head, 0, 0) + v_first.src);
      // Copy k's source: its key's page (-1: nothing read) and slot.
      auto source = [&](const KV* lane_base, const KV* pool, int k, bool& ok) {
        const int key = k_first.key + ROW_KEY_STEP * k;
        const int page = __shfl_sync(0xffffffffu, page_ids, key);
        ok = page >= 0 && key < live;
        return ok ? lane_base + (u64)(u32)page * page_elements + (ROW_KEY_STEP * k) % PAGE_SIZE * slot_step : pool;
      };
      u32 k_to[K_PAGED_PERIOD], v_to[V_PAGED_PERIOD];
#pragma unroll
      for (int b = 0; b < K_PAGED_PERIOD; ++b) k_to[b] = opaque(k_tile + (b ? k_plan(b).dst : k_first.dst) * (int)sizeof(KV) - b * ROW_BYTES);
#pragma unroll
      for (int b = 0; b < V_PAGED_PERIOD; ++b) v_to[b] = opaque(v_tile + (b ? v_plan(b).dst : v_first.dst) * (int)sizeof(KV) - b * ROW_BYTES);
#pragma unroll
      for (int k = 0; k < K_COPIES; ++k) {
        bool ok;
        const KV* from = source(k_lane, k_pool, k, ok);
        if (k_copies(k)) copy_async<16, EVICT_FIRST>(k_to[k % K_PAGED_PERIOD] + k * ROW_BYTES, from, ok ? 16 : 0);
      }
#pragma unroll
      for (int k = 0; k < V_COPIES; ++k) {
        bool ok;
        const KV* from = source(v_lane, v_pool, k, ok);
        if (v_copies(k)) copy_async<16, EVICT_FIRST>(v_to[k % V_PAGED_PERIOD] + k * ROW_BYTES, from, ok ? 16 : 0);
      }
      mask = __ballot_sync(0xffffffffu, lane < KEYS && page_ids >= 0 && lane < live);
    } else {
      // Lane t holds the page of key t; each copy takes its key's page by shuffle.
      auto valid_run = [&](int t, int page, int n) { return page < 0 ? 0 : max(0, min(live - t, n)); };
#pragma unroll
      for (int k = 0; k < K_COPIES; ++k) {
        const Copy c = k_plan(k);
        const int page = __shfl_sync(0xffffffffu, page_ids, c.key);
        const bool ok = valid_run(c.key, page, 1) > 0;
        if (k_copies(k))
          copy_async<16, EVICT_FIRST>(k_tile + c.dst * (int)sizeof(KV),
                                               ok ? k_pool + at.key(page, kv_head, 0, 0) + c.src : k_pool, ok ? 16 : 0);
      }
      // A pal value run lies in one page: it takes the page of its first visible key.
      const int hidden = first - key0;
#pragma unroll
      for (int k = 0; k < V_COPIES; ++k) {
        const Copy c = v_plan(k);
        const int run_key = Tile::V_BY_DIM && hidden > c.key && hidden < c.key + (V_PAGES ? PAGE_SIZE : V_RUN) ? hidden : c.key;
        const int page = __shfl_sync(0xffffffffu, page_ids, run_key);
        const int bytes = page < 0 ? 0 : MULTI_DIM_CHUNKS ? (c.key < live ? 16 : 0) : v_bytes(c.key, live);
        const KV* source = bytes ? v_pool + at.value(page, kv_head, 0, 0) + c.src : v_pool;
        if (!v_copies(k)) continue;
        if constexpr (V_RUN * sizeof(KV) >= 4) {
          copy_async<V_RUN * sizeof(KV), EVICT_FIRST>(v_tile + c.dst * (int)sizeof(KV), source, bytes);
        } else {
          // 1- and 2-byte runs (pal pages of 1, or fp8 pages of 1 and 2 slots): no cp.async size.
          KV* run = ring + (i % STAGES) * Tile::STAGE_ELEMENTS + Tile::K_ELEMENTS + c.dst;
#pragma unroll
          for (int e = 0; e < V_RUN; ++e) run[e] = e * (int)sizeof(KV) < bytes ? source[e] : KV{};
        }
      }
      mask = __ballot_sync(0xffffffffu, lane < KEYS && valid_run(lane, page_ids, 1) > 0);
    }
    if (lane == 0) masks[i % STAGES] = mask;
  };

  SoftmaxState state[M_TILES][2];
  float o[M_TILES][DIM_BLOCKS][4];
#pragma unroll
  for (int m = 0; m < M_TILES; ++m) {
    state[m][0] = state[m][1] = SoftmaxState::empty();
#pragma unroll
    for (int c = 0; c < DIM_BLOCKS; ++c) o[m][c][0] = o[m][c][1] = o[m][c][2] = o[m][c][3] = 0.f;
  }
  // fp8: the true score is dot * scale * k_scale; v_scale multiplies the finished rows.
  const float score_scale = FP8 ? p.scale * p.scales.k(kv_head) : p.scale;
  const float v_scale = FP8 ? p.scales.v(kv_head) : 1.f;
  const float log2_scale = score_scale * LOG2E;
  // KV_HEADS > 1: all ones where this lane's fragment row (group, group + 8) is one of KV head
  // h's query heads, else zero (AND-ed into Q's and P's A fragments).
  u32 head_rows[KV_HEADS][2];
#pragma unroll
  for (int h = 0; h < KV_HEADS; ++h)
#pragma unroll
    for (int r = 0; r < 2; ++r) head_rows[h][r] = (group + 8 * r) / (p.num_q_heads / p.num_kv_heads) == h ? ~0u : 0u;
  // ALiBi slope of each of this lane's fragment rows (0 past the CTA's heads, or without ALiBi).
  float slope[M_TILES][2];
#pragma unroll
  for (int m = 0; m < M_TILES; ++m)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = m * 16 + Fragment::row(lane, 2 * r);
      slope[m][r] = Variant::TRANSFORMS_SCORES && row < task.heads ? Variant::slope(p.variant, task.first_head + row) : 0.f;
    }

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < steps) issue(s, first_pages(s), first_box(s));
    copy_async_commit();
  }
  int next_raw = first_raw(STAGES - 1), next_raw_box = first_raw_box(STAGES - 1);
  for (int i = 0; i < steps; ++i) {
    const int next_pages = checked_pages(i + STAGES - 1, next_raw), next_box = checked_box(i + STAGES - 1, next_raw_box);
    copy_async_wait<STAGES - 2>();  // tile i has landed (this lane's copies)
    // ... and every lane's (with SHARED_V every thread's); stage (i - 1) is free.
    if constexpr (SHARED_V) __syncthreads();
    else __syncwarp();
    {
      next_raw = raw_pages(i + STAGES);
      next_raw_box = raw_box(i + STAGES);
      if (i + STAGES - 1 < steps) issue(i + STAGES - 1, next_pages, next_box);
      copy_async_commit();  // possibly empty: one group per tile keeps the count
    }
    if (SHARED_V && i >= my_tiles) continue;  // this warp has no tile in the last step
    // TMA_V: element of key t of this warp's tile, dim d, in a step block: rows of 128 (16-bit)
    // or 64 (fp8) bytes, 16-byte chunk c of row d at c ^ d % 8 or c ^ (d / 2) % 4 (the tensor
    // copy's 128- or 64-byte swizzle), so that the 8 rows of a fragment read hit distinct banks.
    auto step_at = [&](int d, int t) {
      // Rows of BOX_DIMS dims (pages of at most a step): byte `b` of row r of the tile's page's
      // half (warp / 2 with two pages a step) at chunk b / 16 ^ r % 8. A fragment read's 8 dims
      // (16-bit: ldmatrix rows; fp8: 4-byte words of 8 dims) then hit distinct banks: their
      // rows' XORs take every chunk once (2 dims a row: 4 rows, chunks c and c + 4; 4 dims a
      // row: 2 rows, chunks of one parity XOR an even and an odd value).
      if constexpr (BOX_DIMS > 1) {
        constexpr int DIM_BYTES = PAGE_SIZE * (int)sizeof(KV);
        const int r = d / BOX_DIMS, slot = (STEP_PAGES == 2 ? warp % 2 : warp) * KEYS + t;
        const int b = d % BOX_DIMS * DIM_BYTES + slot * (int)sizeof(KV);
        return (warp / 2 * (STEP_PAGES - 1) * HEAD_DIM * DIM_BYTES + r * 128 + ((b / 16) ^ (r % 8)) * 16 + b % 16) /
               (int)sizeof(KV);
      }
      if constexpr (FP8) return d * (KEYS * WARPS) + (warp ^ (d / 2 % 4)) * 16 + t;  // a tile's keys: chunk `warp`
      return d * (KEYS * WARPS) + ((2 * warp + t / 8) ^ (d % 8)) * 8 + t % 8;
    };
    if constexpr (TMA_V) {
      mbarrier_wait(bars + 8 * (i % STAGES), (i / STAGES) & 1);
      const int live = end - key0_of(i);
      if (live < KEYS) {
        // The slots past the end landed as the pool holds them (anything: NaN times a zero
        // weight would be NaN).
        KV* block = (KV*)shared + (i % STAGES) * Tile::V_STEP;
        for (int d = lane; d < HEAD_DIM; d += 32)
          for (int t = live; t < KEYS; ++t) block[step_at(d, t)] = KV{};
        fence_async_shared();  // before a later tensor copy into this stage
        __syncwarp();
      }
    }
    const KV* k_tile = ring + (i % STAGES) * STAGE_STRIDE;
    const KV* v_tile = TMA_V ? (const KV*)shared + (i % STAGES) * Tile::V_STEP : k_tile + Tile::K_ELEMENTS;
    const u32 mask = masks[i % STAGES];
    if constexpr (MULTI_DIM_CHUNKS) {
      // The page holding the end: its slots past the end landed as they lie in the pool (a copy
      // holds several dims), so they become zeros (weights 0 times a stale NaN would be NaN).
      const int live = end - key0_of(i);
      if (live < KEYS && live % PAGE_SIZE) {
        KV* block = ring + (i % STAGES) * Tile::STAGE_ELEMENTS + Tile::K_ELEMENTS;
        for (int d = lane; d < HEAD_DIM; d += 32)
#pragma unroll
          for (int slot = 1; slot < PAGE_SIZE; ++slot) {
            const int e = d * PAGE_SIZE + slot;
            if (slot >= live % PAGE_SIZE) block[v_block(live / PAGE_SIZE, e / VEC) + e % VEC] = KV{};
          }
        __syncwarp();
      }
    }

    // S = Q K^T: two 8-key n-blocks per k-step.
    float s[M_TILES][2][4];
#pragma unroll
    for (int m = 0; m < M_TILES; ++m)
#pragma unroll
      for (int b = 0; b < 2; ++b) s[m][b][0] = s[m][b][1] = s[m][b][2] = s[m][b][3] = 0.f;
    if constexpr (FP8) {
      // A lane's B fragment of n-block b is tile key s_key(b, group).
#pragma unroll
      for (int g = 0; g < HEAD_DIM / 64; ++g) {
        u32 k_frag[2][4][2];
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const uint4 raw = *(const uint4*)((const unsigned char*)k_tile + fp8_k_chunk(s_key(b, group), 4 * g + quad));
          fp8x4_to_f16x2<KV>(raw.x, k_frag[b][0][0], k_frag[b][0][1]);
          fp8x4_to_f16x2<KV>(raw.y, k_frag[b][1][0], k_frag[b][1][1]);
          fp8x4_to_f16x2<KV>(raw.z, k_frag[b][2][0], k_frag[b][2][1]);
          fp8x4_to_f16x2<KV>(raw.w, k_frag[b][3][0], k_frag[b][3][1]);
        }
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) {
            Mma<f16>::run(s[m][0], q[m][4 * g + j], k_frag[0][j][0], k_frag[0][j][1]);
            Mma<f16>::run(s[m][1], q[m][4 * g + j], k_frag[1][j][0], k_frag[1][j][1]);
          }
      }
      // The last HEAD_DIM % 64 dims: quad q's REM_WORDS words sit at byte 4 (q REM_WORDS + w) of
      // the remainder, each word read on its own (pal chunks of a key are not adjacent).
#pragma unroll
      for (int w = 0; w < REM_WORDS; ++w) {
        const int byte = 4 * (quad * REM_WORDS + w), c = 4 * FULL_GROUPS + byte / 16;
        u32 k_frag[2][2];
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int chunk = fp8_k_chunk(s_key(b, group), c);
          fp8x4_to_f16x2<KV>(*(const u32*)((const unsigned char*)k_tile + chunk + byte % 16), k_frag[b][0], k_frag[b][1]);
        }
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) {
          Mma<f16>::run(s[m][0], q[m][4 * FULL_GROUPS + w], k_frag[0][0], k_frag[0][1]);
          Mma<f16>::run(s[m][1], q[m][4 * FULL_GROUPS + w], k_frag[1][0], k_frag[1][1]);
        }
      }
    } else {
#pragma unroll
      for (int h = 0; h < KV_HEADS; ++h)
#pragma unroll
        for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
          u32 k_frag[4];
          const int key = lane % 8 + lane / 16 * 8, chunk = h * (HEAD_DIM / 8) + kk * 2 + (lane / 8) % 2;
          KvOperand<KV, T>::direct(k_frag, k_tile + (K_PAGES                ? k_block(key / PAGE_SIZE, chunk, key % PAGE_SIZE)
                                                     : Tile::K_BY_CHUNK ? (chunk * KEYS + key) * 8
                                                                        : Tile::row_chunk(key, chunk)));
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) {
            u32 a[4];
#pragma unroll
            for (int e = 0; e < 4; ++e) a[e] = KV_HEADS > 1 ? q[m][kk][e] & head_rows[h][e % 2] : q[m][kk][e];
            Mma<T>::run(s[m][0], a, k_frag[0], k_frag[1]);
            Mma<T>::run(s[m][1], a, k_frag[2], k_frag[3]);
          }
        }
    }

    // Online softmax on the fragments: accumulator element e of n-block b is head row
    // Fragment::row(lane, e) and tile key 8b + Fragment::column(lane, e).
    const int position = task.length - 1;
    u32 a[M_TILES][4];
#pragma unroll
    for (int m = 0; m < M_TILES; ++m) {
      float tile_max[2] = {neg_inf(), neg_inf()};
#pragma unroll
      for (int b = 0; b < 2; ++b)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int n = Fragment::column(lane, e), r = Fragment::row_index(e);
          const int t = s_key(b, n);
          float score = s[m][b][e] * log2_scale;
          if constexpr (Variant::TRANSFORMS_SCORES)
            score = Variant::logit(p.variant, s[m][b][e] * score_scale, key0_of(i) + t, position, slope[m][r]) * LOG2E;
          score = (mask >> t) & 1 ? score : neg_inf();
          s[m][b][e] = score;
          tile_max[r] = fmaxf(tile_max[r], score);
        }
      // O shrinks only when some row's max moved (a warp-uniform branch; a factor of 1 is exact,
      // so skipping it changes no bit): most tiles skip 4 * DIM_BLOCKS FMULs. (With the copies'
      // addresses as immediates the branch no longer costs 16-bit pools registers; H200: pal
      // +1-1.5% from 1 to 8 sequences, nhd / hnd within 1%.)
      float factor[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) factor[r] = state[m][r].rescale(quad_max(tile_max[r]));
      if (__any_sync(0xffffffffu, factor[0] != 1.f || factor[1] != 1.f)) {
#pragma unroll
        for (int r = 0; r < 2; ++r)
#pragma unroll
          for (int c = 0; c < DIM_BLOCKS; ++c) {
            o[m][c][2 * r] *= factor[r];
            o[m][c][2 * r + 1] *= factor[r];
          }
      }
#pragma unroll
      for (int b = 0; b < 2; ++b)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          SoftmaxState& row_state = state[m][Fragment::row_index(e)];
          s[m][b][e] = fast_exp2(s[m][b][e] - row_state.base());
          row_state.sum += s[m][b][e];
        }
      a[m][0] = Mma<MT>::pack(s[m][0][0], s[m][0][1]);
      a[m][1] = Mma<MT>::pack(s[m][0][2], s[m][0][3]);
      a[m][2] = Mma<MT>::pack(s[m][1][0], s[m][1][1]);
      a[m][3] = Mma<MT>::pack(s[m][1][2], s[m][1][3]);
    }

    // O += P V, fp8. pal: one 4-byte read of keys 4 quad .. + 3 per 8-dim n-block, as its rows
    // hold them. nhd / hnd rows hold a key's dims: ldmatrix.trans of 16-bit elements (pairs of
    // dims) gives lane (group, quad) keys 2 quad, 2 quad + 1 of dims 16 chunk + 2 group, + 1
    // (bytes: key 2q dim 2g, key 2q dim 2g + 1, key 2q + 1 dim 2g, key 2q + 1 dim 2g + 1); one byte
    // permute with the matrix of keys 8 .. 15 makes the B fragment of the even dims' n-block and
    // one of the odd dims'. O's n-block 2 chunk + parity thus holds dims 16 chunk + 2n + parity.
    if constexpr (FP8_PAIRS) {
#pragma unroll
      for (int chunk = 0; chunk < HEAD_DIM / 16; chunk += 2) {
        // Matrices: keys 0-7 / 8-15 of chunk, then of chunk + 1 (lanes 8i .. 8i + 7: matrix i);
        // an odd last chunk alone (head dims 80, 112).
        const bool pair = chunk + 1 < HEAD_DIM / 16;
        u32 r[4];
        const int key = lane % 8 + (lane / 8) % 2 * 8, c = chunk + (pair ? lane / 16 : 0);
        const unsigned char* row = (const unsigned char*)v_tile + Rows::v_chunk(key, c);
        if (pair)
          load_matrix_x4_transposed(r, row);
        else
          load_matrix_x2_transposed(r, row);
#pragma unroll
        for (int h = 0; h < (pair ? 2 : 1); ++h)
#pragma unroll
          for (int parity = 0; parity < 2; ++parity) {
            u32 b0, b1;
            fp8x4_to_f16x2<KV>(__byte_perm(r[2 * h], r[2 * h + 1], parity ? 0x7531 : 0x6420), b0, b1);
#pragma unroll
            for (int m = 0; m < M_TILES; ++m) Mma<f16>::run(o[m][2 * (chunk + h) + parity], a[m], b0, b1);
          }
      }
    } else if constexpr (FP8) {
      // Rows of 4 dims in a step block (BOX_DIMS 4): dim 8 c + group lies in row 2 c + group / 4,
      // whose swizzle repeats every 4 c, so four offsets and then 1024 bytes per 4 c.
      constexpr bool BOX_ROWS = TMA_V && BOX_DIMS == 4;
      int box_at[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) box_at[j] = BOX_ROWS ? step_at(j * 8 + group, 4 * quad) : 0;
#pragma unroll
      for (int c = 0; c < DIM_BLOCKS; ++c) {
        // Keys 4 quad .. + 3 of dim 8 c + group: in page blocks, slots of page 4 quad / PAGE_SIZE.
        const int e = (c * 8 + group) * PAGE_SIZE + 4 * quad % PAGE_SIZE;
        const int at_step = BOX_ROWS ? box_at[c % 4] + c / 4 * 1024 : step_at(c * 8 + group, 4 * quad);
        const u32 w = V_PAGES ? *(const u32*)((const unsigned char*)v_tile + v_block(4 * quad / PAGE_SIZE, e / VEC) + e % VEC)
                              : *(const u32*)((const unsigned char*)v_tile + (TMA_V ? at_step
                                                                                    : (c * 8 + group) * KEYS + 4 * quad));
        u32 b0, b1;
        fp8x4_to_f16x2<KV>(w, b0, b1);
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) Mma<f16>::run(o[m][c], a[m], b0, b1);
      }
    } else if constexpr (MULTI_DIM_CHUNKS) {
      // O += P V over 4- or 2-slot blocks: a lane's B fragment (keys 2 quad, + 1 and 2 quad + 8,
      // + 9 of dim 8 c + group) is two 4-byte words, in the blocks of the pages of those keys.
#pragma unroll
      for (int c = 0; c < DIM_BLOCKS; ++c) {
        const int word = (c * 8 + group) * PAGE_SIZE + (PAGE_SIZE == 4 ? quad % 2 * 2 : 0);
        const int page = PAGE_SIZE == 4 ? quad / 2 : quad;  // of keys 2 quad, + 1; + 8 / PAGE_SIZE
        const u32 b0 = *(const u32*)(v_tile + v_block(page, word / 8) + word % 8);
        const u32 b1 = *(const u32*)(v_tile + v_block(page + 8 / PAGE_SIZE, word / 8) + word % 8);
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) Mma<T>::run(o[m][c], a[m], b0, b1);
      }
    } else {
      // O += P V: two 8-dim n-blocks per ldmatrix (per KV head h of the CTA: P's rows of head h).
#pragma unroll
      for (int hc = 0; hc < KV_HEADS * DIM_BLOCKS; hc += 2) {
        const int h = hc / DIM_BLOCKS, c = hc % DIM_BLOCKS;
        u32 v_frag[4];
        u32 pa[M_TILES][4];
#pragma unroll
        for (int m = 0; m < M_TILES; ++m)
#pragma unroll
          for (int e = 0; e < 4; ++e) pa[m][e] = KV_HEADS > 1 ? a[m][e] & head_rows[h][e % 2] : a[m][e];
        if constexpr (Tile::V_BY_DIM) {
          // Per-page blocks (8 slots): page `half`'s chunk d is dim d's row; else `dim_key(d, 8
          // half)`, written out: through the helper ptxas scheduled this loop otherwise.
          const int d = c * 8 + lane % 8 + lane / 16 * 8, half = (lane / 8) % 2;
          KvOperand<KV, T>::direct(v_frag, v_tile + (TMA_V     ? step_at(d, 8 * half)
                                                     : V_PAGES ? v_block(half, d)
                                                               : d * KEYS + (half ^ ((d >> 2) & 1)) * 8));
        } else {
          KvOperand<KV, T>::transposed(v_frag, v_tile + Tile::row_chunk(lane % 8 + (lane / 8) % 2 * 8, hc + lane / 16));
        }
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) {
          Mma<T>::run(o[m][c], pa[m], v_frag[0], v_frag[1]);
          Mma<T>::run(o[m][c + 1], pa[m], v_frag[2], v_frag[3]);
        }
      }
    }
    if constexpr (TMA_V) {
      __syncwarp();  // the warp's reads of the step block are done
      if (lane == 0) mbarrier_arrive(bars + 8 * (STAGES + i % STAGES));
    }
  }
  copy_async_wait<0>();
  constexpr int OWN_RING_BYTES = SHARED_V || TMA_V ? 0 : STAGES * STAGE_STRIDE * (int)sizeof(KV);
  merge_warps<T, Tile, Variant, HEAD_DIM, OWN_RING_BYTES>(p, task, state, o, v_scale);
  if (p.merge_in_cluster) merge_in_cluster<T, Variant, HEAD_DIM, WARPS>(p, task);
}

}  // namespace pal
