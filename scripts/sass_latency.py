"""A latency floor for a straight-line block of SASS, without a GPU: one warp issuing in order, an
instruction waiting for its source registers (scoreboard) and for its pipe, with approximate
Hopper latencies (4 cycles for the ALU and FMA pipes, 20 for MUFU, about 30 for shuffles and
shared loads) and MUFU's throughput (16 lanes a cycle an SM: a warp instruction holds a
sub-partition's unit 8 cycles). `--mufu-share 2` models a second warp of the sub-partition
using MUFU at the same time. What the hardware adds (other warps' issue, memory) it leaves out:
a block that measures well above its floor waits on something other than its own chain.

    python scripts/kernel_report.py prefill_wgmma.cu -D ... --arch sm_90a --cubin k.cubin
    cuobjdump -sass k.cubin > k.sass
    python scripts/sass_latency.py k.sass 0x8400 0x9290 [--mufu-share 2]
"""

from __future__ import annotations

import argparse
import re

LATENCY = {"MUFU": 20, "SHFL": 28, "LDS": 30, "F2FP": 5}  # cycles to the result; others 4
HOLD = {"MUFU": 8}  # cycles a warp instruction holds its pipe


def parse(path: str) -> list[tuple[int, str]]:
    """(address, instruction) of every SASS line of a `cuobjdump -sass` listing."""
    rows = []
    for line in open(path):
        m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m:
            rows.append((int(m.group(1), 16), m.group(2).strip()))
    return rows


def floor_cycles(block: list[tuple[int, str]], mufu_share: float = 1.0) -> int:
    """Cycles for one warp to issue `block` in order (its last instruction's issue cycle)."""
    ready: dict[str, float] = {}
    pipe_free: dict[str, float] = {}
    t = 0.0
    for _, text in block:
        guard = re.match(r"^@!?(U?P\w+)\s+", text)  # a predicate guard is read like a source
        text = text[guard.end() :] if guard else text
        op = text.split()[0]
        unit = op.split(".")[0]
        operands = [x.strip() for x in text[len(op) :].split(",")]
        destination, sources = operands[0], ",".join(operands[1:]) + (f",{guard.group(1)}" if guard else "")
        issue = t + 1
        for name in re.findall(r"\b([RP]\d+)\b", sources):
            issue = max(issue, ready.get(name, 0.0))
        if unit in HOLD:
            issue = max(issue, pipe_free.get(unit, 0.0))
            pipe_free[unit] = issue + HOLD[unit] * mufu_share
        for name in re.findall(r"\b([RP]\d+)\b", destination):
            ready[name] = issue + LATENCY.get(unit, 4)
        t = issue
    return int(t)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("sass", help="a cuobjdump -sass listing")
    parser.add_argument("start", help="first address of the block (hex)")
    parser.add_argument("end", help="address after the block (hex)")
    parser.add_argument("--mufu-share", type=float, default=1.0, help="warps sharing MUFU at once")
    args = parser.parse_args()
    lo, hi = int(args.start, 16), int(args.end, 16)
    block = [row for row in parse(args.sass) if lo <= row[0] < hi]
    mufu = sum(1 for _, text in block if "MUFU" in text)
    print(f"{len(block)} instructions ({mufu} MUFU): {floor_cycles(block, args.mufu_share)} cycles")


if __name__ == "__main__":
    main()
