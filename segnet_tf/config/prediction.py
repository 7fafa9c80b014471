"""The config of ``segnet predict``, :class:`PredictConfig`. No TensorFlow.

Which model :func:`segnet_tf.commands.predict` runs on which images and videos, with
which prediction mode, and how its masks and overlays look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segnet_tf import config_fields
from segnet_tf.config.command_fields import check_prediction_mode, precision_field, tta_field
from segnet_tf.config.model_argument import model_field
from segnet_tf.config_fields import CommandConfig

DEFAULT_ALPHA = 0.5
"""Overlay opacity when none is given."""


def _inputs_check(value: Any) -> str | None:
    if isinstance(value, tuple) and value and all(isinstance(v, str) and v for v in value):
        return None
    return "one or more image or video files, or folders"


@dataclass(frozen=True)
class PredictConfig(CommandConfig):
    """Which model segments which files, and how the outputs look.

    Args:
        model: A ``.keras`` model file or the name of a bundled preset.
        inputs: Image or video files, or folders (the images and videos directly
            inside, by extension).
        out: Output folder.
        classes: A class list (ClassList JSON); None: the sidecar next to the model,
            else CamVid's for 11 classes, else generic names.
        mc_samples: Monte-Carlo dropout passes (Bayesian models), which also writes
            uncertainty maps; None: one deterministic pass.
        tta: Test-time augmentation, e.g. ``"flip"`` or ``"flip+scales:0.75,1,1.25"``
            (one network pass each); None: one pass. Not with ``mc_samples``.
        alpha: Overlay opacity in [0, 1].
        legend: Draw the class legend beside image overlays.
        scale: ``"training"``: every image and video frame is resized to the area of
            the model's training frames and the masks resized back (see
            `segnet_tf.training_scale`); ``"native"``: segmented at its own resolution,
            in tiles above ``tile_size`` (for imagery already at the training scale).
        tile_size: Largest side run in one pass; None: the Segmenter's (1024).
        max_pixels: Larger images are downscaled to this many pixels first; None: the
            Segmenter's (8000000).
        precision: Network compute precision, ``float32`` or ``bfloat16`` (faster on
            CPUs with AMX or AVX512-BF16).
        video_masks: For videos, also write one class-id mask PNG per frame.
        max_frames: For videos, segment only the first N frames; None: all.
    """

    model: str = model_field()
    inputs: tuple[str, ...] = config_fields.option(
        help_text="image or video files, or folders",
        positional=True,
        metavar="INPUT",
        check=_inputs_check,
    )
    out: str = config_fields.option(
        help_text="output folder",
        metavar="DIR",
        required=True,
        check=config_fields.path(optional=False),
    )
    classes: str | None = config_fields.option(
        None,
        "class list (ClassList JSON); default: sidecar next to the model, else CamVid "
        "for 11 classes, else generic names",
        metavar="JSON",
        check=config_fields.path(optional=True, what="a JSON file path"),
    )
    mc_samples: int | None = config_fields.option(
        None,
        "Monte-Carlo dropout passes (Bayesian models); also writes uncertainty maps",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    tta: str | None = tta_field(
        "test-time augmentation, e.g. flip or flip+scales:0.75,1,1.25 (one pass each)"
    )
    alpha: float = config_fields.option(
        DEFAULT_ALPHA, "overlay opacity", metavar="A", check=config_fields.number(0, 1)
    )
    legend: bool = config_fields.option(
        True, "draw the class legend beside image overlays", check=config_fields.flag_value
    )
    scale: str = config_fields.option(
        "training",
        "training: resize each image to the area of the model's training frames (photos "
        "of any size); native: segment it as it is, in tiles (imagery already at the "
        "training scale)",
        choices=("training", "native"),
        check=config_fields.choice(lambda: ("training", "native")),
    )
    tile_size: int | None = config_fields.option(
        None,
        "largest side run in one pass with --scale native (default: 1024)",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    max_pixels: int | None = config_fields.option(
        None,
        "larger images are downscaled to this many pixels first (default: 8000000)",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    precision: str = precision_field(
        "network compute precision (bfloat16 is faster on CPUs with AMX or AVX512-BF16)"
    )
    video_masks: bool = config_fields.option(
        False,
        "for videos, also write one class-id mask PNG per frame into <stem>_masks/",
        check=config_fields.flag_value,
    )
    max_frames: int | None = config_fields.option(
        None,
        "for videos, segment only the first N frames",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )

    def check_fields(self) -> None:
        check_prediction_mode(self.mc_samples, self.tta)
