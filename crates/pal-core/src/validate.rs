//! Checks shared by every operation (`ops/`) and by the backends that check device-side index
//! tables on the host (`cuda/`). Outside `ops/` so that backends need not depend on the
//! operations that dispatch to them. All of them run before anything is written.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{CacheGeometry, CacheLayout};
use crate::problem::{KvDestination, KvScale, KvScales};
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

    /// A model-dtype tensor (queries, prompt keys and values, new keys and values, outputs).
    pub fn float(&self, arg: &str, tensor: &TensorView<'_>) -> Result<()> {
        if !tensor.dtype().is_float() || tensor.dtype().is_fp8() {
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

    /// The key/value pools: their geometry, read off shapes consistent with `layout`, with
    /// their own dtype as the KV dtype: `like_dtype` (the dtype of argument `like_arg`, the
    /// queries or the new keys of a fill), or an fp8 type, the same for both pools.
    pub fn pools(
        &self,
        layout: CacheLayout,
        (like_arg, like_dtype): (&str, DType),
        k_cache: &TensorView<'_>,
        v_cache: &TensorView<'_>,
    ) -> Result<CacheGeometry> {
        self.device("k_cache", k_cache)?;
        self.device("v_cache", v_cache)?;
        if k_cache.dtype() != like_dtype && !k_cache.dtype().is_fp8() {
            return Err(Error::DType {
                op: self.op,
                arg: "k_cache".into(),
                expected: format!("{like_dtype} (the dtype of `{like_arg}`), float8_e4m3fn or float8_e5m2"),
                actual: k_cache.dtype(),
            });
        }
        if v_cache.dtype() != k_cache.dtype() {
            return Err(Error::DType {
                op: self.op,
                arg: "v_cache".into(),
                expected: format!("{}, the dtype of `k_cache`", k_cache.dtype()),
                actual: v_cache.dtype(),
            });
        }
        let kv_dtype = k_cache.dtype();
        CacheGeometry::from_pool_shapes(self.op, layout, kv_dtype, k_cache.shape(), v_cache.shape())
    }

    /// `k_scale` / `v_scale`: 1 unless the pools are fp8; a positive finite number, or a float32
    /// tensor of shape `[]`, `[1]` or `[num_kv_heads]` on the call's device (positive and
    /// finite where the host can read it).
    pub fn kv_scales(&self, scales: &KvScales<'_>, geometry: &CacheGeometry) -> Result<()> {
        for (arg, scale) in [("k_scale", &scales.k), ("v_scale", &scales.v)] {
            let bad = |value: f32, name: String| Error::value(self.op, name, "a positive, finite scale", value);
            if !geometry.dtype.is_fp8() && !matches!(scale, KvScale::Value(x) if *x == 1.0) {
                return Err(Error::value(
                    self.op,
                    arg,
                    format!(
                        "1 or none: scales apply to fp8 pools, and the pools are {}",
                        geometry.dtype
                    ),
                    match scale {
                        KvScale::Value(x) => x.to_string(),
                        KvScale::Tensor(_) => "a tensor".into(),
                    },
                ));
            }
            match scale {
                KvScale::Value(x) if !(x.is_finite() && *x > 0.0) => return Err(bad(*x, arg.into())),
                KvScale::Value(_) => {}
                KvScale::Tensor(t) => {
                    let heads = geometry.num_kv_heads;
                    if !matches!(t.shape(), [] | [1]) && t.shape() != [heads] {
                        return Err(Error::shape(
                            self.op,
                            arg,
                            format!("[], [1] or [num_kv_heads] = [{heads}]"),
                            t.shape(),
                        ));
                    }
                    self.device(arg, t)?;
                    self.dtype(arg, t, DType::F32)?;
                    if t.device() == Device::Cpu {
                        // SAFETY: a host float32 tensor (checked above).
                        let values = unsafe { t.host_slice::<f32>() };
                        if let Some((h, &v)) = values.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
                            let entry = if t.shape().is_empty() {
                                arg.to_string()
                            } else {
                                format!("{arg}[{h}]")
                            };
                            return Err(bad(v, entry));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Query heads must be a positive multiple of the pool's KV heads.
    pub fn head_grouping(&self, arg: &str, num_q_heads: usize, num_kv_heads: usize) -> Result<()> {
        if num_q_heads == 0 || !num_q_heads.is_multiple_of(num_kv_heads) {
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

    /// An optional per-query-head float32 vector (ALiBi slopes, sinks): `[num_q_heads]` on the
    /// call's device, finite where the host can read it.
    pub fn head_vector(&self, arg: &str, tensor: Option<&TensorView<'_>>, num_q_heads: usize) -> Result<()> {
        let Some(tensor) = tensor else {
            return Ok(());
        };
        self.exact(arg, tensor, &[num_q_heads], "[num_q_heads]")?;
        self.dtype(arg, tensor, DType::F32)?;
        if tensor.device() == Device::Cpu {
            // SAFETY: a host tensor whose dtype and shape were checked above.
            let values = unsafe { tensor.host_slice::<f32>() };
            if let Some((h, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Error::value(self.op, format!("{arg}[{h}]"), "a finite number", v));
            }
        }
        Ok(())
    }

    /// The variant's options are in range: a soft-cap is positive and finite.
    pub fn variant(&self, variant: &crate::variant::AttentionVariant) -> Result<()> {
        match variant.logits_soft_cap {
            Some(cap) if !(cap.is_finite() && cap > 0.0) => Err(Error::value(
                self.op,
                "logits_soft_cap",
                "a positive, finite cap (0 or none: off)",
                cap,
            )),
            _ => Ok(()),
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

/// `cu_seqlens_q` must start at 0, never decrease and end at `total_tokens`.
pub(crate) fn check_prompt_offsets(op: &'static str, offsets: &[i32], total_tokens: usize) -> Result<()> {
    if offsets[0] != 0 {
        return Err(Error::value(op, "cu_seqlens_q[0]", "0", offsets[0]));
    }
    if let Some(b) = (1..offsets.len()).find(|&b| offsets[b] < offsets[b - 1]) {
        return Err(Error::value(
            op,
            format!("cu_seqlens_q[{b}]"),
            format!(
                "at least cu_seqlens_q[{}] = {} (offsets never decrease)",
                b - 1,
                offsets[b - 1]
            ),
            offsets[b],
        ));
    }
    let last = offsets.len() - 1;
    if offsets[last] as usize != total_tokens {
        return Err(Error::value(
            op,
            format!("cu_seqlens_q[{last}]"),
            format!("{total_tokens} (q.shape[0], the total prompt tokens)"),
            offsets[last],
        ));
    }
    Ok(())
}

/// Turns host index tensors into `(page, slot)` per token, checking every one against the pool.
pub(crate) fn resolve_on_host(
    check: &Check,
    destination: &KvDestination<'_>,
    geometry: &CacheGeometry,
) -> Result<Vec<Option<(usize, usize)>>> {
    let page_size = geometry.page_size;
    match destination {
        KvDestination::SlotMapping(slots) => {
            let total_slots = geometry.num_pages * page_size;
            // SAFETY: host int32 tensor of checked shape.
            let slots = unsafe { slots.host_slice::<i32>() };
            slots
                .iter()
                .enumerate()
                .map(|(t, &slot)| match slot {
                    s if s < 0 => Ok(None),
                    s if s as usize >= total_slots => Err(Error::value(
                        check.op,
                        format!("slot_mapping[{t}]"),
                        format!("below {total_slots} (pages x page_size), or negative to skip"),
                        s,
                    )),
                    s => Ok(Some((s as usize / page_size, s as usize % page_size))),
                })
                .collect()
        }
        KvDestination::Positions {
            page_table,
            positions,
            token_to_seq,
        } => {
            let (num_seqs, pages_per_sequence) = (page_table.shape()[0], page_table.shape()[1]);
            let capacity = geometry.capacity(pages_per_sequence);
            // SAFETY: host int32 tensors of checked shapes.
            let (table, positions, token_to_seq) = unsafe {
                (
                    page_table.host_slice::<i32>(),
                    positions.host_slice::<i32>(),
                    token_to_seq.host_slice::<i32>(),
                )
            };
            positions
                .iter()
                .zip(token_to_seq)
                .enumerate()
                .map(|(t, (&pos, &seq))| {
                    if seq < 0 || seq as usize >= num_seqs {
                        return Err(Error::value(
                            check.op,
                            format!("token_to_seq[{t}]"),
                            format!("a sequence index in 0..{num_seqs} (page_table rows)"),
                            seq,
                        ));
                    }
                    if pos < 0 || pos as usize >= capacity {
                        return Err(Error::value(
                            check.op,
                            format!("positions[{t}]"),
                            format!(
                                "in 0..{capacity} (page_table holds {pages_per_sequence} pages of {page_size} tokens)"
                            ),
                            pos,
                        ));
                    }
                    let (seq, pos) = (seq as usize, pos as usize);
                    let column = pos / page_size;
                    let page = table[seq * pages_per_sequence + column];
                    if page < 0 || page as usize >= geometry.num_pages {
                        return Err(Error::value(
                            check.op,
                            format!("page_table[{seq}, {column}]"),
                            format!(
                                "a page id in 0..{} (used by positions[{t}] = {pos})",
                                geometry.num_pages
                            ),
                            page,
                        ));
                    }
                    Ok(Some((page as usize, pos % page_size)))
                })
                .collect()
        }
    }
}
