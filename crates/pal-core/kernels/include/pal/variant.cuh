// Attention variants as policies (SPEC §3.5): which keys a query sees, how a scaled score
// `scale * q.k` becomes a logit, and an optional sink logit in the softmax's denominator.
// Kernels call these hooks and nothing else. The compile-time part (which options are on) is the
// kernel key's variant (`pal::Variant<WINDOW, SOFTCAP, ALIBI, SINKS>`, named by the host); the
// run-time part (window length, cap, per-head vectors) travels in `VariantParams`.
#pragma once
#include "pal/common.cuh"

namespace pal {

// Run-time options of a call (a member of every attention kernel's parameters).
struct VariantParams {
  u64 alibi_slopes, sinks;  // [num_q_heads] float32, or 0
  int window_left;          // a query at position i sees keys i - window_left ..= i (when WINDOW)
  float soft_cap;           // logits become soft_cap * tanh(logit / soft_cap) (when SOFTCAP)
};

template <bool WINDOW, bool SOFTCAP, bool ALIBI, bool SINKS> struct Variant {
  static constexpr bool HAS_WINDOW = WINDOW;
  static constexpr bool TRANSFORMS_SCORES = SOFTCAP || ALIBI;
  static constexpr bool HAS_SINK = SINKS;
  static constexpr bool HAS_SOFTCAP = SOFTCAP;
  static constexpr bool HAS_ALIBI = ALIBI;

  // First key a query at `position` sees (its last is `position` itself: decode queries are their
  // sequence's last token, prefill is causal).
  __device__ __forceinline__ static int first_visible(const VariantParams& v, int position) {
    return WINDOW ? max(0, position - v.window_left) : 0;
  }
  // Head `head`'s ALiBi slope (0 without ALiBi), read once per row.
  __device__ __forceinline__ static float slope(const VariantParams& v, int head) {
    return ALIBI ? ((const float*)v.alibi_slopes)[head] : 0.f;
  }
  // Logit of a scaled score of key `key` for a query at `position` (natural units): the
  // soft-cap first, then ALiBi's linear bias, as the CPU backend does.
  __device__ __forceinline__ static float logit(const VariantParams& v, float score, int key, int position, float slope) {
    if (SOFTCAP) score = v.soft_cap * fast_tanh(__fdividef(score, v.soft_cap));
    if (ALIBI) score += slope * (float)(key - position);
    return score;
  }
  // Head `head`'s sink logit in base 2 (-inf without sinks: it adds nothing).
  __device__ __forceinline__ static float sink(const VariantParams& v, int head) {
    return SINKS ? ((const float*)v.sinks)[head] * 1.4426950408889634f : __int_as_float(0xff800000);
  }
};

// `Variant::logit` of raw dot products in base 2, with the per-call constants folded for hot
// loops: `of(raw, bias2)` = logit(raw * scale) * LOG2E up to rounding, where `bias2` is ALiBi's
// `slope * (key - position) * LOG2E` (ignored without ALiBi). The soft-cap's tanh is one
// `tanh.approx` (relative error 2^-11: at a cap of 50 a logit off by up to 0.02), where
// 1 - 2 / (e^2x + 1) took two MUFU ops besides the weight's exponential (1.26-1.34x plain, H200;
// 1.13-1.18x with one). (The reciprocal on the FMA pipe, an integer first guess
// and two Newton steps, was 7% slower in every score: results/h200-2026-12-01-s22/call2.)
template <typename Variant> struct Logit2 {
  float factor;  // the raw dot product's multiplier (with the soft-cap: into the tanh)
  float cap2;    // soft-cap * LOG2E
  __device__ __forceinline__ Logit2(const VariantParams& v, float scale) {
    constexpr float LOG2E_ = 1.4426950408889634f;
    factor = Variant::HAS_SOFTCAP ? scale / v.soft_cap : scale * LOG2E_;
    cap2 = Variant::HAS_SOFTCAP ? v.soft_cap * LOG2E_ : 0.f;
  }
  // The soft-cap's tanh of a raw dot product (its logit is cap2 t).
  __device__ __forceinline__ float tanh_of(float raw) const { return tanh_approx(raw * factor); }
  __device__ __forceinline__ float of(float raw, float bias2) const {
    const float logit = Variant::HAS_SOFTCAP ? cap2 * tanh_of(raw) : raw * factor;
    return Variant::HAS_ALIBI ? logit + bias2 : logit;
  }
};

using PlainVariant = Variant<false, false, false, false>;

}  // namespace pal
