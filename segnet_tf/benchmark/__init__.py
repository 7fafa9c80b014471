"""Throughput benchmark against PyTorch (`scripts/benchmark.py`, `segnet benchmark`).

PyTorch is optional (extra `bench`); `segnet_tf.benchmark.torch_models` imports it.
"""

from segnet_tf.benchmark.flops import conv_flops_per_image

__all__ = ["conv_flops_per_image"]
