//! `proxy_attention_lab._native`: the PyO3 module behind the `proxy_attention_lab` package.
//! It converts arguments (zero-copy), releases the GIL, runs the pal-core operation and maps
//! errors to Python exceptions. Output allocation and dtype names live in the Python facade.

mod array;
mod errors;

use array::{shape_tuple, ArrayArg};
use errors::{guard, to_py_err};
use pal_core::host_profile::{self as profile, Stage};
use pal_core::{
    AttentionOptions, AttentionVariant, CacheLayout, DType, DecodeInputs, Execution, FillInputs, FillOptions,
    KvDestination, KvScale, KvScales, PrefillInputs, TableCheck,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyTuple};

/// A named option of `op` (a layout) from its text; a bad one raises naming `op`.
fn parse<T: std::str::FromStr<Err = pal_core::Error>>(op: &'static str, text: &str) -> PyResult<T> {
    text.parse().map_err(|e: pal_core::Error| to_py_err(e.in_op(op)))
}

/// `check` from Python: `None` defers the validation of device tables to the kernels (the
/// default), `True` validates them on the host before launching, `False` skips it.
fn table_check(check: Option<bool>) -> TableCheck {
    match check {
        None => TableCheck::Deferred,
        Some(true) => TableCheck::Immediate,
        Some(false) => TableCheck::Off,
    }
}

/// The attention variant from Python's keywords: `window_left` -1 and `logits_soft_cap` 0 are
/// off (FlashInfer's conventions).
fn attention_variant(op: &'static str, window_left: i64, logits_soft_cap: f64) -> PyResult<AttentionVariant> {
    let mut variant = AttentionVariant::default();
    match window_left {
        -1 => {}
        w if w >= 0 => variant = variant.with_window_left(w as usize),
        w => {
            return Err(to_py_err(pal_core::Error::value(
                op,
                "window_left",
                "-1 (no window) or a number of keys >= 0",
                w,
            )))
        }
    }
    if logits_soft_cap != 0.0 {
        // (A cap under float32's range would read as 0 or -0: off. Refused as given, with the
        // core's expectation; the core checks every other value.)
        if logits_soft_cap as f32 == 0.0 {
            return Err(to_py_err(pal_core::Error::value(
                op,
                "logits_soft_cap",
                "a positive, finite cap (0 or none: off)",
                format!("{logits_soft_cap:?}"),
            )));
        }
        variant = variant.with_logits_soft_cap(float32_of(op, "logits_soft_cap", logits_soft_cap)?);
    }
    Ok(variant)
}

/// `value` (a Python float) as float32, refusing a finite number that float32 cannot hold (one
/// that overflows to inf, or a non-zero one that underflows to 0), so that neither an error
/// message nor the op acts on another number than the one given. NaN and the infinities pass
/// on to the checks that name them.
fn float32_of(op: &'static str, name: &'static str, value: f64) -> PyResult<f32> {
    let narrow = value as f32;
    if value.is_finite() && (narrow.is_infinite() || (narrow == 0.0 && value != 0.0)) {
        return Err(to_py_err(pal_core::Error::value(
            op,
            name,
            "a number that float32 holds (0, or a magnitude from 1.4e-45 to 3.4e38)",
            format!("{value:?}"),
        )));
    }
    Ok(narrow)
}

/// `k_scale` / `v_scale` from Python: `None` (1), a number (per tensor), or a float32 array on
/// the call's device (`[]`, `[1]` or `[num_kv_heads]`).
enum ScaleArg<'py> {
    Value(f32),
    Array(ArrayArg<'py>),
}

impl<'py> ScaleArg<'py> {
    fn extract(op: &'static str, name: &'static str, object: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        Ok(match object {
            None => ScaleArg::Value(1.0),
            Some(o) if o.is_instance_of::<PyFloat>() || o.is_instance_of::<PyInt>() => {
                ScaleArg::Value(float32_of(op, name, o.extract::<f64>()?)?)
            }
            Some(o) => ScaleArg::Array(ArrayArg::extract(op, name, o)?),
        })
    }

