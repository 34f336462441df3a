//! `fill_kv_pages` (SPEC §3.3): writes new tokens' keys and values into the pools, in place.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::options::FillOptions;
use crate::problem::{FillInputs, FillProblem, FillTarget, KvDestination};
use crate::tensor::{Device, TensorView, TensorViewMut};
use crate::validate::{resolve_on_host, Check};

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
    crate::host_profile::mark(crate::host_profile::Stage::Validation);
    let result = super::backend_for(inputs.new_keys.device())?.fill(&problem, k_cache, v_cache);
    crate::host_profile::mark(crate::host_profile::Stage::Launch);
    result
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
    // The new keys against the pools first, then the new values against both: a wrong
    // `new_keys` is named as itself, not as the values that disagree with it.
    let (k_view, v_view) = (k_cache.as_view(), v_cache.as_view());
    let agreed = inputs.new_values.dtype();
    if dtype != agreed && k_view.dtype() == agreed && v_view.dtype() == agreed {
        return Err(Error::DType {
            op: check.op,
            arg: "new_keys".into(),
            expected: format!("{agreed} (the dtype of the pools and `new_values`)"),
            actual: dtype,
        });
    }
    let geometry = check.pools(options.layout, ("new_keys", dtype), &k_view, &v_view)?;
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
    check.exact("new_values", &inputs.new_values, &expected, pattern)?;
    check.dtype("new_values", &inputs.new_values, dtype)?;

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
    reads.extend(inputs.kv_scales.tensors());
    check.disjoint("k_cache", &k_view, &reads)?;
    reads.push(("k_cache", &k_view));
    check.disjoint("v_cache", &v_view, &reads)?;

    check.kv_scales(&inputs.kv_scales, &geometry)?;

    let on_host = index_tensors.iter().all(|(_, t)| t.device() == Device::Cpu);
    let target = if on_host {
        FillTarget::Resolved(resolve_on_host(&check, &inputs.destination, &geometry)?)
    } else {
        FillTarget::OnDevice
    };
    Ok(FillProblem {
        inputs,
        source_dtype: dtype,
        geometry,
        num_tokens,
        target,
        execution: options.execution,
    })
}
