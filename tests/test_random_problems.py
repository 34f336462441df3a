"""Random problems over SPEC §1-§3.5 at once, on the CPU backend and, where there is a GPU, the
CUDA backend, against the float64 oracle. The other tests name their cases one axis at a time;
here each case draws every axis together: layout, dtypes (fp8 pools with per-tensor or per-head
scales), head dim, page size, heads (MHA, GQA of odd groups, MQA), ragged lengths (empty
sequences, page edges, long ones that split), variants in any combination, int32 / int64
indices, queries and prompts sliced out of one fused QKV tensor, ``out=``, page tables whose
sequences share prefix pages and whose unused entries hold garbage, NaN in every pool slot that
no sequence may read, and how the arrays come (numpy, bare DLPack producers, MLX arrays or torch
CPU tensors on the CPU, torch tensors with or without the explicit table check on CUDA).

``PAL_RANDOM_PROBLEMS`` sets the cases per op and device: a count (default 32; the GPU suite's
calls may run hundreds) or a range ``FIRST:END``, to draw cases a run has not drawn before. A
failure names its case, and the case's draw depends only on the test's id."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import proxy_attention_lab as pal
import pytest
from conftest import HAS_MLX, HAS_TORCH, BareDLPack
from proxy_attention_lab.testing import (
    FP8_DTYPES,
    LAYOUTS,
    assert_close,
    attention,
    from_layout,
    kv_head_scales,
    numpy_dtype,
    on_device,
    pool_on_host,
    quantise_fp8,
    random_array,
    read_sequence,
    to_host,
    to_layout,
)

FIRST, _, END = (os.environ.get("PAL_RANDOM_PROBLEMS") or "32").rpartition(":")
CASES = range(int(FIRST or 0), int(END))
CUDA_HEAD_DIMS = [64, 80, 96, 112, 128, 192, 256]
CPU_HEAD_DIMS = [*CUDA_HEAD_DIMS, 16, 32, 48]  # the CPU backend takes any head dim
PAGE_SIZES = [1, 2, 4, 8, 16, 32, 64, 128]
CPU_PAGE_SIZES = [*PAGE_SIZES, 3, 24, 256]  # the CPU backend takes any page size
HEADS = [
    (1, 1),
    (4, 4),
    (8, 1),
    (8, 2),
    (6, 2),
    (12, 4),
    (16, 2),
    (28, 4),
    (32, 8),
    (32, 1),
    (40, 8),
    (64, 8),
]
# (queries, pools); float32 queries over fp8 pools on the CPU only (SPEC §3.5).
DTYPES = [
    ("float32", "float32"),
    ("float16", "float16"),
    ("bfloat16", "bfloat16"),
    ("bfloat16", "float8_e4m3fn"),
    ("float16", "float8_e4m3fn"),
    ("bfloat16", "float8_e5m2"),
    ("float16", "float8_e5m2"),
]
CPU_DTYPES = [*DTYPES, ("float32", "float8_e4m3fn"), ("float32", "float8_e5m2")]
# Query rows times keys times heads times dims the oracle takes per case (float64, two cores in CI).
BUDGET = 3e8


@dataclass
class Shape:
    layout: str
    query_dtype: str
    pool_dtype: str
    head_dim: int
    page_size: int
    num_q_heads: int
    num_kv_heads: int
    index_dtype: type

    @property
    def fp8(self) -> bool:
        return self.pool_dtype in FP8_DTYPES


def draw_shape(rng: np.random.Generator, device: str) -> Shape:
    def pick(options):
        return options[rng.integers(len(options))]

    query_dtype, pool_dtype = pick(CPU_DTYPES if device == "cpu" else DTYPES)
    num_q_heads, num_kv_heads = pick(HEADS)
    return Shape(
        layout=pick(LAYOUTS),
        query_dtype=query_dtype,
        pool_dtype=pool_dtype,
        head_dim=pick(CPU_HEAD_DIMS if device == "cpu" else CUDA_HEAD_DIMS),
        page_size=pick(CPU_PAGE_SIZES if device == "cpu" else PAGE_SIZES),
        num_q_heads=num_q_heads,
        num_kv_heads=num_kv_heads,
        index_dtype=pick([np.int32, np.int64]),
    )


def draw_length(rng: np.random.Generator, page_size: int, longest: int) -> int:
    """Empty, one token, either side of a page edge, or anything up to ``longest``."""
    kind = rng.integers(6)
    if kind == 0:
        return 0
    if kind == 1:
        return 1
    if kind == 2:
        return max(0, page_size * int(rng.integers(1, 4)) + int(rng.integers(-1, 2)))
    return int(rng.integers(1, longest + 1))


def draw_variant(rng: np.random.Generator, num_q_heads: int) -> dict:
    """Each option on or off by itself; on, a value from its edges or its ordinary range."""
    variant: dict = {}
    if rng.random() < 0.35:
        variant["window_left"] = int(rng.choice([0, 1, int(rng.integers(2, 300)), 100_000]))
    if rng.random() < 0.3:
        variant["logits_soft_cap"] = float(rng.choice([1.0, 5.0, 30.0, 50.0]))
    if rng.random() < 0.25:
        variant["alibi_slopes"] = (2.0 ** -rng.uniform(1, 8, num_q_heads)).astype(np.float32)
    if rng.random() < 0.25:
        variant["sinks"] = rng.uniform(-4, 4, num_q_heads).astype(np.float32)
    if rng.random() < 0.3:
        variant["scale"] = float(rng.uniform(0.02, 0.5))
    return variant


def draw_scales(rng: np.random.Generator, shape: Shape) -> tuple:
    """``k_scale``, ``v_scale`` as given to the ops: none, numbers or one per KV head."""

    def one():
        kind = rng.integers(3)
        if kind == 0:
            return None
        if kind == 1:
            return float(rng.uniform(0.1, 4.0))
        return rng.uniform(0.1, 4.0, shape.num_kv_heads).astype(np.float32)

    return (one(), one()) if shape.fp8 else (None, None)


@dataclass
class Pools:
    k_cache: np.ndarray
    v_cache: np.ndarray
    page_table: np.ndarray
    #: ``[pages, page_size, HKV, D]`` contents, for the oracle.
    k_pages: np.ndarray
    v_pages: np.ndarray


def draw_pools(rng: np.random.Generator, shape: Shape, lens: list[int], nan_unread: bool = True) -> Pools:
    """Pages for ``lens[b]`` tokens of each sequence in random order, with spare pages; a later
    sequence may share a prefix of the first one's pages (prefix caching); table entries past a
    sequence's pages hold garbage that must be ignored; slots no sequence reads hold NaN."""
    size = shape.page_size
    used = [-(-n // size) for n in lens]
    num_pages = sum(used) + int(rng.integers(0, 4))
    order = rng.permutation(max(num_pages, 1))
    columns = max(used, default=0) + int(rng.integers(0, 3))
    table = np.full((len(lens), max(columns, 1)), -1, np.int64)
    first = np.cumsum([0, *used])
    for b, n in enumerate(used):
        table[b, :n] = order[first[b] : first[b] + n]
        if b and rng.random() < 0.3:
            shared = int(rng.integers(0, min(used[0], n) + 1))
            table[b, :shared] = table[0, :shared]
    garbage = [-1, -7, num_pages, num_pages + 1000, 2**31 - 1]
    if shape.index_dtype == np.int64:
        garbage.append(2**40)
    for b, n in enumerate(used):
        for j in range(n, table.shape[1]):
            table[b, j] = garbage[rng.integers(len(garbage))]
    pages_shape = (max(num_pages, 1), size, shape.num_kv_heads, shape.head_dim)
    k_pages = random_array(rng, pages_shape, shape.pool_dtype)
    v_pages = random_array(rng, pages_shape, shape.pool_dtype)
    if nan_unread:
        read = np.zeros(pages_shape[:2], bool)
        for b, n in enumerate(lens):
            for j in range(used[b]):
                read[table[b, j], : min(size, n - j * size)] = True
        k_pages[~read] = np.nan
        v_pages[~read] = np.nan
    return Pools(
        k_cache=to_layout(k_pages, shape.layout, is_key=True),
        v_cache=to_layout(v_pages, shape.layout, is_key=False),
        page_table=table.astype(shape.index_dtype),
        k_pages=k_pages,
        v_pages=v_pages,
    )


def history(pools: Pools, b: int, n: int, shape: Shape, k_scale, v_scale) -> tuple[np.ndarray, np.ndarray]:
    """Sequence ``b``'s first ``n`` keys and values as the values they mean (fp8: times the scale)."""
    row = pools.page_table[b]
    keys = read_sequence(pools.k_pages, row, n).astype(np.float64)
    values = read_sequence(pools.v_pages, row, n).astype(np.float64)
    hkv = shape.num_kv_heads
    k_scales, v_scales = kv_head_scales(k_scale, hkv), kv_head_scales(v_scale, hkv)
    return keys * k_scales[None, :, None], values * v_scales[None, :, None]


def draw_device(rng: np.random.Generator, device: str, shape: Shape) -> str:
    """The CPU's cases run on MLX arrays (MLX has no fp8) or torch CPU tensors (through PAL's
    custom ops) now and then, where those are installed."""
    if device != "cpu":
        return device
    if HAS_MLX and not shape.fp8 and rng.random() < 0.2:
        return "mlx"
    return "torch-cpu" if HAS_TORCH and rng.random() < 0.25 else device


def fused(rng, rows: int, widths: list[int], head_dim: int, dtype: str, device: str, factor: float = 1.0):
    """Arrays of ``[rows, width, head_dim]`` on ``device`` (values uniform in +-``factor``): either
    contiguous, or views sliced out of one ``[rows, sum(widths), head_dim]`` tensor (a fused QKV
    projection's output); and that whole tensor on the host."""
    total = (random_array(rng, (rows, sum(widths), head_dim), "float32") * factor).astype(numpy_dtype(dtype))
    edges = np.cumsum([0, *widths])
    if rng.random() < 0.5:
        return [
            on_device(np.ascontiguousarray(total[:, a:b]), device) for a, b in zip(edges, edges[1:])
        ], total
    whole = on_device(total, device)
    return [whole[:, a:b] for a, b in zip(edges, edges[1:])], total


def carrier(rng: np.random.Generator, device: str):
    """How a case hands its read-only arrays (pools, tables, lengths) to an op: torch tensors on
    CUDA; on the CPU numpy arrays, or bare ``__dlpack__`` producers (SPEC §5)."""
    if device == "cpu" and rng.random() < 0.25:
        # (numpy exports no ml_dtypes dtype through DLPack: bfloat16 and fp8 pools stay numpy)
        exported = (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.int32), np.dtype(np.int64))
        return lambda array: BareDLPack(np.ascontiguousarray(array)) if array.dtype in exported else array
    return lambda array: on_device(array, device)


def checked(rng: np.random.Generator, device: str):
    """``check``: the default, or on CUDA now and then the explicit host check of the tables."""
    return True if device == "cuda" and rng.random() < 0.2 else None


def keywords(rng: np.random.Generator, device: str, shape: Shape, scales: tuple, out, variant: dict) -> dict:
    """Decode's and prefill's keyword arguments on ``device``."""
    k_scale, v_scale = scales
    return {
        "layout": shape.layout,
        "k_scale": on_device(k_scale, device),
        "v_scale": on_device(v_scale, device),
        "out": out,
        "check": checked(rng, device),
        **{key: on_device(value, device) for key, value in variant.items()},
    }


def output(rng: np.random.Generator, shape_of: tuple, dtype: str, device: str):
    """``None`` (the op allocates), or an ``out=`` array (sometimes a strided view; MLX arrays are
    not written in place)."""
    kind = rng.integers(3)
    if kind == 0 or device == "mlx":
        return None
    rows, heads, dim = shape_of
    if kind == 1:
        return on_device(np.zeros(shape_of, numpy_dtype(dtype)), device)
    return on_device(np.zeros((rows, heads + 3, dim), numpy_dtype(dtype)), device)[:, 1 : heads + 1]


def described(shape: Shape, **more) -> str:
    fields = {k: (v.__name__ if isinstance(v, type) else v) for k, v in vars(shape).items()}
    extra = {k: ("array" if isinstance(v, np.ndarray) else v) for k, v in more.items()}
    return f"{fields} {extra}"


def fit(lengths: list[int], cost_per_token: float, budget: float = BUDGET) -> list[int]:
    """Halves the lengths until the oracle's work fits the budget."""
    while sum(lengths) * cost_per_token > budget and max(lengths, default=0) > 1:
        lengths = [n // 2 for n in lengths]
    return lengths


@pytest.mark.parametrize("case", CASES)
def test_random_decode(rng, device, case):
    shape = draw_shape(rng, device)
    device = draw_device(rng, device, shape)
    put = carrier(rng, device)
    longest = int(rng.choice([300, 1500, 5000 if device == "cuda" else 2000]))
    lens = [draw_length(rng, shape.page_size, longest) for _ in range(int(rng.integers(1, 6)))]
    lens = fit(lens, shape.num_q_heads * shape.head_dim * 2)
    pools = draw_pools(rng, shape, lens)
    variant = draw_variant(rng, shape.num_q_heads)
    k_scale, v_scale = draw_scales(rng, shape)
    hq, hkv = shape.num_q_heads, shape.num_kv_heads
    factor = float(rng.choice([1.0, 4.0]))  # 4: raw scores far past small soft-caps
    (queries, _, _), qkv = fused(
        rng, len(lens), [hq, hkv, hkv], shape.head_dim, shape.query_dtype, device, factor
    )
    host_queries = qkv[:, :hq]
    out = output(rng, host_queries.shape, shape.query_dtype, device)
    result = pal.paged_attention_decode(
        queries,
        put(pools.k_cache),
        put(pools.v_cache),
        put(pools.page_table),
        put(np.asarray(lens, shape.index_dtype)),
        **keywords(rng, device, shape, (k_scale, v_scale), out, variant),
    )
    if out is not None:
        result = out
    expected = np.zeros(host_queries.shape)
    for b, n in enumerate(lens):
        keys, values = history(pools, b, n, shape, k_scale, v_scale)
        expected[b : b + 1] = attention(host_queries[b : b + 1], keys, values, [n], **variant)
    what = described(shape, lens=lens, **variant, k_scale=k_scale, v_scale=v_scale)
    what += f" on {device}"
    assert_close(to_host(result), expected, shape.query_dtype, f"decode case {case}: {what}")


@pytest.mark.parametrize("case", CASES)
def test_random_prefill(rng, device, case):
    shape = draw_shape(rng, device)
    device = draw_device(rng, device, shape)
    put = carrier(rng, device)
    num_seqs = int(rng.integers(1, 5))
    equal = rng.random() < 0.2  # no cu_seqlens_q: every prompt T / B tokens (the original form)
    prompt_longest = int(rng.choice([16, 130, 400]))
    prompts = [draw_length(rng, 64, prompt_longest) for _ in range(num_seqs)]
    if equal:
        prompts = [max(prompts)] * num_seqs
    histories = [draw_length(rng, shape.page_size, int(rng.choice([64, 700, 3000]))) for _ in range(num_seqs)]
    per_row = shape.num_q_heads * shape.head_dim * 2
    prompts = fit(prompts, per_row * (max(histories, default=0) + max(prompts, default=0)))
    histories = fit(histories, per_row * max(sum(prompts), 1))
    pools = draw_pools(rng, shape, histories)
    variant = draw_variant(rng, shape.num_q_heads)
    k_scale, v_scale = draw_scales(rng, shape)
    hq, hkv, dim = shape.num_q_heads, shape.num_kv_heads, shape.head_dim
    total = sum(prompts)
    (q, k, v), qkv = fused(rng, total, [hq, hkv, hkv], dim, shape.query_dtype, device)
    cu_seqlens = np.concatenate([[0], np.cumsum(prompts)]).astype(shape.index_dtype)
    out = output(rng, (total, hq, dim), shape.query_dtype, device)
    result = pal.paged_attention_prefill(
        q,
        k,
        v,
        put(pools.k_cache),
        put(pools.v_cache),
        put(pools.page_table),
        put(np.asarray(histories, shape.index_dtype)),
        None if equal else put(cu_seqlens),
        **keywords(rng, device, shape, (k_scale, v_scale), out, variant),
    )
    if out is not None:
        result = out
    expected = np.zeros((total, hq, dim))
    for b, n in enumerate(histories):
        lo, hi = int(cu_seqlens[b]), int(cu_seqlens[b + 1])
        keys, values = history(pools, b, n, shape, k_scale, v_scale)
        keys = np.concatenate([keys, qkv[lo:hi, hq : hq + hkv].astype(np.float64)])
        values = np.concatenate([values, qkv[lo:hi, hq + hkv :].astype(np.float64)])
        visible = n + 1 + np.arange(hi - lo)
        expected[lo:hi] = attention(qkv[lo:hi, :hq], keys, values, visible, **variant)
    what = described(shape, histories=histories, prompts=prompts, equal=equal, **variant, k_scale=k_scale)
    what += f" on {device}"
    assert_close(to_host(result), expected, shape.query_dtype, f"prefill case {case}: {what}")


@pytest.mark.parametrize("case", CASES)
def test_random_fill(rng, device, case):
    shape = draw_shape(rng, device)
    put = carrier(rng, device)
    num_seqs = int(rng.integers(1, 5))
    capacity = [int(rng.integers(1, 600)) for _ in range(num_seqs)]
    pools = draw_pools(rng, shape, capacity, nan_unread=False)
    size = shape.page_size
    # Distinct slots: a run of positions per sequence (a prompt), or one token each (a decode step).
    tokens: list[tuple[int, int]] = []
    for b, n in enumerate(capacity):
        if rng.random() < 0.5:
            start = int(rng.integers(0, n))
            tokens += [(b, p) for p in range(start, int(rng.integers(start + 1, n + 1)))]
        else:
            tokens.append((b, int(rng.integers(0, n))))
    # Sequences sharing prefix pages: keep the first token of a slot only.
    seen, unique = set(), []
    for b, p in tokens:
        target = (int(pools.page_table[b, p // size]), p % size)
        if target not in seen:
            seen.add(target)
            unique.append((b, p, target))
    order = rng.permutation(len(unique))
    unique = [unique[i] for i in order]
    source = shape.query_dtype if not shape.fp8 else ["float32", "float16", "bfloat16"][rng.integers(3)]
    count = len(unique)
    factor = 600.0 if shape.fp8 else 1.0  # fp8: past e4m3's range (448), saturating
    (new_keys, new_values), kv = fused(
        rng, count, [shape.num_kv_heads] * 2, shape.head_dim, source, device, factor
    )
    k_scale, v_scale = draw_scales(rng, shape)
    k_cache, v_cache = on_device(pools.k_cache, device), on_device(pools.v_cache, device)
    use_slots = rng.random() < 0.5
    if use_slots:
        slots = np.array([page * size + slot for _, _, (page, slot) in unique], np.int64)
        skipped = rng.random(count) < 0.2
        slots[skipped] = -1
        pal.fill_kv_pages(
            new_keys, new_values, k_cache, v_cache,
            slot_mapping=put(slots.astype(shape.index_dtype)), check=checked(rng, device),
            layout=shape.layout, k_scale=on_device(k_scale, device), v_scale=on_device(v_scale, device),
        )  # fmt: skip
    else:
        skipped = np.zeros(count, bool)
        positions = np.array([p for _, p, _ in unique], shape.index_dtype)
        token_to_seq = np.array([b for b, _, _ in unique], shape.index_dtype)
        pal.fill_kv_pages(
            new_keys, new_values, k_cache, v_cache,
            *(put(a) for a in (pools.page_table, positions, token_to_seq)), check=checked(rng, device),
            layout=shape.layout, k_scale=on_device(k_scale, device), v_scale=on_device(v_scale, device),
        )  # fmt: skip
    want = {"k": pools.k_pages.copy(), "v": pools.v_pages.copy()}
    hkv = shape.num_kv_heads
    for i, (_, _, (page, slot)) in enumerate(unique):
        if skipped[i]:
            continue
        for name, rows, scale in (("k", kv[i, :hkv], k_scale), ("v", kv[i, hkv:], v_scale)):
            want[name][page, slot] = quantise_fp8(rows, scale, shape.pool_dtype) if shape.fp8 else rows
    what = described(shape, capacity=capacity, tokens=count, use_slots=use_slots, k_scale=k_scale)
    for name, pool, is_key in (("k", k_cache, True), ("v", v_cache, False)):
        got = from_layout(pool_on_host(pool, shape.pool_dtype), shape.layout, is_key=is_key)
        bits = np.uint8 if shape.fp8 else (np.uint32 if shape.pool_dtype == "float32" else np.uint16)
        np.testing.assert_array_equal(
            got.view(bits), want[name].view(bits), err_msg=f"fill case {case} ({name}): {what}"
        )
