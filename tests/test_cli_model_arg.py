"""MODEL arguments of the `segnet` subcommands: a `.keras` file or a bundled preset."""

import json
import os

import pytest
from fake_camvid import make_fake_camvid

from segnet_tf.cli import build_parser, main
from segnet_tf.commands.model_arg import PRESETS_DIR, model_file, preset_name, preset_names
from segnet_tf.data import CAMVID_CLASSES


def test_paths_are_files_and_words_are_presets(tmp_path):
    assert preset_name("camvid_segnet") == "camvid_segnet"
    assert preset_name("model.keras") is None
    assert preset_name(os.path.join("runs", "best")) is None
    existing = tmp_path / "plainname"
    existing.write_text("")
    assert preset_name(str(existing)) is None
    assert model_file("camvid_segnet") == str(PRESETS_DIR / "camvid_segnet" / "model.keras")
    assert model_file("runs/x/best.keras") == "runs/x/best.keras"


def test_unknown_preset_names_the_available_ones():
    with pytest.raises(ValueError, match=r"Unknown preset 'no_such'.*camvid_segnet"):
        model_file("no_such")


@pytest.mark.parametrize("command", ["predict", "export", "evaluate"])
def test_help_says_model_may_be_a_preset(command):
    subparsers = build_parser()._subparsers._group_actions[0].choices
    help_text = subparsers[command].format_help()
    assert "preset" in help_text and "camvid_segnet" in help_text
    assert "camvid_segnet" in preset_names()


def test_evaluate_a_preset_writes_to_the_current_folder(tmp_path, monkeypatch, capsys):
    data_dir = make_fake_camvid(tmp_path / "data", {"test": 1}, size=(48, 64))
    (tmp_path / "data" / "classes.json").write_text(CAMVID_CLASSES.to_json())
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in PRESETS_DIR.iterdir())
    args = ["evaluate", "camvid_segnet", "--data", "folder", "--data-dir", data_dir]
    assert main([*args, "--split", "test", "--limit", "1", "--no-boundary"]) == 0
    metrics = json.loads((tmp_path / "camvid_segnet-eval-test" / "metrics.json").read_text())
    assert 0.0 <= metrics["mean_iou"] <= 1.0
    assert sorted(p.name for p in PRESETS_DIR.iterdir()) == before  # nothing in the package
    assert main(["evaluate", "no_such", "--data", "folder", "--data-dir", data_dir]) == 2
    assert "Unknown preset 'no_such'" in capsys.readouterr().err
