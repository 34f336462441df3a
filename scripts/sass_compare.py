"""Compares the SASS of kernel specialisations compiled from two kernel folders, without a GPU
(NVRTC and cuobjdump from their PyPI wheels): a refactor of the kernels that leaves every
listed specialisation's SASS unchanged cannot change what a GPU runs. The keys are CI's
(`cargo run -p pal-core --example kernel_keys`), or a JSON-lines file of them; each compiles
for its own architecture (Hopper-only families: sm_90a), else `--arch`, else the GPU it was
chosen for (the example's `gpu`; sm_90 for keys without one).

    python scripts/sass_compare.py crates/pal-core/kernels kv_b/variant [--filter decode_tf32]
        [--keys keys.jsonl] [--arch sm_90] [--jobs 2]

Prints how many are the same, then a line per one that differs (its functions, the first
compiles'; ORDER where each differing function holds the same instructions, registers
included, in another order: a refactor that moved independent instructions, as the zeroing of
accumulators) or fails to compile; exits 1 if any does (`--order-ok`: unless all are ORDER).
ptxas allocates registers differently between compiles of some kernels (`decode_rows`, seen
here), so a difference stands only after `--tries` compiles of each side (3).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import kernel_report  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def keys_of(args: argparse.Namespace) -> list[dict]:
    if args.keys:
        text = pathlib.Path(args.keys).read_text()
    else:
        command = ["cargo", "run", "-q", "-p", "pal-core", "--example", "kernel_keys", "--", args.filter]
        text = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    keys = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [key for key in keys if args.filter in key["name"]]


def functions_of(text: str) -> dict[str, list[str]]:
    """Each function's instructions in `cuobjdump -sass` output, without addresses and encodings."""
    functions: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if m := re.search(r"Function : (\S+)", line):
            current = functions.setdefault(m[1], [])
        elif current is not None and (m := re.search(r"/\*[0-9a-f]{4,}\*/\s+(.*?;)", line)):
            current.append(m[1])
    return functions


def sass(cubin: bytes) -> dict[str, list[str]]:
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        command = [kernel_report.cuobjdump(), "-sass", file.name]
        return functions_of(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def compare(job: tuple[dict, str, str, str, int]) -> tuple[str, str]:
    """Whether the two folders give one key the same SASS. ptxas is not deterministic for every
    kernel (the same source compiled twice in one process can allocate other registers), so a
    difference is confirmed by up to `tries` compiles of each side: the same once is the same."""
    key, dir_a, dir_b, arch, tries = job
    target = key["arch"] or arch or key.get("gpu", "sm_90")
    seen: list[list[dict[str, list[str]]]] = [[], []]
    for _ in range(tries):
        for side, folder in enumerate((dir_a, dir_b)):
            cubin, _, log = kernel_report.compile_cubin(
                key["entry"], key["defines"], target, pathlib.Path(folder)
            )
            if not cubin:
                last = log.strip().splitlines()[-1] if log.strip() else "no log"
                return key["name"], f"ERROR in {folder}: {last}"
            seen[side].append(sass(cubin))
        if any(a == b for a in seen[0] for b in seen[1]):
            return key["name"], "same"
    return key["name"], verdict(seen[0][0], seen[1][0])


def verdict(a: dict[str, list[str]], b: dict[str, list[str]]) -> str:
    """The verdict on two compiles' functions: `same`; `ORDER ...` where every differing function
    holds the same instructions in another order (and how many lines moved); else `DIFF ...` and
    the differing functions."""
    differing = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
    if not differing:
        return "same"
    if all(sorted(a.get(name, [])) == sorted(b.get(name, [])) for name in differing):
        moved = sum(x != y for name in differing for x, y in zip(a[name], b[name]))
        return f"ORDER {', '.join(differing)} ({moved} lines moved)"
    return "DIFF " + ", ".join(differing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir_a", help="kernel folder (e.g. crates/pal-core/kernels)")
    parser.add_argument("dir_b", help="the other kernel folder")
    parser.add_argument("--filter", default="", help="only keys whose name contains this")
    parser.add_argument("--keys", help="JSON-lines file of keys (default: the kernel_keys example's)")
    parser.add_argument(
        "--arch", help="architecture of the keys not bound to one (default: each key's GPU, else sm_90)"
    )
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    parser.add_argument(
        "--tries", type=int, default=3, help="compiles of each side before a difference stands"
    )
    parser.add_argument(
        "--order-ok",
        action="store_true",
        help="pass functions whose instructions are the same multiset in another order (ORDER)",
    )
    args = parser.parse_args()
    if kernel_report.cuobjdump() is None:
        print("no cuobjdump: pip install nvidia-cuda-cuobjdump (and its nvdisasm)")
        return 2
    jobs = [(key, args.dir_a, args.dir_b, args.arch, args.tries) for key in keys_of(args)]
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(compare, jobs)
    same = sum(verdict == "same" for _, verdict in results)
    ordered = sum(verdict.startswith("ORDER") for _, verdict in results)
    print(f"same SASS: {same} of {len(results)}; the same instructions in another order: {ordered}")
    for name, verdict in results:
        if verdict != "same":
            print(f"{verdict}: {name}")
    return 0 if same + (ordered if args.order_ok else 0) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
