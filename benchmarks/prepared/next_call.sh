#!/bin/bash
# A first GPU call for the next session (written in the fifteenth): hardware counters of the
# decode rows that still trail FlashInfer (docs/kernels.md, decode v12, "Where the rest goes"),
# MQA's split plan and fp8's ring depth by knob, then the prepared nhd / hnd row plan's tests
# and A/B (about eight device minutes). Needs the bundle (`bash scripts/gpu_bundle.sh`), the
# FlashInfer JIT cache if kept (`kv_b/fi_cache.tgz`), then `run` with carry ["gpu-bundle",
# "kv_b"]: bash benchmarks/prepared/next_call.sh. For the prepared nhd / hnd row plan, first:
#   mkdir -p kv_b/rp && cp -r crates/pal-core/kernels/. kv_b/rp &&
#     git apply --directory=kv_b/rp -p4 benchmarks/prepared/decode-nhd-row-pages.patch
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
O=${OUT:-/tmp/out}; mkdir -p "$O" /tmp/ncu
[ -f kv_b/fi_cache.tgz ] && mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
export PYTHONPATH=/tmp/site
# name: layout row page dim heads (the row's ratio to FlashInfer, fifteenth session)
for spec in "nhd-p4 nhd 32x4096 4 128 32/8" "pal-p2 pal 32x4096 2 128 32/8" \
  "pal-p128 pal 8x4096 128 128 32/8" "pal-p16 pal 8x4096 16 128 32/8" \
  "nhd-d96 nhd 32x4096 16 96 32/8" "mqa nhd 1x4096 16 128 32/1"; do
  set -- $spec
  timeout 90 python3 scripts/ncu_report.py decode --layout $2 --row $3 --page $4 --dim $5 --heads $6 \
    --out /tmp/ncu/$1 > /tmp/ncu/$1.txt 2>&1
  { echo "== $spec ($SECONDS s)"; cat /tmp/ncu/$1.txt; } >> "$O/ncu.txt"
done
tar czf "$O/ncu.tgz" -C /tmp ncu
row() { timeout 100 python3 scripts/decode_sweep.py --flashinfer --heads 32/1 --layouts nhd "$@" 2>&1 | grep -E "TB/s|rror|failed" | tee -a "$O/mqa.txt"; }
for knob in "" min_split=128 min_split=64; do
  PAL_DECODE_TUNING=$knob row --rows 1x4096 8x4096 32x4096 --label "mqa $knob"
done
# fp8 ring depth (4 stages: a stage index by mask instead of % 3, and 16 KB more in flight per
# CTA; 64 KB of shared memory, still three CTAs per SM).
for knob in "" stages=4 stages=2; do
  PAL_DECODE_TUNING=$knob timeout 90 python3 scripts/decode_sweep.py --kv-dtype float8_e4m3fn \
    --rows 8x4096 32x4096 64x4096 --label "fp8 $knob" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/mqa.txt"
done
# decode-nhd-row-pages.patch (kv_b/rp, prepared as the header says): decode tests on it, then
# nhd / hnd pages of 2-8 A/B with bits compared (the same bits are expected).
if [ -d kv_b/rp ]; then
  PAL_KERNEL_DIR=kv_b/rp timeout 150 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py \
    tests/test_variants.py -k "decode and not cpu" > "$O/rp_tests.txt" 2>&1
  echo "rp tests rc $? ($SECONDS s)" | tee -a "$O/rp.txt"; tail -1 "$O/rp_tests.txt" | tee -a "$O/rp.txt"
  for page in 4 2 8; do
    D="python3 scripts/decode_sweep.py --layouts nhd hnd --page $page --rows 8x4096 32x4096"
    timeout 60 $D --label main-p$page --save /tmp/rp$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/rp.txt"
    PAL_KERNEL_DIR=kv_b/rp timeout 60 $D --label rp-p$page --compare /tmp/rp$page 2>&1 | grep -E "TB/s|rror" | tee -a "$O/rp.txt"
  done
  D="python3 scripts/decode_sweep.py --layouts nhd --page 4 --rows 32x4096 --kv-dtype float8_e4m3fn"
  timeout 60 $D --label main-fp8-p4 --save /tmp/rp8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/rp.txt"
  PAL_KERNEL_DIR=kv_b/rp timeout 60 $D --label rp-fp8-p4 --compare /tmp/rp8 2>&1 | grep -E "TB/s|rror" | tee -a "$O/rp.txt"
fi
echo "end ($SECONDS s)" | tee -a "$O/mqa.txt"
