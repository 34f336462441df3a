// Paged prefill on tensor cores (float16 / bfloat16), FlashAttention-2 style: the portable path
// (sm_80 and newer; on Hopper the wgmma kernel runs unless PAL_PREFILL_PATH=portable).
//
// Work split: a CTA of four warps owns ROWS query rows ((token, head) pairs of one KV head, see
// `PrefillTask`), 16 * M_TILES per warp, staged once in shared memory. K / V tiles of KEYS keys
// (64 where two CTAs' tiles fit an SM's shared memory, else 32) stream through a two-slot ring
// with cp.async: tile j + 2 loads while the warps work on tile j; at head dims 192 / 256 (STAGGER)
// one slot of 64-key tiles, K of tile j + 1 loading during tile j's P V, its V during the next
// scores. S = Q K^T and O += P V with m16n8k16 mma.sync, float32 accumulators, online softmax in
// registers with base-2 exponentials. The CTA stops at its last token's causal limit; only tiles
// that reach past its first token's limit, or hold a key of an invalid page, are masked.
// Copies: tiles wholly prompt or wholly history follow copy plans (a fixed chunk or key per
// thread, page ids read a tile ahead and shuffled, 32-bit offsets); a sequence's boundary tile
// and a window's first take the general gather. Tiles keep the pools' order where it differs:
// pal history K as [chunk][key][8], pal history V as [dim][key] (swizzled), read with plain
// ldmatrix; other V tiles are [key][dim], read with ldmatrix.trans. The tile forms are template
// parameters of the math (a runtime branch per fragment load cost 20%).
// Split-KV (SPLIT_KV, a kernel of its own; the host splits where the CTAs fill under half the
// GPU's slots): CTA x serves CTA x % items over split x / items of its tiles and writes float32
// partial states, merged by `merge_splits` (merge.cuh).
// Traffic: each K / V tile once per CTA of ROWS query rows; Q once; the output once (split:
// partial states once, read once by the merge).
// H200 (2026-11-30, eighteenth session, bf16, HQ 32 / HKV 8, D 128, page 16, causal, kernel time
// by graph replay, FlashInfer's FA2 path in the same run): see docs/kernels.md, "Portable
// prefill, eighteenth session"; split-KV (2026-12-01): nhd 1 x 128 over 32768 45 -> 256
// TFLOP/s.
// pal Q loads / output stores by 32-bit row offsets (2026-12-01, twenty-eighth session): pal
// 252 -> 263 TFLOP/s at 1 x 4096, 201 -> 218 at 16 x 1024, history rows 1.01x.
// Registers freed at head dims 112 / 128 (H100, 2026-12-06, sixty-second and sixty-third
// sessions: the task in shared memory, fragment addresses from per-tile bases): D 128
// 1.06-1.12x main on every row, D 112 0.95-1.11x; beside FA2 (D 128) nhd 0.79-1.07x, pal
// 0.67-1.02x (docs/kernels.md, "Portable prefill, sixty-third session", and the sixty-second).
// Tiles 128-byte aligned, swizzled rows at D 128 / 192 / 256 (H100, 2026-12-06, sixty-fourth
// session; A/B against the form before): D 128 nhd 1.01-1.05x, pal 1.10-1.25x; D 256
// 1.02-1.20x; D 192 0.98-1.24x; pal history rows 1.06-1.25x at every head dim. Beside FA2 at
// D 128: nhd 0.81-1.12x, pal 0.84-1.14x (docs/kernels.md, "Portable prefill, sixty-fourth
// session").
// nhd / hnd rows by 32-bit offsets, row sums on the tensor cores at one m-tile (H100,
// 2026-12-06, sixty-fifth session): nhd D 128 1.05-1.18x, every head dim 1.01-1.05x on average;
// beside FA2 nhd D 128 0.95-1.20x, D 64 0.92-0.98x, D 256 0.87-0.94x (docs/kernels.md,
// "Portable prefill, sixty-fifth session").
// pal's P exponentials inside each V form (H100, 2026-12-06, sixty-sixth session; A/B against
// the form before, two rounds): pal D 64 1.07-1.09x, D 128 1.01-1.06x, D 112 1.03-1.04x, D 80
// 1.01-1.06x, D 256 1.01x, D 96 1.05x / 0.96x (its history row); nhd the same bits.
// One staggered slot of 64-key tiles at D 192 / 256 (H100, 2026-12-06, sixty-seventh session;
// A/B against two 32-key slots): pal D 256 1.11-1.16x, D 192 1.06-1.15x; nhd D 256 1.04-1.11x,
// D 192 1.00-1.07x. Beside FA2 at D 256: nhd 0.93-0.99x, pal 0.88-0.97x (docs/kernels.md,
// "Portable prefill, sixty-seventh session").
// Variants take the staggered slot too (H100, 2026-12-06, sixty-eighth session; against their
// two 32-key slots): soft-cap, ALiBi, sinks 1.03-1.21x, windows 0.98-1.11x (docs/kernels.md,
// "Portable prefill, sixty-eighth session").
// Soft-capped and ALiBi scores as base-2 logits (`Logit2`, as the Hopper kernel; H100,
// 2026-12-07, seventieth session; A/B against the form before): soft-cap 30 D 256 1.11-1.17x,
// D 192 1.16-1.24x, D 128 1.43-1.49x; ALiBi 0.98-1.05x, 1.01-1.04x, 1.04-1.09x. Against plain
// attention: soft-cap 0.95-1.00x at D 256, ALiBi 0.91-0.95x (docs/kernels.md, "Portable
// prefill, seventieth session" and the seventy-first).
// Variants on 64-key tiles at head dims 64 and 128, as plain attention (H200, 2026-12-07,
// seventy-second session; against their 32-key tiles): D 128 soft-cap 30 1.16-1.18x, ALiBi
// 1.07-1.13x, window 1.00-1.05x; D 64 1.18-1.31x, 1.15-1.20x, 1.19-1.26x; at D 80 / 112 too
// (H100, seventy-third session): 1.05-1.29x, D 96 0.95-1.14x.
// ALiBi without a soft-cap as S's starting value in raw units (BIAS_IN_S: plain attention's
// softmax path; H200, seventy-second session, over the base-2 logit form): D 128 1.13-1.22x,
// D 256 1.04-1.07x. Soft-capped bfloat16 on a fixed exponent base (BOUNDED, as the Hopper
// kernel; H100, 2026-12-07, seventy-third session, over the running max): 1.03-1.16x at D 64 /
// 128 / 256. Against plain attention then (same H100 call): soft-cap 30 0.91-1.01x at D 128,
// 0.93-1.03x at D 64, 1.00-1.06x at D 256; ALiBi 0.84-0.88x, 0.93-1.01x, 0.97-0.98x
// (docs/kernels.md, "Portable prefill, seventy-third session").
#pragma once
#include "pal/mma.cuh"
#include "pal/prefill.cuh"
#include "pal/softmax.cuh"
#include "pal/variant.cuh"

