//! The seam between validated operations and the code that runs them. Each backend implements
//! the three operations on problems that already passed the shared validation; the device that
//! holds the data picks the backend.

#[cfg(not(feature = "cuda"))]
use crate::error::Error;
use crate::error::Result;
use crate::problem::{DecodeProblem, FillProblem, PrefillProblem};
use crate::tensor::{Device, TensorViewMut};

pub(crate) trait Backend: Sync {
    fn decode(&self, problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()>;
    fn prefill(&self, problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()>;
    fn fill(
        &self,
        problem: &FillProblem<'_, '_>,
        k_cache: &mut TensorViewMut<'_>,
        v_cache: &mut TensorViewMut<'_>,
    ) -> Result<()>;
}

/// The backend for data on `device`.
pub(crate) fn for_device(device: Device) -> Result<&'static dyn Backend> {
    match device {
        Device::Cpu => Ok(&crate::cpu::CpuBackend),
        #[cfg(feature = "cuda")]
        Device::Cuda(_) => Ok(&crate::cuda::CudaBackend),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => Err(Error::BackendUnavailable {
            backend: "cuda",
            reason: "PAL was built without its `cuda` feature".into(),
        }),
    }
}
