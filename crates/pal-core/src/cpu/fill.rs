//! fill_kv_pages on the CPU: in place, one task per KV head (heads never share bytes in any
//! layout), tokens in order within a task so a repeated slot keeps the last token's data.

use rayon::prelude::*;

use super::DisjointWrites;
use crate::dtype::FloatElement;
use crate::layout::RowRuns;
use crate::problem::{FillProblem, FillTarget};
use crate::tensor::TensorViewMut;

pub(super) fn run<T: FloatElement>(
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
            DisjointWrites::new(k_cache.host_slice_mut::<T>()),
            DisjointWrites::new(v_cache.host_slice_mut::<T>()),
        )
    };
    let (k_runs, v_runs) = (geometry.k_row_runs(), geometry.v_row_runs());
    (0..num_kv_heads).into_par_iter().for_each(|kv_head| {
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
                );
                write_row(
                    &v_pool,
                    geometry.v_offset(page, kv_head, slot, 0),
                    v_runs,
                    &values[src..][..d],
                );
            }
        }
    });
}

/// Scatters one token's row into the runs it occupies in a pool.
///
/// # Safety
/// No other task may write the span of the runs concurrently (it lies inside one page of one
/// head, which one task owns).
unsafe fn write_row<T: Copy>(pool: &DisjointWrites<T>, base: usize, runs: RowRuns, row: &[T]) {
    let count = row.len() / runs.len;
    let span = pool.slice(base, (count - 1) * runs.stride + runs.len);
    if runs.len == 1 {
        // The pal value layout: one element per dim, a page-size stride apart.
        for (i, &value) in row.iter().enumerate() {
            span[i * runs.stride] = value;
        }
    } else {
        for (i, chunk) in row.chunks_exact(runs.len).enumerate() {
            span[i * runs.stride..][..runs.len].copy_from_slice(chunk);
        }
    }
}
