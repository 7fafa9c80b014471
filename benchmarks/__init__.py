"""Benchmarks: scripts that print figures, run from a source checkout.

    python benchmarks/throughput.py --quick   # training and inference against PyTorch
    python benchmarks/inference.py            # float32 / bfloat16 / int8 per runtime
    python benchmarks/layers.py               # unpooling against UpSampling2D
    python benchmarks/data.py                 # the training input pipeline
    python benchmarks/video.py                # frames per second of segment_video
    python benchmarks/onednn.py               # TensorFlow's oneDNN kernels on or off

They are not installed with the package (as in Keras' own repository). PyTorch is
optional (extra `bench`); `benchmarks.torch_models` imports it.
"""
