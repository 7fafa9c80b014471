"""The MODEL argument of `segnet predict`, `export` and `evaluate`: a file or a preset.

A `.keras` path (anything ending in `.keras`, containing a path separator, or
naming an existing file) is a model file; any other word is the name of a model
bundled in `segnet_tf/presets/`, so that `segnet predict camvid_segnet photo.jpg`
works on a fresh install without knowing where the package lives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from segnet_tf import config_fields as cf

# The same folder as segnet_tf.inference.segmenter.PRESETS_DIR, computed here so that
# building the parser does not import TensorFlow.
PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"


def preset_names() -> list[str]:
    """Names of the bundled presets, sorted."""
    return sorted(path.stem for path in PRESETS_DIR.glob("*.keras"))


def model_help() -> str:
    """Help text of a MODEL argument, naming the bundled presets."""
    names = ", ".join(preset_names()) or "none installed"
    return f"a .keras model file, or the name of a bundled preset ({names})"


def preset_name(model_arg: str) -> str | None:
    """The preset that ``model_arg`` names, or None when it is a model file path."""
    separators = [os.path.sep] + ([os.path.altsep] if os.path.altsep else [])
    is_path = (
        model_arg.endswith(".keras")
        or any(sep in model_arg for sep in separators)
        or os.path.exists(model_arg)
    )
    return None if is_path else model_arg


def model_file(model_arg: str) -> str:
    """The ``.keras`` file that ``model_arg`` stands for.

    Args:
        model_arg: A model file path or a preset name.

    Raises:
        ValueError: If it names no bundled preset (the message lists them).
    """
    name = preset_name(model_arg)
    if name is None:
        return model_arg
    path = PRESETS_DIR / f"{name}.keras"
    if not path.is_file():
        names = ", ".join(preset_names()) or "none are installed"
        raise ValueError(
            f"Unknown preset {name!r} in {PRESETS_DIR} (and not a .keras file). "
            f"Available presets: {names}."
        )
    return str(path)


def load_segmenter(model_arg: str, **kwargs):
    """A ``Segmenter`` for a model file or a preset name.

    Args:
        model_arg: A model file path or a preset name.
        **kwargs: Other ``Segmenter`` arguments (``classes``, ``tile_size``...).
    """
    from segnet_tf.inference import Segmenter  # imports TensorFlow: only when called

    name = preset_name(model_arg)
    if name is None:
        return Segmenter.from_file(model_arg, **kwargs)
    return Segmenter.from_preset(name, **kwargs)


def model_field(help_suffix: str = "") -> Any:
    """The positional ``model`` field of a command config: a ``.keras`` file or a preset.

    Args:
        help_suffix: Appended to the shared help text, e.g. ``", e.g. a run's best.keras"``.
    """
    return cf.option(
        help_text=model_help() + help_suffix,
        positional=True,
        metavar="MODEL",
        check=cf.path(optional=False, what="a .keras file or a preset name"),
    )
