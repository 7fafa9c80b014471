"""Export: SavedModel in a fresh TensorFlow-only process, TFLite, ONNX, builtin rewrite."""

import io
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import segnet_tf
from segnet_tf.classes import CAMVID_CLASSES
from segnet_tf.export import (
    export_onnx,
    export_saved_model,
    export_tflite,
    portable_clone,
    without_mc_dropout,
)

SIZES = [(45, 61), (360, 480)]


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return segnet_tf.get_model("segnet_basic", 11, width=1 / 16)


def images_of(size, batch=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch, *size, 3), dtype=np.uint8)


def keras_probabilities(model, images):
    return keras.ops.convert_to_numpy(keras.ops.softmax(model(images.astype("float32")), axis=-1))


def assert_ids_match(ids, probabilities, expected_probabilities):
    """Class ids equal the Keras argmax wherever the top two classes are not tied
    within the observed probability difference.

    An untrained model has near-uniform probabilities, so a rounding-level
    difference may legitimately flip the argmax of an (almost) tied pixel.
    """
    tolerance = 2 * np.abs(probabilities - expected_probabilities).max() + 1e-7
    top2 = np.sort(expected_probabilities, axis=-1)[..., -2:]
    clear = top2[..., 1] - top2[..., 0] > tolerance
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(ids[clear], expected_probabilities.argmax(-1)[clear])