namespace pal {

// Tile shape: M_TILES 16-row m-tiles per warp (two halve the shared-memory reads of K and V per
// mma; 256-wide heads keep one, their accumulators fill the registers) and KEYS keys per K / V
// tile, chosen by the host (`cuda/prefill.rs`), which also passes SHARED_BYTES for the asserts.
template <int HEAD_DIM, int M_TILES_, int KEYS_, bool TIGHT_ = false, bool STAGGER_ = false> struct PrefillMmaTile {
  static constexpr int M_TILES = M_TILES_;
  static constexpr int ROWS = 4 * 16 * M_TILES;           // query rows per CTA
  static constexpr int KEYS = KEYS_;                     // keys per K / V tile
  static constexpr int PAD = 8;                          // rows start 16 bytes apart mod 128: no bank conflicts
  // Head dims 128 / 192 / 256 take unpadded rows whose 16-byte chunks are XOR-swizzled by row
  // (chunk c of row r at c ^ (r % 8)): ldmatrix's 8 rows still hit distinct banks, and a pool
  // sector's two chunks land in one shared sector (the pad misaligned every other row's: ncu,
  // H100, nhd's copies 1.5x the ideal L2 sectors, 2.6x the shared wavefronts). D 64 ran
  // 0.97-1.00x with them (more registers), so keeps the pad. Q and the slots keep the padded
  // size (ALLOC_ROW) unless the host asks TIGHT.
  static constexpr bool SWIZZLED = HEAD_DIM % 64 == 0 && HEAD_DIM >= 128;
  static constexpr int ROW = SWIZZLED ? HEAD_DIM : HEAD_DIM + PAD;  // Q, K and row-form V stride
  // The slots' and Q's size a row: padded, but where that leaves a CTA no room for the static
  // words (TIGHT, chosen by the host: D 256 on GPUs of 100 KiB an SM).
  static constexpr int ALLOC_ROW = TIGHT_ ? HEAD_DIM : HEAD_DIM + PAD;
  static_assert(!TIGHT_ || SWIZZLED, "unpadded slots hold swizzled rows only");
  // V of pal history tiles is [dim][key], unpadded and swizzled (`value_at`); it fits the slot
  // of a [key][dim] tile.
  static constexpr int SLOT_ELEMENTS = 2 * KEYS * ALLOC_ROW;  // one ring slot: K then V
  // STAGGER (FlashAttention-2's order; the host takes it at head dims 192 / 256): one slot, its
  // K refilled with tile j + 1 once every warp has tile j's scores, its V once every warp has
  // weighed tile j's values. Twice the keys of a tile in the two slots' bytes.
  static constexpr bool STAGGER = STAGGER_;
  static constexpr int SLOTS = STAGGER ? 1 : 2;
  static constexpr int SHARED_BYTES = 2 * (ROWS * ALLOC_ROW + SLOTS * SLOT_ELEMENTS);
};

template <typename T, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int M_TILES_, int KEYS_, bool SPLIT_KV,
          bool TIGHT_ = false, bool STAGGER_ = false, bool BOUNDED = false>
__device__ void prefill_mma(const PrefillParams& p) {
  using Tile = PrefillMmaTile<HEAD_DIM, M_TILES_, KEYS_, TIGHT_, STAGGER_>;
  using KV = T;  // pools in the queries' dtype for now (the entry file asserts it)
  constexpr int M_TILES = Tile::M_TILES, KEYS = Tile::KEYS, ROW = Tile::ROW;
  constexpr int WARP_ROWS = 16 * M_TILES;
  constexpr int CHUNKS = HEAD_DIM / 8;     // 16-byte chunks per row
  constexpr int KEY_BLOCKS = KEYS / 8;     // mma n-blocks per tile
  static_assert(sizeof(T) == 2 && KEYS % 32 == 0, "16-bit operands; a readability word per 32 keys");
  static_assert(HEAD_DIM % 16 == 0, "whole mma k-steps");

  // 128-byte aligned: the static words below come first, and at 16 the tiles began 16 bytes past
  // a 32-byte boundary (16 or 48 bytes of them), so a pool sector's two 16-byte copies landed in
  // two shared-memory sectors (ncu, H100, pal history copies: 2x the ideal L2 sectors, 4x the
  // shared wavefronts; L2 62% busy against nhd's 43%).
  extern __shared__ __align__(128) unsigned char shared[];
  T* q_tile = (T*)shared;
  auto k_slot = [&](int j) { return q_tile + Tile::ROWS * Tile::ALLOC_ROW + (Tile::STAGGER ? 0 : j & 1) * Tile::SLOT_ELEMENTS; };
  auto v_slot = [&](int j) { return k_slot(j) + KEYS * Tile::ALLOC_ROW; };
  // Chunk c of row r of a Q, K or row-form V tile (or of the output's staging rows). Unpadded,
  // one int offset; padded, the terms added one by one as pointer sums, main's order (a single
  // sum there cost D 112 58 bytes of spills, NVRTC 13.0).
  auto row_chunk = [](T* tile, auto r, auto c) {
    if constexpr (Tile::SWIZZLED) {
      const int row = r, chunk = c;
      return tile + (row * ROW + (chunk ^ (row & 7)) * 8);
    } else {
      return tile + r * ROW + c * 8;
    }
  };
  __shared__ u32 readable_keys[2][KEYS / 32];  // per ring slot: bit t % 32 of word t / 32 set when key t is readable

  // SPLIT_KV (a kernel of its own: the split's bookkeeping made the others spill): CTA x serves
  // item x % items over split x / items of its tiles, and writes partial states.
  auto kv_split = [&] { return SPLIT_KV ? (int)blockIdx.x / (p.head_blocks * p.num_tiles) : 0; };
  const PrefillTask found = locate_prefill_task<PAGE_SIZE>(p, (int)blockIdx.x - kv_split() * p.head_blocks * p.num_tiles);
  if (found.empty()) return;  // the whole CTA: uniform exit
  // Where the accumulators take most of the registers (two m-tiles of 112-128 dims), the tile
  // loop reads the task from shared memory where it uses it (a few LDS a tile): held in
  // registers, it and what derives from it took some twenty beside them, and ptxas spilled or
  // loaded K / V fragments right before their mma (D 128, H100, NVRTC 13.0: +6-12% on every
  // row). At D 80 (0.92-1.00x) and 96 (0.91-1.12x) the LDS cost more than they freed, at D 64
  // and on one m-tile too (H100, 2026-12-06).
  constexpr bool TASK_IN_SHARED = M_TILES == 2 && HEAD_DIM >= 112;
  __shared__ PrefillTask shared_task;
  if constexpr (TASK_IN_SHARED) {
    if (threadIdx.x == 0) shared_task = found;
    __syncthreads();
  }
  const PrefillTask& task = TASK_IN_SHARED ? shared_task : found;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const T* q = (const T*)p.q;
  const T* k_prompt = (const T*)p.k;
  const T* v_prompt = (const T*)p.v;
  const T* k_pool = (const T*)p.k_cache;
  const T* v_pool = (const T*)p.v_cache;
  const PageRow<PAGE_SIZE> held_row(p.page_table, found.seq, p.pages_per_seq, p.num_pages);
  auto page_row = [&] {
    if constexpr (TASK_IN_SHARED) return PageRow<PAGE_SIZE>(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
    else return held_row;
  };
  const CacheAddress<LAYOUT, T> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  // Page lookups in the tile loop never report (a report branch per copy cost ~10%, one per tile
  // ballot 3-5%): warp 0 notes that a history key was unreadable, and after the loop reports
  // the first invalid id it finds (deferred checking).
  bool saw_invalid_page = false;  // warp 0
  auto prompt_row = [&](int key) -> i64 {  // offset of a prompt key's row in k / v
    return ((i64)(task.prompt_begin + key - task.history) * p.num_kv_heads + task.kv_head) * HEAD_DIM;
  };
  // Keys before `lowest_first` are hidden from every row of the CTA (a window): tiles before it
  // are skipped, and its keys in the first tile read as zeros, never from the pools.
  const int lowest_first = Variant::first_visible(p.variant, task.history + task.first_token);
  const int highest_first = Variant::first_visible(p.variant, task.history + task.end_token - 1);
  // A tile that is pal history through and through, and visible from its first key: its tiles
  // keep the pool's order, K [chunk][key][8] and V [dim][key].
  auto values_by_dim = [&](int key0) {
    return LAYOUT == LAYOUT_PAL && PAGE_SIZE > 1 && key0 + KEYS <= task.history && (!Variant::HAS_WINDOW || key0 >= lowest_first);
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

  // Row r's offset in q and out from the CTA's first row, in 32-bit elements, and whether the
  // row is used (a 64-bit q_row per 16-byte copy cost ~60 instructions a copy: ncu, H200,
  // 16 x 1024, the Q loads and output stores were 15% of pal's instructions, 18% of nhd's on
  // an H100 in the sixty-fifth session). nhd / hnd took them last (H100, 2026-12-06: 1.18x at
  // 16 x 1024, 1.05-1.08x on the history rows, D 128); they had run their main loop 5-6% slower
  // in the nineteenth session, before the task moved to shared memory.
  const i64 first_row = (i64)(task.prompt_begin + task.first_token) * p.num_q_heads + task.first_head;
  auto row_at = [&](u32 r, bool& valid) -> u32 {
    const u32 token = split.token(r), head = r - token * spacing;
    valid = (int)r < rows_used && (int)head < task.heads && task.first_token + (int)token < task.end_token;
    return (token * p.num_q_heads + head) * HEAD_DIM;
  };
  {
    const T* q_first = q + first_row * HEAD_DIM;
#pragma unroll 4
    for (int n = 0; n < Tile::ROWS * CHUNKS / PREFILL_THREADS; ++n) {
      const u32 i = tid + n * PREFILL_THREADS, r = i / CHUNKS, c = i % CHUNKS;
      bool valid;
      const u32 offset = row_at(r, valid) + c * 8;
      copy_async_16(row_chunk(q_tile, r, c), q_first + (valid ? offset : 0), valid);
    }
  }

  // Copy plans. Tiles wholly history (from the first visible key) or wholly prompt copy
  // without a per-copy branch (a general gather per 16-byte chunk cost ~75 instructions, some
  // 600 per thread and 32-key tile); a sequence's boundary tile and a window's first take
  // `gather_chunk`. History tiles read their page ids a tile ahead: lane l of every warp holds
  // the id of the tile's page l and copies fetch it by shuffle.
  constexpr int TILE_PAGES = KEYS > PAGE_SIZE ? KEYS / PAGE_SIZE : 1;
  static_assert(TILE_PAGES <= 32, "a tile's page ids fit a warp");
  const u64 page_elems = (u64)p.num_kv_heads * HEAD_DIM * PAGE_SIZE;
  auto is_history_tile = [&](int key0) {
    return key0 + KEYS <= task.history && (!Variant::HAS_WINDOW || key0 >= lowest_first);
  };
  auto tile_page_id = [&](int j) {  // unchecked; -1 where none is read
    return is_history_tile(j * KEYS) && lane < TILE_PAGES ? page_row().pages[j * KEYS / PAGE_SIZE + lane] : -1;
  };
  // Row copies: item i = tid + 128 n of a tile's KEYS x CHUNKS 16-byte chunks, key i / CHUNKS.
  constexpr int ROW_ITEMS = KEYS * CHUNKS;
  // Every lane calls `copy(t, c, in_range)` (it may shuffle); it copies where `in_range`.
  auto for_rows = [&](auto copy) {
#pragma unroll
    for (int n = 0; n < (ROW_ITEMS + PREFILL_THREADS - 1) / PREFILL_THREADS; ++n) {
      const u32 i = tid + n * PREFILL_THREADS;
      copy(i / CHUNKS, i % CHUNKS, ROW_ITEMS % PREFILL_THREADS == 0 || i < ROW_ITEMS);
    }
  };
  // A fixed chunk per thread where the threads cover whole rows (head dims 64 / 128 / 256).
  constexpr bool ROW_PLAN = PREFILL_THREADS % CHUNKS == 0;
  constexpr int ROW_CHUNKS = ROW_PLAN ? CHUNKS : 1;
  constexpr int ROW_STEP = PREFILL_THREADS / ROW_CHUNKS;  // keys between a thread's copies
  // Element of (dim, key) in a [dim][key] V tile: 16-byte chunk g of row d at g ^ swizzle(d),
  // so that ldmatrix's 8 rows (dims) of one chunk hit distinct banks while a global sector (2
  // chunks of a row) still lands in one aligned 32-byte run (a 16-byte row padding misaligned
  // every other row's: ncu, H200, 6x the ideal shared wavefronts on these copies).
  constexpr int ROW_GROUPS = KEYS / 8, ROWS_PER_LINE = 8 / ROW_GROUPS;
  auto value_at = [](u32 d, u32 t) { return d * KEYS + ((t / 8) ^ (d / ROWS_PER_LINE % ROW_GROUPS)) * 8 + t % 8; };
  // pal pages of more than one slot: keys are [chunk][slot][8], values [dim][slot].
  constexpr bool PAL_PAGES = LAYOUT == LAYOUT_PAL && PAGE_SIZE > 1;
  static_assert(!PAL_PAGES || ROWS_PER_LINE >= 1, "pal's [dim][key] V tiles: at most 64 keys");
  constexpr int RUN = PAGE_SIZE < 8 ? PAGE_SIZE : 8;  // keys of a value run: one copy
  constexpr int RUNS = KEYS / RUN;
  static_assert(PREFILL_THREADS % KEYS == 0 && PREFILL_THREADS % RUNS == 0, "fixed key / run per thread");

  // Issues the copies of K / V tile j into its ring slot (masked keys become zeros); `page_id`:
  // `tile_page_id(j)`. `keys` / `values` (BoolConstant): which of the two (STAGGER loads them apart).
  auto load_tile = [&](int j, int page_id, auto keys, auto values) {
    constexpr bool K = decltype(keys)::value, V = decltype(values)::value;
    const int key0 = j * KEYS;
    T* k_tile = k_slot(j);
    T* v_tile = v_slot(j);
    const bool history_tile = is_history_tile(key0);
    const bool prompt_tile = key0 >= task.history && key0 < task.keys() && (!Variant::HAS_WINDOW || key0 >= lowest_first);
    const int lane_page = page_row().checked(page_id);  // -1 stays -1
    auto page_at = [&](u32 t) { return __shfl_sync(0xffffffffu, lane_page, TILE_PAGES == 1 ? 0 : t / PAGE_SIZE); };
    // Row plans (head dims 64 / 128 / 256): a thread keeps one chunk and steps over keys, its
    // addresses a 64-bit base plus 32-bit byte offsets (64-bit element arithmetic per copy cost
    // ~12 instructions a copy). `tid` passes a volatile asm: else the per-copy offsets are
    // hoisted out of the tile loop and spill.
    int me = tid;
    asm volatile("" : "+r"(me));
    const u32 t0 = (u32)me / ROW_CHUNKS, c = (u32)me % ROW_CHUNKS;
    if (prompt_tile && ROW_PLAN) {
      const u32 row_bytes = p.num_kv_heads * HEAD_DIM * (u32)sizeof(T);
      const i64 first = prompt_row(key0 + t0) + c * 8;
      const char* k_from = (const char*)(k_prompt + first);
      const char* v_from = (const char*)(v_prompt + first);
      const int readable = task.keys() - key0 - (int)t0;  // a prompt's last tile: zeros past its keys
#pragma unroll
      for (int n = 0; n < KEYS / ROW_STEP; ++n) {
        const bool valid = n * ROW_STEP < readable;
        const u32 offset = valid ? n * ROW_STEP * row_bytes : 0;
        if constexpr (K) copy_async_16(row_chunk(k_tile, t0 + n * ROW_STEP, c), k_from + offset, valid);
        if constexpr (V) copy_async_16(row_chunk(v_tile, t0 + n * ROW_STEP, c), v_from + offset, valid);
      }
    } else if (prompt_tile) {
      for_rows([&](u32 t, u32 c, bool in_range) {
        if (!in_range) return;
        const bool valid = key0 + (int)t < task.keys();  // a prompt's last tile: zeros past its keys
        const i64 offset = valid ? prompt_row(key0 + t) + c * 8 : 0;
        if constexpr (K) copy_async_16(row_chunk(k_tile, t, c), k_prompt + offset, valid);
        if constexpr (V) copy_async_16(row_chunk(v_tile, t, c), v_prompt + offset, valid);
      });
    } else if (history_tile && !PAL_PAGES && ROW_PLAN) {  // rows: nhd / hnd, and pal pages of one slot
      const u32 head_offset = (u32)at.value(0, task.kv_head, 0, c * 8) * (u32)sizeof(T);
      const char* k_from = (const char*)k_pool + head_offset;
      const char* v_from = (const char*)v_pool + head_offset;
      const u32 page_bytes = (u32)page_elems * (u32)sizeof(T);
      const u32 slot_bytes = PAGE_SIZE == 1 ? 0 : (u32)at.value(0, 0, 1, 0) * (u32)sizeof(T);
#pragma unroll
      for (int n = 0; n < KEYS / ROW_STEP; ++n) {
        const u32 t = t0 + n * ROW_STEP;
        const int page = page_at(t);
        const u64 offset = (u64)(u32)max(page, 0) * page_bytes + ((u32)key0 + t) % PAGE_SIZE * slot_bytes;
        if constexpr (K) copy_async_16_from_page(row_chunk(k_tile, t, c), k_from + offset, page);
        if constexpr (V) copy_async_16_from_page(row_chunk(v_tile, t, c), v_from + offset, page);
      }
    } else if (history_tile && !PAL_PAGES) {
      for_rows([&](u32 t, u32 c, bool in_range) {
        const int page = page_at(t);
        if (!in_range) return;
        const u64 offset = max(page, 0) * page_elems + at.value(0, task.kv_head, (u32)(key0 + t) % PAGE_SIZE, c * 8);
        if constexpr (K) copy_async_16(row_chunk(k_tile, t, c), k_pool + offset, page >= 0);
        if constexpr (V) copy_async_16(row_chunk(v_tile, t, c), v_pool + offset, page >= 0);
      });
    } else if (history_tile) {
      if constexpr (PAL_PAGES) {
        // (the head read once: after a copy, which writes shared memory, the task's is read again,
        // into a register the copy's address still held)
        const int kv_head = task.kv_head;
        // pal keys in the pool's order, [chunk][key][8]: a thread keeps one key (its page looked
        // up once) and steps over its chunks, neighbouring threads on neighbouring slots of a
        // stripe, so that a global sector lands in one 32-byte run of shared memory (into
        // [key][dim] rows each sector was split: ncu, H200, 2x the sectors, 8x the wavefronts).
        if constexpr (K) {
          const u32 t = tid % KEYS;
          const int page = page_at(t);
          const T* source = k_pool + max(page, 0) * page_elems + at.key(0, kv_head, (u32)(key0 + t) % PAGE_SIZE, 0);
#pragma unroll
          for (int n = 0; n < (CHUNKS * KEYS + PREFILL_THREADS - 1) / PREFILL_THREADS; ++n) {
            const u32 c = tid / KEYS + n * (PREFILL_THREADS / KEYS);
            // (at head dims 80 / 112 over 32-key tiles the threads' last pass covers half the
            // chunks: the truncated count left chunks 8-9 / 12-13 unwritten)
            if (CHUNKS * KEYS % PREFILL_THREADS != 0 && c >= CHUNKS) continue;
            copy_async_16_from_page(k_tile + (c * KEYS + t) * 8, source + c * PAGE_SIZE * 8, page);
          }
        }
        // pal values, copied as they lie into the [dim][key] tile: a thread keeps one run of
        // RUN slots (its page looked up once) and steps over dims.
        if constexpr (V) {
          const u32 t = tid % RUNS * RUN;
          const int page = page_at(t);
          const T* source = v_pool + max(page, 0) * page_elems + at.value(0, kv_head, (u32)(key0 + t) % PAGE_SIZE, 0);
          constexpr int DIM_STEP = PREFILL_THREADS / RUNS;
#pragma unroll
          for (int n = 0; n < (HEAD_DIM + DIM_STEP - 1) / DIM_STEP; ++n) {
            const u32 dim = tid / RUNS + n * DIM_STEP;
            if (HEAD_DIM % DIM_STEP != 0 && dim >= HEAD_DIM) continue;
            if constexpr (RUN == 8) copy_async_16_from_page(v_tile + value_at(dim, t), source + dim * PAGE_SIZE, page);
            else copy_async<RUN * 2>(v_tile + value_at(dim, t), source + dim * PAGE_SIZE, page >= 0 ? RUN * 2 : 0);
          }
        }
      }
    } else {  // a sequence's boundary tile or last tile, a window's first
      for_rows([&](u32 t, u32 c, bool in_range) {
        if (!in_range) return;
        if constexpr (K)
          gather_chunk<false, Variant>(row_chunk(k_tile, t, c), k_pool, k_prompt, at, page_row(), task.kv_head, key0 + t, c, task.history,
                                       task.keys(), lowest_first, prompt_row);
        if constexpr (V)
          gather_chunk<true, Variant>(row_chunk(v_tile, t, c), v_pool, v_prompt, at, page_row(), task.kv_head, key0 + t, c, task.history,
                                      task.keys(), lowest_first, prompt_row);
      });
    }
    // Warp 0 notes which keys of the tile are readable, a bit per key. From head dim 112 it tests
    // `me < 32`: `warp` was read again from the thread index right after the copies, into a
    // register their addresses still held (4.7% of pal's stall samples at D 128, and 98 -> 36
    // bytes of spills); at D 96 that cost 12 bytes of spills and pal prompt rows 0.93-0.97x.
    if (K && (HEAD_DIM >= 112 ? me < 32 : warp == 0)) {
#pragma unroll
      for (int w = 0; w < KEYS / 32; ++w) {
        const int t = w * 32 + lane, key = key0 + t;
        bool invalid = false;
        if (history_tile) invalid = page_at(t) < 0;
        else if (!prompt_tile && key < task.history && (!Variant::HAS_WINDOW || key >= lowest_first)) invalid = page_row().page_of(key) < 0;
        saw_invalid_page |= invalid;
        const u32 keys_read = __ballot_sync(0xffffffffu, !invalid);
        if (lane == 0) readable_keys[j & 1][w] = keys_read;
      }
    }
  };

  // This thread's rows: its two fragment rows in each of the warp's m-tiles.
  auto my_row = [&](int m, int i) { return warp * WARP_ROWS + m * 16 + Fragment::row(lane, 2 * i); };
  // Keys row (m, i) sees (0 for padding rows), for masked tiles and score transforms: held in
  // registers, or computed where used when the task is in shared memory.
  auto visible_keys = [&](int m, int i) {
    const int r = my_row(m, i);
    return row_valid(r) ? task.history + task.first_token + split.token(r) + 1 : 0;
  };
  int visible_held[M_TILES][2];
  int first_key[M_TILES][2];  // the first of them (a window's start)
  // ALiBi without a soft-cap (BIAS_IN_S): each tile's S accumulators start at the bias in raw
  // score units, slope / scale (key - position), one FFMA a score, and its scores take plain
  // attention's path (raw max, the scale in the exponent's FFMA); with a soft-cap the bias
  // follows the cap, a base-2 logit.
  constexpr bool BIAS_IN_S = Variant::HAS_ALIBI && !Variant::HAS_SOFTCAP;
  constexpr bool TRANSFORMS = Variant::TRANSFORMS_SCORES && !BIAS_IN_S;
  float slope[M_TILES][2];    // ALiBi slope of the row's head: raw units (BIAS_IN_S), else base 2
  // The rows' sums of P: a lane's quarter added in registers, or, where one m-tile a warp leaves
  // registers free (head dims 192 / 256), on the tensor cores as P times a column of ones (an
  // mma a 16 keys, 8 a 64-key tile, for 64 adds a lane; whole in each lane of a quad): H100,
  // 2026-12-06, D 256 1.01-1.03x; at D 112 / 128 (two m-tiles) it spilled and ran 0.96-1.01x.
  constexpr bool TENSOR_ROW_SUMS = M_TILES == 1;
  SoftmaxState state[M_TILES][2];
  auto whole_sum = [&](int m, int i) { return TENSOR_ROW_SUMS ? state[m][i].sum : quad_sum(state[m][i].sum); };
  float o[M_TILES][CHUNKS][4];
#pragma unroll
  for (int m = 0; m < M_TILES; ++m) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = my_row(m, i);
      const int position = task.history + task.first_token + split.token(r);
      if constexpr (!TASK_IN_SHARED) visible_held[m][i] = row_valid(r) ? position + 1 : 0;
      first_key[m][i] = Variant::first_visible(p.variant, position);
      slope[m][i] = Variant::HAS_ALIBI && row_valid(r)
                        ? Variant::slope(p.variant, task.first_head + split.head(r)) * (BIAS_IN_S ? 1.f / p.scale : LOG2E)
                        : 0.f;
      state[m][i] = SoftmaxState::empty();
    }
#pragma unroll
    for (int b = 0; b < CHUNKS; ++b) o[m][b][0] = o[m][b][1] = o[m][b][2] = o[m][b][3] = 0.f;
  }
  const bool warp_active = __any_sync(0xffffffffu, lane < WARP_ROWS && row_valid(warp * WARP_ROWS + lane));
  const float log2_scale = p.scale * LOG2E;
  // Transformed scores as base-2 logits with the call's constants folded: the soft-cap's tanh is
  // one `tanh.approx` (`Logit2`, as the Hopper kernel), where `Variant::logit` took a division
  // and two MUFU ops a score.
  const Logit2<Variant> logit2(p.variant, p.scale);
  constexpr bool CAP_ONLY = Variant::HAS_SOFTCAP && !Variant::HAS_ALIBI;
  // BOUNDED (the host's choice per call, as the Hopper kernel's: bfloat16, a soft-cap of at most
  // 95 / log2(e), no ALiBi): logits lie within +-cap2, so weights take a fixed exponent base, 0
  // or cap2 - 64, and stay in [2^-126, 2^64] (bfloat16 P; float32 sums of up to 2^31 keys): no
  // tile max, no running max, no O rescale.
  static_assert(!BOUNDED || (CAP_ONLY && SAME_TYPE<T, bf16>), "a fixed base only for bounded bfloat16 logits");
  const float bound = BOUNDED ? fmaxf(0.f, logit2.cap2 - 64.f) : 0.f;
  if constexpr (BOUNDED) {
#pragma unroll
    for (int m = 0; m < M_TILES; ++m) state[m][0] = state[m][1] = SoftmaxState{bound, 0.f};
  }
  // Swizzled rows: a fragment load's chunk ^ row % 8 as a k-step's multiple of 8 chunks
  // (immediate) plus its low bits ^ this lane's term (row % 8 = lane % 8 in every load).
  const int half_swizzle = (lane / 16) ^ (lane % 8), pair_swizzle = (lane / 8 % 2) ^ (lane % 8);

  int tiles = (task.keys() + KEYS - 1) / KEYS, first_tile = lowest_first / KEYS;
  if constexpr (SPLIT_KV) {  // split `kv_split` of the visible tiles: consecutive runs of equal length
    const int per = (tiles - first_tile + p.num_splits - 1) / p.num_splits;
    first_tile += kv_split() * per;
    tiles = min(tiles, first_tile + per);
  }
  constexpr BoolConstant<true> WITH;
  constexpr BoolConstant<false> WITHOUT;
  // Copy groups: tile j's K then V (STAGGER), else tiles j and j + 1 whole; the loop's waits
  // leave the last group in flight.
  const bool any_tile = !SPLIT_KV || first_tile < tiles;
  if constexpr (Tile::STAGGER) {
    const int first_id = any_tile ? tile_page_id(first_tile) : -1;
    if (any_tile) load_tile(first_tile, first_id, WITH, WITHOUT);  // with Q
    copy_async_commit();
    if (any_tile) load_tile(first_tile, first_id, WITHOUT, WITH);
  } else {
    if (any_tile) load_tile(first_tile, tile_page_id(first_tile), WITH, WITH);  // with Q
    copy_async_commit();
    if (first_tile + 1 < tiles) load_tile(first_tile + 1, tile_page_id(first_tile + 1), WITH, WITH);
  }
  copy_async_commit();
  int next_page_id = tile_page_id(first_tile + (Tile::STAGGER ? 1 : 2));
  // STAGGER, once every warp has tile j's scores: K of tile j + 1 into the slot, then tile j's V.
  auto next_keys = [&](int j) {
    __syncthreads();
    if (j + 1 < tiles) load_tile(j + 1, next_page_id, WITH, WITHOUT);
    copy_async_commit();
    copy_async_wait_one();
    __syncthreads();
  };
  for (int j = first_tile; j < tiles; ++j) {
    const int key0 = j * KEYS;
    copy_async_wait_one();  // tile j is in; tile j + 1 may still be in flight
    __syncthreads();
    if (warp_active) {
      const T* k_tile = k_slot(j);
      const T* v_tile = v_slot(j);
      // Where registers are tight, fragments load from a shared-memory base per tile, opaque
      // (else NVRTC 13.0 hoisted one address per k-step out of the loop and spilled them), plus
      // constants that fold into ldmatrix's immediate offsets; elsewhere from the tile pointers.
      u32 q_at = shared_address(q_tile), kv_at = shared_address(k_tile);
      // (STAGGER too: its one slot's fixed base let NVRTC 13.0 hoist the fragment addresses out
      // of the loop, 888 bytes of spills at D 256 pal; with opaque bases none)
      constexpr bool OPAQUE_BASES = TASK_IN_SHARED || Tile::STAGGER;
      if constexpr (OPAQUE_BASES) asm volatile("" : "+r"(q_at), "+r"(kv_at));
      // The tile pointers' form adds the terms one by one (as written before the shared form):
      // their sum added once changed the register allocation at D 64 / 256 (NVRTC 13.0: 253
      // registers against 228 at D 64) and cost 0.91-0.99x.
      auto load_x4 = [&](u32(&r)[4], auto transposed, const T* tile, u32 at, auto... terms) {
        if constexpr (OPAQUE_BASES && decltype(transposed)::value) load_matrix_x4_transposed(r, at + (u32)(... + terms) * (u32)sizeof(T));
        else if constexpr (OPAQUE_BASES) load_matrix_x4(r, at + (u32)(... + terms) * (u32)sizeof(T));
        else if constexpr (decltype(transposed)::value) KvOperand<KV, T>::transposed(r, (tile + ... + terms));
        else KvOperand<KV, T>::direct(r, (tile + ... + terms));
      };
      constexpr u32 V_AT = KEYS * Tile::ALLOC_ROW * sizeof(T);  // V after K in a slot
      float s[M_TILES][KEY_BLOCKS][4];
      if constexpr (BIAS_IN_S) {
#pragma unroll
        for (int m = 0; m < M_TILES; ++m) {
          // row r's bias at this lane's first column plus c: one FFMA with an immediate a score
          float bias_base[2];
#pragma unroll
          for (int r = 0; r < 2; ++r)
            bias_base[r] = slope[m][r] * (float)(key0 + Fragment::column(lane, 0) -
                                                 ((TASK_IN_SHARED ? visible_keys(m, r) : visible_held[m][r]) - 1));
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e)
              s[m][b][e] = fmaf(slope[m][Fragment::row_index(e)], (float)(b * 8 + (e & 1)), bias_base[Fragment::row_index(e)]);
        }
      } else {
#pragma unroll
        for (int m = 0; m < M_TILES; ++m)
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; ++b) s[m][b][0] = s[m][b][1] = s[m][b][2] = s[m][b][3] = 0.f;
      }
      // S = Q K^T; pal history tiles hold K in the pool's order, [chunk][key][8].
      auto score = [&](auto pool_order) {
#pragma unroll
        for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
          u32 a[M_TILES][4];
#pragma unroll
          for (int m = 0; m < M_TILES; ++m)
            if constexpr (Tile::SWIZZLED)  // row % 8 = lane % 8; chunk 2 kk + lane / 16
              load_x4(a[m], BoolConstant<false>(), q_tile, q_at, (warp * WARP_ROWS + m * 16 + lane % 16) * ROW, kk * 16 / 64 * 64,
                      ((kk * 2 % 8) ^ half_swizzle) * 8);
            else
              load_x4(a[m], BoolConstant<false>(), q_tile, q_at, (warp * WARP_ROWS + m * 16 + lane % 16) * ROW, kk * 16, lane / 16 * 8);
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; b += 2) {
            u32 k_frag[4];
            const int key = b * 8 + lane % 8 + lane / 16 * 8, chunk = kk * 2 + (lane / 8) % 2;
            if constexpr (decltype(pool_order)::value) load_x4(k_frag, BoolConstant<false>(), k_tile, kv_at, (chunk * KEYS + key) * 8);
            else if constexpr (Tile::SWIZZLED)  // key % 8 = lane % 8; chunk 2 kk + lane / 8 % 2
              load_x4(k_frag, BoolConstant<false>(), k_tile, kv_at, key * ROW, kk * 16 / 64 * 64, ((kk * 2 % 8) ^ pair_swizzle) * 8);
            else load_x4(k_frag, BoolConstant<false>(), k_tile, kv_at, key * ROW, chunk * 8);
#pragma unroll
            for (int m = 0; m < M_TILES; ++m) {
              Mma<T>::run(s[m][b], a[m], k_frag[0], k_frag[1]);
              Mma<T>::run(s[m][b + 1], a[m], k_frag[2], k_frag[3]);
            }
          }
        }
      };
      const bool pool_order = LAYOUT == LAYOUT_PAL && values_by_dim(key0);
      if (pool_order) score(BoolConstant<true>());
      else score(BoolConstant<false>());

      u32 readable[KEYS / 32];
      bool all_readable = true;
