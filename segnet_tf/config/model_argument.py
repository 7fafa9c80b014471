"""The MODEL argument of `segnet predict`, `export`, `evaluate` and `calibrate`: a
file or a preset. No TensorFlow.

A `.keras` path (anything ending in `.keras`, containing a path separator, or
naming an existing file) is a model file, a preset folder stands for its `model.keras`;
any other word is the name of a preset bundled in `segnet_tf/presets/` (see
`segnet_tf.preset_folders`), so that `segnet predict camvid_segnet photo.jpg` works on
a fresh install without knowing where the package lives. Loading the model it names
is the commands' (:func:`segnet_tf.commands.model_arg.load_segmenter`).
"""

from __future__ import annotations

import os
from typing import Any

from segnet_tf import config_fields
from segnet_tf.preset_folders import (
    MODEL_FILE,
    is_preset_folder,
    names_a_folder,
    preset_folder,
    preset_names,
)


def model_help() -> str:
    """Help text of a MODEL argument, naming the bundled presets."""
    names = ", ".join(preset_names()) or "none installed"
    return f"a .keras model file, a preset folder, or the name of a bundled preset ({names})"


def preset_name(model_arg: str) -> str | None:
    """The preset that ``model_arg`` names, or None when it is a file or folder path."""
    is_path = model_arg.endswith(".keras") or names_a_folder(model_arg)
    return None if is_path else model_arg


def model_file(model_arg: str) -> str:
    """The ``.keras`` file that ``model_arg`` stands for.

    Args:
        model_arg: A model file path, a preset folder or a preset name.

    Raises:
        ValueError: If it names no bundled preset (the message lists them).
    """
    if is_preset_folder(model_arg):
        return os.path.join(model_arg, MODEL_FILE)
    name = preset_name(model_arg)
    if name is None:
        return model_arg
    try:
        return str(preset_folder(name) / MODEL_FILE)
    except ValueError as err:
        raise ValueError(f"{err} (And {name!r} is not a .keras file.)") from None


def model_field(help_suffix: str = "") -> Any:
    """The positional ``model`` field of a command config: a ``.keras`` file or a preset.

    Args:
        help_suffix: Appended to the shared help text, e.g. ``", e.g. a run's best.keras"``.
    """
    return config_fields.option(
        help_text=model_help() + help_suffix,
        positional=True,
        metavar="MODEL",
        check=config_fields.path(optional=False, what="a .keras file or a preset name"),
    )
