"""``train(config)``: one call from a TrainConfig to a finished run directory.

Order of events (each step can fail without losing what an earlier run wrote):

1. validate the config, create the distribution strategy (before any other
   TensorFlow op, as MultiWorkerMirroredStrategy requires), check the run folder;
2. load the data (clear errors for missing folders), compute class weights;
3. only then clear a run being overwritten, and write ``config.json``;
4. build and compile the model under the strategy, ``model.fit`` with validation
   and the callbacks of :mod:`segnet_tf.training.callbacks`;
5. write ``model.keras``, ``training_curves.png``, evaluate the best checkpoint on
   the validation split at full resolution, and write ``metrics.json`` last.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf.training import run_dir as rd
from segnet_tf.training.config import TrainConfig


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


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
    import tensorflow as tf

    # float16 needs loss scaling and only pays on GPUs; CPUs support bfloat16 math.
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``(height, width)`` times ``scale``, rounded, at least 1 pixel each."""
    from segnet_tf.layers.resize import scaled_length

    return tuple(scaled_length(v, scale) for v in size)


def _make_optimizer(config: TrainConfig, total_steps: int):
    import keras

    from segnet_tf.training.schedules import make_schedule

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


def _check_backup(model, backup_dir: Path) -> None:
    """Fail clearly on an unreadable backup instead of deep inside ``fit``."""
    import json

    weights = backup_dir / "latest.weights.h5"
    metadata = backup_dir / "training_metadata.json"
    if not weights.exists():
        return
    try:
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(weights)
        if metadata.exists():
            with open(metadata, encoding="utf-8") as f:
                int(json.load(f)["epoch"])
    except Exception as err:  # h5py/Keras raise many types for a damaged file.
        raise ValueError(
            f"{weights}: the backup of the interrupted run cannot be restored ({err}); delete "
            f"{backup_dir} to restart the run from scratch, or pass --overwrite."
        ) from err


