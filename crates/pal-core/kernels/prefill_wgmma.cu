// Entry of one Hopper prefill specialisation (sm_90a; float16 / bfloat16 queries over pools of
// their dtype or fp8). Defines come from the host's kernel key (`cuda/jit.rs`); the asserts
// catch drift between its shape and the kernel's.
#include "pal/merge.cuh"
#include "pal/prefill_wgmma.cuh"

#ifndef PAL_BOUNDED
#define PAL_BOUNDED 0  // soft-capped bfloat16 logits on a fixed exponent base (`prefill_wgmma`): set by the host where chosen
#endif

using PrefillWgmmaShape = pal::PrefillWgmmaTile<PAL_HEAD_DIM, PAL_KEYS, PAL_STAGES, PAL_PRODUCER>;
static_assert(!PAL_LAYOUT_CHECKED || pal::PREFILL_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of PrefillParams");
static_assert(PrefillWgmmaShape::SHARED_BYTES == PAL_SHARED_BYTES, "host and kernel agree on shared memory");
static_assert(PrefillWgmmaShape::ROWS == PAL_ROWS && PrefillWgmmaShape::THREADS == PAL_THREADS, "host and kernel agree on the CTA");

// The tensor maps are read in place from the parameters (__grid_constant__).
extern "C" __global__ void __launch_bounds__(PAL_THREADS, 1) pal_prefill(const __grid_constant__ pal::PrefillParams params) {
  pal::prefill_wgmma<PAL_QUERY_DTYPE, PAL_KV_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_KEYS, PAL_STAGES, PAL_PRODUCER, PAL_SPLIT,
                     PAL_TMA, PAL_BOUNDED>(params);
}

PAL_MERGE_ENTRIES(pal_prefill, PAL_QUERY_DTYPE)
