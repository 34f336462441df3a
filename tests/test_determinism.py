"""Determinism: outputs are bitwise identical across calls and across thread counts."""

import os
import subprocess
import sys

import proxy_attention_lab as pal
from reference import paged_cache, random


def test_repeated_calls_are_bitwise_identical(rng):
    cache = paged_cache(rng, [3000, 17, 1025], 2, 128, 16, "bfloat16", "pal")
    queries = random(rng, (3, 8, 128), "bfloat16")
    runs = [
        pal.paged_attention_decode(queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
        for _ in range(4)
    ]
    for run in runs[1:]:
        assert run.tobytes() == runs[0].tobytes()


SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from reference import paged_cache, random
import proxy_attention_lab as pal
rng = np.random.default_rng(5)
cache = paged_cache(rng, [4000, 900], 2, 64, 16, "float32", "nhd")
queries = random(rng, (2, 8, 64), "float32")
q = random(rng, (200, 8, 64), "float32"); k = random(rng, (200, 2, 64), "float32")
pools = (cache.k_cache, cache.v_cache, cache.page_table, cache.lens)
decode = pal.paged_attention_decode(queries, *pools, layout="nhd")
prefill = pal.paged_attention_prefill(q, k, k, *pools, layout="nhd")
sys.stdout.write(decode.tobytes().hex() + prefill.tobytes().hex())
"""


def test_thread_count_does_not_change_results():
    outputs = []
    for threads in ("1", "2", "3"):
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        code = SCRIPT.format(tests=os.path.dirname(__file__))
        outputs.append(
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
    assert outputs[0] and all(o == outputs[0] for o in outputs)
