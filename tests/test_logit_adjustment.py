"""Post-hoc logit adjustment: offsets, the layer, the validation sweep, `segnet adjust`."""

import json

import keras
import numpy as np
import pytest

from segnet_tf.data import class_frequencies
from segnet_tf.layers import ClassLogitOffset
from segnet_tf.metrics.confusion import confusion_matrix, scores_from_confusion
from segnet_tf.models import class_prior_offsets, with_logit_adjustment
from segnet_tf.training.logit_adjustment import best_logit_adjustment, sweep_logit_adjustment


def test_offsets_remove_the_prior_in_proportion_to_tau():
    freq = np.array([700.0, 200.0, 100.0])
    np.testing.assert_allclose(class_prior_offsets(freq, 0.0), 0.0)
    offsets = class_prior_offsets(freq, 1.0)
    # Differences between classes are what changes an argmax: log prior ratios.
    np.testing.assert_allclose(offsets[2] - offsets[0], np.log(7.0))
    np.testing.assert_allclose(class_prior_offsets(freq, 0.5), offsets / 2)
    assert abs(offsets.mean()) < 1e-12


def test_an_unseen_class_gets_the_offset_of_the_rarest_seen_class():
    offsets = class_prior_offsets([50, 10, 0], 1.0)
    assert np.isfinite(offsets).all()
    assert offsets[2] == pytest.approx(offsets[1])


@pytest.mark.parametrize(
    "freq, tau, message",
    [
        ([1, 2], -0.5, "tau"),
        ([1, -2], 1.0, "non-negative"),
        ([0, 0], 1.0, "all zero"),
        ([3], 1, "1-D"),
    ],
)
def test_bad_offset_arguments_are_explained(freq, tau, message):
    with pytest.raises(ValueError, match=message):
        class_prior_offsets(freq, tau)


def test_layer_checks_the_class_count():
    layer = ClassLogitOffset([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="3 offsets but its input has 4 classes"):
        layer(np.zeros((1, 2, 2, 4), np.float32))


def _ramp_model():
    """Two classes; class 1's logit grows with the red channel (0 at red = 128)."""
    images = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(2, 1, name="classifier")
    logits = conv(images)
    conv.set_weights([np.array([[[[0, 1 / 64], [0, 0], [0, 0]]]], np.float32),
                      np.array([0, -2], np.float32)])  # fmt: skip
    return keras.Model(images, logits, name="ramp")


def test_adjusted_model_adds_offsets_and_survives_saving(tmp_path):
    model = _ramp_model()
    images = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    adjusted = with_logit_adjustment(model, [0.5, -0.5])
    np.testing.assert_allclose(
        adjusted.predict(images, verbose=0), model.predict(images, verbose=0) + [0.5, -0.5],
        rtol=1e-6, atol=1e-6,
    )  # fmt: skip
    # Adjusting again replaces the offsets instead of stacking them.
    readjusted = with_logit_adjustment(adjusted, [1.0, 0.0])
    np.testing.assert_allclose(
        readjusted.predict(images, verbose=0), model.predict(images, verbose=0) + [1.0, 0.0],
        rtol=1e-6, atol=1e-6,
    )  # fmt: skip
    path = tmp_path / "adjusted.keras"
    adjusted.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), adjusted.predict(images, verbose=0)
    )


def test_sweep_scores_each_tau_like_an_independent_evaluation():
    model = _ramp_model()
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (3, 6, 8, 3)).astype(np.float32)
    masks = (images[..., 0] > 150).astype(np.int32)
    masks[0, 0, :3] = 2  # void
    freq = np.array([0.9, 0.1])
    taus = [0.0, 0.5, 1.0]
    dataset = [(images[i : i + 1], masks[i : i + 1]) for i in range(3)]
    results = sweep_logit_adjustment(model, dataset, freq, 2, ignore_class=2, taus=taus, verbose=0)
    assert [r["tau"] for r in results] == taus
    logits = model.predict(images, verbose=0)
    for r, tau in zip(results, taus, strict=True):
        predicted = np.argmax(logits + class_prior_offsets(freq, tau), axis=-1)
        expected = scores_from_confusion(confusion_matrix(masks, predicted, 2, ignore_class=2))
        assert r["mean_iou"] == pytest.approx(expected["mean_iou"])
        assert r["class_average_accuracy"] == pytest.approx(expected["class_average_accuracy"])
    # A stronger adjustment favours the rare class 1: more pixels predicted as 1.
    counts = [np.sum(np.argmax(logits + class_prior_offsets(freq, t), -1)) for t in taus]
    assert counts[0] < counts[2]


def test_best_entry_maximises_the_metric_and_prefers_small_tau_on_ties():
    results = [
        {"tau": 0.0, "mean_iou": 0.4, "class_average_accuracy": 0.5},
        {"tau": 0.5, "mean_iou": 0.45, "class_average_accuracy": 0.6},
        {"tau": 1.0, "mean_iou": 0.45, "class_average_accuracy": 0.7},
    ]
    assert best_logit_adjustment(results)["tau"] == 0.5
    assert best_logit_adjustment(results, "class_average_accuracy")["tau"] == 1.0
    with pytest.raises(ValueError, match="metric"):
        best_logit_adjustment(results, "loss")


def test_class_frequencies_reject_ids_beyond_void():
    import tensorflow as tf

    masks = np.array([[[0, 1, 1, 3]], [[1, 1, 1, 5]]], np.int32)
    with pytest.raises(ValueError, match="outside 0..2"):
        class_frequencies(tf.data.Dataset.from_tensor_slices(
            {"segmentation_mask": masks[..., None]}), 3, 3)  # fmt: skip
    freq = class_frequencies(
        tf.data.Dataset.from_tensor_slices({"segmentation_mask": masks[:1, ..., None]}), 3, 3
    )
    np.testing.assert_allclose(freq, [1 / 3, 2 / 3, 0])


def test_cli_adjust_writes_a_model_and_the_sweep(tmp_path, capsys):
    from segnet_tf.cli import main

    run_dir = tmp_path / "run"
    tiny = [
        "--data", "synthetic", "--synthetic-images", "8", "--image-size", "32", "32",
        "--model", "segnet_basic", "--width", "0.0625", "--batch-size", "4",
        "--steps-per-epoch", "2", "--epochs", "1", "--class-weighting", "none",
    ]  # fmt: skip
    assert main(["train", *tiny, "--run-dir", str(run_dir)]) == 0
    model = str(run_dir / "best.keras")
    assert main(["adjust", model, "--taus", "0", "1"]) == 0
    sweep = json.loads((run_dir / "logit_adjustment.json").read_text())
    assert [r["tau"] for r in sweep["sweep"]] == [0.0, 1.0]
    assert sweep["chosen_tau"] in (0.0, 1.0) and len(sweep["training_class_frequencies"]) == 6
    adjusted = keras.models.load_model(run_dir / "best_adjusted.keras")
    assert adjusted.layers[-1].name == "logit_adjustment"
    # A second run refuses to overwrite; test data is refused outright.
    capsys.readouterr()
    assert main(["adjust", model]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["adjust", model, "--split", "test", "--overwrite"]) == 2
    assert "never on test" in capsys.readouterr().err
