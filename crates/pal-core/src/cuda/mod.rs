//! The CUDA backend. Kernels are the `.cu` files under `kernels/`, embedded in the binary and
//! compiled at run time by NVRTC for the device's own architecture ([`jit`]), one module per
//! specialisation, cached in memory and on disk. Launches go through the driver API's raw
//! layer on the caller's stream (torch's current stream from Python), so PAL never creates,
//! synchronises or owns a stream unless `Execution::check` asks it to validate device tables.

/// `layout_key` of struct `$s` over the fields that start its runs, then its size (the list
/// the kernel's `*_PARAMS_LAYOUT` names in the same order).
macro_rules! params_layout {
    ($s:ty: $($field:ident),+) => {
        super::layout_key(&[$(std::mem::offset_of!($s, $field),)+ std::mem::size_of::<$s>()])
    };
}

mod decode;
mod device;
mod fill;
pub mod jit;
mod prefill;

use crate::backend::Backend;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheGeometry;
use crate::problem::{DecodeProblem, FillProblem, KvScale, KvScales, PrefillProblem};
use crate::tensor::{Device, TensorView, TensorViewMut};
use crate::validate::Check;
use crate::variant::AttentionVariant;
use jit::Family;
use std::sync::OnceLock;

pub use jit::{compile_all_kernels, KERNEL_DIR_ENV};

pub(crate) struct CudaBackend;

/// Head dims with a CUDA attention kernel.
pub const HEAD_DIMS: [usize; 7] = [64, 80, 96, 112, 128, 192, 256];
/// Page sizes with a CUDA decode kernel (every power of two up to 128).
pub const PAGE_SIZES: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 128];
/// Dynamic shared memory one CTA may use on an H100 / H200 (compute capability 9.0).
pub(crate) const HOPPER_SHARED_BYTES: usize = shared_memory((9, 0)).per_cta;

/// Shared memory (per SM, and the most one CTA may opt in to) on a GPU of compute capability
/// `arch`, from CUDA's tables: sm_80 / sm_87 164 / 163 KiB, sm_90 / sm_100 228 / 227 KiB, the
/// others of sm_80 and up (sm_86, sm_89, sm_120) 100 / 99 KiB.
pub(crate) const fn shared_memory(arch: (i32, i32)) -> SharedMemory {
    let per_sm = match arch {
        (8, 0) | (8, 7) => 164,
        (9, 0) | (10, _) => 228,
        _ => 100,
    } << 10;
    SharedMemory {
        per_sm,
        per_cta: per_sm - 1024,
    }
}

/// See [`shared_memory`].
#[derive(Clone, Copy)]
pub(crate) struct SharedMemory {
    pub per_sm: usize,
    pub per_cta: usize,
}

impl Backend for CudaBackend {
    fn decode(&self, problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
        decode::run(problem, out)
    }

    fn prefill(&self, problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
        prefill::run(problem, out)
    }

    fn fill(
        &self,
        problem: &FillProblem<'_, '_>,
        k_cache: &mut TensorViewMut<'_>,
        v_cache: &mut TensorViewMut<'_>,
    ) -> Result<()> {
        fill::run(problem, k_cache, v_cache)
    }
}

fn driver_error(op: &'static str, what: &str, error: cudarc::driver::DriverError) -> Error {
    Error::Internal {
        op,
        backend: "cuda",
        message: format!("{what}: {error:?}"),
    }
}

/// `Ok` when a shared library PAL calls into is loadable (`present`: cudarc's probe, which loads
/// nothing else; any other call into a missing library panics inside cudarc), else
/// `BackendUnavailable` with `missing`, which says what to install.
pub(crate) fn require_library(present: bool, missing: &str) -> Result<()> {
    if present {
        Ok(())
    } else {
        Err(Error::BackendUnavailable {
            backend: "cuda",
            reason: missing.into(),
        })
    }
}

/// A lab knob's setting: `name`'s value in the `name=value` pairs of the environment variable
/// `env` (`PAL_DECODE_TUNING`, `PAL_PREFILL_TUNING`, `PAL_FILL_TUNING`), read once per process
/// into `cell`;
/// unparsable items are ignored.
pub(crate) fn knob(cell: &'static OnceLock<Vec<(String, usize)>>, env: &str, name: &str) -> Option<usize> {
    let entries = cell.get_or_init(|| {
        std::env::var(env)
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| {
                let (key, value) = item.split_once('=')?;
                Some((key.trim().to_string(), value.trim().parse().ok()?))
            })
            .collect()
    });
    entries.iter().find(|(key, _)| key == name).map(|&(_, value)| value)
}

