"""Where the Hopper prefill's consumers and producer spend an item, from the stamps of
`prefill-stamps.patch` (a kernel variant that sums, per CTA, SM cycles over its items: waiting
for an item's first tile, its first S, the rest of its tiles, its last P V and output; the
producer's waits for Q and for free slots, its claim of the next item, its set-up of an item up
to the wait for Q, and its copies of Q and the first tile after it; then writes the record over
the start of q).

    PAL_KERNEL_DIR=kv_b/ps python benchmarks/prepared/prefill_stamps.py --rows 16x1024+0 1x4096+0 4x1024+8192
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))

MAGIC = 0x5354414D50
PHASES = [
    "first-tile wait",
    "first S",
    "other tiles",
    "last P V + output",
    "producer Q wait",
    "producer slot wait",
    "producer claim",
    "producer set-up",
    "producer Q + tile",
]
# Record words 16-22: warpgroup 0's first thread inside an item's tile loop (tiles after the
# first): its wait for a full slot (the producer behind), for its ping-pong turn, issuing S and
# P V, waiting for S, the softmax, waiting for P V, the rescale and packing of P.
LOOP_PHASES = [
    "loop: full-slot wait",
    "loop: turn wait",
    "loop: issue S + P V",
    "loop: S wait",
    "loop: softmax",
    "loop: P V wait",
    "loop: rescale + pack",
]


def run(row: str, layout: str, page: int, cap: float) -> None:
    import proxy_attention_lab as pal
    import torch
    from prefill_sweep import make_case

    g = torch.Generator(device="cuda").manual_seed(0)
    (q, k, v, k_cache, v_cache, table, lens), _ = make_case(row, layout, 128, page, g)
    for _ in range(2):  # compiled and warm; the records of the last launch are read
        q_copy = q.clone()
        options = {"logits_soft_cap": cap} if cap else {}
        pal.paged_attention_prefill(q_copy, k, v, k_cache, v_cache, table, lens, layout=layout, **options)
        torch.cuda.synchronize()
    words = q_copy.view(-1).view(torch.int64)[: 132 * 4 * 32].cpu().view(-1, 32)
    records = [w.tolist() for w in words if w[0].item() == MAGIC]
    if not records:
        print(f"{row}: no records (is PAL_KERNEL_DIR the patched variant?)")
        return
    items = sum(r[3] for r in records)
    tiles = sum(r[4] for r in records)
    cycles = [r[14] for r in records]
    ns = [r[15] for r in records]
    ghz = sum(cycles) / sum(ns)
    case = f"{row} {layout} page {page}" + (f" soft-cap {cap:g}" if cap else "")
    print(f"{case}: {len(records)} CTAs, {items} items, {tiles / items:.1f} tiles/item, {ghz:.2f}GHz")
    print(f"  CTA span: min {min(ns) / 1e3:.1f} max {max(ns) / 1e3:.1f} us")
    for i, name in enumerate(PHASES):
        total = sum(r[5 + i] for r in records)
        share = total / sum(cycles)
        print(f"  {name:22s} {total / items / ghz / 1e3:7.2f} us per item, {share:6.1%} of CTA time")
    for i, name in enumerate(LOOP_PHASES):
        total = sum(r[16 + i] for r in records)
        share = total / sum(cycles)
        print(f"  {name:22s} {total / items / ghz / 1e3:7.2f} us per item, {share:6.1%} of CTA time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", nargs="+", default=["16x1024+0", "1x4096+0", "4x1024+8192"])
    parser.add_argument("--layouts", nargs="+", default=["nhd"])
    parser.add_argument("--pages", nargs="+", type=int, default=[16])
    parser.add_argument("--soft-caps", nargs="+", type=float, default=[0.0], help="0: none")
    args = parser.parse_args()
    for layout in args.layouts:
        for page in args.pages:
            for cap in args.soft_caps:
                for row in args.rows:
                    run(row, layout, page, cap)


if __name__ == "__main__":
    main()
