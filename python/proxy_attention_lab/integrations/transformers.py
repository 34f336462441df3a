"""PAL as Hugging Face transformers' paged attention, for its continuous batching (transformers 5.x).

    import proxy_attention_lab.integrations.transformers as pal_transformers

    pal_transformers.register()  # once: makes "paged|pal" an attention implementation
    model = AutoModelForCausalLM.from_pretrained(name, attn_implementation="paged|pal")
    outputs = model.generate_batch(prompts, generation_config)

Each attention call writes the step's new keys and values into transformers' own paged cache with
:func:`proxy_attention_lab.fill_kv_pages` (a layer's ``[(num_blocks + 2) * block_size, HKV, D]``
cache tensor is PAL's ``nhd`` pool with ``page_size = block_size`` after a view: no copy), then runs
PAL decode when every sequence brings one token and PAL prefill otherwise (prefill, chunked
prefill, mixed batches). Page tables come from the indices transformers passes: its decode block
table where it gives one, else the first slot of each block in ``read_index``; a layer group's
first layer computes them for the step and its other layers reuse them. Nothing here reads a
device value on the host, as CUDA graph capture needs (transformers' capture of the steps is
tested with PAL: ``tests/test_transformers.py``).

What it cannot serve raises ``NotImplementedError`` (never a wrong result): sliding-window layer
groups (transformers keeps them in ring buffers, not in whole pages), attention dropout, a call
without transformers' paged cache. ALiBi is not a transformers attention argument; soft-caps
(``softcap``) and sinks (``s_aux``, gpt-oss) are passed on to PAL.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import proxy_attention_lab as pal

#: The attention implementation name :func:`register` adds.
NAME = "paged|pal"


def register(name: str = NAME) -> str:
    """Registers :func:`paged_attention_forward` with ``transformers.AttentionInterface`` as
    ``name`` and returns it; load or switch models with ``attn_implementation=name``."""
    from transformers import AttentionInterface

    AttentionInterface.register(name, paged_attention_forward)
    return name


def paged_attention_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """One layer's attention for a continuous-batching step: ``query`` is ``[1, HQ, T, D]`` and
    ``key`` / ``value`` ``[1, HKV, T, D]`` (the step's T new tokens, packed); returns
    ``([1, T, HQ, D], None)`` as transformers' paged implementations do."""
    cache = kwargs.get("cache")
    if cache is None:
        raise NotImplementedError(
            f"{NAME} serves transformers' continuous batching only (generate_batch): it needs its paged cache"
        )
    if dropout:
        raise NotImplementedError(f"{NAME} has no attention dropout (got {dropout})")
    layer = module.layer_idx
    if getattr(cache, "sliding_windows", {1: 1}).get(layer, 1) != 1 or kwargs.get("sliding_window"):
        raise NotImplementedError(
            f"{NAME}: layer {layer} is a sliding-window layer, which transformers caches in ring buffers "
            "rather than whole pages; use a model without sliding-window layers or another implementation"
        )
    group, index_in_group = cache.layer_index_to_group_indices[layer]
    block = cache.block_size
    heads_kv, dim = cache.num_key_value_heads, cache.head_dim
    k_pool = cache.key_cache[index_in_group].view(-1, block, heads_kv, dim)
    v_pool = cache.value_cache[index_in_group].view(-1, block, heads_kv, dim)
    # [1, H, T, D] -> [T, H, D]: strided views PAL reads through contiguous copies.
    q, k, v = (x[0].transpose(0, 1) for x in (query, key, value))
    tokens = q.shape[0]
    variant = {
        "logits_soft_cap": float(kwargs.get("softcap") or 0.0),
        "sinks": None if kwargs.get("s_aux") is None else kwargs["s_aux"].float().contiguous(),
    }
    plan = _step_plan(cache, layer, group, tokens, q.device, kwargs)
    if plan.slots is not None:  # decode fast path: transformers' own block table
        pal.fill_kv_pages(k, v, k_pool, v_pool, slot_mapping=plan.slots, layout="nhd")
    else:
        write_index = kwargs["write_index"][group]
        pal.fill_kv_pages(k[: write_index.shape[0]], v[: write_index.shape[0]], k_pool, v_pool,
                          slot_mapping=write_index, layout="nhd")  # fmt: skip
    if plan.cu is None:  # one token per sequence: history and the new token, which fill wrote
        out = pal.paged_attention_decode(
            q, k_pool, v_pool, plan.table, plan.lengths, scale=scaling, layout="nhd", **variant
        )
    else:
        out = pal.paged_attention_prefill(
            q, k, v, k_pool, v_pool, plan.table, plan.history, plan.cu, scale=scaling, layout="nhd", **variant
        )
    return out.unsqueeze(0), None


class _StepPlan(NamedTuple):
    """What every layer of a step (of one layer group) reads the same way: the page table, the
    decode lengths and slots (decode fast path), or the prefill's history and ``cu``."""

    table: Any
    lengths: Any = None
    slots: Any = None
    history: Any = None
    cu: Any = None


# Per layer group: (the ids of the step's index arguments, numbers as they are; and their plan).
# Ids, not the objects, so that nothing of transformers' cache outlives its generation; a step's
# arguments live through its layers, and the group's first layer computes afresh.
_PLANS: dict[int, tuple[tuple, _StepPlan]] = {}
_INDEX_ARGUMENTS = (
    "cu_seq_lens_k",
    "block_table",
    "cu_seq_lens_q",
    "write_index",
    "read_index",
    "max_seqlen_k",
    "max_seqlen_q",
)


def _step_plan(cache: Any, layer: int, group: int, tokens: int, device: Any, kwargs: dict) -> _StepPlan:
    """The step's plan for `group`: computed at the group's first layer (layers run in order, and
    transformers may update its index tensors in place between steps), then reused by the
    group's other layers while transformers passes the same index objects (a dozen small torch
    operations per layer saved: H200, 2026-11-30, 0.4-0.5 ms of host time per layer call)."""
    values = (cache, tokens, *(kwargs.get(name) for name in _INDEX_ARGUMENTS))
    arguments = tuple(x if x is None or isinstance(x, (int, float)) else id(x) for x in values)
    groups = cache.layer_index_to_group_indices  # a dict in transformers 5.17 (a list would serve)
    pairs = groups.items() if hasattr(groups, "items") else enumerate(groups)
    first = min(index for index, (g, _) in pairs if g == group)
    held = _PLANS.get(group)
    if layer != first and held is not None and held[0] == arguments:
        return held[1]
    plan = _make_plan(cache, group, tokens, device, kwargs)
    _PLANS[group] = (arguments, plan)
    return plan


def _make_plan(cache: Any, group: int, tokens: int, device: Any, kwargs: dict) -> _StepPlan:
    import torch

    block = cache.block_size
    cu_k = kwargs["cu_seq_lens_k"]
    if isinstance(cu_k, dict):
        cu_k = cu_k["full_attention"]
    block_table = kwargs.get("block_table")
    if block_table is not None:
        # Decode fast path: one new token per sequence, transformers' own block table (-1 padded).
        table = block_table[group]
        lengths = (cu_k[1 : table.shape[0] + 1] - cu_k[: table.shape[0]]).to(torch.int32)
        if table.shape[0] != tokens:
            raise NotImplementedError(
                f"{NAME}: a decode batch of {tokens} tokens for {table.shape[0]} sequences"
            )
        position = (lengths - 1).clamp(min=0).long()
        page = table.gather(1, (position // block)[:, None])[:, 0].long()
        slots = torch.where(lengths > 0, page * block + position % block, -1)
        return _StepPlan(table, lengths=lengths, slots=slots)

    cu_q = kwargs["cu_seq_lens_q"]
    read_index = kwargs["read_index"][group]
    sequences = cu_q.shape[0] - 1
    lengths_q = (cu_q[1:] - cu_q[:-1]).to(torch.int32)
    lengths_k = (cu_k[1 : sequences + 1] - cu_k[:sequences]).to(torch.int32)
    history = lengths_k - lengths_q
    if read_index.numel() == 0:  # no sequence has history this step
        table = torch.zeros((sequences, 1), dtype=torch.int32, device=device)
    else:
        # Page j of sequence b: the block of its key at position j * block_size (read_index lists
        # each sequence's keys, block by block, from cu_seq_lens_k[b]).
        max_k = kwargs["max_seqlen_k"]
        max_k = max_k["full_attention"] if isinstance(max_k, dict) else max_k
        pages = max(1, -(-int(max_k) // block))
        first = cu_k[:sequences, None].long() + torch.arange(pages, device=device) * block
        table = (read_index[first.clamp(max=read_index.shape[0] - 1)] // block).to(torch.int32)
    if kwargs.get("max_seqlen_q") == 1 and tokens == sequences:
        return _StepPlan(table, lengths=lengths_k)
    # Padding tokens past cu_seq_lens_q[-1] (static shapes for CUDA graphs) become one more
    # sequence without history, whose rows nobody reads.
    cu = torch.cat([cu_q.to(torch.int32), torch.full((1,), tokens, dtype=torch.int32, device=device)])
    history = torch.cat([history, history.new_zeros(1)])
    table = torch.cat([table, table.new_zeros((1, table.shape[1]))])
    return _StepPlan(table, history=history, cu=cu)
