"""Rebalance a trained model's classes by logit adjustment, chosen on validation data.

Adds -tau * log(prior) to each class logit (prior: the class's pixel share in the
training split), scores a range of tau on the validation split at full resolution in
one pass, and saves the model with the best tau built in (a ClassLogitOffset layer;
it predicts, exports and serves like the original). tau = 0 is the model as
trained; larger tau trades global accuracy for class-average accuracy. Writes the
adjusted model, logit_adjustment.json (the whole sweep) and adjust_config.json (the
resolved options) beside it. --recompute-batch-norm N first re-estimates the
batch-normalisation statistics on N training images at full resolution. Every field
of segnet_tf.commands.AdjustConfig is one argument.

Examples:
  segnet adjust runs/camvid/best.keras
  segnet adjust runs/camvid/best.keras --taus 0 0.5 1 --metric class_average_accuracy
  segnet adjust runs/camvid/best.keras --recompute-batch-norm 367
"""

import argparse

from segnet_tf import config_fields
from segnet_tf.commands.adjustment import AdjustConfig, adjust

HELP = "rebalance classes by logit adjustment chosen on validation (raises C)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet adjust`` arguments: one per config field, and ``--overwrite``.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    config_fields.add_field_arguments(
        parser, AdjustConfig, "adjustment (one argument per config field)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def run(args: argparse.Namespace) -> int:
    """Run ``segnet adjust``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    config = config_fields.config_from_args(AdjustConfig, args)
    try:
        result = adjust(config, overwrite=args.overwrite)
    except config_fields.ConfigError as err:
        raise ValueError(config_fields.cli_message(AdjustConfig, err)) from None
    if result.batch_norm_batches:
        print(f"batch-norm statistics recomputed from {result.batch_norm_batches} images")
    print(f"{'tau':>5}  {'G':>5}  {'C':>5}  {'mIoU':>5}   on {result.config.split}")
    for r in result.sweep:
        mark = "  <- chosen" if r["tau"] == result.chosen_tau else ""
        print(
            f"{r['tau']:5.2f}  {100 * r['global_accuracy']:5.1f}  "
            f"{100 * r['class_average_accuracy']:5.1f}  {100 * r['mean_iou']:5.1f}{mark}"
        )
    print(
        f"segnet adjust: tau {result.chosen_tau:g} -> {result.output} "
        f"(sweep in {result.paths['sweep']})"
    )
    return 0
