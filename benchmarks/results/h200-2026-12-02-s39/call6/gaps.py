"""Where a decode call's graph-replay time goes: kernel durations and gaps from a CUPTI trace
(torch.profiler) of back-to-back graph replays, beside triton's do_bench median of one replay."""
import sys

import torch
import triton.testing
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, "scripts")
import decode_sweep as ds  # noqa: E402
import proxy_attention_lab as pal  # noqa: E402

CASES = [  # batch, context, hq, hkv, dim, page, dtype, layout
    (64, 4096, 32, 1, 128, 16, torch.float32, "nhd"),
    (32, 4096, 32, 1, 128, 16, torch.float32, "nhd"),
    (8, 4096, 32, 8, 128, 16, torch.bfloat16, "nhd"),
    (32, 4096, 32, 8, 128, 16, torch.bfloat16, "nhd"),
    (1, 4096, 32, 8, 128, 16, torch.bfloat16, "nhd"),
]
for case in CASES:
    q, k, v, table, lens = ds.make_case(*case)

    def call():
        return pal.paged_attention_decode(q, k, v, table, lens, layout=case[7])

    call()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(torch.cuda.Stream()), torch.cuda.graph(graph):
        call()
    bench = triton.testing.do_bench(graph.replay, return_mode="median") * 1e3
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(20):
            flush.zero_()
            graph.replay()
        torch.cuda.synchronize()
    allk = sorted(
        [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA and e.time_range.elapsed_us() > 0],
        key=lambda e: e.time_range.start,
    )
    ev = [e for e in allk if "pal_" in e.name]
    names = sorted({e.name for e in ev})
    durs = {n: sorted(e.time_range.elapsed_us() for e in ev if e.name == n) for n in names}
    gaps, lead, span = [], [], []  # decode end -> merge start; flush end -> decode start; decode start -> last pal end
    for i, e in enumerate(allk):
        if "pal_" in e.name and i > 0 and "pal_" not in allk[i - 1].name:
            lead.append(e.time_range.start - allk[i - 1].time_range.end)
            j = i
            while j + 1 < len(allk) and "pal_" in allk[j + 1].name:
                gaps.append(allk[j + 1].time_range.start - allk[j].time_range.end)
                j += 1
            span.append(allk[j].time_range.end - e.time_range.start)
    lead.sort()
    span.sort()
    gaps.sort()
    med = lambda xs: xs[len(xs) // 2] if xs else float("nan")  # noqa: E731
    print(
        f"{case}: do_bench {bench:.1f} us; "
        + "; ".join(f"{n[:40]} {med(d):.1f} us (x{len(d)})" for n, d in durs.items())
        + f"; gap {med(gaps):.1f} us; lead {med(lead):.1f} us; span {med(span):.1f} us"
    )
