. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
# Q prescaled by the soft-cap factor (pq) against main (st): soft-capped prefill, three rounds a process
for round in 1 2 3; do for v in st pq; do echo "== $v round $round"
  PAL_KERNEL_DIR=kv_b/$v timeout 90 python3 scripts/variant_sweep.py --ops prefill --variants soft-cap --rounds 3 \
    --prompts 4x1024+8192 8x512+4096 4x4096+0 2>&1 | grep "^| prefill"
done; done > "$O/pq.txt" 2>&1; echo "A/B ($SECONDS s)"
python3 - "$O/pq.txt" <<'PY'
import sys, collections, statistics
cur = None; t = collections.defaultdict(list)
for l in open(sys.argv[1]):
    if l.startswith("=="): cur = l.split()[1]; continue
    f = [x.strip() for x in l.strip().strip("|").split("|")]
    if len(f) == 4 and f[1] != "plain": t[cur, f[0], f[1]].append((float(f[2]), float(f[3].rstrip("x"))))
for (v, case, name), xs in sorted(t.items(), key=lambda x: (x[0][1], x[0][0])):
    print(f"{case:28s} {name:12s} {v}: us {' '.join(f'{u:.0f}' for u, _ in xs)}  ratio {' '.join(f'{r:.3f}' for _, r in xs)}  med {statistics.median(r for _, r in xs):.3f}")
PY
PAL_KERNEL_DIR=kv_b/pq timeout $((560 - SECONDS)) python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_variants.py -k prefill > "$O/pq_tests.txt" 2>&1
echo "tests rc $? ($SECONDS s)"; tail -2 "$O/pq_tests.txt"; grep -E "^FAILED" "$O/pq_tests.txt" | head
