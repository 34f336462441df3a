//! Times the CPU decode on the standard case (8 sequences x 4096 tokens, 32 query heads over 8
//! KV heads, head dim 128, page size 16, pages in random order; `PAL_BATCH`, `PAL_CONTEXT`,
//! `PAL_Q_HEADS` and `PAL_KV_HEADS` change it) and prints the rate at which it reads the keys
//! and values, per layout and dtype (best of several calls), beside the rate of a pass that only
//! reads the same pools in the same page order (whole pages, two pages ahead prefetched, on all
//! cores), timed in turn with the decode so that both see the same machine, and beside the
//! paged-read ceiling of the case's page bytes (`pal_core::read_ceiling`'s best cell, taken
//! right after the decode): SPEC §7's ceiling. The read pass runs at about half that ceiling on
//! a 2-core AMD EPYC VM (2026-12-04), so its ratio overstates the decode; the last is the one.
//!
//! Run with `cargo run --release -p pal-core --example cpu_decode_rate`.

use std::time::Instant;

use rayon::prelude::*;

use half::{bf16, f16};
use pal_core::{
    k_cache_shape, paged_attention_decode, read_ceiling, v_cache_shape, AttentionOptions, CacheLayout, DType,
    DecodeInputs, FloatElement, TensorView, TensorViewMut,
};

const HEAD_DIM: usize = 128;
const PAGE_SIZE: usize = 16;
const RUNS: usize = 10;

fn var(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sequences and context length: 8 x 4096, or `PAL_BATCH` / `PAL_CONTEXT` (e.g. a working set
/// that stays in L3, to see the arithmetic's own rate).
fn shape() -> (usize, usize) {
    (var("PAL_BATCH", 8), var("PAL_CONTEXT", 4096))
}

/// Query and KV heads: 32 over 8, or `PAL_Q_HEADS` / `PAL_KV_HEADS` (MHA, other groups).
fn heads() -> (usize, usize) {
    (var("PAL_Q_HEADS", 32), var("PAL_KV_HEADS", 8))
}

/// A deterministic pseudo-random sequence (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn uniform(&mut self) -> f32 {
        (self.next() % 2001) as f32 / 1000.0 - 1.0
    }
}

