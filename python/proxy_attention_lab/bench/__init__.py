"""PAL's benchmark lab: sweeps PAL's operations against every importable peer on the same
inputs, checks numerics before timing, and reports latency, bandwidth or FLOP rate with ratios
to the best peer and to a ceiling measured in the same run. Run ``python -m
proxy_attention_lab.bench --help``."""
