import keras
import numpy as np
import pytest

import segnet_tf
from segnet_tf.training.batch_norm import recompute_batch_norm_statistics


def _conv_bn_model():
    inputs = keras.Input((None, None, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    outputs = keras.layers.BatchNormalization(name="bn")(features)
    return keras.Model(inputs, outputs)


def test_statistics_become_the_average_of_batch_statistics():
    model = _conv_bn_model()
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full(4, 100.0, "float32"))  # a stale estimate
    rng = np.random.default_rng(0)
    batches = [rng.uniform(0, 255, (2, 8, 8, 3)).astype("float32") + 40 * k for k in range(3)]
    used = recompute_batch_norm_statistics(model, batches)

    features = keras.Model(model.input, model.get_layer("conv").output)
    outputs = [features(b).numpy() for b in batches]
    expected_mean = np.mean([o.mean(axis=(0, 1, 2)) for o in outputs], axis=0)
    expected_var = np.mean([o.var(axis=(0, 1, 2)) for o in outputs], axis=0)
    assert used == 3
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected_mean, rtol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), expected_var, rtol=1e-3)
    assert bn.momentum == 0.99  # restored


def test_max_batches_and_tuples():
    model = _conv_bn_model()
    images = np.ones((2, 8, 8, 3), "float32")
    batches = [(images, np.zeros((2, 8, 8), "int32"))] * 5
    assert recompute_batch_norm_statistics(model, batches, max_batches=2) == 2


def test_only_statistics_change_in_a_segnet():
    model = segnet_tf.get_model("segnet_basic", 3, width=1 / 16)
    trainable_before = [w.numpy().copy() for w in model.trainable_weights]
    images = np.random.default_rng(1).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    recompute_batch_norm_statistics(model, [images])
    for before, after in zip(trainable_before, model.trainable_weights, strict=True):
        np.testing.assert_array_equal(before, after.numpy())
    moving = [w for w in model.non_trainable_weights if "moving_mean" in w.path]
    assert moving and not np.allclose(moving[0].numpy(), 0.0)


def test_errors():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        recompute_batch_norm_statistics(plain, [np.ones((1, 4))])
    with pytest.raises(ValueError, match="No batches"):
        recompute_batch_norm_statistics(_conv_bn_model(), [])
