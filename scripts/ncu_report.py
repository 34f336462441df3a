"""Hardware counters of one PAL kernel launch, on the GPU machine (`ncu --clock-control none`),
summarised as the figures that steered the kernel work (docs/kernels.md): time, tensor-pipe and
L2 activity, instructions issued per cycle, warp instructions executed, the leading stall
reasons, then from the per-instruction source view the hottest straight-line SASS blocks and
every instruction with excess global sectors or shared-memory wavefronts.

    python scripts/ncu_report.py prefill --layout pal --row 4x1024+8192 --out prof/pal-hist
    python scripts/ncu_report.py decode --layout nhd --row 8x4096 --out prof/decode
    python scripts/ncu_report.py decode --layout nhd --row 32x4096 --page 4 --out prof/nhd-p4
    python scripts/ncu_report.py fill --layout pal --row 32768 --out prof/fill  # over 8 sequences
    python scripts/ncu_report.py prefill --layout flashinfer-fa3 --row 16x1024+0 --out prof/fa3
    python scripts/ncu_report.py summary prof/pal-hist        # re-read a saved run, anywhere

`PAL_KERNEL_DIR` / `PAL_PREFILL_TUNING` pass through to the profiled process. Runs write
`details.txt` and `source.csv` under `--out`; `summary` also reads a gzipped `source.csv.gz`.
The summary ends with where the warps stalled: the leading stall reasons of the sampled warps
with the opcodes they stalled on, and the straight-line blocks holding most samples."""

import argparse
import collections
import csv
import gzip
import os
import re
import subprocess
import sys

SECTIONS = [
    "SpeedOfLight",
    "ComputeWorkloadAnalysis",
    "MemoryWorkloadAnalysis",
    "WarpStateStats",
    "SchedulerStats",
    "LaunchStats",
    "Occupancy",
    "SourceCounters",
]
HEADLINES = [
    "Duration",
    "Registers Per Thread",
    "Dynamic Shared Memory Per Block",
    "Grid Size",
    "SM: Pipe Tensor Cycles Active",
    "L2 Cache Throughput",
    "DRAM Throughput",
    "Issued Ipc Active",
    "Executed Instructions",
    "L2 Theoretical Sectors Global Excessive",
    "L1 Wavefronts Shared Excessive",
]


