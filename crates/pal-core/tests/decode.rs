//! paged_attention_decode on the CPU against the float64 reference.

mod common;

use common::*;
use pal_core::{
    paged_attention_decode, AttentionOptions, CacheLayout, DType, DecodeInputs, FloatElement, TensorView, TensorViewMut,
};
use proptest::prelude::*;

struct Decode {
    num_q_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    page_size: usize,
    lens: Vec<usize>,
    layout: CacheLayout,
    scale: Option<f32>,
}

/// Runs PAL's decode and the reference on fresh random data; returns (pal, reference).
fn run<T: FloatElement>(spec: &Decode, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = TestRng::new(seed);
    let case = PagedCase::<T>::new(
        &mut rng,
        spec.layout,
        spec.num_kv_heads,
        spec.head_dim,
        spec.page_size,
        &spec.lens,
    );
    let batch = spec.lens.len();
    let q_shape = [batch, spec.num_q_heads, spec.head_dim];
    let (queries, queries_f64) = random_values::<T>(&mut rng, q_shape.iter().product());
    let mut out = vec![T::from_f32(f32::NAN); queries.len()];
    let inputs = DecodeInputs {
        queries: TensorView::from_slice(&queries, &q_shape).unwrap(),
        k_cache: TensorView::from_slice(&case.k_pool, &case.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&case.v_pool, &case.v_shape).unwrap(),
        page_table: TensorView::from_slice(&case.page_table, &[batch, case.pages_per_sequence]).unwrap(),
        seq_lens: TensorView::from_slice(&case.lens, &[batch]).unwrap(),
        alibi_slopes: None,
        sinks: None,
        kv_scales: Default::default(),
    };
    let options = AttentionOptions {
        scale: spec.scale,
        layout: spec.layout,
        ..Default::default()
    };
    paged_attention_decode(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &q_shape).unwrap(),
        &options,
    )
    .unwrap();

    let scale = spec.scale.map_or(1.0 / (spec.head_dim as f64).sqrt(), |s| s as f64);
    let row = spec.num_q_heads * spec.head_dim;
    let mut expected = Vec::new();
    for (b, &len) in spec.lens.iter().enumerate() {
        expected.extend(reference_attention(
            &queries_f64[b * row..][..row],
            &[len],
            &case.keys[b],
            &case.values[b],
            spec.num_q_heads,
            spec.num_kv_heads,
            spec.head_dim,
            scale,
        ));
    }
    (to_f64(&out), expected)
}

fn check(spec: &Decode, dtype: DType, seed: u64) {
    let (actual, expected) = for_dtype!(dtype, T => run::<T>(spec, seed));
    assert_close(
        dtype,
        &actual,
        &expected,
        &format!(
            "decode {} {dtype} D={} page={} lens={:?}",
            spec.layout, spec.head_dim, spec.page_size, spec.lens
        ),
    );
}

fn layouts() -> impl Strategy<Value = CacheLayout> {
    prop::sample::select(CacheLayout::ALL.to_vec())
}
fn dtypes() -> impl Strategy<Value = DType> {
    prop::sample::select(FLOAT_DTYPES.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference(
        layout in layouts(),
        dtype in dtypes(),
        num_kv_heads in prop::sample::select(vec![1usize, 2, 4]),
        group in prop::sample::select(vec![1usize, 2, 4, 8]),
        head_dim in prop::sample::select(vec![32usize, 64, 80, 96, 128, 256]),
        page_size in 1usize..=32,
        lens in prop::collection::vec(0usize..1100, 0..4),
        seed in any::<u64>(),
    ) {
        let spec = Decode { num_q_heads: num_kv_heads * group, num_kv_heads, head_dim, page_size, lens, layout, scale: None };
        check(&spec, dtype, seed);
    }
}

#[test]
fn long_contexts_split_and_merge() {
    for (len, dtype) in [(16384, DType::BF16), (4097, DType::F32), (513, DType::F16)] {
        let spec = Decode {
            num_q_heads: 8,
            num_kv_heads: 2,
            head_dim: 64,
            page_size: 16,
            lens: vec![len, 1, 0],
            layout: CacheLayout::Pal,
            scale: None,
        };
        check(&spec, dtype, len as u64);
    }
}

/// The shapes the in-place decode paths take (float32 / float16 / bfloat16 pools, head dims a
/// multiple of 16, `nhd` / `hnd` pages up to 32 and any group: 1 to 8 query heads a KV head, the
/// blocks of four and the rest; `pal` pages of 16, in AVX-512 and AVX2 forms), with
/// lengths around whole two-page tiles so that both the in-place tiles and the general path's
/// remainder run; on machines without AVX2 / AVX-512 the general path checks the same.
#[test]
fn in_place_shapes_match_reference() {
    let mut seed = 0;
    for layout in CacheLayout::ALL {
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            for (group, head_dim, page_size) in [
                (4, 128, 16),
                (8, 64, 16),
                (4, 80, 8),
                (4, 256, 32),
                (8, 32, 16),
                (1, 128, 16),
                (2, 64, 8),
                (3, 80, 16),
                (7, 128, 32),
                (1, 64, 2),
                (1, 32, 1),
                (2, 48, 1),
                (2, 128, 16),
                (6, 48, 16),
            ] {
                seed += 1;
                let spec = Decode {
                    num_q_heads: 2 * group,
                    num_kv_heads: 2,
                    head_dim,
                    page_size,
                    lens: vec![31, 32, 33, 2 * page_size + 1, 517, 1500],
                    layout,
                    scale: None,
                };
                check(&spec, dtype, seed);
            }
        }
    }
}

#[test]
fn explicit_scale_and_mqa() {
    let spec = Decode {
        num_q_heads: 16,
        num_kv_heads: 1,
        head_dim: 128,
        page_size: 8,
        lens: vec![77, 300],
        layout: CacheLayout::Hnd,
        scale: Some(0.3),
    };
    check(&spec, DType::F32, 7);
}

#[test]
fn zero_length_sequences_give_zeros() {
    let spec = Decode {
        num_q_heads: 4,
        num_kv_heads: 2,
        head_dim: 32,
        page_size: 4,
        lens: vec![0, 5, 0],
        layout: CacheLayout::Nhd,
        scale: None,
    };
    let (actual, _) = run::<f32>(&spec, 3);
    let row = 4 * 32;
    assert!(actual[..row].iter().chain(&actual[2 * row..]).all(|&x| x == 0.0));
    assert!(actual[row..2 * row].iter().any(|&x| x != 0.0));
}

#[test]
fn bitwise_deterministic_across_thread_counts() {
    let spec = Decode {
        num_q_heads: 8,
        num_kv_heads: 2,
        head_dim: 128,
        page_size: 16,
        lens: vec![3000, 1500, 17],
        layout: CacheLayout::Pal,
        scale: None,
    };
    let results: Vec<Vec<f64>> = [1, 2, 3, 2]
        .iter()
        .map(|&threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run::<half::bf16>(&spec, 11).0)
        })
        .collect();
    for r in &results[1..] {
        assert!(r.iter().zip(&results[0]).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
