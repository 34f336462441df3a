// Paged prefill on tensor cores (float16 / bfloat16), FlashAttention-2 style.
//
// A CTA of four warps owns ROWS query rows ((token, head) pairs of one KV head, see
// `PrefillTask`), 16 * M_TILES per warp, staged once in shared memory. K / V tiles stream
// through a two-slot ring with cp.async: tile j + 2 loads while the warps work on tile j
// (S = Q K^T and O += P V with m16n8k16 mma.sync, float32 accumulators, online softmax in
// registers with base-2 exponentials). The CTA stops at its last token's causal limit: later
// tiles are never loaded; only tiles that reach past its first token's limit, or that hold a key
// block of an invalid page, are masked.
//
// V tiles come in two forms. The pal layout stores each value dim's tokens contiguously, so a
// tile that is wholly history is copied as it lies, [dim][key], and read with plain ldmatrix;
// every other V tile (nhd / hnd, and pal tiles that reach into the prompt, whose rows come from
// `v`) is [key][dim], read with ldmatrix.trans.
// Traffic: each K / V tile once per CTA of ROWS query rows; Q once; the output once.
// H200 (2026-11-29, bf16, HQ 32 / HKV 8, D 128, page 16, causal, kernel time by graph replay):
// 158 / 159 / 130 / 146 TFLOP/s in pal and 188 / 190 / 149 / 170 in nhd on 1 x 4096, 4 x 4096,
// 16 x 1024 and 4 x 1024 over 8192 tokens (fifth session; FlashInfer's FA2 path, this kernel's
// peer, ran 278-349 in issue 13's table). On Hopper the wgmma kernel runs instead.
#pragma once
#include "pal/mma.cuh"
#include "pal/prefill.cuh"
#include "pal/softmax.cuh"
#include "pal/variant.cuh"

