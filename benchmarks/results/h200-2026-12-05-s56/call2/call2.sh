. scripts/gpu_env.sh || exit 1; PAL_SUITE_WORKERS=13 bash scripts/kernel_suite.sh kv_b/st 560 tests  # kv_b/st: main + prefill-softcap-turn.patch
