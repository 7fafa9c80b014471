"""Speed work that must not change what the model computes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import segnet_tf
from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D
from segnet_tf.models import FoldedBatchNorm, fold_batch_norm
from segnet_tf.models.graph import clone_replacing


def _optimized_graph_def(function, *specs):
    """The GraphDef of `function` after Grappler's arithmetic optimizer."""
    from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
    from tensorflow.python.framework import meta_graph
    from tensorflow.python.grappler import tf_optimizer

    concrete = function.get_concrete_function(*specs)
    graph_meta = meta_graph.create_meta_graph_def(graph=concrete.graph)
    fetch = meta_graph_pb2.CollectionDef()
    fetch.node_list.value.extend(t.name for t in concrete.outputs)
    graph_meta.collection_def["train_op"].CopyFrom(fetch)
    config = config_pb2.ConfigProto()
    config.graph_options.rewrite_options.optimizers.append("arithmetic")
    config.graph_options.rewrite_options.min_graph_nodes = -1
    return tf_optimizer.OptimizeGraph(config, graph_meta), concrete


def test_grappler_keeps_the_indices_of_pooling_after_relu():
    # Grappler swaps relu and max pooling and, for MaxPoolWithArgmax, used to feed the
    # relu's float output to the consumers of the int64 indices: the rewritten graph
    # is invalid and TensorFlow ran the whole model unoptimised.
    pool, unpool = MaxPoolingWithArgmax2D(), MaxUnpooling2D()

    @tf.function
    def relu_pool_unpool(x):
        y = tf.nn.relu(x)
        values, indices = pool(y)
        return unpool([values, indices, y])

    graph_def, concrete = _optimized_graph_def(relu_pool_unpool, tf.TensorSpec([2, 6, 8, 3]))
    pooling = [n for n in graph_def.node if n.op == "MaxPoolWithArgmax"]
    assert len(pooling) == 1
    indices_users = [n for n in graph_def.node if f"{pooling[0].name}:1" in n.input]
    assert indices_users, "nothing reads the pooling indices"
    # The optimised graph is valid (importing checks every input's dtype) and computes
    # what the eager layers compute.
    x = np.random.default_rng(0).standard_normal((2, 6, 8, 3)).astype("float32")
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        got = session.run(concrete.outputs[0].name, {concrete.inputs[0].name: x})
    values, indices = pool(tf.nn.relu(x))
    np.testing.assert_array_equal(got, unpool([values, indices, tf.nn.relu(x)]))


