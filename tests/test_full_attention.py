"""Full attention: decode and prefill against the float64 oracle over every layout, dtype,
head grouping (MHA / GQA / MQA), page size and head dim, ragged batches and long contexts."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import (
    DTYPES,
    LAYOUTS,
    assert_close,
    decode_reference,
    paged_cache,
    prefill_reference,
    random_array,
    random_prompts,
)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("num_q_heads, num_kv_heads", [(4, 4), (8, 2), (8, 1)])
# Every head dim and page size a CUDA kernel serves meets the oracle on the CPU too (the CUDA
# tests compare against the CPU backend).
@pytest.mark.parametrize(
    "head_dim, page_size",
    [(64, 16), (128, 8), (256, 32), (80, 3), (112, 1), (192, 64), (96, 128), (64, 2)],
)
def test_decode(rng, layout, dtype, num_q_heads, num_kv_heads, head_dim, page_size):
    lens = [int(n) for n in rng.integers(0, 700, size=3)] + [1]
    cache = paged_cache(rng, lens, num_kv_heads, head_dim, page_size, dtype, layout)
    queries = random_array(rng, (len(lens), num_q_heads, head_dim), dtype)
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout=layout
    )
    assert_close(out, decode_reference(queries, cache), dtype)


@pytest.mark.parametrize("context", [4096, 16384])
def test_decode_long_context(rng, context):
    cache = paged_cache(rng, [context, 3], 2, 128, 16, "bfloat16", "pal")
    queries = random_array(rng, (2, 8, 128), "bfloat16")
    out = pal.paged_attention_decode(queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    assert_close(out, decode_reference(queries, cache), "bfloat16")


def test_decode_custom_scale_and_out(rng):
    cache = paged_cache(rng, [40, 9], 2, 64, 16, "float32", "hnd")
    queries = random_array(rng, (2, 4, 64), "float32")
    out = np.full((2, 4, 64), np.nan, np.float32)
    result = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, scale=0.7, layout="hnd", out=out
    )
    assert result is out
    assert_close(out, decode_reference(queries, cache, scale=0.7), "float32")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize(
    "num_q_heads, num_kv_heads, head_dim, page_size",
    [(4, 2, 64, 16), (4, 1, 128, 8), (2, 2, 256, 32), (2, 1, 112, 32), (4, 2, 192, 8)],
)
def test_prefill_ragged_with_history(rng, layout, dtype, num_q_heads, num_kv_heads, head_dim, page_size):
    history = [0, 1, page_size, 37]
    prompts = [17, 1, 0, 33]
    cache = paged_cache(rng, history, num_kv_heads, head_dim, page_size, dtype, layout)
    q, k, v, cu = random_prompts(rng, prompts, num_q_heads, num_kv_heads, head_dim, dtype)
    out = pal.paged_attention_prefill(
        q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu, layout=layout
    )
    assert_close(out, prefill_reference(q, k, v, cache, cu), dtype)


@pytest.mark.parametrize("prompt_len", [1, 15, 16, 17, 300])
def test_prefill_equal_lengths_without_cu_seqlens(rng, prompt_len):
    cache = paged_cache(rng, [0, 50], 2, 64, 16, "float16", "pal")
    q, k, v, cu = random_prompts(rng, [prompt_len, prompt_len], 4, 2, 64, "float16")
    out = pal.paged_attention_prefill(q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
    assert_close(out, prefill_reference(q, k, v, cache, cu), "float16")


def test_prefill_long_prompt(rng):
    cache = paged_cache(rng, [100], 1, 64, 16, "bfloat16", "nhd")
    q, k, v, cu = random_prompts(rng, [1500], 2, 1, 64, "bfloat16")
    out = pal.paged_attention_prefill(
        q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout="nhd"
    )
    assert_close(out, prefill_reference(q, k, v, cache, cu), "bfloat16")
