"""Array kinds: bare DLPack producers and MLX arrays, zero-copy; the result comes back as the
queries' kind (torch CPU tensors: test_torch_cpu.py)."""

import ctypes
import re

import numpy as np
import proxy_attention_lab as pal
import pytest
from conftest import HAS_MLX, BareDLPack
from proxy_attention_lab.testing import (
    assert_close,
    decode_reference,
    on_device,
    paged_cache,
    random_array,
    to_host,
)


class DLPackOnly(BareDLPack):
    """An array known to PAL only through ``__dlpack__`` (as a third-party library would be),
    with the ``shape`` and ``dtype`` such libraries usually carry."""

    def __init__(self, array: np.ndarray):
        super().__init__(array)
        self.shape = array.shape
        self.dtype = array.dtype


def test_dlpack_producers_in_place_and_out(rng):
    cache = paged_cache(rng, [50, 7], 2, 64, 16, "float32", "nhd")
    queries = random_array(rng, (2, 8, 64), "float32")
    out = pal.paged_attention_decode(
        DLPackOnly(queries), DLPackOnly(cache.k_cache), DLPackOnly(cache.v_cache),
        DLPackOnly(cache.page_table), DLPackOnly(cache.lens), layout="nhd",
    )  # fmt: skip
    assert isinstance(out, np.ndarray)
    assert_close(out, decode_reference(queries, cache), "float32")

    keys = random_array(rng, (3, 2, 64), "float32")
    slots = np.array([1, 2, 3], np.int32)
    k_cache, v_cache = cache.k_cache.copy(), cache.v_cache.copy()
    pal.fill_kv_pages(
        DLPackOnly(keys),
        DLPackOnly(keys),
        DLPackOnly(k_cache),
        DLPackOnly(v_cache),
        slot_mapping=DLPackOnly(slots),
        layout="nhd",
    )
    np.testing.assert_array_equal(k_cache[0, 1:4], keys)


def test_bare_dlpack_queries_get_a_numpy_output(rng):
    cache = paged_cache(rng, [50, 7], 2, 64, 16, "float32", "nhd")
    queries = random_array(rng, (2, 8, 64), "float32")
    args = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    out = pal.paged_attention_decode(BareDLPack(queries), *args, layout="nhd")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, pal.paged_attention_decode(queries, *args, layout="nhd"))

    q = random_array(rng, (6, 8, 64), "float32")
    k, v = random_array(rng, (6, 2, 64), "float32"), random_array(rng, (6, 2, 64), "float32")
    cu = np.array([0, 4, 6], np.int32)
    prefill_args = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)
    out = pal.paged_attention_prefill(BareDLPack(q), k, v, *prefill_args, layout="nhd")
    np.testing.assert_array_equal(out, pal.paged_attention_prefill(q, k, v, *prefill_args, layout="nhd"))


@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.complex64, np.bool_])
def test_bare_dlpack_queries_of_a_dtype_pal_does_not_read_are_refused_by_name(rng, dtype):
    # (PAL makes the output before the native call reads the queries: a dtype numpy cannot
    # name from its DLPack code once raised a bare TypeError there.)
    cache = paged_cache(rng, [50, 7], 2, 64, 16, "float32", "nhd")
    args = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    queries = BareDLPack(np.zeros((2, 8, 64), dtype))
    with pytest.raises(pal.PalTypeError, match="^paged_attention_decode: `queries` must have dtype float32"):
        pal.paged_attention_decode(queries, *args, layout="nhd")
    k = v = random_array(rng, (6, 2, 64), "float32")
    prefill_args = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens, np.array([0, 4, 6], np.int32))
    with pytest.raises(pal.PalTypeError, match="^paged_attention_prefill: `q` must have dtype float32"):
        pal.paged_attention_prefill(
            BareDLPack(np.zeros((6, 8, 64), dtype)), k, v, *prefill_args, layout="nhd"
        )


@pytest.mark.skipif(not HAS_MLX, reason="mlx is not installed (scripts/setup.sh installs it)")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_mlx_arrays(rng, dtype):
    import mlx.core as mx

    cache = paged_cache(rng, [40, 300], 2, 128, 16, dtype, "hnd")
    queries = random_array(rng, (2, 4, 128), dtype)

    arrays = (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    out = pal.paged_attention_decode(*(on_device(a, "mlx") for a in arrays), layout="hnd")
    assert isinstance(out, mx.array) and out.dtype == (mx.bfloat16 if dtype == "bfloat16" else mx.float32)
    assert_close(to_host(out), decode_reference(queries, cache), dtype)


# (a capsule's name is not copied: it must outlive the capsule)
_VERSIONED = b"dltensor_versioned"


def _capsule(address: int, name: bytes):
    """A PyCapsule named ``name`` holding ``address``, with no destructor (its owner keeps the
    memory alive)."""
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(address, name, None)


class VersionedCapsuleOnly:
    """A producer that breaks the protocol: asked for a legacy DLPack capsule, it returns a
    versioned one (a dummy pointer: PAL must refuse it before reading anything)."""

    def __init__(self):
        self._buffer = ctypes.create_string_buffer(64)

    def __dlpack__(self, **_):
        return _capsule(ctypes.addressof(self._buffer), _VERSIONED)

    def __dlpack_device__(self):
        return (1, 0)


def test_a_capsule_of_another_kind_names_the_argument(rng):
    cache = paged_cache(rng, [5], 1, 64, 16, "float32", "nhd")
    args = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    with pytest.raises(pal.PalTypeError, match="`queries` could not be read through __dlpack__"):
        pal.paged_attention_decode(VersionedCapsuleOnly(), *args, layout="nhd")
    queries = random_array(rng, (1, 4, 64), "float32")
    with pytest.raises(pal.PalTypeError, match="`k_cache` could not be read through __dlpack__"):
        pal.paged_attention_decode(queries, VersionedCapsuleOnly(), *args[1:], layout="nhd")


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.c_void_p),
    ]


