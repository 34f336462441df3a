// Paged decode on Hopper's TF32 wgmma (sm_90a) over float32 pools, for groups of more than 16
// query heads a KV head (float32 queries; a CTA's columns past its group are Q rows of zeros with
// no output; other groups and GPUs take `decode_tf32`).
//
// Why: `decode_tf32`'s warps each split every K / V word of a tile for their own 8 heads (4x the
// splits of one pass); a warpgroup's wgmma takes a 64-key tile for 32 heads with each word split
// once, by the warp that copied it: 2.1x fewer instructions a key.
// Work split: a CTA of one warpgroup serves 32 query heads of one KV head over one KV split, in
// tiles of 64 keys (the split granule). Warp w copies and owns keys 16 w .. 16 w + 15 of each
// tile: S^T = K Q^T as m64n32k8 wgmma (A: the warp's 16 keys, split into TF32 pairs in
// registers; B: Q's big and small halves, stored once in shared memory in the K order of the A
// fragments), the tile's max per head across the warps through shared memory (a named barrier),
// P^T's halves stored (a proxy fence, a barrier), O^T += V^T P^T (A: the warp's 16 dims of each
// 64-dim block, for all 64 keys; B: P^T), 3xTF32 as in `Tf32` (mma.cuh). A commit group a chunk,
// at most two in flight (their A registers stay live until read). Every layout: pal tiles stay as
// in their pages ([chunk][key] K, [dim][key] V), its P^T keys in the order its V reads give them.
// One K and one V tile a CTA, released apart: a warp's K rows are its own (no barrier before its
// S), the next tile's K is copied once every warp has passed its softmax, its V once every warp
// has read this tile's V. 113 KB at head dim 128: two CTAs an SM (8 warps), three at 64.
// A warp reads its K rows of a tile (and its V fragments of a 64-dim block) into registers in one
// batch before their wgmma: the shared reads' latency once, not once a chunk. nhd / hnd rows in
// pages of 16 or more are copied from one page base a warp (`issue_rows`), pal rows from one base
// a lane (its key or slots are fixed across its copies). Q's prologue is straight-line: 16-byte
// loads, all in flight at once (the element-a-step loop it replaced was 8% of the instructions).
// Traffic: K and V of each visible token once, in 16-byte copies (pal values in pages of 1 or 2
// slots: 4- or 8-byte copies); Q once. Aim: the float32 read ceiling; per warp and 64-key tile
// at D 128: 96 wgmma of m64n32k8, 128 splits of two ALU ops a thread, 48 / 32 shared reads (nhd /
// pal); about 1280 instructions (nhd, ncu: 20.9 M warp instructions at MQA 64 x 4096).
// H200 (2026-12-02, MQA, D 128, page 16, kernel time by graph replay, % of the read ceiling in
// the same runs; v25, against v24 in two alternating rounds): nhd / pal 2.49-2.50 / 2.43 TB/s at
// 32 x 4096 (57 / 56%, 1.10 / 1.11x), 3.08-3.09 / 2.98-2.99 at 64 x 4096 (70-71 / 68%, 1.07 /
// 1.09x), 2.99-3.00 / 2.89 at 128 x 2048 (68-69 / 66%, 1.06 / 1.08x); hnd / pal at pages 2 and 64
// 1.06-1.11x; D 64 at page 1 1.04-1.07x; HQ 40 / HKV 2 at 64 x 4096 nhd 84%. v24 was 1.01-1.06x
// v23, v23 1.13-1.27x `decode_tf32`; 16 x 4096 and 8 x 4096 stay on `decode_tf32` (`wgmma_grid`).
// The timed call at 64 x 4096 is this kernel's 77.3 us (80% of the ceiling), the split merge's
// 6.5 us after it and the timer's 4 (a CUPTI trace). ncu (nhd 64 x 4096): DRAM 79%, tensor pipe
// 39%, 1.42 instructions a cycle; stalls: the wait for the warp's K rows (13%), fixed-latency
// waits, the maxima's exchange, the barriers. Timed, not kept: two K / V slots at one CTA an SM
// (0.99-1.11x `decode_tf32`); each warp copying the V dims it reads (0.95-0.98x v23); the next K
// right after a warp's S (level in v23, 0.99x v24); K straight from the pools into A registers
// with a second V slot (0.80-0.88x v23); the next V issued before this tile's P V (0.99-1.00x
// v24); the maxima's exchange read in one batch (1.00x v25); the first tile's copies issued
// before Q's prologue, its page ids beside the length (0.98-0.99x, 2026-12-03: a one-wave grid's
// copies queue from the first cycle, and Q's loads behind them start the first S later).
// docs/kernels.md, v23-v25.
#pragma once
#include "pal/decode.cuh"
#include "pal/layout.cuh"
#include "pal/mma.cuh"
#include "pal/wgmma.cuh"

