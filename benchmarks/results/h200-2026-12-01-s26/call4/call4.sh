#!/bin/bash
# Twenty-sixth session, call 4 (main's wheel, 0ef5154): the pal values of pages of 2 and 4 slots
# staged raw (16-byte copies, a page's values as they lie) and transposed by the producer a tile
# later (kv_b/tv, `TRANSPOSED_V`) against main's pool-order 4- / 8-byte copies (kv_b/m26): call
# 3's ncu had page 2's producer at 538 instructions a tile and warp, the consumers waiting on it.
# Same bits expected (the same V tile). Then the whole suite and memcheck on kv_b/tv if page 2
# won, and page 2 beside FA3 if time is left.
. scripts/gpu_env.sh || exit 1
bash scripts/ab_rounds.sh "$O/tv2.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 --layouts pal \
  --page 2" m26 tv
bash scripts/ab_rounds.sh "$O/tv4.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 4x2048+8192 --layouts pal \
  --page 4" m26 tv
ROUNDS=1 bash scripts/ab_rounds.sh "$O/tv2d64.txt" "python3 scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal \
  --page 2 --dim 64" m26 tv
if head -1 "$O/tv2.txt.verdict" | grep -q "^suite tv" || head -1 "$O/tv4.txt.verdict" | grep -q "^suite tv"; then
  PAL_KERNEL_DIR=kv_b/tv timeout 400 bash scripts/gpu_suite.sh gpu-bundle "$O/suite" tests > "$O/suite.txt" 2>&1
  echo "suite rc $? ($SECONDS s)" | tee -a "$O/suite.txt"; rm -f "$O/suite/gpu.txt"; tail -12 "$O/suite.txt"
  grep -E "^FAILED|^____" "$O/suite/pytest.log" | head -20
  rm -rf "$O/suite"
fi
limit=110
for page in 2 4; do
  [ $SECONDS -lt 470 ] || break
  PAL_KERNEL_DIR=kv_b/tv timeout $limit python3 -u scripts/prefill_sweep.py --rows 4x1024+8192 8x512+4096 --layouts pal nhd \
    --page $page --flashinfer fa3 --label tv 2>&1 | tee -a "$O/fa3.txt"
  limit=60
done
echo "== verdicts"; for f in "$O"/*.verdict; do echo "$(basename "$f"): $(tr '\n' ' ' < "$f")"; done
echo "end ($SECONDS s)"
