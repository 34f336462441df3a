// Paged prefill on CUDA cores: float32, and fp8 pools under any query dtype.
//
// A CTA holds up to 16 query vectors ((token, head) rows, see `PrefillTask`); keys run over the
// sequence's history in the pools, then its own prompt from `k` / `v`, and stop at the CTA's last
// token (later tiles are wholly in the future). Tiles are staged in shared memory element by
// element (any layout), scored, soft-maxed online and accumulated in float32, as in decode.
// fp8 history is widened exactly to the query dtype T when staged; its scales apply to the
// history keys' scores (k) and weights (v), the prompt's k / v being T and unscaled.
// Traffic: each K / V tile once per CTA of up to 16 query vectors. Correct on the H200 (GPU
// suite, 2026-11-29) but not timed there yet: float32 prefill is not a row of SPEC §7.
#pragma once
#include "pal/prefill.cuh"
#include "pal/softmax.cuh"
#include "pal/variant.cuh"

namespace pal {

constexpr int PREFILL_SIMT_WARPS = PREFILL_THREADS / 32;

// NQ query vectors per CTA and TOKENS keys per tile, chosen by the host (`cuda/prefill.rs`) so
// that the static shared memory stays under 48 KiB.
template <typename T, typename KV, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int NQ, int TOKENS>
__device__ void prefill_simt(const PrefillParams& p) {
  constexpr int VEC = Vec<T>::N, ROW = HEAD_DIM + VEC;
  static_assert(SAME_TYPE<T, KV> || IS_FP8<KV>, "pools in the query dtype, or fp8");

  __shared__ __align__(16) T keys[TOKENS * ROW];
  __shared__ __align__(16) T values[TOKENS * ROW];
  __shared__ float queries[NQ * HEAD_DIM];
  __shared__ float weights[NQ * TOKENS];
  __shared__ float run_max[NQ], run_sum[NQ], rescale[NQ];
  __shared__ int visible[NQ], first_key[NQ];  // keys [first_key, visible) each query vector sees

  const PrefillTask task = locate_prefill_task<PAGE_SIZE>(p);
  if (task.empty()) return;  // the whole CTA: uniform exit
  const int tid = threadIdx.x;
  const int spacing = p.heads_per_cta, vectors = p.tokens_per_cta * spacing;
  const RowSplit split(spacing);
  // Query vector j: token first_token + split.token(j), head first_head + split.head(j).
  auto token_of = [&](int j) { return task.first_token + split.token(j); };
  auto vector_valid = [&](int j) { return j < vectors && split.head(j) < task.heads && token_of(j) < task.end_token; };
  const int history = task.history, total_keys = task.keys(), kv_head = task.kv_head;
  const PageRow<PAGE_SIZE> page_row(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const CacheAddress<LAYOUT, KV> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  auto page_of = [&](int key) -> i64 { return page_row.page_of(key); };
  const float log2_scale = p.scale * LOG2E;
  // fp8 history: true scores dot * scale * k_scale, true values v_scale times the pool's.
  float history_scale = p.scale, v_scale = 1.f;
  if constexpr (IS_FP8<KV>) {
    history_scale *= p.scales.k(kv_head);
    v_scale = p.scales.v(kv_head);
  }
  const float log2_history_scale = history_scale * LOG2E;
  auto row_of = [&](int j) { return (i64)(task.prompt_begin + token_of(j)) * p.num_q_heads + task.first_head + split.head(j); };

  for (int i = tid; i < NQ * HEAD_DIM; i += PREFILL_THREADS) {
    const int j = i / HEAD_DIM;
    queries[i] = vector_valid(j) ? to_float(((const T*)p.q)[row_of(j) * HEAD_DIM + i % HEAD_DIM]) : 0.f;
  }
  if (tid < NQ) {
    run_max[tid] = neg_inf();
    run_sum[tid] = 0.f;
    visible[tid] = vector_valid(tid) ? history + token_of(tid) + 1 : 0;
    first_key[tid] = Variant::first_visible(p.variant, history + token_of(tid));
  }

  ValueAccumulator<T, HEAD_DIM, NQ, PREFILL_THREADS> values_acc(vectors);

  // Keys before the first row's window are hidden from every row: never read.
  const int lowest_first = Variant::first_visible(p.variant, history + task.first_token);
  for (int tile = lowest_first / TOKENS * TOKENS; tile < total_keys; tile += TOKENS) {
    __syncthreads();  // the previous tile is fully consumed
    for (int i = tid; i < TOKENS * HEAD_DIM; i += PREFILL_THREADS) {
      const int t = i / HEAD_DIM, dim = i % HEAD_DIM, key = tile + t;
      T k_elem{}, v_elem{};
      if (Variant::HAS_WINDOW && key < lowest_first) {
      } else if (key < history) {
        const i64 page = page_of(key);
        if (page >= 0) {
          k_elem = widen<T>(((const KV*)p.k_cache)[at.key(page, kv_head, key % PAGE_SIZE, dim)]);
          v_elem = widen<T>(((const KV*)p.v_cache)[at.value(page, kv_head, key % PAGE_SIZE, dim)]);
        }
      } else if (key < total_keys) {
        const i64 row = ((i64)(task.prompt_begin + key - history) * p.num_kv_heads + kv_head) * HEAD_DIM + dim;
        k_elem = ((const T*)p.k)[row];
        v_elem = ((const T*)p.v)[row];
      }
      keys[t * ROW + dim] = k_elem;
      values[t * ROW + dim] = v_elem;
    }
    __syncthreads();

    for (int i = tid; i < vectors * TOKENS; i += PREFILL_THREADS) {
      const int j = i / TOKENS, t = i % TOKENS, key = tile + t;
      float s = neg_inf();
      if (key < visible[j] && key >= first_key[j] && (key >= history || page_row.page_of(key, p.errors, OP_PREFILL) >= 0)) {
        const float dot = dot_as_float<HEAD_DIM>(queries + j * HEAD_DIM, keys + t * ROW);
        const bool scaled = IS_FP8<KV> && key < history;
        if constexpr (Variant::TRANSFORMS_SCORES)
          s = Variant::logit(p.variant, dot * (scaled ? history_scale : p.scale), key, visible[j] - 1,
                             Variant::slope(p.variant, task.first_head + split.head(j))) * LOG2E;
        else
          s = dot * (scaled ? log2_history_scale : log2_scale);
      }
      weights[j * TOKENS + t] = s;
    }
    __syncthreads();

    softmax_tile_by_warp<TOKENS>(weights, run_max, run_sum, rescale, vectors, PREFILL_SIMT_WARPS);
    __syncthreads();
    if constexpr (IS_FP8<KV>) {
      // History values are v_scale * the staged ones: scale their weights (after the sums,
      // which count probabilities).
      if (tile < history) {
        for (int i = tid; i < vectors * TOKENS; i += PREFILL_THREADS)
          if (tile + i % TOKENS < history) weights[i] *= v_scale;
        __syncthreads();
      }
    }

    values_acc.add_tile<TOKENS, ROW>(weights, values, rescale);
  }
  __syncthreads();

  // Sum the token slices through the key tile, then write the normalised rows.
  static_assert(decltype(values_acc)::SCRATCH_FLOATS * 4 <= (int)sizeof(keys), "the slice reduction fits in the key tile");
  values_acc.reduce((float*)keys, [&](int j, int dim, float total) {
    if (vector_valid(j))
      ((T*)p.out)[row_of(j) * HEAD_DIM + dim] = from_float<T>(
          total * SoftmaxState{run_max[j], run_sum[j]}.inverse_sum(Variant::sink(p.variant, task.first_head + split.head(j))));
  });
}

}  // namespace pal
