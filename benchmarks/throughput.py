"""Training and inference throughput of SegNet against PyTorch, side by side.

For each model and image size: training images/s (`model.fit` steps after
warm-up, SGD with momentum, batch 4) and inference images/s (batch 1 and 8; a
compiled `tf.function` call, batch normalisation folded into the convolutions
unless `--no-fold`), for this package and, when PyTorch is installed (extra
`bench`), for the same architecture written in PyTorch
(`benchmarks.torch_models`), measured in the same process, repetitions
interleaved so that machine noise hits both alike. Every row gives the ratio
ours / PyTorch and the convolution GFLOP/s reached, as a share of the GFLOP/s of
a large matmul measured in the same run (the practical peak of the machine).
Peak memory is measured in a fresh subprocess per framework and model (peak RSS
above the RSS after building).

    python benchmarks/throughput.py [--quick] [--precision float32 bfloat16]

Run from a source checkout: the benchmarks are not part of the installed package.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.append(str(Path(__file__).resolve().parents[1]))

MODELS = ("segnet_basic", "segnet")
SIZES = ((180, 240), (360, 480))
NUM_CLASSES = 11
TRAIN_BATCH = 4
INFER_BATCHES = (1, 8)
MATMUL_N = 4096


@dataclass
class Row:
    """One line of the table; times in seconds per step of `batch` images."""

    model: str
    size: tuple[int, int]
    precision: str
    mode: str  # "train" or "infer"
    batch: int
    flops_per_image: float  # of the mode: 3x forward for training
    ours: list[float] = field(default_factory=list)
    torch: list[float] = field(default_factory=list)

    @staticmethod
    def _median(values):
        values = sorted(values)
        if not values:
            return None
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else 0.5 * (values[middle - 1] + values[middle])

    def images_per_second(self, which: str):
        median = self._median(getattr(self, which))
        return None if median is None else self.batch / median


# ----------------------------------------------------------------------------- inputs


def make_inputs(batch: int, size, seed: int = 0):
    """Deterministic float32 NHWC images in [0, 255] and int32 labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (batch, *size, 3)).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, (batch, *size)).astype("int32")
    return images, labels


# ----------------------------------------------------------------------------- TensorFlow


def configure_tensorflow(inter_op_threads: int | None = None) -> None:
    """Thread settings of the benchmark process (see `--inter-op-threads`)."""
    import tensorflow as tf

    if inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)


def keras_policy(precision: str) -> str:
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


def build_keras(name: str, size, precision: str, **model_options):
    import keras

    import segnet_tf

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(keras_policy(precision))
    try:
        keras.utils.set_random_seed(0)
        return segnet_tf.get_model(name, NUM_CLASSES, input_shape=(*size, 3), **model_options)
    finally:
        keras.config.set_dtype_policy(previous)


