//! The three paged KV-cache layouts (SPEC §2), their shape helpers and element addressing.

use std::fmt;
use std::str::FromStr;

use crate::dtype::{DType, POOL_DTYPES};
use crate::error::{Error, Result};

/// How a page of keys and values is laid out in the pools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CacheLayout {
    /// K `[pages, HKV, D/x, page_size, x]` with `x = 16 / sizeof(dtype)`, V `[pages, HKV, D, page_size]`
    /// (the original PAL and vLLM's paged_attention kernels).
    #[default]
    Pal,
    /// K and V `[pages, page_size, HKV, D]` (FlashInfer "NHD").
    Nhd,
    /// K and V `[pages, HKV, page_size, D]` (FlashInfer "HND").
    Hnd,
}

impl CacheLayout {
    /// Every layout.
    pub const ALL: [CacheLayout; 3] = [CacheLayout::Pal, CacheLayout::Nhd, CacheLayout::Hnd];

    /// The name used by the APIs (`"pal"`, `"nhd"`, `"hnd"`).
    pub const fn name(self) -> &'static str {
        match self {
            CacheLayout::Pal => "pal",
            CacheLayout::Nhd => "nhd",
            CacheLayout::Hnd => "hnd",
        }
    }

    fn k_shape_pattern(self) -> &'static str {
        match self {
            CacheLayout::Pal => "[pages, num_kv_heads, head_dim / x, page_size, x]",
            CacheLayout::Nhd => "[pages, page_size, num_kv_heads, head_dim]",
            CacheLayout::Hnd => "[pages, num_kv_heads, page_size, head_dim]",
        }
    }

    fn v_shape_pattern(self) -> &'static str {
        match self {
            CacheLayout::Pal => "[pages, num_kv_heads, head_dim, page_size]",
            other => other.k_shape_pattern(),
        }
    }
}

impl fmt::Display for CacheLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CacheLayout {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "pal" => Ok(CacheLayout::Pal),
            "nhd" => Ok(CacheLayout::Nhd),
            "hnd" => Ok(CacheLayout::Hnd),
            _ => Err(Error::value(
                "layout",
                "layout",
                "one of \"pal\", \"nhd\", \"hnd\"",
                format!("{name:?}"),
            )),
        }
    }
}

/// Elements per 16-byte stripe of the `pal` key layout (`x`) of a pool of `dtype`: 4 for
/// float32, 8 for 16-bit types, 16 for fp8. An index dtype (`int32`) holds no pool: refused.
pub fn k_cache_stripe_size(dtype: DType) -> Result<usize> {
    check_pool_dtype("k_cache_stripe_size", dtype)?;
    Ok(key_stripe(dtype))
}

/// [`k_cache_stripe_size`] of a dtype already known to be a pool dtype (the addressing's hot
/// paths and constant contexts).
pub(crate) const fn key_stripe(dtype: DType) -> usize {
    16 / dtype.size_in_bytes()
}

/// A pool holds float32, float16, bfloat16 or fp8 elements, never an index type.
fn check_pool_dtype(op: &'static str, dtype: DType) -> Result<()> {
    if dtype.is_float() {
        return Ok(());
    }
    Err(Error::DType {
        op,
        arg: "dtype".into(),
        expected: POOL_DTYPES.into(),
        actual: dtype,
    })
}

/// The page size PAL recommends: 16 tokens (FlashInfer measures no gain from other sizes for
/// decode, and 16 keeps a page of one head within a few cache lines per dimension stripe).
pub const fn optimal_page_size() -> usize {
    16
}

/// The checks both shape helpers share; errors name `op`, the helper called.
fn check_geometry(
    op: &'static str,
    (num_pages, num_kv_heads, head_dim, page_size): (usize, usize, usize, usize),
    dtype: DType,
    layout: CacheLayout,
) -> Result<()> {
    check_pool_dtype(op, dtype)?;
    for (arg, value) in [
        ("num_kv_heads", num_kv_heads),
        ("head_dim", head_dim),
        ("page_size", page_size),
    ] {
        if value == 0 {
            return Err(Error::value(op, arg, "at least 1", value));
        }
    }
    let stripe = key_stripe(dtype);
    if layout == CacheLayout::Pal && !head_dim.is_multiple_of(stripe) {
        return Err(Error::value(
            op,
            "head_dim",
            format!("a multiple of {stripe} (the {dtype} key stripe of the pal layout)"),
            head_dim,
        ));
    }
    // A pool no allocation can hold (its bytes past isize::MAX) has no shape to give.
    let fits = |bytes: Option<usize>| bytes.filter(|&b| b <= isize::MAX as usize);
    let page_bytes = [num_kv_heads, head_dim, page_size]
        .iter()
        .try_fold(dtype.size_in_bytes(), |n, &d| n.checked_mul(d));
    let Some(page_bytes) = fits(page_bytes) else {
        return Err(Error::value(
            op,
            "num_kv_heads * head_dim * page_size",
            "a page of at most isize::MAX bytes",
            format!("{num_kv_heads} * {head_dim} * {page_size}"),
        ));
    };
    if fits(num_pages.checked_mul(page_bytes)).is_none() {
        return Err(Error::value(
            op,
            "num_pages",
            format!(
                "at most {} (pages of {page_bytes} bytes in a pool of at most isize::MAX bytes)",
                isize::MAX as usize / page_bytes
            ),
            num_pages,
        ));
    }
    Ok(())
}