#pragma unroll
      for (int w = 0; w < KEYS / 32; ++w) {
        readable[w] = readable_keys[j & 1][w];
        all_readable &= readable[w] == ~0u;
      }
      const int unmasked_keys = task.history + task.first_token + 1;  // seen by every row
      const bool masked = key0 + KEYS > unmasked_keys || !all_readable || key0 < highest_first;
      // Unmasked tiles keep raw scores (`raw_row_max`), scaled in the exponent; masked ones and
      // transformed scores are scaled below (`mul` 1). An unmasked soft-capped tile keeps the
      // tanh t of each score, its logit cap2 t folded into the exponent's FFMA (cap2 > 0: the
      // row's max logit is cap2 times its max t).
      const float mul = masked ? 1.f : CAP_ONLY ? logit2.cap2 : TRANSFORMS ? 1.f : log2_scale;
      float base[M_TILES][2];  // each row's exponent base
      // P's exponentials: pal's two V forms (`weigh_values`) each compute them per k-step, within
      // the form's code; computed before the branch, in a block of their own, they did not
      // overlap the mma (ncu, H100, 2026-12-06: MUFU waits), and the pal build spilled 36 bytes
      // at D 128 (inside, none). nhd / hnd, one form, keep them here (inside, 76 bytes spilled).
      constexpr bool EXP_IN_VALUES = LAYOUT == LAYOUT_PAL;
      auto exponentials = [&](int m, int b) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[m][b][e] = fast_exp2(fmaf(s[m][b][e], mul, -base[m][Fragment::row_index(e)]));
          if constexpr (!TENSOR_ROW_SUMS) state[m][Fragment::row_index(e)].sum += s[m][b][e];
        }
      };
