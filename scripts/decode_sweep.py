"""Kernel-development sweep for CUDA decode: PAL's kernel time (CUDA-graph replay) and its
default eager call beside the read ceiling measured in the same run, and FlashInfer when it is
importable, over SPEC §7's rows and any extra shapes. Prints one row per case, a table last.

    python scripts/decode_sweep.py [--layouts pal nhd] [--rows 32x4096 ...] [--page 16] [--dim 128]
        [--heads 32/8] [--extra] [--json out.json]
        [--kv-dtype float8_e4m3fn]   # fp8 pools (scale 1): TB/s of fp8 bytes, FlashInfer's fp8 decode
        [--label v2] [--save DIR | --compare DIR]   # kernel variants (PAL_KERNEL_DIR), outputs checked

`--compare` prints whether each output equals, bit for bit, that of an earlier run saved with
`--save` (inputs are seeded), else the largest difference, so a kernel variant that times well
but computes differently shows.
"""

from __future__ import annotations

import argparse
import json
import os

import proxy_attention_lab as pal
import torch
import triton.testing
from proxy_attention_lab.bench.sweep import error_line

SPEC_ROWS = ["1x4096", "1x32768", "8x4096", "32x4096", "64x4096", "128x2048", "256x1024"]


def read_ceiling() -> float:
    """TB/s of a large read-only reduction (bytes read / median time)."""
    x = torch.empty(2 << 30, dtype=torch.uint8, device="cuda").view(torch.float32).normal_()
    ms = triton.testing.do_bench(lambda: x.sum(), return_mode="median")
    return x.numel() * 4 / ms / 1e9


def capture(call):
    """A CUDA graph of ``call`` (one eager call first: kernels compiled, workspace sized; captured
    on a side stream), and the output the graph writes."""
    call()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(torch.cuda.Stream()), torch.cuda.graph(graph):
        out = call()
    return graph, out


def graph_replay_ms(call):
    """Median ms of replaying a CUDA graph of ``call`` (`capture`), and the output it writes."""
    graph, out = capture(call)
    return triton.testing.do_bench(graph.replay, return_mode="median"), out


