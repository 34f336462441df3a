//! Run-time compilation of the kernels with NVRTC.
//!
//! A kernel module is named by its [`KernelKey`]: the family (which entry file), the dtypes,
//! head dim, page size, layout and variant, and the shape the host chose for that family (tile
//! sizes, shared memory, parameter-struct sizes). The key gives the module's `-D` defines, its
//! readable name and, with the source hash, architecture and NVRTC version, its cache key; the
//! kernels `static_assert` the shape against their own formulas, so host and device cannot
//! drift apart silently. Set [`KERNEL_DIR_ENV`] to a folder laid out like `kernels/` (entry
//! files at the top, headers under `include/`) to compile edited sources without rebuilding Rust.

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};

use cudarc::nvrtc::{result, sys};
use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheLayout;

/// Environment variable naming a folder of kernel sources that replaces the embedded ones.
pub const KERNEL_DIR_ENV: &str = "PAL_KERNEL_DIR";
/// Environment variable naming the on-disk kernel cache (default `~/.cache/pal/kernels`).
pub const CACHE_DIR_ENV: &str = "PAL_CACHE_DIR";
/// Environment variable naming a file to which every kernel compile (a cache miss) appends a
/// line: the key's name, the seconds it took and the process id (where the GPU suite's time
/// goes, and whether processes compiled a module twice).
pub const COMPILE_LOG_ENV: &str = "PAL_COMPILE_LOG";

/// Every kernel source file: (name as included, embedded text). Headers are included as `pal/...`.
const SOURCES: &[(&str, &str)] = &[
    ("decode_mma.cu", include_str!("../../kernels/decode_mma.cu")),
    ("decode_rows.cu", include_str!("../../kernels/decode_rows.cu")),
    ("decode_simt.cu", include_str!("../../kernels/decode_simt.cu")),
    (
        "decode_tf32_wgmma.cu",
        include_str!("../../kernels/decode_tf32_wgmma.cu"),
    ),
    ("fill.cu", include_str!("../../kernels/fill.cu")),
    ("prefill_mma.cu", include_str!("../../kernels/prefill_mma.cu")),
    ("prefill_simt.cu", include_str!("../../kernels/prefill_simt.cu")),
    ("prefill_wgmma.cu", include_str!("../../kernels/prefill_wgmma.cu")),
    ("pal/common.cuh", include_str!("../../kernels/include/pal/common.cuh")),
    ("pal/layout.cuh", include_str!("../../kernels/include/pal/layout.cuh")),
    ("pal/paged.cuh", include_str!("../../kernels/include/pal/paged.cuh")),
    ("pal/softmax.cuh", include_str!("../../kernels/include/pal/softmax.cuh")),
    ("pal/variant.cuh", include_str!("../../kernels/include/pal/variant.cuh")),
    ("pal/mma.cuh", include_str!("../../kernels/include/pal/mma.cuh")),
    ("pal/merge.cuh", include_str!("../../kernels/include/pal/merge.cuh")),
    ("pal/decode.cuh", include_str!("../../kernels/include/pal/decode.cuh")),
    (
        "pal/decode_mma.cuh",
        include_str!("../../kernels/include/pal/decode_mma.cuh"),
    ),
    (
        "pal/decode_mma_tile.cuh",
        include_str!("../../kernels/include/pal/decode_mma_tile.cuh"),
    ),
    (
        "pal/decode_rows.cuh",
        include_str!("../../kernels/include/pal/decode_rows.cuh"),
    ),
    (
        "pal/decode_tf32.cuh",
        include_str!("../../kernels/include/pal/decode_tf32.cuh"),
    ),
    (
        "pal/decode_tf32_wgmma.cuh",
        include_str!("../../kernels/include/pal/decode_tf32_wgmma.cuh"),
    ),
    (
        "pal/decode_simt.cuh",
        include_str!("../../kernels/include/pal/decode_simt.cuh"),
    ),
    ("pal/fill.cuh", include_str!("../../kernels/include/pal/fill.cuh")),
    ("pal/prefill.cuh", include_str!("../../kernels/include/pal/prefill.cuh")),
    (
        "pal/prefill_mma.cuh",
        include_str!("../../kernels/include/pal/prefill_mma.cuh"),
    ),
    (
        "pal/prefill_simt.cuh",
        include_str!("../../kernels/include/pal/prefill_simt.cuh"),
    ),
    ("pal/wgmma.cuh", include_str!("../../kernels/include/pal/wgmma.cuh")),
    (
        "pal/prefill_wgmma.cuh",
        include_str!("../../kernels/include/pal/prefill_wgmma.cuh"),
    ),
];

/// A kernel family: one entry file and the kernels it exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Decode on tensor cores (float16 / bfloat16), with its split merge.
    DecodeMma,
    /// Decode on CUDA cores over float32 pools (warp-private rings), with its split merge.
    DecodeRows,
    /// Decode on CUDA cores over fp8 pools under float32 queries, with its split merge.
    DecodeSimt,
    /// Decode over float32 pools on Hopper's TF32 wgmma (sm_90a; large GQA groups).
    DecodeTf32Wgmma,
    /// Prefill on tensor cores (float16 / bfloat16).
    PrefillMma,
    /// Prefill on CUDA cores (float32).
    PrefillSimt,
    /// Prefill on Hopper tensor cores (sm_90a wgmma; float16 / bfloat16).
    PrefillWgmma,
    /// `fill_kv_pages`.
    Fill,
}

