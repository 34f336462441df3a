//! fill_kv_pages on the CPU: in place, one task per KV head (heads never share bytes in any
//! layout), tokens in order within a task so a repeated slot keeps the last token's data. Pools
//! of the new rows' dtype get the bits as they are; fp8 pools get `saturate(rne(x / scale))`.
//! `pal` values (one element per dim, a page's slots apart) are stored by a strided walk, not a
//! slice per element: 32768 tokens, HKV 8, D 128, page 16 on this 2-core VM 140 -> 89 ms
//! (float32) and 112 -> 73 ms (bfloat16), back to back (2026-12-04); `nhd` level.

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
                        &keys[src..][..d],
                        |x| convert(x, k_scale),
                    );
                    write_row(
                        &v_pool,
                        geometry.v_offset(page, kv_head, slot, 0),
                        v_runs,
                        &values[src..][..d],
                        |x| convert(x, v_scale),
                    );
                }
            }
        },
    );
}

/// Scatters one token's row into the runs it occupies in a pool, each element converted.
///
/// # Safety
/// No other task may write the span of the runs concurrently (it lies inside one page of one
/// head, which one task owns).
unsafe fn write_row<T: Copy, K>(
    pool: &DisjointWrites<K>,
    base: usize,
    runs: RowRuns,
    row: &[T],
    convert: impl Fn(T) -> K,
) {
    let count = row.len() / runs.len;
    let span = pool.slice(base, (count - 1) * runs.stride + runs.len);
    if runs.len == 1 {
        // The pal value layout: one element per dim, `stride` apart (no slice per element).
        for (slot, &x) in span.iter_mut().step_by(runs.stride).zip(row) {
            *slot = convert(x);
        }
        return;
    }
    // Runs of `len` elements, `stride` apart.
    for (run, part) in row.chunks_exact(runs.len).enumerate() {
        for (slot, &x) in span[run * runs.stride..][..runs.len].iter_mut().zip(part) {
            *slot = convert(x);
        }
    }
}