namespace pal {

// Shape (the host, `cuda/decode.rs`, mirrors SHARED_BYTES).
template <int HEAD_DIM> struct DecodeTf32WgmmaTile {
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128, "m64 blocks of dims; O^T's accumulators fit registers to 128");
  static constexpr int WARPS = 4;        // one warpgroup
  static constexpr int KEYS = 64;        // keys a tile (wgmma's m): the host's split granule
  static constexpr int HEADS = 32;       // wgmma's n
  static constexpr int TILE = KEYS * HEAD_DIM;  // floats of a K or a V tile
  static constexpr int RING = 2 * TILE;              // one K tile and one V tile
  static constexpr int Q_TILE = HEADS * HEAD_DIM;    // floats of Q's big (then small) half
  static constexpr int P_TILE = HEADS * KEYS;   // floats of P^T's big (then small) half
  static constexpr int SHARED_BYTES = (RING + 2 * Q_TILE + 2 * P_TILE + WARPS * HEADS) * 4;
  // K rows: chunk c of key k at c ^ 4 (k & 1) (a read's phase: keys 16 w + g, g in {0, 1}).
  __device__ __forceinline__ static int k_at(int key, int chunk) { return key * HEAD_DIM + 4 * (chunk ^ ((key & 1) << 2)); }
  // V rows: chunk c of key k at c ^ 2 (k & 3) (a read's phase: keys 8 ks + t, 32 bytes each).
  __device__ __forceinline__ static int v_at(int key, int chunk) { return key * HEAD_DIM + 4 * (chunk ^ ((key & 3) << 1)); }
  // pal K, [chunk][key] as in its pages: key k of chunk c at k ^ 2 (c & 3) (a read's phase: keys
  // 16 w + g, g in {0, 1}, chunks 4 c + t).
  __device__ __forceinline__ static int pal_k_at(int key, int chunk) { return (chunk * KEYS + (key ^ ((chunk & 3) << 1))) * 4; }
  // pal V, [dim][key] as in its pages: the 16-byte chunk of keys 4 q .. of dim d at q ^ 4 (d & 1)
  // (a read's phase: dims 16 w + g, g in {0, 1}, chunks 4 kk + t).
  __device__ __forceinline__ static int pal_v_at(int dim, int key) {
    return dim * KEYS + 4 * ((key / 4) ^ ((dim & 1) << 2)) + key % 4;
  }
  // The K order of a 16-element run's A fragments (k-step 2 q + ks, k = j): element r of run q is
  // logical k 8 (2 q + ks) + r / 4 + 4 (r % 2), ks = r % 4 / 2 (reads of 4 give k t and t + 4 of
  // two k-steps). Q's dims and pal P^T's keys are placed by it.
  __device__ __forceinline__ static int run_order(int e) {
    const int q = e / 16, r = e % 16;
    return 8 * (2 * q + r % 4 / 2) + r / 4 + 4 * (r % 2);
  }
  // A K-major TF32 tile of ROWS rows, 128-byte swizzle: column blocks of 32 elements, 16-byte
  // chunk c of row r at c ^ (r % 8) (wgmma's canonical layout).
  template <int ROWS> __device__ __forceinline__ static int swizzled(int row, int col) {
    return col / 32 * (ROWS * 32) + row * 32 + ((col / 4 % 8) ^ (row % 8)) * 4 + col % 4;
  }
};

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant>
__device__ void decode_tf32_wgmma(const DecodeParams& p) {
  static_assert(SAME_TYPE<T, float>, "float32 queries over float32 pools");
  constexpr bool PAL = LAYOUT == LAYOUT_PAL;
  // pal values: copies of 4 slots of a dim, or of a page's slots where a page holds fewer.
  constexpr int V_VEC = PAGE_SIZE < 4 ? PAGE_SIZE : 4;
  allow_dependent_launch();
  using Tile = DecodeTf32WgmmaTile<HEAD_DIM>;
  constexpr int WARPS = Tile::WARPS;
  constexpr int D = HEAD_DIM, QUADS = D / 4, TK = Tile::KEYS, TILE = Tile::TILE, HEADS = Tile::HEADS;
  extern __shared__ __align__(1024) float shared[];
  float* q_big = shared + Tile::RING;
  float* q_small = q_big + Tile::Q_TILE;
  float* p_big = q_small + Tile::Q_TILE;
  float* p_small = p_big + Tile::P_TILE;
  float* k_tile = shared;
  float* v_tile = shared + TILE;
  float* exchange = p_small + Tile::P_TILE;  // [head][warp]: a tile's maxima, at the end the sums
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

  const DecodeTask task = DecodeTask::locate<PAGE_SIZE, Variant, Tile::KEYS>(p);
  const int first = task.first, end = task.end, kv_head = task.kv_head;
  const PageRow<PAGE_SIZE> pages(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const float* k_cache = (const float*)p.k_cache;
  const float* v_cache = (const float*)p.v_cache;
  const CacheAddress<LAYOUT, float> at{p.num_kv_heads, D, PAGE_SIZE};
  const float log2_scale = p.scale * LOG2E;
  const u32 mask = Tf32::opaque_mask(p.num_seqs);

  // Q's halves as wgmma's B (rows: heads, K order: the A fragments', see `S` below): logical k
  // 8 s + j (s = 2 c + ks) is dim 16 c + 4 (j % 4) + 2 ks + j / 4.
  // Lane l of warp w loads head 8 w + l / 4, dims 16 i + 4 (l % 4) .. + 3 (16-byte loads, all
  // in flight at once); a store of element j then covers 8 heads x 4 dims: 32 banks.
  {
    static_assert(HEADS == 32 && WARPS == 4, "a warp's 8 heads");
    const int h = 8 * warp + lane / 4;
    const float* q_row = (const float*)p.queries + (h < task.heads ? task.row(p, h) * D : 0) + 4 * (lane % 4);
    float4 x[QUADS / 4];
#pragma unroll
    for (int i = 0; i < QUADS / 4; ++i) x[i] = h < task.heads ? *(const float4*)(q_row + 16 * i) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int i = 0; i < QUADS / 4; ++i) {
      const float xs[4] = {x[i].x, x[i].y, x[i].z, x[i].w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int k = Tile::run_order(16 * i + 4 * (lane % 4) + j);
        const Tf32 q = Tf32::split(xs[j], mask);
        q_big[Tile::template swizzled<HEADS>(h, k)] = __uint_as_float(q.big);
        q_small[Tile::template swizzled<HEADS>(h, k)] = __uint_as_float(q.small);
      }
    }
  }
  const u64 q_big_desc = matrix_descriptor(q_big), q_small_desc = matrix_descriptor(q_small);
  const u64 p_big_desc = matrix_descriptor(p_big), p_small_desc = matrix_descriptor(p_small);
  // k-step s of a K-major tile of ROWS rows: column block s / 4, 32 bytes a step within it.
  auto step = [](u64 desc, int rows, int s) { return descriptor_plus(desc, (s / 4 * rows * 128 + s % 4 * 32) / 16); };

  // The lane's columns: heads 8 b + 2 t + hh (b = 0..3, hh = 0, 1).
  float slope[4][2];
  SoftmaxState state[4][2];
#pragma unroll
  for (int b = 0; b < 4; ++b)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int h = 8 * b + 2 * t + hh;
      slope[b][hh] = h < task.heads ? Variant::slope(p.variant, task.first_head + h) : 0.f;
      state[b][hh] = SoftmaxState::empty();
    }
  // O^T per 64-dim block: rows g / g + 8 are dims 64 mb + 16 warp + 2 g, + 1.
  float o[D / 64][4][4];
