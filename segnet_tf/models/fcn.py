"""Fully convolutional networks FCN-32s and FCN-8s, for comparison with SegNet.

Reference: Long, Shelhamer, Darrell. "Fully Convolutional Networks for Semantic
Segmentation". CVPR 2015.
"""

import keras
import numpy as np
from keras import layers

from segnet_tf.layers import CropToMatch
from segnet_tf.models._blocks import (
    VGG16_BLOCKS,
    check_num_classes,
    conv_bn,
    float32_logits,
    image_input,
    scaled_filters,
    standardize,
)
from segnet_tf.models.registry import register_model
from segnet_tf.models.vgg16_weights import load_vgg16_encoder_weights


@keras.saving.register_keras_serializable(package="segnet_tf")
class BilinearUpsampling(keras.initializers.Initializer):
    """Initialises a `Conv2DTranspose` kernel as per-channel bilinear upsampling,
    FCN's starting point for its learned upsampling."""

    def __call__(self, shape, dtype=None):
        kernel_h, kernel_w, out_channels, in_channels = shape

        def profile(size):
            factor = (size + 1) // 2
            center = factor - 1 if size % 2 == 1 else factor - 0.5
            return 1 - np.abs(np.arange(size) - center) / factor

        weights = np.zeros(shape, dtype="float32")
        bilinear = np.outer(profile(kernel_h), profile(kernel_w))
        for channel in range(min(out_channels, in_channels)):
            weights[:, :, channel, channel] = bilinear
        return keras.ops.convert_to_tensor(weights, dtype=dtype)


def _upsample(x, num_classes, factor, name):
    return layers.Conv2DTranspose(
        num_classes,
        2 * factor,
        strides=factor,
        padding="same",
        use_bias=False,
        kernel_initializer=BilinearUpsampling(),
        name=name,
    )(x)


def _build_fcn(num_classes, stride, width, fc_filters, encoder_weights, input_shape, name):
    check_num_classes(num_classes)
    images = image_input(input_shape)
    x = standardize(images)
    pools = []
    for index, (block_filters, num_convs) in enumerate(VGG16_BLOCKS, start=1):
        for conv in range(1, num_convs + 1):
            x = conv_bn(x, scaled_filters(block_filters, width), 3, f"block{index}_conv{conv}")
        x = layers.MaxPooling2D(2, padding="same", name=f"block{index}_pool")(x)
        pools.append(x)
    # VGG's fully connected layers as convolutions.
    x = conv_bn(x, scaled_filters(fc_filters, width), 7, "fc6")
    x = layers.Dropout(0.5, name="fc6_dropout")(x)
    x = conv_bn(x, scaled_filters(fc_filters, width), 1, "fc7")
    x = layers.Dropout(0.5, name="fc7_dropout")(x)
    score = layers.Conv2D(num_classes, 1, name="score_fc7")(x)

    if stride == 8:
        # Fuse with finer predictions from pool4 (stride 16) and pool3 (stride 8).
        for pool_index in (4, 3):
            pool = pools[pool_index - 1]
            up = _upsample(score, num_classes, 2, f"upscore_to_pool{pool_index}")
            up = CropToMatch(name=f"crop_to_pool{pool_index}")([up, pool])
            skip = layers.Conv2D(num_classes, 1, name=f"score_pool{pool_index}")(pool)
            score = layers.Add(name=f"fuse_pool{pool_index}")([up, skip])
    x = _upsample(score, num_classes, stride, "upscore_final")
    x = CropToMatch(name="crop_to_input")([x, images])
    model = keras.Model(images, float32_logits(x), name=name)
    if encoder_weights is not None:
        load_vgg16_encoder_weights(model, encoder_weights)
    return model


@register_model("fcn32s")
def build_fcn32s(
    num_classes: int,
    width: float = 1.0,
    fc_filters: int = 4096,
    encoder_weights=None,
    input_shape=(None, None, 3),
    name: str = "fcn32s",
) -> keras.Model:
    """FCN-32s: a VGG16 encoder and one 32x learned bilinear upsampling.

    Convolutions carry batch normalisation (the original does not) so that the
    network trains from scratch.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on every layer's filters. Defaults to 1.0.
        fc_filters: int. Filters of the convolutionised fc6/fc7. Defaults to 4096.
        encoder_weights: None, `"imagenet"` or a VGG16 weights file (width 1.0 only).
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.
    """
    return _build_fcn(num_classes, 32, width, fc_filters, encoder_weights, input_shape, name)


@register_model("fcn8s")
def build_fcn8s(
    num_classes: int,
    width: float = 1.0,
    fc_filters: int = 4096,
    encoder_weights=None,
    input_shape=(None, None, 3),
    name: str = "fcn8s",
) -> keras.Model:
    """FCN-8s: FCN-32s with skip predictions from pool4 and pool3, upsampled 8x.

    Args:
        num_classes: int. Number of output classes.
        width: float. Multiplier on every layer's filters. Defaults to 1.0.
        fc_filters: int. Filters of the convolutionised fc6/fc7. Defaults to 4096.
        encoder_weights: None, `"imagenet"` or a VGG16 weights file (width 1.0 only).
        input_shape: tuple. `(height, width, 3)`; None for any size.
        name: str. Model name.
    """
    return _build_fcn(num_classes, 8, width, fc_filters, encoder_weights, input_shape, name)
