"""One training process per run folder.

Two processes writing one run folder interleave their files (a ``metrics.json`` of
one run beside the ``history.csv`` of the other). :class:`RunLock` holds an exclusive
``flock`` on the run folder itself for the whole run: no file is added to the folder,
and the operating system releases the lock when the process ends in any way
(``kill -9`` included), so a lock is never left stuck. Where folders cannot be locked
(some network file systems), a ``.lock`` file in the folder is locked instead.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"  # Only where the folder itself cannot be locked.


class RunFolderBusyError(ValueError):
    """Another process is training in this run folder."""


def _lock_holder(path: Path) -> int | None:
    """Process id holding a ``flock`` on ``path`` (Linux ``/proc/locks``), if known."""
    try:
        stat = os.stat(path)
        with open("/proc/locks", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in lines:
        fields = line.split()
        if "FLOCK" in fields and fields[-3] == device:
            with contextlib.suppress(ValueError):
                return int(fields[-4])
    return None


class RunLock:
    """Exclusive lock on a run folder (a context manager).

    The folder is created if needed; if it was created here and is still empty on
    release (the run could not start), it is removed again.

    Args:
        run_dir: The run folder.

    Raises:
        RunFolderBusyError: another running process holds the lock (on entering).
        ValueError: ``run_dir`` is a file.
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self._fd: int | None = None
        self._created = False

    def _try_lock(self, path: Path, flags: int) -> int:
        fd = os.open(path, flags)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        return fd

    def __enter__(self) -> RunLock:
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ValueError(f"{self.run_dir} is a file, not a folder; choose another --run-dir.")
        self._created = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        locked = self.run_dir
        try:
            try:
                self._fd = self._try_lock(locked, os.O_RDONLY | os.O_DIRECTORY)
            except OSError as err:
                if err.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise
                locked = self.run_dir / LOCK_FILE
                self._fd = self._try_lock(locked, os.O_RDWR | os.O_CREAT)
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = _lock_holder(locked)
            raise RunFolderBusyError(
                f"{self.run_dir} is in use by another segnet train process"
                + (f" (pid {holder})" if holder else "")
                + "; wait for it to finish or stop it, or choose another --run-dir."
            ) from None
        return self

    def __exit__(self, *exc_info) -> None:
        if self._fd is None:
            return
        if self._created:
            with contextlib.suppress(OSError):
                self.run_dir.rmdir()  # Only succeeds if nothing was written.
        os.close(self._fd)  # Releases the lock.
        self._fd = None
