#!/bin/bash
# Sixty-third session, call 3: A/B of main, the registers patch (pr) and the lanes patch (pl) at
# D 128, of main and pr at D 64 / 112 / 256, then pr beside FlashInfer's FA2 path (D 128).
bash benchmarks/prepared/next_calls.sh portable-dims
