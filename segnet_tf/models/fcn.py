"""Fully convolutional networks FCN-32s and FCN-8s, for comparison with SegNet.

Reference: Long, Shelhamer, Darrell. "Fully Convolutional Networks for Semantic
Segmentation". CVPR 2015.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from segnet_tf.layers import CropToMatch
from segnet_tf.models._blocks import (
    VGG16_BLOCKS,
    check_num_classes,
    conv_block,
    conv_bn,
    logits_output,
    network_input,
    scaled_filters,
    standardize,
)
from segnet_tf.models.base import (
    SegmentationModel,
    check_logit_offsets,
    check_positive_int,
    layer_dtype_policy,
)
from segnet_tf.models.registry import register_model


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


@keras.saving.register_keras_serializable(package="segnet_tf")
class FCN(SegmentationModel):
    """Fully convolutional network: a VGG16 encoder and learned bilinear upsampling.

    ``stride=32`` is FCN-32s (one 32x upsampling of the fc7 scores); ``stride=8`` is
    FCN-8s (the scores fused with finer predictions from pool4 and pool3, then
    upsampled 8x). Convolutions carry batch normalisation (the original does not) so
    that the network trains from scratch.

    Args:
        num_classes: int. Number of output classes.
        stride: 32 or 8. Output stride of the last upsampling. Defaults to 32.
        width: float. Multiplier on every layer's filters. Defaults to 1.0.
        fc_filters: int. Filters of the convolutionised fc6/fc7. Defaults to 4096.
        input_scale: float. See `SegmentationModel`. Defaults to 1.0.
        training_size: See `SegmentationModel`. Defaults to None.
        class_logit_offsets: None or one logit offset per class. Defaults to None.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        dtype: None or a dtype policy (name) for the layers.
        name: str. Model name.
    """

    has_vgg16_encoder = True

    def __init__(
        self,
        num_classes: int,
        stride: int = 32,
        width: float = 1.0,
        fc_filters: int = 4096,
        input_scale: float = 1.0,
        class_logit_offsets=None,
        training_size=None,
        input_shape=(None, None, 3),
        dtype=None,
        name: str = "fcn",
        **kwargs,
    ):
        # === Config checks ===
        check_num_classes(num_classes)
        if stride not in (8, 32):
            raise ValueError(f"`stride` must be 8 (FCN-8s) or 32 (FCN-32s). Received: {stride!r}")
        check_positive_int(fc_filters, "fc_filters")
        offsets = check_logit_offsets(class_logit_offsets, num_classes)
        policy = self._resolve_dtype(dtype)

        # === Layers and functional model ===
        with layer_dtype_policy(policy):
            images, x = network_input(input_shape, input_scale)
            network_images = x
            x = standardize(x)
            pools = []
            for index, (block_filters, num_convs) in enumerate(VGG16_BLOCKS, start=1):
                x = conv_block(
                    x, scaled_filters(block_filters, width), num_convs, 3, f"block{index}"
                )
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
            x = CropToMatch(name="crop_to_input")([x, network_images])
            logits = logits_output(x, images, input_scale, offsets)
        super().__init__(inputs=images, outputs=logits, name=name, dtype=policy, **kwargs)

        # === Config ===
        self._store_common_config(
            num_classes, input_scale, offsets, input_shape, policy, training_size
        )
        self.stride = stride
        self.width = float(width)
        self.fc_filters = fc_filters

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "stride": self.stride,
            "width": self.width,
            "fc_filters": self.fc_filters,
        }


# FCN-32s: one 32x learned bilinear upsampling of the VGG16 encoder's scores.
register_model("fcn32s", FCN, stride=32)
# FCN-8s: FCN-32s with skip predictions from pool4 and pool3, upsampled 8x.
register_model("fcn8s", FCN, stride=8)
