//! fill_kv_pages on the CPU: in place, one task per destination page (a page of every KV head is
//! one span of each pool in every layout, so tasks never share bytes), each writing its tokens'
//! rows over every head, in token order, so a repeated slot keeps the last token's data. Pools of
//! the new rows' dtype get the bits as they are; fp8 pools get `saturate(rne(x / scale))`.
//! Tokens of one page are mostly consecutive (a prefill chunk), so a task reads whole new rows
//! and writes whole slot rows where the layout has them (`nhd`); tasks of one KV head, each over
//! every token, read 512-byte pieces 4 KiB apart, which the prefetchers do not follow across
//! 4 KiB pages. 2-core AMD EPYC VM, 32768 tokens, HKV 8, D 128, page 16, random page order, back
//! to back (2026-12-04), float32 / bfloat16 ms: `pal` 82 / 69 -> 32 / 19, `nhd` 43 / 24 -> 16 /
//! 7.7 (71-74% of memcpy), `hnd` 33 / 18 -> 18 / 9.0.

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
    let page_elements = geometry.page_elements();
    let bytes = 2 * targets.len() * num_kv_heads * d * std::mem::size_of::<K>();
    Spread::for_bytes(bytes).items(
        &page_tasks(targets),
        || (),
        |_, task| {
            let page = task.page;
            // SAFETY: each page is one task's (`page_tasks`), and a page of every head is one span.
            let (k_page, v_page) = unsafe {
                (
                    k_pool.slice(page * page_elements, page_elements),
                    v_pool.slice(page * page_elements, page_elements),
                )
            };
            for &token in &task.tokens {
                let Some((_, slot)) = targets[token] else { continue };
                for kv_head in 0..num_kv_heads {
                    let (k_scale, v_scale) = (k_scales[kv_head], v_scales[kv_head]);
                    let src = (token * num_kv_heads + kv_head) * d;
                    // Offsets within the page: the pool's offset of page 0.
                    let (k_base, v_base) = (
                        geometry.k_offset(0, kv_head, slot, 0),
                        geometry.v_offset(0, kv_head, slot, 0),
                    );
                    write_row(k_page, k_base, k_runs, &keys[src..][..d], |x| convert(x, k_scale));
                    write_row(v_page, v_base, v_runs, &values[src..][..d], |x| convert(x, v_scale));
                }
            }
        },
    );
}

/// The tokens bound for one page, in token order.
struct PageTask {
    page: usize,
    tokens: Vec<usize>,
}

/// The tokens grouped by destination page, each group in token order (skipped tokens dropped).
/// Runs of consecutive tokens into one page (a prefill chunk's) are grouped whole, and runs are
/// ordered by page with a stable sort, so a page named by several runs keeps their order.
fn page_tasks(targets: &[Option<(usize, usize)>]) -> Vec<PageTask> {
    let mut runs: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (token, target) in targets.iter().enumerate() {
        let Some((page, _)) = *target else { continue };
        match runs.last_mut() {
            Some((last, range)) if *last == page && range.end == token => range.end += 1,
            _ => runs.push((page, token..token + 1)),
        }
    }
    runs.sort_by_key(|(page, _)| *page);
    let mut tasks: Vec<PageTask> = Vec::new();
    for (page, range) in runs {
        match tasks.last_mut() {
            Some(task) if task.page == page => task.tokens.extend(range),
            _ => tasks.push(PageTask {
                page,
                tokens: range.collect(),
            }),
        }
    }
    tasks
}

/// Writes one token's row into the runs it occupies in a page, each element converted.
fn write_row<T: Copy, K>(page: &mut [K], base: usize, runs: RowRuns, row: &[T], convert: impl Fn(T) -> K) {
    let count = row.len() / runs.len;
    let span = &mut page[base..][..(count - 1) * runs.stride + runs.len];
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
