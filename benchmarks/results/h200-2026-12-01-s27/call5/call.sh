#!/bin/bash
# Twenty-seventh session, call 5 (main's wheel, on the machine call 4 left warm): the whole GPU suite and
# memcheck with PAL_KERNEL_DIR at kv_b/pv4 (pal page-4 values by lane pairs, 1.036x over call 4's three rounds).
. scripts/gpu_env.sh && bash scripts/kernel_suite.sh kv_b/pv4 400; echo "end ($SECONDS s)"
