"""A copy of a model whose pooling and unpooling use only TFLite builtin ops.

`MaxPoolingWithArgmax2D` calls `tf.nn.max_pool_with_argmax`, which TFLite has no
builtin for; kept as a "Select TF op" it needs the Flex delegate, which the
`tensorflow` pip package stopped shipping in 2.20 (google-ai-edge/LiteRT#6458), as
do many mobile runtimes. For non-overlapping square windows (SegNet's 2x2/2) the
same computation is expressible with builtins:

- pooling: the ``k*k`` strided sub-grids of the input, stacked on a new last axis;
  the max over that axis is the pooled value and the argmax the position *inside*
  the window (first maximum in row-major order, as `max_pool_with_argmax`);
- unpooling: each value selected into the slot of its window position (0 elsewhere),
  laid out with `depth_to_space`, then cropped to the pre-pool size.

The two replacement layers exchange window-local positions instead of flat indices,
so nothing here depends on the flat-index layout and no int64 arithmetic is needed.
Results equal the original model's up to float rounding, except where a window holds
several equal maxima, which the original breaks the same way.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from segnet_tf.inference.domain import register_pooling_layer
from segnet_tf.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D, MonteCarloDropout
from segnet_tf.models.graph import clone_replacing, producers


# Registered: its pooled output is what the out-of-domain detector describes, as
# MaxPoolingWithArgmax2D's in the original model.
@register_pooling_layer
class WindowMaxPooling2D(keras.layers.Layer):
    """Max pooling over ``k x k`` windows, stride ``k``, returning window positions."""

    def __init__(self, size: int, padding: str, **kwargs):
        super().__init__(**kwargs)
        self.size = size
        self.padding = padding

    def call(self, inputs):
        k = self.size
        height, width = tf.shape(inputs)[1], tf.shape(inputs)[2]
        if self.padding == "same":
            # Repeat the last row/column: a copy can never beat the element it
            # copies, and argmax takes the first maximum, so padding never wins.
            rows = tf.minimum(tf.range((height + k - 1) // k * k), height - 1)
            cols = tf.minimum(tf.range((width + k - 1) // k * k), width - 1)
            inputs = tf.gather(tf.gather(inputs, rows, axis=1), cols, axis=2)
        else:
            inputs = inputs[:, : height // k * k, : width // k * k, :]
        grids = [inputs[:, dy::k, dx::k, :] for dy in range(k) for dx in range(k)]
        stacked = tf.stack(grids, axis=-1)
        return tf.reduce_max(stacked, axis=-1), tf.argmax(stacked, axis=-1, output_type=tf.int32)

    def compute_output_spec(self, inputs):
        batch, height, width, channels = inputs.shape

        def pooled(n):
            if n is None:
                return None
            return -(-n // self.size) if self.padding == "same" else n // self.size

        shape = (batch, pooled(height), pooled(width), channels)
        return keras.KerasTensor(shape, self.compute_dtype), keras.KerasTensor(shape, "int32")


class WindowMaxUnpooling2D(keras.layers.Layer):
    """Inverse of `WindowMaxPooling2D`: values back at their window positions."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, inputs):
        values, positions, reference = inputs
        k = self.size
        # Each value where its window position is i, else 0, by a select rather than
        # `values * tf.one_hot(...)`: TFLite's int8 ONE_HOT writes its on/off values as
        # raw int8 codes, which the converter quantises with a zero point of their own,
        # so "off" was read as 0.5 under the output's zero point of -128 and every
        # unpooled map got half of each maximum in the other window positions (the
        # int8 decoder's error). The select's 0 is quantised with its output's
        # parameters, so it is exactly 0, and no float mask is materialised.
        # depth_to_space wants channels ordered (dy, dx, c): window position major.
        zero = tf.zeros((), values.dtype)
        parts = [tf.where(tf.equal(positions, i), values, zero) for i in range(k * k)]
        spread = tf.nn.depth_to_space(tf.concat(parts, axis=-1), k)
        return spread[:, : tf.shape(reference)[1], : tf.shape(reference)[2], :]

    def compute_output_spec(self, inputs):
        values, _, reference = inputs
        shape = (values.shape[0], reference.shape[1], reference.shape[2], values.shape[3])
        return keras.KerasTensor(shape, self.compute_dtype)


def _portable_pool(layer: MaxPoolingWithArgmax2D) -> keras.layers.Layer | None:
    size = layer.pool_size[0]
    if layer.pool_size != (size, size) or layer.strides != layer.pool_size:
        return None
    return WindowMaxPooling2D(size, layer.padding, name=layer.name, dtype=layer.dtype_policy)


def portable_clone(model: keras.Model) -> keras.Model:
    """Copy ``model`` (weights included) with builtin-only pooling and unpooling.

    Args:
        model: A functional Keras model, e.g. from ``segnet_tf.get_model``.

    Returns:
        The copy; ``model`` itself if it has no pooling-with-argmax layer.

    Raises:
        ValueError: If a pooling layer has non-square or overlapping windows, or an
            unpooling layer is not called with ``[values, indices, reference]``.
    """
    if not any(isinstance(layer, MaxPoolingWithArgmax2D) for layer in model.layers):
        return model

    def replace(layer):
        if isinstance(layer, MaxPoolingWithArgmax2D):
            replacement = _portable_pool(layer)
            if replacement is None:
                raise ValueError(
                    f"Layer {layer.name!r} pools {layer.pool_size} windows with strides "
                    f"{layer.strides}; the builtin-only export supports square windows with "
                    "strides equal to the pool size. Export with SELECT_TF_OPS instead."
                )
            return replacement
        if isinstance(layer, MaxUnpooling2D):
            # SegNet unpools with the mirrored encoder's pool size (decoder i <- block i).
            return WindowMaxUnpooling2D(layer.pool_size[0], name=layer.name)
        return None

    clone = clone_replacing(model, replace)
    producer = producers(clone)
    for layer in clone.layers:
        if isinstance(layer, WindowMaxUnpooling2D):
            inbound = keras.tree.flatten(layer.input)
            if len(inbound) != 3:
                raise ValueError(
                    f"Unpooling layer {layer.name!r} is called on {len(inbound)} inputs; the "
                    "builtin-only export needs [values, indices, reference]."
                )
            source = producer.get(id(inbound[1]))
            if isinstance(source, WindowMaxPooling2D) and source.size != layer.size:
                layer.size = source.size  # follow the pooling that made the positions
    return clone


def without_mc_dropout(model: keras.Model) -> keras.Model:
    """Copy ``model`` (weights included) with its Monte-Carlo dropout layers removed.

    Keras' dropout scales at training time, so removing it gives the deterministic
    "weight averaging" prediction of Bayesian SegNet (Kendall et al. 2015, a bit
    less accurate than Monte-Carlo averaging but one pass and reproducible). It is
    also what lets the weights be frozen: the dropout seed is a variable updated at
    every call.

    Args:
        model: A functional Keras model.

    Returns:
        The copy; ``model`` itself if it has no ``MonteCarloDropout`` layer.
    """
    if not any(isinstance(layer, MonteCarloDropout) for layer in model.layers):
        return model

    def replace(layer):
        if isinstance(layer, MonteCarloDropout):
            return keras.layers.Identity(name=layer.name)
        return None

    return clone_replacing(model, replace)
