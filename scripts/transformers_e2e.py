"""End-to-end generation with transformers' continuous batching: "paged|pal" beside "paged|sdpa"
(and "paged|flash_attention_2" where flash-attn is importable) on a Llama-style model with random
weights (GQA 32/8, head dim 128, bfloat16, no download). Prints generated tokens per second and
the mean time per generation step, one row per (implementation, batch, prompt length).
With --breakdown, each row runs once more under torch's profiler and says where a step's time
goes: GPU kernel time by kind (PAL's kernels, torch's attention kernels, matmuls, the rest),
kernel launches per step, the host time inside the attention function (where transformers'
registry lets it be wrapped) and the wall time no kernel covers.

    python scripts/transformers_e2e.py [--layers 4] [--batches 16] [--prompts 256 2048] [--new 32]
        [--breakdown]
"""

from __future__ import annotations

import argparse
import collections
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
    parser.add_argument("--breakdown", action="store_true", help="profile each row once more")
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
    rows, parts = [], []
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
                if args.breakdown:
                    try:
                        part = breakdown(model, prompts, kwargs, implementation, args.new)
                        parts.append((implementation, batch, prompt, part))
                    except Exception as error:  # the timing rows above stand without it
                        print(f"breakdown of {implementation} failed: {error!r}", flush=True)
    print("\n| implementation | batch | prompt | generated tok/s | ms per step (incl. prefill) |")
    print("|---|---|---|---|---|")
    for implementation, batch, prompt, rate, step in rows:
        print(f"| {implementation} | {batch} | {prompt} | {rate:.0f} | {step:.1f} |")
    if parts:
        print("\nPer generation step, ms (profiled run; the profiler slows the host):")
        print(
            "| implementation | batch | prompt | wall | "
            + " | ".join(KINDS)
            + " | no kernel | launches | attention host |"
        )
        print("|---|---|---|---|" + "---|" * len(KINDS) + "---|---|---|")
        for implementation, batch, prompt, part in parts:
            cells = " | ".join(f"{part[kind]:.2f}" for kind in KINDS)
            host = "-" if part["attention host"] is None else f"{part['attention host']:.2f}"
            head = f"| {implementation} | {batch} | {prompt} | {part['wall']:.2f} | {cells}"
            print(f"{head} | {part['idle']:.2f} | {part['launches']:.0f} | {host} |")


#: The breakdown's groups of GPU kernels (`kernel_kind`).
KINDS = ("PAL kernels", "torch attention", "matmul", "other")


def kernel_kind(name: str) -> str:
    """The breakdown's group of a GPU kernel, by its name."""
    lowered = name.lower()
    if lowered.startswith("pal_"):
        return "PAL kernels"
    if any(part in lowered for part in ("flash", "fmha", "attention", "sdpa", "softmax")):
        return "torch attention"
    if any(part in lowered for part in ("gemm", "gemv", "nvjet", "cutlass", "xmma", "cublas")):
        return "matmul"
    return "other"


def breakdown(model, prompts, kwargs, implementation: str, steps: int) -> dict:
    """One generate_batch under torch's profiler: ms per step of GPU kernels by kind, of wall
    time that no kernel covers, kernel launches per step, and the host's ms per step inside the
    attention function (None where transformers' registry does not hold it)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    registry = getattr(transformers.AttentionInterface, "_global_mapping", {})
    inner = registry.get(implementation)
    host = [0.0]

    def timed(*args, **kw):
        start = time.perf_counter()
        try:
            return inner(*args, **kw)
        finally:
            host[0] += time.perf_counter() - start

    if inner is not None:
        transformers.AttentionInterface.register(implementation, timed)
    try:
        with torch.no_grad(), profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            torch.cuda.synchronize()
            start = time.perf_counter()
            model.generate_batch(inputs=prompts, **kwargs)
            torch.cuda.synchronize()
            wall = time.perf_counter() - start
    finally:
        if inner is not None:
            transformers.AttentionInterface.register(implementation, inner)
    kernels = collections.Counter()
    spans = []
    for event in prof.events():
        if getattr(event, "device_type", None) != DeviceType.CUDA:
            continue
        kernels[kernel_kind(event.name)] += event.time_range.elapsed_us()
        spans.append((event.time_range.start, event.time_range.end))
    busy, reach = 0.0, float("-inf")  # the union of the kernels' intervals
    for begin, end in sorted(spans):
        if end > reach:
            busy += end - max(begin, reach)
            reach = end
    part = {kind: kernels[kind] / 1e3 / steps for kind in KINDS}
    part["wall"] = wall * 1e3 / steps
    part["idle"] = part["wall"] - busy / 1e3 / steps
    part["launches"] = len(spans) / steps
    part["attention host"] = host[0] * 1e3 / steps if inner is not None else None
    return part


if __name__ == "__main__":
    main()
