"""Kernel-development timing of CUDA prefill: SPEC §7's rows (bf16, HQ 32, HKV 8, causal) in
TFLOP/s, kernel time from a CUDA-graph replay, one line per (layout, row). Compare kernel folders
and shapes one process each (a kernel key names one build per process):

    PAL_KERNEL_DIR=variant PAL_PREFILL_TUNING=stages=3 python scripts/prefill_sweep.py --label v3

`--check` also runs the portable kernel (`PAL_PREFILL_PATH=portable`) on the same inputs and
prints the largest difference, so a variant that times well but computes wrong shows at once;
`--flashinfer fa2 fa3` times FlashInfer's prefill paths on the same row (pages of history and
prompt in random order, NHD; `triton.testing.do_bench`) and prints PAL's ratio to each;
`--variant` (the lab's form: `softcap=30,alibi`, `window=W`, `sinks`) times a variant of SPEC
§3.5 (PAL only: `--flashinfer` then refuses); `--save DIR` keeps every output and `--compare
DIR` says whether each has the same bits as an earlier run's, else the largest difference (the
inputs are seeded: same rows, same inputs).
With `--rounds N` PAL's graph and each FlashInfer path are timed in turn, N rounds a row: the
ratio printed is the median of the rounds' own ratios (the GPU's clock drifts between rounds
by up to 13% on a history row), the times the medians of the rounds."""

import argparse
import functools
import os
import statistics

import proxy_attention_lab as pal
import torch
from decode_sweep import capture, graph_replay_ms, in_turn_ms, keep_or_compare
from proxy_attention_lab.bench.problems import Shape, parse_variant
from proxy_attention_lab.bench.sweep import error_line

ROWS = ["1x4096+0", "4x4096+0", "16x1024+0", "4x1024+8192", "8x512+4096"]
HQ, HKV = 32, 8  # SPEC §7's heads


def variant_options(variant):
    """PAL's keyword options of SPEC §3.5 in the lab's form (`softcap=30,alibi`), as CUDA tensors."""
    return {
        name: torch.from_numpy(value).cuda() if hasattr(value, "shape") else value
        for name, value in Shape(num_q_heads=HQ, **parse_variant(variant)).variant().items()
    }