#pragma unroll
  for (int mb = 0; mb < D / 64; ++mb)
#pragma unroll
    for (int b = 0; b < 4; ++b) o[mb][b][0] = o[mb][b][1] = o[mb][b][2] = o[mb][b][3] = 0.f;

  const int count = task.end > task.begin ? (task.end - task.begin + TK - 1) / TK : 0;
  auto tile_start = [&](int j) { return task.begin + j * TK; };
  // Warp w's keys of a tile: 16 w + lane % 16 holds its page id (-1: no read).
  const int first_page_key = first / PAGE_SIZE * PAGE_SIZE;
  auto own_key = [&](int tile) { return tile + 16 * warp + lane % 16; };
  auto readable = [&](int key) { return key >= first_page_key && key < end; };
  auto raw_id = [&](int tile) { const int key = own_key(tile); return tile < end && readable(key) ? pages.pages[key / PAGE_SIZE] : -1; };
  auto page_id = [&](int tile, int id) {
    const int key = own_key(tile);
    return tile < end && readable(key) ? pages.checked(id, key, p.errors, OP_DECODE) : -1;
  };
  u32 valid = 0;  // bit k: the warp's key k of the tile had a valid page
  auto record = [&](int page) { valid = __ballot_sync(0xffffffffu, page >= 0) & 0xffffu; };
  // nhd / hnd rows in pages of 16 or more (`place`: their swizzle): the warp's 16 keys lie in one
  // page and its valid keys are a prefix of them (a tile ends inside it), so one page id, one
  // base address and keys a slot apart, `n - 1 - key` negative (zeros, no read) past the valid
  // ones (about 3 instructions a copy where a page id and an address product a copy took 15).
  auto issue_rows = [&](float* rows, auto place, const float* cache, int tile, int page) {
    const u32 bits = __ballot_sync(0xffffffffu, page >= 0) & 0xffffu;
    const int n = __popc(bits), pg = __shfl_sync(0xffffffffu, page, 0);
    const float* base = cache + at.key(max(pg, 0), kv_head, (unsigned)(tile + 16 * warp) % PAGE_SIZE + lane / QUADS, 4 * (lane % QUADS));
    const int stride = at.value_in_page(32 / QUADS, 0);
#pragma unroll
    for (int k = 0; k < 16 * QUADS / 32; ++k) {
      const int key = 32 / QUADS * k + lane / QUADS;
      copy_async_from_page<16>(shared_address(rows + place(16 * warp + key, lane % QUADS)), base + k * stride, n - 1 - key);
    }
  };
  // nhd / hnd rows in pages under 16: a page id a key.
  auto issue_rows_by_key = [&](float* rows, auto place, const float* cache, int tile, int page) {
#pragma unroll
    for (int k = 0; k < 16 * QUADS / 32; ++k) {
      const int e = lane + 32 * k, key = e / QUADS, c = e % QUADS;
      const int pg = __shfl_sync(0xffffffffu, page, key);
      const int slot_in_page = PAGE_SIZE >= 16 ? (unsigned)(tile + 16 * warp) % PAGE_SIZE + key : key % PAGE_SIZE;
      copy_async<16>(rows + place(16 * warp + key, c), cache + at.key(max(pg, 0), kv_head, slot_in_page, 4 * c), pg >= 0 ? 16 : 0);
    }
  };
  // The warp's 16 keys of tile `tile`: K rows (read by the warp alone), then V rows (read by all).
  auto issue_k = [&](int tile, int page) {
    if (tile < end && PAL) {
      auto slot_of = [&](int key) {
        return PAGE_SIZE >= 16 ? (unsigned)(tile + 16 * warp) % PAGE_SIZE + key : key % PAGE_SIZE;
      };
      // A lane's key is fixed and a pal page keeps a head's chunk c of every slot together:
      // chunks lane / 16 + 2 k are 8 PAGE_SIZE floats apart from one base.
      const int key = lane % 16, pg = __shfl_sync(0xffffffffu, page, key);
      const float* base = k_cache + at.key(max(pg, 0), kv_head, slot_of(key), 4 * (lane / 16));
#pragma unroll
      for (int k = 0; k < QUADS / 2; ++k) {
        const int c = lane / 16 + 2 * k;
        copy_async_from_page<16>(shared_address(k_tile + Tile::pal_k_at(16 * warp + key, c)), base + k * 8 * PAGE_SIZE, pg);
      }
    } else if (tile < end && PAGE_SIZE >= 16) {
      issue_rows(k_tile, [](int key, int c) { return Tile::k_at(key, c); }, k_cache, tile, page);
    } else if (tile < end) {
      issue_rows_by_key(k_tile, [](int key, int c) { return Tile::k_at(key, c); }, k_cache, tile, page);
    }
    copy_async_commit();
  };
  auto issue_v = [&](int tile, int page) {
    if (tile < end && PAL) {
      auto slot_of = [&](int key) {
        return PAGE_SIZE >= 16 ? (unsigned)(tile + 16 * warp) % PAGE_SIZE + key : key % PAGE_SIZE;
      };
      constexpr int R = 16 / V_VEC;
      const int v_key = lane % R * V_VEC, v_pg = __shfl_sync(0xffffffffu, page, v_key);
      // Dims lane / R + 32 / R k of the lane's slots: 32 / R PAGE_SIZE floats apart from one base.
      const float* base = v_cache + at.value(max(v_pg, 0), kv_head, slot_of(v_key), lane / R);
#pragma unroll
      for (int k = 0; k < D * R / 32; ++k) {
        const int d = lane / R + 32 / R * k;
        copy_async_from_page<V_VEC * 4>(shared_address(v_tile + Tile::pal_v_at(d, 16 * warp + v_key)), base + k * (32 / R) * PAGE_SIZE, v_pg);
      }
    } else if (tile < end && PAGE_SIZE >= 16) {
      issue_rows(v_tile, [](int key, int c) { return Tile::v_at(key, c); }, v_cache, tile, page);
    } else if (tile < end) {
      issue_rows_by_key(v_tile, [](int key, int c) { return Tile::v_at(key, c); }, v_cache, tile, page);
    }
    copy_async_commit();
  };

  fence_async_shared();  // Q's halves, written by the generic proxy, before any wgmma reads them
  __syncthreads();
  int page = count > 0 ? page_id(tile_start(0), raw_id(tile_start(0))) : -1;
  record(page);
  issue_k(count > 0 ? tile_start(0) : end, page);
  issue_v(count > 0 ? tile_start(0) : end, page);
  int next_id = raw_id(tile_start(1));

  for (int j = 0; j < count; ++j) {
    const int tile = tile_start(j);
    copy_async_wait<1>();  // the warp's K rows of tile j (its V rows may still be in flight)
    __syncwarp();

    // S^T: the warp's keys 16 w + g (row g), + 8 (row g + 8); a read gives dims 16 c + 4 t .. + 3.
    float s[4][4];
#pragma unroll
    for (int b = 0; b < 4; ++b) s[b][0] = s[b][1] = s[b][2] = s[b][3] = 0.f;
    // The warp's K rows read up front (the reads' latency once a tile, not once a chunk).
    float4 kx[D / 16], ky[D / 16];
#pragma unroll
    for (int c = 0; c < D / 16; ++c) {
      kx[c] = *(const float4*)(k_tile + (PAL ? Tile::pal_k_at(16 * warp + g, 4 * c + t) : Tile::k_at(16 * warp + g, 4 * c + t)));
      ky[c] = *(const float4*)(k_tile + (PAL ? Tile::pal_k_at(16 * warp + g + 8, 4 * c + t) : Tile::k_at(16 * warp + g + 8, 4 * c + t)));
    }
    wgmma_fence();
#pragma unroll
    for (int c = 0; c < D / 16; ++c) {
      const float4 x = kx[c], y = ky[c];
      const Tf32 a0[4] = {Tf32::split(x.x, mask), Tf32::split(y.x, mask), Tf32::split(x.y, mask), Tf32::split(y.y, mask)};
      const Tf32 a1[4] = {Tf32::split(x.z, mask), Tf32::split(y.z, mask), Tf32::split(x.w, mask), Tf32::split(y.w, mask)};
      wgmma_fence();  // (the A registers were just written: ordered before the wgmma reads them)
      wgmma_3xtf32_n32(s, a0, step(q_big_desc, HEADS, 2 * c), step(q_small_desc, HEADS, 2 * c));
      wgmma_3xtf32_n32(s, a1, step(q_big_desc, HEADS, 2 * c + 1), step(q_small_desc, HEADS, 2 * c + 1));
      // (A group a chunk, at most two in flight: their A registers stay live until read)
      wgmma_commit();
      wgmma_wait<1>();
    }
    wgmma_wait<0>();

    // Softmax: the tile's max per head over the warp's keys, then over the warps.
    const int key0 = tile + 16 * warp + g, key1 = key0 + 8;
    const bool see0 = (valid >> g & 1u) && key0 >= first && key0 < end;
    const bool see1 = (valid >> (g + 8) & 1u) && key1 >= first && key1 < end;
    float l[4][4];
#pragma unroll
    for (int b = 0; b < 4; ++b)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = e < 2 ? key0 : key1;
        float x = s[b][e] * log2_scale;
        if constexpr (Variant::TRANSFORMS_SCORES)
          x = Variant::logit(p.variant, s[b][e] * p.scale, key, task.length - 1, slope[b][e & 1]) * LOG2E;
        l[b][e] = (e < 2 ? see0 : see1) ? x : neg_inf();
      }
