// Entry of one tensor-core decode specialisation. The host's kernel key (`cuda/jit.rs`) defines
// the dtypes, head dim, page size, layout, variant and the shape it chose (`cuda/decode.rs`);
// the asserts catch any drift between that choice and the kernel's own formulas. PAL_MIN_CTAS:
// the CTAs per SM the registers are budgeted for.
#include "pal/decode_mma.cuh"

#ifndef PAL_TMA_V
#define PAL_TMA_V 0  // V tiles by tensor copies (`decode_mma`'s TMA_V): set by the host where chosen
#endif
#ifndef PAL_KV_HEADS
#define PAL_KV_HEADS 1  // KV heads a CTA serves (`decode_mma`'s KV_HEADS): set by the host where chosen
#endif

using DecodeMmaShape = pal::DecodeMmaTile<PAL_KV_DTYPE, PAL_HEAD_DIM * PAL_KV_HEADS, PAL_LAYOUT, PAL_M_TILES, PAL_WARPS, PAL_STAGES, PAL_TMA_V>;
static_assert(!PAL_LAYOUT_CHECKED || pal::DECODE_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of DecodeParams");
static_assert(!PAL_LAYOUT_CHECKED || pal::MERGE_PARAMS_LAYOUT == PAL_MERGE_PARAMS_LAYOUT, "host mirror of MergeParams");
static_assert(DecodeMmaShape::SHARED_BYTES == PAL_SHARED_BYTES, "host and kernel agree on shared memory");
static_assert(pal::SAME_TYPE<PAL_QUERY_DTYPE, PAL_KV_DTYPE> || pal::IS_FP8<PAL_KV_DTYPE>, "pools in the queries' dtype, or fp8");

// An explicit minimum of 1 is not the same as none: ptxas then gave the bf16 pal kernel 232
// registers instead of 168 (two CTAs per SM instead of three).
#if PAL_MIN_CTAS > 1
#define PAL_DECODE_BOUNDS __launch_bounds__(PAL_WARPS * 32, PAL_MIN_CTAS)
#else
#define PAL_DECODE_BOUNDS __launch_bounds__(PAL_WARPS * 32)
#endif

// With TMA_V the tensor map is read in place from the parameters (__grid_constant__).
#if PAL_TMA_V
#define PAL_DECODE_PARAMS const __grid_constant__ pal::DecodeParams
#else
#define PAL_DECODE_PARAMS pal::DecodeParams
#endif

extern "C" __global__ void PAL_DECODE_BOUNDS pal_decode(PAL_DECODE_PARAMS params) {
  pal::decode_mma<PAL_QUERY_DTYPE, PAL_KV_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_M_TILES, PAL_WARPS, PAL_STAGES,
                 PAL_EVICT_FIRST, PAL_TMA_V, PAL_KV_HEADS>(params);
}

PAL_MERGE_ENTRIES(pal_decode, PAL_QUERY_DTYPE)
