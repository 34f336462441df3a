"""One decode call per case, for `ncu` to profile (kernel-development helper):

ncu --clock-control none -k regex:pal_decode python scripts/decode_profile.py pal:16 nhd:16:1x4096

Cases are layout:page_size[:batch x context] (32 x 4096 by default).
"""

import sys

import proxy_attention_lab as pal
import torch
from decode_sweep import make_case

for case in sys.argv[1:] or ["pal:16", "nhd:16"]:
    layout, page, *shape = case.split(":")
    batch, context = (int(x) for x in (shape[0] if shape else "32x4096").split("x"))
    q, k, v, table, lens = make_case(batch, context, 32, 8, 128, int(page), torch.bfloat16, layout)
    pal.paged_attention_decode(q, k, v, table, lens, layout=layout, check=False)
    torch.cuda.synchronize()
