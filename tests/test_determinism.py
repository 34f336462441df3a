"""Determinism: outputs are bitwise identical across calls and across thread counts."""

import os
import subprocess
import sys

import proxy_attention_lab as pal
from proxy_attention_lab.testing import paged_cache, random_array


def test_repeated_calls_are_bitwise_identical(rng):
    cache = paged_cache(rng, [3000, 17, 1025], 2, 128, 16, "bfloat16", "pal")
    queries = random_array(rng, (3, 8, 128), "bfloat16")
    runs = [
        pal.paged_attention_decode(queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
        for _ in range(4)
    ]
    for run in runs[1:]:
        assert run.tobytes() == runs[0].tobytes()


SCRIPT = """
import sys, numpy as np
from proxy_attention_lab.testing import paged_cache, random_array
import proxy_attention_lab as pal
rng = np.random.default_rng(5)
cache = paged_cache(rng, [4000, 900], 2, 64, 16, "float32", "nhd")
queries = random_array(rng, (2, 8, 64), "float32")
q = random_array(rng, (200, 8, 64), "float32"); k = random_array(rng, (200, 2, 64), "float32")
pools = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
decode = pal.paged_attention_decode(queries, *pools, layout="nhd")
prefill = pal.paged_attention_prefill(q, k, k, *pools, layout="nhd")
sys.stdout.write(decode.tobytes().hex() + prefill.tobytes().hex())
# bfloat16 pal pages, 4 KV heads: work items of 4, 2 or 1 KV heads by thread count.
cache = paged_cache(rng, [4000, 900], 4, 128, 16, "bfloat16", "pal")
queries = random_array(rng, (2, 16, 128), "bfloat16")
decode = pal.paged_attention_decode(queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
sys.stdout.write(decode.tobytes().hex())
"""


def test_thread_count_does_not_change_results():
    outputs = []
    for threads in ("1", "2", "3", "8"):
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        outputs.append(
            subprocess.run(
                [sys.executable, "-c", SCRIPT], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
    assert outputs[0] and all(o == outputs[0] for o in outputs)
