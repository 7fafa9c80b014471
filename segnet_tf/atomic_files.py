"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Each writer creates a temporary file in the destination folder (same file system,
so ``os.replace`` is an atomic rename) and renames it over the target only once it
is complete. Every file the package writes (run artifacts, plots, predictions,
exports) goes through here.

A process killed mid-write leaves its temporary file (or folder, see
:func:`atomic_folder`) behind; the name records the writer's process id, so
:func:`remove_stale_temp_files` can tell leftovers from files being written. Every
command calls it on the folders it writes to, before writing. A write that fails for
lack of space raises :class:`DiskFullError` (an ``OSError``) that says so, whatever
library did the writing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# ``.<target name>.<pid>.<32 hex digits>.tmp<suffix>``: see :func:`atomic_path`.
_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{32}\.tmp[^/]*$")


class DiskFullError(OSError):
    """A write failed for lack of space; the file it would have replaced is intact."""


def _is_disk_full(error: BaseException) -> bool:
    """ENOSPC / EDQUOT, also when a library (h5py, zipfile) only says it in the text."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(error) or "errno = 28" in str(error)


_UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _unwritable_error(error: BaseException, path: Path) -> OSError | None:
    """A permission or read-only-file-system error writing ``path``, reworded to name its
    folder (not the hidden temporary file) and the way out; None for other errors."""
    if not isinstance(error, OSError) or error.errno not in _UNWRITABLE:
        return None
    reason = (error.strerror or str(error)).lower()
    return PermissionError(
        error.errno,
        f"cannot write {path.name} into {path.parent} ({reason}); make that folder "
        "writable for this user, or choose another output folder",
    )


def make_folder(path: str | os.PathLike) -> Path:
    """``mkdir -p path``; a folder that cannot be created is one error naming it and the fix.

    Args:
        path: The folder.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if error.errno not in _UNWRITABLE:
            raise
        raise PermissionError(
            error.errno,
            f"cannot create the folder {path} ({(error.strerror or str(error)).lower()}); "
            "choose an output folder this user can write to",
        ) from error
    return path


def process_is_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine).

    Args:
        pid: Process id.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # It exists, owned by someone else.
    return True


def _temp_name(path: Path, suffix: str = "") -> Path:
    """``.<name>.<pid>.<32 hex digits>.tmp<suffix>`` beside ``path``: see :data:`_TEMP_NAME`."""
    return path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp{suffix}"


def remove_stale_temp_files(folder: str | os.PathLike, all_but_mine: bool = False) -> list[Path]:
    """Delete what :func:`atomic_path` and :func:`atomic_folder` left in ``folder``.

    A process killed while writing leaves its temporary file or folder; its name holds
    the writer's process id, so those of processes that no longer run are known
    stale. Not recursive: each command calls it on every folder it writes to.

    Args:
        folder: The folder to clean (may not exist).
        all_but_mine: Also delete the temporary files of running processes other than
            this one (safe only when this process holds the folder's lock).

    Returns:
        The deleted paths.
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _TEMP_NAME.match(entry.name)
        if not match or entry.is_symlink():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or (not all_but_mine and process_is_alive(pid)):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed


def staging_dir_name(prefix: str) -> str:
    """A unique hidden folder name that records this process's id.

    Args:
        prefix: Start of the name, e.g. ``".export-"``.
    """
    return f"{prefix}{os.getpid()}-{uuid.uuid4().hex}"


def remove_stale_staging_dirs(folder: str | os.PathLike, prefix: str) -> list[Path]:
    """Delete folders named by :func:`staging_dir_name` whose process no longer runs.

    Args:
        folder: Parent folder (may not exist).
        prefix: The prefix given to :func:`staging_dir_name`.

    Returns:
        The deleted folders.
    """
    folder = Path(folder)
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)-[0-9a-f]{{32}}$")
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not process_is_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    Args:
        path: Final destination.
        suffix: Ending of the temporary name (Keras insists on ``.keras`` /
            ``.weights.h5`` endings).

    Raises:
        DiskFullError: the device is full (``path`` keeps its previous content).
    """
    path = Path(path)
    make_folder(path.parent)
    # A unique name that is not created here: writers then create the file with the
    # usual permissions (mkstemp would make it private to the owner).
    tmp_named = str(_temp_name(path, suffix))
    try:
        yield tmp_named
        os.replace(tmp_named, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(tmp_named)
        if _is_disk_full(error) and not isinstance(error, DiskFullError):
            raise DiskFullError(
                errno.ENOSPC,
                f"no space left on the device of {path.parent} while writing {path.name} "
                f"(the previous {path.name}, if any, is intact); free some space and rerun "
                "the same command",
            ) from error
        unwritable = _unwritable_error(error, path)
        if unwritable is not None:
            raise unwritable from error
        raise


def _mkdir(tmp: Path, path: Path) -> None:
    try:
        tmp.mkdir()
    except OSError as error:
        unwritable = _unwritable_error(error, path)
        if unwritable is None:
            raise
        raise unwritable from error


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` on success.

    A previous folder of the same name is swapped out (two renames) and deleted, so
    files of an earlier run never mix with the new ones; on failure the previous
    folder is left as it was. Both temporary names hold this process's id (see
    :func:`remove_stale_temp_files`).

    Args:
        path: The folder to create or replace.
    """
    path = Path(path)
    make_folder(path.parent)
    tmp = _temp_name(path)
    _mkdir(tmp, path)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = _temp_name(path, ".old")
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def scratch_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary folder beside ``path`` for intermediate files; always
    deleted at the end (a killed process's is found by :func:`remove_stale_temp_files`).

    Args:
        path: The file the intermediate files lead to.
    """
    path = Path(path)
    make_folder(path.parent)
    tmp = _temp_name(path, ".work")
    _mkdir(tmp, path)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
