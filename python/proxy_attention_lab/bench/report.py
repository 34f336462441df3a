"""Turns measurements into the table on stdout, a JSON file and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

# The ceiling each rate is compared with: decode reads, so the read stream bounds it (on the
# CPU the paged read of its page bytes beside its case, `row_ceiling`); fill copies.
CEILING_OF = {
    ("decode", "GB/s"): ("read_GBps",),
    ("fill", "GB/s"): ("memcpy_GBps", "device_copy_GBps"),
    ("prefill", "TFLOP/s"): ("matmul_TFLOPs",),
}


def case_label(case: dict) -> str:
    if "context" in case:
        return f"{case['batch']}x{case['context']}"
    if "prompt" in case:
        return f"{case['batch']}x{case['prompt']}+{case['history']}"
    return f"{case['tokens']} tok / {case['sequences']} seq"


def row_ceiling(row: dict, ceilings: dict) -> tuple[str, float] | None:
    """The ceiling of one result row: a decode's paged read of its own page bytes where the sweep
    took one beside its case (the CPU), else its op's from the run's ceilings."""
    if row["op"] == "decode" and "paged_read_beside_GBps" in row:
        return "paged_read_beside_GBps", row["paged_read_beside_GBps"]
    return ceiling_for(row["op"], row["metric"], ceilings)


def ceiling_for(op: str, metric: str, ceilings: dict) -> tuple[str, float] | None:
    for key in CEILING_OF.get((op, metric), ()):
        if key in ceilings:
            return key, ceilings[key]
    return None


def annotate(results: list[dict], ceilings: dict) -> None:
    """Adds ``vs_best_peer`` and ``vs_flashinfer`` (PAL rows: against the best peer, and against
    FlashInfer's best path, the peer SPEC §7's targets name) and ``pct_of_ceiling`` (all timed
    rows)."""
    for row in results:
        if row["value"] is None:
            continue
        ceiling = row_ceiling(row, ceilings)
        if ceiling and ceiling[1] > 0:
            row["pct_of_ceiling"] = 100 * row["value"] / ceiling[1]
            row["ceiling"] = ceiling[0]
        if row["impl"] == "pal":
            peers = [
                (r["impl"], r["value"])
                for r in results
                if _same_problem(r, row)
                and not r["impl"].startswith("pal")
                and r["value"] is not None
                and r["ok"]
            ]
            every = [value for _, value in peers]
            flashinfer = [value for name, value in peers if name.startswith("flashinfer")]
            for key, values in (("vs_best_peer", every), ("vs_flashinfer", flashinfer)):
                if values and max(values) > 0:  # (a problem of no bytes, e.g. a zero context, has no ratio)
                    row[key] = row["value"] / max(values)


# What a result row's problem is made of, besides its op and case.
PROBLEM_KEYS = (
    "dtype", "kv_dtype", "layout", "num_q_heads", "num_kv_heads", "head_dim", "page_size",
    "window_left", "logits_soft_cap", "alibi", "sinks",
)  # fmt: skip


def _same_problem(a: dict, b: dict) -> bool:
    return a["op"] == b["op"] and a["case"] == b["case"] and all(a.get(k) == b.get(k) for k in PROBLEM_KEYS)


def _geometry_label(row: dict, varied: set[str]) -> str:
    """`p16 d128` for the geometry keys that vary within the run (none when nothing varies)."""
    parts = {"page_size": "p", "head_dim": "d", "num_kv_heads": "hkv", "layout": ""}
    return " ".join(f"{parts[k]}{row.get(k)}" for k in parts if k in varied)


def _varied(results: list[dict]) -> set[str]:
    return {
        k for k in ("page_size", "head_dim", "num_kv_heads", "layout") if len({r.get(k) for r in results}) > 1
    }


def _problem_line(results: list[dict], varied: set[str]) -> str:
    """What every row shares (the rows label what varies): layout, KV pools, heads, dims, page."""
    if not results:
        return "no results"
    r = results[0]
    parts = [f"HQ {r.get('num_q_heads')} / HKV {r.get('num_kv_heads')}"]
    if "layout" not in varied:
        parts.insert(0, f"layout {r.get('layout')}")
    if "head_dim" not in varied:
        parts.append(f"D {r.get('head_dim')}")
    if "page_size" not in varied:
        parts.append(f"page {r.get('page_size')}")
    pools = sorted({x["kv_dtype"] for x in results if x.get("kv_dtype") not in (None, x["dtype"])})
    parts.append("KV pools " + (", ".join(pools) if pools else "in the queries' dtype"))
    variant_keys = ("window_left", "logits_soft_cap", "alibi", "sinks")
    options = [k for k in variant_keys if r.get(k) not in (None, False, -1, 0)]
    if options:
        parts.append("variant " + ", ".join(f"{k} {r.get(k)}" for k in options))
    return ", ".join(parts)


def table(results: list[dict], ceilings: dict) -> str:
    header = (
        f"{'op':8} {'case':>14} {'dtype':9} {'impl':13} {'latency ms (p10-p90)':>24} {'rate':>16} "
        f"{'vs peer':>8} {'vs FI':>6} {'% ceil':>7}  check"
    )
    varied = _varied(results)
    lines = [_problem_line(results, varied), header, "-" * len(header)]
    for r in results:
        case = (case_label(r["case"]) + " " + _geometry_label(r, varied)).strip()
        label = f"{r['op']:8} {case:>14} {r['dtype']:9} {r['impl']:13}"
        if r["value"] is None:
            lines.append(f"{label} skipped: {r['skipped']}")
            continue
        t = r["timing"]
        latency = f"{t['median_ms']:.3f} ({t['p10_ms']:.3f}-{t['p90_ms']:.3f})"
        rate = f"{r['value']:.2f} {r['metric']}"
        vs = f"{r['vs_best_peer']:.2f}x" if "vs_best_peer" in r else "-"
        vs_fi = f"{r['vs_flashinfer']:.2f}x" if "vs_flashinfer" in r else "-"
        pct = f"{r['pct_of_ceiling']:.0f}%" if "pct_of_ceiling" in r else "-"
        check = f"ok (err {r['max_error']:.1e})" if r["ok"] else f"MISMATCH (err {r['max_error']:.1e})"
        lines.append(f"{label} {latency:>24} {rate:>16} {vs:>8} {vs_fi:>6} {pct:>7}  {check}")
    lines.append("ceilings measured in this run: " + ", ".join(f"{k} = {v:.2f}" for k, v in ceilings.items()))
    return "\n".join(lines)


def write_json(path: Path, environment: dict, ceilings: dict, results: list[dict]) -> None:
    path.write_text(
        json.dumps({"environment": environment, "ceilings": ceilings, "results": results}, indent=2)
    )


def plot(runs: list[tuple[str, dict]], out_dir: Path) -> list[Path]:
    """Per op: rate and latency per case for each implementation (and each run, when several
    are overlaid), with the ceiling as a line; for decode also against context length and batch
    size wherever the sweep varies one with the other fixed. Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    ops = sorted({r["op"] for _, run in runs for r in run["results"]})
    varied = _varied([r for _, run in runs for r in run["results"]])

    def x_label(r: dict) -> str:
        return " ".join(filter(None, (case_label(r["case"]), _geometry_label(r, varied), r["dtype"])))

    for op in ops:
        fig, (rate_ax, latency_ax) = plt.subplots(1, 2, figsize=(13, 4.8))
        labels: list[str] = []
        for _, run in runs:
            for r in run["results"]:
                if r["op"] == op and x_label(r) not in labels:
                    labels.append(x_label(r))
        x_of = {label: i for i, label in enumerate(labels)}
        metric = ""
        for tag, run in runs:
            impls = sorted({r["impl"] for r in run["results"] if r["op"] == op and r["value"] is not None})
            for impl in impls:
                rows = [
                    r
                    for r in run["results"]
                    if r["op"] == op and r["impl"] == impl and r["value"] is not None
                ]
                xs = [x_of[x_label(r)] for r in rows]
                name = f"{impl} ({tag})" if len(runs) > 1 else impl
                rate_ax.plot(xs, [r["value"] for r in rows], marker="o", label=name)
                latency_ax.plot(xs, [r["timing"]["median_ms"] for r in rows], marker="o", label=name)
                metric = rows[0]["metric"]
            suffix = f" ({tag})" if len(runs) > 1 else ""
            rows = [r for r in run["results"] if r["op"] == op and r["value"] is not None]
            _draw_ceilings(rate_ax, [(x_of[x_label(r)], r) for r in rows], op, metric, run, suffix)
        for ax, title in ((rate_ax, metric), (latency_ax, "latency (ms, median)")):
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
            ax.set_title(f"{op}: {title}")
            ax.grid(alpha=0.3)
        latency_ax.set_yscale("log")
        rate_ax.legend(fontsize=8)
        device = runs[0][1]["environment"].get("name", "")
        fig.suptitle(f"PAL {op} on {device}")
        fig.tight_layout()
        path = out_dir / f"{op}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    if "decode" in ops:
        for axis in DECODE_AXES:
            path = _decode_sweep(plt, runs, axis, out_dir)
            if path is not None:
                written.append(path)
    return written


