"""Photos as users bring them: the preset at other sizes, camera shifts, non-street photos.

Prints, for a model with a training size and a domain detector (default: the bundled
CamVid preset), all through `Segmenter.predict` as a user calls it:

1. test mIoU of the CamVid test frames at 480x360, under each fixed camera shift of
   `segnet_tf.data.camera_shifts` (one is "4x size": 1920x1440, as a phone photo of the
   same view), and the 4x frames with --scale native for comparison;
2. the time to segment a 4000x3000 photo (mask and confidence, decoded from a JPEG);
3. the share of frames called out of domain: the clean test frames, each shift, and
   real non-street photos from scikit-image (`skimage.data`, a test dependency), in two groups: the
   ones looked at while choosing the detector's margin ("development") and the ones
   kept aside ("held out"), plus synthetic test cards.

    python benchmarks/photos.py --camvid-dir ../shared/camvid [--limit N] [--preset NAME]
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.append(str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.machine import cpu_label  # noqa: E402
from benchmarks.robustness import VOID_ID, camvid_test_frames, labels_at_size  # noqa: E402
from segnet_tf.data.camera_shifts import FIXED_SHIFTS, enlarge  # noqa: E402
from segnet_tf.inference import Segmenter  # noqa: E402
from segnet_tf.metrics.confusion import confusion_matrix, scores_from_confusion  # noqa: E402

# skimage.data photos (file stems) seen while choosing the detector's margin; every other
# photo there is held out. Synthetic test cards are made below.
DEVELOPMENT_PHOTOS = ("coffee", "astronaut", "rocket", "brick", "grass", "text", "lfw0", "lfw25")


def non_street_photos() -> dict[str, np.ndarray]:
    """RGB uint8 photos of ``skimage.data`` (grey ones as RGB), by file stem."""
    import skimage.data
    import skimage.io

    folder = Path(skimage.data.data_dir)
    photos = {}
    for path in sorted(folder.glob("*.png")) + sorted(folder.glob("*.jpg")):
        array = np.asarray(skimage.io.imread(path))
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        if array.dtype != np.uint8:
            low, high = float(array.min()), float(array.max())
            array = (255 * (array - low) / max(high - low, 1e-9)).astype(np.uint8)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        photos[path.stem] = np.ascontiguousarray(array[..., :3])
    faces = np.load(folder / "lfw_subset.npy")  # 25x25 grey faces
    for index in range(0, 200, 25):
        face = (255 * faces[index]).astype(np.uint8)
        photos[f"lfw{index}"] = np.stack([face] * 3, axis=-1)
    return photos


def test_cards() -> dict[str, np.ndarray]:
    """Solid colour cards, a grey ramp and noise, 480x640."""
    cards = {}
    for name, colour in {
        "green card": (40, 200, 60),
        "red card": (220, 30, 30),
        "blue card": (30, 60, 220),
        "white card": (250, 250, 250),
        "grey card": (128, 128, 128),
    }.items():
        cards[name] = np.full((480, 640, 3), colour, np.uint8)
    ramp = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
    cards["grey ramp"] = np.broadcast_to(ramp, (480, 640, 3)).astype(np.uint8)
    cards["noise"] = np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8)
    return cards


def miou(matrix: np.ndarray) -> float:
    return 100 * scores_from_confusion(matrix)["mean_iou"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camvid-dir", type=Path, required=True, help="CamVid folder")
    parser.add_argument("--preset", default="camvid_segnet", help="bundled model to test")
    parser.add_argument("--limit", type=int, default=None, help="first N test frames only")
    args = parser.parse_args(argv)

    segmenter = Segmenter.from_preset(args.preset)
    detector = segmenter.domain_detector
    if detector is None or segmenter.training_size is None:
        raise SystemExit(f"{args.preset} needs a training size and a domain detector.")
    classes = segmenter.num_classes
    print(cpu_label())
    print(
        f"{args.preset}: training size {segmenter.training_size}, detector threshold "
        f"{detector.threshold:.3f} (fitted: {detector.info.get('train_frames')} training, "
        f"{detector.info.get('val_frames')} validation descriptions)\n"
    )

    runs = ["480x360", *FIXED_SHIFTS, "4x size, --scale native"]
    matrices = {name: np.zeros((classes, classes), np.int64) for name in runs}
    flagged = dict.fromkeys(runs, 0)
    count = 0
    for rgb, labels in camvid_test_frames(args.camvid_dir, args.limit):
        count += 1
        cases = {"480x360": (rgb, "training")}
        for name, shift in FIXED_SHIFTS.items():
            cases[name] = (shift(rgb), "training")
        cases["4x size, --scale native"] = (cases["4x size"][0], "native")
        for name, (image, scale) in cases.items():
            result = segmenter.predict(image, probabilities=False, scale=scale)
            truth = labels_at_size(labels, image.shape[:2])
            matrices[name] += confusion_matrix(truth, result.mask, classes, ignore_class=VOID_ID)
            flagged[name] += bool(result.out_of_domain)
    print(f"CamVid test frames ({count}), through Segmenter.predict:")
    print(f"{'':>24} {'mIoU':>6} {'share of clean':>14} {'out of domain':>14}")
    clean = miou(matrices["480x360"])
    for name in runs:
        value = miou(matrices[name])
        print(
            f"{name:>24} {value:6.2f} {value / clean:14.1%} "
            f"{flagged[name]:>4}/{count} {flagged[name] / count:6.1%}"
        )

    photo = enlarge(next(camvid_test_frames(args.camvid_dir, 1))[0], 8)[:3000, :4000]
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "JPEG", quality=92)
    data = buffer.getvalue()
    segmenter.predict(data, probabilities=False)  # warm-up at this size
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = segmenter.predict(data, probabilities=False)
        times.append(time.perf_counter() - start)
    print(
        f"\n4000x3000 JPEG ({len(data) / 1e6:.1f} MB) -> mask + confidence at 4000x3000: "
        f"median {np.median(times):.2f} s of 3 (network at {result.network_size})"
    )

    print("\nNon-street photos (skimage.data) and test cards:")
    groups = {"development": {}, "held out": {}, "test cards": test_cards()}
    for name, image in non_street_photos().items():
        groups["development" if name in DEVELOPMENT_PHOTOS else "held out"][name] = image
    for group, images in groups.items():
        scores = {name: segmenter.predict(img, probabilities=False) for name, img in images.items()}
        caught = [name for name, r in scores.items() if r.out_of_domain]
        missed = [
            f"{name} ({r.domain_score:.2f})" for name, r in scores.items() if not r.out_of_domain
        ]
        print(
            f"  {group:>12}: {len(caught)}/{len(images)} out of domain "
            f"({len(caught) / len(images):.0%}); lowest score "
            f"{min(r.domain_score for r in scores.values()):.2f}"
            + (f"; missed: {', '.join(missed)}" if missed else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
