// Paged prefill on Hopper tensor cores (sm_90a; float16 / bfloat16 queries over pools of their
// dtype or fp8, head dims 64 / 128 / 192 / 256, and 80 / 96 / 112 over 16-bit pools in 128-wide
// tiles: `PrefillWgmmaTile::DIM`): warpgroup MMA.
//
// Work split: an item is 128 query rows ((token, head) pairs of one KV head, see `PrefillTask`)
// against their keys, 64 rows per consumer warpgroup, Q staged once in shared memory as a
// swizzled tile (`wgmma.cuh`). K / V tiles of KEYS keys stream through a STAGES-slot ring.
// Head dims up to 128 run warp-specialised and persistent: one CTA per SM takes its own item,
// then items from a counter until none is left; a producer warpgroup (88 registers) gathers Q
// and whole prompt tiles with tensor copies (one thread, boxes of 64 dims; `TMA`), history and
// partial tiles with cp.async (a page id per tile and lane, read a tile ahead and shuffled), and
// signals each slot's mbarrier; two consumer warpgroups (208 registers) issue S of tile j with
// O += P V of tile j - 1, taking turns (ping-pong: one's softmax runs while the other's wgmma
// are on the tensor cores), run the online softmax of tile j while that P V is on the tensor
// cores, release the slot (and Q after the item's last S), and write O from registers while the
// producer already fills the next item's Q and tiles. Larger head dims, and fp8 pal pages of 2
// slots, run one item per CTA with every thread copying and computing in step (two slots).
// fp8 pools: the copying threads widen history tiles exactly to the queries' dtype (where there
// is a producer, staged raw by cp.async and widened before it waits for the next tile's slot);
// consumers apply k_scale / v_scale.
// S = Q K^T takes both operands from shared memory; P comes from registers. K tiles are
// swizzled [key][dim] rows, but pal history tiles, copied in the pool's [chunk][key][8] order
// and read through an interleaved descriptor. V tiles are [key][dim], read N-major, except pal
// tiles that are history through and through, copied as they lie and read K-major: [dim][key]
// at pages of 16 and up, [8-key chunk][dim][8] core matrices under 16 (pages of 2-8 slots; at 2,
// and 4 at head dim 64, the producer copies each page's values whole and transposes them).
// Split-KV (SPLIT_KV; the host splits where the items fill under a quarter of the SMs, or half
// for the one-item-per-CTA form): item w serves item w % items over split w / items of its tiles
// and writes float32 partial states, merged by `merge_splits` (merge.cuh).
// Traffic: each K / V tile once per item of 128 query rows; Q once; the output once.
// Standing figures (bf16, HQ 32 / HKV 8, D 128, page 16, causal, beside FlashInfer's FA3 path
// in the same run). H100 (fifty-seventh session, five rounds in turn): nhd 1.19 / 1.08 / 1.10x
// at 1 x 4096 / 4 x 4096 / 16 x 1024, 1.04 / 1.05 / 1.03x on the history rows (4 x 1024 over
// 8192, 8 x 512 over 4096, 4 x 2048 over 8192); pal 1.18 / 1.06 / 1.05x and 0.96-0.98x (its
// history rows wait longer for S: docs/kernels.md). H200 (twenty-fourth session): nhd / pal 565 /
// 531 TFLOP/s at 1 x 4096. Split short prompts over long histories: 1 x 128 over 32768 477
// TFLOP/s (nhd; 150 unsplit), 417 / 381 at head dim 256. Head dims 80 / 96 / 112 in 128-wide
// tiles: 359-469 TFLOP/s (nhd / hnd, 1.39-1.86x the portable kernel they ran before; pal
// 356-460). Soft-capped bf16 (Q prescaled by scale / cap, a fixed exponent base; H100,
// fifty-eighth session, alternating rounds): 1.00-1.08x plain in pal, 1.02-1.10x in nhd. What is
// left: history rows at 1.05x FA3 at every page size (pal page 2 producer-bound, pages 4 and up
// consumer-bound). Each version's figures and what it won or lost: docs/kernels.md ("Hopper
// prefill").
#pragma once
#include "pal/prefill.cuh"
#include "pal/softmax.cuh"
#include "pal/variant.cuh"
#include "pal/wgmma.cuh"

