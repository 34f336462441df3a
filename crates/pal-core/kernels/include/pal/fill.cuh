// fill_kv_pages: writes new tokens' keys and values into the pools in place.
//
// Work split: one CTA per (tile of 32 new tokens, KV head, 128 pool bytes of the head row),
// numbered chunk-fastest so that CTAs resident together cover whole rows. Warp 0 resolves the
// tile's destinations once (page and slot, or -1: skipped) while every thread's 16-byte loads of
// the new rows are in flight. Pools in the new rows' dtype T get their bits; fp8 pools get each
// element quantised on the way (`x / scale` in IEEE float32, then `from_float`: the CPU
// backend's bits), a chunk then reading sizeof(T) times its pool bytes (more loads per thread).
// nhd / hnd rows are contiguous: loads go straight to stores (16 bytes; fp8: 16 / sizeof(T)).
// In `pal` both pools are slot-minor (keys [dim/x][slot][x], values [dim][slot]), so the chunk is
// staged in shared memory and written across tokens: key stripes with lanes over tokens, and
// values as one 16-byte vector per dim for each group of x tokens in consecutive slots of a page
// (a prefill chunk: whole sectors), else one element per token (the decode step's one token per
// sequence, scattered by the layout's nature). Staging rows are 33 words apart: the column reads
// hit distinct banks.
// Traffic: the new rows once, the pool bytes once. A token whose destination is invalid is
// skipped and reported (deferred check; check=True validates before launch), so nothing is
// written out of bounds.
// H200 (2026-12-01, bf16 into bf16 pools, 16 CTAs per SM, read + write bytes, FlashInfer's
// append_paged_kv_cache in the same run): pal 2.52-2.59 / 3.63-3.65 TB/s at 4096 / 32768 tokens
// (1.05-1.09x / 0.99-1.00x FlashInfer, 85-86% of device copy at 32768), nhd 2.55-2.59 / 3.55-3.57;
// one token for each of 256 sequences 0.20-0.22 (pal) / 0.34 (nhd) TB/s. bf16 into fp8 e4m3 pools: pal 1.36 / 2.06 TB/s, nhd 1.13 / 1.65 (the division and
// quantisation per element; no peer: FlashInfer's append takes the pools' dtype).
#pragma once
#include "pal/common.cuh"
#include "pal/layout.cuh"
#include "pal/paged.cuh"

