"""U-Net, for comparison with SegNet.

Reference: Ronneberger, Fischer, Brox. "U-Net: Convolutional Networks for
Biomedical Image Segmentation". MICCAI 2015.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from segnet_tf.layers import CropToMatch
from segnet_tf.models._blocks import (
    check_num_classes,
    conv_block,
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
class UNet(SegmentationModel):
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
        input_scale: float. See `SegmentationModel`. Defaults to 1.0.
        training_size: See `SegmentationModel`. Defaults to None.
        class_logit_offsets: None or one logit offset per class. Defaults to None.
        input_shape: tuple. `(height, width, 3)`; None for any size.
        dtype: None or a dtype policy (name) for the layers.
        name: str. Model name.
    """

    def __init__(
        self,
        num_classes: int,
        width: float = 1.0,
        depth: int = 4,
        input_scale: float = 1.0,
        class_logit_offsets=None,
        training_size=None,
        input_shape=(None, None, 3),
        dtype=None,
        name: str = "unet",
        **kwargs,
    ):
        # === Config checks ===
        check_num_classes(num_classes)
        check_positive_int(depth, "depth")
        filters = [scaled_filters(64 * 2**level, width) for level in range(depth + 1)]
        offsets = check_logit_offsets(class_logit_offsets, num_classes)
        policy = self._resolve_dtype(dtype)

        # === Layers and functional model ===
        with layer_dtype_policy(policy):
            images, x = network_input(input_shape, input_scale)
            x = standardize(x)
            skips = []
            for level in range(depth):
                x = conv_block(x, filters[level], 2, 3, f"down{level + 1}")
                skips.append(x)
                x = layers.MaxPooling2D(2, padding="same", name=f"down{level + 1}_pool")(x)
            x = conv_block(x, filters[depth], 2, 3, "bottleneck")
            for level in reversed(range(depth)):
                x = layers.Conv2DTranspose(
                    filters[level], 2, strides=2, name=f"up{level + 1}_transpose"
                )(x)
                x = CropToMatch(name=f"up{level + 1}_crop")([x, skips[level]])
                x = layers.Concatenate(name=f"up{level + 1}_concat")([skips[level], x])
                x = conv_block(x, filters[level], 2, 3, f"up{level + 1}")
            x = layers.Conv2D(num_classes, 1, name="classifier")(x)
            logits = logits_output(x, images, input_scale, offsets)
        super().__init__(inputs=images, outputs=logits, name=name, dtype=policy, **kwargs)

        # === Config ===
        self._store_common_config(
            num_classes, input_scale, offsets, input_shape, policy, training_size
        )
        self.width = float(width)
        self.depth = depth

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "width": self.width, "depth": self.depth}


register_model("unet", UNet)
