"""Which part of a captured split call breaks with graph memory nodes (a wheel whose captured
calls allocate their split-KV partial states with cuMemAllocAsync): one mode per process.

    python graph_probe.py MODE [--sync] [--own]   # decode2 | prefill2 | both1 | both2 | decode1
MODE: which calls each graph holds (decode, prefill or both) and how many graphs replay at once
on their own streams (1: one graph on the current stream). --own: each graph captured on a
stream of its own (torch's default is one capture stream for every graph); --sync: a
synchronisation after each round of replays.
A defect of this probe (found after call 4): `ops` is rebound for each graph, which drops the
earlier graphs' input tensors; their replays then read memory torch had handed to later
tensors (a page table and pools of other sizes), which is what faulted, on main's wheel too."""

import sys

import numpy as np
import proxy_attention_lab as pal
import torch
from proxy_attention_lab.testing import paged_cache, random_array, random_prompts, to_torch

mode = sys.argv[1]
calls, graphs_at_once = mode[:-1], int(mode[-1])
rng = np.random.default_rng(3)
graphs, outs, expected = [], [], []
for _ in range(graphs_at_once):
    cache = paged_cache(rng, [16384, 9000], 8, 128, 16, "bfloat16", "nhd")
    queries = random_array(rng, (2, 32, 128), "bfloat16")
    q, k, v, cu = random_prompts(rng, [64, 16], 32, 8, 128, "bfloat16")
    decode = [to_torch(a, "cuda") for a in (queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    prefill = [to_torch(a, "cuda") for a in (q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu)]
    ops = []
    if calls in ("decode", "both"):
        ops.append(lambda d=decode: pal.paged_attention_decode(*d, layout="nhd"))
    if calls in ("prefill", "both"):
        ops.append(lambda p=prefill: pal.paged_attention_prefill(*p, layout="nhd"))
    expected += [op() for op in ops]
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=torch.cuda.Stream() if "--own" in sys.argv else None):
        outs += [op() for op in ops]
    graphs.append(graph)
torch.cuda.synchronize()
print(mode, "captured", flush=True)
streams = [torch.cuda.Stream() for _ in graphs]
for stream in streams:
    stream.wait_stream(torch.cuda.current_stream())
for _ in range(8):
    for graph, stream in zip(graphs, streams):
        if graphs_at_once == 1:
            graph.replay()
        else:
            with torch.cuda.stream(stream):
                graph.replay()
    if "--sync" in sys.argv:
        torch.cuda.synchronize()
for stream in streams:
    torch.cuda.current_stream().wait_stream(stream)
torch.cuda.synchronize()
bad = [i for i, (o, e) in enumerate(zip(outs, expected)) if not torch.equal(o, e)]
print(mode, "OK" if not bad else f"MISMATCH {bad}", flush=True)
