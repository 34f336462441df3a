#!/bin/bash
# The prepared device calls (a call each part), on the GPU machine:
#   bash benchmarks/prepared/next_calls.sh suite-on NAME PATCH...|
#     suite [DIR]|d64-keys|d64-ncu|portable-dims-fa2|random|knobs|lab|stamps|decode-stamps|table|pages|probes|pair
# suite (about 8 min): the whole GPU suite with every prefill on the portable path and memcheck
#   beside it, on main's kernels (`scripts/kernel_suite.sh`); last run on the form main holds now
#   (the seventy-third session's call 2, H100). Carry a bundle built from main (`scripts/gpu_bundle.sh`).
# The seventy-third session's plan for the next (results/h100-2026-12-07-s73/: it landed abi,
#   BOUNDED for the portable prefill and 64-key tiles for every variant up to D 128):
#   1. `lab` on whatever GPU comes: the default call path beside FlashInfer and the ceiling,
#      issues 11-13's standing figures (the last lab tables on an H200 predate many landings).
#   2. `d64-keys` (about 5 min, a bundle built from main): the portable prefill at D 64 on 128-key
#      tiles, FA2's depth there (`keys=128`, a lab form in `nhd` / `hnd`; compiled, NVRTC 13.0
#      sm_90, `nhd`: two m-tiles spill 108 bytes at 255 registers, one m-tile none at 168),
#      against the default 64 (0.93-0.98x FA2 in `nhd`). Then `d64-ncu` and `knobs` on an H200.
#   3. ALiBi at D 128 runs 0.84-0.88x plain attention (H100). ncu (call 4) found O's rescale on
#      every tile and 142 more instructions a tile in the S block (64 FFMAs of the bias, 58 of
#      the rest recomputing the rows' positions). Neither lever paid: reverse tile order
#      1.01-1.02x (call 5), the rows' bias origin held 0.997x (`nhd` 1.02-1.03x, `pal`
#      0.96-0.98x: more spills), both 1.011x (call 6; the patches are beside the results). What
#      is left is the register pressure of 64-key tiles at D 128 (ALiBi spills 36 / 54 bytes,
#      plain 16 / 0).
#   4. D 96 `nhd` variants on 32-key tiles (64 costs them 0.95-1.00x, two H100 calls); `pal`
#      keeps 64 (ALiBi 1.12-1.15x). A host rule: needs the suite.
# portable-dims-fa2 (sixty-fourth session, about 2 min with FA2's JIT cache): issue 13's target 3
#   on the portable path, main's kernels (or PAL_KERNEL_DIR's) beside FA2 at head dims 64 and 256
#   (FA2's others than 128), the history and no-history rows, three rounds (last run on the
#   sixty-fourth session's landed form: results/h100-2026-12-06-s64/call3).
# (stagger-variants, d64-ctas and tight ran in the sixty-eighth session and are removed: their
#   scripts and output are in results/h100-2026-12-06-s68/, calls 1-4; tight's A/B at D 128 in
#   the sixty-fifth session's call 1.)
# d64-ncu (sixty-seventh session, about 3 min with FA2's JIT cache): where the portable prefill
#   loses to FA2 at D 64 (H100, 2026-12-06: nhd 0.93-0.98x, pal 0.88-0.94x, history rows the
#   worst): ncu of main's pal and nhd kernels and FA2's on 8 x 512 over 4096, the source views
#   kept (`source64-*.csv.gz`: per-instruction samples and wavefronts).
# short-ncu (sixty-fourth session; run in the sixty-fifth, call 1, which found nhd's 64-bit Q and
#   output rows, now gone): where the
#   portable prefill's short rows lose to FA2 (16 x 1024, D 128, H100: nhd 231 against 287
#   TFLOP/s, 0.81x, where 1 x 4096 runs 1.12x and 4 x 4096 0.96x): ncu of main's nhd kernel and
#   of FA2's on that row (`scripts/ncu_report.py`; FA2's JIT from kv_b/fi_cache.tgz).
#   (grouped*: run, not kept; probes: run in the fifty-sixth session, answered)
# pair (sixty-first session, seconds): does `pal`'s S chain (K interleaved) slow down beside the
#   other warpgroup's P V (V [dim][key]) where `nhd`'s does not? wgmma_pair.cu: each chain alone,
#   then the two layouts' pairs and the crossed ones, cycles a wgmma of each.
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
# random (about 130 s on an H100; sixtieth session: 400 CUDA cases an op, 100 portable prefills
#   and 30 cases under memcheck passed, after a mend of the test's pool reader):
#   tests/test_random_problems.py at scale on main's kernels, 200 cases an op on the default
#   paths, 100 prefill cases on the portable path, 10 an op under memcheck beside them: the
#   combinations of SPEC's axes that the named tests do not pick. PAL_RANDOM_PROBLEMS=FIRST:END
#   draws cases no earlier run drew (0:600 have run; 400:600 in the sixty-sixth session, call 5); RANDOM_CASES=FIRST:END and RANDOM_SECONDS set
#   the default paths' range and time.
# knobs (73 s on an H100; sixtieth and sixty-sixth sessions: none helped there, so it waits for an H200): host
#   rules tried by PAL_DECODE_TUNING alone, each against the default in two alternating rounds
#   (kernel TB/s by graph replay): fp8 e4m3 32 x 4096 and bf16 16 / 24 x 4096 (268-403 MB, past
#   the evict-first limit of 4x the L2) with `evict=450`; head dim 64 at 32 x 4096 (its 128
#   two-head CTAs run one an SM, 81% of the ceiling) with `stages=2` and `min_ctas=2`.
# decode-stamps (about 150 s; rebased in the sixtieth and sixty-first sessions): the tensor-core decode's per-CTA
#   timeline (decode-stamps.patch) on issue 11's small rows and fp8 8 x 4096 (issue 14's 2x),
#   with the L2 flushed as timed: launch spread, first tile, streaming, merge, end spread.
# lab (about 560 s; fifty-eighth session): SPEC §7's rows as an engine calls PAL (the lab's default
#   sweep: decode, prefill and fill beside FlashInfer, torch SDPA and flex_attention, ceilings in
#   the same run, five rounds in turn), in `nhd` then `pal`: issue 11's, 12's and 13's standing
#   figures on the GPU lent (the last lab tables on an H200 predate the rounds).
# table: issue 13's rows beside FlashInfer's FA3 and FA2 paths (their JIT: about a minute).
# pages: the history rows beside FA3 at every page size issue 13 names (last measured over pages in
#   the twenty-seventh session; pal pages 2-8 and nhd pages 1-2 have changed since).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
variant() {  # variant NAME [PATCH...]: kv_b/NAME = main's kernels (+ the patches, in order)
  local name=$1; shift
  rm -rf "kv_b/$name" && mkdir -p "kv_b/$name" && cp -r crates/pal-core/kernels/. "kv_b/$name"
  for patch in "$@"; do git apply --directory="kv_b/$name" -p4 "benchmarks/prepared/$patch" || exit 1; done
}
prefill_ncu() {  # prefill_ncu TAG DIM ROW LIMIT LAYOUT...: ncu of each layout's prefill (portable path)
  local tag=$1 dim=$2 row=$3 limit=$4 layout
  shift 4
  export PAL_PREFILL_PATH=portable PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
  for layout in "$@"; do
    timeout "$limit" python3 scripts/ncu_report.py prefill --layout "$layout" --dim "$dim" --row "$row" \
      --out "/tmp/ncu-$layout" > "$O/ncu$tag-$layout.txt" 2>&1
    echo "ncu $layout rc $? ($SECONDS s)"
    gzip -c "/tmp/ncu-$layout/source.csv" > "$O/source$tag-$layout.csv.gz" 2>/dev/null
  done
  grep -E "Duration|Tensor|Ipc|Executed Instr|Registers|Waves|Wavefronts|stall" "$O"/ncu"$tag"-*.txt | head -40
}
tuned_sweeps() {  # tuned_sweeps FILE STOP "DIMS" "VARIANTS" "TUNINGS": portable prefill rows a tuning each
  local file=$1 stop=$2 dim v tuning
  for dim in $3; do
    [ $SECONDS -gt "$stop" ] && return
    for v in $4; do
      for tuning in $5; do
        PAL_PREFILL_PATH=portable PAL_PREFILL_TUNING=$([ "$tuning" = default ] || echo "$tuning") timeout 60 \
          python3 scripts/prefill_sweep.py --dim "$dim" --layouts nhd pal --rows 4x4096+0 4x1024+8192 \
          --variant "$v" --label "$(echo "$tuning" | tr -d =, )" >> "$file" 2>&1
      done
    done
    echo "d$dim ($SECONDS s)"
  done
}
case $1 in
suite-on)  # suite-on NAME PATCH...: the suite on main's kernels with the prepared patches applied
  variant "$2" "${@:3}"
  PAL_PREFILL_PATH=portable bash scripts/kernel_suite.sh "$PWD/kv_b/$2" 575 tests ;;
