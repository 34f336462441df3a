"""fill_kv_pages: in place, across page boundaries, many tokens of one sequence, one token of
many sequences, slot mappings with skipped tokens, and fill-then-decode round trips."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import DTYPES, LAYOUTS, assert_close, attention, from_layout, random_array


def empty_pools(num_pages, heads, dim, page_size, dtype, layout, rng):
    """Pools of random noise, so writes to the wrong place show up."""
    k = random_array(rng, pal.get_k_cache_shape(num_pages, heads, dim, page_size, dtype, layout), dtype)
    v = random_array(rng, pal.get_v_cache_shape(num_pages, heads, dim, page_size, dtype, layout), dtype)
    return k, v


def expected_pools(k_cache, v_cache, layout, keys, values, targets):
    """The pools as ``[pages, page_size, HKV, D]`` after writing token t at ``targets[t]``."""
    k_nhd = from_layout(k_cache, layout, is_key=True).copy()
    v_nhd = from_layout(v_cache, layout, is_key=False).copy()
    for t, target in enumerate(targets):
        if target is not None:
            k_nhd[target] = keys[t]
            v_nhd[target] = values[t]
    return k_nhd, v_nhd


def check_fill(rng, layout, dtype, page_size, token_to_seq, positions, use_slots):
    heads, dim = 2, 64
    num_seqs = max(token_to_seq) + 1
    per_seq = max(positions) // page_size + 1
    num_pages = num_seqs * per_seq + 2
    page_table = rng.permutation(num_pages)[: num_seqs * per_seq].reshape(num_seqs, per_seq).astype(np.int32)
    k_cache, v_cache = empty_pools(num_pages, heads, dim, page_size, dtype, layout, rng)
    tokens = len(positions)
    keys, values = (
        random_array(rng, (tokens, heads, dim), dtype),
        random_array(rng, (tokens, heads, dim), dtype),
    )
    targets = [(page_table[s, p // page_size], p % page_size) for s, p in zip(token_to_seq, positions)]
    if use_slots:
        slots = np.array([p * page_size + s for p, s in targets], np.int32)
        slots[1::4] = -1  # padding tokens are skipped
        targets = [None if slot < 0 else target for slot, target in zip(slots, targets)]
    want_k, want_v = expected_pools(k_cache, v_cache, layout, keys, values, targets)
    k_address = k_cache.__array_interface__["data"][0]
    if use_slots:
        pal.fill_kv_pages(keys, values, k_cache, v_cache, slot_mapping=slots, layout=layout)
    else:
        pal.fill_kv_pages(
            keys, values, k_cache, v_cache, page_table,
            np.asarray(positions, np.int32), np.asarray(token_to_seq, np.int32), layout=layout,
        )  # fmt: skip
    assert k_cache.__array_interface__["data"][0] == k_address  # written in place
    np.testing.assert_array_equal(from_layout(k_cache, layout, is_key=True), want_k)
    np.testing.assert_array_equal(from_layout(v_cache, layout, is_key=False), want_v)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("use_slots", [False, True])
def test_many_tokens_of_one_sequence_across_page_boundaries(rng, layout, dtype, use_slots):
    positions = list(range(5, 75))
    check_fill(rng, layout, dtype, 16, [0] * len(positions), positions, use_slots)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("use_slots", [False, True])
def test_one_token_of_many_sequences(rng, layout, use_slots):
    seqs = list(range(12))
    positions = [int(p) for p in rng.integers(0, 40, size=12)]
    check_fill(rng, layout, "bfloat16", 8, seqs, positions, use_slots)


@pytest.mark.parametrize("page_size", [1, 3, 32])
def test_odd_page_sizes(rng, page_size):
    positions = list(range(0, 50))
    check_fill(rng, "pal", "float16", page_size, [0] * 25 + [1] * 25, positions[:25] * 2, False)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fill_then_decode_round_trip(rng, layout):
    """Prefill-style fill of three sequences, then decode: equals attention over the dense K/V."""
    lens, heads, dim, page_size = [70, 5, 33], 2, 128, 16
    per_seq = max(lens) // page_size + 1
    page_table = rng.permutation(3 * per_seq).reshape(3, per_seq).astype(np.int32)
    k_cache = np.zeros(
        pal.get_k_cache_shape(3 * per_seq, heads, dim, page_size, "bfloat16", layout), DTYPES["bfloat16"]
    )
    v_cache = np.zeros(
        pal.get_v_cache_shape(3 * per_seq, heads, dim, page_size, "bfloat16", layout), DTYPES["bfloat16"]
    )
    seqs = np.concatenate([np.full(n, b) for b, n in enumerate(lens)]).astype(np.int32)
    positions = np.concatenate([np.arange(n) for n in lens]).astype(np.int32)
    keys, values = (
        random_array(rng, (len(seqs), heads, dim), "bfloat16"),
        random_array(rng, (len(seqs), heads, dim), "bfloat16"),
    )
    pal.fill_kv_pages(keys, values, k_cache, v_cache, page_table, positions, seqs, layout=layout)
    queries = random_array(rng, (3, 8, dim), "bfloat16")
    out = pal.paged_attention_decode(
        queries, k_cache, v_cache, page_table, np.array(lens, np.int32), layout=layout
    )
    for b in range(3):
        rows = seqs == b
        expected = attention(
            queries[b : b + 1], keys[rows].astype(np.float64), values[rows].astype(np.float64), [lens[b]]
        )
        assert_close(out[b : b + 1], expected, "bfloat16")


def test_empty_fill_is_a_no_op(rng):
    k_cache, v_cache = empty_pools(2, 1, 16, 4, "float32", "pal", rng)
    before = k_cache.copy()
    empty = np.zeros((0, 1, 16), np.float32)
    pal.fill_kv_pages(empty, empty, k_cache, v_cache, slot_mapping=np.zeros(0, np.int32))
    np.testing.assert_array_equal(k_cache, before)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_repeated_slot_keeps_the_last_token(rng, layout, dtype):
    """Tokens that name one slot leave the last one's rows, however their pages interleave; 2048
    tokens of four KV heads (over 4 MiB, so the work spreads over the thread pool) in runs of
    consecutive slots, a third of them rewritten later, with skipped tokens between."""
    heads, dim, page_size, num_pages = 4, 128, 16, 96
    k_cache, v_cache = empty_pools(num_pages, heads, dim, page_size, dtype, layout, rng)
    runs = [rng.integers(0, num_pages * page_size - 8) + np.arange(8) for _ in range(256)]
    slots = np.concatenate(runs).astype(np.int32)
    repeat = rng.choice(len(slots), len(slots) // 3, replace=False)
    slots[rng.permutation(len(slots))[: len(repeat)]] = slots[repeat]
    slots[rng.choice(len(slots), 64, replace=False)] = -1
    tokens = len(slots)
    keys, values = (random_array(rng, (tokens, heads, dim), dtype) for _ in range(2))
    targets = [None if s < 0 else (s // page_size, s % page_size) for s in slots]
    want_k, want_v = expected_pools(k_cache, v_cache, layout, keys, values, targets)
    pal.fill_kv_pages(keys, values, k_cache, v_cache, slot_mapping=slots, layout=layout)
    np.testing.assert_array_equal(from_layout(k_cache, layout, is_key=True), want_k)
    np.testing.assert_array_equal(from_layout(v_cache, layout, is_key=False), want_v)
