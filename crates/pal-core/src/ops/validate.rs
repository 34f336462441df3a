//! Checks shared by every operation and backend. All of them run before anything is written.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheGeometry;
use crate::tensor::{Device, TensorView};

/// Validation context of one call: the operation's name and the device of its first input.
pub(crate) struct Check {
    pub op: &'static str,
    pub device: Device,
}

impl Check {
    /// Checks the rank against `pattern` (e.g. `"[num_seqs, num_q_heads, head_dim]"`) and returns the shape.
    pub fn rank<'t>(&self, arg: &str, tensor: &'t TensorView<'_>, pattern: &str) -> Result<&'t [usize]> {
        let expected_rank = pattern.split(',').count();
        if tensor.shape().len() != expected_rank {
            return Err(Error::shape(self.op, arg, pattern, tensor.shape()));
        }
        self.device(arg, tensor)?;
        Ok(tensor.shape())
    }

    /// Checks the exact shape; `pattern` names the dimensions for the message.
    pub fn exact(&self, arg: &str, tensor: &TensorView<'_>, expected: &[usize], pattern: &str) -> Result<()> {
        if tensor.shape() != expected {
            return Err(Error::shape(
                self.op,
                arg,
                format!("{pattern} = {expected:?}"),
                tensor.shape(),
            ));
        }
        self.device(arg, tensor)
    }

    pub fn dtype(&self, arg: &str, tensor: &TensorView<'_>, expected: DType) -> Result<()> {
        if tensor.dtype() != expected {
            return Err(Error::DType {
                op: self.op,
                arg: arg.into(),
                expected: expected.name().into(),
                actual: tensor.dtype(),
            });
        }
        Ok(())
    }

    pub fn float(&self, arg: &str, tensor: &TensorView<'_>) -> Result<()> {
        if !tensor.dtype().is_float() {
            return Err(Error::DType {
                op: self.op,
                arg: arg.into(),
                expected: "float32, float16 or bfloat16".into(),
                actual: tensor.dtype(),
            });
        }
        Ok(())
    }

    pub fn device(&self, arg: &str, tensor: &TensorView<'_>) -> Result<()> {
        if tensor.device() != self.device {
            return Err(Error::Device {
                op: self.op,
                arg: arg.into(),
                expected: self.device,
                actual: tensor.device(),
            });
        }
        Ok(())
    }

    /// An output or in-place target must not share bytes with any of `others`.
    pub fn disjoint(&self, arg: &str, target: &TensorView<'_>, others: &[(&str, &TensorView<'_>)]) -> Result<()> {
        let mine = target.byte_range();
        for (other_name, other) in others {
            let theirs = other.byte_range();
            if !mine.is_empty() && !theirs.is_empty() && mine.start < theirs.end && theirs.start < mine.end {
                return Err(Error::Overlap {
                    op: self.op,
                    arg: arg.into(),
                    other: (*other_name).into(),
                });
            }
        }
        Ok(())
    }

    /// The key/value pools: same dtype as `like_dtype`, shapes consistent with `layout`.
    pub fn pools(
        &self,
        layout: crate::CacheLayout,
        like_dtype: DType,
        k_cache: &TensorView<'_>,
        v_cache: &TensorView<'_>,
    ) -> Result<CacheGeometry> {
        self.device("k_cache", k_cache)?;
        self.device("v_cache", v_cache)?;
        self.dtype("k_cache", k_cache, like_dtype)?;
        self.dtype("v_cache", v_cache, like_dtype)?;
        CacheGeometry::from_pool_shapes(self.op, layout, like_dtype, k_cache.shape(), v_cache.shape())
    }

    /// Query heads must be a positive multiple of the pool's KV heads.
    pub fn head_grouping(&self, arg: &str, num_q_heads: usize, num_kv_heads: usize) -> Result<()> {
        if num_q_heads == 0 || num_q_heads % num_kv_heads != 0 {
            return Err(Error::value(
                self.op,
                format!("{arg}.shape[1] (num_q_heads)"),
                format!("a positive multiple of num_kv_heads = {num_kv_heads}"),
                num_q_heads,
            ));
        }
        Ok(())
    }

    /// Softmax scale: the given one if finite, else `1/sqrt(head_dim)`.
    pub fn scale(&self, scale: Option<f32>, head_dim: usize) -> Result<f32> {
        match scale {
            Some(s) if !s.is_finite() => Err(Error::value(self.op, "scale", "a finite number", s)),
            Some(s) => Ok(s),
            None => Ok(1.0 / (head_dim as f32).sqrt()),
        }
    }

    /// Host-side check of per-sequence lengths and the pages they use: each length in
    /// `0..=capacity` and each used page id inside the pool.
    pub fn lengths_and_pages(
        &self,
        lengths_arg: &str,
        lengths: &[i32],
        page_table: &[i32],
        pages_per_sequence: usize,
        geometry: &CacheGeometry,
    ) -> Result<()> {
        let capacity = geometry.capacity(pages_per_sequence);
        for (seq, &len) in lengths.iter().enumerate() {
            if len < 0 || len as usize > capacity {
                return Err(Error::value(
                    self.op,
                    format!("{lengths_arg}[{seq}]"),
                    format!(
                        "in 0..={capacity} (page_table holds {pages_per_sequence} pages of {} tokens)",
                        geometry.page_size
                    ),
                    len,
                ));
            }
            let used_pages = (len as usize).div_ceil(geometry.page_size);
            let row = &page_table[seq * pages_per_sequence..][..used_pages];
            self.page_ids(seq, row, geometry.num_pages)?;
        }
        Ok(())
    }

    /// Every page id of `row` (page table row `seq`) must address a page of the pool.
    pub fn page_ids(&self, seq: usize, row: &[i32], num_pages: usize) -> Result<()> {
        if let Some((j, &page)) = row.iter().enumerate().find(|(_, &p)| p < 0 || p as usize >= num_pages) {
            return Err(Error::value(
                self.op,
                format!("page_table[{seq}, {j}]"),
                format!("a page id in 0..{num_pages} (the pool's pages)"),
                page,
            ));
        }
        Ok(())
    }
}
