# Call 2: fp8 decode with 32-key tiles (pal K [chunk][key]) vs 16-key vs the pre-session kernels; fp8 tests.
export PYTHONPATH=/tmp/site:scripts PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site gpu-bundle/*.whl 2>/dev/null
D=/tmp/ref
ds() { local label=$1 dir=$2 tuning=$3; shift 3; env PAL_KERNEL_DIR=kv_b/$dir ${tuning:+PAL_DECODE_TUNING=$tuning} timeout 150 python3 scripts/decode_sweep.py --label $label "$@" 2>&1 | grep -v Warn; }
F8="--kv-dtype float8_e4m3fn --rows 1x4096 8x4096 32x4096 64x4096 128x2048 256x1024"
{
timeout 200 python3 -m pytest tests/test_fp8.py -q -x -p no:cacheprovider 2>&1 | tail -4
ds main main keys=16 $F8 --save $D/f8
ds k16 k32 keys=16 $F8 --compare $D/f8
ds k32 k32 "" $F8 --compare $D/f8
ds k32-s4 k32 stages=4 $F8 --rows 8x4096 32x4096 --compare $D/f8
ds k32-s2 k32 stages=2 $F8 --rows 8x4096 32x4096 --compare $D/f8
ds k32 k32 "" --kv-dtype float8_e4m3fn --rows 32x4096 --extra --layouts pal nhd
ds bf16 k32 "" --rows 8x4096 32x4096 --layouts pal
} 2>&1 | tee $OUT/sweep.txt
