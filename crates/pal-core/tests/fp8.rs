//! fp8 KV pools on the CPU (SPEC §3.5): fill quantises with round-to-nearest-even and
//! saturation, decode and prefill read `value * scale` (per tensor or per KV head), against the
//! float64 reference over the dequantised pools; bad scales and dtype pairs are refused.

mod common;

use common::*;
use pal_core::{
    fill_kv_pages, paged_attention_decode, paged_attention_prefill, AttentionOptions, CacheLayout, DType, DecodeInputs,
    Error, FillInputs, FillOptions, FloatElement, KvDestination, KvScale, KvScales, PrefillInputs, TensorView,
    TensorViewMut, F8E4M3, F8E5M2,
};

const LAYOUTS: [CacheLayout; 3] = [CacheLayout::Pal, CacheLayout::Nhd, CacheLayout::Hnd];
const HEADS: (usize, usize) = (8, 2);
const D: usize = 32;

/// The dense float64 copy with each KV head's rows multiplied by its scale.
fn scaled(dense: &[f64], scales: &[f32]) -> Vec<f64> {
    dense
        .iter()
        .enumerate()
        .map(|(i, x)| x * scales[i / D % scales.len()] as f64)
        .collect()
}

/// Decode with `Q` queries over `K` (fp8) pools, per-head key scales and a per-tensor value
/// scale; returns (pal, reference).
fn decode<Q: FloatElement, K: FloatElement>(layout: CacheLayout, page_size: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = TestRng::new(seed);
    let lens = [1, 37, 70];
    let case = PagedCase::<K>::new(&mut rng, layout, HEADS.1, D, page_size, &lens);
    let q_shape = [lens.len(), HEADS.0, D];
    let (queries, queries_f64) = random_values::<Q>(&mut rng, q_shape.iter().product());
    let k_scales = [0.5f32, 3.0];
    let mut out = vec![Q::from_f32(f32::NAN); queries.len()];
    let inputs = DecodeInputs {
        queries: TensorView::from_slice(&queries, &q_shape).unwrap(),
        k_cache: TensorView::from_slice(&case.k_pool, &case.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&case.v_pool, &case.v_shape).unwrap(),
        page_table: TensorView::from_slice(&case.page_table, &[lens.len(), case.pages_per_sequence]).unwrap(),
        seq_lens: TensorView::from_slice(&case.lens, &[lens.len()]).unwrap(),
        alibi_slopes: None,
        sinks: None,
        kv_scales: KvScales {
            k: KvScale::Tensor(TensorView::from_slice(&k_scales, &[2]).unwrap()),
            v: KvScale::Value(0.25),
        },
    };
    let options = AttentionOptions {
        layout,
        ..Default::default()
    };
    paged_attention_decode(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &q_shape).unwrap(),
        &options,
    )
    .unwrap();
    let row = HEADS.0 * D;
    let mut expected = Vec::new();
    for (b, &len) in lens.iter().enumerate() {
        expected.extend(reference_attention(
            &queries_f64[b * row..][..row],
            &[len],
            &scaled(&case.keys[b], &k_scales),
            &scaled(&case.values[b], &[0.25]),
            HEADS.0,
            HEADS.1,
            D,
            1.0 / (D as f64).sqrt(),
        ));
    }
    (to_f64(&out), expected)
}

#[test]
fn decode_reads_scaled_fp8_pools() {
    for layout in LAYOUTS {
        for page_size in [1, 16, 32] {
            let what = format!("fp8 decode {layout} page {page_size}");
            let (a, e) = decode::<Brain, F8E4M3>(layout, page_size, 1);
            assert_close(DType::BF16, &a, &e, &format!("{what} bf16/e4m3"));
            let (a, e) = decode::<Half, F8E5M2>(layout, page_size, 2);
            assert_close(DType::F16, &a, &e, &format!("{what} f16/e5m2"));
            let (a, e) = decode::<f32, F8E4M3>(layout, page_size, 3);
            assert_close(DType::F32, &a, &e, &format!("{what} f32/e4m3"));
        }
    }
}

