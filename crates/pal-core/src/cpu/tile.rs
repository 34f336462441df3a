//! Gathers tiles of keys and values, whatever their layout and dtype, into dense float32
//! `[tokens, head_dim]` rows that the attention loops read.

use super::simd;
use crate::dtype::FloatElement;
use crate::layout::{CacheGeometry, CacheLayout};

/// Tokens per tile: a tile of keys and values (float32) stays within L1/L2.
pub(crate) const TILE: usize = 32;

/// Something that can produce rows `start..start + n` of keys and values of one KV head.
pub(crate) trait KvSource {
    /// Fills `keys` and `values` (`n * head_dim` each); `scratch` is reusable working memory.
    fn load(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32], scratch: &mut Vec<f32>);
    /// Sequence position of row 0; the rows are consecutive positions from there.
    fn first_position(&self) -> usize;
}

/// Elements converted from one stream before switching to the other (four cache lines of f32).
const STREAM_CHUNK: usize = 64;

/// One sequence's tokens in the paged pools of element type `K` (the KV dtype: the queries', or
/// fp8 with a scale per KV head applied after the conversion).
pub(crate) struct PagedKv<'a, K> {
    pub k_pool: &'a [K],
    pub v_pool: &'a [K],
    pub geometry: CacheGeometry,
    /// The sequence's row of the page table (validated page ids for every token loaded).
    pub pages: &'a [i32],
    /// Dequantisation scales of each KV head, keys then values (1 unless the pools are fp8).
    pub scales: (&'a [f32], &'a [f32]),
}

impl<K: FloatElement> KvSource for PagedKv<'_, K> {
    fn load(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32], scratch: &mut Vec<f32>) {
        if self.geometry.layout == CacheLayout::Pal {
            self.load_pal(kv_head, start, keys, values, scratch);
        } else {
            self.load_rows(kv_head, start, keys, values);
        }
        for (rows, scale) in [(keys, self.scales.0[kv_head]), (values, self.scales.1[kv_head])] {
            if scale != 1.0 {
                rows.iter_mut().for_each(|x| *x *= scale);
            }
        }
    }

    fn first_position(&self) -> usize {
        0
    }
}

impl<K: FloatElement> PagedKv<'_, K> {
    /// nhd / hnd: token rows are contiguous.
    fn load_rows(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32]) {
        let g = &self.geometry;
        let d = g.head_dim;
        if g.layout == CacheLayout::Hnd {
            // Each page's rows of one head are one block.
            let mut blocks = [Block::default(); TILE + 1];
            let mut pages = 0;
            self.for_each_page(start, keys.len() / d, |page, first_slot, count, token| {
                let k_start = g.k_offset(page, kv_head, first_slot, 0);
                blocks[pages] = Block {
                    k_start,
                    v_start: k_start,
                    dst: (token - start) * d,
                    len: count * d,
                };
                pages += 1;
            });
            self.convert_side_by_side(&blocks[..pages], keys, values);
            return;
        }
        self.for_each_page(start, keys.len() / d, |page, first_slot, count, token| {
            let rows = (token - start) * d..(token - start + count) * d;
            let (k_rows, v_rows) = (&mut keys[rows.clone()], &mut values[rows]);
            match g.layout {
                // Rows of one page and head are contiguous.
                CacheLayout::Hnd => {
                    let base = g.k_offset(page, kv_head, first_slot, 0);
                    K::convert_to_f32(&self.k_pool[base..][..count * d], k_rows);
                    K::convert_to_f32(&self.v_pool[base..][..count * d], v_rows);
                }
                // Rows are contiguous, one page slot apart.
                CacheLayout::Nhd => {
                    for i in 0..count {
                        let base = g.k_offset(page, kv_head, first_slot + i, 0);
                        K::convert_to_f32(&self.k_pool[base..][..d], &mut k_rows[i * d..][..d]);
                        K::convert_to_f32(&self.v_pool[base..][..d], &mut v_rows[i * d..][..d]);
                    }
                }
                CacheLayout::Pal => unreachable!("pal tiles are loaded page group by page group"),
            }
        });
    }

    /// The `pal` layout keeps a page of one head as one contiguous block, transposed. All blocks
    /// of the tile (keys and values of each page) are converted to float32 side by side, then
    /// the rows are gathered from them.
    fn load_pal(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32], scratch: &mut Vec<f32>) {
        let g = &self.geometry;
        let (d, page_size) = (g.head_dim, g.page_size);
        let block = d * page_size;
        let n = keys.len() / d;
        let pages = (start + n).div_ceil(page_size) - start / page_size;
        scratch.resize(2 * pages * block, 0.0);
        let first_page = start / page_size;
        // Each page's key and value blocks, whole, looked up once per tile.
        let mut blocks = [Block::default(); TILE + 1];
        assert!(pages <= blocks.len(), "a tile holds at most {TILE} tokens");
        for (i, b) in blocks[..pages].iter_mut().enumerate() {
            let page = self.pages[first_page + i] as usize;
            let (k_start, v_start) = (g.k_offset(page, kv_head, 0, 0), g.v_offset(page, kv_head, 0, 0));
            *b = Block {
                k_start,
                v_start,
                dst: i * block,
                len: block,
            };
        }
        let (key_blocks, value_blocks) = scratch.split_at_mut(pages * block);
        self.convert_side_by_side(&blocks[..pages], key_blocks, value_blocks);
        self.for_each_page(start, n, |_, first_slot, count, token| {
            let i = token / page_size - first_page;
            let rows = (token - start) * d..(token - start + count) * d;
            let (key_block, value_block) = (&key_blocks[i * block..][..block], &value_blocks[i * block..][..block]);
            match g.k_row_runs().len {
                4 => gather_stripes::<4>(key_block, page_size, first_slot, &mut keys[rows.clone()]),
                8 => gather_stripes::<8>(key_block, page_size, first_slot, &mut keys[rows.clone()]),
                16 => gather_stripes::<16>(key_block, page_size, first_slot, &mut keys[rows.clone()]),
                other => unreachable!("16-byte stripes hold 4, 8 or 16 elements, not {other}"),
            }
            simd::transpose_columns(value_block, d, page_size, first_slot, &mut values[rows]);
        });
    }

    /// Converts blocks of both pools side by side, a chunk of each in turn, so that their memory
    /// streams are in flight at once (a block at a time reads at one stream's rate).
    fn convert_side_by_side(&self, blocks: &[Block], keys: &mut [f32], values: &mut [f32]) {
        let longest = blocks.iter().map(|b| b.len).max().unwrap_or(0);
        for offset in (0..longest).step_by(STREAM_CHUNK) {
            for b in blocks.iter().filter(|b| offset < b.len) {
                let n = STREAM_CHUNK.min(b.len - offset);
                K::convert_to_f32(
                    &self.k_pool[b.k_start + offset..][..n],
                    &mut keys[b.dst + offset..][..n],
                );
                K::convert_to_f32(
                    &self.v_pool[b.v_start + offset..][..n],
                    &mut values[b.dst + offset..][..n],
                );
            }
        }
    }
}

