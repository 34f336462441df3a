#!/bin/bash
# A first GPU call for the next session (written in the eighteenth): the portable prefill's Q
# loads and output stores by 32-bit row offsets (prefill-portable-q-rows.patch; see README.md),
# run through PAL_KERNEL_DIR on main's wheel, so no rebuild: A/B/A/B against main's kernels with
# PAL_PREFILL_PATH=portable (bits compared), FlashInfer's FA2 path beside once; then, if it is
# as fast or faster everywhere with the same bits, the whole suite, the portable prefill tests
# and their memcheck with the patched kernels (landing is then `git apply` of the same
# sources). `run` with carry ["gpu-bundle", "kv_b"] after `bash scripts/gpu_bundle.sh` (main's
# wheel; kv_b/fi_cache.tgz holds FlashInfer's JIT cache if an earlier session left it):
# bash benchmarks/prepared/next_call.sh (about 8 device minutes).
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
K=/tmp/qkernels; rm -rf $K; mkdir -p $K && cp -r crates/pal-core/kernels/. $K
patch -s -p4 -d $K < benchmarks/prepared/prefill-portable-q-rows.patch || exit 1
S="python3 scripts/prefill_sweep.py"
export PAL_PREFILL_PATH=portable
timeout 150 $S --label main --save /tmp/pm --flashinfer fa2 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=$K timeout 60 $S --label rows --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
timeout 60 $S --label main --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
PAL_KERNEL_DIR=$K timeout 60 $S --label rows --compare /tmp/pm 2>&1 | tee -a "$O/ab.txt"
unset PAL_PREFILL_PATH
python3 - "$O/ab.txt" > "$O/choice.txt" <<'PY'
import collections, re, sys
rate, bad = collections.defaultdict(list), False
for line in open(sys.argv[1]):
    m = re.match(r"(main|rows) +(\w+) D\d+ p\d+ (\S+) .*? ([\d.]+) TFLOP/s", line)
    if m:
        rate[(m.group(1), m.group(2), m.group(3))].append(float(m.group(4)))
        bad |= m.group(1) == "rows" and "same bits" not in line
ratio = [max(rate[k]) / max(rate[("main",) + k[1:]]) for k in rate if k[0] == "rows"]
win = not bad and ratio and min(ratio) >= 0.99 and sum(ratio) / len(ratio) > 1.01
print("suite" if win else "stop", [round(r, 3) for r in ratio], "bits differ" if bad else "")
PY
cat "$O/choice.txt"
[ "$(cut -d' ' -f1 "$O/choice.txt")" = suite ] || exit 0
echo "suite with PAL_KERNEL_DIR=$K ($SECONDS s)"
PAL_KERNEL_DIR=$K timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"
PAL_KERNEL_DIR=$K PAL_PREFILL_PATH=portable timeout 90 python3 -m pytest -q -x -n 12 -p no:cacheprovider \
  tests/test_cuda.py tests/test_variants.py tests/test_fp8.py -k "prefill and not cpu" > "$O/portable.txt" 2>&1
tail -1 "$O/portable.txt"
PAL_KERNEL_DIR=$K PAL_PREFILL_PATH=portable timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest \
  -q -p no:cacheprovider tests/test_cuda.py -k "prefill and (bad or ragged or every_page_size or lengths)" > "$O/memcheck_portable.txt" 2>&1
echo "portable memcheck rc $?"; grep -E "ERROR SUMMARY|passed|failed" "$O/memcheck_portable.txt" | tail -2
