"""The verdict of an A/B of kernel variants from the lab's sweep output (`prefill_sweep.py`,
`decode_sweep.py` lines, several runs of each label): each candidate's rate over the baseline's
per (layout, row), as the mean over its runs (one outlier run is not a loss), and whether it
computed the same bits (`--compare` against a saved baseline run). Prints the verdict first:

    suite LABEL   the candidate with the best mean ratio, every row at least --floor of the
                  baseline's, a mean over --gain, the same bits on every row
    stop          none qualifies

then one line per candidate with its ratios. Rates: TFLOP/s of prefill rows (higher is better)
or a decode row's kernel time (lower is better), whichever the line carries.

    python scripts/ab_verdict.py ab.txt --baseline main --candidates qp qpu --floor 0.97 --gain 1.01
"""

import argparse
import collections
import re
import sys

# A prefill row with its head dim, page and tags (the pools' dtype, a variant: `D256 p16
# softcap=30 4x4096+0`), so that rows of several head dims, pages or variants in one file stay
# apart.
PREFILL = re.compile(r"(\S+) +(\w+) (D\d+ p\d+ (?:\S+ )*?\d+x\d+\+\d+) .*? ([\d.]+) TFLOP/s")
DECODE = re.compile(r"(\S+) +(\w+) ([^:]+): kernel ([\d.]+) us")  # the row with its heads, dim and page


def rates(lines, labels):
    """{(label, layout, row): [rate, ...]} (higher is better) and the candidates (labels after
    the first, the baseline) with a line that does not say the same bits."""
    found, differ = collections.defaultdict(list), set()
    for line in lines:
        prefill, decode = PREFILL.match(line), DECODE.match(line)
        match = prefill or decode
        if not match or match.group(1) not in labels:
            continue
        value = float(match.group(4))
        found[match.groups()[:3]].append(value if prefill else 1.0 / value)
        if match.group(1) != labels[0] and "same bits" not in line:
            differ.add(match.group(1))
    return found, differ


def verdict(lines, baseline, candidates, floor, gain):
    found, differ = rates(lines, [baseline, *candidates])

    def average(values):
        return sum(values) / len(values)

    best, report = None, []
    for label in candidates:
        ratio = {
            key[1:]: average(values) / average(found[(baseline, *key[1:])])
            for key, values in found.items()
            if key[0] == label and (baseline, *key[1:]) in found
        }
        mean = average(list(ratio.values())) if ratio else 0.0
        if label not in differ and ratio and min(ratio.values()) >= floor and mean > gain:
            if best is None or mean > best[1]:
                best = (label, mean)
        rows = {f"{layout} {row}": round(value, 3) for (layout, row), value in ratio.items()}
        report.append(f"{label} mean {mean:.3f} {rows}" + (" (bits differ)" if label in differ else ""))
    return [f"suite {best[0]}" if best else "stop", *report]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", help="sweep output")
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--candidates", nargs="+", required=True)
    parser.add_argument("--floor", type=float, default=0.97, help="lowest ratio allowed on a row")
    parser.add_argument("--gain", type=float, default=1.01, help="mean ratio to beat")
    args = parser.parse_args(argv)
    lines = [line for name in args.files for line in open(name)]
    print("\n".join(verdict(lines, args.baseline, args.candidates, args.floor, args.gain)))


if __name__ == "__main__":
    sys.exit(main())