#pragma unroll
      for (int m = 0; m < M_TILES; ++m) {
        float tile_max[2] = {neg_inf(), neg_inf()};
        if (CAP_ONLY && !masked) {
          float top[2] = {neg_inf(), neg_inf()};
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              s[m][b][e] = logit2.tanh_of(s[m][b][e]);
              if constexpr (!BOUNDED) top[Fragment::row_index(e)] = fmaxf(top[Fragment::row_index(e)], s[m][b][e]);
            }
#pragma unroll
          for (int i = 0; i < 2; ++i) tile_max[i] = logit2.cap2 * top[i];
        } else if (masked || TRANSFORMS) {
          const int visible[2] = {TASK_IN_SHARED ? visible_keys(m, 0) : visible_held[m][0],
                                  TASK_IN_SHARED ? visible_keys(m, 1) : visible_held[m][1]};
          // ALiBi's bias of row r at this lane's first column plus c: slope2 (key0 + column -
          // position) + slope2 c, one FFMA with an immediate a score (no conversion a score).
          float alibi_base[2];
#pragma unroll
          for (int r = 0; r < 2; ++r)
            alibi_base[r] = TRANSFORMS && Variant::HAS_ALIBI ? slope[m][r] * (float)(key0 + Fragment::column(lane, 0) - (visible[r] - 1)) : 0.f;
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; ++b) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = key0 + b * 8 + Fragment::column(lane, e), r = Fragment::row_index(e);
              float score = s[m][b][e] * log2_scale;
              if constexpr (TRANSFORMS)
                score = logit2.of(s[m][b][e], Variant::HAS_ALIBI ? fmaf(slope[m][r], (float)(b * 8 + (e & 1)), alibi_base[r]) : 0.f);
              if (masked && (key >= visible[r] || (Variant::HAS_WINDOW && key < first_key[m][r]) ||
                             !((readable[b / 4] >> (b % 4 * 8 + Fragment::column(lane, e))) & 1)))
                score = neg_inf();
              s[m][b][e] = score;
              if constexpr (!BOUNDED) tile_max[r] = fmaxf(tile_max[r], score);
            }
          }
        } else {
          raw_row_max<4>(s[m], log2_scale, tile_max);
        }
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          if constexpr (BOUNDED) {  // (a fixed base: O is never rescaled)
            base[m][i] = bound;
            continue;
          }
          const float factor = state[m][i].rescale(quad_max(tile_max[i]));
          base[m][i] = state[m][i].base();
          if (__any_sync(0xffffffffu, factor != 1.f)) {  // the max of the warp's rows mostly stays put
#pragma unroll
            for (int b = 0; b < CHUNKS; ++b) {
              o[m][b][2 * i] *= factor;
              o[m][b][2 * i + 1] *= factor;
            }
          }
        }
        if constexpr (!EXP_IN_VALUES)
