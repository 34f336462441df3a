// What both decode kernels share: their parameters, the map from a CTA to its work, and the
// merge of split-KV partial states.
//
// Work split: one CTA per (KV head, block of its query heads, sequence, KV split); the query
// heads of one KV head share every K/V tile (GQA). With several splits each CTA writes an
// unnormalised partial state (float32 accumulators, base-2 max and sum per row) and
// `merge_splits` combines them in split order (bitwise deterministic).
#pragma once
#include "pal/paged.cuh"
#include "pal/softmax.cuh"
#include "pal/variant.cuh"

namespace pal {

struct DecodeParams {
  u64 queries, k_cache, v_cache, page_table, seq_lens, out, partial_acc, partial_stats;
  int num_seqs, num_q_heads, num_kv_heads, pages_per_seq;
  int num_pages, num_splits, tokens_per_split, head_chunks;
  int heads_per_cta;
  float scale;
  TableErrors errors;
  VariantParams variant;
  KvScaleParams scales;  // fp8 pools (1 and null otherwise)
  // pal values as a 2-D tensor of PAGE_SIZE-slot rows, one row per (page, KV head, dim), for
  // kernels that copy V tiles with TMA (`TMA_V`); zero otherwise.
  TensorMap v_map;
};

// One CTA's share: query heads [first_head, first_head + heads) of `kv_head`, tokens
// [begin, end) of sequence `seq` (split `split`), whose query sits at position length - 1 and
// sees keys from `first` on. Splits tile the visible keys from `first` rounded down to GRANULE
// (the kernel's tile), so a window's hidden keys get no CTA; keys in [begin, first) are masked.
struct DecodeTask {
  int seq, split, kv_head, first_head, heads, length, first, begin, end;

