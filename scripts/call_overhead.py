"""Host cost of one PAL call from Python on CUDA torch tensors, and of its parts, on a problem so
small that the GPU never limits the loop (1 sequence of 16 tokens). Each figure is the mean wall
time per call over a loop of back-to-back calls (no synchronisation inside the loop), the least
of five such loops. `_native.host_profile` splits the native call into its stages.

With --latency: the eager decode call's time per call, back to back, at 1 x 512, 1 x 4096 and
4 x 1024 (bf16, HQ 32, HKV 8, D 128, page 16), beside the kernels' own time (CUDA-graph replay,
back to back as the eager loop runs them, and after an L2 flush as the sweeps time them) and
FlashInfer's `run()` in the same run (issue 11's eager-latency rule).

    python scripts/call_overhead.py [--calls 2000] [--flashinfer] [--latency]
"""

from __future__ import annotations

import argparse
import time

import proxy_attention_lab as pal
import torch
from proxy_attention_lab import _native
from proxy_attention_lab._arrays import as_index, output_like
from proxy_attention_lab._cuda import launch_settings


def per_call_us(fn, calls: int, loops: int = 5) -> float:
    for _ in range(50):
        fn()
    best = float("inf")
    for _ in range(loops):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def warm_replay_us(call, calls: int) -> float:
    """The kernels' own time per call, as the eager loop sees the GPU (inputs warm in L2): a CUDA
    graph of `call` replayed back to back, the least of five loops."""
    call()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(torch.cuda.Stream()), torch.cuda.graph(graph):
        call()
    return per_call_us(graph.replay, calls)


def latency(calls: int, with_flashinfer: bool) -> None:
    """Eager decode calls back to back against the kernels' time and FlashInfer's run()."""
    from decode_sweep import flashinfer_decode_calls, graph_replay_ms, make_case

    rows = []
    # A throwaway loop first: the first timed loop of a process runs slow (clocks, caches).
    first = make_case(1, 512, 32, 8, 128, 16, torch.bfloat16, "pal")
    per_call_us(lambda: pal.paged_attention_decode(*first), calls)
    for batch, context in ((1, 512), (1, 4096), (4, 1024)):
        for layout in ("pal", "nhd"):
            q, k, v, table, lens = make_case(batch, context, 32, 8, 128, 16, torch.bfloat16, layout)

            def call(q=q, k=k, v=v, table=table, lens=lens, layout=layout):
                return pal.paged_attention_decode(q, k, v, table, lens, layout=layout)

            kernel = graph_replay_ms(call)[0] * 1e3
            warm = warm_replay_us(call, calls)
            eager = per_call_us(call, calls)
            fi = None
            if with_flashinfer:
                fi_calls = flashinfer_decode_calls(q, k, v, table, lens, 16, layout)
                fi = min((per_call_us(c, calls) for c in fi_calls.values()), default=None)
            rows.append((f"{batch}x{context}", layout, eager, warm, kernel, fi))
            fi_text = "-" if fi is None else f"{fi:.1f}"
            print(
                f"{batch}x{context} {layout}: eager {eager:.1f} us, kernel {warm:.1f} us warm, "
                f"{kernel:.1f} after an L2 flush, flashinfer run() {fi_text}",
                flush=True,
            )
    print("\n| decode | layout | PAL eager us | PAL kernel us, warm | eager - kernel |", end=" ")
    print("PAL kernel us, L2 flushed | FlashInfer run() us |\n|---|---|---|---|---|---|---|")
    for shape, layout, eager, warm, kernel, fi in rows:
        fi_text = "-" if fi is None else f"{fi:.1f}"
        times = (eager, warm, eager - warm, kernel)
        cells = (shape, layout, *(f"{t:.1f}" for t in times), fi_text)
        print("| " + " | ".join(cells) + " |")


