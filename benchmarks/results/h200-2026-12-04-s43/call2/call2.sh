#!/bin/bash
# Forty-third session, call 2: hardware counters of fp8 e4m3 pal decode at 32 x 4096, pages of
# 16 (lanes' copies) and 32 (tensor copies of V, two boxes a step), beside nhd pages of 32
# (main's wheel, `ncu --clock-control none`, scripts/ncu_report.py), after the whole pytest suite
# on the candidate tree (its wheel and kernels).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site-main gpu-bundle-main/proxy_attention_lab-*.whl || exit 1
echo "== pytest from $SECONDS s"
bash scripts/kernel_suite.sh crates/pal-core/kernels 440 pytest
mkdir -p /tmp/ncu
for c in pal:32 pal:16; do
  [ $SECONDS -gt 430 ] && break
  layout=${c%:*} page=${c#*:}
  echo "== ncu fp8 $layout page $page ($SECONDS s)"
  PYTHONPATH=/tmp/site-main timeout $(( (480 - SECONDS) / 2 )) python3 scripts/ncu_report.py decode --layout "$layout" --page "$page" \
    --kv-dtype float8_e4m3fn --row 32x4096 --out "/tmp/ncu/$layout-p$page" > "/tmp/ncu/$layout-p$page.txt" 2>&1
  head -c 6000 "/tmp/ncu/$layout-p$page.txt"
done
tar czf "$O/ncu.tgz" -C /tmp/ncu .
echo "call done $SECONDS s"
