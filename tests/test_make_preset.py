"""scripts/make_preset.py rebuilds a run's model from the model's own config, in float32."""

import json

import keras
import numpy as np
import pytest
from data_fixtures import script_module

from segnet_tf.models import SegNet
from segnet_tf.training import TrainConfig


def _make_preset():
    return script_module("make_preset").main


def test_preset_is_the_trained_model_in_float32(tmp_path, dtype_policy):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    # The config.json says nothing of the input scale or offsets: they come from the model.
    TrainConfig(model="segnet_basic", width=1 / 16, data="synthetic").save(run_dir / "config.json")
    (run_dir / "classes.json").write_text(
        json.dumps({"names": ["a", "b", "c"], "colors": [[0, 0, 0], [1, 1, 1], [2, 2, 2]]})
    )
    dtype_policy("mixed_bfloat16")
    trained = SegNet(
        3,
        depth="basic",
        width=1 / 16,
        input_scale=0.5,
        class_logit_offsets=[0.25, 0.0, -0.25],
        name="segnet_basic",
    )
    trained.save(run_dir / "best.keras")
    dtype_policy("float32")

    out = tmp_path / "presets"
    assert _make_preset()([str(run_dir), "--name", "tiny", "--output-dir", str(out)]) == 0
    preset = keras.saving.load_model(out / "tiny" / "model.keras")
    assert type(preset) is SegNet
    # A model saved before models recorded their training frame size gets the run's.
    expected = {**trained.get_config(), "dtype": "float32", "training_size": [360, 480]}
    assert preset.get_config() == expected
    assert {layer.compute_dtype for layer in preset.layers} == {"float32"}
    for ours, theirs in zip(preset.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    metadata = json.loads((out / "tiny" / "model.json").read_text())
    assert (metadata["input_scale"], metadata["logit_offsets"]) == (0.5, [0.25, 0.0, -0.25])
    assert metadata["model_config"] == preset.get_config()
    assert metadata["train_config"]["model"] == "segnet_basic"
    assert metadata["classes"]["names"] == ["a", "b", "c"]
    assert metadata["training_size"] == [360, 480]
    # The folder is a preset: SegNet.from_preset loads exactly the same model.
    loaded = SegNet.from_preset(out / "tiny")
    assert loaded.get_config() == preset.get_config()


def test_preset_records_the_run_folders_training_adjustment_scores_and_robustness(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    TrainConfig(
        model="segnet_basic", width=1 / 16, data="synthetic", train_on_validation=True
    ).save(run_dir / "config.json")
    (run_dir / "classes.json").write_text(
        json.dumps({"names": ["a", "b", "c"], "colors": [[0, 0, 0], [1, 1, 1], [2, 2, 2]]})
    )
    SegNet(3, depth="basic", width=1 / 16, name="segnet_basic").save(run_dir / "best.keras")
    (run_dir / "metrics.json").write_text(
        json.dumps({"epochs_completed": 7, "best_epoch": 7, "mean_iou": 0.61})
    )
    # Two training calls (a run resumed once), as the recipe scripts log them.
    (run_dir / "train_time.tsv").write_text(
        "2026-12-06T01:00:00Z\tCPU X (avx2, 2 cores)\t0\t4\t100\n"
        "2026-12-06T02:00:00Z\tCPU X (avx2, 2 cores)\t4\t7\t80\n"
    )
    sweep = [{"tau": 0.0, "mean_iou": 0.5}, {"tau": 0.5, "mean_iou": 0.6}]
    (run_dir / "logit_adjustment.json").write_text(
        json.dumps({"chosen_tau": 0.5, "split": "x", "sweep": sweep})
    )
    scores = {"global_accuracy": 0.9, "class_average_accuracy": 0.7, "mean_iou": 0.6}
    per_class = {"name": ["a", "b", "c"], "iou": [0.5, 0.6, 0.7]}
    for folder, bf in (("eval", 0.5), ("eval-unadjusted", 0.4)):
        (run_dir / folder).mkdir()
        (run_dir / folder / "metrics.json").write_text(
            json.dumps({**scores, "boundary_f1": bf, "per_class": per_class})
        )
    (tmp_path / "robustness.json").write_text(json.dumps({"mean_share": 0.93}))

    out = tmp_path / "presets"
    args = [str(run_dir), "--name", "tiny", "--output-dir", str(out)]
    args += ["--eval-dir", str(run_dir / "eval")]
    args += ["--unadjusted-eval-dir", str(run_dir / "eval-unadjusted")]
    args += ["--robustness", str(tmp_path / "robustness.json")]
    with pytest.raises(SystemExit, match="no such file"):
        _make_preset()([*args, "--domain-detector", str(tmp_path / "missing.domain.npz")])
    (tmp_path / "fitted.domain.npz").write_bytes(b"a detector")
    assert _make_preset()([*args, "--domain-detector", str(tmp_path / "fitted.domain.npz")]) == 0
    metadata = json.loads((out / "tiny" / "model.json").read_text())
    training = metadata["training"]
    assert training["splits"] == ["train", "validation"]
    assert (training["epochs"], training["kept_epoch"], training["seconds"]) == (7, 7, 180)
    assert [call["epochs"] for call in training["calls"]] == [4, 3]
    assert "epoch_times" not in training  # a run from before segnet train timed epochs
    rows = [f"{epoch},{10 + epoch},{'CPU X' if epoch < 5 else 'CPU Y'}" for epoch in range(7)]
    (run_dir / "epoch_times.csv").write_text("epoch,seconds,cpu\n" + "\n".join(rows) + "\n")
    config = TrainConfig.load(run_dir / "config.json")
    training = script_module("make_preset").training_record(run_dir, config)
    assert training["epoch_times"] == [
        {"cpu": "CPU X", "epochs": 5, "seconds": 60.0},
        {"cpu": "CPU Y", "epochs": 2, "seconds": 31.0},
    ]
    assert metadata["logit_adjustment"] == {"tau": 0.5, "chosen_on": "x", "taus_swept": [0, 0.5]}
    assert metadata["test_scores"] == {**scores, "boundary_f1": 0.5}
    assert metadata["test_scores_unadjusted"]["boundary_f1"] == 0.4
    assert metadata["test_per_class_iou"] == {"a": 0.5, "b": 0.6, "c": 0.7}
    assert metadata["robustness"] == {"mean_share": 0.93}
    assert metadata["domain_detector"] == "model.domain.npz"
    assert (out / "tiny" / "model.domain.npz").read_bytes() == b"a detector"


def test_a_single_tau_given_is_recorded_as_not_chosen_on_any_split():
    record = script_module("make_preset").logit_adjustment_record(
        {"chosen_tau": 0.25, "split": "validation", "sweep": [{"tau": 0.25, "mean_iou": 0.5}]}
    )
    assert record == {"tau": 0.25, "chosen_on": None, "taus_swept": [0.25]}


def test_a_fine_tune_records_the_run_it_started_from(tmp_path):
    classes = {"names": ["a", "b", "c"], "colors": [[0, 0, 0], [1, 1, 1], [2, 2, 2]]}
    runs = {}
    for name, init_from in (("first", None), ("second", "first/model.keras")):
        run_dir = runs[name] = tmp_path / name
        run_dir.mkdir()
        source = None if init_from is None else str(tmp_path / init_from)
        TrainConfig(
            model="segnet_basic", width=1 / 16, data="synthetic", epochs=4, init_from=source
        ).save(run_dir / "config.json")
        (run_dir / "classes.json").write_text(json.dumps(classes))
        SegNet(3, depth="basic", width=1 / 16, name="segnet_basic").save(run_dir / "model.keras")
        (run_dir / "metrics.json").write_text(json.dumps({"epochs_completed": 4}))
        seconds = {"first": 400, "second": 100}[name]
        (run_dir / "train_time.tsv").write_text(f"2026-12-06T01:00:00Z\tCPU X\t0\t4\t{seconds}\n")

    out = tmp_path / "presets"
    args = [str(runs["second"]), "--name", "tuned", "--checkpoint", "model.keras"]
    assert _make_preset()([*args, "--output-dir", str(out)]) == 0
    training = json.loads((out / "tuned" / "model.json").read_text())["training"]
    assert training["seconds"] == 100
    earlier = training["fine_tuned_from"]
    assert (earlier["checkpoint"], earlier["epochs"], earlier["seconds"]) == ("model.keras", 4, 400)
    assert "fine_tuned_from" not in earlier  # the first stage trained from scratch


def test_a_run_started_from_its_own_checkpoint_records_no_earlier_stage(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = TrainConfig(model="segnet_basic", data="synthetic", init_from=str(run_dir / "a.keras"))
    config.save(run_dir / "config.json")
    assert "fine_tuned_from" not in script_module("make_preset").training_record(run_dir, config)
