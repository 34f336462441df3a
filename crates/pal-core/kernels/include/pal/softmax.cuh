// Online softmax in base 2: scores arrive multiplied by `scale * log2(e)` and weights are
// `exp2(score - max)`, one FFMA-friendly exponent per score. A state is (max, sum) of one query
// row; the accumulators that go with it are scaled by `rescale`'s factor. Partial states of
// split-KV and of the warps of a CTA merge with `merge_weight`.
#pragma once
#include "pal/common.cuh"

namespace pal {

constexpr float LOG2E = 1.4426950408889634f;

struct SoftmaxState {
  float max, sum;

  __device__ __forceinline__ static SoftmaxState empty() { return {neg_inf(), 0.f}; }
  // Exponent base of this row: 0 while nothing is visible (so that exp2 of -inf scores is 0).
  __device__ __forceinline__ float base() const { return max == neg_inf() ? 0.f : max; }
  // Raises the running max to cover `tile_max`; returns the factor by which the row's sum (done
  // here) and accumulators (the caller's) shrink (flushed to 0 below 2^-126, as the weights).
  __device__ __forceinline__ float rescale(float tile_max) {
    const float new_max = fmaxf(max, tile_max);
    const float factor = fast_exp2(max - (new_max == neg_inf() ? 0.f : new_max));
    max = new_max;
    sum *= factor;
    return factor;
  }
  __device__ __forceinline__ float inverse_sum() const { return sum > 0.f ? 1.f / sum : 0.f; }
  // The same when a sink logit `sink` (base 2; -inf for none) joins the denominator: the factor
  // for the accumulators, rebased on the larger of the row's max and the sink; 0 for a row that
  // saw nothing (a sink alone yields zeros, as on the CPU).
  __device__ __forceinline__ float inverse_sum(float sink) const {
    if (!(sum > 0.f)) return 0.f;
    const float top = fmaxf(max, sink), factor = exp2f(max - top);
    return factor / (sum * factor + exp2f(sink - top));
  }
};

// Reductions of N values in K interleaved chains joined pairwise: depth N / K + log2 K instead
// of a chain of N - 1 dependent instructions (a 64-key tile's 16 scores per row waited ~4
// cycles per link), at K - 1 more live registers. `v` overwritten; K a power of two.
template <int K, int N, typename Op> __device__ __forceinline__ float reduce_in_chains(float (&v)[N], Op op) {
  static_assert(N % K == 0 && (K & (K - 1)) == 0, "whole chains, joined pairwise");
#pragma unroll
  for (int i = K; i < N; ++i) v[i % K] = op(v[i % K], v[i]);
#pragma unroll
  for (int w = K / 2; w > 0; w /= 2)  // K is small: a loop the unroller takes whole
#pragma unroll
    for (int i = 0; i < K / 2; ++i)
      if (i < w) v[i] = op(v[i], v[i + w]);
  return v[0];
}
// Row maxima in base-2 units of a tile of raw scores in mma accumulator fragments (8-key blocks,
// rows e / 2): the raw max times `log2_scale`, the raw min where the scale is negative. Weights
// then cost one FFMA and an exponential each: fast_exp2(fmaf(raw, log2_scale, -base)).
// CHAINS: see `reduce_in_chains` (the portable prefill takes 4: +1-3% on an H200).
template <int CHAINS = 1, int BLOCKS>
__device__ __forceinline__ void raw_row_max(const float (&s)[BLOCKS][4], float log2_scale, float (&row_max)[2]) {
  if constexpr (CHAINS > 1) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float v[2 * BLOCKS];
#pragma unroll
      for (int b = 0; b < BLOCKS; ++b) {
        v[2 * b] = s[b][2 * r];
        v[2 * b + 1] = s[b][2 * r + 1];
      }
      row_max[r] = log2_scale * (log2_scale >= 0.f ? reduce_in_chains<CHAINS>(v, [](float a, float b) { return fmaxf(a, b); })
                                                   : reduce_in_chains<CHAINS>(v, [](float a, float b) { return fminf(a, b); }));
    }
    return;
  }
  float top[2] = {s[0][0], s[0][2]};
  if (log2_scale >= 0.f) {
#pragma unroll
    for (int b = 0; b < BLOCKS; ++b)
#pragma unroll
      for (int e = 0; e < 4; ++e) top[e / 2] = fmaxf(top[e / 2], s[b][e]);
  } else {
#pragma unroll
    for (int b = 0; b < BLOCKS; ++b)
#pragma unroll
      for (int e = 0; e < 4; ++e) top[e / 2] = fminf(top[e / 2], s[b][e]);
  }
  row_max[0] = top[0] * log2_scale;
  row_max[1] = top[1] * log2_scale;
}

// Weight of a partial state with maximum `max` inside a merge whose overall maximum is `total_max`
// (0 for an empty partial, so that empty splits and warps drop out).
__device__ __forceinline__ float merge_weight(float max, float total_max) {
  return max == neg_inf() ? 0.f : exp2f(max - total_max);
}