    /// `k_scale` and `v_scale` of one call.
    fn pair(op: &'static str, k: Option<&Bound<'py, PyAny>>, v: Option<&Bound<'py, PyAny>>) -> PyResult<(Self, Self)> {
        Ok((Self::extract(op, "k_scale", k)?, Self::extract(op, "v_scale", v)?))
    }

    fn view(&self) -> KvScale<'_> {
        match self {
            ScaleArg::Value(x) => KvScale::Value(*x),
            ScaleArg::Array(a) => KvScale::Tensor(a.view()),
        }
    }
}

fn kv_scales<'a>(k: &'a ScaleArg<'_>, v: &'a ScaleArg<'_>) -> KvScales<'a> {
    KvScales {
        k: k.view(),
        v: v.view(),
    }
}

#[allow(clippy::too_many_arguments)]
fn attention_options(
    op: &'static str,
    scale: Option<f64>,
    layout: &str,
    window_left: i64,
    logits_soft_cap: f64,
    cuda_stream: usize,
    check: Option<bool>,
) -> PyResult<AttentionOptions> {
    Ok(AttentionOptions {
        scale: scale.map(|x| float32_of(op, "scale", x)).transpose()?,
        layout: parse::<CacheLayout>(op, layout)?,
        variant: attention_variant(op, window_left, logits_soft_cap)?,
        execution: Execution {
            stream: cuda_stream,
            check: table_check(check),
        },
    })
}

/// Views are raw pointers into buffers the caller keeps alive for the whole call; this lets the
/// closure that runs without the GIL carry them.
struct WithoutGil<T>(T);
// SAFETY: the buffers are plain memory owned by Python objects that outlive the call.
unsafe impl<T> Send for WithoutGil<T> {}

fn run_detached(
    py: Python<'_>,
    op: &'static str,
    device: pal_core::Device,
    call: impl FnOnce() -> pal_core::Result<()>,
) -> PyResult<()> {
    profile::mark(Stage::Arguments);
    let call = WithoutGil(call);
    let result = py.detach(move || {
        let call = call;
        profile::mark(Stage::Detach);
        guard(op, device, call.0)
    });
    profile::mark(Stage::Return);
    result.map_err(to_py_err)
}

#[pyfunction]
#[pyo3(signature = (queries, k_cache, v_cache, page_table, seq_lens, out, scale=None, layout="pal", window_left=-1, logits_soft_cap=0.0, alibi_slopes=None, sinks=None, k_scale=None, v_scale=None, cuda_stream=0, check=None))]
#[allow(clippy::too_many_arguments)]
fn paged_attention_decode(
    py: Python<'_>,
    queries: &Bound<'_, PyAny>,
    k_cache: &Bound<'_, PyAny>,
    v_cache: &Bound<'_, PyAny>,
    page_table: &Bound<'_, PyAny>,
    seq_lens: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    scale: Option<f64>,
    layout: &str,
    window_left: i64,
    logits_soft_cap: f64,
    alibi_slopes: Option<&Bound<'_, PyAny>>,
    sinks: Option<&Bound<'_, PyAny>>,
    k_scale: Option<&Bound<'_, PyAny>>,
    v_scale: Option<&Bound<'_, PyAny>>,
    cuda_stream: usize,
    check: Option<bool>,
) -> PyResult<()> {
    const OP: &str = "paged_attention_decode";
    profile::start();
    let options = attention_options(OP, scale, layout, window_left, logits_soft_cap, cuda_stream, check)?;
    let args = [
        ArrayArg::extract(OP, "queries", queries)?,
        ArrayArg::extract(OP, "k_cache", k_cache)?,
        ArrayArg::extract(OP, "v_cache", v_cache)?,
        ArrayArg::extract_index(OP, "page_table", page_table)?,
        ArrayArg::extract_index(OP, "seq_lens", seq_lens)?,
    ];
    let alibi_slopes = ArrayArg::extract_optional(OP, "alibi_slopes", alibi_slopes)?;
    let sinks = ArrayArg::extract_optional(OP, "sinks", sinks)?;
    let (k_scale, v_scale) = ScaleArg::pair(OP, k_scale, v_scale)?;
    let out = ArrayArg::extract(OP, "out", out)?;
    let inputs = DecodeInputs {
        queries: args[0].view(),
        k_cache: args[1].view(),
        v_cache: args[2].view(),
        page_table: args[3].view(),
        seq_lens: args[4].view(),
        alibi_slopes: alibi_slopes.as_ref().map(ArrayArg::view),
        sinks: sinks.as_ref().map(ArrayArg::view),
        kv_scales: kv_scales(&k_scale, &v_scale),
    };
    let mut out = out.view_mut(OP)?;
    let device = inputs.queries.device();
    run_detached(py, OP, device, || {
        pal_core::paged_attention_decode(&inputs, &mut out, &options)
    })
}

