"""The lab's SASS latency floor (scripts/sass_latency.py) on small listings (no GPU)."""


def listing(tmp_path, *instructions):
    lines = [
        f"        /*{16 * i:04x}*/                   {text} ;   /* 0x0 */"
        for i, text in enumerate(instructions)
    ]
    path = tmp_path / "k.sass"
    path.write_text("\n".join(["        Function : kernel"] + lines) + "\n")
    return str(path)


def test_independent_instructions_issue_a_cycle_apart(lab_script, tmp_path):
    tool = lab_script("sass_latency")
    block = tool.parse(listing(tmp_path, "FFMA R1, R2, R3, R4", "FADD R5, R6, R7", "FMUL R8, R9, R10"))
    assert [address for address, _ in block] == [0, 16, 32]
    assert tool.floor_cycles(block) == 3


def test_a_result_is_waited_for(lab_script, tmp_path):
    tool = lab_script("sass_latency")
    # FADD reads the exponential's result (20 cycles after its issue at cycle 1), ISETP the
    # FADD's (4 after cycle 21), and ISETP's predicate guards the last FADD (4 after cycle 25).
    block = tool.parse(
        listing(
            tmp_path,
            "MUFU.EX2 R1, R0",
            "FADD R2, R1, R3",
            "ISETP.GE.AND P0, PT, R2, R4, PT",
            "@P0 FADD R5, R6, R7",
        )
    )
    assert tool.floor_cycles(block) == 21 + 4 + 4


def test_mufu_holds_its_unit(lab_script, tmp_path):
    tool = lab_script("sass_latency")
    block = tool.parse(listing(tmp_path, "MUFU.EX2 R1, R0", "MUFU.EX2 R2, R3", "MUFU.TANH R4, R5"))
    assert tool.floor_cycles(block) == 1 + 2 * 8
    assert tool.floor_cycles(block, mufu_share=2.0) == 1 + 2 * 16
