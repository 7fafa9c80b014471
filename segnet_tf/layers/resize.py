"""Bilinear resizing layers: run a network at a fraction of its input's resolution."""

import keras
import tensorflow as tf

from segnet_tf.layers._validation import check_rank4


def check_scale(scale) -> float:
    """``scale`` as a float; ValueError unless it is a positive number."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"`scale` must be a positive number. Received: scale={scale!r}")
    return float(scale)


def scaled_length(length: int, scale: float) -> int:
    """``length * scale`` rounded, at least 1: the sizes :class:`ScaleSpatial` produces."""
    return max(1, round(length * scale))


@keras.saving.register_keras_serializable(package="segnet_tf")
class ScaleSpatial(keras.layers.Layer):
    """Resizes ``[B, H, W, C]`` maps bilinearly to ``round(H * scale), round(W * scale)``.

    Bilinear without antialiasing, like the training pipeline's ``crop_and_resize``
    (at scale 0.5 each output pixel is the mean of a 2x2 input block), and a builtin
    op of TFLite and ONNX.

    Args:
        scale: Positive factor, e.g. 0.5.
    """

    def __init__(self, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.scale = check_scale(scale)

    def build(self, input_shape):
        check_rank4(input_shape, self.__class__.__name__, "inputs")

    def call(self, inputs):
        size = tf.cast(tf.shape(inputs)[1:3], tf.float32) * self.scale
        size = tf.maximum(tf.cast(tf.round(size), tf.int32), 1)
        resized = tf.image.resize(inputs, size, method="bilinear")
        return tf.cast(resized, inputs.dtype)

    def compute_output_shape(self, input_shape):
        def scaled(length):
            return None if length is None else scaled_length(length, self.scale)

        batch, height, width, channels = input_shape
        return (batch, scaled(height), scaled(width), channels)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="segnet_tf")
class ResizeToMatch(keras.layers.Layer):
    """Resizes ``x`` bilinearly to the height and width of ``reference``.

    Called on ``[x, reference]``; the output has ``x``'s channels and dtype.
    """

    def call(self, inputs):
        x, reference = inputs
        resized = tf.image.resize(x, tf.shape(reference)[1:3], method="bilinear")
        return tf.cast(resized, x.dtype)

    def compute_output_shape(self, input_shape):
        x_shape, reference_shape = input_shape
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])
