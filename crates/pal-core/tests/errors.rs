//! Every misuse of SPEC §6 gives a typed error that names the argument; nothing is written.

use pal_core::*;

const D: usize = 16;
const PAGE: usize = 4;
const PAGES: usize = 6;
const HKV: usize = 2;

struct Fixture {
    queries: Vec<f32>,
    k_pool: Vec<f32>,
    v_pool: Vec<f32>,
    k_shape: Vec<usize>,
    v_shape: Vec<usize>,
    page_table: Vec<i32>,
    seq_lens: Vec<i32>,
}

fn fixture() -> Fixture {
    let k_shape = k_cache_shape(PAGES, HKV, D, PAGE, DType::F32, CacheLayout::Pal).unwrap();
    let v_shape = v_cache_shape(PAGES, HKV, D, PAGE, DType::F32, CacheLayout::Pal).unwrap();
    let n = PAGES * HKV * D * PAGE;
    Fixture {
        queries: (0..2 * 4 * D).map(|i| (i as f32).sin()).collect(),
        k_pool: (0..n).map(|i| (i as f32 * 0.1).cos()).collect(),
        v_pool: (0..n).map(|i| (i as f32 * 0.2).sin()).collect(),
        k_shape,
        v_shape,
        page_table: vec![0, 1, 2, 3, 4, 5],
        seq_lens: vec![5, 12],
    }
}

/// Decode inputs: `queries` with the fixture's pools, page table and lengths.
fn inputs_around<'a>(f: &'a Fixture, queries: TensorView<'a>) -> DecodeInputs<'a> {
    let batch = f.seq_lens.len();
    DecodeInputs {
        queries,
        k_cache: TensorView::from_slice(&f.k_pool, &f.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&f.v_pool, &f.v_shape).unwrap(),
        page_table: TensorView::from_slice(&f.page_table, &[batch, f.page_table.len() / batch.max(1)]).unwrap(),
        seq_lens: TensorView::from_slice(&f.seq_lens, &[batch]).unwrap(),
        alibi_slopes: None,
        sinks: None,
        kv_scales: Default::default(),
    }
}

/// Runs decode on the fixture after `edit` changes it; returns the error.
fn decode_error(edit: impl FnOnce(&mut Fixture, &mut Vec<usize>, &mut AttentionOptions)) -> Error {
    let mut f = fixture();
    let mut q_shape = vec![2, 4, D];
    let mut options = AttentionOptions::default();
    edit(&mut f, &mut q_shape, &mut options);
    let mut out = vec![0f32; q_shape.iter().product()];
    let queries = TensorView::from_slice(&f.queries[..q_shape.iter().product()], &q_shape).unwrap();
    let inputs = inputs_around(&f, queries);
    paged_attention_decode(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &q_shape).unwrap(),
        &options,
    )
    .unwrap_err()
}

fn assert_names(error: &Error, arg: &str) {
    let message = error.to_string();
    assert!(
        message.contains(&format!("`{arg}")),
        "message should name `{arg}`: {message}"
    );
}

#[test]
fn decode_rejects_bad_shapes_and_values() {
    let e = decode_error(|_, shape, _| *shape = vec![8, D]);
    assert!(matches!(e, Error::Shape { .. }));
    assert_names(&e, "queries");

    let e = decode_error(|_, shape, _| *shape = vec![2, 2, 2 * D]);
    assert_names(&e, "queries");

    let e = decode_error(|_, shape, _| *shape = vec![2, 3, D]);
    assert!(matches!(e, Error::Value { .. }), "{e}");
    assert!(e.to_string().contains("multiple of num_kv_heads = 2"), "{e}");

    let e = decode_error(|f, _, _| f.seq_lens[1] = -1);
    assert_names(&e, "seq_lens[1]");

    let e = decode_error(|f, _, _| f.seq_lens[0] = 13);
    assert_names(&e, "seq_lens[0]");
    assert!(e.to_string().contains("0..=12"), "{e}");

    let e = decode_error(|f, _, _| f.page_table[4] = 6);
    assert_names(&e, "page_table[1, 1]");

    let e = decode_error(|f, _, _| f.page_table[1] = -1);
    assert_names(&e, "page_table[0, 1]");

    let e = decode_error(|_, _, options| options.layout = CacheLayout::Nhd);
    assert_names(&e, "k_cache");

    let e = decode_error(|f, _, _| f.v_shape = vec![PAGES, HKV, PAGE, D]);
    assert!(matches!(e, Error::Shape { .. }));

    let e = decode_error(|_, _, options| options.scale = Some(f32::NAN));
    assert_names(&e, "scale");
}

