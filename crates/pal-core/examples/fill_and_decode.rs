//! Fills a paged bfloat16 KV cache for a batch of sequences, decodes one token per sequence and
//! checks the result against a direct softmax over the same keys and values.
//!
//! Run with `cargo run --release -p pal-core --example fill_and_decode`.

use half::bf16;
use pal_core::{
    fill_kv_pages, k_cache_shape, optimal_page_size, paged_attention_decode, v_cache_shape, AttentionOptions,
    CacheLayout, DType, DecodeInputs, FillInputs, FillOptions, KvDestination, TensorView, TensorViewMut,
};

fn main() -> pal_core::Result<()> {
    let (q_heads, kv_heads, head_dim, page_size) = (32, 8, 128, optimal_page_size());
    let seq_lens = [1000i32, 37, 4096];
    let layout = CacheLayout::Pal;
    let pages_per_sequence = 4096 / page_size;
    let num_pages = seq_lens.len() * pages_per_sequence;
    let k_shape = k_cache_shape(num_pages, kv_heads, head_dim, page_size, DType::BF16, layout)?;
    let v_shape = v_cache_shape(num_pages, kv_heads, head_dim, page_size, DType::BF16, layout)?;
    let mut k_pool = vec![bf16::ZERO; k_shape.iter().product()];
    let mut v_pool = vec![bf16::ZERO; v_shape.iter().product()];

    // Sequence b owns pages b, b + 3, b + 6, ...: interleaved, as a real allocator leaves them.
    let page_table: Vec<i32> = (0..seq_lens.len())
        .flat_map(|b| (0..pages_per_sequence).map(move |j| (j * seq_lens.len() + b) as i32))
        .collect();
    let (mut positions, mut token_to_seq) = (Vec::new(), Vec::new());
    for (b, &len) in seq_lens.iter().enumerate() {
        positions.extend(0..len);
        token_to_seq.extend(std::iter::repeat_n(b as i32, len as usize));
    }
    let tokens = positions.len();
    let value_of = |i: usize| bf16::from_f32(((i * 7919) % 1000) as f32 / 500.0 - 1.0);
    let keys: Vec<bf16> = (0..tokens * kv_heads * head_dim).map(value_of).collect();
    let values: Vec<bf16> = (0..tokens * kv_heads * head_dim).map(|i| value_of(i + 13)).collect();
    let table_shape = [seq_lens.len(), pages_per_sequence];
    fill_kv_pages(
        &FillInputs {
            new_keys: TensorView::from_slice(&keys, &[tokens, kv_heads, head_dim])?,
            new_values: TensorView::from_slice(&values, &[tokens, kv_heads, head_dim])?,
            destination: KvDestination::Positions {
                page_table: TensorView::from_slice(&page_table, &table_shape)?,
                positions: TensorView::from_slice(&positions, &[tokens])?,
                token_to_seq: TensorView::from_slice(&token_to_seq, &[tokens])?,
            },
            kv_scales: Default::default(),
        },
        &mut TensorViewMut::from_slice(&mut k_pool, &k_shape)?,
        &mut TensorViewMut::from_slice(&mut v_pool, &v_shape)?,
        &FillOptions {
            layout,
            ..Default::default()
        },
    )?;

    let q_shape = [seq_lens.len(), q_heads, head_dim];
    let queries: Vec<bf16> = (0..q_shape.iter().product()).map(|i| value_of(i + 101)).collect();
    let mut out = vec![bf16::ZERO; queries.len()];
    paged_attention_decode(
        &DecodeInputs {
            queries: TensorView::from_slice(&queries, &q_shape)?,
            k_cache: TensorView::from_slice(&k_pool, &k_shape)?,
            v_cache: TensorView::from_slice(&v_pool, &v_shape)?,
            page_table: TensorView::from_slice(&page_table, &table_shape)?,
            seq_lens: TensorView::from_slice(&seq_lens, &[seq_lens.len()])?,
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

    // Direct check of sequence 1, head 5 (KV head 1) in float64.
    let (b, h) = (1usize, 5usize);
    let kv_head = h / (q_heads / kv_heads);
    let first_token: usize = seq_lens[..b].iter().map(|&l| l as usize).sum();
    let row_start = |t: usize| ((first_token + t) * kv_heads + kv_head) * head_dim;
    let q = &queries[(b * q_heads + h) * head_dim..][..head_dim];
    let scores: Vec<f64> = (0..seq_lens[b] as usize)
        .map(|t| {
            q.iter()
                .zip(&keys[row_start(t)..][..head_dim])
                .map(|(a, k)| a.to_f64() * k.to_f64())
                .sum::<f64>()
                / (head_dim as f64).sqrt()
        })
        .collect();
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut worst = 0f64;
    for d in 0..head_dim {
        let expected: f64 = weights
            .iter()
            .enumerate()
            .map(|(t, w)| w / total * values[row_start(t) + d].to_f64())
            .sum();
        worst = worst.max((out[(b * q_heads + h) * head_dim + d].to_f64() - expected).abs());
    }
    println!(
        "decoded {} sequences ({tokens} cached tokens); max |error| vs float64 on one head: {worst:.2e}",
        seq_lens.len()
    );
    assert!(worst < 2e-2, "decode disagrees with the direct computation");
    Ok(())
}
