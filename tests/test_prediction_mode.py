"""PredictionMode: one plain pass, test-time augmentation or Monte-Carlo dropout, parsed
once; the same probabilities as the paths it replaced; Segmenter, evaluate, videos and
the commands building it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import segnet_tf
from segnet_tf.commands.model_data import check_prediction_mode
from segnet_tf.config_fields import ConfigError
from segnet_tf.image_decoding import decode_image
from segnet_tf.inference import PredictionMode, Segmenter
from segnet_tf.inference import segmenter as segmenter_module
from segnet_tf.inference.prediction_mode import PLAIN
from segnet_tf.inference.tta import TestTimeAugmentation, tta_probabilities
from segnet_tf.models import mc_predict


def _images(shape=(2, 20, 28, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=shape).astype(np.float32)


def _bayesian(seed=0):
    # The same seed gives the same weights and the same dropout seeds.
    keras.utils.set_random_seed(seed)
    return segnet_tf.get_model("bayesian_segnet_basic", 3, width=1 / 16)


@pytest.mark.parametrize(
    "kwargs, tta, mc_samples, text",
    [
        ({}, "none", None, "one pass"),
        ({"mc_samples": 0}, "none", None, "one pass"),  # evaluate's "none"
        ({"tta": "none"}, "none", None, "one pass"),
        ({"tta": "flip"}, "flip", None, "test-time augmentation flip (2 passes)"),
        ({"flip": True}, "flip", None, "test-time augmentation flip (2 passes)"),
        (
            {"tta": "scales:0.75,1", "flip": True},
            "flip+scales:0.75,1",
            None,
            "test-time augmentation flip+scales:0.75,1 (4 passes)",
        ),
        ({"mc_samples": 8}, "none", 8, "Monte-Carlo dropout (8 samples)"),
        ({"mc_samples": 8, "tta": "none"}, "none", 8, "Monte-Carlo dropout (8 samples)"),
    ],
)
def test_parse_reads_the_settings_once(kwargs, tta, mc_samples, text):
    mode = PredictionMode.parse(**kwargs)
    assert str(mode.tta) == tta and mode.mc_samples == mc_samples and str(mode) == text
    assert mode.is_monte_carlo == (mc_samples is not None)
    assert mode.passes == (mc_samples or TestTimeAugmentation.parse(tta).passes)
    # Frozen and hashable: Segmenter keeps one compiled predictor per mode.
    assert (
        PredictionMode.parse(**kwargs) == mode and len({mode, PredictionMode.parse(**kwargs)}) == 1
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mc_samples": 2, "tta": "flip"},
        {"mc_samples": 2, "flip": True},
        {"mc_samples": 2, "tta": TestTimeAugmentation(scales=(0.5, 1.0))},
    ],
)
def test_monte_carlo_and_test_time_augmentation_are_one_clear_error(kwargs):
    with pytest.raises(ValueError, match=r"mc_samples=2\) or test-time augmentation.*not both"):
        PredictionMode.parse(**kwargs)


@pytest.mark.parametrize("samples", [0, -1, True, 2.0, "4"])
def test_bad_sample_counts_are_refused(samples):
    with pytest.raises(ValueError, match="`mc_samples` must be an int >= 1"):
        PredictionMode(mc_samples=samples)
    with pytest.raises(ValueError, match="holds a non-number"):
        PredictionMode.parse(tta="scales:x")


def test_monte_carlo_needs_a_model_with_monte_carlo_dropout(tiny_model_path):
    model = keras.models.load_model(tiny_model_path, compile=False)
    mode = PredictionMode(mc_samples=3)
    with pytest.raises(ValueError, match=f"mc_samples=3 needs a Bayesian.*{model.name!r} has none"):
        mode.check_model(model)
    with pytest.raises(ValueError, match="Bayesian"):
        mode.predictor(model)
    PLAIN.check_model(model)  # the other modes take any model
    mode.check_model(_bayesian())
    with pytest.raises(ValueError, match="no graph form"):
        mode.graph_probabilities(model, tf.zeros((1, 8, 8, 3)))


@pytest.mark.parametrize("tta", ["none", "flip", "flip+scales:0.75,1.25"])
def test_plain_and_augmented_probabilities_are_those_of_the_old_compiled_path(tiny_model_path, tta):
    model = keras.models.load_model(tiny_model_path, compile=False)
    images = _images()

    # What Segmenter and evaluate_model compiled before (one graph per setting).
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def old(batch):
        return tta_probabilities(model, batch, tta)

    expected = old(tf.constant(images)).numpy()
    result = PredictionMode.parse(tta=tta).probabilities(model, images)
    np.testing.assert_array_equal(result.probabilities, expected)
    assert result.variance is None and result.entropy is None
    # uint8 batches are cast the same way.
    as_uint8 = images.astype(np.uint8)
    np.testing.assert_array_equal(
        PredictionMode.parse(tta=tta).probabilities(model, as_uint8).probabilities,
        old(tf.cast(as_uint8, tf.float32)).numpy(),
    )


def test_monte_carlo_probabilities_are_those_of_mc_predict():
    images = _images((1, 16, 24, 3), seed=3)
    expected = mc_predict(_bayesian(), images, 4)
    result = PredictionMode(mc_samples=4).probabilities(_bayesian(), images)
    np.testing.assert_array_equal(result.probabilities, expected.probabilities)
    np.testing.assert_array_equal(result.variance, expected.variance)
    np.testing.assert_array_equal(result.entropy, expected.entropy)
    assert float(result.variance.max()) > 0  # dropout did vary the samples


def test_segmenter_takes_a_mode_and_resolves_its_default_augmentation(tiny_model_path):
    segmenter = Segmenter.from_file(tiny_model_path, tta="flip")
    assert segmenter.prediction_mode() == PredictionMode.parse(tta="flip")
    assert segmenter.prediction_mode(tta="none") == PLAIN
    rgb = _images((1, 24, 32, 3))[0].astype(np.uint8)
    by_mode = segmenter.predict(rgb, mode=PredictionMode.parse(tta="flip"))
    by_default = segmenter.predict(rgb)
    np.testing.assert_array_equal(by_mode.probabilities, by_default.probabilities)
    with pytest.raises(ValueError, match="either `mode` or `mc_samples`/`tta`"):
        segmenter.predict(rgb, mode=PLAIN, tta="flip")
    with pytest.raises(ValueError, match="`mode` must be a PredictionMode"):
        segmenter.predict(rgb, mode="flip")
    with pytest.raises(ValueError, match="Bayesian"):
        segmenter.predict(rgb, mode=PredictionMode(mc_samples=2))
    with pytest.raises(ValueError, match="Bayesian"):
        segmenter.prediction_mode(mc_samples=2, tta="none")


def test_segmenter_builds_one_predictor_per_mode(tiny_model_path, monkeypatch):
    built = []
    original = PredictionMode.predictor
    monkeypatch.setattr(
        PredictionMode, "predictor", lambda self, model: built.append(self) or original(self, model)
    )
    segmenter = Segmenter.from_file(tiny_model_path)
    rgb = _images((1, 16, 16, 3))[0].astype(np.uint8)
    for _ in range(2):
        segmenter.predict(rgb, probabilities=False)
        segmenter.predict(rgb, tta="flip", probabilities=False)
    assert built == [PLAIN, PredictionMode.parse(tta="flip")]


def test_segmenter_uses_a_decoded_uint8_image_as_it_is(tiny_model_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        segmenter_module, "decode_image", lambda *a, **k: calls.append(a) or decode_image(*a, **k)
    )
    segmenter = Segmenter.from_file(tiny_model_path)
    rgb = _images((1, 20, 30, 3))[0].astype(np.uint8)
    as_is = segmenter.predict(rgb)
    assert calls == []  # not decoded again
    np.testing.assert_array_equal(
        as_is.probabilities, segmenter.predict(decode_image(rgb.astype(np.float32))).probabilities
    )
    segmenter.predict(rgb.astype(np.float32))  # other arrays still go through the decoder
    assert len(calls) == 1
    # A strided view is used without decoding too, and still checked for size.
    np.testing.assert_array_equal(
        segmenter.predict(rgb[:, ::-1]).mask, segmenter.predict(rgb[:, ::-1].copy()).mask
    )
    with pytest.raises(ValueError, match="8"):
        segmenter.predict(rgb[:4])
    assert len(calls) == 1


def test_evaluate_model_takes_the_mode_and_scores_as_before():
    from segnet_tf.training.evaluate import evaluate_model

    images = tf.constant(_images((2, 16, 24, 3), seed=5))
    masks = tf.constant(np.random.default_rng(6).integers(0, 3, (2, 16, 24)), tf.int32)
    dataset = [(images, masks)]

    def run(**kwargs):
        return evaluate_model(_bayesian(), dataset, 3, boundary=False, verbose=0, **kwargs)

    by_settings = run(mc_samples=2)
    by_mode = run(mode=PredictionMode(mc_samples=2))
    assert by_mode["confusion_matrix"] == by_settings["confusion_matrix"]
    assert (by_mode["mc_samples"], by_mode["tta"]) == (2, "none")
    flip = run(flip=True)
    assert (
        run(mode=PredictionMode.parse(tta="flip"))["confusion_matrix"] == flip["confusion_matrix"]
    )
    assert (flip["mc_samples"], flip["flip"], flip["tta"]) == (0, True, "flip")
    with pytest.raises(ValueError, match="not both"):
        run(mc_samples=2, flip=True)
    with pytest.raises(ValueError, match="either `mode`"):
        run(mode=PLAIN, tta="flip")


def test_segment_video_checks_the_mode_once_before_reading(tiny_model_path, tmp_path):
    from segnet_tf.inference.video import segment_video

    segmenter = Segmenter.from_file(tiny_model_path)
    # Refused before the (missing) video is opened, not at its first frame.
    with pytest.raises(ValueError, match="Bayesian"):
        segment_video(segmenter, tmp_path / "missing.mp4", None, masks_dir=tmp_path, mc_samples=2)
    with pytest.raises(ValueError, match="either `mode` or `mc_samples`"):
        segment_video(
            segmenter, tmp_path / "missing.mp4", None, masks_dir=tmp_path, mc_samples=2, mode=PLAIN
        )


@pytest.mark.parametrize(
    "mc_samples, tta, flip, field",
    [(2, "flip", False, "tta"), (2, None, True, "flip"), (2, "flip", True, "flip")],
)
def test_commands_name_the_field_of_the_conflict(mc_samples, tta, flip, field):
    with pytest.raises(ConfigError, match="not both") as caught:
        check_prediction_mode(mc_samples, tta, flip)
    assert caught.value.field == field
    for fine in ((None, "flip", False), (0, "flip", True), (3, "none", False), (3, None, False)):
        check_prediction_mode(*fine)
