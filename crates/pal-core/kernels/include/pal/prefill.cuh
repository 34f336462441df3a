// Paged prefill: what every prefill kernel shares — its parameters and the map from a CTA to its
// work (one KV head, a block of its query heads, a block of one sequence's prompt tokens).
//
// Scheduling without host knowledge of the prompt lengths (they may live on the GPU): virtual
// tile `b + cu[b] / TOKENS + k` is tile `k` of sequence `b`. Those ranges never overlap, and
// `num_seqs + total_tokens / TOKENS` of them cover every sequence, so the grid is linear in the
// batch whatever its raggedness; the few CTAs that fall in a gap exit at once. CTAs run from the
// last virtual tile to the first: the late, long-history tiles of each sequence start first and
// the short ones fill the tail.
#pragma once
#include "pal/layout.cuh"
#include "pal/mma.cuh"
#include "pal/paged.cuh"
#include "pal/variant.cuh"

namespace pal {

struct PrefillParams {
  u64 q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens, out;
  int num_seqs, num_q_heads, num_kv_heads, pages_per_seq;
  int num_pages, total_tokens, equal_prompt_len, head_blocks;
  int heads_per_cta, tokens_per_cta, num_tiles;
  float scale;
  TableErrors errors;
  VariantParams variant;
  KvScaleParams scales;  // fp8 pools (1 and null otherwise)
  // The persistent kernel's item counter and finished-CTA count (two zeroed words, left zeroed
  // by the last CTA); unused by the others.
  u64 schedule;
  // Split-KV (the portable kernel, `num_splits` > 1): CTA x serves item x % items over split x /
  // items of its keys, writing partial states for `merge_splits` (merge.cuh) instead of `out`.
  u64 partial_acc, partial_stats;
  int num_splits;
  // Hopper's producer with tensor copies (`TMA`): q as (dims, heads, tokens), k and v as
  // (KV heads x dims, tokens); zero otherwise.
  TensorMap q_map, k_map, v_map;
};

// The host mirror's layout (`layout_key`; `cuda/prefill.rs`).
constexpr u64 PREFILL_PARAMS_LAYOUT =
    layout_key(PAL_OFFSET(PrefillParams, num_seqs), PAL_OFFSET(PrefillParams, scale), PAL_OFFSET(PrefillParams, errors),
               PAL_OFFSET(PrefillParams, variant), PAL_OFFSET(PrefillParams, scales), PAL_OFFSET(PrefillParams, schedule),
               PAL_OFFSET(PrefillParams, num_splits), PAL_OFFSET(PrefillParams, q_map), sizeof(PrefillParams));

constexpr int PREFILL_THREADS = 128;

// One CTA's share: query heads [first_head, first_head + heads) of `kv_head` (rows of the CTA
// are (token, head) pairs, `heads_per_cta` apart), prompt tokens [first_token, end_token) of
// sequence `seq`, whose prompt starts at row `prompt_begin` of q and whose history has
// `history` tokens.
// Query row r of a CTA holds token r / heads_per_cta, head r % heads_per_cta. The divisor is a
// runtime value: a multiply-high by ceil(2^32 / d), exact for r * d < 2^32 (rows and vectors
// of a CTA are far fewer than 2^16), costs a few instructions where a division costs twenty.
struct RowSplit {
  int spacing;
  u64 inverse;
  __device__ explicit RowSplit(int spacing_) : spacing(spacing_), inverse(0xffffffffu / (u32)spacing_ + 1ull) {}
  __device__ __forceinline__ int token(int r) const { return (int)(((u64)(u32)r * inverse) >> 32); }
  __device__ __forceinline__ int head(int r) const { return r - token(r) * spacing; }
};

struct PrefillTask {
  int seq, kv_head, first_head, heads;
  int prompt_begin, first_token, end_token, history;
  __device__ bool empty() const { return first_token >= end_token; }
  // Keys the CTA's last token sees.
  __device__ int keys() const { return history + end_token; }
};

// Item `work` of the launch (a CTA's own: blockIdx.x; a persistent CTA's: each it takes).
template <int PAGE_SIZE> __device__ PrefillTask locate_prefill_task(const PrefillParams& p, int work = blockIdx.x) {
  const int* cu = (const int*)p.cu_seqlens;
  auto prompt_start = [&](int b) { return cu ? cu[b] : b * p.equal_prompt_len; };
  const int tile = p.num_tiles - 1 - work / p.head_blocks;
  const int head_block = work % p.head_blocks;
  const int per = p.tokens_per_cta;
  // The last sequence whose first virtual tile is at or before `tile`. Offsets are clamped so
  // that unchecked, malformed ones stay inside q.
  auto clamp_offset = [&](int o) { return max(0, min(o, p.total_tokens)); };
  int lo = 0, hi = p.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (mid + clamp_offset(prompt_start(mid)) / per <= tile) lo = mid;
    else hi = mid - 1;
  }
  PrefillTask task;
  task.seq = lo;
  task.prompt_begin = clamp_offset(prompt_start(lo));
  const int prompt_len = max(0, clamp_offset(prompt_start(lo + 1)) - task.prompt_begin);
  const bool reporter = threadIdx.x == 0;
  if (reporter && cu) {
    for (int b = lo; b <= lo + 1; ++b)  // offsets out of range or decreasing
      if (cu[b] < 0 || cu[b] > p.total_tokens || (b > 0 && cu[b] < cu[b - 1]))
        report_table_error(p.errors, OP_PREFILL, TABLE_ERROR_OFFSET, -1, b, cu[b]);
  }
  task.first_token = (tile - lo - task.prompt_begin / per) * per;
  task.end_token = min(prompt_len, task.first_token + per);
  if (task.first_token < 0) task.first_token = task.end_token = 0;  // only with malformed offsets
  const int group = p.num_q_heads / p.num_kv_heads;
  const int chunks = p.head_blocks / p.num_kv_heads;
  task.kv_head = head_block / chunks;
  task.first_head = task.kv_head * group + (head_block % chunks) * p.heads_per_cta;
  task.heads = min(p.heads_per_cta, task.kv_head * group + group - task.first_head);
  // Clamped to the page table's capacity: an unchecked bad length never reads past its row.
  task.history = clamped_length((const int*)p.context_lens, lo, p.pages_per_seq * PAGE_SIZE, p.errors, OP_PREFILL, reporter);
  return task;
}

