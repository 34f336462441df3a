//! How fast this machine can read a paged KV cache at all: sums 256 MiB of float32 read as
//! blocks of a given size in random order, on all cores, with 1 to 8 blocks streamed at once
//! per core, and with the blocks `ahead` groups on prefetched into L2 (as the CPU decode does:
//! without it, a decode that prefetches read faster than this "ceiling"). A decode over pages of
//! `page_size` tokens of one head (`page_size * head_dim * 4` bytes per block in the `pal` and
//! `hnd` layouts, half that in bfloat16) cannot read faster than the best cell of the matching
//! row; the last column is that best.
//!
//! Run with `cargo run --release -p pal-core --example paged_read_ceiling`.

use rayon::prelude::*;
use std::time::Instant;

/// Prefetches the lines of `p` into L2 (the hint the CPU decode uses).
#[inline(always)]
fn prefetch(p: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in p.chunks(16) {
        // SAFETY: a prefetch of a valid address has no effect on memory.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Best-of-five read rate in GB/s of `data` as `block` floats at a time, `ways` blocks at once,
/// prefetching the group `ahead` groups on (0: none).
fn read_rate(data: &[f32], block: usize, ways: usize, ahead: usize) -> f64 {
    let blocks = data.len() / block;
    let mut order: Vec<usize> = (0..blocks).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..blocks).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let total: f32 = order
            .par_chunks(256)
            .map(|chunk| {
                // Four independent sums, so that the adds never limit the rate.
                let mut lanes = [[0f32; 8]; 4];
                let groups: Vec<&[usize]> = chunk.chunks(ways).collect();
                for (g, group) in groups.iter().enumerate() {
                    if ahead > 0 {
                        for &b in groups.get(g + ahead).copied().unwrap_or(&[]) {
                            prefetch(&data[b * block..][..block]);
                        }
                    }
                    for offset in (0..block).step_by(32) {
                        for &b in *group {
                            let row = &data[b * block + offset..][..32];
                            for (sum, part) in lanes.iter_mut().zip(row.chunks_exact(8)) {
                                for (lane, value) in sum.iter_mut().zip(part) {
                                    *lane += value;
                                }
                            }
                        }
                    }
                }
                lanes.iter().flatten().sum::<f32>()
            })
            .sum();
        std::hint::black_box(total);
        best = best.min(start.elapsed().as_secs_f64());
    }
    (blocks * block * 4) as f64 / best / 1e9
}

fn main() {
    let data: Vec<f32> = (0..64usize << 20).map(|i| (i % 13) as f32).collect();
    println!(
        "random-order block reads of 256 MiB, {} threads, GB/s (ways x groups prefetched ahead)",
        rayon::current_num_threads()
    );
    let cells = [(1, 0), (2, 0), (4, 0), (8, 0), (1, 2), (1, 4), (2, 2), (4, 1)];
    let header: Vec<String> = cells.iter().map(|(w, a)| format!("{w}x{a}")).collect();
    println!("{:>12} {:>7} {:>7}", "block", header.join("     "), "best");
    for block_bytes in [4096usize, 8192, 16384, 32768, 65536, 1 << 20] {
        let rates: Vec<f64> = cells
            .iter()
            .map(|&(w, a)| read_rate(&data, block_bytes / 4, w, a))
            .collect();
        let best = rates.iter().copied().fold(0.0, f64::max);
        let cells: Vec<String> = rates.iter().map(|r| format!("{r:7.1}")).collect();
        println!("{:>10} B {} {:7.1}", block_bytes, cells.join(" "), best);
    }
}