#[pyfunction]
#[pyo3(signature = (q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens_q, out, scale=None, layout="pal", window_left=-1, logits_soft_cap=0.0, alibi_slopes=None, sinks=None, k_scale=None, v_scale=None, cuda_stream=0, check=None))]
#[allow(clippy::too_many_arguments)]
fn paged_attention_prefill(
    py: Python<'_>,
    q: &Bound<'_, PyAny>,
    k: &Bound<'_, PyAny>,
    v: &Bound<'_, PyAny>,
    k_cache: &Bound<'_, PyAny>,
    v_cache: &Bound<'_, PyAny>,
    page_table: &Bound<'_, PyAny>,
    context_lens: &Bound<'_, PyAny>,
    cu_seqlens_q: Option<&Bound<'_, PyAny>>,
    out: &Bound<'_, PyAny>,
    scale: Option<f64>,
    layout: &str,
    window_left: i64,
    logits_soft_cap: f64,
    alibi_slopes: Option<&Bound<'_, PyAny>>,
    sinks: Option<&Bound<'_, PyAny>>,
    k_scale: Option<&Bound<'_, PyAny>>,
    v_scale: Option<&Bound<'_, PyAny>>,
    cuda_stream: usize,
    check: Option<bool>,
) -> PyResult<()> {
    const OP: &str = "paged_attention_prefill";
    profile::start();
    let options = attention_options(OP, scale, layout, window_left, logits_soft_cap, cuda_stream, check)?;
    let args = [
        ArrayArg::extract(OP, "q", q)?,
        ArrayArg::extract(OP, "k", k)?,
        ArrayArg::extract(OP, "v", v)?,
        ArrayArg::extract(OP, "k_cache", k_cache)?,
        ArrayArg::extract(OP, "v_cache", v_cache)?,
        ArrayArg::extract_index(OP, "page_table", page_table)?,
        ArrayArg::extract_index(OP, "context_lens", context_lens)?,
    ];
    let cu_seqlens_q = ArrayArg::extract_index_optional(OP, "cu_seqlens_q", cu_seqlens_q)?;
    let alibi_slopes = ArrayArg::extract_optional(OP, "alibi_slopes", alibi_slopes)?;
    let sinks = ArrayArg::extract_optional(OP, "sinks", sinks)?;
    let (k_scale, v_scale) = ScaleArg::pair(OP, k_scale, v_scale)?;
    let out = ArrayArg::extract(OP, "out", out)?;
    let inputs = PrefillInputs {
        q: args[0].view(),
        k: args[1].view(),
        v: args[2].view(),
        k_cache: args[3].view(),
        v_cache: args[4].view(),
        page_table: args[5].view(),
        context_lens: args[6].view(),
        cu_seqlens_q: cu_seqlens_q.as_ref().map(ArrayArg::view),
        alibi_slopes: alibi_slopes.as_ref().map(ArrayArg::view),
        sinks: sinks.as_ref().map(ArrayArg::view),
        kv_scales: kv_scales(&k_scale, &v_scale),
    };
    let mut out = out.view_mut(OP)?;
    let device = inputs.q.device();
    run_detached(py, OP, device, || {
        pal_core::paged_attention_prefill(&inputs, &mut out, &options)
    })
}

