// Paged decode on TF32 tensor cores over float32 pools, for groups of 16 query heads a KV head
// and more (float32 queries).
//
// Why: on CUDA cores a group of 32 heads costs 8 FFMA per byte of float32 K / V, an H200's whole
// FFMA rate at its read ceiling (`decode_rows` reached 26-28% of it at MQA).
// Work split: a CTA of WARPS warps serves 8 WARPS query heads of one KV head over one KV split
// (`DecodeTask`), warp w heads 8 w .. 8 w + 7. All threads copy each 16-key tile of K and V into
// a STAGES-deep cp.async ring that every warp reads (one barrier a tile; the page ids read a tile
// before their copies). Per warp and tile, S^T = K Q^T (rows: the tile's keys, columns: the
// warp's heads) and O^T += V^T P^T (rows: dims) run as m16n8k8 TF32 mma in 3xTF32 (`Tf32`,
// mma.cuh): float32 accuracy, 96 mma a tile at head dim 128. The weights go from S^T's
// accumulators to P^T's B fragments by 8 shuffles. No merge between warps (their heads differ).
// Fragment maps (lane = 4 g + t; free permutations of the mma's rows and k, chosen so that every
// shared read is a conflict-free 16-byte load): S^T row g is key 2 g of the tile, row g + 8 key
// 2 g + 1; a K read gives dims 16 c + 4 t .. + 3 (k-steps 2 c and 2 c + 1, Q's B fragments in the
// same order); P V's k-step ks takes keys 4 t + 2 ks (k = t) and 4 t + 2 ks + 1 (k = t + 4).
// Shared tiles: K and nhd / hnd V as [key][dim] rows, their 16-byte chunks XOR `row_swizzle`; pal K
// as [chunk][key] (as in its pages), keys XOR `chunk_swizzle`; pal V as [dim][key].
// Traffic: K and V of each visible token once, in 16-byte copies (pal values in pages of 1 or 2
// slots: 4- or 8-byte copies); Q once. Aim: the float32 read ceiling; per warp and 16-key tile
// at D 128: 96 mma, 128 splits of two ALU ops, 32 16-byte shared reads, 10 shuffles (the loop's
// SASS: 857 instructions nhd, 825 pal).
// H200 (2026-12-02, HQ 32 / HKV 1, D 128, page 16, kernel time by graph replay, read ceiling
// 4.37-4.38 TB/s in the same runs): pal / nhd 1.02-1.03 / 1.03 TB/s at 8 x 4096, 1.94 / 1.94 at
// 32 x 4096 (44%), 2.13 / 2.13 at 64 x 4096 (49%): 1.63-1.72x the CUDA-core kernel at 32-64 x
// 4096 and 128 x 2048, 1.17-1.22x at 8 x 4096; HQ 32 / HKV 2 3.14-3.15 / 3.62-3.64 TB/s at 32 / 64
// x 4096 (72 / 83%, 1.35-1.48x); MQA at D 64 1.48-1.49 (1.61 / 2.55x). ncu (MQA 32 x 4096 nhd):
// issue 1.82 a cycle, tensor pipe 32% active, the warps' stalls mostly on fixed-latency
// dependencies (8 warps an SM at 202 registers). docs/kernels.md, v22.
#pragma once
#include "pal/decode.cuh"
#include "pal/layout.cuh"
#include "pal/mma.cuh"

