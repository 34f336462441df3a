"""Hardware counters of one PAL kernel launch, on the GPU machine (`ncu --clock-control none`),
summarised as the figures that steered the kernel work (docs/kernels.md): time, tensor-pipe and
L2 activity, instructions issued per cycle, warp instructions executed, the leading stall
reasons, then from the per-instruction source view the hottest straight-line SASS blocks and
every instruction with excess global sectors or shared-memory wavefronts.

    python scripts/ncu_report.py prefill --layout pal --row 4x1024+8192 --out prof/pal-hist
    python scripts/ncu_report.py prefill --layout pal --row 4x1024+8192 --page 8 --out prof/pal-p8
    python scripts/ncu_report.py prefill --layout nhd --row 4x1024+8192 --soft-cap 30 --out prof/cap
    python scripts/ncu_report.py decode --layout nhd --row 8x4096 --out prof/decode
    python scripts/ncu_report.py decode --layout nhd --row 32x4096 --page 4 --out prof/nhd-p4
    python scripts/ncu_report.py decode --dtype float32 --layout nhd --row 32x4096 --out prof/f32
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


def workload(
    op,
    layout,
    row,
    kv_dtype="",
    page="16",
    dim="128",
    heads="32/8",
    soft_cap="0",
    dtype="bfloat16",
    variant="plain",
):
    """Runs `op` on `row` three times (ncu profiles the third launch); decode takes the page
    size, head dim, query / KV heads and queries' dtype too, decode and prefill a logit soft-cap
    (0: off), prefill SPEC §3.5's options in the lab's form (`alibi`, `window=1024`)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import proxy_attention_lab as pal
    import torch

    if op == "prefill" and layout.startswith("flashinfer-"):
        # The peer on the same row: FlashInfer's FA2 or FA3 path (`--layout flashinfer-fa3`).
        from prefill_sweep import flashinfer_prefill

        call = flashinfer_prefill(row, int(dim), int(page), layout.removeprefix("flashinfer-"))
    elif op == "prefill":
        from prefill_sweep import make_case, variant_options

        kv = getattr(torch, kv_dtype) if kv_dtype else torch.bfloat16
        generator = torch.Generator(device="cuda").manual_seed(0)
        inputs, _ = make_case(row, layout, int(dim), int(page), generator, kv)
        options = variant_options(variant)
        options.setdefault("logits_soft_cap", float(soft_cap))

        def call():
            return pal.paged_attention_prefill(*inputs, layout=layout, **options)
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
        q, k, v, table, lens = make_case(*shape, getattr(torch, dtype), layout, kv)

        def call():
            return pal.paged_attention_decode(
                q, k, v, table, lens, layout=layout, logits_soft_cap=float(soft_cap)
            )

    for _ in range(3):
        call()
    torch.cuda.synchronize()


def profile(args):
    os.makedirs(args.out, exist_ok=True)
    child = [sys.executable, os.path.abspath(__file__), "_workload", args.op, args.layout, args.row]
    child += [args.kv_dtype, str(args.page), str(args.dim), args.heads, str(args.soft_cap), args.dtype]
    child += [args.variant]
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


# One SASS instruction of ncu's source view: its address and text, executions, excess L2 sectors
# and shared wavefronts, their totals and ideals, sampled warps, and the samples per stall reason.
Row = collections.namedtuple(
    "Row",
    "address text executed excess_sectors excess_wavefronts sectors ideal_sectors wavefronts"
    " ideal_wavefronts samples stalls",
)


