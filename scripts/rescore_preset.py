"""Measure a preset's test scores again and record them in its model.json.

`scripts/make_preset.py` records a preset's scores when it builds the preset from a run
folder. This script does it for a preset that already exists (its run folder gone, or
the evaluation changed since): it scores the preset on a data split with `segnet
evaluate`, scores the same network without its logit adjustment (the offsets of
`segnet adjust` set to zero; skipped for a model without them), and writes both, the
per-class IoU and optionally the JSON of `benchmarks/robustness.py` into the preset's
`model.json` (atomically; the model file is not touched). `scripts/model_card_tables.py`
then writes the tables from it.

    python scripts/rescore_preset.py segnet_tf/presets/camvid_segnet \\
        --data-dir ../shared/camvid --work-dir ../runs/rescore_camvid_segnet \\
        [--robustness robustness.json] [--limit 5]

The evaluations are written to `WORK_DIR/eval-test` and `WORK_DIR/eval-test-unadjusted`
and reused when the command runs again.
"""

import argparse
import sys
from pathlib import Path

from make_preset import evaluation_record

from segnet_tf.atomic_files import save_atomic, write_json_atomic
from segnet_tf.preset_folders import METADATA_FILE, preset_folder, read_metadata


def evaluate_once(model: Path, output_dir: Path, args) -> Path:
    """`segnet evaluate` of ``model`` into ``output_dir``, unless it holds a result."""
    if (output_dir / "metrics.json").is_file():
        print(f"rescore_preset: {output_dir}/metrics.json exists; not evaluating again.")
        return output_dir
    from segnet_tf.commands.evaluation import EvaluateConfig, evaluate

    config = EvaluateConfig(
        model=str(model),
        data=args.data,
        data_dir=args.data_dir,
        split=args.split,
        limit=args.limit,
        output_dir=str(output_dir),
    )
    evaluate(config)
    return output_dir


def without_logit_adjustment(folder: Path, metadata: dict, path: Path) -> Path | None:
    """Save the preset's network without its logit offsets to ``path`` (kept if there).

    Returns None when the preset's ``metadata`` records no logit offsets.
    """
    if not metadata.get("logit_offsets"):
        return None
    if not path.is_file():
        from segnet_tf.models import SegmentationModel

        plain = SegmentationModel.from_preset(folder).copy_with(class_logit_offsets=None)
        save_atomic(path, plain.save, suffix=".keras")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "preset", help="preset name or folder, e.g. segnet_tf/presets/camvid_segnet"
    )
    parser.add_argument("--data", default="camvid", help="data source (default: camvid)")
    parser.add_argument("--data-dir", required=True, help="its folder, e.g. ../shared/camvid")
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--work-dir", type=Path, required=True, help="where evaluations go")
    parser.add_argument("--robustness", type=Path, help="JSON of benchmarks/robustness.py")
    parser.add_argument("--limit", type=int, help="first N images only (a smoke test)")
    args = parser.parse_args(argv)

    folder = preset_folder(args.preset)
    metadata = read_metadata(folder)
    if not metadata:
        raise SystemExit(f"{folder}: no {METADATA_FILE}; expected a preset folder.")
    if args.robustness is not None and not args.robustness.is_file():
        raise SystemExit(
            f"{args.robustness}: no such file; expected benchmarks/robustness.py JSON."
        )
    args.work_dir.mkdir(parents=True, exist_ok=True)
    adjusted = evaluate_once(folder, args.work_dir / f"eval-{args.split}", args)
    unadjusted = None
    plain = without_logit_adjustment(folder, metadata, args.work_dir / "unadjusted.keras")
    if plain is not None:
        unadjusted = evaluate_once(plain, args.work_dir / f"eval-{args.split}-unadjusted", args)
    test_scores, measured = evaluation_record(adjusted, unadjusted, args.robustness)
    if unadjusted is None:
        metadata.pop("test_scores_unadjusted", None)  # of an earlier, adjusted version
    metadata.update(test_scores=test_scores, **measured)
    write_json_atomic(folder / METADATA_FILE, metadata)
    mean_iou = 100 * test_scores["mean_iou"]
    print(f"rescore_preset: recorded mIoU {mean_iou:.1f} and the rest in {folder / METADATA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
