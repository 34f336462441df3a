//! PAL errors as Python exceptions: a wrong dtype is a `TypeError`, any other misuse a
//! `ValueError`, and failures that are not the caller's fault a `RuntimeError`.

use pal_core::{Device, Error};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::PyErr;

pub fn to_py_err(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::DType { .. } => PyTypeError::new_err(message),
        Error::Shape { .. }
        | Error::Device { .. }
        | Error::NotContiguous { .. }
        | Error::Value { .. }
        | Error::Overlap { .. }
        | Error::Unsupported { .. } => PyValueError::new_err(message),
        Error::BackendUnavailable { .. } | Error::Internal { .. } => PyRuntimeError::new_err(message),
    }
}

/// Runs a PAL call, turning a panic (a bug) into an `Internal` error instead of unwinding into Python.
pub fn guard(op: &'static str, device: Device, call: impl FnOnce() -> pal_core::Result<()>) -> pal_core::Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal {
            op,
            backend: match device {
                Device::Cpu => "cpu",
                Device::Cuda(_) => "cuda",
            },
            message,
        })
    })
}
