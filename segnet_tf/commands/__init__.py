"""The commands as library functions: a config dataclass in, a result out.

=============  =====================  ===============================================
function       config                 writes
=============  =====================  ===============================================
``evaluate``   :class:`EvaluateConfig`  ``metrics.json``, ``confusion_matrix.png``,
                                      ``eval_config.json``
``adjust``     :class:`AdjustConfig`    the adjusted ``.keras``,
                                      ``logit_adjustment.json``, ``adjust_config.json``
``predict``    :class:`PredictConfig`   masks, overlays, ``predict_config.json``
``export``     :class:`ExportConfig`    the export, ``<export>.config.json``
=============  =====================  ===============================================

(``segnet_tf.training.train(TrainConfig)`` is the fifth.) Each function validates
its config before touching any file, and writes the resolved config (defaults and
the values taken from a training run filled in) beside its outputs, so that
``Config.load(path)`` repeats the call. The ``segnet`` subcommands are generated
from the same dataclasses: one field, one flag.

The configs import no TensorFlow; the functions import it when called.
"""

import importlib

# Public name -> module that defines it.
_LAZY_ATTRIBUTES = {
    "EvaluateConfig": "segnet_tf.commands.evaluation",
    "EvaluateResult": "segnet_tf.commands.evaluation",
    "evaluate": "segnet_tf.commands.evaluation",
    "AdjustConfig": "segnet_tf.commands.adjustment",
    "AdjustResult": "segnet_tf.commands.adjustment",
    "adjust": "segnet_tf.commands.adjustment",
    "PredictConfig": "segnet_tf.commands.prediction",
    "PredictResult": "segnet_tf.commands.prediction",
    "predict": "segnet_tf.commands.prediction",
    "ExportConfig": "segnet_tf.commands.exporting",
    "ExportResult": "segnet_tf.commands.exporting",
    "export": "segnet_tf.commands.exporting",
}

__all__ = list(_LAZY_ATTRIBUTES)


def __getattr__(name):
    if name not in _LAZY_ATTRIBUTES:
        raise AttributeError(f"module 'segnet_tf.commands' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
