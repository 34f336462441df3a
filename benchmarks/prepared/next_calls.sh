#!/bin/bash
# The fiftieth session's prepared kernel variants, timed on the GPU machine (a call each part):
#   bash benchmarks/prepared/next_calls.sh padded|swizzled|table
# Each part builds its kernel folders under kv_b/ from main's kernels and this folder's patches
# (kernel-only changes: no wheel rebuild), then A/B rounds against main's folder (`mainK`)
# through scripts/ab_rounds.sh (same bits checked, verdict printed last). A winner still needs
# the whole suite and memcheck (scripts/kernel_suite.sh kv_b/NAME) before it lands.
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
variant() {  # variant NAME [PATCH]: kv_b/NAME = main's kernels (+ PATCH)
  rm -rf "kv_b/$1" && mkdir -p "kv_b/$1" && cp -r crates/pal-core/kernels/. "kv_b/$1"
  [ -z "$2" ] || git apply --directory="kv_b/$1" -p4 "benchmarks/prepared/$2" || exit 1
}
variant mainK
case $1 in
padded)  # pal pages of 2-8 at head dims 80 / 96 / 112: pool-order values (prefill-wgmma-padded-pal-values.patch)
  variant pv prefill-wgmma-padded-pal-values.patch
  # (this machine's copy of the tests gains pal small pages at head dims 80-112, invalid pages too)
  git apply benchmarks/prepared/prefill-padded-pal-tests.patch || exit 1
  for v in mainK pv; do
    PAL_KERNEL_DIR=kv_b/$v timeout 150 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py \
      -k "head_dims_between or (every_page_size_float32 and 96) or (splits_short and 96) or pal_small_pages" > "$O/${v}_tests.txt" 2>&1
    echo "$v tests rc $? ($SECONDS s)"; tail -2 "$O/${v}_tests.txt"
  done
  for dim in 96 80 112; do
    for page in 2 4 8; do
      ROUNDS=2 bash scripts/ab_rounds.sh "$O/padded_d$dim.txt" \
        "python3 scripts/prefill_sweep.py --dim $dim --page $page --rows 4x1024+8192 8x512+4096 --layouts pal" mainK pv | tail -4
    done
  done ;;
swizzled)  # 16-bit pal history K in swizzled rows from pages of 16 (swk) or 2 (swk2) up (prefill-pal-swizzled-k.patch)
  variant swk prefill-pal-swizzled-k.patch
  variant swk2 prefill-pal-swizzled-k.patch
  sed -i 's/^#define PAL_SWIZZLED_K_FROM 16$/#define PAL_SWIZZLED_K_FROM 2/' kv_b/swk2/include/pal/prefill_wgmma.cuh
  for page in 16 128 4; do
    ROUNDS=2 bash scripts/ab_rounds.sh "$O/swizzled_p$page.txt" \
      "python3 scripts/prefill_sweep.py --page $page --rows 4x1024+8192 8x512+4096 4x2048+8192 --layouts pal" mainK swk swk2 | tail -5
  done ;;
table)  # issue 13's rows beside FlashInfer's FA3 and FA2 paths (their JIT: minutes on a fresh machine)
  timeout 560 python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 4x2048+8192 \
    --layouts nhd pal --flashinfer fa3 fa2 --label main 2>&1 | tee "$O/table.txt" ;;
esac
echo "part $1 done ($SECONDS s)"
