import keras
import numpy as np
import pytest

import segnet_tf
from segnet_tf.models import mc_predict
from segnet_tf.models.graph import clone_replacing

ALL_MODELS = segnet_tf.list_models()
TINY = {"width": 1 / 16}
TINY_KWARGS = {name: dict(TINY) for name in ALL_MODELS}
TINY_KWARGS["fcn32s"]["fc_filters"] = 1024
TINY_KWARGS["fcn8s"]["fc_filters"] = 1024


def tiny_model(name, num_classes=5):
    return segnet_tf.get_model(name, num_classes, **TINY_KWARGS[name])


def learnable_batch(size=(64, 64), batch=4, num_classes=5, block=16):
    """Images of constant-colour blocks whose colour gives the label, so a few
    steps can learn it even at FCN-32s' coarse stride."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, num_classes, (batch, size[0] // block, size[1] // block))
    labels = np.repeat(np.repeat(coarse, block, axis=1), block, axis=2).astype("int32")
    colours = np.linspace(0, 255, num_classes)[labels]
    images = np.stack([colours, 255 - colours, colours / 2], axis=-1).astype("float32")
    return images, labels


def test_registry_lists_every_architecture():
    expected = {
        "segnet",
        "segnet_encoder_addition",
        "segnet_basic",
        "bayesian_segnet",
        "bayesian_segnet_basic",
        "unet",
        "fcn8s",
        "fcn32s",
    }
    assert set(ALL_MODELS) == expected


@pytest.mark.parametrize("name", ALL_MODELS)
def test_output_matches_input_size(name):
    model = tiny_model(name)
    for size in [(64, 64), (45, 61), (360, 480)]:
        logits = model(np.zeros((1, *size, 3), "float32"))
        assert tuple(logits.shape) == (1, *size, 5)
        assert logits.dtype == "float32"


@pytest.mark.parametrize("name", ALL_MODELS)
def test_fit_lowers_the_loss(name):
    keras.utils.set_random_seed(0)
    model = tiny_model(name)
    # Eagerly: tracing the training step is most of the cost (about 3x the six steps),
    # and the losses match graph mode's to 2-3 decimals. Graph-mode training is
    # covered by the mixed-precision test below and by `segnet train`'s tests.
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,
    )
    images, labels = learnable_batch()
    history = model.fit(images, labels, batch_size=4, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name", ALL_MODELS)
def test_keras_file_round_trip(name, tmp_path):
    model = tiny_model(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    for original, loaded in zip(model.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(original.numpy(), loaded.numpy())
    if not segnet_tf.models.has_mc_dropout(model):
        images = np.random.default_rng(1).uniform(0, 255, (2, 45, 61, 3)).astype("float32")
        np.testing.assert_allclose(restored(images).numpy(), model(images).numpy(), atol=1e-5)


# Tracing a training step of the deeper models takes 10-60 s on a busy 2-core machine
# and a step takes milliseconds, so one model trains as a graph, like `segnet train`,
# and the others eagerly: the same layers, dtypes and loss scaling.
GRAPH_MODE_MIXED_PRECISION_MODEL = "segnet_basic"


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", ALL_MODELS)
def test_mixed_precision_trains_and_returns_float32(name, policy, dtype_policy):
    dtype_policy(policy)
    model = tiny_model(name)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(True),
        run_eagerly=name != GRAPH_MODE_MIXED_PRECISION_MODEL,
    )
    images, labels = learnable_batch(size=(24, 20), batch=2, block=4)
    history = model.fit(images, labels, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model(images).dtype == "float32"
    assert any(layer.compute_dtype == policy.split("_")[1] for layer in model.layers)


def test_parameter_counts_at_full_width():
    # The paper: SegNet-Basic 1.425 M; VGG16 SegNet about 29.4 M (11 CamVid classes).
    basic = segnet_tf.get_model("segnet_basic", 11).count_params()
    assert abs(basic - 1.425e6) / 1.425e6 < 0.01, basic
    full = segnet_tf.get_model("segnet", 11).count_params()
    assert abs(full - 29.4e6) / 29.4e6 < 0.01, full


def test_segnet_basic_decoder_has_no_relu_and_no_bias():
    model = segnet_tf.get_model("segnet_basic", 11, width=0.125)
    names = [layer.name for layer in model.layers]
    assert not any(n.startswith("decoder") and n.endswith("_relu") for n in names)
    assert sum(n.startswith("block") and n.endswith("_relu") for n in names) == 4
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert all(not layer.use_bias for layer in convs if layer.name != "classifier")
    assert {layer.kernel_size for layer in convs if layer.name != "classifier"} == {(7, 7)}


def test_segnet_decoder_mirrors_vgg16():
    model = segnet_tf.get_model("segnet", 11, width=0.25)
    convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    encoder = [name for name in convs if name.startswith("block")]
    decoder = [name for name in convs if name.startswith("decoder")]
    assert len(encoder) == len(decoder) == 13
    unpools = [
        layer for layer in model.layers if isinstance(layer, segnet_tf.layers.MaxUnpooling2D)
    ]
    assert len(unpools) == 5


@pytest.mark.parametrize("name", ["segnet", "segnet_basic"])
def test_encoder_addition_adds_each_encoder_map_to_its_unpooled_map(name):
    plain = segnet_tf.get_model(name, 5, width=1 / 16)
    added = segnet_tf.get_model(name, 5, width=1 / 16, encoder_addition=True)
    assert added.count_params() == plain.count_params()
    adds = [layer for layer in added.layers if isinstance(layer, keras.layers.Add)]
    unpool_type = segnet_tf.layers.MaxUnpooling2D
    unpools = [layer for layer in added.layers if isinstance(layer, unpool_type)]
    assert len(adds) == len(unpools) > 0
    for add in adds:
        unpooled, encoder_map = (tensor._keras_history.operation for tensor in add.input)
        assert isinstance(unpooled, segnet_tf.layers.MaxUnpooling2D)
        assert encoder_map.name.startswith("block") and encoder_map.name.endswith("relu")
    # Same weights, different outputs: the additions change what the decoder sees.
    added.set_weights(plain.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (1, 32, 48, 3)).astype("float32")
    assert not np.allclose(added(images).numpy(), plain(images).numpy(), atol=1e-3)


def test_segnet_encoder_from_vgg16_weights_file(tmp_path):
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg16.weights.h5"
    vgg.save_weights(path)
    model = segnet_tf.get_model("segnet", 11, encoder_weights=path)
    np.testing.assert_array_equal(
        model.get_layer("block4_conv2").kernel.numpy(), vgg.get_layer("block4_conv2").kernel.numpy()
    )
    # The first convolution sees standardised RGB where VGG saw Caffe-style BGR:
    # its outputs must agree all the same.
    images = np.random.default_rng(2).uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    ours = keras.Model(model.input, model.get_layer("block1_conv1").output)(images)
    theirs = keras.Model(vgg.input, vgg.get_layer("block1_conv1").output)(
        keras.applications.vgg16.preprocess_input(images.copy())
    )
    # VGG's layer applies ReLU; compare the pre-activation through relu.
    np.testing.assert_allclose(np.maximum(ours.numpy(), 0), theirs.numpy(), atol=1e-3)


def test_encoder_weights_errors():
    with pytest.raises(ValueError, match="No file"):
        segnet_tf.get_model("segnet", 11, encoder_weights="/nonexistent/vgg16.h5")


def test_mc_predict_returns_mean_and_uncertainty():
    keras.utils.set_random_seed(3)
    model = tiny_model("bayesian_segnet_basic")
    images = np.random.default_rng(4).uniform(0, 255, (2, 24, 32, 3)).astype("float32")
    prediction = mc_predict(model, images, num_samples=4)
    assert prediction.probabilities.shape == (2, 24, 32, 5)
    np.testing.assert_allclose(prediction.probabilities.sum(-1), 1.0, atol=1e-5)
    assert prediction.variance.shape == prediction.entropy.shape == (2, 24, 32)
    # Dropout stays on at inference, so samples differ and the variance is positive.
    assert prediction.variance.mean() > 0
    assert np.all(prediction.entropy <= np.log(5) + 1e-5)


def test_mc_predict_refuses_a_deterministic_model():
    with pytest.raises(ValueError, match="MonteCarloDropout"):
        mc_predict(tiny_model("segnet_basic"), np.zeros((1, 8, 8, 3)), num_samples=2)


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="segnet_basic"):
        segnet_tf.get_model("segnet_huge", 11)


@pytest.mark.parametrize("num_classes", [1, 0, 2.5, True])
def test_bad_num_classes_raises(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        segnet_tf.get_model("segnet_basic", num_classes)


@pytest.mark.parametrize("width", [0, -1, 1e-4, "wide"])
def test_bad_width_raises(width):
    with pytest.raises(ValueError, match="width"):
        segnet_tf.get_model("segnet_basic", 11, width=width)


@pytest.mark.parametrize("name", ["segnet_basic", "unet", "fcn8s"])
def test_with_input_scale_runs_the_layers_on_a_resized_image(name):
    import tensorflow as tf

    from segnet_tf.models import with_input_scale

    model = segnet_tf.get_model(name, 4, width=0.125)
    half = with_input_scale(model, 0.5)
    # Copied layers, so that the inside view can read the new graph's tensors.
    assert half.get_layer(model.layers[2].name) is not model.layers[2]
    x = np.random.default_rng(0).uniform(0, 255, (2, 36, 50, 3)).astype("float32")
    expected = tf.image.resize(model(tf.image.resize(x, (18, 25))), (36, 50))
    out = half(x)
    assert tuple(out.shape) == (2, 36, 50, 4) and out.dtype == "float32"
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)
    assert with_input_scale(model, 1.0) is model


def test_with_input_scale_survives_saving(tmp_path):
    from segnet_tf.models import with_input_scale

    model = with_input_scale(segnet_tf.get_model("segnet", 3, width=1 / 16), 0.5)
    x = np.random.default_rng(1).uniform(0, 255, (1, 45, 61, 3)).astype("float32")
    path = tmp_path / "half.keras"
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path)(x).numpy(), model(x).numpy())
    with pytest.raises(ValueError, match="already resizes"):
        with_input_scale(model, 0.5)


@pytest.mark.parametrize("scale", [0, -0.5, True, "half"])
def test_bad_input_scale_raises(scale):
    from segnet_tf.models import with_input_scale

    with pytest.raises(ValueError, match="scale"):
        with_input_scale(segnet_tf.get_model("segnet_basic", 3, width=0.125), scale)


def test_clone_replacing_swaps_the_chosen_layer_and_copies_the_weights():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="dense")(inputs)
    model = keras.Model(inputs, keras.layers.Activation("relu", name="act")(hidden))
    model.get_layer("dense").set_weights([np.eye(4, 3, dtype="float32"), np.zeros(3, "float32")])

    def replace(layer):
        return keras.layers.Activation("linear", name=layer.name) if layer.name == "act" else None

    linear = clone_replacing(model, replace)
    x = np.array([[1.0, -2.0, 3.0, -4.0]], "float32")
    np.testing.assert_array_equal(linear(x), [[1.0, -2.0, 3.0]])  # weights copied, no relu
    np.testing.assert_array_equal(model(x), [[1.0, 0.0, 3.0]])  # the original is unchanged
    assert linear.get_layer("dense") is not model.get_layer("dense")
