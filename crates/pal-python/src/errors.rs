//! PAL errors as Python exceptions: the classes of `proxy_attention_lab.errors`, each a subclass
//! of `PalError` and of the builtin SPEC §6 promises. A wrong dtype is a `PalTypeError`
//! (`TypeError`), a request no kernel serves an `UnsupportedError` (`ValueError` and
//! `NotImplementedError`, so engines can fall back), any other misuse a `PalValueError`
//! (`ValueError`), and failures that are not the caller's fault a `RuntimeError`.

use pal_core::{Device, Error};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

const ERRORS_MODULE: &str = "proxy_attention_lab.errors";

/// The exception class that each kind of PAL error raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorClass {
    Value,
    Type,
    Unsupported,
    BackendUnavailable,
    Internal,
}

impl ErrorClass {
    const COUNT: usize = Self::Internal as usize + 1;

    fn of(error: &Error) -> Self {
        match error {
            Error::DType { .. } => Self::Type,
            Error::Shape { .. }
            | Error::Device { .. }
            | Error::NotContiguous { .. }
            | Error::Value { .. }
            | Error::Overlap { .. } => Self::Value,
            Error::Unsupported { .. } => Self::Unsupported,
            Error::BackendUnavailable { .. } => Self::BackendUnavailable,
            Error::Internal { .. } => Self::Internal,
        }
    }

    /// The class's name in [`ERRORS_MODULE`].
    fn name(self) -> &'static str {
        match self {
            Self::Value => "PalValueError",
            Self::Type => "PalTypeError",
            Self::Unsupported => "UnsupportedError",
            Self::BackendUnavailable => "BackendUnavailableError",
            Self::Internal => "PalInternalError",
        }
    }

    /// The Python class, imported on first use and kept for the life of the interpreter.
    fn get(self, py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
        static CLASSES: [PyOnceLock<Py<PyType>>; ErrorClass::COUNT] = [const { PyOnceLock::new() }; ErrorClass::COUNT];
        CLASSES[self as usize].import(py, ERRORS_MODULE, self.name())
    }
}

pub fn to_py_err(error: Error) -> PyErr {
    let class = ErrorClass::of(&error);
    raise(class, error.to_string())
}

/// A `PalTypeError` for an argument the bindings cannot read as an array at all (not an array,
/// a dtype PAL does not know), before any `pal_core` error can exist.
pub fn type_error(message: String) -> PyErr {
    raise(ErrorClass::Type, message)
}

/// Whether `error` is one of PAL's (a `PalError`, whatever raised it).
pub fn is_pal_error(py: Python<'_>, error: &PyErr) -> bool {
    static PAL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    PAL_ERROR
        .import(py, ERRORS_MODULE, "PalError")
        .is_ok_and(|class| error.is_instance(py, class))
}

fn raise(class: ErrorClass, message: String) -> PyErr {
    Python::attach(|py| match class.get(py) {
        Ok(class) => PyErr::from_type(class.clone(), message),
        // Only a broken installation gets here: keep PAL's message, with the lookup's failure as its cause.
        Err(lookup) => {
            let error = PyRuntimeError::new_err(message);
            error.set_cause(py, Some(lookup));
            error
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use pal_core::DType;

    /// One error of each kind, with the class it must raise.
    fn every_kind() -> Vec<(Error, ErrorClass)> {
        let (op, arg) = ("op", String::from("arg"));
        vec![
            (Error::shape(op, "arg", "[2]", &[3]), ErrorClass::Value),
            (
                Error::DType {
                    op,
                    arg: arg.clone(),
                    expected: "float32".into(),
                    actual: DType::F16,
                },
                ErrorClass::Type,
            ),
            (
                Error::Device {
                    op,
                    arg: arg.clone(),
                    expected: Device::Cpu,
                    actual: Device::Cuda(0),
                },
                ErrorClass::Value,
            ),
            (
                Error::NotContiguous {
                    op,
                    arg: arg.clone(),
                    shape: vec![2, 2],
                    strides: vec![1, 2],
                },
                ErrorClass::Value,
            ),
            (Error::value(op, "arg", "positive", -1), ErrorClass::Value),
            (
                Error::Overlap {
                    op,
                    arg,
                    other: "queries".into(),
                },
                ErrorClass::Value,
            ),
            (
                Error::Unsupported {
                    op,
                    backend: "cuda",
                    what: "head_dim 32".into(),
                    supported: "head dims [64]".into(),
                },
                ErrorClass::Unsupported,
            ),
            (
                Error::BackendUnavailable {
                    backend: "cuda",
                    reason: "no driver".into(),
                },
                ErrorClass::BackendUnavailable,
            ),
            (
                Error::Internal {
                    op,
                    backend: "cuda",
                    message: "launch failed".into(),
                },
                ErrorClass::Internal,
            ),
        ]
    }

    #[test]
    fn each_kind_of_error_raises_its_class() {
        for (error, class) in every_kind() {
            assert_eq!(ErrorClass::of(&error), class, "{error:?}");
        }
    }

    #[test]
    fn every_class_is_defined_in_the_python_module() {
        let module = include_str!("../../../python/proxy_attention_lab/errors.py");
        for (_, class) in every_kind() {
            assert!(
                module.contains(&format!("\nclass {}(", class.name())),
                "{} is not defined in {ERRORS_MODULE}",
                class.name()
            );
        }
    }
}
