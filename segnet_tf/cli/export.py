"""Export a trained model for deployment without segnet_tf.

  saved_model  OUT/<name>/<version>/ in TensorFlow Serving's layout, with signatures
               serving_default (uint8 images [batch, height, width, 3]) and
               serve_image_bytes (encoded JPEG/PNG strings), both returning
               class_ids int32 [batch, height, width] and probabilities float32.
  tflite       OUT/<name>.tflite, serving_default only, builtin ops only.
  onnx         OUT/<name>.onnx, serving_default only (needs segnet_tf[onnx]).

Bayesian models are exported without Monte-Carlo dropout (deterministic
weight-averaging prediction) unless --keep-mc-dropout (SavedModel only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "export a model as SavedModel (TF Serving), TFLite or ONNX"

FORMATS = ("saved_model", "tflite", "onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help="a .keras model file or a preset name")
    parser.add_argument("--format", required=True, choices=FORMATS, help="export format")
    parser.add_argument("--out", default="exported", metavar="DIR", help="output folder")
    parser.add_argument("--name", help="model name (default: the model's own name)")
    parser.add_argument(
        "--version", type=int, help="SavedModel version (default: next free number)"
    )
    parser.add_argument(
        "--pad-to-multiple",
        type=int,
        default=1,
        metavar="M",
        help="pad inputs to multiples of M and crop back (default 1: not needed for "
        "segnet_tf models)",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument(
        "--keep-mc-dropout",
        action="store_true",
        help="SavedModel of a Bayesian model: keep dropout on (one random sample per request)",
    )


def _load(model_arg: str):
    import os

    from segnet_tf.inference import Segmenter

    if model_arg.endswith(".keras") or os.path.sep in model_arg or os.path.exists(model_arg):
        return Segmenter.from_file(model_arg)
    return Segmenter.from_preset(model_arg)


def run(args) -> int:
    if args.pad_to_multiple < 1:
        raise ValueError(f"--pad-to-multiple must be >= 1; got {args.pad_to_multiple}.")
    if args.keep_mc_dropout and args.format != "saved_model":
        raise ValueError("--keep-mc-dropout only applies to --format saved_model.")
    from segnet_tf.export import export_onnx, export_saved_model, export_tflite

    segmenter = _load(args.model)
    model = segmenter.model
    name = args.name or model.name
    out = Path(args.out)
    if args.format == "saved_model":
        path = export_saved_model(
            model,
            out,
            name=name,
            version=args.version,
            classes=segmenter.classes,
            pad_to_multiple=args.pad_to_multiple,
            keep_mc_dropout=args.keep_mc_dropout,
        )
    elif args.format == "tflite":
        path = export_tflite(model, out / f"{name}.tflite", args.pad_to_multiple)
    else:
        path = export_onnx(model, out / f"{name}.onnx", args.opset, args.pad_to_multiple)
    if segmenter.is_bayesian and not args.keep_mc_dropout:
        print("Note: Monte-Carlo dropout removed (deterministic weight-averaging prediction).")
    print(f"Exported {args.model} ({args.format}) to {path}")
    return 0
