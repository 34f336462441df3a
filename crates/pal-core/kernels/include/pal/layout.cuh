// Element addressing of the three cache layouts (SPEC §2). `X` is the pal key stripe (16 bytes).
#pragma once
#include "pal/common.cuh"

namespace pal {

enum Layout { LAYOUT_PAL = 0, LAYOUT_NHD = 1, LAYOUT_HND = 2 };

template <int LAYOUT, typename T> struct CacheAddress {
  static constexpr int X = Vec<T>::N;
  int num_kv_heads, head_dim, page_size;

  // Offset of key element `dim` of token `slot` of `page`, head `head`.
  __device__ __forceinline__ u64 key(i64 page, int head, int slot, int dim) const {
    if (LAYOUT == LAYOUT_PAL)
      return ((((u64)page * num_kv_heads + head) * (head_dim / X) + dim / X) * page_size + slot) * X + dim % X;
    return value(page, head, slot, dim);
  }

  // The same offsets from the start of head 0 of a page, in int arithmetic (a page is small;
  // signed arithmetic lets a sum of such offsets keep its constant parts as immediates).
  __device__ __forceinline__ int key_in_page(int slot, int dim) const {
    if (LAYOUT == LAYOUT_PAL) return ((dim / X) * page_size + slot) * X + dim % X;
    return value_in_page(slot, dim);
  }
  __device__ __forceinline__ int value_in_page(int slot, int dim) const {
    if (LAYOUT == LAYOUT_PAL) return dim * page_size + slot;
    if (LAYOUT == LAYOUT_NHD) return slot * num_kv_heads * head_dim + dim;
    return slot * head_dim + dim;
  }

  __device__ __forceinline__ u64 value(i64 page, int head, int slot, int dim) const {
    if (LAYOUT == LAYOUT_PAL) return (((u64)page * num_kv_heads + head) * head_dim + dim) * page_size + slot;
    if (LAYOUT == LAYOUT_NHD) return (((u64)page * page_size + slot) * num_kv_heads + head) * head_dim + dim;
    return (((u64)page * num_kv_heads + head) * page_size + slot) * head_dim + dim;
  }
};

}  // namespace pal
