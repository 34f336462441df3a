//! How fast this machine can read a paged KV cache at all (`pal_core::read_ceiling`): sums 256
//! MiB of float32 read as blocks of a given size in random order, on all cores, with 1 to 8
//! blocks streamed at once per core, and with the blocks `ahead` groups on prefetched into L2
//! (as the CPU decode does). A decode whose items read a page of every KV head (`page_size *
//! num_kv_heads * head_dim` elements, one span of memory in every layout: 64 KiB in float32 at
//! the standard case, 32 KiB in bfloat16) cannot read faster than the best cell of the matching
//! row; the last column is that best. The benchmark lab measures it beside the decode.
//!
//! Run with `cargo run --release -p pal-core --example paged_read_ceiling`.

use pal_core::read_ceiling::{buffer, read_rate, CELLS};

fn main() {
    let data = buffer(256 << 20);
    println!(
        "random-order block reads of 256 MiB, {} threads, GB/s (ways x groups prefetched ahead)",
        rayon::current_num_threads()
    );
    let header: Vec<String> = CELLS.iter().map(|(w, a)| format!("{w}x{a}")).collect();
    println!("{:>12} {:>7} {:>7}", "block", header.join("     "), "best");
    for block_bytes in [4096usize, 8192, 16384, 32768, 65536, 1 << 20] {
        let rates: Vec<f64> = CELLS
            .iter()
            .map(|&(w, a)| read_rate(&data, block_bytes / 4, w, a))
            .collect();
        let best = rates.iter().copied().fold(0.0, f64::max);
        let cells: Vec<String> = rates.iter().map(|r| format!("{r:7.1}")).collect();
        println!("{:>10} B {} {:7.1}", block_bytes, cells.join(" "), best);
    }
}