impl Family {
    /// Its name, which is also its entry file's stem.
    pub fn name(self) -> &'static str {
        match self {
            Family::DecodeMma => "decode_mma",
            Family::DecodeRows => "decode_rows",
            Family::DecodeSimt => "decode_simt",
            Family::DecodeTf32Wgmma => "decode_tf32_wgmma",
            Family::PrefillMma => "prefill_mma",
            Family::PrefillSimt => "prefill_simt",
            Family::PrefillWgmma => "prefill_wgmma",
            Family::Fill => "fill",
        }
    }

    /// The entry file under `kernels/`.
    pub fn entry_file(self) -> &'static str {
        match self {
            Family::DecodeMma => "decode_mma.cu",
            Family::DecodeRows => "decode_rows.cu",
            Family::DecodeSimt => "decode_simt.cu",
            Family::DecodeTf32Wgmma => "decode_tf32_wgmma.cu",
            Family::PrefillMma => "prefill_mma.cu",
            Family::PrefillSimt => "prefill_simt.cu",
            Family::PrefillWgmma => "prefill_wgmma.cu",
            Family::Fill => "fill.cu",
        }
    }

    /// The `extern "C"` kernels its modules export.
    pub fn entries(self) -> &'static [&'static str] {
        match self {
            Family::DecodeMma | Family::DecodeRows | Family::DecodeSimt | Family::DecodeTf32Wgmma => {
                &["pal_decode", "pal_decode_merge", "pal_decode_merge_few"]
            }
            Family::PrefillMma | Family::PrefillWgmma => &["pal_prefill", "pal_prefill_merge", "pal_prefill_merge_few"],
            Family::PrefillSimt => &["pal_prefill"],
            Family::Fill => &["pal_fill"],
        }
    }

    /// The one architecture whose specific instructions (wgmma) it uses, if any: it is compiled
    /// for that architecture alone (`sm_90a`), the others for whichever GPU runs them.
    pub fn arch_specific(self) -> Option<(i32, i32)> {
        match self {
            Family::PrefillWgmma | Family::DecodeTf32Wgmma => Some((9, 0)),
            _ => None,
        }
    }
}

/// Every compile-time parameter of one kernel module; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelKey {
    /// Which entry file.
    pub family: Family,
    /// Dtype of queries and outputs.
    pub query_dtype: DType,
    /// Dtype of the KV pools.
    pub kv_dtype: DType,
    /// Head dim, or `None` when the family takes it at run time.
    pub head_dim: Option<usize>,
    /// Tokens per page, or `None` when the family takes it at run time.
    pub page_size: Option<usize>,
    /// Cache layout.
    pub layout: CacheLayout,
    /// Attention variant (`AttentionVariant::name`); `"plain"` for non-attention families.
    pub variant: &'static str,
    /// The shape the host chose for this family, as `(NAME, value)` defines (`PAL_NAME`).
    pub shape: Vec<(&'static str, usize)>,
}

fn device_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F16 => "pal::f16",
        DType::BF16 => "pal::bf16",
        DType::F8E4M3 => "pal::e4m3",
        DType::F8E5M2 => "pal::e5m2",
        DType::I32 => unreachable!("validated float dtype"),
    }
}

fn short_dtype(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        DType::F8E4M3 => "e4m3",
        DType::F8E5M2 => "e5m2",
        DType::I32 => "i32",
    }
}

fn layout_constant(layout: CacheLayout) -> &'static str {
    match layout {
        CacheLayout::Pal => "pal::LAYOUT_PAL",
        CacheLayout::Nhd => "pal::LAYOUT_NHD",
        CacheLayout::Hnd => "pal::LAYOUT_HND",
    }
}

/// The device policy of a variant name (`cuda::kernel_variant`; `kernels/include/pal/variant.cuh`).
fn variant_policy(variant: &str) -> String {
    let on = |option: &str| variant.split('+').any(|o| o == option);
    format!(
        "pal::Variant<{}, {}, {}, {}>",
        on("window"),
        on("softcap"),
        on("alibi"),
        on("sinks")
    )
}

/// (dtype, head dim, page size, layout) of an attention call.
/// (query dtype, KV dtype), head dim, page size, layout.
pub(crate) type Geometry = ((DType, DType), usize, usize, CacheLayout);

impl KernelKey {
    /// The module of an attention family for this geometry (the queries' dtype, and the KV
    /// pools': the same, or fp8), variant and shape.
    pub(crate) fn attention(
        family: Family,
        geometry: Geometry,
        variant: &'static str,
        shape: Vec<(&'static str, usize)>,
    ) -> Self {
        let ((query_dtype, kv_dtype), head_dim, page_size, layout) = geometry;
        Self {
            family,
            query_dtype,
            kv_dtype,
            head_dim: Some(head_dim),
            page_size: Some(page_size),
            layout,
            variant,
            shape,
        }
    }

    /// The `-D` defines: one per parameter and per shape entry.
    pub fn defines(&self) -> Vec<(String, String)> {
        let mut defines = vec![
            ("PAL_QUERY_DTYPE".to_string(), device_type(self.query_dtype).to_string()),
            ("PAL_KV_DTYPE".into(), device_type(self.kv_dtype).into()),
            ("PAL_LAYOUT".into(), layout_constant(self.layout).into()),
            ("PAL_VARIANT".into(), variant_policy(self.variant)),
        ];
        if let Some(head_dim) = self.head_dim {
            defines.push(("PAL_HEAD_DIM".into(), head_dim.to_string()));
        }
        if let Some(page_size) = self.page_size {
            defines.push(("PAL_PAGE_SIZE".into(), page_size.to_string()));
        }
        defines.extend(
            self.shape
                .iter()
                .map(|(name, value)| (format!("PAL_{name}"), value.to_string())),
        );
        defines
    }

    /// Readable name built from every parameter, e.g.
    /// `decode_mma-bf16-bf16-d128-p16-pal-plain[M_TILES=1,WARPS=4,...]`.
    pub fn name(&self) -> String {
        let size = |prefix: &str, value: Option<usize>| value.map(|v| format!("-{prefix}{v}")).unwrap_or_default();
        let shape: Vec<String> = self.shape.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "{}-{}-{}{}{}-{}-{}[{}]",
            self.family.name(),
            short_dtype(self.query_dtype),
            short_dtype(self.kv_dtype),
            size("d", self.head_dim),
            size("p", self.page_size),
            self.layout.name(),
            self.variant,
            shape.join(",")
        )
    }

