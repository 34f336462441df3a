// Paged decode on CUDA cores over float32 pools (float32 queries).
//
// Work split: a CTA of WARPS warps serves up to HEADS query heads of one KV head over one KV
// split (`DecodeTask`). Each warp streams its own tiles of KEYS keys (tiles warp, warp + WARPS,
// ...) through a private STAGES-deep cp.async ring, the page ids read a tile before their copies:
// no CTA barrier in the loop (the v0 kernel, still `decode_simt` for fp8 pools, staged tiles
// through registers behind four barriers a tile). The warps' softmax states merge once, at the
// end, in shared memory, in warp order (deterministic).
// In a warp, lane l owns the 16-byte quads l, l + 32, ... of a row. q . k leaves each lane
// HEADS x KEYS partial dot products, summed over the warp by reduce-scatters of 32 (31
// shuffles each, lane l ending with the whole sum of (head l / 8, key l % 8)); an 8-lane group
// then folds one head's scores into its running (max, sum), and the weights reach every lane
// through the warp's scratch for P V, where a lane owns quads of the value rows (nhd / hnd) or the
// dims l, l + 32, ... (pal, whose values are [dim][slot]).
// Shared tiles: nhd / hnd K and V as [key][dim] rows, pal K as [quad][key] (keys XOR quad % 8,
// as a read's 8 lanes take 8 quads of one key), pal V as [dim][key] (the two 4-key halves
// swapped on dims 4..7 mod 8): every read and copy conflict-free.
// Traffic: K and V of each visible token once, in 16-byte copies (pal values in pages of 1 or 2
// slots: 4- or 8-byte copies); Q once. No evict-first hint (as the tensor-core decode's small
// calls take): NVRTC 13.0 put that policy's descriptor of one copy in an odd uniform register at
// head dim 256 (`nhd` / `hnd`, pages of 8+), an illegal instruction on an H200; and a float32
// call past 200 MB, a quarter of the L2's limit, would not take it.
// Aim: the float32 read ceiling; per warp and 8-key tile of D 128 (8 KB): 256 FFMA (q . k and
// P V), 37 shuffles, 25 shared loads, 16 copies. H200 (2026-12-02, HQ 32 / HKV 8, D 128, page 16,
// kernel time by graph replay, read ceiling 4.31 TB/s in the same run): pal 1.34 / 2.99 / 3.74 /
// 3.90 TB/s at 1 / 8 / 32 / 64 x 4096 (31 / 69 / 87 / 90%; the v0 kernel 0.70 / 1.89 / 1.69 /
// 2.18 against 4.37), nhd 1.37 / 2.93 / 3.49 / 3.57 (v0 1.01 / 2.38 / 2.79 / 2.90); v19 in
// docs/kernels.md.
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
  static constexpr int LANE_QUADS = (QUADS + 31) / 32;     // quads a lane owns
  static constexpr int LANE_DIMS = (HEAD_DIM + 31) / 32;   // dims a lane owns (pal values)
  static constexpr int TILE = KEYS * HEAD_DIM;             // floats of a K or a V tile
  static constexpr int SCRATCH = HEADS * KEYS + HEADS;     // a warp's weights and rescale factors
  static constexpr int RING = WARPS * STAGES * 2 * TILE;
  static constexpr int MERGE = WARPS * HEADS * (HEAD_DIM + 2);
  static constexpr int SHARED_BYTES = (WARPS * SCRATCH + (RING > MERGE ? RING : MERGE)) * 4;
};

// Lane l's sum over the warp of every lane's v[l] (the upper half of what is left goes to the
// lanes with bit OFFSET set, the lower half to the others, until one value is left).
template <int OFFSET, int N> __device__ __forceinline__ void reduce_scatter_step(float (&v)[32], int lane) {
  if constexpr (OFFSET > 0) {
    const bool upper = lane & OFFSET;
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const float keep = upper ? v[i + N / 2] : v[i], send = upper ? v[i] : v[i + N / 2];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, OFFSET);
    }
    reduce_scatter_step<OFFSET / 2, N / 2>(v, lane);
  }
}

