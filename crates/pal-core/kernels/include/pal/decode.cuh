// What both decode kernels share: their parameters, the map from a CTA to its work, and the
// merge of split-KV partial states.
//
// Work split: one CTA per (KV head, block of its query heads, sequence, KV split); the query
// heads of one KV head share every K/V tile (GQA). With several splits each CTA writes an
// unnormalised partial state (float32 accumulators, base-2 max and sum per row) and
// `merge_row` combines them in split order (bitwise deterministic): inside the splits' cluster
// where the host launches one (`merge_in_cluster`), else in the merge grid (`merge_splits`).
#pragma once
#include "pal/merge.cuh"
#include "pal/paged.cuh"
#include "pal/softmax.cuh"
#include "pal/variant.cuh"

namespace pal {

struct DecodeParams {
  u64 queries, k_cache, v_cache, page_table, seq_lens, out, partial_acc, partial_stats;
  int num_seqs, num_q_heads, num_kv_heads, pages_per_seq;
  int num_pages, num_splits, tokens_per_split, head_chunks;
  int heads_per_cta;
  int merge_in_cluster;  // the splits of a row group are one cluster and merge there (Hopper on)
  float scale;
  TableErrors errors;
  VariantParams variant;
  KvScaleParams scales;  // fp8 pools (1 and null otherwise)
  // pal values as a 2-D tensor of PAGE_SIZE-slot rows, one row per (page, KV head, dim), for
  // kernels that copy V tiles with TMA (`TMA_V`); zero otherwise.
  TensorMap v_map;
};

// The host mirror's layout (`layout_key`; `cuda/decode.rs`).
constexpr u64 DECODE_PARAMS_LAYOUT =
    layout_key(PAL_OFFSET(DecodeParams, num_seqs), PAL_OFFSET(DecodeParams, scale), PAL_OFFSET(DecodeParams, errors),
               PAL_OFFSET(DecodeParams, variant), PAL_OFFSET(DecodeParams, scales), PAL_OFFSET(DecodeParams, v_map),
               sizeof(DecodeParams));

// One CTA's share: query heads [first_head, first_head + heads) of `kv_head`, tokens
// [begin, end) of sequence `seq` (split `split`), whose query sits at position length - 1 and
// sees keys from `first` on. Splits tile the visible keys from `first` rounded down to GRANULE
// (the kernel's tile), so a window's hidden keys get no CTA; keys in [begin, first) are masked.
struct DecodeTask {
  int seq, split, kv_head, first_head, heads, length, first, begin, end;

  // KV_HEADS: consecutive KV heads a CTA serves (`decode_mma`), `kv_head` the first.
  template <int PAGE_SIZE, typename Variant, int GRANULE, int KV_HEADS = 1>
  __device__ static DecodeTask locate(const DecodeParams& p) {
    DecodeTask task;
    const int group = p.num_q_heads / p.num_kv_heads;
    task.seq = sequence();
    task.split = blockIdx.z;
    task.kv_head = blockIdx.x / p.head_chunks * KV_HEADS;
    task.first_head = task.kv_head * group + (blockIdx.x % p.head_chunks) * p.heads_per_cta;
    task.heads = min(p.heads_per_cta, task.kv_head * group + KV_HEADS * group - task.first_head);
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

// The split merge inside the decode grid (`merge_in_cluster`): the host launches each row
// group's splits (grid z) as one cluster, so once every CTA of it has written its partial state
// (barrier at cluster scope: its release and acquire order those global writes before the reads
// here), the cluster's warps merge the group's rows, a warp per (row, 128 columns), spread over
// the CTAs first. No second launch, and no wait for the whole grid as the merge kernel's.
template <typename T, typename Variant, int HEAD_DIM, int WARPS>
__device__ __forceinline__ void merge_in_cluster(const DecodeParams& p, const DecodeTask& task) {
#if __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::: "memory");
  constexpr int BLOCKS = merge_warps_per_row(HEAD_DIM);
  for (int item = threadIdx.x / 32 * p.num_splits + task.split; item < task.heads * BLOCKS; item += WARPS * p.num_splits) {
    const int h = item / BLOCKS;
    merge_row<T>(p.partial_acc, p.partial_stats, p.out, task.row(p, h), item % BLOCKS, p.num_splits, HEAD_DIM,
                 Variant::sink(p.variant, task.first_head + h));
  }
#endif
}

}  // namespace pal