#pragma unroll
    for (int b = 0; b < 4; ++b)
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        const float m = lanes8_max<4, 8, 16>(fmaxf(l[b][hh], l[b][2 + hh]));
        if (g == 0) exchange[(8 * b + 2 * t + hh) * WARPS + warp] = m;
      }
    named_barrier_sync(1, 128);
    float factor[4][2];
#pragma unroll
    for (int b = 0; b < 4; ++b)
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        const int h = 8 * b + 2 * t + hh;
        const float4 all = *(const float4*)(exchange + h * WARPS);
        factor[b][hh] = state[b][hh].rescale(fmaxf(fmaxf(all.x, all.y), fmaxf(all.z, all.w)));
        const float base = state[b][hh].base();
        const float w0 = fast_exp2(l[b][hh] - base), w1 = fast_exp2(l[b][2 + hh] - base);
        state[b][hh].sum += w0 + w1;
        // P^T's B rows are heads, its K order the tile's keys.
        // (pal: keys in `run_order`, as its V reads give them)
        const int k0 = 16 * warp + g;
        const int at0 = Tile::template swizzled<HEADS>(h, PAL ? Tile::run_order(k0) : k0);
        const int at1 = Tile::template swizzled<HEADS>(h, PAL ? Tile::run_order(k0 + 8) : k0 + 8);
        const Tf32 p0 = Tf32::split(w0), p1 = Tf32::split(w1);
        p_big[at0] = __uint_as_float(p0.big), p_small[at0] = __uint_as_float(p0.small);
        p_big[at1] = __uint_as_float(p1.big), p_small[at1] = __uint_as_float(p1.small);
      }
    copy_async_wait<0>();  // the warp's V rows of tile j
    if (tile < first || tile + TK > end) {  // the warp's hidden keys' values: zeros
      for (int e = lane; e < 16 * D; e += 32) {
        const int row = 16 * warp + e / D, key = tile + row, d = e % D;
        if (key < first || key >= end) v_tile[PAL ? Tile::pal_v_at(d, row) : row * D + d] = 0.f;
      }
    }
    fence_async_shared();
    __syncthreads();  // P^T and V whole; every warp read the maxima and its K rows
    page = j + 1 < count ? page_id(tile_start(j + 1), next_id) : -1;
    record(page);
    issue_k(j + 1 < count ? tile_start(j + 1) : end, page);
    next_id = raw_id(tile_start(j + 2));
