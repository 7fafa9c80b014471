"""The config of ``segnet calibrate``, :class:`CalibrateConfig`. No TensorFlow.

What :func:`segnet_tf.commands.calibrate` fits (a model's out-of-domain detector,
described in :mod:`segnet_tf.inference.domain`), on which data, and where it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from segnet_tf import config_fields
from segnet_tf.config.command_fields import data_dir_field, data_field
from segnet_tf.config.model_argument import model_field
from segnet_tf.config_fields import CommandConfig


def _margin_check(value) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 1.0 <= value <= 10.0
    return None if ok else "a number in [1, 10]"


def _shrinkage_check(value) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0.0 < value <= 1.0
    return None if ok else "a number in (0, 1]"


@dataclass(frozen=True)
class CalibrateConfig(CommandConfig):
    """Which model's detector to fit, on which data, and where to write it.

    Args:
        model: A ``.keras`` model file (e.g. a run's ``best.keras``) or a preset name.
        data: Data source; None takes the one of the ``config.json`` beside the model.
        data_dir: Folder of the camvid / folder source; None: the run's.
        training_size: ``(height, width)`` at which images are described, for a model
            that records no ``training_size``; None: the model's.
        shifted_copies: Camera-shifted copies of each frame added to the fit and to
            the threshold's validation frames.
        margin: Threshold = margin x the 99th percentile of the validation scores.
        shrinkage: Weight of the covariance's diagonal (see the detector).
        limit: Use only the first N training and N validation frames (quick checks).
        seed: Seed of the camera shifts.
        output: Detector file; None: ``<model stem>.domain.npz`` beside the model.
    """

    model: str = model_field(", e.g. a run's best.keras")
    data: str | None = data_field()
    data_dir: str | None = data_dir_field()
    training_size: tuple[int, int] | None = config_fields.option(
        None,
        "frame size to describe images at, for a model that records none (default: the "
        "model's training_size)",
        metavar=("H", "W"),
        check=config_fields.image_size(optional=True),
    )
    shifted_copies: int = config_fields.option(
        2, "camera-shifted copies of each frame", metavar="N", check=config_fields.count(0)
    )
    margin: float = config_fields.option(
        1.2, "threshold = MARGIN x the validation scores' 99th percentile", check=_margin_check
    )
    shrinkage: float = config_fields.option(
        0.5, "weight of the covariance's diagonal, in (0, 1]", check=_shrinkage_check
    )
    limit: int | None = config_fields.option(
        None,
        "use only the first N frames of each split (quick checks)",
        metavar="N",
        check=config_fields.count(2, optional=True),
    )
    seed: int = config_fields.option(
        0, "seed of the camera shifts", metavar="N", check=config_fields.count(0)
    )
    output: str | None = config_fields.option(
        None,
        "detector file (default: <model stem>.domain.npz beside the model)",
        metavar="FILE",
        check=config_fields.path(optional=True),
    )