class KerasTrainer:
    """`model.fit` for `steps` steps; returns the wall time of each step."""

    def __init__(self, model, images, labels):
        import keras
        import tensorflow as tf

        self.model = model
        model.compile(
            optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        # In-memory tensors, repeated and prefetched: the input pipeline must never
        # be what is measured.
        self.dataset = (
            tf.data.Dataset.from_tensors((images, labels)).repeat().prefetch(tf.data.AUTOTUNE)
        )
        self.times = []
        trainer = self

        class StepTimer(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    trainer._last = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                now = time.perf_counter()
                trainer.times.append(now - trainer._last)
                trainer._last = now

        self.callback = StepTimer()

    def __call__(self, steps: int) -> list[float]:
        self.times = []
        self.model.fit(
            self.dataset,
            epochs=1,
            steps_per_epoch=steps,
            shuffle=False,
            verbose=0,
            callbacks=[self.callback],
        )
        return self.times


def keras_inference(model, images):
    """A compiled graph call on a fixed batch (as `Segmenter` does); returns a
    function timing one call."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def forward(x):
        return model(x, training=False)

    batch = tf.constant(images)

    def run(steps: int) -> list[float]:
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            forward(batch).numpy()
            times.append(time.perf_counter() - start)
        return times

    return run


def matmul_gflops(dtype: str, repeats: int = 5) -> float:
    """GFLOP/s of a MATMUL_N^2 TensorFlow matmul: the machine's practical peak."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.cast(tf.constant(rng.standard_normal((MATMUL_N, MATMUL_N)), tf.float32), dtype)
    b = tf.cast(tf.constant(rng.standard_normal((MATMUL_N, MATMUL_N)), tf.float32), dtype)
    matmul = tf.function(tf.matmul)
    matmul(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * MATMUL_N**3 / sorted(times)[len(times) // 2] / 1e9


# ----------------------------------------------------------------------------- PyTorch


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_context(precision: str):
    import contextlib

    import torch

    if precision == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def build_torch(name: str, precision: str, channels_last: bool = False):
    import torch

    from benchmarks.torch_models import build_torch_model

    torch.manual_seed(0)
    model = build_torch_model(name, NUM_CLASSES)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _torch_tensors(images, labels, channels_last):
    import torch

    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = None if labels is None else torch.from_numpy(labels).long()
    return x, y


def torch_trainer(model, images, labels, precision: str, channels_last: bool = False):
    import torch

    x, y = _torch_tensors(images, labels, channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def run(steps: int) -> list[float]:
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with _torch_context(precision):
                logits = model(x)
            loss = loss_fn(logits.float(), y)
            loss.backward()
            optimizer.step()
            loss.item()
            times.append(time.perf_counter() - start)
        return times

    return run


def torch_inference(model, images, precision: str, channels_last: bool = False):
    import torch

    x, _ = _torch_tensors(images, None, channels_last)
    model.eval()

    def run(steps: int) -> list[float]:
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            with torch.inference_mode(), _torch_context(precision):
                model(x).float().numpy()
            times.append(time.perf_counter() - start)
        return times

    return run


# ----------------------------------------------------------------------------- memory


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> bool:
    """Resets this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int:
    # VmHWM belongs to this address space. Not ru_maxrss: Linux carries the parent's
    # peak across fork + exec into it, so a subprocess would report its parent's size.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_probe(framework: str, name: str, size, precision: str) -> dict:
    """Peak RSS (bytes) above the RSS before the first step (model built, inputs
    made), of two steps of inference at each batch and of training, in this
    (fresh) process. The peak is reset between modes where Linux allows it;
    otherwise it only grows, so the modes run from the smallest footprint up."""
    result = {}
    if framework == "tensorflow":
        from segnet_tf.models import fold_batch_norm

        model = build_keras(name, size, precision)
        folded = fold_batch_norm(model)
        runs = [
            (f"infer{b}", lambda b=b: keras_inference(folded, make_inputs(b, size)[0]))
            for b in INFER_BATCHES
        ]
        runs.append(("train", lambda: KerasTrainer(model, *make_inputs(TRAIN_BATCH, size))))
    else:
        model = build_torch(name, precision)
        runs = [
            (f"infer{b}", lambda b=b: torch_inference(model, make_inputs(b, size)[0], precision))
            for b in INFER_BATCHES
        ]
        runs.append(
            ("train", lambda: torch_trainer(model, *make_inputs(TRAIN_BATCH, size), precision))
        )
    for key, make in runs:
        run = make()
        _reset_peak_rss()
        baseline = _rss_bytes()
        run(2)
        result[key] = max(0, _peak_rss_bytes() - baseline)
    return result


def measure_memory(framework, name, size, precision) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--memory-probe",
        framework,
        name,
        str(size[0]),
        str(size[1]),
        precision,
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  (memory probe failed: {done.stderr.strip().splitlines()[-1:]})")
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- table


def _fmt(value, spec, empty="-"):
    return empty if value is None else format(value, spec)


def format_table(rows, peaks, memory) -> str:
    header = (
        "| model | size | precision | mode | batch | ours img/s | PyTorch img/s | ours / PyTorch "
        "| ours GFLOP/s (% peak) | PyTorch GFLOP/s (% peak) | ours peak MiB | PyTorch peak MiB |"
    )
    lines = [header, "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"]
    for row in rows:
        ours, theirs = row.images_per_second("ours"), row.images_per_second("torch")
        peak = peaks[row.precision]
        cells = []
        for value in (ours, theirs):
            if value is None:
                cells.append("-")
            else:
                gflops = value * row.flops_per_image / 1e9
                cells.append(f"{gflops:.0f} ({100 * gflops / peak:.0f}%)")
        key = f"infer{row.batch}" if row.mode == "infer" else "train"
        mem = memory.get((row.model, row.size, row.precision), {})
        ours_mem = mem.get("tensorflow", {}).get(key)
        torch_mem = mem.get("torch", {}).get(key)
        ratio = None if ours is None or theirs is None else ours / theirs
        lines.append(
            f"| {row.model} | {row.size[0]}x{row.size[1]} | {row.precision} | {row.mode} "
            f"| {row.batch} | {_fmt(ours, '.2f')} | {_fmt(theirs, '.2f')} "
            f"| {_fmt(ratio, '.2f')}x | {cells[0]} | {cells[1]} "
            f"| {_fmt(None if ours_mem is None else ours_mem / 2**20, '.0f')} "
            f"| {_fmt(None if torch_mem is None else torch_mem / 2**20, '.0f')} |"
        )
    return "\n".join(lines)


def environment_line() -> str:
    import keras
    import tensorflow as tf

    from benchmarks.machine import cpu_label

    parts = [
        datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average " + " ".join(f"{load:.1f}" for load in os.getloadavg()),
        cpu_label(),
        f"Python {platform.python_version()}",
        f"TensorFlow {tf.__version__}",
        f"Keras {keras.__version__}",
    ]
    if torch_available():
        import torch

        parts.append(f"PyTorch {torch.__version__}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- driver


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="180x240, inference at batch 1 only, fewer repetitions, no memory probes "
        "(under 3 min on an idle 2-core machine)",
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=None,
        metavar="HxW",
        help="image sizes, e.g. 180x240 360x480 (default: both; --quick: 180x240)",
    )
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=("float32", "bfloat16"),
        default=["float32"],
        help="float32 (like for like) and/or bfloat16 (Keras mixed_bfloat16 "
        "against torch.autocast bfloat16)",
    )
    parser.add_argument(
        "--modes", nargs="+", choices=("train", "infer"), default=["train", "infer"]
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="interleaved repetitions per row (default 5; --quick 3)",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps per repetition (default 2; --quick 1)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="idle pause before each timed block, so that the other framework's "
        "spinning threads are asleep (default 1.0)",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument(
        "--inter-op-threads",
        type=int,
        default=None,
        help="tf.config.threading inter-op threads (default: TensorFlow's)",
    )
    parser.add_argument(
        "--no-fold",
        action="store_true",
        help="infer with the model as trained rather than with batch normalisation folded "
        "into the convolutions (segnet_tf.models.fold_batch_norm)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--memory-probe", nargs=5, help=argparse.SUPPRESS)
    return parser


def _parse_size(text: str):
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"sizes are HEIGHTxWIDTH, e.g. 180x240. Received: {text!r}") from None
    return height, width


def run(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.memory_probe:
        framework, name, height, width, precision = args.memory_probe
        print(json.dumps(memory_probe(framework, name, (int(height), int(width)), precision)))
        return 0

    configure_tensorflow(args.inter_op_threads)
    sizes = (
        [_parse_size(s) for s in args.sizes]
        if args.sizes
        else ([SIZES[0]] if args.quick else list(SIZES))
    )
    repeats = args.repeats or (3 if args.quick else 5)
    steps = args.steps or (1 if args.quick else 2)
    with_torch = not args.no_torch and torch_available()
    if not args.no_torch and not with_torch:
        print("PyTorch is not installed (pip install 'segnet_tf[bench]'): ours only.")
    if with_torch:
        import torch

        torch.set_num_threads(os.cpu_count())

    started = time.perf_counter()
    print(environment_line(), flush=True)
    peaks = {p: matmul_gflops(p) for p in args.precision}
    for precision, peak in peaks.items():
        print(f"peak: {MATMUL_N}x{MATMUL_N} {precision} matmul = {peak:.0f} GFLOP/s", flush=True)

    from benchmarks.flops import conv_flops_per_image
    from segnet_tf.models import fold_batch_norm

    rows, memory = [], {}
    for precision in args.precision:
        for name in args.models:
            for size in sizes:
                model = build_keras(name, size, precision)
                forward_flops = conv_flops_per_image(model)
                torch_model = build_torch(name, precision) if with_torch else None
                jobs = []
                inference_model = model if args.no_fold else fold_batch_norm(model)
                if "infer" in args.modes:
                    for batch in INFER_BATCHES[:1] if args.quick else INFER_BATCHES:
                        images, _ = make_inputs(batch, size)
                        row = Row(name, size, precision, "infer", batch, forward_flops)
                        ours = keras_inference(inference_model, images)
                        theirs = (
                            torch_inference(torch_model, images, precision) if with_torch else None
                        )
                        jobs.append((row, ours, theirs))
                if "train" in args.modes:
                    images, labels = make_inputs(TRAIN_BATCH, size)
                    row = Row(name, size, precision, "train", TRAIN_BATCH, 3 * forward_flops)
                    ours = KerasTrainer(model, images, labels)
                    theirs = (
                        torch_trainer(torch_model, images, labels, precision)
                        if with_torch
                        else None
                    )
                    jobs.append((row, ours, theirs))
                for row, ours, theirs in jobs:
                    ours(1)  # warm-up: tracing, allocation, oneDNN primitive creation
                    if theirs:
                        theirs(1)
                    for _ in range(repeats):  # interleaved
                        # Each framework's worker threads keep spinning for a while
                        # after their last task (OpenMP's and Eigen's spin-waits) and
                        # would steal cores from the other's next timed step.
                        time.sleep(args.settle)
                        row.ours.extend(ours(steps))
                        if theirs:
                            time.sleep(args.settle)
                            row.torch.extend(theirs(steps))
                    rows.append(row)
                    ratio = (
                        row.images_per_second("ours") / row.images_per_second("torch")
                        if theirs
                        else float("nan")
                    )
                    print(
                        f"  {name} {size[0]}x{size[1]} {precision} {row.mode} b{row.batch}: "
                        f"ours {row.images_per_second('ours'):.2f} img/s, "
                        f"ratio {ratio:.2f}  [{time.perf_counter() - started:.0f} s]",
                        flush=True,
                    )
                if not (args.quick or args.no_memory):
                    frameworks = ["tensorflow"] + (["torch"] if with_torch else [])
                    memory[(name, size, precision)] = {
                        f: measure_memory(f, name, size, precision) for f in frameworks
                    }
                del model, inference_model, torch_model

    print()
    print(environment_line())
    print("matmul peak: " + ", ".join(f"{p} {v:.0f} GFLOP/s" for p, v in peaks.items()))
    print(format_table(rows, peaks, memory))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "environment": environment_line(),
                    "peaks": peaks,
                    "rows": [dict(vars(r), size=list(r.size)) for r in rows],
                },
                out,
                indent=1,
            )
    return 0


def main(argv=None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
