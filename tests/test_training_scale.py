"""Photos of any size are segmented at the scale the model learned (segnet_tf.training_scale)."""

import numpy as np
import pytest
import tensorflow as tf

import segnet_tf
from segnet_tf.inference import Segmenter, tiling
from segnet_tf.inference.segmenter import NoTrainingScaleWarning
from segnet_tf.training_scale import (
    check_scale_mode,
    check_training_size,
    resize_images,
    tf_working_size,
    working_size,
)


def test_numpy_and_tensorflow_size_rules_agree():
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (8, 8), (360, 480), (3000, 4000), (4000, 3000), (1080, 1920), (9, 30000)]
    sizes += [tuple(int(v) for v in rng.integers(8, 6000, 2)) for _ in range(300)]
    for training_size in [(360, 480), (512, 512), (96, 128)]:
        for height, width in sizes:
            expected = working_size(height, width, training_size)
            got = tf_working_size(tf.constant(height), tf.constant(width), training_size).numpy()
            assert tuple(got) == expected, (height, width, training_size)


@pytest.mark.parametrize(
    "size", [(3000, 4000), (1440, 1920), (180, 240), (1080, 1920), (4000, 3000)]
)
def test_working_size_has_the_training_area_and_the_image_aspect(size):
    height, width = working_size(*size, (360, 480))
    assert abs(height * width - 360 * 480) / (360 * 480) < 0.01
    assert abs(height / width - size[0] / size[1]) < 0.01
    assert working_size(3000, 4000, (360, 480)) == (360, 480)


def test_bad_settings_are_refused_with_what_is_expected():
    with pytest.raises(ValueError, match="training_size.*two positive ints"):
        check_training_size((360, 0))
    with pytest.raises(ValueError, match="training_size"):
        check_training_size("360x480")
    assert check_training_size([360, 480]) == (360, 480)
    with pytest.raises(ValueError, match="'training', 'native'"):
        check_scale_mode("tiles")


def test_resizing_down_averages_instead_of_aliasing():
    # A one-pixel checkerboard: sampling would keep black or white; averaging gives grey.
    board = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.float32)
    image = np.repeat(board[None, :, :, None], 3, axis=-1)
    small = resize_images(tf.constant(image), tf.constant([8, 8])).numpy()
    assert small.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(small, 127.5, atol=1.0)


def test_resizing_keeps_a_flat_image_flat_both_ways():
    image = np.full((1, 30, 40, 3), 77.0, np.float32)
    for size in ([7, 9], [120, 160]):
        out = resize_images(tf.constant(image), tf.constant(size)).numpy()
        assert out.shape == (1, *size, 3)
        np.testing.assert_allclose(out, 77.0, atol=1e-3)


def test_fast_argmax_upscale_equals_argmax_of_the_full_upscale():
    rng = np.random.default_rng(1)
    # Blocky class regions (real masks are), with noisy probabilities.
    regions = rng.integers(0, 5, (6, 8)).repeat(5, axis=0).repeat(5, axis=1)
    logits = np.eye(5)[regions] * 3 + rng.normal(0, 1, (30, 40, 5))
    probabilities = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    size = (97, 131)
    full = tiling.resize_bilinear_rows(probabilities, size, 0, size[0])
    mask, maxima = tiling.upscale_argmax(probabilities, size, band_rows=13)
    np.testing.assert_array_equal(mask, np.argmax(full, axis=-1))
    np.testing.assert_allclose(maxima, np.max(full, axis=-1), atol=1e-6)


@pytest.fixture(scope="module")
def scaled_model():
    model = segnet_tf.get_model("segnet_basic", 11, width=1 / 16, training_size=(48, 64))
    return model


def test_segmenter_brings_images_to_the_training_area_and_back(scaled_model):
    segmenter = Segmenter(scaled_model)
    image = np.random.default_rng(2).integers(0, 256, (300, 400, 3), np.uint8)
    result = segmenter.predict(image, probabilities=False)
    assert result.scale == "training"
    assert result.network_size == (48, 64) == segmenter.network_size(300, 400)
    assert result.mask.shape == result.confidence.shape == (300, 400)
    # The same as segmenting the resized image and enlarging its probabilities.
    small = segmenter.resized(image, (48, 64))
    probabilities = tf.nn.softmax(scaled_model(small[None])).numpy()[0]
    expected = tiling.resize_bilinear_rows(probabilities, (300, 400), 0, 300)
    assert np.mean(result.mask == np.argmax(expected, axis=-1)) > 0.999
    with_probabilities = segmenter.predict(image)
    # Random weights give near-uniform probabilities: rounding flips a few argmaxes.
    assert np.mean(with_probabilities.mask == result.mask) > 0.999
    assert with_probabilities.probabilities.shape == (300, 400, 11)


def test_small_images_are_enlarged_to_the_training_area(scaled_model):
    result = Segmenter(scaled_model).predict(np.zeros((12, 16, 3), np.uint8))
    assert result.network_size == (48, 64) and result.mask.shape == (12, 16)


def test_native_scale_segments_the_image_as_it_is(scaled_model):
    segmenter = Segmenter(scaled_model, tile_size=128, tile_overlap=16)
    image = np.random.default_rng(3).integers(0, 256, (150, 200, 3), np.uint8)
    result = segmenter.predict(image, scale="native")
    assert result.scale == "native" and result.network_size == (150, 200)
    assert Segmenter(scaled_model, scale="native").predict(image).network_size == (150, 200)


def test_a_model_without_training_size_says_so_and_keeps_native_scale():
    model = segnet_tf.get_model("segnet_basic", 11, width=1 / 16)
    with pytest.warns(NoTrainingScaleWarning, match="records no training frame size"):
        segmenter = Segmenter(model)
    result = segmenter.predict(np.zeros((40, 56, 3), np.uint8))
    assert result.scale == "native" and result.network_size == (40, 56)


def test_training_size_is_kept_by_config_and_keras_file(scaled_model, tmp_path):
    config = scaled_model.get_config()
    assert config["training_size"] == [48, 64]
    assert type(scaled_model).from_config(config).training_size == (48, 64)
    path = tmp_path / "scaled.keras"
    scaled_model.save(path)
    assert Segmenter.from_file(path).training_size == (48, 64)
