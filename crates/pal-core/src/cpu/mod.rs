//! The CPU backend: the exact reference every other backend is checked against, and fast
//! (rayon across sequences, heads and KV chunks; AVX2 inner loops; float32 accumulation).
//!
//! Work is always split the same way for a given problem, whatever the thread count, and
//! partial results merge in a fixed order: outputs are bitwise reproducible.

mod decode;
mod fill;
mod fused;
mod prefill;
mod simd;
mod softmax;
mod tile;
mod workspace;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::backend::Backend;
use crate::dtype::DType;
use crate::error::Result;
use crate::problem::{DecodeProblem, FillProblem, PrefillProblem};
use crate::tensor::{TensorView, TensorViewMut};

/// Runs `$body` with `$Q` bound to the Rust type of a model dtype (queries, prompt or new keys)
/// and `$K` to that of the KV pools': the same type, or an fp8 type (the pairs validation admits).
macro_rules! with_attention_types {
    ($query:expr, $kv:expr, $Q:ident, $K:ident => $body:expr) => {
        with_float_type!($query, $Q => match $kv {
            kv if kv == $query => {
                type $K = $Q;
                $body
            }
            DType::F8E4M3 => {
                type $K = crate::dtype::F8E4M3;
                $body
            }
            DType::F8E5M2 => {
                type $K = crate::dtype::F8E5M2;
                $body
            }
            kv => unreachable!("validation admits no {} data over {kv} KV pools", $query),
        })
    };
}

/// Runs `$body` with `$T` bound to the Rust type of a validated model dtype.
macro_rules! with_float_type {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F16 => {
                type $T = half::f16;
                $body
            }
            DType::BF16 => {
                type $T = half::bf16;
                $body
            }
            other => unreachable!("validation admits no {other} queries, keys or values here"),
        }
    };
}

pub(crate) struct CpuBackend;

impl Backend for CpuBackend {
    fn decode(&self, problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
        with_attention_types!(problem.query_dtype, problem.geometry.dtype, Q, K => decode::run::<Q, K>(problem, out));
        Ok(())
    }

    fn prefill(&self, problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
        with_attention_types!(problem.query_dtype, problem.geometry.dtype, Q, K => prefill::run::<Q, K>(problem, out));
        Ok(())
    }

    fn fill(
        &self,
        problem: &FillProblem<'_, '_>,
        k_cache: &mut TensorViewMut<'_>,
        v_cache: &mut TensorViewMut<'_>,
    ) -> Result<()> {
        with_attention_types!(problem.source_dtype, problem.geometry.dtype, T, K => fill::run::<T, K>(problem, k_cache, v_cache));
        Ok(())
    }
}

/// Work of under this many bytes (keys and values read or written) runs on the calling thread:
/// handing it to the thread pool and waiting for it (a futex wake and wait each way) costs more
/// than the second core saves. On a 2-core VM (2026-12-02) a `rayon::join` from an idle pool
/// took 160-180 us (median; 25 us back to back), and a 1 x 16-token decode (GQA 4, D 128) from
/// Python 60-67 us through the pool against 20-25 us on the caller; around 4-8 MiB the two
/// ran level there (a machine whose threads wake in a few us gains from the pool sooner).
/// Checked again with `claim_on_all` (`examples/cpu_call_latency.rs`; 2-core Zen 4, 2026-12-05,
/// bfloat16 `pal`, 1 x 64-1024 tokens): at 256 KiB, calls back to back ran faster (1 x 512: 27
/// -> 34-48 GB/s, best of ten), but calls 3 ms apart, the pool asleep, ran slower (1 x 64 / 1 x
/// 256: 23-28 / 50-58 us -> 47-54 / 80-91 us median), also when the caller did not wait for
/// pool threads that had not yet joined; so 4 MiB stays.
const SERIAL_BYTES: usize = 4 << 20;

/// How a backend call spreads its tasks: over the thread pool, or in order on the caller.
#[derive(Clone, Copy)]
pub(crate) struct Spread {
    parallel: bool,
}

