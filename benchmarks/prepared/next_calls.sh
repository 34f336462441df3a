#!/bin/bash
# The prepared device calls (a call each part), on the GPU machine:
#   bash benchmarks/prepared/next_calls.sh prescaled-suite|prescaled|prescaled-poly|prescaled-d256|stamps|table|pages|probes
#   (grouped*: run, not kept; probes: run in the fifty-sixth session, answered)
# probes (fifty-fourth session, about a minute): is `pal`'s S wait the unswizzled K? The tensor
#   cores' rate of m64n128k16 chains with K in 128-byte-swizzled rows against the two interleaved
#   forms (wgmma_modes.cu), and whether a tensor map with permuted strides lands a `pal` K page as
#   swizzled [slot][dim] rows, checked element by element, at what rate beside nhd rows' boxes and
#   whole raw pages (tma_pal.cu). Both built with nvcc there.
# grouped: pal pool-order K tiles as [8-key group][chunk][8][8] (prefill-pal-grouped-k.patch)
#   against main's kernels, two A/B rounds over page sizes (16-bit and fp8), the prefill tests on
#   it, then its stamps (the S wait: 24.2 us an item for pal against nhd's 7.8, fifty-first
#   session's call 4). A winner still needs the whole suite and memcheck: grouped-suite (pytest,
#   about 400 s) and grouped-memcheck (the three workloads, then the pal prefill tests under memcheck).
# stamps: where `pal`'s history rows lose 3-7% to `nhd`'s at page 16 (D 128): the Hopper prefill's
#   stamps (prefill-stamps.patch: per-CTA cycles of each consumer and producer phase, the
#   consumers' tile loop in seven phases) in both layouts and soft-capped, then
#   ncu of main's `pal` and `nhd` kernels on the history row (scripts/ncu_report.py).
# prescaled-suite (fifty-seventh session; run first, about 410 s): the whole suite and memcheck on
#   prefill-prescaled-q.patch (soft-capped Q multiplied by scale / cap in shared memory once an
#   item: soft-capped time 0.96-0.99x main's on an H100, the prefill variant tests passed), which
#   it needs before it lands. prescaled: the same A/B on an H200 (three processes each, both
#   layouts, three rows, soft-capped against plain in alternating rounds).
# prescaled-poly (fifty-seventh session, about 200 s): on top of the prescaled Q, every Nth key
#   block's weights by a degree-3 polynomial on the FMA pipe in unmasked bounded tiles
#   (prefill-softcap-poly.patch; N = 2 / 4 / 8 by the kernel's PAL_POLY_EVERY default), against
#   main and the prescaled Q alone, two rounds of the soft-cap sweep, then the prefill variant
#   tests on N = 4. With the FMUL gone both soft-capped blocks are MUFU alone (a tanh and an
#   exponential a score, against the other warpgroup's tensor time), which is what a share on
#   the FMA pipe relieves; the forty-ninth session's form lost (1.12-1.29x), but that form, compiled
#   here, branches per score on the tile's mask, and its tanh block still held the FMULs.
# prescaled-d256 (about 150 s): soft-capped prefill at head dim 256 (Gemma 2's; the one-item-per-CTA
#   form, where both warpgroups' softmaxes run while the tensor cores wait) against plain, main's
#   kernels against the prescaled Q there too (prefill-prescaled-q-all.patch on top of
#   prefill-prescaled-q.patch), then the soft-capped tests at head dims 192 / 256 on it.
# table: issue 13's rows beside FlashInfer's FA3 and FA2 paths (their JIT: about a minute).
# pages: the history rows beside FA3 at every page size issue 13 names (last measured over pages in
#   the twenty-seventh session; pal pages 2-8 and nhd pages 1-2 have changed since).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
variant() {  # variant NAME [PATCH...]: kv_b/NAME = main's kernels (+ the patches, in order)
  local name=$1; shift
  rm -rf "kv_b/$name" && mkdir -p "kv_b/$name" && cp -r crates/pal-core/kernels/. "kv_b/$name"
  for patch in "$@"; do git apply --directory="kv_b/$name" -p4 "benchmarks/prepared/$patch" || exit 1; done
}
case $1 in
probes)
  # (-arch=sm_90a built compute_90 PTX for wgmma_modes there, 2026-12-05: hence the gencode)
  for probe in wgmma_modes tma_pal; do
    nvcc -gencode arch=compute_90a,code=sm_90a -std=c++17 -O3 -I crates/pal-core/kernels/include -o "/tmp/$probe" \
      "benchmarks/prepared/$probe.cu" -lcuda > "$O/$probe.txt" 2>&1 || { echo "$probe: nvcc failed"; tail -5 "$O/$probe.txt"; }
  done
  timeout 90 /tmp/wgmma_modes >> "$O/wgmma_modes.txt" 2>&1; echo "wgmma_modes rc $?"; tail -14 "$O/wgmma_modes.txt"
  # A form a process (an illegal address, as form 0 met on 2026-12-05, poisons the context),
  # then form 0 under memcheck: which access fails.
  for form in 1 2 0 3 4; do timeout 60 /tmp/tma_pal $form >> "$O/tma_pal.txt" 2>&1; echo "tma_pal $form rc $?"; done
  timeout 120 compute-sanitizer --print-limit 5 /tmp/tma_pal 0 >> "$O/tma_pal.txt" 2>&1; echo "memcheck rc $?"
  grep -v "^=========     " "$O/tma_pal.txt" | tail -40 ;;
