"""Time of the boundary F1 score of one CamVid-sized image, in disk dilations.

The score packs every class into the bits of one uint64 per pixel, so an image costs
about two disk dilations (one per matching direction) plus the edge maps, not two per
class (22 for CamVid's 11). This prints both times, measured in the same process, and
their ratio; the test suite checks the count of dilations instead
(tests/test_metrics_boundary.py), which no machine load changes.

    python benchmarks/boundary.py [--repeats 7]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a file: `python benchmarks/boundary.py`
    sys.path.append(str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import cpu_label  # noqa: E402
from segnet_tf.metrics import boundary_f1_scores  # noqa: E402
from segnet_tf.metrics.boundary import dilate_disk, tolerance_pixels  # noqa: E402


def best_seconds(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls of each")
    args = parser.parse_args(argv)
    print(cpu_label())
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 12, (9, 12)).repeat(40, axis=0).repeat(40, axis=1)
    pred = np.roll(gt.clip(0, 10), 3, axis=1)
    radius = tolerance_pixels(360, 480, 0.0075)
    bits = rng.integers(0, 2**11, (360, 480)).astype(np.uint64)
    metric = best_seconds(
        lambda: boundary_f1_scores(gt[None], pred[None], 11, ignore_class=11), args.repeats
    )
    one = best_seconds(lambda: dilate_disk(bits, radius), args.repeats)
    print(f"boundary F1, 360x480, 11 classes: {metric * 1e3:.2f} ms")
    print(f"one disk dilation (radius {radius:.2f} px): {one * 1e3:.2f} ms")
    print(f"ratio: {metric / one:.1f} dilations (a per-class score would be about 22)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
