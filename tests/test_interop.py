"""Array kinds: bare DLPack producers and MLX arrays, zero-copy; the result comes back as the
queries' kind (torch CPU tensors: test_torch_cpu.py)."""

import ctypes

import numpy as np
import proxy_attention_lab as pal
import pytest
from conftest import HAS_MLX, BareDLPack
from proxy_attention_lab.testing import assert_close, decode_reference, paged_cache, random_array


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

    def to_mx(a):
        return mx.array(np.asarray(a, np.float32)).astype(mx.bfloat16 if dtype == "bfloat16" else mx.float32)

    out = pal.paged_attention_decode(
        to_mx(queries),
        to_mx(cache.k_cache),
        to_mx(cache.v_cache),
        mx.array(cache.page_table),
        mx.array(cache.lens),
        layout="hnd",
    )
    assert isinstance(out, mx.array) and out.dtype == (mx.bfloat16 if dtype == "bfloat16" else mx.float32)
    assert_close(np.array(out.astype(mx.float32)), decode_reference(queries, cache), dtype)


# (a capsule's name is not copied: it must outlive the capsule)
_VERSIONED = b"dltensor_versioned"


class VersionedCapsuleOnly:
    """A producer that breaks the protocol: asked for a legacy DLPack capsule, it returns a
    versioned one (a dummy pointer: PAL must refuse it before reading anything)."""

    def __init__(self):
        self._buffer = ctypes.create_string_buffer(64)

    def __dlpack__(self, **_):
        new = ctypes.pythonapi.PyCapsule_New
        new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        return new(ctypes.addressof(self._buffer), _VERSIONED, None)

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
