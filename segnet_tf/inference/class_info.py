"""Which class names and colours go with a model: defaults, sidecar files, checks.

A `.keras` file stores no class list, so the names and colours come from, in order:
the `classes` argument, a JSON sidecar next to the model file (see
:func:`read_sidecar_classes`), and finally :func:`default_classes`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segnet_tf.classes import CAMVID_CLASSES, ClassList, parse_class_list, read_class_list

SIDECAR_NAME = "classes.json"
"""Class list file looked up in the model's directory when no ``<stem>.json`` exists."""


def generic_palette(num_colors: int) -> np.ndarray:
    """Distinct, deterministic colours: the PASCAL VOC bit-interleaving colour map.

    Spreading the bits of the id over the high bits of R, G and B gives distinct and
    well separated colours for the first few ids, and distinct colours for any id
    below 2**24 (id 0 is black).

    Args:
        num_colors: Number of colours, at least 1.

    Returns:
        uint8 ``[num_colors, 3]``.
    """
    ids = np.arange(num_colors, dtype=np.int64)
    colors = np.zeros((num_colors, 3), dtype=np.int64)
    for shift in range(8):
        for channel in range(3):
            bit = (ids >> (3 * shift + channel)) & 1
            colors[:, channel] |= bit << (7 - shift)
    return colors.astype(np.uint8)


def default_classes(num_classes: int) -> ClassList:
    """CamVid's classes for 11-class models, else ``"class 0" .. "class N-1"``.

    Args:
        num_classes: Number of output channels of the model.

    Returns:
        A :class:`ClassList` with ``num_classes`` real classes.
    """
    if num_classes == CAMVID_CLASSES.num_classes:
        return CAMVID_CLASSES
    colors = tuple(tuple(int(v) for v in c) for c in generic_palette(num_classes))
    return ClassList(tuple(f"class {i}" for i in range(num_classes)), colors, None)


# The one class-list reader lives with ClassList; this name is kept for existing imports.
parse_classes_json = parse_class_list


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
