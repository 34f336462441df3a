// Shared vocabulary of PAL's kernels: storage types, conversions, vector loads and warp reductions.
// Self-contained on purpose: kernels compile with NVRTC alone (no CUDA toolkit headers).
#pragma once

typedef unsigned short u16;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;

namespace pal {

// 16-bit storage types; arithmetic always happens in float32.
struct bf16 { u16 bits; };
struct f16 { u16 bits; };
// 8-bit float storage types of KV pools (OCP e4m3fn: +-448, no infinities; e5m2: float16's top
// byte). A pool element means its value times the pool's scale (`KvScaleParams`).
struct e4m3 { unsigned char bits; };
struct e5m2 { unsigned char bits; };

// A CUDA tensor map (`CUtensorMap`: 128 opaque bytes, 64-byte aligned), encoded by the host for
// Hopper tensor copies; read in place from the kernel's parameters.
struct alignas(64) TensorMap {
  u64 words[16];
};

// How a kernel checks the host's mirror of its parameter struct (`cuda::layout_key` computes the
// same): the offsets where each run of its fields starts and its size, weighted by their place
// (PAL_OFFSET: the member's offset). A field added or dropped on one side only shifts one of
// them, so the kernel fails to compile with "host mirror of ..." instead of reading other
// fields' bytes, as it did once under a check of the size alone (a field in the run of u64s,
// whose bytes the padding before the tensor maps absorbed). Not caught: a field that lies
// wholly in padding (the last before a tensor map or the struct's end), and the nested structs'
// insides.
template <typename... Offsets> constexpr u64 layout_key(Offsets... offsets) {
  u64 key = 0, place = 1;
  ((key += place++ * (u64)offsets), ...);
  return key;
}
#if defined(__has_builtin)
#if __has_builtin(__builtin_offsetof)
#define PAL_OFFSET(S, member) __builtin_offsetof(S, member)
#define PAL_LAYOUT_CHECKED true
#endif
#endif
#ifndef PAL_OFFSET
// NVRTC 12.4 and 13.0 (CUDA 13.0's, which the GPU machines load) have no constant offsetof:
// their kernels compile unchecked, and CI's newer NVRTC checks every key.
#define PAL_OFFSET(S, member) 0
#define PAL_LAYOUT_CHECKED false
#endif

template <typename KV> constexpr bool IS_FP8 = false;
template <> constexpr bool IS_FP8<e4m3> = true;
template <> constexpr bool IS_FP8<e5m2> = true;

template <typename A, typename B> constexpr bool SAME_TYPE = false;
template <typename A> constexpr bool SAME_TYPE<A, A> = true;
// A compile-time flag or count as an argument: a generic lambda instantiated once per value
// (a count also sizes its fixed-size arrays).
template <bool B> struct BoolConstant { static constexpr bool value = B; };
template <int N> struct IntConstant { static constexpr int value = N; };
// Pick<C, A, B>::type: A where C holds, else B.
template <bool C, typename A, typename B> struct Pick { using type = A; };
template <typename A, typename B> struct Pick<false, A, B> { using type = B; };

// f(IntConstant<value>{}) for a runtime value in [I, N): one copy of f per value, on exclusive
// branches (an else chain: registers only one copy uses are dead in the others).
template <int I, int N, typename F> __device__ __forceinline__ void dispatch_constant(int value, F f) {
  if constexpr (I + 1 < N) {
    if (value == I) f(IntConstant<I>{});
    else dispatch_constant<I + 1, N>(value, f);
  } else {
    f(IntConstant<I>{});
  }
}

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) { return __uint_as_float(((u32)x.bits) << 16); }
__device__ __forceinline__ float to_float(f16 x) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x.bits));
  return f;
}
// Both fp8 types widen exactly (the CPU backend's tables hold the same values). Selects, not
// branches: the kernels convert whole 16-byte vectors.
__device__ __forceinline__ float to_float(e4m3 x) {
  const u32 b = x.bits, e = (b >> 3) & 15, m = b & 7;
  const float magnitude = e == 0 ? (float)m * 0.001953125f : __uint_as_float(((e + 120) << 23) | (m << 20));
  const u32 bits = (b & 0x7f) == 0x7f ? 0x7fc00000u : __float_as_uint(magnitude);
  return __uint_as_float(((b & 0x80) << 24) | bits);
}
__device__ __forceinline__ float to_float(e5m2 x) { return to_float(f16{(u16)(x.bits << 8)}); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float x) {
  u16 b;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(b) : "f"(x));
  return bf16{b};
}
template <> __device__ __forceinline__ f16 from_float<f16>(float x) {
  u16 b;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(b) : "f"(x));
  return f16{b};
}
// fp8: round to nearest even, saturated to the largest finite code (infinities too: an overflow
// never becomes NaN), NaN to 0x7f, the sign kept. Integer steps, no sm_89 cvt (kernels also run
// on sm_80), identical to the CPU backend's `quantize_fp8` so that both store the same bits.
// Below the smallest normal the code is |x| in subnormal steps (an exact product, then rint);
// from it on, the float32 bits rounded to the mantissa's width and rebased to the fp8 bias (a
// code >= the smallest normal's there; the unsigned wrap below it is never selected). Selects,
// not branches: fill quantises whole vectors.
template <int MANTISSA, int BIAS, u32 MAX_CODE> __device__ __forceinline__ unsigned char fp8_code(float x) {
  constexpr int SHIFT = 23 - MANTISSA;
  constexpr u32 MIN_NORMAL = (u32)(128 - BIAS) << 23;
  constexpr float STEP = (float)(1 << (BIAS + MANTISSA - 1));  // 1 / the smallest subnormal
  const u32 u = __float_as_uint(x), sign = (u >> 24) & 0x80, a = u & 0x7fffffff;
  const u32 subnormal = (u32)__float2int_rn(fabsf(x) * STEP);
  const u32 rounded = (a + ((1u << (SHIFT - 1)) - 1) + ((a >> SHIFT) & 1)) >> SHIFT;
  const u32 normal = min(rounded - ((u32)(127 - BIAS) << MANTISSA), MAX_CODE);
  const u32 code = a > 0x7f800000 ? 0x7f : a < MIN_NORMAL ? subnormal : normal;
  return (unsigned char)(sign | code);
}
template <> __device__ __forceinline__ e4m3 from_float<e4m3>(float x) { return e4m3{fp8_code<3, 7, 0x7e>(x)}; }
template <> __device__ __forceinline__ e5m2 from_float<e5m2>(float x) { return e5m2{fp8_code<2, 15, 0x7b>(x)}; }