// Max and sum over the 8 lanes of a group (lanes 8g .. 8g + 7).
__device__ __forceinline__ float group8_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
}
__device__ __forceinline__ float group8_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  x += __shfl_xor_sync(0xffffffffu, x, 2);
  return x + __shfl_xor_sync(0xffffffffu, x, 4);
}

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int HEADS, int WARPS, int STAGES>
__device__ void decode_rows(const DecodeParams& p) {
  static_assert(SAME_TYPE<T, float>, "float32 queries over float32 pools");
  allow_dependent_launch();  // the split merge may start its CTAs (they wait for this grid)
  using Tile = DecodeRowsTile<HEAD_DIM, HEADS, WARPS, STAGES>;
  constexpr int KEYS = Tile::KEYS, QUADS = Tile::QUADS, LQ = Tile::LANE_QUADS, LD = Tile::LANE_DIMS;
  constexpr int TILE = Tile::TILE, SCRATCH = Tile::SCRATCH, GROUPS = HEADS / 4;
  constexpr bool PAL = LAYOUT == LAYOUT_PAL;
  constexpr int ACC = PAL ? LD : 4 * LQ;  // accumulators a lane holds per head
  // pal values: copies of 4 slots of a dim, or of a page's slots where a page holds fewer.
  constexpr int V_VEC = PAGE_SIZE < 4 ? PAGE_SIZE : 4;
  static_assert(HEAD_DIM % 16 == 0, "a tile's K and V copies are whole warps of vectors");

  extern __shared__ __align__(16) float shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* scratch = shared + warp * SCRATCH;
  float* ring = shared + WARPS * SCRATCH + warp * STAGES * 2 * TILE;

  const DecodeTask task = DecodeTask::locate<PAGE_SIZE, Variant, KEYS>(p);
  const int heads = task.heads, first = task.first, end = task.end, kv_head = task.kv_head;
  auto visible = [&](int key) { return key >= first && key < end; };
  const PageRow<PAGE_SIZE> pages(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const float* k_cache = (const float*)p.k_cache;
  const float* v_cache = (const float*)p.v_cache;
  const CacheAddress<LAYOUT, float> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  const float log2_scale = p.scale * LOG2E;

  // The queries of the lane's quads (zeros past the CTA's heads or the row).
  float q[HEADS][LQ][4];
#pragma unroll
  for (int h = 0; h < HEADS; ++h)
#pragma unroll
    for (int i = 0; i < LQ; ++i) {
      const int c = lane + 32 * i;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (h < heads && c < QUADS) x = *(const float4*)((const float*)p.queries + task.row(p, h) * HEAD_DIM + 4 * c);
      q[h][i][0] = x.x, q[h][i][1] = x.y, q[h][i][2] = x.z, q[h][i][3] = x.w;
    }
  // The lane's score is (head 4 g + lane / 8, key lane % 8) of each group g of 4 heads.
  float slope[GROUPS];
#pragma unroll
  for (int g = 0; g < GROUPS; ++g) {
    const int h = 4 * g + lane / 8;
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
  // reads it a tile ahead, `page_id` checks it (reporting a bad one) when the copies need it.
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

  // Copies of tile `tile` into ring slot `slot` (zeros from pages that are not).
  auto issue = [&](int tile, int slot, int page) {
    float* k_tile = ring + slot * 2 * TILE;
    float* v_tile = k_tile + TILE;
    if (tile < end) {
#pragma unroll
      for (int k = 0; k < KEYS * QUADS / 32; ++k) {
        const int i = lane + 32 * k;
        const int t = PAL ? i % KEYS : i / QUADS, c = PAL ? i / KEYS : i % QUADS;
        const int pg = PAGE_SIZE >= KEYS || PAL ? page : __shfl_sync(0xffffffffu, page, t);
        float* to = PAL ? k_tile + (c * KEYS + (t ^ (c & 7))) * 4 : k_tile + t * HEAD_DIM + 4 * c;
        copy_async<16>(to, k_cache + at.key(max(pg, 0), kv_head, (tile + t) % PAGE_SIZE, 4 * c),
                                    pg >= 0 ? 16 : 0);
      }
      if constexpr (PAL) {
#pragma unroll
        for (int k = 0; k < HEAD_DIM * (KEYS / V_VEC) / 32; ++k) {
          const int i = lane + 32 * k;
          const int d = i / (KEYS / V_VEC), t = i % (KEYS / V_VEC) * V_VEC;
          const int pg = PAGE_SIZE >= KEYS ? page : __shfl_sync(0xffffffffu, page, t);
          float* to = v_tile + d * KEYS + ((t / 4) ^ ((d >> 2) & 1)) * 4 + t % 4;
          copy_async<V_VEC * 4>(to, v_cache + at.value(max(pg, 0), kv_head, (tile + t) % PAGE_SIZE, d),
                                             pg >= 0 ? V_VEC * 4 : 0);
        }
      } else {
#pragma unroll
        for (int k = 0; k < KEYS * QUADS / 32; ++k) {
          const int i = lane + 32 * k;
          const int t = i / QUADS, c = i % QUADS;
          const int pg = PAGE_SIZE >= KEYS ? page : __shfl_sync(0xffffffffu, page, t);
          copy_async<16>(v_tile + t * HEAD_DIM + 4 * c,
                                      v_cache + at.value(max(pg, 0), kv_head, (tile + t) % PAGE_SIZE, 4 * c),
                                      pg >= 0 ? 16 : 0);
        }
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
  int next_id = STAGES - 1 < count ? raw_id(tile_start(STAGES - 1)) : -1;

  for (int j = 0; j < count; ++j) {
    {  // the tile STAGES - 1 ahead, into the slot tile j - 1 left
      const int ahead = j + STAGES - 1, slot = ahead % STAGES, tile = tile_start(ahead);
      const int page = ahead < count ? page_id(tile, next_id) : -1;
      record(slot, page);
      issue(ahead < count ? tile : end, slot, page);
      next_id = ahead + 1 < count ? raw_id(tile_start(ahead + 1)) : -1;
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

    // q . k: partial sums over the lane's quads, (head, key) at h KEYS + t.
    float part[HEADS * KEYS];
#pragma unroll
    for (int x = 0; x < HEADS * KEYS; ++x) part[x] = 0.f;
#pragma unroll
    for (int t = 0; t < KEYS; ++t)
#pragma unroll
      for (int i = 0; i < LQ; ++i) {
        const int c = lane + 32 * i;
        if (QUADS % 32 != 0 && c >= QUADS) continue;
        const float4 k4 = *(const float4*)(PAL ? k_tile + (c * KEYS + (t ^ (c & 7))) * 4 : k_tile + t * HEAD_DIM + 4 * c);
#pragma unroll
        for (int h = 0; h < HEADS; ++h) {
          float s = part[h * KEYS + t];
          s = fmaf(q[h][i][0], k4.x, s);
          s = fmaf(q[h][i][1], k4.y, s);
          s = fmaf(q[h][i][2], k4.z, s);
          part[h * KEYS + t] = fmaf(q[h][i][3], k4.w, s);
        }
      }

    // Scores, then each head's 8-lane group folds them into its state; weights and rescale
    // factors to the scratch.
    const int t = lane % KEYS, key = tile + t;
    const bool seen = visible(key) && (valid >> slot & 1u);
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) {
      float v[32];
#pragma unroll
      for (int x = 0; x < 32; ++x) v[x] = part[32 * g + x];
      reduce_scatter_step<16, 32>(v, lane);
      const int h = 4 * g + lane / 8;
      float s = v[0] * log2_scale;
      if constexpr (Variant::TRANSFORMS_SCORES) s = Variant::logit(p.variant, v[0] * p.scale, key, task.length - 1, slope[g]) * LOG2E;
      s = seen ? s : neg_inf();
      const float factor = state[g].rescale(group8_max(s));
      const float w = fast_exp2(s - state[g].base());
      state[g].sum += group8_sum(w);
      scratch[h * KEYS + t] = w;
      if (t == 0) scratch[HEADS * KEYS + h] = factor;
    }
    __syncwarp();

    // P V.
#pragma unroll
    for (int h = 0; h < HEADS; ++h) {
      const float factor = scratch[HEADS * KEYS + h];
      const float4 w0 = *(const float4*)(scratch + h * KEYS), w1 = *(const float4*)(scratch + h * KEYS + 4);
      const float w[KEYS] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
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
  float* merged = shared + WARPS * SCRATCH;
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
  if (lane % KEYS == 0)
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) {
      const int h = 4 * g + lane / 8;
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
