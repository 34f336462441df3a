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
        /// Operation that was called.
        op: &'static str,
        /// The argument, with the index of the bad entry where there is one.
        arg: String,
        /// What was expected.
        expected: String,
        /// What was given.
        actual: Vec<usize>,
    },
    /// An argument has the wrong element type.
    #[error("{op}: `{arg}` must have dtype {expected}, got {actual}")]
    DType {
        /// Operation that was called.
        op: &'static str,
        /// The argument, with the index of the bad entry where there is one.
        arg: String,
        /// What was expected.
        expected: String,
        /// What was given.
        actual: DType,
    },
    /// An argument lives on another device than the first input.
    #[error("{op}: `{arg}` must be on {expected} like the other inputs, got {actual}")]
    Device {
        /// Operation that was called.
        op: &'static str,
        /// The argument, with the index of the bad entry where there is one.
        arg: String,
        /// What was expected.
        expected: Device,
        /// What was given.
        actual: Device,
    },
    /// An argument is not laid out densely in row-major order.
    #[error("{op}: `{arg}` must be C-contiguous, got shape {shape:?} with strides {strides:?}")]
    NotContiguous {
        /// Operation that was called.
        op: &'static str,
        /// The argument, with the index of the bad entry where there is one.
        arg: String,
        /// Shape of the argument.
        shape: Vec<usize>,
        /// Strides of the argument, in elements.
        strides: Vec<isize>,
    },
    /// An entry of an index tensor (lengths, page ids, positions, offsets) or a scalar is out of range.
    #[error("{op}: `{arg}` must be {expected}, got {actual}")]
    Value {
        /// Operation that was called.
        op: &'static str,
        /// The argument, with the index of the bad entry where there is one.
        arg: String,
        /// What was expected.
        expected: String,
        /// What was given.
        actual: String,
    },
    /// Two arguments that must not share memory do (an output over an input, say).
    #[error("{op}: `{arg}` must not overlap `{other}` in memory")]
    Overlap {
        /// Operation that was called.
        op: &'static str,
        /// The argument, with the index of the bad entry where there is one.
        arg: String,
        /// The argument it overlaps.
        other: String,
    },
    /// A valid request that this backend does not implement (a head dim without a kernel, say).
    #[error("{op}: {what} is not supported by the {backend} backend (supported: {supported})")]
    Unsupported {
        /// Operation that was called.
        op: &'static str,
        /// The backend.
        backend: &'static str,
        /// What was asked for.
        what: String,
        /// What the backend supports.
        supported: String,
    },
    /// The backend the data asks for cannot run here (no driver, no GPU, feature disabled).
    #[error("the {backend} backend is unavailable: {reason}")]
    BackendUnavailable {
        /// The backend.
        backend: &'static str,
        /// Why it cannot run.
        reason: String,
    },
    /// A failure inside a backend that is not the caller's fault (a kernel that failed to
    /// compile or launch, a caught panic). Carries the full diagnostic.
    #[error("{op}: internal error in the {backend} backend: {message}")]
    Internal {
        /// Operation that was called.
        op: &'static str,
        /// The backend.
        backend: &'static str,
        /// The full diagnostic (an NVRTC log, a driver error, a panic message).
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

    /// The same error as raised by `op` (a binding's name for the operation, e.g. Python's
    /// `get_k_cache_shape` for `k_cache_shape`).
    pub fn in_op(mut self, op: &'static str) -> Self {
        match &mut self {
            Error::Shape { op: o, .. }
            | Error::DType { op: o, .. }
            | Error::Device { op: o, .. }
            | Error::NotContiguous { op: o, .. }
            | Error::Value { op: o, .. }
            | Error::Overlap { op: o, .. }
            | Error::Unsupported { op: o, .. }
            | Error::Internal { op: o, .. } => *o = op,
            Error::BackendUnavailable { .. } => {}
        }
        self
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
