"""Evaluate a saved model on a data split at full resolution.

Prints per-class IoU / accuracy / boundary F1 and the global scores (G, C, mIoU,
BF), and writes metrics.json, confusion_matrix.png and eval_config.json to the
output folder (default: eval-<split>/ beside the model; <preset>-eval-<split>/ in the
current folder for a bundled preset). The data source defaults to the one in the
config.json beside the model (a training run's folder). Every field of
segnet_tf.commands.EvaluateConfig is one argument.

Examples:
  segnet evaluate runs/camvid/best.keras --split test
  segnet evaluate model.keras --data camvid --data-dir ../shared/camvid --split test
  segnet evaluate camvid_segnet --data camvid --data-dir ../shared/camvid --split test
  segnet evaluate runs/bayes/best.keras --split test --mc-samples 8
"""

import argparse

from segnet_tf import config_fields
from segnet_tf.commands.evaluation import EvaluateConfig, evaluate

HELP = "evaluate a saved model (G, C, mIoU, BF, confusion matrix)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet evaluate`` arguments: one per config field, and ``--overwrite``.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    config_fields.add_field_arguments(
        parser, EvaluateConfig, "evaluation (one argument per config field)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing metrics.json")


def run(args: argparse.Namespace) -> int:
    """Run ``segnet evaluate``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    config = config_fields.config_from_args(EvaluateConfig, args)
    # Imported here: segnet_tf.training imports TensorFlow, which `segnet --help` must not.
    from segnet_tf.training.evaluate import format_results

    try:
        result = evaluate(config, overwrite=args.overwrite)
    except config_fields.ConfigError as err:
        raise ValueError(config_fields.cli_message(EvaluateConfig, err)) from None
    print(format_results(result.metrics))
    seconds = result.metrics.get("seconds_per_image")
    if seconds is not None:
        from segnet_tf.inference.prediction_mode import PredictionMode  # imports TF

        mode = PredictionMode.parse(result.metrics["mc_samples"], result.metrics["tta"])
        print(f"{mode}: {1000 * seconds:.1f} ms per image in the network")
    paths = result.paths
    print(f"segnet evaluate: wrote {paths['metrics']} and {paths['confusion_matrix']}")
    return 0