/// Shape of the key pool for the given geometry and layout.
pub fn k_cache_shape(
    num_pages: usize,
    num_kv_heads: usize,
    head_dim: usize,
    page_size: usize,
    dtype: DType,
    layout: CacheLayout,
) -> Result<Vec<usize>> {
    let sizes = (num_pages, num_kv_heads, head_dim, page_size);
    check_geometry("k_cache_shape", sizes, dtype, layout)?;
    let stripe = key_stripe(dtype);
    Ok(match layout {
        CacheLayout::Pal => vec![num_pages, num_kv_heads, head_dim / stripe, page_size, stripe],
        CacheLayout::Nhd => vec![num_pages, page_size, num_kv_heads, head_dim],
        CacheLayout::Hnd => vec![num_pages, num_kv_heads, page_size, head_dim],
    })
}

/// Shape of the value pool for the given geometry and layout.
pub fn v_cache_shape(
    num_pages: usize,
    num_kv_heads: usize,
    head_dim: usize,
    page_size: usize,
    dtype: DType,
    layout: CacheLayout,
) -> Result<Vec<usize>> {
    let sizes = (num_pages, num_kv_heads, head_dim, page_size);
    check_geometry("v_cache_shape", sizes, dtype, layout)?;
    Ok(match layout {
        CacheLayout::Pal => vec![num_pages, num_kv_heads, head_dim, page_size],
        CacheLayout::Nhd => vec![num_pages, page_size, num_kv_heads, head_dim],
        CacheLayout::Hnd => vec![num_pages, num_kv_heads, page_size, head_dim],
    })
}

/// Contiguous runs that make up one token's row in a pool (see [`CacheGeometry::k_row_runs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowRuns {
    /// Contiguous elements per run.
    pub len: usize,
    /// Elements from one run's start to the next's.
    pub stride: usize,
}

/// The geometry of a pair of pools, read off their shapes, with element addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheGeometry {
    /// Layout of the pools.
    pub layout: CacheLayout,
    /// Element type of both pools: the KV dtype, which the operations keep apart from the
    /// queries' dtype: equal to it, or fp8 (SPEC §3.5).
    pub dtype: DType,
    /// Pages in each pool.
    pub num_pages: usize,
    /// Key/value heads.
    pub num_kv_heads: usize,
    /// Elements per head.
    pub head_dim: usize,
    /// Tokens per page.
    pub page_size: usize,
}

impl CacheGeometry {
    /// Reads the geometry from the shapes of pools of `dtype` (the KV dtype), checking that K
    /// and V agree with each other.
    pub fn from_pool_shapes(
        op: &'static str,
        layout: CacheLayout,
        dtype: DType,
        k_shape: &[usize],
        v_shape: &[usize],
    ) -> Result<Self> {
        check_pool_dtype(op, dtype)?;
        let stripe = key_stripe(dtype);
        let k_error = || {
            let pattern = layout.k_shape_pattern();
            let expected = if layout == CacheLayout::Pal {
                format!("{pattern} with x = {stripe} for {dtype} (layout \"pal\")")
            } else {
                format!("{pattern} (layout \"{layout}\")")
            };
            Error::shape(op, "k_cache", expected, k_shape)
        };
        let (num_pages, num_kv_heads, head_dim, page_size) = match (layout, k_shape) {
            (CacheLayout::Pal, &[p, h, d_over_x, s, x]) if x == stripe => (p, h, d_over_x * x, s),
            (CacheLayout::Nhd, &[p, s, h, d]) | (CacheLayout::Hnd, &[p, h, s, d]) => (p, h, d, s),
            _ => return Err(k_error()),
        };
        if num_kv_heads == 0 || head_dim == 0 || page_size == 0 {
            return Err(k_error());
        }
        let geometry = Self {
            layout,
            dtype,
            num_pages,
            num_kv_heads,
            head_dim,
            page_size,
        };
        let expected_v = v_cache_shape(num_pages, num_kv_heads, head_dim, page_size, dtype, layout)?;
        if v_shape != expected_v.as_slice() {
            return Err(Error::shape(
                op,
                "v_cache",
                format!(
                    "{expected_v:?} = {} to match k_cache (layout \"{layout}\")",
                    layout.v_shape_pattern()
                ),
                v_shape,
            ));
        }
        Ok(geometry)
    }

