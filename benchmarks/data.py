"""Measure the training input pipeline alone on real CamVid (images/s).

Runs ``make_training_pipeline`` at 360x480 with augmentation (scale-and-crop, flip,
photometric jitter) over CamVid ``train``, discards a warm-up (which also fills the
decoded-data cache), then times full passes.

Usage:
    python benchmarks/data.py --data-dir ../shared/camvid [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("SEGNET_CAMVID_DIR"))
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2, help="timed passes after warm-up")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--no-augment", action="store_true")
    args = parser.parse_args()

    from segnet_tf.data import CAMVID_CLASSES, load_camvid, make_training_pipeline

    source = load_camvid(args.split, args.data_dir)
    pipeline = make_training_pipeline(
        source,
        image_size=(360, 480),
        batch_size=args.batch_size,
        augment=not args.no_augment,
        seed=0,
        cache=not args.no_cache,
        void_id=CAMVID_CLASSES.void_id,
        drop_remainder=False,
    )

    t0 = time.perf_counter()
    warm = sum(int(x.shape[0]) for x, _ in pipeline)  # decode + fill the cache
    warm_s = time.perf_counter() - t0
    print(
        f"warm-up pass (decode{'' if args.no_cache else ' + cache'}): {warm} images in "
        f"{warm_s:.1f} s = {warm / warm_s:.1f} images/s"
    )

    count = 0
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        for images, _ in pipeline:
            count += int(images.shape[0])
    elapsed = time.perf_counter() - t0
    print(
        f"steady state: {count} images in {elapsed:.1f} s = {count / elapsed:.1f} images/s "
        f"(360x480, augment={not args.no_augment}, batch {args.batch_size}, "
        f"{os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
