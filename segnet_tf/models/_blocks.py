"""Building blocks shared by the model builders."""

import keras
from keras import layers

from segnet_tf.layers import (
    ClassLogitOffset,
    FusedBatchNormalization,
    ResizeToMatch,
    ScaleSpatial,
)
from segnet_tf.layers.resize import check_scale

# ImageNet channel statistics on the 0..255 scale (RGB; the means are those of
# the Caffe VGG16 weights). Every model takes
# float RGB images in [0, 255] and standardises them with these, so that
# users feed the same pixels to every architecture.
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)

# (filters, convolutions) of each block of VGG16's convolutional part, the encoder
# of SegNet and FCN.
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))

# Name of the layer that adds post-hoc logit offsets (`class_logit_offsets`).
LOGIT_ADJUSTMENT_LAYER = "logit_adjustment"


def check_num_classes(num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an int >= 2 (a segmentation needs at least two "
            f"classes). Received: num_classes={num_classes!r}"
        )
    return num_classes


def scaled_filters(filters: int, width: float) -> int:
    """Number of filters of a layer of `filters` channels at width multiplier `width`."""
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(f"`width` must be a positive number. Received: width={width!r}")
    scaled = int(round(filters * width))
    if scaled < 1:
        raise ValueError(
            f"width={width} leaves a {filters}-filter layer with no filters; "
            f"use width >= {0.5 / filters:.3g}."
        )
    return scaled


def image_input(input_shape) -> keras.KerasTensor:
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels) with None for any size. "
            f"Received: input_shape={input_shape!r}"
        )
    return keras.Input(shape=input_shape, name="images")


def standardize(images):
    """Standardises [0, 255] RGB images with the ImageNet channel statistics."""
    return layers.Normalization(
        mean=IMAGENET_MEAN_RGB,
        variance=[s * s for s in IMAGENET_STD_RGB],
        name="standardize",
    )(images)


def conv_bn(x, filters, kernel_size, name, use_bias=True, activation=True):
    """Convolution, batch normalisation and (optionally) ReLU."""
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias, name=name)(x)
    # Same function and variables as keras.layers.BatchNormalization, one fused op
    # (15% faster SegNet-Basic training under mixed_bfloat16 on CPU).
    x = FusedBatchNormalization(name=f"{name}_bn")(x)
    if activation:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def conv_block(x, filters, num_convs, kernel_size, prefix, use_bias=True):
    """``num_convs`` x (conv + BN + ReLU), layers ``{prefix}_conv1`` ... (VGG16's names
    with ``prefix="block{i}"``)."""
    for conv in range(1, num_convs + 1):
        x = conv_bn(x, filters, kernel_size, f"{prefix}_conv{conv}", use_bias)
    return x


def float32_logits(x):
    """Casts the final map to float32 so that logits and loss stay float32
    under a mixed precision policy."""
    return layers.Activation("linear", dtype="float32", name="logits")(x)


def network_input(input_shape, input_scale: float):
    """The model's image input and the tensor its layers start from.

    Returns:
        ``(images, x)``: ``x`` is ``images`` resized by ``input_scale`` (the layer
        ``input_scale``), or ``images`` itself at scale 1.
    """
    images = image_input(input_shape)
    if check_scale(input_scale) == 1.0:
        return images, images
    return images, ScaleSpatial(input_scale, name="input_scale")(images)


def logits_output(x, images, input_scale: float, class_logit_offsets):
    """The model's output: float32 logits at the input's size, plus any offsets.

    Args:
        x: The classifier's output.
        images: The model's input, whose size the logits are resized to when
            ``input_scale`` is not 1 (layer ``logits_resize``).
        input_scale: float. As given to `network_input`.
        class_logit_offsets: None or one offset per class (layer ``logit_adjustment``).
    """
    logits = float32_logits(x)
    if check_scale(input_scale) != 1.0:
        logits = ResizeToMatch(name="logits_resize", dtype="float32")([logits, images])
    if class_logit_offsets is not None:
        logits = ClassLogitOffset(
            class_logit_offsets, name=LOGIT_ADJUSTMENT_LAYER, dtype="float32"
        )(logits)
    return logits