/// Best-of-`RUNS` rates in GB/s of K and V bytes read: the decode's, the read pass's, and the
/// paged-read ceiling for the case's pages.
fn rate<T: FloatElement + Copy>(
    dtype: DType,
    layout: CacheLayout,
    from_f32: impl Fn(f32) -> T,
) -> pal_core::Result<(f64, f64, f64)> {
    let (batch, context) = shape();
    let (q_heads, kv_heads) = heads();
    let pages_per_sequence = context / PAGE_SIZE;
    let num_pages = batch * pages_per_sequence;
    let mut rng = Lcg(0x9E37_79B9_7F4A_7C15);
    let k_shape = k_cache_shape(num_pages, kv_heads, HEAD_DIM, PAGE_SIZE, dtype, layout)?;
    let v_shape = v_cache_shape(num_pages, kv_heads, HEAD_DIM, PAGE_SIZE, dtype, layout)?;
    let k_pool: Vec<T> = (0..k_shape.iter().product()).map(|_| from_f32(rng.uniform())).collect();
    let v_pool: Vec<T> = (0..v_shape.iter().product()).map(|_| from_f32(rng.uniform())).collect();
    let mut page_table: Vec<i32> = (0..num_pages as i32).collect();
    for i in (1..num_pages).rev() {
        page_table.swap(i, rng.next() as usize % (i + 1));
    }
    let seq_lens = vec![context as i32; batch];
    let q_shape = [batch, q_heads, HEAD_DIM];
    let queries: Vec<T> = (0..q_shape.iter().product()).map(|_| from_f32(rng.uniform())).collect();
    let mut out = vec![from_f32(0.0); queries.len()];
    let table_shape = [batch, pages_per_sequence];
    let page_bytes = k_pool.len() / num_pages * std::mem::size_of::<T>();
    let (mut best, mut best_read) = (f64::MAX, f64::MAX);
    for _ in 0..RUNS {
        let start = Instant::now();
        std::hint::black_box(read_pages(&k_pool, &v_pool, &page_table, page_bytes));
        best_read = best_read.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        paged_attention_decode(
            &DecodeInputs {
                queries: TensorView::from_slice(&queries, &q_shape)?,
                k_cache: TensorView::from_slice(&k_pool, &k_shape)?,
                v_cache: TensorView::from_slice(&v_pool, &v_shape)?,
                page_table: TensorView::from_slice(&page_table, &table_shape)?,
                seq_lens: TensorView::from_slice(&seq_lens, &[batch])?,
                alibi_slopes: None,
                sinks: None,
                kv_scales: Default::default(),
            },
            &mut TensorViewMut::from_slice(&mut out, &q_shape)?,
            &AttentionOptions {
                layout,
                ..Default::default()
            },
        )?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    std::hint::black_box(&out);
    let ceiling = read_ceiling::paged_read_ceiling(&read_ceiling::buffer(256 << 20), page_bytes.max(128) / 128 * 128);
    let bytes = (2 * batch * context * kv_heads * HEAD_DIM * std::mem::size_of::<T>()) as f64;
    Ok((bytes / best / 1e9, bytes / best_read / 1e9, ceiling))
}

/// Reads both pools' pages in table order, 32 pages a task, each page whole with the page two on
/// prefetched into L2; returns a checksum so that nothing is optimised away.
fn read_pages<T>(k_pool: &[T], v_pool: &[T], page_table: &[i32], page_bytes: usize) -> u64 {
    // SAFETY: the pools are plain numbers; any byte pattern is a valid u64.
    let words = |pool: &[T]| unsafe {
        std::slice::from_raw_parts(pool.as_ptr().cast::<u64>(), std::mem::size_of_val(pool) / 8)
    };
    let (k, v) = (words(k_pool), words(v_pool));
    let page_words = page_bytes / 8;
    page_table
        .par_chunks(32)
        .map(|pages| {
            let mut sums = [0u64; 8];
            for (i, &page) in pages.iter().enumerate() {
                #[cfg(target_arch = "x86_64")]
                if let Some(&ahead) = pages.get(i + 2) {
                    for pool in [k, v] {
                        for line in pool[ahead as usize * page_words..][..page_words].chunks(8) {
                            // SAFETY: a prefetch has no effect on memory.
                            unsafe {
                                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(
                                    line.as_ptr().cast(),
                                )
                            };
                        }
                    }
                }
                for pool in [k, v] {
                    for row in pool[page as usize * page_words..][..page_words].chunks_exact(8) {
                        for (s, &w) in sums.iter_mut().zip(row) {
                            *s = s.wrapping_add(w);
                        }
                    }
                }
            }
            sums.iter().fold(0, |a, &b| a ^ b)
        })
        .reduce(|| 0, |a, b| a ^ b)
}

fn main() -> pal_core::Result<()> {
    let (batch, context) = shape();
    let (q_heads, kv_heads) = heads();
    println!(
        "CPU decode, {batch} x {context}, HQ {q_heads}, HKV {kv_heads}, D {HEAD_DIM}, page {PAGE_SIZE}, \
         random page order, {} threads: GB/s of K and V read (best of {RUNS}), decode / read pass \
         (ratio) / paged-read ceiling (ratio)",
        rayon::current_num_threads()
    );
    println!("{:>10} {:>34} {:>34} {:>34}", "dtype", "pal", "nhd", "hnd");
    // An optional argument picks one layout (`pal`, `nhd` or `hnd`), e.g. for a profiler.
    let only = std::env::args().nth(1);
    let cell = |r: Option<(f64, f64, f64)>| {
        r.map_or("-".to_string(), |(decode, read, ceiling)| {
            format!(
                "{decode:.1} / {read:.1} ({:.0}%) / {ceiling:.1} ({:.0}%)",
                100.0 * decode / read,
                100.0 * decode / ceiling
            )
        })
    };
    for (name, dtype) in [
        ("float32", DType::F32),
        ("bfloat16", DType::BF16),
        ("float16", DType::F16),
    ] {
        let mut row = Vec::new();
        for (layout_name, layout) in [
            ("pal", CacheLayout::Pal),
            ("nhd", CacheLayout::Nhd),
            ("hnd", CacheLayout::Hnd),
        ] {
            let wanted = only.as_deref().is_none_or(|o| o == layout_name);
            row.push(match (wanted, dtype) {
                (false, _) => None,
                (true, DType::F32) => Some(rate(dtype, layout, |x| x)?),
                (true, DType::F16) => Some(rate(dtype, layout, f16::from_f32)?),
                (true, _) => Some(rate(dtype, layout, bf16::from_f32)?),
            });
        }
        println!(
            "{name:>10} {:>34} {:>34} {:>34}",
            cell(row[0]),
            cell(row[1]),
            cell(row[2])
        );
    }
    Ok(())
}
