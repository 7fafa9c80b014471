"""How much of the preset's TFLite time its builtin pooling/unpooling rewrite takes.

The TFLite export replaces pooling-with-argmax and unpooling by strided sub-grids,
ARG_MAX, EQUAL and SELECT_V2 (`segnet_tf/export/portable.py`). XNNPACK, the CPU
delegate that runs the convolutions, takes none of those four ops, so they run in
TFLite's own kernels. This script converts the preset twice, float32 and int8: once
as exported, and once with stand-ins of the same shapes (a plain max pool, and a
nearest-neighbour upsampling instead of the unpooling) that keep every convolution
but give wrong results. The difference is what the pooling rewrite costs, and the
stand-in's float32/int8 ratio is what int8 would gain if that cost were zero.

    python benchmarks/tflite_pooling.py [--repeats 15] [--threads 2]

int8 is calibrated on random images: only speed is measured here.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from segnet_tf.export import export_tflite  # noqa: E402
from segnet_tf.export.runners import ExportedModel  # noqa: E402
from segnet_tf.inference import PRESETS_DIR  # noqa: E402
from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D  # noqa: E402
from segnet_tf.models.graph import clone_replacing  # noqa: E402
from segnet_tf.training.saving import load_trained_model  # noqa: E402

HEIGHT, WIDTH = 360, 480


class StandInPooling(keras.layers.Layer):
    """A plain max pool, with all-zero "positions" of the right shape."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, inputs):
        pooled = tf.nn.max_pool2d(inputs, self.size, self.size, "SAME")
        return pooled, tf.zeros(tf.shape(pooled), tf.int32)


class StandInUnpooling(keras.layers.Layer):
    """Nearest-neighbour upsampling to the reference's size, positions ignored."""

    def call(self, inputs):
        values, _, reference = inputs
        return tf.image.resize(values, tf.shape(reference)[1:3], "nearest")


def with_stand_ins(model: keras.Model) -> keras.Model:
    """Copy of ``model`` (same weights) with the stand-in pooling and unpooling."""

    def replace(layer):
        if isinstance(layer, MaxPoolingWithArgmax2D):
            return StandInPooling(layer.pool_size[0], name=layer.name, dtype=layer.dtype_policy)
        if isinstance(layer, MaxUnpooling2D):
            return StandInUnpooling(name=layer.name)
        return None

    return clone_replacing(model, replace)


def call_seconds(runner: ExportedModel, images: np.ndarray) -> float:
    start = time.perf_counter()
    runner(images)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per model")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="TFLite threads")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (1, HEIGHT, WIDTH, 3), dtype=np.uint8)
    calibration = lambda: iter(rng.integers(0, 256, (4, HEIGHT, WIDTH, 3), dtype=np.uint8))  # noqa: E731
    preset = load_trained_model(PRESETS_DIR / "camvid_segnet" / "model.keras", compile=False)
    variants = {"as exported": preset, "stand-ins": with_stand_ins(preset)}
    runners = {}
    with tempfile.TemporaryDirectory() as folder:
        for variant, model in variants.items():
            for quantize in ("none", "int8"):
                path = export_tflite(
                    model,
                    Path(folder) / f"{variant.replace(' ', '_')}-{quantize}.tflite",
                    quantize=quantize,
                    representative_images=calibration if quantize == "int8" else None,
                )
                runners[variant, quantize] = ExportedModel(path, num_threads=args.threads)
        times = {key: [] for key in runners}
        for runner in runners.values():
            call_seconds(runner, images)  # warm-up
        for _ in range(args.repeats):  # interleaved, so load changes hit every model alike
            for key, runner in runners.items():
                times[key].append(call_seconds(runner, images))
    ms = {key: 1000 * float(np.median(values)) for key, values in times.items()}

    print(f"TensorFlow {tf.__version__}, {args.threads} TFLite threads, preset camvid_segnet,")
    print(f"batch 1 at {HEIGHT}x{WIDTH}, median of {args.repeats} calls")
    print(f"{'variant':>12} {'float32 ms':>11} {'int8 ms':>8} {'float32/int8':>13}")
    for variant in variants:
        f32, int8 = ms[variant, "none"], ms[variant, "int8"]
        print(f"{variant:>12} {f32:11.1f} {int8:8.1f} {f32 / int8:12.2f}x")
    for quantize, label in (("none", "float32"), ("int8", "int8")):
        cost = ms["as exported", quantize] - ms["stand-ins", quantize]
        share = cost / ms["as exported", quantize]
        print(f"pooling + unpooling rewrite, {label}: {cost:.1f} ms ({share:.0%} of the call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
