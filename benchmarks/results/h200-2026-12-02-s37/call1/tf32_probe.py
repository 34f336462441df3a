"""Session 37: correctness of a TF32 decode variant (PAL_KERNEL_DIR, PAL_DECODE_TUNING) on the
large-group test's cases at one head dim: worst |err| / tolerance per case (<= 1 passes)."""
import sys

import numpy as np
import proxy_attention_lab as pal
import torch
from proxy_attention_lab.testing import decode_reference, from_torch, paged_cache, random_array, to_torch, with_nan_past_the_end

dim = int(sys.argv[1])
rng = np.random.default_rng(7)
lens = [1, 2, 7, 15, 16, 17, 31, 33, 100, 3000, 0]
worst_all = 0.0
for page in (1, 16, 64):
    for hq, hkv in [(32, 1), (64, 1)]:
        cache = paged_cache(rng, lens, hkv, dim, page, "float32", "nhd")
        queries = random_array(rng, (len(lens), hq, dim), "float32")
        slopes = (2.0 ** -np.arange(1, hq + 1) / 4).astype(np.float32)
        sinks = np.linspace(-1.0, 3.0, hq, dtype=np.float32)
        combined = {"logits_soft_cap": 20.0, "alibi_slopes": slopes, "sinks": sinks}
        for layout in ("nhd", "pal", "hnd"):
            c = with_nan_past_the_end(cache, layout)
            args = [to_torch(a, "cuda") for a in (c.k_cache, c.v_cache, c.page_table, c.lens)]
            for q_scale, variant in [(1, {}), (1, {"window_left": 37}), (8, {}), (4, {**combined, "window_left": 1000})]:
                q = to_torch(queries * q_scale, "cuda")
                on_gpu = {k: to_torch(x, "cuda") if isinstance(x, np.ndarray) else x for k, x in variant.items()}
                gpu = from_torch(pal.paged_attention_decode(q, *args, layout=layout, **on_gpu)).astype(np.float64)
                ref = decode_reference(queries * q_scale, cache, **variant)
                err = np.abs(gpu - ref) / (2e-5 * (1 + np.abs(ref)))
                worst = float(np.nanmax(err)) if not np.isnan(gpu).any() else float("inf")
                worst_all = max(worst_all, worst)
                tail = "" if not gpu[-1].any() else " EMPTY ROW NOT ZERO"
                print(f"d{dim} page {page} {hq}/{hkv} {layout} q x{q_scale} {sorted(variant)}: {worst:.3f}{tail}")
print(f"d{dim} worst {worst_all:.3f} -> {'PASS' if worst_all <= 1 else 'FAIL'}")
