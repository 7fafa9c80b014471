"""segnet_tf: SegNet-family semantic segmentation for Keras 3 / TensorFlow.

Importing the package imports its public API and so registers every Keras object it
defines (layers, initializers, metrics, the loss, learning-rate schedules), so that
`keras.saving.load_model` reads our `.keras` files after a plain `import segnet_tf`.

The one exception is the `segnet` command: its entry point (`segnet_tf_cli.py`, beside
this package) builds an argument parser before anything else, so it has this package
imported without the API, which imports TensorFlow and takes seconds, and calls
`import_api()` once a subcommand runs.
"""

import sys
from typing import TYPE_CHECKING

from segnet_tf.__about__ import __version__

if TYPE_CHECKING:  # what `import_api` binds, for type checkers and editors
    from segnet_tf.commands import TrainConfig, train
    from segnet_tf.inference import Segmenter
    from segnet_tf.models import get_model, list_models, mc_predict
    from segnet_tf.preset_folders import list_presets

__all__ = [
    "__version__",
    "Segmenter",
    "TrainConfig",
    "get_model",
    "import_api",
    "list_models",
    "list_presets",
    "mc_predict",
    "train",
    "classes",
    "commands",
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
    from segnet_tf import (  # noqa: F401 - bound as attributes of the package
        classes,
        commands,
        data,
        export,
        inference,
        layers,
        metrics,
        models,
        training,
        visualize,
    )
    from segnet_tf.commands import TrainConfig, train
    from segnet_tf.inference import Segmenter
    from segnet_tf.models import get_model, list_models, mc_predict
    from segnet_tf.preset_folders import list_presets

    globals().update(
        Segmenter=Segmenter,
        TrainConfig=TrainConfig,
        get_model=get_model,
        list_models=list_models,
        list_presets=list_presets,
        mc_predict=mc_predict,
        train=train,
    )


if not getattr(sys.modules.get("segnet_tf_cli"), "api_deferred", False):
    import_api()
