"""The SegNet model family and the comparison models, behind one registry."""

# Importing the model modules registers their configurations.
from segnet_tf.models import fcn, segnet, unet  # noqa: F401
from segnet_tf.models.base import SegmentationModel
from segnet_tf.models.fcn import FCN
from segnet_tf.models.folding import FoldedBatchNorm, fold_batch_norm
from segnet_tf.models.input_scale import with_input_scale
from segnet_tf.models.logit_adjustment import class_prior_offsets, with_logit_adjustment
from segnet_tf.models.monte_carlo import MonteCarloPrediction, has_mc_dropout, mc_predict
from segnet_tf.models.pooling_taps import PoolingTap, pooling_taps
from segnet_tf.models.registry import get_model, list_models, model_arguments, register_model
from segnet_tf.models.segnet import SegNet
from segnet_tf.models.unet import UNet

__all__ = [
    "class_prior_offsets",
    "FCN",
    "FoldedBatchNorm",
    "fold_batch_norm",
    "MonteCarloPrediction",
    "get_model",
    "has_mc_dropout",
    "list_models",
    "mc_predict",
    "model_arguments",
    "PoolingTap",
    "pooling_taps",
    "register_model",
    "SegmentationModel",
    "SegNet",
    "UNet",
    "with_input_scale",
    "with_logit_adjustment",
]
