# Sourced by a lab call script on the GPU machine: installs the bundle's wheels (PAL's and its
# peers', scripts/gpu_bundle.sh) for this process tree, restores a FlashInfer JIT cache carried
# as kv_b/fi_cache.tgz (its first compile takes minutes per machine), sets $O to the folder
# whose files come back ($OUT), and the variables the sweeps and the suite want.
#   . scripts/gpu_env.sh || exit 1
export PYTHONUNBUFFERED=1 PYTEST_ADDOPTS=--timeout=120 MAX_JOBS=16 FLASHINFER_CUDA_ARCH_LIST=9.0a
export O=${OUT:-/tmp/out}  # (exported: scripts/kernel_suite.sh writes under it)
mkdir -p "$O"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site gpu-bundle/*.whl || return 1
export PYTHONPATH=/tmp/site
if [ -f kv_b/fi_cache.tgz ]; then mkdir -p ~/.cache && tar xzf kv_b/fi_cache.tgz -C ~/.cache; fi
