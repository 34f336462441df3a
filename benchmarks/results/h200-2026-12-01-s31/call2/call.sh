#!/bin/bash
# Thirty-first session, call 2: MQA (query groups over 16) with one m-tile a CTA where the grid
# leaves a CTA per SM at most (the new default) against two m-tiles (knob m_tiles=2, the old
# default) over batch sizes, head dim 64, fp8 pools and HQ 64 / HKV 2, two rounds, FlashInfer
# once; then the whole pytest suite on this wheel (memcheck in the next call).
. scripts/gpu_env.sh || exit 1
S=scripts/decode_sweep.py
{
for r in 1 2; do
  fi=$([ $r = 1 ] && echo --flashinfer)
  for t in new old; do
    env=$([ $t = old ] && echo PAL_DECODE_TUNING=m_tiles=2)
    env $env timeout 100 python3 $S --layouts nhd pal --heads 32/1 --rows 1x4096 2x4096 8x4096 16x4096 64x4096 1x32768 --label $t $fi
    env $env timeout 40 python3 $S --layouts nhd --heads 32/1 --dim 64 --rows 1x4096 4x4096 --label $t-d64 $fi
    env $env timeout 40 python3 $S --layouts nhd pal --heads 32/1 --kv-dtype float8_e4m3fn --rows 1x4096 4x4096 32x4096 --label $t-fp8
    env $env timeout 40 python3 $S --layouts nhd --heads 64/2 --rows 1x4096 8x4096 --label $t-64/2 $fi
    fi=
  done
done
} > $O/mqa.txt 2>&1
grep -E "TB/s|rror" $O/mqa.txt | sed 's/ d128 p16//' | sort -k2,2 -k3,3 -k1,1 -s
echo "sweep $SECONDS s"
timeout 400 python3 -m pytest -q -rs -p no:cacheprovider -n 12 tests > $O/pytest.log 2>&1
tail -n 5 $O/pytest.log; grep -E "^FAILED|^ERROR" $O/pytest.log | head -20
echo "done $SECONDS s"
