// Entry of one float32-pool decode specialisation: on CUDA cores (`decode_rows`), or for groups
// of 16 query heads and more on TF32 tensor cores (`decode_tf32`, PAL_TF32). Defines come from the
// host's kernel key (`cuda/jit.rs`); the asserts catch drift between the host's shape and the
// kernel's.
#include "pal/decode_rows.cuh"
#include "pal/decode_tf32.cuh"

#ifndef PAL_TF32
#define PAL_TF32 0
#endif

#if PAL_TF32
using DecodeRowsShape = pal::DecodeTf32Tile<PAL_HEAD_DIM, PAL_WARPS, PAL_STAGES>;
static_assert(DecodeRowsShape::HEADS == PAL_HEADS, "8 query heads a warp");
#define PAL_DECODE_BOUNDS __launch_bounds__(PAL_WARPS * 32, PAL_MIN_CTAS)
#define PAL_DECODE_KERNEL pal::decode_tf32<PAL_QUERY_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_WARPS, PAL_STAGES>
#else
using DecodeRowsShape = pal::DecodeRowsTile<PAL_HEAD_DIM, PAL_HEADS, PAL_WARPS, PAL_STAGES>;
#define PAL_DECODE_BOUNDS __launch_bounds__(PAL_WARPS * 32)
#define PAL_DECODE_KERNEL pal::decode_rows<PAL_QUERY_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_HEADS, PAL_WARPS, PAL_STAGES>
#endif
static_assert(!PAL_LAYOUT_CHECKED || pal::DECODE_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of DecodeParams");
static_assert(!PAL_LAYOUT_CHECKED || pal::MERGE_PARAMS_LAYOUT == PAL_MERGE_PARAMS_LAYOUT, "host mirror of MergeParams");
static_assert(DecodeRowsShape::SHARED_BYTES == PAL_SHARED_BYTES, "host and kernel agree on shared memory");
static_assert(DecodeRowsShape::KEYS == PAL_TOKENS, "splits hold whole tiles");

extern "C" __global__ void PAL_DECODE_BOUNDS pal_decode(pal::DecodeParams params) { PAL_DECODE_KERNEL(params); }

PAL_MERGE_ENTRIES(pal_decode, PAL_QUERY_DTYPE)
