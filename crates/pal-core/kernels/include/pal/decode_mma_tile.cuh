// Shared-memory tiles of the tensor-core decode (`decode_mma.cuh`): the CTA's shape, each
// tile's element order (swizzles that keep every copy line-filling and every ldmatrix phase and
// fragment read conflict-free) and where the ring, the warps' merge and the masks lie.
#pragma once
#include "pal/common.cuh"
#include "pal/layout.cuh"

namespace pal {

// Shape (chosen by the host, `cuda/decode.rs`, and checked against these formulas at compile time).
// KV is the pools' dtype: 16-bit (the queries') or fp8, whose tiles are bytes (see `Fp8Rows`).
template <typename KV, int HEAD_DIM, int LAYOUT, int M_TILES, int WARPS, int STAGES, bool TMA_V = false> struct DecodeMmaTile {
  static constexpr int KEYS = 16;  // keys per warp tile: one k-step of P V
  static constexpr int VEC = Vec<KV>::N;
  static constexpr int CHUNKS = HEAD_DIM / VEC;  // 16-byte chunks per row
  // [key][dim] rows of HEAD_DIM, unpadded, 16-byte chunks XOR-swizzled by key within aligned
  // groups of GROUP chunks: chunk c of key t at c ^ ((t >> GROUP_SHIFT) % GROUP), GROUP the
  // largest power of 2 up to 8 dividing CHUNKS (8; 2 / 4 / 2 at head dims 80 / 96 / 112),
  // GROUP_SHIFT log2(8 / GROUP). Under 8 a row is an odd number of groups, so 8 / GROUP
  // consecutive keys start in distinct groups of a 128-byte line and the XOR separates keys
  // 8 / GROUP apart: the 8 rows of an ldmatrix phase hit distinct banks, and a warp's 32 copies
  // fill 4 whole lines. Rows padded by a chunk instead (before) cost the copies 1.6 / 1.33 /
  // 1.43x the ideal shared wavefronts (a model of 8-lane phases) and head dim 96 a CTA an SM
  // (2, not 3). H200 (2026-12-04, bf16, two rounds against padded rows): nhd 1.04-1.08x, hnd
  // 1.04-1.13x at 8 / 32 / 64 x 4096 (32 x 4096 nhd 2.96 / 3.13 / 3.13 -> 3.20 / 3.39 / 3.39
  // TB/s, hnd 3.22 / 3.40 / 3.41 -> 3.64 / 3.75 / 3.82); the same bits where the split plan is
  // (head dim 96's third CTA an SM changes it on split grids).
  // The swizzle repeats every 8 keys, as the periodic copy plans assume (rows of 10-14 chunks
  // take none: a warp's copy row holds no whole rows).
  static constexpr int GROUP = CHUNKS % 8 == 0 ? 8 : CHUNKS % 4 == 0 ? 4 : 2;
  static constexpr int GROUP_SHIFT = GROUP == 8 ? 0 : GROUP == 4 ? 1 : 2;
  static_assert(IS_FP8<KV> || CHUNKS % 2 == 0, "16-bit rows of whole chunk pairs");
  static constexpr bool V_BY_DIM = LAYOUT == LAYOUT_PAL;
  // pal keys stay [chunk][key] as in their pages: a warp's copies fill whole lines (scattered
  // 16-byte writes into padded rows cost a fifth of the bandwidth), ldmatrix phases read 128
  // contiguous bytes.
  static constexpr bool K_BY_CHUNK = LAYOUT == LAYOUT_PAL;
  static constexpr int K_ELEMENTS = KEYS * HEAD_DIM;
  // Element offset of chunk `chunk` of key `key` in a [key][dim] tile. Under groups of 8 the XOR
  // takes chunk % GROUP alone, so that an ldmatrix read's chunk (a k-step's plus a lane bit)
  // keeps its multiple of GROUP as an immediate: the main loop's SASS 338 / 383 / 406
  // instructions a tile with padded rows (bf16 nhd, head dims 80 / 96 / 112), 340 / 394 / 409
  // so, 356 / 425 / 466 with the XOR of the whole chunk.
  __device__ __forceinline__ static int row_chunk(int key, int chunk) {
    if constexpr (GROUP == 8) return key * HEAD_DIM + (chunk ^ (key & 7)) * 8;
    return key * HEAD_DIM + (chunk & -GROUP) * 8 + ((chunk & (GROUP - 1)) ^ ((key >> GROUP_SHIFT) & (GROUP - 1))) * 8;
  }
  // row_chunk(index / CHUNKS, index % CHUNKS), the XOR taken on the index (rows are whole
  // groups): the destinations of copies of tiles over several pages (main loop, bf16 nhd pages
  // of 1-8 slots, head dims 80-112: +10-49 instructions a tile on padded rows' 2821-3387, +79-117
  // through row_chunk); one-page tiles keep row_chunk (394 -> 415 at head dim 96 this way).
  __device__ __forceinline__ static int row_chunk_at(int index) {
    if constexpr (GROUP == 8) return row_chunk(index / CHUNKS, index % CHUNKS);
    return (index ^ ((index / CHUNKS >> GROUP_SHIFT) & (GROUP - 1))) * 8;
  }
  static constexpr int V_ELEMENTS = HEAD_DIM * KEYS;
  // Element offset of key `key` of dim `dim` in a 16-bit [dim][key] (pal) V tile: the 16-byte
  // halves of dims 4..7 mod 8 swapped, so that an ldmatrix phase's 8 dims hit distinct banks.
  __device__ __forceinline__ static int dim_key(int dim, int key) {
    return dim * KEYS + ((key / 8) ^ ((dim >> 2) & 1)) * 8 + key % 8;
  }
  static constexpr int STAGE_ELEMENTS = K_ELEMENTS + V_ELEMENTS;
  static constexpr int RING_BYTES = WARPS * STAGES * STAGE_ELEMENTS * (int)sizeof(KV);
  static constexpr int ROWS = 16 * M_TILES;  // query heads per CTA
  static constexpr int MERGE_BYTES = WARPS * ROWS * (HEAD_DIM + 2) * 4;
  static constexpr int MASKS_OFFSET = RING_BYTES > MERGE_BYTES ? RING_BYTES : MERGE_BYTES;
  // With TMA_V the ring holds STAGES step blocks of V ([dim][WARPS * KEYS keys], a tensor
  // copy's box) and then each warp's K tiles, the same bytes; after the masks, a full and an
  // empty mbarrier per stage.
  static constexpr int V_STEP = HEAD_DIM * KEYS * WARPS;
  static constexpr int BARRIERS_OFFSET = MASKS_OFFSET + (WARPS * STAGES * 4 + 7) / 8 * 8;
  static constexpr int SHARED_BYTES = TMA_V ? BARRIERS_OFFSET + 2 * STAGES * 8 : MASKS_OFFSET + WARPS * STAGES * 4;
};

// fp8 tiles, in bytes. nhd / hnd K and V rows are [key][HEAD_DIM]: lanes read K with 16-byte
// loads of keys 2m, 2m + 1 per quarter-warp, so odd keys' chunks flip bit 2; the transposing
// 4-byte V reads take keys 4q + j, so V chunks XOR with key % 8 (rows of 8 chunks and more;
// others are conflict-free or nearly as they are). pal K stays [chunk][key] as in its pages (a
// copy's lanes walk keys; into [key][dim] rows that was an 8-way store conflict, and pal fp8
// decode ran 27% slower), keys XOR 2 (chunk % 4) so that a K read's quarter-warp (chunks
// 4g .. 4g + 3, keys 2m, 2m + 1) hits 8 distinct 16-byte bank groups. pal V is [dim][key] (one
// 16-byte chunk per dim, as in its pages).
template <int HEAD_DIM> struct Fp8Rows {
  static constexpr bool WIDE = HEAD_DIM / 16 % 8 == 0;
  __device__ __forceinline__ static int k_chunk(int key, int c) {
    return key * HEAD_DIM + (WIDE ? c ^ ((key & 1) << 2) : c) * 16;
  }
  __device__ __forceinline__ static int k_by_chunk(int key, int c) { return (c * 16 + (key ^ ((c & 3) << 1))) * 16; }
  __device__ __forceinline__ static int v_chunk(int key, int c) { return key * HEAD_DIM + (WIDE ? c ^ (key & 7) : c) * 16; }
};

}  // namespace pal