grouped)
  variant mainK
  variant gk prefill-pal-grouped-k.patch
  for page in 16 128 4 2; do  # (each part's lines under /tmp, gathered below: a call returns eight files)
    ROUNDS=2 bash scripts/ab_rounds.sh "/tmp/grouped_p$page.txt" \
      "python3 scripts/prefill_sweep.py --page $page --rows 4x1024+8192 8x512+4096 --layouts pal" mainK gk | tail -3
  done
  ROUNDS=2 bash scripts/ab_rounds.sh "/tmp/grouped_fp8.txt" \
    "python3 scripts/prefill_sweep.py --kv-dtype float8_e4m3fn --rows 4x1024+8192 8x512+4096 --layouts pal" mainK gk | tail -3
  cat /tmp/grouped_*.txt /tmp/grouped_*.verdict > "$O/grouped.txt"
  PAL_KERNEL_DIR=kv_b/gk timeout 240 python3 -m pytest -q -p no:cacheprovider -n 12 tests/test_cuda.py tests/test_fp8.py \
    tests/test_variants.py -k prefill > "$O/grouped_tests.txt" 2>&1
  echo "tests rc $? ($SECONDS s)"; tail -2 "$O/grouped_tests.txt"; grep -E "^FAILED" "$O/grouped_tests.txt" | head
  variant gs prefill-pal-grouped-k.patch prefill-stamps.patch
  PAL_KERNEL_DIR=kv_b/gs timeout 100 python3 benchmarks/prepared/prefill_stamps.py --rows 4x1024+8192 --layouts pal nhd \
    2>&1 | tee "$O/grouped_stamps.txt" | grep -E "page|S wait|softmax|full-slot" ;;
grouped-suite)
  variant gk prefill-pal-grouped-k.patch
  bash scripts/kernel_suite.sh kv_b/gk 570 pytest ;;
grouped-memcheck)
  variant gk prefill-pal-grouped-k.patch
  bash scripts/kernel_suite.sh kv_b/gk 250 memcheck
  PAL_KERNEL_DIR=kv_b/gk timeout $((480 - SECONDS)) compute-sanitizer --tool memcheck --print-limit 20 python3 -m pytest -q \
    -p no:cacheprovider tests/test_cuda.py tests/test_fp8.py \
    -k "pal_pages_over or (paths_at_every_page and pal) or (bad_page_ids and pal) or (fp8_long_histories and pal)" \
    > "$O/memcheck_pal.txt" 2>&1
  echo "memcheck pal rc $? ($SECONDS s)"; tail -3 "$O/memcheck_pal.txt" ;;
