"""Inference latency and peak memory per precision and runtime, as ratios, in one run.

For each model (the bundled preset; full-width SegNet and SegNet-Basic with random
weights) at 360x480, batch 1 and 8, every runtime a user may deploy with:

    keras-f32 / keras-bf16          Segmenter's path: a tf.function around the model
    savedmodel-f32 / savedmodel-bf16  the exported serving_default signature (uint8 in)
    tflite-f32 / tflite-dynamic / tflite-int8   tf.lite.Interpreter, builtin ops
    onnx-f32 / onnx-int8            ONNX Runtime (int8: quantize_static, QDQ)
    torch-f32 / torch-bf16          the PyTorch twin (eval, inference_mode; bf16 by
                                    torch.autocast), for SegNet and SegNet-Basic

Each row runs in its own subprocess, one after the other (not interleaved: the
machine's load at each moment is printed with the table); latency is the median of
the timed calls after a warm-up that lasts until the call time has settled (at
least three calls; see `warm_up`). Memory is the subprocess's peak resident
set (Linux VmHWM): "peak" is the whole process (runtime, model and activations),
"run" the rise above the resident set before the first timed call (activations and
workspace). Ratios are against keras-f32 of the same model and batch.

Every row also gives the convolution GFLOP/s it reached as a share of two limits:
the CPU's physical peak (cores x clock x FLOP per cycle of the instruction set the
precision uses; see `physical_peaks`) and the best convolution measured on this
machine in the same run (a large 3x3 convolution in TensorFlow).

With `--camvid-dir`, the preset's artefacts are also scored on the CamVid test split
by `segnet evaluate` on the artefact itself, and the mIoU printed beside the speed.

    python benchmarks/inference.py --camvid-dir ../shared/camvid
    python benchmarks/inference.py --models preset --batches 1 --repeats 3
    python benchmarks/inference.py --models preset --preset camvid_unet_robust --batches 1
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.append(str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.machine import cpu_facts, cpu_label  # noqa: E402

MODELS = ("preset", "segnet_basic", "segnet")
DEFAULT_PRESET = "camvid_segnet"
RUNTIMES = (
    "keras-f32",
    "keras-bf16",
    "savedmodel-f32",
    "savedmodel-bf16",
    "tflite-f32",
    "tflite-dynamic",
    "tflite-int8",
    "onnx-f32",
    "onnx-int8",
    "torch-f32",
    "torch-bf16",
)
HEIGHT, WIDTH = 360, 480
NUM_CLASSES = 11
CONV_SHAPE = (1, 90, 120, 256)  # the best-convolution probe: 3x3, 256 -> 256 channels


def flop_per_cycle(facts: dict) -> dict:
    """FLOP (int8: operations) per cycle per core, by precision, with the assumption.

    AMD Zen 4 (family 25 with AVX-512) runs 512-bit instructions on two 256-bit FMA
    pipes: 2 x 8 float32 lanes x 2 = 32 FLOP/cycle, VDPBF16PS 2 x 16 bf16 pairs x 2 =
    64, VPDPBUSD 2 x 32 int8 products x 2 = 128. Zen 5 (family 26) has 512-bit pipes:
    twice that. Intel server cores with two 512-bit FMA units: 64 / 128 (AVX512-BF16) /
    256 (VNNI); AMX tiles: 1024 bf16, 2048 int8.
    """
    flags, vendor, family = facts["flags"], facts["vendor"], facts["family"]
    if "amx_bf16" in flags:
        return {"float32": 64, "bfloat16": 1024, "int8": 2048, "isa": "AMX (Intel, 2 FMA-512)"}
    if vendor == "AuthenticAMD" and "avx512f" in flags:
        scale = 2 if family >= 26 else 1
        return {
            "float32": 32 * scale,
            "bfloat16": (64 if "avx512_bf16" in flags else 32) * scale,
            "int8": (128 if "avx512_vnni" in flags else 64) * scale,
            "isa": f"AVX-512 on {'512' if scale == 2 else '2x256'}-bit pipes (AMD Zen "
            f"{'5' if scale == 2 else '4'})",
        }
    if "avx512f" in flags:
        return {
            "float32": 64,
            "bfloat16": 128 if "avx512_bf16" in flags else 64,
            "int8": 256 if "avx512_vnni" in flags else 128,
            "isa": "AVX-512, 2 FMA units",
        }
    return {"float32": 32, "bfloat16": 32, "int8": 64, "isa": "AVX2 FMA"}


def physical_peaks(facts: dict) -> dict:
    """GFLOP/s the silicon can do per precision: cores x clock x FLOP per cycle."""
    per_cycle = flop_per_cycle(facts)
    return {
        p: facts["cores"] * facts["mhz"] / 1000 * per_cycle[p]
        for p in ("float32", "bfloat16", "int8")
    }


def best_convolution(repeats: int = 5) -> dict:
    """GFLOP/s of a large 3x3 convolution in TensorFlow, float32 and bfloat16."""
    import numpy as np
    import tensorflow as tf

    batch, height, width, channels = CONV_SHAPE
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(CONV_SHAPE), tf.float32)
    kernel = tf.constant(rng.standard_normal((3, 3, channels, channels)) * 0.05, tf.float32)
    flops = 2 * batch * height * width * channels * 9 * channels
    result = {}
    for dtype in (tf.float32, tf.bfloat16):
        a, k = tf.cast(x, dtype), tf.cast(kernel, dtype)
        conv = tf.function(lambda a, k: tf.nn.conv2d(a, k, 1, "SAME"))

        def run(conv=conv, a=a, k=k):  # defaults bind this iteration's conv and inputs
            return conv(a, k).numpy()

        run()
        times = [call_seconds(run) for _ in range(repeats)]
        result[dtype.name] = flops / min(times) / 1e9
    return result


# ----------------------------------------------------------------------------- artefacts


def precision_of(runtime: str) -> str:
    """The precision a runtime computes its convolutions in.

    Dynamic-range TFLite quantises the activations on the fly and runs its
    convolutions on int8, so its limit is the int8 one.
    """
    suffix = runtime.rsplit("-", 1)[1]
    return {"f32": "float32", "bf16": "bfloat16", "int8": "int8", "dynamic": "int8"}[suffix]


def twin_of(runtime: str) -> str:
    """The PyTorch row a runtime is compared with: bfloat16 with bfloat16, else float32."""
    return "torch-bf16" if runtime.endswith("bf16") else "torch-f32"


def keras_model_file(name: str, folder: Path, preset: str) -> Path:
    """The file of the bundled ``preset``, or a saved random-weight model of ``name``."""
    if name == "preset":
        from segnet_tf.inference import PRESETS_DIR

        return PRESETS_DIR / preset / "model.keras"
    import keras

    import segnet_tf

    path = folder / f"{name}.keras"
    if not path.is_file():
        keras.utils.set_random_seed(0)
        segnet_tf.get_model(name, NUM_CLASSES).save(path)
    return path


def calibration_images(camvid_dir: str | None, count: int):
    """CamVid training images when available, else random ones (speed only)."""
    import numpy as np

    if camvid_dir:
        from segnet_tf.export.calibration import training_images

        return training_images("camvid", count, data_dir=camvid_dir)
    rng = np.random.default_rng(0)
    return lambda: iter(rng.integers(0, 256, (count, HEIGHT, WIDTH, 3), dtype=np.uint8))


def prepare(name: str, runtimes, folder: Path, camvid_dir, calibration: int, preset: str) -> dict:
    """Export every artefact ``runtimes`` need for model ``name``; returns their paths."""
    from segnet_tf.export import export_onnx, export_saved_model, export_tflite
    from segnet_tf.training.saving import load_trained_model

    keras_path = keras_model_file(name, folder, preset)
    model = load_trained_model(keras_path, compile=False)
    paths = {"keras-f32": keras_path, "keras-bf16": keras_path}
    images = calibration_images(camvid_dir, calibration)
    for runtime in runtimes:
        started = time.perf_counter()
        if runtime.startswith("savedmodel"):
            precision = precision_of(runtime)
            paths[runtime] = export_saved_model(
                model, folder / f"{name}-{precision}", version=1, precision=precision
            )
        elif runtime.startswith("tflite"):
            quantize = {"f32": "none"}.get(runtime.split("-")[1], runtime.split("-")[1])
            paths[runtime] = export_tflite(
                model,
                folder / f"{name}-{quantize}.tflite",
                quantize=quantize,
                representative_images=images if quantize == "int8" else None,
            )
        elif runtime == "onnx-f32":
            paths[runtime] = export_onnx(model, folder / f"{name}.onnx")
        elif runtime == "onnx-int8":
            paths[runtime] = export_onnx(
                model, folder / f"{name}-int8.onnx", quantize="int8", representative_images=images
            )
        elapsed = time.perf_counter() - started
        if elapsed > 1:
            print(f"  prepared {name} {runtime} in {elapsed:.0f} s", flush=True)
    return {key: str(value) for key, value in paths.items()}


# ----------------------------------------------------------------------------- one row


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def make_runner(runtime: str, model: str, path: str, threads: int):
    """A function running one uint8 batch through ``runtime``."""
    if runtime.startswith("keras"):
        import tensorflow as tf

        from segnet_tf.precision import with_precision
        from segnet_tf.training.saving import load_trained_model

        network = with_precision(load_trained_model(path, compile=False), precision_of(runtime))

        @tf.function(reduce_retracing=True)
        def forward(x):
            logits = network(tf.cast(x, tf.float32), training=False)
            return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)

        return lambda images: forward(tf.constant(images)).numpy()
    if runtime.startswith("torch"):
        import torch

        from benchmarks.torch_models import build_torch_model

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        twin = build_torch_model(model, NUM_CLASSES).eval()
        autocast = runtime == "torch-bf16"

        def run_torch(images):
            x = torch.from_numpy(images).permute(0, 3, 1, 2).float().contiguous()
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
                return torch.softmax(twin(x).float(), dim=1).numpy()

        return run_torch
    from segnet_tf.export.runners import ExportedModel

    return ExportedModel(path, num_threads=threads)


def call_seconds(call) -> float:
    """Wall time of one ``call()``, in seconds."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def warm_up(call, settled_calls: int = 2, tolerance: float = 1.2, max_calls: int = 12) -> int:
    """Call ``call()`` until its time has settled; returns the number of calls made.

    The first call traces, allocates and selects kernels. Some runtimes stay slow for
    several calls more, slower even than the first (a loaded SavedModel once took 532,
    2772, 2626, 2736, 176 ms, then 62-68 ms), so one warm-up call is not enough: keep
    calling until ``settled_calls`` calls in a row after the first each take at most
    ``tolerance`` times the fastest call so far, or ``max_calls`` calls were made.
    """
    fastest, in_a_row, calls = float("inf"), 0, 0
    while in_a_row < settled_calls and calls < max_calls:
        elapsed = call_seconds(call)
        calls += 1
        fastest = min(fastest, elapsed)
        if calls > 1:
            in_a_row = in_a_row + 1 if elapsed <= tolerance * fastest else 0
    return calls


