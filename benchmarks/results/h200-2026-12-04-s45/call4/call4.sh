#!/bin/bash
# Forty-fifth session, call 4: the facade's fixes (e12cfed: index arrays by any protocol,
# options named in their errors, int64 entries reported as given) on the GPU with torch: the
# torch CPU, index, error, strided and interop tests, the new option tests, and test_cuda's
# torch.compile, graph, stream and bad-input tests (no kernel changed).
. scripts/gpu_env.sh >/dev/null 2>&1 || exit 1
P="python3 -m pytest -q -rs -p no:cacheprovider -n 14"
timeout 200 $P tests/test_torch_cpu.py tests/test_index_dtypes.py tests/test_errors.py tests/test_strided_views.py \
  tests/test_interop.py tests/test_variants.py::test_options_of_the_wrong_kind_name_themselves \
  tests/test_variants.py::test_a_window_past_int64_and_a_soft_cap_of_none_are_off \
  tests/test_variants.py::test_keys_whose_logits_overflow_to_minus_infinity_weigh_nothing 2>&1 | tail -8
echo "== test_cuda ($SECONDS s)"
timeout $((340 - SECONDS)) $P tests/test_cuda.py -k "bad or mixed or compile or graph or stream or misaligned or fill_then_decode or ragged" 2>&1 | tail -8
echo "call done $SECONDS s"
