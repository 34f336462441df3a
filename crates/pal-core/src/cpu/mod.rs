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
