"""Saving a model as a preset folder and loading it back (`segnet_tf.preset_folders`).

``SegmentationModel.save_to_preset`` and ``from_preset`` are the public faces of
these two functions; ``Segmenter.from_preset`` and ``segnet train --init-from`` load
presets through :func:`load_preset_model`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras

from segnet_tf.__about__ import __version__
from segnet_tf.atomic_files import save_atomic, write_bytes_atomic, write_json_atomic
from segnet_tf.classes import ClassList, default_classes
from segnet_tf.preset_folders import (
    DOMAIN_FILE,
    METADATA_FILE,
    MODEL_FILE,
    preset_folder,
)

# `segnet calibrate` writes the settings it fitted the detector with beside it.
_DOMAIN_CONFIG_FILE = DOMAIN_FILE.removesuffix(".npz") + ".config.json"


def load_preset_model(
    name_or_folder: str | os.PathLike, presets_dir: str | os.PathLike | None = None
) -> keras.Model:
    """The model of a preset (``model.keras``), built from its config with its weights.

    Args:
        name_or_folder: A bundled preset's name or the path of a preset folder.
        presets_dir: Where names are looked up; defaults to the bundled presets.

    Raises:
        ValueError: An unknown preset, a folder that is not a preset, or a model file
            Keras cannot read (the message names the file).
    """
    from segnet_tf import layers  # noqa: F401  (registers the custom layers for loading)

    path = preset_folder(name_or_folder, presets_dir) / MODEL_FILE
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras/zipfile/h5py raise many types for a bad archive
        raise ValueError(
            f"{path}: cannot load the preset's model ({type(err).__name__}: {err})."
        ) from err


def preset_metadata(
    model: keras.Model,
    classes: ClassList | None = None,
    trained_with: str = "",
    test_scores: dict[str, float] | None = None,
    train_config: dict[str, Any] | None = None,
    has_domain_detector: bool = False,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``model.json`` says of ``model`` (see :func:`save_preset`)."""
    config = model.get_config()
    num_classes = int(model.output_shape[-1])
    classes = default_classes(num_classes) if classes is None else classes
    if not isinstance(classes, ClassList) or classes.num_classes != num_classes:
        raise ValueError(
            f"`classes` must be a ClassList of the model's {num_classes} classes; got {classes!r}."
        )
    metadata = {
        "classes": classes.to_dict(),
        "model": model.name,
        "model_class": type(model).__name__,
        "width": config.get("width"),
        "input_scale": config.get("input_scale"),
        "training_size": config.get("training_size"),
        "logit_offsets": config.get("class_logit_offsets"),
        "model_config": config,
        "parameters": model.count_params(),
        "trained_with": trained_with,
        "domain_detector": DOMAIN_FILE if has_domain_detector else None,
        "saved_with": {"segnet_tf": __version__, "keras": keras.__version__},
    }
    if train_config is not None:
        metadata["train_config"] = dict(train_config)
    if test_scores is not None:
        metadata["test_scores"] = {key: float(value) for key, value in test_scores.items()}
    clashes = sorted(set(details or {}) & set(metadata))
    if clashes:
        raise ValueError(
            f"`details` may not replace the keys {clashes} that save_to_preset writes itself."
        )
    metadata.update(details or {})
    return metadata


def save_preset(
    model: keras.Model,
    folder: str | os.PathLike,
    classes: ClassList | None = None,
    trained_with: str = "",
    test_scores: dict[str, float] | None = None,
    train_config: dict[str, Any] | None = None,
    domain_detector: Any = None,
    details: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` as a preset folder (created if needed); returns the folder.

    Each file is written atomically. A detector already in the folder is removed when
    none is given, so a folder never pairs a model with another model's detector.

    Args:
        model: The model (any Keras model; the package's record their architecture).
        folder: The preset folder.
        classes: Its class names and colours; None: CamVid's for 11 classes, else
            generic names.
        trained_with: The command (recipe) that trained it.
        test_scores: Its scores on the test split, e.g. ``segnet evaluate``'s
            ``mean_iou``.
        train_config: The training run's config, for provenance.
        domain_detector: Its out-of-domain detector: the path of a ``.domain.npz``
            file (its ``.domain.config.json`` is copied too when present), an object
            with a ``save(path)`` method (a ``DomainDetector``), or None.
        details: More of the model's record, stored as given (JSON values) beside the
            keys above, e.g. ``training`` (epochs, time, CPU) or ``robustness``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder; a preset is a folder.")
    metadata = preset_metadata(
        model,
        classes,
        trained_with,
        test_scores,
        train_config,
        domain_detector is not None,
        details,
    )
    folder.mkdir(parents=True, exist_ok=True)
    save_atomic(folder / MODEL_FILE, model.save, ".keras")
    detector_file, detector_config = folder / DOMAIN_FILE, folder / _DOMAIN_CONFIG_FILE
    if domain_detector is None:
        detector_file.unlink(missing_ok=True)
        detector_config.unlink(missing_ok=True)
    elif isinstance(domain_detector, (str, os.PathLike)):
        source = Path(domain_detector)
        if not source.is_file():
            raise ValueError(f"{source}: no such domain detector file (`segnet calibrate`).")
        if source.resolve() != detector_file.resolve():
            write_bytes_atomic(detector_file, source.read_bytes())
            source_config = Path(str(source).removesuffix(".npz") + ".config.json")
            if source_config.is_file():
                write_bytes_atomic(detector_config, source_config.read_bytes())
    else:
        domain_detector.save(detector_file)
    write_json_atomic(folder / METADATA_FILE, metadata)
    return folder