namespace pal {

// Shared memory: the Q tile, then STAGES ring slots of a K tile and a V tile, then a word of
// readable keys per slot (a bit each), then (with a producer) a full and an empty mbarrier per
// slot and the Q one, then the item of each slot's first tile and the producer's next two items
// (the persistent schedule); after up to 1024 bytes that align the tiles to the swizzle.
template <int HEAD_DIM, int KEYS_, int STAGES_, bool PRODUCER_> struct PrefillWgmmaTile {
  // Tiles are whole 64-dim swizzle blocks wide: head dims of 80 / 96 / 112 in tiles of 128, whose
  // pad dims S never reads and whose pad columns of O are never stored (`prefill_wgmma_item`).
  static constexpr int DIM = (HEAD_DIM + 63) / 64 * 64;
  static constexpr int ROWS = 128;     // query rows per item, 64 per consumer warpgroup
  static constexpr int KEYS = KEYS_;   // keys per K / V tile
  static constexpr int STAGES = STAGES_;
  static constexpr bool PRODUCER = PRODUCER_;  // a third warpgroup copies (warp-specialised)
  static constexpr int THREADS = PRODUCER ? 384 : 256;
  static constexpr int TILE_BYTES = KEYS * DIM * 2;
  static constexpr int Q_BYTES = ROWS * DIM * 2;
  static constexpr int RING_BYTES = STAGES * 2 * TILE_BYTES;
  static constexpr int READABLE_OFFSET = Q_BYTES + RING_BYTES;
  static constexpr int BARRIER_OFFSET = READABLE_OFFSET + STAGES * KEYS / 8;
  static constexpr int ITEM_OFFSET = BARRIER_OFFSET + STAGES * 16 + 8;
  static constexpr int SHARED_BYTES = 1024 + (PRODUCER ? ITEM_OFFSET + STAGES * 4 + 8 : BARRIER_OFFSET);
  static_assert(Q_BYTES + RING_BYTES >= ROWS * (HEAD_DIM + 8) * 2, "the output is staged over Q and the ring");
};

// Where the producer stages history tiles (their copies land, then its own stores complete them),
// each producer thread arrives twice on a slot's `full` barrier: fp8 pools (widened) and the pal
// pages whose values it transposes (`TRANSPOSED_V`): pages of 2 slots, and of 4 at head dim 64
// (H200, history rows against pool-order copies: page 2 1.20-1.27x at D 128, 1.56-1.58x at D 64;
// page 4 1.06-1.07x at D 64 but 0.84-0.88x at D 128, where its 8-byte copies cost less than a
// second pass over the tile).
template <typename KV, int LAYOUT, int PAGE_SIZE, int HEAD_DIM>
constexpr bool PRODUCER_STORES = IS_FP8<KV> || (LAYOUT == LAYOUT_PAL && (PAGE_SIZE == 2 || (PAGE_SIZE == 4 && HEAD_DIM <= 64)));

// Register budgets of the warp-specialised form (384 threads: 168 each at launch; 128 x 88 +
// 256 x 208 of the SM's 65536). H200, nhd 4 x 1024 over 8192: 425 TFLOP/s at 56 / 224 (the
// producer spills), 515 at 88 / 208, 421 at 40 / 232.
constexpr int PRODUCER_REGISTERS = 88, CONSUMER_REGISTERS = 208;

// Who runs an item: every thread in step (no producer), or one side of the warp-specialised CTA.
enum PrefillRole { ALL_ROLES, PRODUCER_ROLE, CONSUMER_ROLE };
// What a warp-specialised CTA's threads carry from item to item: tiles that went through the
// ring (slot `uses % STAGES`, in its `uses / STAGES`-th round) and items whose Q was loaded.
struct PrefillRing {
  u32 uses = 0, items = 0;
};

// One item of work (`locate_prefill_task`): 128 query rows of one KV head against their keys.
// SPLIT_KV: item `work` is split `work / items` of item `work % items`'s tiles, and its rows'
// partial states go to the workspace for `merge_splits`.
template <typename T, typename KV, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int KEYS_, int STAGES_, int ROLE,
          bool SPLIT_KV, bool TMA, bool BOUNDED>
__device__ __forceinline__ void prefill_wgmma_item(const PrefillParams& p, int work, PrefillRing& ring) {
  constexpr bool PRODUCER = ROLE != ALL_ROLES;
  using Tile = PrefillWgmmaTile<HEAD_DIM, KEYS_, STAGES_, PRODUCER>;
  constexpr int ROWS = Tile::ROWS, KEYS = Tile::KEYS, STAGES = Tile::STAGES;
  constexpr int THREADS = PRODUCER ? 128 : 256;  // threads that copy: the producer warpgroup, else all
  constexpr int CHUNKS = HEAD_DIM / 8;  // 16-byte chunks per row
  constexpr int KEY_BLOCKS = KEYS / 8;  // accumulator column blocks of S
  constexpr int WORDS = KEYS / 32;      // readable-key words per tile
  // Head dims that are not whole swizzle blocks (80 / 96 / 112) run in tiles DIM wide: S takes
  // only the head dims' k-steps, so the pads of Q and K are never read; P V runs over all DIM
  // columns of V (its pads hold whatever the slot held) and O's pad columns are dropped. Rows
  // come by the row plans (pad chunks zero-filled) and tensor copies (whose boxes past a row
  // read the next head's dims or zeros); pal pages' K in pool order and V by dim copy the head's
  // dims only (pool-order V needs dims that divide the copying threads: not taken). 16-bit
  // pools only (fp8 staging assumes whole blocks).
  constexpr int DIM = Tile::DIM, O_CHUNKS = DIM / 8;  // O's accumulator column blocks
  constexpr bool PADDED = DIM != HEAD_DIM;
  static_assert(sizeof(T) == 2 && HEAD_DIM % 16 == 0 && KEYS % 64 == 0 && KEYS <= 256, "whole k-steps and key blocks");
  static_assert(!PADDED || (SAME_TYPE<T, KV> && KEYS * CHUNKS % 256 == 0), "padded tiles: 16-bit pools, whole gathers a thread");
  // pal value pages hold runs of a dim's keys, RUN at a time (16 bytes; a page's whole row of 2
  // or 4 slots): history tiles copy them as they lie. Pages of one slot hold rows (`nhd`'s).
  constexpr bool PAL_RUNS = LAYOUT == LAYOUT_PAL && PAGE_SIZE > 1;
  constexpr u32 RUN = PAL_RUNS && PAGE_SIZE < 8 ? PAGE_SIZE : 8;

  extern __shared__ unsigned char shared_raw[];
  unsigned char* shared = shared_raw + ((1024 - (shared_address(shared_raw) & 1023)) & 1023);
  T* q_tile = (T*)shared;
  auto k_slot = [&](int slot) { return (T*)(shared + Tile::Q_BYTES + slot * 2 * Tile::TILE_BYTES); };
  auto v_slot = [&](int slot) { return k_slot(slot) + KEYS * DIM; };
  u32* readable_keys = (u32*)(shared + Tile::READABLE_OFFSET);  // per slot: bit k set if key k is readable
  // Per slot: `full` completes when a tile's copies have landed (each producer thread's cp.async
  // arrive, and warp 0's readable word), `empty` when the consumers' eight warps are done with
  // it; then `q_empty`, when they are done with Q.
  u64* barriers = (u64*)(shared + Tile::BARRIER_OFFSET);
  auto full_barrier = [&](int slot) { return shared_address(barriers + slot); };
  auto empty_barrier = [&](int slot) { return shared_address(barriers + STAGES + slot); };
  const u32 q_empty = shared_address(barriers + 2 * STAGES);
  int* slot_item = (int*)(shared + Tile::ITEM_OFFSET);  // per slot: the item its first tile starts

  const int kv_split = SPLIT_KV ? work / (p.num_tiles * p.head_blocks) : 0;
  const PrefillTask task = locate_prefill_task<PAGE_SIZE>(p, work - kv_split * p.num_tiles * p.head_blocks);
  if (task.empty()) return;  // the whole CTA: uniform exit
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int group = PRODUCER ? warp / 4 - 1 : warp / 4;  // consumer warpgroup: rows 64 * group .. (-1: the producer)
  const T* q = (const T*)p.q;
  const T* k_prompt = (const T*)p.k;
  const T* v_prompt = (const T*)p.v;
  const KV* k_pool = (const KV*)p.k_cache;
  const KV* v_pool = (const KV*)p.v_cache;
  const int history = task.history, keys = task.keys(), kv_head = task.kv_head;
  const PageRow<PAGE_SIZE> page_row(p.page_table, task.seq, p.pages_per_seq, p.num_pages);
  const CacheAddress<LAYOUT, KV> at{p.num_kv_heads, HEAD_DIM, PAGE_SIZE};
  // fp8 pools: the copying threads widen history keys to T themselves (loads, exact conversion,
  // shared stores), so tiles and consumers are those of T; the pools' scales multiply the
  // history keys' scores and weights (`k_scale`, `v_scale`).
  constexpr bool WIDEN = IS_FP8<KV>;
  static_assert(WIDEN || SAME_TYPE<T, KV>, "pools in the queries' dtype, or fp8");
  bool saw_invalid_page = false;  // warp 0 (see `prefill_mma.cuh`)
  auto prompt_row = [&](int key) -> i64 {
    return ((i64)(task.prompt_begin + key - history) * p.num_kv_heads + kv_head) * HEAD_DIM;
  };
  const int lowest_first = Variant::first_visible(p.variant, history + task.first_token);
  const int highest_first = Variant::first_visible(p.variant, history + task.end_token - 1);
  // After the copies: warp 0, if one of its tiles held an invalid page id, walks the history's
  // pages once and reports the first (the copies only mask it).
  auto report_invalid_pages = [&] {
    if (warp == 0 && __any_sync(0xffffffffu, saw_invalid_page))
      for (int key = lowest_first / PAGE_SIZE * PAGE_SIZE + lane * PAGE_SIZE; key < history; key += 32 * PAGE_SIZE)
        page_row.page_of(key, p.errors, OP_PREFILL);
  };
  auto values_by_dim = [&](int key0) {
    return PAL_RUNS && key0 + KEYS <= history && (!Variant::HAS_WINDOW || key0 >= lowest_first);
  };
  const int spacing = p.heads_per_cta, rows_used = p.tokens_per_cta * spacing;
  const RowSplit split(spacing);
  auto row_valid = [&](int r) {
    return r < rows_used && split.head(r) < task.heads && task.first_token + split.token(r) < task.end_token;
  };
  auto q_row = [&](int r) -> i64 {
    return (i64)(task.prompt_begin + task.first_token + split.token(r)) * p.num_q_heads + task.first_head + split.head(r);
  };

  // Q: a thread keeps one 16-byte chunk column where the chunks of a row divide the threads.
  // With a producer, the producer copies it with the first tile, under that tile's barrier.
  auto load_q = [&] {
    if constexpr (THREADS % CHUNKS == 0) {
      constexpr int STEP = THREADS / CHUNKS;  // rows between a thread's copies
      const int first = tid / CHUNKS, c = tid % CHUNKS;
#pragma unroll 4  // unrolled whole, the producer's 88 registers spill
      for (int n = 0; n < ROWS / STEP; ++n) {
        const int r = first + n * STEP;
        const bool valid = row_valid(r);
        copy_async_16(q_tile + swizzled<ROWS>(r, c * 8), valid ? q + q_row(r) * HEAD_DIM + c * 8 : q, valid);
      }
    } else {
      for (int i = tid; i < ROWS * CHUNKS; i += THREADS) {
        const int r = i / CHUNKS, c = i % CHUNKS;
        const bool valid = row_valid(r);
        copy_async_16(q_tile + swizzled<ROWS>(r, c * 8), valid ? q + q_row(r) * HEAD_DIM + c * 8 : q, valid);
      }
    }
  };

  // Copy plans without per-copy branches for tiles that are prompt through and through, or
  // history through and through (every tile but a sequence's boundary tile and its last): a
  // thread keeps one 16-byte chunk of a row and steps over keys, so its destinations step by a
  // constant, and a nhd / hnd key's page offset serves its K and its V copy. The generic loops
  // below serve the rest.
  // Padded tiles plan over the tile's DIM / 8 chunks: a thread whose chunk is a pad's copies
  // zeros (no bytes read; its source is its row's first chunk).
  constexpr int PLAN_CHUNKS = DIM / 8;
  constexpr bool ROW_PLAN = THREADS % PLAN_CHUNKS == 0;
  constexpr int ROW_STEP = ROW_PLAN ? THREADS / PLAN_CHUNKS : 1;  // keys between a thread's copies
  const int plan_key = tid / PLAN_CHUNKS, plan_chunk = tid % PLAN_CHUNKS;
  const bool plan_read = !PADDED || plan_chunk < CHUNKS;  // a head dim's chunk, not a pad's
  const int source_chunk = plan_read ? plan_chunk : 0;
  const int plan_destination = swizzled<KEYS>(plan_key, plan_chunk * 8);
  // Copy n's destination: a constant step where ROW_STEP keeps key % 8 (the swizzle's row bits).
  auto plan_at = [&](int n) {
    return ROW_STEP % 8 == 0 ? plan_destination + n * ROW_STEP * 64 : swizzled<KEYS>(plan_key + n * ROW_STEP, plan_chunk * 8);
  };
  // pal keys: a thread keeps one key (one page lookup per tile) and steps over its chunks.
  constexpr bool PAL_PLAN = LAYOUT == LAYOUT_PAL && THREADS % KEYS == 0 && CHUNKS % (THREADS / KEYS) == 0;
  constexpr int CHUNK_STEP = THREADS / KEYS;
  // pal values of a history tile, where a thread has a key of its own (the producer's 128 for
  // 128 keys) and runs are 16 bytes: the thread copies runs of its key's page, dims d0 + 8 k
  // (one swizzle phase), so one page id (its key's) serves its K and V copies and the V copies
  // are one base plus constants.
  constexpr bool VALUE_PLAN = PAL_PLAN && THREADS == KEYS && PAGE_SIZE % 8 == 0;
  // The tiles whose K comes through `PAL_PLAN` (pal history but for one-slot pages, which the
  // row plan takes) lie in the pool's order.
  constexpr bool POOL_ORDER_K = PAL_PLAN && (PAGE_SIZE > 1 || !ROW_PLAN);
  // History tiles read their page ids once: lane l of every warp holds the id of the tile's page
  // l (checked: -1 outside the pool) and copies fetch it by shuffle, as an offset of whole pages.
  constexpr int TILE_PAGES = KEYS > PAGE_SIZE ? KEYS / PAGE_SIZE : 1;
  constexpr bool SHUFFLED = TILE_PAGES <= 32;  // page sizes 4 and up at 128-key tiles
  const u64 page_elems = (u64)p.num_kv_heads * HEAD_DIM * PAGE_SIZE;
  // Row-plan history tiles over pages of one or two slots (more pages than a warp has lanes):
  // the tile's ids read as TILE_PAGES / 32 coalesced words a lane, each key's id shuffled from
  // the word its copy index selects at compile time, and one 32 x 32-bit product per key (the
  // thread's slot in its pages is its own constant).
  constexpr bool ID_PLAN = ROW_PLAN && !SHUFFLED && TILE_PAGES % 32 == 0 && TILE_PAGES <= 128 && ROW_STEP % PAGE_SIZE == 0 &&
                           (32 * PAGE_SIZE) % ROW_STEP == 0 && ROW_STEP % 8 == 0;
  // Row-plan history tiles whose pages each hold whole runs of a thread's keys (ROW_STEP
  // divides the page size, and a tile holds whole pages: 64-key tiles over pages of 128 took
  // keys past the tile, an illegal address in the twenty-third session's call 6): a page id
  // and an address product per page, not per key.
  constexpr bool PAGE_PLAN = ROW_PLAN && SHUFFLED && PAGE_SIZE % ROW_STEP == 0 && PAGE_SIZE <= KEYS && ROW_STEP % 8 == 0;
  // pal history V under pages of 16, 16-bit pools: each page's values copied as they lie (a
  // dim's PAGE_SIZE slots a run, the dims of a KV head contiguous) into a [8-key chunk][dim][8]
  // tile, the canonical non-swizzled K-major layout (8 x 16-byte core matrices; a chunk is 8 /
  // PAGE_SIZE pages), read through an interleaved descriptor. Lanes walk dims: consecutive runs
  // in the pool and in shared memory (the swizzled [dim][key] tile split each page 8 sector in
  // two requests and cost page 4 a 112-instruction address block per four copies: ncu, H200).
  // Pages of 2 slots (64 a 128-key tile) take their ids as TILE_PAGES / 32 words a lane.
  constexpr bool POOL_ORDER_V = PAL_PLAN && !WIDEN && (SHUFFLED || (TILE_PAGES % 32 == 0 && TILE_PAGES <= 128)) &&
                                PAGE_SIZE >= 2 && PAGE_SIZE <= 8 && THREADS % DIM == 0 && 32 % (THREADS / DIM) == 0;
  // The producer's pool-order values at pages of 2 slots: a copy of 4 bytes per (page, dim),
  // each with its id shuffle, product and predicate, made the producer the limit (H200, ncu:
  // 538 instructions a tile and warp, 4x the ideal shared wavefronts, the consumers waiting on
  // `full`). Instead (`PRODUCER_STORES` says where) each page's values come raw, 16 bytes a
  // copy, into the tile's 8-key chunk they belong to ([page][dim][slots], as they lie in the
  // pool), and before the next tile's slot is waited for, the warp that copied them transposes
  // each chunk in place into its [dim][8] core matrices (a dim's runs of the chunk's pages:
  // loads of 4 / 8 bytes, one 16-byte store).
  constexpr int CHUNK_PAGES = PAGE_SIZE < 8 ? 8 / PAGE_SIZE : 1;          // pages of an 8-key chunk
  constexpr int PAGE_WORDS = HEAD_DIM * PAGE_SIZE * (int)sizeof(T) / 16;  // 16-byte words of a page's values
  constexpr int WARP_CHUNKS = KEYS / 8 / 4;                               // chunks per producer warp: w, w + 4, ..
  constexpr int LANE_DIMS = (HEAD_DIM + 31) / 32;                         // dims a lane transposes
  constexpr bool TRANSPOSED_V = ROLE == PRODUCER_ROLE && PRODUCER_STORES<KV, LAYOUT, PAGE_SIZE, HEAD_DIM> && !WIDEN && POOL_ORDER_V &&
                                THREADS == 128 && KEYS % 32 == 0 && WARP_CHUNKS * CHUNK_PAGES <= 32;

  auto is_history_tile = [&](int key0) {
    return key0 + KEYS <= history && (!Variant::HAS_WINDOW || key0 >= lowest_first);
  };
  // The table entry of history tile j's page `lane` (unchecked; -1 where none is read): the
  // producer reads a tile's ids a tile ahead, so that its copies do not wait on them.
  auto tile_page_id = [&](int j) {
    return SHUFFLED && is_history_tile(j * KEYS) && lane < TILE_PAGES ? page_row.pages[j * KEYS / PAGE_SIZE + lane] : -1;
  };

  // fp8 tiles with history keys: each copying thread loads 8 pool elements at a time (8 bytes,
  // or single bytes where they lie a page apart), widens them (`fp8x8_widened`) and stores 16
  // bytes; prompt keys come as 16-byte rows of `k` / `v`, hidden keys as zeros. Tile layouts as
  // T's: K in the pool's order for pal history tiles, else swizzled rows; V [dim][key] where
  // `by_dim`. History tiles (nearly all) issue a batch of loads before widening any: one
  // dependent load at a time would leave the producer a round trip per 16 bytes.
  auto widen_tile = [&](int key0, T* k_tile, T* v_tile, bool history_tile, bool by_dim, auto page_at) {
    constexpr int ITEMS = KEYS * CHUNKS / THREADS;  // (key, 8 dims) or (dim, 8 keys) per thread
    // Loads in flight per batch: 8 for the producer, 4 where every thread also holds accumulators.
    constexpr int WANTED = ROLE == PRODUCER_ROLE && ITEMS >= 16 ? 8 : 4;
    constexpr int BATCH = ITEMS % WANTED == 0 ? WANTED : ITEMS % 2 == 0 ? 2 : 1;
    auto key_item = [&](int n, int& t, int& c) {
      const u32 i = tid + n * THREADS;
      t = i / CHUNKS, c = i % CHUNKS;
    };
    auto dim_item = [&](int n, int& d, int& t0) {
      const u32 i = tid + n * THREADS;
      d = i / (KEYS / 8), t0 = i % (KEYS / 8) * 8;
    };
    // Bytes e = 0..7 of a run, from `byte(e)` (0 where it returns a null source).
    auto gathered = [&](auto byte) {
      u32 words[2] = {0, 0};
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const KV* source = byte(e);
        if (source) words[e / 4] |= (u32)source->bits << (e % 4 * 8);
      }
      return make_uint2(words[0], words[1]);
    };
    // Loads of a batch of items, then their widening and stores.
    auto batched = [&](auto load, auto destination) {
#pragma unroll 1
      for (int n0 = 0; n0 < ITEMS; n0 += BATCH) {
        uint2 raw[BATCH];
#pragma unroll
        for (int u = 0; u < BATCH; ++u) raw[u] = load(n0 + u);
#pragma unroll
        for (int u = 0; u < BATCH; ++u) store_shared_16(shared_address(destination(n0 + u)), fp8x8_widened<T, KV>(raw[u]));
      }
    };
    const bool pool_order = POOL_ORDER_K && history_tile;
    auto k_destination = [&](int n) {
      int t, c;
      key_item(n, t, c);
      return k_tile + (pool_order ? (c * KEYS + t) * 8 : swizzled<KEYS>(t, c * 8));
    };
    auto v_destination = [&](int n) {
      int t, c;
      key_item(n, t, c);
      return v_tile + swizzled<KEYS>(t, c * 8);
    };
    if (history_tile) {  // every key visible and in the pools
      // Page of tile key t: the shuffled ids (every lane calls it), else the table.
      auto page_of = [&](int t) { return SHUFFLED ? page_at(t) : page_row.page_of(key0 + t); };
      auto row = [&](const KV* pool, int n, bool key) {  // 8 dims of a key: contiguous
        int t, c;
        key_item(n, t, c);
        const int page = page_of(t), slot = (key0 + t) % PAGE_SIZE;
        const u64 offset = key ? at.key(max(page, 0), kv_head, slot, c * 8) : at.value(max(page, 0), kv_head, slot, c * 8);
        return page >= 0 ? *(const uint2*)(pool + offset) : make_uint2(0, 0);
      };
      batched([&](int n) { return row(k_pool, n, true); }, k_destination);
      if (by_dim) {  // pal: 8 keys of one dim
        batched(
            [&](int n) {
              int d, t0;
              dim_item(n, d, t0);
              if constexpr (PAGE_SIZE >= 8) {  // in one page: 8 contiguous bytes
                const int page = page_of(t0);
                const u64 offset = at.value(max(page, 0), kv_head, (key0 + t0) % PAGE_SIZE, d);
                return page >= 0 ? *(const uint2*)(v_pool + offset) : make_uint2(0, 0);
              } else {
                return gathered([&](int e) {
                  const int page = page_of(t0 + e);
                  return page >= 0 ? v_pool + at.value(page, kv_head, (key0 + t0 + e) % PAGE_SIZE, d) : (const KV*)nullptr;
                });
              }
            },
            [&](int n) {
              int d, t0;
              dim_item(n, d, t0);
              return v_tile + swizzled<DIM>(d, t0);
            });
      } else {  // nhd / hnd, and pal pages of one slot: a key's dims are contiguous
        batched([&](int n) { return row(v_pool, n, false); }, v_destination);
      }
      return;
    }
    // Tiles with prompt or hidden keys too (a sequence's first, boundary and last tiles): an item
    // at a time.
    auto pool_or_prompt = [&](const KV* pool, const T* prompt, int n, bool key, T* destination) {
      int t, c;
      key_item(n, t, c);
      const int k = key0 + t;
      uint4 out = make_uint4(0, 0, 0, 0);
      if (!Variant::HAS_WINDOW || k >= lowest_first) {
        if (k < history) {
          const int page = page_row.page_of(k), slot = k % PAGE_SIZE;
          if (page >= 0) {
            if (key || LAYOUT != LAYOUT_PAL) {
              out = fp8x8_widened<T, KV>(*(const uint2*)(pool + (key ? at.key(page, kv_head, slot, c * 8) : at.value(page, kv_head, slot, c * 8))));
            } else {  // pal values: a key's dims are a page apart
              out = fp8x8_widened<T, KV>(gathered([&](int e) { return pool + at.value(page, kv_head, slot, c * 8 + e); }));
            }
          }
        } else if (k < keys) {
          out = *(const uint4*)(prompt + prompt_row(k) + c * 8);
        }
      }
      store_shared_16(shared_address(destination), out);
    };
#pragma unroll 4
    for (int n = 0; n < ITEMS; ++n) pool_or_prompt(k_pool, k_prompt, n, true, k_destination(n));
#pragma unroll 4
    for (int n = 0; n < ITEMS; ++n) pool_or_prompt(v_pool, v_prompt, n, false, v_destination(n));
  };

