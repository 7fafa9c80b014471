"""Training callbacks: crash-safe history, best checkpoint, NaN guard, early stopping, logs.

Everything written here survives ``kill -9``: files are replaced atomically, and the
history and best checkpoint pick up where an interrupted run left them. Once the loss
is NaN/inf (:class:`NaNGuard`), nothing more is written, so every file keeps the last
finite state. The backup lives in :mod:`segnet_tf.training.backup`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from segnet_tf.atomic_files import save_atomic, write_json_atomic, write_text_atomic
from segnet_tf.training.backup import first_non_finite
from segnet_tf.training.errors import TrainingDivergedError

__all__ = [
    "BestModelCheckpoint",
    "HistoryCSV",
    "NaNGuard",
    "ResumableEarlyStopping",
    "TensorBoardScalars",
    "TrainingDivergedError",
    "history_columns",
    "read_best_info",
    "read_history_csv",
]


def _as_float(value) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def _current_lr(model) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        return _as_float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return None


def read_history_csv(path: str | os.PathLike) -> list[dict[str, float]]:
    """Read a history CSV written by :class:`HistoryCSV`.

    Args:
        path: The CSV file; a missing file gives an empty history.

    Returns:
        One dict per epoch (``epoch`` is 0-based, epochs 0, 1, ... in order), values as
        floats.

    Raises:
        ValueError: the file is not such a CSV (the message names it).
    """
    if not os.path.exists(path):
        return []
    fix = (
        "restore it from a copy, or delete it and rerun the same command to resume with "
        f"those epochs' values left empty in {Path(path).name} (--overwrite restarts the run)"
    )
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path}: cannot read the training history ({err}); {fix}.") from err
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            if None in row or None in row.values():
                raise ValueError("wrong number of fields")
            parsed = {k: float(v) if v != "" else math.nan for k, v in row.items()}
            epoch = parsed.pop("epoch")
        except (KeyError, ValueError, TypeError) as err:
            detail = "no 'epoch' column" if isinstance(err, KeyError) else str(err)
            raise ValueError(
                f"{path}, line {line}: not a training history row ({detail}); {fix}."
            ) from err
        if epoch != len(out):
            raise ValueError(
                f"{path}, line {line}: epoch {epoch:g} where epoch {len(out)} was expected; {fix}."
            )
        out.append({"epoch": len(out), **parsed})
    return out


def history_columns(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Turn per-epoch rows into ``{metric: [value per epoch]}`` (like ``History``).

    A metric missing from a row (an epoch whose values were lost) is NaN there.
    """
    keys = list(dict.fromkeys(k for row in rows for k in row if k != "epoch"))
    return {k: [row.get(k, math.nan) for row in rows] for k in keys}


def _padded(rows: list[dict[str, float]], epochs: int) -> list[dict[str, float]]:
    """``rows`` with a values-less row for each epoch below ``epochs`` that it lacks.

    A deleted (damaged) ``history.csv`` loses the values of the epochs before the
    resume point, not the epochs: the run's backup says they were trained. Their rows
    stay, empty, so that every epoch is listed once and in order.
    """
    return rows + [{"epoch": epoch} for epoch in range(len(rows), int(epochs))]


