"""Fill probe (twenty-ninth session): PAL fill at 4096 / 32768 new tokens over 8 sequences per
layout, the same bytes copied by torch and FlashInfer's append, timed as the lab does (an event
pair per call after an L2 flush, median of N). One process per kernel variant (PAL_KERNEL_DIR /
PAL_FILL_TUNING are read once). --check: pools equal to the CPU backend's at 4096 / 1000 / 8
tokens. --inorder: page table in order (no scatter). --fp8: float8_e4m3fn pools (bf16 rows in,
scale 1; rates count the rows read and the pool bytes written). --dim: head dim (128). --page:
page size (16). --ncu:
two warm launches per case at 32768."""
import argparse
import sys

import proxy_attention_lab as pal
import torch

HKV, D, PAGE = 8, 128, 16
ap = argparse.ArgumentParser()
ap.add_argument("--label", default="?")
ap.add_argument("--layouts", default="pal,nhd,hnd")
ap.add_argument("--tokens", default="4096,32768")
ap.add_argument("--check", action="store_true")
ap.add_argument("--inorder", action="store_true")
ap.add_argument("--peers", action="store_true")
ap.add_argument("--fp8", action="store_true")
ap.add_argument("--dim", type=int, default=128, help="head dim")
ap.add_argument("--page", type=int, default=16, help="page size")
ap.add_argument("--ncu", action="store_true")
ap.add_argument("-n", type=int, default=60)
a = ap.parse_args()
D, PAGE = a.dim, a.page
flush = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")


def med(run, n):
    run()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        flush.zero_()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        run()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[n // 2]


def case(tokens, layout, g, dev="cuda"):
    seqs, per = 8, tokens // 8
    pages = seqs * -(-per // PAGE)
    pool = torch.float8_e4m3fn if a.fp8 else torch.bfloat16
    kc = torch.zeros(pal.get_k_cache_shape(pages, HKV, D, PAGE, pool, layout), dtype=pool, device=dev)
    vc = torch.zeros(pal.get_v_cache_shape(pages, HKV, D, PAGE, pool, layout), dtype=pool, device=dev)
    perm = torch.arange(pages) if a.inorder else torch.randperm(pages, generator=g)
    table = perm.view(seqs, -1).int().to(dev)
    k = torch.randn(tokens, HKV, D, generator=g).bfloat16().to(dev)
    v = torch.randn(tokens, HKV, D, generator=g).bfloat16().to(dev)
    pos = (torch.arange(tokens) % per).int().to(dev)
    seq = (torch.arange(tokens) // per).int().to(dev)
    args = (k, v, kc, vc, table, pos, seq)
    return args, 2 * (k.nbytes + kc.numel() * kc.element_size() * tokens // (pages * PAGE))


def run_of(args, layout):
    return lambda: pal.fill_kv_pages(*args, layout=layout, check=False)


layouts = a.layouts.split(",")
tokens_list = [int(t) for t in a.tokens.split(",")]
if a.ncu:
    for layout in layouts:
        args, _ = case(32768, layout, torch.Generator().manual_seed(0))
        for _ in range(2):
            run_of(args, layout)()
            torch.cuda.synchronize()
    src = torch.empty(128 * 2**20, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(2):
        dst.copy_(src)
        torch.cuda.synchronize()
    sys.exit()
if a.check:
    for layout in layouts:
        for tokens in (4096, 1000, 8):
            g = torch.Generator().manual_seed(1)
            args, _ = case(tokens, layout, g)
            run_of(args, layout)()
            torch.cuda.synchronize()
            cpu = [x.cpu() for x in args]
            pal.fill_kv_pages(*cpu, layout=layout)
            same = [torch.equal(c.view(torch.uint8), g.cpu().view(torch.uint8)) for c, g in zip(cpu[2:4], args[2:4])]
            ok = all(same)
            print(f"check {a.label} {layout} {tokens}: {'equal' if ok else 'DIFFERENT'}")
big = torch.empty(2**30, dtype=torch.uint8, device="cuda")
bigd = torch.empty_like(big)
copy = 2 * 2**30 / med(lambda: bigd.copy_(big), 20) / 1e9
for tokens in tokens_list:
    moved = 4 * tokens * HKV * D * 2
    src = torch.empty(moved // 2, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    same = moved / med(lambda: dst.copy_(src), a.n) / 1e9
    print(f"RES {a.label:>14} copy     {tokens:6d} {same:.3f} TB/s {same / copy:6.1%} (1 GiB copy {copy:.3f})")
    for layout in layouts:
        g = torch.Generator().manual_seed(0)
        args, b = case(tokens, layout, g)
        r = b / med(run_of(args, layout), a.n) / 1e9
        print(f"RES {a.label:>14} {layout:8s} {tokens:6d} {r:.3f} TB/s {r / copy:6.1%}")
    if a.peers:
        import flashinfer

        g = torch.Generator().manual_seed(0)
        (k, v, kc, vc, table, pos, seq), b = case(tokens, "nhd", g)
        seqs, per = 8, tokens // 8
        kv_indptr = torch.arange(0, seqs * per // PAGE + 1, per // PAGE, dtype=torch.int32, device="cuda")
        kv_last = torch.full((seqs,), PAGE, dtype=torch.int32, device="cuda")
        batch_indices = torch.arange(tokens, dtype=torch.int32, device="cuda") // per
        positions = torch.arange(tokens, dtype=torch.int32, device="cuda") % per
        indices = table.flatten()
        r = b / med(lambda: flashinfer.append_paged_kv_cache(k, v, batch_indices, positions, (kc, vc), indices, kv_indptr, kv_last, "NHD"), a.n) / 1e9
        print(f"RES {'flashinfer':>14} nhd      {tokens:6d} {r:.3f} TB/s {r / copy:6.1%}")
