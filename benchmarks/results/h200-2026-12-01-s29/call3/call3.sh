#!/bin/bash
# Twenty-ninth session, call 3: the flat-chunk fill with 16-byte store instructions (call 2 ran it
# with 4-byte stores), CTA shapes, beside main and the per-head 256-byte chunk.
. scripts/gpu_env.sh || exit 1
F=kv_b/fillx
P="python3 $F/probe.py"
v() {  # label dir tuning [args]
  local l=$1 d=$2 t=$3; shift 3
  PAL_KERNEL_DIR=$F/$d PAL_FILL_TUNING=$t timeout 60 $P --label $l "$@" 2>&1
}
VARS="main:kmain: g256:gen:chunk=256,threads=256 x128:fix: x256:fix:chunk=256,threads=256 x256m8:fix:chunk=256,threads=128,min_ctas=8 x512:fix:chunk=512,threads=512 x512m4:fix:chunk=512,threads=256,min_ctas=4 t64x256:fix:tokens=64,chunk=256,threads=512"
REV=$(echo $VARS | tr ' ' '\n' | tac | tr '\n' ' ')
{
for x in $VARS; do IFS=: read l d t <<< "$x"; v $l $d "$t" --check --tokens 32768 -n 40; done
PAL_KERNEL_DIR=$F/kmain timeout 60 $P --label flashinfer --layouts nhd --peers 2>&1 | grep flashinfer
for x in $REV; do IFS=: read l d t <<< "$x"; v $l $d "$t"; done
PAL_KERNEL_DIR=$F/kmain timeout 60 $P --label flashinfer --layouts nhd --peers 2>&1 | grep flashinfer
for x in $VARS; do IFS=: read l d t <<< "$x"; v $l $d "$t" --tokens 32768; done
for r in 1 2; do v x1024m2 fix chunk=1024,threads=512,min_ctas=2 --layouts nhd,hnd --tokens 32768; v x256m8 fix chunk=256,threads=128,min_ctas=8 --layouts nhd,hnd --tokens 32768; done
} > $O/sweep.txt
grep -E "check|Error|error" $O/sweep.txt | grep -v ": equal" | head -30
grep -c ": equal" $O/sweep.txt
grep RES $O/sweep.txt | awk '{print $2, $3, $4, $7}' | sort -k2,2 -k3,3n -k1,1 -s | awk '{k=$1" "$2" "$3; a[k]=a[k]" "$4; if(!(k in o)){o[k]=++n; key[n]=k}} END {for(i=1;i<=n;i++) print key[i], a[key[i]]}'
echo "sweep done $SECONDS s"