#[test]
fn unused_page_table_entries_are_ignored() {
    let mut f = fixture();
    f.page_table[1] = -7; // sequence 0 uses only its first page
    f.page_table[5] = 99; // sequence 1 uses two pages
    let mut out = vec![0f32; 2 * 4 * D];
    let inputs = DecodeInputs {
        queries: TensorView::from_slice(&f.queries, &[2, 4, D]).unwrap(),
        k_cache: TensorView::from_slice(&f.k_pool, &f.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&f.v_pool, &f.v_shape).unwrap(),
        page_table: TensorView::from_slice(&f.page_table, &[2, 3]).unwrap(),
        seq_lens: TensorView::from_slice(&[4i32, 8], &[2]).unwrap(),
        alibi_slopes: None,
        sinks: None,
        kv_scales: Default::default(),
    };
    paged_attention_decode(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &[2, 4, D]).unwrap(),
        &AttentionOptions::default(),
    )
    .unwrap();
    assert!(out.iter().all(|x| x.is_finite()) && out.iter().any(|&x| x != 0.0));
}

/// Runs decode on `inputs` into an output of `T`s (the queries' type); returns the error.
fn decode_error_into<T: FloatElement>(inputs: &DecodeInputs<'_>) -> Error {
    let shape = inputs.queries.shape().to_vec();
    let mut out = vec![T::from_f32(0.0); shape.iter().product()];
    paged_attention_decode(
        inputs,
        &mut TensorViewMut::from_slice(&mut out, &shape).unwrap(),
        &AttentionOptions::default(),
    )
    .unwrap_err()
}

/// The pools must have the dtype of the queries (of the new keys for a fill) or an fp8 dtype,
/// both the same, and the error lists what is accepted.
#[test]
fn dtype_mismatch_is_a_dtype_error() {
    const OR_FP8: &str = "float8_e4m3fn or float8_e5m2";
    let f = fixture();
    let to_bf16 = |v: &[f32]| -> Vec<half::bf16> { v.iter().map(|&x| half::bf16::from_f32(x)).collect() };
    let queries = to_bf16(&f.queries);
    let e = decode_error_into::<half::bf16>(&inputs_around(
        &f,
        TensorView::from_slice(&queries, &[2, 4, D]).unwrap(),
    ));
    assert!(matches!(e, Error::DType { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "paged_attention_decode: `k_cache` must have dtype bfloat16 (the dtype of `queries`), {OR_FP8}, got float32"
        )
    );

    let v_pool = to_bf16(&f.v_pool);
    let mut inputs = inputs_around(&f, TensorView::from_slice(&f.queries, &[2, 4, D]).unwrap());
    inputs.v_cache = TensorView::from_slice(&v_pool, &f.v_shape).unwrap();
    let e = decode_error_into::<f32>(&inputs);
    assert!(matches!(e, Error::DType { .. }), "{e}");
    assert_names(&e, "v_cache");
    assert!(
        e.to_string()
            .contains("must have dtype float32, the dtype of `k_cache`, got bfloat16"),
        "{e}"
    );

    let mut f = fixture();
    let keys = vec![half::f16::ONE; HKV * D];
    let inputs = FillInputs {
        new_keys: TensorView::from_slice(&keys, &[1, HKV, D]).unwrap(),
        new_values: TensorView::from_slice(&keys, &[1, HKV, D]).unwrap(),
        destination: KvDestination::SlotMapping(TensorView::from_slice(&[0i32], &[1]).unwrap()),
        kv_scales: Default::default(),
    };
    let e = fill_kv_pages(
        &inputs,
        &mut TensorViewMut::from_slice(&mut f.k_pool, &f.k_shape).unwrap(),
        &mut TensorViewMut::from_slice(&mut f.v_pool, &f.v_shape).unwrap(),
        &FillOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::DType { .. }), "{e}");
    assert_names(&e, "k_cache");
    assert!(
        e.to_string()
            .contains(&format!("float16 (the dtype of `new_keys`), {OR_FP8}")),
        "{e}"
    );
}

