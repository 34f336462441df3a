"""Per-CTA timeline of one CUDA decode launch, from the stamps of `decode-stamps.patch` (a kernel
variant that prints, per CTA: start, first tile landed in warp 0, warp 0's last tile, every
warp done, end; `%globaltimer` ns, and the SM). Where a small batch's time goes: launch spread,
first-data latency, streaming, the cross-warp merge and output, and the spread of end times.

    PAL_KERNEL_DIR=kv_b/ds python benchmarks/prepared/decode_stamps.py --rows 8x4096 1x32768 32x4096
        [--kv-dtype float8_e4m3fn] [--flush]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))


def child(row: str, layout: str, kv_dtype: str | None, flush: bool) -> None:
    import ctypes

    import proxy_attention_lab as pal
    import torch
    from decode_sweep import make_case

    shape, _, hkv = row.partition(":")  # "32x4096:1" is MQA (HKV 1)
    batch, context = (int(x) for x in shape.split("x"))
    fp8 = getattr(torch, kv_dtype) if kv_dtype else None
    q, k, v, table, lens = make_case(batch, context, 32, int(hkv or 8), 128, 16, torch.bfloat16, layout, fp8)
    # --flush: as the timed runs (`triton.testing.do_bench`), 256 MB zeroed before each launch,
    # so that the launch meets an L2 of dirty lines.
    dirty = torch.empty(256 << 20, dtype=torch.int8, device="cuda") if flush else None
    for _ in range(3):  # compiled, warm; the last launch's lines are the ones read
        if dirty is not None:
            dirty.zero_()
        pal.paged_attention_decode(q, k, v, table, lens, layout=layout)
        torch.cuda.synchronize()
    ctypes.CDLL(None).fflush(None)


def summary(lines: list[str], row: str) -> None:
    stamps = [list(map(int, line.split()[1:])) for line in lines if line.startswith("STAMP ")]
    if not stamps:
        print(f"{row}: no stamps (is PAL_KERNEL_DIR the patched variant?)")
        return
    grid = stamps[-1][1]
    last = stamps[-grid:]
    t0 = min(s[4] for s in last)

    def us(values):
        values = sorted(values)
        n = len(values)
        picks = {"min": values[0], "med": values[n // 2], "p90": values[int(n * 0.9)], "max": values[-1]}
        return " ".join(f"{name} {value / 1e3:6.1f}" for name, value in picks.items())

    tiles = [s[3] for s in last]
    print(f"{row}: {grid} CTAs on {len({s[2] for s in last})} SMs, tiles per warp {min(tiles)}-{max(tiles)}")
    print(f"  start after the first CTA   {us([s[4] - t0 for s in last])} us")
    print(f"  first tile landed (warp 0)  {us([s[5] - s[4] for s in last])} us after start")
    print(f"  warp 0 streaming            {us([s[6] - s[5] for s in last])} us")
    print(f"  every warp done             {us([s[7] - s[6] for s in last])} us after warp 0")
    print(f"  merge and output            {us([s[8] - s[7] for s in last])} us")
    print(f"  end after the first start   {us([s[8] - t0 for s in last])} us")
    # Do the late CTAs share their SM (more CTAs on it) or sit on particular SMs?
    per_sm: dict[int, list[list[int]]] = {}
    for s in last:
        per_sm.setdefault(s[2], []).append(s)
    for count in sorted({len(v) for v in per_sm.values()}):
        group = [s for v in per_sm.values() if len(v) == count for s in v]
        print(f"  ends, {count} CTA(s) an SM ({len(group):4} CTAs) {us([s[8] - t0 for s in group])} us")
    late = sorted(last, key=lambda s: s[8])[-max(1, len(last) // 10) :]
    print(f"  the last tenth's SMs: {sorted({s[2] for s in late})}")


def save_raw(lines: list[str], row: str, folder: str, label: str) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"stamps-{label}-{row}.txt"), "w") as f:
        f.writelines(line + "\n" for line in lines if line.startswith("STAMP "))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", nargs="+", default=["1x4096", "8x4096", "1x32768", "32x4096"])
    parser.add_argument("--layout", default="pal")
    parser.add_argument("--kv-dtype", help="fp8 pools: float8_e4m3fn or float8_e5m2")
    parser.add_argument("--flush", action="store_true", help="an L2 of dirty lines, as timed")
    parser.add_argument("--raw", help="folder to keep each row's STAMP lines in")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.layout, args.kv_dtype, args.flush)
        return
    for row in args.rows:
        run = subprocess.run(
            [sys.executable, __file__, "--child", row, "--layout", args.layout]
            + (["--kv-dtype", args.kv_dtype] if args.kv_dtype else [])
            + (["--flush"] if args.flush else []),
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            print(f"{row}: child failed\n{run.stderr[-2000:]}")
            continue
        summary(run.stdout.splitlines(), row)
        if args.raw:
            save_raw(run.stdout.splitlines(), row, args.raw, f"{args.layout}-{args.kv_dtype or 'bf16'}")


if __name__ == "__main__":
    main()
