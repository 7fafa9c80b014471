"""Export a trained model for deployment without segnet_tf.

MODEL is a .keras file or the name of a bundled preset (e.g. camvid_segnet). The
export's <name> is --name, else the preset's name, else the Keras model's name.

  saved_model  OUT/<name>/<version>/ in TensorFlow Serving's layout, with signatures
               serving_default (uint8 images [batch, height, width, 3]) and
               serve_image_bytes (encoded JPEG/PNG strings), both returning
               class_ids int32 [batch, height, width] and probabilities float32.
  tflite       OUT/<name>.tflite, serving_default only, builtin ops only.
  onnx         OUT/<name>.onnx, serving_default only (needs segnet_tf[onnx]).

The resolved options go to <export>.config.json beside it. Bayesian models are
exported without Monte-Carlo dropout (deterministic weight-averaging prediction)
unless --keep-mc-dropout (SavedModel only). Every field of
segnet_tf.commands.ExportConfig is one argument.
"""

from __future__ import annotations

import argparse

from segnet_tf import config_fields
from segnet_tf.commands.exporting import ExportConfig, export

HELP = "export a model as SavedModel (TF Serving), TFLite or ONNX"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet export`` arguments: one per config field.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    config_fields.add_field_arguments(
        parser, ExportConfig, "export (one argument per config field)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``segnet export``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    config = config_fields.config_from_args(ExportConfig, args)
    try:
        result = export(config)
    except config_fields.ConfigError as err:
        raise ValueError(config_fields.cli_message(ExportConfig, err)) from None
    if result.removed_mc_dropout:
        print("Note: Monte-Carlo dropout removed (deterministic weight-averaging prediction).")
    print(f"Exported {config.model} ({config.format}) to {result.path}")
    return 0
