"""Test scores of several runs side by side, with their mean and spread.

For the reproducibility check of a recipe: run the same command with different
``--seed`` values, then compare what ``segnet evaluate`` wrote for each. A run folder
stands for its ``eval-test/metrics.json`` (what ``scripts/train_camvid.sh`` writes;
``--eval-dir eval-test-unadjusted`` for the scores without logit adjustment); a path
to a ``metrics.json`` is read as it is. Prints G, C, mIoU and BF of each run, then
each class's IoU, then the mean, the spread (max - min) and the sample standard
deviation of every column, all in percent.

Example (three seeds of the CamVid recipe):

    for seed in 0 1 2; do
      RUN_DIR=runs/camvid_seed$seed bash scripts/train_camvid.sh --seed $seed
    done
    python scripts/compare_runs.py runs/camvid_seed0 runs/camvid_seed1 runs/camvid_seed2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SCORES = {
    "G": "global_accuracy",
    "C": "class_average_accuracy",
    "mIoU": "mean_iou",
    "BF": "boundary_f1",
}


def read_metrics(path: Path, eval_dir: str) -> dict:
    """The ``metrics.json`` of a run folder (``path/eval_dir``) or at ``path``."""
    file = path / eval_dir / "metrics.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"{file} not found: pass a run folder evaluated on test (it holds "
            f"{eval_dir}/metrics.json) or the path of a metrics.json"
        )
    return json.loads(file.read_text())


def score_table(metrics: list[dict]) -> tuple[list[str], np.ndarray]:
    """Column names and a ``runs x columns`` array of percentages."""
    names = metrics[0]["per_class"]["name"]
    for m in metrics[1:]:
        if m["per_class"]["name"] != names:
            raise ValueError(f"runs score different classes: {names} and {m['per_class']['name']}")
    columns = list(SCORES) + list(names)
    rows = [[m[key] for key in SCORES.values()] + list(m["per_class"]["iou"]) for m in metrics]
    return columns, 100.0 * np.asarray(rows, dtype=np.float64)


def format_table(labels: list[str], columns: list[str], values: np.ndarray) -> str:
    """The runs, then mean, spread and standard deviation, one line each."""
    summary = {
        "mean": values.mean(axis=0),
        "spread": values.max(axis=0) - values.min(axis=0),
        "std": values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1]),
    }
    width = max(6, *(len(label) for label in labels))
    cell = max(6, *(len(c) + 1 for c in columns))
    lines = [f"{'run':<{width}}" + "".join(f"{c:>{cell}}" for c in columns)]
    for label, row in [*zip(labels, values, strict=True), *summary.items()]:
        lines.append(f"{label:<{width}}" + "".join(f"{v:>{cell}.2f}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders or metrics.json files")
    parser.add_argument(
        "--eval-dir", default="eval-test", help="a run folder's evaluation (default eval-test)"
    )
    args = parser.parse_args(argv)
    try:
        metrics = [read_metrics(path, args.eval_dir) for path in args.runs]
        columns, values = score_table(metrics)
    except (OSError, ValueError) as error:
        print(f"compare_runs.py: {error}", file=sys.stderr)
        return 2
    except KeyError as error:
        print(
            f"compare_runs.py: a metrics.json has no {error} entry; pass files written by "
            "`segnet evaluate`",
            file=sys.stderr,
        )
        return 2
    labels = [path.name if path.is_dir() else str(path) for path in args.runs]
    print(format_table(labels, columns, values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
