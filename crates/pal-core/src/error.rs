//! The one error type of PAL. Every variant names the operation and the argument, and says what
//! was expected and what was given, so a message is actionable without reading the source.

use crate::dtype::DType;
use crate::tensor::Device;

/// Result alias used across PAL.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a PAL call, grouped by concern.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An argument has the wrong number of dimensions or the wrong extent in one of them.
    #[error("{op}: `{arg}` must have shape {expected}, got {actual:?}")]
    Shape {
        op: &'static str,
        arg: String,
        expected: String,
        actual: Vec<usize>,
    },
    /// An argument has the wrong element type.
    #[error("{op}: `{arg}` must have dtype {expected}, got {actual}")]
    DType {
        op: &'static str,
        arg: String,
        expected: String,
        actual: DType,
    },
    /// An argument lives on another device than the first input.
    #[error("{op}: `{arg}` must be on {expected} like the other inputs, got {actual}")]
    Device {
        op: &'static str,
        arg: String,
        expected: Device,
        actual: Device,
    },
    /// An argument is not laid out densely in row-major order.
    #[error("{op}: `{arg}` must be C-contiguous, got shape {shape:?} with strides {strides:?}")]
    NotContiguous {
        op: &'static str,
        arg: String,
        shape: Vec<usize>,
        strides: Vec<isize>,
    },
    /// An entry of an index tensor (lengths, page ids, positions, offsets) or a scalar is out of range.
    #[error("{op}: `{arg}` must be {expected}, got {actual}")]
    Value {
        op: &'static str,
        arg: String,
        expected: String,
        actual: String,
    },
    /// Two arguments that must not share memory do (an output over an input, say).
    #[error("{op}: `{arg}` must not overlap `{other}` in memory")]
    Overlap {
        op: &'static str,
        arg: String,
        other: String,
    },
    /// A valid request that this backend does not implement (a head dim without a kernel, say).
    #[error("{op}: {what} is not supported by the {backend} backend (supported: {supported})")]
    Unsupported {
        op: &'static str,
        backend: &'static str,
        what: String,
        supported: String,
    },
    /// The backend the data asks for cannot run here (no driver, no GPU, feature disabled).
    #[error("the {backend} backend is unavailable: {reason}")]
    BackendUnavailable { backend: &'static str, reason: String },
    /// A failure inside a backend that is not the caller's fault (a kernel that failed to
    /// compile or launch, a caught panic). Carries the full diagnostic.
    #[error("{op}: internal error in the {backend} backend: {message}")]
    Internal {
        op: &'static str,
        backend: &'static str,
        message: String,
    },
}

impl Error {
    /// An [`Error::Value`]: `arg` should be `expected` but is `actual`.
    pub fn value(op: &'static str, arg: impl Into<String>, expected: impl Into<String>, actual: impl ToString) -> Self {
        Error::Value {
            op,
            arg: arg.into(),
            expected: expected.into(),
            actual: actual.to_string(),
        }
    }

    /// An [`Error::Shape`]: `arg` should have shape `expected` but has `actual`.
    pub fn shape(op: &'static str, arg: impl Into<String>, expected: impl Into<String>, actual: &[usize]) -> Self {
        Error::Shape {
            op,
            arg: arg.into(),
            expected: expected.into(),
            actual: actual.to_vec(),
        }
    }
}
