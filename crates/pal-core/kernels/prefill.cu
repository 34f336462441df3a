// Entry of one prefill specialisation (PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT).
#include "pal/prefill.cuh"

extern "C" __global__ void __launch_bounds__(pal::PREFILL_THREADS) pal_prefill(pal::PrefillParams params) {
  pal::prefill<PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT>(params);
}
