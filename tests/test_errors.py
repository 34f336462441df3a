"""Bad input (SPEC §6): the right exception, a message naming the argument, nothing written."""

import ctypes
import importlib.util
import re

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import paged_cache, random_array


@pytest.fixture
def case(rng):
    cache = paged_cache(rng, [10, 30], 2, 32, 8, "float32", "pal", spare_pages=1)
    return {
        "queries": random_array(rng, (2, 4, 32), "float32"),
        "k_cache": cache.k_cache,
        "v_cache": cache.v_cache,
        "page_table": cache.page_table,
        "seq_lens": cache.lens,
    }


def decode(case, **changes):
    args = {**case, **changes}
    layout = args.pop("layout", "pal")
    return pal.paged_attention_decode(*args.values(), layout=layout)


@pytest.mark.parametrize(
    "changes, error, names",
    [
        ({"queries": np.zeros((2, 128), np.float32)}, pal.PalValueError, "queries"),
        ({"queries": np.zeros((2, 4, 16), np.float32)}, pal.PalValueError, "queries"),
        ({"queries": np.zeros((2, 3, 32), np.float32)}, pal.PalValueError, "num_q_heads"),
        ({"queries": np.zeros((2, 4, 32), np.float16)}, pal.PalTypeError, "k_cache"),
        # A dtype PAL has no name for is refused while the array is read.
        ({"queries": np.zeros((2, 4, 32), np.float64)}, pal.PalTypeError, "queries"),
        ({"page_table": np.zeros((2, 5), np.int16)}, pal.PalTypeError, "page_table"),
        ({"seq_lens": np.array([10], np.int32)}, pal.PalValueError, "seq_lens"),
        ({"seq_lens": np.array([10, -1], np.int32)}, pal.PalValueError, "seq_lens[1]"),
        ({"seq_lens": np.array([10, 10_000], np.int32)}, pal.PalValueError, "seq_lens[1]"),
        ({"layout": "nhd"}, pal.PalValueError, "k_cache"),
        ({"layout": "xyz"}, pal.PalValueError, "layout"),
        ({"queries": [[1.0]]}, pal.PalTypeError, "queries"),
    ],
)
def test_decode_rejects(case, changes, error, names):
    with pytest.raises(error, match=re.escape(names)):
        decode(case, **changes)


@pytest.mark.parametrize(
    "error, bases",
    [
        (pal.PalValueError, (pal.PalError, ValueError)),
        (pal.PalTypeError, (pal.PalError, TypeError)),
        (pal.UnsupportedError, (pal.PalValueError, pal.PalError, ValueError, NotImplementedError)),
        (pal.BackendUnavailableError, (pal.PalError, RuntimeError)),
        (pal.PalInternalError, (pal.PalError, RuntimeError)),
    ],
)
def test_error_classes_are_pal_errors_and_builtins(error, bases):
    assert all(issubclass(error, base) for base in bases)
    assert error.__module__ == "proxy_attention_lab.errors" and error.__name__ in pal.__all__


def test_each_kind_of_error_raises_its_class(case):
    with pytest.raises(pal.PalValueError) as bad_shape:
        decode(case, queries=np.zeros((2, 4, 16), np.float32))
    assert isinstance(bad_shape.value, ValueError) and not isinstance(bad_shape.value, NotImplementedError)
    with pytest.raises(pal.PalTypeError) as bad_dtype:
        decode(case, queries=np.zeros((2, 4, 32), np.float16))
    assert isinstance(bad_dtype.value, TypeError)
    with pytest.raises(pal.PalValueError, match="head_dim"):
        pal.get_k_cache_shape(4, 2, 12, 16, "bfloat16", "pal")


def cuda_driver_present() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


