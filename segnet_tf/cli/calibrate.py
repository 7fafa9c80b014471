"""Fit a model's out-of-domain detector on its training data.

Describes every training frame (as it is, mirrored and camera-shifted) by its encoder
statistics, fits their distribution, and sets the threshold above the validation
frames' scores. Writes <model stem>.domain.npz beside the model (or --output), where
`segnet predict`, `segnet export`, the demo and Segmenter.from_file find it; each
result then says whether the image looks like the training frames. The data source
defaults to the one in the config.json beside the model (a training run's folder).
Every field of segnet_tf.commands.CalibrateConfig is one argument.

Examples:
  segnet calibrate runs/camvid/best.keras
  segnet calibrate model.keras --data folder --data-dir my_data --training-size 360 480
  segnet calibrate camvid_segnet --data camvid --data-dir ../shared/camvid \
      --output camvid.domain.npz
"""

import argparse

from segnet_tf import config_fields
from segnet_tf.commands.calibration import CalibrateConfig, calibrate

HELP = "fit a model's out-of-domain detector on its training data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet calibrate`` arguments: one per config field.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    config_fields.add_field_arguments(
        parser, CalibrateConfig, "calibration (one argument per config field)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``segnet calibrate``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    config = config_fields.config_from_args(CalibrateConfig, args)
    try:
        result = calibrate(config)
    except config_fields.ConfigError as err:
        raise ValueError(config_fields.cli_message(CalibrateConfig, err)) from None
    print(f"segnet calibrate: wrote {result.path}")
    return 0
