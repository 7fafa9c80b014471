"""The fields several command configs share, and their checks. No TensorFlow.

``evaluate``, ``adjust``, ``calibrate``, ``export`` and ``predict`` take some of the
same settings: the data a model is scored or calibrated on (default: the training
run's), the split, a test-time augmentation, the compute precision. Each is made here
once, so that its flag, help and check are the same in every command. Data-source
names are checked against :mod:`segnet_tf.config.registered_names`, the augmentation
and the prediction mode against :mod:`segnet_tf.config.prediction_settings`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from segnet_tf import config_fields
from segnet_tf.config.prediction_settings import (
    PRECISIONS,
    TestTimeAugmentation,
    monte_carlo_conflict,
)
from segnet_tf.config.registered_names import data_source_names
from segnet_tf.config.splits import is_split_name


def data_field() -> Any:
    """The ``data`` field of a command config (default: the run's source)."""
    return config_fields.option(
        None,
        "data source (default: from the run's config.json)",
        choices=data_source_names(),
        check=config_fields.choice(data_source_names, optional=True),
    )


def data_dir_field() -> Any:
    """The ``data_dir`` field of a command config (default: the run's folder)."""
    return config_fields.option(
        None,
        "data folder (default: from the run)",
        metavar="DIR",
        check=config_fields.path(optional=True),
    )


def split_check(value: Any) -> str | None:
    """A split name: train, validation (val) or test."""
    return None if is_split_name(value) else "train, validation (val) or test"


def tta_check(value: Any, empty_fix: str = "write none for one pass") -> str | None:
    """None, or a test-time augmentation spec that parses (e.g. ``flip+scales:0.75,1``).

    Args:
        value: The field's value.
        empty_fix: What the message tells the user to do instead of an empty value.
    """
    if value is None:
        return None
    expected = "none, flip, scales:S1,S2,... or flip+scales:S1,S2,... (scales in [0.125, 4])"
    if isinstance(value, str) and not value.strip():
        # Not "no augmentation": `--tta "$UNSET"` must not silently change a result.
        return f"{expected}; an empty value is refused: {empty_fix}"
    try:
        TestTimeAugmentation.parse(value)
    except ValueError:
        return expected
    return None


def tta_field(help_text: str, empty_fix: str = "write none for one pass") -> Any:
    """The ``tta`` field of a command config: a test-time augmentation spec, or None.

    Args:
        help_text: The option's help.
        empty_fix: What an empty value's message says to do instead.
    """
    return config_fields.option(
        None, help_text, metavar="SPEC", check=lambda value: tta_check(value, empty_fix)
    )


def check_prediction_mode(mc_samples: int | None, tta: str | None, flip: bool = False) -> None:
    """Refuse settings that make no one prediction mode: Monte-Carlo sampling excludes
    test-time augmentation (``flip`` included), as ``PredictionMode`` says.

    Args:
        mc_samples: The ``mc_samples`` field (None or 0: no Monte-Carlo sampling).
        tta: The ``tta`` field, already checked by :func:`tta_check`.
        flip: The ``flip`` field of ``evaluate``.

    Raises:
        ConfigError: Naming ``flip`` (when set) or ``tta``.
    """
    if not mc_samples:
        return
    # The settings as PredictionMode.parse reads them, by the same rule.
    augmentation = TestTimeAugmentation.parse(tta)
    if flip:
        augmentation = dataclasses.replace(augmentation, flip=True)
    conflict = monte_carlo_conflict(mc_samples, augmentation)
    if conflict is not None:
        field, value, instead = ("flip", True, "false") if flip else ("tta", tta, "none")
        reason = conflict.rstrip(".")
        raise config_fields.ConfigError(field, value, f"{instead} with mc_samples: {reason}")


def precision_field(help_text: str) -> Any:
    """The ``precision`` field of a command config: ``float32`` (default) or ``bfloat16``."""
    return config_fields.option(
        "float32", help_text, choices=PRECISIONS, check=config_fields.choice(PRECISIONS)
    )