def _randomize_batch_norm(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.gamma.shape
            layer.gamma.assign(rng.uniform(0.5, 2.0, shape))
            layer.beta.assign(rng.normal(0.0, 0.5, shape))
            layer.moving_mean.assign(rng.normal(0.0, 0.5, shape))
            layer.moving_variance.assign(rng.uniform(0.2, 3.0, shape))


@pytest.mark.parametrize("name", ["segnet_basic", "segnet"])
def test_folded_model_computes_the_same_logits(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = segnet_tf.get_model(name, 5, width=0.125)
    _randomize_batch_norm(model)
    folded = fold_batch_norm(model)
    assert not [
        layer for layer in folded.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert [layer.name for layer in folded.layers] == [layer.name for layer in model.layers]
    assert all(layer.use_bias for layer in folded.layers if isinstance(layer, keras.layers.Conv2D))
    images = np.random.default_rng(1).uniform(0, 255, (2, 45, 61, 3)).astype("float32")
    expected = model(images, training=False).numpy()
    got = folded(images).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # The original is untouched and the folded copy survives a .keras round trip.
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    path = tmp_path / "folded.keras"
    folded.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path)(images).numpy(), got)


def test_folding_under_mixed_precision(dtype_policy):
    keras.utils.set_random_seed(0)
    reference = segnet_tf.get_model("segnet_basic", 4, width=0.25)  # float32
    _randomize_batch_norm(reference)
    dtype_policy("mixed_bfloat16")
    model = segnet_tf.get_model("segnet_basic", 4, width=0.25)
    model.set_weights(reference.get_weights())
    folded = fold_batch_norm(model)
    conv = folded.get_layer("block2_conv1")
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    images = np.random.default_rng(1).uniform(0, 255, (1, 32, 40, 3)).astype("float32")
    exact = reference(images, training=False).numpy()
    got = folded(images).numpy()
    assert got.dtype == np.float32
    # bfloat16 keeps 8 bits of mantissa: the folded model may be as far from the
    # float32 logits as the unfolded bfloat16 model is, not much further.
    error_folded = np.abs(got - exact).mean()
    error_unfolded = np.abs(model(images, training=False).numpy() - exact).mean()
    assert error_folded < 2 * error_unfolded + 1e-3 * np.abs(exact).mean()


def test_folding_leaves_a_shared_convolution_alone():
    inputs = keras.Input((8, 8, 2))
    conv = keras.layers.Conv2D(3, 3, padding="same", name="shared")(inputs)
    normed = keras.layers.BatchNormalization(name="bn")(conv)
    outputs = keras.layers.Add()([normed, conv])  # the conv output feeds BN and Add
    conv2 = keras.layers.Conv2D(3, 1, activation="relu", name="activated")(outputs)
    outputs = keras.layers.BatchNormalization(name="bn2")(conv2)  # BN after a ReLU conv
    model = keras.Model(inputs, outputs)
    _randomize_batch_norm(model)
    folded = fold_batch_norm(model)
    assert isinstance(folded.get_layer("bn"), keras.layers.BatchNormalization)
    assert isinstance(folded.get_layer("bn2"), keras.layers.BatchNormalization)
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(folded(x), model(x, training=False), rtol=1e-5, atol=1e-5)


def test_folded_batch_norm_passes_through():
    x = np.arange(6, dtype="float32").reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(FoldedBatchNorm()(x, training=True), x)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("training", [True, False])
def test_fused_batch_norm_matches_keras(policy, training, dtype_policy):
    from segnet_tf.layers import FusedBatchNormalization

    dtype_policy(policy)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, (2, 5, 7, 6)), tf.float32)
    upstream = tf.constant(rng.standard_normal((2, 5, 7, 6)), tf.float32)
    weights = [rng.uniform(0.5, 2, 6), rng.normal(0, 1, 6), rng.normal(0, 1, 6)]
    weights.append(rng.uniform(0.5, 2, 6))
    results = []
    for layer in (
        keras.layers.BatchNormalization(momentum=0.9),
        FusedBatchNormalization(momentum=0.9),
    ):
        layer.build(x.shape)
        layer.set_weights(weights)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
        grads = tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])
        results.append((y, grads, layer.get_weights()))
    (y_keras, g_keras, w_keras), (y_fused, g_fused, w_fused) = results
    assert y_fused.dtype == y_keras.dtype
    tol = 1e-5 if policy == "float32" else 2e-2
    np.testing.assert_allclose(
        tf.cast(y_fused, tf.float32), tf.cast(y_keras, tf.float32), rtol=tol, atol=tol * 3
    )
    for got, expected in zip(g_fused, g_keras, strict=True):
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 10)
    # Same moving statistics update (Keras averages the biased batch variance).
    for got, expected in zip(w_fused, w_keras, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    if training:
        assert not np.allclose(w_fused[2], weights[2])  # the moving mean did move


def _with_int64_indices(model):
    """The same model (same weights) with TensorFlow's own int64-index pooling."""

    def replace(layer):
        if isinstance(layer, MaxPoolingWithArgmax2D):
            config = {**layer.get_config(), "index_dtype": "int64"}
            return MaxPoolingWithArgmax2D.from_config(config)
        return None

    return clone_replacing(model, replace)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fast_pooling_and_unpooling_change_nothing(policy, dtype_policy):
    # The fast path (int32 indices, the layer's own pooling gradient, float32 argmax
    # under 16-bit policies) against TensorFlow's int64 op and its registered gradient.
    dtype_policy(policy)
    model = segnet_tf.get_model("segnet", 5, width=1 / 16)
    reference = _with_int64_indices(model)
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (2, 45, 61, 3)), tf.float32)
    y = np.random.default_rng(1).integers(0, 5, (2, 45, 61))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def logits_and_gradients(m):
        with tf.GradientTape() as tape:
            logits = m(x, training=True)
            loss = loss_fn(y, logits)
        return logits.numpy(), [g.numpy() for g in tape.gradient(loss, m.trainable_weights)]

    logits, gradients = logits_and_gradients(model)
    expected_logits, expected_gradients = logits_and_gradients(reference)
    np.testing.assert_array_equal(logits, expected_logits)
    for got, expected in zip(gradients, expected_gradients, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
