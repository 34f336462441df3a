// Entry of one CUDA-core prefill specialisation (float32). Defines come from the host's kernel
// key (`cuda/jit.rs`); the asserts catch drift between its shape and the kernel's.
#include "pal/prefill_simt.cuh"

static_assert(sizeof(pal::PrefillParams) == PAL_PARAMS_BYTES, "host mirror of PrefillParams");
static_assert(pal::PREFILL_THREADS == PAL_THREADS, "host and kernel agree on the CTA");
static_assert(sizeof(PAL_QUERY_DTYPE) == sizeof(PAL_KV_DTYPE), "KV pools in the queries' dtype");

extern "C" __global__ void __launch_bounds__(PAL_THREADS) pal_prefill(pal::PrefillParams params) {
  pal::prefill_simt<PAL_KV_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_ROWS, PAL_TOKENS>(params);
}
