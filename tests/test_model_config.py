"""The model classes know their config: JSON round trips, copies, taps, dtype policies."""

import inspect
import json

import keras
import numpy as np
import pytest

import segnet_tf
from segnet_tf.models import SegmentationModel, SegNet, model_arguments, pooling_taps
from segnet_tf.visualize import InsideSegNet, has_inside_view


def tiny_kwargs(name):
    kwargs = {"width": 1 / 16}
    if name.startswith("fcn"):
        kwargs["fc_filters"] = 1024
    if model_arguments(name).get("bayesian"):
        # The Monte-Carlo dropout layers stay (same layers, same config keys) but pass
        # their input through, so two models' outputs can be compared.
        kwargs["dropout_rate"] = 0.0
    return kwargs


def images(shape=(1, 29, 38, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


@pytest.mark.parametrize("name", segnet_tf.list_models())
def test_json_config_round_trip_rebuilds_the_model(name, tmp_path):
    model = segnet_tf.get_model(name, 4, **tiny_kwargs(name))
    assert isinstance(model, SegmentationModel) and model.name == name
    config = json.loads(json.dumps(model.get_config()))
    # Every constructor argument is in the config, nothing else.
    parameters = set(inspect.signature(type(model).__init__).parameters) - {"self", "kwargs"}
    assert set(config) == parameters | {"trainable"}
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    x = images()
    assert not np.allclose(rebuilt(x).numpy(), model(x).numpy())  # fresh initialisation
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt(x).numpy(), model(x).numpy())

    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) and loaded.get_config() == config
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_registered_names_are_configurations_of_the_classes():
    basic = segnet_tf.get_model("bayesian_segnet_basic", 3, width=1 / 16)
    config = basic.get_config()
    assert (config["depth"], config["bayesian"], config["kernel_size"]) == ("basic", True, 7)
    same = SegNet(3, depth="basic", bayesian=True, width=1 / 16, name="bayesian_segnet_basic")
    assert same.get_config() == config
    assert segnet_tf.get_model("fcn8s", 3, width=1 / 16, fc_filters=64).get_config()["stride"] == 8


def test_copy_with_changes_the_config_and_keeps_the_weights():
    model = SegNet(5, depth="basic", width=1 / 16)
    offsets = [0.5, -0.5, 0.0, 1.0, -1.0]
    adjusted = segnet_tf.models.with_logit_adjustment(model, offsets)
    half = segnet_tf.models.with_input_scale(adjusted, 0.5)
    assert type(half) is SegNet
    assert (half.input_scale, half.class_logit_offsets) == (0.5, tuple(offsets))
    x = images((1, 30, 40, 3))
    np.testing.assert_allclose(
        adjusted(x).numpy(), model(x).numpy() + offsets, rtol=1e-6, atol=1e-5
    )
    assert all(a is not b for a, b in zip(half.weights, model.weights, strict=True))
    for ours, theirs in zip(half.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="no config argument"):
        model.copy_with(widht=0.5)


def test_dtype_policy_is_part_of_the_config(tmp_path, dtype_policy):
    dtype_policy("mixed_bfloat16")
    model = SegNet(3, depth="basic", width=1 / 16)
    assert model.get_config()["dtype"] == "mixed_bfloat16"
    path = tmp_path / "bf16.keras"
    model.save(path)
    dtype_policy("float32")
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("block1_conv1").compute_dtype == "bfloat16"
    full = loaded.copy_with(dtype="float32")
    assert {layer.compute_dtype for layer in full.layers} == {"float32"}
    assert loaded(images()).dtype == full(images()).dtype == "float32"


def test_inside_view_finds_the_taps_whatever_the_layer_names():
    model = SegNet(3, depth="basic", width=1 / 16)
    x = images((1, 24, 32, 3), seed=1)
    expected = InsideSegNet(model, block=2).extractor(x)
    for layer in model.layers:
        layer.name = f"renamed_{id(layer)}"
    assert [tap.block for tap in pooling_taps(model)] == [1, 2, 3, 4]
    renamed = InsideSegNet(model, block=2).extractor(x)
    # A plain functional model over the same graph has no declared taps: they are found
    # by layer type, pooling paired with the unpooling that receives its indices.
    functional = keras.Model(model.inputs, model.outputs)
    assert not isinstance(functional, SegmentationModel)
    assert has_inside_view(functional, block=4) and not has_inside_view(functional, block=5)
    found = InsideSegNet(functional, block=2).extractor(x)
    for a, b, c in zip(expected, renamed, found, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(a.numpy(), c.numpy())


def test_bad_model_arguments_are_explained():
    with pytest.raises(ValueError, match="depth"):
        SegNet(3, depth="vgg19")
    with pytest.raises(ValueError, match="one number per class"):
        SegNet(3, depth="basic", width=1 / 16, class_logit_offsets=[0.0, 1.0])
    with pytest.raises(ValueError, match="encoder_addition"):
        SegNet(3, depth="basic", encoder_addition="yes")
    with pytest.raises(ValueError, match="stride"):
        segnet_tf.models.FCN(3, stride=16)
    with pytest.raises(ValueError, match="no VGG16 encoder"):
        segnet_tf.get_model("segnet_basic", 3, width=1 / 16, encoder_weights="imagenet")


def test_a_plain_functional_file_still_loads_scales_and_shows_its_taps(tmp_path):
    # .keras files written before the model classes hold plain functional graphs.
    model = SegNet(3, depth="basic", width=1 / 16, bayesian=True)
    path = tmp_path / "functional.keras"
    keras.Model(model.input, model.output, name="old").save(path)
    loaded = keras.saving.load_model(path)
    assert not isinstance(loaded, SegmentationModel)
    assert segnet_tf.models.has_mc_dropout(keras.Sequential([loaded]))  # nested models too
    half = segnet_tf.models.with_input_scale(loaded, 0.5)
    maps = InsideSegNet(half).extract(np.zeros((40, 60, 3), np.uint8))
    assert maps.encoder.shape[:2] == (20, 30)
