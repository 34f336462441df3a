//! Median latency of one CPU decode call (bfloat16 `pal`, 1 sequence of 16-1024 tokens, 32 query
//! heads over 8 KV heads, head dim 128, page 16) made after `IDLE_US` microseconds of sleep
//! (default 3000: the thread pool asleep, as between an engine's steps). What `SERIAL_BYTES` in
//! `cpu/mod.rs` was checked with.
//!
//! Run with `cargo run --release -p pal-core --example cpu_call_latency`.

use half::bf16;
use pal_core::{
    k_cache_shape, paged_attention_decode, v_cache_shape, AttentionOptions, CacheLayout, DType, DecodeInputs,
    TensorView, TensorViewMut,
};
use std::time::{Duration, Instant};

fn main() -> pal_core::Result<()> {
    let (hq, hkv, d, ps) = (32, 8, 128, 16);
    let idle: u64 = std::env::var("IDLE_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for context in [16usize, 64, 256, 512, 1024] {
        let pages = context / ps;
        let layout = CacheLayout::Pal;
        let ks = k_cache_shape(pages, hkv, d, ps, DType::BF16, layout)?;
        let vs = v_cache_shape(pages, hkv, d, ps, DType::BF16, layout)?;
        let k: Vec<bf16> = (0..ks.iter().product::<usize>())
            .map(|i| bf16::from_f32((i % 7) as f32 * 0.1))
            .collect();
        let v: Vec<bf16> = (0..vs.iter().product::<usize>())
            .map(|i| bf16::from_f32((i % 5) as f32 * 0.1))
            .collect();
        let table: Vec<i32> = (0..pages as i32).rev().collect();
        let lens = vec![context as i32];
        let q: Vec<bf16> = (0..hq * d).map(|i| bf16::from_f32((i % 3) as f32 * 0.1)).collect();
        let mut out = vec![bf16::ZERO; q.len()];
        let mut times = Vec::new();
        for _ in 0..60 {
            std::thread::sleep(Duration::from_micros(idle));
            let start = Instant::now();
            paged_attention_decode(
                &DecodeInputs {
                    queries: TensorView::from_slice(&q, &[1, hq, d])?,
                    k_cache: TensorView::from_slice(&k, &ks)?,
                    v_cache: TensorView::from_slice(&v, &vs)?,
                    page_table: TensorView::from_slice(&table, &[1, pages])?,
                    seq_lens: TensorView::from_slice(&lens, &[1])?,
                    alibi_slopes: None,
                    sinks: None,
                    kv_scales: Default::default(),
                },
                &mut TensorViewMut::from_slice(&mut out, &[1, hq, d])?,
                &AttentionOptions {
                    layout,
                    ..Default::default()
                },
            )?;
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        print!("ctx {context}: {:.0} us  ", times[times.len() / 2]);
    }
    println!();
    Ok(())
}
