"""Training and evaluation: ``train(config)``, the loss, schedules and callbacks.

Names are imported on first use: the ``segnet`` parser imports
``segnet_tf.training.config`` (for ``segnet train``'s options), which must not import
TensorFlow, so this package may not import its other modules up front. To load a
trained model with its compile state, use :func:`load_trained_model` (it registers the
custom loss, schedules, metrics and layers with Keras first).
"""

import importlib

# Public name -> module that defines it.
_LAZY_ATTRIBUTES = {
    "TrainConfig": "segnet_tf.training.config",
    "train": "segnet_tf.training.trainer",
    "TrainResult": "segnet_tf.training.trainer",
    "TrainingDivergedError": "segnet_tf.training.errors",
    "evaluate_model": "segnet_tf.training.evaluate",
    "format_results": "segnet_tf.training.evaluate",
    "write_results": "segnet_tf.training.evaluate",
    "MaskedSparseCategoricalCrossentropy": "segnet_tf.training.losses",
    "DiceLoss": "segnet_tf.training.losses",
    "FocalLoss": "segnet_tf.training.losses",
    "LovaszSoftmaxLoss": "segnet_tf.training.losses",
    "OhemCrossEntropy": "segnet_tf.training.losses",
    "WeightedSumLoss": "segnet_tf.training.losses",
    "make_loss": "segnet_tf.training.losses",
    "PolyDecay": "segnet_tf.training.schedules",
    "WarmupCosineDecay": "segnet_tf.training.schedules",
    "make_schedule": "segnet_tf.training.schedules",
    "load_trained_model": "segnet_tf.training.saving",
    "sweep_logit_adjustment": "segnet_tf.training.logit_adjustment",
    "best_logit_adjustment": "segnet_tf.training.logit_adjustment",
    "register_custom_objects": "segnet_tf.training.saving",
}

__all__ = list(_LAZY_ATTRIBUTES)


def __getattr__(name):
    if name not in _LAZY_ATTRIBUTES:
        raise AttributeError(f"module 'segnet_tf.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
