"""Tensor-parallel paged attention with PAL over several GPUs of one host: each rank (one process
per GPU, torch.distributed over NCCL) holds the pools of its share of the KV heads and runs the
query heads that read them; the outputs are gathered with `all_gather`. Prints the decode and
prefill rates per GPU count (aggregate TB/s of K/V read, TFLOP/s), each timed as the median of
CUDA-event timings of the attention call alone and of the call plus the gather.

    python scripts/tensor_parallel.py --gpus 1 2

NVLink multicast stays off (NCCL_NVLS_ENABLE=0 and friends), as the lab's machines require.
The same head split and gather as tests/test_multi_gpu.py; its figures on two H200s are in
benchmarks/README.md (issue 15)."""

import argparse
import functools
import os
import socket

import torch
import torch.distributed as dist

HQ, HKV, D, PAGE = 32, 8, 128, 16


def timed(fn, runs=20):
    """Median milliseconds of `fn` over `runs` calls (after two warm-up calls)."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def measure(call, out, world, runs=20):
    """Median ms of `call` alone and of `call` then the gather of its `out` over the ranks."""
    gathered = [torch.empty_like(out) for _ in range(world)]

    def step():
        call()
        dist.all_gather(gathered, out)

    return timed(call, runs), timed(step, runs)


def paged(batch, tokens, kv_heads, device, generator):
    """Random bf16 nhd pools holding `tokens` per sequence on shuffled pages, and its tables."""
    pages_per_seq = -(-tokens // PAGE)
    pages = batch * pages_per_seq
    k = torch.randn(pages, PAGE, kv_heads, D, device=device, dtype=torch.bfloat16, generator=generator)
    v = torch.randn(pages, PAGE, kv_heads, D, device=device, dtype=torch.bfloat16, generator=generator)
    order = torch.randperm(pages, device=device, generator=generator).to(torch.int32)
    table = order.reshape(batch, pages_per_seq)
    lens = torch.full((batch,), tokens, dtype=torch.int32, device=device)
    return k, v, table, lens


def rank_main(rank, world, port, results):
    import proxy_attention_lab as pal

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("nccl", rank=rank, world_size=world)
    device = torch.device("cuda", rank)
    torch.cuda.set_device(device)
    generator = torch.Generator(device=device).manual_seed(rank)
    kv_heads, q_heads = HKV // world, HQ // world
    rows = []
    for batch, context in ((64, 4096), (256, 1024)):
        k, v, table, lens = paged(batch, context, kv_heads, device, generator)
        q = torch.randn(batch, q_heads, D, device=device, dtype=torch.bfloat16, generator=generator)
        out = torch.empty_like(q)
        call = functools.partial(pal.paged_attention_decode, q, k, v, table, lens, layout="nhd", out=out)
        kv_bytes = 2 * batch * context * HKV * D * 2  # all heads, all ranks
        rows.append(("decode", f"{batch}x{context}", kv_bytes / 1e12, *measure(call, out, world), "TB/s"))
    batch, prompt = 4, 4096
    k, v, table, lens = paged(batch, PAGE, kv_heads, device, generator)
    lens.zero_()  # no history: the prompts alone
    q = torch.randn(batch * prompt, q_heads, D, device=device, dtype=torch.bfloat16, generator=generator)
    pk = torch.randn(batch * prompt, kv_heads, D, device=device, dtype=torch.bfloat16, generator=generator)
    pv = torch.randn(batch * prompt, kv_heads, D, device=device, dtype=torch.bfloat16, generator=generator)
    out = torch.empty_like(q)
    call = functools.partial(pal.paged_attention_prefill, q, pk, pv, k, v, table, lens, layout="nhd", out=out)
    tflop = 4 * HQ * D * batch * prompt * (prompt + 1) / 2 / 1e12  # causal, all heads
    rows.append(("prefill", f"{batch}x{prompt}", tflop, *measure(call, out, world, runs=10), "TFLOP/s"))
    # The slowest rank sets the step.
    for op, case, work, attend_ms, step_ms, unit in rows:
        slowest = torch.tensor([attend_ms, step_ms], device=device)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        if rank == 0:
            rates = [work / (ms * 1e-3) for ms in slowest.tolist()]
            results.append((world, op, case, *rates, unit))
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    os.environ.update(NCCL_NVLS_ENABLE="0", TORCH_SYMM_MEM_DISABLE_MULTICAST="1", NVSHMEM_DISABLE_NVLS="1")
    manager = torch.multiprocessing.get_context("spawn").Manager()
    results = manager.list()
    for world in args.gpus:
        torch.multiprocessing.spawn(rank_main, args=(world, free_port(), results), nprocs=world)
    print(f"{torch.cuda.get_device_name(0)}, HQ {HQ} / HKV {HKV}, D {D}, page {PAGE}, bf16, nhd")
    print("gpus  op       case        attention   with all_gather")
    for world, op, case, attend, step, unit in results:
        print(f"{world:4d}  {op:8s} {case:10s} {attend:8.2f} {unit:7s} {step:8.2f} {unit}")


if __name__ == "__main__":
    main()
