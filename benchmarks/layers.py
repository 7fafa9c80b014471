"""Forward + backward time of MaxUnpooling2D against UpSampling2D.

`UpSampling2D` producing the same output size is the memory-bound floor for
unpooling: both read the pooled map and write a map four times larger. Both are
timed in the same run, interleaved, and the ratio is printed. A second table times
the scatter alone (forward) with each of TensorFlow's scatter ops that could do it,
which is why the layers use `SparseToDense`.

    python benchmarks/layers.py [--repeats 60]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D  # noqa: E402
from segnet_tf.layers._scatter import scatter_into_zeros  # noqa: E402

SHAPES = [(4, 90, 120, 64), (4, 360, 480, 64)]


def forward_backward(layer_call, values, upstream):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(values)
            output = layer_call(values)
            loss = tf.reduce_sum(output * upstream)
        # Return the loss too: with the gradient alone, grappler prunes the forward
        # op (the gradient of a scatter does not need its output) and only the
        # backward would be timed.
        return loss, tape.gradient(loss, values)

    return step


def median_seconds(step, repeats):
    step()  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for tensor in step():
            tensor.numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="timed runs per layer")
    args = parser.parse_args(argv)

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs")
    print(f"{'output shape':>22} {'unpool ms':>10} {'upsample ms':>12} {'ratio':>6}")
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        reference = tf.constant(rng.standard_normal(shape), tf.float32)
        values, indices = MaxPoolingWithArgmax2D()(reference)
        upstream = tf.constant(rng.standard_normal(shape), tf.float32)
        unpool, upsample = MaxUnpooling2D(), keras.layers.UpSampling2D(2)
        unpool_step = forward_backward(
            lambda v, layer=unpool, i=indices, r=reference: layer([v, i, r]), values, upstream
        )
        upsample_step = forward_backward(upsample, values, upstream)
        # Interleave the two so that machine noise hits both alike.
        unpool_times, upsample_times = [], []
        for _ in range(3):
            unpool_times.append(median_seconds(unpool_step, args.repeats // 3 + 1))
            upsample_times.append(median_seconds(upsample_step, args.repeats // 3 + 1))
        t_unpool, t_upsample = np.median(unpool_times), np.median(upsample_times)
        print(
            f"{str(list(shape)):>22} {t_unpool * 1e3:10.2f} {t_upsample * 1e3:12.2f} "
            f"{t_unpool / t_upsample:6.2f}"
        )
    print_scatter_table(rng, args.repeats)
    return 0


def print_scatter_table(rng, repeats):
    """Forward time of the candidate scatters at the largest shape, same run."""
    shape = SHAPES[-1]
    reference = tf.constant(rng.standard_normal(shape), tf.float32)
    values, indices = MaxPoolingWithArgmax2D()(reference)
    values, indices = tf.reshape(values, [-1]), tf.reshape(indices, [-1])
    size = int(np.prod(shape))
    candidates = {
        "SparseToDense (used)": lambda: scatter_into_zeros(values, indices, tf.constant(size)),
        "unsorted_segment_sum": lambda: tf.math.unsorted_segment_sum(values, indices, size),
        "scatter_nd": lambda: tf.scatter_nd(indices[:, None], values, [size]),
    }
    print(f"\nscatter alone, forward, {list(shape)} output")
    for name, scatter in candidates.items():
        step = tf.function(lambda scatter=scatter: (scatter(),))
        print(f"{name:>22} {median_seconds(step, repeats) * 1e3:8.2f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