namespace pal {

struct FillParams {
  u64 keys, values, k_cache, v_cache, page_table, positions, token_to_seq, slot_mapping;
  int num_tokens, num_kv_heads, head_dim, page_size;
  int num_seqs, pages_per_seq, num_pages, use_slot_mapping;
  TableErrors errors;
  KvScaleParams scales;  // fp8 pools (1 and null otherwise)
};

// Tokens per CTA and pool bytes of a token's head row per CTA (the host sizes the grid from both:
// ceil(head_dim * sizeof(KV) / FILL_CHUNK_BYTES) chunks).
constexpr int FILL_TOKENS = 32;
constexpr int FILL_CHUNK_BYTES = 128;

// Physical page and slot of new token `token`, or page -1 when its destination is invalid
// (reported when `report`) or padding (slot_mapping -1, vLLM's convention: not an error).
__device__ __forceinline__ void fill_destination(const FillParams& p, int token, bool report, int& page, int& slot) {
  page = -1;
  slot = 0;
  auto skip = [&](int kind, int row, int index, int value) {
    if (report) report_table_error(p.errors, OP_FILL, kind, row, index, value);
  };
  if (p.use_slot_mapping) {
    const int flat = ((const int*)p.slot_mapping)[token];
    if (flat < 0) return;
    if (flat >= (i64)p.num_pages * p.page_size) return skip(TABLE_ERROR_SLOT, -1, token, flat);
    page = flat / p.page_size;
    slot = flat % p.page_size;
    return;
  }
  const int seq = ((const int*)p.token_to_seq)[token];
  const int position = ((const int*)p.positions)[token];
  if (seq < 0 || seq >= p.num_seqs) return skip(TABLE_ERROR_SEQUENCE, -1, token, seq);
  if (position < 0 || position >= p.pages_per_seq * p.page_size) return skip(TABLE_ERROR_POSITION, -1, token, position);
  const int id = ((const int*)p.page_table)[(i64)seq * p.pages_per_seq + position / p.page_size];
  if (id < 0 || id >= p.num_pages) return skip(TABLE_ERROR_PAGE, seq, position / p.page_size, id);
  page = id;
  slot = position % p.page_size;
}

// One 16-byte vector of new T elements as pool elements: the same bits when the pool is T, else
// each element quantised as `from_float<KV>(x / scale)` with IEEE division (the CPU's `x / scale`
// in float32, bit for bit): 16 * sizeof(KV) / sizeof(T) bytes.
template <typename T, typename KV> struct FillPiece {
  static constexpr int WORDS = 4 * (int)sizeof(KV) / (int)sizeof(T);
  union {
    u32 words[WORDS];
    KV elems[Vec<T>::N];
  };
  __device__ __forceinline__ static FillPiece of(uint4 raw, float scale) {
    FillPiece piece;
    if constexpr (SAME_TYPE<T, KV>) {
      piece.words[0] = raw.x, piece.words[1] = raw.y, piece.words[2] = raw.z, piece.words[3] = raw.w;
    } else {
      Pack<T> in;
      in.raw = raw;
#pragma unroll
      for (int k = 0; k < Vec<T>::N; ++k) piece.elems[k] = from_float<KV>(__fdiv_rn(to_float(in.elems[k]), scale));
    }
    return piece;
  }
  __device__ __forceinline__ void store(KV* dst) const {
    if constexpr (WORDS == 4) *(uint4*)dst = make_uint4(words[0], words[1], words[2], words[3]);
    else if constexpr (WORDS == 2) *(uint2*)dst = make_uint2(words[0], words[1]);
    else *(u32*)dst = words[0];
  }
};

template <typename T, typename KV, int LAYOUT, int THREADS> __device__ void fill(const FillParams& p) {
  static_assert(SAME_TYPE<T, KV> || IS_FP8<KV>, "pools in the new rows' dtype, or fp8");
  using Piece = FillPiece<T, KV>;
  constexpr int VEC = Vec<T>::N, KVEC = Vec<KV>::N;  // elements per 16-byte load / pool vector
  constexpr int CHUNK_VECS = FILL_CHUNK_BYTES / 16;    // pool vectors of a token's chunk
  constexpr int SOURCE_VECS = CHUNK_VECS * (int)(sizeof(T) / sizeof(KV));  // its new-row vectors
  constexpr int ROW_WORDS = FILL_CHUNK_BYTES / 4 + 1;
  constexpr int LOADS = FILL_TOKENS * SOURCE_VECS / THREADS;
  static_assert(LOADS * THREADS == FILL_TOKENS * SOURCE_VECS, "whole vectors per thread");
  static_assert(FILL_TOKENS == 32, "warp 0 resolves the tile, a lane per token");
  __shared__ int page_of[FILL_TOKENS], slot_of[FILL_TOKENS];
  __shared__ u32 whole_groups;
  __shared__ u32 staged[LAYOUT == LAYOUT_PAL ? 2 : 1][LAYOUT == LAYOUT_PAL ? FILL_TOKENS * ROW_WORDS : 1];

  // Chunk, then head, then tile: CTAs resident together cover whole token rows of the new keys
  // and values and whole slot rows of nhd pages (neighbouring DRAM bytes), not one head's
  // 128 bytes out of every row.
  const int chunks = (p.head_dim * (int)sizeof(KV) + FILL_CHUNK_BYTES - 1) / FILL_CHUNK_BYTES;
  const int chunk = blockIdx.x % chunks, head = blockIdx.x / chunks % p.num_kv_heads;
  const int first = blockIdx.x / chunks / p.num_kv_heads * FILL_TOKENS;
  const int dim0 = chunk * (FILL_CHUNK_BYTES / (int)sizeof(KV));
  const int vectors = min(SOURCE_VECS, (p.head_dim - dim0) / VEC);  // new-row vectors in the chunk
  const CacheAddress<LAYOUT, KV> at{p.num_kv_heads, p.head_dim, p.page_size};

  // The tile's rows, token-major (16-byte vectors along the dim): coalesced reads.
  uint4 key[LOADS], value[LOADS];
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i / SOURCE_VECS, v = i % SOURCE_VECS;
    key[j] = value[j] = make_uint4(0, 0, 0, 0);
    if (first + t < p.num_tokens && v < vectors) {
      const i64 src = ((i64)(first + t) * p.num_kv_heads + head) * p.head_dim + dim0 + v * VEC;
      key[j] = *(const uint4*)((const T*)p.keys + src);
      value[j] = *(const uint4*)((const T*)p.values + src);
    }
  }
  float k_scale = 1.f, v_scale = 1.f;
  if constexpr (!SAME_TYPE<T, KV>) {
    k_scale = p.scales.k(head);
    v_scale = p.scales.v(head);
  }
  if (threadIdx.x < FILL_TOKENS) {
    const int t = threadIdx.x;
    int page = -1, slot = 0;
    if (first + t < p.num_tokens) fill_destination(p, first + t, head == 0 && chunk == 0, page, slot);
    page_of[t] = page;
    slot_of[t] = slot;
    // pal values: a group of KVEC tokens in consecutive slots of one page from a multiple of
    // KVEC is one 16-byte vector per dim.
    const int lead = t - t % KVEC;
    const int lead_page = __shfl_sync(0xffffffffu, page, lead), lead_slot = __shfl_sync(0xffffffffu, slot, lead);
    const u32 run = __ballot_sync(0xffffffffu, page >= 0 && page == lead_page && slot == lead_slot + t % KVEC &&
                                                   lead_slot % KVEC == 0);
    if (t == 0) {
      u32 whole = 0;
      for (int g = 0; g < FILL_TOKENS / KVEC; ++g)
        if ((run >> (g * KVEC) & ((1u << KVEC) - 1)) == (1u << KVEC) - 1) whole |= 1u << g;
      whole_groups = whole;
    }
  }
  // Quantised (fp8) while warp 0 resolves the destinations.
  Piece k_piece[LOADS], v_piece[LOADS];
#pragma unroll
  for (int j = 0; j < LOADS; ++j) k_piece[j] = Piece::of(key[j], k_scale), v_piece[j] = Piece::of(value[j], v_scale);
  if (LAYOUT != LAYOUT_PAL) {
    __syncthreads();
#pragma unroll
    for (int j = 0; j < LOADS; ++j) {
      const int i = threadIdx.x + j * THREADS, t = i / SOURCE_VECS, v = i % SOURCE_VECS;
      const int page = page_of[t];
      if (page < 0 || v >= vectors) continue;
      const u64 dst = at.value(page, head, slot_of[t], dim0 + v * VEC);
      k_piece[j].store((KV*)p.k_cache + dst);
      v_piece[j].store((KV*)p.v_cache + dst);
    }
    return;
  }

