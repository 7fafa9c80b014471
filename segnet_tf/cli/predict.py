"""Segment images with a trained model and write PNG masks and overlays.

For every input image, writes into --out:
  <stem>_mask.png         class ids as pixel values (palette PNG in the class colours)
  <stem>_overlay.png      the image blended with the class colours (+ legend)
  <stem>_uncertainty.png  with --mc-samples: entropy, black = certain, white = ln(C)

MODEL is a .keras file or the name of a bundled preset, e.g. camvid_segnet.
INPUT may be files or folders (the images directly inside, by extension). A file
that cannot be read or segmented is reported at the end; the others are still
processed. Exit code 0 if every image succeeded, 1 if some failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from segnet_tf.cli._model_arg import load_segmenter as load_model_arg
from segnet_tf.cli._model_arg import model_help

HELP = "segment images: PNG masks and overlays"

DEFAULT_ALPHA = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help=model_help())
    parser.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or folders")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--classes",
        metavar="JSON",
        help="class list (ClassList JSON); default: sidecar next to the model, else CamVid "
        "for 11 classes, else generic names",
    )
    parser.add_argument(
        "--mc-samples",
        type=int,
        metavar="N",
        help="Monte-Carlo dropout passes (Bayesian models); also writes uncertainty maps",
    )
    parser.add_argument(
        "--alpha", type=float, default=DEFAULT_ALPHA, help="overlay opacity (default 0.5)"
    )
    parser.add_argument("--no-legend", action="store_true", help="overlays without legend")
    parser.add_argument(
        "--tile-size", type=int, default=None, help="largest side run in one pass (1024)"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help="larger images are downscaled to this many pixels first (8000000)",
    )


def collect_inputs(inputs: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand folders into their image files.

    Returns:
        ``(files, failures)``: the files to process in order, and ``(path, reason)``
        for inputs that do not exist.
    """
    from segnet_tf.data.image_io import list_images

    files, failures = [], []
    for item in inputs:
        if os.path.isdir(item):
            found = list_images(item)
            if not found:
                failures.append((item, "folder holds no image files"))
            files.extend(found)
        elif os.path.exists(item):
            files.append(item)
        else:
            failures.append((item, "no such file or folder"))
    return files, failures


def output_stems(files: list[str]) -> list[str]:
    """One output name per file: the file's stem, made unique with ``_2``, ``_3``..."""
    used: dict[str, int] = {}
    stems = []
    for path in files:
        stem = Path(path).stem
        count = used.get(stem, 0) + 1
        used[stem] = count
        stems.append(stem if count == 1 else f"{stem}_{count}")
    return stems


class Progress:
    """A one-line progress bar on stderr (one line per step when not a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        # Looked up at call time, not bound as a default, so redirections apply.
        stream = sys.stderr if stream is None else stream
        self.total, self.stream, self.width = total, stream, width
        self.interactive = stream.isatty()
        self.start = time.monotonic()

    def update(self, done: int, label: str) -> None:
        filled = int(self.width * done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self.start
        line = f"[{bar}] {done}/{self.total} {elapsed:5.1f}s {label}"
        if self.interactive:
            self.stream.write("\r\033[K" + line[:120])
            if done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def load_segmenter(args):
    from segnet_tf.inference.class_info import parse_classes_json

    kwargs = {}
    if args.tile_size is not None:
        kwargs["tile_size"] = args.tile_size
    if args.max_pixels is not None:
        kwargs["max_pixels"] = args.max_pixels
    if args.classes:
        kwargs["classes"] = parse_classes_json(
            Path(args.classes).read_text(encoding="utf-8"), args.classes
        )
    return load_model_arg(args.model, **kwargs)


def write_outputs(segmenter, path: str, stem: str, out_dir: Path, args) -> None:
    """Segment one file and write its PNGs (raises on any failure)."""
    import numpy as np

    from segnet_tf.atomic_files import save_png_atomic
    from segnet_tf.inference import draw_legend, load_rgb, overlay, with_legend
    from segnet_tf.inference.output_files import mask_image, uncertainty_image

    rgb = load_rgb(path)
    result = segmenter.predict(rgb, mc_samples=args.mc_samples, probabilities=False)
    classes = result.classes
    save_png_atomic(mask_image(result.mask, classes), out_dir / f"{stem}_mask.png")
    blended = overlay(rgb, result.mask, classes, alpha=args.alpha)
    if not args.no_legend:
        blended = with_legend(blended, draw_legend(classes, np.unique(result.mask)))
    save_png_atomic(blended, out_dir / f"{stem}_overlay.png")
    if result.entropy is not None:
        image = uncertainty_image(result.entropy, segmenter.num_classes)
        save_png_atomic(image, out_dir / f"{stem}_uncertainty.png")


def run(args) -> int:
    if not 0.0 <= args.alpha <= 1.0:
        raise ValueError(f"--alpha must be in [0, 1]; got {args.alpha}.")
    if args.mc_samples is not None and args.mc_samples < 1:
        raise ValueError(f"--mc-samples must be >= 1; got {args.mc_samples}.")
    files, failures = collect_inputs(args.inputs)
    if not files:
        reasons = "; ".join(f"{p}: {r}" for p, r in failures)
        raise ValueError(f"no images to segment ({reasons}).")
    segmenter = load_segmenter(args)
    if args.mc_samples is not None and not segmenter.is_bayesian:
        raise ValueError(
            f"--mc-samples needs a Bayesian model with Monte-Carlo dropout; {args.model} has none."
        )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    progress = Progress(len(files))
    succeeded = 0
    for done, (path, stem) in enumerate(zip(files, output_stems(files), strict=True), start=1):
        try:
            write_outputs(segmenter, path, stem, out_dir, args)
            succeeded += 1
        except Exception as err:  # one bad file must not stop the batch
            reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            failures.append((path, reason.splitlines()[0] if reason else type(err).__name__))
        progress.update(done, os.path.basename(path))

    print(f"Segmented {succeeded} of {len(files)} images into {out_dir}.")
    if failures:
        print(f"{len(failures)} failed:")
        for path, reason in failures:
            print(f"  {path}: {reason}")
    return 0 if not failures else 1
