"""Exact mid-run backups: a resumed run takes the very steps an uninterrupted one would.

A backup (``backup/state.h5``) is one file holding everything a training step reads
or changes besides the input data: the model's weights (with batch-norm statistics),
the optimizer's variables (its iteration counter drives the learning-rate schedule),
the running training metrics of the current epoch and the state of every layer's
random seed generator (dropout masks). It also records how many epochs were complete
and how many steps of the next one were taken. Because it is a single file replaced
atomically, these never disagree, whatever moment a ``kill -9`` strikes.

The training input stream is a deterministic function of the global step (fixed
seeds, see :func:`segnet_tf.data.make_training_pipeline`), so resuming at step ``g``
means: skip the ``g`` batches already consumed, restore the state above, and run the
rest of the interrupted epoch only (:class:`ExactBackup` turns its first, already
taken steps into no-ops).

The file is written in memory first and then to disk with plain file writes, so a
full disk is an ordinary ``OSError`` (h5py crashes the interpreter when its own file
writes fail).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import keras
import numpy as np

from segnet_tf._compat import replace_train_function
from segnet_tf.atomic_files import write_bytes_atomic

FORMAT_VERSION = 1


def state_variables(model) -> list:
    """Every variable a training step reads or writes, but the metrics, in a fixed order.

    (The running metrics are saved apart: Keras creates them at the start of ``fit``,
    after a backup is restored.)

    Args:
        model: A compiled Keras model (its optimizer built).

    Returns:
        Model weights, optimizer variables, seed-generator states (each once).
    """
    groups = [list(model.weights)]
    if model.optimizer is not None:
        groups.append(list(model.optimizer.variables))
    # `variables` is the weights plus the layers' seed-generator states (in layer
    # order), which make Monte-Carlo dropout resume where it stopped.
    weights = {id(variable) for variable in model.weights}
    groups.append([variable for variable in model.variables if id(variable) not in weights])
    seen, out = set(), []
    for variable in (v for group in groups for v in group):
        if id(variable) not in seen:
            seen.add(id(variable))
            out.append(variable)
    return out


def _values(variables) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in variables]


def _is_finite(value: np.ndarray) -> bool:
    """All entries finite (integer and boolean arrays always are)."""
    if value.dtype.kind in "biu":
        return True
    # float64 also covers bfloat16 / float16 arrays (ml_dtypes kinds are not "f").
    return bool(np.all(np.isfinite(value.astype(np.float64))))


def first_non_finite(variables) -> str | None:
    """Path of the first variable holding NaN or inf, or None.

    Args:
        variables: Keras variables.
    """
    for variable, value in zip(variables, _values(variables), strict=True):
        if not _is_finite(value):
            return variable.path
    return None


@dataclass(frozen=True)
class ResumePoint:
    """Where a backup leaves the run.

    Args:
        epochs_completed: Epochs whose end (validation, history row) is done.
        steps_taken: Optimizer steps of the next epoch already taken (0 at an epoch
            boundary, up to ``steps_per_epoch`` when killed during validation).
        steps_per_epoch: Steps of every epoch.
        metric_values: Values of the running training metrics (in
            ``model.metrics_variables`` order), to carry on the interrupted epoch's
            averages when ``steps_taken > 0``.
    """

    epochs_completed: int
    steps_taken: int
    steps_per_epoch: int
    metric_values: list = field(default_factory=list, compare=False, repr=False)

    @property
    def global_step(self) -> int:
        """Optimizer steps taken since the start of the run."""
        return self.epochs_completed * self.steps_per_epoch + self.steps_taken


@dataclass
class Snapshot:
    """The training state at one step, copied to host memory (see :func:`take_snapshot`).

    Args:
        point: Where the run is.
        paths: Variable names (for messages).
        values: Values of :func:`state_variables`.
        metric_values: Values of ``model.metrics_variables``.
    """

    point: ResumePoint
    paths: list[str]
    values: list[np.ndarray]
    metric_values: list[np.ndarray]


def take_snapshot(model, point: ResumePoint) -> Snapshot:
    """Copy the training state of ``model`` at ``point``.

    Args:
        model: The model being trained.
        point: How far the run is.

    Raises:
        ValueError: a variable holds NaN/inf.
    """
    variables = state_variables(model)
    values = [np.array(v, copy=True) for v in _values(variables)]
    for variable, value in zip(variables, values, strict=True):
        if not _is_finite(value):
            raise ValueError(f"{variable.path} holds NaN/inf.")
    metric_values = [np.array(v, copy=True) for v in _values(model.metrics_variables)]
    return Snapshot(point, [v.path for v in variables], values, metric_values)


def write_snapshot(path: str | os.PathLike, snapshot: Snapshot) -> None:
    """Write a snapshot as the backup file, atomically.

    Raises:
        OSError: the file cannot be written (the previous backup is intact).
    """

    point = snapshot.point
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["format"] = FORMAT_VERSION
        f.attrs["epochs_completed"] = point.epochs_completed
        f.attrs["steps_taken"] = point.steps_taken
        f.attrs["steps_per_epoch"] = point.steps_per_epoch
        f.create_dataset("paths", data=[p.encode("utf-8") for p in snapshot.paths])
        group = f.create_group("values")
        for index, value in enumerate(snapshot.values):
            group.create_dataset(f"{index:05d}", data=value)
        metrics = f.create_group("metrics")
        for index, value in enumerate(snapshot.metric_values):
            metrics.create_dataset(f"{index:05d}", data=value)
    write_bytes_atomic(path, buffer.getvalue())


def write_state(path: str | os.PathLike, model, point: ResumePoint) -> None:
    """Write a backup of ``model`` at ``point`` atomically.

    Args:
        path: The backup file.
        model: The model being trained.
        point: How far the run is.

    Raises:
        ValueError: a variable holds NaN/inf (nothing is written then).
        OSError: the file cannot be written (the previous backup is intact).
    """
    try:
        snapshot = take_snapshot(model, point)
    except ValueError as err:
        raise ValueError(f"{path}: not written, {err}") from err
    write_snapshot(path, snapshot)


def read_state(path: str | os.PathLike, model, steps_per_epoch: int) -> ResumePoint:
    """Restore ``model`` (weights, optimizer, metrics, seeds) from a backup.

    Everything is checked before any variable is assigned, so a bad file leaves the
    model untouched.

    Args:
        path: The backup file.
        model: The freshly compiled model of the same configuration.
        steps_per_epoch: Steps per epoch of this run.

    Returns:
        The :class:`ResumePoint` recorded in the file.

    Raises:
        ValueError: unreadable or truncated file, another model or configuration,
            NaN/inf values, or an inconsistent step count; the message names the file.
    """

    path = Path(path)
    fix = f"delete {path.parent} to restart the run from scratch, or pass --overwrite"
    variables = state_variables(model)
    try:
        with h5py.File(path, "r") as f:
            version = int(f.attrs["format"])
            point = ResumePoint(
                int(f.attrs["epochs_completed"]),
                int(f.attrs["steps_taken"]),
                int(f.attrs["steps_per_epoch"]),
            )
            paths = [p.decode("utf-8") for p in f["paths"][()]]
            values = [f["values"][f"{i:05d}"][()] for i in range(len(paths))]
            metric_values = [f["metrics"][name][()] for name in sorted(f["metrics"])]
    except Exception as err:  # h5py raises many types for a damaged file.
        raise ValueError(
            f"{path}: the backup of the interrupted run cannot be restored "
            f"({type(err).__name__}: {err}); {fix}."
        ) from err
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: backup format {version}, expected {FORMAT_VERSION}; {fix}.")
    # Matched by position (names carry Keras' per-process numbering, conv2d_7...).
    if len(paths) != len(variables):
        raise ValueError(
            f"{path}: the backup holds {len(paths)} variables, this model has "
            f"{len(variables)}; it was written by another model or version; {fix}."
        )
    for variable, value in zip(variables, values, strict=True):
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"{path}: {variable.path} has shape {value.shape}, the model expects "
                f"{tuple(variable.shape)}; {fix}."
            )
        if not _is_finite(value):
            raise ValueError(
                f"{path}: {variable.path} holds NaN/inf (written by a run that diverged); {fix}."
            )
    if point.steps_per_epoch != steps_per_epoch or not 0 <= point.steps_taken <= steps_per_epoch:
        raise ValueError(
            f"{path}: the backup is at step {point.steps_taken} of {point.steps_per_epoch}-step "
            f"epochs, this run has {steps_per_epoch} steps per epoch; {fix}."
        )
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)
    optimizer = model.optimizer
    if optimizer is not None and int(keras.ops.convert_to_numpy(optimizer.iterations)) != (
        point.global_step
    ):
        raise ValueError(
            f"{path}: the optimizer took {int(optimizer.iterations.numpy())} steps, the "
            f"backup says {point.global_step}; {fix}."
        )
    return ResumePoint(
        point.epochs_completed, point.steps_taken, point.steps_per_epoch, metric_values
    )


class ExactBackup(keras.callbacks.Callback):
    """Write :mod:`backup <segnet_tf.training.backup>` files; resume a run exactly.

    A state is written only once it is known to be sound: the state after step ``k``
    when step ``k + 1`` has computed a sane loss with it, the state at an epoch's end
    when its validation loss is sane (the ``divergence`` guard judges both). So a
    step that blows the weights up (to huge but finite values) is never kept. Place
    it last among the callbacks: the history row and best checkpoint of an epoch are
    then on disk before the backup says the epoch is complete.

    Args:
        path: The backup file (``backup/state.h5``).
        steps_per_epoch: Steps per epoch.
        every_steps: Also back up every this many optimizer steps (None: only at the
            end of each epoch).
        resume: Where the restored run stands (its model already restored by
            :func:`read_state`), or None for a fresh run.
        divergence: An object whose ``diverged_at`` is set once the loss is NaN/inf
            or explodes (:class:`~segnet_tf.training.callbacks.NaNGuard`); nothing is
            written from then on.

    Attributes:
        last_saved: The :class:`ResumePoint` of the backup on disk, or None.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        steps_per_epoch: int,
        every_steps: int | None = None,
        resume: ResumePoint | None = None,
        divergence=None,
    ):
        super().__init__()
        self.path = Path(path)
        self.steps_per_epoch = int(steps_per_epoch)
        self.every_steps = every_steps
        self.resume = resume
        self.divergence = divergence
        self.last_saved: ResumePoint | None = resume
        self._epoch = 0
        self._metric_values: list | None = None
        self._to_skip = 0
        self._real_train_function = None
        self._pending: Snapshot | None = None

    def on_train_begin(self, logs=None):
        self._to_skip = 0
        self._pending = None
        if self.resume is None or self.resume.steps_taken == 0:
            return
        # fit() resets the metrics at each epoch start: the saved running values go
        # back in at the start of the interrupted epoch.
        variables = list(self.model.metrics_variables)
        shapes = [tuple(v.shape) for v in variables]
        if shapes != [tuple(np.shape(v)) for v in self.resume.metric_values]:
            raise ValueError(
                f"{self.path}: the backup's training metrics do not match this run's; delete "
                f"{self.path.parent} to restart the run from scratch, or pass --overwrite."
            )
        self._metric_values = list(zip(variables, self.resume.metric_values, strict=True))
        self._to_skip = self.resume.steps_taken
        model = self.model

        def train_function(iterator):
            # An already taken step: no data read, no update, the restored metrics.
            if self._to_skip > 0:
                self._to_skip -= 1
                return model.get_metrics_result()
            return self._real_train_function(iterator)

        self._real_train_function = replace_train_function(model, train_function)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        if self._metric_values is not None:
            for variable, value in self._metric_values:
                variable.assign(value)
            self._metric_values = None

    def _diverged(self) -> bool:
        return self.divergence is not None and self.divergence.diverged_at is not None

    def on_train_batch_end(self, batch, logs=None):
        if self._diverged():
            self._pending = None
            return
        steps_taken = int(batch) + 1
        if (
            self.resume is not None
            and self._epoch == self.resume.epochs_completed
            and steps_taken <= self.resume.steps_taken
        ):
            return  # A replayed no-op step: the backup already holds it.
        if self._pending is not None:
            # This step's loss was sane with the pending state's weights.
            self._write(self._pending)
        if not self.every_steps:
            return
        point = ResumePoint(self._epoch, steps_taken, self.steps_per_epoch)
        if point.global_step % self.every_steps == 0:
            self._pending = self._snapshot(point, int(batch))

    def on_epoch_end(self, epoch, logs=None):
        self._pending = None  # The end-of-epoch state supersedes it.
        if self._diverged():
            return
        point = ResumePoint(int(epoch) + 1, 0, self.steps_per_epoch)
        snapshot = self._snapshot(point, -1)
        if snapshot is not None:
            self._write(snapshot)

    def _snapshot(self, point: ResumePoint, batch: int) -> Snapshot | None:
        try:
            return take_snapshot(self.model, point)
        except ValueError:
            # NaN/inf in the weights although the loss was finite (the last update
            # overflowed): this is divergence too, and the last backup stays.
            if self.divergence is not None and self.divergence.diverged_at is None:
                self.divergence.diverged_at = (self._epoch, batch)
            self.model.stop_training = True
            return None

    def _write(self, snapshot: Snapshot) -> None:
        self._pending = None
        write_snapshot(self.path, snapshot)
        self.last_saved = snapshot.point

    def on_train_end(self, logs=None):
        self._pending = None
        if self._real_train_function is not None:
            replace_train_function(self.model, self._real_train_function)
            self._real_train_function = None