def _draw_ceilings(ax, points: list[tuple[float, dict]], op: str, metric: str, run: dict, tag: str) -> None:
    """The ceilings that rows at x positions `points` were set against: a line for one the whole
    run shares, a dashed series for one taken beside each case (the CPU's paged read)."""
    by_name: dict[str, dict[float, float]] = {}
    for x, row in points:
        if ceiling := row_ceiling(row, run["ceilings"]):
            by_name.setdefault(ceiling[0], {})[x] = ceiling[1]
    if not by_name and (ceiling := ceiling_for(op, metric, run["ceilings"])):
        by_name[ceiling[0]] = {0: ceiling[1]}
    style = {"linestyle": "--", "color": "gray"}
    for name, at in by_name.items():
        if len(set(at.values())) == 1:
            ax.axhline(next(iter(at.values())), label=f"{name}{tag}", **style)
        else:
            xs = sorted(at)
            ax.plot(xs, [at[x] for x in xs], marker="x", label=f"{name}{tag}", **style)


# What a decode sweep varies: the case's batch and context, and the problem's page size and head dim.
DECODE_AXES = ("context", "batch", "page_size", "head_dim")


def _axis_value(row: dict, axis: str):
    return row["case"][axis] if axis in row["case"] else row.get(axis)


def _decode_sweep(plt, runs: list[tuple[str, dict]], axis: str, out_dir: Path) -> Path | None:
    """Decode rate and latency against `axis` (context length, batch size, page size or head
    dim), one line per implementation, dtype and setting of the other axes that the sweep
    covers at two or more points."""
    series: dict[tuple, list[tuple[int, float, float]]] = {}
    others = [a for a in DECODE_AXES if a != axis]
    for tag, run in runs:
        for r in run["results"]:
            if r["op"] == "decode" and r["value"] is not None:
                fixed = tuple((a, _axis_value(r, a)) for a in others)
                key = (tag, r["impl"], r["dtype"], r.get("layout"), fixed)
                point = (_axis_value(r, axis), r["value"], r["timing"]["median_ms"], r)
                series.setdefault(key, []).append(point)
    series = {
        key: sorted(points, key=lambda p: p[:3])
        for key, points in series.items()
        if len({p[0] for p in points}) >= 2
    }
    if not series:
        return None
    fig, (rate_ax, latency_ax) = plt.subplots(1, 2, figsize=(13, 4.8))
    ceiling_points: dict[str, list[tuple[float, dict]]] = {}
    for (tag, impl, dtype, layout, fixed), points in sorted(series.items(), key=str):
        setting = ", ".join(f"{a} {v}" for a, v in fixed)
        label = f"{impl} {dtype} {layout}, {setting}" + (f" ({tag})" if len(runs) > 1 else "")
        xs = [p[0] for p in points]
        rate_ax.plot(xs, [p[1] for p in points], marker="o", label=label)
        latency_ax.plot(xs, [p[2] for p in points], marker="o", label=label)
        if impl == "pal":  # (the ceilings beside PAL's own cases)
            ceiling_points.setdefault(tag, []).extend((p[0], p[3]) for p in points)
    for tag, run in runs:
        suffix = f" ({tag})" if len(runs) > 1 else ""
        _draw_ceilings(rate_ax, ceiling_points.get(tag, []), "decode", "GB/s", run, suffix)
    for ax, title in ((rate_ax, "GB/s"), (latency_ax, "latency (ms, median)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel(axis)
        ax.set_title(f"decode: {title} vs {axis}")
        ax.grid(alpha=0.3)
    latency_ax.set_yscale("log")
    rate_ax.legend(fontsize=7)
    fig.suptitle(f"PAL decode on {runs[0][1]['environment'].get('name', '')}")
    fig.tight_layout()
    path = out_dir / f"decode_vs_{axis}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