/// Prefill of one prompt after fp8 history: history read as `value * scale`, the prompt's own
/// keys and values (bfloat16) as given.
#[test]
fn prefill_scales_history_not_the_prompt() {
    for layout in LAYOUTS {
        let mut rng = TestRng::new(7);
        let (history, prompt) = (45usize, 19usize);
        let case = PagedCase::<F8E5M2>::new(&mut rng, layout, HEADS.1, D, 16, &[history]);
        let (q, q_f64) = random_values::<Brain>(&mut rng, prompt * HEADS.0 * D);
        let (k, k_f64) = random_values::<Brain>(&mut rng, prompt * HEADS.1 * D);
        let (v, v_f64) = random_values::<Brain>(&mut rng, prompt * HEADS.1 * D);
        let v_scales = [2.0f32, 0.125];
        let mut out = vec![Brain::from_f32(f32::NAN); q.len()];
        let inputs = PrefillInputs {
            q: TensorView::from_slice(&q, &[prompt, HEADS.0, D]).unwrap(),
            k: TensorView::from_slice(&k, &[prompt, HEADS.1, D]).unwrap(),
            v: TensorView::from_slice(&v, &[prompt, HEADS.1, D]).unwrap(),
            k_cache: TensorView::from_slice(&case.k_pool, &case.k_shape).unwrap(),
            v_cache: TensorView::from_slice(&case.v_pool, &case.v_shape).unwrap(),
            page_table: TensorView::from_slice(&case.page_table, &[1, case.pages_per_sequence]).unwrap(),
            context_lens: TensorView::from_slice(&case.lens, &[1]).unwrap(),
            cu_seqlens_q: None,
            alibi_slopes: None,
            sinks: None,
            kv_scales: KvScales {
                k: KvScale::Tensor(TensorView::from_slice(&[1.5f32], &[]).unwrap()),
                v: KvScale::Tensor(TensorView::from_slice(&v_scales, &[2]).unwrap()),
            },
        };
        let options = AttentionOptions {
            layout,
            ..Default::default()
        };
        let out_shape = [prompt, HEADS.0, D];
        paged_attention_prefill(
            &inputs,
            &mut TensorViewMut::from_slice(&mut out, &out_shape).unwrap(),
            &options,
        )
        .unwrap();
        let keys: Vec<f64> = scaled(&case.keys[0], &[1.5]).into_iter().chain(k_f64).collect();
        let values: Vec<f64> = scaled(&case.values[0], &v_scales).into_iter().chain(v_f64).collect();
        let visible: Vec<usize> = (0..prompt).map(|i| history + i + 1).collect();
        let expected = reference_attention(
            &q_f64,
            &visible,
            &keys,
            &values,
            HEADS.0,
            HEADS.1,
            D,
            1.0 / (D as f64).sqrt(),
        );
        assert_close(DType::BF16, &to_f64(&out), &expected, &format!("fp8 prefill {layout}"));
    }
}

/// Fill quantises `x / scale` (float32 division) to the nearest fp8 value, saturating: every
/// element of the pools is checked, including values far past the format's range.
#[test]
fn fill_quantises_with_round_to_nearest_even_and_saturation() {
    for layout in LAYOUTS {
        let (heads, page_size, tokens) = (2, 16, 20);
        let mut rng = TestRng::new(11);
        let keys: Vec<Brain> = (0..tokens * heads * D)
            .map(|i| Brain::from_f32(rng.uniform() * 600.0 * (i % 3) as f32))
            .collect();
        let values: Vec<Brain> = (0..tokens * heads * D)
            .map(|_| Brain::from_f32(rng.uniform() * 1e-3))
            .collect();
        let k_shape = pal_core::k_cache_shape(3, heads, D, page_size, DType::F8E4M3, layout).unwrap();
        let v_shape = pal_core::v_cache_shape(3, heads, D, page_size, DType::F8E4M3, layout).unwrap();
        let mut k_pool = vec![F8E4M3(0); k_shape.iter().product()];
        let mut v_pool = vec![F8E4M3(0); v_shape.iter().product()];
        let slots: Vec<i32> = (0..tokens as i32).map(|t| 16 * 2 + t - 4).collect();
        let (k_scales, v_scale) = ([0.75f32, 2.0], 3e-5f32);
        let inputs = FillInputs {
            new_keys: TensorView::from_slice(&keys, &[tokens, heads, D]).unwrap(),
            new_values: TensorView::from_slice(&values, &[tokens, heads, D]).unwrap(),
            destination: KvDestination::SlotMapping(TensorView::from_slice(&slots, &[tokens]).unwrap()),
            kv_scales: KvScales {
                k: KvScale::Tensor(TensorView::from_slice(&k_scales, &[2]).unwrap()),
                v: KvScale::Value(v_scale),
            },
        };
        let options = FillOptions {
            layout,
            ..Default::default()
        };
        fill_kv_pages(
            &inputs,
            &mut TensorViewMut::from_slice(&mut k_pool, &k_shape).unwrap(),
            &mut TensorViewMut::from_slice(&mut v_pool, &v_shape).unwrap(),
            &options,
        )
        .unwrap();
        let mut saturated = 0;
        for (t, &slot) in slots.iter().enumerate() {
            let (page, slot) = (slot as usize / page_size, slot as usize % page_size);
            for (h, &k_scale) in k_scales.iter().enumerate() {
                for dim in 0..D {
                    let src = (t * heads + h) * D + dim;
                    let at = (page, h, slot, dim);
                    let k = k_pool[pool_index(layout, true, DType::F8E4M3, (heads, D, page_size), at)];
                    let v = v_pool[pool_index(layout, false, DType::F8E4M3, (heads, D, page_size), at)];
                    let want_k = F8E4M3::from_f32(keys[src].to_f32() / k_scale);
                    assert_eq!(k, want_k, "{layout} key {at:?}");
                    assert_eq!(
                        v,
                        F8E4M3::from_f32(values[src].to_f32() / v_scale),
                        "{layout} value {at:?}"
                    );
                    // The quantised value is the nearest one (or the largest, past the range).
                    let exact = keys[src].to_f32() / k_scale;
                    if exact.abs() > 448.0 {
                        assert_eq!(k.to_f32().abs(), 448.0);
                        saturated += 1;
                    } else {
                        assert!((k.to_f32() - exact).abs() <= exact.abs() / 16.0 + 2f32.powi(-10));
                    }
                }
            }
        }
        assert!(saturated > 0, "the case covers saturation");
    }
}

