#!/bin/bash
# Sixty-eighth session, call 1: next_calls.sh stagger-variants, one round at D 256 and D 192 (device
# time was short), then the D 192 / 256 prefill tests (9dcf738's new test among them) under
# stagger=1 with memcheck beside them.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
export PAL_PREFILL_PATH=portable
for dim in 256 192; do
  for variant in plain softcap=30 alibi window=1024,sinks; do
    for t in "" "stagger=1"; do
      [ "$variant" = plain ] && [ -n "$t" ] && continue
      PAL_PREFILL_TUNING=$t timeout 60 python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal \
        --rows 4x4096+0 4x1024+8192 --variant $variant --label "stg[$t]" 2>&1 | tee -a "$O/stagger_variants.txt" | grep TFLOP
    done
  done
done
echo "timed ($SECONDS s)"
PAL_PREFILL_TUNING=stagger=1 timeout 230 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q \
  -p no:cacheprovider tests/test_cuda.py -k "swizzled_rows and (192 or 256)" > "$O/stagger_variants_memcheck.txt" 2>&1 &
PAL_PREFILL_TUNING=stagger=1 timeout 230 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py \
  tests/test_variants.py -k "prefill and (192 or 256)" > "$O/stagger_variants_tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/stagger_variants_tests.txt"; grep -E "^FAILED" "$O/stagger_variants_tests.txt" | head
wait; echo "memcheck done ($SECONDS s)"; tail -2 "$O/stagger_variants_memcheck.txt"