stamps)
  variant ps prefill-stamps.patch
  PAL_KERNEL_DIR=kv_b/ps timeout 150 python3 benchmarks/prepared/prefill_stamps.py \
    --rows 4x1024+8192 8x512+4096 16x1024+0 --layouts nhd pal --pages 16 2>&1 | tee "$O/stamps.txt"
  PAL_KERNEL_DIR=kv_b/ps timeout 100 python3 benchmarks/prepared/prefill_stamps.py \
    --rows 4x1024+8192 --layouts nhd pal --soft-caps 30 2>&1 | tee -a "$O/stamps.txt"
  # ncu: pal against nhd (the S wait), and nhd soft-capped (is the softmax phase MUFU-throttled
  # where the two warpgroups' softmaxes overlap, or waiting on latency?)
  for run in "pal 0" "nhd 0" "nhd 30"; do
    read -r layout cap <<< "$run"
    timeout $(( (540 - SECONDS) / 3 )) python3 scripts/ncu_report.py prefill --layout "$layout" --soft-cap "$cap" \
      --row 4x1024+8192 --out "/tmp/ncu-$layout-$cap" > "$O/ncu-$layout-cap$cap.txt" 2>&1
    echo "ncu $layout soft-cap $cap rc $? ($SECONDS s)"
  done ;;
prescaled-suite)
  variant pq prefill-prescaled-q.patch
  PAL_SUITE_WORKERS=13 bash scripts/kernel_suite.sh kv_b/pq 560 tests ;;
prescaled)
  variant st
  variant pq prefill-prescaled-q.patch
  for round in 1 2 3; do for v in st pq; do echo "== $v round $round"
    PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill --variants soft-cap --rounds 3 \
      --prompts 4x1024+8192 8x512+4096 4x4096+0 2>&1 | grep "^| prefill"
  done; done > "$O/pq.txt" 2>&1; grep -v plain "$O/pq.txt" ;;
prescaled-poly)
  variant st
  variant pq prefill-prescaled-q.patch
  for n in 2 4 8; do
    variant pp$n prefill-prescaled-q.patch prefill-softcap-poly.patch
    sed -i "s/#define PAL_POLY_EVERY 4/#define PAL_POLY_EVERY $n/" kv_b/pp$n/include/pal/prefill_wgmma.cuh
  done
  for round in 1 2; do for v in st pq pp2 pp4 pp8; do echo "== $v round $round"
    PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill --variants soft-cap --rounds 3 \
      --prompts 4x1024+8192 8x512+4096 4x4096+0 2>&1 | grep "^| prefill"
  done; done > "$O/poly.txt" 2>&1; grep -v plain "$O/poly.txt"
  PAL_KERNEL_DIR=kv_b/pp4 timeout 200 python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_variants.py -k prefill \
    > "$O/poly_tests.txt" 2>&1; echo "tests rc $?"; tail -2 "$O/poly_tests.txt" ;;
prescaled-d256)
  variant st
  variant pa prefill-prescaled-q.patch prefill-prescaled-q-all.patch
  for round in 1 2; do for v in st pa; do echo "== $v round $round"
    PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill --variants soft-cap --rounds 3 \
      --dim 256 --prompts 4x1024+8192 4x4096+0 2>&1 | grep "^| prefill"
  done; done > "$O/d256.txt" 2>&1; cat "$O/d256.txt"
  PAL_KERNEL_DIR=kv_b/pa timeout 200 python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_variants.py \
    -k "large_head_dims or fixed_base or prefill_variants" > "$O/d256_tests.txt" 2>&1; echo "tests rc $?"; tail -2 "$O/d256_tests.txt" ;;
table)
  timeout 560 python3 scripts/prefill_sweep.py --rows 1x4096+0 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 4x2048+8192 \
    --layouts nhd pal --flashinfer fa3 fa2 --label main 2>&1 | tee "$O/table.txt" ;;
pages)
  for page in 1 2 4 8 32 64 128; do
    timeout $(( (580 - SECONDS) / 2 )) python3 scripts/prefill_sweep.py --page $page --rows 4x1024+8192 8x512+4096 4x2048+8192 \
      --layouts nhd pal --flashinfer fa3 --label main 2>&1 | grep -E "TFLOP|rror" | tee -a "$O/pages.txt"
    [ $SECONDS -gt 500 ] && break
  done ;;
esac
echo "part $1 done ($SECONDS s)"
