"""The configurations and the names they take, at the bottom of the package.

Nothing here imports TensorFlow or anything above it: the ``segnet`` parser reads
these to build its flags, the commands (:mod:`segnet_tf.commands`) and the trainer
(:mod:`segnet_tf.training`) import them from here.

- :mod:`~segnet_tf.config.training`: :class:`TrainConfig`, the loss, optimiser,
  schedule, class-weighting and strategy names;
- :mod:`~segnet_tf.config.adjustment`: the logit-adjustment strengths (taus) and
  the scores that choose among them;
- :mod:`~segnet_tf.config.splits`: the split names and their SegNet-layout folders.
- :mod:`~segnet_tf.config.registered_names`: the model and data-source names the
  configs accept (the registries above enter theirs there).
"""

from segnet_tf.config.adjustment import DEFAULT_TAUS, SELECTION_METRICS
from segnet_tf.config.splits import SEGNET_LAYOUT, SPLIT_ALIASES, is_split_name, normalize_split
from segnet_tf.config.training import (
    CLASS_WEIGHTINGS,
    LOSSES,
    LR_SCHEDULES,
    OPTIMIZERS,
    STRATEGIES,
    TrainConfig,
)

__all__ = [
    "CLASS_WEIGHTINGS",
    "DEFAULT_TAUS",
    "LOSSES",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "SEGNET_LAYOUT",
    "SELECTION_METRICS",
    "SPLIT_ALIASES",
    "STRATEGIES",
    "TrainConfig",
    "is_split_name",
    "normalize_split",
]
