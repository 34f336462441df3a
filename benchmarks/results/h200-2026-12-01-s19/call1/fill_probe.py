"""Fill probe: PAL fill (page table + positions, the lab's row) at 4096 / 32768 tokens per
layout, timed like the lab (an event pair per call after an L2 flush), beside torch copies of
the same bytes and of 1 GiB. --ncu: one warm launch per layout at 32768 for ncu to catch."""
import sys
import torch
import proxy_attention_lab as pal

HKV, D, PAGE = 8, 128, 16
flush = torch.empty(128 * 2**20, dtype=torch.uint8, device="cuda")


def p10(run, n=40):
    run(); torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        flush.zero_()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); run(); e.record(); torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[n // 10]


def case(tokens, layout, g):
    seqs, per = 8, tokens // 8
    pages = seqs * per // PAGE
    kc = torch.zeros(pal.get_k_cache_shape(pages, HKV, D, PAGE, torch.bfloat16, layout), dtype=torch.bfloat16, device="cuda")
    vc = torch.zeros(pal.get_v_cache_shape(pages, HKV, D, PAGE, torch.bfloat16, layout), dtype=torch.bfloat16, device="cuda")
    table = torch.randperm(pages, generator=g, device="cuda").view(seqs, -1).int()
    k = torch.randn(tokens, HKV, D, generator=g, device="cuda").bfloat16()
    v = torch.randn(tokens, HKV, D, generator=g, device="cuda").bfloat16()
    pos = (torch.arange(tokens, device="cuda") % per).int()
    seq = (torch.arange(tokens, device="cuda") // per).int()
    return lambda: pal.fill_kv_pages(k, v, kc, vc, table, pos, seq, layout=layout, check=False), 4 * k.nbytes


g = torch.Generator(device="cuda").manual_seed(0)
if "--ncu" in sys.argv:
    for layout in ("nhd", "pal"):
        run, _ = case(32768, layout, g)
        run(); torch.cuda.synchronize(); run(); torch.cuda.synchronize()
    src = torch.empty(128 * 2**20, dtype=torch.uint8, device="cuda"); dst = torch.empty_like(src)
    dst.copy_(src); torch.cuda.synchronize(); dst.copy_(src); torch.cuda.synchronize()
    sys.exit()
big = torch.empty(2**30, dtype=torch.uint8, device="cuda"); bigd = torch.empty_like(big)
copy = 2 * 2**30 / p10(lambda: bigd.copy_(big), 20) / 1e9
print(f"device copy 1 GiB: {copy:.3f} TB/s")
for tokens in (4096, 32768):
    moved = 4 * tokens * HKV * D * 2
    src = torch.empty(moved // 2, dtype=torch.uint8, device="cuda"); dst = torch.empty_like(src)
    same = moved / p10(lambda: dst.copy_(src)) / 1e9
    line = f"{tokens:6d} tokens: copy of the same bytes {same:.3f} TB/s"
    for layout in ("nhd", "hnd", "pal"):
        run, b = case(tokens, layout, g)
        r = b / p10(run) / 1e9
        line += f" | {layout} {r:.3f} ({r / copy:.1%} of copy)"
    print(line)
