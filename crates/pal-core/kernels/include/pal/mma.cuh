// Tensor-core building blocks (sm_80+): asynchronous global-to-shared copies, `ldmatrix` and
// the m16n8k16 `mma.sync` with float32 accumulators, for float16 and bfloat16 operands.
//
// Fragment layouts (lane = 4 * group + quad): an A fragment (16x16, row-major) is four u32 of
// two elements: (row group, cols 2quad..+1), (row group+8, same cols), then both again at
// cols +8. A B fragment (16x8, column-major) is two u32: (rows 2quad..+1, col group), then rows
// +8. The accumulator (16x8) is four floats: (row group, cols 2quad, 2quad+1), then row group+8.
#pragma once
#include "pal/common.cuh"

namespace pal {

__device__ __forceinline__ u32 shared_address(const void* pointer) {
  return (u32)__cvta_generic_to_shared(pointer);
}

// `pointer` as the compiler must take it: a tile's base, to which the copies' offsets are added
// (immediates where they are constant) rather than folded into one product per copy.
template <typename T> __device__ __forceinline__ const T* opaque(const T* pointer) {
  asm("" : "+l"(pointer));
  return pointer;
}
__device__ __forceinline__ u32 opaque(u32 address) {
  asm("" : "+r"(address));
  return address;
}

// Copies 16 bytes, or writes 16 zero bytes when `valid` is false (`source` is then not read).
__device__ __forceinline__ void copy_async_16(void* destination, const void* source, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(shared_address(destination)), "l"(source),
               "r"(valid ? 16 : 0));
}
// The same from a page of the pools (4, 8 or 16 bytes), zeros where `page` is negative (not a
// page): the ignore-src predicate set straight from its sign (a source size from a select cost
// four instructions more per copy).
template <int BYTES> __device__ __forceinline__ void copy_async_from_page(u32 destination, const void* source, int page) {
  static_assert(BYTES == 4 || BYTES == 8 || BYTES == 16, "cp.async sizes");
  if constexpr (BYTES == 16)
    asm volatile("{\n.reg .pred z;\nsetp.lt.s32 z, %2, 0;\ncp.async.cg.shared.global [%0], [%1], 16, z;\n}" ::"r"(destination), "l"(source),
                 "r"(page));
  else
    asm volatile("{\n.reg .pred z;\nsetp.lt.s32 z, %2, 0;\ncp.async.ca.shared.global [%0], [%1], %3, z;\n}" ::"r"(destination), "l"(source),
                 "r"(page), "n"(BYTES));
}
__device__ __forceinline__ void copy_async_16_from_page(void* destination, const void* source, int page) {
  copy_async_from_page<16>(shared_address(destination), source, page);
}
// Copies BYTES (4, 8 or 16) bytes of which the first `valid_bytes` come from `source` and the rest
// are zeros (`source` is not read when `valid_bytes` is 0). `destination` is a shared-memory
// address (`shared_address`) or a pointer into shared memory. EVICT_FIRST, for data streamed
// through once: the lines it allocates in L2 are the first their set gives up, so the stream
// replaces itself, not lines that others reuse or dirty lines whose write-back would share the
// DRAM with it. Without it, the default policy (a `createpolicy` evict-normal hint is not it:
// 9% slower decode at 32 x 4096 on an H200).
template <int BYTES, bool EVICT_FIRST = false>
__device__ __forceinline__ void copy_async(u32 destination, const void* source, int valid_bytes) {
  static_assert(BYTES == 4 || BYTES == 8 || BYTES == 16, "cp.async sizes");
  if constexpr (EVICT_FIRST) {
    u64 policy;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    if constexpr (BYTES == 16)
      asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;" ::"r"(destination), "l"(source),
                   "r"(valid_bytes), "l"(policy));
    else
      asm volatile("cp.async.ca.shared.global.L2::cache_hint [%0], [%1], %2, %3, %4;" ::"r"(destination), "l"(source),
                   "n"(BYTES), "r"(valid_bytes), "l"(policy));
  } else if constexpr (BYTES == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(destination), "l"(source), "r"(valid_bytes));
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;" ::"r"(destination), "l"(source), "n"(BYTES),
                 "r"(valid_bytes));
  }
}
template <int BYTES, bool EVICT_FIRST = false>
__device__ __forceinline__ void copy_async(void* destination, const void* source, int valid_bytes) {
  copy_async<BYTES, EVICT_FIRST>(shared_address(destination), source, valid_bytes);
}
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;"); }
// Waits until at most PENDING committed groups (the most recent) are still in flight.
template <int PENDING> __device__ __forceinline__ void copy_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(PENDING) : "memory");
}
__device__ __forceinline__ void copy_async_wait_one() { copy_async_wait<1>(); }

