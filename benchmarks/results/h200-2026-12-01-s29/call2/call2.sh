#!/bin/bash
# Twenty-ninth session, call 2: the fill's chunk over whole rows (several KV heads a CTA) and
# more loads a thread, beside main's kernel and call 1's winner (256 bytes of one head's row).
. scripts/gpu_env.sh || exit 1
F=kv_b/fillx
P="python3 $F/probe.py"
v() {  # label dir tuning [args]
  local l=$1 d=$2 t=$3; shift 3
  PAL_KERNEL_DIR=$F/$d PAL_FILL_TUNING=$t timeout 60 $P --label $l "$@" 2>&1
}
VARS="main:kmain: g256:gen:chunk=256,threads=256 f256:flat:chunk=256,threads=256 f512:flat:chunk=512,threads=512 f512m4:flat:chunk=512,threads=256,min_ctas=4 f1024:flat:chunk=1024,threads=1024 f1024m2:flat:chunk=1024,threads=512,min_ctas=2 t64f256:flat:tokens=64,chunk=256,threads=512 f256m8:flat:chunk=256,threads=128,min_ctas=8"
REV=$(echo $VARS | tr ' ' '\n' | tac | tr '\n' ' ')
{
for x in $VARS; do IFS=: read l d t <<< "$x"; v $l $d "$t" --check --tokens 32768 -n 40; done
PAL_KERNEL_DIR=$F/kmain timeout 60 $P --label flashinfer --layouts nhd --peers 2>&1 | grep flashinfer
for x in $REV; do IFS=: read l d t <<< "$x"; v $l $d "$t"; done
PAL_KERNEL_DIR=$F/kmain timeout 60 $P --label flashinfer --layouts nhd --peers 2>&1 | grep flashinfer
for x in $VARS; do IFS=: read l d t <<< "$x"; v $l $d "$t" --tokens 32768; done
} > $O/sweep.txt
grep -E "check|Error|error" $O/sweep.txt | grep -v ": equal" | head -30
grep -c ": equal" $O/sweep.txt
grep RES $O/sweep.txt | awk '{print $2, $3, $4, $7}' | sort -k2,2 -k3,3n -k1,1 -s | awk '{k=$1" "$2" "$3; a[k]=a[k]" "$4; if(!(k in o)){o[k]=++n; key[n]=k}} END {for(i=1;i<=n;i++) print key[i], a[key[i]]}'
echo "sweep done $SECONDS s"
