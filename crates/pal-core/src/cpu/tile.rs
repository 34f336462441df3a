//! Gathers tiles of keys and values, whatever their layout and dtype, into dense float32
//! `[tokens, head_dim]` rows that the attention loops read.

use super::simd;
use crate::dtype::FloatElement;
use crate::layout::{CacheGeometry, CacheLayout};

/// Something that can produce rows `start..start + n` of keys and values of one KV head.
pub(crate) trait KvSource {
    /// Fills `keys` and `values` (`n * head_dim` each); `scratch` is reusable working memory.
    fn load(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32], scratch: &mut Vec<f32>);
}

/// One sequence's tokens in the paged pools.
pub(crate) struct PagedKv<'a, T> {
    pub k_pool: &'a [T],
    pub v_pool: &'a [T],
    pub geometry: CacheGeometry,
    /// The sequence's row of the page table (validated page ids for every token loaded).
    pub pages: &'a [i32],
}

impl<T: FloatElement> KvSource for PagedKv<'_, T> {
    fn load(&self, kv_head: usize, start: usize, keys: &mut [f32], values: &mut [f32], scratch: &mut Vec<f32>) {
        let g = &self.geometry;
        let (d, page_size) = (g.head_dim, g.page_size);
        self.for_each_page(start, keys.len() / d, |page, first_slot, count, token| {
            let rows = (token - start) * d..(token - start + count) * d;
            let (k_rows, v_rows) = (&mut keys[rows.clone()], &mut values[rows]);
            match g.layout {
                // Rows of one page and head are contiguous.
                CacheLayout::Hnd => {
                    let base = g.k_offset(page, kv_head, first_slot, 0);
                    T::convert_to_f32(&self.k_pool[base..][..count * d], k_rows);
                    T::convert_to_f32(&self.v_pool[base..][..count * d], v_rows);
                }
                // Rows are contiguous, one page slot apart.
                CacheLayout::Nhd => {
                    for i in 0..count {
                        let base = g.k_offset(page, kv_head, first_slot + i, 0);
                        T::convert_to_f32(&self.k_pool[base..][..d], &mut k_rows[i * d..][..d]);
                        T::convert_to_f32(&self.v_pool[base..][..d], &mut v_rows[i * d..][..d]);
                    }
                }
                // A page of one head is one contiguous block, transposed: convert it whole,
                // then gather the rows.
                CacheLayout::Pal => {
                    let block = d * page_size;
                    // A sequential copy streams from memory far better than strided gathers.
                    scratch.resize(block, 0.0);
                    T::convert_to_f32(&self.k_pool[g.k_offset(page, kv_head, 0, 0)..][..block], scratch);
                    let keys = scratch.as_slice();
                    match g.k_row_runs().len {
                        4 => gather_stripes::<4>(keys, page_size, first_slot, k_rows),
                        8 => gather_stripes::<8>(keys, page_size, first_slot, k_rows),
                        other => unreachable!("16-byte stripes hold 4 or 8 elements, not {other}"),
                    }
                    T::convert_to_f32(&self.v_pool[g.v_offset(page, kv_head, 0, 0)..][..block], scratch);
                    simd::transpose_columns(scratch, d, page_size, first_slot, v_rows);
                }
            }
        });
    }
}

impl<T> PagedKv<'_, T> {
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
    assert!(d % X == 0 && first_slot + count <= page_size && rows.len() == count * d);
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

/// Dense `[tokens, num_kv_heads, head_dim]` keys and values (a prefill's prompt), from `first_row`.
pub(crate) struct DenseKv<'a, T> {
    pub keys: &'a [T],
    pub values: &'a [T],
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub first_row: usize,
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
}
