"""The sweeps: decode over batch x context, prefill over batch x prompt x history, fill over
token counts. Each case checks every implementation against a float64 reference before timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import proxy_attention_lab as pal

from ..testing import (
    attention,
    from_layout,
    numpy_dtype,
    random_array,
    random_prompts,
    read_sequence,
    within_tolerance,
)
from . import peers
from .devices import Timing
from .problems import Shape, paged_problem


def error_line(error: Exception, width: int = 300) -> str:
    """Why a run was skipped, on one line: the error's type and its first non-empty line, cut to
    `width` (Inductor's and FlashInfer's errors run to pages). The lab and the sweep scripts share it."""
    first = next((line for line in str(error).splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {first[:width]}"


@dataclass
class Measurement:
    op: str
    case: dict
    impl: str
    shape: Shape
    timing: dict | None = None
    metric: str = ""
    value: float | None = None
    max_error: float | None = None
    ok: bool | None = None
    skipped: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "op": self.op,
            "case": self.case,
            "impl": self.impl,
            "dtype": self.shape.dtype,
            "kv_dtype": self.shape.pool_dtype,
            "layout": self.shape.layout,
            "num_q_heads": self.shape.num_q_heads,
            "num_kv_heads": self.shape.num_kv_heads,
            "head_dim": self.shape.head_dim,
            "page_size": self.shape.page_size,
            "window_left": self.shape.window_left,
            "logits_soft_cap": self.shape.logits_soft_cap,
            "alibi": self.shape.alibi,
            "sinks": self.shape.sinks,
            "timing": self.timing,
            "metric": self.metric,
            "value": self.value,
            "max_error": self.max_error,
            "ok": self.ok,
            "skipped": self.skipped,
            **self.extra,
        }


def _check(actual: np.ndarray, expected: np.ndarray, dtype: str) -> tuple[float, bool]:
    """The largest absolute error, and whether every element is within the tests' tolerance."""
    error = np.abs(np.asarray(actual, np.float64) - expected)
    return float(error.max(initial=0.0)), within_tolerance(actual, expected, dtype)


