// Attention variants as policies (SPEC §3.5): which keys a query sees and how a raw score
// `scale * q.k` becomes a logit. Kernels call these hooks and nothing else, so a new variant
// (window, soft-cap, ALiBi, sinks) is one struct here plus its host key.
#pragma once
#include "pal/common.cuh"

namespace pal {

// Keys [begin, end) visible to a query at position `position` of its sequence.
struct KeyRange {
  int begin, end;
  __device__ __forceinline__ bool contains(int key) const { return key >= begin && key < end; }
};

// Plain attention: a query sees every key up to and including its own position (decode: the
// whole sequence; prefill: history and the causal prompt prefix); logits are the raw scores.
struct PlainVariant {
  static constexpr bool TRANSFORMS_SCORES = false;
  static constexpr bool HAS_SINK = false;
  __device__ __forceinline__ static KeyRange visible(int position) { return {0, position + 1}; }
  __device__ __forceinline__ static float logit(float score, int /*key*/, int /*position*/, int /*head*/) {
    return score;
  }
};

}  // namespace pal
