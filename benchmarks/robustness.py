"""Robustness to the camera: CamVid test mIoU under fixed camera shifts, as a share of clean.

In the style of Kamann & Rother, "Benchmarking the Robustness of Semantic Segmentation
Models" (CVPR 2020): every test frame is segmented clean and under each named shift of
`segnet_tf.data.camera_shifts.FIXED_SHIFTS` at its one fixed severity, through
`Segmenter.predict` as a user calls it. Printed: mIoU per shift, its share of the clean
mIoU, and the mean and lowest share over the photometric shifts (white balance,
exposure, blur, JPEG, noise); "4x size" (the same view at 1920x1440, resized back by the
model's training scale) is reported beside them, outside the mean.

    python benchmarks/robustness.py MODEL --camvid-dir ../shared/camvid [--limit N] \
        [--json robustness.json]

MODEL: a preset name (default camvid_segnet), a preset folder or a `.keras` file.
`--json` writes the figures for `scripts/make_preset.py --robustness`, which puts them
in the preset's metadata and model card.
"""

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.append(str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.machine import cpu_label  # noqa: E402
from segnet_tf.atomic_files import write_json_atomic  # noqa: E402
from segnet_tf.commands.model_arg import load_segmenter  # noqa: E402
from segnet_tf.data.camera_shifts import FIXED_SHIFTS  # noqa: E402
from segnet_tf.metrics.confusion import confusion_matrix, scores_from_confusion  # noqa: E402

CLEAN = "clean"
# Shifts outside the photometric mean: a change of size is not a change of camera
# response, and the model's training scale undoes most of it.
GEOMETRIC = ("4x size",)
VOID_ID = 11


def camvid_test_frames(folder: Path, limit: int | None):
    """(RGB frame, label map) of the first ``limit`` CamVid test frames, in name order."""
    images = sorted((folder / "test").glob("*.png"))[:limit]
    if not images:
        raise SystemExit(f"no test frames in {folder / 'test'}; expected CamVid's test/*.png")
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        labels = np.asarray(Image.open(folder / "testannot" / path.name))
        yield rgb, labels


def labels_at_size(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The label map at ``size`` (height, width): nearest neighbour for an enlarged frame."""
    if labels.shape == tuple(size):
        return labels
    height, width = size
    return np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST))


def confusions(segmenter, frames, num_classes: int) -> tuple[dict[str, np.ndarray], int]:
    """One confusion matrix per condition (clean and every fixed shift)."""
    matrices = {
        name: np.zeros((num_classes, num_classes), np.int64) for name in (CLEAN, *FIXED_SHIFTS)
    }
    count = 0
    for rgb, labels in frames:
        count += 1
        for name in matrices:
            image = rgb if name == CLEAN else FIXED_SHIFTS[name](rgb)
            mask = segmenter.predict(image, probabilities=False).mask
            truth = labels_at_size(labels, image.shape[:2])
            matrices[name] += confusion_matrix(truth, mask, num_classes, ignore_class=VOID_ID)
        print(f"\r{count} frames", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return matrices, count


def summarize(matrices: dict[str, np.ndarray], class_names: list[str]) -> dict:
    """mIoU and per-class IoU per condition (in %), shares of clean, mean and lowest."""
    scores = {name: scores_from_confusion(m, class_names) for name, m in matrices.items()}
    miou = {name: 100 * s["mean_iou"] for name, s in scores.items()}
    share = {name: value / miou[CLEAN] for name, value in miou.items()}
    photometric = [name for name in FIXED_SHIFTS if name not in GEOMETRIC]
    worst = min(photometric, key=share.get)
    return {
        "mean_iou": miou,
        "share_of_clean": share,
        "per_class_iou": {
            name: {n: 100 * iou for n, iou in zip(class_names, s["per_class"]["iou"], strict=True)}
            for name, s in scores.items()
        },
        "photometric_shifts": photometric,
        "mean_share": float(np.mean([share[name] for name in photometric])),
        "lowest_share": share[worst],
        "lowest_shift": worst,
    }


def markdown_table(summary: dict) -> str:
    """The table of the model card: one row per condition."""
    lines = ["| condition | mIoU | share of clean |", "| --- | --- | --- |"]
    for name, value in summary["mean_iou"].items():
        note = " (not in the mean)" if name in GEOMETRIC else ""
        lines.append(f"| {name}{note} | {value:.1f} | {summary['share_of_clean'][name]:.1%} |")
    lines.append(
        f"| **mean of the {len(summary['photometric_shifts'])} photometric shifts** | | "
        f"**{summary['mean_share']:.1%}** (lowest: {summary['lowest_shift']}, "
        f"{summary['lowest_share']:.1%}) |"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="camvid_segnet", help="preset or .keras")
    parser.add_argument("--camvid-dir", type=Path, required=True, help="CamVid folder")
    parser.add_argument("--limit", type=int, default=None, help="first N test frames only")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    segmenter = load_segmenter(args.model)
    if segmenter.training_size is None:
        print(f"note: {args.model} records no training size; frames run as given.")
    frames = camvid_test_frames(args.camvid_dir, args.limit)
    matrices, count = confusions(segmenter, frames, segmenter.num_classes)
    summary = summarize(matrices, list(segmenter.classes.class_names)[: segmenter.num_classes])
    # The preset's or file's name: the folder it was measured from is this machine's.
    summary.update(model=Path(args.model).name, frames=count, cpu=cpu_label())
    print(f"{cpu_label()}\n{args.model}: CamVid test, {count} frames at 360x480\n")
    print(markdown_table(summary))
    if args.json is not None:
        write_json_atomic(args.json, summary)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
