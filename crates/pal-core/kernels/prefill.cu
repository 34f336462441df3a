// Entry of one prefill specialisation (PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT defined by
// the JIT): tensor cores for 16-bit dtypes, CUDA cores for float32.
#include "pal/prefill_mma.cuh"
#include "pal/prefill_simt.cuh"

extern "C" __global__ void __launch_bounds__(pal::PREFILL_THREADS) pal_prefill(pal::PrefillParams params) {
  if constexpr (sizeof(PAL_DTYPE) == 2)
    pal::prefill_mma<PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT>(params);
  else
    pal::prefill_simt<PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT>(params);
}
