"""segnet_tf: SegNet-family semantic segmentation for Keras 3 / TensorFlow.

The package's names load when first used (PEP 562): ``import segnet_tf`` imports no
TensorFlow, so that ``segnet --help`` answers at once, and ``segnet_tf.get_model``,
``segnet_tf.Segmenter``, ``segnet_tf.train``... or any subpackage such as
``segnet_tf.models`` import what they need on first access. The first access to one
of the names below imports the whole public API (:func:`import_api`), which registers
every Keras object the package defines (layers, initializers, metrics, losses,
learning-rate schedules), so that ``keras.saving.load_model`` then reads our
``.keras`` files; ``segnet_tf.training.load_trained_model`` does that itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from segnet_tf.__about__ import __version__

if TYPE_CHECKING:  # what `import_api` binds, for type checkers and editors
    from segnet_tf.config import TrainConfig
    from segnet_tf.inference import Segmenter
    from segnet_tf.models import get_model, list_models, mc_predict
    from segnet_tf.preset_folders import list_presets
    from segnet_tf.training import train

# Public name -> the module that defines it.
_API = {
    "Segmenter": "segnet_tf.inference",
    "TrainConfig": "segnet_tf.config",
    "get_model": "segnet_tf.models",
    "list_models": "segnet_tf.models",
    "list_presets": "segnet_tf.preset_folders",
    "mc_predict": "segnet_tf.models",
    "train": "segnet_tf.training",
}
_SUBPACKAGES = (
    "classes",
    "commands",
    "config",
    "data",
    "export",
    "inference",
    "layers",
    "metrics",
    "models",
    "training",
    "visualize",
)

__all__ = [
    "__version__",
    "import_api",
    "Segmenter",
    "TrainConfig",
    "get_model",
    "list_models",
    "list_presets",
    "mc_predict",
    "train",
    "classes",
    "commands",
    "config",
    "data",
    "export",
    "inference",
    "layers",
    "metrics",
    "models",
    "training",
    "visualize",
]


def import_api() -> None:
    """Import the public API into this package; calling it again does nothing.

    The modules it imports register their Keras objects as they load.
    """
    for name in _SUBPACKAGES:
        globals()[name] = importlib.import_module(f"segnet_tf.{name}")
    for name, module in _API.items():
        globals()[name] = getattr(importlib.import_module(module), name)


def __getattr__(name: str):
    if name in _API or name in _SUBPACKAGES:
        import_api()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
