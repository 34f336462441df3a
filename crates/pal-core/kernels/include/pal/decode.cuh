// Paged decode, split-KV (flash-decoding).
//
// Work split: one CTA of 128 threads per (sequence, KV head, chunk of up to GMAX query heads,
// KV split). The query heads of one KV head share every K/V tile (GQA). Tiles of TILE tokens are
// staged in shared memory with 16-byte loads in the cache layout's natural order (so one kernel
// body serves pal / nhd / hnd), then scored, soft-maxed online and accumulated in float32.
// With several splits each CTA writes an unnormalised partial state and `merge` combines them.
// Memory traffic: K and V of each token once; no allocation or host synchronisation per call.
// First version: no cp.async pipelining yet (see benchmarks/README.md for its figures).
#pragma once
#include "pal/common.cuh"
#include "pal/layout.cuh"

namespace pal {

struct DecodeParams {
  u64 queries, k_cache, v_cache, page_table, seq_lens, out, partial_acc, partial_stats;
  int num_seqs, num_q_heads, num_kv_heads, pages_per_seq;
  int num_pages, num_splits, tokens_per_split, head_chunks;
  float scale;
  int pad;
};

constexpr int DECODE_THREADS = 128;
constexpr int DECODE_WARPS = DECODE_THREADS / 32;
constexpr int GMAX = 8;  // query heads per CTA

template <typename T, int HEAD_DIM> struct DecodeTile {
  // 32 tokens per tile, 16 when a row is wider than 512 bytes: shared memory stays under 48 KiB.
  static constexpr int TOKENS = HEAD_DIM * sizeof(T) > 512 ? 16 : 32;
  static constexpr int VEC = Vec<T>::N;
  static constexpr int ROW = HEAD_DIM + VEC;  // padded: rows start in different banks
  static constexpr int CHUNK = 4;             // output elements per thread item
  static constexpr int ITEMS = (GMAX * HEAD_DIM / CHUNK + DECODE_THREADS - 1) / DECODE_THREADS;
};

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT>
__device__ void decode(const DecodeParams& p) {
  using Tile = DecodeTile<T, HEAD_DIM>;
  constexpr int TOKENS = Tile::TOKENS, VEC = Tile::VEC, ROW = Tile::ROW, CHUNK = Tile::CHUNK;

  __shared__ __align__(16) T keys[TOKENS * ROW];
  __shared__ __align__(16) T values[TOKENS * ROW];
  __shared__ float queries[GMAX * HEAD_DIM];
  __shared__ float weights[GMAX * TOKENS];
  __shared__ float run_max[GMAX], run_sum[GMAX], rescale[GMAX];

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int group = p.num_q_heads / p.num_kv_heads;
  const int kv_head = blockIdx.x / p.head_chunks;
  const int first_head = kv_head * group + (blockIdx.x % p.head_chunks) * GMAX;
  const int heads = min(GMAX, kv_head * group + group - first_head);
  const int seq = blockIdx.y, split = blockIdx.z;
  // Clamped to the page table's capacity so that an unchecked bad length never reads past its row.
  const int len = max(0, min(((const int*)p.seq_lens)[seq], p.pages_per_seq * PAGE_SIZE));
  const int begin = split * p.tokens_per_split;
  const int end = min(len, begin + p.tokens_per_split);
  const int* pages = (const int*)p.page_table + (i64)seq * p.pages_per_seq;
  const T* k_cache = (const T*)p.k_cache;
  const T* v_cache = (const T*)p.v_cache;
  const CacheAddress<LAYOUT, T> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};

  for (int i = tid; i < heads * HEAD_DIM; i += DECODE_THREADS)
    queries[i] = to_float(((const T*)p.queries)[((i64)seq * p.num_q_heads + first_head) * HEAD_DIM + i]);
  if (tid < GMAX) {
    run_max[tid] = neg_inf();
    run_sum[tid] = 0.f;
  }

  // Thread items of the value accumulation: (head, CHUNK of dims, token slice).
  const int chunks = HEAD_DIM / CHUNK;
  const int slices = max(1, DECODE_THREADS / (heads * chunks));
  const int items = heads * chunks * slices;
  float acc[Tile::ITEMS][CHUNK];
  for (int k = 0; k < Tile::ITEMS; ++k)
    for (int c = 0; c < CHUNK; ++c) acc[k][c] = 0.f;