namespace pal {

// Tile shape: M_TILES 16-row m-tiles per warp (two halve the shared-memory reads of K and V per
// mma; 256-wide heads keep one, their accumulators fill the registers) and KEYS keys per K / V
// tile, chosen by the host (`cuda/prefill.rs`), which also passes SHARED_BYTES for the asserts.
template <int HEAD_DIM, int M_TILES_, int KEYS_> struct PrefillMmaTile {
  static constexpr int M_TILES = M_TILES_;
  static constexpr int ROWS = 4 * 16 * M_TILES;           // query rows per CTA
  static constexpr int KEYS = KEYS_;                     // keys per K / V tile
  static constexpr int PAD = 8;                          // rows start 16 bytes apart mod 128: no bank conflicts
  static constexpr int ROW = HEAD_DIM + PAD;             // Q, K and row-form V stride
  static constexpr int DIM_ROW = KEYS + PAD;             // [dim][key] V stride
  static constexpr int V_ELEMENTS = KEYS * ROW > HEAD_DIM * DIM_ROW ? KEYS * ROW : HEAD_DIM * DIM_ROW;
  static constexpr int SLOT_ELEMENTS = KEYS * ROW + V_ELEMENTS;  // one ring slot: K then V
  static constexpr int SHARED_BYTES = 2 * (ROWS * ROW + 2 * SLOT_ELEMENTS);
};

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int M_TILES_, int KEYS_>
__device__ void prefill_mma(const PrefillParams& p) {
  using Tile = PrefillMmaTile<HEAD_DIM, M_TILES_, KEYS_>;
  using KV = T;  // pools in the queries' dtype for now (the entry file asserts it)
  constexpr int M_TILES = Tile::M_TILES, KEYS = Tile::KEYS, ROW = Tile::ROW, DIM_ROW = Tile::DIM_ROW;
  constexpr int WARP_ROWS = 16 * M_TILES;
  constexpr int CHUNKS = HEAD_DIM / 8;     // 16-byte chunks per row
  constexpr int KEY_BLOCKS = KEYS / 8;     // mma n-blocks per tile
  constexpr u32 ALL_BLOCKS = (1u << KEY_BLOCKS) - 1;
  static_assert(sizeof(T) == 2 && PAGE_SIZE % 8 == 0 && KEYS % PAGE_SIZE == 0, "8-key blocks lie in one page");
  static_assert(HEAD_DIM % 16 == 0, "whole mma k-steps");

  extern __shared__ __align__(16) unsigned char shared[];
  T* q_tile = (T*)shared;
  auto k_slot = [&](int j) { return q_tile + Tile::ROWS * ROW + (j & 1) * Tile::SLOT_ELEMENTS; };
  auto v_slot = [&](int j) { return k_slot(j) + KEYS * ROW; };
  __shared__ u32 readable_blocks[2];  // per ring slot: bit b set when key block b is readable

  const PrefillTask task = locate_prefill_task<PAGE_SIZE>(p);
  if (task.empty()) return;  // the whole CTA: uniform exit
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const T* q = (const T*)p.q;
  const T* k_prompt = (const T*)p.k;
  const T* v_prompt = (const T*)p.v;
  const T* k_pool = (const T*)p.k_cache;
  const T* v_pool = (const T*)p.v_cache;
  const int history = task.history, keys = task.keys(), kv_head = task.kv_head;
  const PageRow<PAGE_SIZE> page_row(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const CacheAddress<LAYOUT, T> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  // Page lookups in the tile loop never report (a report branch per copy cost ~10%, one per tile
  // ballot 3-5%): warp 0 notes that a history block was unreadable, and after the loop reports
  // the first invalid id it finds (deferred checking).
  bool saw_invalid_page = false;  // warp 0
  auto prompt_row = [&](int key) -> i64 {  // offset of a prompt key's row in k / v
    return ((i64)(task.prompt_begin + key - history) * p.num_kv_heads + kv_head) * HEAD_DIM;
  };
  // Keys before `lowest_first` are hidden from every row of the CTA (a window): tiles before it
  // are skipped, and its keys in the first tile read as zeros, never from the pools.
  const int lowest_first = Variant::first_visible(p.variant, history + task.first_token);
  const int highest_first = Variant::first_visible(p.variant, history + task.end_token - 1);
  // A tile that is pal history through and through, and visible from its first key: its V tile
  // is kept [dim][key].
  auto values_by_dim = [&](int key0) {
    return LAYOUT == LAYOUT_PAL && key0 + KEYS <= history && (!Variant::HAS_WINDOW || key0 >= lowest_first);
  };
  // Query row r: token first_token + split.token(r), head first_head + split.head(r).
  const int spacing = p.heads_per_cta, rows_used = p.tokens_per_cta * spacing;
  const RowSplit split(spacing);
  auto row_valid = [&](int r) {
    return r < rows_used && split.head(r) < task.heads && task.first_token + split.token(r) < task.end_token;
  };
  auto q_row = [&](int r) -> i64 {
    return (i64)(task.prompt_begin + task.first_token + split.token(r)) * p.num_q_heads + task.first_head + split.head(r);
  };

  for (int i = tid; i < Tile::ROWS * CHUNKS; i += PREFILL_THREADS) {
    const int r = i / CHUNKS, c = i % CHUNKS;
    const bool valid = row_valid(r);
    copy_async_16(q_tile + r * ROW + c * 8, valid ? q + q_row(r) * HEAD_DIM + c * 8 : q, valid);
  }

  // Issues the copies of K / V tile j into its ring slot (masked keys become zeros).
  auto load_tile = [&](int j) {
    const int key0 = j * KEYS;
    T* k_tile = k_slot(j);
    T* v_tile = v_slot(j);
    // pal key stripes of one dim chunk are token-contiguous: there neighbouring threads walk
    // tokens; rows of nhd / hnd pools and of `k` are dim-contiguous: there they walk dims.
    const bool walk_tokens = values_by_dim(key0);
    for (int i = tid; i < KEYS * CHUNKS; i += PREFILL_THREADS) {
      const int t = walk_tokens ? i % KEYS : i / CHUNKS;
      const int c = walk_tokens ? i / KEYS : i % CHUNKS;
      gather_chunk<false, Variant>(k_tile + t * ROW + c * 8, k_pool, k_prompt, at, page_row, kv_head, key0 + t, c, history,
                                   keys, lowest_first, prompt_row);
    }
    if (values_by_dim(key0)) {
      // 8-token stripes of one dim, copied in the pool's [dim][slot] order, page by page.
      constexpr int PAGE_STRIPES = PAGE_SIZE / 8;
      for (int i = tid; i < HEAD_DIM * (KEYS / 8); i += PREFILL_THREADS) {
        const int dim = (i / PAGE_STRIPES) % HEAD_DIM;
        const int t = i / (PAGE_STRIPES * HEAD_DIM) * PAGE_SIZE + i % PAGE_STRIPES * 8;
        const i64 page = page_row.page_of(key0 + t);
        copy_async_16(v_tile + dim * DIM_ROW + t,
                      page >= 0 ? v_pool + at.value(page, kv_head, (key0 + t) % PAGE_SIZE, dim) : v_pool, page >= 0);
      }
    } else {
      for (int i = tid; i < KEYS * CHUNKS; i += PREFILL_THREADS) {  // pal: the one tile that straddles history and prompt
        const int t = i / CHUNKS, c = i % CHUNKS;
        gather_chunk<true, Variant>(v_tile + t * ROW + c * 8, v_pool, v_prompt, at, page_row, kv_head, key0 + t, c, history,
                                    keys, lowest_first, prompt_row);
      }
    }
    if (warp == 0) {
      const int key = key0 + lane * 8;
      const bool invalid =
          lane < KEY_BLOCKS && key < history && (!Variant::HAS_WINDOW || key + 8 > lowest_first) &&
          page_row.page_of(Variant::HAS_WINDOW ? max(key, lowest_first) : key) < 0;
      saw_invalid_page |= invalid;
      const u32 blocks = __ballot_sync(0xffffffffu, lane < KEY_BLOCKS && !invalid);
      if (lane == 0) readable_blocks[j & 1] = blocks;
    }
  };

  // This thread's rows: its two fragment rows in each of the warp's m-tiles.
  auto my_row = [&](int m, int i) { return warp * WARP_ROWS + m * 16 + Fragment::row(lane, 2 * i); };
  int visible[M_TILES][2];  // keys each row sees (0 for padding rows)
  int first_key[M_TILES][2];  // the first of them (a window's start)
  float slope[M_TILES][2];    // ALiBi slope of the row's head
  SoftmaxState state[M_TILES][2];
  float o[M_TILES][CHUNKS][4];
#pragma unroll
  for (int m = 0; m < M_TILES; ++m) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = my_row(m, i);
      const int position = history + task.first_token + split.token(r);
      visible[m][i] = row_valid(r) ? position + 1 : 0;
      first_key[m][i] = Variant::first_visible(p.variant, position);
      slope[m][i] = Variant::TRANSFORMS_SCORES && row_valid(r) ? Variant::slope(p.variant, task.first_head + split.head(r)) : 0.f;
      state[m][i] = SoftmaxState::empty();
    }
#pragma unroll
    for (int b = 0; b < CHUNKS; ++b) o[m][b][0] = o[m][b][1] = o[m][b][2] = o[m][b][3] = 0.f;
  }
  const bool warp_active = __any_sync(0xffffffffu, lane < WARP_ROWS && row_valid(warp * WARP_ROWS + lane));
  const int unmasked_keys = history + task.first_token + 1;  // seen by every row
  const float log2_scale = p.scale * LOG2E;