#pragma unroll
          for (int b = 0; b < KEY_BLOCKS; ++b) exponentials(m, b);
      }

      // O += P V, with the V tile's form a template parameter: a branch per fragment load
      // (either form in one unrolled loop) made the pal build 20% slower even on prompt tiles
      // (H200, 1 x 4096: 216 against 269 TFLOP/s nhd).
      auto weigh_values = [&](auto by_dim) {
        // (recomputed per tile from a volatile copy of the lane: held across the loop it spilled)
        u32 me = lane;
        if constexpr (decltype(by_dim)::value) asm volatile("" : "+r"(me));
        const u32 value_swizzle = ((me / 8 % 2) ^ (me % 8 / ROWS_PER_LINE % ROW_GROUPS)) * 8;
        float sums[M_TILES][4];  // TENSOR_ROW_SUMS: the rows' sums so far in entries 0 and 2
        if constexpr (TENSOR_ROW_SUMS)
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) sums[m][0] = state[m][0].sum, sums[m][2] = state[m][1].sum, sums[m][1] = sums[m][3] = 0.f;
#pragma unroll
        for (int kb = 0; kb < KEY_BLOCKS / 2; ++kb) {
          u32 a[M_TILES][4];
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) {
            if constexpr (EXP_IN_VALUES) {
              exponentials(m, 2 * kb);
              exponentials(m, 2 * kb + 1);
            }
            a[m][0] = Mma<T>::pack(s[m][2 * kb][0], s[m][2 * kb][1]);
            a[m][1] = Mma<T>::pack(s[m][2 * kb][2], s[m][2 * kb][3]);
            a[m][2] = Mma<T>::pack(s[m][2 * kb + 1][0], s[m][2 * kb + 1][1]);
            a[m][3] = Mma<T>::pack(s[m][2 * kb + 1][2], s[m][2 * kb + 1][3]);
            if constexpr (TENSOR_ROW_SUMS) Mma<T>::run(sums[m], a[m], Mma<T>::ONES, Mma<T>::ONES);
          }
