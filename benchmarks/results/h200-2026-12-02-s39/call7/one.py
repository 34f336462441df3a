import sys

import torch

sys.path.insert(0, "scripts")
import decode_sweep as ds  # noqa: E402
import proxy_attention_lab as pal  # noqa: E402

b, ctx, hq, hkv = (int(x) for x in sys.argv[1:5])
dt = getattr(torch, sys.argv[5])
q, k, v, table, lens = ds.make_case(b, ctx, hq, hkv, 128, 16, dt, "nhd")
for _ in range(4):
    pal.paged_attention_decode(q, k, v, table, lens, layout="nhd")
torch.cuda.synchronize()
