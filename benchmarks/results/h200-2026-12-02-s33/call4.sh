#!/bin/bash
# Session 33 call 4: where the float32 decode's illegal instruction comes from.
. scripts/gpu_env.sh || exit 1
export PAL_KERNEL_DIR=crates/pal-core/kernels
cat > /tmp/one.py <<'PY'
import sys, numpy as np, torch
import proxy_attention_lab as pal
from proxy_attention_lab.testing import paged_cache, with_nan_past_the_end, random_array, decode_reference, assert_close
layout, page = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
lens = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 3000]
for hq, hkv, d in [(2, 2, 64), (6, 2, 128), (12, 2, 80), (12, 1, 256)]:
    cache = with_nan_past_the_end(paged_cache(rng, lens, hkv, d, page, "float32", "nhd"), layout)
    q = random_array(rng, (len(lens), hq, d), "float32")
    args = [torch.from_numpy(np.ascontiguousarray(a)).cuda() for a in (q, cache.k_cache, cache.v_cache, cache.page_table, cache.lens)]
    for window in (None, 5, 37):
        kw = {} if window is None else {"window_left": window}
        print(layout, page, hq, hkv, d, window, flush=True)
        out = pal.paged_attention_decode(*args, layout=layout, **kw).cpu().numpy()
        try:
            assert_close(out, decode_reference(q, cache, **kw), "float32")
        except AssertionError as e:
            print("MISMATCH", str(e)[:300])
print("ok", layout, page)
PY
for lp in "nhd 8" "pal 16" "pal 2" "pal 4" "hnd 16"; do
  set -- $lp
  export PAL_CACHE_DIR=/tmp/cache-$1-$2
  CUDA_LAUNCH_BLOCKING=1 timeout 60 python3 /tmp/one.py $1 $2 > $O/one-$1-$2.txt 2>&1
  tail -3 $O/one-$1-$2.txt | cut -c1-300
done
export PAL_CACHE_DIR=/tmp/cache-mc
timeout 100 compute-sanitizer --tool memcheck --print-limit 3 python3 /tmp/one.py nhd 8 > $O/mc.txt 2>&1
grep -E "^=========     (at|by)|Illegal|Invalid|ERROR SUMMARY" $O/mc.txt | head -8
pc=$(grep -oE "pal_decode\+0x[0-9a-f]+" $O/mc.txt | head -1 | cut -d+ -f2)
echo "pc $pc"
for f in /tmp/cache-mc/*.cubin; do
  cuobjdump -sass -fun pal_decode $f > /tmp/s.txt 2>/dev/null || continue
  n=$(grep -n "/\*$(printf '%04x' $((pc)))\*/" /tmp/s.txt | head -1 | cut -d: -f1)
  [ -n "$n" ] && { echo "== $f ($(grep -c '' /tmp/s.txt) lines)"; sed -n "$((n-12)),$((n+4))p" /tmp/s.txt | sed 's/ \+/ /g' | cut -c1-90; }
done
timeout 100 compute-sanitizer --tool synccheck --print-limit 3 python3 /tmp/one.py nhd 8 > $O/sync.txt 2>&1
grep -E "^=========     (at|by)|Barrier|barrier|ERROR SUMMARY|divergen" $O/sync.txt | head -8
echo "done $SECONDS s"
