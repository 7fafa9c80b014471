"""Segmenter: any size, any image mode, tiling, downscaling, Monte-Carlo, loading."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import segnet_tf
from segnet_tf.classes import CAMVID_CLASSES, ClassList
from segnet_tf.inference import Segmenter, list_presets, load_rgb
from segnet_tf.inference.tiling import resize_bilinear_rows, tile_starts


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return segnet_tf.get_model("segnet_basic", 11, width=1 / 16)


def pixelwise_model(num_classes=4):
    """A 1x1-convolution model: each pixel's output depends on that pixel only, so
    tiled and downscaled predictions have exact expected values."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 64.0, offset=-2.0)(inputs)
    outputs = keras.layers.Conv2D(num_classes, 1)(x)
    return keras.Model(inputs, outputs)


def keras_probabilities(model, rgb):
    return keras.ops.convert_to_numpy(
        keras.ops.softmax(model(rgb[None].astype("float32")), axis=-1)
    )[0]


@pytest.mark.parametrize("size", [(45, 61), (360, 480)])
def test_predict_any_size_matches_keras(tiny_model, size):
    rgb = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    result = Segmenter(tiny_model).predict(rgb)
    expected = keras_probabilities(tiny_model, rgb)
    assert result.mask.shape == size and result.mask.dtype == np.int32
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(result.mask, result.probabilities.argmax(-1))
    assert result.classes == CAMVID_CLASSES and result.network_size == size
    assert result.variance is None and result.entropy is None
    np.testing.assert_array_equal(result.confidence, result.probabilities.max(-1))


def _modes(rng):
    """(PIL image, the RGB uint8 array the model must see) for every common mode."""
    rgb = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (23, 31), dtype=np.uint8)
    deep = rng.integers(0, 65536, (23, 31), dtype=np.uint16)
    palette_image = Image.fromarray(rgb).quantize(16)
    rgba = np.concatenate([rgb, rng.integers(0, 256, (23, 31, 1), dtype=np.uint8)], axis=-1)
    return {
        "RGB": (Image.fromarray(rgb), rgb),
        "RGBA": (Image.fromarray(rgba), rgb),
        "L": (Image.fromarray(gray), np.repeat(gray[..., None], 3, -1)),
        "P": (palette_image, np.asarray(palette_image.convert("RGB"))),
        "I;16": (Image.fromarray(deep), np.repeat((deep >> 8).astype(np.uint8)[..., None], 3, -1)),
        "CMYK": (
            Image.fromarray(rgb).convert("CMYK"),
            np.asarray(Image.fromarray(rgb).convert("CMYK").convert("RGB")),
        ),
    }


MODES = ["RGB", "RGBA", "L", "P", "I;16", "CMYK"]
# Palette and CMYK images have no array form: numpy gives indices / CMYK values.
CASES = [
    (m, s)
    for s in ("pil", "file", "array")
    for m in MODES
    if (m, s) not in (("P", "array"), ("CMYK", "array"))
]


@pytest.mark.parametrize("mode, source", CASES)
def test_predict_every_image_mode(tiny_model, tmp_path, mode, source):
    image, expected_rgb = _modes(np.random.default_rng(3))[mode]
    assert image.mode == mode
    if source == "file":
        suffix = ".jpg" if mode == "CMYK" else ".png"
        path = tmp_path / f"image{suffix}"
        image.save(path)
        image = str(path)
        if mode == "CMYK":  # JPEG is lossy: compare with what the file decodes to
            expected_rgb = np.asarray(Image.open(path).convert("RGB"))
    elif source == "array":
        image = np.asarray(image)
    np.testing.assert_array_equal(load_rgb(image), expected_rgb)
    result = Segmenter(tiny_model).predict(image)
    assert result.mask.shape == (23, 31)
    np.testing.assert_allclose(
        result.probabilities, keras_probabilities(tiny_model, expected_rgb), atol=1e-5
    )


def test_array_conversions():
    gray16 = np.full((2, 3, 1), 0x1234, np.uint16)
    assert (load_rgb(gray16) == 0x12).all() and load_rgb(gray16).shape == (2, 3, 3)
    floats = np.full((2, 3, 3), 200.4, np.float32)
    assert (load_rgb(floats) == 200).all()
    with pytest.raises(ValueError, match="0..255"):
        load_rgb(np.full((2, 3, 3), 300.0))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 2\)"):
        load_rgb(np.zeros((2, 3, 2), np.uint8))
    with pytest.raises(ValueError, match="list"):
        load_rgb([[1, 2]])


def test_corrupt_file_raises_value_error_naming_it(tiny_model, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match="broken.png"):
        Segmenter(tiny_model).predict(str(path))


