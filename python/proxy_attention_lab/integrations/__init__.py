"""Integrations of PAL into other libraries (each imports its library only when used):
:mod:`proxy_attention_lab.integrations.transformers`."""
