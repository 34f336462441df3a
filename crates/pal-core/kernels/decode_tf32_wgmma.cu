// Entry of one float32-pool decode specialisation on Hopper's TF32 wgmma (sm_90a; groups of more
// than 16 query heads a KV head). Defines come from the host's kernel key (`cuda/jit.rs`); the
// asserts catch drift between the host's shape and the kernel's.
#include "pal/decode_tf32_wgmma.cuh"

using DecodeTf32WgmmaShape = pal::DecodeTf32WgmmaTile<PAL_HEAD_DIM>;
static_assert(!PAL_LAYOUT_CHECKED || pal::DECODE_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of DecodeParams");
static_assert(!PAL_LAYOUT_CHECKED || pal::MERGE_PARAMS_LAYOUT == PAL_MERGE_PARAMS_LAYOUT, "host mirror of MergeParams");
static_assert(DecodeTf32WgmmaShape::SHARED_BYTES == PAL_SHARED_BYTES, "host and kernel agree on shared memory");
static_assert(DecodeTf32WgmmaShape::HEADS == PAL_HEADS && DecodeTf32WgmmaShape::WARPS == PAL_WARPS, "host and kernel agree on the CTA");
static_assert(DecodeTf32WgmmaShape::KEYS == PAL_TOKENS, "splits hold whole tiles");

extern "C" __global__ void __launch_bounds__(PAL_WARPS * 32, PAL_MIN_CTAS) pal_decode(pal::DecodeParams params) {
  pal::decode_tf32_wgmma<PAL_QUERY_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT>(params);
}

PAL_MERGE_ENTRIES(pal_decode, PAL_QUERY_DTYPE)