/// Whether `family` has a kernel for this head dim and page size (every layout and attention
/// variant has one); the "unsupported" error names what is supported otherwise.
pub(crate) fn check_supported(
    op: &'static str,
    family: Family,
    kv_dtype: DType,
    (head_dim, page_size): (usize, usize),
) -> Result<()> {
    let unsupported = |what: String, supported: String| {
        Err(Error::Unsupported {
            op,
            backend: "cuda",
            what,
            supported,
        })
    };
    if !HEAD_DIMS.contains(&head_dim) {
        return unsupported(format!("head_dim {head_dim}"), format!("head dims {HEAD_DIMS:?}"));
    }
    if !PAGE_SIZES.contains(&page_size) {
        return unsupported(
            format!("page_size {page_size}"),
            format!("page sizes {PAGE_SIZES:?} for {} over {kv_dtype} pools", family.name()),
        );
    }
    Ok(())
}

/// The kernel key's attention variant: which of the window, soft-cap, ALiBi slopes and sinks a
/// call uses (their values reach the kernel at run time, in [`VariantParams`]), named `"plain"`
/// or its options joined by `+` in that order (`pal::Variant<...>` in `variant.cuh`).
pub(crate) fn kernel_variant(variant: &AttentionVariant, alibi: bool, sinks: bool) -> &'static str {
    const NAMES: [&str; 16] = [
        "plain",
        "window",
        "softcap",
        "window+softcap",
        "alibi",
        "window+alibi",
        "softcap+alibi",
        "window+softcap+alibi",
        "sinks",
        "window+sinks",
        "softcap+sinks",
        "window+softcap+sinks",
        "alibi+sinks",
        "window+alibi+sinks",
        "softcap+alibi+sinks",
        "window+softcap+alibi+sinks",
    ];
    let bit = |on: bool, value: usize| if on { value } else { 0 };
    NAMES[bit(variant.window_left.is_some(), 1)
        | bit(variant.logits_soft_cap.is_some(), 2)
        | bit(alibi, 4)
        | bit(sinks, 8)]
}

/// Mirror of `pal::KvScaleParams`: the fp8 pools' scales (1 for other pools), the last member
/// of the attention and fill parameters. A head's scale is `value * tensor[head * stride]`.
#[repr(C)]
pub(crate) struct KvScaleParams {
    k_scales: u64,
    v_scales: u64,
    k_scale: f32,
    v_scale: f32,
    k_stride: i32,
    v_stride: i32,
}

impl KvScaleParams {
    pub fn new(scales: &KvScales<'_>) -> Self {
        let part = |scale: &KvScale<'_>| match scale {
            KvScale::Value(x) => (0, *x, 0),
            KvScale::Tensor(t) => (t.as_ptr() as u64, 1.0, (t.numel() > 1) as i32),
        };
        let (k_scales, k_scale, k_stride) = part(&scales.k);
        let (v_scales, v_scale, v_stride) = part(&scales.v);
        Self {
            k_scales,
            v_scales,
            k_scale,
            v_scale,
            k_stride,
            v_stride,
        }
    }
}

/// Mirror of `pal::VariantParams`: the variant's run-time values (part of the attention kernels'
/// parameters).
#[repr(C)]
pub(crate) struct VariantParams {
    alibi_slopes: u64,
    sinks: u64,
    window_left: i32,
    soft_cap: f32,
}

impl VariantParams {
    pub fn new(
        variant: &AttentionVariant,
        alibi_slopes: Option<&TensorView<'_>>,
        sinks: Option<&TensorView<'_>>,
    ) -> Self {
        let address = |t: Option<&TensorView<'_>>| t.map_or(0, |t| t.as_ptr() as u64);
        Self {
            alibi_slopes: address(alibi_slopes),
            sinks: address(sinks),
            window_left: variant.window_left.map_or(-1, |w| w.min(i32::MAX as usize) as i32),
            soft_cap: variant.logits_soft_cap.unwrap_or(0.0),
        }
    }
}

/// Raises the invalid table entry an earlier kernel on `gpu` reported (deferred checking), if any:
/// the error names the op that met it, the argument, the entry and its value.
pub(crate) fn raise_reported_table_error(
    gpu: &device::Gpu,
    op: &'static str,
    ordinal: usize,
    stream: usize,
) -> Result<()> {
    match gpu.take_table_error(op, stream)? {
        Some(record) => Err(reported_table_error(&record, ordinal)),
        None => Ok(()),
    }
}