#pragma unroll
    for (int mb = 0; mb < D / 64; ++mb)
#pragma unroll
      for (int b = 0; b < 4; ++b) {
        o[mb][b][0] *= factor[b][0], o[mb][b][2] *= factor[b][0];
        o[mb][b][1] *= factor[b][1], o[mb][b][3] *= factor[b][1];
      }

    // O^T += V^T P^T: k-step ks takes keys 8 ks + t (a0, a1: dims 2 g, + 1 of the warp's 16) and
    // 8 ks + t + 4 (a2, a3).
    wgmma_fence();
    if constexpr (PAL) {
      // Rows g / g + 8 are dims 64 mb + 16 w + g / + 8; a read gives keys 16 kk + 4 t .. + 3 of a
      // dim: k-steps 2 kk and 2 kk + 1 in `run_order`.
#pragma unroll
      for (int mb = 0; mb < D / 64; ++mb) {
        float4 vx[TK / 16], vy[TK / 16];
#pragma unroll
        for (int kk = 0; kk < TK / 16; ++kk) {
          const int dim = 64 * mb + 16 * warp + g;
          vx[kk] = *(const float4*)(v_tile + Tile::pal_v_at(dim, 16 * kk + 4 * t));
          vy[kk] = *(const float4*)(v_tile + Tile::pal_v_at(dim + 8, 16 * kk + 4 * t));
        }
#pragma unroll
        for (int kk = 0; kk < TK / 16; ++kk) {
          const float4 x = vx[kk], y = vy[kk];
          const Tf32 a0[4] = {Tf32::split(x.x, mask), Tf32::split(y.x, mask), Tf32::split(x.y, mask), Tf32::split(y.y, mask)};
          const Tf32 a1[4] = {Tf32::split(x.z, mask), Tf32::split(y.z, mask), Tf32::split(x.w, mask), Tf32::split(y.w, mask)};
          wgmma_fence();
          wgmma_3xtf32_n32(o[mb], a0, step(p_big_desc, HEADS, 2 * kk), step(p_small_desc, HEADS, 2 * kk));
          wgmma_3xtf32_n32(o[mb], a1, step(p_big_desc, HEADS, 2 * kk + 1), step(p_small_desc, HEADS, 2 * kk + 1));
          wgmma_commit();
          wgmma_wait<1>();
        }
      }
    } else
