import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D


def reference_pool_with_argmax(x, pool, padding):
    """Plain NumPy max pooling with flat (batch-inclusive) argmax, non-overlapping windows."""
    batch, height, width, channels = x.shape
    (ph, pw) = pool
    if padding == "same":
        out_h, out_w = math.ceil(height / ph), math.ceil(width / pw)
        top = max((out_h - 1) * ph + ph - height, 0) // 2
        left = max((out_w - 1) * pw + pw - width, 0) // 2
    else:
        out_h, out_w = (height - ph) // ph + 1, (width - pw) // pw + 1
        top = left = 0
    pooled = np.zeros((batch, out_h, out_w, channels), x.dtype)
    indices = np.zeros((batch, out_h, out_w, channels), np.int64)
    for b in range(batch):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    best, best_index = -np.inf, -1
                    for y in range(i * ph - top, i * ph - top + ph):
                        for xx in range(j * pw - left, j * pw - left + pw):
                            if 0 <= y < height and 0 <= xx < width and x[b, y, xx, c] > best:
                                best = x[b, y, xx, c]
                                best_index = ((b * height + y) * width + xx) * channels + c
                    pooled[b, i, j, c], indices[b, i, j, c] = best, best_index
    return pooled, indices


def reference_unpool(values, indices, output_shape):
    out = np.zeros(output_shape, values.dtype)
    out.reshape(-1)[indices.reshape(-1)] = values.reshape(-1)
    return out