/// `len` elements of the key and value pools, from `k_start` / `v_start`, bound for `dst` of
/// the keys' / values' destination (`PagedKv::convert_side_by_side`).
#[derive(Clone, Copy, Default)]
struct Block {
    k_start: usize,
    v_start: usize,
    dst: usize,
    len: usize,
}

impl<K> PagedKv<'_, K> {
    /// Calls `visit(page, first_slot, count, token)` for each page that rows `start..start + n`
    /// touch, `token` being the first row in that page.
    fn for_each_page(&self, start: usize, n: usize, mut visit: impl FnMut(usize, usize, usize, usize)) {
        let page_size = self.geometry.page_size;
        let mut token = start;
        while token < start + n {
            let first_slot = token % page_size;
            let count = (page_size - first_slot).min(start + n - token);
            visit(self.pages[token / page_size] as usize, first_slot, count, token);
            token += count;
        }
    }
}

/// Turns a `pal` key page `[D / X][page_size][X]` into token rows `[n][D]`, from `first_slot`.
/// `X` is a constant so each stripe moves as one 16- or 32-byte copy.
fn gather_stripes<const X: usize>(block: &[f32], page_size: usize, first_slot: usize, rows: &mut [f32]) {
    let d = block.len() / page_size;
    let count = rows.len() / d;
    assert!(d.is_multiple_of(X) && first_slot + count <= page_size && rows.len() == count * d);
    let (src, dst) = (block.as_ptr(), rows.as_mut_ptr());
    for s in 0..d / X {
        for i in 0..count {
            // SAFETY: the asserts bound both indices: stripe s < D / X, slot < page_size, row i < count.
            unsafe {
                std::ptr::copy_nonoverlapping(src.add((s * page_size + first_slot + i) * X), dst.add(i * d + s * X), X)
            };
        }
    }
}

/// Dense `[tokens, num_kv_heads, head_dim]` keys and values (a prefill's prompt, in the
/// queries' element type), from `first_row`.
pub(crate) struct DenseKv<'a, T> {
    pub keys: &'a [T],
    pub values: &'a [T],
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub first_row: usize,
    /// Sequence position of the row at `first_row` (a prompt follows its sequence's history).
    pub first_position: usize,
}

impl<T: FloatElement> KvSource for DenseKv<'_, T> {
    fn load(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32], _scratch: &mut Vec<f32>) {
        let d = self.head_dim;
        for (i, (k_row, v_row)) in keys.chunks_exact_mut(d).zip(values.chunks_exact_mut(d)).enumerate() {
            let base = ((self.first_row + start + i) * self.num_kv_heads + kv_head) * d;
            T::convert_to_f32(&self.keys[base..][..d], k_row);
            T::convert_to_f32(&self.values[base..][..d], v_row);
        }
    }

    fn first_position(&self) -> usize {
        self.first_position
    }
}