  // The producer over fp8 pools: history tiles are staged. Their raw bytes go by cp.async into
  // the slot's V region (raw K [key][dim], then raw V in 64-byte rows per block of 64 dims, or
  // of 64 keys where V is [dim][key]: exactly the region at D 128), one tile ahead of their
  // widening (`finish_staged`), so the loads fly asynchronously as T's copies do.
  constexpr bool STAGED = WIDEN && ROLE == PRODUCER_ROLE && (!PAL_RUNS || PAGE_SIZE >= 4);
  constexpr int RAW_V = KEYS * HEAD_DIM;  // bytes of raw K before raw V
  // pal history K (`POOL_ORDER_K`), raw: [16-dim chunk][key] rows of 16 bytes, the pages' order,
  // so that consecutive threads copy and widen consecutive keys: the widened tile's chunks of a
  // dim block are KEYS * 16 bytes apart, and threads that walked dims of one key stored 8 to a
  // bank (H200: pal fp8 history rows at 0.78x nhd's).
  auto raw_k_chunk = [&](u32 t, u32 m) { return (m * KEYS + t) * 16; };
  auto raw_v_row = [&](u32 t, u32 c) { return RAW_V + ((c / 8) * KEYS + t) * 64 + (c % 8) * 8; };
  auto raw_v_dim = [&](u32 d, u32 g) { return RAW_V + ((g / 8) * HEAD_DIM + d) * 64 + (g % 8) * 8; };
  auto stage_raw = [&](int key0, T* v_tile, bool by_dim, auto page_at) {
    constexpr int ITEMS = KEYS * CHUNKS / THREADS;
    const u32 raw = shared_address(v_tile);
    auto page_of = [&](int t) { return SHUFFLED ? page_at(t) : page_row.page_of(key0 + t); };
    if constexpr (POOL_ORDER_K) {
#pragma unroll 4
      for (int n = 0; n < KEYS * HEAD_DIM / 16 / THREADS; ++n) {  // K: (key, 16-dim chunk), as the pages hold it
        const u32 i = tid + n * THREADS, t = i % KEYS, m = i / KEYS;
        const int page = page_of(t);
        copy_async<16>(raw + raw_k_chunk(t, m), k_pool + at.key(max(page, 0), kv_head, (key0 + t) % PAGE_SIZE, m * 16),
                       page >= 0 ? 16 : 0);
      }
    } else {
#pragma unroll 4
      for (int n = 0; n < ITEMS; ++n) {  // K: (key, 8 dims)
        const u32 i = tid + n * THREADS, t = i / CHUNKS, c = i % CHUNKS;
        const int page = page_of(t);
        copy_async<8>(raw + t * HEAD_DIM + c * 8, k_pool + at.key(max(page, 0), kv_head, (key0 + t) % PAGE_SIZE, c * 8),
                      page >= 0 ? 8 : 0);
      }
    }
    if (PAL_RUNS && by_dim) {
#pragma unroll 4
      for (int n = 0; n < ITEMS; ++n) {  // V: (dim, 8 keys), a page's run of them
        const u32 i = tid + n * THREADS, d = i / (KEYS / 8), g = i % (KEYS / 8);
        constexpr int RUN8 = PAGE_SIZE >= 8 ? 8 : PAGE_SIZE >= 4 ? PAGE_SIZE : 4;  // bytes of the 8 keys in one page
#pragma unroll
        for (int h = 0; h < 8 / RUN8; ++h) {
          const u32 t = g * 8 + h * RUN8;
          const int page = page_of(t);
          copy_async<RUN8>(raw + raw_v_dim(d, g) + h * RUN8, v_pool + at.value(max(page, 0), kv_head, (key0 + t) % PAGE_SIZE, d),
                           page >= 0 ? RUN8 : 0);
        }
      }
    } else {
#pragma unroll 4
      for (int n = 0; n < ITEMS; ++n) {  // V: (key, 8 dims)
        const u32 i = tid + n * THREADS, t = i / CHUNKS, c = i % CHUNKS;
        const int page = page_of(t);
        copy_async<8>(raw + raw_v_row(t, c), v_pool + at.value(max(page, 0), kv_head, (key0 + t) % PAGE_SIZE, c * 8),
                      page >= 0 ? 8 : 0);
      }
    }
    copy_async_commit();
  };
  // Widens a staged tile in place: K into the K tile; V block by block (64 dims, or 64 keys),
  // those whose T rows lie wholly below raw V straight from the raw bytes, the others through
  // registers, all raw bytes read before any of them is written (producer-only barriers).
  auto finish_staged = [&](int key0, int slot) {
    T* k_tile = k_slot(slot);
    T* v_tile = v_slot(slot);
    const unsigned char* raw = (const unsigned char*)v_tile;
    const bool by_dim = values_by_dim(key0);
    named_barrier_sync(2, THREADS);  // every producer thread's raw copies have landed
    constexpr int ITEMS = KEYS * CHUNKS / THREADS;
    if constexpr (POOL_ORDER_K) {  // a raw 16-byte chunk of a key: its two T chunks, KEYS * 16 bytes apart
#pragma unroll 4
      for (int n = 0; n < KEYS * HEAD_DIM / 16 / THREADS; ++n) {
        const u32 i = tid + n * THREADS, t = i % KEYS, m = i / KEYS;
        const uint4 bytes = *(const uint4*)(raw + raw_k_chunk(t, m));
        store_shared_16(shared_address(k_tile + (2 * m * KEYS + t) * 8), fp8x8_widened<T, KV>(make_uint2(bytes.x, bytes.y)));
        store_shared_16(shared_address(k_tile + ((2 * m + 1) * KEYS + t) * 8), fp8x8_widened<T, KV>(make_uint2(bytes.z, bytes.w)));
      }
    } else {
#pragma unroll 4
      for (int n = 0; n < ITEMS; ++n) {
        const u32 i = tid + n * THREADS, t = i / CHUNKS, c = i % CHUNKS;
        store_shared_16(shared_address(k_tile + swizzled<KEYS>(t, c * 8)), fp8x8_widened<T, KV>(*(const uint2*)(raw + t * HEAD_DIM + c * 8)));
      }
    }
    named_barrier_sync(2, THREADS);  // raw K read: its bytes may be overwritten
    // V in blocks of 64 columns of its swizzled tile, LINES rows of 128 bytes (keys of [key][dim]
    // tiles, dims of [dim][key] ones): block b's T bytes are [b, b + 1) * LINES * 128 of the V
    // tile, and `raw_at(line, group)` is where raw group (8 columns) of a line lies.
    auto widen_block = [&](auto items, auto source, auto destination, bool direct) {
      constexpr int N = decltype(items)::value;
      if (direct) {
#pragma unroll 2
        for (int n = 0; n < N; ++n)
          store_shared_16(shared_address(destination(tid + n * THREADS)), fp8x8_widened<T, KV>(*(const uint2*)(raw + source(tid + n * THREADS))));
        return;
      }
      uint2 held[N];
#pragma unroll
      for (int n = 0; n < N; ++n) held[n] = *(const uint2*)(raw + source(tid + n * THREADS));
      named_barrier_sync(2, THREADS);
#pragma unroll
      for (int n = 0; n < N; ++n) store_shared_16(shared_address(destination(tid + n * THREADS)), fp8x8_widened<T, KV>(held[n]));
    };
    auto widen_v = [&](auto lines, auto raw_at) {
      constexpr int LINES = decltype(lines)::value;
#pragma unroll
      for (int b = 0; b < KEYS * HEAD_DIM / LINES / 64; ++b)
        widen_block(
            IntConstant<LINES * 8 / THREADS>(),
            [&](u32 i) { return raw_at(i / 8, b * 8 + i % 8); },
            [&](u32 i) { return v_tile + swizzled<LINES>(i / 8, (b * 8 + i % 8) * 8); },
            (b + 1) * LINES * 64 * 2 <= RAW_V);  // wholly below raw V: straight from the raw bytes
    };
    if (by_dim) widen_v(IntConstant<HEAD_DIM>(), raw_v_dim);
    else widen_v(IntConstant<KEYS>(), raw_v_row);
  };

