"""One decode call per case, for `ncu` to profile (kernel-development helper):

ncu --clock-control none -k regex:pal_decode python scripts/decode_profile.py pal:16 nhd:16
"""

import sys

import proxy_attention_lab as pal
import torch
from decode_sweep import make_case

for case in sys.argv[1:] or ["pal:16", "nhd:16"]:
    layout, page = case.split(":")
    q, k, v, table, lens = make_case(32, 4096, 32, 8, 128, int(page), torch.bfloat16, layout)
    pal.paged_attention_decode(q, k, v, table, lens, layout=layout, check=False)
    torch.cuda.synchronize()
