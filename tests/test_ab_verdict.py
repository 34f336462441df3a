"""The lab's A/B verdict (scripts/ab_verdict.py) on sweep lines of both kinds (no GPU)."""

PREFILL = [
    "main  nhd D128 p16 4x1024+8192      1209 us   500.0 TFLOP/s  flashinfer-fa3 514.1 (0.97x)",
    "main  pal D128 p16 4x4096+0         1139 us   510.0 TFLOP/s, same bits as earlier",
    "main  pal D128 p16 4x4096+0         1139 us   486.0 TFLOP/s, same bits as earlier",
    "main  nhd D128 p16 4x1024+8192      1209 us   500.0 TFLOP/s, same bits as earlier",
    "qp    nhd D128 p16 4x1024+8192      1100 us   540.0 TFLOP/s, same bits as earlier",
    "qp    pal D128 p16 4x4096+0         1139 us   485.0 TFLOP/s, same bits as earlier",
    "bad   nhd D128 p16 4x1024+8192      1000 us   600.0 TFLOP/s, differs from earlier by 1e-2",
    "bad   pal D128 p16 4x4096+0         1000 us   600.0 TFLOP/s, same bits as earlier",
]  # fmt: skip


def test_prefill_rows_mean_over_runs_and_bits(lab_script):
    verdict = lab_script("ab_verdict").verdict
    lines = verdict(PREFILL, "main", ["qp", "bad"], floor=0.97, gain=1.01)
    assert lines[0] == "suite qp"  # bad is faster but computes other bits
    # pal 4x4096: 485 over the mean of main's 510 and 486 (0.974, above the floor)
    assert lines[1] == "qp mean 1.027 {'nhd D128 p16 4x1024+8192': 1.08, 'pal D128 p16 4x4096+0': 0.974}"
    assert lines[2].endswith("(bits differ)")
    assert verdict(PREFILL, "main", ["qp"], floor=0.98, gain=1.01)[0] == "stop"


def test_tagged_prefill_rows_stay_apart(lab_script):
    lines = [
        "main  nhd D256 p16 softcap=30 4x4096+0      900 us   400.0 TFLOP/s",
        "main  nhd D256 p16 softcap=30 4x1024+8192   900 us   200.0 TFLOP/s",
        "lg2   nhd D256 p16 softcap=30 4x4096+0      800 us   440.0 TFLOP/s, same bits as earlier",
        "lg2   nhd D256 p16 softcap=30 4x1024+8192   800 us   210.0 TFLOP/s, same bits as earlier",
    ]  # fmt: skip
    assert lab_script("ab_verdict").verdict(lines, "main", ["lg2"], floor=0.97, gain=1.01) == [
        "suite lg2",
        "lg2 mean 1.075 {'nhd D256 p16 softcap=30 4x4096+0': 1.1, "
        "'nhd D256 p16 softcap=30 4x1024+8192': 1.05}",
    ]


def test_rows_of_other_head_dims_and_pages_stay_apart(lab_script):
    lines = [
        "main  nhd D256 p16 4x4096+0      900 us   400.0 TFLOP/s",
        "main  nhd D128 p16 4x4096+0      900 us   200.0 TFLOP/s",
        "main  nhd D128 p64 4x4096+0      900 us   100.0 TFLOP/s",
        "lazy  nhd D256 p16 4x4096+0      800 us   440.0 TFLOP/s, same bits as earlier",
        "lazy  nhd D128 p16 4x4096+0      800 us   190.0 TFLOP/s, same bits as earlier",
        "lazy  nhd D128 p64 4x4096+0      800 us   100.0 TFLOP/s, same bits as earlier",
    ]  # fmt: skip
    assert lab_script("ab_verdict").verdict(lines, "main", ["lazy"], floor=0.97, gain=1.01) == [
        "stop",  # D 128 at 0.95 (pooled by row alone, the three read 1.04: "suite lazy")
        "lazy mean 1.017 {'nhd D256 p16 4x4096+0': 1.1, 'nhd D128 p16 4x4096+0': 0.95, "
        "'nhd D128 p64 4x4096+0': 1.0}",
    ]


def test_decode_rows_compare_kernel_times(lab_script):
    lines = [
        "merge pal 1x4096 hq32/hkv8 d128 p16: kernel 15.0 us 1.12 TB/s (25%)",
        "fused pal 1x4096 hq32/hkv8 d128 p16: kernel 12.0 us 1.40 TB/s (32%), same bits as earlier",
    ]  # fmt: skip
    assert lab_script("ab_verdict").verdict(lines, "merge", ["fused"], floor=0.98, gain=1.01) == [
        "suite fused",
        "fused mean 1.250 {'pal 1x4096 hq32/hkv8 d128 p16': 1.25}",
    ]