  // The raw values of a history tile (`TRANSPOSED_V`, staged by `load_tile`, landed) into
  // the [8-key chunk][dim][8] tile, chunk by chunk in place: every lane of the warp reads its
  // dims' runs of the chunk before any writes (rows of a chunk overlap its raw pages). Loads and
  // stores are conflict-free: consecutive lanes take consecutive runs and rows.
  auto transpose_values = [&](int slot) {
    const unsigned char* raw = (const unsigned char*)v_slot(slot);
    const u32 tile = shared_address(v_slot(slot));
    __syncwarp();  // every lane's raw copies waited for: visible to the warp
#pragma unroll
    for (int b = 0; b < WARP_CHUNKS; ++b) {
      const u32 q = b * 4 + warp;
      u32 rows[LANE_DIMS][4];  // lane l's rows: dims l, l + 32, .. (under HEAD_DIM)
#pragma unroll
      for (int n = 0; n < LANE_DIMS; ++n)
#pragma unroll
        for (int j = 0; j < CHUNK_PAGES; ++j) {  // page j of the chunk: the dim's PAGE_SIZE slots
          const unsigned char* run = raw + (q * DIM + j * PAGE_WORDS) * 16 + (n * 32 + lane) * PAGE_SIZE * sizeof(T);
          if (HEAD_DIM % 32 != 0 && n * 32 + lane >= HEAD_DIM) continue;  // a pad's row: never read
          if constexpr (PAGE_SIZE == 2) {
            rows[n][j] = *(const u32*)run;
          } else {
            const uint2 pair = *(const uint2*)run;
            rows[n][2 * j] = pair.x, rows[n][2 * j + 1] = pair.y;
          }
        }
      __syncwarp();
#pragma unroll
      for (int n = 0; n < LANE_DIMS; ++n)
        if (HEAD_DIM % 32 == 0 || n * 32 + lane < HEAD_DIM)
          store_shared_16(tile + (q * DIM + n * 32 + lane) * 16, make_uint4(rows[n][0], rows[n][1], rows[n][2], rows[n][3]));
    }
  };

