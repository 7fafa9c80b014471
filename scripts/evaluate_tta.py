"""Score test-time augmentation settings on one split: mIoU and time per image of each.

Every setting is scored on the whole split; then every setting is timed in the same
run on the first ``--timing-images`` frames, the settings taking turns on each frame
(so that a change in the machine's load hits all of them alike), and the median time
per image is printed with its ratio to the first setting's (put ``none`` first).
Select on the validation split, then report the chosen setting alone on the test
split.

Example (CamVid validation, the bundled preset):

    python scripts/evaluate_tta.py camvid_segnet --data-dir /work/shared/camvid \\
        --split val --tta none flip flip+scales:0.75,1,1.25 --json val_tta.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from segnet_tf.atomic_files import write_text_atomic

WATCHED = ("Pole", "Fence", "SignSymbol", "Bicyclist")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a .keras file or a bundled preset name")
    parser.add_argument("--data-dir", default=os.environ.get("SEGNET_CAMVID_DIR"))
    parser.add_argument("--split", default="val", help="train, val or test")
    parser.add_argument(
        "--tta", nargs="+", default=["none", "flip"], help="settings, e.g. flip+scales:1,1.25"
    )
    parser.add_argument("--limit", type=int, help="first N images only (quick checks)")
    parser.add_argument("--boundary", action="store_true", help="also score boundary F1")
    parser.add_argument(
        "--timing-images", type=int, default=20, metavar="N", help="frames timed (default 20)"
    )
    parser.add_argument("--json", help="write every result here")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from segnet_tf.commands.model_arg import model_file
    from segnet_tf.data import make_eval_pipeline
    from segnet_tf.data_sources import load_split
    from segnet_tf.inference.tta import TestTimeAugmentation, tta_probabilities
    from segnet_tf.training.evaluate import evaluate_model
    from segnet_tf.training.saving import load_trained_model

    settings = [TestTimeAugmentation.parse(spec) for spec in args.tta]  # fail before loading
    dataset, classes = load_split("camvid", args.split, data_dir=args.data_dir)
    if args.limit:
        dataset = dataset.take(args.limit)
    model = load_trained_model(model_file(args.model), compile=False)
    names = list(classes.class_names)
    watched = [names.index(n) for n in WATCHED if n in names]
    results = []
    for tta in settings:
        result = evaluate_model(
            model,
            make_eval_pipeline(dataset, batch_size=1),
            classes.num_classes,
            ignore_class=classes.void_id,
            class_names=names,
            tta=tta,
            boundary=args.boundary,
            verbose=0,
        )
        print(f"scored {tta}: mIoU {100 * result['mean_iou']:.1f}", flush=True)
        results.append({"tta": str(tta), "passes": tta.passes, **result})

    functions = [
        tf.function(
            lambda x, tta=tta: tta_probabilities(model, x, tta),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
        )
        for tta in settings
    ]
    times = [[] for _ in settings]
    frames = make_eval_pipeline(dataset.take(args.timing_images + 1), batch_size=1)
    for step, (images, _) in enumerate(frames):
        images = tf.cast(images, tf.float32)
        for i, function in enumerate(functions):
            start = time.perf_counter()
            function(images).numpy()
            if step > 0:  # the first frame traces every graph
                times[i].append(time.perf_counter() - start)
    for result, seconds in zip(results, times, strict=True):
        result["median_seconds_per_image"] = float(np.median(seconds)) if seconds else None

    header = (
        f"{'tta':<28} {'passes':>6} {'G':>5} {'C':>5} {'mIoU':>5} {'BF':>5}  "
        + " ".join(f"{names[i][:6]:>6}" for i in watched)
        + f"  {'ms/img':>7} {'ratio':>5}"
    )
    print(
        f"{args.model} on {args.split} ({results[0]['num_images']} images; times: median of "
        f"{len(times[0])} images)"
    )
    print(header)
    base = results[0]["median_seconds_per_image"]
    for result in results:
        iou = result["per_class"]["iou"]
        bf = result["boundary_f1"]
        seconds = result["median_seconds_per_image"]
        print(
            f"{result['tta']:<28} {result['passes']:>6} {100 * result['global_accuracy']:5.1f} "
            f"{100 * result['class_average_accuracy']:5.1f} {100 * result['mean_iou']:5.1f} "
            + (f"{100 * bf:5.1f}" if bf is not None else "    -")
            + "  "
            + " ".join(f"{100 * iou[i]:6.1f}" for i in watched)
            + (f"  {1000 * seconds:7.1f} {seconds / base:5.2f}" if seconds else "")
        )
    if args.json:
        payload = {"model": args.model, "split": args.split, "results": results}
        write_text_atomic(args.json, json.dumps(payload, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