#[test]
fn scales_and_dtype_pairs_are_validated() {
    let layout = CacheLayout::Nhd;
    let shape = pal_core::k_cache_shape(2, 1, 16, 4, DType::F8E4M3, layout).unwrap();
    let (f8, f8_other) = (vec![F8E4M3(0x38); 128], vec![F8E5M2(0x3c); 128]);
    let bf = vec![Brain::from_f32(1.0); 128];
    let q = vec![Brain::from_f32(1.0); 16];
    let (table, lens) = ([0i32, 1], [5i32]);
    let run = |k: TensorView<'_>, v: TensorView<'_>, queries: TensorView<'_>, scales: KvScales<'_>| -> Error {
        let inputs = DecodeInputs {
            queries,
            k_cache: k,
            v_cache: v,
            page_table: TensorView::from_slice(&table, &[1, 2]).unwrap(),
            seq_lens: TensorView::from_slice(&lens, &[1]).unwrap(),
            alibi_slopes: None,
            sinks: None,
            kv_scales: scales,
        };
        let mut out = vec![Brain::from_f32(0.0); 16];
        let options = AttentionOptions {
            layout,
            ..Default::default()
        };
        paged_attention_decode(
            &inputs,
            &mut TensorViewMut::from_slice(&mut out, &[1, 1, 16]).unwrap(),
            &options,
        )
        .unwrap_err()
    };
    let fp8 = || TensorView::from_slice(&f8, &shape).unwrap();
    let queries = || TensorView::from_slice(&q, &[1, 1, 16]).unwrap();
    let with_k = |k: KvScale<'static>| KvScales {
        k,
        v: KvScale::default(),
    };
    let message = |e: Error| e.to_string();

    let m = message(run(
        fp8(),
        TensorView::from_slice(&f8_other, &shape).unwrap(),
        queries(),
        KvScales::default(),
    ));
    assert!(m.contains("`v_cache`") && m.contains("float8_e4m3fn"), "{m}");
    let fp8_queries = TensorView::from_slice(&f8[..16], &[1, 1, 16]).unwrap();
    let m = message(run(fp8(), fp8(), fp8_queries, KvScales::default()));
    assert!(
        m.contains("`queries`") && m.contains("float32, float16 or bfloat16"),
        "{m}"
    );
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let m = message(run(fp8(), fp8(), queries(), with_k(KvScale::Value(bad))));
        assert!(m.contains("`k_scale`") && m.contains("positive, finite"), "{bad}: {m}");
    }
    static WRONG: [f32; 3] = [1.0, 1.0, 1.0];
    let m = message(run(
        fp8(),
        fp8(),
        queries(),
        with_k(KvScale::Tensor(TensorView::from_slice(&WRONG, &[3]).unwrap())),
    ));
    assert!(m.contains("`k_scale`") && m.contains("[num_kv_heads] = [1]"), "{m}");
    static NEGATIVE: [f32; 1] = [-2.0];
    let m = message(run(
        fp8(),
        fp8(),
        queries(),
        with_k(KvScale::Tensor(TensorView::from_slice(&NEGATIVE, &[1]).unwrap())),
    ));
    assert!(m.contains("`k_scale[0]`"), "{m}");
    let bf_shape = pal_core::k_cache_shape(2, 1, 16, 4, DType::BF16, layout).unwrap();
    let bf_pool = || TensorView::from_slice(&bf, &bf_shape).unwrap();
    let m = message(run(bf_pool(), bf_pool(), queries(), with_k(KvScale::Value(2.0))));
    assert!(m.contains("`k_scale`") && m.contains("fp8 pools"), "{m}");
}