// mbarriers in shared memory (`bar`: a shared address), phases waited on by parity.
__device__ __forceinline__ void mbarrier_init(u32 bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarrier_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}
// One of the barrier's expected arrivals, made when this thread's cp.async copies so far have landed.
__device__ __forceinline__ void copy_async_arrive(u32 bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];" ::"r"(bar) : "memory");
}
// (sm_90: empty below it, like the tensor copies below, which the host chooses only there.)
__device__ __forceinline__ void mbarrier_wait(u32 bar, u32 parity) {
#if __CUDA_ARCH__ >= 900
  u32 done;
  do {
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(done)
                 : "r"(bar), "r"(parity)
                 : "memory");
  } while (!done);
#endif
}
// Hopper tensor copies (TMA): a box of a 2-D tensor (`map`, encoded by the host) at element
// coordinates (x, y) lands in shared memory at `destination` (128-byte aligned) through the async
// proxy; its bytes complete the transaction `expect_transaction` announced on `bar`. Boxes past
// the tensor's bounds (negative coordinates included) land as zeros and count all their bytes.
// (sm_90 instructions: empty below it, where the host never chooses them.)
__device__ __forceinline__ void expect_transaction(u32 bar, u32 bytes) {
#if __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
#endif
}
// Adds `bytes` to the barrier's pending transaction count without an arrival (sm_90): tensor
// copies on a barrier whose arrivals other threads make.
__device__ __forceinline__ void mbarrier_expect_tx(u32 bar, u32 bytes) {
#if __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
#endif
}
__device__ __forceinline__ void mbarrier_init_fence() {
#if __CUDA_ARCH__ >= 900
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#endif
}
template <bool EVICT_FIRST = false>
__device__ __forceinline__ void tensor_copy_2d(u32 destination, const TensorMap* map, int x, int y, u32 bar) {
#if __CUDA_ARCH__ >= 900
  if constexpr (EVICT_FIRST) {
    u64 policy;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(
            destination),
        "l"(map), "r"(x), "r"(y), "r"(bar), "l"(policy)
        : "memory");
  } else {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];" ::"r"(
                     destination),
                 "l"(map), "r"(x), "r"(y), "r"(bar)
                 : "memory");
  }
#endif
}
// A box of a 3-D tensor at element coordinates (x, y, z), as `tensor_copy_2d`.
__device__ __forceinline__ void tensor_copy_3d(u32 destination, const TensorMap* map, int x, int y, int z, u32 bar) {
#if __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(
                   destination),
               "l"(map), "r"(x), "r"(y), "r"(z), "r"(bar)
               : "memory");
#endif
}
// Makes this thread's generic-proxy writes to shared memory (st.shared, cp.async) visible to
// the async proxy (wgmma's reads, tensor copies' writes).
__device__ __forceinline__ void fence_async_shared() {
#if __CUDA_ARCH__ >= 900
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}

