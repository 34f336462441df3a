// fill_kv_pages: writes new tokens' keys and values into the pools in place.
//
// One thread per 16-byte vector of one (token, KV head): coalesced reads of the new rows, and
// 16-byte writes wherever the layout keeps the row contiguous (all keys, nhd/hnd values); pal
// values are [dim][slot], so those are element writes. A token whose destination is invalid is
// skipped and reported (deferred check; check=True validates before launch instead), so nothing
// is written out of bounds. H200 (2026-11-29, bf16, pal, check=False): 0.41 / 0.46 TB/s of read +
// write at 4096 / 32768 random slots, 10-11% of device copy in that run (issue 12 aims at 90%).
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

template <typename T, int LAYOUT> __device__ void fill(const FillParams& p) {
  constexpr int VEC = Vec<T>::N;
  const int vectors = p.head_dim / VEC;
  const i64 total = (i64)p.num_tokens * p.num_kv_heads * vectors;
  const CacheAddress<LAYOUT, T> at{p.num_kv_heads, p.head_dim, p.page_size};
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
    const int token = (int)(i / ((i64)p.num_kv_heads * vectors));
    const int head = (int)(i / vectors % p.num_kv_heads);
    const int dim = (int)(i % vectors) * VEC;
    i64 page, slot;
    // A bad destination is skipped, and reported once per token (by its first vector).
    const bool reporter = i % ((i64)p.num_kv_heads * vectors) == 0;
    auto skip = [&](int kind, int row, int index, int value) {
      if (reporter) report_table_error(p.errors, OP_FILL, kind, row, index, value);
    };
    if (p.use_slot_mapping) {
      const int flat = ((const int*)p.slot_mapping)[token];
      if (flat < 0) continue;  // padding (vLLM): not an error
      if (flat >= (i64)p.num_pages * p.page_size) {
        skip(TABLE_ERROR_SLOT, -1, token, flat);
        continue;
      }
      page = flat / p.page_size;
      slot = flat % p.page_size;
    } else {
      const int seq = ((const int*)p.token_to_seq)[token];
      const int position = ((const int*)p.positions)[token];
      if (seq < 0 || seq >= p.num_seqs) {
        skip(TABLE_ERROR_SEQUENCE, -1, token, seq);
        continue;
      }
      if (position < 0 || position >= p.pages_per_seq * p.page_size) {
        skip(TABLE_ERROR_POSITION, -1, token, position);
        continue;
      }
      const int id = ((const int*)p.page_table)[(i64)seq * p.pages_per_seq + position / p.page_size];
      if (id < 0 || id >= p.num_pages) {
        skip(TABLE_ERROR_PAGE, seq, position / p.page_size, id);
        continue;
      }
      page = id;
      slot = position % p.page_size;
    }
    const i64 src = ((i64)token * p.num_kv_heads + head) * p.head_dim + dim;
    *(uint4*)((T*)p.k_cache + at.key(page, head, (int)slot, dim)) = *(const uint4*)((const T*)p.keys + src);
    Pack<T> v;
    v.raw = *(const uint4*)((const T*)p.values + src);
    if (LAYOUT == LAYOUT_PAL) {
      for (int j = 0; j < VEC; ++j) ((T*)p.v_cache)[at.value(page, head, (int)slot, dim + j)] = v.elems[j];
    } else {
      *(uint4*)((T*)p.v_cache + at.value(page, head, (int)slot, dim)) = v.raw;
    }
  }
}

}  // namespace pal