#pragma unroll
    for (int mb = 0; mb < D / 64; ++mb) {
      float2 vlo[TK / 8], vhi[TK / 8];
#pragma unroll
      for (int ks = 0; ks < TK / 8; ++ks) {
        const int chunk = (64 * mb + 16 * warp + 2 * g) / 4, half = g & 1;
        vlo[ks] = *(const float2*)(v_tile + Tile::v_at(8 * ks + t, chunk) + 2 * half);
        vhi[ks] = *(const float2*)(v_tile + Tile::v_at(8 * ks + t + 4, chunk) + 2 * half);
      }
#pragma unroll
      for (int ks = 0; ks < TK / 8; ++ks) {
        const float2 lo = vlo[ks], hi = vhi[ks];
        const Tf32 a[4] = {Tf32::split(lo.x, mask), Tf32::split(lo.y, mask), Tf32::split(hi.x, mask), Tf32::split(hi.y, mask)};
        wgmma_fence();
        wgmma_3xtf32_n32(o[mb], a, step(p_big_desc, HEADS, ks), step(p_small_desc, HEADS, ks));
        wgmma_commit();
        wgmma_wait<1>();
      }
    }
    wgmma_wait<0>();
    __syncthreads();  // every warp read V and P^T
    issue_v(j + 1 < count ? tile_start(j + 1) : end, page);
  }
  copy_async_wait<0>();

  // Sums: over the lanes g, then the warps.
  __syncthreads();