    /// The layout the GPU kernels address these pools by: with one slot per page the three
    /// layouts hold the same bytes (`[page][head][dim]`, keys and values alike), and the `nhd`
    /// kernels copy whole rows where `pal`'s walk a dim's slots page by page (element loads).
    pub fn kernel_layout(&self) -> CacheLayout {
        if self.page_size == 1 {
            CacheLayout::Nhd
        } else {
            self.layout
        }
    }

    /// Tokens one page table row can address.
    pub fn capacity(&self, pages_per_sequence: usize) -> usize {
        pages_per_sequence * self.page_size
    }

    /// Elements of one page of one pool (all heads).
    pub fn page_elements(&self) -> usize {
        self.num_kv_heads * self.page_size * self.head_dim
    }

    /// How one token's key row of `head_dim` elements lies in the key pool: runs of
    /// `len` contiguous elements, `stride` apart, starting at `k_offset(page, head, slot, 0)`.
    pub fn k_row_runs(&self) -> RowRuns {
        match self.layout {
            CacheLayout::Pal => {
                let stripe = key_stripe(self.dtype);
                RowRuns {
                    len: stripe,
                    stride: self.page_size * stripe,
                }
            }
            _ => self.v_row_runs(),
        }
    }

    /// As [`Self::k_row_runs`], for the value pool.
    pub fn v_row_runs(&self) -> RowRuns {
        match self.layout {
            CacheLayout::Pal => RowRuns {
                len: 1,
                stride: self.page_size,
            },
            _ => RowRuns {
                len: self.head_dim,
                stride: self.head_dim,
            },
        }
    }

    /// Element offset of key `dim` of token `slot` of `page`, head `kv_head`.
    #[inline(always)]
    pub fn k_offset(&self, page: usize, kv_head: usize, slot: usize, dim: usize) -> usize {
        match self.layout {
            CacheLayout::Pal => {
                let stripe = key_stripe(self.dtype);
                let stripes = self.head_dim / stripe;
                (((page * self.num_kv_heads + kv_head) * stripes + dim / stripe) * self.page_size + slot) * stripe
                    + dim % stripe
            }
            _ => self.v_offset(page, kv_head, slot, dim),
        }
    }

