"""Layers of the SegNet family."""

from segnet_tf.layers.class_logit_offset import ClassLogitOffset
from segnet_tf.layers.crop_to_match import CropToMatch
from segnet_tf.layers.fused_batch_norm import FusedBatchNormalization
from segnet_tf.layers.max_pooling_with_argmax2d import MaxPoolingWithArgmax2D
from segnet_tf.layers.max_unpooling2d import MaxUnpooling2D
from segnet_tf.layers.monte_carlo_dropout import MonteCarloDropout
from segnet_tf.layers.resize import ResizeToMatch, ScaleSpatial

__all__ = [
    "ClassLogitOffset",
    "CropToMatch",
    "FusedBatchNormalization",
    "MaxPoolingWithArgmax2D",
    "MaxUnpooling2D",
    "MonteCarloDropout",
    "ResizeToMatch",
    "ScaleSpatial",
]