    /// A shape entry, if the family has it (e.g. `"SHARED_BYTES"`).
    pub fn shape_value(&self, name: &str) -> Option<usize> {
        self.shape.iter().find(|(k, _)| *k == name).map(|&(_, v)| v)
    }

    /// The same key with shape entry `name` set to `value` (e.g. a prefill's `SPLIT` kernel).
    pub fn with_shape(&self, name: &str, value: usize) -> Self {
        let shape = self
            .shape
            .iter()
            .map(|&(k, v)| (k, if k == name { value } else { v }))
            .collect();
        KernelKey { shape, ..self.clone() }
    }

    /// A readable name for messages.
    pub fn describe(&self) -> String {
        format!("kernel {}", self.name())
    }

    /// The keys CI compiles (`compile_all_kernels`), each with the GPU it was chosen for (and
    /// compiled for: a key chosen for an sm_80 runs on no Hopper, and the Hopper keys of the
    /// portable families hold its forms): every family, entry file, dtype and layout, each head
    /// dim at page size 16 and each page size at head dim 128, plus the grouped-query shapes
    /// that change the tile. The rest differ from these only in numbers.
    pub fn representative() -> Vec<(Self, (i32, i32))> {
        use super::decode::Form;
        // MQA's two m-tiles a CTA (evict-first), and the evict-first copies alone.
        let mqa = Form {
            m_tiles: 2,
            evict_first: true,
            ..Form::BASE
        };
        let evict_first = Form {
            evict_first: true,
            ..Form::BASE
        };
        let mut keys: Vec<(Self, (i32, i32))> = Vec::new();
        // (a key's Result or Option: kernel_key declines some geometries)
        let at = |arch: (i32, i32)| move |key: Self| (key, arch);
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let dtypes = (dtype, dtype);
            for layout in CacheLayout::ALL {
                keys.push((super::fill::kernel_key(dtypes, layout, 16), PORTABLE));
                // pal pages under a vector's slots: values a page's run a store (float32: 2;
                // bfloat16: 2 and 4; float16 differs in numbers only).
                if layout == CacheLayout::Pal && dtype != DType::F16 {
                    let pages: &[usize] = if dtype == DType::F32 { &[2] } else { &[2, 4] };
                    keys.extend(
                        pages
                            .iter()
                            .map(|&page| (super::fill::kernel_key(dtypes, layout, page), PORTABLE)),
                    );
                }
                // (float16 at head dim 128 and page 16 only: its keys differ from bfloat16's in
                // numbers)
                let pairs: Vec<(usize, usize)> = if dtype == DType::F16 {
                    vec![(128, 16)]
                } else {
                    let dims = super::HEAD_DIMS.iter().map(|&d| (d, 16));
                    dims.chain(super::PAGE_SIZES.iter().filter(|&&p| p != 16).map(|&p| (128, p)))
                        .collect()
                };
                for (head_dim, page_size) in pairs {
                    let geometry = |page_size| (dtypes, head_dim, page_size, layout);
                    // Hopper's decode keys differ where it copies V with TMA (pal pages of 32+).
                    for arch in [PORTABLE, HOPPER] {
                        keys.extend(
                            super::decode::kernel_key(geometry(page_size), "plain", 4, Form::BASE, arch).map(at(arch)),
                        );
                    }
                    for arch in [PORTABLE, HOPPER] {
                        // 16-bit CUDA-core prefill (pages the portable tensor-core kernel leaves)
                        // differs from float32's keys in numbers only: those compile its code.
                        keys.extend(
                            super::prefill::kernel_key(geometry(page_size), "plain", arch)
                                .ok()
                                .filter(|key| key.family != Family::PrefillSimt || dtype == DType::F32)
                                .map(at(arch)),
                        );
                    }
                }
                keys.extend(
                    super::decode::kernel_key((dtypes, 128, 16, layout), "plain", 32, mqa, HOPPER).map(at(HOPPER)),
                );
                // 16-bit nhd rows off 128-byte lines and of one line: CTAs over two KV heads
                // (`decode::kv_heads`), in bfloat16 (float16 differs in numbers only): head dim
                // 64, each of the rows' swizzle groups (head dims 80 / 112: 4 chunks, 96: 8),
                // pages of one slot and of four, every variant option.
                if dtype == DType::BF16 && layout == CacheLayout::Nhd {
                    let two = Form {
                        kv_heads: 2,
                        ..Form::BASE
                    };
                    for (head_dim, page_size, variant) in [
                        (64, 16, "plain"),
                        (80, 16, "plain"),
                        (96, 16, "plain"),
                        (112, 4, "plain"),
                        (96, 1, "plain"),
                        (96, 16, ALL_VARIANTS),
                    ] {
                        let geometry = (dtypes, head_dim, page_size, layout);
                        keys.extend(super::decode::kernel_key(geometry, variant, 4, two, HOPPER).map(at(HOPPER)));
                    }
                }
                // GPUs that give a CTA 99 KB (sm_86 / sm_89): 16-bit rows of 256 on two warps.
                if dtype == DType::BF16 && layout == CacheLayout::Nhd {
                    let geometry = (dtypes, 256, 16, layout);
                    keys.extend(
                        super::decode::kernel_key(geometry, "plain", 4, Form::BASE, AMPERE_86).map(at(AMPERE_86)),
                    );
                }
                // There too the portable prefill at head dim 256, whose slots drop the rows' pad
                // (TIGHT), with its split kernel; pal and nhd.
                if dtype == DType::BF16 && layout != CacheLayout::Hnd {
                    if let Ok(key) = super::prefill::kernel_key((dtypes, 256, 16, layout), "plain", AMPERE_86) {
                        keys.push((key.with_shape("SPLIT", 1), AMPERE_86));
                        keys.push((key, AMPERE_86));
                    }
                }
                // Hopper's bounded soft-capped softmax (BOUNDED 1, chosen per call), bfloat16:
                // the soft-cap alone, and with a window and sinks, each with its split kernel.
                if dtype == DType::BF16 && layout != CacheLayout::Hnd {
                    let variant = if layout == CacheLayout::Nhd {
                        "softcap"
                    } else {
                        "window+softcap+sinks"
                    };
                    if let Ok(key) = super::prefill::kernel_key((dtypes, 128, 16, layout), variant, HOPPER) {
                        keys.push((key.with_shape("BOUNDED", 1), HOPPER));
                        keys.push((key.with_shape("BOUNDED", 1).with_shape("SPLIT", 1), HOPPER));
                    }
                }
                // The prefills' split-KV kernels (SPLIT 1, chosen per call), bfloat16.
                for arch in [PORTABLE, HOPPER] {
                    if let Ok(key) = super::prefill::kernel_key((dtypes, 128, 16, layout), "plain", arch) {
                        if key.family != Family::PrefillSimt && dtype == DType::BF16 {
                            keys.push((key.with_shape("SPLIT", 1), arch));
                        }
                    }
                }
                // Every variant option at once, per family: the policies' code paths.
                let geometry = (dtypes, 128, 16, layout);
                keys.extend(super::decode::kernel_key(geometry, ALL_VARIANTS, 4, Form::BASE, HOPPER).map(at(HOPPER)));
                for arch in [PORTABLE, HOPPER] {
                    keys.extend(super::prefill::kernel_key(geometry, ALL_VARIANTS, arch).map(at(arch)));
                }
                // The portable prefill's staggered slot (head dims over 128) with every variant
                // option, bfloat16, pal and nhd.
                if dtype == DType::BF16 && layout != CacheLayout::Hnd {
                    let geometry = (dtypes, 256, 16, layout);
                    keys.extend(super::prefill::kernel_key(geometry, ALL_VARIANTS, PORTABLE).map(at(PORTABLE)));
                }
            }
        }
        // Blackwell (sm_100: 228 KB an SM, so two CTAs of 64-key tiles) runs the portable prefill;
        // so does Hopper under PAL_PREFILL_PATH=portable, with the same keys. bfloat16, each
        // layout, a small, the common and the largest head dim, with the split kernel.
        for layout in CacheLayout::ALL {
            for head_dim in [64, 128, 256] {
                let geometry = ((DType::BF16, DType::BF16), head_dim, 16, layout);
                if let Ok(key) = super::prefill::kernel_key(geometry, "plain", BLACKWELL) {
                    keys.push((key.with_shape("SPLIT", 1), BLACKWELL));
                    keys.push((key, BLACKWELL));
                }
            }
            // Every variant option on 64-key tiles at head dim 128 (an A100 takes 32 there); in
            // pal and nhd also the soft-cap alone and ALiBi alone, whose scores take paths of
            // their own (a soft-capped tile's tanh kept, ALiBi without a cap).
            let geometry = ((DType::BF16, DType::BF16), 128, 16, layout);
            let variants: &[&'static str] = if layout == CacheLayout::Hnd {
                &[ALL_VARIANTS]
            } else {
                &[ALL_VARIANTS, "softcap", "alibi"]
            };
            for &variant in variants {
                if let Ok(key) = super::prefill::kernel_key(geometry, variant, BLACKWELL) {
                    // (the soft-cap alone also on its fixed exponent base, BOUNDED 1, chosen per call)
                    if key.shape_value("BOUNDED").is_some() {
                        keys.push((key.with_shape("BOUNDED", 1), BLACKWELL));
                    }
                    keys.push((key, BLACKWELL));
                }
            }
        }
        // fp8 pools: each format under each model dtype, every layout, the smallest page each
        // family serves, and every variant option; e4m3 under bfloat16 and float32 (16-bit and
        // 32-bit query rows) also at a small and a large head dim and one off the 64-dim grid
        // (the other pairs differ there in their conversions only). Each pair's plain keys on
        // an sm_80 too: its conversions without the sm_89 instructions.
        for dtypes in [
            (DType::BF16, DType::F8E4M3),
            (DType::F16, DType::F8E5M2),
            (DType::F32, DType::F8E4M3),
            (DType::BF16, DType::F8E5M2),
        ] {
            let every_geometry = dtypes.1 == DType::F8E4M3;
            for layout in CacheLayout::ALL {
                keys.push((super::fill::kernel_key(dtypes, layout, 16), PORTABLE));
                if layout == CacheLayout::Pal && dtypes == (DType::BF16, DType::F8E4M3) {
                    keys.extend([2, 8].map(|page| (super::fill::kernel_key(dtypes, layout, page), PORTABLE)));
                }
                let geometries: &[(usize, usize)] = if every_geometry {
                    &[(64, 16), (256, 16), (128, 8), (128, 1), (112, 16), (128, 64)]
                } else {
                    &[(128, 8), (128, 1)]
                };
                for &(head_dim, page_size) in geometries {
                    let geometry = (dtypes, head_dim, page_size, layout);
                    keys.extend(super::decode::kernel_key(geometry, "plain", 4, evict_first, HOPPER).map(at(HOPPER)));
                    keys.extend(super::prefill::kernel_key(geometry, "plain", HOPPER).map(at(HOPPER)));
                }
                let geometry = (dtypes, 128, 16, layout);
                keys.extend(super::decode::kernel_key(geometry, "plain", 4, Form::BASE, PORTABLE).map(at(PORTABLE)));
                keys.extend(super::prefill::kernel_key(geometry, "plain", PORTABLE).map(at(PORTABLE)));
                // Hopper's decode at pal pages of 32: values by two boxes a step, rows of 4 dims.
                if layout == CacheLayout::Pal {
                    keys.extend(
                        super::decode::kernel_key((dtypes, 128, 32, layout), "plain", 4, evict_first, HOPPER)
                            .map(at(HOPPER)),
                    );
                }
                // Every variant option, in four-warp CTAs and in the six-warp ones of full grids
                // (`decode::six_warp_grid`).
                for six in [false, true] {
                    let form = Form {
                        six_warps: six,
                        ..Form::BASE
                    };
                    keys.extend(super::decode::kernel_key(geometry, ALL_VARIANTS, 4, form, HOPPER).map(at(HOPPER)));
                }
                keys.extend(super::prefill::kernel_key(geometry, ALL_VARIANTS, HOPPER).map(at(HOPPER)));
            }
        }
        // The float32 decode on TF32 tensor cores (groups of 16 and more): each layout's small
        // pages (pal values a slot or two a copy), a large one, head dim 64, and every variant
        // option; groups of 16 and 64 (CTAs of 2 and 4 warps, head dims 64 and 128), and the
        // CUDA-core form of a small grid (`decode::tf32_grid`).
        let f32 = (DType::F32, DType::F32);
        for layout in CacheLayout::ALL {
            for (head_dim, page_size, group, variant) in [
                (128, 1, 32, "plain"),
                (128, 2, 32, "plain"),
                (128, 4, 16, "plain"),
                (128, 64, 64, "plain"),
                (64, 16, 32, "plain"),
                (64, 2, 16, "plain"),
                (128, 16, 32, ALL_VARIANTS),
            ] {
                for tf32 in [true, false] {
                    let form = Form { tf32, ..Form::BASE };
                    let geometry = (f32, head_dim, page_size, layout);
                    keys.extend(super::decode::kernel_key(geometry, variant, group, form, PORTABLE).map(at(PORTABLE)));
                }
            }
            // Hopper's wgmma form (groups over 16): pal values a slot, two and four a copy
            // (pages of 1, 2, 4; larger pages differ in numbers), head dim 64 at two CTAs a KV
            // head, every variant option.
            for (head_dim, page_size, group, variant) in [
                (128, 1, 32, "plain"),
                (128, 2, 32, "plain"),
                (64, 4, 64, "plain"),
                (128, 16, 32, ALL_VARIANTS),
            ] {
                let geometry = (f32, head_dim, page_size, layout);
                keys.extend(super::decode::kernel_key(geometry, variant, group, Form::BASE, HOPPER).map(at(HOPPER)));
            }
        }
        // Split-KV with fp8 history tiles, with every variant option (a sink joins the merge), and
        // Hopper's one-item-per-CTA form (head dim 256; fp8 pal pages of 2), and 16-bit pal pages
        // of 2 (their ids as two words a lane).
        let bf16 = (DType::BF16, DType::BF16);
        for (dtypes, variant, head_dim, page_size) in [
            ((DType::BF16, DType::F8E4M3), "plain", 128, 16),
            (bf16, ALL_VARIANTS, 128, 16),
            (bf16, "plain", 256, 16),
            (bf16, "plain", 128, 2),
            ((DType::BF16, DType::F8E4M3), "plain", 128, 2),
        ] {
            for arch in [PORTABLE, HOPPER] {
                let geometry = (dtypes, head_dim, page_size, CacheLayout::Pal);
                if let Ok(key) = super::prefill::kernel_key(geometry, variant, arch) {
                    if key.family != Family::PrefillSimt {
                        keys.push((key.with_shape("SPLIT", 1), arch));
                    }
                }
            }
        }
        // Hopper's transposed pal values at head dim 64: pages of 4 take them there only.
        for page_size in [2, 4] {
            let geometry = (bf16, 64, page_size, CacheLayout::Pal);
            keys.extend(super::prefill::kernel_key(geometry, "plain", HOPPER).map(at(HOPPER)));
        }
        let mut seen = std::collections::HashSet::new();
        keys.retain(|entry| seen.insert(entry.clone()));
        keys
    }
}