  // A page id outside the pool contributes nothing (validation reports it before launch).
  auto page_of = [&](int token) -> i64 {
    int page = pages[token / PAGE_SIZE];
    return (page >= 0 && page < p.num_pages) ? page : -1;
  };

  // Tiles are double-buffered through registers: the next tile's 16-byte vectors are in flight
  // while the current one is computed. Vector i of a tile covers, for keys, 16 bytes of one
  // token's row (pal: one stripe; neighbouring threads read neighbouring slots), and for pal
  // values VEC consecutive slots of one dim (pal value pages are [dim][slot]).
  constexpr int VECTORS = TOKENS * (HEAD_DIM / VEC);
  constexpr int LOADS = (VECTORS + DECODE_THREADS - 1) / DECODE_THREADS;
  uint4 staged_keys[LOADS], staged_values[LOADS];
  auto key_coords = [](int i, int& t, int& dim) {
    if (LAYOUT == LAYOUT_PAL) { dim = i / TOKENS * VEC; t = i % TOKENS; }
    else { t = i / (HEAD_DIM / VEC); dim = i % (HEAD_DIM / VEC) * VEC; }
  };
  auto value_coords = [](int i, int& t, int& dim) {
    if (LAYOUT == LAYOUT_PAL) { dim = i / (TOKENS / VEC); t = i % (TOKENS / VEC) * VEC; }
    else { t = i / (HEAD_DIM / VEC); dim = i % (HEAD_DIM / VEC) * VEC; }
  };
  auto fetch = [&](int tile) {
#pragma unroll
    for (int k = 0; k < LOADS; ++k) {
      const int i = tid + k * DECODE_THREADS;
      staged_keys[k] = staged_values[k] = make_uint4(0, 0, 0, 0);
      if (i >= VECTORS) continue;
      int t, dim;
      key_coords(i, t, dim);
      if (tile + t < end) {
        const i64 page = page_of(tile + t);
        if (page >= 0) staged_keys[k] = *(const uint4*)(k_cache + at.key(page, kv_head, (tile + t) % PAGE_SIZE, dim));
      }
      value_coords(i, t, dim);
      if (tile + t < end) {
        const i64 page = page_of(tile + t);
        if (page >= 0) staged_values[k] = *(const uint4*)(v_cache + at.value(page, kv_head, (tile + t) % PAGE_SIZE, dim));
      }
    }
  };
  auto stash = [&](int tile) {
#pragma unroll
    for (int k = 0; k < LOADS; ++k) {
      const int i = tid + k * DECODE_THREADS;
      if (i >= VECTORS) continue;
      int t, dim;
      key_coords(i, t, dim);
      *(uint4*)(keys + t * ROW + dim) = staged_keys[k];
      value_coords(i, t, dim);
      if (LAYOUT == LAYOUT_PAL) {
        Pack<T> v;
        v.raw = staged_values[k];
        // Slots past the sequence may hold anything (even NaN bits): zero them.
        for (int j = 0; j < VEC; ++j) values[(t + j) * ROW + dim] = tile + t + j < end ? v.elems[j] : T{};
      } else {
        *(uint4*)(values + t * ROW + dim) = staged_values[k];
      }
    }
  };

