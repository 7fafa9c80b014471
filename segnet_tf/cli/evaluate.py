"""Evaluate a saved model on a data split at full resolution.

Prints per-class IoU / accuracy / boundary F1 and the global scores (G, C, mIoU,
BF), and writes metrics.json, confusion_matrix.png and eval_config.json to the
output folder (default: eval-<split>/ beside the model; <preset>-eval-<split>/ in the
current folder for a bundled preset). The data source defaults to the one in the
config.json beside the model (a training run's folder).

Examples:
  segnet evaluate runs/camvid/best.keras --split test
  segnet evaluate model.keras --data camvid --data-dir ../shared/camvid --split test
  segnet evaluate camvid_segnet --data camvid --data-dir ../shared/camvid --split test
  segnet evaluate runs/bayes/best.keras --split test --mc-samples 8
  segnet evaluate camvid_segnet --split val --tta flip+scales:0.75,1,1.25
"""

import argparse
import os
import sys

from segnet_tf.cli._data_source import add_data_arguments, resolve_data_source
from segnet_tf.cli._model_arg import model_file, model_help, preset_name

HELP = "evaluate a saved model (G, C, mIoU, BF, confusion matrix)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet evaluate`` flags.

    Args:
        parser: The subcommand parser.
    """
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help=model_help() + ", e.g. a run's best.keras")
    add_data_arguments(parser)
    parser.add_argument("--split", default="test", help="train, validation (val) or test")
    parser.add_argument(
        "--batch-size", type=int, default=1, metavar="N", help="images per batch (default 1)"
    )
    parser.add_argument(
        "--mc-samples",
        type=int,
        default=0,
        metavar="N",
        help="Monte-Carlo dropout samples for Bayesian models (default 0: one pass)",
    )
    parser.add_argument(
        "--flip",
        action="store_true",
        help="average each image's prediction with its mirror image's (2x compute; the "
        "same as --tta flip)",
    )
    parser.add_argument(
        "--tta",
        metavar="SPEC",
        help="test-time augmentation: flip, scales:0.75,1,1.25 or flip+scales:0.75,1,1.25 "
        "(mean softmax over the flipped and rescaled passes)",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="evaluate only the first N images (quick checks)"
    )
    parser.add_argument(
        "--no-boundary", action="store_true", help="skip boundary F1 (the slowest score)"
    )
    parser.add_argument(
        "--synthetic-images",
        type=int,
        metavar="N",
        help="synthetic source: training scene count it was built with (default: from the run)",
    )
    parser.add_argument(
        "--image-size", type=int, nargs=2, metavar=("H", "W"), help="synthetic scene size"
    )
    parser.add_argument("--seed", type=int, help="synthetic source seed (default: from the run)")
    parser.add_argument(
        "--output-dir", metavar="DIR", help="output folder (default: eval-<split> beside the model)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing metrics.json")


def run(args: argparse.Namespace) -> int:
    """Run ``segnet evaluate``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    from segnet_tf.training.data_sources import normalize_split

    split = normalize_split(args.split)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size} is invalid; expected >= 1.")
    if args.mc_samples < 0:
        raise ValueError(f"--mc-samples {args.mc_samples} is invalid; expected >= 0.")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit} is invalid; expected >= 1.")
    from segnet_tf.inference.test_time import TestTimeAugmentation

    try:
        tta = TestTimeAugmentation.parse(args.tta)
    except ValueError as err:
        raise ValueError(f"--tta: {err}") from None
    if args.flip:
        tta = TestTimeAugmentation(flip=True, scales=tta.scales)
    if args.mc_samples and not tta.is_identity:
        raise ValueError("choose --mc-samples or --flip/--tta, not both.")
    model_path = model_file(args.model)
    data, source = resolve_data_source(
        model_path, args.data, args.data_dir, args.synthetic_images, args.image_size, args.seed
    )
    preset = preset_name(args.model)
    if args.output_dir:
        output_dir = args.output_dir
    elif preset is not None:
        # Never write into the installed package.
        output_dir = f"{preset}-eval-{split}"
    else:
        output_dir = os.path.join(os.path.dirname(os.path.abspath(model_path)), f"eval-{split}")
    metrics_path = os.path.join(output_dir, "metrics.json")
    if os.path.exists(metrics_path) and not args.overwrite:
        raise ValueError(
            f"{metrics_path} exists; pass --overwrite to replace it, or choose --output-dir."
        )

    from segnet_tf.atomic_files import write_json_atomic
    from segnet_tf.data import make_eval_pipeline
    from segnet_tf.training.data_sources import load_split
    from segnet_tf.training.evaluate import evaluate_model, format_results, write_results
    from segnet_tf.training.saving import load_trained_model

    dataset, classes = load_split(data, split, **source)
    if args.limit is not None:
        dataset = dataset.take(args.limit)
    model = load_trained_model(model_path, compile=False)
    if args.mc_samples:
        from segnet_tf.models import has_mc_dropout

        if not has_mc_dropout(model):
            raise ValueError(
                f"--mc-samples needs a Bayesian model with Monte-Carlo dropout; {args.model} "
                "has none."
            )
    result = evaluate_model(
        model,
        make_eval_pipeline(dataset, batch_size=args.batch_size),
        classes.num_classes,
        ignore_class=classes.void_id,
        class_names=classes.class_names,
        mc_samples=args.mc_samples,
        tta=tta,
        boundary=not args.no_boundary,
        verbose=1 if sys.stdout.isatty() else 2,  # 2: one summary line
    )
    settings = {
        "model": os.path.abspath(model_path),
        "data": data,
        "data_dir": source["data_dir"],
        "split": split,
        "batch_size": args.batch_size,
        "mc_samples": args.mc_samples,
        "flip": tta.flip,
        "tta": str(tta),
        "limit": args.limit,
        "boundary": not args.no_boundary,
        "synthetic_images": source["synthetic_images"] if data == "synthetic" else None,
        "image_size": list(source["image_size"]) if data == "synthetic" else None,
        "seed": source["seed"] if data == "synthetic" else None,
    }
    write_json_atomic(os.path.join(output_dir, "eval_config.json"), settings)
    paths = write_results(
        result, output_dir, classes.class_names, extra={"split": split, "model": args.model}
    )
    print(format_results(result))
    if result["seconds_per_image"] is not None:
        print(
            f"test-time augmentation {tta} ({tta.passes} pass{'es' if tta.passes > 1 else ''}): "
            f"{1000 * result['seconds_per_image']:.1f} ms per image in the network"
        )
    print(f"segnet evaluate: wrote {paths['metrics']} and {paths['confusion_matrix']}")
    return 0