/// The kernel variant with every option on.
const ALL_VARIANTS: &str = "window+softcap+alibi+sinks";
/// Devices whose kernel choice differs: any before Hopper, and Hopper.
const PORTABLE: (i32, i32) = (8, 0);
const HOPPER: (i32, i32) = (9, 0);
/// GPUs whose CTAs get 99 KB of shared memory (sm_86 / sm_89).
const AMPERE_86: (i32, i32) = (8, 6);
const BLACKWELL: (i32, i32) = (10, 0);

/// The kernel sources in use: embedded, or read from `PAL_KERNEL_DIR`.
fn sources(op: &'static str) -> Result<Vec<(&'static str, String)>> {
    let Some(dir) = std::env::var_os(KERNEL_DIR_ENV) else {
        return Ok(SOURCES.iter().map(|&(name, text)| (name, text.to_string())).collect());
    };
    let dir = PathBuf::from(dir);
    SOURCES
        .iter()
        .map(|&(name, _)| {
            let path = if name.ends_with(".cu") {
                dir.join(name)
            } else {
                dir.join("include").join(name)
            };
            std::fs::read_to_string(&path)
                .map(|text| (name, text))
                .map_err(|e| Error::value(op, KERNEL_DIR_ENV, format!("a folder holding {}", path.display()), e))
        })
        .collect()
}

