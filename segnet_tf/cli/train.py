"""Train a segmentation model; every config field is a flag (see --help).

A run directory receives config.json (first), history.csv, best.keras (best
validation mIoU), logs/ (TensorBoard), model.keras, training_curves.png and
metrics.json (last). Rerunning the same command after an interruption (even
kill -9) resumes it; a finished run is only replaced with --overwrite.

Examples:
  segnet train --data synthetic --model segnet_basic --width 0.25 --image-size 64 64 \\
      --epochs 5 --run-dir runs/smoke
  segnet train --data camvid --data-dir ../shared/camvid --run-dir runs/camvid
  segnet train --config runs/camvid/config.json --epochs 100 --run-dir runs/camvid-long
"""

import argparse
import sys

from segnet_tf.commands.training import add_config_arguments, config_from_args

HELP = "train a model (resumes interrupted runs)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet train`` flags: ``--config``, ``--overwrite`` and one per config field.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="JSON config (e.g. a run's config.json); flags given override its fields",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished run (or one with another configuration) in --run-dir",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``segnet train``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    # Every value is checked here, before anything is written to the run folder.
    config = config_from_args(args)
    # Imported here: segnet_tf.training imports TensorFlow, which `segnet --help` must not.
    from segnet_tf.training import TrainingDivergedError, train

    try:
        result = train(config, overwrite=args.overwrite)
    except TrainingDivergedError as error:
        print(f"segnet train: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Every file is written atomically, so the run folder is consistent.
        print(
            f"\nsegnet train: interrupted; rerun the same command to resume the run in "
            f"{config.run_dir} from its last backup.",
            file=sys.stderr,
        )
        return 130
    metrics = result.metrics
    miou = metrics.get("mean_iou")
    kept = "best epoch"
    if config.train_on_validation:
        kept = "kept the last epoch (validation was trained on, so its scores are not held out):"
    print(
        f"segnet train: done, {metrics['epochs_completed']} epochs; {kept} "
        f"{metrics['best_epoch']} (val mIoU during training {metrics['best_val_mean_iou']}); "
        + (f"full-resolution validation mIoU {miou:.4f}; " if miou is not None else "")
        + f"artifacts in {result.run_dir}"
    )
    return 0
