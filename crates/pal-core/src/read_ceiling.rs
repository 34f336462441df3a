//! The host's paged-read ceiling (SPEC §7, CPU; a lab instrument): how fast all cores read a
//! buffer as blocks of a page's bytes in random order, with 1 to 8 blocks streamed at once per
//! core and the blocks `ahead` groups on prefetched into L2 (as the CPU decode does: without it,
//! a decode that prefetches would read faster than this "ceiling"). A decode over pages whose
//! bytes over every KV head are `block` (one span of memory in every layout) cannot read faster
//! than the best cell for that block. `examples/paged_read_ceiling.rs` prints the cells; the
//! benchmark lab measures the best beside the CPU decode in the same run.

use rayon::prelude::*;
use std::time::Instant;

/// The (ways, groups ahead) cells measured: streams at once, and prefetch distance (0: none).
pub const CELLS: [(usize, usize); 8] = [(1, 0), (2, 0), (4, 0), (8, 0), (1, 2), (1, 4), (2, 2), (4, 1)];

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

/// `0..n` in a fixed random order (a Fisher-Yates shuffle driven by a 64-bit LCG): the order the
/// lab's read models take their blocks in.
pub fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
}

/// Best-of-five read rate in GB/s of `data` as blocks of `block` floats in a fixed random order,
/// `ways` blocks at once, prefetching the group `ahead` groups on (0: none).
pub fn read_rate(data: &[f32], block: usize, ways: usize, ahead: usize) -> f64 {
    let order = shuffled(data.len() / block);
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
    (order.len() * block * 4) as f64 / best / 1e9
}

/// The best of [`CELLS`] for blocks of `block_bytes` (a multiple of 128) over `data`, in GB/s.
pub fn paged_read_ceiling(data: &[f32], block_bytes: usize) -> f64 {
    CELLS
        .iter()
        .map(|&(ways, ahead)| read_rate(data, block_bytes / 4, ways, ahead))
        .fold(0.0, f64::max)
}

/// A buffer of `bytes` (rounded down to whole floats) to read: 256 MiB is well past any
/// last-level cache.
pub fn buffer(bytes: usize) -> Vec<f32> {
    (0..bytes / 4).map(|i| (i % 13) as f32).collect()
}