/// FNV-1a: a stable hash for cache keys (std's hasher may change between Rust versions).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for &byte in part.iter().chain(&[0xff]) {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn nvrtc_available() -> Result<()> {
    // SAFETY: only probes whether the shared library can be loaded.
    let present = unsafe { sys::is_culib_present() };
    super::require_library(
        present,
        "NVRTC (libnvrtc.so.13, or .so.12 for CUDA 12 drivers) was not found: install a CUDA toolkit or \
         `pip install nvidia-cuda-nvrtc` (`nvidia-cuda-nvrtc-cu12`), or add its lib folder to LD_LIBRARY_PATH",
    )
}

pub(crate) fn nvrtc_version() -> (i32, i32) {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: plain out-parameters; the library was found by `nvrtc_available`.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) };
    (major, minor)
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("pal").join("kernels"))
}

/// The disk-cache key of a compiled module: its key's name, the compiler options, every source
/// text and the NVRTC version.
fn cache_key(key: &KernelKey, options: &[String], sources: &[(&str, String)], nvrtc: (i32, i32)) -> u64 {
    let version = format!("{}.{}", nvrtc.0, nvrtc.1);
    let name = key.name();
    let mut parts: Vec<&[u8]> = vec![version.as_bytes(), name.as_bytes()];
    parts.extend(options.iter().map(|o| o.as_bytes()));
    parts.extend(
        sources
            .iter()
            .flat_map(|(name, text)| [name.as_bytes(), text.as_bytes()]),
    );
    fnv1a(&parts)
}

