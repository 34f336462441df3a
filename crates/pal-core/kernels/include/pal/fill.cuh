// fill_kv_pages: writes new tokens' keys and values into the pools in place.
//
// Work split: one CTA per (tile of 32 new tokens, KV head, 128-byte chunk of the head row),
// numbered chunk-fastest so that CTAs resident together cover whole rows. Warp 0 resolves the
// tile's destinations once (page and slot, or -1: skipped) while every thread's 16-byte loads of
// the new rows are in flight. nhd / hnd rows are contiguous: loads go straight to 16-byte stores.
// In `pal` both pools are slot-minor (keys [dim/x][slot][x], values [dim][slot]), so the chunk is
// staged in shared memory and written across tokens: key stripes with lanes over tokens, and
// values as one 16-byte vector per dim for each group of x tokens in consecutive slots of a page
// (a prefill chunk: whole sectors), else one element per token (the decode step's one token per
// sequence, scattered by the layout's nature). Staging rows are 33 words apart: the column reads
// hit distinct banks.
// Traffic: the new rows once, the pool bytes once. A token whose destination is invalid is
// skipped and reported (deferred check; check=True validates before launch), so nothing is
// written out of bounds.
// H200 (2026-11-29, bf16, read + write bytes, FlashInfer's append_paged_kv_cache in the same run):
// pal 2.39 / 3.63 TB/s at 4096 / 32768 tokens (1.03x / 1.00x FlashInfer, 86% of device copy at
// 32768), nhd 2.44 / 3.56; one token for each of 256 sequences 0.21 (pal) / 0.35 (nhd) TB/s.
#pragma once
#include "pal/common.cuh"
#include "pal/layout.cuh"
#include "pal/paged.cuh"

namespace pal {

struct FillParams {
  u64 keys, values, k_cache, v_cache, page_table, positions, token_to_seq, slot_mapping;
  int num_tokens, num_kv_heads, head_dim, page_size;
  int num_seqs, pages_per_seq, num_pages, use_slot_mapping;
  TableErrors errors;
};

// Tokens per CTA and bytes of a token's head row per CTA (the host sizes the grid from both).
constexpr int FILL_TOKENS = 32;
constexpr int FILL_CHUNK_BYTES = 128;

// Physical page and slot of new token `token`, or page -1 when its destination is invalid
// (reported when `report`) or padding (slot_mapping -1, vLLM's convention: not an error).
__device__ __forceinline__ void fill_destination(const FillParams& p, int token, bool report, int& page, int& slot) {
  page = -1;
  slot = 0;
  auto skip = [&](int kind, int row, int index, int value) {
    if (report) report_table_error(p.errors, OP_FILL, kind, row, index, value);
  };
  if (p.use_slot_mapping) {
    const int flat = ((const int*)p.slot_mapping)[token];
    if (flat < 0) return;
    if (flat >= (i64)p.num_pages * p.page_size) return skip(TABLE_ERROR_SLOT, -1, token, flat);
    page = flat / p.page_size;
    slot = flat % p.page_size;
    return;
  }
  const int seq = ((const int*)p.token_to_seq)[token];
  const int position = ((const int*)p.positions)[token];
  if (seq < 0 || seq >= p.num_seqs) return skip(TABLE_ERROR_SEQUENCE, -1, token, seq);
  if (position < 0 || position >= p.pages_per_seq * p.page_size) return skip(TABLE_ERROR_POSITION, -1, token, position);
  const int id = ((const int*)p.page_table)[(i64)seq * p.pages_per_seq + position / p.page_size];
  if (id < 0 || id >= p.num_pages) return skip(TABLE_ERROR_PAGE, seq, position / p.page_size, id);
  page = id;
  slot = position % p.page_size;
}

template <typename T, int LAYOUT, int THREADS> __device__ void fill(const FillParams& p) {
  constexpr int VEC = Vec<T>::N;
  constexpr int CHUNK_VECS = FILL_CHUNK_BYTES / 16;
  constexpr int ROW_WORDS = FILL_CHUNK_BYTES / 4 + 1;
  constexpr int LOADS = FILL_TOKENS * CHUNK_VECS / THREADS;
  static_assert(LOADS * THREADS == FILL_TOKENS * CHUNK_VECS, "whole vectors per thread");
  static_assert(FILL_TOKENS == 32, "warp 0 resolves the tile, a lane per token");
  __shared__ int page_of[FILL_TOKENS], slot_of[FILL_TOKENS];
  __shared__ u32 whole_groups;
  __shared__ u32 staged[LAYOUT == LAYOUT_PAL ? 2 : 1][LAYOUT == LAYOUT_PAL ? FILL_TOKENS * ROW_WORDS : 1];

  // Chunk, then head, then tile: CTAs resident together cover whole token rows of the new keys
  // and values and whole slot rows of nhd pages (neighbouring DRAM bytes), not one head's
  // 128 bytes out of every row.
  const int chunks = (p.head_dim * (int)sizeof(T) + FILL_CHUNK_BYTES - 1) / FILL_CHUNK_BYTES;
  const int chunk = blockIdx.x % chunks, head = blockIdx.x / chunks % p.num_kv_heads;
  const int first = blockIdx.x / chunks / p.num_kv_heads * FILL_TOKENS;
  const int dim0 = chunk * (FILL_CHUNK_BYTES / (int)sizeof(T));
  const int vectors = min(CHUNK_VECS, (p.head_dim - dim0) / VEC);
  const CacheAddress<LAYOUT, T> at{p.num_kv_heads, p.head_dim, p.page_size};

  // The tile's rows, token-major (16-byte vectors along the dim): coalesced reads.
  uint4 key[LOADS], value[LOADS];
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i / CHUNK_VECS, v = i % CHUNK_VECS;
    key[j] = value[j] = make_uint4(0, 0, 0, 0);
    if (first + t < p.num_tokens && v < vectors) {
      const i64 src = ((i64)(first + t) * p.num_kv_heads + head) * p.head_dim + dim0 + v * VEC;
      key[j] = *(const uint4*)((const T*)p.keys + src);
      value[j] = *(const uint4*)((const T*)p.values + src);
    }
  }
  if (threadIdx.x < FILL_TOKENS) {
    const int t = threadIdx.x;
    int page = -1, slot = 0;
    if (first + t < p.num_tokens) fill_destination(p, first + t, head == 0 && chunk == 0, page, slot);
    page_of[t] = page;
    slot_of[t] = slot;
    // pal values: a group of VEC tokens in consecutive slots of one page from a multiple of VEC
    // is one 16-byte vector per dim.
    const int lead = t - t % VEC;
    const int lead_page = __shfl_sync(0xffffffffu, page, lead), lead_slot = __shfl_sync(0xffffffffu, slot, lead);
    const u32 run = __ballot_sync(0xffffffffu, page >= 0 && page == lead_page && slot == lead_slot + t % VEC &&
                                                   lead_slot % VEC == 0);
    if (t == 0) {
      u32 whole = 0;
      for (int g = 0; g < FILL_TOKENS / VEC; ++g)
        if ((run >> (g * VEC) & ((1u << VEC) - 1)) == (1u << VEC) - 1) whole |= 1u << g;
      whole_groups = whole;
    }
  }
  if (LAYOUT != LAYOUT_PAL) {
    __syncthreads();
#pragma unroll
    for (int j = 0; j < LOADS; ++j) {
      const int i = threadIdx.x + j * THREADS, t = i / CHUNK_VECS, v = i % CHUNK_VECS;
      const int page = page_of[t];
      if (page < 0 || v >= vectors) continue;
      const u64 dst = at.value(page, head, slot_of[t], dim0 + v * VEC);
      *(uint4*)((T*)p.k_cache + dst) = key[j];
      *(uint4*)((T*)p.v_cache + dst) = value[j];
    }
    return;
  }

