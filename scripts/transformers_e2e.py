"""End-to-end generation with transformers' continuous batching: "paged|pal" beside "paged|sdpa"
(and "paged|flash_attention_2" where flash-attn is importable) on a Llama-style model with random
weights (GQA 32/8, head dim 128, bfloat16, no download). Prints generated tokens per second and
the mean time per generation step, one row per (implementation, batch, prompt length).

    python scripts/transformers_e2e.py [--layers 4] [--batches 16] [--prompts 256 2048] [--new 32]
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
import proxy_attention_lab.integrations.transformers as pal_transformers
import torch
import transformers
from transformers.generation.configuration_utils import ContinuousBatchingConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batches", type=int, nargs="+", default=[16])
    parser.add_argument("--prompts", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--new", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=16)
    args = parser.parse_args()
    config = transformers.LlamaConfig(
        vocab_size=32000, hidden_size=4096, intermediate_size=8192, num_hidden_layers=args.layers,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=8192,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval().to("cuda", torch.bfloat16)
    implementations = [pal_transformers.register(), "paged|sdpa"]
    if importlib.util.find_spec("flash_attn"):
        implementations.append("paged|flash_attention_2")
    generation = transformers.GenerationConfig(
        max_new_tokens=args.new, do_sample=False, eos_token_id=-1, pad_token_id=0
    )
    rows = []
    for batch in args.batches:
        for prompt in args.prompts:
            rng = np.random.default_rng(0)
            prompts = [rng.integers(1, 32000, size=prompt).tolist() for _ in range(batch)]
            for implementation in implementations:
                model.set_attn_implementation(implementation)
                blocks = batch * (prompt + args.new) // 8  # twice what the batch needs
                batching = ContinuousBatchingConfig(
                    block_size=args.block_size, max_batch_tokens=4096, num_blocks=blocks, use_cuda_graph=False
                )
                kwargs = dict(generation_config=generation, continuous_batching_config=batching, warmup=False)
                with torch.no_grad():
                    model.generate_batch(inputs=prompts[:2], **kwargs)  # warm-up: kernels, allocator
                    torch.cuda.synchronize()
                    start = time.perf_counter()
                    out = model.generate_batch(inputs=prompts, **kwargs)
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - start
                tokens = sum(len(o.generated_tokens) for o in out.values())
                rows.append((implementation, batch, prompt, tokens / seconds, seconds / args.new * 1e3))
                print(
                    f"{implementation:24s} batch {batch:3d} prompt {prompt:5d}: {rows[-1][3]:8.0f} tok/s",
                    flush=True,
                )
    print("\n| implementation | batch | prompt | generated tok/s | ms per step (incl. prefill) |")
    print("|---|---|---|---|---|")
    for implementation, batch, prompt, rate, step in rows:
        print(f"| {implementation} | {batch} | {prompt} | {rate:.0f} | {step:.1f} |")


if __name__ == "__main__":
    main()