namespace pal {

// Shape (chosen by the host, `cuda/decode.rs`, which mirrors SHARED_BYTES).
template <int HEAD_DIM, int WARPS, int STAGES> struct DecodeTf32Tile {
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128, "pal V fragments span 64-dim blocks; Q's pairs fit registers to 128");
  static_assert(STAGES >= 2 && STAGES <= 4, "a tile's page mask is 16 bits of a 64-bit word");
  static constexpr int KEYS = 16;            // keys per tile: S^T's rows
  static constexpr int HEADS = 8 * WARPS;    // query heads per CTA: 8 columns a warp
  static constexpr int TILE = KEYS * HEAD_DIM;  // floats of a K or a V tile
  static constexpr int SHARED_BYTES = STAGES * 2 * TILE * 4;
  // Chunk c of key `key`'s [key][dim] row is stored at chunk c ^ row_swizzle(key): the K reads'
  // 8-lane phases (keys 2 g, chunks 4 c + t) and the V reads' (keys 4 t + j, chunks 8 c + g) then
  // hit 8 distinct 16-byte bank groups.
  __device__ __forceinline__ static int row_swizzle(int key) {
    return ((key >> 2) & 1) << 1 | (((key >> 1) ^ (key >> 3)) & 1) << 2;
  }
  // Key `key` of chunk c of a pal K tile is stored at key ^ chunk_swizzle(c) (the same for K reads).
  __device__ __forceinline__ static int chunk_swizzle(int chunk) { return (chunk & 1) | (chunk & 2) << 1; }
};

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int WARPS, int STAGES>
__device__ void decode_tf32(const DecodeParams& p) {
  static_assert(SAME_TYPE<T, float>, "float32 queries over float32 pools");
  allow_dependent_launch();  // the split merge may start its CTAs (they wait for this grid)
  using Tile = DecodeTf32Tile<HEAD_DIM, WARPS, STAGES>;
  constexpr int KEYS = Tile::KEYS, D = HEAD_DIM, QUADS = D / 4, THREADS = 32 * WARPS, TILE = Tile::TILE;
  constexpr bool PAL = LAYOUT == LAYOUT_PAL;
  // pal values: copies of 4 slots of a dim, or of a page's slots where a page holds fewer.
  constexpr int V_VEC = PAGE_SIZE < 4 ? PAGE_SIZE : 4;
  constexpr int K_COPIES = KEYS * QUADS / THREADS, V_COPIES = PAL ? D * (KEYS / V_VEC) / THREADS : K_COPIES;
  static_assert(KEYS * QUADS % THREADS == 0 && D * (KEYS / V_VEC) % THREADS == 0, "whole copies a thread");

  extern __shared__ __align__(16) float shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

  const DecodeTask task = DecodeTask::locate<PAGE_SIZE, Variant, KEYS>(p);
  const int first = task.first, end = task.end, kv_head = task.kv_head;
  const PageRow<PAGE_SIZE> pages(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const float* k_cache = (const float*)p.k_cache;
  const float* v_cache = (const float*)p.v_cache;
  const CacheAddress<LAYOUT, float> at{p.num_kv_heads, D, PAGE_SIZE};
  const float log2_scale = p.scale * LOG2E;
  const u32 mask = Tf32::opaque_mask(p.num_seqs);
  // Warps past the CTA's heads copy and wait with the others, and compute nothing.
  const bool active = 8 * warp < task.heads;

  // Q^T's B fragments: head 8 warp + g, dims 16 c + 4 t .. + 3 (k-step 2 c + ks: b0 = dim 2 ks,
  // b1 = 2 ks + 1 of those four); zeros past the CTA's heads.
  Tf32 q[D / 16][4];
  {
    const int h = 8 * warp + g;
#pragma unroll
    for (int c = 0; c < D / 16; ++c) {
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (h < task.heads) x = *(const float4*)((const float*)p.queries + task.row(p, h) * D + 16 * c + 4 * t);
      q[c][0] = Tf32::split(x.x, mask), q[c][1] = Tf32::split(x.y, mask);
      q[c][2] = Tf32::split(x.z, mask), q[c][3] = Tf32::split(x.w, mask);
    }
  }
  // The lane's accumulator columns are heads 8 warp + 2 t + hh (hh = 0, 1).
  float slope[2];
  SoftmaxState state[2];
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const int h = 8 * warp + 2 * t + hh;
    slope[hh] = h < task.heads ? Variant::slope(p.variant, task.first_head + h) : 0.f;
    state[hh] = SoftmaxState::empty();
  }
  // O^T: D / 16 m-tiles of 16 dims (which dims: see the P V step).
  float acc[D / 16][4];
#pragma unroll
  for (int m = 0; m < D / 16; ++m) acc[m][0] = acc[m][1] = acc[m][2] = acc[m][3] = 0.f;

  // The lane's shared-memory read offsets (floats from a slot's tile), so that each read is a
  // register plus an immediate: K rows x / y (keys 2 g, 2 g + 1) for chunk pairs 4 c + t of even
  // and odd c (the swizzle's bit 2 meets c's lowest bit), nhd V rows 4 t + r, pal V dims of even
  // and odd m-tiles.
  int k_read[2][2], v_read[4];
#pragma unroll
  for (int row = 0; row < 2; ++row)
#pragma unroll
    for (int odd = 0; odd < 2; ++odd) {
      const int key = 2 * g + row;
      k_read[row][odd] = PAL ? (t * KEYS + (key ^ Tile::chunk_swizzle(t))) * 4
                             : key * D + 4 * ((4 * odd + t) ^ Tile::row_swizzle(key)) - 16 * odd;
    }
#pragma unroll
  for (int r = 0; r < 4; ++r)
    v_read[r] = PAL ? (4 * g + (r ^ (g & 1))) * KEYS + 4 * t : (4 * t + r) * D + 4 * (g ^ Tile::row_swizzle(4 * t + r));
  const int count = task.end > task.begin ? (task.end - task.begin + KEYS - 1) / KEYS : 0;
  auto tile_start = [&](int j) { return task.begin + j * KEYS; };

  // Each lane holds the page id of key lane % 16 of a tile; -1 (no read) past the sequence, past
  // the tiles, or on a page before the window's first (a hidden key on the first key's page has
  // its page: a pal value copy may hold both). `raw_id` reads it a tile before the copies,
  // `page_id` checks it (reporting a bad one) when they are issued.
  const int first_page_key = first / PAGE_SIZE * PAGE_SIZE;
  auto readable = [&](int tile, int key) { return tile < end && key >= first_page_key && key < end; };
  auto raw_id = [&](int tile) {
    const int key = tile + lane % KEYS;
    return readable(tile, key) ? pages.pages[key / PAGE_SIZE] : -1;
  };
  auto page_id = [&](int tile, int id) {
    const int key = tile + lane % KEYS;
    return readable(tile, key) ? pages.checked(id, key, p.errors, OP_DECODE) : -1;
  };
  // Bit t of slot s's 16: key t's page was valid (every warp holds the same word).
  u64 valid = 0;
  auto record = [&](int slot, int page) {
    const u64 bits = __ballot_sync(0xffffffffu, page >= 0) & 0xffffu;
    valid = (valid & ~(0xffffull << (16 * slot))) | bits << (16 * slot);
  };

  // Copies of tile `tile` into ring slot `slot` (zeros from pages that are not). Tiles start at
  // multiples of 16 keys, so key t sits in slot (tile + t) % PAGE_SIZE of its page. A thread's
  // copies step by whole rows from one base a tile (one page), except rows of keys on pages
  // under a tile.
  auto issue = [&](int tile, int slot, int page) {
    float* k_tile = shared + slot * 2 * TILE;
    float* v_tile = k_tile + TILE;
    if (tile < end) {
      const int first_slot = PAGE_SIZE >= KEYS ? (unsigned)tile % PAGE_SIZE : 0;
      auto slot_of = [&](int key) { return PAGE_SIZE >= KEYS ? first_slot + key : key % PAGE_SIZE; };
      if constexpr (PAL) {
        // K: key threadIdx % 16 (a copy's lanes walk the keys of a chunk, contiguous in a page),
        // chunks threadIdx / 16 + K_STEP k.
        constexpr int K_STEP = THREADS / KEYS;
        static_assert(K_STEP % 4 == 0, "a thread's chunks share their swizzle");
        const int key = threadIdx.x % KEYS, c = threadIdx.x / KEYS, pg = __shfl_sync(0xffffffffu, page, key);
        const float* k_from = k_cache + at.key(max(pg, 0), kv_head, slot_of(key), 4 * c);
        float* k_to = k_tile + (c * KEYS + (key ^ Tile::chunk_swizzle(c))) * 4;  // (c % 4 is the thread's)
#pragma unroll
        for (int k = 0; k < K_COPIES; ++k)
          copy_async<16>(k_to + K_STEP * KEYS * 4 * k, k_from + K_STEP * PAGE_SIZE * 4 * k, pg >= 0 ? 16 : 0);
        // V: V_VEC slots from key V_VEC (threadIdx % (16 / V_VEC)) of dims threadIdx / (16 / V_VEC) + V_STEP k.
        constexpr int R = KEYS / V_VEC, V_STEP = THREADS / R;
        const int v_key = threadIdx.x % R * V_VEC, d = threadIdx.x / R, v_pg = __shfl_sync(0xffffffffu, page, v_key);
        const float* v_from = v_cache + at.value(max(v_pg, 0), kv_head, slot_of(v_key), d);
#pragma unroll
        for (int k = 0; k < V_COPIES; ++k)
          copy_async<V_VEC * 4>(v_tile + (d + V_STEP * k) * KEYS + v_key, v_from + V_STEP * PAGE_SIZE * k,
                                v_pg >= 0 ? V_VEC * 4 : 0);
      } else {
        // K and V rows (the same offsets): chunk threadIdx % QUADS of keys threadIdx / QUADS + STEP k.
        constexpr int STEP = THREADS / QUADS;
        const int c = threadIdx.x % QUADS, key0 = threadIdx.x / QUADS;
        const int row_step = at.key_in_page(STEP, 0) - at.key_in_page(0, 0);  // STEP slots
        int pg = __shfl_sync(0xffffffffu, page, key0);
        u64 base = at.key(max(pg, 0), kv_head, slot_of(key0), 4 * c);
#pragma unroll
        for (int k = 0; k < K_COPIES; ++k) {
          const int key = key0 + STEP * k;
          if (PAGE_SIZE < KEYS && k > 0) {
            pg = __shfl_sync(0xffffffffu, page, key);
            base = at.key(max(pg, 0), kv_head, slot_of(key), 4 * c);
          }
          const u64 offset = PAGE_SIZE >= KEYS ? base + (i64)row_step * k : base;
          const int to = key * D + 4 * (c ^ Tile::row_swizzle(key));
          copy_async<16>(k_tile + to, k_cache + offset, pg >= 0 ? 16 : 0);
          copy_async<16>(v_tile + to, v_cache + offset, pg >= 0 ? 16 : 0);
        }
      }
    }
    copy_async_commit();  // (empty past the tiles: the waits count groups)
  };

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    const int tile = tile_start(s), page = s < count ? page_id(tile, raw_id(tile)) : -1;
    record(s, page);
    issue(s < count ? tile : end, s, page);
  }
  int next_id = raw_id(tile_start(STAGES - 1));  // (-1 past the tiles)

  for (int j = 0; j < count; ++j) {
    copy_async_wait<STAGES - 2>();
    __syncthreads();  // tile j has landed, and every warp is done with tile j - 1's slot
    {
      const int ahead = j + STAGES - 1, slot = ahead % STAGES, tile = tile_start(ahead);
      const int page = ahead < count ? page_id(tile, next_id) : -1;
      record(slot, page);
      issue(ahead < count ? tile : end, slot, page);
      next_id = raw_id(tile_start(ahead + 1));
    }
    const int tile = tile_start(j), slot = j % STAGES;
    const float* k_tile = shared + slot * 2 * TILE;
    float* v_tile = shared + slot * 2 * TILE + TILE;
    if (tile < first || tile + KEYS > end) {
      // Hidden keys' values may hold anything (even NaN bits, which a zero weight keeps): zeros.
      for (int e = threadIdx.x; e < TILE; e += THREADS) {
        const int key = tile + (PAL ? e % KEYS : e / D);
        if (key < first || key >= end) v_tile[e] = 0.f;
      }
      __syncthreads();
    }
    if (!active) continue;

    // S^T = K Q^T: rows g / g + 8 are keys 2 g / 2 g + 1; in CHAINS accumulators summed at the
    // end (one chain of 3 D / 8 dependent mma a tile would wait on each one's latency).
    constexpr int CHAINS = 4;
    float chain[CHAINS][4];
#pragma unroll
    for (int i = 0; i < CHAINS; ++i) chain[i][0] = chain[i][1] = chain[i][2] = chain[i][3] = 0.f;
#pragma unroll
    for (int c = 0; c < D / 16; ++c) {
      // Chunk 4 c + t of keys 2 g / 2 g + 1 (pal: [chunk][key] tiles; rows: chunk 4 c + t moves
      // by 16 floats a step of c).
      const int step = PAL ? 16 * KEYS * c : 16 * c;
      const float4 x = *(const float4*)(k_tile + k_read[0][PAL ? 0 : c & 1] + step);
      const float4 y = *(const float4*)(k_tile + k_read[1][PAL ? 0 : c & 1] + step);
      const Tf32 a0[4] = {Tf32::split(x.x, mask), Tf32::split(y.x, mask), Tf32::split(x.y, mask), Tf32::split(y.y, mask)};
      const Tf32 a1[4] = {Tf32::split(x.z, mask), Tf32::split(y.z, mask), Tf32::split(x.w, mask), Tf32::split(y.w, mask)};
      mma_3xtf32(chain[c % CHAINS], a0, q[c][0], q[c][1]);
      mma_3xtf32(chain[c % CHAINS], a1, q[c][2], q[c][3]);
    }
    float s[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) s[e] = (chain[0][e] + chain[1][e]) + (chain[2][e] + chain[3][e]);

    // Online softmax of the lane's two heads (columns 2 t, 2 t + 1) over the tile's keys, reduced
    // over the 8 lanes g; each lane keeps its own share of the sums.
    const u32 pages_ok = (u32)(valid >> (16 * slot));
    const int key0 = tile + 2 * g, key1 = key0 + 1;
    const bool see0 = (pages_ok >> (2 * g) & 1u) && key0 >= first && key0 < end;
    const bool see1 = (pages_ok >> (2 * g + 1) & 1u) && key1 >= first && key1 < end;
    float w[4], factor[2];
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l0 = s[hh] * log2_scale, l1 = s[2 + hh] * log2_scale;
      if constexpr (Variant::TRANSFORMS_SCORES) {
        l0 = Variant::logit(p.variant, s[hh] * p.scale, key0, task.length - 1, slope[hh]) * LOG2E;
        l1 = Variant::logit(p.variant, s[2 + hh] * p.scale, key1, task.length - 1, slope[hh]) * LOG2E;
      }
      l0 = see0 ? l0 : neg_inf();
      l1 = see1 ? l1 : neg_inf();
      factor[hh] = state[hh].rescale(lanes8_max<4, 8, 16>(fmaxf(l0, l1)));
      w[hh] = fast_exp2(l0 - state[hh].base());
      w[2 + hh] = fast_exp2(l1 - state[hh].base());
      state[hh].sum += w[hh] + w[2 + hh];
    }
    if (__any_sync(0xffffffffu, factor[0] != 1.f || factor[1] != 1.f))  // most tiles keep the max