  if (begin < end) fetch(begin);
  for (int tile = begin; tile < end; tile += TOKENS) {
    __syncthreads();  // the previous tile is fully consumed
    stash(tile);
    __syncthreads();
    if (tile + TOKENS < end) fetch(tile + TOKENS);

    // Scores of every (head, token) pair.
    for (int i = tid; i < heads * TOKENS; i += DECODE_THREADS) {
      const int h = i / TOKENS, t = i % TOKENS;
      float s = neg_inf();
      if (tile + t < end && page_of(tile + t) >= 0) {
        float dot = 0.f;
        const float* q = queries + h * HEAD_DIM;
        for (int d = 0; d < HEAD_DIM; d += VEC) {
          Pack<T> k;
          k.raw = *(const uint4*)(keys + t * ROW + d);
          for (int j = 0; j < VEC; ++j) dot += q[d + j] * to_float(k.elems[j]);
        }
        s = dot * p.scale;
      }
      weights[h * TOKENS + t] = s;
    }
    __syncthreads();

    // Online softmax, one warp per head.
    for (int h = warp; h < heads; h += DECODE_WARPS) {
      float tile_max = neg_inf();
      for (int t = lane; t < TOKENS; t += 32) tile_max = fmaxf(tile_max, weights[h * TOKENS + t]);
      tile_max = warp_max(tile_max);
      const float old_max = run_max[h];
      const float new_max = fmaxf(old_max, tile_max);
      float sum = 0.f;
      for (int t = lane; t < TOKENS; t += 32) {
        const float s = weights[h * TOKENS + t];
        const float w = s == neg_inf() ? 0.f : __expf(s - new_max);
        weights[h * TOKENS + t] = w;
        sum += w;
      }
      sum = warp_sum(sum);
      __syncwarp();
      if (lane == 0) {
        const float factor = old_max == neg_inf() ? 0.f : __expf(old_max - new_max);
        rescale[h] = factor;
        run_sum[h] = run_sum[h] * factor + sum;
        run_max[h] = new_max;
      }
    }
    __syncthreads();

    // Weighted values.
    for (int k = 0; k < Tile::ITEMS; ++k) {
      const int item = tid + k * DECODE_THREADS;
      if (item >= items) break;
      const int h = item / (chunks * slices), chunk = (item / slices) % chunks, slice = item % slices;
      const float factor = rescale[h];
      for (int c = 0; c < CHUNK; ++c) acc[k][c] *= factor;
      for (int t = slice; t < TOKENS; t += slices) {
        const float w = weights[h * TOKENS + t];
        const T* v = values + t * ROW + chunk * CHUNK;
        for (int c = 0; c < CHUNK; ++c) acc[k][c] += w * to_float(v[c]);
      }
    }
  }
  __syncthreads();

  // Sum the token slices in a fixed order (deterministic) through shared memory, reusing the
  // key tile, then write the output (one split) or this split's unnormalised partial state.
  float* reduce = (float*)keys;
  for (int k = 0; k < Tile::ITEMS; ++k) {
    const int item = tid + k * DECODE_THREADS;
    if (item >= items) break;
    const int h = item / (chunks * slices), chunk = (item / slices) % chunks, slice = item % slices;
    for (int c = 0; c < CHUNK; ++c) reduce[(slice * heads + h) * HEAD_DIM + chunk * CHUNK + c] = acc[k][c];
  }
  __syncthreads();
  for (int i = tid; i < heads * HEAD_DIM; i += DECODE_THREADS) {
    const int h = i / HEAD_DIM;
    float total = 0.f;
    for (int s = 0; s < slices; ++s) total += reduce[s * heads * HEAD_DIM + i];
    const i64 row = (i64)seq * p.num_q_heads + first_head + h;
    if (p.num_splits == 1) {
      const float inverse = run_sum[h] > 0.f ? 1.f / run_sum[h] : 0.f;
      ((T*)p.out)[row * HEAD_DIM + i % HEAD_DIM] = from_float<T>(total * inverse);
    } else {
      ((float*)p.partial_acc)[(row * p.num_splits + split) * HEAD_DIM + i % HEAD_DIM] = total;
    }
  }
  if (p.num_splits > 1 && tid < heads) {
    const i64 row = (i64)seq * p.num_q_heads + first_head + tid;
    float2 stats;
    stats.x = run_max[tid];
    stats.y = run_sum[tid];
    ((float2*)p.partial_stats)[row * p.num_splits + split] = stats;
  }
}

struct MergeParams {
  u64 partial_acc, partial_stats, out;
  int num_splits, head_dim;
};

// Combines the splits of one (sequence, query head) row: grid = rows, block = head_dim threads.
template <typename T> __device__ void merge(const MergeParams& p) {
  const i64 row = blockIdx.x;
  const float2* stats = (const float2*)p.partial_stats + row * p.num_splits;
  float max = neg_inf();
  for (int s = 0; s < p.num_splits; ++s)
    if (stats[s].y > 0.f) max = fmaxf(max, stats[s].x);
  float sum = 0.f, acc = 0.f;
  for (int s = 0; s < p.num_splits; ++s) {
    if (stats[s].y > 0.f) {
      const float w = __expf(stats[s].x - max);
      sum += w * stats[s].y;
      acc += w * ((const float*)p.partial_acc)[(row * p.num_splits + s) * p.head_dim + threadIdx.x];
    }
  }
  ((T*)p.out)[row * p.head_dim + threadIdx.x] = from_float<T>(sum > 0.f ? acc / sum : 0.f);
}

}  // namespace pal
