"""``python -m proxy_attention_lab.bench``: one benchmark sweep on whatever device is present.

Examples::

    python -m proxy_attention_lab.bench                          # default sweep, CPU or GPU
    python -m proxy_attention_lab.bench --decode 1x4096 64x4096 --dtype float32 --layout hnd
    python -m proxy_attention_lab.bench --ops decode --decode 32x4096 32x65536 --variant window=4095
    python -m proxy_attention_lab.bench plot results/run.json [before.json]   # re-plot / overlay
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

import proxy_attention_lab as pal

from ..testing import DTYPES, FP8_DTYPES, LAYOUTS
from . import report
from .devices import CpuDevice
from .problems import Shape, parse_variant

# SPEC §7's rows on a GPU; on the CPU a sweep that finishes in well under three minutes.
GPU_DECODE = ["1x4096", "1x32768", "8x4096", "32x4096", "64x4096", "128x2048", "256x1024"]
CPU_DECODE = ["1x1024", "1x4096", "8x4096", "32x1024"]  # (context and batch each vary once)
# The last: a short prompt over a long history (split-KV, issue 13's item 4).
GPU_PREFILL = ["1x4096+0", "4x4096+0", "16x1024+0", "4x1024+8192", "1x128+32768"]
CPU_PREFILL = ["1x512+0", "2x256+1024"]
# Fill: "T" is T new tokens over 8 sequences (a prefill chunk), "SxN" N new tokens for each of S.
GPU_FILL = ["4096", "32768", "256x1"]
CPU_FILL = ["4096"]


def parse_pairs(items: list[str]) -> list[tuple[int, ...]]:
    """``"8x4096"`` -> (8, 4096); ``"4x1024+8192"`` -> (4, 1024, 8192)."""
    out = []
    for item in items:
        head, _, history = item.partition("+")
        out.append(tuple(int(x) for x in head.split("x")) + ((int(history),) if history else ()))
    return out


def pick_device(name: str):
    if name in ("auto", "cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                from .devices_cuda import CudaDevice

                return CudaDevice()
        except ImportError:
            pass
        if name == "cuda":
            sys.exit("no CUDA device is available (torch with CUDA is needed)")
    return CpuDevice()


def environment(device) -> dict:
    versions = {"pal": pal.__version__, "numpy": np.__version__, "python": platform.python_version()}
    for module, attribute in (("mlx", "mlx.core"), ("torch", "torch"), ("flashinfer", "flashinfer")):
        try:
            versions[module] = importlib.import_module(attribute).__version__
        except Exception:
            pass
    return {
        **device.describe(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "versions": versions,
    }


def progress(total: int):
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc="benchmarks", unit="case", file=sys.stderr)
    except ImportError:  # pragma: no cover
        return None


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    gpu = device.name == "cuda"
    decode = parse_pairs(args.decode if args.decode is not None else (GPU_DECODE if gpu else CPU_DECODE))
    prefill = parse_pairs(args.prefill if args.prefill is not None else (GPU_PREFILL if gpu else CPU_PREFILL))
    fill = [
        (8, -(-c[0] // 8)) if len(c) == 1 else c
        for c in parse_pairs(args.fill if args.fill is not None else (GPU_FILL if gpu else CPU_FILL))
    ]
    dtypes = args.dtype or (["bfloat16"] if gpu else ["float32", "bfloat16"])
    if min(args.num_q_heads, args.num_kv_heads, *args.head_dim, *args.page_size) <= 0:
        sys.exit("--num-q-heads, --num-kv-heads, --head-dim and --page-size must be positive")
    if args.num_q_heads % args.num_kv_heads:
        heads = f"--num-q-heads ({args.num_q_heads})", f"--num-kv-heads ({args.num_kv_heads})"
        sys.exit(f"{heads[0]} must be a multiple of {heads[1]}")
    ops = set(args.ops)

    # Every page size meets every head dim (the defaults are one of each).
    geometries = [(p, d) for p in args.page_size for d in args.head_dim]
    cases = [
        (dtype, g, "decode", c) for g in geometries for dtype in dtypes for c in decode if "decode" in ops
    ]
    cases += [
        (dtype, g, "prefill", c) for g in geometries for dtype in dtypes for c in prefill if "prefill" in ops
    ]
    cases += [(dtype, g, "fill", c) for g in geometries for dtype in dtypes for c in fill if "fill" in ops]
    bar = progress(len(cases))
    ceilings = device.ceilings()
    results = []
    for dtype, (page_size, head_dim), op, case in cases:
        shape = Shape(
            args.num_q_heads,
            args.num_kv_heads,
            head_dim,
            page_size,
            dtype,
            args.layout,
            **args.variant,
            kv_dtype=args.kv_dtype,
        )
        from .sweep import Sweep

        sweep = Sweep(device, shape, seed=args.seed, rounds=args.rounds)
        getattr(sweep, op)(*case)
        results.extend(m.as_dict() for m in sweep.results)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()

    report.annotate(results, ceilings)
    env = environment(device)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = out_dir / f"{device.name}-{stamp}.json"
    report.write_json(json_path, env, ceilings, results)
    plots = [] if args.no_plots else report.plot([("run", json.loads(json_path.read_text()))], out_dir)
    print(f"\n{env['name']} ({env['device']}), {env['date'][:10]}")
    print(report.table(results, ceilings))
    print(f"\nresults: {json_path}" + "".join(f"\nplot: {p}" for p in plots))
    mismatches = [r for r in results if r["ok"] is False]
    return 1 if mismatches else 0


def replot(args: argparse.Namespace) -> int:
    runs = [(Path(p).stem, json.loads(Path(p).read_text())) for p in args.files]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in report.plot(runs, out_dir):
        print(f"plot: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plot"]:
        parser = argparse.ArgumentParser(
            prog="proxy_attention_lab.bench plot", description="Re-plot saved runs (overlaid)."
        )
        parser.add_argument("files", nargs="+", help="JSON files written by a sweep")
        parser.add_argument("--out", default="bench-results/plots")
        return replot(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(
        prog="proxy_attention_lab.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--ops", nargs="+", choices=["decode", "prefill", "fill"], default=["decode", "prefill", "fill"]
    )
    parser.add_argument("--decode", nargs="*", metavar="BxL", help="decode cases, batch x context")
    parser.add_argument(
        "--prefill", nargs="*", metavar="BxT+H", help="prefill cases, batch x prompt + history"
    )
    parser.add_argument(
        "--fill", nargs="*", metavar="T|SxN", help="fill: T tokens over 8 sequences, or N each for S"
    )
    parser.add_argument("--dtype", nargs="+", choices=list(DTYPES))
    parser.add_argument("--layout", choices=LAYOUTS, default="pal")
    parser.add_argument("--kv-dtype", choices=list(FP8_DTYPES), default="", help="fp8 KV pools (scale 1)")
    parser.add_argument("--num-q-heads", type=int, default=32)
    parser.add_argument("--num-kv-heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, nargs="+", default=[128], help="one or more")
    parser.add_argument("--page-size", type=int, nargs="+", default=[16], help="one or more")
    parser.add_argument(
        "--variant",
        type=parse_variant,
        default={},
        help="attention variant (SPEC §3.5): plain, or window=W,softcap=C,alibi,sinks (any of them)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="time a case's implementations in turn, a share of their runs a round (1: one after another)",
    )
    parser.add_argument("--out", default="bench-results", help="folder for the JSON and PNG files")
    parser.add_argument("--no-plots", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
