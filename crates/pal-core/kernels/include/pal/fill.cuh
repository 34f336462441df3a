// fill_kv_pages: writes new tokens' keys and values into the pools in place.
//
// Work split: one CTA per (tile of TOKENS new tokens, CHUNK_BYTES pool bytes of their rows), a
// row being a token's keys (values) over every KV head; the host's default is 32 tokens x 256
// bytes on 256 threads (one head row at head dim 128 in 16 bits; fp8 pools 128 bytes on 128),
// numbered chunk-fastest so that CTAs resident together cover whole rows. A lane per token of the
// first TOKENS / 32 warps resolves the tile's destinations once (page and slot, or -1: skipped)
// while every thread's 16-byte loads of the new rows are in flight. Pools
// in the new rows' dtype T get their bits; fp8 pools get each element quantised on the way
// (`x / scale` in IEEE float32, then `from_float`: the CPU backend's bits), a chunk then reading
// sizeof(T) times its pool bytes (more loads per thread).
// nhd / hnd rows are contiguous: loads go straight to stores (16 bytes; fp8: 16 / sizeof(T)).
// In `pal` both pools are slot-minor (keys [dim/x][slot][x], values [dim][slot]), so the chunk is
// staged in shared memory and written across tokens: key stripes with lanes over tokens, and
// values as one 16-byte vector per dim for each group of x tokens in consecutive slots of a page
// (a prefill chunk: whole sectors), else one element per token (the decode step's one token per
// sequence, scattered by the layout's nature); pages under a vector (RUN) store a page's slots
// of an element at once (H200, 2026-12-04, bf16 at 32768 tokens: page 2 86%, page 4 88% of
// copy). Staging rows are an odd number of words apart: the column reads hit distinct banks. Every 16-byte store is one instruction (store_global_16).
// Traffic: the new rows once, the pool bytes once. A token whose destination is invalid is
// skipped and reported (deferred check; check=True validates before launch), so nothing is
// written out of bounds.
// H200 (2026-12-01, bf16 into bf16 pools, HKV 8, D 128, page 16, random page order, read + write
// bytes against a 1 GiB device copy in the same run): 32768 tokens pal 89.1-89.2%, nhd
// 89.6-89.8%, hnd 89.7-89.8% (pages in order: 92-93%; 128-byte chunks of a head row before:
// 86.5 / 84.5 / 84.5%); the lab with FlashInfer's append: 1.02-1.04x at 32768 (88-89% of copy),
// 1.07-1.13x at 4096; one token for each of 256 sequences pal 0.19-0.21 TB/s (0.56-0.71x:
// the layout's scattered values), nhd / hnd 0.96-0.99x. bf16 into fp8 e4m3 pools (128-byte
// chunks): pal 1.21 / 1.91 TB/s, nhd 1.18 / 1.74 at 4096 / 32768 with the scales once a chunk
// (1.18 / 1.86 and 1.16 / 1.72 before; the per-head form of the twenty-eighth session: pal 1.39
// / 2.03; the division and quantisation per element; no peer: FlashInfer's append takes the
// pools' dtype).
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
// The host mirror's layout (`layout_key`; `cuda/fill.rs`).
constexpr u64 FILL_PARAMS_LAYOUT = layout_key(PAL_OFFSET(FillParams, num_tokens), PAL_OFFSET(FillParams, errors),
                                              PAL_OFFSET(FillParams, scales), sizeof(FillParams));

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
    if constexpr (WORDS == 4) store_global_16(dst, make_uint4(words[0], words[1], words[2], words[3]));
    else if constexpr (WORDS == 2) store_global_8(dst, make_uint2(words[0], words[1]));
    else *(u32*)dst = words[0];
  }
};

