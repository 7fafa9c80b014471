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

Faster variants:
  --format saved_model --precision bfloat16   compute in bfloat16 (uint8 in, float32
                                              out), for CPUs with AMX or AVX512-BF16
  --format tflite --quantize dynamic          int8 weights, OUT/<name>_dynamic.tflite
  --format tflite --quantize int8             full-integer, calibrated on
                                              --calibration-images training images of
                                              --data/--data-dir, OUT/<name>_int8.tflite
  --format onnx --quantize int8               the same for ONNX Runtime (static QDQ),
                                              OUT/<name>_int8.onnx

  segnet export camvid_segnet --format tflite --quantize int8 \
      --data camvid --data-dir ../shared/camvid
"""

from __future__ import annotations

import argparse
from pathlib import Path

from segnet_tf.cli._data_source import add_data_arguments
from segnet_tf.cli._model_arg import load_segmenter, model_help, preset_name
from segnet_tf.precision import PRECISIONS

QUANTIZATIONS = ("none", "dynamic", "int8")  # segnet_tf.export.tflite's, without TF

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
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="SavedModel compute precision (default float32); bfloat16 keeps uint8 in and "
        "float32 out",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default="none",
        help="TFLite: dynamic (int8 weights) or int8 (full integer, calibrated); ONNX: int8",
    )
    parser.add_argument(
        "--calibration-images",
        type=int,
        default=64,
        metavar="N",
        help="--quantize int8: training images to calibrate on (default 64)",
    )
    add_data_arguments(parser)


def run(args) -> int:
    if args.pad_to_multiple < 1:
        raise ValueError(f"--pad-to-multiple must be >= 1; got {args.pad_to_multiple}.")
    if args.keep_mc_dropout and args.format != "saved_model":
        raise ValueError("--keep-mc-dropout only applies to --format saved_model.")
    if args.precision != "float32" and args.format != "saved_model":
        raise ValueError(
            f"--precision {args.precision} only applies to --format saved_model; for a "
            "faster TFLite file use --quantize dynamic or int8."
        )
    if args.quantize != "none" and args.format == "saved_model":
        raise ValueError("--quantize applies to --format tflite or onnx, not saved_model.")
    if args.quantize == "dynamic" and args.format == "onnx":
        raise ValueError("--format onnx supports --quantize int8 only.")
    if args.calibration_images < 1:
        raise ValueError(f"--calibration-images must be >= 1; got {args.calibration_images}.")
    representative = None
    if args.quantize == "int8":
        from segnet_tf.cli._data_source import resolve_data_source
        from segnet_tf.cli._model_arg import model_file
        from segnet_tf.export.calibration import training_images

        if args.data is None and args.data_dir is None:
            # No run config to fall back on for a preset: say what is needed.
            if preset_name(args.model) is not None:
                raise ValueError(
                    "--quantize int8 calibrates on training images: pass --data (and "
                    "--data-dir), e.g. --data camvid --data-dir ../shared/camvid."
                )
        data, source = resolve_data_source(model_file(args.model), args.data, args.data_dir)
        representative = training_images(data, args.calibration_images, **source)
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
            precision=args.precision,
        )
    elif args.format == "tflite":
        suffix = "" if args.quantize == "none" else f"_{args.quantize}"
        path = export_tflite(
            model,
            out / f"{name}{suffix}.tflite",
            args.pad_to_multiple,
            quantize=args.quantize,
            representative_images=representative,
        )
    else:
        suffix = "" if args.quantize == "none" else f"_{args.quantize}"
        path = export_onnx(
            model,
            out / f"{name}{suffix}.onnx",
            args.opset,
            args.pad_to_multiple,
            quantize=args.quantize,
            representative_images=representative,
        )
    if segmenter.is_bayesian and not args.keep_mc_dropout:
        print("Note: Monte-Carlo dropout removed (deterministic weight-averaging prediction).")
    print(f"Exported {args.model} ({args.format}) to {path}")
    return 0
