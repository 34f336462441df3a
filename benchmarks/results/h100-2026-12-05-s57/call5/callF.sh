. scripts/gpu_env.sh || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
# fill CTA shapes by the lab knob (PAL_FILL_TUNING), main's kernels, bf16, HKV 8, D 128, page 16
export PAL_KERNEL_DIR=kv_b/st
for round in 1 2; do
  for cfg in default chunk=512,threads=256 chunk=512,threads=512 chunk=256,threads=128 tokens=64,threads=512 chunk=1024,threads=512; do
    [ $SECONDS -gt 330 ] && break 2
    if [ $cfg = default ]; then unset PAL_FILL_TUNING; else export PAL_FILL_TUNING=$cfg; fi
    layouts=pal,nhd,hnd; [ $cfg = chunk=1024,threads=512 ] && layouts=nhd,hnd
    timeout 60 python3 benchmarks/prepared/fill_probe.py --label "$cfg" --layouts $layouts -n 40 2>&1 | grep -E "RES|Error|error" >> "$O/fill_shapes.txt"
    echo "$cfg round $round ($SECONDS s)"
  done
done
unset PAL_FILL_TUNING
python3 - "$O/fill_shapes.txt" <<'PY'
import sys, collections
t = collections.defaultdict(list)
for l in open(sys.argv[1]):
    f = l.split()
    if f[0] == "RES": t[f[2], f[1], f[3]].append(f[6])
for (layout, label, tokens), xs in sorted(t.items()):
    print(f"{layout:6s} {tokens:>6s} {label:24s} {' '.join(xs)}")
PY
