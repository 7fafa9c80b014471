"""One training process per run folder.

Two processes writing one run folder interleave their files (a ``metrics.json`` of
one run beside the ``history.csv`` of the other). :class:`RunLock` holds an exclusive
``flock`` on ``<run dir>/.lock`` for the whole run. The operating system releases it
when the process ends in any way (``kill -9`` included), so a lock is never left
stuck; the file itself stays (deleting it would let two processes lock two
different files of the same name).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"


class RunFolderBusyError(ValueError):
    """Another process is training in this run folder."""


class RunLock:
    """Exclusive lock on a run folder (a context manager).

    The folder is created if needed; if it was created here and nothing but the
    lock file is in it on release (the run could not start), it is removed again.

    Args:
        run_dir: The run folder.

    Raises:
        RunFolderBusyError: another running process holds the lock (on entering).
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None
        self._created = False

    def __enter__(self) -> RunLock:
        self._created = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = _read_holder(fd)
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            raise RunFolderBusyError(
                f"{self.run_dir} is in use by another segnet train process"
                + (f" (pid {holder})" if holder else "")
                + "; wait for it to finish or stop it, or choose another --run-dir."
            ) from None
        # Record the holder for the message above (the lock, not this text, decides).
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc_info) -> None:
        if self._fd is None:
            return
        if self._created and os.listdir(self.run_dir) == [LOCK_FILE]:
            with contextlib.suppress(OSError):
                self.path.unlink()
                self.run_dir.rmdir()
        os.close(self._fd)  # Releases the lock.
        self._fd = None


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
