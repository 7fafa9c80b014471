"""Initialising a VGG16-style encoder from Keras' VGG16 weights."""

import os

import keras
import numpy as np

from segnet_tf.models._blocks import IMAGENET_STD_RGB


def load_vgg16_encoder_weights(model: keras.Model, weights) -> None:
    """Copies VGG16 convolution weights into the encoder of `model`.

    The encoder's convolutions must be named like Keras' VGG16
    (`block1_conv1` ... `block5_conv3`) and have the same shapes (full width).
    Keras' VGG16 weights expect Caffe-style inputs (BGR, mean subtracted, not
    divided by the standard deviation); our models standardise RGB inputs, so the
    first kernel's input channels are reversed and scaled by the channel standard
    deviations, which makes the first convolution's output identical.

    Args:
        model: keras.Model. A SegNet or FCN built at width 1.0.
        weights: `"imagenet"` (downloaded by Keras) or the path to a VGG16
            `.h5` / `.weights.h5` weights file (with or without the top).
    """
    if weights != "imagenet":
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise ValueError(
                "`encoder_weights` must be None, 'imagenet' or the path to a VGG16 weights "
                f"file (.h5 / .weights.h5). No file at: {weights!r}"
            )
    vgg = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(None, None, 3))
    for source in vgg.layers:
        if not isinstance(source, keras.layers.Conv2D):
            continue
        try:
            target = model.get_layer(source.name)
        except ValueError as error:
            raise ValueError(
                f"Model {model.name!r} has no layer {source.name!r} to receive VGG16 weights."
            ) from error
        kernel, bias = source.get_weights()
        if source.name == "block1_conv1":
            kernel = kernel[:, :, ::-1, :] * np.reshape(IMAGENET_STD_RGB, (1, 1, 3, 1))
        if target.kernel.shape != kernel.shape:
            raise ValueError(
                f"Layer {source.name!r} has kernel shape {tuple(target.kernel.shape)} but VGG16's "
                f"is {kernel.shape}; ImageNet initialisation needs width=1.0."
            )
        target.set_weights([kernel, bias])
