"""How long each training epoch took, in the run folder's ``epoch_times.csv``.

``history.csv`` holds what each epoch computed, and a resumed run ends with the same
file as an uninterrupted one; how long an epoch took depends on the machine and on what
else ran beside it, so it lives in a file of its own. One row per epoch the run kept:
its number (0-based), its wall-clock seconds (from the end of the epoch before, or the
start of the ``fit`` call, to its end: validation and checkpoints included) and the CPU
(:func:`segnet_tf.cpu_features.cpu_label`).

A run killed and resumed loses the time of its unfinished epoch only, where the
recipe's per-call log (``train_time.tsv``) loses the whole call; an epoch resumed from
a mid-epoch backup counts the steps run after the resume.
"""

from __future__ import annotations

import csv
import io
import os
import time
import warnings
from pathlib import Path

import keras

from segnet_tf.atomic_files import write_text_atomic
from segnet_tf.cpu_features import cpu_label

FIELDS = ("epoch", "seconds", "cpu")


def read_epoch_times(path: str | os.PathLike) -> list[dict]:
    """The rows of an ``epoch_times.csv``: ``{"epoch": int, "seconds": float, "cpu": str}``.

    Args:
        path: The CSV file; a missing file gives no rows.

    Raises:
        ValueError: the file is not such a CSV (the message names file and line).
    """
    if not os.path.exists(path):
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != FIELDS:
                raise ValueError(f"header {reader.fieldnames}, expected {list(FIELDS)}")
            rows = []
            for row in reader:
                try:
                    rows.append(
                        {
                            "epoch": int(row["epoch"]),
                            "seconds": float(row["seconds"]),
                            "cpu": row["cpu"],
                        }
                    )
                except (TypeError, ValueError) as err:
                    raise ValueError(f"line {reader.line_num}: {err}") from err
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as err:
        raise ValueError(f"{path}: not an epoch-times file ({err})") from err
    return rows


class EpochTimes(keras.callbacks.Callback):
    """Writes each epoch's wall-clock seconds and CPU to a CSV, atomically.

    When training (re)starts at epoch ``k``, rows of epochs ``>= k`` left by a killed
    run are dropped (as :class:`~segnet_tf.training.callbacks.HistoryCSV` does), so
    every epoch appears once. A damaged file is started afresh with a warning: the
    times are a record, not part of the training state.

    Args:
        path: The CSV file.
        divergence: An object whose ``diverged_at`` is set once the loss is NaN/inf
            (a :class:`~segnet_tf.training.callbacks.NaNGuard`); the diverged epoch is
            not recorded.
        clock: Seconds on a monotonic clock (a parameter for the tests).
    """

    def __init__(self, path: str | os.PathLike, divergence=None, clock=time.monotonic):
        super().__init__()
        self.path = Path(path)
        self.divergence = divergence
        self.clock = clock
        self.cpu = cpu_label()
        self.rows: list[dict] | None = None
        self._since = 0.0

    def on_train_begin(self, logs=None):
        self.rows = None
        self._since = self.clock()

    def on_epoch_begin(self, epoch, logs=None):
        if self.rows is None:
            try:
                past = read_epoch_times(self.path)
            except ValueError as err:
                warnings.warn(f"{err}; starting it afresh from epoch {epoch + 1}.", stacklevel=2)
                past = []
            self.rows = [row for row in past if row["epoch"] < epoch]

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        seconds, self._since = now - self._since, now
        if getattr(self.divergence, "diverged_at", None) is not None:
            return
        self.rows.append({"epoch": int(epoch), "seconds": round(seconds, 3), "cpu": self.cpu})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text_atomic(self.path, buffer.getvalue())