class HistoryCSV(keras.callbacks.Callback):
    """Per-epoch logs (plus the learning rate) in a CSV, rewritten atomically.

    Unlike ``keras.callbacks.CSVLogger`` this survives an interrupted run: when
    training (re)starts at epoch ``k``, rows of epochs ``>= k`` left by the killed
    run are dropped, so every epoch appears exactly once.

    Args:
        path: CSV file.
        divergence: An object whose ``diverged_at`` is set once the loss is NaN/inf
            (a :class:`NaNGuard`); the diverged epoch is then not recorded.

    Attributes:
        rows: One dict per epoch so far (``epoch`` 0-based).
        first_epoch: First epoch run by this ``fit`` (the resume point), or None.
    """

    def __init__(self, path: str | os.PathLike, divergence=None):
        super().__init__()
        self.path = Path(path)
        self.divergence = divergence
        self.rows: list[dict[str, float]] = []
        self.first_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            # First epoch of this fit: keep what earlier (killed) runs completed.
            self.rows = _padded(read_history_csv(self.path), epoch)[:epoch]
            self.first_epoch = int(epoch)

    def complete(self, epochs: int) -> list[dict[str, float]]:
        """The rows of ``epochs`` epochs, read from the file, with an empty row for each
        epoch it lacks (rewritten if so); see :func:`_padded`.

        Args:
            epochs: The epochs the run has completed.
        """
        rows = read_history_csv(self.path)
        padded = _padded(rows, epochs)
        if len(padded) != len(rows):
            self.rows = padded
            self._write()
        return padded

    def on_epoch_end(self, epoch, logs=None):
        if _diverged(self.divergence):
            return
        row = {"epoch": int(epoch)}
        row.update({k: _as_float(v) for k, v in (logs or {}).items()})
        lr = _current_lr(self.model)
        if lr is not None:
            row["learning_rate"] = lr
        self.rows.append(row)
        self._write()

    def _write(self) -> None:
        keys: list[str] = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, restval="", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        write_text_atomic(self.path, buffer.getvalue())


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the whole model (``.keras``) when the monitored value improves.

    The best value is kept in a JSON sidecar (``<path stem>.json``) written after the
    model, so a resumed run only replaces the checkpoint with a genuinely better one.

    Args:
        path: ``.keras`` file.
        monitor: Log key, e.g. ``"val_mean_iou"``.
        mode: ``"max"`` or ``"min"``; ``"last"`` saves every epoch whose value is
            finite (when the monitored split cannot choose, e.g. it is trained on).
        sidecar_extra: More keys for the sidecar (e.g. ``{"classes": ...}``, which
            ``segnet_tf.inference`` reads from ``<stem>.json``).
        transform: Optional function from the trained model to the model to save
            (e.g. wrapping it with ``segnet_tf.models.with_input_scale``), called at
            each save.
        divergence: An object whose ``diverged_at`` is set once the loss is NaN/inf
            (a :class:`NaNGuard`); nothing is saved from then on. Weights holding
            NaN/inf are never saved either (that too counts as divergence).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_mean_iou",
        mode: str = "max",
        sidecar_extra: dict | None = None,
        transform=None,
        divergence=None,
    ):
        super().__init__()
        self.divergence = divergence
        if mode not in ("max", "min", "last"):
            raise ValueError(f"mode={mode!r}; expected 'max', 'min' or 'last'.")
        self.path = Path(path)
        self.sidecar = self.path.with_suffix(".json")
        self.monitor = monitor
        self.mode = mode
        self.sidecar_extra = dict(sidecar_extra or {})
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.transform = transform

    def on_train_begin(self, logs=None):
        info = read_best_info(self.sidecar)
        if info and info.get("monitor") == self.monitor and self.path.exists():
            self.best, self.best_epoch = info["value"], info["epoch"]

    def _better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None or self.mode == "last":
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs or _diverged(self.divergence):
            return
        value = _as_float(logs[self.monitor])
        if self._better(value) and math.isfinite(_as_float(logs.get("loss", 0.0))):
            bad = first_non_finite(self.model.weights)
            if bad is not None:
                if self.divergence is not None:
                    self.divergence.diverged_at = (int(epoch), -1)
                self.model.stop_training = True
                return
            to_save = self.transform(self.model) if self.transform else self.model
            save_atomic(self.path, to_save.save, ".keras")
            self.best, self.best_epoch = value, int(epoch)
            write_json_atomic(
                self.sidecar,
                {
                    **self.sidecar_extra,
                    "monitor": self.monitor,
                    "value": value,
                    "epoch": int(epoch),
                },
            )


def _diverged(divergence) -> bool:
    return divergence is not None and divergence.diverged_at is not None


def read_best_info(path: str | os.PathLike) -> dict | None:
    """Read a :class:`BestModelCheckpoint` sidecar.

    Args:
        path: The sidecar (``best.json``).

    Returns:
        Its content, or None if there is no such file.

    Raises:
        ValueError: the file is not valid JSON or its fields have wrong types (the
            message names the file).
    """
    if not os.path.exists(path):
        return None
    fix = "delete it and the checkpoint beside it to keep the best of the remaining epochs"
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read the best-checkpoint record ({err}); {fix}.") from err
    problems = []
    if not isinstance(info, dict):
        problems.append("not a JSON object")
    else:
        if not isinstance(info.get("monitor"), str):
            problems.append("'monitor' is not a string")
        value = info.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append("'value' is not a number")
        epoch = info.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            problems.append("'epoch' is not an epoch number")
    if problems:
        raise ValueError(f"{path}: {'; '.join(problems)}; {fix}.")
    return info


