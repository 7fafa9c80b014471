"""The commands as library functions: a config dataclass in, a result out.

=============  =====================  ===============================================
function       config                 writes
=============  =====================  ===============================================
``train``      :class:`TrainConfig`     the run folder: ``config.json``, ``best.keras``,
                                      ``model.keras``, ``history.csv``, ``metrics.json``
``evaluate``   :class:`EvaluateConfig`  ``metrics.json``, ``confusion_matrix.png``,
                                      ``eval_config.json``
``adjust``     :class:`AdjustConfig`    the adjusted ``.keras``,
                                      ``logit_adjustment.json``, ``adjust_config.json``
``predict``    :class:`PredictConfig`   masks, overlays, ``predict_config.json``
``export``     :class:`ExportConfig`    the export, ``<export>.config.json``
``calibrate``  :class:`CalibrateConfig` ``<model>.domain.npz`` (out-of-domain detector),
                                      ``<model>.domain.config.json``
=============  =====================  ===============================================

Each function validates its config before touching any file, and writes the resolved
config (defaults and the values taken from a training run filled in) beside its
outputs, so that ``Config.load(path)`` repeats the call. The ``segnet`` subcommands
are generated from the same dataclasses: one field, one flag. The configs live in
:mod:`segnet_tf.config` (no TensorFlow) and are importable from here too.

Importing this package imports no TensorFlow (the ``segnet`` parser reads the
configs); each function imports it when called, and ``train`` (the trainer's own
:func:`segnet_tf.training.train`) is imported when first used.
"""

from segnet_tf.commands.adjustment import AdjustResult, adjust
from segnet_tf.commands.calibration import CalibrateResult, calibrate
from segnet_tf.commands.evaluation import EvaluateResult, evaluate
from segnet_tf.commands.exporting import ExportResult, export
from segnet_tf.commands.prediction import PredictResult, predict
from segnet_tf.config import (
    AdjustConfig,
    CalibrateConfig,
    EvaluateConfig,
    ExportConfig,
    PredictConfig,
    TrainConfig,
)

__all__ = [
    "TrainConfig",
    "train",
    "EvaluateConfig",
    "EvaluateResult",
    "evaluate",
    "AdjustConfig",
    "AdjustResult",
    "adjust",
    "PredictConfig",
    "PredictResult",
    "predict",
    "ExportConfig",
    "ExportResult",
    "export",
    "CalibrateConfig",
    "CalibrateResult",
    "calibrate",
]


def __getattr__(name: str):
    # `train` is segnet_tf.training.train itself, which imports TensorFlow: it is
    # imported when first asked for, so that the parser's import of this package
    # stays light (PEP 562).
    if name == "train":
        from segnet_tf.training.trainer import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
