"""Equivalence with an oracle nobody here wrote: MLX's CPU scaled_dot_product_attention over
the same keys and values laid out densely (GQA handled by MLX itself)."""

import numpy as np
import proxy_attention_lab as pal
import pytest
from conftest import HAS_MLX
from proxy_attention_lab.testing import LAYOUTS, assert_close, paged_cache, random_array, random_prompts

pytestmark = pytest.mark.skipif(not HAS_MLX, reason="mlx is not installed (scripts/setup.sh installs it)")


def mlx_sdpa(queries, keys, values, scale, mask=None) -> np.ndarray:
    """queries ``[n, HQ, D]``, keys/values ``[L, HKV, D]`` -> ``[n, HQ, D]`` via MLX in float32."""
    import mlx.core as mx

    def to_mx(a):
        return mx.array(np.asarray(a, np.float32).transpose(1, 0, 2)[None])

    out = mx.fast.scaled_dot_product_attention(
        to_mx(queries), to_mx(keys), to_mx(values), scale=scale, mask=None if mask is None else mx.array(mask)
    )
    return np.array(out[0]).transpose(1, 0, 2)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("num_q_heads, num_kv_heads, head_dim", [(32, 8, 128), (8, 1, 64), (4, 4, 256)])
def test_decode_matches_mlx(rng, layout, dtype, num_q_heads, num_kv_heads, head_dim):
    lens = [1, 200, 1500]
    cache = paged_cache(rng, lens, num_kv_heads, head_dim, 16, dtype, layout)
    queries = random_array(rng, (len(lens), num_q_heads, head_dim), dtype)
    out = pal.paged_attention_decode(
        queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, layout=layout
    )
    scale = 1 / np.sqrt(head_dim)
    for b in range(len(lens)):
        expected = mlx_sdpa(queries[b : b + 1], cache.keys[b], cache.values[b], scale)
        assert_close(out[b : b + 1], expected, dtype, f"sequence {b}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_prefill_matches_causal_mlx(rng, layout, dtype):
    """Prefill = causal SDPA over history + prompt, keeping the prompt rows."""
    history, prompts = [0, 40, 300], [64, 1, 25]
    cache = paged_cache(rng, history, 2, 128, 16, dtype, layout)
    q, k, v, cu = random_prompts(rng, prompts, 8, 2, 128, dtype)
    out = pal.paged_attention_prefill(
        q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu, layout=layout
    )
    for b, (h, p) in enumerate(zip(history, prompts)):
        rows = slice(cu[b], cu[b + 1])
        keys = np.concatenate([cache.keys[b], k[rows]])
        values = np.concatenate([cache.values[b], v[rows]])
        mask = np.arange(h + p)[None, :] <= h + np.arange(p)[:, None]
        expected = mlx_sdpa(q[rows], keys, values, 1 / np.sqrt(128), mask)
        assert_close(out[rows], expected, dtype, f"sequence {b}")