  // Issues the copies of K / V tile j into ring slot `slot` (masked keys become zeros);
  // `page_id`: `tile_page_id(j)`.
  auto load_tile = [&](int j, int slot, int page_id) {
    const int key0 = j * KEYS;
    T* k_tile = k_slot(slot);
    T* v_tile = v_slot(slot);
    const bool by_dim = values_by_dim(key0);
    const bool history_tile = is_history_tile(key0);
    // Prompt through and through, but for the keys past the CTA's last token (a prompt's last
    // tile: zeros, as the generic gather writes them).
    const bool prompt_tile = key0 >= history && key0 < keys && (!Variant::HAS_WINDOW || key0 >= lowest_first);
    const int lane_page = page_row.checked(page_id);  // -1 stays -1
    auto page_at = [&](u32 t) { return __shfl_sync(0xffffffffu, lane_page, t / PAGE_SIZE); };  // t: key of the tile
    // Over 32 pages a tile: lane l of word r holds the id of the tile's page 32 r + l.
    auto id_word = [&](int r) { return page_row.checked(page_row.pages[key0 / PAGE_SIZE + r * 32 + lane]); };
    if (TMA && ROLE == PRODUCER_ROLE && prompt_tile && key0 + KEYS <= keys) {
      // A whole prompt tile: thread 0's tensor copies, two 128-byte-wide boxes of KEYS rows
      // per tile (the other threads' arrivals on `full` find no copies of theirs).
      if (tid == 0) {
        const int row = task.prompt_begin + key0 - history;
        mbarrier_expect_tx(full_barrier(slot), 2 * Tile::TILE_BYTES);
#pragma unroll
        for (int b = 0; b < DIM / 64; ++b) {
          tensor_copy_2d(shared_address(k_tile + b * KEYS * 64), &p.k_map, kv_head * HEAD_DIM + b * 64, row, full_barrier(slot));
          tensor_copy_2d(shared_address(v_tile + b * KEYS * 64), &p.v_map, kv_head * HEAD_DIM + b * 64, row, full_barrier(slot));
        }
      }
    } else if (ROW_PLAN && prompt_tile) {
      const i64 offset = prompt_row(key0 + plan_key) + source_chunk * 8;
      const i64 step = (i64)ROW_STEP * p.num_kv_heads * HEAD_DIM;
      if (key0 + KEYS <= keys) {  // whole: no predicate per copy
#pragma unroll
        for (int n = 0; n < KEYS / ROW_STEP; ++n) {
          copy_async_16(k_tile + plan_at(n), k_prompt + offset + n * step, plan_read);
          copy_async_16(v_tile + plan_at(n), v_prompt + offset + n * step, plan_read);
        }
      } else {
        const int readable = plan_read ? keys - key0 - plan_key : 0;  // this thread's keys below it are read
#pragma unroll
        for (int n = 0; n < KEYS / ROW_STEP; ++n) {
          const bool valid = n * ROW_STEP < readable;
          copy_async_16(k_tile + plan_at(n), valid ? k_prompt + offset + n * step : k_prompt, valid);
          copy_async_16(v_tile + plan_at(n), valid ? v_prompt + offset + n * step : v_prompt, valid);
        }
      }
    } else if constexpr (WIDEN) {
      if (STAGED && history_tile) stage_raw(key0, v_tile, by_dim, page_at);
      else widen_tile(key0, k_tile, v_tile, history_tile, by_dim, page_at);
    } else if (ROW_PLAN && (LAYOUT != LAYOUT_PAL || PAGE_SIZE == 1) && history_tile) {  // pal pages of one slot hold rows
      if constexpr (PAGE_PLAN) {
        // A page's PAGE_SIZE / ROW_STEP keys of this thread, ROW_STEP apart, share its id (from
        // a lane known at compile time) and one 32 x 32-bit product per pool; their offsets in
        // the page are the thread's constants.
        constexpr int PER_PAGE = PAGE_SIZE / ROW_STEP;
        const u32 page_bytes = (u32)page_elems * sizeof(T);
        const u32 step_bytes = at.value_in_page(ROW_STEP, 0) * sizeof(T);
        const u64 in_page = at.value(0, kv_head, plan_key, source_chunk * 8) * sizeof(T);
        const char* k_thread = opaque((const char*)k_pool + in_page);  // whole: a product adds it
        const char* v_thread = opaque((const char*)v_pool + in_page);
#pragma unroll
        for (int m = 0; m < TILE_PAGES; ++m) {
          const int shuffled = __shfl_sync(0xffffffffu, lane_page, m), page = plan_read ? shuffled : -1;
          const u32 whole = max(page, 0);
          const char* k_page = k_thread + (u64)whole * page_bytes;
          const char* v_page = v_thread + (u64)whole * page_bytes;
#pragma unroll
          for (int j = 0; j < PER_PAGE; ++j) {
            copy_async_16_from_page(k_tile + plan_at(m * PER_PAGE + j), k_page + j * step_bytes, page);
            copy_async_16_from_page(v_tile + plan_at(m * PER_PAGE + j), v_page + j * step_bytes, page);
          }
        }
      } else if constexpr (ID_PLAN) {
        int ids[TILE_PAGES / 32];
#pragma unroll
        for (int r = 0; r < TILE_PAGES / 32; ++r) ids[r] = id_word(r);
        const u32 page_bytes = (u32)page_elems * sizeof(T);
        const u64 in_page = at.value(0, kv_head, plan_key % PAGE_SIZE, source_chunk * 8) * sizeof(T);
        const char* k_thread = opaque((const char*)k_pool + in_page);
        const char* v_thread = opaque((const char*)v_pool + in_page);
#pragma unroll
        for (int n = 0; n < KEYS / ROW_STEP; ++n) {
          const int shuffled = __shfl_sync(0xffffffffu, ids[n * ROW_STEP / (32 * PAGE_SIZE)], (plan_key + n * ROW_STEP) / PAGE_SIZE % 32);
          const int page = plan_read ? shuffled : -1;
          const u64 offset = (u64)(u32)max(page, 0) * page_bytes;
          copy_async_16_from_page(k_tile + plan_at(n), k_thread + offset, page);
          copy_async_16_from_page(v_tile + plan_at(n), v_thread + offset, page);
        }
      } else {
#pragma unroll
        for (int n = 0; n < KEYS / ROW_STEP; ++n) {
          const int t = plan_key + n * ROW_STEP, key = key0 + t;
          const int page = SHUFFLED ? page_at(t) : page_row.page_of(key);
          const u64 offset = max(page, 0) * page_elems + at.value(0, kv_head, (u32)key % PAGE_SIZE, source_chunk * 8);
          copy_async_16(k_tile + plan_at(n), k_pool + offset, page >= 0 && plan_read);
          copy_async_16(v_tile + plan_at(n), v_pool + offset, page >= 0 && plan_read);
        }
      }
    } else {
      bool values_copied = false;
      if (PAL_PLAN && history_tile) {
        const int t = tid % KEYS, key = key0 + t;
        const int page = SHUFFLED ? page_at(t) : page_row.page_of(key);
        const u64 base = max(page, 0) * page_elems + at.key(0, kv_head, (u32)key % PAGE_SIZE, 0);
        // The tile in the pool's own order, [chunk][key][8] (read through an interleaved
        // descriptor): lanes that share a global sector write one 32-byte run of shared memory
        // (into swizzled [key][dim] rows each 32-byte sector was split in two requests: ncu, H200,
        // twice the ideal L2 sectors on these copies).
        if constexpr (POOL_ORDER_V) {
          // One base a thread (opaque: its copies add constants to it, where the compiler spent
          // five instructions a copy on 64-bit sums and a register per stripe), stripes of a key
          // PAGE_SIZE * 16 bytes apart in the pool and KEYS * 16 in the tile. (H200, 2026-12-01:
          // 1.09-1.13x at pages 2-8; at page 16, beside `VALUE_PLAN`'s copies, 0.92x.)
          const char* k_source = opaque((const char*)(k_pool + base) + tid / KEYS * PAGE_SIZE * 16);
          const u32 k_destination = opaque(shared_address(k_tile) + (tid / KEYS * KEYS + t) * 16);
          const int k_bytes = page >= 0 ? 16 : 0;
#pragma unroll
          for (int n = 0; n < CHUNKS / CHUNK_STEP; ++n)
            copy_async<16>(k_destination + n * CHUNK_STEP * KEYS * 16, k_source + n * CHUNK_STEP * PAGE_SIZE * 16, k_bytes);
        } else {
#pragma unroll
          for (int n = 0; n < CHUNKS / CHUNK_STEP; ++n) {
            const int c = tid / KEYS + n * CHUNK_STEP;  // stripes of a key are PAGE_SIZE * 8 apart
            copy_async_16(k_tile + (c * KEYS + t) * 8, k_pool + base + (u64)c * PAGE_SIZE * 8, page >= 0);
          }
        }
        if constexpr (POOL_ORDER_V) {
          const u32 page_bytes = (u32)page_elems * sizeof(T);
          if constexpr (TRANSPOSED_V) {
            // Chunk q = 4 b + warp: its pages' values raw at the chunk's place, page after page;
            // lane l copies words l, l + 32, .. (a page's HEAD_DIM * PAGE_SIZE * 2 bytes are
            // contiguous in the pool). Lane l < WARP_PAGES holds the id of the warp's page l
            // (page l % CHUNK_PAGES of chunk 4 (l / CHUNK_PAGES) + warp): shuffles from lanes
            // known at compile time, and the copies' addresses are one base plus constants.
            constexpr int WARP_PAGES = WARP_CHUNKS * CHUNK_PAGES;
            const int own = lane < WARP_PAGES ? page_row.checked(page_row.pages[key0 / PAGE_SIZE + (lane / CHUNK_PAGES * 4 + warp) * CHUNK_PAGES +
                                                                               lane % CHUNK_PAGES])
                                              : -1;
            const u32 destination = shared_address(v_tile) + (warp * DIM + lane) * 16;
            if constexpr (32 % PAGE_WORDS == 0) {
              const u32 first_lane = lane / PAGE_WORDS;  // pages per copy instruction: 32 / PAGE_WORDS
              const char* lane_values = opaque((const char*)(v_pool + (u64)kv_head * HEAD_DIM * PAGE_SIZE) + lane % PAGE_WORDS * 16);
#pragma unroll
              for (int b = 0; b < WARP_CHUNKS; ++b)
#pragma unroll
                for (int n = 0; n < HEAD_DIM / 32; ++n) {
                  const int page = __shfl_sync(0xffffffffu, own, b * CHUNK_PAGES + n * 32 / PAGE_WORDS + first_lane);
                  copy_async_from_page<16>(destination + (b * 4 * DIM + n * 32) * 16,
                                           lane_values + (u64)(u32)max(page, 0) * page_bytes + n * 32 % PAGE_WORDS * 16, page);
                }
            } else {
              // Pages of HEAD_DIM / 4 words (80 / 96 / 112 dims at 2 slots): word w = 32 n + lane
              // of the chunk's pages is word w % PAGE_WORDS of page w / PAGE_WORDS.
              const char* head_values = opaque((const char*)(v_pool + (u64)kv_head * HEAD_DIM * PAGE_SIZE));
#pragma unroll
              for (int b = 0; b < WARP_CHUNKS; ++b)
#pragma unroll
                for (int n = 0; n < (CHUNK_PAGES * PAGE_WORDS + 31) / 32; ++n) {
                  const u32 w = n * 32 + lane, j = w / PAGE_WORDS;
                  const int page = __shfl_sync(0xffffffffu, own, b * CHUNK_PAGES + min(j, (u32)CHUNK_PAGES - 1));
                  if (w < CHUNK_PAGES * PAGE_WORDS)
                    copy_async_from_page<16>(destination + (b * 4 * DIM + n * 32) * 16,
                                             head_values + (u64)(u32)max(page, 0) * page_bytes + w % PAGE_WORDS * 16, page);
                }
            }
            copy_async_commit();  // the group `transpose_values` waits for
          } else if constexpr (PAGE_SIZE * sizeof(T) == 8 && THREADS == 128 && SHUFFLED && HEAD_DIM % 64 == 0) {
            // Runs of 8 bytes (pages of 4 slots): the lanes of a pair take the two pages of a
            // chunk, so that a warp's copies fill 16 dims' whole 16-byte rows (256 contiguous
            // bytes: two shared wavefronts, where a lane per dim took four: ncu, H200) and read
            // 128 contiguous bytes of each page; a page id serves a thread's HEAD_DIM / 64 dims.
            // (H200, 2026-12-01, history rows: 1.05 / 1.02x over three rounds, 0.98x over two
            // noisier ones: the consumers, not these copies, bound page 4 since the K bases.)
            const u32 half = (u32)tid % 2, d0 = (u32)tid / 2;  // page of the chunk; dims d0 + 64 k
            const char* head_values = opaque((const char*)(v_pool + ((u64)kv_head * HEAD_DIM + d0) * PAGE_SIZE));
            const u32 destination = shared_address(v_tile) + d0 * 16 + half * 8;
#pragma unroll
            for (int q = 0; q < KEYS / 8; ++q) {
              const int page = __shfl_sync(0xffffffffu, lane_page, 2 * q + half);
              const char* source = head_values + (u64)(u32)max(page, 0) * page_bytes;
#pragma unroll
              for (int k = 0; k < HEAD_DIM / 64; ++k)
                copy_async_from_page<8>(destination + (q * HEAD_DIM + k * 64) * 16, source + k * 64 * 8, page);
            }
          } else {
            // Copy i: dim i % HEAD_DIM of the tile's page i / HEAD_DIM; a thread keeps its dim,
            // and each page costs it a shuffle and one 32 x 32-bit product.
            int ids[SHUFFLED ? 1 : TILE_PAGES / 32];
            if constexpr (SHUFFLED) {
              ids[0] = lane_page;
            } else {
#pragma unroll
              for (int r = 0; r < TILE_PAGES / 32; ++r) ids[r] = id_word(r);
            }
            // (Padded tiles: threads over the tile's DIM rows, those of pad rows copying zeros.)
            constexpr int RUN_BYTES = PAGE_SIZE * (int)sizeof(T), PASS = THREADS / DIM;  // pages per pass
            const u32 d = (u32)tid % DIM, first_page = PASS == 1 ? 0 : (u32)tid / DIM;
            const bool pad_row = PADDED && d >= HEAD_DIM;
            const char* head_values = opaque((const char*)(v_pool + ((u64)kv_head * HEAD_DIM + (pad_row ? 0 : d)) * PAGE_SIZE));
            const u32 destination = shared_address(v_tile) + d * 16;
#pragma unroll
            for (int n = 0; n < KEYS / PAGE_SIZE / PASS; ++n) {  // (each copy's page in one id word: PASS divides 32)
              const u32 m = first_page + n * PASS;
              const int shuffled = __shfl_sync(0xffffffffu, ids[n * PASS / 32], SHUFFLED ? m : m % 32), page = pad_row ? -1 : shuffled;
              copy_async_from_page<RUN_BYTES>(destination + m * PAGE_SIZE / 8 * DIM * 16 + m * RUN_BYTES % 16,
                                              head_values + (u64)(u32)max(page, 0) * page_bytes, page);
            }
          }
          values_copied = true;
        } else if constexpr (VALUE_PLAN) {
          constexpr u32 SPAN = PAGE_SIZE < KEYS ? PAGE_SIZE : KEYS;  // keys of one page in the tile
          constexpr u32 RUNS = SPAN / 8;                             // runs of a page's dim in the tile
          // The page's SPAN threads: run r of dims d0, d0 + 8, .. Lanes 2i, 2i + 1 read whole
          // sectors where runs pair up, and each 8 lanes (a phase of a 16-byte shared store)
          // write 8 distinct swizzle chunks: their d0 step by 8 / GROUP (H200: twice the shared
          // wavefronts with d0 = t / RUNS % 8).
          constexpr u32 GROUP = RUNS < 8 ? 8 / RUNS : 1;  // dims of one page among 8 lanes
          const u32 q = (u32)t / RUNS % 8, d0 = q % GROUP * (8 / GROUP) + q / GROUP;
          const u32 r = (u32)t % RUNS, run_key = (u32)t / SPAN * SPAN + r * 8;
          const T* source = opaque(v_pool + max(page, 0) * page_elems +
                                   ((u64)kv_head * HEAD_DIM + d0) * PAGE_SIZE + ((u32)key0 + run_key) % PAGE_SIZE);
          const u32 destination = shared_address(v_tile + swizzled<DIM>(d0, run_key));
#pragma unroll
          for (u32 k = 0; k < HEAD_DIM / 8; ++k)  // 8 rows of the [dim][key] tile apart
            copy_async<16>(destination + k * 8 * 128, source + k * 8 * PAGE_SIZE, page >= 0 ? 16 : 0);
          values_copied = true;
        }
      } else {
        // pal key stripes of one dim chunk are token-contiguous: there neighbouring threads walk
        // tokens; rows of nhd / hnd pools and of `k` are dim-contiguous: there they walk dims.
        const bool walk_tokens = LAYOUT == LAYOUT_PAL && key0 + KEYS <= history;
#pragma unroll 4
        for (int n = 0; n < KEYS * CHUNKS / THREADS; ++n) {
          const int i = tid + n * THREADS;
          const int t = walk_tokens ? i % KEYS : i / CHUNKS;
          const int c = walk_tokens ? i / KEYS : i % CHUNKS;
          gather_chunk<false, Variant>(k_tile + swizzled<KEYS>(t, c * 8), k_pool, k_prompt, at, page_row, kv_head, key0 + t,
                                       c, history, keys, lowest_first, prompt_row);
        }
      }
      if (values_copied) {
      } else if (by_dim) {
        // Runs of one dim, copied in the pool's [dim][slot] order, page by page, into a
        // [dim][key] tile. A thread keeps its run of a page (tid % PAGE_RUNS) and steps over
        // (page, dim) pairs.
        constexpr u32 SPAN = PAGE_SIZE < KEYS ? PAGE_SIZE : KEYS;  // keys of one page in the tile
        constexpr u32 PAGE_RUNS = SPAN >= RUN ? SPAN / RUN : 1;  // (1 where unused: pages of one slot)
        constexpr u32 STEP = THREADS / PAGE_RUNS;  // (page, dim) pairs between a thread's copies
        const u32 run_key = (u32)tid % PAGE_RUNS * RUN, first = (u32)tid / PAGE_RUNS;
        const u32 slot0 = ((u32)key0 + run_key) % PAGE_SIZE;  // the run's first slot in its page
        const T* head_values = v_pool + (u64)kv_head * HEAD_DIM * PAGE_SIZE + slot0;
#pragma unroll 4
        for (u32 n = 0; n < KEYS * HEAD_DIM / RUN / THREADS; ++n) {
          const u32 pair = first + n * STEP, dim = pair % HEAD_DIM, t = pair / HEAD_DIM * SPAN + run_key;
          const int page = SHUFFLED ? page_at(t) : page_row.page_of(key0 + t);
          copy_async<RUN * 2>(v_tile + swizzled<DIM>(dim, t), head_values + max(page, 0) * page_elems + dim * PAGE_SIZE,
                              page >= 0 ? RUN * 2 : 0);
        }
      } else {
#pragma unroll 4
        for (int n = 0; n < KEYS * CHUNKS / THREADS; ++n) {  // pal: a tile that straddles history and prompt, or small pages
          const int i = tid + n * THREADS;
          const int t = i / CHUNKS, c = i % CHUNKS;
          gather_chunk<true, Variant>(v_tile + swizzled<KEYS>(t, c * 8), v_pool, v_prompt, at, page_row, kv_head, key0 + t, c,
                                      history, keys, lowest_first, prompt_row);
        }
      }
    }
    if (warp == 0) {  // which keys of the tile sit on valid pages (a word per 32 keys)
#pragma unroll
      for (int w = 0; w < WORDS; ++w) {
        const int key = key0 + w * 32 + lane;
        const bool invalid = SHUFFLED && history_tile
                                 ? page_at(w * 32 + lane) < 0
                                 : key < history && (!Variant::HAS_WINDOW || key >= lowest_first) && page_row.page_of(key) < 0;
        saw_invalid_page |= invalid;
        const u32 word = __ballot_sync(0xffffffffu, !invalid);
        if (lane == 0) readable_keys[slot * WORDS + w] = word;
      }
    }
  };

