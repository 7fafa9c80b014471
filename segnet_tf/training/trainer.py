"""``train(config)``: one call from a TrainConfig to a finished run directory.

Order of events (each stage can fail without losing what an earlier run wrote):

1. validate the config (once), create the distribution strategy (before any other
   TensorFlow op, as MultiWorkerMirroredStrategy requires), lock the run folder
   (:mod:`~segnet_tf.training.run_lock`), clear temporary files of killed
   processes, decide between a fresh and a resumed run;
2. :func:`prepare_data`: load the data (clear errors for missing folders), compute
   class weights;
3. :func:`build_model`: build and compile under the strategy; on a resume, restore
   the exact training state from the backup (:mod:`~segnet_tf.training.backup`) and
   check every other file the run reads (:mod:`~segnet_tf.training.resume`);
4. :func:`prepare_run_dir`: only then clear a run being overwritten, write
   ``config.json``;
5. :func:`make_callbacks` and :func:`fit`: ``model.fit`` with validation, from the
   backup's step on; a NaN/inf loss stops it with nothing written from that step on;
6. :func:`finish`: write ``model.keras``, ``training_curves.png``, evaluate the best
   checkpoint on the validation split at full resolution, write ``metrics.json``
   last, delete the backup.
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from segnet_tf._compat import build_compiled_state
from segnet_tf.atomic_files import remove_stale_temp_files, save_atomic, write_json_atomic
from segnet_tf.config.training import TrainConfig
from segnet_tf.data import make_eval_pipeline, make_training_pipeline, median_frequency_weights
from segnet_tf.data_sources import count_examples, load_split
from segnet_tf.layers.resize import scaled_length
from segnet_tf.metrics import GlobalAccuracy, MeanIoU
from segnet_tf.models import get_model, with_input_scale
from segnet_tf.onednn import check_training_environment
from segnet_tf.precision import NATIVE_BF16_FLAGS, cpu_has_native_bf16, mixed_precision_policy
from segnet_tf.training import run_dir as run_files
from segnet_tf.training.backup import ExactBackup, read_state
from segnet_tf.training.callbacks import (
    BestModelCheckpoint,
    HistoryCSV,
    NaNGuard,
    ResumableEarlyStopping,
    TensorBoardScalars,
    history_columns,
    read_best_info,
)
from segnet_tf.training.distribute import (
    is_multi_worker,
    make_strategy,
    patch_for_multiworker,
    synchronize_batch_norm,
    worker_info,
)
from segnet_tf.training.epoch_times import EpochTimes
from segnet_tf.training.errors import TrainingDivergedError
from segnet_tf.training.evaluate import evaluate_model
from segnet_tf.training.init_from import init_weights_from, load_source_model
from segnet_tf.training.losses import make_loss
from segnet_tf.training.resume import ResumedFiles, check_resumed_files
from segnet_tf.training.run_lock import RunLock
from segnet_tf.training.saving import load_trained_model
from segnet_tf.training.schedules import make_schedule
from segnet_tf.visualize.figures import plot_training_curves

__all__ = ["TrainResult", "TrainingDivergedError", "scaled_size", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Args:
        run_dir: Folder holding this worker's artifacts.
        config: The configuration that ran.
        history: ``{metric: [value per epoch]}`` over the whole run (resumes included).
        metrics: Content of ``metrics.json``.
        initial_epoch: First epoch run by this call (> 0 when resumed).
        model: The trained model (final weights).
    """

    run_dir: Path
    config: TrainConfig
    history: dict[str, list[float]]
    metrics: dict
    initial_epoch: int
    model: object = field(repr=False, default=None)