CASES = [
    # (input shape, pool size, padding)
    ((1, 4, 4, 1), 2, "same"),
    ((2, 5, 7, 3), 2, "same"),
    ((3, 9, 6, 2), 2, "valid"),
    ((2, 7, 8, 4), 3, "same"),
    ((2, 13, 11, 5), (2, 3), "same"),
]


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("shape, pool, padding", CASES)
def test_pooling_matches_numpy_reference(shape, pool, padding, index_dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    pool_pair = (pool, pool) if isinstance(pool, int) else pool
    layer = MaxPoolingWithArgmax2D(pool_size=pool, padding=padding, index_dtype=index_dtype)
    pooled, indices = layer(x)
    expected_pooled, expected_indices = reference_pool_with_argmax(x, pool_pair, padding)
    assert indices.dtype == index_dtype
    np.testing.assert_array_equal(pooled.numpy(), expected_pooled)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("shape, pool, padding", CASES)
def test_unpooling_matches_numpy_reference(shape, pool, padding, index_dtype):
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    layer = MaxPoolingWithArgmax2D(pool_size=pool, padding=padding, index_dtype=index_dtype)
    pooled, indices = layer(x)
    unpooled = MaxUnpooling2D()([pooled, indices, x])
    expected = reference_unpool(pooled.numpy(), indices.numpy(), shape)
    np.testing.assert_array_equal(unpooled.numpy(), expected)


def test_odd_size_round_trips_exactly():
    x = np.random.default_rng(2).standard_normal((2, 45, 61, 3)).astype("float32")
    pooled, indices = MaxPoolingWithArgmax2D()(x)
    assert tuple(pooled.shape) == (2, 23, 31, 3)
    unpooled = MaxUnpooling2D()([pooled, indices, x]).numpy()
    assert unpooled.shape == x.shape
    # Every window's maximum is back in place, everything else is zero.
    kept = unpooled != 0
    np.testing.assert_array_equal(unpooled[kept], x[kept])
    assert kept.sum() == pooled.numpy().size


def test_two_input_unpooling_doubles_the_size():
    x = np.random.default_rng(3).standard_normal((2, 6, 8, 2)).astype("float32")
    pooled, indices = MaxPoolingWithArgmax2D()(x)
    unpooled = MaxUnpooling2D()([pooled, indices])
    np.testing.assert_array_equal(
        unpooled.numpy(), reference_unpool(pooled.numpy(), indices.numpy(), x.shape)
    )


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_indices_past_float32_precision_are_exact(index_dtype):
    # 4 * (2**22 + 3) > 2**24 positions: float32 would round the larger indices.
    channels = 2**22 + 3
    x = np.zeros((1, 2, 2, channels), "float32")
    x[0, 1, 1, :] = 1.0  # every maximum at the last spatial position
    pooled, indices = MaxPoolingWithArgmax2D(index_dtype=index_dtype)(x)
    expected = 3 * channels + np.arange(channels)
    np.testing.assert_array_equal(indices.numpy().reshape(-1), expected)
    unpooled = MaxUnpooling2D()([pooled, indices, x]).numpy()
    np.testing.assert_array_equal(unpooled, x)


def test_int32_indices_refuse_inputs_they_cannot_address():
    with pytest.raises(ValueError, match="index_dtype='int64'"):
        MaxPoolingWithArgmax2D()(keras.Input((2**16, 2**15, 1), batch_size=1))
    # int64 indices address it (the symbolic call allocates nothing).
    _, indices = MaxPoolingWithArgmax2D(index_dtype="int64")(
        keras.Input((2**16, 2**15, 1), batch_size=1)
    )
    assert indices.dtype == "int64"
    with pytest.raises(ValueError, match="index_dtype"):
        MaxPoolingWithArgmax2D(index_dtype="float32")


def test_symbolic_shapes_match_eager_shapes():
    inputs = keras.Input((None, None, 4))
    pooled, indices = MaxPoolingWithArgmax2D()(inputs)
    assert indices.dtype == "int32"
    unpooled = MaxUnpooling2D()([pooled, indices, inputs])
    assert tuple(unpooled.shape) == (None, None, None, 4)
    fixed = keras.Input((45, 61, 4), batch_size=2)
    pooled, indices = MaxPoolingWithArgmax2D()(fixed)
    assert tuple(pooled.shape) == (2, 23, 31, 4) == tuple(indices.shape)
    assert tuple(MaxUnpooling2D()([pooled, indices, fixed]).shape) == (2, 45, 61, 4)
    eager = MaxPoolingWithArgmax2D()(np.zeros((2, 45, 61, 4), "float32"))[0]
    assert tuple(eager.shape) == (2, 23, 31, 4)


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_pooling_gradient_flows_to_the_argmax(index_dtype):
    # int64 uses TensorFlow's MaxPoolGradWithArgmax, int32 the layer's own gradient.
    x = tf.constant(np.random.default_rng(4).standard_normal((2, 5, 7, 3)), tf.float32)
    upstream = np.random.default_rng(5).standard_normal((2, 3, 4, 3)).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        pooled, indices = MaxPoolingWithArgmax2D(index_dtype=index_dtype)(x)
        loss = tf.reduce_sum(pooled * upstream)
    gradient = tape.gradient(loss, x).numpy()
    expected = reference_unpool(upstream, indices.numpy(), x.shape)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_unpooling_gradient_gathers_at_the_indices(index_dtype):
    x = np.random.default_rng(6).standard_normal((2, 5, 7, 3)).astype("float32")
    pooled, indices = MaxPoolingWithArgmax2D(index_dtype=index_dtype)(x)
    values = tf.Variable(pooled)
    upstream = np.random.default_rng(7).standard_normal(x.shape).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(MaxUnpooling2D()([values, indices, x]) * upstream)
    gradient = tape.gradient(loss, values).numpy()
    expected = upstream.reshape(-1)[indices.numpy().reshape(-1)].reshape(pooled.shape)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)


def test_unpooling_refuses_indices_outside_the_reference():
    # Indices pooled from a larger tensor than the reference address nothing there.
    x = np.random.default_rng(8).standard_normal((1, 8, 8, 2)).astype("float32")
    pooled, indices = MaxPoolingWithArgmax2D()(x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="out of bounds"):
        MaxUnpooling2D()([pooled, indices, x[:, :4]])


