"""U-Net, for comparison with SegNet.

Reference: Ronneberger, Fischer, Brox. "U-Net: Convolutional Networks for
Biomedical Image Segmentation". MICCAI 2015.
"""

import keras
from keras import layers

from segnet_tf.layers import CropToMatch
from segnet_tf.models._blocks import (
    check_num_classes,
    conv_bn,
    float32_logits,
    image_input,
    scaled_filters,
    standardize,
)
from segnet_tf.models.registry import register_model


def _double_conv(x, filters, name):
    x = conv_bn(x, filters, 3, f"{name}_conv1")
    return conv_bn(x, filters, 3, f"{name}_conv2")


@register_model("unet")
def build_unet(
    num_classes: int,
    width: float = 1.0,
    depth: int = 4,
    input_shape=(None, None, 3),
    name: str = "unet",
) -> keras.Model:
    """U-Net: an encoder-decoder whose decoder concatenates the encoder's features.

    Where SegNet's decoder receives only the pooling indices, U-Net's receives the
    whole encoder feature maps. Convolutions are "same"-padded and followed by batch
    normalisation; upsampled maps are cropped to their skip connection, so any
    input size works.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on the filters (64, 128, ..., 64 * 2**depth).
            Defaults to 1.0.
        depth: int. Number of poolings. Defaults to 4.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.
    """
    check_num_classes(num_classes)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"`depth` must be a positive int. Received: depth={depth!r}")
    filters = [scaled_filters(64 * 2**level, width) for level in range(depth + 1)]
    images = image_input(input_shape)
    x = standardize(images)

    skips = []
    for level in range(depth):
        x = _double_conv(x, filters[level], f"down{level + 1}")
        skips.append(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"down{level + 1}_pool")(x)
    x = _double_conv(x, filters[depth], "bottleneck")
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(filters[level], 2, strides=2, name=f"up{level + 1}_transpose")(x)
        x = CropToMatch(name=f"up{level + 1}_crop")([x, skips[level]])
        x = layers.Concatenate(name=f"up{level + 1}_concat")([skips[level], x])
        x = _double_conv(x, filters[level], f"up{level + 1}")

    x = layers.Conv2D(num_classes, 1, name="classifier")(x)
    return keras.Model(images, float32_logits(x), name=name)
