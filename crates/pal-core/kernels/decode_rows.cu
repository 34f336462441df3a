// Entry of one CUDA-core decode specialisation over float32 pools. Defines come from the host's
// kernel key (`cuda/jit.rs`); the asserts catch drift between the host's shape and the kernel's.
#include "pal/decode_rows.cuh"

using DecodeRowsShape = pal::DecodeRowsTile<PAL_HEAD_DIM, PAL_HEADS, PAL_WARPS, PAL_STAGES>;
static_assert(sizeof(pal::DecodeParams) == PAL_PARAMS_BYTES, "host mirror of DecodeParams");
static_assert(sizeof(pal::MergeParams) == PAL_MERGE_PARAMS_BYTES, "host mirror of MergeParams");
static_assert(DecodeRowsShape::SHARED_BYTES == PAL_SHARED_BYTES, "host and kernel agree on shared memory");
static_assert(DecodeRowsShape::KEYS == PAL_TOKENS, "splits hold whole tiles");

extern "C" __global__ void __launch_bounds__(PAL_WARPS * 32) pal_decode(pal::DecodeParams params) {
  pal::decode_rows<PAL_QUERY_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_HEADS, PAL_WARPS,
                   PAL_STAGES>(params);
}

extern "C" __global__ void __launch_bounds__(pal::MERGE_WARPS * 32) pal_decode_merge(pal::MergeParams params) {
  pal::merge_splits<PAL_QUERY_DTYPE>(params);
}
