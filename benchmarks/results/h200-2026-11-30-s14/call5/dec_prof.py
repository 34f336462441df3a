"""Eager decode calls for ncu, one case per argument: layout:page[:BxL[:kv dtype]], 32 x 4096 bf16 by default."""
import sys

sys.path.insert(0, "scripts")
import proxy_attention_lab as pal
import torch
from decode_sweep import make_case

for arg in sys.argv[1:]:
    parts = arg.split(":")
    layout, page = parts[0], int(parts[1])
    b, c = (int(x) for x in (parts[2] if len(parts) > 2 and parts[2] else "32x4096").split("x"))
    kv = getattr(torch, parts[3]) if len(parts) > 3 else None
    q, k, v, table, lens = make_case(b, c, 32, 8, 128, page, torch.bfloat16, layout, kv)
    for _ in range(3):
        pal.paged_attention_decode(q, k, v, table, lens, layout=layout)
    torch.cuda.synchronize()
    print("case", arg, flush=True)
