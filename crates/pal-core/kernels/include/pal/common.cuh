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

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) { return __uint_as_float(((u32)x.bits) << 16); }
__device__ __forceinline__ float to_float(f16 x) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x.bits));
  return f;
}

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

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

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

// Converting load: one 16-byte pack of KV elements as float32. The CUDA-core kernels read keys
// through it, so a KV dtype of its own (fp8 with a scale) is one more overload here.
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
