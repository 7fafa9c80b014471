"""Loading trained models: every custom object a training run saves, registered."""

from __future__ import annotations

import os

from segnet_tf.model_files import check_model_file


def register_custom_objects() -> None:
    """Import the modules whose Keras objects a trained ``.keras`` file references.

    Layers, metrics, the loss and the learning-rate schedules register themselves
    with Keras on import. ``import segnet_tf`` already imports them; this states the
    dependency where a model is loaded, whatever the caller imported.
    """
    import segnet_tf.layers  # noqa: F401
    import segnet_tf.metrics  # noqa: F401
    import segnet_tf.models  # noqa: F401  (the model classes: SegNet, UNet, FCN)
    import segnet_tf.training.losses  # noqa: F401
    import segnet_tf.training.schedules  # noqa: F401


def load_trained_model(path: str | os.PathLike, compile: bool = True):
    """Load a model written by :func:`segnet_tf.training.train` (or any ``.keras``).

    Args:
        path: ``.keras`` file, e.g. ``runs/camvid/best.keras``.
        compile: Restore the optimizer, loss and metrics too (needed to continue
            training; inference and evaluation do not need it).

    Raises:
        ValueError: missing, corrupt or foreign file (the message names it).
    """
    import keras

    register_custom_objects()
    path = os.fspath(check_model_file(path))
    try:
        return keras.models.load_model(path, compile=compile)
    except Exception as err:  # Keras/zipfile/h5py raise many types for a bad file.
        raise ValueError(
            f"{path}: cannot load the model; the file is corrupt or not a Keras model "
            f"({type(err).__name__}: {err})."
        ) from err
