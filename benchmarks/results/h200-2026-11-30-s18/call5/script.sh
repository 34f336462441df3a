#!/bin/bash
# Call 5: pal K tiles in pool order (kv_b/kB) or as rows (kv_b/kC) on the portable prefill,
# then the whole suite, the portable prefill tests and their memcheck on the faster form.
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
S="python3 scripts/prefill_sweep.py --layouts pal"
for k in kB kC kB kC; do
  PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=kv_b/$k timeout 60 $S --label $k 2>&1 | tee -a $O/ab.txt
done
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import re, sys, collections
rate = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(k\w) +pal .* ([\d.]+) TFLOP/s", line)
    if m:
        rate[m.group(1)].append(float(m.group(2)))
mean = {k: sum(v) / len(v) for k, v in rate.items()}
print(max(mean, key=mean.get), mean)
PY
cat $O/choice.txt
K=kv_b/$(cut -d' ' -f1 $O/choice.txt)
echo "suite with PAL_KERNEL_DIR=$K ($SECONDS s)"
PAL_KERNEL_DIR=$K timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; tail -3 $O/suite/pytest.log; grep -E "ERROR SUMMARY|passed|failed" $O/suite/memcheck.log
PAL_KERNEL_DIR=$K PAL_PREFILL_PATH=portable timeout 90 python3 -m pytest -q -x -n 12 -p no:cacheprovider tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" > $O/portable.txt 2>&1
tail -2 $O/portable.txt
PAL_KERNEL_DIR=$K PAL_PREFILL_PATH=portable timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "prefill and (bad or ragged or every_page_size or lengths)" > $O/memcheck_portable.txt 2>&1
echo "portable memcheck rc $?"; grep -E "ERROR SUMMARY|passed|failed" $O/memcheck_portable.txt | tail -2
echo "done ($SECONDS s)"
