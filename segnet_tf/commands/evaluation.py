"""``evaluate(EvaluateConfig)``: score a saved model on a data split at full resolution.

Writes ``metrics.json``, ``confusion_matrix.png`` and ``eval_config.json`` (the
resolved config) to the output folder: ``eval-<split>/`` beside the model, or
``<preset>-eval-<split>/`` in the current folder for a bundled preset.

The config, :class:`~segnet_tf.config.evaluation.EvaluateConfig`, lives with the
other configs in :mod:`segnet_tf.config` (no TensorFlow); it is importable from here too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from segnet_tf.atomic_files import make_folder, remove_stale_temp_files
from segnet_tf.class_count import check_class_count
from segnet_tf.commands.model_arg import model_file, preset_name
from segnet_tf.commands.model_data import data_label, progress_verbosity, resolve_data_source
from segnet_tf.config.evaluation import EvaluateConfig
from segnet_tf.config_fields import ConfigError
from segnet_tf.data_sources import get_data_source, load_split, normalize_split

CONFIG_FILE = "eval_config.json"


@dataclass
class EvaluateResult:
    """What :func:`evaluate` returns.

    Args:
        metrics: Content of ``metrics.json`` (see ``evaluate_model``).
        output_dir: The folder written.
        paths: ``{"metrics", "confusion_matrix", "config"}`` -> file.
        config: The resolved config (as written to ``eval_config.json``).
    """

    metrics: dict
    output_dir: Path
    paths: dict[str, Path]
    config: EvaluateConfig = field(repr=False)


def resolve(config: EvaluateConfig) -> EvaluateConfig:
    """Fill in what ``config`` leaves to the run and the defaults (nothing is written).

    The data source and its settings come from the run's ``config.json`` beside the
    model when not given; the split is normalised, the model and output folder
    made explicit.

    Raises:
        ValueError: an unknown preset, or no data source given nor in a run config.
    """
    model_path = model_file(config.model)
    data, source = resolve_data_source(
        model_path,
        config.data,
        config.data_dir,
        config.synthetic_images,
        config.image_size,
        config.seed,
    )
    split = normalize_split(config.split)
    if config.output_dir:
        output_dir = config.output_dir
    elif preset_name(config.model) is not None:
        # Never write into the installed package.
        output_dir = f"{preset_name(config.model)}-eval-{split}"
    else:
        output_dir = os.path.join(os.path.dirname(os.path.abspath(model_path)), f"eval-{split}")
    synthetic = get_data_source(data).synthetic
    return dataclasses.replace(
        config,
        model=os.path.abspath(model_path),
        data=data,
        data_dir=source["data_dir"],
        split=split,
        # The synthetic settings say which scenes were scored only for that source.
        synthetic_images=source["synthetic_images"] if synthetic else None,
        image_size=tuple(source["image_size"]) if synthetic else None,
        seed=source["seed"] if synthetic else None,
        output_dir=output_dir,
    ).validate()


def evaluate(
    config: EvaluateConfig, overwrite: bool = False, verbose: int | str = "auto"
) -> EvaluateResult:
    """Evaluate a saved model on a data split at full resolution.

    Args:
        config: What to evaluate (validated here, before anything is read or written).
        overwrite: Replace an existing ``metrics.json`` in the output folder.
        verbose: 1 shows a progress bar, 2 one line at the end, 0 nothing; ``"auto"``
            a bar on a terminal, else one line.

    Returns:
        An :class:`EvaluateResult`.

    Raises:
        ValueError: an invalid config (naming the field), missing data, a model that
            cannot be loaded, ``mc_samples`` for a model without Monte-Carlo dropout,
            or an existing ``metrics.json`` without ``overwrite``.
    """
    config.validate()
    resolved = resolve(config)
    output_dir = Path(resolved.output_dir)
    metrics_path = output_dir / "metrics.json"
    if metrics_path.exists() and not overwrite:
        raise ValueError(
            f"{metrics_path} exists; pass --overwrite (overwrite=True) to replace it, or "
            "choose another output folder."
        )

    # Imported when called: these import TensorFlow (see segnet_tf.commands).
    from segnet_tf.data import make_eval_pipeline
    from segnet_tf.training.evaluate import evaluate_model, write_results
    from segnet_tf.training.saving import load_trained_model

    dataset, classes = load_split(
        resolved.data,
        resolved.split,
        data_dir=resolved.data_dir,
        **_synthetic_settings(resolved),
    )
    if resolved.limit is not None:
        dataset = dataset.take(resolved.limit)
    from segnet_tf.export.runners import is_exported_model

    if is_exported_model(resolved.model):
        from segnet_tf.export.runners import ExportedModel

        model = ExportedModel(resolved.model)
    else:
        from segnet_tf.precision import with_precision

        model = with_precision(
            load_trained_model(resolved.model, compile=False), resolved.precision
        )
    # Before anything is scored or written: another class count scores garbage.
    check_class_count(
        model,
        classes.num_classes,
        data_label(resolved.data, resolved.data_dir, resolved.split),
        label=resolved.model,
    )
    from segnet_tf.inference.prediction_mode import PredictionMode

    mode = PredictionMode.parse(resolved.mc_samples, resolved.tta, resolved.flip)
    if mode.is_monte_carlo:
        try:
            mode.check_model(model)
        except ValueError:
            raise ConfigError(
                "mc_samples",
                resolved.mc_samples,
                f"0: Monte-Carlo sampling needs a Bayesian model with Monte-Carlo dropout, "
                f"and {config.model} has none",
            ) from None
    metrics = evaluate_model(
        model,
        make_eval_pipeline(dataset, batch_size=resolved.batch_size),
        classes.num_classes,
        ignore_class=classes.void_id,
        class_names=classes.class_names,
        mode=mode,
        boundary=resolved.boundary,
        verbose=progress_verbosity(verbose),
    )
    make_folder(output_dir)
    remove_stale_temp_files(output_dir)  # of killed evaluations
    resolved.save(output_dir / CONFIG_FILE)
    paths = write_results(
        metrics,
        output_dir,
        classes.class_names,
        extra={"split": resolved.split, "model": config.model},
    )
    return EvaluateResult(
        metrics={"split": resolved.split, "model": config.model, **metrics},
        output_dir=output_dir,
        paths={**paths, "config": output_dir / CONFIG_FILE},
        config=resolved,
    )


def _synthetic_settings(config: EvaluateConfig) -> dict:
    """``load_split``'s synthetic settings (its defaults for other sources)."""
    if config.synthetic_images is None:
        return {}
    return {
        "synthetic_images": config.synthetic_images,
        "image_size": config.image_size,
        "seed": config.seed,
    }