// The general gather of the tensor-core prefills' K / V tiles (boundary tiles: a sequence's
// history-to-prompt tile, its last tile, a window's first): 16-byte chunk `c` (8 dims) of key
// `key` into `destination`, from the pool (history), from the prompt rows (`prompt_row(key)`:
// the row's offset in k / v), or zeros (before the window, past the keys, on an invalid page).
// pal value pages are [dim][slot], so those rows come element by element.
template <bool VALUES, typename Variant, int PAGE_SIZE, int LAYOUT, typename T, typename PromptRow>
__device__ __forceinline__ void gather_chunk(T* destination, const T* pool, const T* prompt, const CacheAddress<LAYOUT, T>& at,
                                             const PageRow<PAGE_SIZE>& pages, int kv_head, int key, int c, int history,
                                             int keys, int lowest_first, const PromptRow& prompt_row) {
  const T* source = nullptr;
  if (Variant::HAS_WINDOW && key < lowest_first) {
  } else if (key < history) {
    const int page = pages.page_of(key), slot = key % PAGE_SIZE;
    if constexpr (VALUES && LAYOUT == LAYOUT_PAL) {
      Pack<T> row = zero_pack<T>();
      if (page >= 0)
        for (int e = 0; e < 8; ++e) row.elems[e] = pool[at.value(page, kv_head, slot, c * 8 + e)];
      *(uint4*)destination = row.raw;
      return;
    }
    if (page >= 0) source = pool + (VALUES ? at.value(page, kv_head, slot, c * 8) : at.key(page, kv_head, slot, c * 8));
  } else if (key < keys) {
    source = prompt + prompt_row(key) + c * 8;
  }
  copy_async_16(destination, source ? source : pool, source != nullptr);
}

}  // namespace pal
