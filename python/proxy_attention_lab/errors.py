"""PAL's exceptions. Each derives from :class:`PalError` and from the builtin exception that
SPEC §6 promises for its kind, so ``except ValueError`` and ``except pal.PalError`` both work.

The native module raises them: it looks these classes up here on first use (see
``crates/pal-python/src/errors.rs`` for which Rust error becomes which class).
"""


class PalError(Exception):
    """Base of every error PAL raises on purpose."""


class PalValueError(PalError, ValueError):
    """Bad input: a wrong shape, value, layout, device, overlap or non-contiguous array. The
    message names the argument, what was expected and what was given."""


class PalTypeError(PalError, TypeError):
    """An argument of the wrong dtype (or not an array at all)."""


class UnsupportedError(PalValueError, NotImplementedError):
    """A valid request that no kernel of this backend serves (a head dim, page size, dtype or
    alignment). An engine catches ``NotImplementedError`` to fall back to another kernel; it is
    also a ``ValueError``, as SPEC §6 says of an unsupported head dim or page size."""


class BackendUnavailableError(PalError, RuntimeError):
    """The backend the data asks for cannot run here: no CUDA driver or GPU, a GPU older than
    sm_80, or PAL built without its ``cuda`` feature."""


class PalInternalError(PalError, RuntimeError):
    """A failure that is not the caller's fault: a kernel that failed to compile or launch, or a
    bug caught as a Rust panic. The message carries the full diagnostic."""
