// Entry of one fill specialisation (PAL_DTYPE, PAL_LAYOUT defined by the JIT).
#include "pal/fill.cuh"

extern "C" __global__ void __launch_bounds__(256) pal_fill(pal::FillParams params) {
  pal::fill<PAL_DTYPE, PAL_LAYOUT>(params);
}
