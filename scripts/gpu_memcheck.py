"""Runs decode, prefill and fill on CUDA with deliberately bad page tables, lengths and slots, unchecked
(``check=False``), so that the kernels' own guards are all that stands between them and memory
outside the buffers. Run under ``compute-sanitizer --tool memcheck``: it must report 0 errors."""

import numpy as np
import proxy_attention_lab as pal
import torch
from proxy_attention_lab.testing import DTYPES, LAYOUTS, paged_cache, random_array, to_torch


def cuda(array):
    return to_torch(array, "cuda")


def main() -> None:
    rng = np.random.default_rng(0)
    for layout in LAYOUTS:
        for dtype in DTYPES:
            cache = paged_cache(rng, [70, 5, 0], 2, 128, 16, dtype, layout, spare_pages=0)
            queries = cuda(random_array(rng, (3, 8, 128), dtype))
            k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
            good_lens = cuda(cache.lens)
            pal.paged_attention_decode(queries, k, v, table, good_lens, layout=layout)
            bad_table = table.clone()
            bad_table[0, 0], bad_table[0, 1], bad_table[1, 0] = 1 << 30, -7, k.shape[0]
            bad_lens = cuda(np.array([10**6, -5, 3], np.int32))  # beyond capacity, negative
            for t, lens in ((bad_table, good_lens), (table, bad_lens), (bad_table, bad_lens)):
                out = pal.paged_attention_decode(queries, k, v, t, lens, layout=layout, check=False)
                assert torch.isfinite(out.float()).all()
            keys = cuda(random_array(rng, (4, 2, 128), dtype))
            slots = cuda(np.array([-1, 1 << 30, k.shape[0] * 16, 3], np.int32))
            pal.fill_kv_pages(keys, keys, k, v, slot_mapping=slots, layout=layout, check=False)
            positions = cuda(np.array([0, 10**6, -1, 40], np.int32))
            seqs = cuda(np.array([0, 0, 1, 7], np.int32))
            pal.fill_kv_pages(keys, keys, k, v, bad_table, positions, seqs, layout=layout, check=False)
            prompt = cuda(random_array(rng, (6, 8, 128), dtype))
            new_kv = cuda(random_array(rng, (6, 2, 128), dtype))
            for t, lens in ((bad_table, good_lens), (table, bad_lens)):
                out = pal.paged_attention_prefill(
                    prompt, new_kv, new_kv, k, v, t, lens, layout=layout, check=False
                )
                assert torch.isfinite(out.float()).all()
    # Decode's copy paths by page size (shuffled page ids below 16 slots, 2-8 byte value runs in
    # pal, whole-page tiles above), with bad ids and lengths, split and unsplit, every head group.
    for page_size in (1, 2, 4, 8, 32, 128):
        for layout in LAYOUTS:
            for num_q_heads, num_kv_heads in ((2, 2), (8, 2), (32, 1)):
                cache = paged_cache(rng, [300, 37, 0], num_kv_heads, 64, page_size, "float16", layout)
                queries = cuda(random_array(rng, (3, num_q_heads, 64), "float16"))
                k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
                bad_table = table.clone()
                bad_table[0, 0], bad_table[0, 1], bad_table[1, 0] = 1 << 30, -7, k.shape[0]
                bad_lens = cuda(np.array([10**6, -5, 3], np.int32))
                for t, lens in ((bad_table, cuda(cache.lens)), (bad_table, bad_lens)):
                    out = pal.paged_attention_decode(queries, k, v, t, lens, layout=layout, check=False)
                    assert torch.isfinite(out.float()).all()
    # float32 pools with large groups on TF32 tensor cores (grids of 16384 keys and more over the
    # (sequence, KV head) pairs: `decode_tf32`), with bad ids and lengths, a window and every
    # option, split and unsplit.
    for page_size in (1, 2, 16, 64):
        for layout in LAYOUTS:
            for num_q_heads, num_kv_heads, head_dim in ((32, 1, 128), (32, 2, 64)):
                lengths = [6000, 300, 37, 0]
                cache = paged_cache(rng, lengths, num_kv_heads, head_dim, page_size, "float32", layout)
                queries = cuda(random_array(rng, (4, num_q_heads, head_dim), "float32"))
                k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
                bad_table = table.clone()
                bad_table[0, 0], bad_table[0, -1], bad_table[1, 0] = 1 << 30, -7, k.shape[0]
                bad_lens = cuda(np.array([10**6, -5, 3, 40], np.int32))
                heads = torch.linspace(-1, 1, num_q_heads, device="cuda")
                full = {"window_left": 130, "logits_soft_cap": 20.0, "alibi_slopes": heads, "sinks": heads}
                for variant in ({}, full):
                    good_lens = cuda(cache.lens)
                    for t, lens in ((table, good_lens), (bad_table, good_lens), (bad_table, bad_lens)):
                        out = pal.paged_attention_decode(
                            queries, k, v, t, lens, layout=layout, check=False, **variant
                        )
                        assert torch.isfinite(out.float()).all()
    # The same on full grids (131072 keys and more over the pairs), which Hopper serves with TF32
    # wgmma (`decode_tf32_wgmma`, 64-key tiles): MQA at head dim 128, 64 heads a KV head at 64.
    for page_size, num_q_heads, head_dim in (
        (1, 32, 128),
        (2, 32, 128),
        (16, 32, 128),
        (64, 32, 128),
        (16, 64, 64),
    ):
        for layout in LAYOUTS:
            lengths = [4700, 300, 37, 0] + [65] * 29
            cache = paged_cache(rng, lengths, 1, head_dim, page_size, "float32", layout)
            queries = cuda(random_array(rng, (len(lengths), num_q_heads, head_dim), "float32"))
            k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
            bad_table = table.clone()
            bad_table[0, 0], bad_table[0, -1], bad_table[1, 0] = 1 << 30, -7, k.shape[0]
            bad_lens = cuda(np.array([10**6, -5, 3, 40] + [65] * 29, np.int32))
            heads = torch.linspace(-1, 1, num_q_heads, device="cuda")
            # (a window of 4000 keys keeps the grid full)
            full = {"window_left": 4000, "logits_soft_cap": 20.0, "alibi_slopes": heads, "sinks": heads}
            for variant in ({}, full):
                for t, lens in ((bad_table, cuda(cache.lens)), (bad_table, bad_lens)):
                    out = pal.paged_attention_decode(
                        queries, k, v, t, lens, layout=layout, check=False, **variant
                    )
                    assert torch.isfinite(out.float()).all()
    # Attention variants (windows that start inside a page, a tile or a value run, every option
    # at once) with bad ids and lengths, decode at page sizes 1-128 and prefill.
    for page_size in (1, 4, 16, 128):
        for layout in LAYOUTS:
            for dtype in ("float32", "bfloat16"):
                cache = paged_cache(rng, [300, 37, 0], 2, 64, page_size, dtype, layout)
                queries = cuda(random_array(rng, (3, 8, 64), dtype))
                k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
                bad_table = table.clone()
                bad_table[0, -1], bad_table[1, 0] = 1 << 30, -7
                bad_lens = cuda(np.array([10**6, -5, 3], np.int32))
                heads = torch.linspace(-1, 1, 8, device="cuda")
                for variant in (
                    {"window_left": 5},
                    {"window_left": 130, "logits_soft_cap": 20.0, "alibi_slopes": heads, "sinks": heads},
                ):
                    for t, lens in ((table, cuda(cache.lens)), (bad_table, bad_lens)):
                        out = pal.paged_attention_decode(
                            queries, k, v, t, lens, layout=layout, check=False, **variant
                        )
                        assert torch.isfinite(out.float()).all()
                    if page_size == 16:
                        prompt = cuda(random_array(rng, (6, 8, 64), dtype))
                        new_kv = cuda(random_array(rng, (6, 2, 64), dtype))
                        out = pal.paged_attention_prefill(
                            prompt,
                            new_kv,
                            new_kv,
                            k,
                            v,
                            bad_table,
                            bad_lens,
                            layout=layout,
                            check=False,
                            **variant,
                        )
                        assert torch.isfinite(out.float()).all()
    # fp8 pools (tensor-core decode with 1-8 byte pal value runs, CUDA-core kernels with pal
    # values read one by one under 16 slots, quantising fill) with per-head device scales, bad
    # ids, lengths and slots, every layout, small pages, and prefill (every page size).
    for layout in LAYOUTS:
        for fp8, model, page_size in (
            ("float8_e4m3fn", "bfloat16", 1),
            ("float8_e5m2", "bfloat16", 2),
            ("float8_e4m3fn", "float16", 4),
            ("float8_e5m2", "float32", 8),
            ("float8_e4m3fn", "float32", 1),
        ):
            cache = paged_cache(rng, [300, 37, 0], 2, 64, page_size, fp8, layout)
            queries = cuda(random_array(rng, (3, 8, 64), model))
            k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
            scales = {"k_scale": cuda(np.array([0.5, 2.0], np.float32)), "v_scale": 0.25}
            bad_table = table.clone()
            bad_table[0, -1], bad_table[1, 0] = 1 << 30, -7
            bad_lens = cuda(np.array([10**6, -5, 3], np.int32))
            for t, lens in ((table, cuda(cache.lens)), (bad_table, bad_lens)):
                out = pal.paged_attention_decode(queries, k, v, t, lens, layout=layout, check=False, **scales)
                assert torch.isfinite(out.float()).all()
                prompt = cuda(random_array(rng, (6, 8, 64), model))
                new_kv = cuda(random_array(rng, (6, 2, 64), model))
                out = pal.paged_attention_prefill(
                    prompt, new_kv, new_kv, k, v, t, lens, layout=layout, check=False, **scales
                )
                assert torch.isfinite(out.float()).all()
            keys = cuda(random_array(rng, (4, 2, 64), model))
            slots = cuda(np.array([-1, 1 << 30, k.shape[0] * page_size, 3], np.int32))
            pal.fill_kv_pages(keys, keys, k, v, slot_mapping=slots, layout=layout, check=False, **scales)
    # fp8 decode off the 64-dim grid (head dims 112 / 80: 4-byte K words, copies not dividing
    # among the lanes) with bad ids and lengths.
    for head_dim, page_size, layout in ((112, 2, "pal"), (80, 16, "nhd")):
        cache = paged_cache(rng, [300, 37, 0], 2, head_dim, page_size, "float8_e4m3fn", layout)
        queries = cuda(random_array(rng, (3, 8, head_dim), "bfloat16"))
        k, v, table = cuda(cache.k_cache), cuda(cache.v_cache), cuda(cache.page_table)
        bad_table = table.clone()
        bad_table[0, -1], bad_table[1, 0] = 1 << 30, -7
        bad_lens = cuda(np.array([10**6, -5, 3], np.int32))
        for t, lens in ((table, cuda(cache.lens)), (bad_table, bad_lens)):
            out = pal.paged_attention_decode(queries, k, v, t, lens, layout=layout, check=False, k_scale=0.5)
            assert torch.isfinite(out.float()).all()
    # Deferred checks (the default): the kernels record the bad entry in mapped host memory and
    # the next call raises it.
    cache = paged_cache(rng, [70, 5], 2, 128, 16, "bfloat16", "nhd")
    queries = cuda(random_array(rng, (2, 8, 128), "bfloat16"))
    k, v, table, lens = (cuda(a) for a in (cache.k_cache, cache.v_cache, cache.page_table, cache.lens))
    bad_table = table.clone()
    bad_table[0, 1] = -7
    keys = cuda(random_array(rng, (2, 2, 128), "bfloat16"))
    bad_calls = [
        lambda: pal.paged_attention_decode(queries, k, v, bad_table, lens, layout="nhd"),
        lambda: pal.paged_attention_prefill(
            cuda(random_array(rng, (2, 8, 128), "bfloat16")), keys, keys, k, v, bad_table, lens, layout="nhd"
        ),
        lambda: pal.fill_kv_pages(
            keys, keys, k, v, slot_mapping=cuda(np.array([1 << 30, 3], np.int32)), layout="nhd"
        ),
    ]
    for bad_call in bad_calls:
        bad_call()
        torch.cuda.synchronize()
        try:
            pal.paged_attention_decode(queries, k, v, table, lens, layout="nhd")
        except pal.PalValueError:
            pass
        else:
            raise AssertionError("the next call did not report the bad entry")
    # Long context through the split-KV path and its merge kernel.
    cache = paged_cache(rng, [20000], 8, 128, 16, "bfloat16", "pal")
    args = [
        cuda(a)
        for a in (
            random_array(rng, (1, 32, 128), "bfloat16"),
            cache.k_cache,
            cache.v_cache,
            cache.page_table,
            cache.lens,
        )
    ]
    pal.paged_attention_decode(*args, check=False)
    torch.cuda.synchronize()
    print("memcheck workload done")


if __name__ == "__main__":
    main()