#[pyfunction]
#[pyo3(signature = (new_keys, new_values, k_cache, v_cache, page_table=None, positions=None, token_to_seq=None, slot_mapping=None, layout="pal", k_scale=None, v_scale=None, cuda_stream=0, check=None))]
#[allow(clippy::too_many_arguments)]
fn fill_kv_pages(
    py: Python<'_>,
    new_keys: &Bound<'_, PyAny>,
    new_values: &Bound<'_, PyAny>,
    k_cache: &Bound<'_, PyAny>,
    v_cache: &Bound<'_, PyAny>,
    page_table: Option<&Bound<'_, PyAny>>,
    positions: Option<&Bound<'_, PyAny>>,
    token_to_seq: Option<&Bound<'_, PyAny>>,
    slot_mapping: Option<&Bound<'_, PyAny>>,
    layout: &str,
    k_scale: Option<&Bound<'_, PyAny>>,
    v_scale: Option<&Bound<'_, PyAny>>,
    cuda_stream: usize,
    check: Option<bool>,
) -> PyResult<()> {
    const OP: &str = "fill_kv_pages";
    profile::start();
    let options = FillOptions {
        layout: parse::<CacheLayout>(OP, layout)?,
        execution: Execution {
            stream: cuda_stream,
            check: table_check(check),
        },
    };
    let keys = ArrayArg::extract(OP, "new_keys", new_keys)?;
    let values = ArrayArg::extract(OP, "new_values", new_values)?;
    let k_cache = ArrayArg::extract(OP, "k_cache", k_cache)?;
    let v_cache = ArrayArg::extract(OP, "v_cache", v_cache)?;
    let page_table = ArrayArg::extract_index_optional(OP, "page_table", page_table)?;
    let positions = ArrayArg::extract_index_optional(OP, "positions", positions)?;
    let token_to_seq = ArrayArg::extract_index_optional(OP, "token_to_seq", token_to_seq)?;
    let slot_mapping = ArrayArg::extract_index_optional(OP, "slot_mapping", slot_mapping)?;
    let (k_scale, v_scale) = ScaleArg::pair(OP, k_scale, v_scale)?;
    let destination = match (slot_mapping, page_table, positions, token_to_seq) {
        (Some(slots), None, None, None) => Destination::Slots(slots),
        (None, Some(table), Some(positions), Some(seqs)) => Destination::Positions(table, positions, seqs),
        (Some(_), ..) => {
            return Err(usage_error(
                "slot_mapping alone, without page_table, positions or token_to_seq",
                "both forms",
            ))
        }
        (None, table, positions, seqs) => {
            let missing: Vec<&str> = [
                ("page_table", table.is_none()),
                ("positions", positions.is_none()),
                ("token_to_seq", seqs.is_none()),
            ]
            .iter()
            .filter_map(|&(name, absent)| absent.then_some(name))
            .collect();
            return Err(usage_error(
                "page_table, positions and token_to_seq (or slot_mapping)",
                &format!("no {}", missing.join(", ")),
            ));
        }
    };
    let inputs = FillInputs {
        new_keys: keys.view(),
        new_values: values.view(),
        destination: match &destination {
            Destination::Slots(slots) => KvDestination::SlotMapping(slots.view()),
            Destination::Positions(table, positions, seqs) => KvDestination::Positions {
                page_table: table.view(),
                positions: positions.view(),
                token_to_seq: seqs.view(),
            },
        },
        kv_scales: kv_scales(&k_scale, &v_scale),
    };
    let (mut k_pool, mut v_pool) = (k_cache.view_mut(OP)?, v_cache.view_mut(OP)?);
    let device = inputs.new_keys.device();
    run_detached(py, OP, device, || {
        pal_core::fill_kv_pages(&inputs, &mut k_pool, &mut v_pool, &options)
    })
}

