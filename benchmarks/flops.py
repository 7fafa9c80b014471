"""Floating-point operations of a model's convolutions, per image."""

import keras


def conv_flops_per_image(model: keras.Model) -> int:
    """FLOPs (2 per multiply-add) of one forward pass of one image through every
    `Conv2D` of `model`, which must have a fixed input height and width.

    Convolutions are all but a few percent of SegNet's work; batch normalisation,
    pooling and unpooling are memory-bound and left out. A training step costs
    about three times this (forward, gradient of the input, gradient of the
    weights).
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, out_channels = layer.output.shape
            if height is None or width is None:
                raise ValueError("conv_flops_per_image needs a model with a fixed input size.")
            kernel_h, kernel_w, in_channels_per_group, _ = layer.kernel.shape
            total += 2 * height * width * out_channels * kernel_h * kernel_w * in_channels_per_group
    return int(total)