  template <int PAGE_SIZE, typename Variant, int GRANULE> __device__ static DecodeTask locate(const DecodeParams& p) {
    DecodeTask task;
    const int group = p.num_q_heads / p.num_kv_heads;
    task.seq = sequence();
    task.split = blockIdx.z;
    task.kv_head = blockIdx.x / p.head_chunks;
    task.first_head = task.kv_head * group + (blockIdx.x % p.head_chunks) * p.heads_per_cta;
    task.heads = min(p.heads_per_cta, task.kv_head * group + group - task.first_head);
    const bool reporter = threadIdx.x == 0 && blockIdx.x == 0 && blockIdx.z == 0;
    task.length = clamped_length((const int*)p.seq_lens, task.seq, p.pages_per_seq * PAGE_SIZE, p.errors, OP_DECODE, reporter);
    task.first = Variant::first_visible(p.variant, task.length - 1);
    task.begin = task.first / GRANULE * GRANULE + begin_without_window(p);
    task.end = min(task.length, task.begin + p.tokens_per_split);
    return task;
  }
  __device__ static int sequence() { return blockIdx.y; }
  // `begin` when the variant has no window (then `first` is 0): known before the length.
  __device__ static int begin_without_window(const DecodeParams& p) { return blockIdx.z * p.tokens_per_split; }
  // Output row (sequence, query head) of head `h` of this CTA.
  __device__ i64 row(const DecodeParams& p, int h) const { return (i64)seq * p.num_q_heads + first_head + h; }
};

// Writes row `row`'s result for dims [dim, dim + N): the normalised output with one split, else
// this split's unnormalised accumulators (its state goes to `partial_stats` separately).
template <typename T, int N>
__device__ __forceinline__ void store_decode_row(const DecodeParams& p, i64 row, int split, int head_dim, int dim,
                                                 const float (&acc)[N], float inverse_sum) {
  if (p.num_splits == 1) {
    if constexpr (N * sizeof(T) == 16) {
      Pack<T> pack;
#pragma unroll
      for (int i = 0; i < N; ++i) pack.elems[i] = from_float<T>(acc[i] * inverse_sum);
      *(uint4*)((T*)p.out + row * head_dim + dim) = pack.raw;
    } else {
#pragma unroll
      for (int i = 0; i < N; ++i) ((T*)p.out)[row * head_dim + dim + i] = from_float<T>(acc[i] * inverse_sum);
    }
  } else {
    float* partial = (float*)p.partial_acc + (row * p.num_splits + split) * head_dim + dim;
    if constexpr (N % 4 == 0) {  // 16-byte stores: scalar ones wrote each 32-byte sector 8 times
#pragma unroll
      for (int i = 0; i < N; i += 4) *(float4*)(partial + i) = make_float4(acc[i], acc[i + 1], acc[i + 2], acc[i + 3]);
    } else {
#pragma unroll
      for (int i = 0; i < N; ++i) partial[i] = acc[i];
    }
  }
}

__device__ __forceinline__ void store_decode_state(const DecodeParams& p, i64 row, int split, SoftmaxState state) {
  if (p.num_splits > 1) ((float2*)p.partial_stats)[row * p.num_splits + split] = make_float2(state.max, state.sum);
}

struct MergeParams {
  u64 partial_acc, partial_stats, out, sinks;  // sinks: [num_q_heads] float32, or 0
  int rows, num_splits, head_dim, num_q_heads;
};

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
// Warps of the merge grid: one per 128 float32 columns of a row (lanes hold float4 columns).
__device__ constexpr int merge_warps_per_row(int head_dim) { return (head_dim + 127) / 128; }

// Combines the splits of one (sequence, query head) row, 128 columns per warp. The lanes read
// the splits' states and agree on the row's max and weights (warp reductions in a fixed order);
// each lane sums its float4 column over the splits in split order (bitwise deterministic). The
// first MERGE_AHEAD splits' accumulators are loaded before the states are reduced (the weight
// of an empty split, whose accumulators are zeros, is 0), later ones eight at a time.
template <typename T> __device__ void merge_splits(const MergeParams& p) {
  wait_for_prerequisite_grid();  // the partial states are the decode kernel's output
  const int blocks = merge_warps_per_row(p.head_dim), item = blockIdx.x * MERGE_WARPS + threadIdx.x / 32;
  const int row = item / blocks, lane = threadIdx.x % 32;
  if (row >= p.rows) return;
  const int columns = p.head_dim / 4, c = item % blocks * 32 + lane, splits = p.num_splits;
  const bool live = c < columns;
  const float2* stats = (const float2*)p.partial_stats + (i64)row * splits;
  const float4* partial = (const float4*)p.partial_acc + (i64)row * splits * columns + (live ? c : 0);
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  float4 ahead[MERGE_AHEAD];
#pragma unroll
  for (int j = 0; j < MERGE_AHEAD; ++j) ahead[j] = j < splits ? partial[(i64)j * columns] : zero;

  auto weight_of = [&](float2 split, float base) { return split.y > 0.f ? merge_weight(split.x, base) : 0.f; };
  float total_max = neg_inf();
  for (int s = lane; s < splits; s += 32) total_max = fmaxf(total_max, stats[s].y > 0.f ? stats[s].x : neg_inf());
  total_max = warp_max(total_max);
  const float base = total_max == neg_inf() ? 0.f : total_max;
  float sum = 0.f;
  for (int s = lane; s < splits; s += 32) sum += stats[s].y * weight_of(stats[s], base);
  const float sink = p.sinks ? ((const float*)p.sinks)[row % p.num_q_heads] * LOG2E : neg_inf();
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
  for (int j = 0; j < MERGE_AHEAD; ++j) add(ahead[j], __shfl_sync(0xffffffffu, weights, j));
  for (int s0 = MERGE_AHEAD; s0 < splits; s0 += 8) {  // groups of 8 never straddle 32
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
    *(Four*)((T*)p.out + (i64)row * p.head_dim + 4 * c) = Four{from_float<T>(acc.x * inverse), from_float<T>(acc.y * inverse),
                                                            from_float<T>(acc.z * inverse), from_float<T>(acc.w * inverse)};
  }
}

}  // namespace pal