_DLTENSOR = b"dltensor"


class OtherDeviceDLPack:
    """A valid DLPack tensor (a numpy array's float32 / int32 data, which PAL never reads) said to
    lie on a device PAL does not run on: DLPack device type 4, OpenCL."""

    def __init__(self, array: np.ndarray):
        self.array = array
        self._shape = (ctypes.c_int64 * array.ndim)(*array.shape)
        code = {"f": 2, "i": 0}[array.dtype.kind]
        dtype = _DLDataType(code, array.itemsize * 8, 1)
        self._tensor = _DLManagedTensor(array.ctypes.data, _DLDevice(4, 0), array.ndim, dtype, self._shape)

    def __dlpack__(self, **_):
        return _capsule(ctypes.addressof(self._tensor), _DLTENSOR)

    def __dlpack_device__(self):
        return (4, 0)


class LazyDecode:
    """A lazy array, as a graph library would hand one over: ``__dlpack__`` runs the decode it
    stands for and exports its result (whose shape is that of the queries of a next decode)."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __dlpack__(self, **_):
        return pal.paged_attention_decode(*self.args, **self.kwargs).__dlpack__()

    def __dlpack_device__(self):
        return (1, 0)


def test_a_pal_error_met_reading_through_dlpack_names_the_op_and_argument_once(rng):
    cache = paged_cache(rng, [5, 9], 1, 64, 16, "float32", "nhd")
    queries = random_array(rng, (2, 4, 64), "float32")
    args = {"k_cache": cache.k_cache, "v_cache": cache.v_cache, "page_table": cache.page_table}
    args.update(queries=queries, seq_lens=cache.lens)
    # PAL's refusal of the tensor's device names the op and the argument once. (It once read
    # "...: `queries` could not be read through __dlpack__ (...): PalTypeError: DLPack device
    # type 4 is not supported", a PAL error quoted, class and all, inside another.)
    for name in ("queries", "k_cache", "page_table", "seq_lens"):
        given = dict(args, **{name: OtherDeviceDLPack(args[name])})
        expected = (
            f"paged_attention_decode: `{name}` must be on the CPU or a CUDA device, got DLPack device type 4"
        )
        with pytest.raises(pal.PalTypeError, match=f"^{re.escape(expected)}$"):
            pal.paged_attention_decode(**given, layout="nhd")
    # A producer whose export reads this very argument through PAL and fails (a lazy decode
    # whose own queries are on that device): its error, naming the op and argument, is raised as
    # it is, not again under the same prefix (it once came out with `queries` named three times).
    lazy = LazyDecode(**dict(args, queries=OtherDeviceDLPack(queries)), layout="nhd")
    expected = (
        "paged_attention_decode: `queries` must be on the CPU or a CUDA device, got DLPack device type 4"
    )
    with pytest.raises(pal.PalTypeError, match=f"^{re.escape(expected)}$"):
        pal.paged_attention_decode(**dict(args, queries=lazy), layout="nhd")
    # Any other error of the export, a PAL error of another call among them, follows the one
    # prefix of this call as a quoted cause (class and message), and is kept as the cause.
    bad_lens = np.array([5, -1], np.int32)
    with pytest.raises(pal.PalValueError) as inner:
        pal.paged_attention_decode(**dict(args, seq_lens=bad_lens), layout="nhd")
    lazy = LazyDecode(**dict(args, seq_lens=bad_lens), layout="nhd")
    k = v = random_array(rng, (2, 1, 64), "float32")
    prefill = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens, np.array([0, 1, 2], np.int32))
    expected = (
        "paged_attention_prefill: `q` could not be read through __dlpack__ (an unconsumed DLPack tensor "
        f'capsule named "dltensor", DLPack 0.8): PalValueError: {inner.value}'
    )
    with pytest.raises(pal.PalTypeError, match=f"^{re.escape(expected)}$") as raised:
        pal.paged_attention_prefill(lazy, k, v, *prefill, layout="nhd")
    assert type(raised.value.__cause__) is type(inner.value) and str(raised.value.__cause__) == str(
        inner.value
    )
