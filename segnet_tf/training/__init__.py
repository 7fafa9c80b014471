"""Training and evaluation: ``train(config)``, the losses, schedules and callbacks.

This package imports TensorFlow. The training configuration, which the ``segnet``
parser reads without TensorFlow, is :class:`segnet_tf.commands.TrainConfig` (also
importable from here). To load a trained model with its compile state, use
:func:`load_trained_model` (it registers the custom loss, schedules, metrics and
layers with Keras first).
"""

from segnet_tf.config.training import TrainConfig
from segnet_tf.training.epoch_times import read_epoch_times
from segnet_tf.training.errors import TrainingDivergedError
from segnet_tf.training.evaluate import evaluate_model, format_results, write_results
from segnet_tf.training.logit_adjustment import best_logit_adjustment, sweep_logit_adjustment
from segnet_tf.training.losses import (
    DiceLoss,
    FocalLoss,
    LovaszSoftmaxLoss,
    MaskedSparseCategoricalCrossentropy,
    OhemCrossEntropy,
    WeightedSumLoss,
    make_loss,
)
from segnet_tf.training.saving import load_trained_model, register_custom_objects
from segnet_tf.training.schedules import PolyDecay, WarmupCosineDecay, make_schedule
from segnet_tf.training.trainer import TrainResult, train

__all__ = [
    "TrainConfig",
    "train",
    "TrainResult",
    "TrainingDivergedError",
    "evaluate_model",
    "format_results",
    "write_results",
    "read_epoch_times",
    "MaskedSparseCategoricalCrossentropy",
    "DiceLoss",
    "FocalLoss",
    "LovaszSoftmaxLoss",
    "OhemCrossEntropy",
    "WeightedSumLoss",
    "make_loss",
    "PolyDecay",
    "WarmupCosineDecay",
    "make_schedule",
    "load_trained_model",
    "sweep_logit_adjustment",
    "best_logit_adjustment",
    "register_custom_objects",
]
