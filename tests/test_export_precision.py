"""Faster exports: bfloat16 SavedModel, int8 and dynamic-range TFLite, and running them."""

import argparse

import keras
import numpy as np
import pytest
import tensorflow as tf

import segnet_tf
from segnet_tf.export import export_saved_model, export_tflite
from segnet_tf.export.portable import WindowMaxPooling2D, WindowMaxUnpooling2D
from segnet_tf.export.runners import ExportedModel, is_exported_model
from segnet_tf.export.tflite import convert_tflite


def images_of(size, batch=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch, *size, 3), dtype=np.uint8)


def float32_probabilities(model, images):
    return tf.nn.softmax(model(images.astype("float32"), training=False), axis=-1).numpy()


def calibration(count=8, size=(40, 56)):
    return lambda: iter(images_of(size, batch=count, seed=1))


def agreement(ids, expected_probabilities, margin=0.2):
    """Share of equal class ids over all pixels, and over those whose top two classes
    differ by more than ``margin`` in float32 (where reduced precision must not flip)."""
    expected = expected_probabilities.argmax(-1)
    top2 = np.sort(expected_probabilities, axis=-1)[..., -2:]
    clear = top2[..., 1] - top2[..., 0] > margin
    return (ids == expected).mean(), (ids[clear] == expected[clear]).mean(), clear.mean()


@pytest.fixture(scope="module")
def decisive_model(decisive_model_path):
    return keras.models.load_model(decisive_model_path)


def test_bfloat16_saved_model_takes_uint8_returns_float32_and_agrees(decisive_model, tmp_path):
    path = export_saved_model(decisive_model, tmp_path, precision="bfloat16")
    loaded = tf.saved_model.load(str(path))
    signature = loaded.signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert spec.dtype == tf.uint8
    images = images_of((40, 56), batch=2)
    outputs = signature(images=tf.constant(images))
    assert outputs["probabilities"].dtype == tf.float32
    assert outputs["class_ids"].dtype == tf.int32
    # The graph computes in bfloat16: its convolutions take bfloat16 operands.
    graph = signature.graph.as_graph_def()
    inner = [f for f in graph.library.function if "Conv2D" in {n.op for n in f.node_def}]
    conv_types = {
        n.attr["T"].type for f in inner for n in f.node_def if n.op in ("Conv2D", "_FusedConv2D")
    }
    assert conv_types == {tf.bfloat16.as_datatype_enum}
    expected = float32_probabilities(decisive_model, images)
    overall, clear, share = agreement(outputs["class_ids"].numpy(), expected)
    assert share > 0.5 and clear > 0.95 and overall > 0.9


@pytest.fixture(scope="module")
def int8_tflite(decisive_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("int8") / "m.tflite"
    return export_tflite(decisive_model, path, quantize="int8", representative_images=calibration())


def test_int8_tflite_is_integer_inside_takes_uint8_and_runs(int8_tflite):
    interpreter = tf.lite.Interpreter(model_path=str(int8_tflite))
    counts = {}
    for tensor in interpreter.get_tensor_details():
        name = np.dtype(tensor["dtype"]).name
        counts[name] = counts.get(name, 0) + 1
    # Convolutions, pooling and unpooling run on int8; float32 is only the output side.
    assert counts.get("int8", 0) > 10 * counts.get("float32", 0)
    runner = interpreter.get_signature_runner("serving_default")
    assert runner.get_input_details()["images"]["dtype"] == np.uint8
    outputs = runner(images=images_of((40, 56), batch=2))
    probabilities = outputs["probabilities"]
    assert probabilities.dtype == np.float32 and probabilities.shape == (2, 40, 56, 11)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=0.05)
    assert outputs["class_ids"].shape == (2, 40, 56)


def test_int8_unpooling_fills_exact_zeros():
    # Pool then unpool, full-integer: every position but each window's maximum must be
    # real 0.0. TFLite's int8 ONE_HOT once made them half the maximum (its "off" code
    # was read under the output's zero point), which ruined the int8 decoder.
    inputs = keras.Input((8, 12, 4))
    pooled, positions = WindowMaxPooling2D(2, "valid")(inputs)
    model = keras.Model(inputs, WindowMaxUnpooling2D(2)([pooled, positions, inputs]))
    # Each 2x2 window of each channel holds 0.25, 0.5, 0.75 and 1.0 in a random order,
    # so that its maximum stays unique once quantised.
    levels = np.broadcast_to(np.float32([0.25, 0.5, 0.75, 1.0]), (16, 4, 6, 4, 4))
    windows = np.random.default_rng(0).permuted(levels, axis=-1).reshape(16, 4, 6, 4, 2, 2)
    values = windows.transpose(0, 1, 4, 2, 5, 3).reshape(16, 8, 12, 4)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([v[None]] for v in values)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    runner = interpreter.get_signature_runner()
    (name,) = runner.get_input_details()
    (got,) = runner(**{name: values[:1]}).values()
    expected = model(values[:1]).numpy()
    assert (expected == 0).mean() == 0.75
    np.testing.assert_array_equal(got[expected == 0], 0.0)
    np.testing.assert_allclose(got, expected, atol=1 / 255)


