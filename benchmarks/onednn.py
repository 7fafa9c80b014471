"""TensorFlow's oneDNN kernels against its default ones, per convolution and training step.

TensorFlow turns oneDNN on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX; on
others (AVX2) its convolutions run in Eigen unless ``TF_ENABLE_ONEDNN_OPTS=1`` is set
before TensorFlow is imported. TensorFlow reads the variable once, when it loads, so
each setting runs in a subprocess of its own, and each probe has a time limit (a probe
that exceeds it prints "> N s" instead of a time).

    python benchmarks/onednn.py [--repeats 3] [--timeout 60] [--probes NAME ...]

Probes: forward convolutions of SegNet (3x3) and SegNet-Basic (7x7) at their
full-resolution sizes, and one training step of the CamVid recipe's network
(``segnet_encoder_addition``, width 0.25, 180x240, batch 8; in float32 and under
``mixed_bfloat16``, which CPUs without native bfloat16 emulate), of the camera-robust
recipe's U-Net (``--model unet``, width 0.25 and 0.5) and of SegNet-Basic, and
SegNet-Basic's inference at full resolution.

The last column names the convolution kernels oneDNN created, read from its own log
(``ONEDNN_VERBOSE=profile_create``). On AVX2, at batch 1, TensorFlow passes float32
filters in plain HWIO layout, which oneDNN's direct kernels refuse, so convolutions go
through im2col + GEMM (``gemm:jit``); when that im2col buffer is more than oneDNN
allows (5x5 and 7x7 convolutions of 64 channels at 360x480), it falls back to its
reference loops (``ref:any``), hundreds of times slower. Batch 2, training steps and
``TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1`` (the probes named "frozen weights") get the
direct kernels.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.append(str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import segnet_tf  # noqa: E402
from benchmarks.machine import cpu_label  # noqa: E402
from segnet_tf.onednn import FROZEN_WEIGHTS_ENV, ONEDNN_ENV  # noqa: E402

# name: (kind, arguments). conv: kernel, input channels, output channels, height,
# width, batch. train and infer: model, width, height, width, batch[, dtype policy].
# Probes named "frozen weights" also run with PROBE_ENV (both settings).
PROBES = {
    "conv 3x3 64->64 360x480": ("conv", (3, 64, 64, 360, 480, 1)),
    "conv 7x7 3->64 360x480": ("conv", (7, 3, 64, 360, 480, 1)),
    "conv 7x7 64->64 180x240": ("conv", (7, 64, 64, 180, 240, 1)),
    "conv 7x7 64->64 360x480": ("conv", (7, 64, 64, 360, 480, 1)),
    "conv 7x7 64->64 2x360x480": ("conv", (7, 64, 64, 360, 480, 2)),
    "conv 5x5 64->64 360x480": ("conv", (5, 64, 64, 360, 480, 1)),
    "conv 3x3 64->64 720x960": ("conv", (3, 64, 64, 720, 960, 1)),
    "train step, recipe network, 8x180x240": (
        "train",
        ("segnet_encoder_addition", 0.25, 180, 240, 8),
    ),
    "train step, recipe network, 8x180x240, bf16": (
        "train",
        ("segnet_encoder_addition", 0.25, 180, 240, 8, "mixed_bfloat16"),
    ),
    "train step, segnet_basic, 4x180x240": ("train", ("segnet_basic", 1.0, 180, 240, 4)),
    # The camera-robust recipe's U-Net (`--model unet`) at the preset's width and twice it.
    "train step, unet, 8x180x240": ("train", ("unet", 0.25, 180, 240, 8)),
    "train step, unet width 0.5, 8x180x240": ("train", ("unet", 0.5, 180, 240, 8)),
    "inference, segnet_basic, 1x360x480": ("infer", ("segnet_basic", 1.0, 360, 480, 1)),
    "inference, segnet_basic, 2x360x480": ("infer", ("segnet_basic", 1.0, 360, 480, 2)),
    **{
        f"inference, {name}, 1x360x480, frozen weights": ("infer", (name, 1.0, 360, 480, 1))
        for name in ("segnet_basic", "segnet", "unet", "fcn8s")
    },
}
# At batch 1 TensorFlow hands oneDNN float32 filters in plain HWIO layout unless it
# may assume them constant, and on AVX2 oneDNN's direct kernels refuse that layout.
# Only for inference: with it oneDNN caches each reordered filter once.
PROBE_ENV = {FROZEN_WEIGHTS_ENV: "1"}


def run_probe(kind: str, arguments: tuple, repeats: int) -> float:
    """Median seconds of ``repeats`` timed calls of one probe, after one warm-up call."""
    rng = np.random.default_rng(0)
    if kind == "conv":
        size, cin, cout, height, width, batch = arguments
        x = tf.constant(rng.normal(size=(batch, height, width, cin)).astype("float32"))
        kernel = tf.constant(rng.normal(size=(size, size, cin, cout)).astype("float32"))
        convolve = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))

        def call():
            convolve(x).numpy()
    else:
        name, width_multiplier, height, width, batch, *policy = arguments
        keras.config.set_dtype_policy(policy[0] if policy else "float32")
        keras.utils.set_random_seed(0)
        model = segnet_tf.get_model(name, num_classes=11, width=width_multiplier)
        x = rng.uniform(0, 255, (batch, height, width, 3)).astype("float32")
        if kind == "infer":
            infer = tf.function(lambda x: model(x, training=False))

            def call():
                infer(x).numpy()
        else:
            model.compile(
                optimizer="adamw",
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
            y = rng.integers(0, 11, (batch, height, width, 1)).astype("int32")

            def call():
                model.train_on_batch(x, y)

    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def convolution_kernels(onednn_log: str) -> list[str]:
    """The oneDNN convolution implementations created, in order, from its verbose log.

    A created primitive logs
    ``onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,<implementation>,...``
    before it runs, so a probe stopped at its time limit still names its kernel.
    """
    kernels = []
    for line in onednn_log.splitlines():
        fields = line.split(",")
        if fields[2:4] == ["primitive", "create:cache_miss"] and fields[5:6] == ["convolution"]:
            if fields[6] not in kernels:
                kernels.append(fields[6])
    return kernels


def time_in_subprocess(
    name: str, onednn: bool, repeats: int, timeout: float
) -> tuple[float | None, list[str]]:
    """Seconds per call of probe ``name`` with oneDNN on or off (None past ``timeout``),
    and the oneDNN convolution kernels it created (none with oneDNN off)."""
    env = {
        **os.environ,
        **(PROBE_ENV if name.endswith("frozen weights") else {}),
        ONEDNN_ENV: "1" if onednn else "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "ONEDNN_VERBOSE": "profile_create",  # one line per kernel created; none per call
    }
    command = [sys.executable, __file__, "--probe", name, "--repeats", str(repeats)]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, check=True
        )
    except subprocess.TimeoutExpired as stopped:
        # The partial output of a stopped process comes back as bytes.
        log = b"".join(part or b"" for part in (stopped.stdout, stopped.stderr))
        return None, convolution_kernels(log.decode(errors="replace"))
    seconds = next(
        json.loads(line)["seconds"]
        for line in reversed(done.stdout.splitlines())
        if line.startswith("{")
    )
    return seconds, convolution_kernels(done.stdout + done.stderr)


def table_cells(off: float | None, on: float | None, timeout: float) -> tuple[str, str, str]:
    """The off / on milliseconds and the on-over-off speed-up, bounded where a probe timed out."""
    times = tuple(f"> {timeout:.0f} s" if t is None else f"{1000 * t:.1f}" for t in (off, on))
    if off is None and on is None:
        ratio = "-"
    elif on is None:
        ratio = f"< {off / timeout:.3f}x"
    elif off is None:
        ratio = f"> {timeout / on:.1f}x"
    else:
        ratio = f"{off / on:.2f}x"
    return (*times, ratio)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per probe")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds allowed per probe and setting"
    )
    parser.add_argument(
        "--probes",
        nargs="+",
        choices=list(PROBES),
        default=list(PROBES),
        metavar="NAME",
        help="the probes to run, by name (default: all): " + "; ".join(PROBES),
    )
    parser.add_argument("--probe", choices=sorted(PROBES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:  # the subprocess side
        seconds = run_probe(*PROBES[args.probe], args.repeats)
        print(json.dumps({"seconds": seconds}))
        return 0

    print(cpu_label())
    print(f"median of {args.repeats} calls after a warm-up, each setting in its own process")
    width = max(len("probe"), *map(len, args.probes))
    print(
        f"{'probe':{width}} {'oneDNN off ms':>14} {'oneDNN on ms':>14} {'on speed-up':>12}"
        "  oneDNN convolution kernels"
    )
    for name in args.probes:
        (off, _), (on, kernels) = (
            time_in_subprocess(name, setting, args.repeats, args.timeout)
            for setting in (False, True)
        )
        off_cell, on_cell, ratio = table_cells(off, on, args.timeout)
        print(
            f"{name:{width}} {off_cell:>14} {on_cell:>14} {ratio:>12}  {', '.join(kernels)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