def _pool_unpool_model(channels=3):
    inputs = keras.Input((None, None, channels))
    x = keras.layers.Conv2D(channels, 3, padding="same")(inputs)
    pooled, indices = MaxPoolingWithArgmax2D(name="pool")(x)
    x = MaxUnpooling2D(name="unpool")([pooled, indices, x])
    return keras.Model(inputs, keras.layers.Conv2D(2, 1, dtype="float32")(x))


def test_one_model_serves_two_image_sizes():
    model = _pool_unpool_model()
    for size in [(8, 8), (45, 61)]:
        assert tuple(model(np.ones((3, *size, 3), "float32")).shape) == (3, *size, 2)


def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    model = _pool_unpool_model()
    x = np.random.default_rng(8).standard_normal((2, 9, 11, 3)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.get_layer("pool"), MaxPoolingWithArgmax2D)
    np.testing.assert_array_equal(restored(x).numpy(), model(x).numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_float_value_dtypes(dtype):
    x = tf.cast(np.random.default_rng(9).standard_normal((2, 5, 7, 3)), dtype)
    pooled, indices = MaxPoolingWithArgmax2D(dtype=dtype)(x)
    assert pooled.dtype == dtype and indices.dtype == tf.int32
    unpooled = MaxUnpooling2D(dtype=dtype)([pooled, indices, x])
    assert unpooled.dtype == dtype
    expected = reference_unpool(pooled.numpy().astype("float32"), indices.numpy(), x.shape)
    np.testing.assert_array_equal(unpooled.numpy().astype("float32"), expected)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_indices_integer(policy, dtype_policy):
    dtype_policy(policy)
    model = _pool_unpool_model()
    pool_output, indices = model.get_layer("pool").output
    assert indices.dtype == "int32"
    assert pool_output.dtype == policy.split("_")[1]
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    x = np.random.default_rng(10).standard_normal((2, 8, 8, 3)).astype("float32")
    y = np.zeros((2, 8, 8), "int32")
    model.fit(x, y, epochs=1, verbose=0)
    assert model(x).dtype == "float32"


def test_default_compile_trains_without_xla():
    model = _pool_unpool_model()
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    x = np.random.default_rng(11).standard_normal((2, 8, 8, 3)).astype("float32")
    history = model.fit(x, np.zeros((2, 8, 8), "int32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.jit_compile is False


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pool_size": 0}, "positive"),
        ({"pool_size": (2, 2, 2)}, "pair"),
        ({"pool_size": 2.5}, "int"),
        ({"pool_size": 3, "strides": 2}, "non-overlapping"),
        ({"padding": "causal"}, "padding"),
    ],
)
def test_bad_pooling_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaxPoolingWithArgmax2D(**kwargs)


def test_wrong_rank_raises():
    with pytest.raises(ValueError, match="rank 4|ndim=4"):
        MaxPoolingWithArgmax2D()(keras.Input((8, 3)))
    with pytest.raises(ValueError, match="rank 4"):
        MaxUnpooling2D()([keras.Input((4, 4)), keras.Input((4, 4), dtype="int64")])


def test_mismatched_values_and_indices_raise():
    values = keras.Input((4, 4, 3))
    indices = keras.Input((4, 5, 3), dtype="int64")
    with pytest.raises(ValueError, match="same shape"):
        MaxUnpooling2D()([values, indices, keras.Input((8, 8, 3))])


def test_reference_with_other_channels_raises():
    values = keras.Input((4, 4, 3))
    indices = keras.Input((4, 4, 3), dtype="int64")
    with pytest.raises(ValueError, match="channels"):
        MaxUnpooling2D()([values, indices, keras.Input((8, 8, 5))])


def test_float_indices_raise():
    values = np.ones((1, 2, 2, 1), "float32")
    with pytest.raises(ValueError, match="integer"):
        MaxUnpooling2D()([values, values, np.ones((1, 4, 4, 1), "float32")])


def test_wrong_number_of_unpooling_inputs_raises():
    with pytest.raises(ValueError, match="list"):
        MaxUnpooling2D()([keras.Input((4, 4, 3))])
