"""What a preset is on disk: a folder holding a trained model and what goes with it.

A preset folder (written by ``SegmentationModel.save_to_preset``, read by
``SegmentationModel.from_preset`` and ``Segmenter.from_preset``) holds:

- ``model.keras``: the model's config and weights, in Keras' own archive, so that every
  tool that takes a ``.keras`` file (``segnet predict``, ``evaluate``, ``export``,
  ``keras.saving.load_model``) takes a preset's;
- ``model.json``: its metadata (:data:`METADATA_FILE`): class names and colours, the
  training frame size, the command that trained it, its test scores;
- ``model.domain.npz`` (optional): its out-of-domain detector (``segnet calibrate``).

The two other files follow the ``<stem>.json`` / ``<stem>.domain.npz`` names that
sit beside any model file, so a preset's ``model.keras`` is read like a run's
``best.keras``. Bundled presets are the folders of ``segnet_tf/presets/``; a preset
is named by its folder's name there, or by a path to any preset folder.

This module reads files only (no TensorFlow), so the command line lists presets in
its help without importing TensorFlow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from segnet_tf.model_files import DOMAIN_FILE_SUFFIX

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
"""The bundled presets: one folder per preset."""

MODEL_FILE = "model.keras"
"""Config and weights of a preset's model."""
METADATA_FILE = "model.json"
"""A preset's metadata: ``classes``, ``training_size``, ``trained_with``, ``test_scores``..."""
DOMAIN_FILE = Path(MODEL_FILE).stem + DOMAIN_FILE_SUFFIX
"""A preset's out-of-domain detector (``model.domain.npz``), when it has one."""


def is_preset_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding a preset's ``model.keras``."""
    return (Path(path) / MODEL_FILE).is_file()


def preset_names(presets_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the presets in ``presets_dir`` (default: the bundled ones), sorted."""
    folder = Path(presets_dir) if presets_dir is not None else PRESETS_DIR
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if is_preset_folder(path))


def _has_separator(text: str) -> bool:
    separators = [os.path.sep] + ([os.path.altsep] if os.path.altsep else [])
    return any(sep in text for sep in separators)


def names_a_folder(name_or_folder: str | os.PathLike) -> bool:
    """Whether ``name_or_folder`` is a path (has a separator or exists) rather than a name."""
    text = os.fspath(name_or_folder)
    return _has_separator(text) or os.path.exists(text)


def preset_folder(
    name_or_folder: str | os.PathLike, presets_dir: str | os.PathLike | None = None
) -> Path:
    """The folder of a preset named ``name_or_folder``, or that path when it is a folder.

    Args:
        name_or_folder: A name of :func:`preset_names` or the path of a preset folder.
        presets_dir: Where names are looked up; defaults to the bundled presets.

    Raises:
        ValueError: An unknown name (the message lists the available ones), or a path
            that is not a preset folder (the message says what one holds).
    """
    if not isinstance(name_or_folder, (str, os.PathLike)):
        raise ValueError(
            f"A preset is a name or a folder path; got {type(name_or_folder).__name__} "
            f"{name_or_folder!r}."
        )
    if presets_dir is None and names_a_folder(name_or_folder):
        folder = Path(name_or_folder)
        if not is_preset_folder(folder):
            raise ValueError(
                f"{folder} is not a preset folder: expected a folder holding {MODEL_FILE} "
                f"(config and weights) and {METADATA_FILE} (metadata), as "
                "`model.save_to_preset(folder)` writes."
            )
        return folder
    base = Path(presets_dir) if presets_dir is not None else PRESETS_DIR
    folder = base / os.fspath(name_or_folder)
    if _has_separator(os.fspath(name_or_folder)) or not is_preset_folder(folder):
        available = ", ".join(preset_names(base)) or "none are installed"
        raise ValueError(
            f"Unknown preset {os.fspath(name_or_folder)!r} in {base}. "
            f"Available presets: {available}."
        )
    return folder


def read_metadata(folder: str | os.PathLike) -> dict[str, Any]:
    """The metadata of the preset in ``folder`` (``{}`` when it has no ``model.json``).

    Raises:
        ValueError: If ``model.json`` is not a JSON object.
    """
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not readable JSON ({err}).") from err
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: expected a JSON object; got {type(metadata).__name__}.")
    return metadata


def list_presets(presets_dir: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """The presets and their metadata, by name (sorted).

    Each value is the preset's ``model.json``: ``classes`` (names, colours, void id),
    ``training_size``, ``trained_with`` (the recipe), ``test_scores``, ``parameters``...

    Args:
        presets_dir: Folder of preset folders; defaults to the bundled presets.

    Example:

    >>> import segnet_tf
    >>> metadata = segnet_tf.list_presets().get("camvid_segnet")
    >>> metadata.get("test_scores")
    {'global_accuracy': 0.874..., 'class_average_accuracy': 0.660..., 'mean_iou': 0.533..., ...}
    """
    base = Path(presets_dir) if presets_dir is not None else PRESETS_DIR
    return {name: read_metadata(base / name) for name in preset_names(base)}