suite)  # suite [KERNEL_DIR]: main's kernels, or a candidate's folder
  PAL_PREFILL_PATH=portable bash scripts/kernel_suite.sh "${2:-$PWD/crates/pal-core/kernels}" 575 tests ;;
d64-keys)  # (about 5 min) FA2's tile depth at D 64: `keys=128` (nhd / hnd; pal keeps 64) and with one m-tile, against the default
  for round in 1 2; do
    tuned_sweeps "$O/d64keys.txt" 300 "64" "plain softcap=30 window=1024" "default keys=128 keys=128,m_tiles=1"
  done
  python3 scripts/ab_verdict.py "$O/d64keys.txt" --baseline default --candidates keys128 keys128m_tiles1 | tee "$O/d64keys_verdicts.txt"
  # the prefill tests with 128-key tiles wherever the knob takes them (nhd / hnd up to D 128)
  PAL_PREFILL_PATH=portable PAL_PREFILL_TUNING=keys=128 timeout 250 python3 -m pytest -q -p no:cacheprovider -n 12 tests \
    -k prefill > "$O/d64keys_tests.txt" 2>&1
  tail -2 "$O/d64keys_tests.txt"; grep -E "^FAILED" "$O/d64keys_tests.txt" | head -5 ;;
portable-dims-fa2)
  export PAL_PREFILL_PATH=portable
  for dim in 64 256; do
    timeout $(( (560 - SECONDS) / (dim == 64 ? 2 : 1) )) python3 scripts/prefill_sweep.py --dim $dim --layouts nhd pal \
      --rows 4x4096+0 16x1024+0 4x1024+8192 8x512+4096 --flashinfer fa2 --rounds 3 --label "d$dim" 2>&1 |
      tee -a "$O/portable-dims-fa2.txt" | grep -E "TFLOP|rror"
  done ;;