def test_int8_tflite_agrees_with_float32(decisive_model, int8_tflite):
    runner = tf.lite.Interpreter(model_path=str(int8_tflite)).get_signature_runner()
    images = images_of((40, 56), batch=1)
    expected = float32_probabilities(decisive_model, images)
    overall, clear, share = agreement(runner(images=images)["class_ids"], expected)
    assert share > 0.5 and clear > 0.9 and overall > 0.8


def test_dynamic_range_tflite_stores_int8_weights_and_agrees(tmp_path):
    # Weights below 1024 elements stay float32 (the converter's threshold): 1/8 width.
    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model("segnet_basic", 5, width=1 / 8)
    path = export_tflite(model, tmp_path / "m.tflite", quantize="dynamic")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    int8 = [t for t in interpreter.get_tensor_details() if t["dtype"] == np.int8]
    assert len(int8) >= 7  # the 7x7 kernels
    images = images_of((40, 56))
    got = interpreter.get_signature_runner("serving_default")(images=images)["probabilities"]
    expected = float32_probabilities(model, images)
    assert got.dtype == np.float32 and np.abs(got - expected).max() < 0.05


def test_quantization_arguments_are_checked(decisive_model, tmp_path):
    with pytest.raises(ValueError, match="Unknown quantization 'int4'.*none, dynamic, int8"):
        export_tflite(decisive_model, tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match="needs `representative_images`"):
        convert_tflite(decisive_model, quantize="int8")
    with pytest.raises(ValueError, match="at least one"):
        convert_tflite(decisive_model, quantize="int8", representative_images=lambda: iter([]))
    with pytest.raises(ValueError, match=r"RGB \[height, width, 3\]"):
        convert_tflite(
            decisive_model,
            quantize="int8",
            representative_images=lambda: iter([np.zeros((8, 8), np.uint8)]),
        )
    with pytest.raises(ValueError, match="Unknown precision 'float16'"):
        export_saved_model(decisive_model, tmp_path, precision="float16")
    assert not (tmp_path / "m.tflite").exists() and not any(tmp_path.iterdir())


def _export_args(**overrides):
    args = dict(
        model="m.keras",
        format="tflite",
        out="o",
        name=None,
        version=None,
        pad_to_multiple=1,
        opset=17,
        keep_mc_dropout=False,
        precision="float32",
        quantize="none",
        calibration_images=64,
        data=None,
        data_dir=None,
    )
    return argparse.Namespace(**{**args, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"precision": "bfloat16"}, "--precision 'bfloat16' .*outside the saved_model format"),
        ({"format": "saved_model", "quantize": "int8"}, "--quantize 'int8' .*none for saved_model"),
        ({"format": "onnx", "quantize": "dynamic"}, "none or int8 for the onnx format"),
        ({"quantize": "int8", "calibration_images": 0}, "--calibration-images 0 is invalid"),
        ({"quantize": "int8", "model": "camvid_segnet"}, "--data .*a data source to calibrate"),
    ],
)
def test_export_command_refuses_bad_combinations(overrides, message):
    from segnet_tf.cli.export import run

    with pytest.raises(ValueError, match=message):
        run(_export_args(**overrides))


def test_export_command_rejects_an_unknown_quantization(capsys):
    from segnet_tf.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "m.keras", "--format", "tflite", "--quantize", "q"])
    assert "--quantize: invalid choice: 'q'" in capsys.readouterr().err


def test_exported_models_run_like_the_keras_model(decisive_model, tmp_path):
    saved = export_saved_model(decisive_model, tmp_path / "serving")
    tflite = export_tflite(decisive_model, tmp_path / "m.tflite")
    images = images_of((40, 56), batch=2).astype(np.float32)  # the eval pipeline's floats
    expected = float32_probabilities(decisive_model, images)
    for path in (saved, tflite):
        assert is_exported_model(path)
        got = ExportedModel(path)(images, training=False)
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4)
    with pytest.raises(ValueError, match="not an exported model"):
        ExportedModel(tmp_path)
    with pytest.raises(ValueError, match="no such exported model"):
        ExportedModel(tmp_path / "missing.tflite")


def test_int8_onnx_runs_in_onnx_runtime_with_int8_weights(decisive_model, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from segnet_tf.export import export_onnx

    path = export_onnx(
        decisive_model, tmp_path / "m.onnx", quantize="int8", representative_images=calibration()
    )
    graph = onnx.load(str(path)).graph
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= 7  # every convolution kernel
    # 7-bit weights: full-range ones saturate int8 products on CPUs without VNNI.
    kernels = [onnx.numpy_helper.to_array(t) for t in int8_weights if len(t.dims) == 4]
    largest = max(np.abs(kernel.astype(int)).max() for kernel in kernels)
    assert 32 < largest <= 64
    assert {node.op_type for node in graph.node} >= {"QuantizeLinear", "DequantizeLinear"}
    images = images_of((40, 56), batch=1)
    got = ExportedModel(path)(images)
    expected = float32_probabilities(decisive_model, images)
    assert got.dtype == np.float32 and got.shape == expected.shape
    overall, clear, share = agreement(got.argmax(-1), expected)
    assert share > 0.5 and clear > 0.9 and overall > 0.8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no leftovers