#pragma unroll
  for (int b = 0; b < 4; ++b)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const float sum = lanes8_sum<4, 8, 16>(state[b][hh].sum);
      if (g == 0) exchange[(8 * b + 2 * t + hh) * WARPS + warp] = sum;
    }
  __syncthreads();
#pragma unroll
  for (int b = 0; b < 4; ++b)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int h = 8 * b + 2 * t + hh;
      if (h >= task.heads) continue;
      const float4 all = *(const float4*)(exchange + h * WARPS);
      const SoftmaxState total{state[b][hh].max, (all.x + all.y) + (all.z + all.w)};
      const i64 row = task.row(p, h);
      const float inverse = total.inverse_sum(Variant::sink(p.variant, task.first_head + h));
#pragma unroll
      for (int mb = 0; mb < D / 64; ++mb) {
        if constexpr (PAL) {
          const float lo[1] = {o[mb][b][hh]}, hi[1] = {o[mb][b][2 + hh]};
          store_decode_row<T, 1>(p, row, task.split, D, 64 * mb + 16 * warp + g, lo, inverse);
          store_decode_row<T, 1>(p, row, task.split, D, 64 * mb + 16 * warp + g + 8, hi, inverse);
        } else {
          const float out[2] = {o[mb][b][hh], o[mb][b][2 + hh]};
          store_decode_row<T, 2>(p, row, task.split, D, 64 * mb + 16 * warp + 2 * g, out, inverse);
        }
      }
      if (warp == 0 && g == 0) store_decode_state(p, row, task.split, total);
    }
}

}  // namespace pal
