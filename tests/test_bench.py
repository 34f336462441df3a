"""The benchmark harness itself, end to end on the CPU: a tiny sweep runs, checks numerics,
writes JSON of the documented shape and the plots, and saved runs re-plot and overlay."""

import json

import pytest
from proxy_attention_lab.bench.__main__ import main

TINY = [
    "--device", "cpu", "--decode", "2x64", "2x128", "--prefill", "1x16+8", "--fill", "32",
    "--dtype", "float32", "--num-q-heads", "4", "--num-kv-heads", "2", "--head-dim", "32", "--page-size", "8",
]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main([*TINY, "--out", str(out)]) == 0
    return out


def test_a_context_of_no_tokens_and_bad_heads(tmp_path, capsys):
    """A decode of no tokens has no rate to compare (no division by zero); head counts that do
    not group exit with a message, not a traceback from the oracle."""
    assert main([*TINY, "--ops", "decode", "--decode", "1x0", "--no-plots", "--out", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("cpu-*.json")
    rows = [r for r in json.loads(result.read_text())["results"] if r["impl"] == "pal"]
    assert rows and all(r["ok"] and r["value"] == 0 and "vs_best_peer" not in r for r in rows)
    # What every row shares heads the table.
    assert "layout pal, HQ 4 / HKV 2, D 32, page 8, KV pools in the queries' dtype" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="multiple of --num-kv-heads"):
        main([*TINY, "--num-q-heads", "3", "--out", str(tmp_path)])


def test_sweep_writes_results_and_plots(run_dir, capsys):
    (result,) = run_dir.glob("cpu-*.json")
    data = json.loads(result.read_text())
    assert {"environment", "ceilings", "results"} <= data.keys()
    assert data["environment"]["device"] == "cpu" and "date" in data["environment"]
    assert data["ceilings"]["memcpy_GBps"] > 0 and data["ceilings"]["read_GBps"] > 0
    ops = {(r["op"], r["impl"]) for r in data["results"]}
    assert {("decode", "pal"), ("prefill", "pal"), ("fill", "pal")} <= ops
    for row in data["results"]:
        if row["impl"] == "pal":
            assert row["ok"] is True and row["value"] > 0 and row["timing"]["median_ms"] > 0
            assert row["timing"]["p10_ms"] <= row["timing"]["median_ms"] <= row["timing"]["p90_ms"]
        if row["value"] is None:
            assert row["skipped"], "a peer without a result must say why"
    for name in ("decode", "prefill", "fill", "decode_vs_context"):
        assert (run_dir / f"{name}.png").stat().st_size > 1000
    # On the CPU, decode rows are set against the paged read of their own page bytes (a page of
    # both KV heads: 8 slots x 2 x 32 float32), taken beside each case; prefill rows against a
    # matmul measured in the run.
    assert data["ceilings"]["matmul_TFLOPs"] > 0
    assert all(r["paged_read_beside_GBps"] > 0 for r in data["results"] if r["op"] == "decode")
    for row in data["results"]:
        if row["impl"] == "pal":
            expected = {"decode": "paged_read_beside_GBps", "prefill": "matmul_TFLOPs", "fill": "memcpy_GBps"}
            assert row["ceiling"] == expected[row["op"]] and row["pct_of_ceiling"] > 0


def test_plots_overlay_saved_runs(run_dir, tmp_path):
    (result,) = run_dir.glob("cpu-*.json")
    assert main(["plot", str(result), str(result), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "decode.png").stat().st_size > 1000


def test_a_variant_sweep_checks_every_option_and_skips_peers_without_them(tmp_path):
    variant = ["--variant", "window=20,softcap=30,alibi,sinks", "--no-plots", "--out", str(tmp_path)]
    assert main([*TINY, *variant]) == 0
    (result,) = tmp_path.glob("cpu-*.json")
    rows = json.loads(result.read_text())["results"]
    pal_rows = [r for r in rows if r["impl"] == "pal" and r["op"] != "fill"]
    assert pal_rows and all(
        r["ok"] and r["window_left"] == 20 and r["alibi"] and r["sinks"] for r in pal_rows
    )
    assert all(r["skipped"] for r in rows if not r["impl"].startswith("pal"))


def test_mlx_takes_windows_sinks_and_float32_alibi(tmp_path):
    """MLX's SDPA is the peer of a variant it can express (a window as a boolean mask, sinks,
    ALiBi as a float32 additive mask), checked against the same oracle as PAL."""
    pytest.importorskip("mlx.core")
    variant = ["--variant", "window=20,alibi,sinks", "--ops", "decode", "prefill", "--no-plots"]
    assert main([*TINY, *variant, "--out", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("cpu-*.json")
    rows = [r for r in json.loads(result.read_text())["results"] if r["impl"] == "mlx_sdpa"]
    assert {r["op"] for r in rows} == {"decode", "prefill"} and all(r["ok"] for r in rows)


def test_a_bad_variant_is_refused():
    with pytest.raises(SystemExit):
        main([*TINY, "--variant", "window"])


def test_pal_rows_are_set_against_the_best_peer_and_flashinfer():
    """``vs_best_peer`` takes every checked peer; ``vs_flashinfer`` FlashInfer's best path (SPEC
    §7's targets), shown in the table's own column; a failed check or another problem counts for
    neither."""
    from proxy_attention_lab.bench import report

    def row(impl, value, ok=True, case=None):
        timing = {"median_ms": 1.0, "p10_ms": 1.0, "p90_ms": 1.0}
        case = case or {"batch": 8, "context": 4096}
        return {"op": "decode", "case": case, "impl": impl, "dtype": "bfloat16", "layout": "nhd",
                "value": value, "ok": ok, "metric": "GB/s", "max_error": 0.0, "timing": timing}  # fmt: skip

    results = [
        row("pal", 3000.0), row("pal_unchecked", 3100.0), row("torch_sdpa", 3200.0),
        row("flashinfer", 2000.0), row("flashinfer_tc", 2400.0), row("flashinfer_x", 9000.0, ok=False),
        row("flashinfer", 9000.0, case={"batch": 1, "context": 4096}),
    ]  # fmt: skip
    report.annotate(results, {})
    assert results[0]["vs_best_peer"] == 3000 / 3200 and results[0]["vs_flashinfer"] == 3000 / 2400
    assert "vs_flashinfer" not in results[1] and "vs_best_peer" not in results[3]
    assert " 1.25x " in report.table(results, {}).splitlines()[3]
    cpu = [row("pal", 30.0), row("mlx_sdpa", 20.0)]
    report.annotate(cpu, {})
    assert cpu[0]["vs_best_peer"] == 1.5 and "vs_flashinfer" not in cpu[0]


def test_a_skipped_peer_is_reported_on_one_line():
    """A peer's error (Inductor's run to pages of IR) is reported by its type and first line, cut to
    the width asked (the lab's 300 characters; the sweep scripts ask fewer)."""
    from proxy_attention_lab.bench.sweep import error_line

    error = ValueError("\nLoweringException: block sizes\n  target: flex_attention\n  args[0]: ...")
    assert error_line(error) == "ValueError: LoweringException: block sizes"
    assert len(error_line(RuntimeError("x" * 1000))) == len("RuntimeError: ") + 300
    assert error_line(RuntimeError("x" * 1000), 100) == "RuntimeError: " + "x" * 100


def test_host_profile_counts_calls_and_stages():
    """The host-cost instrument (`_native.host_profile`): off by default, counts calls and splits
    their time into the named stages while on (CPU calls: the computation is the launch stage)."""
    import numpy as np
    import proxy_attention_lab as pal
    from proxy_attention_lab import _native

    k = np.zeros(pal.get_k_cache_shape(2, 1, 64, 8, "float32"), np.float32)
    v = np.zeros(pal.get_v_cache_shape(2, 1, 64, 8, "float32"), np.float32)
    args = (np.ones((1, 2, 64), np.float32), k, v, np.array([[1]], np.int32), np.array([5], np.int32))
    _native.host_profile(False)
    pal.paged_attention_decode(*args)
    assert _native.host_profile(True)[0] == 0
    for _ in range(3):
        pal.paged_attention_decode(*args)
    calls, totals = _native.host_profile(False)
    names = [name for name, _ in totals]
    assert calls == 3 and names == ["arguments", "detach", "validation", "lookup", "launch", "return"]
    timed = dict(totals)
    assert timed["arguments"] > 0 and timed["validation"] > 0 and timed["launch"] > 0
    assert timed["lookup"] == 0  # no kernel on the CPU backend
    pal.paged_attention_decode(*args)
    assert _native.host_profile()[0] == 0


def test_rounds_time_every_implementation_in_turn(tmp_path, monkeypatch):
    """A case's implementations are all checked, then timed round by round in turn: with three
    rounds each one's runs come in three shares, and its timing counts them all."""
    from proxy_attention_lab.bench.devices import CpuDevice

    order = []
    timed = CpuDevice.time

    def recording(self, run, working_set_bytes, share=1.0):
        order.append(run)
        return timed(self, run, working_set_bytes, share)

    monkeypatch.setattr(CpuDevice, "time", recording)
    args = ["--ops", "decode", "--decode", "2x64", "--rounds", "3", "--no-plots", "--out", str(tmp_path)]
    assert main([*TINY, *args]) == 0
    runs = list(dict.fromkeys(order))  # each implementation's run, in first-timed order
    assert len(runs) >= 2 and order == runs * 3
    (result,) = tmp_path.glob("cpu-*.json")
    rows = [r for r in json.loads(result.read_text())["results"] if r["timing"]]
    assert len(rows) == len(runs)
    assert all(r["timing"]["rounds"] == 3 and r["timing"]["runs"] >= 3 for r in rows)
