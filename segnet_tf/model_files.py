"""A ``.keras`` model file: the checks before Keras reads it, and the files beside it.

Keras reports a truncated archive as "File not found" and a folder as no file at
all; :func:`check_model_file` names what is wrong instead. Used by
:func:`segnet_tf.training.load_trained_model`, ``Segmenter.from_file`` and
``segnet demo --model``. A model file ``<stem>.keras`` keeps its out-of-domain
detector in ``<stem>.domain.npz`` beside it (:func:`detector_path`), which
``segnet calibrate`` writes and ``Segmenter.from_file`` reads; an exported model
(:func:`is_exported_model`) is a ``.tflite`` or ``.onnx`` file or a SavedModel folder.
Imports no TensorFlow.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

DOMAIN_FILE_SUFFIX = ".domain.npz"
"""A model file ``<stem>.keras`` keeps its detector in ``<stem>.domain.npz`` beside it."""


ARTEFACT_SUFFIXES = (".tflite", ".onnx")
"""The file suffixes of exported models (a SavedModel is a folder)."""


def is_exported_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a ``.tflite`` / ``.onnx`` file or a SavedModel directory."""
    path = Path(path)
    if path.suffix in ARTEFACT_SUFFIXES:
        return True
    return path.is_dir() and (path / "saved_model.pb").is_file()


def detector_path(model_path: str | os.PathLike) -> Path:
    """``<stem>.domain.npz`` beside the model file ``<stem>.keras``."""
    path = Path(model_path)
    return path.with_name(path.stem + DOMAIN_FILE_SUFFIX)


def check_model_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path, after checking it is a whole ``.keras`` file.

    Args:
        path: The model file.

    Raises:
        ValueError: For a missing file, a folder, an empty file, or a ``.keras``
            file that is not a whole zip archive (truncated or damaged); the message
            names the file and what to do.
    """
    path = Path(path)
    if path.is_dir():
        what = ""
        if (path / "saved_model.pb").is_file():
            what = (
                " (this folder is an exported SavedModel: `segnet evaluate` runs it; "
                "predict and export take the .keras file it was exported from)"
            )
        raise ValueError(f"{path}: is a folder; expected a .keras model file{what}.")
    if not path.is_file():
        raise ValueError(f"{path}: no such model file.")
    size = path.stat().st_size
    if size == 0 or (path.suffix == ".keras" and not zipfile.is_zipfile(path)):
        raise ValueError(
            f"{path}: cannot load the model: the file is truncated or damaged (a .keras "
            f"file is a whole zip archive, and these {size:,} bytes are not one); copy or "
            "save it again."
        )
    return path
