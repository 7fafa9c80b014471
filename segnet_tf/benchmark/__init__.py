"""Throughput benchmark against PyTorch (`scripts/benchmark.py`, `segnet benchmark`).

`run` holds the command line and the measurements, `flops` the FLOP counts. Nothing is
imported here: `segnet --help` builds `segnet benchmark`'s options from `run`, which
imports TensorFlow only when it runs. PyTorch is optional (extra `bench`);
`segnet_tf.benchmark.torch_models` imports it.
"""
