# Call 1: fp8 decode (hardware e4m3 cvt + lazy O rescale) vs main; bf16 decode; prefill prologue branch vs main.
export PYTHONPATH=/tmp/site:scripts PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/proxy*.whl 2>/dev/null
D=/tmp/ref
ds() { local label=$1 dir=$2 tuning=$3; shift 3; env PAL_KERNEL_DIR=kv_b/$dir ${tuning:+PAL_DECODE_TUNING=$tuning} timeout 120 python3 scripts/decode_sweep.py --label $label "$@" 2>&1 | grep -v Warn; }
ps() { local label=$1 dir=$2; shift 2; env PAL_KERNEL_DIR=kv_b/$dir timeout 100 python3 scripts/prefill_sweep.py --label $label "$@" 2>&1 | grep -v Warn; }
F8="--kv-dtype float8_e4m3fn --rows 8x4096 32x4096 64x4096 128x2048"
{
ds main main "" $F8 --save $D/f8
ds dec dec "" $F8 --compare $D/f8
ds dec-s4 dec stages=4 $F8 --layouts pal --compare $D/f8
ds dec-w8 dec warps=8 $F8 --layouts pal --compare $D/f8
ds main main "" --rows 1x4096 8x4096 32x4096 64x4096 --save $D/bf
ds dec dec "" --rows 1x4096 8x4096 32x4096 64x4096 --compare $D/bf
ps main main --save $D/pf
ps pro pro --compare $D/pf
ps main main --dim 64 --rows 4x4096+0 4x1024+8192 --save $D/pf64
ps pro pro --dim 64 --rows 4x4096+0 4x1024+8192 --compare $D/pf64
ps main main --page 1 --rows 4x1024+8192 --save $D/pf1
ps pro pro --page 1 --rows 4x1024+8192 --compare $D/pf1
} 2>&1 | tee $OUT/sweep.txt
timeout 100 python3 scripts/ncu_report.py decode --layout pal --row 32x4096 --kv-dtype float8_e4m3fn --out $OUT/ncu-f8-pal > /dev/null 2>&1 && env PAL_KERNEL_DIR=kv_b/dec timeout 100 python3 scripts/ncu_report.py decode --layout pal --row 32x4096 --kv-dtype float8_e4m3fn --out $OUT/ncu-f8-pal-dec 2>&1 | tail -40
