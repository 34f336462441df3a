#!/bin/bash
# Thirty-first session, calls 4-7 (one warm machine, the final wheel, after call 3's memcheck
# sets timed out with pytest workers under compute-sanitizer): serial memcheck sets.
. scripts/gpu_env.sh >/dev/null 2>&1
MC="compute-sanitizer --tool memcheck --error-exitcode 9"
timeout 200 $MC python3 -m pytest -q -p no:cacheprovider -x tests/test_cuda.py -k "groups" > $O/mc_groups.txt 2>&1
timeout 210 $MC python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_fp8.py -k "(decode and (splits or bad_page or ragged or 128-16- or long)) or (fp8 and cuda and splits)" > $O/mc_decode.txt 2>&1
timeout 170 $MC python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "decode or bad_page or next_call" > $O/mc_decode2.txt 2>&1
timeout 110 $MC python3 -m pytest -q -p no:cacheprovider tests/test_fp8.py -k "cuda and (decode or fill)" > $O/mc_fp8.txt 2>&1