    /// Element offset of value `dim` of token `slot` of `page`, head `kv_head`.
    #[inline(always)]
    pub fn v_offset(&self, page: usize, kv_head: usize, slot: usize, dim: usize) -> usize {
        match self.layout {
            CacheLayout::Pal => ((page * self.num_kv_heads + kv_head) * self.head_dim + dim) * self.page_size + slot,
            CacheLayout::Nhd => ((page * self.page_size + slot) * self.num_kv_heads + kv_head) * self.head_dim + dim,
            CacheLayout::Hnd => ((page * self.num_kv_heads + kv_head) * self.page_size + slot) * self.head_dim + dim,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_one_slot_hold_the_same_bytes_in_every_layout() {
        for dtype in [DType::F32, DType::BF16, DType::F8E4M3] {
            let geometry = |layout| CacheGeometry {
                layout,
                dtype,
                num_pages: 3,
                num_kv_heads: 2,
                head_dim: 64,
                page_size: 1,
            };
            let nhd = geometry(CacheLayout::Nhd);
            for layout in CacheLayout::ALL {
                let g = geometry(layout);
                assert_eq!(g.kernel_layout(), CacheLayout::Nhd);
                for (page, head, dim) in (0..3).flat_map(|p| (0..2).flat_map(move |h| (0..64).map(move |d| (p, h, d))))
                {
                    assert_eq!(
                        g.k_offset(page, head, 0, dim),
                        nhd.k_offset(page, head, 0, dim),
                        "{layout} {dtype}"
                    );
                    assert_eq!(
                        g.v_offset(page, head, 0, dim),
                        nhd.v_offset(page, head, 0, dim),
                        "{layout} {dtype}"
                    );
                }
            }
            assert_eq!(
                CacheGeometry {
                    page_size: 2,
                    ..geometry(CacheLayout::Pal)
                }
                .kernel_layout(),
                CacheLayout::Pal
            );
        }
    }

    #[test]
    fn shapes_follow_the_spec() {
        assert_eq!(
            k_cache_shape(10, 8, 128, 16, DType::BF16, CacheLayout::Pal).unwrap(),
            vec![10, 8, 16, 16, 8]
        );
        assert_eq!(
            k_cache_shape(10, 8, 128, 16, DType::F32, CacheLayout::Pal).unwrap(),
            vec![10, 8, 32, 16, 4]
        );
        assert_eq!(
            v_cache_shape(10, 8, 128, 16, DType::F16, CacheLayout::Pal).unwrap(),
            vec![10, 8, 128, 16]
        );
        assert_eq!(
            k_cache_shape(10, 8, 64, 32, DType::F16, CacheLayout::Nhd).unwrap(),
            vec![10, 32, 8, 64]
        );
        assert_eq!(
            v_cache_shape(10, 8, 64, 32, DType::F16, CacheLayout::Hnd).unwrap(),
            vec![10, 8, 32, 64]
        );
        for (dtype, x) in [(DType::F32, 4), (DType::F16, 8), (DType::BF16, 8), (DType::F8E5M2, 16)] {
            assert_eq!(k_cache_stripe_size(dtype).unwrap(), x);
        }
        // An index dtype is no pool dtype: every helper refuses it, naming `dtype`.
        let refusals = [
            k_cache_stripe_size(DType::I32).map(|_| ()),
            k_cache_shape(10, 8, 128, 16, DType::I32, CacheLayout::Pal).map(|_| ()),
            v_cache_shape(10, 8, 128, 16, DType::I32, CacheLayout::Nhd).map(|_| ()),
            CacheGeometry::from_pool_shapes("op", CacheLayout::Pal, DType::I32, &[1, 1, 4, 4, 4], &[1, 1, 16, 4])
                .map(|_| ()),
        ];
        for refusal in refusals {
            let e = refusal.unwrap_err();
            assert!(
                matches!(&e, Error::DType { arg, expected, actual: DType::I32, .. } if arg == "dtype" && expected == POOL_DTYPES),
                "{e}"
            );
        }
        assert!(k_cache_shape(10, 8, 12, 16, DType::BF16, CacheLayout::Pal).is_err());
        assert!(k_cache_shape(10, 8, 12, 16, DType::BF16, CacheLayout::Nhd).is_ok());
        // Each helper's errors name it (a binding renames them as it spells the helper).
        let op = |e: Error| e.to_string().split(':').next().unwrap().to_owned();
        let k = k_cache_shape(10, 0, 128, 16, DType::BF16, CacheLayout::Pal).unwrap_err();
        let v = v_cache_shape(10, 8, 128, 16, DType::I32, CacheLayout::Pal).unwrap_err();
        assert_eq!((op(k.clone()), op(v)), ("k_cache_shape".into(), "v_cache_shape".into()));
        assert!(k
            .in_op("get_k_cache_shape")
            .to_string()
            .starts_with("get_k_cache_shape: `num_kv_heads`"));
    }

    #[test]
    fn shapes_of_pools_no_allocation_holds_are_refused() {
        // 2^62 pages of 2 MiB, and pages whose own size overflows, name the argument.
        for helper in [k_cache_shape, v_cache_shape] {
            let e = helper(1 << 62, 1024, 128, 16, DType::F16, CacheLayout::Nhd).unwrap_err();
            assert!(matches!(&e, Error::Value { arg, .. } if arg == "num_pages"), "{e}");
            let e = helper(1, 1 << 40, 1 << 16, 1 << 16, DType::F32, CacheLayout::Hnd).unwrap_err();
            assert!(
                matches!(&e, Error::Value { arg, .. } if arg.starts_with("num_kv_heads")),
                "{e}"
            );
            // The largest pool of such pages still has a shape.
            let most = isize::MAX as usize / (1024 * 128 * 16 * 2);
            assert!(helper(most, 1024, 128, 16, DType::F16, CacheLayout::Nhd).is_ok());
            assert!(helper(most + 1, 1024, 128, 16, DType::F16, CacheLayout::Nhd).is_err());
        }
    }

    #[test]
    fn offsets_cover_every_element_once() {
        for layout in CacheLayout::ALL {
            for dtype in [DType::F32, DType::BF16, DType::F8E4M3] {
                let g = CacheGeometry {
                    layout,
                    dtype,
                    num_pages: 3,
                    num_kv_heads: 2,
                    head_dim: 16,
                    page_size: 5,
                };
                let total = 3 * g.page_elements();
                for offset_of in [CacheGeometry::k_offset, CacheGeometry::v_offset] {
                    let mut seen = vec![false; total];
                    for page in 0..3 {
                        for head in 0..2 {
                            for slot in 0..5 {
                                for dim in 0..16 {
                                    let o = offset_of(&g, page, head, slot, dim);
                                    assert!(!seen[o], "{layout} {dtype} offset {o} twice");
                                    seen[o] = true;
                                }
                            }
                        }
                    }
                    assert!(seen.iter().all(|&s| s));
                }
            }
        }
    }
}
