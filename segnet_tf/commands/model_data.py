"""The data a command that reads a trained model scores it on: its config, else the run's.

``evaluate`` and ``adjust`` take a model file; when it sits in a training run's
folder, the run's ``config.json`` says which data it was trained on, so that the
data source and its settings need not be repeated.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from segnet_tf import config_fields
from segnet_tf.commands.training import TrainConfig
from segnet_tf.data_sources import data_source_names, get_data_source, is_split_name
from segnet_tf.precision import PRECISIONS


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
    from segnet_tf.inference.tta import TestTimeAugmentation  # imports TF

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
    from segnet_tf.inference.prediction_mode import PredictionMode  # imports TF

    try:
        PredictionMode.parse(mc_samples=mc_samples, tta=tta, flip=flip)
    except ValueError as err:
        field, value, instead = ("flip", True, "false") if flip else ("tta", tta, "none")
        reason = str(err).rstrip(".")
        raise config_fields.ConfigError(
            field, value, f"{instead} with mc_samples: {reason}"
        ) from None


def precision_field(help_text: str) -> Any:
    """The ``precision`` field of a command config: ``float32`` (default) or ``bfloat16``."""
    return config_fields.option(
        "float32", help_text, choices=PRECISIONS, check=config_fields.choice(PRECISIONS)
    )


def split_check(value: Any) -> str | None:
    """A split name: train, validation (val) or test."""
    return None if is_split_name(value) else "train, validation (val) or test"


def run_config_beside(model_path: str) -> TrainConfig | None:
    """The TrainConfig saved beside the model, if any."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    return TrainConfig.load(path) if os.path.isfile(path) else None


def resolve_data_source(
    model_path: str,
    data: str | None = None,
    data_dir: str | None = None,
    synthetic_images: int | None = None,
    image_size=None,
    seed: int | None = None,
) -> tuple[str, dict]:
    """The data source to read and the settings for ``load_split``.

    Each argument left None is taken from the run's ``config.json`` when the run used
    the same source, else from the defaults of ``load_split``.

    Returns:
        ``(source name, {"data_dir", "synthetic_images", "image_size", "seed"})``.

    Raises:
        ValueError: no ``data`` and no run config to take it from.
    """
    run_config = run_config_beside(model_path)
    data = data or (run_config.data if run_config else None)
    if data is None:
        raise config_fields.ConfigError(
            "data", None, "a data source: there is no config.json beside the model to take it from"
        )
    get_data_source(data)
    same_source = run_config is not None and run_config.data == data

    def pick(value, name, default):
        if value is not None:
            return value
        return getattr(run_config, name) if same_source else default

    return data, {
        "data_dir": pick(data_dir, "data_dir", None),
        "synthetic_images": pick(synthetic_images, "synthetic_images", 64),
        "image_size": tuple(pick(image_size, "image_size", (96, 128))),
        "seed": pick(seed, "seed", 0),
    }


def data_label(data: str, data_dir: str | None, split: str) -> str:
    """How messages name the data a model is scored on: ``the camvid data's test split (DIR)``."""
    where = f" ({data_dir})" if data_dir else ""
    return f"the {data} data's {split} split{where}"


def progress_verbosity(verbose: int | str) -> int:
    """``"auto"``: a progress bar on a terminal, one summary line otherwise."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)
