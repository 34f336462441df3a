// Entry of one tensor-core prefill specialisation (float16 / bfloat16). Defines come from the
// host's kernel key (`cuda/jit.rs`); the asserts catch drift between its shape and the kernel's.
#include "pal/merge.cuh"
#include "pal/prefill_mma.cuh"

#ifndef PAL_TIGHT
#define PAL_TIGHT 0  // slots without the rows' pad (`PrefillMmaTile`'s TIGHT): set by the host where chosen
#endif
#ifndef PAL_MIN_CTAS
#define PAL_MIN_CTAS 0  // CTAs an SM the registers are budgeted for: the lab's knob `min_ctas` (0: none)
#endif
#ifndef PAL_BOUNDED
#define PAL_BOUNDED 0  // soft-capped bfloat16 logits on a fixed exponent base (`prefill_mma`): set by the host where chosen
#endif
#ifndef PAL_STAGGER
#define PAL_STAGGER 0  // one slot, K and V refilled apart (`PrefillMmaTile`'s STAGGER): set by the host where chosen
#endif

using PrefillMmaShape = pal::PrefillMmaTile<PAL_HEAD_DIM, PAL_M_TILES, PAL_KEYS, PAL_TIGHT, PAL_STAGGER>;
static_assert(!PAL_LAYOUT_CHECKED || pal::PREFILL_PARAMS_LAYOUT == PAL_PARAMS_LAYOUT, "host mirror of PrefillParams");
static_assert(PrefillMmaShape::SHARED_BYTES == PAL_SHARED_BYTES, "host and kernel agree on shared memory");
static_assert(PrefillMmaShape::ROWS == PAL_ROWS && pal::PREFILL_THREADS == PAL_THREADS, "host and kernel agree on the CTA");
static_assert(pal::SAME_TYPE<PAL_QUERY_DTYPE, PAL_KV_DTYPE>, "KV pools in the queries' dtype (fp8 pools run on CUDA cores)");

// (An explicit minimum of 1 is not the same as none for ptxas: see decode_mma.cu.)
#if PAL_MIN_CTAS > 1
#define PAL_PREFILL_BOUNDS __launch_bounds__(PAL_THREADS, PAL_MIN_CTAS)
#else
#define PAL_PREFILL_BOUNDS __launch_bounds__(PAL_THREADS)
#endif

extern "C" __global__ void PAL_PREFILL_BOUNDS pal_prefill(pal::PrefillParams params) {
  pal::prefill_mma<PAL_KV_DTYPE, PAL_HEAD_DIM, PAL_PAGE_SIZE, PAL_LAYOUT, PAL_VARIANT, PAL_M_TILES, PAL_KEYS, PAL_SPLIT, PAL_TIGHT, PAL_STAGGER,
                  PAL_BOUNDED>(params);
}

PAL_MERGE_ENTRIES(pal_prefill, PAL_QUERY_DTYPE)
