"""Export a trained model for deployment without segnet_tf.

MODEL is a .keras file or the name of a bundled preset (e.g. camvid_segnet). The
export's <name> is --name, else the preset's name, else the Keras model's name.

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

from segnet_tf.cli._model_arg import load_segmenter, model_help, preset_name

HELP = "export a model as SavedModel (TF Serving), TFLite or ONNX"

FORMATS = ("saved_model", "tflite", "onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help=model_help())
    parser.add_argument("--format", required=True, choices=FORMATS, help="export format")
    parser.add_argument("--out", default="exported", metavar="DIR", help="output folder")
    parser.add_argument(
        "--name",
        help="model name, the folder or file name of the export (default: the preset's name "
        "for a preset, else the Keras model's name)",
    )
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
    parser.add_argument(
        "--tta",
        metavar="SPEC",
        help="SavedModel: add a serve_images_tta signature averaging test-time augmentation "
        "in-graph, e.g. flip or flip+scales:0.75,1,1.25",
    )


def run(args) -> int:
    if args.pad_to_multiple < 1:
        raise ValueError(f"--pad-to-multiple must be >= 1; got {args.pad_to_multiple}.")
    if args.keep_mc_dropout and args.format != "saved_model":
        raise ValueError("--keep-mc-dropout only applies to --format saved_model.")
    if args.tta is not None and args.format != "saved_model":
        raise ValueError("--tta only applies to --format saved_model (a serving signature).")
    if args.tta is not None:
        from segnet_tf.inference.test_time import TestTimeAugmentation

        tta = TestTimeAugmentation.parse(args.tta)  # a bad spec fails before loading
        if tta.is_identity:
            raise ValueError(f"--tta {args.tta} adds no pass; expected e.g. flip.")
    from segnet_tf.export import export_onnx, export_saved_model, export_tflite

    segmenter = load_segmenter(args.model)
    model = segmenter.model
    # A preset exports under its own name (serving/camvid_segnet/1/), which says which
    # weights are served; a file's Keras model name says only the architecture.
    name = args.name or preset_name(args.model) or model.name
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
            tta=args.tta,
        )
    elif args.format == "tflite":
        path = export_tflite(model, out / f"{name}.tflite", args.pad_to_multiple)
    else:
        path = export_onnx(model, out / f"{name}.onnx", args.opset, args.pad_to_multiple)
    if segmenter.is_bayesian and not args.keep_mc_dropout:
        print("Note: Monte-Carlo dropout removed (deterministic weight-averaging prediction).")
    print(f"Exported {args.model} ({args.format}) to {path}")
    return 0