  // This thread's rows: its two accumulator rows in its warpgroup's 64.
  auto my_row = [&](int i) { return group * 64 + (warp % 4) * 16 + Fragment::row(lane, 2 * i); };
  int visible[2];    // keys each row sees (0 for padding rows)
  int first_key[2];  // the first of them (a window's start)
  float slope[2];    // ALiBi slope of the row's head
  SoftmaxState state[2];
  float o[O_CHUNKS][4];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int r = my_row(i);
    const int position = history + task.first_token + split.token(r);
    visible[i] = row_valid(r) ? position + 1 : 0;
    first_key[i] = Variant::first_visible(p.variant, position);
    slope[i] = Variant::TRANSFORMS_SCORES && row_valid(r) ? Variant::slope(p.variant, task.first_head + split.head(r)) : 0.f;
    state[i] = SoftmaxState::empty();
  }
#pragma unroll
  for (int b = 0; b < O_CHUNKS; ++b) o[b][0] = o[b][1] = o[b][2] = o[b][3] = 0.f;
  const int unmasked_keys = history + task.first_token + 1;  // seen by every row
  const float log2_scale = p.scale * LOG2E;
  const float k_scale = WIDEN ? p.scales.k(kv_head) : 1.f, v_scale = WIDEN ? p.scales.v(kv_head) : 1.f;
  // PRESCALED_Q (BOUNDED consumers): each warpgroup multiplies its Q rows by the soft-cap's
  // factor (scale / cap) once an item, in shared memory, so that a raw score is the tanh's
  // argument: the FMUL a score leaves the tanh block, whose 64 MUFU ops then start at once (the
  // block sits on the ping-pong's critical path). bfloat16 Q' = Q * factor rounds each element
  // once more (relative 2^-9, as P's rounding); float32's range keeps small factors exact in
  // exponent.
  constexpr bool PRESCALED_Q = BOUNDED && ROLE != PRODUCER_ROLE;
  const Logit2<Variant> logit2(p.variant, PRESCALED_Q ? p.variant.soft_cap : p.scale);  // (factor 1)
  // BOUNDED (the host's choice: bfloat16 queries and pools, a soft-cap of at most 95 / log2(e),
  // no ALiBi): logits lie within +-cap2, so weights take a fixed exponent base, 0 or cap2 - 64,
  // and stay in [2^-126, 2^64] (bfloat16 P; float32 sums of up to 2^31 keys): no running max,
  // no O rescale, and the registers they held (the soft-capped kernel spilt 72 bytes without).
  static_assert(!BOUNDED || (Variant::HAS_SOFTCAP && !Variant::HAS_ALIBI && SAME_TYPE<T, bf16> && SAME_TYPE<KV, bf16>),
                "a fixed base only for bounded bfloat16 logits");
  const float bound = BOUNDED ? fmaxf(0.f, logit2.cap2 - 64.f) : 0.f;
  if constexpr (BOUNDED) {
#pragma unroll
    for (int i = 0; i < 2; ++i) state[i] = SoftmaxState{bound, 0.f};
  }
  // ALiBi in base 2: row i's bias for tile key t is slope2[i] * (key0 + t - position).
  float slope2[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) slope2[i] = slope[i] * LOG2E;
  const int lane_column = Fragment::column(lane, 0);  // this lane's first column of a block
  // Descriptors of this warpgroup's Q rows and of slot 0; k-steps and slots add byte offsets / 16.
  const u64 q_descriptor = matrix_descriptor(q_tile + group * 64 * 64);
  const u64 slot_descriptor = matrix_descriptor(k_slot(0));
  const u64 pool_order_descriptor = interleaved_descriptor(k_slot(0), KEYS * 16, 128);  // pal history K
  const u64 row_v_descriptor = matrix_descriptor(v_slot(0), KEYS * 128);
  const u64 dim_v_descriptor = matrix_descriptor(v_slot(0));
  const u64 pool_order_v_descriptor = interleaved_descriptor(v_slot(0), DIM * 16, 128);  // pal history V, small pages
  constexpr u64 SLOT_STEP = 2 * Tile::TILE_BYTES / 16;
  auto slot_offset = [&](int slot) { return (u32)slot * (u32)SLOT_STEP; };

  // Issues S = Q K^T of tile j (one commit group). A warpgroup whose rows are all padding
  // computes too: wgmma is issued by whole warpgroups, and skipping would branch around it.
  auto issue_scores = [&](int j, int slot, float(&s)[KEY_BLOCKS][4]) {
    // One chain per K form, each whole in its branch (see `issue_values`); `b_step(kk)`: k-step
    // kk's offset in the slot, in 16-byte units.
    auto chain = [&](u64 b_descriptor, auto b_step) {
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
        const u64 a = descriptor_plus(q_descriptor, (kk / 4 * ROWS * 128 + kk % 4 * 32) / 16);
        Wgmma<T, KEYS>::template ss<false>(s, a, descriptor_plus(b_descriptor, slot_offset(slot) + b_step(kk)), kk > 0);
      }
      wgmma_commit();
    };
    if (POOL_ORDER_K && is_history_tile(j * KEYS))
      chain(pool_order_descriptor, [](int kk) { return kk * 2 * KEYS; });  // chunks 2 kk, 2 kk + 1: KEYS * 16 bytes apart
    else  // 16 dims of column block kk / 4, 32 bytes into its rows per step
      chain(slot_descriptor, [](int kk) { return (kk / 4 * KEYS * 128 + kk % 4 * 32) / 16; });
  };

  // The online softmax of tile j's scores (complete in `s`): masks, the rows' new maxima, and
  // the weights in place of the scores, added to the rows' sums. Returns in `factor` what O
  // must be multiplied by before tile j's P V joins it.
  auto weigh_scores = [&](int j, int slot, float(&s)[KEY_BLOCKS][4], float(&factor)[2]) {
    const int key0 = j * KEYS;
    if constexpr (WIDEN) {  // fp8 pools: history keys' scores times `k_scale`
      if (key0 + KEYS <= history) {  // history throughout (most tiles): no test per score
#pragma unroll
        for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[b][e] *= k_scale;
      } else if (key0 < history) {
#pragma unroll
        for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (key0 + b * 8 + Fragment::column(lane, e) < history) s[b][e] *= k_scale;
      }
    }
    u32 readable[WORDS], all_readable = ~0u;
#pragma unroll
    for (int w = 0; w < WORDS; ++w) all_readable &= readable[w] = readable_keys[slot * WORDS + w];
    const bool masked = key0 + KEYS > unmasked_keys || all_readable != ~0u || key0 < highest_first;
    // Tiles without a mask (most of them) keep raw scores: the row max of raw scores times the
    // scale (the min where the scale is negative) and one FFMA per weight. Transformed scores
    // (soft-cap, ALiBi) become base-2 logits (`mul` 1) with the variant's constants folded
    // (`Logit2`), and only masked tiles pay for the mask.
    float tile_max[2] = {neg_inf(), neg_inf()};
    float mul = log2_scale;
    // ALiBi bias of row i at this lane's first column plus `c`: slope2 (key0 + lane's column -
    // position) + slope2 c, one FFMA with an immediate per score.
    float alibi_base[2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
      alibi_base[i] = Variant::HAS_ALIBI ? slope2[i] * (float)(key0 + lane_column - (visible[i] - 1)) : 0.f;
    auto logit_at = [&](float raw, int b, int e) {
      const int r = Fragment::row_index(e);
      const float bias = Variant::HAS_ALIBI ? fmaf(slope2[r], (float)(b * 8 + e % 2), alibi_base[r]) : 0.f;
      return logit2.of(raw, bias);
    };
    if (masked) {
      mul = 1.f;
#pragma unroll
      for (int b = 0; b < KEY_BLOCKS; ++b) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = key0 + b * 8 + Fragment::column(lane, e), r = Fragment::row_index(e);
          float score = Variant::TRANSFORMS_SCORES ? logit_at(s[b][e], b, e) : s[b][e] * log2_scale;
          const bool unreadable = !((readable[b / 4] >> (b % 4 * 8 + Fragment::column(lane, e))) & 1);
          if (key >= visible[r] || (Variant::HAS_WINDOW && key < first_key[r]) || unreadable) score = neg_inf();
          s[b][e] = score;
          if constexpr (!BOUNDED) tile_max[r] = fmaxf(tile_max[r], score);
        }
      }
    } else if constexpr (Variant::HAS_SOFTCAP && !Variant::HAS_ALIBI) {
      // A soft-capped logit is cap2 t (t the tanh, cap2 > 0): the tile's max logit is its max
      // t's, and a weight is one FFMA from t (the logit's multiply and the exponent's are one).
      mul = logit2.cap2;
      float tile_top[2] = {neg_inf(), neg_inf()};
#pragma unroll
      for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[b][e] = PRESCALED_Q ? tanh_approx(s[b][e]) : logit2.tanh_of(s[b][e]);
          if constexpr (!BOUNDED) tile_top[Fragment::row_index(e)] = fmaxf(tile_top[Fragment::row_index(e)], s[b][e]);
        }
#pragma unroll
      for (int i = 0; i < 2; ++i) tile_max[i] = mul * tile_top[i];
    } else if constexpr (Variant::TRANSFORMS_SCORES) {
      mul = 1.f;
#pragma unroll
      for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[b][e] = logit_at(s[b][e], b, e);
          tile_max[Fragment::row_index(e)] = fmaxf(tile_max[Fragment::row_index(e)], s[b][e]);
        }
    } else {
      raw_row_max(s, log2_scale, tile_max);
    }
    float base[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      if constexpr (BOUNDED) {
        factor[i] = 1.f;
        base[i] = bound;
      } else {
        factor[i] = state[i].rescale(quad_max(tile_max[i]));
        base[i] = state[i].base();
      }
    }