def workload(op, layout, row, kv_dtype="", page="16", dim="128", heads="32/8"):
    """Runs `op` on `row` three times (ncu profiles the third launch); decode takes the page
    size, head dim and query / KV heads too."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import proxy_attention_lab as pal
    import torch

    if op == "prefill" and layout.startswith("flashinfer-"):
        # The peer on the same row: FlashInfer's FA2 or FA3 path (`--layout flashinfer-fa3`).
        from prefill_sweep import flashinfer_prefill

        call = flashinfer_prefill(row, 128, 16, layout.removeprefix("flashinfer-"))
    elif op == "prefill":
        from prefill_sweep import make_case

        kv = getattr(torch, kv_dtype) if kv_dtype else torch.bfloat16
        inputs, _ = make_case(row, layout, 128, 16, torch.Generator(device="cuda").manual_seed(0), kv)

        def call():
            return pal.paged_attention_prefill(*inputs, layout=layout)
    elif op == "fill":
        # `row` new tokens over 8 sequences, pages in random order (the lab's fill case).
        tokens, hkv, dim, page = int(row), 8, 128, 16
        per_seq = -(-tokens // 8)
        pages = 8 * -(-per_seq // page)
        g = torch.Generator(device="cuda").manual_seed(0)
        shape = (pages, hkv, dim, page, torch.bfloat16, layout)
        k_cache = torch.zeros(*pal.get_k_cache_shape(*shape), dtype=torch.bfloat16, device="cuda")
        v_cache = torch.zeros(*pal.get_v_cache_shape(*shape), dtype=torch.bfloat16, device="cuda")
        table = torch.randperm(pages, generator=g, device="cuda").int().view(8, -1)
        keys = torch.randn(tokens, hkv, dim, generator=g, device="cuda").to(torch.bfloat16)
        values = torch.randn_like(keys)
        arange = torch.arange(tokens, device="cuda", dtype=torch.int32)
        positions, token_to_seq = arange % per_seq, arange // per_seq

        def call():
            return pal.fill_kv_pages(
                keys, values, k_cache, v_cache, table, positions, token_to_seq, layout=layout
            )
    else:
        from decode_sweep import make_case

        batch, context = (int(x) for x in row.split("x"))
        kv = getattr(torch, kv_dtype) if kv_dtype else None
        hq, hkv = (int(x) for x in heads.split("/"))
        shape = (batch, context, hq, hkv, int(dim), int(page))
        q, k, v, table, lens = make_case(*shape, torch.bfloat16, layout, kv)

        def call():
            return pal.paged_attention_decode(q, k, v, table, lens, layout=layout)

    for _ in range(3):
        call()
    torch.cuda.synchronize()


def profile(args):
    os.makedirs(args.out, exist_ok=True)
    child = [sys.executable, os.path.abspath(__file__), "_workload", args.op, args.layout, args.row]
    child += [args.kv_dtype, str(args.page), str(args.dim), args.heads]
    # The decode call's main kernel (its split merge, when there is one, is another launch).
    kernel = "regex:^pal_decode$" if args.op == "decode" else "regex:pal_"
    if args.layout.startswith("flashinfer-"):
        kernel = "regex:[Pp]refill"  # FlashInfer's prefill kernels, not its setup launches
    base = ["ncu", "--clock-control", "none", "-k", kernel, "--launch-skip", "2", "--launch-count", "1"]
    sections = [flag for name in SECTIONS for flag in ("--section", name)]
    details = ["--page", "details", "--print-details", "all"]
    with open(os.path.join(args.out, "details.txt"), "w") as out:
        subprocess.run(base + sections + details + child, stdout=out, check=True)
    with open(os.path.join(args.out, "source.csv"), "w") as out:
        source = ["--section", "SourceCounters", "--page", "source", "--csv", "--print-source", "sass"]
        subprocess.run(base + source + child, stdout=out, check=True)
    summary(args.out)


def headline_metrics(text):
    """First value of each headline metric, and the stall reasons (cycles per issued instruction)."""
    found = {}
    for name in HEADLINES:
        match = re.search(rf"^\s*{re.escape(name)}\s+(\S+)?\s+([\d,.]+)\s*$", text, re.M)
        if match:
            found[name] = f"{match.group(2)} {match.group(1) or ''}".strip()
    stalls = re.findall(r"^\s*Stall ([A-Za-z ]+?)\s+inst\s+([\d.]+)\s*$", text, re.M)
    stalls = sorted(((float(value), name) for name, value in stalls), reverse=True)
    return found, stalls


def source_rows(path):
    """Per SASS instruction: address, text, executions, excess L2 sectors, excess shared
    wavefronts, their totals and ideals (sectors, ideal sectors, wavefronts, ideal wavefronts),
    sampled warps, and the samples per stall reason."""
    with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as f:
        rows = list(csv.reader(f))
    start = next(i for i, row in enumerate(rows) if row and row[0] == "Address")
    head = rows[start]

    def number(text):
        try:
            return float(text.replace(",", "") or 0)
        except ValueError:
            return 0.0

    columns = {name: head.index(name) for name in head}
    stall_columns = [n for n in head if n.startswith("stall_") and not n.endswith("(Not Issued)")]
    out = []
    for row in rows[start + 1 :]:
        if len(row) < len(head):
            continue
        get = {name: row[i] for name, i in columns.items()}
        out.append(
            (
                int(get["Address"], 16),
                get["Source"].strip(),
                number(get["Instructions Executed"]),
                number(get.get("L2 Theoretical Sectors Global Excessive", "0")),
                number(get.get("L1 Wavefronts Shared Excessive", "0")),
                tuple(
                    number(get.get(name, "0"))
                    for name in (
                        "L2 Theoretical Sectors Global",
                        "L2 Theoretical Sectors Global Ideal",
                        "L1 Wavefronts Shared",
                        "L1 Wavefronts Shared Ideal",
                    )
                ),
                number(get.get("# Samples", "0")),
                {name[len("stall_") :]: number(get[name]) for name in stall_columns},
            )
        )
    return out


def opcode(text):
    """The opcode of a SASS line, without its predicate and modifiers."""
    words = text.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0].split(".")[0] if words else ""


def stall_report(rows, reasons=6, opcodes=5, blocks=8):
    """Lines: the leading stall reasons (share of the sampled warps) with the opcodes that
    stalled on them, and the straight-line blocks holding the most samples."""
    total = sum(r[6] for r in rows)
    if not total:
        return []
    by_reason, by_opcode = collections.Counter(), collections.defaultdict(collections.Counter)
    for row in rows:
        for reason, samples in row[7].items():
            by_reason[reason] += samples
            by_opcode[reason][opcode(row[1])] += samples
    lines = [f"warp stall samples: {total:,.0f}; leading reasons (share, opcodes stalled on them):"]
    for reason, samples in by_reason.most_common(reasons):
        top = ", ".join(f"{op} {n / total:.1%}" for op, n in by_opcode[reason].most_common(opcodes) if n)
        lines.append(f"  {reason:<18} {samples / total:6.1%}   {top}")
    spans = []
    for row in rows:
        if spans and spans[-1]["runs"] == row[2]:
            spans[-1]["last"] = row[0]
            spans[-1]["length"] += 1
        else:
            spans.append({"first": row[0], "last": row[0], "runs": row[2], "length": 1, "samples": 0})
            spans[-1]["ops"] = collections.Counter()
        spans[-1]["samples"] += row[6]
        spans[-1]["ops"][opcode(row[1])] += 1
    base = rows[0][0]
    lines.append("blocks by stall samples (offset, length, runs, share, their commonest opcodes):")
    for span in sorted(spans, key=lambda b: -b["samples"])[:blocks]:
        ops = " ".join(f"{op} {n}" for op, n in span["ops"].most_common(5))
        where = f"{span['first'] - base:#07x}-{span['last'] - base:#07x}"
        lines.append(
            f"  {where} {span['length']:4d} x {int(span['runs']):>9,}  {span['samples'] / total:5.1%}  {ops}"
        )
    return lines


def hot_blocks(rows, most=10):
    """Runs of consecutive instructions executed equally often, by instructions they executed."""
    blocks = []
    for address, _, executed, *_ in rows:
        if blocks and blocks[-1][2] == executed:
            blocks[-1][1] = address
            blocks[-1][3] += 1
        else:
            blocks.append([address, address, executed, 1])
    base = rows[0][0] if rows else 0
    blocks.sort(key=lambda b: -b[2] * b[3])
    return [(b[0] - base, b[1] - base, int(b[2]), b[3]) for b in blocks[:most] if b[2] > 0]


def summary(folder):
    details = os.path.join(folder, "details.txt")
    if os.path.exists(details):
        found, stalls = headline_metrics(open(details).read())
        for name, value in found.items():
            print(f"{name:<42} {value}")
        leading = ", ".join(f"{n.lower()} {v:.2f}" for v, n in stalls[:6])
        print("stalls (cycles per issued instruction):", leading)
    source = os.path.join(folder, "source.csv")
    if not os.path.exists(source):
        source += ".gz"
    if not os.path.exists(source):
        return
    rows = source_rows(source)
    total = sum(r[2] for r in rows)
    print(f"\nwarp instructions executed: {total:,.0f}; hottest straight-line blocks (offset, length, runs):")
    for first, last, executed, length in hot_blocks(rows):
        share = length * executed / total
        print(f"  {first:#07x}-{last:#07x}  {length:4d} instr x {executed:>9,}  = {share:5.1%}")
    excess = [r for r in rows if r[3] > 0 or r[4] > 0]
    if excess:
        print("instructions with excess L2 sectors / shared wavefronts (per execution: actual / ideal):")
        base = rows[0][0]
        for address, text, executed, _, _, (sectors, ideal_sectors, waves, ideal_waves), *_ in sorted(
            excess, key=lambda r: -(r[3] + r[4])
        )[:12]:
            runs = max(executed, 1)
            extra = f"sectors {sectors / runs:.1f} / {ideal_sectors / runs:.1f}"
            extra += f"  wavefronts {waves / runs:.1f} / {ideal_waves / runs:.1f}"
            print(f"  {address - base:#07x} {text[:60]:<60} {extra}")
    for line in stall_report(rows):
        print(line)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_workload":
        return workload(*sys.argv[2:9])
    parser = argparse.ArgumentParser()
    parser.add_argument("op", choices=["prefill", "decode", "fill", "summary"])
    parser.add_argument("folder", nargs="?", help="summary: a folder of an earlier run")
    parser.add_argument("--layout", default="pal")
    parser.add_argument("--row", default="4x4096+0", help="prefill BxT+H, decode BxL, fill T")
    parser.add_argument("--out", default="ncu-report")
    parser.add_argument("--kv-dtype", default="", help="decode / prefill: fp8 pools, e.g. float8_e4m3fn")
    parser.add_argument("--page", type=int, default=16, help="decode: page size")
    parser.add_argument("--dim", type=int, default=128, help="decode: head dim")
    parser.add_argument("--heads", default="32/8", help="decode: query / KV heads")
    args = parser.parse_args()
    if args.op == "summary":
        return summary(args.folder or args.out)
    profile(args)


if __name__ == "__main__":
    main()
