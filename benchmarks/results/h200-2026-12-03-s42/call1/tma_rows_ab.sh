#!/bin/bash
# A call script (prepared in the forty-first session, not yet run): the decode's tensor copies
# of pal values as 128-byte rows (`decode-pal-pages-32-tma.patch` + `decode-fp8-tma-rows.patch`)
# against main's wheel, two alternating rounds, kernel TB/s by graph replay, same bits checked;
# fp8 e4m3 pal pages of 32 (main: the copying lanes) and 64 (main: boxes of 64-byte rows), and
# bf16 page 32 once more. Before it, here: apply both patches, `bash scripts/gpu_bundle.sh`
# (gpu-bundle/: the candidate), and copy main's wheel (built before applying) to
# gpu-bundle-main/. Carry gpu-bundle, gpu-bundle-main and this folder's script's copy in kv_b/.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site-main gpu-bundle-main/proxy_attention_lab-*.whl || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
S="python3 scripts/decode_sweep.py --layouts pal"
for round in 1 2; do
  for v in main rows; do
    site=/tmp/site; [ $v = main ] && site=/tmp/site-main
    chk="--compare /tmp/ab"; [ $round = 1 ] && [ $v = main ] && chk="--save /tmp/ab"
    {
      echo "== $v round $round"
      PYTHONPATH=$site timeout 90 $S --kv-dtype float8_e4m3fn --page 32 --rows 8x4096 32x4096 64x4096 1x32768 --label "$v" $chk
      PYTHONPATH=$site timeout 90 $S --kv-dtype float8_e4m3fn --page 64 --rows 8x4096 32x4096 64x4096 1x32768 --label "$v" $chk
      PYTHONPATH=$site timeout 60 $S --kv-dtype float8_e4m3fn --page 32 --dim 256 --rows 8x4096 32x4096 --label "$v" $chk
      PYTHONPATH=$site timeout 60 $S --kv-dtype float8_e4m3fn --page 64 --dim 64 --rows 8x4096 32x4096 --label "$v" $chk
      PYTHONPATH=$site timeout 60 $S --page 32 --rows 8x4096 32x4096 --label "$v" $chk
    } >> "$O/sweep.txt" 2>&1
  done
done
grep -E "TB/s|rror" "$O/sweep.txt" | sed 's/hq32.hkv8 //'
echo "done $SECONDS s"
