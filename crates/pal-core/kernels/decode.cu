// Entry of one decode specialisation. The JIT defines PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE and
// PAL_LAYOUT; each specialisation is its own module, so the entry names are fixed.
#include "pal/decode.cuh"

extern "C" __global__ void __launch_bounds__(pal::DECODE_THREADS) pal_decode(pal::DecodeParams params) {
  pal::decode<PAL_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT>(params);
}

extern "C" __global__ void pal_decode_merge(pal::MergeParams params) { pal::merge<PAL_DTYPE>(params); }