def png_bytes(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


FRESH_PROCESS = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    model_dir, data = sys.argv[1], np.load(sys.argv[2], allow_pickle=True)
    loaded = tf.saved_model.load(model_dir)
    assert not any(m.startswith("segnet_tf") for m in sys.modules), "segnet_tf was imported"
    results = {"signatures": np.array(sorted(loaded.signatures))}
    images_sig = loaded.signatures["serving_default"]
    bytes_sig = loaded.signatures["serve_image_bytes"]
    for key in ("small", "large"):
        out = images_sig(images=tf.constant(data[key]))
        results[key + "_ids"] = out["class_ids"].numpy()
        results[key + "_probs"] = out["probabilities"].numpy()
    out = bytes_sig(image_bytes=tf.constant(list(data["small_png"])))
    results["bytes_ids"] = out["class_ids"].numpy()
    results["bytes_probs"] = out["probabilities"].numpy()
    errors = []
    for name, batch in [("corrupt", [data["small_png"][0], b"not an image"]),
                        ("mixed_sizes", [data["small_png"][0], data["other_png"]])]:
        try:
            bytes_sig(image_bytes=tf.constant(batch))
            errors.append(name + ":no error")
        except tf.errors.InvalidArgumentError:
            errors.append(name + ":InvalidArgument")
    # The server survives a bad request: the next good one still works.
    out = bytes_sig(image_bytes=tf.constant(list(data["small_png"])))
    results["after_error_ok"] = np.array(out["class_ids"].shape[0] == 2)
    results["errors"] = np.array(errors)
    np.savez(sys.argv[3], **results)
    """
)


def test_saved_model_in_a_fresh_tensorflow_only_process(tiny_model, tmp_path):
    export_dir = export_saved_model(tiny_model, tmp_path / "serving", classes=CAMVID_CLASSES)
    assert export_dir == tmp_path / "serving" / "segnet_basic" / "1"
    assert (export_dir / "saved_model.pb").is_file()
    assert (export_dir / "assets.extra" / "classes.json").read_text() == CAMVID_CLASSES.to_json()
    # The next version; numbering does not depend on the model, so a 1x1 convolution
    # (a fraction of the export time) stands in.
    inputs = keras.Input((None, None, 3))
    pixelwise = keras.Model(inputs, keras.layers.Conv2D(11, 1)(inputs))
    assert export_saved_model(pixelwise, tmp_path / "serving", name="segnet_basic").name == "2"
    with pytest.raises(ValueError, match="exists already"):
        export_saved_model(tiny_model, tmp_path / "serving", version=1)
    assert not [p for p in export_dir.parent.iterdir() if p.name.startswith(".")]

    small, large = images_of(SIZES[0], batch=2), images_of(SIZES[1], seed=1)
    other = images_of((30, 40), seed=2)[0]
    small_png = np.array([png_bytes(image) for image in small], dtype=object)
    np.savez(
        tmp_path / "in.npz",
        small=small,
        large=large,
        small_png=small_png,
        other_png=png_bytes(other),
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            str(export_dir),
            tmp_path / "in.npz",
            tmp_path / "out.npz",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the repository, so `segnet_tf` is not importable by accident
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    # Custom gradients are not saved, so none of their gradient functions is loaded.
    assert "internal_grad_fn" not in loaded.stderr
    out = np.load(tmp_path / "out.npz")
    assert list(out["signatures"]) == ["serve_image_bytes", "serving_default"]
    for key, images in [("small", small), ("large", large), ("bytes", small)]:
        expected = keras_probabilities(tiny_model, images)
        assert out[key + "_ids"].dtype == np.int32 and out[key + "_ids"].shape == images.shape[:3]
        np.testing.assert_allclose(out[key + "_probs"], expected, atol=1e-5)
        assert_ids_match(out[key + "_ids"], out[key + "_probs"], expected)
    assert list(out["errors"]) == ["corrupt:InvalidArgument", "mixed_sizes:InvalidArgument"]
    assert out["after_error_ok"]

    # What `saved_model_cli show --all` prints, read from the same MetaGraphDef in this
    # process (starting the tool costs a TensorFlow import): each signature's input dtype.
    from tensorflow.python.tools import saved_model_utils

    signature_defs = saved_model_utils.get_meta_graph_def(str(export_dir), "serve").signature_def
    assert {"serving_default", "serve_image_bytes"} <= set(signature_defs)
    assert signature_defs["serving_default"].inputs["images"].dtype == tf.uint8.as_datatype_enum
    image_bytes = signature_defs["serve_image_bytes"].inputs["image_bytes"]
    assert image_bytes.dtype == tf.string.as_datatype_enum


def test_padding_option_crops_back(tiny_model, tmp_path):
    from segnet_tf.export import SegmentationServingModule

    module = SegmentationServingModule(tiny_model, pad_to_multiple=32)
    images = images_of(SIZES[0])
    out = module.serve_images(tf.constant(images))
    assert out["class_ids"].shape == (1, 45, 61) and out["probabilities"].shape == (1, 45, 61, 11)
    with pytest.raises(ValueError, match="pad_to_multiple"):
        SegmentationServingModule(tiny_model, pad_to_multiple=0)


@pytest.mark.parametrize("name", ["segnet_basic", "segnet", "bayesian_segnet_basic"])
def test_portable_clone_equals_the_model(name):
    keras.utils.set_random_seed(0)
    model = without_mc_dropout(segnet_tf.get_model(name, 5, width=1 / 16))
    images = images_of((33, 47), batch=2).astype("float32")
    clone = portable_clone(model)
    assert not any("MaxPoolingWithArgmax" in type(layer).__name__ for layer in clone.layers)
    np.testing.assert_allclose(clone(images), model(images), atol=1e-6)


def test_without_mc_dropout_is_deterministic():
    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model("bayesian_segnet_basic", 5, width=1 / 16)
    images = images_of((16, 24)).astype("float32")
    assert not np.allclose(model(images), model(images))  # dropout on: random
    plain = without_mc_dropout(model)
    np.testing.assert_array_equal(plain(images), plain(images))


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_tflite_matches_keras_at_any_size(tiny_model, tmp_path):
    path = export_tflite(tiny_model, tmp_path / "model.tflite")
    runner = tf.lite.Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    for seed, size in enumerate(SIZES):
        images = images_of(size, seed=seed)
        out = runner(images=images)
        expected = keras_probabilities(tiny_model, images)
        np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
        assert_ids_match(out["class_ids"], out["probabilities"], expected)


def test_onnx_matches_keras(tiny_model, tmp_path):
    pytest.importorskip("tf2onnx")
    ort = pytest.importorskip("onnxruntime")
    path = export_onnx(tiny_model, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["images"]
    images = images_of(SIZES[0], batch=2)
    ids, probabilities = session.run(["class_ids", "probabilities"], {"images": images})
    expected = keras_probabilities(tiny_model, images)
    np.testing.assert_allclose(probabilities, expected, atol=1e-4)
    assert_ids_match(ids, probabilities, expected)


@pytest.fixture(scope="module")
def wrapped_model():
    """A half-resolution, logit-adjusted model: the layout of the CamVid preset."""
    from segnet_tf.models import with_input_scale, with_logit_adjustment

    keras.utils.set_random_seed(1)
    model = with_input_scale(segnet_tf.get_model("segnet", 11, width=1 / 16), 0.5)
    return with_logit_adjustment(model, np.linspace(-1, 1, 11))


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_wrapped_model_exports_to_tflite_and_onnx(wrapped_model, tmp_path):
    images = images_of((90, 120), seed=3)
    expected = keras_probabilities(wrapped_model, images)
    runner = tf.lite.Interpreter(
        model_path=str(export_tflite(wrapped_model, tmp_path / "model.tflite"))
    ).get_signature_runner("serving_default")
    out = runner(images=images)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
    assert_ids_match(out["class_ids"], out["probabilities"], expected)
    pytest.importorskip("tf2onnx")
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(export_onnx(wrapped_model, tmp_path / "model.onnx")))
    ids, probabilities = session.run(["class_ids", "probabilities"], {"images": images})
    np.testing.assert_allclose(probabilities, expected, atol=1e-4)
    assert_ids_match(ids, probabilities, expected)
