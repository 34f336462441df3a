// Paged decode on CUDA cores over float32 pools (float32 queries).
//
// Work split: a CTA of WARPS warps serves up to HEADS query heads of one KV head over one KV
// split (`DecodeTask`). Each warp streams its own tiles of KEYS keys (tiles warp, warp + WARPS,
// ...) through a private STAGES-deep cp.async ring, the page ids read IDS_AHEAD tiles before
// their copies: no CTA barrier in the loop (the v0 kernel, still `decode_simt` for fp8 pools, staged tiles
// through registers behind four barriers a tile). The warps' softmax states merge once, at the
// end, in shared memory, in warp order (deterministic).
// In a warp, q . k splits the lanes into KEY_GROUPS groups, each scoring its own keys of the
// tile over its lanes' quads (as many groups as keep a lane's queries within 64 registers: 4 at
// 4 heads of D 128); a reduce-scatter over each group's lanes (7 shuffles at 4 groups, 31 at
// one) leaves every lane one (head, key) score, and the 8 lanes of a head fold them into its
// running (max, sum). The weights reach every lane through the warp's scratch for P V, where a
// lane owns quads of the value rows (nhd / hnd) or the dims l, l + 32, ... (pal, whose values
// are [dim][slot]); the accumulators shrink only when a head's max moved.
// Shared tiles: nhd / hnd K and V as [key][dim] rows, pal K as [quad][key] (keys XOR quad % 8,
// as a read's 8 lanes take 8 quads of one key), pal V as [dim][key] (the two 4-key halves
// swapped on dims 4..7 mod 8); the ring starts on a 128-byte line, except over pal pages of 4
// (64 bytes off one: 1.06-1.07x at 8 / 32 x 4096 there, H200 2026-12-02, two rounds).
// Traffic: K and V of each visible token once, in 16-byte copies (pal values in pages of 1 or 2
// slots: 4- or 8-byte copies) from a page's base and lane-constant offsets, the page ids read
// IDS_AHEAD tiles before their copies; Q once. No evict-first hint (as the tensor-core decode's
// small calls take): NVRTC 13.0 put that policy's descriptor of one copy in an odd uniform
// register at head dim 256 (`nhd` / `hnd`, pages of 8+), an illegal instruction on an H200; and
// a float32 call past 200 MB, a quarter of the L2's limit, would not take it.
// Aim: the float32 read ceiling; per warp and 8-key tile of D 128 (8 KB): 256 FFMA (q . k and
// P V), 13 shuffles, 32 shared loads, 16 copies (the loop's SASS 866 -> 677 instructions, nhd).
// H200 (2026-12-02, HQ 32 / HKV 8, D 128, page 16, kernel time by graph replay, read ceiling
// 4.31 TB/s in the same run): pal 1.42 / 3.13 / 3.96 / 4.12 TB/s at 1 / 8 / 32 / 64 x 4096 (33 /
// 73 / 92 / 96%), nhd 1.44 / 3.26 / 4.14 / 4.31 (33 / 76 / 96 / 100%); the v19 kernel pal 31 /
// 69 / 87 / 91%, nhd 32 / 68 / 81 / 83%. v20 in docs/kernels.md.
#pragma once
#include "pal/decode.cuh"
#include "pal/layout.cuh"
#include "pal/mma.cuh"

