// Entry of one fill specialisation (the new rows' dtype as PAL_QUERY_DTYPE, the pools' as
// PAL_KV_DTYPE, the layout and the CTA's shape: PAL_TOKENS, PAL_CHUNK_BYTES, PAL_THREADS, from
// the host's kernel key, `cuda/fill.rs`).
#include "pal/fill.cuh"

#ifndef PAL_RUN
#define PAL_RUN 0  // pal pools under a vector's slots a page: the page size (set by the host, `cuda/fill.rs`)
#endif

static_assert(!PAL_LAYOUT_CHECKED || pal::FILL_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of FillParams");

// Same-dtype fills keep a thread's rows in 32 registers, so a whole SM's 2048 threads stay
// resident (36 registers allowed 12 CTAs of 128); quantising to fp8 needs more (it spills at 32).
// PAL_MIN_CTAS (the lab's knob, 0: this default) overrides.
constexpr int FILL_MIN_CTAS =
    PAL_MIN_CTAS ? PAL_MIN_CTAS : pal::SAME_TYPE<PAL_QUERY_DTYPE, PAL_KV_DTYPE> ? 2048 / PAL_THREADS : 1;

extern "C" __global__ void __launch_bounds__(PAL_THREADS, FILL_MIN_CTAS) pal_fill(pal::FillParams params) {
  pal::fill<PAL_QUERY_DTYPE, PAL_KV_DTYPE, PAL_LAYOUT, PAL_THREADS, PAL_TOKENS, PAL_CHUNK_BYTES, PAL_RUN>(params);
}