/// The module image of `key` for compute capability `arch`, a CUBIN; from the disk cache when
/// present.
pub(crate) fn image_for(op: &'static str, spec: &KernelKey, arch: (i32, i32)) -> Result<Vec<u8>> {
    let log = std::env::var_os(COMPILE_LOG_ENV).map(PathBuf::from);
    image_in(op, spec, arch, cache_dir().as_deref(), log.as_deref())
}

/// `image_for` with the cache folder and the compile log given.
fn image_in(
    op: &'static str,
    spec: &KernelKey,
    arch: (i32, i32),
    cache: Option<&Path>,
    log: Option<&Path>,
) -> Result<Vec<u8>> {
    nvrtc_available()?;
    let sources = sources(op)?;
    let options = options(spec, arch, true);
    let key = cache_key(spec, &options, &sources, nvrtc_version());
    let file = cache.map(|dir| dir.join(format!("{key:016x}.cubin")));
    let cached = || {
        file.as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .filter(|image| image.starts_with(b"\x7fELF"))
    };
    if let Some(image) = cached() {
        return Ok(image);
    }
    // Processes that need the same module at once (the GPU suite's test workers, an engine's
    // ranks) take turns: one compiles, the others wait for its CUBIN.
    let _claim = file.as_deref().map(CompileClaim::take);
    if let Some(image) = cached() {
        return Ok(image);
    }
    let started = std::time::Instant::now();
    let cubin = compile(op, spec, &sources, &options, true)?;
    if let Some(log) = log {
        use std::io::Write;
        let line = format!(
            "{}\t{:.2}\t{}\n",
            spec.name(),
            started.elapsed().as_secs_f64(),
            std::process::id()
        );
        // One write of one line in append mode: lines of processes side by side stay whole.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
    if let Some(file) = file {
        // Best effort: a cache that cannot be written only costs a recompilation next time.
        let temporary = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::create_dir_all(file.parent().unwrap_or(&file)).is_ok() && std::fs::write(&temporary, &cubin).is_ok()
        {
            let _ = std::fs::rename(&temporary, &file);
        }
    }
    Ok(cubin)
}

/// The right to compile the module cached at `file`: a lock file beside it, created exclusively
/// and naming its holder's process, removed when dropped. Taking it waits while another live
/// holder compiles (its CUBIN then ends the wait); a holder that is gone (its process ended
/// without removing the lock), a wait past `CLAIM_WAIT` or an unwritable folder make the caller
/// compile without the claim, as if there were none.
struct CompileClaim(Option<PathBuf>);

/// Longest wait for another process's compile (the largest modules take seconds; a machine
/// compiling on every core, tens of seconds).
const CLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

impl CompileClaim {
    fn take(file: &Path) -> Self {
        use std::io::Write;
        let lock = file.with_extension("lock");
        if std::fs::create_dir_all(file.parent().unwrap_or(file)).is_err() {
            return Self(None);
        }
        let started = std::time::Instant::now();
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut holder) => {
                    let _ = write!(holder, "{}", std::process::id());
                    return Self(Some(lock));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if file.exists() || started.elapsed() > CLAIM_WAIT {
                        return Self(None);
                    }
                    if holder_gone(&lock) {
                        let _ = std::fs::remove_file(&lock);
                        continue;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(_) => return Self(None),
            }
        }
    }
}

impl Drop for CompileClaim {
    fn drop(&mut self) {
        if let Some(lock) = &self.0 {
            let _ = std::fs::remove_file(lock);
        }
    }
}

/// Whether the process named in the lock file `lock` has ended (Linux: no `/proc/<pid>`); a lock
/// whose holder cannot be told (no id written after a second, or no `/proc`) counts as gone once
/// it is older than `CLAIM_WAIT`.
fn holder_gone(lock: &Path) -> bool {
    let age = std::fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .unwrap_or_default();
    let pid = std::fs::read_to_string(lock)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    match pid {
        Some(pid) if Path::new("/proc/self").exists() => !Path::new("/proc").join(pid.to_string()).exists(),
        None if age < std::time::Duration::from_secs(1) => false,
        _ => age > CLAIM_WAIT,
    }
}

/// NVRTC's options for `spec` on a GPU of compute capability `arch`, to a CUBIN (`assemble`) or
/// to PTX. Modules that run are CUBINs for the GPU at hand (NVRTC's own assembler, not the
/// driver's PTX JIT): a CUBIN from a newer NVRTC of the driver's major version loads (CUDA's
/// minor-version compatibility; PTX from it does not), and the registers and spills are those
/// `scripts/kernel_report.py` shows. The compile check stops at PTX for portable families (the
/// assembler doubles its time); arch-specific ones are always assembled.
fn options(spec: &KernelKey, arch: (i32, i32), assemble: bool) -> Vec<String> {
    let target = match (spec.family.arch_specific(), assemble) {
        (Some(_), _) => format!("sm_{}{}a", arch.0, arch.1),
        (None, true) => format!("sm_{}{}", arch.0, arch.1),
        (None, false) => format!("compute_{}{}", arch.0, arch.1),
    };
    let mut options = vec![
        format!("--gpu-architecture={target}"),
        "--std=c++17".into(),
        "--device-as-default-execution-space".into(),
    ];
    options.extend(spec.defines().iter().map(|(k, v)| format!("-D{k}={v}")));
    options
}

