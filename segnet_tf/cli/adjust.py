"""Rebalance a trained model's classes by logit adjustment, chosen on validation data.

Adds -tau * log(prior) to each class logit (prior: the class's pixel share in the
training split), scores a range of tau on the validation split at full resolution in
one pass, and saves the model with the best tau built in (a ClassLogitOffset layer;
it predicts, exports and serves like the original). tau = 0 is the model as
trained; larger tau trades global accuracy for class-average accuracy. Writes the
adjusted model and logit_adjustment.json (the whole sweep) beside it.

Examples:
  segnet adjust runs/camvid/best.keras
  segnet adjust runs/camvid/best.keras --taus 0 0.5 1 --metric class_average_accuracy
"""

import argparse
import os
import sys

from segnet_tf.cli._data_source import add_data_arguments, resolve_data_source

HELP = "rebalance classes by logit adjustment chosen on validation (raises C)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``segnet adjust`` flags.

    Args:
        parser: The subcommand parser.
    """
    from segnet_tf.training.logit_adjustment import DEFAULT_TAUS, SELECTION_METRICS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", help="trained model (.keras), e.g. a run's best.keras")
    add_data_arguments(parser)
    parser.add_argument(
        "--split", default="validation", help="split tau is chosen on (default validation)"
    )
    parser.add_argument(
        "--taus",
        type=float,
        nargs="+",
        default=list(DEFAULT_TAUS),
        metavar="TAU",
        help=f"strengths to try (default: {' '.join(map(str, DEFAULT_TAUS))})",
    )
    parser.add_argument(
        "--metric",
        choices=SELECTION_METRICS,
        default="mean_iou",
        help="score that picks tau (default mean_iou)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="use only the first N images")
    parser.add_argument(
        "--output",
        metavar="PATH",
        help="adjusted model (default: <model>_adjusted.keras beside the model)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def run(args: argparse.Namespace) -> int:
    """Run ``segnet adjust``; returns the exit code.

    Args:
        args: Parsed arguments.
    """
    from segnet_tf.training.data_sources import normalize_split

    split = normalize_split(args.split)
    if split == "test":
        raise ValueError("--split test: tau must be chosen on validation data, never on test.")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit} is invalid; expected >= 1.")
    if any(t < 0 for t in args.taus):
        raise ValueError(f"--taus {args.taus}: every strength must be >= 0.")
    data, source = resolve_data_source(args.model, args.data, args.data_dir)
    stem, _ = os.path.splitext(os.path.abspath(args.model))
    output = args.output or f"{stem}_adjusted.keras"
    if not output.endswith(".keras"):
        raise ValueError(f"--output {output}: expected a .keras file name.")
    sweep_path = os.path.join(os.path.dirname(os.path.abspath(output)), "logit_adjustment.json")
    if os.path.exists(output) and not args.overwrite:
        raise ValueError(f"{output} exists; pass --overwrite to replace it, or choose --output.")

    from segnet_tf.atomic_files import save_atomic, write_json_atomic
    from segnet_tf.data import class_frequencies, make_eval_pipeline
    from segnet_tf.models import class_prior_offsets, with_logit_adjustment
    from segnet_tf.training.data_sources import load_split
    from segnet_tf.training.logit_adjustment import best_logit_adjustment, sweep_logit_adjustment
    from segnet_tf.training.saving import load_trained_model

    train_raw, classes = load_split(data, "train", **source)
    dataset, _ = load_split(data, split, **source)
    if args.limit is not None:
        dataset = dataset.take(args.limit)
    model = load_trained_model(args.model, compile=False)
    frequencies = class_frequencies(train_raw, classes.num_classes, classes.void_id)
    results = sweep_logit_adjustment(
        model,
        make_eval_pipeline(dataset, batch_size=1),
        frequencies,
        classes.num_classes,
        ignore_class=classes.void_id,
        taus=args.taus,
        verbose=1 if sys.stdout.isatty() else 0,
    )
    best = best_logit_adjustment(results, args.metric)
    print(f"{'tau':>5}  {'G':>5}  {'C':>5}  {'mIoU':>5}   on {split}")
    for r in results:
        mark = "  <- chosen" if r is best else ""
        print(
            f"{r['tau']:5.2f}  {100 * r['global_accuracy']:5.1f}  "
            f"{100 * r['class_average_accuracy']:5.1f}  {100 * r['mean_iou']:5.1f}{mark}"
        )
    adjusted = with_logit_adjustment(model, class_prior_offsets(frequencies, best["tau"]))
    save_atomic(output, adjusted.save, ".keras")
    write_json_atomic(
        sweep_path,
        {
            "model": os.path.abspath(args.model),
            "output": os.path.abspath(output),
            "data": data,
            "split": split,
            "metric": args.metric,
            "chosen_tau": best["tau"],
            "class_names": list(classes.class_names),
            "training_class_frequencies": frequencies.tolist(),
            "sweep": results,
        },
    )
    print(f"segnet adjust: tau {best['tau']:g} -> {output} (sweep in {sweep_path})")
    return 0
