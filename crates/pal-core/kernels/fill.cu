// Entry of one fill specialisation (the new rows' dtype as PAL_QUERY_DTYPE, the pools' as
// PAL_KV_DTYPE, and the layout, from the host's kernel key, `cuda/jit.rs`).
#include "pal/fill.cuh"

static_assert(sizeof(pal::FillParams) == PAL_PARAMS_BYTES, "host mirror of FillParams");

extern "C" __global__ void __launch_bounds__(PAL_THREADS) pal_fill(pal::FillParams params) {
  pal::fill<PAL_QUERY_DTYPE, PAL_KV_DTYPE, PAL_LAYOUT, PAL_THREADS>(params);
}
