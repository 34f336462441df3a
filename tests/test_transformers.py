"""PAL inside Hugging Face transformers' continuous batching ("paged|pal"): a Llama-style model
with random weights (GQA 32/8, head dim 128, no download) generates ragged prompts, 1 to 2000
tokens, with chunked prefill (more prompt tokens than `max_batch_tokens`), at block sizes 16 and
32. float32: the greedy tokens equal those of transformers' "paged|sdpa". bfloat16 (CUDA): every
attention call agrees with a float64 reference of that call, computed from the keys transformers
lists for it. Skipped where torch or transformers are missing; runs on CUDA where there is a GPU,
else on PAL's CPU backend."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pal_transformers = pytest.importorskip("proxy_attention_lab.integrations.transformers")
from transformers.generation.configuration_utils import ContinuousBatchingConfig  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PROMPT_LENGTHS = [1, 7, 64, 300, 2000, 129] if DEVICE == "cuda" else [1, 7, 64, 300, 700]


def model(dtype):
    config = transformers.LlamaConfig(
        vocab_size=2000, hidden_size=512, intermediate_size=1024, num_hidden_layers=2,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=4096,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval().to(device=DEVICE, dtype=dtype)


def prompts():
    rng = np.random.default_rng(0)
    return [rng.integers(1, 2000, size=n).tolist() for n in PROMPT_LENGTHS]


def generate(lm, implementation, block_size, use_cuda_graph=False):
    if DEVICE == "cpu":  # transformers sizes its cache from free GPU memory
        import transformers.generation.continuous_batching.cache as cache_module

        cache_module.PagedAttentionMemoryHandler.get_available_memory = lambda self: 1 << 30
    lm.set_attn_implementation(implementation)
    generation = transformers.GenerationConfig(
        max_new_tokens=6, do_sample=False, eos_token_id=-1, pad_token_id=0
    )
    batching = ContinuousBatchingConfig(
        block_size=block_size, num_blocks=1024, max_batch_tokens=256, use_cuda_graph=use_cuda_graph
    )
    with torch.no_grad():
        out = lm.generate_batch(
            inputs=prompts(), generation_config=generation, continuous_batching_config=batching, warmup=False
        )
    return [out[k].generated_tokens for k in sorted(out, key=lambda k: int(k.split("_")[-1]))]


@pytest.mark.parametrize("block_size", [16, 32])
def test_float32_tokens_equal_paged_sdpa(block_size):
    pal_transformers.register()
    lm = model(torch.float32)
    expected = generate(lm, "paged|sdpa", block_size)
    assert generate(lm, pal_transformers.NAME, block_size) == expected


@pytest.mark.skipif(DEVICE != "cuda", reason="transformers captures CUDA graphs on a GPU only")
@pytest.mark.parametrize("block_size", [16, 32])
def test_float32_tokens_equal_under_transformers_cuda_graphs(block_size):
    """transformers' own CUDA-graph capture of its varlen and decode forwards (padded inputs,
    steps replayed from graphs) with PAL inside: the same greedy tokens as without graphs."""
    pal_transformers.register()
    lm = model(torch.float32)
    expected = generate(lm, pal_transformers.NAME, block_size)
    assert generate(lm, pal_transformers.NAME, block_size, use_cuda_graph=True) == expected


def reference(query, key, value, cache, layer, kwargs, scaling):
    """float64 attention of one call from the keys transformers lists for each sequence."""
    group, index = cache.layer_index_to_group_indices[layer]
    k_cache, v_cache = cache.key_cache[index].double(), cache.value_cache[index].double()
    q = query[0].transpose(0, 1).double()
    cu_q = kwargs["cu_seq_lens_q"].tolist()
    cu_k = kwargs["cu_seq_lens_k"].tolist()
    if kwargs.get("block_table") is not None:
        table, block = kwargs["block_table"][group].long(), cache.block_size
        slots = [
            [int(table[b, j // block]) * block + j % block for j in range(cu_k[b + 1] - cu_k[b])]
            for b in range(len(cu_k) - 1)
        ]
        cu_q = list(range(len(cu_k)))
    else:
        read = kwargs["read_index"][group].tolist()
        new = {}
        if not read:  # no history: keys are the new tokens themselves
            new = {"k": key[0].transpose(0, 1).double(), "v": value[0].transpose(0, 1).double()}
        slots = [read[cu_k[b] : cu_k[b + 1]] for b in range(len(cu_q) - 1)]
    out = torch.zeros_like(q)
    group_size = q.shape[1] // k_cache.shape[1]
    for b in range(len(cu_q) - 1):
        rows = slice(cu_q[b], cu_q[b + 1])
        if new:
            keys, values = new["k"][rows], new["v"][rows]
        else:
            keys, values = k_cache[slots[b]], v_cache[slots[b]]
        keys, values = keys.repeat_interleave(group_size, 1), values.repeat_interleave(group_size, 1)
        scores = torch.einsum("qhd,khd->hqk", q[rows], keys) * scaling
        n_q, n_k = rows.stop - rows.start, keys.shape[0]
        causal = (
            torch.arange(n_k, device=q.device)[None, :]
            <= torch.arange(n_q, device=q.device)[:, None] + n_k - n_q
        )
        scores = scores.masked_fill(~causal, float("-inf"))
        out[rows] = torch.einsum("hqk,khd->qhd", scores.softmax(-1), values)
    return out


@pytest.mark.skipif(DEVICE != "cuda", reason="bfloat16 runs on the CUDA backend")
@pytest.mark.parametrize("block_size", [16, 32])
def test_bfloat16_every_call_matches_a_float64_reference(block_size):
    errors = []

    def checked(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
        out, _ = pal_transformers.paged_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, **kwargs
        )
        expected = reference(query, key, value, kwargs["cache"], module.layer_idx, kwargs, scaling)
        rows = (
            expected.shape[0] if kwargs.get("block_table") is not None else int(kwargs["cu_seq_lens_q"][-1])
        )
        errors.append(float((out[0, :rows].double() - expected[:rows]).abs().max()))
        return out, None

    transformers.AttentionInterface.register("paged|pal-checked", checked)
    generate(model(torch.bfloat16), "paged|pal-checked", block_size)
    assert errors and max(errors) < 2e-2, f"{len(errors)} calls, worst {max(errors)}"


# A greedy step is a near-tie when the runner-up's logit is this close to the best one's: bf16
# rounding of the attention outputs (different summation orders) may swap such tokens.
NEAR_TIE = 0.1


@pytest.mark.skipif(DEVICE != "cuda", reason="bfloat16 runs on the CUDA backend")
@pytest.mark.parametrize("block_size", [16, 32])
def test_bfloat16_tokens_equal_paged_sdpa_up_to_a_near_tie(block_size):
    """Each sequence's greedy tokens equal "paged|sdpa"'s until the first step where the two
    differ; there, PAL's token must be a near-tie of the reference's in the logits of the common
    prefix (one eager forward pass with transformers' own SDPA)."""
    pal_transformers.register()
    lm = model(torch.bfloat16)
    expected = generate(lm, "paged|sdpa", block_size)
    actual = generate(lm, pal_transformers.NAME, block_size)
    lm.set_attn_implementation("sdpa")
    for prompt, want, got in zip(prompts(), expected, actual):
        step = next((j for j, (a, b) in enumerate(zip(want, got)) if a != b), None)
        if step is None:
            assert len(got) == len(want)
            continue
        ids = torch.tensor([prompt + want[:step]], device=DEVICE)
        with torch.no_grad():
            logits = lm(ids).logits[0, -1].float()
        assert logits[got[step]] >= logits.max() - NEAR_TIE, (
            f"step {step}: PAL's token {got[step]} has logit {float(logits[got[step]]):.3f}, "
            f"the best {float(logits.max()):.3f} (token {want[step]})"
        )


def test_what_it_cannot_serve_raises_not_implemented():
    """Sliding-window layers (ring buffers in transformers' cache), dropout, and calls outside
    continuous batching raise instead of computing something else. (generate_batch logs a failing
    request rather than raising, so the attention function is called directly.)"""
    from types import SimpleNamespace

    layer = SimpleNamespace(layer_idx=0)
    query = torch.zeros(1, 4, 3, 64, device=DEVICE)
    with pytest.raises(NotImplementedError, match="paged cache"):
        pal_transformers.paged_attention_forward(layer, query, query, query, None)
    full, sliding = SimpleNamespace(sliding_windows={0: 1}), SimpleNamespace(sliding_windows={0: 64})
    with pytest.raises(NotImplementedError, match="sliding-window"):
        pal_transformers.paged_attention_forward(layer, query, query, query, None, cache=sliding)
    with pytest.raises(NotImplementedError, match="dropout"):
        pal_transformers.paged_attention_forward(layer, query, query, query, None, dropout=0.1, cache=full)
