// Entry of one CUDA-core decode specialisation (float32, and fp8 pools under any query dtype).
// Defines come from the host's kernel key (`cuda/jit.rs`); the asserts catch drift between the
// host's shape and the kernel's.
#include "pal/decode_simt.cuh"

using DecodeSimtShape = pal::DecodeSimtTile<PAL_QUERY_DTYPE, PAL_HEAD_DIM, PAL_HEADS, PAL_TOKENS>;
static_assert(!PAL_LAYOUT_CHECKED || pal::DECODE_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of DecodeParams");
static_assert(!PAL_LAYOUT_CHECKED || pal::MERGE_PARAMS_LAYOUT == PAL_MERGE_PARAMS_LAYOUT, "host mirror of MergeParams");
static_assert(DecodeSimtShape::THREADS == PAL_THREADS, "host and kernel agree on the block");
static_assert(pal::SAME_TYPE<PAL_QUERY_DTYPE, PAL_KV_DTYPE> || pal::IS_FP8<PAL_KV_DTYPE>,
              "KV pools in the queries' dtype, or fp8");

extern "C" __global__ void __launch_bounds__(PAL_THREADS) pal_decode(pal::DecodeParams params) {
  pal::decode_simt<PAL_QUERY_DTYPE, PAL_KV_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_HEADS,
                   PAL_TOKENS>(params);
}

PAL_MERGE_ENTRIES(pal_decode, PAL_QUERY_DTYPE)
