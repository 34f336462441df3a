//! The public operations, one file per op: validation of the call into a
//! [problem](crate::problem), then dispatch to the backend that owns the data.

mod decode;
mod fill;
mod prefill;

pub use decode::paged_attention_decode;
pub use fill::fill_kv_pages;
pub use prefill::paged_attention_prefill;

use crate::backend::Backend;
#[cfg(not(feature = "cuda"))]
use crate::error::Error;
use crate::error::Result;
use crate::tensor::Device;

/// The backend for data on `device`.
fn backend_for(device: Device) -> Result<&'static dyn Backend> {
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
