"""scripts/compare_runs.py: per-run test scores, their mean and spread."""

import json
from pathlib import Path

import pytest
from data_fixtures import script_main


def _main():
    return script_main("compare_runs")


def _run(folder: Path, miou: float, pole: float) -> Path:
    metrics = {
        "global_accuracy": 0.9,
        "class_average_accuracy": 0.7,
        "mean_iou": miou,
        "boundary_f1": 0.5,
        "per_class": {"name": ["Sky", "Pole"], "iou": [0.9, pole]},
    }
    (folder / "eval-test").mkdir(parents=True)
    (folder / "eval-test" / "metrics.json").write_text(json.dumps(metrics))
    return folder


def _row(output: str, label: str) -> list[float]:
    line = next(line for line in output.splitlines() if line.split()[0] == label)
    return [float(v) for v in line.split()[1:]]


def test_mean_spread_and_std_of_each_column(tmp_path, capsys):
    runs = [
        _run(tmp_path / f"seed{i}", miou, pole)
        for i, (miou, pole) in enumerate([(0.50, 0.10), (0.53, 0.16), (0.515, 0.13)])
    ]
    assert _main()([str(r) for r in runs]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["run", "G", "C", "mIoU", "BF", "Sky", "Pole"]
    assert _row(out, "seed1") == pytest.approx([90, 70, 53, 50, 90, 16])
    assert _row(out, "mean") == pytest.approx([90, 70, 51.5, 50, 90, 13])
    assert _row(out, "spread") == pytest.approx([0, 0, 3, 0, 0, 6])
    assert _row(out, "std") == pytest.approx([0, 0, 1.5, 0, 0, 3])


def test_a_run_without_test_scores_is_named(tmp_path, capsys):
    (tmp_path / "unevaluated").mkdir()
    assert _main()([str(tmp_path / "unevaluated")]) == 2
    err = capsys.readouterr().err
    assert "unevaluated/eval-test/metrics.json not found" in err


def test_runs_over_different_classes_are_refused(tmp_path, capsys):
    first = _run(tmp_path / "a", 0.5, 0.1)
    second = _run(tmp_path / "b", 0.5, 0.1)
    metrics_file = second / "eval-test" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["per_class"]["name"] = ["Sky", "Fence"]
    metrics_file.write_text(json.dumps(metrics))
    assert _main()([str(first), str(second)]) == 2
    assert "different classes" in capsys.readouterr().err
