// Shared-memory tiles of the tensor-core decode (`decode_mma.cuh`): the CTA's shape, each
// tile's element order (swizzles that keep every copy line-filling and every ldmatrix phase and
// fragment read conflict-free) and where the ring, the warps' merge and the masks lie; and the
// warps' merge through them at the end of a CTA (`merge_warps`).
#pragma once
#include "pal/common.cuh"
#include "pal/decode.cuh"
#include "pal/layout.cuh"
#include "pal/mma.cuh"

namespace pal {

// Shape (chosen by the host, `cuda/decode.rs`, and checked against these formulas at compile time).
// KV is the pools' dtype: 16-bit (the queries') or fp8, whose tiles are bytes (see `Fp8Rows`).
template <typename KV, int HEAD_DIM, int LAYOUT, int M_TILES, int WARPS, int STAGES, bool TMA_V = false> struct DecodeMmaTile {
  using Pool = KV;                        // (KV and WARPS, as the merge reads them)
  static constexpr int NUM_WARPS = WARPS;
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

// The warps' merge of a CTA: each warp's softmax states and O fragments combined in warp order
// (deterministic) through shared memory, then written: the normalised rows with one split, else
// this split's partial state (`store_decode_row`).
// At one m-tile (groups of up to 16 heads, or head dims over 128) the merge is an item loop over
// (row, 8-dim) from [warp][row][dim] rows: warp-owned blocks, straight-line per owner, cost 760
// more instructions there and ran 0.98-0.99x at GQA (H200, twenty-fifth session); with two
// m-tiles (MQA: 32 rows) they win. Tile: the CTA's `DecodeMmaTile` (its pools' dtype, warps
// and rows, and where the merge may write); HEAD_DIM: a head's (a tile row may hold several);
// OWN_RING_BYTES: a warp's ring where no other warp copies into it, 0 where one does (SHARED_V,
// TMA_V). Called after the warp's last copies have landed.
template <typename T, typename Tile, typename Variant, int HEAD_DIM, int OWN_RING_BYTES>
__device__ __forceinline__ void merge_warps(const DecodeParams& p, const DecodeTask& task,
                                            SoftmaxState (&state)[Tile::ROWS / 16][2],
                                            float (&o)[Tile::ROWS / 16][HEAD_DIM / 8][4], float v_scale) {
  constexpr int M_TILES = Tile::ROWS / 16, ROWS = Tile::ROWS, DIM_BLOCKS = HEAD_DIM / 8, WARPS = Tile::NUM_WARPS;
  constexpr bool FP8 = IS_FP8<typename Tile::Pool>;
  constexpr bool FP8_PAIRS = FP8 && !Tile::V_BY_DIM;  // fp8 nhd / hnd V read as pairs of dims
  extern __shared__ __align__(16) unsigned char shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = lane / 4, quad = lane % 4;
  if constexpr (M_TILES == 1) {
    __syncthreads();  // every warp is done with the ring: it becomes the merge buffer

    // Each warp's rows: unnormalised accumulators [warp][row][dim], then (max, sum) per row.
    // Rows of whole 128-byte lines hold their 8-dim chunk c at c ^ swizzle(row), so that the
    // rows one store instruction's phase writes take distinct banks: an STS.64 half-warp (four
    // rows, one chunk) the line's four 32-byte blocks (c ^ row % 4), where they all took one
    // (4-way: 1024 shared wavefronts a CTA at head dim 128, 256 so); an fp8 nhd / hnd STS.128
    // quarter-warp (two rows' 64-byte runs) both halves of the line (c ^ 2 (row % 2)).
    auto swizzle = [](int row) { return HEAD_DIM % 32 ? 0 : FP8_PAIRS ? (row & 1) * 2 : row & 3; };
    float* merged = (float*)shared;
    float2* states = (float2*)(merged + WARPS * ROWS * HEAD_DIM);
#pragma unroll
    for (int m = 0; m < M_TILES; ++m)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = m * 16 + Fragment::row(lane, 2 * r);
        const float sum = quad_sum(state[m][r].sum);
        if (row >= task.heads) continue;
        float* merged_row = merged + (warp * ROWS + row) * HEAD_DIM;
        if constexpr (FP8_PAIRS) {  // n-blocks 2 chunk (even dims) and 2 chunk + 1 (odd dims)
          // (16-dim chunk 2 k + j at 2 k + (j ^ row % 2): two offsets a lane, then immediates)
          int block[2];
#pragma unroll
          for (int j = 0; j < 2; ++j) block[j] = ((2 * j) ^ swizzle(row)) * 8 + 4 * quad;
#pragma unroll
          for (int chunk = 0; chunk < HEAD_DIM / 16; ++chunk)
            *(float4*)(merged_row + (chunk & ~1) * 16 + block[chunk & 1]) = make_float4(
                o[m][2 * chunk][2 * r], o[m][2 * chunk + 1][2 * r], o[m][2 * chunk][2 * r + 1], o[m][2 * chunk + 1][2 * r + 1]);
        } else {
          // (chunk 4 k + j at 4 k + (j ^ row % 4): four offsets a lane, then immediates)
          int block[4];
#pragma unroll
          for (int j = 0; j < 4; ++j) block[j] = (j ^ swizzle(row)) * 8 + Fragment::column(lane, 0);
#pragma unroll
          for (int c = 0; c < DIM_BLOCKS; ++c)
            *(float2*)(merged_row + (c & ~3) * 8 + block[c & 3]) = make_float2(o[m][c][2 * r], o[m][c][2 * r + 1]);
        }
        if (quad == 0) states[warp * ROWS + row] = make_float2(state[m][r].max, sum);
      }
    __syncthreads();

    // Combine the warps in warp order (deterministic); one 8-dim chunk of one head per item.
    for (int item = threadIdx.x; item < task.heads * DIM_BLOCKS; item += WARPS * 32) {
      const int row = item / DIM_BLOCKS, c = item % DIM_BLOCKS;
      float total_max = neg_inf();
#pragma unroll
      for (int w = 0; w < WARPS; ++w) total_max = fmaxf(total_max, states[w * ROWS + row].x);
      SoftmaxState total{total_max, 0.f};
      float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
#pragma unroll
      for (int w = 0; w < WARPS; ++w) {
        const float2 partial = states[w * ROWS + row];
        const float weight = merge_weight(partial.x, total.base());
        total.sum += partial.y * weight;
        const float* src = merged + (w * ROWS + row) * HEAD_DIM + (c ^ swizzle(row)) * 8;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] += src[e] * weight;
      }
      if constexpr (FP8)
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] *= v_scale;
      const float inverse = total.inverse_sum(Variant::sink(p.variant, task.first_head + row));
      store_decode_row<T, 8>(p, task.row(p, row), task.split, HEAD_DIM, c * 8, acc, inverse);
      if (c == 0) store_decode_state(p, task.row(p, row), task.split, total);
    }
  } else {
    // Two m-tiles: warp w owns the n-blocks c with c / UNIT % WARPS == w (UNIT: fp8 nhd / hnd
    // lanes hold 4 dims of a pair of blocks): it keeps them in registers and, after one barrier,
    // adds the other warps' copies to them in warp order (the float operations and order of the
    // former item loop: the same bits) and writes its share of the output. Each warp's region holds
    // its other blocks lane-major ([m][c][lane] float4: 512-byte rows, so STS.128 / LDS.128 are
    // conflict-free), then its rows' (max, sum) as [m][group] float4. Where each warp's ring
    // holds its region (and no other warp copies into it), the warp writes there as soon as its
    // own copies have landed: one CTA barrier, not two. (The item loop, at MQA: all of O as
    // [warp][row][dim] rows, STS.64 8-way and LDS.128 2-way bank-conflicted, 3.1k shared
    // wavefronts against 0.8k at D 128; every 8-dim item recomputed its row's weights.)
    constexpr int UNIT = FP8_PAIRS ? 2 : 1, UNITS = DIM_BLOCKS / UNIT;
    constexpr int REGION_BYTES = ROWS * (HEAD_DIM + 2) * 4;  // WARPS of them: Tile::MERGE_BYTES
    constexpr bool OWN_RING = OWN_RING_BYTES >= REGION_BYTES;
    constexpr int REGION_STRIDE = OWN_RING ? OWN_RING_BYTES : REGION_BYTES;
    static_assert(REGION_STRIDE % 16 == 0 && WARPS * REGION_STRIDE <= Tile::MASKS_OFFSET, "regions of float4");
    auto owner = [](int c) { return c / UNIT % WARPS; };
    auto fragment = [&](int w, int m, int c) { return (float4*)(shared + w * REGION_STRIDE) + (m * DIM_BLOCKS + c) * 32 + lane; };
    auto row_states = [&](int w, int m) { return (float4*)(shared + w * REGION_STRIDE + ROWS * HEAD_DIM * 4) + m * 8 + group; };
    if constexpr (OWN_RING) __syncwarp();  // the warp's copies have landed and its reads are done
    else __syncthreads();  // every warp is done with the ring
#pragma unroll
    for (int m = 0; m < M_TILES; ++m) {
      const float sum0 = quad_sum(state[m][0].sum), sum1 = quad_sum(state[m][1].sum);
      if (m * 16 + group >= task.heads) continue;  // rows group, group + 8 are not the CTA's
      if (quad == 0) *row_states(warp, m) = make_float4(state[m][0].max, sum0, state[m][1].max, sum1);
#pragma unroll
      for (int c = 0; c < DIM_BLOCKS; ++c)
        if (owner(c) != warp) *fragment(warp, m, c) = make_float4(o[m][c][0], o[m][c][1], o[m][c][2], o[m][c][3]);
    }
    __syncthreads();

    // Each row's weights once per quad: lane q merges the (max, sum) of its quad's row q % (2
    // M_TILES) (fragment m-tile m, row half r), in warp order, writes the split's state, and the
    // quad's lanes take the weights (and the inverse sum, without splits) by shuffles: one
    // exp2 chain per lane, not one per row (four at MQA).
    const bool normalised = p.num_splits == 1;
    constexpr int QUAD_ROWS = 2 * M_TILES;
    static_assert(QUAD_ROWS <= 4, "a lane per row of its quad");
    const int mine = quad % QUAD_ROWS, mine_row = mine / 2 * 16 + group + 8 * (mine % 2);
    float mine_weight[WARPS], mine_inverse;
    {
      const bool written = mine / 2 * 16 + group < task.heads;  // else unwritten: empty states
      float2 partial[WARPS];
#pragma unroll
      for (int w = 0; w < WARPS; ++w)
        partial[w] = written ? ((const float2*)row_states(w, mine / 2))[mine % 2] : make_float2(neg_inf(), 0.f);
      float total_max = neg_inf();
#pragma unroll
      for (int w = 0; w < WARPS; ++w) total_max = fmaxf(total_max, partial[w].x);
      SoftmaxState total{total_max, 0.f};
#pragma unroll
      for (int w = 0; w < WARPS; ++w) {
        mine_weight[w] = merge_weight(partial[w].x, total.base());
        total.sum += partial[w].y * mine_weight[w];
      }
      const bool live = mine_row < task.heads;  // (a row past the CTA's heads has no sink to read)
      // Partials stay unnormalised: the split merge divides.
      mine_inverse = normalised && live ? total.inverse_sum(Variant::sink(p.variant, task.first_head + mine_row)) : 0.f;
      if (warp == 0 && quad < QUAD_ROWS && live) store_decode_state(p, task.row(p, mine_row), task.split, total);
    }
    float weight[M_TILES][2][WARPS], inverse[M_TILES][2];
#pragma unroll
    for (int m = 0; m < M_TILES; ++m)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int from = lane / 4 * 4 + 2 * m + r;
#pragma unroll
        for (int w = 0; w < WARPS; ++w) weight[m][r][w] = __shfl_sync(0xffffffffu, mine_weight[w], from);
        inverse[m][r] = normalised ? __shfl_sync(0xffffffffu, mine_inverse, from) : 0.f;
      }

    // Warp `owner`'s blocks, as one straight-line block per warp (the owner a constant: its loads
    // issue together, and the other warps' blocks are dead registers there).
    auto merge_owned = [&](auto owner_constant) {
      constexpr int OWNER = decltype(owner_constant)::value;
      // Where this lane's rows go: the output, or with splits this split's partial row (one
      // formula: without splits the split is 0 of 1).
      char* dest[M_TILES][2];
      char* const base = (char*)(normalised ? p.out : p.partial_acc);
      const int row_bytes = HEAD_DIM * (normalised ? (int)sizeof(T) : 4);
#pragma unroll
      for (int m = 0; m < M_TILES; ++m)
#pragma unroll
        for (int r = 0; r < 2; ++r) dest[m][r] = base + (task.row(p, m * 16 + group + 8 * r) * p.num_splits + task.split) * row_bytes;
#pragma unroll
      for (int u = OWNER; u < UNITS; u += WARPS)
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) {
          const bool live = m * 16 + group < task.heads;
          float acc[UNIT][4];
#pragma unroll
          for (int b = 0; b < UNIT; ++b) {
            const int c = u * UNIT + b;
            acc[b][0] = acc[b][1] = acc[b][2] = acc[b][3] = 0.f;
#pragma unroll
            for (int w = 0; w < WARPS; ++w) {
              const float4 v = w == OWNER ? make_float4(o[m][c][0], o[m][c][1], o[m][c][2], o[m][c][3])
                               : live     ? *fragment(w, m, c)
                                          : make_float4(0.f, 0.f, 0.f, 0.f);
              acc[b][0] += v.x * weight[m][0][w];
              acc[b][1] += v.y * weight[m][0][w];
              acc[b][2] += v.z * weight[m][1][w];
              acc[b][3] += v.w * weight[m][1][w];
            }
            if constexpr (FP8)
#pragma unroll
              for (int e = 0; e < 4; ++e) acc[b][e] *= v_scale;
          }
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            if (m * 16 + group + 8 * r >= task.heads) continue;
            // The row's dims 8 u + 2 quad, + 1; fp8 pairs 16 u + 4 quad .. + 3 (blocks 2 u and
            // 2 u + 1 alternate): one 4- / 8-byte store, or an 8- / 16-byte one of partials.
            float v[2 * UNIT];
#pragma unroll
            for (int e = 0; e < 2 * UNIT; ++e) v[e] = acc[e % UNIT][2 * r + e / UNIT];
            const int dim = u * 8 * UNIT + 2 * UNIT * quad;
            if (normalised) {
              struct alignas(2 * UNIT * sizeof(T)) Out {
                T e[2 * UNIT];
              } out;
#pragma unroll
              for (int e = 0; e < 2 * UNIT; ++e) out.e[e] = from_float<T>(v[e] * inverse[m][r]);
              *(Out*)((T*)dest[m][r] + dim) = out;
            } else if constexpr (UNIT == 2) {
              *(float4*)((float*)dest[m][r] + dim) = make_float4(v[0], v[1], v[2], v[3]);
            } else {
              *(float2*)((float*)dest[m][r] + dim) = make_float2(v[0], v[1]);
            }
          }
        }
    };
    dispatch_constant<0, WARPS>(warp, merge_owned);
  }
}

}  // namespace pal
