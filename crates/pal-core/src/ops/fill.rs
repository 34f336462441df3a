//! `fill_kv_pages` (SPEC §3.3): writes new tokens' keys and values into the pools, in place.

use super::validate::Check;
use crate::backend;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{CacheGeometry, CacheLayout};
use crate::tensor::{Device, TensorView, TensorViewMut};

/// Where each new token goes.
#[derive(Clone, Debug)]
pub enum KvDestination<'a> {
    /// Token `t` goes to logical position `positions[t]` of sequence `token_to_seq[t]`, through
    /// that sequence's row of `page_table` (`[num_seqs, pages_per_sequence]`). All int32 `[T]`.
    Positions {
        /// `[num_seqs, pages_per_sequence]` int32 page ids.
        page_table: TensorView<'a>,
        /// `[num_tokens]` int32 logical positions.
        positions: TensorView<'a>,
        /// `[num_tokens]` int32 sequence of each token.
        token_to_seq: TensorView<'a>,
    },
    /// vLLM style: token `t` goes to flat slot `slot_mapping[t] = page * page_size + slot`;
    /// a negative slot skips the token (padding).
    SlotMapping(TensorView<'a>),
}

/// Inputs of [`fill_kv_pages`].
#[derive(Clone, Debug)]
pub struct FillInputs<'a> {
    /// `[T, num_kv_heads, head_dim]`, the pools' dtype.
    pub new_keys: TensorView<'a>,
    /// `[T, num_kv_heads, head_dim]`, the pools' dtype.
    pub new_values: TensorView<'a>,
    /// Where the new tokens go.
    pub destination: KvDestination<'a>,
}

/// Options of [`fill_kv_pages`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FillOptions {
    /// Layout of the pools.
    pub layout: CacheLayout,
    /// How the call runs on a GPU.
    pub execution: super::Execution,
}

/// Destination slots of the new tokens, resolved on the host where the index tensors live there.
pub(crate) enum FillTarget {
    /// `(page, slot)` per token; `None` skips it.
    Resolved(Vec<Option<(usize, usize)>>),
    /// Index tensors on the device: the backend resolves and checks them there.
    OnDevice,
}

/// A fill call that passed validation.
pub(crate) struct FillProblem<'a, 'i> {
    pub inputs: &'i FillInputs<'a>,
    pub geometry: CacheGeometry,
    pub num_tokens: usize,
    pub target: FillTarget,
    pub execution: super::Execution,
}

/// Writes the keys and values of `T` new tokens into `k_cache` / `v_cache` in place. Everything
/// is validated first: on error nothing has been written.
pub fn fill_kv_pages(
    inputs: &FillInputs<'_>,
    k_cache: &mut TensorViewMut<'_>,
    v_cache: &mut TensorViewMut<'_>,
    options: &FillOptions,
) -> Result<()> {
    let problem = validate(inputs, k_cache, v_cache, options)?;
    if problem.num_tokens == 0 {
        return Ok(());
    }
    backend::for_device(inputs.new_keys.device())?.fill(&problem, k_cache, v_cache)
}

fn validate<'a, 'i>(
    inputs: &'i FillInputs<'a>,
    k_cache: &TensorViewMut<'_>,
    v_cache: &TensorViewMut<'_>,
    options: &FillOptions,
) -> Result<FillProblem<'a, 'i>> {
    let check = Check {
        op: "fill_kv_pages",
        device: inputs.new_keys.device(),
    };
    let pattern = "[num_tokens, num_kv_heads, head_dim]";
    let shape = check.rank("new_keys", &inputs.new_keys, pattern)?.to_vec();
    check.float("new_keys", &inputs.new_keys)?;
    let dtype = inputs.new_keys.dtype();
    check.exact("new_values", &inputs.new_values, &shape, pattern)?;
    check.dtype("new_values", &inputs.new_values, dtype)?;
    let (k_view, v_view) = (k_cache.as_view(), v_cache.as_view());
    let geometry = check.pools(options.layout, dtype, &k_view, &v_view)?;
    let num_tokens = shape[0];
    let expected = [num_tokens, geometry.num_kv_heads, geometry.head_dim];
    if shape != expected {
        return Err(Error::shape(
            check.op,
            "new_keys",
            format!("{pattern} = {expected:?} to match the pools"),
            &shape,
        ));
    }

    let index_tensors: Vec<(&str, &TensorView<'_>)> = match &inputs.destination {
        KvDestination::Positions {
            page_table,
            positions,
            token_to_seq,
        } => vec![
            ("page_table", page_table),
            ("positions", positions),
            ("token_to_seq", token_to_seq),
        ],
        KvDestination::SlotMapping(slots) => vec![("slot_mapping", slots)],
    };
    for (arg, tensor) in &index_tensors {
        check.dtype(arg, tensor, DType::I32)?;
        if *arg == "page_table" {
            check.rank(arg, tensor, "[num_seqs, pages_per_sequence]")?;
        } else {
            check.exact(arg, tensor, &[num_tokens], "[num_tokens]")?;
        }
    }
    let mut reads: Vec<(&str, &TensorView<'_>)> =
        vec![("new_keys", &inputs.new_keys), ("new_values", &inputs.new_values)];
    reads.extend(index_tensors.iter().copied());
    check.disjoint("k_cache", &k_view, &reads)?;
    reads.push(("k_cache", &k_view));
    check.disjoint("v_cache", &v_view, &reads)?;

    let on_host = index_tensors.iter().all(|(_, t)| t.device() == Device::Cpu);
    let target = if on_host {
        FillTarget::Resolved(resolve_on_host(&check, &inputs.destination, &geometry)?)
    } else {
        FillTarget::OnDevice
    };
    Ok(FillProblem {
        inputs,
        geometry,
        num_tokens,
        target,
        execution: options.execution,
    })
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