#pragma unroll
    for (int b = 0; b < KEY_BLOCKS; ++b)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[b][e] = fast_exp2(fmaf(s[b][e], mul, -base[e / 2]));
        state[e / 2].sum += s[b][e];
      }
  };
  // O *= factor, row by row; skipped where no row of the warp raised its max (mostly).
  auto rescale_output = [&](const float(&factor)[2]) {
#pragma unroll
    for (int i = 0; i < 2 && !BOUNDED; ++i) {  // (a fixed base: O is never rescaled)
      if (__any_sync(0xffffffffu, factor[i] != 1.f)) {
#pragma unroll
        for (int b = 0; b < O_CHUNKS; ++b) {
          o[b][2 * i] *= factor[i];
          o[b][2 * i + 1] *= factor[i];
        }
      }
    }
  };
  // P as register A fragments (k-step kb: keys 16 kb ..), converted whole before the fence:
  // registers written between wgmmas would serialise them.
  // fp8 pools: history keys' weights times `v_scale` (after the row sums: the scale is V's).
  auto pack_weights = [&](int j, const float(&s)[KEY_BLOCKS][4], u32(&pf)[KEYS / 16][4]) {
    auto pack = [&](auto weight) {
#pragma unroll
      for (int kb = 0; kb < KEYS / 16; ++kb)
#pragma unroll
        for (int x = 0; x < 4; ++x) pf[kb][x] = Mma<T>::pack(weight(2 * kb + x / 2, x % 2 * 2), weight(2 * kb + x / 2, x % 2 * 2 + 1));
    };
    if (WIDEN && (j + 1) * KEYS <= history)  // history throughout: every weight times v_scale
      pack([&](int b, int e) { return s[b][e] * v_scale; });
    else if (WIDEN && j * KEYS < history)
      pack([&](int b, int e) { return j * KEYS + b * 8 + Fragment::column(lane, e) < history ? s[b][e] * v_scale : s[b][e]; });
    else
      pack([&](int b, int e) { return s[b][e]; });
  };
  // Issues O += P V of tile j (one commit group). Each V form's chain whole in its branch, fence
  // to commit: a wgmma chain that spans a branch is serialised by the assembler.
  auto issue_values = [&](int j, int slot, const u32(&pf)[KEYS / 16][4]) {
    if (POOL_ORDER_V && values_by_dim(j * KEYS)) {
      wgmma_fence();
#pragma unroll
      for (int kb = 0; kb < KEYS / 16; ++kb)  // [chunk][dim][8]: chunks 2 kb, 2 kb + 1, HEAD_DIM * 16 bytes apart
        Wgmma<T, DIM>::template rs<false>(o, pf[kb], descriptor_plus(pool_order_v_descriptor, slot_offset(slot) + kb * 2 * DIM), true);
      wgmma_commit();
    } else if (values_by_dim(j * KEYS)) {
      wgmma_fence();
#pragma unroll
      for (int kb = 0; kb < KEYS / 16; ++kb)  // [dim][key]: 16 keys of column block kb / 4
        Wgmma<T, DIM>::template rs<false>(o, pf[kb], descriptor_plus(dim_v_descriptor, slot_offset(slot) + (kb / 4 * DIM * 128 + kb % 4 * 32) / 16), true);
      wgmma_commit();
    } else {
      wgmma_fence();
#pragma unroll
      for (int kb = 0; kb < KEYS / 16; ++kb)  // [key][dim]: 16 rows
        Wgmma<T, DIM>::template rs<true>(o, pf[kb], descriptor_plus(row_v_descriptor, slot_offset(slot) + kb * 16 * 128 / 16), true);
      wgmma_commit();
    }
  };

  // PRESCALED_Q: this warpgroup's Q rows times scale / cap, visible to its wgmma (the caller
  // syncs the warpgroup).
  auto prescale_q = [&] {
    const float factor = p.scale / p.variant.soft_cap;
    T* rows = q_tile + group * 64 * 64;  // its 64 rows of each 64-dim block (blocks ROWS rows apart)
    // (BOUNDED is bfloat16 only, so a word is two bfloat16s: a float's high halves.)
    auto scaled = [&](u32 w) { return Mma<T>::pack(__uint_as_float(w << 16) * factor, __uint_as_float(w & 0xffff0000u) * factor); };
#pragma unroll
    for (int n = 0; n < DIM / 64 * 64 * 64 / 8 / 128; ++n) {
      const u32 i = tid % 128 + n * 128;  // 16-byte chunk i: block i / 512
      uint4* at = (uint4*)(rows + i / 512 * (ROWS * 64) + i % 512 * 8);
      const uint4 v = *at;
      *at = make_uint4(scaled(v.x), scaled(v.y), scaled(v.z), scaled(v.w));
    }
    fence_async_shared();  // the stores, before the wgmma read them
  };
  int tiles = (keys + KEYS - 1) / KEYS, first_tile = lowest_first / KEYS;
  if constexpr (SPLIT_KV) {  // split `kv_split` of the visible tiles: consecutive runs of equal length
    const int per = (tiles - first_tile + p.num_splits - 1) / p.num_splits;
    first_tile += kv_split * per;
    tiles = min(tiles, first_tile + per);
  }
  // Row r's partial state in the workspace: [row][split] (float32 accumulators per dim, and the
  // base-2 max and sum).
  auto partial_at = [&](int r) { return q_row(r) * p.num_splits + kv_split; };
  float scores[KEY_BLOCKS][4];
  u32 weights[KEYS / 16][4];
  float factor[2];
  // 1 / the row's sum (its head's sink joining the softmax), by which row i's O is normalised.
  auto row_inverse = [&](int i) {
    const int r = my_row(i);
    const float sink = row_valid(r) ? Variant::sink(p.variant, task.first_head + split.head(r)) : neg_inf();
    return SoftmaxState{state[i].max, quad_sum(state[i].sum)}.inverse_sum(sink);
  };
  // Split-KV: this thread's rows' unnormalised float32 accumulators and states, from registers.
  auto write_partial = [&] {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = my_row(i);
      const float sum = quad_sum(state[i].sum);
      if (!row_valid(r)) continue;
      float* acc = (float*)p.partial_acc + partial_at(r) * HEAD_DIM + Fragment::column(lane, 0);
#pragma unroll
      for (int b = 0; b < CHUNKS; ++b) *(float2*)(acc + b * 8) = make_float2(o[b][2 * i], o[b][2 * i + 1]);
      if (lane % 4 == 0) ((float2*)p.partial_stats)[partial_at(r)] = make_float2(state[i].max, sum);
    }
  };
  // Split-KV: a split without tiles (ragged batches); its rows saw nothing.
  auto write_empty_partial = [&] {
    if (tid < ROWS && row_valid(tid)) ((float2*)p.partial_stats)[partial_at(tid)] = make_float2(neg_inf(), 0.f);
  };
  if constexpr (ROLE == ALL_ROLES) {
    if (SPLIT_KV && first_tile >= tiles) return write_empty_partial();
    load_q();
#pragma unroll
    for (int n = 0; n < STAGES - 1; ++n) {  // with Q: the first copy group
      if (first_tile + n < tiles) load_tile(first_tile + n, (first_tile + n) % STAGES, tile_page_id(first_tile + n));
      copy_async_commit();
    }
    for (int j = first_tile; j < tiles; ++j) {
      const int slot = j % STAGES;
      copy_async_wait<STAGES - 2>();  // tile j is in
      fence_async_shared();
      __syncthreads();  // every thread's copies of tile j are in; slot j - 1 is free
      if (PRESCALED_Q && j == first_tile) {  // Q came with the first tile
        prescale_q();
        __syncthreads();
      }
      issue_scores(j, slot, scores);
      if (j + STAGES - 1 < tiles)  // while S is computed
        load_tile(j + STAGES - 1, (j + STAGES - 1) % STAGES, tile_page_id(j + STAGES - 1));
      copy_async_commit();  // possibly empty: one group per tile
      wgmma_wait<0>();
      weigh_scores(j, slot, scores, factor);
      rescale_output(factor);
      pack_weights(j, scores, weights);
      issue_values(j, slot, weights);
      wgmma_wait<0>();
    }
    copy_async_wait<0>();
    __syncthreads();  // the ring and Q are free: the output is staged over them
    report_invalid_pages();
    if constexpr (SPLIT_KV) return write_partial();

    // Normalise, stage the warp's 16 rows, write whole 16-byte chunks.
    constexpr int ROW = HEAD_DIM + 8;
    T* staged = (T*)shared + warp * 16 * ROW;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float inverse = row_inverse(i);
#pragma unroll
      for (int b = 0; b < CHUNKS; ++b)
        *(u32*)(staged + Fragment::row(lane, 2 * i) * ROW + b * 8 + Fragment::column(lane, 0)) =
            Mma<T>::pack(o[b][2 * i] * inverse, o[b][2 * i + 1] * inverse);
    }
    __syncwarp();
