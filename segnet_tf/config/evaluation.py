"""The config of ``segnet evaluate``, :class:`EvaluateConfig`. No TensorFlow.

What :func:`segnet_tf.commands.evaluate` scores (a Keras model, a preset or an
exported model), on which data, with which prediction mode, and where it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from segnet_tf import config_fields
from segnet_tf.config.command_fields import (
    check_prediction_mode,
    data_dir_field,
    data_field,
    precision_field,
    split_check,
    tta_field,
)
from segnet_tf.config.model_argument import model_field
from segnet_tf.config.training import seed_check
from segnet_tf.config_fields import CommandConfig, ConfigError
from segnet_tf.model_files import is_exported_model


@dataclass(frozen=True)
class EvaluateConfig(CommandConfig):
    """What ``evaluate`` scores, on which data, and where it writes.

    Args:
        model: A ``.keras`` model file (e.g. a run's ``best.keras``), the name of a
            bundled preset, or an exported model (a ``.tflite`` or ``.onnx`` file, or
            a SavedModel version folder), which is then run itself, to measure what is
            deployed.
        data: Data source name; None takes the one of the ``config.json`` beside the
            model (a training run's folder).
        data_dir: Folder of the camvid / folder source; None: the run's.
        split: ``train``, ``validation`` (``val``) or ``test``.
        batch_size: Images per batch.
        mc_samples: Monte-Carlo dropout samples for Bayesian models; 0: one pass.
        flip: Average each image's prediction with its mirror image's (2x compute;
            not with ``mc_samples``); the same as ``tta="flip"``, and added to ``tta``.
        tta: Test-time augmentation, e.g. ``"flip+scales:0.75,1,1.25"``: the mean
            softmax over the flipped and rescaled passes is scored; None: one pass.
        precision: Compute precision of a Keras model: ``float32`` or ``bfloat16``.
        limit: Evaluate only the first N images; None: all.
        boundary: Compute boundary F1 (the slowest score).
        synthetic_images: Synthetic source: its training scene count; None: the run's.
        image_size: Synthetic source: scene ``(height, width)``; None: the run's.
        seed: Synthetic source: its seed; None: the run's.
        output_dir: Output folder; None: ``eval-<split>`` beside the model.
    """

    model: str = model_field(", e.g. a run's best.keras")
    data: str | None = data_field()
    data_dir: str | None = data_dir_field()
    split: str = config_fields.option("test", "train, validation (val) or test", check=split_check)
    batch_size: int = config_fields.option(
        1, "images per batch", metavar="N", check=config_fields.count(1)
    )
    mc_samples: int = config_fields.option(
        0,
        "Monte-Carlo dropout samples for Bayesian models (0: one pass)",
        metavar="N",
        check=config_fields.count(0),
    )
    flip: bool = config_fields.option(
        False,
        "average each image's prediction with its mirror image's (2x compute; the same "
        "as --tta flip)",
        check=config_fields.flag_value,
    )
    tta: str | None = tta_field(
        "test-time augmentation: flip, scales:0.75,1,1.25 or flip+scales:0.75,1,1.25 "
        "(mean softmax over the flipped and rescaled passes)"
    )
    precision: str = precision_field("compute precision of a Keras model")
    limit: int | None = config_fields.option(
        None,
        "evaluate only the first N images (quick checks)",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    boundary: bool = config_fields.option(
        True,
        "compute boundary F1 (--no-boundary skips the slowest score)",
        check=config_fields.flag_value,
    )
    synthetic_images: int | None = config_fields.option(
        None,
        "synthetic source: training scene count it was built with (default: from the run)",
        metavar="N",
        check=config_fields.count(2, optional=True),
    )
    image_size: tuple[int, int] | None = config_fields.option(
        None,
        "synthetic scene size (default: from the run)",
        metavar=("H", "W"),
        check=config_fields.image_size(optional=True),
    )
    seed: int | None = config_fields.option(
        None,
        "synthetic source seed (default: from the run)",
        metavar="N",
        check=lambda value: None if value is None else seed_check(value),
    )
    output_dir: str | None = config_fields.option(
        None,
        "output folder (default: eval-<split> beside the model)",
        metavar="DIR",
        check=config_fields.path(optional=True),
    )

    def check_fields(self) -> None:
        if is_exported_model(self.model):
            # An exported model runs as it was exported.
            if self.mc_samples:
                raise ConfigError(
                    "mc_samples", self.mc_samples, "0 for an exported model (a Keras model only)"
                )
            if self.precision != "float32":
                raise ConfigError(
                    "precision",
                    self.precision,
                    "float32 for an exported model, which runs in the precision it was exported in",
                )
        check_prediction_mode(self.mc_samples, self.tta, self.flip)
