// Paged decode on CUDA cores over fp8 pools under float32 queries (the v0 kernel: float32 pools
// run `decode_rows.cuh` since the thirty-third session, 16-bit queries the tensor cores).
//
// A CTA of DECODE_SIMT_THREADS threads serves up to `heads_per_cta` query heads of one KV head
// (see `DecodeTask`). Tiles of TOKENS tokens are staged in shared memory with 16-byte loads in
// the cache layout's natural order (one body serves pal / nhd / hnd), double-buffered through
// registers, then scored, soft-maxed online (one warp per head) and accumulated in float32.
// fp8 elements are widened exactly to the query dtype T when staged; their scales fold into the
// score scale (k) and the stored rows (v: the split merge is linear).
// Traffic: K and V of each visible token once, in 16-byte loads. H200 (2026-11-29, float32
// pools then, HQ 32 / HKV 8, D 128, page 16, pal, kernel time): 1.88 TB/s at 8 x 4096 and 1.57
// at 64 x 4096, 44% / 36% of the 4.31 TB/s read ceiling of that run (issue 11); `decode_rows`
// reads float32 pools at 73% / 96% (v20, 2026-12-02).
#pragma once
#include "pal/decode.cuh"
#include "pal/layout.cuh"

namespace pal {

// Shape (chosen by the host, `cuda/decode.rs`): HEADS query heads, TOKENS tokens per tile;
// T is the query dtype (the staged tiles' too).
template <typename T, int HEAD_DIM, int HEADS, int TOKENS> struct DecodeSimtTile {
  static constexpr int THREADS = 128;
  static constexpr int WARPS = THREADS / 32;
  static constexpr int VEC = Vec<T>::N;
  static constexpr int ROW = HEAD_DIM + VEC;  // padded: rows start in different banks
  static constexpr int SHARED_BYTES = 2 * TOKENS * ROW * (int)sizeof(T) + HEADS * HEAD_DIM * 4 + HEADS * TOKENS * 4 +
                                      3 * HEADS * 4;
};

template <typename T, typename KV, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int HEADS, int TOKENS>
__device__ void decode_simt(const DecodeParams& p) {
  allow_dependent_launch();  // the split merge may start its CTAs (they wait for this grid)
  using Tile = DecodeSimtTile<T, HEAD_DIM, HEADS, TOKENS>;
  constexpr int ROW = Tile::ROW, THREADS = Tile::THREADS;
  // Global loads are 16 bytes of KV: KVEC elements (pal coordinates are in KV units).
  constexpr int KVEC = Vec<KV>::N;
  static_assert(SAME_TYPE<T, KV> || IS_FP8<KV>, "pools in the query dtype, or fp8");
  // pal value vectors are KVEC slots of one dim; pages of fewer slots are read element by element.
  constexpr bool PAL_ELEMENTS = LAYOUT == LAYOUT_PAL && PAGE_SIZE < KVEC;
  static_assert(LAYOUT != LAYOUT_PAL || PAL_ELEMENTS || PAGE_SIZE % KVEC == 0, "a pal value vector lies in one page");
  static_assert(TOKENS % KVEC == 0 && HEAD_DIM % KVEC == 0, "whole 16-byte vectors per tile");

  __shared__ __align__(16) T keys[TOKENS * ROW];
  __shared__ __align__(16) T values[TOKENS * ROW];
  __shared__ float queries[HEADS * HEAD_DIM];
  __shared__ float weights[HEADS * TOKENS];
  __shared__ float run_max[HEADS], run_sum[HEADS], rescale[HEADS];

  const int tid = threadIdx.x;
  const DecodeTask task = DecodeTask::locate<PAGE_SIZE, Variant, TOKENS>(p);
  const int heads = task.heads, begin = task.begin, end = task.end, kv_head = task.kv_head, first = task.first;
  auto visible = [&](int key) { return key >= first && key < end; };
  const PageRow<PAGE_SIZE> pages(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const KV* k_cache = (const KV*)p.k_cache;
  const KV* v_cache = (const KV*)p.v_cache;
  const CacheAddress<LAYOUT, KV> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  // The true score is dot * scale * k_scale; the value scale applies to the finished rows.
  float score_scale = p.scale, v_scale = 1.f;
  if constexpr (IS_FP8<KV>) {
    score_scale *= p.scales.k(kv_head);
    v_scale = p.scales.v(kv_head);
  }
  const float log2_scale = score_scale * LOG2E;

  for (int i = tid; i < heads * HEAD_DIM; i += THREADS) queries[i] = to_float(((const T*)p.queries)[task.row(p, 0) * HEAD_DIM + i]);
  if (tid < HEADS) {
    run_max[tid] = neg_inf();
    run_sum[tid] = 0.f;
  }

  ValueAccumulator<T, HEAD_DIM, HEADS, THREADS> values_acc(heads);

  // Vector i of a tile covers, for keys, 16 bytes of one token's row (pal: one stripe;
  // neighbouring threads read neighbouring slots), and for pal values KVEC consecutive slots of
  // one dim (pal value pages are [dim][slot]).
  constexpr int VECTORS = TOKENS * (HEAD_DIM / KVEC);
  constexpr int LOADS = (VECTORS + THREADS - 1) / THREADS;
  uint4 staged_keys[LOADS], staged_values[LOADS];
  auto key_coords = [](int i, int& t, int& dim) {
    if (LAYOUT == LAYOUT_PAL) { dim = i / TOKENS * KVEC; t = i % TOKENS; }
    else { t = i / (HEAD_DIM / KVEC); dim = i % (HEAD_DIM / KVEC) * KVEC; }
  };
  auto value_coords = [](int i, int& t, int& dim) {
    if (LAYOUT == LAYOUT_PAL) { dim = i / (TOKENS / KVEC); t = i % (TOKENS / KVEC) * KVEC; }
    else { t = i / (HEAD_DIM / KVEC); dim = i % (HEAD_DIM / KVEC) * KVEC; }
  };
  auto fetch = [&](int tile) {
#pragma unroll
    for (int k = 0; k < LOADS; ++k) {
      const int i = tid + k * THREADS;
      staged_keys[k] = staged_values[k] = make_uint4(0, 0, 0, 0);
      if (i >= VECTORS) continue;
      int t, dim;
      key_coords(i, t, dim);
      if (visible(tile + t)) {
        const int page = pages.page_of(tile + t, p.errors, OP_DECODE);
        if (page >= 0) staged_keys[k] = *(const uint4*)(k_cache + at.key(page, kv_head, (tile + t) % PAGE_SIZE, dim));
      }
      value_coords(i, t, dim);
      if constexpr (PAL_ELEMENTS) {
        // KVEC slots of one dim over KVEC / PAGE_SIZE pages: each visible one on its own.
        Pack<KV> v;
        v.raw = make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int j = 0; j < KVEC; ++j) {
          const int key = tile + t + j, page = visible(key) ? pages.page_of(key) : -1;
          if (page >= 0) v.elems[j] = v_cache[at.value(page, kv_head, key % PAGE_SIZE, dim)];
        }
        staged_values[k] = v.raw;
      } else if (tile + t < end && tile + t + (LAYOUT == LAYOUT_PAL ? KVEC - 1 : 0) >= first) {
        // A pal value vector (KVEC slots of one page) is read when one of its slots is visible.
        const int page = pages.page_of(tile + t);
        if (page >= 0) staged_values[k] = *(const uint4*)(v_cache + at.value(page, kv_head, (tile + t) % PAGE_SIZE, dim));
      }
    }
  };
  // KVEC consecutive dims of one token's row, widened to T (16-byte shared stores).
  auto stash_row = [](T* row, uint4 raw) {
    if constexpr (SAME_TYPE<T, KV>) {
      *(uint4*)row = raw;
    } else {
      Pack<KV> in;
      in.raw = raw;
#pragma unroll
      for (int s = 0; s < KVEC / Vec<T>::N; ++s) {
        Pack<T> out;
#pragma unroll
        for (int j = 0; j < Vec<T>::N; ++j) out.elems[j] = widen<T>(in.elems[s * Vec<T>::N + j]);
        *(uint4*)(row + s * Vec<T>::N) = out.raw;
      }
    }
  };
  auto stash = [&](int tile) {
#pragma unroll
    for (int k = 0; k < LOADS; ++k) {
      const int i = tid + k * THREADS;
      if (i >= VECTORS) continue;
      int t, dim;
      key_coords(i, t, dim);
      stash_row(keys + t * ROW + dim, staged_keys[k]);
      value_coords(i, t, dim);
      if (LAYOUT == LAYOUT_PAL) {
        Pack<KV> v;
        v.raw = staged_values[k];
        // Slots past the sequence may hold anything (even NaN bits): zero them.
        for (int j = 0; j < KVEC; ++j) values[(t + j) * ROW + dim] = visible(tile + t + j) ? widen<T>(v.elems[j]) : T{};
      } else {
        stash_row(values + t * ROW + dim, staged_values[k]);
      }
    }
  };

  if (begin < end) fetch(begin);
  for (int tile = begin; tile < end; tile += TOKENS) {
    __syncthreads();  // the previous tile is fully consumed
    stash(tile);
    __syncthreads();
    if (tile + TOKENS < end) fetch(tile + TOKENS);

    // Scores of every (head, token) pair, in base 2.
    for (int i = tid; i < heads * TOKENS; i += THREADS) {
      const int h = i / TOKENS, t = i % TOKENS;
      float s = neg_inf();
      if (visible(tile + t) && pages.page_of(tile + t) >= 0) {
        const float dot = dot_as_float<HEAD_DIM>(queries + h * HEAD_DIM, keys + t * ROW);
        if constexpr (Variant::TRANSFORMS_SCORES)
          s = Variant::logit(p.variant, dot * score_scale, tile + t, task.length - 1,
                             Variant::slope(p.variant, task.first_head + h)) * LOG2E;
        else
          s = dot * log2_scale;
      }
      weights[h * TOKENS + t] = s;
    }
    __syncthreads();

    softmax_tile_by_warp<TOKENS>(weights, run_max, run_sum, rescale, heads, Tile::WARPS);
    __syncthreads();

    values_acc.add_tile<TOKENS, ROW>(weights, values, rescale);
  }
  __syncthreads();

  // Sum the token slices through the key tile, then write the output (one split) or this split's
  // partial state.
  static_assert(decltype(values_acc)::SCRATCH_FLOATS * 4 <= (int)sizeof(keys), "the slice reduction fits in the key tile");
  values_acc.reduce((float*)keys, [&](int h, int dim, float total) {
    const float sum[1] = {IS_FP8<KV> ? total * v_scale : total};
    const float sink = Variant::sink(p.variant, task.first_head + h);
    store_decode_row<T, 1>(p, task.row(p, h), task.split, HEAD_DIM, dim, sum, SoftmaxState{run_max[h], run_sum[h]}.inverse_sum(sink));
  });
  if (tid < heads) store_decode_state(p, task.row(p, tid), task.split, SoftmaxState{run_max[tid], run_sum[tid]});
}

}  // namespace pal
