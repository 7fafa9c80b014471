"""Test-time augmentation: its settings, the averaged softmax, and its use by
Segmenter, segnet evaluate / predict / export."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from segnet_tf.inference import Segmenter
from segnet_tf.inference.tta import TestTimeAugmentation, tta_probabilities


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _pointwise_model(classes=3):
    """Per-pixel logits: exactly flip-equivariant, and scale-equivariant on flat images."""
    inputs = keras.Input((None, None, 3))
    keras.utils.set_random_seed(1)
    return keras.Model(inputs, keras.layers.Conv2D(classes, 1)(inputs / 255.0))


def _asymmetric_model(classes=3):
    """A 3x3 convolution with random (not mirror-symmetric) weights."""
    inputs = keras.Input((None, None, 3))
    keras.utils.set_random_seed(2)
    return keras.Model(inputs, keras.layers.Conv2D(classes, 3, padding="same")(inputs / 64.0))


def _images(shape=(2, 7, 9, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=shape).astype(np.float32)


@pytest.mark.parametrize(
    "spec, flip, scales, text",
    [
        (None, False, (1.0,), "none"),
        ("", False, (1.0,), "none"),
        ("none", False, (1.0,), "none"),
        ("flip", True, (1.0,), "flip"),
        ("Flip + scales:0.75, 1, 1.25", True, (0.75, 1.0, 1.25), "flip+scales:0.75,1,1.25"),
        ("scales:1,1.5", False, (1.0, 1.5), "scales:1,1.5"),
    ],
)
def test_parse_and_text_form_round_trip(spec, flip, scales, text):
    tta = TestTimeAugmentation.parse(spec)
    assert (tta.flip, tta.scales, str(tta)) == (flip, scales, text)
    assert TestTimeAugmentation.parse(str(tta)) == tta
    assert tta.passes == len(scales) * (2 if flip else 1)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("mirror", "'mirror' is invalid; expected 'none', 'flip', 'scales:S1,S2,...'"),
        ("flip+flip", "is invalid; expected"),
        ("scales:1,big", "holds a non-number"),
        ("scales:0", r"scale 0.0 is invalid; expected a number in \[0.125, 4\]"),
        ("scales:1,1", "repeat a value"),
        ("scales:", "holds a non-number"),
    ],
)
def test_bad_settings_are_clear_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        TestTimeAugmentation.parse(spec)


def test_identity_settings_equal_one_plain_pass():
    model, images = _asymmetric_model(), _images()
    plain = _softmax(np.asarray(model(images), np.float64))
    for spec in (None, "none", "scales:1"):
        np.testing.assert_allclose(tta_probabilities(model, images, spec), plain, atol=1e-6)


def test_flip_averages_the_mirrored_prediction_mirrored_back():
    model, images = _asymmetric_model(), _images()
    direct = _softmax(np.asarray(model(images), np.float64))
    mirrored = _softmax(np.asarray(model(images[:, :, ::-1]), np.float64))[:, :, ::-1]
    got = tta_probabilities(model, images, "flip").numpy()
    np.testing.assert_allclose(got, (direct + mirrored) / 2, atol=1e-6)
    assert np.abs(direct - mirrored).max() > 1e-3  # the model is not mirror-symmetric
    # The result is mirror-equivariant even though the model is not.
    of_mirror = tta_probabilities(model, images[:, :, ::-1], "flip").numpy()
    np.testing.assert_allclose(of_mirror, got[:, :, ::-1], atol=1e-6)


def test_an_equivariant_model_is_unchanged_by_flip_and_by_scales_of_a_flat_image():
    model = _pointwise_model()
    images = _images()
    plain = tta_probabilities(model, images).numpy()
    np.testing.assert_allclose(tta_probabilities(model, images, "flip"), plain, atol=1e-6)
    # A flat image stays flat at every scale, so per-pixel logits do not change.
    flat = np.broadcast_to(images[:, :1, :1], images.shape).copy()
    plain = tta_probabilities(model, flat).numpy()
    np.testing.assert_allclose(
        tta_probabilities(model, flat, "flip+scales:0.5,1,1.3"), plain, atol=1e-6
    )


def test_scales_return_the_input_size_for_a_segnet():
    import segnet_tf

    model = segnet_tf.get_model("segnet_basic", 4, width=1 / 16)
    images = _images((1, 33, 45, 3))
    probabilities = tta_probabilities(model, images, "flip+scales:0.5,0.8,1.3").numpy()
    assert probabilities.shape == (1, 33, 45, 4)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    # The rescaled passes do change the result (they are averaged in).
    assert np.abs(probabilities - tta_probabilities(model, images).numpy()).max() > 1e-4


def test_segmenter_tta_default_and_per_call(tiny_model_path):
    segmenter = Segmenter.from_file(tiny_model_path, tta="flip+scales:0.75,1")
    rgb = _images((1, 24, 32, 3))[0].astype(np.uint8)
    expected = tta_probabilities(segmenter.model, rgb[None], "flip+scales:0.75,1").numpy()[0]
    np.testing.assert_allclose(segmenter.predict(rgb).probabilities, expected, atol=1e-5)
    plain = tta_probabilities(segmenter.model, rgb[None]).numpy()[0]
    np.testing.assert_allclose(segmenter.predict(rgb, tta="none").probabilities, plain, atol=1e-5)
    assert str(segmenter.tta) == "flip+scales:0.75,1"
    with pytest.raises(ValueError, match="holds a non-number"):
        Segmenter.from_file(tiny_model_path, tta="scales:x")


def test_segmenter_refuses_monte_carlo_with_tta():
    import segnet_tf

    bayes = segnet_tf.get_model("bayesian_segnet_basic", 3, width=1 / 16)
    segmenter = Segmenter(bayes)
    with pytest.raises(ValueError, match="not both"):
        segmenter.predict(np.zeros((16, 16, 3), np.uint8), mc_samples=2, tta="flip")


def test_saved_model_tta_signature_matches_python(tmp_path, tiny_model_path):
    from segnet_tf.export import export_saved_model

    model = keras.models.load_model(tiny_model_path, compile=False)
    path = export_saved_model(model, tmp_path, name="m", tta="flip+scales:0.75,1.25")
    loaded = tf.saved_model.load(str(path))
    assert "serve_images_tta" in loaded.signatures
    images = _images((2, 20, 28, 3)).astype(np.uint8)
    out = loaded.signatures["serve_images_tta"](images=tf.constant(images))
    expected = tta_probabilities(model, images, "flip+scales:0.75,1.25").numpy()
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(out["class_ids"].numpy(), expected.argmax(-1))
    # The default signature stays one plain pass.
    plain = loaded.signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(
        plain["probabilities"].numpy(), tta_probabilities(model, images).numpy(), atol=1e-5
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be uint8"):
        loaded.signatures["serve_images_tta"](images=tf.constant(images[0]))
    # Without tta there is no such signature.
    other = export_saved_model(model, tmp_path, name="plain")
    assert "serve_images_tta" not in tf.saved_model.load(str(other)).signatures


def test_cli_export_tta_flag(tmp_path, tiny_model_path, capsys):
    from segnet_tf.cli import main

    out = tmp_path / "out"
    args = ["export", str(tiny_model_path), "--format", "saved_model", "--out", str(out)]
    assert main([*args, "--name", "tiny", "--tta", "flip"]) == 0
    assert "serve_images_tta" in tf.saved_model.load(str(out / "tiny" / "1")).signatures
    tflite = ["export", str(tiny_model_path), "--format", "tflite", "--out", str(out)]
    assert main([*tflite, "--tta", "flip"]) == 2
    assert "--tta 'flip' is invalid; expected unset outside the saved_model format" in (
        capsys.readouterr().err
    )
    assert main([*args, "--tta", "none"]) == 2
    assert "expected an augmentation that adds a pass" in capsys.readouterr().err


def test_cli_evaluate_tta_and_flip_alias(tmp_path, capsys):
    import segnet_tf
    from segnet_tf.cli import main

    model = tmp_path / "six.keras"  # the synthetic source has 6 classes
    segnet_tf.get_model("segnet_basic", 6, width=1 / 16).save(model)
    base = [
        "evaluate", str(model), "--data", "synthetic", "--image-size", "32", "32",
        "--limit", "2", "--no-boundary",
    ]  # fmt: skip
    assert main([*base, "--tta", "flip+scales:0.75,1", "--output-dir", str(tmp_path / "a")]) == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    settings = json.loads((tmp_path / "a" / "eval_config.json").read_text())
    assert metrics["tta"] == settings["tta"] == "flip+scales:0.75,1" and metrics["flip"] is True
    assert "test-time augmentation flip+scales:0.75,1 (4 passes): " in capsys.readouterr().out
    assert main([*base, "--flip", "--output-dir", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["tta"] == "flip"
    capsys.readouterr()
    assert main([*base, "--tta", "spin", "--output-dir", str(tmp_path / "c")]) == 2
    assert "--tta 'spin' is invalid; expected none, flip, scales:" in capsys.readouterr().err


def test_cli_predict_tta(tmp_path, tiny_model_path, capsys):
    from PIL import Image

    from segnet_tf.cli import main

    image = tmp_path / "street.png"
    Image.fromarray(_images((1, 24, 32, 3))[0].astype(np.uint8)).save(image)
    out = tmp_path / "out"
    args = ["predict", str(tiny_model_path), str(image), "--out", str(out)]
    assert main([*args, "--tta", "flip"]) == 0
    mask = np.asarray(Image.open(out / "street_mask.png"))
    expected = Segmenter.from_file(tiny_model_path, tta="flip").predict(str(image)).mask
    np.testing.assert_array_equal(mask, expected)
    assert main([*args, "--tta", "x"]) == 2
    assert "--tta 'x' is invalid; expected none, flip, scales:" in capsys.readouterr().err