// TOKENS new tokens and CHUNK_BYTES pool bytes of their rows per CTA, a row being a token's
// keys (or values) over every KV head, head-major; the host sizes the grid from both:
// ceil(num_kv_heads * head_dim * sizeof(KV) / CHUNK_BYTES) chunks a row.
// RUN (pal pools): slots a value store covers, KVEC (a 16-byte vector) by default, or the page
// size of pages under KVEC slots (2 / 4 in 16 bits, 2-8 in fp8: a 4- or 8-byte store of the
// page's slots of an element where one store a token wrote 2 bytes).
template <typename T, typename KV, int LAYOUT, int THREADS, int TOKENS, int CHUNK_BYTES, int RUN = 0>
__device__ void fill(const FillParams& p) {
  static_assert(SAME_TYPE<T, KV> || IS_FP8<KV>, "pools in the new rows' dtype, or fp8");
  using Piece = FillPiece<T, KV>;
  constexpr int VEC = Vec<T>::N, KVEC = Vec<KV>::N;  // elements per 16-byte load / pool vector
  constexpr int CHUNK_VECS = CHUNK_BYTES / 16;         // pool vectors of a token's chunk
  constexpr int SOURCE_VECS = CHUNK_VECS * (int)(sizeof(T) / sizeof(KV));  // its new-row vectors
  constexpr int ROW_WORDS = CHUNK_BYTES / 4 + 1;
  constexpr int LOADS = TOKENS * SOURCE_VECS / THREADS;
  constexpr int RESOLVERS = TOKENS / 32, GROUPS_PER_WARP = 32 / KVEC;  // warps resolving, a lane a token
  constexpr int W = RUN ? RUN : KVEC;  // slots a value store covers
  static_assert(KVEC % W == 0 && W > 1, "runs of whole pages under a vector's slots");
  static_assert(LOADS * THREADS == TOKENS * SOURCE_VECS, "whole vectors per thread");
  static_assert(TOKENS % 32 == 0 && RESOLVERS * 32 <= THREADS, "resolving warps, a lane per token");
  __shared__ int page_of[TOKENS], slot_of[TOKENS];
  __shared__ u32 whole_groups[RESOLVERS];
  __shared__ u32 staged[LAYOUT == LAYOUT_PAL ? 2 : 1][LAYOUT == LAYOUT_PAL ? TOKENS * ROW_WORDS : 1];

  // Chunk, then tile: CTAs resident together cover whole rows of the new keys and values and
  // whole slot rows of nhd pages (neighbouring DRAM bytes). Element e of a row is head
  // e / head_dim's dim e % head_dim; vectors never straddle heads (head_dim % VEC == 0).
  const int row = p.num_kv_heads * p.head_dim;
  const int chunks = (row * (int)sizeof(KV) + CHUNK_BYTES - 1) / CHUNK_BYTES;
  const int chunk = blockIdx.x % chunks, first = blockIdx.x / chunks * TOKENS;
  const int e0 = chunk * (CHUNK_BYTES / (int)sizeof(KV));
  const int vectors = min(SOURCE_VECS, (row - e0) / VEC);  // new-row vectors in the chunk
  const int head0 = e0 / p.head_dim, dim0 = e0 - head0 * p.head_dim;
  // Head and dim of the chunk's element c: the chunk's own where it lies in one head (a division
  // per vector put 250 instructions after the pal path's barrier), else a division.
  const bool one_head = dim0 + CHUNK_BYTES / (int)sizeof(KV) <= p.head_dim;
  auto locate = [&](int c, int& head, int& dim) {
    head = head0, dim = dim0 + c;
    if (!one_head) {
      const int step = dim / p.head_dim;
      head += step, dim -= step * p.head_dim;
    }
  };
  const CacheAddress<LAYOUT, KV> at{p.num_kv_heads, p.head_dim, p.page_size};

  // The tile's rows, token-major (16-byte vectors along the row): coalesced reads.
  uint4 key[LOADS], value[LOADS];
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i / SOURCE_VECS, v = i % SOURCE_VECS;
    key[j] = value[j] = make_uint4(0, 0, 0, 0);
    if (first + t < p.num_tokens && v < vectors) {
      const i64 src = (i64)(first + t) * row + e0 + v * VEC;
      key[j] = *(const uint4*)((const T*)p.keys + src);
      value[j] = *(const uint4*)((const T*)p.values + src);
    }
  }
  if (threadIdx.x < TOKENS) {
    const int t = threadIdx.x, lane = t % 32;
    int page = -1, slot = 0;
    if (first + t < p.num_tokens) fill_destination(p, first + t, chunk == 0, page, slot);
    page_of[t] = page;
    slot_of[t] = slot;
    // pal values: a group of KVEC tokens in consecutive slots of one page from a multiple of
    // KVEC is one 16-byte vector per dim.
    // Pages under KVEC slots (RUN): runs of a whole page. Bit r of whole_groups: run r of the
    // warp's tokens (W of them) is whole.
    const int lead = lane - lane % W;
    const int lead_page = __shfl_sync(0xffffffffu, page, lead), lead_slot = __shfl_sync(0xffffffffu, slot, lead);
    const u32 run = __ballot_sync(0xffffffffu, page >= 0 && page == lead_page && slot == lead_slot + lane % W &&
                                                   lead_slot % W == 0);
    if (lane == 0) {
      u32 whole = 0;
      for (int r = 0; r < 32 / W; ++r)
        if ((run >> (r * W) & ((1u << W) - 1)) == (1u << W) - 1) whole |= 1u << r;
      whole_groups[t / 32] = whole;
    }
  }
  // Quantised (fp8) while the resolving warps work, with the chunk's head's scales read once
  // where it lies in one head (every default shape from head dim 128 on), else each vector's.
  float k_scale = 1.f, v_scale = 1.f;
  if constexpr (!SAME_TYPE<T, KV>) k_scale = p.scales.k(head0), v_scale = p.scales.v(head0);
  Piece k_piece[LOADS], v_piece[LOADS];