// Four 8x8 matrices of 16-bit elements; lanes 8i..8i+7 give the shared-memory addresses of
// matrix i's rows. A base address plus constants folds into the instructions' immediate offsets
// (from a generic pointer each load converts its own, and NVRTC 13.0 hoisted those conversions
// out of the prefill's tile loop and spilled them).
__device__ __forceinline__ void load_matrix_x4(u32 (&r)[4], u32 address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
// The same, each matrix transposed.
__device__ __forceinline__ void load_matrix_x4_transposed(u32 (&r)[4], u32 address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
// Both from a generic pointer into shared memory.
__device__ __forceinline__ void load_matrix_x4(u32 (&r)[4], const void* row) { load_matrix_x4(r, shared_address(row)); }
__device__ __forceinline__ void load_matrix_x4_transposed(u32 (&r)[4], const void* row) {
  load_matrix_x4_transposed(r, shared_address(row));
}

// Two 8x8 matrices (lanes 0-15 give the row addresses), each transposed, into r[0], r[1].
__device__ __forceinline__ void load_matrix_x2_transposed(u32 (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(row)));
}

// Where a lane's values sit in m16n8 fragments: accumulator element e (0..3) is at
// (row(lane, e), column(lane, e)); its rows are the lane's two fragment rows (0 for e < 2).
struct Fragment {
  __device__ __forceinline__ static int row(int lane, int e) { return lane / 4 + 8 * (e / 2); }
  __device__ __forceinline__ static int column(int lane, int e) { return 2 * (lane % 4) + (e & 1); }
  // Fragment row r (0 or 1) of accumulator element e.
  __device__ __forceinline__ static int row_index(int e) { return e / 2; }
};

// A quad's words transposed: lane q of a quad passes w[b], its word of column block b (of four),
// and gets block q's words of lanes 0..3 in order, 16 contiguous bytes of the row (two xor
// exchanges, each swapping one bit of lane and block where they differ).
__device__ __forceinline__ uint4 quad_transpose(u32 w0, u32 w1, u32 w2, u32 w3) {
  u32 w[4] = {w0, w1, w2, w3};
  const u32 quad = threadIdx.x % 4;
#pragma unroll
  for (u32 bit = 1; bit <= 2; bit <<= 1) {
    const bool high = quad & bit;
#pragma unroll
    for (u32 m = 0; m < 2; ++m) {
      const u32 low = bit == 1 ? 2 * m : m;  // the pair's block whose bit is clear
      const u32 got = __shfl_xor_sync(0xffffffffu, high ? w[low] : w[low + bit], bit);
      if (high) w[low] = got;
      else w[low + bit] = got;
    }
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

template <typename T> struct Mma;

template <> struct Mma<f16> {
  static constexpr u32 ONES = 0x3c003c00u;  // a b operand of two 1.0s: d += a's rows' sums
  // d += a * b.
  static __device__ __forceinline__ void run(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  // Two floats as one u32 operand: `low` in the low half.
  static __device__ __forceinline__ u32 pack(float low, float high) {
    u32 r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(high), "f"(low));
    return r;
  }
};

template <> struct Mma<bf16> {
  static constexpr u32 ONES = 0x3f803f80u;
  static __device__ __forceinline__ void run(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  static __device__ __forceinline__ u32 pack(float low, float high) {
    u32 r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(high), "f"(low));
    return r;
  }
};

// float32 operands on the TF32 tensor cores (m16n8k8; lane = 4 g + t): A holds (row g, col t),
// (g + 8, t), (g, t + 4), (g + 8, t + 4); B (row t, col g), (t + 4, g); the accumulator as
// m16n8k16's. Each float32 x enters as a pair, `big` (x truncated to TF32's 10 mantissa bits) and
// `small` = x - big (exact; the mma reads its top 10 bits), and a product as three mma (3xTF32:
// small * big, big * small, big * big; what is dropped is under 2^-19 of each product): float32
// accuracy at three tensor ops per 1024 multiply-adds. (Emulated in numpy over decodes of 2000
// keys, D 128, uniform and normal inputs: the worst output error 0.4-1.6x that of float32 dot
// products, at most 0.6 of the float32 tolerance; `big` rounded to nearest halved it, at a third
// more ALU work a split.)
struct Tf32 {
  u32 big, small;
  // The split's mask as a value ptxas cannot see (`never_negative` >= 0, e.g. a count): with the
  // constant it fed the mma each loaded word itself (the mma reads only its top 19 bits),
  // assembled into operand registers by a move a word.
  __device__ __forceinline__ static u32 opaque_mask(int never_negative) { return 0xffffe000u | (u32)never_negative >> 31; }
  __device__ __forceinline__ static Tf32 split(float x, u32 mask = 0xffffe000u) {
    const u32 big = __float_as_uint(x) & mask;
    return {big, __float_as_uint(x - __uint_as_float(big))};
  }
};
__device__ __forceinline__ void mma_tf32(float (&d)[4], u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
// d += a * b in 3xTF32, the small products first.
__device__ __forceinline__ void mma_3xtf32(float (&d)[4], const Tf32 (&a)[4], Tf32 b0, Tf32 b1) {
  mma_tf32(d, a[0].small, a[1].small, a[2].small, a[3].small, b0.big, b1.big);
  mma_tf32(d, a[0].big, a[1].big, a[2].big, a[3].big, b0.small, b1.small);
  mma_tf32(d, a[0].big, a[1].big, a[2].big, a[3].big, b0.big, b1.big);
}

// Converting operand loads, the seam of KV dtypes on tensor cores: K and V tiles sit in shared
// memory in the pools' dtype KV and enter the mma as B operands of type T, four 8x8 matrices per
// load (lanes 8i..8i+7 address matrix i's rows), as stored (`direct`) or transposed: ldmatrix,
// for KV == T. ldmatrix has no 8-bit form before Blackwell, so fp8 tiles are read by the decode
// kernel itself (`decode_mma.cuh`: 16-byte K loads, 4-key V reads, widened in registers).
template <typename KV, typename T> struct KvOperand;
template <typename T> struct KvOperand<T, T> {
  __device__ __forceinline__ static void direct(u32 (&r)[4], const T* row) { load_matrix_x4(r, row); }
  __device__ __forceinline__ static void transposed(u32 (&r)[4], const T* row) { load_matrix_x4_transposed(r, row); }
};

// Four fp8 values as two float16 pairs (bytes 0, 1 -> lo; 2, 3 -> hi), exactly. sm_89 and up
// convert e4m3 in hardware (one F2FP per pair; the integer form below costs ~9 instructions per
// word, 44% of the fp8 decode main loop's on sm_90a); e5m2 is the top byte of a float16 everywhere.
// Before sm_89, e4m3's exponent and mantissa bits sit in float16 position then scale by 2^8,
// normals and subnormals alike, NaN codes as NaN as in hardware and on the CPU (fill never
// writes them).
template <typename KV> __device__ __forceinline__ void fp8x4_to_f16x2(u32 w, u32& lo, u32& hi) {
#if __CUDA_ARCH__ >= 890
  if constexpr (SAME_TYPE<KV, e4m3>) {
    asm("{\n.reg .b16 l, h;\nmov.b32 {l, h}, %2;\ncvt.rn.f16x2.e4m3x2 %0, l;\ncvt.rn.f16x2.e4m3x2 %1, h;\n}"
        : "=r"(lo), "=r"(hi)
        : "r"(w));
    return;
  }
#endif
  lo = __byte_perm(w, 0, 0x1404);
  hi = __byte_perm(w, 0, 0x3424);
  if constexpr (SAME_TYPE<KV, e4m3>) {
    // NaN codes (s.1111.111) get an all-ones exponent, so the product below stays NaN.
    const u32 lo_nan = __vcmpeq2(lo & 0x7f007f00u, 0x7f007f00u) & 0x7e007e00u;
    const u32 hi_nan = __vcmpeq2(hi & 0x7f007f00u, 0x7f007f00u) & 0x7e007e00u;
    lo = ((lo >> 1) & 0x3f803f80u) | (lo & 0x80008000u) | lo_nan;
    hi = ((hi >> 1) & 0x3f803f80u) | (hi & 0x80008000u) | hi_nan;
    asm("mul.rn.f16x2 %0, %0, %1;" : "+r"(lo) : "r"(0x5c005c00u));
    asm("mul.rn.f16x2 %0, %0, %1;" : "+r"(hi) : "r"(0x5c005c00u));
  }
}

// Eight fp8 values as eight T (float16 / bfloat16), exactly: float16 pairs as above, then, for
// bfloat16, each through float (every fp8 value is exact in all three).
template <typename T, typename KV> __device__ __forceinline__ uint4 fp8x8_widened(uint2 raw) {
  u32 h[4];
  fp8x4_to_f16x2<KV>(raw.x, h[0], h[1]);
  fp8x4_to_f16x2<KV>(raw.y, h[2], h[3]);
  if constexpr (SAME_TYPE<T, bf16>) {
#pragma unroll
    for (int k = 0; k < 4; ++k)
      h[k] = Mma<bf16>::pack(to_float(f16{(u16)(h[k] & 0xffff)}), to_float(f16{(u16)(h[k] >> 16)}));
  }
  return make_uint4(h[0], h[1], h[2], h[3]);
}

}  // namespace pal
