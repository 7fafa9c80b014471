"""Latency per 360x480 image: Keras model, reloaded SavedModel and TFLite, side by side.

Each runtime is given the same uint8 batch; the figure is the median over
--repeats timed runs (after one warm-up) divided by the batch size. The Keras
model runs through a `tf.function` (graph mode, as `Segmenter` does); the
SavedModel through its `serving_default` signature; TFLite through its signature
runner with the builtin-only rewrite of the pooling layers. CPU timings on a shared
machine are noisy: compare within one run.

    python scripts/benchmark_inference.py [--model segnet_basic] [--width 1.0] [--repeats 5]
"""

import argparse
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import segnet_tf  # noqa: E402
from segnet_tf.export import export_saved_model, export_tflite  # noqa: E402

HEIGHT, WIDTH = 360, 480
BATCHES = (1, 8)


def median_ms_per_image(run, images, repeats):
    run(images)  # warm up (tracing, allocation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(images)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3 / len(images)


def runtimes(model, workdir, threads):
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def keras_fn(images):
        return tf.nn.softmax(model(tf.cast(images, tf.float32), training=False), axis=-1)

    saved = tf.saved_model.load(str(export_saved_model(model, workdir, name="bench")))
    serving = saved.signatures["serving_default"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter deprecation notice
        interpreter = tf.lite.Interpreter(
            model_path=str(export_tflite(model, os.path.join(workdir, "bench.tflite"))),
            num_threads=threads,
        )
    tflite = interpreter.get_signature_runner("serving_default")
    return {
        "Keras (tf.function)": lambda x: keras_fn(tf.constant(x)).numpy(),
        "SavedModel": lambda x: serving(images=tf.constant(x))["probabilities"].numpy(),
        "TFLite": lambda x: tflite(images=x)["probabilities"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="segnet_basic", help="segnet_tf model name")
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier")
    parser.add_argument("--classes", type=int, default=11, help="number of classes")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="TFLite threads")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model(args.model, args.classes, width=args.width)
    print(
        f"{args.model} width={args.width} ({model.count_params():,} parameters), "
        f"{HEIGHT}x{WIDTH} uint8 input; TensorFlow {tf.__version__}, {os.cpu_count()} CPUs"
    )
    rng = np.random.default_rng(0)
    batches = {b: rng.integers(0, 256, (b, HEIGHT, WIDTH, 3), dtype=np.uint8) for b in BATCHES}
    with tempfile.TemporaryDirectory() as workdir:
        runs = runtimes(model, workdir, args.threads)
        header = "".join(f"{f'batch {b} ms/img':>18}" for b in BATCHES)
        print(f"{'runtime':<22}{header}")
        for name, run in runs.items():
            cells = "".join(
                f"{median_ms_per_image(run, batches[b], args.repeats):18.1f}" for b in BATCHES
            )
            print(f"{name:<22}{cells}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
