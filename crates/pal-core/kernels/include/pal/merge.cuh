// The merge of split-KV partial states, shared by decode and prefill: a split's CTA writes, per
// row (a query's (token, head) pair, rows of `out`), float32 accumulators [row][split][dim]
// unnormalised and its base-2 max and sum [row][split]; `merge_row` combines one row's splits
// in split order (bitwise deterministic) and normalises, with the row's sink: a warp of the merge
// grid (`merge_splits`) or of the decode's own cluster (`merge_in_cluster`, decode.cuh).
#pragma once
#include "pal/common.cuh"
#include "pal/softmax.cuh"

namespace pal {

struct MergeParams {
  u64 partial_acc, partial_stats, out, sinks;  // sinks: [num_q_heads] float32, or 0
  int rows, num_splits, head_dim, num_q_heads;
};
// The host mirror's layout (`layout_key`; `cuda/decode.rs`).
constexpr u64 MERGE_PARAMS_LAYOUT = layout_key(PAL_OFFSET(MergeParams, rows), sizeof(MergeParams));

constexpr int MERGE_WARPS = 4;

// Programmatic dependent launch (sm_90 and up; the host launches the merge so from Hopper on):
// the decode kernel lets the merge's CTAs start before it ends, and the merge waits for the
// decode grid's completion and memory before its first read. Without the launch attribute both
// are no-ops (the wait returns at once: the previous kernel has finished).
__device__ __forceinline__ void allow_dependent_launch() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}
__device__ __forceinline__ void wait_for_prerequisite_grid() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Splits whose accumulators `merge_splits` loads before the weights are known: a merge of up
// to this many splits is one round trip to L2 (states and accumulators in flight together).
constexpr int MERGE_AHEAD = 32;
// The same for the `_few` merge entries, which the host takes for up to this many splits: 64
// registers a thread where 32 ahead take 159, so eight CTAs an SM where three fit (at MQA 64 x
// 4096 its 512 CTAs one wave, not 1.29).
constexpr int MERGE_AHEAD_FEW = 8;
// Warps of the merge grid: one per 128 float32 columns of a row (lanes hold float4 columns).
__device__ constexpr int merge_warps_per_row(int head_dim) { return (head_dim + 127) / 128; }

// Combines the splits of one (sequence, query head) row `row` for its columns [128 block,
// 128 block + 128) into `out` (a warp), with the row's sink logit `sink` (base 2; -inf for none).
// The lanes read the splits' states and agree on the row's max and weights (warp reductions in a
// fixed order); each lane sums its float4 column over the splits in split order (bitwise
// deterministic). The first AHEAD splits' accumulators are loaded before the states are
// reduced (the weight of an empty split, whose accumulators are zeros, is 0), later ones eight
// at a time.
template <typename T, int AHEAD = MERGE_AHEAD>
__device__ __forceinline__ void merge_row(u64 partial_acc, u64 partial_stats, u64 out, i64 row, int block, int splits,
                                          int head_dim, float sink) {
  const int lane = threadIdx.x % 32, columns = head_dim / 4, c = block * 32 + lane;
  const bool live = c < columns;
  const float2* stats = (const float2*)partial_stats + row * splits;
  const float4* partial = (const float4*)partial_acc + row * splits * columns + (live ? c : 0);
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  static_assert(AHEAD % 8 == 0 && AHEAD <= 32, "groups of 8 after the first AHEAD, within one 32-split weight word");
  float4 ahead[AHEAD];
#pragma unroll
  for (int j = 0; j < AHEAD; ++j) ahead[j] = j < splits ? partial[(i64)j * columns] : zero;

  auto weight_of = [&](float2 split, float base) { return split.y > 0.f ? merge_weight(split.x, base) : 0.f; };
  float total_max = neg_inf();
  for (int s = lane; s < splits; s += 32) total_max = fmaxf(total_max, stats[s].y > 0.f ? stats[s].x : neg_inf());
  total_max = warp_max(total_max);
  const float base = total_max == neg_inf() ? 0.f : total_max;
  float sum = 0.f;
  for (int s = lane; s < splits; s += 32) sum += stats[s].y * weight_of(stats[s], base);
  const float inverse = SoftmaxState{total_max, warp_sum(sum)}.inverse_sum(sink);

  float4 acc = zero;
  auto add = [&](float4 o, float w) {
    if (w > 0.f) {
      acc.x += o.x * w;
      acc.y += o.y * w;
      acc.z += o.z * w;
      acc.w += o.w * w;
    }
  };
  // Lane l holds the weight of split 32 k + l while splits [32 k, 32 k + 32) are summed.
  float weights = lane < splits ? weight_of(stats[lane], base) : 0.f;
#pragma unroll
  for (int j = 0; j < AHEAD; ++j) add(ahead[j], __shfl_sync(0xffffffffu, weights, j));
  for (int s0 = AHEAD; s0 < splits; s0 += 8) {  // groups of 8 never straddle 32
    if (s0 % 32 == 0) weights = s0 + lane < splits ? weight_of(stats[s0 + lane], base) : 0.f;
    float4 o[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) o[j] = s0 + j < splits ? partial[(i64)(s0 + j) * columns] : zero;
#pragma unroll
    for (int j = 0; j < 8; ++j) add(o[j], __shfl_sync(0xffffffffu, weights, (s0 + j) % 32));
  }
  if (live) {  // one 8- or 16-byte store of the four columns
    struct alignas(4 * sizeof(T)) Four {
      T x, y, z, w;
    };
    *(Four*)((T*)out + row * head_dim + 4 * c) = Four{from_float<T>(acc.x * inverse), from_float<T>(acc.y * inverse),
                                                            from_float<T>(acc.z * inverse), from_float<T>(acc.w * inverse)};
  }
}

// The merge grid: a warp per (row, 128 columns).
template <typename T, int AHEAD = MERGE_AHEAD> __device__ void merge_splits(const MergeParams& p) {
  wait_for_prerequisite_grid();  // the partial states are the decode kernel's output
  const int blocks = merge_warps_per_row(p.head_dim), item = blockIdx.x * MERGE_WARPS + threadIdx.x / 32;
  const int row = item / blocks;
  if (row >= p.rows) return;
  const float sink = p.sinks ? ((const float*)p.sinks)[row % p.num_q_heads] * LOG2E : neg_inf();
  merge_row<T, AHEAD>(p.partial_acc, p.partial_stats, p.out, row, item % blocks, p.num_splits, p.head_dim, sink);
}

}  // namespace pal

// A module's two split-merge entries over rows of T: OP_merge, and OP_merge_few for merges of up
// to the host's `MERGE_FEW` splits (`MergeParams::entry` picks; `Family::entries` lists both).
#define PAL_MERGE_ENTRIES(OP, T)                                                                                \
  extern "C" __global__ void __launch_bounds__(pal::MERGE_WARPS * 32) OP##_merge(pal::MergeParams params) {     \
    pal::merge_splits<T>(params);                                                                               \
  }                                                                                                             \
  extern "C" __global__ void __launch_bounds__(pal::MERGE_WARPS * 32) OP##_merge_few(pal::MergeParams params) { \
    pal::merge_splits<T, pal::MERGE_AHEAD_FEW>(params);                                                         \
  }