def source_rows(path):
    """The `Row`s of a saved source view (`source.csv`, or gzipped)."""
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
            Row(
                int(get["Address"], 16),
                get["Source"].strip(),
                number(get["Instructions Executed"]),
                *(
                    number(get.get(name, "0"))
                    for name in (
                        "L2 Theoretical Sectors Global Excessive",
                        "L1 Wavefronts Shared Excessive",
                        "L2 Theoretical Sectors Global",
                        "L2 Theoretical Sectors Global Ideal",
                        "L1 Wavefronts Shared",
                        "L1 Wavefronts Shared Ideal",
                        "# Samples",
                    )
                ),
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


def straight_blocks(rows):
    """Runs of consecutive instructions executed equally often (straight-line blocks), each a
    list of its rows."""
    blocks = []
    for row in rows:
        if blocks and blocks[-1][-1].executed == row.executed:
            blocks[-1].append(row)
        else:
            blocks.append([row])
    return blocks


def stall_report(rows, reasons=6, opcodes=5, blocks=8):
    """Lines: the leading stall reasons (share of the sampled warps) with the opcodes that
    stalled on them, and the straight-line blocks holding the most samples."""
    total = sum(r.samples for r in rows)
    if not total:
        return []
    by_reason, by_opcode = collections.Counter(), collections.defaultdict(collections.Counter)
    for row in rows:
        for reason, samples in row.stalls.items():
            by_reason[reason] += samples
            by_opcode[reason][opcode(row.text)] += samples
    lines = [f"warp stall samples: {total:,.0f}; leading reasons (share, opcodes stalled on them):"]
    for reason, samples in by_reason.most_common(reasons):
        top = ", ".join(f"{op} {n / total:.1%}" for op, n in by_opcode[reason].most_common(opcodes) if n)
        lines.append(f"  {reason:<18} {samples / total:6.1%}   {top}")
    base = rows[0].address
    lines.append("blocks by stall samples (offset, length, runs, share, their commonest opcodes):")
    for block in sorted(straight_blocks(rows), key=lambda b: -sum(r.samples for r in b))[:blocks]:
        commonest = collections.Counter(opcode(r.text) for r in block).most_common(5)
        ops = " ".join(f"{op} {n}" for op, n in commonest)
        where = f"{block[0].address - base:#07x}-{block[-1].address - base:#07x}"
        share = sum(r.samples for r in block) / total
        lines.append(f"  {where} {len(block):4d} x {int(block[0].executed):>9,}  {share:5.1%}  {ops}")
    return lines


def hot_blocks(rows, most=10):
    """Straight-line blocks by the instructions they executed: (first, last offset, runs, length)."""
    base = rows[0].address if rows else 0
    blocks = sorted(straight_blocks(rows), key=lambda b: -b[0].executed * len(b))
    return [
        (b[0].address - base, b[-1].address - base, int(b[0].executed), len(b))
        for b in blocks[:most]
        if b[0].executed > 0
    ]


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
    total = sum(r.executed for r in rows)
    print(f"\nwarp instructions executed: {total:,.0f}; hottest straight-line blocks (offset, length, runs):")
    for first, last, executed, length in hot_blocks(rows):
        share = length * executed / total
        print(f"  {first:#07x}-{last:#07x}  {length:4d} instr x {executed:>9,}  = {share:5.1%}")
    excess = [r for r in rows if r.excess_sectors > 0 or r.excess_wavefronts > 0]
    if excess:
        print("instructions with excess L2 sectors / shared wavefronts (per execution: actual / ideal):")
        base = rows[0].address
        for r in sorted(excess, key=lambda r: -(r.excess_sectors + r.excess_wavefronts))[:12]:
            runs = max(r.executed, 1)
            extra = f"sectors {r.sectors / runs:.1f} / {r.ideal_sectors / runs:.1f}"
            extra += f"  wavefronts {r.wavefronts / runs:.1f} / {r.ideal_wavefronts / runs:.1f}"
            print(f"  {r.address - base:#07x} {r.text[:60]:<60} {extra}")
    for line in stall_report(rows):
        print(line)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_workload":
        return workload(*sys.argv[2:12])
    parser = argparse.ArgumentParser()
    parser.add_argument("op", choices=["prefill", "decode", "fill", "summary"])
    parser.add_argument("folder", nargs="?", help="summary: a folder of an earlier run")
    parser.add_argument("--layout", default="pal")
    parser.add_argument("--row", default="4x4096+0", help="prefill BxT+H, decode BxL, fill T")
    parser.add_argument("--out", default="ncu-report")
    parser.add_argument("--kv-dtype", default="", help="decode / prefill: fp8 pools, e.g. float8_e4m3fn")
    parser.add_argument("--page", type=int, default=16, help="decode / prefill: page size")
    parser.add_argument("--dim", type=int, default=128, help="decode / prefill: head dim")
    parser.add_argument("--heads", default="32/8", help="decode: query / KV heads")
    parser.add_argument("--dtype", default="bfloat16", help="decode: queries' dtype (float32 pools too)")
    parser.add_argument("--soft-cap", type=float, default=0.0, help="decode / prefill: logits_soft_cap")
    parser.add_argument("--variant", default="plain", help="prefill: SPEC §3.5 options (`alibi`, ...)")
    args = parser.parse_args()
    if args.op == "summary":
        return summary(args.folder or args.out)
    profile(args)


if __name__ == "__main__":
    main()