class Sweep:
    """Runs cases on one device and collects measurements. The ``pal`` rows time the call an
    engine makes (the public function with its defaults: a new output, the default ``check``,
    which never synchronises); ``pal_unchecked`` rows time ``check=False`` into a
    preallocated ``out``, which skips the host-side validation of device tables.

    A case checks every implementation first, then times them in ``rounds`` rounds, each
    round a share of every implementation's runs in turn, and each median over all its rounds'
    runs: a device whose rate drifts between minutes (a GPU's clock, a VM's memory) then moves
    every implementation of the case alike, not whichever ran last."""

    def __init__(
        self,
        device,
        shape: Shape,
        seed: int = 0,
        on_result: Callable[[Measurement], None] = lambda m: None,
        rounds: int = 1,
    ):
        self.device, self.shape = device, shape
        self.rng = np.random.default_rng(seed)
        self.peers = peers.available(device.name)
        self.results: list[Measurement] = []
        self.on_result = on_result
        self.rounds = max(1, rounds)
        # The case's checked implementations waiting to be timed: (measurement, run, work, working set).
        self._pending: list[tuple[Measurement, Callable[[], Any], float, int]] = []

    def _measure(self, op, case, impl, run, output, expected, rows, work, metric, working_set) -> None:
        """Checks ``output(run())`` (sliced to ``rows``) against ``expected``; ``run`` is timed
        with the case's other implementations (`_time_case`)."""
        m = Measurement(op, case, impl, self.shape, metric=metric)
        try:
            m.max_error, m.ok = _check(output(run())[rows], expected, self.shape.dtype)
        except Exception as error:  # a peer that fails on this case is reported, not fatal
            m.skipped = error_line(error)
            self._record(m)
            return
        self.results.append(m)
        self._pending.append((m, run, work, working_set))

    def _time_case(self) -> None:
        """Times the case's checked implementations, round by round, and reports them."""
        pending, self._pending = self._pending, []
        samples: list[list[float] | None] = [[] for _ in pending]
        for _ in range(self.rounds):
            for i, (m, run, _, working_set) in enumerate(pending):
                if samples[i] is None:
                    continue
                try:
                    samples[i] += self.device.time(run, working_set, 1 / self.rounds).samples
                except Exception as error:  # reported, not fatal
                    m.skipped, samples[i] = error_line(error), None
        for (m, _, work, _), runs in zip(pending, samples):
            if runs:
                timing = Timing(runs)
                m.timing = timing.as_dict() | {"rounds": self.rounds}
                m.value = work / (timing.median_ms * 1e-3) / (1e9 if m.metric == "GB/s" else 1e12)
            self.on_result(m)

    def _measure_peer(self, op, case, impl, build, expected, rows, work, metric, working_set) -> None:
        """Like :meth:`_measure` for a peer whose setup itself may fail (reported, not fatal)."""
        try:
            run, output = build()
        except Exception as error:
            self._record(Measurement(op, case, impl, self.shape, skipped=error_line(error)))
            return
        self._measure(op, case, impl, run, output, expected, rows, work, metric, working_set)

    def _measure_pal(self, op: str, case: dict, fn: Callable, args: list, out: Any, *rest: Any) -> None:
        """PAL as an engine calls it (``pal``: new output, default check) and with ``check=False``
        into a given ``out`` where the op has one (``pal_unchecked``), attention ops with the
        sweep's variant (its vectors on the device), measured alike."""
        dev, layout = self.device, self.shape.layout
        variant = {} if op == "fill" else self.shape.variant()
        options = {k: dev.put(v) if isinstance(v, np.ndarray) else v for k, v in variant.items()}
        given = {} if out is None else {"out": out}
        runs = (
            ("pal", lambda: fn(*args, layout=layout, **options)),
            ("pal_unchecked", lambda: fn(*args, layout=layout, check=False, **given, **options)),
        )
        for impl, call in runs:
            self._measure(op, case, impl, call, *rest)

    def _record(self, m: Measurement) -> None:
        self.results.append(m)
        self.on_result(m)

    def _with_variant(self, op: str, case: dict, builders: dict) -> list[str]:
        """The peers that can run this sweep's variant (FlashInfer has windows and soft-caps,
        MLX windows, sinks and float32 ALiBi); the others are recorded as skipped."""
        if not self.shape.variant():
            return list(builders)
        flashinfer, mlx = self.shape.flashinfer_variant(), self.shape.mlx_variant()
        capable = [
            name
            for name in builders
            if (flashinfer and name.startswith("flashinfer")) or (mlx and name == "mlx_sdpa")
        ]
        for name in builders:
            if name not in capable:
                self._record(
                    Measurement(op, case, name, self.shape, skipped="lacks an option of this variant")
                )
        return capable

    def _skip_missing_peers(self, op: str, case: dict, names: list[str]) -> list[str]:
        usable = []
        for name in names:
            reason = self.peers.get(name)
            fp8_peer = op in ("decode", "prefill") and name.startswith("flashinfer")
            if reason is None and self.shape.kv_dtype and not fp8_peer:
                reason = "no fp8 KV pools here (FlashInfer is the fp8 peer)"
            if reason is None:
                usable.append(name)
            else:
                self._record(Measurement(op, case, name, self.shape, skipped=reason))
        return usable

    def decode(self, batch: int, context: int) -> None:
        s, dev = self.shape, self.device
        problem = paged_problem(self.rng, s, batch, context)
        queries = random_array(self.rng, (batch, s.num_q_heads, s.head_dim), s.dtype, "normal")
        checked = sorted({0, batch - 1})
        variant = s.variant()
        expected = np.concatenate(
            [
                attention(queries[b : b + 1], problem.keys[b], problem.values[b], [context], **variant)
                for b in checked
            ]
        )
        # The K and V bytes that must be read: a window's keys only.
        seen = context if s.window_left < 0 else min(context, s.window_left + 1)
        kv_bytes = 2 * batch * seen * s.num_kv_heads * s.head_dim * numpy_dtype(s.pool_dtype).itemsize
        case = {"batch": batch, "context": context}
        args = [
            dev.put(a)
            for a in (queries, problem.k_cache, problem.v_cache, problem.page_table, problem.seq_lens)
        ]
        out = dev.put(np.empty_like(queries))

        # Where the device has a paged-read ceiling (the CPU), it is taken again just before the
        # case, so that its rows are set against the machine's rate of that minute.
        first = len(self.results)
        beside = dev.paged_read(s.page_bytes()) if hasattr(dev, "paged_read") else None
        self._measure_pal(
            "decode", case, pal.paged_attention_decode, args, out,
            dev.to_numpy, expected, checked, kv_bytes, "GB/s", kv_bytes,
        )  # fmt: skip
        builders = {
            "mlx_sdpa": lambda: peers.mlx_decode(problem, queries),
            "torch_sdpa": lambda: peers.torch_decode(problem, queries, dev.name),
            "flashinfer": lambda: peers.flashinfer_decode(problem, queries, tensor_cores=False),
            "flashinfer_tc": lambda: peers.flashinfer_decode(problem, queries, tensor_cores=True),
            "flex_paged": lambda: peers.flex_paged_decode(problem, queries),
        }
        for name in self._skip_missing_peers("decode", case, self._with_variant("decode", case, builders)):
            self._measure_peer(
                "decode", case, name, builders[name], expected, checked, kv_bytes, "GB/s", kv_bytes
            )
        self._time_case()
        if beside is not None:
            for m in self.results[first:]:
                m.extra["paged_read_beside_GBps"] = beside

    def prefill(self, batch: int, prompt: int, history: int) -> None:
        s, dev = self.shape, self.device
        problem = paged_problem(self.rng, s, batch, history)
        total = batch * prompt
        q, k, v, cu = random_prompts(
            self.rng, [prompt] * batch, s.num_q_heads, s.num_kv_heads, s.head_dim, s.dtype, "normal"
        )
        # Check a few rows of the first sequence: its first, a middle and its last prompt token.
        rows = sorted({0, prompt // 2, prompt - 1})
        # float64 first: fp8 history and a model-dtype prompt do not concatenate in numpy.
        keys = np.concatenate([problem.keys[0].astype(np.float64), k[:prompt].astype(np.float64)])
        values = np.concatenate([problem.values[0].astype(np.float64), v[:prompt].astype(np.float64)])
        variant = s.variant()
        expected = attention(q[rows], keys, values, [history + i + 1 for i in rows], **variant)
        # Each new token attends to the history and its own causal prefix (within its window).
        seen = history + np.arange(1, prompt + 1)
        if s.window_left >= 0:
            seen = np.minimum(seen, s.window_left + 1)
        flops = 4 * s.num_q_heads * s.head_dim * batch * int(seen.sum())
        case = {"batch": batch, "prompt": prompt, "history": history}
        args = [
            dev.put(a)
            for a in (q, k, v, problem.k_cache, problem.v_cache, problem.page_table, problem.seq_lens, cu)
        ]
        out = dev.put(np.empty_like(q))
        work_bytes = sum(a.nbytes for a in (q, k, v, problem.k_cache, problem.v_cache))

        self._measure_pal(
            "prefill", case, pal.paged_attention_prefill, args, out,
            dev.to_numpy, expected, rows, flops, "TFLOP/s", work_bytes,
        )  # fmt: skip
        dense_k = np.concatenate(
            [problem.keys.astype(k.dtype), k.reshape(batch, prompt, s.num_kv_heads, s.head_dim)], axis=1
        )
        dense_v = np.concatenate(
            [problem.values.astype(v.dtype), v.reshape(batch, prompt, s.num_kv_heads, s.head_dim)], axis=1
        )
        q4 = q.reshape(batch, prompt, s.num_q_heads, s.head_dim)
        # FlashInfer over fp8 pools reads the prompt's keys and values from them too (an engine
        # appends them first): its pools hold them quantised, and its reference says so.
        peer_k, peer_v, peer_expected = dense_k, dense_v, expected
        if s.kv_dtype:
            fp8 = numpy_dtype(s.kv_dtype)

            def quantised(pool, dense):
                return np.concatenate([pool, dense[:, history:].astype(np.float32).astype(fp8)], axis=1)

            peer_k, peer_v = quantised(problem.keys, dense_k), quantised(problem.values, dense_v)
            peer_expected = attention(
                q[rows], peer_k[0].astype(np.float64), peer_v[0].astype(np.float64),
                [history + i + 1 for i in rows], **variant,
            )  # fmt: skip
        builders = {
            "mlx_sdpa": lambda: peers.mlx_prefill(q4, dense_k, dense_v, history, s),
            "torch_sdpa": lambda: peers.torch_prefill(q4, dense_k, dense_v, history, dev.name),
            "flashinfer": lambda: peers.flashinfer_prefill(q4, peer_k, peer_v, history, s),
        }

        def flat(build):
            run, output = build()
            return run, lambda out: output(out).reshape(total, s.num_q_heads, s.head_dim)

        for name in self._skip_missing_peers("prefill", case, self._with_variant("prefill", case, builders)):
            self._measure_peer(
                "prefill",
                case,
                name,
                lambda b=builders[name]: flat(b),
                peer_expected if name == "flashinfer" else expected,
                rows,
                flops,
                "TFLOP/s",
                work_bytes,
            )
        self._time_case()

    def fill(self, sequences: int, per_seq: int) -> None:
        """``per_seq`` new tokens for each of ``sequences`` sequences: a prefill chunk's worth
        (a few sequences, many tokens each) or the decode step's append (one token each)."""
        s, dev = self.shape, self.device
        tokens = sequences * per_seq
        problem = paged_problem(self.rng, s, sequences, per_seq)
        keys = random_array(self.rng, (tokens, s.num_kv_heads, s.head_dim), s.dtype, "normal")
        values = random_array(self.rng, keys.shape, s.dtype, "normal")
        token_to_seq = (np.arange(tokens) // per_seq).astype(np.int32)
        positions = (np.arange(tokens) % per_seq).astype(np.int32)
        # Bytes read (the new rows) and written (the pools' dtype: fp8 writes half).
        written = 2 * keys.size * numpy_dtype(s.pool_dtype).itemsize
        copied = 2 * keys.nbytes + written if dev.copy_counts_read_and_write else written
        case = {"tokens": tokens, "sequences": sequences}
        args = [
            dev.put(a)
            for a in (
                keys,
                values,
                problem.k_cache,
                problem.v_cache,
                problem.page_table,
                positions,
                token_to_seq,
            )
        ]

        def filled(k_pool: np.ndarray, v_pool: np.ndarray, layout: str) -> np.ndarray:
            """Both pools' tokens of every sequence, keys then values."""
            return np.stack(
                [
                    read_sequence(from_layout(pool, layout, is_key=is_key), row, per_seq)
                    for is_key, pool in ((True, k_pool), (False, v_pool))
                    for row in problem.page_table
                ]
            )

        def stored(rows: np.ndarray) -> np.ndarray:
            return rows if not s.kv_dtype else rows.astype(np.float32).astype(numpy_dtype(s.kv_dtype))

        shape = (sequences, per_seq, s.num_kv_heads, s.head_dim)
        expected = np.concatenate([stored(a).astype(np.float64).reshape(shape) for a in (keys, values)])
        rest = (expected, slice(None), copied, "GB/s", 2 * copied)
        pal_pools = lambda _: filled(dev.to_numpy(args[2]), dev.to_numpy(args[3]), s.layout)  # noqa: E731
        self._measure_pal("fill", case, pal.fill_kv_pages, args, None, pal_pools, *rest)
        if self._skip_missing_peers("fill", case, ["flashinfer"]):

            def build():
                run, output = peers.flashinfer_append(problem, keys, values, per_seq)
                return run, lambda pools: filled(output(pools[0]), output(pools[1]), "nhd")

            self._measure_peer("fill", case, "flashinfer", build, *rest)
        self._time_case()