#[test]
fn empty_batch_is_fine() {
    let f = fixture();
    let inputs = DecodeInputs {
        queries: TensorView::from_slice::<f32>(&[], &[0, 4, D]).unwrap(),
        k_cache: TensorView::from_slice(&f.k_pool, &f.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&f.v_pool, &f.v_shape).unwrap(),
        page_table: TensorView::from_slice::<i32>(&[], &[0, 3]).unwrap(),
        seq_lens: TensorView::from_slice::<i32>(&[], &[0]).unwrap(),
        alibi_slopes: None,
        sinks: None,
        kv_scales: Default::default(),
    };
    let mut out: Vec<f32> = vec![];
    paged_attention_decode(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &[0, 4, D]).unwrap(),
        &AttentionOptions::default(),
    )
    .unwrap();
}

fn prefill_error(total: usize, cu: Option<Vec<i32>>, context: Vec<i32>) -> Error {
    let f = fixture();
    let q = vec![0.5f32; total * 4 * D];
    let kv = vec![0.25f32; total * HKV * D];
    let mut out = vec![0f32; q.len()];
    let inputs = PrefillInputs {
        q: TensorView::from_slice(&q, &[total, 4, D]).unwrap(),
        k: TensorView::from_slice(&kv, &[total, HKV, D]).unwrap(),
        v: TensorView::from_slice(&kv, &[total, HKV, D]).unwrap(),
        k_cache: TensorView::from_slice(&f.k_pool, &f.k_shape).unwrap(),
        v_cache: TensorView::from_slice(&f.v_pool, &f.v_shape).unwrap(),
        page_table: TensorView::from_slice(&f.page_table, &[2, 3]).unwrap(),
        context_lens: TensorView::from_slice(&context, &[2]).unwrap(),
        cu_seqlens_q: cu.as_ref().map(|cu| TensorView::from_slice(cu, &[cu.len()]).unwrap()),
        alibi_slopes: None,
        sinks: None,
        kv_scales: Default::default(),
    };
    paged_attention_prefill(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &[total, 4, D]).unwrap(),
        &AttentionOptions::default(),
    )
    .unwrap_err()
}

#[test]
fn prefill_rejects_bad_offsets_and_lengths() {
    assert_names(&prefill_error(5, None, vec![0, 0]), "q.shape[0] (total_tokens)");
    assert_names(&prefill_error(5, Some(vec![1, 2, 5]), vec![0, 0]), "cu_seqlens_q[0]");
    assert_names(&prefill_error(5, Some(vec![0, 4, 3]), vec![0, 0]), "cu_seqlens_q[2]");
    assert_names(&prefill_error(5, Some(vec![0, 2, 4]), vec![0, 0]), "cu_seqlens_q[2]");
    assert_names(&prefill_error(5, Some(vec![0, 2]), vec![0, 0]), "cu_seqlens_q");
    assert_names(&prefill_error(4, None, vec![0, -2]), "context_lens[1]");
    assert_names(&prefill_error(4, None, vec![13, 0]), "context_lens[0]");
}

/// Fills token 0 (valid) and token 1 (edited to be invalid); the pools must stay untouched.
fn fill_error(
    slot_mapping: Option<Vec<i32>>,
    positions: Vec<i32>,
    token_to_seq: Vec<i32>,
    page_table: Vec<i32>,
) -> Error {
    let mut f = fixture();
    let (k_before, v_before) = (f.k_pool.clone(), f.v_pool.clone());
    let keys = vec![9.0f32; 2 * HKV * D];
    let destination = match &slot_mapping {
        Some(slots) => KvDestination::SlotMapping(TensorView::from_slice(slots, &[slots.len()]).unwrap()),
        None => KvDestination::Positions {
            page_table: TensorView::from_slice(&page_table, &[2, page_table.len() / 2]).unwrap(),
            positions: TensorView::from_slice(&positions, &[positions.len()]).unwrap(),
            token_to_seq: TensorView::from_slice(&token_to_seq, &[token_to_seq.len()]).unwrap(),
        },
    };
    let inputs = FillInputs {
        new_keys: TensorView::from_slice(&keys, &[2, HKV, D]).unwrap(),
        new_values: TensorView::from_slice(&keys, &[2, HKV, D]).unwrap(),
        destination,
        kv_scales: Default::default(),
    };
    let e = fill_kv_pages(
        &inputs,
        &mut TensorViewMut::from_slice(&mut f.k_pool, &f.k_shape).unwrap(),
        &mut TensorViewMut::from_slice(&mut f.v_pool, &f.v_shape).unwrap(),
        &FillOptions::default(),
    )
    .unwrap_err();
    assert!(
        f.k_pool == k_before && f.v_pool == v_before,
        "a failed fill wrote to the pools"
    );
    e
}

