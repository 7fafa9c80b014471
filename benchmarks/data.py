"""Measure the training input pipeline alone on real CamVid (images/s).

Runs ``make_training_pipeline`` at 360x480 (or ``--image-size``) with augmentation
(scale-and-crop, flip, photometric jitter, and with ``--camera-augment`` the random
camera shifts) over CamVid ``train``, discards a warm-up (which also fills the
decoded-data cache), then times full passes.

Usage:
    python benchmarks/data.py --data-dir ../shared/camvid [--epochs 2]
    # The CamVid recipe's training size (--input-scale 0.5), with camera shifts:
    python benchmarks/data.py --data-dir ../shared/camvid --image-size 180 240 \
        --batch-size 8 --camera-augment
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
    parser.add_argument("--camera-augment", action="store_true", help="random camera shifts")
    parser.add_argument("--image-size", type=int, nargs=2, default=(360, 480), metavar=("H", "W"))
    args = parser.parse_args()

    from segnet_tf.data import CAMVID_CLASSES, load_camvid, make_training_pipeline

    source = load_camvid(args.split, args.data_dir)
    pipeline = make_training_pipeline(
        source,
        image_size=tuple(args.image_size),
        batch_size=args.batch_size,
        augment=not args.no_augment,
        camera_augment=args.camera_augment,
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
    t0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.epochs):
        for images, _ in pipeline:
            count += int(images.shape[0])
    elapsed = time.perf_counter() - t0
    # CPU time as well: on a shared machine it varies far less than the wall time.
    cpu_ms = 1e3 * (time.process_time() - cpu0) / count
    print(
        f"steady state: {count} images in {elapsed:.1f} s = {count / elapsed:.1f} images/s, "
        f"{cpu_ms:.2f} ms of CPU per image "
        f"({args.image_size[0]}x{args.image_size[1]}, augment={not args.no_augment}, "
        f"camera_augment={args.camera_augment}, batch {args.batch_size}, "
        f"{os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
