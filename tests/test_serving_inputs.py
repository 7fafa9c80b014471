"""SavedModel signatures refuse malformed requests with a clear InvalidArgument, and
the loaded model keeps serving afterwards."""

import io
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import segnet_tf
from segnet_tf.export import export_saved_model

IMAGES_FORM = "`images` must be uint8 [batch, height, width, 3] with every dimension >= 1"


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return segnet_tf.get_model("segnet_basic", 3, width=1 / 16)


@pytest.fixture(scope="module")
def signatures(tiny_model, tmp_path_factory):
    """The two signatures of a tiny exported model (exported once for the module)."""
    version_dir = export_saved_model(tiny_model, tmp_path_factory.mktemp("export"), name="tiny")
    loaded = tf.saved_model.load(str(version_dir))
    return loaded.signatures["serving_default"], loaded.signatures["serve_image_bytes"]


def encode(rgb, fmt="PNG", **params):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def pixels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    "shape",
    [
        (24, 32, 3),  # No batch dimension: used to give class_ids of shape (1, 24, 3).
        (1, 1, 24, 32, 3),  # Rank 5: used to give (1, 1, 24).
        (24, 3),
        (),
        (1, 24, 32, 4),
        (1, 24, 32, 1),
        (1, 0, 32, 3),
        (1, 24, 0, 3),
        (0, 24, 32, 3),
    ],
)
def test_images_of_another_shape_are_refused(signatures, shape):
    serve, _ = signatures
    valid = pixels((1, 24, 32, 3))
    before = serve(images=tf.constant(valid))["probabilities"].numpy()
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(IMAGES_FORM)) as info:
        serve(images=tf.zeros(shape, tf.uint8))
    got = " ".join(str(v) for v in shape)
    assert f"got shape] [{got}]" in str(info.value)
    # The model keeps serving, and gives the same answer as before.
    after = serve(images=tf.constant(valid))
    assert after["class_ids"].shape == (1, 24, 32)
    np.testing.assert_array_equal(after["probabilities"].numpy(), before)


def test_images_of_another_dtype_are_refused(signatures):
    serve, _ = signatures
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor"):
        serve(images=tf.zeros((1, 24, 32, 3), tf.float32))


@pytest.mark.parametrize(
    "request_bytes, needle",
    [
        (lambda png: tf.constant(png), "`image_bytes` must be a vector [batch]"),
        (lambda png: tf.constant([[png]]), "`image_bytes` must be a vector [batch]"),
        (lambda png: tf.constant([], tf.string), "`image_bytes` is empty"),
        (lambda png: tf.constant([png, b""]), "`image_bytes` holds an empty string"),
        (lambda png: tf.constant([b"not an image"]), "Unknown image file format"),
        (
            lambda png: tf.constant([png, encode(pixels((9, 8, 3)))]),
            "must have the same size",
        ),
    ],
)
def test_image_bytes_of_another_form_are_refused(signatures, request_bytes, needle):
    serve, serve_bytes = signatures
    png = encode(pixels((8, 9, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        serve_bytes(image_bytes=request_bytes(png))
    assert needle in str(info.value)
    out = serve_bytes(image_bytes=tf.constant([png, png]))
    assert out["class_ids"].shape == (2, 8, 9)


def test_image_bytes_decode_the_pixels_pillow_decodes(signatures):
    serve, serve_bytes = signatures
    # Quality 95 without chroma subsampling: TensorFlow's default fast DCT is
    # furthest from Pillow's there.
    jpeg = encode(pixels((40, 56, 3), seed=3), "JPEG", quality=95, subsampling=0)
    png = encode(pixels((40, 56, 3), seed=4))
    for data in (jpeg, png):
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        from_bytes = serve_bytes(image_bytes=tf.constant([data]))["probabilities"].numpy()
        from_pixels = serve(images=tf.constant(decoded[None]))["probabilities"].numpy()
        np.testing.assert_array_equal(from_bytes, from_pixels)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"version": 0}, "`version` must be a positive int"),
        ({"version": "2"}, "`version` must be a positive int"),
        ({"pad_to_multiple": 0}, "`pad_to_multiple` must be >= 1"),
        ({"name": "a\\b"}, "Invalid model name"),
    ],
)
def test_export_checks_its_arguments_before_creating_anything(tiny_model, tmp_path, kwargs, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        export_saved_model(tiny_model, tmp_path / "out", **{"name": "tiny", **kwargs})
    assert not (tmp_path / "out").exists()
