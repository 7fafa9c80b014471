"""Class lists: the names, display colours and void id that travel with a data set.

A :class:`ClassList` describes the label space of a segmentation data set. Class ids
``0 .. num_classes - 1`` are real classes; the optional ``void_id`` marks pixels that
are ignored by losses and metrics. SegNet-style data sets put void *after* the real
classes (CamVid: 11 classes, void = 11), so ``void_id`` must equal ``num_classes``
when present; that keeps ``palette()`` a dense lookup table indexed by id.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from segnet_tf.errors import DataError

Color = tuple[int, int, int]


@dataclass(frozen=True)
class ClassList:
    """Names and colours of the classes of a segmentation data set.

    Args:
        names: One name per id. When ``void_id`` is set, the void entry is the last
            name (e.g. ``"Unlabelled"``), so ``len(names) == num_classes + 1``.
        colors: One RGB colour (0..255 ints) per name, same order as ``names``.
        void_id: Id of the ignored "void" label, or ``None`` if every pixel is
            labelled. Must be ``len(names) - 1`` when given.

    Raises:
        ValueError: If the lists have different lengths, names are empty or
            duplicated, a colour is not three ints in 0..255, colours are repeated
            (RGB masks could not be decoded), or ``void_id`` is not the last id.
    """

    names: tuple[str, ...]
    colors: tuple[Color, ...]
    void_id: int | None = None

    def __post_init__(self) -> None:
        # Normalise lists (e.g. from JSON) to tuples so instances stay hashable.
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "colors", tuple(tuple(c) for c in self.colors))
        if not self.names:
            raise ValueError("ClassList: 'names' is empty; expected at least one class name.")
        if len(self.names) != len(self.colors):
            raise ValueError(
                f"ClassList: {len(self.names)} names but {len(self.colors)} colors; "
                "expected one RGB colour per name."
            )
        for name in self.names:
            if not isinstance(name, str) or not name:
                raise ValueError(
                    f"ClassList: invalid class name {name!r}; expected a non-empty str."
                )
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"ClassList: duplicated class names in {self.names}.")
        for name, color in zip(self.names, self.colors, strict=True):
            if len(color) != 3 or not all(
                isinstance(v, int | np.integer) and 0 <= int(v) <= 255 for v in color
            ):
                raise ValueError(
                    f"ClassList: colour {color!r} of class {name!r} is invalid; "
                    "expected three ints in 0..255."
                )
        if len(set(self.colors)) != len(self.colors):
            raise ValueError(
                "ClassList: two classes share a colour; expected distinct colours so that "
                "colour-coded masks can be decoded."
            )
        if self.void_id is not None and self.void_id != len(self.names) - 1:
            raise ValueError(
                f"ClassList: void_id={self.void_id} but there are {len(self.names)} names; "
                f"expected void to be the last id ({len(self.names) - 1}) or None."
            )
        if self.void_id is not None and len(self.names) < 2:
            raise ValueError("ClassList: a class list needs at least one real class besides void.")

    @property
    def num_classes(self) -> int:
        """Number of real classes (void excluded)."""
        return len(self.names) - (1 if self.void_id is not None else 0)

    @property
    def num_labels(self) -> int:
        """Number of distinct label ids, void included."""
        return len(self.names)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the real classes (void excluded)."""
        return self.names[: self.num_classes]

    def palette(self) -> np.ndarray:
        """Return the colour lookup table, uint8 ``[num_labels, 3]`` indexed by id."""
        return np.asarray(self.colors, dtype=np.uint8).reshape(-1, 3)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (inverse of :meth:`from_dict`)."""
        return {
            "names": list(self.names),
            "colors": [list(c) for c in self.colors],
            "void_id": self.void_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassList:
        """Build a class list from :meth:`to_dict` output.

        Args:
            data: Mapping with keys ``names``, ``colors`` and optionally ``void_id``.
        """
        missing = {"names", "colors"} - set(data)
        if missing:
            raise ValueError(f"ClassList.from_dict: missing keys {sorted(missing)}.")
        return cls(
            names=tuple(data["names"]),
            colors=tuple(tuple(int(v) for v in c) for c in data["colors"]),
            void_id=data.get("void_id"),
        )

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ClassList:
        """Parse :meth:`to_json` output.

        Args:
            text: JSON string.
        """
        return cls.from_dict(json.loads(text))


def parse_class_list(text: str | bytes, source: str) -> ClassList:
    """Parse a class-list JSON file's contents: the one reader of ``classes.json`` files.

    Accepted: :meth:`ClassList.to_json` output (``{"names": [...], "colors": [...],
    "void_id": ...}``), or an object whose ``"classes"`` key holds it (room for other
    metadata, as in model sidecar files). Bytes must be UTF-8.

    Args:
        text: JSON text or UTF-8 bytes.
        source: Name of the file, for error messages.

    Raises:
        DataError: (a ``ValueError``) naming ``source``, if the text is not UTF-8, not
            JSON, or not a valid class list.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"{source}: not UTF-8 text ({err}); expected a JSON class list."
            ) from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{source}: invalid JSON ({err}); expected a JSON class list.") from err
    if isinstance(data, dict) and isinstance(data.get("classes"), dict):
        data = data["classes"]
    if not isinstance(data, dict):
        raise DataError(
            f"{source}: expected a JSON object with 'names' and 'colors' (a ClassList) or "
            f"with a 'classes' object holding them; got {type(data).__name__}."
        )
    try:
        return ClassList.from_dict(data)
    except (TypeError, ValueError) as err:
        raise DataError(f"{source}: not a valid class list: {err}") from err


def read_class_list(path: str | os.PathLike) -> ClassList:
    """Read a class-list JSON file (see :func:`parse_class_list` for what it may hold).

    Args:
        path: The JSON file, e.g. a data set's or a model's ``classes.json``.

    Raises:
        DataError: Naming the file, if it cannot be read or is not a class list.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise DataError(f"{path}: cannot read the class list ({err.strerror or err}).") from err
    return parse_class_list(data, path)


# CamVid, 11-class SegNet split; names, ids and colours as in ../shared/camvid/README.md.
CAMVID_CLASSES = ClassList(
    names=(
        "Sky",
        "Building",
        "Pole",
        "Road",
        "Pavement",
        "Tree",
        "SignSymbol",
        "Fence",
        "Car",
        "Pedestrian",
        "Bicyclist",
        "Unlabelled",
    ),
    colors=(
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (60, 40, 222),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
        (0, 0, 0),
    ),
    void_id=11,
)

# Median-frequency class weights published with SegNet (class ids 0..10). Recomputing
# them on `trainannot/` gives slightly different values, see
# segnet_tf.data.class_weights for the recomputed ones and the explanation.
CAMVID_CLASS_WEIGHTS = (
    0.2595,
    0.1826,
    4.5640,
    0.1417,
    0.9051,
    0.3826,
    9.6446,
    1.8418,
    0.6823,
    6.2478,
    7.3614,
)


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