// Max over the four lanes of a quad (the lanes that share an mma accumulator row).
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
// Max and sum over the 8 lanes that differ from this one in the lane bits A, B and C.
template <int A, int B, int C> __device__ __forceinline__ float lanes8_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, A));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, B));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, C));
}
template <int A, int B, int C> __device__ __forceinline__ float lanes8_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, A);
  x += __shfl_xor_sync(0xffffffffu, x, B);
  return x + __shfl_xor_sync(0xffffffffu, x, C);
}

// One tile of the CUDA-core kernels: `weights[row * TOKENS + t]` holds base-2 scores (-inf for
// masked keys) of `rows` rows in shared memory. One warp per row folds the tile into the row's
// running (max, sum), turns the scores into weights, and leaves in `rescale[row]` the factor by
// which the row's accumulators must shrink.
template <int TOKENS>
__device__ void softmax_tile_by_warp(float* weights, float* run_max, float* run_sum, float* rescale, int rows, int warps) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int row = warp; row < rows; row += warps) {
    float* w = weights + row * TOKENS;
    float tile_max = neg_inf();
    for (int t = lane; t < TOKENS; t += 32) tile_max = fmaxf(tile_max, w[t]);
    SoftmaxState state{run_max[row], run_sum[row]};
    const float factor = state.rescale(warp_max(tile_max));
    float sum = 0.f;
    for (int t = lane; t < TOKENS; t += 32) {
      w[t] = fast_exp2(w[t] - state.base());
      sum += w[t];
    }
    sum = warp_sum(sum);
    __syncwarp();
    if (lane == 0) {
      rescale[row] = factor;
      run_sum[row] = state.sum + sum;
      run_max[row] = state.max;
    }
  }
}

// The value side of a CUDA-core tile: ROWS rows of HEAD_DIM float32 accumulators spread over
// THREADS threads as items (row, CHUNK dims, token slice), so that short rows still use every
// thread. `add_tile` rescales and adds one tile's weighted value rows; `reduce` sums the slices
// in a fixed order (deterministic) and hands each (row, dim, total) to `store`.
template <typename T, int HEAD_DIM, int MAX_ROWS, int THREADS> struct ValueAccumulator {
  static constexpr int CHUNK = 4, CHUNKS = HEAD_DIM / CHUNK;
  static constexpr int ITEMS = (MAX_ROWS * CHUNKS + THREADS - 1) / THREADS;
  // Shared floats `reduce` needs: every slice of every row.
  static constexpr int SCRATCH_FLOATS = MAX_ROWS * HEAD_DIM > THREADS * CHUNK ? MAX_ROWS * HEAD_DIM : THREADS * CHUNK;
  int rows, slices, items;
  float acc[ITEMS][CHUNK];

  __device__ __forceinline__ explicit ValueAccumulator(int rows_)
      : rows(rows_), slices(max(1, THREADS / (rows_ * CHUNKS))), items(rows_ * CHUNKS * slices) {
    for (int k = 0; k < ITEMS; ++k)
      for (int c = 0; c < CHUNK; ++c) acc[k][c] = 0.f;
  }
  // weights[row * TOKENS + t] (after `softmax_tile_by_warp`), values[t * ROW + dim].
  template <int TOKENS, int ROW> __device__ __forceinline__ void add_tile(const float* weights, const T* values, const float* rescale) {
    for (int k = 0; k < ITEMS; ++k) {
      const int item = threadIdx.x + k * THREADS;
      if (item >= items) break;
      const int row = item / (CHUNKS * slices), chunk = (item / slices) % CHUNKS, slice = item % slices;
      const float factor = rescale[row];
      for (int c = 0; c < CHUNK; ++c) acc[k][c] *= factor;
      for (int t = slice; t < TOKENS; t += slices) {
        const float w = weights[row * TOKENS + t];
        const T* v = values + t * ROW + chunk * CHUNK;
        for (int c = 0; c < CHUNK; ++c) acc[k][c] += w * to_float(v[c]);
      }
    }
  }
  // Call after a __syncthreads that frees `scratch` (SCRATCH_FLOATS shared floats).
  template <typename Store> __device__ __forceinline__ void reduce(float* scratch, Store store) {
    for (int k = 0; k < ITEMS; ++k) {
      const int item = threadIdx.x + k * THREADS;
      if (item >= items) break;
      const int row = item / (CHUNKS * slices), chunk = (item / slices) % CHUNKS, slice = item % slices;
      for (int c = 0; c < CHUNK; ++c) scratch[(slice * rows + row) * HEAD_DIM + chunk * CHUNK + c] = acc[k][c];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < rows * HEAD_DIM; i += THREADS) {
      float total = 0.f;
      for (int s = 0; s < slices; ++s) total += scratch[s * rows * HEAD_DIM + i];
      store(i / HEAD_DIM, i % HEAD_DIM, total);
    }
  }
};

}  // namespace pal
