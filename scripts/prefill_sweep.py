"""Kernel-development timing of CUDA prefill: SPEC §7's rows (bf16, HQ 32, HKV 8, D 128, page 16,
causal) in TFLOP/s, kernel time from a CUDA-graph replay. Compare kernel folders with
`PAL_KERNEL_DIR=... python scripts/prefill_sweep.py`."""

import argparse

import proxy_attention_lab as pal
import torch
from decode_sweep import graph_replay_ms

ROWS = ["1x4096+0", "4x4096+0", "16x1024+0", "4x1024+8192"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layout", default="pal")
    parser.add_argument("--rows", nargs="+", default=ROWS)
    args = parser.parse_args()
    g = torch.Generator(device="cuda").manual_seed(0)
    for row in args.rows:
        head, history = row.split("+")
        batch, prompt = (int(x) for x in head.split("x"))
        history, page, hq, hkv, dim = int(history), 16, 32, 8, 128
        per_seq = -(-max(history, 1) // page)
        pages = batch * per_seq + 1

        def rand(*shape):
            return torch.randn(*shape, generator=g, device="cuda").to(torch.bfloat16)

        k_cache = rand(*pal.get_k_cache_shape(pages, hkv, dim, page, torch.bfloat16, args.layout))
        v_cache = rand(*pal.get_v_cache_shape(pages, hkv, dim, page, torch.bfloat16, args.layout))
        perm = torch.randperm(pages - 1, generator=g, device="cuda")
        table = perm[: batch * per_seq].view(batch, per_seq).int()
        lens = torch.full((batch,), history, dtype=torch.int32, device="cuda")
        q, k, v = (
            rand(batch * prompt, hq, dim),
            rand(batch * prompt, hkv, dim),
            rand(batch * prompt, hkv, dim),
        )
        inputs = (q, k, v, k_cache, v_cache, table, lens)

        def call(inputs=inputs):
            return pal.paged_attention_prefill(*inputs, layout=args.layout)

        ms = graph_replay_ms(call)[0]
        pairs = batch * (prompt * history + prompt * (prompt + 1) // 2)
        print(
            f"{args.layout} {row}: {ms * 1e3:.0f} us, {4 * hq * dim * pairs / ms / 1e9:.1f} TFLOP/s",
            flush=True,
        )


if __name__ == "__main__":
    main()
