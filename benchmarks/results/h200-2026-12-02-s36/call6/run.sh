# Session 36, call 6 (warm): MQA float32 32 x 4096 at pages 1 / 4 / 64 and HQ 64 / HKV 4, TF32
# against CUDA cores (PAL_DECODE_TUNING=tf32=0).
. scripts/gpu_env.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site
for k in "" "tf32=0"; do for pg in 1 4 64; do PAL_DECODE_TUNING=$k timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 32/1 --page $pg --rows 32x4096 --label "p$pg[$k]" 2>&1 | grep kernel; done; PAL_DECODE_TUNING=$k timeout 60 python3 scripts/decode_sweep.py --dtype float32 --heads 64/4 --rows 32x4096 --label "hq64/4[$k]" 2>&1 | grep kernel; done