  const int tiles = (keys + KEYS - 1) / KEYS, first_tile = lowest_first / KEYS;
  load_tile(first_tile);  // with Q: one copy group
  copy_async_commit();
  if (first_tile + 1 < tiles) load_tile(first_tile + 1);
  copy_async_commit();
  for (int j = first_tile; j < tiles; ++j) {
    const int key0 = j * KEYS;
    copy_async_wait_one();  // tile j is in; tile j + 1 may still be in flight
    __syncthreads();
    if (warp_active) {
      const T* k_tile = k_slot(j);
      const T* v_tile = v_slot(j);
      float s[M_TILES][KEY_BLOCKS][4];
#pragma unroll
      for (int m = 0; m < M_TILES; ++m)
#pragma unroll
        for (int b = 0; b < KEY_BLOCKS; ++b) s[m][b][0] = s[m][b][1] = s[m][b][2] = s[m][b][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
        u32 a[M_TILES][4];
#pragma unroll
        for (int m = 0; m < M_TILES; ++m)
          load_matrix_x4(a[m], q_tile + (warp * WARP_ROWS + m * 16 + lane % 16) * ROW + kk * 16 + lane / 16 * 8);
#pragma unroll
        for (int b = 0; b < KEY_BLOCKS; b += 2) {
          u32 k_frag[4];
          KvOperand<KV, T>::direct(k_frag, k_tile + (b * 8 + lane % 8 + lane / 16 * 8) * ROW + kk * 16 + (lane / 8) % 2 * 8);
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) {
            Mma<T>::run(s[m][b], a[m], k_frag[0], k_frag[1]);
            Mma<T>::run(s[m][b + 1], a[m], k_frag[2], k_frag[3]);
          }
        }
      }

      const u32 readable = readable_blocks[j & 1];
      const bool masked = key0 + KEYS > unmasked_keys || readable != ALL_BLOCKS || key0 < highest_first;
#pragma unroll
      for (int m = 0; m < M_TILES; ++m) {
        // Unmasked tiles keep raw scores (`raw_row_max`); masked ones and transformed scores
        // are scaled here (`mul` 1).
        float tile_max[2] = {neg_inf(), neg_inf()};
        float mul = log2_scale;
        if (masked || Variant::TRANSFORMS_SCORES) {
          mul = 1.f;
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; ++b) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = key0 + b * 8 + Fragment::column(lane, e), r = Fragment::row_index(e);
              float score = s[m][b][e] * log2_scale;
              if constexpr (Variant::TRANSFORMS_SCORES)
                score = Variant::logit(p.variant, s[m][b][e] * p.scale, key, visible[m][r] - 1, slope[m][r]) * LOG2E;
              if (masked && (key >= visible[m][r] || (Variant::HAS_WINDOW && key < first_key[m][r]) || !((readable >> b) & 1)))
                score = neg_inf();
              s[m][b][e] = score;
              tile_max[r] = fmaxf(tile_max[r], score);
            }
          }
        } else {
          raw_row_max(s[m], log2_scale, tile_max);
        }
        float base[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const float factor = state[m][i].rescale(quad_max(tile_max[i]));
          base[i] = state[m][i].base();
          if (__any_sync(0xffffffffu, factor != 1.f)) {  // the max of the warp's rows mostly stays put
#pragma unroll
            for (int b = 0; b < CHUNKS; ++b) {
              o[m][b][2 * i] *= factor;
              o[m][b][2 * i + 1] *= factor;
            }
          }
        }
