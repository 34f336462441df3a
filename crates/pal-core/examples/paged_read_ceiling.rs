//! How fast this machine can read a paged KV cache at all: sums 256 MiB of float32 read as
//! blocks of a given size in random order, on all cores, with 1 to 8 blocks streamed at once
//! per core. A decode over pages of `page_size` tokens of one head (`page_size * head_dim * 4`
//! bytes per block in the `pal` and `hnd` layouts) cannot read faster than the matching row.
//!
//! Run with `cargo run --release -p pal-core --example paged_read_ceiling`.

use rayon::prelude::*;
use std::time::Instant;

/// Best-of-five read rate in GB/s of `data` as `block` floats at a time, `ways` blocks at once.
fn read_rate(data: &[f32], block: usize, ways: usize) -> f64 {
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
            .par_chunks(64)
            .map(|chunk| {
                let mut lanes = [0f32; 8];
                for group in chunk.chunks(ways) {
                    for offset in (0..block).step_by(8) {
                        for &b in group {
                            let row = &data[b * block + offset..][..8];
                            for (lane, value) in lanes.iter_mut().zip(row) {
                                *lane += value;
                            }
                        }
                    }
                }
                lanes.iter().sum::<f32>()
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
        "random-order block reads of 256 MiB, {} threads, GB/s",
        rayon::current_num_threads()
    );
    println!(
        "{:>12} {:>8} {:>8} {:>8} {:>8}",
        "block", "1 way", "2 ways", "4 ways", "8 ways"
    );
    for block_bytes in [4096usize, 8192, 16384, 65536, 1 << 20] {
        let rates: Vec<String> = [1, 2, 4, 8]
            .iter()
            .map(|&w| format!("{:8.1}", read_rate(&data, block_bytes / 4, w)))
            .collect();
        println!("{:>10} B {}", block_bytes, rates.join(" "));
    }
}
