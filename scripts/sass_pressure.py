"""Register pressure in a loop of SASS, without a GPU: how far ahead of its first use each load
(ldmatrix, shared loads, shuffles, exponentials) is issued, and how many registers are live at an
address. A tensor-core loop whose loads land a few instructions before their mma waits on them
whatever the other warps do; that is what register pressure costs once it stops spilling
(sixty-second session: the portable prefill's ldmatrix ran a median of 4 instructions ahead of
use with 163 registers live at the loop's top, FA2's 32 ahead with 147).

    python scripts/kernel_report.py prefill_mma.cu -D ... --arch sm_90 --cubin k.cubin --sass
    cuobjdump -sass k.cubin > k.sass
    python scripts/sass_pressure.py k.sass 0xd410 0x188a0 [--live-at 0xd4a0]

The loop's bounds are those `kernel_report.py --sass` prints. Liveness is approximate: the loop
body is read as straight-line code from the address to its end and round again (branches and
predicates ignored).
"""

from __future__ import annotations

import argparse
import re
import statistics

from sass_latency import parse

# Registers a load writes (its destination and those after it).
WIDTH = {"LDSM.16.M88.4": 4, "LDSM.16.MT88.4": 4, "LDSM.16.M88.2": 2, "LDS.64": 2, "LDS.128": 4}
TRACKED = ("LDSM", "LDS", "MUFU", "SHFL", "HMMA")


def loop_body(path: str, low: int, high: int) -> list[tuple[int, str]]:
    """(address, instruction) of a listing's instructions in [low, high), predicates dropped."""
    return [(a, re.sub(r"^@!?U?P\w+\s+", "", text)) for a, text in parse(path) if low <= a < high]


def operands(text: str) -> tuple[str, list[int], list[int]]:
    """(opcode, registers written, registers read) of one instruction."""
    op, _, rest = text.partition(" ")
    parts = [p.strip() for p in rest.split(",")]
    if op.startswith("HMMA"):  # d, a (4), b (2), c (4)
        a, b, c = (re.findall(r"R(\d+)", p) for p in parts[1:4])
        read = [int(a[0]) + i for i in range(4)] + [int(b[0]) + i for i in range(2)]
        read += [int(c[0]) + i for i in range(4)] if c else []
        return op, [int(parts[0][1:].split(".")[0]) + i for i in range(4)], read
    read = [int(r) for r in re.findall(r"\bR(\d+)\b", ",".join(parts[1:]))]
    if op.startswith(("ST", "BAR", "BRA", "LDGSTS")) or not parts or not re.match(r"R\d", parts[0]):
        return op, [], read + [int(r) for r in re.findall(r"\bR(\d+)\b", parts[0] if parts else "")]
    first = int(parts[0][1:].split(".")[0])
    return op, list(range(first, first + WIDTH.get(op, 2 if ".64" in op else 1))), read


def distances(body: list[tuple[int, str]]) -> dict[str, list[int]]:
    """Per tracked opcode family, instructions from each result to its first reader."""
    decoded = [operands(text) for _, text in body]
    found: dict[str, list[int]] = {}
    for i, (op, written, _) in enumerate(decoded):
        family = op.split(".")[0]
        if family not in TRACKED or not written:
            continue
        for j in range(i + 1, len(decoded)):
            if set(written) & set(decoded[j][2]):
                found.setdefault(family, []).append(j - i)
                break
            if set(written) & set(decoded[j][1]):
                break
    return found


def live_at(body: list[tuple[int, str]], address: int) -> set[int]:
    """Registers read at or after `address` (to the loop's end, then round) before being written."""
    start = next(i for i, (a, _) in enumerate(body) if a >= address)
    live, dead = set(), set()
    for _, text in body[start:] + body[:start]:
        _, written, read = operands(text)
        live |= {r for r in read if r not in dead and r != 255}
        dead |= {r for r in written if r not in live}
    return live


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sass")
    parser.add_argument("low", type=lambda x: int(x, 16))
    parser.add_argument("high", type=lambda x: int(x, 16))
    parser.add_argument("--live-at", type=lambda x: int(x, 16), help="default: the loop's first address")
    args = parser.parse_args()
    body = loop_body(args.sass, args.low, args.high)
    for family, values in sorted(distances(body).items()):
        short = sum(v < 8 for v in values)
        median = statistics.median(values)
        print(f"{family:5} {len(values):4} results, read a median {median:.0f} later, {short} under 8")
    live = live_at(body, args.live_at if args.live_at is not None else args.low)
    print(f"{len(live)} registers live at {hex(args.live_at or args.low)}")


if __name__ == "__main__":
    main()