#pragma unroll
          for (int b = 0; b < CHUNKS; b += 2) {
            u32 v_frag[4];
            if constexpr (decltype(by_dim)::value)
              // value_at(dim, 16 kb + 8 h) with dim % 8 = lane % 8: chunk (2 kb + h) ^ s = 2 kb ^ (h ^ s).
              load_x4(v_frag, BoolConstant<false>(), v_tile, kv_at + V_AT, (b * 8 + lane % 8 + lane / 16 * 8) * KEYS,
                      value_swizzle ^ (kb * 16));
            else if constexpr (Tile::SWIZZLED)  // row % 8 = lane % 8; chunk b + lane / 16
              load_x4(v_frag, BoolConstant<true>(), v_tile, kv_at + V_AT, (kb * 16 + lane % 8 + (lane / 8) % 2 * 8) * ROW, b / 8 * 64,
                      ((b % 8) ^ half_swizzle) * 8);
            else
              load_x4(v_frag, BoolConstant<true>(), v_tile, kv_at + V_AT, (kb * 16 + lane % 8 + (lane / 8) % 2 * 8) * ROW, b * 8,
                      lane / 16 * 8);
#pragma unroll
            for (int m = 0; m < M_TILES; ++m) {
              Mma<T>::run(o[m][b], a[m], v_frag[0], v_frag[1]);
              Mma<T>::run(o[m][b + 1], a[m], v_frag[2], v_frag[3]);
            }
          }
        }
        if constexpr (TENSOR_ROW_SUMS)