d64-ncu)
  prefill_ncu 64 64 8x512+4096 150 pal nhd flashinfer-fa2 ;;
short-ncu)
  prefill_ncu "" 128 16x1024+0 100 nhd flashinfer-fa2 ;;
pair)
  nvcc -gencode arch=compute_90a,code=sm_90a -std=c++17 -O3 -I crates/pal-core/kernels/include -o /tmp/wgmma_pair \
    benchmarks/prepared/wgmma_pair.cu > "$O/wgmma_pair.txt" 2>&1 || { echo "wgmma_pair: nvcc failed"; tail -5 "$O/wgmma_pair.txt"; }
  timeout 90 /tmp/wgmma_pair >> "$O/wgmma_pair.txt" 2>&1; echo "wgmma_pair rc $?"; tail -8 "$O/wgmma_pair.txt" ;;
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
decode-stamps)
  variant ds decode-stamps.patch
  for layout in pal nhd; do
    PAL_KERNEL_DIR=kv_b/ds timeout 60 python3 benchmarks/prepared/decode_stamps.py --rows 1x4096 8x4096 1x32768 32x4096 \
      --layout $layout --flush --raw "$O/stamps" 2>&1 | tee -a "$O/decode-stamps.txt"
  done
  PAL_KERNEL_DIR=kv_b/ds timeout 60 python3 benchmarks/prepared/decode_stamps.py --rows 8x4096 32x4096 \
    --kv-dtype float8_e4m3fn --flush --raw "$O/stamps" 2>&1 | tee -a "$O/decode-stamps.txt" ;;
