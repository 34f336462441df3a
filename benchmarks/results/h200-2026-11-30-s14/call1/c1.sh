#!/bin/bash
# Session 14, call 1: the prepared patches. Tests on variants first (fe fill, lp pal decode);
# prefill Q prefetch (qp) A/B/A with bits; fp8 history scale (fs) vs main; fill evict-first (fe)
# in the lab beside FlashInfer's append; pal lane pages (lp) on pages 1-128; the page-1 host
# wheel (pal page 1 runs nhd kernels): its tests then page-1 rows.
export PYTHONUNBUFFERED=1 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a PYTEST_ADDOPTS="--timeout=90"
O=$OUT
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site1 kv_b/whl-page1/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $O/log.txt
PT="python3 -m pytest -q -p no:cacheprovider -n 8"
PAL_KERNEL_DIR=kv_b/fe timeout 80 $PT tests/test_fill.py -k cuda > $O/tests.txt 2>&1; echo "fe tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -1 $O/tests.txt | tee -a $O/log.txt
PAL_KERNEL_DIR=kv_b/lp timeout 100 $PT tests/test_cuda.py tests/test_fp8.py -k "decode and pal" >> $O/tests.txt 2>&1; echo "lp tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -1 $O/tests.txt | tee -a $O/log.txt
PYTHONPATH=/tmp/site1 timeout 100 $PT tests/test_cuda.py tests/test_fp8.py tests/test_fill.py -k "pal and not cpu" >> $O/tests.txt 2>&1; echo "page1 tests rc $? ($SECONDS s)" | tee -a $O/log.txt; tail -1 $O/tests.txt | tee -a $O/log.txt
S="python3 scripts/prefill_sweep.py"
ROWS="1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096"
sweep() { timeout 70 $S --rows $ROWS "$@" 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt; }
sweep --label main --save /tmp/pm
PAL_KERNEL_DIR=kv_b/qp sweep --label qp --compare /tmp/pm
sweep --label main-again
PAL_KERNEL_DIR=kv_b/qp sweep --label qp-again --compare /tmp/pm
F="--kv-dtype float8_e4m3fn --rows 1x4096+0 4x1024+8192 8x512+4096"
timeout 45 $S --label main $F --save /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt
PAL_KERNEL_DIR=kv_b/fs timeout 45 $S --label fs $F --compare /tmp/pf 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt
echo "prefill done ($SECONDS s)" | tee -a $O/log.txt
L="python3 -m proxy_attention_lab.bench --ops fill --fill 4096 32768 --no-plots"
for lay in pal nhd; do
  timeout 60 $L --layout $lay --out /tmp/lab-main-$lay 2>&1 | tail -6 | tee -a $O/fill.txt
  PAL_KERNEL_DIR=kv_b/fe timeout 60 $L --layout $lay --out /tmp/lab-fe-$lay 2>&1 | tail -6 | tee -a $O/fill.txt
done
echo "fill done ($SECONDS s)" | tee -a $O/log.txt
D="python3 scripts/decode_sweep.py --layouts pal --rows 8x4096 --extra"
timeout 70 $D --label main --save /tmp/dm 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
PAL_KERNEL_DIR=kv_b/lp timeout 70 $D --label lp --compare /tmp/dm 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
timeout 40 python3 scripts/decode_sweep.py --layouts pal nhd --rows 32x4096 8x4096 --page 1 --label page1main 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
PYTHONPATH=/tmp/site1 timeout 40 python3 scripts/decode_sweep.py --layouts pal nhd --rows 32x4096 8x4096 --page 1 --label page1wheel 2>&1 | grep -E "TB/s|rror" | tee -a $O/decode.txt
echo "decode done ($SECONDS s)" | tee -a $O/log.txt
for w in site site1; do
  PYTHONPATH=/tmp/$w timeout 40 $S --layouts pal nhd --page 1 --rows 4x1024+8192 16x1024+0 --label page1-$w 2>&1 | grep -E "TFLOP|rror" | tee -a $O/prefill.txt
done
echo "end ($SECONDS s)" | tee -a $O/log.txt
