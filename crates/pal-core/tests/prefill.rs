//! paged_attention_prefill on the CPU against the float64 reference: causal prompts over paged
//! history, ragged and equal-length.

mod common;

use common::*;
use pal_core::{
    paged_attention_prefill, AttentionOptions, CacheLayout, DType, FloatElement, PrefillInputs, TensorView,
    TensorViewMut,
};
use proptest::prelude::*;

struct Prefill {
    num_q_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    page_size: usize,
    history: Vec<usize>,
    prompts: Vec<usize>,
    layout: CacheLayout,
    ragged: bool,
}

fn run<T: FloatElement>(spec: &Prefill, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = TestRng::new(seed);
    let case = PagedCase::<T>::new(
        &mut rng,
        spec.layout,
        spec.num_kv_heads,
        spec.head_dim,
        spec.page_size,
        &spec.history,
    );
    let (hq, hkv, d) = (spec.num_q_heads, spec.num_kv_heads, spec.head_dim);
    let total: usize = spec.prompts.iter().sum();
    let (q, q64) = random_values::<T>(&mut rng, total * hq * d);
    let (k, k64) = random_values::<T>(&mut rng, total * hkv * d);
    let (v, v64) = random_values::<T>(&mut rng, total * hkv * d);
    let mut cu = vec![0i32];
    for &p in &spec.prompts {
        cu.push(cu.last().unwrap() + p as i32);
    }
    let batch = spec.history.len();
    let mut out = vec![T::from_f32(f32::NAN); q.len()];
    let inputs = PrefillInputs {
        q: TensorView::from_slice(&q, &[total, hq, d]).unwrap(),
        k: TensorView::from_slice(&k, &[total, hkv, d]).unwrap(),
        v: TensorView::from_slice(&v, &[total, hkv, d]).unwrap(),
        k_cache: TensorView::from_slice(&case.k_pool, &case.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&case.v_pool, &case.v_shape).unwrap(),
        page_table: TensorView::from_slice(&case.page_table, &[batch, case.pages_per_sequence]).unwrap(),
        context_lens: TensorView::from_slice(&case.lens, &[batch]).unwrap(),
        cu_seqlens_q: spec.ragged.then(|| TensorView::from_slice(&cu, &[batch + 1]).unwrap()),
        alibi_slopes: None,
        sinks: None,
        kv_scales: Default::default(),
    };
    let options = AttentionOptions {
        scale: None,
        layout: spec.layout,
        ..Default::default()
    };
    paged_attention_prefill(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &[total, hq, d]).unwrap(),
        &options,
    )
    .unwrap();

    let mut expected = Vec::new();
    for (b, (&history, &prompt)) in spec.history.iter().zip(&spec.prompts).enumerate() {
        let rows = cu[b] as usize * hkv * d..cu[b + 1] as usize * hkv * d;
        let keys: Vec<f64> = case.keys[b].iter().chain(&k64[rows.clone()]).copied().collect();
        let values: Vec<f64> = case.values[b].iter().chain(&v64[rows]).copied().collect();
        let visible: Vec<usize> = (0..prompt).map(|i| history + i + 1).collect();
        let queries = &q64[cu[b] as usize * hq * d..cu[b + 1] as usize * hq * d];
        expected.extend(reference_attention(
            queries,
            &visible,
            &keys,
            &values,
            hq,
            hkv,
            d,
            1.0 / (d as f64).sqrt(),
        ));
    }
    (to_f64(&out), expected)
}

fn check(spec: &Prefill, dtype: DType, seed: u64) {
    let (actual, expected) = for_dtype!(dtype, T => run::<T>(spec, seed));
    let what = format!(
        "prefill {} {dtype} D={} page={} history={:?} prompts={:?}",
        spec.layout, spec.head_dim, spec.page_size, spec.history, spec.prompts
    );
    assert_close(dtype, &actual, &expected, &what);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn ragged_matches_reference(
        layout in prop::sample::select(CacheLayout::ALL.to_vec()),
        dtype in prop::sample::select(FLOAT_DTYPES.to_vec()),
        num_kv_heads in prop::sample::select(vec![1usize, 2]),
        group in prop::sample::select(vec![1usize, 2, 4]),
        head_dim in prop::sample::select(vec![32usize, 64, 128, 256]),
        page_size in 1usize..=32,
        seqs in prop::collection::vec((0usize..200, 0usize..70), 1..4),
        seed in any::<u64>(),
    ) {
        let (history, prompts) = seqs.into_iter().unzip();
        let spec = Prefill { num_q_heads: num_kv_heads * group, num_kv_heads, head_dim, page_size, history, prompts, layout, ragged: true };
        check(&spec, dtype, seed);
    }
}

#[test]
fn equal_length_prompts_without_cu_seqlens() {
    let spec = Prefill {
        num_q_heads: 4,
        num_kv_heads: 2,
        head_dim: 64,
        page_size: 16,
        history: vec![0, 33, 16],
        prompts: vec![17, 17, 17],
        layout: CacheLayout::Pal,
        ragged: false,
    };
    check(&spec, DType::F16, 1);
}

#[test]
fn prompt_lengths_around_tiles_and_pages() {
    let spec = Prefill {
        num_q_heads: 8,
        num_kv_heads: 2,
        head_dim: 128,
        page_size: 16,
        history: vec![0, 1, 16, 17, 0, 300],
        prompts: vec![1, 15, 16, 17, 0, 129],
        layout: CacheLayout::Nhd,
        ragged: true,
    };
    for dtype in FLOAT_DTYPES {
        check(&spec, dtype, 5);
    }
}

#[test]
fn long_prompt_over_long_history() {
    let spec = Prefill {
        num_q_heads: 4,
        num_kv_heads: 1,
        head_dim: 64,
        page_size: 32,
        history: vec![4096],
        prompts: vec![600],
        layout: CacheLayout::Hnd,
        ragged: true,
    };
    check(&spec, DType::BF16, 9);
}

#[test]
fn bitwise_deterministic_across_thread_counts() {
    let spec = Prefill {
        num_q_heads: 8,
        num_kv_heads: 2,
        head_dim: 64,
        page_size: 8,
        history: vec![100, 7],
        prompts: vec![90, 45],
        layout: CacheLayout::Pal,
        ragged: true,
    };
    let results: Vec<Vec<f64>> = [1, 2, 3]
        .iter()
        .map(|&threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run::<f32>(&spec, 4).0)
        })
        .collect();
    for r in &results[1..] {
        assert!(r.iter().zip(&results[0]).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