def in_turn_ms(runs: dict, rounds: int) -> dict:
    """Each of ``runs`` (name -> callable) timed in turn, ``rounds`` rounds: the median ms of
    each round, per name. A GPU whose clock drifts between rounds moves every name alike, so
    the ratio of two names' times is best taken round by round."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            times[name].append(triton.testing.do_bench(run, return_mode="median"))
    return times


def keep_or_compare(out, name, save=None, compare=None) -> str:
    """Keeps `out` as `name` under `save`; against `compare`'s copy says whether it has the same
    bits, else the largest difference (the sweeps' check of a kernel variant)."""
    if save:
        os.makedirs(save, exist_ok=True)
        torch.save(out.cpu(), os.path.join(save, name))
    if not compare:
        return ""
    earlier = torch.load(os.path.join(compare, name)).to(out.device)
    if torch.equal(earlier, out):
        return ", same bits as earlier"
    return f", differs from earlier by {(earlier.float() - out.float()).abs().max().item():.2e}"


def make_case(batch, context, hq, hkv, dim, page, dtype, layout, kv_dtype=None, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    per_seq = -(-context // page)
    num_pages = batch * per_seq + 1

    kv_dtype = kv_dtype or dtype

    def pool(shape):
        return torch.randn(shape, generator=g, device="cuda").to(kv_dtype)

    k = pool(pal.get_k_cache_shape(num_pages, hkv, dim, page, kv_dtype, layout))
    v = pool(pal.get_v_cache_shape(num_pages, hkv, dim, page, kv_dtype, layout))
    pages = torch.randperm(num_pages - 1, generator=g, device="cuda")
    table = pages[: batch * per_seq].view(batch, per_seq).int()
    lens = torch.full((batch,), context, dtype=torch.int32, device="cuda")
    q = torch.randn(batch, hq, dim, generator=g, device="cuda").to(dtype)
    return q, k, v, table, lens


def refusal(error):
    """A call that raises `error` (a peer's path that refused the shape when planned)."""

    def call():
        raise error

    return call


def flashinfer_decode_calls(q, k, v, table, lens, page, layout):
    """FlashInfer's two paged decode paths (CUDA cores, tensor cores) on the same pages, planned
    (NHD/HND only): {name: call}."""
    import flashinfer

    if layout not in ("nhd", "hnd"):
        return {}
    batch, hq, dim = q.shape
    if dim not in (64, 128, 256):
        # FlashInfer 0.5.3's split merge dispatches head dims 64 / 128 / 256 only; at 80 its call
        # raised that after a launch that left an illegal address behind (H200, 2026-12-03).
        error = RuntimeError(f"FlashInfer 0.5.3 has no paged decode for head dim {dim}")
        return {"flashinfer": refusal(error)}
    hkv = k.shape[2] if layout == "nhd" else k.shape[1]
    per_seq = table.shape[1]
    indptr = torch.arange(batch + 1, device="cuda", dtype=torch.int32) * per_seq
    indices = table.flatten()
    last = (lens - 1) % page + 1
    calls = {}
    for name, tensor_cores in (("flashinfer-cuda-cores", False), ("flashinfer-tensor-cores", True)):
        workspace = torch.empty(512 << 20, dtype=torch.uint8, device="cuda")  # MQA plans need 256 MB
        wrapper = flashinfer.BatchDecodeWithPagedKVCacheWrapper(
            workspace, layout.upper(), use_tensor_cores=tensor_cores
        )
        try:
            wrapper.plan(indptr, indices, last, hq, hkv, dim, page, kv_data_type=k.dtype, q_data_type=q.dtype)
        except Exception as error:  # noqa: BLE001 - a path that refuses the shape: its call raises it
            calls[name] = refusal(error)
            continue
        calls[name] = lambda w=wrapper: w.run(q, (k, v))
    return calls


def flashinfer_decode(q, k, v, table, lens, page, layout):
    """FlashInfer's paged decode on the same pages (NHD/HND only), best of its two paths that
    run (its CUDA-core path refuses GQA groups it was not built for, e.g. MQA's 32)."""
    calls = flashinfer_decode_calls(q, k, v, table, lens, page, layout)
    times, errors = [], []
    for name, call in calls.items():
        try:
            times.append(triton.testing.do_bench(call, return_mode="median"))
        except Exception as error:  # noqa: BLE001 - one path may refuse the shape
            errors.append(f"{name}: {error_line(error, 120)}")
    if not times and errors:
        raise RuntimeError("; ".join(errors))
    return min(times) if times else None


def time_case(batch, context, hq, hkv, dim, page, dtype, layout, with_flashinfer, kv_dtype=None):
    q, k, v, table, lens = make_case(batch, context, hq, hkv, dim, page, dtype, layout, kv_dtype)

    def call():
        return pal.paged_attention_decode(q, k, v, table, lens, layout=layout)

    kernel, out = graph_replay_ms(call)
    eager = triton.testing.do_bench(call, return_mode="median")
    reference = pal.paged_attention_decode(q, k, v, table, lens, layout=layout)
    assert torch.equal(out, reference), "graph replay differs from the eager call"
    fi = None
    if with_flashinfer:
        try:
            fi = flashinfer_decode(q, k, v, table, lens, page, layout)
        except Exception as error:  # noqa: BLE001 - a peer that fails is reported, not fatal
            print(f"flashinfer failed: {error}")
    nbytes = 2 * batch * context * hkv * dim * k.element_size()
    return {"bytes": nbytes, "kernel_ms": kernel, "eager_ms": eager, "flashinfer_ms": fi}, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layouts", nargs="+", default=["pal", "nhd"])
    parser.add_argument("--rows", nargs="+", default=SPEC_ROWS)
    parser.add_argument("--page", type=int, default=16, help="page size of the --rows cases")
    parser.add_argument("--dim", type=int, default=128, help="head dim of the --rows cases")
    parser.add_argument("--heads", default="32/8", help="query / KV heads of the --rows cases")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--kv-dtype", help="fp8 pools: float8_e4m3fn or float8_e5m2 (scale 1)")
    parser.add_argument("--extra", action="store_true", help="also page sizes and head dims at 32x4096")
    parser.add_argument("--flashinfer", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--label", default="")
    parser.add_argument("--save", help="folder to keep the outputs in")
    parser.add_argument("--compare", help="folder of an earlier run's outputs: bitwise equal?")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    kv_dtype = getattr(torch, args.kv_dtype) if args.kv_dtype else None
    ceiling = read_ceiling()
    print(f"read ceiling {ceiling:.2f} TB/s")
    cases = []
    hq, hkv = (int(x) for x in args.heads.split("/"))
    for layout in args.layouts:
        for row in args.rows:
            b, c = (int(x) for x in row.split("x"))
            cases.append((b, c, hq, hkv, args.dim, args.page, layout))
        if args.extra:
            cases += [(32, 4096, 32, 8, 128, p, layout) for p in (1, 2, 4, 8, 32, 64, 128)]
            cases += [(32, 4096, 32, 8, d, 16, layout) for d in (64, 96, 256)]
            cases += [(32, 4096, 32, 32, 128, 16, layout), (32, 4096, 32, 1, 128, 16, layout)]
            cases += [(32, 4096, 64, 8, 128, 16, layout)]
    results = []
    for b, c, hq, hkv, d, p, layout in cases:
        try:
            r, out = time_case(b, c, hq, hkv, d, p, dtype, layout, args.flashinfer, kv_dtype)
        except pal.UnsupportedError as error:
            print(f"{args.label} {layout} {b}x{c} hq{hq}/hkv{hkv} d{d} p{p}: {error}")
            continue
        r.update(batch=b, context=c, hq=hq, hkv=hkv, dim=d, page=p, layout=layout)
        name = f"{layout}-{b}x{c}-hq{hq}-hkv{hkv}-d{d}-p{p}-{args.kv_dtype or args.dtype}.pt"
        check = keep_or_compare(out, name, args.save, args.compare)
        results.append(r)
        kernel, eager, fi = (
            r["bytes"] / ms / 1e9 if ms else 0.0 for ms in (r["kernel_ms"], r["eager_ms"], r["flashinfer_ms"])
        )
        print(
            f"{args.label} {layout} {b}x{c} hq{hq}/hkv{hkv} d{d} p{p}: kernel {r['kernel_ms'] * 1e3:.1f} us "
            f"{kernel:.2f} TB/s ({kernel / ceiling:.0%}), eager {r['eager_ms'] * 1e3:.1f} us {eager:.2f} TB/s"
            + (f", flashinfer {fi:.2f} TB/s" if fi else "")
            + check,
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"read_ceiling_tbs": ceiling, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
