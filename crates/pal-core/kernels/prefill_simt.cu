// Entry of one CUDA-core prefill specialisation (float32, and fp8 pools under any query dtype).
// Defines come from the host's kernel key (`cuda/jit.rs`); the asserts catch drift between its
// shape and the kernel's.
#include "pal/prefill_simt.cuh"

static_assert(!PAL_LAYOUT_CHECKED || pal::PREFILL_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of PrefillParams");
static_assert(pal::PREFILL_THREADS == PAL_THREADS, "host and kernel agree on the CTA");
static_assert(pal::SAME_TYPE<PAL_QUERY_DTYPE, PAL_KV_DTYPE> || pal::IS_FP8<PAL_KV_DTYPE>,
              "KV pools in the queries' dtype, or fp8");

extern "C" __global__ void __launch_bounds__(PAL_THREADS) pal_prefill(pal::PrefillParams params) {
  pal::prefill_simt<PAL_QUERY_DTYPE, PAL_KV_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_ROWS,
                    PAL_TOKENS>(params);
}