lab)
  for layout in nhd pal; do
    share=$([ $layout = nhd ] && echo 2 || echo 1)  # (half of what is left, then the rest)
    timeout $(( (570 - SECONDS) / share )) python3 -m proxy_attention_lab.bench --device cuda \
      --layout $layout --rounds 5 --no-plots --out "$O/lab" > "$O/lab-$layout.txt" 2>&1
    echo "lab $layout rc $? ($SECONDS s)"; grep -E "^(decode|prefill|fill) .* (pal|flashinfer\w*) |^ceilings" "$O/lab-$layout.txt"
  done ;;
knobs)
  for round in 1 2; do
    for t in "" "evict=450"; do
      PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --layouts pal nhd --kv-dtype float8_e4m3fn \
        --rows 32x4096 --label "fp8 [$t]" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/knobs.txt"
      PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --layouts pal nhd --rows 16x4096 24x4096 \
        --label "bf16 [$t]" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/knobs.txt"
    done
    for t in "" "stages=2" "min_ctas=2"; do
      PAL_DECODE_TUNING=$t timeout 60 python3 scripts/decode_sweep.py --layouts pal nhd --dim 64 --rows 32x4096 \
        --label "d64 [$t]" 2>&1 | grep -E "TB/s|rror" | tee -a "$O/knobs.txt"
    done
  done ;;
random)
  export PAL_KERNEL_DIR=$PWD/crates/pal-core/kernels
  workers=$(python3 -c 'import xdist' 2>/dev/null && echo "-n 12")  # (pytest-xdist, where installed)
  PAL_RANDOM_PROBLEMS=10 timeout $(( ${RANDOM_SECONDS:-330} + 70 )) compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q \
    -p no:cacheprovider tests/test_random_problems.py -k cuda > "$O/random-memcheck.txt" 2>&1 &
  checker=$!
  # shellcheck disable=SC2086
  PAL_RANDOM_PROBLEMS=${RANDOM_CASES:-200} timeout ${RANDOM_SECONDS:-330} python3 -m pytest -q -p no:cacheprovider $workers tests/test_random_problems.py \
    -k cuda > "$O/random.txt" 2>&1
  echo "random rc $? ($SECONDS s)"; tail -2 "$O/random.txt"; grep -E "^FAILED" "$O/random.txt" | cut -c1-300 | head -20
  # shellcheck disable=SC2086
  PAL_PREFILL_PATH=portable PAL_RANDOM_PROBLEMS=100 timeout 120 python3 -m pytest -q -p no:cacheprovider $workers \
    tests/test_random_problems.py -k "cuda and prefill" > "$O/random-portable.txt" 2>&1
  echo "portable rc $? ($SECONDS s)"; tail -2 "$O/random-portable.txt"; grep -E "^FAILED" "$O/random-portable.txt" | head
  wait $checker; echo "memcheck rc $? ($SECONDS s)"; tail -2 "$O/random-memcheck.txt"
  grep -E "Invalid|ERROR SUMMARY: [1-9]|^FAILED" "$O/random-memcheck.txt" | head -20 ;;
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
