"""The SASS comparison's reading of `cuobjdump -sass` output (no GPU, no NVRTC): instructions per
function, addresses and encodings dropped, so that code moved to other addresses compares equal."""

LISTING = """
	code for sm_90
		Function : pal_decode
	.headerflags	@"EF_CUDA_64BIT_ADDRESS EF_CUDA_SM90"
        /*0000*/                   LDC R1, c[0x0][0x28] ; /* 0x00000a00ff017b82 */
            /* 0x000fe40000000800 */
        /*0010*/              @!P0 LDG.E R9, desc[UR4][R2.64] ; /* 0x0000000402098981 */
        /*0020*/                   EXIT ; /* 0x000000000000794d */
		..........

		Function : pal_decode_merge
        /*0000*/                   S2R R0, SR_TID.X ; /* 0x0000000000007919 */
        /*0010*/                   EXIT ; /* 0x000000000000794d */
"""


def test_instructions_per_function_without_addresses(lab_script):
    functions = lab_script("sass_compare").functions_of(LISTING)
    assert functions == {
        "pal_decode": ["LDC R1, c[0x0][0x28] ;", "@!P0 LDG.E R9, desc[UR4][R2.64] ;", "EXIT ;"],
        "pal_decode_merge": ["S2R R0, SR_TID.X ;", "EXIT ;"],
    }


def test_code_at_other_addresses_compares_equal(lab_script):
    module = lab_script("sass_compare")
    moved = LISTING.replace("/*0010*/", "/*0110*/").replace("0x000fe40000000800", "0x000fc80000000f00")
    assert module.functions_of(moved) == module.functions_of(LISTING)
    changed = LISTING.replace("LDG.E R9", "LDG.E.128 R8")
    assert module.functions_of(changed)["pal_decode"] != module.functions_of(LISTING)["pal_decode"]


def test_the_same_instructions_in_another_order_are_told_apart(lab_script):
    verdict = lab_script("sass_compare").verdict
    kernel = {"pal_decode": ["CS2R R56, SRZ ;", "CS2R R58, SRZ ;", "EXIT ;"], "pal_decode_merge": ["EXIT ;"]}
    swapped = {**kernel, "pal_decode": ["CS2R R58, SRZ ;", "CS2R R56, SRZ ;", "EXIT ;"]}
    renamed = {**kernel, "pal_decode": ["CS2R R56, SRZ ;", "CS2R R60, SRZ ;", "EXIT ;"]}
    assert verdict(kernel, dict(kernel)) == "same"
    assert verdict(kernel, swapped) == "ORDER pal_decode (2 lines moved)"
    assert verdict(kernel, renamed) == "DIFF pal_decode"
    assert verdict(kernel, {"pal_decode": kernel["pal_decode"]}) == "DIFF pal_decode_merge"
