"""Cropping an upsampled map back to the size of a reference map."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="segnet_tf")
class CropToMatch(keras.layers.Layer):
    """Crops `x` to the height and width of `reference` (top-left aligned).

    Pooling with "same" padding rounds odd sizes up, so upsampling by the same
    factor gives a map that is at least as large as the one it must be fused
    with. Cropping it back lets U-Net and FCN accept any input size, not only
    multiples of their total stride.

    Called on `[x, reference]`; returns `x[:, :ref_height, :ref_width, :]`.
    """

    def call(self, inputs):
        x, reference = inputs
        reference_shape = ops.shape(reference)
        return x[:, : reference_shape[1], : reference_shape[2], :]

    def compute_output_shape(self, input_shape):
        x_shape, reference_shape = input_shape
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])
