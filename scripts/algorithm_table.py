"""One Markdown table comparing trained models, read from their run folders.

For the comparison of algorithms at the same budget (``scripts/compare_algorithms.sh``):
each run folder holds the run's ``config.json``, the test scores ``segnet evaluate``
wrote (``eval-test/metrics.json``, or ``--eval-dir``) and the training times
``scripts/train_camvid.sh`` logged (``train_time.tsv``). One row per run: model,
width, parameters, GFLOPs of one 360x480 image (the convolutions, at the run's input
scale), seconds per training epoch (validation included) over every logged training
call, the network's ms per test image, test G / C / mIoU / BF and each class's IoU,
in percent. Below the table: the CPUs the times come from and the command behind each
row. Nothing in it is typed by hand, so the table in the docs regenerates from the
run folders. ``--curves`` also draws the runs' validation mIoU per epoch as a PNG.

Example:

    python scripts/algorithm_table.py runs/fcn8s runs/unet runs/segnet --out table.md \
        --curves curves.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed

from compare_runs import SCORES, read_metrics, score_table  # noqa: E402
from train_times import read_epoch_totals, read_train_calls, total_time  # noqa: E402

TEST_SIZE = (360, 480)  # CamVid's frames, which `segnet evaluate` scores.


class RunCost(NamedTuple):
    """What a run's network costs: its size, compute and times."""

    params: int
    gflops: float
    seconds_per_epoch: float | None
    cpus: tuple[str, ...]
    ms_per_image: float | None


def read_train_times(run: Path) -> tuple[float | None, tuple[str, ...]]:
    """Seconds per epoch and the CPUs, from ``epoch_times.csv`` or else ``train_time.tsv``.

    A call of ``train_time.tsv`` that trained no epoch (the run was already finished)
    adds nothing.
    """
    seconds, epochs, cpus = total_time(read_epoch_totals(run) or read_train_calls(run) or [])
    return (seconds / epochs if epochs else None), tuple(cpus)


def network_cost(config: dict, num_classes: int) -> tuple[int, float]:
    """Parameters and GFLOPs per 360x480 image of the network ``config`` trains."""
    from benchmarks.flops import conv_flops_per_image
    from segnet_tf.models import get_model

    scale = config.get("input_scale", 1.0)
    shape = (round(TEST_SIZE[0] * scale), round(TEST_SIZE[1] * scale), 3)
    model = get_model(config["model"], num_classes, width=config["width"], input_shape=shape)
    return model.count_params(), conv_flops_per_image(model) / 1e9


def read_config(run: Path) -> dict:
    """The run's ``config.json``."""
    file = run / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found: pass run folders of `segnet train`")
    return json.loads(file.read_text())


def run_cost(run: Path, config: dict, metrics: dict) -> RunCost:
    """The :class:`RunCost` of one run folder."""
    params, gflops = network_cost(config, len(metrics["per_class"]["name"]))
    seconds, cpus = read_train_times(run)
    per_image = metrics.get("seconds_per_image")
    return RunCost(params, gflops, seconds, cpus, None if per_image is None else 1e3 * per_image)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def format_table(
    runs: list[Path], configs: list[dict], costs: list[RunCost], metrics, eval_dir: str
) -> str:
    """The Markdown table, the CPUs and the commands."""
    columns, values = score_table(metrics)
    head = ["model", "width", "params (M)", "GFLOPs", "s / epoch", "ms / image", *columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for config, cost, row in zip(configs, costs, values, strict=True):
        cells = [
            f"`{config['model']}`",
            f"{config['width']:g}",
            f"{cost.params / 1e6:.2f}",
            f"{cost.gflops:.2f}",
            _number(cost.seconds_per_epoch, 1),
            _number(cost.ms_per_image, 1),
            *(_number(v, 1) for v in row),  # A class absent from the images: "-".
        ]
        lines.append("| " + " | ".join(cells) + " |")
    cpus = sorted({cpu for cost in costs for cpu in cost.cpus})
    lines += [
        "",
        f"Scores in percent from each run's `{eval_dir}/metrics.json` ({', '.join(SCORES)}, "
        "then each class's IoU). GFLOPs: "
        f"the convolutions of one {TEST_SIZE[0]}x{TEST_SIZE[1]} image at the run's input "
        "scale. s / epoch: training calls' wall time over the epochs they trained, "
        "validation, start-up and the final evaluation included (a long run spreads them "
        "thin). ms / image: the network's mean time per test image "
        "(`segnet evaluate`, batch 1).",
        "",
        f"CPUs: {'; '.join(cpus) if cpus else 'not logged'}.",
        "",
        "Commands: each run's resolved configuration reproduces its training (add "
        "`--run-dir` to train a copy elsewhere); `scripts/train_camvid.sh` then adjusted "
        "and evaluated it.",
        "",
    ]
    for run, config in zip(runs, configs, strict=True):
        lines.append(f"- `{config['model']}`: `segnet train --config {run}/config.json`")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_validation_curve(run: Path) -> list[float]:
    """The run's validation mIoU per epoch, in percent, from its ``history.csv``."""
    from segnet_tf.training.callbacks import read_history_csv

    file = run / "history.csv"
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found: --curves needs each run's history")
    rows = read_history_csv(file)
    if not rows or "val_mean_iou" not in rows[0]:
        raise ValueError(f"{file} has no val_mean_iou column")
    return [100 * row["val_mean_iou"] for row in rows]


def plot_curves(runs: list[Path], configs: list[dict], path: Path) -> None:
    """One line per run: validation mIoU per epoch, named after the run's model (and
    width, or folder, when a model appears twice)."""
    from segnet_tf.visualize.figures import plot_training_curves

    names = [config["model"] for config in configs]
    if len(set(names)) < len(names):  # the same model twice: its width, or the folder
        names = [f"{config['model']} width {config['width']:g}" for config in configs]
    if len(set(names)) < len(names):
        pairs = zip(runs, configs, strict=True)
        names = [f"{config['model']} ({run.name})" for run, config in pairs]
    history = {name: read_validation_curve(run) for name, run in zip(names, runs, strict=True)}
    plot_training_curves(
        history, path, keys=(tuple(names),), size=(900, 420), titles=["validation mIoU (%)"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of `segnet train`")
    parser.add_argument(
        "--eval-dir", default="eval-test", help="a run folder's evaluation (default eval-test)"
    )
    parser.add_argument("--out", type=Path, help="write the table here (default: print it)")
    parser.add_argument(
        "--curves", type=Path, help="also draw each run's validation mIoU per epoch (PNG)"
    )
    args = parser.parse_args(argv)
    try:
        metrics = [read_metrics(run, args.eval_dir) for run in args.runs]
        configs = [read_config(run) for run in args.runs]
        costs = [
            run_cost(run, config, m)
            for run, config, m in zip(args.runs, configs, metrics, strict=True)
        ]
        table = format_table(args.runs, configs, costs, metrics, args.eval_dir)
        if args.curves is not None:
            plot_curves(args.runs, configs, args.curves)
    except (OSError, ValueError) as error:
        print(f"algorithm_table.py: {error}", file=sys.stderr)
        return 2
    except KeyError as error:
        print(
            f"algorithm_table.py: no {error} entry; pass run folders of `segnet train` "
            "evaluated by `segnet evaluate`",
            file=sys.stderr,
        )
        return 2
    if args.out is None:
        print(table, end="")
    else:
        write_atomic(args.out, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
