"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Each writer creates a temporary file in the destination folder (same file system,
so ``os.replace`` is an atomic rename) and renames it over the target only once it
is complete. Every file the package writes (run artifacts, plots, predictions,
exports) goes through here.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    Args:
        path: Final destination.
        suffix: Ending of the temporary name (Keras insists on ``.keras`` /
            ``.weights.h5`` endings).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name that is not created here: writers then create the file with the
    # usual permissions (mkstemp would make it private to the owner).
    tmp_named = str(path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp{suffix}")
    try:
        yield tmp_named
        os.replace(tmp_named, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_named)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write a binary file atomically.

    Args:
        path: Destination.
        data: Content.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def save_png_atomic(image, path: str | os.PathLike) -> Path:
    """Save a PIL image (or uint8 array) as a PNG file atomically; returns the path.

    Args:
        image: ``PIL.Image.Image`` or uint8 array ``[H, W]`` / ``[H, W, 3]``.
        path: Destination.
    """
    from PIL import Image

    image = image if isinstance(image, Image.Image) else Image.fromarray(image)
    with atomic_path(path, suffix=".png") as tmp:
        image.save(tmp, format="PNG")
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically.

    Args:
        path: Destination.
        text: Content.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and NaN (-> null) into strict-JSON values.

    Args:
        value: Nested dicts/lists of numbers, numpy values and strings.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy array or scalar
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write strict JSON (NaN as null) atomically.

    Args:
        path: Destination.
        data: JSON-like data (numpy values allowed).
    """
    write_text_atomic(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def save_atomic(path: str | os.PathLike, save: Callable[[str], Any], suffix: str) -> None:
    """Call ``save(tmp_path)`` and rename the result over ``path``.

    Args:
        path: Destination.
        save: Writer taking a path, e.g. ``model.save``.
        suffix: Extension the writer requires (``".keras"``, ``".weights.h5"``).
    """
    with atomic_path(path, suffix=suffix) as tmp:
        save(tmp)
