"""``adjust(AdjustConfig)``: rebalance a trained model's classes by logit adjustment.

Adds ``-tau * log(prior)`` to each class logit (prior: the class's pixel share in the
training split; Menon et al., "Long-tail learning via logit adjustment", ICLR 2021),
scores every candidate tau on the validation split at full resolution in one pass,
and saves the model with the best tau built in (a ``ClassLogitOffset`` layer).
Optionally, batch-normalisation statistics are first recomputed over training
images at full resolution, as the SegNet authors do before testing.

Writes the adjusted model, ``logit_adjustment.json`` (the whole sweep) and
``adjust_config.json`` (the resolved config) into the adjusted model's folder.

The config, :class:`~segnet_tf.config.adjustment.AdjustConfig`, lives with the
other configs in :mod:`segnet_tf.config` (no TensorFlow); it is importable from here too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segnet_tf.atomic_files import remove_stale_temp_files, save_atomic, write_json_atomic
from segnet_tf.class_count import check_class_count
from segnet_tf.commands.model_data import data_label, progress_verbosity, resolve_data_source
from segnet_tf.config.adjustment import AdjustConfig
from segnet_tf.data_sources import load_split, normalize_split

CONFIG_FILE = "adjust_config.json"
SWEEP_FILE = "logit_adjustment.json"


@dataclass
class AdjustResult:
    """What :func:`adjust` returns.

    Args:
        output: The adjusted model file.
        chosen_tau: The strength built into it.
        sweep: One dict per tau (see ``sweep_logit_adjustment``).
        paths: ``{"model", "sweep", "config"}`` -> file.
        batch_norm_batches: Batches the BN statistics were recomputed from (0: none).
        config: The resolved config (as written to ``adjust_config.json``).
        model: The adjusted Keras model.
    """

    output: Path
    chosen_tau: float
    sweep: list[dict]
    paths: dict[str, Path]
    batch_norm_batches: int
    config: AdjustConfig = field(repr=False)
    model: Any = field(repr=False, default=None)


def resolve(config: AdjustConfig) -> tuple[AdjustConfig, dict]:
    """Fill in the data source (from the run), the split and the output (nothing is written).

    Returns:
        ``(resolved config, load_split settings of the source)``; the synthetic
        source's settings are the run's.
    """
    data, source = resolve_data_source(config.model, config.data, config.data_dir)
    stem, _ = os.path.splitext(os.path.abspath(config.model))
    output = config.output or f"{stem}_adjusted.keras"
    resolved = dataclasses.replace(
        config,
        model=os.path.abspath(config.model),
        data=data,
        data_dir=source["data_dir"],
        split=normalize_split(config.split),
        output=os.path.abspath(output),
    )
    return resolved.validate(), source


def adjust(
    config: AdjustConfig, overwrite: bool = False, verbose: int | str = "auto"
) -> AdjustResult:
    """Choose a logit adjustment on validation data and save the adjusted model.

    Args:
        config: What to adjust (validated here, before anything is read or written).
        overwrite: Replace an existing output model.
        verbose: 1 shows a progress bar, 0 nothing; ``"auto"`` a bar on a terminal.

    Returns:
        An :class:`AdjustResult`.

    Raises:
        ValueError: an invalid config (naming the field), missing data, a model that
            cannot be loaded, or an existing output without ``overwrite``.
    """
    config.validate()
    resolved, source = resolve(config)
    output = Path(resolved.output)
    if output.exists() and not overwrite:
        raise ValueError(
            f"{output} exists; pass --overwrite (overwrite=True) to replace it, or choose "
            "another output."
        )

    # Imported when called: these import TensorFlow (see segnet_tf.commands).
    from segnet_tf.data import class_frequencies, make_eval_pipeline
    from segnet_tf.models import class_prior_offsets, with_logit_adjustment
    from segnet_tf.training.logit_adjustment import best_logit_adjustment, sweep_logit_adjustment
    from segnet_tf.training.saving import load_trained_model

    train_raw, classes = load_split(resolved.data, "train", **source)
    dataset, _ = load_split(resolved.data, resolved.split, **source)
    if resolved.limit is not None:
        dataset = dataset.take(resolved.limit)
    model = load_trained_model(resolved.model, compile=False)
    # Before the (long) recomputation and sweep: another class count cannot be adjusted.
    check_class_count(
        model,
        classes.num_classes,
        data_label(resolved.data, resolved.data_dir, resolved.split),
        label=resolved.model,
    )
    bn_batches = 0
    if resolved.recompute_batch_norm:
        from segnet_tf.training.batch_norm import recompute_batch_norm_statistics

        # Whole training images, unaugmented, at the resolution the model is used at.
        bn_batches = recompute_batch_norm_statistics(
            model,
            make_eval_pipeline(train_raw, batch_size=1),
            max_batches=resolved.recompute_batch_norm,
        )
    frequencies = class_frequencies(train_raw, classes.num_classes, classes.void_id)
    results = sweep_logit_adjustment(
        model,
        make_eval_pipeline(dataset, batch_size=1),
        frequencies,
        classes.num_classes,
        ignore_class=classes.void_id,
        taus=resolved.taus,
        verbose=1 if progress_verbosity(verbose) == 1 else 0,
    )
    best = best_logit_adjustment(results, resolved.metric)
    adjusted = with_logit_adjustment(model, class_prior_offsets(frequencies, best["tau"]))
    remove_stale_temp_files(output.parent)  # of killed adjustments
    save_atomic(output, adjusted.save, ".keras")
    sweep_path = output.parent / SWEEP_FILE
    write_json_atomic(
        sweep_path,
        {
            "model": resolved.model,
            "output": resolved.output,
            "data": resolved.data,
            "split": resolved.split,
            "metric": resolved.metric,
            "chosen_tau": best["tau"],
            "batch_norm_recomputed_from": bn_batches,
            "class_names": list(classes.class_names),
            "training_class_frequencies": frequencies.tolist(),
            "sweep": results,
        },
    )
    resolved.save(output.parent / CONFIG_FILE)
    return AdjustResult(
        output=output,
        chosen_tau=best["tau"],
        sweep=results,
        paths={"model": output, "sweep": sweep_path, "config": output.parent / CONFIG_FILE},
        batch_norm_batches=bn_batches,
        config=resolved,
        model=adjusted,
    )
