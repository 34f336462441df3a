//! fill_kv_pages on the CPU: in place, one task per KV head (heads never share bytes in any
//! layout), tokens in order within a task so a repeated slot keeps the last token's data. Pools
//! of the new rows' dtype get the bits as they are; fp8 pools get `saturate(rne(x / scale))`.

use super::{DisjointWrites, Spread};
use crate::dtype::FloatElement;
use crate::layout::RowRuns;
use crate::problem::{FillProblem, FillTarget};
use crate::tensor::TensorViewMut;

pub(super) fn run<T: FloatElement, K: FloatElement>(
    problem: &FillProblem<'_, '_>,
    k_cache: &mut TensorViewMut<'_>,
    v_cache: &mut TensorViewMut<'_>,
) {
    let FillTarget::Resolved(targets) = &problem.target else {
        unreachable!("host index tensors are resolved during validation")
    };
    let geometry = problem.geometry;
    let (d, num_kv_heads) = (geometry.head_dim, geometry.num_kv_heads);
    // SAFETY: validation checked that every tensor is on the host with the pools' dtype.
    let (keys, values, k_pool, v_pool) = unsafe {
        (
            problem.inputs.new_keys.host_slice::<T>(),
            problem.inputs.new_values.host_slice::<T>(),
            DisjointWrites::new(k_cache.host_slice_mut::<K>()),
            DisjointWrites::new(v_cache.host_slice_mut::<K>()),
        )
    };
    // SAFETY: validated float32 host scales.
    let (k_scales, v_scales) = unsafe {
        (
            problem.inputs.kv_scales.k.host_per_head(num_kv_heads),
            problem.inputs.kv_scales.v.host_per_head(num_kv_heads),
        )
    };
    // Pools of the rows' own type get the bits; fp8 pools exactly the CUDA kernel's steps:
    // IEEE division in float32, then one rounding. (The type test folds at compile time.)
    let convert = |x: T, scale: f32| -> K {
        match (&x as &dyn std::any::Any).downcast_ref::<K>() {
            Some(&same) => same,
            None => K::from_f32(x.to_f32() / scale),
        }
    };
    let (k_runs, v_runs) = (geometry.k_row_runs(), geometry.v_row_runs());
    let bytes = 2 * targets.len() * num_kv_heads * d * std::mem::size_of::<K>();
    let heads: Vec<usize> = (0..num_kv_heads).collect();
    Spread::for_bytes(bytes).items(
        &heads,
        || (),
        |_, &kv_head| {
            let (k_scale, v_scale) = (k_scales[kv_head], v_scales[kv_head]);
            for (token, target) in targets.iter().enumerate() {
                let Some((page, slot)) = *target else { continue };
                let src = (token * num_kv_heads + kv_head) * d;
                // SAFETY: every element of one head's page is written by the task of that head only.
                unsafe {
                    write_row(
                        &k_pool,
                        geometry.k_offset(page, kv_head, slot, 0),
                        k_runs,
                        d,
                        keys[src..][..d].iter().map(|&x| convert(x, k_scale)),
                    );
                    write_row(
                        &v_pool,
                        geometry.v_offset(page, kv_head, slot, 0),
                        v_runs,
                        d,
                        values[src..][..d].iter().map(|&x| convert(x, v_scale)),
                    );
                }
            }
        },
    );
}

/// Scatters one token's row (`d` elements) into the runs it occupies in a pool.
///
/// # Safety
/// No other task may write the span of the runs concurrently (it lies inside one page of one
/// head, which one task owns).
unsafe fn write_row<K: Copy>(
    pool: &DisjointWrites<K>,
    base: usize,
    runs: RowRuns,
    d: usize,
    row: impl Iterator<Item = K>,
) {
    let count = d / runs.len;
    let span = pool.slice(base, (count - 1) * runs.stride + runs.len);
    // Runs of `len` elements, `stride` apart (len 1: the pal value layout, one element per dim).
    let mut row = row;
    for run in 0..count {
        for (slot, value) in span[run * runs.stride..][..runs.len].iter_mut().zip(&mut row) {
            *slot = value;
        }
    }
}