#pragma unroll
    for (int n = 0; n < 16 * CHUNKS / 32; ++n) {
      const int i = lane + n * 32, r = i / CHUNKS, c = i % CHUNKS, row = warp * 16 + r;
      if (row_valid(row)) *(uint4*)((T*)p.out + q_row(row) * HEAD_DIM + c * 8) = *(const uint4*)(staged + r * ROW + c * 8);
    }
  } else if constexpr (ROLE == PRODUCER_ROLE) {
    if (SPLIT_KV && first_tile >= tiles) return write_empty_partial();  // the consumers never see it
    // Q once the consumers are done with the last item's, then tile after tile into the ring,
    // each slot once the consumers released it. (A fresh barrier passes a wait on parity 1:
    // the first round waits for nothing.)
    int next_page_id = tile_page_id(first_tile);  // in flight through the wait
    // Q's lines into L2 while the consumers finish the item before (Q is gathered only once
    // they release it): H200, nhd history rows 1.04-1.10x (4 x 1024 over 8192 500 -> 540
    // TFLOP/s), prompt-only rows and pal level (twenty-first session call 7, twenty-second
    // call 1); with a first prompt tile's K / V rows as well, no better.
    if (tid < ROWS && row_valid(tid)) {
      const T* row = q + q_row(tid) * HEAD_DIM;
#pragma unroll
      for (int line = 0; line < (HEAD_DIM * 2 + 127) / 128; ++line) prefetch_l2(row + line * 64);
    }
    mbarrier_wait(q_empty, (ring.items++ & 1) ^ 1);
    if constexpr (!TMA) load_q();
    // Staged tiles (fp8 history tiles widened, `STAGED`; pal values transposed, `TRANSPOSED_V`)
    // are finished before the next tile's slot is waited for. `pending` is the slot whose raw
    // bytes are in flight, -1 when none.
    int pending = -1, pending_key0 = 0;
    auto widened = [&](int slot) {  // the widened stores: made visible to wgmma, then counted
      fence_async_shared();
      mbarrier_arrive(full_barrier(slot));
    };
    for (int j = first_tile; j < tiles; ++j, ++ring.uses) {
      const int slot = ring.uses % STAGES, page_id = next_page_id;
      if (j + 1 < tiles) next_page_id = tile_page_id(j + 1);  // in flight through the wait and the copies
      // The staged tile before is finished before this slot is waited for. (Finished after this
      // tile's copies, each tile waited for the next one's slot and the ring ran a tile short:
      // H200, transposed values at page 2 0.99x and page 4 0.75x of the pool-order copies,
      // fp8 history 0.93x; finished here only while this slot was still in use, 1.14x at page 2
      // against 1.24x.)
      if ((TRANSPOSED_V || STAGED) && pending >= 0) {
        copy_async_wait<0>();
        if constexpr (WIDEN) finish_staged(pending_key0, pending);
        else transpose_values(pending);
        widened(pending);
        pending = -1;
      }
      mbarrier_wait(empty_barrier(slot), (ring.uses / STAGES & 1) ^ 1);
      if (TMA && j == first_tile && tid == 0) {
        // Q by tensor copies, (64 dims, the item's heads, its tokens) a box, on the first
        // tile's barrier once its slot is free (its last phase complete): rows past the item's
        // tokens hold the next tokens' queries (or zeros past q), rows the output skips.
        mbarrier_expect_tx(full_barrier(slot), rows_used * DIM * 2);  // (boxes past the head dim: zeros)
#pragma unroll
        for (int b = 0; b < DIM / 64; ++b)
          tensor_copy_3d(shared_address(q_tile + b * ROWS * 64), &p.q_map, b * 64, task.first_head, task.prompt_begin + task.first_token,
                         full_barrier(slot));
      }
      load_tile(j, slot, page_id);  // the first one after Q's copies: its barrier covers Q
      copy_async_arrive(full_barrier(slot));
      if (warp == 0) {
        __syncwarp();
        if (lane == 0) {
          if (j == first_tile) slot_item[slot] = work;  // the consumers learn the item here
          mbarrier_arrive(full_barrier(slot));          // after the readable word
        }
      }
      if constexpr (PRODUCER_STORES<KV, LAYOUT, PAGE_SIZE, HEAD_DIM>) {
        const bool staged = (STAGED || TRANSPOSED_V) && is_history_tile(j * KEYS);
        if (pending >= 0) {  // (not reached: finished before the wait; removing it changed the SASS)
          if (staged) copy_async_wait<1>();
          else copy_async_wait<0>();
          if constexpr (WIDEN) finish_staged(pending_key0, pending);
          else if constexpr (TRANSPOSED_V) transpose_values(pending);
          widened(pending);
          pending = -1;
        }
        if (staged) {
          pending = slot, pending_key0 = j * KEYS;
        } else {
          widened(slot);
        }
      }
    }
    if constexpr (PRODUCER_STORES<KV, LAYOUT, PAGE_SIZE, HEAD_DIM>) {
      if (pending >= 0) {
        copy_async_wait<0>();
        if constexpr (WIDEN) finish_staged(pending_key0, pending);
        else if constexpr (TRANSPOSED_V) transpose_values(pending);
        widened(pending);
      }
    }
    report_invalid_pages();
  } else {
    // Consumers: S of tile j is issued with P V of tile j - 1, and the softmax of tile j runs
    // while that P V is on the tensor cores; tile j - 1's slot is released once it is done.
    auto wait_full = [&] {
      const int slot = ring.uses % STAGES;
      mbarrier_wait(full_barrier(slot), ring.uses / STAGES & 1);
      ++ring.uses;
      fence_async_shared();
      return slot;
    };
    // Q goes once the item's last S is done (the producer loads the next item's Q meanwhile).
    auto release_q = [&](int j) {
      if (j + 1 == tiles && lane == 0) mbarrier_arrive(q_empty);
    };
    // The two warpgroups take turns to issue their wgmma (named barriers 3 and 4, ping-pong):
    // one's softmax runs while the other's S and P V are on the tensor cores, instead of both
    // waiting for the tensor cores, then both computing, in step. Warpgroup 1 opened the first
    // turn for warpgroup 0 (see `prefill_wgmma`).
    // Soft-capped scores pass the turn after their tanh / max rather than after the wgmma
    // issue: the two warpgroups' tanh blocks then overlap less on the MUFU pipe, at the cost of
    // the other's S issuing later (figures in the opening note; plain rows did not gain, so they
    // keep the early turn). ptxas keeps the exponentials after the P V wait, past the arrive.
    constexpr bool TURN_AFTER_SOFTMAX = Variant::HAS_SOFTCAP;
    auto my_turn = [&] { group == 0 ? named_barrier_sync(3, 256) : named_barrier_sync(4, 256); };
    auto their_turn = [&] { group == 0 ? named_barrier_arrive(4, 256) : named_barrier_arrive(3, 256); };
    int slot = wait_full();  // Q is in
    if constexpr (PRESCALED_Q) {
      prescale_q();
      group == 0 ? named_barrier_sync(5, 128) : named_barrier_sync(6, 128);
    }
    my_turn();
    issue_scores(first_tile, slot, scores);
    their_turn();
    wgmma_wait<0>();
    release_q(first_tile);
    weigh_scores(first_tile, slot, scores, factor);
    pack_weights(first_tile, scores, weights);  // O is zero: nothing to rescale
    for (int j = first_tile + 1; j < tiles; ++j) {
      const int previous = slot;
      slot = wait_full();
      my_turn();
      issue_scores(j, slot, scores);
      issue_values(j - 1, previous, weights);
      if constexpr (!TURN_AFTER_SOFTMAX) their_turn();
      wgmma_wait<1>();  // S of tile j
      release_q(j);
      weigh_scores(j, slot, scores, factor);
      if constexpr (TURN_AFTER_SOFTMAX) their_turn();
      wgmma_wait<0>();  // P V of tile j - 1: its slot is free
      if (lane == 0) mbarrier_arrive(empty_barrier(previous));
      rescale_output(factor);
      pack_weights(j, scores, weights);
    }
    my_turn();
    issue_values(tiles - 1, slot, weights);
    their_turn();
    wgmma_wait<0>();
    if (lane == 0) mbarrier_arrive(empty_barrier(slot));

    if constexpr (SPLIT_KV) return write_partial();
    // Normalise and write from the registers (Q and the ring hold the next item's tiles): a
    // quad transposes four column blocks so that each lane stores one whole 16-byte chunk (4-byte
    // stores took two requests per sector: ncu, H200).
    const int quad = lane % 4;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = my_row(i);
      const float inverse = row_inverse(i);  // whole quads
      const bool valid = row_valid(r);
      T* row = (T*)p.out + q_row(r) * HEAD_DIM;
#pragma unroll
      for (int b = 0; b < CHUNKS; b += 4) {
        u32 w[4];
#pragma unroll
        for (int x = 0; x < 4; ++x) w[x] = Mma<T>::pack(o[b + x][2 * i] * inverse, o[b + x][2 * i + 1] * inverse);
        const uint4 chunk = quad_transpose(w[0], w[1], w[2], w[3]);  // every lane: shuffles
        if (valid && (!PADDED || b + quad < CHUNKS)) store_global_16(row + (b + quad) * 8, chunk);
      }
    }
  }
}

// The kernel: an item per CTA when every thread copies and computes; else a persistent grid
// (`gridDim.x` CTAs) whose producer runs ahead into the next item (its Q as soon as the
// consumers' last S is done, its tiles as slots free) while the consumers finish this one.
template <typename T, typename KV, int HEAD_DIM, int PAGE_SIZE, int LAYOUT, typename Variant, int KEYS, int STAGES, bool PRODUCER,
          bool SPLIT_KV, bool TMA, bool BOUNDED = false>
__device__ void prefill_wgmma(const PrefillParams& p) {
  static_assert(!TMA || PRODUCER, "tensor copies are the producer's");
  PrefillRing ring;
  if constexpr (!PRODUCER) {
    prefill_wgmma_item<T, KV, HEAD_DIM, PAGE_SIZE, LAYOUT, Variant, KEYS, STAGES, ALL_ROLES, SPLIT_KV, TMA, BOUNDED>(p, blockIdx.x, ring);
  } else {
    using Tile = PrefillWgmmaTile<HEAD_DIM, KEYS, STAGES, PRODUCER>;
    extern __shared__ unsigned char shared_raw[];
    unsigned char* shared = shared_raw + ((1024 - (shared_address(shared_raw) & 1023)) & 1023);
    const u32 barriers = shared_address(shared + Tile::BARRIER_OFFSET);
    auto full_barrier = [&](int slot) { return barriers + 8 * slot; };
    auto empty_barrier = [&](int slot) { return barriers + 8 * (STAGES + slot); };
    int* slot_item = (int*)(shared + Tile::ITEM_OFFSET);
    int* next_item = slot_item + STAGES;  // two, used alternately
    if (threadIdx.x == 0) {
      for (int s = 0; s < STAGES; ++s) {
        // full: every producer thread's copies (and, where it stages tiles, its stores), warp 0's word
        mbarrier_init(full_barrier(s), 128 * (PRODUCER_STORES<KV, LAYOUT, PAGE_SIZE, HEAD_DIM> ? 2 : 1) + 1);
        mbarrier_init(empty_barrier(s), 8);       // empty: the consumers' warps
      }
      mbarrier_init(barriers + 16 * STAGES, 8);  // Q empty: the consumers' warps
    }
    __syncthreads();
    // Items go to whichever CTA asks first: its own item, then the counter's (the launch lists
    // items longest first within a sequence). Rounds fixed in advance left CTAs up to a third
    // apart where sequences are short (16 x 1024: prompts of 256 items, rounds of 132). The
    // producer asks once its item's copies are issued (the consumers' last tiles hide the
    // atomic), not when the item starts: asked ahead, the items past the first wave went to
    // CTAs still busy with a long one while others idled (H200, nhd 1 x 512 over 32768, 128
    // items of 260 tiles: SMs active 46% of the time, 303 TFLOP/s). It hands each item to the
    // consumers with its first tile (`slot_item`), or -1 when none is left.
    const int items = p.num_tiles * p.head_blocks * (SPLIT_KV ? p.num_splits : 1);
    u32* counter = (u32*)p.schedule;  // [0]: items handed out beyond the first gridDim.x, [1]: CTAs done
    if (threadIdx.x < 128) {
      setmaxnreg_dec<PRODUCER_REGISTERS>();
      int work = blockIdx.x;
      for (u32 n = 0; work < items; ++n) {
        prefill_wgmma_item<T, KV, HEAD_DIM, PAGE_SIZE, LAYOUT, Variant, KEYS, STAGES, PRODUCER_ROLE, SPLIT_KV, TMA, BOUNDED>(p, work, ring);
        if (threadIdx.x == 0) next_item[n & 1] = gridDim.x + (int)atomicAdd(counter, 1u);
        named_barrier_sync(1, 128);
        work = next_item[n & 1];
      }
      const int slot = ring.uses % STAGES;  // as a tile would, once the slot is free
      mbarrier_wait(empty_barrier(slot), (ring.uses / STAGES & 1) ^ 1);
      if (threadIdx.x == 0) slot_item[slot] = -1;
      mbarrier_arrive(full_barrier(slot));
      if constexpr (PRODUCER_STORES<KV, LAYOUT, PAGE_SIZE, HEAD_DIM>) mbarrier_arrive(full_barrier(slot));  // as the stores' count
      if (threadIdx.x == 0) {
        mbarrier_arrive(full_barrier(slot));
        // The last CTA out zeroes the counter for the next launch (in stream order); each
        // CTA's fetches are ordered before its count by the fence.
        __threadfence();
        if (atomicAdd(counter + 1, 1u) == gridDim.x - 1) atomicExch(counter, 0u), atomicExch(counter + 1, 0u);
      }
      copy_async_wait<0>();
    } else {
      setmaxnreg_inc<CONSUMER_REGISTERS>();
      // Ping-pong turns (see the consumers' part of `prefill_wgmma_item`): warpgroup 1 opens
      // warpgroup 0's first; warpgroup 0 takes the one warpgroup 1 leaves after the last item.
      const int group = threadIdx.x / 128 - 1;
      if (group == 1) named_barrier_arrive(3, 256);
      for (;;) {
        const int slot = ring.uses % STAGES;  // the next item's first tile (waited on again inside)
        mbarrier_wait(full_barrier(slot), ring.uses / STAGES & 1);
        const int work = *(volatile int*)&slot_item[slot];
        if (work < 0) break;
        prefill_wgmma_item<T, KV, HEAD_DIM, PAGE_SIZE, LAYOUT, Variant, KEYS, STAGES, CONSUMER_ROLE, SPLIT_KV, TMA, BOUNDED>(p, work, ring);
      }
      if (group == 0) named_barrier_sync(3, 256);
    }
  }
}

}  // namespace pal