/// The error of an invalid table entry that a kernel on GPU `ordinal` recorded. The value is the
/// int32 the kernel read: at int32's bounds it may be an int64 entry beyond them, which the
/// facade clamped to them (its given value is not kept past the call), and the message says so.
fn reported_table_error(record: &device::TableErrorRecord, ordinal: usize) -> Error {
    let earlier = match record.op {
        1 => "paged_attention_decode",
        2 => "paged_attention_prefill",
        _ => "fill_kv_pages",
    };
    let (row, index) = (record.row, record.index);
    let (arg, expected) = match record.kind {
        1 if record.op == 1 => (format!("seq_lens[{row}]"), "within 0..=the page table's capacity"),
        1 => (format!("context_lens[{row}]"), "within 0..=the page table's capacity"),
        2 => (format!("page_table[{row}, {index}]"), "a page id inside the pool"),
        3 => (
            format!("cu_seqlens_q[{index}]"),
            "non-decreasing offsets within 0..=total tokens",
        ),
        4 => (
            format!("slot_mapping[{index}]"),
            "a slot inside the pool, or negative to skip",
        ),
        5 => (format!("positions[{index}]"), "within the page table's capacity"),
        _ => (format!("token_to_seq[{index}]"), "a row of the page table"),
    };
    let bound = if record.value == i32::MAX || record.value == i32::MIN {
        "int32's bound, to which an int64 entry beyond int32 is clamped; "
    } else {
        ""
    };
    Error::Value {
        op: earlier,
        arg,
        expected: expected.into(),
        actual: format!(
            "{} ({bound}found on cuda:{ordinal} by the kernel of an earlier call, which skipped it; \
             reported by the next call, which did not run; pass check=True to validate before launching)",
            record.value
        ),
    }
}

/// Device-side index tensors read back to the host (a copy and a wait on the stream) and checked
/// exactly as host tensors are, so messages match the CPU backend: the one read-back path of the
/// CUDA ops, taken when `Execution::check` asks for it.
pub(crate) struct DeviceTables {
    pub op: &'static str,
    pub ordinal: usize,
    pub stream: usize,
}

impl DeviceTables {
    /// The host-side checks of this op on this device.
    pub fn check(&self) -> Check {
        Check {
            op: self.op,
            device: Device::Cuda(self.ordinal),
        }
    }

    /// The int32 contents of a device tensor.
    pub fn read(&self, tensor: &TensorView<'_>) -> Result<Vec<i32>> {
        device::read_i32(self.op, tensor.as_ptr(), tensor.numel(), self.stream)
    }

    /// Lengths within the page table's capacity and every page id they use inside the pool.
    pub fn check_lengths_and_pages(
        &self,
        lengths_arg: &str,
        lengths: &TensorView<'_>,
        page_table: &TensorView<'_>,
        pages_per_sequence: usize,
        geometry: &CacheGeometry,
    ) -> Result<()> {
        let (lengths, table) = (self.read(lengths)?, self.read(page_table)?);
        self.check()
            .lengths_and_pages(lengths_arg, &lengths, &table, pages_per_sequence, geometry)
    }
}

/// A parameter struct's layout as its kernel checks it against the host's mirror
/// (`pal::layout_key`, common.cuh): `offsets` (where each run of fields starts, then the size),
/// each weighted by its place. Passed as a key's `PARAMS_LAYOUT`; built by `params_layout!`.
const fn layout_key(offsets: &[usize]) -> usize {
    let (mut key, mut place) = (0, 0);
    while place < offsets.len() {
        key += (place + 1) * offsets[place];
        place += 1;
    }
    key
}

/// PAL's kernels move whole 16-byte vectors: every tensor they address must start on a 16-byte
/// boundary (allocations do; only views at odd element offsets do not).
fn check_aligned(op: &'static str, tensors: &[(&str, usize)]) -> Result<()> {
    match tensors.iter().find(|(_, address)| address % 16 != 0) {
        Some((name, address)) => Err(Error::Unsupported {
            op,
            backend: "cuda",
            what: format!("{name} starting at address {address:#x}"),
            supported: "tensors whose data starts on a 16-byte boundary".into(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use device::TableErrorRecord;

    #[test]
    fn a_reported_entry_at_int32s_bound_may_be_a_clamped_int64_one_and_says_so() {
        let slot = |value| TableErrorRecord {
            kind: 4,
            row: -1,
            index: 1,
            value,
            op: 3,
        };
        let tail = "found on cuda:0 by the kernel of an earlier call, which skipped it; reported by the next \
                    call, which did not run; pass check=True to validate before launching)";
        let expected = "fill_kv_pages: `slot_mapping[1]` must be a slot inside the pool, or negative to skip, got";
        assert_eq!(
            reported_table_error(&slot(500), 0).to_string(),
            format!("{expected} 500 ({tail}")
        );
        let clamped = "int32's bound, to which an int64 entry beyond int32 is clamped; ";
        assert_eq!(
            reported_table_error(&slot(i32::MAX), 0).to_string(),
            format!("{expected} 2147483647 ({clamped}{tail}")
        );
        let page = TableErrorRecord {
            kind: 2,
            row: 1,
            index: 0,
            value: i32::MIN,
            op: 1,
        };
        assert_eq!(
            reported_table_error(&page, 2).to_string(),
            format!(
                "paged_attention_decode: `page_table[1, 0]` must be a page id inside the pool, got -2147483648 \
                 ({clamped}{}",
                tail.replace("cuda:0", "cuda:2")
            )
        );
    }
}
