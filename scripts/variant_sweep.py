"""What attention variants cost on CUDA: decode and prefill kernel time (CUDA-graph replay) with
each option beside plain attention on the same inputs, and decode time against context length at
a fixed 4096-token window (it should stay flat). bfloat16, HQ 32 / HKV 8, D 128 (--dim), page 16.
With --rounds N each case's graphs (plain and every option) replay in turn, N rounds: a ratio is
the median of the rounds' own ratios, so that the GPU's clock drifting between rounds (7% on an
H100 at 500 TFLOP/s) does not enter it; the kernel time printed is the median over the rounds.

    python scripts/variant_sweep.py [--layouts pal nhd] [--rounds 7] [--prompts 4x1024+8192]
"""

from __future__ import annotations

import argparse
import re
import statistics
from functools import partial

import proxy_attention_lab as pal
import torch
from decode_sweep import capture, graph_replay_ms, in_turn_ms, make_case


def graph_time_us(call) -> float:
    return graph_replay_ms(call)[0] * 1e3


def time_case(case: str, calls: dict, rounds: int, rows: list, ratios: dict) -> None:
    """Times every call of one case: once each (rounds 0), else its graphs in turn, `rounds`
    times; rows get the (median) kernel time, ratios the median of each round's ratio to plain."""
    if not rounds:
        for name, call in calls.items():
            rows.append((case, name, graph_time_us(call)))
            print(*rows[-1], flush=True)
        return
    graphs = {name: capture(call) for name, call in calls.items()}  # (graph, the output it writes)
    times = in_turn_ms({name: graph.replay for name, (graph, _) in graphs.items()}, rounds)
    for name, ms in times.items():
        rows.append((case, name, statistics.median(ms) * 1e3))
        ratios[case, name] = statistics.median(t / p for t, p in zip(ms, times["plain"]))
        spread = f"{min(ms) * 1e3:.1f}-{max(ms) * 1e3:.1f}"
        print(*rows[-1], f"(rounds {spread} us, {ratios[case, name]:.3f}x plain)", flush=True)


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
    parser.add_argument("--rounds", type=int, default=0, help="time each case's graphs in turn, N rounds")
    parser.add_argument("--dim", type=int, default=128, help="head dim")
    parser.add_argument(
        "--prompts", nargs="+", default=["4x1024+8192"], help="prefill rows: BATCHxPROMPT+HISTORY"
    )
    args = parser.parse_args()
    rows, ratios = [], {}
    for layout in args.layouts:
        for batch in (8, 32) if "decode" in args.ops else ():
            q, k, v, table, lens = make_case(batch, 4096, 32, 8, args.dim, 16, torch.bfloat16, layout)
            calls = {
                name: partial(pal.paged_attention_decode, q, k, v, table, lens, layout=layout, **options)
                for name, options in variants(32, args.variants).items()
            }
            time_case(f"decode {batch}x4096 {layout}", calls, args.rounds, rows, ratios)
        for row in args.prompts if "prefill" in args.ops else ():
            batch, prompt, history = (int(x) for x in re.fullmatch(r"(\d+)x(\d+)\+(\d+)", row).groups())
            g = torch.Generator(device="cuda").manual_seed(1)
            pools = make_case(batch, max(history, 1), 32, 8, args.dim, 16, torch.bfloat16, layout)
            q, k, v, table, lens = pools
            lens.fill_(history)
            qp = torch.randn(batch * prompt, 32, args.dim, generator=g, device="cuda").to(torch.bfloat16)
            kp = torch.randn(batch * prompt, 8, args.dim, generator=g, device="cuda").to(torch.bfloat16)
            prefill = partial(pal.paged_attention_prefill, qp, kp, kp, k, v, table, lens, layout=layout)
            calls = {name: partial(prefill, **o) for name, o in variants(32, args.variants).items()}
            time_case(f"prefill {row} {layout}", calls, args.rounds, rows, ratios)
        for context in (4096, 16384, 65536) if "decode" in args.ops else ():
            q, k, v, table, lens = make_case(32, context, 32, 8, args.dim, 16, torch.bfloat16, layout)
            calls = {
                name: partial(pal.paged_attention_decode, q, k, v, table, lens, layout=layout, **options)
                for name, options in (("plain", {}), ("window 4095", {"window_left": 4095}))
            }
            time_case(f"decode 32x{context} {layout}", calls, args.rounds, rows, ratios)
            del q, k, v, table, lens
    print("\n| case | variant | kernel us | vs plain |\n|---|---|---|---|")
    plain = {case: us for case, name, us in rows if name == "plain"}
    for case, name, us in rows:
        ratio = ratios.get((case, name), us / plain[case])
        print(f"| {case} | {name} | {us:.1f} | {ratio:.3f}x |")


if __name__ == "__main__":
    main()