namespace pal {

// Shape (chosen by the host, `cuda/decode.rs`, which mirrors SHARED_BYTES).
template <int HEAD_DIM, int HEADS, int WARPS, int STAGES> struct DecodeRowsTile {
  static_assert(HEADS == 4 || HEADS == 8, "32 or 64 scores a tile: whole reduce-scatters");
  static constexpr int KEYS = 8;                           // keys per warp tile
  static constexpr int QUADS = HEAD_DIM / 4;               // 16-byte quads of a row
  static constexpr int LANE_QUADS = (QUADS + 31) / 32;     // quads a lane owns in P V
  // q . k: the warp's lanes in KEY_GROUPS groups of GROUP_LANES, group kg taking keys
  // [kg KEY_LANES, (kg + 1) KEY_LANES) over the quads c = lane % GROUP_LANES + GROUP_LANES j: as
  // many groups as keep a lane's queries within 64 registers (fewer groups hold more partial
  // sums to reduce: 32 a lane and 31 shuffles with one group, 8 and 7 with four).
  static constexpr int KEY_GROUPS = HEADS * HEAD_DIM <= 512 ? 4 : HEADS * HEAD_DIM <= 1024 ? 2 : 1;
  static constexpr int GROUP_LANES = 32 / KEY_GROUPS;
  static constexpr int KEY_LANES = KEYS / KEY_GROUPS;      // keys a lane scores
  static constexpr int SCORE_QUADS = (QUADS + GROUP_LANES - 1) / GROUP_LANES;
  static constexpr int LANE_DIMS = (HEAD_DIM + 31) / 32;   // dims a lane owns (pal values)
  static constexpr int TILE = KEYS * HEAD_DIM;             // floats of a K or a V tile
  static constexpr int SCRATCH = HEADS * KEYS + HEADS;     // a warp's weights and rescale factors
  // The warps' scratch, rounded up to 128 bytes so that the ring's rows start on 128-byte lines
  // (36 floats a warp at 4 heads left them 64 bytes off: twice the shared wavefronts per copy).
  static constexpr int SCRATCHES = (WARPS * SCRATCH + 31) / 32 * 32;
  static constexpr int RING = WARPS * STAGES * 2 * TILE;
  static constexpr int MERGE = WARPS * HEADS * (HEAD_DIM + 2);
  static constexpr int SHARED_BYTES = (SCRATCHES + (RING > MERGE ? RING : MERGE)) * 4;
  // Page ids read this many tiles before their copies are issued (one tile ahead left the
  // warps waiting on the id's load: ncu's long-scoreboard stalls at a branch on it). The
  // queue's moves still wait on its newest load (SASS: MOV of the last entry at the loop's
  // top), so an id's load has about a tile to land, as before; the loop unrolled by IDS_AHEAD,
  // which lets each load land tiles ahead, ran 0.99x (H200, 2026-12-02): the ids' wait is not
  // what bounds the loop.
  static constexpr int IDS_AHEAD = 4;
};

// Lane l's sum over its aligned group of N lanes of every lane's v[l % N] (the upper half of
// what is left goes to the lanes with bit OFFSET set, the lower half to the others, until one
// value is left).
template <int OFFSET, int N, int SIZE> __device__ __forceinline__ void reduce_scatter_step(float (&v)[SIZE], int lane) {
  if constexpr (OFFSET > 0) {
    const bool upper = lane & OFFSET;
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const float keep = upper ? v[i + N / 2] : v[i], send = upper ? v[i] : v[i + N / 2];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, OFFSET);
    }
    reduce_scatter_step<OFFSET / 2, N / 2, SIZE>(v, lane);
  }
}

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int HEADS, int WARPS, int STAGES>
__device__ void decode_rows(const DecodeParams& p) {
  static_assert(SAME_TYPE<T, float>, "float32 queries over float32 pools");
  allow_dependent_launch();  // the split merge may start its CTAs (they wait for this grid)
  using Tile = DecodeRowsTile<HEAD_DIM, HEADS, WARPS, STAGES>;
  constexpr int KEYS = Tile::KEYS, QUADS = Tile::QUADS, LQ = Tile::LANE_QUADS, LD = Tile::LANE_DIMS;
  constexpr int TILE = Tile::TILE, SCRATCH = Tile::SCRATCH, GROUPS = HEADS / 4;
  constexpr int GL = Tile::GROUP_LANES, KL = Tile::KEY_LANES, SQ = Tile::SCORE_QUADS;
  // The lanes holding one head's scores differ in the bits of lane % KL and of lane / GL.
  constexpr int HB1 = 1, HB2 = KL >= 4 ? 2 : GL, HB3 = KL >= 8 ? 4 : 16;
  constexpr bool PAL = LAYOUT == LAYOUT_PAL;
  constexpr int ACC = PAL ? LD : 4 * LQ;  // accumulators a lane holds per head
  // pal values: copies of 4 slots of a dim, or of a page's slots where a page holds fewer.
  constexpr int V_VEC = PAGE_SIZE < 4 ? PAGE_SIZE : 4;
  static_assert(HEAD_DIM % 16 == 0, "a tile's K and V copies are whole warps of vectors");

  extern __shared__ __align__(16) float shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // q . k's key group, and the (head 4 g + score_head, key score_key) a lane scores for each
  // group g of 4 heads once the group's partial sums are reduced.
  const int key_group = lane / GL, score_head = lane % GL / KL, score_key = key_group * KL + lane % KL;
  float* scratch = shared + warp * SCRATCH;
  // (pal pages of 4: the ring 64 bytes off a line where the scratch leaves it so, as in v19:
  // 1.06-1.07x the whole-line ring at 8 / 32 x 4096 there, H200 2026-12-02; every other row
  // ran 0.95x that way)
  float* const ring_base = shared + (PAL && PAGE_SIZE == 4 ? WARPS * SCRATCH : Tile::SCRATCHES);
  float* ring = ring_base + warp * STAGES * 2 * TILE;

  const DecodeTask task = DecodeTask::locate<PAGE_SIZE, Variant, KEYS>(p);
  const int heads = task.heads, first = task.first, end = task.end, kv_head = task.kv_head;
  auto visible = [&](int key) { return key >= first && key < end; };
  const PageRow<PAGE_SIZE> pages(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const float* k_cache = (const float*)p.k_cache;
  const float* v_cache = (const float*)p.v_cache;
  const CacheAddress<LAYOUT, float> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  const float log2_scale = p.scale * LOG2E;

  // The queries of the lane's q . k quads (zeros past the CTA's heads or the row).
  float q[HEADS][SQ][4];
#pragma unroll
  for (int h = 0; h < HEADS; ++h)
#pragma unroll
    for (int i = 0; i < SQ; ++i) {
      const int c = lane % GL + GL * i;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (h < heads && c < QUADS) x = *(const float4*)((const float*)p.queries + task.row(p, h) * HEAD_DIM + 4 * c);
      q[h][i][0] = x.x, q[h][i][1] = x.y, q[h][i][2] = x.z, q[h][i][3] = x.w;
    }
  float slope[GROUPS];
#pragma unroll
  for (int g = 0; g < GROUPS; ++g) {
    const int h = 4 * g + score_head;
    slope[g] = h < heads ? Variant::slope(p.variant, task.first_head + h) : 0.f;
  }
  SoftmaxState state[GROUPS];
#pragma unroll
  for (int g = 0; g < GROUPS; ++g) state[g] = SoftmaxState::empty();
  float acc[HEADS][ACC];
#pragma unroll
  for (int h = 0; h < HEADS; ++h)
#pragma unroll
    for (int a = 0; a < ACC; ++a) acc[h][a] = 0.f;

  // This warp's tiles: tile j starts at key begin + (warp + j WARPS) KEYS.
  const int tiles = task.end > task.begin ? (task.end - task.begin + KEYS - 1) / KEYS : 0;
  const int count = tiles > warp ? (tiles - warp + WARPS - 1) / WARPS : 0;
  auto tile_start = [&](int j) { return task.begin + (warp + j * WARPS) * KEYS; };

  // The page id a lane needs for tile `tile`: the tile's page where a page holds a whole tile
  // (tiles never straddle pages then), else that of the lane's key lane % KEYS; -1 (no read)
  // where that key is past the sequence or on a page before the window's first (a hidden key on
  // the first key's page has its page: a pal value copy of a few slots may hold both). `raw_id`
  // reads it IDS_AHEAD tiles ahead, `page_id` checks it (reporting a bad one) when the copies
  // need it.
  const int first_page_key = first / PAGE_SIZE * PAGE_SIZE;
  auto id_key = [&](int tile) { return PAGE_SIZE >= KEYS ? max(tile, first) : tile + lane % KEYS; };
  auto readable = [&](int tile, int key) { return tile < end && key >= first_page_key && key < end; };
  auto raw_id = [&](int tile) {
    const int key = id_key(tile);
    return readable(tile, key) ? pages.pages[key / PAGE_SIZE] : -1;
  };
  auto page_id = [&](int tile, int id) {
    const int key = id_key(tile);
    return readable(tile, key) ? pages.checked(id, key, p.errors, OP_DECODE) : -1;
  };

  // Copy plans: copy k of a tile at a lane-constant offset plus a step known at compile time,
  // from a page's base taken once a tile where one page holds the copies' keys (the v19 kernel
  // built each copy's 64-bit address from its key: 866 instructions a tile at nhd D 128).
  // pal K: copy k takes quad lane / 8 + 4 k of key lane % 8, to [quad][key ^ quad % 8].
  const int k_lane = (lane / KEYS * PAGE_SIZE + lane % KEYS % PAGE_SIZE) * 4;
  auto k_to = [&](int k) { return lane / KEYS * 32 + 128 * k + ((lane % KEYS) ^ (lane / KEYS) ^ (k & 1) * 4) * 4; };
  // pal V: copy k takes V_VEC slots from slot v_slot of dim lane / R + (32 / R) k, to [dim][key]
  // (4-key halves swapped on dims 4..7 mod 8).
  constexpr int R = KEYS / V_VEC;
  const int v_slot = lane % R * V_VEC, v_lane = lane / R * PAGE_SIZE + (PAGE_SIZE >= KEYS ? v_slot : 0);
  auto v_to = [&](int k) {
    const int d = lane / R + 32 / R * k;
    return d * KEYS + ((v_slot / 4) ^ ((d >> 2) & 1)) * 4 + v_slot % 4;
  };
  // nhd / hnd rows: copy k takes quad c of key t (i = lane + 32 k), to [key][dim]; where QUADS
  // divides 32 or 32 divides QUADS, (t, c) is (lane / QUADS, lane % QUADS) plus a constant.
  constexpr bool ALIGNED = 32 % QUADS == 0 || QUADS % 32 == 0;
  auto row_key = [&](int k) { return ALIGNED ? (QUADS < 32 ? lane / QUADS : 0) + 32 * k / QUADS : (lane + 32 * k) / QUADS; };
  auto row_quad = [&](int k) { return ALIGNED ? (QUADS < 32 ? lane % QUADS : lane) + 32 * k % QUADS : (lane + 32 * k) % QUADS; };

  // Copies of tile `tile` into ring slot `slot` (zeros from pages that are not). Tiles start at
  // multiples of KEYS: a page of KEYS slots or more holds the whole tile, from slot first_slot.
  auto issue = [&](int tile, int slot, int page) {
    float* k_tile = ring + slot * 2 * TILE;
    float* v_tile = k_tile + TILE;
    if (tile < end) {
      const int first_slot = PAGE_SIZE >= KEYS ? (unsigned)tile % PAGE_SIZE : 0;
      if constexpr (PAL) {
        // Every copy of a lane reads one page: the lane's key's (K), slot v_slot's (V).
        const float* k_page = k_cache + at.key(max(page, 0), kv_head, 0, 0) + first_slot * 4 + k_lane;
#pragma unroll
        for (int k = 0; k < QUADS / 4; ++k) copy_async<16>(k_tile + k_to(k), k_page + 16 * PAGE_SIZE * k, page >= 0 ? 16 : 0);
        const int pg = PAGE_SIZE >= KEYS ? page : __shfl_sync(0xffffffffu, page, v_slot);
        const float* v_page = v_cache + at.value(max(pg, 0), kv_head, 0, 0) + first_slot + v_lane;
#pragma unroll
        for (int k = 0; k < HEAD_DIM * R / 32; ++k)
          copy_async<V_VEC * 4>(v_tile + v_to(k), v_page + 32 / R * PAGE_SIZE * k, pg >= 0 ? V_VEC * 4 : 0);
      } else {
        // (K and V share their addresses; all of K first, then V: interleaving them lost 7-12%
        // at head dims 64 and 96.)
        i64 at_copy[QUADS / 4];
        bool readable_copy[QUADS / 4];
#pragma unroll
        for (int k = 0; k < QUADS / 4; ++k) {
          const int t = row_key(k), c = row_quad(k);
          const int pg = PAGE_SIZE >= KEYS ? page : __shfl_sync(0xffffffffu, page, t);
          const int slot_t = PAGE_SIZE >= KEYS ? first_slot + t : t % PAGE_SIZE;
          at_copy[k] = (i64)at.key(max(pg, 0), kv_head, 0, 0) + at.key_in_page(slot_t, 4 * c);
          readable_copy[k] = pg >= 0;
          copy_async<16>(k_tile + 4 * (lane + 32 * k), k_cache + at_copy[k], readable_copy[k] ? 16 : 0);
        }
#pragma unroll
        for (int k = 0; k < QUADS / 4; ++k)
          copy_async<16>(v_tile + 4 * (lane + 32 * k), v_cache + at_copy[k], readable_copy[k] ? 16 : 0);
      }
    }
    copy_async_commit();  // (empty past the warp's tiles: the waits count groups)
  };

  // Whether the page of the lane's score key (lane % KEYS) was valid, one bit per ring slot.
  unsigned valid = 0;
  auto record = [&](int slot, int page) { valid = (valid & ~(1u << slot)) | (unsigned)(page >= 0) << slot; };
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    const int tile = tile_start(s), page = s < count ? page_id(tile, raw_id(tile)) : -1;
    record(s, page);
    issue(s < count ? tile : end, s, page);
  }
  // ids[a]: the lane's page id for the tile STAGES - 1 + a ahead of the current one.
  constexpr int AHEAD = Tile::IDS_AHEAD;
  int ids[AHEAD];
#pragma unroll
  for (int a = 0; a < AHEAD; ++a) ids[a] = raw_id(tile_start(STAGES - 1 + a));  // (-1 past the tiles)

  for (int j = 0; j < count; ++j) {
    {  // the tile STAGES - 1 ahead, into the slot tile j - 1 left
      const int ahead = j + STAGES - 1, slot = ahead % STAGES, tile = tile_start(ahead);
      const int page = ahead < count ? page_id(tile, ids[0]) : -1;
      record(slot, page);
      issue(ahead < count ? tile : end, slot, page);
#pragma unroll
      for (int a = 0; a + 1 < AHEAD; ++a) ids[a] = ids[a + 1];
      ids[AHEAD - 1] = raw_id(tile_start(ahead + AHEAD));
    }
    copy_async_wait<STAGES - 1>();
    __syncwarp();  // every lane's copies of tile j have landed

    const int tile = tile_start(j), slot = j % STAGES;
    const float* k_tile = ring + slot * 2 * TILE;
    float* v_tile = ring + slot * 2 * TILE + TILE;
    if (tile < first || tile + KEYS > end) {
      // Hidden keys' values may hold anything (even NaN bits, which a zero weight keeps): zeros.
      for (int e = lane; e < TILE; e += 32) {
        const int t = PAL ? e % KEYS : e / HEAD_DIM, d = PAL ? e / KEYS : e % HEAD_DIM;
        if (!visible(tile + t)) v_tile[PAL ? d * KEYS + ((t / 4) ^ ((d >> 2) & 1)) * 4 + t % 4 : t * HEAD_DIM + d] = 0.f;
      }
      __syncwarp();
    }

    // q . k: partial sums over the lane's quads of its group's keys, (head, key) at h KL + x for
    // key key_group KL + x. A read's 8 lanes take 8 quads of one key: conflict-free.
    float part[HEADS * KL];
#pragma unroll
    for (int x = 0; x < HEADS * KL; ++x) part[x] = 0.f;
#pragma unroll
    for (int x = 0; x < KL; ++x)
#pragma unroll
      for (int i = 0; i < SQ; ++i) {
        const int c = lane % GL + GL * i, t = key_group * KL + x;
        if (QUADS % GL != 0 && c >= QUADS) continue;
        const float4 k4 = *(const float4*)(PAL ? k_tile + (c * KEYS + (t ^ (c & 7))) * 4 : k_tile + t * HEAD_DIM + 4 * c);
#pragma unroll
        for (int h = 0; h < HEADS; ++h) {
          float s = part[h * KL + x];
          s = fmaf(q[h][i][0], k4.x, s);
          s = fmaf(q[h][i][1], k4.y, s);
          s = fmaf(q[h][i][2], k4.z, s);
          part[h * KL + x] = fmaf(q[h][i][3], k4.w, s);
        }
      }

    // Scores (a reduce-scatter over each key group's lanes), then the 8 lanes of each head fold
    // them into its state; weights and rescale factors to the scratch.
    const int key = tile + score_key;
    // (`valid` holds the page of key lane % KEYS where pages are under a tile.)
    const unsigned key_valid = PAGE_SIZE >= KEYS || GL == 32 ? valid : __shfl_sync(0xffffffffu, valid, score_key);
    const bool seen = visible(key) && (key_valid >> slot & 1u);
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) {
      float v[GL];
#pragma unroll
      for (int x = 0; x < GL; ++x) v[x] = part[GL * g + x];
      reduce_scatter_step<GL / 2, GL, GL>(v, lane);
      const int h = 4 * g + score_head;
      float s = v[0] * log2_scale;
      if constexpr (Variant::TRANSFORMS_SCORES) s = Variant::logit(p.variant, v[0] * p.scale, key, task.length - 1, slope[g]) * LOG2E;
      s = seen ? s : neg_inf();
      const float factor = state[g].rescale(lanes8_max<HB1, HB2, HB3>(s));
      const float w = fast_exp2(s - state[g].base());
      state[g].sum += lanes8_sum<HB1, HB2, HB3>(w);
      scratch[h * KEYS + score_key] = w;
      if (score_key == 0) scratch[HEADS * KEYS + h] = factor;
    }
    __syncwarp();

    // P V.
#pragma unroll
    for (int h = 0; h < HEADS; ++h) {
      const float factor = scratch[HEADS * KEYS + h];
      const float4 w0 = *(const float4*)(scratch + h * KEYS), w1 = *(const float4*)(scratch + h * KEYS + 4);
      const float w[KEYS] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
      if (factor != 1.f)  // (the same for every lane; most tiles leave the max where it was)
#pragma unroll
        for (int a = 0; a < ACC; ++a) acc[h][a] *= factor;
      if constexpr (PAL) {
#pragma unroll
        for (int i = 0; i < LD; ++i) {
          const int d = lane + 32 * i;
          if (HEAD_DIM % 32 != 0 && d >= HEAD_DIM) continue;
#pragma unroll
          for (int half = 0; half < 2; ++half) {
            const float4 v4 = *(const float4*)(v_tile + d * KEYS + (half ^ ((d >> 2) & 1)) * 4);
            acc[h][i] = fmaf(w[4 * half], v4.x, acc[h][i]);
            acc[h][i] = fmaf(w[4 * half + 1], v4.y, acc[h][i]);
            acc[h][i] = fmaf(w[4 * half + 2], v4.z, acc[h][i]);
            acc[h][i] = fmaf(w[4 * half + 3], v4.w, acc[h][i]);
          }
        }
      } else {
#pragma unroll
        for (int k = 0; k < KEYS; ++k)
#pragma unroll
          for (int i = 0; i < LQ; ++i) {
            const int c = lane + 32 * i;
            if (QUADS % 32 != 0 && c >= QUADS) continue;
            const float4 v4 = *(const float4*)(v_tile + k * HEAD_DIM + 4 * c);
            acc[h][4 * i] = fmaf(w[k], v4.x, acc[h][4 * i]);
            acc[h][4 * i + 1] = fmaf(w[k], v4.y, acc[h][4 * i + 1]);
            acc[h][4 * i + 2] = fmaf(w[k], v4.z, acc[h][4 * i + 2]);
            acc[h][4 * i + 3] = fmaf(w[k], v4.w, acc[h][4 * i + 3]);
          }
      }
    }
    __syncwarp();  // the slot and the scratch are free for the next copies and weights
  }
  copy_async_wait<0>();
  __syncthreads();  // every warp is done with its ring: the merge reuses it

  // The warps' states: accumulators [warp][head][dim], then (max, sum) [warp][head].
  float* merged = ring_base;
  float* states = merged + WARPS * HEADS * HEAD_DIM;