def stages(fn, calls: int) -> None:
    """The native call's host time by stage (`_native.host_profile`), per call of `fn`."""
    for _ in range(50):
        fn()
    _native.host_profile(True)
    for _ in range(calls):
        fn()
    count, totals = _native.host_profile(False)
    torch.cuda.synchronize()
    parts = ", ".join(f"{name} {ns / max(count, 1) / 1e3:.2f}" for name, ns in totals)
    native = sum(ns for _, ns in totals) / max(count, 1) / 1e3
    print(f"  native stages (us per call, {count} calls): {parts}; total {native:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--flashinfer", action="store_true")
    parser.add_argument("--latency", action="store_true")
    args = parser.parse_args()
    if args.latency:
        latency(args.calls // 4, args.flashinfer)
        return
    hq, hkv, dim, page, tokens = 32, 8, 128, 16, 16
    dtype = torch.bfloat16
    q = torch.randn(1, hq, dim, device="cuda", dtype=dtype)
    k = torch.randn(*pal.get_k_cache_shape(4, hkv, dim, page, dtype, "pal"), device="cuda", dtype=dtype)
    v = torch.randn(*pal.get_v_cache_shape(4, hkv, dim, page, dtype, "pal"), device="cuda", dtype=dtype)
    table = torch.tensor([[1]], dtype=torch.int32, device="cuda")
    lens = torch.tensor([tokens], dtype=torch.int32, device="cuda")
    out = torch.empty_like(q)
    stream, check = launch_settings(q, None)
    rows = []

    def row(name, fn):
        rows.append((name, per_call_us(fn, args.calls)))
        print(f"{name:58s} {rows[-1][1]:7.2f} us", flush=True)

    row("torch: q.add_(0) (one torch kernel launch)", lambda: q.add_(0))
    row("torch: torch.empty_like(q)", lambda: torch.empty_like(q))
    row("torch: current_stream().cuda_stream", lambda: torch.cuda.current_stream(q.device).cuda_stream)
    row(
        "torch: _C._cuda_getCurrentRawStream(index)",
        lambda: torch._C._cuda_getCurrentRawStream(q.get_device()),
    )
    row("facade: as_index(table) + as_index(lens)", lambda: (as_index(table), as_index(lens)))
    row("facade: output_like(q)", lambda: output_like(q, None, "decode", "queries"))
    row("facade: launch_settings(q, None)", lambda: launch_settings(q, None))
    row(
        "native decode, prepared arguments",
        lambda: _native.paged_attention_decode(
            q, k, v, table, lens, out, None, "pal", -1, 0.0, None, None, None, None, stream, check
        ),
    )
    stages(
        lambda: _native.paged_attention_decode(
            q, k, v, table, lens, out, None, "pal", -1, 0.0, None, None, None, None, stream, check
        ),
        args.calls,
    )
    row(
        "pal.paged_attention_decode(out=out)",
        lambda: pal.paged_attention_decode(q, k, v, table, lens, out=out),
    )
    row("pal.paged_attention_decode", lambda: pal.paged_attention_decode(q, k, v, table, lens))
    stages(lambda: pal.paged_attention_decode(q, k, v, table, lens), args.calls)

    slots = torch.arange(tokens, dtype=torch.int32, device="cuda") + page
    kn = torch.randn(tokens, hkv, dim, device="cuda", dtype=dtype)
    row("pal.fill_kv_pages (16 tokens)", lambda: pal.fill_kv_pages(kn, kn, k, v, slot_mapping=slots))
    qp = torch.randn(tokens, hq, dim, device="cuda", dtype=dtype)
    zero = torch.zeros(1, dtype=torch.int32, device="cuda")
    row(
        "pal.paged_attention_prefill (16 tokens)",
        lambda: pal.paged_attention_prefill(qp, kn, kn, k, v, table, zero),
    )

    if args.flashinfer:
        import flashinfer

        kf = torch.randn(4, page, hkv, dim, device="cuda", dtype=dtype)
        workspace = torch.empty(128 << 20, dtype=torch.uint8, device="cuda")
        wrapper = flashinfer.BatchDecodeWithPagedKVCacheWrapper(workspace, "NHD")
        wrapper.plan(
            torch.tensor([0, 1], dtype=torch.int32, device="cuda"),
            torch.tensor([1], dtype=torch.int32, device="cuda"),
            torch.tensor([tokens], dtype=torch.int32, device="cuda"),
            hq, hkv, dim, page, data_type=dtype, q_data_type=dtype,
        )  # fmt: skip
        row("flashinfer BatchDecode wrapper.run", lambda: wrapper.run(q, (kf, kf)))
    print("\n| call | us per call |\n|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")


if __name__ == "__main__":
    main()
