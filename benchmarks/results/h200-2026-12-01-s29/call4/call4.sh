#!/bin/bash
# Twenty-ninth session, call 4: the landing candidate (flat chunks of 256 pool bytes, 256
# threads, 16-byte store instructions, the chunk's head found once where it lies in one head):
# A/B against main's fill, then the whole GPU suite and memcheck on it (the wheel's defaults).
. scripts/gpu_env.sh || exit 1
gunzip -c kv_b/fillx/cuda_decode.gz > gpu-bundle/cuda_decode && chmod +x gpu-bundle/cuda_decode
F=kv_b/fillx
P="python3 $F/probe.py"
v() {  # label dir tuning [args]
  local l=$1 d=$2 t=$3; shift 3
  PAL_KERNEL_DIR=$F/$d PAL_FILL_TUNING=$t timeout 60 $P --label $l "$@" 2>&1
}
{
v uni uni "" --check
v main kmain chunk=128,threads=128 --check
for r in 1 2; do v uni uni ""; v main kmain chunk=128,threads=128; done
v uni-inorder uni "" --inorder --tokens 32768
} > $O/sweep.txt
grep -E "check|Error|error" $O/sweep.txt | grep -v ": equal" | head -30
grep -c ": equal" $O/sweep.txt
grep RES $O/sweep.txt | awk '{print $2, $3, $4, $7}' | sort -k2,2 -k3,3n -k1,1 -s | awk '{k=$1" "$2" "$3; a[k]=a[k]" "$4; if(!(k in o)){o[k]=++n; key[n]=k}} END {for(i=1;i<=n;i++) print key[i], a[key[i]]}'
echo "sweep done $SECONDS s"
bash scripts/kernel_suite.sh $F/uni 420
