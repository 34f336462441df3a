"""The decode matrix's targets (`scripts/decode_matrix.py`, no GPU): issue 11's rule over a row's
FlashInfer figure and the read ceiling, and issue 14's fp8 rows."""

import pytest

CEILING = 4.4


@pytest.mark.parametrize(
    ("flashinfer", "target", "why"),
    [
        (0.9, 1.125, "1.25x FlashInfer"),  # a small batch: FlashInfer far under the ceiling
        (3.5, 0.95 * CEILING, "capped"),  # 1.25x would pass 95% of the ceiling
        (3.9, 0.95 * CEILING, "capped"),  # FlashInfer at 89%: under 90%, so 1.25x, capped
        (4.1, 0.95 * CEILING, "95% of the ceiling and FlashInfer"),  # FlashInfer at 93%
        (4.3, 4.3, "95% of the ceiling and FlashInfer"),  # FlashInfer past 95%: at least FlashInfer
        (None, 0.95 * CEILING, "no FlashInfer"),  # float32, head dims it has no kernel for
    ],
)
def test_issue_11_rule(lab_script, flashinfer, target, why):
    goal, reason = lab_script("decode_matrix").decode_target(flashinfer, CEILING)
    assert goal == pytest.approx(target)
    assert why in reason
    if flashinfer is not None:
        assert goal >= flashinfer  # never below FlashInfer


def test_issue_14_fp8_rows(lab_script):
    fp8_target = lab_script("decode_matrix").fp8_target
    assert fp8_target("8x4096", 1.4, CEILING) == (pytest.approx(2.8), "2x FlashInfer")
    assert fp8_target("32x4096", 2.2, CEILING)[0] == pytest.approx(0.85 * CEILING)
    assert fp8_target("8x4096", None, CEILING) is None
    assert fp8_target("64x4096", 2.4, CEILING) is None
