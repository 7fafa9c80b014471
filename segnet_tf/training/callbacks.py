"""Training callbacks: crash-safe history, best checkpoint, backup, NaN guard, logs.

Everything written here survives ``kill -9``: files are replaced atomically, and the
history and best checkpoint pick up where an interrupted run left them.
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

from segnet_tf.atomic_files import save_atomic, write_json_atomic, write_text_atomic


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
        One dict per epoch (``epoch`` is 0-based), values as floats.
    """
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        parsed = {k: float(v) if v not in ("", None) else math.nan for k, v in row.items()}
        parsed["epoch"] = int(parsed["epoch"])
        out.append(parsed)
    return out


def history_columns(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Turn per-epoch rows into ``{metric: [value per epoch]}`` (like ``History``)."""
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    return {k: [row.get(k, math.nan) for row in rows] for k in keys}


class HistoryCSV(keras.callbacks.Callback):
    """Per-epoch logs (plus the learning rate) in a CSV, rewritten atomically.

    Unlike ``keras.callbacks.CSVLogger`` this survives an interrupted run: when
    training (re)starts at epoch ``k``, rows of epochs ``>= k`` left by the killed
    run are dropped, so every epoch appears exactly once.

    Args:
        path: CSV file.

    Attributes:
        rows: One dict per epoch so far (``epoch`` 0-based).
        first_epoch: First epoch run by this ``fit`` (the resume point), or None.
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, float]] = []
        self.first_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            # First epoch of this fit: keep what earlier (killed) runs completed.
            self.rows = [r for r in read_history_csv(self.path) if r["epoch"] < epoch]
            self.first_epoch = int(epoch)

    def on_epoch_end(self, epoch, logs=None):
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
        mode: ``"max"`` or ``"min"``.
        sidecar_extra: More keys for the sidecar (e.g. ``{"classes": ...}``, which
            ``segnet_tf.inference`` reads from ``<stem>.json``).
        transform: Optional function from the trained model to the model to save
            (e.g. wrapping it with ``segnet_tf.models.with_input_scale``), called at
            each save.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_mean_iou",
        mode: str = "max",
        sidecar_extra: dict | None = None,
        transform=None,
    ):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode={mode!r}; expected 'max' or 'min'.")
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
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs:
            return
        value = _as_float(logs[self.monitor])
        if self._better(value):
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


def read_best_info(path: str | os.PathLike) -> dict | None:
    """Read a :class:`BestModelCheckpoint` sidecar; None if missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose backups are replaced atomically.

    Keras writes ``latest.weights.h5`` in place, so a ``kill -9`` during the write
    leaves a truncated file that cannot be restored. Here the weights and metadata
    are written to temporary files and renamed (weights first, so the metadata
    never points past the weights on disk).

    Args:
        backup_dir: Folder of the backup (used by nothing else).
        save_freq: ``"epoch"`` or a number of batches.
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq="epoch"):
        super().__init__(os.fspath(backup_dir), save_freq=save_freq, delete_checkpoint=False)

    @property
    def weights_path(self) -> str:
        return self._weights_path

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        save_atomic(
            self._weights_path,
            lambda tmp: self.model.save_weights(tmp, overwrite=True),
            ".weights.h5",
        )
        write_json_atomic(
            self._training_metadata_path,
            {"epoch": self._current_epoch, "batch": self._last_batch_seen},
        )


class NaNGuard(keras.callbacks.Callback):
    """Stop training as soon as the loss is NaN or infinite, and remember where.

    Attributes:
        diverged_at: ``(epoch, batch)`` of the first non-finite loss, or None.
    """

    def __init__(self):
        super().__init__()
        self.diverged_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(_as_float(loss)):
            self.diverged_at = (self._epoch, int(batch))
            self.model.stop_training = True


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
        import tensorflow as tf

        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

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
