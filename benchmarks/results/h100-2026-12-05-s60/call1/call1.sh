# 60th session, call 1 (H100 80GB HBM3, 2026-12-05), main at 5b939f2 with the wheel rebuilt:
bash benchmarks/prepared/next_calls.sh random