enum Destination<'py> {
    Slots(ArrayArg<'py>),
    Positions(ArrayArg<'py>, ArrayArg<'py>, ArrayArg<'py>),
}

fn usage_error(expected: &str, actual: &str) -> PyErr {
    to_py_err(pal_core::Error::Value {
        op: "fill_kv_pages",
        arg: "destination".into(),
        expected: expected.into(),
        actual: actual.into(),
    })
}

/// A size argument of the shape helper `op`: a non-negative integer (negative or oversized ones
/// raise `PalValueError` naming the argument, not Python's `OverflowError`).
fn count(op: &'static str, name: &'static str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let refuse = |actual: String| {
        to_py_err(pal_core::Error::Value {
            op,
            arg: name.into(),
            expected: format!("a non-negative integer of at most {}", i64::MAX),
            actual,
        })
    };
    match value.extract::<i64>() {
        Ok(n) => usize::try_from(n).map_err(|_| refuse(n.to_string())),
        Err(_) => Err(refuse(value.repr()?.to_string())),
    }
}

/// A pool-shape helper of the core (`pal_core::k_cache_shape`'s signature).
type ShapeHelper = fn(usize, usize, usize, usize, DType, CacheLayout) -> pal_core::Result<Vec<usize>>;

/// The Python face of a pool-shape helper of the core: its sizes read as counts, and every error
/// naming the helper as Python spells it (`op`).
fn shape_helper<'py>(
    py: Python<'py>,
    op: &'static str,
    helper: ShapeHelper,
    [num_pages, num_kv_heads, head_dim, page_size]: [&Bound<'py, PyAny>; 4],
    dtype: &str,
    layout: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    let shape = helper(
        count(op, "num_pages", num_pages)?,
        count(op, "num_kv_heads", num_kv_heads)?,
        count(op, "head_dim", head_dim)?,
        count(op, "page_size", page_size)?,
        DType::pool(dtype, op).map_err(to_py_err)?,
        parse(op, layout)?,
    );
    shape_tuple(py, shape.map_err(|e| to_py_err(e.in_op(op)))?)
}

#[pyfunction]
#[pyo3(signature = (num_pages, num_kv_heads, head_dim, page_size, dtype, layout="pal"))]
fn k_cache_shape<'py>(
    py: Python<'py>,
    num_pages: &Bound<'py, PyAny>,
    num_kv_heads: &Bound<'py, PyAny>,
    head_dim: &Bound<'py, PyAny>,
    page_size: &Bound<'py, PyAny>,
    dtype: &str,
    layout: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    let sizes = [num_pages, num_kv_heads, head_dim, page_size];
    shape_helper(py, "get_k_cache_shape", pal_core::k_cache_shape, sizes, dtype, layout)
}

#[pyfunction]
#[pyo3(signature = (num_pages, num_kv_heads, head_dim, page_size, dtype, layout="pal"))]
fn v_cache_shape<'py>(
    py: Python<'py>,
    num_pages: &Bound<'py, PyAny>,
    num_kv_heads: &Bound<'py, PyAny>,
    head_dim: &Bound<'py, PyAny>,
    page_size: &Bound<'py, PyAny>,
    dtype: &str,
    layout: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    let sizes = [num_pages, num_kv_heads, head_dim, page_size];
    shape_helper(py, "get_v_cache_shape", pal_core::v_cache_shape, sizes, dtype, layout)
}