#pragma unroll
          for (int m = 0; m < M_TILES; ++m) state[m][0].sum = sums[m][0], state[m][1].sum = sums[m][2];
      };
      if constexpr (Tile::STAGGER) next_keys(j);
      if (pool_order) weigh_values(BoolConstant<true>());
      else weigh_values(BoolConstant<false>());
    } else if constexpr (Tile::STAGGER) {
      next_keys(j);  // (the warps' barriers pair up by count, whichever branch arrives)
    }
    __syncthreads();  // every warp is done with slot j & 1 (STAGGER: with tile j's V)
    if constexpr (Tile::STAGGER) {
      if (j + 1 < tiles) load_tile(j + 1, next_page_id, WITHOUT, WITH);
    } else if (j + 2 < tiles) {
      load_tile(j + 2, next_page_id, WITH, WITH);
    }
    copy_async_commit();  // possibly empty: keeps the group count
    next_page_id = tile_page_id(j + (Tile::STAGGER ? 2 : 3));
  }

  if (warp == 0 && __any_sync(0xffffffffu, saw_invalid_page))
    for (int key = lowest_first / PAGE_SIZE * PAGE_SIZE + lane * PAGE_SIZE; key < task.history; key += 32 * PAGE_SIZE)
      page_row().page_of(key, p.errors, OP_PREFILL);

  if constexpr (SPLIT_KV) {  // a partial state per row: float32 accumulators, base-2 max and sum
    copy_async_wait<0>();    // (a split without tiles still has Q in flight)
#pragma unroll
    for (int m = 0; m < M_TILES; ++m) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int r = my_row(m, i);
        const float sum = whole_sum(m, i);
        if (!row_valid(r)) continue;
        const i64 at_split = q_row(r) * p.num_splits + kv_split();
        float* acc = (float*)p.partial_acc + at_split * HEAD_DIM + Fragment::column(lane, 0);
#pragma unroll
        for (int b = 0; b < CHUNKS; ++b) *(float2*)(acc + b * 8) = make_float2(o[m][b][2 * i], o[m][b][2 * i + 1]);
        if (lane % 4 == 0) ((float2*)p.partial_stats)[at_split] = make_float2(state[m][i].max, sum);
      }
    }
    return;
  }

  // Normalise, stage the warp's rows in its own rows of the Q tile, write whole 16-byte chunks.
  T* staged = q_tile + warp * WARP_ROWS * ROW;  // (WARP_ROWS a multiple of 8: the same swizzle)
#pragma unroll
  for (int m = 0; m < M_TILES; ++m) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = my_row(m, i);
      const float sink = row_valid(r) ? Variant::sink(p.variant, task.first_head + split.head(r)) : neg_inf();
      const float inverse = SoftmaxState{state[m][i].max, whole_sum(m, i)}.inverse_sum(sink);
#pragma unroll
      for (int b = 0; b < CHUNKS; ++b)
        *(u32*)(row_chunk(staged, m * 16 + Fragment::row(lane, 2 * i), b) + Fragment::column(lane, 0)) =
            Mma<T>::pack(o[m][b][2 * i] * inverse, o[m][b][2 * i + 1] * inverse);
    }
  }
  __syncwarp();
  T* out_first = (T*)p.out + first_row * HEAD_DIM;
#pragma unroll 4
  for (int n = 0; n < WARP_ROWS * CHUNKS / 32; ++n) {
    const u32 i = lane + n * 32, r = i / CHUNKS, c = i % CHUNKS;
    bool valid;
    const u32 offset = row_at(warp * WARP_ROWS + r, valid) + c * 8;
    if (valid) *(uint4*)(out_first + offset) = *(const uint4*)(row_chunk(staged, r, c));
  }
}

}  // namespace pal