#pragma unroll
  for (int h = 0; h < HEADS; ++h) {
    float* row = merged + (warp * HEADS + h) * HEAD_DIM;
    if constexpr (PAL) {
#pragma unroll
      for (int i = 0; i < LD; ++i)
        if (HEAD_DIM % 32 == 0 || lane + 32 * i < HEAD_DIM) row[lane + 32 * i] = acc[h][i];
    } else {
#pragma unroll
      for (int i = 0; i < LQ; ++i)
        if (QUADS % 32 == 0 || lane + 32 * i < QUADS)
          *(float4*)(row + 4 * (lane + 32 * i)) = make_float4(acc[h][4 * i], acc[h][4 * i + 1], acc[h][4 * i + 2], acc[h][4 * i + 3]);
    }
  }
  if (score_key == 0)
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) {
      const int h = 4 * g + score_head;
      states[(warp * HEADS + h) * 2] = state[g].max;
      states[(warp * HEADS + h) * 2 + 1] = state[g].sum;
    }
  __syncthreads();

  // Head h's total over the warps, in warp order.
  auto total = [&](int h) {
    SoftmaxState all{neg_inf(), 0.f};
#pragma unroll
    for (int w = 0; w < WARPS; ++w) all.max = fmaxf(all.max, states[(w * HEADS + h) * 2]);
#pragma unroll
    for (int w = 0; w < WARPS; ++w) all.sum += states[(w * HEADS + h) * 2 + 1] * merge_weight(states[(w * HEADS + h) * 2], all.max);
    return all;
  };
  for (int item = threadIdx.x; item < heads * QUADS; item += WARPS * 32) {
    const int h = item / QUADS, c = item % QUADS;
    const SoftmaxState all = total(h);
    float out[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int w = 0; w < WARPS; ++w) {
      const float weight = merge_weight(states[(w * HEADS + h) * 2], all.max);
      const float4 a = *(const float4*)(merged + (w * HEADS + h) * HEAD_DIM + 4 * c);
      out[0] += a.x * weight, out[1] += a.y * weight, out[2] += a.z * weight, out[3] += a.w * weight;
    }
    store_decode_row<T, 4>(p, task.row(p, h), task.split, HEAD_DIM, 4 * c, out,
                           all.inverse_sum(Variant::sink(p.variant, task.first_head + h)));
  }
  if (threadIdx.x < heads) store_decode_state(p, task.row(p, threadIdx.x), task.split, total(threadIdx.x));
}

}  // namespace pal
