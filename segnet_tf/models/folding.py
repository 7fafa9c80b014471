"""Folding batch normalisation into the preceding convolutions, for inference."""

import keras
import numpy as np

from segnet_tf.models.graph import producers


@keras.saving.register_keras_serializable(package="segnet_tf")
class FoldedBatchNorm(keras.layers.Layer):
    """Stands in for a BatchNormalization folded into the previous convolution:
    passes its input through (it accepts BN's call arguments)."""

    def call(self, inputs, training=None, mask=None):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def _first_call_graph(model: keras.Model):
    """``(producer, consumers)`` of ``model``'s graph read from each layer's first call.

    ``producer`` maps ``id(tensor)`` to the layer that outputs it, ``consumers`` counts
    the layer calls that read each tensor. None if the first calls do not make up the
    whole graph (a layer called several times, or first called in another graph):
    then which of them are shared is unknown and nothing is folded.
    """
    producer = producers(model)
    model_inputs = {id(tensor) for tensor in model.inputs}
    consumers: dict[int, int] = {}
    for layer in model.layers:
        for tensor in keras.tree.flatten(layer.input):
            if id(tensor) not in producer and id(tensor) not in model_inputs:
                return None
            consumers[id(tensor)] = consumers.get(id(tensor), 0) + 1
    if any(id(tensor) not in producer for tensor in model.outputs):
        return None
    return producer, consumers


def _foldable_pairs(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """BatchNormalization layer name -> the Conv2D it can be folded into: a
    per-channel BN on the last axis, applied once, to the output of a Conv2D
    without activation that feeds nothing else."""
    graph = _first_call_graph(model)
    if graph is None:
        return {}
    producer, consumers = graph
    pairs = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        conv_output = keras.tree.flatten(layer.input)[0]
        conv = producer.get(id(conv_output))
        if (
            type(conv) is keras.layers.Conv2D
            and conv.data_format == "channels_last"
            and layer.axis in (-1, 3)
            and conv.activation is keras.activations.linear
            and consumers.get(id(conv_output)) == 1
        ):
            pairs[layer.name] = conv
    return pairs


def fold_batch_norm(model: keras.Model) -> keras.Model:
    """Returns a copy of `model` for inference, with every BatchNormalization that
    directly follows a Conv2D folded into that convolution's kernel and bias.

    In inference mode a BN is the per-channel affine map
    `y = gamma * (x - mean) / sqrt(variance + epsilon) + beta`; composed with the
    convolution it is a convolution with the kernel scaled per output channel and
    a bias. The folded model computes the same function as `model(x,
    training=False)` (to float rounding) with one pass over each feature map fewer
    per convolution, and lets TensorFlow fuse the bias and ReLU into the oneDNN
    convolution. The BN layers become pass-through `FoldedBatchNorm` layers of the
    same names, so the layer names, the input and the output are unchanged; the
    copy saves and loads as `.keras` like any model. Do not train it: it has no batch statistics.

    The folding is computed in float64 from the float32 variables and works
    under any dtype policy (the layers keep theirs).

    Args:
        model: a functional Keras model (e.g. from `segnet_tf.get_model`).

    Example:

    >>> fast = fold_batch_norm(model)
    >>> np.allclose(fast(x), model(x, training=False), atol=1e-4)
    True
    """
    pairs = _foldable_pairs(model)
    bn_of_conv = {conv.name: model.get_layer(bn_name) for bn_name, conv in pairs.items()}

    def clone(layer):
        if layer.name in pairs:
            return FoldedBatchNorm(name=layer.name, dtype=layer.dtype_policy.name)
        config = layer.get_config()
        if layer.name in bn_of_conv:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    folded = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        if layer.name in pairs or not layer.weights:
            continue
        new = folded.get_layer(layer.name)
        if layer.name in bn_of_conv:
            new.set_weights(_fold(layer, bn_of_conv[layer.name]))
        else:
            new.set_weights(layer.get_weights())
    return folded


def _fold(conv, bn):
    kernel = np.asarray(conv.kernel.numpy(), np.float64)
    bias = (
        np.asarray(conv.bias.numpy(), np.float64)
        if conv.use_bias
        else np.zeros(kernel.shape[-1], np.float64)
    )
    mean = np.asarray(bn.moving_mean.numpy(), np.float64)
    variance = np.asarray(bn.moving_variance.numpy(), np.float64)
    gamma = np.asarray(bn.gamma.numpy(), np.float64) if bn.scale else 1.0
    beta = np.asarray(bn.beta.numpy(), np.float64) if bn.center else 0.0
    scale = gamma / np.sqrt(variance + bn.epsilon)
    dtype = conv.kernel.dtype
    return [
        (kernel * scale).astype(dtype),
        ((bias - mean) * scale + beta).astype(dtype),
    ]
