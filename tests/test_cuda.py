"""The CUDA backend against the CPU backend and the float64 oracle: every layout, dtype, head
dim and page size, long contexts, ragged batches, determinism, bad inputs, torch.compile and
CUDA graphs. Skipped where there is no CUDA device (scripts/gpu_suite.sh runs it on one)."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import (
    DTYPES,
    LAYOUTS,
    TOLERANCE,
    assert_close,
    attention,
    decode_reference,
    from_torch,
    paged_cache,
    prefill_reference,
    random_array,
    random_prompts,
    to_torch,
    with_nan_past_the_end,
)

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

HEAD_DIMS = [64, 80, 96, 112, 128, 192, 256]
# The Hopper prefill (wgmma) runs on compute capability 9.0 at head dims 64 / 128 / 192 / 256; the
# portable one elsewhere (and there with PAL_PREFILL_PATH=portable); both at every page size.
HOPPER = torch.cuda.is_available() and torch.cuda.get_device_capability() == (9, 0)


def cuda(array: np.ndarray) -> "torch.Tensor":
    return to_torch(array, "cuda")


def decode_both(cache, queries, layout, **kwargs):
    """PAL on CUDA and PAL on the CPU for the same inputs."""
    args = (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    gpu = pal.paged_attention_decode(*[cuda(a) for a in args], layout=layout, **kwargs)
    cpu = pal.paged_attention_decode(*args, layout=layout, **kwargs)
    return from_torch(gpu), cpu.astype(np.float64)


# Every head dim at page size 16, every page size at head dim 128, and the extremes crossed.
DECODE_GEOMETRIES = (
    [(d, 16) for d in HEAD_DIMS]
    + [(128, p) for p in (1, 2, 4, 8, 32, 64, 128)]
    + [(64, 1), (256, 128), (80, 2), (192, 64), (112, 8), (80, 4), (112, 4), (96, 8), (256, 4)]
    + [(64, 2), (96, 2), (192, 2), (256, 2)]
)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize(("head_dim", "page_size"), DECODE_GEOMETRIES)
def test_decode_matches_cpu_and_reference(rng, layout, dtype, head_dim, page_size):
    # (float32 pal values at pages under 4 slots: the CUDA-core kernel reads them one by one.)
    # Cycle through MHA, GQA and MQA groupings across the grid.
    num_q_heads, num_kv_heads = [(4, 4), (8, 2), (16, 1), (32, 8)][(head_dim + page_size) % 4]
    lens = [int(n) for n in rng.integers(1, 900, size=3)] + [0]
    cache = paged_cache(rng, lens, num_kv_heads, head_dim, page_size, dtype, layout)
    queries = random_array(rng, (len(lens), num_q_heads, head_dim), dtype)
    gpu, cpu = decode_both(cache, queries, layout)
    assert_close(gpu, decode_reference(queries, cache), dtype, "cuda vs float64")
    np.testing.assert_allclose(
        gpu, cpu, rtol=2 * TOLERANCE[dtype], atol=2 * TOLERANCE[dtype], err_msg="cuda vs cpu"
    )


@pytest.mark.parametrize("page_size", [32, 64, 128])
@pytest.mark.parametrize(
    "head_dim, dtype", [(64, "bfloat16"), (80, "float16"), (128, "bfloat16"), (256, "float16")]
)
def test_decode_pal_large_pages(rng, page_size, head_dim, dtype):
    """16-bit pal pools in pages of 64 slots or more, whose values come a step of four 16-key
    tiles at a time (Hopper: one tensor copy per step; earlier GPUs: the CTA's warps together),
    and 32 (Hopper: a tensor copy per page, two a step; earlier GPUs: each warp copies its own):
    lengths that end in each tile of a step and in each 8-key half of a tile, one long enough to
    split, windows starting mid-step (a step's first page wholly hidden), NaN in the slots past
    each sequence's end (never read)."""
    lens = [1, 8, 9, 16, 17, 40, 63, 64, 65, 100, 2500]
    cache = with_nan_past_the_end(paged_cache(rng, lens, 2, head_dim, page_size, dtype, "nhd"), "pal")
    queries = random_array(rng, (len(lens), 8, head_dim), dtype)
    args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    for window in (None, 37, 200):
        kwargs = {} if window is None else {"window_left": window}
        gpu = from_torch(pal.paged_attention_decode(*args, layout="pal", **kwargs))
        assert_close(gpu, decode_reference(queries, cache, **kwargs), dtype, f"window {window}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 2, 4, 8, 16, 64])
def test_decode_float32_tiles_windows_and_groups(rng, layout, page_size):
    """The float32 decode (warp-private rings of 8-key tiles, `decode_rows`): lengths that end in
    every slot of a tile and one long enough to split, windows that start mid-tile, NaN in the
    slots past each sequence's end (never let in), and groups of 1, 3, 6 and 12 query heads a KV
    head (CTAs of 4 and of 8 heads, and a group over two CTAs), over head dims 64 to 256."""
    lens = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 3000]
    for hq, hkv, head_dim in [(2, 2, 64), (6, 2, 128), (12, 2, 80), (12, 1, 256)]:
        cache = paged_cache(rng, lens, hkv, head_dim, page_size, "float32", "nhd")
        cache = with_nan_past_the_end(cache, layout)
        queries = random_array(rng, (len(lens), hq, head_dim), "float32")
        args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
        for window in (None, 5, 37):
            kwargs = {} if window is None else {"window_left": window}
            gpu = from_torch(pal.paged_attention_decode(*args, layout=layout, **kwargs))
            expected = decode_reference(queries, cache, **kwargs)
            assert_close(gpu, expected, "float32", f"{hq}/{hkv} d{head_dim} window {window}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 2, 16, 64])
def test_decode_float32_large_groups_on_tensor_cores(rng, layout, page_size):
    """float32 pools with groups of 16 query heads a KV head and more run on TF32 tensor cores
    (`decode_tf32`, 3xTF32) at head dims 64 and 128: groups of 16 (CTAs of two warps), 20 (a
    warp's columns past the group), 32 (MQA) and 64 (two CTAs a KV head); lengths that end in
    every part of a 16-key tile and one long enough to split; windows that start mid-tile; NaN in
    the slots past each sequence's end; soft-cap, ALiBi and sinks together over large scores;
    queries 8x larger (sharp softmax); against float64 at float32's tolerance (the same as the
    CUDA cores'; emulated, 3xTF32's worst output error there is about a quarter of it)."""
    lens = [1, 2, 7, 15, 16, 17, 31, 33, 100, 3000, 0]
    for hq, hkv, head_dim in [(16, 1, 128), (32, 2, 64), (40, 2, 64), (32, 1, 128), (64, 1, 64)]:
        cache = paged_cache(rng, lens, hkv, head_dim, page_size, "float32", "nhd")
        cache = with_nan_past_the_end(cache, layout)
        queries = random_array(rng, (len(lens), hq, head_dim), "float32")
        args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
        slopes = (2.0 ** -np.arange(1, hq + 1) / 4).astype(np.float32)
        sinks = np.linspace(-1.0, 3.0, hq, dtype=np.float32)
        combined = {"logits_soft_cap": 20.0, "alibi_slopes": slopes, "sinks": sinks}
        # (query scale, variant)
        cases = [(1, {}), (1, {"window_left": 37}), (8, {}), (4, {**combined, "window_left": 1000})]
        for q_scale, variant in cases:
            q = cuda(queries * q_scale)
            on_gpu = {k: cuda(x) if isinstance(x, np.ndarray) else x for k, x in variant.items()}
            gpu = from_torch(pal.paged_attention_decode(q, *args[1:], layout=layout, **on_gpu))
            expected = decode_reference(queries * q_scale, cache, **variant)
            what = f"{hq}/{hkv} d{head_dim} q x{q_scale} {sorted(variant)}"
            assert_close(gpu, expected, "float32", what)
            assert not gpu[-1].any(), what


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 2, 16, 128])
def test_decode_float32_large_groups_on_full_grids(rng, layout, page_size):
    """Groups of 20 to 64 query heads a KV head over grids of 131072 keys and more, which
    Hopper serves with TF32 wgmma (`decode_tf32_wgmma`: 64-key tiles, one warpgroup of 32 heads;
    other GPUs `decode_tf32`): lengths that end in every part of a 64-key tile, three of each so
    that the grid is full; a window that starts mid-tile; NaN past each sequence's end; soft-cap,
    ALiBi and sinks together over large scores; queries 8x larger; MQA at head dims 128 and 64,
    64 heads a KV head (two CTAs) and two KV heads, 20 and 40 (columns past the group masked);
    against float64 at float32's tolerance."""
    lens = [1, 2, 7, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 128, 129, 3000, 0] * 3
    for hq, hkv, head_dim in [(32, 1, 128), (64, 1, 64), (64, 2, 64), (20, 1, 128), (40, 2, 64)]:
        cache = paged_cache(rng, lens, hkv, head_dim, page_size, "float32", "nhd")
        cache = with_nan_past_the_end(cache, layout)
        queries = random_array(rng, (len(lens), hq, head_dim), "float32")
        args = [cuda(a) for a in (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
        slopes = (2.0 ** -np.arange(1, hq + 1) / 4).astype(np.float32)
        sinks = np.linspace(-1.0, 3.0, hq, dtype=np.float32)
        combined = {"logits_soft_cap": 20.0, "alibi_slopes": slopes, "sinks": sinks}
        # (windows of 2600 keys keep the grid full and start mid-tile in the longest sequences)
        for q_scale, variant in [
            (1, {}),
            (1, {"window_left": 2600}),
            (8, {}),
            (4, {**combined, "window_left": 2600}),
        ]:
            on_gpu = {k: cuda(x) if isinstance(x, np.ndarray) else x for k, x in variant.items()}
            gpu = from_torch(
                pal.paged_attention_decode(cuda(queries * q_scale), *args, layout=layout, **on_gpu)
            )
            expected = decode_reference(queries * q_scale, cache, **variant)
            what = f"{hq}/{hkv} d{head_dim} q x{q_scale} {sorted(variant)}"
            assert_close(gpu, expected, "float32", what)
            assert not gpu[len(lens) // 3 - 1].any(), what


@pytest.mark.parametrize("context", [32768, 131072])
def test_decode_long_contexts(rng, context):
    cache = paged_cache(rng, [context, 5], 8, 128, 16, "bfloat16", "pal")
    queries = random_array(rng, (2, 32, 128), "bfloat16")
    gpu, _ = decode_both(cache, queries, "pal")
    assert_close(gpu, decode_reference(queries, cache), "bfloat16")


def test_decode_ragged_and_zero_lengths(rng):
    cache = paged_cache(rng, [0, 1, 17, 1000, 0, 4097], 2, 128, 16, "float16", "hnd")
    queries = random_array(rng, (6, 8, 128), "float16")
    gpu, cpu = decode_both(cache, queries, "hnd", scale=0.3)
    assert_close(gpu, decode_reference(queries, cache, scale=0.3), "float16")
    assert not gpu[0].any() and not gpu[4].any()


def test_decode_is_bitwise_deterministic(rng):
    cache = paged_cache(rng, [20000, 300, 7], 8, 128, 16, "bfloat16", "pal")
    args = [
        cuda(a)
        for a in (
            random_array(rng, (3, 32, 128), "bfloat16"),
            cache.k_cache,
            cache.v_cache,
            cache.page_table,
            cache.lens,
        )
    ]
    runs = [pal.paged_attention_decode(*args) for _ in range(5)]
    assert all(torch.equal(r, runs[0]) for r in runs[1:])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("form", ["positions", "slot_mapping", "sequence_major"])
@pytest.mark.parametrize(
    "dim, page_size",
    [(64, 8), (80, 16), (96, 32), (128, 16), (256, 8), (128, 1), (112, 2), (64, 4), (64, 128)],
)
def test_fill_matches_cpu_bit_for_bit(rng, layout, dtype, form, dim, page_size):
    """Tokens of three sequences, interleaved or one sequence after another (whole pages of
    consecutive slots in one tile of the kernel), starting mid-page at position 7."""
    heads, tokens = 4, 300
    per_seq = (tokens // 3 + 7) // page_size + 1
    pages = 3 * per_seq + 4
    k_cpu = random_array(rng, pal.get_k_cache_shape(pages, heads, dim, page_size, dtype, layout), dtype)
    v_cpu = random_array(rng, pal.get_v_cache_shape(pages, heads, dim, page_size, dtype, layout), dtype)
    k_gpu, v_gpu = cuda(k_cpu), cuda(v_cpu)
    keys, values = (
        random_array(rng, (tokens, heads, dim), dtype),
        random_array(rng, (tokens, heads, dim), dtype),
    )
    table = rng.permutation(pages)[: 3 * per_seq].reshape(3, per_seq).astype(np.int32)
    seqs = (np.arange(tokens) % 3).astype(np.int32)
    positions = (np.arange(tokens) // 3 + 7).astype(np.int32)
    if form == "sequence_major":
        seqs, positions = np.sort(seqs), (np.arange(tokens) % (tokens // 3) + 7).astype(np.int32)
    if form != "slot_mapping":
        index = dict(page_table=table, positions=positions, token_to_seq=seqs)
    else:
        slots = table[seqs, positions // page_size] * page_size + positions % page_size
        slots[::7] = -1
        index = dict(slot_mapping=slots.astype(np.int32))
    pal.fill_kv_pages(keys, values, k_cpu, v_cpu, layout=layout, **index)
    pal.fill_kv_pages(
        cuda(keys), cuda(values), k_gpu, v_gpu, layout=layout, **{k: cuda(v) for k, v in index.items()}
    )
    np.testing.assert_array_equal(from_torch(k_gpu), k_cpu.astype(np.float32))
    np.testing.assert_array_equal(from_torch(v_gpu), v_cpu.astype(np.float32))


def test_fill_then_decode_on_gpu(rng):
    lens, heads, dim = [100, 33], 2, 64
    table = cuda(np.array([[3, 0, 5, 1, 2, 4, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]], np.int32))
    k_cache = torch.zeros(
        pal.get_k_cache_shape(16, heads, dim, 16, torch.bfloat16), dtype=torch.bfloat16, device="cuda"
    )
    v_cache = torch.zeros(
        pal.get_v_cache_shape(16, heads, dim, 16, torch.bfloat16), dtype=torch.bfloat16, device="cuda"
    )
    seqs = np.concatenate([np.full(n, b) for b, n in enumerate(lens)]).astype(np.int32)
    positions = np.concatenate([np.arange(n) for n in lens]).astype(np.int32)
    keys, values = (
        random_array(rng, (len(seqs), heads, dim), "bfloat16"),
        random_array(rng, (len(seqs), heads, dim), "bfloat16"),
    )
    pal.fill_kv_pages(cuda(keys), cuda(values), k_cache, v_cache, table, cuda(positions), cuda(seqs))
    queries = random_array(rng, (2, 4, dim), "bfloat16")
    out = pal.paged_attention_decode(cuda(queries), k_cache, v_cache, table, cuda(np.array(lens, np.int32)))
    for b in range(2):
        rows = seqs == b
        expected = attention(
            queries[b : b + 1], keys[rows].astype(np.float64), values[rows].astype(np.float64), [lens[b]]
        )
        assert_close(from_torch(out)[b : b + 1], expected, "bfloat16")


def test_bad_page_tables_raise_or_are_skipped(rng):
    cache = paged_cache(rng, [40, 20], 2, 64, 16, "float32", "nhd")
    args = [
        cuda(a)
        for a in (
            random_array(rng, (2, 4, 64), "float32"),
            cache.k_cache,
            cache.v_cache,
            cache.page_table,
            cache.lens,
        )
    ]
    bad = args[3].clone()
    bad[1, 0] = 10_000
    with pytest.raises(ValueError, match=r"page_table\[1, 0\]"):
        pal.paged_attention_decode(*args[:3], bad, args[4], layout="nhd", check=True)
    # Unchecked: the kernel skips the invalid page instead of reading outside the pool, and
    # records nothing (the next call runs).
    out = pal.paged_attention_decode(*args[:3], bad, args[4], layout="nhd", check=False)
    assert torch.isfinite(out).all()
    torch.cuda.synchronize()
    assert torch.equal(pal.paged_attention_decode(*args[:3], bad, args[4], layout="nhd", check=False), out)
    with pytest.raises(ValueError, match=r"seq_lens\[0\]"):
        pal.paged_attention_decode(*args[:4], cuda(np.array([10_000, 1], np.int32)), layout="nhd", check=True)
    keys = torch.ones(1, 2, 64, device="cuda")
    k_before = args[1].clone()
    with pytest.raises(ValueError, match=r"positions\[0\]"):
        pal.fill_kv_pages(
            keys,
            keys,
            args[1],
            args[2],
            args[3],
            cuda(np.array([999], np.int32)),
            cuda(np.array([0], np.int32)),
            layout="nhd",
            check=True,
        )
    pal.fill_kv_pages(
        keys,
        keys,
        args[1],
        args[2],
        slot_mapping=cuda(np.array([10**6], np.int32)),
        layout="nhd",
        check=False,
    )
    assert torch.equal(args[1], k_before)


def deferred_cases(rng):
    """(name, call with one bad device-side entry, the message the next call must raise)."""
    cache = paged_cache(rng, [40, 20], 2, 64, 16, "bfloat16", "nhd")
    queries = cuda(random_array(rng, (2, 4, 64), "bfloat16"))
    k, v, table, lens = (cuda(a) for a in (cache.k_cache, cache.v_cache, cache.page_table, cache.lens))
    bad_table = table.clone()
    bad_table[1, 0] = 10_000
    keys = cuda(random_array(rng, (3, 2, 64), "bfloat16"))
    q = cuda(random_array(rng, (3, 4, 64), "bfloat16"))
    offsets = cuda(np.array([0, 2, 3], np.int32))
    tokens = cuda(np.array([0, 1, 1], np.int32))

    def decode(t=table, n=lens):
        return pal.paged_attention_decode(queries, k, v, t, n, layout="nhd")

    def prefill(t=table, n=lens, cu=offsets):
        return pal.paged_attention_prefill(q, keys, keys, k, v, t, n, cu, layout="nhd")

    def fill(**index):
        pal.fill_kv_pages(keys, keys, k, v, layout="nhd", **index)

    positions = cuda(np.array([40, 41, 20], np.int32))
    return decode, [
        ("decode page", lambda: decode(t=bad_table), r"paged_attention_decode: `page_table\[1, 0\]`.* 10000"),
        ("decode length", lambda: decode(n=cuda(np.array([40, 9999], np.int32))), r"`seq_lens\[1\]`.* 9999"),
        ("prefill page", lambda: prefill(t=bad_table), r"paged_attention_prefill: `page_table\[1, 0\]`"),
        (
            "prefill length",
            lambda: prefill(n=cuda(np.array([-4, 20], np.int32))),
            r"`context_lens\[0\]`.* -4",
        ),
        ("prefill offsets", lambda: prefill(cu=cuda(np.array([0, 5, 3], np.int32))), r"`cu_seqlens_q\[1\]`"),
        (
            "fill slot",
            lambda: fill(slot_mapping=cuda(np.array([0, -1, 10**6], np.int32))),
            r"`slot_mapping\[2\]`",
        ),
        (
            "fill position",
            lambda: fill(
                page_table=table, positions=cuda(np.array([40, 9999, 20], np.int32)), token_to_seq=tokens
            ),
            r"`positions\[1\]`.* 9999",
        ),
        (
            "fill sequence",
            lambda: fill(
                page_table=table, positions=positions, token_to_seq=cuda(np.array([0, 7, 1], np.int32))
            ),
            r"`token_to_seq\[1\]`.* 7",
        ),
        (
            "fill page",
            lambda: fill(
                page_table=bad_table, positions=cuda(np.array([40, 5, 20], np.int32)), token_to_seq=tokens
            ),
            r"fill_kv_pages: `page_table\[1, 0\]`",
        ),
    ]


def test_bad_device_entries_are_reported_by_the_next_call(rng):
    """The default check never synchronises: the kernel skips a bad entry and records it, and the
    next PAL call on the GPU raises it, naming the argument, the entry and the value."""
    decode, cases = deferred_cases(rng)
    for name, call, message in cases:
        out = call()  # runs, skipping the bad entry
        if out is not None:
            assert torch.isfinite(out.float()).all(), name
        torch.cuda.synchronize()
        with pytest.raises(pal.PalValueError, match=message):
            decode()
        assert torch.isfinite(decode().float()).all(), f"{name}: the report is cleared once raised"


def test_mixed_devices_and_unsupported_shapes(rng):
    cache = paged_cache(rng, [10], 1, 32, 8, "float32", "pal")
    queries = cuda(random_array(rng, (1, 1, 32), "float32"))
    with pytest.raises(pal.PalValueError, match="k_cache"):
        pal.paged_attention_decode(
            queries,
            torch.from_numpy(cache.k_cache),
            cuda(cache.v_cache),
            cuda(cache.page_table),
            cuda(cache.lens),
        )
    with pytest.raises(pal.UnsupportedError, match="head_dim 32") as unsupported:
        pal.paged_attention_decode(
            queries, cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table), cuda(cache.lens)
        )
    # Engines catch NotImplementedError to fall back to another kernel; SPEC §6 says ValueError.
    assert isinstance(unsupported.value, NotImplementedError) and isinstance(unsupported.value, ValueError)


def prefill_both(cache, q, k, v, cu, layout, **kwargs):
    """PAL prefill on CUDA and on the CPU for the same inputs."""
    args = (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    cu_gpu = None if cu is None else cuda(np.asarray(cu, np.int32))
    gpu = pal.paged_attention_prefill(*[cuda(a) for a in args], cu_gpu, layout=layout, **kwargs)
    cpu = pal.paged_attention_prefill(
        *args, None if cu is None else np.asarray(cu, np.int32), layout=layout, **kwargs
    )
    return from_torch(gpu), cpu.astype(np.float64)


def check_prefill(rng, history, prompts, num_q_heads, num_kv_heads, head_dim, page_size, dtype, layout):
    cache = paged_cache(rng, history, num_kv_heads, head_dim, page_size, dtype, layout)
    q, k, v, cu = random_prompts(rng, prompts, num_q_heads, num_kv_heads, head_dim, dtype)
    gpu, cpu = prefill_both(cache, q, k, v, cu, layout)
    assert_close(gpu, prefill_reference(q, k, v, cache, cu), dtype, "cuda vs float64")
    np.testing.assert_allclose(
        gpu, cpu, rtol=2 * TOLERANCE[dtype], atol=2 * TOLERANCE[dtype], err_msg="cuda vs cpu"
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("head_dim", HEAD_DIMS)
def test_prefill_matches_cpu_and_reference(rng, layout, dtype, head_dim):
    # Every head dim meets every page size across the three layouts; MHA, GQA, MQA and a query
    # group wider than one CTA (96 heads on one KV head) take turns.
    turn = LAYOUTS.index(layout) + HEAD_DIMS.index(head_dim)
    page_size = [8, 16, 32][turn % 3]
    num_q_heads, num_kv_heads = [(4, 4), (8, 2), (32, 1), (96, 1)][turn % 4]
    # History: none, one token, a page boundary, one page and a bit; prompts: one token, an
    # empty one, a tile and a bit, a partial tile.
    check_prefill(
        rng, [0, 1, page_size, page_size + 21], [17, 1, 0, 65],
        num_q_heads, num_kv_heads, head_dim, page_size, dtype, layout,
    )  # fmt: skip


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 2, 4, 64, 128])
@pytest.mark.parametrize("dtype, head_dim", [("float32", 64), ("bfloat16", 96)])
def test_prefill_at_every_page_size_float32_and_head_dim_96(rng, layout, page_size, dtype, head_dim):
    """Every page size for float32 (the CUDA-core prefill, which reads pages element by element)
    and for 16-bit queries at head dim 96 (on Hopper the wgmma kernel's padded tiles): history
    ending mid-page, GQA and MQA."""
    heads = [(8, 2), (4, 1)][page_size % 3 % 2]
    history, prompts = [0, 3, 2 * page_size + 5, 150], [20, 1, 0, 70]
    check_prefill(rng, history, prompts, *heads, head_dim, page_size, dtype, layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("head_dim", [80, 96, 112])
@pytest.mark.parametrize(
    "dtype, page_size, variant",
    [
        ("bfloat16", 16, {}),
        ("float16", 1, {}),
        ("bfloat16", 2, {}),
        ("float16", 8, {}),
        ("bfloat16", 4, {"logits_soft_cap": 30.0}),
        ("float16", 16, {"window_left": 100, "sinks": True}),
        ("bfloat16", 64, {"alibi_slopes": True}),
    ],
    ids=["plain", "page1", "page2", "page8", "softcap", "window-sinks", "alibi"],
)
def test_prefill_head_dims_between_swizzle_blocks(rng, layout, head_dim, dtype, page_size, variant):
    """Head dims of 80 / 96 / 112 over 16-bit pools: on Hopper the wgmma kernel in 128-wide
    tiles (pads of Q and K never read, O's pad columns dropped; prompt tiles and Q by tensor
    copies whose boxes run past the head's dims; pal pages' values copied for the head's dims
    only): whole prompt tiles (300 tokens), a history of whole and partial tiles, an empty
    prompt, a lone token, GQA, each variant."""
    check_prefill_with_variant(rng, layout, head_dim, dtype, page_size, variant)


# The variants' 32-key tiles over pal pools at head dims whose chunks do not divide the copy's
# passes: the portable kernel's pool-order K copy left chunks unwritten there (found 2026-12-06);
# on Hopper these head dims take the wgmma kernel unless the portable path is asked for.
VARIANT_CASES = [
    ("bfloat16", 4, {"logits_soft_cap": 30.0}),
    ("float16", 16, {"window_left": 100, "sinks": True}),
    ("bfloat16", 64, {"alibi_slopes": True}),
]
VARIANT_IDS = ["softcap", "window-sinks", "alibi"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("head_dim", [80, 112])
@pytest.mark.parametrize("dtype, page_size, variant", VARIANT_CASES, ids=VARIANT_IDS)
def test_portable_prefill_variants_between_swizzle_blocks(
    rng, monkeypatch, layout, head_dim, dtype, page_size, variant
):
    """The portable kernel at head dims 80 / 112 with each variant, in every layout."""
    monkeypatch.setenv("PAL_PREFILL_PATH", "portable")
    check_prefill_with_variant(rng, layout, head_dim, dtype, page_size, variant)


# The portable kernel keeps Q, K and row-form V tiles in unpadded rows whose 16-byte chunks are
# XOR-swizzled by row at head dims 128 / 192 / 256: every copy form writes them (prompt, history
# and boundary tiles, a window's first tile) and every fragment load and the output's staging
# read them.
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("head_dim", [128, 192, 256])
@pytest.mark.parametrize("dtype, page_size, variant", VARIANT_CASES, ids=VARIANT_IDS)
def test_portable_prefill_swizzled_rows_with_variants(
    rng, monkeypatch, layout, head_dim, dtype, page_size, variant
):
    """The portable kernel at head dims 128 / 192 / 256 with each variant, in every layout."""
    monkeypatch.setenv("PAL_PREFILL_PATH", "portable")
    check_prefill_with_variant(rng, layout, head_dim, dtype, page_size, variant)


# Head dims 192 / 256 over pages of two slots or more stream 64-key tiles through one slot
# whose K and V are refilled apart (`PrefillMmaTile`'s STAGGER; variants too, in the test
# above); pages of 2-8 slots put a tile's keys on 8-32 pages (pal: values in runs of a page's
# slots).
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("head_dim", [192, 256])
@pytest.mark.parametrize("page_size", [2, 4, 8])
def test_portable_prefill_staggered_slot_over_small_pages(rng, monkeypatch, layout, head_dim, page_size):
    """The portable kernel's staggered slot over pages of 2-8 slots, in every layout."""
    monkeypatch.setenv("PAL_PREFILL_PATH", "portable")
    check_prefill_with_variant(rng, layout, head_dim, "bfloat16", page_size, {})


def check_prefill_with_variant(rng, layout, head_dim, dtype, page_size, variant):
    """Prefill with one variant: whole prompt tiles (300 tokens), a history of whole and partial
    tiles, an empty prompt, a lone token, GQA, against float64."""
    hq, hkv = 8, 2
    cache = paged_cache(rng, [700, 0, 129, 40], hkv, head_dim, page_size, dtype, layout)
    q, k, v, cu = random_prompts(rng, [300, 130, 1, 0], hq, hkv, head_dim, dtype)
    q = (q * 4).astype(q.dtype)
    options = dict(variant)
    if options.get("sinks") is True:
        options["sinks"] = rng.standard_normal(hq).astype(np.float32)
    if options.get("alibi_slopes") is True:
        options["alibi_slopes"] = (2.0 ** -np.arange(1, hq + 1)).astype(np.float32)
    on_gpu = {name: cuda(x) if isinstance(x, np.ndarray) else x for name, x in options.items()}
    args = (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, np.asarray(cu, np.int32))
    gpu = from_torch(pal.paged_attention_prefill(*[cuda(a) for a in args], layout=layout, **on_gpu))
    expected = prefill_reference(q, k, v, cache, cu, **options)
    assert_close(gpu, expected, dtype, "cuda vs float64")


@pytest.mark.parametrize("path", ["default", "portable"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 2, 4, 8, 16, 32, 64, 128])
def test_prefill_paths_at_every_page_size(rng, monkeypatch, path, layout, page_size):
    """Both tensor-core paths over every page size: history that ends mid-page and mid-tile, a
    prompt past one 128-row CTA, a single token, an empty prompt, GQA."""
    if path == "portable":
        monkeypatch.setenv("PAL_PREFILL_PATH", "portable")
    dtype = ["bfloat16", "float16"][page_size % 3 % 2]
    head_dim = [64, 128, 256, 192][(page_size.bit_length() + LAYOUTS.index(layout)) % 4]
    check_prefill(
        rng, [0, 3, 2 * page_size + 5, 300], [130, 1, 0, 260], 8, 2, head_dim, page_size, dtype, layout
    )


@pytest.mark.parametrize("path", ["default", "portable"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "page_size, head_dim, sinks, window",
    [
        (16, 128, False, None),
        (1, 64, True, None),
        (64, 96, False, None),
        (8, 128, False, 2500),
        (16, 256, True, None),
        (2, 128, False, None),
    ],
)
def test_prefill_splits_short_prompts_over_long_histories(
    rng, monkeypatch, path, layout, page_size, head_dim, sinks, window
):
    """Items that leave most of the GPU idle split their keys (split-KV partial states and their
    merge; on Hopper both forms: warp-specialised at head dims 64 / 128, with the producer's
    transposed values at pal pages of 2, one item per CTA at 256): short prompts over long
    histories, an empty history, an empty prompt, a sink, a window; bitwise the same on every
    call, against the CPU and float64."""
    if path == "portable":
        monkeypatch.setenv("PAL_PREFILL_PATH", "portable")
    cache = paged_cache(rng, [5000, 0, 3000, 2100], 2, head_dim, page_size, "bfloat16", layout)
    q, k, v, cu = random_prompts(rng, [7, 40, 1, 0], 8, 2, head_dim, "bfloat16")
    args = (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, np.asarray(cu, np.int32))
    sink = rng.standard_normal(8).astype(np.float32) if sinks else None
    options = {"layout": layout} | ({"window_left": window} if window else {})
    gpu_options = options | ({"sinks": cuda(sink)} if sinks else {})
    runs = [
        from_torch(pal.paged_attention_prefill(*[cuda(a) for a in args], **gpu_options)) for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    cpu = pal.paged_attention_prefill(*args, **options, **({"sinks": sink} if sinks else {}))
    tolerance = 2 * TOLERANCE["bfloat16"]
    np.testing.assert_allclose(runs[0], cpu.astype(np.float64), rtol=tolerance, atol=tolerance)
    if not sinks and not window:
        assert_close(runs[0], prefill_reference(q, k, v, cache, cu), "bfloat16", "cuda vs float64")


@pytest.mark.parametrize("prompt", [1, 15, 16, 17])
@pytest.mark.parametrize("history", [0, 1, 15, 16, 17, 32768])
def test_prefill_prompt_and_history_lengths(rng, prompt, history):
    dtype, layout = [("bfloat16", "pal"), ("float16", "nhd"), ("float32", "hnd")][(prompt + history) % 3]
    check_prefill(rng, [history], [prompt], 8, 2, 128, 16, dtype, layout)


@pytest.mark.parametrize("dtype, layout", [("bfloat16", "pal"), ("float16", "hnd"), ("float32", "nhd")])
def test_prefill_long_prompt(rng, dtype, layout):
    check_prefill(rng, [0, 1000], [4096, 1], 4, 1, 64, 16, dtype, layout)


def test_prefill_ragged_batch_mixing_everything(rng):
    check_prefill(
        rng, [0, 1, 16, 32768, 37, 5, 0], [1, 15, 16, 17, 0, 300, 2000],
        16, 4, 128, 16, "bfloat16", "pal",
    )  # fmt: skip


@pytest.mark.parametrize("check", [True, False])
def test_prefill_equal_lengths_over_long_history(rng, check):
    cache = paged_cache(rng, [4096, 0], 8, 128, 16, "bfloat16", "pal")
    q = random_array(rng, (2 * 300, 32, 128), "bfloat16")
    k, v = random_array(rng, (600, 8, 128), "bfloat16"), random_array(rng, (600, 8, 128), "bfloat16")
    gpu, cpu = prefill_both(cache, q, k, v, None, "pal", check=check)
    assert_close(gpu, prefill_reference(q, k, v, cache, [0, 300, 600]), "bfloat16")


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_prefill_is_bitwise_deterministic(rng, dtype):
    cache = paged_cache(rng, [100, 3000], 2, 64, 32, dtype, "hnd")
    q, k, v, cu = random_prompts(rng, [1024, 77], 4, 2, 64, dtype)
    args = [cuda(a) for a in (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)]
    runs = [pal.paged_attention_prefill(*args, layout="hnd") for _ in range(3)]
    assert all(torch.equal(r, runs[0]) for r in runs[1:])


def test_prefill_bad_inputs_on_cuda(rng):
    cache = paged_cache(rng, [10, 20], 1, 64, 16, "float32", "nhd")
    q, k = cuda(random_array(rng, (6, 2, 64), "float32")), cuda(random_array(rng, (6, 1, 64), "float32"))
    pools = [cuda(a) for a in (cache.k_cache, cache.v_cache, cache.page_table)]
    with pytest.raises(ValueError, match=r"context_lens\[1\]"):
        pal.paged_attention_prefill(
            q, k, k, *pools, cuda(np.array([10, 999], np.int32)), layout="nhd", check=True
        )
    with pytest.raises(ValueError, match=r"cu_seqlens_q\[2\]"):
        pal.paged_attention_prefill(
            q, k, k, *pools, cuda(cache.lens), cuda(np.array([0, 4, 3], np.int32)), layout="nhd", check=True
        )
    bad_table = pools[2].clone()
    bad_table[0, 0] = -3
    with pytest.raises(ValueError, match=r"page_table\[0"):
        pal.paged_attention_prefill(
            q, k, k, *pools[:2], bad_table, cuda(cache.lens), layout="nhd", check=True
        )
    out = pal.paged_attention_prefill(
        q, k, k, *pools[:2], bad_table, cuda(cache.lens), layout="nhd", check=False
    )
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "dtype, layout, page_size",
    [("bfloat16", "pal", 16), ("float32", "pal", 16), ("float16", "nhd", 2), ("bfloat16", "hnd", 64),
     ("bfloat16", "pal", 1)],
)  # fmt: skip
def test_prefill_bad_page_ids_unchecked_are_skipped(rng, dtype, layout, page_size):
    """With check=False an invalid page's keys are left out, as if that page were masked."""
    check_invalid_page_skipped(rng, 2 * page_size + 8, 1, 128, page_size, dtype, layout)  # the second page


def check_invalid_page_skipped(rng, history, bad, head_dim, page_size, dtype, layout):
    """A prefill over one sequence whose page `bad` has an id outside the pools, unchecked: its
    keys are left out, as if that page were masked."""
    cache = paged_cache(rng, [history], 2, head_dim, page_size, dtype, layout)
    q, k, v, cu = random_prompts(rng, [5], 8, 2, head_dim, dtype)
    table = cache.page_table.copy()
    table[0, bad] = 10**6
    args = [cuda(a) for a in (q, k, v, cache.k_cache, cache.v_cache, table, cache.lens)]
    out = pal.paged_attention_prefill(*args, layout=layout, check=False)
    kept = np.r_[0 : bad * page_size, (bad + 1) * page_size : history]
    masked = dataclasses.replace(
        cache, keys=[cache.keys[0][kept]], values=[cache.values[0][kept]],
        lens=np.array([history - page_size], np.int32),
    )  # fmt: skip
    assert_close(from_torch(out), prefill_reference(q, k, v, masked, cu), dtype)


@pytest.mark.parametrize(
    "page_size, head_dim",
    [(2, 64), (2, 128), (4, 64), (4, 128), (8, 64), (8, 128), (2, 96), (2, 80), (4, 112), (8, 96)],
)
def test_prefill_pal_small_pages_over_whole_history_tiles(rng, page_size, head_dim):
    """`pal` pages of 2-8 slots under whole 128-key history tiles, where the Hopper producer
    copies values in the pool's order (at pages of 4 and head dim 128 by lane pairs; at pages of
    2, and of 4 at head dim 64, it transposes them itself; head dims 80-112 in 128-wide tiles):
    histories of several tiles ending mid-tile, GQA; then an invalid page inside a whole tile,
    whose keys check=False leaves out (its copies must fill zeros)."""
    dtype = "bfloat16" if head_dim == 128 else "float16"
    check_prefill(rng, [300, 1000, 129], [40, 1, 130], 8, 2, head_dim, page_size, dtype, "pal")
    # A page of the third tile (keys 256-383) in a history of 700 keys.
    check_invalid_page_skipped(rng, 700, 300 // page_size, head_dim, page_size, dtype, "pal")


def test_prefill_rejects_misaligned_tensors(rng):
    cache = paged_cache(rng, [10], 1, 64, 16, "bfloat16", "nhd")
    q, k, v, _ = random_prompts(rng, [4], 2, 1, 64, "bfloat16")
    flat = cuda(q).reshape(-1)
    shifted = torch.empty(flat.numel() + 1, dtype=flat.dtype, device="cuda")[1:].view_as(cuda(q))
    shifted.copy_(cuda(q))
    with pytest.raises(ValueError, match="16-byte"):
        pal.paged_attention_prefill(
            shifted, cuda(k), cuda(v), cuda(cache.k_cache), cuda(cache.v_cache),
            cuda(cache.page_table), cuda(cache.lens), layout="nhd",
        )  # fmt: skip


def test_runs_on_torchs_current_stream(rng):
    cache = paged_cache(rng, [3000, 100], 2, 128, 16, "bfloat16", "pal")
    queries = random_array(rng, (2, 8, 128), "bfloat16")
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
        out = pal.paged_attention_decode(*args)
        result = out.float().cpu()
    assert_close(result.numpy(), decode_reference(queries, cache), "bfloat16")


def test_torch_compile_fullgraph(rng):
    cache = paged_cache(rng, [200, 50], 2, 64, 16, "bfloat16", "hnd")
    args = [
        cuda(a)
        for a in (
            random_array(rng, (2, 8, 64), "bfloat16"),
            cache.k_cache,
            cache.v_cache,
            cache.page_table,
            cache.lens,
        )
    ]
    keys = cuda(random_array(rng, (2, 2, 64), "bfloat16"))
    slots = cuda(np.array([7, 9], np.int32))

    def step(queries, k_cache, v_cache, page_table, seq_lens):
        pal.fill_kv_pages(keys, keys, k_cache, v_cache, slot_mapping=slots, layout="hnd")
        return (
            pal.paged_attention_decode(queries * 2, k_cache, v_cache, page_table, seq_lens, layout="hnd") + 1
        )

    expected = step(*args)
    compiled = torch.compile(step, fullgraph=True)
    assert torch.equal(compiled(*args), expected)


def test_torch_compile_prefill(rng):
    cache = paged_cache(rng, [40, 0], 2, 64, 16, "bfloat16", "nhd")
    q, k, v, cu = random_prompts(rng, [7, 9], 8, 2, 64, "bfloat16")
    args = [cuda(a) for a in (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)]

    def step(q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens):
        return (
            pal.paged_attention_prefill(
                q, k, v, k_cache, v_cache, page_table, context_lens, cu_seqlens, layout="nhd"
            ).float()
            * 2
        )

    compiled = torch.compile(step, fullgraph=True)
    result = compiled(*args)
    assert torch.equal(result, step(*args))
    assert_close(from_torch(result) / 2, prefill_reference(q, k, v, cache, cu), "bfloat16")


def test_cuda_graph_capture_and_replay(rng):
    cache = paged_cache(rng, [5000, 64], 8, 128, 16, "bfloat16", "pal")
    static = [
        cuda(a)
        for a in (
            random_array(rng, (2, 32, 128), "bfloat16"),
            cache.k_cache,
            cache.v_cache,
            cache.page_table,
            cache.lens,
        )
    ]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        pal.paged_attention_decode(*static)  # warm-up: compiles the kernels outside the capture
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = pal.paged_attention_decode(*static)
    fresh = random_array(rng, (2, 32, 128), "bfloat16")
    static[0].copy_(cuda(fresh))
    graph.replay()
    torch.cuda.synchronize()
    assert_close(from_torch(out), decode_reference(fresh, cache), "bfloat16")


def test_prefill_on_two_streams_at_once_and_in_graphs(rng):
    """The persistent Hopper prefill hands its items out through a counter: one per stream and
    one per captured launch, so launches overlapping on two streams, and two graphs replayed on
    two streams at once, each still compute every item (bit for bit the first call's output)."""
    cache = paged_cache(rng, [512, 300, 0], 8, 128, 16, "bfloat16", "nhd")
    q, k, v, cu = random_prompts(rng, [1024, 700, 33], 32, 8, 128, "bfloat16")
    args = [cuda(a) for a in (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)]
    expected = pal.paged_attention_prefill(*args, layout="nhd")
    streams = [torch.cuda.Stream() for _ in range(2)]
    outs = []
    for stream in streams:
        stream.wait_stream(torch.cuda.current_stream())
    for _ in range(3):  # queued back to back on both streams: their launches overlap
        for stream in streams:
            with torch.cuda.stream(stream):
                outs.append(pal.paged_attention_prefill(*args, layout="nhd"))
    for stream in streams:
        torch.cuda.current_stream().wait_stream(stream)
    graphs = [torch.cuda.CUDAGraph() for _ in range(2)]
    for graph in graphs:
        with torch.cuda.graph(graph):
            outs.append(pal.paged_attention_prefill(*args, layout="nhd"))
    for _ in range(2):
        for graph, stream in zip(graphs, streams):
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                graph.replay()
    torch.cuda.synchronize()
    for out in outs:
        assert torch.equal(out, expected)
    assert_close(from_torch(expected), prefill_reference(q, k, v, cache, cu), "bfloat16")


def split_call_inputs(rng):
    """GPU inputs of a decode and of a prefill that split (short prompts over long histories)."""
    cache = paged_cache(rng, [16384, 9000], 8, 128, 16, "bfloat16", "nhd")
    queries = random_array(rng, (2, 32, 128), "bfloat16")
    q, k, v, cu = random_prompts(rng, [64, 16], 32, 8, 128, "bfloat16")
    decode = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    prefill = [cuda(a) for a in (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)]
    return decode, prefill


def test_split_calls_on_two_streams_at_once(rng):
    """Decodes and prefills that split keep their partial states in their stream's workspace:
    calls queued back to back on two streams, each stream with inputs of its own, give what each
    gives alone, bit for bit (one workspace per GPU mixed the two streams' partial states)."""
    calls = []
    for _ in range(2):
        decode, prefill = split_call_inputs(rng)
        calls.append(lambda d=decode: pal.paged_attention_decode(*d, layout="nhd"))
        calls.append(lambda p=prefill: pal.paged_attention_prefill(*p, layout="nhd"))
    expected = []
    for call in calls:
        expected.append(call())
        torch.cuda.synchronize()
    streams = [torch.cuda.Stream() for _ in range(2)]
    for stream in streams:
        stream.wait_stream(torch.cuda.current_stream())
    outs = []
    for _ in range(8):  # queued back to back on both streams: their launches overlap
        for s, stream in enumerate(streams):
            with torch.cuda.stream(stream):
                outs += [(i, calls[i]()) for i in (2 * s, 2 * s + 1)]
    for stream in streams:
        torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    for i, out in outs:
        assert torch.equal(out, expected[i]), f"call {i}"


def test_split_calls_in_two_graphs_replayed_at_once(rng):
    """A captured call that splits takes scratch memory of its graph's own (a memory node): two
    graphs, each a decode and a prefill that split over inputs of its own, replayed on two
    streams at once, give what each call gives alone, bit for bit (captured calls once shared
    one buffer, and such graphs mixed their partial states)."""
    graphs, outs, expected, inputs = [], [], [], []
    for _ in range(2):
        decode, prefill = split_call_inputs(rng)
        inputs.append((decode, prefill))  # a graph's inputs live as long as it replays
        expected.append(pal.paged_attention_decode(*decode, layout="nhd"))
        expected.append(pal.paged_attention_prefill(*prefill, layout="nhd"))
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outs.append(pal.paged_attention_decode(*decode, layout="nhd"))
            outs.append(pal.paged_attention_prefill(*prefill, layout="nhd"))
        graphs.append(graph)
    streams = [torch.cuda.Stream() for _ in range(2)]
    for stream in streams:
        stream.wait_stream(torch.cuda.current_stream())
    for _ in range(8):  # queued back to back on both streams: their replays overlap
        for graph, stream in zip(graphs, streams):
            with torch.cuda.stream(stream):
                graph.replay()
    for stream in streams:
        torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    for i, (out, want) in enumerate(zip(outs, expected)):
        assert torch.equal(out, want), f"call {i}"


POLICY_SCRIPT = """
import sys, numpy as np, torch
import proxy_attention_lab as pal
from proxy_attention_lab.testing import paged_cache, random_array, to_torch
rng = np.random.default_rng(7)
cases = (("pal", "bfloat16", 16), ("nhd", "float16", 8), ("hnd", "bfloat16", 1), ("pal", "float16", 32))
for layout, dtype, page_size in cases:
    cache = paged_cache(rng, [3000, 17, 1025, 4096], 2, 128, page_size, dtype, layout)
    queries = random_array(rng, (4, 8, 128), dtype)
    pools = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    out = pal.paged_attention_decode(*[to_torch(a, "cuda") for a in (queries, *pools)], layout=layout)
    sys.stdout.write(out.view(torch.int16).cpu().numpy().tobytes().hex())
"""


def test_decode_l2_policies_give_the_same_bits():
    # Calls that read at most 4x the L2 copy K / V evict-first, larger ones with the default
    # policy (`evict_first` in cuda/decode.rs); PAL_DECODE_TUNING's limit (MiB) forces either
    # on the same small inputs, each in its own process (the knob is read once). Hopper's pal
    # pages of 32 copy V by tensor copies under either policy (other kernel keys).
    outputs = []
    for limit in ("0", "100000"):
        env = dict(os.environ, PAL_DECODE_TUNING=f"evict={limit}")
        run = [sys.executable, "-c", POLICY_SCRIPT]
        outputs.append(subprocess.run(run, env=env, check=True, capture_output=True, text=True).stdout)
    assert outputs[0] and outputs[0] == outputs[1]


CLUSTER_SCRIPT = """
import sys, numpy as np, torch
import proxy_attention_lab as pal
from proxy_attention_lab.testing import paged_cache, random_array, to_torch
rng = np.random.default_rng(11)
cases = (
    ("nhd", "bfloat16", 16, [3000], 8, 32, 128, {}),
    ("pal", "bfloat16", 16, [1500, 0], 2, 16, 256, {"sinks": True}),
    ("hnd", "float16", 8, [2000], 1, 32, 128, {"window_left": 700}),
    ("pal", "float16", 4, [901, 77], 4, 16, 64, {"sinks": True, "window_left": 300}),
)
for layout, dtype, page_size, lens, hkv, hq, dim, options in cases:
    cache = paged_cache(rng, lens, hkv, dim, page_size, dtype, layout)
    queries = random_array(rng, (len(lens), hq, dim), dtype)
    if options.pop("sinks", False):
        options["sinks"] = torch.tensor(rng.standard_normal(hq), dtype=torch.float32, device="cuda")
    pools = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    args = [to_torch(a, "cuda") for a in (queries, *pools)]
    out = pal.paged_attention_decode(*args, layout=layout, **options)
    sys.stdout.write(out.view(torch.int16).cpu().numpy().tobytes().hex() + " ")
"""


def test_decode_cluster_merge_gives_the_merge_kernels_bits():
    # Grids of at most a CTA per SM merge their splits inside a cluster from Hopper on
    # (`merge_in_cluster`), others (and `PAL_DECODE_TUNING=cluster=0`) with the merge kernel:
    # the same operations in the same order, so the same bits. One sequence or two (a grid under
    # the SM count), split 6 to 16 ways: GQA, MQA (two CTAs a KV head), head dims 256 (two column
    # blocks per row) and 64, a sink, a window, an empty sequence; each knob in its own process.
    outputs = []
    for tuning in ("cluster=0", "cluster=16"):
        env = dict(os.environ, PAL_DECODE_TUNING=tuning)
        run = [sys.executable, "-c", CLUSTER_SCRIPT]
        outputs.append(subprocess.run(run, env=env, check=True, capture_output=True, text=True).stdout)
    assert outputs[0] and outputs[0] == outputs[1]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "kv_dtype, heads, head_dim, page_size",
    [
        ("bfloat16", (32, 1), 128, 16),
        ("float16", (64, 2), 64, 16),
        ("float8_e4m3fn", (32, 1), 128, 16),
        ("bfloat16", (32, 1), 256, 16),
        ("bfloat16", (24, 1), 128, 16),
        ("float16", (96, 1), 128, 16),
        ("bfloat16", (32, 1), 128, 64),
        ("float8_e4m3fn", (32, 1), 128, 128),
    ],
)
@pytest.mark.parametrize("num_seqs", [3, 60])
def test_decode_groups_over_16_on_small_and_full_grids(
    rng, layout, kv_dtype, heads, head_dim, page_size, num_seqs
):
    """Groups of over 16 query heads a KV head (MQA): the tensor-core decode serves 32 in one CTA of
    two m-tiles on fuller grids (60 sequences: more (sequence, KV head) pairs than an eighth of
    the SMs of any GPU it runs on), and in two CTAs of one m-tile on small grids (3 sequences,
    split KV), head dim 256 always in one; groups of 24 and 96 end in a partial CTA; pal pages of
    64 and 128 (Hopper: tensor copies of V). Lengths up to a split's worth and an empty one."""
    num_q_heads, num_kv_heads = heads
    lens = [int(n) for n in rng.integers(1, 400, size=num_seqs - 2)] + [2100, 0]
    cache = paged_cache(rng, lens, num_kv_heads, head_dim, page_size, kv_dtype, layout)
    query_dtype = "bfloat16" if kv_dtype.startswith("float8") else kv_dtype
    queries = random_array(rng, (num_seqs, num_q_heads, head_dim), query_dtype)
    args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    gpu = from_torch(pal.paged_attention_decode(*args, layout=layout))
    assert_close(gpu, decode_reference(queries, cache), query_dtype, f"{num_seqs} x {heads} D{head_dim}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "kv_dtype, heads, head_dim, page_size, variant",
    [
        ("float8_e4m3fn", (32, 8), 128, 16, {}),
        ("float8_e5m2", (16, 4), 64, 1, {}),
        ("float8_e4m3fn", (8, 8), 96, 4, {"logits_soft_cap": 30.0}),
        ("float8_e4m3fn", (64, 8), 112, 32, {"window_left": 100}),
        ("float8_e4m3fn", (32, 8), 128, 128, {}),
    ],
)
def test_decode_fp8_on_six_warp_grids(rng, layout, kv_dtype, heads, head_dim, page_size, variant):
    """fp8 pools over (sequence, KV head) pairs past one wave of four-warp CTAs (three an SM)
    and within two waves of six-warp ones (3.5 pairs an SM) run CTAs of six warps on Hopper
    (`six_warp_grid`; its pal pages of 128 keep four, a tensor copy's step): a warp's tiles
    then step by six, and the end merge folds six warps' states. Ragged lengths, an empty
    sequence, a variant."""
    multiprocessors = torch.cuda.get_device_properties(0).multi_processor_count
    num_q_heads, num_kv_heads = heads
    num_seqs = 7 * multiprocessors // 2 // num_kv_heads
    lens = [int(n) for n in rng.integers(1, 600, size=num_seqs - 2)] + [1500, 0]
    cache = paged_cache(rng, lens, num_kv_heads, head_dim, page_size, kv_dtype, layout)
    queries = random_array(rng, (num_seqs, num_q_heads, head_dim), "bfloat16")
    args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    gpu = from_torch(pal.paged_attention_decode(*args, layout=layout, **variant))
    expected = decode_reference(queries, cache, **variant)
    assert_close(gpu, expected, "bfloat16", f"{num_seqs} x {heads} D{head_dim} p{page_size} {variant}")


@pytest.mark.parametrize(
    ("layout", "page_size"), [("nhd", 1), ("nhd", 4), ("nhd", 16), ("pal", 1), ("hnd", 1)]
)
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("head_dim", [64, 80, 96, 112])
def test_decode_several_kv_heads_a_cta(rng, layout, page_size, dtype, head_dim):
    """16-bit `nhd` rows at head dims 80 / 96 / 112, and at 64 past two (sequence, KV head) pairs
    an SM (`pal` and `hnd` pools of one slot a page are `nhd` rows too) run CTAs over two KV heads
    (`decode::kv_heads`): a warp's tiles hold both heads' dims of each key, each head's query rows
    meet only its own dims (block-diagonal S and P V). Groups of 1, 2, 4 and 8 (8: both groups
    fill the m-tile); an odd number of KV heads (one head a CTA); lengths ending in every part of
    a tile, one long enough to split, an empty one; NaN past the ends; every variant option
    (per-head ALiBi slopes and sinks tell the heads apart); sharp softmax."""
    multiprocessors = torch.cuda.get_device_properties(0).multi_processor_count
    for hq, hkv in [(8, 8), (8, 4), (16, 4), (32, 8), (16, 2), (6, 3)]:
        lens = [1, 2, 7, 15, 16, 17, 31, 33, 100, 1900]
        if head_dim == 64:  # short sequences past two pairs an SM
            lens += [int(n) for n in rng.integers(1, 80, size=2 * multiprocessors // hkv - len(lens))]
        lens.append(0)  # the last one empty
        cache = paged_cache(rng, lens, hkv, head_dim, page_size, dtype, "nhd")
        cache = with_nan_past_the_end(cache, layout)
        queries = random_array(rng, (len(lens), hq, head_dim), dtype)
        args = [cuda(a) for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
        slopes = (2.0 ** -np.arange(1, hq + 1) / 4).astype(np.float32)
        sinks = np.linspace(-1.0, 3.0, hq, dtype=np.float32)
        combined = {"logits_soft_cap": 20.0, "alibi_slopes": slopes, "sinks": sinks}
        for q_scale, variant in [(1, {}), (4, {**combined, "window_left": 300}), (1, {"window_left": 20})]:
            q = cuda((queries.astype(np.float32) * q_scale).astype(queries.dtype))
            on_gpu = {k: cuda(x) if isinstance(x, np.ndarray) else x for k, x in variant.items()}
            gpu = from_torch(pal.paged_attention_decode(q, *args[1:], layout=layout, **on_gpu))
            scaled = (queries.astype(np.float32) * q_scale).astype(queries.dtype)
            expected = decode_reference(scaled, cache, **variant)
            what = f"{hq}/{hkv} d{head_dim} p{page_size} q x{q_scale} {sorted(variant)}"
            assert_close(gpu, expected, dtype, what)
            assert not gpu[-1].any(), what
