"""How unsure the bundled model is on CamVid's test frames: the basis of the demo's
out-of-domain notice (``segnet_tf.demo.results``).

For every test frame it takes the probability of the predicted class at each pixel and
prints the share of pixels below the demo's ``LOW_CONFIDENCE``, averaged over frames and
at worst, with the demo's threshold ``OUT_OF_DOMAIN_SHARE`` for comparison.

Usage: python scripts/demo_confidence.py [--camvid DIR] [--preset camvid_segnet_robust]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from segnet_tf.data import camvid_split_pairs, read_image, resolve_camvid_dir
from segnet_tf.demo.models import DEFAULT_PRESET
from segnet_tf.demo.results import LOW_CONFIDENCE, OUT_OF_DOMAIN_SHARE
from segnet_tf.inference import Segmenter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camvid", help="CamVid folder (default: found automatically)")
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help="bundled model to test (default: the demo's)"
    )
    args = parser.parse_args()
    folder = resolve_camvid_dir(args.camvid)
    segmenter = Segmenter.from_preset(args.preset)
    shares, means = [], []
    for image_path, _ in camvid_split_pairs(folder, "test"):
        confidence = segmenter.predict(read_image(image_path), probabilities=False).confidence
        shares.append(float(np.mean(confidence < LOW_CONFIDENCE)))
        means.append(float(np.mean(confidence)))
    shares = np.asarray(shares)
    print(f"{args.preset} on {len(shares)} CamVid test frames ({os.path.abspath(folder)})")
    print(f"mean confidence: {np.mean(means):.3f} (lowest frame {np.min(means):.3f})")
    print(
        f"pixels below {LOW_CONFIDENCE:.0%} confidence: mean {shares.mean():.1%}, "
        f"99th percentile {np.quantile(shares, 0.99):.1%}, max {shares.max():.1%}"
    )
    print(
        f"frames above the notice threshold ({OUT_OF_DOMAIN_SHARE:.0%}): "
        f"{int(np.sum(shares > OUT_OF_DOMAIN_SHARE))}"
    )


if __name__ == "__main__":
    main()
