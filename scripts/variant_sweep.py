"""What attention variants cost on CUDA: decode and prefill kernel time (CUDA-graph replay) with
each option beside plain attention on the same inputs, and decode time against context length at
a fixed 4096-token window (it should stay flat). bfloat16, HQ 32 / HKV 8, D 128, page 16.

    python scripts/variant_sweep.py [--layouts pal nhd]
"""

from __future__ import annotations

import argparse
from functools import partial

import proxy_attention_lab as pal
import torch
from decode_sweep import graph_replay_ms, make_case


def graph_time_us(call) -> float:
    return graph_replay_ms(call)[0] * 1e3


def variants(hq: int, only: list[str] | None = None) -> dict[str, dict]:
    heads = torch.linspace(-1.0, 1.0, hq, device="cuda")
    slopes = 2.0 ** -torch.arange(1, hq + 1, device="cuda", dtype=torch.float32) / 4
    every = {
        "plain": {},
        "window 1023": {"window_left": 1023},
        "soft-cap 30": {"logits_soft_cap": 30.0},
        "alibi": {"alibi_slopes": slopes},
        "sinks": {"sinks": heads},
        "all four": {"window_left": 1023, "logits_soft_cap": 30.0, "alibi_slopes": slopes, "sinks": heads},
    }
    return {
        name: options
        for name, options in every.items()
        if only is None or name == "plain" or any(name.startswith(prefix) for prefix in only)
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layouts", nargs="+", default=["pal", "nhd"])
    parser.add_argument("--ops", nargs="+", default=["decode", "prefill"], choices=["decode", "prefill"])
    parser.add_argument("--variants", nargs="+", help="only these variants (and plain), e.g. soft-cap")
    args = parser.parse_args()
    rows = []
    for layout in args.layouts:
        for batch in (8, 32) if "decode" in args.ops else ():
            q, k, v, table, lens = make_case(batch, 4096, 32, 8, 128, 16, torch.bfloat16, layout)
            for name, options in variants(32, args.variants).items():
                us = graph_time_us(
                    partial(pal.paged_attention_decode, q, k, v, table, lens, layout=layout, **options)
                )
                rows.append((f"decode {batch}x4096 {layout}", name, us))
                print(*rows[-1], flush=True)
        if "prefill" in args.ops:
            batch, prompt = 4, 1024
            q, k, v, table, lens = make_case(batch, 8192, 32, 8, 128, 16, torch.bfloat16, layout)
            g = torch.Generator(device="cuda").manual_seed(1)
            qp = torch.randn(batch * prompt, 32, 128, generator=g, device="cuda").to(torch.bfloat16)
            kp = torch.randn(batch * prompt, 8, 128, generator=g, device="cuda").to(torch.bfloat16)
            for name, options in variants(32, args.variants).items():
                us = graph_time_us(
                    partial(
                        pal.paged_attention_prefill, qp, kp, kp, k, v, table, lens, layout=layout, **options
                    )
                )
                rows.append((f"prefill {batch}x{prompt}+8192 {layout}", name, us))
                print(*rows[-1], flush=True)
        for context in (4096, 16384, 65536) if "decode" in args.ops else ():
            q, k, v, table, lens = make_case(32, context, 32, 8, 128, 16, torch.bfloat16, layout)
            for name, options in (("plain", {}), ("window 4095", {"window_left": 4095})):
                us = graph_time_us(
                    partial(pal.paged_attention_decode, q, k, v, table, lens, layout=layout, **options)
                )
                rows.append((f"decode 32x{context} {layout}", name, us))
                print(*rows[-1], flush=True)
            del q, k, v, table, lens
    print("\n| case | variant | kernel us | vs plain |\n|---|---|---|---|")
    plain = {case: us for case, name, us in rows if name == "plain"}
    for case, name, us in rows:
        print(f"| {case} | {name} | {us:.1f} | {us / plain[case]:.2f}x |")


if __name__ == "__main__":
    main()
