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
  // here) and accumulators (the caller's) shrink.
  __device__ __forceinline__ float rescale(float tile_max) {
    const float new_max = fmaxf(max, tile_max);
    const float factor = exp2f(max - (new_max == neg_inf() ? 0.f : new_max));
    max = new_max;
    sum *= factor;
    return factor;
  }
  __device__ __forceinline__ float inverse_sum() const { return sum > 0.f ? 1.f / sum : 0.f; }
};

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
      w[t] = exp2f(w[t] - state.base());
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

}  // namespace pal