def run_row(runtime: str, model: str, path: str, batch: int, repeats: int) -> dict:
    """Time ``repeats`` calls after the warm-up (`warm_up`), in this (fresh) process."""
    import numpy as np

    threads = len(os.sched_getaffinity(0))
    images = np.random.default_rng(0).integers(0, 256, (batch, HEIGHT, WIDTH, 3), dtype=np.uint8)
    runner = make_runner(runtime, model, path, threads)
    warmups = warm_up(lambda: runner(images))
    baseline = _rss_bytes()
    times = [call_seconds(lambda: runner(images)) for _ in range(repeats)]
    peak = _peak_rss_bytes()
    return {"times": times, "warmups": warmups, "peak": peak, "run": max(0, peak - baseline)}


def measure(runtime, model, path, batch, repeats) -> dict | None:
    command = [sys.executable, str(Path(__file__).resolve()), "--row", runtime, model, path]
    command += [str(batch), str(repeats)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  {model} {runtime} b{batch} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def camvid_miou(
    runtime: str, path: str, camvid_dir: str, limit: int | None, folder: Path, preset: str
):
    """mIoU of ``segnet evaluate`` on the artefact (Keras: the preset at a precision)."""
    command = [sys.executable, "-m", "segnet_tf.cli", "evaluate"]
    if runtime.startswith("keras"):
        command += [preset, "--precision", precision_of(runtime)]
    else:
        command += [path]
    out = folder / f"eval-{runtime}"
    command += ["--data", "camvid", "--data-dir", camvid_dir, "--split", "test", "--no-boundary"]
    command += ["--output-dir", str(out), "--overwrite"]
    if limit:
        command += ["--limit", str(limit)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  evaluate {runtime} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads((out / "metrics.json").read_text())["mean_iou"]


# ----------------------------------------------------------------------------- table


def conv_gflop(model_name: str, path: str) -> float:
    """Convolution GFLOP per 360x480 image of the model in ``path``."""
    import keras

    from benchmarks.flops import conv_flops_per_image
    from segnet_tf.training.saving import load_trained_model

    model = load_trained_model(path, compile=False)
    fixed = keras.models.clone_model(model, input_tensors=keras.Input((HEIGHT, WIDTH, 3)))
    return conv_flops_per_image(fixed) / 1e9


def _median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else 0.5 * (values[middle - 1] + values[middle])


def format_table(results, gflop, peaks, best_conv, mious) -> str:
    header = (
        "| model | batch | runtime | ms / image | vs keras-f32 | vs torch (same precision) "
        "| GFLOP/s | % of physical peak | % of best conv | peak MiB | run MiB | warm-up calls "
        "| CamVid mIoU |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for (model, batch), rows in results.items():
        base = rows.get("keras-f32")
        for runtime, row in rows.items():
            if row is None:
                continue
            seconds = _median(row["times"]) / batch
            precision = precision_of(runtime)
            twin = rows.get(twin_of(runtime)) if not runtime.startswith("torch") else None
            ratio = f"{_median(base['times']) / batch / seconds:.2f}x" if base else "-"
            vs_torch = f"{_median(twin['times']) / batch / seconds:.2f}x" if twin else "-"
            rate = gflop[model] / seconds
            conv_ref = best_conv.get(precision)  # no int8 probe: TensorFlow has no int8 conv
            miou = mious.get(runtime) if model == "preset" else None
            lines.append(
                f"| {model} | {batch} | {runtime} | {1000 * seconds:.1f} | {ratio} | {vs_torch} "
                f"| {rate:.0f} | {100 * rate / peaks[precision]:.0f}% "
                f"| {'-' if conv_ref is None else f'{100 * rate / conv_ref:.0f}%'} "
                f"| {row['peak'] / 2**20:.0f} "
                f"| {row['run'] / 2**20:.0f} | {row.get('warmups', '-')} "
                f"| {'-' if miou is None else f'{100 * miou:.2f}'} |"
            )
    return "\n".join(lines)


def environment(facts: dict) -> str:
    import keras
    import tensorflow as tf

    parts = [
        datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average " + " ".join(f"{load:.1f}" for load in os.getloadavg()),
        f"{cpu_label(facts)}; {facts['mhz']:.0f} MHz from {facts['mhz_source']}",
        f"Python {platform.python_version()}",
        f"TensorFlow {tf.__version__}",
        f"Keras {keras.__version__}",
    ]
    for module in ("onnxruntime", "torch"):
        try:
            parts.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            pass
    return "; ".join(parts)


# ----------------------------------------------------------------------------- driver


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        help=f"the bundled preset the model 'preset' stands for (default {DEFAULT_PRESET})",
    )
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per row (default 5)")
    parser.add_argument(
        "--calibration-images",
        type=int,
        default=32,
        metavar="N",
        help="int8 calibration images (CamVid train with --camvid-dir, else random)",
    )
    parser.add_argument("--camvid-dir", metavar="DIR", help="CamVid folder: adds test mIoU")
    parser.add_argument("--miou-limit", type=int, metavar="N", help="score N test images only")
    parser.add_argument("--work-dir", metavar="DIR", help="keep the artefacts here")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--mhz", type=float, help="clock for the physical peak (default: what the OS reports)"
    )
    parser.add_argument(
        "--table-from",
        metavar="FILE",
        help="print the table of a run saved with --json again (with this --mhz)",
    )
    parser.add_argument("--row", nargs=5, help=argparse.SUPPRESS)
    return parser


def print_saved_table(path: str, facts: dict, peaks: dict) -> int:
    """Print the table of a run saved with ``--json``, with this machine's limits."""
    saved = json.loads(Path(path).read_text())
    results = {}
    for row in saved["rows"]:
        keys = ("times", "warmups", "peak", "run")
        entry = {k: row[k] for k in keys if k in row} if "times" in row else None
        results.setdefault((row["model"], row["batch"]), {})[row["runtime"]] = entry
    print(saved["environment"])
    print(
        f"physical peak ({flop_per_cycle(facts)['isa']}, {facts['mhz']:.0f} MHz from "
        f"{facts['mhz_source']}): " + ", ".join(f"{p} {v:.0f}" for p, v in peaks.items())
    )
    gflop, best_conv, mious = saved["gflop_per_image"], saved["best_conv"], saved["mious"]
    print(format_table(results, gflop, peaks, best_conv, mious))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.row:
        runtime, model, path, batch, repeats = args.row
        print(json.dumps(run_row(runtime, model, path, int(batch), int(repeats))))
        return 0
    started = time.perf_counter()
    facts = cpu_facts(mhz_override=args.mhz)
    peaks = physical_peaks(facts)
    if args.table_from:
        return print_saved_table(args.table_from, facts, peaks)
    print(environment(facts), flush=True)
    if "preset" in args.models:
        print(f"preset: {args.preset}", flush=True)
    print(
        f"physical peak ({flop_per_cycle(facts)['isa']}): "
        + ", ".join(f"{p} {v:.0f} GFLOP/s" for p, v in peaks.items()),
        flush=True,
    )
    best_conv = best_convolution()
    print(
        "best measured 3x3 convolution "
        f"{'x'.join(map(str, CONV_SHAPE))}: "
        + ", ".join(f"{p} {v:.0f} GFLOP/s" for p, v in best_conv.items()),
        flush=True,
    )
    folder = Path(args.work_dir or tempfile.mkdtemp(prefix="segnet-inference-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results, gflop, mious = {}, {}, {}
    for model in args.models:
        runtimes = [r for r in args.runtimes if not (r.startswith("torch") and model == "preset")]
        paths = prepare(
            model, runtimes, folder, args.camvid_dir, args.calibration_images, args.preset
        )
        gflop[model] = conv_gflop(model, paths["keras-f32"])
        for batch in args.batches:
            rows = results.setdefault((model, batch), {})
            for runtime in runtimes:
                rows[runtime] = measure(runtime, model, paths.get(runtime, ""), batch, args.repeats)
                if rows[runtime]:
                    ms = 1000 * _median(rows[runtime]["times"]) / batch
                    print(
                        f"  {model} b{batch} {runtime}: {ms:.1f} ms/image  "
                        f"[{time.perf_counter() - started:.0f} s, load "
                        f"{os.getloadavg()[0]:.1f}]",
                        flush=True,
                    )
        if model == "preset" and args.camvid_dir:
            for runtime in runtimes:
                mious[runtime] = camvid_miou(
                    runtime,
                    paths.get(runtime, ""),
                    args.camvid_dir,
                    args.miou_limit,
                    folder,
                    args.preset,
                )
                print(f"  preset {runtime}: CamVid test mIoU {mious[runtime]}", flush=True)
    print()
    print(environment(facts))
    print(
        f"physical peak ({flop_per_cycle(facts)['isa']}): "
        + ", ".join(f"{p} {v:.0f}" for p, v in peaks.items())
        + " GFLOP/s; best measured convolution: "
        + ", ".join(f"{p} {v:.0f}" for p, v in best_conv.items())
        + " GFLOP/s"
    )
    if args.camvid_dir:
        scope = f"first {args.miou_limit}" if args.miou_limit else "all 233"
        print(f"CamVid test mIoU: {scope} test images, the artefact itself (segnet evaluate)")
    print(format_table(results, gflop, peaks, best_conv, mious))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "environment": environment(facts),
                    "preset": args.preset,
                    "peaks": peaks,
                    "best_conv": best_conv,
                    "gflop_per_image": gflop,
                    "mious": mious,
                    "rows": [
                        {"model": m, "batch": b, "runtime": r, **(row or {})}
                        for (m, b), rows in results.items()
                        for r, row in rows.items()
                    ],
                },
                out,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
