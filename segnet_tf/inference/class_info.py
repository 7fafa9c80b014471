"""Which class names and colours go with a model: defaults, sidecar files, checks.

A `.keras` file stores no class list, so the names and colours come from, in order:
the `classes` argument, a JSON sidecar next to the model file (see
:func:`read_sidecar_classes`), and finally :func:`default_classes`.
"""

from __future__ import annotations

import os
from pathlib import Path

# default_classes and generic_palette live with ClassList; imported from here too.
from segnet_tf.classes import ClassList, default_classes, generic_palette, read_class_list

__all__ = [
    "SIDECAR_NAME",
    "check_classes",
    "default_classes",
    "generic_palette",
    "read_sidecar_classes",
]

SIDECAR_NAME = "classes.json"
"""Class list file looked up in the model's directory when no ``<stem>.json`` exists."""


def read_sidecar_classes(model_path: str | os.PathLike) -> ClassList | None:
    """Read the class list stored next to a model file, if any.

    Looks for ``<model stem>.json`` (e.g. ``camvid.keras`` -> ``camvid.json``), then
    ``classes.json`` in the same directory. Either file holds ``ClassList.to_json()``
    output, or an object whose ``"classes"`` key holds it (room for more metadata).

    Args:
        model_path: Path of the ``.keras`` file.

    Returns:
        The class list, or None when there is no sidecar file.
    """
    path = Path(model_path)
    for candidate in (path.with_suffix(".json"), path.parent / SIDECAR_NAME):
        if candidate.is_file():
            return read_class_list(candidate)
    return None


def check_classes(classes: ClassList, num_classes: int) -> ClassList:
    """Check that a class list describes a model with ``num_classes`` outputs.

    Raises:
        ValueError: If the number of real classes differs.
    """
    if not isinstance(classes, ClassList):
        raise ValueError(f"`classes` must be a ClassList or None; got {type(classes).__name__}.")
    if classes.num_classes != num_classes:
        raise ValueError(
            f"The class list has {classes.num_classes} classes ({', '.join(classes.class_names)}) "
            f"but the model predicts {num_classes}; expected one name per output channel."
        )
    return classes