def _mixed_precision_policy() -> str:

    policy = mixed_precision_policy(
        gpu=bool(tf.config.list_physical_devices("GPU")), native_bf16=cpu_has_native_bf16()
    )
    if policy == "float32":
        print(
            "segnet train: --mixed-precision: this CPU has no native bfloat16 "
            f"({' or '.join(NATIVE_BF16_FLAGS)} in /proc/cpuinfo), where mixed_bfloat16 "
            "trains several times slower than float32; training in float32",
            flush=True,
        )
    return policy


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``(height, width)`` times ``scale``, rounded, at least 1 pixel each."""

    return tuple(scaled_length(v, scale) for v in size)


def _make_optimizer(config: TrainConfig, total_steps: int):

    lr = make_schedule(config.lr_schedule, config.learning_rate, total_steps, config.warmup_steps)
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(lr, momentum=config.momentum, weight_decay=decay)
    else:
        optimizer = keras.optimizers.AdamW(lr, weight_decay=config.weight_decay)
    if decay:
        # Decaying biases and normalisation scales/offsets only hurts.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


@dataclass
class PreparedData:
    """The data of a run, checked, and what follows from it.

    Args:
        train_raw: Unbatched training examples.
        val_raw: Unbatched validation examples.
        classes: The class list.
        n_train: Number of training examples.
        n_val: Number of validation examples.
        steps_per_epoch: Optimizer steps per epoch.
        class_weights: Loss weight per class, or None.
    """

    train_raw: object
    val_raw: object
    classes: object
    n_train: int
    n_val: int
    steps_per_epoch: int
    class_weights: list[float] | None


def _dataset_options(config: TrainConfig):

    options = tf.data.Options()
    if config.strategy != "none":
        # Generated/in-memory data has no files to shard: shard by element.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
    return options


def prepare_data(config: TrainConfig) -> PreparedData:
    """Load and check the training and validation data (nothing is written).

    Args:
        config: A validated configuration.

    Raises:
        ValueError: missing data, or too few images for the batch size.
    """

    source = dict(
        source=config.data,
        data_dir=config.data_dir,
        synthetic_images=config.synthetic_images,
        image_size=config.image_size,
        seed=config.seed,
    )
    train_raw, classes = load_split(split="train", **source)
    val_raw, _ = load_split(split="validation", **source)
    n_train, n_val = count_examples(train_raw), count_examples(val_raw)
    if config.train_on_validation:
        train_raw, n_train = train_raw.concatenate(val_raw), n_train + n_val
    steps_per_epoch = config.steps_per_epoch or n_train // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"the training split has {n_train} images, fewer than --batch-size "
            f"{config.batch_size}; lower the batch size."
        )
    if config.strategy != "none" and n_val < config.batch_size:
        raise ValueError(
            f"the validation split has {n_val} images, fewer than --batch-size "
            f"{config.batch_size} (distributed validation uses full batches only)."
        )
    class_weights = None
    if config.class_weighting == "median_frequency":
        class_weights = median_frequency_weights(
            train_raw, classes.num_classes, classes.void_id
        ).tolist()
    return PreparedData(train_raw, val_raw, classes, n_train, n_val, steps_per_epoch, class_weights)


def training_stream(config: TrainConfig, data: PreparedData, skip_steps: int = 0):
    """The training batches, from global step ``skip_steps`` on.

    The stream is a deterministic function of the seed, so skipping the batches a
    killed run consumed gives exactly the batches it would have read next.

    Args:
        config: The configuration.
        data: From :func:`prepare_data`.
        skip_steps: Batches already consumed.
    """

    # With --input-scale the network trains on downscaled images; what is saved
    # (best.keras, model.keras) wraps it to take and return full-resolution images.
    stream = make_training_pipeline(
        data.train_raw,
        image_size=scaled_size(config.image_size, config.input_scale),
        batch_size=config.batch_size,
        augment=config.augment,
        camera_augment=config.camera_augment,
        scale_range=config.scale_range,
        seed=config.seed,
        void_id=data.classes.void_id,
        repeat=True,
    )
    if skip_steps:
        stream = stream.skip(skip_steps)
    return stream.with_options(_dataset_options(config))


def validation_stream(config: TrainConfig, data: PreparedData):
    """The validation batches of every epoch (fixed order, no augmentation).

    Args:
        config: The configuration.
        data: From :func:`prepare_data`.
    """

    # A fixed validation subset (when --validation-steps is set) is cached whole,
    # instead of a cache discarded every epoch for being read only in part.
    subset = data.val_raw
    if config.validation_steps is not None:
        subset = subset.take(config.validation_steps * config.batch_size)
    size = config.validation_image_size or config.image_size
    return make_training_pipeline(
        subset,
        image_size=scaled_size(size, config.input_scale),
        batch_size=config.batch_size,
        augment=False,
        shuffle=False,
        drop_remainder=config.strategy != "none",
    ).with_options(_dataset_options(config))


def prepare_run_dir(
    run_dir: Path, config: TrainConfig, data: PreparedData, overwrite: bool, resume: bool
) -> None:
    """Write the run's description (the first files of a run).

    Args:
        run_dir: The (locked) run folder.
        config: The configuration.
        data: From :func:`prepare_data`.
        overwrite: Clear the artifacts of the run in the folder first.
        resume: Resuming an interrupted run.
    """

    if overwrite:
        run_files.clear_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # On a resume the config may differ only where a diverged run allows it: the
    # new settings become the run's record, and the divergence is behind us.
    config.save(run_dir / run_files.CONFIG)
    if resume:
        (run_dir / run_files.DIVERGED).unlink(missing_ok=True)
    write_json_atomic(run_dir / run_files.CLASSES, data.classes.to_dict())
    write_json_atomic(
        run_dir / run_files.CLASS_WEIGHTS,
        {"class_names": list(data.classes.class_names), "weights": data.class_weights},
    )


def build_model(config: TrainConfig, data: PreparedData, strategy):
    """Build and compile the model (and its optimizer) under ``strategy``.

    Args:
        config: The configuration.
        data: From :func:`prepare_data`.
        strategy: The ``tf.distribute`` strategy.
    """

    num_classes, void_id = data.classes.num_classes, data.classes.void_id
    with strategy.scope():
        # Inference brings photos to the frame size the model was validated at (the
        # scale the checkpoint was chosen for): see segnet_tf.training_scale.
        training_size = tuple(config.validation_image_size or config.image_size)
        model = get_model(
            config.model, num_classes, width=config.width, training_size=training_size
        )
        model.compile(
            optimizer=_make_optimizer(config, data.steps_per_epoch * config.epochs),
            loss=make_loss(
                config.loss,
                num_classes,
                data.class_weights,
                void_id,
                secondary_weight=config.secondary_loss_weight,
                focal_gamma=config.focal_gamma,
                ohem_threshold=config.ohem_threshold,
                ohem_min_kept=config.ohem_min_kept,
            ),
            metrics=[
                MeanIoU(num_classes, void_id, name="mean_iou"),
                GlobalAccuracy(num_classes, void_id, name="global_accuracy"),
            ],
        )
        # Built now, so that a backup can restore the optimizer's variables.
        model.optimizer.build(model.trainable_variables)
    if strategy.num_replicas_in_sync > 1:
        synchronize_batch_norm(model)
    if is_multi_worker(strategy):
        patch_for_multiworker(model)
    return model


def restore_backup(model, config: TrainConfig, run_dir: Path, steps_per_epoch: int, strategy):
    """Restore an interrupted run's exact training state, if it left a backup.

    Args:
        model: From :func:`build_model`.
        config: The configuration.
        run_dir: The run folder.
        steps_per_epoch: Steps per epoch.
        strategy: The ``tf.distribute`` strategy.

    Returns:
        The :class:`~segnet_tf.training.backup.ResumePoint`, or None without backup.
    """

    path = run_dir / run_files.BACKUP_DIR / run_files.BACKUP_STATE
    if not path.exists():
        return None
    with strategy.scope():
        point = read_state(path, model, steps_per_epoch)
        if point.steps_taken:
            # Keras creates the compiled metrics' variables on the first training
            # step, which the resumed epoch's restored running metrics must precede.
            height, width = scaled_size(config.image_size, config.input_scale)
            batch = (
                np.zeros((1, height, width, 3), "float32"),
                np.zeros((1, height, width), "int32"),
            )
            build_compiled_state(model, batch)
    return point


@dataclass
class RunCallbacks:
    """The callbacks of a run, with the ones :func:`finish` asks questions.

    Args:
        all: Every callback, in ``fit`` order.
        nan_guard: Knows whether (and where) the loss became NaN/inf.
        history: Writes ``history.csv``.
        backup: Writes the backup.
        early_stopping: Or None.
    """

    all: list
    nan_guard: object
    history: object
    backup: object
    early_stopping: object = None


def make_callbacks(
    config: TrainConfig,
    run_dir: Path,
    data: PreparedData,
    resume_point,
    past_history: list[dict[str, float]],
    extra_callbacks: Sequence | None = None,
) -> RunCallbacks:
    """The run's callbacks: NaN guard first, backup last.

    Args:
        config: The configuration.
        run_dir: The run folder.
        data: From :func:`prepare_data`.
        resume_point: From :func:`restore_backup`, or None.
        past_history: History rows an interrupted run completed.
        extra_callbacks: The caller's callbacks (before the backup).
    """

    nan_guard = NaNGuard()
    history = HistoryCSV(run_dir / run_files.HISTORY, divergence=nan_guard)
    best = BestModelCheckpoint(
        run_dir / run_files.BEST_MODEL,
        "val_mean_iou",
        # Validation that is trained on cannot choose an epoch: keep the last.
        "last" if config.train_on_validation else "max",
        {"classes": data.classes.to_dict()},
        transform=lambda trained: with_input_scale(trained, config.input_scale),
        divergence=nan_guard,
    )
    callbacks = [nan_guard, history, best, TensorBoardScalars(run_dir / run_files.LOGS_DIR)]
    early = None
    if config.early_stopping_patience:
        early = ResumableEarlyStopping(
            past_history,
            monitor="val_mean_iou",
            patience=config.early_stopping_patience,
            mode="max",
        )
        callbacks.append(early)
    callbacks += list(extra_callbacks or [])
    # After the epoch's other writes, so that its time includes them.
    callbacks.append(EpochTimes(run_dir / run_files.EPOCH_TIMES, divergence=nan_guard))
    # Last, so that the history and best checkpoint of an epoch are on disk before
    # the backup says the epoch is complete.
    backup = ExactBackup(
        run_dir / run_files.BACKUP_DIR / run_files.BACKUP_STATE,
        data.steps_per_epoch,
        every_steps=config.backup_every_steps or None,
        resume=resume_point,
        divergence=nan_guard,
    )
    callbacks.append(backup)
    return RunCallbacks(callbacks, nan_guard, history, backup, early)


def fit(
    model,
    config: TrainConfig,
    data: PreparedData,
    callbacks: RunCallbacks,
    resume_point,
    run_dir: Path,
    verbose: int | str = "auto",
) -> None:
    """``model.fit`` from the resume point (or the start) to the last epoch.

    Args:
        model: From :func:`build_model` (restored by :func:`restore_backup`).
        config: The configuration.
        data: From :func:`prepare_data`.
        callbacks: From :func:`make_callbacks`.
        resume_point: From :func:`restore_backup`, or None.
        run_dir: The run folder (for messages).
        verbose: ``fit`` verbosity (``"auto"``: a progress bar on a terminal, one
            line per epoch otherwise).

    Raises:
        TrainingDivergedError: the loss or a weight became NaN/inf; ``diverged.json``
            records it, and the backup and best checkpoint keep the last finite state.
    """
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    consumed = 0 if resume_point is None else resume_point.global_step
    initial_epoch = 0 if resume_point is None else resume_point.epochs_completed
    where = ""
    if resume_point is not None:
        step = resume_point.steps_taken + 1
        where = f" (resuming) at epoch {initial_epoch + 1}, step {step}"
    elif (run_dir / run_files.HISTORY).exists():
        where = " (resuming) from the start: the interrupted run left no backup"
    print(
        f"segnet train: {config.model} (width {config.width}"
        + (f", at {config.input_scale}x resolution" if config.input_scale != 1.0 else "")
        + f") on {config.data}: {data.n_train} training / {data.n_val} validation images, "
        f"{data.steps_per_epoch} steps x {config.epochs} epochs -> {run_dir}{where}",
        flush=True,
    )
    model.fit(
        training_stream(config, data, skip_steps=consumed),
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=data.steps_per_epoch,
        validation_data=validation_stream(config, data),
        callbacks=callbacks.all,
        verbose=verbose,
        shuffle=False,  # The pipeline shuffles (deterministically, by seed).
    )
    if callbacks.nan_guard.diverged_at is not None:
        raise _divergence(config, run_dir, callbacks)


def _divergence(config: TrainConfig, run_dir: Path, callbacks: RunCallbacks):
    epoch, batch = callbacks.nan_guard.diverged_at
    at = f"epoch {epoch + 1}" + (f", batch {batch + 1}" if batch >= 0 else " (validation)")
    kept = []
    saved = callbacks.backup.last_saved
    if saved is not None:
        kept.append(
            f"{run_files.BACKUP_DIR}/ holds epoch {saved.epochs_completed + 1}, "
            f"step {saved.steps_taken}"
            if saved.steps_taken
            else f"{run_files.BACKUP_DIR}/ holds the end of epoch {saved.epochs_completed}"
        )
    if (run_dir / run_files.BEST_MODEL).exists():
        kept.append(f"{run_files.BEST_MODEL} is unchanged")
    lower = config.learning_rate / 10
    loss = callbacks.nan_guard.loss
    what = "NaN/inf" if loss is None or not math.isfinite(loss) else f"{loss:.3g} (exploded)"
    message = f"the loss became {what} at {at} with --learning-rate {config.learning_rate:g}"
    run_files.write_divergence(
        run_dir,
        {"message": message, "epoch": epoch, "batch": batch, "learning_rate": config.learning_rate},
    )
    return TrainingDivergedError(
        f"{message}; nothing from that step on was saved"
        + (f" ({'; '.join(kept)})" if kept else "")
        + f". Rerun the same command with a lower --learning-rate (e.g. {lower:g}) or more "
        f"--warmup-steps: the run resumes from its last finite state in {run_dir}."
    )


def finish(
    model,
    config: TrainConfig,
    data: PreparedData,
    callbacks: RunCallbacks,
    run_dir: Path,
    is_chief: bool,
    verbose: int | str,
) -> TrainResult:
    """Write the final artifacts; ``metrics.json`` last marks the run finished.

    Args:
        model: The trained model.
        config: The configuration.
        data: From :func:`prepare_data`.
        callbacks: From :func:`make_callbacks`.
        run_dir: The run folder.
        is_chief: Evaluate the best checkpoint (only the chief worker does).
        verbose: ``fit`` verbosity (for the evaluation's progress).
    """

    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    saved = callbacks.backup.last_saved
    # Every epoch the backup says was trained, also those of a deleted history.csv.
    rows = callbacks.history.complete(saved.epochs_completed if saved else 0)
    history = history_columns(rows)
    model = with_input_scale(model, config.input_scale)
    save_atomic(run_dir / run_files.FINAL_MODEL, model.save, ".keras")
    if history:  # (none when every epoch's values were lost with a deleted history.csv)
        plot_training_curves(history, run_dir / run_files.CURVES)
    best = read_best_info(run_dir / run_files.BEST_INFO) or {}
    early = callbacks.early_stopping
    metrics = {
        "epochs_completed": len(rows),
        "stopped_early": bool(early is not None and early.stopped_epoch > 0),
        "best_epoch": None if "epoch" not in best else best["epoch"] + 1,
        "best_val_mean_iou": best.get("value"),
        "checkpoint_chosen_by": (
            "last epoch (validation trained on)"
            if config.train_on_validation
            else "best validation mIoU"
        ),
        "final_epoch_logs": {k: v for k, v in (rows[-1] if rows else {}).items() if k != "epoch"},
    }
    if is_chief:
        best_path = run_dir / run_files.BEST_MODEL
        evaluated = load_trained_model(best_path, compile=False) if best_path.exists() else model
        print("segnet train: evaluating the best checkpoint on the validation split", flush=True)
        result = evaluate_model(
            evaluated,
            make_eval_pipeline(data.val_raw, batch_size=1),
            data.classes.num_classes,
            ignore_class=data.classes.void_id,
            class_names=data.classes.class_names,
            verbose=1 if verbose == 1 else (2 if verbose else 0),
        )
        metrics.update(
            split="validation",
            checkpoint=str(best_path.name if best_path.exists() else run_files.FINAL_MODEL),
            **result,
        )
    write_json_atomic(run_dir / run_files.METRICS, metrics)
    shutil.rmtree(run_dir / run_files.BACKUP_DIR, ignore_errors=True)
    first = callbacks.history.first_epoch
    return TrainResult(
        run_dir=run_dir,
        config=config,
        history=history,
        metrics=metrics,
        initial_epoch=len(rows) if first is None else first,
        model=model,
    )


def train(
    config: TrainConfig,
    overwrite: bool = False,
    callbacks: Sequence | None = None,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train a model as described by ``config``; resume an interrupted run.

    Rerunning the same configuration in the same ``run_dir`` after a crash (even
    ``kill -9``) continues from the last backup (end of the last epoch, or the last
    ``backup_every_steps`` step) and takes exactly the steps the uninterrupted run
    would have taken, on the same batches.

    Args:
        config: The run's configuration.
        overwrite: Replace a finished run (or one with another config) in
            ``config.run_dir``.
        callbacks: Extra Keras callbacks.
        verbose: ``fit`` verbosity; ``"auto"`` shows a progress bar on a terminal
            and one line per epoch otherwise.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: invalid config, data or run folder, a damaged file of the
            interrupted run, another process training in ``run_dir`` (nothing
            written is lost), or ``TF_ONEDNN_ASSUME_FROZEN_WEIGHTS`` on
            (:func:`segnet_tf.onednn.check_training_environment`).
        TrainingDivergedError: the loss became NaN/inf.
        segnet_tf.atomic_files.DiskFullError: the disk is full (the files written
            before are intact; rerun once space is freed to resume).
    """
    config.validate()
    check_training_environment()

    # The strategy must exist before any other TensorFlow op.
    strategy = make_strategy(config.strategy)
    worker = worker_info(config.strategy)

    run_dir = Path(config.run_dir)
    if not worker.is_chief:
        # Non-chief workers keep their own copy (never mixed with the chief's files).
        run_dir = run_dir / f"worker-{worker.index}"
    with RunLock(run_dir):
        # Temporary files of killed processes (their names hold the writer's pid).
        for folder in (run_dir, run_dir / run_files.BACKUP_DIR):
            remove_stale_temp_files(folder)
        resume = run_files.check_run_dir(run_dir, config, overwrite)
        previous_policy = keras.config.dtype_policy().name
        try:
            if config.mixed_precision:
                keras.config.set_dtype_policy(_mixed_precision_policy())
            return _train(config, strategy, worker, run_dir, resume, overwrite, callbacks, verbose)
        finally:
            keras.config.set_dtype_policy(previous_policy)


def _train(config, strategy, worker, run_dir, resume, overwrite, extra_callbacks, verbose):

    keras.utils.set_random_seed(config.seed)
    data = prepare_data(config)
    model = build_model(config, data, strategy)
    if config.init_from is not None and not resume:  # a resume restores its own weights
        report = init_weights_from(model, load_source_model(config.init_from), config.init_from)
        if worker.is_chief:
            print(report.summary(), flush=True)
    point = (
        restore_backup(model, config, run_dir, data.steps_per_epoch, strategy) if resume else None
    )
    # Every other file a resumed run reads, checked before anything is written or
    # trained (after the model is built: loading best.keras draws random seeds).
    past = check_resumed_files(run_dir) if resume else ResumedFiles()
    prepare_run_dir(run_dir, config, data, overwrite, resume)
    run_callbacks = make_callbacks(config, run_dir, data, point, past.history, extra_callbacks)
    fit(model, config, data, run_callbacks, point, run_dir, verbose)
    return finish(model, config, data, run_callbacks, run_dir, worker.is_chief, verbose)
