"""`segnet train --init-from`: matching layers loaded, the classifier trained anew."""

import keras
import numpy as np
import pytest

from segnet_tf.cli import main
from segnet_tf.models import SegNet
from segnet_tf.training.init_from import init_weights_from, load_source_model

TINY = [
    "--data", "synthetic", "--synthetic-images", "8", "--image-size", "32", "32",
    "--model", "segnet_basic", "--width", "0.0625", "--batch-size", "4",
    "--steps-per-epoch", "1", "--validation-steps", "1", "--epochs", "1",
]  # fmt: skip


def tiny(num_classes, seed, width=1 / 16):
    keras.utils.set_random_seed(seed)
    return SegNet(num_classes, depth="basic", width=width, name="segnet_basic")


def test_matching_layers_are_loaded_and_another_class_count_is_not():
    source, model = tiny(5, seed=1), tiny(3, seed=2)
    fresh_classifier = [w.numpy().copy() for w in model.get_layer("classifier").weights]
    report = init_weights_from(model, source, "source")
    with_weights = [layer.name for layer in model.layers if layer.weights]
    assert set(report.loaded) == set(with_weights) - {"classifier"}
    assert [name for name, _ in report.not_loaded] == ["classifier"]
    assert "shapes differ" in report.not_loaded[0][1]
    for name in report.loaded:
        for ours, theirs in zip(
            model.get_layer(name).weights, source.get_layer(name).weights, strict=True
        ):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # The classifier keeps the initialisation it was built with.
    for ours, fresh in zip(model.get_layer("classifier").weights, fresh_classifier, strict=True):
        np.testing.assert_array_equal(ours.numpy(), fresh)
    summary = report.summary()
    assert f"loaded {len(with_weights) - 1} of {len(with_weights)} layers" in summary
    assert "not loaded: classifier (shapes differ" in summary


def test_another_width_loads_nothing_of_other_shapes():
    report = init_weights_from(tiny(3, 0), tiny(3, 1, width=1 / 8))
    assert report.loaded == ()
    assert all("shapes differ" in reason for _, reason in report.not_loaded)


def test_sources_that_are_not_models_are_clear_errors(tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="not a Keras model file"):
        load_source_model(str(text))
    with pytest.raises(ValueError, match="no such file or preset folder"):
        load_source_model(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="Unknown preset 'no_such_preset'"):
        load_source_model("no_such_preset")
    with pytest.raises(ValueError, match="is not a preset folder"):
        load_source_model(str(tmp_path))


def test_train_init_from_a_preset_reports_the_layers(tmp_path, capsys):
    tiny(5, seed=1).save_to_preset(tmp_path / "five_classes")
    run_dir = tmp_path / "run"
    args = ["train", *TINY, "--init-from", str(tmp_path / "five_classes")]
    assert main([*args, "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"--init-from {tmp_path / 'five_classes'}: loaded" in out
    # The synthetic source has 6 classes, the preset 5: the classifier starts afresh.
    assert "not loaded: classifier (shapes differ" in out
    assert (run_dir / "best.keras").is_file()


def test_train_init_from_a_file_that_is_not_a_model_fails_cleanly(tmp_path, capsys):
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    run_dir = tmp_path / "run"
    assert main(["train", *TINY, "--init-from", str(text), "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "not a Keras model file" in err and "Traceback" not in err
