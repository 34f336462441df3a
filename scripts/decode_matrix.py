"""Issue 11's decode matrix beside FlashInfer, with each row's target and verdict: PAL's default
eager call (the public function, its defaults: what an engine calls) and its kernel time by
CUDA-graph replay, FlashInfer's best path (`decode_sweep.flashinfer_decode`), the read ceiling
measured in the same run. One process, one JSON (`--json`), a verdict table printed last.

    python scripts/decode_matrix.py [--groups spec pages heads dims dtypes fp8] [--json out.json]

The rule (issue 11), in bytes of K / V read per second: PAL >= FlashInfer; where FlashInfer runs
under 90% of the ceiling, >= 1.25x FlashInfer capped at 95% of the ceiling; elsewhere, and where
FlashInfer has no kernel for the row (float32, some head dims), >= 95% of the ceiling. fp8 pools
(issue 14): >= 2x FlashInfer at 8 x 4096 and >= 85% of the ceiling at 32 x 4096.
"""

from __future__ import annotations

import argparse
import json

GROUPS = {
    # (batch x context rows, page, head dim, query / KV heads, dtype, kv dtype)
    "spec": [
        (r, 16, 128, "32/8", "bfloat16", None)
        for r in ("1x4096", "1x32768", "8x4096", "32x4096", "64x4096", "128x2048", "256x1024")
    ],
    "pages": [
        (r, p, 128, "32/8", "bfloat16", None)
        for p in (1, 2, 4, 8, 32, 64, 128)
        for r in ("8x4096", "32x4096")
    ],
    "heads": [
        (r, 16, 128, h, "bfloat16", None)
        for h in ("32/32", "32/1", "64/8")
        for r in ("1x4096", "8x4096", "32x4096")
    ],
    "dims": [
        (r, 16, d, "32/8", "bfloat16", None)
        for d in (64, 80, 96, 112, 192, 256)
        for r in ("1x4096", "8x4096", "32x4096")
    ],
    "dtypes": [
        (r, 16, 128, "32/8", t, None) for t in ("float16", "float32") for r in ("1x4096", "8x4096", "32x4096")
    ],
    "fp8": [
        (r, p, 128, "32/8", "bfloat16", "float8_e4m3fn") for p in (16, 32, 64) for r in ("8x4096", "32x4096")
    ],
}


def decode_target(flashinfer: float | None, ceiling: float) -> tuple[float, str]:
    """Issue 11's least TB/s for a row, and why: `flashinfer` its best path's TB/s (None where it
    has no kernel for the row), `ceiling` the read ceiling of the same run."""
    if flashinfer is None:
        return 0.95 * ceiling, "95% of the ceiling (no FlashInfer)"
    if flashinfer < 0.9 * ceiling:
        if 1.25 * flashinfer <= 0.95 * ceiling:
            return 1.25 * flashinfer, "1.25x FlashInfer"
        return 0.95 * ceiling, "95% of the ceiling (1.25x FlashInfer capped)"
    return max(flashinfer, 0.95 * ceiling), "95% of the ceiling and FlashInfer"


def fp8_target(row: str, flashinfer: float | None, ceiling: float) -> tuple[float, str] | None:
    """Issue 14's least TB/s of fp8 bytes for `row`, or None where it names none."""
    if row == "8x4096" and flashinfer is not None:
        return 2.0 * flashinfer, "2x FlashInfer"
    if row == "32x4096":
        return 0.85 * ceiling, "85% of the ceiling"
    return None


def main() -> None:
    import decode_sweep as sweep
    import torch
    from proxy_attention_lab.bench.sweep import error_line

    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", nargs="+", default=list(GROUPS), choices=list(GROUPS))
    parser.add_argument("--layouts", nargs="+", default=["nhd", "pal"])
    parser.add_argument("--json")
    args = parser.parse_args()
    ceiling = sweep.read_ceiling()
    print(f"read ceiling {ceiling:.2f} TB/s", flush=True)
    results = []
    for group in args.groups:
        for row, page, dim, heads, dtype, kv_dtype in GROUPS[group]:
            batch, context = (int(x) for x in row.split("x"))
            hq, hkv = (int(x) for x in heads.split("/"))
            kv = getattr(torch, kv_dtype) if kv_dtype else None
            fi_ms = None
            if dtype != "float32":  # FlashInfer has no float32 decode; it reads nhd pools
                q, k, v, table, lens = sweep.make_case(
                    batch, context, hq, hkv, dim, page, getattr(torch, dtype), "nhd", kv
                )
                try:
                    fi_ms = sweep.flashinfer_decode(q, k, v, table, lens, page, "nhd")
                except Exception as error:  # noqa: BLE001 - a shape it has no kernel for
                    print(f"flashinfer: {error_line(error, 120)}")
                del q, k, v, table, lens
            for layout in args.layouts:
                timed, _ = sweep.time_case(
                    batch, context, hq, hkv, dim, page, getattr(torch, dtype), layout, False, kv
                )
                # The same bytes for every layout and for FlashInfer.
                fi = timed["bytes"] / fi_ms / 1e9 if fi_ms else None
                eager = timed["bytes"] / timed["eager_ms"] / 1e9
                kernel = timed["bytes"] / timed["kernel_ms"] / 1e9
                goal = fp8_target(row, fi, ceiling) if kv_dtype else decode_target(fi, ceiling)
                case = dict(
                    group=group,
                    row=row,
                    page=page,
                    dim=dim,
                    heads=heads,
                    dtype=kv_dtype or dtype,
                    layout=layout,
                )
                case.update(eager_tbs=eager, kernel_tbs=kernel, flashinfer_tbs=fi, ceiling_tbs=ceiling)
                if goal:
                    case.update(target_tbs=goal[0], target=goal[1], met=eager >= goal[0])
                results.append(case)
                print(
                    f"{group} {layout} {row} p{page} d{dim} {heads} {case['dtype']}: eager {eager:.2f} TB/s "
                    f"({eager / ceiling:.0%}), kernel {kernel:.2f}, FlashInfer {fi or 0:.2f}"
                    + (
                        f"; target {goal[0]:.2f} ({goal[1]}): {'met' if eager >= goal[0] else 'not met'}"
                        if goal
                        else ""
                    ),
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"read_ceiling_tbs": ceiling, "results": results}, f, indent=1)
    columns = ["group", "layout", "row", "page", "dim", "heads", "dtype", "eager TB/s", "/ FlashInfer"]
    columns += ["% ceiling", "target", "met"]
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for c in results:
        ratio = f"{c['eager_tbs'] / c['flashinfer_tbs']:.2f}x" if c["flashinfer_tbs"] else "-"
        target = f"{c['target_tbs']:.2f}" if "target_tbs" in c else "-"
        met = ("yes" if c["met"] else "**no**") if "met" in c else "-"
        cells = [c[k] for k in ("group", "layout", "row", "page", "dim", "heads", "dtype")]
        cells += [f"{c['eager_tbs']:.2f}", ratio, f"{c['eager_tbs'] / ceiling:.0%}", target, met]
        print("| " + " | ".join(str(x) for x in cells) + " |")
    judged = [c for c in results if "met" in c]
    print(f"rows at target: {sum(1 for c in judged if c['met'])} of {len(judged)}")


if __name__ == "__main__":
    main()
