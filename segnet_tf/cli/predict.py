"""Segment images and videos with a trained model; write masks and overlays.

For every input image, writes into --out:
  <stem>_mask.png         class ids as pixel values (palette PNG in the class colours)
  <stem>_overlay.png      the image blended with the class colours (+ legend)
  <stem>_uncertainty.png  with --mc-samples: entropy, black = certain, white = ln(C)

MODEL is a .keras file or the name of a bundled preset, e.g. camvid_segnet.

For every input video (.mp4, .mov, .avi, .mkv, .webm...; needs the video extra,
pip install -e ".[video]"), segmented frame by frame:
  <stem>_overlay.mp4      the clip blended with the class colours (H.264, same fps)
  <stem>_masks/000000.png with --video-masks: one class-id mask PNG per frame

INPUT may be files or folders (the images and videos directly inside, by
extension). A file that cannot be read or segmented is reported at the end; the
others are still processed. Exit code 0 if every file succeeded, 1 if some failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from segnet_tf.cli._model_arg import load_segmenter as load_model_arg
from segnet_tf.cli._model_arg import model_help

HELP = "segment images and videos: PNG masks and overlays, overlay videos"

DEFAULT_ALPHA = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", metavar="MODEL", help=model_help())
    parser.add_argument(
        "inputs", metavar="INPUT", nargs="+", help="image or video files, or folders"
    )
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
        "--tta",
        metavar="SPEC",
        help="test-time augmentation, e.g. flip or flip+scales:0.75,1,1.25 (one pass each)",
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
    parser.add_argument(
        "--video-masks",
        action="store_true",
        help="for videos, also write one class-id mask PNG per frame into <stem>_masks/",
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        metavar="N",
        help="for videos, segment only the first N frames",
    )


def collect_inputs(inputs: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand folders into their image and video files.

    Returns:
        ``(files, failures)``: the files to process in order, and ``(path, reason)``
        for inputs that do not exist.
    """
    from segnet_tf.data.image_io import IMAGE_EXTENSIONS, list_images
    from segnet_tf.inference.video import VIDEO_EXTENSIONS

    files, failures = [], []
    for item in inputs:
        if os.path.isdir(item):
            found = list_images(item, extensions=IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
            if not found:
                failures.append((item, "folder holds no image or video files"))
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


class FrameProgress:
    """Progress of one video on stderr: frames done (of the total, when known), frames/s.

    Called as ``progress(done, total_or_None)``. On a terminal the line is redrawn
    after every frame; otherwise a line is written at most every ``interval`` seconds
    (and at the end), so that logs of long clips stay short.
    """

    def __init__(self, label: str, stream=None, width: int = 30, interval: float = 2.0):
        self.stream = sys.stderr if stream is None else stream
        self.label, self.width, self.interval = label, width, interval
        self.interactive = self.stream.isatty()
        self.start = time.monotonic()
        self.last_write = -float("inf")
        self.last_line = ""
        self.line_open = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            filled = int(self.width * min(done, total) / total)
            count = f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{total}"
        else:
            count = f"{done}"
        line = f"{count} frames {rate:5.1f} frames/s {elapsed:6.1f}s {self.label}"
        self.last_line = line
        if self.interactive:
            self.stream.write("\r\033[K" + line[:120])
            self.line_open = True
        elif now - self.last_write >= self.interval or done == total:
            self.stream.write(line + "\n")
            self.last_write = now
            self.last_line = ""
        self.stream.flush()

    def finish(self) -> None:
        """End the progress line (writes the last state if it was throttled away)."""
        if self.line_open:
            self.stream.write("\n")
        elif self.last_line:
            self.stream.write(self.last_line + "\n")
        self.line_open, self.last_line = False, ""
        self.stream.flush()


def load_segmenter(args):
    from segnet_tf.inference.class_info import parse_classes_json

    kwargs = {}
    if args.tile_size is not None:
        kwargs["tile_size"] = args.tile_size
    if args.max_pixels is not None:
        kwargs["max_pixels"] = args.max_pixels
    if args.tta is not None:
        from segnet_tf.inference.test_time import TestTimeAugmentation

        try:
            kwargs["tta"] = TestTimeAugmentation.parse(args.tta)
        except ValueError as err:
            raise ValueError(f"--tta: {err}") from None
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
    from segnet_tf.inference.video import is_video_file

    if not 0.0 <= args.alpha <= 1.0:
        raise ValueError(f"--alpha must be in [0, 1]; got {args.alpha}.")
    if args.mc_samples is not None and args.mc_samples < 1:
        raise ValueError(f"--mc-samples must be >= 1; got {args.mc_samples}.")
    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1; got {args.max_frames}.")
    files, failures = collect_inputs(args.inputs)
    if not files:
        reasons = "; ".join(f"{p}: {r}" for p, r in failures)
        raise ValueError(f"no images to segment, nor videos ({reasons}).")
    segmenter = load_segmenter(args)
    if args.mc_samples is not None and not segmenter.tta.is_identity:
        raise ValueError("choose --mc-samples or --tta, not both.")
    if args.mc_samples is not None and not segmenter.is_bayesian:
        raise ValueError(
            f"--mc-samples needs a Bayesian model with Monte-Carlo dropout; {args.model} has none."
        )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    named = list(zip(files, output_stems(files), strict=True))
    images = [(path, stem) for path, stem in named if not is_video_file(path)]
    videos = [(path, stem) for path, stem in named if is_video_file(path)]

    if images:
        progress = Progress(len(images))
        succeeded = 0
        for done, (path, stem) in enumerate(images, start=1):
            try:
                write_outputs(segmenter, path, stem, out_dir, args)
                succeeded += 1
            except Exception as err:  # one bad file must not stop the batch
                failures.append((path, failure_reason(err, path)))
            progress.update(done, os.path.basename(path))
        print(f"Segmented {succeeded} of {len(images)} images into {out_dir}.")

    if videos:
        succeeded, frames, seconds = 0, 0, 0.0
        for path, stem in videos:
            try:
                result = write_video_outputs(segmenter, path, stem, out_dir, args)
                succeeded += 1
                frames += result.num_frames
                seconds += result.seconds
            except Exception as err:  # one bad file must not stop the batch
                failures.append((path, failure_reason(err, path)))
        rate = f" at {frames / seconds:.1f} frames/s" if seconds > 0 else ""
        print(
            f"Segmented {succeeded} of {len(videos)} videos into {out_dir}: {frames} frames{rate}."
        )

    if failures:
        print(f"{len(failures)} failed:")
        for path, reason in failures:
            print(f"  {path}: {reason}")
    return 0 if not failures else 1


def failure_reason(err: Exception, path: str) -> str:
    """First line of the error, with its type unless it is a user-facing error.

    The ``path: `` prefix of messages that name the file is dropped, as the list of
    failures already starts each line with it.
    """
    plain = isinstance(err, ValueError | ImportError)
    reason = str(err) if plain else f"{type(err).__name__}: {err}"
    reason = reason.removeprefix(f"{path}: ")
    return reason.splitlines()[0] if reason.strip() else type(err).__name__


def write_video_outputs(segmenter, path: str, stem: str, out_dir: Path, args):
    """Segment one video into ``<stem>_overlay.mp4`` (+ masks); prints one summary line."""
    from segnet_tf.inference.video import segment_video

    progress = FrameProgress(os.path.basename(path))
    try:
        result = segment_video(
            segmenter,
            path,
            out_dir / f"{stem}_overlay.mp4",
            masks_dir=out_dir / f"{stem}_masks" if args.video_masks else None,
            max_frames=args.max_frames,
            alpha=args.alpha,
            mc_samples=args.mc_samples,
            progress=progress,
        )
    finally:
        progress.finish()
    height, width = result.size
    masks = f" and {result.masks_dir.name}/" if result.masks_dir is not None else ""
    print(
        f"{path}: {result.num_frames} frames {width}x{height} at {result.fps:g} fps in "
        f"{result.seconds:.1f}s ({result.frames_per_second_processed:.1f} frames/s) -> "
        f"{result.output_path.name}{masks}"
    )
    return result