  // pal: stage the chunk (row t of `staged` holds token t's bytes), then write slot-minor.
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i / CHUNK_VECS, v = i % CHUNK_VECS;
    u32* k = &staged[0][t * ROW_WORDS + v * 4];
    u32* w = &staged[1][t * ROW_WORDS + v * 4];
    k[0] = key[j].x, k[1] = key[j].y, k[2] = key[j].z, k[3] = key[j].w;
    w[0] = value[j].x, w[1] = value[j].y, w[2] = value[j].z, w[3] = value[j].w;
  }
  __syncthreads();
  // Keys: 16-byte stripes, lanes over tokens (a page's slots of one stripe are contiguous).
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i % FILL_TOKENS, v = i / FILL_TOKENS;
    const int page = page_of[t];
    if (page < 0 || v >= vectors) continue;
    const u32* k = &staged[0][t * ROW_WORDS + v * 4];
    *(uint4*)((T*)p.k_cache + at.key(page, head, slot_of[t], dim0 + v * VEC)) = make_uint4(k[0], k[1], k[2], k[3]);
  }
  // Values: per group of VEC tokens and dim, one 16-byte store where the group is whole, else
  // one store per token. Lanes over groups first: lane pairs fill a 32-byte sector of a page.
  constexpr int GROUPS = FILL_TOKENS / VEC, ELEMS = FILL_CHUNK_BYTES / sizeof(T);
  static_assert(GROUPS * ELEMS % THREADS == 0, "whole (group, dim) items per thread");
  const int elems = vectors * VEC;
  const u32 whole = whole_groups;
#pragma unroll
  for (int j = 0; j < GROUPS * ELEMS / THREADS; ++j) {
    const int i = threadIdx.x + j * THREADS, g = i % GROUPS, e = i / GROUPS, t0 = g * VEC;
    if (e >= elems) continue;
    const T* column = (const T*)&staged[1][t0 * ROW_WORDS] + e;
    if (whole >> g & 1) {
      Pack<T> pack;
#pragma unroll
      for (int k = 0; k < VEC; ++k) pack.elems[k] = column[k * ROW_WORDS * 4 / (int)sizeof(T)];
      *(uint4*)((T*)p.v_cache + at.value(page_of[t0], head, slot_of[t0], dim0 + e)) = pack.raw;
      continue;
    }
    for (int k = 0; k < VEC; ++k) {
      const int page = page_of[t0 + k];
      if (page >= 0) ((T*)p.v_cache)[at.value(page, head, slot_of[t0 + k], dim0 + e)] = column[k * ROW_WORDS * 4 / (int)sizeof(T)];
    }
  }
}

}  // namespace pal