class _DlDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DlTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DlDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", ctypes.c_uint8 * 4),  # code, bits, lanes (u16)
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DlManagedTensor(ctypes.Structure):
    _fields_ = [("tensor", _DlTensor), ("context", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


class FakeCudaTensor:
    """A DLPack producer that says its data is on cuda:0. Its memory is host memory that nothing
    reads: without a CUDA driver, the CUDA backend refuses the call before any access."""

    _DTYPES = {"float32": (2, 32), "int32": (0, 32)}

    def __init__(self, array: np.ndarray):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self._shape = (ctypes.c_int64 * array.ndim)(*array.shape)
        code, bits = self._DTYPES[array.dtype.name]
        self._managed = _DlManagedTensor(
            _DlTensor(
                array.ctypes.data,
                _DlDevice(2, 0),
                array.ndim,
                (ctypes.c_uint8 * 4)(code, bits, 1, 0),
                self._shape,
            )
        )

    def __dlpack__(self, stream=None):
        new_capsule = ctypes.pythonapi.PyCapsule_New
        new_capsule.restype, new_capsule.argtypes = (
            ctypes.py_object,
            [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p],
        )
        return new_capsule(ctypes.addressof(self._managed), b"dltensor", None)

    def __dlpack_device__(self):
        return (2, 0)


@pytest.mark.skipif(cuda_driver_present(), reason="a CUDA driver is present: the fake tensors would reach it")
def test_a_cuda_array_of_another_library_gets_no_host_output(rng):
    """A CUDA producer with `shape` and `dtype` attributes (CuPy, JAX) is not given a host numpy
    output (which the call would then refuse as an `out` on the wrong device): without torch to
    allocate on its device, the error asks for `out=`."""
    if importlib.util.find_spec("torch"):
        pytest.skip("torch is installed: PAL would allocate the output with it")
    cache = paged_cache(rng, [10, 30], 2, 64, 16, "float32", "nhd")
    queries = random_array(rng, (2, 4, 64), "float32")
    args = [FakeCudaTensor(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    with pytest.raises(pal.PalTypeError, match=re.escape("`queries` is a CUDA array") + ".*pass `out=`"):
        pal.paged_attention_decode(*args, layout="nhd")


@pytest.mark.skipif(cuda_driver_present(), reason="a CUDA driver is present: the fake tensors would reach it")
def test_cuda_data_without_a_driver_raises_backend_unavailable(rng):
    """A RuntimeError. (An unsupported head dim on CUDA raises UnsupportedError: test_cuda.py.)"""
    cache = paged_cache(rng, [10, 30], 2, 64, 16, "float32", "nhd")
    queries = random_array(rng, (2, 4, 64), "float32")
    args = [FakeCudaTensor(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    with pytest.raises(pal.BackendUnavailableError, match="cuda") as unavailable:
        # With `out` given, the call goes straight to the bindings rather than torch's custom ops.
        pal.paged_attention_decode(*args, layout="nhd", out=FakeCudaTensor(np.empty_like(queries)))
    assert isinstance(unavailable.value, RuntimeError)


def test_decode_rejects_a_page_id_outside_the_pool(case):
    table = case["page_table"].copy()
    table[1, 2] = case["k_cache"].shape[0]
    with pytest.raises(ValueError, match=re.escape("page_table[1, 2]")):
        decode(case, page_table=table)
    table[1, 2] = -5
    with pytest.raises(ValueError, match=re.escape("page_table[1, 2]")):
        decode(case, page_table=table)


def test_decode_rejects_non_contiguous_and_read_only_outputs(case):
    with pytest.raises(ValueError, match="contiguous"):
        decode(case, queries=np.zeros((2, 32, 4), np.float32).transpose(0, 2, 1))
    out = np.zeros((2, 4, 32), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        pal.paged_attention_decode(*case.values(), out=out)
    with pytest.raises(ValueError, match="out"):
        pal.paged_attention_decode(*case.values(), out=np.zeros((2, 4, 31), np.float32))
    # A read-only strided view (written through a staged copy) is refused before anything runs.
    frozen = np.zeros((2, 8, 32), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(pal.PalValueError, match="`out` must be a writable array"):
        pal.paged_attention_decode(*case.values(), out=frozen[:, :4])


@pytest.mark.parametrize(
    "name, dtype, expected",
    [
        ("queries", np.float64, "float32, float16 or bfloat16"),
        ("k_cache", np.float64, "float32, float16, bfloat16, float8_e4m3fn or float8_e5m2"),
        ("alibi_slopes", np.float64, "float32"),
        ("sinks", np.complex64, "float32"),
    ],
)
def test_unknown_dtypes_are_refused_naming_what_the_argument_takes(case, name, dtype, expected):
    # Dtypes PAL has no name for are refused while the array is read: the message lists what
    # this argument takes (not every dtype PAL knows).
    args = dict(case)
    options = {}
    if name in ("alibi_slopes", "sinks"):
        options[name] = np.ones(4, dtype)
    else:
        args[name] = args[name].astype(dtype)
    with pytest.raises(pal.PalTypeError, match=re.escape(f"`{name}` must have dtype {expected}, got")):
        pal.paged_attention_decode(*args.values(), **options)


def test_output_may_not_alias_an_input(case):
    with pytest.raises(ValueError, match="overlap"):
        pal.paged_attention_decode(*case.values(), out=case["queries"])
    # Nor the variant vectors it reads (here sinks, then ALiBi slopes, inside `out`).
    out = np.zeros(case["queries"].shape, np.float32)
    inside = out.reshape(-1)[: out.shape[1]]
    for option in ("sinks", "alibi_slopes"):
        with pytest.raises(pal.PalValueError, match=f"`out` must not overlap `{option}`"):
            pal.paged_attention_decode(*case.values(), out=out, **{option: inside})


def test_scale_must_be_finite(case):
    with pytest.raises(ValueError, match="scale"):
        pal.paged_attention_decode(*case.values(), scale=float("inf"))


def test_numbers_float32_cannot_hold_are_refused_as_given(case):
    """`scale` and `logits_soft_cap` are float32 to the kernels: a number that would become inf,
    or 0 (a soft-cap of 0 is off), is refused with the value given; a tiny negative cap as a
    negative one."""
    for name, value, given, expected in [
        ("scale", 1e39, "1e39", "a number that float32 holds"),
        ("logits_soft_cap", 1e39, "1e39", "a number that float32 holds"),
        ("logits_soft_cap", 1e-46, "1e-46", "a positive, finite cap"),
        ("logits_soft_cap", -1e-46, "-1e-46", "a positive, finite cap"),
        ("logits_soft_cap", -1.0, "-1", "a positive, finite cap"),
    ]:
        with pytest.raises(
            pal.PalValueError, match=re.escape(f"`{name}` must be {expected}") + f".*got {given}$"
        ):
            pal.paged_attention_decode(*case.values(), **{name: value})


@pytest.mark.parametrize(
    "keyword, value, expected",
    [
        ("scale", np.array([0.5, 0.5]), "must be a number, got ndarray"),
        ("scale", np.array([[0.5]]), "must be a number, got ndarray"),
        ("scale", True, "must be a number, got bool"),
        ("logits_soft_cap", np.array([1.0, 2.0]), "must be a number, got ndarray"),
        ("logits_soft_cap", np.True_, "must be a number, got bool"),
        ("window_left", np.array([3, 4]), "must be an integer (-1: no window), got ndarray"),
        ("window_left", np.array([3]), "must be an integer (-1: no window), got ndarray"),
        ("window_left", np.array(3.0), "must be an integer (-1: no window), got ndarray"),
        ("window_left", True, "must be an integer (-1: no window), got bool"),
    ],
)
def test_keywords_of_the_wrong_kind_are_named(case, keyword, value, expected):
    """Arrays of one element or more and bools (which Python counts as numbers) are refused as
    the numbers they are not, naming the keyword; a 0-d array is its number."""
    for op in ("decode", "prefill"):
        with pytest.raises(pal.PalTypeError, match=re.escape(f"`{keyword}` {expected}")):
            if op == "decode":
                pal.paged_attention_decode(*case.values(), **{keyword: value})
            else:
                q = case["queries"]
                kv = np.zeros((2, 2, 32), np.float32)
                lens = np.zeros(2, np.int32)
                pal.paged_attention_prefill(
                    q, kv, kv, case["k_cache"], case["v_cache"], case["page_table"], lens, **{keyword: value}
                )
    expected = pal.paged_attention_decode(*case.values(), scale=0.25, window_left=3)
    zero_d = pal.paged_attention_decode(*case.values(), scale=np.array(0.25), window_left=np.array(3))
    np.testing.assert_array_equal(zero_d, expected)


def test_empty_batch_and_zero_lengths(case):
    out = pal.paged_attention_decode(
        np.zeros((0, 4, 32), np.float32),
        case["k_cache"],
        case["v_cache"],
        np.zeros((0, 5), np.int32),
        np.zeros(0, np.int32),
    )
    assert out.shape == (0, 4, 32)
    out = decode(case, seq_lens=np.array([0, 0], np.int32))
    assert not out.any()


def prefill(case, q_len=6, **changes):
    rng = np.random.default_rng(0)
    args = {
        "q": random_array(rng, (q_len, 4, 32), "float32"),
        "k": random_array(rng, (q_len, 2, 32), "float32"),
        "v": random_array(rng, (q_len, 2, 32), "float32"),
        "k_cache": case["k_cache"],
        "v_cache": case["v_cache"],
        "page_table": case["page_table"],
        "context_lens": case["seq_lens"],
        "cu_seqlens_q": np.array([0, 2, q_len], np.int32),
    }
    args.update(changes)
    return pal.paged_attention_prefill(*args.values())


@pytest.mark.parametrize(
    "changes, names",
    [
        ({"cu_seqlens_q": np.array([1, 2, 6], np.int32)}, "cu_seqlens_q[0]"),
        ({"cu_seqlens_q": np.array([0, 4, 3], np.int32)}, "cu_seqlens_q[2]"),
        ({"cu_seqlens_q": np.array([0, 6], np.int32)}, "cu_seqlens_q"),
        ({"cu_seqlens_q": None, "q_len": 5}, "total_tokens"),
        ({"context_lens": np.array([-1, 3], np.int32)}, "context_lens[0]"),
        ({"k": np.zeros((6, 1, 32), np.float32)}, "`k`"),
        ({"v": np.zeros((5, 2, 32), np.float32)}, "`v`"),
    ],
)
def test_prefill_rejects(case, changes, names):
    q_len = changes.pop("q_len", 6)
    if q_len != 6:
        changes |= {"q": np.zeros((q_len, 4, 32), np.float32), "k": np.zeros((q_len, 2, 32), np.float32)}
        changes["v"] = changes["k"]
    with pytest.raises(ValueError, match=re.escape(names)):
        prefill(case, q_len, **changes)


def test_prefill_empty_prompts(case):
    out = prefill(case, q_len=0, cu_seqlens_q=np.array([0, 0, 0], np.int32))
    assert out.shape == (0, 4, 32)


@pytest.mark.parametrize("cu_seqlens_q", [None, np.zeros(1, np.int32)])
def test_prefill_empty_batch(case, cu_seqlens_q):
    # No sequences: no prompt tokens, an empty output; tokens without a sequence are refused.
    empty = {"page_table": np.zeros((0, 5), np.int32), "context_lens": np.zeros(0, np.int32)}
    out = prefill(case, q_len=0, cu_seqlens_q=cu_seqlens_q, **empty)
    assert out.shape == (0, 4, 32)
    q, kv = np.zeros((3, 4, 32), np.float32), np.zeros((3, 2, 32), np.float32)
    with pytest.raises(pal.PalValueError, match=re.escape("`q.shape[0] (total_tokens)` must be 0")):
        prefill(case, 3, q=q, k=kv, v=kv, cu_seqlens_q=cu_seqlens_q, **empty)


def test_pools_of_no_pages_with_nothing_to_read():
    shapes = [get(0, 2, 32, 8, "float32") for get in (pal.get_k_cache_shape, pal.get_v_cache_shape)]
    k_cache, v_cache = (np.zeros(shape, np.float32) for shape in shapes)
    queries = np.ones((2, 4, 32), np.float32)
    out = pal.paged_attention_decode(
        queries, k_cache, v_cache, np.full((2, 3), -1, np.int32), np.zeros(2, np.int32)
    )
    assert out.shape == (2, 4, 32) and not out.any()
    kv = np.ones((1, 2, 32), np.float32)
    out = pal.paged_attention_prefill(
        queries[:1], kv, kv, k_cache, v_cache, np.zeros((1, 0), np.int32), np.zeros(1, np.int32)
    )
    np.testing.assert_allclose(out, np.ones((1, 4, 32)), rtol=1e-6)
    with pytest.raises(pal.PalValueError, match=re.escape("page_table[0, 0]")):
        pal.paged_attention_decode(
            queries[:1], k_cache, v_cache, np.zeros((1, 1), np.int32), np.ones(1, np.int32)
        )


@pytest.mark.parametrize(
    "destination, names",
    [
        ({"positions": [0, 40]}, "positions[1]"),
        ({"positions": [0, -3]}, "positions[1]"),
        ({"token_to_seq": [0, 2]}, "token_to_seq[1]"),
        ({"slot_mapping": [0, 10_000]}, "slot_mapping[1]"),
        ({"positions": None}, "positions"),
        ({"slot_mapping": [0, 1], "positions": [0, 1]}, "slot_mapping"),
    ],
)
def test_failed_fill_writes_nothing(case, destination, names):
    k_before, v_before = case["k_cache"].copy(), case["v_cache"].copy()
    args = {
        "page_table": case["page_table"],
        "positions": [3, 4],
        "token_to_seq": [0, 1],
        "slot_mapping": None,
    }
    args.update(destination)
    if "slot_mapping" in destination and "positions" not in destination:
        args.update(page_table=None, positions=None, token_to_seq=None)
    arrays = {
        k: None if v is None else np.asarray(v, np.int32) if k != "page_table" else v for k, v in args.items()
    }
    keys = np.full((2, 2, 32), 7.0, np.float32)
    with pytest.raises(ValueError, match=re.escape(names)):
        pal.fill_kv_pages(
            keys, keys, case["k_cache"], case["v_cache"], arrays["page_table"], arrays["positions"],
            arrays["token_to_seq"], slot_mapping=arrays["slot_mapping"],
        )  # fmt: skip
    np.testing.assert_array_equal(case["k_cache"], k_before)
    np.testing.assert_array_equal(case["v_cache"], v_before)


def test_fill_rejects_a_bad_page_in_the_table(case):
    table = case["page_table"].copy()
    table[1, 0] = 99
    keys = np.ones((1, 2, 32), np.float32)
    before = case["k_cache"].copy()
    with pytest.raises(ValueError, match=re.escape("page_table[1, 0]")):
        pal.fill_kv_pages(
            keys,
            keys,
            case["k_cache"],
            case["v_cache"],
            table,
            np.array([2], np.int32),
            np.array([1], np.int32),
        )
    np.testing.assert_array_equal(case["k_cache"], before)


def test_fill_names_new_keys_where_they_disagree_with_the_pools(case):
    """The new keys are checked against the pools before the new values against them: a wrong
    `new_keys` is named as itself, with what the pools expect."""
    values = np.ones((3, 2, 32), np.float32)
    slots = np.array([0, 1, 2], np.int32)
    for keys in (np.ones((3, 4, 32), np.float32), np.ones((3, 2, 16), np.float32)):
        with pytest.raises(
            pal.PalValueError, match=re.escape("`new_keys` must have shape") + r".*\[3, 2, 32\]"
        ):
            pal.fill_kv_pages(keys, values, case["k_cache"], case["v_cache"], slot_mapping=slots)
    with pytest.raises(pal.PalTypeError, match=re.escape("`new_keys` must have dtype float32")):
        pal.fill_kv_pages(
            values.astype(np.float16), values, case["k_cache"], case["v_cache"], slot_mapping=slots
        )
    with pytest.raises(pal.PalValueError, match=re.escape("`new_values` must have shape")):
        pal.fill_kv_pages(values, values[:, :1], case["k_cache"], case["v_cache"], slot_mapping=slots)


def test_fill_rejects_mismatched_dtypes_and_read_only_pools(case):
    keys = np.ones((1, 2, 32), np.float16)
    with pytest.raises(pal.PalTypeError, match="k_cache"):
        pal.fill_kv_pages(keys, keys, case["k_cache"], case["v_cache"], slot_mapping=np.array([0], np.int32))
    k_cache = case["k_cache"].copy()
    k_cache.flags.writeable = False
    keys = np.ones((1, 2, 32), np.float32)
    with pytest.raises(ValueError, match="k_cache"):
        pal.fill_kv_pages(keys, keys, k_cache, case["v_cache"], slot_mapping=np.array([0], np.int32))


def test_shape_helpers_refuse_bools():
    for helper in (pal.get_k_cache_shape, pal.get_v_cache_shape):
        with pytest.raises(pal.PalTypeError, match=re.escape("`num_pages` must be an integer, got bool")):
            helper(True, 2, 32, 8, "float32")
        with pytest.raises(pal.PalTypeError, match=re.escape("`page_size` must be an integer, got bool")):
            helper(4, 2, 32, np.True_, "float32")


def test_shape_helpers_reject_bad_geometry():
    with pytest.raises(ValueError, match="head_dim"):
        pal.get_k_cache_shape(4, 2, 12, 16, "bfloat16", "pal")
    with pytest.raises(ValueError, match="dtype"):
        pal.get_k_cache_shape(4, 2, 16, 16, "float64")
    # The pool dtypes listed, fp8 among them, index types not.
    pools = "float32, float16, bfloat16, float8_e4m3fn or float8_e5m2"
    for call in (
        lambda d: pal.get_k_cache_shape(4, 2, 16, 16, d),
        lambda d: pal.get_v_cache_shape(4, 2, 16, 16, d),
        pal.get_k_cache_stripe_size,
    ):
        for dtype, error in (("float64", pal.PalValueError), ("int32", pal.PalTypeError)):
            with pytest.raises(error, match=re.escape(pools)):
                call(dtype)
    with pytest.raises(ValueError, match="page_size"):
        pal.get_v_cache_shape(4, 2, 16, 0, "float32")
    # Sizes that are negative, beyond 64 bits or not integers: PalValueError naming the size
    # (not Python's OverflowError).
    for args, name in [
        ((-1, 2, 64, 16), "num_pages"),
        ((4, -2, 64, 16), "num_kv_heads"),
        ((4, 2, 2**70, 16), "head_dim"),
        ((4, 2, 64, 16.5), "page_size"),
    ]:
        with pytest.raises(pal.PalValueError, match=f"`{name}` must be a non-negative integer"):
            pal.get_k_cache_shape(*args, "float32")
        with pytest.raises(pal.PalValueError, match=f"`{name}` must be a non-negative integer"):
            pal.get_v_cache_shape(*args, "float32")
    # A pool no allocation can hold has no shape: PalValueError naming num_pages.
    for helper in (pal.get_k_cache_shape, pal.get_v_cache_shape):
        with pytest.raises(pal.PalValueError, match="`num_pages` must be at most"):
            helper(2**62, 1024, 128, 16, "float16", "nhd")


def test_byte_swapped_arrays_are_refused_naming_their_dtype(case):
    swapped = case["queries"].astype(case["queries"].dtype.newbyteorder(">"))
    with pytest.raises(pal.PalTypeError, match=r">f4"):
        decode(case, queries=swapped)


def _field_of_records(values):
    """``values`` as a field of a structured array: byte strides of no whole number of elements."""
    records = np.zeros(values.shape, [("x", values.dtype), ("pad", np.int16)])
    records["x"] = values
    return records["x"]


def test_strides_of_no_whole_element_are_refused(case):
    # A [1, 1, D] field view: its one strided dimension would read as dense once divided
    # by the element size (6 // 4 == 1), giving a silently wrong result.
    queries = _field_of_records(case["queries"][:1, :1])
    assert queries.strides[-1] == 6
    small = {**case, "queries": queries, "page_table": case["page_table"][:1].copy()}
    with pytest.raises(
        pal.PalValueError, match=r"`queries` must be C-contiguous.*byte strides \[\d+, \d+, 6\]"
    ):
        decode(small, seq_lens=case["seq_lens"][:1].copy())
    # An index array read with the wrong stride would address the wrong slots.
    keys = random_array(np.random.default_rng(0), (2, 2, 32), "float32")
    slots = _field_of_records(np.array([3, 0], np.int32))
    k_cache, v_cache = case["k_cache"].copy(), case["v_cache"].copy()
    with pytest.raises(pal.PalValueError, match="`slot_mapping` must be C-contiguous"):
        pal.fill_kv_pages(keys, keys, k_cache, v_cache, slot_mapping=slots)
    np.testing.assert_array_equal(k_cache, case["k_cache"])


def _misaligned(array):
    buffer = np.zeros(array.nbytes + 1, np.uint8)
    shifted = buffer[1:].view(array.dtype).reshape(array.shape)
    shifted[...] = array
    assert not shifted.flags.aligned
    return shifted


@pytest.mark.parametrize("name", ["queries", "k_cache", "page_table", "seq_lens"])
def test_misaligned_arrays_are_refused(case, name):
    # The CPU backend reads host arrays as slices of their element type: they must be aligned.
    with pytest.raises(pal.PalValueError, match=f"`{name}` must be aligned to its 4-byte elements"):
        decode(case, **{name: _misaligned(case[name])})
    with pytest.raises(pal.PalValueError, match="`out` must be aligned"):
        pal.paged_attention_decode(*case.values(), out=_misaligned(np.zeros((2, 4, 32), np.float32)))


def test_nvrtc_13_is_tried_before_12():
    """NVRTC 13 (PAL's tested one) anywhere comes before NVRTC 12 (CUDA 12 drivers' fallback);
    each version by its name first, then in wheel and toolkit folders."""
    from proxy_attention_lab._cuda import nvrtc_candidates

    candidates = nvrtc_candidates(["/site", "/usr/local/cuda"])
    versions = [c.rsplit(".", 1)[-1] for c in candidates]
    assert versions == sorted(versions, reverse=True) and set(versions) == {"13", "12"}
    assert candidates[0] == "libnvrtc.so.13"
    assert candidates.index("libnvrtc.so.12") == len(candidates) // 2
    assert "/site/nvidia/cuda_nvrtc/lib/libnvrtc.so.12" in candidates  # the cu12 wheel's folder


def test_shape_helper_and_layout_errors_name_the_function_called(case):
    """Every error of a shape helper names the helper as Python spells it (geometry, dtype, sizes,
    layout), and a bad layout names the operation it was given to, not `layout`."""
    for helper in (pal.get_k_cache_shape, pal.get_v_cache_shape):
        name = helper.__name__
        for args in [
            (4, 2, 16, 0, "float32"),
            (4, 2, 16, 16, "float64"),
            (4, 2, 16, 16, "int32"),
            (-1, 2, 16, 16, "float32"),
            (2**62, 1024, 128, 16, "float16", "nhd"),
            (4, 2, 16, 16, "float32", "xyz"),
            (4, 2, 16, 16, "float32", None),
            (4, 2, 16, 16, None),
        ]:
            with pytest.raises(pal.PalError, match=f"^{name}: ") as raised:
                helper(*args)
            assert "cache_shape:" not in str(raised.value).removeprefix(f"{name}:")
        # A layout that is no string names the helper and `layout` (not a bare TypeError), and
        # a dtype of None is reported as given (numpy would read it as float64).
        expected = f'{name}: `layout` must be a string: "pal", "nhd" or "hnd", got NoneType None'
        with pytest.raises(pal.PalTypeError, match=f"^{re.escape(expected)}$"):
            helper(4, 2, 16, 16, "float32", None)
        with pytest.raises(pal.PalValueError, match=f'^{name}: `dtype` must be one of .*, got "None"$'):
            helper(4, 2, 16, 16, None)
    # The stripe size helper names itself as Python spells it, not `k_cache_stripe_size`.
    pools = "float32, float16, bfloat16, float8_e4m3fn or float8_e5m2"
    for dtype, error, expected in [
        ("int32", pal.PalTypeError, f"`dtype` must have dtype {pools}, got int32"),
        ("float64", pal.PalValueError, f'`dtype` must be one of {pools}, got "float64"'),
        (None, pal.PalValueError, f'`dtype` must be one of {pools}, got "None"'),
    ]:
        with pytest.raises(error, match=f"^{re.escape(f'get_k_cache_stripe_size: {expected}')}$"):
            pal.get_k_cache_stripe_size(dtype)
    layout = re.escape('`layout` must be one of "pal", "nhd", "hnd", got "xyz"')
    with pytest.raises(pal.PalValueError, match=f"^paged_attention_decode: {layout}"):
        decode(case, layout="xyz")
    with pytest.raises(pal.PalValueError, match=f"^paged_attention_prefill: {layout}"):
        q, kv = np.zeros((6, 4, 32), np.float32), np.zeros((6, 2, 32), np.float32)
        cu_seqlens = np.array([0, 2, 6], np.int32)
        tables = (case["k_cache"], case["v_cache"], case["page_table"], case["seq_lens"])
        pal.paged_attention_prefill(q, kv, kv, *tables, cu_seqlens, layout="xyz")
    keys, slots = np.zeros((1, 2, 32), np.float32), np.array([0], np.int32)
    with pytest.raises(pal.PalValueError, match=f"^fill_kv_pages: {layout}"):
        pal.fill_kv_pages(keys, keys, case["k_cache"], case["v_cache"], slot_mapping=slots, layout="xyz")