def test_tiles_blend_to_the_whole_image_prediction():
    model = pixelwise_model()
    rgb = np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    whole = Segmenter(model).predict(rgb)
    tiled = Segmenter(model, tile_size=32, tile_overlap=6).predict(rgb)
    np.testing.assert_allclose(tiled.probabilities, whole.probabilities, atol=1e-6)
    np.testing.assert_array_equal(tiled.mask, whole.mask)


def test_tile_starts_cover_the_axis_with_overlap():
    starts = tile_starts(100, 32, 6)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert all(b - a <= 32 - 6 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_starts(20, 32, 6) == [0]


def test_large_images_are_downscaled_and_mapped_back():
    model = pixelwise_model()
    rgb = np.random.default_rng(2).integers(0, 256, (101, 203, 3), dtype=np.uint8)
    segmenter = Segmenter(model, max_pixels=2000)
    result = segmenter.predict(rgb)
    net_h, net_w = result.network_size
    assert net_h * net_w <= 2000 and net_h < 101
    assert result.mask.shape == (101, 203) and result.probabilities.shape == (101, 203, 4)
    np.testing.assert_array_equal(result.mask, result.probabilities.argmax(-1))
    np.testing.assert_allclose(result.probabilities.sum(-1), 1.0, atol=1e-5)
    small = segmenter.predict(rgb, probabilities=False)
    assert small.probabilities is None
    np.testing.assert_array_equal(small.mask, result.mask)
    # The confidence is that of the upscaled probabilities, with or without them.
    np.testing.assert_allclose(small.confidence, result.probabilities.max(-1), atol=1e-6)


def test_bilinear_rows_equal_tf_image_resize():
    array = np.random.default_rng(4).random((7, 9, 3)).astype(np.float32)
    expected = tf.image.resize(array, (23, 31), method="bilinear").numpy()
    bands = [resize_bilinear_rows(array, (23, 31), s, min(s + 5, 23)) for s in range(0, 23, 5)]
    np.testing.assert_allclose(np.concatenate(bands), expected, atol=1e-5)


def test_mc_samples_give_uncertainty_for_bayesian_models_only(tiny_model):
    keras.utils.set_random_seed(0)
    bayesian = segnet_tf.get_model("bayesian_segnet_basic", 5, width=1 / 16)
    rgb = np.random.default_rng(5).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    result = Segmenter(bayesian).predict(rgb, mc_samples=3)
    assert result.variance.shape == (20, 30) and result.entropy.shape == (20, 30)
    assert (result.variance > 0).any()
    assert (result.entropy >= 0).all() and (result.entropy <= np.log(5) + 1e-5).all()
    np.testing.assert_allclose(result.probabilities.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="Bayesian"):
        Segmenter(tiny_model).predict(rgb, mc_samples=3)


def test_default_and_explicit_classes(tiny_model):
    model5 = segnet_tf.get_model("segnet_basic", 5, width=1 / 16)
    classes = Segmenter(model5).classes
    assert classes.names == tuple(f"class {i}" for i in range(5))
    assert len(set(classes.colors)) == 5
    other = ClassList(("a", "b"), ((0, 0, 0), (1, 1, 1)))
    with pytest.raises(ValueError, match="predicts 11"):
        Segmenter(tiny_model, classes=other)


def test_from_file_reads_sidecar_classes(tiny_model, tmp_path):
    path = tmp_path / "camvid_model.keras"
    tiny_model.save(path)
    names = tuple(f"n{i}" for i in range(11))
    colors = tuple((i, 2 * i, 3 * i) for i in range(11))
    custom = ClassList(names, colors)
    (tmp_path / "classes.json").write_text(custom.to_json())
    segmenter = Segmenter.from_file(path)
    assert segmenter.classes == custom
    # <stem>.json wins over classes.json and may wrap the list in "classes".
    (tmp_path / "camvid_model.json").write_text(json.dumps({"classes": CAMVID_CLASSES.to_dict()}))
    assert Segmenter.from_file(path).classes == CAMVID_CLASSES
    rgb = np.random.default_rng(6).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        segmenter.predict(rgb).probabilities, keras_probabilities(tiny_model, rgb), atol=1e-5
    )
    with pytest.raises(ValueError, match="no such model file"):
        Segmenter.from_file(tmp_path / "missing.keras")


def test_from_preset(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="Available presets: none"):
        Segmenter.from_preset("camvid", presets_dir=tmp_path)
    tiny_model.save_to_preset(tmp_path / "camvid")
    assert list(list_presets(tmp_path)) == ["camvid"]
    assert Segmenter.from_preset("camvid", presets_dir=tmp_path).num_classes == 11
    with pytest.raises(ValueError, match="Unknown preset 'nope'.*Available presets: camvid"):
        Segmenter.from_preset("nope", presets_dir=tmp_path)
