// Paged addressing shared by the attention kernels: a sequence's row of the page table, the
// physical page of a token (-1 for ids outside the pool: such tokens are masked, never read),
// and lengths clamped to the table's capacity so that unchecked bad lengths stay in bounds.
#pragma once
#include "pal/common.cuh"

namespace pal {

// Where kernels report the first invalid entry of a device-side table without a host sync
// (`Execution::check` = deferred): a claim word in device memory (device atomics), and a record
// in pinned host memory mapped into the device that only the claim's winner writes. The host
// raises it at the next PAL call on this GPU, then clears both. Null pointers: not reported.
struct TableErrors {
  u64 claim, record;
};
enum TableErrorKind {
  TABLE_ERROR_LENGTH = 1,    // seq_lens / context_lens: row, value
  TABLE_ERROR_PAGE = 2,      // page_table: row, index, value
  TABLE_ERROR_OFFSET = 3,    // cu_seqlens_q: index, value
  TABLE_ERROR_SLOT = 4,      // slot_mapping: index, value
  TABLE_ERROR_POSITION = 5,  // positions: index, value
  TABLE_ERROR_SEQUENCE = 6,  // token_to_seq: index, value
};
enum TableErrorOp { OP_DECODE = 1, OP_PREFILL = 2, OP_FILL = 3 };
// Host record: kind (written last), table row, entry index, value, op.
struct TableErrorRecord {
  int kind, row, index, value, op;
};

__device__ __forceinline__ void report_table_error(TableErrors errors, int op, int kind, int row, int index, int value) {
  if (!errors.claim || atomicCAS((unsigned*)errors.claim, 0u, 1u) != 0u) return;
  volatile TableErrorRecord* record = (volatile TableErrorRecord*)errors.record;
  record->row = row;
  record->index = index;
  record->value = value;
  record->op = op;
  __threadfence_system();
  record->kind = kind;
}

template <int PAGE_SIZE> struct PageRow {
  const int* pages;
  int num_pages, row;

  __device__ __forceinline__ PageRow(u64 page_table, int row_, int pages_per_seq, int num_pages_)
      : pages((const int*)page_table + (i64)row_ * pages_per_seq), num_pages(num_pages_), row(row_) {}
  // Physical page holding token `token`, or -1 when the id is outside the pool.
  __device__ __forceinline__ int page_of(int token) const { return checked(pages[token / PAGE_SIZE]); }
  __device__ __forceinline__ int checked(int page) const { return page >= 0 && page < num_pages ? page : -1; }
  // The same, reporting an invalid id of a token the sequence uses.
  __device__ __forceinline__ int page_of(int token, TableErrors errors, int op) const {
    return checked(pages[token / PAGE_SIZE], token, errors, op);
  }
  // Entry `id` of token `token`, read earlier (before the length was known), checked as above.
  __device__ __forceinline__ int checked(int id, int token, TableErrors errors, int op) const {
    const int page = checked(id);
    if (page < 0) report_table_error(errors, op, TABLE_ERROR_PAGE, row, token / PAGE_SIZE, id);
    return page;
  }
};

// A length read from device memory, clamped to [0, capacity]; one thread reports a bad one.
__device__ __forceinline__ int clamped_length(const int* lengths, int row, int capacity) {
  return max(0, min(lengths[row], capacity));
}
__device__ __forceinline__ int clamped_length(const int* lengths, int row, int capacity, TableErrors errors, int op,
                                              bool reporter) {
  const int length = lengths[row];
  if (reporter && (length < 0 || length > capacity)) report_table_error(errors, op, TABLE_ERROR_LENGTH, row, -1, length);
  return max(0, min(length, capacity));
}

}  // namespace pal
