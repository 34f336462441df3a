"""Where a small decode's time goes on the GPU: each kernel of a call (PAL's decode and split
merge, FlashInfer's kernels beside them) with its duration and start offset, from CUPTI records
(torch.profiler) of eager calls that each follow an L2 flush, as the benchmark lab times them.

    python scripts/decode_timeline.py [--rows 1x4096 1x32768 8x4096] [--layouts pal nhd]
        [--flashinfer] [--tuning "pdl=0" ...]   # PAL_DECODE_TUNING per column, one process each

Prints one line per (case, kernel): mean duration, mean start after the call's first kernel
starts, and the call's span (first start to last end), all in microseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CALLS = 30


def spans(trace_path, flush_name):
    """Per call (the kernels between two flushes): [(name, start, duration)] in us."""
    with open(trace_path) as f:
        events = json.load(f)["traceEvents"]
    kernels = sorted((e for e in events if e.get("cat") == "kernel"), key=lambda e: e["ts"])
    calls, current = [], None
    for e in kernels:
        if flush_name in e["name"]:
            current = []
            calls.append(current)
        elif current is not None:
            current.append((e["name"], float(e["ts"]), float(e["dur"])))
    return [c for c in calls if c][3:]  # the first calls warm up


def summarise(label, calls):
    if not calls:
        print(f"{label}: no kernels recorded")
        return
    t0 = [c[0][1] for c in calls]
    span = sum(max(s + d for _, s, d in c) - c[0][1] for c in calls) / len(calls)
    print(f"{label}: span {span:.1f} us over {len(calls)} calls")
    for i, (name, _, _) in enumerate(calls[0]):
        same = [c[i] for c in calls if len(c) > i]
        start = sum(s - t for (_, s, _), t in zip(same, t0)) / len(same)
        dur = sum(d for _, _, d in same) / len(same)
        print(f"    {name[:90]:90s} start {start:6.1f}  dur {dur:6.1f}")


def profile_case(args, layout, row, flush):
    import proxy_attention_lab as pal
    import torch
    from decode_sweep import flashinfer_decode_calls, make_case
    from torch.profiler import ProfilerActivity, profile

    b, c = (int(x) for x in row.split("x"))
    q, k, v, table, lens = make_case(b, c, 32, 8, 128, 16, torch.bfloat16, layout)
    calls = {"pal": lambda: pal.paged_attention_decode(q, k, v, table, lens, layout=layout)}
    if args.flashinfer and layout != "pal":
        calls.update(flashinfer_decode_calls(q, k, v, table, lens, 16, layout))
    for name, call in calls.items():
        call()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(CALLS):
                flush.zero_()
                call()
            torch.cuda.synchronize()
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            prof.export_chrome_trace(f.name)
            summarise(f"{args.label} {layout} {row} {name}", spans(f.name, "elementwise"))


def run_one(args):
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    for layout in args.layouts:
        for row in args.rows:
            profile_case(args, layout, row, flush)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", nargs="+", default=["1x4096", "1x32768", "8x4096"])
    parser.add_argument("--layouts", nargs="+", default=["pal", "nhd"])
    parser.add_argument("--flashinfer", action="store_true")
    parser.add_argument("--tuning", nargs="+", help="PAL_DECODE_TUNING values, one process each")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if not args.tuning:
        run_one(args)
        return
    for tuning in args.tuning:
        env = dict(os.environ, PAL_DECODE_TUNING=tuning)
        rest = [a for a in sys.argv[1:] if a not in args.tuning and a != "--tuning"]
        subprocess.run([sys.executable, __file__, *rest, "--label", tuning or "default"], env=env, check=True)


if __name__ == "__main__":
    main()