/// The CUBIN (`cubin`) or the PTX of `spec` under `options` (which must target the same).
fn compile(
    op: &'static str,
    spec: &KernelKey,
    sources: &[(&str, String)],
    options: &[String],
    cubin: bool,
) -> Result<Vec<u8>> {
    let fail = |what: &str, log: String| Error::Internal {
        op,
        backend: "cuda",
        message: format!("NVRTC {what} {}:\n{log}", spec.describe()),
    };
    let entry = sources
        .iter()
        .find(|(name, _)| *name == spec.family.entry_file())
        .expect("entry files are listed");
    let headers: Vec<&(&str, String)> = sources.iter().filter(|(name, _)| name.ends_with(".cuh")).collect();
    let c = |s: &str| CString::new(s).expect("kernel sources have no NUL");
    let entry_text = c(&entry.1);
    let entry_name = c(entry.0);
    let header_texts: Vec<CString> = headers.iter().map(|(_, text)| c(text)).collect();
    let header_names: Vec<CString> = headers.iter().map(|(name, _)| c(name)).collect();
    let text_ptrs: Vec<*const c_char> = header_texts.iter().map(|s| s.as_ptr()).collect();
    let name_ptrs: Vec<*const c_char> = header_names.iter().map(|s| s.as_ptr()).collect();
    let mut program = std::mem::MaybeUninit::uninit();
    // SAFETY: every pointer refers to a NUL-terminated string alive until the program is destroyed.
    let program = unsafe {
        sys::nvrtcCreateProgram(
            program.as_mut_ptr(),
            entry_text.as_ptr(),
            entry_name.as_ptr(),
            headers.len() as i32,
            text_ptrs.as_ptr(),
            name_ptrs.as_ptr(),
        )
        .result()
        .map_err(|e| fail("could not create a program for", format!("{e:?}")))?;
        program.assume_init()
    };
    // SAFETY: a program created above, destroyed exactly once below.
    let outcome = unsafe { result::compile_program(program, options) };
    let image = match outcome {
        Ok(()) if cubin => unsafe { get_cubin(program) }.map_err(|e| fail("produced no CUBIN for", format!("{e:?}"))),
        Ok(()) => unsafe { result::get_ptx(program) }
            .map(|ptx| ptx.into_iter().map(|c| c as u8).collect())
            .map_err(|e| fail("produced no PTX for", format!("{e:?}"))),
        Err(_) => {
            let log = unsafe { result::get_program_log(program) }
                .map(|log| log.iter().map(|&c| c as u8 as char).collect::<String>())
                .unwrap_or_default();
            Err(fail("failed to compile", log.trim_end_matches('\0').to_string()))
        }
    };
    // SAFETY: see above.
    unsafe { result::destroy_program(program) }
        .map_err(|e| fail("could not destroy the program of", format!("{e:?}")))?;
    image
}

/// The CUBIN of a compiled program (cudarc wraps only the PTX getter).
unsafe fn get_cubin(program: sys::nvrtcProgram) -> std::result::Result<Vec<u8>, sys::nvrtcResult> {
    let mut size = 0usize;
    let status = sys::nvrtcGetCUBINSize(program, &mut size);
    if status != sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(status);
    }
    let mut cubin = vec![0u8; size];
    let status = sys::nvrtcGetCUBIN(program, cubin.as_mut_ptr().cast());
    if status != sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(status);
    }
    Ok(cubin)
}

