. scripts/gpu_env.sh >/dev/null 2>&1
for a in "64 4096 32 1 float32" "32 4096 32 1 float32" "8 4096 32 8 bfloat16"; do
  echo "== $a"
  timeout 60 ncu --clock-control none -k regex:merge --launch-skip 2 --launch-count 1 --section SpeedOfLight --section LaunchStats --section Occupancy python3 kv_b/one.py $a 2>&1 | grep -E "Duration|Grid Size|Block Size|Registers|DRAM Through|Memory Through|Achieved Occ|Waves|Shared Memory Config|Dynamic Shared|pal_decode_merge" | head -12
done | tee $O/merge_ncu.txt
