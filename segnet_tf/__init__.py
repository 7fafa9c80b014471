"""segnet_tf: SegNet-family semantic segmentation for Keras 3 / TensorFlow.

Importing the package registers every Keras object it defines (layers, initializers,
metrics, the loss, learning-rate schedules), so that `keras.saving.load_model` reads
our `.keras` files after a plain `import segnet_tf`. The heavier parts (data sets,
which import tensorflow-datasets; inference; training) are imported on first use.
"""

import importlib

# Imported for their Keras registrations.
from segnet_tf import layers, metrics, models  # noqa: F401
from segnet_tf.training import losses, schedules  # noqa: F401

__version__ = "0.1.0"

# Public name -> module that defines it.
_LAZY_ATTRIBUTES = {
    "get_model": "segnet_tf.models",
    "list_models": "segnet_tf.models",
    "mc_predict": "segnet_tf.models",
    "Segmenter": "segnet_tf.inference",
    "train": "segnet_tf.training",
    "TrainConfig": "segnet_tf.training",
}
_SUBMODULES = (
    "classes",
    "data",
    "export",
    "inference",
    "layers",
    "metrics",
    "models",
    "plots",
    "training",
    "visualize",
)

__all__ = [*_LAZY_ATTRIBUTES, *_SUBMODULES]


def __getattr__(name):
    if name in _LAZY_ATTRIBUTES:
        value = getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"segnet_tf.{name}")
    else:
        raise AttributeError(f"module 'segnet_tf' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