impl Spread {
    /// The spread for a call that reads or writes `bytes`.
    pub fn for_bytes(bytes: usize) -> Self {
        Self {
            parallel: bytes >= SERIAL_BYTES && rayon::current_num_threads() > 1,
        }
    }

    /// Calls `task(state, i, chunk)` on each `chunk`-long piece `i` of `data`, `state` made by
    /// `init` once per thread.
    pub fn chunks<T: Send, S>(
        self,
        data: &mut [T],
        chunk: usize,
        init: impl Fn() -> S + Sync + Send,
        task: impl Fn(&mut S, usize, &mut [T]) + Sync + Send,
    ) {
        if self.parallel {
            let (len, pieces) = (data.len(), data.len().div_ceil(chunk));
            let buffer = DisjointWrites::new(data);
            claim_on_all(pieces, init, |state, i| {
                let start = i * chunk;
                // SAFETY: each piece index is claimed once, and pieces do not overlap.
                let piece = unsafe { buffer.slice(start, chunk.min(len - start)) };
                task(state, i, piece)
            });
        } else {
            let mut state = init();
            for (i, piece) in data.chunks_mut(chunk).enumerate() {
                task(&mut state, i, piece);
            }
        }
    }

    /// Calls `task(state, item)` on each of `items`, `state` made by `init` once per thread.
    pub fn items<I: Sync, S>(
        self,
        items: &[I],
        init: impl Fn() -> S + Sync + Send,
        task: impl Fn(&mut S, &I) + Sync + Send,
    ) {
        if self.parallel {
            claim_on_all(items.len(), init, |state, i| task(state, &items[i]));
        } else {
            let mut state = init();
            for item in items {
                task(&mut state, item);
            }
        }
    }
}

/// Runs `work(state, i)` for every `i` in `0..n`, each once, on the calling thread and on every
/// other thread of the pool, each taking the next index as it comes free (`state` made by `init`
/// once per thread that takes any). The caller starts at once: a pool that has gone to sleep
/// wakes while it works, where handing the whole call to the pool waited for that first (the
/// lab's CPU decode on a 2-core Zen 4 VM, 2026-12-05, two runs each: float32 1 x 1024 / 1 x
/// 4096 at 79-83 / 91-92% of the paged-read ceiling against 48-51 / 58-60%, bfloat16 1 x 1024
/// 46-49% against 34-38%; 8 x 4096 and 32 x 1024 level). Which thread takes which index never
/// changes a result.
fn claim_on_all<S>(n: usize, init: impl Fn() -> S + Sync, work: impl Fn(&mut S, usize) + Sync) {
    let next = AtomicUsize::new(0);
    let take = || {
        let mut state = None;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            work(state.get_or_insert_with(&init), i);
        }
    };
    rayon::in_place_scope(|scope| {
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(|_| take());
        }
        take();
    });
}

/// A mutable buffer shared by parallel tasks that each write their own, disjoint elements.
pub(crate) struct DisjointWrites<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: tasks only reach the buffer through `slice`, whose contract forbids overlap.
unsafe impl<T: Send> Send for DisjointWrites<T> {}
unsafe impl<T: Send> Sync for DisjointWrites<T> {}

impl<T> DisjointWrites<T> {
    pub fn new(buffer: &mut [T]) -> Self {
        Self {
            ptr: buffer.as_mut_ptr(),
            len: buffer.len(),
        }
    }

    /// Elements `start..start + len`.
    ///
    /// # Safety
    /// No two live slices obtained from this buffer may overlap.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len, "write outside the buffer");
        std::slice::from_raw_parts_mut(self.ptr.add(start), len)
    }
}

/// An optional `[num_q_heads]` float32 vector of the call (ALiBi slopes, sinks) as a slice.
///
/// # Safety
/// `tensor`, when present, is a validated float32 host tensor.
pub(super) unsafe fn head_vector<'a>(tensor: Option<&'a TensorView<'_>>) -> Option<&'a [f32]> {
    tensor.map(|t| unsafe { t.host_slice::<f32>() })
}