def train(
    config: TrainConfig,
    overwrite: bool = False,
    callbacks: Sequence | None = None,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train a model as described by ``config``; resume an interrupted run.

    Rerunning the same configuration in the same ``run_dir`` after a crash (even
    ``kill -9``) continues from the last backup (end of the last epoch, or the last
    ``backup_every_steps`` batch: the interrupted epoch then restarts from there).

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
        ValueError: invalid config, data or run folder (nothing written is lost).
        TrainingDivergedError: the loss became NaN/inf.
    """
    config.validate()
    from segnet_tf.training.distribute import make_strategy, worker_info

    # The strategy must exist before any other TensorFlow op.
    strategy = make_strategy(config.strategy)
    worker = worker_info(config.strategy)

    import keras

    run_dir = Path(config.run_dir)
    if not worker.is_chief:
        # Non-chief workers keep their own copy (never mixed with the chief's files).
        run_dir = run_dir / f"worker-{worker.index}"
    resume = rd.check_run_dir(run_dir, config, overwrite)

    previous_policy = keras.config.dtype_policy().name
    try:
        if config.mixed_precision:
            keras.config.set_dtype_policy(_mixed_precision_policy())
        return _train(config, strategy, worker, run_dir, resume, overwrite, callbacks, verbose)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(config, strategy, worker, run_dir, resume, overwrite, extra_callbacks, verbose):
    import keras
    import tensorflow as tf

    from segnet_tf.atomic_files import save_atomic, write_json_atomic
    from segnet_tf.data import make_eval_pipeline, make_training_pipeline, median_frequency_weights
    from segnet_tf.metrics import GlobalAccuracy, MeanIoU
    from segnet_tf.models import get_model, with_input_scale
    from segnet_tf.plots import plot_training_curves
    from segnet_tf.training import callbacks as cb
    from segnet_tf.training.data_sources import count_examples, load_split
    from segnet_tf.training.distribute import (
        is_multi_worker,
        patch_for_multiworker,
        synchronize_batch_norm,
    )
    from segnet_tf.training.evaluate import evaluate_model
    from segnet_tf.training.losses import MaskedSparseCategoricalCrossentropy
    from segnet_tf.training.saving import load_trained_model

    keras.utils.set_random_seed(config.seed)
    distributed = config.strategy != "none"

    # --- Data (validated before anything is written or cleared). ---
    source = dict(
        source=config.data,
        data_dir=config.data_dir,
        synthetic_images=config.synthetic_images,
        image_size=config.image_size,
        seed=config.seed,
    )
    train_raw, classes = load_split(split="train", **source)
    val_raw, _ = load_split(split="validation", **source)
    num_classes, void_id = classes.num_classes, classes.void_id
    n_train, n_val = count_examples(train_raw), count_examples(val_raw)
    steps_per_epoch = config.steps_per_epoch or n_train // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"the training split has {n_train} images, fewer than --batch-size "
            f"{config.batch_size}; lower the batch size."
        )
    if distributed and n_val < config.batch_size:
        raise ValueError(
            f"the validation split has {n_val} images, fewer than --batch-size "
            f"{config.batch_size} (distributed validation uses full batches only)."
        )
    class_weights = None
    if config.class_weighting == "median_frequency":
        class_weights = median_frequency_weights(train_raw, num_classes, void_id).tolist()

    options = tf.data.Options()
    if distributed:
        # Generated/in-memory data has no files to shard: shard by element.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
    # With --input-scale the network trains on downscaled images; what is saved
    # (best.keras, model.keras) wraps it to take and return full-resolution images.
    train_size = scaled_size(config.image_size, config.input_scale)
    val_size = scaled_size(config.validation_image_size or config.image_size, config.input_scale)
    train_data = make_training_pipeline(
        train_raw,
        image_size=train_size,
        batch_size=config.batch_size,
        augment=config.augment,
        scale_range=config.scale_range,
        seed=config.seed,
        void_id=void_id,
        repeat=True,
    ).with_options(options)
    # A fixed validation subset (when --validation-steps is set) is cached whole,
    # instead of a cache discarded every epoch for being read only in part.
    val_subset = val_raw
    if config.validation_steps is not None:
        val_subset = val_raw.take(config.validation_steps * config.batch_size)
    val_data = make_training_pipeline(
        val_subset,
        image_size=val_size,
        batch_size=config.batch_size,
        augment=False,
        shuffle=False,
        drop_remainder=distributed,
    ).with_options(options)

    # --- Run folder: from here on, files are written. ---
    if overwrite:
        rd.clear_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        config.save(run_dir / rd.CONFIG)
    write_json_atomic(run_dir / rd.CLASSES, classes.to_dict())
    write_json_atomic(
        run_dir / rd.CLASS_WEIGHTS,
        {"class_names": list(classes.class_names), "weights": class_weights},
    )

    # --- Model. ---
    with strategy.scope():
        model = get_model(config.model, num_classes, width=config.width)
        model.compile(
            optimizer=_make_optimizer(config, steps_per_epoch * config.epochs),
            loss=MaskedSparseCategoricalCrossentropy(num_classes, class_weights, void_id),
            metrics=[
                MeanIoU(num_classes, void_id, name="mean_iou"),
                GlobalAccuracy(num_classes, void_id, name="global_accuracy"),
            ],
        )
    if strategy.num_replicas_in_sync > 1:
        synchronize_batch_norm(model)
    if is_multi_worker(strategy):
        patch_for_multiworker(model)

    backup_dir = run_dir / rd.BACKUP_DIR
    if resume:
        with strategy.scope():
            _check_backup(model, backup_dir)

    nan_guard = cb.NaNGuard()
    history_cb = cb.HistoryCSV(run_dir / rd.HISTORY)

    def full_resolution(trained):
        return with_input_scale(trained, config.input_scale)

    best_cb = cb.BestModelCheckpoint(
        run_dir / rd.BEST_MODEL,
        "val_mean_iou",
        "max",
        {"classes": classes.to_dict()},
        transform=full_resolution,
    )
    callbacks = [nan_guard, history_cb, best_cb, cb.TensorBoardScalars(run_dir / rd.LOGS_DIR)]
    early = None
    if config.early_stopping_patience:
        early = keras.callbacks.EarlyStopping(
            "val_mean_iou", patience=config.early_stopping_patience, mode="max"
        )
        callbacks.append(early)
    callbacks += list(extra_callbacks or [])
    # Last, so that the history and best checkpoint of an epoch are on disk before
    # the backup says the epoch is complete.
    callbacks.append(
        cb.AtomicBackupAndRestore(backup_dir, save_freq=config.backup_every_steps or "epoch")
    )

    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    print(
        f"segnet train: {config.model} (width {config.width}"
        + (f", at {config.input_scale}x resolution" if config.input_scale != 1.0 else "")
        + f") on {config.data}: {n_train} "
        f"training / {n_val} validation images, {steps_per_epoch} steps x {config.epochs} "
        f"epochs -> {run_dir}" + (" (resuming)" if resume else ""),
        flush=True,
    )
    model.fit(
        train_data,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_data,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # The pipeline shuffles (deterministically, by seed).
    )
    if nan_guard.diverged_at is not None:
        epoch, batch = nan_guard.diverged_at
        raise TrainingDivergedError(
            f"the loss became NaN/inf at epoch {epoch + 1}, batch {batch + 1}; lower "
            f"--learning-rate (was {config.learning_rate}) or add --warmup-steps. "
            f"Best checkpoint so far: {run_dir / rd.BEST_MODEL}."
        )

    # --- Final artifacts; metrics.json last marks the run finished. ---
    rows = cb.read_history_csv(run_dir / rd.HISTORY)
    history = cb.history_columns(rows)
    model = full_resolution(model)
    save_atomic(run_dir / rd.FINAL_MODEL, model.save, ".keras")
    plot_training_curves(history, run_dir / rd.CURVES)
    best = cb.read_best_info(run_dir / rd.BEST_INFO) or {}
    metrics = {
        "epochs_completed": len(rows),
        "stopped_early": bool(early is not None and early.stopped_epoch > 0),
        "best_epoch": None if "epoch" not in best else best["epoch"] + 1,
        "best_val_mean_iou": best.get("value"),
        "final_epoch_logs": {k: v for k, v in (rows[-1] if rows else {}).items() if k != "epoch"},
    }
    if worker.is_chief:
        best_path = run_dir / rd.BEST_MODEL
        evaluated = load_trained_model(best_path, compile=False) if best_path.exists() else model
        print("segnet train: evaluating the best checkpoint on the validation split", flush=True)
        result = evaluate_model(
            evaluated,
            make_eval_pipeline(val_raw, batch_size=1),
            num_classes,
            ignore_class=void_id,
            class_names=classes.class_names,
            verbose=1 if verbose == 1 else (2 if verbose else 0),
        )
        metrics.update(
            split="validation",
            checkpoint=str(best_path.name if best_path.exists() else rd.FINAL_MODEL),
            **result,
        )
    write_json_atomic(run_dir / rd.METRICS, metrics)
    shutil.rmtree(backup_dir, ignore_errors=True)
    return TrainResult(
        run_dir=run_dir,
        config=config,
        history=history,
        metrics=metrics,
        initial_epoch=len(rows) if history_cb.first_epoch is None else history_cb.first_epoch,
        model=model,
    )
