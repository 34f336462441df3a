"""The ncu report's summary of a saved run (no GPU): per-instruction rows of ncu's source view,
gzipped as the lab keeps them, read back into hot blocks, excess traffic and stall samples."""

import csv
import gzip
import io
import os
from contextlib import redirect_stdout

HEAD = [
    "Address",
    "Source",
    "# Samples",
    "Instructions Executed",
    "L2 Theoretical Sectors Global Excessive",
    "L2 Theoretical Sectors Global",
    "L2 Theoretical Sectors Global Ideal",
    "L1 Wavefronts Shared Excessive",
    "L1 Wavefronts Shared",
    "L1 Wavefronts Shared Ideal",
    "stall_wait",
    "stall_short_sb",
    "stall_wait (Not Issued)",
]
# address, text, samples, executed, sectors excess / total / ideal, wavefronts excess / total /
# ideal, wait, short scoreboard, wait not issued (ignored)
ROWS = [
    ("0x1000", "LDGSTS.E.BYPASS.128 [R1], [R2.64]", 4, 100, 800, 2400, 1600, 650, 1050, 400, 3, 1, 9),
    ("0x1010", "HMMA.16816.F32.BF16 R4, R8, R12, R4", 10, 100, 0, 0, 0, 0, 0, 0, 2, 8, 9),
    ("0x1020", "@!P0 BRA 0x1000", 6, 100, 0, 0, 0, 0, 0, 0, 6, 0, 9),
    ("0x1030", "EXIT", 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0),
]  # fmt: skip


def write_run(folder):
    text = io.StringIO()
    text.write("==PROF== Connected to process 1\n")
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)
    writer.writerow(HEAD)
    for row in ROWS:
        writer.writerow([str(x) for x in row])
    with gzip.open(os.path.join(folder, "source.csv.gz"), "wt") as f:
        f.write(text.getvalue())


def test_summary_of_a_gzipped_source_view(tmp_path, lab_script):
    write_run(str(tmp_path))
    report = lab_script("ncu_report")
    out = io.StringIO()
    with redirect_stdout(out):
        report.summary(str(tmp_path))
    text = out.getvalue()
    # One block of three instructions run 100 times (the EXIT runs 4): 300 of 304.
    assert "0x00000-0x00020     3 instr x       100  = 98.7%" in text
    # The copy: 24 sectors against 16, 10.5 wavefronts against 4, per execution.
    assert "sectors 24.0 / 16.0  wavefronts 10.5 / 4.0" in text
    # 20 samples: wait 11 (HMMA 2, BRA 6, the copy 3), short scoreboard 9 (HMMA 8, the copy 1).
    assert "warp stall samples: 20;" in text
    assert "wait                55.0%   BRA 30.0%, LDGSTS 15.0%, HMMA 10.0%\n" in text
    assert "short_sb            45.0%   HMMA 40.0%, LDGSTS 5.0%\n" in text
    assert "0x00000-0x00020    3 x       100  100.0%  LDGSTS 1 HMMA 1 BRA 1" in text


def test_opcode_drops_predicates_and_modifiers(lab_script):
    report = lab_script("ncu_report")
    assert report.opcode("@!P0 LDGSTS.E.BYPASS.128 [R1], desc[UR6][R2.64]") == "LDGSTS"
    assert report.opcode("HMMA.16816.F32.BF16 R4, R8, R12, R4") == "HMMA"
    assert report.opcode("") == ""