#pragma unroll
      for (int m = 0; m < D / 16; ++m) {
        acc[m][0] *= factor[0], acc[m][2] *= factor[0];
        acc[m][1] *= factor[1], acc[m][3] *= factor[1];
      }

    // P^T's B fragments for k-step ks: keys 4 t + 2 ks (b0) and 4 t + 2 ks + 1 (b1) of head g,
    // which lane 4 (2 t + ks) + g / 2 holds in its row g / g + 8 words of column g % 2.
    Tf32 pb[2][2];
#pragma unroll
    for (int ks = 0; ks < 2; ++ks) {
      const int from = 4 * (2 * t + ks) + g / 2;
      const float v0 = __shfl_sync(0xffffffffu, w[0], from), v1 = __shfl_sync(0xffffffffu, w[1], from);
      const float v2 = __shfl_sync(0xffffffffu, w[2], from), v3 = __shfl_sync(0xffffffffu, w[3], from);
      pb[ks][0] = Tf32::split(g & 1 ? v1 : v0);
      pb[ks][1] = Tf32::split(g & 1 ? v3 : v2);
    }

    // O^T += V^T P^T.
    if constexpr (PAL) {
      // m-tile 4 b + i: rows g / g + 8 are dims 64 b + 4 g + (i ^ g % 2) / + 32 (odd g's order
      // flipped so that an 8-lane phase reads dims of both parities: distinct bank halves). A
      // read gives keys 4 t .. + 3 of one dim: k-steps 0 and 1.
#pragma unroll
      for (int m = 0; m < D / 16; ++m) {
        const float* at_dim = v_tile + v_read[m % 4] + 64 * KEYS * (m / 4);
        const float4 x = *(const float4*)at_dim, y = *(const float4*)(at_dim + 32 * KEYS);
        const Tf32 a0[4] = {Tf32::split(x.x, mask), Tf32::split(y.x, mask), Tf32::split(x.y, mask), Tf32::split(y.y, mask)};
        const Tf32 a1[4] = {Tf32::split(x.z, mask), Tf32::split(y.z, mask), Tf32::split(x.w, mask), Tf32::split(y.w, mask)};
        mma_3xtf32(acc[m], a0, pb[0][0], pb[0][1]);
        mma_3xtf32(acc[m], a1, pb[1][0], pb[1][1]);
      }
    } else {
      // m-tiles 2 c / 2 c + 1: rows g / g + 8 are dims 32 c + 4 g + 0 / 1, and + 2 / 3. Read r
      // gives key 4 t + r's dims 32 c + 4 g .. + 3.
#pragma unroll
      for (int c = 0; c < D / 32; ++c) {
        float4 v[4];
#pragma unroll
        for (int r = 0; r < 4; ++r)
          v[r] = *(const float4*)(v_tile + v_read[r] + 32 * c);
#pragma unroll
        for (int ks = 0; ks < 2; ++ks) {
          const float4 lo = v[2 * ks], hi = v[2 * ks + 1];
          const Tf32 a0[4] = {Tf32::split(lo.x, mask), Tf32::split(lo.y, mask), Tf32::split(hi.x, mask), Tf32::split(hi.y, mask)};
          const Tf32 a1[4] = {Tf32::split(lo.z, mask), Tf32::split(lo.w, mask), Tf32::split(hi.z, mask), Tf32::split(hi.w, mask)};
          mma_3xtf32(acc[2 * c], a0, pb[ks][0], pb[ks][1]);
          mma_3xtf32(acc[2 * c + 1], a1, pb[ks][0], pb[ks][1]);
        }
      }
    }
  }
  copy_async_wait<0>();
  if (!active) return;

  // Each (head, dim) is one lane's: sums over the 8 lanes g, then 16-byte rows of 4 dims.
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const SoftmaxState total{state[hh].max, lanes8_sum<4, 8, 16>(state[hh].sum)};
    const int h = 8 * warp + 2 * t + hh;
    if (h >= task.heads) continue;
    const i64 row = task.row(p, h);
    const float inverse = total.inverse_sum(Variant::sink(p.variant, task.first_head + h));
    if constexpr (PAL) {
#pragma unroll
      for (int b = 0; b < D / 64; ++b)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float out[4];
#pragma unroll
          for (int i = 0; i < 4; ++i) out[i] = g & 1 ? acc[4 * b + (i ^ 1)][2 * half + hh] : acc[4 * b + i][2 * half + hh];
          store_decode_row<T, 4>(p, row, task.split, D, 64 * b + 32 * half + 4 * g, out, inverse);
        }
    } else {
#pragma unroll
      for (int c = 0; c < D / 32; ++c) {
        const float out[4] = {acc[2 * c][hh], acc[2 * c][2 + hh], acc[2 * c + 1][hh], acc[2 * c + 1][2 + hh]};
        store_decode_row<T, 4>(p, row, task.split, D, 32 * c + 4 * g, out, inverse);
      }
    }
    if (g == 0) store_decode_state(p, row, task.split, total);
  }
}

}  // namespace pal
