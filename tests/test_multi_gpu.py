"""Several GPUs (issue 15): every op runs on the GPU that holds its tensors, whatever torch's
current device, and leaves that current device as it was; tensors on two GPUs are refused;
threads driving two GPUs at once get the results of one call at a time; tensor-parallel decode
and prefill over two processes (NCCL, KV heads split) equal the one-GPU result bit for bit.
Skipped unless torch sees two GPUs."""

import os
import socket
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import proxy_attention_lab as pal
import pytest
from proxy_attention_lab.testing import paged_cache, random_array, random_prompts, to_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.device_count() < 2, reason="needs two GPUs"
)

HQ, HKV, D = 16, 8, 128


def decode_inputs(rng, batch=6, context=300, layout="nhd"):
    cache = paged_cache(rng, [context] * batch, HKV, D, 16, "bfloat16", layout)
    queries = random_array(rng, (batch, HQ, D), "bfloat16")
    return [queries, cache.k_cache, cache.v_cache, cache.page_table, cache.lens]


def on(arrays, device):
    return [to_torch(a, device) for a in arrays]


def test_each_op_runs_on_the_gpu_of_its_tensors(rng):
    arrays = decode_inputs(rng)
    with torch.cuda.device(0):
        first = pal.paged_attention_decode(*on(arrays, "cuda:1"), layout="nhd")
        assert first.device == torch.device("cuda:1")
        assert torch.cuda.current_device() == 0, "PAL left torch's current device as it was"
        again = pal.paged_attention_decode(*on(arrays, "cuda:0"), layout="nhd")
        assert torch.equal(first.cpu(), again.cpu()), "the same kernel on either GPU"
        # Fill then prefill on cuda:1, against the CPU backend.
        q, k, v, cu = random_prompts(rng, [5, 9], HQ, HKV, D, "bfloat16")
        cache = paged_cache(rng, [20, 40], HKV, D, 16, "bfloat16", "nhd")
        host = [q, k, v, cache.k_cache, cache.v_cache, cache.page_table, cache.lens, cu]
        gpu = on(host, "cuda:1")
        expected = pal.paged_attention_prefill(*host, layout="nhd")
        got = pal.paged_attention_prefill(*gpu, layout="nhd")
        got = got.float().cpu().numpy()
        np.testing.assert_allclose(got, expected.astype(np.float32), atol=2e-2, rtol=2e-2)
        slots = np.arange(len(k), dtype=np.int32) + 16 * int(cache.page_table[0, 0])
        on_gpu = to_torch(slots, "cuda:1")
        pal.fill_kv_pages(gpu[1], gpu[2], gpu[3], gpu[4], slot_mapping=on_gpu, layout="nhd")
        pal.fill_kv_pages(k, v, cache.k_cache, cache.v_cache, slot_mapping=slots, layout="nhd")
        assert torch.equal(gpu[3].cpu(), to_torch(cache.k_cache, "cpu"))
        assert torch.cuda.current_device() == 0


def test_tensors_on_two_gpus_are_refused(rng):
    queries, k, v, table, lens = on(decode_inputs(rng), "cuda:0")
    with pytest.raises(pal.PalValueError, match="cuda:1"):
        pal.paged_attention_decode(queries, k.to("cuda:1"), v, table, lens, layout="nhd")


