# Session 36, call 8 (warm): MQA float32 split floors, TF32 (main).
. scripts/gpu_env.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site
for k in "" "min_split=128" "min_split=64"; do PAL_DECODE_TUNING=$k timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 32/1 --rows 8x4096 1x32768 16x4096 --label "[$k]" 2>&1 | grep kernel; done
