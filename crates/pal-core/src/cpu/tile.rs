//! Gathers tiles of keys and values, whatever their layout and dtype, into dense float32
//! `[tokens, head_dim]` rows that the attention loops read.

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
        let n = keys.len() / d;
        let mut token = start;
        while token < start + n {
            let page = self.pages[token / page_size] as usize;
            let first_slot = token % page_size;
            let count = (page_size - first_slot).min(start + n - token);
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
                    scratch.resize(block, 0.0);
                    let stripe = g.k_row_runs().len;
                    T::convert_to_f32(&self.k_pool[g.k_offset(page, kv_head, 0, 0)..][..block], scratch);
                    for i in 0..count {
                        let slot = first_slot + i;
                        for (s, dst) in k_rows[i * d..][..d].chunks_exact_mut(stripe).enumerate() {
                            dst.copy_from_slice(&scratch[(s * page_size + slot) * stripe..][..stripe]);
                        }
                    }
                    T::convert_to_f32(&self.v_pool[g.v_offset(page, kv_head, 0, 0)..][..block], scratch);
                    for i in 0..count {
                        let slot = first_slot + i;
                        for (dim, dst) in v_rows[i * d..][..d].iter_mut().enumerate() {
                            *dst = scratch[dim * page_size + slot];
                        }
                    }
                }
            }
            token += count;
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