#[pyfunction]
fn k_cache_stripe_size(dtype: &str) -> PyResult<usize> {
    // Errors name the helper as Python spells it.
    const OP: &str = "get_k_cache_stripe_size";
    let dtype = DType::pool(dtype, OP).map_err(to_py_err)?;
    pal_core::k_cache_stripe_size(dtype).map_err(|e| to_py_err(e.in_op(OP)))
}

/// `(shape, dtype name, CUDA device index or None)` of an array argument (see `array::describe`).
#[pyfunction]
fn array_info<'py>(
    py: Python<'py>,
    op: &str,
    name: &str,
    object: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyTuple>, String, Option<usize>)> {
    let (shape, dtype, device) = array::describe(op, name, object)?;
    Ok((shape_tuple(py, shape)?, dtype, device))
}

/// `array::dense_host_copy` for the facade: (shape, dtype name, bytes) of a C-contiguous copy of
/// a host row view known through `__dlpack__` / `__array_interface__`, or None.
#[pyfunction]
fn dense_host_copy<'py>(
    py: Python<'py>,
    op: &str,
    name: &str,
    object: &Bound<'py, PyAny>,
) -> PyResult<Option<DenseCopy<'py>>> {
    array::dense_host_copy(op, name, object)?
        .map(|copy| Ok((shape_tuple(py, copy.shape)?, copy.dtype, PyBytes::new(py, &copy.bytes))))
        .transpose()
}

/// (shape, dtype name, bytes) of a C-contiguous host copy.
type DenseCopy<'py> = (Bound<'py, PyTuple>, String, Bound<'py, PyBytes>);

/// The host's paged-read ceiling in GB/s (`pal_core::read_ceiling`): the best cell for blocks of
/// `block_bytes` (a multiple of 128) over a buffer of `buffer_bytes`, on all cores, without the
/// interpreter lock.
#[pyfunction]
fn paged_read_ceiling(py: Python<'_>, block_bytes: usize, buffer_bytes: usize) -> PyResult<f64> {
    if block_bytes == 0 || !block_bytes.is_multiple_of(128) || buffer_bytes < block_bytes {
        return Err(to_py_err(pal_core::Error::value(
            "paged_read_ceiling",
            "block_bytes",
            "a positive multiple of 128 within buffer_bytes",
            block_bytes,
        )));
    }
    Ok(py.detach(|| {
        let data = pal_core::read_ceiling::buffer(buffer_bytes);
        pal_core::read_ceiling::paged_read_ceiling(&data, block_bytes)
    }))
}

/// The host-cost profile (a lab instrument, `pal_core::host_profile`): turns it on or off when
/// `enable` is given, and returns the calls this thread started and each stage's nanoseconds
/// since the last call of this function, which resets them.
#[pyfunction]
#[pyo3(signature = (enable=None))]
fn host_profile(enable: Option<bool>) -> (u64, Vec<(&'static str, u64)>) {
    let taken = profile::take();
    if let Some(on) = enable {
        profile::enable(on);
    }
    taken
}

#[pyfunction]
fn optimal_page_size() -> usize {
    pal_core::optimal_page_size()
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(paged_attention_decode, module)?)?;
    module.add_function(wrap_pyfunction!(dense_host_copy, module)?)?;
    module.add_function(wrap_pyfunction!(paged_read_ceiling, module)?)?;
    module.add_function(wrap_pyfunction!(paged_attention_prefill, module)?)?;
    module.add_function(wrap_pyfunction!(fill_kv_pages, module)?)?;
    module.add_function(wrap_pyfunction!(k_cache_shape, module)?)?;
    module.add_function(wrap_pyfunction!(v_cache_shape, module)?)?;
    module.add_function(wrap_pyfunction!(k_cache_stripe_size, module)?)?;
    module.add_function(wrap_pyfunction!(optimal_page_size, module)?)?;
    module.add_function(wrap_pyfunction!(array_info, module)?)?;
    module.add_function(wrap_pyfunction!(host_profile, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