def make_case(row, layout, dim, page, g, kv_dtype=torch.bfloat16, dtype=torch.bfloat16):
    """Inputs of `row` ("BATCHxPROMPT+HISTORY"), pages in random order, and its visible pairs:
    queries and new keys / values in `dtype`, pools in `kv_dtype` (fp8: the bf16 draws cast,
    scales 1)."""
    head, history = row.split("+")
    batch, prompt = (int(x) for x in head.split("x"))
    history, hq, hkv = int(history), HQ, HKV
    per_seq = -(-max(history, 1) // page)
    pages = batch * per_seq + 1

    def rand(*shape):
        return torch.randn(*shape, generator=g, device="cuda").to(torch.bfloat16)

    k_cache = rand(*pal.get_k_cache_shape(pages, hkv, dim, page, kv_dtype, layout)).to(kv_dtype)
    v_cache = rand(*pal.get_v_cache_shape(pages, hkv, dim, page, kv_dtype, layout)).to(kv_dtype)
    perm = torch.randperm(pages - 1, generator=g, device="cuda")
    table = perm[: batch * per_seq].view(batch, per_seq).int()
    lens = torch.full((batch,), history, dtype=torch.int32, device="cuda")
    q, k, v = (rand(batch * prompt, heads, dim).to(dtype) for heads in (hq, hkv, hkv))
    pairs = batch * (prompt * history + prompt * (prompt + 1) // 2)
    return (q, k, v, k_cache, v_cache, table, lens), 4 * hq * dim * pairs


@functools.cache
def flashinfer_prefill_ms(row, dim, page, backend):
    """Median ms of FlashInfer's paged prefill on `row` (`flashinfer_prefill`), timed once per
    row, whichever PAL layouts follow."""
    import triton

    return triton.testing.do_bench(flashinfer_prefill(row, dim, page, backend), return_mode="median")


def flashinfer_prefill(row, dim, page, backend):
    """A call of FlashInfer's paged prefill (`backend` "fa2" or "fa3") on `row`: causal, the
    history and the prompt in pages of random order (NHD), bf16; its own random draws (PAL's
    inputs stay those of a run without it)."""
    import flashinfer

    g = torch.Generator(device="cuda").manual_seed(1)

    head, history = row.split("+")
    batch, prompt = (int(x) for x in head.split("x"))
    length, hq, hkv = int(history) + prompt, HQ, HKV
    per_seq = -(-length // page)
    pages = batch * per_seq
    pool = [torch.randn(pages, page, hkv, dim, generator=g, device="cuda").bfloat16() for _ in range(2)]
    indices = torch.randperm(pages, generator=g, device="cuda").int()
    indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * per_seq
    last = torch.full((batch,), (length - 1) % page + 1, dtype=torch.int32, device="cuda")
    qo_indptr = torch.arange(batch + 1, dtype=torch.int32, device="cuda") * prompt
    q = torch.randn(batch * prompt, hq, dim, generator=g, device="cuda").to(torch.bfloat16)
    workspace = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    wrapper = flashinfer.BatchPrefillWithPagedKVCacheWrapper(workspace, "NHD", backend=backend)
    wrapper.plan(
        qo_indptr, indptr, indices, last, hq, hkv, dim, page, causal=True, q_data_type=torch.bfloat16
    )
    return lambda: wrapper.run(q, (pool[0], pool[1]))


def in_turn(args, row, call, flops) -> str:
    """PAL's graph and FlashInfer's paths timed in turn, `args.rounds` rounds: median TFLOP/s of
    each and the median of the rounds' ratios (FlashInfer's time over PAL's)."""
    graph, _out = capture(call)  # (the output stays alive while the graph replays into it)
    runs = {"pal": graph.replay}
    for backend in args.flashinfer:
        try:
            runs[backend] = flashinfer_prefill(row, args.dim, args.page, backend)
        except Exception as error:  # noqa: BLE001 - a path that refuses the shape
            print(f"flashinfer-{backend}: {error_line(error, 100)}")
    times = in_turn_ms(runs, args.rounds)
    ms = statistics.median(times["pal"])
    line = f"{ms * 1e3:8.0f} us {flops / ms / 1e9:7.1f} TFLOP/s"
    for backend in [name for name in runs if name != "pal"]:
        ratios = [f / p for f, p in zip(times[backend], times["pal"])]
        fi_tflops = flops / statistics.median(times[backend]) / 1e9
        line += f"  flashinfer-{backend} {fi_tflops:.1f} ({statistics.median(ratios):.2f}x,"
        line += f" rounds {min(ratios):.2f}-{max(ratios):.2f})"
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layouts", nargs="+", default=["nhd", "pal"])
    parser.add_argument("--rows", nargs="+", default=ROWS)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--page", type=int, default=16)
    parser.add_argument("--dtype", default="bfloat16", help="queries, new keys and values")
    parser.add_argument("--kv-dtype", help="pool dtype (default --dtype), e.g. float8_e4m3fn")
    parser.add_argument("--label", default=os.environ.get("PAL_PREFILL_TUNING", "default"))
    parser.add_argument("--check", action="store_true", help="largest difference from the portable kernel")
    parser.add_argument("--flashinfer", nargs="*", default=[], help="FlashInfer paths: fa2, fa3")
    parser.add_argument("--save", help="folder to keep the outputs in")
    parser.add_argument("--compare", help="folder of an earlier run's outputs to compare with")
    parser.add_argument("--rounds", type=int, default=0, help="time PAL and FlashInfer in turn, N rounds")
    parser.add_argument("--variant", default="plain", help="SPEC §3.5 options, as the lab's --variant")
    args = parser.parse_args()
    if args.flashinfer and args.variant != "plain":
        parser.error("--variant times PAL alone (FlashInfer's rows here are plain)")
    options = variant_options(args.variant)
    g = torch.Generator(device="cuda").manual_seed(0)
    args.kv_dtype = args.kv_dtype or args.dtype
    dtype, kv_dtype = getattr(torch, args.dtype), getattr(torch, args.kv_dtype)
    kv_tag = "".join(f" {name}" for name in dict.fromkeys((args.dtype, args.kv_dtype)) if name != "bfloat16")
    kv_tag += "" if args.variant == "plain" else f" {args.variant}"
    for layout in args.layouts:
        for row in args.rows:
            inputs, flops = make_case(row, layout, args.dim, args.page, g, kv_dtype, dtype)

            def call(inputs=inputs, layout=layout):
                return pal.paged_attention_prefill(*inputs, layout=layout, **options)

            prefix = f"{args.label:<24} {layout} D{args.dim} p{args.page}{kv_tag} {row:<12}"
            if args.rounds and args.flashinfer:
                print(prefix, in_turn(args, row, call, flops), flush=True)
                continue
            ms, out = graph_replay_ms(call)
            check = ""
            if args.check:
                os.environ["PAL_PREFILL_PATH"] = "portable"
                try:
                    check = f"  maxdiff {(call().float() - out.float()).abs().max().item():.4f}"
                except pal.UnsupportedError as error:
                    check = f"  ({error})"
                del os.environ["PAL_PREFILL_PATH"]
            for backend in args.flashinfer:
                try:
                    fi_ms = flashinfer_prefill_ms(row, args.dim, args.page, backend)
                    check += f"  flashinfer-{backend} {flops / fi_ms / 1e9:.1f} ({fi_ms / ms:.2f}x)"
                except Exception as error:  # noqa: BLE001 - a path that refuses the shape
                    check += f"  flashinfer-{backend}: {error_line(error, 100)}"
            name = f"{layout}-D{args.dim}-p{args.page}-{args.dtype}-{args.kv_dtype}-{args.variant}-{row}.pt"
            check += keep_or_compare(out, name, args.save, args.compare)
            print(f"{prefix} {ms * 1e3:8.0f} us {flops / ms / 1e9:7.1f} TFLOP/s{check}", flush=True)


if __name__ == "__main__":
    main()