def test_threads_on_two_gpus_match_one_call_at_a_time(rng):
    arrays = decode_inputs(rng, batch=4, context=3000)
    inputs = {d: on(arrays, d) for d in ("cuda:0", "cuda:1")}
    alone = {d: pal.paged_attention_decode(*inputs[d], layout="nhd").cpu() for d in inputs}

    def run(device):
        with torch.cuda.device(device):
            outs = [pal.paged_attention_decode(*inputs[device], layout="nhd") for _ in range(50)]
            torch.cuda.synchronize()
        return device, [o.cpu() for o in outs]

    with ThreadPoolExecutor(2) as pool:
        for device, outs in pool.map(run, list(inputs)):
            assert all(torch.equal(o, alone[device]) for o in outs), device


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tensor_parallel_rank(rank: int, world: int, port: int, arrays: list, prompts: tuple, expected: dict):
    """One rank: the query heads of its KV heads, its heads' pools (filled with PAL), decode and
    prefill with PAL, outputs gathered over NCCL; rank 0 compares with the one-GPU results."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("nccl", rank=rank, world_size=world)
    device = torch.device("cuda", rank)
    torch.cuda.set_device(device)
    try:
        kv_heads = slice(rank * HKV // world, (rank + 1) * HKV // world)
        q_heads = slice(rank * HQ // world, (rank + 1) * HQ // world)
        queries, k_cache, v_cache, table, lens = arrays
        # This rank's pools hold its KV heads; fill writes them from the dense tokens.
        keys, values, slots = prompts
        k_local = to_torch(np.ascontiguousarray(k_cache[:, :, kv_heads]), device)
        v_local = to_torch(np.ascontiguousarray(v_cache[:, :, kv_heads]), device)
        pal.fill_kv_pages(
            to_torch(np.ascontiguousarray(keys[:, kv_heads]), device),
            to_torch(np.ascontiguousarray(values[:, kv_heads]), device),
            k_local, v_local, slot_mapping=to_torch(slots, device), layout="nhd",
        )  # fmt: skip
        out = pal.paged_attention_decode(
            to_torch(np.ascontiguousarray(queries[:, q_heads]), device), k_local, v_local,
            to_torch(table, device), to_torch(lens, device), layout="nhd",
        )  # fmt: skip
        gathered = [torch.empty_like(out) for _ in range(world)]
        torch.distributed.all_gather(gathered, out)
        prefill_q = to_torch(np.ascontiguousarray(expected["prefill_q"][:, q_heads]), device)
        prefill_kv = [to_torch(np.ascontiguousarray(a[:, kv_heads]), device) for a in expected["prefill_kv"]]
        prefill = pal.paged_attention_prefill(
            prefill_q, *prefill_kv, k_local, v_local, to_torch(table, device), to_torch(lens, device),
            layout="nhd",
        )  # fmt: skip
        gathered_prefill = [torch.empty_like(prefill) for _ in range(world)]
        torch.distributed.all_gather(gathered_prefill, prefill)
        if rank == 0:
            decode_all = torch.cat([g.cpu() for g in gathered], dim=1)
            prefill_all = torch.cat([g.cpu() for g in gathered_prefill], dim=1)
            assert torch.equal(decode_all, expected["decode"]), "tensor-parallel decode == one GPU"
            assert torch.equal(prefill_all, expected["prefill"]), "tensor-parallel prefill == one GPU"
    finally:
        torch.distributed.destroy_process_group()


def test_tensor_parallel_decode_and_prefill_equal_one_gpu(rng):
    """256 sequences: enough CTAs that neither run splits its keys (the split plan follows the
    CTA count), so the two-GPU heads see exactly the one-GPU arithmetic."""
    # NVLink multicast stays off (the machines' rule).
    os.environ.update(NCCL_NVLS_ENABLE="0", TORCH_SYMM_MEM_DISABLE_MULTICAST="1", NVSHMEM_DISABLE_NVLS="1")
    queries, k_cache, v_cache, table, lens = decode_inputs(rng, batch=256, context=200)
    # The last 8 tokens of every sequence come through fill (bf16, nhd pages [page, slot, HKV, D]).
    positions = np.arange(192, 200)
    slots = (table[:, positions // 16] * 16 + positions % 16).reshape(-1).astype(np.int32)
    keys = random_array(rng, (len(slots), HKV, D), "bfloat16")
    values = random_array(rng, (len(slots), HKV, D), "bfloat16")
    prefill_q, prefill_k, prefill_v, _ = random_prompts(rng, [3] * 256, HQ, HKV, D, "bfloat16")
    one = [to_torch(a, "cuda:0") for a in (queries, k_cache, v_cache, table, lens)]
    pal.fill_kv_pages(to_torch(keys, "cuda:0"), to_torch(values, "cuda:0"), one[1], one[2],
                      slot_mapping=to_torch(slots, "cuda:0"), layout="nhd")  # fmt: skip
    expected = {
        "decode": pal.paged_attention_decode(*one, layout="nhd").cpu(),
        "prefill": pal.paged_attention_prefill(
            *(to_torch(a, "cuda:0") for a in (prefill_q, prefill_k, prefill_v)), *one[1:], layout="nhd"
        ).cpu(),
        "prefill_q": prefill_q,
        "prefill_kv": (prefill_k, prefill_v),
    }
    arrays = [queries, k_cache, v_cache, table, lens]
    torch.multiprocessing.spawn(
        _tensor_parallel_rank, args=(2, _free_port(), arrays, (keys, values, slots), expected), nprocs=2
    )