#pragma unroll
        for (int b = 0; b < KEY_BLOCKS; ++b) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            s[m][b][e] = fast_exp2(fmaf(s[m][b][e], mul, -base[Fragment::row_index(e)]));
            state[m][Fragment::row_index(e)].sum += s[m][b][e];
          }
        }
      }

      const bool by_dim = values_by_dim(key0);
#pragma unroll
      for (int kb = 0; kb < KEY_BLOCKS / 2; ++kb) {
        u32 a[M_TILES][4];
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) {
          a[m][0] = Mma<T>::pack(s[m][2 * kb][0], s[m][2 * kb][1]);
          a[m][1] = Mma<T>::pack(s[m][2 * kb][2], s[m][2 * kb][3]);
          a[m][2] = Mma<T>::pack(s[m][2 * kb + 1][0], s[m][2 * kb + 1][1]);
          a[m][3] = Mma<T>::pack(s[m][2 * kb + 1][2], s[m][2 * kb + 1][3]);
        }
#pragma unroll
        for (int b = 0; b < CHUNKS; b += 2) {
          u32 v_frag[4];
          if (by_dim)
            KvOperand<KV, T>::direct(v_frag, v_tile + (b * 8 + lane % 8 + lane / 16 * 8) * DIM_ROW + kb * 16 + (lane / 8) % 2 * 8);
          else
            KvOperand<KV, T>::transposed(v_frag,
                                      v_tile + (kb * 16 + lane % 8 + (lane / 8) % 2 * 8) * ROW + b * 8 + lane / 16 * 8);
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) {
            Mma<T>::run(o[m][b], a[m], v_frag[0], v_frag[1]);
            Mma<T>::run(o[m][b + 1], a[m], v_frag[2], v_frag[3]);
          }
        }
      }
    }
    __syncthreads();  // every warp is done with slot j & 1
    if (j + 2 < tiles) load_tile(j + 2);
    copy_async_commit();  // possibly empty: keeps one group per tile
  }

  if (warp == 0 && __any_sync(0xffffffffu, saw_invalid_page))
    for (int key = lowest_first / PAGE_SIZE * PAGE_SIZE + lane * PAGE_SIZE; key < history; key += 32 * PAGE_SIZE)
      page_row.page_of(key, p.errors, OP_PREFILL);

  // Normalise, stage the warp's rows in its own rows of the Q tile, write whole 16-byte chunks.
  T* staged = q_tile + warp * WARP_ROWS * ROW;
#pragma unroll
  for (int m = 0; m < M_TILES; ++m) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = my_row(m, i);
      const float sink = row_valid(r) ? Variant::sink(p.variant, task.first_head + split.head(r)) : neg_inf();
      const float inverse = SoftmaxState{state[m][i].max, quad_sum(state[m][i].sum)}.inverse_sum(sink);
#pragma unroll
      for (int b = 0; b < CHUNKS; ++b)
        *(u32*)(staged + (m * 16 + Fragment::row(lane, 2 * i)) * ROW + b * 8 + Fragment::column(lane, 0)) =
            Mma<T>::pack(o[m][b][2 * i] * inverse, o[m][b][2 * i + 1] * inverse);
    }
  }
  __syncwarp();
  for (int i = lane; i < WARP_ROWS * CHUNKS; i += 32) {
    const int r = i / CHUNKS, c = i % CHUNKS, row = warp * WARP_ROWS + r;
    if (row_valid(row)) *(uint4*)((T*)p.out + q_row(row) * HEAD_DIM + c * 8) = *(const uint4*)(staged + r * ROW + c * 8);
  }
}

}  // namespace pal
