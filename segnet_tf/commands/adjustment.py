"""``adjust(AdjustConfig)``: rebalance a trained model's classes by logit adjustment.

Adds ``-tau * log(prior)`` to each class logit (prior: the class's pixel share in the
training split; Menon et al., "Long-tail learning via logit adjustment", ICLR 2021),
scores every candidate tau on the validation split at full resolution in one pass,
and saves the model with the best tau built in (a ``ClassLogitOffset`` layer).
Optionally, batch-normalisation statistics are first recomputed over training
images at full resolution, as the SegNet authors do before testing.

Writes the adjusted model, ``logit_adjustment.json`` (the whole sweep) and
``adjust_config.json`` (the resolved config) into the adjusted model's folder.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segnet_tf import config_fields
from segnet_tf.atomic_files import remove_stale_temp_files, save_atomic, write_json_atomic
from segnet_tf.class_count import check_class_count
from segnet_tf.commands.model_data import (
    data_dir_field,
    data_field,
    data_label,
    progress_verbosity,
    resolve_data_source,
    split_check,
)
from segnet_tf.config.adjustment import DEFAULT_TAUS, SELECTION_METRICS
from segnet_tf.config_fields import CommandConfig, ConfigError
from segnet_tf.data_sources import load_split, normalize_split

CONFIG_FILE = "adjust_config.json"
SWEEP_FILE = "logit_adjustment.json"


def _taus_check(value: Any) -> str | None:
    if (
        isinstance(value, tuple)
        and value
        and all(config_fields.is_number(t) and t >= 0 for t in value)
    ):
        return None
    return "one or more finite strengths, each >= 0"


def _keras_path(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.endswith(".keras")):
        return None
    return "a .keras file name, or unset"


@dataclass(frozen=True)
class AdjustConfig(CommandConfig):
    """What ``adjust`` rebalances, how tau is chosen, and where the result goes.

    Args:
        model: The trained model (``.keras``), e.g. a run's ``best.keras``.
        data: Data source name; None takes the one of the run's ``config.json``.
        data_dir: Folder of the camvid / folder source; None: the run's.
        split: The split tau is chosen on: ``validation`` (``val``) or ``train``,
            never ``test``.
        taus: Candidate strengths (0 = the model as trained).
        metric: The score that picks tau: ``mean_iou``, ``class_average_accuracy`` or
            ``global_accuracy``.
        limit: Score only the first N images of the split; None: all.
        recompute_batch_norm: Before the sweep, replace the batch-normalisation
            statistics with those of the first N training images at full
            resolution (batches of one); 0 keeps the trained statistics.
        output: The adjusted model; None: ``<model>_adjusted.keras`` beside the model.
    """

    model: str = config_fields.option(
        help_text="trained model (.keras), e.g. a run's best.keras",
        positional=True,
        metavar="MODEL",
        check=config_fields.path(optional=False, what="a .keras model file"),
    )
    data: str | None = data_field()
    data_dir: str | None = data_dir_field()
    split: str = config_fields.option("validation", "split tau is chosen on", check=split_check)
    taus: tuple[float, ...] = config_fields.option(
        DEFAULT_TAUS, "strengths to try", metavar="TAU", check=_taus_check
    )
    metric: str = config_fields.option(
        "mean_iou",
        "score that picks tau",
        choices=SELECTION_METRICS,
        check=config_fields.choice(SELECTION_METRICS),
    )
    limit: int | None = config_fields.option(
        None,
        "use only the first N images",
        metavar="N",
        check=config_fields.count(1, optional=True),
    )
    recompute_batch_norm: int = config_fields.option(
        0,
        "first recompute batch-norm statistics over N training images at full resolution "
        "(0: keep the trained ones)",
        metavar="N",
        check=config_fields.count(0),
    )
    output: str | None = config_fields.option(
        None,
        "adjusted model (default: <model>_adjusted.keras beside the model)",
        metavar="PATH",
        check=_keras_path,
    )

    def check_fields(self) -> None:
        if normalize_split(self.split) == "test":
            raise ConfigError(
                "split",
                self.split,
                "train or validation: tau must be chosen on validation data, never on test",
            )


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
