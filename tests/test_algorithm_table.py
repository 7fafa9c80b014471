"""scripts/algorithm_table.py: one Markdown row per run folder, from its files only."""

import json
from pathlib import Path

import pytest
from data_fixtures import script_main

CPU = "AMD EPYC (avx512_bf16, 2 cores)"


def _main():
    return script_main("algorithm_table")


def _run(folder: Path, model: str, miou: float, times: list[tuple[int, int, int]]) -> Path:
    config = {"model": model, "width": 0.0625, "input_scale": 0.25}
    metrics = {
        "global_accuracy": 0.9,
        "class_average_accuracy": 0.7,
        "mean_iou": miou,
        "boundary_f1": 0.5,
        "per_class": {"name": ["Sky", "Pole", "Road"], "iou": [0.9, 0.1, 0.8]},
        "seconds_per_image": 0.0123,
    }
    (folder / "eval-test").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "eval-test" / "metrics.json").write_text(json.dumps(metrics))
    lines = [f"2026-12-05T23:00:00Z\t{CPU}\t{a}\t{b}\t{s}" for a, b, s in times]
    (folder / "train_time.tsv").write_text("\n".join(lines) + "\n")
    return folder


def _rows(table: str) -> dict[str, list[str]]:
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_one_row_per_run_with_cost_times_and_scores(tmp_path):
    from segnet_tf.models import get_model

    # Interrupted after 3 epochs (90 s), resumed for 2 more (70 s), rerun when finished.
    basic = _run(tmp_path / "basic", "segnet_basic", 0.55, [(0, 3, 90), (3, 5, 70), (5, 5, 4)])
    unet = _run(tmp_path / "unet", "unet", 0.60, [(0, 5, 200)])
    out = tmp_path / "table.md"
    assert _main()([str(basic), str(unet), "--out", str(out)]) == 0
    table = out.read_text()
    header = table.splitlines()[0]
    assert header.split(" | ")[:7] == ["| model", "width", "params (M)", "GFLOPs", "s / epoch",
                                       "ms / image", "G"]  # fmt: skip
    rows = _rows(table)
    width, params, _, seconds, ms, g, c, miou, bf, sky, pole, road = rows["segnet_basic"]
    network = get_model("segnet_basic", 3, width=0.0625, input_shape=(90, 120, 3))
    assert params == f"{network.count_params() / 1e6:.2f}"
    assert seconds == "32.0"  # (90 + 70) / 5: the call that trained nothing is left out.
    assert ms == "12.3"
    assert [g, c, miou, bf, sky, pole, road] == ["90.0", "70.0", "55.0", "50.0", "90.0", "10.0",
                                                 "80.0"]  # fmt: skip
    assert rows["unet"][3] == "40.0" and rows["unet"][7] == "60.0"
    assert f"CPUs: {CPU}." in table
    assert f"`segnet train --config {basic}/config.json`" in table
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_epoch_times_count_the_epochs_of_calls_killed_before_they_logged(tmp_path):
    # The call log timed 3 epochs (90 s); a killed call's 2 epochs are only in epoch_times.
    run = _run(tmp_path / "run", "segnet_basic", 0.5, [(0, 3, 90)])
    rows = [f"{epoch},{seconds},{CPU}" for epoch, seconds in enumerate([30, 30, 30, 20, 20])]
    (run / "epoch_times.csv").write_text("epoch,seconds,cpu\n" + "\n".join(rows) + "\n")
    out = tmp_path / "table.md"
    assert _main()([str(run), "--out", str(out)]) == 0
    assert _rows(out.read_text())["segnet_basic"][3] == "26.0"  # 130 s / 5 epochs


def test_bad_time_log_and_missing_scores_are_named(tmp_path, capsys):
    run = _run(tmp_path / "run", "segnet_basic", 0.5, [(0, 1, 10)])
    (run / "train_time.tsv").write_text("2026-12-05\t0\t1\n")
    assert _main()([str(run)]) == 2
    assert "train_time.tsv, line 1: expected 5 tab-separated fields" in capsys.readouterr().err
    (tmp_path / "bare").mkdir()
    assert _main()([str(tmp_path / "bare")]) == 2
    assert "bare/eval-test/metrics.json not found" in capsys.readouterr().err


def test_a_run_never_timed_shows_a_dash(tmp_path, capsys):
    run = _run(tmp_path / "run", "segnet_basic", 0.5, [])
    (run / "train_time.tsv").unlink()
    assert _main()([str(run)]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["segnet_basic"][3] == "-"
    assert "CPUs: not logged." in out


def test_curves_draw_one_line_per_run_and_name_a_missing_history(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from segnet_tf.visualize.figures import SERIES_COLORS

    runs = []
    for model, miou in (("segnet_basic", 0.5), ("unet", 0.6)):
        run = _run(tmp_path / model, model, miou, [(0, 3, 30)])
        rows = [f"{e},{0.1 * (e + 1) * miou}" for e in range(3)]
        (run / "history.csv").write_text("epoch,val_mean_iou\n" + "\n".join(rows) + "\n")
        runs.append(str(run))
    curves = tmp_path / "curves.png"
    assert _main()([*runs, "--out", str(tmp_path / "t.md"), "--curves", str(curves)]) == 0
    pixels = np.asarray(Image.open(curves).convert("RGB")).reshape(-1, 3)
    for color in SERIES_COLORS[:2]:  # one line per run
        assert (pixels == color).all(axis=1).sum() > 20
    assert not (pixels == SERIES_COLORS[2]).all(axis=1).any()  # and no third
    (tmp_path / "unet" / "history.csv").unlink()
    assert _main()([*runs, "--curves", str(tmp_path / "again.png")]) == 2
    assert "unet/history.csv not found" in capsys.readouterr().err


def test_curves_of_one_model_twice_are_named_by_width_or_else_by_folder(tmp_path, monkeypatch):
    from data_fixtures import script_module

    import segnet_tf.visualize.figures as figures

    drawn = []
    monkeypatch.setattr(
        figures, "plot_training_curves", lambda history, *a, **k: drawn.append(history)
    )
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "history.csv").write_text("epoch,val_mean_iou\n0,0.5\n")
    runs = [tmp_path / "a", tmp_path / "b"]
    plot_curves = script_module("algorithm_table").plot_curves
    plot_curves(runs, [{"model": "unet", "width": 0.25}, {"model": "unet", "width": 0.5}], None)
    plot_curves(runs, [{"model": "unet", "width": 0.5}, {"model": "unet", "width": 0.5}], None)
    assert [list(history) for history in drawn] == [
        ["unet width 0.25", "unet width 0.5"],
        ["unet (a)", "unet (b)"],
    ]


@pytest.mark.parametrize("script", ["compare_algorithms.sh", "train_camvid_robust.sh"])
def test_recipe_scripts_parse_and_call_the_recipe(script):
    import subprocess

    path = Path(__file__).resolve().parent.parent / "scripts" / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert "train_camvid.sh" in path.read_text()