#[test]
fn fill_rejects_out_of_range_destinations_without_writing() {
    let table = vec![0, 1, 2, 3, 4, 5];
    assert_names(
        &fill_error(None, vec![0, 12], vec![0, 1], table.clone()),
        "positions[1]",
    );
    assert_names(
        &fill_error(None, vec![0, -1], vec![0, 1], table.clone()),
        "positions[1]",
    );
    assert_names(
        &fill_error(None, vec![0, 3], vec![0, 2], table.clone()),
        "token_to_seq[1]",
    );
    assert_names(
        &fill_error(None, vec![0, 5], vec![0, 1], vec![0, 1, 2, 3, 40, 5]),
        "page_table[1, 1]",
    );
    assert_names(&fill_error(None, vec![0, 1, 2], vec![0, 0], table.clone()), "positions");
    assert_names(
        &fill_error(Some(vec![0, (PAGES * PAGE) as i32]), vec![], vec![], table),
        "slot_mapping[1]",
    );
}

#[test]
fn fill_rejects_pools_that_alias() {
    let mut f = fixture();
    let keys = vec![1.0f32; HKV * D];
    let slots = [0i32];
    let inputs = FillInputs {
        new_keys: TensorView::from_slice(&keys, &[1, HKV, D]).unwrap(),
        new_values: TensorView::from_slice(&keys, &[1, HKV, D]).unwrap(),
        destination: KvDestination::SlotMapping(TensorView::from_slice(&slots, &[1]).unwrap()),
        kv_scales: Default::default(),
    };
    let (k_shape, v_shape) = (f.k_shape.clone(), f.v_shape.clone());
    let pool = f.k_pool.as_mut_ptr();
    // SAFETY: deliberately aliasing views over one live buffer, to check that PAL refuses them.
    let (mut k, mut v) = unsafe {
        (
            TensorViewMut::from_raw_parts(pool.cast(), DType::F32, &k_shape, Device::Cpu),
            TensorViewMut::from_raw_parts(pool.cast(), DType::F32, &v_shape, Device::Cpu),
        )
    };
    let e = fill_kv_pages(&inputs, &mut k, &mut v, &FillOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Overlap { .. }), "{e}");
}

#[test]
fn cuda_tensors_without_a_cuda_backend_are_a_clear_error() {
    let f = fixture();
    let on_gpu = |v: &[f32], shape: &[usize]| unsafe {
        TensorView::from_raw_parts(v.as_ptr().cast(), DType::F32, shape, Device::Cuda(0))
    };
    let mut out = vec![0f32; 2 * 4 * D];
    let inputs = inputs_around(&f, on_gpu(&f.queries, &[2, 4, D]));
    let e = paged_attention_decode(
        &inputs,
        &mut TensorViewMut::from_slice(&mut out, &[2, 4, D]).unwrap(),
        &AttentionOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Device { .. }), "{e}");
    assert_names(&e, "k_cache");
}

#[test]
fn an_output_may_not_alias_the_variant_vectors() {
    let f = fixture();
    let mut out = vec![0f32; 2 * 4 * D];
    let out_ptr = out.as_mut_ptr();
    // SAFETY: deliberately aliasing views over one live buffer, to check that PAL refuses them.
    let (sinks, mut out_view) = unsafe {
        (
            TensorView::from_raw_parts(out_ptr.cast_const().cast(), DType::F32, &[4], Device::Cpu),
            TensorViewMut::from_raw_parts(out_ptr.cast(), DType::F32, &[2, 4, D], Device::Cpu),
        )
    };
    for (slopes, sinks, name) in [
        (None, Some(sinks.clone()), "sinks"),
        (Some(sinks), None, "alibi_slopes"),
    ] {
        let mut inputs = inputs_around(&f, TensorView::from_slice(&f.queries, &[2, 4, D]).unwrap());
        inputs.alibi_slopes = slopes;
        inputs.sinks = sinks;
        let e = paged_attention_decode(&inputs, &mut out_view, &AttentionOptions::default()).unwrap_err();
        assert!(matches!(&e, Error::Overlap { other, .. } if other == name), "{e}");
    }
}

#[test]
fn a_soft_cap_of_zero_is_off_and_an_overflowing_shape_is_refused() {
    let variant = AttentionVariant::default().with_logits_soft_cap(0.0);
    assert_eq!(variant.logits_soft_cap, None);
    assert_eq!(variant.name(), "plain");
    let e = TensorView::from_slice(&[] as &[f32], &[1 << 62, 4, 1, 16]).unwrap_err();
    assert_names(&e, "shape");
}
