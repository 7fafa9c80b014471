"""The SegNet model family and the comparison models, behind one registry."""

# Importing the builders registers them.
from segnet_tf.models import fcn, segnet, unet  # noqa: F401
from segnet_tf.models.folding import FoldedBatchNorm, fold_batch_norm
from segnet_tf.models.input_scale import with_input_scale
from segnet_tf.models.logit_adjustment import class_prior_offsets, with_logit_adjustment
from segnet_tf.models.monte_carlo import MonteCarloPrediction, has_mc_dropout, mc_predict
from segnet_tf.models.registry import get_model, list_models, register_model

__all__ = [
    "class_prior_offsets",
    "FoldedBatchNorm",
    "fold_batch_norm",
    "MonteCarloPrediction",
    "get_model",
    "has_mc_dropout",
    "list_models",
    "mc_predict",
    "register_model",
    "with_input_scale",
    "with_logit_adjustment",
]