#pragma unroll
  for (int j = 0; j < LOADS; ++j) {
    float k_of = k_scale, v_of = v_scale;
    if constexpr (!SAME_TYPE<T, KV>) {
      if (!one_head) {
        int head, dim;
        locate((threadIdx.x + j * THREADS) % SOURCE_VECS * VEC, head, dim);
        k_of = p.scales.k(head), v_of = p.scales.v(head);
      }
    }
    k_piece[j] = Piece::of(key[j], k_of), v_piece[j] = Piece::of(value[j], v_of);
  }
  if (LAYOUT != LAYOUT_PAL) {
    __syncthreads();
#pragma unroll
    for (int j = 0; j < LOADS; ++j) {
      const int i = threadIdx.x + j * THREADS, t = i / SOURCE_VECS, v = i % SOURCE_VECS;
      const int page = page_of[t];
      if (page < 0 || v >= vectors) continue;
      int head, dim;
      locate(v * VEC, head, dim);
      const u64 dst = at.value(page, head, slot_of[t], dim);
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
  constexpr int STRIPES = TOKENS * CHUNK_VECS / THREADS;
  static_assert(STRIPES * THREADS == TOKENS * CHUNK_VECS, "whole stripes per thread");
  const int elems = vectors * VEC, stripes = elems / KVEC;
#pragma unroll
  for (int j = 0; j < STRIPES; ++j) {
    const int i = threadIdx.x + j * THREADS, t = i % TOKENS, v = i / TOKENS;
    const int page = page_of[t];
    if (page < 0 || v >= stripes) continue;
    int head, dim;
    locate(v * KVEC, head, dim);
    const u32* k = &staged[0][t * ROW_WORDS + v * 4];
    store_global_16((KV*)p.k_cache + at.key(page, head, slot_of[t], dim), make_uint4(k[0], k[1], k[2], k[3]));
  }
  // Values: per group of KVEC tokens and element, one 16-byte store where the group is whole,
  // else one store per token. Lanes over groups first: lane pairs fill a 32-byte sector of a page.
  constexpr int GROUPS = TOKENS / KVEC, ELEMS = CHUNK_BYTES / sizeof(KV);
  static_assert(GROUPS * ELEMS % THREADS == 0, "whole (group, element) items per thread");
  constexpr int ROW_ELEMS = ROW_WORDS * 4 / (int)sizeof(KV);
#pragma unroll
  for (int j = 0; j < GROUPS * ELEMS / THREADS; ++j) {
    const int i = threadIdx.x + j * THREADS, g = i % GROUPS, c = i / GROUPS, t0 = g * KVEC;
    if (c >= elems) continue;
    const KV* column = (const KV*)&staged[1][t0 * ROW_WORDS] + c;
    int head, dim;
    locate(c, head, dim);
    // Runs of W slots (a vector's KVEC, or a whole page under them): one store of W elements
    // where the run is whole, else one a token.
    constexpr int RUNS = KVEC / W;
    const u32 runs = whole_groups[g / GROUPS_PER_WARP] >> (g % GROUPS_PER_WARP * RUNS);
#pragma unroll
    for (int r = 0; r < RUNS; ++r) {
      const int t = t0 + r * W;
      if (runs >> r & 1) {
        Pack<KV> pack;  // its first W elements
#pragma unroll
        for (int k = 0; k < W; ++k) pack.elems[k] = column[(r * W + k) * ROW_ELEMS];
        KV* dst = (KV*)p.v_cache + at.value(page_of[t], head, slot_of[t], dim);
        if constexpr (W * sizeof(KV) == 16) store_global_16(dst, pack.raw);
        else if constexpr (W * sizeof(KV) == 8) store_global_8(dst, make_uint2(pack.raw.x, pack.raw.y));
        else if constexpr (W * sizeof(KV) == 4) *(u32*)dst = pack.raw.x;
        else *(u16*)dst = (u16)pack.raw.x;
        continue;
      }
      for (int k = 0; k < W; ++k) {
        const int page = page_of[t + k];
        if (page >= 0) ((KV*)p.v_cache)[at.value(page, head, slot_of[t + k], dim)] = column[(r * W + k) * ROW_ELEMS];
      }
    }
  }
}

}  // namespace pal
