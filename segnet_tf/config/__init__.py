"""The configurations and the names they take, at the bottom of the package.

Nothing here imports TensorFlow or anything above it: the ``segnet`` parser reads
these to build its flags, the commands (:mod:`segnet_tf.commands`) and the trainer
(:mod:`segnet_tf.training`) import them from here.

- :mod:`~segnet_tf.config.training`: :class:`TrainConfig`, the loss, optimiser,
  schedule, class-weighting and strategy names;
- :mod:`~segnet_tf.config.evaluation`: :class:`EvaluateConfig` (``segnet evaluate``);
- :mod:`~segnet_tf.config.adjustment`: :class:`AdjustConfig` (``segnet adjust``),
  the logit-adjustment strengths (taus) and the scores that choose among them;
- :mod:`~segnet_tf.config.prediction`: :class:`PredictConfig` (``segnet predict``);
- :mod:`~segnet_tf.config.exporting`: :class:`ExportConfig` (``segnet export``), the
  export formats, quantizations and ONNX opset limits;
- :mod:`~segnet_tf.config.calibration`: :class:`CalibrateConfig` (``segnet calibrate``);
- :mod:`~segnet_tf.config.model_argument`: the MODEL argument (a ``.keras`` file, a
  preset folder or a bundled preset's name) and its field;
- :mod:`~segnet_tf.config.command_fields`: the fields several commands share (data
  source and folder, split, test-time augmentation, precision) and their checks;
- :mod:`~segnet_tf.config.prediction_settings`: the compute precisions, the
  test-time augmentation spec and the rule that Monte-Carlo sampling excludes it;
- :mod:`~segnet_tf.config.splits`: the split names and their SegNet-layout folders;
- :mod:`~segnet_tf.config.registered_names`: the model and data-source names the
  configs accept (the registries above enter theirs there).
"""

from segnet_tf.config.adjustment import DEFAULT_TAUS, SELECTION_METRICS, AdjustConfig
from segnet_tf.config.calibration import CalibrateConfig
from segnet_tf.config.evaluation import EvaluateConfig
from segnet_tf.config.exporting import FORMATS, QUANTIZATIONS, ExportConfig
from segnet_tf.config.prediction import PredictConfig
from segnet_tf.config.prediction_settings import PRECISIONS, TestTimeAugmentation
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
    "FORMATS",
    "LOSSES",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PRECISIONS",
    "QUANTIZATIONS",
    "SEGNET_LAYOUT",
    "SELECTION_METRICS",
    "SPLIT_ALIASES",
    "STRATEGIES",
    "AdjustConfig",
    "CalibrateConfig",
    "EvaluateConfig",
    "ExportConfig",
    "PredictConfig",
    "TestTimeAugmentation",
    "TrainConfig",
    "is_split_name",
    "normalize_split",
]
