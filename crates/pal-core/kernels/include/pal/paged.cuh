// Paged addressing shared by the attention kernels: a sequence's row of the page table, the
// physical page of a token (-1 for ids outside the pool: such tokens are masked, never read),
// and lengths clamped to the table's capacity so that unchecked bad lengths stay in bounds.
#pragma once
#include "pal/common.cuh"

namespace pal {

template <int PAGE_SIZE> struct PageRow {
  const int* pages;
  int num_pages;

  __device__ __forceinline__ PageRow(u64 page_table, int row, int pages_per_seq, int num_pages_)
      : pages((const int*)page_table + (i64)row * pages_per_seq), num_pages(num_pages_) {}
  // Physical page holding token `token`, or -1 when the id is outside the pool.
  __device__ __forceinline__ int page_of(int token) const { return checked(pages[token / PAGE_SIZE]); }
  __device__ __forceinline__ int checked(int page) const { return page >= 0 && page < num_pages ? page : -1; }
};

// A length read from device memory, clamped to [0, capacity].
__device__ __forceinline__ int clamped_length(const int* lengths, int row, int capacity) {
  return max(0, min(lengths[row], capacity));
}

}  // namespace pal