  // pal: stage the chunk (row t of `staged` holds token t's pool bytes), then write slot-minor.
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i / SOURCE_VECS, v = i % SOURCE_VECS;
#pragma unroll
    for (int w = 0; w < Piece::WORDS; ++w) {
      staged[0][t * ROW_WORDS + v * Piece::WORDS + w] = k_piece[j].words[w];
      staged[1][t * ROW_WORDS + v * Piece::WORDS + w] = v_piece[j].words[w];
    }
  }
  __syncthreads();
  // Keys: 16-byte stripes of KVEC elements, lanes over tokens (a page's slots of one stripe are
  // contiguous). The pal layout holds whole stripes (head_dim % KVEC == 0).
  constexpr int STRIPES = FILL_TOKENS * CHUNK_VECS / THREADS;
  static_assert(STRIPES * THREADS == FILL_TOKENS * CHUNK_VECS, "whole stripes per thread");
  const int elems = vectors * VEC, stripes = elems / KVEC;
#pragma unroll
  for (int j = 0; j < STRIPES; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i % FILL_TOKENS, v = i / FILL_TOKENS;
    const int page = page_of[t];
    if (page < 0 || v >= stripes) continue;
    const u32* k = &staged[0][t * ROW_WORDS + v * 4];
    *(uint4*)((KV*)p.k_cache + at.key(page, head, slot_of[t], dim0 + v * KVEC)) = make_uint4(k[0], k[1], k[2], k[3]);
  }
  // Values: per group of KVEC tokens and dim, one 16-byte store where the group is whole, else
  // one store per token. Lanes over groups first: lane pairs fill a 32-byte sector of a page.
  constexpr int GROUPS = FILL_TOKENS / KVEC, ELEMS = FILL_CHUNK_BYTES / sizeof(KV);
  static_assert(GROUPS * ELEMS % THREADS == 0, "whole (group, dim) items per thread");
  constexpr int ROW_ELEMS = ROW_WORDS * 4 / (int)sizeof(KV);
  const u32 whole = whole_groups;
#pragma unroll
  for (int j = 0; j < GROUPS * ELEMS / THREADS; ++j) {
    const int i = threadIdx.x + j * THREADS, g = i % GROUPS, e = i / GROUPS, t0 = g * KVEC;
    if (e >= elems) continue;
    const KV* column = (const KV*)&staged[1][t0 * ROW_WORDS] + e;
    if (whole >> g & 1) {
      Pack<KV> pack;
#pragma unroll
      for (int k = 0; k < KVEC; ++k) pack.elems[k] = column[k * ROW_ELEMS];
      *(uint4*)((KV*)p.v_cache + at.value(page_of[t0], head, slot_of[t0], dim0 + e)) = pack.raw;
      continue;
    }
    for (int k = 0; k < KVEC; ++k) {
      const int page = page_of[t0 + k];
      if (page >= 0) ((KV*)p.v_cache)[at.value(page, head, slot_of[t0 + k], dim0 + e)] = column[k * ROW_ELEMS];
    }
  }
}

}  // namespace pal