// A KV element in the query dtype T, exactly (float16, bfloat16 and float32 hold every fp8
// value): pools are staged in shared memory as T, so the kernels' inner loops stay those of T.
template <typename T, typename KV> __device__ __forceinline__ T widen(KV x) {
  if constexpr (SAME_TYPE<T, KV>) return x;
  else return from_float<T>(to_float(x));
}
template <> __device__ __forceinline__ f16 widen<f16, e5m2>(e5m2 x) { return f16{(u16)(x.bits << 8)}; }

// Per-pool scales of fp8 pools (the last member of every params struct): the true element is
// fp8 * k(kv_head). A per-tensor `k_scale` and optional per-head values (`k_scales`, float32
// at `k_stride`; 0: none); the host passes 1 and null for pools in the model dtype.
struct KvScaleParams {
  u64 k_scales, v_scales;
  float k_scale, v_scale;
  int k_stride, v_stride;
  __device__ __forceinline__ float k(int kv_head) const {
    return k_scale * (k_scales ? ((const float*)k_scales)[kv_head * k_stride] : 1.f);
  }
  __device__ __forceinline__ float v(int kv_head) const {
    return v_scale * (v_scales ? ((const float*)v_scales)[kv_head * v_stride] : 1.f);
  }
};

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

// 2^x on the MUFU unit alone: exp2f adds a denormal fix-up (a compare and two multiplies) that
// softmax weights never need (a result below 2^-126 of the row's max flushes to 0).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// tanh on the MUFU unit alone (sm_75 and up): relative error at most 2^-10.99 (PTX ISA), one
// MUFU op where `fast_tanh` takes two.
__device__ __forceinline__ float tanh_approx(float x) {
  float y;
  asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// 16 (8) bytes in one store instruction: a uint4 (uint2) assembled from separate words
// (shuffled, widened, or held in a union) otherwise may compile to 4-byte stores, four times the
// L2 write requests. `destination`: aligned to the size.
__device__ __forceinline__ void store_shared_16(u32 destination, uint4 v) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};" ::"r"(destination), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
}
__device__ __forceinline__ void store_global_16(void* destination, uint4 v) {
  asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};" ::"l"(destination), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
}
__device__ __forceinline__ void store_global_8(void* destination, uint2 v) {
  asm volatile("st.global.v2.b32 [%0], {%1, %2};" ::"l"(destination), "r"(v.x), "r"(v.y));
}

// Brings the 128-byte line holding `address` into L2 (no registers, no completion to wait for).
__device__ __forceinline__ void prefetch_l2(const void* address) {
  asm volatile("prefetch.global.L2 [%0];" ::"l"(address));
}

// tanh as 1 - 2 / (e^2x + 1): two MUFU ops (ex2, rcp) and no branch, absolute error near 1e-7
// (tanhf costs branches and a polynomial; the one-instruction tanh.approx errs by 2^-11, which a
// soft-cap of 50 turns into logit errors of 0.02).
__device__ __forceinline__ float fast_tanh(float x) {
  return 1.f - __fdividef(2.f, exp2f(x * 2.8853900817779268f) + 1.f);
}

// Elements of T in one 16-byte vector (also the `x` of the pal key layout).
template <typename T> struct Vec { static constexpr int N = 16 / sizeof(T); };

// One 16-byte vector, viewed as N elements of T.
template <typename T> union Pack {
  uint4 raw;
  T elems[Vec<T>::N];
};

template <typename T> __device__ __forceinline__ Pack<T> zero_pack() {
  Pack<T> p;
  p.raw = make_uint4(0, 0, 0, 0);
  return p;
}

// Converting load: one 16-byte pack of KV elements as float32. The CUDA-core kernels read their
// staged key tiles through it (fp8 pools are widened to the query dtype when staged and their
// scale folded into the score's, so the tiles are never fp8; any `to_float` type would do).
template <typename KV> __device__ __forceinline__ void load_as_float(const KV* source, float (&out)[Vec<KV>::N]) {
  Pack<KV> pack;
  pack.raw = *(const uint4*)source;
#pragma unroll
  for (int j = 0; j < Vec<KV>::N; ++j) out[j] = to_float(pack.elems[j]);
}

// q . k over HEAD_DIM dims: float32 queries, a key row read through `load_as_float`.
template <int HEAD_DIM, typename KV> __device__ __forceinline__ float dot_as_float(const float* q, const KV* k) {
  constexpr int N = Vec<KV>::N;
  float dot = 0.f;
  for (int d = 0; d < HEAD_DIM; d += N) {
    float x[N];
    load_as_float(k + d, x);
    for (int j = 0; j < N; ++j) dot += q[d + j] * x[j];
  }
  return dot;
}

__device__ __forceinline__ float warp_max(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

}  // namespace pal