class NaNGuard(keras.callbacks.Callback):
    """Stop training as soon as the loss is NaN, infinite or explodes; remember where.

    An explosion is a loss above ``explosion_factor`` times the first loss of the
    ``fit`` (at least 1): a learning rate far too high first sends the weights to huge
    but finite values, from which no run recovers. The validation loss at the end of
    each epoch is judged the same way (it is the first loss computed with the
    epoch's last weights).

    The other callbacks of this module (and
    :class:`~segnet_tf.training.backup.ExactBackup`) take the guard as
    ``divergence`` and write nothing once it has fired: the epoch still ends (Keras
    validates it), but no history row, checkpoint or backup records it.

    Args:
        explosion_factor: How many times the first loss counts as divergence.

    Attributes:
        diverged_at: ``(epoch, batch)`` of the first bad loss (``batch`` -1: the
            epoch's validation), or None.
        loss: The bad loss value, or None.
    """

    def __init__(self, explosion_factor: float = 1e4):
        super().__init__()
        self.explosion_factor = explosion_factor
        self.diverged_at: tuple[int, int] | None = None
        self.loss: float | None = None
        self._epoch = 0
        self._reference: float | None = None

    def on_train_begin(self, logs=None):
        self._reference = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _is_bad(self, loss: float) -> bool:
        if not math.isfinite(loss):
            return True
        limit = self.explosion_factor * max(self._reference or 0.0, 1.0)
        return self._reference is not None and loss > limit

    def _fire(self, epoch: int, batch: int, loss: float) -> None:
        if self.diverged_at is None:
            self.diverged_at, self.loss = (int(epoch), int(batch)), loss
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = _as_float(loss)
        if self._is_bad(loss):
            self._fire(self._epoch, batch, loss)
        elif self._reference is None:
            self._reference = loss

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged_at is not None:
            return
        for key in ("loss", "val_loss"):
            if key in (logs or {}) and self._is_bad(_as_float(logs[key])):
                self._fire(epoch, -1, _as_float(logs[key]))
                return


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` that, on a resumed run, first replays the epochs already done.

    Keras' callback forgets its patience count when a run is resumed, so an
    interrupted run would train longer than an uninterrupted one.

    Args:
        past_rows: History rows of the completed epochs (:func:`read_history_csv`);
            those before the first epoch of this ``fit`` are replayed.
        **kwargs: Arguments of ``keras.callbacks.EarlyStopping``.
    """

    def __init__(self, past_rows: list[dict[str, float]] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.past_rows = list(past_rows or [])
        self._replayed = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._replayed = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._replayed:
            return
        self._replayed = True
        for row in self.past_rows:
            if row["epoch"] < epoch and self.monitor in row:
                super().on_epoch_end(row["epoch"], {self.monitor: row[self.monitor]})
        self.model.stop_training = False


class TensorBoardScalars(keras.callbacks.Callback):
    """Epoch scalars as TensorBoard event files (``train/`` and ``validation/``).

    Uses TensorFlow's core summary writer with the scalars plugin metadata, so it
    works without the ``tensorboard`` package (which ``keras.callbacks.TensorBoard``
    needs); the files open in TensorBoard as usual. Tags follow Keras' naming
    (``epoch_loss``, ``epoch_mean_iou``, ``epoch_learning_rate``).

    Args:
        log_dir: Root folder of the logs.
    """

    def __init__(self, log_dir: str | os.PathLike):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self._writers: dict = {}

    def _writer(self, name: str):

        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_epoch_end(self, epoch, logs=None):

        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        )
        values = {k: _as_float(v) for k, v in (logs or {}).items()}
        lr = _current_lr(self.model)
        if lr is not None:
            values["learning_rate"] = lr
        for key, value in values.items():
            split, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.write(
                    f"epoch_{tag}", tf.constant(value, tf.float32), step=epoch, metadata=metadata
                )
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
