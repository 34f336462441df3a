//! The CUDA backend. Kernels are the `.cu` files under `kernels/`, embedded in the binary and
//! compiled at run time by NVRTC for the device's own architecture ([`jit`]), one module per
//! specialisation, cached in memory and on disk. Launches go through the driver API's raw
//! layer on the caller's stream (torch's current stream from Python), so PAL never creates,
//! synchronises or owns a stream unless `Execution::check` asks it to validate device tables.

mod decode;
mod device;
mod fill;
pub mod jit;
mod prefill;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::problem::{DecodeProblem, FillProblem, PrefillProblem};
use crate::tensor::TensorViewMut;

pub use jit::{compile_all_kernels, KERNEL_DIR_ENV};

pub(crate) struct CudaBackend;

/// Head dims and page sizes with a CUDA kernel.
pub const HEAD_DIMS: [usize; 5] = [64, 80, 96, 128, 256];
/// Page sizes with a CUDA kernel.
pub const PAGE_SIZES: [usize; 3] = [8, 16, 32];

impl Backend for CudaBackend {
    fn decode(&self, problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
        decode::run(problem, out)
    }

    fn prefill(&self, problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()> {
        prefill::run(problem, out)
    }

    fn fill(
        &self,
        problem: &FillProblem<'_, '_>,
        k_cache: &mut TensorViewMut<'_>,
        v_cache: &mut TensorViewMut<'_>,
    ) -> Result<()> {
        fill::run(problem, k_cache, v_cache)
    }
}

fn driver_error(op: &'static str, what: &str, error: cudarc::driver::DriverError) -> Error {
    Error::Internal {
        op,
        backend: "cuda",
        message: format!("{what}: {error:?}"),
    }
}

/// PAL's kernels move whole 16-byte vectors: every tensor they address must start on a 16-byte
/// boundary (allocations do; only views at odd element offsets do not).
fn check_aligned(op: &'static str, tensors: &[(&str, usize)]) -> Result<()> {
    match tensors.iter().find(|(_, address)| address % 16 != 0) {
        Some((name, address)) => Err(Error::Unsupported {
            op,
            backend: "cuda",
            what: format!("{name} starting at address {address:#x}"),
            supported: "tensors whose data starts on a 16-byte boundary".into(),
        }),
        None => Ok(()),
    }
}
