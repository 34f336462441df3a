//! A read-only model of the CPU decode's memory orders (no arithmetic): sums a bfloat16 `pal`
//! KV cache of the standard case (8 x 4096 tokens, 8 KV heads, head dim 128, page 16: 4 KiB a
//! head's block, 32 KiB a page of every head, pages in random order) in the orders a decode walk
//! might take, in work items of 32 pages on all cores, and prints GB/s for each:
//! - `head, cross`: head by head, the key pass prefetching the head's value blocks and the value
//!   pass (dims-major: 128 bytes of every page in turn) the next head's key blocks;
//! - `head, own`: head by head, each pass prefetching its own blocks a little ahead (keys two
//!   pages, values 512 bytes): the order of `cpu/fused.rs`'s AVX-512 `pal` spans;
//! - `2 heads` / `4 heads`: as `head, own`, with that many heads' blocks read in step;
//! - `pages, 4 ways`: whole pages, four at a time in step (the paged-read ceiling's kind of cell).
//!
//! On a 2-core AMD Zen 4 VM (2026-12-05, four runs) these read at 20-22 / 23-24 / 28-29 / 32-33
//! / 36-39 GB/s. Run with `cargo run --release -p pal-core --example cpu_read_orders`.

use std::time::Instant;

use pal_core::read_ceiling::shuffled;
use rayon::prelude::*;

const HEADS: usize = 8;
/// A head's block of a page, and a page of every head, in bytes.
const BLOCK: usize = 4096;
const PAGE: usize = HEADS * BLOCK;
/// Pages of a work item.
const ITEM: usize = 32;
/// Bytes of a block a value pass reads per page in turn (4 dims of 16 bfloat16 tokens).
const SLICE: usize = 128;

/// Adds the `bytes` at `at` (a multiple of 64) into `sums`.
fn sum(pool: &[u64], at: usize, bytes: usize, sums: &mut [u64; 8]) {
    for row in pool[at / 8..(at + bytes) / 8].chunks_exact(8) {
        for (s, &w) in sums.iter_mut().zip(row) {
            *s = s.wrapping_add(w);
        }
    }
}

/// Prefetches the lines of `bytes` at `at` into L2 (the decode's hint).
fn prefetch(pool: &[u64], at: usize, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in pool[at / 8..(at + bytes) / 8].chunks(8) {
        // SAFETY: a prefetch of a valid address has no effect on memory.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (pool, at, bytes);
}

/// One item's pages (`pages`, byte offsets of each page in both pools) read head by head, `step`
/// heads in step; `cross` takes the former prefetches.
fn by_heads(k: &[u64], v: &[u64], pages: &[usize], step: usize, cross: bool, sums: &mut [u64; 8]) {
    let n = pages.len();
    for h0 in (0..HEADS).step_by(step) {
        let block = |p: usize, x: usize| pages[p] + (h0 + x) * BLOCK;
        if !cross {
            for p in 0..2.min(n) {
                prefetch(k, block(p, 0), step * BLOCK);
            }
        }
        for p in 0..n {
            for o in (0..BLOCK).step_by(256) {
                if cross {
                    prefetch(v, block(p, 0) + o, 256);
                } else if p + 2 < n {
                    for x in 0..step {
                        prefetch(k, block(p + 2, x) + o, 256);
                    }
                }
                for x in 0..step {
                    sum(k, block(p, x) + o, 256, sums);
                }
            }
        }
        if !cross {
            for p in 0..n {
                for x in 0..step {
                    prefetch(v, block(p, x), 512);
                }
            }
        }
        for j in (0..BLOCK).step_by(SLICE) {
            for p in 0..n {
                if cross && h0 + 1 < HEADS {
                    prefetch(k, block(p, 1) + j, SLICE);
                } else if !cross && j + 512 < BLOCK {
                    for x in 0..step {
                        prefetch(v, block(p, x) + j + 512, SLICE);
                    }
                }
                for x in 0..step {
                    sum(v, block(p, x) + j, SLICE, sums);
                }
            }
        }
    }
}

/// One item's pages read whole, `ways` at a time in step, 128 bytes of each in turn.
fn by_pages(k: &[u64], v: &[u64], pages: &[usize], ways: usize, sums: &mut [u64; 8]) {
    for group in pages.chunks(ways) {
        for o in (0..PAGE).step_by(128) {
            for &page in group {
                sum(k, page + o, 128, sums);
                sum(v, page + o, 128, sums);
            }
        }
    }
}

fn main() {
    let num_pages = 8 * 4096 / 16;
    let k: Vec<u64> = (0..num_pages * PAGE / 8).map(|i| i as u64).collect();
    let v: Vec<u64> = (0..num_pages * PAGE / 8).map(|i| (i as u64).wrapping_mul(7)).collect();
    // Pages in a fixed random order, as byte offsets.
    let offsets: Vec<usize> = shuffled(num_pages).iter().map(|&p| p * PAGE).collect();
    println!(
        "read-only orders over a bfloat16 pal cache of 8 x 4096 tokens, {} threads, GB/s (best of 5)",
        rayon::current_num_threads()
    );
    type Walk = fn(&[u64], &[u64], &[usize], &mut [u64; 8]);
    let walks: [(&str, Walk); 5] = [
        ("head, cross", |k, v, p, s| by_heads(k, v, p, 1, true, s)),
        ("head, own", |k, v, p, s| by_heads(k, v, p, 1, false, s)),
        ("2 heads", |k, v, p, s| by_heads(k, v, p, 2, false, s)),
        ("4 heads", |k, v, p, s| by_heads(k, v, p, 4, false, s)),
        ("pages, 4 ways", |k, v, p, s| by_pages(k, v, p, 4, s)),
    ];
    for (name, walk) in walks {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let total = offsets
                .par_chunks(ITEM)
                .map(|pages| {
                    let mut sums = [0u64; 8];
                    walk(&k, &v, pages, &mut sums);
                    sums.iter().fold(0, |a, b| a ^ b)
                })
                .reduce(|| 0, |a, b| a ^ b);
            std::hint::black_box(total);
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{name:>14}: {:5.1}", (2 * num_pages * PAGE) as f64 / best / 1e9);
    }
}