/// Compiles the representative kernel keys ([`KernelKey::representative`]), each for the GPU
/// it was chosen for, in parallel, without a GPU: the kernel compile check of CI and kernel
/// authors. Returns the number of modules compiled.
pub fn compile_all_kernels() -> Result<usize> {
    const OP: &str = "compile_all_kernels";
    nvrtc_available()?;
    let sources = sources(OP)?;
    let jobs = KernelKey::representative();
    jobs.par_iter().try_for_each(|(spec, arch)| {
        let assemble = spec.family.arch_specific().is_some();
        compile(OP, spec, &sources, &options(spec, *arch, assemble), assemble).map(drop)
    })?;
    Ok(jobs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_tell_every_input_apart() {
        let sources: Vec<(&str, String)> = SOURCES.iter().map(|&(n, t)| (n, t.to_string())).collect();
        let decode = super::super::decode::kernel_key(
            ((DType::BF16, DType::BF16), 128, 16, CacheLayout::Pal),
            "plain",
            4,
            super::super::decode::Form::BASE,
            HOPPER,
        )
        .unwrap();
        let key = |spec: &KernelKey, sources: &[(&str, String)], nvrtc| {
            cache_key(spec, &options(spec, (9, 0), true), sources, nvrtc)
        };
        let base = key(&decode, &sources, (13, 0));
        let other_family = KernelKey {
            family: Family::PrefillMma,
            ..decode.clone()
        };
        assert_ne!(base, key(&other_family, &sources, (13, 0)));
        let other_dtype = KernelKey {
            query_dtype: DType::F16,
            kv_dtype: DType::F16,
            ..decode.clone()
        };
        assert_ne!(base, key(&other_dtype, &sources, (13, 0)));
        let mut other_shape = decode.clone();
        other_shape.shape[0].1 += 1;
        assert_ne!(base, key(&other_shape, &sources, (13, 0)));
        assert_ne!(base, key(&decode, &sources, (13, 1)));
        assert_ne!(
            base,
            cache_key(&decode, &options(&decode, (8, 0), true), &sources, (13, 0))
        );
        let mut edited = sources.clone();
        edited[0].1.push(' ');
        assert_ne!(base, key(&decode, &edited, (13, 0)));
        assert_eq!(base, key(&decode, &sources, (13, 0)));
    }

    #[test]
    fn the_name_shows_every_parameter() {
        let decode = super::super::decode::kernel_key(
            ((DType::BF16, DType::BF16), 128, 16, CacheLayout::Nhd),
            "plain",
            4,
            super::super::decode::Form::BASE,
            HOPPER,
        )
        .unwrap();
        let name = decode.name();
        assert!(name.starts_with("decode_mma-bf16-bf16-d128-p16-nhd-plain["), "{name}");
        for (k, v) in &decode.shape {
            assert!(name.contains(&format!("{k}={v}")), "{name}");
        }
        let defines = decode.defines();
        assert!(defines.contains(&("PAL_HEAD_DIM".into(), "128".into())));
        assert!(defines.contains(&("PAL_VARIANT".into(), "pal::Variant<false, false, false, false>".into())));
    }

    #[test]
    fn every_family_and_entry_file_is_compiled_by_ci() {
        let chosen = KernelKey::representative();
        let keys: Vec<&KernelKey> = chosen.iter().map(|(key, _)| key).collect();
        for family in [
            Family::DecodeMma,
            Family::DecodeRows,
            Family::DecodeSimt,
            Family::DecodeTf32Wgmma,
            Family::PrefillMma,
            Family::PrefillSimt,
            Family::PrefillWgmma,
            Family::Fill,
        ] {
            assert!(keys.iter().any(|k| k.family == family), "{family:?}");
            assert!(SOURCES.iter().any(|(name, _)| *name == family.entry_file()));
        }
        for &page_size in &super::super::PAGE_SIZES {
            assert!(keys
                .iter()
                .any(|k| k.family == Family::DecodeMma && k.page_size == Some(page_size)));
        }
        for &head_dim in &super::super::HEAD_DIMS {
            assert!(keys
                .iter()
                .any(|k| k.family == Family::DecodeMma && k.head_dim == Some(head_dim)));
        }
        // Each portable family on an sm_80 and on a newer GPU (their code differs past sm_89);
        // the Hopper families on Hopper only.
        for family in [
            Family::DecodeMma,
            Family::DecodeRows,
            Family::PrefillMma,
            Family::PrefillSimt,
        ] {
            for newer in [false, true] {
                assert!(
                    chosen
                        .iter()
                        .any(|(k, arch)| k.family == family && (*arch > (8, 9)) == newer),
                    "{family:?} newer {newer}"
                );
            }
        }
        assert!(chosen
            .iter()
            .all(|(k, arch)| k.family.arch_specific().is_none_or(|only| only == *arch)));
    }

    /// Whether NVRTC loads (a test without it skips, or fails where `PAL_REQUIRE_NVRTC` is set).
    fn nvrtc_here() -> bool {
        let Err(error) = nvrtc_available() else {
            return true;
        };
        assert!(std::env::var_os("PAL_REQUIRE_NVRTC").is_none(), "{error}");
        eprintln!("SKIPPED: {error}");
        false
    }

    #[test]
    fn a_parameter_struct_out_of_step_with_its_kernel_fails_to_compile() {
        if !nvrtc_here() {
            return;
        }
        // The layout of a mirror with one more field than the kernel's struct (its size padded
        // to the same bytes would pass a size check).
        let sources = sources("test").unwrap();
        for key in [
            super::super::fill::kernel_key((DType::BF16, DType::BF16), CacheLayout::Nhd, 16),
            super::super::decode::kernel_key(
                ((DType::BF16, DType::BF16), 128, 16, CacheLayout::Pal),
                "plain",
                4,
                super::super::decode::Form::BASE,
                (9, 0),
            )
            .unwrap(),
        ] {
            let layout = key.shape_value("PARAMS_LAYOUT").unwrap();
            compile("test", &key, &sources, &options(&key, (9, 0), false), false).unwrap();
            let drifted = key.with_shape("PARAMS_LAYOUT", layout + 8);
            match compile("test", &drifted, &sources, &options(&drifted, (9, 0), false), false) {
                Err(error) => assert!(error.to_string().contains("host mirror of"), "{error}"),
                // NVRTC 12.4 and 13.0 have no constant offsetof: their kernels compile without
                // the layout check (CI's NVRTC, 13.5, has it).
                Ok(_) => {
                    let version = nvrtc_version();
                    assert!(
                        version < (13, 5),
                        "NVRTC {version:?} compiled a drifted parameter layout"
                    );
                    eprintln!("SKIPPED: NVRTC {version:?} compiles kernels without the parameter-layout check");
                    return;
                }
            }
        }
    }

    #[test]
    fn processes_compiling_one_module_take_turns() {
        if !nvrtc_here() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("pal-compile-claim-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("compiles.log");
        let key = super::super::fill::kernel_key((DType::BF16, DType::BF16), CacheLayout::Nhd, 16);
        let sources = sources("test").unwrap();
        let name = cache_key(&key, &options(&key, (9, 0), true), &sources, nvrtc_version());
        // A lock left by a process that has ended holds no one up.
        let lock = dir.join(format!("{name:016x}.lock"));
        std::fs::write(&lock, "4294967295").unwrap();
        let images: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| image_in("test", &key, (9, 0), Some(&dir), Some(&log)).unwrap()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert!(images[0].starts_with(b"\x7fELF"));
        assert!(images.iter().all(|image| *image == images[0]));
        // One of the four compiled; the others waited for its CUBIN.
        let compiles = std::fs::read_to_string(&log).unwrap();
        assert_eq!(compiles.lines().count(), 1, "{compiles}");
        assert!(compiles.starts_with(&key.name()));
        assert!(!lock.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
