"""Eager decode calls for ncu: kernel durations of the decode and its merge per row."""
import sys
sys.path.insert(0, "scripts")
import proxy_attention_lab as pal
import torch
from decode_sweep import make_case

for row in sys.argv[1:]:
    b, c = (int(x) for x in row.split("x"))
    q, k, v, table, lens = make_case(b, c, 32, 8, 128, 16, torch.bfloat16, "nhd")
    for _ in range(3):
        pal.paged_attention_decode(q, k, v, table, lens, layout="nhd")
    torch.cuda.synchronize()
    print("row", row, flush=True)
